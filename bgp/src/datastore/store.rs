//! The key/value snapshot the datastore source keeps: pure, no I/O.
//!
//! A [`KvStore`] is what a client of etcd v3 sees of a key range: every key with its
//! value, and the revision the whole map is current at. It changes in two ways only,
//! mirroring etcd's list + watch: [`KvStore::replace`] with a full list taken at one
//! revision, and [`KvStore::apply`] with a watch event carrying its `mod_revision`.
//! Watch events never go back in time, so an event below the store's revision is one
//! the last list already contains and is ignored (a re-watch after a reconnect may
//! replay a few). Several events share a revision when one transaction wrote several
//! keys; etcd refuses a transaction that writes one key twice, so re-applying an
//! event at the store's own revision leaves the key as that revision has it.
//!
//! The map sits behind an [`Arc`]: [`KvStore::snapshot`] hands it out in O(1), and
//! the next change copies it only while a consumer still holds the old one.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

/// One watch event, as etcd reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvEvent {
    /// `key` now holds `value` (created or replaced) as of `mod_revision`.
    Put {
        /// The key.
        key: String,
        /// Its new value, uninterpreted bytes.
        value: Bytes,
        /// The revision of the write.
        mod_revision: i64,
    },
    /// `key` was deleted at `mod_revision`.
    Delete {
        /// The key.
        key: String,
        /// The revision of the delete.
        mod_revision: i64,
    },
}

impl KvEvent {
    /// The revision the event happened at.
    pub fn mod_revision(&self) -> i64 {
        match self {
            KvEvent::Put { mod_revision, .. } | KvEvent::Delete { mod_revision, .. } => {
                *mod_revision
            }
        }
    }
}

/// Keys and values of the watched ranges, current at [`KvStore::revision`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    entries: Arc<BTreeMap<String, Bytes>>,
    revision: i64,
}

impl KvStore {
    /// An empty store at revision 0 (nothing listed yet).
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// Replaces everything with a full list taken at `revision`.
    pub fn replace(&mut self, entries: impl IntoIterator<Item = (String, Bytes)>, revision: i64) {
        self.entries = Arc::new(entries.into_iter().collect());
        self.revision = revision;
    }

    /// Applies one watch event; returns whether it was applied (false: stale, from
    /// before the list or an earlier event).
    pub fn apply(&mut self, event: KvEvent) -> bool {
        let rev = event.mod_revision();
        if rev < self.revision {
            return false;
        }
        let map = Arc::make_mut(&mut self.entries);
        match event {
            KvEvent::Put { key, value, .. } => {
                map.insert(key, value);
            }
            KvEvent::Delete { key, .. } => {
                map.remove(&key);
            }
        }
        self.revision = rev;
        true
    }

