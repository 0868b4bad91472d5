//! The FIB task's inbox: route changes from the RIB, coalesced per prefix.
//!
//! The sender appends; the task takes the whole log, sorts it by prefix and keeps the
//! last change of each (a burst of changes to one prefix is written once, in address
//! order, which the kernel's LC-trie inserts fastest).
//!
//! A change is 24 octets: the prefix and a handle on its best route in the log's own
//! list of best routes, where a run of changes through the same next hops (a table
//! from one peer) shares one entry. A million pending changes took about 100 MB as
//! `(prefix, BestRoute)` pairs with a next-hop `Vec` each.

use ipnet::IpNet;

use crate::policy::BestRoute;

/// The handle of a withdrawal.
const WITHDRAWN: u32 = u32::MAX;

/// Changes the task has not taken yet, in arrival order.
///
/// A log rather than a map: the sender is the RIB, and an append is the cheapest thing
/// it can be asked to do (a map insert into a 1M-entry table is a cache miss per
/// prefix). The task coalesces when it takes the log. A prefix flapping while the task
/// is busy would grow the log without bound, so the sender compacts it in place when it
/// passes [`COMPACT_AT`] and has doubled since the last compaction: memory stays within
/// twice the distinct prefixes pending (or [`COMPACT_AT`]), and a one-off burst of
/// distinct prefixes (full tables) is never sorted on the sender's time.
pub(super) struct Pending {
    pub(super) log: Log,
    /// Length after the last compaction.
    compacted: usize,
    /// [`COMPACT_AT`], smaller in tests.
    compact_at: usize,
}

/// Changes and the best routes they refer to (their prefixes left unset).
#[derive(Debug, Default)]
pub(super) struct Log {
    pub(super) changes: Vec<(IpNet, u32)>,
    routes: Vec<BestRoute>,
}

impl Log {
    /// The changes, each with its best route (`None`: withdrawn).
    pub(super) fn into_changes(self) -> impl ExactSizeIterator<Item = (IpNet, Option<BestRoute>)> {
        let routes = self.routes;
        self.changes.into_iter().map(move |(prefix, h)| {
            let best = routes.get(h as usize).map(|b| BestRoute { prefix, ..b.clone() });
            (prefix, best)
        })
    }

    /// Whether nothing is pending.
    pub(super) fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Pending changes.
    pub(super) fn len(&self) -> usize {
        self.changes.len()
    }

    /// Pending announcements by family: (IPv4, IPv6).
    pub(super) fn adds(&self) -> (usize, usize) {
        let adds = self.changes.iter().filter(|(_, h)| *h != WITHDRAWN);
        let v4 = adds.clone().filter(|(p, _)| matches!(p, IpNet::V4(_))).count();
        (v4, adds.count() - v4)
    }

    fn push(&mut self, prefix: IpNet, change: Option<BestRoute>) {
        let h = match change {
            None => WITHDRAWN,
            Some(mut b) => {
                b.prefix = IpNet::default();
                if self.routes.last() != Some(&b) {
                    self.routes.push(b);
                }
                u32::try_from(self.routes.len() - 1).unwrap_or(WITHDRAWN)
            }
        };
        self.changes.push((prefix, h));
    }

    /// Sorts changes by prefix and keeps only the last change of each prefix, and the
    /// best routes still referred to. The kernel's LC-trie also inserts in address
    /// order far faster than in hash order.
    pub(super) fn coalesce(&mut self) {
        // Stable: changes to one prefix stay in arrival order, so the last is the latest.
        self.changes.sort_by_key(|c| c.0);
        // `dedup_by` keeps the earlier of two equal neighbours; move the later change
        // into the kept slot first.
        self.changes.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        if self.routes.len() <= self.changes.len() {
            return;
        }
        // More best routes than changes (a flapping prefix): keep the used ones.
        let mut used: Vec<u32> =
            self.changes.iter().map(|c| c.1).filter(|h| *h != WITHDRAWN).collect();
        used.sort_unstable();
        used.dedup();
        let routes: Vec<BestRoute> =
            used.iter().map(|h| self.routes[*h as usize].clone()).collect();
        for c in &mut self.changes {
            if let Ok(i) = used.binary_search(&c.1) {
                c.1 = i as u32;
            }
        }
        self.routes = routes;
    }
}

