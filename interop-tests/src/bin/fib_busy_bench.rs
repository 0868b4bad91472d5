//! `fib_busy_bench`: is routing to peers slower while calico-bgpd's FIB is
//! busy? (see `interop_tests::fib_busy` for the topology and the
//! windows.)
//!
//! ```text
//! cargo build --release -p bgp --bin calico-bgpd
//! cargo run --release -p interop-tests --bin fib_busy_bench -- [N,N,...] [--daemon PATH]
//!     [--fib on|off|both] [--speaker calico|bird|both] [--idle-probes K] [--after SECS]
//! ```
//!
//! Runs as root (it builds network namespaces). For each N (default
//! `100000,1000000`), runs with kernel programming off, then on, each in
//! fresh namespaces, and prints markdown tables. The daemon defaults to the
//! `calico-bgpd` beside this program. `--speaker both` runs BIRD 2 in the
//! daemon's place after each calico-bgpd run (kernel export on when the FIB
//! is), for the memory comparison (`VmHWM`, the peak resident set).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use interop_tests::fib_busy::{self, Params, RunResult, Speaker};
use interop_tests::process::is_root;

struct Args {
    ns: Vec<u32>,
    daemon: PathBuf,
    fib: Vec<bool>,
    speakers: Vec<Speaker>,
    idle_probes: u32,
    after: Duration,
}

fn usage() -> String {
    "usage: fib_busy_bench [N,N,...] [--daemon PATH] [--fib on|off|both] \
     [--speaker calico|bird|both] [--idle-probes K] [--after SECS]"
        .to_owned()
}

fn parse() -> Result<Args, String> {
    let beside = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("calico-bgpd");
    let mut a = Args {
        ns: vec![100_000, 1_000_000],
        daemon: beside,
        fib: vec![false, true],
        speakers: vec![Speaker::CalicoBgpd],
        idle_probes: 100,
        after: Duration::from_secs(2),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value\n{}", usage()));
        match arg.as_str() {
            "--daemon" => a.daemon = value()?.into(),
            "--fib" => {
                a.fib = match value()?.as_str() {
                    "on" => vec![true],
                    "off" => vec![false],
                    "both" => vec![false, true],
                    other => return Err(format!("--fib {other}: on, off or both")),
                }
            }
            "--speaker" => {
                a.speakers = match value()?.as_str() {
                    "calico" => vec![Speaker::CalicoBgpd],
                    "bird" => vec![Speaker::Bird],
                    "both" => vec![Speaker::CalicoBgpd, Speaker::Bird],
                    other => return Err(format!("--speaker {other}: calico, bird or both")),
                }
            }
            "--idle-probes" => {
                a.idle_probes = value()?.parse().map_err(|e| format!("--idle-probes: {e}"))?
            }
            "--after" => {
                let s: f64 = value()?.parse().map_err(|e| format!("--after: {e}"))?;
                a.after = Duration::try_from_secs_f64(s).map_err(|e| format!("--after: {e}"))?;
            }
            "-h" | "--help" => return Err(usage()),
            list => {
                a.ns = list
                    .split(',')
                    .map(|n| n.trim().replace('_', "").parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("{list}: {e}\n{}", usage()))?;
            }
        }
    }
    if !a.daemon.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p bgp --bin calico-bgpd` \
             or pass --daemon",
            a.daemon.display()
        ));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if !is_root() {
        eprintln!("fib_busy_bench builds network namespaces: run it as root");
        return ExitCode::FAILURE;
    }
    let cmdline: Vec<String> = std::env::args().collect();
    println!("command: {}", cmdline.join(" "));
    println!("daemon: {}", args.daemon.display());
    println!("load average at start: {:.2}", fib_busy::load_average());
    let mut runs: Vec<RunResult> = Vec::new();
    for &n in &args.ns {
        for &fib in &args.fib {
            for &speaker in &args.speakers {
                let mut p = Params::new(&args.daemon, n, fib);
                p.speaker = speaker;
                p.idle_probes = args.idle_probes;
                p.after = args.after;
                let fib = if fib { "on" } else { "off" };
                eprintln!("running {}, N = {n}, FIB {fib}", speaker.label());
                match fib_busy::run(&p) {
                    Ok(r) => {
                        eprintln!("{}", fib_busy::tables(std::slice::from_ref(&r)));
                        runs.push(r);
                    }
                    Err(e) => {
                        eprintln!("{}, N = {n}, FIB {fib}: {e}", speaker.label());
                        println!("{}", fib_busy::tables(&runs));
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }
    println!("{}", fib_busy::tables(&runs));
    ExitCode::SUCCESS
}
