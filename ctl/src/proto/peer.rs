//! Per-peer snapshot: everything `show peers`, `show peer` and the per-peer
//! metrics need, filled by the daemon from its session state.

use std::net::{IpAddr, Ipv4Addr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Family;

/// One configured BGP neighbor at the moment of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PeerSnapshot {
    /// Neighbor address.
    pub address: IpAddr,
    /// Neighbor TCP port (179 unless configured otherwise).
    pub port: u16,
    /// BIRD-compatible protocol name (`Mesh_10_0_0_2`, `Node_fd00__1`), which
    /// calicoctl parses to find the peer type.
    pub name: String,
    /// How the peer was configured.
    pub peer_type: PeerType,
    /// RFC 4271 FSM state.
    pub state: SessionState,
    /// Administratively disabled (never connects).
    #[serde(default)]
    pub disabled: bool,
    /// Passive: waits for the neighbor to connect (Calico's lexical mesh rule).
    #[serde(default)]
    pub passive: bool,
    /// Unix time of the last state change (Established or not).
    pub since: u64,
    /// Unix time the session last reached or left Established (BIRD's
    /// `since`: its protocol state changes only then, not on every FSM step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto_since: Option<u64>,
    /// Why the last session ended or the last attempt failed; kept while the
    /// session is down, cleared when it is Established.
    #[serde(default)]
    pub last_error: Option<LastError>,
    /// Our AS on this session.
    pub local_as: u32,
    /// The neighbor's configured AS.
    pub remote_as: u32,
    /// Our BGP Identifier.
    pub local_id: Ipv4Addr,
    /// The neighbor's BGP Identifier, once an OPEN was received.
    #[serde(default)]
    pub remote_id: Option<Ipv4Addr>,
    /// Local address of the TCP connection (or the configured source address).
    #[serde(default)]
    pub source_address: Option<IpAddr>,
    /// iBGP (same AS) rather than eBGP.
    pub internal: bool,
    /// Multihop session (Calico sets this on every session).
    #[serde(default)]
    pub multihop: bool,
    /// The neighbor is our route-reflector client.
    #[serde(default)]
    pub rr_client: bool,
    /// Capabilities the neighbor advertised in its last OPEN.
    #[serde(default)]
    pub remote_caps: Option<Capabilities>,
    /// Capabilities in effect on the session (both sides advertised them).
    #[serde(default)]
    pub negotiated_caps: Option<Capabilities>,
    /// Hold timer: negotiated value and time left (Established only).
    #[serde(default)]
    pub hold_timer: Option<TimerSnapshot>,
    /// Keepalive timer: negotiated value and time to the next KEEPALIVE.
    #[serde(default)]
    pub keepalive_timer: Option<TimerSnapshot>,
    /// Prefix counters per address family.
    #[serde(default)]
    pub prefixes: Vec<FamilyCounts>,
    /// Messages received and sent since the daemon started.
    #[serde(default)]
    pub messages: MessageCounters,
    /// Times the session went down from Established since the daemon started.
    #[serde(default)]
    pub flaps: u64,
    /// Seconds the session has been Established; `None` when it is not.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Graceful-restart state of this peer.
    #[serde(default)]
    pub graceful_restart: PeerGracefulRestart,
    /// The Calico `BGPFilter`s the session applies, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Paths per filter rule that judged them: import rules, paths held
    /// from the peer; export rules, paths to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter_rules: Vec<FilterRulePaths>,
}

impl PeerSnapshot {
    /// The address family the peer is listed under (by neighbor address).
    pub fn family(&self) -> Family {
        Family::of_addr(&self.address)
    }

    /// BIRD protocol state shown in the STATE column.
    pub fn proto_state(&self) -> ProtoState {
        if self.disabled {
            ProtoState::Down
        } else if self.state == SessionState::Established {
            ProtoState::Up
        } else {
            ProtoState::Start
        }
    }

    /// The INFO column: BGP state, then the last error when not Established,
    /// as BIRD prints it (`Active Socket: Connection refused`).
    pub fn info(&self) -> String {
        let state = if self.disabled { "Down" } else { self.state.as_str() };
        match (&self.last_error, self.state) {
            (Some(e), s) if s != SessionState::Established => {
                format!("{state} {}", e)
            }
            _ => state.to_owned(),
        }
    }
}

/// How a peer was configured (calicoctl's PEER TYPE column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerType {
    /// Calico node-to-node mesh (`Mesh_*`).
    Mesh,
    /// A BGPPeer applying to every node (`Global_*`).
    Global,
    /// A BGPPeer for this node only (`Node_*`).
    NodeSpecific,
    /// A route-reflector client of this node.
    RrClient,
}

