//! Best-path selection: RFC 4271 §9.1.2.2 with the route-reflection
//! tie-breakers of RFC 4456 §9, the multipath set for ECMP, and the reason
//! each losing path lost (kept per path for `show route`).
//!
//! ```text
//!  step  prefer                                   loser's RejectReason
//!  ----  ---------------------------------------  --------------------
//!   0    locally originated over learned          LocalRoutePreferred
//!   0'   BGP over learned from the kernel         KernelRouteLower
//!   1    highest LOCAL_PREF (§9.1.1)              LocalPrefLower
//!   2    shortest AS_PATH (a)                     AsPathLonger
//!   3    lowest ORIGIN (b)                        OriginWorse
//!   4    lowest MED, same neighbour AS only (c)   MedHigher
//!   5    eBGP over iBGP (d)                       IbgpVsEbgp
//!   6    lowest IGP cost to the next hop (e)      IgpCostHigher
//!        ---- paths equal so far form the multipath (ECMP) set ----
//!   7    lowest ORIGINATOR_ID / BGP Identifier (f, RFC 4456 §9)
//!                                                 RouterIdHigher
//!   8    shortest CLUSTER_LIST (RFC 4456 §9)      ClusterListLonger
//!   9    lowest peer address (g)                  PeerAddressHigher
//!  10    lowest received path identifier          PathIdHigher
//! ```
//!
//! Step 4 is not transitive ("MED only among routes from the same
//! neighbouring AS"), so pairwise elimination would depend on the order the
//! paths arrived in. [`select`] therefore first picks the best of each
//! neighbour-AS group with the full comparison, then the best of the group
//! winners without MED (the "deterministic MED" of FRR and Cisco): the result
//! is a function of the set of paths alone.

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::wire::attr::Origin;

/// Why a path is not the best one, or cannot be used at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RejectReason {
    /// A locally originated route for the prefix wins (BIRD's static
    /// routes have a higher preference than BGP ones).
    LocalRoutePreferred = 1,
    /// A route learned from the kernel, where a BGP path exists (BIRD's
    /// preferences: BGP 100, kernel 10).
    KernelRouteLower,
    /// Lower LOCAL_PREF (RFC 4271 §9.1.1).
    LocalPrefLower,
    /// Longer AS_PATH (§9.1.2.2 a).
    AsPathLonger,
    /// Worse ORIGIN (§9.1.2.2 b).
    OriginWorse,
    /// Higher MED than a path from the same neighbouring AS (§9.1.2.2 c).
    MedHigher,
    /// Learned over iBGP while the best was learned over eBGP (§9.1.2.2 d).
    IbgpVsEbgp,
    /// Higher IGP cost to the next hop (§9.1.2.2 e).
    IgpCostHigher,
    /// Higher ORIGINATOR_ID or BGP Identifier (§9.1.2.2 f, RFC 4456 §9).
    RouterIdHigher,
    /// Longer CLUSTER_LIST (RFC 4456 §9).
    ClusterListLonger,
    /// Higher peer address (§9.1.2.2 g).
    PeerAddressHigher,
    /// Same peer, higher ADD-PATH path identifier (last, deterministic tie).
    PathIdHigher,
    /// Long-lived stale (RFC 9494 §4: "treated as the least preferred")
    /// while a path that is not is available.
    LlgrStale,
    /// The next hop cannot be resolved (unusable until it can, §9.1.2).
    NextHopUnreachable,
    /// The next hop is one of our own addresses: "semantically incorrect"
    /// (RFC 4271 §6.3: it "MUST NOT be the IP address of the receiving
    /// speaker"), so "the route SHOULD be ignored".
    NextHopOwn,
    /// The local AS appears in AS_PATH more often than allowed (§9.1.2).
    AsLoop,
    /// ORIGINATOR_ID is our own BGP Identifier (RFC 4456 §8).
    OriginatorIdLoop,
    /// Our CLUSTER_ID is in CLUSTER_LIST (RFC 4456 §8).
    ClusterLoop,
    /// A rule of the peer's import filters rejected it (Calico `BGPFilter`).
    ImportFiltered,
}

impl RejectReason {
    /// Whether the path cannot be used at all (rather than having lost).
    pub fn is_ineligible(self) -> bool {
        self >= RejectReason::NextHopUnreachable
    }

    /// A short phrase for `show route`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::LocalRoutePreferred => "local route preferred",
            RejectReason::KernelRouteLower => "kernel route, BGP preferred",
            RejectReason::LocalPrefLower => "lower local preference",
            RejectReason::AsPathLonger => "longer AS path",
            RejectReason::OriginWorse => "worse origin",
            RejectReason::MedHigher => "higher MED",
            RejectReason::IbgpVsEbgp => "iBGP vs eBGP",
            RejectReason::IgpCostHigher => "higher IGP cost",
            RejectReason::RouterIdHigher => "higher router id",
            RejectReason::ClusterListLonger => "longer cluster list",
            RejectReason::PeerAddressHigher => "higher peer address",
            RejectReason::PathIdHigher => "higher path id",
            RejectReason::LlgrStale => "long-lived stale",
            RejectReason::NextHopUnreachable => "next hop unreachable",
            RejectReason::NextHopOwn => "next hop is our own address",
            RejectReason::AsLoop => "AS loop",
            RejectReason::OriginatorIdLoop => "own originator id",
            RejectReason::ClusterLoop => "cluster loop",
            RejectReason::ImportFiltered => "import filter",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the decision process looks at, flattened from the path, its
/// attributes, its peer and its next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Locally originated.
    pub local: bool,
    /// Learned from the kernel (loses to every other path).
    pub kernel: bool,
    /// Effective LOCAL_PREF (the default for eBGP-learned routes).
    pub local_pref: u32,
    /// AS_PATH length as RFC 4271 §9.1.2.2 a counts it.
    pub as_path_len: usize,
    /// ORIGIN.
    pub origin: Origin,
    /// MED, 0 when absent ("treated as having the lowest possible MED").
    pub med: u32,
    /// The neighbouring AS the MED is relative to; `None` never compares.
    pub neighbor_as: Option<u32>,
    /// Learned over eBGP.
    pub ebgp: bool,
    /// IGP cost to the next hop.
    pub igp_cost: u32,
    /// ORIGINATOR_ID if present, else the peer's BGP Identifier.
    pub router_id: Ipv4Addr,
    /// CLUSTER_LIST length.
    pub cluster_list_len: usize,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// Received ADD-PATH path identifier (0 without ADD-PATH).
    pub path_id: u32,
}

