//! Attributes we do not recognise (RFC 4271 §5, §9.1; RFC 7606 §3.e).
//!
//! ```text
//! +---------------+---------------+-------------------+---------------//
//! |  Attr. Flags  |  Type (any)   | Length (1 or 2)   | Value, opaque
//! +---------------+---------------+-------------------+---------------//
//! ```
//!
//! An unrecognised *optional transitive* attribute is passed on untouched
//! except for the Partial bit; an unrecognised optional non-transitive one is
//! dropped (the attribute loop decides). "If an optional transitive attribute
//! is unrecognized, the Partial bit in the attribute flags octet is set to 1"
//! (RFC 4271 §5). An unrecognised *well-known* attribute is a session reset
//! and never reaches this module's callers as a value to keep.

use bytes::{Bytes, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrFlags, put_attr};
use crate::wire::iana::AttrType;

/// An attribute we do not understand, kept as its flags, type and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnknownAttr {
    /// Flags as received, without Extended Length (the encoder picks that
    /// from the value's size).
    pub flags: AttrFlags,
    /// Type code.
    pub attr_type: AttrType,
    /// Value octets; a slice of the received message when built by
    /// [`from_bytes`].
    pub value: Bytes,
}

impl UnknownAttr {
    /// The attribute as we pass it on to another peer.
    ///
    /// RFC 4271 §5: "If an optional transitive attribute is unrecognized,
    /// the Partial bit in the attribute flags octet is set to 1, and the
    /// attribute is retained for propagation to other BGP speakers." The
    /// Partial bit only means something on optional transitive attributes,
    /// so it is left alone on anything else.
    pub fn for_forwarding(&self) -> UnknownAttr {
        let mut out = self.clone();
        if self.flags.optional() && self.flags.transitive() {
            out.flags = AttrFlags(self.flags.0 | AttrFlags::PARTIAL);
        }
        out
    }

    /// Whether RFC 4271 §9.1 lets us pass this attribute on at all: only
    /// optional transitive attributes travel; the rest are local to the link.
    pub fn is_forwardable(&self) -> bool {
        self.flags.optional() && self.flags.transitive()
    }
}

/// Keeps an attribute we do not understand, copying its value.
///
/// Prefer [`from_bytes`] on the hot path: it keeps a slice of the message.
pub fn decode(flags: AttrFlags, attr_type: AttrType, value: &[u8]) -> UnknownAttr {
    from_bytes(flags, attr_type, Bytes::copy_from_slice(value))
}

/// Keeps an attribute we do not understand without copying its value
/// (`value` is normally `Bytes::slice_ref` of the UPDATE body).
pub fn from_bytes(flags: AttrFlags, attr_type: AttrType, value: Bytes) -> UnknownAttr {
    // Extended Length describes the received framing, not the attribute;
    // keeping it would make equal attributes compare unequal.
    let flags = AttrFlags(flags.0 & !AttrFlags::EXTENDED_LENGTH);
    UnknownAttr { flags, attr_type, value }
}

/// Encodes the whole TLV as held. Call [`UnknownAttr::for_forwarding`]
/// first when passing the attribute on to another peer.
///
/// A value longer than 65535 octets cannot be framed and cannot have been
/// received; it is not written.
pub fn encode(v: &UnknownAttr, buf: &mut BytesMut) {
    if v.value.len() > usize::from(u16::MAX) {
        return;
    }
    put_attr(buf, v.flags, v.attr_type, v.value.len(), |b| b.extend_from_slice(&v.value));
}

/// Helpers shared by the attribute modules' unit tests.
#[cfg(test)]
pub(crate) mod test_util {
    use bytes::BytesMut;

    use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

    /// A session context in either direction, so that one helper serves the
    /// decoder's and the encoder's tests alike.
    pub(crate) trait SessionCtx {
        fn session(four_octet_as: bool, ebgp: bool) -> Self;
    }

    impl SessionCtx for DecodeCtx {
        fn session(four_octet_as: bool, ebgp: bool) -> Self {
            DecodeCtx { four_octet_as, ebgp, ..DecodeCtx::default() }
        }
    }

    impl SessionCtx for EncodeCtx {
        fn session(four_octet_as: bool, ebgp: bool) -> Self {
            EncodeCtx { four_octet_as, ebgp, ..EncodeCtx::default() }
        }
    }

    /// An iBGP session between two 4-octet-AS speakers (the common case).
    pub(crate) fn ibgp<C: SessionCtx>() -> C {
        C::session(true, false)
    }

    /// An eBGP session between two 4-octet-AS speakers.
    pub(crate) fn ebgp<C: SessionCtx>() -> C {
        C::session(true, true)
    }

