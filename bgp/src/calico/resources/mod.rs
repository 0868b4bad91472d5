//! The Calico v3 resources the BGP derivation reads, one module each, and
//! [`Resources`], the set of them read from a datastore: from the
//! multi-document YAML `calicoctl apply -f` takes ([`Resources::from_yaml`])
//! or from Calico's etcd v3 key/values ([`Resources::from_kvs`]).
//!
//! Objects carry many fields BGP does not use; unknown fields are ignored.
//! An object that does not parse is a [`ResourceProblem`] (where it is and
//! why) and is left out; the others still apply.
//!
//! etcd layout:
//!
//! ```text
//! /calico/resources/v3/projectcalico.org/<plural>/<name>     resource JSON
//!     plurals: nodes, bgpconfigurations, bgppeers, ippools, bgpfilters
//! /calico/ipam/v2/host/<node>/ipv4/block/<cidr, '/' as '-'>   {"state":"confirmed","deleted":false}
//! /calico/ipam/v2/host/<node>/ipv6/block/fd00::-122           (an empty value = state "")
//! ```

mod bgp_configuration;
pub mod bgp_filter;
mod bgp_peer;
mod block_affinity;
mod ip_pool;
mod meta;
mod node;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize as _;

pub use bgp_configuration::{
    BgpConfiguration, BgpConfigurationSpec, BgpPassword, BindMode, NamedCommunity,
    PrefixAdvertisement, SecretKeyRef, ServiceRange,
};
pub use bgp_filter::{
    BgpFilter, BgpFilterRule, BgpFilterSpec, CommunityMatch, FilterAction, FilterOperation,
    MatchOperator, PeerType, PrefixLength, RouteSource,
};
pub use bgp_peer::{
    BgpPeer, BgpPeerSpec, NextHopMode, PeerIpError, ReversePeering, SourceAddress, parse_peer_ip,
};
pub use block_affinity::{AffinityState, AffinityValue, BlockAffinity};
pub use ip_pool::{IpPool, IpPoolSpec};
pub use meta::{AsNumber, Duration, Labels, Metadata};
pub use node::{Node, NodeBgpSpec, NodeSpec};

use block_affinity::BlockAffinityObject;

/// A datastore object that was refused: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ResourceProblem {
    /// The etcd key, or `document N (Kind name)` for YAML.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ResourceProblem {
    /// A problem at `key`.
    pub fn new(key: impl Into<String>, reason: impl fmt::Display) -> Self {
        ResourceProblem { key: key.into(), reason: reason.to_string() }
    }
}

/// Every Calico resource the BGP derivation reads, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// `Node`s.
    pub nodes: BTreeMap<String, Node>,
    /// `BGPConfiguration`s (`default`, `node.<name>`).
    pub bgp_configurations: BTreeMap<String, BgpConfiguration>,
    /// `BGPPeer`s.
    pub bgp_peers: BTreeMap<String, BgpPeer>,
    /// `IPPool`s.
    pub ip_pools: BTreeMap<String, IpPool>,
    /// `BGPFilter`s.
    pub bgp_filters: BTreeMap<String, BgpFilter>,
    /// Block affinities, in the order read.
    pub block_affinities: Vec<BlockAffinity>,
}

/// The resource kinds, with their etcd plurals.
const KINDS: [(&str, &str); 5] = [
    ("Node", "nodes"),
    ("BGPConfiguration", "bgpconfigurations"),
    ("BGPPeer", "bgppeers"),
    ("IPPool", "ippools"),
    ("BGPFilter", "bgpfilters"),
];

const V3_PREFIX: &str = "/calico/resources/v3/projectcalico.org/";
const IPAM_HOST_PREFIX: &str = "/calico/ipam/v2/host/";

/// YAML 1.1 spellings of booleans (what calicoctl's YAML reader takes for
/// `true`/`false`); YAML 1.2 reads them as strings.
const YAML11_TRUE: [&str; 8] = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"];
const YAML11_FALSE: [&str; 8] = ["n", "N", "no", "No", "NO", "off", "Off", "OFF"];

impl Resources {
    /// Reads the multi-document YAML `calicoctl apply -f` takes. Documents
    /// of other kinds (Kubernetes objects, ...) are problems too, so that
    /// nothing is dropped silently.
    pub fn from_yaml(text: &str) -> (Resources, Vec<ResourceProblem>) {
        let (out, mut problems, syntax) = Resources::read_yaml(text);
        problems.extend(syntax);
        (out, problems)
    }

    /// [`Resources::from_yaml`] for a file that is the whole datastore: a
    /// YAML syntax error refuses the file (the documents after it cannot be
    /// read, and running on the ones before would drop what they hold),
    /// while an object that does not parse is still a problem left out.
    pub fn from_yaml_file(
        text: &str,
    ) -> Result<(Resources, Vec<ResourceProblem>), ResourceProblem> {
        match Resources::read_yaml(text) {
            (_, _, Some(syntax)) => Err(syntax),
            (out, problems, None) => Ok((out, problems)),
        }
    }

