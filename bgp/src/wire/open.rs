//! OPEN message (RFC 4271 §4.2) with capabilities as optional parameters
//! (RFC 5492 §4), the extended optional parameters length of RFC 9072 §2, the
//! OPEN checks of RFC 4271 §6.2, RFC 6286 §2.2 (BGP Identifier) and RFC 7607
//! (AS 0), and the AS_TRANS rules of RFC 6793 §4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |  Optional Parameters (variable): { Type(1) Len(1) Value }*
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! RFC 9072 form, used when the parameters exceed 255 octets:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Non-Ext OP Len.|Non-Ext OP Type|  Extended Opt. Parm. Length   |
//! |     (255)     |     (255)     |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Optional Parameters (variable): { Type(1) Len(2) Value }*    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Decoding keeps every optional parameter (capabilities decoded, others
//! raw); [`OpenMsg::validate`] then decides what the session accepts, so a
//! decoded OPEN can always be logged before it is refused.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::number::complete::{be_u8, be_u16, be_u32};

use serde::{Deserialize, Serialize};

use super::capability::{Capability, GracefulRestart, LlgrFamily, decode_capabilities};
use super::error::{DecodeError, EncodeError};
use super::iana::{AS_TRANS, AfiSafi, CapabilityCode, OpenSubcode};
use super::notification::NotificationMsg;

/// The only BGP version we speak.
pub const BGP_VERSION: u8 = 4;
/// Optional parameter type of Capabilities (RFC 5492 §4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Non-Ext OP Type value announcing the RFC 9072 encoding.
const EXTENDED_PARAMS: u8 = 255;

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenMsg {
    /// Protocol version; 4.
    pub version: u8,
    /// The sender's AS, or AS_TRANS (23456) when it does not fit 2 octets.
    pub my_as: u16,
    /// Proposed hold time in seconds: 0, or at least 3.
    pub hold_time: u16,
    /// The sender's BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order advertised, from every Capabilities parameter.
    pub capabilities: Vec<Capability>,
    /// Optional parameters other than Capabilities, as (type, value).
    pub other_params: Vec<(u8, Bytes)>,
}

/// nom with the unit error: a failure anywhere in the fixed part or the
/// parameter framing has one meaning, mapped by [`malformed`].
type PResult<'a, O> = nom::IResult<&'a [u8], O, ()>;

fn malformed(why: &'static str) -> DecodeError {
    DecodeError::new(NotificationMsg::open(OpenSubcode::UNSPECIFIC, Bytes::new()), why)
}

fn open_error(subcode: OpenSubcode, data: Vec<u8>, why: &'static str) -> DecodeError {
    DecodeError::new(NotificationMsg::open(subcode, data), why)
}

fn unsupported_version() -> DecodeError {
    // "The Data field is a 2-octet unsigned integer, which indicates the
    // largest, locally-supported version number less than the version the
    // remote BGP peer bid ..., or if the smallest, locally-supported version
    // number is greater than the version the remote BGP peer bid, then the
    // smallest, locally-supported version number." (RFC 4271 §6.2) We
    // support only 4, which is both answers.
    open_error(
        OpenSubcode::UNSUPPORTED_VERSION_NUMBER,
        u16::from(BGP_VERSION).to_be_bytes().to_vec(),
        "unsupported BGP version",
    )
}

/// Splits the parameters area into (type, value) pairs, with one- or
/// two-octet parameter lengths.
fn split_params<'a>(
    mut area: &'a [u8],
    extended: bool,
) -> Result<Vec<(u8, &'a [u8])>, DecodeError> {
    let mut out = Vec::new();
    while !area.is_empty() {
        let r: PResult<'a, (u8, &'a [u8])> = if extended {
            (be_u8, nom::multi::length_data(be_u16)).parse(area)
        } else {
            (be_u8, nom::multi::length_data(be_u8)).parse(area)
        };
        let Ok((rest, param)) = r else {
            return Err(malformed("optional parameter overruns the parameters length"));
        };
        out.push(param);
        area = rest;
    }
    Ok(out)
}

