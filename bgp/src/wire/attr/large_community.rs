//! LARGE_COMMUNITY (RFC 8092; RFC 8092 §6 error handling).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// One large community: global administrator, local data part 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    /// Global administrator (an ASN).
    pub global_admin: u32,
    /// Local data part 1.
    pub local_data1: u32,
    /// Local data part 2.
    pub local_data2: u32,
}

impl LargeCommunity {
    /// Decodes a LARGE_COMMUNITY value.
    pub fn decode_list(value: &[u8]) -> Result<Vec<LargeCommunity>, AttrDefect> {
        todo!("{value:?}")
    }

    /// Encodes the whole LARGE_COMMUNITY TLV.
    pub fn encode_list(list: &[LargeCommunity], buf: &mut BytesMut) {
        todo!("{list:?} {buf:?}")
    }
}
