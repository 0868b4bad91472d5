//! `calico-bgpd`: the BGP daemon's command line.
//!
//! `--config FILE` runs the daemon (sessions, listener, SIGHUP reload,
//! SIGTERM shutdown); `--check` is the equivalent of `bird -p` that Calico's
//! confd runs before every reload.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bgp::config::{self, LoadError, LogLevel, ValidatedConfig};
use bgp::daemon::{self, FibPort, KernelFib, NoFib, RibRoutes, fib_port};
use clap::Parser;

const DEFAULT_CONFIG: &str = "/etc/calico-bgp/calico-bgpd.toml";

/// calico-bgpd: a BGP speaker with kernel FIB programming for Calico networks.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    long_about = "calico-bgpd: a BGP speaker with kernel FIB programming for Calico networks.\n\n\
        `--config FILE` runs the daemon: one BGP session per configured peer, the listener, \
        SIGHUP reloads FILE (a bad file is refused and the running configuration kept), \
        SIGTERM sends Cease to every peer and exits 0. Logs go to stderr \
        (level from `log_level`, or RUST_LOG).\n\
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
    /// Write every input of the owner task to FILE, one JSON line each, for
    /// replaying the run (docs/operations.md).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.check {
        Some(file) => check(file.as_deref().unwrap_or(&args.config)),
        None => run(&args.config, args.record.as_deref()),
    }
}

/// `--check`: validation, file checks, every problem printed.
fn check(path: &Path) -> ExitCode {
    let Some(cfg) = load_or_report(path) else { return ExitCode::FAILURE };
    let mut file_errors = config::check_files(&cfg);
    // The datastore settings as the daemon would take them: the file's
    // `[datastore]` with Calico's ETCD_* variables from this environment.
    let env = config::DatastoreEnv::from_vars(|k| std::env::var(k).ok());
    if let Err(errors) = config::effective_datastore(&cfg.config().datastore, &env) {
        file_errors.extend(errors.0);
    }
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

/// `--config`: run the daemon until SIGTERM.
fn run(path: &Path, record: Option<&Path>) -> ExitCode {
    let Some(cfg) = load_or_report(path) else { return ExitCode::FAILURE };
    init_logging(cfg.config().log_level);
    let recorder = match record {
        None => None,
        Some(file) => match daemon::Recorder::create(file) {
            Ok(r) => Some(r),
            Err(e) => {
                // Asked for explicitly: better not to start than to run unrecorded.
                eprintln!("error: cannot create the recording {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("calico-bgpd {} starting: {}", env!("CARGO_PKG_VERSION"), cfg.summary());
    // A route reflector only reflects: Calico's RR hosts program no routes.
    let fib: Box<dyn FibPort> = if cfg.config().route_reflector.enabled {
        tracing::info!("route reflector: the FIB is disabled");
        Box::new(NoFib)
    } else {
        let mut fib = KernelFib::new(&cfg);
        // Read before any session starts: it decides whether our OPENs
        // carry the R bit (graceful restart recovery).
        let previous = runtime.block_on(fib_port::previous_run_routes(cfg.config().fib.table));
        if previous > 0 {
            tracing::info!("{previous} route(s) of a previous run in the kernel: recovering");
        }
        fib.set_previous_run(previous);
        Box::new(fib)
    };
    let routes = RibRoutes::new(&cfg, fib);
    runtime.block_on(daemon::run(path.to_owned(), cfg, routes, recorder));
    ExitCode::SUCCESS
}

/// Logs to stderr at the configured level; RUST_LOG overrides it. A
/// reload with a new `log_level` swaps the filter in place (unless RUST_LOG
/// is set, which keeps winning).
fn init_logging(level: LogLevel) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, fmt, reload};

    let from_env = EnvFilter::try_from_default_env().ok();
    let env_wins = from_env.is_some();
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(level.as_str()));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false))
        .init();
    daemon::set_log_level_hook(Box::new(move |level| {
        if env_wins {
            return Err("RUST_LOG is set and overrides log_level".into());
        }
        handle.modify(|f| *f = EnvFilter::new(level.as_str())).map_err(|e| e.to_string())
    }));
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
