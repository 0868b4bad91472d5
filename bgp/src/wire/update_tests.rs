//! Unit tests of the UPDATE codec: golden bodies, End-of-RIB, body framing
//! and the RFC 7606 iterators. The rule-by-rule RFC 7606 table lives in
//! `bgp/tests/rfc7606.rs`.

use std::net::Ipv4Addr;

use super::*;
use crate::wire::attr::{AsPath, AsSegment, Origin, SegmentType};
use crate::wire::iana::ErrorCode;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

fn ctx4() -> DecodeCtx {
    DecodeCtx { four_octet_as: true, ..DecodeCtx::default() }
}

fn body(h: &str) -> Bytes {
    Bytes::from(hex::decode(h.replace(' ', "")).unwrap())
}

fn encode(u: &UpdateMsg, ctx: &EncodeCtx) -> String {
    let mut b = BytesMut::new();
    u.encode_body(ctx, &mut b).unwrap();
    hex::encode(b)
}

// ORIGIN IGP, AS_PATH (65001), NEXT_HOP 192.0.2.1, MED 0; NLRI 10.0.0.0/24:
// an eBGP announcement between 4-octet-AS speakers.
const IPV4_ANNOUNCE: &str =
    "0000 001b 40010100 4002060201 0000fde9 400304c0000201 80040400000000 180a0000";

fn ipv4_announce() -> UpdateMsg {
    UpdateMsg {
        attrs: PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath {
                segments: vec![AsSegment { kind: SegmentType::AsSequence, asns: vec![65001] }],
            }),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: Some(0),
            ..PathAttrs::default()
        },
        nlri: vec![Nlri::new("10.0.0.0/24".parse().unwrap())],
        ..UpdateMsg::default()
    }
}

#[test]
fn ipv4_announcement_golden_decodes_and_encodes() {
    let p = UpdateMsg::decode(&body(IPV4_ANNOUNCE), &ctx4()).unwrap();
    assert_eq!(p.treatment, Treatment::Normal, "{:?}", p.errors);
    assert_eq!(p.update, ipv4_announce());
    assert_eq!(encode(&ipv4_announce(), &ctx4().peer_encode_ctx()), IPV4_ANNOUNCE.replace(' ', ""));
    assert_eq!(p.attrs_seen.len(), 4);
    assert_eq!(p.next_hop(V4), Some(MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1))));
    assert_eq!(p.announcements().count(), 1);
    assert_eq!(p.withdrawals().count(), 0);
    assert_eq!(p.is_end_of_rib(), None);
}

#[test]
fn ipv4_withdrawal_golden() {
    let u = UpdateMsg {
        withdrawn: vec![Nlri::new("10.0.0.0/24".parse().unwrap())],
        ..UpdateMsg::default()
    };
    assert_eq!(encode(&u, &ctx4().peer_encode_ctx()), "0004180a00000000");
    let p = UpdateMsg::decode(&body("0004180a00000000"), &ctx4()).unwrap();
    assert_eq!(p.update, u);
    assert_eq!(p.withdrawals().collect::<Vec<_>>(), [(V4, &u.withdrawn[0])]);
}

#[test]
fn ipv4_end_of_rib_is_an_empty_update() {
    assert_eq!(encode(&UpdateMsg::end_of_rib(V4), &ctx4().peer_encode_ctx()), "00000000");
    let p = UpdateMsg::decode(&body("00000000"), &ctx4()).unwrap();
    assert_eq!(p.is_end_of_rib(), Some(V4));
}

#[test]
fn ipv6_end_of_rib_is_an_empty_mp_unreach() {
    assert_eq!(
        encode(&UpdateMsg::end_of_rib(V6), &ctx4().peer_encode_ctx()),
        "0000 0006 800f03000201".replace(' ', "")
    );
    let p = UpdateMsg::decode(&body("0000 0006 800f03000201"), &ctx4()).unwrap();
    assert_eq!(p.is_end_of_rib(), Some(V6));
    assert_eq!(UpdateMsg::end_of_rib(V6).is_end_of_rib(), Some(V6));
}

#[test]
fn end_of_rib_of_an_ignored_family_is_not_ipv4_end_of_rib() {
    // MP_UNREACH_NLRI for L2VPN/EVPN, empty.
    let p = UpdateMsg::decode(&body("0000 0006 800f03001946"), &ctx4()).unwrap();
    assert_eq!(p.ignored_families, [AfiSafi::new(crate::wire::Afi(25), crate::wire::Safi(70))]);
    assert_eq!(p.is_end_of_rib(), None);
}

#[test]
fn withdrawn_routes_length_overrun_resets_session() {
    let e = UpdateMsg::decode(&body("0005180a0000 0000"), &ctx4()).unwrap_err();
    assert_eq!(e.notification.code, ErrorCode::UPDATE_MESSAGE);
    assert_eq!(e.notification.subcode, UpdateSubcode::MALFORMED_ATTRIBUTE_LIST.0);
    assert!(UpdateMsg::decode(&body("00"), &ctx4()).is_err());
    assert!(UpdateMsg::decode(&body(""), &ctx4()).is_err());
}

