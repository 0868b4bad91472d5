//! The per-destination change machinery behind [`super::Rib`]'s methods:
//! apply a change to one destination's paths, rerun best path, diff what
//! each export group and the FIB saw before against what they see now, and
//! at the end of the call encode each group's queued changes once.

use std::net::IpAddr;

use bytes::Bytes;
use ipnet::IpNet;

use super::best::{Candidate, RejectReason, select};
use super::filter::{Direction, PeerFilters, Prepared, RuleRef, Verdict};
use super::filtering::filter_changed;
use super::hash::FxHashMap;
use super::interface::IfaceId;
use super::intern::{AttrId, StoredAttrs};
use super::kernel::KernelExport;
use super::policy::{
    DEFAULT_LOCAL_PREF, ExportPolicy, ExportTarget, PeerClass, PeerFacts, export_attrs, may_send,
    priority_from_local_pref,
};
use super::table::{BEST, ELIGIBLE, IMPORT_REJECTED, MULTIPATH, Path, STALE, same_family};
use super::types::{FibChange, FibRoute, Output, PeerId, PeerInfo, PeerStats};
use super::{Rib, family_of};
use crate::config::IpPool;
use crate::wire::attr::{MpNextHop, Origin, PathAttrs};
use crate::wire::pack::{pack_announcements, pack_withdrawals};
use crate::wire::{AfiSafi, EncodeCtx, Nlri};

/// The IP pools and service ranges in force before a reload: while
/// `set_export_ranges` applies one, what was sent is judged under these.
pub(super) type RangesBefore<'a> = Option<(&'a [IpPool], &'a [IpNet])>;

/// A peer that is up.
#[derive(Debug)]
pub(super) struct PeerEntry {
    pub id: PeerId,
    pub info: PeerInfo,
    pub facts: PeerFacts,
    pub group: usize,
    pub stats: PeerStats,
    /// Paths held from the peer per import rule that judged them (and
    /// family: IPv6 when true), for the per-rule metrics.
    pub rule_paths: FxHashMap<(RuleRef, bool), u32>,
    /// What this peer was sent beyond its group's running count, per
    /// family (IPv4, IPv6): set when it gets its initial table, so
    /// `group.sent + adv_offset` is what it holds now.
    pub adv_offset: [i64; 2],
}

/// What an export group sends for one attribute set.
#[derive(Debug, Default)]
pub(super) enum OutEntry {
    /// Not computed yet.
    #[default]
    Unknown,
    /// Not sent to this group (class matrix, or no usable next hop).
    Denied,
    /// Sent with these attributes and next hop.
    Send(Box<(PathAttrs, MpNextHop)>),
}

/// Peers that share one computed, encoded UPDATE stream.
#[derive(Debug)]
pub(super) struct Group {
    pub target: ExportTarget,
    pub ctx: EncodeCtx,
    pub families: Vec<AfiSafi>,
    pub policy: ExportPolicy,
    /// The members' filters (Calico `BGPFilter`s), judged before `policy`.
    pub filters: PeerFilters,
    /// Whether `filters` have export rules for IPv4, IPv6.
    pub export_rules: [bool; 2],
    /// Attribute sets changed by an accepting export rule's operations,
    /// by source set and rule; each holds one reference on its set.
    pub derived: FxHashMap<(AttrId, RuleRef), AttrId>,
    /// `filters`' export rules narrowed to each attribute set, by [`AttrId`].
    pub plans: Vec<Option<Prepared>>,
    /// Paths an export rule decided for, per rule and family (IPv6 when
    /// true): of each destination, the best path (every path with
    /// ADD-PATH) that got as far as the export rules.
    pub rule_paths: FxHashMap<(RuleRef, bool), u32>,
    /// Members accept long-lived stale routes (RFC 9494 capability).
    pub llgr: bool,
    pub members: Vec<PeerId>,
    pub member_slots: Vec<u32>,
    /// Export result per attribute set, indexed by [`AttrId`].
    pub out: Vec<OutEntry>,
    /// NLRI announced and not withdrawn since the group was founded, per
    /// family (IPv4, IPv6): each queued change that announces a new NLRI
    /// adds one, each that withdraws a sent one takes one away.
    pub sent: [i64; 2],
}

/// State of one next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NhState {
    pub reachable: bool,
    pub cost: u32,
    /// The interface it is reached by, as the kernel side reported.
    pub iface: Option<IfaceId>,
    /// Attribute sets using this next hop.
    pub sets: u32,
}

