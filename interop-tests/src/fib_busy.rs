//! The "routing while the FIB is busy" benchmark: does calico-bgpd
//! route to its peers as fast while its FIB writes a full table into the
//! kernel as it does with kernel programming switched off?
//!
//! ```text
//!  ns A  injector (AS 65001) ──eBGP──┐           ns D                        ns B
//!        N /32s in 10.0.0.0/12       ├──> calico-bgpd (AS 64512) ──eBGP──> receiver (AS 65002)
//!  ns C  prober   (AS 65003) ──eBGP──┘    FIB on:  routes into D's kernel   counts prefixes,
//!        one /32 in 10.255/16 per 10 ms   FIB off: program_cluster_routes   timestamps probes,
//!                                                  = "Disabled"             KEEPALIVE gaps
//! ```
//!
//! Every prefix lies in the one IP pool (10.0.0.0/8), so the daemon exports
//! it to the receiver (Calico's pool filter) and the `[fib]` switch decides
//! whether it reaches the kernel; nothing else differs between the two runs.
//! The probes come from their own session so that they do not queue behind
//! the bulk in the injector's TCP stream: what delays them is the daemon.
//!
//! One run: build the four namespaces (named with the PID, removed at the
//! end), start calico-bgpd with `RUST_LOG=info,fib=debug`, establish the
//! three sessions, send a warm-up probe and `idle_probes` probes (the idle
//! baseline), then at `t0` start writing the N prefixes from a thread while
//! the main thread sends a probe every `probe_every` and follows the FIB's
//! `fib: batch applied prefixes=…` log lines. The FIB is done when those
//! batches add up to N; the run ends `after` past both that and the
//! receiver holding all N. Each probe is filed in the window it was sent in:
//!
//! | window | from | to |
//! |---|---|---|
//! | idle | before `t0` | |
//! | in flight | `t0` | the receiver has all N (the bulk is being routed) |
//! | FIB only | bulk routed | the FIB's batches cover N (empty when the FIB keeps up) |
//! | after | FIB done | + `after` (includes the FIB's resync of its kernel model) |
//!
//! The CPU time of calico-bgpd (utime + stime from `/proc`, also per thread)
//! is taken over `t0` to the end, and the event-loop lag from its metrics
//! endpoint.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
use bgp::wire::pack::pack_announcements;
use bgp::wire::{AfiSafi, DecodeCtx, EncodeCtx, Nlri, UpdateMsg};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net};
use nix::sched::{CloneFlags, setns};

use crate::injector::{Incoming, Injector, InjectorConfig};
use crate::netns::{self, Netns, veth_pair};
use crate::process::{Daemon, status_kib};
use crate::{Result, Workdir, err, wait_until};
use speaker::Running;
pub use speaker::Speaker;

/// The daemon's AS.
pub const DAEMON_AS: u32 = 64512;
const INJECTOR_AS: u32 = 65001;
const RECEIVER_AS: u32 = 65002;
const PROBER_AS: u32 = 65003;
/// The IP pool holding every prefix of the run.
const POOL: &str = "10.0.0.0/8";
/// Bulk prefixes are /32s counted up from 10.0.0.0 (1M end at 10.15.255.255).
const BULK_BASE: u32 = 0x0a00_0000;
/// Probe `i` is the /32 `10.255.0.0 + i`.
const PROBE_BASE: u32 = 0x0aff_0000;
/// Probes available in 10.255.0.0/16.
pub const MAX_PROBES: u32 = 1 << 16;
/// Where calico-bgpd serves its metrics, inside its namespace.
const METRICS: &str = "127.0.0.1:9179";
/// Bulk UPDATEs are written in buffers of about this size (one lock, one
/// syscall each).
const WRITE_CHUNK: usize = 64 * 1024;

/// The links: (injector side, daemon side) of A-D, C-D, B-D.
const LINK_A: (&str, &str) = ("192.168.10.2", "192.168.10.1");
const LINK_C: (&str, &str) = ("192.168.11.2", "192.168.11.1");
const LINK_B: (&str, &str) = ("192.168.12.2", "192.168.12.1");

/// What one run measures.
#[derive(Clone, Debug)]
pub struct Params {
    /// The speaker in namespace D.
    pub speaker: Speaker,
    /// The calico-bgpd binary.
    pub daemon: PathBuf,
    /// Bulk prefixes.
    pub n: u32,
    /// Kernel programming on (`program_cluster_routes = "Enabled"`) or off
    /// (`"Disabled"`).
    pub fib: bool,
    /// Time between two probes.
    pub probe_every: Duration,
    /// Probes sent before the bulk, for the idle baseline.
    pub idle_probes: u32,
    /// How long to keep probing once the bulk is routed and the FIB is done.
    pub after: Duration,
    /// Deadline for the whole measurement (from `t0`).
    pub timeout: Duration,
}

