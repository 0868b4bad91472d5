use std::net::IpAddr;

use super::*;
use crate::config::{NextHopMode, PeerScope, SourceAddress, from_toml, validate};

const NODES: &str = r#"
kind: Node
apiVersion: projectcalico.org/v3
metadata:
  name: kube-master
spec:
  bgp:
    ipv4Address: 10.192.0.2/16
---
kind: Node
apiVersion: projectcalico.org/v3
metadata:
  name: kube-node-1
  labels:
    rr: "true"
spec:
  bgp:
    ipv4Address: 10.192.0.3/16
---
kind: Node
apiVersion: projectcalico.org/v3
metadata:
  name: kube-node-2
spec:
  bgp:
    ipv4Address: 10.192.0.1/16
"#;

fn local(name: &str) -> Config {
    from_toml(&format!("[node]\nname = \"{name}\"\nipv4 = \"192.0.2.1/24\"\n")).unwrap()
}

fn derive_for(name: &str, yaml: &str, env: &Env) -> Derived {
    let (r, problems) = Resources::from_yaml(yaml);
    assert!(problems.is_empty(), "{problems:?}");
    let d = derive(&r, &local(name), env);
    if let Err(e) = validate(d.config.clone()) {
        panic!("derived config does not validate: {e}\n{:#?}", d.config);
    }
    d
}

fn on_master(extra: &str) -> Derived {
    derive_for("kube-master", &format!("{NODES}---\n{extra}"), &Env::default())
}

fn peer<'a>(d: &'a Derived, name: &str) -> &'a crate::config::Peer {
    d.config.peers.iter().find(|p| p.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = d.config.peers.iter().map(|p| p.name.as_str()).collect();
        panic!("no peer {name} in {names:?}")
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const DEFAULT_NO_MESH: &str = "kind: BGPConfiguration\napiVersion: projectcalico.org/v3\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n";

#[test]
fn node_as_is_its_own_else_the_defaults_else_64512() {
    assert_eq!(on_master("").config.node.local_as, 64512);
    let d =
        on_master("kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  asNumber: 64567\n");
    assert_eq!(d.config.node.local_as, 64567);
    let own = NODES
        .replace("ipv4Address: 10.192.0.2/16", "ipv4Address: 10.192.0.2/16\n    asNumber: 65001");
    let d = derive_for("kube-master", &own, &Env::default());
    assert_eq!(d.config.node.local_as, 65001);
    assert_eq!(d.config.mesh.nodes[0].remote_as, Some(64512));
}

#[test]
fn node_address_keeps_its_subnet() {
    let d = on_master("");
    assert_eq!(d.config.node.ipv4, Some("10.192.0.2/16".parse().unwrap()));
    assert_eq!(d.config.node.ipv6, None);
}

#[test]
fn router_id_follows_calico_router_id() {
    let with = |v: Option<&str>| {
        let env = Env { calico_router_id: v.map(str::to_owned) };
        derive_for("kube-master", NODES, &env).config.node.router_id
    };
    assert_eq!(with(None), RouterIdSpec::NodeIpv4);
    assert_eq!(with(Some("hash")), RouterIdSpec::Hash);
    assert_eq!(with(Some("10.10.10.10")), RouterIdSpec::Explicit(Ipv4Addr::new(10, 10, 10, 10)));
    let env = Env::from_vars([("CALICO_ROUTER_ID", "nonsense"), ("OTHER", "x")]);
    let (r, _) = Resources::from_yaml(NODES);
    let d = derive(&r, &local("kube-master"), &env);
    assert_eq!(d.problems[0].key, "CALICO_ROUTER_ID");
}

#[test]
fn node_listen_port_overrides_default_and_node_ip_binds_own_address() {
    let d = on_master(
        "kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  listenPort: 150\n  bindMode: NodeIP\n---\n\
         kind: BGPConfiguration\nmetadata:\n  name: node.kube-master\nspec:\n  listenPort: 177\n",
    );
    assert_eq!(d.config.listen.port, 177);
    assert_eq!(d.config.listen.addresses, [ip("10.192.0.2")]);
    // The other nodes listen on the default's port.
    assert!(d.config.mesh.nodes.iter().all(|n| n.port == Some(150)));
}

#[test]
fn mesh_is_every_other_node_with_its_port_and_password_and_restart_time() {
    let d = on_master(
        "kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeMeshMaxRestartTime: 10s\n",
    );
    let names: Vec<&str> = d.config.mesh.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["kube-node-1", "kube-node-2"]);
    assert!(d.config.mesh.enabled);
    assert_eq!(d.config.mesh.graceful_restart_time, Some(10));
    let v = validate(d.config).unwrap();
    let peers: Vec<String> = v.peers().iter().map(|p| p.bird_protocol_name()).collect();
    assert_eq!(peers, ["Mesh_10_192_0_1", "Mesh_10_192_0_3"]);
    assert!(v.peer(ip("10.192.0.3")).unwrap().passive);
}

