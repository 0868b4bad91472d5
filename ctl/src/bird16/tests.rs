//! Golden tests against BIRD 1.6.8's own replies, captured on a Calico-shaped
//! node (`ctl/tests/golden/bird16/`, router id 192.168.1.20, started
//! 2026-12-07 15:07:43 UTC). The fixture below is that node's state in our
//! snapshot types. Where our reply must differ, the capture is normalised
//! first, and only there: the version string (Calico's fork prints
//! `v0.3.3+birdv1.6.8`), the route change statistics we do not count, the
//! `direct1` route (we learn no interface routes), and capability words
//! our snapshot does not distinguish (`restart-aware`, `llgr-aware`).

use std::net::IpAddr;

use super::*;
use crate::proto::{
    AsPathSegment, Capabilities, ErrorClass, FamilyCounts, FibStats, GrPeerState, GrRecovery,
    LastError, Origin, PathSnapshot, PeerGracefulRestart, PeerType, ReconfigResult,
    ReconfigSnapshot, RejectReason, RouteSource, SegmentKind, SessionState, TimerSnapshot,
};

/// 2026-12-07 15:07:43 UTC, the lab daemon's start.
pub(super) const T0: u64 = 1_796_656_063;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(super) fn status() -> StatusSnapshot {
    StatusSnapshot {
        version: "calico-bgpd test".into(),
        commit: "0123456789ab".into(),
        router_id: "192.168.1.20".parse().unwrap(),
        started_at: T0,
        uptime_secs: 0,
        last_reconfig: Some(ReconfigSnapshot { at: T0, result: ReconfigResult::Applied }),
        graceful_restart: None,
        graceful_restart_helping: vec![],
        shutting_down: false,
        rib: vec![],
        fib: FibStats::default(),
        event_loop_lag_secs: 0.0,
        event_loop_lag_max_secs: 0.0,
        unknown_connects: vec![],
        datastore: None,
        waiting: None,
    }
}

fn caps(words: &[&str]) -> Capabilities {
    let has = |w: &str| words.contains(&w);
    let fam = |w: &str| if has(w) { vec![Family::Ipv4] } else { vec![] };
    Capabilities {
        families: vec![Family::Ipv4],
        route_refresh: has("refresh"),
        enhanced_route_refresh: has("enhanced-refresh"),
        four_octet_as: has("AS4"),
        extended_message: false,
        graceful_restart_time: has("restart-able").then_some(120),
        long_lived_stale_time: has("llgr-able").then_some(3600),
        add_path_rx: fam("add-path-rx"),
        add_path_tx: fam("add-path-tx"),
        extended_next_hop: vec![],
    }
}

fn peer(name: &str, addr: &str, remote_as: u32, state: SessionState, since: u64) -> PeerSnapshot {
    PeerSnapshot {
        address: ip(addr),
        port: 179,
        name: name.into(),
        peer_type: if name.starts_with("Mesh") { PeerType::Mesh } else { PeerType::NodeSpecific },
        state,
        disabled: false,
        passive: false,
        since,
        proto_since: Some(since),
        filters: vec![],
        filter_rules: vec![],
        last_error: None,
        local_as: 64512,
        remote_as,
        local_id: "192.168.1.20".parse().unwrap(),
        remote_id: None,
        source_address: None,
        internal: remote_as == 64512,
        multihop: true,
        rr_client: false,
        remote_caps: None,
        negotiated_caps: None,
        hold_timer: None,
        keepalive_timer: None,
        prefixes: vec![FamilyCounts {
            family: Family::Ipv4,
            received: 0,
            accepted: 0,
            advertised: 0,
            best: 0,
            limit: None,
        }],
        messages: Default::default(),
        flaps: 0,
        uptime_secs: None,
        graceful_restart: PeerGracefulRestart::default(),
    }
}

fn up(
    mut p: PeerSnapshot,
    counts: (u64, u64, u64),
    timers: ((u32, u32), (u32, u32)),
) -> PeerSnapshot {
    p.remote_id = Some(p.address.to_string().parse().unwrap());
    p.source_address = Some(ip("192.168.1.20"));
    p.prefixes[0].accepted = counts.0;
    p.prefixes[0].received = counts.0;
    p.prefixes[0].advertised = counts.1;
    p.prefixes[0].best = counts.2;
    p.hold_timer = Some(TimerSnapshot { left_secs: timers.0.0, period_secs: timers.0.1 });
    p.keepalive_timer = Some(TimerSnapshot { left_secs: timers.1.0, period_secs: timers.1.1 });
    p
}