impl Default for Pending {
    fn default() -> Self {
        Pending { log: Log::default(), compacted: 0, compact_at: COMPACT_AT }
    }
}

/// The log length below which the sender never compacts: above the IPv4 and
/// IPv6 full tables together, so a first load never sorts on the sender's
/// time; only a prefix flapping while the FIB is stalled gets there
/// (about 100 MB of log at worst).
const COMPACT_AT: usize = 1 << 22;

impl Pending {
    /// Appends a change; true if the log was empty (the task needs a wake-up).
    pub(super) fn push(&mut self, prefix: IpNet, change: Option<BestRoute>) -> bool {
        let first = self.log.is_empty();
        self.log.push(prefix, change);
        if self.log.len() > self.compact_at.max(2 * self.compacted) {
            self.log.coalesce();
            self.compacted = self.log.len();
        }
        first
    }

    /// The whole log as it arrived; [`Log::coalesce`] it outside the lock.
    pub(super) fn take_raw(&mut self) -> Log {
        self.compacted = 0;
        std::mem::take(&mut self.log)
    }

    /// The whole log, coalesced.
    #[cfg(test)]
    fn take(&mut self) -> Vec<(IpNet, Option<BestRoute>)> {
        let mut log = self.take_raw();
        log.coalesce();
        log.into_changes().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn p(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn best(prefix: &str, nh: &str) -> Option<BestRoute> {
        Some(BestRoute {
            prefix: p(prefix),
            next_hops: vec![nh.parse::<IpAddr>().unwrap()],
            local_block: false,
            priority: 0,
        })
    }

    #[test]
    fn burst_to_one_prefix_keeps_only_the_last_change() {
        let mut q = Pending::default();
        assert!(q.push(p("10.0.1.0/26"), best("10.0.1.0/26", "192.168.0.2")));
        assert!(!q.push(p("10.0.1.0/26"), None));
        assert!(!q.push(p("10.0.1.0/26"), best("10.0.1.0/26", "192.168.0.3")));
        assert_eq!(q.take(), vec![(p("10.0.1.0/26"), best("10.0.1.0/26", "192.168.0.3"))]);
        assert!(q.take().is_empty());
    }

    #[test]
    fn withdraw_after_update_wins() {
        let mut q = Pending::default();
        q.push(p("10.0.1.0/26"), best("10.0.1.0/26", "192.168.0.2"));
        q.push(p("10.0.1.0/26"), None);
        assert_eq!(q.take(), vec![(p("10.0.1.0/26"), None)]);
    }

    #[test]
    fn taken_changes_are_in_address_order() {
        let mut q = Pending::default();
        for s in ["10.0.3.0/26", "10.0.1.0/26", "10.0.2.0/26", "10.0.1.0/26"] {
            q.push(p(s), None);
        }
        let order: Vec<IpNet> = q.take().into_iter().map(|(p, _)| p).collect();
        assert_eq!(order, vec![p("10.0.1.0/26"), p("10.0.2.0/26"), p("10.0.3.0/26")]);
    }

    #[test]
    fn a_flapping_prefix_cannot_grow_the_log_without_bound() {
        let mut q = Pending { compact_at: 8, ..Pending::default() };
        for i in 0..1000 {
            let nh = if i % 2 == 0 { "192.168.0.2" } else { "192.168.0.3" };
            q.push(p("10.0.1.0/26"), best("10.0.1.0/26", nh));
            assert!(q.log.changes.len() <= 9, "log grew to {}", q.log.changes.len());
        }
        assert_eq!(q.take(), vec![(p("10.0.1.0/26"), best("10.0.1.0/26", "192.168.0.3"))]);
    }

    #[test]
    fn distinct_prefixes_below_the_threshold_are_never_sorted_by_the_sender() {
        let mut q = Pending { compact_at: 8, ..Pending::default() };
        for s in ["10.0.9.0/26", "10.0.8.0/26", "10.0.7.0/26"] {
            q.push(p(s), None);
        }
        // Still in arrival order: no compaction ran.
        assert_eq!(q.log.changes[0].0, p("10.0.9.0/26"));
    }
}
