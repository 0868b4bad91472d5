//! `calico-bgpctl`'s command line: every subcommand and option, in one
//! place for the program and for its manual page (`ctl/examples/manpages.rs`).
//! The doc comments are the `--help` text.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::build_info::LONG_VERSION;
use crate::client::DEFAULT_SOCKET;

/// The options and the subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "calico-bgpctl",
    version = LONG_VERSION,
    about = "Query and control calico-bgpd over its control socket"
)]
pub struct Cli {
    /// Control socket of the daemon.
    #[arg(long, global = true, env = "CALICO_BGPCTL_SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Seconds to wait for an answer.
    #[arg(long, global = true, default_value_t = 10)]
    pub timeout: u64,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `-o`: how answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    Table,
    /// The protocol's JSON (stable schema, one document).
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show peers, one peer, routes, the FIB or the daemon status.
    Show {
        /// What to show.
        #[command(subcommand)]
        what: Show,
    },
    /// Probe for calico-node: exit 0 when live/ready, 1 with the reason otherwise.
    Check {
        /// Which probe.
        #[command(subcommand)]
        what: Check,
    },
    /// Re-read the configuration (same as SIGHUP); exits 1 if it was refused.
    Reload,
    /// Originate or withdraw a prefix handed out at run time.
    Advertise {
        /// add or del.
        #[arg(value_enum)]
        action: Action,
        /// The prefix, e.g. 10.244.3.0/26.
        prefix: IpNet,
    },
}

/// `advertise add|del`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Action {
    /// Originate the prefix.
    Add,
    /// Stop originating it.
    Del,
}

/// `show ...`.
#[derive(Debug, Subcommand)]
pub enum Show {
    /// Every peer, as `calicoctl node status` shows them.
    Peers {
        /// Print BIRD 1.6 `show protocols` rows instead of the calicoctl table.
        #[arg(long)]
        bird: bool,
    },
    /// One peer in detail.
    Peer {
        /// The neighbor address.
        address: IpAddr,
    },
    /// Routes with every path, the best marked `*`, the others with why they lost.
    Routes {
        /// Only this prefix.
        prefix: Option<IpNet>,
        /// Only paths from this neighbor.
        #[arg(long)]
        peer: Option<IpAddr>,
        /// Only this family.
        #[arg(long, value_enum)]
        family: Option<FamilyArg>,
    },
    /// Wanted vs installed kernel routes.
    Fib,
    /// Daemon status.
    Status,
}

/// `check live|ready`.
#[derive(Debug, Subcommand)]
pub enum Check {
    /// The daemon answers (calico-node -bird-live).
    Live,
    /// BGP is up (calico-node -bird-ready).
    Ready {
        /// Require every peer Established and no graceful-restart recovery
        /// (what calico-node asks during its start-up window).
        #[arg(long)]
        strict: bool,
    },
}

/// `--family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}
