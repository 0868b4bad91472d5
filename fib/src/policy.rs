//! The kernel-route decision: which shape a best route takes in the kernel.
//!
//! Pure: a best route and a [`NodeContext`] in, a [`Decision`] out. It ports the logic
//! Calico puts in BIRD's kernel export filter
//! (`confd/pkg/backends/calico/bgp_processor.go`) and the fork's `krt_tunnel` install
//! (`sysdep/linux/netlink.c`). VXLAN pools are Felix's, as in Calico ("VXLAN routes are
//! handled by Felix"); with [`NodeContext::manage_vxlan`] (a node without Felix) they are
//! programmed here too.
//!
//! ```text
//!  best route (prefix, next hops, local block?, priority)
//!        |
//!        +-- inside a service range ------------------> Skip(ServiceRange)
//!        +-- local block -----------------------------> blackhole P proto bird
//!        +-- in a pool the switch does not give us ---> Skip(NotOurs)
//!        |   (a VXLAN pool: unless manage_vxlan)
//!        `-- per next hop NH:
//!              encap = pool.vxlan_mode / pool.ipip_mode (VXLAN first; IPv6: no IPIP)
//!                Always                          -> tunnel
//!                CrossSubnet, NH in node subnet  -> none   (node.ipv4's network only)
//!                CrossSubnet, NH elsewhere       -> tunnel
//!                Never / no pool               -> none
//!              none  -> P via GW dev UPLINK          (GW = NH, or the underlay gateway to NH)
//!              IPIP  -> P via NH dev tunl0 onlink    (the original BGP next hop, never resolved)
//!                       no tunl0: as none, like the fork (no interface, no krt_tunnel)
//!              VXLAN -> P via NH dev vxlan.calico onlink
//!                       + neigh NH lladdr MAC(NH) dev vxlan.calico permanent
//!                       + fdb MAC(NH) dst NH dev vxlan.calico permanent
//!        several next hops -> one multipath route
//! ```
//!
//! # The remote VTEP MAC
//!
//! Only with [`NodeContext::manage_vxlan`] (a node without Felix; otherwise Felix, which
//! has the datastore's MACs, programs VXLAN). A VXLAN route needs the MAC of the remote
//! node's `vxlan.calico`. Calico stores a
//! random MAC per node in the datastore; we have no datastore, so the MAC is **derived
//! from the node's underlay address** ([`vtep_mac`]): `02:cb:` followed by the four
//! IPv4 octets (for IPv6, the FNV-1a 32-bit hash of the 16 octets). Every node sets its
//! own `vxlan.calico` MAC to `vtep_mac(own address)` and computes its peers' MACs from
//! their BGP next hops, so nothing extra travels in BGP. The IPv4 form is collision-free
//! and readable in `ip neigh` (`02:cb:0a:00:00:01` is 10.0.0.1). The alternative, the RFC
//! 9012 encapsulation and Router's MAC extended communities, would interoperate with
//! EVPN-style speakers but needs both ends to send them; it can be added later as an
//! override of the derived value. See `docs/fib.md`.
//!
//! # `programClusterRoutes`
//!
//! Routes whose prefix lies in an IP pool are cluster routes. [`ProgramClusterRoutes`]
//! says which of them this daemon installs, leaving the rest to Felix, with Calico's
//! meaning: `Enabled` (every non-VXLAN pool), `EnabledNoEncapOnly` (pools with IPIP and
//! VXLAN both `Never`), `EnabledIpipOnly` (pools with IPIP not `Never`) and `Disabled`.
//! VXLAN pools are never programmed unless [`NodeContext::manage_vxlan`] is set, and
//! then under every value but `Disabled`. Prefixes outside every pool
//! (routes from top-of-rack peers, service addresses) are always installed. A pool's
//! `disable_bgp_export` only affects export, never programming.
//!
//! # Service ranges
//!
//! confd puts a reject of every `BGPConfiguration` `serviceClusterIPs`,
//! `serviceExternalIPs` and `serviceLoadBalancerIPs` range first in BIRD's kernel filter
//! (`if ( net ~ 10.96.0.0/12 ) then { reject; }`): a route inside one, learned from a
//! peer (another node's `/32` for a Service with local endpoints, a ToR's aggregate), is
//! accepted and advertised on, but never programmed, since kube-proxy answers for those
//! addresses on every node. [`NodeContext::service_ranges`] are those ranges.
//!
//! # The node's subnet
//!
//! CrossSubnet compares a next hop with the node's own subnet only: the network of the
//! address the node is configured with (`node.ipv4`, Calico's `Node.spec.bgp.ipv4Address`,
//! which confd hands BIRD as `network_v4`), never with the other addresses of the host
//! (docker bridges, `kube-ipvs0`, a second NIC). Those addresses only say how a next hop
//! is reached ([`NodeContext::reach`]), so a change to one re-decides just the routes
//! whose next hops lie inside it ([`NodeContext::change_to`]). Addresses on `cali*` and
//! `kube-ipvs*` interfaces are not connected subnets at all, as in Calico's BIRD
//! (`protocol direct { interface -"cali*", -"kube-ipvs*", "*"; }`): see
//! [`excluded_interface`].

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::route::{DesiredRoute, IfIndex, NextHop, RouteKind};

