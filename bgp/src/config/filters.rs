//! `[[filters]]`: Calico's `BGPFilter` resource as written in the file, one
//! key per Calico field (snake_case of Calico's names), so a `BGPFilter` from
//! the datastore maps onto it one to one.
//!
//! ```text
//! [[filters]]         name, export_v4, import_v4, export_v6, import_v6
//!   rule              cidr, match_operator, prefix_length{min,max}, source,
//!                     interface, peer_type, communities{values}, as_path_prefix,
//!                     priority, action, operations[]
//!   operation         add_community{value} | prepend_as_path{prefix} | set_priority{value}
//! ```
//!
//! Enumerations (`match_operator`, `action`, `source`, `peer_type`) are kept
//! as strings here so that validation can name the key of a bad value
//! (`filters[0].export_v4[2].action`) instead of a TOML parse error;
//! [`super::validate`] checks them and `rib::filter` compiles them.

use serde::{Deserialize, Serialize};

/// One `BGPFilter`: ordered rules per direction and family.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BgpFilter {
    /// The resource name; peers list filters by it.
    pub name: String,
    /// Rules applied to IPv4 routes sent to a peer (`exportV4`).
    #[serde(default)]
    pub export_v4: Vec<FilterRule>,
    /// Rules applied to IPv4 routes received from a peer (`importV4`).
    #[serde(default)]
    pub import_v4: Vec<FilterRule>,
    /// Rules applied to IPv6 routes sent to a peer (`exportV6`).
    #[serde(default)]
    pub export_v6: Vec<FilterRule>,
    /// Rules applied to IPv6 routes received from a peer (`importV6`).
    #[serde(default)]
    pub import_v6: Vec<FilterRule>,
}

impl BgpFilter {
    /// The four rule lists with their keys, in Calico's order.
    pub fn rule_lists(&self) -> [(&'static str, &[FilterRule]); 4] {
        [
            ("export_v4", &self.export_v4),
            ("import_v4", &self.import_v4),
            ("export_v6", &self.export_v6),
            ("import_v6", &self.import_v6),
        ]
    }
}

/// One rule (`BGPFilterRuleV4` / `BGPFilterRuleV6`): every match field that
/// is set must match; the first rule that matches decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterRule {
    /// Prefix compared with the route's (`cidr`); needs `match_operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// `Equal`, `NotEqual`, `In` or `NotIn` (`matchOperator`); needs `cidr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_operator: Option<String>,
    /// Prefix lengths `In` / `NotIn` cover (`prefixLength`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<PrefixLength>,
    /// `RemotePeers`: only routes learned from BGP peers (`source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Interface name glob (`interface`), `*` and `?` as wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `eBGP` or `iBGP`: the rule applies only on such sessions (`peerType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_type: Option<String>,
    /// Communities the route must carry (`communities`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communities: Option<CommunityMatch>,
    /// ASNs the AS_PATH must begin with (`asPathPrefix`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub as_path_prefix: Vec<u32>,
    /// Route priority the route must have (`priority`): LOCAL_PREF
    /// `2147483647 - priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// `Accept` or `Reject` (`action`).
    pub action: String,
    /// Changes made to a route this rule accepts (`operations`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<FilterOperation>,
}

/// `prefixLength`: bounds on the route's prefix length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixLength {
    /// Shortest prefix length matched; the `cidr`'s own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u8>,
    /// Longest prefix length matched; 32 (IPv4) or 128 (IPv6) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u8>,
}

/// `communities`: `aa:nn` (standard) or `ga:l1:l2` (large) values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommunityMatch {
    /// Every value must be on the route.
    #[serde(default)]
    pub values: Vec<String>,
}

/// One operation (`BGPFilterOperation`): exactly one key set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterOperation {
    /// Adds a community (`addCommunity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_community: Option<AddCommunity>,
    /// Prepends ASNs to the AS_PATH (`prependASPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepend_as_path: Option<PrependAsPath>,
    /// Sets the route priority (`setPriority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<SetPriority>,
}

/// `addCommunity`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddCommunity {
    /// `aa:nn` or `ga:l1:l2`.
    pub value: String,
}

/// `prependASPath`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrependAsPath {
    /// ASNs, first one leftmost in the resulting AS_PATH.
    pub prefix: Vec<u32>,
}

/// `setPriority`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetPriority {
    /// The priority: LOCAL_PREF becomes `2147483647 - value`.
    pub value: u32,
}
