//! The lab: three calico-bgpd nodes with Calico-style pods and an FRR top-of-rack
//! router, in network namespaces, left running for exploration.
//!
//! ```text
//!                 192.168.1.0/24: bridge br0 in <prefix>-lan
//!   +----------------+----------------+----------------+
//!   |                |                |                |
//!  tor .1           n1 .11           n2 .12           n3 .13       (eth0 in each)
//!  FRR 8.4          calico-bgpd      calico-bgpd      calico-bgpd
//!  AS 65000         AS 64512         AS 64512         AS 64512
//!                   10.244.1.0/26    10.244.2.0/26    10.244.3.0/26
//!                   pod a 10.244.1.1 pod c 10.244.2.1 pod d 10.244.3.1
//!                   pod b 10.244.1.2
//!
//!  iBGP: n1, n2, n3 in a node-to-node mesh (the greater address string dials).
//!  eBGP: each node with the ToR, which installs the blocks in its kernel (zebra).
//! ```
//!
//! Namespaces are `<prefix>-lan`, `<prefix>-tor`, `<prefix>-n1`.. and one per pod
//! (`<prefix>-n1-a`). Everything the lab creates is recorded, as it is created, in
//! `<state dir>/lab.state` (namespaces, and daemon PIDs with their program name).
//! [`down`] removes exactly what is recorded: PIDs are signalled only while
//! `/proc/PID/cmdline` still names the program we started, never by name.
//! Daemons run in their own session (`setsid`, FRR's `-d`), so they outlive the
//! command and the terminal that started them.
//!
//! With [`Options::datastore`], the nodes are configured from Calico's etcd
//! datastore instead of full TOML files ([`datastore`]).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::container;
use crate::netns::{Netns, output, run};
use crate::peers::Neighbor;
use crate::peers::frr::FrrConfig;
use crate::pod::{Pod, ping_from};
use crate::process::{tail, write_file};
use crate::{Result, err, wait_until};

pub mod datastore;

/// The LAN every node and the ToR sit on.
pub const LAN: &str = "192.168.1.0/24";
/// The ToR's AS (eBGP towards the nodes).
pub const TOR_ASN: u32 = 65000;
/// The cluster's AS (Calico's default).
pub const NODE_ASN: u32 = 64512;
/// The ToR's address on the LAN.
pub const TOR_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
/// The IP pool the nodes' blocks come from.
pub const POOL: &str = "10.244.0.0/16";
/// Where the state lives unless told otherwise.
pub const DEFAULT_STATE_DIR: &str = "/tmp/calico-bgp-lab";
/// The namespace prefix unless told otherwise.
pub const DEFAULT_PREFIX: &str = "cbgp-lab";
/// How long `up` waits for every session and route by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

const STATE_FILE: &str = "lab.state";

/// A node of the lab.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpec {
    /// Node name (also the switch port and the namespace suffix).
    pub name: &'static str,
    /// Address on the LAN.
    pub ip: Ipv4Addr,
    /// Its IPAM block.
    pub block: &'static str,
    /// Its pods: name and address.
    pub pods: &'static [(&'static str, Ipv4Addr)],
}

/// The three nodes.
pub const NODES: [NodeSpec; 3] = [
    NodeSpec {
        name: "n1",
        ip: Ipv4Addr::new(192, 168, 1, 11),
        block: "10.244.1.0/26",
        pods: &[("a", Ipv4Addr::new(10, 244, 1, 1)), ("b", Ipv4Addr::new(10, 244, 1, 2))],
    },
    NodeSpec {
        name: "n2",
        ip: Ipv4Addr::new(192, 168, 1, 12),
        block: "10.244.2.0/26",
        pods: &[("c", Ipv4Addr::new(10, 244, 2, 1))],
    },
    NodeSpec {
        name: "n3",
        ip: Ipv4Addr::new(192, 168, 1, 13),
        block: "10.244.3.0/26",
        pods: &[("d", Ipv4Addr::new(10, 244, 3, 1))],
    },
];

/// Where the lab lives and what it runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Configs, logs, sockets and `lab.state`.
    pub state_dir: PathBuf,
    /// Prefix of every namespace name.
    pub prefix: String,
    /// Directory holding `calico-bgpd` and `calico-bgpctl`.
    pub bin_dir: PathBuf,
    /// Deadline for sessions and routes in `up`.
    pub timeout: Duration,
    /// `up` adds an etcd and configures the nodes from it ([`datastore`]).
    pub datastore: bool,
    /// `up` runs the nodes and the ToR as containers of the images
    /// `scripts/images.sh` builds, attached to the same namespaces.
    pub containers: bool,
}

