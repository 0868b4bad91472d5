//! calico-bgpd with the RIB and the FIB wired in, in network namespaces:
//! what each node's kernel holds (`ip -j route show proto bird`), pods on
//! different nodes pinging each other, a calico-bgpd route reflector with
//! calico-bgpd and FRR clients (programming its own kernel like any node), eBGP to an FRR ToR whose zebra installs our
//! blocks, and a killed peer's routes kept for its restart time, then leaving
//! the kernel.

mod daemon_common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use daemon_common::{FAST_TIMERS, Node, as_eth0, bird_routes};
use interop_tests::peers::frr::FrrConfig;
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Lan, Netns, Pod, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(25);

fn route_of<'a>(routes: &'a [Value], dst: &str) -> Option<&'a Value> {
    routes.iter().find(|r| r["dst"] == dst)
}

fn wait_route(ns: &Netns, dst: &str) -> Value {
    let mut found = None;
    let r = wait_until(UP, &format!("{dst} proto bird in {}", ns.name()), || {
        found = route_of(&bird_routes(ns), dst).cloned();
        Ok(found.is_some())
    });
    if let Err(e) = r {
        panic!("{e}\n{}", ns.ip(&["route", "show", "table", "all"]).unwrap_or_default());
    }
    found.unwrap()
}

fn flags(r: &Value) -> Vec<String> {
    r["flags"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(Into::into)).collect()
}

/// A node config: `me` on a /24, own blocks, two pools (10.244/16 without
/// encapsulation, 10.245/16 VXLAN Always), extra text (peers, mesh, RR).
/// These nodes have no Felix: `manage_vxlan` opts in to the daemon's own
/// VXLAN datapath (device, derived MAC, VTEP entries, routes).
fn node_config(name: &str, me: &str, blocks: &[&str], extra: &str) -> String {
    let blocks: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
    format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [{}]\n\
         {FAST_TIMERS}{extra}\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[ip_pools]]\ncidr = \"10.245.0.0/16\"\nvxlan_mode = \"Always\"\n\
         [fib]\nmanage_vxlan = true\n",
        blocks.join(", ")
    )
}

fn mesh(others: &[(&str, &str)]) -> String {
    others
        .iter()
        .map(|(n, ip)| format!("[[mesh.nodes]]\nname = \"{n}\"\nipv4 = \"{ip}\"\n"))
        .collect()
}

/// `show routes PREFIX -o json` once it lists a path (the snapshot follows
/// the RIB within a publication interval).
fn wait_show(n: &Node, prefix: &str) -> Value {
    let mut v = Value::Null;
    wait_until(UP, &format!("{prefix} in {}'s show routes", n.name), || {
        let out = n.ctl(&["-o", "json", "show", "routes", prefix]);
        v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(v["data"].as_array().is_some_and(|d| !d.is_empty()))
    })
    .unwrap();
    v
}

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn mesh_of_three_installs_every_block_with_its_pool_shape_and_pods_ping_across_nodes() {
    let wd = Workdir::new("bgpd-fib-mesh").unwrap();
    let mut lan = Lan::new("fibm", "10.0.1.0/24", "").unwrap();
    let (mut a, mut b, mut c) = (Node::new(&wd, "a"), Node::new(&wd, "b"), Node::new(&wd, "c"));
    for n in [&a, &b, &c] {
        let i = lan.attach(&n.ns).unwrap();
        as_eth0(&n.ns, &i.name);
    }
    let (ia, ib, ic) = ("10.0.1.1", "10.0.1.2", "10.0.1.3");
    a.write_config(&node_config("a", ia, &["10.244.1.0/26"], &mesh(&[("b", ib), ("c", ic)])));
    b.write_config(&node_config("b", ib, &["10.244.2.0/26"], &mesh(&[("a", ia), ("c", ic)])));
    // c's block is in the VXLAN pool.
    c.write_config(&node_config("c", ic, &["10.245.3.0/26"], &mesh(&[("a", ia), ("b", ib)])));
    for n in [&mut a, &mut b, &mut c] {
        n.start();
    }

    for (n, me, own, others) in [
        (&a, ia, "10.244.1.0/26", [("10.244.2.0/26", ib), ("10.245.3.0/26", ic)]),
        (&b, ib, "10.244.2.0/26", [("10.244.1.0/26", ia), ("10.245.3.0/26", ic)]),
        (&c, ic, "10.245.3.0/26", [("10.244.1.0/26", ia), ("10.244.2.0/26", ib)]),
    ] {
        let _ = me;
        for (block, via) in others {
            let r = wait_route(&n.ns, block);
            assert_eq!(r["gateway"], via, "{}: {r}", n.name);
            if block.starts_with("10.245.") {
                // VXLAN pool: onlink via the remote node over vxlan.calico.
                assert_eq!(r["dev"], "vxlan.calico", "{}: {r}", n.name);
                assert!(flags(&r).contains(&"onlink".to_owned()), "{}: {r}", n.name);
            } else {
                // No encapsulation: via the node's LAN address on eth0.
                assert_eq!(r["dev"], "eth0", "{}: {r}", n.name);
                assert!(!flags(&r).contains(&"onlink".to_owned()), "{}: {r}", n.name);
            }
        }
        let hole = wait_route(&n.ns, own);
        assert_eq!(hole["type"], "blackhole", "{}: own block {hole}", n.name);
    }
    // Every node learned every other node's blocks, with the attributes an
    // iBGP mesh carries (empty AS_PATH, LOCAL_PREF 100, the node as next hop).
    for (block, via) in [("10.244.2.0/26", ib), ("10.245.3.0/26", ic)] {
        let v = wait_show(&a, block);
        let p = &v["data"][0]["paths"][0];
        assert_eq!(p["best"], true, "{v:#}");
        assert_eq!(p["local_pref"], 100, "{v:#}");
        assert_eq!(p["as_path"].as_array().map(Vec::len), Some(0), "{v:#}");
        assert_eq!(p["next_hop"][0], via, "{v:#}");
    }

    let pa = Pod::new(&a.ns, "pa", ip4("10.244.1.5"), None).unwrap();
    let pb = Pod::new(&b.ns, "pb", ip4("10.244.2.5"), None).unwrap();
    let pc = Pod::new(&c.ns, "pc", ip4("10.245.3.5"), None).unwrap();
    let t = Duration::from_secs(10);
    pa.wait_ping(IpAddr::V4(pb.ipv4()), t).unwrap();
    pb.wait_ping(IpAddr::V4(pa.ipv4()), t).unwrap();
    pa.wait_ping(IpAddr::V4(pc.ipv4()), t).unwrap();
    pc.wait_ping(IpAddr::V4(pb.ipv4()), t).unwrap();
    // An unallocated address in a's block is dropped by the blackhole.
    assert!(!pb.ping(IpAddr::V4(ip4("10.244.1.50"))).unwrap());

    // show fib: wanted = installed (two remote blocks and our blackhole),
    // no diff, once the FIB's copy has been refreshed.
    let mut fib = Value::Null;
    let ok = wait_until(UP, "show fib settles", || {
        let s = a.ctl(&["-o", "json", "show", "fib"]);
        fib = serde_json::from_slice(&s.stdout).unwrap_or(Value::Null);
        let d = &fib["data"];
        Ok(d["wanted"].as_array().is_some_and(|w| w.len() == 3)
            && d["wanted"] == d["installed"]
            && d["diff"].as_array().is_some_and(Vec::is_empty))
    });
    assert!(ok.is_ok(), "{fib:#}");
    for n in [&mut a, &mut b, &mut c] {
        assert!(n.stop().success());
    }
}

