//! The session task: one select loop over timers, owner commands and
//! connection events, feeding [`PeerFsm`] and carrying out its actions.
//!
//! ```text
//!   loop (biased):  due timer  -> Event::*TimerExpires
//!                   command    -> Start / Accepted / Send / Stop / Shutdown
//!                   I/O event  -> Tcp_CR_Acked, TcpConnectionFails, decoded message
//!   each event:     PeerFsm::handle(conn, event, now) -> [PeerAction] applied in order
//! ```
//!
//! Timers are deadlines keyed by (connection, timer): the FSM's Hold,
//! Keepalive and DelayOpen belong to one connection, ConnectRetry and
//! IdleHold to the peer. Timers go first in the loop so a flood of UPDATEs
//! cannot delay a KEEPALIVE.
//!
//! RFC 9687's Send Hold Timer is not an FSM timer but a watch on each
//! connection's writer: the loop wakes at the deadline
//! [`crate::fsm::send_hold`] gives for the writer's stall (or every quarter
//! of the SendHoldTime while it is not stalled, to notice a stall that began
//! between two events) and feeds SendHoldTimer_Expires when the stall has
//! lasted the SendHoldTime.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::conn::{CLOSE_GRACE, Conn, IoEvent};
use super::stats::{SessionStats, ShownTimer};
use super::{Connection, SessionCmd, SessionEvent, SessionReport, SessionSpec, Up};
use crate::fsm::{Action, Direction, Event, Millis, PeerAction, PeerFsm, State, Timer, send_hold};
use crate::wire::iana::MessageType;
use crate::wire::{CodecError, Message, NotificationMsg, ParsedMessage, decode_message};

/// Frames queued from readers before they wait (TCP back-pressure).
const IO_QUEUE: usize = 256;

fn slot(d: Direction) -> usize {
    match d {
        Direction::Outbound => 0,
        Direction::Inbound => 1,
    }
}

