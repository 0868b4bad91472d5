//! Typed TOML configuration of `calico-bgpd`: loading, whole-file validation,
//! the effective peer list (Calico's node-to-node mesh plus explicit peers)
//! and the diff a reload applies.
//!
//! Pure apart from [`load`] and [`check_files`], which read files: no tokio,
//! no clock. The flow is
//!
//! ```text
//!   TOML text --serde--> Config --validate--> ValidatedConfig --diff(old,new)--> ConfigDiff
//!   (unknown keys,        (as written,          (router id, cluster id,        (added / removed /
//!    wrong types refused)  defaults filled)      EffectivePeer list)             changed peers, ...)
//! ```
//!
//! Every key, its default and allowed values are listed in
//! `docs/configuration.md`; `docs/examples/` holds complete files.
//!
//! Defaults and semantics follow what Calico's confd templates configure on
//! BIRD: the node-to-node mesh, the IP pool export filter, the kernel
//! protocol.

mod datastore;
mod diff;
mod error;
mod filters;
mod model;
mod peers;
mod router_id;
mod validate;

use std::path::Path;

pub use datastore::{
    DatastoreEnv, EffectiveDatastore, EtcdSettings, SourcedPath, effective_datastore,
};
pub use diff::{ConfigDiff, PeerChange, diff};
pub use error::{ConfigError, LoadError, ValidationErrors};
pub use filters::{
    AddCommunity, BgpFilter, CommunityMatch, FilterOperation, FilterRule, PrefixLength,
    PrependAsPath, SetPriority,
};
pub use model::{
    AddPath, BirdCompat, CommunityValue, Config, DEFAULT_AS, DEFAULT_CONNECT_DELAY,
    DEFAULT_CONNECT_RETRY, DEFAULT_CONTROL_SOCKET, DEFAULT_ERROR_WAIT_MAX, DEFAULT_ERROR_WAIT_MIN,
    DEFAULT_FIB_TABLE, DEFAULT_HOLD_TIME, DEFAULT_MULTIHOP_TTL, DEFAULT_PORT, DEFAULT_RESTART_TIME,
    Datastore, DatastoreType, EncapMode, Family, Fib, GracefulRestart, IpPool, Listen, LogLevel,
    MaxPrefix, MaxPrefixAction, Mesh, MeshNode, Metrics, NextHopMode, Node, Password, Peer,
    PeerScope, PrefixAdvertisement, ProgramClusterRoutes, RouteReflector, Services, SourceAddress,
    Timers,
};
pub use peers::{
    EffectivePeer, PasswordSource, PeerKey, PeerKind, SessionTimers, TtlMode, mesh_passive,
};
pub use router_id::{RouterIdSpec, hashed_router_id};
pub use validate::{Summary, ValidatedConfig, validate};

/// Parses TOML text into a [`Config`] without validating it.
pub fn from_toml(text: &str) -> Result<Config, LoadError> {
    toml::from_str(text)
        .map_err(|e| LoadError::Parse { path: "<string>".into(), message: e.to_string() })
}

/// Parses and validates TOML text.
pub fn parse_str(text: &str) -> Result<ValidatedConfig, LoadError> {
    let config = from_toml(text)?;
    validate(config).map_err(|errors| LoadError::Invalid { path: "<string>".into(), errors })
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path) -> Result<ValidatedConfig, LoadError> {
    let config = load_unvalidated(path)?;
    validate(config).map_err(|errors| LoadError::Invalid { path: path.to_owned(), errors })
}

/// Reads and parses a configuration file without validating it: the base
/// a datastore's objects are derived on, which need not run on its own.
pub fn load_unvalidated(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| LoadError::Io { path: path.to_owned(), source })?;
    toml::from_str(&text)
        .map_err(|e| LoadError::Parse { path: path.to_owned(), message: e.to_string() })
}

