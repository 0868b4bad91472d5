//! The configuration file as written: serde types and their defaults.
//!
//! Every struct refuses unknown keys (`deny_unknown_fields`), so a typo such as
//! `hold_tme` is an error rather than a silently ignored line. Defaults follow
//! what Calico's confd templates configure on BIRD: AS 64512, node-to-node mesh on,
//! hold time 240 s, keepalive a third of it, connect delay 2 s, connect retry
//! 5 s, error wait 5 s growing to 30 s, graceful restart time 120 s, routes
//! installed with kernel protocol 12 (`RTPROT_BIRD`).
//!
//! ```text
//! log_level, control_socket
//! [node]              name, local_as, ipv4, ipv6, router_id, blocks
//! [listen]            addresses, port
//! [timers]            hold_time, keepalive_time, send_hold_time, connect_delay,
//!                     connect_retry, error_wait_min, error_wait_max
//! [graceful_restart]  enabled, restart_time, stale_time, long_lived_stale_time
//! [mesh]              enabled, password | password_file, graceful_restart_time
//!   [[mesh.nodes]]    name, ipv4, ipv6, remote_as, port
//! [[peers]]           name, address, remote_as, kind, ..., filters (see `Peer`)
//! [[filters]]         name, export_v4, import_v4, export_v6, import_v6 (see `filters`)
//! [route_reflector]   enabled, cluster_id
//! [[ip_pools]]        cidr, ipip_mode, vxlan_mode, block_size, disable_bgp_export
//! [services]          cluster_ips, external_ips, load_balancer_ips
//! [[prefix_advertisements]]  cidr, communities
//! [fib]               enabled, table, program_cluster_routes, manage_vxlan, manage_tunl0
//! [metrics]           listen
//! [bird_compat]       ipv4_socket, ipv6_socket
//! [datastore]         type, path, etcd_endpoints, etcd_ca_cert_file, etcd_cert_file,
//!                     etcd_key_file, etcd_username, etcd_password
//! ```
//!
//! The types here carry no invariants: [`super::validate`] turns a [`Config`]
//! into a [`super::ValidatedConfig`] or a list of every problem found.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::filters::BgpFilter;
use super::router_id::RouterIdSpec;

/// Calico's default AS number for nodes (`BGPConfiguration.asNumber`).
pub const DEFAULT_AS: u32 = 64512;
/// The IANA BGP port (RFC 4271 §8.2.1: "TCP port 179").
pub const DEFAULT_PORT: u16 = 179;
/// BIRD's and Calico's hold time, in seconds.
pub const DEFAULT_HOLD_TIME: u16 = 240;
/// BIRD `connect delay time 2` from Calico's `bgp_template`.
pub const DEFAULT_CONNECT_DELAY: u16 = 2;
/// BIRD `connect retry time 5` from Calico's `bgp_template`.
pub const DEFAULT_CONNECT_RETRY: u16 = 5;
/// First step of BIRD `error wait time 5,30`.
pub const DEFAULT_ERROR_WAIT_MIN: u16 = 5;
/// Ceiling of BIRD `error wait time 5,30`.
pub const DEFAULT_ERROR_WAIT_MAX: u16 = 30;
/// BIRD's graceful restart time (Calico's default unless `maxRestartTime`).
pub const DEFAULT_RESTART_TIME: u16 = 120;
/// TTL used for a plain `multihop` session; BIRD's default for `multihop`
/// without a number, which is what Calico emits for every peer.
pub const DEFAULT_MULTIHOP_TTL: u8 = 64;
/// The kernel's main routing table (`RT_TABLE_MAIN`).
pub const DEFAULT_FIB_TABLE: u32 = 254;
/// Where the daemon's own control socket lives by default.
pub const DEFAULT_CONTROL_SOCKET: &str = "/var/run/calico/calico-bgp.ctl";

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Log verbosity of the daemon.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Path of the control socket used by `calico-bgpctl`.
    #[serde(default = "default_control_socket")]
    pub control_socket: PathBuf,
    /// This node: name, AS, addresses, router id, owned blocks.
    pub node: Node,
    /// Where to accept BGP connections.
    #[serde(default)]
    pub listen: Listen,
    /// Session timers applied to every peer unless the peer overrides them.
    #[serde(default)]
    pub timers: Timers,
    /// Graceful restart (RFC 4724) defaults.
    #[serde(default)]
    pub graceful_restart: GracefulRestart,
    /// Calico's node-to-node mesh.
    #[serde(default)]
    pub mesh: Mesh,
    /// Explicitly configured peers (ToR routers, route reflectors, ...).
    #[serde(default)]
    pub peers: Vec<Peer>,
    /// Calico `BGPFilter`s that peers name in their `filters`.
    #[serde(default)]
    pub filters: Vec<BgpFilter>,
    /// Route-reflector mode (RFC 4456).
    #[serde(default)]
    pub route_reflector: RouteReflector,
    /// Calico IP pools: what may be exported and how it is programmed.
    #[serde(default)]
    pub ip_pools: Vec<IpPool>,
    /// Service address ranges this node advertises.
    #[serde(default)]
    pub services: Services,
    /// Communities attached to the routes this node originates, per prefix.
    #[serde(default)]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// Kernel route programming.
    #[serde(default)]
    pub fib: Fib,
    /// The Prometheus endpoint (off unless `listen` is set).
    #[serde(default)]
    pub metrics: Metrics,
    /// BIRD 1.6 control sockets for Calico's tools (off unless a path is set).
    #[serde(default)]
    pub bird_compat: BirdCompat,
    /// Where Calico's resources are read from (none: this file only).
    #[serde(default)]
    pub datastore: Datastore,
}

