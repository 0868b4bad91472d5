//! The owner task of `calico-bgpd`: one task holds all state (the running
//! configuration, one session per effective peer, the listeners, the route
//! handler) and is fed only by [`Input`] messages.
//!
//! ```text
//!   signals (HUP, TERM, INT) --+
//!   listener (Refused) --------+--> Input --> owner --SessionCmd--> session tasks
//!   session tasks -- SessionReport ---------> owner --RouteHandler--> Outbound UPDATEs
//! ```
//!
//! Reload (SIGHUP) re-reads and validates the file; a bad one is refused
//! with every error logged by key and the running configuration kept. A
//! good one is applied as [`config::diff`] says: added peers start, removed
//! ones get Cease / Peer De-configured (RFC 4486 §4, subcode 3), changed ones
//! Cease / Other Configuration Change (subcode 6) and start again with the
//! new settings, untouched sessions stay up, changed listen addresses are
//! rebound without touching any session.
//!
//! SIGTERM sends every peer Cease / Administrative Shutdown with the RFC
//! 9003 message "calico-bgpd shutting down", waits for the NOTIFICATIONs to
//! be written, and returns.

mod listener;
pub mod routes;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use self::listener::{Listener, PeerEntry, Registry};
pub use self::routes::{Outbound, RouteHandler, StaticRoutes};
use crate::config::{self, EffectivePeer, LoadError, MaxPrefixAction, ValidatedConfig};
use crate::fsm::State;
use crate::net::{self, PeerSockOpts};
use crate::session::{self, SessionCmd, SessionEvent, SessionHandle, SessionReport, TcpDialer};
use crate::wire::iana::CeaseSubcode;
use crate::wire::{AfiSafi, NotificationMsg};

/// The RFC 9003 shutdown communication sent to every peer on SIGTERM.
pub const SHUTDOWN_MESSAGE: &str = "calico-bgpd shutting down";

/// How long shutdown waits for sessions to flush their NOTIFICATIONs.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything the owner task reacts to. Plain data apart from the decoded
/// UPDATEs inside session reports: no handles, so a run can be logged and
/// replayed.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "session reports dominate and are consumed at once")]
pub enum Input {
    /// A session task's report.
    Session(SessionReport),
    /// The listener refused a connection from an address that is no
    /// configured peer.
    Refused {
        /// The remote address.
        remote: IpAddr,
    },
    /// Re-read the configuration file (SIGHUP).
    Reload,
    /// Stop every session and return (SIGTERM, SIGINT).
    Shutdown,
}

/// One configured peer and its session.
#[derive(Debug)]
struct Slot {
    cfg: EffectivePeer,
    handle: SessionHandle,
    state: State,
    /// The epoch of the Established session, if up.
    up: Option<u64>,
    has_md5: bool,
    prefix_warned: bool,
}

/// The daemon's state, owned by one task.
#[derive(Debug)]
pub struct Owner<R: RouteHandler> {
    path: Option<PathBuf>,
    cfg: ValidatedConfig,
    routes: R,
    peers: BTreeMap<IpAddr, Slot>,
    registry: Registry,
    listeners: Vec<Listener>,
    refused: BTreeMap<IpAddr, u64>,
    next_id: u64,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs_rx: mpsc::UnboundedReceiver<Input>,
    reports_tx: mpsc::UnboundedSender<SessionReport>,
    reports_rx: mpsc::UnboundedReceiver<SessionReport>,
    stopping: Vec<SessionHandle>,
}

/// Runs the daemon for the configuration at `path` (already loaded as
/// `cfg`) until SIGTERM or SIGINT.
pub async fn run<R: RouteHandler>(path: PathBuf, cfg: ValidatedConfig, routes: R) {
    let owner = Owner::new(Some(path), cfg, routes);
    let tx = owner.inputs();
    match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut hup), Ok(mut term), Ok(mut int)) => {
            tokio::spawn(async move {
                loop {
                    let input = tokio::select! {
                        _ = hup.recv() => Input::Reload,
                        _ = term.recv() => Input::Shutdown,
                        _ = int.recv() => Input::Shutdown,
                    };
                    if tx.send(input).is_err() {
                        return;
                    }
                }
            });
        }
        _ => error!("cannot install signal handlers; SIGHUP reload is unavailable"),
    }
    owner.run().await;
}

