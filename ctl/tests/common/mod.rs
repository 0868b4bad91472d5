//! Shared fixtures: a small cluster's worth of snapshots and a Handler that
//! serves them, used by the golden, socket and metrics tests.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use ctl::proto::*;
use ctl::server::Handler;

/// 2026-01-01 00:00:00 UTC: the server clock of every fixture.
pub const NOW: u64 = 1_767_225_600;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn caps_full() -> Capabilities {
    Capabilities {
        families: vec![Family::Ipv4],
        route_refresh: true,
        enhanced_route_refresh: true,
        four_octet_as: true,
        extended_message: false,
        graceful_restart_time: Some(120),
        long_lived_stale_time: None,
        add_path_rx: vec![Family::Ipv4],
        add_path_tx: vec![Family::Ipv4],
        extended_next_hop: vec![],
    }
}

pub fn caps_v6() -> Capabilities {
    Capabilities {
        families: vec![Family::Ipv6],
        add_path_rx: vec![Family::Ipv6],
        add_path_tx: vec![Family::Ipv6],
        ..caps_full()
    }
}

fn messages(rx_upd: u64, tx_upd: u64) -> MessageCounters {
    MessageCounters {
        received: MessageCounts {
            open: 1,
            update: rx_upd,
            notification: 0,
            keepalive: 412,
            route_refresh: 0,
        },
        sent: MessageCounts {
            open: 1,
            update: tx_upd,
            notification: 1,
            keepalive: 413,
            route_refresh: 0,
        },
    }
}

/// An Established mesh peer.
pub fn mesh_up() -> PeerSnapshot {
    PeerSnapshot {
        address: ip("192.168.1.12"),
        port: 179,
        name: "Mesh_192_168_1_12".into(),
        peer_type: PeerType::Mesh,
        state: SessionState::Established,
        disabled: false,
        passive: true,
        since: NOW - 5_025,
        proto_since: None,
        last_error: None,
        local_as: 64512,
        remote_as: 64512,
        local_id: "192.168.1.11".parse().unwrap(),
        remote_id: Some("192.168.1.12".parse().unwrap()),
        source_address: Some(ip("192.168.1.11")),
        internal: true,
        multihop: true,
        rr_client: false,
        remote_caps: Some(caps_full()),
        negotiated_caps: Some(caps_full()),
        hold_timer: Some(TimerSnapshot { period_secs: 240, left_secs: 221 }),
        keepalive_timer: Some(TimerSnapshot { period_secs: 80, left_secs: 17 }),
        prefixes: vec![FamilyCounts {
            family: Family::Ipv4,
            received: 3,
            accepted: 3,
            advertised: 2,
            best: 2,
            limit: None,
        }],
        messages: messages(7, 4),
        flaps: 1,
        uptime_secs: Some(5_025),
        graceful_restart: PeerGracefulRestart {
            state: GrPeerState::Ready,
            time_left_secs: None,
            stale_routes: 0,
        },
        filters: Vec::new(),
        filter_rules: Vec::new(),
    }
}

/// An established eBGP ToR peer with Calico `BGPFilter`s and rule counters.
pub fn tor_filtered() -> PeerSnapshot {
    let rule = |list: &str, rule, action: &str, paths| FilterRulePaths {
        filter: if list.starts_with("import") { "tor-in" } else { "tor-out" }.into(),
        list: list.into(),
        rule,
        action: action.into(),
        paths,
    };
    PeerSnapshot {
        address: ip("10.0.0.254"),
        name: "Node_10_0_0_254".into(),
        peer_type: PeerType::NodeSpecific,
        remote_as: 65000,
        remote_id: Some("10.0.0.254".parse().unwrap()),
        internal: false,
        multihop: false,
        passive: false,
        filters: vec!["tor-in".into(), "tor-out".into()],
        filter_rules: vec![
            rule("import_v4", 1, "reject", 7),
            rule("export_v4", 0, "accept", 12),
            rule("export_v4", 2, "reject", 3),
        ],
        ..mesh_up()
    }
}