/// One queued change for a group: announce with `attrs`, or withdraw.
#[derive(Clone, Copy, Debug)]
pub(super) struct Event {
    pub nlri: Nlri,
    pub attrs: Option<AttrId>,
    pub seq: u32,
}

/// A group's queued changes within one call.
#[derive(Debug, Default)]
pub(super) struct Pending {
    events: Vec<Event>,
    /// Events arrived in strictly increasing NLRI order (no duplicates).
    sorted: bool,
}

/// What to do to one destination.
#[derive(Clone, Copy, Debug)]
pub(super) enum Change {
    /// Add or replace the path (src, rx_id).
    Upsert { src: u32, rx_id: u32, attrs: AttrId, import: Option<RejectReason> },
    /// Remove the path (src, rx_id).
    Remove { src: u32, rx_id: u32 },
    /// Remove every path from src.
    RemovePeer { src: u32 },
    /// Remove every path from src still marked stale (a graceful restart
    /// sweep).
    RemoveStale { src: u32 },
    /// Only rerun best path (a next hop changed).
    Reselect,
}

/// The address a next hop resolves through.
pub(super) fn nh_addr(nh: MpNextHop) -> IpAddr {
    match nh {
        MpNextHop::Ipv4(a) => IpAddr::V4(a),
        MpNextHop::Ipv6 { global, .. } => IpAddr::V6(global),
    }
}

impl Rib {
    pub(super) fn group(&self, g: usize) -> &Group {
        match &self.groups[g] {
            Some(g) => g,
            None => unreachable!("export group {g} used after removal"),
        }
    }

    #[inline]
    pub(super) fn facts(&self, src: u32) -> &PeerFacts {
        match self.peers.get(src as usize) {
            Some(Some(e)) => &e.facts,
            _ => &self.local_facts,
        }
    }

    /// Interns `a`, tracking its next hop if the set is new.
    pub(super) fn intern(&mut self, a: StoredAttrs) -> AttrId {
        let nh = a.next_hop.map(nh_addr);
        let (id, new) = self.attrs.intern(a);
        if let (true, Some(addr)) = (new, nh) {
            let resolve = self.cfg.resolve_next_hops;
            let st = self.nexthops.entry(addr).or_insert_with(|| NhState {
                reachable: !resolve,
                cost: 0,
                iface: None,
                sets: 0,
            });
            if st.sets == 0 && resolve {
                self.out.track_nexthops.push(addr);
            }
            st.sets += 1;
        }
        id
    }

    pub(super) fn join_group(
        &mut self,
        peer: PeerId,
        slot: u32,
        target: ExportTarget,
        info: &PeerInfo,
    ) -> usize {
        let found = self.groups.iter().position(|g| {
            g.as_ref().is_some_and(|g| {
                g.target == target
                    && g.ctx == info.encode
                    && g.families == info.families
                    && g.policy == info.export
                    && g.filters == info.filters
                    && g.llgr == info.llgr
            })
        });
        let gi = match found {
            Some(gi) => gi,
            None => {
                let g = Group {
                    target,
                    ctx: info.encode.clone(),
                    families: info.families.clone(),
                    policy: info.export.clone(),
                    filters: info.filters.clone(),
                    export_rules: [false, true]
                        .map(|v6| info.filters.any_rules(Direction::Export, v6)),
                    derived: FxHashMap::default(),
                    plans: Vec::new(),
                    rule_paths: FxHashMap::default(),
                    llgr: info.llgr,
                    members: Vec::new(),
                    member_slots: Vec::new(),
                    out: Vec::new(),
                    sent: [0; 2],
                };
                match self.groups.iter().position(Option::is_none) {
                    Some(gi) => {
                        self.groups[gi] = Some(g);
                        gi
                    }
                    None => {
                        self.groups.push(Some(g));
                        self.pending.push(Pending::default());
                        self.groups.len() - 1
                    }
                }
            }
        };
        let mut recount = found.is_none();
        if let Some(g) = self.groups[gi].as_mut() {
            g.members.push(peer);
            g.member_slots.push(slot);
            // A second member ends the split horizon of the first.
            recount |= g.members.len() == 2;
        }
        if recount {
            self.count_export_rules(gi);
        }
        gi
    }

