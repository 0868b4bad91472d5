//! Tunnel devices and the VTEP entries VXLAN routes need.
//!
//! ```text
//!  vxlan.calico   type vxlan id 4096 dstport 4789 local NODE_IP dev UPLINK nolearning
//!                 mtu UPLINK_MTU-50 (IPv4 underlay) / -70 (IPv6: vxlan-v6.calico)
//!                 address vtep_mac(NODE_IP)
//!  tunl0          type ipip, mtu UPLINK_MTU-20
//!  per remote VTEP (the BGP next hop NH):
//!    ip neigh replace NH lladdr vtep_mac(NH) dev vxlan.calico nud permanent
//!    bridge fdb replace vtep_mac(NH) dev vxlan.calico dst NH self permanent
//! ```
//!
//! These devices are Felix's on a Calico node: the FIB only creates or fixes them with
//! `FibConfig::manage_vxlan` / `manage_tunl0` (a node without Felix), and otherwise only
//! looks them up by name.
//!
//! A kernel without a device type answers `EOPNOTSUPP` ("Unknown device type"); this
//! machine has no ipip module. That is reported as [`TunnelStatus::Unsupported`], which
//! the policy sees as a missing tunnel (VXLAN routes are skipped with
//! `SkipReason::TunnelMissing`; IPIP routes go in unencapsulated, as BIRD installs them
//! without `tunl0`), never silently ignored.

use std::net::IpAddr;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoData, InfoVxlan, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::packet_route::neighbour::NeighbourFlags;
use rtnetlink::{LinkIpIp, LinkUnspec, LinkVxlan};

use super::{Kernel, Result, link_of, req};
use crate::policy::{Vtep, vtep_mac};
use crate::route::IfIndex;

/// Calico's VXLAN network identifier.
pub const VXLAN_VNI: u32 = 4096;
/// The IANA VXLAN port.
pub const VXLAN_PORT: u16 = 4789;
/// IPv4-underlay VXLAN device name.
pub const VXLAN_V4: &str = "vxlan.calico";
/// IPv6-underlay VXLAN device name.
pub const VXLAN_V6: &str = "vxlan-v6.calico";
/// The IPIP device name (the kernel's fallback tunnel).
pub const TUNL0: &str = "tunl0";

/// The state of one tunnel device after `ensure_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelStatus {
    /// The device exists, is up and has the right parameters.
    Ready {
        /// Its interface index.
        index: IfIndex,
        /// Its MTU.
        mtu: u32,
    },
    /// The kernel lacks the device type (`EOPNOTSUPP`, "Unknown device type").
    Unsupported {
        /// Device name.
        device: String,
        /// What the kernel said.
        reason: String,
    },
    /// Creating or configuring it failed for another reason, or, when it is not
    /// managed here (Felix's), it is absent.
    Failed {
        /// Device name.
        device: String,
        /// The error.
        reason: String,
    },
}

impl TunnelStatus {
    /// The interface index if the device is usable.
    pub fn index(&self) -> Option<IfIndex> {
        match self {
            TunnelStatus::Ready { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// What `vxlan.calico` must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanSpec {
    /// Device name.
    pub name: String,
    /// VNI.
    pub vni: u32,
    /// UDP destination port.
    pub port: u16,
    /// Local underlay address (the node IP); its family picks the MTU overhead.
    pub local: IpAddr,
    /// The uplink the underlay traffic leaves on.
    pub uplink: IfIndex,
    /// The uplink's MTU.
    pub uplink_mtu: u32,
}

impl VxlanSpec {
    /// Calico's device for a node address: `vxlan.calico` or `vxlan-v6.calico`, VNI
    /// 4096, port 4789.
    pub fn calico(local: IpAddr, uplink: IfIndex, uplink_mtu: u32) -> VxlanSpec {
        let name = if local.is_ipv4() { VXLAN_V4 } else { VXLAN_V6 };
        VxlanSpec { name: name.into(), vni: VXLAN_VNI, port: VXLAN_PORT, local, uplink, uplink_mtu }
    }

    /// Uplink MTU less the encapsulation: 50 octets over IPv4, 70 over IPv6
    /// (outer IP + UDP 8 + VXLAN 8 + inner Ethernet 14).
    pub fn mtu(&self) -> u32 {
        self.uplink_mtu.saturating_sub(if self.local.is_ipv4() { 50 } else { 70 })
    }

    /// The device's own MAC, the one peers derive from our address.
    pub fn mac(&self) -> [u8; 6] {
        vtep_mac(self.local)
    }
}

/// The MTU of `tunl0` for an uplink MTU: less the 20-octet outer IPv4 header.
pub fn ipip_mtu(uplink_mtu: u32) -> u32 {
    uplink_mtu.saturating_sub(20)
}

fn is_unsupported(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EOPNOTSUPP)
}

async fn link_msg(k: &Kernel, name: &str) -> Result<Option<LinkMessage>> {
    let mut s = k.handle.link().get().match_name(name.to_string()).execute();
    match s.try_next().await {
        Ok(m) => Ok(m),
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
        Err(e) => Err(req(format!("get link {name}"))(e)),
    }
}

fn vxlan_params(m: &LinkMessage) -> Option<(u32, u16, Option<IpAddr>, Option<u32>)> {
    let infos = m.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(i) => Some(i),
        _ => None,
    })?;
    let data = infos.iter().find_map(|i| match i {
        LinkInfo::Data(InfoData::Vxlan(v)) => Some(v),
        _ => None,
    })?;
    let (mut vni, mut port, mut local, mut dev) = (None, None, None, None);
    for d in data {
        match d {
            InfoVxlan::Id(v) => vni = Some(*v),
            InfoVxlan::Port(p) => port = Some(*p),
            InfoVxlan::Local(a) => local = Some(IpAddr::V4(*a)),
            InfoVxlan::Local6(a) => local = Some(IpAddr::V6(*a)),
            InfoVxlan::Link(i) => dev = Some(*i),
            _ => {}
        }
    }
    Some((vni?, port?, local, dev))
}

