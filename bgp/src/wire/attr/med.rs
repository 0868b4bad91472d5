//! MULTI_EXIT_DISC (RFC 4271 §5.1.4; RFC 7606 §7.4).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// Decodes a MULTI_EXIT_DISC value.
pub fn decode(value: &[u8]) -> Result<u32, AttrDefect> {
    todo!("{value:?}")
}

/// Encodes the whole MULTI_EXIT_DISC TLV.
pub fn encode(med: u32, buf: &mut BytesMut) {
    todo!("{med} {buf:?}")
}