/// The lab's four IPv4 sessions, as `bird/03-show-protocols` shows them.
pub(super) fn peers() -> Vec<PeerSnapshot> {
    let mut mesh12 = up(
        peer("Mesh_192_168_1_12", "192.168.1.12", 64512, SessionState::Established, T0 + 2),
        (2, 2, 2),
        ((178, 240), (47, 80)),
    );
    mesh12.remote_caps = Some(caps(&[
        "refresh",
        "enhanced-refresh",
        "restart-able",
        "AS4",
        "add-path-rx",
        "add-path-tx",
    ]));
    mesh12.negotiated_caps = Some(caps(&["AS4", "add-path-rx", "add-path-tx"]));
    mesh12.graceful_restart.state = GrPeerState::Ready;
    let mesh13 = peer("Mesh_192_168_1_13", "192.168.1.13", 64512, SessionState::Connect, T0);
    let mut tor = up(
        peer("Node_192_168_1_1", "192.168.1.1", 65001, SessionState::Established, T0 + 2),
        (2, 3, 1),
        ((103, 180), (7, 60)),
    );
    tor.remote_caps = Some(caps(&[
        "refresh",
        "enhanced-refresh",
        "restart-able",
        "llgr-able",
        "AS4",
        "add-path-rx",
    ]));
    tor.negotiated_caps = Some(caps(&["AS4", "add-path-tx"]));
    let mut disabled = peer("Node_192_168_1_2", "192.168.1.2", 65002, SessionState::Idle, T0);
    disabled.disabled = true;
    vec![mesh12, mesh13, tor, disabled]
}

fn bgp_path(peer: &str, name: &str, since: u64, best: bool, as_path: &[u32]) -> PathSnapshot {
    PathSnapshot {
        source: RouteSource::Bgp { peer: ip(peer), name: name.into() },
        path_id: None,
        best,
        reject_reason: (!best).then_some(RejectReason::AsPathLonger),
        stale: false,
        since,
        origin: Origin::Igp,
        as_path: if as_path.is_empty() {
            vec![]
        } else {
            vec![AsPathSegment { kind: SegmentKind::Sequence, asns: as_path.to_vec() }]
        },
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
        igp_metric: None,
        unknown: vec![],
        filter: None,
        interface: None,
    }
}

fn other_path(source: RouteSource, since: u64) -> PathSnapshot {
    PathSnapshot { source, next_hop: vec![], ..bgp_path("0.0.0.0", "", since, true, &[]) }
}

/// `bird/09-show-route` without its `direct1` route, in the capture's order.
pub(super) fn routes() -> Vec<RouteSnapshot> {
    let (mesh, tor) = ("Mesh_192_168_1_12", "Node_192_168_1_1");
    let rt = |p: &str, paths| RouteSnapshot { prefix: p.parse().unwrap(), paths };
    vec![
        rt(
            "198.51.100.0/24",
            vec![
                bgp_path("192.168.1.12", mesh, T0 + 292, true, &[]),
                bgp_path("192.168.1.1", tor, T0 + 3, false, &[65001]),
            ],
        ),
        rt("203.0.113.0/24", vec![bgp_path("192.168.1.1", tor, T0 + 3, true, &[65001])]),
        rt("10.244.20.0/26", vec![other_path(RouteSource::Local { origin: "block".into() }, T0)]),
        rt("10.244.12.0/26", vec![bgp_path("192.168.1.12", mesh, T0 + 2, true, &[])]),
        rt(
            "10.244.20.5/32",
            vec![other_path(RouteSource::Kernel { device: "cali1f2e3d4c5b6".into() }, T0 + 1)],
        ),
    ]
}

/// A capture as reply lines (welcome dropped), each continuation line given
/// the code it carries.
pub(super) fn decode(bytes: &str) -> Vec<Line> {
    let mut prev = 0;
    let mut out = Vec::new();
    for l in bytes.lines().skip(1) {
        if let Some(text) = l.strip_prefix(' ') {
            out.push(Line::more(prev, text));
        } else {
            let code: u16 = l[..4].parse().unwrap();
            prev = code;
            let text = l.get(5..).unwrap_or("").to_owned();
            out.push(if &l[4..5] == "-" { Line::more(code, text) } else { Line::last(code, text) });
        }
    }
    out
}

