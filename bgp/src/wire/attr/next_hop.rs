//! NEXT_HOP (RFC 4271 §5.1.3, §6.3; RFC 7606 §7.3).

use std::net::Ipv4Addr;

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known mandatory.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

/// Decodes a NEXT_HOP value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Ipv4Addr, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Rejects next hops that are semantically incorrect (RFC 4271 §6.3).
pub fn validate(addr: Ipv4Addr) -> Result<(), AttrDefect> {
    let _ = addr;
    Ok(())
}

/// Encodes the whole NEXT_HOP TLV.
pub fn encode(_v: &Ipv4Addr, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
