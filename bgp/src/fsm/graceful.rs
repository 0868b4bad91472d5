//! Which session ends are graceful restarts: RFC 4724 §4.2 (a TCP failure
//! with the Graceful Restart capability exchanged) and RFC 8538 §4 (with the
//! N bit exchanged, a NOTIFICATION sent or received too, except Cease/Hard
//! Reset), plus the Hard Reset encapsulation of RFC 8538 §3.
//!
//! ```text
//!   Hard Reset NOTIFICATION (RFC 8538 §3)
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Code 6 (Cease)| Subcode 9 (HR)| ErrCode       | Subcode       |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |  Data of the encapsulated NOTIFICATION (variable)             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Decision table for a session leaving Established (`GR`: both OPENs
//! carried the Graceful Restart capability; `N`: both set its N bit):
//!
//! ```text
//!   how it ended                               graceful when
//!   -----------------------------------------  -------------
//!   TCP connection failed or closed            GR
//!   NOTIFICATION received, not Hard Reset      GR and N
//!   NOTIFICATION received: Cease/Hard Reset    never
//!   error found by us (hold timer, UPDATE...)  GR and N
//!   Cease sent, subcode 1-3 (sent as HR)       never
//!   ManualStop (Administrative Shutdown)       never
//!   Cease sent, other subcodes                 GR and N
//! ```

use bytes::{BufMut, BytesMut};

use super::action::Reason;
use super::event::EventKind;
use crate::wire::iana::{CeaseSubcode, ErrorCode};
use crate::wire::{Negotiated, NotificationMsg, OpenMsg};

/// What graceful restart the two OPENs of a session agreed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrAgreement {
    /// Both sides advertised the Graceful Restart capability (RFC 4724 §3).
    pub graceful_restart: bool,
    /// Both set the N bit (RFC 8538 §2): NOTIFICATIONs other than Hard
    /// Reset are graceful too.
    pub notification: bool,
}

impl GrAgreement {
    /// The agreement between the OPEN we sent and what was negotiated.
    pub fn new(local: &OpenMsg, negotiated: &Negotiated) -> Self {
        let ours = local.graceful_restart();
        let theirs = negotiated.peer_graceful_restart.as_ref();
        let graceful_restart = ours.is_some() && theirs.is_some();
        // RFC 8538 §2: "the N bit ... if set, indicates that the speaker
        // supports Graceful Restart for BGP NOTIFICATION messages"; both
        // must have said so for §4 to apply.
        let notification = graceful_restart
            && ours.is_some_and(|g| g.notification_flag)
            && theirs.is_some_and(|g| g.notification_flag);
        GrAgreement { graceful_restart, notification }
    }

    /// Whether a session that ended for `reason` is a graceful restart.
    pub fn is_graceful(self, reason: &Reason) -> bool {
        if !self.graceful_restart {
            return false;
        }
        match reason {
            // RFC 4724 §4.2: "When the Receiving Speaker detects
            // termination of the TCP session for a BGP session with a peer
            // that has advertised the Graceful Restart Capability".
            Reason::Event(EventKind::TcpConnectionFails) => true,
            Reason::Event(_) | Reason::TakeOver(_) => false,
            // RFC 8538 §4: "MUST follow the rules for the Receiving Speaker
            // ... when ... sends or receives a BGP NOTIFICATION message
            // other than Cease/Hard Reset".
            Reason::Notification(n) => self.notification && !is_hard_reset(n),
            Reason::Error(e) => self.notification && !is_hard_reset(&e.notification),
            Reason::Stop(n) => self.notification && !wants_hard_reset(n),
        }
    }

    /// The NOTIFICATION actually sent in place of `n`: with the N bit,
    /// a Cease whose subcode calls for it goes out as Hard Reset wrapping
    /// it (RFC 8538 §3: "the speaker MUST send a Hard Reset ... the
    /// encapsulated error code and subcode").
    pub fn outgoing(self, n: NotificationMsg) -> NotificationMsg {
        if self.notification && wants_hard_reset(&n) { hard_reset(&n) } else { n }
    }
}

/// Whether `n` is Cease/Hard Reset (RFC 8538 §3).
pub fn is_hard_reset(n: &NotificationMsg) -> bool {
    n.code == ErrorCode::CEASE && n.subcode == CeaseSubcode::HARD_RESET.0
}

