//! Attributes we do not recognise (RFC 4271 §5, §9).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use bytes::Bytes;

/// An attribute we do not understand, kept as its flags, type and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownAttr {
    /// Flags as received (the Partial bit set when passed on, RFC 4271 §5).
    pub flags: AttrFlags,
    /// Type code.
    pub attr_type: AttrType,
    /// Value octets, a slice of the received message (no copy).
    pub value: Bytes,
}

impl UnknownAttr {
    /// Encodes the whole TLV.
    pub fn encode(&self, buf: &mut BytesMut) {
        todo!("{buf:?}")
    }
}
