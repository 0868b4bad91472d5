//! The diff between the routes we want and the routes the kernel holds with our protocol.
//!
//! Pure. Routes are grouped by [`RouteKey`] (table, prefix); within a key:
//!
//! ```text
//!  desired   kernel (proto bird)            ops
//!  -------   -------------------            ------------------------------------------
//!  R         R                              none (a still-right route is never touched)
//!  R         R' (same metric)               Replace(R)       rewritten in place
//!  R         R' (other metric)              Replace(R), Delete(R')   make before break
//!  R         -                              Replace(R)       NLM_F_REPLACE creates it
//!  -         R'                             Delete(R')  (or nothing while adopting: Orphans::Keep)
//! ```
//!
//! Every attribute the kernel keys or forwards on is compared: device, gateway, onlink,
//! metric, table and the multipath set (canonically sorted by [`RouteKind::from_hops`]).
//! All replaces come before all deletes, so a moved route is never missing.
//!
//! [`RouteKind::from_hops`]: crate::route::RouteKind::from_hops

use crate::hash::FastMap;
use crate::route::{DesiredRoute, KernelRoute, Route, RouteKey};

/// One kernel operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE`: creates or overwrites the
    /// route with this table, prefix and metric.
    Replace(Route),
    /// `RTM_DELROUTE` of exactly this table, prefix, metric and protocol; a route that is
    /// already gone counts as deleted.
    Delete(Route),
}

impl Op {
    /// The route the op is about.
    pub fn route(&self) -> &Route {
        match self {
            Op::Replace(r) | Op::Delete(r) => r,
        }
    }
}

/// What to do with kernel routes of ours that nothing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orphans {
    /// Delete them (normal running, and after convergence at start).
    Delete,
    /// Keep them: at start, routes found in the kernel are adopted as stale and left in
    /// place until routing has converged (BIRD's `persist` + graceful restart).
    Keep,
}

/// The ops for one key: `desired` (at most one route) against what the kernel holds there.
/// Replaces are pushed to `replaces`, deletes to `deletes`.
pub fn plan_key(
    desired: Option<&DesiredRoute>,
    kernel: &[KernelRoute],
    orphans: Orphans,
    replaces: &mut Vec<Op>,
    deletes: &mut Vec<Op>,
) {
    if let Some(want) = desired {
        if !kernel.contains(want) {
            replaces.push(Op::Replace(want.clone()));
        }
    }
    for k in kernel {
        let keep = match desired {
            // The exact route, or the one the Replace above overwrites (same metric is
            // the same kernel route: a delete would remove the fresh replacement).
            Some(want) => k.metric == want.metric,
            None => orphans == Orphans::Keep,
        };
        if !keep {
            deletes.push(Op::Delete(k.clone()));
        }
    }
}

/// What the kernel holds with our protocol, by key: the FIB's model of the kernel,
/// kept from dumps, our own successful writes and notifications. Almost every key has
/// one route, so that case is stored inline (no allocation per route).
#[derive(Debug, Default)]
pub struct KernelModel {
    map: crate::hash::FastMap<RouteKey, Held>,
    routes: usize,
}

#[derive(Debug)]
enum Held {
    One(KernelRoute),
    Many(Vec<KernelRoute>),
}

impl Held {
    fn as_slice(&self) -> &[KernelRoute] {
        match self {
            Held::One(r) => std::slice::from_ref(r),
            Held::Many(v) => v,
        }
    }
}

impl KernelModel {
    /// The routes held for `key` (usually zero or one).
    pub fn get(&self, key: &RouteKey) -> &[KernelRoute] {
        self.map.get(key).map(Held::as_slice).unwrap_or(&[])
    }

    /// Whether anything is held for `key`.
    pub fn contains(&self, key: &RouteKey) -> bool {
        self.map.contains_key(key)
    }

    /// Records `r` as installed, replacing the route with the same key and metric.
    pub fn put(&mut self, r: KernelRoute) {
        // One map access per route: this runs for every route written.
        match self.map.entry(r.key()) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Held::One(r));
                self.routes += 1;
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let h = e.get_mut();
                if let Held::One(o) = h {
                    if o.metric == r.metric {
                        *o = r;
                        return;
                    }
                    let old = std::mem::replace(h, Held::Many(Vec::with_capacity(2)));
                    if let (Held::One(o), Held::Many(v)) = (old, &mut *h) {
                        v.push(o);
                    }
                }
                if let Held::Many(v) = h {
                    match v.iter_mut().find(|o| o.metric == r.metric) {
                        Some(o) => *o = r,
                        None => {
                            v.push(r);
                            self.routes += 1;
                        }
                    }
                }
            }
        }
    }

    /// Forgets the route with this key and metric, if held.
    pub fn remove(&mut self, key: &RouteKey, metric: u32) {
        let Some(h) = self.map.get_mut(key) else { return };
        let empty = match h {
            Held::One(r) if r.metric == metric => true,
            Held::One(_) => false,
            Held::Many(v) => {
                let before = v.len();
                v.retain(|r| r.metric != metric);
                self.routes -= before - v.len();
                v.is_empty()
            }
        };
        if empty {
            if matches!(h, Held::One(_)) {
                self.routes -= 1;
            }
            self.map.remove(key);
        }
    }

    /// Number of keys with at least one route.
    pub fn keys_len(&self) -> usize {
        self.map.len()
    }

    /// Makes room for `additional` more keys without rehashing.
    pub fn reserve(&mut self, additional: usize) {
        self.map.reserve(additional);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.map.clear();
        self.routes = 0;
    }

    /// Keys with at least one route.
    pub fn keys(&self) -> impl Iterator<Item = &RouteKey> {
        self.map.keys()
    }

    /// Number of routes held.
    pub fn len(&self) -> usize {
        self.routes
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.routes == 0
    }
}

