//! Table tests for the kernel-route decision, with the rows of Calico's own cases
//! (its BIRD kernel export filter) first.

use super::*;
use crate::route::MAIN_TABLE;

const ETH0: IfIndex = 2;
const ETH1: IfIndex = 3;
const TUNL0: IfIndex = 10;
const VXLAN: IfIndex = 11;
const VXLAN6: IfIndex = 12;

fn dev_name(i: IfIndex) -> &'static str {
    match i {
        ETH0 => "eth0",
        ETH1 => "eth1",
        TUNL0 => "tunl0",
        VXLAN => "vxlan.calico",
        VXLAN6 => "vxlan-v6.calico",
        _ => "?",
    }
}

/// Renders a decision the way `ip route` would print the route (plus VTEPs).
fn render(d: &Decision) -> String {
    match d {
        Decision::Skip(why) => format!("skip {why:?}"),
        Decision::Program { route, vteps } => {
            let hop = |h: &NextHop| {
                format!(
                    "via {} dev {}{}",
                    h.gateway,
                    dev_name(h.dev),
                    if h.onlink { " onlink" } else { "" }
                )
            };
            let mut s = match &route.kind {
                RouteKind::Blackhole => format!("blackhole {}", route.prefix),
                RouteKind::Via(h) => format!("{} {}", route.prefix, hop(h)),
                RouteKind::Multipath(hs) => {
                    let hs: Vec<_> = hs.iter().map(|h| format!("nexthop {}", hop(h))).collect();
                    format!("{} {}", route.prefix, hs.join(" "))
                }
            };
            for v in vteps {
                let m = v.mac;
                s.push_str(&format!(
                    " +vtep {} {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} dev {}",
                    v.ip,
                    m[0],
                    m[1],
                    m[2],
                    m[3],
                    m[4],
                    m[5],
                    dev_name(v.dev)
                ));
            }
            s
        }
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Node 10.0.0.5/24 + fd00::5/64 on eth0, default routes via 10.0.0.1 / fd00::1,
/// all three tunnels present, VXLAN managed here (the opt-in of a node without Felix,
/// so the VXLAN rows show that datapath's shapes).
fn node() -> NodeContext {
    NodeContext {
        subnets: vec![net("10.0.0.0/24"), net("fd00::/64")],
        addrs: vec![
            NodeAddr { net: net("10.0.0.5/24"), dev: ETH0 },
            NodeAddr { net: net("fd00::5/64"), dev: ETH0 },
        ],
        underlay: vec![
            UnderlayRoute { dst: net("0.0.0.0/0"), dev: ETH0, via: Some(ip("10.0.0.1")) },
            UnderlayRoute { dst: net("::/0"), dev: ETH0, via: Some(ip("fd00::1")) },
        ],
        pools: Vec::new(),
        service_ranges: Vec::new(),
        program: ProgramClusterRoutes::Enabled,
        manage_vxlan: true,
        tunnels: TunnelDevs { tunl0: Some(TUNL0), vxlan_v4: Some(VXLAN), vxlan_v6: Some(VXLAN6) },
        table: MAIN_TABLE,
    }
}

/// [`node`] with the defaults: VXLAN is Felix's.
fn felix_node() -> NodeContext {
    NodeContext { manage_vxlan: false, ..node() }
}

fn pool(cidr: &str, ipip: EncapMode, vxlan: EncapMode) -> IpPool {
    IpPool { cidr: net(cidr), ipip_mode: ipip, vxlan_mode: vxlan, disable_bgp_export: false }
}

fn best(prefix: &str, nhs: &[&str]) -> BestRoute {
    BestRoute {
        prefix: net(prefix),
        next_hops: nhs.iter().map(|s| ip(s)).collect(),
        local_block: false,
        priority: 0,
    }
}

use EncapMode::{Always, CrossSubnet, Never};

struct Row {
    name: &'static str,
    pool: Option<IpPool>,
    program: ProgramClusterRoutes,
    route: BestRoute,
    want: &'static str,
}

fn row(name: &'static str, pool: Option<IpPool>, route: BestRoute, want: &'static str) -> Row {
    Row { name, pool, program: ProgramClusterRoutes::Enabled, route, want }
}

fn check(rows: Vec<Row>, base: NodeContext) {
    let mut failures = Vec::new();
    for r in rows {
        let mut ctx = base.clone();
        ctx.pools.extend(r.pool);
        ctx.program = r.program;
        let got = render(&decide(&r.route, &ctx));
        if got != r.want {
            failures.push(format!("{}:\n   got  {got}\n   want {}", r.name, r.want));
        }
    }
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn calico_ipip_rows() {
    // bgp_processor.go: Always → krt_tunnel="tunl0"; CrossSubnet → tunl0 unless
    // bgp_next_hop ~ localSubnet; Never → nothing. netlink.c: tunnel routes use the
    // BGP next hop as gateway, with onlink.
    let p = |m| Some(pool("10.244.0.0/16", m, Never));
    check(
        vec![
            row(
                "Always, next hop in own subnet",
                p(Always),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev tunl0 onlink",
            ),
            row(
                "Always, next hop across subnets",
                p(Always),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.1.0.7 dev tunl0 onlink",
            ),
            row(
                "CrossSubnet, next hop in own subnet: no tunnel",
                p(CrossSubnet),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            row(
                "CrossSubnet, next hop across subnets: tunl0 with the original next hop",
                p(CrossSubnet),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.1.0.7 dev tunl0 onlink",
            ),
            row(
                "Never, next hop in own subnet",
                p(Never),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            row(
                "Never, next hop across subnets: gateway recursive via the underlay",
                p(Never),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.0.0.1 dev eth0",
            ),
            row(
                "prefix outside every pool: accepted as is",
                None,
                best("192.168.50.0/24", &["10.0.0.9"]),
                "192.168.50.0/24 via 10.0.0.9 dev eth0",
            ),
            row(
                "own block: blackhole",
                p(Always),
                BestRoute { local_block: true, ..best("10.244.9.0/26", &[]) },
                "blackhole 10.244.9.0/26",
            ),
        ],
        node(),
    );
}

#[test]
fn cross_subnet_pools_give_tunnel_and_direct_routes_side_by_side() {
    // Shapes seen in production: `10.96.5.128/26 via 10.100.99.22 dev tunl0 proto bird
    // onlink` (other subnet) beside `100.69.162.128/26 via 10.63.160.144 dev eth0 proto
    // bird` (same subnet), both from CrossSubnet pools on a node in 10.63.160.0/20.
    let mut ctx = node();
    ctx.subnets = vec![net("10.63.160.0/20")];
    ctx.addrs = vec![NodeAddr { net: net("10.63.170.3/20"), dev: ETH0 }];
    check(
        vec![
            row(
                "other subnet",
                Some(pool("10.96.0.0/12", CrossSubnet, Never)),
                best("10.96.5.128/26", &["10.100.99.22"]),
                "10.96.5.128/26 via 10.100.99.22 dev tunl0 onlink",
            ),
            row(
                "same subnet",
                Some(pool("100.64.0.0/10", CrossSubnet, Never)),
                best("100.69.162.128/26", &["10.63.160.144"]),
                "100.69.162.128/26 via 10.63.160.144 dev eth0",
            ),
        ],
        ctx,
    );
}

#[test]
fn missing_node_subnet_programs_plain_like_calico() {
    // "If network_v4 is missing, no IPv4 pool statements are emitted (falls through
    // to accept)": the route goes in without a tunnel.
    let mut ctx = node();
    ctx.subnets.retain(|n| matches!(n, IpNet::V6(_)));
    check(
        vec![row(
            "Always without an own IPv4 subnet",
            Some(pool("10.244.0.0/16", Always, Never)),
            best("10.244.1.0/26", &["10.1.0.7"]),
            "10.244.1.0/26 via 10.0.0.1 dev eth0",
        )],
        ctx,
    );
}

/// [`node`] on a host with more addresses than its own: a second NIC in 10.1.0.0/24
/// (where the next hops 10.1.0.x live), a docker bridge and kube-ipvs0's cluster IPs.
fn multi_homed_node() -> NodeContext {
    let mut ctx = node();
    ctx.addrs.extend([
        NodeAddr { net: net("10.1.0.50/24"), dev: ETH1 },
        NodeAddr { net: net("172.17.0.1/16"), dev: 20 },
    ]);
    ctx
}

#[test]
fn cross_subnet_compares_with_the_node_subnet_not_other_host_addresses() {
    // confd: `bgp_next_hop ~ network_v4`, the network of Node.spec.bgp.ipv4Address:
    // 10.0.0.0/24 here. 10.1.0.7 is on a connected subnet of eth1, but not the node's.
    let p = |m| Some(pool("10.244.0.0/16", m, Never));
    check(
        vec![
            row(
                "CrossSubnet, next hop on another NIC's subnet: still across, tunl0",
                p(CrossSubnet),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.1.0.7 dev tunl0 onlink",
            ),
            row(
                "CrossSubnet, next hop in the node subnet: direct",
                p(CrossSubnet),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            row(
                "no encapsulation: reached on the NIC whose subnet holds it",
                p(Never),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.1.0.7 dev eth1",
            ),
        ],
        multi_homed_node(),
    );
}

#[test]
fn an_address_on_an_unrelated_interface_affects_no_route() {
    let old = node();
    let mut new = multi_homed_node();
    new.addrs.retain(|a| a.dev != ETH1);
    let change = old.change_to(&new);
    assert_eq!(change, ContextChange::Reach(vec![net("172.17.0.1/16")]));
    assert!(!change.affects(&[ip("10.0.0.7")]));
    assert!(!change.affects(&[ip("10.1.0.7"), ip("fd00::7")]));
    assert!(change.affects(&[ip("10.0.0.7"), ip("172.17.3.3")]));
    assert_eq!(old.change_to(&old.clone()), ContextChange::None);
}

#[test]
fn a_new_connected_subnet_affects_only_the_next_hops_inside_it() {
    let change = node().change_to(&multi_homed_node());
    assert!(change.affects(&[ip("10.1.0.7")]));
    assert!(!change.affects(&[ip("10.2.0.7")]));
    // The underlay counts too: a new route to 10.9.0.0/16.
    let mut new = node();
    new.underlay.push(UnderlayRoute { dst: net("10.9.0.0/16"), dev: ETH1, via: None });
    let change = node().change_to(&new);
    assert!(change.affects(&[ip("10.9.1.1")]) && !change.affects(&[ip("10.0.0.7")]));
}

#[test]
fn policy_changes_affect_every_route() {
    let base = node();
    for new in [
        NodeContext { subnets: vec![net("10.0.0.0/16")], ..node() },
        NodeContext { pools: vec![pool("10.244.0.0/16", Always, Never)], ..node() },
        NodeContext { program: ProgramClusterRoutes::Disabled, ..node() },
        NodeContext { tunnels: TunnelDevs::default(), ..node() },
        NodeContext { table: 100, ..node() },
    ] {
        let change = base.change_to(&new);
        assert_eq!(change, ContextChange::All);
        assert!(change.affects(&[]), "blackholes too");
    }
}

#[test]
fn calico_leaves_workload_and_ipvs_interfaces_out_of_the_connected_subnets() {
    for name in ["cali1234abcd", "calico0", "kube-ipvs0"] {
        assert!(excluded_interface(name), "{name}");
    }
    for name in ["eth0", "docker0", "vxlan.calico", "tunl0", "bpfout.cali"] {
        assert!(!excluded_interface(name), "{name}");
    }
}

#[test]
fn ipv6_never_uses_ipip() {
    check(
        vec![
            row(
                "IPv6 pool with ipipMode Always: no tunnel",
                Some(pool("fd10::/48", Always, Never)),
                best("fd10:0:0:1::/122", &["fd00::7"]),
                "fd10:0:0:1::/122 via fd00::7 dev eth0",
            ),
            row(
                "IPv6 CrossSubnet ipip across subnets: recursive, no tunnel",
                Some(pool("fd10::/48", CrossSubnet, Never)),
                best("fd10:0:0:1::/122", &["fd01::7"]),
                "fd10:0:0:1::/122 via fd00::1 dev eth0",
            ),
            row(
                "IPv6 own block",
                Some(pool("fd10::/48", Never, Never)),
                BestRoute { local_block: true, ..best("fd10:0:0:2::/122", &[]) },
                "blackhole fd10:0:0:2::/122",
            ),
        ],
        node(),
    );
}

#[test]
fn vxlan_rows_add_neighbour_and_fdb() {
    check(
        vec![
            row(
                "VXLAN Always in own subnet",
                Some(pool("10.244.0.0/16", Never, Always)),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev vxlan.calico onlink \
                 +vtep 10.0.0.7 02:cb:0a:00:00:07 dev vxlan.calico",
            ),
            row(
                "VXLAN CrossSubnet same subnet: plain",
                Some(pool("10.244.0.0/16", Never, CrossSubnet)),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            row(
                "VXLAN CrossSubnet across subnets",
                Some(pool("10.244.0.0/16", Never, CrossSubnet)),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.1.0.7 dev vxlan.calico onlink \
                 +vtep 10.1.0.7 02:cb:0a:01:00:07 dev vxlan.calico",
            ),
            row(
                "IPv6 VXLAN across subnets uses vxlan-v6.calico",
                Some(pool("fd10::/48", Never, CrossSubnet)),
                best("fd10:0:0:1::/122", &["fd01::7"]),
                "fd10:0:0:1::/122 via fd01::7 dev vxlan-v6.calico onlink \
                 +vtep fd01::7 02:cb:6e:9f:84:72 dev vxlan-v6.calico",
            ),
            row(
                "both modes set: VXLAN wins",
                Some(pool("10.244.0.0/16", Always, Always)),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.1.0.7 dev vxlan.calico onlink \
                 +vtep 10.1.0.7 02:cb:0a:01:00:07 dev vxlan.calico",
            ),
        ],
        node(),
    );
}

#[test]
fn vxlan_pool_is_left_to_felix_by_default() {
    use ProgramClusterRoutes as P;
    let r = || best("10.244.1.0/26", &["10.1.0.7"]);
    let mk = |name, pool, program| Row { name, pool, program, route: r(), want: "skip NotOurs" };
    let vx = |m| Some(pool("10.244.0.0/16", Never, m));
    check(
        vec![
            mk("Enabled, VXLAN Always", vx(Always), P::Enabled),
            mk("Enabled, VXLAN CrossSubnet", vx(CrossSubnet), P::Enabled),
            mk("EnabledNoEncapOnly, VXLAN Always", vx(Always), P::EnabledNoEncapOnly),
            mk("EnabledIpipOnly, VXLAN Always", vx(Always), P::EnabledIpipOnly),
            mk("Disabled, VXLAN Always", vx(Always), P::Disabled),
            mk(
                "IPIP and VXLAN both set: VXLAN wins, Felix's",
                Some(pool("10.244.0.0/16", Always, Always)),
                P::Enabled,
            ),
            mk("own block of a VXLAN pool: Felix's too", vx(Always), P::Enabled),
        ],
        felix_node(),
    );
    // Even the own block's blackhole: confd's kernel filter rejects every prefix in a
    // VXLAN pool, the static blackhole included.
    let own = BestRoute { local_block: true, ..r() };
    let mut ctx = felix_node();
    ctx.pools.push(pool("10.244.0.0/16", Never, Always));
    assert_eq!(render(&decide(&own, &ctx)), "skip NotOurs");
}

#[test]
fn enabled_means_every_non_vxlan_pool() {
    use ProgramClusterRoutes as P;
    let r = || best("10.244.1.0/26", &["10.1.0.7"]);
    let mk = |name, pool, want| Row { name, pool, program: P::Enabled, route: r(), want };
    check(
        vec![
            mk(
                "no-encap pool",
                Some(pool("10.244.0.0/16", Never, Never)),
                "10.244.1.0/26 via 10.0.0.1 dev eth0",
            ),
            mk(
                "IPIP Always",
                Some(pool("10.244.0.0/16", Always, Never)),
                "10.244.1.0/26 via 10.1.0.7 dev tunl0 onlink",
            ),
            mk(
                "IPIP CrossSubnet, next hop across",
                Some(pool("10.244.0.0/16", CrossSubnet, Never)),
                "10.244.1.0/26 via 10.1.0.7 dev tunl0 onlink",
            ),
            mk("VXLAN", Some(pool("10.244.0.0/16", Never, Always)), "skip NotOurs"),
        ],
        felix_node(),
    );
}

#[test]
fn program_cluster_routes_values_mean_what_they_mean_in_calico() {
    // confd's calico_kernel_programming: unset / EnabledNoEncapOnly = unencapsulated
    // pools; Enabled = plus IPIP; EnabledIPIPOnly = IPIP only; Disabled = none.
    use ProgramClusterRoutes as P;
    let ipip = || Some(pool("10.244.0.0/16", CrossSubnet, Never));
    let plain = || Some(pool("10.244.0.0/16", Never, Never));
    let r = || best("10.244.1.0/26", &["10.0.0.7"]);
    let ext = || best("192.168.50.0/24", &["10.0.0.9"]);
    let mk = |name, pool, program, route, want| Row { name, pool, program, route, want };
    check(
        vec![
            mk(
                "EnabledNoEncapOnly: no-encap pool",
                plain(),
                P::EnabledNoEncapOnly,
                r(),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            mk(
                "EnabledNoEncapOnly: IPIP pool left to Felix",
                ipip(),
                P::EnabledNoEncapOnly,
                r(),
                "skip NotOurs",
            ),
            mk(
                "EnabledIpipOnly: IPIP pool",
                ipip(),
                P::EnabledIpipOnly,
                r(),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            mk(
                "EnabledIpipOnly: no-encap pool left alone",
                plain(),
                P::EnabledIpipOnly,
                r(),
                "skip NotOurs",
            ),
            mk("Disabled: pool routes left alone", plain(), P::Disabled, r(), "skip NotOurs"),
            mk(
                "Disabled: own block left alone too",
                plain(),
                P::Disabled,
                BestRoute { local_block: true, ..r() },
                "skip NotOurs",
            ),
            mk(
                "Disabled: non-pool prefixes still programmed",
                plain(),
                P::Disabled,
                ext(),
                "192.168.50.0/24 via 10.0.0.9 dev eth0",
            ),
        ],
        felix_node(),
    );
}

#[test]
fn manage_vxlan_programs_vxlan_pools_under_every_value_but_disabled() {
    use ProgramClusterRoutes as P;
    let vx = || Some(pool("10.244.0.0/16", Never, Always));
    let r = || best("10.244.1.0/26", &["10.0.0.7"]);
    let tunnel = "10.244.1.0/26 via 10.0.0.7 dev vxlan.calico onlink +vtep 10.0.0.7 02:cb:0a:00:00:07 dev vxlan.calico";
    let mk = |name, program, want| Row { name, pool: vx(), program, route: r(), want };
    check(
        vec![
            mk("Enabled", P::Enabled, tunnel),
            mk("EnabledNoEncapOnly", P::EnabledNoEncapOnly, tunnel),
            mk("EnabledIpipOnly", P::EnabledIpipOnly, tunnel),
            mk("Disabled", P::Disabled, "skip NotOurs"),
        ],
        node(),
    );
}

#[test]
fn disable_bgp_export_does_not_stop_programming() {
    let mut p = pool("10.244.0.0/16", Never, Never);
    p.disable_bgp_export = true;
    check(
        vec![row(
            "disableBGPExport pool",
            Some(p),
            best("10.244.1.0/26", &["10.0.0.7"]),
            "10.244.1.0/26 via 10.0.0.7 dev eth0",
        )],
        node(),
    );
}

#[test]
fn ecmp_rows_make_one_multipath_route() {
    check(
        vec![
            row(
                "two next hops in own subnet",
                None,
                best("10.96.0.10/32", &["10.0.0.8", "10.0.0.7"]),
                "10.96.0.10/32 nexthop via 10.0.0.7 dev eth0 nexthop via 10.0.0.8 dev eth0",
            ),
            row(
                "CrossSubnet: one hop plain, one through tunl0",
                Some(pool("10.244.0.0/16", CrossSubnet, Never)),
                best("10.244.1.0/26", &["10.1.0.7", "10.0.0.7"]),
                "10.244.1.0/26 nexthop via 10.0.0.7 dev eth0 nexthop via 10.1.0.7 dev tunl0 onlink",
            ),
            row(
                "duplicate next hops collapse to one",
                None,
                best("10.96.0.10/32", &["10.0.0.7", "10.0.0.7"]),
                "10.96.0.10/32 via 10.0.0.7 dev eth0",
            ),
        ],
        node(),
    );
}

#[test]
fn problems_are_typed_skips() {
    let mut no_default = node();
    no_default.underlay.clear();
    let mut no_tunnels = node();
    no_tunnels.tunnels = TunnelDevs::default();
    check(
        vec![
            row(
                "unreachable next hop",
                None,
                best("192.168.50.0/24", &["10.9.0.1"]),
                "skip Unreachable(10.9.0.1)",
            ),
            row("no next hop", None, best("192.168.50.0/24", &[]), "skip NoNextHop"),
            row(
                "IPv6 next hop for an IPv4 prefix",
                None,
                best("192.168.50.0/24", &["fd00::7"]),
                "skip FamilyMismatch(fd00::7)",
            ),
            row(
                "one ECMP hop unreachable: the other stays",
                None,
                best("192.168.50.0/24", &["10.9.0.1", "10.0.0.7"]),
                "192.168.50.0/24 via 10.0.0.7 dev eth0",
            ),
        ],
        no_default,
    );
    check(
        vec![row(
            "VXLAN pool but no vxlan.calico",
            Some(pool("10.244.0.0/16", Never, Always)),
            best("10.244.1.0/26", &["10.0.0.7"]),
            "skip TunnelMissing(VxlanV4)",
        )],
        no_tunnels,
    );
}

#[test]
fn ipip_route_without_tunl0_goes_in_unencapsulated_like_bird() {
    // The fork sets RTA_OIF = tunl0 only when if_find_by_name("tunl0") finds it; else
    // it installs the ordinary (recursively resolved) route.
    let mut ctx = felix_node();
    ctx.tunnels.tunl0 = None;
    check(
        vec![
            row(
                "Always, next hop in own subnet",
                Some(pool("10.244.0.0/16", Always, Never)),
                best("10.244.1.0/26", &["10.0.0.7"]),
                "10.244.1.0/26 via 10.0.0.7 dev eth0",
            ),
            row(
                "CrossSubnet, next hop across: via the underlay gateway",
                Some(pool("10.244.0.0/16", CrossSubnet, Never)),
                best("10.244.1.0/26", &["10.1.0.7"]),
                "10.244.1.0/26 via 10.0.0.1 dev eth0",
            ),
        ],
        ctx,
    );
}

#[test]
fn most_specific_pool_decides() {
    let mut ctx = node();
    ctx.pools = vec![pool("10.0.0.0/8", Always, Never), pool("10.244.0.0/16", Never, Never)];
    let d = decide(&best("10.244.1.0/26", &["10.1.0.7"]), &ctx);
    assert_eq!(render(&d), "10.244.1.0/26 via 10.0.0.1 dev eth0");
}

#[test]
fn mode_switch_rewrites_the_same_key() {
    // Always → CrossSubnet must rewrite the route in place: same table/prefix/metric,
    // new device; the plan turns that into one Replace and no Delete.
    let mut ctx = node();
    ctx.pools = vec![pool("10.244.0.0/16", Always, Never)];
    let b = best("10.244.1.0/26", &["10.0.0.7"]);
    let before = decide(&b, &ctx).route().cloned().unwrap();
    ctx.pools[0].ipip_mode = CrossSubnet;
    let after = decide(&b, &ctx).route().cloned().unwrap();
    assert_eq!(before.key(), after.key());
    assert_eq!(before.metric, after.metric);
    assert_ne!(before.kind, after.kind);
    let (mut ops, mut deletes) = (Vec::new(), Vec::new());
    crate::plan::plan_key(
        Some(&after),
        &[before],
        crate::plan::Orphans::Delete,
        &mut ops,
        &mut deletes,
    );
    ops.extend(deletes);
    assert_eq!(ops, vec![crate::plan::Op::Replace(after)]);
}

#[test]
fn priority_and_table_carry_through() {
    let mut ctx = node();
    ctx.table = 1000;
    let d = decide(&BestRoute { priority: 512, ..best("192.168.50.0/24", &["10.0.0.9"]) }, &ctx);
    let r = d.route().unwrap();
    assert_eq!((r.table, r.metric), (1000, 512));
}

#[test]
fn ipv6_metric_zero_is_the_kernel_default_1024() {
    let d = decide(&best("fd10:0:0:1::/122", &["fd00::7"]), &node());
    assert_eq!(d.route().unwrap().metric, IP6_RT_PRIO_USER);
    let d = decide(&BestRoute { priority: 7, ..best("fd10:0:0:1::/122", &["fd00::7"]) }, &node());
    assert_eq!(d.route().unwrap().metric, 7);
}

#[test]
fn host_bits_are_cleared() {
    let d = decide(&best("192.168.50.7/24", &["10.0.0.9"]), &node());
    assert_eq!(d.route().unwrap().prefix, net("192.168.50.0/24"));
}

#[test]
fn vtep_mac_is_derived_from_the_address() {
    assert_eq!(vtep_mac(ip("10.0.0.1")), [0x02, 0xcb, 10, 0, 0, 1]);
    assert_eq!(vtep_mac(ip("192.168.1.254")), [0x02, 0xcb, 192, 168, 1, 254]);
    // Locally administered (bit 1), unicast (bit 0 clear).
    let m = vtep_mac(ip("fd01::7"));
    assert_eq!(m[0] & 0b11, 0b10);
    assert_eq!(m, vtep_mac(ip("fd01::7")));
    assert_ne!(m, vtep_mac(ip("fd01::8")));
}

#[test]
fn a_static_route_resolves_next_hops_inside_it_through_its_gateway() {
    let addrs = [NodeAddr { net: "10.0.5.1/24".parse().unwrap(), dev: 2 }];
    let statics = [
        StaticRoute { prefix: "10.0.15.2/32".parse().unwrap(), gateway: ip("10.0.5.254") },
        // A gateway that is no neighbour: BIRD leaves the route out.
        StaticRoute { prefix: "10.0.16.2/32".parse().unwrap(), gateway: ip("10.9.9.9") },
    ];
    let underlay = static_underlay(&statics, &addrs);
    assert_eq!(
        underlay,
        [UnderlayRoute {
            dst: "10.0.15.2/32".parse().unwrap(),
            dev: 2,
            via: Some(ip("10.0.5.254"))
        }]
    );
    let ctx = NodeContext { addrs: addrs.to_vec(), underlay, ..NodeContext::default() };
    assert_eq!(ctx.reach(ip("10.0.15.2")), Some(Reach { dev: 2, via: Some(ip("10.0.5.254")) }));
    assert_eq!(ctx.reach(ip("10.0.16.2")), None);
}

#[test]
fn routes_inside_a_service_range_are_never_programmed() {
    // confd: `if ( net ~ 10.101.0.0/16 ) then { reject; }` before the pool lines, for
    // every serviceClusterIPs / serviceExternalIPs / serviceLoadBalancerIPs range.
    let mut ctx = felix_node();
    ctx.service_ranges = vec![net("10.101.0.0/16"), net("80.15.0.0/24"), net("fd00:96::/112")];
    for (prefix, nh) in [
        ("10.101.0.0/16", "10.0.0.7"),
        ("10.101.0.101/32", "10.0.0.7"),
        ("80.15.0.0/25", "10.1.0.9"),
        ("fd00:96::10/128", "fd00::7"),
    ] {
        let got = decide(&best(prefix, &[nh]), &ctx);
        assert_eq!(got, Decision::Skip(SkipReason::ServiceRange), "{prefix}");
    }
    // Beside them: programmed as usual (the /15 is not inside the /16).
    assert!(decide(&best("10.100.0.0/15", &["10.0.0.7"]), &ctx).route().is_some());
    assert!(decide(&best("80.15.1.0/24", &["10.0.0.7"]), &ctx).route().is_some());
}
