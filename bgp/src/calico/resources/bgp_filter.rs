//! Calico `BGPFilter` (projectcalico.org/v3), as typed data: four ordered
//! rule lists (import/export per family), each rule a match (CIDR with
//! operator and optional prefix length range, route source, interface
//! glob, communities, AS path prefix, priority, peer type) and an action
//! with optional operations. Evaluating the rules is the policy module's
//! job; this module only reads them.

use ipnet::IpNet;
use serde::Deserialize;

use super::meta::{Metadata, null_default};

/// A BGP filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BgpFilter {
    /// Name and labels.
    #[serde(default)]
    pub metadata: Metadata,
    /// The spec.
    #[serde(default, deserialize_with = "null_default")]
    pub spec: BgpFilterSpec,
}

/// `BGPFilter.spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterSpec {
    /// `exportV4`.
    #[serde(default, rename = "exportV4", deserialize_with = "null_default")]
    pub export_v4: Vec<BgpFilterRule>,
    /// `importV4`.
    #[serde(default, rename = "importV4", deserialize_with = "null_default")]
    pub import_v4: Vec<BgpFilterRule>,
    /// `exportV6`.
    #[serde(default, rename = "exportV6", deserialize_with = "null_default")]
    pub export_v6: Vec<BgpFilterRule>,
    /// `importV6`.
    #[serde(default, rename = "importV6", deserialize_with = "null_default")]
    pub import_v6: Vec<BgpFilterRule>,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpFilterRule {
    /// `cidr` the route is compared with.
    #[serde(default)]
    pub cidr: Option<IpNet>,
    /// `matchOperator` for `cidr`.
    #[serde(default)]
    pub match_operator: Option<MatchOperator>,
    /// `prefixLength`: the accepted length range with `cidr`.
    #[serde(default)]
    pub prefix_length: Option<PrefixLength>,
    /// `source`: `RemotePeers` = routes learned from BGP peers only.
    #[serde(default)]
    pub source: Option<RouteSource>,
    /// `interface`: glob of the route's interface.
    #[serde(default)]
    pub interface: Option<String>,
    /// `communities`: a community the route must carry.
    #[serde(default)]
    pub communities: Option<CommunityMatch>,
    /// `asPathPrefix`: the AS path must start with these.
    #[serde(default, rename = "asPathPrefix", deserialize_with = "null_default")]
    pub as_path_prefix: Vec<u32>,
    /// `priority`: the route's priority (kernel metric) must equal this.
    #[serde(default)]
    pub priority: Option<u32>,
    /// `peerType`: `eBGP` or `iBGP` sessions only.
    #[serde(default)]
    pub peer_type: Option<PeerType>,
    /// `action`.
    pub action: FilterAction,
    /// `operations` applied before an `Accept`.
    #[serde(default, deserialize_with = "null_default")]
    pub operations: Vec<FilterOperation>,
}

/// `matchOperator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum MatchOperator {
    /// The route is `cidr`.
    Equal,
    /// The route is not `cidr`.
    NotEqual,
    /// The route is inside `cidr`.
    In,
    /// The route is outside `cidr`.
    NotIn,
}

/// `prefixLength`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct PrefixLength {
    /// `min`.
    #[serde(default)]
    pub min: Option<u8>,
    /// `max`.
    #[serde(default)]
    pub max: Option<u8>,
}

/// `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum RouteSource {
    /// Routes learned from BGP peers.
    RemotePeers,
}

/// `peerType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum PeerType {
    /// External sessions.
    #[serde(rename = "eBGP")]
    Ebgp,
    /// Internal sessions.
    #[serde(rename = "iBGP")]
    Ibgp,
}

/// `communities` of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CommunityMatch {
    /// `values`: `aa:nn` or `ga:l1:l2`.
    #[serde(default, deserialize_with = "null_default")]
    pub values: Vec<String>,
}

/// `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum FilterAction {
    /// Accept the route.
    Accept,
    /// Reject the route.
    Reject,
}

/// One entry of `operations`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FilterOperation {
    /// `addCommunity: {value}`.
    AddCommunity {
        /// The community.
        value: String,
    },
    /// `prependASPath: {prefix}`.
    #[serde(rename = "prependASPath")]
    PrependAsPath {
        /// ASes to prepend.
        prefix: Vec<u32>,
    },
    /// `setPriority: {value}`.
    SetPriority {
        /// The new priority.
        value: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_rules_are_kept_as_typed_data() {
        let f: BgpFilter = serde_json::from_str(
            r#"{"metadata":{"name":"f"},"spec":{
              "importV4":[{"action":"Accept","communities":{"values":["65000:100"]},
                           "operations":[{"setPriority":{"value":256}}]},{"action":"Reject"}],
              "exportV6":[{"action":"Accept","cidr":"fd00::/64","matchOperator":"NotIn",
                           "source":"RemotePeers","interface":"eth*","peerType":"eBGP",
                           "prefixLength":{"min":64},"asPathPrefix":[65000],
                           "operations":[{"addCommunity":{"value":"1:2"}},
                                         {"prependASPath":{"prefix":[65001,65002]}}]}]}}"#,
        )
        .unwrap();
        let s = f.spec;
        assert_eq!(s.import_v4.len(), 2);
        assert_eq!(s.import_v4[0].operations, [FilterOperation::SetPriority { value: 256 }]);
        assert_eq!(s.import_v4[1].action, FilterAction::Reject);
        let r = &s.export_v6[0];
        assert_eq!(r.match_operator, Some(MatchOperator::NotIn));
        assert_eq!(r.peer_type, Some(PeerType::Ebgp));
        assert_eq!(r.prefix_length, Some(PrefixLength { min: Some(64), max: None }));
        assert_eq!(r.operations[1], FilterOperation::PrependAsPath { prefix: vec![65001, 65002] });
        assert!(s.export_v4.is_empty());
    }
}
