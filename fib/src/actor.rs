//! The `Fib` task: RIB changes in, kernel routes out, drift repaired from kernel events.
//!
//! ```text
//!  RIB ──FibSender::update/withdraw──> pending log (prefix, change)  [Mutex + Notify]
//!                                         │ an append: the sender never hashes, and
//!                                         │ never waits for the kernel
//!  Fib task ◄─────────────────────────────┘ takes the whole log, sorts it by prefix and
//!                                           keeps the last change per prefix (coalescing)
//!    policy::decide  per changed prefix  -> desired
//!    plan::plan_key  desired vs kernel model -> ops  -> RouteWriter (blocking thread)
//!    monitor: someone else's change to a key we hold -> plan_key again (repair)
//!             link / address change -> new NodeContext -> re-decide the prefixes it
//!             affects (a next hop inside a changed subnet; every prefix after a
//!             pool, switch or tunnel change)
//!             ENOBUFS -> full resync (dump + plan)
//!    slow timer: full resync, the safety net only
//! ```
//!
//! Start-up adopts what the kernel holds with protocol 12 as the kernel model: a route
//! that is still right is never rewritten, and routes nothing wants are kept until
//! [`FibSender::converged`] (or `stale_timeout`), like BIRD's `persist` + graceful restart.
//! Routes are left in the kernel when the task stops.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use tokio::sync::{Notify, broadcast, mpsc, oneshot};

use crate::hash::FastMap;
use crate::learn::{Alien, Learned, LearnedChange, LearnedRoute};
use crate::netlink::dump::RouteDumper;
use crate::netlink::monitor::{KernelEvent, Monitor};
use crate::netlink::tunnel::{self, TunnelStatus};
use crate::netlink::writer::RouteWriter;
use crate::netlink::{Kernel, NetlinkError};
use crate::plan::{Op, Orphans, plan_key};
use crate::policy::{
    BestRoute, Decision, IpPool, NodeContext, ProgramClusterRoutes, SkipReason, StaticRoute, Vtep,
    decide,
};
use crate::route::{IfIndex, MAIN_TABLE, Route, RouteKey};
use crate::table::PrefixTable;

mod context;
mod pending;
mod sender;
use pending::Pending;
pub use sender::FibSender;

/// How the FIB is set up.
#[derive(Debug, Clone)]
pub struct FibConfig {
    /// IP pools.
    pub pools: Vec<IpPool>,
    /// Service ranges: routes inside them are never programmed (kube-proxy's).
    pub service_ranges: Vec<IpNet>,
    /// Who programs cluster routes.
    pub program: ProgramClusterRoutes,
    /// Table to install into.
    pub table: u32,
    /// The node's configured addresses with their prefix lengths (`node.ipv4`,
    /// `node.ipv6`): their networks are the node's own subnets CrossSubnet compares
    /// next hops with, and VXLAN `local` and the VTEP MAC come from the addresses.
    pub node_addrs: Vec<IpNet>,
    /// Program VXLAN pools here and create/fix `vxlan.calico` / `vxlan-v6.calico`
    /// (derived MAC, VTEP neighbour and FDB entries): a node without Felix. Off, VXLAN
    /// pools and devices are Felix's and never touched.
    pub manage_vxlan: bool,
    /// Create/fix `tunl0`: a node without Felix. Off, IPIP routes use the `tunl0` Felix
    /// made, and the device is never created, changed or deleted.
    pub manage_tunl0: bool,
    /// Learn other agents' routes of the table (BIRD's `learn`) and report them on
    /// [`FibSender::watch_learned`].
    pub learn: bool,
    /// The safety-net full resync period (repair is event-driven; this is not the
    /// mechanism).
    pub resync_every: Duration,
    /// Delete adopted stale routes after this long even without `converged()`.
    pub stale_timeout: Duration,
    /// After the first change of a burst, wait this long before writing, so the rest
    /// of the burst joins the same batch.
    pub coalesce: Duration,
    /// Static routes to peers (Calico `reachableBy`): next hops inside them resolve
    /// through their gateway. The routes themselves come as best routes.
    pub static_routes: Vec<StaticRoute>,
}

impl Default for FibConfig {
    fn default() -> Self {
        FibConfig {
            pools: Vec::new(),
            service_ranges: Vec::new(),
            program: ProgramClusterRoutes::Enabled,
            table: MAIN_TABLE,
            node_addrs: Vec::new(),
            manage_vxlan: false,
            manage_tunl0: false,
            learn: false,
            resync_every: Duration::from_secs(300),
            stale_timeout: Duration::from_secs(240),
            coalesce: Duration::from_millis(5),
            static_routes: Vec::new(),
        }
    }
}

