//! One peer with up to two connections: the session's [`Fsm`] and, while a
//! connection collision is being resolved (RFC 4271 §6.8), a second FSM for
//! the other connection.
//!
//! ```text
//!   PeerFsm
//!   +-- main:  Fsm   the session: restarts, error wait, the RIB's view
//!   +-- other: Fsm   second connection, passive, never restarts; lives until
//!                    an OPEN decides the collision, then is closed or
//!                    taken over by main
//! ```
//!
//! "a BGP implementation may have ... one FSM for each incoming TCP connection
//! for which the peer has not yet been identified" (RFC 4271 §8). Connections
//! are named by [`Direction`]: there is at most one per direction, so
//! every connection event and every per-connection action carries one.

use super::action::{Action, Direction, Reason};
use super::collision::{Collision, Speaker, resolve_collision};
use super::config::PeerConfig;
use super::event::Event;
use super::state::State;
use super::timers::Millis;
use super::transitions::collision_cease;
use super::{Fsm, Step};

/// An [`Action`] and the connection it applies to: `None` for the peer's own
/// timers (ConnectRetry, IdleHold) and for signals of a connectionless state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAction {
    /// The connection concerned.
    pub conn: Option<Direction>,
    /// What to do.
    pub action: Action,
}

/// The FSMs of one peer, resolving connection collisions.
#[derive(Clone, Debug)]
pub struct PeerFsm {
    main: Fsm,
    other: Option<Fsm>,
}

/// Which FSM an event goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Main,
    Other,
    NewOther,
    Nobody,
}

impl PeerFsm {
    /// A peer in Idle.
    pub fn new(cfg: PeerConfig) -> Self {
        PeerFsm { main: Fsm::new(cfg), other: None }
    }

    /// The session's FSM.
    pub fn main(&self) -> &Fsm {
        &self.main
    }

    /// The second connection's FSM, during a collision.
    pub fn other(&self) -> Option<&Fsm> {
        self.other.as_ref()
    }

    /// Replaces the Graceful Restart capability we advertise, for the
    /// session's next connections ([`Fsm::set_graceful_restart`]).
    pub fn set_graceful_restart(&mut self, gr: Option<crate::wire::capability::GracefulRestart>) {
        self.main.set_graceful_restart(gr);
    }

    /// The session's state.
    pub fn state(&self) -> State {
        self.main.state()
    }

    /// Handles `event`, which concerns connection `conn`: the one a message,
    /// a failure or a Hold/Keepalive/DelayOpen expiry belongs to (`None`
    /// means the session's). Tcp_CR_Acked is always outbound and
    /// TcpConnectionConfirmed inbound; starts, stops and the peer's own
    /// timers (ConnectRetry, IdleHold) concern no connection.
    pub fn handle(
        &mut self,
        conn: Option<Direction>,
        event: Event,
        now: Millis,
    ) -> Vec<PeerAction> {
        let mut out = Vec::new();
        // The TCP events name their direction themselves, and the peer's
        // own events concern no connection, whatever the caller says.
        let conn = match &event {
            Event::TcpCrAcked => Some(Direction::Outbound),
            Event::TcpConnectionConfirmed => Some(Direction::Inbound),
            Event::ManualStart
            | Event::ManualStop
            | Event::AutomaticStart
            | Event::ManualStartWithPassiveTcpEstablishment
            | Event::AutomaticStartWithPassiveTcpEstablishment
            | Event::AutomaticStop(_)
            | Event::ConnectRetryTimerExpires
            | Event::IdleHoldTimerExpires => None,
            _ => conn,
        };
        match conn {
            None => {
                let stops = matches!(event, Event::ManualStop | Event::AutomaticStop(_));
                if stops {
                    if let Some(mut other) = self.other.take() {
                        run(&mut other, event.clone(), None, now, &mut out);
                    }
                }
                run(&mut self.main, event, None, now, &mut out);
            }
            Some(dir) => match self.route(dir, &event) {
                Target::Main => self.deliver(true, dir, event, now, &mut out),
                Target::Other => self.deliver(false, dir, event, now, &mut out),
                Target::NewOther => {
                    self.other = Some(Fsm::collider(self.main.cfg.clone()));
                    self.deliver(false, dir, event, now, &mut out);
                }
                Target::Nobody => {}
            },
        }
        self.settle(&mut out);
        out
    }

