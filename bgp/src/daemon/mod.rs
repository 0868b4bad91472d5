//! The owner task of `calico-bgpd`: one task holds all state (the running
//! configuration, one session per effective peer, the listeners, the route
//! processing) and is fed only by [`Input`] messages.
//!
//! ```text
//!   signals (HUP, TERM, INT) --+
//!   listener (Refused) --------+--> Input --> owner --SessionCmd--> session tasks
//!   session tasks -- SessionReport ---------> owner --RibRoutes----> Outbound UPDATEs
//! ```
//!
//! Outbound UPDATEs are handed to a session only while its backlog is under
//! its limit: a peer that does not keep up is skipped, and sent the table
//! again once it has drained (`backlog`), so it never holds up the owner
//! or any other peer.
//!
//! Reload (SIGHUP) re-reads and validates the file; a bad one is refused
//! with every error logged by key and the running configuration kept. A
//! good one is applied as [`config::diff`] says: added peers start, removed
//! ones get Cease / Peer De-configured (RFC 4486 §4, subcode 3), changed ones
//! Cease / Other Configuration Change (subcode 6) and start again with the
//! new settings, untouched sessions stay up, changed listen addresses are
//! rebound without touching any session.
//!
//! SIGTERM is a planned restart (an upgrade, a pod restart): the kernel
//! routes stay, and peers that negotiated graceful restart are asked to
//! keep ours. To a peer that set the N bit (RFC 8538) it sends Cease /
//! Administrative Reset with the RFC 9003 message "calico-bgpd
//! restarting", which §4 makes a graceful restart ("other than Cease/Hard
//! Reset"); to a peer with graceful restart but no N bit it sends nothing
//! and closes the connection, since any NOTIFICATION would end the peer's
//! retention (RFC 4724 §4.2 is about "termination of the TCP session");
//! to the others Cease / Administrative Shutdown with "calico-bgpd
//! shutting down", as before. It waits for the NOTIFICATIONs to be written
//! and returns. Removing a peer (reload) is not a restart: it gets Cease /
//! Peer De-configured, which the FSM sends as Hard Reset with the N bit.
//!
//! Graceful restart otherwise lives in route processing
//! ([`rib_routes`]): it keeps a restarting peer's routes stale, runs the
//! timers (the owner sleeps until [`RibRoutes::next_timer`]) and our own
//! recovery after a start; the owner only sets the R bit in the OPENs of
//! every session while [`RibRoutes::recovering`] and clears it after.
//!
//! The operator surface ([`control`]): the owner publishes a
//! [`DaemonSnapshot`] that the control socket and the metrics endpoint read
//! without waiting on it; `calico-bgpctl reload` and `advertise` arrive as
//! [`Input::Control`]. systemd hears READY=1 once the listeners are bound,
//! RELOADING=1 / READY=1 around each reload, STOPPING=1 on SIGTERM, and
//! WATCHDOG=1 from this loop at half the watchdog interval, so a stuck
//! loop gets the daemon restarted.
//!
//! The owner runs on the thread that drives the runtime (`block_on` in
//! `main`), not on one of its workers: the files it reads (the
//! configuration on reload, TCP MD5 password files, a datastore resources
//! file) and its wait for the FIB thread's sockets at start-up hold the
//! owner alone, which needs their result before it goes on, and never the
//! session, listener and control tasks on the workers. The `--record`
//! writes, which would hold the owner on every input, have a thread of
//! their own ([`record`]).

mod backlog;
pub mod bird_compat;
pub mod control;
mod datastore;
mod datastore_file;
pub mod fib_port;
mod identify;
mod listener;
mod log_level;
pub mod record;
mod refused;
pub mod rib_routes;
pub mod routes;
mod startup;
mod static_routes;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ctl::proto::{
    AdvertiseAction, AdvertiseRequest, AdvertiseResult, CtlError, ErrorKind, ReconfigResult,
    ReconfigSnapshot, ReloadResult,
};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{error, info, warn};

pub use self::control::{Control, CtlHandler, DaemonSnapshot, LagMeter, Reply};
pub use self::datastore::{DatastoreSnapshot, Follow, file_config};
pub use self::fib_port::KernelFib;
use self::listener::{Listener, PeerEntry, Registry};
pub use self::log_level::{LogLevelHook, set_log_level_hook};
pub use self::record::Recorder;
pub use self::rib_routes::{FibPort, NoFib, RibRoutes};
pub use self::routes::{KernelRouteChange, LearnedKernelRoute, Outbound};
use self::startup::Channels;
pub use self::startup::Start;
use crate::config::{self, EffectivePeer, LoadError, MaxPrefixAction, PeerKey, ValidatedConfig};
use crate::fsm::State;
use crate::net::{self, PeerSockOpts};
use crate::session::{self, SessionCmd, SessionEvent, SessionHandle, SessionReport, TcpDialer};
use crate::wire::iana::CeaseSubcode;
use crate::wire::{AfiSafi, NotificationMsg};