impl OpenMsg {
    /// An OPEN for `asn`, putting AS_TRANS in My AS when `asn` needs four
    /// octets, and adding the 4-octet AS capability if `caps` lacks it: "A
    /// BGP speaker that supports four-octet Autonomous System numbers SHALL
    /// advertise this to its peers using BGP Capabilities Advertisement"
    /// (RFC 6793 §3).
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, mut caps: Vec<Capability>) -> Self {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        if !caps.iter().any(|c| matches!(c, Capability::FourOctetAs(_))) {
            caps.push(Capability::FourOctetAs(asn));
        }
        OpenMsg {
            version: BGP_VERSION,
            my_as,
            hold_time,
            bgp_id,
            capabilities: caps,
            other_params: Vec::new(),
        }
    }

    /// The sender's real AS: the 4-octet AS capability wins over My AS
    /// (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// The value of the 4-octet AS capability, if advertised.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// Whether a capability with `code` was advertised.
    pub fn has_capability(&self, code: CapabilityCode) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    /// The families of the Multiprotocol capabilities, in order, deduplicated.
    pub fn multiprotocol(&self) -> Vec<AfiSafi> {
        let mut out = Vec::new();
        for c in &self.capabilities {
            if let Capability::Multiprotocol(f) = c {
                if !out.contains(f) {
                    out.push(*f);
                }
            }
        }
        out
    }

    /// The Graceful Restart capability: "If more than one instance of the
    /// Graceful Restart Capability is carried in the capabilities
    /// advertisement, the receiver of the advertisement MUST ignore all but
    /// the last instance" (RFC 4724 §3).
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities.iter().rev().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// The Long-Lived Graceful Restart families (last instance, as for GR).
    pub fn llgr(&self) -> Option<&[LlgrFamily]> {
        self.capabilities.iter().rev().find_map(|c| match c {
            Capability::LongLivedGracefulRestart(f) => Some(f.as_slice()),
            _ => None,
        })
    }

    /// Decodes an OPEN body (the octets after the 19-octet header).
    pub fn decode(body: &Bytes) -> Result<OpenMsg, DecodeError> {
        // The version is checked before anything else: another version may
        // lay out the rest differently, and the peer needs Unsupported Version
        // Number (not a parse error) to fall back.
        match body.first() {
            Some(&BGP_VERSION) => {}
            Some(_) => return Err(unsupported_version()),
            None => return Err(malformed("empty OPEN")),
        }
        let fixed: PResult<'_, (u8, u16, u16, u32, u8)> =
            (be_u8, be_u16, be_u16, be_u32, be_u8).parse(&body[..]);
        let Ok((rest, (version, my_as, hold_time, bgp_id, opt_len))) = fixed else {
            return Err(malformed("OPEN shorter than its fixed fields"));
        };
        // RFC 9072 §2: "if the one-octet "Optional Parameters Length" field
        // ... is non-zero, a BGP speaker MUST use the value of the octet
        // following [it] ... to determine both the encoding of the Optional
        // Parameters length and the size of the "Optional Parameters Length"
        // field."
        let extended = opt_len != 0 && rest.first() == Some(&EXTENDED_PARAMS);
        let area = if extended {
            let r: PResult<'_, &[u8]> =
                nom::sequence::preceded(be_u8, nom::multi::length_data(be_u16)).parse(rest);
            match r {
                Ok(([], area)) => area,
                Ok(_) => return Err(malformed("octets after the optional parameters")),
                Err(_) => return Err(malformed("extended parameters length overruns OPEN")),
            }
        } else {
            match rest.get(..usize::from(opt_len)) {
                Some(area) if area.len() == rest.len() => area,
                Some(_) => return Err(malformed("octets after the optional parameters")),
                None => return Err(malformed("parameters length overruns OPEN")),
            }
        };
        let mut capabilities = Vec::new();
        let mut other_params = Vec::new();
        for (ty, value) in split_params(area, extended)? {
            let value = body.slice_ref(value);
            if ty == PARAM_CAPABILITIES {
                capabilities.extend(decode_capabilities(&value)?);
            } else {
                other_params.push((ty, value));
            }
        }
        Ok(OpenMsg {
            version,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(bgp_id),
            capabilities,
            other_params,
        })
    }

    /// Encodes the OPEN body (without the header). All capabilities go in one
    /// Capabilities parameter; the RFC 9072 encoding is used only when the
    /// parameters do not fit the one-octet length, since peers that predate
    /// RFC 9072 would read its 255/255 prefix as a malformed parameter.
    pub fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let mut caps = BytesMut::new();
        for c in &self.capabilities {
            c.encode(&mut caps)?;
        }
        let mut params: Vec<(u8, &[u8])> = Vec::with_capacity(1 + self.other_params.len());
        if !caps.is_empty() {
            params.push((PARAM_CAPABILITIES, &caps));
        }
        params.extend(self.other_params.iter().map(|(t, v)| (*t, &v[..])));

        let short_len: usize = params.iter().map(|(_, v)| 2 + v.len()).sum();
        // A first parameter of type 255 cannot lead the short form: the
        // receiver would take it for the RFC 9072 marker (§2 reserves 255
        // as the Non-Ext OP Type) and read the rest as an extended length.
        let fits_short = short_len <= 255
            && params.iter().all(|(_, v)| v.len() <= 255)
            && params.first().is_none_or(|(t, _)| *t != EXTENDED_PARAMS);

        buf.put_u8(self.version);
        buf.put_u16(self.my_as);
        buf.put_u16(self.hold_time);
        buf.put_u32(u32::from(self.bgp_id));
        if fits_short {
            buf.put_u8(short_len as u8);
            for (t, v) in params {
                buf.put_u8(t);
                buf.put_u8(v.len() as u8);
                buf.put_slice(v);
            }
        } else {
            let long_len: usize = params.iter().map(|(_, v)| 3 + v.len()).sum();
            let long_len = u16::try_from(long_len)
                .map_err(|_| EncodeError::Invalid("OPEN optional parameters over 65535".into()))?;
            // RFC 9072 §2: Non-Ext OP Len and Non-Ext OP Type both 255.
            buf.put_u8(255);
            buf.put_u8(EXTENDED_PARAMS);
            buf.put_u16(long_len);
            for (t, v) in params {
                buf.put_u8(t);
                // Bounded by long_len, checked above.
                buf.put_u16(v.len() as u16);
                buf.put_slice(v);
            }
        }
        Ok(())
    }

    /// The checks of RFC 4271 §6.2 that need no local configuration.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.version != BGP_VERSION {
            return Err(unsupported_version());
        }
        // "An implementation MUST reject Hold Time values of one or two
        // seconds." (RFC 4271 §6.2)
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(open_error(
                OpenSubcode::UNACCEPTABLE_HOLD_TIME,
                Vec::new(),
                "hold time of 1 or 2 seconds",
            ));
        }
        // RFC 6286 §2.1 makes the identifier "a 4-octet, unsigned, non-zero
        // integer", so multicast-looking values are legal; only zero is not.
        if self.bgp_id.is_unspecified() {
            return Err(open_error(
                OpenSubcode::BAD_BGP_IDENTIFIER,
                Vec::new(),
                "BGP Identifier is zero",
            ));
        }
        // RFC 7607 §2: zero as the peer AS in an OPEN (My AS or the 4-octet
        // AS capability) aborts the connection with Bad Peer AS.
        if self.my_as == 0 || self.asn() == 0 {
            return Err(open_error(OpenSubcode::BAD_PEER_AS, Vec::new(), "peer AS is zero"));
        }
        // "If one of the Optional Parameters in the OPEN message is not
        // recognized, then the Error Subcode MUST be set to Unsupported
        // Optional Parameters." (RFC 4271 §6.2)
        if !self.other_params.is_empty() {
            return Err(open_error(
                OpenSubcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                Vec::new(),
                "unsupported optional parameter",
            ));
        }
        Ok(())
    }

    /// "If the Autonomous System field of the OPEN message is unacceptable,
    /// then the Error Subcode MUST be set to Bad Peer AS." (RFC 4271 §6.2)
    /// Compares the peer's real AS ([`Self::asn`]) with the configured one.
    pub fn check_peer_as(&self, expected: u32) -> Result<(), DecodeError> {
        if self.asn() == expected {
            Ok(())
        } else {
            Err(DecodeError::new(
                NotificationMsg::open(OpenSubcode::BAD_PEER_AS, Bytes::new()),
                format!("peer AS {} is not the configured {expected}", self.asn()),
            ))
        }
    }

    /// "If the BGP Identifier field of the OPEN message is zero, or if it is
    /// the same as the BGP Identifier of the local BGP speaker and the message
    /// is from an internal peer, then the Error Subcode is set to "Bad BGP
    /// Identifier"." (RFC 6286 §2.2)
    pub fn check_bgp_id(&self, local: Ipv4Addr, internal: bool) -> Result<(), DecodeError> {
        if self.bgp_id.is_unspecified() || (internal && self.bgp_id == local) {
            Err(open_error(
                OpenSubcode::BAD_BGP_IDENTIFIER,
                Vec::new(),
                "BGP Identifier is zero or ours",
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::capability::tests::arb_capability;
    use crate::wire::capability::{AddPathMode, Fqdn};
    use crate::wire::iana::ErrorCode;

    fn body(h: &str) -> Bytes {
        Bytes::from(hex::decode(h.replace(' ', "")).unwrap())
    }

    fn encode(open: &OpenMsg) -> Bytes {
        let mut buf = BytesMut::new();
        open.encode_body(&mut buf).unwrap();
        buf.freeze()
    }

    /// An FRR 8.4-style OPEN body (hand-made), one capability per optional
    /// parameter as FRR sends them: AS 65001, hold 180, id 10.0.0.1.
    const FRR_OPEN: &str = "04 fde9 00b4 0a000001 41 \
        02 06 01 04 0001 00 01 \
        02 06 01 04 0002 00 01 \
        02 02 80 00 \
        02 02 02 00 \
        02 02 46 00 \
        02 06 41 04 0000fde9 \
        02 06 45 04 0001 01 01 \
        02 09 49 07 05 6e6f646531 00 \
        02 04 40 02 4078 \
        02 02 47 00";

    #[test]
    fn frr_open_decodes() {
        let open = OpenMsg::decode(&body(FRR_OPEN)).unwrap();
        assert_eq!(open.version, 4);
        assert_eq!(open.my_as, 65001);
        assert_eq!(open.asn(), 65001);
        assert_eq!(open.hold_time, 180);
        assert_eq!(open.bgp_id, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(open.capabilities.len(), 10);
        assert_eq!(open.multiprotocol(), vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]);
        assert_eq!(open.graceful_restart().map(|g| g.restart_time), Some(120));
        assert_eq!(open.llgr(), Some(&[][..]));
        assert!(
            open.capabilities.contains(&Capability::AddPath(vec![(
                AfiSafi::IPV4_UNICAST,
                AddPathMode::Receive
            )]))
        );
        assert!(
            open.capabilities.contains(&Capability::Fqdn(Fqdn {
                hostname: "node1".into(),
                domain: String::new()
            }))
        );
        assert!(open.validate().is_ok());
        // We re-encode in one Capabilities parameter, which decodes the same.
        let ours = encode(&open);
        assert_eq!(ours.len(), 10 + 2 + 45);
        assert_eq!(OpenMsg::decode(&ours).unwrap(), open);
    }

    #[test]
    fn minimal_open_round_trips_byte_exact() {
        let h = "04 fde9 005a c0000201 08 02 06 41 04 0000fde9";
        let open = OpenMsg::decode(&body(h)).unwrap();
        assert_eq!(open, OpenMsg::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]));
        assert_eq!(hex::encode(encode(&open)), h.replace(' ', ""));
    }

    #[test]
    fn four_octet_asn_puts_as_trans_in_my_as() {
        let open = OpenMsg::new(4_200_000_000, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        assert_eq!(open.my_as, AS_TRANS);
        assert_eq!(open.asn(), 4_200_000_000);
        assert_eq!(open.capabilities, vec![Capability::FourOctetAs(4_200_000_000)]);
    }

    #[test]
    fn open_without_parameters_decodes() {
        let open = OpenMsg::decode(&body("04 0001 0000 01020304 00")).unwrap();
        assert!(open.capabilities.is_empty() && open.other_params.is_empty());
        assert_eq!(open.asn(), 1);
    }

    #[test]
    fn rfc9072_extended_parameters_decode() {
        let h = "04 fde9 00b4 0a000001 ff ff 000b 02 0008 41 04 0000fde9 02 00";
        let open = OpenMsg::decode(&body(h)).unwrap();
        assert_eq!(
            open.capabilities,
            vec![Capability::FourOctetAs(65001), Capability::RouteRefresh]
        );
    }

    #[test]
    fn long_parameters_use_the_rfc9072_encoding() {
        let caps = (0..60u16)
            .map(|i| {
                Capability::Multiprotocol(AfiSafi::new(crate::wire::Afi(i), crate::wire::Safi(1)))
            })
            .collect();
        let open = OpenMsg::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
        let b = encode(&open);
        assert_eq!(&b[9..11], &[255, 255]);
        assert_eq!(OpenMsg::decode(&b).unwrap(), open);
    }

    #[test]
    fn a_leading_parameter_of_type_255_is_sent_in_the_rfc9072_form() {
        // Found by the `message` fuzz target: an extended-form OPEN whose only
        // parameter has type 255 re-encoded in the short form, which then read
        // back as an RFC 9072 marker with a length overrunning the message.
        let h = "04 fde9 00b4 0a000001 ff ff 0004 ff 0001 aa";
        let open = OpenMsg::decode(&body(h)).unwrap();
        assert_eq!(open.other_params, vec![(255, Bytes::from_static(&[0xaa]))]);
        let b = encode(&open);
        assert_eq!(&b[9..11], &[255, 255]);
        assert_eq!(OpenMsg::decode(&b).unwrap(), open);
    }

    #[test]
    fn other_optional_parameters_are_kept_and_refused_by_validate() {
        let open = OpenMsg::decode(&body("04 0001 00b4 01020304 04 01 02 abcd")).unwrap();
        assert_eq!(open.other_params, vec![(1, Bytes::from_static(&[0xab, 0xcd]))]);
        let e = open.validate().unwrap_err();
        assert_eq!(e.notification.subcode, OpenSubcode::UNSUPPORTED_OPTIONAL_PARAMETER.0);
        assert_eq!(hex::encode(encode(&open)), "04000100b4010203040401 02abcd".replace(' ', ""));
    }

    #[test]
    fn version_3_is_unsupported_version_with_4_as_data() {
        let e = OpenMsg::decode(&body("03 0001 00b4 01020304 00")).unwrap_err();
        assert_eq!(e.notification.code, ErrorCode::OPEN_MESSAGE);
        assert_eq!(e.notification.subcode, OpenSubcode::UNSUPPORTED_VERSION_NUMBER.0);
        assert_eq!(&e.notification.data[..], &[0, 4]);
    }

    #[test]
    fn hold_time_of_one_or_two_is_unacceptable() {
        for hold in [1, 2] {
            let open = OpenMsg::new(65001, hold, Ipv4Addr::new(192, 0, 2, 1), vec![]);
            assert_eq!(open.validate().unwrap_err().notification.subcode, 6);
        }
        for hold in [0, 3, 65535] {
            assert!(
                OpenMsg::new(65001, hold, Ipv4Addr::new(192, 0, 2, 1), vec![]).validate().is_ok()
            );
        }
    }

    #[test]
    fn zero_bgp_identifier_is_bad_bgp_identifier() {
        let open = OpenMsg::new(65001, 90, Ipv4Addr::UNSPECIFIED, vec![]);
        assert_eq!(open.validate().unwrap_err().notification.subcode, 3);
        // RFC 6286: any non-zero value, even one that looks multicast.
        assert!(OpenMsg::new(65001, 90, Ipv4Addr::new(224, 0, 0, 1), vec![]).validate().is_ok());
    }

    #[test]
    fn internal_peer_with_our_identifier_is_bad_bgp_identifier() {
        let id = Ipv4Addr::new(192, 0, 2, 1);
        let open = OpenMsg::new(65001, 90, id, vec![]);
        assert_eq!(open.check_bgp_id(id, true).unwrap_err().notification.subcode, 3);
        assert!(open.check_bgp_id(id, false).is_ok());
        assert!(open.check_bgp_id(Ipv4Addr::new(192, 0, 2, 2), true).is_ok());
    }

    #[test]
    fn as_zero_is_bad_peer_as() {
        let open = OpenMsg::new(0, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        assert_eq!(open.validate().unwrap_err().notification.subcode, 2);
        let mut open = OpenMsg::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        open.capabilities = vec![Capability::FourOctetAs(0)];
        assert_eq!(open.validate().unwrap_err().notification.subcode, 2);
    }

    #[test]
    fn peer_as_mismatch_is_bad_peer_as() {
        let open = OpenMsg::new(4_200_000_000, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        assert!(open.check_peer_as(4_200_000_000).is_ok());
        assert_eq!(open.check_peer_as(u32::from(AS_TRANS)).unwrap_err().notification.subcode, 2);
    }

    #[test]
    fn truncated_or_overlong_parameters_are_open_error_unspecific() {
        for h in [
            "04 0001 00b4 0102",
            "04 0001 00b4 01020304 05 02 02 0200",
            "04 0001 00b4 01020304 02 02 02 0200",
            "04 0001 00b4 01020304 04 02 02 0200 00",
            "04 0001 00b4 01020304 ff ff 0010 02 0002 0200",
        ] {
            let e = OpenMsg::decode(&body(h)).unwrap_err();
            assert_eq!(
                (e.notification.code, e.notification.subcode),
                (ErrorCode::OPEN_MESSAGE, 0),
                "{h}"
            );
        }
    }

    fn arb_open() -> impl Strategy<Value = OpenMsg> {
        (
            any::<u32>(),
            any::<u16>(),
            any::<u32>(),
            prop::collection::vec(arb_capability(), 0..70),
            prop::collection::vec((3u8..255, prop::collection::vec(any::<u8>(), 0..8)), 0..2),
        )
            .prop_map(|(asn, hold, id, caps, other)| {
                let mut o = OpenMsg::new(asn, hold, Ipv4Addr::from(id), caps);
                o.other_params = other.into_iter().map(|(t, v)| (t, Bytes::from(v))).collect();
                o
            })
    }

    proptest! {
        #[test]
        fn open_round_trips(open in arb_open()) {
            let b = encode(&open);
            prop_assert_eq!(OpenMsg::decode(&b).unwrap(), open);
        }

        #[test]
        fn arbitrary_open_bodies_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            if let Some(v) = bytes.first_mut() { *v = 4; }
            let _ = OpenMsg::decode(&Bytes::from(bytes));
        }
    }
}
