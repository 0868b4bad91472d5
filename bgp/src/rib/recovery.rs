//! The restarting speaker (RFC 4724 §4.1): the recovery window after the
//! daemon starts with the kernel routes of its previous run still in place.
//!
//! [`GrRecovery`] is a pure state machine like the FSM: the daemon feeds it
//! session events with the time, and carries out the [`RecoveryAction`]s.
//!
//! ```text
//!   start (previous run's routes adopted as stale by the FIB)
//!     │  OPEN: R bit set, F bit per family kept      Rib::begin_deferral
//!     ▼
//!   Recovering ── peers configured and not yet up: waited for at most
//!     │           `pending_wait` (a peer that is down is not waited for)
//!     │        ── GR peer up without the R bit: wait for its End-of-RIB
//!     │           per family (a restarting peer, R bit set, is not waited
//!     │           for: it waits for us, RFC 4724 §4.1)
//!     │        ── peer down, or up without GR: not waited for
//!     ▼  nothing left to wait for, or the upper bound (Calico's 240 s)
//!   Complete ── daemon: FIB sweeps the stale kernel routes, then
//!               Rib::end_deferral sends tables and End-of-RIB; the OPEN
//!               drops the R bit
//! ```
//!
//! A second restart during recovery starts a new recovery over the same
//! kernel routes: what the interrupted run did not replace is still there
//! and still stale, so nothing that was right is removed before the new
//! run's End-of-RIBs arrive.

use std::collections::BTreeMap;
use std::time::Duration;

use super::types::PeerId;
use crate::fsm::Millis;
use crate::wire::capability::{GrFamily, GracefulRestart};
use crate::wire::{AfiSafi, Negotiated};

/// Calico's upper bound on the recovery (BIRD's `graceful restart wait`).
pub const DEFAULT_UPPER_BOUND: Duration = Duration::from_secs(240);

/// How long peers that are configured but not up are waited for.
pub const DEFAULT_PENDING_WAIT: Duration = Duration::from_secs(30);

/// Settings of the restarting speaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// Restart Time we advertise (seconds, at most 4095).
    pub restart_time: u16,
    /// Set the N bit (RFC 8538).
    pub notification: bool,
    /// Families we list in our Graceful Restart capability.
    pub families: Vec<AfiSafi>,
    /// The selection deferral upper bound (RFC 4724 §4.1
    /// Selection_Deferral_Timer).
    pub upper_bound: Duration,
    /// How long a configured peer that has not come up is waited for.
    pub pending_wait: Duration,
}

impl RecoveryConfig {
    /// Calico's settings: restart time `restart_time`, IPv4 and IPv6.
    pub fn new(restart_time: u16) -> Self {
        RecoveryConfig {
            restart_time,
            notification: true,
            families: vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST],
            upper_bound: DEFAULT_UPPER_BOUND,
            pending_wait: DEFAULT_PENDING_WAIT,
        }
    }
}

/// What a peer's session says about its part in our recovery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryPeer {
    /// It advertised Graceful Restart (so it kept our routes).
    pub graceful_restart: bool,
    /// Its R bit: it is restarting too.
    pub restarting: bool,
    /// Families negotiated on the session.
    pub families: Vec<AfiSafi>,
}

impl RecoveryPeer {
    /// From a session's negotiation.
    pub fn from_negotiated(n: &Negotiated) -> Self {
        let gr = n.peer_graceful_restart.as_ref();
        RecoveryPeer {
            graceful_restart: gr.is_some(),
            restarting: gr.is_some_and(|g| g.restart_flag),
            families: n.families.clone(),
        }
    }
}

/// Why the recovery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Not restarting: nothing to recover.
    NotRestarting,
    /// Every peer waited for sent End-of-RIB, or was not to be waited for.
    Converged,
    /// The upper bound ran out.
    UpperBound,
}

