//! The effective peer list: Calico's node-to-node mesh plus the explicit
//! peers, each with every per-session setting resolved (iBGP or eBGP, who
//! dials, timers, TTL handling, graceful restart).
//!
//! # The mesh rule
//!
//! Calico renders, on each node, one BIRD protocol per other node and adds
//! `passive on` to it when `peerIP > currentNodeIP`, comparing the addresses
//! **as strings** (confd `bgp_processor.go`). For two nodes
//! A = 10.0.0.1 and B = 10.0.0.2, A's session to B is passive and B's session
//! to A is active: exactly one side dials, the node whose address string is
//! greater. Calico's comment gives the reason: it "avoids a race where peer A
//! … begins a graceful restart … peer B opens its connection … causing a route
//! flap". The string order is kept on purpose (`"10.0.0.10" < "10.0.0.9"`)
//! so that a mixed cluster of BIRD and calico-bgpd nodes agrees on who dials.
//!
//! ```text
//!   node 10.0.0.1                      node 10.0.0.2
//!   Mesh_10_0_0_2 { passive on }  <--  Mesh_10_0_0_1 { dials }
//! ```
//!
//! Explicit peers win over mesh entries with the same address and port.
//!
//! # Sessions are keyed by address and port
//!
//! A session is its neighbor's address and TCP port ([`PeerKey`]), as a
//! BIRD protocol is its `neighbor A port P`: two Calico BGPPeers may name
//! one address on two ports (two speakers on one host), and both run.
//! Which of them an incoming connection belongs to is decided by the
//! listener (`daemon::listener`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::model::{
    AddPath, Config, DEFAULT_MULTIHOP_TTL, DEFAULT_PORT, Family, MaxPrefix, NextHopMode, Password,
    Peer, PeerScope, SourceAddress,
};

/// Calico's mesh rule: whether our session towards `peer` is passive.
///
/// True when the peer's address, as a string, is greater than ours, so for
/// any two distinct nodes exactly one of them dials.
pub fn mesh_passive(local: IpAddr, peer: IpAddr) -> bool {
    peer.to_string() > local.to_string()
}

/// A session's identity: the neighbor's address and TCP port, unique among
/// the sessions of a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerKey {
    /// The neighbor address.
    pub address: IpAddr,
    /// The neighbor's TCP port.
    pub port: u16,
}

/// The session to an address on the BGP port.
impl From<IpAddr> for PeerKey {
    fn from(address: IpAddr) -> PeerKey {
        PeerKey { address, port: DEFAULT_PORT }
    }
}

/// The address, with ` port P` (BIRD's `neighbor` syntax) unless it is 179.
impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == DEFAULT_PORT {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{} port {}", self.address, self.port)
        }
    }
}

/// Where a peer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerKind {
    /// Derived from `mesh.nodes` (BIRD protocol `Mesh_<ip>`).
    Mesh,
    /// From `peers` (BIRD protocol `Node_<ip>`, a node-specific peer).
    Explicit,
    /// From `peers` with `kind = "global"` (BIRD protocol `Global_<ip>`, a
    /// Calico BGPPeer every node has).
    Global,
}

/// Where a TCP MD5 key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// Written in the configuration.
    Inline(Password),
    /// Read from this file when the session is set up.
    File(PathBuf),
}

impl PasswordSource {
    fn from_pair(inline: &Option<Password>, file: &Option<PathBuf>) -> Option<PasswordSource> {
        match (inline, file) {
            (Some(p), _) => Some(PasswordSource::Inline(p.clone())),
            (None, Some(f)) => Some(PasswordSource::File(f.clone())),
            (None, None) => None,
        }
    }
}

/// IP TTL handling of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlMode {
    /// Send with this TTL, accept any (BIRD `multihop N`; Calico always
    /// uses multihop with TTL 64 and recursive next hops).
    Multihop(u8),
    /// GTSM (RFC 5082): send TTL 255 and accept only TTL >= 256 - hops.
    Security {
        /// How many hops away the peer may be.
        hops: u8,
    },
}

