//! `mesh_restart_bench`: how soon a restarted node of a three-node Calico
//! mesh has its sessions back, calico-bgpd against BIRD 2 in the same run.
//!
//! ```text
//! cargo build -p bgp --bin calico-bgpd
//! cargo run -p interop-tests --bin mesh_restart_bench -- [REPS]
//! ```
//!
//! Root only (network namespaces). Each repetition, for each speaker: three
//! namespaces `a`, `b`, `c` (10.0.9.1-3) on one LAN, a full iBGP mesh with
//! Calico's timers and rules (connect delay 2 s, connect retry 5 s, error
//! wait 5-30 s, graceful restart, the session towards the greater address
//! passive; BIRD as Calico's template configures it and run with `-R`, as
//! calico-node does). Once every session is up, `b` is SIGKILLed, started
//! again a second later, and the figure is the time from that start to the
//! last of its four sessions' ends (its own two and the two survivors')
//! logging the session Established, read from the speakers' timestamped
//! logs. `b` dials `a` and is dialed by `c`, so both directions count.
//!
//! calico-bgpd is the `calico-bgpd` beside this program unless `--daemon
//! PATH` says otherwise. Namespaces are removed and daemons stopped by PID.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use interop_tests::{Daemon, Lan, Netns, Workdir, wait_until};

const ADDRS: [&str; 3] = ["10.0.9.1", "10.0.9.2", "10.0.9.3"];
const NAMES: [&str; 3] = ["a", "b", "c"];
/// The restarted node.
const B: usize = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Speaker {
    CalicoBgpd,
    Bird,
}

struct Node {
    ns: Netns,
    dir: PathBuf,
    daemon: Option<Daemon>,
    runs: u32,
}

impl Node {
    fn log_path(&self, speaker: Speaker) -> PathBuf {
        match speaker {
            Speaker::CalicoBgpd => self.dir.join(format!("bgpd-{}.stderr", self.runs)),
            Speaker::Bird => self.dir.join(format!("bird-{}.log", self.runs)),
        }
    }

    fn log(&self, speaker: Speaker) -> String {
        std::fs::read_to_string(self.log_path(speaker)).unwrap_or_default()
    }
}

/// The log line that says the session with node `peer` is Established.
fn established_needle(speaker: Speaker, peer: usize) -> String {
    match speaker {
        Speaker::CalicoBgpd => format!("peer {} established (", ADDRS[peer]),
        Speaker::Bird => format!("Mesh_{}: BGP session established", ADDRS[peer].replace('.', "_")),
    }
}

fn bgpd_config(i: usize, dir: &Path) -> String {
    let mut s = format!(
        "log_level = \"info\"\ncontrol_socket = \"{}\"\n[node]\nname = \"{}\"\n\
         ipv4 = \"{}/24\"\nblocks = [\"10.244.{}.0/26\"]\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n",
        dir.join("bgpd.ctl").display(),
        NAMES[i],
        ADDRS[i],
        i + 1
    );
    for j in (0..3).filter(|j| *j != i) {
        let _ = write!(s, "[[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n", NAMES[j], ADDRS[j]);
    }
    s
}

/// BIRD as Calico's template writes it (bgp_template's timers and graceful
/// restart; `passive on` towards the lexically greater address).
fn bird_config(i: usize, log: &Path) -> String {
    let mut s = format!(
        "router id {me};\nlog \"{}\" all;\ntimeformat log \"%F %T.%6f\";\n\
         protocol device {{ scan time 10; }}\n\
         protocol static {{ ipv4; route 10.244.{}.0/26 blackhole; }}\n\
         template bgp bgp_template {{\n  local as 64512;\n  graceful restart;\n\
         connect delay time 2;\n  connect retry time 5;\n  error wait time 5,30;\n\
         direct;\n  debug {{ states, events }};\n  ipv4 {{ import all; export all; }};\n}}\n",
        log.display(),
        i + 1,
        me = ADDRS[i],
    );
    for j in (0..3).filter(|j| *j != i) {
        let _ = write!(
            s,
            "protocol bgp Mesh_{} from bgp_template {{\n  neighbor {} as 64512;\n  \
             source address {};\n{}}}\n",
            ADDRS[j].replace('.', "_"),
            ADDRS[j],
            ADDRS[i],
            if ADDRS[j] > ADDRS[i] { "  passive on;\n" } else { "" }
        );
    }
    s
}

fn start(node: &mut Node, i: usize, speaker: Speaker, daemon: &Path) -> Result<(), String> {
    node.runs += 1;
    let run = node.runs;
    let d = match speaker {
        Speaker::CalicoBgpd => {
            let conf = node.dir.join("calico-bgpd.toml");
            std::fs::write(&conf, bgpd_config(i, &node.dir)).map_err(|e| e.to_string())?;
            let argv = [daemon.to_str().unwrap_or_default(), "--config", conf.to_str().unwrap()];
            Daemon::spawn(&node.ns, &format!("bgpd-{run}"), &node.dir, &argv)
        }
        Speaker::Bird => {
            let conf = node.dir.join("bird.conf");
            let log = node.log_path(speaker);
            std::fs::write(&conf, bird_config(i, &log)).map_err(|e| e.to_string())?;
            let sock = node.dir.join("bird.ctl");
            let [c, s] = [&conf, &sock].map(|p| p.to_string_lossy().into_owned());
            let argv = ["bird", "-f", "-R", "-c", &c, "-s", &s];
            Daemon::spawn_env(&node.ns, &format!("bird-{run}"), &node.dir, &argv, &[("TZ", "UTC")])
        }
    };
    node.daemon = Some(d.map_err(|e| e.to_string())?);
    Ok(())
}

