//! The FIB against a real kernel, each test in its own network namespace
//! (`cbgp-fib-<pid>-<n>`, removed on drop even when the test panics). Needs root.
//!
//! Routes are checked with `ip -j route show proto bird` and compared exactly.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Netns;
use fib::netlink::tunnel::TunnelStatus;
use fib::policy::{BestRoute, EncapMode, IpPool, ProgramClusterRoutes};
use fib::{FibConfig, FibEvent, FibSender};
use ipnet::IpNet;
use serde_json::{Value, json};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn best(prefix: &str, nhs: &[&str]) -> BestRoute {
    BestRoute {
        prefix: net(prefix),
        next_hops: nhs.iter().map(|s| s.parse::<IpAddr>().unwrap()).collect(),
        local_block: false,
        priority: 0,
    }
}

fn pool(cidr: &str, ipip: EncapMode, vxlan: EncapMode) -> IpPool {
    IpPool { cidr: net(cidr), ipip_mode: ipip, vxlan_mode: vxlan, disable_bgp_export: false }
}

/// `ip -j route show proto bird` for one family, keyed by dst.
fn routes(ns: &Netns, fam: &str) -> BTreeMap<String, Value> {
    let out = ns.ip(&[fam, "-j", "route", "show", "proto", "bird"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["dst"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// The FIB of a node without Felix for the VXLAN datapath (`manage_vxlan`); `tunl0`
/// stays the test's (a stand-in: no ipip module here), looked up, never managed.
/// Learning is on, as the daemon runs it (resyncs dump the whole table).
fn cfg(pools: Vec<IpPool>) -> FibConfig {
    FibConfig {
        pools,
        program: ProgramClusterRoutes::Enabled,
        manage_vxlan: true,
        learn: true,
        node_addrs: vec![net("10.0.0.5/24"), net("fd00::5/64")],
        // Far away: every repair in these tests must come from kernel events.
        resync_every: Duration::from_secs(3600),
        stale_timeout: Duration::from_secs(3600),
        ..FibConfig::default()
    }
}

/// Runs `body` with a started Fib inside `ns`, then stops it (routes stay).
fn with_fib<R: Send + 'static>(
    ns: &Netns,
    cfg: FibConfig,
    body: impl FnOnce(FibSender) -> std::pin::Pin<Box<dyn std::future::Future<Output = R> + Send>>
    + Send
    + 'static,
) -> R {
    ns.block_on(move || async move {
        let (fib, task) = fib::Fib::start(cfg).expect("start fib");
        let r = body(fib.clone()).await;
        fib.stop();
        let _ = task.await;
        r
    })
}

fn standard_pools() -> Vec<IpPool> {
    use EncapMode::*;
    vec![
        pool("10.244.0.0/16", CrossSubnet, Never),
        pool("10.245.0.0/16", Never, Always),
        pool("10.246.0.0/16", Never, Never),
        pool("fd10::/48", Never, Never),
        pool("fd20::/48", Never, CrossSubnet),
    ]
}

#[test]
fn every_route_shape_is_installed_exactly() {
    let ns = Netns::new();
    ns.node();
    ns.fake_tunl0();
    let status = with_fib(&ns, cfg(standard_pools()), |fib| {
        Box::pin(async move {
            fib.update(best("10.244.1.0/26", &["10.0.0.7"])); // CrossSubnet, same subnet
            fib.update(best("10.244.2.0/26", &["10.1.0.7"])); // CrossSubnet, other subnet
            fib.update(best("10.245.1.0/26", &["10.1.0.8"])); // VXLAN Always
            fib.update(best("10.246.1.0/26", &["10.1.0.9"])); // no encap, recursive
            fib.update(BestRoute { local_block: true, ..best("10.246.9.0/26", &[]) });
            fib.update(best("10.96.0.10/32", &["10.0.0.8", "10.0.0.7"])); // ECMP
            fib.update(BestRoute { priority: 50, ..best("192.168.50.0/24", &["10.0.0.9"]) });
            fib.update(best("fd10:0:0:1::/122", &["fd00::7"]));
            fib.update(BestRoute { local_block: true, ..best("fd10:0:0:2::/122", &[]) });
            fib.update(best("fd10:0:0:3::/122", &["fd00::8", "fd00::7"])); // IPv6 ECMP
            fib.update(best("fd20:0:0:1::/122", &["fd01::8"])); // IPv6 VXLAN across subnets
            fib.flush().await;
            fib.status().await.unwrap()
        })
    });
    assert!(status.skipped.is_empty(), "skipped: {:?}", status.skipped);
    assert_eq!(status.failed_ops, 0, "{:?}", status.last_error);
    let v4 = routes(&ns, "-4");
    let want4 = [
        json!({"dst":"10.244.1.0/26","gateway":"10.0.0.7","dev":"eth0","flags":[]}),
        json!({"dst":"10.244.2.0/26","gateway":"10.1.0.7","dev":"tunl0","flags":["onlink"]}),
        json!({"dst":"10.245.1.0/26","gateway":"10.1.0.8","dev":"vxlan.calico","flags":["onlink"]}),
        json!({"dst":"10.246.1.0/26","gateway":"10.0.0.1","dev":"eth0","flags":[]}),
        json!({"type":"blackhole","dst":"10.246.9.0/26","flags":[]}),
        json!({"dst":"10.96.0.10","flags":[],"nexthops":[
            {"gateway":"10.0.0.7","dev":"eth0","weight":1,"flags":[]},
            {"gateway":"10.0.0.8","dev":"eth0","weight":1,"flags":[]}]}),
        json!({"dst":"192.168.50.0/24","gateway":"10.0.0.9","dev":"eth0","metric":50,"flags":[]}),
    ];
    let want4: BTreeMap<String, Value> =
        want4.into_iter().map(|r| (r["dst"].as_str().unwrap().to_string(), r)).collect();
    assert_eq!(v4, want4);
    let v6 = routes(&ns, "-6");
    let want6: BTreeMap<String, Value> = [
        json!({"dst":"fd10:0:0:1::/122","gateway":"fd00::7","dev":"eth0","metric":1024,"flags":[],"pref":"medium"}),
        json!({"type":"blackhole","dst":"fd10:0:0:2::/122","dev":"lo","metric":1024,"flags":[],"pref":"medium"}),
        json!({"dst":"fd20:0:0:1::/122","gateway":"fd01::8","dev":"vxlan-v6.calico","metric":1024,"flags":["onlink"],"pref":"medium"}),
        json!({"dst":"fd10:0:0:3::/122","metric":1024,"flags":[],"pref":"medium","nexthops":[
            {"gateway":"fd00::7","dev":"eth0","weight":1,"flags":[]},
            {"gateway":"fd00::8","dev":"eth0","weight":1,"flags":[]}]}),
    ]
    .into_iter()
    .map(|r| (r["dst"].as_str().unwrap().to_string(), r))
    .collect();
    assert_eq!(v6, want6);

    // The VXLAN device and the remote VTEP's neighbour and FDB entries.
    let link: Value =
        serde_json::from_str(&ns.ip(&["-d", "-j", "link", "show", "vxlan.calico"])).unwrap();
    let l = &link[0];
    assert_eq!(l["mtu"], 1450, "uplink 1500 - 50");
    assert_eq!(l["address"], "02:cb:0a:00:00:05");
    let info = &l["linkinfo"]["info_data"];
    assert_eq!(
        (info["id"].clone(), info["port"].clone(), info["local"].clone()),
        (json!(4096), json!(4789), json!("10.0.0.5"))
    );
    let neigh = ns.ip(&["neigh", "show", "dev", "vxlan.calico"]);
    assert_eq!(neigh.trim(), "10.1.0.8 lladdr 02:cb:0a:01:00:08 PERMANENT");
    let fdb = common::sh(ns.command("bridge").args(["fdb", "show", "dev", "vxlan.calico"]));
    assert!(fdb.contains("02:cb:0a:01:00:08 dst 10.1.0.8 self permanent"), "fdb: {fdb}");
    // IPv6 underlay: vxlan-v6.calico, MTU uplink - 70.
    let link: Value =
        serde_json::from_str(&ns.ip(&["-d", "-j", "link", "show", "vxlan-v6.calico"])).unwrap();
    assert_eq!(link[0]["mtu"], 1430);
    assert_eq!(link[0]["linkinfo"]["info_data"]["local6"], "fd00::5");
    let neigh6 = ns.ip(&["-6", "neigh", "show", "dev", "vxlan-v6.calico"]);
    assert_eq!(neigh6.trim(), "fd01::8 lladdr 02:cb:71:9f:89:2b PERMANENT");
}

#[test]
fn missing_ipip_is_reported_not_silent() {
    let ns = Netns::new();
    ns.node();
    let kernel_has_ipip = ns.ip_ok(&["link", "add", "probe0", "type", "ipip"]);
    let status = with_fib(
        &ns,
        FibConfig {
            manage_tunl0: true,
            ..cfg(vec![pool("10.244.0.0/16", EncapMode::Always, EncapMode::Never)])
        },
        |fib| {
            Box::pin(async move {
                fib.update(best("10.244.1.0/26", &["10.1.0.7"]));
                fib.flush().await;
                fib.status().await.unwrap()
            })
        },
    );
    if kernel_has_ipip {
        eprintln!("this kernel has ipip; the unsupported path is not exercised");
        return;
    }
    assert!(
        matches!(&status.tunnels[..], [TunnelStatus::Unsupported { device, reason }]
            if device == "tunl0" && reason.contains("Unknown device type") || reason.contains("not supported")),
        "{:?}",
        status.tunnels
    );
    // Without tunl0 the route goes in unencapsulated, as BIRD installs it.
    assert!(status.skipped.is_empty(), "{:?}", status.skipped);
    assert_eq!(
        routes(&ns, "-4")["10.244.1.0/26"],
        json!({"dst":"10.244.1.0/26","gateway":"10.0.0.1","dev":"eth0","flags":[]})
    );
}

#[test]
fn ipip_route_moves_onto_tunl0_when_felix_creates_it() {
    let ns = Netns::new();
    ns.node();
    let name = ns.name.clone();
    let (before, status, after) = with_fib(
        &ns,
        cfg(vec![pool("10.244.0.0/16", EncapMode::Always, EncapMode::Never)]),
        move |fib| {
            Box::pin(async move {
                fib.update(best("10.244.1.0/26", &["10.1.0.7"]));
                fib.flush().await;
                let status = fib.status().await.unwrap();
                let show = |n: &str| {
                    common::sh(Command::new("ip").args(["-n", n, "route", "show", "proto", "bird"]))
                };
                let before = show(&name);
                // Felix's tunl0 appears (a veth stand-in: no ipip module here).
                common::sh(Command::new("ip").args([
                    "-n", &name, "link", "add", "tunl0", "type", "veth", "peer", "name", "tunl0p",
                ]));
                common::sh(Command::new("ip").args(["-n", &name, "link", "set", "tunl0", "up"]));
                common::sh(Command::new("ip").args(["-n", &name, "link", "set", "tunl0p", "up"]));
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut after = show(&name);
                let on_tunl0 = |s: &str| s.contains("tunl0") && !s.contains("linkdown");
                while !on_tunl0(&after) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    after = show(&name);
                }
                (before, status, after)
            })
        },
    );
    assert_eq!(before.trim(), "10.244.1.0/26 via 10.0.0.1 dev eth0");
    assert!(
        matches!(&status.tunnels[..], [TunnelStatus::Failed { device, reason }]
            if device == "tunl0" && reason.contains("absent")),
        "{:?}",
        status.tunnels
    );
    assert_eq!(after.trim(), "10.244.1.0/26 via 10.1.0.7 dev tunl0 onlink");
    // Felix's device, not ours: untouched (a veth still, MTU as created).
    let link: Value = serde_json::from_str(&ns.ip(&["-d", "-j", "link", "show", "tunl0"])).unwrap();
    assert_eq!(
        (link[0]["mtu"].as_u64(), link[0]["linkinfo"]["info_kind"].as_str()),
        (Some(1500), Some("veth"))
    );
}

async fn wait_repaired(ev: &mut tokio::sync::broadcast::Receiver<FibEvent>, prefix: &str) {
    let want = net(prefix);
    tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match ev.recv().await {
                Ok(FibEvent::Repaired(k)) if k.prefix == want => return,
                Ok(FibEvent::Resynced { reason, .. }) => {
                    panic!("resync ({reason}) while waiting for a repair")
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{prefix} not repaired within 3 s (resync is 1 h away)"));
}

#[test]
fn drift_is_repaired_from_kernel_events_without_polling() {
    let ns = Netns::new();
    ns.node();
    ns.fake_tunl0();
    let name = ns.name.clone();
    with_fib(&ns, cfg(standard_pools()), move |fib| {
        Box::pin(async move {
            fib.update(best("10.244.2.0/26", &["10.1.0.7"]));
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.update(best("10.246.3.0/26", &["10.0.0.7"]));
            fib.flush().await;
            let ip = |args: &[&str]| common::sh(Command::new("ip").arg("-n").arg(&name).args(args));
            let mut ev = fib.subscribe();
            let resyncs = fib.status().await.unwrap().resyncs;
            // Deleted by hand.
            ip(&["route", "del", "10.244.2.0/26", "proto", "bird"]);
            wait_repaired(&mut ev, "10.244.2.0/26").await;
            // Changed by hand, keeping our protocol.
            ip(&[
                "route",
                "replace",
                "10.246.1.0/26",
                "via",
                "10.0.0.99",
                "dev",
                "eth0",
                "proto",
                "bird",
            ]);
            wait_repaired(&mut ev, "10.246.1.0/26").await;
            // Overwritten by another protocol.
            ip(&["route", "replace", "10.246.3.0/26", "via", "10.0.0.98", "dev", "eth0"]);
            wait_repaired(&mut ev, "10.246.3.0/26").await;
            let st = fib.status().await.unwrap();
            let mut seen = Vec::new();
            while let Ok(e) = ev.try_recv() {
                seen.push(e);
            }
            assert_eq!(st.resyncs, resyncs, "repaired by events, not by a resync: {seen:?}");
            assert!(st.repairs >= 3);
        })
    });
    let v4 = routes(&ns, "-4");
    assert_eq!(
        v4["10.244.2.0/26"],
        json!({"dst":"10.244.2.0/26","gateway":"10.1.0.7","dev":"tunl0","flags":["onlink"]})
    );
    assert_eq!(
        v4["10.246.1.0/26"],
        json!({"dst":"10.246.1.0/26","gateway":"10.0.0.7","dev":"eth0","flags":[]})
    );
    assert_eq!(
        v4["10.246.3.0/26"],
        json!({"dst":"10.246.3.0/26","gateway":"10.0.0.7","dev":"eth0","flags":[]})
    );
}

#[test]
fn restart_adopts_routes_without_touching_the_right_ones() {
    let ns = Netns::new();
    ns.node();
    ns.fake_tunl0();
    let pools = standard_pools();
    with_fib(&ns, cfg(pools.clone()), |fib| {
        Box::pin(async move {
            fib.update(best("10.244.2.0/26", &["10.1.0.7"]));
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.update(best("10.246.2.0/26", &["10.0.0.8"]));
            fib.flush().await;
        })
    });
    // The Fib stopped: routes stay (BIRD's `persist`).
    let before = routes(&ns, "-4");
    assert_eq!(before.len(), 3, "{before:?}");

    let mon = ns
        .command("ip")
        .args(["monitor", "route"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stale_kept = with_fib(&ns, cfg(pools), |fib| {
        Box::pin(async move {
            // After restart only two are re-learned; 10.246.2.0/26 is stale.
            fib.update(best("10.244.2.0/26", &["10.1.0.7"]));
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            let kept = fib.status().await.unwrap().installed;
            fib.converged();
            fib.flush().await;
            kept
        })
    });
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill").arg(mon.id().to_string()).status();
    let out = mon.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stale_kept, 3, "stale route kept until converged");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        vec!["Deleted 10.246.2.0/26 via 10.0.0.8 dev eth0 proto bird "],
        "ip monitor route:\n{log}"
    );
    let after = routes(&ns, "-4");
    assert_eq!(after.len(), 2);
    assert_eq!(after["10.244.2.0/26"], before["10.244.2.0/26"]);
    assert_eq!(after["10.246.1.0/26"], before["10.246.1.0/26"]);
}

#[test]
fn mode_switch_rewrites_routes_in_place() {
    use EncapMode::*;
    let ns = Netns::new();
    ns.node();
    ns.fake_tunl0();
    let name = ns.name.clone();
    let log = with_fib(&ns, cfg(vec![pool("10.244.0.0/16", Always, Never)]), move |fib| {
        Box::pin(async move {
            fib.update(best("10.244.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            let mut mon = Command::new("ip")
                .args(["-n", &name, "monitor", "route"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            fib.reconfigure(cfg(vec![pool("10.244.0.0/16", CrossSubnet, Never)]));
            fib.flush().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = Command::new("kill").arg(mon.id().to_string()).status();
            let out = mon.stdout.take().map(|mut s| {
                let mut v = String::new();
                std::io::Read::read_to_string(&mut s, &mut v).unwrap();
                v
            });
            let _ = mon.wait();
            out.unwrap_or_default()
        })
    });
    assert!(!log.contains("Deleted"), "a mode switch must not delete: {log}");
    assert_eq!(
        routes(&ns, "-4")["10.244.1.0/26"],
        json!({"dst":"10.244.1.0/26","gateway":"10.0.0.7","dev":"eth0","flags":[]})
    );
}

#[test]
fn a_burst_to_one_prefix_is_coalesced() {
    let ns = Netns::new();
    ns.node();
    let applied = with_fib(&ns, cfg(vec![]), |fib| {
        Box::pin(async move {
            let mut ev = fib.subscribe();
            for i in 0..10_000u32 {
                let gw = format!("10.0.0.{}", 10 + i % 200);
                fib.update(best("192.168.7.0/24", &[gw.as_str()]));
            }
            fib.withdraw(net("192.168.9.0/24"));
            fib.update(best("192.168.7.0/24", &["10.0.0.250"]));
            fib.flush().await;
            let mut applied = 0;
            while let Ok(e) = ev.try_recv() {
                if let FibEvent::Applied { ops, .. } = e {
                    applied += ops;
                }
            }
            applied
        })
    });
    assert!(applied < 100, "10k updates to one prefix became {applied} kernel ops");
    assert_eq!(
        routes(&ns, "-4")["192.168.7.0/24"],
        json!({"dst":"192.168.7.0/24","gateway":"10.0.0.250","dev":"eth0","flags":[]})
    );
}

#[test]
fn a_batch_applied_at_once_installs_and_withdraws_in_arrival_order() {
    let ns = Netns::new();
    ns.node();
    with_fib(&ns, cfg(vec![]), |fib| {
        Box::pin(async move {
            fib.update(best("192.168.8.0/24", &["10.0.0.7"]));
            fib.flush().await;
            fib.apply([
                (net("192.168.7.0/24"), Some(best("192.168.7.0/24", &["10.0.0.7"]))),
                (net("192.168.8.0/24"), None),
                (net("192.168.7.0/24"), Some(best("192.168.7.0/24", &["10.0.0.8"]))),
            ]);
            fib.flush().await;
        })
    });
    let v4 = routes(&ns, "-4");
    assert_eq!(
        v4["192.168.7.0/24"],
        json!({"dst":"192.168.7.0/24","gateway":"10.0.0.8","dev":"eth0","flags":[]})
    );
    assert!(!v4.contains_key("192.168.8.0/24"), "withdrawn in the batch: {v4:?}");
}

#[test]
fn a_vtep_let_go_and_taken_up_in_one_batch_stays() {
    let ns = Netns::new();
    ns.node();
    // 10.245/16 is VXLAN Always: both blocks of the remote node 10.1.0.8 need its VTEP.
    with_fib(&ns, cfg(standard_pools()), |fib| {
        Box::pin(async move {
            fib.update(best("10.245.1.0/26", &["10.1.0.8"]));
            fib.flush().await;
            // Its first block released and another claimed, in address order in one batch.
            fib.apply([
                (net("10.245.1.0/26"), None),
                (net("10.245.2.0/26"), Some(best("10.245.2.0/26", &["10.1.0.8"]))),
            ]);
            fib.flush().await;
        })
    });
    let neigh = ns.ip(&["neigh", "show", "dev", "vxlan.calico"]);
    assert_eq!(neigh.trim(), "10.1.0.8 lladdr 02:cb:0a:01:00:08 PERMANENT");
    let fdb = common::sh(ns.command("bridge").args(["fdb", "show", "dev", "vxlan.calico"]));
    assert!(fdb.contains("02:cb:0a:01:00:08 dst 10.1.0.8 self permanent"), "fdb: {fdb}");
    assert!(routes(&ns, "-4").contains_key("10.245.2.0/26"));
}

async fn wait_for(
    ev: &mut tokio::sync::broadcast::Receiver<FibEvent>,
    what: &str,
    f: impl Fn(&FibEvent) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Ok(e) = ev.recv().await {
                if f(&e) {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 3 s"));
}

#[test]
fn address_and_link_changes_re_evaluate_routes() {
    let ns = Netns::new();
    ns.node();
    ns.fake_tunl0();
    let name = ns.name.clone();
    with_fib(&ns, cfg(standard_pools()), move |fib| {
        Box::pin(async move {
            let ip = |args: &[&str]| common::sh(Command::new("ip").arg("-n").arg(&name).args(args));
            let show = |p: &str| ip(&["route", "show", p, "proto", "bird"]).trim().to_string();
            fib.update(best("10.244.2.0/26", &["10.1.0.7"])); // CrossSubnet, other subnet
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.update(best("10.246.2.0/26", &["10.1.0.8"])); // no encap, via the gateway
            fib.flush().await;
            assert_eq!(show("10.244.2.0/26"), "10.244.2.0/26 via 10.1.0.7 dev tunl0 onlink");
            assert_eq!(show("10.246.2.0/26"), "10.246.2.0/26 via 10.0.0.1 dev eth0");
            let mut ev = fib.subscribe();

            // The host gains an address in 10.1.0.0/24 (a second subnet on eth0): the
            // next hops there are now reached directly, but the node's own subnet is
            // still node.ipv4's 10.0.0.0/24, so CrossSubnet keeps the tunnel, as
            // Calico's `bgp_next_hop ~ network_v4` does. Only those two prefixes are
            // decided again.
            ip(&["addr", "add", "10.1.0.5/24", "dev", "eth0"]);
            wait_for(
                &mut ev,
                "context change",
                |e| matches!(e, FibEvent::ContextChanged { prefixes: n } if *n > 0),
            )
            .await;
            fib.flush().await;
            assert_eq!(show("10.246.2.0/26"), "10.246.2.0/26 via 10.1.0.8 dev eth0");
            assert_eq!(show("10.244.2.0/26"), "10.244.2.0/26 via 10.1.0.7 dev tunl0 onlink");

            // eth0 down: the kernel drops IPv4 routes through it without telling
            // anyone route by route. Back up: the FIB reinstalls them.
            ip(&["link", "set", "eth0", "down"]);
            ip(&["link", "set", "eth0", "up"]);
            // Two resyncs follow (down, up); the one after "up" restores the routes.
            // The resync timer is an hour away, so only the link events can do it.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            while show("10.246.1.0/26") != "10.246.1.0/26 via 10.0.0.7 dev eth0" {
                assert!(tokio::time::Instant::now() < deadline, "not restored after the flap");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(show("10.244.2.0/26"), "10.244.2.0/26 via 10.1.0.7 dev tunl0 onlink");
        })
    });
}

#[test]
fn addresses_on_unrelated_interfaces_decide_no_route_again() {
    let ns = Netns::new();
    ns.node();
    ns.fake_tunl0();
    let name = ns.name.clone();
    with_fib(&ns, cfg(standard_pools()), move |fib| {
        Box::pin(async move {
            let ip = |args: &[&str]| common::sh(Command::new("ip").arg("-n").arg(&name).args(args));
            fib.update(best("10.244.2.0/26", &["10.1.0.7"]));
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            let mut ev = fib.subscribe();
            // kube-ipvs0 (a bridge stands in: no dummy module here) gets an address per
            // cluster IP; Calico's BIRD leaves it out, and so do we: no reread at all.
            ip(&["link", "add", "kube-ipvs0", "type", "bridge"]);
            for i in 1..=20 {
                ip(&["addr", "add", &format!("10.96.0.{i}/32"), "dev", "kube-ipvs0"]);
            }
            // A docker bridge: its subnet holds no next hop, so nothing is decided again.
            ip(&["link", "add", "docker0", "type", "bridge"]);
            ip(&["addr", "add", "172.17.0.1/16", "dev", "docker0"]);
            // A marker that does matter: 10.1.0.0/24 becomes connected.
            ip(&["addr", "add", "10.1.0.5/24", "dev", "eth0"]);
            let mut seen = Vec::new();
            tokio::time::timeout(Duration::from_secs(3), async {
                loop {
                    if let Ok(FibEvent::ContextChanged { prefixes }) = ev.recv().await {
                        seen.push(prefixes);
                        if prefixes > 0 {
                            return;
                        }
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("no re-decision for 10.1.0.0/24 within 3 s: {seen:?}"));
            // docker0's address (and its link-down subnet route) decided nothing again;
            // kube-ipvs0's twenty addresses were not even looked at; the marker decided
            // exactly the one prefix whose next hop is in 10.1.0.0/24.
            assert!(seen.len() <= 3, "{seen:?}");
            assert_eq!(seen.last(), Some(&1), "{seen:?}");
            assert!(seen[..seen.len() - 1].iter().all(|n| *n == 0), "{seen:?}");
        })
    });
}

#[test]
fn uplink_mtu_change_resizes_vxlan() {
    let ns = Netns::new();
    ns.node();
    let name = ns.name.clone();
    with_fib(
        &ns,
        cfg(vec![pool("10.245.0.0/16", EncapMode::Never, EncapMode::CrossSubnet)]),
        move |fib| {
            Box::pin(async move {
                let mtu = || -> u64 {
                    let out = common::sh(Command::new("ip").args([
                        "-n",
                        &name,
                        "-j",
                        "link",
                        "show",
                        "vxlan.calico",
                    ]));
                    serde_json::from_str::<Value>(&out).unwrap()[0]["mtu"].as_u64().unwrap()
                };
                fib.flush().await;
                assert_eq!(mtu(), 1450);
                common::sh(
                    Command::new("ip").args(["-n", &name, "link", "set", "eth0", "mtu", "9000"]),
                );
                let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
                while mtu() != 8950 {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "vxlan.calico MTU still {}",
                        mtu()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        },
    );
}

#[test]
fn adopted_routes_are_removed_after_the_stale_timeout_without_converged() {
    let ns = Netns::new();
    ns.node();
    // A route left behind by an earlier run (or by BIRD): proto bird, nothing wants it.
    ns.ip(&["route", "add", "10.246.7.0/26", "via", "10.0.0.7", "dev", "eth0", "proto", "bird"]);
    let mut c = cfg(standard_pools());
    c.stale_timeout = Duration::from_millis(300);
    let (before, after) = with_fib(&ns, c, |fib| {
        Box::pin(async move {
            fib.flush().await;
            let before = fib.status().await.unwrap();
            let mut ev = fib.subscribe();
            wait_for(&mut ev, "stale-timeout resync", |e| {
                matches!(e, FibEvent::Resynced { reason: "stale timeout", .. })
            })
            .await;
            (before, fib.status().await.unwrap())
        })
    });
    assert!(!before.converged && before.installed == 1, "{before:?}");
    assert!(after.converged && after.installed == 0, "{after:?}");
    assert!(routes(&ns, "-4").is_empty());
}

#[test]
fn a_route_fight_with_another_agent_is_bounded_and_reported() {
    let ns = Netns::new();
    ns.node();
    let name = ns.name.clone();
    let st = with_fib(&ns, cfg(standard_pools()), move |fib| {
        Box::pin(async move {
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            let mut ev = fib.subscribe();
            // Like Felix removing `proto bird` routes it considers its own, again and again.
            for _ in 0..8 {
                let _ = Command::new("ip")
                    .args(["-n", &name, "route", "del", "10.246.1.0/26", "proto", "bird"])
                    .output();
                let _ = tokio::time::timeout(Duration::from_millis(300), ev.recv()).await;
            }
            fib.status().await.unwrap()
        })
    });
    assert_eq!(st.repairs, 5, "{st:?}");
    assert!(st.last_error.as_deref().unwrap_or("").contains("another agent"), "{st:?}");
}

#[test]
fn proto_bird_routes_in_other_tables_are_never_touched() {
    let ns = Netns::new();
    ns.node();
    // Someone else's proto-12 route in table 100, there before we start ...
    ns.ip(&["route", "add", "10.99.1.0/24", "via", "10.0.0.7", "proto", "bird", "table", "100"]);
    let before_ours = with_fib(&ns, cfg(standard_pools()), |fib| {
        Box::pin(async move {
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            fib.converged();
            fib.flush().await;
            fib.status().await.unwrap().installed
        })
    });
    assert_eq!(before_ours, 1);
    // ... and one added while we run: seen as a kernel event, then in the
    // dump of a periodic resync, which would adopt and delete it if it took
    // every table.
    let resyncing = FibConfig { resync_every: Duration::from_millis(300), ..cfg(standard_pools()) };
    with_fib(&ns, resyncing, |fib| {
        Box::pin(async move {
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            fib.converged();
            fib.flush().await;
            tokio::task::spawn_blocking(|| {
                Command::new("ip")
                    .args(["route", "add", "10.99.2.0/24", "via", "10.0.0.7"])
                    .args(["proto", "bird", "table", "100"])
                    .status()
            })
            .await
            .unwrap()
            .unwrap();
            let mut ev = fib.subscribe();
            let resynced = tokio::time::timeout(Duration::from_secs(10), async {
                while let Ok(e) = ev.recv().await {
                    if matches!(e, FibEvent::Resynced { .. }) {
                        return;
                    }
                }
            })
            .await;
            assert!(resynced.is_ok(), "no periodic resync seen");
            fib.flush().await;
        })
    });
    let table100 = ns.ip(&["-4", "route", "show", "table", "100"]);
    assert!(table100.contains("10.99.1.0/24"), "{table100}");
    assert!(table100.contains("10.99.2.0/24"), "{table100}");
    assert_eq!(routes(&ns, "-4").len(), 1);
}

/// The next batch of learned-route changes, as (prefix, metric, device) or (prefix, None).
async fn next_learned(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<fib::LearnedChange>>,
) -> Vec<(String, Option<(u32, Option<String>)>)> {
    let batch = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .expect("a learned-route change within 3 s")
        .expect("the FIB is running");
    batch
        .into_iter()
        .map(|c| (c.prefix.to_string(), c.route.map(|r| (r.metric, r.device))))
        .collect()
}

#[test]
fn other_agents_routes_are_learned_and_forgotten_with_the_kernel() {
    let ns = Netns::new();
    ns.node();
    let name = ns.name.clone();
    with_fib(&ns, cfg(standard_pools()), move |fib| {
        Box::pin(async move {
            let ip = |args: &[&str]| common::sh(Command::new("ip").arg("-n").arg(&name).args(args));
            let mut rx = fib.watch_learned();
            // The whole set first: the default routes `ip route add` gave proto boot; the
            // kernel's connected subnets (proto kernel) are not learned.
            let first = next_learned(&mut rx).await;
            let prefixes: Vec<&str> = first.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(prefixes, ["0.0.0.0/0", "::/0"], "{first:?}");

            // Felix's workload route for a borrowed address.
            ip(&["link", "add", "cali1234abcd", "type", "veth", "peer", "name", "cali1234p"]);
            ip(&["link", "set", "cali1234abcd", "up"]);
            ip(&[
                "route",
                "add",
                "10.244.2.7/32",
                "dev",
                "cali1234abcd",
                "scope",
                "link",
                "proto",
                "80",
                "metric",
                "1024",
            ]);
            let c = next_learned(&mut rx).await;
            assert_eq!(c, [("10.244.2.7/32".into(), Some((1024, Some("cali1234abcd".into()))))]);
            // An elevated copy wins; its removal brings the normal one back.
            ip(&[
                "route",
                "add",
                "10.244.2.7/32",
                "dev",
                "cali1234abcd",
                "proto",
                "80",
                "metric",
                "512",
            ]);
            assert_eq!(next_learned(&mut rx).await[0].1, Some((512, Some("cali1234abcd".into()))));
            ip(&["route", "del", "10.244.2.7/32", "proto", "80", "metric", "512"]);
            assert_eq!(next_learned(&mut rx).await[0].1, Some((1024, Some("cali1234abcd".into()))));
            // Felix removes it: forgotten.
            ip(&["route", "del", "10.244.2.7/32", "proto", "80", "metric", "1024"]);
            assert_eq!(next_learned(&mut rx).await, [("10.244.2.7/32".into(), None)]);
            // Ours are never learned.
            fib.update(best("10.244.3.0/26", &["10.0.0.7"]));
            fib.flush().await;
            // The pod goes: its veth is deleted, and the kernel drops the route silently.
            ip(&["route", "add", "10.244.2.8/32", "dev", "cali1234abcd", "proto", "80"]);
            assert_eq!(next_learned(&mut rx).await[0].0, "10.244.2.8/32");
            ip(&["link", "del", "cali1234abcd"]);
            assert_eq!(next_learned(&mut rx).await, [("10.244.2.8/32".into(), None)]);
            // A veth that goes down loses its IPv4 routes, unannounced, likewise.
            ip(&["link", "add", "cali7777abcd", "type", "veth", "peer", "name", "cali7777p"]);
            ip(&["link", "set", "cali7777abcd", "up"]);
            ip(&["route", "add", "10.244.2.9/32", "dev", "cali7777abcd", "proto", "80"]);
            assert_eq!(next_learned(&mut rx).await[0].0, "10.244.2.9/32");
            ip(&["link", "set", "cali7777abcd", "down"]);
            assert_eq!(next_learned(&mut rx).await, [("10.244.2.9/32".into(), None)]);
            assert!(rx.try_recv().is_err(), "nothing about our own 10.244.3.0/26");
        })
    });
}

#[test]
fn learning_reads_only_the_configured_table() {
    let ns = Netns::new();
    ns.node();
    ns.ip(&["route", "add", "10.244.2.7/32", "dev", "eth0", "proto", "80", "table", "1000"]);
    ns.ip(&["route", "add", "10.244.2.8/32", "dev", "eth0", "proto", "80"]);
    let name = ns.name.clone();
    let table1000 = FibConfig { table: 1000, ..cfg(standard_pools()) };
    with_fib(&ns, table1000, move |fib| {
        Box::pin(async move {
            let mut rx = fib.watch_learned();
            assert_eq!(
                next_learned(&mut rx).await,
                [("10.244.2.7/32".into(), Some((0, Some("eth0".into()))))]
            );
            // Ours in table 1000 (a resync's dump of the table) are not learned either.
            fib.update(best("10.246.1.0/26", &["10.0.0.7"]));
            fib.flush().await;
            fib.converged();
            fib.flush().await;
            common::sh(
                Command::new("ip")
                    .args(["-n", &name, "route", "add", "10.244.2.9/32"])
                    .args(["dev", "eth0", "proto", "80", "table", "1000"]),
            );
            assert_eq!(next_learned(&mut rx).await[0].0, "10.244.2.9/32");
            assert!(rx.try_recv().is_err());
        })
    });
}
