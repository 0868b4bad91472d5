//! EXTENDED_COMMUNITIES (RFC 4360; RFC 7606 §7.14).

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// One extended community (8 octets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExtCommunity {
    /// Anything we do not type.
    Raw([u8; 8]),
}

/// Decodes an EXTENDED_COMMUNITIES value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Vec<ExtCommunity>, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole EXTENDED_COMMUNITIES TLV (nothing when the list is empty).
pub fn encode(_v: &[ExtCommunity], _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
