//! AGGREGATOR and AS4_AGGREGATOR (RFC 4271 §5.1.7; RFC 6793 §3, §4.2.3, §6;
//! RFC 7606 §7.7; RFC 7607).
//!
//! ```text
//! AGGREGATOR between NEW speakers, and AS4_AGGREGATOR (type 18), 8 octets:
//! +-------+-------+-------+---------------------------+---------------------------+
//! | 0xc0  | 7/18  |   8   |  AS number (4 octets)     |  IPv4 address (4 octets)  |
//! +-------+-------+-------+---------------------------+---------------------------+
//! AGGREGATOR with an OLD (2-octet) speaker, 6 octets:
//! +-------+-------+-------+-------------+---------------------------+
//! | 0xc0  |   7   |   6   |  AS (2)     |  IPv4 address (4 octets)  |
//! +-------+-------+-------+-------------+---------------------------+
//! ```

use std::fmt;
use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AS_TRANS, AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send for AGGREGATOR and AS4_AGGREGATOR: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// AGGREGATOR or AS4_AGGREGATOR: the AS and router that aggregated the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Aggregator {
    /// Aggregating AS, held as 4 octets.
    pub asn: u32,
    /// BGP identifier (IPv4 address) of the aggregating speaker.
    pub address: Ipv4Addr,
}

impl Aggregator {
    /// Whether the AS does not fit 2 octets, so that a 2-octet peer gets
    /// AS_TRANS in AGGREGATOR and the real AS in AS4_AGGREGATOR (RFC 6793 §4.2.2).
    pub fn needs_as4(&self) -> bool {
        self.asn > u32::from(u16::MAX)
    }
}

impl fmt::Display for Aggregator {
    /// `64512 10.0.0.1`, as FRR's `show bgp` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.asn, self.address)
    }
}

/// Decodes an AGGREGATOR value: 8 octets with a NEW peer, 6 with an OLD one.
///
/// RFC 7606 §7.7: "The error handling of RFC 4271 is revised as follows:
/// The attribute is considered malformed if its length is not 6 (when the
/// 4-octet AS number capability is not advertised to, or not received from,
/// the peer) or 8 (otherwise). An UPDATE message with a malformed AGGREGATOR
/// attribute SHALL be handled using the approach of "attribute discard"."
/// RFC 7607 §2: AS 0 in AGGREGATOR is malformed too.
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<Aggregator, AttrDefect> {
    let agg = match (ctx.four_octet_as, value) {
        (true, &[a, b, c, d, e, f, g, h]) => {
            Aggregator { asn: u32::from_be_bytes([a, b, c, d]), address: Ipv4Addr::new(e, f, g, h) }
        }
        (false, &[a, b, e, f, g, h]) => Aggregator {
            asn: u32::from(u16::from_be_bytes([a, b])),
            address: Ipv4Addr::new(e, f, g, h),
        },
        _ => {
            let want = if ctx.four_octet_as { 8 } else { 6 };
            return Err(AttrDefect::discard(
                UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
                format!("AGGREGATOR length {} (expected {want})", value.len()),
            ));
        }
    };
    check_asn(agg, "AGGREGATOR")
}

/// Decodes an AS4_AGGREGATOR value (always 8 octets).
///
/// RFC 6793 §6: "the "attribute discard" approach is chosen to handle a
/// malformed AS4_AGGREGATOR attribute"; RFC 7607 §2 adds AS 0.
/// Whether it may be used at all (only from an OLD speaker, and only when
/// AGGREGATOR carries AS_TRANS) is decided by [`reconcile`].
pub fn decode_as4(value: &[u8]) -> Result<Aggregator, AttrDefect> {
    let &[a, b, c, d, e, f, g, h] = value else {
        return Err(AttrDefect::discard(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("AS4_AGGREGATOR length {} (expected 8)", value.len()),
        ));
    };
    let agg =
        Aggregator { asn: u32::from_be_bytes([a, b, c, d]), address: Ipv4Addr::new(e, f, g, h) };
    check_asn(agg, "AS4_AGGREGATOR")
}

/// Encodes the whole AGGREGATOR TLV. Towards an OLD speaker an AS that
/// does not fit 2 octets is sent as AS_TRANS (RFC 6793 §4.2.2); the caller
/// then also sends [`encode_as4`].
pub fn encode(v: &Aggregator, ctx: &EncodeCtx, buf: &mut BytesMut) {
    if ctx.four_octet_as {
        put_attr(buf, FLAGS, AttrType::AGGREGATOR, 8, |b| {
            b.put_u32(v.asn);
            b.put_slice(&v.address.octets());
        });
    } else {
        let asn = u16::try_from(v.asn).unwrap_or(AS_TRANS);
        put_attr(buf, FLAGS, AttrType::AGGREGATOR, 6, |b| {
            b.put_u16(asn);
            b.put_slice(&v.address.octets());
        });
    }
}

/// Encodes the whole AS4_AGGREGATOR TLV (only ever sent to an OLD speaker).
pub fn encode_as4(v: &Aggregator, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::AS4_AGGREGATOR, 8, |b| {
        b.put_u32(v.asn);
        b.put_slice(&v.address.octets());
    });
}