async fn set_up(k: &Kernel, index: IfIndex, mtu: u32, mac: Option<[u8; 6]>) -> Result<()> {
    let mut b = LinkUnspec::new_with_index(index).mtu(mtu).up();
    if let Some(mac) = mac {
        b = b.address(mac.to_vec());
    }
    k.handle.link().set(b.build()).execute().await.map_err(req(format!("set link #{index}")))
}

/// Creates or fixes the VXLAN device. A device with the right name but the wrong
/// VNI, port, local address or uplink is deleted and recreated.
pub async fn ensure_vxlan(k: &Kernel, spec: &VxlanSpec) -> TunnelStatus {
    match ensure_vxlan_inner(k, spec).await {
        Ok(s) => s,
        Err(e) => TunnelStatus::Failed { device: spec.name.clone(), reason: e.to_string() },
    }
}

async fn ensure_vxlan_inner(k: &Kernel, spec: &VxlanSpec) -> Result<TunnelStatus> {
    let want = (spec.vni, spec.port, Some(spec.local), Some(spec.uplink));
    if let Some(m) = link_msg(k, &spec.name).await? {
        let index = m.header.index;
        if vxlan_params(&m) == Some(want) {
            // Setting the MAC, even to the same value, makes the kernel flush the
            // device's neighbour entries (NETDEV_CHANGEADDR), our VTEPs among them.
            let mac = m.attributes.iter().find_map(|a| match a {
                LinkAttribute::Address(a) => Some(a.as_slice()),
                _ => None,
            });
            let new_mac = (mac != Some(&spec.mac()[..])).then(|| spec.mac());
            set_up(k, index, spec.mtu(), new_mac).await?;
            return Ok(TunnelStatus::Ready { index, mtu: spec.mtu() });
        }
        tracing::warn!(device = %spec.name, "tunnel device has other parameters; recreating");
        k.handle.link().del(index).execute().await.map_err(req(format!("delete {}", spec.name)))?;
    }
    let mut b =
        LinkVxlan::new(&spec.name, spec.vni).port(spec.port).dev(spec.uplink).learning(false);
    b = match spec.local {
        IpAddr::V4(a) => b.local(a),
        IpAddr::V6(a) => b.local6(a),
    };
    let msg = b.mtu(spec.mtu()).address(spec.mac().to_vec()).up().build();
    match k.handle.link().add(msg).execute().await {
        Ok(()) => {}
        Err(e) if is_unsupported(&e) => {
            return Ok(TunnelStatus::Unsupported {
                device: spec.name.clone(),
                reason: e.to_string(),
            });
        }
        Err(e) => return Err(req(format!("create {}", spec.name))(e)),
    }
    let index = link_msg(k, &spec.name).await?.map(|m| m.header.index).unwrap_or(0);
    Ok(TunnelStatus::Ready { index, mtu: spec.mtu() })
}

