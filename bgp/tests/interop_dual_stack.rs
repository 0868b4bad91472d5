//! Dual stack. IPv4 and IPv6 sessions side by side, IPv6
//! blocks from the `fd00:10:244::/48` pool (Calico's default /122 blocks), IPv6
//! routes in every kernel, pods pinging over IPv6 across nodes.
//!
//! ```text
//!        LAN 10.0.4.0/24 + fd00:4::/64 (bridge in its own namespace)
//!  +----------------------+  +----------------------+  +----------------------+
//!  | a  .1 / ::1   eth0   |  | b  .2 / ::2   eth0   |  | FRR ToR .254 / ::fe  |
//!  | AS 64512             |  | AS 64512             |  | AS 65000, zebra      |
//!  | 10.244.1.0/26        |  | 10.244.2.0/26        |  | 10.101.0.0/24        |
//!  | fd00:10:244::/122    |  | fd00:10:244::40/122  |  | fd00:101::/64        |
//!  |  pod pa ::5, .1.5    |  |  pod pb ::45, .2.5   |  |                      |
//!  +----------+-----------+  +----------+-----------+  +----------+-----------+
//!             +-------------------------+-------------------------+
//!   a <-> b : node-to-node mesh, one iBGP session per family
//!   a <-> FRR: eBGP, one session over IPv4 (IPv4 unicast), one over IPv6 (IPv6 unicast)
//! ```
//!
//! Checks:
//! 1. All four sessions Established (FRR sees both of its own).
//! 2. a and b install each other's IPv4 and IPv6 blocks as `proto bird` via the
//!    other node's address of that family on eth0; their own as blackholes.
//! 3. a installs FRR's IPv4 and IPv6 prefixes as `proto bird` on eth0.
//! 4. FRR's zebra installs a's IPv6 block (`proto bgp`), FRR's RIB holds both of
//!    a's blocks, the IPv6 one over the IPv6 session.
//! 5. Pods ping each other across nodes over IPv6 (and IPv4).
//! 6. The FRR sessions' bytes are kept as `tests/fixtures/calico-frr.pcap` when
//!    `CBGP_WRITE_FIXTURES=1`.

mod daemon_common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{dump, rename_to_eth0, wait_bird_route};
use interop_tests::peers::frr::FrrConfig;
use interop_tests::peers::{Family, Neighbor, Peer, Route};
use interop_tests::{Capture, Lan, Netns, Pod, Workdir, wait_until};

const UP: Duration = Duration::from_secs(30);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A dual-stack node: both addresses, one IPv4 and one IPv6 block, the two
/// pools, the other node in the mesh over both families, and `extra`.
fn node_config(
    name: &str,
    v4: &str,
    v6: &str,
    blocks: [&str; 2],
    other: (&str, &str, &str),
    extra: &str,
) -> String {
    let (on, o4, o6) = other;
    format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{v4}/24\"\nipv6 = \"{v6}/64\"\n\
         blocks = [\"{}\", \"{}\"]\n{FAST_TIMERS}\
         [[mesh.nodes]]\nname = \"{on}\"\nipv4 = \"{o4}\"\nipv6 = \"{o6}\"\n{extra}\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n[[ip_pools]]\ncidr = \"fd00:10:244::/48\"\n",
        blocks[0], blocks[1]
    )
}