impl PeerType {
    /// The string calicoctl prints.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerType::Mesh => "node-to-node mesh",
            PeerType::Global => "global",
            PeerType::NodeSpecific => "node specific",
            PeerType::RrClient => "route reflector client",
        }
    }

    /// Short label value for metrics.
    pub fn label(self) -> &'static str {
        match self {
            PeerType::Mesh => "mesh",
            PeerType::Global => "global",
            PeerType::NodeSpecific => "node_specific",
            PeerType::RrClient => "rr_client",
        }
    }
}

/// RFC 4271 §8 session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SessionState {
    /// Idle.
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

impl SessionState {
    /// All states, in FSM order (the metric exports one series per state).
    pub const ALL: [SessionState; 6] = [
        SessionState::Idle,
        SessionState::Connect,
        SessionState::Active,
        SessionState::OpenSent,
        SessionState::OpenConfirm,
        SessionState::Established,
    ];

    /// The name BIRD prints.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Idle => "Idle",
            SessionState::Connect => "Connect",
            SessionState::Active => "Active",
            SessionState::OpenSent => "OpenSent",
            SessionState::OpenConfirm => "OpenConfirm",
            SessionState::Established => "Established",
        }
    }
}

/// BIRD's protocol state (the STATE column of calicoctl).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProtoState {
    /// Session Established.
    Up,
    /// Trying to establish.
    Start,
    /// Disabled.
    Down,
}

impl ProtoState {
    /// `up` / `start` / `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtoState::Up => "up",
            ProtoState::Start => "start",
            ProtoState::Down => "down",
        }
    }
}

/// The last error of a peer, classified as BIRD does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LastError {
    /// Where the error came from.
    pub class: ErrorClass,
    /// What happened (`Connection refused`, `Hold timer expired`, `Bad peer AS: 64513`).
    pub message: String,
    /// Unix time it happened.
    #[serde(default)]
    pub at: Option<u64>,
}

impl std::fmt::Display for LastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class.as_str(), self.message)
    }
}

/// BIRD's error classes (the word before the colon in INFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Local protocol error (`Error: Hold timer expired`).
    Error,
    /// TCP connect/accept failed (`Socket: Connection refused`).
    Socket,
    /// The neighbor sent a NOTIFICATION (`Received: Bad peer AS`).
    Received,
    /// We sent a NOTIFICATION (`BGP Error: Bad peer AS`).
    BgpError,
    /// Shut down by a limit (`Automatic shutdown: Route limit exceeded`).
    AutomaticShutdown,
}

impl ErrorClass {
    /// The prefix BIRD prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Error => "Error",
            ErrorClass::Socket => "Socket",
            ErrorClass::Received => "Received",
            ErrorClass::BgpError => "BGP Error",
            ErrorClass::AutomaticShutdown => "Automatic shutdown",
        }
    }
}

/// A set of BGP capabilities (either advertised or negotiated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Capabilities {
    /// Multiprotocol families (RFC 4760).
    #[serde(default)]
    pub families: Vec<Family>,
    /// Route refresh (RFC 2918).
    #[serde(default)]
    pub route_refresh: bool,
    /// Enhanced route refresh (RFC 7313).
    #[serde(default)]
    pub enhanced_route_refresh: bool,
    /// Four-octet AS numbers (RFC 6793).
    #[serde(default)]
    pub four_octet_as: bool,
    /// Extended messages (RFC 8654).
    #[serde(default)]
    pub extended_message: bool,
    /// Graceful restart (RFC 4724): the Restart Time, when advertised.
    #[serde(default)]
    pub graceful_restart_time: Option<u16>,
    /// Long-lived graceful restart (RFC 9494): the longest Long-lived
    /// Stale Time over the families, when advertised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_lived_stale_time: Option<u32>,
    /// ADD-PATH receive (RFC 7911), per family.
    #[serde(default)]
    pub add_path_rx: Vec<Family>,
    /// ADD-PATH send (RFC 7911), per family.
    #[serde(default)]
    pub add_path_tx: Vec<Family>,
    /// Extended next hop (RFC 8950): families whose NLRI may carry an IPv6 next hop.
    #[serde(default)]
    pub extended_next_hop: Vec<Family>,
}

