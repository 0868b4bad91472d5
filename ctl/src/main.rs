//! `calico-bgpctl`: the operator CLI of calico-bgpd, over its control socket.
//! The command line itself is `ctl::cli`.

use std::process::ExitCode;

use clap::Parser;
use ctl::cli::{Action, Check, Cli, Command, FamilyArg, Output, Show};
use ctl::client::Client;
use ctl::proto::{
    AdvertiseAction, AdvertiseRequest, Family, Request, Response, ResponseEnvelope, RouteQuery,
};
use ctl::render;

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
