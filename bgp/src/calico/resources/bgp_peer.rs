//! Calico `BGPPeer` (projectcalico.org/v3): an explicit peering. Without
//! `node`/`nodeSelector` it applies to every node (confd's `Global_`
//! peers), else to the selected nodes (`Node_`); the remote end is
//! `peerIP` or every node `peerSelector` selects.

use std::net::{IpAddr, Ipv6Addr};

use serde::Deserialize;

use super::bgp_configuration::BgpPassword;
use super::meta::{AsNumber, Duration, Metadata, null_default};

/// A BGP peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BgpPeer {
    /// Name and labels.
    #[serde(default)]
    pub metadata: Metadata,
    /// The spec.
    #[serde(default, deserialize_with = "null_default")]
    pub spec: BgpPeerSpec,
}

/// `BGPPeer.spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpPeerSpec {
    /// `node`: the one node this peering is for.
    #[serde(default)]
    pub node: Option<String>,
    /// `nodeSelector`: the nodes this peering is for.
    #[serde(default)]
    pub node_selector: Option<String>,
    /// `peerIP`: `ip`, `ip:port` or `[ipv6]:port`.
    #[serde(default, rename = "peerIP")]
    pub peer_ip: Option<String>,
    /// `peerSelector`: the Calico nodes to peer with.
    #[serde(default)]
    pub peer_selector: Option<String>,
    /// `asNumber` of the remote end (ignored with `peerSelector`).
    #[serde(default)]
    pub as_number: Option<AsNumber>,
    /// `localASNumber`: the AS we announce on this session.
    #[serde(default, rename = "localASNumber")]
    pub local_as_number: Option<AsNumber>,
    /// `keepOriginalNextHop` (eBGP only).
    #[serde(default)]
    pub keep_original_next_hop: bool,
    /// `nextHopMode`: `Auto`, `Self`, `Keep`; beats `keepOriginalNextHop`.
    #[serde(default)]
    pub next_hop_mode: Option<NextHopMode>,
    /// `password`.
    #[serde(default)]
    pub password: Option<BgpPassword>,
    /// `sourceAddress`: `UseNodeIP` (default) or `None`.
    #[serde(default)]
    pub source_address: Option<SourceAddress>,
    /// `maxRestartTime`: graceful restart time.
    #[serde(default)]
    pub max_restart_time: Option<Duration>,
    /// `numAllowedLocalASNumbers`.
    #[serde(default, rename = "numAllowedLocalASNumbers")]
    pub num_allowed_local_as_numbers: Option<u8>,
    /// `ttlSecurity`: GTSM hop count.
    #[serde(default)]
    pub ttl_security: Option<u8>,
    /// `reachableBy`: the gateway a static route to the peer uses.
    #[serde(default)]
    pub reachable_by: Option<IpAddr>,
    /// `reversePeering`: `Auto` (default) or `Manual`.
    #[serde(default)]
    pub reverse_peering: Option<ReversePeering>,
    /// `filters`: BGPFilter names, in order.
    #[serde(default, deserialize_with = "null_default")]
    pub filters: Vec<String>,
    /// `localWorkloadSelector`: peering with workloads (needs the
    /// endpoint-status files; not derived here).
    #[serde(default)]
    pub local_workload_selector: Option<String>,
    /// `keepaliveTime`.
    #[serde(default)]
    pub keepalive_time: Option<Duration>,
}

/// `nextHopMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum NextHopMode {
    /// BIRD's default.
    Auto,
    /// `next hop self`.
    #[serde(rename = "Self")]
    SelfAddr,
    /// `next hop keep`.
    Keep,
}

/// `sourceAddress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum SourceAddress {
    /// Bind to the node's address of the peer's family.
    #[serde(rename = "UseNodeIP")]
    UseNodeIp,
    /// Let the kernel choose.
    None,
}

/// `reversePeering`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ReversePeering {
    /// The selected remote nodes peer back automatically.
    Auto,
    /// They need their own BGPPeer.
    Manual,
}

/// Why a `peerIP` does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("peerIP {0:?}: expected IP, IPv4:port or [IPv6]:port")]
pub struct PeerIpError(pub String);

/// Parses `peerIP`: `10.0.0.1`, `10.0.0.1:166`, `fd00::1`, `[fd00::1]:50`.
pub fn parse_peer_ip(s: &str) -> Result<(IpAddr, Option<u16>), PeerIpError> {
    let bad = || PeerIpError(s.to_owned());
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok((ip, None));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:").ok_or_else(bad)?;
        let ip: Ipv6Addr = ip.parse().map_err(|_| bad())?;
        return Ok((IpAddr::V6(ip), Some(port.parse().map_err(|_| bad())?)));
    }
    let (ip, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| bad())?;
    Ok((IpAddr::V4(ip), Some(port.parse().map_err(|_| bad())?)))
}

impl BgpPeerSpec {
    /// Whether this is a global peering (applies to every node).
    pub fn is_global(&self) -> bool {
        self.node.as_deref().unwrap_or("").is_empty()
            && self.node_selector.as_deref().unwrap_or("").is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ip_takes_ipv4_port_and_bracketed_ipv6_port() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(parse_peer_ip("10.192.0.1"), Ok((ip("10.192.0.1"), None)));
        assert_eq!(parse_peer_ip("10.192.0.1:166"), Ok((ip("10.192.0.1"), Some(166))));
        assert_eq!(parse_peer_ip("ac13::57"), Ok((ip("ac13::57"), None)));
        assert_eq!(parse_peer_ip("[ac13::57]:50"), Ok((ip("ac13::57"), Some(50))));
        assert!(parse_peer_ip("[ac13::57]").is_err());
        assert!(parse_peer_ip("10.0.0.1:99999").is_err());
        assert!(parse_peer_ip("host:179").is_err());
    }

    #[test]
    fn peer_reads_calico_fields() {
        let p: BgpPeer = serde_json::from_str(
            r#"{"metadata":{"name":"p"},"spec":{"peerIP":"[ac13::57]:50","asNumber":64533,
              "nodeSelector":"has(routeReflector)","sourceAddress":"None","nextHopMode":"Self",
              "reversePeering":"Manual","maxRestartTime":"10s","ttlSecurity":2,
              "numAllowedLocalASNumbers":1,"localASNumber":"65000","reachableBy":"10.224.0.1","filters":["f"],
              "failureDetectionMode":"BFDIfDirectlyConnected"}}"#,
        )
        .unwrap();
        assert!(!p.spec.is_global());
        assert_eq!(p.spec.source_address, Some(SourceAddress::None));
        assert_eq!(p.spec.next_hop_mode, Some(NextHopMode::SelfAddr));
        assert_eq!(p.spec.reverse_peering, Some(ReversePeering::Manual));
        assert_eq!(p.spec.max_restart_time, Some(Duration { seconds: 10 }));
        assert_eq!(p.spec.ttl_security, Some(2));
        assert_eq!(p.spec.num_allowed_local_as_numbers, Some(1));
        assert_eq!(p.spec.local_as_number, Some(AsNumber(65000)));
        assert!(serde_json::from_str::<BgpPeer>(r#"{"spec":{"sourceAddress":"Odd"}}"#).is_err());
    }
}
