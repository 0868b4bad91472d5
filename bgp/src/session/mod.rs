//! BGP sessions: one tokio task per configured peer, driving the pure
//! [`crate::fsm::PeerFsm`] over real connections and timers.
//!
//! ```text
//!     SessionCmd (unbounded; UPDATEs bounded in octets)    SessionReport (unbounded)
//!   owner ------------------------------> session task ---------------------------> owner
//!   listener --Accepted(Connection)-----> |  PeerFsm   |
//!                                         |  timers    |  one select loop:
//!                 +-- reader task --IoEvent(bounded)-->|  timers > commands > I/O
//!   connection ---+                       |            |
//!                 +-- writer task <--ctl (OPEN, KEEPALIVE, NOTIFICATION), first
//!                                 <--upd (pre-encoded UPDATE Bytes from the owner)
//! ```
//!
//! Keepalives go out on time whatever the owner is doing: the task never
//! waits on the owner (reports and commands are unbounded channels), the
//! writer gives control messages priority over queued UPDATEs, and frames are
//! decoded here, not in the owner. A reader blocks on a full queue only when
//! this task is behind, which back-pressures the peer through TCP.
//!
//! The other way, a peer that reads slowly or not at all is bounded without
//! blocking anyone: UPDATEs are counted in the session's [`backlog`] from
//! the owner's hand to the socket, and the owner hands over nothing more
//! while it is over [`backlog::BACKLOG_LIMIT`] (it re-sends the table once
//! the backlog drains). A peer that never reads again is closed by RFC
//! 9687's Send Hold Timer ([`crate::fsm::send_hold`]).
//!
//! Framing accepts up to 65535 octets from the start; the size limit that
//! applies (4096, or 65535 after both OPENs carried RFC 8654 extended
//! messages) is enforced by [`crate::wire::decode_message`] with the
//! connection's negotiated context, which is applied when the FSM reports
//! Established: "A BGP speaker ... MUST NOT send an Extended Message to a peer
//! ... until it has received the Extended Message Capability" (RFC 8654 §3).
//!
//! Received UPDATEs and ROUTE-REFRESH requests are reported only while the
//! session is Established on that connection, tagged with the session's
//! *epoch* (incremented at each Established); outbound UPDATEs from the owner
//! carry the epoch they were encoded for and are dropped if the session went
//! down in between, so nothing encoded for one negotiation reaches another.

pub mod backlog;
mod conn;
pub mod stats;
mod task;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{AddPath, EffectivePeer, Family};
use crate::fsm::{PeerConfig, State};
use crate::net::PeerSockOpts;
use crate::wire::capability::GracefulRestart;
use crate::wire::{
    AddPathMode, AfiSafi, Capability, Negotiated, NotificationMsg, ParsedUpdate, RouteRefreshMsg,
};

/// A byte stream a session can run over: a TCP connection, or an in-memory
/// pipe in tests.
pub trait AsyncStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> AsyncStream for T {}

/// An established transport connection with its endpoints.
pub struct Connection {
    /// The stream.
    pub stream: Box<dyn AsyncStream>,
    /// Our end.
    pub local: SocketAddr,
    /// The peer's end.
    pub remote: SocketAddr,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({} -> {})", self.local, self.remote)
    }
}

impl Connection {
    /// Wraps a connected TCP stream.
    pub fn tcp(stream: TcpStream) -> io::Result<Connection> {
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        Ok(Connection { stream: Box::new(stream), local, remote })
    }
}

/// What dialing returns.
pub type DialFuture = Pin<Box<dyn Future<Output = io::Result<Connection>> + Send>>;

/// How a session reaches its peer.
pub trait Dialer: Send + Sync + 'static {
    /// Opens a connection to the peer; the session bounds it by the connect
    /// retry time.
    fn dial(&self) -> DialFuture;
}

/// Dials a peer over TCP from a source address, with its socket options.
#[derive(Clone, Debug)]
pub struct TcpDialer {
    /// Peer address and port.
    pub remote: SocketAddr,
    /// Local address to bind before connecting.
    pub source: Option<IpAddr>,
    /// MD5 key and TTL handling.
    pub opts: PeerSockOpts,
}

impl Dialer for TcpDialer {
    fn dial(&self) -> DialFuture {
        let d = self.clone();
        Box::pin(async move {
            let s = crate::net::dial(d.remote, d.source, &d.opts).await?;
            Connection::tcp(s)
        })
    }
}

