//! LOCAL_PREF (RFC 4271 §5.1.5; RFC 7606 §7.5).
//!
//! ```text
//! +-------+-------+-------+-------------------------------+
//! | 0x40  |   5   |   4   |   LOCAL_PREF (4 octets)       |
//! +-------+-------+-------+-------------------------------+
//!  flags   type    length
//! ```

use bytes::{BufMut, BytesMut};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known (sent to internal peers only).
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

/// Decodes a LOCAL_PREF value.
///
/// RFC 7606 §7.5: "If the LOCAL_PREF attribute is received from an external
/// neighbor, it SHALL be discarded" (checked first: the attribute is
/// ignored whatever its shape); otherwise "considered malformed if its
/// length is not 4 ... SHALL be handled using the approach of
/// "treat-as-withdraw"."
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<u32, AttrDefect> {
    if ctx.ebgp {
        return Err(AttrDefect::discard(
            UpdateSubcode::MALFORMED_ATTRIBUTE_LIST,
            "LOCAL_PREF from an external peer",
        ));
    }
    <[u8; 4]>::try_from(value).map(u32::from_be_bytes).map_err(|_| {
        AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("LOCAL_PREF length {} (expected 4)", value.len()),
        )
    })
}

/// Encodes the whole LOCAL_PREF TLV. RFC 4271 §5.1.5: "A BGP speaker MUST
/// NOT include this attribute in UPDATE messages it sends to external
/// peers"; the caller (export) enforces that.
pub fn encode(v: &u32, _ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::LOCAL_PREF, 4, |b| b.put_u32(*v));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn local_pref_golden_vector_decodes_and_encodes() {
        let bytes = hex("40 05 04 00000064");
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(100));
        assert_eq!(encoded(|b| encode(&100, &ibgp(), b)), bytes);
    }

    #[test]
    fn local_pref_wrong_length_treated_as_withdraw() {
        let e = decode(&[0, 100], &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
    }

    #[test]
    fn local_pref_from_ebgp_discarded() {
        for v in [&[0, 0, 0, 100][..], &[0][..]] {
            let e = decode(v, &ebgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::AttributeDiscard);
        }
    }

    proptest! {
        #[test]
        fn local_pref_round_trips(v in any::<u32>()) {
            let out = encoded(|b| encode(&v, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(v));
        }
    }
}
