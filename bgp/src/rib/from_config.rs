//! Mapping from the daemon's configuration and a session's negotiated
//! capabilities to the RIB's inputs, so the daemon does not have to know
//! which configuration key feeds which RIB field.

use std::net::IpAddr;

use super::filter::{Filter, PeerFilters};
use super::policy::ExportPolicy;
use super::types::{LocalRoute, PeerInfo, RibConfig};
use crate::config::{BgpFilter, EffectivePeer, ValidatedConfig};
use crate::wire::Negotiated;

impl RibConfig {
    /// The RIB settings of a validated configuration: the FIB is fed unless
    /// `fib.enabled = false` (a Calico route reflector is a node like any
    /// other and programs its kernel), and next hops are resolved through
    /// the kernel, as BIRD's `gateway recursive`.
    pub fn from_validated(c: &ValidatedConfig) -> Self {
        let cfg = c.config();
        let rr = cfg.route_reflector.enabled;
        RibConfig {
            local_as: cfg.node.local_as,
            router_id: c.router_id(),
            cluster_id: c.cluster_id(),
            route_reflector: rr,
            fib: cfg.fib.enabled,
            resolve_next_hops: true,
            ip_pools: cfg.ip_pools.clone(),
            own_addrs: [
                cfg.node.ipv4.map(|n| IpAddr::V4(n.addr())),
                cfg.node.ipv6.map(|n| IpAddr::V6(n.addr())),
            ]
            .into_iter()
            .flatten()
            .collect(),
            service_ranges: cfg.services.all().map(|(_, r)| r.trunc()).collect(),
        }
    }

    /// The node's own blocks as local routes: advertised, and blackholed in
    /// the FIB (Calico's `route <block> blackhole`).
    pub fn own_blocks(c: &ValidatedConfig) -> Vec<(ipnet::IpNet, LocalRoute)> {
        c.config()
            .node
            .blocks
            .iter()
            .map(|b| (b.trunc(), LocalRoute { blackhole: true, ..LocalRoute::default() }))
            .collect()
    }
}

impl PeerInfo {
    /// The RIB's view of an established session: `peer` as configured,
    /// `neg` as negotiated, `local` the session's local address.
    pub fn from_session(peer: &EffectivePeer, neg: &Negotiated, local: IpAddr) -> Self {
        let (v4, v6) = match local {
            IpAddr::V4(a) => (Some(a), None),
            IpAddr::V6(a) => (None, Some(a)),
        };
        PeerInfo {
            addr: peer.address,
            asn: neg.peer_asn,
            local_as: peer.local_as,
            router_id: neg.peer_bgp_id,
            rr_client: peer.rr_client,
            next_hop_mode: peer.next_hop_mode,
            local_addr_v4: v4,
            local_addr_v6: v6,
            local_subnet: None,
            families: neg.families.clone(),
            encode: neg.encode_ctx(),
            enhanced_route_refresh: neg.enhanced_route_refresh,
            allowed_local_as: peer.allow_local_as,
            export: ExportPolicy::default(),
            // Compiled by the caller, which holds the `[[filters]]`.
            filters: PeerFilters::default(),
            graceful_restart: false,
            gr_forwarding: Vec::new(),
            llgr: false,
        }
        .with_graceful_restart(neg)
    }
}

impl PeerFilters {
    /// The filters `names` (a peer's `filters`) of `all` (the
    /// configuration's `[[filters]]`), compiled, in order; a name `all`
    /// lacks is skipped (validation refuses it).
    pub fn for_peer(all: &[BgpFilter], names: &[String]) -> PeerFilters {
        PeerFilters::new(
            names
                .iter()
                .filter_map(|n| all.iter().find(|f| &f.name == n))
                .map(|f| std::sync::Arc::new(Filter::compile(f)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const REFLECTOR: &str = r#"
        [node]
        name = "rr1"
        local_as = 64512
        ipv4 = "10.0.0.1/24"
        blocks = ["10.244.1.0/26"]
        [route_reflector]
        enabled = true
        cluster_id = "1.1.1.1"
        [[ip_pools]]
        cidr = "10.244.0.0/16"
        "#;

    #[test]
    fn reflector_programs_its_kernel_like_any_node_and_blocks_become_blackholes() {
        let c = crate::config::parse_str(REFLECTOR).unwrap();
        let r = RibConfig::from_validated(&c);
        assert!(r.route_reflector && r.fib && r.resolve_next_hops);
        assert_eq!(r.cluster_id, Some(Ipv4Addr::new(1, 1, 1, 1)));
        assert_eq!(r.ip_pools.len(), 1);
        let blocks = RibConfig::own_blocks(&c);
        assert_eq!(blocks.len(), 1);
        assert!(blocks[0].1.blackhole);
    }

    #[test]
    fn only_fib_enabled_false_keeps_a_dedicated_reflector_out_of_the_kernel() {
        let c =
            crate::config::parse_str(&format!("{REFLECTOR}\n[fib]\nenabled = false\n")).unwrap();
        let r = RibConfig::from_validated(&c);
        assert!(r.route_reflector && !r.fib);
    }
}
