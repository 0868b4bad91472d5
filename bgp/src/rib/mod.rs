//! The routing core: Adj-RIBs-In, best path, Loc-RIB, export groups,
//! route reflection and origination (RFC 4271 §3.2, §9; RFC 4456; RFC 7911
//! ADD-PATH; RFC 4724 End-of-RIB; RFC 7313 enhanced route refresh, both
//! directions: `refresh.rs` handles a peer's BoRR and EoRR).
//!
//! Pure and Sans-IO like the codec: every method takes values (a decoded
//! UPDATE, a peer coming up, a next hop becoming reachable) and returns an
//! [`Output`] — encoded messages per peer and kernel route changes — for the
//! daemon to carry out. No clock, no sockets, no tasks.
//!
//! ```text
//!           update(peer, ParsedUpdate)        originate(prefix, LocalRoute)
//!                     │                                  │
//!                     ▼                                  ▼
//!  import checks ─► table: prefix ─► [path, path, ...] ◄─┘   (Adj-RIBs-In + local)
//!  (AS loop, RR       │  attributes interned (AttrId)
//!   loops)            ▼
//!                best path + multipath (best.rs)  ──► FibChange (ECMP next hops,
//!                     │                                blackhole for own blocks)
//!                     ▼
//!   per export group: may_send? pool filter? rewrite (cached per AttrId)
//!                     │
//!                     ▼
//!   encode once (wire::pack) ──► Bytes cloned to every member of the group
//! ```
//!
//! Peers with the same export policy, peer class, next-hop rule and codec
//! context form one export group: each change is computed and encoded once
//! per group. The group's Adj-RIB-Out is not stored: what a group was sent
//! for a prefix is a function of the destination's previous paths, so each
//! change diffs the export of the old paths against the new ones. A full
//! table therefore costs one table entry per path and nothing per peer.
//!
//! Graceful restart (RFC 4724, RFC 8538, RFC 9494) lives in `graceful.rs`
//! (helper mode: stale paths, End-of-RIB and timer sweeps, long-lived stale
//! routes; deferral of our table) and `recovery.rs` ([`GrRecovery`], the
//! restarting speaker's recovery window).
//!
//! Calico `BGPFilter`s (`filter.rs` compiles and evaluates them,
//! `prepared.rs` holds their per-route prefix tests, `filtering.rs` applies
//! them here, `interface.rs` gives routes the interface `interface` rules
//! see): a peer's import rules judge each of its paths after the import
//! checks (a rejected path is kept, ineligible); its export rules come
//! before the IP-pool rule, per export group, so peers with different
//! filters are in different groups.
//!
//! Split horizon: a route is not sent back to the peer it came from when
//! that peer is alone in its group; in a shared group the peer's own loop
//! detection (AS_PATH, ORIGINATOR_ID) discards it, as with FRR's update
//! groups.

#![warn(missing_docs)]

mod best;
mod engine;
pub mod filter;
mod filtering;
mod from_config;
mod graceful;
mod hash;
mod interface;
mod intern;
mod kernel;
mod policy;
mod prepared;
mod recovery;
mod refresh;
mod table;
mod types;

use std::net::{IpAddr, Ipv4Addr};

use bytes::Bytes;
use ipnet::IpNet;

pub use self::best::{Candidate, RejectReason, Selection, compare, multipath_equal, select};
use self::engine::{Change, Group, NhState, PeerEntry, Pending};
use self::filter::Direction;
pub use self::filtering::RulePaths;
pub use self::graceful::{
    DEFAULT_STALE_PATH_TIME, GrFamilyStatus, GrHelper, GrHelperStatus, GrPhase, GrTimer,
    GrTimerAction, GrTimerKind,
};
use self::hash::{FxHashMap, FxHashSet};
use self::interface::{IfaceId, Interfaces};
use self::intern::Interner;
pub use self::intern::{AttrId, StoredAttrs};
use self::kernel::KERNEL_RX_ID;
pub use self::kernel::{KernelExport, KernelExportRules, KernelRoute, kernel_export};
pub use self::policy::{
    DEFAULT_LOCAL_PREF, ExportPolicy, NORMAL_ROUTE_PRIORITY, PeerClass, local_pref_from_priority,
    may_send, priority_from_local_pref,
};
use self::policy::{ExportTarget, PeerFacts, RouterFacts, import_check};
pub use self::recovery::{
    Completion, DEFAULT_PENDING_WAIT, DEFAULT_UPPER_BOUND, GrRecovery, PeerWait, RecoveryAction,
    RecoveryConfig, RecoveryPeer, RecoveryStatus,
};
use self::table::{BEST, MULTIPATH, Table};
pub use self::types::{
    FamilyStats, FibChange, FibRoute, LocalRoute, Output, PeerId, PeerInfo, PeerStats, RibConfig,
    RouteView,
};
use crate::config::IpPool;
use crate::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
use crate::wire::route_refresh::{RouteRefreshMsg, RouteRefreshSubtype};
use crate::wire::{AfiSafi, Message, ParsedUpdate};

