//! The six states of RFC 4271 §8.2.2.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A session state (RFC 4271 §8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum State {
    /// Refuses connections; waits for a start, or for the error wait to end.
    Idle,
    /// Dialing the peer (or, with DelayOpen, connected and waiting to send OPEN).
    Connect,
    /// Listening for the peer, and waiting for the connect delay or the
    /// connect retry time before dialing (unless passive).
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the KEEPALIVE that confirms ours.
    OpenConfirm,
    /// UPDATEs flow.
    Established,
}

impl State {
    /// Every state, in RFC order.
    pub const ALL: [State; 6] = [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ];
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
