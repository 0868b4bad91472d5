//! Graceful restart in the RIB: helper mode (RFC 4724 §4.2, RFC 8538 §4),
//! long-lived stale routes (RFC 9494 §4), and the deferral of our own table
//! while we are the restarting speaker (RFC 4724 §4.1).
//!
//! Helper mode, per peer and family, driven by the daemon:
//!
//! ```text
//!   session drops gracefully ── peer_down_graceful ──► Restarting
//!     (paths kept, flagged STALE; no UPDATE, no FIB change)   │ timer Restart
//!           │                                                 │ (peer's restart time)
//!           │ peer_up, F bit set for the family               ▼ expiry
//!           ▼                                  LLGR negotiated? ──no──► sweep
//!      AwaitingEor ◄──────── peer_up ────────── LongLived (LLGR_STALE added,
//!           │  timer StalePath                   │  NO_LLGR dropped)
//!           │  re-advertised paths lose STALE    │ timer LongLived (stale time)
//!           ▼                                    ▼ expiry
//!   End-of-RIB or expiry: sweep what is        sweep
//!   still STALE
//!
//!   peer_up without GR or without the F bit for a family: sweep it at once
//!   drops again in AwaitingEor: everything from the peer is stale again,
//!   the still-stale paths included (a second drop loses nothing)
//! ```
//!
//! Choices, and why:
//! - Stale paths compete in best path like fresh ones. RFC 4724 keeps them
//!   in use so that nothing changes for the network while the peer
//!   restarts; depreferring them would send UPDATEs to every other peer,
//!   the churn GR exists to avoid. Only LLGR-stale paths (those carrying
//!   LLGR_STALE, ours or received) lose to any usable path without it, as
//!   RFC 9494 asks, and they are sent only to peers that advertised LLGR.
//! - The peer's slot (and so its interned attribute sets) is kept while it
//!   is away, so a re-advertised path with the same attributes has the same
//!   `AttrId` and clearing STALE changes neither exports nor the FIB. If
//!   the peer comes back as something else (other AS, router id, address)
//!   its stale paths are swept before it is let in.
//! - Timers are outputs ([`GrTimerAction`]), one per (peer, family): a
//!   `Start` replaces that family's running timer whatever its kind, and an
//!   expiry of a kind the family is no longer in is ignored as stale.

use std::time::Duration;

use ipnet::IpNet;

use super::engine::Change;
use super::hash::FxHashMap;
use super::intern::AttrId;
use super::table::{IMPORT_REJECTED, STALE};
use super::types::{Output, PeerId, PeerInfo};
use super::{Rib, family_of};
use crate::wire::attr::Community;
use crate::wire::{AfiSafi, Message, Negotiated, UpdateMsg};

/// What the peer's last session promised for its restart: what to keep and
/// for how long. Taken when the session was up, used when it drops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrHelper {
    /// Families the peer listed in its Graceful Restart capability (RFC
    /// 4724 §4.2: "retain the routes received from the peer for all the
    /// address families that were previously received in the Graceful
    /// Restart Capability").
    pub families: Vec<AfiSafi>,
    /// The peer's Restart Time.
    pub restart_time: Duration,
    /// Long-lived stale time per family (RFC 9494), if LLGR applies: only
    /// families with a non-zero time.
    pub llgr: Vec<(AfiSafi, Duration)>,
    /// Upper bound on the wait for the peer's End-of-RIB once it is back
    /// (RFC 4724 §4.2: "an implementation MAY support a (configurable)
    /// timer that imposes that upper bound"; FRR's stalepath-time).
    pub stale_path_time: Duration,
}

/// FRR's and BIRD's default bound on the wait for End-of-RIB.
pub const DEFAULT_STALE_PATH_TIME: Duration = Duration::from_secs(360);

