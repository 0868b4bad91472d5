//! NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5) with optional ADD-PATH path
//! identifiers (RFC 7911 §3), and their syntax checks (RFC 7606 §5.3).
//!
//! ```text
//! +--------------------------------+
//! | Path Identifier (4 octets)     |   only when ADD-PATH is negotiated
//! +--------------------------------+   for the family in this direction
//! | Length (1 octet, in bits)      |
//! +--------------------------------+
//! | Prefix (ceil(Length/8) octets) |   trailing bits are irrelevant
//! +--------------------------------+
//! ```
//!
//! This is the hottest code in the speaker: a full table is a million of these.
//! Decoding is a hand-written loop over the slice (no nom, no per-prefix
//! allocation beyond the `Vec` push) and encoding writes straight into the
//! caller's buffer.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use serde::{Deserialize, Serialize};

use super::iana::{Afi, AfiSafi};
use super::negotiate::{DecodeCtx, EncodeCtx};

/// One NLRI entry: a prefix and, when ADD-PATH is in use for its family, its
/// path identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Nlri {
    /// The prefix, host bits cleared.
    pub prefix: IpNet,
    /// RFC 7911 path identifier; `None` when ADD-PATH is not negotiated.
    pub path_id: Option<u32>,
}

impl Nlri {
    /// A prefix without a path identifier.
    pub fn new(prefix: IpNet) -> Self {
        Nlri { prefix, path_id: None }
    }

    /// A prefix with a path identifier.
    pub fn with_path_id(prefix: IpNet, path_id: u32) -> Self {
        Nlri { prefix, path_id: Some(path_id) }
    }

    /// Octets this entry takes on the wire, with or without a path identifier.
    #[inline]
    pub fn encoded_len(&self, add_path: bool) -> usize {
        let id = if add_path { 4 } else { 0 };
        id + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }

    /// Appends this entry. With `add_path` a missing path identifier is sent
    /// as 0; without it any identifier is left out, since the peer would read
    /// it as a prefix length (RFC 7911 §3).
    #[inline]
    pub fn encode(&self, add_path: bool, buf: &mut BytesMut) {
        if add_path {
            buf.put_u32(self.path_id.unwrap_or(0));
        }
        let len = self.prefix.prefix_len();
        let n = usize::from(len).div_ceil(8);
        // Length and prefix octets in one copy: this runs once per prefix per
        // peer group, and each `put_*` is a call with a copy of its own.
        match self.prefix {
            IpNet::V4(p) => {
                let [a, b, c, d] = p.network().octets();
                buf.put_slice(&[len, a, b, c, d][..1 + n]);
            }
            IpNet::V6(p) => {
                let mut e = [0u8; 17];
                e[0] = len;
                e[1..].copy_from_slice(&p.network().octets());
                buf.put_slice(&e[..1 + n]);
            }
        }
    }
}

/// A syntactically incorrect Withdrawn Routes or NLRI field (RFC 7606 §5.3).
///
/// The caller decides what it costs: a session reset with "Invalid Network
/// Field" for the UPDATE body, AFI/SAFI disable or session reset inside
/// MP_REACH_NLRI / MP_UNREACH_NLRI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed NLRI at octet {offset}: {reason}")]
pub struct NlriError {
    /// Offset of the faulty entry within the field.
    pub offset: usize,
    /// What is wrong with it.
    pub reason: Cow<'static, str>,
}

impl NlriError {
    fn new(offset: usize, reason: impl Into<Cow<'static, str>>) -> Self {
        NlriError { offset, reason: reason.into() }
    }
}

/// Whether this codec can parse NLRI of `family` (IPv4 and IPv6 unicast).
#[inline]
pub fn is_supported(family: AfiSafi) -> bool {
    family == AfiSafi::IPV4_UNICAST || family == AfiSafi::IPV6_UNICAST
}