#[test]
fn total_attribute_length_overrun_resets_session() {
    let e = UpdateMsg::decode(&body("0000 0005 40010100"), &ctx4()).unwrap_err();
    assert_eq!(e.notification.subcode, UpdateSubcode::MALFORMED_ATTRIBUTE_LIST.0);
    assert!(UpdateMsg::decode(&body("0000 00"), &ctx4()).is_err());
}

#[test]
fn malformed_nlri_resets_session_with_invalid_network_field() {
    let b = IPV4_ANNOUNCE.replace("180a0000", "210a000000");
    let e = UpdateMsg::decode(&body(&b), &ctx4()).unwrap_err();
    assert_eq!(e.notification.subcode, UpdateSubcode::INVALID_NETWORK_FIELD.0);
    let e = UpdateMsg::decode(&body("0003 180a00 0000"), &ctx4()).unwrap_err();
    assert_eq!(e.notification.subcode, UpdateSubcode::INVALID_NETWORK_FIELD.0);
}

#[test]
fn treat_as_withdraw_turns_announcements_into_withdrawals() {
    // ORIGIN value 3: RFC 7606 §7.1 treat-as-withdraw.
    let b = IPV4_ANNOUNCE.replace("40010100", "40010103");
    let p = UpdateMsg::decode(&body(&b), &ctx4()).unwrap();
    assert_eq!(p.treatment, Treatment::TreatAsWithdraw);
    assert_eq!(p.announcements().count(), 0);
    assert_eq!(p.withdrawals().collect::<Vec<_>>(), [(V4, &p.update.nlri[0])]);
}

#[test]
fn session_reset_reports_the_notification_with_the_attribute() {
    // An unknown well-known attribute (type 99): RFC 4271 §6.3.
    let b = "0000 0004 40630100";
    let e = UpdateMsg::decode(&body(b), &ctx4()).unwrap_err();
    assert_eq!(e.notification.subcode, UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE.0);
    assert_eq!(&e.notification.data[..], &[0x40, 0x63, 0x01, 0x00]);
}

#[test]
fn ipv6_announcement_round_trips_with_mp_reach_first() {
    let u = UpdateMsg {
        attrs: PathAttrs { next_hop: None, ..ipv4_announce().attrs },
        mp_reach: Some(MpReach {
            family: V6,
            next_hop: MpNextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
            nlri: vec![Nlri::new("2001:db8:1::/48".parse().unwrap())],
        }),
        ..UpdateMsg::default()
    };
    let h = encode(&u, &ctx4().peer_encode_ctx());
    assert_eq!(&h[8..12], "800e", "MP_REACH_NLRI is the first attribute");
    let p = UpdateMsg::decode(&body(&h), &ctx4()).unwrap();
    assert_eq!(p.treatment, Treatment::Normal, "{:?}", p.errors);
    assert_eq!(p.update, u);
    assert_eq!(p.next_hop(V6), u.next_hop(V6));
    assert_eq!(p.next_hop(V4), None);
    assert_eq!(p.announcements().map(|(f, _)| f).collect::<Vec<_>>(), [V6]);
}

#[test]
fn next_hop_in_an_mp_only_update_is_ignored() {
    // MP_UNREACH for IPv6 plus a NEXT_HOP: RFC 4760 §3 "SHOULD ignore".
    let p = UpdateMsg::decode(&body("0000 000d 800f03000201 400304c0000201"), &ctx4()).unwrap();
    assert_eq!(p.treatment, Treatment::Normal);
    assert_eq!(p.update.attrs.next_hop, None);
}

#[test]
fn oversized_update_is_refused_and_buffer_left_untouched() {
    let many: Vec<Nlri> = (0..1100u32)
        .map(|i| Nlri::new(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()))
        .collect();
    let u = UpdateMsg { nlri: many, ..ipv4_announce() };
    let mut b = BytesMut::from(&b"xy"[..]);
    let e = u.encode_body(&ctx4().peer_encode_ctx(), &mut b).unwrap_err();
    assert!(matches!(e, EncodeError::TooLong { max: 4096, .. }));
    assert_eq!(&b[..], b"xy");
    let ext = EncodeCtx { extended_message: true, ..ctx4().peer_encode_ctx() };
    u.encode_body(&ext, &mut b).unwrap();
}

#[test]
fn two_octet_peer_sees_as_trans_and_as4_path_and_we_merge_it_back() {
    let u = UpdateMsg {
        attrs: PathAttrs {
            as_path: Some(AsPath {
                segments: vec![AsSegment {
                    kind: SegmentType::AsSequence,
                    asns: vec![4_200_000_001, 65001],
                }],
            }),
            ..ipv4_announce().attrs
        },
        ..ipv4_announce()
    };
    let old = DecodeCtx::default();
    let h = encode(&u, &old.peer_encode_ctx());
    // AS4_PATH (type 17, optional transitive) follows.
    assert!(h.contains("c011"), "{h}");
    let p = UpdateMsg::decode(&body(&h), &old).unwrap();
    assert_eq!(p.treatment, Treatment::Normal, "{:?}", p.errors);
    assert_eq!(p.update, u);
}
