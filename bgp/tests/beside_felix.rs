//! calico-bgpd beside Felix, with default settings: it programs what Calico's
//! BIRD programs and never touches what Felix owns.
//!
//! ```text
//!  LAN 10.0.61.0/24
//!  +--------------------------------+      +---------------------------+
//!  | a .1  calico-bgpd (defaults)   |      | b .2  calico-bgpd         |
//!  |  Felix stand-in:               |<---->|  blocks 10.244.2.0/26     |
//!  |   vxlan.calico (its own MAC,   | iBGP |         10.245.2.0/26     |
//!  |     MTU), neighbour + FDB,     |      |         10.246.2.0/26     |
//!  |     VXLAN route, proto 80      |      +---------------------------+
//!  |   tunl0 (a bridge stand-in)    |
//!  |   /32 dev caliXXXX, proto 80   |
//!  +--------------------------------+
//!  pools: 10.244/16 no encapsulation, 10.245/16 VXLAN Always, 10.246/16 IPIP Always
//! ```
//!
//! This kernel has no `ipip` module ("Unknown device type"): a bridge named
//! `tunl0` stands in for Felix's device; it carries the route shape only.
//!
//! Checks on a: b's no-encap block `via 10.0.61.2 dev eth0 proto bird`, b's IPIP
//! block `via 10.0.61.2 dev tunl0 proto bird onlink`, nothing of ours for the
//! VXLAN block (learned, in the RIB), and the stand-in's devices (existence, MAC,
//! MTU, kind), neighbour and FDB entries and proto-80 routes are the same before
//! and after; `ip monitor link neigh route` saw no change to any of them.

mod daemon_common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{dump, flags, rename_to_eth0, wait_bird_route};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(30);

/// The MAC Felix gave its `vxlan.calico` (random, locally administered): not
/// the `02:cb:…` the daemon derives when it manages VXLAN itself.
const FELIX_MAC: &str = "66:0f:1c:2d:3e:4f";

fn node_config(name: &str, me: &str, blocks: &[&str], other: (&str, &str)) -> String {
    let blocks: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
    format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [{}]\n\
         {FAST_TIMERS}[[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[ip_pools]]\ncidr = \"10.245.0.0/16\"\nvxlan_mode = \"Always\"\n\
         [[ip_pools]]\ncidr = \"10.246.0.0/16\"\nipip_mode = \"Always\"\n",
        blocks.join(", "),
        other.0,
        other.1
    )
}

/// What Felix does on a VXLAN + IPIP node, by hand: its devices, its VTEP entries
/// for b (tunnel address 10.245.2.0), its VXLAN route and a workload route.
fn felix_stand_in(ns: &Netns) {
    let ip = |args: &[&str]| ns.ip(args).unwrap_or_else(|e| panic!("ip {args:?}: {e}"));
    ip(&[
        "link",
        "add",
        "vxlan.calico",
        "type",
        "vxlan",
        "id",
        "4096",
        "local",
        "10.0.61.1",
        "dev",
        "eth0",
        "dstport",
        "4789",
        "nolearning",
    ]);
    ip(&["link", "set", "vxlan.calico", "address", FELIX_MAC, "mtu", "1410", "up"]);
    ip(&["addr", "add", "10.245.1.0/32", "dev", "vxlan.calico"]);
    ip(&["link", "add", "tunl0", "type", "bridge"]);
    ip(&["link", "set", "tunl0", "mtu", "1440", "up"]);
    ip(&["link", "add", "cali1234abcd", "type", "veth", "peer", "name", "cali1234p"]);
    ip(&["link", "set", "cali1234abcd", "up"]);
    ip(&["link", "set", "cali1234p", "up"]);
    ip(&["route", "add", "10.244.1.5/32", "dev", "cali1234abcd", "scope", "link", "proto", "80"]);
    ip(&[
        "neigh",
        "add",
        "10.245.2.0",
        "lladdr",
        "66:0f:1c:00:00:02",
        "dev",
        "vxlan.calico",
        "nud",
        "permanent",
    ]);
    ns.exec(&[
        "bridge",
        "fdb",
        "add",
        "66:0f:1c:00:00:02",
        "dev",
        "vxlan.calico",
        "dst",
        "10.0.61.2",
        "self",
        "permanent",
    ])
    .unwrap();
    ip(&[
        "route",
        "add",
        "10.245.2.0/26",
        "via",
        "10.245.2.0",
        "dev",
        "vxlan.calico",
        "onlink",
        "proto",
        "80",
    ]);
}

/// Everything of Felix's the daemon must leave alone, as text to compare.
fn felix_state(ns: &Netns) -> String {
    let mut s = String::new();
    for dev in ["vxlan.calico", "tunl0", "cali1234abcd"] {
        let v: Value =
            serde_json::from_str(&ns.ip(&["-d", "-j", "link", "show", dev]).unwrap()).unwrap();
        let l = &v[0];
        s.push_str(&format!(
            "{dev}: ifindex {} address {} mtu {} kind {} flags {}\n",
            l["ifindex"], l["address"], l["mtu"], l["linkinfo"]["info_kind"], l["flags"]
        ));
    }
    s.push_str(&ns.ip(&["neigh", "show", "dev", "vxlan.calico"]).unwrap());
    s.push_str(&ns.exec(&["bridge", "fdb", "show", "dev", "vxlan.calico"]).unwrap());
    s.push_str(&ns.ip(&["route", "show", "proto", "80"]).unwrap());
    s
}

