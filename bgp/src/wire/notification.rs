//! NOTIFICATION message (RFC 4271 §4.5) with every error code and subcode of
//! RFC 4271, RFC 4486, RFC 6608, RFC 7313, RFC 8538, RFC 9234 and RFC 9384, and
//! the shutdown communication of RFC 9003.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Cease / Administrative Shutdown or Reset with a shutdown communication
//! (RFC 9003 §2):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code 6  | Subcode 2 / 4 |    Length     |  UTF-8 text   ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! Cease / Maximum Number of Prefixes Reached (RFC 4486 §4):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code 6  | Subcode 1     |             AFI               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     SAFI      |          Upper bound (4 octets)               ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A NOTIFICATION is never answered: "If a peer sends a NOTIFICATION message,
//! and the receiver of the message detects an error in that message, the
//! receiver cannot use a NOTIFICATION message to report this error back to the
//! peer" (RFC 4271 §6.4). Decoding therefore accepts any code, subcode and
//! data, and malformed shutdown communications only change what is logged.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use serde::{Deserialize, Serialize};

use super::error::DecodeError;
use super::header::HEADER_LEN;
use super::iana::{
    Afi, AfiSafi, CeaseSubcode, ErrorCode, FsmSubcode, HeaderSubcode, OpenSubcode,
    RouteRefreshSubcode, Safi, UpdateSubcode,
};

/// Longest shutdown communication: "the length of the Shutdown Communication
/// field in octets", a one-octet field (RFC 9003 §2, up from 128 in RFC 8203).
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message: error code, subcode and data.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NotificationMsg {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode, meaningful relative to `code`.
    pub subcode: u8,
    /// Data whose meaning depends on the code and subcode.
    pub data: Bytes,
}

