//! Whole-configuration validation: every problem is collected (not just the
//! first), each naming its key path, the value and what is allowed. A
//! [`ValidatedConfig`] can only be obtained from [`validate`], so code that
//! holds one may rely on the checks below.
//!
//! Checks are grouped by section (node, listen, timers, graceful restart,
//! mesh, peers, filters (`validate_filters.rs`), route reflector, pools,
//! blocks, FIB). Those that protect the wire cite the RFC sentence; the rest
//! follow Calico's own validation of the same fields.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::error::{ConfigError, ValidationErrors};
use super::model::{
    CommunityValue, Config, EncapMode, Family, MaxPrefixAction, Password, Peer, SourceAddress,
};
use super::peers::{EffectivePeer, PeerKey, PeerKind, effective_peers};
use super::router_id::{RouterIdSpec, hashed_router_id};

/// RFC 6793 §9: AS_TRANS, "a reserved 2-octet AS number".
const AS_TRANS: u32 = 23456;
/// Linux `TCP_MD5SIG_MAXKEYLEN`.
const MD5_MAX_KEY_LEN: usize = 80;
/// RFC 4724 §3: the Restart Time field is 12 bits.
const MAX_RESTART_TIME: u16 = 4095;
/// The Long-lived Stale Time field is 24 bits (RFC 9494 §3).
const MAX_LONG_LIVED_STALE_TIME: u32 = 0x00ff_ffff;

/// A configuration that passed [`validate`]: the file as written plus what
/// was derived from it (router id, cluster id, effective peers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedConfig {
    config: Config,
    router_id: Ipv4Addr,
    cluster_id: Option<Ipv4Addr>,
    peers: Vec<EffectivePeer>,
    warnings: Vec<ConfigError>,
}

impl ValidatedConfig {
    /// The configuration as written (with defaults filled in).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The BGP identifier in effect.
    pub fn router_id(&self) -> Ipv4Addr {
        self.router_id
    }

    /// The CLUSTER_ID when this node is a route reflector.
    pub fn cluster_id(&self) -> Option<Ipv4Addr> {
        self.cluster_id
    }

    /// Every session, mesh and explicit, sorted by address and port.
    pub fn peers(&self) -> &[EffectivePeer] {
        &self.peers
    }

    /// The session to this address and port (an address alone: on the
    /// BGP port).
    pub fn peer(&self, key: impl Into<PeerKey>) -> Option<&EffectivePeer> {
        let key = key.into();
        self.peers.iter().find(|p| p.key() == key)
    }

    /// Things that are allowed but probably not meant.
    pub fn warnings(&self) -> &[ConfigError] {
        &self.warnings
    }

    /// A one-line description for logs and `--config` output.
    pub fn summary(&self) -> Summary<'_> {
        Summary(self)
    }

    /// Gives back the configuration.
    pub fn into_config(self) -> Config {
        self.config
    }
}

impl TryFrom<Config> for ValidatedConfig {
    type Error = ValidationErrors;
    fn try_from(config: Config) -> Result<Self, ValidationErrors> {
        validate(config)
    }
}

/// One-line summary of a [`ValidatedConfig`].
#[derive(Debug)]
pub struct Summary<'a>(&'a ValidatedConfig);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let c = &v.config;
        let mesh = v.peers.iter().filter(|p| p.kind == PeerKind::Mesh).count();
        let passive = v.peers.iter().filter(|p| p.passive).count();
        write!(
            f,
            "node {} AS {} router-id {}{}: {} peers ({} mesh, {} explicit, {} passive), \
             {} pools, {} blocks, listen",
            c.node.name,
            c.node.local_as,
            v.router_id,
            match v.cluster_id {
                Some(id) => format!(" route-reflector cluster-id {id}"),
                None => String::new(),
            },
            v.peers.len(),
            mesh,
            v.peers.len() - mesh,
            passive,
            c.ip_pools.len(),
            c.node.blocks.len(),
        )?;
        if c.listen.addresses.is_empty() {
            f.write_str(" none")?;
        }
        for a in &c.listen.addresses {
            match a {
                IpAddr::V4(a) => write!(f, " {a}:{}", c.listen.port)?,
                IpAddr::V6(a) => write!(f, " [{a}]:{}", c.listen.port)?,
            }
        }
        Ok(())
    }
}

