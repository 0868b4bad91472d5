//! [`RibRoutes`]: route processing for the owner task, over the real RIB
//! ([`crate::rib::Rib`]) with a [`FibPort`] to the kernel.
//!
//! ```text
//!   owner task                  RibRoutes                          FibPort
//!   peer up/down, UPDATE ─────► Rib::peer_up/.../update ─ Output ─┬─ fib ──────► FIB actor
//!   route refresh, reload ────► route_refresh, set_pools          ├─ track/untrack next hops
//!   advertise add|del ────────► originate / withdraw_local        └─ to_peers ─► Outbound
//!   Input::NextHop ◄─── FIB reachability ◄────────────────────────────────────── (kernel)
//!        └────────────────► Rib::nexthop_reachability ─► Output (as above)
//! ```
//!
//! The RIB lives on the owner task, which the sessions do not share: a long
//! table computation delays the owner's own inputs (measured by the
//! event-loop-lag metric, `show status`) but never a session's keepalives,
//! which its own task sends.
//!
//! What the node originates is the configured blocks, plus the prefixes
//! added at run time by `calico-bgpctl advertise add`, minus those removed
//! by `advertise del` (run-time changes survive reloads), plus the
//! `[services]` ranges. Blocks and `advertise` prefixes are blackholed in
//! the FIB while they are best; service ranges are not (kube-proxy answers
//! for them). Each originated prefix carries the communities of every
//! `[[prefix_advertisements]]` entry covering it (Calico's
//! `prefixAdvertisements`); a reload that changes them re-announces it.
//!
//! Routes other agents put in the kernel table (Felix's workload routes)
//! come from the FIB's learning and are exported as Calico's BIRD exports
//! them (`rib_routes_kernel.rs`).
//!
//! Routing has converged (so the FIB may delete adopted routes that nothing
//! wants, BIRD's `persist` sweep) once every configured peer has sent
//! End-of-RIB (RFC 4724 §2) for each family of its session; peers that
//! never come up leave the sweep to the FIB's stale timeout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ctl::proto::{
    Family, FamilyCounts, FibSnapshot, PathSnapshot, RejectReason as CtlReason, RibSize,
    RouteQuery, RouteSnapshot, RouteSource,
};
use ipnet::IpNet;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::Input;
use super::routes::{KernelRouteChange, Outbound};
use super::static_routes::{self, StaticRoutes};
use crate::config::{BgpFilter, CommunityValue, EffectivePeer, PeerKey, ValidatedConfig};
use crate::rib::filter::PeerFilters;
use crate::rib::{
    FibChange, LocalRoute, Output, PeerId, PeerInfo, RejectReason, Rib, RibConfig, RouteView,
};
use crate::session::Up;
use crate::wire::route_refresh::RouteRefreshSubtype;
use crate::wire::{AfiSafi, ParsedUpdate, RouteRefreshMsg};

/// The kernel side of the RIB: where route changes go and where next-hop
/// reachability comes from. Implementations never block the caller (the
/// owner task).
/// A `show fib` being built (see [`FibPort::query`]).
pub type FibQuery = std::pin::Pin<Box<dyn std::future::Future<Output = Arc<FibSnapshot>> + Send>>;

