//! The pure derivation confd performs for BIRD, producing calico-bgpd's
//! [`Config`] for one node from the Calico resources.
//!
//! | Calico | `Config` |
//! |---|---|
//! | Node `spec.bgp.asNumber`, else BGPConfiguration `default` `asNumber`, else 64512 | `node.local_as` |
//! | Node `ipv4Address`/`ipv6Address` (with subnet) | `node.ipv4`/`node.ipv6` |
//! | `CALICO_ROUTER_ID`: unset = node IPv4, `hash`, or an address | `node.router_id` |
//! | `listenPort` of `node.<name>`, else of `default`; `bindMode: NodeIP` | `listen` |
//! | `logSeverityScreen` of `node.<name>`, else of `default` | `log_level` |
//! | `nodeToNodeMeshEnabled`, the other Nodes, `nodeMeshMaxRestartTime` | `mesh` (module `peers`) |
//! | BGPPeers | `peers` (module `peers`) |
//! | own `routeReflectorClusterID` | `route_reflector` |
//! | IPPools | `ip_pools` |
//! | confirmed block affinities of the node | `node.blocks` |
//! | `serviceClusterIPs`/`ExternalIPs`/`LoadBalancerIPs` of `default` | `services` |
//! | `prefixAdvertisements` (+ `communities`) of `node.<name>`, else `default` | `prefix_advertisements` |
//! | `programClusterRoutes` of `default` (unset = `EnabledNoEncapOnly`) | `fib.program_cluster_routes` |
//!
//! Settings Calico has no resource for are kept from the node's local
//! configuration: `control_socket`, `metrics`, `timers`, `graceful_restart`,
//! `fib` table, protocol, tunnel device and `merge_paths`, and `log_level`
//! when no `logSeverityScreen` is set. What cannot be expressed is a
//! [`ResourceProblem`] in [`Derived::problems`], never a silent drop.

mod filters;
mod peers;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::resources::{BgpConfiguration, BindMode, Node, ResourceProblem, Resources};
use crate::config::{
    Config, DEFAULT_AS, DEFAULT_PORT, IpPool, Listen, LogLevel, PrefixAdvertisement,
    ProgramClusterRoutes, RouteReflector, RouterIdSpec, Services,
};

/// What confd reads from its environment besides the datastore.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// `CALICO_ROUTER_ID`: unset or empty = the node's IPv4 address,
    /// `hash` = Calico's hash of the node name, else an IPv4 address.
    pub calico_router_id: Option<String>,
}

impl Env {
    /// Picks the variables confd reads from `(name, value)` pairs, e.g.
    /// `std::env::vars()`.
    pub fn from_vars<K: AsRef<str>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        let mut env = Env::default();
        for (k, v) in vars {
            if k.as_ref() == "CALICO_ROUTER_ID" {
                env.calico_router_id = Some(v.into());
            }
        }
        env
    }
}

/// The derived configuration and every problem met on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    /// The node's effective configuration.
    pub config: Config,
    /// Objects or settings that were refused or cannot be expressed.
    pub problems: Vec<ResourceProblem>,
}

/// The BGPConfiguration objects that apply to one node.
struct BgpConfigs<'a> {
    default: Option<&'a BgpConfiguration>,
    node: Option<&'a BgpConfiguration>,
}

impl<'a> BgpConfigs<'a> {
    fn of(r: &'a Resources, node: &str) -> Self {
        BgpConfigs {
            default: r.bgp_configurations.get("default"),
            node: r.bgp_configurations.get(&BgpConfiguration::node_name(node)),
        }
    }

    /// `listenPort` of `node.<name>`, else of `default`.
    fn listen_port(&self) -> Option<u16> {
        self.node.and_then(|c| c.spec.listen_port).or(self.default?.spec.listen_port)
    }

    /// The cluster AS: `default` `asNumber`, else 64512.
    fn cluster_as(&self) -> u32 {
        self.default.and_then(|c| c.spec.as_number).map_or(DEFAULT_AS, |a| a.0)
    }
}

/// A Calico node's AS: its own, else the cluster's.
fn node_as(n: &Node, r: &Resources) -> u32 {
    n.as_number().unwrap_or_else(|| BgpConfigs::of(r, n.name()).cluster_as())
}

/// A Calico node's configured listen port (`node.<name>`, else `default`).
fn node_listen_port(n: &Node, r: &Resources) -> Option<u16> {
    BgpConfigs::of(r, n.name()).listen_port()
}