/// A global peer that cannot connect.
pub fn global_refused() -> PeerSnapshot {
    PeerSnapshot {
        address: ip("10.0.0.1"),
        port: 179,
        name: "Global_10_0_0_1".into(),
        peer_type: PeerType::Global,
        state: SessionState::Active,
        disabled: false,
        passive: false,
        since: NOW - 3 * 86_400,
        proto_since: None,
        last_error: Some(LastError {
            class: ErrorClass::Socket,
            message: "Connection refused".into(),
            at: Some(NOW - 4),
        }),
        local_as: 64512,
        remote_as: 65001,
        local_id: "192.168.1.11".parse().unwrap(),
        remote_id: None,
        source_address: Some(ip("192.168.1.11")),
        internal: false,
        multihop: true,
        rr_client: false,
        remote_caps: None,
        negotiated_caps: None,
        hold_timer: None,
        keepalive_timer: None,
        prefixes: vec![],
        messages: MessageCounters::default(),
        flaps: 0,
        uptime_secs: None,
        graceful_restart: PeerGracefulRestart::default(),
        filters: Vec::new(),
        filter_rules: Vec::new(),
    }
}

/// A node-specific eBGP peer that refused our AS.
pub fn node_bad_as() -> PeerSnapshot {
    PeerSnapshot {
        address: ip("192.168.1.1"),
        name: "Node_192_168_1_1".into(),
        peer_type: PeerType::NodeSpecific,
        state: SessionState::Idle,
        since: NOW - 61,
        proto_since: None,
        last_error: Some(LastError {
            class: ErrorClass::Received,
            message: "Bad peer AS".into(),
            at: Some(NOW - 61),
        }),
        remote_as: 65010,
        ..global_refused()
    }
}

/// An IPv6 route-reflector client restarting gracefully.
pub fn rr_client_v6() -> PeerSnapshot {
    PeerSnapshot {
        address: ip("fd00:1::13"),
        name: "Node_fd00_1__13".into(),
        peer_type: PeerType::RrClient,
        state: SessionState::Connect,
        rr_client: true,
        source_address: Some(ip("fd00:1::11")),
        since: NOW - 30,
        proto_since: None,
        last_error: Some(LastError {
            class: ErrorClass::Error,
            message: "Hold timer expired".into(),
            at: Some(NOW - 31),
        }),
        flaps: 4,
        uptime_secs: None,
        hold_timer: None,
        keepalive_timer: None,
        graceful_restart: PeerGracefulRestart {
            state: GrPeerState::PeerRestarting,
            time_left_secs: Some(90),
            stale_routes: 12,
        },
        remote_caps: Some(caps_v6()),
        negotiated_caps: Some(caps_v6()),
        prefixes: vec![FamilyCounts {
            family: Family::Ipv6,
            received: 12,
            accepted: 12,
            advertised: 40,
            best: 40,
            limit: Some(1000),
        }],
        ..mesh_up()
    }
}

/// A ToR whose restart time ran out: its routes are long-lived stale
/// (RFC 9494), an hour of the day left.
pub fn tor_long_lived_stale() -> PeerSnapshot {
    PeerSnapshot {
        address: ip("10.0.0.254"),
        name: "Node_10_0_0_254".into(),
        peer_type: PeerType::NodeSpecific,
        state: SessionState::Active,
        internal: false,
        remote_as: 65000,
        remote_id: Some("10.0.0.254".parse().unwrap()),
        since: NOW - 125,
        proto_since: None,
        last_error: Some(LastError {
            class: ErrorClass::Socket,
            message: "Connection refused".into(),
            at: Some(NOW - 2),
        }),
        flaps: 1,
        uptime_secs: None,
        hold_timer: None,
        keepalive_timer: None,
        remote_caps: Some(Capabilities {
            graceful_restart_time: Some(120),
            long_lived_stale_time: Some(86_400),
            ..caps_full()
        }),
        negotiated_caps: Some(Capabilities {
            graceful_restart_time: Some(120),
            long_lived_stale_time: Some(86_400),
            ..caps_full()
        }),
        graceful_restart: PeerGracefulRestart {
            state: GrPeerState::LongLivedStale,
            time_left_secs: Some(82_795),
            stale_routes: 3,
        },
        ..mesh_up()
    }
}

