//! Faults. A node's link taken down and up, and peers
//! restarted: routes leave the kernels and come back, and a restarted peer
//! relearns everything it had (counted before and after).
//!
//! ```text
//!            LAN 10.0.9.0/24 (bridge in its own namespace)
//!  +----------------+   +----------------+   +-----------------------+
//!  | a  .1   eth0   |   | b  .2   eth0   |   | FRR ToR .254, zebra   |
//!  | 10.244.1.0/26  |   | 10.244.2.0/26  |   | AS 65000, originates  |
//!  | AS 64512       |   | AS 64512       |   | 10.109.{0..4}.0/24    |
//!  +-------+--------+   +-------+--------+   +-----------+-----------+
//!          +--------------------+------------------------+
//!  a <-> b: mesh (iBGP); a <-> FRR, b <-> FRR: eBGP. Hold time 9 s.
//! ```
//!
//! Checks:
//! 1. Baseline: a and b each hold 6 `proto bird` routes learned from BGP (the
//!    other's block and FRR's five), FRR holds both blocks.
//! 2. b's eth0 down: b's block leaves a's kernel and FRR (hold time), b's learned
//!    routes leave b's kernel.
//! 3. b's eth0 up: the same counts as the baseline on both sides.
//! 4. FRR's bgpd restarted: its five prefixes leave a's kernel, then all come back;
//!    FRR relearns both blocks.
//! 5. calico-bgpd on b restarted: it relearns all 6 routes, and a relearns b's block.

mod daemon_common;

use std::net::IpAddr;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{
    bird_routes, dump, rename_to_eth0, wait_bird_route, wait_no_bird_route,
};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Lan, Netns, Workdir, wait_until};

const UP: Duration = Duration::from_secs(30);
/// Hold time (9 s) and some slack for the withdrawal to reach the kernel.
/// Hold time (9 s) plus our graceful-restart time (4 s): the peers negotiate
/// RFC 8538, so a hold-timer expiry keeps the routes stale until the restart
/// time runs out; FRR here has no GR and withdraws at the hold time.
const HOLD: Duration = Duration::from_secs(20);

const FRR_PREFIXES: [&str; 5] =
    ["10.109.0.0/24", "10.109.1.0/24", "10.109.2.0/24", "10.109.3.0/24", "10.109.4.0/24"];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn node_config(name: &str, me: &str, block: &str, other: (&str, &str), tor: &str) -> String {
    format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [\"{block}\"]\n\
         {FAST_TIMERS}[[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n\
         [[peers]]\nname = \"tor\"\naddress = \"{tor}\"\nremote_as = 65000\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [graceful_restart]\nrestart_time = 4\n",
        other.0, other.1
    )
}

/// `proto bird` routes that are not our own blackholes: what BGP taught the node.
fn learned(ns: &Netns) -> Vec<String> {
    let mut v: Vec<String> = bird_routes(ns, false)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["type"] != "blackhole")
        .filter_map(|r| r["dst"].as_str().map(Into::into))
        .collect();
    v.sort();
    v
}

fn wait_learned(n: &Node, want: &[String], frr: &Frr, t: Duration) {
    let mut got = Vec::new();
    let r = wait_until(t, &format!("{} learned routes = {want:?}", n.name), || {
        got = learned(&n.ns);
        Ok(got == want)
    });
    if let Err(e) = r {
        panic!("{e}\ngot {got:?}\n{}\n{}\n--- log ---\n{}", dump(&n.ns), frr.dump_state(), n.log());
    }
}

fn frr_blocks(frr: &Frr) -> Vec<String> {
    let mut v: Vec<String> = frr
        .routes()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.prefix.to_string())
        .filter(|p| p.starts_with("10.244."))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn wait_frr_blocks(frr: &Frr, want: &[&str], t: Duration) {
    let r = wait_until(t, &format!("FRR holds exactly {want:?}"), || Ok(frr_blocks(frr) == want));
    if let Err(e) = r {
        panic!("{e}\n{}", frr.dump_state());
    }
}

