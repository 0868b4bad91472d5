//! A tiny scripted BGP speaker for bad-input tests: it opens a session with a
//! hand-built OPEN, keeps it alive, and then sends whatever raw octets the test
//! gives it, malformed on purpose. What comes back is framed and kept in
//! order; NOTIFICATIONs are decoded with the codec under test (`bgp::wire`).
//!
//! ```text
//!   test thread                    injector                       speaker
//!   -----------                    --------                       -------
//!   Injector::connect  --setns-->  TCP connect (peer's netns)  -->  :179
//!   establish()                    OPEN, KEEPALIVE             <->  OPEN, KEEPALIVE
//!   send_update(body)              header + body (raw)          -->
//!                                  keepalive thread: KEEPALIVE -->  every second
//!   expect_notification()  <-mpsc- reader thread: frames       <--  NOTIFICATION
//! ```
//!
//! The OPEN is built by hand, not with the codec, so a codec bug cannot hide
//! itself on both ends. Only the reader decodes with `bgp::wire`, and only
//! NOTIFICATIONs: the data field is what the tests check.
//!
//! The socket is opened on a short-lived thread that has entered the
//! peer-side namespace (`setns(2)` via nix); a socket stays in the namespace
//! it was created in, so the test thread then uses it from the host.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bgp::wire::NotificationMsg;
use bytes::Bytes;
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{setsockopt, sockopt};

use crate::{Netns, Result, err};

/// The 16-octet all-ones marker of every message (RFC 4271 §4.1).
pub const MARKER: [u8; 16] = [0xff; 16];
/// Message header length: marker, length, type (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// Message type codes (RFC 4271 §4.1).
pub const OPEN: u8 = 1;
/// UPDATE message type.
pub const UPDATE: u8 = 2;
/// NOTIFICATION message type.
pub const NOTIFICATION: u8 = 3;
/// KEEPALIVE message type.
pub const KEEPALIVE: u8 = 4;
/// ROUTE-REFRESH message type (RFC 2918).
pub const ROUTE_REFRESH: u8 = 5;
/// AS_TRANS, the 2-octet stand-in for a 4-octet AS (RFC 6793 §9).
const AS_TRANS: u16 = 23456;

/// How often the keepalive thread sends a KEEPALIVE: well inside any hold
/// time a test would configure (3 s is the smallest legal one).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);

/// Who the injector says it is.
#[derive(Clone, Debug)]
pub struct InjectorConfig {
    /// Our AS; sent as AS_TRANS in the OPEN's 2-octet field if it does not fit.
    pub asn: u32,
    /// Our BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// The Hold Time we offer.
    pub hold_time: u16,
    /// More capabilities, as whole TLVs (code, length, value), after the
    /// three of [`InjectorConfig::open_body`]: enhanced route refresh,
    /// extended messages, graceful restart, as a test needs them.
    pub extra_caps: Vec<u8>,
}

impl InjectorConfig {
    /// An injector in `asn` with identifier `bgp_id` and a 90 s hold time
    /// (the speaker's smaller one wins).
    pub fn new(asn: u32, bgp_id: Ipv4Addr) -> Self {
        InjectorConfig { asn, bgp_id, hold_time: 90, extra_caps: Vec::new() }
    }

    /// The OPEN body, by hand: version 4, our AS, hold time, identifier and
    /// three capabilities (RFC 5492): multiprotocol IPv4 unicast (RFC 4760),
    /// route refresh (RFC 2918) and 4-octet AS (RFC 6793), then
    /// [`InjectorConfig::extra_caps`].
    ///
    /// ```text
    /// +---------+---------+-----------+-------------+--------+-----------------+
    /// | Version | My AS   | Hold Time | BGP Ident.  | Opt.   | Optional        |
    /// | (1) = 4 | (2)     | (2)       | (4)         | Len (1)| Parameters      |
    /// +---------+---------+-----------+-------------+--------+-----------------+
    /// ```
    pub fn open_body(&self) -> Vec<u8> {
        let my_as = u16::try_from(self.asn).unwrap_or(AS_TRANS);
        let caps: Vec<u8> = [
            &[1u8, 4, 0, 1, 0, 1][..], // MP: AFI 1, reserved, SAFI 1
            &[2, 0][..],               // route refresh
            &[&[65u8, 4][..], &self.asn.to_be_bytes()[..]].concat()[..],
            &self.extra_caps[..],
        ]
        .concat();
        // One Capabilities optional parameter (type 2) holding them all.
        let mut params = vec![2u8, caps.len() as u8];
        params.extend_from_slice(&caps);
        let mut b = vec![4u8];
        b.extend_from_slice(&my_as.to_be_bytes());
        b.extend_from_slice(&self.hold_time.to_be_bytes());
        b.extend_from_slice(&self.bgp_id.octets());
        b.push(params.len() as u8);
        b.extend_from_slice(&params);
        b
    }
}

