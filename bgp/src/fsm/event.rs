//! FSM inputs: the events of RFC 4271 §8.1, by their RFC names and numbers.
//!
//! Event 29, SendHoldTimer_Expires, is RFC 9687's addition.
//!
//! Events 6 and 7 (AutomaticStart with DampPeerOscillations) are not separate
//! inputs: damping is always on, as the error wait (IdleHoldTimer) that Calico
//! configures on BIRD. Events 14 and 15 (TcpConnection_Valid, Tcp_CR_Invalid)
//! are the listener's business: it matches an incoming connection to a
//! configured peer before the FSM hears of it as event 17. Events 20 and 24 are
//! told apart from 19 and 25 by the FSM itself (it knows whether it armed the
//! DelayOpenTimer, and can read the NOTIFICATION code), so a driver cannot
//! misclassify them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::action::Timer;
use crate::wire::iana::{ErrorCode, OpenSubcode};
use crate::wire::{DecodeError, NotificationMsg, OpenMsg, ParsedMessage};

/// An input to [`super::Fsm::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// ManualStart (1): the operator (or the daemon, for a configured peer)
    /// starts the session.
    ManualStart,
    /// ManualStop (2): the operator stops the session; no automatic restart.
    ManualStop,
    /// AutomaticStart (3): start without operator action; ignored while an
    /// error wait is running.
    AutomaticStart,
    /// ManualStart_with_PassiveTcpEstablishment (4): start, but only listen.
    ManualStartWithPassiveTcpEstablishment,
    /// AutomaticStart_with_PassiveTcpEstablishment (5).
    AutomaticStartWithPassiveTcpEstablishment,
    /// AutomaticStop (8): the local system stops the session by itself (for
    /// example a maximum-prefix teardown), sending this Cease NOTIFICATION
    /// when an OPEN has been sent. Restarts after the error wait.
    AutomaticStop(NotificationMsg),
    /// ConnectRetryTimer_Expires (9).
    ConnectRetryTimerExpires,
    /// HoldTimer_Expires (10).
    HoldTimerExpires,
    /// KeepaliveTimer_Expires (11).
    KeepaliveTimerExpires,
    /// DelayOpenTimer_Expires (12).
    DelayOpenTimerExpires,
    /// IdleHoldTimer_Expires (13): the error wait is over.
    IdleHoldTimerExpires,
    /// Tcp_CR_Acked (16): our outgoing connection is up.
    TcpCrAcked,
    /// TcpConnectionConfirmed (17): an incoming connection from the peer is up.
    TcpConnectionConfirmed,
    /// TcpConnectionFails (18): the connection (or the attempt) failed or was
    /// closed by the peer.
    TcpConnectionFails,
    /// BGPOpen (19), or BGPOpen with DelayOpenTimer running (20): a decoded
    /// OPEN. The FSM runs the RFC 4271 §6.2 checks against its configuration.
    BgpOpen(OpenMsg),
    /// BGPHeaderErr (21): a message failed the header checks of RFC 4271 §6.1.
    BgpHeaderErr(DecodeError),
    /// BGPOpenMsgErr (22): an OPEN failed to decode.
    BgpOpenMsgErr(DecodeError),
    /// OpenCollisionDump (23): collision resolution (RFC 4271 §6.8) chose to
    /// close this connection.
    OpenCollisionDump,
    /// NotifMsg (25), or NotifMsgVerErr (24) when the NOTIFICATION is OPEN
    /// Message Error / Unsupported Version Number.
    NotifMsg(NotificationMsg),
    /// KeepAliveMsg (26).
    KeepAliveMsg,
    /// UpdateMsg (27): a well-formed UPDATE (or one RFC 7606 treats without a
    /// reset). The driver hands it to the RIB only if the FSM is Established
    /// after handling this event.
    UpdateMsg,
    /// UpdateMsgErr (28): an UPDATE whose defect resets the session.
    UpdateMsgErr(DecodeError),
    /// A ROUTE-REFRESH message (RFC 2918 §3; not an RFC 4271 event). Handled
    /// as UpdateMsg: it restarts the HoldTimer in Established and is an FSM
    /// error before.
    RouteRefreshMsg,
    /// SendHoldTimer_Expires (29, RFC 9687): nothing we had to send
    /// has gone out for the SendHoldTime ([`super::send_hold`]).
    SendHoldTimerExpires,
}

/// The name of an [`Event`] without its data: for logs and for the reason of
/// a state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs, reason = "one per Event variant, documented there")]
pub enum EventKind {
    ManualStart,
    ManualStop,
    AutomaticStart,
    ManualStartWithPassiveTcpEstablishment,
    AutomaticStartWithPassiveTcpEstablishment,
    AutomaticStop,
    ConnectRetryTimerExpires,
    HoldTimerExpires,
    KeepaliveTimerExpires,
    DelayOpenTimerExpires,
    IdleHoldTimerExpires,
    TcpCrAcked,
    TcpConnectionConfirmed,
    TcpConnectionFails,
    BgpOpen,
    BgpHeaderErr,
    BgpOpenMsgErr,
    OpenCollisionDump,
    NotifMsg,
    KeepAliveMsg,
    UpdateMsg,
    UpdateMsgErr,
    RouteRefreshMsg,
    SendHoldTimerExpires,
}