impl Options {
    /// Defaults: [`DEFAULT_STATE_DIR`], [`DEFAULT_PREFIX`], binaries beside this program.
    pub fn from_defaults() -> Result<Options> {
        let exe = std::env::current_exe()?;
        let bin_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Options {
            state_dir: DEFAULT_STATE_DIR.into(),
            prefix: DEFAULT_PREFIX.into(),
            bin_dir,
            timeout: DEFAULT_TIMEOUT,
            datastore: false,
            containers: false,
        })
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    fn node_dir(&self, name: &str) -> PathBuf {
        self.state_dir.join(name)
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    fn state_path(&self) -> PathBuf {
        self.state_dir.join(STATE_FILE)
    }
}

/// What `up` found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    /// The lab was built and every session came up.
    Started,
    /// A lab was already running in this state dir; nothing was changed.
    AlreadyUp,
}

// ===== state file =====

/// A daemon started by the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPid {
    /// What it is (`calico-bgpd-n1`, `frr-zebra`).
    pub label: String,
    /// Its PID.
    pub pid: u32,
    /// A word its `/proc/PID/cmdline` must contain for it to still be ours.
    pub program: String,
}

/// What `lab.state` records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Namespace prefix it was made with.
    pub prefix: String,
    /// Namespaces, in creation order.
    pub netns: Vec<String>,
    /// Daemons, in start order.
    pub pids: Vec<RecordedPid>,
    /// The etcd endpoint the nodes follow, in the datastore variant.
    pub datastore: Option<String>,
    /// Containers started (label, container name), in start order.
    pub containers: Vec<(String, String)>,
}

impl State {
    /// Reads `<dir>/lab.state`; `None` when there is no lab there.
    pub fn load(dir: &Path) -> Result<Option<State>> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err!("reading {}: {e}", path.display())),
        };
        Ok(Some(State::parse(&text)))
    }

    /// Parses the line format `lab up` writes; unknown lines are skipped so
    /// that a half-written last line never blocks `down`.
    pub fn parse(text: &str) -> State {
        let mut s = State::default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["prefix", p] => s.prefix = (*p).to_owned(),
                ["netns", n] => s.netns.push((*n).to_owned()),
                ["datastore", endpoint] => s.datastore = Some((*endpoint).to_owned()),
                ["container", label, name] => {
                    s.containers.push(((*label).to_owned(), (*name).to_owned()));
                }
                ["pid", label, pid, program] => {
                    if let Ok(pid) = pid.parse() {
                        s.pids.push(RecordedPid {
                            label: (*label).to_owned(),
                            pid,
                            program: (*program).to_owned(),
                        });
                    }
                }
                _ => {}
            }
        }
        s
    }
}

/// Appends to `lab.state` at once, so a failure half way leaves a complete record
/// of what exists.
struct Recorder {
    file: File,
}

impl Recorder {
    fn create(opts: &Options) -> Result<Recorder> {
        let path = opts.state_path();
        let mut file = OpenOptions::new().create_new(true).append(true).open(&path)?;
        writeln!(
            file,
            "# calico-bgp lab: written by `lab up`, read by `lab status` and `lab down`"
        )?;
        writeln!(file, "prefix {}", opts.prefix)?;
        Ok(Recorder { file })
    }

    fn netns(&mut self, name: &str) -> Result<()> {
        writeln!(self.file, "netns {name}")?;
        Ok(self.file.sync_data()?)
    }

    fn pid(&mut self, label: &str, pid: u32, program: &str) -> Result<()> {
        writeln!(self.file, "pid {label} {pid} {program}")?;
        Ok(self.file.sync_data()?)
    }

    fn container(&mut self, label: &str, name: &str) -> Result<()> {
        writeln!(self.file, "container {label} {name}")?;
        Ok(self.file.sync_data()?)
    }

    fn datastore(&mut self, endpoint: &str) -> Result<()> {
        writeln!(self.file, "datastore {endpoint}")?;
        Ok(self.file.sync_data()?)
    }
}

