//! Calico `BGPConfiguration` (projectcalico.org/v3): the cluster-wide
//! `default` object and per-node `node.<name>` objects. confd reads the
//! node's object for `listenPort`, `logSeverityScreen` and
//! `prefixAdvertisements`/`communities` (falling back to `default`), and
//! `default` alone for the mesh, AS number, bind mode, service ranges and
//! `programClusterRoutes`.

use ipnet::IpNet;
use serde::Deserialize;

use super::meta::{AsNumber, Duration, Metadata, null_default};

/// A BGP configuration object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BgpConfiguration {
    /// Name (`default` or `node.<node name>`) and labels.
    #[serde(default)]
    pub metadata: Metadata,
    /// The spec.
    #[serde(default, deserialize_with = "null_default")]
    pub spec: BgpConfigurationSpec,
}

/// `BGPConfiguration.spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpConfigurationSpec {
    /// `logSeverityScreen`: `Debug`, `Info`, `Warning`, `Error`, `Fatal`.
    #[serde(default)]
    pub log_severity_screen: Option<String>,
    /// `nodeToNodeMeshEnabled` (unset = true).
    #[serde(default)]
    pub node_to_node_mesh_enabled: Option<bool>,
    /// `asNumber`: the cluster's AS (unset = 64512).
    #[serde(default)]
    pub as_number: Option<AsNumber>,
    /// `listenPort`.
    #[serde(default)]
    pub listen_port: Option<u16>,
    /// `bindMode`: `None` (listen everywhere) or `NodeIP`.
    #[serde(default)]
    pub bind_mode: Option<BindMode>,
    /// `serviceClusterIPs`.
    #[serde(default, rename = "serviceClusterIPs", deserialize_with = "null_default")]
    pub service_cluster_ips: Vec<ServiceRange>,
    /// `serviceExternalIPs`.
    #[serde(default, rename = "serviceExternalIPs", deserialize_with = "null_default")]
    pub service_external_ips: Vec<ServiceRange>,
    /// `serviceLoadBalancerIPs`.
    #[serde(default, rename = "serviceLoadBalancerIPs", deserialize_with = "null_default")]
    pub service_load_balancer_ips: Vec<ServiceRange>,
    /// `communities`: named community values.
    #[serde(default, deserialize_with = "null_default")]
    pub communities: Vec<NamedCommunity>,
    /// `prefixAdvertisements`: communities per prefix (names or values).
    #[serde(default, deserialize_with = "null_default")]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// `nodeMeshPassword`.
    #[serde(default)]
    pub node_mesh_password: Option<BgpPassword>,
    /// `nodeMeshMaxRestartTime`.
    #[serde(default)]
    pub node_mesh_max_restart_time: Option<Duration>,
    /// `ignoredInterfaces`: interface globs left out of BIRD's direct protocol.
    #[serde(default, deserialize_with = "null_default")]
    pub ignored_interfaces: Vec<String>,
    /// `programClusterRoutes`: `Enabled`, `Disabled`, `EnabledIPIPOnly`,
    /// `EnabledNoEncapOnly` (unset = `EnabledNoEncapOnly`).
    #[serde(default)]
    pub program_cluster_routes: Option<crate::config::ProgramClusterRoutes>,
}

/// `bindMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum BindMode {
    /// Listen on every address.
    None,
    /// Listen on the node's own addresses only.
    #[serde(rename = "NodeIP")]
    NodeIp,
}

/// One entry of the service range lists.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ServiceRange {
    /// `cidr`.
    pub cidr: IpNet,
}

/// `communities[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct NamedCommunity {
    /// `name`.
    pub name: String,
    /// `value`: `aa:nn` or `ga:l1:l2`.
    pub value: String,
}

/// `prefixAdvertisements[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PrefixAdvertisement {
    /// `cidr`.
    pub cidr: IpNet,
    /// `communities`: names of `communities[]` entries or literal values.
    #[serde(default, deserialize_with = "null_default")]
    pub communities: Vec<String>,
}

/// Calico's `BGPPassword`: only a reference to a Kubernetes Secret.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPassword {
    /// `secretKeyRef`.
    #[serde(default)]
    pub secret_key_ref: Option<SecretKeyRef>,
}

/// `secretKeyRef`: a key of a Secret in calico-node's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: String,
    /// The key inside it.
    pub key: String,
}

impl BgpConfiguration {
    /// The per-node object's name for `node`.
    pub fn node_name(node: &str) -> String {
        format!("node.{node}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProgramClusterRoutes;

    #[test]
    fn configuration_reads_calico_fields() {
        let c: BgpConfiguration = serde_json::from_str(
            r#"{"metadata":{"name":"default"},"spec":{"logSeverityScreen":"Info",
              "nodeToNodeMeshEnabled":false,"asNumber":64567,"listenPort":150,"bindMode":"NodeIP",
              "serviceClusterIPs":[{"cidr":"10.101.0.0/16"}],"serviceExternalIPs":null,
              "communities":[{"name":"c","value":"100:1"}],
              "prefixAdvertisements":[{"cidr":"192.168.0.0/16","communities":["c","1:2"]}],
              "nodeMeshPassword":{"secretKeyRef":{"name":"s","key":"k"}},
              "nodeMeshMaxRestartTime":"10s","programClusterRoutes":"EnabledIPIPOnly",
              "ignoredInterfaces":["eth9"],"ipv4NormalRoutePriority":1024}}"#,
        )
        .unwrap();
        let s = c.spec;
        assert_eq!(s.as_number, Some(AsNumber(64567)));
        assert_eq!(s.bind_mode, Some(BindMode::NodeIp));
        assert_eq!(s.service_cluster_ips.len(), 1);
        assert!(s.service_external_ips.is_empty());
        assert_eq!(s.node_mesh_max_restart_time, Some(Duration { seconds: 10 }));
        assert_eq!(s.program_cluster_routes, Some(ProgramClusterRoutes::EnabledIpipOnly));
        assert_eq!(s.prefix_advertisements[0].communities, ["c", "1:2"]);
        assert_eq!(s.node_mesh_password.unwrap().secret_key_ref.unwrap().key, "k");
    }
}