    /// Records that etcd reached `revision` without changing any key held here (a
    /// watch event on a key outside the watched prefixes): a watch resumed later
    /// need not replay it. Never goes back.
    pub fn advance(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// The revision the contents are current at (0 before the first list).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The contents, shared: cheap to take, immutable once taken.
    pub fn snapshot(&self) -> Arc<BTreeMap<String, Bytes>> {
        Arc::clone(&self.entries)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn put(key: &str, value: &str, rev: i64) -> KvEvent {
        KvEvent::Put { key: key.into(), value: Bytes::from(value.to_owned()), mod_revision: rev }
    }

    fn del(key: &str, rev: i64) -> KvEvent {
        KvEvent::Delete { key: key.into(), mod_revision: rev }
    }

    #[test]
    fn a_list_replaces_everything_and_sets_the_revision() {
        let mut s = KvStore::new();
        s.apply(put("/a", "1", 3));
        s.replace([("/b".to_owned(), Bytes::from_static(b"2"))], 10);
        assert_eq!(s.revision(), 10);
        assert_eq!(s.snapshot().keys().collect::<Vec<_>>(), ["/b"]);
    }

    #[test]
    fn puts_and_deletes_after_the_list_move_the_revision() {
        let mut s = KvStore::new();
        s.replace([("/a".to_owned(), Bytes::from_static(b"1"))], 5);
        assert!(s.apply(put("/b", "2", 6)));
        assert!(s.apply(del("/a", 7)));
        assert_eq!(s.revision(), 7);
        assert_eq!(s.snapshot().get("/b").map(|v| &v[..]), Some(&b"2"[..]));
        assert!(!s.snapshot().contains_key("/a"));
    }

    #[test]
    fn an_event_from_before_the_list_is_ignored() {
        let mut s = KvStore::new();
        s.replace([("/a".to_owned(), Bytes::from_static(b"new"))], 9);
        assert!(!s.apply(put("/a", "old", 8)));
        assert!(!s.apply(del("/a", 4)));
        assert_eq!(s.snapshot().get("/a").map(|v| &v[..]), Some(&b"new"[..]));
        assert_eq!(s.revision(), 9);
    }

    #[test]
    fn every_key_of_one_transaction_is_applied() {
        let mut s = KvStore::new();
        s.replace([], 3);
        assert!(s.apply(put("/a", "1", 4)));
        assert!(s.apply(put("/b", "1", 4)));
        assert!(s.apply(del("/c", 4)));
        assert_eq!(s.len(), 2);
        assert_eq!(s.revision(), 4);
    }

    #[test]
    fn deleting_a_missing_key_only_moves_the_revision() {
        let mut s = KvStore::new();
        assert!(s.apply(del("/nope", 2)));
        assert!(s.is_empty());
        assert_eq!(s.revision(), 2);
    }

    #[test]
    fn advancing_moves_the_revision_forward_only() {
        let mut s = KvStore::new();
        s.replace([("/a".to_owned(), Bytes::from_static(b"1"))], 5);
        s.advance(8);
        s.advance(6);
        assert_eq!(s.revision(), 8);
        assert!(!s.apply(put("/a", "2", 7)), "an event before the advance is stale");
        assert!(s.apply(put("/a", "3", 8)), "one of the same revision is not");
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn a_snapshot_taken_earlier_does_not_see_later_events() {
        let mut s = KvStore::new();
        s.apply(put("/a", "1", 1));
        let before = s.snapshot();
        s.apply(put("/a", "2", 2));
        assert_eq!(before.get("/a").map(|v| &v[..]), Some(&b"1"[..]));
        assert_eq!(s.snapshot().get("/a").map(|v| &v[..]), Some(&b"2"[..]));
    }

    /// etcd's history as transactions, one revision each: (key index, Some(value) =
    /// put, None = delete), a key at most once per transaction as etcd requires.
    fn txns() -> impl Strategy<Value = Vec<BTreeMap<u8, Option<Vec<u8>>>>> {
        let value = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4));
        proptest::collection::vec(proptest::collection::btree_map(0u8..6, value, 1..4), 0..40)
    }

    proptest! {
        /// Listing at any point and then applying the watch events after it (with
        /// some replayed from before) ends where a fresh list at the end does.
        #[test]
        fn list_then_events_equals_a_fresh_list(txns in txns(), list_at in 0usize..40, replay in 0usize..8) {
            let mut etcd: BTreeMap<String, Bytes> = BTreeMap::new();
            let mut events = Vec::new();
            let mut listed = None;
            for (i, txn) in txns.iter().enumerate() {
                if i == list_at {
                    listed = Some((etcd.clone(), i as i64, events.len()));
                }
                let rev = i as i64 + 1;
                for (k, v) in txn {
                    let key = format!("/k{k}");
                    match v {
                        Some(v) => {
                            etcd.insert(key.clone(), Bytes::from(v.clone()));
                            events.push(KvEvent::Put { key, value: Bytes::from(v.clone()), mod_revision: rev });
                        }
                        None => {
                            etcd.remove(&key);
                            events.push(KvEvent::Delete { key, mod_revision: rev });
                        }
                    }
                }
            }
            let end_rev = txns.len() as i64;
            let (list, list_rev, seen) = listed.unwrap_or((etcd.clone(), end_rev, events.len()));
            let mut s = KvStore::new();
            s.replace(list, list_rev);
            for e in events.into_iter().skip(seen.saturating_sub(replay)) {
                s.apply(e);
            }
            let mut fresh = KvStore::new();
            fresh.replace(etcd, end_rev);
            prop_assert_eq!(s.snapshot(), fresh.snapshot());
            prop_assert_eq!(s.revision(), fresh.revision());
        }
    }
}
