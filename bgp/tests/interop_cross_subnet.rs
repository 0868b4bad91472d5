//! Scenario 5 (issue 7): CrossSubnet. Nodes in two subnets joined by a router;
//! a VXLAN CrossSubnet pool goes direct inside a subnet and over `vxlan.calico`
//! across subnets; an IPIP CrossSubnet pool gets the same split onto `tunl0`.
//!
//! ```text
//!        LAN A 10.0.51.0/24                         LAN B 10.0.52.0/24
//!  +-----------+  +-----------+    +----------+    +-----------+
//!  | a1 .1     |  | a2 .2     |    |  router  |    | b1 .1     |
//!  | 10.244.1/26| | 10.244.2/26|   | .254  .254|   | 10.244.3/26|
//!  |           |  | 10.246.2/26|   | fwd on   |    | 10.246.3/26|
//!  +-----+-----+  +-----+-----+    +--+----+--+    +-----+-----+
//!        +--------------+-------------+    +-------------+
//!  iBGP mesh a1-a2-b1 (b1 is one routed hop away from a1 and a2)
//!  pool 10.244.0.0/16 vxlan_mode CrossSubnet; pool 10.246.0.0/16 ipip_mode CrossSubnet
//! ```
//!
//! This kernel has no `ipip` module ("Unknown device type"), so the IPIP pool is
//! checked for its route shape only: a bridge named `tunl0` stands in for the
//! tunnel device (the daemon reuses an existing `tunl0`), and no packet crosses it.
//! These nodes have no Felix: `[fib] manage_vxlan = true` opts in to the daemon's
//! own VXLAN datapath (device, derived MAC, neighbour and FDB entries, routes).
//!
//! Checks:
//! 1. a1 installs a2's VXLAN-pool block direct: `via 10.0.51.2 dev eth0 proto bird`,
//!    no onlink.
//! 2. a1 installs b1's VXLAN-pool block over the tunnel: `via 10.0.52.1 dev
//!    vxlan.calico onlink`, with a permanent neighbour and FDB entry for 10.0.52.1
//!    carrying b1's VTEP MAC; b1 has the mirror route towards a1 and a2.
//! 3. Pods ping both ways: a1<->a2 (direct) and a1<->b1, a2<->b1 (VXLAN).
//! 4. IPIP shape on a1: a2's IPIP-pool block `via 10.0.51.2 dev eth0`, b1's
//!    `via 10.0.52.1 dev tunl0 onlink`.

mod daemon_common;

use std::net::IpAddr;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{dump, flags, rename_to_eth0, wait_bird_route};
use interop_tests::{Lan, Netns, Pod, Workdir};

const UP: Duration = Duration::from_secs(30);

fn node_config(name: &str, me: &str, blocks: &[&str], others: &[(&str, &str)]) -> String {
    let blocks: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [{}]\n\
         {FAST_TIMERS}[[ip_pools]]\ncidr = \"10.244.0.0/16\"\nvxlan_mode = \"CrossSubnet\"\n\
         [[ip_pools]]\ncidr = \"10.246.0.0/16\"\nipip_mode = \"CrossSubnet\"\n\
         [fib]\nmanage_vxlan = true\n",
        blocks.join(", ")
    );
    for (n, ip) in others {
        s.push_str(&format!("[[mesh.nodes]]\nname = \"{n}\"\nipv4 = \"{ip}\"\n"));
    }
    s
}

/// `02:cb:` + the IPv4 octets: the VTEP MAC the daemon derives from a node address.
fn vtep_mac(addr: &str) -> String {
    let o: Vec<String> =
        addr.split('.').map(|x| format!("{:02x}", x.parse::<u8>().unwrap())).collect();
    format!("02:cb:{}", o.join(":"))
}

