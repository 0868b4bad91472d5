//! AGGREGATOR (RFC 4271 §5.1.7; RFC 6793 2-/4-octet forms and AS4_AGGREGATOR;
//! RFC 7606 §7.7).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use std::net::Ipv4Addr;

/// AGGREGATOR or AS4_AGGREGATOR: the AS and router that aggregated the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// Aggregating AS, held as 4 octets.
    pub asn: u32,
    /// BGP identifier (IPv4 address) of the aggregating speaker.
    pub address: Ipv4Addr,
}

impl Aggregator {
    /// Decodes an AGGREGATOR value (6 octets 2-octet AS, 8 octets 4-octet AS).
    pub fn decode(value: &[u8], four_octet: bool) -> Result<Self, AttrDefect> {
        todo!("{value:?} {four_octet}")
    }

    /// Encodes the whole TLV as `attr_type` (AGGREGATOR or AS4_AGGREGATOR).
    pub fn encode(&self, attr_type: AttrType, four_octet: bool, buf: &mut BytesMut) {
        todo!("{attr_type:?} {four_octet} {buf:?}")
    }
}
