//! LARGE_COMMUNITY (RFC 8092 §3, §5, §6).
//!
//! ```text
//! +-------+-------+--------+-------------------+-------------------+-------------------+----
//! | 0xc0  |  32   | 12 * n | Global Admin (4)  | Local Data 1 (4)  | Local Data 2 (4)  | ...
//! +-------+-------+--------+-------------------+-------------------+-------------------+----
//!  flags   type    length
//! ```

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_TRANSITIVE;

/// One large community: global administrator, local data part 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LargeCommunity {
    /// Global administrator (an ASN).
    pub global_admin: u32,
    /// Local data part 1.
    pub local_data1: u32,
    /// Local data part 2.
    pub local_data2: u32,
}

impl LargeCommunity {
    /// Builds `global_admin:local_data1:local_data2`.
    pub const fn new(global_admin: u32, local_data1: u32, local_data2: u32) -> Self {
        LargeCommunity { global_admin, local_data1, local_data2 }
    }
}

impl fmt::Display for LargeCommunity {
    /// `64512:1:2`, the RFC 8092 §3 canonical text form FRR and BIRD use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global_admin, self.local_data1, self.local_data2)
    }
}

/// A large community string from configuration that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid large community {0:?}: expected A:B:C (each 0-4294967295)")]
pub struct ParseLargeCommunityError(pub String);

impl FromStr for LargeCommunity {
    type Err = ParseLargeCommunityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let err = || ParseLargeCommunityError(s.to_owned());
        let mut parts = s.split(':').map(|p| p.parse::<u32>().map_err(|_| err()));
        let (Some(a), Some(b), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        Ok(LargeCommunity::new(a?, b?, c?))
    }
}

/// Decodes a LARGE_COMMUNITY value, dropping duplicates (first one kept).
///
/// RFC 8092 §6: "The error handling of this attribute follows RFC 7606. A
/// Large Communities attribute SHALL be considered malformed if the length
/// ... is zero or is not a multiple of twelve" (treat-as-withdraw, as RFC
/// 7606 §7.8 for COMMUNITIES). RFC 8092 §5: "duplicate BGP Large Community
/// values SHOULD NOT be transmitted. A receiving speaker MUST silently
/// remove redundant BGP Large Community values".
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Vec<LargeCommunity>, AttrDefect> {
    if value.is_empty() || value.len() % 12 != 0 {
        return Err(AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("LARGE_COMMUNITY length {} (expected a non-zero multiple of 12)", value.len()),
        ));
    }
    let word = |c: &[u8]| u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    let mut out: Vec<LargeCommunity> = value
        .chunks_exact(12)
        .map(|c| LargeCommunity::new(word(&c[0..4]), word(&c[4..8]), word(&c[8..12])))
        .collect();
    // Lists are short; only pay for a set when a quadratic scan would hurt.
    if out.len() <= 16 {
        let mut i = 1;
        while i < out.len() {
            if out[..i].contains(&out[i]) {
                out.remove(i);
            } else {
                i += 1;
            }
        }
    } else {
        let mut seen = HashSet::with_capacity(out.len());
        out.retain(|c| seen.insert(*c));
    }
    Ok(out)
}

/// Encodes the whole LARGE_COMMUNITY TLV; writes nothing for an empty list
/// (an empty attribute would be malformed on receipt) or one too long to frame.
pub fn encode(v: &[LargeCommunity], _ctx: &EncodeCtx, buf: &mut BytesMut) {
    let len = v.len() * 12;
    if v.is_empty() || len > usize::from(u16::MAX) {
        return;
    }
    put_attr(buf, FLAGS, AttrType::LARGE_COMMUNITIES, len, |b| {
        for c in v {
            b.put_u32(c.global_admin);
            b.put_u32(c.local_data1);
            b.put_u32(c.local_data2);
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
    fn large_community_golden_vector_decodes_and_encodes() {
        // 64512:1:2 and 4200000001:0:100.
        let bytes = hex("c0 20 18 0000fc00 00000001 00000002 fa56ea01 00000000 00000064");
        let list =
            vec![LargeCommunity::new(64512, 1, 2), LargeCommunity::new(4_200_000_001, 0, 100)];
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(list.clone()));
        assert_eq!(encoded(|b| encode(&list, &ibgp(), b)), bytes);
    }

    #[test]
    fn large_community_bad_length_treated_as_withdraw() {
        for len in [0, 4, 11, 13, 24 + 1] {
            let e = decode(&vec![0; len], &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw, "{len}");
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn duplicate_large_communities_removed_on_decode() {
        let a = hex("0000fc00 00000001 00000002");
        let b = hex("0000fc00 00000001 00000003");
        let value = [&a[..], &b, &a, &b, &a].concat();
        assert_eq!(
            decode(&value, &ibgp()),
            Ok(vec![LargeCommunity::new(64512, 1, 2), LargeCommunity::new(64512, 1, 3)])
        );
        // The same with a list long enough to take the hashing path.
        let distinct: Vec<LargeCommunity> =
            (0..40).map(|i| LargeCommunity::new(64512, 1, i)).collect();
        let mut list = distinct.clone();
        list.extend_from_slice(&distinct[..5]);
        let value = encoded(|b| encode(&list, &ibgp(), b));
        assert_eq!(decode(split_tlv(&value).2, &ibgp()), Ok(distinct));
    }

    #[test]
    fn large_community_displays_and_parses() {
        let c = LargeCommunity::new(64512, 1, 2);
        assert_eq!(c.to_string(), "64512:1:2");
        assert_eq!("64512:1:2".parse(), Ok(c));
        for bad in ["1:2", "1:2:3:4", "4294967296:1:2", "a:b:c", ""] {
            assert!(bad.parse::<LargeCommunity>().is_err(), "{bad}");
        }
    }

    fn unique_list() -> impl Strategy<Value = Vec<LargeCommunity>> {
        prop::collection::vec(any::<(u32, u32, u32)>(), 1..100).prop_map(|v| {
            let mut seen = HashSet::new();
            v.into_iter()
                .map(|(a, b, c)| LargeCommunity::new(a, b, c))
                .filter(|c| seen.insert(*c))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn large_communities_round_trip(list in unique_list()) {
            let out = encoded(|b| encode(&list, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(list));
        }

        #[test]
        fn large_community_display_parses_back(a in any::<u32>(), b in any::<u32>(), c in any::<u32>()) {
            let lc = LargeCommunity::new(a, b, c);
            prop_assert_eq!(lc.to_string().parse(), Ok(lc));
        }
    }
}
