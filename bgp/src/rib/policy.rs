//! Route propagation policy: what is accepted from a peer, what may be sent
//! to whom, and how the attributes change on the way out.
//!
//! ```text
//!  import (per attribute set)         export (per path, per export group)
//!  ---------------------------        ------------------------------------------------
//!  local AS in AS_PATH > allowed      source class x destination class  (RFC 4456 §6)
//!  ORIGINATOR_ID == our router id     Calico IP-pool filter (learned routes only)
//!  our CLUSTER_ID in CLUSTER_LIST     eBGP: prepend AS, next hop self, drop LOCAL_PREF,
//!                                           foreign MED, ORIGINATOR_ID, CLUSTER_LIST
//!                                     iBGP: LOCAL_PREF always, next hop per mode,
//!                                           reflector: ORIGINATOR_ID, CLUSTER_LIST
//! ```
//!
//! Reflection matrix (RFC 4456 §6), `rr` = we are a route reflector:
//!
//! ```text
//!   from \ to        eBGP   iBGP non-client   iBGP client
//!   local            yes    yes               yes
//!   eBGP             yes    yes               yes
//!   iBGP non-client  yes    no                rr
//!   iBGP client      yes    rr                rr
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::best::RejectReason;
use super::intern::StoredAttrs;
use crate::config::{IpPool, NextHopMode};
use crate::wire::AfiSafi;
use crate::wire::attr::{ClusterList, MpNextHop, Origin, PathAttrs};

/// LOCAL_PREF given to routes that carry none (eBGP-learned, or local
/// routes without a priority): the usual default of BIRD, FRR and Cisco.
pub const DEFAULT_LOCAL_PREF: u32 = 100;
/// Calico's normal kernel route priority (`NormalRoutePriority`); lower
/// metrics are "elevated" routes (e.g. during live migration).
pub const NORMAL_ROUTE_PRIORITY: u32 = 1024;
/// Calico maps a kernel metric `m` to LOCAL_PREF `2147483647 - m`.
const PRIORITY_BASE: u32 = 2_147_483_647;

/// LOCAL_PREF that carries kernel route priority `metric` across iBGP, the
/// way Calico's export prologue does (`bgp_local_pref = 2^31-1 - krt_metric`).
pub fn local_pref_from_priority(metric: u32) -> u32 {
    PRIORITY_BASE.saturating_sub(metric)
}

/// The kernel metric for a route with `local_pref` (Calico's kernel
/// filter): elevated LOCAL_PREFs map back to their metric, everything else
/// gets the normal priority.
pub fn priority_from_local_pref(local_pref: Option<u32>) -> u32 {
    match local_pref {
        Some(lp) if lp > PRIORITY_BASE - NORMAL_ROUTE_PRIORITY && lp <= PRIORITY_BASE => {
            PRIORITY_BASE - lp
        }
        _ => NORMAL_ROUTE_PRIORITY,
    }
}

/// What a peer is, for propagation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerClass {
    /// The local router (originated routes).
    Local,
    /// An external peer.
    Ebgp,
    /// An internal peer that is not our route-reflector client.
    IbgpNonClient,
    /// An internal peer that is our route-reflector client.
    IbgpClient,
}

impl PeerClass {
    /// Whether routes from this class are internal.
    pub fn is_ibgp(self) -> bool {
        matches!(self, PeerClass::IbgpNonClient | PeerClass::IbgpClient)
    }
}

/// Whether a route learned from `from` may be sent to `to`.
pub fn may_send(from: PeerClass, to: PeerClass, rr: bool) -> bool {
    use PeerClass::*;
    match (from, to) {
        (_, Local) => false,
        (Local | Ebgp, _) | (_, Ebgp) => true,
        // RFC 4271 §9.2: routes learned from an internal peer are not sent
        // to other internal peers — unless we reflect (RFC 4456 §6):
        // "A Route from a Non-Client IBGP peer: Reflect to all the Clients."
        (IbgpNonClient, IbgpNonClient) => false,
        (IbgpNonClient, IbgpClient) => rr,
        // "A Route from a Client peer: Reflect to all the Non-Client peers
        // and also to the Client peers."
        (IbgpClient, IbgpNonClient | IbgpClient) => rr,
    }
}

/// The RIB's view of a configured peer needed by import and export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerFacts {
    pub class: PeerClass,
    pub addr: IpAddr,
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    pub allowed_local_as: u8,
}

/// Router-wide facts the policy needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouterFacts {
    pub router_id: Ipv4Addr,
    pub cluster_id: Option<Ipv4Addr>,
    pub rr: bool,
}

