//! Sessions as confd derives them: the node-to-node mesh (`Mesh_`) and the
//! BGPPeers (`Global_` on every node, `Node_` on the selected nodes, plus
//! the reverse peerings Calico adds on the remote nodes).
//!
//! The rules, in confd's words where it has them:
//! - the mesh is every other node with an address of the family and no
//!   `routeReflectorClusterID`, with that node's AS and listen port; a
//!   route reflector has no mesh;
//! - `peerIP` without a port takes the listen port of the Calico node that
//!   has that address and AS; `peerSelector` gives one peer per selected
//!   node and family, with its AS, port and cluster id;
//! - our own addresses are skipped; a `Node_` peer is dropped where a
//!   `Global_` peer has the same address and port; two peers at one
//!   address on different ports are two sessions (BIRD's `neighbor A
//!   port P`);
//! - unless `reversePeering: Manual`, the remote nodes (`peerSelector`, or
//!   the node owning `peerIP` and AS) get `Node_` peerings back to the
//!   local side (`node`/`nodeSelector`, else every node): both families
//!   for selectors, `peerIP`'s family otherwise;
//! - `passive` only on `Global_` peers whose `peerIP` is a Calico node's
//!   address greater, as a string, than ours (one side dials);
//! - with our own cluster id, each iBGP peer that is a Calico node with no
//!   or another cluster id is a route-reflector client;
//! - `nextHopMode` Keep/Self beats `keepOriginalNextHop`, which keeps the
//!   next hop on eBGP sessions only.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::{BgpConfigs, node_as, node_listen_port};
use crate::calico::resources::NextHopMode as CalicoNextHop;
use crate::calico::resources::{
    BgpPeerSpec, Node, ResourceProblem, Resources, ReversePeering, SourceAddress as CalicoSource,
    parse_peer_ip,
};
use crate::calico::selector::Selector;
use crate::config::{
    AddPath, Config, DEFAULT_PORT, MeshNode, NextHopMode, Peer, PeerScope, SourceAddress,
};

/// Fills `config.mesh` from `default` and the other nodes.
pub(super) fn mesh(
    r: &Resources,
    me: &Node,
    cfgs: &BgpConfigs<'_>,
    config: &mut Config,
    problems: &mut Vec<ResourceProblem>,
) {
    let spec = cfgs.default.map(|c| &c.spec);
    config.mesh.enabled = spec.and_then(|s| s.node_to_node_mesh_enabled).unwrap_or(true);
    config.mesh.password = None;
    config.mesh.password_file = None;
    if spec.is_some_and(|s| s.node_mesh_password.is_some()) {
        problems.push(ResourceProblem::new(
            "BGPConfiguration default",
            "nodeMeshPassword: a Secret reference needs the Kubernetes datastore; mesh sessions have no password",
        ));
    }
    config.mesh.graceful_restart_time = None;
    if let Some(d) = spec.and_then(|s| s.node_mesh_max_restart_time) {
        match u16::try_from(d.seconds) {
            Ok(t) => config.mesh.graceful_restart_time = Some(t),
            Err(_) => problems.push(ResourceProblem::new(
                "BGPConfiguration default",
                format!("nodeMeshMaxRestartTime {} s is above 65535 s", d.seconds),
            )),
        }
    }
    config.mesh.nodes = Vec::new();
    if me.cluster_id().is_some() {
        // A route reflector has no mesh.
        return;
    }
    for n in r.nodes.values() {
        if n.name() == me.name() || n.bgp().is_none() || n.cluster_id().is_some() {
            continue;
        }
        let ipv4 = n.ipv4().map(|a| a.addr()).filter(|a| Some(*a) != me.ipv4().map(|m| m.addr()));
        let ipv6 = n.ipv6().map(|a| a.addr()).filter(|a| Some(*a) != me.ipv6().map(|m| m.addr()));
        if ipv4.is_none() && ipv6.is_none() {
            continue;
        }
        let asn = node_as(n, r);
        let port = node_listen_port(n, r).unwrap_or(DEFAULT_PORT);
        config.mesh.nodes.push(MeshNode {
            name: n.name().to_owned(),
            ipv4,
            ipv6,
            remote_as: (asn != config.node.local_as).then_some(asn),
            port: (port != config.listen.port).then_some(port),
        });
    }
}

/// The remote end of one derived session.
struct Target {
    ip: IpAddr,
    /// The port, when `peerIP` names one or a Calico node lends its own.
    port: Option<u16>,
    asn: u32,
    /// `Some(cluster id)` when the remote end is a Calico node.
    node_cluster_id: Option<Option<Ipv4Addr>>,
    /// `peerIP` is a Calico node's address (the passive rule).
    calico_node: bool,
}

/// Which nodes a BGPPeer applies to.
struct LocalSide {
    node: Option<String>,
    selector: Option<Selector>,
}

