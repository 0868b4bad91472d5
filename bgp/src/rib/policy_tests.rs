//! Route reflection role matrix, import loop checks, export rewrites, the
//! Calico pool filter and the priority ↔ LOCAL_PREF mapping.

use super::*;
use crate::wire::attr::AsPath;

use PeerClass::*;

fn facts(class: PeerClass) -> PeerFacts {
    PeerFacts {
        class,
        addr: "10.0.0.2".parse().unwrap(),
        router_id: Ipv4Addr::new(10, 0, 0, 2),
        local_as: 64512,
        allowed_local_as: 0,
    }
}

fn router(rr: bool) -> RouterFacts {
    RouterFacts {
        router_id: Ipv4Addr::new(10, 0, 0, 1),
        cluster_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
        rr,
    }
}

fn target(class: PeerClass, mode: NextHopMode) -> ExportTarget {
    ExportTarget {
        class,
        local_as: 64512,
        next_hop_mode: mode,
        local_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        local_v6: Some("fd00::1".parse().unwrap()),
        v4_over_v6: false,
        shared_subnet: None,
    }
}

fn learned(path: &[u32]) -> StoredAttrs {
    StoredAttrs {
        src: 1,
        family: AfiSafi::IPV4_UNICAST,
        next_hop: Some(MpNextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 2))),
        iface: None,
        attrs: PathAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(path.to_vec())),
            med: Some(7),
            local_pref: Some(300),
            ..PathAttrs::default()
        },
        import: None,
    }
}

#[test]
fn reflection_matrix_follows_rfc4456() {
    // (from, to, sent without RR, sent as RR)
    let rows = [
        (Local, Ebgp, true, true),
        (Local, IbgpNonClient, true, true),
        (Local, IbgpClient, true, true),
        (Ebgp, Ebgp, true, true),
        (Ebgp, IbgpNonClient, true, true),
        (Ebgp, IbgpClient, true, true),
        (IbgpNonClient, Ebgp, true, true),
        (IbgpNonClient, IbgpNonClient, false, false),
        (IbgpNonClient, IbgpClient, false, true),
        (IbgpClient, Ebgp, true, true),
        (IbgpClient, IbgpNonClient, false, true),
        (IbgpClient, IbgpClient, false, true),
    ];
    for (from, to, plain, rr) in rows {
        assert_eq!(may_send(from, to, false), plain, "{from:?} -> {to:?} without RR");
        assert_eq!(may_send(from, to, true), rr, "{from:?} -> {to:?} as RR");
    }
}

#[test]
fn local_as_in_path_is_a_loop_unless_allowed() {
    let a = learned(&[65001, 64512, 65002]).attrs;
    assert_eq!(import_check(&a, &facts(Ebgp), router(false)), Some(RejectReason::AsLoop));
    let allowed = PeerFacts { allowed_local_as: 1, ..facts(Ebgp) };
    assert_eq!(import_check(&a, &allowed, router(false)), None);
    let twice = learned(&[64512, 65001, 64512]).attrs;
    assert_eq!(import_check(&twice, &allowed, router(false)), Some(RejectReason::AsLoop));
}

#[test]
fn own_originator_id_is_a_loop() {
    let mut a = learned(&[]).attrs;
    a.originator_id = Some(Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(
        import_check(&a, &facts(IbgpNonClient), router(false)),
        Some(RejectReason::OriginatorIdLoop)
    );
    a.originator_id = Some(Ipv4Addr::new(10, 0, 0, 9));
    assert_eq!(import_check(&a, &facts(IbgpNonClient), router(false)), None);
}

#[test]
fn own_cluster_id_in_cluster_list_is_a_loop_for_a_reflector() {
    let mut a = learned(&[]).attrs;
    a.cluster_list = Some(ClusterList(vec![Ipv4Addr::new(2, 2, 2, 2), Ipv4Addr::new(1, 1, 1, 1)]));
    assert_eq!(import_check(&a, &facts(IbgpClient), router(true)), Some(RejectReason::ClusterLoop));
    // Not a reflector: the cluster list is not ours to check.
    assert_eq!(import_check(&a, &facts(IbgpNonClient), router(false)), None);
}

#[test]
fn ebgp_export_prepends_sets_next_hop_self_and_strips_internal_attributes() {
    let mut s = learned(&[65001]);
    s.attrs.originator_id = Some(Ipv4Addr::new(9, 9, 9, 9));
    s.attrs.cluster_list = Some(ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1)]));
    let (a, nh) =
        export_attrs(&s, &facts(IbgpNonClient), &target(Ebgp, NextHopMode::Auto), router(false))
            .unwrap();
    assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![64512, 65001])));
    assert_eq!(nh, MpNextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!((a.local_pref, a.med, a.originator_id, a.cluster_list), (None, None, None, None));
}