pub fn peers() -> Vec<PeerSnapshot> {
    vec![mesh_up(), global_refused(), node_bad_as(), rr_client_v6()]
}

fn path(peer: &str, name: &str, best: bool, reason: Option<RejectReason>) -> PathSnapshot {
    PathSnapshot {
        source: RouteSource::Bgp { peer: ip(peer), name: name.into() },
        path_id: None,
        best,
        reject_reason: reason,
        stale: false,
        since: NOW - 600,
        origin: Origin::Igp,
        as_path: vec![],
        next_hop: vec![ip(peer)],
        med: None,
        local_pref: Some(100),
        atomic_aggregate: false,
        aggregator: None,
        communities: vec![],
        large_communities: vec![],
        extended_communities: vec![],
        originator_id: None,
        cluster_list: vec![],
        igp_metric: Some(0),
        unknown: vec![],
        filter: None,
        interface: None,
    }
}

pub fn routes() -> Vec<RouteSnapshot> {
    vec![
        RouteSnapshot {
            prefix: "10.244.3.0/26".parse().unwrap(),
            paths: vec![PathSnapshot {
                source: RouteSource::Local { origin: "block".into() },
                next_hop: vec![],
                local_pref: None,
                igp_metric: None,
                since: NOW - 86_400,
                ..path("192.168.1.11", "", true, None)
            }],
        },
        RouteSnapshot {
            prefix: "10.244.12.0/26".parse().unwrap(),
            paths: vec![
                PathSnapshot {
                    communities: vec![[64512, 100]],
                    interface: Some("eth0".into()),
                    ..path("192.168.1.12", "Mesh_192_168_1_12", true, None)
                },
                PathSnapshot {
                    path_id: Some(2),
                    local_pref: Some(50),
                    originator_id: Some("192.168.1.13".parse().unwrap()),
                    cluster_list: vec!["244.0.0.1".parse().unwrap()],
                    ..path(
                        "192.168.1.2",
                        "Node_192_168_1_2",
                        false,
                        Some(RejectReason::LocalPrefLower),
                    )
                },
            ],
        },
        RouteSnapshot {
            prefix: "172.16.0.0/16".parse().unwrap(),
            paths: vec![
                PathSnapshot {
                    as_path: vec![
                        AsPathSegment { kind: SegmentKind::Sequence, asns: vec![65001, 65002] },
                        AsPathSegment { kind: SegmentKind::Set, asns: vec![65003, 65004] },
                    ],
                    med: Some(10),
                    local_pref: None,
                    large_communities: vec![[65001, 1, 2]],
                    ..path("10.0.0.1", "Global_10_0_0_1", true, None)
                },
                PathSnapshot {
                    as_path: vec![AsPathSegment {
                        kind: SegmentKind::Sequence,
                        asns: vec![65005, 65006, 65007],
                    }],
                    local_pref: None,
                    stale: true,
                    origin: Origin::Incomplete,
                    ..path("10.0.0.5", "Global_10_0_0_5", false, Some(RejectReason::AsPathLonger))
                },
                PathSnapshot {
                    next_hop: vec![ip("10.9.9.9")],
                    ..path(
                        "10.0.0.6",
                        "Global_10_0_0_6",
                        false,
                        Some(RejectReason::NextHopUnreachable),
                    )
                },
            ],
        },
        RouteSnapshot {
            prefix: "fd00:10:244::/122".parse().unwrap(),
            paths: vec![PathSnapshot {
                next_hop: vec![ip("fd00:1::13"), ip("fe80::1")],
                ..path("fd00:1::13", "Node_fd00_1__13", true, None)
            }],
        },
    ]
}

fn fib_route(prefix: &str, gw: Option<&str>, dev: &str, onlink: bool) -> FibRoute {
    FibRoute {
        prefix: prefix.parse().unwrap(),
        kind: FibRouteKind::Unicast,
        gateways: gw.map(ip).into_iter().collect(),
        device: Some(dev.into()),
        onlink,
        metric: None,
        table: 254,
    }
}

