//! MULTI_EXIT_DISC (RFC 4271 §5.1.4; RFC 7606 §7.4).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// Decodes the value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<u32, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole TLV.
pub fn encode(_v: &u32, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