impl Params {
    /// A run of `n` prefixes with the FIB `fib`: a probe every 10 ms, 100
    /// idle probes, 2 s after, 180 s deadline.
    pub fn new(daemon: impl Into<PathBuf>, n: u32, fib: bool) -> Params {
        Params {
            speaker: Speaker::CalicoBgpd,
            daemon: daemon.into(),
            n,
            fib,
            probe_every: Duration::from_millis(10),
            idle_probes: 100,
            after: Duration::from_secs(2),
            timeout: Duration::from_secs(180),
        }
    }
}

/// The phase of a run a probe was sent in (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Window {
    /// Before the bulk.
    Idle,
    /// While the bulk is being routed to the receiver.
    InFlight,
    /// The bulk is routed, the FIB is still writing it.
    FibOnly,
    /// After both, including the FIB's resync.
    After,
}

impl Window {
    /// Every window, in time order.
    pub const ALL: [Window; 4] = [Window::Idle, Window::InFlight, Window::FibOnly, Window::After];

    /// The name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Window::Idle => "idle",
            Window::InFlight => "bulk in flight",
            Window::FibOnly => "FIB only",
            Window::After => "after",
        }
    }
}

/// Probe latencies of one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latencies {
    /// The window.
    pub window: Window,
    /// Probes sent in it.
    pub sent: usize,
    /// Of those, never seen by the receiver.
    pub lost: usize,
    /// Median, 99th percentile and largest latency of those seen.
    pub p50: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

/// Everything one run measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The speaker measured.
    pub speaker: Speaker,
    /// Bulk prefixes.
    pub n: u32,
    /// Kernel programming on or off.
    pub fib: bool,
    /// Load average (1 min) when the run started.
    pub load_at_start: f64,
    /// From the first bulk UPDATE written to the receiver holding all N.
    pub bulk_wall: Duration,
    /// From `t0` to the FIB's batches covering N (log lines seen).
    pub fib_done: Option<Duration>,
    /// Probe latencies per window (empty windows left out).
    pub windows: Vec<Latencies>,
    /// Probes sent, warm-up included.
    pub probes_sent: u32,
    /// calico-bgpd CPU seconds (utime + stime) from `t0` to the end.
    pub cpu_secs: f64,
    /// The same per thread, busiest first (idle ones too).
    pub threads: Vec<ThreadCpu>,
    /// Largest gap between two KEEPALIVEs the receiver got from the daemon.
    pub max_keepalive_gap: Option<Duration>,
    /// The daemon's `event_loop_lag_max_seconds` at the end.
    pub lag_max: Option<f64>,
    /// Routes of protocol 12 in the daemon's kernel table at the end.
    pub kernel_routes: usize,
    /// The speaker's peak resident memory over its life (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// Its resident memory at the end (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// The FIB's batches since `t0`: (seen at, prefixes).
    pub batches: Vec<(Duration, u64)>,
    /// Sessions that ended during the run (none is the expected outcome).
    pub drops: Vec<String>,
}

impl RunResult {
    /// Probes never seen by the receiver, over all windows.
    pub fn lost(&self) -> usize {
        self.windows.iter().map(|w| w.lost).sum()
    }

    /// The latencies of `w`, if any probe was sent in it.
    pub fn window(&self, w: Window) -> Option<&Latencies> {
        self.windows.iter().find(|l| l.window == w)
    }

    /// "on" or "off".
    pub fn fib_label(&self) -> &'static str {
        if self.fib { "on" } else { "off" }
    }

    /// The speaker and the FIB switch, as in the tables' first column.
    pub fn label(&self) -> String {
        format!("{}, {}", self.speaker.label(), self.fib_label())
    }
}

/// One thread's CPU time over a run.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadCpu {
    /// Its name (`comm`): tokio's workers and blocking threads share one.
    pub name: String,
    /// Its thread id.
    pub tid: u32,
    /// Its nice value at the end of the run.
    pub nice: i64,
    /// User CPU seconds.
    pub user: f64,
    /// System CPU seconds (for the FIB's writer thread: the kernel's route inserts).
    pub sys: f64,
}

