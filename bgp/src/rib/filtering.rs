//! Calico `BGPFilter`s in the RIB: import rules judge each received path
//! before best path, export rules each path per export group before the
//! IP-pool rule, and a reload that changes a peer's filters re-judges what
//! it sent us and re-diffs what we sent it, without touching the session
//! (what `birdc configure` does for a changed filter).
//!
//! ```text
//!  UPDATE ─► import_check ─► import rules ─┬─ no match / accept: path (changed attrs
//!                                          │     interned with the received ones kept)
//!                                          └─ reject: path kept, ImportFiltered
//!  best path ─► per group: may_send ─► export rules ─┬─ reject: not sent
//!                                                    ├─ accept: sent (operations applied,
//!                                                    │     one derived set per source set)
//!                                                    └─ no match: IP-pool rule
//! ```
//!
//! Rejected paths stay in the Adj-RIB-In, so a filter change judges them
//! again from what the peer sent, as BIRD's `import table` would.

use ipnet::IpNet;

use super::Rib;
use super::best::RejectReason;
use super::engine::{Change, Event};
use super::filter::{
    Action, Direction, ImportMark, PeerFilters, Prepared, RouteFacts, RuleRef, Verdict,
    apply_operations, list_name,
};
use super::hash::FxHashMap;
use super::intern::{AttrId, StoredAttrs};
use super::policy::{
    DEFAULT_LOCAL_PREF, NORMAL_ROUTE_PRIORITY, PeerClass, import_check, local_pref_from_priority,
};
use super::table::{BEST, DestId, Path, STALE};
use super::types::{Output, PeerId};
use crate::wire::attr::Community;
use crate::wire::{AfiSafi, Nlri};

/// Import outcomes interned during one call: (received set, verdict, set).
pub(super) type Judged = Vec<(AttrId, Verdict, AttrId)>;

/// Whether an import rule's operations produced these attributes.
pub(super) fn filter_changed(a: &StoredAttrs) -> bool {
    a.import.as_ref().is_some_and(|m| m.received.is_some())
}

/// What an export rule sees of a path from a `src` peer sent to a `to`
/// peer: BIRD's export prologue gives routes that are not from BGP the
/// LOCAL_PREF of their kernel priority (1024 unless elevated); BGP routes
/// keep theirs (an external one the default unless our import filter set it).
fn export_facts<'a>(
    prefix: IpNet,
    a: &'a StoredAttrs,
    interface: Option<&'a str>,
    src: PeerClass,
    to: PeerClass,
) -> RouteFacts<'a> {
    let local_pref = match src {
        PeerClass::Local => {
            a.attrs.local_pref.unwrap_or(local_pref_from_priority(NORMAL_ROUTE_PRIORITY))
        }
        PeerClass::Ebgp if !filter_changed(a) => DEFAULT_LOCAL_PREF,
        _ => a.attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
    };
    RouteFacts {
        prefix,
        attrs: &a.attrs,
        learned: src != PeerClass::Local,
        interface,
        same_as: to.is_ibgp(),
        local_pref: Some(local_pref),
    }
}

impl Rib {
    /// `filters`' import rules narrowed to the received attributes `base`
    /// of family `v6`: checked once per UPDATE, then per prefix.
    pub(super) fn import_plan(
        &self,
        base: AttrId,
        v6: bool,
        filters: &PeerFilters,
        ibgp: bool,
    ) -> Prepared {
        let stored = self.attrs.get(base);
        let a = &stored.attrs;
        let facts = RouteFacts {
            prefix: if v6 { IpNet::V6(Default::default()) } else { IpNet::V4(Default::default()) },
            attrs: a,
            learned: true,
            interface: stored.iface.map(|i| self.ifaces.name(i)),
            same_as: ibgp,
            // BIRD gives an external route the default LOCAL_PREF on receipt.
            local_pref: Some(match ibgp {
                true => a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
                false => DEFAULT_LOCAL_PREF,
            }),
        };
        filters.prepare(Direction::Import, &facts)
    }