    /// A session with a 2-octet ("OLD", RFC 6793) speaker.
    pub(crate) fn two_octet<C: SessionCtx>() -> C {
        C::session(false, false)
    }

    /// Runs an encoder into a fresh buffer and returns the bytes.
    pub(crate) fn encoded(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut buf);
        buf.to_vec()
    }

    /// Splits one encoded TLV into (flags, type, value), checking that the
    /// length field matches what follows.
    pub(crate) fn split_tlv(tlv: &[u8]) -> (u8, u8, &[u8]) {
        let (flags, ty) = (tlv[0], tlv[1]);
        let (len, value) = if flags & 0x10 != 0 {
            (usize::from(u16::from_be_bytes([tlv[2], tlv[3]])), &tlv[4..])
        } else {
            (usize::from(tlv[2]), &tlv[3..])
        };
        assert_eq!(len, value.len(), "TLV length field disagrees with its value");
        (flags, ty, value)
    }

    /// Parses a hex string with optional whitespace.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        ::hex::decode(s).expect("test vector is valid hex")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::test_util::*;
    use super::*;

    #[test]
    fn unknown_optional_transitive_is_forwarded_with_partial_set() {
        // Type 99, optional transitive, 3 octets, as an FRR peer would send it.
        let a = decode(AttrFlags(0xc0), AttrType(99), &[1, 2, 3]);
        let fwd = a.for_forwarding();
        assert!(fwd.flags.partial());
        assert_eq!(encoded(|b| encode(&fwd, b)), hex("e0 63 03 010203"));
    }

    #[test]
    fn unknown_optional_non_transitive_keeps_flags_and_is_not_forwardable() {
        let a = decode(AttrFlags(0x80), AttrType(200), &[]);
        assert!(!a.is_forwardable());
        assert_eq!(a.for_forwarding().flags, AttrFlags(0x80));
        assert_eq!(encoded(|b| encode(&a, b)), hex("80 c8 00"));
    }

    #[test]
    fn unknown_attribute_received_with_extended_length_is_reencoded_short() {
        let a = decode(AttrFlags(0xd0), AttrType(99), &[7]);
        assert_eq!(a.flags, AttrFlags(0xc0));
        assert_eq!(encoded(|b| encode(&a, b)), hex("c0 63 01 07"));
    }

    #[test]
    fn long_unknown_attribute_uses_extended_length() {
        let a = decode(AttrFlags(0xc0), AttrType(99), &[0xab; 300]);
        let out = encoded(|b| encode(&a, b));
        assert_eq!(&out[..4], hex("d0 63 012c"));
        assert_eq!(split_tlv(&out).2.len(), 300);
    }

    #[test]
    fn from_bytes_keeps_a_slice_without_copying() {
        let msg = Bytes::from_static(&[0xc0, 99, 2, 0xaa, 0xbb]);
        let a = from_bytes(AttrFlags(msg[0]), AttrType(msg[1]), msg.slice(3..));
        assert_eq!(a.value.as_ptr(), msg[3..].as_ptr());
    }

    proptest! {
        /// Every attribute decoder, on any bytes and any session: a value or
        /// a defect, never a panic (the fuzz target covers the loop around them).
        #[test]
        fn attribute_decoders_never_panic(
            v in prop::collection::vec(any::<u8>(), 0..80), four in any::<bool>(), ebgp in any::<bool>()
        ) {
            use super::super::*;
            let ctx = crate::wire::negotiate::DecodeCtx { four_octet_as: four, ebgp, ..Default::default() };
            let _ = origin::decode(&v, &ctx);
            let _ = as_path::decode(&v, &ctx);
            let _ = as_path::decode_as4(&v);
            let _ = next_hop::decode(&v, &ctx);
            let _ = med::decode(&v, &ctx);
            let _ = local_pref::decode(&v, &ctx);
            let _ = atomic_aggregate::decode(&v, &ctx);
            let _ = aggregator::decode(&v, &ctx);
            let _ = aggregator::decode_as4(&v);
            let _ = community::decode(&v, &ctx);
            let _ = originator_id::decode(&v, &ctx);
            let _ = cluster_list::decode(&v, &ctx);
            let _ = ext_community::decode(&v, &ctx);
            let _ = large_community::decode(&v, &ctx);
        }

        #[test]
        fn unknown_attr_round_trips(
            flags in any::<u8>(), ty in any::<u8>(), value in prop::collection::vec(any::<u8>(), 0..600)
        ) {
            let a = decode(AttrFlags(flags), AttrType(ty), &value);
            let out = encoded(|b| encode(&a, b));
            let (f, t, v) = split_tlv(&out);
            prop_assert_eq!(decode(AttrFlags(f), AttrType(t), v), a);
        }
    }
}