/// An IP pool's `ipipMode` or `vxlanMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EncapMode {
    /// No encapsulation.
    #[default]
    Never,
    /// Always encapsulate.
    Always,
    /// Encapsulate only when the next hop is outside the node's own subnet.
    CrossSubnet,
}

/// An IP pool as the policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpPool {
    /// The pool's CIDR.
    pub cidr: IpNet,
    /// `ipipMode` (ignored for IPv6 pools: there is no IPIP for IPv6).
    pub ipip_mode: EncapMode,
    /// `vxlanMode`.
    pub vxlan_mode: EncapMode,
    /// `disableBGPExport`: affects export only; learned routes are still programmed.
    pub disable_bgp_export: bool,
}

/// Which cluster routes this daemon programs: Calico's
/// `BGPConfiguration.programClusterRoutes`, with its meaning. VXLAN pools are
/// Felix's under every value (see [`ProgramClusterRoutes::admits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProgramClusterRoutes {
    /// Every non-VXLAN pool: unencapsulated and IPIP (Calico v3.32's default).
    #[default]
    Enabled,
    /// Pools with IPIP and VXLAN both `Never`.
    EnabledNoEncapOnly,
    /// Pools with IPIP enabled (Always or CrossSubnet).
    EnabledIpipOnly,
    /// No pool routes at all: Felix owns them.
    Disabled,
}

impl ProgramClusterRoutes {
    /// Whether routes inside `pool` are programmed here. A VXLAN pool is only with
    /// `manage_vxlan` (a node without Felix), under every value but `Disabled`;
    /// confd's kernel filter rejects VXLAN pools whatever the value.
    pub fn admits(self, pool: &IpPool, manage_vxlan: bool) -> bool {
        if pool.vxlan_mode != EncapMode::Never {
            return manage_vxlan && self != ProgramClusterRoutes::Disabled;
        }
        let ipip = pool.ipip_mode != EncapMode::Never;
        match self {
            ProgramClusterRoutes::Enabled => true,
            ProgramClusterRoutes::EnabledNoEncapOnly => !ipip,
            ProgramClusterRoutes::EnabledIpipOnly => ipip,
            ProgramClusterRoutes::Disabled => false,
        }
    }
}

/// An address of the host, with its prefix length and device: a connected subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeAddr {
    /// Address and prefix length (`10.0.0.5/24`).
    pub net: IpNet,
    /// The device it is configured on.
    pub dev: IfIndex,
}

/// A non-BGP kernel route used to resolve a next hop that is not on a connected
/// subnet (the uplink lookup, like `ip route get NH`). A default route is `0.0.0.0/0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnderlayRoute {
    /// Destination.
    pub dst: IpNet,
    /// Output device.
    pub dev: IfIndex,
    /// Gateway, or `None` for a device route.
    pub via: Option<IpAddr>,
}

