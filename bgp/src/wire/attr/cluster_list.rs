//! CLUSTER_LIST (RFC 4456 §8; RFC 7606 §7.10).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use std::net::Ipv4Addr;

/// CLUSTER_LIST: the cluster ids a reflected route passed through, most recent first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClusterList(pub Vec<Ipv4Addr>);

impl ClusterList {
    /// Decodes a CLUSTER_LIST value.
    pub fn decode(value: &[u8]) -> Result<Self, AttrDefect> {
        todo!("{value:?}")
    }

    /// Encodes the whole CLUSTER_LIST TLV.
    pub fn encode(&self, buf: &mut BytesMut) {
        todo!("{buf:?}")
    }
}
