//! MP_REACH_NLRI (RFC 4760 §3; RFC 2545 §3 IPv6 next hops; RFC 8950 IPv6 next
//! hop for IPv4 NLRI; RFC 7606 §7.11).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::iana::AfiSafi;
use crate::wire::nlri::Nlri;

/// The next hop carried in MP_REACH_NLRI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MpNextHop {
    /// An IPv4 next hop (4 octets).
    Ipv4(Ipv4Addr),
    /// An IPv6 next hop: global (16 octets) and optionally link-local (32 octets in all).
    Ipv6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address, when the peer is on a shared link (RFC 2545 §3).
        link_local: Option<Ipv6Addr>,
    },
}

/// MP_REACH_NLRI: reachable NLRI of one family with their next hop.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// AFI/SAFI of the NLRI.
    pub family: AfiSafi,
    /// Next hop.
    pub next_hop: MpNextHop,
    /// Reachable NLRI.
    pub nlri: Vec<Nlri>,
}
