//! Whole BGP messages: header plus body (RFC 4271 §4), dispatched by type to
//! the per-message modules.
//!
//! ```text
//! +--------------------------------+------------------------------+
//! | Marker (16) | Length (2) | Type |  Body (Length - 19 octets)  |
//! +--------------------------------+------------------------------+
//!   Type 1 OPEN          -> open.rs           (RFC 4271 §4.2)
//!   Type 2 UPDATE        -> update.rs         (RFC 4271 §4.3, RFC 7606)
//!   Type 3 NOTIFICATION  -> notification.rs   (RFC 4271 §4.5)
//!   Type 4 KEEPALIVE     -> keepalive.rs      (RFC 4271 §4.4)
//!   Type 5 ROUTE-REFRESH -> route_refresh.rs  (RFC 2918 §3, RFC 7313)
//! ```
//!
//! What we send ([`Message`]) and what we receive ([`ParsedMessage`]) are
//! different types: a received UPDATE carries its RFC 7606 verdict, which the
//! session must act on before the routes reach the RIB.

use bytes::{Bytes, BytesMut};

use super::error::{DecodeError, EncodeError, Treatment};
use super::header::{HEADER_LEN, Header, patch_length};
use super::iana::{HeaderSubcode, MessageType};
use super::keepalive::KeepaliveMsg;
use super::negotiate::{DecodeCtx, EncodeCtx, MAX_MESSAGE_LEN};
use super::notification::NotificationMsg;
use super::open::OpenMsg;
use super::route_refresh::RouteRefreshMsg;
use super::update::{ParsedUpdate, UpdateMsg};

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "UPDATE is nearly every message on a session; boxing it would add an allocation to each one to shrink rare KEEPALIVEs"
)]
pub enum Message {
    /// OPEN (type 1).
    Open(OpenMsg),
    /// UPDATE (type 2).
    Update(UpdateMsg),
    /// NOTIFICATION (type 3).
    Notification(NotificationMsg),
    /// KEEPALIVE (type 4).
    Keepalive,
    /// ROUTE-REFRESH (type 5).
    RouteRefresh(RouteRefreshMsg),
}

/// A received message, as decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "UPDATE is nearly every message on a session; boxing it would add an allocation to each one to shrink rare KEEPALIVEs"
)]
pub enum ParsedMessage {
    /// OPEN (type 1), not yet validated (see [`OpenMsg::validate`]).
    Open(OpenMsg),
    /// UPDATE (type 2) with its RFC 7606 treatment and defects.
    Update(ParsedUpdate),
    /// NOTIFICATION (type 3).
    Notification(NotificationMsg),
    /// KEEPALIVE (type 4).
    Keepalive,
    /// ROUTE-REFRESH (type 5).
    RouteRefresh(RouteRefreshMsg),
}

impl Message {
    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::OPEN,
            Message::Update(_) => MessageType::UPDATE,
            Message::Notification(_) => MessageType::NOTIFICATION,
            Message::Keepalive => MessageType::KEEPALIVE,
            Message::RouteRefresh(_) => MessageType::ROUTE_REFRESH,
        }
    }

    /// Appends the whole message (header, body, patched length) to `buf`.
    /// On error `buf` is left as it was.
    pub fn encode(&self, ctx: &EncodeCtx, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let start = buf.len();
        let result = self.encode_unchecked(ctx, buf, start);
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    fn encode_unchecked(
        &self,
        ctx: &EncodeCtx,
        buf: &mut BytesMut,
        start: usize,
    ) -> Result<(), EncodeError> {
        Header::encode_placeholder(self.msg_type(), buf);
        match self {
            Message::Open(m) => m.encode_body(buf)?,
            Message::Update(m) => m.encode_body(ctx, buf)?,
            Message::Notification(m) => m.encode_body(buf),
            Message::Keepalive => KeepaliveMsg.encode_body(buf),
            Message::RouteRefresh(m) => m.encode_body(buf),
        }
        // "The BGP Extended Message Capability applies to all messages
        // except for OPEN and KEEPALIVE messages." (RFC 8654 §4)
        let max = match self {
            Message::Open(_) | Message::Keepalive => MAX_MESSAGE_LEN,
            _ => ctx.max_message_len(),
        };
        let len = buf.len() - start;
        if len > max {
            return Err(EncodeError::TooLong { len, max });
        }
        patch_length(buf, start);
        Ok(())
    }

    /// The whole message as bytes.
    pub fn to_bytes(&self, ctx: &EncodeCtx) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::new();
        self.encode(ctx, &mut buf)?;
        Ok(buf.freeze())
    }
}

