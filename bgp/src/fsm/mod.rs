//! The BGP finite state machine (RFC 4271 §8), pure.
//!
//! A fully deterministic implementation of the session logic: it contains no
//! networking code and reads no clock. [`Fsm::handle`] takes an [`Event`] and
//! the caller's current time and returns the [`Action`]s to perform, in a
//! canonical order (see [`action`]). Timers are actions; their expiries come
//! back as events.
//!
//! ```text
//!              ManualStart / IdleHold expiry
//!   +------+  ------------------------------>  +--------+  connect delay,
//!   | Idle |                                   | Active |  connect retry
//!   +------+  <---- error: IdleHold(error wait)+--------+  -------------+
//!      ^                                        |   ^                  v
//!      |                    TCP up (no DelayOpen)   |  dial failed +---------+
//!      |                                        v   +------------- | Connect |
//!      |  error, stop, NOTIFICATION      +----------+   TCP up     +---------+
//!      +-------------------------------- | OpenSent | <------------------+
//!      |                                 +----------+
//!      |                                   | valid OPEN: send KEEPALIVE
//!      |                                   v
//!      |                          +-------------+ KEEPALIVE +-------------+
//!      +------------------------- | OpenConfirm | --------> | Established |
//!      +------------------------- +-------------+           +-------------+
//! ```
//!
//! Implemented: RFC 4271 §8.2.2 for every state and event, with the optional
//! DelayOpen, passive TCP establishment and IdleHold (damping) attributes of
//! §8.1.1; hold time negotiation (§4.2), the OPEN checks of §6.2, RFC 6286 §2.2
//! and RFC 5492 §3 ([`PeerConfig::check_open`]); FSM error subcodes of RFC
//! 6608 §3; connection collision (§6.8, RFC 6286 §2.3) in [`collision`] and
//! [`PeerFsm`].
//!
//! RFC 9687's Send Hold Timer: event 29 ([`Event::SendHoldTimerExpires`])
//! in OpenSent, OpenConfirm and Established; [`send_hold`] decides when the
//! session feeds it.
//!
//! Graceful restart (RFC 4724 §4.2, RFC 8538): [`Action::SessionDown`]
//! says whether the end was graceful ([`graceful`] has the rules), and with
//! the N bit a Cease that calls for it is sent as Hard Reset.
//!
//! Deliberate differences from the RFC text, each for a reason:
//! - A failed or refused dial returns to Active and redials after the connect
//!   retry time (after the connect delay while the peer is awaited, see
//!   `redial`) instead of going Idle, where the error wait would apply to
//!   a peer that is merely down.
//! - An Established session the peer left (TCP closed, hold timer expired,
//!   Cease received) starts again at once, not after the error wait: the
//!   peer is most likely restarting (`redial` has the rules).
//! - The expiry of a timer the FSM has not armed is stale (it raced with a
//!   stop) and ignored; the RFC would call it an FSM error.
//! - A NOTIFICATION is never answered with a NOTIFICATION (RFC 4271 lists
//!   event 25 among the FSM errors of OpenSent).
//! - A header error in Established gets its Message Header Error (RFC 4271
//!   §6.1), not FSM Error.
//! - A second connection while one is in OpenSent or later is left to
//!   [`PeerFsm`], which tracks it as RFC 4271 §6.8 asks; a bare [`Fsm`]
//!   ignores it.

#![warn(missing_docs)]

pub mod action;
pub mod collision;
pub mod config;
pub mod event;
pub mod graceful;
pub mod peer;
mod redial;
pub mod send_hold;
pub mod state;
pub mod timers;
mod transitions;

use std::time::Duration;

pub use self::action::{Action, Direction, Down, Reason, Timer};
pub use self::collision::{Collision, Speaker, resolve_collision};
pub use self::config::PeerConfig;
pub use self::event::{Event, EventKind};
pub use self::graceful::GrAgreement;
pub use self::peer::{PeerAction, PeerFsm};
pub use self::state::State;
pub use self::timers::Millis;
use self::timers::{ErrorWait, TimerSet};
use crate::wire::capability::GracefulRestart;
use crate::wire::{Capability, Message, Negotiated, OpenMsg};

/// The state machine of one BGP session over at most one connection.
#[derive(Clone, Debug)]
pub struct Fsm {
    cfg: PeerConfig,
    /// Built once: the OPEN we send and negotiate against.
    local_open: OpenMsg,
    state: State,
    /// The connection the session runs over, once TCP is up.
    conn: Option<Direction>,
    armed: TimerSet,
    negotiated: Option<Negotiated>,
    /// Started and not stopped by the operator: errors restart automatically.
    running: bool,
    /// The current start only listens (passive config, or events 4/5).
    passive_start: bool,
    /// Whether an error schedules a restart; off for the second connection a
    /// [`PeerFsm`] tracks during a collision, which just goes away.
    restarts: bool,
    error_wait: ErrorWait,
    established_at: Option<Millis>,
    /// The peer is expected back (its Established session ended because
    /// it went away, or we are a restarting speaker): dial at once and
    /// retry soon (`redial`).
    awaited: bool,
}

/// The actions of one step, gathered by kind and emitted in the canonical
/// order whatever order the transition code produced them in.
#[derive(Default)]
struct Step {
    sends: Vec<Message>,
    disconnect: bool,
    stops: Vec<Timer>,
    starts: Vec<(Timer, Duration)>,
    connect: bool,
    change: Option<(State, State, Reason)>,
    signal: Option<Action>,
}