/// Whether `pid` is a live process whose command line still contains `program`
/// (a recycled PID or a zombie is not ours any more).
pub fn pid_is_ours(pid: u32, program: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state letter follows the parenthesised command name, which may hold spaces.
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    if matches!(state, None | Some('Z') | Some('X')) {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    // A child between fork and exec still shows our own command line, and one
    // inside execve can show none: on a loaded machine `lab up` can look at a
    // daemon it just spawned in that window, and must not take it for one that
    // exited.
    let starting = pid != std::process::id()
        && (cmdline.is_empty()
            || std::fs::read("/proc/self/cmdline").is_ok_and(|ours| ours == cmdline));
    starting || String::from_utf8_lossy(&cmdline).contains(program)
}

// ===== up =====

/// Builds and starts the lab, waits for every session, then prints the report.
pub fn up(opts: &Options, out: &mut dyn Write) -> Result<Up> {
    if let Some(state) = State::load(&opts.state_dir)? {
        let dead = state.pids.iter().filter(|p| !pid_is_ours(p.pid, &p.program)).count()
            + state.containers.iter().filter(|(_, c)| !container::is_running(c)).count();
        let daemons = state.pids.len() + state.containers.len();
        if dead == 0 && daemons > 0 {
            writeln!(
                out,
                "lab already up (state in {}); `lab status` shows it, `lab down` removes it",
                opts.state_dir.display()
            )?;
            return Ok(Up::AlreadyUp);
        }
        writeln!(
            out,
            "a previous lab in {} is partly gone ({} of {} daemons dead): removing it first",
            opts.state_dir.display(),
            dead,
            daemons
        )?;
        down(opts, out)?;
    }
    for image in [container::BGPD_IMAGE, container::FRR_IMAGE] {
        if opts.containers && !container::image_exists(image) {
            return Err(err!("{image} is missing: build it with scripts/images.sh"));
        }
    }
    for b in ["calico-bgpd", "calico-bgpctl"] {
        if !opts.bin(b).exists() {
            return Err(err!(
                "{} not found: build it first (cargo build -p bgp -p ctl), or pass --bin-dir",
                opts.bin(b).display()
            ));
        }
    }
    std::fs::create_dir_all(&opts.state_dir)?;
    let mut rec = Recorder::create(opts)?;
    let mut namespaces = Vec::new();
    let built = build(opts, &mut rec, &mut namespaces);
    // The state file, not `Netns`'s drop, owns the namespaces from here on.
    for ns in namespaces {
        ns.keep();
    }
    if let Err(e) = built {
        writeln!(out, "lab up failed: {e}\nremoving what was built")?;
        down(opts, out)?;
        return Err(e);
    }
    writeln!(out, "lab up: waiting up to {}s for every session", opts.timeout.as_secs())?;
    let start = Instant::now();
    let waited =
        wait_until(opts.timeout, "every BGP session Established and routes at the ToR", || {
            sessions_up(opts)
        });
    match waited {
        Ok(()) => {
            writeln!(out, "all sessions Established after {:.1}s\n", start.elapsed().as_secs_f64())?
        }
        Err(e) => {
            report(opts, out)?;
            return Err(err!("{e}\nthe lab is left running for inspection; `lab down` removes it"));
        }
    }
    report(opts, out)?;
    if opts.datastore {
        datastore::demonstrate(opts, out)?;
    }
    Ok(Up::Started)
}

/// Creates namespaces, LAN, pods, configs and daemons, recording each as it goes.
fn build(opts: &Options, rec: &mut Recorder, keep: &mut Vec<Netns>) -> Result<()> {
    let mut named = |name: &str, rec: &mut Recorder| -> Result<usize> {
        let full = opts.ns(name);
        let ns = Netns::named(&full).map_err(|e| {
            err!("{e}\n(a lab whose state dir is gone? `ip netns del {full}`, or use --prefix)")
        })?;
        rec.netns(&full)?;
        keep.push(ns);
        Ok(keep.len() - 1)
    };
    let lan = named("lan", rec)?;
    let tor = named("tor", rec)?;
    let mut nodes = Vec::new();
    for n in &NODES {
        nodes.push(named(n.name, rec)?);
    }
    let etcd = if opts.datastore { Some(named("etcd", rec)?) } else { None };
    let switch = keep[lan].name().to_owned();
    run(Command::new("ip").args([
        "-n",
        &switch,
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "stp_state",
        "0",
        "forward_delay",
        "0",
    ]))?;
    run(Command::new("ip").args(["-n", &switch, "link", "set", "br0", "up"]))?;
    attach(&keep[tor], &switch, "tor", TOR_IP)?;
    if let Some(etcd) = etcd {
        attach(&keep[etcd], &switch, "etcd", datastore::ETCD_IP)?;
        datastore::start_etcd(opts, &keep[etcd], rec)?;
    }
    for (n, &i) in NODES.iter().zip(&nodes) {
        attach(&keep[i], &switch, n.name, n.ip)?;
        for (pod, ip) in n.pods {
            let name = opts.ns(&format!("{}-{pod}", n.name));
            let ns = Netns::named(&name)?;
            rec.netns(&name)?;
            Pod::attach(&keep[i], ns, *ip, None)?.keep();
        }
    }
    start_tor(opts, &keep[tor], rec)?;
    for (n, &i) in NODES.iter().zip(&nodes) {
        start_node(opts, n, &keep[i], rec)?;
    }
    Ok(())
}

/// Plugs `ns` into the LAN as `eth0` with `ip`/24; the switch port is `port`.
fn attach(ns: &Netns, switch: &str, port: &str, ip: Ipv4Addr) -> Result<()> {
    run(Command::new("ip").args([
        "link",
        "add",
        "eth0",
        "netns",
        ns.name(),
        "type",
        "veth",
        "peer",
        "name",
        port,
        "netns",
        switch,
    ]))?;
    run(Command::new("ip").args(["-n", switch, "link", "set", port, "master", "br0", "up"]))?;
    ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"])?;
    ns.ip(&["link", "set", "eth0", "up"])?;
    Ok(())
}

/// A node's calico-bgpd configuration: Calico's defaults, the mesh and the ToR.
pub fn node_config(opts: &Options, me: &NodeSpec) -> String {
    let dir = opts.node_dir(me.name);
    let mut c = format!(
        "# Lab node {name}: node-to-node mesh with the other nodes, eBGP to the ToR.\n\
         log_level = \"info\"\n\
         control_socket = \"{sock}\"\n\n\
         [node]\nname = \"{name}\"\nlocal_as = {NODE_ASN}\nipv4 = \"{ip}/24\"\nblocks = [\"{block}\"]\n\n",
        name = me.name,
        sock = dir.join("calico-bgp.ctl").display(),
        ip = me.ip,
        block = me.block,
    );
    for other in NODES.iter().filter(|o| o.name != me.name) {
        let _ = writeln!(c, "[[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n", other.name, other.ip);
    }
    let _ =
        writeln!(c, "[[peers]]\nname = \"tor\"\naddress = \"{TOR_IP}\"\nremote_as = {TOR_ASN}\n");
    let _ = writeln!(c, "[[ip_pools]]\ncidr = \"{POOL}\"\nipip_mode = \"Never\"");
    c
}

fn start_node(opts: &Options, n: &NodeSpec, ns: &Netns, rec: &mut Recorder) -> Result<()> {
    let dir = opts.node_dir(n.name);
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("calico-bgpd.toml");
    let text = if opts.datastore { datastore::node_config(opts, n) } else { node_config(opts, n) };
    write_file(&conf, &text)?;
    if opts.containers {
        let name = opts.ns(n.name);
        // The log goes to the same file as a host process's, for the report.
        let log = dir.join("calico-bgpd.log");
        let script = format!(
            "exec /usr/bin/calico-bgpd --config {} >>{} 2>&1",
            conf.display(),
            log.display()
        );
        container::start_detached(
            ns,
            &name,
            container::BGPD_IMAGE,
            &[&dir],
            &["/bin/sh", "-c", &script],
        )?;
        return rec.container(&format!("calico-bgpd-{}", n.name), &name);
    }
    let log = File::create(dir.join("calico-bgpd.log"))?;
    // `setsid` execs in place (we are not a group leader), as does `ip netns exec`,
    // so the child's PID is calico-bgpd's and it has no controlling terminal.
    let child = Command::new("setsid")
        .args(["ip", "netns", "exec", ns.name()])
        .arg(opts.bin("calico-bgpd"))
        .arg("--config")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| err!("starting calico-bgpd on {}: {e}", n.name))?;
    let pid = child.id();
    rec.pid(&format!("calico-bgpd-{}", n.name), pid, "calico-bgpd")?;
    wait_until(Duration::from_secs(5), &format!("calico-bgpd on {} to exec", n.name), || {
        Ok(pid_is_ours(pid, "calico-bgpd"))
    })
}