impl LocalSide {
    fn contains(&self, n: &Node) -> bool {
        match (&self.node, &self.selector) {
            (Some(name), _) => name == n.name(),
            (None, Some(sel)) => sel.matches(&n.metadata.labels),
            (None, None) => true,
        }
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// The explicit peers of `me`, sorted by BIRD protocol name.
pub(super) fn bgp_peers(
    r: &Resources,
    me: &Node,
    config: &Config,
    problems: &mut Vec<ResourceProblem>,
) -> Vec<Peer> {
    let mut candidates: Vec<(PeerScope, Target, &BgpPeerSpec, &str)> = Vec::new();
    for (name, peer) in &r.bgp_peers {
        let key = format!("BGPPeer {name}");
        let spec = &peer.spec;
        if spec.local_workload_selector.is_some() {
            problems.push(ResourceProblem::new(
                &key,
                "localWorkloadSelector peers come from the endpoint-status files, which calico-bgpd does not read: not derived",
            ));
            continue;
        }
        let parse = |s: Option<&str>, field: &str, problems: &mut Vec<ResourceProblem>| match s {
            None => Ok(None),
            Some(text) => Selector::parse(text).map(Some).map_err(|e| {
                problems.push(ResourceProblem::new(&key, format!("{field}: {e}")));
            }),
        };
        let Ok(node_selector) = parse(non_empty(&spec.node_selector), "nodeSelector", problems)
        else {
            continue;
        };
        let Ok(peer_selector) = parse(non_empty(&spec.peer_selector), "peerSelector", problems)
        else {
            continue;
        };
        let local =
            LocalSide { node: non_empty(&spec.node).map(str::to_owned), selector: node_selector };
        let scope = if spec.is_global() { PeerScope::Global } else { PeerScope::Node };
        let mut remote_nodes: Vec<&Node> = Vec::new();
        let mut peer_ip_family = None;
        if let Some(sel) = &peer_selector {
            remote_nodes = r
                .nodes
                .values()
                .filter(|n| n.bgp().is_some() && sel.matches(&n.metadata.labels))
                .collect();
            if local.contains(me) {
                for n in remote_nodes.iter().filter(|n| n.name() != me.name()) {
                    for v4 in [true, false] {
                        if let (Some(ip), Some(_)) = (n.address(v4), me.address(v4)) {
                            candidates.push((scope, node_target(r, n, ip), spec, name));
                        }
                    }
                }
            }
        } else if let Some(text) = non_empty(&spec.peer_ip) {
            let (ip, port) = match parse_peer_ip(text) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(ResourceProblem::new(&key, e));
                    continue;
                }
            };
            let Some(asn) = spec.as_number.map(|a| a.0) else {
                problems.push(ResourceProblem::new(&key, "peerIP without asNumber"));
                continue;
            };
            let owner = r
                .nodes
                .values()
                .find(|n| n.address(ip.is_ipv4()) == Some(ip) && node_as(n, r) == asn);
            let calico_node = r.nodes.values().any(|n| n.address(ip.is_ipv4()) == Some(ip));
            remote_nodes.extend(owner);
            peer_ip_family = Some(ip.is_ipv4());
            // Without an address of the peer's family confd renders no
            // configuration for that family (`# IPv6 disabled on this node.`).
            let own = me.address(ip.is_ipv4());
            if local.contains(me) && own.is_some() && own != Some(ip) {
                let target = Target {
                    ip,
                    port: port.or_else(|| owner.and_then(|n| node_listen_port(n, r))),
                    asn,
                    node_cluster_id: owner.map(Node::cluster_id),
                    calico_node,
                };
                candidates.push((scope, target, spec, name));
            }
        } else {
            problems.push(ResourceProblem::new(&key, "needs peerIP or peerSelector"));
            continue;
        }
        // Reverse peering: we are a remote end, so we peer back with the local side.
        let reverse = spec.reverse_peering != Some(ReversePeering::Manual);
        if reverse && remote_nodes.iter().any(|n| n.name() == me.name()) {
            for l in r.nodes.values() {
                if l.name() == me.name() || l.bgp().is_none() || !local.contains(l) {
                    continue;
                }
                for v4 in [true, false] {
                    if peer_ip_family.is_some_and(|f| f != v4) {
                        continue;
                    }
                    if let (Some(ip), Some(_)) = (l.address(v4), me.address(v4)) {
                        candidates.push((PeerScope::Node, node_target(r, l, ip), spec, name));
                    }
                }
            }
        }
    }