/// A whole message: marker, length (header included), type, body. The length
/// is whatever the body makes it, up to 65535 (larger bodies are cut there:
/// tests that want a lying length write the header themselves).
pub fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
    let mut m = Vec::with_capacity(HEADER_LEN + body.len());
    m.extend_from_slice(&MARKER);
    m.extend_from_slice(&len.to_be_bytes());
    m.push(msg_type);
    m.extend_from_slice(body);
    m
}

/// One path attribute as hex (flags, type, one-octet length, value), from
/// its value in hex; spaces in `value` are only for the reader.
pub fn attr(flags: u8, ty: u8, value: &str) -> String {
    let v = value.replace(' ', "");
    format!("{flags:02x}{ty:02x}{:02x}{v}", v.len() / 2)
}

/// An UPDATE body from its three fields in hex (spaces ignored), both
/// lengths computed.
pub fn update_body(withdrawn: &str, attrs: &str, nlri: &str) -> Vec<u8> {
    let (w, a, n) = (withdrawn.replace(' ', ""), attrs.replace(' ', ""), nlri.replace(' ', ""));
    let h = format!("{:04x}{w}{:04x}{a}{n}", w.len() / 2, a.len() / 2);
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex in an UPDATE body"))
        .collect()
}

/// Something the speaker sent us, or the end of the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// An OPEN, body only.
    Open(Vec<u8>),
    /// A KEEPALIVE.
    Keepalive,
    /// An UPDATE, body only (not decoded: tests look at routes through the
    /// speaker's own tooling).
    Update(Vec<u8>),
    /// A NOTIFICATION, decoded by `bgp::wire`.
    Notification(NotificationMsg),
    /// Any other type, or a NOTIFICATION too short to decode.
    Other {
        /// The type octet.
        msg_type: u8,
        /// The body.
        body: Vec<u8>,
    },
    /// The connection ended: EOF, a reset, or a frame we could not read.
    Closed(String),
}

impl Incoming {
    fn from_frame(msg_type: u8, body: Vec<u8>) -> Incoming {
        match msg_type {
            OPEN => Incoming::Open(body),
            UPDATE => Incoming::Update(body),
            KEEPALIVE if body.is_empty() => Incoming::Keepalive,
            NOTIFICATION => match NotificationMsg::decode(&Bytes::from(body.clone())) {
                Ok(n) => Incoming::Notification(n),
                Err(_) => Incoming::Other { msg_type, body },
            },
            _ => Incoming::Other { msg_type, body },
        }
    }

    /// One line for the transcript.
    fn describe(&self) -> String {
        match self {
            Incoming::Open(b) => format!("OPEN {}", hex(b)),
            Incoming::Keepalive => "KEEPALIVE".to_owned(),
            Incoming::Update(b) => format!("UPDATE {}", hex_short(b)),
            Incoming::Notification(n) => {
                format!(
                    "NOTIFICATION {n} (code {} subcode {} data {})",
                    n.code.0,
                    n.subcode,
                    hex(&n.data)
                )
            }
            Incoming::Other { msg_type, body } => format!("type {msg_type} {}", hex(body)),
            Incoming::Closed(why) => format!("closed: {why}"),
        }
    }
}