/// The RIB. See the module documentation.
#[derive(Debug)]
pub struct Rib {
    cfg: RibConfig,
    /// The IP pools and service ranges in force.
    pools: Vec<IpPool>,
    services: Vec<IpNet>,
    /// Peers by internal slot; slot 0 is the local router.
    peers: Vec<Option<PeerEntry>>,
    slots: FxHashMap<PeerId, u32>,
    local_facts: PeerFacts,
    groups: Vec<Option<Group>>,
    table: Table,
    attrs: Interner,
    nexthops: FxHashMap<IpAddr, NhState>,
    /// With `resolve_next_hops`: the prefixes that had a path through each
    /// tracked next hop, so a reachability report reselects those alone
    /// instead of walking the table. A superset: a prefix whose path moved
    /// elsewhere stays until the next report checks it; the entry goes
    /// with the next hop's last attribute set.
    nh_prefixes: FxHashMap<IpAddr, FxHashSet<IpNet>>,
    /// Names of the interfaces next hops are reached by.
    ifaces: Interfaces,
    local: FxHashMap<IpNet, LocalRoute>,
    /// Routes learned from the kernel (`kernel.rs`).
    kernel: FxHashMap<IpNet, KernelRoute>,
    /// Per-call state: queued exports per group, the output being built.
    pending: Vec<Pending>,
    out: Output,
    seq: u32,
    scratch_old: Vec<table::Path>,
    scratch_new: Vec<table::Path>,
    /// Graceful restart: peers in helper mode, our own deferral.
    gr: graceful::GrState,
    /// Enhanced route refreshes in progress: a BoRR came, no EoRR yet.
    refreshing: Vec<(PeerId, AfiSafi)>,
}

