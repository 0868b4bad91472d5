//! Routes other agents put in the kernel table, learned the way Calico's BIRD learns
//! them: its kernel protocol runs with `learn` (calico's `kernel_template`), so every
//! "alien" route of the table (Felix's `/32 dev caliXXXX` workload routes, its VXLAN
//! and IPIP routes, an operator's static routes) enters BIRD's table, and confd's export
//! filter then decides which go to peers. Pure: the netlink side parses and feeds
//! [`Learned`]; it says what changed.
//!
//! ```text
//!  kernel route                              learned?  (BIRD 1.6 sysdep/linux/netlink.c)
//!  proto unspec / redirect / kernel / bird   no        (kernel: connected subnets;
//!                                                        bird: our own routes)
//!  any other proto (boot, static, Felix 80)  yes
//!  type unicast / blackhole / unreachable / prohibit   yes; others (local, throw...) no
//!  TOS set (IPv4), input interface (IPv6), source prefix   no
//!  loopback, link-local, multicast, broadcast networks     no
//! ```
//!
//! The kernel keys a route by table, prefix and metric (`krt_same_key`): a prefix may
//! have several; like BIRD's `krt_learn_prune`, the one with the lowest metric is the
//! learned route of the prefix.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::route::{IfIndex, RouteKey};

/// An alien route as the netlink side parsed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alien {
    /// Table and prefix.
    pub key: RouteKey,
    /// `RTA_PRIORITY` (0 when absent).
    pub metric: u32,
    /// The output device of a single-path unicast route.
    pub dev: Option<IfIndex>,
}

/// The learned route of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedRoute {
    /// The destination.
    pub prefix: IpNet,
    /// The kernel metric (BIRD's `krt_metric`). Felix gives workload routes its
    /// normal route priority, 1024, and elevated ones (a live-migrating VM) less.
    pub metric: u32,
    /// The output device of a single-path unicast route (BIRD's `ifname`).
    pub dev: Option<IfIndex>,
    /// Its name, when known.
    pub device: Option<String>,
}

/// A prefix's learned route changed: `None` when it has none any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedChange {
    /// The prefix.
    pub prefix: IpNet,
    /// Its learned route now.
    pub route: Option<LearnedRoute>,
}

/// Whether BIRD learns a route to `prefix` at all: its network must be a host address
/// of a scope wider than the link (`ipa_classify_net` in BIRD 1.6), which leaves out
/// loopback, link-local, multicast and broadcast networks.
pub fn learnable(prefix: IpNet) -> bool {
    match prefix.network() {
        // The default route is the one network with a zero address BIRD takes.
        a if a.is_unspecified() => true,
        IpAddr::V4(a) => v4_host(a),
        IpAddr::V6(a) => {
            let s = a.segments();
            if s[..4] == [0; 4] {
                // ::/64: IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d)
                // addresses are classified as IPv4 (so `::1` is not a host); the rest
                // are invalid.
                let v4 = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
                return matches!((s[4], s[5]), (0, 0) | (0, 0xffff)) && v4_host(v4);
            }
            // fe80::/10 is link scope, ff00::/8 multicast.
            s[0] & 0xffc0 != 0xfe80 && s[0] & 0xff00 != 0xff00
        }
    }
}

/// BIRD's `ip4_classify` gives a host address of a scope wider than the link: not
/// 0/8, loopback, multicast or the broadcast address (240/4 is "site").
fn v4_host(a: Ipv4Addr) -> bool {
    matches!(a.octets()[0], 1..=0x7e | 0x80..=0xdf | 0xf0..=0xff) && !a.is_broadcast()
}

/// The learned routes of the table, every metric of every prefix.
#[derive(Debug, Default)]
pub struct Learned {
    routes: BTreeMap<IpNet, BTreeMap<u32, LearnedRoute>>,
}

impl Learned {
    fn best(&self, prefix: &IpNet) -> Option<&LearnedRoute> {
        self.routes.get(prefix).and_then(|m| m.values().next())
    }

    /// Applies `f` to the routes of `prefix`; the change of its best route, if any.
    fn with_prefix(
        &mut self,
        prefix: IpNet,
        f: impl FnOnce(&mut BTreeMap<u32, LearnedRoute>),
    ) -> Option<LearnedChange> {
        let before = self.best(&prefix).cloned();
        let m = self.routes.entry(prefix).or_default();
        f(m);
        if m.is_empty() {
            self.routes.remove(&prefix);
        }
        let after = self.best(&prefix).cloned();
        (before != after).then_some(LearnedChange { prefix, route: after })
    }

    /// A route appeared or changed (a new route with the key of an old one replaces it).
    pub fn upsert(&mut self, r: LearnedRoute) -> Option<LearnedChange> {
        self.with_prefix(r.prefix, |m| {
            m.insert(r.metric, r);
        })
    }

    /// The route of `prefix` with `metric` went away.
    pub fn remove(&mut self, prefix: IpNet, metric: u32) -> Option<LearnedChange> {
        if !self.routes.contains_key(&prefix) {
            return None;
        }
        self.with_prefix(prefix, |m| {
            m.remove(&metric);
        })
    }

