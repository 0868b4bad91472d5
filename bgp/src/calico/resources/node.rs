//! Calico `Node` (projectcalico.org/v3): a node's BGP identity, the part
//! confd reads (`spec.bgp`: addresses with their subnet, AS number, route
//! reflector cluster id) and its labels (for `nodeSelector`/`peerSelector`).

use std::net::Ipv4Addr;

use ipnet::IpNet;
use serde::Deserialize;

use super::meta::{AsNumber, Metadata, ip_with_prefix, null_default};

/// A Calico node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Node {
    /// Name and labels.
    #[serde(default)]
    pub metadata: Metadata,
    /// The spec.
    #[serde(default, deserialize_with = "null_default")]
    pub spec: NodeSpec,
}

/// `Node.spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct NodeSpec {
    /// BGP settings; a node without them does not take part in BGP.
    #[serde(default)]
    pub bgp: Option<NodeBgpSpec>,
}

/// `Node.spec.bgp`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeBgpSpec {
    /// `ipv4Address`: address and subnet (`10.192.0.2/16`).
    #[serde(default, deserialize_with = "ip_with_prefix")]
    pub ipv4_address: Option<IpNet>,
    /// `ipv6Address`: address and subnet.
    #[serde(default, deserialize_with = "ip_with_prefix")]
    pub ipv6_address: Option<IpNet>,
    /// `asNumber`: this node's AS when it overrides the cluster's.
    #[serde(default, rename = "asNumber")]
    pub as_number: Option<AsNumber>,
    /// `routeReflectorClusterID`: set on route reflectors.
    #[serde(default, rename = "routeReflectorClusterID")]
    pub route_reflector_cluster_id: Option<Ipv4Addr>,
}

impl Node {
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// `spec.bgp`, when present.
    pub fn bgp(&self) -> Option<&NodeBgpSpec> {
        self.spec.bgp.as_ref()
    }

    /// Its IPv4 address with subnet, if it has one.
    pub fn ipv4(&self) -> Option<ipnet::Ipv4Net> {
        match self.bgp()?.ipv4_address? {
            IpNet::V4(n) => Some(n),
            IpNet::V6(_) => None,
        }
    }

    /// Its IPv6 address with subnet, if it has one.
    pub fn ipv6(&self) -> Option<ipnet::Ipv6Net> {
        match self.bgp()?.ipv6_address? {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        }
    }

    /// Its address of the family of `v4`.
    pub fn address(&self, v4: bool) -> Option<std::net::IpAddr> {
        if v4 { self.ipv4().map(|n| n.addr().into()) } else { self.ipv6().map(|n| n.addr().into()) }
    }

    /// Its route reflector cluster id, if it is a route reflector.
    pub fn cluster_id(&self) -> Option<Ipv4Addr> {
        self.bgp()?.route_reflector_cluster_id
    }

    /// Its own AS number, if set.
    pub fn as_number(&self) -> Option<u32> {
        self.bgp()?.as_number.map(|a| a.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_reads_calico_json_and_ignores_unknown_fields() {
        let n: Node = serde_json::from_str(
            r#"{"kind":"Node","apiVersion":"projectcalico.org/v3",
                "metadata":{"name":"kube-master","labels":{"routeReflector":true},"uid":"x"},
                "spec":{"bgp":{"ipv4Address":"10.192.0.2/16","ipv6Address":"fd00::2",
                "asNumber":"64513","routeReflectorClusterID":"10.0.0.1",
                "ipv4IPIPTunnelAddr":"1.2.3.4"},"orchRefs":[]}}"#,
        )
        .unwrap();
        assert_eq!(n.name(), "kube-master");
        assert_eq!(n.ipv4(), Some("10.192.0.2/16".parse().unwrap()));
        assert_eq!(n.ipv6(), Some("fd00::2/128".parse().unwrap()));
        assert_eq!(n.as_number(), Some(64513));
        assert_eq!(n.cluster_id(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(n.metadata.labels["routeReflector"], "true");
    }
}
