//! Path attributes (RFC 4271 §4.3, §5) and the attribute-list loop that
//! applies RFC 7606 to them.
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attr. Flags  |Attr. Type Code|   then 1 length octet, or 2 with
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   Extended Length, then the value
//!   O T P E 0 0 0 0
//!   | | | +-- Extended Length
//!   | | +---- Partial
//!   | +------ Transitive
//!   +-------- Optional
//! ```
//!
//! Each attribute lives in its own module with its type, decoder, encoder and
//! tests. Decoders take the attribute *value* (the loop has already cut it out
//! by its length) and return an [`AttrDefect`] that says how RFC 7606 treats a
//! defect; the loop adds the attribute type and the TLV bytes that a
//! NOTIFICATION would carry.

pub mod aggregator;
pub mod as_path;
pub mod atomic_aggregate;
pub mod cluster_list;
pub mod community;
pub mod ext_community;
pub mod large_community;
pub mod list;
pub mod local_pref;
pub mod med;
pub mod mp_reach;
pub mod mp_unreach;
pub mod next_hop;
pub mod origin;
pub mod originator_id;
pub mod unknown;

use std::fmt;
use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

pub use self::aggregator::Aggregator;
pub use self::as_path::{AsPath, AsSegment, SegmentType};
pub use self::cluster_list::ClusterList;
pub use self::community::Community;
pub use self::ext_community::ExtCommunity;
pub use self::large_community::LargeCommunity;
pub use self::list::{AttrTypeSet, DecodedAttrs, decode_attrs, encode_attrs};
pub use self::mp_reach::{MpDecoded, MpNextHop, MpReach};
pub use self::mp_unreach::MpUnreach;
pub use self::origin::Origin;
pub use self::unknown::UnknownAttr;
#[allow(unused_imports)]
pub(crate) use super::error::AttrDefect;
use serde::{Deserialize, Serialize};

use super::iana::AttrType;

/// Attribute flags octet (RFC 4271 §4.3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AttrFlags(pub u8);

impl AttrFlags {
    /// "the high-order bit (bit 0) ... defines whether the attribute is optional (1) or well-known (0)"
    pub const OPTIONAL: u8 = 0x80;
    /// "the second high-order bit (bit 1) ... defines whether an optional attribute is transitive (1)"
    pub const TRANSITIVE: u8 = 0x40;
    /// "the third high-order bit (bit 2) ... defines whether the information ... is partial (1)"
    pub const PARTIAL: u8 = 0x20;
    /// "the fourth high-order bit (bit 3) ... defines whether the Attribute Length is one octet (0) or two"
    pub const EXTENDED_LENGTH: u8 = 0x10;

    /// Well-known attribute: transitive, not optional.
    pub const WELL_KNOWN: AttrFlags = AttrFlags(Self::TRANSITIVE);
    /// Optional non-transitive attribute.
    pub const OPTIONAL_NON_TRANSITIVE: AttrFlags = AttrFlags(Self::OPTIONAL);
    /// Optional transitive attribute.
    pub const OPTIONAL_TRANSITIVE: AttrFlags = AttrFlags(Self::OPTIONAL | Self::TRANSITIVE);

    /// Optional bit.
    pub fn optional(self) -> bool {
        self.0 & Self::OPTIONAL != 0
    }
    /// Transitive bit.
    pub fn transitive(self) -> bool {
        self.0 & Self::TRANSITIVE != 0
    }
    /// Partial bit.
    pub fn partial(self) -> bool {
        self.0 & Self::PARTIAL != 0
    }
    /// Extended Length bit.
    pub fn extended_length(self) -> bool {
        self.0 & Self::EXTENDED_LENGTH != 0
    }
    /// The Optional and Transitive bits only: what RFC 7606 §3.c compares.
    pub fn category(self) -> u8 {
        self.0 & (Self::OPTIONAL | Self::TRANSITIVE)
    }
}

impl fmt::Debug for AttrFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttrFlags({:#04x})", self.0)
    }
}

/// Writes one attribute TLV. The Extended Length bit is used only when the
/// value does not fit one length octet, which is the encoding FRR and BIRD
/// accept from everyone and the one we call canonical.
///
/// `flags` must not already carry EXTENDED_LENGTH; `value` writes exactly
/// `value_len` octets.
#[inline]
pub(crate) fn put_attr(
    buf: &mut BytesMut,
    flags: AttrFlags,
    attr_type: AttrType,
    value_len: usize,
    value: impl FnOnce(&mut BytesMut),
) {
    debug_assert!(value_len <= u16::MAX as usize);
    let before = buf.len();
    if value_len > 255 {
        buf.put_u8(flags.0 | AttrFlags::EXTENDED_LENGTH);
        buf.put_u8(attr_type.0);
        buf.put_u16(value_len as u16);
    } else {
        buf.put_u8(flags.0 & !AttrFlags::EXTENDED_LENGTH);
        buf.put_u8(attr_type.0);
        buf.put_u8(value_len as u8);
    }
    let start = buf.len();
    value(buf);
    debug_assert_eq!(buf.len() - start, value_len, "{attr_type} wrote a wrong length");
    let _ = before;
}

/// Patches the 2-octet length at `at` (written as a placeholder) to the
/// number of octets that follow it. Used where a value is appended piecemeal
/// (the UPDATE packer, the withdrawn/attribute length fields); the caller
/// keeps what follows under 65536 octets.
#[inline]
pub(crate) fn patch_len(buf: &mut BytesMut, at: usize) {
    let len = buf.len() - at - 2;
    debug_assert!(len <= u16::MAX as usize);
    buf[at..at + 2].copy_from_slice(&(len as u16).to_be_bytes());
}

/// The path attributes of a route, one field per attribute we understand.
///
/// MP_REACH_NLRI and MP_UNREACH_NLRI are not here: they describe the UPDATE's
/// NLRI, not the path, and live on [`super::update::UpdateMsg`]. The struct
/// is `Hash + Eq` so the RIB can intern identical attribute sets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathAttrs {
    /// ORIGIN (type 1), well-known mandatory.
    pub origin: Option<Origin>,
    /// AS_PATH (type 2), well-known mandatory; always held with 4-octet ASNs.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP (type 3), well-known mandatory when IPv4 NLRI are carried.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC (type 4), optional non-transitive.
    pub med: Option<u32>,
    /// LOCAL_PREF (type 5), well-known, iBGP only.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE (type 6), well-known discretionary.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (type 7), optional transitive; ASN held as 4 octets.
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES (type 8, RFC 1997); empty when absent.
    pub communities: Vec<Community>,
    /// ORIGINATOR_ID (type 9, RFC 4456).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (type 10, RFC 4456).
    pub cluster_list: Option<ClusterList>,
    /// EXTENDED_COMMUNITIES (type 16, RFC 4360); empty when absent.
    pub ext_communities: Vec<ExtCommunity>,
    /// AS4_PATH (type 17, RFC 6793), as received from a 2-octet speaker.
    pub as4_path: Option<AsPath>,
    /// AS4_AGGREGATOR (type 18, RFC 6793), as received from a 2-octet speaker.
    pub as4_aggregator: Option<Aggregator>,
    /// LARGE_COMMUNITY (type 32, RFC 8092); empty when absent.
    pub large_communities: Vec<LargeCommunity>,
    /// Attributes we do not understand, carried on if optional transitive.
    pub unknown: Vec<UnknownAttr>,
}