impl<R: RouteHandler> Owner<R> {
    /// An owner for `cfg`; nothing runs until [`Owner::run`]. `path` is the
    /// file a reload re-reads.
    pub fn new(path: Option<PathBuf>, cfg: ValidatedConfig, routes: R) -> Self {
        let (inputs_tx, inputs_rx) = mpsc::unbounded_channel();
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        Owner {
            path,
            cfg,
            routes,
            peers: BTreeMap::new(),
            registry: Registry::default(),
            listeners: Vec::new(),
            refused: BTreeMap::new(),
            next_id: 0,
            inputs_tx,
            inputs_rx,
            reports_tx,
            reports_rx,
            stopping: Vec::new(),
        }
    }

    /// A sender of inputs (signals, control requests, tests).
    pub fn inputs(&self) -> mpsc::UnboundedSender<Input> {
        self.inputs_tx.clone()
    }

    /// Binds the listeners, starts a session per effective peer and
    /// processes inputs until [`Input::Shutdown`].
    pub async fn run(mut self) {
        self.rebind();
        let peers: Vec<EffectivePeer> = self.cfg.peers().to_vec();
        for p in &peers {
            self.start_peer(p);
        }
        loop {
            let input = tokio::select! {
                Some(r) = self.reports_rx.recv() => Input::Session(r),
                Some(i) = self.inputs_rx.recv() => i,
            };
            match input {
                Input::Session(r) => self.on_report(r),
                Input::Refused { remote } => *self.refused.entry(remote).or_default() += 1,
                Input::Reload => self.reload(),
                Input::Shutdown => break,
            }
        }
        self.shutdown().await;
    }

    fn listen_addrs(&self) -> Vec<SocketAddr> {
        let l = &self.cfg.config().listen;
        l.addresses.iter().map(|a| SocketAddr::new(*a, l.port)).collect()
    }

    /// Binds the configured listen addresses, keeping sockets that stay.
    fn rebind(&mut self) {
        let want = self.listen_addrs();
        self.listeners.retain(|l| {
            let keep = want.contains(&l.addr);
            if !keep {
                info!("no longer listening on {}", l.addr);
            }
            keep
        });
        for addr in want {
            if self.listeners.iter().any(|l| l.addr == addr) {
                continue;
            }
            match Listener::bind(addr, self.registry.clone(), self.inputs_tx.clone()) {
                Ok(l) => {
                    info!("listening on {addr}");
                    for p in self.peers.values().filter(|p| p.has_md5) {
                        if let Some(src) = &p.cfg.password {
                            match net::read_password(src) {
                                Ok(key) => {
                                    if let Err(e) = l.set_md5(p.cfg.address, &key) {
                                        warn!(peer = %p.cfg.address, "MD5 key on {addr}: {e}");
                                    }
                                }
                                Err(e) => warn!(peer = %p.cfg.address, "MD5 key: {e}"),
                            }
                        }
                    }
                    self.listeners.push(l);
                }
                Err(e) => error!("cannot listen on {addr}: {e}"),
            }
        }
    }

