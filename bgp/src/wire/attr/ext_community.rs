//! EXTENDED_COMMUNITIES (RFC 4360; RFC 7606 §7.14).

use bytes::BytesMut;

#[allow(unused_imports)]
use super::{AttrDefect, AttrFlags, put_attr};
#[allow(unused_imports)]
use crate::wire::iana::{AttrType, UpdateSubcode};

/// One extended community, 8 octets: type, sub-type (for most types), value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtCommunity(pub [u8; 8]);

impl ExtCommunity {
    /// Decodes an EXTENDED_COMMUNITIES value.
    pub fn decode_list(value: &[u8]) -> Result<Vec<ExtCommunity>, AttrDefect> {
        todo!("{value:?}")
    }

    /// Encodes the whole EXTENDED_COMMUNITIES TLV.
    pub fn encode_list(list: &[ExtCommunity], buf: &mut BytesMut) {
        todo!("{list:?} {buf:?}")
    }
}