/// Decodes a whole Withdrawn Routes / NLRI field of `family` (which must be
/// [`is_supported`]) into `out`, using the path identifiers negotiated in
/// `ctx`.
///
/// RFC 7606 §5.3: the field is incorrect if "the length of any of the
/// included NLRI is inconsistent with the given AFI/SAFI" or an entry runs
/// past the end of the field. Set host bits are accepted and cleared, as FRR
/// and BIRD do.
pub fn decode_into(
    data: &[u8],
    family: AfiSafi,
    ctx: &DecodeCtx,
    out: &mut Vec<Nlri>,
) -> Result<(), NlriError> {
    let add_path = ctx.add_path(family);
    match family.afi {
        Afi::IPV4 => decode_v4(data, add_path, out),
        Afi::IPV6 => decode_v6(data, add_path, out),
        _ => Err(NlriError::new(0, format!("unsupported family {family}"))),
    }
}

/// Decodes a whole Withdrawn Routes / NLRI field of `family`; see [`decode_into`].
pub fn decode(data: &[u8], family: AfiSafi, ctx: &DecodeCtx) -> Result<Vec<Nlri>, NlriError> {
    // A /24 takes 4 octets, a /64 nine: estimate so that a full field rarely
    // reallocates and a short one wastes little.
    let per = match (family.afi, ctx.add_path(family)) {
        (Afi::IPV6, false) => 8,
        (Afi::IPV6, true) => 12,
        (_, false) => 4,
        (_, true) => 8,
    };
    let mut out = Vec::with_capacity(data.len() / per + 1);
    decode_into(data, family, ctx, &mut out)?;
    Ok(out)
}

/// Reads the optional path identifier at `data[i..]`; returns it and the new offset.
#[inline(always)]
fn path_id_at(data: &[u8], i: usize, add_path: bool) -> Result<(Option<u32>, usize), NlriError> {
    if !add_path {
        return Ok((None, i));
    }
    match data.get(i..i + 4) {
        Some(&[a, b, c, d]) => Ok((Some(u32::from_be_bytes([a, b, c, d])), i + 4)),
        _ => Err(NlriError::new(i, "truncated path identifier")),
    }
}

fn decode_v4(data: &[u8], add_path: bool, out: &mut Vec<Nlri>) -> Result<(), NlriError> {
    let mut i = 0;
    while i < data.len() {
        let start = i;
        let (path_id, j) = path_id_at(data, i, add_path)?;
        let Some(&len) = data.get(j) else {
            return Err(NlriError::new(start, "truncated prefix length"));
        };
        if len > 32 {
            return Err(NlriError::new(start, format!("IPv4 prefix length {len} > 32")));
        }
        let n = usize::from(len).div_ceil(8);
        let Some(bytes) = data.get(j + 1..j + 1 + n) else {
            return Err(NlriError::new(start, format!("/{len} prefix overruns the field")));
        };
        // A fixed-size match instead of a variable-length copy: this is the
        // innermost loop of a full-table load and a memcpy call per prefix
        // shows up there.
        let raw = match *bytes {
            [] => 0,
            [a] => u32::from_be_bytes([a, 0, 0, 0]),
            [a, b] => u32::from_be_bytes([a, b, 0, 0]),
            [a, b, c] => u32::from_be_bytes([a, b, c, 0]),
            [a, b, c, d, ..] => u32::from_be_bytes([a, b, c, d]),
        };
        // Clear host bits: "the value of trailing bits is irrelevant" (RFC 4271 §4.3).
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        let addr = Ipv4Addr::from(raw & mask);
        let net = Ipv4Net::new(addr, len).map_err(|_| NlriError::new(start, "bad length"))?;
        out.push(Nlri { prefix: IpNet::V4(net), path_id });
        i = j + 1 + n;
    }
    Ok(())
}

fn decode_v6(data: &[u8], add_path: bool, out: &mut Vec<Nlri>) -> Result<(), NlriError> {
    let mut i = 0;
    while i < data.len() {
        let start = i;
        let (path_id, j) = path_id_at(data, i, add_path)?;
        let Some(&len) = data.get(j) else {
            return Err(NlriError::new(start, "truncated prefix length"));
        };
        if len > 128 {
            return Err(NlriError::new(start, format!("IPv6 prefix length {len} > 128")));
        }
        let n = usize::from(len).div_ceil(8);
        let Some(bytes) = data.get(j + 1..j + 1 + n) else {
            return Err(NlriError::new(start, format!("/{len} prefix overruns the field")));
        };
        let mut octets = [0u8; 16];
        octets[..n].copy_from_slice(bytes);
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        let addr = Ipv6Addr::from(u128::from_be_bytes(octets) & mask);
        let net = Ipv6Net::new(addr, len).map_err(|_| NlriError::new(start, "bad length"))?;
        out.push(Nlri { prefix: IpNet::V6(net), path_id });
        i = j + 1 + n;
    }
    Ok(())
}