impl From<NotificationMsg> for Message {
    fn from(n: NotificationMsg) -> Self {
        Message::Notification(n)
    }
}

impl ParsedMessage {
    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            ParsedMessage::Open(_) => MessageType::OPEN,
            ParsedMessage::Update(_) => MessageType::UPDATE,
            ParsedMessage::Notification(_) => MessageType::NOTIFICATION,
            ParsedMessage::Keepalive => MessageType::KEEPALIVE,
            ParsedMessage::RouteRefresh(_) => MessageType::ROUTE_REFRESH,
        }
    }

    /// The message as one we could send back unchanged, or `None` when it is
    /// an UPDATE in which RFC 7606 found any defect (its content is then not
    /// what the peer sent, and must go through the treatment instead).
    pub fn into_clean_message(self) -> Option<Message> {
        Some(match self {
            ParsedMessage::Open(m) => Message::Open(m),
            ParsedMessage::Update(p) => {
                if p.treatment != Treatment::Normal || !p.errors.is_empty() {
                    return None;
                }
                Message::Update(p.update)
            }
            ParsedMessage::Notification(m) => Message::Notification(m),
            ParsedMessage::Keepalive => Message::Keepalive,
            ParsedMessage::RouteRefresh(m) => Message::RouteRefresh(m),
        })
    }
}