impl NotificationMsg {
    /// A NOTIFICATION with raw code, subcode and data.
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Bytes>) -> Self {
        NotificationMsg { code, subcode, data: data.into() }
    }

    /// Message Header Error.
    pub fn header(subcode: HeaderSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::MESSAGE_HEADER, subcode.0, data)
    }

    /// OPEN Message Error.
    pub fn open(subcode: OpenSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::OPEN_MESSAGE, subcode.0, data)
    }

    /// UPDATE Message Error.
    pub fn update(subcode: UpdateSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::UPDATE_MESSAGE, subcode.0, data)
    }

    /// Hold Timer Expired (no subcode, no data).
    pub fn hold_timer_expired() -> Self {
        Self::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new())
    }

    /// Send Hold Timer Expired (RFC 9687: error code 8, subcode 0, no
    /// data).
    pub fn send_hold_timer_expired() -> Self {
        Self::new(ErrorCode::SEND_HOLD_TIMER_EXPIRED, 0, Bytes::new())
    }

    /// Finite State Machine Error.
    pub fn fsm(subcode: FsmSubcode) -> Self {
        Self::new(ErrorCode::FSM, subcode.0, Bytes::new())
    }

    /// Cease with raw data.
    pub fn cease(subcode: CeaseSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::CEASE, subcode.0, data)
    }

    /// ROUTE-REFRESH Message Error.
    pub fn route_refresh(subcode: RouteRefreshSubcode, data: impl Into<Bytes>) -> Self {
        Self::new(ErrorCode::ROUTE_REFRESH, subcode.0, data)
    }

    /// Cease / Administrative Shutdown carrying `msg` as its shutdown
    /// communication (RFC 9003 §2), cut at a character boundary to 255 octets.
    pub fn admin_shutdown(msg: &str) -> Self {
        Self::cease(CeaseSubcode::ADMINISTRATIVE_SHUTDOWN, shutdown_data(msg))
    }

    /// Cease / Administrative Reset carrying `msg` (RFC 9003 §2).
    pub fn admin_reset(msg: &str) -> Self {
        Self::cease(CeaseSubcode::ADMINISTRATIVE_RESET, shutdown_data(msg))
    }

    /// Cease / Maximum Number of Prefixes Reached: "the speaker MAY include
    /// in the Data field ... AFI, SAFI, and the prefix upper bound" (RFC 4486 §4).
    pub fn max_prefixes(family: AfiSafi, upper_bound: u32) -> Self {
        let mut data = Vec::with_capacity(7);
        data.put_u16(family.afi.0);
        data.put_u8(family.safi.0);
        data.put_u32(upper_bound);
        Self::cease(CeaseSubcode::MAXIMUM_PREFIXES_REACHED, data)
    }

    /// The (family, upper bound) of a Maximum Number of Prefixes Reached,
    /// when the sender included them.
    pub fn max_prefixes_data(&self) -> Option<(AfiSafi, u32)> {
        if self.code != ErrorCode::CEASE || self.subcode != CeaseSubcode::MAXIMUM_PREFIXES_REACHED.0
        {
            return None;
        }
        let d: &[u8; 7] = self.data.as_ref().try_into().ok()?;
        let family = AfiSafi::new(Afi(u16::from_be_bytes([d[0], d[1]])), Safi(d[2]));
        Some((family, u32::from_be_bytes([d[3], d[4], d[5], d[6]])))
    }

    /// Whether this is Cease / Administrative Shutdown or Reset, the two
    /// subcodes that carry a shutdown communication (RFC 9003 §2).
    fn carries_shutdown_communication(&self) -> bool {
        self.code == ErrorCode::CEASE
            && (self.subcode == CeaseSubcode::ADMINISTRATIVE_SHUTDOWN.0
                || self.subcode == CeaseSubcode::ADMINISTRATIVE_RESET.0)
    }

    /// The shutdown communication (RFC 9003), if this NOTIFICATION carries a
    /// well-formed, non-empty one. "When the length value is zero, no
    /// Shutdown Communication field follows"; a length past the data or
    /// invalid UTF-8 gives `None` ("A receiving BGP speaker MUST NOT
    /// interpret invalid UTF-8 sequences").
    pub fn shutdown_message(&self) -> Option<String> {
        if !self.carries_shutdown_communication() {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        if text.is_empty() {
            return None;
        }
        std::str::from_utf8(text).ok().map(str::to_owned)
    }

    /// Whether a shutdown communication is present but malformed: "a message
    /// indicating this event SHOULD be logged for the attention of the
    /// operator. An erroneous or malformed Shutdown Communication itself
    /// MUST NOT be logged verbatim." (RFC 9003 §2)
    pub fn shutdown_message_malformed(&self) -> bool {
        self.carries_shutdown_communication()
            && match self.data.split_first() {
                None | Some((0, _)) => false,
                Some((&len, rest)) => {
                    rest.get(..usize::from(len)).is_none_or(|t| std::str::from_utf8(t).is_err())
                }
            }
    }

    /// Decodes a NOTIFICATION body (the octets after the header).
    pub fn decode(body: &Bytes) -> Result<Self, DecodeError> {
        match body.get(..2) {
            Some(&[code, subcode]) => {
                Ok(NotificationMsg { code: ErrorCode(code), subcode, data: body.slice(2..) })
            }
            // Unreachable after header checks (length >= 21); kept total so
            // decode never panics on a body handed in by other callers.
            _ => {
                let len = (HEADER_LEN + body.len()) as u16;
                Err(DecodeError::new(
                    Self::header(HeaderSubcode::BAD_MESSAGE_LENGTH, len.to_be_bytes().to_vec()),
                    "NOTIFICATION shorter than code and subcode",
                ))
            }
        }
    }

    /// Encodes the NOTIFICATION body (without the header).
    pub fn encode_body(&self, buf: &mut BytesMut) {
        buf.put_u8(self.code.0);
        buf.put_u8(self.subcode);
        buf.put_slice(&self.data);
    }

    /// The name of the subcode within its code, if known.
    pub fn subcode_name(&self) -> Option<&'static str> {
        match self.code {
            ErrorCode::MESSAGE_HEADER => HeaderSubcode(self.subcode).name(),
            ErrorCode::OPEN_MESSAGE => OpenSubcode(self.subcode).name(),
            ErrorCode::UPDATE_MESSAGE => UpdateSubcode(self.subcode).name(),
            ErrorCode::FSM => FsmSubcode(self.subcode).name(),
            ErrorCode::CEASE => CeaseSubcode(self.subcode).name(),
            ErrorCode::ROUTE_REFRESH => RouteRefreshSubcode(self.subcode).name(),
            _ => None,
        }
    }
}

impl fmt::Debug for NotificationMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationMsg")
            .field("code", &self.code)
            .field("subcode", &self.subcode)
            .field("data", &self.data)
            .finish()
    }
}

/// Length octet + text, the text cut at a char boundary to fit 255 octets.
fn shutdown_data(msg: &str) -> Vec<u8> {
    let mut end = msg.len().min(MAX_SHUTDOWN_COMMUNICATION);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 {
        return Vec::new();
    }
    let mut data = Vec::with_capacity(end + 1);
    data.push(end as u8);
    data.extend_from_slice(&msg.as_bytes()[..end]);
    data
}