#[test]
fn rr_node_skips_the_mesh() {
    let rr = NODES.replace(
        "ipv4Address: 10.192.0.2/16",
        "ipv4Address: 10.192.0.2/16\n    routeReflectorClusterID: 10.0.0.1",
    );
    let d = derive_for("kube-master", &rr, &Env::default());
    assert!(d.config.mesh.nodes.is_empty());
    assert!(d.config.route_reflector.enabled);
    assert_eq!(d.config.route_reflector.cluster_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
    // And the other nodes leave the reflector out of their mesh.
    let d = derive_for("kube-node-1", &rr, &Env::default());
    let names: Vec<&str> = d.config.mesh.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["kube-node-2"]);
}

#[test]
fn greater_peer_ip_string_is_passive_for_global_peers() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: a\nspec:\n  peerIP: 10.192.0.3\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: b\nspec:\n  peerIP: 10.192.0.1\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: c\nspec:\n  peerIP: 10.192.0.9\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: d\nspec:\n  node: kube-master\n  peerIP: 10.192.0.4\n  asNumber: 64512\n"
    ));
    let g = peer(&d, "Global_10_192_0_3");
    assert_eq!(g.kind, PeerScope::Global);
    assert!(g.passive, "10.192.0.3 > 10.192.0.2 and is a Calico node");
    assert!(!peer(&d, "Global_10_192_0_1").passive);
    assert!(!peer(&d, "Global_10_192_0_9").passive, "not a Calico node");
    assert!(!peer(&d, "Node_10_192_0_4").passive, "never on Node_ peers");
}

#[test]
fn peer_ip_without_port_borrows_the_calico_nodes_listen_port() {
    let d = on_master(
        "kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n  listenPort: 150\n---\n\
         kind: BGPPeer\nmetadata:\n  name: a\nspec:\n  peerIP: 10.192.0.3\n  asNumber: 64512\n  sourceAddress: None\n---\n\
         kind: BGPPeer\nmetadata:\n  name: b\nspec:\n  peerIP: 10.192.0.9\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: c\nspec:\n  peerIP: 10.192.0.1\n  asNumber: 65000\n",
    );
    let a = peer(&d, "Global_10_192_0_3_port_150");
    assert_eq!(a.port, 150);
    assert_eq!(a.source_address, SourceAddress::None);
    assert_eq!(peer(&d, "Global_10_192_0_9").port, 179, "not a Calico node");
    assert_eq!(peer(&d, "Global_10_192_0_1").port, 179, "a Calico node, but another AS");
}

#[test]
fn a_second_port_to_the_same_address_is_a_second_session() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: a\nspec:\n  peerIP: 10.192.0.9:166\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: b\nspec:\n  peerIP: 10.192.0.9\n  asNumber: 64512\n"
    ));
    let names: Vec<&str> = d.config.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Global_10_192_0_9", "Global_10_192_0_9_port_166"]);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
}

#[test]
fn a_second_peer_to_the_same_address_and_port_is_a_problem_not_a_silent_drop() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: a\nspec:\n  peerIP: 10.192.0.9:179\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: b\nspec:\n  peerIP: 10.192.0.9\n  asNumber: 64512\n"
    ));
    assert_eq!(d.config.peers.len(), 1);
    assert_eq!(d.config.peers[0].name, "Global_10_192_0_9");
    assert!(
        d.problems.iter().any(|p| p.reason.contains("Global_10_192_0_9_port_179")),
        "{:?}",
        d.problems
    );
}

#[test]
fn node_peer_is_dropped_where_a_global_peer_has_the_same_ip_and_port() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: a\nspec:\n  peerIP: 10.192.0.9\n  asNumber: 64512\n---\n\
         kind: BGPPeer\nmetadata:\n  name: b\nspec:\n  node: kube-master\n  peerIP: 10.192.0.9\n  asNumber: 64512\n"
    ));
    let names: Vec<&str> = d.config.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Global_10_192_0_9"]);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
}

#[test]
fn own_address_is_skipped_and_the_owner_peers_back() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: a\nspec:\n  peerIP: 10.192.0.2\n  asNumber: 64512\n"
    ));
    // No session to ourselves; as the node owning peerIP and AS we get the
    // reverse peerings to every node the global peer applies to.
    let names: Vec<&str> = d.config.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Node_10_192_0_1", "Node_10_192_0_3"]);
}