impl GrHelper {
    /// From a session's negotiation. `llgr` is whether we act as an LLGR
    /// helper (we advertised the capability); `stale_path_time` bounds the
    /// wait for End-of-RIB.
    pub fn from_negotiated(n: &Negotiated, llgr: bool, stale_path_time: Duration) -> Self {
        let gr = n.peer_graceful_restart.as_ref();
        GrHelper {
            families: gr
                .map(|g| g.families.iter().map(|f| f.family).filter(|f| n.families.contains(f)))
                .into_iter()
                .flatten()
                .collect(),
            restart_time: Duration::from_secs(gr.map_or(0, |g| u64::from(g.restart_time))),
            llgr: n
                .peer_llgr
                .iter()
                .flatten()
                .filter(|l| llgr && l.stale_time > 0 && n.families.contains(&l.family))
                .map(|l| (l.family, Duration::from_secs(u64::from(l.stale_time))))
                .collect(),
            stale_path_time,
        }
    }

    fn llgr_time(&self, family: AfiSafi) -> Option<Duration> {
        self.llgr.iter().find(|(f, _)| *f == family).map(|(_, t)| *t)
    }
}

/// Where one family of a restarting peer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrPhase {
    /// The peer is down; its routes are kept stale for its restart time.
    Restarting,
    /// The peer is back; stale routes go at its End-of-RIB.
    AwaitingEor,
    /// The restart time ran out; routes are kept as LLGR-stale (RFC 9494).
    LongLived,
}

impl GrPhase {
    /// The timer that bounds this phase.
    pub fn timer(self) -> GrTimerKind {
        match self {
            GrPhase::Restarting => GrTimerKind::Restart,
            GrPhase::AwaitingEor => GrTimerKind::StalePath,
            GrPhase::LongLived => GrTimerKind::LongLived,
        }
    }
}

/// The kinds of graceful restart timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrTimerKind {
    /// The peer's Restart Time (RFC 4724 §4.2).
    Restart,
    /// The wait for End-of-RIB after the peer returned.
    StalePath,
    /// The long-lived stale time (RFC 9494).
    LongLived,
    /// The wait for a peer's EoRR after its BoRR (RFC 7313 §4); not a
    /// graceful restart phase, but run by the same timers.
    RefreshStale,
}

/// A graceful restart timer: one per (peer, family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GrTimer {
    /// The peer.
    pub peer: PeerId,
    /// The family.
    pub family: AfiSafi,
    /// Which wait it is.
    pub kind: GrTimerKind,
}

/// A timer request for the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrTimerAction {
    /// Start (or restart) the timer of `(peer, family)`; report its expiry
    /// to [`Rib::gr_timer_expired`] with this value.
    Start(GrTimer, Duration),
    /// Stop the timer of `(peer, family)`.
    Stop(GrTimer),
}

/// One family of a peer in helper mode, for `show peer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrFamilyStatus {
    /// The family.
    pub family: AfiSafi,
    /// Its phase.
    pub phase: GrPhase,
    /// Paths still stale.
    pub stale_paths: u32,
}

/// A peer whose routes we keep for it (helper mode), for `show peer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrHelperStatus {
    /// The peer.
    pub peer: PeerId,
    /// Its session is up again.
    pub up: bool,
    /// The families still in a graceful restart phase.
    pub families: Vec<GrFamilyStatus>,
}

/// Graceful restart state of the RIB.
#[derive(Debug, Default)]
pub(super) struct GrState {
    peers: FxHashMap<PeerId, GrPeer>,
    /// Our own table is deferred (we are restarting, RFC 4724 §4.1).
    deferring: bool,
    /// Peers whose initial table waits for [`Rib::end_deferral`]; nothing
    /// is sent to them meanwhile.
    pub(super) deferred: Vec<PeerId>,
}

#[derive(Debug)]
struct GrPeer {
    slot: u32,
    up: bool,
    helper: GrHelper,
    fams: Vec<(AfiSafi, GrPhase)>,
}