/// What the daemon must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryAction {
    /// (Re)start the recovery timer; report its expiry to
    /// [`GrRecovery::timer_expired`].
    StartTimer(Duration),
    /// Stop the recovery timer.
    StopTimer,
    /// Recovery is over. In this order: the FIB removes the kernel routes
    /// adopted from the previous run that were not replaced (RFC 4724
    /// §4.1: stale forwarding state goes once route selection is done);
    /// [`super::Rib::end_deferral`] sends tables and End-of-RIB; the OPEN
    /// drops the R bit ([`GrRecovery::capability`]).
    Complete(Completion),
}

/// One peer during recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerWait {
    /// Configured, not up yet: waited for until the pending wait ends.
    Pending,
    /// Up; its End-of-RIB is awaited for these families.
    Waiting(Vec<AfiSafi>),
    /// Sent End-of-RIB for every family.
    Done,
    /// Not waited for: down, without GR, or restarting itself.
    NotWaited,
}

/// The recovery, for `show status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryStatus {
    /// Still recovering.
    pub recovering: bool,
    /// Peers whose End-of-RIB is awaited.
    pub waiting_for: Vec<PeerId>,
    /// Peers not up yet and still waited for.
    pub pending: Vec<PeerId>,
    /// Time until the upper bound ends the recovery.
    pub time_left: Option<Duration>,
    /// How it ended, once it has.
    pub completion: Option<Completion>,
}

/// The restarting speaker's recovery. See the module documentation.
#[derive(Clone, Debug)]
pub struct GrRecovery {
    cfg: RecoveryConfig,
    /// Families whose forwarding state survived (kernel routes adopted).
    preserved: Vec<AfiSafi>,
    started: Millis,
    peers: BTreeMap<PeerId, PeerWait>,
    completion: Option<Completion>,
}

impl GrRecovery {
    /// Starts at `now`. `restarting`: the previous run's kernel routes were
    /// found and adopted for the `preserved` families; otherwise there is
    /// nothing to recover and the machine is complete at once.
    pub fn start(
        cfg: RecoveryConfig,
        restarting: bool,
        preserved: Vec<AfiSafi>,
        peers: impl IntoIterator<Item = PeerId>,
        now: Millis,
    ) -> (Self, Vec<RecoveryAction>) {
        let mut r = GrRecovery {
            cfg,
            preserved,
            started: now,
            peers: peers.into_iter().map(|p| (p, PeerWait::Pending)).collect(),
            completion: None,
        };
        if !restarting {
            r.completion = Some(Completion::NotRestarting);
            return (r, Vec::new());
        }
        let mut out = Vec::new();
        r.settle(now, &mut out);
        (r, out)
    }

    /// Whether the recovery is still running.
    pub fn recovering(&self) -> bool {
        self.completion.is_none()
    }

    /// The Graceful Restart capability for our OPEN: the R bit while
    /// recovering ("Restart State ... set to 1 ... to indicate that the
    /// speaker has restarted", RFC 4724 §3), the F bit for families whose
    /// forwarding state we keep across restarts.
    pub fn capability(&self) -> GracefulRestart {
        GracefulRestart {
            restart_flag: self.recovering(),
            notification_flag: self.cfg.notification,
            restart_time: self.cfg.restart_time.min(0x0fff),
            families: self
                .cfg
                .families
                .iter()
                .map(|&family| GrFamily { family, forwarding: self.preserved.contains(&family) })
                .collect(),
        }
    }

    /// A peer was added to the configuration.
    pub fn peer_added(&mut self, peer: PeerId, now: Millis) -> Vec<RecoveryAction> {
        self.peers.entry(peer).or_insert(PeerWait::Pending);
        self.step(now)
    }

    /// A peer was removed from the configuration.
    pub fn peer_removed(&mut self, peer: PeerId, now: Millis) -> Vec<RecoveryAction> {
        self.peers.remove(&peer);
        self.step(now)
    }

