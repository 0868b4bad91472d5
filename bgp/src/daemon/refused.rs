//! The sources of refused connections: addresses that connected to a BGP
//! listener without being a configured peer (RFC 4271 §8.1 event 15,
//! Tcp_CR_Invalid), counted for `show status` and the
//! `calico_bgp_unknown_connects_total` metric.
//!
//! Anyone who can reach the listen port can pick the source, so the table
//! is bounded: at most [`CAPACITY`] sources, the one refused longest ago
//! evicted to make room, and a source not seen for [`FORGET_AFTER_SECS`]
//! forgotten. A misconfigured node keeps reconnecting (every retry counts
//! and keeps its entry fresh); a sweep of spoofed or scanning addresses
//! cannot grow the table or push the owner's memory. Time comes in as Unix
//! seconds.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// Most sources remembered.
pub(crate) const CAPACITY: usize = 1024;

/// A source not refused again for this long is forgotten.
pub(crate) const FORGET_AFTER_SECS: u64 = 3600;

/// One source's refused connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Source {
    /// Connections refused while remembered.
    pub(crate) count: u64,
    /// Unix time of the last one.
    pub(crate) last: u64,
}

/// Refused sources by address, bounded and aged.
#[derive(Debug, Default)]
pub(crate) struct RefusedSources {
    sources: BTreeMap<IpAddr, Source>,
}

impl RefusedSources {
    /// Counts a connection from `remote` refused at `now`.
    pub(crate) fn note(&mut self, remote: IpAddr, now: u64) {
        self.forget_old(now);
        if !self.sources.contains_key(&remote) && self.sources.len() >= CAPACITY {
            let oldest = self.sources.iter().min_by_key(|(_, s)| s.last).map(|(a, _)| *a);
            if let Some(a) = oldest {
                self.sources.remove(&a);
            }
        }
        let s = self.sources.entry(remote).or_default();
        s.count += 1;
        s.last = now;
    }

    /// Forgets the sources not refused within [`FORGET_AFTER_SECS`] of `now`.
    pub(crate) fn forget_old(&mut self, now: u64) {
        self.sources.retain(|_, s| now.saturating_sub(s.last) < FORGET_AFTER_SECS);
    }

    /// The remembered sources, by address.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&IpAddr, &Source)> {
        self.sources.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn addr(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn repeated_connections_from_one_source_are_counted_with_the_last_time() {
        let mut r = RefusedSources::default();
        r.note(addr(1), 100);
        r.note(addr(1), 160);
        let all: Vec<_> = r.iter().map(|(a, s)| (*a, *s)).collect();
        assert_eq!(all, vec![(addr(1), Source { count: 2, last: 160 })]);
    }

    #[test]
    fn refused_sources_are_bounded_and_forgotten_after_an_hour() {
        let mut r = RefusedSources::default();
        // A sweep of distinct sources, one a second.
        for n in 0..(CAPACITY as u32 + 500) {
            r.note(addr(n), 1000 + u64::from(n));
        }
        assert_eq!(r.iter().count(), CAPACITY);
        // The oldest made room for the newest.
        assert!(r.iter().all(|(a, _)| *a >= addr(500)));
        assert!(r.iter().any(|(a, _)| *a == addr(CAPACITY as u32 + 499)));

        // An hour after the last, every one is forgotten.
        let last = 1000 + u64::from(CAPACITY as u32 + 499);
        r.forget_old(last + FORGET_AFTER_SECS);
        assert_eq!(r.iter().count(), 0);
    }

    #[test]
    fn a_source_that_keeps_retrying_outlives_a_sweep() {
        let mut r = RefusedSources::default();
        r.note(addr(0), 0);
        for n in 1..(3 * CAPACITY as u32) {
            let now = u64::from(n);
            r.note(addr(n), now);
            // The misconfigured node retries every few seconds.
            if n % 5 == 0 {
                r.note(addr(0), now);
            }
        }
        assert_eq!(r.iter().count(), CAPACITY);
        assert!(r.iter().any(|(a, s)| *a == addr(0) && s.count > 1));
    }

    #[test]
    fn only_sources_quiet_for_an_hour_are_forgotten() {
        let mut r = RefusedSources::default();
        r.note(addr(1), 0);
        r.note(addr(2), 1800);
        r.forget_old(FORGET_AFTER_SECS - 1);
        assert_eq!(r.iter().count(), 2);
        r.note(addr(3), FORGET_AFTER_SECS);
        let left: Vec<_> = r.iter().map(|(a, _)| *a).collect();
        assert_eq!(left, vec![addr(2), addr(3)]);
    }
}
