//! Graceful restart in [`RibRoutes`]: the timers the RIB asks for, and the
//! restarting speaker's recovery ([`GrRecovery`]) driven from the session
//! events the owner passes on.
//!
//! ```text
//!   helper (a peer restarts, RFC 4724 §4.2)
//!     Established ─► GrHelper taken from the negotiation, kept per peer
//!     Down{graceful} ─► Rib::peer_down_graceful(helper) ─► gr_timers
//!     gr_timers ─► deadlines here ─► owner sleeps to next_timer ─► timers_due
//!               ─► Rib::gr_timer_expired (sweep or LLGR)
//!     End-of-RIB ─► Rib::update sweeps what is still stale
//!
//!   restarting speaker (we restarted, RFC 4724 §4.1)
//!     start ─► GrRecovery::start (always: the FIB adopted the previous
//!              run's kernel routes, if any) ─► Rib::begin_deferral, R bit
//!     peer up / down / End-of-RIB, reload ─► GrRecovery ─► actions
//!     StartTimer ─► deadline here, like the helper's
//!     Complete ─► FibPort::converged (stale kernel routes swept)
//!              ─► Rib::end_deferral (tables and End-of-RIB to GR peers)
//!              ─► recovering() false: the owner drops the R bit
//! ```
//!
//! Long-lived graceful restart (RFC 9494): a session on which we advertised
//! LLGR (`long_lived_stale_time` > 0, see [`crate::session::llgr_capability`])
//! and the peer did too gives a [`GrHelper`] with a long-lived stale time
//! per family, the peer's capped at ours ([`helper_for`]). The RIB then
//! turns the Restart timer's expiry into long-lived retention (LLGR_STALE
//! added, NO_LLGR routes removed, kept in the FIB, sent only to LLGR peers)
//! and asks for a LongLived timer, which this driver runs like the others.
//!
//! Recovery starts when graceful restart is enabled and the kernel held
//! routes of ours (protocol 12) when the daemon started
//! ([`super::FibPort::restarting`], read before any session starts): a
//! restart after a crash, a kill or an upgrade. A first start has nothing
//! to recover, so it neither sets the R bit nor defers its table; BIRD
//! needs `-R` on its command line for this, we look at the kernel. Without
//! a kernel (`fib.enabled = false`) there is never anything to recover.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;
use tracing::info;

use super::RibRoutes;
use crate::config::{EffectivePeer, PeerKey};
use crate::daemon::routes::Outbound;
use crate::fsm::Millis;
use crate::rib::{
    Completion, GrHelper, GrPhase, GrRecovery, GrTimer, GrTimerAction, GrTimerKind, PeerId,
    RecoveryAction, RecoveryConfig, RecoveryPeer,
};
use crate::session::Up;
use crate::wire::route_refresh::RouteRefreshSubtype;
use crate::wire::{AfiSafi, Negotiated, RouteRefreshMsg};

/// What we keep of a peer's routes when its session drops gracefully:
/// RFC 4724 retention for its restart time, then, when both ends
/// advertised LLGR (`our_llst` > 0 means we did), long-lived retention
/// for the peer's Long-lived Stale Time capped at `our_llst`.
///
/// The cap is our choice, the one FRR makes (it keeps the smaller of the
/// received time and its own `bgp long-lived-graceful-restart
/// stale-time`; SR OS has a helper override likewise): the peer's time
/// says how long its routes may stay usable, ours how long this node is
/// willing to forward on routes nobody refreshes.
pub(super) fn helper_for(n: &Negotiated, our_llst: u32, stale_path_time: Duration) -> GrHelper {
    let mut h = GrHelper::from_negotiated(n, our_llst > 0, stale_path_time);
    let cap = Duration::from_secs(u64::from(our_llst));
    for (_, t) in &mut h.llgr {
        *t = (*t).min(cap);
    }
    h
}