    fn route(&self, dir: Direction, event: &Event) -> Target {
        let other_conn = self.other.as_ref().and_then(Fsm::connection);
        if self.main.connection() == Some(dir) {
            return Target::Main;
        }
        if other_conn == Some(dir) {
            return Target::Other;
        }
        match event {
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {
                if self.main.connection().is_none() {
                    Target::Main
                } else if self.other.is_none() {
                    Target::NewOther
                } else {
                    Target::Nobody
                }
            }
            // The dial main is waiting for in Connect failed.
            Event::TcpConnectionFails
                if dir == Direction::Outbound
                    && self.main.state() == State::Connect
                    && self.main.connection().is_none() =>
            {
                Target::Main
            }
            // Anything else names a connection we no longer have.
            _ => Target::Nobody,
        }
    }

    /// Delivers a connection event to main (`to_main`) or the other FSM,
    /// first resolving a collision if it is an OPEN.
    fn deliver(
        &mut self,
        to_main: bool,
        dir: Direction,
        event: Event,
        now: Millis,
        out: &mut Vec<PeerAction>,
    ) {
        let Some(other) = self.other.as_mut() else {
            return run(&mut self.main, event, Some(dir), now, out);
        };
        let (target, rival) =
            if to_main { (&mut self.main, other) } else { (other, &mut self.main) };
        let verdict = match (&event, rival.connection()) {
            (Event::BgpOpen(open), Some(rival_dir)) => {
                let cfg = target.config();
                resolve_collision(
                    Speaker { bgp_id: cfg.router_id, asn: cfg.local_as },
                    Speaker { bgp_id: open.bgp_id, asn: open.asn() },
                    rival_dir,
                    rival.state(),
                    dir,
                )
            }
            _ => Collision::None,
        };
        match verdict {
            Collision::None => run(target, event, Some(dir), now, out),
            Collision::CloseNew => close_for_collision(target, out),
            Collision::CloseExisting => {
                close_for_collision(rival, out);
                run(target, event, Some(dir), now, out);
            }
        }
    }

    /// Restores the invariants after a step: the other FSM lives only with a
    /// connection, and not past OpenSent once main is Established; main
    /// always holds a connection if there is one.
    fn settle(&mut self, out: &mut Vec<PeerAction>) {
        let Some(mut other) = self.other.take() else { return };
        if other.connection().is_none() {
            return;
        }
        if self.main.state() == State::Established && other.state() >= State::OpenConfirm {
            // "a connection collision with an existing BGP connection that is
            // in the Established state causes closing of the newly created
            // connection". One still in OpenSent is closed when its OPEN
            // arrives, by resolve_collision.
            return close_for_collision(&mut other, out);
        }
        if other.state() == State::Established && self.main.connection().is_some() {
            close_for_collision(&mut self.main, out);
        }
        if self.main.connection().is_none() {
            let dir = other.connection();
            let actions = self.main.take_over(other);
            out.extend(tag(actions, dir));
            return;
        }
        self.other = Some(other);
    }
}

/// Runs one event through `fsm`, tagging its actions with the connection.
fn run(
    fsm: &mut Fsm,
    event: Event,
    dir: Option<Direction>,
    now: Millis,
    out: &mut Vec<PeerAction>,
) {
    let before = fsm.connection();
    let actions = fsm.handle(event, now);
    out.extend(tag(actions, before.or(fsm.connection()).or(dir)));
}

/// Closes `fsm`'s connection with Cease / Connection Collision Resolution.
/// Unlike OpenCollisionDump in a bare [`Fsm`], this is not an error of the
/// peer: no error wait, no restart; the session carries on over the other
/// connection.
fn close_for_collision(fsm: &mut Fsm, out: &mut Vec<PeerAction>) {
    let dir = fsm.connection();
    let mut step = Step::default();
    let e = collision_cease();
    fsm.leave(&mut step, Some(e.notification.clone()), Reason::Error(e));
    out.extend(tag(step.into_actions(), dir));
}

fn tag(actions: Vec<Action>, conn: Option<Direction>) -> impl Iterator<Item = PeerAction> {
    actions.into_iter().map(move |action| {
        let conn = match &action {
            Action::Connect => Some(Direction::Outbound),
            Action::StartTimer(t, _) | Action::StopTimer(t) if !t.per_connection() => None,
            // Giving up a dial, in Connect without a connection.
            Action::Disconnect => conn.or(Some(Direction::Outbound)),
            _ => conn,
        };
        PeerAction { conn, action }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::Timer;

    #[test]
    fn peer_timers_are_not_tagged_with_a_connection() {
        let tagged: Vec<PeerAction> = tag(
            vec![
                Action::StartTimer(Timer::IdleHold, std::time::Duration::from_secs(5)),
                Action::StopTimer(Timer::Hold),
                Action::Connect,
            ],
            Some(Direction::Inbound),
        )
        .collect();
        let conns: Vec<_> = tagged.iter().map(|a| a.conn).collect();
        assert_eq!(conns, [None, Some(Direction::Inbound), Some(Direction::Outbound)]);
    }
}
