//! The Send Hold Timer of RFC 9687, as pure decisions: how long a session
//! may go without making progress sending, and whether it has.
//!
//! A peer that stops reading (its TCP receive window stays closed) would
//! otherwise keep the session up for ever: its KEEPALIVEs still arrive, so
//! the Hold Timer never fires, while everything we send piles up. The
//! session's writer records when it became *stalled*: when it started
//! waiting to write with something queued, moved forward each time the
//! socket took some octets, and cleared once everything queued is written.
//! When a stall lasts the SendHoldTime, the session feeds
//! [`super::Event::SendHoldTimerExpires`] to the FSM, which sends Send Hold
//! Timer Expired (error code 8) and goes Idle.
//!
//! The SendHoldTime is configured per session (`send_hold_time`, seconds);
//! unset, it is RFC 9687's suggestion, the greater of 8 minutes and twice
//! the negotiated Hold Time; 0 turns the timer off (BIRD's `send hold
//! time 0`). A session that is not stalled never expires, whatever the Hold
//! Time: with a Hold Time of 0 nothing may be sent for hours.

use std::time::Duration;

use super::Millis;

/// RFC 9687's lower bound on the default SendHoldTime.
pub const DEFAULT_SEND_HOLD_MIN: Duration = Duration::from_secs(8 * 60);

/// The SendHoldTime of a session: `configured` seconds (0: off), or the
/// default for the `hold_time` in force (negotiated, or offered before the
/// OPENs are exchanged). `None`: the timer is off.
pub fn send_hold_time(configured: Option<u16>, hold_time: u16) -> Option<Duration> {
    match configured {
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(u64::from(s))),
        None => Some(DEFAULT_SEND_HOLD_MIN.max(Duration::from_secs(2 * u64::from(hold_time)))),
    }
}

/// Whether a session stalled since `stalled_since` (`None`: not stalled)
/// has gone `send_hold` without progress at `now`.
pub fn expired(send_hold: Option<Duration>, stalled_since: Option<Millis>, now: Millis) -> bool {
    match (send_hold, stalled_since) {
        (Some(limit), Some(since)) => now.since(since) >= limit,
        _ => false,
    }
}

/// When to look again: the instant (on the same clock) the stall would
/// reach `send_hold`; `None` while there is nothing to watch.
pub fn deadline(send_hold: Option<Duration>, stalled_since: Option<Millis>) -> Option<Millis> {
    Some(stalled_since?.after(send_hold?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    #[test]
    fn send_hold_time_is_the_configured_one_or_the_greater_of_8_minutes_and_twice_the_hold_time() {
        let secs = |s: u64| Some(Duration::from_secs(s));
        let table: &[(Option<u16>, u16, Option<Duration>)] = &[
            // Unset: RFC 9687's default.
            (None, 0, secs(480)),
            (None, 90, secs(480)),
            (None, 240, secs(480)),
            (None, 241, secs(482)),
            (None, 65535, secs(131_070)),
            // Configured: as it is, whatever the hold time.
            (Some(5), 240, secs(5)),
            (Some(600), 0, secs(600)),
            // 0: off.
            (Some(0), 240, None),
        ];
        for &(configured, hold, want) in table {
            assert_eq!(send_hold_time(configured, hold), want, "{configured:?}, hold {hold}");
        }
    }

    #[test]
    fn only_a_stall_as_long_as_the_send_hold_time_expires() {
        let five = Some(Duration::from_secs(5));
        let table: &[(Option<Duration>, Option<u64>, u64, bool)] = &[
            // Not stalled: never, however long since anything was sent.
            (five, None, 0, false),
            (five, None, 10_000 * S, false),
            // Stalled: expires at the SendHoldTime, not before.
            (five, Some(10 * S), 10 * S, false),
            (five, Some(10 * S), 15 * S - 1, false),
            (five, Some(10 * S), 15 * S, true),
            (five, Some(10 * S), 100 * S, true),
            // A clock that went backwards is no stall.
            (five, Some(10 * S), 5 * S, false),
            // Off: never.
            (None, Some(0), 10_000 * S, false),
        ];
        for &(limit, since, now, want) in table {
            let since = since.map(Millis);
            assert_eq!(expired(limit, since, Millis(now)), want, "{limit:?} {since:?} {now}");
        }
    }

    #[test]
    fn deadline_is_the_stall_start_plus_the_send_hold_time() {
        let five = Some(Duration::from_secs(5));
        assert_eq!(deadline(five, Some(Millis(2 * S))), Some(Millis(7 * S)));
        assert_eq!(deadline(five, None), None);
        assert_eq!(deadline(None, Some(Millis(2 * S))), None);
        let d = deadline(five, Some(Millis(2 * S))).unwrap();
        assert!(expired(five, Some(Millis(2 * S)), d));
    }
}
