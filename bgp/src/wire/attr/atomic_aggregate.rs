//! ATOMIC_AGGREGATE (RFC 4271 §5.1.6; RFC 7606 §7.6).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// Checks an ATOMIC_AGGREGATE value (it must be empty).
pub fn decode(value: &[u8]) -> Result<(), AttrDefect> {
    todo!("{value:?}")
}

/// Encodes the whole ATOMIC_AGGREGATE TLV.
pub fn encode(buf: &mut BytesMut) {
    todo!("{buf:?}")
}