    /// The kernel flushed the routes through device `dev`: every one when the device
    /// is deleted, the IPv4 ones when it goes down. It says nothing of the IPv4 ones
    /// (`fib_sync_down_dev`), so they are dropped here; IPv6 deletions are announced.
    pub fn remove_dev(&mut self, dev: IfIndex, v4_only: bool) -> Vec<LearnedChange> {
        let hit: Vec<IpNet> = self
            .routes
            .iter()
            .filter(|(p, m)| {
                (!v4_only || matches!(p, IpNet::V4(_))) && m.values().any(|r| r.dev == Some(dev))
            })
            .map(|(p, _)| *p)
            .collect();
        hit.into_iter()
            .filter_map(|p| self.with_prefix(p, |m| m.retain(|_, r| r.dev != Some(dev))))
            .collect()
    }

    /// Replaces everything with a fresh dump; the changes, by prefix.
    pub fn replace_all(&mut self, routes: Vec<LearnedRoute>) -> Vec<LearnedChange> {
        let mut new: BTreeMap<IpNet, BTreeMap<u32, LearnedRoute>> = BTreeMap::new();
        for r in routes {
            new.entry(r.prefix).or_default().insert(r.metric, r);
        }
        let old = std::mem::replace(&mut self.routes, new);
        let best = |m: &BTreeMap<u32, LearnedRoute>| m.values().next().cloned();
        let mut out: Vec<LearnedChange> = old
            .iter()
            .filter(|(p, _)| !self.routes.contains_key(p))
            .map(|(p, _)| LearnedChange { prefix: *p, route: None })
            .collect();
        for (p, m) in &self.routes {
            let now = best(m);
            if old.get(p).and_then(best) != now {
                out.push(LearnedChange { prefix: *p, route: now });
            }
        }
        out.sort_by_key(|c| c.prefix);
        out
    }

    /// The learned route of every prefix, as changes from nothing.
    pub fn all(&self) -> Vec<LearnedChange> {
        self.routes
            .keys()
            .map(|p| LearnedChange { prefix: *p, route: self.best(p).cloned() })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(prefix: &str, metric: u32, dev: u32) -> LearnedRoute {
        LearnedRoute {
            prefix: prefix.parse().unwrap(),
            metric,
            dev: Some(dev),
            device: Some(format!("cali{dev}")),
        }
    }

    #[test]
    fn the_lowest_metric_is_the_learned_route_of_a_prefix() {
        let mut l = Learned::default();
        let normal = r("10.244.2.7/32", 1024, 5);
        let elevated = r("10.244.2.7/32", 512, 6);
        assert_eq!(l.upsert(normal.clone()).unwrap().route, Some(normal.clone()));
        assert_eq!(l.upsert(elevated.clone()).unwrap().route, Some(elevated.clone()));
        assert_eq!(l.upsert(normal.clone()), None, "a worse metric changes nothing");
        let p = normal.prefix;
        assert_eq!(l.remove(p, 512).unwrap().route, Some(normal));
        assert_eq!(l.remove(p, 1024).unwrap().route, None);
        assert_eq!(l.remove(p, 1024), None);
        assert!(l.all().is_empty());
    }

    #[test]
    fn a_route_with_the_key_of_another_replaces_it() {
        let mut l = Learned::default();
        l.upsert(r("10.244.2.7/32", 1024, 5));
        let moved = r("10.244.2.7/32", 1024, 9);
        assert_eq!(l.upsert(moved.clone()).unwrap().route, Some(moved));
        assert_eq!(l.all().len(), 1);
    }

    #[test]
    fn a_device_down_or_deleted_takes_its_routes_along() {
        let mut l = Learned::default();
        l.upsert(r("10.244.2.7/32", 1024, 5));
        l.upsert(r("10.244.2.8/32", 1024, 6));
        l.upsert(r("10.244.2.8/32", 2000, 5));
        l.upsert(r("fd10::7/128", 1024, 5));
        // Down: the IPv4 routes go unannounced; the IPv6 one is the kernel's to report.
        let gone = |p: &str| vec![LearnedChange { prefix: p.parse().unwrap(), route: None }];
        assert_eq!(l.remove_dev(5, true), gone("10.244.2.7/32"));
        assert_eq!(l.all().len(), 2);
        // Deleted: everything through it.
        assert_eq!(l.remove_dev(5, false), gone("fd10::7/128"));
        assert_eq!(l.all().len(), 1);
    }

    #[test]
    fn a_dump_reports_only_what_changed() {
        let mut l = Learned::default();
        l.upsert(r("10.244.2.7/32", 1024, 5));
        l.upsert(r("10.244.2.8/32", 1024, 6));
        let c = l.replace_all(vec![r("10.244.2.8/32", 1024, 6), r("10.244.2.9/32", 1024, 7)]);
        let got: Vec<(String, bool)> =
            c.iter().map(|c| (c.prefix.to_string(), c.route.is_some())).collect();
        assert_eq!(got, [("10.244.2.7/32".into(), false), ("10.244.2.9/32".into(), true)]);
    }

    #[test]
    fn bird_learns_host_networks_of_a_wider_scope_than_the_link() {
        for p in [
            "0.0.0.0/0",
            "10.244.2.7/32",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "240.0.0.0/4",
            "::/0",
            "fd00:10::/64",
            "2001:db8::/32",
            "::ffff:10.0.0.0/104",
        ] {
            assert!(learnable(p.parse().unwrap()), "{p}");
        }
        for p in [
            "127.0.0.0/8",
            "224.0.0.0/4",
            "255.255.255.255/32",
            "0.1.2.0/24",
            "fe80::/64",
            "ff02::/16",
            "::1/128",
        ] {
            assert!(!learnable(p.parse().unwrap()), "{p}");
        }
    }
}