/// Seconds since the epoch of a log line's leading UTC timestamp,
/// `2026-12-07T23:12:05.826482Z` (calico-bgpd) or `2026-12-07 23:12:05.826482`
/// (BIRD with the `timeformat` above).
fn timestamp(line: &str) -> Option<f64> {
    let t = line.get(..26)?;
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm) = (num(11..13)?, num(14..16)?);
    let ss: f64 = t.get(17..26)?.parse().ok()?;
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60) as f64 + ss)
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// The last time `log` said `needle`, if it did `at_least` times.
fn last_said(log: &str, needle: &str, at_least: usize) -> Option<f64> {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
    if lines.len() < at_least {
        return None;
    }
    lines.last().and_then(|l| timestamp(l))
}

/// One repetition: seconds from `b`'s restart to its four session ends
/// Established.
fn one_run(speaker: Speaker, daemon: &Path, rep: usize) -> Result<f64, String> {
    let tag = match speaker {
        Speaker::CalicoBgpd => "rb",
        Speaker::Bird => "rB",
    };
    let wd = Workdir::new(&format!("restart-{tag}{rep}")).map_err(|e| e.to_string())?;
    let mut lan = Lan::new(tag, "10.0.9.0/24", "").map_err(|e| e.to_string())?;
    let mut nodes = Vec::new();
    for name in NAMES {
        let ns = Netns::new(&format!("{tag}{name}")).map_err(|e| e.to_string())?;
        lan.attach(&ns).map_err(|e| e.to_string())?;
        let dir = wd.subdir(name).map_err(|e| e.to_string())?;
        nodes.push(Node { ns, dir, daemon: None, runs: 0 });
    }
    let result = (|| {
        for (i, n) in nodes.iter_mut().enumerate() {
            start(n, i, speaker, daemon)?;
        }
        let all_up = |nodes: &[Node], survivors_seen: usize| {
            (0..3).all(|i| {
                (0..3).filter(|j| *j != i).all(|j| {
                    let n = if i != B && j == B { survivors_seen } else { 1 };
                    nodes[i].log(speaker).matches(&established_needle(speaker, j)).count() >= n
                })
            })
        };
        wait_until(Duration::from_secs(60), "the mesh up", || Ok(all_up(&nodes, 1)))
            .map_err(|e| e.to_string())?;
        // Let the first End-of-RIBs and the recovery settle.
        std::thread::sleep(Duration::from_secs(3));
        let b = nodes[B].daemon.as_mut().ok_or("b not running")?;
        b.signal("KILL").map_err(|e| e.to_string())?;
        let _ = b.stop(Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(1));
        let restarted = unix_now();
        start(&mut nodes[B], B, speaker, daemon)?;
        wait_until(Duration::from_secs(60), "the sessions back", || Ok(all_up(&nodes, 2)))
            .map_err(|e| e.to_string())?;
        let mut last = 0f64;
        for (i, n) in nodes.iter().enumerate() {
            let log = n.log(speaker);
            for j in (0..3).filter(|j| *j != i) {
                let times = if i != B && j == B { 2 } else { 1 };
                let at = last_said(&log, &established_needle(speaker, j), times)
                    .ok_or_else(|| format!("{}: no timestamp for {}", NAMES[i], NAMES[j]))?;
                last = last.max(at);
            }
        }
        Ok(last - restarted)
    })();
    for n in &mut nodes {
        if let Some(d) = n.daemon.as_mut() {
            let _ = d.stop(Duration::from_secs(5));
        }
    }
    if result.is_err() {
        for n in &nodes {
            eprintln!("=== {} ===\n{}", n.dir.display(), n.log(speaker));
        }
    }
    result
}

fn main() -> ExitCode {
    let mut reps = 3usize;
    let mut daemon = std::env::current_exe().unwrap_or_default().with_file_name("calico-bgpd");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--daemon" => daemon = args.next().unwrap_or_default().into(),
            n => match n.parse() {
                Ok(n) => reps = n,
                Err(_) => {
                    eprintln!("usage: mesh_restart_bench [REPS] [--daemon PATH]");
                    return ExitCode::FAILURE;
                }
            },
        }
    }
    if !daemon.exists() {
        eprintln!("{} not found: `cargo build -p bgp --bin calico-bgpd`", daemon.display());
        return ExitCode::FAILURE;
    }
    println!("| run | calico-bgpd s | BIRD 2 s | ratio |\n|---|---:|---:|---:|");
    let mut sums = (0f64, 0f64);
    for rep in 1..=reps {
        let mut figures = [0f64; 2];
        for (k, speaker) in [Speaker::CalicoBgpd, Speaker::Bird].into_iter().enumerate() {
            match one_run(speaker, &daemon, rep) {
                Ok(s) => figures[k] = s,
                Err(e) => {
                    eprintln!("{speaker:?}, run {rep}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        sums.0 += figures[0];
        sums.1 += figures[1];
        println!(
            "| {rep} | {:.3} | {:.3} | {:.2} |",
            figures[0],
            figures[1],
            figures[0] / figures[1]
        );
    }
    let n = reps as f64;
    println!("| mean | {:.3} | {:.3} | {:.2} |", sums.0 / n, sums.1 / n, sums.0 / sums.1);
    ExitCode::SUCCESS
}
