//! `calico-bgpd`'s own command line (`--config`, `--check`, `--record`,
//! `--calico-resources`), in one place for the program and for its manual
//! page. The doc comments are the `--help` text. The BIRD command lines it
//! also takes, started as `bird`, are parsed by hand in `main.rs`.

use std::path::PathBuf;

use clap::Parser;

/// Where the daemon's configuration is unless `--config` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/calico-bgp/calico-bgpd.toml";

/// The options; see `long_about` for what each mode does.
#[derive(Debug, Parser)]
#[command(
    name = "calico-bgpd",
    version = ctl::build_info::LONG_VERSION,
    about = "A BGP speaker with kernel FIB programming for Calico networks",
    long_about = "calico-bgpd: a BGP speaker with kernel FIB programming for Calico networks.\n\n\
        `--config FILE` runs the daemon: one BGP session per configured peer, the listener, \
        SIGHUP reloads FILE (a bad file is refused and the running configuration kept), \
        SIGTERM sends Cease to every peer and exits 0. Logs go to stderr \
        (level from `log_level`, or RUST_LOG).\n\
        `--check FILE` validates FILE and exits 0, or 1 after printing every problem with \
        its key path (like `bird -p`; `-p -c FILE` also works).\n\
        `--calico-resources FILE --node NAME --print-config` derives the configuration of \
        node NAME from Calico v3 resources (the YAML `calicoctl apply -f` takes) as confd \
        does for BIRD, prints it (TOML, or JSON with `-o json`) and every refused resource \
        on stderr; exit 1 when the result does not validate. Local-only settings come from \
        `--config FILE` when given; CALICO_ROUTER_ID is read from the environment.\n\
        Keys and defaults: docs/configuration.md; the Calico mapping: docs/datastore.md."
)]
pub struct Args {
    /// Configuration file (TOML) [default: /etc/calico-bgp/calico-bgpd.toml].
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only validate FILE (or the --config file) and exit: 0 when valid, 1 otherwise.
    #[arg(short = 'p', long, value_name = "FILE", num_args = 0..=1)]
    pub check: Option<Option<PathBuf>>,
    /// Write every input of the owner task to FILE, one JSON line each, for
    /// replaying the run (docs/operations.md).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Calico v3 resources (multi-document YAML) to derive the configuration from.
    #[arg(long, value_name = "FILE", requires = "print_config")]
    pub calico_resources: Option<PathBuf>,
    /// The Calico node to derive for (default: `node.name` of --config).
    #[arg(long, value_name = "NAME", requires = "calico_resources")]
    pub node: Option<String>,
    /// Print the derived configuration and exit.
    #[arg(long, requires = "calico_resources")]
    pub print_config: bool,
    /// Format of --print-config.
    #[arg(short = 'o', long = "output", value_enum, default_value = "toml")]
    pub output: OutputFormat,
}

/// `-o`: the format of `--print-config`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OutputFormat {
    /// The configuration file's own format.
    Toml,
    /// The same keys as JSON.
    Json,
}
