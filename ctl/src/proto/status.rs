//! Daemon-wide status, reload and advertise results.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Family, FibStats};

/// Answer to `show status`; also the daemon-wide half of the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusSnapshot {
    /// Daemon version (`calico-bgpd 0.1.0`).
    pub version: String,
    /// The git commit the daemon was built from (12 hex digits, or
    /// `unknown`); empty from a daemon that predates the field.
    #[serde(default)]
    pub commit: String,
    /// BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Unix time the daemon started.
    pub started_at: u64,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// The last configuration load (start or reload).
    #[serde(default)]
    pub last_reconfig: Option<ReconfigSnapshot>,
    /// Graceful-restart recovery of the daemon itself (BIRD's `0024` line);
    /// `None` once every peer has sent End-of-RIB or the wait expired.
    #[serde(default)]
    pub graceful_restart: Option<GrRecovery>,
    /// Peers whose routes we keep for them while they restart (helper
    /// mode, RFC 4724 §4.2), long-lived stale ones (RFC 9494) included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub graceful_restart_helping: Vec<GrHelping>,
    /// Shutting down (SIGTERM received).
    #[serde(default)]
    pub shutting_down: bool,
    /// Loc-RIB sizes per family.
    #[serde(default)]
    pub rib: Vec<RibSize>,
    /// FIB writer counters.
    #[serde(default)]
    pub fib: FibStats,
    /// The most recent event-loop lag sample, in seconds (how late a
    /// periodic tick ran); high values mean timers and keepalives are starved.
    #[serde(default)]
    pub event_loop_lag_secs: f64,
    /// The largest lag seen since start, in seconds.
    #[serde(default)]
    pub event_loop_lag_max_secs: f64,
    /// Connections refused because the source is not a configured neighbor
    /// (the usual sign of wrong IP autodetection on the other node).
    #[serde(default)]
    pub unknown_connects: Vec<UnknownConnect>,
    /// Where the configuration comes from when a datastore is followed;
    /// `None` when the file is the whole configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore: Option<Box<DatastoreView>>,
    /// Set while the daemon waits for the datastore's first configuration
    /// it can run: why not yet. No session runs meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

/// The datastore the configuration is derived from, as the daemon sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DatastoreView {
    /// `etcdv3`, or `file` for a resources file.
    pub kind: String,
    /// The endpoint in use, or being tried; the path of a resources file.
    pub endpoint: String,
    /// A list or watch works right now; for a file, its last read succeeded.
    pub connected: bool,
    /// Revision of the newest snapshot received (0: none yet); for a file,
    /// the number of its good reads.
    pub revision_seen: i64,
    /// Revision of the snapshot whose configuration is in force.
    #[serde(default)]
    pub revision_applied: Option<i64>,
    /// Unix time it was applied.
    #[serde(default)]
    pub applied_at: Option<u64>,
    /// Why the newest snapshot is not in force (its derived configuration
    /// does not validate); the previous one stays.
    #[serde(default)]
    pub refused: Option<String>,
    /// The last failure talking to the datastore.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Unix time of that failure.
    #[serde(default)]
    pub last_error_at: Option<u64>,
    /// Objects left out (with their key and why) and settings that cannot
    /// be expressed, in the newest snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Loc-RIB size of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RibSize {
    /// The family.
    pub family: Family,
    /// Prefixes in the Loc-RIB.
    pub prefixes: u64,
    /// Paths over all prefixes (ADD-PATH and multiple neighbors give several per prefix).
    pub paths: u64,
}

/// A configuration load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReconfigSnapshot {
    /// Unix time.
    pub at: u64,
    /// What happened.
    pub result: ReconfigResult,
}

/// The outcome of a configuration load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReconfigResult {
    /// The file was valid and is in effect.
    Applied,
    /// The file was refused; the previous configuration stays in effect.
    Refused {
        /// Every problem, as `calico-bgpd --check` prints it.
        errors: Vec<String>,
    },
}

/// The daemon is recovering after its own restart (RFC 4724 §4.1 Receiving
/// Speaker with the Restart State bit set): kernel sync is deferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GrRecovery {
    /// Peers whose End-of-RIB is still awaited.
    pub waiting_for: Vec<String>,
    /// Seconds left of the wait.
    pub wait_left_secs: u32,
    /// The full wait.
    pub wait_total_secs: u32,
}

/// A peer in graceful restart whose routes we keep (its `show peer` state
/// in short).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GrHelping {
    /// The peer's name (BIRD protocol name).
    pub peer: String,
    /// `peer_restarting` or `long_lived_stale`.
    pub state: super::GrPeerState,
    /// Seconds left before its stale routes go.
    #[serde(default)]
    pub time_left_secs: Option<u32>,
    /// Routes kept stale.
    pub stale_routes: u64,
}

/// Inbound connections from an address that is not a configured neighbor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnknownConnect {
    /// Source address of the connection.
    pub source: IpAddr,
    /// Connections refused from it since start.
    pub count: u64,
    /// Unix time of the last one.
    pub last: u64,
}

/// Answer to `reload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReloadResult {
    /// Applied or refused with the reasons.
    pub result: ReconfigResult,
    /// Protocol names of peers added.
    #[serde(default)]
    pub peers_added: Vec<String>,
    /// Protocol names of peers removed.
    #[serde(default)]
    pub peers_removed: Vec<String>,
    /// Protocol names of peers whose session restarts to apply a change.
    #[serde(default)]
    pub peers_restarted: Vec<String>,
    /// Protocol names of peers changed in place, without a session reset.
    #[serde(default)]
    pub peers_updated: Vec<String>,
}

impl ReloadResult {
    /// Whether the new configuration is in effect.
    pub fn accepted(&self) -> bool {
        self.result == ReconfigResult::Applied
    }
}

/// `advertise add|del PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdvertiseRequest {
    /// Add or withdraw.
    pub action: AdvertiseAction,
    /// The prefix (no host bits).
    #[schemars(with = "String")]
    pub prefix: IpNet,
}

/// Add or withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdvertiseAction {
    /// Originate the prefix.
    Add,
    /// Stop originating it.
    Del,
}

/// Answer to `advertise`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AdvertiseResult {
    /// What was asked.
    pub action: AdvertiseAction,
    /// The prefix.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// False when there was nothing to do (already advertised / not advertised).
    pub changed: bool,
    /// Peers the prefix is (or was) exported to.
    #[serde(default)]
    pub exported_to: u64,
}
