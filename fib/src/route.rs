//! The kernel route model shared by [`policy`](crate::policy), [`plan`](mod@crate::plan) and
//! [`netlink`](crate::netlink).
//!
//! One type describes both what we want (`DesiredRoute`) and what a dump of the kernel
//! returned (`KernelRoute`), so the plan compares like with like. Only the attributes we
//! set are modelled; everything else the kernel reports (scope, `nhid`, cache info) is
//! dropped on parse, which is what makes a still-right route compare equal.
//!
//! ```text
//!  Route { table, prefix, metric, kind }          ip route show proto bird
//!  ----------------------------------------       -----------------------------------------
//!  Via { gw, dev, onlink: false }           ->    P via GW dev DEV proto bird metric M
//!  Via { gw, dev: tunl0, onlink: true }     ->    P via GW dev tunl0 proto bird onlink
//!  Multipath([hop, hop])                    ->    P proto bird  nexthop via .. dev .. weight 1 ..
//!  Blackhole                                ->    blackhole P proto bird
//! ```

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// A kernel interface index (`ip link` number).
pub type IfIndex = u32;

/// `RTPROT_BIRD`: every route we install carries it, because Felix and operators key on
/// `proto bird`, as Calico's BIRD writes them.
pub const RTPROT_BIRD: u8 = 12;

/// The kernel's main routing table (`RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

/// One next hop of a unicast route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    /// The gateway (`via`).
    pub gateway: IpAddr,
    /// The output device (`dev`).
    pub dev: IfIndex,
    /// `RTNH_F_ONLINK`: the gateway is on the link even though no subnet says so
    /// (tunnel routes use the original BGP next hop as gateway).
    pub onlink: bool,
}

/// What the route does with a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// One gateway.
    Via(NextHop),
    /// ECMP: two or more gateways, kept sorted and without duplicates so that two
    /// routes with the same set compare equal whatever order the kernel dumped them in.
    Multipath(Vec<NextHop>),
    /// `blackhole`: the node's own IPAM blocks.
    Blackhole,
}

impl RouteKind {
    /// Builds the canonical kind for a set of next hops: none → `None`, one → `Via`,
    /// several → sorted, de-duplicated `Multipath`.
    pub fn from_hops(mut hops: Vec<NextHop>) -> Option<RouteKind> {
        hops.sort_unstable();
        hops.dedup();
        match hops.len() {
            0 => None,
            1 => hops.pop().map(RouteKind::Via),
            _ => Some(RouteKind::Multipath(hops)),
        }
    }

    /// The next hops, whatever the shape (empty for a blackhole).
    pub fn hops(&self) -> &[NextHop] {
        match self {
            RouteKind::Via(h) => std::slice::from_ref(h),
            RouteKind::Multipath(v) => v,
            RouteKind::Blackhole => &[],
        }
    }
}

/// A route in one table, as we want it or as the kernel holds it (always `proto bird`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// Destination, host bits cleared.
    pub prefix: IpNet,
    /// What to do with matching packets.
    pub kind: RouteKind,
    /// Routing table id (254 = main; ids above 255 travel in `RTA_TABLE`).
    pub table: u32,
    /// `metric` (`RTA_PRIORITY`); 0 when absent.
    pub metric: u32,
}

/// The route the policy wants in the kernel.
pub type DesiredRoute = Route;

/// A route a kernel dump returned with our protocol.
pub type KernelRoute = Route;

/// A test route: `prefix` via `gw` on ifindex `dev`, in the main table.
#[cfg(test)]
pub(crate) fn via(prefix: &str, gw: &str, dev: u32, metric: u32) -> Route {
    Route {
        prefix: prefix.parse().unwrap(),
        kind: RouteKind::Via(NextHop { gateway: gw.parse().unwrap(), dev, onlink: false }),
        table: MAIN_TABLE,
        metric,
    }
}

impl Route {
    /// The protocol every route of ours carries ([`RTPROT_BIRD`]).
    pub const PROTO: u8 = RTPROT_BIRD;

    /// The key the kernel identifies a route by, less TOS (always 0 here).
    pub fn key(&self) -> RouteKey {
        RouteKey { table: self.table, prefix: self.prefix }
    }
}

/// Where a route lives: one table and one prefix. We keep at most one route per key;
/// a second one (another metric) is stale and the plan deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// Routing table id.
    pub table: u32,
    /// Destination prefix.
    pub prefix: IpNet,
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "via {} dev #{}", self.gateway, self.dev)?;
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

impl fmt::Display for Route {
    /// Close to `ip route` so logs read like the kernel's own output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RouteKind::Blackhole => write!(f, "blackhole {}", self.prefix)?,
            RouteKind::Via(h) => write!(f, "{} {h}", self.prefix)?,
            RouteKind::Multipath(hops) => {
                write!(f, "{}", self.prefix)?;
                for h in hops {
                    write!(f, " nexthop {h}")?;
                }
            }
        }
        write!(f, " proto bird table {} metric {}", self.table, self.metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(gw: &str, dev: u32) -> NextHop {
        NextHop { gateway: gw.parse().unwrap(), dev, onlink: false }
    }

    #[test]
    fn multipath_is_canonical_whatever_the_order() {
        let a = RouteKind::from_hops(vec![hop("10.0.0.2", 2), hop("10.0.0.1", 2)]);
        let b =
            RouteKind::from_hops(vec![hop("10.0.0.1", 2), hop("10.0.0.2", 2), hop("10.0.0.1", 2)]);
        assert_eq!(a, b);
        assert_eq!(a.unwrap().hops().len(), 2);
    }

    #[test]
    fn single_hop_set_is_a_plain_via() {
        assert_eq!(
            RouteKind::from_hops(vec![hop("10.0.0.1", 2), hop("10.0.0.1", 2)]),
            Some(RouteKind::Via(hop("10.0.0.1", 2)))
        );
        assert_eq!(RouteKind::from_hops(vec![]), None);
    }

    #[test]
    fn display_reads_like_ip_route() {
        let r = Route {
            prefix: "10.96.5.128/26".parse().unwrap(),
            kind: RouteKind::Via(NextHop { onlink: true, ..hop("10.100.99.22", 7) }),
            table: MAIN_TABLE,
            metric: 0,
        };
        assert_eq!(
            r.to_string(),
            "10.96.5.128/26 via 10.100.99.22 dev #7 onlink proto bird table 254 metric 0"
        );
    }
}