/// Derives the configuration of the node `local.node.name` names.
pub fn derive(resources: &Resources, local: &Config, env: &Env) -> Derived {
    let mut problems = Vec::new();
    let mut config = local.clone();
    let name = local.node.name.clone();
    let Some(me) = resources.nodes.get(&name) else {
        problems.push(ResourceProblem::new(
            format!("Node {name}"),
            "no Calico Node of this name: the local configuration is used unchanged",
        ));
        return Derived { config, problems };
    };
    let cfgs = BgpConfigs::of(resources, &name);
    let default_spec = cfgs.default.map(|c| &c.spec);

    config.node.local_as = node_as(me, resources);
    config.node.ipv4 = me.ipv4();
    config.node.ipv6 = me.ipv6();
    config.node.router_id = router_id(env, &mut problems);
    config.listen = Listen {
        addresses: match default_spec.and_then(|s| s.bind_mode) {
            Some(BindMode::NodeIp) => {
                let own: Vec<IpAddr> =
                    [me.address(true), me.address(false)].into_iter().flatten().collect();
                if own.is_empty() { Listen::default().addresses } else { own }
            }
            _ => vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::UNSPECIFIED)],
        },
        port: cfgs.listen_port().unwrap_or(DEFAULT_PORT),
    };
    let severity = cfgs
        .node
        .and_then(|c| c.spec.log_severity_screen.as_deref())
        .or(default_spec.and_then(|s| s.log_severity_screen.as_deref()));
    if let Some(s) = severity {
        match log_level(s) {
            Some(l) => config.log_level = l,
            None => problems.push(ResourceProblem::new(
                "BGPConfiguration logSeverityScreen",
                format!("{s:?}: expected Debug, Info, Warning, Error or Fatal"),
            )),
        }
    }
    config.route_reflector = match me.cluster_id() {
        Some(id) => RouteReflector { enabled: true, cluster_id: Some(id) },
        None => RouteReflector::default(),
    };
    peers::mesh(resources, me, &cfgs, &mut config, &mut problems);
    // Before the peers: a peer calls only the filters that exist.
    config.filters =
        resources.bgp_filters.iter().map(|(name, f)| filters::filter(name, f)).collect();
    config.peers = peers::bgp_peers(resources, me, &config, &mut problems);
    config.ip_pools = resources
        .ip_pools
        .values()
        .map(|p| IpPool {
            cidr: p.spec.cidr,
            ipip_mode: p.spec.ipip_mode,
            vxlan_mode: p.spec.vxlan_mode,
            block_size: p.spec.block_size,
            disable_bgp_export: p.spec.disable_bgp_export,
        })
        .collect();
    config.node.blocks = blocks(resources, &name);
    config.services = match default_spec {
        Some(s) => Services {
            cluster_ips: s.service_cluster_ips.iter().map(|r| r.cidr).collect(),
            external_ips: s.service_external_ips.iter().map(|r| r.cidr).collect(),
            load_balancer_ips: s.service_load_balancer_ips.iter().map(|r| r.cidr).collect(),
        },
        None => Services::default(),
    };
    config.prefix_advertisements = prefix_advertisements(&cfgs, &mut problems);
    config.fib.program_cluster_routes = default_spec
        .and_then(|s| s.program_cluster_routes)
        .unwrap_or(ProgramClusterRoutes::EnabledNoEncapOnly);
    Derived { config, problems }
}

fn router_id(env: &Env, problems: &mut Vec<ResourceProblem>) -> RouterIdSpec {
    match env.calico_router_id.as_deref().map(str::trim) {
        None | Some("") => RouterIdSpec::NodeIpv4,
        Some("hash") => RouterIdSpec::Hash,
        Some(other) => match other.parse::<Ipv4Addr>() {
            Ok(a) => RouterIdSpec::Explicit(a),
            Err(_) => {
                problems.push(ResourceProblem::new(
                    "CALICO_ROUTER_ID",
                    format!("{other:?} is neither \"hash\" nor an IPv4 address; using the node's IPv4 address"),
                ));
                RouterIdSpec::NodeIpv4
            }
        },
    }
}

/// `logSeverityScreen` as confd maps it onto BIRD's debug switches.
fn log_level(s: &str) -> Option<LogLevel> {
    match s.to_ascii_lowercase().as_str() {
        "debug" => Some(LogLevel::Debug),
        "info" => Some(LogLevel::Info),
        "warning" | "warn" => Some(LogLevel::Warn),
        "error" | "fatal" | "panic" => Some(LogLevel::Error),
        _ => None,
    }
}

/// The node's blocks as confd blackholes them: affinities that count
/// (confirmed or `""`, not deleted), except host-length ones (a /32 or
/// /128 affinity is aggregated by confd but never blackholed, and
/// `node.blocks` means "originate and blackhole").
fn blocks(r: &Resources, node: &str) -> Vec<IpNet> {
    let set: BTreeSet<IpNet> = r
        .block_affinities
        .iter()
        .filter(|a| a.node == node && a.counts())
        .map(|a| a.cidr.trunc())
        .filter(|c| c.prefix_len() < c.max_prefix_len())
        .collect();
    set.into_iter().collect()
}

/// `prefixAdvertisements` of `node.<name>` if it has any, else of
/// `default`; community names resolved through the same object's
/// `communities`, values deduplicated in order.
fn prefix_advertisements(
    cfgs: &BgpConfigs<'_>,
    problems: &mut Vec<ResourceProblem>,
) -> Vec<PrefixAdvertisement> {
    let source = match cfgs.node {
        Some(n) if !n.spec.prefix_advertisements.is_empty() => n,
        _ => match cfgs.default {
            Some(d) => d,
            None => return Vec::new(),
        },
    };
    let key = format!("BGPConfiguration {}", source.metadata.name);
    source
        .spec
        .prefix_advertisements
        .iter()
        .map(|a| {
            let mut communities: Vec<String> = Vec::new();
            for c in &a.communities {
                let value = match source.spec.communities.iter().find(|n| &n.name == c) {
                    Some(named) => named.value.clone(),
                    None if c.parse::<crate::config::CommunityValue>().is_ok() => c.clone(),
                    None => {
                        problems.push(ResourceProblem::new(
                            &key,
                            format!("prefixAdvertisements {}: community {c:?} is neither a name in communities nor a value", a.cidr),
                        ));
                        continue;
                    }
                };
                if !communities.contains(&value) {
                    communities.push(value);
                }
            }
            PrefixAdvertisement { cidr: a.cidr, communities }
        })
        .collect()
}

#[cfg(test)]
mod tests;
