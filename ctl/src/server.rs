//! The daemon side of the control socket.
//!
//! The daemon implements [`Handler`] once (each method returns an owned
//! snapshot or result) and spawns [`serve`]. Every request runs under
//! [`ServerOptions::request_timeout`]; the answer is serialised into a buffer
//! before the first byte is written, so a slow or stuck client only holds its
//! own connection task, never the daemon's state. Connections beyond
//! [`ServerOptions::max_clients`] wait for a slot rather than pile up.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::proto::{
    AdvertiseRequest, AdvertiseResult, CtlError, ErrorKind, FibSnapshot, MAX_REQUEST_BYTES,
    PROTOCOL_VERSION, PeerSnapshot, ReloadResult, Request, RequestEnvelope, Response,
    ResponseEnvelope, RouteQuery, RouteSnapshot, StatusSnapshot,
};

/// What the daemon implements to answer `calico-bgpctl` (and the metrics
/// endpoint, which reads [`Handler::status`] and [`Handler::peers`]).
///
/// Each method returns owned data: take a snapshot (clone out of a
/// `watch` channel, or ask the owning task over a oneshot) and return it; do
/// not hold a lock across the `.await` points of the server. Implement with
/// `async fn`; the futures must be `Send` because each connection is a task.
pub trait Handler: Send + Sync + 'static {
    /// Every configured peer.
    fn peers(&self) -> impl Future<Output = Vec<PeerSnapshot>> + Send;

    /// One peer; by default the matching entry of [`Handler::peers`].
    fn peer(&self, address: IpAddr) -> impl Future<Output = Option<PeerSnapshot>> + Send {
        async move { self.peers().await.into_iter().find(|p| p.address == address) }
    }

    /// Routes matching the query (see [`RouteQuery::apply`] for a ready filter).
    fn routes(
        &self,
        query: RouteQuery,
    ) -> impl Future<Output = Result<Vec<RouteSnapshot>, CtlError>> + Send;

    /// Wanted vs installed kernel routes.
    fn fib(&self) -> impl Future<Output = FibSnapshot> + Send;

    /// Daemon status.
    fn status(&self) -> impl Future<Output = StatusSnapshot> + Send;

    /// Re-read and apply the configuration, exactly as on SIGHUP.
    fn reload(&self) -> impl Future<Output = ReloadResult> + Send;

    /// Add or withdraw a locally originated prefix.
    fn advertise(
        &self,
        request: AdvertiseRequest,
    ) -> impl Future<Output = Result<AdvertiseResult, CtlError>> + Send;
}

/// Runs one request against a handler (no timeout; [`serve`] adds it).
pub async fn dispatch<H: Handler>(handler: &H, request: Request) -> Response {
    match request {
        Request::ShowPeers => Response::Peers(handler.peers().await),
        Request::ShowPeer { address } => match handler.peer(address).await {
            Some(p) => Response::Peer(Box::new(p)),
            None => Response::Error(CtlError::no_such_peer(address)),
        },
        Request::ShowRoutes(q) => match handler.routes(q).await {
            Ok(r) => Response::Routes(r),
            Err(e) => Response::Error(e),
        },
        Request::ShowFib => Response::Fib(handler.fib().await),
        Request::ShowStatus => Response::Status(handler.status().await),
        Request::Reload => Response::Reload(handler.reload().await),
        Request::Advertise(a) => match handler.advertise(a).await {
            Ok(r) => Response::Advertise(r),
            Err(e) => Response::Error(e),
        },
    }
}

/// Limits of the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Permission bits of the socket file (0660: root and the socket's group).
    pub mode: u32,
    /// Group to give the socket to, so operators in it need no root.
    pub group: Option<u32>,
    /// Longest time a handler may take; the client then gets [`ErrorKind::Timeout`].
    /// `reload` gets [`ServerOptions::reload_timeout`] instead.
    pub request_timeout: Duration,
    /// Longest time for `reload` (reads files, may rebind listeners).
    pub reload_timeout: Duration,
    /// Longest time to read the request line and to write the answer.
    pub io_timeout: Duration,
    /// Connections served at once.
    pub max_clients: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            mode: 0o660,
            group: None,
            request_timeout: Duration::from_secs(5),
            reload_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(10),
            max_clients: 16,
        }
    }
}