    fn start_peer(&mut self, p: &EffectivePeer) {
        let md5_key = match p.password.as_ref().map(net::read_password).transpose() {
            Ok(k) => k,
            Err(e) => {
                error!(peer = %p.address, "peer {} ({}): TCP MD5 password unusable, not starting: {e}",
                    p.address, p.bird_protocol_name());
                return;
            }
        };
        if let Some(key) = &md5_key {
            for l in &self.listeners {
                if let Err(e) = l.set_md5(p.address, key) {
                    warn!(peer = %p.address, "MD5 key on listener {}: {e}", l.addr);
                }
            }
        }
        self.next_id += 1;
        let spec = session::SessionSpec {
            id: self.next_id,
            peer: p.address,
            name: p.bird_protocol_name(),
            fsm: session::peer_config(p, self.cfg.router_id()),
            dialer: std::sync::Arc::new(TcpDialer {
                remote: SocketAddr::new(p.address, p.port),
                source: p.source_address,
                opts: PeerSockOpts { md5_key: md5_key.clone(), ttl: Some(p.ttl) },
            }),
        };
        info!(
            peer = %p.address,
            "peer {} ({}): starting, AS {}{}{}",
            p.address,
            p.bird_protocol_name(),
            p.remote_as,
            if p.passive { ", passive" } else { "" },
            if md5_key.is_some() { ", TCP MD5" } else { "" },
        );
        let handle = session::spawn(spec, self.reports_tx.clone());
        if let Ok(mut r) = self.registry.lock() {
            r.insert(p.address, PeerEntry { tx: handle.sender(), ttl: p.ttl });
        }
        self.peers.insert(
            p.address,
            Slot {
                cfg: p.clone(),
                handle,
                state: State::Idle,
                up: None,
                has_md5: md5_key.is_some(),
                prefix_warned: false,
            },
        );
    }

    fn stop_peer(&mut self, addr: IpAddr, notification: NotificationMsg) {
        let Some(slot) = self.peers.remove(&addr) else { return };
        if let Ok(mut r) = self.registry.lock() {
            r.remove(&addr);
        }
        if slot.has_md5 {
            for l in &self.listeners {
                let _ = l.set_md5(addr, b"");
            }
        }
        info!(peer = %addr, "peer {addr} ({}): stopping: {notification}", slot.cfg.bird_protocol_name());
        slot.handle.send(SessionCmd::Shutdown(notification));
        let out = self.routes.peer_down(addr);
        self.dispatch(out);
        self.stopping.push(slot.handle);
    }

    fn dispatch(&self, out: Vec<Outbound>) {
        for o in out {
            if o.messages.is_empty() {
                continue;
            }
            if let Some(slot) = self.peers.get(&o.peer) {
                if let Some(epoch) = slot.up {
                    slot.handle.send(SessionCmd::Send { epoch, messages: o.messages });
                }
            }
        }
    }

    fn on_report(&mut self, r: SessionReport) {
        let Some(slot) = self.peers.get_mut(&r.peer) else { return };
        if slot.handle.id() != r.id {
            return; // a session replaced by a reload, winding down
        }
        match r.event {
            SessionEvent::StateChange { to, .. } => slot.state = to,
            SessionEvent::Established(up) => {
                slot.up = Some(up.epoch);
                slot.prefix_warned = false;
                let cfg = slot.cfg.clone();
                let out = self.routes.peer_up(&cfg, &up);
                self.dispatch(out);
            }
            SessionEvent::Down { .. } => {
                slot.up = None;
                let out = self.routes.peer_down(r.peer);
                self.dispatch(out);
            }
            SessionEvent::Update { epoch, update } => {
                if slot.up != Some(epoch) {
                    return;
                }
                let eor = update.is_end_of_rib();
                let out = self.routes.update(r.peer, update);
                self.dispatch(out);
                if let Some(family) = eor {
                    info!(
                        peer = %r.peer,
                        "peer {}: End-of-RIB {family:?}, {} prefixes received",
                        r.peer,
                        self.routes.received_prefixes(r.peer)
                    );
                }
                self.check_max_prefix(r.peer);
            }
            SessionEvent::RouteRefresh { epoch, request } => {
                if slot.up != Some(epoch) {
                    return;
                }
                let out = self.routes.route_refresh(r.peer, request);
                self.dispatch(out);
            }
            SessionEvent::Finished => {}
        }
    }