impl Rib {
    /// An empty RIB.
    pub fn new(cfg: RibConfig) -> Self {
        let local_facts = PeerFacts {
            class: PeerClass::Local,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            router_id: cfg.router_id,
            local_as: cfg.local_as,
            allowed_local_as: 0,
        };
        Rib {
            pools: cfg.ip_pools.clone(),
            services: cfg.service_ranges.clone(),
            cfg,
            peers: vec![None],
            slots: FxHashMap::default(),
            local_facts,
            groups: Vec::new(),
            table: Table::default(),
            attrs: Interner::default(),
            nexthops: FxHashMap::default(),
            nh_prefixes: FxHashMap::default(),
            ifaces: Interfaces::default(),
            local: FxHashMap::default(),
            kernel: FxHashMap::default(),
            pending: Vec::new(),
            out: Output::default(),
            seq: 0,
            scratch_old: Vec::new(),
            scratch_new: Vec::new(),
            gr: graceful::GrState::default(),
            refreshing: Vec::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &RibConfig {
        &self.cfg
    }

    /// Pre-sizes the IPv4 table for `n` prefixes (before a full-table load).
    pub fn reserve_v4(&mut self, n: usize) {
        self.table.reserve_v4(n);
    }

    fn router(&self) -> RouterFacts {
        RouterFacts {
            router_id: self.cfg.router_id,
            cluster_id: Some(self.cfg.cluster_id.unwrap_or(self.cfg.router_id)),
            rr: self.cfg.route_reflector,
        }
    }

    /// A session came up: joins (or founds) its export group, then sends
    /// the peer the current table and End-of-RIB for each family
    /// (RFC 4724 §2: "the End-of-RIB marker ... after it completes the
    /// initial update").
    pub fn peer_up(&mut self, peer: PeerId, info: PeerInfo) -> Output {
        if self.slots.contains_key(&peer) {
            // A second peer_up without peer_down: treat as a restart.
            self.peer_down(peer);
        }
        let class = if !info.is_ibgp() {
            PeerClass::Ebgp
        } else if info.rr_client && self.cfg.route_reflector {
            PeerClass::IbgpClient
        } else {
            PeerClass::IbgpNonClient
        };
        let facts = PeerFacts {
            class,
            addr: info.addr,
            router_id: info.router_id,
            local_as: info.local_as,
            allowed_local_as: info.allowed_local_as,
        };
        let target = ExportTarget {
            class,
            local_as: info.local_as,
            next_hop_mode: info.next_hop_mode,
            local_v4: info.local_addr_v4,
            local_v6: info.local_addr_v6,
            v4_over_v6: info.encode.extended_next_hop(AfiSafi::IPV4_UNICAST),
            // Only where it changes the export: an external peer in mode
            // `auto` that is one hop away on our subnet, so internal peers
            // keep sharing one group whatever their subnets.
            shared_subnet: info.local_subnet.filter(|n| {
                class == PeerClass::Ebgp
                    && info.next_hop_mode == crate::config::NextHopMode::Auto
                    && n.contains(&info.addr)
            }),
        };
        // Back from a graceful restart: the same slot, so its stale paths
        // and their counters carry over.
        let reclaimed = self.gr_reclaim(peer, &facts);
        let slot = match reclaimed {
            Some(slot) => slot,
            None => match self.peers.iter().skip(1).position(Option::is_none) {
                Some(i) => (i + 1) as u32,
                None => {
                    self.peers.push(None);
                    (self.peers.len() - 1) as u32
                }
            },
        };
        let stats = match reclaimed {
            Some(slot) => self.peers[slot as usize].as_ref().map(|e| e.stats).unwrap_or_default(),
            None => PeerStats::default(),
        };
        let rule_paths = match reclaimed {
            Some(slot) => {
                self.peers[slot as usize].as_mut().map(|e| std::mem::take(&mut e.rule_paths))
            }
            None => None,
        };
        let group = self.join_group(peer, slot, target, &info);
        let families = info.families.clone();
        let defer = self.gr_defers(peer, &info);
        let gr_info = reclaimed.map(|_| info.clone());
        let adv_offset = [0; 2];
        self.peers[slot as usize] = Some(PeerEntry {
            id: peer,
            info,
            facts,
            group,
            stats,
            rule_paths: rule_paths.unwrap_or_default(),
            adv_offset,
        });
        self.slots.insert(peer, slot);
        if let Some(info) = gr_info {
            self.gr_returned(peer, &info);
        }
        if !defer {
            let msgs = self.initial_table(peer, group, &families);
            self.send(peer, msgs);
        }
        self.finish()
    }

    /// A session went down, or a peer in helper mode was removed: its
    /// routes are withdrawn everywhere. [`Rib::peer_down_graceful`] keeps
    /// them instead.
    pub fn peer_down(&mut self, peer: PeerId) -> Output {
        // Ends any graceful restart of the peer, sweeping what it left.
        self.gr_forget(peer);
        self.forget_refreshes(peer);
        let Some(&slot) = self.slots.get(&peer) else {
            return self.finish();
        };
        self.leave_group(peer, slot);
        let affected = self.table.collect_where(|paths| paths.iter().any(|p| p.src == slot));
        for (prefix, _) in affected {
            self.apply(prefix, Change::RemovePeer { src: slot });
        }
        self.slots.remove(&peer);
        self.peers[slot as usize] = None;
        self.finish()
    }

    /// Applies a received UPDATE (after RFC 7606: [`ParsedUpdate::withdrawals`]
    /// and [`ParsedUpdate::announcements`] already turn a treat-as-withdraw
    /// UPDATE into withdrawals). UPDATEs from unknown peers are ignored.
    pub fn update(&mut self, peer: PeerId, upd: &ParsedUpdate) -> Output {
        let Some(&slot) = self.slots.get(&peer) else {
            return Output::default();
        };
        let Some(entry) = self.peers[slot as usize].as_ref() else {
            return Output::default();
        };
        if let Some(fam) = upd.is_end_of_rib() {
            return self.end_of_rib(peer, fam);
        }
        let families = entry.info.families.clone();
        let facts = entry.facts.clone();
        let filters = entry.info.filters.clone();
        // Import filter outcomes already interned in this UPDATE.
        let mut judged = Vec::new();
        // RFC 4271 §9.1.2 via §4.3: withdrawals first, so a prefix both
        // withdrawn and announced in one UPDATE ends up announced ("treat
        // an UPDATE message of this form as though the WITHDRAWN ROUTES do
        // not contain the address prefix").
        for (fam, nlri) in upd.withdrawals() {
            if families.contains(&fam) {
                let rx_id = nlri.path_id.unwrap_or(0);
                self.apply(nlri.prefix, Change::Remove { src: slot, rx_id });
            }
        }
        for fam in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
            if !families.contains(&fam) || !upd.announcements().any(|(f, _)| f == fam) {
                continue;
            }
            let Some(nh) = upd.next_hop(fam) else {
                // No next hop for these NLRI: unusable, so withdrawn.
                for (_, nlri) in upd.announcements().filter(|(f, _)| *f == fam) {
                    let rx_id = nlri.path_id.unwrap_or(0);
                    self.apply(nlri.prefix, Change::Remove { src: slot, rx_id });
                }
                continue;
            };
            let mut attrs = upd.update.attrs.clone();
            attrs.next_hop = None;
            let import =
                import_check(&attrs, &facts, self.router()).or(self.own_next_hop(slot, nh));
            let id = self.intern(StoredAttrs {
                src: slot,
                family: fam,
                next_hop: Some(nh),
                iface: self.nh_iface(nh),
                attrs,
                import: None,
            });
            let v6 = fam == AfiSafi::IPV6_UNICAST;
            let ibgp = facts.class.is_ibgp();
            let plan = filters
                .any_rules(Direction::Import, v6)
                .then(|| self.import_plan(id, v6, &filters, ibgp));
            for (_, nlri) in upd.announcements().filter(|(f, _)| *f == fam) {
                let rx_id = nlri.path_id.unwrap_or(0);
                let (attrs, import) = match plan.as_ref().map(|p| p.evaluate(nlri.prefix)) {
                    None | Some(filter::Verdict::NoMatch) => (id, import),
                    Some(v) => self.import_judged(v6, id, v, import, &filters, ibgp, &mut judged),
                };
                self.apply(nlri.prefix, Change::Upsert { src: slot, rx_id, attrs, import });
            }
            self.attrs.decref(id);
        }
        for (_, _, id) in judged {
            self.attrs.decref(id);
        }
        self.finish()
    }

    /// [`RejectReason::NextHopOwn`] when `nh` is one of our addresses: the
    /// node's, or our end of `slot`'s session. Such a route would send the
    /// traffic back to us (RFC 4271 §6.3, §5.1.3: the NEXT_HOP "MUST NOT be
    /// the IP address of the receiving speaker"); it is kept for `show
    /// routes` but never selected, installed or passed on.
    fn own_next_hop(&self, slot: u32, nh: MpNextHop) -> Option<RejectReason> {
        let addr = engine::nh_addr(nh);
        let session =
            self.peers.get(slot as usize).and_then(Option::as_ref).map(|e| {
                [e.info.local_addr_v4.map(IpAddr::V4), e.info.local_addr_v6.map(IpAddr::V6)]
            });
        let ours =
            self.cfg.own_addrs.contains(&addr) || session.is_some_and(|s| s.contains(&Some(addr)));
        ours.then_some(RejectReason::NextHopOwn)
    }

    /// Originates `prefix` (a local block, a service address, an elevated
    /// workload route). Originating it again replaces the attributes.
    pub fn originate(&mut self, prefix: IpNet, route: LocalRoute) -> Output {
        let prefix = prefix.trunc();
        let fam = family_of(prefix);
        let attrs = PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            local_pref: route.priority.map(local_pref_from_priority),
            med: route.med,
            communities: route.communities.clone(),
            large_communities: route.large_communities.clone(),
            ..PathAttrs::default()
        };
        let blackhole = route.blackhole;
        let force_fib =
            self.local.insert(prefix, route).is_some_and(|old| old.blackhole != blackhole);
        let local =
            StoredAttrs { src: 0, family: fam, next_hop: None, iface: None, attrs, import: None };
        let id = self.intern(local);
        let change = Change::Upsert { src: 0, rx_id: 0, attrs: id, import: None };
        self.apply_forcing_fib(prefix, change, force_fib);
        self.attrs.decref(id);
        self.finish()
    }