/// Checks a configuration as a whole and derives its effective settings.
pub fn validate(config: Config) -> Result<ValidatedConfig, ValidationErrors> {
    let mut c = Checker::default();
    let router_id = check_node(&mut c, &config);
    check_listen(&mut c, &config);
    check_timers(&mut c, &config);
    check_graceful_restart(&mut c, &config);
    check_mesh(&mut c, &config, router_id);
    check_peers(&mut c, &config);
    validate_filters::check_filters(&mut c, &config);
    let cluster_id = check_route_reflector(&mut c, &config, router_id);
    check_pools(&mut c, &config);
    check_blocks(&mut c, &config);
    check_services(&mut c, &config);
    check_prefix_advertisements(&mut c, &config);
    check_fib(&mut c, &config);
    match router_id {
        Some(router_id) if c.errors.is_empty() => {
            let peers = effective_peers(&config);
            if config.listen.addresses.is_empty() && peers.iter().any(|p| p.passive) {
                c.warn(
                    "listen.addresses",
                    "[]",
                    "nothing listens, so passive peers can never connect",
                );
            }
            Ok(ValidatedConfig { config, router_id, cluster_id, peers, warnings: c.warnings })
        }
        _ => Err(ValidationErrors(c.errors)),
    }
}

#[derive(Default)]
struct Checker {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl Checker {
    fn err(&mut self, path: impl Into<String>, value: impl fmt::Display, msg: impl Into<String>) {
        self.errors.push(ConfigError::new(path, value, msg));
    }

    fn warn(&mut self, path: impl Into<String>, value: impl fmt::Display, msg: impl Into<String>) {
        self.warnings.push(ConfigError::new(path, value, msg));
    }

    fn asn(&mut self, path: &str, asn: u32) {
        let why = match asn {
            0 => "AS 0 is reserved (RFC 7607)",
            AS_TRANS => "AS 23456 is AS_TRANS (RFC 6793), a placeholder for 4-octet AS numbers",
            65535 | u32::MAX => "the last AS of each range is reserved (RFC 7300)",
            _ => return,
        };
        self.err(path, asn, format!("{why}; allowed: 1-4294967294 except 23456 and 65535"));
    }

    fn hold_time(&mut self, path: &str, hold: u16) {
        if hold == 1 || hold == 2 {
            // RFC 4271 §4.2: "The Hold Time MUST be either zero or at least three seconds."
            self.err(
                path,
                hold,
                "hold time must be 0 or at least 3 seconds (RFC 4271 §4.2); allowed: 0 or 3-65535",
            );
        }
    }

    /// `hold` is the hold time the keepalive applies to.
    fn keepalive(&mut self, path: &str, keepalive: u16, hold: u16) {
        if hold == 0 {
            if keepalive != 0 {
                // RFC 4271 §4.4: "If the negotiated Hold Time interval is zero,
                // then periodic KEEPALIVE messages MUST NOT be sent."
                self.err(path, keepalive, "hold time is 0, so keepalives are never sent (RFC 4271 §4.4); allowed: 0 or unset");
            }
        } else if keepalive == 0 || keepalive >= hold {
            self.err(
                path,
                keepalive,
                format!(
                    "keepalive must be shorter than the hold time {hold}; allowed: 1-{}",
                    hold - 1
                ),
            );
        }
    }

    fn restart_time(&mut self, path: &str, t: u16) {
        if t > MAX_RESTART_TIME {
            self.err(path, t, "the Restart Time field is 12 bits (RFC 4724 §3); allowed: 0-4095");
        }
    }

    fn long_lived_stale_time(&mut self, path: &str, t: u32) {
        if t > MAX_LONG_LIVED_STALE_TIME {
            self.err(
                path,
                t,
                "the Long-lived Stale Time field is 24 bits (RFC 9494 §3); allowed: 0-16777215",
            );
        }
    }

