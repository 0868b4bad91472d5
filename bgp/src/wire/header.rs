//! The 19-octet message header (RFC 4271 §4.1) and its checks (RFC 4271 §6.1),
//! with the per-type length bounds of RFC 4271 §4.2–§4.5, RFC 2918 §3 and the
//! extended-message limits of RFC 8654 §4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The header is checked as soon as its 19 octets have arrived, before the
//! body is awaited, so a desynchronised stream is detected without buffering
//! up to 64 KiB of garbage.

use bytes::{BufMut, BytesMut};

use super::error::DecodeError;
use super::iana::{HeaderSubcode, MessageType};
use super::negotiate::MAX_MESSAGE_LEN;
use super::notification::NotificationMsg;

/// Length of the message header: marker (16), length (2), type (1).
pub const HEADER_LEN: usize = 19;

/// The marker: "This 16-octet field is included for compatibility; it MUST be
/// set to all ones." (RFC 4271 §4.1)
pub const MARKER: [u8; 16] = [0xff; 16];

/// Offset of the length field within the header.
pub const LENGTH_OFFSET: usize = 16;

/// Smallest OPEN: header + version, AS, hold time, BGP identifier, opt. length.
pub const OPEN_MIN_LEN: usize = 29;
/// Smallest UPDATE: header + the two 2-octet length fields.
pub const UPDATE_MIN_LEN: usize = 23;
/// A KEEPALIVE is the bare header.
pub const KEEPALIVE_LEN: usize = HEADER_LEN;
/// Smallest NOTIFICATION: header + error code + subcode.
pub const NOTIFICATION_MIN_LEN: usize = 21;
/// ROUTE-REFRESH: header + AFI, subtype, SAFI.
pub const ROUTE_REFRESH_LEN: usize = 23;

/// A checked message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Total message length, header included.
    pub length: u16,
    /// Message type; always one of the five known types once decoded.
    pub msg_type: MessageType,
}

impl Header {
    /// Checks the first [`HEADER_LEN`] octets of `buf` (which must hold at
    /// least that many) against RFC 4271 §6.1, allowing messages up to
    /// `max_len` octets (4096, or 65535 once extended messages are agreed).
    pub fn decode(buf: &[u8], max_len: usize) -> Result<Header, DecodeError> {
        let Some(hdr) = buf.get(..HEADER_LEN) else {
            return Err(DecodeError::new(
                NotificationMsg::header(
                    HeaderSubcode::BAD_MESSAGE_LENGTH,
                    vec![0, buf.len() as u8],
                ),
                "message shorter than its header",
            ));
        };
        // "If the Marker field of the message header is not as expected, then
        // a synchronization error has occurred and the Error Subcode MUST be
        // set to Connection Not Synchronized." (§6.1)
        if hdr[..LENGTH_OFFSET] != MARKER {
            return Err(DecodeError::new(
                NotificationMsg::header(HeaderSubcode::CONNECTION_NOT_SYNCHRONIZED, Vec::new()),
                "marker is not all ones",
            ));
        }
        let len_bytes = [hdr[LENGTH_OFFSET], hdr[LENGTH_OFFSET + 1]];
        let length = u16::from_be_bytes(len_bytes);
        let msg_type = MessageType(hdr[LENGTH_OFFSET + 2]);
        let bad_length = |why: &'static str| {
            // "The Data field MUST contain the erroneous Length field." (§6.1)
            DecodeError::new(
                NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, len_bytes.to_vec()),
                why,
            )
        };
        let len = usize::from(length);
        if len < HEADER_LEN {
            return Err(bad_length("length below the 19-octet header"));
        }
        if len > max_len {
            return Err(bad_length("length above the maximum message size"));
        }
        let (min, max) = match msg_type {
            // "The BGP Extended Message Capability applies to all messages
            // except for OPEN and KEEPALIVE messages." (RFC 8654 §4)
            MessageType::OPEN => (OPEN_MIN_LEN, MAX_MESSAGE_LEN),
            MessageType::UPDATE => (UPDATE_MIN_LEN, max_len),
            MessageType::NOTIFICATION => (NOTIFICATION_MIN_LEN, max_len),
            MessageType::KEEPALIVE => (KEEPALIVE_LEN, KEEPALIVE_LEN),
            // Only the minimum: RFC 7313 §5 answers a too-long BoRR/EoRR with
            // its own ROUTE-REFRESH Message Error, which needs the body.
            MessageType::ROUTE_REFRESH => (ROUTE_REFRESH_LEN, max_len),
            other => {
                // "If the Type field of the message header is not recognized,
                // then the Error Subcode MUST be set to Bad Message Type. The
                // Data field MUST contain the erroneous Type field." (§6.1)
                return Err(DecodeError::new(
                    NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_TYPE, vec![other.0]),
                    "unknown message type",
                ));
            }
        };
        if len < min || len > max {
            return Err(bad_length("length out of range for the message type"));
        }
        Ok(Header { length, msg_type })
    }

    /// Writes a header with a zero length, to be patched by [`patch_length`]
    /// once the body is written.
    pub fn encode_placeholder(msg_type: MessageType, buf: &mut BytesMut) {
        buf.put_slice(&MARKER);
        buf.put_u16(0);
        buf.put_u8(msg_type.0);
    }
}

