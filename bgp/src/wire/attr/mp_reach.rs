//! MP_REACH_NLRI (RFC 4760 §3), with IPv6 next hops (RFC 2545 §3), IPv6 next
//! hops for IPv4 NLRI (RFC 8950 §3) and the error handling of RFC 7606 §7.11.
//!
//! ```text
//! +---------------------------------------------------------+
//! | Address Family Identifier (2 octets)                    |
//! +---------------------------------------------------------+
//! | Subsequent Address Family Identifier (1 octet)          |
//! +---------------------------------------------------------+
//! | Length of Next Hop Network Address (1 octet)            |
//! +---------------------------------------------------------+
//! | Network Address of Next Hop (variable)                  |   4, 16 or 32 octets
//! +---------------------------------------------------------+
//! | Reserved (1 octet)                                      |   was "Number of SNPAs"
//! +---------------------------------------------------------+
//! | Network Layer Reachability Information (variable)       |
//! +---------------------------------------------------------+
//! ```
//!
//! A malformed MP_REACH_NLRI may be handled by "AFI/SAFI disable" or "session
//! reset" (RFC 7606 §7.11). We always reset the session, like FRR: disabling a
//! family silently leaves a half-working session that is harder to notice
//! than a NOTIFICATION in both peers' logs.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use serde::{Deserialize, Serialize};

use super::{AttrDefect, AttrFlags, put_attr};
use crate::wire::error::Treatment;
use crate::wire::iana::{Afi, AfiSafi, AttrType, Safi, UpdateSubcode};
use crate::wire::negotiate::{DecodeCtx, EncodeCtx};
use crate::wire::nlri::{self, Nlri};

/// Flags we send: optional, non-transitive (RFC 4760 §3).
pub const FLAGS: AttrFlags = AttrFlags::OPTIONAL_NON_TRANSITIVE;

/// The next hop carried in MP_REACH_NLRI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl MpNextHop {
    /// Octets of the Network Address of Next Hop field.
    pub fn wire_len(&self) -> usize {
        match self {
            MpNextHop::Ipv4(_) => 4,
            MpNextHop::Ipv6 { link_local: None, .. } => 16,
            MpNextHop::Ipv6 { link_local: Some(_), .. } => 32,
        }
    }

    fn put(&self, buf: &mut BytesMut) {
        match self {
            MpNextHop::Ipv4(a) => buf.put_slice(&a.octets()),
            MpNextHop::Ipv6 { global, link_local } => {
                buf.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    buf.put_slice(&ll.octets());
                }
            }
        }
    }
}

/// MP_REACH_NLRI: reachable NLRI of one family with their next hop.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpReach {
    /// AFI/SAFI of the NLRI.
    pub family: AfiSafi,
    /// Next hop.
    pub next_hop: MpNextHop,
    /// Reachable NLRI.
    pub nlri: Vec<Nlri>,
}

/// What an MP_REACH_NLRI or MP_UNREACH_NLRI decoder found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MpDecoded<T> {
    /// A family we carry (IPv4 or IPv6 unicast), fully parsed.
    Family(T),
    /// A family we do not carry. Not an error: a peer may announce families
    /// we did not negotiate, and the UPDATE reports them as ignored.
    Ignored(AfiSafi),
}

/// A session-reset defect of an MP attribute (RFC 7606 §7.11).
pub(crate) fn malformed(subcode: UpdateSubcode, reason: impl Into<String>) -> AttrDefect {
    AttrDefect::new(Treatment::SessionReset, subcode, reason.into())
}

/// Reads AFI (2 octets) and SAFI (1 octet).
pub(crate) fn family_at(value: &[u8]) -> Option<AfiSafi> {
    match value {
        [a, b, s, ..] => Some(AfiSafi::new(Afi(u16::from_be_bytes([*a, *b])), Safi(*s))),
        _ => None,
    }
}