/// Something the FIB did, for tests, logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibEvent {
    /// A batch of ops was written.
    Applied {
        /// Ops written.
        ops: usize,
        /// Ops the kernel refused.
        failed: usize,
    },
    /// Someone else removed or changed a route of ours; it was put back.
    Repaired(RouteKey),
    /// A full resync ran (start, overflow, link change, timer).
    Resynced {
        /// Why it ran.
        reason: &'static str,
        /// Ops it needed.
        ops: usize,
    },
    /// The node context changed (address, link, pools); the routes it affects were
    /// decided again.
    ContextChanged {
        /// How many prefixes were decided again (0: the change touched no next hop).
        prefixes: usize,
    },
}

/// A snapshot of the FIB's state.
#[derive(Debug, Clone, Default)]
pub struct FibStatus {
    /// Routes we want installed.
    pub desired: usize,
    /// Routes of ours the kernel holds (model).
    pub installed: usize,
    /// Best routes not installed, with why.
    pub skipped: Vec<(IpNet, SkipReason)>,
    /// Tunnel devices (status per device the pools need).
    pub tunnels: Vec<TunnelStatus>,
    /// Stale routes are deleted (converged, or the timeout passed).
    pub converged: bool,
    /// Routes repaired after drift.
    pub repairs: u64,
    /// Full resyncs.
    pub resyncs: u64,
    /// Ops refused by the kernel so far.
    pub failed_ops: u64,
    /// The last refusal, for the log and `show`.
    pub last_error: Option<String>,
}

/// Quiet time after a notification overflow before the resync it calls for.
const OVERFLOW_QUIET: Duration = Duration::from_millis(500);
/// The longest a resync after an overflow may wait while overflows continue.
const OVERFLOW_MAX_DELAY: Duration = Duration::from_secs(5);
/// Repairs of one route allowed within REPAIR_WINDOW before it is left to the resync.
const REPAIR_BURST: u32 = 5;
const REPAIR_WINDOW: Duration = Duration::from_secs(10);
/// Batches at least this large are written with route notifications paused.
const BULK: usize = 20_000;

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

type WriteJob =
    tokio::task::JoinHandle<(RouteWriter, Vec<Op>, crate::netlink::writer::ApplyReport)>;

enum Control {
    Converged,
    Reconfigure(FibConfig),
    SetStaticRoutes(Vec<StaticRoute>),
    Flush(oneshot::Sender<()>),
    Status(oneshot::Sender<FibStatus>),
    Track(Vec<IpAddr>, Vec<IpAddr>),
    WatchNextHops(mpsc::UnboundedSender<NextHopReach>),
    WatchLearned(mpsc::UnboundedSender<Vec<LearnedChange>>),
    Routes(oneshot::Sender<FibRoutes>),
    Stop,
}

/// A tracked next hop's reachability changed (or was asked for): the RIB's
/// recursive next-hop resolution (BIRD `gateway recursive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHopReach {
    /// The BGP next hop.
    pub addr: IpAddr,
    /// `None`: the kernel cannot reach it. `Some(0)`: on a connected subnet;
    /// `Some(1)`: through an underlay gateway.
    pub cost: Option<u32>,
    /// The device it is reached by (that subnet's or route's), when
    /// reachable: BIRD's `ifname` of the routes through it.
    pub dev: Option<String>,
}

/// How a tracked next hop resolves: its cost and device name.
type Resolution = (Option<u32>, Option<String>);

/// What the FIB wants and what the kernel holds, for `show fib`.
#[derive(Debug, Clone, Default)]
pub struct FibRoutes {
    /// Routes we want installed.
    pub wanted: Vec<Route>,
    /// Routes of ours the kernel holds (the model).
    pub installed: Vec<Route>,
    /// Interface names by index, to print devices.
    pub links: Vec<(IfIndex, String)>,
}

/// A prefix to re-decide.
enum Redo {
    /// The RIB's new best route for it (`None`: withdrawn).
    New(Option<BestRoute>),
    /// Re-decide the best route the FIB already holds (context or pool change).
    Held,
}

