//! COMMUNITIES (RFC 1997; RFC 7606 §7.8).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// One standard community: high 16 bits AS, low 16 bits value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

/// Decodes a COMMUNITIES value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Vec<Community>, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole COMMUNITIES TLV (nothing when the list is empty).
pub fn encode(_v: &[Community], _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
