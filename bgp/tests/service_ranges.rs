//! Service ranges learned from peers: accepted and advertised on, never
//! programmed, as Calico's BIRD does (confd puts a reject of every
//! `BGPConfiguration` service range first in the kernel filter, and an accept
//! of every advertised one in the export filter).
//!
//! ```text
//!  LAN 10.0.82.0/24
//!  a .1 (AS 64512) ----- b .2 (AS 64512)      mesh a-b; a peers with the ToR
//!     |
//!  ToR FRR .254 (AS 65000): originates 10.96.0.10/32 (a Service's cluster IP),
//!                           203.0.113.7/32 (a LoadBalancer IP), 192.0.2.0/24
//!  a, b: [services] cluster_ips = 10.96.0.0/12, load_balancer_ips = 203.0.113.0/24
//! ```
//!
//! 1. a holds the three ToR routes; its kernel gets 192.0.2.0/24 only.
//! 2. b gets both service routes from a (the export filter accepts them) and
//!    programs neither; 192.0.2.0/24 is outside every pool and range, so a does
//!    not send it on (nor would Calico's BIRD).
//! 3. The ToR gets the two ranges from a.

mod daemon_common;

use std::net::IpAddr;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{bird_routes, dump, rename_to_eth0, wait_bird_route};
use interop_tests::peers::frr::FrrConfig;
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(30);
const A: &str = "10.0.82.1";
const B: &str = "10.0.82.2";
const TOR: &str = "10.0.82.254";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(name: &str, me: &str, other: (&str, &str), tor: bool) -> String {
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\n{FAST_TIMERS}\
         [services]\ncluster_ips = [\"10.96.0.0/12\"]\nload_balancer_ips = [\"203.0.113.0/24\"]\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n",
        other.0, other.1
    );
    if tor {
        s.push_str(&format!("[[peers]]\nname = \"tor\"\naddress = \"{TOR}\"\nremote_as = 65000\n"));
    }
    s
}

/// The prefixes of `node`'s RIB (`show routes`).
fn rib(node: &Node) -> Vec<String> {
    let out = node.ctl(&["-o", "json", "show", "routes"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut p: Vec<String> = v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["prefix"].as_str().map(Into::into))
        .collect();
    p.sort();
    p
}

/// `proto bird` destinations in `ns`'s kernel.
fn programmed(ns: &Netns) -> Vec<String> {
    let mut v: Vec<String> = bird_routes(ns, false)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r["dst"].as_str().map(Into::into))
        .collect();
    v.sort();
    v
}

/// The prefixes `node`'s FIB wants, once they are exactly what it installed
/// (`show fib`); `None` until then.
fn fib_settled(node: &Node) -> Option<Vec<String>> {
    let out = node.ctl(&["-o", "json", "show", "fib"]);
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let d = &v["data"];
    let settled = d["wanted"] == d["installed"] && d["diff"].as_array().is_some_and(Vec::is_empty);
    let mut wanted: Vec<String> = d["wanted"]
        .as_array()?
        .iter()
        .filter_map(|r| r["prefix"].as_str().map(Into::into))
        .collect();
    wanted.sort();
    settled.then_some(wanted)
}

#[test]
fn service_routes_from_peers_are_advertised_on_but_never_programmed() {
    let wd = Workdir::new("svc-ranges").unwrap();
    let mut lan = Lan::new("svc", "10.0.82.0/24", "").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    let tor = Netns::new("tor").unwrap();
    for n in [&a.ns, &b.ns] {
        let i = lan.attach(n).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    lan.attach_host(&tor, 254).unwrap();
    a.write_config(&config("a", A, ("b", B), true));
    b.write_config(&config("b", B, ("a", A), false));
    a.start();
    b.start();
    let frr = FrrConfig::new(65000, ip(TOR))
        .neighbor(Neighbor::new(ip(A), 64512))
        .route(Route::new("10.96.0.10/32"))
        .route(Route::new("203.0.113.7/32"))
        .route(Route::new("192.0.2.0/24"))
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

    // 1. a holds the three; only the one outside the ranges goes into its kernel.
    let want_a =
        ["10.96.0.0/12", "10.96.0.10/32", "192.0.2.0/24", "203.0.113.0/24", "203.0.113.7/32"];
    wait_until(UP, "a's RIB", || Ok(rib(&a) == want_a)).unwrap_or_else(|e| panic!("{}", fail(&e)));
    let r = wait_bird_route(&a.ns, "192.0.2.0/24", UP).unwrap_or_else(|e| panic!("{}", fail(&e)));
    assert_eq!(r["gateway"].as_str(), Some(TOR), "{r}");
    // 2. b gets the service routes through a, and programs none of them.
    let want_b = ["10.96.0.0/12", "10.96.0.10/32", "203.0.113.0/24", "203.0.113.7/32"];
    wait_until(UP, "b's RIB", || Ok(rib(&b) == want_b)).unwrap_or_else(|e| panic!("{}", fail(&e)));
    let out = b.ctl(&["-o", "json", "show", "routes", "10.96.0.10/32"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(v["data"][0]["paths"][0]["source"]["peer"], A, "{v:#}");
    // 3. The ToR has both ranges from a.
    wait_until(UP, "the ranges at the ToR", || {
        let mut got: Vec<String> = frr
            .routes()?
            .into_iter()
            .filter(|r| r.next_hop == Some(ip(A)))
            .map(|r| r.prefix.to_string())
            .collect();
        got.sort();
        got.dedup();
        Ok(got == ["10.96.0.0/12", "203.0.113.0/24"])
    })
    .unwrap_or_else(|e| panic!("{}", fail(&e)));
    // Once each FIB has settled (what it wants is what the kernel holds), neither
    // wants a route inside a range, and the kernels hold none.
    for (n, want) in [(&a, &["192.0.2.0/24"][..]), (&b, &[][..])] {
        wait_until(UP, &format!("{}'s FIB settles", n.name), || {
            Ok(fib_settled(n).is_some_and(|w| w == want))
        })
        .unwrap_or_else(|e| panic!("{}", fail(&e)));
        assert_eq!(programmed(&n.ns), want, "{}", fail(&n.name));
    }
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}