/// The FIB task.
pub struct Fib {
    cfg: FibConfig,
    kernel: Kernel,
    dumper: RouteDumper,
    writer: Option<RouteWriter>,
    writer_port: u32,
    monitor: Monitor,
    pending: Arc<Mutex<Pending>>,
    notify: Arc<Notify>,
    ctrl: mpsc::UnboundedReceiver<Control>,
    events: broadcast::Sender<FibEvent>,
    ctx: NodeContext,
    /// Per prefix of our table: the RIB's best route, the route we want and the
    /// routes of ours the kernel holds (the kernel model).
    state: PrefixTable,
    /// Reused for the held routes of one prefix.
    held: Vec<Route>,
    vteps_of: FastMap<IpNet, Vec<Vtep>>,
    vtep_refs: HashMap<Vtep, usize>,
    skipped: FastMap<IpNet, SkipReason>,
    tunnels: Vec<TunnelStatus>,
    links: HashMap<IfIndex, (bool, u32)>,
    /// Interface names: the device a next hop is reached by, and Calico's
    /// excluded interfaces left out.
    names: HashMap<IfIndex, String>,
    /// Desired next hops per output device: which links carry our routes.
    dev_refs: FastMap<IfIndex, usize>,
    repairs_of: HashMap<RouteKey, (Instant, u32)>,
    /// Next hops the RIB resolves through us, as last reported.
    tracked: HashMap<IpAddr, Resolution>,
    nh_watch: Option<mpsc::UnboundedSender<NextHopReach>>,
    /// Other agents' routes of the table (with `learn`), and who is told of them.
    learned: Learned,
    learned_watch: Option<mpsc::UnboundedSender<Vec<LearnedChange>>>,
    monitor_alive: bool,
    resync_due: Option<tokio::time::Instant>,
    overflow_since: Option<tokio::time::Instant>,
    orphans: Orphans,
    started: Instant,
    status: FibStatus,
}

impl std::fmt::Debug for Fib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fib").field("desired", &self.state.wants()).finish_non_exhaustive()
    }
}

