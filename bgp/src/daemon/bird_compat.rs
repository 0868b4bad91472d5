//! The BIRD 1.6 control sockets (`[bird_compat]`): the I/O around
//! [`ctl::bird16`], so that calico-node's `-bird-ready` / `-bird-live`,
//! `calicoctl node status`, the CalicoNodeStatus populators and BIRD's own
//! `birdcl` can read calico-bgpd where they read `bird.ctl` / `bird6.ctl`.
//!
//! Per connection, as BIRD does (nest/cli.c): the `0001` welcome first;
//! then one command per line (`\r` dropped), answered in order, as many as
//! the client sends, until it closes. A command written before the welcome
//! was read is simply read after it. Replies are built from the owner's
//! published snapshot, so a busy owner never holds a client up; only
//! `show route` asks the owner for its routes: the copy `show routes`
//! shares, rendered and written a piece at a time.
//! A client that stops reading gets its connection closed after
//! [`WRITE_TIMEOUT`]: its task waits, never the daemon; one that sends
//! nothing for [`IDLE_TIMEOUT`] is closed too.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ctl::bird16::{self, Command, Encoder, RouteListing, Routes, View};
use ctl::proto::{Family, RouteQuery};
use ctl::server::Handler;
use ipnet::IpNet;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{error, info};

use super::CtlHandler;
use crate::config::BirdCompat;

/// Longest time one reply may take to write before the client is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection that sends nothing for this long is closed, so forgotten
/// clients cannot hold every connection slot for good.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Longest command line read; BIRD's own limit is lower still.
const MAX_LINE: u64 = 4096;

/// Networks of a `show route` reply rendered between two writes.
const ROWS_PER_WRITE: usize = 512;

/// Connections served at once per socket.
const MAX_CLIENTS: usize = 16;

/// Binds the configured sockets (mode 0660) and serves each until `stop`
/// turns true. A socket that cannot be bound is logged and left out:
/// routing matters more than the tools that watch it.
pub fn spawn(
    cfg: &BirdCompat,
    handler: Arc<CtlHandler>,
    stop: watch::Receiver<bool>,
) -> Vec<(PathBuf, JoinHandle<()>)> {
    let mut out = Vec::new();
    for (family, path) in [(Family::Ipv4, &cfg.ipv4_socket), (Family::Ipv6, &cfg.ipv6_socket)] {
        let Some(path) = path else { continue };
        match ctl::server::bind(path, &ctl::server::ServerOptions::default()) {
            Ok(l) => {
                info!("BIRD-dialect socket ({}) {}", family.as_str(), path.display());
                let task = tokio::spawn(serve(l, family, handler.clone(), stop.clone()));
                out.push((path.clone(), task));
            }
            Err(e) => error!("cannot bind the BIRD-dialect socket {}: {e}", path.display()),
        }
    }
    out
}

async fn serve(
    listener: UnixListener,
    family: Family,
    handler: Arc<CtlHandler>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    loop {
        let stream = tokio::select! {
            () = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: keep the connections we have.
                    tracing::debug!("BIRD-dialect socket accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let handler = handler.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // A failed connection only concerns that client.
            let _ = connection(stream, family, &handler).await;
        });
    }
}

async fn connection(
    stream: UnixStream,
    family: Family,
    handler: &CtlHandler,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut enc = Encoder::default();
    send(&mut write, &mut enc, &[bird16::welcome()]).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE);
        let read = limited.read_until(b'\n', &mut line);
        let Ok(n) = tokio::time::timeout(IDLE_TIMEOUT, read).await else {
            return Ok(()); // idle
        };
        let n = n?;
        if n == 0 {
            return Ok(());
        }
        let overlong = line.last() != Some(&b'\n') && n as u64 == MAX_LINE;
        line.retain(|b| *b != b'\r' && *b != b'\n');
        let cmd = if overlong {
            Command::SyntaxError
        } else {
            Command::parse(&String::from_utf8_lossy(&line))
        };
        answer(&cmd, family, handler, &mut write, &mut enc).await?;
        if overlong {
            return Ok(());
        }
    }
}

async fn send(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    enc: &mut Encoder,
    lines: &[bird16::Line],
) -> std::io::Result<()> {
    let mut out = Vec::new();
    enc.encode(lines, &mut out);
    tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&out))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client not reading"))?
}

/// Answers one command. `show route` of a whole table is rendered and
/// written [`ROWS_PER_WRITE`] networks at a time from the owner's shared
/// copy of the routes, so its text is never held whole.
async fn answer(
    cmd: &Command,
    family: Family,
    handler: &CtlHandler,
    write: &mut tokio::net::unix::OwnedWriteHalf,
    enc: &mut Encoder,
) -> std::io::Result<()> {
    let (status, peers) = (handler.status().await, handler.peers().await);
    let now = ctl::server::unix_now();
    let view = View { family, status: &status, peers: &peers, now };
    let Command::ShowRoute(filter) = cmd else {
        return send(write, enc, &bird16::answer(cmd, &view, None)).await;
    };
    let routes = match filter.prefix {
        // One network is a lookup.
        Some(prefix) => {
            let query = RouteQuery { prefix: Some(prefix), peer: None, family: Some(family) };
            Arc::new(handler.routes(query).await.unwrap_or_default())
        }
        None => handler.table().await.unwrap_or_default(),
    };
    let underlay = Underlay::read().await;
    let iface = |a: IpAddr| underlay.iface(a);
    let routes = Routes { routes: &routes, iface: &iface };
    let mut listing = match RouteListing::new(&view, filter, &routes) {
        Ok(l) => l,
        Err(refused) => return send(write, enc, &refused).await,
    };
    let mut lines = Vec::new();
    for chunk in routes.routes.chunks(ROWS_PER_WRITE) {
        for rt in chunk {
            listing.network(rt, &mut lines);
        }
        if !lines.is_empty() {
            send(write, enc, &lines).await?;
            lines.clear();
        }
    }
    listing.finish(&mut lines);
    send(write, enc, &lines).await
}

/// The kernel's main-table routes that are not ours, with device names:
/// a next hop leaves by the device of the longest one holding it, as
/// `ip route get` would say (BIRD shows that device even for routes it
/// installs through `tunl0`).
#[derive(Debug, Default)]
struct Underlay {
    routes: Vec<(IpNet, String)>,
}

impl Underlay {
    /// Read from the kernel now; empty if netlink fails (next hops then
    /// show as `unreachable`).
    async fn read() -> Underlay {
        let Ok(k) = fib::netlink::Kernel::open() else { return Underlay::default() };
        let (Ok(routes), Ok(links)) = (k.dump_underlay().await, k.dump_links().await) else {
            return Underlay::default();
        };
        let name = |i| links.iter().find(|l| l.index == i).map(|l| l.name.clone());
        Underlay { routes: routes.iter().filter_map(|r| Some((r.dst, name(r.dev)?))).collect() }
    }

    fn iface(&self, a: IpAddr) -> Option<String> {
        self.routes
            .iter()
            .filter(|(net, _)| net.contains(&a))
            .max_by_key(|(net, _)| net.prefix_len())
            .map(|(_, dev)| dev.clone())
    }
}

/// Removes the socket files `spawn` bound, once their tasks ended.
pub async fn finish(tasks: Vec<(PathBuf, JoinHandle<()>)>) {
    for (path, task) in tasks {
        let _ = task.await;
        let _ = std::fs::remove_file(&path);
    }
}