/// Checks what validation cannot see without the filesystem: that every
/// `password_file` can be read and holds a usable key. Run by `--check`
/// and before a reload is applied.
pub fn check_files(config: &ValidatedConfig) -> Vec<ConfigError> {
    let c = config.config();
    let mut files = Vec::new();
    if let Some(f) = &c.mesh.password_file {
        files.push(("mesh.password_file".to_owned(), f));
    }
    for (i, p) in c.peers.iter().enumerate() {
        if let Some(f) = &p.password_file {
            files.push((format!("peers[{i}].password_file"), f));
        }
    }
    let mut errors = Vec::new();
    for (path, file) in files {
        match std::fs::read(file) {
            Err(e) => {
                errors.push(ConfigError::new(path, file.display(), format!("cannot read: {e}")))
            }
            Ok(bytes) => {
                // A trailing newline from `echo key > file` is not part of the key.
                let key = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                if key.is_empty() || key.len() > 80 {
                    errors.push(ConfigError::new(
                        path,
                        file.display(),
                        format!(
                            "holds {} bytes; a TCP MD5 key (RFC 2385) must be 1-80 bytes",
                            key.len()
                        ),
                    ));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples").join(name)
    }

    #[test]
    fn every_documented_example_is_valid() {
        for name in ["mesh-node.toml", "tor-ebgp-node.toml", "route-reflector.toml"] {
            let v = load(&example(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(v.warnings().is_empty(), "{name}: {:?}", v.warnings());
            assert!(!v.peers().is_empty(), "{name} configures no session");
        }
    }

    #[test]
    fn examples_round_trip_through_toml_serialisation() {
        for name in ["mesh-node.toml", "tor-ebgp-node.toml", "route-reflector.toml"] {
            let v = load(&example(name)).unwrap();
            let text = toml::to_string(v.config()).unwrap();
            assert_eq!(&from_toml(&text).unwrap(), v.config(), "{name}:\n{text}");
        }
    }

    /// Sets every key the schema has, so serialisation and the docs check
    /// below see all of them.
    const EVERY_KEY: &str = r#"
        log_level = "debug"
        control_socket = "/run/calico-bgp.ctl"
        [node]
        name = "n1"
        local_as = 65010
        ipv4 = "10.0.0.1/24"
        ipv6 = "fd00::1/64"
        router_id = "hash"
        blocks = ["10.244.0.0/26"]
        [listen]
        addresses = ["10.0.0.1"]
        port = 1179
        [timers]
        hold_time = 90
        keepalive_time = 30
        connect_delay = 1
        connect_retry = 3
        error_wait_min = 2
        error_wait_max = 20
        [graceful_restart]
        enabled = false
        restart_time = 60
        [mesh]
        enabled = true
        password = "k"
        graceful_restart_time = 30
        [[mesh.nodes]]
        name = "n2"
        ipv4 = "10.0.0.2"
        ipv6 = "fd00::2"
        remote_as = 65011
        port = 1179
        [[peers]]
        name = "p"
        address = "10.0.0.9"
        remote_as = 65010
        local_as = 65010
        port = 179
        source_address = "10.0.0.1"
        password_file = "/etc/k"
        passive = true
        multihop = 2
        max_prefix = { limit = 10, action = "teardown", restart_after = 5 }
        families = ["ipv4-unicast", "ipv6-unicast"]
        add_path = "receive"
        next_hop_mode = "self"
        rr_client = true
        graceful_restart = true
        graceful_restart_time = 10
        long_lived_stale_time = 3600
        hold_time = 30
        keepalive_time = 10
        allow_local_as = 1
        filters = ["f"]
        [[peers]]
        name = "q"
        address = "10.0.0.8"
        remote_as = 65000
        ttl_security = 1
        kind = "global"
        reachable_by = "10.0.0.254"
        [[filters]]
        name = "f"
        [[filters.export_v4]]
        action = "Accept"
        cidr = "10.244.0.0/16"
        match_operator = "In"
        prefix_length = { min = 24, max = 32 }
        source = "RemotePeers"
        interface = "eth*"
        peer_type = "eBGP"
        communities = { values = ["65000:1"] }
        as_path_prefix = [65000]
        priority = 512
        operations = [
            { add_community = { value = "65000:2" } },
            { prepend_as_path = { prefix = [65010] } },
            { set_priority = { value = 100 } },
        ]
        [[filters.import_v4]]
        action = "Reject"
        [[filters.export_v6]]
        action = "Reject"
        [[filters.import_v6]]
        action = "Accept"
        [route_reflector]
        enabled = true
        cluster_id = "244.0.0.1"
        [[ip_pools]]
        cidr = "10.244.0.0/16"
        ipip_mode = "CrossSubnet"
        vxlan_mode = "Never"
        block_size = 26
        disable_bgp_export = true
        [services]
        cluster_ips = ["10.96.0.0/12"]
        external_ips = ["198.51.100.0/24"]
        load_balancer_ips = ["203.0.113.0/24"]
        [[prefix_advertisements]]
        cidr = "10.96.0.0/12"
        communities = ["65000:100", "64512:1:2"]
        [fib]
        table = 100
        program_cluster_routes = "EnabledIPIPOnly"
        manage_vxlan = true
        manage_tunl0 = true
        [metrics]
        listen = "127.0.0.1:9179"
    "#;

    fn keys(v: &toml::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.insert(k.clone());
                    keys(v, out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn config_with_every_key_round_trips() {
        let v = parse_str(EVERY_KEY).unwrap();
        let text = toml::to_string(v.config()).unwrap();
        assert_eq!(&from_toml(&text).unwrap(), v.config(), "{text}");
    }

    #[test]
    fn documentation_lists_every_key() {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
        )
        .unwrap();
        let v = from_toml(EVERY_KEY).unwrap();
        let mut all = std::collections::BTreeSet::new();
        keys(&toml::Value::try_from(&v).unwrap(), &mut all);
        assert!(all.len() > 50, "EVERY_KEY no longer sets every key: {all:?}");
        for k in all {
            // Tables are documented by their header, keys in backquotes.
            let documented = [format!("`{k}`"), format!("[{k}]"), format!(".{k}]")];
            assert!(
                documented.iter().any(|d| doc.contains(d.as_str())),
                "docs/configuration.md lacks `{k}`"
            );
        }
    }

    #[test]
    fn minimal_file_gets_calico_and_bird_defaults() {
        let v = parse_str("[node]\nname = \"n1\"\nipv4 = \"192.168.1.2/24\"\n").unwrap();
        let c = v.config();
        assert_eq!(c.node.local_as, 64512);
        assert!(c.mesh.enabled);
        assert_eq!(c.timers, Timers::default());
        assert_eq!(c.timers.hold_time, 240);
        assert_eq!((c.timers.connect_delay, c.timers.connect_retry), (2, 5));
        assert_eq!((c.timers.error_wait_min, c.timers.error_wait_max), (5, 30));
        assert_eq!(
            c.graceful_restart,
            GracefulRestart {
                enabled: true,
                restart_time: 120,
                stale_time: 240,
                long_lived_stale_time: 0
            }
        );
        assert_eq!(c.listen.port, 179);
        assert_eq!(
            c.listen.addresses,
            ["0.0.0.0".parse::<std::net::IpAddr>().unwrap(), "::".parse().unwrap()]
        );
        assert_eq!(c.fib.table, 254);
        assert!(!c.fib.manage_vxlan && !c.fib.manage_tunl0);
        assert_eq!(v.router_id(), "192.168.1.2".parse::<std::net::Ipv4Addr>().unwrap());
        assert_eq!(c.node.ipv4.unwrap().prefix_len(), 24, "the subnet is kept for CrossSubnet");
    }

    #[test]
    fn misspelt_key_is_refused_naming_it() {
        let err =
            parse_str("[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n[timers]\nhold_tme = 90\n")
                .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LoadError::Parse { .. }));
        assert!(msg.contains("hold_tme"), "{msg}");
    }

    #[test]
    fn unknown_encapsulation_mode_is_refused() {
        let err = parse_str(
            "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\nipip_mode = \"Sometimes\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("Sometimes"), "{err}");
    }

    #[test]
    fn unreadable_password_file_is_reported_by_check_files() {
        let v = parse_str(
            "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n[[peers]]\nname = \"tor\"\naddress = \"10.0.0.254\"\nremote_as = 65000\npassword_file = \"/nonexistent/calico-bgp/key\"\n",
        )
        .unwrap();
        let errs = check_files(&v);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "peers[0].password_file");
    }

    #[test]
    fn password_is_never_printed_by_debug() {
        let v = parse_str(
            "[node]\nname = \"n1\"\nipv4 = \"10.0.0.1/24\"\n[mesh]\npassword = \"s3cret-key\"\n[[mesh.nodes]]\nname = \"n2\"\nipv4 = \"10.0.0.2\"\n",
        )
        .unwrap();
        assert!(!format!("{v:?}").contains("s3cret"));
        assert!(matches!(v.peers()[0].password, Some(PasswordSource::Inline(_))));
    }
}