    pub(super) fn leave_group(&mut self, peer: PeerId, slot: u32) {
        let Some(gi) = self.peers[slot as usize].as_ref().map(|e| e.group) else {
            return;
        };
        let Some(g) = self.groups[gi].as_mut() else {
            return;
        };
        g.members.retain(|p| *p != peer);
        g.member_slots.retain(|s| *s != slot);
        if g.members.len() == 1 {
            // The one left no longer gets its own routes.
            self.count_export_rules(gi);
            return;
        }
        let Some(g) = self.groups[gi].as_mut() else {
            return;
        };
        if g.members.is_empty() {
            let derived = std::mem::take(&mut g.derived);
            self.groups[gi] = None;
            self.pending[gi] = Pending::default();
            for id in derived.into_values() {
                self.attrs.decref(id);
            }
        }
    }

    /// Applies `change` to the destination of `prefix`, reselects, and
    /// queues what changed for the groups and the FIB.
    pub(super) fn apply(&mut self, prefix: IpNet, change: Change) {
        self.apply_forcing_fib(prefix, change, false);
    }

    /// [`Self::apply`]; with `force_fib` the FIB is sent the route even when
    /// the paths are unchanged (a local route that became, or stopped being,
    /// a blackhole: the path is the same, the kernel route is not).
    pub(super) fn apply_forcing_fib(&mut self, prefix: IpNet, change: Change, force_fib: bool) {
        // Scratch buffers instead of two allocations per prefix.
        let mut old = std::mem::take(&mut self.scratch_old);
        let mut new = std::mem::take(&mut self.scratch_new);
        old.clear();
        new.clear();
        self.apply_with(prefix, change, &mut old, &mut new, force_fib);
        self.scratch_old = old;
        self.scratch_new = new;
    }

    fn apply_with(
        &mut self,
        prefix: IpNet,
        change: Change,
        old: &mut Vec<Path>,
        new: &mut Vec<Path>,
        force_fib: bool,
    ) {
        let id = match change {
            Change::Upsert { src, rx_id, attrs, import } => {
                if self.cfg.resolve_next_hops {
                    if let Some(nh) = self.attrs.get(attrs).next_hop {
                        self.nh_prefixes.entry(nh_addr(nh)).or_default().insert(prefix);
                    }
                }
                let (id, created) =
                    self.table.get_or_insert(prefix, new_path(src, rx_id, attrs, 1, import));
                if created {
                    self.attrs.incref(attrs);
                }
                Some((id, created))
            }
            _ => self.table.get(prefix).map(|id| (id, false)),
        };
        if let Some((id, false)) = id {
            push_paths(old, self.table.paths(id));
        }
        let old = &old[..];
        let id = match (change, id) {
            (Change::Upsert { .. }, Some((id, true))) => id,
            (Change::Upsert { src, rx_id, attrs, import }, Some((id, false))) => {
                let paths = self.table.paths_mut(id);
                match paths.as_slice().iter().position(|p| p.src == src && p.rx_id == rx_id) {
                    Some(i) => {
                        let p = &mut paths.as_mut_slice()[i];
                        if p.attrs != attrs {
                            let was = p.attrs;
                            *p = new_path(src, rx_id, attrs, p.tx_id, import);
                            self.attrs.incref(attrs);
                            self.attrs.decref(was);
                        } else if p.is(STALE) {
                            // RFC 4724 §4.2: re-advertised, so no longer
                            // stale; exports and the FIB see no change.
                            p.flags &= !STALE;
                        } else if !force_fib {
                            return; // a repeat: nothing changes
                        }
                    }
                    None => {
                        let tx = paths.free_tx_id();
                        self.table.push_path(prefix, id, new_path(src, rx_id, attrs, tx, import));
                        self.attrs.incref(attrs);
                    }
                }
                id
            }
            (Change::Remove { src, rx_id }, Some((id, _))) => {
                let Some(i) = old.iter().position(|p| p.src == src && p.rx_id == rx_id) else {
                    return;
                };
                self.attrs.decref(old[i].attrs);
                if !self.table.remove_path(prefix, id, i) {
                    self.diff(prefix, old, &[], force_fib);
                    return;
                }
                id
            }
            (Change::RemovePeer { src } | Change::RemoveStale { src }, Some((id, _))) => {
                let stale_only = matches!(change, Change::RemoveStale { .. });
                let doomed = |p: &Path| p.src == src && (!stale_only || p.is(STALE));
                let mut any = false;
                while let Some(i) = self.table.paths(id).iter().position(doomed) {
                    any = true;
                    let attrs = self.table.paths(id)[i].attrs;
                    self.attrs.decref(attrs);
                    if !self.table.remove_path(prefix, id, i) {
                        self.diff(prefix, old, &[], force_fib);
                        return;
                    }
                }
                if !any {
                    return;
                }
                id
            }
            (Change::Reselect, Some((id, _))) => id,
            (_, None) => return,
        };
        self.reselect(id);
        push_paths(new, self.table.paths(id));
        self.diff(prefix, old, new, force_fib);
    }