/// Whether a Cease we send must be a Hard Reset: RFC 8538 §5 suggests Hard
/// Reset for Maximum Number of Prefixes Reached, Administrative Shutdown
/// and Peer De-configured (an operator's intent to drop the routes);
/// Administrative Reset is "provider determines" and stays graceful here,
/// so a restart of the daemon can keep forwarding.
pub fn wants_hard_reset(n: &NotificationMsg) -> bool {
    n.code == ErrorCode::CEASE
        && [
            CeaseSubcode::MAXIMUM_PREFIXES_REACHED,
            CeaseSubcode::ADMINISTRATIVE_SHUTDOWN,
            CeaseSubcode::PEER_DECONFIGURED,
            CeaseSubcode::HARD_RESET,
        ]
        .iter()
        .any(|s| s.0 == n.subcode)
}

/// Cease/Hard Reset encapsulating `inner` (RFC 8538 §3); a Hard Reset is
/// returned unchanged.
pub fn hard_reset(inner: &NotificationMsg) -> NotificationMsg {
    if is_hard_reset(inner) {
        return inner.clone();
    }
    let mut data = BytesMut::with_capacity(2 + inner.data.len());
    data.put_u8(inner.code.0);
    data.put_u8(inner.subcode);
    data.put_slice(&inner.data);
    NotificationMsg::cease(CeaseSubcode::HARD_RESET, data.freeze())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::fsm::Direction;
    use crate::wire::DecodeError;

    const GR: GrAgreement = GrAgreement { graceful_restart: true, notification: false };
    const GRN: GrAgreement = GrAgreement { graceful_restart: true, notification: true };

    fn shutdown() -> NotificationMsg {
        NotificationMsg::cease(CeaseSubcode::ADMINISTRATIVE_SHUTDOWN, Bytes::new())
    }

    #[test]
    fn hard_reset_encapsulates_code_subcode_and_data() {
        let inner = NotificationMsg::cease(
            CeaseSubcode::ADMINISTRATIVE_SHUTDOWN,
            Bytes::from_static(b"\x03bye"),
        );
        let hr = hard_reset(&inner);
        assert_eq!((hr.code, hr.subcode), (ErrorCode::CEASE, 9));
        assert_eq!(&hr.data[..], b"\x06\x02\x03bye");
        assert_eq!(hard_reset(&hr), hr, "not wrapped twice");
    }

    #[test]
    fn tcp_failure_is_graceful_with_the_capability_alone() {
        let r = Reason::Event(EventKind::TcpConnectionFails);
        assert!(GR.is_graceful(&r));
        assert!(!GrAgreement::default().is_graceful(&r));
    }

    #[test]
    fn notifications_are_graceful_only_with_the_n_bit() {
        let hold = Reason::Error(DecodeError::new(NotificationMsg::hold_timer_expired(), ""));
        assert!(!GR.is_graceful(&hold));
        assert!(GRN.is_graceful(&hold));
        let rx = Reason::Notification(NotificationMsg::hold_timer_expired());
        assert!(!GR.is_graceful(&rx) && GRN.is_graceful(&rx));
    }

    #[test]
    fn received_hard_reset_is_never_graceful() {
        let r = Reason::Notification(hard_reset(&shutdown()));
        assert!(!GRN.is_graceful(&r));
    }

    #[test]
    fn operator_shutdown_goes_out_as_hard_reset_with_n_bit() {
        assert!(!GRN.is_graceful(&Reason::Stop(shutdown())));
        assert!(is_hard_reset(&GRN.outgoing(shutdown())));
        assert_eq!(GR.outgoing(shutdown()), shutdown(), "no Hard Reset without the N bit");
        let reset = NotificationMsg::cease(CeaseSubcode::ADMINISTRATIVE_RESET, Bytes::new());
        assert!(GRN.is_graceful(&Reason::Stop(reset.clone())));
        assert_eq!(GRN.outgoing(reset.clone()), reset);
    }

    #[test]
    fn collision_is_not_a_session_end() {
        assert!(!GRN.is_graceful(&Reason::TakeOver(Direction::Inbound)));
    }
}