impl Capabilities {
    /// BIRD-style capability words (`refresh restart-able AS4 add-path-rx`).
    pub fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        for f in &self.families {
            w.push(format!("{}-unicast", f.as_str()));
        }
        if self.route_refresh {
            w.push("refresh".into());
        }
        if self.enhanced_route_refresh {
            w.push("enhanced-refresh".into());
        }
        if let Some(t) = self.graceful_restart_time {
            w.push(format!("restart-able({t}s)"));
        }
        if let Some(t) = self.long_lived_stale_time {
            w.push(format!("long-lived({t}s)"));
        }
        if self.four_octet_as {
            w.push("AS4".into());
        }
        if self.extended_message {
            w.push("ext-messages".into());
        }
        for (name, fams) in [
            ("add-path-rx", &self.add_path_rx),
            ("add-path-tx", &self.add_path_tx),
            ("ext-next-hop", &self.extended_next_hop),
        ] {
            if !fams.is_empty() {
                let list: Vec<_> = fams.iter().map(|f| f.as_str()).collect();
                w.push(format!("{name}({})", list.join(",")));
            }
        }
        w
    }
}

/// A running timer: its full period and the seconds left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimerSnapshot {
    /// Negotiated period in seconds.
    pub period_secs: u32,
    /// Seconds left before it fires.
    pub left_secs: u32,
}

/// Paths one of a peer's filter rules judged: for an import rule, paths
/// held from the peer (rejected ones included); for an export rule, paths
/// to it (each destination's best path, every path with ADD-PATH), sent
/// when it accepts, withheld when it rejects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FilterRulePaths {
    /// The `BGPFilter`'s name.
    pub filter: String,
    /// Its rule list: `import_v4`, `import_v6`, `export_v4` or `export_v6`.
    pub list: String,
    /// The rule's index in the list.
    pub rule: u16,
    /// `accept` or `reject`.
    pub action: String,
    /// Paths the rule judged.
    pub paths: u64,
}

/// Prefix counters of one family on one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FamilyCounts {
    /// The family.
    pub family: Family,
    /// Prefixes in the Adj-RIB-In (before import policy).
    pub received: u64,
    /// Prefixes accepted by import policy.
    pub accepted: u64,
    /// Prefixes advertised to the neighbor (Adj-RIB-Out).
    pub advertised: u64,
    /// Accepted prefixes whose path from this peer is the best one.
    #[serde(default)]
    pub best: u64,
    /// The peer's max-prefix limit for the family, which `received` is
    /// held to; unset when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// Message counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageCounts {
    /// OPEN messages.
    pub open: u64,
    /// UPDATE messages.
    pub update: u64,
    /// NOTIFICATION messages.
    pub notification: u64,
    /// KEEPALIVE messages.
    pub keepalive: u64,
    /// ROUTE-REFRESH messages.
    pub route_refresh: u64,
}

/// Message counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageCounters {
    /// Received from the neighbor.
    pub received: MessageCounts,
    /// Sent to the neighbor.
    pub sent: MessageCounts,
}

/// Graceful-restart state of one peer (RFC 4724).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeerGracefulRestart {
    /// Where the peer is in the procedure.
    pub state: GrPeerState,
    /// Seconds left of the restart timer (peer restarting), of the
    /// long-lived stale time (long-lived stale) or of the End-of-RIB wait
    /// (we are restarting).
    #[serde(default)]
    pub time_left_secs: Option<u32>,
    /// Routes from this peer kept as stale.
    #[serde(default)]
    pub stale_routes: u64,
}

/// Where a peer is in graceful restart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrPeerState {
    /// Not negotiated on this session.
    #[default]
    Off,
    /// Negotiated; nothing in progress.
    Ready,
    /// The neighbor restarted: its routes are kept stale until it comes back.
    PeerRestarting,
    /// The neighbor's restart time ran out and both ends advertised
    /// long-lived graceful restart (RFC 9494): its routes are kept, least
    /// preferred and marked LLGR_STALE, for the long-lived stale time.
    LongLivedStale,
    /// We restarted: waiting for the neighbor's End-of-RIB.
    WaitingEndOfRib,
}

impl GrPeerState {
    /// Every state, for one metric series each.
    pub const ALL: [GrPeerState; 5] = [
        GrPeerState::Off,
        GrPeerState::Ready,
        GrPeerState::PeerRestarting,
        GrPeerState::LongLivedStale,
        GrPeerState::WaitingEndOfRib,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrPeerState::Off => "off",
            GrPeerState::Ready => "ready",
            GrPeerState::PeerRestarting => "peer_restarting",
            GrPeerState::LongLivedStale => "long_lived_stale",
            GrPeerState::WaitingEndOfRib => "waiting_end_of_rib",
        }
    }
}
