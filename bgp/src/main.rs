//! `calico-bgpd`: the BGP daemon's command line.
//!
//! `--config FILE` runs the daemon (sessions, listener, SIGHUP reload,
//! SIGTERM shutdown); `--check` is the equivalent of `bird -p` that Calico's
//! confd runs before every reload; `--calico-resources FILE --node NAME
//! --print-config` prints the configuration derived from Calico resources.
//!
//! Started under the name `bird` or `bird6` (a link), it takes the command
//! lines calico-node uses for BIRD instead: its runit service runs
//! `bird -R -s /var/run/calico/bird.ctl -d -c FILE` and confd checks with
//! `bird -p -c FILE` (FILE being calico-bgpd's own TOML here). `-s` sets the
//! BIRD-dialect socket of that family; `-R` and `-d` are accepted and change
//! nothing (recovery is decided from the kernel routes a previous run left,
//! and the daemon always stays in the foreground, logging to stderr).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bgp::calico::{self, Resources};
use bgp::cli::{Args, DEFAULT_CONFIG, OutputFormat};
use bgp::config::{self, Config, LoadError, LogLevel, ValidatedConfig};
use bgp::daemon::{self, FibPort, KernelFib, NoFib, RibRoutes, fib_port};
use clap::Parser;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let name = argv.first().and_then(|a| Path::new(a).file_name()).and_then(|n| n.to_str());
    if let Some(v6) = match name {
        Some("bird") => Some(false),
        Some("bird6") => Some(true),
        _ => None,
    } {
        return match BirdArgs::parse(&argv[1..]) {
            Ok(b) if b.check => check(b.config.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG))),
            Ok(b) => {
                let config = b.config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
                run(&config, None, b.socket.map(|s| (v6, s)))
            }
            Err(e) => {
                eprintln!("{}: {e}", name.unwrap_or("bird"));
                ExitCode::from(2)
            }
        };
    }
    let args = Args::parse();
    let config = args.config.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    if let Some(resources) = &args.calico_resources {
        return print_calico(resources, args.config.as_deref(), args.node.as_deref(), args.output);
    }
    match args.check {
        Some(file) => check(file.as_deref().unwrap_or(&config)),
        None => run(&config, args.record.as_deref(), None),
    }
}

/// The options of BIRD 1.6's command line that calico-node uses, taken
/// when the binary runs as `bird` or `bird6`.
#[derive(Debug, Default, PartialEq, Eq)]
struct BirdArgs {
    /// `-c FILE`.
    config: Option<PathBuf>,
    /// `-s SOCKET`: the BIRD-dialect socket.
    socket: Option<PathBuf>,
    /// `-p`: validate and exit.
    check: bool,
}

impl BirdArgs {
    fn parse(args: &[OsString]) -> Result<BirdArgs, String> {
        let mut b = BirdArgs::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |what: &str| {
                it.next().map(PathBuf::from).ok_or_else(|| format!("option {what} needs a value"))
            };
            match a.to_str() {
                Some("-c") => b.config = Some(value("-c")?),
                Some("-s") => b.socket = Some(value("-s")?),
                Some("-p") => b.check = true,
                // Recovery is decided from the previous run's kernel
                // routes; the daemon never forks.
                Some("-R" | "-d" | "-f") => {}
                _ => {
                    return Err(format!(
                        "unsupported option {}; as bird, calico-bgpd takes -c FILE, -s SOCKET, \
                         -p, -R, -d and -f",
                        a.to_string_lossy()
                    ));
                }
            }
        }
        Ok(b)
    }
}