impl Rib {
    /// A GR-capable peer's session ended gracefully (the FSM's
    /// `Down::graceful`): its routes stay in the RIB and the FIB, marked
    /// stale, for the families `helper` lists; the others go now. Returns
    /// the timers to start. Without `helper` families this is
    /// [`Rib::peer_down`].
    pub fn peer_down_graceful(&mut self, peer: PeerId, helper: &GrHelper) -> Output {
        let Some(&slot) = self.slots.get(&peer) else {
            return Output::default();
        };
        let negotiated =
            self.peers[slot as usize].as_ref().map(|e| e.info.families.clone()).unwrap_or_default();
        let retained: Vec<AfiSafi> = negotiated
            .iter()
            .copied()
            .filter(|f| helper.families.contains(f) || helper.llgr_time(*f).is_some())
            .collect();
        // A drop during recovery: the previous restart's timers give way to
        // this one's, and its still-stale paths are kept with the rest.
        if let Some(prev) = self.gr.peers.remove(&peer) {
            for (f, phase) in prev.fams {
                if !retained.contains(&f) {
                    self.stop_timer(peer, f, phase);
                }
            }
        }
        if retained.is_empty() {
            return self.peer_down(peer);
        }
        self.forget_refreshes(peer);
        self.leave_group(peer, slot);
        self.slots.remove(&peer);
        self.gr.deferred.retain(|p| *p != peer);
        if let Some(e) = self.peers[slot as usize].as_mut() {
            // Not a member of any group while away.
            e.group = usize::MAX;
        }
        self.mark_stale(slot);
        for &f in negotiated.iter().filter(|f| !retained.contains(f)) {
            self.sweep(slot, f);
        }
        let mut fams = Vec::with_capacity(retained.len());
        for f in retained {
            if helper.families.contains(&f) && !helper.restart_time.is_zero() {
                self.start_timer(peer, f, GrPhase::Restarting, helper.restart_time);
                fams.push((f, GrPhase::Restarting));
            } else if let Some(t) = helper.llgr_time(f) {
                // RFC 9494: with no GR time for the family, long-lived
                // retention starts at once.
                self.enter_llgr(slot, f);
                self.start_timer(peer, f, GrPhase::LongLived, t);
                fams.push((f, GrPhase::LongLived));
            } else {
                self.sweep(slot, f);
            }
        }
        if fams.is_empty() {
            self.free_slot(slot);
        } else {
            self.gr.peers.insert(peer, GrPeer { slot, up: false, helper: helper.clone(), fams });
        }
        self.finish()
    }

    /// The peer's End-of-RIB for `family` (RFC 4724 §4.2: "upon receipt of
    /// the End-of-RIB marker from the peer, the Receiving Speaker MUST
    /// immediately remove all the routes from the peer that are still
    /// marked as stale for that address family"). [`Rib::update`] calls it
    /// for an End-of-RIB UPDATE.
    pub fn end_of_rib(&mut self, peer: PeerId, family: AfiSafi) -> Output {
        if let Some(gp) = self.gr.peers.get_mut(&peer).filter(|gp| gp.up) {
            if let Some(i) = gp.fams.iter().position(|(f, _)| *f == family) {
                let (_, phase) = gp.fams.remove(i);
                let slot = gp.slot;
                self.stop_timer(peer, family, phase);
                self.sweep(slot, family);
                self.gr_cleanup(peer);
            }
        }
        self.finish()
    }