fn default_control_socket() -> PathBuf {
    PathBuf::from(DEFAULT_CONTROL_SOCKET)
}

/// Log verbosity, as understood by `tracing`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// State changes (the default; BIRD's `debug { states }`).
    #[default]
    Info,
    /// Per-message detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// The lowercase name, as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// This node.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Calico node name; also the input of the hashed router id.
    pub name: String,
    /// AS number of this node (Calico default 64512).
    #[serde(default = "default_as")]
    pub local_as: u32,
    /// IPv4 address with prefix length (`Node.spec.bgp.ipv4Address`); the
    /// prefix is the local subnet that IPIP CrossSubnet compares next hops to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Net>,
    /// IPv6 address with prefix length (`Node.spec.bgp.ipv6Address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Net>,
    /// How the BGP identifier is chosen.
    #[serde(default)]
    pub router_id: RouterIdSpec,
    /// IPAM blocks affine to this node; advertised as aggregates.
    #[serde(default)]
    pub blocks: Vec<IpNet>,
}

fn default_as() -> u32 {
    DEFAULT_AS
}

/// The BGP listener.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Addresses to bind; the unspecified addresses listen everywhere
    /// (Calico `bindMode: None`), a node address restricts (`bindMode: NodeIP`).
    #[serde(default = "default_listen_addresses")]
    pub addresses: Vec<IpAddr>,
    /// TCP port (Calico `listenPort`).
    #[serde(default = "default_port")]
    pub port: u16,
}

impl Default for Listen {
    fn default() -> Self {
        Listen { addresses: default_listen_addresses(), port: DEFAULT_PORT }
    }
}

fn default_listen_addresses() -> Vec<IpAddr> {
    vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::UNSPECIFIED)]
}

fn default_port() -> u16 {
    DEFAULT_PORT
}

/// Session timers, in seconds.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Timers {
    /// Hold time offered in OPEN: 0 (no keepalives) or 3-65535.
    #[serde(default = "default_hold_time")]
    pub hold_time: u16,
    /// Keepalive interval; a third of the hold time when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<u16>,
    /// Send hold time (RFC 9687): a session that cannot send for this long
    /// is closed; 0 turns it off; unset, the greater of 480 and twice the
    /// negotiated hold time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_hold_time: Option<u16>,
    /// Delay before the first connection attempt after a peer starts.
    #[serde(default = "default_connect_delay")]
    pub connect_delay: u16,
    /// ConnectRetry timer (RFC 4271 §8.2.2).
    #[serde(default = "default_connect_retry")]
    pub connect_retry: u16,
    /// First wait after a session error.
    #[serde(default = "default_error_wait_min")]
    pub error_wait_min: u16,
    /// The wait after repeated errors doubles up to this value.
    #[serde(default = "default_error_wait_max")]
    pub error_wait_max: u16,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            hold_time: DEFAULT_HOLD_TIME,
            keepalive_time: None,
            send_hold_time: None,
            connect_delay: DEFAULT_CONNECT_DELAY,
            connect_retry: DEFAULT_CONNECT_RETRY,
            error_wait_min: DEFAULT_ERROR_WAIT_MIN,
            error_wait_max: DEFAULT_ERROR_WAIT_MAX,
        }
    }
}

