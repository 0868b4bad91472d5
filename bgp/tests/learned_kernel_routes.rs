//! Routes Felix programs are learned from the kernel and exported as Calico's
//! BIRD exports them (its kernel protocol runs with `learn`; confd's
//! `calico_export_to_bgp_peers()` decides), and withdrawn when Felix removes
//! them.
//!
//! ```text
//!  LAN 10.0.83.0/24
//!  a .1  blocks 10.244.1.0/26 ---- mesh ---- b .2  blocks 10.244.2.0/26
//!   |  Felix stand-in on a:
//!   |    10.244.2.7/32 dev cali1234abcd proto 80 metric 1024  (borrowed from b's block)
//!   |    10.244.1.5/32 dev cali5678abcd proto 80 metric 1024  (a workload of a's block)
//!   |    10.244.9.0/26 via 10.244.9.0 dev vxlan.calico onlink proto 80
//!  ToR FRR .254 (AS 65000), eBGP with a
//!  pool 10.244.0.0/16, no encapsulation; every daemon setting at its default
//! ```
//!
//! 1. b installs `10.244.2.7 via 10.0.83.1 dev eth0 proto bird` (more specific
//!    than its own block's blackhole), learned from a with LOCAL_PREF
//!    2147483647 - 1024; the ToR has it too, and the VXLAN route (Felix's tunnel
//!    routes stay off iBGP, not eBGP); nobody gets a's own workload /32.
//! 2. a shows the route as the kernel's (`cali1234abcd`), never programs it,
//!    and leaves Felix's routes as they are.
//! 3. Felix deletes the route: b and the ToR lose it. A pod whose veth is
//!    deleted (the kernel drops its route without a notification) likewise.

mod daemon_common;

use std::net::IpAddr;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{dump, rename_to_eth0, wait_bird_route, wait_no_bird_route};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(30);
const A: &str = "10.0.83.1";
const B: &str = "10.0.83.2";
const TOR: &str = "10.0.83.254";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(name: &str, me: &str, block: &str, other: (&str, &str), tor: bool) -> String {
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [\"{block}\"]\n\
         {FAST_TIMERS}[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n",
        other.0, other.1
    );
    if tor {
        s.push_str(&format!("[[peers]]\nname = \"tor\"\naddress = \"{TOR}\"\nremote_as = 65000\n"));
    }
    s
}

/// A workload veth as Felix names it, up, with its pod end.
fn veth(ns: &Netns, name: &str) {
    ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &format!("{name}p")]).unwrap();
    ns.ip(&["link", "set", name, "up"]).unwrap();
}

/// Felix's workload route: `/32 dev VETH scope link proto 80 metric 1024`.
fn workload_route(ns: &Netns, addr: &str, dev: &str) {
    ns.ip(&["route", "add", addr, "dev", dev, "scope", "link", "proto", "80", "metric", "1024"])
        .unwrap();
}

/// What Felix does on a: two workload veths, a VXLAN device and a route over it.
fn felix_stand_in(ns: &Netns) {
    veth(ns, "cali1234abcd");
    veth(ns, "cali5678abcd");
    workload_route(ns, "10.244.2.7/32", "cali1234abcd");
    workload_route(ns, "10.244.1.5/32", "cali5678abcd");
    let ip = |args: &[&str]| ns.ip(args).unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    ip(&["link", "add", "vxlan.calico", "type", "vxlan", "id", "4096", "local", A, "dev", "eth0"]);
    ip(&["link", "set", "vxlan.calico", "up"]);
    ip(&["route", "add", "10.244.9.0/26", "via", "10.244.9.0", "dev", "vxlan.calico", "onlink"]);
    // `ip route add` says proto boot; Felix says 80. Both are learned; use Felix's.
    ip(&[
        "route",
        "change",
        "10.244.9.0/26",
        "via",
        "10.244.9.0",
        "dev",
        "vxlan.calico",
        "onlink",
        "proto",
        "80",
    ]);
}

