//! `rr_scale_bench`: one route reflector, N iBGP clients each announcing a
//! /26 block; calico-bgpd, BIRD 2 and FRR as the reflector in the same run
//! (see `interop_tests::rr_scale` for the topology and the figures).
//!
//! ```text
//! cargo build --release -p bgp --bin calico-bgpd
//! cargo run --release -p interop-tests --bin rr_scale_bench -- [N,N,...] [--daemon PATH]
//!     [--reflectors calico-bgpd,bird,frr]
//! ```
//!
//! Runs as root (it builds network namespaces). For each N (default
//! `1000`), runs each reflector in fresh namespaces, BIRD first, and prints
//! a markdown table with every figure's ratio to BIRD's. The daemon defaults
//! to the `calico-bgpd` beside this program.

use std::path::PathBuf;
use std::process::ExitCode;

use interop_tests::fib_busy::load_average;
use interop_tests::process::is_root;
use interop_tests::rr_scale::{self, Params, Reflector, RunResult};

struct Args {
    ns: Vec<u32>,
    reflectors: Vec<Reflector>,
}

fn usage() -> String {
    "usage: rr_scale_bench [N,N,...] [--daemon PATH] [--reflectors calico-bgpd,bird,frr]".to_owned()
}

fn parse() -> Result<Args, String> {
    let mut daemon =
        std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("calico-bgpd");
    let mut ns = vec![1000];
    let mut names = vec!["bird".to_owned(), "calico-bgpd".to_owned(), "frr".to_owned()];
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value\n{}", usage()));
        match arg.as_str() {
            "--daemon" => daemon = PathBuf::from(value()?),
            "--reflectors" => names = value()?.split(',').map(str::to_owned).collect(),
            "-h" | "--help" => return Err(usage()),
            list => {
                ns = list
                    .split(',')
                    .map(|n| n.trim().replace('_', "").parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("{list}: {e}\n{}", usage()))?;
            }
        }
    }
    let reflectors = names
        .iter()
        .map(|n| match n.as_str() {
            "calico-bgpd" => Ok(Reflector::CalicoBgpd(daemon.clone())),
            "bird" => Ok(Reflector::Bird),
            "frr" => Ok(Reflector::Frr),
            other => Err(format!("--reflectors: {other} is not calico-bgpd, bird or frr")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if reflectors.iter().any(|r| matches!(r, Reflector::CalicoBgpd(_))) && !daemon.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p bgp --bin calico-bgpd` \
             or pass --daemon",
            daemon.display()
        ));
    }
    Ok(Args { ns, reflectors })
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
        eprintln!("rr_scale_bench builds network namespaces: run it as root");
        return ExitCode::FAILURE;
    }
    let cmdline: Vec<String> = std::env::args().collect();
    println!("command: {}", cmdline.join(" "));
    println!("load average at start: {:.2}", load_average());
    let mut runs: Vec<RunResult> = Vec::new();
    let mut failed = false;
    for &n in &args.ns {
        for r in &args.reflectors {
            eprintln!("running N = {n}, reflector {}", r.label());
            match rr_scale::run(&Params::new(r.clone(), n)) {
                Ok(res) => {
                    eprintln!("{}", rr_scale::table(std::slice::from_ref(&res)));
                    runs.push(res);
                }
                Err(e) => {
                    eprintln!("N = {n}, {}: {e}", r.label());
                    failed = true;
                }
            }
        }
    }
    println!("{}", rr_scale::table(&runs));
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
