//! systemd service notifications (`sd_notify(3)`) for `Type=notify` units,
//! through the `sd-notify` crate. Every call is a no-op returning `Ok` when
//! the daemon was not started by systemd (`NOTIFY_SOCKET` unset), so the
//! daemon calls them unconditionally.
//!
//! Sequence the daemon follows:
//!
//! ```text
//!   start ── waiting for the datastore: status(), extend_timeout() every 10 s
//!         ── listeners bound, FIB read ──> ready()
//!   every watchdog_interval()/2 while the event loop runs ──> watchdog()
//!   SIGHUP ──> reloading() ── config applied or refused ──> ready()
//!   SIGTERM ──> stopping()
//! ```

use std::io;
use std::time::Duration;

use sd_notify::NotifyState;

/// `READY=1`: start-up finished (listeners up, FIB read); also ends a reload.
pub fn ready() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Ready])
}

/// `RELOADING=1` with `MONOTONIC_USEC`, as `systemd.service(5)` asks for
/// reloads; follow with [`ready`] when the reload is done.
pub fn reloading() -> io::Result<()> {
    let mut states = vec![NotifyState::Reloading];
    if let Ok(t) = NotifyState::monotonic_usec_now() {
        states.push(t);
    }
    sd_notify::notify(&states)
}

/// `STOPPING=1`: shutdown started.
pub fn stopping() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Stopping])
}

/// `WATCHDOG=1`: the event loop is alive. Send it from the loop itself, so
/// a stuck loop stops the pings and systemd restarts the daemon.
pub fn watchdog() -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Watchdog])
}

/// `STATUS=...`: one line shown by `systemctl status`.
pub fn status(text: &str) -> io::Result<()> {
    sd_notify::notify(&[NotifyState::Status(text)])
}

/// `EXTEND_TIMEOUT_USEC=...`: start-up legitimately takes longer (waiting
/// for the datastore); systemd waits at least `by` more from now.
pub fn extend_timeout(by: Duration) -> io::Result<()> {
    let usec = u32::try_from(by.as_micros()).unwrap_or(u32::MAX);
    sd_notify::notify(&[NotifyState::ExtendTimeoutUsec(usec)])
}

/// The interval at which to call [`watchdog`]: half of `WatchdogSec`, or
/// `None` when the watchdog is off.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;
    use std::process::Command;
    use std::time::Duration;

    /// Runs in a child process (setting NOTIFY_SOCKET in this process would
    /// need `unsafe` `set_var`): sends every notification once.
    #[test]
    fn child_sends_notifications() {
        if std::env::var_os("CTL_SDNOTIFY_CHILD").is_none() {
            return;
        }
        super::ready().unwrap();
        super::reloading().unwrap();
        super::watchdog().unwrap();
        super::status("3/3 peers established").unwrap();
        super::extend_timeout(Duration::from_secs(30)).unwrap();
        super::stopping().unwrap();
    }

    #[test]
    fn notifications_reach_the_notify_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sdnotify::tests::child_sends_notifications", "--test-threads=1"])
            .env("NOTIFY_SOCKET", &path)
            .env("CTL_SDNOTIFY_CHILD", "1")
            .status()
            .unwrap();
        assert!(status.success());
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        for _ in 0..6 {
            let n = sock.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got[0], "READY=1\n");
        assert!(got[1].starts_with("RELOADING=1\nMONOTONIC_USEC="), "{:?}", got[1]);
        assert_eq!(got[2], "WATCHDOG=1\n");
        assert_eq!(got[3], "STATUS=3/3 peers established\n");
        assert_eq!(got[4], "EXTEND_TIMEOUT_USEC=30000000\n");
        assert_eq!(got[5], "STOPPING=1\n");
    }

    #[test]
    fn without_systemd_every_call_is_a_no_op() {
        // Under `cargo test` NOTIFY_SOCKET is unset (unless a test sets it in a child).
        if std::env::var_os("NOTIFY_SOCKET").is_some() {
            return;
        }
        assert!(super::ready().is_ok());
        assert!(super::watchdog_interval().is_none());
    }
}