pub trait FibPort: Send + 'static {
    /// Called once from the owner task, inside the runtime: start whatever
    /// runs beside the owner, sending next-hop reachability back as
    /// [`Input::NextHop`].
    fn start(&mut self, inputs: mpsc::UnboundedSender<Input>);
    /// Kernel route changes, in order; a later change to a prefix
    /// supersedes an earlier one.
    fn apply(&mut self, changes: Vec<FibChange>);
    /// Start (`add`) and stop (`remove`) reporting the reachability of next hops.
    fn track(&mut self, add: Vec<IpAddr>, remove: Vec<IpAddr>);
    /// Whether next hops are resolved through the kernel (Calico's
    /// recursive next hops); when not, the RIB takes every one as reachable.
    fn resolves_next_hops(&self) -> bool;
    /// Every configured peer has sent its table: stale routes may go.
    fn converged(&mut self) {}
    /// Whether this start is a restart to recover from (RFC 4724 §4.1):
    /// the kernel held routes of a previous run. Without a kernel (a route
    /// reflector with `fib.enabled = false`) there is nothing to recover,
    /// so never: a fresh start that set the Restart State bit and deferred
    /// its table would keep every graceful restart peer waiting for routes
    /// it could have had at once.
    fn restarting(&self) -> bool {
        false
    }
    /// A reload changed the pools or the `[fib]` section.
    fn reconfigure(&mut self, cfg: &ValidatedConfig) {
        let _ = cfg;
    }
    /// The FIB's counters for `show status` and the metrics (shared: it is
    /// taken at every publication; the route lists may be left empty).
    fn snapshot(&self) -> Arc<FibSnapshot> {
        Arc::default()
    }
    /// `show fib` in full (wanted, installed, the difference), built when a
    /// client asks: the returned future does the work, away from the owner.
    fn query(&self) -> FibQuery {
        let s = self.snapshot();
        Box::pin(async move { s })
    }
    /// The daemon is exiting; routes stay in the kernel.
    fn stop(&mut self) {}
}

/// No kernel programming: a route reflector, or a test. Next hops are not
/// resolved, so every learned route is usable.
#[derive(Debug, Default)]
pub struct NoFib;

impl FibPort for NoFib {
    fn start(&mut self, _inputs: mpsc::UnboundedSender<Input>) {}
    fn apply(&mut self, _changes: Vec<FibChange>) {}
    fn track(&mut self, _add: Vec<IpAddr>, _remove: Vec<IpAddr>) {}
    fn resolves_next_hops(&self) -> bool {
        false
    }
}

/// One Established session as the handler knows it.
#[derive(Debug)]
struct PeerMeta {
    key: PeerKey,
    name: String,
    families: Vec<AfiSafi>,
    /// Families the peer has closed with End-of-RIB in this session.
    eor: BTreeSet<AfiSafi>,
    /// Unix time the session came up: its paths are at most that old.
    since: u64,
}

/// Route processing over the RIB. See the module documentation.
pub struct RibRoutes {
    rib: Rib,
    fib: Box<dyn FibPort>,
    node_v4: Option<Ipv4Addr>,
    node_v6: Option<Ipv6Addr>,
    /// The node's subnets (address with prefix length), for third-party
    /// next hops towards external peers on them.
    node_nets: Vec<IpNet>,
    /// The configured blocks.
    blocks: Vec<IpNet>,
    /// `advertise add` prefixes, kept across reloads until deleted.
    added: BTreeSet<IpNet>,
    /// `advertise del` of configured blocks, kept across reloads until added.
    deleted: BTreeSet<IpNet>,
    /// The `[services]` ranges.
    services: Vec<IpNet>,
    /// The IP pools.
    pools: Vec<crate::config::IpPool>,
    /// This daemon programs IPIP pools (else Felix does).
    programs_ipip: bool,
    /// Routes learned from the kernel, by prefix.
    learned: BTreeMap<IpNet, kernel::Learned>,
    /// `[[prefix_advertisements]]`: communities per covering prefix.
    communities: Vec<(IpNet, Vec<CommunityValue>)>,
    /// `[[filters]]`, compiled per session from the names it lists.
    filter_defs: Vec<BgpFilter>,
    /// What is originated now, with why (`block`, `advertise`, `service`)
    /// and the route handed to the RIB.
    originated: BTreeMap<IpNet, (&'static str, LocalRoute)>,
    ids: HashMap<PeerKey, PeerId>,
    peers: HashMap<PeerId, PeerMeta>,
    next_id: u32,
    /// Configured peers, for convergence.
    expected: BTreeSet<PeerKey>,
    converged: bool,
    /// Graceful restart: helper timers and our recovery.
    gr: gr::GrDriver,
    /// Peers whose session ended, as they last were: their stale paths
    /// are still shown as theirs.
    away: HashMap<PeerId, PeerMeta>,
    /// Calico `reachableBy` routes, winning over the RIB's in the FIB.
    statics: StaticRoutes,
}

impl std::fmt::Debug for RibRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RibRoutes")
            .field("prefixes", &self.rib.len())
            .field("peers", &self.peers.len())
            .field("originated", &self.originated.len())
            .finish_non_exhaustive()
    }
}