/// The namespaces, the daemon and the work dir of one run; the daemon is
/// stopped (by PID) before the namespaces go.
struct World {
    daemon: Running,
    d: Netns,
    a: Netns,
    b: Netns,
    c: Netns,
    dir: PathBuf,
    _wd: Workdir,
}

/// The daemon's configuration for a run.
fn daemon_config(dir: &Path, fib: bool) -> String {
    let program = if fib { "Enabled" } else { "Disabled" };
    let peer = |name: &str, link: (&str, &str), asn: u32| {
        format!(
            "[[peers]]\nname = \"{name}\"\naddress = \"{}\"\nremote_as = {asn}\npassive = true\n\
             source_address = \"{}\"\n",
            link.0, link.1
        )
    };
    format!(
        "control_socket = \"{ctl}\"\nlog_level = \"info\"\n\
         [node]\nname = \"bench\"\nlocal_as = {DAEMON_AS}\nipv4 = \"{me}/24\"\n\
         [mesh]\nenabled = false\n\
         [timers]\nhold_time = 9\n\
         [graceful_restart]\nenabled = false\n\
         [fib]\nprogram_cluster_routes = \"{program}\"\n\
         [metrics]\nlisten = \"{METRICS}\"\n\
         [[ip_pools]]\ncidr = \"{POOL}\"\n{}{}{}",
        peer("injector", LINK_A, INJECTOR_AS),
        peer("prober", LINK_C, PROBER_AS),
        peer("receiver", LINK_B, RECEIVER_AS),
        ctl = dir.join("bgpd.ctl").display(),
        me = LINK_A.1,
    )
}

fn world(p: &Params) -> Result<World> {
    let wd = Workdir::new("fibbusy")?;
    let dir = wd.path().to_owned();
    let (d, a, b, c) =
        (Netns::new("fbD")?, Netns::new("fbA")?, Netns::new("fbB")?, Netns::new("fbC")?);
    for (ns, link) in [(&a, LINK_A), (&c, LINK_C), (&b, LINK_B)] {
        veth_pair(ns, &d, &[&format!("{}/24", link.0)], &[&format!("{}/24", link.1)])?;
    }
    if p.speaker == Speaker::Bird {
        let neighbors = [(LINK_A, INJECTOR_AS), (LINK_C, PROBER_AS), (LINK_B, RECEIVER_AS)]
            .map(|(l, asn)| (IpAddr::V4(ip4(l.0)), IpAddr::V4(ip4(l.1)), asn));
        let me = IpAddr::V4(ip4(LINK_A.1));
        let daemon = Running::bird(&d, &dir, DAEMON_AS, me, &neighbors, p.fib)?;
        return Ok(World { daemon, d, a, b, c, dir, _wd: wd });
    }
    let conf = dir.join("calico-bgpd.toml");
    crate::process::write_file(&conf, &daemon_config(&dir, p.fib))?;
    let bin = p.daemon.to_str().ok_or_else(|| err!("daemon path is not UTF-8"))?;
    let conf_s = conf.to_str().ok_or_else(|| err!("work dir is not UTF-8"))?;
    let daemon = Daemon::spawn_env(
        &d,
        "calico-bgpd",
        &dir,
        &[bin, "--config", conf_s],
        &[("RUST_LOG", "info,fib=debug")],
    )?;
    Ok(World { daemon: Running::Calico(daemon), d, a, b, c, dir, _wd: wd })
}

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
}

/// How the injector encodes on every session here: 4-octet AS, nothing else.
fn encode_ctx(ebgp: bool) -> EncodeCtx {
    EncodeCtx { four_octet_as: true, ebgp, ..EncodeCtx::default() }
}

/// Complete UPDATE messages announcing `prefixes` from `asn` via `next_hop`.
fn updates(asn: u32, next_hop: Ipv4Addr, prefixes: &[Nlri]) -> Result<Vec<Bytes>> {
    let attrs = PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![asn])),
        ..PathAttrs::default()
    };
    let nh = MpNextHop::Ipv4(next_hop);
    pack_announcements(&attrs, AfiSafi::IPV4_UNICAST, nh, prefixes, &encode_ctx(true))
        .map_err(|e| err!("packing UPDATEs: {e:?}"))
}

fn host(base: u32, i: u32) -> Nlri {
    let a = Ipv4Addr::from(base.wrapping_add(i));
    Nlri::new(IpNet::V4(Ipv4Net::new(a, 32).unwrap_or_default()))
}

