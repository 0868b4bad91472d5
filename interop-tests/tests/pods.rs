//! Pods wired like Calico's on one node reach each other through the node.
//!
//! ```text
//!   pod a                       node                        pod b
//!  +----------------+        +--------------------+       +----------------+
//!  | eth0           |--------| cali<a>    cali<b> |-------| eth0           |
//!  | 10.244.1.1/32  |        | proxy_arp, fwd on  |       | 10.244.1.2/32  |
//!  | fd10:244::1    |        | /32 + /128 routes  |       | fd10:244::2    |
//!  +----------------+        +--------------------+       +----------------+
//!   default via 169.254.1.1 onlink / fe80::ecee:eeff:feee:eeee
//! ```
//!
//! Checks: 1. the node has Felix's `/32 dev cali<hash> proto 80 scope link metric 1024`
//! routes and proxy ARP on;
//! 2. a pod's IPv4 routes are only the default via 169.254.1.1;
//! 3. pod a pings pod b over IPv4; 4. and over IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use interop_tests::pod::GATEWAY_V4;
use interop_tests::{Netns, Pod};

const UP: Duration = Duration::from_secs(10);

#[test]
fn two_pods_on_one_node_ping_each_other_over_ipv4_and_ipv6() {
    let node = Netns::new("node").unwrap();
    let a = Pod::new(
        &node,
        "pod-a",
        Ipv4Addr::new(10, 244, 1, 1),
        Some("fd10:244::1".parse::<Ipv6Addr>().unwrap()),
    )
    .unwrap();
    let b = Pod::new(
        &node,
        "pod-b",
        Ipv4Addr::new(10, 244, 1, 2),
        Some("fd10:244::2".parse::<Ipv6Addr>().unwrap()),
    )
    .unwrap();

    // 1. The node side.
    let routes = node.routes().unwrap();
    for p in [&a, &b] {
        let want = format!("{} dev {} proto 80 scope link metric 1024", p.ipv4(), p.host_iface());
        assert!(routes.contains(&want), "no {want:?} in\n{routes}");
        let key = format!("net.ipv4.conf.{}.proxy_arp", p.host_iface());
        assert_eq!(node.exec(&["sysctl", "-n", &key]).unwrap().trim(), "1", "{key}");
    }

    // 2. The pod side: nothing but the link-local gateway.
    let pod_routes = a.ns().ip(&["-4", "route"]).unwrap();
    assert_eq!(
        pod_routes.trim(),
        format!("default via {GATEWAY_V4} dev eth0 onlink"),
        "pod a's routes"
    );

    // 3, 4. The datapath, both families, both directions.
    a.wait_ping(IpAddr::V4(b.ipv4()), UP).unwrap();
    b.wait_ping(IpAddr::V4(a.ipv4()), UP).unwrap();
    a.wait_ping(IpAddr::V6(b.ipv6().unwrap()), UP).unwrap();
    b.wait_ping(IpAddr::V6(a.ipv6().unwrap()), UP).unwrap();
}

#[test]
fn a_pod_without_a_route_on_the_node_is_unreachable() {
    // The /32 on the node is what makes a pod reachable: without it, proxy ARP
    // still answers for the gateway but the node has nowhere to send the packet.
    let node = Netns::new("node").unwrap();
    let a = Pod::new(&node, "pod-a", Ipv4Addr::new(10, 244, 1, 1), None).unwrap();
    let b = Pod::new(&node, "pod-b", Ipv4Addr::new(10, 244, 1, 2), None).unwrap();
    a.wait_ping(IpAddr::V4(b.ipv4()), UP).unwrap();
    node.ip(&["route", "del", &format!("{}/32", b.ipv4())]).unwrap();
    assert!(!a.ping(IpAddr::V4(b.ipv4())).unwrap(), "pinged {} without a route", b.ipv4());
}
