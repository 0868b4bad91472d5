//! CrossSubnet. Nodes in two subnets joined by a router;
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
use interop_tests::kroutes::{bird_route, dump, flags, rename_to_eth0, wait_bird_route};
use interop_tests::{Lan, Netns, Pod, Workdir, wait_until};

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

fn ipip_node(name: &str, me: &str, blocks: &[&str], others: &[(&str, &str)]) -> String {
    let blocks: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}\"\nblocks = [{}]\n\
         {FAST_TIMERS}[[ip_pools]]\ncidr = \"10.246.0.0/16\"\nipip_mode = \"CrossSubnet\"\n",
        blocks.join(", ")
    );
    for (n, ip) in others {
        s.push_str(&format!("[[mesh.nodes]]\nname = \"{n}\"\nipv4 = \"{ip}\"\n"));
    }
    s
}

/// The `N prefix(es) re-decided` counts of the FIB's context changes in `log`.
fn redecided(log: &str) -> Vec<usize> {
    log.lines()
        .filter_map(|l| {
            l.split(" prefix(es) re-decided").next().filter(|_| l.contains("re-decided"))
        })
        .filter_map(|head| head.rsplit(' ').next()?.parse().ok())
        .collect()
}

/// Calico's rule, not the host's addresses: CrossSubnet compares the next hop with
/// the network of `node.ipv4` (confd's `network_v4`). Node a is configured as
/// 10.0.53.1/25 on a /24 LAN: c (10.0.53.130) shares a's link but not a's node
/// subnet, so c's IPIP block goes over `tunl0`, b's (10.0.53.2) goes direct. Then
/// addresses on kube-ipvs0 and a docker bridge decide no route again; an address on
/// eth0 whose subnet holds c's next hop decides exactly c's block again, which keeps
/// its tunnel.
///
/// ```text
///  LAN 10.0.53.0/24 (one L2 segment)
///  a .1 (node.ipv4 10.0.53.1/25)   b .2 10.246.2.0/26   c .130 10.246.3.0/26
///  pool 10.246.0.0/16 ipip_mode CrossSubnet; tunl0 on a: a bridge stands in
/// ```
#[test]
fn cross_subnet_compares_next_hops_with_node_ipv4s_network_not_the_hosts_addresses() {
    let wd = Workdir::new("xsub-node").unwrap();
    let mut lan = Lan::new("xsn", "10.0.53.0/24", "").unwrap();
    let (mut a, mut b, mut c) = (Node::new(&wd, "a"), Node::new(&wd, "b"), Node::new(&wd, "c"));
    for (n, host) in [(&a.ns, 1), (&b.ns, 2), (&c.ns, 130)] {
        let i = lan.attach_host(n, host).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    a.ns.ip(&["link", "add", "tunl0", "type", "bridge"]).unwrap();
    a.ns.ip(&["link", "set", "tunl0", "up"]).unwrap();
    let (ia, ib, ic) = ("10.0.53.1", "10.0.53.2", "10.0.53.130");
    a.write_config(&ipip_node("a", "10.0.53.1/25", &[], &[("b", ib), ("c", ic)]));
    b.write_config(&ipip_node("b", "10.0.53.2/24", &["10.246.2.0/26"], &[("a", ia), ("c", ic)]));
    c.write_config(&ipip_node("c", "10.0.53.130/24", &["10.246.3.0/26"], &[("a", ia), ("b", ib)]));
    a.ns.wait_reachable(ic.parse().unwrap(), UP).unwrap();
    for n in [&mut a, &mut b, &mut c] {
        n.start();
    }
    let fail = |e: &dyn std::fmt::Display, a: &Node| -> String {
        format!("{e}\n{}\n--- log of a ---\n{}", dump(&a.ns), a.log())
    };

    // b is in a's node subnet: direct. c is on a's link, in no node subnet of a's: tunl0.
    let r =
        wait_bird_route(&a.ns, "10.246.2.0/26", UP).unwrap_or_else(|e| panic!("{}", fail(&e, &a)));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ib), Some("eth0")), "{r}");
    assert!(!flags(&r).contains(&"onlink".to_owned()), "{r}");
    let r =
        wait_bird_route(&a.ns, "10.246.3.0/26", UP).unwrap_or_else(|e| panic!("{}", fail(&e, &a)));
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ic), Some("tunl0")), "{r}");
    assert!(flags(&r).contains(&"onlink".to_owned()), "{r}");

    // Addresses on interfaces that hold no next hop: kube-ipvs0 (a bridge stands in;
    // no dummy module here), one per cluster IP, and a docker bridge.
    let before = redecided(&a.log()).len();
    a.ns.ip(&["link", "add", "kube-ipvs0", "type", "bridge"]).unwrap();
    for i in 1..=20 {
        a.ns.ip(&["addr", "add", &format!("10.96.0.{i}/32"), "dev", "kube-ipvs0"]).unwrap();
    }
    a.ns.ip(&["link", "add", "docker0", "type", "bridge"]).unwrap();
    a.ns.ip(&["addr", "add", "172.17.0.1/16", "dev", "docker0"]).unwrap();
    a.ns.ip(&["link", "set", "docker0", "up"]).unwrap();
    // The marker: 10.0.53.128/25 becomes a connected subnet of eth0, holding c's next hop.
    a.ns.ip(&["addr", "add", "10.0.53.200/25", "dev", "eth0"]).unwrap();
    wait_until(UP, "the marker's re-decision in a's log", || {
        Ok(redecided(&a.log())[before..].contains(&1))
    })
    .unwrap_or_else(|e| panic!("{}", fail(&e, &a)));
    let seen = redecided(&a.log())[before..].to_vec();
    // Events are handled in order: everything before the marker decided nothing again,
    // and kube-ipvs0's twenty addresses were not even looked at.
    assert_eq!(seen.last(), Some(&1), "{seen:?}\n{}", a.log());
    assert!(seen.len() <= 3 && seen[..seen.len() - 1].iter().all(|n| *n == 0), "{seen:?}");
    // c's next hop is now on a connected subnet, but not in a's node subnet: still tunl0.
    let r = bird_route(&a.ns, "10.246.3.0/26").unwrap().unwrap();
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(ic), Some("tunl0")), "{r}");
    for n in [&mut a, &mut b, &mut c] {
        assert!(n.stop().success());
    }
}