    fn password(
        &mut self,
        base: &str,
        inline: &Option<Password>,
        file: &Option<std::path::PathBuf>,
    ) {
        if inline.is_some() && file.is_some() {
            self.err(
                format!("{base}.password"),
                "<redacted>",
                "password and password_file are both set; set one",
            );
        }
        if let Some(p) = inline {
            if p.0.is_empty() || p.0.len() > MD5_MAX_KEY_LEN {
                self.err(
                    format!("{base}.password"),
                    format!("<{} bytes>", p.0.len()),
                    "a TCP MD5 key (RFC 2385) must be 1-80 bytes",
                );
            }
        }
        if let Some(f) = file {
            if f.as_os_str().is_empty() {
                self.err(format!("{base}.password_file"), "\"\"", "must be a file path");
            }
        }
    }

    fn port(&mut self, path: &str, port: u16) {
        if port == 0 {
            self.err(path, port, "allowed: 1-65535");
        }
    }
}

fn check_node(c: &mut Checker, cfg: &Config) -> Option<Ipv4Addr> {
    let n = &cfg.node;
    if n.name.is_empty() || n.name.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        c.err("node.name", format!("{:?}", n.name), "must be non-empty, without spaces");
    }
    c.asn("node.local_as", n.local_as);
    if n.ipv4.is_none() && n.ipv6.is_none() {
        c.err("node.ipv4", "(unset)", "set node.ipv4, node.ipv6 or both (address with prefix length, e.g. \"192.168.1.2/24\")");
    }
    if let Some(v4) = n.ipv4 {
        if v4.addr().is_unspecified() || v4.addr().is_multicast() || v4.addr().is_broadcast() {
            c.err("node.ipv4", v4, "must be a unicast host address with its prefix length");
        }
    }
    if let Some(v6) = n.ipv6 {
        if v6.addr().is_unspecified() || v6.addr().is_multicast() {
            c.err("node.ipv6", v6, "must be a unicast host address with its prefix length");
        }
    }
    if cfg.control_socket.as_os_str().is_empty() || !cfg.control_socket.is_absolute() {
        c.err("control_socket", cfg.control_socket.display(), "must be an absolute path");
    }
    let bc = &cfg.bird_compat;
    for (key, path) in
        [("bird_compat.ipv4_socket", &bc.ipv4_socket), ("bird_compat.ipv6_socket", &bc.ipv6_socket)]
    {
        let Some(path) = path else { continue };
        if !path.is_absolute() {
            c.err(key, path.display(), "must be an absolute path");
        } else if *path == cfg.control_socket {
            c.err(key, path.display(), "must differ from control_socket");
        }
    }
    if bc.ipv4_socket.is_some() && bc.ipv4_socket == bc.ipv6_socket {
        c.err(
            "bird_compat.ipv6_socket",
            bc.ipv6_socket.as_ref().map_or(String::new(), |p| p.display().to_string()),
            "must differ from bird_compat.ipv4_socket",
        );
    }
    let id = match n.router_id {
        RouterIdSpec::NodeIpv4 => match n.ipv4 {
            Some(v4) => v4.addr(),
            None => {
                c.err(
                    "node.router_id",
                    "node-ipv4",
                    "node.ipv4 is not set; use \"hash\" or an explicit IPv4 address",
                );
                return None;
            }
        },
        RouterIdSpec::Hash => hashed_router_id(&n.name),
        RouterIdSpec::Explicit(a) => a,
    };
    if id.is_unspecified() {
        // RFC 6286 §2.1: "a 4-octet, unsigned, non-zero integer".
        c.err("node.router_id", id, "the BGP Identifier must be non-zero (RFC 6286 §2.1)");
        return None;
    }
    Some(id)
}

fn check_listen(c: &mut Checker, cfg: &Config) {
    c.port("listen.port", cfg.listen.port);
    let mut seen = HashMap::new();
    for (i, a) in cfg.listen.addresses.iter().enumerate() {
        if let Some(j) = seen.insert(*a, i) {
            c.err(
                format!("listen.addresses[{i}]"),
                a,
                format!("duplicate of listen.addresses[{j}]"),
            );
        }
        if a.is_multicast() {
            c.err(format!("listen.addresses[{i}]"), a, "must be a unicast or unspecified address");
        }
    }
}