    /// The objects read, the problems, and the syntax error that ended the
    /// stream, if any.
    fn read_yaml(text: &str) -> (Resources, Vec<ResourceProblem>, Option<ResourceProblem>) {
        let mut out = Resources::default();
        let mut problems = Vec::new();
        for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            let at = |kind: &str, name: &str| format!("document {} ({kind} {name})", i + 1);
            let value = match serde_norway::Value::deserialize(doc) {
                Ok(serde_norway::Value::Null) => continue,
                Ok(v) => v,
                Err(e) => {
                    // A syntax error ends the stream: nothing after it can be located.
                    return (out, problems, Some(ResourceProblem::new(at("?", "?"), e)));
                }
            };
            let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("").to_owned();
            let name = value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_owned();
            let json = match serde_json::to_value(yaml11_labels(value)) {
                Ok(j) => j,
                Err(e) => {
                    problems.push(ResourceProblem::new(at(&kind, &name), e));
                    continue;
                }
            };
            if let Err(reason) = out.insert(&kind, &name, json) {
                problems.push(ResourceProblem::new(at(&kind, &name), reason));
            }
        }
        (out, problems, None)
    }

    /// Reads Calico's etcd v3 key/values. Keys outside the resource and
    /// block-affinity prefixes are ignored; a value under them that does
    /// not parse is a problem with its key.
    pub fn from_kvs<'a>(
        kvs: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> (Resources, Vec<ResourceProblem>) {
        let mut out = Resources::default();
        let mut problems = Vec::new();
        for (key, value) in kvs {
            if let Err(reason) = out.insert_kv(key, value) {
                problems.push(ResourceProblem::new(key, reason));
            }
        }
        (out, problems)
    }

    fn insert_kv(&mut self, key: &str, value: &[u8]) -> Result<(), String> {
        if let Some(rest) = key.strip_prefix(V3_PREFIX) {
            let Some((plural, name)) = rest.split_once('/') else { return Ok(()) };
            let Some((kind, _)) = KINDS.iter().find(|(_, p)| *p == plural) else { return Ok(()) };
            let json: serde_json::Value =
                serde_json::from_slice(value).map_err(|e| format!("not JSON: {e}"))?;
            let in_value = json.pointer("/metadata/name").and_then(|n| n.as_str());
            if in_value.is_some_and(|n| n != name) {
                return Err(format!(
                    "metadata.name {:?} differs from the key",
                    in_value.unwrap_or("")
                ));
            }
            let mut json = json;
            // The key names the object even when the value omits metadata.
            if let Some(obj) = json.as_object_mut() {
                let meta = obj.entry("metadata").or_insert_with(|| serde_json::json!({}));
                if let Some(m) = meta.as_object_mut() {
                    m.insert("name".into(), name.into());
                }
            }
            return self.insert(kind, name, json);
        }
        if let Some(rest) = key.strip_prefix(IPAM_HOST_PREFIX) {
            let parts: Vec<&str> = rest.split('/').collect();
            let [node, family @ ("ipv4" | "ipv6"), "block", cidr] = parts.as_slice() else {
                return Ok(());
            };
            let (net, len) = cidr.rsplit_once('-').ok_or("block CIDR without '-<length>'")?;
            let cidr: ipnet::IpNet = format!("{net}/{len}")
                .parse()
                .map_err(|_| format!("block {cidr:?} is not a CIDR"))?;
            if cidr.addr().is_ipv4() != (*family == "ipv4") {
                return Err(format!("block {cidr} is not {family}"));
            }
            let v: AffinityValue = if value.iter().all(u8::is_ascii_whitespace) {
                AffinityValue::default()
            } else {
                serde_json::from_slice(value).map_err(|e| e.to_string())?
            };
            self.block_affinities.push(BlockAffinity {
                cidr,
                node: (*node).to_owned(),
                state: v.state,
                deleted: v.deleted,
            });
        }
        Ok(())
    }

    /// Adds one object of `kind`; the error is the reason it was refused.
    fn insert(&mut self, kind: &str, name: &str, json: serde_json::Value) -> Result<(), String> {
        fn parse<T: serde::de::DeserializeOwned>(j: serde_json::Value) -> Result<T, String> {
            serde_json::from_value(j).map_err(|e| e.to_string())
        }
        if name.is_empty() {
            return Err("metadata.name is missing".into());
        }
        let name = name.to_owned();
        match kind {
            "Node" => {
                self.nodes.insert(name, parse(json)?);
            }
            "BGPConfiguration" => {
                self.bgp_configurations.insert(name, parse(json)?);
            }
            "BGPPeer" => {
                self.bgp_peers.insert(name, parse(json)?);
            }
            "IPPool" => {
                self.ip_pools.insert(name, parse(json)?);
            }
            "BGPFilter" => {
                self.bgp_filters.insert(name, parse(json)?);
            }
            "BlockAffinity" => {
                self.block_affinities.push(parse::<BlockAffinityObject>(json)?.into());
            }
            "" => return Err("no kind".into()),
            other => return Err(format!("kind {other} is not read by calico-bgpd")),
        }
        Ok(())
    }
}

/// Label values written as YAML 1.1 booleans (`yes`, `on`, ...) become
/// `true`/`false`, as calicoctl reads them.
fn yaml11_labels(mut v: serde_norway::Value) -> serde_norway::Value {
    let labels = v.get_mut("metadata").and_then(|m| m.get_mut("labels"));
    if let Some(serde_norway::Value::Mapping(m)) = labels {
        for (_, value) in m.iter_mut() {
            if let serde_norway::Value::String(s) = value {
                if YAML11_TRUE.contains(&s.as_str()) {
                    *value = serde_norway::Value::Bool(true);
                } else if YAML11_FALSE.contains(&s.as_str()) {
                    *value = serde_norway::Value::Bool(false);
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests;