    /// The route the kernel holds for `prefix` from another agent changed (`None`: it
    /// has none any more): see `kernel.rs`. A route whose export verdict changed is
    /// withdrawn and announced again, so every group is judged afresh.
    pub fn learn_kernel(&mut self, prefix: IpNet, route: Option<KernelRoute>) -> Output {
        let prefix = prefix.trunc();
        // A withdrawal is judged under the verdict the route was sent with: the
        // map entry goes after it.
        let Some(route) = route else {
            if self.kernel.contains_key(&prefix) {
                self.apply(prefix, Change::Remove { src: 0, rx_id: KERNEL_RX_ID });
                self.kernel.remove(&prefix);
            }
            return self.finish();
        };
        if self.kernel.get(&prefix).is_some_and(|old| old.export != route.export) {
            self.apply(prefix, Change::Remove { src: 0, rx_id: KERNEL_RX_ID });
        }
        let attrs = PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            local_pref: Some(local_pref_from_priority(route.metric)),
            communities: route.communities.clone(),
            large_communities: route.large_communities.clone(),
            ..PathAttrs::default()
        };
        let family = family_of(prefix);
        self.kernel.insert(prefix, route);
        let id = self.intern(StoredAttrs {
            src: 0,
            family,
            next_hop: None,
            attrs,
            import: None,
            iface: None,
        });
        self.apply(prefix, Change::Upsert { src: 0, rx_id: KERNEL_RX_ID, attrs: id, import: None });
        self.attrs.decref(id);
        self.finish()
    }

    /// Stops originating `prefix`.
    pub fn withdraw_local(&mut self, prefix: IpNet) -> Output {
        let prefix = prefix.trunc();
        if self.local.remove(&prefix).is_some() {
            self.apply(prefix, Change::Remove { src: 0, rx_id: 0 });
        }
        self.finish()
    }

    /// The kernel side reports whether next hop `addr` resolves, at what
    /// IGP cost (`None`: unreachable) and by which interface (BIRD's
    /// `ifname` of routes through it). Routes through it are reselected; if
    /// the interface changed they are first judged again by their peer's
    /// filters, whose `interface` rules see the new one.
    pub fn nexthop_reachability(
        &mut self,
        addr: IpAddr,
        cost: Option<u32>,
        iface: Option<&str>,
    ) -> Output {
        // An unreachable next hop has no interface (BIRD: `ifname` "").
        let iface = cost.and(iface).map(|n| self.ifaces.id(n));
        let st = self.nexthops.entry(addr).or_insert(NhState {
            reachable: false,
            cost: 0,
            iface: None,
            sets: 0,
        });
        let new =
            NhState { reachable: cost.is_some(), cost: cost.unwrap_or(0), iface, sets: st.sets };
        if *st == new {
            return Output::default();
        }
        let moved = st.iface != new.iface;
        *st = new;
        let through = |a: &StoredAttrs| a.next_hop.map(engine::nh_addr) == Some(addr);
        let affected = self.prefixes_through(addr);
        if moved {
            // New attribute sets (with the interface) for every path through
            // it: reselected, and re-diffed for the export groups.
            self.rejudge_at(affected, |src, a| src != 0 && through(a));
            return self.finish();
        }
        for (prefix, _) in affected {
            self.apply(prefix, Change::Reselect);
        }
        self.finish()
    }

    /// The destinations with a path through next hop `addr`, in prefix
    /// order: from [`Rib::nh_prefixes`] (dropping the prefixes that no
    /// longer have one) when next hops are resolved, else by walking the
    /// table (without resolution the daemon reports no next hops; tests
    /// do).
    fn prefixes_through(&mut self, addr: IpAddr) -> Vec<(IpNet, table::DestId)> {
        let attrs = &self.attrs;
        let through = |ps: &[table::Path]| {
            ps.iter().any(|p| attrs.get(p.attrs).next_hop.map(engine::nh_addr) == Some(addr))
        };
        let mut found = if self.cfg.resolve_next_hops {
            let Some(known) = self.nh_prefixes.get_mut(&addr) else { return Vec::new() };
            let table = &self.table;
            let mut found = Vec::with_capacity(known.len());
            known.retain(|prefix| match table.get(*prefix) {
                Some(id) if through(table.paths(id)) => {
                    found.push((*prefix, id));
                    true
                }
                _ => false,
            });
            found
        } else {
            self.table.collect_where(through)
        };
        found.sort_unstable_by_key(|(prefix, _)| *prefix);
        found
    }

    /// The interface of next hop `nh` while it is reachable, if known.
    fn nh_iface(&self, nh: MpNextHop) -> Option<IfaceId> {
        self.nexthops.get(&engine::nh_addr(nh)).filter(|s| s.reachable).and_then(|s| s.iface)
    }

    /// The peer asked for the table again (RFC 2918): re-sends it for
    /// `family`, between BoRR and EoRR if enhanced route refresh was
    /// negotiated (RFC 7313 §4: "the speaker MUST send a BoRR message
    /// before it re-advertises ... and MUST send an EoRR message after").
    ///
    /// A peer whose table is deferred (we are restarting, RFC 4724 §4.1)
    /// is answered too, with what is selected so far and no markers: an
    /// EoRR, like an End-of-RIB, would make it remove our routes that the
    /// recovery has not selected yet. The deferral still ends with the
    /// whole table and End-of-RIB.
    pub fn route_refresh(&mut self, peer: PeerId, family: AfiSafi) -> Output {
        let Some(entry) = self.slots.get(&peer).and_then(|&s| self.peers[s as usize].as_ref())
        else {
            return Output::default();
        };
        if !entry.info.families.contains(&family) {
            return Output::default();
        }
        let deferred = self.gr.deferred.contains(&peer);
        let (group, enhanced) = (entry.group, entry.info.enhanced_route_refresh && !deferred);
        let marker = |subtype| Message::RouteRefresh(RouteRefreshMsg { family, subtype });
        let mut msgs = Vec::new();
        let ctx = self.group(group).ctx.clone();
        if enhanced {
            msgs.extend(marker(RouteRefreshSubtype::BoRR).to_bytes(&ctx));
        }
        let events = self.dump(group, family);
        msgs.extend(self.encode_group(group, &events, peer));
        if enhanced {
            msgs.extend(marker(RouteRefreshSubtype::EoRR).to_bytes(&ctx));
        }
        if deferred {
            // `send` holds everything back from a deferred peer.
            if !msgs.is_empty() {
                self.out.to_peers.push((peer, msgs));
            }
        } else {
            self.send(peer, msgs);
        }
        self.finish()
    }

    /// Replaces the IP pools (configuration reload): learned routes that
    /// the export filter now refuses are withdrawn, newly allowed ones sent.
    pub fn set_pools(&mut self, pools: Vec<IpPool>) -> Output {
        self.set_export_ranges(pools, self.services.clone())
    }

    /// Replaces the IP pools and the advertised service ranges
    /// (configuration reload): learned routes that the export filter now
    /// refuses are withdrawn, newly allowed ones sent.
    pub fn set_export_ranges(&mut self, pools: Vec<IpPool>, services: Vec<IpNet>) -> Output {
        let pools_before = std::mem::replace(&mut self.pools, pools);
        let services_before = std::mem::replace(&mut self.services, services);
        self.cfg.ip_pools = self.pools.clone();
        self.cfg.service_ranges = self.services.clone();
        let learned = self.table.collect_where(|paths| paths.iter().any(|p| p.src != 0));
        for (prefix, id) in learned {
            let paths = self.table.paths(id).to_vec();
            self.diff_groups(prefix, &paths, &paths, Some((&pools_before, &services_before)));
        }
        self.finish()
    }

    /// Every path for `prefix`, best first.
    pub fn routes(&self, prefix: IpNet) -> Vec<RouteView> {
        let Some(id) = self.table.get(prefix.trunc()) else {
            return Vec::new();
        };
        let mut v: Vec<RouteView> =
            self.table.paths(id).iter().map(|p| self.view(prefix.trunc(), p)).collect();
        v.sort_by_key(|r| (!r.best, !r.multipath, r.reason));
        v
    }

    /// Destinations and paths held, IPv4 then IPv6, without walking the
    /// table.
    pub fn sizes(&self) -> [(u64, u64); 2] {
        self.table.sizes()
    }

    /// Every destination (prefix with at least one path), IPv4 first, for
    /// walking the table (`show routes`).
    pub fn prefixes(&self) -> Vec<IpNet> {
        self.table.collect_where(|_| true).into_iter().map(|(p, _)| p).collect()
    }

    /// The best path for `prefix` (its Loc-RIB route).
    pub fn best(&self, prefix: IpNet) -> Option<RouteView> {
        self.routes(prefix).into_iter().find(|r| r.best)
    }

    /// The paths received from `peer` (its Adj-RIB-In), in no set order.
    pub fn adj_rib_in(&self, peer: PeerId) -> Vec<RouteView> {
        let Some(&slot) = self.slots.get(&peer) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for (prefix, id) in self.table.collect_where(|ps| ps.iter().any(|p| p.src == slot)) {
            v.extend(
                self.table.paths(id).iter().filter(|p| p.src == slot).map(|p| self.view(prefix, p)),
            );
        }
        v
    }

    /// Route counters of `peer`.
    pub fn peer_stats(&self, peer: PeerId) -> Option<PeerStats> {
        let slot = *self.slots.get(&peer)?;
        self.peers[slot as usize].as_ref().map(|e| e.stats)
    }

    /// NLRI `peer` holds from us in `family` now (BIRD's `exported`
    /// count): announced minus withdrawn, counted per export group as
    /// changes are queued, so nothing is stored per peer and prefix. With
    /// ADD-PATH each path counts. 0 for a peer still waiting for its table
    /// (graceful restart deferral) or a family not on its session.
    pub fn advertised(&self, peer: PeerId, family: AfiSafi) -> u64 {
        let Some(e) = self.slots.get(&peer).and_then(|&s| self.peers[s as usize].as_ref()) else {
            return 0;
        };
        if !e.info.families.contains(&family) || self.gr.deferred.contains(&peer) {
            return 0;
        }
        let fam = usize::from(family == AfiSafi::IPV6_UNICAST);
        let Some(g) = self.groups.get(e.group).and_then(Option::as_ref) else { return 0 };
        u64::try_from(g.sent[fam].saturating_add(e.adv_offset[fam])).unwrap_or(0)
    }

    /// `peer` was just dumped `n` NLRI of `family` by group `gi`: from now
    /// on it holds the group's count plus the difference.
    fn set_advertised(&mut self, peer: PeerId, gi: usize, family: AfiSafi, n: usize) {
        let fam = usize::from(family == AfiSafi::IPV6_UNICAST);
        let sent = self.groups.get(gi).and_then(Option::as_ref).map_or(0, |g| g.sent[fam]);
        let Some(&slot) = self.slots.get(&peer) else { return };
        if let Some(e) = self.peers[slot as usize].as_mut() {
            e.adv_offset[fam] = i64::try_from(n).unwrap_or(i64::MAX).saturating_sub(sent);
        }
    }

    /// Number of destinations (prefixes with at least one path).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Number of distinct interned attribute sets.
    pub fn attr_sets(&self) -> usize {
        self.attrs.len()
    }

    /// Number of export groups (peers sharing one computed UPDATE stream).
    pub fn export_groups(&self) -> usize {
        self.groups.iter().flatten().count()
    }

    fn view(&self, prefix: IpNet, p: &table::Path) -> RouteView {
        RouteView {
            prefix,
            peer: self.peers.get(p.src as usize).and_then(|e| e.as_ref()).map(|e| e.id),
            kernel: p.is_kernel(),
            rx_path_id: p.rx_id,
            tx_path_id: p.tx_id,
            attrs: self.attrs.get(p.attrs).clone(),
            best: p.is(BEST),
            multipath: p.is(MULTIPATH),
            reason: p.verdict,
            stale: p.is(table::STALE),
            filter: self.explain_import(prefix, p),
            interface: self.attrs.get(p.attrs).iface.map(|i| self.ifaces.name(i).to_owned()),
        }
    }

    /// Queues `msgs` for `peer`, after anything already queued for it.
    fn send(&mut self, peer: PeerId, msgs: Vec<Bytes>) {
        // A deferred peer gets the whole table at the end of the deferral.
        if msgs.is_empty() || self.gr.deferred.contains(&peer) {
            return;
        }
        match self.out.to_peers.iter_mut().find(|(p, _)| *p == peer) {
            Some((_, v)) => v.extend(msgs),
            None => self.out.to_peers.push((peer, msgs)),
        }
    }
}

/// The unicast family of a prefix.
fn family_of(prefix: IpNet) -> AfiSafi {
    match prefix {
        IpNet::V4(_) => AfiSafi::IPV4_UNICAST,
        IpNet::V6(_) => AfiSafi::IPV6_UNICAST,
    }
}

#[cfg(test)]
#[path = "rib_tests.rs"]
mod tests;
