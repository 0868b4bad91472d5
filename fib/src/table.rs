//! The FIB's per-prefix state, compact: for every prefix in the configured table,
//! the RIB's best route, the route the policy wants in the kernel, and the routes
//! of ours (protocol 12) the kernel holds there (the kernel model the plan diffs
//! against, kept from dumps, our own successful writes and notifications).
//!
//! A full table is a million prefixes that share a handful of next-hop sets, so the
//! routes themselves are interned ([`Shapes`]): a prefix costs one map slot of three
//! 4-octet handles, keyed by the packed prefix (IPv4 and IPv6 in separate maps, so an
//! IPv4 key is 8 octets). Before, three maps each held a full `Route` or `BestRoute`
//! per prefix (about 650 bytes per prefix with their `Vec`s and hash-table slack).
//! Pure: no I/O.

use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::hash::FastMap;
use crate::policy::BestRoute;
use crate::route::{KernelRoute, Route, RouteKind};

/// No value behind a handle.
const NONE: u32 = u32::MAX;

/// Interned values with reference counts: a handle per distinct value, freed with
/// its last user. The last value interned is compared first, so a run of equal
/// values (a table from one peer) costs no hashing.
#[derive(Debug)]
pub struct Shapes<T> {
    items: Vec<(T, u32)>,
    index: FastMap<T, u32>,
    free: Vec<u32>,
    last: u32,
}

impl<T> Default for Shapes<T> {
    fn default() -> Self {
        Shapes { items: Vec::new(), index: FastMap::default(), free: Vec::new(), last: NONE }
    }
}

impl<T: Eq + Hash> Shapes<T> {
    /// A handle on `v`, counted once more.
    pub fn intern<Q>(&mut self, v: &Q) -> u32
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
    {
        if let Some((last, refs)) = self.items.get_mut(self.last as usize) {
            if <T as Borrow<Q>>::borrow(last) == v {
                *refs += 1;
                return self.last;
            }
        }
        let h = match self.index.get(v) {
            Some(&h) => {
                self.items[h as usize].1 += 1;
                h
            }
            None => {
                let h = match self.free.pop() {
                    Some(h) => {
                        self.items[h as usize] = (v.to_owned(), 1);
                        h
                    }
                    None => {
                        self.items.push((v.to_owned(), 1));
                        u32::try_from(self.items.len() - 1).unwrap_or(NONE)
                    }
                };
                self.index.insert(v.to_owned(), h);
                h
            }
        };
        self.last = h;
        h
    }

    /// The value of a live handle.
    pub fn get(&self, h: u32) -> &T {
        &self.items[h as usize].0
    }

    /// One user of `h` fewer; the value goes with its last.
    pub fn release(&mut self, h: u32) {
        let Some((v, refs)) = self.items.get_mut(h as usize) else { return };
        *refs -= 1;
        if *refs == 0 {
            self.index.remove(v);
            self.free.push(h);
            if self.last == h {
                self.last = NONE;
            }
        }
    }

    /// Distinct live values.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no value is live.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// A best route without its prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Best {
    next_hops: Vec<IpAddr>,
    local_block: bool,
    priority: u32,
}

/// A route without its prefix and table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    kind: RouteKind,
    metric: u32,
}

/// One prefix: handles on its best route, wanted route and held routes (a set,
/// sorted by metric; almost always one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    best: u32,
    want: u32,
    held: u32,
}