/// The bulk as write buffers of about [`WRITE_CHUNK`] octets of whole messages.
fn bulk_buffers(n: u32) -> Result<Vec<Vec<u8>>> {
    let nlri: Vec<Nlri> = (0..n).map(|i| host(BULK_BASE, i)).collect();
    let mut out = Vec::new();
    let mut buf = Vec::with_capacity(WRITE_CHUNK + 4096);
    for m in updates(INJECTOR_AS, ip4(LINK_A.0), &nlri)? {
        buf.extend_from_slice(&m);
        if buf.len() >= WRITE_CHUNK {
            out.push(std::mem::take(&mut buf));
        }
    }
    if !buf.is_empty() {
        out.push(buf);
    }
    Ok(out)
}

/// What the receiver saw, shared with the main thread while the run goes.
#[derive(Debug, Default)]
struct Seen {
    bulk: u64,
    bulk_done: Option<Instant>,
    probes: HashMap<u32, Instant>,
    last_keepalive: Option<Instant>,
    max_keepalive_gap: Option<Duration>,
    ended: Option<String>,
    undecodable: u64,
}

/// Where a prefix the receiver got belongs.
enum Kind {
    Bulk,
    Probe(u32),
    Other,
}

fn classify(p: &IpNet, n: u32) -> Kind {
    let IpNet::V4(v4) = p else { return Kind::Other };
    if v4.prefix_len() != 32 {
        return Kind::Other;
    }
    let a = u32::from(v4.addr());
    match (a.checked_sub(BULK_BASE), a.checked_sub(PROBE_BASE)) {
        (_, Some(i)) if i < MAX_PROBES => Kind::Probe(i),
        (Some(i), _) if i < n => Kind::Bulk,
        _ => Kind::Other,
    }
}

/// The receiver thread: decodes every UPDATE with the codec, counts bulk
/// prefixes, timestamps probes and KEEPALIVEs, until `stop`.
fn receive(mut inj: Injector, n: u32, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) -> Injector {
    let ctx = DecodeCtx { four_octet_as: true, ebgp: true, ..DecodeCtx::default() };
    while !stop.load(Ordering::Relaxed) {
        let Some(m) = inj.recv(Duration::from_millis(20)) else { continue };
        let now = Instant::now();
        let (mut bulk, mut probes, mut bad) = (0u64, Vec::new(), 0u64);
        let mut keepalive = false;
        let mut ended = None;
        match m {
            Incoming::Update(body) => match UpdateMsg::decode(&Bytes::from(body), &ctx) {
                Ok(u) => {
                    for (_, nlri) in u.announcements() {
                        match classify(&nlri.prefix, n) {
                            Kind::Bulk => bulk += 1,
                            Kind::Probe(i) => probes.push(i),
                            Kind::Other => {}
                        }
                    }
                }
                Err(_) => bad += 1,
            },
            Incoming::Keepalive => keepalive = true,
            Incoming::Notification(note) => ended = Some(format!("NOTIFICATION {note}")),
            Incoming::Closed(why) => ended = Some(format!("closed: {why}")),
            _ => {}
        }
        let Ok(mut s) = seen.lock() else { break };
        s.bulk += bulk;
        if s.bulk_done.is_none() && s.bulk >= u64::from(n) {
            s.bulk_done = Some(now);
        }
        for i in probes {
            s.probes.entry(i).or_insert(now);
        }
        s.undecodable += bad;
        if keepalive {
            if let Some(last) = s.last_keepalive {
                let gap = now - last;
                s.max_keepalive_gap = Some(s.max_keepalive_gap.map_or(gap, |g| g.max(gap)));
            }
            s.last_keepalive = Some(now);
        }
        if ended.is_some() {
            s.ended = ended;
            break;
        }
    }
    inj
}

/// New complete lines of a growing log file.
struct LogTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl LogTail {
    /// Starts at the current end of `path`.
    fn at_end(path: PathBuf) -> LogTail {
        let offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        LogTail { path, offset, partial: String::new() }
    }

    fn poll(&mut self) -> Vec<String> {
        let Ok(mut f) = File::open(&self.path) else { return Vec::new() };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        let Ok(got) = f.read_to_end(&mut buf) else { return Vec::new() };
        self.offset += got as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let Some(end) = self.partial.rfind('\n') else { return Vec::new() };
        let rest = self.partial.split_off(end + 1);
        let lines = std::mem::replace(&mut self.partial, rest);
        lines.lines().map(str::to_owned).collect()
    }
}