/// A static route to one BGP peer through a gateway (Calico `reachableBy`:
/// confd renders `route <peer>/32 via <gateway>` in BIRD's static protocol).
/// It is installed like any route of ours, and next hops inside it resolve
/// through it, as BIRD's recursive next hops resolve through its static routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaticRoute {
    /// The peer's host prefix (`/32`, `/128`).
    pub prefix: IpNet,
    /// The gateway it is reached through.
    pub gateway: IpAddr,
}

/// The static routes whose gateway is on a connected subnet, as underlay routes
/// for the next-hop lookup: BIRD's static protocol takes a `via` only when the
/// gateway is a neighbour, and so does this lookup.
pub fn static_underlay(statics: &[StaticRoute], addrs: &[NodeAddr]) -> Vec<UnderlayRoute> {
    statics
        .iter()
        .filter_map(|s| {
            let a = addrs
                .iter()
                .filter(|a| a.net.contains(&s.gateway))
                .max_by_key(|a| a.net.prefix_len())?;
            Some(UnderlayRoute { dst: s.prefix, dev: a.dev, via: Some(s.gateway) })
        })
        .collect()
}

/// A tunnel device kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tunnel {
    /// `tunl0` (IPv4 in IPv4).
    Ipip,
    /// `vxlan.calico` (IPv4 underlay).
    VxlanV4,
    /// `vxlan-v6.calico` (IPv6 underlay).
    VxlanV6,
}

/// Interface indexes of the tunnel devices that exist (`None` = absent or unsupported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunnelDevs {
    /// `tunl0`.
    pub tunl0: Option<IfIndex>,
    /// `vxlan.calico`.
    pub vxlan_v4: Option<IfIndex>,
    /// `vxlan-v6.calico`.
    pub vxlan_v6: Option<IfIndex>,
}

impl TunnelDevs {
    fn get(&self, t: Tunnel) -> Option<IfIndex> {
        match t {
            Tunnel::Ipip => self.tunl0,
            Tunnel::VxlanV4 => self.vxlan_v4,
            Tunnel::VxlanV6 => self.vxlan_v6,
        }
    }
}

/// Everything about the node the decision depends on. [`NodeContext::change_to`] says
/// which routes a new context re-decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeContext {
    /// The node's own subnets, one per family at most: the networks of `node.ipv4` /
    /// `node.ipv6` (Calico's `network_v4` / `network_v6`). CrossSubnet compares next hops
    /// with these alone.
    pub subnets: Vec<IpNet>,
    /// The host's addresses (connected subnets): a next hop inside one is reached
    /// directly on that address's device. They never decide CrossSubnet.
    pub addrs: Vec<NodeAddr>,
    /// Underlay routes for next hops outside the connected subnets (longest match).
    pub underlay: Vec<UnderlayRoute>,
    /// The IP pools.
    pub pools: Vec<IpPool>,
    /// The service ranges (`[services]`): no route inside one is programmed.
    pub service_ranges: Vec<IpNet>,
    /// Who programs cluster routes.
    pub program: ProgramClusterRoutes,
    /// VXLAN pools are programmed here (device, VTEP entries, routes): a node without
    /// Felix. Off, they are Felix's, as in Calico.
    pub manage_vxlan: bool,
    /// The tunnel devices that exist.
    pub tunnels: TunnelDevs,
    /// Table to install into (254 = main).
    pub table: u32,
}

impl Default for NodeContext {
    fn default() -> Self {
        NodeContext {
            subnets: Vec::new(),
            addrs: Vec::new(),
            underlay: Vec::new(),
            pools: Vec::new(),
            service_ranges: Vec::new(),
            program: ProgramClusterRoutes::Enabled,
            manage_vxlan: false,
            tunnels: TunnelDevs::default(),
            table: crate::route::MAIN_TABLE,
        }
    }
}

/// What a new [`NodeContext`] changes for the routes already decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextChange {
    /// Nothing a decision reads.
    None,
    /// Connected subnets or underlay routes only: a route is affected only through a
    /// next hop inside one of these prefixes (the ones added or removed).
    Reach(Vec<IpNet>),
    /// Pools, service ranges, `programClusterRoutes`, the own subnets, tunnels or the
    /// table: every route.
    All,
}

