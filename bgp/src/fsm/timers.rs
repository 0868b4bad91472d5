//! Time as the FSM sees it: a caller-chosen clock value passed in with each
//! event, the set of timers it has armed, and the error-wait backoff.
//!
//! The FSM never reads a clock. A timer runs in the driver from `StartTimer`
//! until `StopTimer` or expiry; the FSM remembers which ones it armed so that
//! an expiry that raced with a stop (already queued when the stop was issued)
//! is recognised as stale and ignored, instead of being taken for the RFC's
//! "unexpected event" and resetting a healthy session.

use std::time::Duration;

use super::action::Timer;

/// Milliseconds since an epoch the caller chooses (process start, say); only
/// differences between two values are used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Millis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self` plus `d` (saturating).
    pub fn after(self, d: Duration) -> Millis {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Millis(self.0.saturating_add(ms))
    }
}

/// The timers currently armed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerSet(u8);

impl TimerSet {
    fn bit(t: Timer) -> u8 {
        1 << (t as u8)
    }

    pub(crate) fn contains(self, t: Timer) -> bool {
        self.0 & Self::bit(t) != 0
    }

    pub(crate) fn insert(&mut self, t: Timer) {
        self.0 |= Self::bit(t);
    }

    pub(crate) fn remove(&mut self, t: Timer) {
        self.0 &= !Self::bit(t);
    }
}

/// BIRD's error wait: after an error the peer stays Idle for `min`, then
/// twice as long after each further error, up to `max`; an error more than
/// `forget` after the previous one starts again from `min`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorWait {
    current: Option<Duration>,
    last_error: Option<Millis>,
}

impl ErrorWait {
    /// Records an error at `now` and returns how long to wait.
    pub(crate) fn bump(
        &mut self,
        now: Millis,
        min: Duration,
        max: Duration,
        forget: Duration,
    ) -> Duration {
        if self.last_error.is_some_and(|last| now.since(last) >= forget) {
            self.current = None;
        }
        self.last_error = Some(now);
        let next = match self.current {
            None => min,
            Some(c) => c.saturating_mul(2).min(max).max(min),
        };
        self.current = Some(next);
        next
    }

    /// The wait the last error gave, if any.
    pub(crate) fn current(self) -> Option<Duration> {
        self.current
    }

    /// Forgets every error (an operator start).
    pub(crate) fn reset(&mut self) {
        *self = ErrorWait::default();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn error_wait_doubles_from_min_to_max() {
        let mut w = ErrorWait::default();
        let got: Vec<u64> =
            (0..6).map(|i| w.bump(Millis(i * 1000), S(5), S(30), S(300)).as_secs()).collect();
        assert_eq!(got, [5, 10, 20, 30, 30, 30]);
    }

    #[test]
    fn error_after_forget_time_starts_from_min_again() {
        let mut w = ErrorWait::default();
        w.bump(Millis(0), S(5), S(30), S(300));
        w.bump(Millis(1_000), S(5), S(30), S(300));
        assert_eq!(w.bump(Millis(301_000), S(5), S(30), S(300)), S(5));
    }

    #[test]
    fn timer_set_tracks_each_timer() {
        let mut set = TimerSet::default();
        set.insert(Timer::Hold);
        set.insert(Timer::IdleHold);
        assert!(set.contains(Timer::Hold) && set.contains(Timer::IdleHold));
        set.remove(Timer::Hold);
        assert!(!set.contains(Timer::Hold) && !set.contains(Timer::Keepalive));
    }

    proptest! {
        #[test]
        fn error_wait_stays_within_bounds(gaps in proptest::collection::vec(0u64..400_000, 1..20)) {
            let mut w = ErrorWait::default();
            let mut now = 0u64;
            for g in gaps {
                now += g;
                let d = w.bump(Millis(now), S(5), S(30), S(300));
                prop_assert!(d >= S(5) && d <= S(30));
            }
        }
    }
}