impl Slot {
    const EMPTY: Slot = Slot { best: NONE, want: NONE, held: NONE };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct V4 {
    addr: u32,
    len: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct V6 {
    addr: [u8; 16],
    len: u8,
}

/// The interned values and the counts, apart from the maps so that a slot and
/// they can be borrowed together.
#[derive(Debug, Default)]
struct Parts {
    bests: Shapes<Best>,
    wants: Shapes<Shape>,
    helds: Shapes<Vec<Shape>>,
    n_best: usize,
    n_want: usize,
    n_held: usize,
}

/// The FIB's state for every prefix of one table. See the module documentation.
#[derive(Debug)]
pub struct PrefixTable {
    table: u32,
    v4: FastMap<V4, Slot>,
    v6: FastMap<V6, Slot>,
    parts: Parts,
}

fn v4(n: &Ipv4Net) -> V4 {
    V4 { addr: u32::from(n.addr()), len: n.prefix_len() }
}

fn v6(n: &Ipv6Net) -> V6 {
    V6 { addr: n.addr().octets(), len: n.prefix_len() }
}

fn net4(k: &V4) -> Option<IpNet> {
    Ipv4Net::new(Ipv4Addr::from(k.addr), k.len).ok().map(IpNet::V4)
}

fn net6(k: &V6) -> Option<IpNet> {
    Ipv6Net::new(Ipv6Addr::from(k.addr), k.len).ok().map(IpNet::V6)
}

/// Runs `f` on the slot of `k` (an empty one if none), and drops the slot if `f`
/// left it empty: one map access.
fn update_in<K: Hash + Eq, R>(
    map: &mut FastMap<K, Slot>,
    k: K,
    parts: &mut Parts,
    f: impl FnOnce(&mut Slot, &mut Parts) -> R,
) -> R {
    match map.entry(k) {
        Entry::Occupied(mut e) => {
            let r = f(e.get_mut(), parts);
            if *e.get() == Slot::EMPTY {
                e.remove();
            }
            r
        }
        Entry::Vacant(e) => {
            let mut s = Slot::EMPTY;
            let r = f(&mut s, parts);
            if s != Slot::EMPTY {
                e.insert(s);
            }
            r
        }
    }
}

impl PrefixTable {
    /// An empty state for routing table `table`.
    pub fn new(table: u32) -> PrefixTable {
        PrefixTable {
            table,
            v4: FastMap::default(),
            v6: FastMap::default(),
            parts: Parts::default(),
        }
    }

    fn slot(&self, p: &IpNet) -> Option<&Slot> {
        match p {
            IpNet::V4(n) => self.v4.get(&v4(n)),
            IpNet::V6(n) => self.v6.get(&v6(n)),
        }
    }

    fn update<R>(&mut self, p: &IpNet, f: impl FnOnce(&mut Slot, &mut Parts) -> R) -> R {
        match p {
            IpNet::V4(n) => update_in(&mut self.v4, v4(n), &mut self.parts, f),
            IpNet::V6(n) => update_in(&mut self.v6, v6(n), &mut self.parts, f),
        }
    }

    fn route(&self, prefix: IpNet, s: &Shape) -> Route {
        Route { prefix, kind: s.kind.clone(), table: self.table, metric: s.metric }
    }

    /// Makes room for this many IPv4 and IPv6 prefixes in all without rehashing.
    pub fn reserve(&mut self, v4: usize, v6: usize) {
        self.v4.reserve(v4.saturating_sub(self.v4.len()));
        self.v6.reserve(v6.saturating_sub(self.v6.len()));
    }

    /// Prefixes with any state, IPv4 first, in no particular order.
    pub fn prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.v4.keys().filter_map(net4).chain(self.v6.keys().filter_map(net6))
    }

    fn slots(&self) -> impl Iterator<Item = (IpNet, &Slot)> + '_ {
        let a = self.v4.iter().filter_map(|(k, s)| Some((net4(k)?, s)));
        a.chain(self.v6.iter().filter_map(|(k, s)| Some((net6(k)?, s))))
    }

    /// Prefixes with a best route or a wanted route.
    pub fn decided(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.slots().filter(|(_, s)| s.best != NONE || s.want != NONE).map(|(p, _)| p)
    }

    /// The RIB's best route for `prefix`.
    pub fn best(&self, prefix: &IpNet) -> Option<BestRoute> {
        let s = self.slot(prefix).filter(|s| s.best != NONE)?;
        let b = self.parts.bests.get(s.best);
        Some(BestRoute {
            prefix: *prefix,
            next_hops: b.next_hops.clone(),
            local_block: b.local_block,
            priority: b.priority,
        })
    }