/// Timers of one session, seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTimers {
    /// Hold time offered in OPEN.
    pub hold_time: u16,
    /// Keepalive interval before negotiation (RFC 4271 §4.4 suggests a third
    /// of the hold time; the negotiated hold time may shorten it).
    pub keepalive_time: u16,
    /// Send hold time (RFC 9687; 0: off); `None`: the greater of 480 s and
    /// twice the negotiated hold time.
    pub send_hold_time: Option<u16>,
    /// Wait before the first connection attempt.
    pub connect_delay: u16,
    /// ConnectRetry timer.
    pub connect_retry: u16,
    /// First error wait.
    pub error_wait_min: u16,
    /// Largest error wait.
    pub error_wait_max: u16,
}

/// One session with every setting resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePeer {
    /// Mesh node name or explicit peer name.
    pub name: String,
    /// Mesh or explicit.
    pub kind: PeerKind,
    /// The neighbor address.
    pub address: IpAddr,
    /// The neighbor's TCP port (with `address`, the session's [`PeerKey`]).
    pub port: u16,
    /// AS we announce on this session.
    pub local_as: u32,
    /// AS the peer must announce.
    pub remote_as: u32,
    /// Local address to bind, if any.
    pub source_address: Option<IpAddr>,
    /// Never dial.
    pub passive: bool,
    /// TCP MD5 key.
    pub password: Option<PasswordSource>,
    /// TTL handling.
    pub ttl: TtlMode,
    /// Prefix limit.
    pub max_prefix: Option<MaxPrefix>,
    /// Families carried, sorted.
    pub families: Vec<Family>,
    /// ADD-PATH directions.
    pub add_path: AddPath,
    /// Next-hop rewriting towards the peer.
    pub next_hop_mode: NextHopMode,
    /// Route-reflector client.
    pub rr_client: bool,
    /// Graceful restart time when graceful restart is on.
    pub graceful_restart: Option<u16>,
    /// Long-lived stale time (RFC 9494) we advertise and cap a vanished
    /// peer's long-lived stale routes with; 0 when LLGR is off, always 0
    /// when graceful restart is off (LLGR rides on GR, RFC 9494 §3).
    pub long_lived_stale_time: u32,
    /// Timers.
    pub timers: SessionTimers,
    /// We advertise the Extended Message capability (RFC 8654).
    pub extended_messages: bool,
    /// How often our AS may appear in a received path.
    pub allow_local_as: u8,
    /// Names of the `[[filters]]` this session applies, in order; always
    /// empty for mesh peers (Calico's mesh sessions call no `BGPFilter`).
    pub filters: Vec<String>,
}

impl EffectivePeer {
    /// The session's identity: address and port.
    pub fn key(&self) -> PeerKey {
        PeerKey { address: self.address, port: self.port }
    }

    /// Internal (same AS) session.
    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.remote_as
    }

    /// The BIRD protocol name Calico tooling parses (`calicoctl node status`
    /// matches `^(Global|Node|Mesh)_(.+)$`): dots and colons become
    /// underscores, and a non-default port of a `Node_`/`Global_` peer is
    /// appended as `_port_<n>` (confd never adds it to `Mesh_` names).
    pub fn bird_protocol_name(&self) -> String {
        let prefix = match self.kind {
            PeerKind::Mesh => "Mesh",
            PeerKind::Explicit => "Node",
            PeerKind::Global => "Global",
        };
        let ip = self.address.to_string().replace(['.', ':'], "_");
        if self.port == DEFAULT_PORT || self.kind == PeerKind::Mesh {
            format!("{prefix}_{ip}")
        } else {
            format!("{prefix}_{ip}_port_{}", self.port)
        }
    }
}