fn default_hold_time() -> u16 {
    DEFAULT_HOLD_TIME
}
fn default_connect_delay() -> u16 {
    DEFAULT_CONNECT_DELAY
}
fn default_connect_retry() -> u16 {
    DEFAULT_CONNECT_RETRY
}
fn default_error_wait_min() -> u16 {
    DEFAULT_ERROR_WAIT_MIN
}
fn default_error_wait_max() -> u16 {
    DEFAULT_ERROR_WAIT_MAX
}

/// Graceful restart (RFC 4724) defaults for all peers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GracefulRestart {
    /// Advertise the capability and keep routes across a peer's restart.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Restart Time advertised, seconds (12 bits on the wire: 0-4095).
    #[serde(default = "default_restart_time")]
    pub restart_time: u16,
    /// Upper bound, seconds, on how long stale routes are kept waiting for
    /// End-of-RIB: ours after a restart of this daemon (the RFC 4724 §4.1
    /// Selection_Deferral_Timer, BIRD's `graceful restart wait`), and a
    /// returning peer's (its stale-path time).
    #[serde(default = "default_stale_time")]
    pub stale_time: u16,
    /// Long-lived graceful restart (RFC 9494): the Long-Lived Stale Time
    /// advertised, seconds (24 bits on the wire), and the longest we keep a
    /// vanished peer's routes as long-lived stale once its restart time ran
    /// out. 0 (the default, as in BIRD and Calico) turns LLGR off: the
    /// capability is not advertised and stale routes go at the restart time.
    #[serde(default)]
    pub long_lived_stale_time: u32,
}

impl Default for GracefulRestart {
    fn default() -> Self {
        GracefulRestart {
            enabled: true,
            restart_time: DEFAULT_RESTART_TIME,
            stale_time: DEFAULT_STALE_TIME,
            long_lived_stale_time: 0,
        }
    }
}

/// Calico's upper bound on the wait for End-of-RIB after a restart.
pub const DEFAULT_STALE_TIME: u16 = 240;

fn default_stale_time() -> u16 {
    DEFAULT_STALE_TIME
}

fn yes() -> bool {
    true
}
fn default_restart_time() -> u16 {
    DEFAULT_RESTART_TIME
}

/// A TCP MD5 key (RFC 2385). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Calico's node-to-node mesh: an iBGP (or per-node-AS) session to every
/// other listed node, one per address family both ends have.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// `nodeToNodeMeshEnabled`; skipped anyway on a route reflector.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `nodeMeshPassword`, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    /// `nodeMeshPassword`, read from a file when the daemon starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// `nodeMeshMaxRestartTime`; the global restart time when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_restart_time: Option<u16>,
    /// The other nodes of the cluster.
    #[serde(default)]
    pub nodes: Vec<MeshNode>,
}

impl Default for Mesh {
    fn default() -> Self {
        Mesh {
            enabled: true,
            password: None,
            password_file: None,
            graceful_restart_time: None,
            nodes: Vec::new(),
        }
    }
}