/// The prefix count of a `fib: batch applied prefixes=N took=…` line.
pub fn batch_prefixes(line: &str) -> Option<u64> {
    if !line.contains("fib: batch applied") {
        return None;
    }
    let rest = line.split("prefixes=").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Clock ticks per second for `/proc/*/stat` times.
pub fn clk_tck() -> f64 {
    netns::run(Command::new("getconf").arg("CLK_TCK"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The fields of a `/proc/.../stat` line from field 3 (state) on.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    // The name may hold spaces and parentheses; the fields follow the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    Some(after.split_whitespace().collect())
}

/// The nice value (field 19 of stat(5)) from a `/proc/.../stat` line.
pub fn stat_nice(stat: &str) -> Option<i64> {
    stat_fields(stat)?.get(16)?.parse().ok()
}

/// (utime, stime) in ticks from a `/proc/.../stat` line.
pub fn stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let f = stat_fields(stat)?;
    // Fields 14 and 15 of stat(5); the first after ')' is field 3.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime, stime))
}

/// utime + stime of process `pid` (all its threads), in ticks; 0 once it is gone.
pub fn proc_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| stat_ticks(&s))
        .map_or(0, |(u, s)| u + s)
}

/// Ticks per thread of `pid`: tid -> (name, (utime, stime), nice).
fn thread_ticks(pid: u32) -> HashMap<u32, (String, (u64, u64), i64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let name = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ticks = stat_ticks(&stat).unwrap_or_default();
        let nice = stat_nice(&stat).unwrap_or_default();
        out.insert(tid, (name.trim().to_owned(), ticks, nice));
    }
    out
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// `GET /metrics` from the daemon's endpoint inside its namespace.
fn metrics(ns: &Netns) -> Result<String> {
    let path = format!("/run/netns/{}", ns.name());
    std::thread::spawn(move || -> Result<String> {
        let fd = File::open(&path).map_err(|e| err!("open {path}: {e}"))?;
        setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| err!("setns {path}: {e}"))?;
        let addr: SocketAddr = METRICS.parse().map_err(|e| err!("{METRICS}: {e}"))?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut body = String::new();
        s.read_to_string(&mut body)?;
        Ok(body)
    })
    .join()
    .map_err(|_| err!("metrics thread panicked"))?
}

/// A sample's value in Prometheus text, by metric name.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Routes of protocol 12 in the main IPv4 table of `ns`.
fn kernel_routes(ns: &Netns) -> Result<usize> {
    let cmd = format!("ip -n {} -4 route show proto bird | wc -l", ns.name());
    let out = netns::run(Command::new("sh").args(["-c", &cmd]))?;
    out.trim().parse().map_err(|e| err!("counting routes: {e} in {out:?}"))
}

/// Nearest-rank percentile of sorted `v` (`p` in 0..=100).
pub fn percentile(v: &[Duration], p: u32) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = (v.len() * p as usize).div_ceil(100).max(1);
    v[rank.min(v.len()) - 1]
}

/// Files each probe (sent at `sent[i]`) into its window and summarises.
fn windows(
    sent: &[Instant],
    got: &HashMap<u32, Instant>,
    t0: Instant,
    bulk_done: Instant,
    fib_done: Instant,
) -> Vec<Latencies> {
    let mut per: HashMap<Window, (usize, usize, Vec<Duration>)> = HashMap::new();
    // Probe 0 is the warm-up that proves the path; it is not measured.
    for (i, s) in sent.iter().enumerate().skip(1) {
        let w = if *s < t0 {
            Window::Idle
        } else if *s < bulk_done {
            Window::InFlight
        } else if *s < fib_done {
            Window::FibOnly
        } else {
            Window::After
        };
        let e = per.entry(w).or_default();
        e.0 += 1;
        match u32::try_from(i).ok().and_then(|i| got.get(&i)) {
            Some(r) => e.2.push(r.saturating_duration_since(*s)),
            None => e.1 += 1,
        }
    }
    Window::ALL
        .iter()
        .filter_map(|w| {
            let (sent, lost, mut v) = per.remove(w)?;
            v.sort_unstable();
            Some(Latencies {
                window: *w,
                sent,
                lost,
                p50: percentile(&v, 50),
                p99: percentile(&v, 99),
                max: v.last().copied().unwrap_or_default(),
            })
        })
        .collect()
}

