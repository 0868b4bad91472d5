//! Calico's etcd v3 datastore, followed live at the key/value level.
//!
//! In a Calico cluster with the etcd datastore, confd watches etcd and re-renders
//! BIRD's configuration on every change. This module is the part of that which
//! talks to etcd: it keeps a consistent copy of the keys BGP depends on and hands
//! the daemon the whole copy, with its revision, after every change. What the keys
//! mean is not decided here: values are passed on as bytes, and the Calico
//! derivation parses them.
//!
//! # Data flow
//!
//! ```text
//!   etcd ──list (one revision R, paged)──▶ KvStore::replace ─┐
//!        ──watch from R+1 ─ response ─▶ events ─▶ KvStore::apply ─┤
//!                                                             ▼
//!          watch::Sender<Option<DatastoreUpdate>>  (latest wins: the consumer
//!          watch::Sender<DatastoreStatus>           re-derives from the snapshot)
//! ```
//!
//! [`store`] is pure (no I/O); [`etcd`] is the tokio shell around it.
//!
//! # Key layout (libcalico-go's etcd v3 paths)
//!
//! | prefix | what |
//! |---|---|
//! | `/calico/resources/v3/projectcalico.org/nodes/<name>` | `Node` |
//! | `/calico/resources/v3/projectcalico.org/bgpconfigurations/<name>` | `BGPConfiguration` |
//! | `/calico/resources/v3/projectcalico.org/bgppeers/<name>` | `BGPPeer` |
//! | `/calico/resources/v3/projectcalico.org/bgpfilters/<name>` | `BGPFilter` |
//! | `/calico/resources/v3/projectcalico.org/ippools/<name>` | `IPPool` |
//! | `/calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-len>` | block affinity (also `ipv6`) |
//!
//! Values of the `resources/v3` keys are the resources as JSON; an affinity's value
//! is `{"state":"confirmed","deleted":false}` (state empty in old clusters).
//!
//! # Guarantees
//!
//! - A published snapshot is what etcd held under [`PREFIXES`] at its revision:
//!   the list reads every prefix at one revision, and one watch over a range that
//!   covers them all delivers every later change in revision order.
//! - Every watch response that changes a watched key is one update (a burst of
//!   writes etcd reports together is coalesced); responses that touch only other
//!   keys under the covering range publish nothing. All keys of one transaction
//!   share a revision and arrive in one response, so no snapshot shows half of one.
//! - A watch that lost its history (compacted) is replaced by a fresh list. Any
//!   other failure keeps the last snapshot, reports the error in the status and
//!   reconnects, to the next endpoint, after an exponential, jittered, bounded
//!   delay, resuming the watch from the last revision seen.
//! - Nothing from etcd can make the source panic or stop: keys that are not UTF-8
//!   are skipped with a warning, values are never looked into.

pub mod backoff;
pub mod etcd;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

pub use backoff::Backoff;
pub use etcd::EtcdSource;
pub use store::{KvEvent, KvStore};

/// The key prefixes the daemon follows (see the table above).
pub const PREFIXES: [&str; 6] = [
    "/calico/resources/v3/projectcalico.org/nodes/",
    "/calico/resources/v3/projectcalico.org/bgpconfigurations/",
    "/calico/resources/v3/projectcalico.org/bgppeers/",
    "/calico/resources/v3/projectcalico.org/bgpfilters/",
    "/calico/resources/v3/projectcalico.org/ippools/",
    "/calico/ipam/v2/host/",
];

/// Whether `key` is under one of [`PREFIXES`].
pub fn is_watched(key: &str) -> bool {
    PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The smallest key range `[start, end)` that holds every prefix: one watch over it
/// sees all changes in one revision order.
pub fn covering_range() -> (&'static str, Vec<u8>) {
    let start = PREFIXES.iter().min().copied().unwrap_or("/");
    let end = PREFIXES.iter().map(|p| prefix_end(p)).max().unwrap_or_default();
    (start, end)
}

/// etcd's range end for "every key starting with `prefix`": the prefix with its
/// last byte incremented (a trailing 0xff is dropped first).
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte 0xff (or empty): to the end of the keyspace.
    vec![0]
}

/// One consistent view of the watched keys, published after every change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatastoreUpdate {
    /// The etcd revision the snapshot is current at.
    pub revision: i64,
    /// Every watched key and its value.
    pub snapshot: Arc<BTreeMap<String, Bytes>>,
    /// When the source published it.
    pub at: SystemTime,
}

/// How the source is doing, for `calico-bgpctl` and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatastoreStatus {
    /// A list or watch is working right now.
    pub connected: bool,
    /// The endpoint in use, or being tried.
    pub endpoint: String,
    /// When `connected` last changed (the source's start before that).
    pub since: SystemTime,
    /// The last failure, with its causes.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<SystemTime>,
    /// Revision of the last published snapshot (0: none yet).
    pub revision: i64,
    /// Keys in it.
    pub keys: usize,
    /// Full lists taken: the first, then one per lost watch history.
    pub lists: u64,
    /// Snapshots published.
    pub updates: u64,
}

impl DatastoreStatus {
    /// Not connected yet, nothing published.
    pub fn starting(now: SystemTime) -> DatastoreStatus {
        DatastoreStatus {
            connected: false,
            endpoint: String::new(),
            since: now,
            last_error: None,
            last_error_at: None,
            revision: 0,
            keys: 0,
            lists: 0,
            updates: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end("/calico/ipam/v2/host/"), b"/calico/ipam/v2/host0");
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80");
    }

    #[test]
    fn the_covering_range_holds_every_prefix_and_nothing_before_it() {
        let (start, end) = covering_range();
        for p in PREFIXES {
            assert!(p >= start && p.as_bytes() < &end[..], "{p}");
            assert!(prefix_end(p) <= end, "{p}");
        }
        assert!("/calico/ipam/v2/handle/x" < start);
        assert!("/calico/felix/v1/host/n/status" < start);
    }

    #[test]
    fn only_keys_under_the_prefixes_are_watched() {
        assert!(is_watched("/calico/resources/v3/projectcalico.org/bgppeers/rr1"));
        assert!(is_watched("/calico/ipam/v2/host/n1/ipv4/block/10.0.0.0-26"));
        assert!(!is_watched("/calico/resources/v3/projectcalico.org/workloadendpoints/ns/w"));
        assert!(!is_watched("/calico/resources/v3/projectcalico.org/nodesx"));
        assert!(!is_watched("/calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26"));
    }
}