/// The RFC 9003 shutdown communication sent on SIGTERM to peers that
/// cannot keep our routes across the restart.
pub const SHUTDOWN_MESSAGE: &str = "calico-bgpd shutting down";

/// The RFC 9003 communication sent on SIGTERM, with Cease / Administrative
/// Reset, to peers that negotiated the N bit (RFC 8538): they keep our
/// routes.
pub const RESTART_MESSAGE: &str = "calico-bgpd restarting";

/// Least ratio of the time between two full walks of the routes for `show
/// routes` to the time a walk takes: a full table walked on every request
/// would keep the owner from routing.
const ROUTES_DUTY: u32 = 10;

/// The longest a full walk is reused (small tables are walked afresh).
const ROUTES_REUSE_MAX: Duration = Duration::from_secs(10);

/// How long shutdown waits for sessions to flush their NOTIFICATIONs.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything the owner task reacts to. Plain data (the one handle, a
/// control request's reply channel, is not serialised), so a run can be
/// recorded as JSON and replayed.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
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
    /// A new snapshot of the followed datastore: derive and apply.
    Datastore(DatastoreSnapshot),
    /// A `calico-bgpctl` request that changes state; the one input that
    /// carries a handle (its reply channel).
    Control(Control),
    /// The kernel side reports whether a next hop the RIB tracks is
    /// reachable, at what IGP cost (`None`: unreachable) and by which
    /// interface.
    NextHop {
        /// The next hop.
        addr: IpAddr,
        /// Its IGP cost, or `None` when the kernel cannot reach it.
        cost: Option<u32>,
        /// The device it is reached by, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iface: Option<String>,
    },
    /// Routes other agents put in the kernel table changed (BIRD's `learn`).
    KernelRoutes(Vec<KernelRouteChange>),
    /// Stop every session and return (SIGTERM, SIGINT).
    Shutdown,
}

/// One configured peer and its session.
#[derive(Debug)]
struct ConfiguredPeer {
    cfg: EffectivePeer,
    handle: SessionHandle,
    state: State,
    /// The epoch of the Established session, if there is one.
    established_epoch: Option<u64>,
    has_md5: bool,
    /// The warning of a `warn` max-prefix limit was logged, per family
    /// (IPv4, IPv6 unicast), this session.
    prefix_warned: [bool; 2],
    /// Unix time of the last state change.
    since: u64,
    /// Unix time the session last reached or left Established.
    proto_since: u64,
    /// What the current Established session agreed, and since when.
    session: Option<(Box<session::Up>, u64)>,
    /// Why the session is not up, as BIRD would say it.
    last_error: Option<ctl::proto::LastError>,
    /// Times the session left Established.
    flaps: u64,
    /// UPDATEs for it were dropped at its backlog limit: the table goes
    /// again once it drains (`backlog.rs`).
    behind: bool,
}

/// The daemon's state, owned by one task.
#[derive(Debug)]
pub struct Owner {
    path: Option<PathBuf>,
    cfg: ValidatedConfig,
    routes: RibRoutes,
    peers: BTreeMap<PeerKey, ConfiguredPeer>,
    registry: Registry,
    listeners: Vec<Listener>,
    /// Refused sources: connection count and the Unix time of the last one.
    refused: refused::RefusedSources,
    next_id: u64,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs_rx: mpsc::UnboundedReceiver<Input>,
    queries_tx: mpsc::UnboundedSender<control::Query>,
    queries_rx: mpsc::UnboundedReceiver<control::Query>,
    reports_tx: mpsc::UnboundedSender<SessionReport>,
    reports_rx: mpsc::UnboundedReceiver<SessionReport>,
    stopping: Vec<SessionHandle>,
    /// Unix time the owner was made.
    started_at: u64,
    snapshots: watch::Sender<Arc<DaemonSnapshot>>,
    /// Something shown in the snapshot changed since the last publication.
    dirty: bool,
    last_publish: Option<Instant>,
    /// The last full walk of the routes for `show routes`: when it was
    /// made, what it cost, and the result, reused by queries that come
    /// before [`ROUTES_DUTY`] times that cost has passed, so clients asking
    /// again and again cannot keep the owner walking.
    routes_walk: Option<(Instant, Duration, Arc<Vec<ctl::proto::RouteSnapshot>>)>,
    lag: LagMeter,
    last_reconfig: Option<ReconfigSnapshot>,
    shutting_down: bool,
    /// Our OPENs carry the R bit: recovering from a restart.
    r_bit: bool,
    /// `--record`: where every input is written before it is acted on.
    recorder: Option<Recorder>,
    /// The followed datastore, when the configuration comes from one.
    follow: Option<Follow>,
}