/// Decodes an MP_REACH_NLRI value.
///
/// Every error is a session reset. The next hop is only checked for syntax
/// here; [`MpReach::check_next_hop`] checks its meaning, separately, so a
/// semantically wrong next hop can still withdraw the NLRI it came with.
pub fn decode(value: &[u8], ctx: &DecodeCtx) -> Result<MpDecoded<MpReach>, AttrDefect> {
    let Some(family) = family_at(value) else {
        return Err(malformed(UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR, "MP_REACH_NLRI too short"));
    };
    if !nlri::is_supported(family) {
        return Ok(MpDecoded::Ignored(family));
    }
    let nh_len = match value.get(3) {
        Some(&l) => usize::from(l),
        None => {
            return Err(malformed(
                UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
                "MP_REACH_NLRI too short",
            ));
        }
    };
    // AFI, SAFI, length, next hop, then the Reserved octet.
    let Some(nh) = value.get(4..4 + nh_len) else {
        return Err(malformed(
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            format!("next hop of {nh_len} octets overruns MP_REACH_NLRI"),
        ));
    };
    // RFC 4760 §3: Reserved "MUST be set to 0, and SHOULD be ignored upon
    // receipt" (it used to count SNPAs, RFC 2858, which nobody sends).
    let Some(nlri_field) = value.get(4 + nh_len + 1..) else {
        return Err(malformed(
            UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
            "MP_REACH_NLRI ends before the Reserved octet",
        ));
    };
    let next_hop = decode_next_hop(family, nh, ctx)?;
    // RFC 4760 §7: an incorrect MP_REACH_NLRI ends the session with
    // "Optional Attribute Error", a prefix longer than the family allows or
    // overrunning the attribute included (RFC 7606 §5.3 and §7.11 keep the
    // reset); Invalid Network Field is for the UPDATE's own NLRI field.
    let nlri = nlri::decode(nlri_field, family, ctx).map_err(|e| {
        malformed(UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR, format!("MP_REACH_NLRI {family}: {e}"))
    })?;
    Ok(MpDecoded::Family(MpReach { family, next_hop, nlri }))
}

/// RFC 7606 §7.11: a next hop length inconsistent with the AFI/SAFI makes the
/// attribute malformed.
fn decode_next_hop(family: AfiSafi, nh: &[u8], ctx: &DecodeCtx) -> Result<MpNextHop, AttrDefect> {
    let v4 = family.afi == Afi::IPV4;
    // RFC 8950 §3: IPv4 NLRI may carry a 16- or 32-octet IPv6 next hop only if
    // the Extended Next Hop Encoding capability was exchanged for the family.
    let v6_ok = !v4 || ctx.extended_next_hop(family);
    match nh.len() {
        4 if v4 => {
            let o: [u8; 4] = nh.try_into().map_err(|_| bad_nh_len(family, 4))?;
            Ok(MpNextHop::Ipv4(Ipv4Addr::from(o)))
        }
        16 if v6_ok => {
            let g: [u8; 16] = nh.try_into().map_err(|_| bad_nh_len(family, 16))?;
            Ok(MpNextHop::Ipv6 { global: Ipv6Addr::from(g), link_local: None })
        }
        // RFC 2545 §3: "the length of the next hop address field is 32 ...
        // [global] ... followed by the link-local address".
        32 if v6_ok => {
            let (g, l) = nh.split_at(16);
            let g: [u8; 16] = g.try_into().map_err(|_| bad_nh_len(family, 32))?;
            let l: [u8; 16] = l.try_into().map_err(|_| bad_nh_len(family, 32))?;
            Ok(MpNextHop::Ipv6 { global: Ipv6Addr::from(g), link_local: Some(Ipv6Addr::from(l)) })
        }
        n => Err(bad_nh_len(family, n)),
    }
}

fn bad_nh_len(family: AfiSafi, n: usize) -> AttrDefect {
    malformed(
        UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
        format!("next hop length {n} is inconsistent with {family}"),
    )
}

impl MpReach {
    /// Checks that the next hop can be used (RFC 4271 §6.3 "semantically
    /// incorrect" next hops, applied to MP_REACH_NLRI by RFC 7606 §7.11):
    /// unspecified, loopback and multicast addresses are refused and the
    /// UPDATE is treated as withdraw.
    pub fn check_next_hop(&self) -> Result<(), AttrDefect> {
        let bad = match self.next_hop {
            MpNextHop::Ipv4(a) => {
                a.is_unspecified()
                    || a.octets()[0] == 0
                    || a.is_loopback()
                    || a.is_multicast()
                    || a.octets()[0] >= 240
            }
            MpNextHop::Ipv6 { global, link_local } => {
                global.is_unspecified()
                    || global.is_loopback()
                    || global.is_multicast()
                    || link_local.is_some_and(|l| l.is_multicast() || l.is_loopback())
            }
        };
        if bad {
            Err(AttrDefect::withdraw(
                UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR,
                format!("unusable next hop {:?} in MP_REACH_NLRI", self.next_hop),
            ))
        } else {
            Ok(())
        }
    }

