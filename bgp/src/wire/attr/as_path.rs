//! AS_PATH (RFC 4271 §4.3, §5.1.2; RFC 5065 confederation segments; RFC 6793
//! 2- and 4-octet forms and AS4_PATH; RFC 7606 §7.2).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

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
    /// Decodes an AS_PATH value with 2-octet (`four_octet == false`) or 4-octet
    /// ASNs. AS4_PATH is always 4-octet.
    pub fn decode(value: &[u8], four_octet: bool) -> Result<Self, AttrDefect> {
        todo!("{value:?} {four_octet}")
    }

    /// Encodes the whole attribute TLV as `attr_type` (AS_PATH or AS4_PATH).
    pub fn encode(&self, attr_type: AttrType, four_octet: bool, buf: &mut BytesMut) {
        todo!("{attr_type:?} {four_octet} {buf:?}")
    }
}
