//! AS_PATH (RFC 4271 §4.3, §5.1.2; RFC 5065; RFC 6793; RFC 7606 §7.2).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send for AS_PATH: well-known mandatory.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;
/// The flags we send for AS4_PATH: optional transitive.
pub const AS4_FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// AS_PATH segment type (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SegmentType {
    /// 1: unordered set of ASes.
    AsSet = 1,
    /// 2: ordered sequence of ASes.
    AsSequence = 2,
    /// 3: ordered sequence of member ASes in the local confederation.
    ConfedSequence = 3,
    /// 4: unordered set of member ASes in the local confederation.
    ConfedSet = 4,
}

/// One AS_PATH segment; ASNs are always held as 4 octets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// Segment type.
    pub kind: SegmentType,
    /// The ASes, in wire order.
    pub asns: Vec<u32>,
}

/// AS_PATH or AS4_PATH: a list of segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// Whether any ASN needs 4 octets (so a 2-octet peer also needs AS4_PATH).
    pub fn needs_as4(&self) -> bool {
        false
    }
}

/// Decodes an AS_PATH value (2- or 4-octet ASNs by `ctx.four_octet_as`).
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<AsPath, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Decodes an AS4_PATH value.
pub fn decode_as4(value: &[u8]) -> Result<AsPath, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole AS_PATH TLV.
pub fn encode(_v: &AsPath, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}

/// Encodes the whole AS4_PATH TLV.
pub fn encode_as4(_v: &AsPath, _buf: &mut BytesMut) {}

/// Rebuilds the 4-octet path from AS_PATH and AS4_PATH (RFC 6793 §4.2.3).
pub fn merge_as4_path(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
    let _ = as4_path;
    as_path.clone()
}
