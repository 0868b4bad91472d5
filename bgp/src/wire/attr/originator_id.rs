//! ORIGINATOR_ID (RFC 4456 §8; RFC 7606 §7.9).

use std::net::Ipv4Addr;

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional non-transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// Decodes an ORIGINATOR_ID value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Ipv4Addr, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole ORIGINATOR_ID TLV.
pub fn encode(_v: &Ipv4Addr, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