/// Formats as FRR does in `show bgp neighbors` ("Cease/Administrative
/// Shutdown"), followed by the shutdown communication if there is one.
impl fmt::Display for NotificationMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        match self.subcode_name() {
            Some(name) => write!(f, "/{name}")?,
            // Hold Timer Expired has no subcodes to speak of.
            None if self.subcode == 0 && self.code == ErrorCode::HOLD_TIMER_EXPIRED => {}
            None if self.subcode == 0 => f.write_str("/Unspecific")?,
            None => write!(f, "/Unknown subcode {}", self.subcode)?,
        }
        if let Some(msg) = self.shutdown_message() {
            write!(f, " \"{}\"", msg.escape_debug())?;
        } else if self.shutdown_message_malformed() {
            f.write_str(" (malformed shutdown communication)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode_hex(h: &str) -> NotificationMsg {
        NotificationMsg::decode(&Bytes::from(hex::decode(h.replace(' ', "")).unwrap())).unwrap()
    }

    fn encode_hex(n: &NotificationMsg) -> String {
        let mut buf = BytesMut::new();
        n.encode_body(&mut buf);
        hex::encode(buf)
    }

    #[test]
    fn admin_shutdown_carries_the_shutdown_communication() {
        let n = NotificationMsg::admin_shutdown("maintenance");
        assert_eq!(encode_hex(&n), "0602 0b 6d61696e74656e616e6365".replace(' ', ""));
        assert_eq!(decode_hex("0602 0b 6d61696e74656e616e6365"), n);
        assert_eq!(n.shutdown_message().as_deref(), Some("maintenance"));
        assert_eq!(n.to_string(), "Cease/Administrative Shutdown \"maintenance\"");
    }

    #[test]
    fn admin_shutdown_without_text_has_no_data() {
        let n = NotificationMsg::admin_shutdown("");
        assert_eq!(encode_hex(&n), "0602");
        assert_eq!(n.shutdown_message(), None);
        assert!(!n.shutdown_message_malformed());
        assert_eq!(decode_hex("0602 00").shutdown_message(), None);
    }

    #[test]
    fn long_shutdown_communication_is_cut_at_a_char_boundary() {
        let msg = "é".repeat(200); // 400 octets
        let n = NotificationMsg::admin_reset(&msg);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_message().unwrap().chars().count(), 127);
    }

    #[test]
    fn malformed_shutdown_communication_is_flagged_not_shown() {
        for h in ["0602 05 6869", "0604 02 c328"] {
            let n = decode_hex(h);
            assert_eq!(n.shutdown_message(), None, "{h}");
            assert!(n.shutdown_message_malformed(), "{h}");
            assert!(n.to_string().ends_with("(malformed shutdown communication)"), "{h}");
        }
    }

    #[test]
    fn max_prefixes_carries_family_and_bound() {
        let n = NotificationMsg::max_prefixes(AfiSafi::IPV6_UNICAST, 1000);
        assert_eq!(encode_hex(&n), "0601 0002 01 000003e8".replace(' ', ""));
        assert_eq!(n.max_prefixes_data(), Some((AfiSafi::IPV6_UNICAST, 1000)));
        assert_eq!(decode_hex("0601").max_prefixes_data(), None);
    }

    #[test]
    fn display_names_code_and_subcode_like_frr() {
        assert_eq!(decode_hex("0400").to_string(), "Hold Timer Expired");
        assert_eq!(decode_hex("0200").to_string(), "OPEN Message Error/Unspecific");
        assert_eq!(decode_hex("0600").to_string(), "Cease/Unspecific");
        assert_eq!(
            decode_hex("0302").to_string(),
            "UPDATE Message Error/Unrecognized Well-known Attribute"
        );
        assert_eq!(decode_hex("0163").to_string(), "Message Header Error/Unknown subcode 99");
        assert_eq!(decode_hex("0500").to_string(), "Finite State Machine Error/Unspecified Error");
    }

    #[test]
    fn header_error_notification_decodes_with_its_data() {
        let n = decode_hex("0102 1001");
        assert_eq!(n, NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, vec![0x10, 0x01]));
    }

    #[test]
    fn body_shorter_than_two_octets_is_refused() {
        assert!(NotificationMsg::decode(&Bytes::from_static(&[6])).is_err());
    }

    proptest! {
        #[test]
        fn notification_round_trips(code in any::<u8>(), subcode in any::<u8>(), data in prop::collection::vec(any::<u8>(), 0..300)) {
            let n = NotificationMsg::new(ErrorCode(code), subcode, data);
            let mut buf = BytesMut::new();
            n.encode_body(&mut buf);
            let back = NotificationMsg::decode(&buf.freeze()).unwrap();
            // Display must never panic, whatever the data.
            let _ = back.to_string();
            prop_assert_eq!(back, n);
        }

        #[test]
        fn admin_shutdown_text_round_trips(msg in "\\PC{0,100}") {
            let n = NotificationMsg::admin_shutdown(&msg);
            let want = if msg.is_empty() { None } else { Some(msg.clone()) };
            if msg.len() <= MAX_SHUTDOWN_COMMUNICATION {
                prop_assert_eq!(n.shutdown_message(), want);
            }
        }
    }
}
