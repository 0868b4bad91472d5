//! EXTENDED_COMMUNITIES (RFC 4360 §2–§5; RFC 5668 4-octet AS specific;
//! RFC 9012 §4.1 encapsulation; RFC 9135 §8.1 EVPN router's MAC;
//! RFC 7606 §7.14).
//!
//! ```text
//! +-------+-------+--------+------------------------------------------+----
//! | 0xc0  |  16   | 8 * n  | one community, 8 octets (below)          | ...
//! +-------+-------+--------+------------------------------------------+----
//!
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |I|T| Type high |  Sub-type     |  Global Administrator (2/4)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   ... Global Administrator / Local Administrator (6 in all)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!   I: IANA authority, T: 1 = non-transitive across ASes
//!
//!   type 0x00 2-octet AS:  AS (2)  + local (4)
//!   type 0x01 IPv4:        addr (4) + local (2)
//!   type 0x02 4-octet AS:  AS (4)  + local (2)
//!   sub-type 0x02 route target, 0x03 route origin
//!   0x03/0x0c encapsulation: reserved (4) + tunnel type (2)
//!   0x06/0x03 EVPN router's MAC: MAC (6)
//! ```
//!
//! Only the variants we route on are typed; every other community is kept
//! as its 8 octets and passed on unchanged. A value that matches a typed
//! layout except for non-zero reserved bits also stays raw, so decode and
//! encode are exact inverses.

use std::fmt;
use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

const TYPE_AS2: u8 = 0x00;
const TYPE_IPV4: u8 = 0x01;
const TYPE_AS4: u8 = 0x02;
const TYPE_OPAQUE: u8 = 0x03;
const TYPE_EVPN: u8 = 0x06;
const SUB_ROUTE_TARGET: u8 = 0x02;
const SUB_ROUTE_ORIGIN: u8 = 0x03;
const SUB_ENCAPSULATION: u8 = 0x0c;
const SUB_ROUTER_MAC: u8 = 0x03;
/// The T bit: "the community is non-transitive across ASes" (RFC 4360 §2).
const NON_TRANSITIVE: u8 = 0x40;

/// Global and local administrator of a route target or route origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AdminValue {
    /// 2-octet AS specific (type 0x00, RFC 4360 §3.1).
    As2 {
        /// Global administrator: a 2-octet AS.
        asn: u16,
        /// Local administrator.
        value: u32,
    },
    /// IPv4 address specific (type 0x01, RFC 4360 §3.2).
    Ipv4 {
        /// Global administrator: an IPv4 address.
        addr: Ipv4Addr,
        /// Local administrator.
        value: u16,
    },
    /// 4-octet AS specific (type 0x02, RFC 5668 §2).
    As4 {
        /// Global administrator: a 4-octet AS.
        asn: u32,
        /// Local administrator.
        value: u16,
    },
}

impl AdminValue {
    fn type_high(self) -> u8 {
        match self {
            AdminValue::As2 { .. } => TYPE_AS2,
            AdminValue::Ipv4 { .. } => TYPE_IPV4,
            AdminValue::As4 { .. } => TYPE_AS4,
        }
    }

    fn put(self, out: &mut [u8; 8]) {
        match self {
            AdminValue::As2 { asn, value } => {
                out[2..4].copy_from_slice(&asn.to_be_bytes());
                out[4..8].copy_from_slice(&value.to_be_bytes());
            }
            AdminValue::Ipv4 { addr, value } => {
                out[2..6].copy_from_slice(&addr.octets());
                out[6..8].copy_from_slice(&value.to_be_bytes());
            }
            AdminValue::As4 { asn, value } => {
                out[2..6].copy_from_slice(&asn.to_be_bytes());
                out[6..8].copy_from_slice(&value.to_be_bytes());
            }
        }
    }

    fn get(type_high: u8, b: &[u8; 8]) -> Option<Self> {
        let [_, _, a, c, d, e, f, g] = *b;
        match type_high {
            TYPE_AS2 => Some(AdminValue::As2 {
                asn: u16::from_be_bytes([a, c]),
                value: u32::from_be_bytes([d, e, f, g]),
            }),
            TYPE_IPV4 => Some(AdminValue::Ipv4 {
                addr: Ipv4Addr::new(a, c, d, e),
                value: u16::from_be_bytes([f, g]),
            }),
            TYPE_AS4 => Some(AdminValue::As4 {
                asn: u32::from_be_bytes([a, c, d, e]),
                value: u16::from_be_bytes([f, g]),
            }),
            _ => None,
        }
    }
}

impl fmt::Display for AdminValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminValue::As2 { asn, value } => write!(f, "{asn}:{value}"),
            AdminValue::Ipv4 { addr, value } => write!(f, "{addr}:{value}"),
            AdminValue::As4 { asn, value } => write!(f, "{asn}:{value}"),
        }
    }
}