/// Another Calico node, peered with over each family both nodes have.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeshNode {
    /// Its Calico node name.
    pub name: String,
    /// Its IPv4 address (no prefix length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 address (no prefix length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// Its AS when it overrides the cluster's; `node.local_as` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_as: Option<u32>,
    /// Its BGP port when it overrides `listen.port` (per-node `listenPort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// An explicitly configured peer (Calico `BGPPeer`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Name used in logs and `show peers`.
    pub name: String,
    /// The neighbor address.
    pub address: IpAddr,
    /// Its AS; equal to the local AS makes the session iBGP.
    pub remote_as: u32,
    /// Per-session local AS (Calico `localASNumber`); `node.local_as` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_as: Option<u32>,
    /// The neighbor's TCP port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Local address of the TCP connection.
    #[serde(default)]
    pub source_address: SourceAddress,
    /// TCP MD5 key, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    /// TCP MD5 key, read from a file when the daemon starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Never dial; only accept the peer's connection.
    #[serde(default)]
    pub passive: bool,
    /// GTSM (RFC 5082): the peer is at most this many hops away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_security: Option<u8>,
    /// Outgoing TTL of a multihop session; 64 (BIRD's `multihop`) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multihop: Option<u8>,
    /// Limit on prefixes accepted from the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prefix: Option<MaxPrefix>,
    /// Address families; the family of `address` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub families: Option<Vec<Family>>,
    /// ADD-PATH (RFC 7911) directions; Calico sets `add paths on` (both).
    #[serde(default)]
    pub add_path: AddPath,
    /// Next hop in routes sent to this peer.
    #[serde(default)]
    pub next_hop_mode: NextHopMode,
    /// Treat the peer as a route-reflector client (RFC 4456).
    #[serde(default)]
    pub rr_client: bool,
    /// Graceful restart on this session; `graceful_restart.enabled` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_restart: Option<bool>,
    /// Restart time for this session (Calico `maxRestartTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_restart_time: Option<u16>,
    /// Long-lived stale time for this session (RFC 9494);
    /// `graceful_restart.long_lived_stale_time` when unset, 0 turns LLGR off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_lived_stale_time: Option<u32>,
    /// Hold time for this session; `timers.hold_time` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_time: Option<u16>,
    /// Keepalive for this session (Calico `keepaliveTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_time: Option<u16>,
    /// Send hold time for this session (RFC 9687); `timers.send_hold_time`
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_hold_time: Option<u16>,
    /// Advertise the Extended Message capability (RFC 8654), so that
    /// messages up to 65535 octets flow both ways once the peer advertises
    /// it too; on when unset (BIRD's `enable extended messages`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_messages: Option<bool>,
    /// Accept routes with our AS in the path up to this many times
    /// (Calico `numAllowedLocalASNumbers`).
    #[serde(default)]
    pub allow_local_as: u8,
    /// Which kind of Calico `BGPPeer` this is: `"node"` (node-specific, BIRD
    /// protocol `Node_<ip>`) or `"global"` (one for every node, `Global_<ip>`).
    #[serde(default, skip_serializing_if = "PeerScope::is_node")]
    pub kind: PeerScope,
    /// Calico `reachableBy`: the gateway through which the peer is reached
    /// (Calico adds a static route to the peer via it). Recorded only:
    /// calico-bgpd does not install that route yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable_by: Option<IpAddr>,
    /// Names of `[[filters]]` applied in this order on import and export
    /// (Calico `BGPPeer.filters`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
}

/// Which kind of Calico `BGPPeer` an explicit peer is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerScope {
    /// A peering for this node (selected by `node`/`nodeSelector`, or a
    /// reverse peering): BIRD protocol `Node_<ip>`.
    #[default]
    Node,
    /// A peering every node has (no `node`/`nodeSelector`): `Global_<ip>`.
    Global,
}

impl PeerScope {
    fn is_node(&self) -> bool {
        *self == PeerScope::Node
    }
}

/// Where the local end of a session is bound (Calico `sourceAddress`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum SourceAddress {
    /// `"node-ip"`: the node address of the peer's family (Calico `UseNodeIP`).
    #[default]
    NodeIp,
    /// `"none"`: let the kernel choose.
    None,
    /// A literal address.
    Address(IpAddr),
}

impl TryFrom<String> for SourceAddress {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "node-ip" => Ok(SourceAddress::NodeIp),
            "none" => Ok(SourceAddress::None),
            other => other.parse().map(SourceAddress::Address).map_err(|_| {
                format!("source_address `{other}`: expected \"node-ip\", \"none\" or an IP address")
            }),
        }
    }
}

impl From<SourceAddress> for String {
    fn from(s: SourceAddress) -> String {
        match s {
            SourceAddress::NodeIp => "node-ip".to_owned(),
            SourceAddress::None => "none".to_owned(),
            SourceAddress::Address(a) => a.to_string(),
        }
    }
}

