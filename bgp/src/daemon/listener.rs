//! The BGP listeners: one socket per configured listen address, accepting
//! connections and handing each to its peer's session.
//!
//! ```text
//!   accept(remote) --canonical address--> Registry lookup
//!        found:   peer TTL options on the socket -> SessionCmd::Accepted -> session
//!        missing: log "not a configured peer: wrong node IP?", Input::Refused
//! ```
//!
//! RFC 4271 §8.1 events 14/15 (TcpConnection_Valid, Tcp_CR_Invalid) happen
//! here: the FSM only hears of connections from configured peers. TCP MD5
//! keys are installed on each listening socket per peer (the kernel checks
//! the SYN against them), and refreshed by the owner on reload.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::Input;
use crate::config::TtlMode;
use crate::net;
use crate::session::{Connection, SessionCmd};

/// Where the listener delivers a configured peer's connections.
#[derive(Clone, Debug)]
pub(crate) struct PeerEntry {
    pub(crate) tx: mpsc::UnboundedSender<SessionCmd>,
    pub(crate) ttl: TtlMode,
}

/// Configured peers by address, shared by the owner (writes) and the
/// listeners (lookups).
pub(crate) type Registry = Arc<Mutex<HashMap<IpAddr, PeerEntry>>>;

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
        let entry = registry.lock().ok().and_then(|r| r.get(&ip).cloned());
        let Some(entry) = entry else {
            warn!(
                remote = %ip,
                "refused BGP connection from {ip}: not a configured peer: wrong node IP?"
            );
            let _ = inputs.send(Input::Refused { remote: ip });
            continue;
        };
        if let Err(e) = net::apply_ttl(&stream, remote.is_ipv6(), entry.ttl) {
            warn!(peer = %ip, "cannot set TTL options on the connection from {ip}: {e}");
        }
        let _ = stream.set_nodelay(true);
        match Connection::tcp(stream) {
            Ok(c) => {
                debug!(peer = %ip, "accepted {} -> {}", c.remote, c.local);
                let _ = entry.tx.send(SessionCmd::Accepted(c));
            }
            Err(e) => debug!(peer = %ip, "accepted connection already gone: {e}"),
        }
    }
}