/// The RIB settings of `cfg` with next-hop resolution as `fib` provides it.
fn rib_config(cfg: &ValidatedConfig, fib: &dyn FibPort) -> RibConfig {
    let mut c = RibConfig::from_validated(cfg);
    // Without a kernel to ask, a next hop would never become reachable.
    c.resolve_next_hops = c.fib && fib.resolves_next_hops();
    c
}

/// The RIB settings that only a new RIB can take (everything but the pools
/// and service ranges).
fn identity(c: &RibConfig) -> RibConfig {
    RibConfig { ip_pools: Vec::new(), service_ranges: Vec::new(), ..c.clone() }
}

impl RibRoutes {
    /// A RIB for `cfg` originating the node's blocks, programming `fib`.
    pub fn new(cfg: &ValidatedConfig, fib: Box<dyn FibPort>) -> Self {
        let rib = Rib::new(rib_config(cfg, fib.as_ref()));
        let mut r = RibRoutes {
            rib,
            fib,
            node_v4: None,
            node_v6: None,
            node_nets: Vec::new(),
            blocks: Vec::new(),
            added: BTreeSet::new(),
            deleted: BTreeSet::new(),
            services: Vec::new(),
            pools: Vec::new(),
            programs_ipip: false,
            learned: BTreeMap::new(),
            communities: Vec::new(),
            filter_defs: Vec::new(),
            originated: BTreeMap::new(),
            ids: HashMap::new(),
            peers: HashMap::new(),
            next_id: 0,
            expected: BTreeSet::new(),
            converged: false,
            gr: gr::GrDriver::new(cfg),
            away: HashMap::new(),
            statics: StaticRoutes::default(),
        };
        r.set_config(cfg);
        // No peer is up yet: only FIB changes (the blackholes) come out.
        let _ = r.sync_origination();
        r
    }

    /// A RIB for `cfg` without kernel programming.
    pub fn without_fib(cfg: &ValidatedConfig) -> Self {
        Self::new(cfg, Box::new(NoFib))
    }

    /// The RIB, read only (tests, diagnostics).
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    fn set_config(&mut self, cfg: &ValidatedConfig) {
        let node = &cfg.config().node;
        self.node_v4 = node.ipv4.map(|n| n.addr());
        self.node_v6 = node.ipv6.map(|n| n.addr());
        self.node_nets =
            node.ipv4.map(IpNet::V4).into_iter().chain(node.ipv6.map(IpNet::V6)).collect();
        self.blocks = node.blocks.iter().map(IpNet::trunc).collect();
        self.services = cfg.config().services.all().map(|(_, c)| c.trunc()).collect();
        self.pools = cfg.config().ip_pools.clone();
        self.programs_ipip = kernel::programs_ipip(cfg);
        self.communities = cfg
            .config()
            .prefix_advertisements
            .iter()
            .map(|a| (a.cidr.trunc(), a.parsed().collect()))
            .collect();
        self.expected = cfg.peers().iter().map(EffectivePeer::key).collect();
        self.filter_defs = cfg.config().filters.clone();
        self.gr.set_config(cfg);
        let statics = self.statics.set(static_routes::of(cfg));
        if !statics.is_empty() {
            self.fib.apply(statics);
        }
    }

    /// Gives every session whose filters `cfg` changes its new ones: the
    /// RIB judges its routes again and re-diffs what it is sent, with no
    /// session reset.
    fn refilter(&mut self, cfg: &ValidatedConfig) -> Vec<Outbound> {
        let mut out = Vec::new();
        let up: Vec<(PeerId, PeerKey)> = self.peers.iter().map(|(id, m)| (*id, m.key)).collect();
        for (id, key) in up {
            let Some(p) = cfg.peer(key) else { continue };
            let new = PeerFilters::for_peer(&self.filter_defs, &p.filters);
            if self.rib.peer_filters(id) != Some(&new) {
                info!(peer = %key, "filters changed: routes judged again");
                let o = self.rib.set_filters(id, new);
                out.extend(self.carry_out(o));
            }
        }
        out
    }