/// One extended community (8 octets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ExtCommunity {
    /// Route target, transitive (sub-type 0x02, RFC 4360 §4).
    RouteTarget(AdminValue),
    /// Route origin ("site of origin"), transitive (sub-type 0x03, RFC 4360 §5).
    RouteOrigin(AdminValue),
    /// Encapsulation (type 0x03, sub-type 0x0c, RFC 9012 §4.1): the tunnel
    /// type the egress expects, e.g. 8 for VXLAN.
    Encapsulation {
        /// IANA BGP Tunnel Encapsulation Attribute Tunnel Type.
        tunnel_type: u16,
    },
    /// EVPN router's MAC (type 0x06, sub-type 0x03, RFC 9135 §8.1).
    RouterMac([u8; 6]),
    /// Any other community, kept verbatim.
    Raw([u8; 8]),
}

impl ExtCommunity {
    /// Interprets 8 wire octets.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        let (ty, sub) = (b[0], b[1]);
        match (ty, sub) {
            (TYPE_AS2 | TYPE_IPV4 | TYPE_AS4, SUB_ROUTE_TARGET) => {
                AdminValue::get(ty, &b).map_or(ExtCommunity::Raw(b), ExtCommunity::RouteTarget)
            }
            (TYPE_AS2 | TYPE_IPV4 | TYPE_AS4, SUB_ROUTE_ORIGIN) => {
                AdminValue::get(ty, &b).map_or(ExtCommunity::Raw(b), ExtCommunity::RouteOrigin)
            }
            // RFC 9012 §4.1: the 4 octets before the tunnel type are
            // reserved; non-zero ones stay raw so they travel unchanged.
            (TYPE_OPAQUE, SUB_ENCAPSULATION) if b[2..6] == [0; 4] => {
                ExtCommunity::Encapsulation { tunnel_type: u16::from_be_bytes([b[6], b[7]]) }
            }
            (TYPE_EVPN, SUB_ROUTER_MAC) => {
                ExtCommunity::RouterMac([b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            _ => ExtCommunity::Raw(b),
        }
    }

    /// The 8 wire octets.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        match self {
            ExtCommunity::RouteTarget(a) | ExtCommunity::RouteOrigin(a) => {
                out[0] = a.type_high();
                out[1] = if matches!(self, ExtCommunity::RouteTarget(_)) {
                    SUB_ROUTE_TARGET
                } else {
                    SUB_ROUTE_ORIGIN
                };
                a.put(&mut out);
            }
            ExtCommunity::Encapsulation { tunnel_type } => {
                out[0] = TYPE_OPAQUE;
                out[1] = SUB_ENCAPSULATION;
                out[6..8].copy_from_slice(&tunnel_type.to_be_bytes());
            }
            ExtCommunity::RouterMac(mac) => {
                out[0] = TYPE_EVPN;
                out[1] = SUB_ROUTER_MAC;
                out[2..8].copy_from_slice(&mac);
            }
            ExtCommunity::Raw(b) => out = b,
        }
        out
    }

    /// Whether the community may cross an AS boundary (the T bit is clear,
    /// RFC 4360 §2). Non-transitive ones are removed when advertising to an
    /// external peer (RFC 4360 §6), which export does.
    pub fn is_transitive(self) -> bool {
        self.to_bytes()[0] & NON_TRANSITIVE == 0
    }
}

impl fmt::Display for ExtCommunity {
    /// FRR's text: `RT:65000:1`, `SoO:10.0.0.1:7`, `ET:8`,
    /// `Rmac:02:00:00:00:00:01`; anything else as `0x` and 16 hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtCommunity::RouteTarget(a) => write!(f, "RT:{a}"),
            ExtCommunity::RouteOrigin(a) => write!(f, "SoO:{a}"),
            ExtCommunity::Encapsulation { tunnel_type } => write!(f, "ET:{tunnel_type}"),
            ExtCommunity::RouterMac(m) => write!(
                f,
                "Rmac:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            ExtCommunity::Raw(b) => write!(f, "0x{:016x}", u64::from_be_bytes(*b)),
        }
    }
}

/// Decodes an EXTENDED_COMMUNITIES value. Order and duplicates are kept.
///
/// RFC 7606 §7.14: "The error handling of RFC 4360 is revised as follows:
/// The Extended Communities attribute SHALL be considered malformed if its
/// length is not a non-zero multiple of 8 ... SHALL be handled using the
/// approach of "treat-as-withdraw"."
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Vec<ExtCommunity>, AttrDefect> {
    if value.is_empty() || value.len() % 8 != 0 {
        return Err(AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!(
                "EXTENDED_COMMUNITIES length {} (expected a non-zero multiple of 8)",
                value.len()
            ),
        ));
    }
    Ok(value
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            ExtCommunity::from_bytes(b)
        })
        .collect())
}