fn frr_dir(opts: &Options) -> PathBuf {
    opts.state_dir.join("tor")
}

fn start_tor(opts: &Options, ns: &Netns, rec: &mut Recorder) -> Result<()> {
    let dir = frr_dir(opts);
    std::fs::create_dir_all(&dir)?;
    // FRR drops to frr:frr and must write its pid, vty and log files here
    // (the image's frr user is not the host's).
    let owner = if opts.containers { container::frr_owner()? } else { "frr:frr".to_owned() };
    run(Command::new("chown").arg(owner).arg(&dir))?;
    let mut cfg = FrrConfig::new(TOR_ASN, IpAddr::V4(TOR_IP));
    for n in &NODES {
        cfg = cfg.neighbor(Neighbor::new(IpAddr::V4(n.ip), NODE_ASN));
    }
    write_file(&dir.join("bgpd.conf"), &cfg.render(&dir.join("bgpd.log")))?;
    let d = dir.to_str().ok_or_else(|| err!("non-UTF-8 state dir {}", dir.display()))?;
    write_file(&dir.join("zebra.conf"), &format!("log file {d}/zebra.log\n"))?;
    for daemon in ["zebra", "bgpd"] {
        let pidfile = format!("{d}/{daemon}.pid");
        let prog = format!("/usr/lib/frr/{daemon}");
        let args = [
            "-f",
            &format!("{d}/{daemon}.conf"),
            "-i",
            &pidfile,
            "-z",
            &format!("{d}/zserv.api"),
            "--vty_socket",
            d,
            "-u",
            "frr",
            "-g",
            "frr",
            "-P",
            "0",
        ];
        if opts.containers {
            // In the foreground: the container lives as long as the daemon.
            let name = opts.ns(&format!("tor-{daemon}"));
            let mut argv = vec![prog.as_str()];
            argv.extend(args);
            container::start_detached(ns, &name, container::FRR_IMAGE, &[&dir], &argv)?;
            rec.container(&format!("frr-{daemon}"), &name)?;
            let vty = dir.join(format!("{daemon}.vty"));
            wait_until(Duration::from_secs(20), &format!("FRR {daemon}'s vty socket"), || {
                if !container::is_running(&name) {
                    let log = tail(&dir.join(format!("{daemon}.log")), 20);
                    return Err(err!("FRR {daemon} ({name}) exited:\n{log}").fatal());
                }
                Ok(vty.exists())
            })?;
            continue;
        }
        // `-d`: FRR forks into its own session and writes the pid file itself.
        run(ns.command(&prog).arg("-d").args(args))?;
        let mut pid = None;
        wait_until(Duration::from_secs(10), &format!("FRR {daemon}'s pid file"), || {
            pid = std::fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse().ok());
            Ok(pid.is_some())
        })?;
        let pid = pid.ok_or_else(|| err!("no pid in {pidfile}"))?;
        rec.pid(&format!("frr-{daemon}"), pid, &format!("frr/{daemon}"))?;
        let vty = dir.join(format!("{daemon}.vty"));
        wait_until(Duration::from_secs(10), &format!("FRR {daemon}'s vty socket"), || {
            if !pid_is_ours(pid, daemon) {
                return Err(err!(
                    "FRR {daemon} exited:\n{}",
                    tail(&dir.join(format!("{daemon}.log")), 20)
                )
                .fatal());
            }
            Ok(vty.exists())
        })?;
    }
    Ok(())
}