#[test]
fn peer_of_a_family_the_node_lacks_is_not_configured() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: v6\nspec:\n  peerIP: \"[ac13::57]:50\"\n  asNumber: 64533\n"
    ));
    assert!(d.config.peers.is_empty());
}

#[test]
fn peer_selector_gives_one_peer_per_selected_node_and_reverse_peering_answers() {
    let yaml = format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: to-rr\nspec:\n  nodeSelector: \"!has(rr)\"\n  peerSelector: has(rr)\n"
    );
    let d = on_master(&yaml);
    let names: Vec<&str> = d.config.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Node_10_192_0_3"]);
    // kube-node-1 is selected, so it peers back with every local-side node.
    let d = derive_for("kube-node-1", &format!("{NODES}---\n{yaml}"), &Env::default());
    let names: Vec<&str> = d.config.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Node_10_192_0_1", "Node_10_192_0_2"]);
    // Manual: it does not.
    let manual = format!("{yaml}  reversePeering: Manual\n");
    let d = derive_for("kube-node-1", &format!("{NODES}---\n{manual}"), &Env::default());
    assert!(d.config.peers.is_empty());
}

#[test]
fn rr_clients_are_ibgp_nodes_without_our_cluster_id() {
    let rr = NODES.replace(
        "ipv4Address: 10.192.0.2/16",
        "ipv4Address: 10.192.0.2/16\n    routeReflectorClusterID: 10.0.0.1",
    );
    let yaml = format!(
        "{rr}---\n{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: all\nspec:\n  nodeSelector: all()\n  peerSelector: all()\n---\n\
         kind: BGPPeer\nmetadata:\n  name: ext\nspec:\n  node: kube-master\n  peerIP: 172.19.4.87\n  asNumber: 64533\n"
    );
    let d = derive_for("kube-master", &yaml, &Env::default());
    assert!(peer(&d, "Node_10_192_0_3").rr_client);
    assert!(peer(&d, "Node_10_192_0_1").rr_client);
    assert!(!peer(&d, "Node_172_19_4_87").rr_client, "eBGP");
}

#[test]
fn keep_original_next_hop_applies_to_ebgp_only_and_next_hop_mode_wins() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: e\nspec:\n  peerIP: 172.19.4.87\n  asNumber: 64533\n  keepOriginalNextHop: true\n---\n\
         kind: BGPPeer\nmetadata:\n  name: i\nspec:\n  peerIP: 172.19.4.88\n  asNumber: 64512\n  keepOriginalNextHop: true\n---\n\
         kind: BGPPeer\nmetadata:\n  name: s\nspec:\n  peerIP: 172.19.4.89\n  asNumber: 64533\n  keepOriginalNextHop: true\n  nextHopMode: Self\n---\n\
         kind: BGPPeer\nmetadata:\n  name: l\nspec:\n  peerIP: 172.19.4.90\n  asNumber: 64512\n  localASNumber: 65000\n  keepOriginalNextHop: true\n"
    ));
    assert_eq!(peer(&d, "Global_172_19_4_87").next_hop_mode, NextHopMode::Keep);
    assert_eq!(peer(&d, "Global_172_19_4_88").next_hop_mode, NextHopMode::Auto);
    assert_eq!(peer(&d, "Global_172_19_4_89").next_hop_mode, NextHopMode::SelfAddr);
    let l = peer(&d, "Global_172_19_4_90");
    assert_eq!(l.next_hop_mode, NextHopMode::Keep, "eBGP from its own local AS");
    assert_eq!(l.local_as, Some(65000));
}

#[test]
fn peer_settings_carry_over() {
    let d = on_master(&format!(
        "{DEFAULT_NO_MESH}---\nkind: BGPPeer\nmetadata:\n  name: e\nspec:\n  peerIP: 172.19.4.87\n  asNumber: 64533\n  ttlSecurity: 2\n  maxRestartTime: 5m\n  numAllowedLocalASNumbers: 1\n  reachableBy: 10.224.0.1\n"
    ));
    let p = peer(&d, "Global_172_19_4_87");
    assert_eq!(p.ttl_security, Some(2));
    assert_eq!(p.graceful_restart_time, Some(300));
    assert_eq!(p.allow_local_as, 1);
    assert_eq!(p.reachable_by, Some(ip("10.224.0.1")));
}