    /// The RIB's id for `key`, the same across its sessions (a restarting
    /// peer's stale routes are kept under it).
    fn id_of(&mut self, key: PeerKey) -> PeerId {
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        self.next_id += 1;
        let id = PeerId(self.next_id);
        self.ids.insert(key, id);
        id
    }

    /// What should be originated: configured blocks with the run-time
    /// additions and deletions, and the service ranges; each with its
    /// communities.
    fn wanted(&self) -> BTreeMap<IpNet, (&'static str, LocalRoute)> {
        let mut w: BTreeMap<IpNet, (&'static str, LocalRoute)> = BTreeMap::new();
        let blocks = self.blocks.iter().filter(|b| !self.deleted.contains(b));
        for (p, why) in
            blocks.map(|b| (b, "block")).chain(self.added.iter().map(|a| (a, "advertise")))
        {
            // Calico blackholes each of its blocks so traffic to unallocated
            // addresses in it is dropped rather than sent to the default route.
            w.entry(*p).or_insert_with(|| (why, self.local_route(*p, true)));
        }
        for p in &self.services {
            w.entry(*p).or_insert_with(|| ("service", self.local_route(*p, false)));
        }
        w
    }

    /// The route originated for `prefix`, with the communities of every
    /// `prefix_advertisements` entry covering it, in configuration order.
    fn local_route(&self, prefix: IpNet, blackhole: bool) -> LocalRoute {
        let mut r = LocalRoute { blackhole, ..LocalRoute::default() };
        for (cidr, list) in &self.communities {
            if !cidr.contains(&prefix) {
                continue;
            }
            for c in list {
                match *c {
                    CommunityValue::Standard(c) if !r.communities.contains(&c) => {
                        r.communities.push(c)
                    }
                    CommunityValue::Large(c) if !r.large_communities.contains(&c) => {
                        r.large_communities.push(c)
                    }
                    _ => {}
                }
            }
        }
        r
    }

    /// Originates and withdraws until the RIB holds what [`Self::wanted`] says.
    fn sync_origination(&mut self) -> Vec<Outbound> {
        let wanted = self.wanted();
        let gone: Vec<IpNet> =
            self.originated.keys().filter(|p| !wanted.contains_key(p)).copied().collect();
        // New prefixes, and those whose route changed (communities after a
        // reload, a block that became a service range): originating again
        // replaces the attributes, so peers get one new announcement.
        let new: Vec<(IpNet, LocalRoute)> = wanted
            .iter()
            .filter(|(p, (_, r))| self.originated.get(p).is_none_or(|(_, old)| old != r))
            .map(|(p, (_, r))| (*p, r.clone()))
            .collect();
        let mut out = Vec::new();
        for p in gone {
            let o = self.rib.withdraw_local(p);
            out.extend(self.carry_out(o));
        }
        for (p, route) in new {
            let o = self.rib.originate(p, route);
            out.extend(self.carry_out(o));
        }
        self.originated = wanted;
        merge_outbound(out)
    }

    /// Hands the kernel side its part of `out` and returns the messages.
    fn carry_out(&mut self, out: Output) -> Vec<Outbound> {
        for (peer, e) in &out.errors {
            let key = self.peers.get(peer).map(|m| m.key.to_string()).unwrap_or_default();
            warn!(peer = %key, "route not sent to {key}: {e}");
        }
        if !out.fib.is_empty() {
            let fib = self.statics.filter(out.fib);
            self.fib.apply(fib);
        }
        self.gr.apply_timers(out.gr_timers);
        self.gr.nexthops_tracked(&out.track_nexthops, &out.untrack_nexthops);
        if !out.track_nexthops.is_empty() || !out.untrack_nexthops.is_empty() {
            self.fib.track(out.track_nexthops, out.untrack_nexthops);
        }
        out.to_peers
            .into_iter()
            .filter_map(|(id, messages)| {
                let peer = self.peers.get(&id)?.key;
                Some(Outbound { peer, messages })
            })
            .collect()
    }

    /// Tells the FIB once every configured peer has sent its whole table.
    fn check_converged(&mut self) {
        // Under graceful restart the recovery decides (rib_routes_gr.rs).
        if self.converged || self.gr.recovery_started() {
            return;
        }
        let done = self.expected.iter().all(|a| {
            self.ids
                .get(a)
                .and_then(|id| self.peers.get(id))
                .is_some_and(|m| m.families.iter().all(|f| m.eor.contains(f)))
        });
        if done {
            info!("routing converged: End-of-RIB from all {} peer(s)", self.expected.len());
            self.converged = true;
            self.fib.converged();
        }
    }

    fn path(&self, v: &RouteView) -> PathSnapshot {
        let (source, since) = match v.peer.and_then(|id| self.peers.get(&id).or(self.away.get(&id)))
        {
            Some(m) => (RouteSource::Bgp { peer: m.key.address, name: m.name.clone() }, m.since),
            None if v.kernel => self.learned_source(v.prefix),
            None => {
                let why = self.originated.get(&v.prefix).map_or("block", |(w, _)| *w);
                (RouteSource::Local { origin: why.to_owned() }, 0)
            }
        };
        let mut p =
            super::control::path_snapshot(source, &v.attrs.attrs, v.attrs.next_hop.as_ref(), since);
        p.path_id = (v.rx_path_id != 0).then_some(v.rx_path_id);
        p.best = v.best;
        p.reject_reason = v.reason.map(ctl_reason);
        p.stale = v.stale;
        p.filter = v.filter.clone();
        p.interface = v.interface.clone();
        p
    }
}

/// The RIB's reason in the words of the control protocol.
fn ctl_reason(r: RejectReason) -> CtlReason {
    match r {
        RejectReason::LocalRoutePreferred => {
            CtlReason::Other("locally originated path preferred".into())
        }
        RejectReason::KernelRouteLower => {
            CtlReason::Other("learned from the kernel, a BGP path preferred".into())
        }
        RejectReason::LocalPrefLower => CtlReason::LocalPrefLower,
        RejectReason::AsPathLonger => CtlReason::AsPathLonger,
        RejectReason::OriginWorse => CtlReason::OriginWorse,
        RejectReason::MedHigher => CtlReason::MedHigher,
        RejectReason::IbgpVsEbgp => CtlReason::IbgpVsEbgp,
        RejectReason::IgpCostHigher => CtlReason::IgpMetricHigher,
        RejectReason::RouterIdHigher => CtlReason::RouterIdHigher,
        RejectReason::ClusterListLonger => CtlReason::ClusterListLonger,
        RejectReason::PeerAddressHigher => CtlReason::PeerAddressHigher,
        RejectReason::PathIdHigher => CtlReason::Other("higher path id".into()),
        RejectReason::LlgrStale => CtlReason::Other("long-lived stale (RFC 9494)".into()),
        RejectReason::NextHopUnreachable => CtlReason::NextHopUnreachable,
        RejectReason::NextHopOwn => {
            CtlReason::Other("next hop is our own address (RFC 4271 §6.3)".into())
        }
        RejectReason::AsLoop | RejectReason::OriginatorIdLoop | RejectReason::ClusterLoop => {
            CtlReason::Loop
        }
        RejectReason::ImportFiltered => CtlReason::ImportFiltered,
    }
}

/// One [`Outbound`] per peer, messages kept in order.
fn merge_outbound(v: Vec<Outbound>) -> Vec<Outbound> {
    let mut out: Vec<Outbound> = Vec::new();
    for o in v {
        match out.iter_mut().find(|x| x.peer == o.peer) {
            Some(x) => x.messages.extend(o.messages),
            None => out.push(o),
        }
    }
    out
}

/// What the owner task calls: each method that changes routes returns the
/// messages to send, per peer; the owner delivers them to the peer's current
/// session and drops them if it went down meanwhile.
impl RibRoutes {
    /// Called once by the owner task before any session starts, inside the
    /// runtime: start what runs beside the owner (the FIB), which reports
    /// back through `inputs`.
    pub fn start(&mut self, inputs: mpsc::UnboundedSender<Input>) {
        self.fib.start(inputs);
        // Nobody is up yet: nothing to send.
        let _ = self.gr_start();
        self.check_converged();
    }