/// Combines AGGREGATOR and AS4_AGGREGATOR received from an OLD speaker
/// (RFC 6793 §4.2.3). Returns the aggregator to keep and whether AS4_PATH
/// may be merged.
///
/// "If the AGGREGATOR attribute ... carries an AS number other than
/// AS_TRANS, then ... the AS4_AGGREGATOR attribute and the AS4_PATH
/// attribute SHALL be ignored"; when it carries AS_TRANS, "the AS4_AGGREGATOR
/// attribute ... (is) used" in its place.
pub fn reconcile(
    aggregator: Option<Aggregator>,
    as4: Option<Aggregator>,
) -> (Option<Aggregator>, bool) {
    match (aggregator, as4) {
        (Some(agg), _) if agg.asn != u32::from(AS_TRANS) => (Some(agg), false),
        (Some(_), Some(real)) => (Some(real), true),
        (agg, _) => (agg, true),
    }
}

fn check_asn(agg: Aggregator, name: &str) -> Result<Aggregator, AttrDefect> {
    if agg.asn == 0 {
        // RFC 7607 §2: "An UPDATE message that contains the AS number of zero
        // in the ... AGGREGATOR attribute MUST be considered as malformed and
        // be handled by the procedures specified in [RFC7606]" (discard);
        // for AS4_AGGREGATOR RFC 6793 §6 says the same.
        return Err(AttrDefect::discard(
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            format!("{name} carries AS 0"),
        ));
    }
    Ok(agg)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    fn agg(asn: u32, a: [u8; 4]) -> Aggregator {
        Aggregator { asn, address: Ipv4Addr::from(a) }
    }

    #[test]
    fn four_octet_aggregator_golden_vector_decodes_and_encodes() {
        // AS 4200000001 (private 4-octet), aggregated by 10.0.0.1.
        let bytes = hex("c0 07 08 fa56ea01 0a000001");
        let a = agg(4_200_000_001, [10, 0, 0, 1]);
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(a));
        assert_eq!(encoded(|b| encode(&a, &ibgp(), b)), bytes);
    }

    #[test]
    fn two_octet_aggregator_golden_vector_decodes_and_encodes() {
        let bytes = hex("c0 07 06 fde8 c0a80001");
        let a = agg(65000, [192, 168, 0, 1]);
        assert_eq!(decode(split_tlv(&bytes).2, &two_octet()), Ok(a));
        assert_eq!(encoded(|b| encode(&a, &two_octet(), b)), bytes);
    }

    #[test]
    fn large_aggregator_as_is_sent_as_as_trans_to_two_octet_peer() {
        let a = agg(4_200_000_001, [10, 0, 0, 1]);
        assert!(a.needs_as4());
        assert_eq!(encoded(|b| encode(&a, &two_octet(), b)), hex("c0 07 06 5ba0 0a000001"));
        assert_eq!(encoded(|b| encode_as4(&a, b)), hex("c0 12 08 fa56ea01 0a000001"));
    }

    #[test]
    fn aggregator_wrong_length_for_session_discarded() {
        // An 8-octet AGGREGATOR from an OLD peer and a 6-octet one from a NEW peer.
        for (v, ctx) in [(vec![0; 8], two_octet()), (vec![0; 6], ibgp()), (vec![], ibgp())] {
            let e = decode(&v, &ctx).unwrap_err();
            assert_eq!(e.treatment, Treatment::AttributeDiscard);
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn aggregator_with_as_zero_discarded() {
        let e = decode(&hex("00000000 0a000001"), &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::AttributeDiscard);
        let e = decode(&hex("0000 0a000001"), &two_octet()).unwrap_err();
        assert_eq!(e.treatment, Treatment::AttributeDiscard);
    }

    #[test]
    fn malformed_as4_aggregator_discarded() {
        for v in [hex("0000fde8 0a0000"), hex("00000000 0a000001")] {
            assert_eq!(decode_as4(&v).unwrap_err().treatment, Treatment::AttributeDiscard);
        }
        assert_eq!(decode_as4(&hex("fa56ea01 0a000001")), Ok(agg(4_200_000_001, [10, 0, 0, 1])));
    }

    #[test]
    fn as4_aggregator_ignored_unless_aggregator_is_as_trans() {
        let old = agg(65000, [10, 0, 0, 1]);
        let trans = agg(u32::from(AS_TRANS), [10, 0, 0, 1]);
        let real = agg(4_200_000_001, [10, 0, 0, 1]);
        assert_eq!(reconcile(Some(old), Some(real)), (Some(old), false));
        assert_eq!(reconcile(Some(trans), Some(real)), (Some(real), true));
        assert_eq!(reconcile(Some(trans), None), (Some(trans), true));
        assert_eq!(reconcile(None, Some(real)), (None, true));
    }

    proptest! {
        #[test]
        fn aggregator_round_trips(asn in 1u32.., a in any::<[u8; 4]>()) {
            let v = agg(asn, a);
            let out = encoded(|b| encode(&v, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(v));
            let out = encoded(|b| encode_as4(&v, b));
            prop_assert_eq!(decode_as4(split_tlv(&out).2), Ok(v));
        }

        #[test]
        fn two_octet_aggregator_round_trips(asn in 1u32..=65535, a in any::<[u8; 4]>()) {
            let v = agg(asn, a);
            let out = encoded(|b| encode(&v, &two_octet(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &two_octet()), Ok(v));
        }
    }
}