/// Compares two paths. `Less` means `a` is preferred; the reason is the step
/// that decided, phrased for the loser. `Equal` (same peer and path id)
/// comes with `PathIdHigher` and means "the same path".
pub fn compare(a: &Candidate, b: &Candidate) -> (Ordering, RejectReason) {
    compare_with(a, b, true)
}

/// [`compare`], with the MED step switched off when `med` is false.
fn compare_with(a: &Candidate, b: &Candidate, med: bool) -> (Ordering, RejectReason) {
    use RejectReason as R;
    let steps = [
        (b.local.cmp(&a.local), R::LocalRoutePreferred),
        (a.kernel.cmp(&b.kernel), R::KernelRouteLower),
        (b.local_pref.cmp(&a.local_pref), R::LocalPrefLower),
        (a.as_path_len.cmp(&b.as_path_len), R::AsPathLonger),
        (a.origin.cmp(&b.origin), R::OriginWorse),
        (
            if med && med_comparable(a, b) { a.med.cmp(&b.med) } else { Ordering::Equal },
            R::MedHigher,
        ),
        (b.ebgp.cmp(&a.ebgp), R::IbgpVsEbgp),
        (a.igp_cost.cmp(&b.igp_cost), R::IgpCostHigher),
        (a.router_id.cmp(&b.router_id), R::RouterIdHigher),
        (a.cluster_list_len.cmp(&b.cluster_list_len), R::ClusterListLonger),
        (a.peer_addr.cmp(&b.peer_addr), R::PeerAddressHigher),
        (a.path_id.cmp(&b.path_id), R::PathIdHigher),
    ];
    steps.into_iter().find(|(o, _)| o.is_ne()).unwrap_or((Ordering::Equal, R::PathIdHigher))
}

/// RFC 4271 §9.1.2.2 c: MED is compared "only among routes learned from the
/// same neighboring AS".
fn med_comparable(a: &Candidate, b: &Candidate) -> bool {
    a.neighbor_as.is_some() && a.neighbor_as == b.neighbor_as
}

/// Whether `b` may share the kernel route with the best path `a`: equal on
/// every step up to and including the IGP cost.
pub fn multipath_equal(a: &Candidate, b: &Candidate) -> bool {
    let (ord, reason) = compare(a, b);
    ord.is_eq() || reason > RejectReason::IgpCostHigher
}

/// The outcome of [`select`] over a slice of candidates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Index of the best candidate.
    pub best: usize,
    /// Per candidate: `None` for members of the multipath set (the best
    /// included), else the reason it lost.
    pub verdicts: Vec<Option<RejectReason>>,
}

impl Selection {
    /// Whether candidate `i` is in the multipath set.
    pub fn is_multipath(&self, i: usize) -> bool {
        self.verdicts.get(i).is_some_and(Option::is_none)
    }
}

/// Runs the decision process over `cands` (all eligible). `None` if empty.
pub fn select(cands: &[Candidate]) -> Option<Selection> {
    if cands.is_empty() {
        return None;
    }
    // Winner of each neighbour-AS group (paths without a neighbour AS are a
    // group of their own), by the full comparison.
    let mut group_winner = vec![0usize; cands.len()];
    for (i, c) in cands.iter().enumerate() {
        let mut w = i;
        for (j, d) in cands.iter().enumerate() {
            if same_group(c, d, i, j) && compare(d, &cands[w]).0.is_lt() {
                w = j;
            }
        }
        group_winner[i] = w;
    }
    // Best of the group winners, MED aside.
    let mut best: Option<usize> = None;
    for (i, &w) in group_winner.iter().enumerate() {
        if i == w && best.is_none_or(|b| compare_with(&cands[i], &cands[b], false).0.is_lt()) {
            best = Some(i);
        }
    }
    let best = best?;
    let b = &cands[best];
    let verdicts = cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let w = group_winner[i];
            // Multipath members must also hold their own within their
            // neighbour-AS group: a path that lost on MED there stays out.
            if i == best || (multipath_equal(b, c) && (w == i || multipath_equal(&cands[w], c))) {
                return None;
            }
            if w != i { Some(compare(&cands[w], c).1) } else { Some(compare_with(b, c, false).1) }
        })
        .collect();
    Some(Selection { best, verdicts })
}

fn same_group(a: &Candidate, b: &Candidate, i: usize, j: usize) -> bool {
    i == j || med_comparable(a, b)
}

#[cfg(test)]
#[path = "best_tests.rs"]
mod tests;