    /// A graceful restart timer expired. The Restart timer moves the family
    /// to long-lived retention if LLGR applies, else sweeps it ("If the
    /// session does not get re-established within the "Restart Time" ...
    /// the Receiving Speaker MUST delete all the stale routes", RFC 4724
    /// §4.2); the StalePath and LongLived timers sweep, and so does a
    /// RefreshStale one, for the routes an enhanced route refresh did not
    /// renew (`refresh.rs`). Expiries that no longer apply are ignored.
    pub fn gr_timer_expired(&mut self, timer: GrTimer) -> Output {
        if timer.kind == GrTimerKind::RefreshStale {
            self.route_refresh_expired(timer.peer, timer.family);
            return self.finish();
        }
        let Some(gp) = self.gr.peers.get_mut(&timer.peer) else {
            return Output::default();
        };
        let Some(i) = gp.fams.iter().position(|(f, _)| *f == timer.family) else {
            return Output::default();
        };
        let phase = gp.fams[i].1;
        if phase.timer() != timer.kind {
            return Output::default();
        }
        let slot = gp.slot;
        match (phase, gp.helper.llgr_time(timer.family)) {
            (GrPhase::Restarting, Some(t)) => {
                gp.fams[i].1 = GrPhase::LongLived;
                self.start_timer(timer.peer, timer.family, GrPhase::LongLived, t);
                self.enter_llgr(slot, timer.family);
            }
            _ => {
                gp.fams.remove(i);
                self.sweep(slot, timer.family);
                self.gr_cleanup(timer.peer);
            }
        }
        self.finish()
    }

    /// One peer's entry of [`Rib::gr_status`]; without `counts` the stale
    /// paths are not counted (0), which spares a walk of the table.
    pub fn gr_status_of(&self, peer: PeerId, counts: bool) -> Option<GrHelperStatus> {
        let gp = self.gr.peers.get(&peer)?;
        Some(GrHelperStatus {
            peer,
            up: gp.up,
            families: gp
                .fams
                .iter()
                .map(|&(family, phase)| GrFamilyStatus {
                    family,
                    phase,
                    stale_paths: if counts { self.count_stale(gp.slot, family) } else { 0 },
                })
                .collect(),
        })
    }

    /// Every peer in helper mode.
    pub fn gr_status(&self) -> Vec<GrHelperStatus> {
        let mut v: Vec<GrHelperStatus> = self
            .gr
            .peers
            .iter()
            .map(|(&peer, gp)| GrHelperStatus {
                peer,
                up: gp.up,
                families: gp
                    .fams
                    .iter()
                    .map(|&(family, phase)| GrFamilyStatus {
                        family,
                        phase,
                        stale_paths: self.count_stale(gp.slot, family),
                    })
                    .collect(),
            })
            .collect();
        v.sort_by_key(|s| s.peer);
        v
    }

    /// Starts deferring our table (RFC 4724 §4.1, restarting speaker): GR
    /// peers coming up get nothing, not even End-of-RIB, until
    /// [`Rib::end_deferral`]; other peers get the table at once.
    pub fn begin_deferral(&mut self) {
        self.gr.deferring = true;
    }

    /// Whether our table is deferred.
    pub fn is_deferring(&self) -> bool {
        self.gr.deferring
    }

    /// Ends the deferral: every deferred peer still up gets the table and
    /// End-of-RIB per family ("Once the Restarting Speaker has completed
    /// its route selection ... it MUST send the End-of-RIB marker",
    /// RFC 4724 §4.1).
    pub fn end_deferral(&mut self) -> Output {
        self.gr.deferring = false;
        for peer in std::mem::take(&mut self.gr.deferred) {
            let Some(e) = self.slots.get(&peer).and_then(|&s| self.peers[s as usize].as_ref())
            else {
                continue;
            };
            let (group, families) = (e.group, e.info.families.clone());
            let msgs = self.initial_table(peer, group, &families);
            self.send(peer, msgs);
        }
        self.finish()
    }

    /// The table and End-of-RIB per family, for a peer that just joined
    /// `group`.
    pub(super) fn initial_table(
        &mut self,
        peer: PeerId,
        group: usize,
        families: &[AfiSafi],
    ) -> Vec<bytes::Bytes> {
        let mut msgs = Vec::new();
        for &fam in families {
            let events = self.dump(group, fam);
            self.set_advertised(peer, group, fam, events.len());
            msgs.extend(self.encode_group(group, &events, peer));
            let ctx = &self.group(group).ctx;
            match Message::Update(UpdateMsg::end_of_rib(fam)).to_bytes(ctx) {
                Ok(b) => msgs.push(b),
                Err(e) => self.out.errors.push((peer, e)),
            }
        }
        msgs
    }