#[test]
fn reflector_gives_clients_each_others_blocks_with_originator_id_and_cluster_list_and_programs_them()
 {
    let wd = Workdir::new("bgpd-fib-rr").unwrap();
    let mut lan = Lan::new("fibr", "10.0.2.0/24", "").unwrap();
    let (mut rr, mut a, mut b) = (Node::new(&wd, "rr"), Node::new(&wd, "a"), Node::new(&wd, "b"));
    let fns = Netns::new("frr").unwrap();
    for n in [&rr.ns, &a.ns, &b.ns, &fns] {
        let i = lan.attach(n).unwrap();
        as_eth0(n, &i.name);
    }
    let (irr, ia, ib, ifrr) = ("10.0.2.1", "10.0.2.2", "10.0.2.3", "10.0.2.4");
    let client = |name: &str, ip: &str| {
        format!(
            "[[peers]]\nname = \"{name}\"\naddress = \"{ip}\"\nremote_as = 64512\nrr_client = true\n"
        )
    };
    rr.write_config(&node_config(
        "rr",
        irr,
        &[],
        &format!(
            "[mesh]\nenabled = false\n[route_reflector]\nenabled = true\ncluster_id = \"244.0.0.1\"\n{}{}{}",
            client("a", ia),
            client("b", ib),
            client("frr", ifrr)
        ),
    ));
    let to_rr = format!(
        "[mesh]\nenabled = false\n[[peers]]\nname = \"rr\"\naddress = \"{irr}\"\nremote_as = 64512\n"
    );
    a.write_config(&node_config("a", ia, &["10.244.1.0/26"], &to_rr));
    b.write_config(&node_config("b", ib, &["10.244.2.0/26"], &to_rr));
    rr.start();
    a.start();
    b.start();
    let frr = FrrConfig::new(64512, ifrr.parse().unwrap())
        .without_kernel()
        .neighbor(Neighbor::new(irr.parse().unwrap(), 64512))
        .start(&fns, &wd.subdir("frr").unwrap())
        .unwrap();

    // a's view of b's block: reflected, so ORIGINATOR_ID = b's router id
    // (its address) and CLUSTER_LIST = [the reflector's cluster id].
    wait_route(&a.ns, "10.244.2.0/26");
    let v = wait_show(&a, "10.244.2.0/26");
    let text = v.to_string();
    assert!(text.contains(&format!("\"originator_id\":\"{ib}\"")), "{v:#}");
    assert!(text.contains("\"cluster_list\":[\"244.0.0.1\"]"), "{v:#}");
    // b installs a's block via a directly: the reflector kept the next hop.
    let r = wait_route(&b.ns, "10.244.1.0/26");
    assert_eq!(r["gateway"], ia, "{r}");

    // FRR, a plain client, sees both attributes.
    frr.wait_route("10.244.1.0/26", UP).unwrap();
    let j = frr.vtysh_json("show bgp ipv4 unicast 10.244.1.0/26 json").unwrap();
    let t = j.to_string();
    assert!(t.contains("originatorId") && t.contains(ia), "{j:#}");
    assert!(t.contains("clusterList") && t.contains("244.0.0.1"), "{j:#}");

    // A Calico reflector is a node like any other: it programs the routes
    // it learns (only `fib.enabled = false` would keep it out of the kernel).
    for (block, via) in [("10.244.1.0/26", ia), ("10.244.2.0/26", ib)] {
        let r = wait_route(&rr.ns, block);
        assert_eq!(r["gateway"], via, "{r}");
    }
    for n in [&mut rr, &mut a, &mut b] {
        assert!(n.stop().success());
    }
}