    /// Prefixes with a best route, with its next hops.
    pub fn best_next_hops(&self) -> impl Iterator<Item = (IpNet, &[IpAddr])> + '_ {
        self.slots()
            .filter(|(_, s)| s.best != NONE)
            .map(|(p, s)| (p, self.parts.bests.get(s.best).next_hops.as_slice()))
    }

    /// Records the RIB's best route for its prefix (`None`: withdrawn). Taken by
    /// value: its next hops are moved into the interned value or dropped.
    pub fn set_best(&mut self, prefix: &IpNet, best: Option<BestRoute>) {
        let new = best.map(|b| Best {
            next_hops: b.next_hops,
            local_block: b.local_block,
            priority: b.priority,
        });
        self.update(prefix, |s, p| {
            let h = new.as_ref().map_or(NONE, |b| p.bests.intern(b));
            let had = s.best != NONE;
            if had {
                p.bests.release(s.best);
            }
            match (had, h != NONE) {
                (false, true) => p.n_best += 1,
                (true, false) => p.n_best -= 1,
                _ => {}
            }
            s.best = h;
        });
    }

    /// Prefixes with a best route.
    pub fn bests(&self) -> usize {
        self.parts.n_best
    }

    /// The route wanted for `prefix`.
    pub fn want(&self, prefix: &IpNet) -> Option<Route> {
        let s = self.slot(prefix).filter(|s| s.want != NONE)?;
        Some(self.route(*prefix, self.parts.wants.get(s.want)))
    }

    /// Whether a route is wanted for `prefix`.
    pub fn is_wanted(&self, prefix: &IpNet) -> bool {
        self.slot(prefix).is_some_and(|s| s.want != NONE)
    }

    /// Records the route wanted for `prefix` (`None`: nothing); returns the one
    /// wanted before.
    pub fn set_want(&mut self, prefix: &IpNet, want: Option<&Route>) -> Option<Route> {
        let new = want.map(|r| Shape { kind: r.kind.clone(), metric: r.metric });
        let table = self.table;
        self.update(prefix, |s, p| {
            let h = new.as_ref().map_or(NONE, |w| p.wants.intern(w));
            let old = (s.want != NONE).then(|| {
                let o = p.wants.get(s.want);
                let r = Route { prefix: *prefix, kind: o.kind.clone(), table, metric: o.metric };
                p.wants.release(s.want);
                r
            });
            match (old.is_some(), h != NONE) {
                (false, true) => p.n_want += 1,
                (true, false) => p.n_want -= 1,
                _ => {}
            }
            s.want = h;
            old
        })
    }

    /// Prefixes with a wanted route.
    pub fn wants(&self) -> usize {
        self.parts.n_want
    }

    /// Every wanted route, in no particular order.
    pub fn wanted_routes(&self) -> Vec<Route> {
        self.slots()
            .filter(|(_, s)| s.want != NONE)
            .map(|(p, s)| self.route(p, self.parts.wants.get(s.want)))
            .collect()
    }

    /// The routes of ours the kernel holds for `prefix` into `out` (cleared first;
    /// usually none or one).
    pub fn held_into(&self, prefix: &IpNet, out: &mut Vec<KernelRoute>) {
        out.clear();
        if let Some(s) = self.slot(prefix).filter(|s| s.held != NONE) {
            out.extend(self.parts.helds.get(s.held).iter().map(|h| self.route(*prefix, h)));
        }
    }

    /// Whether the kernel holds any route of ours for `prefix`.
    pub fn is_held(&self, prefix: &IpNet) -> bool {
        self.slot(prefix).is_some_and(|s| s.held != NONE)
    }

    /// Records `r` as installed (its table is taken to be this one), replacing the
    /// route with the same prefix and metric.
    pub fn hold(&mut self, r: &KernelRoute) {
        let shape = Shape { kind: r.kind.clone(), metric: r.metric };
        self.update(&r.prefix, |s, p| {
            let held = (s.held != NONE).then(|| p.helds.get(s.held).as_slice());
            match held {
                // The common cases, a new route or one rewritten in place, without a copy.
                None => replace_held(s, p, std::slice::from_ref(&shape), 0),
                Some([one]) if one.metric == shape.metric => {
                    replace_held(s, p, std::slice::from_ref(&shape), 1)
                }
                Some(set) => {
                    let mut set = set.to_vec();
                    let before = set.len();
                    match set.binary_search_by_key(&shape.metric, |x| x.metric) {
                        Ok(i) => set[i] = shape,
                        Err(i) => set.insert(i, shape),
                    }
                    replace_held(s, p, &set, before);
                }
            }
        });
    }

    /// Forgets the held route of `prefix` with this metric, if any.
    pub fn forget(&mut self, prefix: &IpNet, metric: u32) {
        self.update(prefix, |s, p| {
            if s.held == NONE {
                return;
            }
            let held = p.helds.get(s.held);
            let before = held.len();
            if held.iter().any(|x| x.metric == metric) {
                let set: Vec<Shape> = held.iter().filter(|x| x.metric != metric).cloned().collect();
                replace_held(s, p, &set, before);
            }
        });
    }

    /// Forgets every held route (before a dump is taken as the new model).
    pub fn forget_all_held(&mut self) {
        let parts = &mut self.parts;
        let mut clear = |s: &mut Slot| {
            if s.held != NONE {
                parts.helds.release(s.held);
                s.held = NONE;
            }
            *s != Slot::EMPTY
        };
        self.v4.retain(|_, s| clear(s));
        self.v6.retain(|_, s| clear(s));
        self.parts.n_held = 0;
    }

    /// Routes held.
    pub fn held_routes(&self) -> usize {
        self.parts.n_held
    }

    /// Every held route, in no particular order.
    pub fn all_held(&self) -> Vec<Route> {
        let mut out = Vec::with_capacity(self.parts.n_held);
        for (p, s) in self.slots().filter(|(_, s)| s.held != NONE) {
            out.extend(self.parts.helds.get(s.held).iter().map(|h| self.route(p, h)));
        }
        out
    }

    /// Distinct interned best routes, wanted routes and held sets (for figures).
    pub fn interned(&self) -> (usize, usize, usize) {
        (self.parts.bests.len(), self.parts.wants.len(), self.parts.helds.len())
    }
}

/// Puts `set` (which had `before` routes) in place of the slot's held set.
fn replace_held(s: &mut Slot, p: &mut Parts, set: &[Shape], before: usize) {
    let h = if set.is_empty() { NONE } else { p.helds.intern(set) };
    if s.held != NONE {
        p.helds.release(s.held);
    }
    p.n_held = p.n_held + set.len() - before;
    s.held = h;
}

#[cfg(test)]
mod tests;