/// The normalisations of the module documentation.
fn normalise(capture: &str) -> Vec<Line> {
    let counted = [
        "Route change stats",
        "Import updates",
        "Import withdraws",
        "Export updates",
        "Export withdraws",
    ];
    decode(&capture.replace("BIRD 1.6.8", &format!("BIRD {VERSION}")))
        .into_iter()
        .filter(|l| !counted.iter().any(|c| l.text.trim_start().starts_with(c)))
        .filter(|l| !l.text.contains("[direct1 "))
        .map(|mut l| {
            l.text = l.text.replace(" llgr-aware", "").replace("restart-aware", "restart-able");
            l
        })
        .collect()
}

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/bird16/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn eth0(_: IpAddr) -> Option<String> {
    Some("eth0".into())
}

/// Our reply to `line` on the lab node at `now`.
fn ask(line: &str, status: &StatusSnapshot, peers: &[PeerSnapshot], now: u64) -> Vec<Line> {
    let view = View { family: Family::Ipv4, status, peers, now };
    let routes = routes();
    let r = Routes { routes: &routes, iface: &eth0 };
    answer(&Command::parse(line), &view, Some(&r))
}

fn check(capture: &str, line: &str, now: u64) {
    let got = ask(line, &status(), &peers(), now);
    let want = normalise(&golden(capture));
    assert_eq!(got, want, "{capture}\n--- got ---\n{}", text(&got));
}