/// Keepalive in effect for a hold time: the explicit one, else a third of the
/// hold time (RFC 4271 §4.4: "A reasonable maximum time between KEEPALIVE
/// messages would be one third of the Hold Time interval").
pub(super) fn keepalive_for(hold_time: u16, keepalive: Option<u16>) -> u16 {
    keepalive.unwrap_or(hold_time / 3)
}

/// Derives the peer list of a configuration. Assumes it passed validation;
/// on an invalid one it still terminates without panicking but the result
/// is meaningless (e.g. a node-ip source address that does not exist is
/// left unset).
pub(super) fn effective_peers(cfg: &Config) -> Vec<EffectivePeer> {
    let mut out: BTreeMap<PeerKey, EffectivePeer> = BTreeMap::new();
    let t = &cfg.timers;
    let global_timers = SessionTimers {
        hold_time: t.hold_time,
        keepalive_time: keepalive_for(t.hold_time, t.keepalive_time),
        send_hold_time: t.send_hold_time,
        connect_delay: t.connect_delay,
        connect_retry: t.connect_retry,
        error_wait_min: t.error_wait_min,
        error_wait_max: t.error_wait_max,
    };
    let node_v4 = cfg.node.ipv4.map(|n| IpAddr::V4(n.addr()));
    let node_v6 = cfg.node.ipv6.map(|n| IpAddr::V6(n.addr()));
    let node_addr = |family: Family| match family {
        Family::Ipv4Unicast => node_v4,
        Family::Ipv6Unicast => node_v6,
    };
    let gr = &cfg.graceful_restart;

    // Calico: "a node with routeReflectorClusterID skips mesh".
    if cfg.mesh.enabled && !cfg.route_reflector.enabled {
        let mesh_gr = gr.enabled.then(|| cfg.mesh.graceful_restart_time.unwrap_or(gr.restart_time));
        for n in &cfg.mesh.nodes {
            let addrs = [n.ipv4.map(IpAddr::V4), n.ipv6.map(IpAddr::V6)];
            for remote in addrs.into_iter().flatten() {
                let family = Family::of(remote);
                let Some(local) = node_addr(family) else { continue };
                let port = n.port.unwrap_or(cfg.listen.port);
                out.insert(
                    PeerKey { address: remote, port },
                    EffectivePeer {
                        name: n.name.clone(),
                        kind: PeerKind::Mesh,
                        address: remote,
                        port,
                        local_as: cfg.node.local_as,
                        remote_as: n.remote_as.unwrap_or(cfg.node.local_as),
                        source_address: Some(local),
                        passive: mesh_passive(local, remote),
                        password: PasswordSource::from_pair(
                            &cfg.mesh.password,
                            &cfg.mesh.password_file,
                        ),
                        ttl: TtlMode::Multihop(DEFAULT_MULTIHOP_TTL),
                        max_prefix: None,
                        families: vec![family],
                        add_path: AddPath::Both,
                        next_hop_mode: NextHopMode::Auto,
                        rr_client: false,
                        graceful_restart: mesh_gr,
                        long_lived_stale_time: if mesh_gr.is_some() {
                            gr.long_lived_stale_time
                        } else {
                            0
                        },
                        timers: global_timers,
                        extended_messages: true,
                        allow_local_as: 0,
                        filters: Vec::new(),
                    },
                );
            }
        }
    }

    for p in &cfg.peers {
        // Explicit wins: replaces a mesh entry with the same address and port.
        let peer = explicit_peer(cfg, p, global_timers, node_addr(Family::of(p.address)));
        out.insert(peer.key(), peer);
    }
    out.into_values().collect()
}