    /// A session reached Established with what `up` says was negotiated:
    /// typically the initial advertisement and End-of-RIB.
    pub fn peer_up(&mut self, peer: &EffectivePeer, up: &Up) -> Vec<Outbound> {
        let id = self.id_of(peer.key());
        let local = crate::net::canonical(up.local.ip());
        let mut info = PeerInfo::from_session(peer, &up.negotiated, local);
        info.filters = PeerFilters::for_peer(&self.filter_defs, &peer.filters);
        // Next hop self for the other family: the node's address of it
        // (an IPv6 session carrying IPv4 routes, or the reverse).
        info.local_addr_v4 = info.local_addr_v4.or(self.node_v4);
        info.local_addr_v6 = info.local_addr_v6.or(self.node_v6);
        // The prefix length is only known for the node's own address: a
        // session from any other source address gets no third party.
        info.local_subnet = self.node_nets.iter().find(|n| n.addr() == local).map(IpNet::trunc);
        self.peers.insert(
            id,
            PeerMeta {
                key: peer.key(),
                name: peer.bird_protocol_name(),
                families: up.negotiated.families.clone(),
                eor: BTreeSet::new(),
                since: ctl::server::unix_now(),
            },
        );
        self.away.remove(&id);
        let out = self.rib.peer_up(id, info);
        let mut sent = self.carry_out(out);
        sent.extend(self.gr_peer_up(id, peer, up));
        merge_outbound(sent)
    }

