//! The route-reflection benchmark: one route reflector and N iBGP
//! route-reflector clients, each announcing one /26 block, as a large Calico
//! cluster uses a reflector (RFC 4456). The reflector is calico-bgpd, BIRD 2
//! or FRR, in the same topology and with the same clients.
//!
//! ```text
//!  client namespace                                   reflector namespace
//!  N addresses 10.128.0.2.. on one veth  ── veth ──   10.128.0.1/16, AS 64512
//!  N clients (one tokio thread), AS 64512             N passive rr-client peers
//!  client i announces 10.192.0.0 + 64 i /26           no kernel programming
//! ```
//!
//! Every client address has a permanent neighbour entry on the reflector's
//! side (and the reflector one on the clients' side), so that thousands of
//! next hops on one link never meet the kernel's ARP table limit
//! (`gc_thresh3`, 1,024 by default, counts only entries that are not
//! permanent).
//!
//! One run: build the two namespaces, start the reflector, wait until it
//! listens on port 179 and its CPU time stands still (configuration loaded),
//! then at `t0` start every client at once. Measured:
//!
//! | figure | from | to |
//! |---|---|---|
//! | sessions up | `t0` | the last client's session Established |
//! | all blocks | every client announces its block | the last client holds the other N − 1 blocks |
//! | CPU | `t0` | all blocks (utime + stime of the reflector's process) |
//! | peak RSS | | the reflector's `VmHWM` at the end |
//!
//! The reflectors keep no kernel routes (calico-bgpd `[fib] enabled = false`,
//! BIRD without a kernel protocol, FRR's bgpd without zebra), so the figures
//! are BGP's alone: sessions, the RIB and the fan-out of N (N − 1) reflected
//! routes.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::fib_busy::{clk_tck, load_average, proc_ticks};
use crate::netns::{self, Netns, veth_pair};
use crate::peers::Neighbor;
use crate::peers::bird::{Bird, BirdConfig};
use crate::peers::frr::{Frr, FrrConfig};
use crate::process::{Daemon, status_kib, write_file};
use crate::{Result, Workdir, err, wait_until};

pub mod clients;

use clients::{Blocks, Fleet, FleetSpec};

/// The cluster's AS (Calico's default).
pub const ASN: u32 = 64512;
/// The reflector's address on the shared /16.
const REFLECTOR: Ipv4Addr = Ipv4Addr::new(10, 128, 0, 1);
/// The subnet of the reflector and every client.
const SUBNET_LEN: u8 = 16;
/// Client `i` is `10.128.0.2 + i`.
const FIRST_CLIENT: u32 = 0x0a80_0002;
/// Client `i`'s block is `10.192.0.0 + 64 i`/26, inside the pool.
const BLOCK_BASE: Ipv4Addr = Ipv4Addr::new(10, 192, 0, 0);
/// The IP pool holding every block (room for 16,384 of them).
const POOL: &str = "10.192.0.0/12";
/// The most clients the subnet and the pool hold.
pub const MAX_CLIENTS: u32 = 16_384;

/// Which speaker reflects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reflector {
    /// calico-bgpd, this binary.
    CalicoBgpd(PathBuf),
    /// BIRD 2 (`bird` on the PATH).
    Bird,
    /// FRR's bgpd (`/usr/lib/frr/bgpd`).
    Frr,
}

impl Reflector {
    /// The name in the tables.
    pub fn label(&self) -> &'static str {
        match self {
            Reflector::CalicoBgpd(_) => "calico-bgpd",
            Reflector::Bird => "BIRD",
            Reflector::Frr => "FRR",
        }
    }
}

/// What one run measures.
#[derive(Clone, Debug)]
pub struct Params {
    /// The reflector.
    pub reflector: Reflector,
    /// Clients (and blocks).
    pub n: u32,
    /// Deadline for every session to come up, from `t0`.
    pub up_timeout: Duration,
    /// Deadline for every client to hold every block, from the announcements.
    pub blocks_timeout: Duration,
}

impl Params {
    /// `n` clients of `reflector`, with deadlines growing with `n`.
    pub fn new(reflector: Reflector, n: u32) -> Params {
        // BIRD took 111 s to bring up 1,000 sessions on a loaded machine.
        let scale = Duration::from_millis(u64::from(n) * 200);
        Params {
            reflector,
            n,
            up_timeout: Duration::from_secs(60) + scale,
            blocks_timeout: Duration::from_secs(60) + scale * 2,
        }
    }
}

