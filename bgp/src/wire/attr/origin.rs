//! ORIGIN (RFC 4271 §4.3, §5.1.1, §6.3; RFC 7606 §7.1).
//!
//! ```text
//! +-------+-------+-------+-------+
//! | 0x40  |   1   |   1   | value |   value: 0 IGP, 1 EGP, 2 INCOMPLETE
//! +-------+-------+-------+-------+
//!  flags   type    length
//! ```

use std::fmt;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known mandatory.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

/// ORIGIN: how the route entered BGP. Ordered as RFC 4271 §9.1.2.2 (c)
/// prefers them: IGP < EGP < INCOMPLETE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// 0: NLRI is interior to the originating AS.
    Igp = 0,
    /// 1: NLRI learned via the EGP protocol.
    Egp = 1,
    /// 2: NLRI learned by some other means.
    Incomplete = 2,
}

impl TryFrom<u8> for Origin {
    type Error = u8;

    fn try_from(v: u8) -> Result<Self, u8> {
        match v {
            0 => Ok(Origin::Igp),
            1 => Ok(Origin::Egp),
            2 => Ok(Origin::Incomplete),
            other => Err(other),
        }
    }
}

impl fmt::Display for Origin {
    /// BIRD's and FRR's words: `IGP`, `EGP`, `incomplete`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Igp => "IGP",
            Origin::Egp => "EGP",
            Origin::Incomplete => "incomplete",
        })
    }
}

/// Decodes an ORIGIN value.
///
/// RFC 7606 §7.1: "The attribute is considered malformed if its length is
/// not 1 or it has an undefined value ... SHALL be handled using the
/// approach of "treat-as-withdraw"."
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Origin, AttrDefect> {
    let &[v] = value else {
        return Err(AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("ORIGIN length {} (expected 1)", value.len()),
        ));
    };
    // RFC 4271 §6.3: "If the ORIGIN attribute has an undefined value, then
    // the Error Sub-code MUST be set to Invalid Origin Attribute."
    Origin::try_from(v).map_err(|v| {
        AttrDefect::withdraw(UpdateSubcode::INVALID_ORIGIN_ATTRIBUTE, format!("ORIGIN value {v}"))
    })
}

/// Encodes the whole ORIGIN TLV.
pub fn encode(v: &Origin, _ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::ORIGIN, 1, |b| b.put_u8(*v as u8));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn origin_golden_vectors_decode_and_encode() {
        for (hexs, o) in [
            ("40 01 01 00", Origin::Igp),
            ("40 01 01 01", Origin::Egp),
            ("40 01 01 02", Origin::Incomplete),
        ] {
            let bytes = hex(hexs);
            assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(o));
            assert_eq!(encoded(|b| encode(&o, &ibgp(), b)), bytes);
        }
    }

    #[test]
    fn undefined_origin_value_treated_as_withdraw() {
        let e = decode(&[3], &ibgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
        assert_eq!(e.subcode, UpdateSubcode::INVALID_ORIGIN_ATTRIBUTE);
    }

    #[test]
    fn origin_wrong_length_treated_as_withdraw() {
        for v in [&[][..], &[0, 0][..]] {
            let e = decode(v, &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn origin_displays_like_bird() {
        assert_eq!(Origin::Incomplete.to_string(), "incomplete");
        assert!(Origin::Igp < Origin::Egp && Origin::Egp < Origin::Incomplete);
    }

    proptest! {
        #[test]
        fn origin_round_trips(v in 0u8..3) {
            let o = Origin::try_from(v).unwrap();
            let out = encoded(|b| encode(&o, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(o));
        }
    }
}