fn check_timers(c: &mut Checker, cfg: &Config) {
    let t = &cfg.timers;
    c.hold_time("timers.hold_time", t.hold_time);
    if let Some(k) = t.keepalive_time {
        c.keepalive("timers.keepalive_time", k, t.hold_time);
    }
    if t.connect_retry == 0 {
        c.err("timers.connect_retry", 0, "allowed: 1-65535 seconds");
    }
    if t.error_wait_min > t.error_wait_max {
        c.err(
            "timers.error_wait_min",
            t.error_wait_min,
            format!("must not exceed timers.error_wait_max ({})", t.error_wait_max),
        );
    }
}

fn check_graceful_restart(c: &mut Checker, cfg: &Config) {
    c.restart_time("graceful_restart.restart_time", cfg.graceful_restart.restart_time);
    if cfg.graceful_restart.stale_time == 0 {
        c.err("graceful_restart.stale_time", 0, "must be at least 1 second");
    }
    let llst = cfg.graceful_restart.long_lived_stale_time;
    c.long_lived_stale_time("graceful_restart.long_lived_stale_time", llst);
    if llst > 0 && !cfg.graceful_restart.enabled {
        // RFC 9494 §3: LLGR goes with the GR capability; without it the
        // peer ignores ours.
        c.warn(
            "graceful_restart.long_lived_stale_time",
            llst,
            "ignored where graceful restart is off (graceful_restart.enabled = false)",
        );
    }
}

fn node_addr(cfg: &Config, family: Family) -> Option<IpAddr> {
    match family {
        Family::Ipv4Unicast => cfg.node.ipv4.map(|n| IpAddr::V4(n.addr())),
        Family::Ipv6Unicast => cfg.node.ipv6.map(|n| IpAddr::V6(n.addr())),
    }
}