pub fn fib_stats() -> FibStats {
    let mut latency = HistogramSnapshot::with_bounds(&[0.001, 0.01, 0.1]);
    for v in [0.0004, 0.0007, 0.004, 0.2] {
        latency.observe(v);
    }
    FibStats { wanted: 3, installed: 3, adds: 17, replaces: 2, deletes: 5, errors: 1, latency }
}

pub fn fib() -> FibSnapshot {
    let blackhole = FibRoute {
        kind: FibRouteKind::Blackhole,
        gateways: vec![],
        device: None,
        ..fib_route("10.244.3.0/26", None, "lo", false)
    };
    let wanted = vec![
        blackhole.clone(),
        fib_route("10.244.12.0/26", Some("192.168.1.12"), "eth0", false),
        fib_route("10.244.40.0/26", Some("192.168.2.13"), "tunl0", true),
    ];
    let installed = vec![
        blackhole,
        fib_route("10.244.12.0/26", Some("192.168.1.12"), "eth0", false),
        fib_route("10.244.40.0/26", Some("192.168.2.13"), "eth0", false),
        fib_route("10.244.99.0/26", Some("192.168.1.99"), "eth0", false),
    ];
    let mut diff = FibSnapshot::compute_diff(&wanted, &installed);
    if let Some(d) = diff.iter_mut().find(|d| d.op == FibOp::Delete) {
        d.error = Some("No such process".into());
    }
    FibSnapshot { wanted, installed, diff, stats: fib_stats() }
}

pub fn status() -> StatusSnapshot {
    StatusSnapshot {
        version: "calico-bgpd 0.1.0".into(),
        commit: "0123456789ab".into(),
        router_id: "192.168.1.11".parse().unwrap(),
        started_at: NOW - 90_061,
        uptime_secs: 90_061,
        last_reconfig: Some(ReconfigSnapshot { at: NOW - 3_600, result: ReconfigResult::Applied }),
        graceful_restart: None,
        graceful_restart_helping: vec![],
        shutting_down: false,
        rib: vec![
            RibSize { family: Family::Ipv4, prefixes: 3, paths: 6 },
            RibSize { family: Family::Ipv6, prefixes: 1, paths: 1 },
        ],
        fib: fib_stats(),
        event_loop_lag_secs: 0.0004,
        event_loop_lag_max_secs: 0.012,
        unknown_connects: vec![UnknownConnect {
            source: ip("172.17.0.1"),
            count: 3,
            last: NOW - 20,
        }],
        datastore: None,
        waiting: None,
    }
}

pub fn status_recovering() -> StatusSnapshot {
    StatusSnapshot {
        started_at: NOW - 25,
        uptime_secs: 25,
        last_reconfig: Some(ReconfigSnapshot {
            at: NOW - 10,
            result: ReconfigResult::Refused {
                errors: vec![
                    "calico-bgpd.toml: error: timers.hold_time = 2: hold time must be 0 or at least 3 seconds (RFC 4271 §4.2); allowed: 0 or 3-65535".into(),
                ],
            },
        }),
        graceful_restart: Some(GrRecovery {
            waiting_for: vec!["Mesh_192_168_1_12".into()],
            wait_left_secs: 215,
            wait_total_secs: 240,
        }),
        unknown_connects: vec![],
        datastore: None,
        waiting: None,
        ..status()
    }
}

/// Running, keeping a ToR's routes long-lived stale and a mesh peer's
/// stale.
pub fn status_helping() -> StatusSnapshot {
    StatusSnapshot {
        graceful_restart_helping: vec![
            GrHelping {
                peer: "Mesh_192_168_1_13".into(),
                state: GrPeerState::PeerRestarting,
                time_left_secs: Some(97),
                stale_routes: 2,
            },
            GrHelping {
                peer: "Node_10_0_0_254".into(),
                state: GrPeerState::LongLivedStale,
                time_left_secs: Some(82_795),
                stale_routes: 3,
            },
        ],
        unknown_connects: vec![],
        datastore: None,
        waiting: None,
        ..status()
    }
}

