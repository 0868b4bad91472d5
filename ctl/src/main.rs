//! `calico-bgpctl`: the operator CLI of calico-bgpd, over its control socket.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ctl::client::{Client, DEFAULT_SOCKET};
use ctl::proto::{
    AdvertiseAction, AdvertiseRequest, Family, Request, Response, ResponseEnvelope, RouteQuery,
};
use ctl::render;
use ipnet::IpNet;

/// Query and control calico-bgpd.
#[derive(Debug, Parser)]
#[command(name = "calico-bgpctl", version, about)]
struct Cli {
    /// Control socket of the daemon.
    #[arg(long, global = true, env = "CALICO_BGPCTL_SOCKET", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Seconds to wait for an answer.
    #[arg(long, global = true, default_value_t = 10)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Human-readable tables.
    Table,
    /// The protocol's JSON (stable schema, one document).
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show peers, one peer, routes, the FIB or the daemon status.
    Show {
        #[command(subcommand)]
        what: Show,
    },
    /// Probe for calico-node: exit 0 when live/ready, 1 with the reason otherwise.
    Check {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Action {
    Add,
    Del,
}

#[derive(Debug, Subcommand)]
enum Show {
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

#[derive(Debug, Subcommand)]
enum Check {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FamilyArg {
    Ipv4,
    Ipv6,
}

fn request_of(command: &Command) -> Request {
    match command {
        Command::Show { what } => match what {
            Show::Peers { .. } => Request::ShowPeers,
            Show::Peer { address } => Request::ShowPeer { address: *address },
            Show::Routes { prefix, peer, family } => Request::ShowRoutes(RouteQuery {
                prefix: *prefix,
                peer: *peer,
                family: family.map(|f| match f {
                    FamilyArg::Ipv4 => Family::Ipv4,
                    FamilyArg::Ipv6 => Family::Ipv6,
                }),
            }),
            Show::Fib => Request::ShowFib,
            Show::Status => Request::ShowStatus,
        },
        Command::Check { .. } => Request::ShowStatus,
        Command::Reload => Request::Reload,
        Command::Advertise { action, prefix } => Request::Advertise(AdvertiseRequest {
            action: match action {
                Action::Add => AdvertiseAction::Add,
                Action::Del => AdvertiseAction::Del,
            },
            prefix: prefix.trunc(),
        }),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let client = Client::new(&cli.socket).with_timeout(std::time::Duration::from_secs(cli.timeout));
    if let Command::Check { what } = &cli.command {
        return check(&client, what);
    }
    let envelope = match client.request(request_of(&cli.command)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("calico-bgpctl: {e}");
            return ExitCode::from(2);
        }
    };
    let bird = matches!(cli.command, Command::Show { what: Show::Peers { bird: true } });
    print(&envelope, cli.output, bird)
}

/// Prints the answer; exit 1 for an error answer or a refused reload.
fn print(envelope: &ResponseEnvelope, output: Output, bird: bool) -> ExitCode {
    let failed = match &envelope.response {
        Response::Error(_) => true,
        Response::Reload(r) => !r.accepted(),
        _ => false,
    };
    if output == Output::Json {
        match serde_json::to_string_pretty(&envelope.response) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("calico-bgpctl: cannot encode JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        let now = envelope.server_time;
        let text = match &envelope.response {
            Response::Peers(p) if bird => render::bird_protocols(p, now),
            Response::Peers(p) => render::peers_table(p, now),
            Response::Peer(p) => render::peer_detail(p, now),
            Response::Routes(r) => render::routes(r, now),
            Response::Fib(f) => render::fib(f),
            Response::Status(s) => render::status(s, now),
            Response::Reload(r) => render::reload(r),
            Response::Advertise(a) => render::advertise(a),
            Response::Error(e) => {
                eprintln!("calico-bgpctl: {e}");
                String::new()
            }
        };
        print!("{text}");
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `check live|ready`: one line, exit 0 / 1 (2 when the daemon is unreachable).
fn check(client: &Client, what: &Check) -> ExitCode {
    let get = |request| match client.request(request) {
        Ok(ResponseEnvelope { response: Response::Error(e), .. }) => Err((1, e.to_string())),
        Ok(e) => Ok(e.response),
        Err(e) => Err((2, e.to_string())),
    };
    let result = (|| {
        let Response::Status(status) = get(Request::ShowStatus)? else {
            return Err((1, "unexpected answer to show_status".to_owned()));
        };
        let Check::Ready { strict } = what else { return Ok("calico-bgpd is live") };
        let Response::Peers(peers) = get(Request::ShowPeers)? else {
            return Err((1, "unexpected answer to show_peers".to_owned()));
        };
        ctl::health::readiness(&status, &peers, *strict)
            .map(|()| "calico-bgpd is ready")
            .map_err(|e| (1, format!("calico-bgpd is not ready: {e}")))
    })();
    match result {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err((code, msg)) => {
            eprintln!("calico-bgpctl: {msg}");
            ExitCode::from(code)
        }
    }
}
