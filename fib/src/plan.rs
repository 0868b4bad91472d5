//! The diff between the routes we want and the routes the kernel holds with our protocol.
//!
//! Pure. Routes are grouped by [`RouteKey`](crate::route::RouteKey) (table, prefix); within a key:
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

use crate::route::{DesiredRoute, KernelRoute, Route};

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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::net::{IpAddr, Ipv4Addr};

    use ipnet::{IpNet, Ipv4Net};
    use proptest::prelude::*;

    use super::*;
    use crate::route::{MAIN_TABLE, NextHop, RouteKey, RouteKind};

    /// The full diff the actor's resync builds, key by key with [`plan_key`] as
    /// the actor does: replaces (in desired order) then deletes.
    fn plan(desired: &[DesiredRoute], kernel: &[KernelRoute], orphans: Orphans) -> Vec<Op> {
        let mut by_key: HashMap<RouteKey, Vec<KernelRoute>> = HashMap::with_capacity(kernel.len());
        for k in kernel {
            by_key.entry(k.key()).or_default().push(k.clone());
        }
        let mut replaces = Vec::new();
        let mut deletes = Vec::new();
        let mut want_keys: HashMap<RouteKey, &DesiredRoute> = HashMap::with_capacity(desired.len());
        for d in desired {
            // Two desired routes for one key: the later one wins, like a map insert.
            want_keys.insert(d.key(), d);
        }
        for d in desired {
            if want_keys.get(&d.key()).is_some_and(|w| std::ptr::eq(*w, d)) {
                let have = by_key.get(&d.key()).map(Vec::as_slice).unwrap_or(&[]);
                plan_key(Some(d), have, orphans, &mut replaces, &mut deletes);
            }
        }
        // Deterministic delete order for orphans (tests and logs).
        let orphan_keys: BTreeMap<RouteKey, &Vec<KernelRoute>> = by_key
            .iter()
            .filter(|(k, _)| !want_keys.contains_key(*k))
            .map(|(k, v)| (*k, v))
            .collect();
        for have in orphan_keys.values() {
            plan_key(None, have, orphans, &mut replaces, &mut deletes);
        }
        replaces.extend(deletes);
        replaces
    }

    use crate::route::via as r;

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