/// Lower-case hex of `b`, for transcripts and messages.
pub fn hex(b: &[u8]) -> String {
    b.iter().fold(String::with_capacity(b.len() * 2), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Octets shown in full by [`hex_short`]; beyond that, a transcript line
/// shows the start and the length (a benchmark sends megabytes of UPDATEs,
/// and formatting them would cost more than the speaker under test spends).
pub const TRANSCRIPT_OCTETS: usize = 512;

/// [`hex`] of at most [`TRANSCRIPT_OCTETS`] octets, then `... (N octets)`.
pub fn hex_short(b: &[u8]) -> String {
    match b.get(..TRANSCRIPT_OCTETS) {
        Some(head) if b.len() > TRANSCRIPT_OCTETS => {
            format!("{}... ({} octets)", hex(head), b.len())
        }
        _ => hex(b),
    }
}

/// One session of the scripted speaker. Dropping it stops the keepalives and
/// closes the socket.
#[derive(Debug)]
pub struct Injector {
    cfg: InjectorConfig,
    local: SocketAddr,
    remote: SocketAddr,
    writer: Arc<Mutex<TcpStream>>,
    rx: Receiver<Incoming>,
    reader: Option<JoinHandle<()>>,
    /// Set by [`Injector::stop_reading`]: the reader thread takes nothing
    /// more off the socket.
    paused: Arc<AtomicBool>,
    /// Dropping the sender stops the keepalive thread at once.
    keepalive: Option<(Sender<()>, JoinHandle<()>)>,
    transcript: Arc<Mutex<Vec<String>>>,
    start: Instant,
    /// The speaker's OPEN body, once received.
    speaker_open: Option<Vec<u8>>,
}

impl Injector {
    /// Opens a TCP connection from inside `ns` to `remote`, within `timeout`.
    pub fn connect(
        ns: &Netns,
        remote: SocketAddr,
        cfg: InjectorConfig,
        timeout: Duration,
    ) -> Result<Injector> {
        let path = format!("/run/netns/{}", ns.name());
        // setns moves only the calling thread; the socket it creates stays in
        // that namespace wherever it is used afterwards.
        let stream = std::thread::spawn(move || -> Result<TcpStream> {
            let fd = File::open(&path).map_err(|e| err!("open {path}: {e}"))?;
            setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| err!("setns {path}: {e}"))?;
            TcpStream::connect_timeout(&remote, timeout)
                .map_err(|e| err!("connect to {remote}: {e}"))
        })
        .join()
        .map_err(|_| err!("connect thread panicked"))??;
        Injector::from_stream(stream, cfg, "connected")
    }

    /// Listens on `listen` inside `ns` and takes the first connection made
    /// to it within `timeout` (the speaker dialing us).
    pub fn accept(
        ns: &Netns,
        listen: SocketAddr,
        cfg: InjectorConfig,
        timeout: Duration,
    ) -> Result<Injector> {
        let path = format!("/run/netns/{}", ns.name());
        let listener = std::thread::spawn(move || -> Result<TcpListener> {
            let fd = File::open(&path).map_err(|e| err!("open {path}: {e}"))?;
            setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| err!("setns {path}: {e}"))?;
            TcpListener::bind(listen).map_err(|e| err!("listen on {listen}: {e}"))
        })
        .join()
        .map_err(|_| err!("listen thread panicked"))??;
        // Non-blocking, so the wait has a deadline.
        listener.set_nonblocking(true)?;
        let mut got = None;
        crate::wait_until(timeout, &format!("a connection to {listen}"), || {
            match listener.accept() {
                Ok((s, _)) => {
                    got = Some(s);
                    Ok(true)
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
                Err(e) => Err(err!("accept on {listen}: {e}").fatal()),
            }
        })?;
        let stream = got.ok_or_else(|| err!("no connection"))?;
        stream.set_nonblocking(false)?;
        Injector::from_stream(stream, cfg, "accepted")
    }

    fn from_stream(stream: TcpStream, cfg: InjectorConfig, how: &str) -> Result<Injector> {
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        let (tx, rx) = mpsc::channel();
        let read_half = stream.try_clone()?;
        let t = transcript.clone();
        let paused = Arc::new(AtomicBool::new(false));
        let p = paused.clone();
        let reader = std::thread::spawn(move || read_frames(read_half, tx, t, start, p));
        let inj = Injector {
            cfg,
            local,
            remote,
            writer: Arc::new(Mutex::new(stream)),
            rx,
            reader: Some(reader),
            paused,
            keepalive: None,
            transcript,
            start,
            speaker_open: None,
        };
        inj.note(format!("{how} {local} <-> {remote}"));
        Ok(inj)
    }

    /// Connects and establishes, retrying until `timeout` passes: a speaker
    /// that has just reset the session refuses or closes connections until
    /// its own timers let it take one again.
    pub fn establish_within(
        ns: &Netns,
        remote: SocketAddr,
        cfg: &InjectorConfig,
        timeout: Duration,
    ) -> Result<Injector> {
        let deadline = Instant::now() + timeout;
        let mut tries = Vec::new();
        let mut ok = None;
        crate::wait_until(timeout, &format!("a session with {remote}"), || {
            let left =
                deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
            let attempt =
                Injector::connect(ns, remote, cfg.clone(), left.min(Duration::from_secs(3)))
                    .and_then(|mut inj| {
                        inj.establish(left.min(Duration::from_secs(5))).map(|_| inj)
                    });
            match attempt {
                Ok(inj) => {
                    ok = Some(inj);
                    Ok(true)
                }
                Err(e) => {
                    tries.push(e.msg.clone());
                    Err(e)
                }
            }
        })
        .map_err(|e| err!("{e}\nattempts:\n  {}", tries.join("\n  ")))?;
        ok.ok_or_else(|| err!("no session"))
    }

    /// Runs the OPEN exchange (RFC 4271 §8.2.2: OpenSent, OpenConfirm) and
    /// starts the keepalive thread. Returns the speaker's OPEN body.
    pub fn establish(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let open = self.exchange_opens(timeout)?;
        self.confirm(deadline.saturating_duration_since(Instant::now()))?;
        Ok(open)
    }

    /// The first half of [`Injector::establish`]: sends our OPEN and waits
    /// for the speaker's, leaving it in OpenConfirm until [`Injector::confirm`].
    pub fn exchange_opens(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        self.send_raw(&message(OPEN, &self.cfg.open_body()))?;
        loop {
            match self.recv_until(deadline)? {
                Incoming::Open(b) => {
                    self.speaker_open = Some(b.clone());
                    return Ok(b);
                }
                Incoming::Keepalive => {}
                other => return Err(err!("expected OPEN, got {}", other.describe())),
            }
        }
    }

    /// The second half: our KEEPALIVE, the speaker's, then KEEPALIVEs every
    /// [`KEEPALIVE_INTERVAL`].
    pub fn confirm(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        self.send_raw(&message(KEEPALIVE, &[]))?;
        // OpenConfirm: the first message back must be the KEEPALIVE.
        match self.recv_until(deadline)? {
            Incoming::Keepalive => {}
            other => return Err(err!("expected KEEPALIVE, got {}", other.describe())),
        }
        self.start_keepalives();
        self.note("established".to_owned());
        Ok(())
    }

    fn start_keepalives(&mut self) {
        let (stop, stopped) = mpsc::channel::<()>();
        let writer = self.writer.clone();
        let h = std::thread::spawn(move || {
            // The channel doubles as the timer: a timeout means "send one",
            // anything else (the sender dropped) means stop.
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(KEEPALIVE_INTERVAL) {
                let Ok(mut w) = writer.lock() else { return };
                if w.write_all(&message(KEEPALIVE, &[])).is_err() {
                    return;
                }
            }
        });
        self.keepalive = Some((stop, h));
    }

    /// Stops sending KEEPALIVEs (the socket stays open).
    pub fn stop_keepalives(&mut self) {
        if let Some((stop, h)) = self.keepalive.take() {
            drop(stop);
            let _ = h.join();
        }
    }

    /// Stops reading the socket for good (KEEPALIVEs still go out), with a
    /// receive buffer cut to its minimum: the speaker's window closes as soon
    /// as it has sent a few octets more. The reader takes at most the message
    /// it is waiting for.
    pub fn stop_reading(&mut self) -> Result<()> {
        self.paused.store(true, Ordering::Relaxed);
        let w = self.writer.lock().map_err(|_| err!("writer lock poisoned"))?;
        setsockopt(&*w, sockopt::RcvBuf, &4096).map_err(|e| err!("SO_RCVBUF: {e}"))?;
        drop(w);
        self.note("stopped reading".to_owned());
        Ok(())
    }

    /// The speaker's OPEN body, once the OPEN exchange is done.
    pub fn speaker_open(&self) -> Option<&[u8]> {
        self.speaker_open.as_deref()
    }

    /// Our end of the connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The speaker's end.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// Sends `bytes` as they are, in one write (never interleaved with a
    /// KEEPALIVE).
    pub fn send_raw(&self, bytes: &[u8]) -> Result<()> {
        self.note(format!("sent {}", hex_short(bytes)));
        let mut w = self.writer.lock().map_err(|_| err!("writer lock poisoned"))?;
        w.write_all(bytes).map_err(|e| err!("send to {}: {e}", self.remote))
    }

    /// Sends an UPDATE with this body (header added).
    pub fn send_update(&self, body: &[u8]) -> Result<()> {
        self.send_raw(&message(UPDATE, body))
    }

    /// The next message, or `None` if nothing came within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<Incoming> {
        self.rx.recv_timeout(timeout).ok()
    }

    fn recv_until(&mut self, deadline: Instant) -> Result<Incoming> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Timeout) => Err(err!("nothing from {} in time", self.remote)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(err!("connection to {} already closed", self.remote))
            }
        }
    }

    /// Waits for a NOTIFICATION, skipping OPENs (a speaker in OpenSent sent
    /// its own before judging ours), KEEPALIVEs and UPDATEs; an error if
    /// the connection closes first or nothing comes in time.
    pub fn expect_notification(&mut self, timeout: Duration) -> Result<NotificationMsg> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv_until(deadline) {
                Ok(Incoming::Notification(n)) => return Ok(n),
                Ok(Incoming::Open(_) | Incoming::Keepalive | Incoming::Update(_)) => {}
                Ok(other) => {
                    return Err(err!(
                        "expected a NOTIFICATION, got {}\n{}",
                        other.describe(),
                        self.transcript()
                    ));
                }
                Err(e) => return Err(err!("expected a NOTIFICATION: {e}\n{}", self.transcript())),
            }
        }
    }

    /// Waits for the speaker to close the connection (after a NOTIFICATION,
    /// RFC 4271 §6: "the BGP connection is closed"), skipping anything else.
    pub fn expect_closed(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv_until(deadline) {
                Ok(Incoming::Closed(_)) => return Ok(()),
                Ok(_) => {}
                // The reader ends after Closed; a dropped channel is the same.
                Err(_) if self.reader.as_ref().is_some_and(|h| h.is_finished()) => return Ok(()),
                Err(e) => {
                    return Err(err!("expected the connection closed: {e}\n{}", self.transcript()));
                }
            }
        }
    }

    /// Everything received so far that is neither a KEEPALIVE nor an
    /// UPDATE: an error if a NOTIFICATION or the end of the connection is
    /// among it. Does not wait.
    pub fn check_alive(&mut self) -> Result<()> {
        while let Ok(m) = self.rx.try_recv() {
            if matches!(m, Incoming::Notification(_) | Incoming::Closed(_)) {
                return Err(err!(
                    "session with {} ended: {}\n{}",
                    self.remote,
                    m.describe(),
                    self.transcript()
                ));
            }
        }
        Ok(())
    }

    /// What was sent and received, with timestamps, for failure dumps.
    pub fn transcript(&self) -> String {
        let lines = self.transcript.lock().map(|t| t.join("\n")).unwrap_or_default();
        format!("--- injector {} -> {} ---\n{lines}", self.local, self.remote)
    }

    fn note(&self, line: String) {
        note(&self.transcript, self.start, line);
    }
}

