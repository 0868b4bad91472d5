//! ORIGINATOR_ID (RFC 4456 §8; RFC 7606 §7.9).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use std::net::Ipv4Addr;

/// Decodes an ORIGINATOR_ID value.
pub fn decode(value: &[u8]) -> Result<Ipv4Addr, AttrDefect> {
    todo!("{value:?}")
}

/// Encodes the whole ORIGINATOR_ID TLV.
pub fn encode(id: Ipv4Addr, buf: &mut BytesMut) {
    todo!("{id} {buf:?}")
}
