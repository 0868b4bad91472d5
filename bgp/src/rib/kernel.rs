//! Routes learned from the kernel, as Calico's BIRD has them: its kernel protocol runs
//! with `learn`, so other agents' routes of the table (Felix's `/32 dev caliXXXX`
//! workload routes, among them the addresses it borrowed from blocks affine to other
//! nodes) enter BIRD's table, and confd's `calico_export_to_bgp_peers()` sends some of
//! them to peers.
//!
//! Here such a route is a path of the local router (slot 0) under its own path id
//! ([`KERNEL_RX_ID`]), beside what the node originates:
//!
//! - best path: it loses to originated routes and to BGP paths (BIRD's preferences:
//!   static 200, BGP 100, kernel 10), and is never programmed back into the kernel;
//! - export: [`kernel_export`] is Calico's filter, judged once per route and kept with
//!   it; the route carries LOCAL_PREF `2^31 - 1 - metric` (the per-peer export prologue
//!   `bgp_local_pref = 2147483647 - krt_metric`) and our next hop, as BIRD sends a
//!   device route (`bgp_create_attrs`: no gateway, so the source address).
//!
//! ```text
//!  calico_export_to_bgp_peers(internal_peer)          kernel_export
//!  net ~ disableBGPExport pool      -> reject         None
//!  internal_peer && ifname ~ "*.cali" | "*.calico"    Ebgp (if accepted below)
//!                  | "tunl0" (Felix programs IPIP)
//!  ifname ~ "bpf*.cali"             -> reject         None
//!  calico_aggr(): net = own block   -> accept         All / Ebgp
//!                 net ~ own block, krt_metric < 1024 -> accept
//!                 net ~ own block   -> reject         None
//!  net ~ advertised service range   -> accept         All / Ebgp
//!  net ~ pool                       -> accept         All / Ebgp
//!  (end of the peer's export filter) -> reject        None
//! ```
//!
//! A BGPFilter export rule of the peer comes first, as in Calico's BIRD config.

use ipnet::IpNet;

use super::policy::NORMAL_ROUTE_PRIORITY;
use crate::config::IpPool;
use crate::wire::attr::{Community, LargeCommunity};

/// The path id a learned kernel route takes under the local router's slot (originated
/// routes take 0).
pub(crate) const KERNEL_RX_ID: u32 = u32::MAX;

/// To whom confd's `calico_export_to_bgp_peers()` sends a learned kernel route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelExport {
    /// To no peer.
    None,
    /// To external peers only: a route through one of Felix's tunnel devices, which
    /// Calico keeps off iBGP sessions (every node programs those itself).
    Ebgp,
    /// To every peer.
    All,
}

/// A route learned from the kernel, as the RIB takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    /// Its kernel metric (`krt_metric`).
    pub metric: u32,
    /// Who it is sent to ([`kernel_export`]).
    pub export: KernelExport,
    /// Standard communities to attach (`prefixAdvertisements`: confd's
    /// `apply_communities()` runs for every exported route).
    pub communities: Vec<Community>,
    /// Large communities to attach.
    pub large_communities: Vec<LargeCommunity>,
}

/// What Calico's export filter reads from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct KernelExportRules<'a> {
    /// The IP pools.
    pub pools: &'a [IpPool],
    /// The node's own blocks (`calico_aggr()`).
    pub blocks: &'a [IpNet],
    /// The advertised service ranges.
    pub services: &'a [IpNet],
    /// This daemon programs IPIP pools (`programClusterRoutes` `Enabled` or
    /// `EnabledIPIPOnly`); otherwise Felix does, and its `tunl0` routes stay off iBGP.
    pub programs_ipip: bool,
}

/// Whether a BIRD glob of the form `PREFIX*SUFFIX` matches `s`.
fn glob(s: &str, prefix: &str, suffix: &str) -> bool {
    s.len() >= prefix.len() + suffix.len() && s.starts_with(prefix) && s.ends_with(suffix)
}

