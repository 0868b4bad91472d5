//! Polling with a deadline. Tests synchronise on observable state (a session is
//! Established, a route is in the kernel), never on fixed sleeps.

use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How often [`wait_until`] polls: fast enough not to add latency to a test, slow
/// enough not to load two shared cores with vtysh/birdc calls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(75);

/// Polls `check` until it returns `Ok(true)` or `timeout` has passed.
///
/// An `Err` from `check` counts as "not yet" (a daemon's control socket may not exist
/// yet); the last such error is kept and reported if the deadline passes. A
/// [fatal](Error::fatal) error (a daemon exited) ends the wait at once. The error
/// names `what` was awaited, so a failing test says what it was waiting for.
pub fn wait_until<F>(timeout: Duration, what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Result<bool>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    let mut last_err: Option<Error> = None;
    loop {
        match check() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.fatal => {
                return Err(crate::err!("gave up waiting for {what}: {e}").fatal());
            }
            Err(e) => last_err = Some(e),
        }
        let now = Instant::now();
        if now >= deadline {
            let detail = last_err.map(|e| format!(" (last error: {e})")).unwrap_or_default();
            return Err(crate::err!(
                "timed out after {:.1}s waiting for {what}{detail}",
                start.elapsed().as_secs_f64()
            ));
        }
        std::thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_once_the_condition_holds() {
        let mut n = 0;
        wait_until(Duration::from_secs(2), "third poll", || {
            n += 1;
            Ok(n >= 3)
        })
        .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn wait_until_timeout_names_what_was_awaited_and_the_last_error() {
        let e = wait_until(Duration::from_millis(200), "the moon", || Err(crate::err!("no moon")))
            .unwrap_err();
        assert!(e.msg.contains("waiting for the moon"), "{e}");
        assert!(e.msg.contains("no moon"), "{e}");
    }

    #[test]
    fn wait_until_stops_at_a_fatal_error() {
        let start = std::time::Instant::now();
        let e = wait_until(Duration::from_secs(5), "a dead daemon", || {
            Err(crate::err!("it exited").fatal())
        })
        .unwrap_err();
        assert!(e.fatal && e.msg.contains("it exited"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