impl ContextChange {
    /// Whether a route with these next hops must be decided again.
    pub fn affects(&self, next_hops: &[IpAddr]) -> bool {
        match self {
            ContextChange::None => false,
            ContextChange::All => true,
            ContextChange::Reach(nets) => {
                next_hops.iter().any(|nh| nets.iter().any(|n| n.contains(nh)))
            }
        }
    }
}

/// Whether the addresses of interface `name` are left out of the connected subnets, as
/// Calico's BIRD leaves them out (`protocol direct { interface -"cali*", -"kube-ipvs*",
/// "*"; }`): workload veths, and kube-proxy's IPVS device, which gets an address for every
/// cluster IP in use. Their address changes are ignored.
pub fn excluded_interface(name: &str) -> bool {
    name.starts_with("cali") || name.starts_with("kube-ipvs")
}

/// How a next hop is reached on the underlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Output device.
    pub dev: IfIndex,
    /// Underlay gateway, `None` when the next hop is on a connected subnet.
    pub via: Option<IpAddr>,
}

impl NodeContext {
    /// The most specific pool containing `prefix`.
    pub fn pool_of(&self, prefix: &IpNet) -> Option<&IpPool> {
        self.pools.iter().filter(|p| p.cidr.contains(prefix)).max_by_key(|p| p.cidr.prefix_len())
    }

    /// Whether `ip` lies in the node's own subnet of its family (`bgp_next_hop ~
    /// network_v4` in confd's kernel filter).
    pub fn in_own_subnet(&self, ip: IpAddr) -> bool {
        self.subnets.iter().any(|n| n.contains(&ip))
    }

    fn has_own_subnet(&self, v4: bool) -> bool {
        self.subnets.iter().any(|n| matches!(n, IpNet::V4(_)) == v4)
    }

    /// What replacing `self` by `new` changes for routes already decided: everything
    /// when pools, service ranges, the switch, the own subnets, tunnels or table differ; otherwise only
    /// the routes with a next hop inside an added or removed connected subnet or
    /// underlay route ([`NodeContext::reach`] reads nothing else).
    pub fn change_to(&self, new: &NodeContext) -> ContextChange {
        fn policy(
            c: &NodeContext,
        ) -> (&[IpNet], &[IpPool], &[IpNet], ProgramClusterRoutes, bool, TunnelDevs, u32) {
            (&c.subnets, &c.pools, &c.service_ranges, c.program, c.manage_vxlan, c.tunnels, c.table)
        }
        if policy(self) != policy(new) {
            return ContextChange::All;
        }
        let mut nets: Vec<IpNet> = Vec::new();
        let addrs = |c: &NodeContext| c.addrs.iter().copied().collect::<HashSet<NodeAddr>>();
        let (old_a, new_a) = (addrs(self), addrs(new));
        nets.extend(old_a.symmetric_difference(&new_a).map(|a| a.net));
        let underlay =
            |c: &NodeContext| c.underlay.iter().copied().collect::<HashSet<UnderlayRoute>>();
        let (old_u, new_u) = (underlay(self), underlay(new));
        nets.extend(old_u.symmetric_difference(&new_u).map(|u| u.dst));
        if nets.is_empty() {
            return ContextChange::None;
        }
        nets.sort_unstable();
        nets.dedup();
        ContextChange::Reach(nets)
    }

    /// The uplink lookup: connected subnets first (longest), then underlay routes.
    pub fn reach(&self, nh: IpAddr) -> Option<Reach> {
        if let Some(a) =
            self.addrs.iter().filter(|a| a.net.contains(&nh)).max_by_key(|a| a.net.prefix_len())
        {
            return Some(Reach { dev: a.dev, via: None });
        }
        let r = self
            .underlay
            .iter()
            .filter(|r| r.dst.contains(&nh))
            .max_by_key(|r| r.dst.prefix_len())?;
        // A gateway of another family would need RTA_VIA; not a Calico shape.
        match r.via {
            Some(gw) if gw.is_ipv4() != nh.is_ipv4() => None,
            via => Some(Reach { dev: r.dev, via }),
        }
    }
}

/// A best route handed over by the RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestRoute {
    /// The destination.
    pub prefix: IpNet,
    /// BGP next hops of the best path(s); several make an ECMP route.
    pub next_hops: Vec<IpAddr>,
    /// One of this node's own blocks (installed as a blackhole).
    pub local_block: bool,
    /// Kernel metric.
    pub priority: u32,
}

