//! The transitions of RFC 4271 §8.2.2, one function per state (Connect and
//! Active share one: the RFC gives them the same rules but for the dial).
//!
//! Each function matches every [`Event`] variant with no catch-all arm, so a
//! new event cannot be forgotten. Timer expiries that reach a state where the
//! timer cannot run never get here ([`Fsm::handle`] drops them as stale); they
//! still appear in the arms the RFC puts them in.

use super::action::{Direction, Down, Reason, Timer};
use super::event::{Event, EventKind};
use super::graceful::GrAgreement;
use super::redial::{self, Restart};
use super::state::State;
use super::timers::Millis;
use super::{Fsm, Step};
use crate::wire::iana::{CeaseSubcode, FsmSubcode};
use crate::wire::{DecodeError, Message, NotificationMsg, OpenMsg};

fn secs(s: u16) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(s))
}

/// The Cease a ManualStop sends: "sends the NOTIFICATION with a Cease"
/// (RFC 4271 §8.2.2), Administrative Shutdown (RFC 4486 §4).
pub(crate) fn manual_stop_cease() -> NotificationMsg {
    NotificationMsg::cease(CeaseSubcode::ADMINISTRATIVE_SHUTDOWN, bytes::Bytes::new())
}

/// Hold Timer Expired (RFC 4271 §6.5).
pub(crate) fn hold_timer_expired() -> DecodeError {
    DecodeError::new(NotificationMsg::hold_timer_expired(), "hold timer expired")
}

/// Send Hold Timer Expired (RFC 9687).
pub(crate) fn send_hold_timer_expired() -> DecodeError {
    DecodeError::new(NotificationMsg::send_hold_timer_expired(), "send hold timer expired")
}

/// "Closing the BGP connection (that results from the collision resolution
/// procedure) is accomplished by sending the NOTIFICATION message with the
/// Error Code Cease." (RFC 4271 §6.8), subcode 7 (RFC 4486 §4).
pub(crate) fn collision_cease() -> DecodeError {
    DecodeError::new(
        NotificationMsg::cease(CeaseSubcode::CONNECTION_COLLISION_RESOLUTION, bytes::Bytes::new()),
        "connection collision resolution",
    )
}

/// FSM Error with the RFC 6608 §3 subcode for `state`.
pub(crate) fn fsm_error(state: State, kind: EventKind) -> DecodeError {
    let subcode = match state {
        State::OpenSent => FsmSubcode::UNEXPECTED_MESSAGE_IN_OPENSENT,
        State::OpenConfirm => FsmSubcode::UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
        State::Established => FsmSubcode::UNEXPECTED_MESSAGE_IN_ESTABLISHED,
        State::Idle | State::Connect | State::Active => FsmSubcode::UNSPECIFIED,
    };
    DecodeError::new(NotificationMsg::fsm(subcode), format!("unexpected {kind} in {state}"))
}

impl Fsm {
    // ===== Idle =====

    pub(super) fn on_idle(&mut self, step: &mut Step, event: Event, _now: Millis) {
        let kind = event.kind();
        match event {
            Event::ManualStart => {
                // An operator start forgets past errors (RFC 4271 §8.2.2
                // zeroes ConnectRetryCounter here; the error wait plays its
                // part, so no counter is kept).
                self.error_wait.reset();
                self.start(step, self.cfg.passive, Reason::Event(kind));
            }
            Event::ManualStartWithPassiveTcpEstablishment => {
                self.error_wait.reset();
                self.start(step, true, Reason::Event(kind));
            }
            // An automatic start waits out a running error wait: that is
            // what damping is for (RFC 4271 §8.1.1, DampPeerOscillations).
            Event::AutomaticStart if !self.armed.contains(Timer::IdleHold) => {
                self.start(step, self.cfg.passive, Reason::Event(kind));
            }
            Event::AutomaticStartWithPassiveTcpEstablishment
                if !self.armed.contains(Timer::IdleHold) =>
            {
                self.start(step, true, Reason::Event(kind));
            }
            Event::AutomaticStart | Event::AutomaticStartWithPassiveTcpEstablishment => {}
            Event::IdleHoldTimerExpires => {
                self.start(step, self.passive_start, Reason::Event(kind));
            }
            // "The ManualStop event (Event 2) ... [is] ignored in the Idle
            // state", but a pending automatic restart must not happen either.
            Event::ManualStop => {
                self.running = false;
                self.disarm(step, Timer::IdleHold);
            }
            // "refuses all incoming BGP connections"; a dial that completes
            // after we gave it up is closed the same way.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => step.disconnect = true,
            // "Any other event (Events 9-12, 15-28) received in the Idle state
            // does not cause change in the state of the local system."
            Event::AutomaticStop(_)
            | Event::ConnectRetryTimerExpires
            | Event::HoldTimerExpires
            | Event::KeepaliveTimerExpires
            | Event::DelayOpenTimerExpires
            | Event::TcpConnectionFails
            | Event::BgpOpen(_)
            | Event::BgpHeaderErr(_)
            | Event::BgpOpenMsgErr(_)
            | Event::OpenCollisionDump
            | Event::NotifMsg(_)
            | Event::KeepAliveMsg
            | Event::UpdateMsg
            | Event::UpdateMsgErr(_)
            | Event::RouteRefreshMsg
            | Event::SendHoldTimerExpires => {}
        }
    }

