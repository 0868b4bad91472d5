//! What a reload changes: the pure half of SIGHUP handling.
//!
//! Peers are matched by neighbor address and port ([`PeerKey`], unique in
//! a validated configuration). A peer whose effective settings differ in any way is
//! `changed` and is restarted; BIRD does the same for any protocol whose
//! configuration differs. A new router id or local AS changes every OPEN, so
//! every surviving peer is then `changed` too. Sessions in `unchanged` stay up.
//!
//! A peer's `filters` and the `[[filters]]` they name are applied to the
//! running session (its routes judged again, what it is sent re-diffed), as
//! `birdc configure` does for a changed filter: a peer that differs only
//! there is `unchanged`, and `filters_changed` says to re-evaluate.
//!
//! Other sections only need re-evaluation, not session restarts: pools and
//! blocks change what is exported and programmed, a peer's `reachable_by`
//! its static route, `fib` how routes are
//! installed, `listen` which sockets are bound (rebound without touching
//! established sessions, unlike BIRD where a `listen` change needs a restart).

use std::collections::BTreeMap;

use super::model::LogLevel;
use super::peers::{EffectivePeer, PeerKey};
use super::validate::ValidatedConfig;

/// A peer present in both configurations whose settings differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerChange {
    /// Settings in the running configuration.
    pub old: EffectivePeer,
    /// Settings in the new configuration.
    pub new: EffectivePeer,
}

/// The difference between a running and a new configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Peers to start.
    pub added: Vec<EffectivePeer>,
    /// Peers to stop with a Cease NOTIFICATION (RFC 4486 subcode 3, Peer
    /// De-configured).
    pub removed: Vec<EffectivePeer>,
    /// Peers to restart with their new settings.
    pub changed: Vec<PeerChange>,
    /// Peers left running as they are.
    pub unchanged: Vec<PeerKey>,
    /// Router id or local AS differ: every session's OPEN differs.
    pub identity_changed: bool,
    /// Listen addresses or port differ: rebind the listener.
    pub listen_changed: bool,
    /// IP pools, owned blocks, service ranges or prefix communities differ:
    /// recompute what is originated, exported and programmed.
    pub routing_changed: bool,
    /// Kernel table, protocol or programming mode differ.
    pub fib_changed: bool,
    /// Peers left running whose filters differ (the list, or a listed
    /// `[[filters]]` entry): their routes are judged again.
    pub filters_changed: Vec<PeerKey>,
    /// New log level, when it differs.
    pub log_level: Option<LogLevel>,
    /// Control socket path or a BIRD-dialect socket path differs: rebound
    /// at the next restart.
    pub control_socket_changed: bool,
    /// The metrics listen address differs.
    pub metrics_changed: bool,
}

impl ConfigDiff {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && !self.identity_changed
            && !self.listen_changed
            && !self.routing_changed
            && !self.fib_changed
            && self.filters_changed.is_empty()
            && self.log_level.is_none()
            && !self.control_socket_changed
            && !self.metrics_changed
    }
}

/// Computes what turning `old` into `new` requires. Lists are sorted by
/// peer address and port.
pub fn diff(old: &ValidatedConfig, new: &ValidatedConfig) -> ConfigDiff {
    let (o, n) = (old.config(), new.config());
    let identity_changed = old.router_id() != new.router_id() || o.node.local_as != n.node.local_as;
    let old_peers: BTreeMap<PeerKey, &EffectivePeer> =
        old.peers().iter().map(|p| (p.key(), p)).collect();
    let new_peers: BTreeMap<PeerKey, &EffectivePeer> =
        new.peers().iter().map(|p| (p.key(), p)).collect();

    let mut d = ConfigDiff {
        identity_changed,
        listen_changed: o.listen != n.listen,
        routing_changed: o.ip_pools != n.ip_pools
            || o.node.blocks != n.node.blocks
            || o.services != n.services
            || o.prefix_advertisements != n.prefix_advertisements
            || static_routes(o) != static_routes(n),
        fib_changed: o.fib != n.fib,
        log_level: (o.log_level != n.log_level).then_some(n.log_level),
        control_socket_changed: o.control_socket != n.control_socket
            || o.bird_compat != n.bird_compat,
        metrics_changed: o.metrics != n.metrics,
        ..ConfigDiff::default()
    };
    for (key, old_peer) in &old_peers {
        match new_peers.get(key) {
            None => d.removed.push((*old_peer).clone()),
            Some(new_peer) if identity_changed || !same_session(new_peer, old_peer) => {
                d.changed.push(PeerChange { old: (*old_peer).clone(), new: (*new_peer).clone() })
            }
            Some(new_peer) => {
                let def = |c: &super::Config, name: &String| {
                    c.filters.iter().find(|f| &f.name == name).cloned()
                };
                let differ = new_peer.filters != old_peer.filters
                    || new_peer.filters.iter().any(|f| def(o, f) != def(n, f));
                if differ {
                    d.filters_changed.push(*key);
                }
                d.unchanged.push(*key)
            }
        }
    }
    d.added = new_peers
        .iter()
        .filter(|(key, _)| !old_peers.contains_key(key))
        .map(|(_, p)| (*p).clone())
        .collect();
    d
}

