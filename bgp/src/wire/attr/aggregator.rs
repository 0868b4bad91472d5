//! AGGREGATOR (RFC 4271 §5.1.7; RFC 6793; RFC 7606 §7.7).

use std::net::Ipv4Addr;

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send for AGGREGATOR and AS4_AGGREGATOR: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// AGGREGATOR or AS4_AGGREGATOR: the AS and router that aggregated the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// Aggregating AS, held as 4 octets.
    pub asn: u32,
    /// BGP identifier (IPv4 address) of the aggregating speaker.
    pub address: Ipv4Addr,
}

/// Decodes an AGGREGATOR value (6 or 8 octets by `ctx.four_octet_as`).
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Aggregator, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Decodes an AS4_AGGREGATOR value (8 octets).
pub fn decode_as4(value: &[u8]) -> Result<Aggregator, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole AGGREGATOR TLV.
pub fn encode(_v: &Aggregator, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}

/// Encodes the whole AS4_AGGREGATOR TLV.
pub fn encode_as4(_v: &Aggregator, _buf: &mut BytesMut) {}