    /// Builds the decision-process view of a path.
    fn candidate(&self, p: &Path, cost: u32) -> Candidate {
        let stored = self.attrs.get(p.attrs);
        let a = &stored.attrs;
        let f = self.facts(p.src);
        let path = a.as_path.as_ref();
        Candidate {
            local: f.class == PeerClass::Local && !p.is_kernel(),
            kernel: p.is_kernel(),
            // RFC 4271 §5.1.5: LOCAL_PREF from an external peer "MUST be
            // ignored"; one our import filter set (`set_priority`) counts.
            local_pref: match f.class {
                PeerClass::Ebgp if !filter_changed(stored) => DEFAULT_LOCAL_PREF,
                _ => a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
            },
            as_path_len: path.map_or(0, |p| p.len()),
            origin: a.origin.unwrap_or(Origin::Incomplete),
            med: a.med.unwrap_or(0),
            // An empty AS_PATH is a route from inside our own AS.
            neighbor_as: match path {
                Some(p) if !p.is_empty() => p.first_as(),
                _ => Some(f.local_as),
            },
            ebgp: f.class == PeerClass::Ebgp,
            igp_cost: cost,
            router_id: a.originator_id.unwrap_or(f.router_id),
            cluster_list_len: a.cluster_list.as_ref().map_or(0, |c| c.len()),
            peer_addr: f.addr,
            path_id: p.rx_id,
        }
    }

    /// Whether a path may be used, and its IGP cost.
    fn usable(&self, p: &Path) -> Result<u32, RejectReason> {
        if p.is(IMPORT_REJECTED) {
            return Err(p.verdict.unwrap_or(RejectReason::AsLoop));
        }
        let Some(nh) = self.attrs.get(p.attrs).next_hop else {
            return Ok(0); // local route
        };
        match self.nexthops.get(&nh_addr(nh)) {
            Some(s) if s.reachable => Ok(s.cost),
            Some(_) => Err(RejectReason::NextHopUnreachable),
            None if self.cfg.resolve_next_hops => Err(RejectReason::NextHopUnreachable),
            None => Ok(0),
        }
    }

    /// Reruns best path over a destination and records flags and verdicts.
    fn reselect(&mut self, id: u32) {
        let paths = self.table.paths(id);
        if let [p] = paths {
            // One path (nearly every prefix of a full table): no decision.
            let keep = p.flags & (IMPORT_REJECTED | STALE);
            let (flags, verdict) = match self.usable(p) {
                Ok(_) => (keep | ELIGIBLE | BEST | MULTIPATH, None),
                Err(r) => (keep, Some(r)),
            };
            let p = &mut self.table.paths_mut(id).as_mut_slice()[0];
            p.flags = flags;
            p.verdict = verdict;
            return;
        }
        let mut result: Vec<(u8, Option<RejectReason>)> = Vec::with_capacity(paths.len());
        let mut cands = Vec::new();
        let mut index = Vec::new();
        // RFC 9494 §4: long-lived stale paths compete only among
        // themselves, when nothing fresher is usable.
        let fresh = |p: &Path| !self.is_llgr_stale(p.attrs) && self.usable(p).is_ok();
        let demote = paths.iter().any(fresh) && paths.iter().any(|p| self.is_llgr_stale(p.attrs));
        for (i, p) in paths.iter().enumerate() {
            let keep = p.flags & (IMPORT_REJECTED | STALE);
            match self.usable(p) {
                Ok(_) if demote && self.is_llgr_stale(p.attrs) => {
                    result.push((keep | ELIGIBLE, Some(RejectReason::LlgrStale)));
                }
                Ok(cost) => {
                    result.push((keep | ELIGIBLE, None));
                    cands.push(self.candidate(p, cost));
                    index.push(i);
                }
                Err(r) => result.push((keep, Some(r))),
            }
        }
        if let Some(sel) = select(&cands) {
            for (k, &i) in index.iter().enumerate() {
                result[i].1 = sel.verdicts[k];
                if sel.verdicts[k].is_none() {
                    result[i].0 |= MULTIPATH;
                }
                if k == sel.best {
                    result[i].0 |= BEST;
                }
            }
        }
        for (p, (flags, verdict)) in self.table.paths_mut(id).as_mut_slice().iter_mut().zip(result)
        {
            p.flags = flags;
            p.verdict = verdict;
        }
    }

