//! ORIGINATOR_ID (RFC 4456 §8; RFC 7606 §7.9).
//!
//! ```text
//! +-------+-------+-------+-------------------------------+
//! | 0x80  |   9   |   4   |  router id of the originator  |
//! +-------+-------+-------+-------------------------------+
//!  flags   type    length
//! ```
//!
//! Set by a route reflector to the BGP Identifier of the route's originator
//! in the local AS; a speaker that sees its own id here drops the route
//! (RFC 4456 §8, the RIB's loop check).

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional non-transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// Decodes an ORIGINATOR_ID value.
///
/// RFC 7606 §7.9: "If the ORIGINATOR_ID attribute is received from an
/// external neighbor, it SHALL be disregarded" (checked first, whatever the
/// shape); otherwise "considered malformed if its length is not 4 ... SHALL
/// be handled using the approach of "treat-as-withdraw"."
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<Ipv4Addr, AttrDefect> {
    if ctx.ebgp {
        return Err(AttrDefect::discard(
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            "ORIGINATOR_ID from an external peer",
        ));
    }
    <[u8; 4]>::try_from(value).map(Ipv4Addr::from).map_err(|_| {
        AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("ORIGINATOR_ID length {} (expected 4)", value.len()),
        )
    })
}

/// Encodes the whole ORIGINATOR_ID TLV.
pub fn encode(v: &Ipv4Addr, _ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::ORIGINATOR_ID, 4, |b| b.put_slice(&v.octets()));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn originator_id_golden_vector_decodes_and_encodes() {
        let bytes = hex("80 09 04 c0a80a01");
        let id = Ipv4Addr::new(192, 168, 10, 1);
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(id));
        assert_eq!(encoded(|b| encode(&id, &ibgp(), b)), bytes);
    }

    #[test]
    fn originator_id_wrong_length_treated_as_withdraw() {
        let e = decode(&[1, 2, 3], &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
    }

    #[test]
    fn originator_id_from_ebgp_discarded() {
        let e = decode(&[1, 2, 3, 4], &ebgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::AttributeDiscard);
    }

    proptest! {
        #[test]
        fn originator_id_round_trips(o in any::<[u8; 4]>()) {
            let id = Ipv4Addr::from(o);
            let out = encoded(|b| encode(&id, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(id));
        }
    }
}