/// The full diff after a dump: every key either side holds, planned by [`plan_key`];
/// replaces then deletes, each in key order (the kernel inserts far faster in address
/// order than in hash order). `model` holds only routes with our protocol; routes of
/// other protocols are never ours to touch.
pub fn plan_resync(
    desired: &FastMap<RouteKey, DesiredRoute>,
    model: &KernelModel,
    orphans: Orphans,
) -> Vec<Op> {
    let mut replaces = Vec::new();
    let mut deletes = Vec::new();
    // Every key either side holds, without collecting the union (1M keys at scale).
    for key in model.keys() {
        plan_key(desired.get(key), model.get(key), orphans, &mut replaces, &mut deletes);
    }
    for (key, want) in desired {
        if !model.contains(key) {
            plan_key(Some(want), &[], orphans, &mut replaces, &mut deletes);
        }
    }
    replaces.sort_unstable_by_key(|op| op.route().key());
    deletes.sort_unstable_by_key(|op| op.route().key());
    replaces.extend(deletes);
    replaces
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::net::{IpAddr, Ipv4Addr};

    use ipnet::{IpNet, Ipv4Net};
    use proptest::prelude::*;

    use super::*;
    use crate::route::{MAIN_TABLE, NextHop, RouteKind};

    /// [`plan_resync`] of `desired` (a later route for a key replaces an earlier
    /// one, as in the FIB's map) against a kernel holding `kernel`.
    fn plan(desired: &[Route], kernel: &[Route], orphans: Orphans) -> Vec<Op> {
        let desired: FastMap<RouteKey, Route> =
            desired.iter().map(|d| (d.key(), d.clone())).collect();
        let mut model = KernelModel::default();
        for k in kernel {
            model.put(k.clone());
        }
        plan_resync(&desired, &model, orphans)
    }

    fn r(prefix: &str, gw: &str, dev: u32, metric: u32) -> Route {
        Route {
            prefix: prefix.parse().unwrap(),
            kind: RouteKind::Via(NextHop { gateway: gw.parse().unwrap(), dev, onlink: false }),
            table: MAIN_TABLE,
            metric,
        }
    }

    #[test]
    fn still_right_route_is_not_touched() {
        let a = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        assert!(plan(&[a.clone()], &[a], Orphans::Delete).is_empty());
    }

    #[test]
    fn every_attribute_that_matters_triggers_a_replace() {
        let base = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        let hop = |gw: &str, dev, onlink| NextHop { gateway: gw.parse().unwrap(), dev, onlink };
        let variants = [
            ("device", Route { kind: RouteKind::Via(hop("10.0.0.7", 3, false)), ..base.clone() }),
            ("gateway", Route { kind: RouteKind::Via(hop("10.0.0.8", 2, false)), ..base.clone() }),
            ("onlink", Route { kind: RouteKind::Via(hop("10.0.0.7", 2, true)), ..base.clone() }),
            ("blackhole", Route { kind: RouteKind::Blackhole, ..base.clone() }),
            (
                "multipath",
                Route {
                    kind: RouteKind::from_hops(vec![
                        hop("10.0.0.7", 2, false),
                        hop("10.0.0.8", 2, false),
                    ])
                    .unwrap(),
                    ..base.clone()
                },
            ),
        ];
        for (what, kernel) in variants {
            let ops = plan(&[base.clone()], &[kernel], Orphans::Delete);
            assert_eq!(ops, vec![Op::Replace(base.clone())], "{what} differs");
        }
    }

    #[test]
    fn metric_change_replaces_then_deletes_the_old_metric() {
        let old = r("10.244.1.0/26", "10.0.0.7", 2, 10);
        let new = r("10.244.1.0/26", "10.0.0.7", 2, 20);
        let ops = plan(&[new.clone()], &[old.clone()], Orphans::Delete);
        assert_eq!(ops, vec![Op::Replace(new), Op::Delete(old)]);
    }

    #[test]
    fn table_is_part_of_the_key() {
        let main = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        let other = Route { table: 1000, ..main.clone() };
        let ops = plan(&[other.clone()], &[main.clone()], Orphans::Delete);
        assert_eq!(ops, vec![Op::Replace(other), Op::Delete(main)]);
    }

    #[test]
    fn orphans_are_kept_while_adopting_and_deleted_after() {
        let stale = r("10.244.9.0/26", "10.0.0.9", 2, 0);
        let right = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        let kernel = [stale.clone(), right.clone()];
        assert!(plan(&[right.clone()], &kernel, Orphans::Keep).is_empty());
        assert_eq!(plan(&[right], &kernel, Orphans::Delete), vec![Op::Delete(stale)]);
    }

    #[test]
    fn missing_route_is_created_by_replace() {
        let a = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        assert_eq!(plan(&[a.clone()], &[], Orphans::Keep), vec![Op::Replace(a)]);
    }

    #[test]
    fn kernel_model_keeps_one_route_per_key_and_metric() {
        let mut m = KernelModel::default();
        let a = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        let a2 = r("10.244.1.0/26", "10.0.0.8", 2, 0);
        let b = r("10.244.1.0/26", "10.0.0.7", 2, 10);
        m.put(a.clone());
        m.put(a2.clone());
        assert_eq!(m.get(&a.key()), &[a2.clone()]);
        m.put(b.clone());
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(&a.key()), &[a2.clone(), b.clone()]);
        m.remove(&a.key(), 0);
        assert_eq!(m.get(&a.key()), &[b.clone()]);
        m.remove(&a.key(), 10);
        assert!(m.is_empty() && !m.contains(&a.key()));
        m.remove(&a.key(), 10);
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn replaces_come_before_deletes() {
        let gone = r("10.244.9.0/26", "10.0.0.9", 2, 0);
        let new = r("10.244.1.0/26", "10.0.0.7", 2, 0);
        let ops = plan(&[new.clone()], &[gone.clone()], Orphans::Delete);
        assert_eq!(ops, vec![Op::Replace(new), Op::Delete(gone)]);
    }

    /// A model kernel: one route per (table, prefix, metric), as Linux keeps IPv4 routes.
    fn apply(kernel: &[Route], ops: &[Op]) -> HashSet<Route> {
        let mut m: HashMap<(RouteKey, u32), Route> =
            kernel.iter().map(|k| ((k.key(), k.metric), k.clone())).collect();
        for op in ops {
            match op {
                Op::Replace(r) => m.insert((r.key(), r.metric), r.clone()),
                Op::Delete(r) => m.remove(&(r.key(), r.metric)),
            };
        }
        m.into_values().collect()
    }

    fn arb_route() -> impl Strategy<Value = Route> {
        (0u8..8, 0u32..3, 0u8..4, 1u32..3, any::<bool>(), prop::bool::weighted(0.1)).prop_map(
            |(p, metric, gw, dev, onlink, blackhole)| Route {
                prefix: IpNet::V4(Ipv4Net::new(Ipv4Addr::new(10, 244, p, 0), 24).unwrap()),
                kind: if blackhole {
                    RouteKind::Blackhole
                } else {
                    RouteKind::Via(NextHop {
                        gateway: IpAddr::V4(Ipv4Addr::new(10, 0, 0, gw)),
                        dev,
                        onlink,
                    })
                },
                table: MAIN_TABLE,
                metric,
            },
        )
    }

    fn unique_metrics(v: Vec<Route>) -> Vec<Route> {
        let mut seen = HashSet::new();
        v.into_iter().filter(|r| seen.insert((r.key(), r.metric))).collect()
    }

    proptest! {
        #[test]
        fn applying_the_plan_yields_exactly_the_desired_routes(
            desired in prop::collection::vec(arb_route(), 0..12),
            kernel in prop::collection::vec(arb_route(), 0..12),
        ) {
            let mut seen = HashSet::new();
            let desired: Vec<Route> = desired.into_iter().filter(|r| seen.insert(r.key())).collect();
            let kernel = unique_metrics(kernel);
            let ops = plan(&desired, &kernel, Orphans::Delete);
            let after = apply(&kernel, &ops);
            prop_assert_eq!(&after, &desired.iter().cloned().collect::<HashSet<_>>());
            // Minimal: nothing already right is touched, and a second plan is empty.
            for op in &ops {
                if let Op::Replace(r) = op { prop_assert!(!kernel.contains(r)); }
                if let Op::Delete(r) = op { prop_assert!(!desired.contains(r)); }
            }
            let again: Vec<Route> = after.into_iter().collect();
            prop_assert!(plan(&desired, &again, Orphans::Delete).is_empty());
        }

        #[test]
        fn adopting_never_deletes_an_unwanted_key(
            desired in prop::collection::vec(arb_route(), 0..12),
            kernel in prop::collection::vec(arb_route(), 0..12),
        ) {
            let kernel = unique_metrics(kernel);
            let want: HashSet<RouteKey> = desired.iter().map(Route::key).collect();
            for op in plan(&desired, &kernel, Orphans::Keep) {
                if let Op::Delete(r) = op { prop_assert!(want.contains(&r.key())); }
            }
        }
    }
}
