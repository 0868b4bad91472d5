//! Cutting a TCP byte stream into BGP messages (RFC 4271 §4.1), as a
//! `tokio_util::codec` Decoder. The trait is a plain function over a
//! `BytesMut`; nothing here needs a runtime. Messages are encoded by
//! [`super::message::Message::to_bytes`] and written as they are.
//!
//! ```text
//!  stream: ..|ff..ff len type body|ff..ff len type body|ff..ff le|
//!            '------ frame -------''------ frame -------''partial'
//! ```
//!
//! The decoder checks each header as soon as its 19 octets are buffered
//! ([`header::frame_len`]) and then waits for `Length` octets; it yields the
//! whole message, header included, split off the read buffer without copying.
//! [`super::message::decode_message`] turns a frame into a typed message.
//!
//! The size limit starts at 4096 octets; a session raises it to 65535
//! ([`BgpCodec::set_max_len`]) and leaves the negotiated limit to
//! [`super::message::decode_message`], whose [`DecodeCtx`](super::DecodeCtx) says whether
//! both speakers advertised extended messages (RFC 8654).

use std::io;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::error::DecodeError;
use super::header::{self, HEADER_LEN};
use super::negotiate::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use super::notification::NotificationMsg;

/// Why the byte stream cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A header failed RFC 4271 §6.1; the NOTIFICATION to send is inside.
    #[error("{0}")]
    Header(DecodeError),
}

impl CodecError {
    /// The NOTIFICATION to send before closing, if the peer is at fault.
    pub fn notification(&self) -> Option<&NotificationMsg> {
        match self {
            CodecError::Header(e) => Some(&e.notification),
            CodecError::Io(_) => None,
        }
    }
}

/// BGP message framing for one session.
#[derive(Clone, Debug)]
pub struct BgpCodec {
    /// Largest message accepted from the peer, header included.
    max_len: usize,
}

impl Default for BgpCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl BgpCodec {
    /// A codec for a new session: 4096-octet messages.
    pub fn new() -> Self {
        BgpCodec { max_len: MAX_MESSAGE_LEN }
    }

    /// Sets the largest message accepted from the peer, kept within
    /// 4096..=65535 (RFC 4271 §4.1, RFC 8654 §3).
    pub fn set_max_len(&mut self, max_len: usize) {
        self.max_len = max_len.clamp(MAX_MESSAGE_LEN, MAX_EXTENDED_MESSAGE_LEN);
    }
}