/// Configured from etcd: revision 41 in force, 42 refused, etcd down now.
pub fn status_datastore() -> StatusSnapshot {
    StatusSnapshot {
        unknown_connects: vec![],
        datastore: Some(Box::new(DatastoreView {
            kind: "etcdv3".into(),
            endpoint: "https://10.0.0.50:2379".into(),
            connected: false,
            revision_seen: 42,
            revision_applied: Some(41),
            applied_at: Some(NOW - 300),
            refused: Some("node.ipv4: required by router_id = \"node-ipv4\"".into()),
            last_error_at: Some(NOW - 5),
            last_error: Some("watch: connection refused".into()),
            problems: vec![
                "/calico/resources/v3/projectcalico.org/ippools/broken: expected value at line 1 column 2".into(),
            ],
        })),
        ..status()
    }
}

/// Configured from a resources file: its second read in force, a third
/// that failed to parse.
pub fn status_datastore_file() -> StatusSnapshot {
    StatusSnapshot {
        unknown_connects: vec![],
        datastore: Some(Box::new(DatastoreView {
            kind: "file".into(),
            endpoint: "/etc/calico-bgp/resources.yaml".into(),
            connected: false,
            revision_seen: 2,
            revision_applied: Some(2),
            applied_at: Some(NOW - 300),
            refused: None,
            last_error_at: Some(NOW - 5),
            last_error: Some(
                "/etc/calico-bgp/resources.yaml: document 3 (? ?): did not find expected node content at line 31 column 10".into(),
            ),
            problems: vec![],
        })),
        ..status()
    }
}

pub fn reload_ok() -> ReloadResult {
    ReloadResult {
        result: ReconfigResult::Applied,
        peers_added: vec!["Mesh_192_168_1_14".into()],
        peers_removed: vec![],
        peers_restarted: vec!["Global_10_0_0_1".into()],
        peers_updated: vec!["Mesh_192_168_1_12".into()],
    }
}

pub fn reload_refused() -> ReloadResult {
    ReloadResult {
        result: ReconfigResult::Refused {
            errors: vec![
                "calico-bgpd.toml: error: peers[1].address = 10.0.0.9: duplicate of peers[0].address".into(),
            ],
        },
        peers_added: vec![],
        peers_removed: vec![],
        peers_restarted: vec![],
        peers_updated: vec![],
    }
}

/// A handler serving the fixtures; `delay` makes every answer slow.
#[derive(Debug, Default)]
pub struct Fixtures {
    pub delay: Duration,
    pub refuse_reload: bool,
    pub advertised: Mutex<Vec<ipnet::IpNet>>,
}

impl Handler for Fixtures {
    async fn peers(&self) -> Vec<PeerSnapshot> {
        tokio::time::sleep(self.delay).await;
        peers()
    }

    async fn routes(&self, query: RouteQuery) -> Result<Vec<RouteSnapshot>, CtlError> {
        tokio::time::sleep(self.delay).await;
        Ok(query.apply(routes()))
    }

    async fn fib(&self) -> FibSnapshot {
        fib()
    }

    async fn status(&self) -> StatusSnapshot {
        tokio::time::sleep(self.delay).await;
        status()
    }

    async fn reload(&self) -> ReloadResult {
        if self.refuse_reload { reload_refused() } else { reload_ok() }
    }

    async fn advertise(&self, r: AdvertiseRequest) -> Result<AdvertiseResult, CtlError> {
        if r.prefix != r.prefix.trunc() {
            return Err(CtlError::new(
                ErrorKind::InvalidRequest,
                format!("{} has host bits set", r.prefix),
            ));
        }
        let mut list = self.advertised.lock().unwrap();
        let present = list.contains(&r.prefix);
        let changed = match r.action {
            AdvertiseAction::Add if !present => {
                list.push(r.prefix);
                true
            }
            AdvertiseAction::Del if present => {
                list.retain(|p| *p != r.prefix);
                true
            }
            _ => false,
        };
        Ok(AdvertiseResult { action: r.action, prefix: r.prefix, changed, exported_to: 2 })
    }
}

/// Compares `actual` with the golden file `ctl/tests/golden/<name>`;
/// `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display())
    });
    assert!(
        expected == actual,
        "{} differs (UPDATE_GOLDEN=1 regenerates it)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

pub fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}