/// Logs a failed sd_notify; under systemd it means readiness or the
/// watchdog is not seen, which the unit will act on.
fn notify(what: &str, r: std::io::Result<()>) {
    if let Err(e) = r {
        warn!("sd_notify {what}: {e}");
    }
}

/// Runs the daemon for the configuration file at `path` from `start` until
/// SIGTERM or SIGINT: the owner task, the control socket and, when
/// `metrics.listen` is set, the metrics endpoint. `make_routes` builds the
/// route processing once the configuration is known.
///
/// The control socket and the metrics listener are bound before the owner
/// starts, so READY=1 (sent by the owner once the BGP listeners are bound)
/// means every listener is up; with [`Start::Etcd`] they answer while the
/// datastore's first configuration is awaited (`startup.rs`). Failing to
/// bind either is logged and the daemon runs on without it: routing matters
/// more than its observability.
///
/// With `recorder` (`--record`), every input is written as a JSON line.
/// `bird_sockets` are the BIRD-dialect sockets to serve: `[bird_compat]`,
/// or what the `bird` command line (`-s`) says.
pub async fn run(
    path: PathBuf,
    start: Start,
    make_routes: impl AsyncFnOnce(&ValidatedConfig) -> RibRoutes,
    recorder: Option<Recorder>,
    bird_sockets: config::BirdCompat,
) {
    let local = start.local();
    let (socket, metrics_addr) = (local.control_socket.clone(), local.metrics.listen);
    let started_level = local.log_level;
    let mut channels = Channels::new();
    let handler = Arc::new(channels.handler());
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let options = ctl::server::ServerOptions::default();
    let ctl_task = match ctl::server::bind(&socket, &options) {
        Ok(l) => {
            info!("control socket {}", socket.display());
            let h = handler.clone();
            let stop = stopped(stop_rx.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = ctl::server::serve_listener(l, h, options, stop).await {
                    error!("control socket: {e}");
                }
            }))
        }
        Err(e) => {
            error!(
                "cannot bind the control socket {}: {e}; calico-bgpctl will not work",
                socket.display()
            );
            None
        }
    };
    let bird_tasks = bird_compat::spawn(&bird_sockets, handler.clone(), stop_rx.clone());
    if let Some(addr) = metrics_addr {
        match ctl::metrics::bind(addr).await {
            Ok(l) => {
                info!("metrics on http://{addr}/metrics");
                let h = handler.clone();
                let stop = stopped(stop_rx.clone());
                tokio::spawn(async move {
                    if let Err(e) = ctl::metrics::serve(l, h, stop).await {
                        error!("metrics endpoint: {e}");
                    }
                });
            }
            Err(e) => error!("cannot listen for metrics on {addr}: {e}"),
        }
    }
    let tx = channels.inputs_tx.clone();
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
    let ready = match start {
        Start::Ready(cfg, follow) => Some((cfg, follow)),
        Start::Etcd { settings, local, env } => {
            startup::first_config(settings, local, env, &path, &mut channels)
                .await
                .map(|(cfg, follow)| (cfg, Some(follow)))
        }
    };
    if let Some((cfg, follow)) = ready {
        // Calico's logSeverityScreen, when it differs from the file's.
        if cfg.config().log_level != started_level {
            log_level::apply(cfg.config().log_level);
        }
        info!("{} starting: {}", control::version(), cfg.summary());
        let routes = make_routes(&cfg).await;
        let mut owner = Owner::with_channels(Some(path), cfg, routes, channels);
        if let Some(r) = recorder {
            owner.record(r);
        }
        if let Some(f) = follow {
            owner.follow(f);
        }
        owner.run().await;
    }
    let _ = stop_tx.send(true);
    if let Some(t) = ctl_task {
        let _ = t.await;
        // Ours to remove: bind() refused to take it over from a live daemon.
        let _ = std::fs::remove_file(&socket);
    }
    bird_compat::finish(bird_tasks).await;
}

impl Owner {
    /// An owner for `cfg`; nothing runs until [`Owner::run`]. `path` is the
    /// file a reload re-reads.
    pub fn new(path: Option<PathBuf>, cfg: ValidatedConfig, routes: RibRoutes) -> Self {
        Owner::with_channels(path, cfg, routes, Channels::new())
    }

    /// [`Owner::new`] on channels the control socket already serves.
    fn with_channels(
        path: Option<PathBuf>,
        cfg: ValidatedConfig,
        routes: RibRoutes,
        ch: Channels,
    ) -> Self {
        let Channels { inputs_tx, inputs_rx, queries_tx, queries_rx, snapshots } = ch;
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        Owner {
            path,
            cfg,
            routes,
            peers: BTreeMap::new(),
            registry: Registry::default(),
            listeners: Vec::new(),
            refused: refused::RefusedSources::default(),
            next_id: 0,
            inputs_tx,
            inputs_rx,
            queries_tx,
            queries_rx,
            reports_tx,
            reports_rx,
            stopping: Vec::new(),
            started_at: ctl::server::unix_now(),
            snapshots,
            dirty: true,
            last_publish: None,
            routes_walk: None,
            lag: LagMeter::default(),
            last_reconfig: None,
            shutting_down: false,
            r_bit: false,
            recorder: None,
            follow: None,
        }
    }