/// With `FIB_BUSY_PERF=STEM` set, `perf record` of the daemon from `t0` to the
/// end of the run into `STEM-<N>-fib-<on|off>.data` (a sampling profile per
/// thread: the owner runs on the main thread, named `calico-bgpd`, whose
/// tid is the PID).
fn start_perf(pid: u32, p: &Params) -> Result<Option<std::process::Child>> {
    let Some(stem) = std::env::var_os("FIB_BUSY_PERF") else { return Ok(None) };
    let out =
        format!("{}-{}-fib-{}.data", stem.to_string_lossy(), p.n, if p.fib { "on" } else { "off" });
    // FIB_BUSY_PERF_ARGS replaces the sampling options, `{pid}` standing for
    // the daemon (e.g. "-F 299 --call-graph dwarf -t {pid}" for the owner's stacks).
    let opts = std::env::var("FIB_BUSY_PERF_ARGS").unwrap_or_else(|_| "-F 499 -p {pid}".into());
    let opts = opts.replace("{pid}", &pid.to_string());
    let child = Command::new("perf")
        .args(["record", "-q", "-o", &out])
        .args(opts.split_whitespace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| err!("starting perf: {e}"))?;
    // perf needs a moment to attach to every thread.
    std::thread::sleep(Duration::from_millis(300));
    Ok(Some(child))
}

/// Sends probe `id` and records when.
fn probe(prober: &Injector, id: u32, sent: &mut Vec<Instant>) -> Result<()> {
    let m = updates(PROBER_AS, ip4(LINK_C.0), &[host(PROBE_BASE, id)])?;
    let t = Instant::now();
    for u in &m {
        prober.send_raw(u)?;
    }
    sent.push(t);
    Ok(())
}