impl Fib {
    /// Opens the sockets in the calling thread's network namespace and spawns the task
    /// on the current tokio runtime.
    pub fn start(cfg: FibConfig) -> Result<(FibSender, tokio::task::JoinHandle<()>), NetlinkError> {
        let kernel = Kernel::open()?;
        let dumper = RouteDumper::open()?;
        let writer = RouteWriter::open()?;
        let mut monitor = Monitor::open()?;
        monitor.ignore_port(writer.port_id());
        let pending = Arc::new(Mutex::new(Pending::default()));
        let notify = Arc::new(Notify::new());
        let (ctrl_tx, ctrl_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        let sender = FibSender {
            pending: pending.clone(),
            notify: notify.clone(),
            ctrl: ctrl_tx,
            events: events.clone(),
        };
        let ctx = NodeContext {
            pools: cfg.pools.clone(),
            service_ranges: cfg.service_ranges.clone(),
            program: cfg.program,
            table: cfg.table,
            ..NodeContext::default()
        };
        let fib = Fib {
            writer_port: writer.port_id(),
            writer: Some(writer),
            kernel,
            dumper,
            monitor,
            pending,
            notify,
            ctrl: ctrl_rx,
            events,
            ctx,
            state: PrefixTable::new(cfg.table),
            held: Vec::new(),
            vteps_of: FastMap::default(),
            vtep_refs: HashMap::new(),
            skipped: FastMap::default(),
            tunnels: Vec::new(),
            links: HashMap::new(),
            names: HashMap::new(),
            dev_refs: FastMap::default(),
            repairs_of: HashMap::new(),
            tracked: HashMap::new(),
            nh_watch: None,
            learned: Learned::default(),
            learned_watch: None,
            monitor_alive: true,
            resync_due: None,
            overflow_since: None,
            orphans: Orphans::Keep,
            started: Instant::now(),
            status: FibStatus::default(),
            cfg,
        };
        Ok((sender, tokio::spawn(fib.run())))
    }

    async fn run(mut self) {
        if let Err(e) = self.refresh_context(true).await {
            tracing::error!("fib: reading node context: {e}");
        }
        // Adopt: the kernel model starts as whatever protocol-12 routes exist.
        self.resync("start").await;
        let mut timer = tokio::time::interval(self.cfg.resync_every);
        timer.tick().await;
        let stale = tokio::time::sleep(self.cfg.stale_timeout);
        tokio::pin!(stale);
        loop {
            tokio::select! {
                biased;
                c = self.ctrl.recv() => match c {
                    None | Some(Control::Stop) => break,
                    Some(c) => self.control(c).await,
                },
                _ = self.notify.notified() => {
                    tokio::time::sleep(self.cfg.coalesce).await;
                    self.drain().await
                }
                ev = self.monitor.next(), if self.monitor_alive => match ev {
                    Some(ev) => self.kernel_event(ev).await,
                    None => {
                        // Keep programming; drift is then only caught by the timer.
                        self.monitor_alive = false;
                        self.note_error("kernel monitor socket failed; repair falls back to the resync timer".into());
                    }
                },
                _ = &mut stale, if self.orphans == Orphans::Keep => {
                    tracing::info!("fib: stale timeout; deleting unwanted adopted routes");
                    self.orphans = Orphans::Delete;
                    self.resync("stale timeout").await;
                }
                _ = timer.tick() => self.resync("timer").await,
                _ = sleep_until_opt(self.resync_due), if self.resync_due.is_some() => {
                    self.resync_due = None;
                    self.resync("notifications lost").await;
                }
            }
        }
        tracing::info!("fib: stopped; routes stay in the kernel");
    }

    async fn control(&mut self, c: Control) {
        match c {
            Control::Converged => {
                // Control messages are taken before pending route changes
                // (`biased` select): apply those first, or a route the RIB
                // chose just before converging would look unwanted, be deleted
                // as stale and come back a moment later.
                self.drain().await;
                self.orphans = Orphans::Delete;
                tracing::info!(after = ?self.started.elapsed(), "fib: converged; removing stale routes");
                self.resync("converged").await;
            }
            Control::Reconfigure(new) => {
                // The reloadable part; the table and the opt-ins are read at start.
                self.cfg.pools = new.pools;
                self.cfg.service_ranges = new.service_ranges;
                self.cfg.program = new.program;
                self.cfg.node_addrs = new.node_addrs;
                if let Err(e) = self.refresh_context(true).await {
                    self.note_error(format!("reading node context: {e}"));
                }
                self.redecide_all().await;
            }
            Control::SetStaticRoutes(statics) => {
                self.cfg.static_routes = statics;
                if let Err(e) = self.refresh_context(false).await {
                    self.note_error(format!("reading node context: {e}"));
                }
                self.redecide_all().await;
            }
            Control::Flush(tx) => {
                self.drain().await;
                let _ = tx.send(());
            }
            Control::Status(tx) => {
                let mut s = self.status.clone();
                s.desired = self.state.wants();
                s.installed = self.state.held_routes();
                s.skipped = self.skipped.iter().map(|(p, w)| (*p, *w)).collect();
                s.tunnels = self.tunnels.clone();
                s.converged = self.orphans == Orphans::Delete;
                let _ = tx.send(s);
            }
            Control::Track(add, remove) => {
                for a in remove {
                    self.tracked.remove(&a);
                }
                for a in add {
                    let r = self.nh_resolve(a);
                    self.tracked.insert(a, r.clone());
                    self.report_next_hop(a, r);
                }
            }
            Control::WatchNextHops(tx) => {
                self.nh_watch = Some(tx);
                let all: Vec<(IpAddr, Resolution)> =
                    self.tracked.iter().map(|(a, r)| (*a, r.clone())).collect();
                for (a, r) in all {
                    self.report_next_hop(a, r);
                }
            }
            Control::WatchLearned(tx) => {
                self.learned_watch = Some(tx);
                let all = self.learned.all();
                self.report_learned(all);
            }
            Control::Routes(tx) => {
                let mut wanted = self.state.wanted_routes();
                wanted.sort_unstable_by_key(|r| r.key());
                let mut installed = self.state.all_held();
                installed.sort_unstable_by_key(|r| r.key());
                let links = self
                    .kernel
                    .dump_links()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| (l.index, l.name))
                    .collect();
                let _ = tx.send(FibRoutes { wanted, installed, links });
            }
            Control::Stop => {}
        }
    }

    /// A next hop's IGP cost as the RIB compares it (0 on a connected
    /// subnet, 1 through an underlay gateway, `None` when unreachable) and
    /// the name of the device it is reached by.
    fn nh_resolve(&self, a: IpAddr) -> Resolution {
        match self.ctx.reach(a) {
            Some(r) => (Some(u32::from(r.via.is_some())), self.names.get(&r.dev).cloned()),
            None => (None, None),
        }
    }

    fn report_next_hop(&mut self, addr: IpAddr, (cost, dev): Resolution) {
        if let Some(tx) = &self.nh_watch {
            if tx.send(NextHopReach { addr, cost, dev }).is_err() {
                self.nh_watch = None;
            }
        }
    }

    fn report_learned(&mut self, changes: Vec<LearnedChange>) {
        if changes.is_empty() {
            return;
        }
        if let Some(tx) = &self.learned_watch {
            if tx.send(changes).is_err() {
                self.learned_watch = None;
            }
        }
    }