    /// Queues what changed between `old` and `new` for every group and the
    /// FIB (with `force_fib`, the FIB even when nothing did).
    pub(super) fn diff(&mut self, prefix: IpNet, old: &[Path], new: &[Path], force_fib: bool) {
        if old == new && !force_fib {
            return;
        }
        let fam = usize::from(matches!(prefix, IpNet::V6(_)));
        self.count(fam, old, false);
        self.count(fam, new, true);
        self.diff_groups(prefix, old, new, None);
        if self.cfg.fib {
            let key = |p: &Path| (p.src, p.attrs, p.flags & BEST);
            // A kernel route is never programmed: it counts only by displacing
            // what would be.
            let fib = |p: &&Path| p.is(MULTIPATH) && !p.is_kernel();
            let was = old.iter().filter(fib).map(key);
            let now = new.iter().filter(fib).map(key);
            if force_fib || !was.eq(now) {
                let route = self.fib_route(prefix, new);
                self.out.fib.push(FibChange { prefix, route });
            }
        }
    }

    /// Adds (`add`) or removes the paths' contribution to their peers'
    /// counters, in total and for family `fam` (0: IPv4, 1: IPv6).
    fn count(&mut self, fam: usize, paths: &[Path], add: bool) {
        let step = |field: &mut u32| {
            *field = if add { field.saturating_add(1) } else { field.saturating_sub(1) };
        };
        for p in paths {
            let Some(Some(e)) = self.peers.get_mut(p.src as usize) else { continue };
            // Paths judged under filters since replaced still count until
            // judged again.
            if !e.info.filters.is_empty() || !e.rule_paths.is_empty() {
                if let Some(m) = &self.attrs.get(p.attrs).import {
                    let key = (m.rule, fam == 1);
                    let n = e.rule_paths.entry(key).or_default();
                    step(n);
                    if *n == 0 {
                        e.rule_paths.remove(&key);
                    }
                }
            }
            let s = &mut e.stats;
            let (accepted, best) = (!p.is(IMPORT_REJECTED), p.is(BEST));
            step(&mut s.received);
            step(&mut s.families[fam].received);
            if accepted {
                step(&mut s.accepted);
                step(&mut s.families[fam].accepted);
            }
            if best {
                step(&mut s.best);
                step(&mut s.families[fam].best);
            }
        }
    }

    /// Queues each group's export changes; with `ranges_before` the old
    /// paths are judged under the pools and service ranges in force before a
    /// reload.
    pub(super) fn diff_groups(
        &mut self,
        prefix: IpNet,
        old: &[Path],
        new: &[Path],
        ranges_before: RangesBefore<'_>,
    ) {
        let fam = family_of(prefix);
        let v6 = fam == AfiSafi::IPV6_UNICAST;
        for gi in 0..self.groups.len() {
            let Some(g) = &self.groups[gi] else { continue };
            if !g.families.contains(&fam) {
                continue;
            }
            if g.ctx.add_path(fam) {
                // RFC 7911: every usable path goes out under its own id.
                let mut before: Vec<(u32, AttrId)> = Vec::new();
                for p in old {
                    let (a, rule) = self.export_judged(gi, prefix, p, ranges_before);
                    self.count_rule(gi, rule, v6, false);
                    if let Some(a) = a {
                        before.push((p.tx_id, a));
                    }
                }
                for p in new {
                    let (now, rule) = self.export_judged(gi, prefix, p, None);
                    self.count_rule(gi, rule, v6, true);
                    let was = before
                        .iter()
                        .position(|(t, _)| *t == p.tx_id)
                        .map(|i| before.swap_remove(i).1);
                    if now.is_some() && now != was {
                        self.queue(gi, Nlri::with_path_id(prefix, p.tx_id), now, was.is_some());
                    } else if now.is_none() && was.is_some() {
                        self.queue(gi, Nlri::with_path_id(prefix, p.tx_id), None, true);
                    }
                }
                for (tx, _) in before {
                    self.queue(gi, Nlri::with_path_id(prefix, tx), None, true);
                }
            } else {
                let (was, was_rule) = match old.iter().find(|p| p.is(BEST)) {
                    Some(p) => self.export_judged(gi, prefix, p, ranges_before),
                    None => (None, None),
                };
                let (now, now_rule) = match new.iter().find(|p| p.is(BEST)) {
                    Some(p) => self.export_judged(gi, prefix, p, None),
                    None => (None, None),
                };
                if was_rule != now_rule {
                    self.count_rule(gi, was_rule, v6, false);
                    self.count_rule(gi, now_rule, v6, true);
                }
                if was != now {
                    self.queue(gi, Nlri::new(prefix), now, was.is_some());
                }
            }
        }
    }

