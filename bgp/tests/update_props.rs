//! Property tests of the UPDATE codec: random valid UPDATEs survive encode
//! then decode unchanged, and random bytes never panic the decoder.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::attr::ext_community::ExtCommunity;
use bgp::wire::attr::{
    Aggregator, AsPath, AsSegment, ClusterList, Community, LargeCommunity, MpNextHop, MpReach,
    MpUnreach, Origin, PathAttrs, SegmentType, UnknownAttr, decode_attrs,
};
use bgp::wire::{AttrType, Nlri, Treatment, UpdateMsg};
use bytes::{Bytes, BytesMut};
use common::{ALL, Ctx, V6, attr, upd};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

fn arb_v4() -> impl Strategy<Value = Nlri> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(a, l)| Nlri::new(IpNet::V4(Ipv4Net::new(a.into(), l).unwrap().trunc())))
}

fn arb_v6() -> impl Strategy<Value = Nlri> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| Nlri::new(IpNet::V6(Ipv6Net::new(a.into(), l).unwrap().trunc())))
}

fn arb_as_path() -> impl Strategy<Value = AsPath> {
    let seg = (
        prop_oneof![
            Just(SegmentType::AsSequence),
            Just(SegmentType::AsSet),
            Just(SegmentType::ConfedSequence),
            Just(SegmentType::ConfedSet)
        ],
        proptest::collection::vec(1u32.., 1..6),
    )
        .prop_map(|(kind, asns)| AsSegment { kind, asns });
    proptest::collection::vec(seg, 0..4).prop_map(|segments| AsPath { segments })
}

fn arb_attrs() -> impl Strategy<Value = PathAttrs> {
    (
        (
            prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)],
            arb_as_path(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            any::<bool>(),
            proptest::option::of((1u32.., any::<u32>())),
        ),
        (
            proptest::collection::vec(any::<u32>(), 0..5),
            proptest::option::of(any::<u32>()),
            proptest::option::of(proptest::collection::vec(any::<u32>(), 1..4)),
            proptest::collection::vec(any::<[u8; 8]>(), 0..4),
            proptest::collection::btree_set(any::<(u32, u32, u32)>(), 0..4),
            proptest::collection::btree_map(
                33u8..=250,
                proptest::collection::vec(any::<u8>(), 0..10),
                0..3,
            ),
        ),
    )
        .prop_map(
            |((origin, as_path, med, lp, atomic, agg), (comms, orig, cl, ext, large, unknown))| {
                PathAttrs {
                    origin: Some(origin),
                    as_path: Some(as_path),
                    next_hop: None,
                    med,
                    local_pref: lp,
                    atomic_aggregate: atomic,
                    aggregator: agg.map(|(asn, a)| Aggregator { asn, address: Ipv4Addr::from(a) }),
                    communities: comms.into_iter().map(Community).collect(),
                    originator_id: orig.map(Ipv4Addr::from),
                    cluster_list: cl
                        .map(|v| ClusterList(v.into_iter().map(Ipv4Addr::from).collect())),
                    ext_communities: ext.into_iter().map(ExtCommunity::from_bytes).collect(),
                    as4_path: None,
                    as4_aggregator: None,
                    large_communities: large
                        .into_iter()
                        .map(|(g, a, b)| LargeCommunity {
                            global_admin: g,
                            local_data1: a,
                            local_data2: b,
                        })
                        .collect(),
                    unknown: unknown
                        .into_iter()
                        .map(|(t, v)| UnknownAttr {
                            flags: bgp::wire::attr::AttrFlags(0xc0),
                            attr_type: AttrType(t),
                            value: Bytes::from(v),
                        })
                        .collect(),
                }
            },
        )
}

/// A valid UPDATE: IPv4 body NLRI with NEXT_HOP, or IPv6 in MP_REACH_NLRI,
/// plus withdrawals of either kind.
fn arb_update() -> impl Strategy<Value = UpdateMsg> {
    (
        arb_attrs(),
        proptest::collection::vec(arb_v4(), 0..8),
        proptest::collection::vec(arb_v4(), 0..8),
        proptest::collection::vec(arb_v6(), 0..8),
        proptest::collection::vec(arb_v6(), 0..8),
        (1u32..0xdf00_0000, any::<u128>(), proptest::option::of(any::<u128>())),
    )
        .prop_map(|(attrs, withdrawn, nlri, v6_reach, v6_unreach, (nh4, g, ll))| {
            // Keep the next hops away from the martians the decoder refuses.
            let nh4 = Ipv4Addr::from(0x0b00_0000 | (nh4 & 0x00ff_ffff));
            let g = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (g & ((1 << 96) - 1)));
            let ll = ll.map(|l| Ipv6Addr::from((0xfe80_u128 << 112) | (l & ((1 << 64) - 1))));
            let announces = !nlri.is_empty() || !v6_reach.is_empty();
            UpdateMsg {
                attrs: if announces {
                    PathAttrs { next_hop: (!nlri.is_empty()).then_some(nh4), ..attrs }
                } else {
                    PathAttrs::default()
                },
                mp_reach: (!v6_reach.is_empty()).then_some(MpReach {
                    family: V6,
                    next_hop: MpNextHop::Ipv6 { global: g, link_local: ll },
                    nlri: v6_reach,
                }),
                mp_unreach: (!v6_unreach.is_empty())
                    .then_some(MpUnreach { family: V6, withdrawn: v6_unreach }),
                withdrawn,
                nlri,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_valid_updates_round_trip(u in arb_update()) {
        let ctx = Ctx::Ibgp.get();
        let mut buf = BytesMut::new();
        u.encode_body(&ctx.peer_encode_ctx(), &mut buf).unwrap();
        let p = UpdateMsg::decode(&buf.freeze(), &ctx).unwrap();
        prop_assert_eq!(p.treatment, Treatment::Normal, "{:?}", p.errors);
        prop_assert_eq!(p.update, u);
    }

    #[test]
    fn random_bodies_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), c in 0u8..5) {
        let ctx = ALL[usize::from(c)].get();
        let b = Bytes::from(data);
        let _ = UpdateMsg::decode(&b, &ctx);
        let _ = decode_attrs(&b, &ctx);
    }

    /// Random TLVs with plausible framing reach deep into the decoders.
    #[test]
    fn random_attribute_lists_never_panic(
        tlvs in proptest::collection::vec(
            (any::<u8>(), prop_oneof![1u8..=18, Just(32u8), any::<u8>()],
             proptest::collection::vec(any::<u8>(), 0..40)),
            0..8),
        nlri in proptest::collection::vec(any::<u8>(), 0..12),
        c in 0u8..5,
    ) {
        let ctx = ALL[usize::from(c)].get();
        let attrs: String = tlvs.iter().map(|(f, t, v)| attr(*f, *t, &hex::encode(v))).collect();
        let body = Bytes::from(hex::decode(upd("", &attrs, &hex::encode(&nlri))).unwrap());
        if let Ok(p) = UpdateMsg::decode(&body, &ctx) {
            // Whatever was accepted must encode again.
            let mut buf = BytesMut::new();
            let _ = p.update.encode_body(&ctx.peer_encode_ctx(), &mut buf);
            let _ = p.withdrawals().count() + p.announcements().count();
        }
    }
}