/// Binds the control socket at `path` with `options.mode`.
///
/// A leftover socket file from a previous run is replaced, but only when
/// nothing answers on it: a second daemon must not steal the first one's socket.
pub fn bind(path: &Path, options: &ServerOptions) -> io::Result<UnixListener> {
    if path.exists() {
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{} is in use by a running daemon", path.display()),
                ));
            }
            Err(_) => std::fs::remove_file(path)?,
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(options.mode))?;
    if let Some(gid) = options.group {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    Ok(listener)
}

/// Binds `path` (mode 0660) and serves `handler` until the task is dropped.
pub async fn serve<H: Handler>(path: impl Into<PathBuf>, handler: H) -> io::Result<()> {
    let options = ServerOptions::default();
    let listener = bind(&path.into(), &options)?;
    serve_listener(listener, Arc::new(handler), options, std::future::pending()).await
}

/// Serves on a bound listener until `shutdown` completes. Connections in
/// progress finish on their own tasks.
pub async fn serve_listener<H: Handler>(
    listener: UnixListener,
    handler: Arc<H>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(options.max_clients.max(1)));
    let options = Arc::new(options);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // EMFILE and friends: keep serving the connections we have.
                Err(e) if is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let handler = handler.clone();
        let options = options.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // A failed connection only concerns that client.
            let _ = serve_connection(stream, &*handler, &options).await;
        });
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    ) || e.raw_os_error().is_some_and(|n| n == 24 || n == 23) // EMFILE, ENFILE
}

async fn serve_connection<H: Handler>(
    stream: UnixStream,
    handler: &H,
    options: &ServerOptions,
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read).take(MAX_REQUEST_BYTES as u64 + 1);
    let mut line = Vec::new();
    let read = tokio::time::timeout(options.io_timeout, reader.read_until(b'\n', &mut line)).await;
    let response = match read {
        Err(_) => Response::Error(CtlError::new(ErrorKind::Timeout, "no request received")),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(_)) if line.len() > MAX_REQUEST_BYTES => Response::Error(CtlError::new(
            ErrorKind::InvalidRequest,
            format!("request longer than {MAX_REQUEST_BYTES} bytes"),
        )),
        Ok(Ok(_)) => answer(&line, handler, options).await,
    };
    let mut out = serde_json::to_vec(&ResponseEnvelope {
        version: PROTOCOL_VERSION,
        server_time: unix_now(),
        response,
    })
    .map_err(io::Error::other)?;
    out.push(b'\n');
    tokio::time::timeout(options.io_timeout, write.write_all(&out))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client too slow"))??;
    write.shutdown().await
}

async fn answer<H: Handler>(line: &[u8], handler: &H, options: &ServerOptions) -> Response {
    let envelope: RequestEnvelope = match serde_json::from_slice(line) {
        Ok(e) => e,
        Err(e) => {
            return Response::Error(CtlError::new(
                ErrorKind::InvalidRequest,
                format!("cannot parse request: {e}"),
            ));
        }
    };
    if envelope.version > PROTOCOL_VERSION {
        return Response::Error(CtlError::new(
            ErrorKind::VersionMismatch,
            format!(
                "client speaks control protocol {}, the daemon {PROTOCOL_VERSION}: \
                 use the calico-bgpctl shipped with the daemon",
                envelope.version
            ),
        ));
    }
    let name = envelope.request.name();
    let limit = match envelope.request {
        Request::Reload => options.reload_timeout,
        _ => options.request_timeout,
    };
    match tokio::time::timeout(limit, dispatch(handler, envelope.request)).await {
        Ok(r) => r,
        Err(_) => Response::Error(CtlError::new(
            ErrorKind::Timeout,
            format!("daemon did not answer {name} within {} s", limit.as_secs_f64()),
        )),
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