/// The prefixes the ToR learned from a.
fn tor_routes(frr: &Frr) -> Vec<String> {
    let mut v: Vec<String> = frr
        .routes()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.next_hop == Some(ip(A)))
        .map(|r| r.prefix.to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// `show routes PREFIX` on `node`, as JSON paths.
fn paths(node: &Node, prefix: &str) -> Vec<Value> {
    let out = node.ctl(&["-o", "json", "show", "routes", prefix]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["data"][0]["paths"].as_array().cloned().unwrap_or_default()
}

#[test]
fn felix_workload_routes_are_learned_exported_and_withdrawn_as_calicos_bird_does() {
    let wd = Workdir::new("learned").unwrap();
    let mut lan = Lan::new("lrn", "10.0.83.0/24", "").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    let tor = Netns::new("tor").unwrap();
    for n in [&a.ns, &b.ns] {
        let i = lan.attach(n).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    lan.attach_host(&tor, 254).unwrap();
    felix_stand_in(&a.ns);
    let felix_before = a.ns.ip(&["route", "show", "proto", "80"]).unwrap();
    a.write_config(&config("a", A, "10.244.1.0/26", ("b", B), true));
    b.write_config(&config("b", B, "10.244.2.0/26", ("a", A), false));
    a.start();
    b.start();
    let frr = FrrConfig::new(65000, ip(TOR))
        .neighbor(Neighbor::new(ip(A), 64512))
        .start(&tor, &wd.subdir("frr").unwrap())
        .unwrap();
    let fail = |e: &dyn std::fmt::Display| -> String {
        format!(
            "{e}\n{}\n{}\n{}\n--- log of a ---\n{}\n--- log of b ---\n{}",
            dump(&a.ns),
            dump(&b.ns),
            frr.dump_state(),
            a.log(),
            b.log()
        )
    };

    // 1. The borrowed address reaches b, as the kernel route b installs, and the ToR.
    let r = wait_bird_route(&b.ns, "10.244.2.7", UP).unwrap_or_else(|e| panic!("{}", fail(&e)));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(A), Some("eth0")), "{r}");
    let p = paths(&b, "10.244.2.7/32");
    assert_eq!(p[0]["source"]["peer"], A, "{p:?}");
    assert_eq!(p[0]["local_pref"], 2_147_483_647u64 - 1024, "{p:?}");
    let want_tor = ["10.244.1.0/26", "10.244.2.7/32", "10.244.9.0/26"];
    wait_until(UP, "the ToR's routes from a", || Ok(tor_routes(&frr) == want_tor))
        .unwrap_or_else(|e| panic!("{:?}\n{}", tor_routes(&frr), fail(&e)));
    // Not over iBGP: the VXLAN route; to nobody: a's own workload.
    assert!(paths(&b, "10.244.9.0/26").is_empty(), "{}", fail(&"VXLAN route at b"));
    assert!(paths(&b, "10.244.1.5/32").is_empty(), "{}", fail(&"own workload at b"));

    // 2. a: the kernel's route, shown as such, never programmed by a.
    let p = paths(&a, "10.244.2.7/32");
    assert_eq!(p[0]["source"]["kind"], "kernel", "{p:?}");
    assert_eq!(p[0]["source"]["device"], "cali1234abcd", "{p:?}");
    let out = a.ctl(&["-o", "json", "show", "fib"]);
    let fib: Value = serde_json::from_slice(&out.stdout).unwrap();
    let wanted: Vec<&str> = fib["data"]["wanted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["prefix"].as_str())
        .collect();
    assert!(
        !wanted.iter().any(|p| p.starts_with("10.244.2.7") || p.starts_with("10.244.1.5")),
        "{wanted:?}"
    );
    assert_eq!(a.ns.ip(&["route", "show", "proto", "80"]).unwrap(), felix_before);

    // 3. Felix deletes it: withdrawn everywhere.
    a.ns.ip(&["route", "del", "10.244.2.7/32", "proto", "80", "metric", "1024"]).unwrap();
    wait_no_bird_route(&b.ns, "10.244.2.7", UP).unwrap_or_else(|e| panic!("{}", fail(&e)));
    wait_until(UP, "withdrawn at the ToR", || {
        Ok(!tor_routes(&frr).contains(&"10.244.2.7/32".into()))
    })
    .unwrap_or_else(|e| panic!("{}", fail(&e)));
    // A pod goes with its veth: the kernel drops the route without a word.
    veth(&a.ns, "cali9999abcd");
    workload_route(&a.ns, "10.244.2.8/32", "cali9999abcd");
    wait_bird_route(&b.ns, "10.244.2.8", UP).unwrap_or_else(|e| panic!("{}", fail(&e)));
    a.ns.ip(&["link", "del", "cali9999abcd"]).unwrap();
    wait_no_bird_route(&b.ns, "10.244.2.8", UP).unwrap_or_else(|e| panic!("{}", fail(&e)));
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}