/// `--calico-resources`: the configuration confd's rules give node `node`.
fn print_calico(
    resources: &Path,
    local: Option<&Path>,
    node: Option<&str>,
    output: OutputFormat,
) -> ExitCode {
    let mut local_config = match local {
        Some(path) => {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| config::from_toml(&text).map_err(|e| e.to_string()));
            match parsed {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{}: error: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        None => {
            let Some(name) = node else {
                eprintln!("error: --node NAME (or --config FILE with node.name) is required");
                return ExitCode::FAILURE;
            };
            // Only the name matters: every other key has its default.
            let minimal = format!("[node]\nname = {}\n", toml::Value::from(name));
            match config::from_toml(&minimal) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    if let Some(name) = node {
        local_config.node.name = name.to_owned();
    }
    let text = match std::fs::read_to_string(resources) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: error: {e}", resources.display());
            return ExitCode::FAILURE;
        }
    };
    let (resources_read, mut problems) = Resources::from_yaml(&text);
    let env = calico::Env::from_vars(std::env::vars());
    let derived = calico::derive(&resources_read, &local_config, &env);
    problems.extend(derived.problems);
    for p in &problems {
        eprintln!("{}: problem: {p}", resources.display());
    }
    let printed = match output {
        OutputFormat::Toml => toml::to_string(&derived.config).map_err(|e| e.to_string()),
        OutputFormat::Json => {
            serde_json::to_string_pretty(&derived.config).map_err(|e| e.to_string())
        }
    };
    match printed {
        Ok(out) => println!("{}", out.trim_end()),
        Err(e) => {
            eprintln!("error: cannot print the configuration: {e}");
            return ExitCode::FAILURE;
        }
    }
    report_validation(derived.config)
}

/// Validates a derived configuration, printing warnings and errors.
fn report_validation(derived: Config) -> ExitCode {
    match config::validate(derived) {
        Ok(v) => {
            for w in v.warnings() {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("error: {e}");
            }
            eprintln!("the derived configuration is invalid: {} error(s)", errors.errors().len());
            ExitCode::FAILURE
        }
    }
}

/// `--check`: validation, file checks, every problem printed. A file that
/// follows a datastore is only the base of the configuration: its
/// datastore settings are checked, the rest comes with the datastore.
fn check(path: &Path) -> ExitCode {
    if let Some(local) = load_unvalidated_or_report(path)
        && local.datastore.kind != config::DatastoreType::None
    {
        let env = config::DatastoreEnv::from_vars(|k| std::env::var(k).ok());
        let datastore = match config::effective_datastore(&local.datastore, &env) {
            Ok(d) => d,
            Err(errors) => {
                for e in errors.errors() {
                    eprintln!("{}: error: {e}", path.display());
                }
                eprintln!("{}: {} error(s)", path.display(), errors.errors().len());
                return ExitCode::FAILURE;
            }
        };
        if let config::EffectiveDatastore::File(resources) = datastore {
            return check_resources_file(path, &resources, local);
        }
        println!(
            "{}: datastore settings are valid; node {} is configured from the datastore",
            path.display(),
            local.node.name
        );
        return ExitCode::SUCCESS;
    }
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

/// `--check` of a file whose datastore is a resources file: the
/// configuration the daemon would run, derived and validated, every
/// refused object printed.
fn check_resources_file(path: &Path, resources: &Path, local: Config) -> ExitCode {
    let text = match std::fs::read_to_string(resources) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: error: {}: {e}", path.display(), resources.display());
            return ExitCode::FAILURE;
        }
    };
    let (read, problems) = match Resources::from_yaml_file(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: error: {e}", resources.display());
            return ExitCode::FAILURE;
        }
    };
    let env = calico::Env::from_vars(std::env::vars());
    let out = calico::configure_resources(&read, problems, &local, &env);
    for p in &out.problems {
        eprintln!("{}: problem: {p}", resources.display());
    }
    match out.config {
        Ok(cfg) => {
            for w in cfg.warnings() {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: configuration is valid with {}: {}",
                path.display(),
                resources.display(),
                cfg.summary()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("{}: error: {e}", resources.display());
            }
            eprintln!("{}: {} error(s)", resources.display(), errors.errors().len());
            ExitCode::FAILURE
        }
    }
}