    /// A session left Established or its peer was removed: forget what it
    /// sent, or keep it stale when `graceful` (the FSM's `Down::graceful`:
    /// a graceful restart of the peer, RFC 4724 §4.2, RFC 8538 §4).
    pub fn peer_down(&mut self, peer: PeerKey, graceful: bool) -> Vec<Outbound> {
        let Some(&id) = self.ids.get(&peer) else { return Vec::new() };
        // A peer removed while away after a graceful restart: its stale
        // routes go now.
        let meta = self.peers.remove(&id);
        let up = meta.is_some();
        if let Some(m) = meta.filter(|_| graceful) {
            self.away.insert(id, m);
        } else {
            self.away.remove(&id);
        }
        let out = self.gr_peer_down(id, graceful && up);
        // A peer gone is no longer waited for by the FIB sweep.
        self.gr_check_fib();
        out
    }

    /// An UPDATE from an Established peer, with its RFC 7606 treatment.
    pub fn update(&mut self, peer: PeerKey, update: ParsedUpdate) -> Vec<Outbound> {
        let Some(&id) = self.ids.get(&peer) else { return Vec::new() };
        let out = self.rib.update(id, &update);
        let mut sent = self.carry_out(out);
        if let Some(f) = update.is_end_of_rib() {
            if let Some(m) = self.peers.get_mut(&id) {
                m.eor.insert(f);
            }
            sent.extend(self.gr_end_of_rib(id, f));
            self.check_converged();
        }
        merge_outbound(sent)
    }

    /// The peer asked for our routes again (RFC 2918).
    pub fn route_refresh(&mut self, peer: PeerKey, request: RouteRefreshMsg) -> Vec<Outbound> {
        let Some(&id) = self.ids.get(&peer) else { return Vec::new() };
        // A subtype 0 message asks us for our routes; BoRR and EoRR frame
        // the peer's re-advertisement of its own (RFC 7313 §4).
        if request.subtype != RouteRefreshSubtype::Normal {
            return self.peer_route_refresh(id, request);
        }
        let out = self.rib.route_refresh(id, request.family);
        self.carry_out(out)
    }