/// Decodes one whole message (header included), as cut by
/// [`super::framing::BgpCodec`]. The header is checked again so that frames
/// from any other source get the same RFC 4271 §6.1 treatment.
pub fn decode_message(frame: &Bytes, ctx: &DecodeCtx) -> Result<ParsedMessage, DecodeError> {
    let header = Header::decode(frame, ctx.max_message_len())?;
    if usize::from(header.length) != frame.len() {
        return Err(DecodeError::new(
            NotificationMsg::header(
                HeaderSubcode::BAD_MESSAGE_LENGTH,
                header.length.to_be_bytes().to_vec(),
            ),
            "frame length differs from the header's length field",
        ));
    }
    let body = frame.slice(HEADER_LEN..);
    Ok(match header.msg_type {
        MessageType::OPEN => ParsedMessage::Open(OpenMsg::decode(&body)?),
        MessageType::UPDATE => ParsedMessage::Update(UpdateMsg::decode(&body, ctx)?),
        MessageType::NOTIFICATION => ParsedMessage::Notification(NotificationMsg::decode(&body)?),
        MessageType::KEEPALIVE => {
            KeepaliveMsg::decode(&body)?;
            ParsedMessage::Keepalive
        }
        MessageType::ROUTE_REFRESH => ParsedMessage::RouteRefresh(RouteRefreshMsg::decode(&body)?),
        // Header::decode lets only the five known types through.
        other => {
            return Err(DecodeError::new(
                NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_TYPE, vec![other.0]),
                "unknown message type",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::capability::Capability;
    use crate::wire::iana::{AfiSafi, ErrorCode};
    use crate::wire::negotiate::{DecodeCtx, EncodeCtx};
    use crate::wire::route_refresh::RouteRefreshSubtype;

    fn frame(h: &str) -> Bytes {
        Bytes::from(hex::decode(h.replace(' ', "")).unwrap())
    }

    const M: &str = "ffffffffffffffffffffffffffffffff";

    fn golden(msg: Message, wire: &str) {
        let ctx = DecodeCtx::default();
        let wire = frame(wire);
        assert_eq!(hex::encode(msg.to_bytes(&ctx.peer_encode_ctx()).unwrap()), hex::encode(&wire));
        assert_eq!(decode_message(&wire, &ctx).unwrap().into_clean_message(), Some(msg));
    }

    #[test]
    fn keepalive_golden() {
        golden(Message::Keepalive, &format!("{M} 0013 04"));
    }

    #[test]
    fn notification_golden() {
        golden(
            Message::Notification(NotificationMsg::admin_shutdown("bye")),
            &format!("{M} 0019 03 0602 03 627965"),
        );
    }

    #[test]
    fn route_refresh_golden() {
        golden(
            Message::RouteRefresh(RouteRefreshMsg {
                family: AfiSafi::IPV6_UNICAST,
                subtype: RouteRefreshSubtype::EoRR,
            }),
            &format!("{M} 0017 05 0002 02 01"),
        );
    }

    #[test]
    fn open_golden() {
        let open = OpenMsg::new(
            65001,
            180,
            Ipv4Addr::new(10, 0, 0, 1),
            vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST), Capability::RouteRefresh],
        );
        golden(
            Message::Open(open),
            &format!("{M} 002d 01 04 fde9 00b4 0a000001 10 02 0e 01040001 0001 0200 4104 0000fde9"),
        );
    }

    #[test]
    fn frame_shorter_than_its_length_field_is_bad_message_length() {
        let e = decode_message(&frame(&format!("{M} 0014 04")), &DecodeCtx::default()).unwrap_err();
        assert_eq!(
            e.notification,
            NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, vec![0, 0x14])
        );
        let e =
            decode_message(&frame(&format!("{M} 0015 03 06")), &DecodeCtx::default()).unwrap_err();
        assert_eq!(e.notification.subcode, HeaderSubcode::BAD_MESSAGE_LENGTH.0);
    }

    #[test]
    fn header_errors_come_first() {
        let e = decode_message(&frame(&format!("{M} 0013 09")), &DecodeCtx::default()).unwrap_err();
        assert_eq!((e.notification.code, e.notification.subcode), (ErrorCode::MESSAGE_HEADER, 3));
        let e = decode_message(&frame("ffff"), &DecodeCtx::default()).unwrap_err();
        assert_eq!(e.notification.code, ErrorCode::MESSAGE_HEADER);
    }

    #[test]
    fn oversized_notification_is_refused_and_buf_left_untouched() {
        let n = NotificationMsg::new(ErrorCode::CEASE, 0, vec![0u8; 4096]);
        let mut buf = BytesMut::from(&b"abc"[..]);
        let e = Message::from(n.clone()).encode(&EncodeCtx::default(), &mut buf).unwrap_err();
        assert_eq!(e, EncodeError::TooLong { len: 4096 + 21, max: 4096 });
        assert_eq!(&buf[..], b"abc");
        let ext = EncodeCtx { extended_message: true, ..EncodeCtx::default() };
        assert_eq!(Message::from(n).to_bytes(&ext).unwrap().len(), 4096 + 21);
    }

    #[test]
    fn open_is_limited_to_4096_even_with_extended_messages() {
        let caps = (0..800u16)
            .map(|i| {
                Capability::Multiprotocol(AfiSafi::new(crate::wire::Afi(i), crate::wire::Safi(1)))
            })
            .collect();
        let open = OpenMsg::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1), caps);
        let ext = EncodeCtx { extended_message: true, ..EncodeCtx::default() };
        assert!(matches!(
            Message::Open(open).to_bytes(&ext),
            Err(EncodeError::TooLong { max: 4096, .. })
        ));
    }
}
