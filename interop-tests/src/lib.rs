//! Interop harness: real FRR, BIRD, GoBGP and ExaBGP peers in network namespaces.
//!
//! Every test builds its own small world out of these parts and tears it down on
//! `Drop`, even when it panics:
//!
//! | module | what |
//! |---|---|
//! | [`netns`] | uniquely named namespaces, veth pairs (IPv4 + IPv6), a bridged LAN |
//! | [`process`] | a [`Daemon`] started inside a namespace, killed by PID |
//! | [`container`] | the same daemons as podman containers of locally built images, attached to a namespace |
//! | [`wait`] | [`wait_until`]: poll with a deadline, never sleep |
//! | [`workdir`] | a temp dir per test for configs, sockets, logs and pcaps |
//! | [`etcd`] | a real etcd on loopback or in a namespace, `etcdctl`, TLS certificates, a [`etcd::TcpGate`] |
//! | [`calico`] | Calico v3 resources and block affinities as etcd keys and JSON values |
//! | [`capture`] | `tcpdump -U -w` on BGP traffic inside a namespace |
//! | [`peers`] | config builders and control helpers for FRR, BIRD, GoBGP, ExaBGP |
//! | [`pod`] | Calico-style pods: a namespace, a veth to `cali<hash>`, 169.254.1.1 |
//! | [`fib_busy`] | the "routing while the FIB is busy" benchmark |
//! | [`rr_scale`] | the route-reflection benchmark: one reflector, thousands of clients |
//! | [`injector`] | a scripted BGP speaker that sends raw, malformed messages |
//! | [`kroutes`] | kernel routes (`ip -j route`) polled with deadlines, dumped on failure |
//! | [`lab`] | the README's lab: three calico-bgpd nodes, pods and an FRR ToR |
//!
//! Names of namespaces, interfaces and dirs carry the prefix `cbgp-`, the test's PID
//! and a counter, so parallel test processes never collide. Set `CBGP_KEEP=1` to keep
//! work dirs after a passing run (they are always kept after a panic).

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

pub mod calico;
pub mod capture;
pub mod container;
pub mod etcd;
pub mod fib_busy;
pub mod injector;
pub mod kroutes;
pub mod lab;
pub mod netns;
pub mod peers;
pub mod pod;
pub mod process;
pub mod rr_scale;
pub mod wait;
pub mod workdir;

/// What went wrong in the harness: a message naming the step and, where there is one,
/// the failing command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The message.
    pub msg: String,
    /// Waiting longer cannot help (a daemon died): [`wait_until`] stops at once.
    pub fatal: bool,
}

impl Error {
    /// A recoverable error with this message.
    pub fn new(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), fatal: false }
    }

    /// Marks the error as fatal for [`wait_until`].
    pub fn fatal(mut self) -> Error {
        self.fatal = true;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(format!("i/o: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(format!("json: {e}"))
    }
}

/// Harness result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an [`Error`] from a format string.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::Error::new(format!($($arg)*)) };
}

/// A process-wide counter: names built from the PID and this never repeat within a
/// run, and the PID keeps concurrent test processes (nextest) apart.
pub(crate) fn next_id() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// `cbgp-<pid>-<n>`: the unique stem of every namespace and work dir.
pub(crate) fn unique_name() -> String {
    format!("cbgp-{}-{}", std::process::id(), next_id())
}

pub use capture::Capture;
pub use injector::{Incoming, Injector, InjectorConfig};
pub use netns::{Iface, Lan, Netns, veth_pair};
pub use pod::Pod;
pub use process::Daemon;
pub use wait::wait_until;
pub use workdir::Workdir;
