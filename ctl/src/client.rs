//! The client side of the control socket (blocking: `calico-bgpctl` sends one
//! request and exits, a runtime would only add start-up time).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proto::{Request, RequestEnvelope, ResponseEnvelope};

/// Where `calico-bgpctl` looks by default; the same default as the daemon's
/// `control_socket` key (next to BIRD's `/var/run/calico/bird.ctl`).
pub const DEFAULT_SOCKET: &str = "/var/run/calico/calico-bgp.ctl";

/// Why a request could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting to the socket failed.
    #[error("cannot connect to {path}: {}{}", describe_errno(.source), hint(.source))]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The daemon accepted but did not answer in time.
    #[error("no answer from {path} within {secs} s: the daemon is running but busy or stuck")]
    Timeout {
        /// The socket path.
        path: PathBuf,
        /// The timeout.
        secs: u64,
    },
    /// Reading or writing failed after connecting.
    #[error("talking to {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The answer was not a valid response.
    #[error("malformed answer from {path}: {message}")]
    Protocol {
        /// The socket path.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

/// The errno name and its meaning, e.g. `No such file or directory (ENOENT)`.
fn describe_errno(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(2) => "ENOENT",
        Some(13) => "EACCES",
        Some(1) => "EPERM",
        Some(111) => "ECONNREFUSED",
        Some(20) => "ENOTDIR",
        Some(88) => "ENOTSOCK",
        Some(91) => "EPROTOTYPE",
        Some(11) => "EAGAIN",
        _ => return e.to_string(),
    };
    // io::Error's Display appends " (os error N)"; keep only the sentence.
    let text = e.to_string();
    let sentence = text.split(" (os error").next().unwrap_or(&text);
    format!("{sentence} ({name})")
}

fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(2) => {
            " - is calico-bgpd running? (check `systemctl status calico-bgpd`, or pass --socket)"
        }
        Some(111) => {
            " - the socket file exists but no daemon listens on it: calico-bgpd is not running"
        }
        Some(13) | Some(1) => {
            " - run as root or as a member of the socket's group (the socket is mode 0660)"
        }
        Some(11) => " - the daemon's accept queue is full: it is overloaded or stuck",
        _ => "",
    }
}

/// A connection-per-request client.
#[derive(Debug, Clone)]
pub struct Client {
    path: PathBuf,
    timeout: Duration,
}

impl Client {
    /// A client of the socket at `path` with a 10 s answer timeout.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Client { path: path.into(), timeout: Duration::from_secs(10) }
    }

    /// Changes the answer timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends one request and reads the answer.
    pub fn request(&self, request: Request) -> Result<ResponseEnvelope, ClientError> {
        let path = || self.path.clone();
        let stream = UnixStream::connect(&self.path)
            .map_err(|source| ClientError::Connect { path: path(), source })?;
        let io_err = |source: io::Error| {
            if matches!(source.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
                ClientError::Timeout { path: path(), secs: self.timeout.as_secs() }
            } else {
                ClientError::Io { path: path(), source }
            }
        };
        stream.set_read_timeout(Some(self.timeout)).map_err(io_err)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io_err)?;
        let mut line = serde_json::to_vec(&RequestEnvelope::new(request))
            .map_err(|e| ClientError::Protocol { path: path(), message: e.to_string() })?;
        line.push(b'\n');
        (&stream).write_all(&line).map_err(io_err)?;
        let mut answer = Vec::new();
        BufReader::new(&stream).read_until(b'\n', &mut answer).map_err(io_err)?;
        if answer.is_empty() {
            return Err(ClientError::Protocol {
                path: path(),
                message: "connection closed without an answer".into(),
            });
        }
        serde_json::from_slice(&answer).map_err(|e| ClientError::Protocol {
            path: path(),
            message: format!("{e} (is the daemon a different version?)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_socket_names_path_errno_and_next_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.ctl");
        let err = Client::new(&path).request(Request::ShowStatus).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("No such file or directory (ENOENT)"), "{text}");
        assert!(text.contains("is calico-bgpd running?"), "{text}");
    }

    #[test]
    fn stale_socket_file_reports_connection_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stale.ctl");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = Client::new(&path).request(Request::ShowStatus).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("ECONNREFUSED"), "{text}");
        assert!(text.contains("not running"), "{text}");
    }
}