impl Drop for Injector {
    fn drop(&mut self) {
        self.stop_keepalives();
        if let Ok(w) = self.writer.lock() {
            let _ = w.shutdown(Shutdown::Both);
        }
        // A paused reader reads again, finds the socket shut and ends.
        self.paused.store(false, Ordering::Relaxed);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

fn note(t: &Mutex<Vec<String>>, start: Instant, line: String) {
    if let Ok(mut t) = t.lock() {
        t.push(format!("{:>7.3}s {line}", start.elapsed().as_secs_f64()));
    }
}

/// The reader thread: frames messages off the socket until it ends. The
/// speaker is trusted only as far as the length field: one below the header
/// size ends the connection rather than looping.
fn read_frames(
    mut s: TcpStream,
    tx: Sender<Incoming>,
    transcript: Arc<Mutex<Vec<String>>>,
    start: Instant,
    paused: Arc<AtomicBool>,
) {
    let send = |m: Incoming| {
        note(&transcript, start, format!("recv {}", m.describe()));
        tx.send(m).is_ok()
    };
    loop {
        let mut hdr = [0u8; HEADER_LEN];
        if let Err(e) = s.read_exact(&mut hdr) {
            let why = match e.kind() {
                ErrorKind::UnexpectedEof => "EOF".to_owned(),
                _ => e.to_string(),
            };
            send(Incoming::Closed(why));
            return;
        }
        let len = usize::from(u16::from_be_bytes([hdr[16], hdr[17]]));
        let Some(body_len) = len.checked_sub(HEADER_LEN) else {
            send(Incoming::Closed(format!("bad frame header {}", hex(&hdr))));
            return;
        };
        let mut body = vec![0u8; body_len];
        if let Err(e) = s.read_exact(&mut body) {
            send(Incoming::Closed(format!("mid-frame: {e}")));
            return;
        }
        if !send(Incoming::from_frame(hdr[18], body)) {
            return;
        }
        while paused.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Writes `bytes` in chunks of `chunk` octets to a loopback socket read
    /// by [`read_frames`], closes it, and returns all that came out.
    fn through_reader(bytes: &[u8], chunk: usize) -> Vec<Incoming> {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let (tx, rx) = mpsc::channel();
        let t = Arc::new(Mutex::new(Vec::new()));
        let h =
            std::thread::spawn(move || read_frames(server, tx, t, Instant::now(), Arc::default()));
        for c in bytes.chunks(chunk.max(1)) {
            client.write_all(c).unwrap();
        }
        drop(client);
        h.join().unwrap();
        rx.into_iter().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever the TCP segmentation, the reader gives back each message
        /// whole and in order, then the EOF.
        #[test]
        fn reader_frames_back_to_back_messages_in_any_segmentation(
            msgs in proptest::collection::vec(
                (prop_oneof![Just(UPDATE), Just(KEEPALIVE), Just(NOTIFICATION), Just(7u8)],
                 proptest::collection::vec(any::<u8>(), 2..64)),
                0..8,
            ),
            chunk in 1usize..40,
        ) {
            let mut wire = Vec::new();
            let mut want = Vec::new();
            for (t, body) in &msgs {
                // A KEEPALIVE has no body (one with a body is "Other").
                let body = if *t == KEEPALIVE { Vec::new() } else { body.clone() };
                wire.extend_from_slice(&message(*t, &body));
                want.push(Incoming::from_frame(*t, body));
            }
            want.push(Incoming::Closed("EOF".to_owned()));
            prop_assert_eq!(through_reader(&wire, chunk), want);
        }
    }

    #[test]
    fn reader_stops_at_a_length_below_the_header() {
        let mut m = message(KEEPALIVE, &[]);
        m[16..18].copy_from_slice(&18u16.to_be_bytes());
        let got = through_reader(&m, 19);
        assert!(
            matches!(&got[..], [Incoming::Closed(why)] if why.contains("bad frame")),
            "{got:?}"
        );
    }

    #[test]
    fn reader_decodes_a_notification_with_its_data() {
        let got = through_reader(&message(NOTIFICATION, &[3, 2, 0x40, 0x63, 0]), 5);
        let Some(Incoming::Notification(n)) = got.first() else { panic!("{got:?}") };
        assert_eq!((n.code.0, n.subcode, &n.data[..]), (3, 2, &[0x40, 0x63, 0][..]));
    }

    #[test]
    fn open_body_carries_as_trans_and_the_four_octet_capability() {
        let c = InjectorConfig {
            asn: 4_200_000_001,
            bgp_id: Ipv4Addr::new(10, 0, 0, 2),
            hold_time: 30,
            extra_caps: Vec::new(),
        };
        let want = "04 5ba0 001e 0a000002 10 \
                    02 0e 010400010001 0200 4104fa56ea01";
        assert_eq!(hex(&c.open_body()), want.replace(' ', ""));
    }

    #[test]
    fn open_decodes_with_the_codec() {
        let c = InjectorConfig::new(65001, Ipv4Addr::new(10, 0, 0, 2));
        let open = bgp::wire::OpenMsg::decode(&Bytes::from(c.open_body())).unwrap();
        assert_eq!(open.asn(), 65001);
        open.validate().unwrap();
    }

    #[test]
    fn long_bodies_are_shortened_in_the_transcript() {
        assert_eq!(hex_short(&[1, 2]), "0102");
        let long = vec![0xab; TRANSCRIPT_OCTETS + 1];
        let want = format!("{}... ({} octets)", "ab".repeat(TRANSCRIPT_OCTETS), long.len());
        assert_eq!(hex_short(&long), want);
    }

    #[test]
    fn message_frames_header_and_body() {
        assert_eq!(hex(&message(KEEPALIVE, &[])), format!("{}001304", "ff".repeat(16)));
        assert_eq!(&message(UPDATE, &[0, 0, 0, 0])[16..19], &[0, 23, 2]);
    }

    #[test]
    fn incoming_decodes_a_notification() {
        let m = Incoming::from_frame(NOTIFICATION, vec![3, 1, 0xaa]);
        let Incoming::Notification(n) = m else { panic!("{m:?}") };
        assert_eq!((n.code.0, n.subcode, &n.data[..]), (3, 1, &[0xaa][..]));
        assert!(matches!(Incoming::from_frame(NOTIFICATION, vec![3]), Incoming::Other { .. }));
    }
}