fn text(lines: &[Line]) -> String {
    let mut out = Vec::new();
    Encoder::default().encode(lines, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn welcome_names_calicos_fork() {
    let mut out = Vec::new();
    Encoder::default().encode(&[welcome()], &mut out);
    assert_eq!(out, b"0001 BIRD v0.3.3+birdv1.6.8 ready.\n");
}

#[test]
fn show_status_matches_bird_byte_for_byte() {
    let got = text(&ask("show status", &status(), &peers(), T0 + 300));
    let want = golden("bird-02-show-status").replace("BIRD 1.6.8", &format!("BIRD {VERSION}"));
    assert_eq!(got, want.split_once('\n').unwrap().1);
}

#[test]
fn show_status_while_waiting_for_the_datastore_says_reconfiguration_in_progress() {
    let waiting = StatusSnapshot { waiting: Some("no Calico Node n1".into()), ..status() };
    let got = ask("show status", &waiting, &[], T0 + 300);
    assert_eq!(got.last(), Some(&Line::last(13, "Reconfiguration in progress")));
}

#[test]
fn show_protocols_matches_bird_byte_for_byte() {
    let got = text(&ask("show protocols", &status(), &peers(), T0 + 300));
    assert_eq!(got, golden("bird-03-show-protocols").split_once('\n').unwrap().1);
}

#[test]
fn show_protocols_all_of_each_peer_matches_bird() {
    for (capture, name) in [
        ("bird-05-show-protocols-all-Mesh_192_168_1_12", "Mesh_192_168_1_12"),
        ("bird-06-show-protocols-all-Mesh_192_168_1_13", "Mesh_192_168_1_13"),
        ("bird-07-show-protocols-all-Node_192_168_1_1", "Node_192_168_1_1"),
        ("bird-08-show-protocols-all-Node_192_168_1_2", "Node_192_168_1_2"),
    ] {
        check(capture, &format!("show protocols all {name}"), T0 + 301);
    }
}

#[test]
fn show_protocols_takes_birds_patterns() {
    check("extra-e1-10-show-protocols-pattern", "show protocols \"Mesh*\"", T0 + 1025);
    let got = ask("show protocols \"Global*\"", &status(), &peers(), T0);
    assert_eq!(got, [Line::last(8003, "No protocols match")]);
}

#[test]
fn show_route_forms_match_bird() {
    check("bird-09-show-route", "show route", T0 + 302);
    check(
        "bird-11-show-route-protocol-Mesh_192_168_1_12",
        "show route protocol Mesh_192_168_1_12",
        T0 + 303,
    );
    check("bird-22-show-route-for-address", "show route for 10.244.12.7", T0 + 306);
}

#[test]
fn show_route_all_matches_bird() {
    // The kernel route's Kernel.source / Kernel.metric lines are not
    // ours to know; the direct1 route's type goes with its row.
    let want: Vec<Line> = normalise(&golden("bird-10-show-route-all"))
        .into_iter()
        .filter(|l| !l.text.starts_with("\tKernel.") && l.text != "\tType: device unicast univ")
        .collect();
    let mut routes = routes();
    routes[1].paths[0].med = Some(0);
    routes[0].paths[1].med = Some(0);
    let (s, ps) = (status(), peers());
    let view = View { family: Family::Ipv4, status: &s, peers: &ps, now: T0 + 302 };
    let r = Routes { routes: &routes, iface: &eth0 };
    let got = answer(&Command::parse("show route all"), &view, Some(&r));
    assert_eq!(got, want, "{}", text(&got));
}

#[test]
fn errors_match_bird() {
    check("bird-16-unknown-command", "foo bar", T0);
    check("bird-17-show-protocols-all-no-such-protocol", "show protocols all Mesh_10_0_0_99", T0);
    check("bird-18-show-route-protocol-no-such-protocol", "show route protocol Mesh_10_0_0_99", T0);
    check("bird-19-show-route-network-not-in-table", "show route 10.99.0.0/24", T0);
}

#[test]
fn show_route_count_counts_routes_and_networks() {
    // BIRD's node, with its direct1 route, said 7 of 7 routes for 6 networks.
    let got = ask("show route count", &status(), &peers(), T0);
    assert_eq!(got, [Line::last(14, "6 of 6 routes for 5 networks")]);
}

#[test]
fn one_connection_carries_the_previous_code_between_replies() {
    // bird/23: two errors, then show status, on one connection.
    let mut enc = Encoder::default();
    let mut out = Vec::new();
    for (line, now) in
        [("foo bar", T0), ("show protocols all Mesh_10_0_0_99", T0), ("show status", T0 + 306)]
    {
        enc.encode(&ask(line, &status(), &peers(), now), &mut out);
    }
    let want = golden("bird-23-errors-then-valid-on-one-connection")
        .replace("BIRD 1.6.8", &format!("BIRD {VERSION}"));
    assert_eq!(String::from_utf8(out).unwrap(), want.split_once('\n').unwrap().1);
    // Two `show route count` in a row: the second line is a last line, so
    // it keeps its code even though it repeats the previous one.
    let mut enc = Encoder::default();
    let mut out = Vec::new();
    enc.encode(&[Line::more(1007, "a"), Line::end()], &mut out);
    enc.encode(&[Line::more(1007, "b"), Line::more(1007, "c"), Line::end()], &mut out);
    assert_eq!(String::from_utf8(out).unwrap(), "1007-a\n0000 \n1007-b\n c\n0000 \n");
}

#[test]
fn recovery_shows_the_0024_block_wait_states_and_gr_lines() {
    let mut s = status();
    s.graceful_restart = Some(GrRecovery {
        waiting_for: vec!["192.168.1.12".into(), "192.168.1.13".into(), "192.168.1.1".into()],
        wait_left_secs: 240,
        wait_total_secs: 240,
    });
    let mut ps = peers();
    for p in &mut ps[..3] {
        p.state = SessionState::Active;
        p.proto_since = Some(T0);
    }
    let got = ask("show status", &s, &ps, T0);
    assert_eq!(got, normalise(&golden("gr-bird-show-status-gr-01-waiting-3")));

    // 2.6 s later: .12 is up and waits with its exports, .1 (no graceful
    // restart) is up, .13 still holds the recovery open.
    s.graceful_restart.as_mut().unwrap().waiting_for = vec!["192.168.1.13".into()];
    let got = ask("show protocols", &s, &peers(), T0 + 3);
    assert_eq!(got, normalise(&golden("gr-bird-show-protocols-gr-02")));
    let got = ask("show protocols all Mesh_192_168_1_13", &s, &peers(), T0 + 3);
    assert!(got.contains(&Line::more(1006, "  GR recovery:    pending")), "{}", text(&got));
}

#[test]
fn peer_details_during_recovery_match_bird() {
    let mut s = status();
    s.graceful_restart = Some(GrRecovery {
        waiting_for: vec!["192.168.1.13".into()],
        wait_left_secs: 170,
        wait_total_secs: 240,
    });
    let mut ps = peers();
    ps[0].prefixes[0] = FamilyCounts {
        family: Family::Ipv4,
        received: 1,
        accepted: 1,
        advertised: 0,
        best: 1,
        limit: None,
    };
    ps[0].hold_timer = Some(TimerSnapshot { left_secs: 165, period_secs: 240 });
    ps[0].keepalive_timer = Some(TimerSnapshot { left_secs: 12, period_secs: 80 });
    let got = ask("show protocols all Mesh_192_168_1_12", &s, &ps, T0 + 70);
    assert_eq!(got, normalise(&golden("gr-bird-show-protocols-all-Mesh_192_168_1_12-during-gr")));
}

#[test]
fn refused_and_passive_sessions_match_bird() {
    let mut ps = peers();
    ps[1].state = SessionState::Active;
    ps[1].last_error = Some(LastError {
        class: ErrorClass::Socket,
        message: "Connection refused".into(),
        at: None,
    });
    let got = ask("show protocols all Mesh_192_168_1_13", &status(), &ps, T0 + 1000);
    // BIRD adds `Connect delay:`, a timer our snapshot does not carry.
    let want: Vec<Line> =
        normalise(&golden("extra-e2b-show-protocols-all-Mesh_192_168_1_13-refused"))
            .into_iter()
            .filter(|l| !l.text.contains("Connect delay"))
            .collect();
    assert_eq!(got, want);

    let mut ps = peers();
    ps[1].passive = true;
    ps[1].state = SessionState::Active;
    ps[1].proto_since = Some(T0 + 1118);
    let got = ask("show protocols all Mesh_192_168_1_13", &status(), &ps, T0 + 1120);
    assert_eq!(got, normalise(&golden("extra-e3-04-show-protocols-all-Mesh_192_168_1_13-passive")));
}

#[test]
fn since_turns_into_the_date_after_twenty_hours() {
    let got = ask("show protocols", &status(), &peers(), T0 + 21 * 3600);
    let rows: Vec<&str> = got.iter().map(|l| l.text.as_str()).collect();
    assert!(rows[1].starts_with("static1  Static   master   up     2026-12-07  "), "{rows:?}");
    assert!(rows[5].contains("up     2026-12-07  Established   "), "{rows:?}");
}

#[test]
fn the_ipv6_socket_shows_ipv6_sessions_only() {
    let mut ps = peers();
    let mut v6 = peer("Mesh_fd00__12", "fd00::12", 64512, SessionState::Established, T0 + 2);
    v6.prefixes[0].family = Family::Ipv6;
    ps.push(v6);
    let s = status();
    let view = View { family: Family::Ipv6, status: &s, peers: &ps, now: T0 + 259 };
    let got = answer(&Command::parse("show protocols"), &view, None);
    assert_eq!(got, normalise(&golden("bird6-03-show-protocols")));
}

#[test]
fn the_ipv6_socket_shows_ipv6_routes() {
    let v6 = peer("Mesh_fd00__12", "fd00::12", 64512, SessionState::Established, T0 + 2);
    let ps = vec![v6];
    let rt = |p: &str, path| RouteSnapshot { prefix: p.parse().unwrap(), paths: vec![path] };
    let kernel = RouteSource::Kernel { device: "cali1f2e3d4c5b6".into() };
    let routes = vec![
        rt("fd10:244::20:5/128", other_path(kernel, T0 + 1)),
        rt("fd10:244::20:0/122", other_path(RouteSource::Local { origin: "block".into() }, T0)),
        rt("fd10:244::12:0/122", bgp_path("fd00::12", "Mesh_fd00__12", T0 + 2, true, &[])),
        rt("10.244.12.0/26", bgp_path("192.168.1.12", "Mesh_192_168_1_12", T0 + 2, true, &[])),
    ];
    let s = status();
    let view = View { family: Family::Ipv6, status: &s, peers: &ps, now: T0 + 260 };
    let r = Routes { routes: &routes, iface: &eth0 };
    let got = answer(&Command::parse("show route"), &view, Some(&r));
    assert_eq!(got, normalise(&golden("bird6-09-show-route")), "{}", text(&got));
}
