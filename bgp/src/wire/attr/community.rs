//! COMMUNITIES (RFC 1997; well-known values: RFC 1997, RFC 3765, RFC 7999,
//! RFC 8326, RFC 9494; RFC 7606 §7.8).
//!
//! ```text
//! +-------+-------+-------+-------------------------------+----
//! | 0xc0  |   8   | 4 * n |  ASN (2)      |  value (2)    | ...
//! +-------+-------+-------+-------------------------------+----
//!  flags   type    length
//! ```

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// One standard community: high 16 bits AS, low 16 bits value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN (RFC 8326): lower the route's preference before maintenance.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// LLGR_STALE (RFC 9494): the route is stale under long-lived graceful restart.
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494): do not retain the route under long-lived graceful restart.
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999): drop traffic to this prefix.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// NO_EXPORT (RFC 1997): do not advertise outside the AS (or confederation).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997): do not advertise to any peer.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997): do not advertise to external peers,
    /// confederation peers included.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NO_PEER (RFC 3765): do not advertise to bilateral peers.
    pub const NO_PEER: Community = Community(0xFFFF_FF04);

    /// The well-known communities with FRR's names, which [`fmt::Display`]
    /// prints and [`FromStr`] accepts (as well as the RFC's upper-case names).
    const WELL_KNOWN: [(Community, &'static str, &'static str); 8] = [
        (Self::GRACEFUL_SHUTDOWN, "graceful-shutdown", "GRACEFUL_SHUTDOWN"),
        (Self::LLGR_STALE, "llgr-stale", "LLGR_STALE"),
        (Self::NO_LLGR, "no-llgr", "NO_LLGR"),
        (Self::BLACKHOLE, "blackhole", "BLACKHOLE"),
        (Self::NO_EXPORT, "no-export", "NO_EXPORT"),
        (Self::NO_ADVERTISE, "no-advertise", "NO_ADVERTISE"),
        (Self::NO_EXPORT_SUBCONFED, "local-AS", "NO_EXPORT_SUBCONFED"),
        (Self::NO_PEER, "no-peer", "NO_PEER"),
    ];

    /// Builds `asn:value`.
    pub const fn new(asn: u16, value: u16) -> Self {
        Community(((asn as u32) << 16) | value as u32)
    }

    /// The high 16 bits (by convention the AS that defines the value).
    pub const fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The low 16 bits.
    pub const fn value(self) -> u16 {
        self.0 as u16
    }

    /// FRR's name for a well-known community.
    pub fn well_known_name(self) -> Option<&'static str> {
        Self::WELL_KNOWN.iter().find(|(c, ..)| *c == self).map(|&(_, name, _)| name)
    }
}

impl fmt::Display for Community {
    /// `65000:100`, or FRR's name (`no-export`, `blackhole`, ...) for a
    /// well-known value, as `show bgp` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.asn(), self.value()),
        }
    }
}

/// A community string from configuration that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid community {0:?}: expected ASN:VALUE (each 0-65535) or a well-known name")]
pub struct ParseCommunityError(pub String);

impl FromStr for Community {
    type Err = ParseCommunityError;

    /// Accepts `65000:100`, FRR's names (`no-export`) and the RFC's names (`NO_EXPORT`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(&(c, ..)) = Self::WELL_KNOWN.iter().find(|(_, a, b)| *a == s || *b == s) {
            return Ok(c);
        }
        let err = || ParseCommunityError(s.to_owned());
        let (asn, value) = s.split_once(':').ok_or_else(err)?;
        Ok(Community::new(asn.parse().map_err(|_| err())?, value.parse().map_err(|_| err())?))
    }
}

/// Decodes a COMMUNITIES value. Order and duplicates are kept as received.
///
/// RFC 7606 §7.8: "The error handling of RFC 1997 is revised as follows:
/// The Community attribute SHALL be considered malformed if its length is
/// not a non-zero multiple of 4 ... SHALL be handled using the approach of
/// "treat-as-withdraw"."
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Vec<Community>, AttrDefect> {
    if value.is_empty() || value.len() % 4 != 0 {
        return Err(AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("COMMUNITIES length {} (expected a non-zero multiple of 4)", value.len()),
        ));
    }
    Ok(value
        .chunks_exact(4)
        .map(|c| Community(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect())
}

/// Encodes the whole COMMUNITIES TLV; writes nothing for an empty list (an
/// empty attribute would be malformed on receipt) or for one too long to frame.
pub fn encode(v: &[Community], _ctx: &EncodeCtx, buf: &mut BytesMut) {
    let len = v.len() * 4;
    if v.is_empty() || len > usize::from(u16::MAX) {
        return;
    }
    put_attr(buf, FLAGS, AttrType::COMMUNITIES, len, |b| {
        for c in v {
            b.put_u32(c.0);
        }
    });
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn communities_golden_vector_decodes_and_encodes() {
        // 65000:100 and NO_EXPORT, as FRR sends them.
        let bytes = hex("c0 08 08 fde80064 ffffff01");
        let list = vec![Community::new(65000, 100), Community::NO_EXPORT];
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(list.clone()));
        assert_eq!(encoded(|b| encode(&list, &ibgp(), b)), bytes);
    }

    #[test]
    fn communities_bad_length_treated_as_withdraw() {
        for v in [&[][..], &[0xfd, 0xe8, 0, 0x64, 0][..], &[1, 2][..]] {
            let e = decode(v, &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn empty_community_list_is_not_encoded() {
        assert!(encoded(|b| encode(&[], &ibgp(), b)).is_empty());
    }

    #[test]
    fn well_known_communities_display_with_frr_names() {
        assert_eq!(Community::new(65000, 100).to_string(), "65000:100");
        assert_eq!(Community::NO_EXPORT.to_string(), "no-export");
        assert_eq!(Community::BLACKHOLE.to_string(), "blackhole");
        assert_eq!(Community::NO_EXPORT_SUBCONFED.to_string(), "local-AS");
        assert_eq!(Community(0xFFFF_029A), Community::new(65535, 666));
    }

    #[test]
    fn communities_parse_from_config_strings() {
        assert_eq!("65000:100".parse(), Ok(Community::new(65000, 100)));
        assert_eq!("no-advertise".parse(), Ok(Community::NO_ADVERTISE));
        assert_eq!("GRACEFUL_SHUTDOWN".parse(), Ok(Community::GRACEFUL_SHUTDOWN));
        assert_eq!("65535:65281".parse(), Ok(Community::NO_EXPORT));
        for bad in ["65536:1", "1:65536", "1", "a:b", "1:2:3", ""] {
            assert!(bad.parse::<Community>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn communities_round_trip(list in prop::collection::vec(any::<u32>(), 1..200)) {
            let list: Vec<Community> = list.into_iter().map(Community).collect();
            let out = encoded(|b| encode(&list, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(list));
        }

        #[test]
        fn community_display_parses_back(v in any::<u32>()) {
            prop_assert_eq!(Community(v).to_string().parse(), Ok(Community(v)));
        }
    }
}