    /// Queues an announcement (`attrs`) or withdrawal of `nlri` for group
    /// `gi`; `was_sent` says whether the group held the NLRI before.
    fn queue(&mut self, gi: usize, nlri: Nlri, attrs: Option<AttrId>, was_sent: bool) {
        if let Some(g) = self.groups[gi].as_mut() {
            let fam = usize::from(matches!(nlri.prefix, IpNet::V6(_)));
            match (attrs.is_some(), was_sent) {
                (true, false) => g.sent[fam] += 1,
                (false, true) => g.sent[fam] -= 1,
                _ => {}
            }
        }
        self.seq = self.seq.wrapping_add(1);
        let q = &mut self.pending[gi];
        if q.events.is_empty() {
            q.sorted = true;
        } else if q.sorted && q.events.last().is_some_and(|e| e.nlri >= nlri) {
            q.sorted = false;
        }
        q.events.push(Event { nlri, attrs, seq: self.seq });
    }

    /// The attribute set `p` is sent to group `gi` with, if it is sent.
    pub(super) fn export(
        &mut self,
        gi: usize,
        prefix: IpNet,
        p: &Path,
        ranges_before: RangesBefore<'_>,
    ) -> Option<AttrId> {
        self.export_judged(gi, prefix, p, ranges_before).0
    }

    /// [`Self::export`], and the export rule that decided, if one did.
    pub(super) fn export_judged(
        &mut self,
        gi: usize,
        prefix: IpNet,
        p: &Path,
        ranges_before: RangesBefore<'_>,
    ) -> (Option<AttrId>, Option<RuleRef>) {
        if !p.is(ELIGIBLE) {
            return (None, None);
        }
        let router = self.router();
        let Some(g) = self.groups[gi].as_ref() else { return (None, None) };
        if g.member_slots.len() == 1 && g.member_slots[0] == p.src {
            return (None, None); // split horizon: never back to a lone source
        }
        let f = self.facts(p.src);
        if !may_send(f.class, g.target.class, router.rr) {
            return (None, None);
        }
        let learned = f.class != PeerClass::Local;
        let verdict = match g.export_rules[usize::from(matches!(prefix, IpNet::V6(_)))] {
            true => self.export_verdict(gi, prefix, p.attrs).unwrap_or(Verdict::NoMatch),
            false => Verdict::NoMatch,
        };
        let (id, rule) = match verdict {
            Verdict::Reject(rule) => return (None, Some(rule)),
            // An accepting rule ends BIRD's export filter before
            // `calico_export_to_bgp_peers()`: the pool rule is not asked.
            Verdict::Accept(rule) => (self.derived(gi, p.attrs, rule), Some(rule)),
            // confd's calico_export_to_bgp_peers(), judged when the route was learned.
            Verdict::NoMatch if p.is_kernel() => {
                let Some(g) = self.groups[gi].as_ref() else { return (None, None) };
                let to = g.target.class;
                let Some(k) = self.kernel.get(&prefix) else { return (None, None) };
                match k.export {
                    KernelExport::All => (Some(p.attrs), None),
                    KernelExport::Ebgp if to == PeerClass::Ebgp => (Some(p.attrs), None),
                    KernelExport::Ebgp | KernelExport::None => return (None, None),
                }
            }
            Verdict::NoMatch => {
                let (pools, services) =
                    ranges_before.unwrap_or((&self.pools[..], &self.services[..]));
                let Some(g) = self.groups[gi].as_ref() else { return (None, None) };
                if learned && !g.policy.allows_learned(prefix, pools, services) {
                    return (None, None);
                }
                (Some(p.attrs), None)
            }
        };
        (id.and_then(|id| self.export_attrs_of(gi, p.src, id)), rule)
    }