/// Graceful restart state beside the RIB.
#[derive(Debug)]
pub(super) struct GrDriver {
    /// Origin of the [`Millis`] clock the recovery runs on.
    t0: Instant,
    /// Graceful restart is enabled (`graceful_restart.enabled`).
    enabled: bool,
    /// Restart time we advertise by default.
    restart_time: u16,
    /// `graceful_restart.stale_time`.
    stale_time: Duration,
    /// What each peer's last session promised, taken at Established.
    helpers: HashMap<PeerId, GrHelper>,
    /// Running helper timers, one per (peer, family), and beside it the
    /// family's enhanced route refresh timer (RFC 7313 §4), if any.
    timers: HashMap<TimerKey, (GrTimer, Instant)>,
    /// Our own recovery, once started.
    recovery: Option<GrRecovery>,
    recovery_at: Option<Instant>,
    /// The recovery is over but the FIB keeps the previous run's routes
    /// until every peer up has sent End-of-RIB.
    fib_wait: bool,
    /// Next hops tracked whose reachability the kernel has not answered
    /// yet: the routes through them are not selected yet, so the FIB must
    /// not take their absence as final.
    nh_pending: std::collections::BTreeSet<IpAddr>,
    /// Stale path counts per helped peer for `show peer`, with when each was
    /// taken and what it cost: counting walks the table, and a peer may stay
    /// long-lived stale for days while the daemon publishes ten times a
    /// second, so a count is reused for at least [`STALE_COUNT_EVERY`] and
    /// twenty times what it took.
    stale_counts: std::cell::RefCell<HashMap<PeerId, (Instant, Duration, u64)>>,
}

/// A running timer's slot: peer, family, and whether it is the wait for
/// an EoRR (which runs beside a graceful restart timer, not instead).
type TimerKey = (PeerId, AfiSafi, bool);

fn timer_key(t: &GrTimer) -> TimerKey {
    (t.peer, t.family, t.kind == GrTimerKind::RefreshStale)
}

/// Least time a stale path count of `show peer` is reused for.
const STALE_COUNT_EVERY: Duration = Duration::from_secs(1);

impl GrDriver {
    pub(super) fn new(cfg: &crate::config::ValidatedConfig) -> Self {
        let gr = &cfg.config().graceful_restart;
        GrDriver {
            t0: Instant::now(),
            enabled: gr.enabled,
            restart_time: gr.restart_time,
            stale_time: Duration::from_secs(u64::from(gr.stale_time)),
            helpers: HashMap::new(),
            timers: HashMap::new(),
            recovery: None,
            recovery_at: None,
            fib_wait: false,
            nh_pending: std::collections::BTreeSet::new(),
            stale_counts: std::cell::RefCell::default(),
        }
    }

    pub(super) fn set_config(&mut self, cfg: &crate::config::ValidatedConfig) {
        let gr = &cfg.config().graceful_restart;
        self.enabled = gr.enabled;
        self.restart_time = gr.restart_time;
        self.stale_time = Duration::from_secs(u64::from(gr.stale_time));
    }

    fn millis(&self, at: Instant) -> Millis {
        Millis(u64::try_from(at.saturating_duration_since(self.t0).as_millis()).unwrap_or(u64::MAX))
    }

    /// Records the RIB's timer requests.
    pub(super) fn apply_timers(&mut self, actions: Vec<GrTimerAction>) {
        for a in actions {
            match a {
                GrTimerAction::Start(t, d) => {
                    self.timers.insert(timer_key(&t), (t, Instant::now() + d));
                }
                GrTimerAction::Stop(t) => {
                    if self.timers.get(&timer_key(&t)).is_some_and(|(x, _)| *x == t) {
                        self.timers.remove(&timer_key(&t));
                    }
                }
            }
        }
    }

    /// Next hops the RIB started and stopped tracking.
    pub(super) fn nexthops_tracked(&mut self, add: &[IpAddr], remove: &[IpAddr]) {
        self.nh_pending.extend(add.iter().copied());
        for a in remove {
            self.nh_pending.remove(a);
        }
    }

    /// The kernel answered for `addr`; true if it was the first answer.
    pub(super) fn nexthop_answered(&mut self, addr: IpAddr) -> bool {
        self.nh_pending.remove(&addr)
    }

    /// Whether a recovery was started (graceful restart enabled): it, not
    /// the plain End-of-RIB count, tells the FIB when routing converged.
    pub(super) fn recovery_started(&self) -> bool {
        self.recovery.is_some()
    }

    pub(super) fn recovering(&self) -> bool {
        self.recovery.as_ref().is_some_and(GrRecovery::recovering)
    }

    /// The earliest helper or recovery deadline.
    pub(super) fn next_timer(&self) -> Option<Instant> {
        self.timers.values().map(|(_, at)| *at).chain(self.recovery_at).min()
    }

    /// Seconds until `at`, rounded up.
    fn secs_left(at: Instant, now: Instant) -> u32 {
        let d = at.saturating_duration_since(now);
        u32::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(u32::MAX)
    }
}