/// Everything one run measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The reflector's name.
    pub reflector: &'static str,
    /// Clients.
    pub n: u32,
    /// Load average (1 min) when the run started.
    pub load_at_start: f64,
    /// From `t0` to every session Established.
    pub sessions_up: Duration,
    /// From the announcements to every client holding every block.
    pub all_blocks: Duration,
    /// Reflector CPU seconds from `t0` to all sessions up.
    pub cpu_up: f64,
    /// Reflector CPU seconds from all sessions up to all blocks.
    pub cpu_blocks: f64,
    /// The reflector's peak resident set (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// Its resident set before `t0`, configuration loaded, KiB.
    pub idle_rss_kib: u64,
    /// Prefix announcements the clients received, repeats included: N (N − 1)
    /// when every route is sent once, N more when each client also gets its
    /// own block back (FRR and calico-bgpd send it; the client drops it by
    /// its ORIGINATOR_ID).
    pub announced: u64,
    /// Withdrawals the clients received (none is expected).
    pub withdrawn: u64,
}

impl RunResult {
    /// CPU seconds from `t0` to all blocks.
    pub fn cpu(&self) -> f64 {
        self.cpu_up + self.cpu_blocks
    }
}

/// A running reflector.
#[derive(Debug)]
enum Running {
    Calico(Daemon),
    Bird(Box<Bird>),
    Frr(Box<Frr>),
}

impl Running {
    fn daemon(&mut self) -> &mut Daemon {
        match self {
            Running::Calico(d) => d,
            Running::Bird(b) => b.daemon(),
            Running::Frr(f) => f.bgpd(),
        }
    }

    fn dump(&mut self) -> String {
        match self {
            Running::Calico(d) => d.log_tail(40),
            Running::Bird(b) => b.daemon().log_tail(40),
            Running::Frr(f) => f.bgpd().log_tail(40),
        }
    }
}

/// Client `i`'s address.
fn client_addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(FIRST_CLIENT + i)
}

/// calico-bgpd as a dedicated reflector: every client a passive `rr_client`
/// peer, no mesh, no graceful restart (the clients do not offer it), no
/// kernel routes.
pub fn calico_config(dir: &Path, n: u32) -> String {
    let mut c = format!(
        "control_socket = \"{ctl}\"\nlog_level = \"info\"\n\
         [node]\nname = \"rr\"\nlocal_as = {ASN}\nipv4 = \"{REFLECTOR}/{SUBNET_LEN}\"\n\
         [mesh]\nenabled = false\n\
         [route_reflector]\nenabled = true\n\
         [graceful_restart]\nenabled = false\n\
         [fib]\nenabled = false\n\
         [[ip_pools]]\ncidr = \"{POOL}\"\n",
        ctl = dir.join("bgpd.ctl").display(),
    );
    for i in 0..n {
        let _ = write!(
            c,
            "[[peers]]\nname = \"client-{i}\"\naddress = \"{}\"\nremote_as = {ASN}\n\
             passive = true\nrr_client = true\n",
            client_addr(i)
        );
    }
    c
}

fn neighbors(n: u32) -> impl Iterator<Item = Neighbor> {
    (0..n).map(|i| Neighbor::new(client_addr(i).into(), ASN).passive().rr_client())
}

fn start_reflector(p: &Params, ns: &Netns, dir: &Path) -> Result<Running> {
    Ok(match &p.reflector {
        Reflector::CalicoBgpd(bin) => {
            let conf = dir.join("calico-bgpd.toml");
            write_file(&conf, &calico_config(dir, p.n))?;
            let bin = bin.to_str().ok_or_else(|| err!("daemon path is not UTF-8"))?;
            let conf = conf.to_str().ok_or_else(|| err!("work dir is not UTF-8"))?;
            Running::Calico(Daemon::spawn(ns, "calico-bgpd", dir, &[bin, "--config", conf])?)
        }
        Reflector::Bird => {
            let mut c = BirdConfig::new(ASN, REFLECTOR.into()).without_kernel();
            c.neighbors.extend(neighbors(p.n));
            Running::Bird(Box::new(c.start(ns, &dir.join("bird"))?))
        }
        Reflector::Frr => {
            let mut c = FrrConfig::new(ASN, REFLECTOR.into()).without_kernel();
            c.neighbors.extend(neighbors(p.n));
            Running::Frr(Box::new(c.start(ns, &dir.join("frr"))?))
        }
    })
}

