//! Route snapshot: one prefix of the Loc-RIB with every candidate path, the
//! best-path mark and why each other path lost.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Family;

/// Which routes `show routes` returns; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteQuery {
    /// Only this exact prefix.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub prefix: Option<IpNet>,
    /// Only paths learned from this neighbor (prefixes without such a path are left out).
    #[serde(default)]
    pub peer: Option<IpAddr>,
    /// Only this address family.
    #[serde(default)]
    pub family: Option<Family>,
}

impl RouteQuery {
    /// Applies the query to a full table: the daemon may hand over every route
    /// and let this filter it. Prefixes are kept in the input order.
    pub fn apply(&self, routes: impl IntoIterator<Item = RouteSnapshot>) -> Vec<RouteSnapshot> {
        routes
            .into_iter()
            .filter(|r| self.prefix.is_none_or(|p| p == r.prefix))
            .filter(|r| self.family.is_none_or(|f| f == Family::of_net(&r.prefix)))
            .filter_map(|mut r| {
                if let Some(peer) = self.peer {
                    r.paths.retain(|p| p.source.peer() == Some(peer));
                    if r.paths.is_empty() {
                        return None;
                    }
                }
                Some(r)
            })
            .collect()
    }
}

/// One prefix with all its paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouteSnapshot {
    /// The prefix.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// Every path, the best one first.
    pub paths: Vec<PathSnapshot>,
}

/// One path of a prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PathSnapshot {
    /// Where the path comes from.
    pub source: RouteSource,
    /// ADD-PATH path identifier (RFC 7911) when the neighbor sent one.
    #[serde(default)]
    pub path_id: Option<u32>,
    /// Selected by the decision process.
    pub best: bool,
    /// Why this path is not the best one (`None` for the best path and for
    /// equal-cost paths used together with it).
    #[serde(default)]
    pub reject_reason: Option<RejectReason>,
    /// Kept from a restarting neighbor (graceful restart).
    #[serde(default)]
    pub stale: bool,
    /// Unix time the path was received or originated.
    pub since: u64,
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH (after AS4_PATH reconciliation).
    #[serde(default)]
    pub as_path: Vec<AsPathSegment>,
    /// Next hops: the global address, then the link-local one for IPv6 when present.
    #[serde(default)]
    pub next_hop: Vec<IpAddr>,
    /// MULTI_EXIT_DISC.
    #[serde(default)]
    pub med: Option<u32>,
    /// LOCAL_PREF.
    #[serde(default)]
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    #[serde(default)]
    pub atomic_aggregate: bool,
    /// AGGREGATOR: AS and address.
    #[serde(default)]
    pub aggregator: Option<(u32, Ipv4Addr)>,
    /// COMMUNITIES (RFC 1997) as `[asn, value]`.
    #[serde(default)]
    pub communities: Vec<[u16; 2]>,
    /// LARGE_COMMUNITY (RFC 8092) as `[global, local1, local2]`.
    #[serde(default)]
    pub large_communities: Vec<[u32; 3]>,
    /// EXTENDED COMMUNITIES (RFC 4360) as FRR writes them (`RT:65000:1`,
    /// `SoO:10.0.0.1:7`, `ET:8`), others as `0x` and 16 hex digits.
    #[serde(default)]
    pub extended_communities: Vec<String>,
    /// ORIGINATOR_ID (RFC 4456).
    #[serde(default)]
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456).
    #[serde(default)]
    pub cluster_list: Vec<Ipv4Addr>,
    /// IGP metric to the next hop, when resolved.
    #[serde(default)]
    pub igp_metric: Option<u32>,
    /// Attributes the daemon does not interpret, passed on as received.
    #[serde(default)]
    pub unknown: Vec<UnknownAttr>,
    /// The import filter rule (Calico `BGPFilter`) that accepted, changed
    /// or rejected the path: `filter tor-in import_v4[1]: reject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The interface the next hop is reached by, as the daemon's filters
    /// see it (BIRD's `ifname`); absent when unreachable or unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

impl PathSnapshot {
    /// The AS_PATH in BIRD's notation: `65001 {65002 65003}`.
    pub fn as_path_string(&self) -> String {
        let parts: Vec<String> = self
            .as_path
            .iter()
            .map(|seg| {
                let asns: Vec<String> = seg.asns.iter().map(u32::to_string).collect();
                let inner = asns.join(" ");
                match seg.kind {
                    SegmentKind::Sequence => inner,
                    SegmentKind::Set => format!("{{{inner}}}"),
                    SegmentKind::ConfedSequence => format!("({inner})"),
                    SegmentKind::ConfedSet => format!("[{inner}]"),
                }
            })
            .collect();
        parts.join(" ")
    }