/// The prefix limits of a peer, one per address family as BIRD's `import
/// limit` is per channel: IPv4 and IPv6 unicast prefixes are counted
/// apart, each against its own limit.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrefix {
    /// Largest number of prefixes accepted in each family that has no
    /// limit of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Largest number of IPv4 unicast prefixes accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_unicast: Option<u32>,
    /// Largest number of IPv6 unicast prefixes accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_unicast: Option<u32>,
    /// What happens above the limit.
    #[serde(default)]
    pub action: MaxPrefixAction,
    /// With `teardown`: restart the session after this many seconds; stay
    /// down until a reload when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_after: Option<u16>,
}

impl MaxPrefix {
    /// The limit on `family`'s prefixes, if it has one.
    pub fn limit_for(&self, family: Family) -> Option<u32> {
        match family {
            Family::Ipv4Unicast => self.ipv4_unicast,
            Family::Ipv6Unicast => self.ipv6_unicast,
        }
        .or(self.limit)
    }
}

/// Reaction to a peer exceeding its prefix limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxPrefixAction {
    /// Log and keep going.
    Warn,
    /// Send Cease / Maximum Number of Prefixes Reached (RFC 4486) and close.
    #[default]
    Teardown,
}

/// An address family carried on a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum Family {
    /// AFI 1 / SAFI 1.
    #[serde(rename = "ipv4-unicast")]
    Ipv4Unicast,
    /// AFI 2 / SAFI 1.
    #[serde(rename = "ipv6-unicast")]
    Ipv6Unicast,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4Unicast,
            IpAddr::V6(_) => Family::Ipv6Unicast,
        }
    }

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
        }
    }
}

/// ADD-PATH directions (RFC 7911 §4 Send/Receive field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddPath {
    /// Not advertised.
    Off,
    /// Willing to receive several paths.
    Receive,
    /// Willing to send several paths.
    Send,
    /// Both (BIRD `add paths on`, what Calico configures).
    #[default]
    Both,
}

/// Next hop in routes sent to a peer (Calico `nextHopMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NextHopMode {
    /// RFC 4271 §5.1.3 default: self towards eBGP, unchanged towards iBGP.
    #[default]
    Auto,
    /// Always our address (BIRD `next hop self`).
    #[serde(rename = "self")]
    SelfAddr,
    /// Never rewritten (BIRD `next hop keep`).
    Keep,
}

/// Route-reflector mode (RFC 4456).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteReflector {
    /// This node reflects routes between its `rr_client` peers and others.
    #[serde(default)]
    pub enabled: bool,
    /// CLUSTER_ID (Calico `routeReflectorClusterID`); the router id when unset
    /// (RFC 4456 §7: a lone reflector's CLUSTER_ID is its BGP Identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<Ipv4Addr>,
}

/// A Calico IP pool, reduced to what routing needs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IpPool {
    /// The pool's prefix.
    pub cidr: IpNet,
    /// IPIP encapsulation; decides `tunl0` programming.
    #[serde(default)]
    pub ipip_mode: EncapMode,
    /// VXLAN encapsulation; VXLAN routes are Felix's, never programmed here.
    #[serde(default)]
    pub vxlan_mode: EncapMode,
    /// Length of the per-node blocks (26 for IPv4, 122 for IPv6 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u8>,
    /// Do not advertise the pool's routes (Calico `disableBGPExport`).
    #[serde(default)]
    pub disable_bgp_export: bool,
}

impl IpPool {
    /// Block length in effect: the configured one or Calico's default.
    pub fn effective_block_size(&self) -> u8 {
        self.block_size.unwrap_or(match self.cidr {
            IpNet::V4(_) => 26,
            IpNet::V6(_) => 122,
        })
    }
}

