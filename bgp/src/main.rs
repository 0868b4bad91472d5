//! `calico-bgpd`: the BGP daemon. For now only the command line exists; the
//! sessions issue turns this into the daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// calico-bgpd: a BGP speaker with kernel FIB programming for Calico networks.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Path of the TOML configuration file.
    #[arg(short, long, default_value = "/etc/calico-bgp/calico-bgpd.toml")]
    config: PathBuf,
    /// Parse and validate the configuration, then exit (like `bird -p`).
    #[arg(short = 'p', long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    eprintln!(
        "calico-bgpd {}: configuration {} (daemon not implemented yet{})",
        env!("CARGO_PKG_VERSION"),
        args.config.display(),
        if args.check { ", check only" } else { "" }
    );
    ExitCode::SUCCESS
}
