//! A session's outbound backlog: the UPDATEs the owner handed over that the
//! socket has not taken yet, counted in octets, so that a peer that stops
//! reading cannot make our memory grow.
//!
//! Every UPDATE travels from the owner to the writer as a [`Queued`], which
//! adds its cost to the session's [`Backlog`] when made and takes it off
//! when dropped: once written to the socket, or thrown away with a queue
//! (the session went down, the epoch changed). The count is therefore exact
//! whatever path a message takes, and needs no message back from the writer.
//!
//! The owner reads the count before it hands a session more
//! ([`super::SessionHandle::send_updates`]): above [`BACKLOG_LIMIT`] it keeps
//! nothing for that peer, marks it behind and, once the backlog is empty,
//! sends it the whole table again (the daemon's `backlog` module). Nothing
//! blocks: the owner and every other session go on at their own pace.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

/// Octets of UPDATEs a session may hold before the owner stops handing it
/// more (the socket's send buffer holds as much again). Several times the
/// initial UPDATEs of a 100k-route table (packed, about 600 KB), so a peer
/// that reads at all catches up without a re-send.
pub const BACKLOG_LIMIT: usize = 4 << 20;

/// What one queued message costs beyond its octets: the handle, the
/// counter's reference and the queue slot. Small UPDATEs (one prefix each)
/// would otherwise be counted at a fraction of what they hold.
const PER_MESSAGE: usize = 64;

/// The count of one session, shared by the owner's handle and the writer.
#[derive(Debug, Default)]
pub struct Backlog(AtomicUsize);

impl Backlog {
    /// Octets (with `PER_MESSAGE` each) queued and not yet written.
    pub fn octets(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// One UPDATE on its way to the socket, counted in its session's backlog
/// until dropped.
#[derive(Debug)]
pub struct Queued {
    msg: Bytes,
    backlog: Arc<Backlog>,
}

impl Queued {
    /// Counts `msg` in `backlog`.
    pub fn new(msg: Bytes, backlog: &Arc<Backlog>) -> Queued {
        backlog.0.fetch_add(cost(&msg), Ordering::Relaxed);
        Queued { msg, backlog: backlog.clone() }
    }

    /// The whole message.
    pub fn bytes(&self) -> &Bytes {
        &self.msg
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.backlog.0.fetch_sub(cost(&self.msg), Ordering::Relaxed);
    }
}

fn cost(msg: &Bytes) -> usize {
    msg.len() + PER_MESSAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_counts_from_queued_until_dropped_wherever_it_is_dropped() {
        let b = Arc::new(Backlog::default());
        let one = Queued::new(Bytes::from_static(&[0; 100]), &b);
        let two = Queued::new(Bytes::from_static(&[0; 19]), &b);
        assert_eq!(b.octets(), 100 + 19 + 2 * PER_MESSAGE);
        drop(one);
        assert_eq!(b.octets(), 19 + PER_MESSAGE);
        // A queue thrown away with its content gives it all back.
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(two).unwrap();
        drop((tx, rx));
        assert_eq!(b.octets(), 0);
    }
}