// ===== observing =====

/// Each peer's last session line in a node's log: `(peer, Some(line))` when the last
/// event was "established", `(peer, None)` otherwise.
fn log_sessions(opts: &Options, n: &NodeSpec) -> Vec<(IpAddr, Option<String>)> {
    let log =
        std::fs::read_to_string(opts.node_dir(n.name).join("calico-bgpd.log")).unwrap_or_default();
    expected_peers(n)
        .into_iter()
        .map(|peer| {
            let (up, down) = (format!("peer {peer} established"), format!("peer {peer} down"));
            let mut last = None;
            for line in log.lines() {
                if line.contains(&up) {
                    last = Some(line.trim().to_owned());
                } else if line.contains(&down) {
                    last = None;
                }
            }
            (peer, last)
        })
        .collect()
}

fn expected_peers(n: &NodeSpec) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> =
        NODES.iter().filter(|o| o.name != n.name).map(|o| IpAddr::V4(o.ip)).collect();
    v.push(IpAddr::V4(TOR_IP));
    v
}

fn vtysh(opts: &Options, cmd: &str) -> Result<String> {
    run(Command::new("vtysh").arg("--vty_socket").arg(frr_dir(opts)).args(["-c", cmd]))
}

/// Whether every node has every session and the ToR has every block.
fn sessions_up(opts: &Options) -> Result<bool> {
    if let Some(state) = State::load(&opts.state_dir)? {
        for p in &state.pids {
            if !pid_is_ours(p.pid, &p.program) {
                let log = match p.label.strip_prefix("calico-bgpd-") {
                    Some(node) => tail(&opts.node_dir(node).join("calico-bgpd.log"), 20),
                    None => String::new(),
                };
                return Err(err!("{} (pid {}) exited\n{log}", p.label, p.pid).fatal());
            }
        }
    }
    for n in &NODES {
        if log_sessions(opts, n).iter().any(|(_, up)| up.is_none()) {
            return Ok(false);
        }
    }
    let rib: Value = serde_json::from_str(&vtysh(opts, "show bgp ipv4 unicast json")?)?;
    Ok(NODES.iter().all(|n| rib["routes"].get(n.block).is_some()))
}