    /// A learned route as reported: the device's name added.
    fn learned_route(&self, a: Alien) -> LearnedRoute {
        let device = a.dev.and_then(|d| self.names.get(&d).cloned());
        LearnedRoute { prefix: a.key.prefix, metric: a.metric, dev: a.dev, device }
    }

    /// Takes a dump's other-agent routes as the whole learned set.
    fn learn_dump(&mut self, alien: Vec<Alien>) {
        let routes = alien.into_iter().map(|a| self.learned_route(a)).collect();
        let changes = self.learned.replace_all(routes);
        self.report_learned(changes);
    }

    /// After a context change or a link rename: reports the tracked next
    /// hops whose reachability or device changed.
    fn recheck_next_hops(&mut self) {
        let changed: Vec<(IpAddr, Resolution)> = self
            .tracked
            .iter()
            .filter_map(|(a, old)| {
                let now = self.nh_resolve(*a);
                (now != *old).then_some((*a, now))
            })
            .collect();
        for (a, r) in changed {
            self.tracked.insert(a, r.clone());
            self.report_next_hop(a, r);
        }
    }

    /// Takes every pending change and applies them in one batch.
    async fn drain(&mut self) {
        let mut log = self.pending.lock().unwrap_or_else(|e| e.into_inner()).take_raw();
        if log.is_empty() {
            return;
        }
        // Coalesced here, not under the lock: the sender keeps appending meanwhile.
        log.coalesce();
        let t = Instant::now();
        let n = log.len();
        // A full table grows the maps once, not by doubling all the way; a batch that
        // mostly changes known prefixes reserves nothing (the maps never shrink).
        let (v4, v6) = log.adds();
        self.state.reserve(v4, v6);
        self.apply_prefixes(log.into_changes().map(|(p, c)| (p, Redo::New(c)))).await;
        tracing::debug!(prefixes = n, took = ?t.elapsed(), "fib: batch applied");
    }

    /// Re-decides `prefixes` (sorted) and writes what changed. Large sets go in chunks,
    /// and the next chunk is planned while the writer thread writes the previous one, so
    /// policy and kernel work use both cores.
    async fn apply_prefixes<I>(&mut self, prefixes: I)
    where
        I: ExactSizeIterator<Item = (IpNet, Redo)> + Send,
    {
        const CHUNK: usize = 32 * 1024;
        // The first chunk is planned with the writer idle and the last written with the
        // planner idle: both are kept small (chunks double from MIN_CHUNK, and shrink to a
        // quarter of what is left), so the two threads overlap for nearly the whole batch.
        const MIN_CHUNK: usize = 2 * 1024;
        // A bulk write's echo would overflow the monitor socket and cost the kernel a
        // notification per route; leave the route groups for its duration and resync
        // afterwards (which an overflow would have forced anyway).
        let bulk = prefixes.len() >= BULK && self.monitor_alive;
        if bulk {
            if let Err(e) = self.monitor.pause_routes() {
                self.note_error(format!("pausing route notifications: {e}"));
            }
        }
        let mut inflight = None;
        let mut del_vteps = Vec::new();
        let mut items = prefixes.into_iter();
        let mut chunk = MIN_CHUNK;
        while items.len() > 0 {
            let take = chunk.min((items.len() / 4).max(MIN_CHUNK));
            chunk = (chunk * 2).min(CHUNK);
            let mut ops = Vec::with_capacity(take);
            let mut deletes = Vec::new();
            let mut add_vteps = Vec::new();
            for (prefix, redo) in items.by_ref().take(take) {
                self.plan_prefix(
                    prefix,
                    redo,
                    &mut ops,
                    &mut deletes,
                    &mut add_vteps,
                    &mut del_vteps,
                );
            }
            // VTEP entries a route depends on go in before the route.
            for v in &add_vteps {
                if let Err(e) = tunnel::ensure_vtep(&self.kernel, v).await {
                    self.note_error(e.to_string());
                }
            }
            ops.extend(deletes);
            if let Some(h) = inflight.take() {
                self.finish_write(h).await;
            }
            inflight = self.spawn_write(ops);
        }
        if let Some(h) = inflight {
            self.finish_write(h).await;
        }
        if bulk {
            if let Err(e) = self.monitor.resume_routes() {
                self.note_error(format!("resuming route notifications: {e}"));
            }
            self.schedule_resync();
        }
        // A VTEP one prefix let go of may have been taken up again by a later
        // prefix of the same batch (a node's block released and another
        // claimed): only entries nothing refers to any more go.
        del_vteps.retain(|v| !self.vtep_refs.contains_key(v));
        for v in &del_vteps {
            if let Err(e) = tunnel::remove_vtep(&self.kernel, v).await {
                self.note_error(e.to_string());
            }
        }
    }

