//! ROUTE-REFRESH message (RFC 2918 §3) with the Message Subtype of enhanced
//! route refresh (RFC 7313 §3.2) and its length check (RFC 7313 §5).
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      |Subtype|  SAFI |
//! +-------+-------+-------+-------+
//! ```
//!
//! Subtype 0 is a normal route refresh request (RFC 2918, where the octet was
//! "Reserved"), 1 begins and 2 ends an enhanced refresh (BoRR / EoRR). The
//! RFC 2918 rule "If a BGP speaker receives from its peer a ROUTE-REFRESH
//! message with the <AFI, SAFI> that the speaker didn't advertise to the peer
//! ..., the speaker shall ignore such a message" needs the negotiated
//! families and is applied by the session, not here.

use bytes::{BufMut, Bytes, BytesMut};

use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::header::{HEADER_LEN, MARKER};
use super::iana::{Afi, AfiSafi, HeaderSubcode, MessageType, RouteRefreshSubcode, Safi};
use super::notification::NotificationMsg;

/// Body length of every ROUTE-REFRESH we understand.
pub const ROUTE_REFRESH_BODY_LEN: usize = 4;

/// The Message Subtype of a ROUTE-REFRESH (RFC 7313 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RouteRefreshSubtype {
    /// 0: normal route refresh request (RFC 2918).
    Normal,
    /// 1: demarcation of the beginning of a route refresh (BoRR).
    BoRR,
    /// 2: demarcation of the ending of a route refresh (EoRR).
    EoRR,
    /// 3..=255: "When the BGP speaker receives a ROUTE-REFRESH message with a
    /// 'Message Subtype' field other than 0, 1, or 2, it MUST ignore the
    /// received ROUTE-REFRESH message." (RFC 7313 §5) Decoded, then ignored
    /// by the session.
    Reserved(u8),
}