    /// The attribute set to store for a path with received attributes
    /// `base` (and import-check outcome `reason`) that `filters` judged
    /// `verdict`, and the path's import verdict. New sets are interned once
    /// per (received set, verdict) and recorded in `judged`, each with one
    /// reference the caller releases when done.
    #[allow(clippy::too_many_arguments, reason = "one call's context, passed down as is")]
    pub(super) fn import_judged(
        &mut self,
        v6: bool,
        base: AttrId,
        verdict: Verdict,
        reason: Option<RejectReason>,
        filters: &PeerFilters,
        ibgp: bool,
        judged: &mut Judged,
    ) -> (AttrId, Option<RejectReason>) {
        let (rule, action, reason) = match verdict {
            Verdict::NoMatch => return (base, reason),
            Verdict::Accept(r) => (r, Action::Accept, reason),
            Verdict::Reject(r) => {
                (r, Action::Reject, reason.or(Some(RejectReason::ImportFiltered)))
            }
        };
        if let Some(&(_, _, id)) = judged.iter().find(|(b, v, _)| *b == base && *v == verdict) {
            return (id, reason);
        }
        let stored = self.attrs.get(base).clone();
        let a = &stored.attrs;
        let ops = filters.rule(Direction::Import, v6, rule).map_or(&[][..], |r| r.operations());
        let (attrs, received) = if action == Action::Accept && !ops.is_empty() {
            let mut changed = a.clone();
            // An external peer's LOCAL_PREF is ignored; only one we set counts.
            if !ibgp {
                changed.local_pref = None;
            }
            apply_operations(ops, &mut changed);
            (changed, Some(Box::new(a.clone())))
        } else {
            (a.clone(), None)
        };
        let id = self.intern(StoredAttrs {
            src: stored.src,
            family: stored.family,
            next_hop: stored.next_hop,
            iface: stored.iface,
            attrs,
            import: Some(ImportMark { rule, action, received }),
        });
        judged.push((base, verdict, id));
        (id, reason)
    }

    /// The attribute set an accepting export rule of group `gi` sends
    /// source set `base` with: `base` itself when the rule changes
    /// nothing, else a set derived once and kept by the group.
    pub(super) fn derived(&mut self, gi: usize, base: AttrId, rule: RuleRef) -> Option<AttrId> {
        let g = self.groups[gi].as_ref()?;
        if let Some(&id) = g.derived.get(&(base, rule)) {
            return Some(id);
        }
        let stored = self.attrs.get(base).clone();
        let v6 = stored.family == AfiSafi::IPV6_UNICAST;
        let ops = g.filters.rule(Direction::Export, v6, rule).map_or(&[][..], |r| r.operations());
        if ops.is_empty() {
            return Some(base);
        }
        let mut attrs = stored.attrs.clone();
        apply_operations(ops, &mut attrs);
        let id = self.intern(StoredAttrs { attrs, ..(*stored).clone() });
        self.groups[gi].as_mut()?.derived.insert((base, rule), id);
        Some(id)
    }

    /// Group `gi`'s export verdict for a path to `prefix` with `id`; the
    /// rules narrowed to `id` are kept until the set is freed.
    pub(super) fn export_verdict(
        &mut self,
        gi: usize,
        prefix: IpNet,
        id: AttrId,
    ) -> Option<Verdict> {
        let i = id.0 as usize;
        let g = self.groups[gi].as_ref()?;
        if let Some(Some(plan)) = g.plans.get(i) {
            return Some(plan.evaluate(prefix));
        }
        let stored = self.attrs.get(id);
        let src = self.facts(stored.src).class;
        let iface = stored.iface.map(|i| self.ifaces.name(i));
        let facts = export_facts(prefix, stored, iface, src, g.target.class);
        let plan = g.filters.prepare(Direction::Export, &facts);
        let verdict = plan.evaluate(prefix);
        let capacity = self.attrs.capacity().max(i + 1);
        let g = self.groups[gi].as_mut()?;
        if g.plans.len() <= i {
            g.plans.resize_with(capacity, || None);
        }
        g.plans[i] = Some(plan);
        Some(verdict)
    }

