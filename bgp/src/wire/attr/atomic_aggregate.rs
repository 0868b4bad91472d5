//! ATOMIC_AGGREGATE (RFC 4271 §5.1.6; RFC 7606 §7.6).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known discretionary.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

/// Checks an ATOMIC_AGGREGATE value (it must be empty).
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<(), AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole ATOMIC_AGGREGATE TLV.
pub fn encode(_v: &(), _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
