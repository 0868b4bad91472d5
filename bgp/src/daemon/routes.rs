//! The seam between the owner task and route processing: [`RouteHandler`].
//!
//! The owner calls it for every session event that concerns routes and
//! writes what it returns to the sessions; the handler never sees a socket
//! or a session channel. Sessions are named by [`PeerKey`] (address and
//! port): two may share an address. The daemon runs [`super::RibRoutes`], the RIB
//! (`bgp::rib`) with the FIB beside it; tests may plug in anything else.
//!
//! ```text
//!   owner                        RouteHandler                 owner
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

use std::net::IpAddr;

use bytes::Bytes;
use ctl::proto::{FamilyCounts, RibSize, RouteQuery, RouteSnapshot};
use ipnet::IpNet;

use crate::config::{EffectivePeer, PeerKey, ValidatedConfig};
use crate::session::Up;
use crate::wire::{ParsedUpdate, RouteRefreshMsg};

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

/// Route processing as the owner task sees it. Every method returns the
/// messages to send, per peer; the owner delivers them to the peer's
/// current session and drops them if it went down meanwhile.
pub trait RouteHandler: Send + 'static {
    /// A session reached Established with what `up` says was negotiated:
    /// typically the initial advertisement and End-of-RIB.
    fn peer_up(&mut self, peer: &EffectivePeer, up: &Up) -> Vec<Outbound>;
    /// A session left Established or its peer was removed: forget what it
    /// sent, or keep it stale when `graceful` (the FSM's `Down::graceful`:
    /// a graceful restart of the peer, RFC 4724 §4.2, RFC 8538 §4).
    fn peer_down(&mut self, peer: PeerKey, graceful: bool) -> Vec<Outbound>;
    /// An UPDATE from an Established peer, with its RFC 7606 treatment.
    fn update(&mut self, peer: PeerKey, update: ParsedUpdate) -> Vec<Outbound>;
    /// The peer asked for our routes again (RFC 2918).
    fn route_refresh(&mut self, peer: PeerKey, request: RouteRefreshMsg) -> Vec<Outbound>;
    /// A reload changed what this node originates.
    fn reconfigure(&mut self, cfg: &ValidatedConfig) -> Vec<Outbound>;
    /// Prefixes currently accepted from `peer`, for its max-prefix limit.
    fn received_prefixes(&self, peer: PeerKey) -> usize;
    /// `calico-bgpctl advertise add|del`: start (`add`) or stop originating
    /// `prefix` at run time, returning the UPDATEs that announce or
    /// withdraw it.
    fn advertise(&mut self, prefix: IpNet, add: bool) -> Vec<Outbound>;

    /// The prefixes this node originates (read only, for `show routes`).
    fn originated(&self) -> Vec<IpNet> {
        Vec::new()
    }
    /// Every route for `show routes` (read only). By default the
    /// [`RouteHandler::originated`] prefixes as local paths.
    fn routes_snapshot(&self) -> Vec<RouteSnapshot> {
        super::control::local_routes(&self.originated(), "block")
    }
    /// The routes `query` selects, built when a client asks (read only): a
    /// walk of a full table takes the owner most of a second, so it is never
    /// done on a timer.
    fn routes_query(&self, query: &RouteQuery) -> Vec<RouteSnapshot> {
        query.apply(self.routes_snapshot())
    }
    /// Prefixes and paths per family, for `show status` and the metrics at
    /// every publication (read only; must not walk the table).
    fn rib_sizes(&self) -> Vec<RibSize> {
        super::control::rib_sizes(&self.routes_snapshot())
    }
    /// Paths held from one peer per import filter rule that judged them
    /// (read only, for `show peer` and the metrics).
    fn peer_filter_rules(&self, peer: PeerKey) -> Vec<ctl::proto::FilterRulePaths> {
        let _ = peer;
        Vec::new()
    }
    /// Prefix counters of one peer per family (read only, for `show peer`
    /// and the metrics).
    fn peer_counts(&self, peer: PeerKey) -> Vec<FamilyCounts> {
        let _ = peer;
        Vec::new()
    }

    /// Called once by the owner task before any session starts, inside the
    /// runtime: start what runs beside the owner (the FIB), which reports
    /// back through `inputs`.
    fn start(&mut self, inputs: tokio::sync::mpsc::UnboundedSender<super::Input>) {
        let _ = inputs;
    }
    /// The kernel reports whether next hop `addr` is reachable, at what IGP
    /// cost (`None`: unreachable) and by which interface.
    fn nexthop_reachability(
        &mut self,
        addr: IpAddr,
        cost: Option<u32>,
        iface: Option<&str>,
    ) -> Vec<Outbound> {
        let _ = (addr, cost, iface);
        Vec::new()
    }
    /// Routes other agents put in the kernel table changed (Felix's
    /// workload routes): they are exported as Calico's BIRD exports them.
    fn kernel_routes(&mut self, changes: Vec<KernelRouteChange>) -> Vec<Outbound> {
        let _ = changes;
        Vec::new()
    }
    /// The FIB's counters (read only; shared, not copied, at each
    /// publication).
    fn fib_snapshot(&self) -> std::sync::Arc<ctl::proto::FibSnapshot> {
        std::sync::Arc::default()
    }
    /// `show fib` in full, built by the returned future when a client asks;
    /// the owner spawns it rather than waiting.
    fn fib_query(&self) -> super::rib_routes::FibQuery {
        let s = self.fib_snapshot();
        Box::pin(async move { s })
    }
    /// The daemon is exiting (routes stay in the kernel).
    fn stop(&mut self) {}

    /// When [`RouteHandler::timers_due`] is next to be called (graceful
    /// restart timers), if ever.
    fn next_timer(&self) -> Option<tokio::time::Instant> {
        None
    }
    /// Runs the timers due at `now`.
    fn timers_due(&mut self, now: tokio::time::Instant) -> Vec<Outbound> {
        let _ = now;
        Vec::new()
    }
    /// Whether we are recovering from a restart of this daemon (RFC 4724
    /// §4.1): our OPENs carry the R bit meanwhile.
    fn recovering(&self) -> bool {
        false
    }
    /// The recovery for `show status`, while it runs.
    fn gr_recovery(&self) -> Option<ctl::proto::GrRecovery> {
        None
    }
    /// The graceful restart state of `peer` for `show peer`, when one is in
    /// progress (the peer's routes are kept stale, or its End-of-RIB is
    /// awaited for our recovery).
    fn peer_gr(&self, peer: PeerKey) -> Option<ctl::proto::PeerGracefulRestart> {
        let _ = peer;
        None
    }
}
