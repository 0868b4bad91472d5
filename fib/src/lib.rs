//! Kernel FIB programming for calico-bgp (issue 5).
//!
//! ```text
//!  RIB best routes --FibSender (coalescing, never blocks)--> Fib actor
//!                                                             |
//!      policy (pure): best route + node context -> DesiredRoute + VTEP entries
//!      plan   (pure): desired vs kernel (proto bird only) -> Replace / Delete ops
//!      netlink:       batched writer, rtnetlink dumps, tunnel devices (only with the
//!                     manage_vxlan / manage_tunl0 opt-ins), monitor
//!                                                             |
//!  kernel <-------------------------------------------------------'
//!     `--> monitor (route/link/address groups) -> drift repair, re-evaluation
//! ```
//!
//! | module | what | I/O |
//! |---|---|---|
//! | [`route`] | the route model shared by policy, plan and netlink | none |
//! | [`policy`] | the CrossSubnet / IPIP / VXLAN decision, `programClusterRoutes`, what is Felix's | none |
//! | [`plan`](mod@plan) | minimal replace/delete list, adoption of stale routes | none |
//! | [`netlink`] | route codec, batched writer, dumps, monitor, tunnel devices | netlink |
//! | [`actor`] | the `Fib` task fed by the RIB | tokio |
//! | [`hash`] | seeded fast hasher for the 1M-entry maps | none |
//! | [`learn`] | other agents' routes of the table, learned as BIRD's `learn` does | none |
//! | [`table`] | per-prefix best, wanted and held routes, interned (the kernel model) | none |
//!
//! See `docs/fib.md` for the design and `docs/performance.md` for figures.

#![warn(missing_docs)]
// Tests build small slices from values they keep using; `#![warn(missing_docs)][x.clone()]` reads better there.
#![cfg_attr(test, allow(clippy::cloned_ref_to_slice_refs))]

pub mod actor;
pub mod hash;
pub mod learn;
pub mod netlink;
pub mod plan;
pub mod policy;
pub mod route;
pub mod table;

pub use actor::{Fib, FibConfig, FibEvent, FibRoutes, FibSender, FibStatus, NextHopReach};
pub use learn::{LearnedChange, LearnedRoute};
pub use plan::{Op, Orphans, plan_key};
pub use policy::{
    BestRoute, ContextChange, Decision, EncapMode, IpPool, NodeAddr, NodeContext,
    ProgramClusterRoutes, SkipReason, StaticRoute, Tunnel, TunnelDevs, UnderlayRoute, Vtep, decide,
    static_underlay,
};
pub use route::{
    DesiredRoute, IfIndex, KernelRoute, MAIN_TABLE, NextHop, RTPROT_BIRD, Route, RouteKey,
    RouteKind,
};