fn check_mesh(c: &mut Checker, cfg: &Config, router_id: Option<Ipv4Addr>) {
    let m = &cfg.mesh;
    c.password("mesh", &m.password, &m.password_file);
    if let Some(t) = m.graceful_restart_time {
        c.restart_time("mesh.graceful_restart_time", t);
    }
    if cfg.route_reflector.enabled && m.enabled && !m.nodes.is_empty() {
        c.warn(
            "mesh.enabled",
            true,
            "this node is a route reflector, so the mesh is not used (as in Calico)",
        );
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut addrs: HashMap<IpAddr, usize> = HashMap::new();
    for (i, n) in m.nodes.iter().enumerate() {
        let base = format!("mesh.nodes[{i}]");
        if n.name.is_empty() {
            c.err(format!("{base}.name"), "\"\"", "must be the other node's name");
        } else if n.name == cfg.node.name {
            c.err(
                format!("{base}.name"),
                &n.name,
                "is this node (node.name); list only the other nodes",
            );
        } else if let Some(j) = names.insert(&n.name, i) {
            c.err(format!("{base}.name"), &n.name, format!("duplicate of mesh.nodes[{j}]"));
        }
        if n.ipv4.is_none() && n.ipv6.is_none() {
            c.err(format!("{base}.ipv4"), "(unset)", "a mesh node needs ipv4, ipv6 or both");
        }
        let pairs = [
            ("ipv4", n.ipv4.map(IpAddr::V4), Family::Ipv4Unicast),
            ("ipv6", n.ipv6.map(IpAddr::V6), Family::Ipv6Unicast),
        ];
        let mut shared = false;
        for (key, addr, family) in pairs {
            let Some(addr) = addr else { continue };
            let path = format!("{base}.{key}");
            if addr.is_unspecified() || addr.is_multicast() {
                c.err(&path, addr, "must be a unicast address");
            }
            if node_addr(cfg, family) == Some(addr) {
                c.err(&path, addr, "is this node's own address; list only the other nodes");
            } else if let Some(j) = addrs.insert(addr, i) {
                c.err(&path, addr, format!("duplicate of mesh.nodes[{j}]"));
            }
            if let (IpAddr::V4(a), Some(id)) = (addr, router_id) {
                if a == id && node_addr(cfg, family) != Some(addr) {
                    // RFC 6286 §2.2: the identifier must be unique within the AS,
                    // and Calico nodes use their IPv4 address as router id.
                    c.err(
                        "node.router_id",
                        id,
                        format!("equals the address of {path}, which is that node's router id"),
                    );
                }
            }
            shared |= node_addr(cfg, family).is_some();
        }
        if !shared && (n.ipv4.is_some() || n.ipv6.is_some()) {
            c.warn(&base, &n.name, "shares no address family with this node: no session");
        }
        if let Some(asn) = n.remote_as {
            c.asn(&format!("{base}.remote_as"), asn);
        }
        if let Some(p) = n.port {
            c.port(&format!("{base}.port"), p);
        }
    }
}

/// Sessions to one address on different ports share its TCP MD5 key: the
/// kernel keys MD5 by remote address (`TCP_MD5SIG`), not by port.
fn check_shared_md5(c: &mut Checker, cfg: &Config, i: usize, p: &Peer) {
    let mine = (&p.password, &p.password_file);
    let earlier = cfg.peers[..i]
        .iter()
        .enumerate()
        .find(|(_, q)| q.address == p.address && (&q.password, &q.password_file) != mine);
    if let Some((j, _)) = earlier {
        c.err(
            format!("peers[{i}].password"),
            "(hidden)",
            format!(
                "peers[{j}] has the same address and another password: the kernel's TCP MD5 \
                 key is per address, so the sessions to one address must share it"
            ),
        );
        return;
    }
    // A mesh session on the same port is replaced by the peer: no conflict.
    let mesh_node = cfg.mesh.enabled
        && !cfg.route_reflector.enabled
        && cfg.mesh.nodes.iter().any(|n| {
            let at = n.ipv4.map(IpAddr::V4) == Some(p.address)
                || n.ipv6.map(IpAddr::V6) == Some(p.address);
            at && n.port.unwrap_or(cfg.listen.port) != p.port
        });
    if mesh_node && (&cfg.mesh.password, &cfg.mesh.password_file) != mine {
        c.err(
            format!("peers[{i}].password"),
            "(hidden)",
            "a mesh node has this address and the mesh password differs: the kernel's TCP MD5 \
             key is per address, so the sessions to one address must share it",
        );
    }
}

fn check_peers(c: &mut Checker, cfg: &Config) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut addrs: HashMap<(IpAddr, u16), usize> = HashMap::new();
    for (i, p) in cfg.peers.iter().enumerate() {
        let base = format!("peers[{i}]");
        let at = |key: &str| format!("{base}.{key}");
        if p.name.is_empty() {
            c.err(at("name"), "\"\"", "must be non-empty");
        } else if let Some(j) = names.insert(&p.name, i) {
            c.err(at("name"), &p.name, format!("duplicate of peers[{j}].name"));
        }
        let family = Family::of(p.address);
        if p.address.is_multicast() {
            // Calico renders such a BGPPeer (its own examples peer with
            // ffee::10) and BIRD runs it: a session that never connects.
            // The file and the datastore share this check, so neither
            // refuses what Calico would run.
            c.warn(
                at("address"),
                p.address,
                "a multicast address: no TCP connection reaches it, the session will stay down",
            );
        }
        if p.address.is_unspecified() {
            c.err(at("address"), p.address, "must be a peer's address, not unspecified");
        } else if node_addr(cfg, family) == Some(p.address) {
            c.err(at("address"), p.address, "is this node's own address");
        } else if let Some(j) = addrs.insert((p.address, p.port), i) {
            c.err(
                at("address"),
                p.address,
                format!("duplicate of peers[{j}]: one session per address and port"),
            );
        }
        check_shared_md5(c, cfg, i, p);
        c.asn(&at("remote_as"), p.remote_as);
        if let Some(l) = p.local_as {
            c.asn(&at("local_as"), l);
        }
        c.port(&at("port"), p.port);
        if let Some(gw) = p.reachable_by {
            // BIRD refuses a static route through a gateway of the other
            // family, so confd's render of it would never load.
            if gw.is_ipv4() != p.address.is_ipv4() || gw.is_unspecified() {
                c.err(
                    at("reachable_by"),
                    gw,
                    "must be a gateway address of the peer's family (the static route to the \
                     peer goes through it)",
                );
            }
        }
        match p.source_address {
            SourceAddress::NodeIp if node_addr(cfg, family).is_none() => c.err(
                at("source_address"),
                "node-ip",
                format!(
                    "the peer is {} but node.{} is not set; set it, or use \"none\" or an address",
                    if family == Family::Ipv4Unicast { "IPv4" } else { "IPv6" },
                    if family == Family::Ipv4Unicast { "ipv4" } else { "ipv6" },
                ),
            ),
            SourceAddress::Address(a) if a.is_ipv4() != p.address.is_ipv4() => c.err(
                at("source_address"),
                a,
                format!("address family differs from the peer address {}", p.address),
            ),
            _ => {}
        }
        c.password(&base, &p.password, &p.password_file);
        match (p.ttl_security, p.multihop) {
            (Some(t), Some(_)) => c.err(
                at("ttl_security"),
                t,
                "ttl_security (GTSM, RFC 5082) sends TTL 255 and cannot be combined with multihop; set one",
            ),
            (Some(0), None) => c.err(at("ttl_security"), 0, "allowed: 1-255 hops"),
            (None, Some(0)) => c.err(at("multihop"), 0, "allowed: TTL 1-255"),
            _ => {}
        }
        if let Some(mp) = &p.max_prefix {
            let limits = [
                ("limit", mp.limit),
                ("ipv4_unicast", mp.ipv4_unicast),
                ("ipv6_unicast", mp.ipv6_unicast),
            ];
            if limits.iter().all(|(_, l)| l.is_none()) {
                c.err(
                    at("max_prefix"),
                    "{}",
                    "needs `limit` (each family) or a family's own (`ipv4_unicast`, `ipv6_unicast`)",
                );
            }
            for (key, l) in limits {
                if l == Some(0) {
                    c.err(at(&format!("max_prefix.{key}")), 0, "allowed: 1-4294967295");
                }
            }
            match (mp.action, mp.restart_after) {
                (MaxPrefixAction::Warn, Some(r)) => c.err(
                    at("max_prefix.restart_after"),
                    r,
                    "only meaningful with action = \"teardown\"",
                ),
                (_, Some(0)) => {
                    c.err(at("max_prefix.restart_after"), 0, "allowed: 1-65535 seconds")
                }
                _ => {}
            }
        }
        if let Some(fams) = &p.families {
            if fams.is_empty() {
                c.err(at("families"), "[]", "allowed: \"ipv4-unicast\", \"ipv6-unicast\" or both");
            }
            for (k, f) in fams.iter().enumerate() {
                if fams[..k].contains(f) {
                    c.err(format!("{base}.families[{k}]"), f.as_str(), "listed twice");
                }
            }
        }
        let fams = p.families.clone().unwrap_or_else(|| vec![family]);
        for (k, f) in fams.iter().enumerate() {
            if node_addr(cfg, *f).is_none() {
                let path = match &p.families {
                    Some(_) => format!("{base}.families[{k}]"),
                    None => at("address"),
                };
                c.err(
                    path,
                    f.as_str(),
                    format!(
                        "carrying {} needs node.{} (the next hop we announce)",
                        f.as_str(),
                        if *f == Family::Ipv4Unicast { "ipv4" } else { "ipv6" }
                    ),
                );
            }
        }
        let local_as = p.local_as.unwrap_or(cfg.node.local_as);
        if p.rr_client {
            if !cfg.route_reflector.enabled {
                c.err(at("rr_client"), true, "needs route_reflector.enabled = true");
            }
            if p.remote_as != local_as {
                // RFC 4456 §2: reflection happens between IBGP peers only.
                c.err(at("rr_client"), true, format!("route-reflector clients must be iBGP (remote_as {} differs from local AS {local_as})", p.remote_as));
            }
        }
        if let Some(t) = p.graceful_restart_time {
            c.restart_time(&at("graceful_restart_time"), t);
            if p.graceful_restart == Some(false) {
                c.warn(at("graceful_restart_time"), t, "ignored: graceful_restart = false");
            }
        }
        if let Some(t) = p.long_lived_stale_time {
            c.long_lived_stale_time(&at("long_lived_stale_time"), t);
            let gr_on = p.graceful_restart.unwrap_or(cfg.graceful_restart.enabled);
            if t > 0 && !gr_on {
                c.warn(
                    at("long_lived_stale_time"),
                    t,
                    "ignored: graceful restart is off for this peer",
                );
            }
        }
        let hold = p.hold_time.unwrap_or(cfg.timers.hold_time);
        if let Some(h) = p.hold_time {
            c.hold_time(&at("hold_time"), h);
        }
        // Without its own keepalive a peer with its own hold time uses a third
        // of it, which is valid for any valid hold time.
        if let Some(k) = p.keepalive_time {
            c.keepalive(&at("keepalive_time"), k, hold);
        }
    }
}

