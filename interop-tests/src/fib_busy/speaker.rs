//! The speaker in the middle of the FIB-busy topology: calico-bgpd, or BIRD 2
//! in the same place with the same three passive eBGP neighbors and its
//! kernel protocol exporting every BGP route into the main table (`proto
//! bird`, as calico-bgpd writes them), so that both are measured in the same
//! run on the same input. Also reads the speaker's resident memory from
//! `/proc` (`VmHWM`, the peak, and `VmRSS`).

use std::net::IpAddr;
use std::path::Path;

use crate::Result;
use crate::peers::Neighbor;
use crate::peers::bird::{Bird, BirdConfig};
use crate::process::Daemon;

/// Which BGP speaker runs in namespace D.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// calico-bgpd (the binary in [`super::Params::daemon`]).
    CalicoBgpd,
    /// BIRD 2 (`bird` on the `PATH`).
    Bird,
}

impl Speaker {
    /// The name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Speaker::CalicoBgpd => "calico-bgpd",
            Speaker::Bird => "BIRD 2",
        }
    }
}

/// The running speaker.
pub(super) enum Running {
    Calico(Daemon),
    Bird(Bird),
}

impl Running {
    /// BIRD with the neighbors `(peer address, our address, peer AS)`,
    /// exporting to the kernel when `fib`.
    pub(super) fn bird(
        ns: &crate::netns::Netns,
        dir: &Path,
        asn: u32,
        router_id: IpAddr,
        neighbors: &[(IpAddr, IpAddr, u32)],
        fib: bool,
    ) -> Result<Running> {
        let mut c = BirdConfig::new(asn, router_id);
        c.kernel = fib;
        for &(peer, me, peer_as) in neighbors {
            c = c.neighbor(Neighbor::new(peer, peer_as).passive().local_address(me));
        }
        Ok(Running::Bird(c.start(ns, &dir.join("bird"))?))
    }

    pub(super) fn daemon(&mut self) -> &mut Daemon {
        match self {
            Running::Calico(d) => d,
            Running::Bird(b) => b.daemon(),
        }
    }

    pub(super) fn log_tail(&self, lines: usize) -> String {
        match self {
            Running::Calico(d) => d.log_tail(lines),
            Running::Bird(b) => b.log_tail(lines),
        }
    }

    /// Routes BIRD's IPv4 kernel protocol has exported (written to the
    /// kernel: BIRD writes each one synchronously); `None` for calico-bgpd,
    /// whose progress is read from its log.
    pub(super) fn bird_exported(&self) -> Option<u64> {
        let Running::Bird(b) = self else { return None };
        b.birdc(&["show", "protocols", "all", "kipv4"]).ok().as_deref().and_then(exported)
    }
}

/// The `N exported` figure of a `birdc show protocols all` text.
pub fn exported(text: &str) -> Option<u64> {
    let routes = text.lines().find_map(|l| l.trim().strip_prefix("Routes:"))?;
    routes.split(',').find_map(|part| part.trim().strip_suffix(" exported")?.trim().parse().ok())
}

/// Peak and final resident memory of each run, per bulk route, and the peak
/// against BIRD's in a run of the same size and FIB switch.
pub fn memory_table(runs: &[super::RunResult]) -> String {
    use std::fmt::Write as _;
    let mib = |k: u64| k as f64 / 1024.0;
    let mut s = String::from(
        "| speaker, FIB | N | peak RSS MiB | RSS at end MiB | peak B/route | peak vs BIRD 2 |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let bird = runs
            .iter()
            .find(|b| b.speaker == Speaker::Bird && b.n == r.n && b.fib == r.fib)
            .map_or_else(
                || "-".to_owned(),
                |b| format!("{:.2}x", r.peak_rss_kib as f64 / b.peak_rss_kib.max(1) as f64),
            );
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.1} | {:.0} | {bird} |",
            r.label(),
            r.n,
            mib(r.peak_rss_kib),
            mib(r.rss_kib),
            r.peak_rss_kib as f64 * 1024.0 / f64::from(r.n),
        );
    }
    s
}
