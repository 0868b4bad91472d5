//! [`KernelFib`]: the [`FibPort`] that programs the kernel through the `fib`
//! crate's actor, and resolves the RIB's next hops through it.
//!
//! ```text
//!   RibRoutes ─apply(FibChange)──► FibSender::update/withdraw ─► Fib task ─► kernel
//!             ─track/untrack─────► FibSender::track
//!   owner ◄─Input::NextHop── forwarder ◄── FibSender::watch_next_hops ◄─┤
//!   owner ◄─Input::KernelRoutes── forwarder ◄── FibSender::watch_learned ◄┘
//!         (other agents' routes of the table: BIRD's `learn`, `fib.learn`)
//!   show status ◄─ counters (Arc<Mutex>) ◄── poller ◄── FibSender::status
//!   show fib ◄─ query (on request) ◄── FibSender::routes/status
//! ```
//!
//! Nothing here waits for the kernel: the sender coalesces and never blocks,
//! the counters are refreshed by a poller task beside the owner every
//! [`POLL_MIN`], and `show fib` is built when a client asks, off the owner.
//!
//! The Fib task, its writer thread and the poller run on a thread of their
//! own ([`FIB_THREAD`], a current-thread runtime) at a lower CPU priority
//! ([`FIB_NICE`]): on a small node the kernel's route inserts and the FIB's
//! planning compete with routing for the same cores, and routing to peers
//! must not wait for them (`fib_busy_bench` measures it). With idle cores the
//! priority changes nothing.
//!
//! If the FIB cannot start (no `CAP_NET_ADMIN`, no netlink), the daemon
//! keeps routing without it: the failure is logged, and tracked next hops
//! are reported reachable so learned routes stay usable for BGP.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ctl::proto::{FibRoute as CtlRoute, FibRouteKind, FibSnapshot, FibStats};
use fib::{BestRoute, Fib, FibConfig, FibSender, RouteKind};
use ipnet::IpNet;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::Input;
use super::rib_routes::FibPort;
use crate::config::{self, ValidatedConfig};
use crate::rib::FibChange;

/// Period of the FIB counter refresh (`show status`, metrics).
pub const POLL_MIN: Duration = Duration::from_secs(1);

/// Name of the FIB's thread (its writer threads are `fib-writer`).
pub const FIB_THREAD: &str = "fib";

/// How much the FIB's threads are niced, relative to the daemon (at most to
/// 19): at 10 a busy FIB thread gets about
/// a tenth of the CPU share of a routing thread on the same core (CFS
/// weights 110 and 1024), and all of any idle core.
pub const FIB_NICE: i32 = 10;