/// Encodes the whole EXTENDED_COMMUNITIES TLV; writes nothing for an empty
/// list (an empty attribute would be malformed on receipt) or one too long
/// to frame.
pub fn encode(v: &[ExtCommunity], _ctx: &EncodeCtx, buf: &mut BytesMut) {
    let len = v.len() * 8;
    if v.is_empty() || len > usize::from(u16::MAX) {
        return;
    }
    put_attr(buf, FLAGS, AttrType::EXTENDED_COMMUNITIES, len, |b| {
        for c in v {
            b.put_slice(&c.to_bytes());
        }
    });
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn ext_communities_golden_vector_decodes_and_encodes() {
        // RT:65000:1, RT:10.0.0.1:7, RT:4200000001:9, SoO:65000:2, ET:8 (VXLAN),
        // Rmac:02:42:ac:11:00:02, and an unknown non-transitive opaque one.
        let bytes = hex("c0 10 38
             0002 fde8 00000001
             0102 0a000001 0007
             0202 fa56ea01 0009
             0003 fde8 00000002
             030c 00000000 0008
             0603 0242ac110002
             4304 010203040506");
        let list = vec![
            ExtCommunity::RouteTarget(AdminValue::As2 { asn: 65000, value: 1 }),
            ExtCommunity::RouteTarget(AdminValue::Ipv4 {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                value: 7,
            }),
            ExtCommunity::RouteTarget(AdminValue::As4 { asn: 4_200_000_001, value: 9 }),
            ExtCommunity::RouteOrigin(AdminValue::As2 { asn: 65000, value: 2 }),
            ExtCommunity::Encapsulation { tunnel_type: 8 },
            ExtCommunity::RouterMac([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]),
            ExtCommunity::Raw([0x43, 0x04, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]),
        ];
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(list.clone()));
        assert_eq!(encoded(|b| encode(&list, &ibgp(), b)), bytes);
    }

    #[test]
    fn ext_communities_display_like_frr() {
        let shown: Vec<String> = [
            ExtCommunity::RouteTarget(AdminValue::As2 { asn: 65000, value: 1 }),
            ExtCommunity::RouteTarget(AdminValue::Ipv4 {
                addr: Ipv4Addr::new(10, 0, 0, 1),
                value: 7,
            }),
            ExtCommunity::RouteOrigin(AdminValue::As4 { asn: 4_200_000_001, value: 9 }),
            ExtCommunity::Encapsulation { tunnel_type: 8 },
            ExtCommunity::RouterMac([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]),
            ExtCommunity::Raw([0x43, 0x04, 0, 0, 0, 0, 0, 1]),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            shown,
            [
                "RT:65000:1",
                "RT:10.0.0.1:7",
                "SoO:4200000001:9",
                "ET:8",
                "Rmac:02:42:ac:11:00:02",
                "0x4304000000000001"
            ]
        );
    }

    #[test]
    fn ext_communities_bad_length_treated_as_withdraw() {
        for len in [0, 7, 9, 15] {
            let e = decode(&vec![0; len], &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw, "{len}");
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn encapsulation_with_reserved_bits_stays_raw() {
        let b = [0x03, 0x0c, 0, 0, 0, 1, 0, 8];
        assert_eq!(ExtCommunity::from_bytes(b), ExtCommunity::Raw(b));
    }

    #[test]
    fn non_transitive_route_target_stays_raw_and_is_not_transitive() {
        let b = [0x40, 0x02, 0xfd, 0xe8, 0, 0, 0, 1];
        let c = ExtCommunity::from_bytes(b);
        assert_eq!(c, ExtCommunity::Raw(b));
        assert!(!c.is_transitive());
        assert!(ExtCommunity::Encapsulation { tunnel_type: 8 }.is_transitive());
    }

    #[test]
    fn empty_ext_community_list_is_not_encoded() {
        assert!(encoded(|b| encode(&[], &ibgp(), b)).is_empty());
    }

    proptest! {
        #[test]
        fn ext_communities_round_trip(raw in prop::collection::vec(any::<[u8; 8]>(), 1..100)) {
            // Typed values come from interpreting raw octets, so every
            // variant a peer can send is covered.
            let list: Vec<ExtCommunity> = raw.iter().copied().map(ExtCommunity::from_bytes).collect();
            for (c, r) in list.iter().zip(&raw) {
                prop_assert_eq!(&c.to_bytes(), r);
            }
            let out = encoded(|b| encode(&list, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(list));
        }

        #[test]
        fn typed_route_targets_round_trip(asn in any::<u32>(), value in any::<u16>(), a2 in any::<u16>(), v4 in any::<u32>()) {
            for c in [
                ExtCommunity::RouteTarget(AdminValue::As4 { asn, value }),
                ExtCommunity::RouteOrigin(AdminValue::As2 { asn: a2, value: v4 }),
                ExtCommunity::RouteTarget(AdminValue::Ipv4 { addr: Ipv4Addr::from(asn), value }),
            ] {
                prop_assert_eq!(ExtCommunity::from_bytes(c.to_bytes()), c);
            }
        }
    }
}
