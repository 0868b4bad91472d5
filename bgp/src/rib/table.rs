//! The prefix table that holds, per destination, every path known for it:
//! the Adj-RIBs-In of all peers and the local routes, with the Loc-RIB
//! choice marked on them (RFC 4271 §3.2 describes the three RIBs as a
//! logical split; storing them together costs one entry per path).
//!
//! ```text
//!   v4: HashMap<Ipv4Net, u32> ─┐          dests[u32] = Paths
//!   v6: HashMap<Ipv6Net, u32> ─┴──────►   One(Path)            (the common case, inline)
//!                                         Many(Box<Vec<Path>>) (ADD-PATH, several peers)
//!   Path = { src peer, rx path id, AttrId, tx path id, verdict, flags }  20 octets
//! ```
//!
//! The maps hold only a 4-octet index so that their half-empty buckets
//! (hashbrown grows at 7/8 load) stay cheap; the paths live in a dense slab.

use std::collections::hash_map::Entry;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::best::RejectReason;
use super::hash::FxHashMap;
use super::intern::AttrId;

/// Path flag: selected as best (the Loc-RIB route).
pub(crate) const BEST: u8 = 1;
/// Path flag: in the multipath (ECMP) set.
pub(crate) const MULTIPATH: u8 = 2;
/// Path flag: usable (passed import checks and its next hop resolves).
pub(crate) const ELIGIBLE: u8 = 4;
/// Path flag: refused by an import check (AS loop, RR loops); `verdict`
/// says which. Fixed for the life of the attribute set.
pub(crate) const IMPORT_REJECTED: u8 = 8;
/// Path flag: left over from a session that went down gracefully (RFC 4724
/// §4.2 stale marking), until re-advertised or swept (see `graceful.rs`).
pub(crate) const STALE: u8 = 16;

/// One path to a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Path {
    /// Internal peer slot (0: locally originated).
    pub src: u32,
    /// Path identifier received with ADD-PATH (0 without).
    pub rx_id: u32,
    /// Interned attributes.
    pub attrs: AttrId,
    /// Path identifier we send with ADD-PATH; stable while the path lives.
    pub tx_id: u32,
    /// Why the path is not best or not usable.
    pub verdict: Option<RejectReason>,
    /// `BEST | MULTIPATH | ELIGIBLE | IMPORT_REJECTED | STALE`.
    pub flags: u8,
}

impl Path {
    #[inline]
    pub(crate) fn is(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// A route learned from the kernel (`kernel.rs`).
    #[inline]
    pub(crate) fn is_kernel(&self) -> bool {
        self.src == 0 && self.rx_id == super::kernel::KERNEL_RX_ID
    }
}

/// The paths of one destination.
#[derive(Clone, Debug)]
#[allow(
    clippy::box_collection,
    reason = "a thin pointer keeps the enum at 24 octets, so a one-path destination (nearly all of a full table) costs no allocation and no 32-octet slot"
)]
pub(crate) enum Paths {
    One(Path),
    Many(Box<Vec<Path>>),
}

impl Paths {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Path] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }

    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v,
        }
    }

    pub(crate) fn push(&mut self, p: Path) {
        match self {
            Paths::One(first) => *self = Paths::Many(Box::new(vec![*first, p])),
            Paths::Many(v) => v.push(p),
        }
    }

    /// Removes path `i`; returns false if nothing is left (the caller then
    /// drops the destination).
    pub(crate) fn remove(&mut self, i: usize) -> bool {
        match self {
            Paths::One(_) => false,
            Paths::Many(v) => {
                v.remove(i);
                if v.len() == 1 {
                    *self = Paths::One(v[0]);
                }
                true
            }
        }
    }

    /// The smallest path identifier ≥ 1 not used by a path here: new paths
    /// get a fresh id, kept while they live, so the peer can tell them apart
    /// (RFC 7911 §3: the identifier "can be used ... to identify a path").
    pub(crate) fn free_tx_id(&self) -> u32 {
        let used = self.as_slice();
        (1..).find(|id| used.iter().all(|p| p.tx_id != *id)).unwrap_or(u32::MAX)
    }
}

/// Index of a destination in the slab.
pub(crate) type DestId = u32;

/// The table.
#[derive(Debug, Default)]
pub(crate) struct Table {
    v4: FxHashMap<Ipv4Net, DestId>,
    v6: FxHashMap<Ipv6Net, DestId>,
    dests: Vec<Option<Paths>>,
    free: Vec<DestId>,
    /// Paths held, IPv4 and IPv6: `show status` and the metrics read them
    /// at every publication, and a walk of a full table stalls routing.
    paths: [u64; 2],
}

fn fam(prefix: IpNet) -> usize {
    usize::from(matches!(prefix, IpNet::V6(_)))
}

impl Table {
    pub(crate) fn get(&self, prefix: IpNet) -> Option<DestId> {
        match prefix {
            IpNet::V4(p) => self.v4.get(&p).copied(),
            IpNet::V6(p) => self.v6.get(&p).copied(),
        }
    }

    /// The destination of `prefix`, or a new one holding `first` (one hash
    /// probe either way). Returns whether it was created.
    pub(crate) fn get_or_insert(&mut self, prefix: IpNet, first: Path) -> (DestId, bool) {
        let next = match self.free.last() {
            Some(&id) => id,
            None => self.dests.len() as DestId,
        };
        let (id, created) = match prefix {
            IpNet::V4(p) => match self.v4.entry(p) {
                Entry::Occupied(e) => (*e.get(), false),
                Entry::Vacant(e) => (*e.insert(next), true),
            },
            IpNet::V6(p) => match self.v6.entry(p) {
                Entry::Occupied(e) => (*e.get(), false),
                Entry::Vacant(e) => (*e.insert(next), true),
            },
        };
        if created {
            if self.free.pop().is_none() {
                self.dests.push(None);
            }
            self.dests[id as usize] = Some(Paths::One(first));
            self.paths[fam(prefix)] += 1;
        }
        (id, created)
    }