#[test]
fn ebgp_tor_installs_our_blocks_with_zebra_and_we_install_its_prefixes_as_proto_bird() {
    let wd = Workdir::new("bgpd-fib-tor").unwrap();
    let mut lan = Lan::new("fibt", "10.0.3.0/24", "").unwrap();
    let mut me = Node::new(&wd, "calico");
    let tor = Netns::new("tor").unwrap();
    let i = lan.attach(&me.ns).unwrap();
    as_eth0(&me.ns, &i.name);
    lan.attach_host(&tor, 254).unwrap();
    let (ours, tor_ip) = ("10.0.3.1", "10.0.3.254");
    me.write_config(&node_config(
        "calico",
        ours,
        &["10.244.1.0/26"],
        &format!("[mesh]\nenabled = false\n[[peers]]\nname = \"tor\"\naddress = \"{tor_ip}\"\nremote_as = 65000\n"),
    ));
    me.start();
    let frr = FrrConfig::new(65000, tor_ip.parse().unwrap())
        .neighbor(Neighbor::new(ours.parse().unwrap(), 64512))
        .route(Route::new("10.101.0.0/24"))
        .start(&tor, &wd.subdir("frr").unwrap())
        .unwrap();
    frr.wait_established(ours.parse().unwrap(), UP).unwrap();

    let r = wait_route(&me.ns, "10.101.0.0/24");
    assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(tor_ip), Some("eth0")), "{r}");
    wait_until(UP, "zebra installs our block", || {
        let out = tor.ip(&["-j", "route", "show", "10.244.1.0/26"])?;
        Ok(out.contains(ours))
    })
    .unwrap();
    let out = tor.ip(&["route", "show", "10.244.1.0/26"]).unwrap();
    assert!(out.contains("proto bgp") && out.contains(&format!("via {ours}")), "{out}");
    assert!(me.stop().success());
}

#[test]
fn killed_peers_routes_stay_for_its_restart_time_then_leave_and_ours_persist() {
    let wd = Workdir::new("bgpd-fib-kill").unwrap();
    let mut lan = Lan::new("fibk", "10.0.4.0/24", "").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    for n in [&a, &b] {
        let i = lan.attach(&n.ns).unwrap();
        as_eth0(&n.ns, &i.name);
    }
    let (ia, ib) = ("10.0.4.1", "10.0.4.2");
    // A short restart time: a keeps b's routes (graceful restart helper)
    // this long after b dies, then sweeps them.
    let gr = "[graceful_restart]\nrestart_time = 4\n";
    a.write_config(&node_config(
        "a",
        ia,
        &["10.244.1.0/26"],
        &format!("{gr}{}", mesh(&[("b", ib)])),
    ));
    b.write_config(&node_config(
        "b",
        ib,
        &["10.244.2.0/26"],
        &format!("{gr}{}", mesh(&[("a", ia)])),
    ));
    a.start();
    b.start();
    wait_route(&a.ns, "10.244.2.0/26");
    wait_route(&b.ns, "10.244.1.0/26");

    b.signal("KILL");
    let killed = Instant::now();
    let _ = b.stop();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        route_of(&bird_routes(&a.ns), "10.244.2.0/26").is_some(),
        "b's block kept stale while b restarts: {:?}",
        bird_routes(&a.ns)
    );
    wait_until(Duration::from_secs(9 + 2), "b's block leaves a's kernel", || {
        Ok(route_of(&bird_routes(&a.ns), "10.244.2.0/26").is_none())
    })
    .unwrap();
    assert!(
        killed.elapsed() < Duration::from_secs(9),
        "restart time is 4 s: {:?}",
        killed.elapsed()
    );
    // b's routes persist in its kernel after it died (BIRD's `persist`).
    let held = bird_routes(&b.ns);
    assert!(route_of(&held, "10.244.1.0/26").is_some(), "{held:?}");
    assert!(route_of(&held, "10.244.2.0/26").is_some(), "{held:?}");
    assert!(a.stop().success());
}
