//! `tcpdump` inside a namespace, writing BGP traffic to a pcap.
//!
//! `--immediate-mode` hands each packet to tcpdump at once (otherwise libpcap holds
//! up to a second of packets in the kernel ring, and SIGTERM loses them: observed,
//! the last UPDATEs and the NOTIFICATION were missing), `-U` writes each packet as
//! it arrives, `-Z root` keeps the file owned by root (tcpdump otherwise drops to
//! user `tcpdump`), the filter keeps only `tcp port 179`.
//! `-i any` gives Linux cooked (SLL2) frames, a named interface gives Ethernet.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::process::{Daemon, tail};
use crate::{Result, err, wait_until};

/// A running capture; [`Capture::stop`] ends it and returns the pcap's path.
#[derive(Debug)]
pub struct Capture {
    daemon: Daemon,
    file: PathBuf,
}

impl Capture {
    /// Starts `tcpdump -U -w FILE -i IFACE tcp port 179` in `ns` and waits until it is
    /// listening, so no packet sent after this returns is missed.
    pub fn start(ns: &Netns, iface: &str, file: &Path) -> Result<Capture> {
        Self::start_filter(ns, iface, file, "tcp port 179")
    }

    /// Like [`Capture::start`] with a custom pcap filter.
    pub fn start_filter(ns: &Netns, iface: &str, file: &Path, filter: &str) -> Result<Capture> {
        let dir =
            file.parent().ok_or_else(|| err!("capture file {} has no dir", file.display()))?;
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("capture");
        let f = file.to_str().ok_or_else(|| err!("non-UTF-8 path {}", file.display()))?;
        let mut daemon = Daemon::spawn(
            ns,
            &format!("tcpdump-{stem}"),
            dir,
            &[
                "tcpdump",
                "-n",
                "--immediate-mode",
                "-U",
                "-s",
                "0",
                "-Z",
                "root",
                "-i",
                iface,
                "-w",
                f,
                filter,
            ],
        )?;
        let stderr = dir.join(format!("tcpdump-{stem}.stderr"));
        wait_until(Duration::from_secs(5), &format!("tcpdump listening on {iface}"), || {
            daemon.check_running()?;
            Ok(tail(&stderr, 5).contains("listening on"))
        })?;
        Ok(Capture { daemon, file: file.to_owned() })
    }

    /// Waits until the pcap has stopped growing (no packet for `quiet`, at most 5 s),
    /// then stops tcpdump (SIGTERM makes it flush and close the file) and waits for it
    /// to exit; returns the pcap's path. The quiet period lets the last packets of a
    /// just-triggered exchange (a NOTIFICATION, the TCP FIN) reach the file.
    pub fn stop(self) -> Result<PathBuf> {
        self.stop_after_quiet(Duration::from_millis(300))
    }

    /// [`Capture::stop`] with a chosen quiet period.
    pub fn stop_after_quiet(mut self, quiet: Duration) -> Result<PathBuf> {
        let size = || std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
        let (mut last, mut since) = (size(), Instant::now());
        let _ = wait_until(Duration::from_secs(5), "capture to go quiet", || {
            let now = size();
            if now != last {
                (last, since) = (now, Instant::now());
            }
            Ok(since.elapsed() >= quiet)
        });
        self.daemon.stop(Duration::from_secs(5))?;
        if !self.file.exists() {
            return Err(err!(
                "tcpdump wrote no {}:\n{}",
                self.file.display(),
                self.daemon.log_tail(10)
            ));
        }
        Ok(self.file.clone())
    }
}