impl RibRoutes {
    /// Starts our recovery (see the module documentation).
    pub(super) fn gr_start(&mut self) -> Vec<Outbound> {
        if !self.gr.enabled || !self.fib.restarting() {
            // Nothing to recover: the plain End-of-RIB count tells the FIB
            // when routing converged, and tables go out at once.
            return Vec::new();
        }
        let mut cfg = RecoveryConfig::new(self.gr.restart_time);
        cfg.upper_bound = self.gr.stale_time;
        // A peer still down this long is not waited for (RFC 4724 §4.1
        // waits for the peers that are up; this covers those coming up
        // right after our start).
        cfg.pending_wait = cfg.pending_wait.min(self.gr.stale_time);
        let peers: Vec<PeerId> = self.expected_ids();
        let now = self.gr.millis(Instant::now());
        let (r, actions) = GrRecovery::start(
            cfg,
            true,
            vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST],
            peers,
            now,
        );
        self.gr.recovery = Some(r);
        self.rib.begin_deferral();
        info!(
            "graceful restart: recovering, waiting for End-of-RIB from {} peer(s), at most {}s",
            self.expected.len(),
            self.gr.stale_time.as_secs()
        );
        self.recovery_actions(actions)
    }

    fn expected_ids(&mut self) -> Vec<PeerId> {
        let keys: Vec<PeerKey> = self.expected.iter().copied().collect();
        keys.into_iter().map(|k| self.id_of(k)).collect()
    }

    /// Carries out what the recovery asks for.
    fn recovery_actions(&mut self, actions: Vec<RecoveryAction>) -> Vec<Outbound> {
        let mut out = Vec::new();
        for a in actions {
            match a {
                RecoveryAction::StartTimer(d) => self.gr.recovery_at = Some(Instant::now() + d),
                RecoveryAction::StopTimer => self.gr.recovery_at = None,
                RecoveryAction::Complete(c) => {
                    self.gr.recovery_at = None;
                    match c {
                        Completion::UpperBound => info!(
                            "graceful restart: recovery ended by the {}s upper bound",
                            self.gr.stale_time.as_secs()
                        ),
                        _ => info!(
                            "graceful restart: recovery complete ({c:?}) after {:?}",
                            self.gr.t0.elapsed()
                        ),
                    }
                    // RFC 4724 §4.1: the deferred tables go out once route
                    // selection is done. Stale kernel routes go too, but
                    // not before the peers up now (those restarting as
                    // well, which were not waited for) have sent their
                    // tables: their routes are still right meanwhile.
                    self.gr.fib_wait = c != Completion::UpperBound;
                    let o = self.rib.end_deferral();
                    out.extend(self.carry_out(o));
                    self.gr_check_fib();
                }
            }
        }
        out
    }

    /// Once the recovery is over and every peer up has sent End-of-RIB
    /// for each family, the FIB may delete what is left of the previous
    /// run (BIRD's `persist` sweep).
    pub(super) fn gr_check_fib(&mut self) {
        if self.converged || self.gr.recovering() || self.gr.recovery.is_none() {
            return;
        }
        let pending = self.peers.values().filter(|m| m.families.iter().any(|f| !m.eor.contains(f)));
        if self.gr.fib_wait && pending.count() > 0 {
            return;
        }
        // Routes learned again but not selected yet for want of an answer
        // about their next hop would be swept and put back a moment later.
        if self.gr.fib_wait && !self.gr.nh_pending.is_empty() {
            return;
        }
        info!("graceful restart: End-of-RIB from every peer up; stale kernel routes may go");
        self.converged = true;
        self.fib.converged();
    }

    /// A session came up: what it promised for its restarts, and its part
    /// in our recovery.
    pub(super) fn gr_peer_up(
        &mut self,
        id: PeerId,
        peer: &EffectivePeer,
        up: &Up,
    ) -> Vec<Outbound> {
        if peer.graceful_restart.is_some() {
            let h = helper_for(&up.negotiated, peer.long_lived_stale_time, self.gr.stale_time);
            self.gr.helpers.insert(id, h);
        } else {
            self.gr.helpers.remove(&id);
        }
        let now = self.gr.millis(Instant::now());
        let Some(r) = self.gr.recovery.as_mut().filter(|r| r.recovering()) else {
            return Vec::new();
        };
        let a = r.peer_up(id, &RecoveryPeer::from_negotiated(&up.negotiated), now);
        self.recovery_actions(a)
    }

    /// A session ended: keep the peer's routes stale when the end was
    /// graceful and the peer promised it, else drop them.
    pub(super) fn gr_peer_down(&mut self, id: PeerId, graceful: bool) -> Vec<Outbound> {
        let helper = self.gr.helpers.get(&id).filter(|_| graceful).cloned();
        let out = match &helper {
            Some(h) => {
                let llgr = h.llgr.iter().map(|(_, d)| d.as_secs()).max();
                info!(
                    "graceful restart: keeping routes of {} stale for up to {}s{}",
                    self.away.get(&id).map_or(String::new(), |m| m.name.clone()),
                    h.restart_time.as_secs(),
                    llgr.map(|s| format!(", then long-lived stale for up to {s}s"))
                        .unwrap_or_default()
                );
                self.rib.peer_down_graceful(id, h)
            }
            None => self.rib.peer_down(id),
        };
        let mut sent = self.carry_out(out);
        let now = self.gr.millis(Instant::now());
        if let Some(r) = self.gr.recovery.as_mut().filter(|r| r.recovering()) {
            let a = r.peer_down(id, now);
            sent.extend(self.recovery_actions(a));
        }
        sent
    }

    /// The peer's End-of-RIB, for the recovery (the RIB saw it already).
    pub(super) fn gr_end_of_rib(&mut self, id: PeerId, family: AfiSafi) -> Vec<Outbound> {
        let now = self.gr.millis(Instant::now());
        let Some(r) = self.gr.recovery.as_mut().filter(|r| r.recovering()) else {
            self.gr_check_fib();
            return Vec::new();
        };
        let a = r.end_of_rib(id, family, now);
        self.recovery_actions(a)
    }

    /// A reload added or removed peers: the recovery waits for the new
    /// ones, not for the removed ones.
    pub(super) fn gr_peers_changed(
        &mut self,
        added: &[PeerKey],
        removed: &[PeerKey],
    ) -> Vec<Outbound> {
        if !self.gr.recovering() {
            return Vec::new();
        }
        let now = self.gr.millis(Instant::now());
        let mut actions = Vec::new();
        for a in added {
            let id = self.id_of(*a);
            if let Some(r) = self.gr.recovery.as_mut() {
                actions.extend(r.peer_added(id, now));
            }
        }
        for a in removed {
            if let (Some(id), Some(r)) = (self.ids.get(a).copied(), self.gr.recovery.as_mut()) {
                actions.extend(r.peer_removed(id, now));
            }
        }
        self.recovery_actions(actions)
    }

    /// The peer's BoRR or EoRR (RFC 7313 §4): its routes of the family are
    /// marked stale until its EoRR, or for at most `graceful_restart.stale_time`
    /// (FRR bounds the wait with its stale-path time likewise).
    pub(super) fn peer_route_refresh(&mut self, id: PeerId, msg: RouteRefreshMsg) -> Vec<Outbound> {
        let name = self.peers.get(&id).map_or("?", |m| &m.name);
        let out = match msg.subtype {
            RouteRefreshSubtype::BoRR => {
                info!("route refresh: BoRR from {name} for {:?}; its routes are stale", msg.family);
                self.rib.begin_route_refresh(id, msg.family, self.gr.stale_time)
            }
            RouteRefreshSubtype::EoRR => {
                info!(
                    "route refresh: EoRR from {name} for {:?}; routes it did not re-advertise \
                     removed",
                    msg.family
                );
                self.rib.end_route_refresh(id, msg.family)
            }
            _ => return Vec::new(),
        };
        self.carry_out(out)
    }

    /// Fires the timers due at `now`.
    pub(super) fn gr_timers_due(&mut self, now: Instant) -> Vec<Outbound> {
        let due: Vec<GrTimer> =
            self.gr.timers.values().filter(|(_, at)| *at <= now).map(|(t, _)| *t).collect();
        let mut out = Vec::new();
        for t in due {
            self.gr.timers.remove(&timer_key(&t));
            self.log_expiry(t);
            let o = self.rib.gr_timer_expired(t);
            out.extend(self.carry_out(o));
        }
        if self.gr.recovery_at.is_some_and(|at| at <= now) {
            self.gr.recovery_at = None;
            let ms = self.gr.millis(now);
            if let Some(r) = self.gr.recovery.as_mut() {
                let a = r.timer_expired(ms);
                out.extend(self.recovery_actions(a));
            }
        }
        out
    }

    /// Says what a helper timer's expiry does, before the RIB does it.
    fn log_expiry(&self, t: GrTimer) {
        let name = self.peers.get(&t.peer).or(self.away.get(&t.peer)).map_or("?", |m| &m.name);
        let llgr =
            self.gr.helpers.get(&t.peer).and_then(|h| {
                h.llgr.iter().find(|(f, _)| *f == t.family).map(|(_, d)| d.as_secs())
            });
        match (t.kind, llgr) {
            (GrTimerKind::Restart, Some(secs)) => info!(
                "graceful restart: restart time of {name} over for {:?}; its routes are \
                 long-lived stale (RFC 9494) for up to {secs}s",
                t.family
            ),
            (GrTimerKind::Restart, None) => info!(
                "graceful restart: restart time of {name} over for {:?}; stale routes removed",
                t.family
            ),
            (GrTimerKind::LongLived, _) => info!(
                "graceful restart: long-lived stale time of {name} over for {:?}; stale routes removed",
                t.family
            ),
            (GrTimerKind::StalePath, _) => info!(
                "graceful restart: no End-of-RIB from {name} for {:?} in time; stale routes removed",
                t.family
            ),
            (GrTimerKind::RefreshStale, _) => info!(
                "route refresh: no EoRR from {name} for {:?} within {}s of its BoRR; routes it \
                 did not re-advertise removed",
                t.family,
                self.gr.stale_time.as_secs()
            ),
        }
    }

    /// `show status`: the recovery while it runs.
    pub(super) fn gr_recovery_snapshot(&self) -> Option<ctl::proto::GrRecovery> {
        let r = self.gr.recovery.as_ref().filter(|r| r.recovering())?;
        let st = r.status(self.gr.millis(Instant::now()));
        // By address, as the BIRD-dialect view and `show status` match it
        // (two sessions to one address both read as waiting while one is).
        let name = |id: &PeerId| {
            self.ids
                .iter()
                .find(|(_, i)| *i == id)
                .map_or_else(|| format!("{id:?}"), |(k, _)| k.address.to_string())
        };
        Some(ctl::proto::GrRecovery {
            waiting_for: st.waiting_for.iter().chain(&st.pending).map(name).collect(),
            wait_left_secs: st.time_left.map_or(0, |d| {
                u32::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(u32::MAX)
            }),
            wait_total_secs: u32::try_from(self.gr.stale_time.as_secs()).unwrap_or(u32::MAX),
        })
    }

    /// `show peer`: a restart in progress involving `key`.
    /// The stale paths kept from `id`, counted at most every
    /// [`STALE_COUNT_EVERY`] (and twenty times what a count costs).
    fn stale_count(&self, id: PeerId, now: Instant) -> u64 {
        let mut cache = self.gr.stale_counts.borrow_mut();
        if let Some(&(at, cost, n)) = cache.get(&id) {
            if now.saturating_duration_since(at) < STALE_COUNT_EVERY.max(cost * 20) {
                return n;
            }
        }
        let started = std::time::Instant::now();
        let n = self
            .rib
            .gr_status_of(id, true)
            .map_or(0, |s| s.families.iter().map(|f| u64::from(f.stale_paths)).sum());
        cache.insert(id, (now, started.elapsed(), n));
        n
    }

    pub(super) fn gr_peer_snapshot(&self, key: PeerKey) -> Option<ctl::proto::PeerGracefulRestart> {
        use ctl::proto::{GrPeerState, PeerGracefulRestart};
        let id = *self.ids.get(&key)?;
        let now = Instant::now();
        if let Some(s) = self.rib.gr_status_of(id, false) {
            let time_left = self
                .gr
                .timers
                .iter()
                .filter(|((p, _, refresh), _)| *p == id && !refresh)
                .map(|(_, (_, at))| GrDriver::secs_left(*at, now))
                .min();
            let stale = self.stale_count(id, now);
            // Back but not yet at End-of-RIB still counts as restarting:
            // its stale routes are still in use.
            let restarting = !s.up
                || s.families.iter().any(|f| {
                    matches!(
                        f.phase,
                        GrPhase::AwaitingEor | GrPhase::Restarting | GrPhase::LongLived
                    )
                });
            // Long-lived once no family of a peer still away is in its
            // plain restart time any more.
            let long_lived = !s.up
                && s.families.iter().any(|f| f.phase == GrPhase::LongLived)
                && s.families.iter().all(|f| f.phase != GrPhase::Restarting);
            if restarting {
                return Some(PeerGracefulRestart {
                    state: if long_lived {
                        GrPeerState::LongLivedStale
                    } else {
                        GrPeerState::PeerRestarting
                    },
                    time_left_secs: time_left,
                    stale_routes: stale,
                });
            }
        }
        let r = self.gr.recovery.as_ref().filter(|r| r.recovering())?;
        match r.peer(id) {
            Some(crate::rib::PeerWait::Waiting(_)) => Some(PeerGracefulRestart {
                state: GrPeerState::WaitingEndOfRib,
                time_left_secs: r
                    .status(self.gr.millis(now))
                    .time_left
                    .map(|d| GrDriver::secs_left(now + d, now)),
                stale_routes: 0,
            }),
            _ => None,
        }
    }
}