    /// Re-decides one prefix: updates desired state and VTEP refcounts, pushes ops.
    fn plan_prefix(
        &mut self,
        prefix: IpNet,
        redo: Redo,
        replaces: &mut Vec<Op>,
        deletes: &mut Vec<Op>,
        add_vteps: &mut Vec<Vtep>,
        del_vteps: &mut Vec<Vtep>,
    ) {
        // A new best route is decided before it is stored: one map access, not two.
        let decision = match redo {
            Redo::Held => self.state.best(&prefix).map(|b| decide(&b, &self.ctx)),
            Redo::New(Some(b)) => {
                let d = decide(&b, &self.ctx);
                self.state.set_best(&prefix, Some(b));
                Some(d)
            }
            Redo::New(None) => {
                self.state.set_best(&prefix, None);
                None
            }
        };
        // The common case touches neither `skipped` nor the VTEP maps.
        let (want, vteps) = match decision {
            Some(Decision::Skip(why)) => {
                self.skipped.insert(prefix, why);
                (None, Vec::new())
            }
            other => {
                if !self.skipped.is_empty() {
                    self.skipped.remove(&prefix);
                }
                match other {
                    Some(Decision::Program { route, vteps }) => (Some(route), vteps),
                    _ => (None, Vec::new()),
                }
            }
        };
        if !vteps.is_empty() || !self.vteps_of.is_empty() {
            let old = if vteps.is_empty() {
                self.vteps_of.remove(&prefix).unwrap_or_default()
            } else {
                self.vteps_of.insert(prefix, vteps.clone()).unwrap_or_default()
            };
            for v in &vteps {
                let n = self.vtep_refs.entry(*v).or_default();
                *n += 1;
                if *n == 1 {
                    add_vteps.push(*v);
                }
            }
            for v in old {
                if let Some(n) = self.vtep_refs.get_mut(&v) {
                    *n -= 1;
                    if *n == 0 {
                        self.vtep_refs.remove(&v);
                        del_vteps.push(v);
                    }
                }
            }
        }
        self.state.held_into(&prefix, &mut self.held);
        // Withdrawn prefixes are deleted even while adopting: only routes nobody has
        // spoken about yet are protected as stale.
        plan_key(want.as_ref(), &self.held, Orphans::Delete, replaces, deletes);
        for h in want.iter().flat_map(|r| r.kind.hops()) {
            *self.dev_refs.entry(h.dev).or_default() += 1;
        }
        let old = self.state.set_want(&prefix, want.as_ref());
        for h in old.iter().flat_map(|r| r.kind.hops()) {
            if let Some(n) = self.dev_refs.get_mut(&h.dev) {
                *n -= 1;
                if *n == 0 {
                    self.dev_refs.remove(&h.dev);
                }
            }
        }
    }

    fn note_error(&mut self, e: String) {
        tracing::warn!("fib: {e}");
        self.status.last_error = Some(e);
    }

    /// Starts writing `ops` on a blocking thread (`None` if there is nothing to write).
    fn spawn_write(&mut self, ops: Vec<Op>) -> Option<WriteJob> {
        if ops.is_empty() {
            return None;
        }
        let mut w = self.writer.take()?;
        Some(tokio::task::spawn_blocking(move || {
            let r = w.apply(&ops);
            (w, ops, r)
        }))
    }

    /// Waits for a write and updates the kernel model with what succeeded.
    async fn finish_write(&mut self, job: WriteJob) -> usize {
        let (w, ops, report) = match job.await {
            Ok(x) => x,
            Err(e) => {
                self.note_error(format!("route writer thread: {e}"));
                return 0;
            }
        };
        self.writer = Some(w);
        let failed: HashSet<usize> = report.failed.iter().map(|(i, _)| *i).collect();
        for (i, e) in &report.failed {
            let msg = format!("{:?} refused: {e}", ops[*i]);
            self.note_error(msg);
        }
        self.status.failed_ops += report.failed.len() as u64;
        for (i, op) in ops.into_iter().enumerate() {
            if failed.contains(&i) {
                continue;
            }
            match op {
                Op::Replace(r) => self.state.hold(&r),
                Op::Delete(r) => self.state.forget(&r.prefix, r.metric),
            }
        }
        let n = report.ok + report.failed.len();
        let _ = self.events.send(FibEvent::Applied { ops: n, failed: failed.len() });
        if report.lost {
            // Replies were lost: the model may be wrong. Reread the kernel.
            Box::pin(self.resync("replies lost")).await;
        }
        n
    }

