//! KEEPALIVE message (RFC 4271 §4.4): the bare 19-octet header.
//!
//! ```text
//! +-------------------------------+
//! | Marker (16) | Length=19 | 4   |   no body
//! +-------------------------------+
//! ```
//!
//! "A KEEPALIVE message consists of only the message header and has a length
//! of 19 octets." (RFC 4271 §4.4) The header check already refuses any other
//! length; [`KeepaliveMsg::decode`] repeats it so that a body handed in by
//! another path cannot slip through.

use bytes::{Bytes, BytesMut};

use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::header::HEADER_LEN;
use super::iana::HeaderSubcode;
use super::notification::NotificationMsg;

/// A KEEPALIVE message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeepaliveMsg;

impl KeepaliveMsg {
    /// Decodes a KEEPALIVE body, which must be empty.
    pub fn decode(body: &Bytes) -> Result<KeepaliveMsg, DecodeError> {
        if body.is_empty() {
            return Ok(KeepaliveMsg);
        }
        // "if the Length field of a KEEPALIVE message is not equal to 19 ...
        // the Error Subcode MUST be set to Bad Message Length. The Data field
        // MUST contain the erroneous Length field." (RFC 4271 §6.1)
        let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
        Err(DecodeError::new(
            NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, len.to_be_bytes().to_vec()),
            "KEEPALIVE with a body",
        ))
    }

    /// Encodes the (empty) body.
    pub fn encode_body(&self, _buf: &mut BytesMut) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_a_keepalive() {
        assert_eq!(KeepaliveMsg::decode(&Bytes::new()), Ok(KeepaliveMsg));
        let mut buf = BytesMut::new();
        KeepaliveMsg.encode_body(&mut buf);
        assert!(buf.is_empty());
    }

    #[test]
    fn keepalive_with_body_is_bad_message_length() {
        let e = KeepaliveMsg::decode(&Bytes::from_static(&[0])).unwrap_err();
        assert_eq!(
            e.notification,
            NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, vec![0, 20])
        );
    }
}