pub(super) struct Task {
    spec: SessionSpec,
    fsm: PeerFsm,
    /// The FSM's clock origin.
    t0: Instant,
    conns: [Option<Conn>; 2],
    /// The dial in progress: its id and task.
    dial: Option<(u64, JoinHandle<()>)>,
    timers: Vec<(Option<Direction>, Timer, Instant)>,
    /// A stop with a restart time (max-prefix teardown) starts again here.
    restart_at: Option<Instant>,
    epoch: u64,
    /// The connection the session is Established on.
    up: Option<Direction>,
    next_id: u64,
    io_tx: mpsc::Sender<IoEvent>,
    io_rx: mpsc::Receiver<IoEvent>,
    cmds: mpsc::UnboundedReceiver<SessionCmd>,
    reports: mpsc::UnboundedSender<SessionReport>,
    closing: Vec<JoinHandle<()>>,
    stats: Arc<SessionStats>,
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Task {
    pub(super) fn new(
        spec: SessionSpec,
        cmds: mpsc::UnboundedReceiver<SessionCmd>,
        reports: mpsc::UnboundedSender<SessionReport>,
        stats: Arc<SessionStats>,
    ) -> Task {
        let (io_tx, io_rx) = mpsc::channel(IO_QUEUE);
        Task {
            fsm: PeerFsm::new(spec.fsm.clone()),
            spec,
            t0: Instant::now(),
            conns: [None, None],
            dial: None,
            timers: Vec::new(),
            restart_at: None,
            epoch: 0,
            up: None,
            next_id: 1,
            io_tx,
            io_rx,
            cmds,
            reports,
            closing: Vec::new(),
            stats,
        }
    }

    pub(super) async fn run(mut self) {
        self.feed(None, Event::ManualStart);
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                () = sleep_until_opt(deadline) => self.fire_due(),
                cmd = self.cmds.recv() => match cmd {
                    Some(SessionCmd::Shutdown(n)) => {
                        self.stop(n);
                        break;
                    }
                    // The connections close in `finish`, with no NOTIFICATION.
                    Some(SessionCmd::Close) => break,
                    Some(c) => self.on_cmd(c),
                    // The owner is gone: stop as an administrative shutdown.
                    None => {
                        self.stop(NotificationMsg::admin_shutdown(""));
                        break;
                    }
                },
                Some(ev) = self.io_rx.recv() => self.on_io(ev),
            }
        }
        self.finish().await;
    }

    fn now(&self) -> Millis {
        Millis(u64::try_from(self.t0.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn report(&self, event: SessionEvent) {
        let _ = self.reports.send(SessionReport { id: self.spec.id, peer: self.spec.peer, event });
    }

    fn next_deadline(&self) -> Option<Instant> {
        let watch = self.conns.iter().flatten().filter_map(|c| self.send_hold_check(c));
        self.timers.iter().map(|t| t.2).chain(self.restart_at).chain(watch).min()
    }

    /// The SendHoldTime of connection `c` (`None`: off).
    fn send_hold_time(&self, c: &Conn) -> Option<Duration> {
        send_hold::send_hold_time(self.spec.fsm.send_hold_time, c.hold_time)
    }

    /// When to look at `c`'s writer again.
    fn send_hold_check(&self, c: &Conn) -> Option<Instant> {
        let limit = self.send_hold_time(c)?;
        match send_hold::deadline(Some(limit), c.stall.since()) {
            Some(at) => Some(self.t0 + Duration::from_millis(at.0)),
            None => Some(Instant::now() + limit / 4),
        }
    }

    /// Feeds SendHoldTimer_Expires for each connection whose writer has
    /// stalled for its SendHoldTime.
    fn check_send_hold(&mut self) {
        let now = self.now();
        for dir in [Direction::Outbound, Direction::Inbound] {
            let Some(c) = self.conns[slot(dir)].as_ref() else { continue };
            let limit = self.send_hold_time(c);
            if !send_hold::expired(limit, c.stall.since(), now) {
                continue;
            }
            warn!(
                peer = %self.spec.peer,
                "peer {} ({}): send hold timer expired: nothing could be sent for {}s (RFC 9687)",
                self.spec.peer,
                self.spec.name,
                limit.unwrap_or_default().as_secs()
            );
            let id = c.id;
            self.feed(Some(dir), Event::SendHoldTimerExpires);
            // A connection the FSM did not close for it (no OPEN of ours on
            // it yet) is not looked at again until its writer moves.
            if let Some(c) = self.conns[slot(dir)].as_ref().filter(|c| c.id == id) {
                c.stall.clear();
            }
        }
    }

    fn fire_due(&mut self) {
        let now = Instant::now();
        if self.restart_at.is_some_and(|t| t <= now) {
            self.restart_at = None;
            info!(peer = %self.spec.peer, "peer {} ({}): restarting", self.spec.peer, self.spec.name);
            self.feed(None, Event::ManualStart);
        }
        while let Some(i) = self.timers.iter().position(|t| t.2 <= now) {
            let (conn, timer, _) = self.timers.swap_remove(i);
            self.feed(conn, Event::expired(timer));
        }
        self.check_send_hold();
    }

    fn feed(&mut self, conn: Option<Direction>, event: Event) {
        let now = self.now();
        let actions = self.fsm.handle(conn, event, now);
        for a in actions {
            self.apply(a);
        }
    }

    fn stop(&mut self, notification: NotificationMsg) {
        self.restart_at = None;
        // AutomaticStop sends our Cease; the ManualStop that follows (a no-op
        // in Idle) cancels the automatic restart it would schedule.
        self.feed(None, Event::AutomaticStop(notification));
        self.feed(None, Event::ManualStop);
    }

    fn on_cmd(&mut self, cmd: SessionCmd) {
        match cmd {
            SessionCmd::Start => {
                self.restart_at = None;
                self.feed(None, Event::ManualStart);
            }
            SessionCmd::Accepted(c) => self.accepted(c),
            SessionCmd::Send { epoch, messages } => {
                let Some(conn) = self.up.and_then(|d| self.conns[slot(d)].as_ref()) else { return };
                if epoch != self.epoch {
                    debug!(peer = %self.spec.peer, "dropping UPDATEs of epoch {epoch}");
                    return;
                }
                self.stats.sent.add_n(MessageType::UPDATE, messages.len() as u64);
                for m in messages {
                    conn.send_update(m);
                }
            }
            SessionCmd::Stop { notification, restart_after } => {
                self.stop(notification);
                self.restart_at = restart_after.map(|d| Instant::now() + d);
            }
            SessionCmd::Shutdown(n) => self.stop(n),
            SessionCmd::Close => {}
            SessionCmd::SetGracefulRestart(gr) => self.fsm.set_graceful_restart(gr),
        }
    }

    fn accepted(&mut self, c: Connection) {
        let i = slot(Direction::Inbound);
        if self.conns[i].is_some() {
            // BIRD does the same: one incoming connection at a time; the
            // peer's next attempt succeeds once the old one is gone.
            info!(
                peer = %self.spec.peer,
                "peer {}: refusing a second incoming connection from {}", self.spec.peer, c.remote
            );
            return;
        }
        let id = self.fresh_id();
        self.conns[i] = Some(self.start_conn(id, c));
        self.feed(Some(Direction::Inbound), Event::TcpConnectionConfirmed);
    }

    fn start_conn(&self, id: u64, c: Connection) -> Conn {
        Conn::start(id, c, self.io_tx.clone(), self.t0, self.spec.fsm.hold_time)
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn dir_of(&self, id: u64) -> Option<Direction> {
        [Direction::Outbound, Direction::Inbound]
            .into_iter()
            .find(|d| self.conns[slot(*d)].as_ref().is_some_and(|c| c.id == id))
    }

    fn on_io(&mut self, ev: IoEvent) {
        match ev {
            IoEvent::Dialed { id, result } => {
                if self.dial.as_ref().map(|d| d.0) != Some(id) {
                    return; // given up on: dropping the connection closes it
                }
                self.dial = None;
                self.stats.set_socket_error(result.as_ref().err().map(socket_error));
                match result {
                    Ok(c) if self.conns[slot(Direction::Outbound)].is_none() => {
                        debug!(peer = %self.spec.peer, "connected {} -> {}", c.local, c.remote);
                        self.conns[slot(Direction::Outbound)] = Some(self.start_conn(id, c));
                        self.feed(Some(Direction::Outbound), Event::TcpCrAcked);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        debug!(peer = %self.spec.peer, "dial failed: {e}");
                        self.feed(Some(Direction::Outbound), Event::TcpConnectionFails);
                    }
                }
            }
            IoEvent::Frame { id, frame } => {
                let Some(dir) = self.dir_of(id) else { return };
                self.stats.received.add_frame(&frame);
                let ctx = match &self.conns[slot(dir)] {
                    Some(c) => &c.decode,
                    None => return,
                };
                match decode_message(&frame, ctx) {
                    Ok(ParsedMessage::Update(update)) => {
                        if !update.errors.is_empty() {
                            log_malformed_update(self.spec.peer, &update, &frame);
                        }
                        self.feed(Some(dir), Event::UpdateMsg);
                        if self.delivering(dir) {
                            self.report(SessionEvent::Update { epoch: self.epoch, update });
                        }
                    }
                    Ok(ParsedMessage::RouteRefresh(request)) => {
                        self.feed(Some(dir), Event::RouteRefreshMsg);
                        if self.delivering(dir) {
                            self.report(SessionEvent::RouteRefresh { epoch: self.epoch, request });
                        }
                    }
                    Ok(msg) => self.feed(Some(dir), Event::from_message(msg)),
                    Err(e) => self.feed(Some(dir), Event::from_decode_error(e)),
                }
            }
            IoEvent::Closed { id, error } => {
                let Some(dir) = self.dir_of(id) else { return };
                match error {
                    // The FSM sends the NOTIFICATION the header error asks
                    // for, over the writer that is still up, then disconnects.
                    Some(CodecError::Header(e)) => {
                        self.feed(Some(dir), Event::BgpHeaderErr(e));
                        if let Some(c) = self.conns[slot(dir)].take() {
                            self.closing.push(c.close());
                        }
                    }
                    other => {
                        debug!(peer = %self.spec.peer, "{dir:?} connection closed: {other:?}");
                        if let Some(c) = self.conns[slot(dir)].take() {
                            self.closing.push(c.close());
                        }
                        self.feed(Some(dir), Event::TcpConnectionFails);
                    }
                }
                self.closing.retain(|h| !h.is_finished());
            }
        }
    }

    /// Whether a message on `dir` belongs to the Established session.
    fn delivering(&self, dir: Direction) -> bool {
        self.up == Some(dir) && self.fsm.state() == State::Established
    }

    fn start_dial(&mut self) {
        if let Some((_, h)) = self.dial.take() {
            h.abort();
        }
        let id = self.fresh_id();
        let dialer = self.spec.dialer.clone();
        let events = self.io_tx.clone();
        // A dial may take as long as the ConnectRetryTimer, whose expiry
        // gives it up (RFC 4271 §8.2.2, Connect state).
        let limit = self.spec.fsm.connect_retry;
        let h = tokio::spawn(async move {
            let result = match tokio::time::timeout(limit, dialer.dial()).await {
                Ok(r) => r,
                Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut)),
            };
            let _ = events.send(IoEvent::Dialed { id, result }).await;
        });
        self.dial = Some((id, h));
    }

    fn disconnect(&mut self, dir: Direction) {
        self.timers.retain(|t| t.0 != Some(dir));
        self.show_timers();
        if let Some(c) = self.conns[slot(dir)].take() {
            self.closing.push(c.close());
        } else if dir == Direction::Outbound {
            if let Some((_, h)) = self.dial.take() {
                h.abort();
            }
        }
        if self.up == Some(dir) {
            self.up = None;
        }
    }

    fn apply(&mut self, PeerAction { conn, action }: PeerAction) {
        let peer = self.spec.peer;
        match action {
            Action::Connect => self.start_dial(),
            Action::Disconnect => self.disconnect(conn.unwrap_or(Direction::Outbound)),
            Action::Send(msg) => self.send(conn, &msg),
            Action::StartTimer(t, d) => {
                self.timers.retain(|x| !(x.0 == conn && x.1 == t));
                self.timers.push((conn, t, Instant::now() + d));
                self.show_timers();
            }
            Action::StopTimer(t) => {
                self.timers.retain(|x| !(x.0 == conn && x.1 == t));
                self.show_timers();
            }
            Action::StateChange { from, to, reason } => {
                let dir = conn.map(|d| format!(" [{d:?}]")).unwrap_or_default();
                info!(peer = %peer, "peer {peer} ({}): {from} -> {to}{dir}: {reason}", self.spec.name);
                // A second connection losing a collision to the Established one
                // changes nothing about the session the owner shows.
                let other_than_up = self.up.is_some_and(|up| conn.is_some_and(|c| c != up));
                if !other_than_up {
                    self.report(SessionEvent::StateChange { from, to, reason });
                }
            }
            Action::Established(neg) => {
                let dir = conn.unwrap_or(Direction::Outbound);
                let Some(c) = self.conns[slot(dir)].as_mut() else {
                    warn!(peer = %peer, "Established without a connection");
                    return;
                };
                c.encode = neg.encode_ctx();
                c.decode = neg.decode_ctx();
                c.hold_time = neg.hold_time;
                let (local, remote) = (c.local, c.remote);
                self.epoch += 1;
                self.up = Some(dir);
                info!(
                    peer = %peer,
                    "peer {peer} established ({}, AS {}, id {}, hold {}s, families {:?}, {local} -> {remote})",
                    self.spec.name, neg.peer_asn, neg.peer_bgp_id, neg.hold_time, neg.families
                );
                self.report(SessionEvent::Established(Box::new(Up {
                    epoch: self.epoch,
                    negotiated: *neg,
                    local,
                    remote,
                })));
            }
            Action::SessionDown(reason) => {
                self.up = None;
                info!(peer = %peer, "peer {peer} down ({}): {reason}", self.spec.name);
                self.report(SessionEvent::Down {
                    epoch: self.epoch,
                    reason: reason.to_string(),
                    graceful: reason.graceful,
                });
            }
        }
    }

    /// Publishes the Hold and Keepalive deadlines for `show peer`: those of
    /// the Established connection, else the latest of either connection.
    fn show_timers(&self) {
        for (timer, shown) in
            [(Timer::Hold, ShownTimer::Hold), (Timer::Keepalive, ShownTimer::Keepalive)]
        {
            let deadline = self
                .timers
                .iter()
                .filter(|t| t.1 == timer && (self.up.is_none() || t.0 == self.up))
                .map(|t| t.2)
                .max();
            self.stats.set_timer(shown, deadline);
        }
    }

    fn send(&mut self, conn: Option<Direction>, msg: &Message) {
        let Some(c) = conn.and_then(|d| self.conns[slot(d)].as_ref()) else { return };
        match msg.to_bytes(&c.encode) {
            Ok(b) => {
                self.stats.sent.add(msg.msg_type());
                c.send_ctl(b)
            }
            Err(e) => warn!(peer = %self.spec.peer, "cannot encode {:?}: {e}", msg.msg_type()),
        }
    }

    async fn finish(mut self) {
        for d in [Direction::Outbound, Direction::Inbound] {
            if let Some(c) = self.conns[slot(d)].take() {
                self.closing.push(c.close());
            }
        }
        if let Some((_, h)) = self.dial.take() {
            h.abort();
        }
        let all = futures_join(std::mem::take(&mut self.closing));
        let _ = tokio::time::timeout(CLOSE_GRACE + Duration::from_millis(500), all).await;
        self.report(SessionEvent::Finished);
    }
}

/// BIRD's wording of a dial failure: the OS sentence without the errno
/// suffix (`Connection refused`).
fn socket_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// RFC 7606 §6: "... MUST include logging an error listing the NLRI involved
/// and containing the entire malformed UPDATE message". One line per defect,
/// so each names its attribute, treatment and the prefixes it affected.
fn log_malformed_update(peer: std::net::IpAddr, update: &crate::wire::ParsedUpdate, frame: &[u8]) {
    use std::fmt::Write as _;
    let mut nlri = String::new();
    for (_, n) in update.withdrawals().chain(update.announcements()) {
        let _ = write!(nlri, "{} ", n.prefix);
    }
    let mut hex = String::with_capacity(frame.len() * 2);
    for b in frame {
        let _ = write!(hex, "{b:02x}");
    }
    for e in &update.errors {
        warn!(
            peer = %peer,
            "peer {peer}: malformed UPDATE, {:?} (RFC 7606): {}: {}; NLRI: [{}]; UPDATE: {hex}",
            e.treatment,
            e.attr_type,
            e.reason,
            nlri.trim_end(),
        );
    }
}