    /// A reload changed what this node originates.
    pub fn reconfigure(&mut self, cfg: &ValidatedConfig) -> Vec<Outbound> {
        let new = rib_config(cfg, self.fib.as_ref());
        let mut out = Vec::new();
        let mut fresh = false;
        if identity(&new) != identity(self.rib.config()) {
            if self.peers.is_empty() {
                // A new identity restarts every session, so by now no peer
                // is up: a fresh RIB loses nothing.
                info!("routing identity changed: new RIB");
                self.rib = Rib::new(new.clone());
                self.originated.clear();
                fresh = true;
            } else {
                warn!(
                    "route_reflector / cluster_id changes take effect when the daemon restarts \
                     ({} session(s) up)",
                    self.peers.len()
                );
            }
        }
        let ranges = |c: &RibConfig| (c.ip_pools.clone(), c.service_ranges.clone());
        if ranges(&new) != ranges(self.rib.config()) {
            let o = self.rib.set_export_ranges(new.ip_pools.clone(), new.service_ranges.clone());
            out.extend(self.carry_out(o));
        }
        self.fib.reconfigure(cfg);
        let before = self.expected.clone();
        self.set_config(cfg);
        let added: Vec<PeerKey> = self.expected.difference(&before).copied().collect();
        let removed: Vec<PeerKey> = before.difference(&self.expected).copied().collect();
        out.extend(self.gr_peers_changed(&added, &removed));
        out.extend(self.refilter(cfg));
        out.extend(self.sync_origination());
        out.extend(self.rejudge_learned(fresh));
        self.check_converged();
        merge_outbound(out)
    }

    /// Prefixes currently accepted from `peer`, for its max-prefix limit.
    pub fn received_prefixes(&self, peer: PeerKey) -> usize {
        self.ids
            .get(&peer)
            .and_then(|id| self.rib.peer_stats(*id))
            .map_or(0, |s| s.received as usize)
    }

    /// `calico-bgpctl advertise add|del`: start (`add`) or stop originating
    /// `prefix` at run time, returning the UPDATEs that announce or
    /// withdraw it.
    pub fn advertise(&mut self, prefix: IpNet, add: bool) -> Vec<Outbound> {
        let prefix = prefix.trunc();
        if add {
            self.deleted.remove(&prefix);
            if !self.blocks.contains(&prefix) {
                self.added.insert(prefix);
            }
        } else {
            self.added.remove(&prefix);
            if self.blocks.contains(&prefix) {
                self.deleted.insert(prefix);
            }
        }
        self.sync_origination()
    }

    /// Routes other agents put in the kernel table changed (Felix's
    /// workload routes): they are exported as Calico's BIRD exports them.
    pub fn kernel_routes(&mut self, changes: Vec<KernelRouteChange>) -> Vec<Outbound> {
        let out = self.learn(changes);
        merge_outbound(out)
    }

    /// The kernel reports whether next hop `addr` is reachable, at what IGP
    /// cost (`None`: unreachable) and by which interface.
    pub fn nexthop_reachability(
        &mut self,
        addr: IpAddr,
        cost: Option<u32>,
        iface: Option<&str>,
    ) -> Vec<Outbound> {
        let out = self.rib.nexthop_reachability(addr, cost, iface);
        let sent = self.carry_out(out);
        if self.gr.nexthop_answered(addr) {
            self.gr_check_fib();
        }
        sent
    }

    /// The prefixes this node originates (read only, for `show routes`).
    pub fn originated(&self) -> Vec<IpNet> {
        self.originated.keys().copied().collect()
    }

    /// Every route for `show routes` (read only): the whole table.
    pub fn routes_snapshot(&self) -> Vec<RouteSnapshot> {
        self.routes_query(&RouteQuery::default())
    }

    /// The routes `query` selects, built when a client asks (read only): a
    /// walk of a full table takes the owner most of a second, so it is never
    /// done on a timer.
    pub fn routes_query(&self, query: &RouteQuery) -> Vec<RouteSnapshot> {
        // One prefix is a lookup, not a walk.
        let mut prefixes = match query.prefix {
            Some(p) => vec![p.trunc()],
            None => self.rib.prefixes(),
        };
        if let Some(f) = query.family {
            prefixes.retain(|p| Family::of_net(p) == f);
        }
        prefixes.sort_unstable();
        prefixes
            .into_iter()
            .filter_map(|prefix| {
                let paths: Vec<PathSnapshot> = self
                    .rib
                    .routes(prefix)
                    .iter()
                    .map(|v| self.path(v))
                    .filter(|p| query.peer.is_none_or(|peer| p.source.peer() == Some(peer)))
                    .collect();
                (!paths.is_empty()).then_some(RouteSnapshot { prefix, paths })
            })
            .collect()
    }