/// `--config`: run the daemon until SIGTERM. `bird_socket` (from `bird
/// -s`) replaces the configured BIRD-dialect socket of its family
/// (`true`: IPv6).
fn run(path: &Path, record: Option<&Path>, bird_socket: Option<(bool, PathBuf)>) -> ExitCode {
    let Some(local) = load_unvalidated_or_report(path) else { return ExitCode::FAILURE };
    let env = config::DatastoreEnv::from_vars(|k| std::env::var(k).ok());
    let datastore = match config::effective_datastore(&local.datastore, &env) {
        Ok(d) => d,
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("{}: error: {e}", path.display());
            }
            return ExitCode::FAILURE;
        }
    };
    let mut bird_sockets = local.bird_compat.clone();
    match bird_socket {
        Some((false, s)) => bird_sockets.ipv4_socket = Some(s),
        Some((true, s)) => bird_sockets.ipv6_socket = Some(s),
        None => {}
    }
    init_logging(local.log_level);
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
    // With a datastore the file is only the base: the configuration that
    // runs is derived from Calico's objects, and routing starts once a
    // first snapshot gives one that validates (the control socket answers
    // meanwhile).
    let start = match datastore {
        config::EffectiveDatastore::None => match config::validate(local) {
            Ok(cfg) => {
                for w in cfg.warnings() {
                    tracing::warn!("{}: {w}", path.display());
                }
                daemon::Start::Ready(cfg, None)
            }
            Err(errors) => {
                for e in errors.errors() {
                    eprintln!("{}: error: {e}", path.display());
                }
                eprintln!("{}: {} error(s)", path.display(), errors.errors().len());
                return ExitCode::FAILURE;
            }
        },
        config::EffectiveDatastore::Etcdv3(settings) => {
            let env = calico::Env::from_vars(std::env::vars());
            daemon::Start::Etcd { settings, local, env }
        }
        config::EffectiveDatastore::File(resources) => {
            let calico_env = calico::Env::from_vars(std::env::vars());
            match daemon::file_config(resources, local, calico_env) {
                Ok((cfg, follow)) => daemon::Start::Ready(cfg, Some(follow)),
                Err(e) => {
                    eprintln!("{}: error: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    tracing::info!("calico-bgpd {} starting", ctl::build_info::LONG_VERSION);
    if let daemon::Start::Ready(cfg, _) = &start
        && let Some(taken) = listen_port_taken(cfg)
    {
        eprintln!("error: {taken}");
        return ExitCode::FAILURE;
    }
    runtime.block_on(daemon::run(path.to_owned(), start, routes, recorder, bird_sockets));
    ExitCode::SUCCESS
}

/// The route processing of `cfg`: the RIB, programming the kernel unless
/// `fib.enabled = false`.
async fn routes(cfg: &ValidatedConfig) -> RibRoutes {
    // A Calico route reflector is a node like any other and programs its
    // kernel (reflectors often run pods); only `fib.enabled = false` (a
    // dedicated reflector host) leaves the routing table alone.
    let fib: Box<dyn FibPort> = if !cfg.config().fib.enabled {
        tracing::info!("fib.enabled = false: the kernel routing table is not touched");
        Box::new(NoFib)
    } else {
        let mut fib = KernelFib::new(cfg);
        // Read before any session starts: it decides whether our OPENs
        // carry the R bit (graceful restart recovery).
        let previous = fib_port::previous_run_routes(cfg.config().fib.table).await;
        if previous > 0 {
            tracing::info!("{previous} route(s) of a previous run in the kernel: recovering");
        }
        fib.set_previous_run(previous);
        Box::new(fib)
    };
    RibRoutes::new(cfg, fib)
}

/// Whether another process already listens on a configured BGP address:
/// on a Calico node that is BIRD inside calico-node (host networking), and
/// two speakers would fight over the same `proto bird` kernel routes, so the
/// daemon refuses to start rather than run with its listener missing. Each
/// address is bound once and released before the daemon binds it for real.
fn listen_port_taken(cfg: &ValidatedConfig) -> Option<String> {
    let listen = &cfg.config().listen;
    listen.addresses.iter().find_map(|ip| {
        let addr = std::net::SocketAddr::new(*ip, listen.port);
        match std::net::TcpListener::bind(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Some(format!(
                "another process already listens on {addr} (BIRD inside calico-node?): only one \
                 BGP speaker may run on a node; stop it first (docs/operations.md, \
                 \"Beside calico-node's BIRD\")"
            )),
            _ => None,
        }
    })
}

/// The filter of a `log_level`: the daemon's own events at that level; the
/// etcd client's libraries (gRPC over HTTP/2) at most at `info`, since at
/// `debug` they log every frame of the datastore connection.
fn level_filter(level: LogLevel) -> tracing_subscriber::EnvFilter {
    let level = level.as_str();
    tracing_subscriber::EnvFilter::new(format!(
        "{level},h2=info,hyper=info,hyper_util=info,tonic=info,tower=info,rustls=info"
    ))
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
    let filter = from_env.unwrap_or_else(|| level_filter(level));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false))
        .init();
    daemon::set_log_level_hook(Box::new(move |level| {
        if env_wins {
            return Err("RUST_LOG is set and overrides log_level".into());
        }
        handle.modify(|f| *f = level_filter(level)).map_err(|e| e.to_string())
    }));
}

/// The file parsed but not validated, or `None` after printing why.
fn load_unvalidated_or_report(path: &Path) -> Option<Config> {
    match config::load_unvalidated(path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<BirdArgs, String> {
        BirdArgs::parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn calico_nodes_bird_command_lines_are_taken() {
        let b =
            parse(&["-R", "-s", "/var/run/calico/bird.ctl", "-d", "-c", "/etc/x.toml"]).unwrap();
        assert_eq!(b.socket.as_deref(), Some(Path::new("/var/run/calico/bird.ctl")));
        assert_eq!(b.config.as_deref(), Some(Path::new("/etc/x.toml")));
        assert!(!b.check);
        assert!(parse(&["-p", "-c", "/etc/x.toml"]).unwrap().check);
    }

    #[test]
    fn other_bird_options_are_refused_by_name() {
        assert!(parse(&["-u", "bird"]).unwrap_err().contains("-u"));
        assert!(parse(&["-c"]).unwrap_err().contains("needs a value"));
    }
}
