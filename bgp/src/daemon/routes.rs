//! What the owner task and route processing ([`super::RibRoutes`], the RIB
//! with the FIB beside it) pass each other.
//!
//! The owner calls `RibRoutes` for every session event that concerns routes
//! and writes the [`Outbound`] messages it returns to the sessions; route
//! processing never sees a socket or a session channel. Sessions are named
//! by [`PeerKey`] (address and port): two may share an address.
//!
//! ```text
//!   owner                        RibRoutes                    owner
//!   Established(peer, Up) -----> peer_up        --Outbound--> Send{epoch} to peer(s)
//!   Update(peer, ParsedUpdate) > update         --Outbound--> reflection, eBGP
//!   NextHop(addr, cost) -------> nexthop_reachability -----> (routes re-selected)
//!   KernelRoutes(changes) -----> kernel_routes  --Outbound-->  (Felix's workload routes)
//!   RouteRefresh ------------->  route_refresh  --Outbound-->
//!   SessionDown / removed ---->  peer_down      --Outbound-->  (graceful: kept stale)
//!   next_timer elapsed ------->  timers_due     --Outbound-->  (graceful restart timers)
//!   reload (blocks changed) -->  reconfigure    --Outbound-->
//!   advertise add|del -------->  advertise      --Outbound-->
//!   ctl snapshot (read only) ->  rib_sizes, peer_counts, fib_snapshot
//!   show routes (on request) ->  routes_query
//! ```

use bytes::Bytes;
use ipnet::IpNet;

use crate::config::PeerKey;

/// Another agent's route in the kernel table changed, as the FIB learned it
/// (BIRD's `learn`; `fib::learn`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelRouteChange {
    /// The destination.
    pub prefix: IpNet,
    /// Its route now; `None` when the kernel has none any more.
    pub route: Option<LearnedKernelRoute>,
}

/// A route learned from the kernel.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LearnedKernelRoute {
    /// Its kernel metric (Felix: 1024 for a workload, less while a VM migrates).
    pub metric: u32,
    /// The output device (`cali1234abcd`); none for a blackhole or multipath route.
    pub device: Option<String>,
}

impl From<fib::LearnedChange> for KernelRouteChange {
    fn from(c: fib::LearnedChange) -> Self {
        KernelRouteChange {
            prefix: c.prefix,
            route: c.route.map(|r| LearnedKernelRoute { metric: r.metric, device: r.device }),
        }
    }
}

/// Encoded messages for one peer's current session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// The session.
    pub peer: PeerKey,
    /// Whole UPDATE messages, encoded for that peer's negotiated context.
    pub messages: Vec<Bytes>,
}
