//! CLUSTER_LIST (RFC 4456 §8; RFC 7606 §7.10).
//!
//! ```text
//! +-------+-------+-------+---------------+---------------+----
//! | 0x80  |  10   | 4 * n | CLUSTER_ID 1  | CLUSTER_ID 2  | ...
//! +-------+-------+-------+---------------+---------------+----
//!  flags   type    length    (4 octets each, most recent first)
//! ```

use std::fmt;
use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: optional non-transitive.
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// CLUSTER_LIST: the cluster ids a reflected route passed through, most recent first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterList(pub Vec<Ipv4Addr>);

impl ClusterList {
    /// Whether `id` is already in the list: RFC 4456 §8 "the receiving RR
    /// MUST ignore the advertisement received" when its own CLUSTER_ID is.
    pub fn contains(&self, id: Ipv4Addr) -> bool {
        self.0.contains(&id)
    }

    /// Prepends our CLUSTER_ID when reflecting (RFC 4456 §8: "the RR MUST
    /// prepend its own CLUSTER_ID to the CLUSTER_LIST").
    pub fn prepend(&mut self, id: Ipv4Addr) {
        self.0.insert(0, id);
    }

    /// Number of ids (RFC 4456 §9 prefers the shorter list).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ClusterList {
    /// Space-separated, as FRR and BIRD print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// Decodes a CLUSTER_LIST value.
///
/// RFC 7606 §7.10: "If the CLUSTER_LIST attribute is received from an
/// external neighbor, it SHALL be disregarded" (checked first); otherwise
/// "considered malformed if its length is not a non-zero multiple of 4 ...
/// SHALL be handled using the approach of "treat-as-withdraw"."
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<ClusterList, AttrDefect> {
    if ctx.ebgp {
        return Err(AttrDefect::discard(
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            "CLUSTER_LIST from an external peer",
        ));
    }
    if value.is_empty() || value.len() % 4 != 0 {
        return Err(AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("CLUSTER_LIST length {} (expected a non-zero multiple of 4)", value.len()),
        ));
    }
    let ids = value.chunks_exact(4).map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3])).collect();
    Ok(ClusterList(ids))
}

/// Encodes the whole CLUSTER_LIST TLV (nothing for an empty list, which
/// would be malformed on receipt).
pub fn encode(v: &ClusterList, _ctx: &EncodeCtx, buf: &mut BytesMut) {
    let len = v.0.len() * 4;
    if v.0.is_empty() || len > usize::from(u16::MAX) {
        return;
    }
    put_attr(buf, FLAGS, AttrType::CLUSTER_LIST, len, |b| {
        for id in &v.0 {
            b.put_slice(&id.octets());
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
    fn cluster_list_golden_vector_decodes_and_encodes() {
        let bytes = hex("80 0a 08 0a000001 0a000002");
        let cl = ClusterList(vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]);
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(cl.clone()));
        assert_eq!(encoded(|b| encode(&cl, &ibgp(), b)), bytes);
        assert_eq!(cl.to_string(), "10.0.0.1 10.0.0.2");
    }

    #[test]
    fn cluster_list_bad_length_treated_as_withdraw() {
        for v in [&[][..], &[10, 0, 0, 1, 0][..]] {
            let e = decode(v, &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn cluster_list_from_ebgp_discarded() {
        let e = decode(&[10, 0, 0, 1], &ebgp()).unwrap_err();
        assert_eq!(e.treatment, Treatment::AttributeDiscard);
    }

    #[test]
    fn reflecting_prepends_our_cluster_id() {
        let mut cl = ClusterList(vec![Ipv4Addr::new(10, 0, 0, 2)]);
        cl.prepend(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(cl.0[0], Ipv4Addr::new(10, 0, 0, 1));
        assert!(cl.contains(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(cl.len(), 2);
    }

    #[test]
    fn empty_cluster_list_is_not_encoded() {
        assert!(encoded(|b| encode(&ClusterList::default(), &ibgp(), b)).is_empty());
    }

    proptest! {
        #[test]
        fn cluster_list_round_trips(ids in prop::collection::vec(any::<[u8; 4]>(), 1..100)) {
            let cl = ClusterList(ids.into_iter().map(Ipv4Addr::from).collect());
            let out = encoded(|b| encode(&cl, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(cl));
        }
    }
}