/// Commands from the owner (and the listener) to a session.
#[derive(Debug)]
pub enum SessionCmd {
    /// ManualStart: (re)start after a [`SessionCmd::Stop`].
    Start,
    /// A connection the listener accepted from this peer.
    Accepted(Connection),
    /// Encoded UPDATEs (End-of-RIB included) for the session of `epoch`,
    /// written as they are ([`SessionHandle::send_updates`] makes it).
    Send {
        /// The epoch of the [`Up`] they were encoded for.
        epoch: u64,
        /// Whole messages, header included, counted in the backlog.
        messages: Vec<backlog::Queued>,
    },
    /// Stop with this NOTIFICATION (when an OPEN was sent) and stay down,
    /// or start again after `restart_after`.
    Stop {
        /// The Cease to send.
        notification: NotificationMsg,
        /// When to start again by itself.
        restart_after: Option<Duration>,
    },
    /// Stop with this NOTIFICATION, flush it and end the task.
    Shutdown(NotificationMsg),
    /// End the task closing the connections without a NOTIFICATION: a
    /// planned restart of this daemon, which a peer that negotiated
    /// graceful restart without the N bit takes as one (RFC 4724 §4.2: it
    /// "detects termination of the TCP session"; a NOTIFICATION would
    /// make it drop our routes).
    Close,
    /// The Graceful Restart capability for the session's next OPENs
    /// (`None`: none): the R bit goes once our recovery is over.
    SetGracefulRestart(Option<GracefulRestart>),
}

/// What the session reports to the owner (plain data: recorded and
/// replayed inside [`crate::daemon::Input::Session`]).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    /// The session instance (the owner's id for it): reports of a session
    /// already replaced by a reload are told apart by it.
    pub id: u64,
    /// The peer's address.
    pub peer: IpAddr,
    /// What happened.
    pub event: SessionEvent,
}

/// The session came up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Up {
    /// Incremented at each Established; outbound UPDATEs name it.
    pub epoch: u64,
    /// What the OPENs agreed.
    pub negotiated: Negotiated,
    /// Our end of the connection.
    pub local: SocketAddr,
    /// The peer's end.
    pub remote: SocketAddr,
}

/// One report.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant, reason = "UPDATEs dominate and are consumed at once")]
pub enum SessionEvent {
    /// The FSM changed state (also logged by the session).
    StateChange {
        /// Before.
        from: State,
        /// After.
        to: State,
        /// Why, for `show peers` (its last error).
        reason: crate::fsm::Reason,
    },
    /// Established: the owner may send routes for this epoch.
    Established(Box<Up>),
    /// The session left Established: the peer's routes go, or are kept
    /// stale when `graceful`.
    Down {
        /// The epoch that ended.
        epoch: u64,
        /// Why.
        reason: String,
        /// A graceful restart (RFC 4724 §4.2, RFC 8538 §4): the peer's
        /// routes are kept stale for the families it listed.
        graceful: bool,
    },
    /// A received UPDATE (RFC 7606 treatment inside), while Established.
    Update {
        /// The session epoch it arrived in.
        epoch: u64,
        /// The decoded message.
        update: ParsedUpdate,
    },
    /// The peer asks for our routes again (RFC 2918, RFC 7313).
    RouteRefresh {
        /// The session epoch it arrived in.
        epoch: u64,
        /// The request.
        request: RouteRefreshMsg,
    },
    /// The task ended after [`SessionCmd::Shutdown`].
    Finished,
}

/// Everything a session task needs.
pub struct SessionSpec {
    /// The owner's id for this session instance.
    pub id: u64,
    /// The peer's address (reports name it).
    pub peer: IpAddr,
    /// For logs: the BIRD-style protocol name (`Mesh_10_0_0_2`).
    pub name: String,
    /// The FSM's configuration.
    pub fsm: PeerConfig,
    /// How to reach the peer.
    pub dialer: Arc<dyn Dialer>,
}

impl std::fmt::Debug for SessionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSpec")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The owner's handle on a running session task.
#[derive(Debug)]
pub struct SessionHandle {
    id: u64,
    tx: mpsc::UnboundedSender<SessionCmd>,
    task: JoinHandle<()>,
    stats: Arc<stats::SessionStats>,
    backlog: Arc<backlog::Backlog>,
}

impl SessionHandle {
    /// The session instance id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends a command; false if the task has ended.
    pub fn send(&self, cmd: SessionCmd) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Hands the session UPDATEs for `epoch`, unless its backlog is over
    /// [`backlog::BACKLOG_LIMIT`]: then nothing is queued and false comes
    /// back (the peer is not keeping up; the owner sends the table again
    /// once [`SessionHandle::backlog`] is 0).
    pub fn send_updates(&self, epoch: u64, messages: Vec<Bytes>) -> bool {
        if self.backlog.octets() > backlog::BACKLOG_LIMIT {
            return false;
        }
        let messages =
            messages.into_iter().map(|m| backlog::Queued::new(m, &self.backlog)).collect();
        self.send(SessionCmd::Send { epoch, messages });
        true
    }

    /// Octets of UPDATEs handed over and not yet written to the socket.
    pub fn backlog(&self) -> usize {
        self.backlog.octets()
    }

    /// A sender for the listener to hand over accepted connections.
    pub fn sender(&self) -> mpsc::UnboundedSender<SessionCmd> {
        self.tx.clone()
    }

