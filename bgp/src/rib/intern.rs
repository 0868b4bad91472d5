//! Attribute interning: one shared copy per distinct attribute set.
//!
//! A full table is a million prefixes but only a handful of attribute sets
//! (one per neighbour and policy outcome), so each path stores a 4-octet
//! [`AttrId`] into this arena instead of its own `PathAttrs`. The arena
//! counts references; a set whose count drops to zero is freed at the end of
//! the RIB call that dropped it ([`Interner::sweep`]), so a set withdrawn and
//! re-announced within one call keeps its id and the export caches keyed by
//! it stay valid.
//!
//! ```text
//!   Path { attrs: AttrId(7) } ──┐
//!   Path { attrs: AttrId(7) } ──┼──► slots[7] = { Arc<StoredAttrs>, refs: 3 }
//!   Path { attrs: AttrId(7) } ──┘        ▲
//!                       map: StoredAttrs ─┘  (lookup on announce)
//! ```

use std::sync::Arc;

use super::filter::ImportMark;
use super::hash::FxHashMap;
use super::interface::IfaceId;
use crate::wire::AfiSafi;
use crate::wire::attr::{MpNextHop, PathAttrs};

/// Index of an interned attribute set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrId(pub(crate) u32);

/// What a path's attributes are interned as: the attributes themselves plus
/// what the RIB needs next to them to treat two routes alike.
///
/// The source peer and family are part of the key so that everything
/// derived from a set (the import verdict, the exported attributes per
/// export group) depends on the id alone and can be cached by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredAttrs {
    /// Internal slot of the peer the route came from (0: locally originated).
    pub(crate) src: u32,
    /// Family of the NLRI these attributes were announced with.
    pub family: AfiSafi,
    /// The next hop (NEXT_HOP or MP_REACH_NLRI's); `None` for local routes.
    pub next_hop: Option<MpNextHop>,
    /// The interface the next hop is reached by, while it is reachable and
    /// the kernel side said which (BIRD's `ifname`).
    pub(crate) iface: Option<IfaceId>,
    /// The path attributes, NEXT_HOP cleared (it lives in `next_hop`):
    /// after any import filter operations, as best path sees them.
    pub attrs: PathAttrs,
    /// The import filter rule that decided for a received path, if one did.
    pub import: Option<ImportMark>,
}

#[derive(Debug, Default)]
struct Slot {
    attrs: Option<Arc<StoredAttrs>>,
    refs: u32,
}

/// The arena.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    map: FxHashMap<Arc<StoredAttrs>, u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Ids whose count reached zero during this call.
    dead: Vec<u32>,
}

impl Interner {
    /// Interns `a` and takes one reference on it. Returns the id and whether
    /// the set is new (its next hop may need tracking).
    pub(crate) fn intern(&mut self, a: StoredAttrs) -> (AttrId, bool) {
        if let Some(&id) = self.map.get(&a) {
            self.slots[id as usize].refs += 1;
            return (AttrId(id), false);
        }
        let arc = Arc::new(a);
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[id as usize] = Slot { attrs: Some(arc.clone()), refs: 1 };
        self.map.insert(arc, id);
        (AttrId(id), true)
    }

    /// Takes another reference on `id`.
    #[inline]
    pub(crate) fn incref(&mut self, id: AttrId) {
        self.slots[id.0 as usize].refs += 1;
    }

    /// Drops a reference on `id`; at zero the set is queued for [`Self::sweep`].
    #[inline]
    pub(crate) fn decref(&mut self, id: AttrId) {
        let s = &mut self.slots[id.0 as usize];
        debug_assert!(s.refs > 0, "attribute set {id:?} over-released");
        s.refs = s.refs.saturating_sub(1);
        if s.refs == 0 {
            self.dead.push(id.0);
        }
    }

    /// The set behind `id` (which must be live).
    #[inline]
    pub(crate) fn get(&self, id: AttrId) -> &Arc<StoredAttrs> {
        match &self.slots[id.0 as usize].attrs {
            Some(a) => a,
            None => unreachable!("attribute id {id:?} used after free"),
        }
    }

    /// Frees every set still unreferenced; returns them so that caches keyed
    /// by their ids can be cleared.
    pub(crate) fn sweep(&mut self) -> Vec<(AttrId, Arc<StoredAttrs>)> {
        let mut freed = Vec::new();
        for id in std::mem::take(&mut self.dead) {
            let s = &mut self.slots[id as usize];
            if s.refs != 0 {
                continue; // revived within the same call
            }
            if let Some(a) = s.attrs.take() {
                self.map.remove(&a);
                self.free.push(id);
                freed.push((AttrId(id), a));
            }
        }
        freed
    }

    /// Number of live attribute sets.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Upper bound on ids handed out (for id-indexed caches).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::Origin;

    fn set(med: u32) -> StoredAttrs {
        StoredAttrs {
            src: 1,
            family: AfiSafi::IPV4_UNICAST,
            next_hop: None,
            iface: None,
            attrs: PathAttrs { origin: Some(Origin::Igp), med: Some(med), ..PathAttrs::default() },
            import: None,
        }
    }

    #[test]
    fn identical_sets_share_one_id() {
        let mut i = Interner::default();
        let (a, new_a) = i.intern(set(1));
        let (b, new_b) = i.intern(set(1));
        let (c, _) = i.intern(set(2));
        assert_eq!(a, b);
        assert!(new_a && !new_b);
        assert_ne!(a, c);
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn unreferenced_set_is_freed_at_sweep_and_its_id_reused() {
        let mut i = Interner::default();
        let (a, _) = i.intern(set(1));
        i.decref(a);
        let freed = i.sweep();
        assert_eq!(freed.len(), 1);
        assert_eq!(i.len(), 0);
        let (b, new) = i.intern(set(9));
        assert!(new);
        assert_eq!(a, b, "slot reused");
    }

    #[test]
    fn set_revived_before_sweep_survives() {
        let mut i = Interner::default();
        let (a, _) = i.intern(set(1));
        i.decref(a);
        let (b, new) = i.intern(set(1));
        assert_eq!((a, new), (b, false));
        assert!(i.sweep().is_empty());
        assert_eq!(i.get(a).attrs.med, Some(1));
    }
}