    /// Leaves Idle: listen, and dial after the connect delay unless passive
    /// (at once if the peer is awaited).
    fn start(&mut self, step: &mut Step, passive: bool, reason: Reason) {
        self.running = true;
        self.passive_start = passive;
        // A restarting speaker awaits its peers: they hold its routes stale
        // until it is back (RFC 4724 §4.1, §4.2).
        self.awaited |= self.cfg.restarting();
        self.disarm(step, Timer::IdleHold);
        let delay = redial::first_dial(&self.cfg, self.awaited);
        if passive {
            // Passive: listen only, no ConnectRetryTimer (BIRD `passive on`
            // never dials, unlike the RFC's PassiveTcpEstablishment).
            self.enter(step, State::Active, reason);
        } else if delay.is_zero() {
            // "initiates a TCP connection to the other BGP peer ... changes
            // its state to Connect."
            self.arm(step, Timer::ConnectRetry, self.cfg.connect_retry);
            step.connect = true;
            self.enter(step, State::Connect, reason);
        } else {
            // BIRD's connect delay: wait in Active (accepting the peer's
            // connection) and dial when the ConnectRetryTimer fires.
            self.arm(step, Timer::ConnectRetry, delay);
            self.enter(step, State::Active, reason);
        }
    }

    // ===== Connect and Active =====

