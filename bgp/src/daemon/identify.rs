//! Which session an incoming connection belongs to when several sessions
//! share the remote address (two BGPPeers to one host on different ports).
//!
//! ```text
//!   accept(A) --one session at A--> that session (as before)
//!             --several-----------> read the peer's OPEN (without answering)
//!                                     choose(sessions at A, OPEN's AS and BGP Identifier)
//!                                       one match --> Accepted(connection, OPEN replayed first)
//!                                       none / ambiguous --> logged, closed
//! ```
//!
//! The remote ports say nothing: every speaker on that host dials our
//! listen port from an ephemeral one. BIRD hands such a connection to the
//! first protocol with that neighbor address, whichever speaker it comes
//! from; between two iBGP speakers of one AS that can establish a session
//! with the wrong one, which then refuses the right one's connections as
//! collisions. Here the connection's OPEN decides, before any session sees
//! it:
//!
//! 1. the sessions expecting the OPEN's AS (RFC 6793: the four-octet AS
//!    when the capability is there);
//! 2. of those, if more than one, the one whose peer sent this BGP
//!    Identifier in an earlier Established session;
//! 3. no single match: the connection is logged and closed.
//!    The sessions still dial out, each to its own port, so they reach the
//!    right speaker; once up, the speaker's identifier is known and its
//!    later connections (a restart, for example) are matched by it.
//!
//! A session at a shared address that is passive and shares its AS with
//! another one therefore comes up only once its peer is known; the
//! documentation says so.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use crate::wire::{BgpCodec, DecodeCtx, ParsedMessage, decode_message};

/// How long a connection to a shared address may take to send its OPEN.
/// Speakers send it at once (RFC 4271 §8.2.1.1 events 16 and 17) unless
/// they delay it, which BIRD, FRR and GoBGP do not by default.
pub(crate) const OPEN_WAIT: Duration = Duration::from_secs(30);

/// What a candidate session says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// The peer's port: the session's key with the shared address.
    pub(crate) port: u16,
    /// The AS the session expects.
    pub(crate) remote_as: u32,
    /// The BGP Identifier its peer sent when last Established.
    pub(crate) seen_id: Option<Ipv4Addr>,
}

/// The part of an OPEN that identifies the speaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Speaker {
    /// My Autonomous System, or the four-octet AS capability's.
    pub(crate) asn: u32,
    /// BGP Identifier.
    pub(crate) bgp_id: Ipv4Addr,
}

/// Why no session takes a connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoMatch {
    /// No session at the address expects that AS.
    #[error("its OPEN says AS {0}, which no session to this address expects")]
    UnexpectedAs(u32),
    /// Several sessions expect that AS and none has seen this identifier.
    #[error(
        "its OPEN (AS {asn}, BGP Identifier {bgp_id}) fits the sessions on ports {ports:?}; \
         they dial their peers instead"
    )]
    Ambiguous {
        /// The AS.
        asn: u32,
        /// The identifier.
        bgp_id: Ipv4Addr,
        /// The ports of the sessions it fits.
        ports: Vec<u16>,
    },
}

/// The port of the session `speaker` belongs to, among `candidates` (the
/// sessions to one address).
pub(crate) fn choose(candidates: &[Candidate], speaker: Speaker) -> Result<u16, NoMatch> {
    let by_as: Vec<&Candidate> = candidates.iter().filter(|c| c.remote_as == speaker.asn).collect();
    match by_as.as_slice() {
        [] => Err(NoMatch::UnexpectedAs(speaker.asn)),
        [one] => Ok(one.port),
        several => {
            let by_id: Vec<&&Candidate> =
                several.iter().filter(|c| c.seen_id == Some(speaker.bgp_id)).collect();
            match by_id.as_slice() {
                [one] => Ok(one.port),
                _ => Err(NoMatch::Ambiguous {
                    asn: speaker.asn,
                    bgp_id: speaker.bgp_id,
                    ports: several.iter().map(|c| c.port).collect(),
                }),
            }
        }
    }
}