/// Runs one measurement. See the module documentation.
pub fn run(p: &Params) -> Result<RunResult> {
    if p.n == 0 {
        return Err(err!("n must be at least 1"));
    }
    let load_at_start = load_average();
    let clk = clk_tck();
    let mut w = world(p)?;
    let log_path = w.dir.join("calico-bgpd.stderr");
    let dump = |w: &World, e: crate::Error| err!("{e}\n{}", w.daemon.log_tail(40));
    let up = Duration::from_secs(30);
    let sess = |ns: &Netns, link: (&str, &str), asn: u32| {
        let cfg = InjectorConfig::new(asn, ip4(link.0));
        Injector::establish_within(ns, SocketAddr::new(IpAddr::V4(ip4(link.1)), 179), &cfg, up)
    };
    let receiver = sess(&w.b, LINK_B, RECEIVER_AS).map_err(|e| dump(&w, e))?;
    let prober = sess(&w.c, LINK_C, PROBER_AS).map_err(|e| dump(&w, e))?;
    let injector = sess(&w.a, LINK_A, INJECTOR_AS).map_err(|e| dump(&w, e))?;
    let bulk = bulk_buffers(p.n)?;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let rx = {
        let (seen, stop, n) = (seen.clone(), stop.clone(), p.n);
        std::thread::spawn(move || receive(receiver, n, seen, stop))
    };
    let result = measure(p, &mut w, &prober, injector, bulk, &seen, &log_path, clk);
    stop.store(true, Ordering::Relaxed);
    let receiver = rx.join().map_err(|_| err!("receiver thread panicked"))?;
    let (mut r, injector) = result.map_err(|e| dump(&w, e))?;
    r.load_at_start = load_at_start;

    let s = seen.lock().map_err(|_| err!("receiver state poisoned"))?;
    r.max_keepalive_gap = s.max_keepalive_gap;
    if let Some(why) = &s.ended {
        r.drops.push(format!("receiver: {why}"));
    }
    if s.undecodable > 0 {
        r.drops.push(format!("receiver: {} UPDATEs did not decode", s.undecodable));
    }
    drop(s);
    // Still up: closing a session withdraws its routes from the kernel.
    let mut sessions = [("prober", prober), ("injector", injector)];
    for (name, inj) in &mut sessions {
        if let Err(e) = inj.check_alive() {
            r.drops.push(format!("{name}: {}", e.msg.lines().next().unwrap_or_default()));
        }
    }
    r.lag_max =
        metrics(&w.d).ok().and_then(|m| metric(&m, "calico_bgp_event_loop_lag_max_seconds"));
    // The last probes may still be on their way into the kernel.
    let want = if p.fib { p.n as usize + r.probes_sent as usize } else { 0 };
    for _ in 0..5 {
        r.kernel_routes = kernel_routes(&w.d)?;
        if r.kernel_routes >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    w.daemon.daemon().check_running().map_err(|e| err!("the speaker died during the run: {e}"))?;
    let pid = w.daemon.daemon().pid();
    r.peak_rss_kib = status_kib(pid, "VmHWM:")?;
    r.rss_kib = status_kib(pid, "VmRSS:")?;
    drop((sessions, receiver));
    Ok(r)
}

#[allow(clippy::too_many_arguments, reason = "one call site, the pieces of a run")]
fn measure(
    p: &Params,
    w: &mut World,
    prober: &Injector,
    injector: Injector,
    bulk: Vec<Vec<u8>>,
    seen: &Arc<Mutex<Seen>>,
    log_path: &Path,
    clk: f64,
) -> Result<(RunResult, Injector)> {
    let got = |i: u32| seen.lock().map(|s| s.probes.contains_key(&i)).unwrap_or(false);
    let mut sent = Vec::new();
    // The warm-up probe proves the whole path (sessions up, export to the
    // receiver running) before anything is measured.
    probe(prober, 0, &mut sent)?;
    wait_until(Duration::from_secs(30), "the warm-up probe at the receiver", || {
        w.daemon.daemon().check_running()?;
        Ok(got(0))
    })?;
    for i in 1..=p.idle_probes {
        let at = Instant::now() + p.probe_every;
        probe(prober, i, &mut sent)?;
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
    }
    let last_idle = p.idle_probes;
    wait_until(Duration::from_secs(10), "the idle probes at the receiver", || Ok(got(last_idle)))?;

    let mut log = LogTail::at_end(log_path.to_owned());
    let pid = w.daemon.daemon().pid();
    let (ticks0, threads0) = (proc_ticks(pid), thread_ticks(pid));
    let perf = start_perf(pid, p)?;
    let writer = injector;
    let t0 = Instant::now();
    let sender = std::thread::spawn(move || -> Result<Injector> {
        for b in &bulk {
            writer.send_raw(b)?;
        }
        Ok(writer)
    });
    let deadline = t0 + p.timeout;
    let (mut fib_sum, mut fib_done, mut batches) = (0u64, None, Vec::new());
    let mut end_at: Option<Instant> = None;
    let mut next = Instant::now();
    let mut id = p.idle_probes + 1;
    let mut sender = Some(sender);
    let mut injector = None;
    if p.speaker == Speaker::Bird && !p.fib {
        // Nothing to program: the FIB is done from the start.
        fib_done = Some(t0);
    }
    let mut next_birdc = t0;
    loop {
        let now = Instant::now();
        if p.speaker == Speaker::Bird && fib_done.is_none() && now >= next_birdc {
            next_birdc = now + Duration::from_millis(250);
            let k = w.daemon.bird_exported().unwrap_or(0);
            if k > fib_sum {
                batches.push((now - t0, k - fib_sum));
                fib_sum = k;
            }
            if fib_sum >= u64::from(p.n) {
                fib_done = Some(now);
            }
        }
        if now >= next && id < MAX_PROBES {
            probe(prober, id, &mut sent)?;
            id += 1;
            // Late by more than a period (a stalled test thread): no burst to catch up.
            next = (next + p.probe_every).max(now);
        }
        for line in log.poll() {
            if let Some(k) = batch_prefixes(&line) {
                fib_sum += k;
                batches.push((now - t0, k));
                if fib_done.is_none() && fib_sum >= u64::from(p.n) {
                    fib_done = Some(now);
                }
            }
        }
        if sender.as_ref().is_some_and(|h| h.is_finished()) {
            if let Some(h) = sender.take() {
                injector = Some(h.join().map_err(|_| err!("bulk sender panicked"))??);
            }
        }
        let bulk_done = seen.lock().ok().and_then(|s| s.bulk_done);
        if let (None, Some(b), Some(f)) = (end_at, bulk_done, fib_done) {
            end_at = Some(b.max(f) + p.after);
        }
        if end_at.is_some_and(|e| now >= e) {
            break;
        }
        if now >= deadline {
            let s = seen.lock().map(|s| s.bulk).unwrap_or(0);
            return Err(err!(
                "timed out after {:?}: receiver has {s} of {} prefixes, FIB batches cover {fib_sum}",
                p.timeout,
                p.n
            ));
        }
        if let Ok(Some(why)) = seen.lock().map(|s| s.ended.clone()) {
            return Err(err!("the receiver's session ended: {why}"));
        }
        w.daemon.daemon().check_running()?;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    if let Some(h) = sender.take() {
        injector = Some(h.join().map_err(|_| err!("bulk sender panicked"))??);
    }
    let injector = injector.ok_or_else(|| err!("no bulk sender"))?;
    let (ticks1, threads1) = (proc_ticks(pid), thread_ticks(pid));
    if let Some(mut perf) = perf {
        // SIGINT by PID: perf writes its file and exits.
        let _ = netns::run(Command::new("kill").args(["-INT", &perf.id().to_string()]));
        let _ = perf.wait();
    }
    // Late probes still count: give them a moment before calling them lost.
    let last = id - 1;
    let _ = wait_until(Duration::from_secs(5), "the last probes", || Ok(got(last)));

    let s = seen.lock().map_err(|_| err!("receiver state poisoned"))?;
    let bulk_done = s.bulk_done.ok_or_else(|| err!("bulk never completed"))?;
    let fib_done_at = fib_done.ok_or_else(|| err!("FIB never completed"))?;
    let windows = windows(&sent, &s.probes, t0, bulk_done, fib_done_at);
    let mut threads: Vec<ThreadCpu> = threads1
        .iter()
        .map(|(tid, (name, (u, s), nice))| {
            let (u0, s0) = threads0.get(tid).map_or((0, 0), |x| x.1);
            ThreadCpu {
                name: name.clone(),
                tid: *tid,
                nice: *nice,
                user: u.saturating_sub(u0) as f64 / clk,
                sys: s.saturating_sub(s0) as f64 / clk,
            }
        })
        .collect();
    threads.sort_by(|a, b| (b.user + b.sys).total_cmp(&(a.user + a.sys)));
    let r = RunResult {
        speaker: p.speaker,
        n: p.n,
        fib: p.fib,
        load_at_start: 0.0,
        bulk_wall: bulk_done - t0,
        fib_done: Some(fib_done_at - t0),
        windows,
        probes_sent: id,
        cpu_secs: ticks1.saturating_sub(ticks0) as f64 / clk,
        threads,
        max_keepalive_gap: None,
        lag_max: None,
        kernel_routes: 0,
        peak_rss_kib: 0,
        rss_kib: 0,
        batches,
        drops: Vec::new(),
    };
    Ok((r, injector))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{:.3}", d.as_secs_f64()))
}

/// The markdown tables of `runs`: probe latencies per window, then one line
/// per run (wall times, CPU, session health), then each run's busiest
/// threads.
pub fn tables(runs: &[RunResult]) -> String {
    let mut s = String::new();
    s.push_str(
        "| speaker, FIB | N | bulk wall s | FIB done s | window | probes | lost | p50 ms | p99 ms | max ms |\n\
         |---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        for l in &r.windows {
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {} | {} | {} | {} | {} | {} | {} |",
                r.label(),
                r.n,
                r.bulk_wall.as_secs_f64(),
                secs(r.fib_done),
                l.window.label(),
                l.sent,
                l.lost,
                ms(l.p50),
                ms(l.p99),
                ms(l.max)
            );
        }
    }
    s.push_str(
        "\n| speaker, FIB | N | bulk wall s | FIB done s | speaker CPU s | max KEEPALIVE gap s | \
         event-loop lag max ms | kernel routes | sessions | load at start |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n",
    );
    for r in runs {
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {} | {:.2} | {} | {} | {} | {} | {:.2} |",
            r.label(),
            r.n,
            r.bulk_wall.as_secs_f64(),
            secs(r.fib_done),
            r.cpu_secs,
            secs(r.max_keepalive_gap),
            r.lag_max.map_or_else(|| "-".to_owned(), |l| format!("{:.1}", l * 1e3)),
            r.kernel_routes,
            if r.drops.is_empty() { "all up".to_owned() } else { r.drops.join("; ") },
            r.load_at_start
        );
    }
    s.push('\n');
    for r in runs {
        let top: Vec<String> = r
            .threads
            .iter()
            .filter(|t| t.user + t.sys > 0.0)
            .take(6)
            .map(|t| format!("{}/{} (nice {}) {:.2}u+{:.2}s", t.name, t.tid, t.nice, t.user, t.sys))
            .collect();
        let _ = writeln!(
            s,
            "{} N {}: CPU s by thread: {}; FIB batches (s after t0, prefixes): {}",
            r.label(),
            r.n,
            top.join(", "),
            r.batches
                .iter()
                .filter(|b| b.1 > 1)
                .map(|(t, k)| format!("{:.2}/{k}", t.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    s.push('\n');
    s.push_str(&speaker::memory_table(runs));
    s
}

mod speaker;
#[cfg(test)]
mod tests;