fn check_route_reflector(
    c: &mut Checker,
    cfg: &Config,
    router_id: Option<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let rr = &cfg.route_reflector;
    if !rr.enabled {
        if let Some(id) = rr.cluster_id {
            c.err("route_reflector.cluster_id", id, "set without route_reflector.enabled = true");
        }
        return None;
    }
    // RFC 4456 §7: "If the cluster has only one RR, the CLUSTER_ID is the
    // BGP Identifier of the RR."
    rr.cluster_id.or(router_id)
}

fn check_pools(c: &mut Checker, cfg: &Config) {
    for (i, p) in cfg.ip_pools.iter().enumerate() {
        let base = format!("ip_pools[{i}]");
        if p.cidr != p.cidr.trunc() {
            c.err(
                format!("{base}.cidr"),
                p.cidr,
                format!("has host bits set; did you mean {}?", p.cidr.trunc()),
            );
        }
        if p.ipip_mode != EncapMode::Never && p.vxlan_mode != EncapMode::Never {
            c.err(
                format!("{base}.vxlan_mode"),
                format!("{:?}", p.vxlan_mode),
                format!("ipip_mode is {:?}; a pool uses IPIP or VXLAN, not both", p.ipip_mode),
            );
        }
        let (lo, hi) = match p.cidr {
            IpNet::V4(_) => (20, 32),
            IpNet::V6(_) => (116, 128),
        };
        if let IpNet::V6(_) = p.cidr {
            if p.ipip_mode != EncapMode::Never {
                c.err(
                    format!("{base}.ipip_mode"),
                    format!("{:?}", p.ipip_mode),
                    "IPIP is IPv4-only; allowed for an IPv6 pool: Never",
                );
            }
        }
        let bs = p.effective_block_size();
        if bs < lo || bs > hi || bs < p.cidr.prefix_len() {
            c.err(
                format!("{base}.block_size"),
                bs,
                format!(
                    "allowed: {}-{hi} (at least the pool's prefix length, {lo}-{hi} as in Calico)",
                    lo.max(p.cidr.prefix_len())
                ),
            );
        }
        if p.ipip_mode == EncapMode::CrossSubnet {
            match cfg.node.ipv4 {
                None => c.err(
                    format!("{base}.ipip_mode"),
                    "CrossSubnet",
                    "needs node.ipv4 with its prefix length: the local subnet decides encapsulation",
                ),
                Some(n) if n.prefix_len() == 32 => c.warn(
                    "node.ipv4",
                    n,
                    format!("a /32 subnet makes every next hop cross-subnet for {base} (CrossSubnet)"),
                ),
                Some(_) => {}
            }
        }
        for (j, q) in cfg.ip_pools[..i].iter().enumerate() {
            if q.cidr.contains(&p.cidr.network()) || p.cidr.contains(&q.cidr.network()) {
                c.err(
                    format!("{base}.cidr"),
                    p.cidr,
                    format!("overlaps ip_pools[{j}].cidr {}", q.cidr),
                );
            }
        }
    }
}