#[test]
fn local_med_survives_to_ebgp() {
    let mut s = learned(&[]);
    s.next_hop = None;
    s.attrs.as_path = Some(AsPath::default());
    let (a, _) =
        export_attrs(&s, &facts(Local), &target(Ebgp, NextHopMode::Auto), router(false)).unwrap();
    assert_eq!(a.med, Some(7));
}

#[test]
fn ibgp_export_keeps_next_hop_and_sets_local_pref() {
    let s = learned(&[65001]);
    let (a, nh) =
        export_attrs(&s, &facts(Ebgp), &target(IbgpNonClient, NextHopMode::Auto), router(false))
            .unwrap();
    assert_eq!(nh, MpNextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 2)), "RFC 4271 §5.1.3: unchanged");
    assert_eq!(a.local_pref, Some(DEFAULT_LOCAL_PREF), "eBGP LOCAL_PREF is ours, not theirs");
    assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![65001])));
    assert_eq!(a.med, Some(7));
}

#[test]
fn next_hop_modes() {
    let s = learned(&[65001]);
    let me = MpNextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 1));
    let them = MpNextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 2));
    let f = facts(IbgpClient);
    for (class, mode, want) in [
        (IbgpNonClient, NextHopMode::SelfAddr, me),
        (IbgpNonClient, NextHopMode::Keep, them),
        (Ebgp, NextHopMode::Keep, them),
        (Ebgp, NextHopMode::Auto, me),
    ] {
        let (_, nh) = export_attrs(&s, &f, &target(class, mode), router(true)).unwrap();
        assert_eq!(nh, want, "{class:?} {mode:?}");
    }
}

#[test]
fn reflector_sets_originator_id_and_prepends_cluster_id() {
    let mut s = learned(&[]);
    s.attrs.cluster_list = Some(ClusterList(vec![Ipv4Addr::new(2, 2, 2, 2)]));
    let (a, _) =
        export_attrs(&s, &facts(IbgpClient), &target(IbgpClient, NextHopMode::Auto), router(true))
            .unwrap();
    assert_eq!(a.originator_id, Some(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!(
        a.cluster_list,
        Some(ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2)]))
    );
    // An existing ORIGINATOR_ID is kept.
    s.attrs.originator_id = Some(Ipv4Addr::new(7, 7, 7, 7));
    let (a, _) =
        export_attrs(&s, &facts(IbgpClient), &target(IbgpClient, NextHopMode::Auto), router(true))
            .unwrap();
    assert_eq!(a.originator_id, Some(Ipv4Addr::new(7, 7, 7, 7)));
}

#[test]
fn no_local_address_of_the_family_means_not_sent() {
    let mut s = learned(&[]);
    s.next_hop = None;
    let t = ExportTarget { local_v4: None, ..target(Ebgp, NextHopMode::Auto) };
    assert_eq!(export_attrs(&s, &facts(Local), &t, router(false)), None);
    // With RFC 8950 an IPv6 next hop carries the IPv4 route.
    let t = ExportTarget { v4_over_v6: true, ..t };
    let (_, nh) = export_attrs(&s, &facts(Local), &t, router(false)).unwrap();
    assert!(matches!(nh, MpNextHop::Ipv6 { .. }));
}

fn pool(cidr: &str, disabled: bool) -> IpPool {
    IpPool {
        cidr: cidr.parse().unwrap(),
        ipip_mode: Default::default(),
        vxlan_mode: Default::default(),
        block_size: None,
        disable_bgp_export: disabled,
    }
}

#[test]
fn pool_filter_follows_calico_export_filter() {
    let pools = [pool("10.244.0.0/16", false), pool("10.244.128.0/17", true)];
    let p = ExportPolicy::default();
    let services: [IpNet; 1] = ["10.96.0.0/12".parse().unwrap()];
    let allows = |s: &str| p.allows_learned(s.parse().unwrap(), &pools, &services);
    assert!(allows("10.244.1.0/26"), "inside an enabled pool");
    assert!(!allows("10.244.200.0/26"), "a disabled pool wins where they overlap");
    assert!(!allows("192.168.0.0/24"), "outside every pool");
    assert!(allows("10.96.0.10/32") && allows("10.96.0.0/12"), "inside a service range");
    assert!(!allows("10.96.0.0/11"), "around a service range");
    let extra = ExportPolicy { also_allow: vec!["192.168.0.0/16".parse().unwrap()], ..p };
    assert!(extra.allows_learned("192.168.0.0/24".parse().unwrap(), &pools, &[]));
    assert!(ExportPolicy::all().allows_learned("192.168.0.0/24".parse().unwrap(), &pools, &[]));
}