/// The peers' `reachable_by` gateways: static routes beside the sessions,
/// which a change re-programs without touching a session (BIRD keeps them
/// in its static protocol).
fn static_routes(c: &super::Config) -> Vec<(std::net::IpAddr, std::net::IpAddr)> {
    c.peers.iter().filter_map(|p| Some((p.address, p.reachable_by?))).collect()
}

/// Whether two settings of a peer differ at most in `filters`, which a
/// running session takes without a restart.
fn same_session(a: &EffectivePeer, b: &EffectivePeer) -> bool {
    EffectivePeer { filters: b.filters.clone(), ..a.clone() } == *b
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::config::parse_str;

    const BASE: &str = r#"
        [node]
        name = "a"
        ipv4 = "10.0.0.1/24"
        [[mesh.nodes]]
        name = "b"
        ipv4 = "10.0.0.2"
        [[mesh.nodes]]
        name = "c"
        ipv4 = "10.0.0.3"
        [[peers]]
        name = "tor"
        address = "10.0.0.254"
        remote_as = 65000
    "#;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn key(s: &str) -> PeerKey {
        PeerKey::from(ip(s))
    }

    #[test]
    fn identical_configs_diff_to_nothing() {
        let a = parse_str(BASE).unwrap();
        let d = diff(&a, &a.clone());
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(d.unchanged, [key("10.0.0.2"), key("10.0.0.3"), key("10.0.0.254")]);
    }

    #[test]
    fn added_mesh_node_starts_only_that_session() {
        let old = parse_str(BASE).unwrap();
        let new =
            parse_str(&format!("{BASE}\n[[mesh.nodes]]\nname = \"d\"\nipv4 = \"10.0.0.4\"\n"))
                .unwrap();
        // TOML: the [[mesh.nodes]] after [[peers]] still extends mesh.nodes.
        let d = diff(&old, &new);
        assert_eq!(d.added.iter().map(|p| p.address).collect::<Vec<_>>(), [ip("10.0.0.4")]);
        assert!(d.removed.is_empty() && d.changed.is_empty());
        assert_eq!(d.unchanged.len(), 3);
    }

    #[test]
    fn removed_peer_is_listed_for_cease() {
        let old = parse_str(BASE).unwrap();
        let new = parse_str(&BASE.replace("[[peers]]", "[[mesh.nodes]]").replace(
            "name = \"tor\"\n        address = \"10.0.0.254\"\n        remote_as = 65000",
            "name = \"d\"\n        ipv4 = \"10.0.0.4\"",
        ))
        .unwrap();
        let d = diff(&old, &new);
        assert_eq!(d.removed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["tor"]);
        assert_eq!(d.added.len(), 1);
    }

    #[test]
    fn filter_changes_restart_no_session() {
        const F: &str = "[[filters]]\nname = \"f\"\n[[filters.export_v4]]\naction = \"Reject\"\n";
        let old = parse_str(BASE).unwrap();
        let listed = format!(
            "{}{F}",
            BASE.replace("remote_as = 65000", "remote_as = 65000\nfilters = [\"f\"]")
        );
        let new = parse_str(&listed).unwrap();
        let d = diff(&old, &new);
        assert!(d.changed.is_empty(), "{d:?}");
        assert_eq!(d.filters_changed, [key("10.0.0.254")]);
        assert_eq!(d.unchanged.len(), 3);
        let edited = parse_str(&listed.replace("\"Reject\"", "\"Accept\"")).unwrap();
        let d = diff(&new, &edited);
        assert!(d.changed.is_empty(), "{d:?}");
        assert_eq!(d.filters_changed, [key("10.0.0.254")]);
        let both = parse_str(&listed.replace("remote_as = 65000", "remote_as = 65001")).unwrap();
        assert_eq!(diff(&new, &both).changed.len(), 1);
    }

    #[test]
    fn changed_peer_setting_restarts_only_that_peer() {
        let old = parse_str(BASE).unwrap();
        let new =
            parse_str(&BASE.replace("remote_as = 65000", "remote_as = 65000\npassive = true"))
                .unwrap();
        let d = diff(&old, &new);
        assert_eq!(d.changed.len(), 1);
        assert!(!d.changed[0].old.passive && d.changed[0].new.passive);
        assert_eq!(d.unchanged, [key("10.0.0.2"), key("10.0.0.3")]);
    }

    #[test]
    fn long_lived_stale_time_change_restarts_only_that_peer() {
        let old = parse_str(BASE).unwrap();
        let new = parse_str(
            &BASE.replace("remote_as = 65000", "remote_as = 65000\nlong_lived_stale_time = 60"),
        )
        .unwrap();
        let d = diff(&old, &new);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(
            (d.changed[0].old.long_lived_stale_time, d.changed[0].new.long_lived_stale_time),
            (0, 60)
        );
        assert_eq!(d.unchanged, [key("10.0.0.2"), key("10.0.0.3")]);
    }

    #[test]
    fn new_router_id_restarts_every_session() {
        let old = parse_str(BASE).unwrap();
        let new =
            parse_str(&BASE.replace("name = \"a\"", "name = \"a\"\nrouter_id = \"192.0.2.1\""))
                .unwrap();
        let d = diff(&old, &new);
        assert!(d.identity_changed);
        assert_eq!(d.changed.len(), 3);
        assert!(d.unchanged.is_empty());
    }

    #[test]
    fn listen_change_rebinds_without_touching_sessions() {
        let old = parse_str(BASE).unwrap();
        let new = parse_str(&format!("[listen]\naddresses = [\"10.0.0.1\"]\n{BASE}")).unwrap();
        let d = diff(&old, &new);
        assert!(d.listen_changed);
        assert!(d.changed.is_empty() && d.added.is_empty() && d.removed.is_empty());
    }

    /// A node on 10.0.0.1/16 listing the mesh nodes whose bit is set in `mask`
    /// (10.0.0.2 ..= 10.0.0.9) and the explicit peers whose bit is set in
    /// `peers` (10.0.1.2 ..= 10.0.1.9), passive where `passive` has the bit.
    fn config_of(mask: u8, peers: u8, passive: u8) -> ValidatedConfig {
        let mut text = "[node]\nname = \"a\"\nipv4 = \"10.0.0.1/16\"\n".to_owned();
        for i in 0..8u8 {
            if mask & (1 << i) != 0 {
                text += &format!("[[mesh.nodes]]\nname = \"m{i}\"\nipv4 = \"10.0.0.{}\"\n", i + 2);
            }
        }
        for i in 0..8u8 {
            if peers & (1 << i) != 0 {
                text += &format!(
                    "[[peers]]\nname = \"p{i}\"\naddress = \"10.0.1.{}\"\nremote_as = 65000\npassive = {}\n",
                    i + 2,
                    passive & (1 << i) != 0
                );
            }
        }
        parse_str(&text).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn diff_partitions_every_peer_exactly_once(
            (m1, p1, f1, m2, p2, f2) in proptest::prelude::any::<(u8, u8, u8, u8, u8, u8)>()
        ) {
            let (old, new) = (config_of(m1, p1, f1), config_of(m2, p2, f2));
            let d = diff(&old, &new);
            let mut old_side: Vec<PeerKey> = d.removed.iter().map(EffectivePeer::key)
                .chain(d.changed.iter().map(|c| c.old.key()))
                .chain(d.unchanged.iter().copied())
                .collect();
            old_side.sort();
            let mut new_side: Vec<PeerKey> = d.added.iter().map(EffectivePeer::key)
                .chain(d.changed.iter().map(|c| c.new.key()))
                .chain(d.unchanged.iter().copied())
                .collect();
            new_side.sort();
            proptest::prop_assert_eq!(old_side, old.peers().iter().map(EffectivePeer::key).collect::<Vec<_>>());
            proptest::prop_assert_eq!(new_side, new.peers().iter().map(EffectivePeer::key).collect::<Vec<_>>());
            // Only explicit peers present in both with a different flag change.
            proptest::prop_assert_eq!(d.changed.len(), (p1 & p2 & (f1 ^ f2)).count_ones() as usize);
            proptest::prop_assert!(diff(&new, &new).is_empty());
        }
    }

    #[test]
    fn a_changed_reachable_by_reprograms_without_touching_the_session() {
        let old = parse_str(BASE).unwrap();
        let new = parse_str(&BASE.replace(
            "remote_as = 65000",
            "remote_as = 65000\n        reachable_by = \"10.0.0.1\"",
        ))
        .unwrap();
        let d = diff(&old, &new);
        assert!(d.routing_changed, "{d:?}");
        assert!(d.changed.is_empty() && d.added.is_empty() && d.removed.is_empty(), "{d:?}");
    }

    #[test]
    fn pool_and_log_level_changes_are_reported_separately() {
        let old = parse_str(BASE).unwrap();
        let new = parse_str(&format!(
            "log_level = \"debug\"\n{BASE}\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
        ))
        .unwrap();
        let d = diff(&old, &new);
        assert!(d.routing_changed);
        assert_eq!(d.log_level, Some(LogLevel::Debug));
        assert!(!d.fib_changed && !d.listen_changed && d.changed.is_empty());
    }
}
