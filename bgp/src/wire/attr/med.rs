//! MULTI_EXIT_DISC (RFC 4271 §5.1.4; RFC 7606 §7.4).
//!
//! ```text
//! +-------+-------+-------+-------------------------------+
//! | 0x80  |   4   |   4   |   MED (4 octets, unsigned)    |
//! +-------+-------+-------+-------------------------------+
//!  flags   type    length
//! ```

use bytes::{BufMut, BytesMut};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional non-transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// Decodes a MULTI_EXIT_DISC value.
///
/// RFC 7606 §7.4: "The attribute is considered malformed if its length is
/// not 4 ... SHALL be handled using the approach of "treat-as-withdraw"."
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<u32, AttrDefect> {
    <[u8; 4]>::try_from(value).map(u32::from_be_bytes).map_err(|_| {
        AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("MULTI_EXIT_DISC length {} (expected 4)", value.len()),
        )
    })
}

/// Encodes the whole MULTI_EXIT_DISC TLV.
pub fn encode(v: &u32, _ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::MULTI_EXIT_DISC, 4, |b| b.put_u32(*v));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn med_golden_vector_decodes_and_encodes() {
        let bytes = hex("80 04 04 00000064");
        assert_eq!(decode(split_tlv(&bytes).2, &ebgp()), Ok(100));
        assert_eq!(encoded(|b| encode(&100, &ebgp(), b)), bytes);
    }

    #[test]
    fn med_wrong_length_treated_as_withdraw() {
        let e = decode(&[0, 0, 0, 0, 1], &ebgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
    }

    proptest! {
        #[test]
        fn med_round_trips(v in any::<u32>()) {
            let out = encoded(|b| encode(&v, &ebgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ebgp()), Ok(v));
        }
    }
}
