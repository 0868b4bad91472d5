//! LOCAL_PREF (RFC 4271 §5.1.5; RFC 7606 §7.5).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// Decodes a LOCAL_PREF value.
pub fn decode(value: &[u8]) -> Result<u32, AttrDefect> {
    todo!("{value:?}")
}

/// Encodes the whole LOCAL_PREF TLV.
pub fn encode(local_pref: u32, buf: &mut BytesMut) {
    todo!("{local_pref} {buf:?}")
}