#[test]
fn priority_maps_to_local_pref_and_back() {
    assert_eq!(local_pref_from_priority(512), 2_147_483_135);
    assert_eq!(priority_from_local_pref(Some(2_147_483_135)), 512);
    assert_eq!(priority_from_local_pref(Some(100)), NORMAL_ROUTE_PRIORITY);
    assert_eq!(priority_from_local_pref(None), NORMAL_ROUTE_PRIORITY);
    assert_eq!(priority_from_local_pref(Some(u32::MAX)), NORMAL_ROUTE_PRIORITY);
}

#[test]
fn ipv6_next_hop_for_ipv4_goes_only_where_rfc8950_was_negotiated() {
    let mut s = learned(&[]);
    s.next_hop = Some(MpNextHop::Ipv6 { global: "fd00::2".parse().unwrap(), link_local: None });
    let f = facts(IbgpClient);
    let keep = target(IbgpNonClient, NextHopMode::Keep);
    let (_, nh) = export_attrs(&s, &f, &keep, router(true)).unwrap();
    assert_eq!(nh, MpNextHop::Ipv4(Ipv4Addr::new(10, 0, 0, 1)), "falls back to our IPv4 address");
    let no_v4 = ExportTarget { local_v4: None, ..keep.clone() };
    assert_eq!(export_attrs(&s, &f, &no_v4, router(true)), None);
    let enh = ExportTarget { v4_over_v6: true, ..keep };
    let (_, nh) = export_attrs(&s, &f, &enh, router(true)).unwrap();
    assert!(matches!(nh, MpNextHop::Ipv6 { .. }));
}

#[test]
fn ebgp_peer_on_a_shared_subnet_gets_a_third_party_next_hop() {
    let on_subnet = ExportTarget {
        shared_subnet: Some("10.0.0.0/24".parse().unwrap()),
        ..target(Ebgp, NextHopMode::Auto)
    };
    let nh = |s: &StoredAttrs, f: PeerClass, t: &ExportTarget| {
        export_attrs(s, &facts(f), t, router(false)).map(|(_, nh)| nh)
    };
    let v4 = |a: [u8; 4]| Some(MpNextHop::Ipv4(Ipv4Addr::from(a)));
    // Learned from an internal peer with a next hop on the subnet: kept.
    let s = learned(&[]);
    assert_eq!(nh(&s, IbgpNonClient, &on_subnet), v4([10, 0, 0, 2]));
    // RFC 4271 §5.1.3 second case: from another external peer, kept too.
    assert_eq!(nh(&learned(&[65001]), Ebgp, &on_subnet), v4([10, 0, 0, 2]));
    // A next hop off the subnet: ours.
    let mut off = learned(&[]);
    off.next_hop = v4([10, 9, 0, 2]);
    assert_eq!(nh(&off, IbgpNonClient, &on_subnet), v4([10, 0, 0, 1]));
    // Local routes carry no learned next hop: ours.
    let mut local = learned(&[]);
    local.next_hop = None;
    assert_eq!(nh(&local, Local, &on_subnet), v4([10, 0, 0, 1]));
    // Without a shared subnet (multihop peer), next hop self as before.
    assert_eq!(nh(&s, IbgpNonClient, &target(Ebgp, NextHopMode::Auto)), v4([10, 0, 0, 1]));
    // Mode `self` always wins over third party.
    let forced = ExportTarget { next_hop_mode: NextHopMode::SelfAddr, ..on_subnet.clone() };
    assert_eq!(nh(&s, IbgpNonClient, &forced), v4([10, 0, 0, 1]));
    // An IPv6 next hop is not in an IPv4 subnet: ours.
    let mut six = learned(&[]);
    six.next_hop = Some(MpNextHop::Ipv6 { global: "fd00::2".parse().unwrap(), link_local: None });
    assert_eq!(nh(&six, IbgpNonClient, &on_subnet), v4([10, 0, 0, 1]));
}

#[test]
fn unknown_optional_transitive_attribute_is_passed_on_with_the_partial_bit() {
    use crate::wire::attr::{AttrFlags, UnknownAttr};
    use crate::wire::iana::AttrType;
    let mut s = learned(&[65001]);
    let unknown = |flags| UnknownAttr {
        flags: AttrFlags(flags),
        attr_type: AttrType(99),
        value: bytes::Bytes::from_static(&[1, 2]),
    };
    s.attrs.unknown = vec![unknown(0xc0)];
    for to in [Ebgp, IbgpNonClient] {
        let (a, _) =
            export_attrs(&s, &facts(Ebgp), &target(to, NextHopMode::Auto), router(false)).unwrap();
        assert_eq!(a.unknown, [unknown(0xe0)], "to {to:?}");
    }
}