#[test]
fn dual_stack_sessions_install_ipv6_blocks_and_pods_ping_over_ipv6() {
    let wd = Workdir::new("scen4").unwrap();
    let mut lan = Lan::new("sc4", "10.0.4.0/24", "fd00:4::/64").unwrap();
    let (mut a, mut b) = (Node::new(&wd, "a"), Node::new(&wd, "b"));
    let tor = Netns::new("tor").unwrap();
    for n in [&a.ns, &b.ns] {
        let i = lan.attach(n).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    let t = lan.attach_host(&tor, 254).unwrap();
    rename_to_eth0(&tor, &t).unwrap();
    let (a4, a6, b4, b6, t4, t6) =
        ("10.0.4.1", "fd00:4::1", "10.0.4.2", "fd00:4::2", "10.0.4.254", "fd00:4::fe");
    let tor_peers = format!(
        "[[peers]]\nname = \"tor4\"\naddress = \"{t4}\"\nremote_as = 65000\n\
         [[peers]]\nname = \"tor6\"\naddress = \"{t6}\"\nremote_as = 65000\n"
    );
    a.write_config(&node_config(
        "a",
        a4,
        a6,
        ["10.244.1.0/26", "fd00:10:244::/122"],
        ("b", b4, b6),
        &tor_peers,
    ));
    b.write_config(&node_config(
        "b",
        b4,
        b6,
        ["10.244.2.0/26", "fd00:10:244::40/122"],
        ("a", a4, a6),
        "",
    ));
    let pcap = wd.join("calico-frr.pcap");
    let cap = Capture::start_filter(
        &a.ns,
        "eth0",
        &pcap,
        &format!("tcp port 179 and (host {t4} or host {t6})"),
    )
    .unwrap();
    a.start();
    b.start();
    let frr = FrrConfig::new(65000, ip(t4))
        .neighbor(Neighbor::new(ip(a4), 64512).families(&[Family::Ipv4Unicast]))
        .neighbor(Neighbor::new(ip(a6), 64512).families(&[Family::Ipv6Unicast]))
        .route(Route::new("10.101.0.0/24"))
        .route(Route::new("fd00:101::/64"))
        .start(&tor, &wd.subdir("frr").unwrap())
        .unwrap();
    let fail = |what: &dyn std::fmt::Display, a: &Node, b: &Node| -> String {
        format!(
            "{what}\n{}\n{}\n{}\n--- a ---\n{}\n--- b ---\n{}",
            frr.dump_state(),
            dump(&a.ns),
            dump(&b.ns),
            a.log(),
            b.log()
        )
    };

    // 1. Sessions.
    for addr in [a4, a6] {
        frr.wait_established(ip(addr), UP).unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    }
    for peer in [b4, b6] {
        a.wait_log(&format!("peer {peer} established"), UP);
    }
    for peer in [a4, a6] {
        b.wait_log(&format!("peer {peer} established"), UP);
    }

    // 2. Mesh routes, both families, and our own blocks as blackholes.
    for (n, own, theirs) in [
        (
            &a,
            ["10.244.1.0/26", "fd00:10:244::/122"],
            [("10.244.2.0/26", b4), ("fd00:10:244::40/122", b6)],
        ),
        (
            &b,
            ["10.244.2.0/26", "fd00:10:244::40/122"],
            [("10.244.1.0/26", a4), ("fd00:10:244::/122", a6)],
        ),
    ] {
        for (block, via) in theirs {
            let r = wait_bird_route(&n.ns, block, UP)
                .unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
            assert_eq!(
                (r["gateway"].as_str(), r["dev"].as_str()),
                (Some(via), Some("eth0")),
                "{}: {r}",
                n.name
            );
        }
        for block in own {
            let r = wait_bird_route(&n.ns, block, UP)
                .unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
            assert_eq!(r["type"], "blackhole", "{}: {r}", n.name);
        }
    }

    // 3. FRR's prefixes in a's kernel.
    for (pfx, via) in [("10.101.0.0/24", t4), ("fd00:101::/64", t6)] {
        let r = wait_bird_route(&a.ns, pfx, UP).unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
        assert_eq!(r["dev"], "eth0", "{r}");
        let gw = r["gateway"].as_str().unwrap_or("");
        // Over IPv6 FRR sends its global and its link-local address; either is a
        // valid gateway on the shared link.
        assert!(gw == via || gw.starts_with("fe80:"), "{pfx}: {r}");
    }

    // 4. FRR learned both of a's blocks, and zebra installed the IPv6 one.
    frr.wait_route("10.244.1.0/26", UP).unwrap();
    frr.wait_route("fd00:10:244::/122", UP).unwrap();
    wait_until(UP, "zebra installs a's IPv6 block", || {
        Ok(tor.ip(&["-6", "route", "show", "fd00:10:244::/122"])?.contains("proto bgp"))
    })
    .unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    let six = frr.vtysh_json("show bgp ipv6 unicast fd00:10:244::/122 json").unwrap();
    assert!(six.to_string().contains("64512"), "{six:#}");

    // 5. Pods, IPv6 first.
    let pa = Pod::new(
        &a.ns,
        "pa",
        "10.244.1.5".parse().unwrap(),
        Some("fd00:10:244::5".parse().unwrap()),
    )
    .unwrap();
    let pb = Pod::new(
        &b.ns,
        "pb",
        "10.244.2.5".parse().unwrap(),
        Some("fd00:10:244::45".parse().unwrap()),
    )
    .unwrap();
    let t = Duration::from_secs(15);
    let (pa6, pb6) = (IpAddr::V6(pa.ipv6().unwrap()), IpAddr::V6(pb.ipv6().unwrap()));
    pa.wait_ping(pb6, t).unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    pb.wait_ping(pa6, t).unwrap_or_else(|e| panic!("{}", fail(&e, &a, &b)));
    pa.wait_ping(IpAddr::V4(pb.ipv4()), t).unwrap();
    pb.wait_ping(IpAddr::V4(pa.ipv4()), t).unwrap();
    // An unallocated address in b's IPv6 block ends in b's blackhole.
    assert!(!pa.ping(ip("fd00:10:244::7f")).unwrap());

    // 6. The FRR sessions' capture.
    let pcap = cap.stop().unwrap();
    keep_fixture(&pcap, "calico-frr.pcap");
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}

/// Copies a capture into `tests/fixtures/` when `CBGP_WRITE_FIXTURES=1`.
fn keep_fixture(pcap: &std::path::Path, name: &str) {
    if std::env::var("CBGP_WRITE_FIXTURES").as_deref() != Ok("1") {
        return;
    }
    let dst = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::copy(pcap, &dst).unwrap();
}