/// Import checks on an attribute set from `peer`: `Some(reason)` makes the
/// path ineligible (kept in Adj-RIB-In for `show route`, never selected).
pub(crate) fn import_check(
    a: &PathAttrs,
    peer: &PeerFacts,
    router: RouterFacts,
) -> Option<RejectReason> {
    // RFC 4271 §9.1.2: "If the AS_PATH attribute of a BGP route contains an
    // AS loop, the BGP route should be excluded from the Phase 2 decision
    // function." Calico's numAllowedLocalASNumbers (BIRD `allow local as N`)
    // tolerates up to N occurrences.
    if let Some(p) = &a.as_path {
        let n = p.asns().filter(|&x| x == peer.local_as).count();
        if n > usize::from(peer.allowed_local_as) {
            return Some(RejectReason::AsLoop);
        }
    }
    if peer.class.is_ibgp() {
        // RFC 4456 §8: "A router that recognizes the ORIGINATOR_ID attribute
        // SHOULD ignore a route received with its BGP Identifier as the
        // ORIGINATOR_ID."
        if a.originator_id == Some(router.router_id) {
            return Some(RejectReason::OriginatorIdLoop);
        }
        // RFC 4456 §8: "If the local CLUSTER_ID is found in the CLUSTER_LIST,
        // the advertisement received SHOULD be ignored."
        if let (true, Some(id), Some(cl)) = (router.rr, router.cluster_id, &a.cluster_list) {
            if cl.contains(id) {
                return Some(RejectReason::ClusterLoop);
            }
        }
    }
    None
}

/// Which learned routes may be advertised: Calico's
/// `calico_export_to_bgp_peers()` filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExportPolicy {
    /// Apply the IP-pool filter to learned routes: a route inside a pool
    /// with BGP export disabled is never sent; one inside an enabled pool,
    /// an advertised service range (confd's `if ( net ~ 10.96.0.0/12 ) then
    /// { accept; }`) or `also_allow` is; anything else is not. Locally
    /// originated routes (own blocks, service addresses) are always sent.
    pub pool_filter: bool,
    /// Further prefixes whose learned routes may be sent (a route reflector's
    /// service load-balancer and external IP ranges).
    pub also_allow: Vec<IpNet>,
}

impl Default for ExportPolicy {
    fn default() -> Self {
        ExportPolicy { pool_filter: true, also_allow: Vec::new() }
    }
}

impl ExportPolicy {
    /// Sends every learned route (no pool filter).
    pub fn all() -> Self {
        ExportPolicy { pool_filter: false, also_allow: Vec::new() }
    }

    /// Whether a learned route for `prefix` passes, given the pools and the
    /// advertised service ranges.
    pub fn allows_learned(&self, prefix: IpNet, pools: &[IpPool], services: &[IpNet]) -> bool {
        if !self.pool_filter {
            return true;
        }
        // Calico emits the disabled pools' rejects before the enabled
        // pools' accepts, so a disabled pool wins wherever pools overlap.
        if pools.iter().any(|p| p.disable_bgp_export && p.cidr.contains(&prefix)) {
            return false;
        }
        pools.iter().any(|p| !p.disable_bgp_export && p.cidr.contains(&prefix))
            || services.iter().any(|c| c.contains(&prefix))
            || self.also_allow.iter().any(|c| c.contains(&prefix))
    }
}

/// How a destination export group rewrites attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExportTarget {
    pub class: PeerClass,
    pub local_as: u32,
    pub next_hop_mode: NextHopMode,
    pub local_v4: Option<Ipv4Addr>,
    pub local_v6: Option<Ipv6Addr>,
    /// RFC 8950 IPv6 next hops for IPv4 NLRI were negotiated.
    pub v4_over_v6: bool,
    /// An external peer in mode `auto` on this directly connected subnet
    /// of ours: learned next hops inside it are kept (third party).
    pub shared_subnet: Option<IpNet>,
}

impl ExportTarget {
    /// Whether `nh` may go to the peer unchanged as a third-party next hop.
    ///
    /// RFC 4271 §5.1.3: "When sending a message to an external peer X, and
    /// the peer is one IP hop away from the speaker: - If the route being
    /// announced was learned from an internal peer or is locally originated,
    /// the BGP speaker can use an interior peer's address in the NEXT_HOP
    /// attribute, provided that peer X shares a common subnet with this
    /// address." (and likewise for an adjacent router's address learned
    /// from another external peer). BIRD does this by default; it spares
    /// the ToR a detour through the node that relayed the route.
    fn third_party(&self, nh: MpNextHop) -> bool {
        let addr = match nh {
            MpNextHop::Ipv4(a) => IpAddr::V4(a),
            MpNextHop::Ipv6 { global, .. } => IpAddr::V6(global),
        };
        let ours = match addr {
            IpAddr::V4(a) => self.local_v4 == Some(a),
            IpAddr::V6(a) => self.local_v6 == Some(a),
        };
        !ours && self.shared_subnet.is_some_and(|n| n.contains(&addr))
    }