    /// `show routes`' account of the import rule that judged `p`.
    pub(super) fn explain_import(&self, prefix: IpNet, p: &Path) -> Option<String> {
        let mark = self.attrs.get(p.attrs).import.as_ref()?;
        let e = self.peers.get(p.src as usize)?.as_ref()?;
        let v6 = matches!(prefix, IpNet::V6(_));
        let mut s = e.info.filters.describe(Direction::Import, v6, mark.rule);
        match mark.action {
            Action::Reject => s.push_str(": reject"),
            Action::Accept => {
                s.push_str(": accept");
                if let Some(r) = e.info.filters.rule(Direction::Import, v6, mark.rule) {
                    for (i, op) in r.operations().iter().enumerate() {
                        s.push_str(if i == 0 { ", " } else { "; " });
                        s.push_str(&op.to_string());
                    }
                }
            }
        }
        Some(s)
    }

    /// Paths held from `peer` per import rule that judged them.
    pub fn import_rule_paths(&self, peer: PeerId) -> Vec<RulePaths> {
        let Some(e) = self.slots.get(&peer).and_then(|&s| self.peers[s as usize].as_ref()) else {
            return Vec::new();
        };
        rule_paths(&e.info.filters, Direction::Import, &e.rule_paths)
    }

    /// Paths to `peer` per export rule that decided for them: of each
    /// destination the best path (every path with ADD-PATH) that its
    /// export rules judged. Counted per export group, so every member of
    /// the group shows the same.
    pub fn export_rule_paths(&self, peer: PeerId) -> Vec<RulePaths> {
        let Some(e) = self.slots.get(&peer).and_then(|&s| self.peers[s as usize].as_ref()) else {
            return Vec::new();
        };
        match self.groups.get(e.group).and_then(Option::as_ref) {
            Some(g) => rule_paths(&g.filters, Direction::Export, &g.rule_paths),
            None => Vec::new(),
        }
    }

    /// Counts (`add`) or uncounts a path export rule `rule` (if any)
    /// decided for in group `gi`.
    #[inline]
    pub(super) fn count_rule(&mut self, gi: usize, rule: Option<RuleRef>, v6: bool, add: bool) {
        let (Some(rule), Some(Some(g))) = (rule, self.groups.get_mut(gi)) else { return };
        let n = g.rule_paths.entry((rule, v6)).or_default();
        *n = if add { n.saturating_add(1) } else { n.saturating_sub(1) };
        if *n == 0 {
            g.rule_paths.remove(&(rule, v6));
        }
    }

    /// Counts group `gi`'s export rule decisions over the whole table
    /// afresh: when the group is founded, and when its membership changes
    /// what it is asked about (split horizon holds for a lone member only).
    pub(super) fn count_export_rules(&mut self, gi: usize) {
        let Some(Some(g)) = self.groups.get_mut(gi) else { return };
        g.rule_paths.clear();
        let (rules, families) = (g.export_rules, g.families.clone());
        for (v6, fam) in [(false, AfiSafi::IPV4_UNICAST), (true, AfiSafi::IPV6_UNICAST)] {
            if !rules[usize::from(v6)] || !families.contains(&fam) {
                continue;
            }
            let add_path = self.group(gi).ctx.add_path(fam);
            for (prefix, id) in self.table.family(v6) {
                for i in 0..self.table.paths(id).len() {
                    let p = self.table.paths(id)[i];
                    if add_path || p.is(BEST) {
                        let (_, rule) = self.export_judged(gi, prefix, &p, None);
                        self.count_rule(gi, rule, v6, true);
                    }
                }
            }
        }
    }

    /// The filters of `peer`'s session, if it is up.
    pub fn peer_filters(&self, peer: PeerId) -> Option<&PeerFilters> {
        let slot = *self.slots.get(&peer)?;
        self.peers[slot as usize].as_ref().map(|e| &e.info.filters)
    }