impl RouteRefreshSubtype {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            RouteRefreshSubtype::Normal => 0,
            RouteRefreshSubtype::BoRR => 1,
            RouteRefreshSubtype::EoRR => 2,
            RouteRefreshSubtype::Reserved(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => RouteRefreshSubtype::Normal,
            1 => RouteRefreshSubtype::BoRR,
            2 => RouteRefreshSubtype::EoRR,
            v => RouteRefreshSubtype::Reserved(v),
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteRefreshMsg {
    /// The family to refresh.
    pub family: AfiSafi,
    /// Normal request, BoRR, EoRR or a reserved value.
    pub subtype: RouteRefreshSubtype,
}

impl RouteRefreshMsg {
    /// A normal route refresh request for `family`.
    pub fn request(family: AfiSafi) -> Self {
        RouteRefreshMsg { family, subtype: RouteRefreshSubtype::Normal }
    }

    /// Decodes a ROUTE-REFRESH body (the octets after the header).
    pub fn decode(body: &Bytes) -> Result<RouteRefreshMsg, DecodeError> {
        let Some(&[a0, a1, subtype, safi]) = body.get(..ROUTE_REFRESH_BODY_LEN) else {
            let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
            return Err(DecodeError::new(
                NotificationMsg::header(
                    HeaderSubcode::BAD_MESSAGE_LENGTH,
                    len.to_be_bytes().to_vec(),
                ),
                "ROUTE-REFRESH shorter than 23 octets",
            ));
        };
        let subtype = RouteRefreshSubtype::from_u8(subtype);
        // "If the length, excluding the fixed-size message header, of the
        // received ROUTE-REFRESH message with Message Subtype 1 and 2 is not
        // 4, then the BGP speaker MUST send a NOTIFICATION message with the
        // Error Code of "ROUTE-REFRESH Message Error" and the subcode of
        // "Invalid Message Length". The Data field of the NOTIFICATION
        // message MUST contain the complete ROUTE-REFRESH message." (RFC 7313 §5)
        // Subtype 0 is held to the same length: longer ones carry ORF entries
        // (RFC 5291), a capability we never advertise.
        if body.len() != ROUTE_REFRESH_BODY_LEN
            && !matches!(subtype, RouteRefreshSubtype::Reserved(_))
        {
            return Err(DecodeError::new(
                NotificationMsg::route_refresh(
                    RouteRefreshSubcode::INVALID_MESSAGE_LENGTH,
                    complete_message(body),
                ),
                "ROUTE-REFRESH body is not 4 octets",
            ));
        }
        let family = AfiSafi::new(Afi(u16::from_be_bytes([a0, a1])), Safi(safi));
        Ok(RouteRefreshMsg { family, subtype })
    }

    /// Encodes the body (without the header).
    pub fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u16(self.family.afi.0);
        buf.put_u8(self.subtype.to_u8());
        buf.put_u8(self.family.safi.0);
    }
}

/// Rebuilds the whole message (header + body) for the NOTIFICATION data. The
/// header passed its checks, so it is exactly what the peer sent.
fn complete_message(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(HEADER_LEN + body.len()).unwrap_or(u16::MAX);
    let mut v = Vec::with_capacity(HEADER_LEN + body.len());
    v.extend_from_slice(&MARKER);
    v.put_u16(len);
    v.put_u8(MessageType::ROUTE_REFRESH.0);
    v.extend_from_slice(body);
    v
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::iana::ErrorCode;

    fn decode_hex(h: &str) -> Result<RouteRefreshMsg, DecodeError> {
        RouteRefreshMsg::decode(&Bytes::from(hex::decode(h.replace(' ', "")).unwrap()))
    }

    fn encode_hex(m: &RouteRefreshMsg) -> String {
        let mut buf = BytesMut::new();
        m.encode_body(&mut buf);
        hex::encode(buf)
    }

    #[test]
    fn normal_ipv4_refresh_round_trips() {
        let m = RouteRefreshMsg::request(AfiSafi::IPV4_UNICAST);
        assert_eq!(encode_hex(&m), "00010001");
        assert_eq!(decode_hex("0001 00 01").unwrap(), m);
    }

    #[test]
    fn borr_and_eorr_decode() {
        let borr = decode_hex("0002 01 01").unwrap();
        assert_eq!(
            borr,
            RouteRefreshMsg { family: AfiSafi::IPV6_UNICAST, subtype: RouteRefreshSubtype::BoRR }
        );
        assert_eq!(decode_hex("0002 02 01").unwrap().subtype, RouteRefreshSubtype::EoRR);
    }

    #[test]
    fn reserved_subtype_is_accepted_whatever_its_length() {
        assert_eq!(decode_hex("0001 07 01").unwrap().subtype, RouteRefreshSubtype::Reserved(7));
        assert_eq!(
            decode_hex("0001 07 01 ffff").unwrap().subtype,
            RouteRefreshSubtype::Reserved(7)
        );
    }

    #[test]
    fn long_borr_is_invalid_message_length_with_the_whole_message() {
        let e = decode_hex("0001 01 01 00").unwrap_err();
        assert_eq!(e.notification.code, ErrorCode::ROUTE_REFRESH);
        assert_eq!(e.notification.subcode, 1);
        assert_eq!(
            hex::encode(&e.notification.data),
            "ffffffffffffffffffffffffffffffff0018050001010100"
        );
    }

    #[test]
    fn short_body_is_bad_message_length() {
        let e = decode_hex("0001 00").unwrap_err();
        assert_eq!(
            e.notification,
            NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, vec![0, 22])
        );
    }

    proptest! {
        #[test]
        fn route_refresh_round_trips(afi in any::<u16>(), safi in any::<u8>(), st in any::<u8>()) {
            let m = RouteRefreshMsg { family: AfiSafi::new(Afi(afi), Safi(safi)), subtype: RouteRefreshSubtype::from_u8(st) };
            let mut buf = BytesMut::new();
            m.encode_body(&mut buf);
            prop_assert_eq!(RouteRefreshMsg::decode(&buf.freeze()).unwrap(), m);
        }
    }
}