/// Makes `tunl0` usable: sets MTU and up if it exists, else tries to create it. On a
/// kernel without ipip this is [`TunnelStatus::Unsupported`].
pub async fn ensure_ipip(k: &Kernel, uplink_mtu: u32) -> TunnelStatus {
    let mtu = ipip_mtu(uplink_mtu);
    let dev = TUNL0.to_string();
    let fail = |e: super::NetlinkError| TunnelStatus::Failed {
        device: dev.clone(),
        reason: e.to_string(),
    };
    match k.link_by_name(TUNL0).await {
        Ok(Some(l)) => match set_up(k, l.index, mtu, None).await {
            Ok(()) => TunnelStatus::Ready { index: l.index, mtu },
            Err(e) => fail(e),
        },
        Ok(None) => {
            let msg = LinkIpIp::new(TUNL0).mtu(mtu).up().build();
            match k.handle.link().add(msg).execute().await {
                Ok(()) => match k.link_by_name(TUNL0).await {
                    Ok(Some(l)) => TunnelStatus::Ready { index: l.index, mtu },
                    Ok(None) => TunnelStatus::Failed {
                        device: dev.clone(),
                        reason: "created but not found".into(),
                    },
                    Err(e) => fail(e),
                },
                Err(e) if is_unsupported(&e) => TunnelStatus::Unsupported {
                    device: dev.clone(),
                    reason: format!("kernel has no ipip support (Unknown device type): {e}"),
                },
                Err(e) => fail(req("create tunl0")(e)),
            }
        }
        Err(e) => fail(e),
    }
}

/// Installs (idempotently) the neighbour and FDB entries for a remote VTEP.
pub async fn ensure_vtep(k: &Kernel, v: &Vtep) -> Result<()> {
    k.handle
        .neighbours()
        .add(v.dev, v.ip)
        .link_layer_address(&v.mac)
        .replace()
        .execute()
        .await
        .map_err(req(format!("neigh {} on #{}", v.ip, v.dev)))?;
    k.handle
        .neighbours()
        .add_bridge(v.dev, &v.mac)
        .destination(v.ip)
        .flags(NeighbourFlags::Own)
        .replace()
        .execute()
        .await
        .map_err(req(format!("fdb {} on #{}", v.ip, v.dev)))
}

/// Removes a remote VTEP's entries (already absent counts as removed).
pub async fn remove_vtep(k: &Kernel, v: &Vtep) -> Result<()> {
    use rtnetlink::packet_route::AddressFamily;
    use rtnetlink::packet_route::neighbour::{
        NeighbourAddress, NeighbourAttribute, NeighbourMessage,
    };
    let mut n = NeighbourMessage::default();
    n.header.ifindex = v.dev;
    n.header.family = if v.ip.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    n.attributes.push(NeighbourAttribute::Destination(match v.ip {
        IpAddr::V4(a) => NeighbourAddress::Inet(a),
        IpAddr::V6(a) => NeighbourAddress::Inet6(a),
    }));
    let mut f = NeighbourMessage::default();
    f.header.ifindex = v.dev;
    f.header.family = AddressFamily::Bridge;
    f.header.flags = NeighbourFlags::Own;
    f.attributes.push(NeighbourAttribute::LinkLayerAddress(v.mac.to_vec()));
    f.attributes.push(NeighbourAttribute::Destination(match v.ip {
        IpAddr::V4(a) => NeighbourAddress::Inet(a),
        IpAddr::V6(a) => NeighbourAddress::Inet6(a),
    }));
    for m in [n, f] {
        match k.handle.neighbours().del(m).execute().await {
            Ok(()) => {}
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENOENT => {}
            Err(e) => return Err(req(format!("remove vtep {}", v.ip))(e)),
        }
    }
    Ok(())
}

/// The link state of a device by name (for status output).
pub async fn device(k: &Kernel, name: &str) -> Result<Option<super::Link>> {
    Ok(link_msg(k, name).await?.map(|m| link_of(&m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vxlan_mtu_takes_the_encapsulation_off_the_uplink() {
        let v4 = VxlanSpec::calico("10.0.0.5".parse().unwrap(), 2, 1500);
        assert_eq!(
            (v4.name.as_str(), v4.vni, v4.port, v4.mtu()),
            ("vxlan.calico", 4096, 4789, 1450)
        );
        let v6 = VxlanSpec::calico("fd00::5".parse().unwrap(), 2, 1500);
        assert_eq!((v6.name.as_str(), v6.mtu()), ("vxlan-v6.calico", 1430));
        assert_eq!(ipip_mtu(1500), 1480);
        assert_eq!(ipip_mtu(10), 0);
    }

    #[test]
    fn own_vxlan_mac_is_what_peers_derive() {
        let s = VxlanSpec::calico("10.0.0.5".parse().unwrap(), 2, 1500);
        assert_eq!(s.mac(), [0x02, 0xcb, 10, 0, 0, 5]);
    }
}
