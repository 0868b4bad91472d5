//! LARGE_COMMUNITY (RFC 8092).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

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

/// Decodes a LARGE_COMMUNITY value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Vec<LargeCommunity>, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole LARGE_COMMUNITY TLV (nothing when the list is empty).
pub fn encode(_v: &[LargeCommunity], _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
