//! Calico `IPPool` (projectcalico.org/v3): the pool CIDR, its encapsulation
//! (`ipipMode`, `vxlanMode`), `blockSize`, `disabled` and
//! `disableBGPExport`, which decide what confd exports and programs.

use ipnet::IpNet;
use serde::Deserialize;

use super::meta::Metadata;
use crate::config::EncapMode;

/// An IP pool.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IpPool {
    /// Name and labels.
    #[serde(default)]
    pub metadata: Metadata,
    /// The spec.
    pub spec: IpPoolSpec,
}

/// `IPPool.spec`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolSpec {
    /// `cidr`.
    pub cidr: IpNet,
    /// `ipipMode`: `Never` (default), `Always`, `CrossSubnet`.
    #[serde(default)]
    pub ipip_mode: EncapMode,
    /// `vxlanMode`: `Never` (default), `Always`, `CrossSubnet`.
    #[serde(default)]
    pub vxlan_mode: EncapMode,
    /// `blockSize`: per-node block length.
    #[serde(default)]
    pub block_size: Option<u8>,
    /// `disabled`: IPAM allocates nothing more from the pool. Calico's
    /// syncer still passes the pool to confd, whose pool lines depend on the
    /// CIDR, the encapsulation and `disableBGPExport` only; the derivation
    /// keeps a disabled pool like any other.
    #[serde(default)]
    pub disabled: bool,
    /// `disableBGPExport`: the pool's routes are not advertised.
    #[serde(default, rename = "disableBGPExport")]
    pub disable_bgp_export: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_reads_modes_and_flags() {
        let p: IpPool = serde_json::from_str(
            r#"{"metadata":{"name":"p"},"spec":{"cidr":"192.168.0.0/16","ipipMode":"CrossSubnet",
                "natOutgoing":true,"blockSize":24,"disableBGPExport":true}}"#,
        )
        .unwrap();
        assert_eq!(p.spec.ipip_mode, EncapMode::CrossSubnet);
        assert_eq!(p.spec.vxlan_mode, EncapMode::Never);
        assert_eq!(p.spec.block_size, Some(24));
        assert!(p.spec.disable_bgp_export);
        assert!(serde_json::from_str::<IpPool>(r#"{"spec":{"cidr":"x"}}"#).is_err());
    }
}