/// Rewrites the length field of the message that starts at `start` in `buf`
/// to cover everything written since. The caller has checked the length fits.
pub fn patch_length(buf: &mut BytesMut, start: usize) {
    let len = buf.len().saturating_sub(start);
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    if let Some(field) = buf.get_mut(start + LENGTH_OFFSET..start + LENGTH_OFFSET + 2) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

/// How long the message at the front of `buf` is, once its header has
/// arrived: `Ok(None)` while fewer than [`HEADER_LEN`] octets are buffered,
/// `Ok(Some(len))` with the checked total length, or the header error.
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    Header::decode(buf, max_len).map(|h| Some(usize::from(h.length)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::iana::ErrorCode;
    use crate::wire::negotiate::MAX_EXTENDED_MESSAGE_LEN;

    fn hdr(len: u16, ty: u8) -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.push(ty);
        v
    }

    fn header_error(buf: &[u8], max: usize) -> (u8, Vec<u8>) {
        let e = Header::decode(buf, max).unwrap_err();
        assert_eq!(e.notification.code, ErrorCode::MESSAGE_HEADER);
        (e.notification.subcode, e.notification.data.to_vec())
    }

    #[test]
    fn keepalive_header_decodes() {
        let buf = hex::decode("ffffffffffffffffffffffffffffffff001304").unwrap();
        let h = Header::decode(&buf, MAX_MESSAGE_LEN).unwrap();
        assert_eq!(h, Header { length: 19, msg_type: MessageType::KEEPALIVE });
        assert_eq!(frame_len(&buf, MAX_MESSAGE_LEN).unwrap(), Some(19));
    }

    #[test]
    fn bad_marker_is_connection_not_synchronized() {
        let mut buf = hdr(19, 4);
        buf[3] = 0xfe;
        assert_eq!(header_error(&buf, MAX_MESSAGE_LEN), (1, vec![]));
    }

    #[test]
    fn unknown_type_is_bad_message_type_with_the_type_octet() {
        assert_eq!(header_error(&hdr(19, 6), MAX_MESSAGE_LEN), (3, vec![6]));
        assert_eq!(header_error(&hdr(19, 0), MAX_MESSAGE_LEN), (3, vec![0]));
    }

    #[test]
    fn length_below_header_is_bad_message_length_with_the_length() {
        assert_eq!(header_error(&hdr(18, 4), MAX_MESSAGE_LEN), (2, vec![0, 18]));
    }

    #[test]
    fn length_over_4096_is_bad_message_length_without_extended_messages() {
        assert_eq!(header_error(&hdr(4097, 2), MAX_MESSAGE_LEN), (2, vec![0x10, 0x01]));
        assert!(Header::decode(&hdr(4097, 2), MAX_EXTENDED_MESSAGE_LEN).is_ok());
    }

    #[test]
    fn per_type_minimums_are_enforced() {
        for (ty, min) in [(1u8, 29u16), (2, 23), (3, 21), (5, 23)] {
            assert_eq!(header_error(&hdr(min - 1, ty), MAX_MESSAGE_LEN).0, 2, "type {ty}");
            assert!(Header::decode(&hdr(min, ty), MAX_MESSAGE_LEN).is_ok(), "type {ty}");
        }
    }

    #[test]
    fn keepalive_must_be_exactly_19() {
        assert_eq!(header_error(&hdr(20, 4), MAX_MESSAGE_LEN), (2, vec![0, 20]));
    }

    #[test]
    fn open_stays_limited_to_4096_with_extended_messages() {
        assert_eq!(header_error(&hdr(4097, 1), MAX_EXTENDED_MESSAGE_LEN), (2, vec![0x10, 0x01]));
        assert!(Header::decode(&hdr(4096, 1), MAX_EXTENDED_MESSAGE_LEN).is_ok());
    }

    #[test]
    fn frame_len_waits_for_a_whole_header() {
        let buf = hdr(19, 4);
        for n in 0..HEADER_LEN {
            assert_eq!(frame_len(&buf[..n], MAX_MESSAGE_LEN).unwrap(), None);
        }
    }

    #[test]
    fn placeholder_then_patch_writes_the_length() {
        let mut buf = BytesMut::from(&b"xx"[..]);
        Header::encode_placeholder(MessageType::NOTIFICATION, &mut buf);
        buf.put_slice(&[6, 2]);
        patch_length(&mut buf, 2);
        let mut want = hdr(21, 3);
        want.extend_from_slice(&[6, 2]);
        assert_eq!(&buf[2..], &want[..]);
    }

    proptest::proptest! {
        #[test]
        fn any_header_bytes_decode_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let _ = frame_len(&bytes, MAX_EXTENDED_MESSAGE_LEN);
            let _ = Header::decode(&bytes, MAX_MESSAGE_LEN);
        }
    }
}
