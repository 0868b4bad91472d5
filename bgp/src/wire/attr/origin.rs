//! ORIGIN (RFC 4271 §5.1.1; RFC 7606 §7.1).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// ORIGIN: how the route entered BGP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// 0: NLRI is interior to the originating AS.
    Igp = 0,
    /// 1: NLRI learned via the EGP protocol.
    Egp = 1,
    /// 2: NLRI learned by some other means.
    Incomplete = 2,
}

impl Origin {
    /// Decodes the attribute value.
    pub fn decode(value: &[u8]) -> Result<Self, AttrDefect> {
        todo!("{value:?}")
    }

    /// Encodes the whole attribute TLV.
    pub fn encode(&self, buf: &mut BytesMut) {
        todo!("{buf:?}")
    }
}
