//! The FIB task's inbox: route changes from the RIB, coalesced per prefix.
//!
//! The sender appends; the task takes the whole log, sorts it by prefix and keeps the
//! last change of each (a burst of changes to one prefix is written once, in address
//! order, which the kernel's LC-trie inserts fastest).

use ipnet::IpNet;

use crate::policy::BestRoute;

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
    pub(super) changes: Vec<(IpNet, Option<BestRoute>)>,
    /// Length after the last compaction.
    compacted: usize,
    /// [`COMPACT_AT`], smaller in tests.
    compact_at: usize,
}

impl Default for Pending {
    fn default() -> Self {
        Pending { changes: Vec::new(), compacted: 0, compact_at: COMPACT_AT }
    }
}

/// The log length below which the sender never compacts: above the IPv4 and
/// IPv6 full tables together, so a first load never sorts on the sender's
/// time; only a prefix flapping while the FIB is stalled gets there
/// (about 300 MB of log at worst).
const COMPACT_AT: usize = 1 << 22;

impl Pending {
    /// Appends a change; true if the log was empty (the task needs a wake-up).
    pub(super) fn push(&mut self, prefix: IpNet, change: Option<BestRoute>) -> bool {
        let first = self.changes.is_empty();
        self.changes.push((prefix, change));
        if self.changes.len() > self.compact_at.max(2 * self.compacted) {
            coalesce(&mut self.changes);
            self.compacted = self.changes.len();
        }
        first
    }

    /// The whole log as it arrived; [`coalesce`] it outside the lock.
    pub(super) fn take_raw(&mut self) -> Vec<(IpNet, Option<BestRoute>)> {
        self.compacted = 0;
        std::mem::take(&mut self.changes)
    }

    /// The whole log, coalesced.
    #[cfg(test)]
    fn take(&mut self) -> Vec<(IpNet, Option<BestRoute>)> {
        let mut changes = self.take_raw();
        coalesce(&mut changes);
        changes
    }
}

/// Sorts changes by prefix and keeps only the last change of each prefix. The kernel's
/// LC-trie also inserts in address order far faster than in hash order.
pub(super) fn coalesce(changes: &mut Vec<(IpNet, Option<BestRoute>)>) {
    // Stable: changes to one prefix stay in arrival order, so the last is the latest.
    changes.sort_by_key(|c| c.0);
    // `dedup_by` keeps the earlier of two equal neighbours; move the later change into
    // the kept slot first.
    changes.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
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
            assert!(q.changes.len() <= 9, "log grew to {}", q.changes.len());
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
        assert_eq!(q.changes[0].0, p("10.0.9.0/26"));
    }
}