/// Reads the first message of `stream`; the speaker its OPEN names and
/// every byte read, to be replayed to the session.
pub(crate) async fn read_open(stream: &mut TcpStream) -> io::Result<(Speaker, Bytes)> {
    let mut codec = BgpCodec::new();
    let mut buf = BytesMut::with_capacity(4096);
    let frame = loop {
        if let Some(frame) = codec.decode(&mut buf.clone()).map_err(io::Error::other)? {
            break frame;
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before its OPEN"));
        }
    };
    match decode_message(&frame, &DecodeCtx::default()) {
        Ok(ParsedMessage::Open(open)) => {
            Ok((Speaker { asn: open.asn(), bgp_id: open.bgp_id }, buf.freeze()))
        }
        Ok(other) => Err(io::Error::other(format!("first message is not an OPEN: {other:?}"))),
        Err(e) => Err(io::Error::other(format!("malformed OPEN: {e}"))),
    }
}

/// A stream that yields `head` before what `inner` reads: the OPEN read to
/// identify the speaker, handed to the session as if unread.
#[derive(Debug)]
pub(crate) struct Replayed<S> {
    head: Bytes,
    inner: S,
}

impl<S> Replayed<S> {
    pub(crate) fn new(head: Bytes, inner: S) -> Self {
        Replayed { head, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replayed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.head.has_remaining() {
            let n = self.head.len().min(buf.remaining());
            buf.put_slice(&self.head[..n]);
            self.head.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replayed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// For logs: the address and the ports of its sessions.
pub(crate) fn describe(addr: IpAddr, candidates: &[Candidate]) -> String {
    let ports: Vec<String> = candidates.iter().map(|c| c.port.to_string()).collect();
    format!("{addr} (sessions on ports {})", ports.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(port: u16, remote_as: u32, seen: Option<[u8; 4]>) -> Candidate {
        Candidate { port, remote_as, seen_id: seen.map(Ipv4Addr::from) }
    }

    fn speaker(asn: u32, id: [u8; 4]) -> Speaker {
        Speaker { asn, bgp_id: Ipv4Addr::from(id) }
    }

    #[test]
    fn the_as_in_the_open_picks_the_session() {
        let c = [cand(150, 65001, None), cand(166, 65002, None)];
        assert_eq!(choose(&c, speaker(65002, [1, 1, 1, 1])), Ok(166));
        assert_eq!(choose(&c, speaker(65001, [1, 1, 1, 1])), Ok(150));
    }

    #[test]
    fn an_unexpected_as_matches_no_session() {
        let c = [cand(150, 65001, None), cand(166, 65002, None)];
        assert_eq!(choose(&c, speaker(65003, [1, 1, 1, 1])), Err(NoMatch::UnexpectedAs(65003)));
    }

    #[test]
    fn one_as_for_both_is_decided_by_the_identifier_seen_before() {
        let c = [cand(150, 64567, Some([10, 0, 0, 1])), cand(166, 64567, Some([10, 0, 0, 2]))];
        assert_eq!(choose(&c, speaker(64567, [10, 0, 0, 2])), Ok(166));
        assert_eq!(choose(&c, speaker(64567, [10, 0, 0, 1])), Ok(150));
    }

    #[test]
    fn one_as_for_both_and_an_unknown_identifier_is_refused() {
        let c = [cand(150, 64567, Some([10, 0, 0, 1])), cand(166, 64567, None)];
        let e = choose(&c, speaker(64567, [10, 0, 0, 9])).unwrap_err();
        assert!(matches!(e, NoMatch::Ambiguous { ref ports, .. } if ports == &[150, 166]), "{e}");
        // Two speakers with one identifier cannot be told apart either.
        let same = [cand(150, 64567, Some([10, 0, 0, 1])), cand(166, 64567, Some([10, 0, 0, 1]))];
        assert!(choose(&same, speaker(64567, [10, 0, 0, 1])).is_err());
    }

    #[tokio::test]
    async fn the_open_read_to_identify_is_replayed_to_the_session() {
        let open = crate::wire::Message::Open(crate::wire::OpenMsg::new(
            65002,
            180,
            Ipv4Addr::new(10, 0, 0, 2),
            Vec::new(),
        ))
        .to_bytes(&crate::wire::EncodeCtx::default())
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = open.clone();
        let dialer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(&sent).await.unwrap();
            s.write_all(b"after").await.unwrap();
            s
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let _keep = dialer.await.unwrap();
        let (who, head) = read_open(&mut stream).await.unwrap();
        assert_eq!(who, speaker(65002, [10, 0, 0, 2]));
        let mut replayed = Replayed::new(head, stream);
        let mut all = vec![0u8; open.len() + 5];
        replayed.read_exact(&mut all).await.unwrap();
        assert_eq!(&all[..open.len()], &open[..]);
        assert_eq!(&all[open.len()..], b"after");
    }
}
