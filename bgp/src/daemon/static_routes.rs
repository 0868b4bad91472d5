//! Calico `reachableBy`: a static route to the peer through the gateway.
//!
//! confd renders, for each BGPPeer with `reachableBy`, `route <peerIP>/32
//! via <reachableBy>` (`/128` for IPv6) in BIRD's static protocol, global
//! peers first. On a Calico node BIRD then:
//!
//! - installs it in the kernel: `calico_kernel_programming` accepts every
//!   route that is neither in a pool it leaves to Felix nor a service range
//!   (`<peer>/32 via <gw> proto bird`), so the session's TCP connection
//!   reaches the peer even when nothing else routes to it;
//! - resolves BGP next hops through it (`gateway recursive`);
//! - never exports it: `calico_export_to_bgp_peers` accepts blocks, pools
//!   and service routes, and the protocol's export filter ends in `reject`;
//! - prefers it to a BGP route for the same prefix (static preference 200,
//!   BGP 100).
//!
//! The same here: the routes go to the FIB as routes of their own, winning
//! over the RIB's route for the prefix (held back meanwhile, and put back
//! when the static route goes), and to the FIB's next-hop lookup
//! (`fib::FibConfig::static_routes`); the RIB never sees them, so they are
//! never exported.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::ValidatedConfig;
use crate::rib::{FibChange, FibRoute};

/// The static routes `cfg` asks for: the peer's host prefix and the gateway,
/// the first peer's gateway when two peers share an address.
pub fn of(cfg: &ValidatedConfig) -> BTreeMap<IpNet, IpAddr> {
    let mut out = BTreeMap::new();
    for p in &cfg.config().peers {
        if let Some(gw) = p.reachable_by {
            out.entry(IpNet::from(p.address)).or_insert(gw);
        }
    }
    out
}

/// The static routes in force and the RIB's routes they hide.
#[derive(Debug, Default)]
pub(super) struct StaticRoutes {
    routes: BTreeMap<IpNet, IpAddr>,
    /// The RIB's route for each static prefix, as it last said (`None`:
    /// none); it goes to the FIB when the static route goes.
    hidden: HashMap<IpNet, Option<FibRoute>>,
}

impl StaticRoutes {
    /// Takes `wanted` as the static routes: the FIB changes that makes.
    pub(super) fn set(&mut self, wanted: BTreeMap<IpNet, IpAddr>) -> Vec<FibChange> {
        let mut out = Vec::new();
        for prefix in self.routes.keys().filter(|p| !wanted.contains_key(p)) {
            let route = self.hidden.remove(prefix).flatten();
            out.push(FibChange { prefix: *prefix, route });
        }
        for (prefix, gw) in &wanted {
            if self.routes.get(prefix) != Some(gw) {
                out.push(FibChange { prefix: *prefix, route: Some(route_via(*gw)) });
            }
        }
        self.routes = wanted;
        out
    }

    /// The RIB's FIB changes, those for a static prefix held back.
    pub(super) fn filter(&mut self, changes: Vec<FibChange>) -> Vec<FibChange> {
        if self.routes.is_empty() {
            return changes;
        }
        changes
            .into_iter()
            .filter_map(|c| {
                if self.routes.contains_key(&c.prefix) {
                    self.hidden.insert(c.prefix, c.route);
                    None
                } else {
                    Some(c)
                }
            })
            .collect()
    }
}

/// The kernel route of a static route: through `gw`, with no metric, as
/// BIRD's static routes carry no `krt_metric`.
fn route_via(gw: IpAddr) -> FibRoute {
    FibRoute { next_hops: vec![gw], blackhole: false, priority: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn bgp_route(nh: &str) -> Option<FibRoute> {
        Some(FibRoute { next_hops: vec![ip(nh)], blackhole: false, priority: 1024 })
    }

    #[test]
    fn reachable_by_gives_a_host_route_via_the_gateway_first_peer_first() {
        let cfg = crate::config::parse_str(
            "[node]\nname = \"n\"\nipv4 = \"10.224.0.2/16\"\n\
             [[peers]]\nname = \"a\"\naddress = \"10.225.0.4\"\nremote_as = 65515\n\
             reachable_by = \"10.224.0.1\"\n\
             [[peers]]\nname = \"b\"\naddress = \"10.225.0.4\"\nport = 1790\nremote_as = 65515\n\
             reachable_by = \"10.224.0.9\"\n\
             [[peers]]\nname = \"c\"\naddress = \"10.225.0.5\"\nremote_as = 65515\n",
        )
        .unwrap();
        let want: BTreeMap<IpNet, IpAddr> = [(net("10.225.0.4/32"), ip("10.224.0.1"))].into();
        assert_eq!(of(&cfg), want);
    }

    #[test]
    fn a_static_route_hides_the_ribs_route_and_gives_it_back_when_it_goes() {
        let mut s = StaticRoutes::default();
        let p = net("10.225.0.4/32");
        let added = s.set([(p, ip("10.224.0.1"))].into());
        assert_eq!(added, [FibChange { prefix: p, route: Some(route_via(ip("10.224.0.1"))) }]);
        // The RIB learns the same prefix: held back, the static route stays.
        let other = FibChange { prefix: net("10.244.1.0/26"), route: bgp_route("10.224.0.3") };
        let from_rib = vec![FibChange { prefix: p, route: bgp_route("10.225.0.4") }, other.clone()];
        assert_eq!(s.filter(from_rib), [other]);
        // Unchanged: nothing to do.
        assert!(s.set([(p, ip("10.224.0.1"))].into()).is_empty());
        // Gone: the RIB's route takes its place.
        assert_eq!(
            s.set(BTreeMap::new()),
            [FibChange { prefix: p, route: bgp_route("10.225.0.4") }]
        );
        let again = s.set([(p, ip("10.224.0.1"))].into());
        assert_eq!(again.len(), 1);
        // Gone with no RIB route: the kernel route is removed.
        assert_eq!(s.set(BTreeMap::new()), [FibChange { prefix: p, route: None }]);
    }
}