/// Nodes a (block 10.244.1.0/26) and b (10.244.2.0/26) at `NET.1` and
/// `NET.2`, the ToR's namespace at `NET.254`, on one LAN; both nodes
/// started. The `Lan` is returned to keep the bridge up.
fn two_nodes_and_tor(tag: &str, lan_name: &str, net: &str) -> (Workdir, Lan, Node, Node, Netns) {
    let wd = Workdir::new(tag).unwrap();
    let mut lan = Lan::new(lan_name, &format!("{net}.0/24"), "").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    let tor = Netns::new("tor").unwrap();
    for n in [&a.ns, &b.ns] {
        let i = lan.attach(n).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    lan.attach_host(&tor, 254).unwrap();
    let (ia, ib, it) = (format!("{net}.1"), format!("{net}.2"), format!("{net}.254"));
    a.write_config(&node_config("a", &ia, "10.244.1.0/26", ("b", &ib), &it));
    b.write_config(&node_config("b", &ib, "10.244.2.0/26", ("a", &ia), &it));
    a.start();
    b.start();
    (wd, lan, a, b, tor)
}

/// The ToR's FRR at `NET.254`: peers with both nodes and originates
/// [`FRR_PREFIXES`].
fn tor_config(net: &str) -> FrrConfig {
    let mut c = FrrConfig::new(65000, ip(&format!("{net}.254")))
        .neighbor(Neighbor::new(ip(&format!("{net}.1")), 64512))
        .neighbor(Neighbor::new(ip(&format!("{net}.2")), 64512));
    for p in FRR_PREFIXES {
        c = c.route(Route::new(p));
    }
    c
}

#[test]
fn link_down_withdraws_link_up_relearns_and_restarted_peers_relearn_everything() {
    let (wd, _lan, mut a, mut b, tor) = two_nodes_and_tor("scen9", "sc9", "10.0.9");
    let frr_cfg = tor_config("10.0.9");
    let frr_dir = wd.subdir("frr").unwrap();
    let mut frr = frr_cfg.clone().start(&tor, &frr_dir).unwrap();

    let with = |block: &str| -> Vec<String> {
        let mut v: Vec<String> = FRR_PREFIXES.iter().map(|s| s.to_string()).collect();
        v.push(block.into());
        v.sort();
        v
    };
    let (a_full, b_full) = (with("10.244.2.0/26"), with("10.244.1.0/26"));

    // 1. Baseline.
    wait_learned(&a, &a_full, &frr, UP);
    wait_learned(&b, &b_full, &frr, UP);
    wait_frr_blocks(&frr, &["10.244.1.0/26", "10.244.2.0/26"], UP);

    // 2. b's link down: withdrawn everywhere within the hold time.
    b.ns.ip(&["link", "set", "eth0", "down"]).unwrap();
    wait_no_bird_route(&a.ns, "10.244.2.0/26", HOLD).unwrap_or_else(|e| panic!("{e}\n{}", a.log()));
    wait_frr_blocks(&frr, &["10.244.1.0/26"], HOLD);
    wait_learned(&b, &[], &frr, HOLD);
    let frr_only: Vec<String> = FRR_PREFIXES.iter().map(|s| s.to_string()).collect();
    wait_learned(&a, &frr_only, &frr, HOLD);

    // 3. Link up: everything relearned, same counts as before.
    b.ns.ip(&["link", "set", "eth0", "up"]).unwrap();
    wait_learned(&a, &a_full, &frr, UP);
    wait_learned(&b, &b_full, &frr, UP);
    wait_frr_blocks(&frr, &["10.244.1.0/26", "10.244.2.0/26"], UP);

    // 4. FRR restarted.
    frr.bgpd().stop(Duration::from_secs(5)).unwrap();
    drop(frr);
    for p in FRR_PREFIXES {
        wait_no_bird_route(&a.ns, p, HOLD).unwrap_or_else(|e| panic!("{e}\n{}", a.log()));
    }
    let frr = frr_cfg.start(&tor, &frr_dir).unwrap();
    wait_learned(&a, &a_full, &frr, UP);
    wait_learned(&b, &b_full, &frr, UP);
    wait_frr_blocks(&frr, &["10.244.1.0/26", "10.244.2.0/26"], UP);

    // 5. calico-bgpd on b restarted.
    assert!(b.stop().success());
    b.start();
    wait_learned(&b, &b_full, &frr, UP);
    wait_learned(&a, &a_full, &frr, UP);
    wait_bird_route(&a.ns, "10.244.2.0/26", UP).unwrap();
    wait_frr_blocks(&frr, &["10.244.1.0/26", "10.244.2.0/26"], UP);
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}

/// A flap shorter than the hold time: the sessions survive, but the kernel
/// drops every route through eth0 while it is down, so the daemon must put
/// them back once the link is up (checks 2-3 of the module doc, short form).
#[test]
fn short_link_flap_keeps_sessions_and_the_daemon_reinstalls_routes_the_kernel_dropped() {
    let (wd, _lan, mut a, mut b, tor) = two_nodes_and_tor("scen9-flap", "sc9f", "10.0.19");
    let frr =
        tor_config("10.0.19").without_kernel().start(&tor, &wd.subdir("frr").unwrap()).unwrap();
    let mut b_full: Vec<String> = FRR_PREFIXES.iter().map(|s| s.to_string()).collect();
    b_full.push("10.244.1.0/26".into());
    b_full.sort();
    wait_learned(&b, &b_full, &frr, UP);
    let downs = b.count(" down ");

    b.ns.ip(&["link", "set", "eth0", "down"]).unwrap();
    // The kernel removes routes through a downed link by itself.
    wait_learned(&b, &[], &frr, Duration::from_secs(5));
    b.ns.ip(&["link", "set", "eth0", "up"]).unwrap();
    wait_learned(&b, &b_full, &frr, Duration::from_secs(8));
    assert_eq!(b.count(" down "), downs, "no session went down:\n{}", b.log());
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}