    /// The max-prefix limit: warn once, or tear down with Cease / Maximum
    /// Number of Prefixes Reached, whose data is "AFI (2 octets), SAFI
    /// (1 octet), and the prefix upper bound (4 octets)" (RFC 4486 §4).
    fn check_max_prefix(&mut self, peer: IpAddr) {
        let count = self.routes.received_prefixes(peer);
        let Some(slot) = self.peers.get_mut(&peer) else { return };
        let Some(mp) = &slot.cfg.max_prefix else { return };
        if count <= mp.limit as usize {
            return;
        }
        let name = slot.cfg.bird_protocol_name();
        match mp.action {
            MaxPrefixAction::Warn => {
                if !slot.prefix_warned {
                    warn!(peer = %peer, "peer {peer} ({name}): {count} prefixes, over the limit of {}", mp.limit);
                    slot.prefix_warned = true;
                }
            }
            MaxPrefixAction::Teardown => {
                let family = match slot.cfg.families.first() {
                    Some(config::Family::Ipv6Unicast) => AfiSafi::IPV6_UNICAST,
                    _ => AfiSafi::IPV4_UNICAST,
                };
                let restart = mp.restart_after.map(|s| Duration::from_secs(u64::from(s)));
                warn!(
                    peer = %peer,
                    "peer {peer} ({name}): {count} prefixes, over the limit of {}: tearing down{}",
                    mp.limit,
                    restart.map(|d| format!(", restarting in {}s", d.as_secs())).unwrap_or_default()
                );
                slot.up = None;
                slot.handle.send(SessionCmd::Stop {
                    notification: NotificationMsg::max_prefixes(family, mp.limit),
                    restart_after: restart,
                });
            }
        }
    }

    fn reload(&mut self) {
        let Some(path) = self.path.clone() else { return };
        info!("reloading {}", path.display());
        let new = match config::load(&path) {
            Ok(v) => v,
            Err(LoadError::Invalid { errors, .. }) => {
                for e in errors.errors() {
                    error!("reload refused, keeping the running configuration: {e}");
                }
                return;
            }
            Err(e) => {
                error!("reload refused, keeping the running configuration: {e}");
                return;
            }
        };
        let file_errors = config::check_files(&new);
        if !file_errors.is_empty() {
            for e in &file_errors {
                error!("reload refused, keeping the running configuration: {e}");
            }
            return;
        }
        for w in new.warnings() {
            warn!("{}: {w}", path.display());
        }
        let d = config::diff(&self.cfg, &new);
        info!(
            "reload: {} added, {} removed, {} changed, {} unchanged{}",
            d.added.len(),
            d.removed.len(),
            d.changed.len(),
            d.unchanged.len(),
            if d.listen_changed { ", listen addresses changed" } else { "" }
        );
        for p in &d.removed {
            self.stop_peer(
                p.address,
                NotificationMsg::cease(CeaseSubcode::PEER_DECONFIGURED, bytes::Bytes::new()),
            );
        }
        for c in &d.changed {
            self.stop_peer(
                c.old.address,
                NotificationMsg::cease(
                    CeaseSubcode::OTHER_CONFIGURATION_CHANGE,
                    bytes::Bytes::new(),
                ),
            );
        }
        self.cfg = new;
        for c in &d.changed {
            self.start_peer(&c.new);
        }
        for p in &d.added {
            self.start_peer(p);
        }
        if d.listen_changed {
            self.rebind();
        }
        if d.routing_changed {
            let out = self.routes.reconfigure(&self.cfg);
            self.dispatch(out);
        }
        self.stopping.retain(|h| !h.is_finished());
    }

    async fn shutdown(mut self) {
        info!("shutting down: Cease to {} peer(s)", self.peers.len());
        let n = NotificationMsg::admin_shutdown(SHUTDOWN_MESSAGE);
        let mut handles = std::mem::take(&mut self.stopping);
        for (_, slot) in std::mem::take(&mut self.peers) {
            slot.handle.send(SessionCmd::Shutdown(n.clone()));
            handles.push(slot.handle);
        }
        let all = async {
            for h in handles {
                h.join().await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            warn!("some sessions did not finish within {SHUTDOWN_GRACE:?}");
        }
        self.listeners.clear();
        info!("stopped");
    }
}