    /// Group `gi`'s result for sending set `id` (from slot `src`): the set,
    /// or `None` where it cannot be sent (no usable next hop, LLGR).
    fn export_attrs_of(&mut self, gi: usize, src: u32, id: AttrId) -> Option<AttrId> {
        let router = self.router();
        let f = self.facts(src);
        let g = self.groups[gi].as_ref()?;
        let i = id.0 as usize;
        if let Some(OutEntry::Send(_)) = g.out.get(i) {
            return Some(id);
        }
        if let Some(OutEntry::Denied) = g.out.get(i) {
            return None;
        }
        // RFC 9494 §4: LLGR_STALE routes go only to peers that advertised
        // the LLGR capability.
        let stale_denied = !g.llgr && self.is_llgr_stale(id);
        let entry = match export_attrs(self.attrs.get(id), f, &g.target, router) {
            Some(x) if !stale_denied => OutEntry::Send(Box::new(x)),
            _ => OutEntry::Denied,
        };
        let sent = matches!(entry, OutEntry::Send(_));
        let g = self.groups[gi].as_mut()?;
        if g.out.len() <= i {
            g.out.resize_with(self.attrs.capacity().max(i + 1), OutEntry::default);
        }
        g.out[i] = entry;
        sent.then_some(id)
    }

    /// The kernel route for a destination's current paths.
    fn fib_route(&self, prefix: IpNet, paths: &[Path]) -> Option<FibRoute> {
        let best = paths.iter().find(|p| p.is(BEST))?;
        // The kernel holds it already: another agent's route is never written back.
        if best.is_kernel() {
            return None;
        }
        let a = self.attrs.get(best.attrs);
        let priority = priority_from_local_pref(a.attrs.local_pref);
        if best.src == 0 {
            return self.local.get(&prefix).filter(|l| l.blackhole).map(|_| FibRoute {
                next_hops: Vec::new(),
                blackhole: true,
                priority,
            });
        }
        let mut next_hops: Vec<IpAddr> = paths
            .iter()
            .filter(|p| p.is(MULTIPATH))
            .filter_map(|p| self.attrs.get(p.attrs).next_hop.map(nh_addr))
            .collect();
        next_hops.sort_unstable();
        next_hops.dedup();
        // An IPv4 route with an IPv6 next hop (RFC 8950) is valid for the FIB.
        debug_assert!(next_hops.iter().all(|a| same_family(prefix, *a) || prefix.addr().is_ipv4()));
        Some(FibRoute { next_hops, blackhole: false, priority })
    }

    /// Every route group `gi` currently exports for `family`, for a dump.
    pub(super) fn dump(&mut self, gi: usize, family: AfiSafi) -> Vec<Event> {
        let add_path = self.group(gi).ctx.add_path(family);
        let v6 = family == AfiSafi::IPV6_UNICAST;
        let dests = self.table.family(v6);
        let mut events = Vec::new();
        for (prefix, id) in dests {
            let paths = self.table.paths(id).to_vec();
            for p in &paths {
                if !(add_path || p.is(BEST)) {
                    continue;
                }
                if let Some(a) = self.export(gi, prefix, p, None) {
                    let nlri = if add_path {
                        Nlri::with_path_id(prefix, p.tx_id)
                    } else {
                        Nlri::new(prefix)
                    };
                    events.push(Event { nlri, attrs: Some(a), seq: 0 });
                }
            }
        }
        events
    }