    /// Adds a destination holding `first`; the prefix must be absent.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, prefix: IpNet, first: Path) -> DestId {
        let id = match self.free.pop() {
            Some(id) => {
                self.dests[id as usize] = Some(Paths::One(first));
                id
            }
            None => {
                self.dests.push(Some(Paths::One(first)));
                (self.dests.len() - 1) as DestId
            }
        };
        match prefix {
            IpNet::V4(p) => self.v4.insert(p, id),
            IpNet::V6(p) => self.v6.insert(p, id),
        };
        self.paths[fam(prefix)] += 1;
        id
    }

    /// Adds a path to the existing destination `id` of `prefix`.
    pub(crate) fn push_path(&mut self, prefix: IpNet, id: DestId, p: Path) {
        self.paths_mut(id).push(p);
        self.paths[fam(prefix)] += 1;
    }

    /// Removes path `i` of destination `id`; false if it was the last, and
    /// the destination is gone with it.
    pub(crate) fn remove_path(&mut self, prefix: IpNet, id: DestId, i: usize) -> bool {
        self.paths[fam(prefix)] = self.paths[fam(prefix)].saturating_sub(1);
        if self.paths_mut(id).remove(i) {
            return true;
        }
        self.remove(prefix, id);
        false
    }

    /// Destinations and paths held, IPv4 then IPv6.
    pub(crate) fn sizes(&self) -> [(u64, u64); 2] {
        [(self.v4.len() as u64, self.paths[0]), (self.v6.len() as u64, self.paths[1])]
    }

    /// Drops a destination whose last path went.
    fn remove(&mut self, prefix: IpNet, id: DestId) {
        match prefix {
            IpNet::V4(p) => self.v4.remove(&p),
            IpNet::V6(p) => self.v6.remove(&p),
        };
        self.dests[id as usize] = None;
        self.free.push(id);
    }

    #[inline]
    pub(crate) fn paths(&self, id: DestId) -> &[Path] {
        self.dests[id as usize].as_ref().map_or(&[], Paths::as_slice)
    }

    #[inline]
    pub(crate) fn paths_mut(&mut self, id: DestId) -> &mut Paths {
        match &mut self.dests[id as usize] {
            Some(p) => p,
            None => unreachable!("destination {id} used after free"),
        }
    }

    /// Every destination of one address family (`v6` false: IPv4), in the
    /// map's (deterministic) order.
    pub(crate) fn family(&self, v6: bool) -> Vec<(IpNet, DestId)> {
        if v6 {
            self.v6.iter().map(|(p, id)| (IpNet::V6(*p), *id)).collect()
        } else {
            self.v4.iter().map(|(p, id)| (IpNet::V4(*p), *id)).collect()
        }
    }

    /// The destinations whose paths match `f`.
    pub(crate) fn collect_where(&self, f: impl Fn(&[Path]) -> bool) -> Vec<(IpNet, DestId)> {
        let v4 = self.v4.iter().map(|(p, id)| (IpNet::V4(*p), *id));
        let v6 = self.v6.iter().map(|(p, id)| (IpNet::V6(*p), *id));
        v4.chain(v6).filter(|(_, id)| f(self.paths(*id))).collect()
    }

    /// Number of destinations.
    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Pre-sizes the IPv4 map (a full table load).
    pub(crate) fn reserve_v4(&mut self, n: usize) {
        self.v4.reserve(n);
        self.dests.reserve(n);
    }
}

/// Whether `addr` has the family of `prefix`.
pub(crate) fn same_family(prefix: IpNet, addr: IpAddr) -> bool {
    matches!((prefix, addr), (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(src: u32, tx_id: u32) -> Path {
        Path { src, rx_id: 0, attrs: AttrId(0), tx_id, verdict: None, flags: 0 }
    }

    #[test]
    fn path_is_twenty_octets_and_one_path_dest_is_inline() {
        assert_eq!(std::mem::size_of::<Path>(), 20);
        assert!(std::mem::size_of::<Option<Paths>>() <= 24);
    }

    #[test]
    fn paths_grow_and_shrink_back_to_inline() {
        let mut p = Paths::One(path(1, 1));
        assert_eq!(p.free_tx_id(), 2);
        p.push(path(2, 2));
        assert_eq!(p.as_slice().len(), 2);
        assert!(p.remove(0));
        assert!(matches!(p, Paths::One(q) if q.src == 2));
        assert_eq!(p.free_tx_id(), 1, "freed ids are reused");
        assert!(!p.remove(0));
    }

    #[test]
    fn destinations_are_found_per_family_and_slots_reused() {
        let mut t = Table::default();
        let a: IpNet = "10.0.0.0/24".parse().unwrap();
        let b: IpNet = "2001:db8::/64".parse().unwrap();
        let ia = t.insert(a, path(1, 1));
        let ib = t.insert(b, path(1, 1));
        assert_eq!((t.get(a), t.get(b), t.len()), (Some(ia), Some(ib), 2));
        t.remove(a, ia);
        assert_eq!(t.get(a), None);
        let (ic, created) = t.get_or_insert("10.0.1.0/24".parse().unwrap(), path(1, 1));
        assert_eq!((ic, created), (ia, true));
        assert_eq!(t.get_or_insert(b, path(2, 1)), (ib, false));
        assert_eq!(t.family(true), vec![(b, ib)]);
    }
}
