//! MP_UNREACH_NLRI (RFC 4760 §4; RFC 7606 §7.11; End-of-RIB for families
//! other than IPv4 unicast, RFC 4724 §2).
//!
//! ```text
//! +---------------------------------------------------------+
//! | Address Family Identifier (2 octets)                    |
//! +---------------------------------------------------------+
//! | Subsequent Address Family Identifier (1 octet)          |
//! +---------------------------------------------------------+
//! | Withdrawn Routes (variable)                             |
//! +---------------------------------------------------------+
//! ```
//!
//! As for MP_REACH_NLRI, a malformed attribute resets the session rather than
//! disabling the family (RFC 7606 §7.11 allows either); see [`super::mp_reach`].

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::mp_reach::{MpDecoded, family_at, malformed};
use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AfiSafi, AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};
use crate::wire::nlri::{self, Nlri};

/// Flags we send: optional, non-transitive (RFC 4760 §4).
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// MP_UNREACH_NLRI: withdrawn NLRI of one family.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpUnreach {
    /// AFI/SAFI of the withdrawn NLRI.
    pub family: AfiSafi,
    /// Withdrawn NLRI (empty: End-of-RIB for that family).
    pub withdrawn: Vec<Nlri>,
}

impl MpUnreach {
    /// Octets of the attribute value (without the TLV header).
    pub fn value_len(&self, ctx: &EncodeCtx) -> usize {
        3 + nlri::encoded_len_all(&self.withdrawn, self.family, ctx)
    }
}

/// Decodes an MP_UNREACH_NLRI value; every error is a session reset.
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<MpDecoded<MpUnreach>, AttrDefect> {
    let Some(family) = family_at(value) else {
        return Err(malformed(
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            "MP_UNREACH_NLRI too short",
        ));
    };
    if !nlri::is_supported(family) {
        return Ok(MpDecoded::Ignored(family));
    }
    let field = value.get(3..).unwrap_or_default();
    // RFC 4760 §7: "Optional Attribute Error", as for MP_REACH_NLRI.
    let withdrawn = nlri::decode(field, family, ctx).map_err(|e| {
        malformed(UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR, format!("MP_UNREACH_NLRI {family}: {e}"))
    })?;
    Ok(MpDecoded::Family(MpUnreach { family, withdrawn }))
}

/// Writes the whole MP_UNREACH_NLRI TLV. The caller keeps the value under
/// 65536 octets.
pub fn encode(v: &MpUnreach, ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::MP_UNREACH_NLRI, v.value_len(ctx), |buf| {
        buf.put_u16(v.family.afi.0);
        buf.put_u8(v.family.safi.0);
        nlri::encode_all(&v.withdrawn, v.family, ctx, buf);
    });
}

/// Starts an MP_UNREACH_NLRI TLV whose NLRI the caller appends; returns the
/// offset of the 2-octet length to patch (see [`super::mp_reach::start_open_ended`]).
pub(crate) fn start_open_ended(buf: &mut BytesMut, family: AfiSafi) -> usize {
    buf.put_u8(FLAGS.0 | AttrFlags::EXTENDED_LENGTH);
    buf.put_u8(AttrType::MP_UNREACH_NLRI.0);
    let at = buf.len();
    buf.put_u16(0);
    buf.put_u16(family.afi.0);
    buf.put_u8(family.safi.0);
    at
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::wire::error::Treatment;
    use crate::wire::iana::{Afi, Safi};

    fn tlv(v: &MpUnreach, ctx: &EncodeCtx) -> Vec<u8> {
        let mut b = BytesMut::new();
        encode(v, ctx, &mut b);
        b.to_vec()
    }

    #[test]
    fn ipv6_withdrawal_golden() {
        let v = MpUnreach {
            family: AfiSafi::IPV6_UNICAST,
            withdrawn: vec![Nlri::new("2001:db8:1::/48".parse().unwrap())],
        };
        let golden = "800f0a0002013020010db80001";
        assert_eq!(hex::encode(tlv(&v, &EncodeCtx::default())), golden);
        let wire = hex::decode(golden).unwrap();
        assert_eq!(decode(&wire[3..], &DecodeCtx::default()).unwrap(), MpDecoded::Family(v));
    }

    #[test]
    fn ipv6_end_of_rib_is_an_empty_withdrawal() {
        let v = MpUnreach { family: AfiSafi::IPV6_UNICAST, withdrawn: vec![] };
        assert_eq!(hex::encode(tlv(&v, &EncodeCtx::default())), "800f03000201");
        assert_eq!(decode(&[0, 2, 1], &DecodeCtx::default()).unwrap(), MpDecoded::Family(v));
    }

    #[test]
    fn add_path_withdrawal_round_trips() {
        let ctx = DecodeCtx { add_path: vec![AfiSafi::IPV4_UNICAST], ..DecodeCtx::default() };
        let v = MpUnreach {
            family: AfiSafi::IPV4_UNICAST,
            withdrawn: vec![Nlri::with_path_id("10.0.0.0/8".parse().unwrap(), 9)],
        };
        let wire = tlv(&v, &ctx.peer_encode_ctx());
        assert_eq!(hex::encode(&wire), "800f09000101000000090 80a".replace(' ', ""));
        assert_eq!(decode(&wire[3..], &ctx).unwrap(), MpDecoded::Family(v));
    }

    #[test]
    fn too_short_resets_session() {
        let err = decode(&[0, 2], &DecodeCtx::default()).unwrap_err();
        assert_eq!(err.treatment, Treatment::SessionReset);
        assert_eq!(err.subcode, UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR);
    }

    #[test]
    fn malformed_withdrawn_prefix_resets_session() {
        let err = decode(&hex::decode("000201812001").unwrap(), &DecodeCtx::default()).unwrap_err();
        assert_eq!(err.treatment, Treatment::SessionReset);
        assert_eq!(err.subcode, UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR);
    }

    #[test]
    fn unsupported_family_is_ignored() {
        assert_eq!(
            decode(&hex::decode("00018001ff").unwrap(), &DecodeCtx::default()).unwrap(),
            MpDecoded::Ignored(AfiSafi::new(Afi::IPV4, Safi(128)))
        );
    }

    proptest! {
        #[test]
        fn random_values_never_panic(data in proptest::collection::vec(any::<u8>(), 0..60)) {
            let _ = decode(&data, &DecodeCtx::default());
        }
    }
}
