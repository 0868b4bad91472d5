//! `calico-bgpd`: the BGP daemon's command line.
//!
//! For now it loads and validates the configuration and exits; the sessions
//! issue adds the daemon runtime behind `--config`. `--check` is the
//! equivalent of `bird -p` that Calico's confd runs before every reload.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bgp::config::{self, LoadError, ValidatedConfig};
use clap::Parser;

const DEFAULT_CONFIG: &str = "/etc/calico-bgp/calico-bgpd.toml";

/// calico-bgpd: a BGP speaker with kernel FIB programming for Calico networks.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    long_about = "calico-bgpd: a BGP speaker with kernel FIB programming for Calico networks.\n\n\
        Not yet a daemon: `--config FILE` loads and validates FILE, prints a one-line summary \
        and exits 0; the runtime (sessions, RIB, FIB, SIGHUP reload) comes later.\n\
        `--check FILE` validates FILE and exits 0, or 1 after printing every problem with \
        its key path (like `bird -p`; `-p -c FILE` also works).\n\
        Keys and defaults: docs/configuration.md."
)]
struct Args {
    /// Configuration file (TOML).
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Only validate FILE (or the --config file) and exit: 0 when valid, 1 otherwise.
    #[arg(short = 'p', long, value_name = "FILE", num_args = 0..=1)]
    check: Option<Option<PathBuf>>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.check {
        Some(file) => check(file.as_deref().unwrap_or(&args.config)),
        None => run(&args.config),
    }
}

/// `--check`: validation, file checks, every problem printed.
fn check(path: &Path) -> ExitCode {
    let Some(cfg) = load_or_report(path) else { return ExitCode::FAILURE };
    let file_errors = config::check_files(&cfg);
    for e in &file_errors {
        eprintln!("{}: error: {e}", path.display());
    }
    if !file_errors.is_empty() {
        eprintln!("{}: {} error(s)", path.display(), file_errors.len());
        return ExitCode::FAILURE;
    }
    println!("{}: configuration is valid: {}", path.display(), cfg.summary());
    ExitCode::SUCCESS
}

/// `--config`: until the runtime exists, load, summarise and exit.
fn run(path: &Path) -> ExitCode {
    let Some(cfg) = load_or_report(path) else { return ExitCode::FAILURE };
    println!("calico-bgpd {}: {}", env!("CARGO_PKG_VERSION"), cfg.summary());
    println!("calico-bgpd: daemon runtime not implemented yet; exiting");
    ExitCode::SUCCESS
}

fn load_or_report(path: &Path) -> Option<ValidatedConfig> {
    let file = path.display();
    match config::load(path) {
        Ok(cfg) => {
            for w in cfg.warnings() {
                eprintln!("{file}: warning: {w}");
            }
            Some(cfg)
        }
        Err(LoadError::Invalid { errors, .. }) => {
            for e in errors.errors() {
                eprintln!("{file}: error: {e}");
            }
            eprintln!("{file}: {} error(s)", errors.errors().len());
            None
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}