    /// Replaces `peer`'s filters (a reload): the paths it sent are judged
    /// again from what it sent, and it is sent what the new export rules
    /// change (announcements and withdrawals), with no session reset.
    pub fn set_filters(&mut self, peer: PeerId, filters: PeerFilters) -> Output {
        let Some(&slot) = self.slots.get(&peer) else { return Output::default() };
        let Some(e) = self.peers[slot as usize].as_mut() else { return Output::default() };
        if e.info.filters == filters {
            return Output::default();
        }
        let old = std::mem::replace(&mut e.info.filters, filters.clone());
        let any = |f: &PeerFilters, dir| f.any_rules(dir, false) || f.any_rules(dir, true);
        if any(&old, Direction::Import) || any(&filters, Direction::Import) {
            self.rejudge(|src, _| src == slot);
        }
        // What the peer holds is its group's output so far: send that first.
        let mut out = self.finish();
        self.regroup(peer, slot);
        let more = self.finish();
        out.to_peers.extend(more.to_peers);
        out.fib.extend(more.fib);
        out.track_nexthops.extend(more.track_nexthops);
        out.untrack_nexthops.extend(more.untrack_nexthops);
        out.errors.extend(more.errors);
        out.gr_timers.extend(more.gr_timers);
        out
    }

    /// Judges every path that `which` selects (by source slot and
    /// attribute set) again, from the attributes as received: by its peer's
    /// filters in force, with the current interface of its next hop.
    pub(super) fn rejudge(&mut self, which: impl Fn(u32, &StoredAttrs) -> bool) {
        let attrs = &self.attrs;
        let chosen =
            self.table.collect_where(|ps| ps.iter().any(|p| which(p.src, attrs.get(p.attrs))));
        self.rejudge_at(chosen, which);
    }

    /// [`Self::rejudge`] of the destinations `chosen` alone.
    pub(super) fn rejudge_at(
        &mut self,
        chosen: Vec<(IpNet, DestId)>,
        which: impl Fn(u32, &StoredAttrs) -> bool,
    ) {
        let router = self.router();
        let mut judged = Judged::new();
        // Paths of one peer and set usually come together: one plan each.
        let mut plan: Option<(AttrId, Prepared)> = None;
        for (prefix, id) in chosen {
            let attrs = &self.attrs;
            let mine: Vec<Path> = self
                .table
                .paths(id)
                .iter()
                .filter(|p| which(p.src, attrs.get(p.attrs)))
                .copied()
                .collect();
            for p in mine {
                let Some(e) = self.peers.get(p.src as usize).and_then(Option::as_ref) else {
                    continue;
                };
                let (facts, filters) = (e.facts.clone(), e.info.filters.clone());
                let stored = self.attrs.get(p.attrs).clone();
                let mut received = match &stored.import {
                    Some(ImportMark { received: Some(r), .. }) => (**r).clone(),
                    _ => stored.attrs.clone(),
                };
                // LLGR_STALE we added to a long-lived stale path stays.
                let llgr = Community::LLGR_STALE;
                if stored.attrs.communities.contains(&llgr) && !received.communities.contains(&llgr)
                {
                    received.communities.push(llgr);
                }
                let reason = import_check(&received, &facts, router)
                    .or(stored.next_hop.and_then(|nh| self.own_next_hop(p.src, nh)));
                let iface = stored.next_hop.and_then(|nh| self.nh_iface(nh));
                let base = self.intern(StoredAttrs {
                    attrs: received,
                    import: None,
                    iface,
                    ..(*stored).clone()
                });
                let v6 = stored.family == AfiSafi::IPV6_UNICAST;
                let (attrs, import) = if filters.any_rules(Direction::Import, v6) {
                    let ibgp = facts.class.is_ibgp();
                    let verdict = match &plan {
                        Some((b, pl)) if *b == base => pl.evaluate(prefix),
                        _ => {
                            let pl = self.import_plan(base, v6, &filters, ibgp);
                            let v = pl.evaluate(prefix);
                            plan = Some((base, pl));
                            v
                        }
                    };
                    self.import_judged(v6, base, verdict, reason, &filters, ibgp, &mut judged)
                } else {
                    (base, reason)
                };
                self.apply(prefix, Change::Upsert { src: p.src, rx_id: p.rx_id, attrs, import });
                self.attrs.decref(base);
                if p.is(STALE) {
                    // Judged again, not refreshed: still swept if the peer
                    // does not re-advertise it.
                    self.keep_stale(prefix, p.src, p.rx_id);
                }
            }
        }
        for (_, _, id) in judged {
            self.attrs.decref(id);
        }
    }