    pub(super) fn on_connect_or_active(&mut self, step: &mut Step, event: Event, now: Millis) {
        let kind = event.kind();
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartWithPassiveTcpEstablishment
            | Event::AutomaticStartWithPassiveTcpEstablishment => {}
            // No OPEN has gone out, so nothing can be stuck behind it; the
            // session feeds this event only once one has.
            Event::SendHoldTimerExpires => {}
            // No NOTIFICATION: our OPEN has not gone out (the RFC's
            // SendNOTIFICATIONwithoutOPEN is off).
            Event::ManualStop => self.stop(step, manual_stop_cease(), false),
            Event::AutomaticStop(n) => self.go_idle(step, None, Reason::Stop(n), now),
            Event::ConnectRetryTimerExpires => {
                if self.state == State::Connect {
                    // "drops the TCP connection, restarts the ConnectRetryTimer
                    // ... initiates a TCP connection", staying in Connect.
                    step.disconnect = true;
                }
                self.arm(step, Timer::ConnectRetry, self.cfg.connect_retry);
                step.connect = true;
                self.enter(step, State::Connect, Reason::Event(kind));
            }
            Event::DelayOpenTimerExpires => self.send_open(step, kind),
            Event::TcpCrAcked if self.conn.is_none() => {
                self.tcp_up(step, Direction::Outbound, kind);
            }
            Event::TcpConnectionConfirmed if self.conn.is_none() => {
                self.tcp_up(step, Direction::Inbound, kind);
            }
            // A second connection while DelayOpen holds the first.
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {}
            Event::TcpConnectionFails if self.conn.is_some() || self.state == State::Connect => {
                self.retry_later(step, kind);
            }
            // The failure of a dial already given up.
            Event::TcpConnectionFails => {}
            Event::BgpOpen(open) if self.armed.contains(Timer::DelayOpen) => {
                self.open_received(step, &open, now);
            }
            Event::BgpHeaderErr(e) | Event::BgpOpenMsgErr(e) | Event::UpdateMsgErr(e) => {
                self.go_idle(step, None, Reason::Error(e), now);
            }
            Event::NotifMsg(n) => self.go_idle(step, None, Reason::Notification(n), now),
            // "In response to any other event (Events 8, 10-11, 13, 19, 23,
            // 25-28), the local system: ... changes its state to Idle."
            Event::BgpOpen(_)
            | Event::HoldTimerExpires
            | Event::KeepaliveTimerExpires
            | Event::IdleHoldTimerExpires
            | Event::OpenCollisionDump
            | Event::KeepAliveMsg
            | Event::UpdateMsg
            | Event::RouteRefreshMsg => self.go_idle(step, None, Reason::Event(kind), now),
        }
    }

    /// TCP is up in Connect or Active: send OPEN, or wait for the peer's
    /// first if DelayOpen is configured.
    fn tcp_up(&mut self, step: &mut Step, dir: Direction, kind: EventKind) {
        self.conn = Some(dir);
        // A capability change (the R bit after recovery) takes effect here,
        // before this connection's OPEN.
        self.local_open = self.cfg.local_open();
        self.disarm(step, Timer::ConnectRetry);
        match self.cfg.delay_open {
            // "sets the DelayOpenTimer to the initial value (DelayOpenTime)"
            Some(d) => self.arm(step, Timer::DelayOpen, d),
            None => self.send_open(step, kind),
        }
    }

    /// Sends our OPEN and enters OpenSent: "sets the HoldTimer to a large
    /// value ... A HoldTimer value of 4 minutes is suggested." (RFC 4271 §8.2.2)
    fn send_open(&mut self, step: &mut Step, kind: EventKind) {
        self.disarm(step, Timer::DelayOpen);
        step.sends.push(Message::Open(self.local_open.clone()));
        self.arm(step, Timer::Hold, self.cfg.open_hold_time);
        self.enter(step, State::OpenSent, Reason::Event(kind));
    }

    /// The connection failed before the OPEN exchange completed: keep
    /// listening and dial again after the connect retry time (RFC 4271 for
    /// OpenSent; BIRD's behaviour for Connect, see the module doc), or the
    /// shorter wait of an awaited peer.
    fn retry_later(&mut self, step: &mut Step, kind: EventKind) {
        if self.conn.is_some() {
            step.disconnect = true;
        }
        self.conn = None;
        for t in [Timer::Hold, Timer::DelayOpen] {
            self.disarm(step, t);
        }
        if !self.passive_start {
            let wait = redial::retry_after_failed_dial(&self.cfg, self.awaited);
            self.arm(step, Timer::ConnectRetry, wait);
        }
        self.enter(step, State::Active, Reason::Event(kind));
    }

    // ===== OpenSent =====

    pub(super) fn on_open_sent(&mut self, step: &mut Step, event: Event, now: Millis) {
        let kind = event.kind();
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartWithPassiveTcpEstablishment
            | Event::AutomaticStartWithPassiveTcpEstablishment => {}
            Event::ManualStop => self.stop(step, manual_stop_cease(), true),
            Event::AutomaticStop(n) => self.go_idle(step, Some(n.clone()), Reason::Stop(n), now),
            Event::HoldTimerExpires => self.fail(step, hold_timer_expired(), now),
            // RFC 9687: NOTIFICATION Send Hold Timer Expired (which a peer
            // that reads nothing may never see), then closed as any error.
            Event::SendHoldTimerExpires => self.fail(step, send_hold_timer_expired(), now),
            // "a second TCP connection may be in progress. This second TCP
            // connection is tracked per Connection Collision processing"
            Event::TcpCrAcked | Event::TcpConnectionConfirmed => {}
            // "closes the BGP connection, restarts the ConnectRetryTimer,
            // continues to listen for a connection that may be initiated by
            // the remote BGP peer, and changes its state to Active."
            Event::TcpConnectionFails => self.retry_later(step, kind),
            Event::BgpOpen(open) => self.open_received(step, &open, now),
            Event::BgpHeaderErr(e) | Event::BgpOpenMsgErr(e) => self.fail(step, e, now),
            Event::OpenCollisionDump => self.fail(step, collision_cease(), now),
            Event::NotifMsg(n) => self.go_idle(step, None, Reason::Notification(n), now),
            // "sends the NOTIFICATION with the Error Code Finite State Machine
            // Error" (RFC 4271 §8.2.2; subcode per RFC 6608 §3).
            Event::ConnectRetryTimerExpires
            | Event::KeepaliveTimerExpires
            | Event::DelayOpenTimerExpires
            | Event::IdleHoldTimerExpires
            | Event::KeepAliveMsg
            | Event::UpdateMsg
            | Event::UpdateMsgErr(_)
            | Event::RouteRefreshMsg => self.fail(step, fsm_error(self.state, kind), now),
        }
    }

    /// A received OPEN, in OpenSent (event 19) or with the DelayOpenTimer
    /// running in Connect or Active (event 20).
    fn open_received(&mut self, step: &mut Step, open: &OpenMsg, now: Millis) {
        let negotiated = match self.cfg.check_open(&self.local_open, open) {
            Ok(n) => n,
            // Before our OPEN went out (event 20) the error is not sent.
            Err(e) if self.state != State::OpenSent => {
                return self.go_idle(step, None, Reason::Error(e), now);
            }
            Err(e) => return self.fail(step, e, now),
        };
        if self.armed.contains(Timer::DelayOpen) {
            // "stops the DelayOpenTimer ..., sends an OPEN message, sends a
            // KEEPALIVE message" (event 20)
            self.disarm(step, Timer::DelayOpen);
            step.sends.push(Message::Open(self.local_open.clone()));
        }
        step.sends.push(Message::Keepalive);
        // "If the negotiated hold time value is zero, then the HoldTimer and
        // KeepaliveTimer are not started."
        if negotiated.hold_time == 0 {
            self.disarm(step, Timer::Hold);
        } else {
            self.arm(step, Timer::Hold, secs(negotiated.hold_time));
            self.arm(step, Timer::Keepalive, secs(negotiated.keepalive));
        }
        self.negotiated = Some(negotiated);
        self.enter(step, State::OpenConfirm, Reason::Event(EventKind::BgpOpen));
    }

    // ===== OpenConfirm =====

    pub(super) fn on_open_confirm(&mut self, step: &mut Step, event: Event, now: Millis) {
        let kind = event.kind();
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartWithPassiveTcpEstablishment
            | Event::AutomaticStartWithPassiveTcpEstablishment
            | Event::TcpCrAcked
            | Event::TcpConnectionConfirmed => {}
            Event::ManualStop => self.stop(step, manual_stop_cease(), true),
            Event::AutomaticStop(n) => self.go_idle(step, Some(n.clone()), Reason::Stop(n), now),
            Event::HoldTimerExpires => self.fail(step, hold_timer_expired(), now),
            // RFC 9687: NOTIFICATION Send Hold Timer Expired (which a peer
            // that reads nothing may never see), then closed as any error.
            Event::SendHoldTimerExpires => self.fail(step, send_hold_timer_expired(), now),
            Event::KeepaliveTimerExpires => self.send_keepalive(step),
            Event::TcpConnectionFails => self.go_idle(step, None, Reason::Event(kind), now),
            Event::NotifMsg(n) => self.go_idle(step, None, Reason::Notification(n), now),
            Event::BgpHeaderErr(e) | Event::BgpOpenMsgErr(e) => self.fail(step, e, now),
            Event::OpenCollisionDump => self.fail(step, collision_cease(), now),
            Event::KeepAliveMsg => {
                // "restarts the HoldTimer and changes its state to Established"
                if let Some(n) = self.negotiated.clone() {
                    if n.hold_time != 0 {
                        self.arm(step, Timer::Hold, secs(n.hold_time));
                    }
                    step.signal = Some(super::Action::Established(Box::new(n)));
                }
                self.established_at = Some(now);
                self.awaited = false;
                self.enter(step, State::Established, Reason::Event(kind));
            }
            // A second OPEN on this connection is unexpected (RFC 6608 §3);
            // an OPEN on another connection is PeerFsm's collision check.
            Event::BgpOpen(_)
            | Event::ConnectRetryTimerExpires
            | Event::DelayOpenTimerExpires
            | Event::IdleHoldTimerExpires
            | Event::UpdateMsg
            | Event::UpdateMsgErr(_)
            | Event::RouteRefreshMsg => self.fail(step, fsm_error(self.state, kind), now),
        }
    }

    // ===== Established =====

    pub(super) fn on_established(&mut self, step: &mut Step, event: Event, now: Millis) {
        let kind = event.kind();
        match event {
            Event::ManualStart
            | Event::AutomaticStart
            | Event::ManualStartWithPassiveTcpEstablishment
            | Event::AutomaticStartWithPassiveTcpEstablishment
            | Event::TcpCrAcked
            | Event::TcpConnectionConfirmed => {}
            Event::ManualStop => self.stop(step, manual_stop_cease(), true),
            Event::AutomaticStop(n) => self.go_idle(step, Some(n.clone()), Reason::Stop(n), now),
            Event::HoldTimerExpires => self.fail(step, hold_timer_expired(), now),
            // RFC 9687: NOTIFICATION Send Hold Timer Expired (which a peer
            // that reads nothing may never see), then closed as any error.
            Event::SendHoldTimerExpires => self.fail(step, send_hold_timer_expired(), now),
            Event::KeepaliveTimerExpires => self.send_keepalive(step),
            Event::TcpConnectionFails => self.go_idle(step, None, Reason::Event(kind), now),
            Event::NotifMsg(n) => self.go_idle(step, None, Reason::Notification(n), now),
            // "If the local system receives a KEEPALIVE message (Event 26),
            // the local system: restarts its HoldTimer, if the negotiated
            // HoldTime value is non-zero" (likewise for UPDATE, Event 27).
            Event::KeepAliveMsg | Event::UpdateMsg | Event::RouteRefreshMsg => {
                if let Some(hold) = self.negotiated.as_ref().map(|n| n.hold_time) {
                    if hold != 0 {
                        self.arm(step, Timer::Hold, secs(hold));
                    }
                }
            }
            Event::UpdateMsgErr(e) | Event::BgpHeaderErr(e) => self.fail(step, e, now),
            Event::OpenCollisionDump => self.fail(step, collision_cease(), now),
            Event::BgpOpen(_)
            | Event::BgpOpenMsgErr(_)
            | Event::ConnectRetryTimerExpires
            | Event::DelayOpenTimerExpires
            | Event::IdleHoldTimerExpires => self.fail(step, fsm_error(self.state, kind), now),
        }
    }

    fn send_keepalive(&mut self, step: &mut Step) {
        step.sends.push(Message::Keepalive);
        if let Some(ka) = self.negotiated.as_ref().map(|n| n.keepalive) {
            self.arm(step, Timer::Keepalive, secs(ka));
        }
    }

    // ===== leaving for Idle =====

    /// An error we found: send its NOTIFICATION, go Idle, restart later.
    fn fail(&mut self, step: &mut Step, e: DecodeError, now: Millis) {
        let n = e.notification.clone();
        self.go_idle(step, Some(n), Reason::Error(e), now);
    }

    /// ManualStop: Idle without restart. `notify` is whether our OPEN went
    /// out (so a Cease may follow).
    fn stop(&mut self, step: &mut Step, cease: NotificationMsg, notify: bool) {
        self.running = false;
        self.awaited = false;
        let send = notify.then(|| cease.clone());
        self.leave(step, send, Reason::Stop(cease));
    }

    /// Any other way to Idle: RFC 4271 "(optionally) performs peer
    /// oscillation damping", which here is the error wait before an
    /// automatic restart (it stands in for the ConnectRetryCounter too),
    /// unless the peer left an Established session: then it starts again at
    /// once ([`redial`]).
    fn go_idle(
        &mut self,
        step: &mut Step,
        notify: Option<NotificationMsg>,
        reason: Reason,
        now: Millis,
    ) {
        let restart = redial::restart_after(self.state == State::Established, &reason);
        self.leave(step, notify, reason.clone());
        if !(self.running && self.restarts) {
            return;
        }
        match restart {
            Restart::Now => {
                self.awaited = true;
                self.start(step, self.passive_start, reason);
            }
            Restart::AfterErrorWait => {
                let cfg = &self.cfg;
                let wait = self.error_wait.bump(
                    now,
                    cfg.error_wait_min,
                    cfg.error_wait_max,
                    cfg.error_forget,
                );
                self.arm(step, Timer::IdleHold, wait);
            }
        }
    }

    /// "releases all BGP resources, drops the TCP connection ... changes its
    /// state to Idle", with every timer stopped.
    pub(super) fn leave(
        &mut self,
        step: &mut Step,
        notify: Option<NotificationMsg>,
        reason: Reason,
    ) {
        let gr = match (&self.negotiated, self.state) {
            (Some(n), State::Established) => GrAgreement::new(&self.local_open, n),
            _ => GrAgreement::default(),
        };
        step.sends.extend(notify.map(|n| Message::Notification(gr.outgoing(n))));
        // In Connect a dial may be in progress even without a connection.
        if self.conn.is_some() || self.state == State::Connect {
            step.disconnect = true;
        }
        for t in Timer::ALL {
            self.disarm(step, t);
        }
        if self.state == State::Established {
            let graceful = gr.is_graceful(&reason);
            step.signal =
                Some(super::Action::SessionDown(Down { reason: reason.clone(), graceful }));
        }
        self.conn = None;
        self.negotiated = None;
        self.established_at = None;
        self.enter(step, State::Idle, reason);
    }
}