impl Step {
    fn into_actions(mut self) -> Vec<Action> {
        let mut out =
            Vec::with_capacity(self.sends.len() + self.stops.len() + self.starts.len() + 4);
        out.extend(self.sends.into_iter().map(Action::Send));
        if self.disconnect {
            out.push(Action::Disconnect);
        }
        self.stops.sort();
        out.extend(self.stops.into_iter().map(Action::StopTimer));
        out.extend(self.starts.into_iter().map(|(t, d)| Action::StartTimer(t, d)));
        if self.connect {
            out.push(Action::Connect);
        }
        if let Some((from, to, reason)) = self.change {
            out.push(Action::StateChange { from, to, reason });
        }
        out.extend(self.signal);
        out
    }
}

impl Fsm {
    /// An FSM in Idle, waiting for a start event.
    pub fn new(cfg: PeerConfig) -> Self {
        Fsm {
            local_open: cfg.local_open(),
            cfg,
            state: State::Idle,
            conn: None,
            armed: TimerSet::default(),
            negotiated: None,
            running: false,
            passive_start: false,
            restarts: true,
            error_wait: ErrorWait::default(),
            established_at: None,
            awaited: false,
        }
    }

    /// An FSM for a second, incoming connection during a collision: passive,
    /// never restarting, already listening.
    pub(crate) fn collider(cfg: PeerConfig) -> Self {
        let mut fsm = Fsm::new(cfg);
        fsm.state = State::Active;
        fsm.running = true;
        fsm.passive_start = true;
        fsm.restarts = false;
        fsm
    }

    /// Handles one event at time `now`, returning what to do.
    pub fn handle(&mut self, event: Event, now: Millis) -> Vec<Action> {
        // A timer we did not arm cannot have expired: the expiry raced with
        // the StopTimer that cancelled it.
        if let Some(t) = event.timer() {
            if !self.armed.contains(t) {
                return Vec::new();
            }
            self.armed.remove(t);
        }
        let mut step = Step::default();
        match self.state {
            State::Idle => self.on_idle(&mut step, event, now),
            State::Connect | State::Active => self.on_connect_or_active(&mut step, event, now),
            State::OpenSent => self.on_open_sent(&mut step, event, now),
            State::OpenConfirm => self.on_open_confirm(&mut step, event, now),
            State::Established => self.on_established(&mut step, event, now),
        }
        step.into_actions()
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The connection the session runs over, once TCP is up.
    pub fn connection(&self) -> Option<Direction> {
        self.conn
    }

    /// What the OPENs agreed, from OpenConfirm on.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The peer's configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.cfg
    }

    /// The OPEN this FSM sends.
    pub fn local_open(&self) -> &OpenMsg {
        &self.local_open
    }

    /// Replaces the Graceful Restart capability we advertise (`None`: stop
    /// advertising it). The restarting speaker sets the R bit only for its
    /// recovery window (RFC 4724 §4.1), so the OPEN changes at run time; the
    /// new one is used from the next connection on, never mid-handshake.
    pub fn set_graceful_restart(&mut self, gr: Option<GracefulRestart>) {
        self.cfg.capabilities.retain(|c| !matches!(c, Capability::GracefulRestart(_)));
        self.cfg.capabilities.extend(gr.map(Capability::GracefulRestart));
        if self.state < State::OpenSent {
            self.local_open = self.cfg.local_open();
        }
    }

    /// Whether `timer` is running.
    pub fn timer_armed(&self, timer: Timer) -> bool {
        self.armed.contains(timer)
    }

    /// The error wait the last error gave (BIRD's `error wait` in
    /// `show protocols all`).
    pub fn error_wait(&self) -> Option<Duration> {
        self.error_wait.current()
    }

    /// Whether the peer is awaited: its session ended because it went
    /// away (or we restarted), so it is dialed at once and retried after the
    /// connect delay until it is back.
    pub fn awaited(&self) -> bool {
        self.awaited
    }

    /// When the session last became Established, while it is.
    pub fn established_at(&self) -> Option<Millis> {
        self.established_at
    }

    /// Takes over the connection of `other` (a collider that won the
    /// collision, or that survived when this FSM lost its own connection),
    /// keeping this FSM's restart state. Peer timers this FSM armed are
    /// stopped: the session is alive again.
    pub(crate) fn take_over(&mut self, other: Fsm) -> Vec<Action> {
        let mut step = Step::default();
        for t in [Timer::ConnectRetry, Timer::IdleHold] {
            self.disarm(&mut step, t);
        }
        let dir = other.conn.unwrap_or(Direction::Inbound);
        self.conn = other.conn;
        self.armed = other.armed;
        self.negotiated = other.negotiated;
        self.established_at = other.established_at;
        self.awaited &= other.state != State::Established;
        self.running = true;
        // Logged even when the state is the same: the connection changed.
        step.change = Some((self.state, other.state, Reason::TakeOver(dir)));
        self.state = other.state;
        step.into_actions()
    }

    // ===== helpers shared by the transitions =====

    fn arm(&mut self, step: &mut Step, t: Timer, d: Duration) {
        self.armed.insert(t);
        step.stops.retain(|s| *s != t);
        step.starts.retain(|(s, _)| *s != t);
        step.starts.push((t, d));
    }

    fn disarm(&mut self, step: &mut Step, t: Timer) {
        if self.armed.contains(t) {
            self.armed.remove(t);
            step.starts.retain(|(s, _)| *s != t);
            step.stops.push(t);
        }
    }

    fn enter(&mut self, step: &mut Step, to: State, reason: Reason) {
        if to != self.state {
            let from = step.change.take().map_or(self.state, |(from, _, _)| from);
            step.change = Some((from, to, reason));
            self.state = to;
        }
    }
}
