//! Validation rules, one test per rule, each checking the key path named.

use proptest::prelude::*;

use super::*;
use crate::config::{BirdCompat, LoadError, from_toml, parse_str};

const NODE: &str = "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n";

/// Validation errors of `NODE` followed by `rest`.
fn errors(rest: &str) -> ValidationErrors {
    errors_of(&format!("{NODE}{rest}"))
}

fn errors_of(text: &str) -> ValidationErrors {
    match parse_str(text) {
        Err(LoadError::Invalid { errors, .. }) => errors,
        Err(e) => panic!("not a validation error: {e}"),
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

fn valid(rest: &str) -> ValidatedConfig {
    parse_str(&format!("{NODE}{rest}")).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_error(errs: &ValidationErrors, path: &str, needle: &str) {
    let e = errs.errors().iter().find(|e| e.path == path);
    let e = e.unwrap_or_else(|| panic!("no error at {path}: {errs}"));
    assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
}

fn peer(i: usize, addr: &str, extra: &str) -> String {
    format!("[[peers]]\nname = \"p{i}\"\naddress = \"{addr}\"\nremote_as = 65000\n{extra}\n")
}

#[test]
fn hold_time_of_two_seconds_is_refused_naming_the_key() {
    let errs = errors("[timers]\nhold_time = 2\n");
    assert_error(&errs, "timers.hold_time", "at least 3");
    assert_eq!(errs.errors()[0].to_string().split(':').next(), Some("timers.hold_time = 2"));
}

#[test]
fn hold_time_zero_is_allowed_and_disables_keepalives() {
    let v = valid("[timers]\nhold_time = 0\n");
    assert_eq!(v.config().timers.hold_time, 0);
    let errs = errors("[timers]\nhold_time = 0\nkeepalive_time = 10\n");
    assert_error(&errs, "timers.keepalive_time", "never sent");
}

#[test]
fn keepalive_not_shorter_than_hold_time_is_refused() {
    assert_error(
        &errors("[timers]\nhold_time = 9\nkeepalive_time = 9\n"),
        "timers.keepalive_time",
        "1-8",
    );
    let errs = errors(&peer(0, "10.0.0.9", "hold_time = 6\nkeepalive_time = 6"));
    assert_error(&errs, "peers[0].keepalive_time", "1-5");
}

#[test]
fn per_peer_hold_time_of_one_is_refused() {
    assert_error(&errors(&peer(0, "10.0.0.9", "hold_time = 1")), "peers[0].hold_time", "RFC 4271");
}

#[test]
fn as_zero_and_as_trans_are_refused() {
    let errs = errors_of("[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\nlocal_as = 0\n");
    assert_error(&errs, "node.local_as", "RFC 7607");
    let errs = errors(&peer(0, "10.0.0.9", "").replace("65000", "23456"));
    assert_error(&errs, "peers[0].remote_as", "AS_TRANS");
    let errs = errors(&peer(0, "10.0.0.9", "local_as = 65535"));
    assert_error(&errs, "peers[0].local_as", "RFC 7300");
}

#[test]
fn duplicate_peer_addresses_are_refused() {
    let errs = errors(&format!(
        "{}{}{}",
        peer(0, "10.0.0.9", ""),
        peer(1, "10.0.0.8", ""),
        peer(2, "10.0.0.9", "")
    ));
    assert_error(&errs, "peers[2].address", "duplicate of peers[0]");
    assert_eq!(errs.errors().len(), 1);
}

#[test]
fn two_peers_at_one_address_on_different_ports_are_two_sessions() {
    let v = valid(&format!(
        "{}{}{}",
        peer(0, "10.0.0.9", "port = 150"),
        peer(1, "10.0.0.9", "port = 166"),
        "[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.9\"\n"
    ));
    let keys: Vec<String> = v.peers().iter().map(|p| p.key().to_string()).collect();
    assert_eq!(keys, ["10.0.0.9 port 150", "10.0.0.9 port 166", "10.0.0.9"]);
    let names: Vec<String> = v.peers().iter().map(EffectivePeer::bird_protocol_name).collect();
    assert_eq!(names, ["Node_10_0_0_9_port_150", "Node_10_0_0_9_port_166", "Mesh_10_0_0_9"]);
}

#[test]
fn peers_at_one_address_share_its_md5_password() {
    let errs = errors(&format!(
        "{}{}",
        peer(0, "10.0.0.9", "port = 150\npassword = \"a\""),
        peer(1, "10.0.0.9", "port = 166\npassword = \"b\"")
    ));
    assert_error(&errs, "peers[1].password", "per address");
    let errs = errors(&format!(
        "{}[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.9\"\n",
        peer(0, "10.0.0.9", "port = 150\npassword = \"a\"")
    ));
    assert_error(&errs, "peers[0].password", "mesh password");
    // The same password on both is one key: fine.
    valid(&format!(
        "{}{}",
        peer(0, "10.0.0.9", "port = 150\npassword = \"a\""),
        peer(1, "10.0.0.9", "port = 166\npassword = \"a\"")
    ));
}

#[test]
fn duplicate_peer_names_are_refused() {
    let text = format!("{}{}", peer(0, "10.0.0.9", ""), peer(0, "10.0.0.8", ""));
    assert_error(&errors(&text), "peers[1].name", "duplicate");
}

#[test]
fn peer_at_own_address_is_refused() {
    assert_error(&errors(&peer(0, "10.0.0.1", "")), "peers[0].address", "own address");
}

#[test]
fn mesh_node_equal_to_self_is_refused() {
    let errs = errors("[[mesh.nodes]]\nname = \"n1\"\nipv4 = \"10.0.0.7\"\n");
    assert_error(&errs, "mesh.nodes[0].name", "is this node");
    let errs = errors("[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.1\"\n");
    assert_error(&errs, "mesh.nodes[0].ipv4", "own address");
}

#[test]
fn duplicate_mesh_nodes_are_refused() {
    let errs = errors(
        "[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n",
    );
    assert_error(&errs, "mesh.nodes[1].name", "duplicate of mesh.nodes[0]");
    assert_error(&errs, "mesh.nodes[1].ipv4", "duplicate of mesh.nodes[0]");
}

#[test]
fn mesh_node_without_address_is_refused() {
    assert_error(&errors("[[mesh.nodes]]\nname = \"n2\"\n"), "mesh.nodes[0].ipv4", "needs ipv4");
}

#[test]
fn router_id_equal_to_a_mesh_node_address_is_refused() {
    let errs = errors_of(
        "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\nrouter_id = \"10.0.0.2\"\n[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n",
    );
    assert_error(&errs, "node.router_id", "mesh.nodes[0].ipv4");
}

#[test]
fn password_and_password_file_both_set_are_refused() {
    let errs = errors(&peer(0, "10.0.0.9", "password = \"k\"\npassword_file = \"/etc/k\""));
    assert_error(&errs, "peers[0].password", "both set");
    let errs = errors("[mesh]\npassword = \"k\"\npassword_file = \"/etc/k\"\n");
    assert_error(&errs, "mesh.password", "both set");
}

#[test]
fn overlong_md5_key_is_refused_without_printing_it() {
    let key = "x".repeat(81);
    let errs = errors(&peer(0, "10.0.0.9", &format!("password = \"{key}\"")));
    assert_error(&errs, "peers[0].password", "1-80 bytes");
    assert!(!errs.to_string().contains(&key));
}

#[test]
fn ttl_security_with_multihop_is_refused() {
    let errs = errors(&peer(0, "10.0.0.9", "ttl_security = 1\nmultihop = 2"));
    assert_error(&errs, "peers[0].ttl_security", "GTSM");
}

#[test]
fn zero_ttl_values_are_refused() {
    assert_error(
        &errors(&peer(0, "10.0.0.9", "ttl_security = 0")),
        "peers[0].ttl_security",
        "1-255",
    );
    assert_error(&errors(&peer(0, "10.0.0.9", "multihop = 0")), "peers[0].multihop", "1-255");
}

#[test]
fn max_prefix_restart_with_warn_action_is_refused() {
    let errs = errors(&peer(
        0,
        "10.0.0.9",
        "max_prefix = { limit = 100, action = \"warn\", restart_after = 60 }",
    ));
    assert_error(&errs, "peers[0].max_prefix.restart_after", "teardown");
    let errs = errors(&peer(0, "10.0.0.9", "max_prefix = { limit = 0 }"));
    assert_error(&errs, "peers[0].max_prefix.limit", "1-4294967295");
}

#[test]
fn max_prefix_needs_a_limit_and_refuses_zero_in_any_family() {
    let errs = errors(&peer(0, "10.0.0.9", "max_prefix = { action = \"warn\" }"));
    assert_error(&errs, "peers[0].max_prefix", "needs `limit`");
    let errs = errors(&peer(0, "10.0.0.9", "max_prefix = { ipv4_unicast = 10, ipv6_unicast = 0 }"));
    assert_error(&errs, "peers[0].max_prefix.ipv6_unicast", "1-4294967295");
}

#[test]
fn each_family_has_its_own_prefix_limit_or_the_common_one() {
    use crate::config::{Family, MaxPrefix};
    let mp: MaxPrefix = toml::from_str("limit = 100\nipv6_unicast = 5").unwrap();
    assert_eq!(mp.limit_for(Family::Ipv4Unicast), Some(100));
    assert_eq!(mp.limit_for(Family::Ipv6Unicast), Some(5));
    let mp: MaxPrefix = toml::from_str("ipv6_unicast = 5").unwrap();
    assert_eq!(mp.limit_for(Family::Ipv4Unicast), None);
}

#[test]
fn ipv6_peer_without_node_ipv6_is_refused() {
    let errs = errors(&peer(0, "fd00::9", ""));
    assert_error(&errs, "peers[0].source_address", "node.ipv6 is not set");
    assert_error(&errs, "peers[0].address", "needs node.ipv6");
}

#[test]
fn family_without_matching_node_address_is_refused() {
    let errs = errors(&peer(0, "10.0.0.9", "families = [\"ipv4-unicast\", \"ipv6-unicast\"]"));
    assert_error(&errs, "peers[0].families[1]", "needs node.ipv6");
    let errs = errors(&peer(0, "10.0.0.9", "families = []"));
    assert_error(&errs, "peers[0].families", "allowed");
}

#[test]
fn source_address_of_other_family_is_refused() {
    let errs = errors(&peer(0, "10.0.0.9", "source_address = \"fd00::1\""));
    assert_error(&errs, "peers[0].source_address", "family");
}

#[test]
fn rr_client_without_route_reflector_mode_is_refused() {
    assert_error(
        &errors(&peer(0, "10.0.0.9", "rr_client = true").replace("65000", "64512")),
        "peers[0].rr_client",
        "route_reflector.enabled",
    );
}

#[test]
fn ebgp_rr_client_is_refused() {
    let errs = errors(&format!(
        "{}[route_reflector]\nenabled = true\n",
        peer(0, "10.0.0.9", "rr_client = true")
    ));
    assert_error(&errs, "peers[0].rr_client", "iBGP");
}

#[test]
fn cluster_id_set_without_route_reflector_mode_is_refused() {
    let errs = errors("[route_reflector]\ncluster_id = \"1.0.0.1\"\n");
    assert_error(&errs, "route_reflector.cluster_id", "route_reflector.enabled");
}

#[test]
fn route_reflector_cluster_id_defaults_to_router_id() {
    let v = valid("[route_reflector]\nenabled = true\n");
    assert_eq!(v.cluster_id(), Some("10.0.0.1".parse().unwrap()));
    let v = valid("[route_reflector]\nenabled = true\ncluster_id = \"244.0.0.1\"\n");
    assert_eq!(v.cluster_id(), Some("244.0.0.1".parse().unwrap()));
}

#[test]
fn route_reflector_with_mesh_nodes_warns_that_mesh_is_skipped() {
    let v = valid(
        "[route_reflector]\nenabled = true\n[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n",
    );
    assert!(v.peers().is_empty());
    assert_eq!(v.warnings()[0].path, "mesh.enabled");
}

#[test]
fn router_id_zero_is_refused() {
    let errs =
        errors_of("[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\nrouter_id = \"0.0.0.0\"\n");
    assert_error(&errs, "node.router_id", "non-zero");
}

#[test]
fn router_id_from_missing_ipv4_is_refused() {
    let errs = errors_of("[node]\nname = \"n1\"\nipv6 = \"fd00::1/64\"\n");
    assert_error(&errs, "node.router_id", "\"hash\"");
}

#[test]
fn ipv6_only_node_may_hash_its_router_id() {
    let v =
        parse_str("[node]\nname = \"n1\"\nipv6 = \"fd00::1/64\"\nrouter_id = \"hash\"\n").unwrap();
    assert_eq!(v.router_id(), hashed_router_id("n1"));
}

#[test]
fn node_without_addresses_is_refused() {
    let errs = errors_of("[node]\nname = \"n1\"\nrouter_id = \"hash\"\n");
    assert_error(&errs, "node.ipv4", "node.ipv6");
}

#[test]
fn empty_node_name_is_refused() {
    let errs = errors_of("[node]\nname = \"\"\nipv4 = \"10.0.0.1/24\"\n");
    assert_error(&errs, "node.name", "non-empty");
}

#[test]
fn pool_with_ipip_and_vxlan_is_refused() {
    let errs = errors(
        "[[ip_pools]]\ncidr = \"10.244.0.0/16\"\nipip_mode = \"Always\"\nvxlan_mode = \"CrossSubnet\"\n",
    );
    assert_error(&errs, "ip_pools[0].vxlan_mode", "not both");
}

#[test]
fn ipip_on_ipv6_pool_is_refused() {
    let errs = errors("[[ip_pools]]\ncidr = \"fd10::/48\"\nipip_mode = \"Always\"\n");
    assert_error(&errs, "ip_pools[0].ipip_mode", "IPv4-only");
}

#[test]
fn pool_with_host_bits_is_refused_with_a_suggestion() {
    let errs = errors("[[ip_pools]]\ncidr = \"10.244.1.0/16\"\n");
    assert_error(&errs, "ip_pools[0].cidr", "10.244.0.0/16");
}

#[test]
fn overlapping_pools_are_refused() {
    let errs = errors(
        "[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n[[ip_pools]]\ncidr = \"10.244.128.0/17\"\n",
    );
    assert_error(&errs, "ip_pools[1].cidr", "overlaps ip_pools[0]");
}

#[test]
fn block_size_shorter_than_pool_is_refused() {
    let errs = errors("[[ip_pools]]\ncidr = \"10.244.0.0/24\"\nblock_size = 22\n");
    assert_error(&errs, "ip_pools[0].block_size", "24-32");
}

#[test]
fn cross_subnet_pool_needs_node_ipv4() {
    let errs = errors_of(
        "[node]\nname = \"n1\"\nipv6 = \"fd00::1/64\"\nrouter_id = \"hash\"\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\nipip_mode = \"CrossSubnet\"\n",
    );
    assert_error(&errs, "ip_pools[0].ipip_mode", "node.ipv4");
}

#[test]
fn cross_subnet_with_host_route_subnet_warns() {
    let v = parse_str("[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/32\"\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\nipip_mode = \"cross-subnet\"\n").unwrap();
    assert_eq!(v.warnings()[0].path, "node.ipv4");
}

#[test]
fn block_outside_every_pool_warns() {
    let v = parse_str(&format!(
        "{NODE}blocks = [\"10.245.0.0/26\"]\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
    ))
    .unwrap();
    assert_eq!(v.warnings()[0].path, "node.blocks[0]");
    assert!(v.warnings()[0].to_string().contains("outside every ip_pools cidr (10.244.0.0/16)"));
}

#[test]
fn block_of_unusual_size_warns() {
    let v = parse_str(&format!(
        "{NODE}blocks = [\"10.244.0.0/24\"]\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
    ))
    .unwrap();
    assert_eq!(v.warnings()[0].path, "node.blocks[0]");
}

#[test]
fn fib_table_reserved_by_the_kernel_is_refused() {
    assert_error(&errors("[fib]\ntable = 255\n"), "fib.table", "local");
    assert_error(&errors("[fib]\ntable = 0\n"), "fib.table", "UNSPEC");
}

#[test]
fn removed_fib_keys_are_refused_by_name() {
    // protocol, tunnel_device and merge_paths did nothing: routes are always
    // protocol 12 over tunl0, multipath always merged, as Calico's BIRD.
    for key in ["protocol = 12", "tunnel_device = \"tunl0\"", "merge_paths = true"] {
        let err = from_toml(&format!("{NODE}[fib]\n{key}\n")).unwrap_err().to_string();
        let name = key.split(' ').next().unwrap();
        assert!(err.contains(name), "{key}: {err}");
    }
}

#[test]
fn restart_time_beyond_twelve_bits_is_refused() {
    assert_error(
        &errors("[graceful_restart]\nrestart_time = 4096\n"),
        "graceful_restart.restart_time",
        "0-4095",
    );
}

#[test]
fn long_lived_stale_time_beyond_24_bits_is_refused_naming_the_key() {
    assert_error(
        &errors("[graceful_restart]\nlong_lived_stale_time = 16777216\n"),
        "graceful_restart.long_lived_stale_time",
        "0-16777215",
    );
    let errs = errors(&peer(0, "10.0.0.9", "long_lived_stale_time = 16777216"));
    assert_error(&errs, "peers[0].long_lived_stale_time", "24 bits");
    let v = valid("[graceful_restart]\nlong_lived_stale_time = 16777215\n");
    assert_eq!(v.config().graceful_restart.long_lived_stale_time, 0x00ff_ffff);
}

#[test]
fn long_lived_stale_time_without_graceful_restart_is_a_warning() {
    let v = valid("[graceful_restart]\nenabled = false\nlong_lived_stale_time = 60\n");
    assert!(
        v.warnings().iter().any(|w| w.path == "graceful_restart.long_lived_stale_time"),
        "{:?}",
        v.warnings()
    );
    let v = valid(&peer(0, "10.0.0.9", "graceful_restart = false\nlong_lived_stale_time = 60"));
    assert!(
        v.warnings().iter().any(|w| w.path == "peers[0].long_lived_stale_time"),
        "{:?}",
        v.warnings()
    );
}

#[test]
fn listen_port_zero_and_duplicate_addresses_are_refused() {
    let errs = errors_of(&format!("[listen]\nport = 0\naddresses = [\"::\", \"::\"]\n{NODE}"));
    assert_error(&errs, "listen.port", "1-65535");
    assert_error(&errs, "listen.addresses[1]", "duplicate");
}

#[test]
fn error_wait_min_above_max_is_refused() {
    assert_error(
        &errors("[timers]\nerror_wait_min = 40\n"),
        "timers.error_wait_min",
        "error_wait_max (30)",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let errs = errors(&format!(
        "[timers]\nhold_time = 1\n[route_reflector]\ncluster_id = \"1.1.1.1\"\n{}{}",
        peer(0, "10.0.0.9", "ttl_security = 1\nmultihop = 3"),
        peer(1, "10.0.0.9", "")
    ));
    for path in [
        "timers.hold_time",
        "peers[0].ttl_security",
        "peers[1].address",
        "route_reflector.cluster_id",
    ] {
        assert!(errs.has_path(path), "{path} missing from {errs}");
    }
    assert_eq!(errs.errors().len(), 4, "{errs}");
}

#[test]
fn summary_names_node_and_counts_sessions() {
    let v = valid(&format!(
        "[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n{}",
        peer(0, "10.0.0.254", "")
    ));
    assert_eq!(
        v.summary().to_string(),
        "node n1 AS 64512 router-id 10.0.0.1: 2 peers (1 mesh, 1 explicit, 1 passive), \
         0 pools, 0 blocks, listen 0.0.0.0:179 [::]:179"
    );
}

proptest! {
    #[test]
    fn hold_time_is_accepted_exactly_when_zero_or_at_least_three(hold in any::<u16>()) {
        let text = format!("{NODE}[timers]\nhold_time = {hold}\n");
        let ok = parse_str(&text).is_ok();
        prop_assert_eq!(ok, hold == 0 || hold >= 3);
    }

    #[test]
    fn validation_never_panics_on_arbitrary_numbers(
        asn in any::<u32>(), hold in any::<u16>(), ka in any::<u16>(), port in any::<u16>(),
        ttl in any::<u8>(), gr in any::<u16>(), table in any::<u32>(),
    ) {
        let text = format!(
            "{NODE}[timers]\nhold_time = {hold}\nkeepalive_time = {ka}\n[graceful_restart]\nrestart_time = {gr}\n\
             [fib]\ntable = {table}\n{}",
            peer(0, "10.0.0.9", &format!("remote_as = {asn}\nport = {port}\nmultihop = {ttl}")).replace("remote_as = 65000\n", "")
        );
        let cfg = from_toml(&text).unwrap();
        if let Err(errs) = validate(cfg) {
            for e in errs.errors() {
                prop_assert!(!e.path.is_empty() && !e.message.is_empty());
            }
        }
    }
}

#[test]
fn malformed_prefix_communities_are_refused_naming_the_entry() {
    let errs = errors(
        "[[prefix_advertisements]]\ncidr = \"10.96.0.0/12\"\n\
         communities = [\"65000:100\", \"65536:1\", \"1:2:3:4\", \"x\", \"4294967295:0:1\"]\n",
    );
    assert_error(&errs, "prefix_advertisements[0].communities[1]", "0-65535");
    assert_error(&errs, "prefix_advertisements[0].communities[2]", "ga:l1:l2");
    assert_error(&errs, "prefix_advertisements[0].communities[3]", "aa:nn");
    assert_eq!(errs.errors().len(), 3, "65000:100 and the large one are fine: {errs}");
    let errs =
        errors("[[prefix_advertisements]]\ncidr = \"10.96.0.1/12\"\ncommunities = [\"1:1\"]\n");
    assert_error(&errs, "prefix_advertisements[0].cidr", "10.96.0.0/12");
}

#[test]
fn prefix_communities_parse_to_standard_and_large() {
    use crate::wire::attr::{Community, LargeCommunity};
    let v = valid(
        "[[prefix_advertisements]]\ncidr = \"10.96.0.0/12\"\ncommunities = [\"65000:100\", \"64512:1:2\"]\n",
    );
    let parsed: Vec<CommunityValue> = v.config().prefix_advertisements[0].parsed().collect();
    assert_eq!(
        parsed,
        [
            CommunityValue::Standard(Community(0xfde8_0064)),
            CommunityValue::Large(LargeCommunity {
                global_admin: 64512,
                local_data1: 1,
                local_data2: 2
            }),
        ]
    );
}

#[test]
fn service_ranges_inside_a_pool_or_repeated_are_refused() {
    let errs = errors(
        "[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n[services]\n\
         cluster_ips = [\"10.96.0.0/12\", \"10.244.5.0/24\"]\n\
         external_ips = [\"10.96.0.0/12\"]\nload_balancer_ips = [\"203.0.113.1/24\"]\n",
    );
    assert_error(&errs, "services.cluster_ips[1]", "10.244.0.0/16");
    assert_error(&errs, "services.external_ips[0]", "listed twice");
    assert_error(&errs, "services.load_balancer_ips[0]", "203.0.113.0/24");
    assert_eq!(errs.errors().len(), 3, "{errs}");
}

proptest! {
    #[test]
    fn community_values_round_trip_through_text(a: u16, n: u16, g: u32, l1: u32, l2: u32) {
        use crate::wire::attr::{Community, LargeCommunity};
        let std = CommunityValue::Standard(Community((u32::from(a) << 16) | u32::from(n)));
        prop_assert_eq!(std.to_string().parse::<CommunityValue>(), Ok(std));
        prop_assert_eq!(std.to_string(), format!("{a}:{n}"));
        let large = CommunityValue::Large(LargeCommunity {
            global_admin: g,
            local_data1: l1,
            local_data2: l2,
        });
        prop_assert_eq!(large.to_string().parse::<CommunityValue>(), Ok(large));
    }
}

#[test]
fn bird_compat_sockets_are_off_by_default_and_must_be_distinct_absolute_paths() {
    assert_eq!(valid("").config().bird_compat, BirdCompat::default());
    let v = valid("[bird_compat]\nipv4_socket = \"/var/run/calico/bird.ctl\"\n");
    assert_eq!(v.config().bird_compat.ipv6_socket, None);
    let errs = errors("[bird_compat]\nipv4_socket = \"bird.ctl\"\n");
    assert_error(&errs, "bird_compat.ipv4_socket", "absolute");
    let errs = errors_of(&format!(
        "control_socket = \"/run/x.ctl\"\n{NODE}[bird_compat]\nipv6_socket = \"/run/x.ctl\"\n"
    ));
    assert_error(&errs, "bird_compat.ipv6_socket", "control_socket");
    let errs =
        errors("[bird_compat]\nipv4_socket = \"/run/b.ctl\"\nipv6_socket = \"/run/b.ctl\"\n");
    assert_error(&errs, "bird_compat.ipv6_socket", "ipv4_socket");
}

const FILTER: &str = "[[filters]]\nname = \"f\"\n";

#[test]
fn filter_rules_name_the_key_of_each_bad_field() {
    let errs = errors(&format!(
        "{FILTER}{}",
        r#"
        [[filters.export_v4]]
        action = "Accept"
        [[filters.export_v4]]
        action = "Accept"
        [[filters.export_v4]]
        action = "Maybe"
        cidr = "fd00::/8"
        match_operator = "Within"
        prefix_length = { min = 24, max = 40 }
        source = "Anywhere"
        peer_type = "xBGP"
        priority = 4294967295
        communities = { values = ["1:2:3:4"] }
        operations = [{ add_community = { value = "x" } }, {}, { set_priority = { value = 4294967295 } }]
        [[filters.import_v6]]
        action = "Reject"
        cidr = "fd00::/64"
        match_operator = "In"
        prefix_length = { min = 100, max = 70 }
        [[filters.import_v6]]
        action = "Reject"
        match_operator = "In"
        "#
    ));
    let base = "filters[0].export_v4[2]";
    assert_error(&errs, &format!("{base}.cidr"), "IPv4 prefix in this list");
    assert_error(&errs, &format!("{base}.match_operator"), "Equal, NotEqual, In or NotIn");
    assert_error(&errs, &format!("{base}.prefix_length.max"), "0-32");
    assert_error(&errs, &format!("{base}.source"), "RemotePeers");
    assert_error(&errs, &format!("{base}.peer_type"), "eBGP or iBGP");
    assert_error(&errs, &format!("{base}.priority"), "0-2147483647");
    assert_error(&errs, &format!("{base}.communities.values[0]"), "aa:nn");
    assert_error(&errs, &format!("{base}.action"), "Accept or Reject");
    assert_error(&errs, &format!("{base}.operations[0].add_community.value"), "aa:nn");
    assert_error(&errs, &format!("{base}.operations[1]"), "exactly one");
    assert_error(&errs, &format!("{base}.operations[2].set_priority.value"), "0-2147483647");
    assert_error(&errs, "filters[0].import_v6[0].prefix_length.min", "greater than");
    assert_error(&errs, "filters[0].import_v6[1].cidr", "needs a cidr");
    assert!(!errs.errors().iter().any(|e| e.path.starts_with("filters[0].export_v4[0]")));
}

#[test]
fn filter_interfaces_follow_calicos_check() {
    let rule = |i: &str| format!("[[filters.export_v4]]\naction = \"Accept\"\ninterface = {i:?}\n");
    for ok in ["*", "eth0", "eth*", "*.calico", "bond0.100", "en_p-1", "0123456789abcde"] {
        valid(&format!("{FILTER}{}", rule(ok)));
    }
    for bad in ["", "eth?", "eth0 ", "a/b", "0123456789abcdef", "ens\\*"] {
        let errs = errors(&format!("{FILTER}{}", rule(bad)));
        assert_error(&errs, "filters[0].export_v4[0].interface", "1-15 characters");
    }
}

#[test]
fn a_peer_naming_a_missing_filter_is_refused() {
    let errs = errors(&format!("{FILTER}{}", peer(0, "10.0.0.9", "filters = [\"f\", \"g\"]")));
    assert_error(&errs, "peers[0].filters[1]", "names no [[filters]] entry");
    assert!(!errs.has_path("peers[0].filters[0]"));
}

#[test]
fn duplicate_filter_names_are_refused() {
    let errs = errors(&format!("{FILTER}{FILTER}"));
    assert_error(&errs, "filters[1].name", "duplicate of filters[0].name");
}

#[test]
fn a_peer_with_a_valid_filter_keeps_its_list_and_mesh_peers_get_none() {
    let v = valid(&format!(
        "{FILTER}[[filters.import_v4]]\naction = \"Accept\"\ncidr = \"10.0.0.0/8\"\nmatch_operator = \"In\"\nprefix_length = {{ max = 24 }}\n{}[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n",
        peer(0, "10.0.0.9", "filters = [\"f\"]")
    ));
    let p = v.peer("10.0.0.9".parse::<std::net::IpAddr>().unwrap()).unwrap();
    assert_eq!(p.filters, vec!["f".to_owned()]);
    let m = v.peer("10.0.0.2".parse::<std::net::IpAddr>().unwrap()).unwrap();
    assert!(m.filters.is_empty());
}

#[test]
fn filter_names_of_any_length_are_accepted() {
    // Calico's corpus (bgpfilter/filter_names): BIRD needs names over 45
    // characters cut and hashed; here a name is only a key.
    let long = "greater-than-64-characters.so.this.should.definitely.truncate-1234567890";
    let v = valid(&format!(
        "[[filters]]\nname = \"{long}\"\n[[filters]]\nname = \"45characters.exactly.so.should.not.truncate-1\"\n{}",
        peer(0, "10.0.0.9", &format!("filters = [\"{long}\"]"))
    ));
    assert_eq!(
        v.peer("10.0.0.9".parse::<std::net::IpAddr>().unwrap()).unwrap().filters,
        vec![long.to_owned()]
    );
}

#[test]
fn a_multicast_peer_address_is_a_warning_and_unspecified_is_refused() {
    // Calico's own examples peer with ffee::10 and BIRD runs the session.
    let v = parse_str(
        "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\nipv6 = \"fd00::1/64\"\n\
         [[peers]]\nname = \"rr\"\naddress = \"ffee::10\"\nremote_as = 65515\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.peers().len(), 1);
    let w = &v.warnings()[0];
    assert_eq!(w.path, "peers[0].address");
    assert!(w.message.contains("multicast"), "{w}");
    let errs = errors(&peer(0, "0.0.0.0", ""));
    assert_error(&errs, "peers[0].address", "unspecified");
}

#[test]
fn reachable_by_must_be_a_gateway_of_the_peers_family() {
    let errs = errors(&peer(0, "10.0.0.9", "reachable_by = \"fd00::1\""));
    assert_error(&errs, "peers[0].reachable_by", "peer's family");
    let v = valid(&peer(0, "10.0.0.9", "reachable_by = \"10.0.0.254\""));
    assert_eq!(v.config().peers[0].reachable_by, Some("10.0.0.254".parse().unwrap()));
}
