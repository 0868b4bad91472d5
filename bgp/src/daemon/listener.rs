//! The BGP listeners: one socket per configured listen address, accepting
//! connections and handing each to its peer's session.
//!
//! ```text
//!   accept(remote) --canonical address--> Registry lookup
//!        one session:    peer TTL options on the socket -> SessionCmd::Accepted -> session
//!        several (ports): identify by the OPEN (module identify), then the same;
//!                         unidentified: logged and closed
//!        none:           log "not a configured peer: wrong node IP?", Input::Refused
//! ```
//!
//! RFC 4271 §8.1 events 14/15 (TcpConnection_Valid, Tcp_CR_Invalid) happen
//! here: the FSM only hears of connections from configured peers. TCP MD5
//! keys are installed on each listening socket per peer address (the kernel
//! checks the SYN against them; sessions to one address share the key), and
//! refreshed by the owner on reload.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::Input;
use super::identify::{self, Candidate, Replayed};
use crate::config::{PeerKey, TtlMode};
use crate::net;
use crate::session::{Connection, SessionCmd};

/// Where the listener delivers a configured peer's connections.
#[derive(Clone, Debug)]
pub(crate) struct PeerEntry {
    /// The peer's port: with the address, the session's key.
    pub(crate) port: u16,
    pub(crate) tx: mpsc::UnboundedSender<SessionCmd>,
    pub(crate) ttl: TtlMode,
    /// The AS the session expects (tells sessions to one address apart).
    pub(crate) remote_as: u32,
    /// The BGP Identifier the peer sent when last Established.
    pub(crate) seen_id: Option<Ipv4Addr>,
}

/// Configured sessions by address, sorted by port, shared by the owner
/// (writes) and the listeners (lookups).
pub(crate) type Registry = Arc<Mutex<HashMap<IpAddr, Vec<PeerEntry>>>>;

/// Adds (or replaces) the session `key`.
pub(crate) fn register(registry: &Registry, key: PeerKey, entry: PeerEntry) {
    if let Ok(mut r) = registry.lock() {
        let at = r.entry(key.address).or_default();
        at.retain(|e| e.port != key.port);
        at.push(entry);
        at.sort_by_key(|e| e.port);
    }
}

/// Removes the session `key`.
pub(crate) fn unregister(registry: &Registry, key: PeerKey) {
    if let Ok(mut r) = registry.lock() {
        if let Some(at) = r.get_mut(&key.address) {
            at.retain(|e| e.port != key.port);
            if at.is_empty() {
                r.remove(&key.address);
            }
        }
    }
}

/// Records the BGP Identifier of `key`'s peer, once Established: later
/// connections from a shared address are matched by it.
pub(crate) fn note_peer_id(registry: &Registry, key: PeerKey, bgp_id: Ipv4Addr) {
    if let Ok(mut r) = registry.lock() {
        let entry =
            r.get_mut(&key.address).and_then(|at| at.iter_mut().find(|e| e.port == key.port));
        if let Some(e) = entry {
            e.seen_id = Some(bgp_id);
        }
    }
}

/// One listening socket and its accept task.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) addr: SocketAddr,
    sock: Arc<TcpListener>,
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        // The task holds the other reference; aborting it closes the socket.
        self.task.abort();
    }
}

impl Listener {
    pub(crate) fn bind(
        addr: SocketAddr,
        registry: Registry,
        inputs: mpsc::UnboundedSender<Input>,
    ) -> io::Result<Listener> {
        let sock = Arc::new(net::bind_listener(addr)?);
        let task = tokio::spawn(accept_loop(sock.clone(), registry, inputs));
        Ok(Listener { addr, sock, task })
    }

    /// Sets the socket's TTL floor (0: none); see [`net::listener_min_ttl`].
    pub(crate) fn set_min_ttl(&self, min: u8) -> io::Result<()> {
        net::md5::set_min_ttl(&*self.sock, self.addr.is_ipv6(), min)
    }

    /// Installs (or with an empty key removes) `peer`'s MD5 key, if the peer
    /// can reach this socket (same address family).
    pub(crate) fn set_md5(&self, peer: IpAddr, key: &[u8]) -> io::Result<()> {
        if peer.is_ipv6() != self.addr.is_ipv6() {
            return Ok(());
        }
        net::md5::set_md5_key(&*self.sock, peer, key)
    }
}

async fn accept_loop(
    sock: Arc<TcpListener>,
    registry: Registry,
    inputs: mpsc::UnboundedSender<Input>,
) {
    loop {
        let (stream, remote) = match sock.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and the like: back off rather than spin.
                warn!("accept on {:?}: {e}", sock.local_addr().ok());
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = net::canonical(remote.ip());
        let entries = registry.lock().ok().and_then(|r| r.get(&ip).cloned()).unwrap_or_default();
        match entries.as_slice() {
            [] => {
                warn!(
                    remote = %ip,
                    "refused BGP connection from {ip}: not a configured peer: wrong node IP?"
                );
                let _ = inputs.send(Input::Refused { remote: ip });
            }
            [one] => hand_over(stream, remote, one, None),
            _ => {
                tokio::spawn(identify_and_hand_over(stream, remote, entries));
            }
        }
    }
}

/// Gives the connection its session's TTL options and the session.
/// `head` is what was read to identify the peer, replayed first.
fn hand_over(stream: TcpStream, remote: SocketAddr, entry: &PeerEntry, head: Option<bytes::Bytes>) {
    let ip = net::canonical(remote.ip());
    if let Err(e) = net::apply_ttl(&stream, remote.is_ipv6(), entry.ttl) {
        warn!(peer = %ip, "cannot set TTL options on the connection from {ip}: {e}");
    }
    let _ = stream.set_nodelay(true);
    let connection = match head {
        None => Connection::tcp(stream),
        Some(head) => stream.local_addr().map(|local| Connection {
            stream: Box::new(Replayed::new(head, stream)),
            local,
            remote,
        }),
    };
    match connection {
        Ok(c) => {
            debug!(peer = %ip, "accepted {} -> {}", c.remote, c.local);
            let _ = entry.tx.send(SessionCmd::Accepted(c));
        }
        Err(e) => debug!(peer = %ip, "accepted connection already gone: {e}"),
    }
}

/// Several sessions share the address: the peer's OPEN says which one the
/// connection is for (module [`identify`]).
async fn identify_and_hand_over(
    mut stream: TcpStream,
    remote: SocketAddr,
    entries: Vec<PeerEntry>,
) {
    let ip = net::canonical(remote.ip());
    let candidates: Vec<Candidate> = entries
        .iter()
        .map(|e| Candidate { port: e.port, remote_as: e.remote_as, seen_id: e.seen_id })
        .collect();
    let who = identify::describe(ip, &candidates);
    let read = tokio::time::timeout(identify::OPEN_WAIT, identify::read_open(&mut stream)).await;
    let (speaker, head) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return debug!(peer = %ip, "connection from {who} dropped: {e}"),
        Err(_) => {
            return debug!(peer = %ip, "connection from {who}: no OPEN in {:?}", identify::OPEN_WAIT);
        }
    };
    match identify::choose(&candidates, speaker) {
        Ok(port) => {
            let Some(entry) = entries.iter().find(|e| e.port == port) else { return };
            debug!(peer = %ip, "connection from {who}: AS {} is the session on port {port}", speaker.asn);
            hand_over(stream, remote, entry, Some(head));
        }
        // Not counted with the unknown sources: the address is a peer's.
        Err(why) => warn!(peer = %ip, "refused BGP connection from {who}: {why}"),
    }
}
