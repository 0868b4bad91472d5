//! Counters and timer deadlines a session task shares with the owner, for
//! `calico-bgpctl show peer` and the metrics.
//!
//! ```text
//!   session task --fetch_add / store (Relaxed)--> SessionStats <--load-- owner (snapshot)
//! ```
//!
//! Atomics rather than reports: a KEEPALIVE every few seconds per peer would
//! otherwise become an owner wake-up, and the owner only needs the values
//! when it takes a snapshot. Each value is read on its own; a snapshot may
//! see one counter a message ahead of another, which no reader relies on.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::wire::iana::MessageType;

/// Message counters of one direction, indexed by [`MessageType`].
#[derive(Debug, Default)]
pub struct Counts {
    open: AtomicU64,
    update: AtomicU64,
    notification: AtomicU64,
    keepalive: AtomicU64,
    route_refresh: AtomicU64,
}

impl Counts {
    /// Unknown types (refused by the header check) have no counter.
    fn slot(&self, t: MessageType) -> Option<&AtomicU64> {
        match t {
            MessageType::OPEN => Some(&self.open),
            MessageType::UPDATE => Some(&self.update),
            MessageType::NOTIFICATION => Some(&self.notification),
            MessageType::KEEPALIVE => Some(&self.keepalive),
            MessageType::ROUTE_REFRESH => Some(&self.route_refresh),
            _ => None,
        }
    }

    /// Counts one message.
    pub fn add(&self, t: MessageType) {
        self.add_n(t, 1);
    }

    /// Counts `n` messages of one type.
    pub fn add_n(&self, t: MessageType, n: u64) {
        if let Some(c) = self.slot(t) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts a whole frame by the type octet of its header (RFC 4271 §4.1:
    /// marker 16, length 2, then the type).
    pub fn add_frame(&self, frame: &[u8]) {
        if let Some(t) = frame.get(18) {
            self.add(MessageType(*t));
        }
    }

    /// The current value for one type (0 for unknown types).
    pub fn get(&self, t: MessageType) -> u64 {
        self.slot(t).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// What a session publishes about itself.
#[derive(Debug)]
pub struct SessionStats {
    /// Messages decoded from the peer (malformed ones included once their
    /// header was valid).
    pub received: Counts,
    /// Messages handed to the writer.
    pub sent: Counts,
    origin: Instant,
    /// Hold timer deadline, in ms after `origin` plus one (0: not running).
    hold: AtomicU64,
    /// Keepalive timer deadline, same encoding.
    keepalive: AtomicU64,
    /// The last dial failure (`Connection refused`), for BIRD's
    /// `Socket: ...` error class; short critical sections only.
    socket_error: Mutex<Option<String>>,
}

impl Default for SessionStats {
    fn default() -> Self {
        SessionStats {
            received: Counts::default(),
            sent: Counts::default(),
            origin: Instant::now(),
            hold: AtomicU64::new(0),
            keepalive: AtomicU64::new(0),
            socket_error: Mutex::new(None),
        }
    }
}

/// The timers the owner shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShownTimer {
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
}

impl SessionStats {
    fn cell(&self, t: ShownTimer) -> &AtomicU64 {
        match t {
            ShownTimer::Hold => &self.hold,
            ShownTimer::Keepalive => &self.keepalive,
        }
    }

    /// Records that `t` now fires at `deadline` (`None`: stopped).
    pub fn set_timer(&self, t: ShownTimer, deadline: Option<Instant>) {
        let v = deadline.map_or(0, |d| {
            let ms = d.saturating_duration_since(self.origin).as_millis();
            u64::try_from(ms).unwrap_or(u64::MAX - 1).saturating_add(1)
        });
        self.cell(t).store(v, Ordering::Relaxed);
    }

    /// Time left on `t`, or `None` when it is not running.
    pub fn timer_left(&self, t: ShownTimer) -> Option<Duration> {
        match self.cell(t).load(Ordering::Relaxed) {
            0 => None,
            v => {
                let deadline = self.origin + Duration::from_millis(v - 1);
                Some(deadline.saturating_duration_since(Instant::now()))
            }
        }
    }

    /// Remembers the last dial failure; `None` clears it (connected).
    pub fn set_socket_error(&self, e: Option<String>) {
        if let Ok(mut g) = self.socket_error.lock() {
            *g = e;
        }
    }

    /// The last dial failure, if the last dial failed.
    pub fn socket_error(&self) -> Option<String> {
        self.socket_error.lock().ok().and_then(|g| g.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_kept_per_message_type() {
        let s = SessionStats::default();
        s.received.add(MessageType::KEEPALIVE);
        s.received.add(MessageType::KEEPALIVE);
        s.sent.add_n(MessageType::UPDATE, 3);
        assert_eq!(s.received.get(MessageType::KEEPALIVE), 2);
        assert_eq!(s.received.get(MessageType::UPDATE), 0);
        assert_eq!(s.sent.get(MessageType::UPDATE), 3);
    }

    #[test]
    fn frames_are_counted_by_their_header_type_and_runts_ignored() {
        let s = SessionStats::default();
        let mut keepalive = vec![0xff; 16];
        keepalive.extend([0, 19, 4]);
        s.received.add_frame(&keepalive);
        s.received.add_frame(&[0xff; 10]);
        let mut unknown = keepalive.clone();
        unknown[18] = 9;
        s.received.add_frame(&unknown);
        assert_eq!(s.received.get(MessageType::KEEPALIVE), 1);
        assert_eq!(s.received.get(MessageType(9)), 0);
    }

    #[test]
    fn stopped_timer_has_no_time_left() {
        let s = SessionStats::default();
        assert_eq!(s.timer_left(ShownTimer::Hold), None);
        s.set_timer(ShownTimer::Hold, Some(Instant::now() + Duration::from_secs(90)));
        let left = s.timer_left(ShownTimer::Hold).unwrap();
        assert!(left > Duration::from_secs(88) && left <= Duration::from_secs(90), "{left:?}");
        s.set_timer(ShownTimer::Hold, None);
        assert_eq!(s.timer_left(ShownTimer::Hold), None);
    }

    #[test]
    fn a_timer_at_the_origin_still_counts_as_running() {
        let s = SessionStats::default();
        s.set_timer(ShownTimer::Keepalive, Some(s.origin));
        assert_eq!(s.timer_left(ShownTimer::Keepalive), Some(Duration::ZERO));
    }

    #[test]
    fn socket_error_is_remembered_until_cleared() {
        let s = SessionStats::default();
        s.set_socket_error(Some("Connection refused".into()));
        assert_eq!(s.socket_error().as_deref(), Some("Connection refused"));
        s.set_socket_error(None);
        assert_eq!(s.socket_error(), None);
    }
}