/// Starts the Fib task and the `show fib` poller on a thread of their own
/// at [`FIB_NICE`]; returns once the FIB's sockets are open (or failed to).
fn start_fib_thread(
    cfg: FibConfig,
    snapshot: Arc<Mutex<Arc<FibSnapshot>>>,
) -> Result<(FibSender, tokio::runtime::Handle), String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name(FIB_THREAD.into())
        .spawn(move || {
            // Threads inherit the nice value of the thread that creates
            // them, so the runtime's blocking (writer) threads get it too.
            let tid = rustix::thread::gettid();
            // Relative to the daemon's own (19 is the lowest there is).
            let now = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
            let nice = now.saturating_add(FIB_NICE).min(19);
            if let Err(e) = rustix::process::setpriority_process(Some(tid), nice) {
                warn!("fib: cannot lower the FIB thread's priority: {e}");
            }
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("fib-writer")
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(format!("FIB runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                match Fib::start(cfg) {
                    Ok((sender, task)) => {
                        tokio::spawn(poll_stats(sender.clone(), snapshot));
                        let _ = tx.send(Ok((sender, tokio::runtime::Handle::current())));
                        let _ = task.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        })
        .map_err(|e| format!("spawning the FIB thread: {e}"))?;
    rx.recv().map_err(|_| "the FIB thread ended while starting".to_owned())?
}

/// The FIB settings of a configuration.
pub fn fib_config(cfg: &ValidatedConfig) -> FibConfig {
    let c = cfg.config();
    FibConfig {
        pools: pools(&c.ip_pools),
        // Calico's kernel filter rejects every range, advertised or not.
        service_ranges: c.services.all().map(|(_, r)| r.trunc()).collect(),
        program: program(c.fib.program_cluster_routes),
        manage_vxlan: c.fib.manage_vxlan,
        manage_tunl0: c.fib.manage_tunl0,
        learn: c.fib.learn,
        table: c.fib.table,
        // Our recovery ends by `graceful_restart.stale_time` at the latest
        // and calls `converged()`; this is only the FIB's own safety net.
        stale_timeout: std::time::Duration::from_secs(
            u64::from(c.graceful_restart.stale_time) + 30,
        ),
        // Calico's `network_v4` / `network_v6` are these addresses' networks.
        node_addrs: c
            .node
            .ipv4
            .map(IpNet::V4)
            .into_iter()
            .chain(c.node.ipv6.map(IpNet::V6))
            .collect(),
        static_routes: super::static_routes::of(cfg)
            .into_iter()
            .map(|(prefix, gateway)| fib::StaticRoute { prefix, gateway })
            .collect(),
        ..FibConfig::default()
    }
}

fn mode(m: config::EncapMode) -> fib::EncapMode {
    match m {
        config::EncapMode::Never => fib::EncapMode::Never,
        config::EncapMode::Always => fib::EncapMode::Always,
        config::EncapMode::CrossSubnet => fib::EncapMode::CrossSubnet,
    }
}

fn pools(v: &[config::IpPool]) -> Vec<fib::IpPool> {
    v.iter()
        .map(|p| fib::IpPool {
            cidr: p.cidr,
            ipip_mode: mode(p.ipip_mode),
            vxlan_mode: mode(p.vxlan_mode),
            disable_bgp_export: p.disable_bgp_export,
        })
        .collect()
}

fn program(p: config::ProgramClusterRoutes) -> fib::ProgramClusterRoutes {
    match p {
        config::ProgramClusterRoutes::Enabled => fib::ProgramClusterRoutes::Enabled,
        config::ProgramClusterRoutes::Disabled => fib::ProgramClusterRoutes::Disabled,
        config::ProgramClusterRoutes::EnabledIpipOnly => fib::ProgramClusterRoutes::EnabledIpipOnly,
        config::ProgramClusterRoutes::EnabledNoEncapOnly => {
            fib::ProgramClusterRoutes::EnabledNoEncapOnly
        }
    }
}

/// The RIB's kernel route change as the FIB takes it (next hops moved, not
/// copied: this runs for every prefix).
fn into_best_route(c: FibChange) -> (IpNet, Option<BestRoute>) {
    let best = c.route.map(|r| BestRoute {
        prefix: c.prefix,
        next_hops: r.next_hops,
        local_block: r.blackhole,
        priority: r.priority,
    });
    (c.prefix, best)
}

/// The kernel FIB. See the module documentation.
#[derive(Debug)]
pub struct KernelFib {
    cfg: FibConfig,
    sender: Option<FibSender>,
    /// The FIB thread's runtime: `show fib` is built there, at its priority.
    fib_rt: Option<tokio::runtime::Handle>,
    /// Set when the FIB could not start: next hops are answered from here.
    fallback: Option<mpsc::UnboundedSender<Input>>,
    /// Changes made before `start` (the blackholes of the configured blocks).
    early: Vec<FibChange>,
    early_track: Vec<IpAddr>,
    /// The latest `show fib` copy; the owner takes an `Arc` of it at every
    /// publication (a deep copy of a 1M-route snapshot stalled routing for
    /// tens of milliseconds each time).
    snapshot: Arc<Mutex<Arc<FibSnapshot>>>,
    /// Routes of ours the kernel held when the daemon started.
    previous_run: usize,
}

impl KernelFib {
    /// A FIB for `cfg`; it starts with the owner.
    pub fn new(cfg: &ValidatedConfig) -> Self {
        KernelFib {
            cfg: fib_config(cfg),
            sender: None,
            fib_rt: None,
            fallback: None,
            early: Vec::new(),
            early_track: Vec::new(),
            snapshot: Arc::default(),
            previous_run: 0,
        }
    }

    /// Records how many routes of ours (protocol 12, in our table) the
    /// kernel held at start ([`previous_run_routes`]): any means this start
    /// is a restart to recover from.
    pub fn set_previous_run(&mut self, routes: usize) {
        self.previous_run = routes;
    }
}

/// Routes of ours (protocol 12) in `table` the kernel holds now: before the
/// FIB starts, those a previous run left (BIRD's `persist`). An error
/// counts as none, after a warning.
pub async fn previous_run_routes(table: u32) -> usize {
    // Counted as the dump goes: a full table left by a previous run is not
    // held in memory to be counted.
    let mut n = 0;
    let counted = fib::netlink::dump::RouteDumper::open().and_then(|mut d| {
        d.ours(|r| {
            if r.table == table {
                n += 1;
            }
        })
    });
    match counted {
        Ok(()) => n,
        Err(e) => {
            warn!("cannot read the kernel routes of a previous run: {e}");
            0
        }
    }
}

fn send(sender: &FibSender, changes: Vec<FibChange>) {
    sender.apply(changes.into_iter().map(into_best_route));
}

impl FibPort for KernelFib {
    fn start(&mut self, inputs: mpsc::UnboundedSender<Input>) {
        let sender = match start_fib_thread(self.cfg.clone(), self.snapshot.clone()) {
            Ok((s, rt)) => {
                self.fib_rt = Some(rt);
                s
            }
            Err(e) => {
                error!("cannot start the FIB, routes will not be installed in the kernel: {e}");
                for addr in std::mem::take(&mut self.early_track) {
                    let _ = inputs.send(Input::NextHop { addr, cost: Some(0), iface: None });
                }
                self.fallback = Some(inputs);
                return;
            }
        };
        info!(
            "fib: table {}, {} pool(s), {:?}, manage_vxlan {}, manage_tunl0 {}, learn {}",
            self.cfg.table,
            self.cfg.pools.len(),
            self.cfg.program,
            self.cfg.manage_vxlan,
            self.cfg.manage_tunl0,
            self.cfg.learn
        );
        let mut reach = sender.watch_next_hops();
        let to_owner = inputs.clone();
        tokio::spawn(async move {
            while let Some(r) = reach.recv().await {
                if to_owner
                    .send(Input::NextHop { addr: r.addr, cost: r.cost, iface: r.dev })
                    .is_err()
                {
                    return;
                }
            }
        });
        if self.cfg.learn {
            let mut learned = sender.watch_learned();
            tokio::spawn(async move {
                while let Some(batch) = learned.recv().await {
                    let changes = batch.into_iter().map(Into::into).collect();
                    if inputs.send(Input::KernelRoutes(changes)).is_err() {
                        return;
                    }
                }
            });
        }
        send(&sender, std::mem::take(&mut self.early));
        sender.track(std::mem::take(&mut self.early_track), Vec::new());
        self.sender = Some(sender);
    }

    fn apply(&mut self, changes: Vec<FibChange>) {
        match &self.sender {
            Some(s) => send(s, changes),
            None if self.fallback.is_none() => self.early.extend(changes),
            None => {}
        }
    }

    fn track(&mut self, add: Vec<IpAddr>, remove: Vec<IpAddr>) {
        if let Some(s) = &self.sender {
            s.track(add, remove);
        } else if let Some(inputs) = &self.fallback {
            for addr in add {
                let _ = inputs.send(Input::NextHop { addr, cost: Some(0), iface: None });
            }
        } else {
            self.early_track.retain(|a| !remove.contains(a));
            self.early_track.extend(add);
        }
    }

    fn resolves_next_hops(&self) -> bool {
        true
    }

    fn converged(&mut self) {
        if let Some(s) = &self.sender {
            // The FIB task takes control messages before pending route
            // changes: without the flush, routes the RIB selected just now
            // would be missing from what it wants, deleted as stale and put
            // back a moment later.
            let s = s.clone();
            tokio::spawn(async move {
                s.flush().await;
                s.converged();
            });
        }
    }

    fn restarting(&self) -> bool {
        self.previous_run > 0
    }

    fn reconfigure(&mut self, cfg: &ValidatedConfig) {
        let new = fib_config(cfg);
        if new.table != self.cfg.table {
            warn!("fib.table changes take effect when the daemon restarts");
        }
        if (new.manage_vxlan, new.manage_tunl0, new.learn)
            != (self.cfg.manage_vxlan, self.cfg.manage_tunl0, self.cfg.learn)
        {
            warn!(
                "fib.manage_vxlan / fib.manage_tunl0 / fib.learn changes take effect when the \
                 daemon restarts"
            );
        }
        if new.static_routes != self.cfg.static_routes {
            if let Some(s) = &self.sender {
                s.set_static_routes(new.static_routes.clone());
            }
            self.cfg.static_routes = new.static_routes.clone();
        }
        let reloadable = |c: &FibConfig| {
            (c.pools.clone(), c.service_ranges.clone(), c.program, c.node_addrs.clone())
        };
        if reloadable(&new) != reloadable(&self.cfg) {
            if let Some(s) = &self.sender {
                s.reconfigure(new.clone());
            }
            self.cfg.pools = new.pools;
            self.cfg.service_ranges = new.service_ranges;
            self.cfg.program = new.program;
            self.cfg.node_addrs = new.node_addrs;
        }
    }

    fn snapshot(&self) -> Arc<FibSnapshot> {
        self.snapshot.lock().map(|s| Arc::clone(&s)).unwrap_or_default()
    }

    fn query(&self) -> super::rib_routes::FibQuery {
        let counters = self.snapshot();
        match (&self.sender, &self.fib_rt) {
            (Some(s), Some(rt)) => {
                // On the FIB's runtime, so that copying and converting a
                // full table runs at the FIB's priority, not the daemon's.
                let job = rt.spawn(fib_snapshot(s.clone()));
                Box::pin(async move { job.await.ok().flatten().unwrap_or(counters) })
            }
            _ => Box::pin(async move { counters }),
        }
    }

    fn stop(&mut self) {
        if let Some(s) = &self.sender {
            s.stop();
        }
    }
}

/// Refreshes the FIB's counters for `show status` and the metrics every
/// [`POLL_MIN`]. Only the counters: a copy of a full table's routes costs
/// the FIB task and a core most of a second, so `show fib` builds one when
/// asked ([`fib_snapshot`]).
async fn poll_stats(sender: FibSender, into: Arc<Mutex<Arc<FibSnapshot>>>) {
    loop {
        let Some(status) = sender.status().await else {
            return; // the FIB stopped
        };
        let snap = Arc::new(FibSnapshot { stats: fib_stats(&status), ..FibSnapshot::default() });
        if let Ok(mut s) = into.lock() {
            *s = snap;
        }
        tokio::time::sleep(POLL_MIN).await;
    }
}

fn fib_stats(status: &fib::FibStatus) -> FibStats {
    FibStats {
        wanted: status.desired as u64,
        installed: status.installed as u64,
        errors: status.failed_ops,
        ..FibStats::default()
    }
}

/// `show fib` in full: the FIB task copies its routes, and they are put in
/// the words of `show fib` on a blocking thread. `None` if the FIB stopped.
async fn fib_snapshot(sender: FibSender) -> Option<Arc<FibSnapshot>> {
    let (routes, status) = (sender.routes().await?, sender.status().await?);
    tokio::task::spawn_blocking(move || {
        let name = |i| routes.links.iter().find(|(x, _)| *x == i).map(|(_, n)| n.clone());
        let wanted: Vec<CtlRoute> = routes.wanted.iter().map(|r| ctl_route(r, &name)).collect();
        let installed: Vec<CtlRoute> =
            routes.installed.iter().map(|r| ctl_route(r, &name)).collect();
        let diff = FibSnapshot::compute_diff(&wanted, &installed);
        Arc::new(FibSnapshot { wanted, installed, diff, stats: fib_stats(&status) })
    })
    .await
    .ok()
}

/// A `fib` route in the words of `show fib`.
fn ctl_route(r: &fib::Route, name: &dyn Fn(fib::IfIndex) -> Option<String>) -> CtlRoute {
    let hops = r.kind.hops();
    CtlRoute {
        prefix: r.prefix,
        kind: match r.kind {
            RouteKind::Blackhole => FibRouteKind::Blackhole,
            _ => FibRouteKind::Unicast,
        },
        gateways: hops.iter().map(|h| h.gateway).collect(),
        device: hops.first().and_then(|h| name(h.dev)),
        onlink: hops.iter().any(|h| h.onlink),
        metric: (r.metric != 0).then_some(r.metric),
        table: r.table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::FibRoute;

    #[test]
    fn config_pools_and_switch_map_to_the_fib_ones() {
        let cfg = crate::config::parse_str(
            r#"
            [node]
            name = "a"
            ipv4 = "10.0.0.1/24"
            [fib]
            table = 100
            program_cluster_routes = "EnabledNoEncapOnly"
            [[ip_pools]]
            cidr = "10.244.0.0/16"
            vxlan_mode = "CrossSubnet"
            "#,
        )
        .unwrap();
        let f = fib_config(&cfg);
        assert_eq!(f.table, 100);
        assert_eq!(f.program, fib::ProgramClusterRoutes::EnabledNoEncapOnly);
        assert_eq!(f.pools[0].vxlan_mode, fib::EncapMode::CrossSubnet);
        assert_eq!(f.node_addrs, ["10.0.0.1/24".parse::<IpNet>().unwrap()]);
        assert!(!f.manage_vxlan && !f.manage_tunl0, "Felix's by default");
        assert!(f.learn, "Calico's BIRD learns the kernel's routes");
    }

    #[test]
    fn the_opt_ins_reach_the_fib() {
        let cfg = crate::config::parse_str(
            "[node]\nname = \"a\"\nipv4 = \"10.0.0.1/24\"\n[fib]\nmanage_vxlan = true\nmanage_tunl0 = true\n",
        )
        .unwrap();
        let f = fib_config(&cfg);
        assert!(f.manage_vxlan && f.manage_tunl0);
    }

    #[test]
    fn blackhole_change_is_a_local_block_and_a_removal_is_a_withdraw() {
        let p: ipnet::IpNet = "10.244.1.0/26".parse().unwrap();
        let c = FibChange {
            prefix: p,
            route: Some(FibRoute { next_hops: vec![], blackhole: true, priority: 0 }),
        };
        let b = into_best_route(c).1.unwrap();
        assert!(b.local_block && b.next_hops.is_empty());
        assert_eq!(into_best_route(FibChange { prefix: p, route: None }), (p, None));
    }
}