    /// Derives the configuration from `follow`'s datastore from now on,
    /// the file being the base of each derivation.
    pub fn follow(&mut self, follow: Follow) {
        self.follow = Some(follow);
    }

    /// The handler answering `calico-bgpctl` and the metrics endpoint.
    pub fn ctl_handler(&self) -> CtlHandler {
        CtlHandler::new(self.snapshots.subscribe(), self.inputs_tx.clone(), self.queries_tx.clone())
    }

    /// Binds the listeners, starts a session per effective peer and
    /// processes inputs until [`Input::Shutdown`].
    pub async fn run(mut self) {
        self.routes.start(self.inputs_tx.clone());
        self.r_bit = self.routes.recovering();
        self.rebind();
        let peers: Vec<EffectivePeer> = self.cfg.peers().to_vec();
        for p in &peers {
            self.start_peer(p);
        }
        self.set_listener_floors();
        self.last_reconfig =
            Some(ReconfigSnapshot { at: ctl::server::unix_now(), result: ReconfigResult::Applied });
        self.publish();
        notify("READY=1", ctl::sdnotify::ready());
        let mut tick = tokio::time::interval(control::TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let watchdog = ctl::sdnotify::watchdog_interval();
        let mut dog = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        loop {
            let input = tokio::select! {
                Some(r) = self.reports_rx.recv() => Input::Session(r),
                Some(i) = self.inputs_rx.recv() => i,
                s = next_snapshot(&mut self.follow) => Input::Datastore(s),
                Some(q) = self.queries_rx.recv() => {
                    self.answer(q);
                    continue;
                }
                due = tick.tick() => {
                    self.lag.record(due, Instant::now());
                    // An old walk is no use to the next client: let go of
                    // its memory rather than hold a copy of the table.
                    if self.routes_walk.as_ref().is_some_and(|(at, ..)| at.elapsed() >= ROUTES_REUSE_MAX) {
                        self.routes_walk = None;
                    }
                    self.resync_drained();
                    let stale = self.last_publish.is_none_or(|t| t.elapsed() >= control::REFRESH);
                    if self.dirty || stale {
                        self.publish();
                    }
                    continue;
                }
                _ = dog.tick(), if watchdog.is_some() => {
                    // From this loop, not a task of its own: a stuck loop
                    // must stop the pings.
                    notify("WATCHDOG=1", ctl::sdnotify::watchdog());
                    continue;
                }
                () = sleep_until_opt(self.routes.next_timer()) => {
                    let out = self.routes.timers_due(Instant::now());
                    self.dispatch(out);
                    self.dirty = true;
                    self.check_recovery();
                    continue;
                }
            };
            self.dirty = true;
            if let Some(r) = &mut self.recorder {
                r.write(&input);
            }
            match input {
                Input::Session(r) => self.on_report(r),
                Input::Refused { remote } => {
                    self.refused.note(remote, ctl::server::unix_now());
                }
                Input::Reload => {
                    notify("RELOADING=1", ctl::sdnotify::reloading());
                    self.reload();
                    notify("READY=1", ctl::sdnotify::ready());
                }
                Input::Control(Control::Reload { reply }) => {
                    // The client's next `show routes` sees what it just did.
                    self.routes_walk = None;
                    notify("RELOADING=1", ctl::sdnotify::reloading());
                    let r = self.reload();
                    notify("READY=1", ctl::sdnotify::ready());
                    // Published before the answer, so the client's next
                    // `show` sees what it just did.
                    self.publish();
                    let _ = reply.send(r);
                }
                Input::Control(Control::Advertise { request, reply }) => {
                    self.routes_walk = None;
                    let r = self.advertise(&request);
                    self.publish();
                    let _ = reply.send(r);
                }
                Input::Datastore(snapshot) => {
                    self.routes_walk = None;
                    self.on_datastore(snapshot);
                }
                Input::NextHop { addr, cost, iface } => {
                    let out = self.routes.nexthop_reachability(addr, cost, iface.as_deref());
                    self.dispatch(out);
                }
                Input::KernelRoutes(changes) => {
                    let out = self.routes.kernel_routes(changes);
                    self.dispatch(out);
                }
                Input::Shutdown => break,
            }
            self.check_recovery();
            if self.last_publish.is_none_or(|t| t.elapsed() >= control::MIN_PUBLISH) {
                self.publish();
            }
        }
        notify("STOPPING=1", ctl::sdnotify::stopping());
        self.shutting_down = true;
        self.publish();
        self.routes.stop();
        self.shutdown().await;
    }

    /// Once our recovery is over, the next OPENs of every session go
    /// without the R bit.
    fn check_recovery(&mut self) {
        if !self.r_bit || self.routes.recovering() {
            return;
        }
        self.r_bit = false;
        info!("graceful restart: recovery over, R bit cleared");
        for slot in self.peers.values() {
            slot.handle
                .send(SessionCmd::SetGracefulRestart(session::gr_capability(&slot.cfg, false)));
        }
    }

    /// The routes `query` selects, as they are now.
    fn walk_routes(&self, query: &ctl::proto::RouteQuery) -> Vec<ctl::proto::RouteSnapshot> {
        let started = Instant::now();
        let mut routes = self.routes.routes_query(query);
        // Handlers need no clock: a local path with no time of its own has
        // been originated since the daemon started.
        for p in routes.iter_mut().flat_map(|r| r.paths.iter_mut()) {
            if p.since == 0 {
                p.since = self.started_at;
            }
        }
        tracing::debug!(routes = routes.len(), took = ?started.elapsed(), "show routes");
        routes
    }

    /// Every route, shared by the clients that ask within a short while:
    /// the table is walked at most once per [`ROUTES_DUTY`] times the
    /// cost of a walk.
    fn table(&mut self) -> Arc<Vec<ctl::proto::RouteSnapshot>> {
        let fresh = self
            .routes_walk
            .as_ref()
            .filter(|(at, cost, _)| at.elapsed() < (*cost * ROUTES_DUTY).min(ROUTES_REUSE_MAX));
        if let Some((_, _, all)) = fresh {
            return all.clone();
        }
        let started = Instant::now();
        let all = Arc::new(self.walk_routes(&ctl::proto::RouteQuery::default()));
        self.routes_walk = Some((started, started.elapsed(), all.clone()));
        all
    }

    /// Answers a read-only request from the owner's state as it is now.
    fn answer(&mut self, q: control::Query) {
        match q {
            // One prefix is a lookup and always fresh; anything else walks
            // the table, at most once per ROUTES_DUTY times its cost.
            control::Query::Routes { query, reply } if query.prefix.is_some() => {
                let _ = reply.send(self.walk_routes(&query));
            }
            control::Query::Routes { query, reply } => {
                let _ = reply.send(query.apply(self.table().iter().cloned()));
            }
            control::Query::Table { reply } => {
                let _ = reply.send(self.table());
            }
            // Built by the FIB's side, not here: the owner only starts it.
            control::Query::Fib { reply } => {
                let q = self.routes.fib_query();
                tokio::spawn(async move {
                    let _ = reply.send(q.await);
                });
            }
        }
    }

    /// Publishes a fresh snapshot for the control socket and the metrics.
    /// Routes are not in it: `show routes` asks the owner (see `answer`).
    fn publish(&mut self) {
        let now = ctl::server::unix_now();
        self.refused.forget_old(now);
        let peers: Vec<ctl::proto::PeerSnapshot> =
            self.peers.values().map(|s| self.peer_snapshot(s, now)).collect();
        let helping = peers
            .iter()
            .filter(|p| {
                matches!(
                    p.graceful_restart.state,
                    ctl::proto::GrPeerState::PeerRestarting
                        | ctl::proto::GrPeerState::LongLivedStale
                )
            })
            .map(|p| ctl::proto::GrHelping {
                peer: p.name.clone(),
                state: p.graceful_restart.state,
                time_left_secs: p.graceful_restart.time_left_secs,
                stale_routes: p.graceful_restart.stale_routes,
            })
            .collect();
        let mut status = ctl::proto::StatusSnapshot {
            version: control::version(),
            commit: ctl::build_info::COMMIT.to_owned(),
            router_id: self.cfg.router_id(),
            started_at: self.started_at,
            uptime_secs: now.saturating_sub(self.started_at),
            last_reconfig: self.last_reconfig.clone(),
            graceful_restart: self.routes.gr_recovery(),
            graceful_restart_helping: helping,
            shutting_down: self.shutting_down,
            rib: self.routes.rib_sizes(),
            fib: Default::default(),
            event_loop_lag_secs: self.lag.last,
            event_loop_lag_max_secs: self.lag.max,
            unknown_connects: self
                .refused
                .iter()
                .map(|(a, s)| ctl::proto::UnknownConnect {
                    source: *a,
                    count: s.count,
                    last: s.last,
                })
                .collect(),
            datastore: self.follow.as_ref().map(|f| Box::new(f.view())),
            waiting: None,
        };
        let fib = self.routes.fib_snapshot();
        status.fib = fib.stats.clone();
        let snap = DaemonSnapshot { status: Some(status), peers, fib };
        self.snapshots.send_replace(Arc::new(snap));
        self.dirty = false;
        self.last_publish = Some(Instant::now());
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

    /// Gives each listening socket the GTSM floor its peers allow (see
    /// [`net::listener_min_ttl`]); with peers of mixed TTL handling, none.
    fn set_listener_floors(&self) {
        for l in &self.listeners {
            let floor = net::listener_min_ttl(
                self.peers
                    .values()
                    .filter(|p| p.cfg.address.is_ipv6() == l.addr.is_ipv6())
                    .map(|p| p.cfg.ttl),
            );
            match l.set_min_ttl(floor) {
                Ok(()) if floor > 0 => info!("listening on {}: GTSM, TTL >= {floor}", l.addr),
                Ok(()) => {}
                Err(e) => warn!("TTL floor on {}: {e}", l.addr),
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
        let mut fsm = session::peer_config(p, self.cfg.router_id());
        if self.r_bit {
            fsm.capabilities.retain(|c| !matches!(c, crate::wire::Capability::GracefulRestart(_)));
            fsm.capabilities.extend(
                session::gr_capability(p, true).map(crate::wire::Capability::GracefulRestart),
            );
        }
        let spec = session::SessionSpec {
            id: self.next_id,
            peer: p.address,
            name: p.bird_protocol_name(),
            fsm,
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
        let entry = PeerEntry {
            port: p.port,
            tx: handle.sender(),
            ttl: p.ttl,
            remote_as: p.remote_as,
            seen_id: None,
        };
        listener::register(&self.registry, p.key(), entry);
        self.peers.insert(
            p.key(),
            ConfiguredPeer {
                cfg: p.clone(),
                handle,
                state: State::Idle,
                established_epoch: None,
                has_md5: md5_key.is_some(),
                prefix_warned: [false; 2],
                since: ctl::server::unix_now(),
                proto_since: ctl::server::unix_now(),
                session: None,
                last_error: None,
                flaps: 0,
                behind: false,
            },
        );
    }

    fn stop_peer(&mut self, key: PeerKey, notification: NotificationMsg) {
        let Some(slot) = self.peers.remove(&key) else { return };
        listener::unregister(&self.registry, key);
        let addr = key.address;
        // Sessions to one address share its key: removed with the last.
        if slot.has_md5 && !self.peers.keys().any(|k| k.address == addr) {
            for l in &self.listeners {
                let _ = l.set_md5(addr, b"");
            }
        }
        info!(peer = %addr, "peer {key} ({}): stopping: {notification}", slot.cfg.bird_protocol_name());
        slot.handle.send(SessionCmd::Shutdown(notification));
        let out = self.routes.peer_down(key, false);
        self.dispatch(out);
        self.stopping.push(slot.handle);
    }

    fn on_report(&mut self, r: SessionReport) {
        // The sessions to the report's address, one per port; a report of
        // a session replaced by a reload, winding down, matches none.
        let at = PeerKey { address: r.peer, port: 0 }..=PeerKey { address: r.peer, port: u16::MAX };
        let Some((&key, slot)) = self.peers.range_mut(at).find(|(_, s)| s.handle.id() == r.id)
        else {
            return;
        };
        match r.event {
            SessionEvent::StateChange { to, reason, .. } => {
                if (to == State::Established) != (slot.state == State::Established) {
                    slot.proto_since = ctl::server::unix_now();
                }
                slot.state = to;
                slot.since = ctl::server::unix_now();
                if to == State::Established {
                    slot.last_error = None;
                } else if let Some(e) =
                    control::classify(&reason, slot.handle.stats().socket_error())
                {
                    slot.last_error = Some(e);
                }
            }
            SessionEvent::Established(up) => {
                listener::note_peer_id(&self.registry, key, up.negotiated.peer_bgp_id);
                slot.established_epoch = Some(up.epoch);
                slot.prefix_warned = [false; 2];
                slot.behind = false;
                slot.session = Some((up.clone(), ctl::server::unix_now()));
                let cfg = slot.cfg.clone();
                let out = self.routes.peer_up(&cfg, &up);
                self.dispatch(out);
            }
            SessionEvent::Down { graceful, .. } => {
                slot.established_epoch = None;
                slot.behind = false;
                slot.session = None;
                slot.flaps += 1;
                let out = self.routes.peer_down(key, graceful);
                self.dispatch(out);
            }
            SessionEvent::Update { epoch, update } => {
                if slot.established_epoch != Some(epoch) {
                    return;
                }
                let eor = update.is_end_of_rib();
                let out = self.routes.update(key, update);
                self.dispatch(out);
                if let Some(family) = eor {
                    info!(
                        peer = %r.peer,
                        "peer {key}: End-of-RIB {family:?}, {} prefixes received",
                        self.routes.received_prefixes(key)
                    );
                }
                self.check_max_prefix(key);
            }
            SessionEvent::RouteRefresh { epoch, request } => {
                if slot.established_epoch != Some(epoch) {
                    return;
                }
                let out = self.routes.route_refresh(key, request);
                self.dispatch(out);
            }
            SessionEvent::Finished => {}
        }
    }

    /// The max-prefix limits, each family's prefixes against its own:
    /// warn once per family, or tear down with Cease / Maximum Number of
    /// Prefixes Reached, whose data is "AFI (2 octets), SAFI (1 octet), and
    /// the prefix upper bound (4 octets)" (RFC 4486 §4) of the family over
    /// its limit.
    fn check_max_prefix(&mut self, key: PeerKey) {
        let peer = key.address;
        let Some(slot) = self.peers.get_mut(&key) else { return };
        let Some(mp) = &slot.cfg.max_prefix else { return };
        let name = slot.cfg.bird_protocol_name();
        for counts in self.routes.peer_counts(key) {
            let Some(limit) = control::prefix_limit(&slot.cfg, counts.family) else { continue };
            let (afi_safi, i) = match counts.family {
                ctl::proto::Family::Ipv4 => (AfiSafi::IPV4_UNICAST, 0),
                ctl::proto::Family::Ipv6 => (AfiSafi::IPV6_UNICAST, 1),
            };
            let count = counts.received;
            if count <= u64::from(limit) {
                continue;
            }
            let fam = counts.family.as_str();
            match mp.action {
                MaxPrefixAction::Warn => {
                    if !slot.prefix_warned[i] {
                        warn!(peer = %peer, "peer {peer} ({name}): {count} {fam} prefixes, over the limit of {limit}");
                        slot.prefix_warned[i] = true;
                    }
                }
                MaxPrefixAction::Teardown => {
                    let restart = mp.restart_after.map(|s| Duration::from_secs(u64::from(s)));
                    warn!(
                        peer = %peer,
                        "peer {peer} ({name}): {count} {fam} prefixes, over the limit of {limit}: tearing down{}",
                        restart.map(|d| format!(", restarting in {}s", d.as_secs())).unwrap_or_default()
                    );
                    slot.established_epoch = None;
                    slot.handle.send(SessionCmd::Stop {
                        notification: NotificationMsg::max_prefixes(afi_safi, limit),
                        restart_after: restart,
                    });
                    return;
                }
            }
        }
    }

    /// Re-reads the file (SIGHUP and `calico-bgpctl reload` alike) and
    /// applies it, or refuses it with every problem; either way the outcome
    /// is logged, kept for `show status` and returned.
    fn reload(&mut self) -> ReloadResult {
        let mut result = applied();
        let errors = match self.path.clone() {
            None => vec!["the daemon was started without a configuration file".to_owned()],
            Some(path) => match self.reload_from(&path, &mut result) {
                Ok(()) => Vec::new(),
                Err(errors) => {
                    let file = path.display();
                    errors.into_iter().map(|e| format!("{file}: error: {e}")).collect()
                }
            },
        };
        for e in &errors {
            error!("reload refused, keeping the running configuration: {e}");
        }
        if !errors.is_empty() {
            result.result = ReconfigResult::Refused { errors };
        }
        self.last_reconfig =
            Some(ReconfigSnapshot { at: ctl::server::unix_now(), result: result.result.clone() });
        result
    }

    fn reload_from(
        &mut self,
        path: &std::path::Path,
        result: &mut ReloadResult,
    ) -> Result<(), Vec<String>> {
        info!("reloading {}", path.display());
        if self.follow.is_some() {
            let local = config::load_unvalidated(path).map_err(|e| vec![e.to_string()])?;
            return self.reload_followed(local, result);
        }
        let new = match config::load(path) {
            Ok(v) => v,
            Err(LoadError::Invalid { errors, .. }) => {
                return Err(errors.errors().iter().map(ToString::to_string).collect());
            }
            Err(e) => return Err(vec![e.to_string()]),
        };
        self.apply(new, &path.display().to_string(), result)
    }

    /// Applies a validated configuration, whatever produced it (the file
    /// on reload, the datastore on a change): files it names are checked
    /// first, then only what [`config::diff`] says changed is touched. On
    /// an error nothing is applied and the running configuration stays.
    fn apply(
        &mut self,
        new: ValidatedConfig,
        origin: &str,
        result: &mut ReloadResult,
    ) -> Result<(), Vec<String>> {
        let file_errors = config::check_files(&new);
        if !file_errors.is_empty() {
            return Err(file_errors.iter().map(ToString::to_string).collect());
        }
        for w in new.warnings() {
            warn!("{origin}: {w}");
        }
        let d = config::diff(&self.cfg, &new);
        if d.control_socket_changed || d.metrics_changed {
            warn!("control_socket, bird_compat and metrics.listen take effect at the next restart");
        }
        if self.cfg.config().fib.enabled != new.config().fib.enabled {
            warn!("fib.enabled takes effect at the next restart");
        }
        let names = |v: &[EffectivePeer]| v.iter().map(|p| p.bird_protocol_name()).collect();
        result.peers_added = names(&d.added);
        result.peers_removed = names(&d.removed);
        result.peers_restarted = d.changed.iter().map(|c| c.new.bird_protocol_name()).collect();
        // Filters apply to the running session.
        result.peers_updated = d
            .filters_changed
            .iter()
            .filter_map(|a| new.peer(*a))
            .map(EffectivePeer::bird_protocol_name)
            .collect();
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
                p.key(),
                NotificationMsg::cease(CeaseSubcode::PEER_DECONFIGURED, bytes::Bytes::new()),
            );
        }
        for c in &d.changed {
            self.stop_peer(
                c.old.key(),
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
        self.set_listener_floors();
        if let Some(level) = d.log_level {
            log_level::apply(level);
        }
        if d.routing_changed || !d.filters_changed.is_empty() {
            let out = self.routes.reconfigure(&self.cfg);
            self.dispatch(out);
        }
        self.stopping.retain(|h| !h.is_finished());
        Ok(())
    }

    /// `calico-bgpctl advertise add|del`: the prefix must lie in an IP pool,
    /// as configured blocks must.
    fn advertise(&mut self, request: &AdvertiseRequest) -> Result<AdvertiseResult, CtlError> {
        let prefix = request.prefix;
        if prefix.trunc() != prefix {
            return Err(CtlError::new(
                ErrorKind::InvalidRequest,
                format!("{prefix} has host bits set; use {}", prefix.trunc()),
            ));
        }
        let pools: Vec<IpNet> = self.cfg.config().ip_pools.iter().map(|p| p.cidr).collect();
        if !pools.iter().any(|pool| pool.contains(&prefix)) {
            let list: Vec<String> = pools.iter().map(ToString::to_string).collect();
            return Err(CtlError::new(
                ErrorKind::InvalidRequest,
                format!("{prefix} is in no ip_pools cidr (pools: [{}])", list.join(", ")),
            ));
        }
        let add = request.action == AdvertiseAction::Add;
        let had = self.routes.originated().contains(&prefix);
        let out = self.routes.advertise(prefix, add);
        let exported_to = out.iter().filter(|o| !o.messages.is_empty()).count() as u64;
        info!(
            "advertise {} {prefix}: {} peer(s) updated",
            if add { "add" } else { "del" },
            exported_to
        );
        self.dispatch(out);
        Ok(AdvertiseResult { action: request.action, prefix, changed: had != add, exported_to })
    }

    async fn shutdown(mut self) {
        let mut handles = std::mem::take(&mut self.stopping);
        let (mut reset, mut closed, mut ceased) = (0, 0, 0);
        for (_, slot) in std::mem::take(&mut self.peers) {
            let cmd = match shutdown_kind(&slot) {
                ShutdownKind::AdminReset => {
                    reset += 1;
                    SessionCmd::Shutdown(NotificationMsg::admin_reset(RESTART_MESSAGE))
                }
                ShutdownKind::Close => {
                    closed += 1;
                    SessionCmd::Close
                }
                ShutdownKind::AdminShutdown => {
                    ceased += 1;
                    SessionCmd::Shutdown(NotificationMsg::admin_shutdown(SHUTDOWN_MESSAGE))
                }
            };
            slot.handle.send(cmd);
            handles.push(slot.handle);
        }
        info!(
            "shutting down: {reset} peer(s) keep our routes (Administrative Reset, RFC 8538), \
             {closed} closed without NOTIFICATION (graceful restart), {ceased} Administrative Shutdown"
        );
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

/// A reload result before anything was applied.
fn applied() -> ReloadResult {
    ReloadResult {
        result: ReconfigResult::Applied,
        peers_added: Vec::new(),
        peers_removed: Vec::new(),
        peers_restarted: Vec::new(),
        peers_updated: Vec::new(),
    }
}

/// The next snapshot of the followed datastore; never, without one.
async fn next_snapshot(follow: &mut Option<Follow>) -> DatastoreSnapshot {
    match follow {
        Some(f) => f.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How SIGTERM ends one session (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShutdownKind {
    /// Cease / Administrative Reset: graceful with the N bit (RFC 8538 §4).
    AdminReset,
    /// No NOTIFICATION: graceful under RFC 4724 alone.
    Close,
    /// Cease / Administrative Shutdown: the peer drops our routes.
    AdminShutdown,
}

fn shutdown_kind(slot: &ConfiguredPeer) -> ShutdownKind {
    let peer_gr =
        slot.session.as_ref().and_then(|(up, _)| up.negotiated.peer_graceful_restart.as_ref());
    match (slot.cfg.graceful_restart.is_some(), peer_gr) {
        (true, Some(g)) if g.notification_flag => ShutdownKind::AdminReset,
        (true, Some(_)) => ShutdownKind::Close,
        _ => ShutdownKind::AdminShutdown,
    }
}
