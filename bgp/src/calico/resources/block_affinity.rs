//! Calico block affinities: which IPAM block is affine to which node, and in
//! which state. confd blackholes and aggregates a node's blocks whose
//! affinity is confirmed (state `confirmed`, or `""` which older Calico
//! wrote and which counts as confirmed) and not deleted; `pending` and
//! `pendingDeletion` affinities are treated as absent.

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// The state of an affinity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum AffinityState {
    /// `""`: written by older Calico; implicitly confirmed.
    #[default]
    #[serde(rename = "")]
    Implicit,
    /// `confirmed`.
    #[serde(rename = "confirmed")]
    Confirmed,
    /// `pending`: the claim is not finished.
    #[serde(rename = "pending")]
    Pending,
    /// `pendingDeletion`: being released.
    #[serde(rename = "pendingDeletion")]
    PendingDeletion,
}

/// A block affinity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockAffinity {
    /// The block.
    pub cidr: IpNet,
    /// The node it is affine to.
    pub node: String,
    /// The affinity's state.
    pub state: AffinityState,
    /// Marked deleted (the KDD resource's `deleted`).
    pub deleted: bool,
}

impl BlockAffinity {
    /// Whether confd counts the block as the node's: confirmed (explicitly
    /// or implicitly) and not deleted.
    pub fn counts(&self) -> bool {
        matches!(self.state, AffinityState::Implicit | AffinityState::Confirmed) && !self.deleted
    }
}

/// The value stored under an etcd affinity key, and the KDD `spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AffinityValue {
    /// `state`.
    #[serde(default)]
    pub state: AffinityState,
    /// `deleted`: a boolean in etcd, the string `"true"`/`"false"` in KDD.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub deleted: bool,
}

fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
    }
    match Option::<B>::deserialize(d)? {
        None => Ok(false),
        Some(B::Bool(b)) => Ok(b),
        Some(B::Text(s)) => match s.as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("deleted {s:?}: expected true or false"))),
        },
    }
}

/// The KDD `BlockAffinity` resource (`spec: {cidr, node, state, deleted}`),
/// as `calicoctl` or a test writes it in YAML.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BlockAffinityObject {
    pub(crate) spec: BlockAffinitySpec,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BlockAffinitySpec {
    pub(crate) cidr: IpNet,
    pub(crate) node: String,
    #[serde(flatten)]
    pub(crate) value: AffinityValue,
}

impl From<BlockAffinityObject> for BlockAffinity {
    fn from(o: BlockAffinityObject) -> Self {
        BlockAffinity {
            cidr: o.spec.cidr,
            node: o.spec.node,
            state: o.spec.value.state,
            deleted: o.spec.value.deleted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affinity(state: AffinityState, deleted: bool) -> BlockAffinity {
        BlockAffinity { cidr: "10.0.0.0/26".parse().unwrap(), node: "n".into(), state, deleted }
    }

    #[test]
    fn only_confirmed_and_implicit_affinities_count() {
        assert!(affinity(AffinityState::Implicit, false).counts());
        assert!(affinity(AffinityState::Confirmed, false).counts());
        assert!(!affinity(AffinityState::Pending, false).counts());
        assert!(!affinity(AffinityState::PendingDeletion, false).counts());
        assert!(!affinity(AffinityState::Confirmed, true).counts());
    }

    #[test]
    fn affinity_value_reads_etcd_and_kdd_spellings() {
        let v: AffinityValue =
            serde_json::from_str(r#"{"state":"confirmed","deleted":false}"#).unwrap();
        assert_eq!(v, AffinityValue { state: AffinityState::Confirmed, deleted: false });
        let v: AffinityValue =
            serde_json::from_str(r#"{"state":"pending","deleted":"true"}"#).unwrap();
        assert_eq!(v, AffinityValue { state: AffinityState::Pending, deleted: true });
        assert!(serde_json::from_str::<AffinityValue>(r#"{"state":"odd"}"#).is_err());
    }
}
