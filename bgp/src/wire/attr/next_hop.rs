//! NEXT_HOP (RFC 4271 §5.1.3, §6.3; RFC 7606 §7.3).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use std::net::Ipv4Addr;

/// Decodes a NEXT_HOP value.
pub fn decode(value: &[u8]) -> Result<Ipv4Addr, AttrDefect> {
    todo!("{value:?}")
}

/// Encodes the whole NEXT_HOP TLV.
pub fn encode(next_hop: Ipv4Addr, buf: &mut BytesMut) {
    todo!("{next_hop} {buf:?}")
}