/// A remote VXLAN endpoint the kernel must know: one permanent neighbour entry
/// (`NH lladdr MAC`) and one FDB entry (`MAC dst NH`) on the VXLAN device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vtep {
    /// The VXLAN device.
    pub dev: IfIndex,
    /// The remote node's underlay address (the BGP next hop).
    pub ip: IpAddr,
    /// The remote `vxlan.calico` MAC, [`vtep_mac`] of `ip`.
    pub mac: [u8; 6],
}

/// Why a best route is not installed. Each one is reported, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A cluster route that `programClusterRoutes` leaves to another agent.
    NotOurs,
    /// Inside a service range: kube-proxy answers for it (confd's kernel filter
    /// rejects the ranges).
    ServiceRange,
    /// No next hop and not a local block.
    NoNextHop,
    /// No next hop can be reached on the underlay (first one named).
    Unreachable(IpAddr),
    /// The VXLAN device the pool asks for does not exist. (An IPIP route without
    /// `tunl0` goes in unencapsulated, as BIRD installs it.)
    TunnelMissing(Tunnel),
    /// Next hop of the other address family than the prefix.
    FamilyMismatch(IpAddr),
}

/// The outcome for one best route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Install this route (and these VTEP entries first).
    Program {
        /// The kernel route.
        route: DesiredRoute,
        /// VXLAN neighbour + FDB entries the route depends on (sorted).
        vteps: Vec<Vtep>,
    },
    /// Install nothing for this prefix (and remove ours if present).
    Skip(SkipReason),
}

impl Decision {
    /// The route, if any.
    pub fn route(&self) -> Option<&DesiredRoute> {
        match self {
            Decision::Program { route, .. } => Some(route),
            Decision::Skip(_) => None,
        }
    }
}

/// The encapsulation chosen for one next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encap {
    None,
    Tunnel(Tunnel),
}

fn wants(mode: EncapMode, same_subnet: bool) -> bool {
    match mode {
        EncapMode::Never => false,
        EncapMode::Always => true,
        EncapMode::CrossSubnet => !same_subnet,
    }
}

fn encap_for(ctx: &NodeContext, pool: Option<&IpPool>, nh: IpAddr) -> Encap {
    let Some(pool) = pool else { return Encap::None };
    let v4 = nh.is_ipv4();
    // Calico: "If network_v4 is missing, no IPv4 pool statements are
    // emitted (falls through to accept)" — without an own subnet there is nothing to
    // compare against, and Calico installs the plain route. Keep that behaviour.
    if !ctx.has_own_subnet(v4) {
        return Encap::None;
    }
    let same = ctx.in_own_subnet(nh);
    // Calico forbids both modes on one pool; if both are set anyway VXLAN wins, since
    // it is the one that works on every kernel.
    if wants(pool.vxlan_mode, same) {
        return Encap::Tunnel(if v4 { Tunnel::VxlanV4 } else { Tunnel::VxlanV6 });
    }
    // "IPv6 never uses krt_tunnel" (bgp_processor.go): no IPIP for IPv6.
    if v4 && wants(pool.ipip_mode, same) {
        return Encap::Tunnel(Tunnel::Ipip);
    }
    Encap::None
}

/// The metric the kernel gives an IPv6 route added with none.
pub const IP6_RT_PRIO_USER: u32 = 1024;