    /// Octets of the attribute value (without the TLV header).
    pub fn value_len(&self, ctx: &EncodeCtx) -> usize {
        5 + self.next_hop.wire_len() + nlri::encoded_len_all(&self.nlri, self.family, ctx)
    }
}

/// Writes the whole MP_REACH_NLRI TLV. The caller keeps the value under
/// 65536 octets (a message is at most 65535 anyway).
pub fn encode(v: &MpReach, ctx: &EncodeCtx, buf: &mut BytesMut) {
    let len = v.value_len(ctx);
    put_attr(buf, FLAGS, AttrType::MP_REACH_NLRI, len, |buf| {
        put_header(buf, v.family, &v.next_hop);
        nlri::encode_all(&v.nlri, v.family, ctx, buf);
    });
}

/// Starts an MP_REACH_NLRI TLV whose NLRI the caller appends straight into
/// `buf` (the packer). The Extended Length bit is always set so the length
/// can be patched in place; returns the offset of that 2-octet length, to
/// hand to [`super::patch_len`] once the NLRI are written.
pub(crate) fn start_open_ended(buf: &mut BytesMut, family: AfiSafi, nh: &MpNextHop) -> usize {
    buf.put_u8(FLAGS.0 | AttrFlags::EXTENDED_LENGTH);
    buf.put_u8(AttrType::MP_REACH_NLRI.0);
    let at = buf.len();
    buf.put_u16(0);
    put_header(buf, family, nh);
    at
}