impl EventKind {
    /// The RFC 4271 §8.1 event number (0 for ROUTE-REFRESH, which has none).
    pub fn number(self) -> u8 {
        use EventKind::*;
        match self {
            ManualStart => 1,
            ManualStop => 2,
            AutomaticStart => 3,
            ManualStartWithPassiveTcpEstablishment => 4,
            AutomaticStartWithPassiveTcpEstablishment => 5,
            AutomaticStop => 8,
            ConnectRetryTimerExpires => 9,
            HoldTimerExpires => 10,
            KeepaliveTimerExpires => 11,
            DelayOpenTimerExpires => 12,
            IdleHoldTimerExpires => 13,
            TcpCrAcked => 16,
            TcpConnectionConfirmed => 17,
            TcpConnectionFails => 18,
            BgpOpen => 19,
            BgpHeaderErr => 21,
            BgpOpenMsgErr => 22,
            OpenCollisionDump => 23,
            NotifMsg => 25,
            KeepAliveMsg => 26,
            UpdateMsg => 27,
            UpdateMsgErr => 28,
            RouteRefreshMsg => 0,
            SendHoldTimerExpires => 29,
        }
    }

    /// The RFC 4271 §8.1 name.
    pub fn name(self) -> &'static str {
        use EventKind::*;
        match self {
            ManualStart => "ManualStart",
            ManualStop => "ManualStop",
            AutomaticStart => "AutomaticStart",
            ManualStartWithPassiveTcpEstablishment => "ManualStart_with_PassiveTcpEstablishment",
            AutomaticStartWithPassiveTcpEstablishment => {
                "AutomaticStart_with_PassiveTcpEstablishment"
            }
            AutomaticStop => "AutomaticStop",
            ConnectRetryTimerExpires => "ConnectRetryTimer_Expires",
            HoldTimerExpires => "HoldTimer_Expires",
            KeepaliveTimerExpires => "KeepaliveTimer_Expires",
            DelayOpenTimerExpires => "DelayOpenTimer_Expires",
            IdleHoldTimerExpires => "IdleHoldTimer_Expires",
            TcpCrAcked => "Tcp_CR_Acked",
            TcpConnectionConfirmed => "TcpConnectionConfirmed",
            TcpConnectionFails => "TcpConnectionFails",
            BgpOpen => "BGPOpen",
            BgpHeaderErr => "BGPHeaderErr",
            BgpOpenMsgErr => "BGPOpenMsgErr",
            OpenCollisionDump => "OpenCollisionDump",
            NotifMsg => "NotifMsg",
            KeepAliveMsg => "KeepAliveMsg",
            UpdateMsg => "UpdateMsg",
            UpdateMsgErr => "UpdateMsgErr",
            RouteRefreshMsg => "RouteRefreshMsg",
            SendHoldTimerExpires => "SendHoldTimer_Expires",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number() {
            0 => f.write_str(self.name()),
            n => write!(f, "{} ({n})", self.name()),
        }
    }
}