/// Prints every node's peers and kernel routes, the ToR's RIB and the pod pings;
/// returns whether the lab is healthy (every daemon alive).
pub fn report(opts: &Options, out: &mut dyn Write) -> Result<bool> {
    let state = State::load(&opts.state_dir)?.ok_or_else(|| {
        err!("no lab in {} (no {STATE_FILE}): `lab up` starts one", opts.state_dir.display())
    })?;
    let mut healthy = true;
    for p in &state.pids {
        if !pid_is_ours(p.pid, &p.program) {
            healthy = false;
            writeln!(out, "!! {} (pid {}) is not running", p.label, p.pid)?;
        }
    }
    for n in &NODES {
        let ns = opts.ns(n.name);
        writeln!(
            out,
            "=== node {} ({}, AS {NODE_ASN}, block {}, netns {ns}) ===",
            n.name, n.ip, n.block
        )?;
        writeln!(out, "$ calico-bgpctl show peers")?;
        let sock = opts.node_dir(n.name).join("calico-bgp.ctl");
        let ctl =
            output(Command::new(opts.bin("calico-bgpctl")).arg("--socket").arg(&sock).args([
                "--timeout",
                "3",
                "show",
                "peers",
            ]))?;
        if ctl.status.success() {
            out.write_all(&ctl.stdout)?;
        } else {
            let why = String::from_utf8_lossy(&ctl.stderr);
            // Only the reason: the CLI's systemd hint does not apply here.
            let why = why.lines().next().unwrap_or("no output").split(" - ").next().unwrap_or("");
            writeln!(out, "(not available yet: {})", why.trim())?;
            writeln!(out, "(falling back to the daemon log's last \"established\" line per peer)")?;
            for (peer, line) in log_sessions(opts, n) {
                match line {
                    Some(l) => writeln!(out, "  {}", strip_log_prefix(&l))?,
                    None => writeln!(out, "  peer {peer}: NOT established")?,
                }
            }
        }
        writeln!(out, "$ ip route")?;
        let routes = run(Command::new("ip").args(["-n", &ns, "-4", "route"])).unwrap_or_default();
        out.write_all(routes.as_bytes())?;
        if !routes.contains("proto bird") {
            writeln!(out, "(no proto bird routes: the FIB has installed none yet)")?;
        }
        writeln!(out)?;
    }
    writeln!(out, "=== ToR (FRR, {TOR_IP}, AS {TOR_ASN}, netns {}) ===", opts.ns("tor"))?;
    writeln!(out, "$ vtysh -c 'show bgp ipv4 unicast'")?;
    let rib = vtysh(opts, "show bgp ipv4 unicast").unwrap_or_else(|e| format!("{e}\n"));
    out.write_all(rib.as_bytes())?;
    let json = vtysh(opts, "show bgp ipv4 unicast json").unwrap_or_default();
    match serde_json::from_str::<Value>(&json) {
        Ok(v) => {
            let bad = third_party_mismatches(&v);
            if bad.is_empty() {
                writeln!(out, "ToR next hops: OK (every path to a block is via its own node)")?;
            }
            for b in bad {
                writeln!(out, "ToR next hops: MISMATCH {b}")?;
            }
        }
        Err(e) => writeln!(out, "ToR next hops: not checked ({e})")?,
    }
    // zebra installs what bgpd learned: proof the blocks are usable beyond BGP.
    writeln!(out, "$ ip route   (on the ToR)")?;
    let tor = run(Command::new("ip").args(["-n", &opts.ns("tor"), "-4", "route"]))
        .unwrap_or_else(|e| format!("{e}\n"));
    out.write_all(tor.as_bytes())?;
    writeln!(out)?;
    if state.datastore.is_some() {
        datastore::report(opts, out)?;
    }
    datapath(opts, out)?;
    Ok(healthy)
}

