//! Packing many routes into few UPDATE messages (RFC 4271 §4.3, §9.2; RFC
//! 4760 §3–§4; RFC 7606 §5.1).
//!
//! Routes sharing one set of path attributes go out together: the attributes
//! are encoded once per call and copied into each message, the NLRI are
//! written straight into the output buffer until the next one would not fit
//! `ctx.max_message_len()`, and the lengths are patched afterwards. All the
//! messages of a call share one allocation.
//!
//! ```text
//!  IPv4 unicast, IPv4 next hop          everything else
//! +--------------------------------+   +--------------------------------+
//! | header (19): marker, len, 2    |   | header (19): marker, len, 2    |
//! | Withdrawn Routes Length = 0    |   | Withdrawn Routes Length = 0    |
//! | Total Path Attribute Length    |   | Total Path Attribute Length    |
//! | path attributes (shared)       |   | MP_REACH_NLRI (ext. length)    |
//! | NLRI ...                       |   |   AFI SAFI NH-len NH 0 NLRI... |
//! +--------------------------------+   | path attributes (shared)       |
//!                                      +--------------------------------+
//! ```
//!
//! MP_REACH_NLRI comes first, as RFC 7606 §5.1 asks, so its NLRI are written
//! before the shared attributes, whose size is reserved up front. Its length
//! always uses the Extended Length form so it can be patched in place (FRR
//! does the same).

use bytes::{BufMut, Bytes, BytesMut};

use super::attr::list::encode_path_attrs;
use super::attr::{MpNextHop, PathAttrs, mp_reach, mp_unreach, patch_len};
use super::error::EncodeError;
use super::iana::{AfiSafi, MessageType};
use super::negotiate::EncodeCtx;
use super::nlri::Nlri;

/// The message header's marker: "all ones" (RFC 4271 §4.1).
const MARKER: [u8; 16] = [0xff; 16];
/// Marker, Length and Type.
const HEADER_OCTETS: usize = 19;
/// Withdrawn Routes Length and Total Path Attribute Length.
const LENGTH_FIELDS: usize = 4;

/// Starts a message: header with a length to patch, returns its start.
#[inline]
fn start_message(buf: &mut BytesMut) -> usize {
    let start = buf.len();
    buf.put_slice(&MARKER);
    buf.put_u16(0);
    buf.put_u8(MessageType::UPDATE.0);
    start
}