impl Decoder for BgpCodec {
    type Item = Bytes;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, CodecError> {
        let Some(len) = header::frame_len(src, self.max_len).map_err(CodecError::Header)? else {
            src.reserve(HEADER_LEN - src.len());
            return Ok(None);
        };
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        Ok(Some(src.split_to(len).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::capability::Capability;
    use crate::wire::header::MARKER;
    use crate::wire::iana::HeaderSubcode;
    use crate::wire::message::{ParsedMessage, decode_message};
    use crate::wire::negotiate::DecodeCtx;
    use crate::wire::open::OpenMsg;

    fn keepalive() -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&[0, 19, 4]);
        v
    }

    fn notification() -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&[0, 21, 3, 6, 2]);
        v
    }

    /// Feeds `stream` in chunks of `chunk` octets and collects the frames.
    fn feed(stream: &[u8], chunk: usize) -> Vec<Bytes> {
        let mut codec = BgpCodec::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                out.push(frame);
            }
        }
        assert!(buf.is_empty());
        out
    }

    #[test]
    fn partial_stream_yields_frames_only_when_complete() {
        let stream = [keepalive(), notification(), keepalive()].concat();
        for chunk in [1, 2, 7, 19, 20] {
            let frames = feed(&stream, chunk);
            assert_eq!(frames.len(), 3, "chunk {chunk}");
            assert_eq!(&frames[1][..], &notification()[..]);
        }
    }

    #[test]
    fn coalesced_messages_are_cut_apart() {
        let stream = [notification(), keepalive(), keepalive(), notification()].concat();
        let frames = feed(&stream, stream.len());
        assert_eq!(frames.iter().map(|f| f.len()).collect::<Vec<_>>(), vec![21, 19, 19, 21]);
        let ctx = DecodeCtx::default();
        assert_eq!(decode_message(&frames[1], &ctx).unwrap(), ParsedMessage::Keepalive);
    }

    #[test]
    fn bad_header_is_a_header_error_with_its_notification() {
        let mut bad = keepalive();
        bad[0] = 0;
        let mut codec = BgpCodec::new();
        let e = codec.decode(&mut BytesMut::from(&bad[..])).unwrap_err();
        assert_eq!(
            e.notification().map(|n| n.subcode),
            Some(HeaderSubcode::CONNECTION_NOT_SYNCHRONIZED.0)
        );
    }

    #[test]
    fn header_is_checked_before_the_body_arrives() {
        let mut hdr = MARKER.to_vec();
        hdr.extend_from_slice(&[0x20, 0x00, 2]); // 8192-octet UPDATE
        let mut codec = BgpCodec::new();
        let e = codec.decode(&mut BytesMut::from(&hdr[..])).unwrap_err();
        assert_eq!(e.notification().map(|n| n.data.to_vec()), Some(vec![0x20, 0x00]));
        codec.set_max_len(MAX_EXTENDED_MESSAGE_LEN);
        assert!(codec.decode(&mut BytesMut::from(&hdr[..])).unwrap().is_none());
    }

    #[test]
    fn frr_open_then_keepalive_stream_negotiates() {
        // Hand-made FRR 8.4-style OPEN (AS 65001, hold 180, id 10.0.0.1, one
        // capability per optional parameter) followed by a KEEPALIVE.
        let open_hex = "ffffffffffffffffffffffffffffffff005e01 04fde900b40a00000141\
            0206010400010001 0206010400020001 02028000 02020200 02024600\
            020641040000fde9 0206450400010101 0209490705 6e6f646531 00\
            020440024078 02024700";
        let mut stream = hex::decode(open_hex.replace([' ', '\n'], "")).unwrap();
        stream.extend_from_slice(&keepalive());
        let frames = feed(&stream, 13);
        assert_eq!(frames.len(), 2);
        let ctx = DecodeCtx::default();
        let ParsedMessage::Open(remote) = decode_message(&frames[0], &ctx).unwrap() else {
            panic!("not an OPEN")
        };
        remote.validate().unwrap();
        remote.check_peer_as(65001).unwrap();
        assert_eq!(decode_message(&frames[1], &ctx).unwrap(), ParsedMessage::Keepalive);

        let local = OpenMsg::new(
            65002,
            90,
            Ipv4Addr::new(10, 0, 0, 2),
            vec![
                Capability::Multiprotocol(crate::wire::AfiSafi::IPV4_UNICAST),
                Capability::RouteRefresh,
                Capability::AddPath(vec![(
                    crate::wire::AfiSafi::IPV4_UNICAST,
                    crate::wire::AddPathMode::Send,
                )]),
            ],
        );
        let n = crate::wire::Negotiated::from_opens(&local, &remote, true);
        assert_eq!(n.hold_time, 90);
        assert_eq!(n.families, vec![crate::wire::AfiSafi::IPV4_UNICAST]);
        assert!(n.route_refresh && !n.enhanced_route_refresh && n.four_octet_as);
        assert_eq!(n.add_path_tx, vec![crate::wire::AfiSafi::IPV4_UNICAST]);
        assert!(n.add_path_rx.is_empty());
        assert_eq!(n.peer_hostname(), Some("node1"));
        assert!(!n.forwarding_preserved(crate::wire::AfiSafi::IPV4_UNICAST));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_streams_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut codec = BgpCodec::new();
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(frame)) = codec.decode(&mut buf) {
                let _ = decode_message(&frame, &DecodeCtx::default());
            }
        }
    }
}