/// `2026-05-20T10:00:00.123Z  INFO peer ... peer=10.0.0.1` -> `peer ...`: the time
/// and level, and the structured field repeating the address, are noise here.
/// Paths at the ToR whose next hop is not the node owning the block.
///
/// Every node is on the ToR's subnet, so a node relaying another node's
/// block keeps that node as next hop (RFC 4271 §5.1.3 third party, BIRD's
/// default) instead of putting itself in the path: the ToR reaches each
/// block directly, whichever node it learned it from. `rib` is FRR's
/// `show bgp ipv4 unicast json`.
pub fn third_party_mismatches(rib: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for n in &NODES {
        let Some(paths) = rib["routes"][n.block].as_array() else { continue };
        for p in paths {
            let from = p["peerId"].as_str().unwrap_or("?");
            let hops: Vec<&str> = p["nexthops"]
                .as_array()
                .map(|v| v.iter().filter_map(|h| h["ip"].as_str()).collect())
                .unwrap_or_default();
            let want = n.ip.to_string();
            if hops.is_empty() || hops.iter().any(|h| *h != want) {
                bad.push(format!("{} from {from} via {} (want {want})", n.block, hops.join(",")));
            }
        }
    }
    bad
}

fn strip_log_prefix(line: &str) -> &str {
    let line = line.find("peer ").map_or(line, |i| &line[i..]);
    line.rsplit_once(" peer=").map_or(line, |(msg, _)| msg)
}

/// Pod-to-pod pings: same node, then across nodes, with the verdict spelled out.
fn datapath(opts: &Options, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "=== pod-to-pod ping ===")?;
    let (n1, n2, n3) = (&NODES[0], &NODES[1], &NODES[2]);
    let (src_name, src_ip) = n1.pods[0];
    let src_ns = opts.ns(&format!("{}-{src_name}", n1.name));
    let mut ping = |to: &NodeSpec, pod: usize, deadline: Duration| -> Result<bool> {
        let Some(&(name, ip)) = to.pods.get(pod) else { return Ok(false) };
        let start = Instant::now();
        let ok = loop {
            if ping_from(&src_ns, IpAddr::V4(ip))? {
                break true;
            }
            if start.elapsed() >= deadline {
                break false;
            }
        };
        writeln!(
            out,
            "  pod {src_name} ({src_ip}, {}) -> pod {name} ({ip}, {}): {}",
            n1.name,
            to.name,
            if ok { "OK" } else { "no reply" }
        )?;
        Ok(ok)
    };
    let same = ping(n1, 1, Duration::from_secs(5))?;
    let cross = [ping(n2, 0, Duration::from_secs(3))?, ping(n3, 0, Duration::from_secs(3))?];
    writeln!(out, "same-node datapath: {}", if same { "OK" } else { "FAIL" })?;
    let bird =
        run(Command::new("ip").args(["-n", &opts.ns(n1.name), "route", "show", "proto", "bird"]))
            .unwrap_or_default();
    if cross.iter().all(|ok| *ok) {
        writeln!(out, "cross-node datapath: OK")?;
    } else if bird.trim().is_empty() {
        writeln!(out, "cross-node datapath: FAIL (kernel routes not yet programmed)")?;
    } else {
        writeln!(out, "cross-node datapath: FAIL (proto bird routes present, but no reply)")?;
    }
    Ok(())
}

/// Prints the report of a running lab; `Ok(false)` when a daemon has died.
pub fn status(opts: &Options, out: &mut dyn Write) -> Result<bool> {
    report(opts, out)
}

// ===== down =====