    // What a BGPPeer asks for that cannot be configured, once per BGPPeer
    // that gives this node a session.
    let mut sources: Vec<&str> = candidates.iter().map(|c| c.3).collect();
    sources.sort_unstable();
    sources.dedup();
    for source in sources {
        let spec = &r.bgp_peers[source].spec;
        let key = format!("BGPPeer {source}");
        if spec.password.is_some() {
            problems.push(ResourceProblem::new(
                &key,
                "password: a Secret reference needs the Kubernetes datastore; the session has no password",
            ));
        }
        // Calico stops calling a filter that is deleted; said here so the
        // operator sees it.
        for missing in spec.filters.iter().filter(|n| !config.filters.iter().any(|f| &f.name == *n))
        {
            problems.push(ResourceProblem::new(
                &key,
                format!("filter {missing} does not exist: not called, as in Calico"),
            ));
        }
    }
    let mut by_name: BTreeMap<String, (Peer, &str)> = BTreeMap::new();
    for (scope, target, spec, source) in candidates {
        let peer = build(scope, &target, spec, me, config, source, problems);
        by_name.entry(peer.name.clone()).or_insert((peer, source));
    }
    let globals: Vec<(IpAddr, u16)> = by_name
        .values()
        .filter(|(p, _)| p.kind == PeerScope::Global)
        .map(|(p, _)| (p.address, p.port))
        .collect();
    let mut out: Vec<Peer> = Vec::new();
    for (peer, source) in by_name.into_values() {
        if peer.kind == PeerScope::Node && globals.contains(&(peer.address, peer.port)) {
            continue;
        }
        // BIRD would run both protocols, dialing the same socket twice:
        // a session is its address and port, so only the first is kept.
        if let Some(kept) = out.iter().find(|p| (p.address, p.port) == (peer.address, peer.port)) {
            problems.push(ResourceProblem::new(
                format!("BGPPeer {source}"),
                format!(
                    "{} is a second session to {} port {} next to {}: one session per address and port, so only the first is configured",
                    peer.name, peer.address, peer.port, kept.name
                ),
            ));
            continue;
        }
        out.push(peer);
    }
    out
}

fn node_target(r: &Resources, n: &Node, ip: IpAddr) -> Target {
    Target {
        ip,
        port: node_listen_port(n, r),
        asn: node_as(n, r),
        node_cluster_id: Some(n.cluster_id()),
        calico_node: false,
    }
}

/// The BIRD protocol name confd gives a peer.
fn protocol_name(scope: PeerScope, ip: IpAddr, port: Option<u16>) -> String {
    let prefix = match scope {
        PeerScope::Global => "Global",
        PeerScope::Node => "Node",
    };
    let ip = ip.to_string().replace(['.', ':'], "_");
    match port {
        Some(p) => format!("{prefix}_{ip}_port_{p}"),
        None => format!("{prefix}_{ip}"),
    }
}

fn build(
    scope: PeerScope,
    t: &Target,
    spec: &BgpPeerSpec,
    me: &Node,
    config: &Config,
    source: &str,
    problems: &mut Vec<ResourceProblem>,
) -> Peer {
    let key = format!("BGPPeer {source}");
    let local_as = spec.local_as_number.map(|a| a.0);
    let effective_local = local_as.unwrap_or(config.node.local_as);
    let ibgp = t.asn == effective_local;
    let next_hop_mode = match spec.next_hop_mode {
        Some(CalicoNextHop::SelfAddr) => NextHopMode::SelfAddr,
        Some(CalicoNextHop::Keep) => NextHopMode::Keep,
        Some(CalicoNextHop::Auto) | None if spec.keep_original_next_hop && !ibgp => {
            NextHopMode::Keep
        }
        _ => NextHopMode::Auto,
    };
    let own = me.address(t.ip.is_ipv4());
    let passive = scope == PeerScope::Global
        && t.calico_node
        && own.is_some_and(|o| t.ip.to_string() > o.to_string());
    let rr_client = match (config.route_reflector.cluster_id, t.node_cluster_id) {
        (Some(ours), Some(theirs)) => ibgp && theirs != Some(ours),
        _ => false,
    };
    let seconds = |d: Option<crate::calico::resources::Duration>,
                   field: &str,
                   problems: &mut Vec<ResourceProblem>| {
        let d = d?;
        u16::try_from(d.seconds)
            .map_err(|_| {
                problems.push(ResourceProblem::new(
                    &key,
                    format!("{field} {} s is above 65535 s", d.seconds),
                ))
            })
            .ok()
    };
    Peer {
        name: protocol_name(scope, t.ip, t.port),
        address: t.ip,
        remote_as: t.asn,
        local_as,
        port: t.port.unwrap_or(DEFAULT_PORT),
        source_address: match spec.source_address {
            Some(CalicoSource::None) => SourceAddress::None,
            _ => SourceAddress::NodeIp,
        },
        password: None,
        password_file: None,
        passive,
        ttl_security: spec.ttl_security.filter(|t| *t > 0),
        multihop: None,
        max_prefix: None,
        families: None,
        add_path: AddPath::Both,
        next_hop_mode,
        rr_client,
        graceful_restart: None,
        graceful_restart_time: seconds(spec.max_restart_time, "maxRestartTime", problems),
        long_lived_stale_time: None,
        hold_time: None,
        keepalive_time: seconds(spec.keepalive_time, "keepaliveTime", problems),
        send_hold_time: None,
        extended_messages: None,
        allow_local_as: spec.num_allowed_local_as_numbers.unwrap_or(0),
        kind: scope,
        reachable_by: spec.reachable_by,
        filters: spec
            .filters
            .iter()
            .filter(|n| config.filters.iter().any(|f| &f.name == *n))
            .cloned()
            .collect(),
    }
}