fn check_blocks(c: &mut Checker, cfg: &Config) {
    for (i, b) in cfg.node.blocks.iter().enumerate() {
        let path = format!("node.blocks[{i}]");
        if *b != b.trunc() {
            c.err(&path, b, format!("has host bits set; did you mean {}?", b.trunc()));
        }
        if cfg.node.blocks[..i].contains(b) {
            c.err(&path, b, "listed twice");
        }
        match cfg.ip_pools.iter().find(|p| p.cidr.contains(b)) {
            None => {
                // Calico blackholes and advertises every confirmed affinity
                // whether or not a pool still covers it (a deleted pool's
                // blocks stay until released), so this is only a warning.
                let pools: Vec<String> = cfg.ip_pools.iter().map(|p| p.cidr.to_string()).collect();
                c.warn(
                    &path,
                    b,
                    format!(
                        "outside every ip_pools cidr ({})",
                        if pools.is_empty() {
                            "none configured".to_owned()
                        } else {
                            pools.join(", ")
                        }
                    ),
                );
            }
            Some(p) if b.prefix_len() != p.effective_block_size() => c.warn(
                &path,
                b,
                format!("pool {} has block_size {}", p.cidr, p.effective_block_size()),
            ),
            Some(_) => {}
        }
    }
}

fn check_services(c: &mut Checker, cfg: &Config) {
    let s = &cfg.services;
    let lists = [
        ("cluster_ips", &s.cluster_ips),
        ("external_ips", &s.external_ips),
        ("load_balancer_ips", &s.load_balancer_ips),
    ];
    let mut seen: Vec<IpNet> = Vec::new();
    for (key, list) in lists {
        for (i, cidr) in list.iter().enumerate() {
            let path = format!("services.{key}[{i}]");
            if *cidr != cidr.trunc() {
                c.err(&path, cidr, format!("has host bits set; did you mean {}?", cidr.trunc()));
            }
            if seen.contains(&cidr.trunc()) {
                c.err(&path, cidr, "listed twice in [services]");
            }
            // Calico refuses service ranges that overlap an IP pool: the
            // pool's blocks and the service route would compete.
            if let Some(p) =
                cfg.ip_pools.iter().find(|p| p.cidr.contains(cidr) || cidr.contains(&p.cidr))
            {
                c.err(
                    &path,
                    cidr,
                    format!(
                        "overlaps ip_pools cidr {}; service ranges must be outside every pool",
                        p.cidr
                    ),
                );
            }
            seen.push(cidr.trunc());
        }
    }
}