    /// Writes ops and waits for them.
    async fn write(&mut self, ops: Vec<Op>) -> usize {
        match self.spawn_write(ops) {
            Some(job) => self.finish_write(job).await,
            None => 0,
        }
    }

    /// Dumps our routes, replaces the model, and writes the full plan.
    async fn resync(&mut self, reason: &'static str) {
        self.status.resyncs += 1;
        // Any resync covers a pending overflow.
        self.resync_due = None;
        self.overflow_since = None;
        // Learning: one dump of the table gives ours and the others' routes (at a
        // million routes each walk of the table costs most of a second).
        // Only the configured table is ours: proto-12 routes in other tables
        // belong to someone else (another daemon, a second instance) and are
        // never adopted, so never deleted.
        let table = self.ctx.table;
        let alien = if self.cfg.learn {
            let (dumped, alien) = match self.kernel.dump_table(table).await {
                Ok(d) => d,
                Err(e) => return self.note_error(format!("dump: {e}")),
            };
            self.state.forget_all_held();
            for r in dumped.iter().filter(|r| r.table == table) {
                self.state.hold(r);
            }
            Some(alien)
        } else {
            // Route by route into the model: a full table is not held twice. A
            // failed dump leaves the model partial until the next resync; writes
            // against it are replaces of wanted routes, which are idempotent.
            self.state.forget_all_held();
            let state = &mut self.state;
            let dumped = self.dumper.ours(|r| {
                if r.table == table {
                    state.hold(&r);
                }
            });
            if let Err(e) = dumped {
                return self.note_error(format!("dump: {e}"));
            }
            None
        };
        let mut replaces = Vec::new();
        let mut deletes = Vec::new();
        // Every prefix either side holds, in one walk of the table.
        let mut have = std::mem::take(&mut self.held);
        for prefix in self.state.prefixes() {
            self.state.held_into(&prefix, &mut have);
            let want = self.state.want(&prefix);
            plan_key(want.as_ref(), &have, self.orphans, &mut replaces, &mut deletes);
        }
        self.held = have;
        // Address order: the kernel inserts far faster than in hash order.
        replaces.sort_unstable_by_key(|op| op.route().key());
        deletes.sort_unstable_by_key(|op| op.route().key());
        replaces.extend(deletes);
        let n = Box::pin(self.write(replaces)).await;
        if let Some(alien) = alien {
            self.learn_dump(alien);
        }
        let _ = self.events.send(FibEvent::Resynced { reason, ops: n });
    }