/// Calico's `calico_export_to_bgp_peers()` for a learned kernel route to `prefix`
/// through `device` (BIRD's `ifname`; none for a blackhole or multipath route) with
/// `metric`.
pub fn kernel_export(
    prefix: IpNet,
    device: Option<&str>,
    metric: u32,
    rules: &KernelExportRules<'_>,
) -> KernelExport {
    if rules.pools.iter().any(|p| p.disable_bgp_export && p.cidr.contains(&prefix)) {
        return KernelExport::None;
    }
    let dev = device.unwrap_or("");
    // reject_local_routes(): BPF's local routes never leave the node.
    if glob(dev, "bpf", ".cali") {
        return KernelExport::None;
    }
    let accepted = match rules.blocks.iter().find(|b| b.contains(&prefix)) {
        // calico_aggr(): the block itself, or an elevated route inside it (a VM being
        // live-migrated here); the block's ordinary workload routes stay behind it.
        Some(b) => *b == prefix || metric < NORMAL_ROUTE_PRIORITY,
        None => {
            rules.services.iter().any(|s| s.contains(&prefix))
                || rules.pools.iter().any(|p| !p.disable_bgp_export && p.cidr.contains(&prefix))
        }
    };
    let felix_tunnel = glob(dev, "", ".cali")
        || glob(dev, "", ".calico")
        || (!rules.programs_ipip && dev == "tunl0");
    match (accepted, felix_tunnel) {
        (false, _) => KernelExport::None,
        (true, true) => KernelExport::Ebgp,
        (true, false) => KernelExport::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn pool(cidr: &str, disabled: bool) -> IpPool {
        IpPool {
            cidr: net(cidr),
            ipip_mode: Default::default(),
            vxlan_mode: Default::default(),
            block_size: None,
            disable_bgp_export: disabled,
        }
    }

    #[test]
    fn calicos_export_filter_for_learned_routes() {
        let pools = [pool("10.244.0.0/16", false), pool("10.250.0.0/16", true)];
        let blocks = [net("10.244.1.0/26")];
        let services = [net("10.96.0.0/12")];
        let rules = KernelExportRules {
            pools: &pools,
            blocks: &blocks,
            services: &services,
            programs_ipip: false,
        };
        let e = |p: &str, dev: Option<&str>, metric| kernel_export(net(p), dev, metric, &rules);
        use KernelExport::{All, Ebgp};
        let none = KernelExport::None;
        let rows = [
            (
                "borrowed address of another node's block",
                e("10.244.2.7/32", Some("cali1"), 1024),
                All,
            ),
            ("workload route in an own block", e("10.244.1.5/32", Some("cali1"), 1024), none),
            (
                "elevated workload route in an own block",
                e("10.244.1.5/32", Some("cali1"), 512),
                All,
            ),
            ("the own block itself (Felix's blackhole)", e("10.244.1.0/26", None, 0), All),
            ("pool route through vxlan.calico", e("10.244.3.0/26", Some("vxlan.calico"), 0), Ebgp),
            (
                "pool route through wireguard.cali",
                e("10.244.3.0/26", Some("wireguard.cali"), 0),
                Ebgp,
            ),
            ("pool route through Felix's tunl0", e("10.244.3.0/26", Some("tunl0"), 0), Ebgp),
            ("BPF's local route", e("10.244.2.7/32", Some("bpfout.cali"), 0), none),
            ("a disabled pool", e("10.250.0.7/32", Some("cali1"), 1024), none),
            ("a service range", e("10.96.0.10/32", Some("eth0"), 0), All),
            ("the default route", e("0.0.0.0/0", Some("eth0"), 0), none),
            ("a route outside every pool", e("192.168.7.0/24", Some("eth0"), 0), none),
        ];
        for (what, got, want) in rows {
            assert_eq!(got, want, "{what}");
        }
        let ipip = KernelExportRules { programs_ipip: true, ..rules };
        assert_eq!(kernel_export(net("10.244.3.0/26"), Some("tunl0"), 0, &ipip), All);
    }
}