const AFFINITIES: &str = r#"
kind: BlockAffinity
metadata: {name: a}
spec: {cidr: 10.0.0.0/30, node: kube-master, state: ""}
---
kind: BlockAffinity
metadata: {name: b}
spec: {cidr: 10.2.0.1/32, node: kube-master, state: ""}
---
kind: BlockAffinity
metadata: {name: c}
spec: {cidr: 192.168.221.64/26, node: kube-master, state: confirmed}
---
kind: BlockAffinity
metadata: {name: d}
spec: {cidr: 192.168.221.0/26, node: kube-master, state: pending}
---
kind: BlockAffinity
metadata: {name: e}
spec: {cidr: 192.168.221.128/26, node: kube-master, state: confirmed, deleted: "true"}
---
kind: BlockAffinity
metadata: {name: f}
spec: {cidr: 192.168.222.0/26, node: kube-node-1, state: confirmed}
"#;

#[test]
fn pending_affinity_is_not_advertised() {
    let d = on_master(AFFINITIES);
    let blocks: Vec<String> = d.config.node.blocks.iter().map(ToString::to_string).collect();
    assert!(!blocks.contains(&"192.168.221.0/26".to_owned()));
    assert!(!blocks.contains(&"192.168.221.128/26".to_owned()), "deleted");
    assert!(!blocks.contains(&"192.168.222.0/26".to_owned()), "another node's");
}

#[test]
fn confirmed_and_implicit_affinities_are_blackholed_but_a_host_affinity_is_not() {
    let d = on_master(AFFINITIES);
    let blocks: Vec<String> = d.config.node.blocks.iter().map(ToString::to_string).collect();
    assert_eq!(blocks, ["10.0.0.0/30", "192.168.221.64/26"]);
}

#[test]
fn pools_are_copied_and_cluster_routes_default_to_no_encap_only() {
    let d = on_master(
        "kind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 192.168.0.0/16\n  ipipMode: CrossSubnet\n  blockSize: 24\n  disableBGPExport: true\n  disabled: true\n",
    );
    let p = &d.config.ip_pools[0];
    assert_eq!(p.ipip_mode, crate::config::EncapMode::CrossSubnet);
    assert_eq!(p.block_size, Some(24));
    assert!(p.disable_bgp_export);
    assert_eq!(d.config.fib.program_cluster_routes, ProgramClusterRoutes::EnabledNoEncapOnly);
    let d = on_master(
        "kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  programClusterRoutes: Disabled\n",
    );
    assert_eq!(d.config.fib.program_cluster_routes, ProgramClusterRoutes::Disabled);
}

#[test]
fn node_prefix_advertisements_replace_the_defaults_and_names_resolve() {
    let default = "kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  communities:\n  - {name: std, value: \"100:6532\"}\n  \
                   prefixAdvertisements:\n  - cidr: 192.168.0.0/16\n    communities: [std, \"5663:12\", std]\n";
    let d = on_master(default);
    assert_eq!(d.config.prefix_advertisements[0].communities, ["100:6532", "5663:12"]);
    let node = "kind: BGPConfiguration\nmetadata:\n  name: node.kube-master\nspec:\n  communities:\n  - {name: big, value: \"1:2:3\"}\n  \
                prefixAdvertisements:\n  - cidr: 10.0.0.0/8\n    communities: [big, nope]\n";
    let d = on_master(&format!("{default}---\n{node}"));
    assert_eq!(d.config.prefix_advertisements.len(), 1);
    assert_eq!(d.config.prefix_advertisements[0].communities, ["1:2:3"]);
    assert!(d.problems[0].reason.contains("\"nope\""), "{:?}", d.problems);
}

#[test]
fn services_and_log_level_come_from_the_configuration() {
    let d = on_master(
        "kind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  logSeverityScreen: Debug\n  \
         serviceClusterIPs: [{cidr: 10.101.0.0/16}]\n  serviceLoadBalancerIPs: [{cidr: 10.102.0.0/16}]\n",
    );
    assert_eq!(d.config.log_level, LogLevel::Debug);
    assert_eq!(d.config.services.cluster_ips, ["10.101.0.0/16".parse::<IpNet>().unwrap()]);
    assert_eq!(d.config.services.load_balancer_ips.len(), 1);
}

#[test]
fn local_only_settings_are_kept() {
    let mut l = local("kube-master");
    l.fib.table = 100;
    l.timers.hold_time = 90;
    let (r, _) = Resources::from_yaml(NODES);
    let d = derive(&r, &l, &Env::default());
    assert_eq!(d.config.fib.table, 100);
    assert_eq!(d.config.timers.hold_time, 90);
    assert_eq!(d.config.control_socket, l.control_socket);
}

#[test]
fn unknown_node_is_a_problem_and_keeps_the_local_configuration() {
    let (r, _) = Resources::from_yaml(NODES);
    let l = local("elsewhere");
    let d = derive(&r, &l, &Env::default());
    assert_eq!(d.config, l);
    assert_eq!(d.problems[0].key, "Node elsewhere");
}