    /// The origin AS, BIRD's `[AS65001i]` tag: the last AS of the last sequence.
    pub fn origin_as(&self) -> Option<u32> {
        self.as_path.last().and_then(|s| s.asns.last()).copied()
    }
}

/// Where a path comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteSource {
    /// Learned from a BGP neighbor.
    Bgp {
        /// The neighbor's address.
        peer: IpAddr,
        /// Its protocol name (`Mesh_10_0_0_2`).
        name: String,
    },
    /// Originated here: an IPAM block or a prefix from `advertise add`.
    Local {
        /// Why (`block`, `advertise`, `static`).
        origin: String,
    },
    /// Learned from the kernel (Felix's workload routes).
    Kernel {
        /// Interface of the route.
        device: String,
    },
}

impl RouteSource {
    /// The neighbor address for a BGP path.
    pub fn peer(&self) -> Option<IpAddr> {
        match self {
            RouteSource::Bgp { peer, .. } => Some(*peer),
            _ => None,
        }
    }

    /// The name shown in brackets in `show routes`.
    pub fn name(&self) -> String {
        match self {
            RouteSource::Bgp { name, .. } => name.clone(),
            RouteSource::Local { origin } => format!("local:{origin}"),
            RouteSource::Kernel { device } => format!("kernel:{device}"),
        }
    }
}

/// ORIGIN values (RFC 4271 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// IGP (`i`).
    Igp,
    /// EGP (`e`).
    Egp,
    /// INCOMPLETE (`?`).
    Incomplete,
}

impl Origin {
    /// BIRD's one-letter code.
    pub fn code(self) -> char {
        match self {
            Origin::Igp => 'i',
            Origin::Egp => 'e',
            Origin::Incomplete => '?',
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AsPathSegment {
    /// Segment type.
    pub kind: SegmentKind,
    /// The AS numbers.
    pub asns: Vec<u32>,
}

/// AS_PATH segment types (RFC 4271 §4.3, RFC 5065).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// AS_SEQUENCE.
    Sequence,
    /// AS_SET.
    Set,
    /// AS_CONFED_SEQUENCE.
    ConfedSequence,
    /// AS_CONFED_SET.
    ConfedSet,
}

/// An attribute kept opaque.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnknownAttr {
    /// Attribute type code.
    pub type_code: u8,
    /// Attribute flags octet.
    pub flags: u8,
    /// Value in hex.
    pub value: String,
}

/// Why a path lost the decision process (RFC 4271 §9.1.2.2 and the steps
/// every implementation adds), or why it is not a candidate at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Next hop not resolvable (§9.1.2 "MUST be excluded").
    NextHopUnreachable,
    /// Refused by import policy.
    ImportFiltered,
    /// Our AS in the AS_PATH, or our router id / cluster id looped back.
    Loop,
    /// Lower LOCAL_PREF (or local preference of the source).
    LocalPrefLower,
    /// Longer AS_PATH.
    AsPathLonger,
    /// Worse ORIGIN.
    OriginWorse,
    /// Higher MED from the same neighbor AS.
    MedHigher,
    /// iBGP path while an eBGP one exists.
    IbgpVsEbgp,
    /// Higher IGP metric to the next hop.
    IgpMetricHigher,
    /// Longer CLUSTER_LIST (RFC 4456 §9).
    ClusterListLonger,
    /// Higher BGP Identifier / ORIGINATOR_ID.
    RouterIdHigher,
    /// Higher neighbor address (the last tie-breaker).
    PeerAddressHigher,
    /// Stale path from a restarting neighbor, beaten by a fresh one.
    Stale,
    /// Anything else, described.
    Other(String),
}

impl RejectReason {
    /// A short phrase for the human table.
    pub fn describe(&self) -> String {
        match self {
            RejectReason::NextHopUnreachable => "next hop unreachable".into(),
            RejectReason::ImportFiltered => "filtered by import policy".into(),
            RejectReason::Loop => "routing loop (own AS, router id or cluster id)".into(),
            RejectReason::LocalPrefLower => "lower local preference".into(),
            RejectReason::AsPathLonger => "longer AS path".into(),
            RejectReason::OriginWorse => "worse origin".into(),
            RejectReason::MedHigher => "higher MED".into(),
            RejectReason::IbgpVsEbgp => "iBGP path, eBGP preferred".into(),
            RejectReason::IgpMetricHigher => "higher IGP metric to next hop".into(),
            RejectReason::ClusterListLonger => "longer cluster list".into(),
            RejectReason::RouterIdHigher => "higher router id".into(),
            RejectReason::PeerAddressHigher => "higher neighbor address".into(),
            RejectReason::Stale => "stale (graceful restart)".into(),
            RejectReason::Other(s) => s.clone(),
        }
    }
}