    /// A session came up. A GR peer that is not restarting itself is
    /// waited for: "MUST defer route selection ... until it either (a)
    /// receives the End-of-RIB marker from all its peers (excluding the
    /// ones with the "Restart State" bit set in the received capability and
    /// excluding the ones that do not advertise the graceful restart
    /// capability) or (b) the Selection_Deferral_Timer ... expires"
    /// (RFC 4724 §4.1).
    pub fn peer_up(&mut self, peer: PeerId, p: &RecoveryPeer, now: Millis) -> Vec<RecoveryAction> {
        let wait = if p.graceful_restart && !p.restarting && !p.families.is_empty() {
            PeerWait::Waiting(p.families.clone())
        } else {
            PeerWait::NotWaited
        };
        self.peers.insert(peer, wait);
        self.step(now)
    }

    /// A session went down, or a dial failed: the peer is not waited for
    /// (otherwise a down node would hold every restart to the upper
    /// bound). If it comes up during the recovery it is again.
    pub fn peer_down(&mut self, peer: PeerId, now: Millis) -> Vec<RecoveryAction> {
        if let Some(w) = self.peers.get_mut(&peer) {
            if *w != PeerWait::Done {
                *w = PeerWait::NotWaited;
            }
        }
        self.step(now)
    }

    /// The peer's End-of-RIB for `family`.
    pub fn end_of_rib(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        now: Millis,
    ) -> Vec<RecoveryAction> {
        if let Some(w) = self.peers.get_mut(&peer) {
            if let PeerWait::Waiting(fams) = w {
                fams.retain(|f| *f != family);
                if fams.is_empty() {
                    *w = PeerWait::Done;
                }
            }
        }
        self.step(now)
    }

    /// The recovery timer expired.
    pub fn timer_expired(&mut self, now: Millis) -> Vec<RecoveryAction> {
        self.step(now)
    }

    /// The recovery as `show status` shows it.
    pub fn status(&self, now: Millis) -> RecoveryStatus {
        let with = |f: fn(&PeerWait) -> bool| {
            self.peers.iter().filter(|(_, w)| f(w)).map(|(p, _)| *p).collect::<Vec<_>>()
        };
        let pending_on = self.pending_waited(now);
        RecoveryStatus {
            recovering: self.recovering(),
            waiting_for: with(|w| matches!(w, PeerWait::Waiting(_))),
            pending: if pending_on { with(|w| *w == PeerWait::Pending) } else { Vec::new() },
            time_left: self
                .recovering()
                .then(|| self.started.after(self.cfg.upper_bound).since(now)),
            completion: self.completion,
        }
    }

    /// What the recovery knows of `peer`.
    pub fn peer(&self, peer: PeerId) -> Option<&PeerWait> {
        self.peers.get(&peer)
    }

    fn step(&mut self, now: Millis) -> Vec<RecoveryAction> {
        let mut out = Vec::new();
        if self.recovering() {
            self.settle(now, &mut out);
        }
        out
    }

    fn pending_waited(&self, now: Millis) -> bool {
        now < self.started.after(self.cfg.pending_wait)
    }

    /// Completes if nothing is left to wait for or the bound ran out, else
    /// sets the timer to the next moment that can change that.
    fn settle(&mut self, now: Millis, out: &mut Vec<RecoveryAction>) {
        let bound = self.started.after(self.cfg.upper_bound);
        let pending_until = self.started.after(self.cfg.pending_wait);
        let waiting = self.peers.values().any(|w| matches!(w, PeerWait::Waiting(_)));
        let pending = now < pending_until && self.peers.values().any(|w| *w == PeerWait::Pending);
        let done = if now >= bound {
            Some(Completion::UpperBound)
        } else if !waiting && !pending {
            Some(Completion::Converged)
        } else {
            None
        };
        match done {
            Some(c) => {
                self.completion = Some(c);
                out.push(RecoveryAction::StopTimer);
                out.push(RecoveryAction::Complete(c));
            }
            None => {
                let next = if pending { pending_until.min(bound) } else { bound };
                out.push(RecoveryAction::StartTimer(next.since(now)));
            }
        }
    }
}