    /// Encodes a group's events: withdrawals first, then announcements
    /// packed per attribute set. Errors are reported against `report_to`.
    pub(super) fn encode_group(
        &mut self,
        gi: usize,
        events: &[Event],
        report_to: PeerId,
    ) -> Vec<Bytes> {
        let Some(g) = self.groups[gi].as_ref() else {
            return Vec::new();
        };
        let mut withdrawn: [Vec<Nlri>; 2] = [Vec::new(), Vec::new()];
        let mut order: Vec<AttrId> = Vec::new();
        let mut by_attrs: FxHashMap<AttrId, Vec<Nlri>> = FxHashMap::default();
        let mut last: Option<AttrId> = None;
        for e in events {
            let e = *e;
            match e.attrs {
                None => withdrawn[usize::from(matches!(e.nlri.prefix, IpNet::V6(_)))].push(e.nlri),
                Some(a) => {
                    // Bulk loads repeat one set for long runs: skip the map then.
                    if last == Some(a) {
                        if let Some(v) = by_attrs.get_mut(&a) {
                            v.push(e.nlri);
                            continue;
                        }
                    }
                    last = Some(a);
                    by_attrs
                        .entry(a)
                        .or_insert_with(|| {
                            order.push(a);
                            // Usually one set carries the whole batch.
                            Vec::with_capacity(events.len())
                        })
                        .push(e.nlri);
                }
            }
        }
        let mut msgs = Vec::new();
        for (i, w) in withdrawn.iter().enumerate() {
            let fam = if i == 0 { AfiSafi::IPV4_UNICAST } else { AfiSafi::IPV6_UNICAST };
            msgs.extend(pack_withdrawals(fam, w, &g.ctx));
        }
        for a in order {
            let Some(OutEntry::Send(x)) = g.out.get(a.0 as usize) else { continue };
            let fam = self.attrs.get(a).family;
            let nlri = by_attrs.get(&a).map_or(&[][..], Vec::as_slice);
            match pack_announcements(&x.0, fam, x.1, nlri, &g.ctx) {
                Ok(m) => msgs.extend(m),
                Err(e) => self.out.errors.push((report_to, e)),
            }
        }
        msgs
    }

    /// Ends a call: encodes each group's queued changes once and hands the
    /// same buffers to every member, then frees unreferenced attribute sets.
    pub(super) fn finish(&mut self) -> Output {
        for gi in 0..self.pending.len() {
            if self.pending[gi].events.is_empty() {
                continue;
            }
            let mut events = std::mem::take(&mut self.pending[gi].events);
            if !self.pending[gi].sorted {
                // Last change per NLRI wins: the peer must end up with the
                // destination's final state, whatever happened in between.
                events.sort_unstable_by(|a, b| a.nlri.cmp(&b.nlri).then(b.seq.cmp(&a.seq)));
                events.dedup_by_key(|e| e.nlri);
            }
            let Some(first) = self.groups[gi].as_ref().and_then(|g| g.members.first().copied())
            else {
                continue;
            };
            let msgs = self.encode_group(gi, &events, first);
            // Keep the allocation for the next call.
            events.clear();
            self.pending[gi].events = events;
            let members = self.groups[gi].as_ref().map(|g| g.members.clone()).unwrap_or_default();
            for m in members {
                self.send(m, msgs.clone());
            }
        }
        let mut released = Vec::new();
        for (id, a) in self.attrs.sweep() {
            for g in self.groups.iter_mut().flatten() {
                if let Some(e) = g.out.get_mut(id.0 as usize) {
                    *e = OutEntry::Unknown;
                }
                if let Some(e) = g.plans.get_mut(id.0 as usize) {
                    *e = None;
                }
                if !g.derived.is_empty() {
                    g.derived.retain(|&(src, _), d| {
                        let gone = src == id;
                        if gone {
                            released.push(*d);
                        }
                        !gone
                    });
                }
            }
            if let Some(addr) = a.next_hop.map(nh_addr) {
                if let Some(st) = self.nexthops.get_mut(&addr) {
                    st.sets = st.sets.saturating_sub(1);
                    if st.sets == 0 {
                        self.nexthops.remove(&addr);
                        self.nh_prefixes.remove(&addr);
                        if self.cfg.resolve_next_hops {
                            self.out.untrack_nexthops.push(addr);
                        }
                    }
                }
            }
        }
        // Sets derived from a freed one go at the next call's sweep.
        for d in released {
            self.attrs.decref(d);
        }
        self.seq = 0;
        std::mem::take(&mut self.out)
    }
}

fn new_path(src: u32, rx_id: u32, attrs: AttrId, tx_id: u32, import: Option<RejectReason>) -> Path {
    Path {
        src,
        rx_id,
        attrs,
        tx_id,
        verdict: import,
        flags: if import.is_some() { IMPORT_REJECTED } else { 0 },
    }
}

/// `out.extend_from_slice(paths)`, with the one-path case (nearly every
/// destination of a full table) a plain copy rather than a `memmove` call.
#[inline]
fn push_paths(out: &mut Vec<Path>, paths: &[Path]) {
    match paths {
        [p] => out.push(*p),
        _ => out.extend_from_slice(paths),
    }
}
