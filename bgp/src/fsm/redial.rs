//! When a peer dials again after it lost a session or a dial, as pure
//! decisions over the session's end and the configured timers.
//!
//! A session that was Established and ended because the peer went away
//! starts again at once, without the error wait: the peer is most likely
//! restarting, and a receiving speaker keeps its routes stale only until
//! it is back (RFC 4724 §4.2), so every second spent idle is a second of
//! stale routes. The error wait is kept for what it is for: sessions that
//! fail before they come up, and errors in what the peer sent (BIRD's
//! `error wait time` grows only on protocol errors, never on a lost
//! connection).
//!
//! ```text
//!   how the session ended                         restart
//!   --------------------------------------------  ------------------------
//!   never Established                             after the error wait
//!   Established: TCP connection failed or closed  at once
//!   Established: our hold timer expired           at once
//!   Established: the peer sent a Cease            at once
//!   Established: other NOTIFICATION received      after the error wait
//!   Established: any other error we found         after the error wait
//!   stopped (max prefix, operator)                as the stop says
//! ```
//!
//! "At once" means: dial without the connect delay (a passive session
//! listens again), and, while the peer is awaited, retry a failed dial
//! after the connect delay (at least 1 s, BIRD's floor) instead of the
//! ConnectRetry time: a restarting peer's host answers a dial with a reset
//! until its speaker listens again, which takes seconds, and BIRD retries
//! such a dial after its connect delay too. The peer stays awaited until
//! the session is Established again or the operator stops it. A restarting
//! speaker (our R bit set, RFC 4724 §4.1) awaits every peer from its start:
//! the peers hold its routes and wait for it.

use std::time::Duration;

use super::action::Reason;
use super::config::PeerConfig;
use super::event::EventKind;
use crate::wire::iana::ErrorCode;

/// The shortest retry of an awaited peer's dial (BIRD's connect delay floor).
const MIN_RETRY: Duration = Duration::from_secs(1);

/// How a session that ended starts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Restart {
    /// At once, awaiting the peer.
    Now,
    /// After the error wait (the IdleHold timer).
    AfterErrorWait,
}

/// How a session that ended for `reason` restarts; `was_established`:
/// it was Established when it ended.
pub(crate) fn restart_after(was_established: bool, reason: &Reason) -> Restart {
    if !was_established {
        return Restart::AfterErrorWait;
    }
    let peer_went_away = match reason {
        Reason::Event(EventKind::TcpConnectionFails) => true,
        Reason::Error(e) => e.notification.code == ErrorCode::HOLD_TIMER_EXPIRED,
        Reason::Notification(n) => n.code == ErrorCode::CEASE,
        Reason::Event(_) | Reason::Stop(_) | Reason::TakeOver(_) => false,
    };
    if peer_went_away { Restart::Now } else { Restart::AfterErrorWait }
}

/// The wait before the first dial of a start: none while the peer is
/// awaited, else the connect delay.
pub(crate) fn first_dial(cfg: &PeerConfig, awaited: bool) -> Duration {
    if awaited { Duration::ZERO } else { cfg.connect_delay }
}

/// The wait before dialing again after a dial failed.
pub(crate) fn retry_after_failed_dial(cfg: &PeerConfig, awaited: bool) -> Duration {
    if awaited {
        cfg.connect_delay.max(MIN_RETRY).min(cfg.connect_retry)
    } else {
        cfg.connect_retry
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::fsm::transitions::{fsm_error, hold_timer_expired};
    use crate::fsm::{PeerConfig, State};
    use crate::wire::NotificationMsg;

    fn cfg(connect_delay: u64, connect_retry: u64) -> PeerConfig {
        let mut c = PeerConfig::new(64512, 64512, Ipv4Addr::new(10, 0, 0, 1));
        c.connect_delay = Duration::from_secs(connect_delay);
        c.connect_retry = Duration::from_secs(connect_retry);
        c
    }

    #[test]
    fn an_established_session_the_peer_left_restarts_at_once() {
        let cease = NotificationMsg::admin_reset("restarting");
        let update_error = NotificationMsg::new(ErrorCode::UPDATE_MESSAGE, 3, Vec::new());
        let table: [(bool, Reason, Restart); 10] = [
            (true, Reason::Event(EventKind::TcpConnectionFails), Restart::Now),
            (true, Reason::Error(hold_timer_expired()), Restart::Now),
            (true, Reason::Notification(cease.clone()), Restart::Now),
            (true, Reason::Notification(update_error.clone()), Restart::AfterErrorWait),
            (
                true,
                Reason::Error(fsm_error(State::Established, EventKind::BgpOpen)),
                Restart::AfterErrorWait,
            ),
            (true, Reason::Stop(cease.clone()), Restart::AfterErrorWait),
            (true, Reason::Event(EventKind::KeepAliveMsg), Restart::AfterErrorWait),
            // A session that never came up is flapping or refused: error wait.
            (false, Reason::Event(EventKind::TcpConnectionFails), Restart::AfterErrorWait),
            (false, Reason::Error(hold_timer_expired()), Restart::AfterErrorWait),
            (false, Reason::Notification(cease), Restart::AfterErrorWait),
        ];
        for (established, reason, want) in table {
            assert_eq!(restart_after(established, &reason), want, "{established} {reason}");
        }
    }

    #[test]
    fn an_awaited_peer_is_dialed_at_once_and_retried_after_the_connect_delay() {
        // Calico's timers: connect delay 2 s, connect retry 5 s.
        let c = cfg(2, 5);
        assert_eq!(first_dial(&c, true), Duration::ZERO);
        assert_eq!(first_dial(&c, false), Duration::from_secs(2));
        assert_eq!(retry_after_failed_dial(&c, true), Duration::from_secs(2));
        assert_eq!(retry_after_failed_dial(&c, false), Duration::from_secs(5));
    }

    #[test]
    fn an_awaited_retry_is_at_least_a_second_and_never_beyond_the_connect_retry_time() {
        assert_eq!(retry_after_failed_dial(&cfg(0, 5), true), Duration::from_secs(1));
        assert_eq!(retry_after_failed_dial(&cfg(10, 3), true), Duration::from_secs(3));
    }
}