#[test]
fn cross_subnet_goes_direct_inside_a_subnet_and_over_vxlan_across_and_pods_ping() {
    let wd = Workdir::new("scen5").unwrap();
    let mut lan_a = Lan::new("sc5a", "10.0.51.0/24", "").unwrap();
    let mut lan_b = Lan::new("sc5b", "10.0.52.0/24", "").unwrap();
    let (mut a1, mut a2, mut b1) =
        (Node::new(&wd, "a1"), Node::new(&wd, "a2"), Node::new(&wd, "b1"));
    let router = Netns::new("rt").unwrap();
    for (on_a, n, gw) in [
        (true, &a1.ns, "10.0.51.254"),
        (true, &a2.ns, "10.0.51.254"),
        (false, &b1.ns, "10.0.52.254"),
    ] {
        let lan = if on_a { &mut lan_a } else { &mut lan_b };
        let i = lan.attach(n).unwrap();
        rename_to_eth0(n, &i).unwrap();
        n.add_route("default", gw.parse().unwrap()).unwrap();
    }
    lan_a.attach_host(&router, 254).unwrap();
    lan_b.attach_host(&router, 254).unwrap();
    router.enable_forwarding().unwrap();
    // Felix's tunl0, a stand-in (see the module doc): any link type will do for the
    // shape. Felix creates it up; the daemon never touches it.
    for n in [&a1.ns, &b1.ns] {
        n.ip(&["link", "add", "tunl0", "type", "bridge"]).unwrap();
        n.ip(&["link", "set", "tunl0", "up"]).unwrap();
    }

    let (ia1, ia2, ib1) = ("10.0.51.1", "10.0.51.2", "10.0.52.1");
    a1.write_config(&node_config("a1", ia1, &["10.244.1.0/26"], &[("a2", ia2), ("b1", ib1)]));
    a2.write_config(&node_config(
        "a2",
        ia2,
        &["10.244.2.0/26", "10.246.2.0/26"],
        &[("a1", ia1), ("b1", ib1)],
    ));
    b1.write_config(&node_config(
        "b1",
        ib1,
        &["10.244.3.0/26", "10.246.3.0/26"],
        &[("a1", ia1), ("a2", ia2)],
    ));
    a1.ns.wait_reachable(ib1.parse().unwrap(), UP).unwrap();
    for n in [&mut a1, &mut a2, &mut b1] {
        n.start();
    }
    let fail = |e: &dyn std::fmt::Display, nodes: [&Node; 3]| -> String {
        let mut s = format!("{e}\n");
        for n in nodes {
            s.push_str(&format!("{}\n--- log of {} ---\n{}\n", dump(&n.ns), n.name, n.log()));
        }
        s
    };

    // 1. Same subnet: direct.
    let r = wait_bird_route(&a1.ns, "10.244.2.0/26", UP)
        .unwrap_or_else(|e| panic!("{}", fail(&e, [&a1, &a2, &b1])));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ia2), Some("eth0")), "{r}");
    assert!(!flags(&r).contains(&"onlink".to_owned()), "{r}");

    // 2. Across subnets: vxlan.calico onlink, with the VTEP's neighbour and FDB entries.
    for (n, block, via) in [
        (&a1, "10.244.3.0/26", ib1),
        (&a2, "10.244.3.0/26", ib1),
        (&b1, "10.244.1.0/26", ia1),
        (&b1, "10.244.2.0/26", ia2),
    ] {
        let r = wait_bird_route(&n.ns, block, UP)
            .unwrap_or_else(|e| panic!("{}", fail(&e, [&a1, &a2, &b1])));
        assert_eq!(
            (r["gateway"].as_str(), r["dev"].as_str()),
            (Some(via), Some("vxlan.calico")),
            "{}: {r}",
            n.name
        );
        assert!(flags(&r).contains(&"onlink".to_owned()), "{}: {r}", n.name);
        let mac = vtep_mac(via);
        let neigh = n.ns.ip(&["neigh", "show", "dev", "vxlan.calico"]).unwrap();
        assert!(neigh.contains(&format!("{via} lladdr {mac} PERMANENT")), "{}: {neigh}", n.name);
        let fdb = n.ns.exec(&["bridge", "fdb", "show", "dev", "vxlan.calico"]).unwrap();
        assert!(fdb.contains(&format!("{mac} dst {via}")), "{}: {fdb}", n.name);
    }
    // b1's own VTEP carries the MAC the others derived for it.
    let link = b1.ns.ip(&["link", "show", "vxlan.calico"]).unwrap();
    assert!(link.contains(&vtep_mac(ib1)), "{link}");

    // 3. Pods ping both ways, direct and through VXLAN.
    let p1 = Pod::new(&a1.ns, "p1", "10.244.1.5".parse().unwrap(), None).unwrap();
    let p2 = Pod::new(&a2.ns, "p2", "10.244.2.5".parse().unwrap(), None).unwrap();
    let p3 = Pod::new(&b1.ns, "p3", "10.244.3.5".parse().unwrap(), None).unwrap();
    let t = Duration::from_secs(15);
    for (from, to) in [(&p1, &p2), (&p2, &p1), (&p1, &p3), (&p3, &p1), (&p2, &p3), (&p3, &p2)] {
        from.wait_ping(IpAddr::V4(to.ipv4()), t)
            .unwrap_or_else(|e| panic!("{}", fail(&e, [&a1, &a2, &b1])));
    }

    // 4. IPIP CrossSubnet shape on the stand-in tunl0.
    let r = wait_bird_route(&a1.ns, "10.246.2.0/26", UP)
        .unwrap_or_else(|e| panic!("{}", fail(&e, [&a1, &a2, &b1])));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ia2), Some("eth0")), "{r}");
    assert!(!flags(&r).contains(&"onlink".to_owned()), "{r}");
    let r = wait_bird_route(&a1.ns, "10.246.3.0/26", UP)
        .unwrap_or_else(|e| panic!("{}", fail(&e, [&a1, &a2, &b1])));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ib1), Some("tunl0")), "{r}");
    assert!(flags(&r).contains(&"onlink".to_owned()), "{r}");
    for n in [&mut a1, &mut a2, &mut b1] {
        assert!(n.stop().success());
    }
}
