//! COMMUNITIES (RFC 1997, well-known values from the IANA registry; RFC 7606 §7.8).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// One standard community: high 16 bits AS, low 16 bits value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

impl Community {
    /// Decodes a COMMUNITIES value.
    pub fn decode_list(value: &[u8]) -> Result<Vec<Community>, AttrDefect> {
        todo!("{value:?}")
    }

    /// Encodes the whole COMMUNITIES TLV.
    pub fn encode_list(list: &[Community], buf: &mut BytesMut) {
        todo!("{list:?} {buf:?}")
    }
}