/// Service address ranges advertised from this node, as Calico's
/// `BGPConfiguration` `serviceClusterIPs`, `serviceExternalIPs` and
/// `serviceLoadBalancerIPs`: each range is originated as it is written (no
/// blackhole: kube-proxy answers for the addresses on every node).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Services {
    /// Kubernetes service cluster IP ranges (`serviceClusterIPs`).
    #[serde(default)]
    pub cluster_ips: Vec<IpNet>,
    /// Service external IP ranges (`serviceExternalIPs`).
    #[serde(default)]
    pub external_ips: Vec<IpNet>,
    /// LoadBalancer service IP ranges (`serviceLoadBalancerIPs`).
    #[serde(default)]
    pub load_balancer_ips: Vec<IpNet>,
}

impl Services {
    /// Every configured range, with the key it came from.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, IpNet)> + '_ {
        fn tag<'a>(
            key: &'static str,
            v: &'a [IpNet],
        ) -> impl Iterator<Item = (&'static str, IpNet)> + 'a {
            v.iter().map(move |c| (key, *c))
        }
        tag("cluster_ips", &self.cluster_ips)
            .chain(tag("external_ips", &self.external_ips))
            .chain(tag("load_balancer_ips", &self.load_balancer_ips))
    }
}

/// Communities for the originated routes inside `cidr`, as Calico's
/// `BGPConfiguration.prefixAdvertisements`: every originated prefix inside
/// `cidr` (or equal to it) carries the communities of every entry that
/// covers it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixAdvertisement {
    /// The prefix the communities apply to (and to every prefix inside it).
    pub cidr: IpNet,
    /// `"aa:nn"` (standard, RFC 1997, each part 0-65535) or `"ga:l1:l2"`
    /// (large, RFC 8092, each part 0-4294967295).
    #[serde(default)]
    pub communities: Vec<String>,
}

/// A community as written in `prefix_advertisements`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommunityValue {
    /// `aa:nn`: a standard community (RFC 1997).
    Standard(crate::wire::attr::Community),
    /// `ga:l1:l2`: a large community (RFC 8092).
    Large(crate::wire::attr::LargeCommunity),
}

impl std::str::FromStr for CommunityValue {
    type Err = String;

    /// Parses `aa:nn` or `ga:l1:l2`; the error says what is allowed.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            [a, n] => match (a.parse::<u16>(), n.parse::<u16>()) {
                (Ok(a), Ok(n)) => Ok(CommunityValue::Standard(crate::wire::attr::Community(
                    (u32::from(a) << 16) | u32::from(n),
                ))),
                _ => Err("a standard community is aa:nn with each part 0-65535".into()),
            },
            [g, l1, l2] => match (g.parse::<u32>(), l1.parse::<u32>(), l2.parse::<u32>()) {
                (Ok(global_admin), Ok(local_data1), Ok(local_data2)) => {
                    Ok(CommunityValue::Large(crate::wire::attr::LargeCommunity {
                        global_admin,
                        local_data1,
                        local_data2,
                    }))
                }
                _ => Err("a large community is ga:l1:l2 with each part 0-4294967295".into()),
            },
            _ => Err("expected aa:nn (standard) or ga:l1:l2 (large)".into()),
        }
    }
}

impl fmt::Display for CommunityValue {
    /// The form [`std::str::FromStr`] reads: `aa:nn` or `ga:l1:l2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommunityValue::Standard(c) => write!(f, "{}:{}", c.0 >> 16, c.0 & 0xffff),
            CommunityValue::Large(l) => {
                write!(f, "{}:{}:{}", l.global_admin, l.local_data1, l.local_data2)
            }
        }
    }
}

impl PrefixAdvertisement {
    /// The communities that parse (validation has refused any that do not).
    pub fn parsed(&self) -> impl Iterator<Item = CommunityValue> + '_ {
        self.communities.iter().filter_map(|c| c.parse().ok())
    }
}

/// An IP pool encapsulation mode, spelled as in Calico's `IPPool`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum EncapMode {
    /// No encapsulation.
    #[default]
    #[serde(alias = "never")]
    Never,
    /// Always encapsulate.
    #[serde(alias = "always")]
    Always,
    /// Encapsulate only towards next hops outside the node's subnet.
    #[serde(alias = "cross-subnet")]
    CrossSubnet,
}

