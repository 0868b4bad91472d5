//! MP_UNREACH_NLRI (RFC 4760 §4; RFC 7606 §7.12; End-of-RIB for non-IPv4
//! families, RFC 4724 §2).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

use crate::wire::iana::AfiSafi;
use crate::wire::nlri::Nlri;

/// MP_UNREACH_NLRI: withdrawn NLRI of one family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// AFI/SAFI of the withdrawn NLRI.
    pub family: AfiSafi,
    /// Withdrawn NLRI (empty: End-of-RIB for that family).
    pub withdrawn: Vec<Nlri>,
}
