//! BIRD 1.6's control-socket dialect, rendered from the snapshots, so that
//! calico-node's probes (`-bird-ready`, `-bird-live`), `calicoctl node
//! status`, the CalicoNodeStatus populators and BIRD's own `birdcl` keep
//! working against calico-bgpd.
//!
//! Pure: a command line and a [`View`] (snapshots, routes, the clock) in,
//! the reply's [`Line`]s out; [`Encoder`] turns them into bytes with BIRD's
//! framing (BIRD nest/cli.c `cli_printf`):
//!
//! - `DDDD-text` when more lines follow, `DDDD text` on the last line;
//! - a line whose code equals the previous line's code and is not the last
//!   one starts with a single space instead of `DDDD-`; the previous code
//!   carries over from one reply to the next on a connection;
//! - tables end with `0000 ` (trailing space included).
//!
//! One daemon serves two sockets, as Calico runs `bird` (IPv4 sessions) and
//! `bird6` (IPv6 sessions): [`View::family`] selects the peers and routes
//! each socket shows.

#[cfg(test)]
mod calico_rules;
mod command;
mod protocols;
mod route;
mod status;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use crate::proto::{Family, PeerSnapshot, RouteSnapshot, StatusSnapshot};

pub use command::{Command, RouteFilter};
pub use route::RouteListing;

/// The version Calico's fork of BIRD prints (its `sysdep/config.h`
/// `BIRD_VERSION`); calico-node's status populator reads it after `BIRD `.
pub const VERSION: &str = "v0.3.3+birdv1.6.8";

/// The greeting sent on accept, before any command.
pub fn welcome() -> Line {
    Line::last(1, format!("BIRD {VERSION} ready."))
}

/// One reply line: its code, whether it ends the reply, its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The reply code (`1002`, `0000`...).
    pub code: u16,
    /// Ends the reply (`DDDD text`).
    pub last: bool,
    /// The text after the code.
    pub text: String,
}

impl Line {
    /// A line with more to follow.
    pub fn more(code: u16, text: impl Into<String>) -> Line {
        Line { code, last: false, text: text.into() }
    }

    /// The last line of a reply.
    pub fn last(code: u16, text: impl Into<String>) -> Line {
        Line { code, last: true, text: text.into() }
    }

    /// `0000 `: the end of a table.
    pub fn end() -> Line {
        Line::last(0, "")
    }
}

/// BIRD's line framing on one connection: remembers the previous code.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    last_code: Option<u16>,
}

impl Encoder {
    /// Appends `lines` to `out` as bytes.
    pub fn encode(&mut self, lines: &[Line], out: &mut Vec<u8>) {
        for l in lines {
            if l.last {
                out.extend_from_slice(format!("{:04} ", l.code).as_bytes());
            } else if self.last_code == Some(l.code) {
                out.push(b' ');
            } else {
                out.extend_from_slice(format!("{:04}-", l.code).as_bytes());
            }
            out.extend_from_slice(l.text.as_bytes());
            out.push(b'\n');
            self.last_code = Some(l.code);
        }
    }
}

/// What one socket shows, at one moment.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The family of this socket (`bird.ctl`: IPv4, `bird6.ctl`: IPv6).
    pub family: Family,
    /// Daemon status.
    pub status: &'a StatusSnapshot,
    /// Every configured peer (both families; the view picks its own).
    pub peers: &'a [PeerSnapshot],
    /// The server's clock, Unix seconds.
    pub now: u64,
}

impl View<'_> {
    /// The peers of this socket's family, in snapshot order.
    fn family_peers(&self) -> impl Iterator<Item = &PeerSnapshot> {
        self.peers.iter().filter(move |p| p.family() == self.family)
    }
}

/// The routes of a `show route` reply and the interface each next hop
/// leaves by (`via GW on IFACE`), as the I/O shell resolved them.
#[derive(Clone, Copy)]
pub struct Routes<'a> {
    /// Loc-RIB routes of this socket's family.
    pub routes: &'a [RouteSnapshot],
    /// Interface of a next hop, if the kernel can reach it.
    pub iface: &'a (dyn Fn(IpAddr) -> Option<String> + Sync),
}

impl std::fmt::Debug for Routes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes").field("routes", &self.routes.len()).finish_non_exhaustive()
    }
}

/// The reply to `cmd`. `routes` is needed only by the route commands
/// ([`Command::needs_routes`]); without it they answer with no rows.
pub fn answer(cmd: &Command, view: &View<'_>, routes: Option<&Routes<'_>>) -> Vec<Line> {
    let empty = Routes { routes: &[], iface: &|_| None };
    match cmd {
        Command::ShowStatus => status::show_status(view),
        Command::ShowProtocols { all, name } => {
            protocols::show_protocols(view, *all, name.as_deref())
        }
        Command::ShowRoute(filter) => route::show_route(view, filter, routes.unwrap_or(&empty)),
        Command::SyntaxError => vec![Line::last(9001, "syntax error")],
    }
}

/// The peer holds our graceful-restart recovery open (BIRD's `gr_lock`):
/// its End-of-RIB is awaited, or it is not up yet and still waited for.
fn gr_pending(v: &View<'_>, p: &PeerSnapshot) -> bool {
    v.status.graceful_restart.as_ref().is_some_and(|gr| {
        let addr = p.address.to_string();
        gr.waiting_for.iter().any(|w| *w == addr || *w == p.name)
    })
}

/// Our recovery holds the peer's exports back (BIRD's `gr_wait`): the
/// session is up and negotiated graceful restart while the recovery runs.
fn gr_wait(v: &View<'_>, p: &PeerSnapshot) -> bool {
    use crate::proto::{GrPeerState, SessionState};
    v.status.graceful_restart.is_some()
        && p.state == SessionState::Established
        && matches!(p.graceful_restart.state, GrPeerState::Ready | GrPeerState::WaitingEndOfRib)
}