/// `ip -n NS -batch FILE` of `lines` (thousands of addresses and neighbour
/// entries in one process).
fn ip_batch(ns: &Netns, dir: &Path, name: &str, lines: &str) -> Result<()> {
    let file = dir.join(name);
    write_file(&file, lines)?;
    netns::run(Command::new("ip").arg("-n").arg(ns.name()).arg("-batch").arg(&file)).map(drop)
}

fn mac(ns: &Netns, iface: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(&ns.ip(&["-j", "link", "show", iface])?)?;
    v.get(0)
        .and_then(|l| l.get("address"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| err!("no MAC on {iface}"))
}

/// The link, the clients' addresses and the permanent neighbour entries.
fn link(p: &Params, rr: &Netns, cl: &Netns, dir: &Path) -> Result<()> {
    let (ci, ri) = veth_pair(cl, rr, &[], &[&format!("{REFLECTOR}/{SUBNET_LEN}")])?;
    let (cmac, rmac) = (mac(cl, &ci.name)?, mac(rr, &ri.name)?);
    let mut addrs = String::new();
    let mut neigh = String::new();
    for i in 0..p.n {
        let a = client_addr(i);
        let _ = writeln!(addrs, "addr add {a}/{SUBNET_LEN} dev {}", ci.name);
        let _ = writeln!(neigh, "neigh replace {a} lladdr {cmac} dev {} nud permanent", ri.name);
    }
    let _ =
        writeln!(addrs, "neigh replace {REFLECTOR} lladdr {rmac} dev {} nud permanent", ci.name);
    ip_batch(cl, dir, "client-addrs.batch", &addrs)?;
    ip_batch(rr, dir, "reflector-neigh.batch", &neigh)
}

/// Whether something in `ns` listens on TCP port 179.
fn listening(ns: &Netns) -> Result<bool> {
    Ok(!ns.exec(&["ss", "-Hltn", "sport = :179"])?.trim().is_empty())
}

/// Waits until the reflector listens and has used no CPU for half a second:
/// its configuration is loaded and it is idle.
fn wait_settled(r: &mut Running, ns: &Netns, timeout: Duration) -> Result<()> {
    let mut last = (u64::MAX, Instant::now());
    wait_until(timeout, "the reflector listening and idle", || {
        let d = r.daemon();
        d.check_running()?;
        if !listening(ns)? {
            return Ok(false);
        }
        let t = proc_ticks(d.pid());
        if t != last.0 {
            last = (t, Instant::now());
        }
        Ok(last.1.elapsed() >= Duration::from_millis(500))
    })
}

/// Waits until `count` reaches `n`, the reflector alive and no client failed.
fn wait_count(
    r: &mut Running,
    fleet: &Fleet,
    timeout: Duration,
    what: &str,
    count: impl Fn(&Fleet) -> usize,
    n: usize,
) -> Result<()> {
    wait_until(timeout, what, || {
        r.daemon().check_running()?;
        if let Some(f) = fleet.progress().failure_summary() {
            return Err(err!("{f}").fatal());
        }
        let c = count(fleet);
        if c >= n {
            return Ok(true);
        }
        let got = fleet.progress().announced.load(Ordering::Relaxed);
        Err(err!("{c} of {n}; {got} announcements received"))
    })
}

/// Runs one measurement. See the module documentation.
pub fn run(p: &Params) -> Result<RunResult> {
    if p.n < 2 || p.n > MAX_CLIENTS {
        return Err(err!("clients: 2 to {MAX_CLIENTS}, not {}", p.n));
    }
    let load_at_start = load_average();
    let clk = clk_tck();
    let wd = Workdir::new("rrscale")?;
    let dir = wd.path().to_owned();
    let (rr, cl) = (Netns::new("rrR")?, Netns::new("rrC")?);
    link(p, &rr, &cl, &dir)?;
    let mut r = start_reflector(p, &rr, &dir)?;
    let result = measure(p, &mut r, &rr, &cl, clk);
    let result = result.map_err(|e| err!("{}: {e}\n{}", p.reflector.label(), r.dump()));
    drop(r);
    let mut res = result?;
    res.load_at_start = load_at_start;
    Ok(res)
}

fn measure(p: &Params, r: &mut Running, rr: &Netns, cl: &Netns, clk: f64) -> Result<RunResult> {
    let settle = Duration::from_secs(30) + Duration::from_millis(u64::from(p.n) * 20);
    wait_settled(r, rr, settle)?;
    let pid = r.daemon().pid();
    let idle_rss_kib = status_kib(pid, "VmRSS:")?;
    let n = p.n as usize;
    let spec = FleetSpec {
        asn: ASN,
        reflector: REFLECTOR,
        addrs: (0..p.n).map(client_addr).collect(),
        blocks: Blocks { base: BLOCK_BASE, n: p.n },
        connect_for: p.up_timeout,
    };
    let ticks0 = proc_ticks(pid);
    let t0 = Instant::now();
    let fleet = Fleet::start(cl, spec)?;
    let up = |f: &Fleet| f.progress().established.load(Ordering::Relaxed);
    wait_count(r, &fleet, p.up_timeout, "every session Established", up, n)?;
    let t_up = fleet.progress().last_established.lock().ok().and_then(|t| *t).unwrap_or(t0);
    let ticks_up = proc_ticks(pid);

    let t1 = Instant::now();
    fleet.announce();
    let done = |f: &Fleet| f.progress().complete.load(Ordering::Relaxed);
    wait_count(r, &fleet, p.blocks_timeout, "every client holding every block", done, n)?;
    let t_done = fleet.progress().last_complete.lock().ok().and_then(|t| *t).unwrap_or(t1);
    let ticks_done = proc_ticks(pid);
    let peak_rss_kib = status_kib(pid, "VmHWM:")?;
    r.daemon().check_running()?;
    let progress = fleet.progress();
    Ok(RunResult {
        reflector: p.reflector.label(),
        n: p.n,
        load_at_start: 0.0,
        sessions_up: t_up.saturating_duration_since(t0),
        all_blocks: t_done.saturating_duration_since(t1),
        cpu_up: ticks_up.saturating_sub(ticks0) as f64 / clk,
        cpu_blocks: ticks_done.saturating_sub(ticks_up) as f64 / clk,
        peak_rss_kib,
        idle_rss_kib,
        announced: progress.announced.load(Ordering::Relaxed),
        withdrawn: progress.withdrawn.load(Ordering::Relaxed),
    })
}

/// `value (ratio×)` against BIRD's figure of the same N, if there is one.
fn with_ratio(v: f64, bird: Option<f64>, prec: usize) -> String {
    match bird {
        Some(b) if b > 0.0 => format!("{v:.prec$} ({:.2}×)", v / b),
        _ => format!("{v:.prec$}"),
    }
}

/// The markdown table of `runs`: each figure with its ratio to BIRD's at the
/// same N, then a line per run with the CPU split and what the clients got.
pub fn table(runs: &[RunResult]) -> String {
    let mut s = String::from(
        "| reflector | N | sessions up s | all blocks s | CPU s | peak RSS MiB |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let bird = |n: u32| runs.iter().find(|r| r.n == n && r.reflector == "BIRD");
    let mib = |k: u64| k as f64 / 1024.0;
    for r in runs {
        let b = bird(r.n);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.reflector,
            r.n,
            with_ratio(r.sessions_up.as_secs_f64(), b.map(|b| b.sessions_up.as_secs_f64()), 2),
            with_ratio(r.all_blocks.as_secs_f64(), b.map(|b| b.all_blocks.as_secs_f64()), 2),
            with_ratio(r.cpu(), b.map(RunResult::cpu), 2),
            with_ratio(mib(r.peak_rss_kib), b.map(|b| mib(b.peak_rss_kib)), 1),
        );
    }
    s.push('\n');
    for r in runs {
        let _ = writeln!(
            s,
            "{} N {}: CPU s {:.2} to sessions up + {:.2} to all blocks; RSS MiB {:.1} idle, \
             {:.1} peak; clients got {} announcements ({} of others' blocks), {} withdrawals; \
             load at start {:.2}",
            r.reflector,
            r.n,
            r.cpu_up,
            r.cpu_blocks,
            mib(r.idle_rss_kib),
            mib(r.peak_rss_kib),
            r.announced,
            u64::from(r.n) * u64::from(r.n - 1),
            r.withdrawn,
            r.load_at_start
        );
    }
    s
}