impl Event {
    /// The event's name without its data.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::ManualStart => EventKind::ManualStart,
            Event::ManualStop => EventKind::ManualStop,
            Event::AutomaticStart => EventKind::AutomaticStart,
            Event::ManualStartWithPassiveTcpEstablishment => {
                EventKind::ManualStartWithPassiveTcpEstablishment
            }
            Event::AutomaticStartWithPassiveTcpEstablishment => {
                EventKind::AutomaticStartWithPassiveTcpEstablishment
            }
            Event::AutomaticStop(_) => EventKind::AutomaticStop,
            Event::ConnectRetryTimerExpires => EventKind::ConnectRetryTimerExpires,
            Event::HoldTimerExpires => EventKind::HoldTimerExpires,
            Event::KeepaliveTimerExpires => EventKind::KeepaliveTimerExpires,
            Event::DelayOpenTimerExpires => EventKind::DelayOpenTimerExpires,
            Event::IdleHoldTimerExpires => EventKind::IdleHoldTimerExpires,
            Event::TcpCrAcked => EventKind::TcpCrAcked,
            Event::TcpConnectionConfirmed => EventKind::TcpConnectionConfirmed,
            Event::TcpConnectionFails => EventKind::TcpConnectionFails,
            Event::BgpOpen(_) => EventKind::BgpOpen,
            Event::BgpHeaderErr(_) => EventKind::BgpHeaderErr,
            Event::BgpOpenMsgErr(_) => EventKind::BgpOpenMsgErr,
            Event::OpenCollisionDump => EventKind::OpenCollisionDump,
            Event::NotifMsg(_) => EventKind::NotifMsg,
            Event::KeepAliveMsg => EventKind::KeepAliveMsg,
            Event::UpdateMsg => EventKind::UpdateMsg,
            Event::UpdateMsgErr(_) => EventKind::UpdateMsgErr,
            Event::RouteRefreshMsg => EventKind::RouteRefreshMsg,
            Event::SendHoldTimerExpires => EventKind::SendHoldTimerExpires,
        }
    }

    /// The expiry event of `timer`.
    pub fn expired(timer: Timer) -> Event {
        match timer {
            Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
            Timer::Hold => Event::HoldTimerExpires,
            Timer::Keepalive => Event::KeepaliveTimerExpires,
            Timer::DelayOpen => Event::DelayOpenTimerExpires,
            Timer::IdleHold => Event::IdleHoldTimerExpires,
        }
    }

    /// The timer whose expiry this event is, if it is one.
    pub fn timer(&self) -> Option<Timer> {
        match self {
            Event::ConnectRetryTimerExpires => Some(Timer::ConnectRetry),
            Event::HoldTimerExpires => Some(Timer::Hold),
            Event::KeepaliveTimerExpires => Some(Timer::Keepalive),
            Event::DelayOpenTimerExpires => Some(Timer::DelayOpen),
            Event::IdleHoldTimerExpires => Some(Timer::IdleHold),
            _ => None,
        }
    }

    /// The event for a message the codec decoded (events 19, 25-27).
    pub fn from_message(msg: ParsedMessage) -> Event {
        match msg {
            ParsedMessage::Open(open) => Event::BgpOpen(open),
            ParsedMessage::Update(_) => Event::UpdateMsg,
            ParsedMessage::Notification(n) => Event::NotifMsg(n),
            ParsedMessage::Keepalive => Event::KeepAliveMsg,
            ParsedMessage::RouteRefresh(_) => Event::RouteRefreshMsg,
        }
    }

    /// The event for a message the codec refused (events 21, 22, 28), chosen
    /// by the error code of the NOTIFICATION it asks for. A ROUTE-REFRESH
    /// error counts as event 28: an error in a message that only Established
    /// accepts.
    pub fn from_decode_error(err: DecodeError) -> Event {
        match err.notification.code {
            ErrorCode::MESSAGE_HEADER => Event::BgpHeaderErr(err),
            ErrorCode::OPEN_MESSAGE => Event::BgpOpenMsgErr(err),
            _ => Event::UpdateMsgErr(err),
        }
    }

    /// Whether this is NotifMsgVerErr (24): "An event is generated when a
    /// NOTIFICATION message with "version error" is received."
    pub fn is_version_error(&self) -> bool {
        matches!(self, Event::NotifMsg(n)
            if n.code == ErrorCode::OPEN_MESSAGE
                && n.subcode == OpenSubcode::UNSUPPORTED_VERSION_NUMBER.0)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn event_kinds_print_rfc_name_and_number() {
        assert_eq!(EventKind::TcpCrAcked.to_string(), "Tcp_CR_Acked (16)");
        assert_eq!(Event::UpdateMsg.kind().to_string(), "UpdateMsg (27)");
        assert_eq!(EventKind::RouteRefreshMsg.to_string(), "RouteRefreshMsg");
        assert_eq!(Event::SendHoldTimerExpires.kind().to_string(), "SendHoldTimer_Expires (29)");
    }

    #[test]
    fn timer_expiry_events_map_back_to_their_timer() {
        for t in Timer::ALL {
            assert_eq!(Event::expired(t).timer(), Some(t));
        }
        assert_eq!(Event::KeepAliveMsg.timer(), None);
    }

    #[test]
    fn decode_errors_map_to_events_by_error_code() {
        use crate::wire::iana::{HeaderSubcode, UpdateSubcode};
        let h = DecodeError::new(
            NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_TYPE, Bytes::new()),
            "",
        );
        assert_eq!(Event::from_decode_error(h.clone()), Event::BgpHeaderErr(h));
        let o = DecodeError::new(NotificationMsg::open(OpenSubcode::UNSPECIFIC, Bytes::new()), "");
        assert_eq!(Event::from_decode_error(o.clone()), Event::BgpOpenMsgErr(o));
        let u = DecodeError::new(
            NotificationMsg::update(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, Bytes::new()),
            "",
        );
        assert_eq!(Event::from_decode_error(u.clone()), Event::UpdateMsgErr(u));
    }

    #[test]
    fn version_error_notification_is_event_24() {
        let v = NotificationMsg::open(OpenSubcode::UNSUPPORTED_VERSION_NUMBER, vec![0, 4]);
        assert!(Event::NotifMsg(v).is_version_error());
        assert!(!Event::NotifMsg(NotificationMsg::hold_timer_expired()).is_version_error());
    }
}