    fn keep_stale(&mut self, prefix: IpNet, slot: u32, rx_id: u32) {
        let Some(id) = self.table.get(prefix) else { return };
        let paths = self.table.paths_mut(id).as_mut_slice();
        if let Some(p) = paths.iter_mut().find(|p| p.src == slot && p.rx_id == rx_id) {
            p.flags |= STALE;
        }
    }

    /// Moves `peer` to the export group of its new filters and sends it
    /// the difference between what the old group sent and what the new one
    /// sends.
    fn regroup(&mut self, peer: PeerId, slot: u32) {
        let Some(e) = self.peers[slot as usize].as_ref() else { return };
        let (old_gi, info) = (e.group, e.info.clone());
        let target = self.group(old_gi).target.clone();
        let mut before: Vec<Event> = Vec::new();
        for &f in &info.families {
            before.extend(self.dump(old_gi, f));
        }
        self.leave_group(peer, slot);
        let gi = self.join_group(peer, slot, target, &info);
        if let Some(e) = self.peers[slot as usize].as_mut() {
            e.group = gi;
        }
        let mut after: Vec<Event> = Vec::new();
        let mut counts = Vec::new();
        for &f in &info.families {
            let d = self.dump(gi, f);
            counts.push((f, d.len()));
            after.extend(d);
        }
        before.sort_unstable_by_key(|e| e.nlri);
        after.sort_unstable_by_key(|e| e.nlri);
        let events = diff_events(&before, &after);
        let msgs = self.encode_group(gi, &events, peer);
        self.send(peer, msgs);
        for (f, n) in counts {
            self.set_advertised(peer, gi, f, n);
        }
    }
}

/// `counts` (paths per rule and family) of `filters`' `dir` rules, sorted
/// by filter name, list and rule.
fn rule_paths(
    filters: &PeerFilters,
    dir: Direction,
    counts: &FxHashMap<(RuleRef, bool), u32>,
) -> Vec<RulePaths> {
    let mut v: Vec<RulePaths> = counts
        .iter()
        .filter_map(|(&(rule, v6), &paths)| {
            let r = filters.rule(dir, v6, rule)?;
            let f = filters.filters().get(usize::from(rule.filter))?;
            Some(RulePaths {
                filter: f.name().to_owned(),
                list: list_name(dir, v6),
                rule: rule.rule,
                accept: r.action() == Action::Accept,
                paths,
            })
        })
        .collect();
    v.sort_by(|a, b| (&a.filter, a.list, a.rule).cmp(&(&b.filter, b.list, b.rule)));
    v
}

/// How many paths one filter rule judged for a peer: for an import rule,
/// paths held from the peer; for an export rule, paths to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulePaths {
    /// The filter's name.
    pub filter: String,
    /// `import_v4`, `import_v6`, `export_v4` or `export_v6`.
    pub list: &'static str,
    /// The rule's index in that list.
    pub rule: u16,
    /// The rule accepts (else it rejects).
    pub accept: bool,
    /// Paths held that it judged.
    pub paths: u32,
}

/// Withdrawals of what `before` has and `after` lacks, announcements of
/// what `after` has new or different; both sorted by NLRI.
fn diff_events(before: &[Event], after: &[Event]) -> Vec<Event> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    let withdraw = |nlri: Nlri| Event { nlri, attrs: None, seq: 0 };
    while i < before.len() || j < after.len() {
        match (before.get(i), after.get(j)) {
            (Some(b), Some(a)) if b.nlri == a.nlri => {
                if b.attrs != a.attrs {
                    out.push(*a);
                }
                i += 1;
                j += 1;
            }
            (Some(b), Some(a)) if b.nlri < a.nlri => {
                out.push(withdraw(b.nlri));
                i += 1;
            }
            (Some(b), None) => {
                out.push(withdraw(b.nlri));
                i += 1;
            }
            (_, Some(a)) => {
                out.push(*a);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}