/// Decides the kernel route for one best route.
pub fn decide(best: &BestRoute, ctx: &NodeContext) -> Decision {
    // First in confd's kernel filter, before the pools: "Don't program static routes
    // into kernel."
    if ctx.service_ranges.iter().any(|r| r.contains(&best.prefix)) {
        return Decision::Skip(SkipReason::ServiceRange);
    }
    let pool = ctx.pool_of(&best.prefix);
    if let Some(p) = pool {
        if !ctx.program.admits(p, ctx.manage_vxlan) {
            return Decision::Skip(SkipReason::NotOurs);
        }
    }
    // The kernel stores an IPv6 route given metric 0 with metric 1024
    // (IP6_RT_PRIO_USER); ask for that, or the dump never matches and the plan would
    // rewrite the route forever.
    let metric = match (best.prefix, best.priority) {
        (IpNet::V6(_), 0) => IP6_RT_PRIO_USER,
        (_, p) => p,
    };
    let route = |kind| DesiredRoute { prefix: best.prefix.trunc(), kind, table: ctx.table, metric };
    if best.local_block {
        return Decision::Program { route: route(RouteKind::Blackhole), vteps: Vec::new() };
    }
    let v4 = matches!(best.prefix, IpNet::V4(_));
    // Nearly every route has one next hop: decide it without the multipath vectors
    // (this runs for every route of a full table).
    if let [nh] = best.next_hops[..] {
        let mut vteps = Vec::new();
        let hop = if nh.is_ipv4() != v4 {
            Err(SkipReason::FamilyMismatch(nh))
        } else {
            hop_for(ctx, pool, nh, &mut vteps)
        };
        return match hop {
            Ok(h) => Decision::Program { route: route(RouteKind::Via(h)), vteps },
            Err(why) => Decision::Skip(why),
        };
    }
    let mut hops = Vec::new();
    let mut vteps = Vec::new();
    let mut first_problem = None;
    for &nh in &best.next_hops {
        let hop = if nh.is_ipv4() != v4 {
            Err(SkipReason::FamilyMismatch(nh))
        } else {
            hop_for(ctx, pool, nh, &mut vteps)
        };
        match hop {
            Ok(h) => hops.push(h),
            Err(why) => {
                first_problem.get_or_insert(why);
            }
        }
    }
    match RouteKind::from_hops(hops) {
        Some(kind) => {
            vteps.sort_unstable();
            vteps.dedup();
            Decision::Program { route: route(kind), vteps }
        }
        None => Decision::Skip(first_problem.unwrap_or(SkipReason::NoNextHop)),
    }
}

fn hop_for(
    ctx: &NodeContext,
    pool: Option<&IpPool>,
    nh: IpAddr,
    vteps: &mut Vec<Vtep>,
) -> Result<NextHop, SkipReason> {
    let encap = match encap_for(ctx, pool, nh) {
        // The fork installs the tunnel shape only when `if_find_by_name(krt_tunnel)`
        // finds the device; without `tunl0` it installs the ordinary route. When Felix
        // creates `tunl0`, the link event re-decides it in place (BIRD: its next scan).
        Encap::Tunnel(Tunnel::Ipip) if ctx.tunnels.tunl0.is_none() => Encap::None,
        e => e,
    };
    match encap {
        Encap::None => {
            let r = ctx.reach(nh).ok_or(SkipReason::Unreachable(nh))?;
            Ok(NextHop { gateway: r.via.unwrap_or(nh), dev: r.dev, onlink: false })
        }
        Encap::Tunnel(t) => {
            let dev = ctx.tunnels.get(t).ok_or(SkipReason::TunnelMissing(t))?;
            if t != Tunnel::Ipip {
                vteps.push(Vtep { dev, ip: nh, mac: vtep_mac(nh) });
            }
            // CBIRD netlink.c: tunnel routes take RTA_GATEWAY = the BGP next hop itself
            // and RTNH_F_ONLINK, since the next hop is not on the tunnel's subnet.
            Ok(NextHop { gateway: nh, dev, onlink: true })
        }
    }
}

/// The VXLAN device MAC of the node whose underlay address is `ip`: locally
/// administered unicast `02:cb:` + the IPv4 octets, or + FNV-1a-32 of the IPv6 octets.
pub fn vtep_mac(ip: IpAddr) -> [u8; 6] {
    let tail = match ip {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => {
            // FNV-1a, fixed here rather than std's hasher, whose output may change
            // between Rust releases: every node must compute the same MAC.
            let mut h: u32 = 0x811c_9dc5;
            for b in a.octets() {
                h ^= u32::from(b);
                h = h.wrapping_mul(0x0100_0193);
            }
            h.to_be_bytes()
        }
    };
    [0x02, 0xcb, tail[0], tail[1], tail[2], tail[3]]
}

#[cfg(test)]
mod tests;
