//! One transport connection of a session: a reader task cutting frames, a
//! writer task draining two queues, control messages first.
//!
//! ```text
//!   stream --split--> reader: BgpCodec framing --IoEvent::Frame--> session
//!                 \-> writer: ctl queue (OPEN, KEEPALIVE, NOTIFICATION) > upd queue
//! ```
//!
//! Closing drops both queues: the writer writes what is left on the control
//! queue (the NOTIFICATION that explains the close), drops queued UPDATEs and
//! shuts the stream down; a watchdog aborts it if the peer stops reading.
//!
//! The writer also tells the session whether it is *stalled* (RFC 9687's
//! Send Hold Timer, [`crate::fsm::send_hold`]): from the moment it has
//! something to write, moved on each time the socket takes some octets,
//! until all of it is written. UPDATEs travel as [`Queued`], counted in the
//! session's backlog until written or dropped.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use super::Connection;
use super::backlog::Queued;
use crate::fsm::Millis;
use crate::wire::{BgpCodec, CodecError, DecodeCtx, EncodeCtx};

/// How long a closing connection may take to flush its NOTIFICATION.
pub(super) const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// Batches of queued messages are written with one flush up to this size.
const WRITE_BATCH: usize = 64 * 1024;

/// From the connection tasks (and the dialer) to the session task.
#[derive(Debug)]
pub(super) enum IoEvent {
    /// A dial finished.
    Dialed { id: u64, result: std::io::Result<Connection> },
    /// A whole message, header included.
    Frame { id: u64, frame: Bytes },
    /// The connection ended: EOF (`None`), an I/O error, or a header that
    /// failed RFC 4271 §6.1.
    Closed { id: u64, error: Option<CodecError> },
}

/// When the writer stalled, on the session's clock: shared by the writer,
/// which sets it, and the session, which reads it.
#[derive(Debug)]
pub(super) struct Stall {
    /// The session's clock origin.
    t0: Instant,
    /// Milliseconds since `t0` plus one; 0: not stalled.
    since: AtomicU64,
}

impl Stall {
    pub(super) fn new(t0: Instant) -> Stall {
        Stall { t0, since: AtomicU64::new(0) }
    }

    /// Since when the writer has been waiting without progress, if it is.
    pub(super) fn since(&self) -> Option<Millis> {
        match self.since.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Millis(n - 1)),
        }
    }

    fn mark(&self) {
        let ms = u64::try_from(self.t0.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.since.store(ms + 1, Ordering::Relaxed);
    }

    fn start(&self) {
        if self.since.load(Ordering::Relaxed) == 0 {
            self.mark();
        }
    }

    pub(super) fn clear(&self) {
        self.since.store(0, Ordering::Relaxed);
    }
}

/// The stream as the writer sees it: every write the socket takes, even in
/// part, is progress.
struct Progress<W> {
    inner: W,
    stall: Arc<Stall>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Progress<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.stall.mark();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A live connection as the session task holds it.
#[derive(Debug)]
pub(super) struct Conn {
    pub(super) id: u64,
    ctl: mpsc::UnboundedSender<Bytes>,
    upd: mpsc::UnboundedSender<Queued>,
    /// Whether, and since when, the writer is stalled.
    pub(super) stall: Arc<Stall>,
    /// The hold time in force: offered until Established, then negotiated
    /// (the default SendHoldTime depends on it).
    pub(super) hold_time: u16,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    /// Send view of the negotiated context (default until Established).
    pub(super) encode: EncodeCtx,
    /// Receive view of the negotiated context (default until Established).
    pub(super) decode: DecodeCtx,
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
}

impl Conn {
    pub(super) fn start(
        id: u64,
        c: Connection,
        events: mpsc::Sender<IoEvent>,
        t0: Instant,
        hold_time: u16,
    ) -> Conn {
        let (r, w) = tokio::io::split(c.stream);
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let (upd, upd_rx) = mpsc::unbounded_channel();
        let stall = Arc::new(Stall::new(t0));
        let reader = tokio::spawn(read_loop(r, id, events.clone()));
        let w = Progress { inner: w, stall: stall.clone() };
        let writer = tokio::spawn(write_loop(w, id, ctl_rx, upd_rx, events, stall.clone()));
        Conn {
            id,
            ctl,
            upd,
            stall,
            hold_time,
            reader,
            writer,
            encode: EncodeCtx::default(),
            decode: DecodeCtx::default(),
            local: c.local,
            remote: c.remote,
        }
    }

    /// Queues a control message (ahead of any queued UPDATE).
    pub(super) fn send_ctl(&self, msg: Bytes) {
        let _ = self.ctl.send(msg);
    }

    /// Queues an UPDATE.
    pub(super) fn send_update(&self, msg: Queued) {
        let _ = self.upd.send(msg);
    }

    /// Closes the connection after the queued control messages; returns a
    /// task that ends when the stream is shut down (or given up on).
    pub(super) fn close(self) -> JoinHandle<()> {
        let Conn { ctl, upd, reader, mut writer, .. } = self;
        drop((ctl, upd));
        reader.abort();
        tokio::spawn(async move {
            if tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
                writer.abort();
            }
        })
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut r: R, id: u64, events: mpsc::Sender<IoEvent>) {
    let mut codec = BgpCodec::new();
    // The session enforces the negotiated limit when decoding; framing only
    // has to keep the stream in step.
    codec.set_max_len(usize::MAX);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let error = loop {
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => {
                if events.send(IoEvent::Frame { id, frame }).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => break Some(e),
        }
        match r.read_buf(&mut buf).await {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) => break Some(CodecError::Io(e)),
        }
    };
    let _ = events.send(IoEvent::Closed { id, error }).await;
}

async fn write_loop<W: AsyncWrite + Unpin>(
    w: W,
    id: u64,
    mut ctl: mpsc::UnboundedReceiver<Bytes>,
    mut upd: mpsc::UnboundedReceiver<Queued>,
    events: mpsc::Sender<IoEvent>,
    stall: Arc<Stall>,
) {
    let mut w = BufWriter::with_capacity(WRITE_BATCH, w);
    let mut upd_open = true;
    loop {
        let first = tokio::select! {
            biased;
            m = ctl.recv() => match m {
                Some(b) => b,
                // Closed and drained: the NOTIFICATION, if any, is written.
                None => break,
            },
            m = upd.recv(), if upd_open => match m {
                // Dropped once copied: out of the backlog.
                Some(q) => q.bytes().clone(),
                None => {
                    upd_open = false;
                    continue;
                }
            },
        };
        stall.start();
        let mut res = w.write_all(&first).await;
        // Whatever is already queued goes out with the same flush, control
        // messages first.
        while res.is_ok() && w.buffer().len() < WRITE_BATCH {
            let next = match ctl.try_recv() {
                Ok(b) => b,
                // Closing: nothing may follow the NOTIFICATION.
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => match upd.try_recv() {
                    Ok(q) => q.bytes().clone(),
                    Err(_) => break,
                },
            };
            res = w.write_all(&next).await;
        }
        if res.is_ok() {
            res = w.flush().await;
        }
        if res.is_ok() {
            stall.clear();
        }
        if let Err(e) = res {
            let _ = events.send(IoEvent::Closed { id, error: Some(CodecError::Io(e)) }).await;
            return;
        }
    }
    let _ = w.flush().await;
    let _ = w.shutdown().await;
}