    async fn kernel_event(&mut self, ev: KernelEvent) {
        match ev {
            KernelEvent::Route { sender, .. } if sender == self.writer_port => {}
            KernelEvent::Route { key, .. } if key.table != self.ctx.table => {}
            KernelEvent::Route { key, route, ours, alien, deleted, metric, .. } => {
                if let (true, Some(a)) = (self.cfg.learn, alien) {
                    let change = match deleted {
                        true => self.learned.remove(a.key.prefix, a.metric),
                        false => {
                            let r = self.learned_route(a);
                            self.learned.upsert(r)
                        }
                    };
                    self.report_learned(change.into_iter().collect());
                }
                let wanted = self.state.is_wanted(&key.prefix);
                if !wanted && !self.state.is_held(&key.prefix) && !ours {
                    return;
                }
                // Whatever held this (key, metric) before is gone or overwritten; a
                // route of ours that is now there is recorded.
                self.state.forget(&key.prefix, metric);
                if let (false, Some(r)) = (deleted, route) {
                    self.state.hold(&r);
                }
                let mut ops = Vec::new();
                let mut dels = Vec::new();
                let mut have = std::mem::take(&mut self.held);
                self.state.held_into(&key.prefix, &mut have);
                let want = self.state.want(&key.prefix);
                plan_key(want.as_ref(), &have, self.orphans, &mut ops, &mut dels);
                self.held = have;
                ops.extend(dels);
                if !ops.is_empty() {
                    if !self.repair_allowed(key) {
                        return;
                    }
                    tracing::info!(prefix = %key.prefix, "fib: route changed by someone else; repairing");
                    self.write(ops).await;
                    self.status.repairs += 1;
                    let _ = self.events.send(FibEvent::Repaired(key));
                }
            }
            KernelEvent::Link { link, deleted } => {
                let was = if deleted {
                    self.names.remove(&link.index)
                } else {
                    self.names.insert(link.index, link.name.clone())
                };
                if !deleted && was.is_some_and(|w| w != link.name) {
                    // Renamed: next hops through it are reached by another name.
                    self.recheck_next_hops();
                }
                // Routes through a deleted device go, and IPv4 ones through a device
                // that went down, unannounced (a pod's veth and its workload route).
                if self.cfg.learn && (deleted || !link.up) {
                    let gone = self.learned.remove_dev(link.index, !deleted);
                    self.report_learned(gone);
                }
                let now = (!deleted).then_some((link.up, link.mtu));
                let before = match now {
                    Some(st) => self.links.insert(link.index, st),
                    None => self.links.remove(&link.index),
                };
                // Pods come and go with their veths all day; only links our routes,
                // addresses or tunnels use matter, and only when their state changed
                // (our own tunnel set-up echoes here too).
                if before == now || !self.link_matters(link.index, &link.name) {
                    return;
                }
                // An uplink MTU change re-sizes the tunnels (uplink − 50 / − 70 / − 20).
                let mtu_changed =
                    matches!((before, now), (Some((_, m0)), Some((_, m1))) if m0 != m1);
                self.context_event(mtu_changed).await;
                // IPv4 routes through a link that went down vanish without
                // RTM_DELROUTE, and cannot be put back until it is up: reread ours
                // when a known link goes down, comes back or disappears.
                let flapped = match (before, now) {
                    (Some((up0, _)), Some((up1, _))) => up0 != up1,
                    (Some(_), None) => true,
                    _ => false,
                };
                // Neighbour entries, permanent ones included, are flushed when a device
                // goes down or changes its MAC: put the VTEPs back.
                let t = self.ctx.tunnels;
                if (flapped || mtu_changed) && [t.vxlan_v4, t.vxlan_v6].contains(&Some(link.index))
                {
                    self.reensure_vteps(link.index).await;
                }
                let carries_routes = self.dev_refs.contains_key(&link.index);
                if flapped && carries_routes {
                    self.resync("link state").await;
                }
            }
            // Link-local and loopback addresses, and those of the interfaces Calico
            // leaves out (a pod's veth, kube-ipvs0's cluster IPs), cannot change how a
            // next hop is reached: no context to reread.
            KernelEvent::Addr { addr: None, .. } => {}
            KernelEvent::Addr { addr: Some(a), .. } if self.excluded(a.dev) => {}
            KernelEvent::Addr { .. } => self.context_event(false).await,
            KernelEvent::Overflow => {
                tracing::debug!("fib: kernel notifications overflowed; resync scheduled");
                self.schedule_resync();
            }
        }
    }

    /// Whether a repair of `key` may run now. Another agent that also owns the route
    /// (Felix deletes `proto bird` tunl0 routes when it owns IPIP) would otherwise fight
    /// us in a tight loop: after REPAIR_BURST repairs within REPAIR_WINDOW the key is left
    /// to the periodic resync, and the fight is reported.
    fn repair_allowed(&mut self, key: RouteKey) -> bool {
        let now = Instant::now();
        let (start, n) = self.repairs_of.entry(key).or_insert((now, 0));
        if now.duration_since(*start) > REPAIR_WINDOW {
            *start = now;
            *n = 0;
        }
        *n += 1;
        if *n > REPAIR_BURST {
            if *n == REPAIR_BURST + 1 {
                self.note_error(format!(
                    "{} keeps being changed by another agent; leaving it to the periodic resync",
                    key.prefix
                ));
            }
            return false;
        }
        if self.repairs_of.len() > 4096 {
            self.repairs_of.retain(|_, (t, _)| now.duration_since(*t) <= REPAIR_WINDOW);
        }
        true
    }

    /// Installs again every VTEP entry on `dev` (idempotent).
    async fn reensure_vteps(&mut self, dev: IfIndex) {
        let vteps: Vec<Vtep> = self.vtep_refs.keys().filter(|v| v.dev == dev).copied().collect();
        for v in &vteps {
            if let Err(e) = tunnel::ensure_vtep(&self.kernel, v).await {
                self.note_error(e.to_string());
            }
        }
    }

    /// Asks for a resync once things are quiet: OVERFLOW_QUIET after the last request,
    /// but never later than OVERFLOW_MAX_DELAY after the first, so bursts of overflows or
    /// bulk writes cost one resync, not one each.
    fn schedule_resync(&mut self) {
        let now = tokio::time::Instant::now();
        let first = *self.overflow_since.get_or_insert(now);
        self.resync_due = Some((now + OVERFLOW_QUIET).min(first + OVERFLOW_MAX_DELAY));
    }
}
