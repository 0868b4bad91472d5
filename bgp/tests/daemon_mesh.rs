//! Two and three calico-bgpd processes in network namespaces peering as a
//! Calico node-to-node mesh: sessions come up, routes flow, a SIGHUP adds a
//! peer without disturbing the others, a killed peer comes back, SIGTERM
//! sends Cease / Administrative Reset (a graceful restart) and exits 0.

mod daemon_common;

use std::time::Duration;

use daemon_common::{Node, mesh_config};
use interop_tests::{Lan, Workdir};

const UP: Duration = Duration::from_secs(20);

#[test]
fn two_daemons_establish_exchange_blocks_and_shut_down_with_cease() {
    let wd = Workdir::new("bgpd-two").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    interop_tests::veth_pair(&a.ns, &b.ns, &["10.0.0.1/24"], &["10.0.0.2/24"]).unwrap();
    a.write_config(&mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[("b", "10.0.0.2")]));
    b.write_config(&mesh_config(
        "b",
        "10.0.0.2",
        &["10.244.2.0/26", "10.244.3.0/26"],
        &[("a", "10.0.0.1")],
    ));
    a.start();
    b.start();

    a.wait_log("peer 10.0.0.2 established", UP);
    b.wait_log("peer 10.0.0.1 established", UP);
    // The mesh rule: "10.0.0.2" > "10.0.0.1", so b dials and a only listens.
    assert!(a.log().contains("passive"), "{}", a.log());
    a.wait_log("End-of-RIB IPv4/unicast, 2 prefixes received", UP);
    b.wait_log("End-of-RIB IPv4/unicast, 1 prefixes received", UP);

    let status = a.stop();
    assert!(status.success(), "{status:?}\n{}", a.log());
    // Graceful restart with the N bit: SIGTERM is a planned restart.
    b.wait_log("calico-bgpd restarting", UP);
}

#[test]
fn three_daemons_survive_a_sighup_that_adds_a_peer() {
    let wd = Workdir::new("bgpd-three").unwrap();
    let mut lan = Lan::new("bgpd3", "10.0.1.0/24", "").unwrap();
    let (mut a, mut b, mut c) = (Node::new(&wd, "a"), Node::new(&wd, "b"), Node::new(&wd, "c"));
    for n in [&a, &b, &c] {
        lan.attach(&n.ns).unwrap();
    }
    let (ia, ib, ic) = ("10.0.1.1", "10.0.1.2", "10.0.1.3");
    a.write_config(&mesh_config("a", ia, &["10.244.1.0/26"], &[("b", ib)]));
    b.write_config(&mesh_config("b", ib, &["10.244.2.0/26"], &[("a", ia)]));
    c.write_config(&mesh_config("c", ic, &["10.244.3.0/26"], &[("a", ia), ("b", ib)]));
    a.start();
    b.start();
    c.start();
    a.wait_log(&format!("peer {ib} established"), UP);
    // c is not yet configured on a: refused, with the hint.
    a.wait_log(
        &format!("refused BGP connection from {ic}: not a configured peer: wrong node IP?"),
        UP,
    );

    a.write_config(&mesh_config("a", ia, &["10.244.1.0/26"], &[("b", ib), ("c", ic)]));
    b.write_config(&mesh_config("b", ib, &["10.244.2.0/26"], &[("a", ia), ("c", ic)]));
    a.signal("HUP");
    b.signal("HUP");
    a.wait_log("reload: 1 added, 0 removed, 0 changed, 1 unchanged", UP);
    for (n, peers) in [(&mut a, [ib, ic]), (&mut b, [ia, ic]), (&mut c, [ia, ib])] {
        for p in peers {
            n.wait_log(&format!("peer {p} established"), UP);
        }
    }
    c.wait_log_n("prefixes received", 2, UP);
    // The a-b session was never touched.
    assert_eq!(a.count(&format!("peer {ib} established")), 1, "{}", a.log());
    assert_eq!(a.count(&format!("peer {ib} down")), 0, "{}", a.log());

    // A bad file is refused by key and the sessions stay up.
    a.write_config("[node]\nname = \"a\"\nipv4 = \"10.0.1.1/24\"\nlocal_as = 0\n");
    a.signal("HUP");
    a.wait_log("reload refused, keeping the running configuration", UP);
    assert!(a.log().contains("node.local_as"), "{}", a.log());
    assert_eq!(a.count(" down "), 0, "{}", a.log());

    // A new listen address set is rebound in place: no session restarts.
    let cfg = mesh_config("a", ia, &["10.244.1.0/26"], &[("b", ib), ("c", ic)]);
    a.write_config(&format!("{cfg}[listen]\naddresses = [\"0.0.0.0\"]\n"));
    a.signal("HUP");
    a.wait_log("reload: 0 added, 0 removed, 0 changed, 2 unchanged, listen addresses changed", UP);
    a.wait_log("no longer listening on [::]:179", UP);
    assert_eq!(a.count(" down "), 0, "{}", a.log());

    // A removed peer is told why (RFC 4486 subcode 3).
    let cfg = mesh_config("a", ia, &["10.244.1.0/26"], &[("b", ib)]);
    a.write_config(&format!("{cfg}[listen]\naddresses = [\"0.0.0.0\"]\n"));
    a.signal("HUP");
    a.wait_log("reload: 0 added, 1 removed, 0 changed, 1 unchanged", UP);
    // Peer De-configured goes out wrapped in Hard Reset (RFC 8538 §3, both
    // sides set the N bit): c drops a's routes rather than keep them stale.
    c.wait_log("received Cease/Hard Reset", UP);
    assert_eq!(a.count(&format!("peer {ib} down")), 0, "{}", a.log());
}