/// Kernel route programming.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fib {
    /// Program the kernel at all. Every Calico node does, route reflectors
    /// included (they often run pods); `false` is for a dedicated reflector
    /// host that must not touch its routing table. Read at start.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Routing table id (254 = main).
    #[serde(default = "default_fib_table")]
    pub table: u32,
    /// Which non-VXLAN pool routes are programmed here rather than by Felix
    /// (`BGPConfiguration.programClusterRoutes`, with Calico's meaning).
    #[serde(default)]
    pub program_cluster_routes: ProgramClusterRoutes,
    /// Program VXLAN pools here and create/fix `vxlan.calico` /
    /// `vxlan-v6.calico` with the derived MAC, FDB and neighbour entries: for
    /// a node without Felix. Off (Calico's split), VXLAN is Felix's.
    #[serde(default)]
    pub manage_vxlan: bool,
    /// Create/fix `tunl0`: for a node without Felix. Off, IPIP routes use the
    /// `tunl0` Felix creates.
    #[serde(default)]
    pub manage_tunl0: bool,
    /// Learn other agents' routes of the table (BIRD's `learn`, which Calico's
    /// kernel protocol sets): Felix's workload routes are exported as Calico's
    /// BIRD exports them. Read at start.
    #[serde(default = "yes")]
    pub learn: bool,
}

impl Default for Fib {
    fn default() -> Self {
        Fib {
            enabled: true,
            table: DEFAULT_FIB_TABLE,
            program_cluster_routes: ProgramClusterRoutes::default(),
            manage_vxlan: false,
            manage_tunl0: false,
            learn: true,
        }
    }
}

fn default_fib_table() -> u32 {
    DEFAULT_FIB_TABLE
}

/// `programClusterRoutes`, spelled as in Calico's API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ProgramClusterRoutes {
    /// Program every non-VXLAN pool: unencapsulated and IPIP (Calico v3.32
    /// default, BIRD's behaviour).
    #[default]
    Enabled,
    /// Program no pool routes; Felix owns them.
    Disabled,
    /// Program only IPIP pools (VXLAN `Never`).
    #[serde(rename = "EnabledIPIPOnly")]
    EnabledIpipOnly,
    /// Program only pools with IPIP and VXLAN both `Never` (Calico master
    /// default, and what an unset datastore value means).
    EnabledNoEncapOnly,
}

/// BIRD 1.6 control sockets: calico-node's probes, `calicoctl node status`
/// and the CalicoNodeStatus populators read `bird.ctl` (IPv4 sessions) and
/// `bird6.ctl` (IPv6 sessions) in BIRD's dialect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BirdCompat {
    /// Socket showing the IPv4 sessions and routes, as `bird` would
    /// (Calico: `/var/run/calico/bird.ctl`); none means no socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_socket: Option<PathBuf>,
    /// Socket showing the IPv6 sessions and routes, as `bird6` would
    /// (Calico: `/var/run/calico/bird6.ctl`); none means no socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_socket: Option<PathBuf>,
}

/// The Prometheus endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Address and port of the HTTP listener serving `/metrics`; none (the
    /// default) means no endpoint: metrics expose peer addresses and are
    /// opt-in, as in calico-node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

/// Calico's datastore. Calico's `ETCD_*` environment variables override the
/// `etcd_*` keys (see `super::datastore`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Datastore {
    /// Which datastore (Calico `DATASTORE_TYPE`); `none` uses this file only.
    #[serde(default, rename = "type")]
    pub kind: DatastoreType,
    /// `type = "file"`: the Calico resources file (the multi-document YAML
    /// `calicoctl apply -f` takes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// etcd v3 client URLs, `http://host:port` or `https://host:port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etcd_endpoints: Vec<String>,
    /// PEM CA bundle that signed the etcd servers' certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_ca_cert_file: Option<PathBuf>,
    /// PEM client certificate presented to etcd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_cert_file: Option<PathBuf>,
    /// PEM private key of `etcd_cert_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_key_file: Option<PathBuf>,
    /// etcd user (etcd's own authentication), with `etcd_password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_username: Option<String>,
    /// Password of `etcd_username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_password: Option<Password>,
}

/// The kinds of datastore.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreType {
    /// No datastore: the configuration file is the whole configuration.
    #[default]
    None,
    /// Calico's etcd v3 datastore.
    Etcdv3,
    /// A file of Calico resources, read at start and on every reload.
    File,
}