/// Appends every entry of `nlri` for `family`, with path identifiers when
/// `ctx` has ADD-PATH for that family in the send direction.
pub fn encode_all(nlri: &[Nlri], family: AfiSafi, ctx: &EncodeCtx, buf: &mut BytesMut) {
    let add_path = ctx.add_path(family);
    for n in nlri {
        n.encode(add_path, buf);
    }
}

/// Octets `nlri` take on the wire for `family` under `ctx`.
pub fn encoded_len_all(nlri: &[Nlri], family: AfiSafi, ctx: &EncodeCtx) -> usize {
    let add_path = ctx.add_path(family);
    nlri.iter().map(|n| n.encoded_len(add_path)).sum()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ctx_add_path(family: AfiSafi) -> DecodeCtx {
        DecodeCtx { add_path: vec![family], ..DecodeCtx::default() }
    }

    fn enc(nlri: &[Nlri], family: AfiSafi, ctx: &EncodeCtx) -> Vec<u8> {
        let mut buf = BytesMut::new();
        encode_all(nlri, family, ctx, &mut buf);
        assert_eq!(buf.len(), encoded_len_all(nlri, family, ctx));
        buf.to_vec()
    }

    const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
    const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

    #[test]
    fn ipv4_prefixes_decode_and_encode_golden() {
        // 10.0.0.0/8, 192.168.1.0/24, 0.0.0.0/0, 10.1.2.3/32
        let wire = hex::decode("080a18c0a80100200a010203").unwrap();
        let ctx = DecodeCtx::default();
        let got = decode(&wire, V4, &ctx).unwrap();
        let want: Vec<Nlri> = ["10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0", "10.1.2.3/32"]
            .iter()
            .map(|s| Nlri::new(s.parse().unwrap()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(enc(&want, V4, &ctx.peer_encode_ctx()), wire);
    }

    #[test]
    fn ipv6_prefixes_decode_and_encode_golden() {
        // 2001:db8::/32, fd00:1:2:3::/64, ::/0, 2001:db8::1/128
        let wire = hex::decode(
            "2020010db840fd0000010002000300802001 0db8000000000000000000000001".replace(' ', ""),
        )
        .unwrap();
        let ctx = DecodeCtx::default();
        let got = decode(&wire, V6, &ctx).unwrap();
        let want: Vec<Nlri> = ["2001:db8::/32", "fd00:1:2:3::/64", "::/0", "2001:db8::1/128"]
            .iter()
            .map(|s| Nlri::new(s.parse().unwrap()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(enc(&want, V6, &ctx.peer_encode_ctx()), wire);
    }

    #[test]
    fn add_path_ids_are_read_and_written_per_family() {
        // path id 1: 10.0.0.0/24; path id 0x01020304: 10.0.1.0/24
        let wire = hex::decode("00000001180a000001020304180a0001").unwrap();
        let ctx = ctx_add_path(V4);
        let got = decode(&wire, V4, &ctx).unwrap();
        assert_eq!(
            got,
            [
                Nlri::with_path_id("10.0.0.0/24".parse().unwrap(), 1),
                Nlri::with_path_id("10.0.1.0/24".parse().unwrap(), 0x0102_0304),
            ]
        );
        assert_eq!(enc(&got, V4, &ctx.peer_encode_ctx()), wire);
        // ADD-PATH for IPv4 says nothing about IPv6.
        assert!(decode(&hex::decode("20 20010db8".replace(' ', "")).unwrap(), V6, &ctx).is_ok());
    }

    #[test]
    fn missing_path_id_is_sent_as_zero_and_extra_one_dropped() {
        let n = Nlri::new("10.0.0.0/24".parse().unwrap());
        assert_eq!(
            enc(&[n], V4, &ctx_add_path(V4).peer_encode_ctx()),
            hex::decode("00000000180a0000").unwrap()
        );
        let n = Nlri::with_path_id("10.0.0.0/24".parse().unwrap(), 7);
        assert_eq!(enc(&[n], V4, &EncodeCtx::default()), hex::decode("180a0000").unwrap());
    }

    #[test]
    fn host_bits_are_accepted_and_cleared() {
        // 10.1.2.3/16 on the wire, as a sloppy peer might send it.
        let got = decode(&hex::decode("0f0a01").unwrap(), V4, &DecodeCtx::default()).unwrap();
        assert_eq!(got[0].prefix.to_string(), "10.0.0.0/15");
        let got = decode(&hex::decode("0c0aff").unwrap(), V4, &DecodeCtx::default()).unwrap();
        assert_eq!(got[0].prefix.to_string(), "10.240.0.0/12");
        let got = decode(
            &hex::decode("41 20010db8000000 01ff".replace(' ', "")).unwrap(),
            V6,
            &DecodeCtx::default(),
        )
        .unwrap();
        assert_eq!(got[0].prefix.to_string(), "2001:db8:0:1:8000::/65");
    }

    #[test]
    fn ipv4_prefix_longer_than_32_is_invalid() {
        let err = decode(&hex::decode("180a0000210a000000").unwrap(), V4, &DecodeCtx::default())
            .unwrap_err();
        assert_eq!(err.offset, 4);
    }

    #[test]
    fn ipv6_prefix_longer_than_128_is_invalid() {
        let mut wire = vec![129u8];
        wire.extend([0u8; 17]);
        assert!(decode(&wire, V6, &DecodeCtx::default()).is_err());
    }

    #[test]
    fn prefix_overrunning_the_field_is_invalid() {
        assert!(decode(&hex::decode("180a00").unwrap(), V4, &DecodeCtx::default()).is_err());
        assert!(decode(&hex::decode("000000").unwrap(), V4, &ctx_add_path(V4)).is_err());
        assert!(decode(&hex::decode("00000001").unwrap(), V4, &ctx_add_path(V4)).is_err());
    }

    #[test]
    fn empty_field_decodes_to_nothing() {
        assert_eq!(decode(&[], V4, &DecodeCtx::default()).unwrap(), []);
    }

    #[test]
    fn unsupported_family_is_refused() {
        let fam = AfiSafi::new(Afi(25), super::super::iana::Safi(70));
        assert!(decode(&[0], fam, &DecodeCtx::default()).is_err());
        assert!(!is_supported(fam));
    }

    fn arb_nlri(v6: bool, add_path: bool) -> impl Strategy<Value = Nlri> {
        let pfx = if v6 {
            (any::<u128>(), 0u8..=128)
                .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(a.into(), l).unwrap().trunc()))
                .boxed()
        } else {
            (any::<u32>(), 0u8..=32)
                .prop_map(|(a, l)| IpNet::V4(Ipv4Net::new(a.into(), l).unwrap().trunc()))
                .boxed()
        };
        (pfx, any::<u32>())
            .prop_map(move |(prefix, id)| Nlri { prefix, path_id: add_path.then_some(id) })
    }

    proptest! {
        #[test]
        fn nlri_lists_round_trip(
            (v6, add_path, list) in (any::<bool>(), any::<bool>()).prop_flat_map(|(v6, ap)| {
                (Just(v6), Just(ap), proptest::collection::vec(arb_nlri(v6, ap), 0..40))
            })
        ) {
            let family = if v6 { V6 } else { V4 };
            let ctx = if add_path { ctx_add_path(family) } else { DecodeCtx::default() };
            let wire = enc(&list, family, &ctx.peer_encode_ctx());
            prop_assert_eq!(decode(&wire, family, &ctx).unwrap(), list);
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64),
                                    v6: bool, add_path: bool) {
            let family = if v6 { V6 } else { V4 };
            let ctx = if add_path { ctx_add_path(family) } else { DecodeCtx::default() };
            let _ = decode(&data, family, &ctx);
        }
    }
}