    /// Message counters and timers the task keeps up to date.
    pub fn stats(&self) -> &Arc<stats::SessionStats> {
        &self.stats
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the task to end (after [`SessionCmd::Shutdown`]).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// Starts a session task; it starts the FSM at once (ManualStart).
pub fn spawn(spec: SessionSpec, reports: mpsc::UnboundedSender<SessionReport>) -> SessionHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let id = spec.id;
    let stats = Arc::new(stats::SessionStats::default());
    let task = tokio::spawn(task::Task::new(spec, rx, reports, stats.clone()).run());
    SessionHandle { id, tx, task, stats, backlog: Arc::default() }
}

fn afi_safi(f: Family) -> AfiSafi {
    match f {
        Family::Ipv4Unicast => AfiSafi::IPV4_UNICAST,
        Family::Ipv6Unicast => AfiSafi::IPV6_UNICAST,
    }
}

/// The FSM configuration of a configured peer: its AS numbers, timers and
/// reconnect knobs, and the capabilities we advertise to it (multiprotocol
/// per family, route refresh, enhanced route refresh, 4-octet AS, extended
/// messages unless turned off for the peer (RFC 8654), ADD-PATH as
/// configured, graceful restart as [`gr_capability`] says, without the
/// R bit, and long-lived graceful restart as [`llgr_capability`] says).
pub fn peer_config(peer: &EffectivePeer, router_id: Ipv4Addr) -> PeerConfig {
    let mut cfg = PeerConfig::new(peer.local_as, peer.remote_as, router_id);
    let families: Vec<AfiSafi> = peer.families.iter().map(|f| afi_safi(*f)).collect();
    let mut caps: Vec<Capability> =
        families.iter().map(|f| Capability::Multiprotocol(*f)).collect();
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    caps.push(Capability::FourOctetAs(peer.local_as));
    if peer.extended_messages {
        caps.push(Capability::ExtendedMessage);
    }
    let mode = match peer.add_path {
        AddPath::Off => None,
        AddPath::Receive => Some(AddPathMode::Receive),
        AddPath::Send => Some(AddPathMode::Send),
        AddPath::Both => Some(AddPathMode::Both),
    };
    if let Some(mode) = mode {
        caps.push(Capability::AddPath(families.iter().map(|f| (*f, mode)).collect()));
    }
    caps.extend(gr_capability(peer, false).map(Capability::GracefulRestart));
    caps.extend(llgr_capability(peer).map(Capability::LongLivedGracefulRestart));
    cfg.capabilities = caps;
    let t = &peer.timers;
    let secs = |s: u16| Duration::from_secs(u64::from(s));
    cfg.hold_time = t.hold_time;
    // Configured or derived from the configured hold time; the FSM caps it
    // at a third of the negotiated one.
    cfg.keepalive_time = Some(t.keepalive_time);
    cfg.send_hold_time = t.send_hold_time;
    cfg.passive = peer.passive;
    cfg.connect_delay = secs(t.connect_delay);
    cfg.connect_retry = secs(t.connect_retry.max(1));
    cfg.error_wait_min = secs(t.error_wait_min);
    cfg.error_wait_max = secs(t.error_wait_max.max(t.error_wait_min));
    cfg
}

/// The Graceful Restart capability we advertise to `peer`, if graceful
/// restart is on for it. `restarting`: we are recovering from a restart
/// (the R bit, RFC 4724 §3: "set to 1 ... to indicate that the speaker has
/// restarted"). The F bit is set for every family: our routes stay in the
/// kernel across a restart of the daemon, so forwarding is preserved
/// whenever there is any to preserve. The N bit (RFC 8538 §2) is set, so
/// hold timer expiries and NOTIFICATIONs other than Hard Reset keep routes
/// too.
pub fn gr_capability(peer: &EffectivePeer, restarting: bool) -> Option<GracefulRestart> {
    let restart_time = peer.graceful_restart?;
    Some(GracefulRestart {
        restart_flag: restarting,
        notification_flag: true,
        restart_time: restart_time.min(4095),
        families: peer
            .families
            .iter()
            .map(|f| crate::wire::capability::GrFamily { family: afi_safi(*f), forwarding: true })
            .collect(),
    })
}

/// The Long-Lived Graceful Restart capability (RFC 9494 §3) we advertise
/// to `peer`: every family of the session with its long-lived stale time,
/// when that is not 0. Only beside the GR capability, which RFC 9494 §3
/// asks for (SHOULD) and without which a peer may ignore LLGR:
/// [`EffectivePeer::long_lived_stale_time`] is 0 without GR. A restart
/// time of 0 is allowed with it (RFC 9494): the peer then keeps our
/// routes as long-lived stale from the start. The F bit is set as in [`gr_capability`]:
/// our kernel routes outlive the daemon.
pub fn llgr_capability(peer: &EffectivePeer) -> Option<Vec<crate::wire::capability::LlgrFamily>> {
    let stale_time = peer.long_lived_stale_time.min(0x00ff_ffff);
    if peer.graceful_restart.is_none() || stale_time == 0 {
        return None;
    }
    Some(
        peer.families
            .iter()
            .map(|f| crate::wire::capability::LlgrFamily {
                family: afi_safi(*f),
                forwarding: true,
                stale_time,
            })
            .collect(),
    )
}
