//! The RIB's public inputs and outputs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use ipnet::IpNet;

use super::best::RejectReason;
use super::filter::PeerFilters;
use super::graceful::GrTimerAction;
use super::intern::StoredAttrs;
use super::policy::ExportPolicy;
use crate::config::{IpPool, NextHopMode};
use crate::wire::attr::{Community, LargeCommunity};
use crate::wire::{AfiSafi, EncodeCtx, EncodeError, Negotiated};

/// A peer, as the daemon names it. Any `u32` the daemon likes, unique among
/// the peers that are up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

/// Router-wide RIB settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RibConfig {
    /// Our AS (peers may override it per session with [`PeerInfo::local_as`]).
    pub local_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// CLUSTER_ID when reflecting; the router id when `None` (RFC 4456 §7).
    pub cluster_id: Option<Ipv4Addr>,
    /// We are a route reflector (RFC 4456): routes are reflected between
    /// iBGP peers per the client/non-client matrix.
    pub route_reflector: bool,
    /// Produce [`FibChange`]s (`fib.enabled`; a dedicated route-reflector
    /// host may turn it off).
    pub fib: bool,
    /// Next hops are unusable until [`super::Rib::nexthop_reachability`]
    /// reports them (Calico's recursive `gateway`); when false every next
    /// hop counts as reachable at IGP cost 0 unless reported otherwise.
    pub resolve_next_hops: bool,
    /// Calico IP pools, for the export filter.
    pub ip_pools: Vec<IpPool>,
    /// Our own addresses beyond each session's local address (the node's):
    /// a received route whose next hop is one of them is ignored (RFC 4271
    /// §6.3).
    pub own_addrs: Vec<IpAddr>,
    /// The advertised service ranges (`[services]`): learned routes inside
    /// them are sent on, as confd's export filter accepts them.
    pub service_ranges: Vec<IpNet>,
}

impl RibConfig {
    /// A configuration with the FIB on, next hops assumed reachable, no
    /// reflection and no pools.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Self {
        RibConfig {
            local_as,
            router_id,
            cluster_id: None,
            route_reflector: false,
            fib: true,
            resolve_next_hops: false,
            ip_pools: Vec::new(),
            own_addrs: Vec::new(),
            service_ranges: Vec::new(),
        }
    }
}

/// What the RIB needs to know about an established session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: IpAddr,
    /// The peer's AS.
    pub asn: u32,
    /// Our AS on this session (Calico per-peer `local as`).
    pub local_as: u32,
    /// The peer's BGP Identifier (from its OPEN).
    pub router_id: Ipv4Addr,
    /// The peer is our route-reflector client (`rr client`); ignored unless
    /// [`RibConfig::route_reflector`] is set.
    pub rr_client: bool,
    /// How we set NEXT_HOP towards the peer.
    pub next_hop_mode: NextHopMode,
    /// Our IPv4 address on the session, for next hop self.
    pub local_addr_v4: Option<Ipv4Addr>,
    /// Our IPv6 address on the session, for next hop self.
    pub local_addr_v6: Option<Ipv6Addr>,
    /// The subnet our end of the session is on (the node's address with
    /// its prefix length, when the session runs from that address). When
    /// the peer is external and inside it, mode `auto` keeps a learned next
    /// hop that is inside it too instead of setting our own: the RFC 4271
    /// §5.1.3 "third party" next hop BIRD uses by default.
    pub local_subnet: Option<IpNet>,
    /// Families negotiated on the session.
    pub families: Vec<AfiSafi>,
    /// The send-side codec context (4-octet AS, ADD-PATH send families,
    /// extended messages, extended next hop).
    pub encode: EncodeCtx,
    /// Enhanced route refresh (RFC 7313) was negotiated: refreshes are
    /// wrapped in BoRR/EoRR.
    pub enhanced_route_refresh: bool,
    /// Occurrences of our AS tolerated in a received AS_PATH (Calico
    /// `numAllowedLocalASNumbers`, BIRD `allow local as`).
    pub allowed_local_as: u8,
    /// Export filter for learned routes.
    pub export: ExportPolicy,
    /// The peer's Calico `BGPFilter`s, in order: import rules judge its
    /// routes before best path, export rules what it is sent before
    /// [`PeerInfo::export`].
    pub filters: PeerFilters,
    /// The peer advertised the Graceful Restart capability on this session
    /// (RFC 4724): it keeps our routes across our restart, so a restarting
    /// speaker defers its table to it ([`super::Rib::begin_deferral`]).
    pub graceful_restart: bool,
    /// Families whose forwarding state the peer says it preserved across
    /// its restart (F bit, RFC 4724 §3; or RFC 9494 LLGR's). Stale routes
    /// of other families are swept when it comes back.
    pub gr_forwarding: Vec<AfiSafi>,
    /// The peer advertised Long-Lived Graceful Restart (RFC 9494): it may
    /// be sent routes carrying LLGR_STALE.
    pub llgr: bool,
}

impl PeerInfo {
    /// An IPv4-unicast session with defaults for everything else.
    pub fn new(addr: IpAddr, asn: u32, local_as: u32, router_id: Ipv4Addr) -> Self {
        PeerInfo {
            addr,
            asn,
            local_as,
            router_id,
            rr_client: false,
            next_hop_mode: NextHopMode::Auto,
            local_addr_v4: None,
            local_addr_v6: None,
            local_subnet: None,
            families: vec![AfiSafi::IPV4_UNICAST],
            encode: EncodeCtx { four_octet_as: true, ..EncodeCtx::default() },
            enhanced_route_refresh: false,
            allowed_local_as: 0,
            export: ExportPolicy::default(),
            filters: PeerFilters::default(),
            graceful_restart: false,
            gr_forwarding: Vec::new(),
            llgr: false,
        }
    }