    // ===== hooks for peer_up / peer_down =====

    /// The slot a returning peer's stale paths are kept under, if it may
    /// have it back: the same peer (same facts) after a graceful restart.
    /// Otherwise its stale paths are swept first.
    pub(super) fn gr_reclaim(
        &mut self,
        peer: PeerId,
        facts: &super::policy::PeerFacts,
    ) -> Option<u32> {
        let gp = self.gr.peers.get(&peer).filter(|gp| !gp.up)?;
        let slot = gp.slot;
        if self.peers[slot as usize].as_ref().is_some_and(|e| e.facts == *facts) {
            Some(slot)
        } else {
            self.gr_forget(peer);
            None
        }
    }

    /// Whether `peer` coming up now gets its table later.
    pub(super) fn gr_defers(&mut self, peer: PeerId, info: &PeerInfo) -> bool {
        let defer = self.gr.deferring && info.graceful_restart;
        if defer {
            self.gr.deferred.push(peer);
        }
        defer
    }

    /// A peer in helper mode is back (its entry already updated): families
    /// it preserved forwarding for wait for its End-of-RIB; the others are
    /// swept now (RFC 4724 §4.2: "If the F bit ... is not set, or if the
    /// Graceful Restart Capability ... does not include the address family,
    /// the Receiving Speaker MUST immediately remove all the stale routes
    /// from the peer that it is retaining for that address family").
    pub(super) fn gr_returned(&mut self, peer: PeerId, info: &PeerInfo) {
        let Some(gp) = self.gr.peers.get_mut(&peer) else { return };
        gp.up = true;
        let (slot, bound) = (gp.slot, gp.helper.stale_path_time);
        let fams = std::mem::take(&mut gp.fams);
        let mut keep = Vec::with_capacity(fams.len());
        for (f, phase) in fams {
            if info.families.contains(&f) && info.gr_forwarding.contains(&f) {
                self.start_timer(peer, f, GrPhase::AwaitingEor, bound);
                keep.push((f, GrPhase::AwaitingEor));
            } else {
                self.stop_timer(peer, f, phase);
                self.sweep(slot, f);
            }
        }
        if let Some(gp) = self.gr.peers.get_mut(&peer) {
            gp.fams = keep;
        }
        self.gr_cleanup(peer);
    }

    /// Drops every graceful restart state of `peer` (a plain session end
    /// or removal): timers stop, and the stale paths of a peer still away
    /// are withdrawn with its slot.
    pub(super) fn gr_forget(&mut self, peer: PeerId) {
        self.gr.deferred.retain(|p| *p != peer);
        let Some(gp) = self.gr.peers.remove(&peer) else { return };
        for (f, phase) in gp.fams {
            self.stop_timer(peer, f, phase);
        }
        if !gp.up {
            self.free_slot(gp.slot);
        }
    }

    /// Whether `id` carries LLGR_STALE (RFC 9494).
    pub(super) fn is_llgr_stale(&self, id: AttrId) -> bool {
        self.attrs.get(id).attrs.communities.contains(&Community::LLGR_STALE)
    }

    // ===== internals =====

    fn gr_cleanup(&mut self, peer: PeerId) {
        let Some(gp) = self.gr.peers.get(&peer) else { return };
        if gp.fams.is_empty() {
            let (slot, up) = (gp.slot, gp.up);
            self.gr.peers.remove(&peer);
            if !up {
                self.free_slot(slot);
            }
        }
    }

    /// Withdraws whatever is left under a departed peer's slot and frees it.
    fn free_slot(&mut self, slot: u32) {
        for (prefix, _) in self.table.collect_where(|ps| ps.iter().any(|p| p.src == slot)) {
            self.apply(prefix, Change::RemovePeer { src: slot });
        }
        self.peers[slot as usize] = None;
    }

