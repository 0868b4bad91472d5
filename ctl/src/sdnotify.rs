//! systemd service notifications (`sd_notify(3)`) for `Type=notify` units,
//! through the `sd-notify` crate. Every call is a no-op returning `Ok` when
//! the daemon was not started by systemd (`NOTIFY_SOCKET` unset), so the
//! daemon calls them unconditionally.
//!
//! Sequence the daemon follows:
//!
//! ```text
//!   start ── listeners bound, FIB read ──> ready()
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

/// The interval at which to call [`watchdog`]: half of `WatchdogSec`, or
/// `None` when the watchdog is off.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}