    /// Fills the graceful restart fields from what the session negotiated.
    pub fn with_graceful_restart(mut self, n: &Negotiated) -> Self {
        self.graceful_restart = n.peer_graceful_restart.is_some();
        self.llgr = n.peer_llgr.is_some();
        self.gr_forwarding = n
            .families
            .iter()
            .copied()
            .filter(|&f| {
                n.forwarding_preserved(f)
                    || n.peer_llgr.iter().flatten().any(|l| l.family == f && l.forwarding)
            })
            .collect();
        self
    }

    /// Whether the session is internal.
    pub fn is_ibgp(&self) -> bool {
        self.asn == self.local_as
    }
}

/// A locally originated route: one of the node's blocks, a service address,
/// or an elevated-priority workload route.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalRoute {
    /// Standard communities to attach (Calico `prefixAdvertisements`).
    pub communities: Vec<Community>,
    /// Large communities to attach.
    pub large_communities: Vec<LargeCommunity>,
    /// Kernel metric below [`super::NORMAL_ROUTE_PRIORITY`] to carry as
    /// LOCAL_PREF `2147483647 - metric`; `None`: the default LOCAL_PREF.
    pub priority: Option<u32>,
    /// MED to send (to eBGP peers too: it is our own route).
    pub med: Option<u32>,
    /// Install a blackhole route in the FIB while this route is best (the
    /// node's own IPAM blocks).
    pub blackhole: bool,
}

/// A route for the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FibRoute {
    /// BGP next hops of the multipath set (sorted, deduplicated); the FIB
    /// resolves them recursively. Empty for a blackhole.
    pub next_hops: Vec<IpAddr>,
    /// Drop traffic (a local block).
    pub blackhole: bool,
    /// Kernel metric derived from LOCAL_PREF (Calico's kernel filter).
    pub priority: u32,
}

/// A change of the kernel route for one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FibChange {
    /// The prefix.
    pub prefix: IpNet,
    /// The new route; `None` removes it.
    pub route: Option<FibRoute>,
}

/// Everything a RIB call asks the daemon to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Complete encoded messages per peer, in send order (UPDATEs, then
    /// End-of-RIB or EoRR where due). Members of one export group share the
    /// same `Bytes` buffers.
    pub to_peers: Vec<(PeerId, Vec<Bytes>)>,
    /// Kernel route changes.
    pub fib: Vec<FibChange>,
    /// Next hops to start resolving (only with `resolve_next_hops`).
    pub track_nexthops: Vec<IpAddr>,
    /// Next hops no route uses any more.
    pub untrack_nexthops: Vec<IpAddr>,
    /// Routes that could not be encoded for a peer (attributes too large
    /// for a message); they are not sent.
    pub errors: Vec<(PeerId, EncodeError)>,
    /// Graceful restart timers to start or stop (helper mode, RFC 4724
    /// §4.2); each expiry goes back to [`super::Rib::gr_timer_expired`].
    pub gr_timers: Vec<GrTimerAction>,
}

impl Output {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.to_peers.is_empty()
            && self.fib.is_empty()
            && self.track_nexthops.is_empty()
            && self.untrack_nexthops.is_empty()
            && self.errors.is_empty()
            && self.gr_timers.is_empty()
    }

    /// The messages for `peer` (empty if none).
    pub fn messages_for(&self, peer: PeerId) -> &[Bytes] {
        self.to_peers.iter().find(|(p, _)| *p == peer).map_or(&[], |(_, m)| m)
    }
}

/// One path, as `show route` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteView {
    /// The prefix.
    pub prefix: IpNet,
    /// The peer it came from; `None` for a local route.
    pub peer: Option<PeerId>,
    /// Learned from the kernel (`peer` is `None`).
    pub kernel: bool,
    /// ADD-PATH path identifier received (0 without).
    pub rx_path_id: u32,
    /// ADD-PATH path identifier we send it with.
    pub tx_path_id: u32,
    /// Its attributes (shared with every path that has the same).
    pub attrs: Arc<StoredAttrs>,
    /// Selected as best (in Loc-RIB).
    pub best: bool,
    /// In the multipath set.
    pub multipath: bool,
    /// Why it is not best, or not usable.
    pub reason: Option<RejectReason>,
    /// Kept from a peer in graceful restart, not refreshed yet.
    pub stale: bool,
    /// The import filter rule that accepted (and perhaps changed) or
    /// rejected the path, e.g. `filter tor-in import_v4[1]: reject`.
    pub filter: Option<String>,
    /// The interface its next hop is reached by, as filters see it (BIRD's
    /// `ifname`); `None` when unreachable, unknown or a local route.
    pub interface: Option<String>,
}

/// Route counters of one peer (BIRD's `Routes: N imported, M preferred`),
/// also what a max-prefix limit compares against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Paths held from the peer (its Adj-RIB-In), rejected ones included.
    pub received: u32,
    /// Paths that passed the import checks.
    pub accepted: u32,
    /// Paths selected as best.
    pub best: u32,
    /// The same three counts for IPv4 (`[0]`) and IPv6 (`[1]`) unicast: a
    /// session may carry both (MP-BGP to a ToR), and `show peer` lists each.
    pub families: [FamilyStats; 2],
}

/// [`PeerStats`] of one address family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamilyStats {
    /// Paths held from the peer, rejected ones included.
    pub received: u32,
    /// Paths that passed the import checks.
    pub accepted: u32,
    /// Paths selected as best.
    pub best: u32,
}