fn explicit_peer(
    cfg: &Config,
    p: &Peer,
    global: SessionTimers,
    node_addr: Option<IpAddr>,
) -> EffectivePeer {
    let gr = &cfg.graceful_restart;
    let hold_time = p.hold_time.unwrap_or(global.hold_time);
    // A per-peer hold time makes the global keepalive meaningless for it.
    let keepalive_time = match (p.keepalive_time, p.hold_time) {
        (Some(k), _) => k,
        (None, Some(h)) => keepalive_for(h, None),
        (None, None) => global.keepalive_time,
    };
    let graceful_restart = p
        .graceful_restart
        .unwrap_or(gr.enabled)
        .then(|| p.graceful_restart_time.unwrap_or(gr.restart_time));
    let long_lived_stale_time = match graceful_restart {
        Some(_) => p.long_lived_stale_time.unwrap_or(gr.long_lived_stale_time),
        None => 0,
    };
    let mut families = p.families.clone().unwrap_or_else(|| vec![Family::of(p.address)]);
    families.sort();
    families.dedup();
    EffectivePeer {
        name: p.name.clone(),
        kind: match p.kind {
            PeerScope::Node => PeerKind::Explicit,
            PeerScope::Global => PeerKind::Global,
        },
        address: p.address,
        port: p.port,
        local_as: p.local_as.unwrap_or(cfg.node.local_as),
        remote_as: p.remote_as,
        source_address: match p.source_address {
            SourceAddress::NodeIp => node_addr,
            SourceAddress::None => None,
            SourceAddress::Address(a) => Some(a),
        },
        passive: p.passive,
        password: PasswordSource::from_pair(&p.password, &p.password_file),
        ttl: match (p.ttl_security, p.multihop) {
            (Some(hops), _) => TtlMode::Security { hops },
            (None, ttl) => TtlMode::Multihop(ttl.unwrap_or(DEFAULT_MULTIHOP_TTL)),
        },
        max_prefix: p.max_prefix.clone(),
        families,
        add_path: p.add_path,
        next_hop_mode: p.next_hop_mode,
        rr_client: p.rr_client,
        graceful_restart,
        long_lived_stale_time,
        timers: SessionTimers {
            hold_time,
            keepalive_time,
            send_hold_time: p.send_hold_time.or(global.send_hold_time),
            ..global
        },
        extended_messages: p.extended_messages.unwrap_or(true),
        allow_local_as: p.allow_local_as,
        filters: p.filters.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::config::parse_str;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn greater_ip_string_is_passive() {
        // confd on 10.192.0.2 writes `Mesh_10_192_0_3 { passive on }`.
        assert!(mesh_passive(ip("10.192.0.2"), ip("10.192.0.3")));
        assert!(!mesh_passive(ip("10.192.0.3"), ip("10.192.0.2")));
    }

    #[test]
    fn mesh_rule_compares_strings_not_numbers() {
        // Numerically 10.0.0.10 > 10.0.0.9, but "10.0.0.10" < "10.0.0.9".
        assert!(mesh_passive(ip("10.0.0.10"), ip("10.0.0.9")));
        assert!(!mesh_passive(ip("10.0.0.9"), ip("10.0.0.10")));
    }

    #[test]
    fn mesh_rule_compares_ipv6_in_canonical_text() {
        assert!(mesh_passive(ip("fd00::2"), ip("fd00::a")));
        assert!(!mesh_passive(ip("fd00::a"), ip("fd00::2")));
    }

    const MESH: &str = r#"
        [node]
        name = "a"
        ipv4 = "10.0.0.1/24"
        ipv6 = "fd00::1/64"
        [[mesh.nodes]]
        name = "b"
        ipv4 = "10.0.0.2"
        ipv6 = "fd00::2"
        [[mesh.nodes]]
        name = "c"
        ipv4 = "10.0.0.3"
    "#;

    #[test]
    fn mesh_node_gets_one_session_per_shared_family() {
        let v = parse_str(MESH).unwrap();
        let names: Vec<_> = v.peers().iter().map(|p| p.bird_protocol_name()).collect();
        assert_eq!(names, ["Mesh_10_0_0_2", "Mesh_10_0_0_3", "Mesh_fd00__2"]);
        let b6 = v.peer(PeerKey::from(ip("fd00::2"))).unwrap();
        assert_eq!(b6.families, [Family::Ipv6Unicast]);
        assert_eq!(b6.source_address, Some(ip("fd00::1")));
        assert!(b6.is_ibgp());
        assert!(b6.passive, "fd00::2 > fd00::1, so we wait for it");
        assert_eq!(b6.ttl, TtlMode::Multihop(64));
        assert_eq!(b6.graceful_restart, Some(120));
        assert_eq!(b6.timers.hold_time, 240);
        assert_eq!(b6.timers.keepalive_time, 80);
    }

    #[test]
    fn explicit_peer_wins_over_mesh_node_with_same_address() {
        let text = format!(
            "{MESH}\n[[peers]]\nname = \"tor\"\naddress = \"10.0.0.3\"\nremote_as = 65001\n"
        );
        let v = parse_str(&text).unwrap();
        let p = v.peer(PeerKey::from(ip("10.0.0.3"))).unwrap();
        assert_eq!(p.kind, PeerKind::Explicit);
        assert_eq!(p.name, "tor");
        assert!(!p.is_ibgp());
        assert_eq!(v.peers().len(), 3);
    }

    #[test]
    fn route_reflector_skips_the_mesh() {
        let text = format!("{MESH}\n[route_reflector]\nenabled = true\n");
        let v = parse_str(&text).unwrap();
        assert!(v.peers().is_empty());
    }

    #[test]
    fn long_lived_stale_time_is_global_unless_the_peer_sets_it_and_off_without_gr() {
        let text = format!(
            "{MESH}\n[graceful_restart]\nlong_lived_stale_time = 3600\n\
             [[peers]]\nname = \"tor\"\naddress = \"10.0.0.9\"\nremote_as = 65001\n\
             long_lived_stale_time = 86400\n\
             [[peers]]\nname = \"nogr\"\naddress = \"10.0.0.8\"\nremote_as = 65001\n\
             graceful_restart = false\n"
        );
        let v = parse_str(&text).unwrap();
        assert_eq!(v.peer(PeerKey::from(ip("10.0.0.2"))).unwrap().long_lived_stale_time, 3600);
        assert_eq!(v.peer(PeerKey::from(ip("10.0.0.9"))).unwrap().long_lived_stale_time, 86400);
        // RFC 9494 §3: LLGR rides on GR, so a peer without GR has none.
        assert_eq!(v.peer(PeerKey::from(ip("10.0.0.8"))).unwrap().long_lived_stale_time, 0);
        let off = parse_str(MESH).unwrap();
        assert_eq!(off.peer(PeerKey::from(ip("10.0.0.2"))).unwrap().long_lived_stale_time, 0);
    }

    #[test]
    fn per_peer_hold_time_derives_its_own_keepalive() {
        let v = parse_str(
            r#"
            [node]
            name = "a"
            ipv4 = "10.0.0.1/24"
            [timers]
            hold_time = 90
            keepalive_time = 20
            [[peers]]
            name = "fast"
            address = "10.0.0.9"
            remote_as = 65001
            hold_time = 9
            [[peers]]
            name = "default"
            address = "10.0.0.8"
            remote_as = 65001
            port = 1179
            ttl_security = 1
            "#,
        )
        .unwrap();
        let fast = v.peer(PeerKey::from(ip("10.0.0.9"))).unwrap();
        assert_eq!((fast.timers.hold_time, fast.timers.keepalive_time), (9, 3));
        let dflt = v.peer(PeerKey { address: ip("10.0.0.8"), port: 1179 }).unwrap();
        assert_eq!((dflt.timers.hold_time, dflt.timers.keepalive_time), (90, 20));
        assert_eq!(dflt.ttl, TtlMode::Security { hops: 1 });
        assert_eq!(dflt.bird_protocol_name(), "Node_10_0_0_8_port_1179");
    }

    #[test]
    fn global_peer_is_named_like_confds_global_protocol() {
        let v = parse_str(
            "[node]\nname = \"a\"\nipv4 = \"10.0.0.1/24\"\n\
             [[peers]]\nname = \"tor\"\naddress = \"10.0.0.9\"\nremote_as = 65001\nkind = \"global\"\n\
             [[peers]]\nname = \"n\"\naddress = \"10.0.0.8\"\nremote_as = 65001\nkind = \"node\"\n",
        )
        .unwrap();
        let g = v.peer(PeerKey::from(ip("10.0.0.9"))).unwrap();
        assert_eq!(g.kind, PeerKind::Global);
        assert_eq!(g.bird_protocol_name(), "Global_10_0_0_9");
        assert_eq!(
            v.peer(PeerKey::from(ip("10.0.0.8"))).unwrap().bird_protocol_name(),
            "Node_10_0_0_8"
        );
        let mesh = parse_str(&format!("{MESH}\n[listen]\nport = 177\n")).unwrap();
        let names: Vec<_> = mesh.peers().iter().map(|p| p.bird_protocol_name()).collect();
        assert_eq!(
            names,
            ["Mesh_10_0_0_2", "Mesh_10_0_0_3", "Mesh_fd00__2"],
            "no port on mesh names"
        );
        assert!(parse_str("[node]\nname = \"a\"\nipv4 = \"10.0.0.1/24\"\n[[peers]]\nname = \"x\"\naddress = \"10.0.0.9\"\nremote_as = 1\nkind = \"mesh\"\n").is_err());
    }

    fn two_node_config(me: (&str, IpAddr), other: (&str, IpAddr)) -> String {
        // An IPv6-only node has no IPv4 address to use as router id.
        let (key, plen) = if me.1.is_ipv4() { ("ipv4", 24) } else { ("ipv6", 64) };
        format!(
            "[node]\nname = \"{}\"\nrouter_id = \"hash\"\n{key} = \"{}/{plen}\"\n\
             [[mesh.nodes]]\nname = \"{}\"\n{key} = \"{}\"\n",
            me.0, me.1, other.0, other.1
        )
    }

    fn unicast_v4() -> impl Strategy<Value = IpAddr> {
        (1u8..=223, any::<[u8; 3]>())
            .prop_map(|(a, [b, c, d])| IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    fn unicast_v6() -> impl Strategy<Value = IpAddr> {
        any::<[u16; 7]>().prop_map(|s| {
            IpAddr::V6(Ipv6Addr::new(0xfd00, s[0], s[1], s[2], s[3], s[4], s[5], s[6]))
        })
    }

    proptest! {
        #[test]
        fn mesh_rule_has_exactly_one_side_dialing(
            (a, b) in prop_oneof![(unicast_v4(), unicast_v4()), (unicast_v6(), unicast_v6())]
        ) {
            prop_assume!(a != b);
            prop_assert_ne!(mesh_passive(a, b), mesh_passive(b, a));
        }

        #[test]
        fn two_mesh_configs_agree_on_who_dials(
            (a, b) in prop_oneof![(unicast_v4(), unicast_v4()), (unicast_v6(), unicast_v6())]
        ) {
            prop_assume!(a != b);
            let on_a = parse_str(&two_node_config(("a", a), ("b", b))).unwrap();
            let on_b = parse_str(&two_node_config(("b", b), ("a", a))).unwrap();
            let a_to_b = on_a.peer(b).unwrap();
            let b_to_a = on_b.peer(a).unwrap();
            // Exactly one dials, and both agree on the session's endpoints.
            prop_assert_ne!(a_to_b.passive, b_to_a.passive);
            prop_assert_eq!(a_to_b.source_address, Some(a));
            prop_assert_eq!(b_to_a.source_address, Some(b));
        }
    }
}