/// Patches the header length and cuts the finished message off `buf`.
#[inline]
fn finish_message(buf: &mut BytesMut, start: usize) -> Bytes {
    // Unlike the other length fields, this one counts the whole message,
    // header included (RFC 4271 §4.1).
    let len = (buf.len() - start) as u16;
    buf[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
    buf.split().freeze()
}

/// Appends NLRI from `rest` while the buffer stays within `limit`; returns
/// how many were written.
#[inline]
fn fill(buf: &mut BytesMut, rest: &[Nlri], add_path: bool, limit: usize) -> usize {
    let mut n = 0;
    for nlri in rest {
        if buf.len() + nlri.encoded_len(add_path) > limit {
            break;
        }
        nlri.encode(add_path, buf);
        n += 1;
    }
    n
}

/// Packs `nlri` of `family`, all with `attrs` and `next_hop`, into complete
/// UPDATE messages (header included), each at most `ctx.max_message_len()`.
///
/// IPv4 unicast NLRI with an IPv4 next hop travel in the message body with a
/// NEXT_HOP attribute; anything else (IPv6, or IPv4 with an IPv6 next hop per
/// RFC 8950) in MP_REACH_NLRI, without NEXT_HOP (RFC 4760 §3). `attrs.next_hop`
/// is ignored in favour of `next_hop`.
///
/// Fails with [`EncodeError::TooLong`] if the attributes leave no room for
/// an NLRI.
pub fn pack_announcements(
    attrs: &PathAttrs,
    family: AfiSafi,
    next_hop: MpNextHop,
    nlri: &[Nlri],
    ctx: &EncodeCtx,
) -> Result<Vec<Bytes>, EncodeError> {
    if nlri.is_empty() {
        return Ok(Vec::new());
    }
    let max = ctx.max_message_len();
    let add_path = ctx.add_path(family);
    let body_nh = match next_hop {
        MpNextHop::Ipv4(a) if family == AfiSafi::IPV4_UNICAST => Some(a),
        _ => None,
    };

    let mut shared = BytesMut::new();
    encode_path_attrs(attrs, body_nh, ctx, &mut shared);
    let mp_octets = if body_nh.is_some() { 0 } else { 4 + 5 + next_hop.wire_len() };
    let fixed = HEADER_OCTETS + LENGTH_FIELDS + mp_octets + shared.len();
    if fixed >= max {
        return Err(EncodeError::TooLong { len: fixed, max });
    }
    let nlri_octets: usize = nlri.iter().map(|n| n.encoded_len(add_path)).sum();
    let msgs = nlri_octets / (max - fixed) + 1;
    let mut buf = BytesMut::with_capacity(nlri_octets + msgs * fixed);
    let mut out = Vec::with_capacity(msgs);

    let mut rest = nlri;
    while !rest.is_empty() {
        let start = start_message(&mut buf);
        let limit = start + max;
        buf.put_u16(0); // no withdrawn routes
        let written = if body_nh.is_some() {
            buf.put_u16(shared.len() as u16);
            buf.put_slice(&shared);
            fill(&mut buf, rest, add_path, limit)
        } else {
            let attrs_at = buf.len();
            buf.put_u16(0);
            let mp_at = mp_reach::start_open_ended(&mut buf, family, &next_hop);
            let n = fill(&mut buf, rest, add_path, limit - shared.len());
            patch_len(&mut buf, mp_at);
            buf.put_slice(&shared);
            patch_len(&mut buf, attrs_at);
            n
        };
        if written == 0 {
            let len = buf.len() - start + rest[0].encoded_len(add_path);
            return Err(EncodeError::TooLong { len, max });
        }
        out.push(finish_message(&mut buf, start));
        rest = &rest[written..];
    }
    Ok(out)
}

/// Packs withdrawals of `nlri` of `family` into complete UPDATE messages,
/// each at most `ctx.max_message_len()`: IPv4 unicast in the Withdrawn
/// Routes field, other families in MP_UNREACH_NLRI (RFC 4760 §4), which then
/// is the only attribute.
pub fn pack_withdrawals(family: AfiSafi, nlri: &[Nlri], ctx: &EncodeCtx) -> Vec<Bytes> {
    let max = ctx.max_message_len();
    let add_path = ctx.add_path(family);
    let nlri_octets: usize = nlri.iter().map(|n| n.encoded_len(add_path)).sum();
    let fixed = HEADER_OCTETS + LENGTH_FIELDS + 6;
    let msgs = nlri_octets / (max - fixed) + 1;
    let mut buf = BytesMut::with_capacity(nlri_octets + msgs * fixed);
    let mut out = Vec::with_capacity(msgs);

    let mut rest = nlri;
    while !rest.is_empty() {
        let start = start_message(&mut buf);
        let limit = start + max;
        let written = if family == AfiSafi::IPV4_UNICAST {
            let at = buf.len();
            buf.put_u16(0);
            let n = fill(&mut buf, rest, add_path, limit - 2);
            patch_len(&mut buf, at);
            buf.put_u16(0); // no path attributes
            n
        } else {
            buf.put_u16(0);
            let attrs_at = buf.len();
            buf.put_u16(0);
            let mp_at = mp_unreach::start_open_ended(&mut buf, family);
            let n = fill(&mut buf, rest, add_path, limit);
            patch_len(&mut buf, mp_at);
            patch_len(&mut buf, attrs_at);
            n
        };
        // Even a 4096-octet message has room for hundreds of the longest
        // NLRI (21 octets), so `written` is never 0.
        out.push(finish_message(&mut buf, start));
        rest = rest.get(written.max(1)..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::wire::attr::{AsPath, AsSegment, Origin, SegmentType};
    use crate::wire::update::{ParsedUpdate, UpdateMsg};

    const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
    const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

    fn attrs() -> PathAttrs {
        PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![AsSegment { kind: SegmentType::AsSequence, asns: vec![64512] }],
            }),
            local_pref: Some(100),
            ..PathAttrs::default()
        }
    }

    fn v4_routes(n: u32) -> Vec<Nlri> {
        (0..n)
            .map(|i| {
                let a = Ipv4Addr::from(0x0a00_0000 + (i << 8));
                Nlri::new(ipnet::Ipv4Net::new(a, 24).unwrap().into())
            })
            .collect()
    }

    fn v6_routes(n: u32) -> Vec<Nlri> {
        (0..n)
            .map(|i| {
                let a = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64));
                Nlri::new(ipnet::Ipv6Net::new(a, 64).unwrap().into())
            })
            .collect()
    }

    fn parse(msg: &Bytes, ctx: &EncodeCtx) -> ParsedUpdate {
        assert!(msg.len() <= ctx.max_message_len());
        assert_eq!(&msg[..16], &MARKER);
        assert_eq!(usize::from(u16::from_be_bytes([msg[16], msg[17]])), msg.len());
        assert_eq!(msg[18], 2);
        UpdateMsg::decode(&msg.slice(19..), &ctx.peer_decode_ctx()).unwrap()
    }

    fn collect(msgs: &[Bytes], ctx: &EncodeCtx, ann: bool) -> Vec<(AfiSafi, Nlri)> {
        let mut v = Vec::new();
        for m in msgs {
            let p = parse(m, ctx);
            assert_eq!(p.treatment, crate::wire::Treatment::Normal, "{:?}", p.errors);
            if ann {
                v.extend(p.announcements().map(|(f, n)| (f, *n)));
            } else {
                v.extend(p.withdrawals().map(|(f, n)| (f, *n)));
            }
        }
        v
    }

    #[test]
    fn one_ipv4_route_packs_like_encode_body() {
        let ctx = EncodeCtx::default();
        let nh = Ipv4Addr::new(192, 0, 2, 1);
        let routes = v4_routes(1);
        let msgs = pack_announcements(&attrs(), V4, MpNextHop::Ipv4(nh), &routes, &ctx).unwrap();
        assert_eq!(msgs.len(), 1);
        let upd = UpdateMsg {
            attrs: PathAttrs { next_hop: Some(nh), ..attrs() },
            nlri: routes,
            ..UpdateMsg::default()
        };
        let mut body = BytesMut::new();
        upd.encode_body(&ctx, &mut body).unwrap();
        assert_eq!(&msgs[0][19..], &body[..]);
    }

    #[test]
    fn thousands_of_ipv4_routes_fill_messages_to_the_limit() {
        let ctx = EncodeCtx::default();
        let routes = v4_routes(5000);
        let nh = MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
        let msgs = pack_announcements(&attrs(), V4, nh, &routes, &ctx).unwrap();
        // 5000 * 4 octets of NLRI in messages of ~4050 usable octets.
        assert_eq!(msgs.len(), 5);
        assert!(msgs[..4].iter().all(|m| m.len() > 4096 - 4));
        let got = collect(&msgs, &ctx, true);
        assert_eq!(got, routes.iter().map(|n| (V4, *n)).collect::<Vec<_>>());
        for m in &msgs {
            assert_eq!(parse(m, &ctx).next_hop(V4), Some(nh));
        }
    }

    #[test]
    fn ipv6_routes_go_in_mp_reach_first_with_extended_length() {
        let ctx = EncodeCtx { extended_message: true, ..EncodeCtx::default() };
        let routes = v6_routes(10_000);
        let nh = MpNextHop::Ipv6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::1".parse().unwrap()),
        };
        let msgs = pack_announcements(&attrs(), V6, nh, &routes, &ctx).unwrap();
        assert_eq!(msgs.len(), 2, "10000 * 9 octets in 65535-octet messages");
        // First attribute is MP_REACH_NLRI with Extended Length.
        assert_eq!(&msgs[0][23..25], &[0x90, 14]);
        let got = collect(&msgs, &ctx, true);
        assert_eq!(got.len(), routes.len());
        let p = parse(&msgs[1], &ctx);
        assert_eq!(p.next_hop(V6), Some(nh));
        assert_eq!(p.update.attrs.next_hop, None);
        assert_eq!(p.update.attrs, attrs());
    }

    #[test]
    fn ipv4_with_ipv6_next_hop_uses_mp_reach() {
        let ctx = EncodeCtx { extended_next_hop: vec![V4], ..EncodeCtx::default() };
        let nh = MpNextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: None };
        let msgs = pack_announcements(&attrs(), V4, nh, &v4_routes(3), &ctx).unwrap();
        let p = parse(&msgs[0], &ctx);
        assert_eq!(p.update.nlri, []);
        assert_eq!(p.update.mp_reach.as_ref().unwrap().nlri, v4_routes(3));
        assert_eq!(p.next_hop(V4), Some(nh));
    }

    #[test]
    fn add_path_ids_are_packed() {
        let ctx = EncodeCtx { add_path: vec![V4], ..EncodeCtx::default() };
        let routes: Vec<_> = v4_routes(2000)
            .into_iter()
            .enumerate()
            .map(|(i, n)| Nlri { path_id: Some(i as u32), ..n })
            .collect();
        let nh = MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
        let msgs = pack_announcements(&attrs(), V4, nh, &routes, &ctx).unwrap();
        assert_eq!(msgs.len(), 4);
        let got: Vec<_> = collect(&msgs, &ctx, true).into_iter().map(|(_, n)| n).collect();
        assert_eq!(got, routes);
    }

    #[test]
    fn withdrawals_pack_for_both_families() {
        let ctx = EncodeCtx::default();
        let routes = v4_routes(3000);
        let msgs = pack_withdrawals(V4, &routes, &ctx);
        assert_eq!(msgs.len(), 3);
        assert_eq!(collect(&msgs, &ctx, false).len(), 3000);
        let routes = v6_routes(1000);
        let msgs = pack_withdrawals(V6, &routes, &ctx);
        assert_eq!(msgs.len(), 3);
        let got = collect(&msgs, &ctx, false);
        assert_eq!(got, routes.iter().map(|n| (V6, *n)).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_to_pack_gives_no_messages() {
        let ctx = EncodeCtx::default();
        let nh = MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
        assert!(pack_announcements(&attrs(), V4, nh, &[], &ctx).unwrap().is_empty());
        assert!(pack_withdrawals(V6, &[], &ctx).is_empty());
    }

    #[test]
    fn attributes_too_large_for_any_route_fail() {
        let ctx = EncodeCtx::default();
        let big = PathAttrs {
            communities: (0..1100).map(crate::wire::attr::Community).collect(),
            ..attrs()
        };
        let nh = MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
        let err = pack_announcements(&big, V4, nh, &v4_routes(1), &ctx).unwrap_err();
        assert!(matches!(err, EncodeError::TooLong { max: 4096, .. }));
    }

    proptest! {
        #[test]
        fn packed_routes_come_back_in_order(n in 0u32..3000, v6: bool, ap: bool) {
            let fam = if v6 { V6 } else { V4 };
            let ctx = EncodeCtx { add_path: if ap { vec![fam] } else { vec![] }, ..EncodeCtx::default() };
            let mut routes = if v6 { v6_routes(n) } else { v4_routes(n) };
            if ap { routes.iter_mut().for_each(|r| r.path_id = Some(7)); }
            let nh = if v6 {
                MpNextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: None }
            } else {
                MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
            };
            let msgs = pack_announcements(&attrs(), fam, nh, &routes, &ctx).unwrap();
            let got: Vec<_> = collect(&msgs, &ctx, true).into_iter().map(|(_, n)| n).collect();
            prop_assert_eq!(&got, &routes);
            let msgs = pack_withdrawals(fam, &routes, &ctx);
            let got: Vec<_> = collect(&msgs, &ctx, false).into_iter().map(|(_, n)| n).collect();
            prop_assert_eq!(got, routes);
        }
    }
}