fn put_header(buf: &mut BytesMut, family: AfiSafi, nh: &MpNextHop) {
    buf.put_u16(family.afi.0);
    buf.put_u8(family.safi.0);
    buf.put_u8(nh.wire_len() as u8);
    nh.put(buf);
    buf.put_u8(0);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
    const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

    fn tlv(v: &MpReach, ctx: &EncodeCtx) -> Vec<u8> {
        let mut b = BytesMut::new();
        encode(v, ctx, &mut b);
        b.to_vec()
    }

    fn ipv6_reach() -> MpReach {
        MpReach {
            family: V6,
            next_hop: MpNextHop::Ipv6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: Some("fe80::1".parse().unwrap()),
            },
            nlri: vec![Nlri::new("2001:db8:1::/48".parse().unwrap())],
        }
    }

    // IPv6 unicast, 32-octet next hop, one /48, as FRR sends it on a shared link.
    const IPV6_GOLDEN: &str = concat!(
        "800e2c",
        "0002",
        "01",
        "20",
        "20010db8000000000000000000000001",
        "fe800000000000000000000000000001",
        "00",
        "3020010db80001"
    );

    #[test]
    fn ipv6_with_link_local_next_hop_golden() {
        let ctx = EncodeCtx::default();
        let v = ipv6_reach();
        assert_eq!(hex::encode(tlv(&v, &ctx)), IPV6_GOLDEN);
        let wire = hex::decode(IPV6_GOLDEN).unwrap();
        assert_eq!(decode(&wire[3..], &ctx.peer_decode_ctx()).unwrap(), MpDecoded::Family(v));
    }

    #[test]
    fn ipv6_global_only_next_hop_round_trips() {
        let v = MpReach {
            next_hop: MpNextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
            ..ipv6_reach()
        };
        let ctx = EncodeCtx::default();
        let wire = tlv(&v, &ctx);
        assert_eq!(wire[6], 16);
        assert_eq!(decode(&wire[3..], &ctx.peer_decode_ctx()).unwrap(), MpDecoded::Family(v));
    }

    #[test]
    fn ipv4_unicast_with_ipv4_next_hop_golden() {
        let v = MpReach {
            family: V4,
            next_hop: MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
            nlri: vec![Nlri::new("10.0.0.0/24".parse().unwrap())],
        };
        let golden = "800e0d00010104c00002010018 0a0000".replace(' ', "");
        assert_eq!(hex::encode(tlv(&v, &EncodeCtx::default())), golden);
        let wire = hex::decode(golden).unwrap();
        assert_eq!(decode(&wire[3..], &DecodeCtx::default()).unwrap(), MpDecoded::Family(v));
    }

    #[test]
    fn ipv6_next_hop_for_ipv4_nlri_needs_extended_next_hop() {
        let v = MpReach {
            family: V4,
            nlri: vec![Nlri::new("10.0.0.0/24".parse().unwrap())],
            ..ipv6_reach()
        };
        let ctx = DecodeCtx { extended_next_hop: vec![V4], ..DecodeCtx::default() };
        let wire = tlv(&v, &ctx.peer_encode_ctx());
        assert_eq!(decode(&wire[3..], &ctx).unwrap(), MpDecoded::Family(v));
        let err = decode(&wire[3..], &DecodeCtx::default()).unwrap_err();
        assert_eq!(err.treatment, Treatment::SessionReset);
        assert_eq!(err.subcode, UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR);
    }

    #[test]
    fn next_hop_length_inconsistent_with_family_resets_session() {
        // IPv6 with a 4-octet next hop.
        let wire = hex::decode("00020104c000020100").unwrap();
        assert_eq!(
            decode(&wire, &DecodeCtx::default()).unwrap_err().treatment,
            Treatment::SessionReset
        );
        // IPv4 with a 5-octet next hop.
        let wire = hex::decode("00010105c00002010100").unwrap();
        assert!(decode(&wire, &DecodeCtx::default()).is_err());
    }

    #[test]
    fn next_hop_overrunning_the_attribute_resets_session() {
        let wire = hex::decode("00020110200100").unwrap();
        assert_eq!(
            decode(&wire, &DecodeCtx::default()).unwrap_err().treatment,
            Treatment::SessionReset
        );
        // Next hop present, Reserved octet missing.
        let wire = hex::decode("00010104c0000201").unwrap();
        assert!(decode(&wire, &DecodeCtx::default()).is_err());
        assert!(decode(&[0, 1], &DecodeCtx::default()).is_err());
    }

    #[test]
    fn prefix_longer_than_the_family_resets_session_with_optional_attribute_error() {
        let wire = hex::decode("00010104c000020100210a000000").unwrap();
        let err = decode(&wire, &DecodeCtx::default()).unwrap_err();
        assert_eq!(err.treatment, Treatment::SessionReset);
        assert_eq!(err.subcode, UpdateSubcode::OPTIONAL_ATTRIBUTE_ERROR);
    }

    #[test]
    fn nonzero_reserved_octet_is_ignored() {
        let wire = hex::decode("00010104c000020105180a0000").unwrap();
        assert!(matches!(decode(&wire, &DecodeCtx::default()), Ok(MpDecoded::Family(_))));
    }

    #[test]
    fn unsupported_family_is_ignored_not_an_error() {
        // L2VPN EVPN (25/70) with garbage after the family.
        let wire = hex::decode("001946ffff").unwrap();
        assert_eq!(
            decode(&wire, &DecodeCtx::default()).unwrap(),
            MpDecoded::Ignored(AfiSafi::new(Afi(25), Safi(70)))
        );
    }

    #[test]
    fn martian_next_hops_are_treat_as_withdraw() {
        for nh in [
            MpNextHop::Ipv4(Ipv4Addr::new(127, 0, 0, 1)),
            MpNextHop::Ipv4(Ipv4Addr::new(224, 0, 0, 5)),
            MpNextHop::Ipv6 { global: Ipv6Addr::UNSPECIFIED, link_local: None },
            MpNextHop::Ipv6 { global: "ff02::1".parse().unwrap(), link_local: None },
        ] {
            let v = MpReach { next_hop: nh, ..ipv6_reach() };
            assert_eq!(v.check_next_hop().unwrap_err().treatment, Treatment::TreatAsWithdraw);
        }
        assert!(ipv6_reach().check_next_hop().is_ok());
    }

    #[test]
    fn large_values_use_extended_length() {
        let nlri = (0..100u32)
            .map(|i| Nlri::new(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()))
            .collect();
        let v =
            MpReach { family: V4, next_hop: MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1)), nlri };
        let wire = tlv(&v, &EncodeCtx::default());
        assert_eq!(wire[0], 0x90);
        assert_eq!(usize::from(u16::from_be_bytes([wire[2], wire[3]])), wire.len() - 4);
        assert_eq!(decode(&wire[4..], &DecodeCtx::default()).unwrap(), MpDecoded::Family(v));
    }

    proptest! {
        #[test]
        fn random_values_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let ctx = DecodeCtx { extended_next_hop: vec![V4], add_path: vec![V6], ..DecodeCtx::default() };
            let _ = decode(&data, &ctx);
            let mut d = data.clone();
            if d.len() > 3 { d[0] = 0; d[1] = 2; d[2] = 1; }
            let _ = decode(&d, &ctx);
        }
    }
}