    /// Our own address as next hop for NLRI of `family`.
    fn own_next_hop(&self, family: AfiSafi) -> Option<MpNextHop> {
        let v6 = |global| MpNextHop::Ipv6 { global, link_local: None };
        if family.afi == crate::wire::Afi::IPV6 {
            return self.local_v6.map(v6);
        }
        match (self.local_v4, self.local_v6) {
            (Some(a), _) => Some(MpNextHop::Ipv4(a)),
            (None, Some(g)) if self.v4_over_v6 => Some(v6(g)),
            _ => None,
        }
    }
}

/// The attributes and next hop a path from `src` with `a` is sent with to
/// `to`; `None` if it cannot be sent (no usable next hop). The caller has
/// already checked [`may_send`].
pub(crate) fn export_attrs(
    a: &StoredAttrs,
    src: &PeerFacts,
    to: &ExportTarget,
    router: RouterFacts,
) -> Option<(PathAttrs, MpNextHop)> {
    let mut out = a.attrs.clone();
    out.next_hop = None;
    let learned_nh = a.next_hop;
    let next_hop = match (to.next_hop_mode, to.class, learned_nh) {
        // Locally originated routes have no next hop but ours.
        (_, _, None) => to.own_next_hop(a.family)?,
        (NextHopMode::SelfAddr, _, _) => to.own_next_hop(a.family)?,
        (NextHopMode::Keep, _, Some(nh)) => nh,
        (NextHopMode::Auto, PeerClass::Ebgp, Some(nh)) if to.third_party(nh) => nh,
        // RFC 4271 §5.1.3: to an external peer, our address; to an internal
        // peer "the BGP speaker SHOULD NOT modify the NEXT_HOP attribute".
        (NextHopMode::Auto, PeerClass::Ebgp, _) => to.own_next_hop(a.family)?,
        (NextHopMode::Auto, _, Some(nh)) => nh,
    };
    // RFC 8950 §3: an IPv6 next hop for IPv4 NLRI only to a peer that
    // advertised the Extended Next Hop Encoding capability for them; to any
    // other, our own IPv4 address (if we have one on the session) or nothing.
    let next_hop = match next_hop {
        MpNextHop::Ipv6 { .. } if a.family.afi == crate::wire::Afi::IPV4 && !to.v4_over_v6 => {
            MpNextHop::Ipv4(to.local_v4?)
        }
        nh => nh,
    };
    // A link-local next hop only means something on the link it was learned on.
    let next_hop = match next_hop {
        MpNextHop::Ipv6 { global, .. } => MpNextHop::Ipv6 { global, link_local: None },
        v4 => v4,
    };
    if out.origin.is_none() {
        out.origin = Some(Origin::Igp);
    }
    // RFC 4271 §5: an unrecognized optional transitive attribute "is
    // retained for propagation to other BGP speakers" with "the Partial bit
    // in the attribute flags octet ... set to 1" (and §9.1.3: it is passed
    // on, whoever the peer); the decoder kept no other kind.
    out.unknown =
        out.unknown.iter().filter(|u| u.is_forwardable()).map(|u| u.for_forwarding()).collect();
    let mut path = out.as_path.take().unwrap_or_default();
    if to.class == PeerClass::Ebgp {
        // RFC 4271 §5.1.2: "the local system prepends its own AS number".
        path.prepend(to.local_as);
        // §5.1.5: "A BGP speaker MUST NOT include this attribute in UPDATE
        // messages it sends to external peers".
        out.local_pref = None;
        // §5.1.4: a MED received from a neighbouring AS "MUST NOT be
        // propagated to other neighboring ASes"; our own routes may set one.
        if src.class != PeerClass::Local {
            out.med = None;
        }
        // RFC 4456 ORIGINATOR_ID / CLUSTER_LIST are optional non-transitive
        // and meaningful only inside the AS.
        out.originator_id = None;
        out.cluster_list = None;
    } else {
        // §5.1.5: "A BGP speaker MUST include this attribute in UPDATE
        // messages it sends to internal peers" — eBGP-learned routes carry
        // the degree of preference we computed (the default).
        // A LOCAL_PREF our import filter set (`set_priority`) is ours.
        let ours = a.import.as_ref().is_some_and(|m| m.received.is_some());
        if (src.class == PeerClass::Ebgp && !ours) || out.local_pref.is_none() {
            out.local_pref = Some(DEFAULT_LOCAL_PREF);
        }
        if src.class.is_ibgp() && router.rr {
            // RFC 4456 §8: "This attribute [ORIGINATOR_ID] will be created by
            // an RR in reflecting a route ... carry the BGP Identifier of the
            // originator"; "When an RR reflects a route, it MUST prepend the
            // local CLUSTER_ID to the CLUSTER_LIST."
            if out.originator_id.is_none() {
                out.originator_id = Some(src.router_id);
            }
            let mut cl = out.cluster_list.take().unwrap_or(ClusterList(Vec::new()));
            cl.prepend(router.cluster_id.unwrap_or(router.router_id));
            out.cluster_list = Some(cl);
        }
    }
    out.as_path = Some(path);
    Some((out, next_hop))
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