/// `ip monitor link neigh route` in `ns`, writing to `out`; returns once it
/// is listening (it has seen a marker route come and go).
fn monitor(ns: &Netns, out: &std::path::Path) -> Child {
    let file = std::fs::File::create(out).unwrap();
    let child = Command::new("ip")
        .args(["-n", ns.name(), "monitor", "link", "neigh", "route"])
        .stdout(Stdio::from(file))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(5), "ip monitor listening", || {
        // A fresh add each time: replacing an identical route notifies nothing.
        let _ = ns.ip(&["route", "del", "192.0.2.99/32", "dev", "eth0", "proto", "99"]);
        ns.ip(&["route", "add", "192.0.2.99/32", "dev", "eth0", "proto", "99"])?;
        Ok(std::fs::read_to_string(out).unwrap_or_default().contains("192.0.2.99"))
    })
    .unwrap();
    ns.ip(&["route", "del", "192.0.2.99/32", "dev", "eth0", "proto", "99"]).unwrap();
    child
}

#[test]
fn with_defaults_ipip_and_no_encap_routes_go_in_and_felixs_devices_and_routes_are_untouched() {
    let wd = Workdir::new("bgpd-felix").unwrap();
    let mut lan = Lan::new("bfx", "10.0.61.0/24", "").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    for n in [&a.ns, &b.ns] {
        let i = lan.attach(n).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    let (ia, ib) = ("10.0.61.1", "10.0.61.2");
    felix_stand_in(&a.ns);
    a.write_config(&node_config("a", ia, &[], ("b", ib)));
    b.write_config(&node_config(
        "b",
        ib,
        &["10.244.2.0/26", "10.245.2.0/26", "10.246.2.0/26"],
        ("a", ia),
    ));
    a.ns.wait_reachable(ib.parse().unwrap(), UP).unwrap();

    let before = felix_state(&a.ns);
    let log = wd.path().join("a-monitor.txt");
    let mut mon = monitor(&a.ns, &log);
    a.start();
    b.start();
    let fail = |e: &dyn std::fmt::Display, a: &Node, b: &Node| -> String {
        format!(
            "{e}\n{}\n--- log of a ---\n{}\n--- log of b ---\n{}",
            dump(&a.ns),
            a.log(),
            b.log()
        )
    };

    // The no-encap block: plain, over the uplink.
    let r = wait_bird_route(&a.ns, "10.244.2.0/26", UP)
        .unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ib), Some("eth0")), "{r}");
    assert!(!flags(&r).contains(&"onlink".to_owned()), "{r}");
    // The IPIP block: onlink over Felix's tunl0.
    let r = wait_bird_route(&a.ns, "10.246.2.0/26", UP)
        .unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ib), Some("tunl0")), "{r}");
    assert!(flags(&r).contains(&"onlink".to_owned()), "{r}");

    // The VXLAN block is learned, but the FIB wants exactly the other two.
    wait_until(UP, "10.245.2.0/26 in a's RIB", || {
        let out = a.ctl(&["-o", "json", "show", "routes", "10.245.2.0/26"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(v["data"].as_array().is_some_and(|d| !d.is_empty()))
    })
    .unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    let mut fib = Value::Null;
    let settled = wait_until(UP, "show fib settles", || {
        let s = a.ctl(&["-o", "json", "show", "fib"]);
        fib = serde_json::from_slice(&s.stdout).unwrap_or(Value::Null);
        let d = &fib["data"];
        let mut wanted: Vec<&str> = d["wanted"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["prefix"].as_str())
            .collect();
        wanted.sort_unstable();
        Ok(wanted == ["10.244.2.0/26", "10.246.2.0/26"]
            && d["wanted"] == d["installed"]
            && d["diff"].as_array().is_some_and(Vec::is_empty))
    });
    assert!(settled.is_ok(), "{fib:#}\n{}", fail(&"show fib", &a, &b));
    let ours = a.ns.ip(&["route", "show", "proto", "bird"]).unwrap();
    assert!(!ours.contains("10.245."), "a VXLAN route of ours: {ours}");
    assert!(!ours.contains("vxlan.calico"), "{ours}");

    // Felix's devices, entries and routes: the same, and never written to.
    let after = felix_state(&a.ns);
    assert_eq!(before, after, "Felix's state changed");
    assert!(after.contains(FELIX_MAC) && after.contains("mtu 1410"), "{after}");
    let _ = mon.kill();
    let _ = mon.wait();
    let seen = std::fs::read_to_string(&log).unwrap();
    let touched: Vec<&str> = seen
        .lines()
        .filter(|l| {
            let felix = l.contains("vxlan.calico") || l.contains("tunl0") || l.contains("cali1234");
            // Our IPIP route through tunl0 is the one expected change there; the
            // kernel adds link-local routes of its own once the stand-in's devices
            // are up (IPv6 autoconfiguration), which is not the daemon's doing.
            let ours = l.contains("10.246.2.0/26") && l.contains("proto bird");
            felix && !ours && !l.contains("proto kernel")
        })
        .collect();
    assert!(touched.is_empty(), "changes to Felix's devices or routes:\n{}", touched.join("\n"));
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}