/// Stops every recorded daemon (SIGTERM, then SIGKILL after 5 s), deletes every
/// recorded namespace and the state dir. Without a state file there is nothing to do.
pub fn down(opts: &Options, out: &mut dyn Write) -> Result<()> {
    let Some(state) = State::load(&opts.state_dir)? else {
        writeln!(out, "lab is not up (no {} in {})", STATE_FILE, opts.state_dir.display())?;
        return Ok(());
    };
    // Newest first: the nodes say Cease to a ToR that is still there.
    for (label, name) in state.containers.iter().rev() {
        container::remove(name, 5);
        writeln!(out, "stopped {label} (container {name})")?;
    }
    for p in state.pids.iter().rev() {
        if !pid_is_ours(p.pid, &p.program) {
            writeln!(out, "{} (pid {}) already gone", p.label, p.pid)?;
            continue;
        }
        let _ = output(Command::new("kill").args(["-TERM", &p.pid.to_string()]));
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid_is_ours(p.pid, &p.program) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if pid_is_ours(p.pid, &p.program) {
            let _ = output(Command::new("kill").args(["-KILL", &p.pid.to_string()]));
            writeln!(out, "stopped {} (pid {}) with SIGKILL", p.label, p.pid)?;
        } else {
            writeln!(out, "stopped {} (pid {})", p.label, p.pid)?;
        }
    }
    let existing = run(Command::new("ip").args(["netns", "list"])).unwrap_or_default();
    let existing: Vec<&str> =
        existing.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let mut failed = Vec::new();
    for ns in state.netns.iter().rev() {
        if !existing.contains(&ns.as_str()) {
            continue;
        }
        // Anything still inside was started there by the lab (pings, a shell).
        let pids = run(Command::new("ip").args(["netns", "pids", ns])).unwrap_or_default();
        for pid in pids.split_whitespace() {
            let _ = output(Command::new("kill").args(["-KILL", pid]));
        }
        match run(Command::new("ip").args(["netns", "del", ns])) {
            Ok(_) => {}
            Err(e) => failed.push(format!("{ns}: {e}")),
        }
    }
    writeln!(out, "deleted {} namespaces ({}-*)", state.netns.len() - failed.len(), state.prefix)?;
    if !failed.is_empty() {
        return Err(err!("could not delete: {}", failed.join("; ")));
    }
    std::fs::remove_dir_all(&opts.state_dir)
        .map_err(|e| err!("removing {}: {e}", opts.state_dir.display()))?;
    writeln!(out, "removed {}", opts.state_dir.display())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            state_dir: "/tmp/x".into(),
            prefix: "p".into(),
            bin_dir: "/bin".into(),
            timeout: DEFAULT_TIMEOUT,
            datastore: false,
            containers: false,
        }
    }

    #[test]
    fn state_file_round_trips_and_skips_a_torn_last_line() {
        let text = "# c\nprefix p\nnetns p-lan\nnetns p-n1\npid calico-bgpd-n1 42 calico-bgpd\n\
                    datastore http://192.168.1.100:2379\npid fr";
        let s = State::parse(text);
        assert_eq!(s.prefix, "p");
        assert_eq!(s.datastore.as_deref(), Some("http://192.168.1.100:2379"));
        assert_eq!(s.netns, ["p-lan", "p-n1"]);
        assert_eq!(
            s.pids,
            [RecordedPid {
                label: "calico-bgpd-n1".into(),
                pid: 42,
                program: "calico-bgpd".into()
            }]
        );
    }

    #[test]
    fn node_config_meshes_with_the_other_nodes_and_peers_with_the_tor() {
        let c = node_config(&opts(), &NODES[0]);
        assert!(c.contains("ipv4 = \"192.168.1.11/24\""), "{c}");
        assert!(c.contains("ipv4 = \"192.168.1.12\"") && c.contains("ipv4 = \"192.168.1.13\""));
        assert!(!c.contains("ipv4 = \"192.168.1.11\"\n"), "a node does not mesh with itself");
        assert!(c.contains("address = \"192.168.1.1\"\nremote_as = 65000"), "{c}");
        assert!(c.contains("control_socket = \"/tmp/x/n1/calico-bgp.ctl\""), "{c}");
    }

    #[test]
    fn our_own_process_is_ours_and_a_wrong_program_is_not() {
        let me = std::process::id();
        assert!(pid_is_ours(me, ""));
        assert!(!pid_is_ours(me, "no-such-program-name"));
        assert!(!pid_is_ours(u32::MAX, ""));
    }

    #[test]
    fn tor_paths_via_a_relaying_node_are_mismatches() {
        let rib: Value = serde_json::from_str(
            r#"{"routes": {
                "10.244.2.0/26": [
                    {"peerId": "192.168.1.11", "nexthops": [{"ip": "192.168.1.12"}]},
                    {"peerId": "192.168.1.12", "nexthops": [{"ip": "192.168.1.12"}]}
                ],
                "10.244.3.0/26": [
                    {"peerId": "192.168.1.11", "nexthops": [{"ip": "192.168.1.11"}]}
                ]}}"#,
        )
        .unwrap();
        assert_eq!(
            third_party_mismatches(&rib),
            ["10.244.3.0/26 from 192.168.1.11 via 192.168.1.11 (want 192.168.1.13)"]
        );
    }

    #[test]
    fn log_prefix_is_stripped_down_to_the_peer() {
        let l = "2026-05-20T10:00:00Z  INFO peer 192.168.1.1 established (tor) peer=192.168.1.1";
        assert_eq!(strip_log_prefix(l), "peer 192.168.1.1 established (tor)");
    }
}
