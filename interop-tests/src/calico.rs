//! Calico v3 resources as Calico's etcd datastore holds them, for writing with
//! `etcdctl put` in the datastore tests and the lab.
//!
//! ```text
//! /calico/resources/v3/projectcalico.org/<plural>/<name>  {"kind","apiVersion","metadata","spec"}
//! /calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-len>      {"state":"confirmed","deleted":false}
//! ```
//!
//! Each function returns the key and the JSON value; only the fields calico-bgpd
//! reads are filled, plus the ones every stored object has (`kind`, `apiVersion`,
//! `metadata.name`).

use serde_json::{Map, Value, json};

/// Where Calico's v3 resources live.
pub const RESOURCES: &str = "/calico/resources/v3/projectcalico.org";

/// One etcd key and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    /// The etcd key.
    pub key: String,
    /// The JSON value.
    pub value: String,
}

fn object(kind: &str, plural: &str, name: &str, labels: &[(&str, &str)], spec: Value) -> Kv {
    let mut metadata = Map::new();
    metadata.insert("name".into(), name.into());
    if !labels.is_empty() {
        let l: Map<String, Value> =
            labels.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect();
        metadata.insert("labels".into(), Value::Object(l));
    }
    let value = json!({
        "kind": kind,
        "apiVersion": "projectcalico.org/v3",
        "metadata": metadata,
        "spec": spec,
    });
    Kv { key: format!("{RESOURCES}/{plural}/{name}"), value: value.to_string() }
}

/// A `Node` with its BGP address (`10.0.9.1/24`: the address with its subnet).
pub fn node(name: &str, ipv4: &str, labels: &[(&str, &str)]) -> Kv {
    object("Node", "nodes", name, labels, json!({"bgp": {"ipv4Address": ipv4}}))
}

/// The key of `Node` `name` (to delete it).
pub fn node_key(name: &str) -> String {
    format!("{RESOURCES}/nodes/{name}")
}

/// The `default` `BGPConfiguration`: the cluster's AS and the node-to-node mesh.
pub fn bgp_configuration_default(as_number: u32, mesh: bool) -> Kv {
    object(
        "BGPConfiguration",
        "bgpconfigurations",
        "default",
        &[],
        json!({"asNumber": as_number, "nodeToNodeMeshEnabled": mesh}),
    )
}

/// A `BGPPeer` to `peer_ip` in `as_number`: on every node when `node_selector` is
/// `None`, else on the nodes it selects (Calico's selector language).
pub fn bgp_peer(name: &str, peer_ip: &str, as_number: u32, node_selector: Option<&str>) -> Kv {
    let mut spec = json!({"peerIP": peer_ip, "asNumber": as_number});
    if let Some(sel) = node_selector {
        spec["nodeSelector"] = sel.into();
    }
    object("BGPPeer", "bgppeers", name, &[], spec)
}

/// The key of `BGPPeer` `name`.
pub fn bgp_peer_key(name: &str) -> String {
    format!("{RESOURCES}/bgppeers/{name}")
}

/// An `IPPool` without encapsulation and with /26 blocks, as `calico/node` creates
/// by default apart from the encapsulation.
pub fn ip_pool(name: &str, cidr: &str) -> Kv {
    object(
        "IPPool",
        "ippools",
        name,
        &[],
        json!({
            "cidr": cidr,
            "ipipMode": "Never",
            "vxlanMode": "Never",
            "blockSize": 26,
            "natOutgoing": true,
            "nodeSelector": "all()",
        }),
    )
}

/// A confirmed IPv4 block affinity of `node` for `cidr` (`10.244.1.0/26`).
pub fn affinity(node: &str, cidr: &str) -> Kv {
    Kv { key: affinity_key(node, cidr), value: r#"{"state":"confirmed","deleted":false}"#.into() }
}

/// The key of `node`'s affinity for the IPv4 block `cidr`: the `/` becomes `-`.
pub fn affinity_key(node: &str, cidr: &str) -> String {
    format!("/calico/ipam/v2/host/{node}/ipv4/block/{}", cidr.replace('/', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_stored_under_their_plural_with_kind_and_api_version() {
        let n = node("n1", "10.0.9.1/24", &[("rack", "a")]);
        assert_eq!(n.key, "/calico/resources/v3/projectcalico.org/nodes/n1");
        let v: Value = serde_json::from_str(&n.value).unwrap();
        assert_eq!(v["kind"], "Node");
        assert_eq!(v["apiVersion"], "projectcalico.org/v3");
        assert_eq!(v["metadata"]["labels"]["rack"], "a");
        assert_eq!(v["spec"]["bgp"]["ipv4Address"], "10.0.9.1/24");
        let p: Value =
            serde_json::from_str(&bgp_peer("tor", "10.0.9.254", 65000, None).value).unwrap();
        assert!(p["spec"].get("nodeSelector").is_none(), "{p}");
    }

    #[test]
    fn affinity_keys_write_the_block_with_a_dash() {
        let a = affinity("n2", "10.244.2.0/26");
        assert_eq!(a.key, "/calico/ipam/v2/host/n2/ipv4/block/10.244.2.0-26");
        assert_eq!(a.value, r#"{"state":"confirmed","deleted":false}"#);
    }
}