fn check_prefix_advertisements(c: &mut Checker, cfg: &Config) {
    for (i, a) in cfg.prefix_advertisements.iter().enumerate() {
        let path = format!("prefix_advertisements[{i}]");
        if a.cidr != a.cidr.trunc() {
            c.err(
                format!("{path}.cidr"),
                a.cidr,
                format!("has host bits set; did you mean {}?", a.cidr.trunc()),
            );
        }
        if a.communities.is_empty() {
            c.warn(format!("{path}.communities"), "[]", "no communities: the entry does nothing");
        }
        for (j, text) in a.communities.iter().enumerate() {
            if let Err(why) = text.parse::<CommunityValue>() {
                c.err(format!("{path}.communities[{j}]"), format!("{text:?}"), why);
            }
        }
    }
}

fn check_fib(c: &mut Checker, cfg: &Config) {
    let f = &cfg.fib;
    match f.table {
        0 => c.err(
            "fib.table",
            0,
            "0 is RT_TABLE_UNSPEC; allowed: 1-254, 256-4294967295 (254 = main)",
        ),
        255 => c.err(
            "fib.table",
            255,
            "255 is the kernel's local table; allowed: 1-254, 256-4294967295",
        ),
        _ => {}
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;

#[path = "validate_filters.rs"]
mod validate_filters;