    /// Prefixes and paths per family, for `show status` and the metrics at
    /// every publication (read only; must not walk the table).
    pub fn rib_sizes(&self) -> Vec<RibSize> {
        let [v4, v6] = self.rib.sizes();
        [(Family::Ipv4, v4), (Family::Ipv6, v6)]
            .into_iter()
            .map(|(family, (prefixes, paths))| RibSize { family, prefixes, paths })
            .collect()
    }

    /// Prefix counters of one peer per family (read only, for `show peer`
    /// and the metrics).
    pub fn peer_counts(&self, peer: PeerKey) -> Vec<FamilyCounts> {
        let Some(id) = self.ids.get(&peer) else { return Vec::new() };
        let (Some(m), Some(s)) = (self.peers.get(id), self.rib.peer_stats(*id)) else {
            return Vec::new();
        };
        m.families
            .iter()
            .filter_map(|f| match *f {
                AfiSafi::IPV4_UNICAST => Some((Family::Ipv4, *f, s.families[0])),
                AfiSafi::IPV6_UNICAST => Some((Family::Ipv6, *f, s.families[1])),
                _ => None,
            })
            .map(|(family, afi_safi, c)| FamilyCounts {
                family,
                received: u64::from(c.received),
                accepted: u64::from(c.accepted),
                // Sent counts are kept per family by the RIB's export groups.
                advertised: self.rib.advertised(*id, afi_safi),
                best: u64::from(c.best),
                limit: None,
            })
            .collect()
    }

    /// Paths held from one peer per import filter rule that judged them
    /// (read only, for `show peer` and the metrics).
    pub fn peer_filter_rules(&self, peer: PeerKey) -> Vec<ctl::proto::FilterRulePaths> {
        let Some(id) = self.ids.get(&peer) else { return Vec::new() };
        let mut rules = self.rib.import_rule_paths(*id);
        rules.extend(self.rib.export_rule_paths(*id));
        rules
            .into_iter()
            .map(|r| ctl::proto::FilterRulePaths {
                filter: r.filter,
                list: r.list.to_owned(),
                rule: r.rule,
                action: if r.accept { "accept" } else { "reject" }.to_owned(),
                paths: u64::from(r.paths),
            })
            .collect()
    }

    /// The FIB's counters (read only; shared, not copied, at each
    /// publication).
    pub fn fib_snapshot(&self) -> Arc<FibSnapshot> {
        self.fib.snapshot()
    }

    /// `show fib` in full, built by the returned future when a client asks;
    /// the owner spawns it rather than waiting.
    pub fn fib_query(&self) -> FibQuery {
        self.fib.query()
    }

    /// The daemon is exiting (routes stay in the kernel).
    pub fn stop(&mut self) {
        self.fib.stop();
    }

    /// When [`RibRoutes::timers_due`] is next to be called (graceful
    /// restart timers), if ever.
    pub fn next_timer(&self) -> Option<tokio::time::Instant> {
        self.gr.next_timer()
    }

    /// Runs the timers due at `now`.
    pub fn timers_due(&mut self, now: tokio::time::Instant) -> Vec<Outbound> {
        let out = self.gr_timers_due(now);
        merge_outbound(out)
    }

    /// Whether we are recovering from a restart of this daemon (RFC 4724
    /// §4.1): our OPENs carry the R bit meanwhile.
    pub fn recovering(&self) -> bool {
        self.gr.recovering()
    }

    /// The recovery for `show status`, while it runs.
    pub fn gr_recovery(&self) -> Option<ctl::proto::GrRecovery> {
        self.gr_recovery_snapshot()
    }

    /// The graceful restart state of `peer` for `show peer`, when one is in
    /// progress (the peer's routes are kept stale, or its End-of-RIB is
    /// awaited for our recovery).
    pub fn peer_gr(&self, peer: PeerKey) -> Option<ctl::proto::PeerGracefulRestart> {
        self.gr_peer_snapshot(peer)
    }
}

#[path = "rib_routes_gr.rs"]
mod gr;

#[path = "rib_routes_kernel.rs"]
mod kernel;

#[cfg(test)]
#[path = "rib_routes_tests.rs"]
mod tests;
