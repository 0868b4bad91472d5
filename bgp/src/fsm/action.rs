//! FSM outputs: what the driver must do, and the signals for the RIB and logs.
//!
//! [`super::Fsm::handle`] returns its actions in one canonical order, so tests
//! can compare whole lists and the driver can apply them front to back:
//!
//! ```text
//! Send*  ->  Disconnect  ->  StopTimer*  ->  StartTimer*  ->  Connect
//!        ->  StateChange  ->  Established | SessionDown
//! ```
//!
//! Messages go out before the connection is closed (a NOTIFICATION must reach
//! the peer), timers are settled before a new connection is dialed, and the
//! RIB hears of a session only after the log line for its state change.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::state::State;
use crate::wire::{DecodeError, Message, Negotiated, NotificationMsg};

use super::event::EventKind;

/// The five timers of RFC 4271 §8 (IdleHold being the optional one of §8.1.1,
/// here always used, as the error wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// ConnectRetryTimer: connect delay before the first dial, then the
    /// interval between dials.
    ConnectRetry,
    /// HoldTimer: the peer must send something within this time.
    Hold,
    /// KeepaliveTimer: when we next send a KEEPALIVE.
    Keepalive,
    /// DelayOpenTimer (RFC 4271 §8.1.1): how long to wait for the peer's OPEN
    /// before sending ours.
    DelayOpen,
    /// IdleHoldTimer: the error wait before an automatic restart.
    IdleHold,
}

impl Timer {
    /// Every timer, in the order StopTimer actions are emitted.
    pub const ALL: [Timer; 5] =
        [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive, Timer::DelayOpen, Timer::IdleHold];

    /// Whether the timer belongs to one connection (Hold, Keepalive,
    /// DelayOpen) rather than to the peer (ConnectRetry, IdleHold).
    pub fn per_connection(self) -> bool {
        matches!(self, Timer::Hold | Timer::Keepalive | Timer::DelayOpen)
    }
}

/// Which side opened a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// We dialed the peer (Tcp_CR_Acked).
    Outbound,
    /// The peer dialed us (TcpConnectionConfirmed).
    Inbound,
}

/// Why the state changed or the session went down. The session reports it
/// to the owner as it is, so `show peer` classes the last error from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// The event itself explains it (a start, a timer, TCP coming up or
    /// failing, an OPEN or KEEPALIVE received).
    Event(EventKind),
    /// Stopped locally (ManualStop, AutomaticStop), with the Cease sent or,
    /// before our OPEN went out, the one that would have been.
    Stop(NotificationMsg),
    /// An error we found; its NOTIFICATION was sent if our OPEN had been.
    Error(DecodeError),
    /// The peer's NOTIFICATION.
    Notification(NotificationMsg),
    /// Connection collision (RFC 4271 §6.8): the session carries on over the
    /// other connection, which this direction names.
    TakeOver(Direction),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Event(kind) => write!(f, "{kind}"),
            Reason::Stop(n) => write!(f, "stopped ({n})"),
            Reason::Error(e) => write!(f, "sent {e}"),
            Reason::Notification(n) => write!(f, "received {n}"),
            Reason::TakeOver(d) => write!(f, "collision: continuing on the {d:?} connection"),
        }
    }
}

/// One thing for the driver to do, or a signal for the RIB and the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "Message dominates; actions are few per event and consumed at once"
)]
pub enum Action {
    /// Dial the peer. Completion comes back as Tcp_CR_Acked, failure as
    /// TcpConnectionFails.
    Connect,
    /// Close the connection, or give up the dial in progress.
    Disconnect,
    /// Send a message on the connection.
    Send(Message),
    /// (Re)start a timer; its expiry comes back as the matching event.
    StartTimer(Timer, Duration),
    /// Stop a running timer.
    StopTimer(Timer),
    /// The FSM moved between states; one log line.
    StateChange {
        /// State before the event.
        from: State,
        /// State after the event.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// The session is up with what both sides agreed: the RIB may send and
    /// accept routes.
    Established(Box<Negotiated>),
    /// The session left Established: the RIB withdraws the peer's routes,
    /// or keeps them stale when [`Down::graceful`] says so.
    SessionDown(Down),
}

/// How a session left Established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// Why.
    pub reason: Reason,
    /// A graceful restart event (RFC 4724 §4.2, RFC 8538 §4): the peer's
    /// routes are kept stale instead of withdrawn. See
    /// [`super::graceful::GrAgreement::is_graceful`].
    pub graceful: bool,
}

impl fmt::Display for Down {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.graceful {
            write!(f, "{} (graceful restart)", self.reason)
        } else {
            fmt::Display::fmt(&self.reason, f)
        }
    }
}
