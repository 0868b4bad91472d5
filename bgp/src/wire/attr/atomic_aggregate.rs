//! ATOMIC_AGGREGATE (RFC 4271 §5.1.6; RFC 7606 §7.6).
//!
//! ```text
//! +-------+-------+-------+
//! | 0x40  |   6   |   0   |   no value
//! +-------+-------+-------+
//!  flags   type    length
//! ```

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known discretionary.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

/// Checks an ATOMIC_AGGREGATE value (it must be empty).
///
/// RFC 7606 §7.6: "The attribute SHALL be considered malformed if its length
/// is not 0 ... SHALL be handled using the approach of "attribute discard"."
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<(), AttrDefect> {
    if value.is_empty() {
        Ok(())
    } else {
        Err(AttrDefect::discard(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("ATOMIC_AGGREGATE length {} (expected 0)", value.len()),
        ))
    }
}

/// Encodes the whole ATOMIC_AGGREGATE TLV.
pub fn encode(_v: &(), _ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::ATOMIC_AGGREGATE, 0, |_| {});
}

#[cfg(test)]
mod tests {
    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn atomic_aggregate_golden_vector_decodes_and_encodes() {
        let bytes = hex("40 06 00");
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(()));
        assert_eq!(encoded(|b| encode(&(), &ibgp(), b)), bytes);
    }

    #[test]
    fn atomic_aggregate_nonzero_length_discarded() {
        let e = decode(&[0], &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::AttributeDiscard);
        assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
    }
}
