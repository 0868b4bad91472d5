//! NEXT_HOP (RFC 4271 §5.1.3, §6.3; RFC 7606 §7.3).
//!
//! ```text
//! +-------+-------+-------+-------------------------------+
//! | 0x40  |   3   |   4   |   IPv4 address (4 octets)     |
//! +-------+-------+-------+-------------------------------+
//!  flags   type    length
//! ```

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::iana::{AttrType, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};

/// The flags we send: well-known mandatory.
pub const FLAGS: AttrFlags = AttrFlags::WELL_KNOWN;

/// Decodes a NEXT_HOP value and checks it with [`validate`].
///
/// RFC 7606 §7.3: "The NEXT_HOP attribute is considered malformed if its
/// length is not 4 ... SHALL be handled using the approach of
/// "treat-as-withdraw"."
pub fn decode(value: &[u8], _ctx: &DecodeCtx) -> Result<Ipv4Addr, AttrDefect> {
    let Ok(octets) = <[u8; 4]>::try_from(value) else {
        return Err(AttrDefect::withdraw(
            UpdateSubcode::ATTRIBUTE_LENGTH_ERROR,
            format!("NEXT_HOP length {} (expected 4)", value.len()),
        ));
    };
    let addr = Ipv4Addr::from(octets);
    validate(addr)?;
    Ok(addr)
}

/// Rejects next hops that cannot be a neighbour's address.
///
/// RFC 4271 §6.3: "If the NEXT_HOP attribute field is syntactically
/// incorrect, then the Error Subcode MUST be set to Invalid NEXT_HOP
/// Attribute"; RFC 7606 §7.3 turns that into treat-as-withdraw. We count
/// 0.0.0.0/8, loopback, multicast and class E (which includes the limited
/// broadcast address) as incorrect, as FRR's `bgp_nexthop_set` martian check
/// does. The "own address" check needs the session's local address and is
/// the session's job.
pub fn validate(addr: Ipv4Addr) -> Result<(), AttrDefect> {
    let first = addr.octets()[0];
    let why = if first == 0 {
        "in 0.0.0.0/8"
    } else if addr.is_loopback() {
        "loopback"
    } else if addr.is_multicast() {
        "multicast"
    } else if first >= 240 {
        "class E or broadcast"
    } else {
        return Ok(());
    };
    Err(AttrDefect::withdraw(
        UpdateSubcode::INVALID_NEXT_HOP_ATTRIBUTE,
        format!("NEXT_HOP {addr} is {why}"),
    ))
}

/// Encodes the whole NEXT_HOP TLV.
pub fn encode(v: &Ipv4Addr, _ctx: &EncodeCtx, buf: &mut BytesMut) {
    put_attr(buf, FLAGS, AttrType::NEXT_HOP, 4, |b| b.put_slice(&v.octets()));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::unknown::test_util::*;
    use super::*;
    use crate::wire::error::Treatment;

    #[test]
    fn next_hop_golden_vector_decodes_and_encodes() {
        let bytes = hex("40 03 04 0a000001");
        let nh = Ipv4Addr::new(10, 0, 0, 1);
        assert_eq!(decode(split_tlv(&bytes).2, &ibgp()), Ok(nh));
        assert_eq!(encoded(|b| encode(&nh, &ibgp(), b)), bytes);
    }

    #[test]
    fn next_hop_wrong_length_treated_as_withdraw() {
        for v in [&[10, 0, 0][..], &[10, 0, 0, 1, 0][..], &[][..]] {
            let e = decode(v, &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw);
            assert_eq!(e.subcode, UpdateSubcode::ATTRIBUTE_LENGTH_ERROR);
        }
    }

    #[test]
    fn martian_next_hop_treated_as_withdraw() {
        for a in ["0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.5", "239.255.255.255", "240.0.0.1"]
            .iter()
            .chain(&["255.255.255.255"])
        {
            let addr: Ipv4Addr = a.parse().unwrap();
            let e = decode(&addr.octets(), &ibgp()).unwrap_err();
            assert_eq!(e.treatment, Treatment::TreatAsWithdraw, "{a}");
            assert_eq!(e.subcode, UpdateSubcode::INVALID_NEXT_HOP_ATTRIBUTE, "{a}");
        }
    }

    #[test]
    fn ordinary_next_hops_are_valid() {
        for a in ["1.0.0.1", "10.244.0.1", "192.168.1.1", "223.255.255.254", "100.64.0.1"] {
            assert_eq!(validate(a.parse().unwrap()), Ok(()), "{a}");
        }
    }

    proptest! {
        #[test]
        fn next_hop_round_trips(first in 1u8..224, rest in any::<[u8; 3]>()) {
            prop_assume!(first != 127);
            let nh = Ipv4Addr::new(first, rest[0], rest[1], rest[2]);
            let out = encoded(|b| encode(&nh, &ibgp(), b));
            prop_assert_eq!(decode(split_tlv(&out).2, &ibgp()), Ok(nh));
        }
    }
}
