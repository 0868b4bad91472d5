//! CLUSTER_LIST (RFC 4456 §8; RFC 7606 §7.10).

use std::net::Ipv4Addr;

use bytes::BytesMut;

use super::{AttrDefect, AttrFlags};
use crate::wire::iana::UpdateSubcode;
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional non-transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// CLUSTER_LIST: the cluster ids a reflected route passed through, most recent first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClusterList(pub Vec<Ipv4Addr>);

/// Decodes a CLUSTER_LIST value.
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<ClusterList, AttrDefect> {
    let _ = value;
    Err(AttrDefect::withdraw(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, "not implemented yet"))
}

/// Encodes the whole CLUSTER_LIST TLV.
pub fn encode(_v: &ClusterList, _ctx: &EncodeCtx, _buf: &mut BytesMut) {}