#[test]
fn killed_peer_comes_back_within_the_connect_retry_time() {
    let wd = Workdir::new("bgpd-kill").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    interop_tests::veth_pair(&a.ns, &b.ns, &["10.0.0.1/24"], &["10.0.0.2/24"]).unwrap();
    a.write_config(&mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[("b", "10.0.0.2")]));
    b.write_config(&mesh_config("b", "10.0.0.2", &["10.244.2.0/26"], &[("a", "10.0.0.1")]));
    a.start();
    b.start();
    a.wait_log("peer 10.0.0.2 established", UP);

    // b is the side that dials: kill it hard and start it again.
    b.signal("KILL");
    let _ = b.stop();
    a.wait_log("peer 10.0.0.2 down", UP);
    let restarted = std::time::Instant::now();
    b.start();
    a.wait_log_n("peer 10.0.0.2 established", 2, UP);
    // b, restarting, dials at once and a listens at once (no error wait).
    let took = restarted.elapsed();
    assert!(took < Duration::from_secs(8), "re-established after {took:?}\n{}", a.log());
    b.wait_log("End-of-RIB IPv4/unicast, 1 prefixes received", UP);
}

#[test]
fn sighup_applies_a_new_log_level() {
    if std::env::var_os("RUST_LOG").is_some() {
        eprintln!("RUST_LOG is set and overrides log_level: nothing to check");
        return;
    }
    let wd = Workdir::new("bgpd-loglevel").unwrap();
    let mut a = Node::new(&wd, "a");
    let cfg = mesh_config("a", "10.0.0.1", &["10.244.1.0/26"], &[]);
    a.write_config(&cfg.replace("log_level = \"debug\"", "log_level = \"warn\""));
    a.start();
    // At warn, the info lines of a start are not written; the control
    // socket answering shows the daemon is up.
    let deadline = std::time::Instant::now() + UP;
    while !a.ctl(&["show", "status"]).status.success() {
        assert!(std::time::Instant::now() < deadline, "never answered:\n{}", a.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(a.count("starting"), 0, "info logged at warn:\n{}", a.log());
    a.write_config(&cfg);
    a.signal("HUP");
    a.wait_log("reload: log level is now debug", UP);
    let status = a.stop();
    assert!(status.success(), "{status:?}\n{}", a.log());
    assert!(a.log().contains("shutting down: "), "info logged after the reload");
}
