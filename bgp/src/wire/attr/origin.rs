//! ORIGIN (RFC 4271 §5.1.1; RFC 7606 §7.1).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known mandatory.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

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

/// Decodes an ORIGIN value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Origin, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole ORIGIN TLV.
pub fn encode(_v: &Origin, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