    fn start_timer(&mut self, peer: PeerId, family: AfiSafi, phase: GrPhase, d: Duration) {
        let t = GrTimer { peer, family, kind: phase.timer() };
        self.out.gr_timers.push(GrTimerAction::Start(t, d));
    }

    fn stop_timer(&mut self, peer: PeerId, family: AfiSafi, phase: GrPhase) {
        let t = GrTimer { peer, family, kind: phase.timer() };
        self.out.gr_timers.push(GrTimerAction::Stop(t));
    }

    /// "MUST mark them as stale routing information" (RFC 4724 §4.2). No
    /// output: nothing changes for the network.
    fn mark_stale(&mut self, slot: u32) {
        for (_, id) in self.table.collect_where(|ps| ps.iter().any(|p| p.src == slot)) {
            for p in self.table.paths_mut(id).as_mut_slice() {
                if p.src == slot {
                    p.flags |= STALE;
                }
            }
        }
    }

    /// The destinations of `family` with a stale path from `slot`.
    fn stale_dests(&self, slot: u32, family: AfiSafi) -> Vec<IpNet> {
        let v6 = family == AfiSafi::IPV6_UNICAST;
        if !v6 && family != AfiSafi::IPV4_UNICAST {
            return Vec::new();
        }
        self.table
            .family(v6)
            .into_iter()
            .filter(|(_, id)| self.table.paths(*id).iter().any(|p| p.src == slot && p.is(STALE)))
            .map(|(prefix, _)| prefix)
            .collect()
    }

    fn count_stale(&self, slot: u32, family: AfiSafi) -> u32 {
        let n: usize = self
            .stale_dests(slot, family)
            .into_iter()
            .filter_map(|p| self.table.get(p))
            .map(|id| self.table.paths(id).iter().filter(|p| p.src == slot && p.is(STALE)).count())
            .sum();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Removes the paths of `family` from `slot` still marked stale.
    pub(super) fn sweep(&mut self, slot: u32, family: AfiSafi) {
        for prefix in self.stale_dests(slot, family) {
            debug_assert_eq!(family_of(prefix), family);
            self.apply(prefix, Change::RemoveStale { src: slot });
        }
    }

    /// RFC 9494: the family's stale paths become long-lived stale: those
    /// with NO_LLGR are removed ("MUST NOT be retained"), the others get
    /// LLGR_STALE, which depreferences them and limits them to LLGR peers.
    fn enter_llgr(&mut self, slot: u32, family: AfiSafi) {
        for prefix in self.stale_dests(slot, family) {
            let Some(id) = self.table.get(prefix) else { continue };
            let paths: Vec<_> = self
                .table
                .paths(id)
                .iter()
                .filter(|p| p.src == slot && p.is(STALE))
                .map(|p| (p.rx_id, p.attrs, p.is(IMPORT_REJECTED).then_some(p.verdict).flatten()))
                .collect();
            for (rx_id, attrs, import) in paths {
                let stored = self.attrs.get(attrs);
                let comms = &stored.attrs.communities;
                if comms.contains(&Community::NO_LLGR) {
                    self.apply(prefix, Change::Remove { src: slot, rx_id });
                    continue;
                }
                if comms.contains(&Community::LLGR_STALE) {
                    continue;
                }
                let mut marked = (**stored).clone();
                marked.attrs.communities.push(Community::LLGR_STALE);
                let new = self.intern(marked);
                self.apply(prefix, Change::Upsert { src: slot, rx_id, attrs: new, import });
                self.attrs.decref(new);
                // The replaced path starts with fresh flags: still stale.
                if let Some(id) = self.table.get(prefix) {
                    for p in self.table.paths_mut(id).as_mut_slice() {
                        if p.src == slot && p.rx_id == rx_id {
                            p.flags |= STALE;
                        }
                    }
                }
            }
        }
    }
}
