//! Scenario tests of the routing core through its public API: UPDATEs go
//! in as decoded messages, and what comes out is decoded again and checked
//! against the RFC rules (split horizon, route reflection, eBGP rewrites,
//! End-of-RIB, ADD-PATH, export groups, origination, FIB changes).

use std::net::{IpAddr, Ipv4Addr};

use bgp::config::{IpPool, NextHopMode};
use bgp::rib::{
    ExportPolicy, FibChange, FibRoute, KernelExport, KernelRoute, LocalRoute, Output, PeerId,
    PeerInfo, RejectReason, Rib, RibConfig,
};
use bgp::wire::attr::{AsPath, ClusterList, Community, MpNextHop, Origin, PathAttrs};
use bgp::wire::route_refresh::RouteRefreshSubtype;
use bgp::wire::{
    AfiSafi, EncodeCtx, Message, Nlri, ParsedMessage, ParsedUpdate, UpdateMsg, decode_message,
};
use bytes::Bytes;
use ipnet::IpNet;

const AS: u32 = 64512;
const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, i)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ctx() -> EncodeCtx {
    EncodeCtx { four_octet_as: true, ..EncodeCtx::default() }
}

fn peer(i: u8, asn: u32) -> PeerInfo {
    PeerInfo {
        local_addr_v4: Some(ME),
        export: ExportPolicy::all(),
        ..PeerInfo::new(IpAddr::V4(ip(i)), asn, AS, ip(i))
    }
}

fn rib() -> Rib {
    Rib::new(RibConfig::new(AS, ME))
}

fn reflector() -> Rib {
    Rib::new(RibConfig {
        route_reflector: true,
        cluster_id: Some(Ipv4Addr::new(1, 1, 1, 1)),
        fib: false,
        ..RibConfig::new(AS, ME)
    })
}

fn attrs(path: &[u32], nh: Ipv4Addr) -> PathAttrs {
    PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path.to_vec())),
        next_hop: Some(nh),
        local_pref: if path.is_empty() { Some(100) } else { None },
        ..PathAttrs::default()
    }
}

/// Encodes then decodes, as the session would hand it over.
fn parsed(u: UpdateMsg, c: &EncodeCtx) -> ParsedUpdate {
    let b = Message::Update(u).to_bytes(c).unwrap();
    match decode_message(&b, &c.peer_decode_ctx()).unwrap() {
        ParsedMessage::Update(p) => p,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn announce(a: PathAttrs, prefixes: &[&str]) -> ParsedUpdate {
    let nlri = prefixes.iter().map(|p| Nlri::new(net(p))).collect();
    parsed(UpdateMsg { attrs: a, nlri, ..UpdateMsg::default() }, &ctx())
}

fn withdraw(prefixes: &[&str]) -> ParsedUpdate {
    let withdrawn = prefixes.iter().map(|p| Nlri::new(net(p))).collect();
    parsed(UpdateMsg { withdrawn, ..UpdateMsg::default() }, &ctx())
}

/// What one peer was told, decoded.
#[derive(Debug, Default)]
struct Seen {
    announced: Vec<(Nlri, PathAttrs, MpNextHop)>,
    withdrawn: Vec<Nlri>,
    eor: Vec<AfiSafi>,
    refresh: Vec<RouteRefreshSubtype>,
}

fn seen_with(out: &Output, p: u32, c: &EncodeCtx) -> Seen {
    let mut s = Seen::default();
    for m in out.messages_for(PeerId(p)) {
        match decode_message(m, &c.peer_decode_ctx()).unwrap() {
            ParsedMessage::Update(u) => {
                assert!(u.errors.is_empty(), "{:?}", u.errors);
                if let Some(f) = u.is_end_of_rib() {
                    s.eor.push(f);
                    continue;
                }
                for (f, n) in u.announcements() {
                    let mut a = u.update.attrs.clone();
                    a.next_hop = None;
                    s.announced.push((*n, a, u.next_hop(f).unwrap()));
                }
                s.withdrawn.extend(u.withdrawals().map(|(_, n)| *n));
            }
            ParsedMessage::RouteRefresh(r) => s.refresh.push(r.subtype),
            other => panic!("unexpected {other:?}"),
        }
    }
    s
}

fn seen(out: &Output, p: u32) -> Seen {
    seen_with(out, p, &ctx())
}

fn prefixes(s: &Seen) -> Vec<IpNet> {
    let mut v: Vec<IpNet> = s.announced.iter().map(|(n, _, _)| n.prefix).collect();
    v.sort();
    v
}

#[test]
fn peer_up_sends_table_then_end_of_rib() {
    let mut r = rib();
    r.originate(net("10.244.1.0/26"), LocalRoute { blackhole: true, ..LocalRoute::default() });
    let out = r.peer_up(PeerId(2), peer(2, AS));
    let s = seen(&out, 2);
    assert_eq!(prefixes(&s), vec![net("10.244.1.0/26")]);
    assert_eq!(s.eor, vec![V4], "End-of-RIB after the initial table");
    let last = out.messages_for(PeerId(2)).last().unwrap();
    assert_eq!(last.len(), 23, "the IPv4 End-of-RIB is an empty UPDATE, sent last");
}

#[test]
fn own_block_is_advertised_with_next_hop_self_and_blackholed() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    let route = LocalRoute {
        blackhole: true,
        communities: vec![Community(0xfde8_0001)],
        ..LocalRoute::default()
    };
    let out = r.originate(net("10.244.1.0/26"), route);
    let s = seen(&out, 2);
    let (n, a, nh) = &s.announced[0];
    assert_eq!(n.prefix, net("10.244.1.0/26"));
    assert_eq!(*nh, MpNextHop::Ipv4(ME));
    assert_eq!(a.as_path, Some(AsPath::default()), "iBGP: our AS is not prepended");
    assert_eq!(a.local_pref, Some(100));
    assert_eq!(a.communities, vec![Community(0xfde8_0001)]);
    assert_eq!(out.fib.len(), 1);
    assert_eq!(
        out.fib[0].route,
        Some(FibRoute { next_hops: vec![], blackhole: true, priority: 1024 })
    );

    let out = r.withdraw_local(net("10.244.1.0/26"));
    assert_eq!(seen(&out, 2).withdrawn, vec![Nlri::new(net("10.244.1.0/26"))]);
    assert_eq!(out.fib[0].route, None);
}

#[test]
fn ibgp_route_not_sent_to_other_ibgp_peer() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    r.peer_up(PeerId(3), peer(3, AS));
    let out = r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.2.0/26"]));
    assert!(out.to_peers.is_empty(), "RFC 4271 §9.2: not to other internal peers");
    assert_eq!(out.fib[0].route.as_ref().unwrap().next_hops, vec![IpAddr::V4(ip(2))]);
    assert!(r.best(net("10.244.2.0/26")).is_some());
}

#[test]
fn ebgp_route_goes_to_ibgp_with_next_hop_kept_and_local_pref_added() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, AS));
    let out = r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    let s = seen(&out, 3);
    let (_, a, nh) = &s.announced[0];
    assert_eq!(*nh, MpNextHop::Ipv4(ip(2)));
    assert_eq!(a.local_pref, Some(100));
    assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![65001])));
    assert!(out.messages_for(PeerId(2)).is_empty(), "not back to its lone source");
}

#[test]
fn ebgp_export_prepends_our_as_and_sets_next_hop_self() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, 65002));
    let mut a = attrs(&[65001], ip(2));
    a.med = Some(50);
    let out = r.update(PeerId(2), &announce(a, &["192.0.2.0/24"]));
    let s = seen(&out, 3);
    let (_, a, nh) = &s.announced[0];
    assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![AS, 65001])));
    assert_eq!(*nh, MpNextHop::Ipv4(ME));
    assert_eq!(a.med, None, "RFC 4271 §5.1.4: MED not passed to another AS");
    assert_eq!(a.local_pref, None);
}

#[test]
fn reflector_sets_originator_id_and_cluster_list() {
    let mut r = reflector();
    let client = |i| PeerInfo { rr_client: true, ..peer(i, AS) };
    r.peer_up(PeerId(2), client(2));
    r.peer_up(PeerId(3), client(3));
    r.peer_up(PeerId(4), peer(4, AS));
    r.peer_up(PeerId(5), peer(5, AS));
    assert_eq!(r.export_groups(), 2, "clients share one group, non-clients another");

    // From a client: to every client and non-client.
    let out = r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.2.0/26"]));
    for p in [3, 4, 5] {
        let s = seen(&out, p);
        let (_, a, nh) = &s.announced[0];
        assert_eq!(a.originator_id, Some(ip(2)), "peer {p}");
        assert_eq!(a.cluster_list, Some(ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1)])));
        assert_eq!(*nh, MpNextHop::Ipv4(ip(2)), "reflection keeps the next hop");
    }

    // From a non-client: to clients only.
    let out = r.update(PeerId(4), &announce(attrs(&[], ip(4)), &["10.244.4.0/26"]));
    assert_eq!(seen(&out, 2).announced.len(), 1);
    assert_eq!(seen(&out, 3).announced.len(), 1);
    assert!(out.messages_for(PeerId(5)).is_empty(), "non-client to non-client: never");
}

#[test]
fn reflected_route_with_our_cluster_id_is_a_loop() {
    let mut r = reflector();
    r.peer_up(PeerId(2), PeerInfo { rr_client: true, ..peer(2, AS) });
    let mut a = attrs(&[], ip(2));
    a.originator_id = Some(ip(9));
    a.cluster_list = Some(ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1)]));
    let out = r.update(PeerId(2), &announce(a, &["10.244.9.0/26"]));
    assert!(out.to_peers.is_empty());
    let v = r.routes(net("10.244.9.0/26"));
    assert_eq!(v[0].reason, Some(RejectReason::ClusterLoop));
    assert!(!v[0].best);
}

#[test]
fn route_with_our_originator_id_is_ignored() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    let mut a = attrs(&[], ip(2));
    a.originator_id = Some(ME);
    let out = r.update(PeerId(2), &announce(a, &["10.244.9.0/26"]));
    assert!(out.fib.is_empty());
    assert_eq!(r.routes(net("10.244.9.0/26"))[0].reason, Some(RejectReason::OriginatorIdLoop));
}

#[test]
fn as_loop_is_kept_for_show_but_never_used_unless_allowed() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    let out = r.update(PeerId(2), &announce(attrs(&[65001, AS], ip(2)), &["192.0.2.0/24"]));
    assert!(out.fib.is_empty());
    assert_eq!(r.adj_rib_in(PeerId(2))[0].reason, Some(RejectReason::AsLoop));

    let mut r = rib();
    r.peer_up(PeerId(2), PeerInfo { allowed_local_as: 1, ..peer(2, 65001) });
    let out = r.update(PeerId(2), &announce(attrs(&[65001, AS], ip(2)), &["192.0.2.0/24"]));
    assert_eq!(out.fib.len(), 1, "numAllowedLocalASNumbers = 1 accepts it");
}

#[test]
fn better_path_wins_and_loser_keeps_its_reason() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, 65002));
    r.peer_up(PeerId(4), peer(4, AS));
    r.update(PeerId(2), &announce(attrs(&[65001, 65010], ip(2)), &["192.0.2.0/24"]));
    let out = r.update(PeerId(3), &announce(attrs(&[65002], ip(3)), &["192.0.2.0/24"]));
    let s = seen(&out, 4);
    assert_eq!(s.announced[0].2, MpNextHop::Ipv4(ip(3)), "shorter AS path replaces");
    let v = r.routes(net("192.0.2.0/24"));
    assert_eq!((v[0].peer, v[0].best), (Some(PeerId(3)), true));
    assert_eq!(v[1].reason, Some(RejectReason::AsPathLonger));

    // The best goes away: the other path is announced in its place.
    let out = r.update(PeerId(3), &withdraw(&["192.0.2.0/24"]));
    let s = seen(&out, 4);
    assert_eq!(s.announced[0].2, MpNextHop::Ipv4(ip(2)));
    assert!(s.withdrawn.is_empty(), "an implicit withdraw, not an explicit one");
    assert_eq!(out.fib[0].route.as_ref().unwrap().next_hops, vec![IpAddr::V4(ip(2))]);
}

#[test]
fn equal_paths_form_an_ecmp_route() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    r.peer_up(PeerId(3), peer(3, AS));
    r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.96.0.10/32"]));
    let out = r.update(PeerId(3), &announce(attrs(&[], ip(3)), &["10.96.0.10/32"]));
    let route = out.fib[0].route.clone().unwrap();
    assert_eq!(route.next_hops, vec![IpAddr::V4(ip(2)), IpAddr::V4(ip(3))]);
    let v = r.routes(net("10.96.0.10/32"));
    assert!(v.iter().all(|x| x.multipath));
    assert_eq!(v.iter().filter(|x| x.best).count(), 1);
}

#[test]
fn peer_down_withdraws_its_routes() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, AS));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24", "198.51.100.0/24"]));
    let out = r.peer_down(PeerId(2));
    let mut w: Vec<IpNet> = seen(&out, 3).withdrawn.iter().map(|n| n.prefix).collect();
    w.sort();
    assert_eq!(w, vec![net("192.0.2.0/24"), net("198.51.100.0/24")]);
    assert_eq!(out.fib.iter().filter(|f| f.route.is_none()).count(), 2);
    assert!(r.is_empty());
    assert_eq!(r.attr_sets(), 0);
}

#[test]
fn unreachable_next_hop_holds_the_route_until_resolved() {
    let mut r = Rib::new(RibConfig { resolve_next_hops: true, ..RibConfig::new(AS, ME) });
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, AS));
    let out = r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    assert_eq!(out.track_nexthops, vec![IpAddr::V4(ip(2))]);
    assert!(out.fib.is_empty() && out.to_peers.is_empty());
    assert_eq!(r.routes(net("192.0.2.0/24"))[0].reason, Some(RejectReason::NextHopUnreachable));

    let out = r.nexthop_reachability(IpAddr::V4(ip(2)), Some(10), None);
    assert_eq!(seen(&out, 3).announced.len(), 1);
    assert_eq!(out.fib.len(), 1);
    let out = r.nexthop_reachability(IpAddr::V4(ip(2)), None, None);
    assert_eq!(seen(&out, 3).withdrawn.len(), 1);
    assert_eq!(out.fib[0].route, None);

    let out = r.peer_down(PeerId(2));
    assert_eq!(out.untrack_nexthops, vec![IpAddr::V4(ip(2))]);
}

/// A reachability report reselects the routes through that next hop, and
/// only those: a route re-announced through another next hop follows the
/// new one, and one withdrawn follows none.
#[test]
fn a_next_hop_report_touches_only_the_routes_through_it_now() {
    let mut r = Rib::new(RibConfig { resolve_next_hops: true, ..RibConfig::new(AS, ME) });
    r.peer_up(PeerId(2), peer(2, 65001));
    let (a, b) = (IpAddr::V4(ip(5)), IpAddr::V4(ip(6)));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(5)), &["192.0.2.0/24", "198.51.100.0/24"]));
    assert_eq!(r.nexthop_reachability(a, Some(1), None).fib.len(), 2);
    assert_eq!(r.nexthop_reachability(b, Some(1), None).fib.len(), 0);
    // 192.0.2.0/24 moves to b; 198.51.100.0/24 is withdrawn.
    r.update(PeerId(2), &announce(attrs(&[65001], ip(6)), &["192.0.2.0/24"]));
    r.update(PeerId(2), &withdraw(&["198.51.100.0/24"]));
    assert!(r.nexthop_reachability(a, None, None).fib.is_empty(), "nothing goes through a now");
    let out = r.nexthop_reachability(b, None, None);
    assert_eq!(out.fib.len(), 1);
    assert_eq!((out.fib[0].prefix, out.fib[0].route.as_ref()), (net("192.0.2.0/24"), None));
}

#[test]
fn peers_with_identical_settings_share_one_encoded_stream() {
    let mut r = rib();
    // Peer 1 at 10.0.0.12 (10.0.0.1 is our own address).
    r.peer_up(PeerId(1), peer(12, 65001));
    for i in 2..12 {
        r.peer_up(PeerId(u32::from(i)), peer(i, AS));
    }
    assert_eq!(r.export_groups(), 2);
    let out = r.update(PeerId(1), &announce(attrs(&[65001], ip(12)), &["192.0.2.0/24"]));
    assert_eq!(out.to_peers.len(), 10);
    let first = out.to_peers[0].1[0].as_ptr();
    assert!(out.to_peers.iter().all(|(_, m)| m[0].as_ptr() == first), "one buffer, shared");
}

#[test]
fn add_path_sends_every_path_with_stable_ids() {
    let mut r = rib();
    let ap = EncodeCtx { add_path: vec![V4], ..ctx() };
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, 65002));
    r.peer_up(PeerId(4), PeerInfo { encode: ap.clone(), ..peer(4, AS) });
    let o1 = r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    let o2 = r.update(PeerId(3), &announce(attrs(&[65002, 65003], ip(3)), &["192.0.2.0/24"]));
    let id2 = seen_with(&o1, 4, &ap).announced[0].0.path_id;
    let id3 = seen_with(&o2, 4, &ap).announced[0].0.path_id;
    assert_eq!((id2, id3), (Some(1), Some(2)), "the second path does not replace the first");

    let out = r.update(PeerId(2), &withdraw(&["192.0.2.0/24"]));
    let s = seen_with(&out, 4, &ap);
    assert_eq!(s.withdrawn, vec![Nlri::with_path_id(net("192.0.2.0/24"), 1)]);
    assert!(s.announced.is_empty(), "path 2 is unchanged: nothing to resend");
}

#[test]
fn add_path_receive_keeps_paths_apart() {
    let mut r = rib();
    let ap = EncodeCtx { add_path: vec![V4], ..ctx() };
    r.peer_up(PeerId(2), peer(2, AS));
    let mk = |id, nh| {
        let u = UpdateMsg {
            attrs: attrs(&[], nh),
            nlri: vec![Nlri::with_path_id(net("10.96.0.10/32"), id)],
            ..UpdateMsg::default()
        };
        parsed(u, &ap)
    };
    r.update(PeerId(2), &mk(1, ip(7)));
    let out = r.update(PeerId(2), &mk(2, ip(8)));
    assert_eq!(r.routes(net("10.96.0.10/32")).len(), 2);
    assert_eq!(out.fib[0].route.as_ref().unwrap().next_hops.len(), 2);
}

#[test]
fn enhanced_route_refresh_wraps_the_table_in_borr_and_eorr() {
    let mut r = rib();
    r.originate(net("10.244.1.0/26"), LocalRoute::default());
    r.peer_up(PeerId(2), PeerInfo { enhanced_route_refresh: true, ..peer(2, AS) });
    let out = r.route_refresh(PeerId(2), V4);
    let s = seen(&out, 2);
    assert_eq!(s.refresh, vec![RouteRefreshSubtype::BoRR, RouteRefreshSubtype::EoRR]);
    assert_eq!(prefixes(&s), vec![net("10.244.1.0/26")]);
    assert!(s.eor.is_empty());
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
fn pool_filter_decides_what_learned_routes_are_exported() {
    let cfg = RibConfig { ip_pools: vec![pool("10.244.0.0/16", false)], ..RibConfig::new(AS, ME) };
    let mut r = Rib::new(cfg);
    r.peer_up(PeerId(2), peer(2, AS));
    r.peer_up(PeerId(3), PeerInfo { export: ExportPolicy::default(), ..peer(3, 65003) });
    let out =
        r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.2.0/26", "172.16.0.0/24"]));
    assert_eq!(prefixes(&seen(&out, 3)), vec![net("10.244.2.0/26")], "outside every pool: kept");
    // An own block outside the pools is still advertised.
    let out = r.originate(net("192.168.5.0/26"), LocalRoute::default());
    assert_eq!(seen(&out, 3).announced.len(), 1);
    // Reload: the pool now has BGP export disabled.
    let out = r.set_pools(vec![pool("10.244.0.0/16", true), pool("172.16.0.0/16", false)]);
    let s = seen(&out, 3);
    assert_eq!(s.withdrawn, vec![Nlri::new(net("10.244.2.0/26"))]);
    assert_eq!(prefixes(&s), vec![net("172.16.0.0/24")]);
}

#[test]
fn learned_routes_inside_a_service_range_are_sent_on() {
    // confd's calico_export_to_bgp_peers: `if ( net ~ 10.96.0.0/12 ) then { accept; }`
    // for each advertised range, so another node's (or a ToR's) Service /32 is passed on.
    let cfg = RibConfig { service_ranges: vec![net("10.96.0.0/12")], ..RibConfig::new(AS, ME) };
    let mut r = Rib::new(cfg);
    r.peer_up(PeerId(2), peer(2, AS));
    r.peer_up(PeerId(3), PeerInfo { export: ExportPolicy::default(), ..peer(3, 65003) });
    let out =
        r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.96.0.10/32", "10.112.0.0/24"]));
    assert_eq!(prefixes(&seen(&out, 3)), vec![net("10.96.0.10/32")], "outside: not sent");
    // Reload: the range is gone, and so is the route it let through.
    let out = r.set_export_ranges(Vec::new(), Vec::new());
    assert_eq!(seen(&out, 3).withdrawn, vec![Nlri::new(net("10.96.0.10/32"))]);
}

fn kernel_route(export: KernelExport) -> KernelRoute {
    KernelRoute { metric: 1024, export, communities: Vec::new(), large_communities: Vec::new() }
}

#[test]
fn a_bgp_path_wins_over_a_kernel_route_which_is_never_programmed() {
    // BIRD's preferences: BGP 100 over the kernel protocol's 10.
    let p = net("10.244.2.0/26");
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    let out = r.learn_kernel(p, Some(kernel_route(KernelExport::All)));
    assert!(out.fib.is_empty(), "the kernel holds it already");
    assert_eq!(prefixes(&seen(&out, 2)), vec![p]);
    let out = r.update(PeerId(3), &announce(attrs(&[], ip(3)), &["10.244.2.0/26"]));
    assert!(out.is_empty(), "no session with 3");
    r.peer_up(PeerId(3), peer(3, AS));
    let out = r.update(PeerId(3), &announce(attrs(&[], ip(3)), &["10.244.2.0/26"]));
    assert_eq!(out.fib[0].route.as_ref().unwrap().next_hops, [IpAddr::V4(ip(3))]);
    let paths = r.routes(p);
    assert!(paths[0].best && !paths[0].kernel);
    assert_eq!((paths[1].kernel, paths[1].reason), (true, Some(RejectReason::KernelRouteLower)));
    // The BGP path goes: the kernel route is best again, and ours leaves the kernel.
    let out = r.update(PeerId(3), &withdraw(&["10.244.2.0/26"]));
    assert_eq!(out.fib, [FibChange { prefix: p, route: None }]);
    assert!(r.best(p).unwrap().kernel);
    // Felix removes it: withdrawn.
    let out = r.learn_kernel(p, None);
    assert_eq!(seen(&out, 2).withdrawn.len(), 1);
    assert!(r.is_empty());
}

#[test]
fn a_felix_tunnel_route_goes_to_external_peers_only() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    r.peer_up(PeerId(3), peer(3, 65003));
    let out = r.learn_kernel(net("10.244.9.0/26"), Some(kernel_route(KernelExport::Ebgp)));
    assert!(seen(&out, 2).announced.is_empty(), "not over iBGP");
    assert_eq!(prefixes(&seen(&out, 3)), vec![net("10.244.9.0/26")]);
    // A reload makes it everyone's (another verdict): the iBGP peer gets it now.
    let out = r.learn_kernel(net("10.244.9.0/26"), Some(kernel_route(KernelExport::All)));
    assert_eq!(prefixes(&seen(&out, 2)), vec![net("10.244.9.0/26")]);
    let out = r.learn_kernel(net("10.244.9.0/26"), Some(kernel_route(KernelExport::None)));
    assert_eq!(seen(&out, 2).withdrawn.len(), 1);
    assert_eq!(seen(&out, 3).withdrawn.len(), 1);
}

#[test]
fn priority_travels_as_local_pref_and_returns_as_metric() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    let out = r.originate(
        net("10.244.1.5/32"),
        LocalRoute { priority: Some(512), ..LocalRoute::default() },
    );
    assert_eq!(seen(&out, 2).announced[0].1.local_pref, Some(2_147_483_135));

    let mut a = attrs(&[], ip(2));
    a.local_pref = Some(2_147_483_135);
    let out = r.update(PeerId(2), &announce(a, &["10.244.7.5/32"]));
    assert_eq!(out.fib[0].route.as_ref().unwrap().priority, 512);
}

#[test]
fn treat_as_withdraw_update_removes_the_route() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.2.0/26"]));
    // ORIGIN with an undefined value: RFC 7606 §7.1 treat-as-withdraw.
    let mut body = Message::Update(UpdateMsg {
        attrs: attrs(&[], ip(2)),
        nlri: vec![Nlri::new(net("10.244.2.0/26"))],
        ..UpdateMsg::default()
    })
    .to_bytes(&ctx())
    .unwrap()
    .to_vec();
    let at = body.windows(3).position(|w| w == [0x40, 1, 1]).unwrap();
    body[at + 3] = 9;
    let ParsedMessage::Update(p) =
        decode_message(&Bytes::from(body), &ctx().peer_decode_ctx()).unwrap()
    else {
        panic!()
    };
    assert_eq!(p.treatment, bgp::wire::Treatment::TreatAsWithdraw);
    let out = r.update(PeerId(2), &p);
    assert_eq!(out.fib[0].route, None);
    assert!(r.is_empty());
}

#[test]
fn withdraw_then_announce_in_one_update_leaves_it_announced() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, AS));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    let u = UpdateMsg {
        withdrawn: vec![Nlri::new(net("192.0.2.0/24"))],
        attrs: attrs(&[65001, 65009], ip(2)),
        nlri: vec![Nlri::new(net("192.0.2.0/24"))],
        ..UpdateMsg::default()
    };
    let out = r.update(PeerId(2), &parsed(u, &ctx()));
    let s = seen(&out, 3);
    assert!(s.withdrawn.is_empty(), "last change wins: {s:?}");
    assert_eq!(s.announced[0].1.as_path, Some(AsPath::from_sequence(vec![65001, 65009])));
}

#[test]
fn next_hop_self_mode_rewrites_towards_ibgp() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), PeerInfo { next_hop_mode: NextHopMode::SelfAddr, ..peer(3, AS) });
    let out = r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    assert_eq!(seen(&out, 3).announced[0].2, MpNextHop::Ipv4(ME));
}

#[test]
fn ipv6_routes_travel_in_mp_reach_with_our_global_next_hop() {
    let v6 = AfiSafi::IPV6_UNICAST;
    let mut r = rib();
    let me6: std::net::Ipv6Addr = "fd00::1".parse().unwrap();
    let dual =
        |i: u8, asn| PeerInfo { families: vec![V4, v6], local_addr_v6: Some(me6), ..peer(i, asn) };
    r.peer_up(PeerId(2), dual(2, 65001));
    let out = r.peer_up(PeerId(3), dual(3, 65003));
    assert_eq!(seen(&out, 3).eor, vec![V4, v6], "one End-of-RIB per family");

    let out = r.originate(
        net("fd00:10:244::/122"),
        LocalRoute { blackhole: true, ..LocalRoute::default() },
    );
    let s = seen(&out, 3);
    assert_eq!(s.announced[0].2, MpNextHop::Ipv6 { global: me6, link_local: None });
    assert_eq!(s.announced[0].1.as_path, Some(AsPath::from_sequence(vec![AS])));

    let theirs = MpNextHop::Ipv6 {
        global: "fd00::2".parse().unwrap(),
        link_local: Some("fe80::2".parse().unwrap()),
    };
    let u = UpdateMsg {
        attrs: PathAttrs { next_hop: None, ..attrs(&[65001], ip(2)) },
        mp_reach: Some(bgp::wire::attr::MpReach {
            family: v6,
            next_hop: theirs,
            nlri: vec![Nlri::new(net("2001:db8:1::/48"))],
        }),
        ..UpdateMsg::default()
    };
    let out = r.update(PeerId(2), &parsed(u, &ctx()));
    let s = seen(&out, 3);
    assert_eq!(s.announced[0].0.prefix, net("2001:db8:1::/48"));
    assert_eq!(
        s.announced[0].2,
        MpNextHop::Ipv6 { global: me6, link_local: None },
        "eBGP next hop self; a link-local address never leaves its link"
    );
    assert_eq!(
        out.fib[0].route.as_ref().unwrap().next_hops,
        vec!["fd00::2".parse::<IpAddr>().unwrap()]
    );

    // One session, both families: `show peer` counts each on its own.
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24", "198.51.100.0/24"]));
    let st = r.peer_stats(PeerId(2)).unwrap();
    assert_eq!((st.received, st.accepted, st.best), (3, 3, 3));
    let fam = |f: bgp::rib::FamilyStats| (f.received, f.accepted, f.best);
    assert_eq!((fam(st.families[0]), fam(st.families[1])), ((2, 2, 2), (1, 1, 1)));
    assert_eq!(r.sizes(), [(2, 2), (2, 2)], "two IPv4 prefixes; our IPv6 block and theirs");

    let out = r.peer_down(PeerId(2));
    let mut gone = seen(&out, 3).withdrawn;
    gone.sort_by_key(|n| n.prefix);
    let want: Vec<Nlri> =
        ["192.0.2.0/24", "198.51.100.0/24", "2001:db8:1::/48"].map(|p| Nlri::new(net(p))).into();
    assert_eq!(gone, want);
    assert_eq!(r.sizes(), [(0, 0), (1, 1)], "only our own IPv6 block is left");
}

#[test]
fn plain_route_refresh_resends_the_table_without_markers() {
    let mut r = rib();
    r.originate(net("10.244.1.0/26"), LocalRoute::default());
    r.originate(net("10.244.2.0/26"), LocalRoute::default());
    r.peer_up(PeerId(2), peer(2, AS));
    let s = seen(&r.route_refresh(PeerId(2), V4), 2);
    assert_eq!(prefixes(&s), vec![net("10.244.1.0/26"), net("10.244.2.0/26")]);
    assert!(s.refresh.is_empty() && s.eor.is_empty());
    assert!(r.route_refresh(PeerId(2), AfiSafi::IPV6_UNICAST).is_empty(), "not negotiated");
}

#[test]
fn lone_ebgp_peer_is_not_sent_its_own_routes_back() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    let out = r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    assert!(out.to_peers.is_empty());
    // And not in a dump either.
    let s = seen(&r.route_refresh(PeerId(2), V4), 2);
    assert!(s.announced.is_empty());
}

#[test]
fn local_route_beats_learned_and_reoriginating_toggles_the_blackhole() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.1.0/26"]));
    let out =
        r.originate(net("10.244.1.0/26"), LocalRoute { blackhole: true, ..LocalRoute::default() });
    assert!(out.fib[0].route.as_ref().unwrap().blackhole);
    let v = r.routes(net("10.244.1.0/26"));
    assert_eq!(v[0].peer, None);
    assert_eq!(v[1].reason, Some(RejectReason::LocalRoutePreferred));
    // Same attributes, blackhole off (the block became a service CIDR): FIB entry goes.
    let out = r.originate(net("10.244.1.0/26"), LocalRoute::default());
    assert_eq!(out.fib, vec![bgp::rib::FibChange { prefix: net("10.244.1.0/26"), route: None }]);
    // Stop originating: the learned path takes over.
    let out = r.withdraw_local(net("10.244.1.0/26"));
    assert_eq!(out.fib[0].route.as_ref().unwrap().next_hops, vec![IpAddr::V4(ip(2))]);
}

#[test]
fn peer_counters_follow_received_accepted_and_best() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, 65002));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24", "198.51.100.0/24"]));
    r.update(PeerId(2), &announce(attrs(&[65001, AS], ip(2)), &["203.0.113.0/24"]));
    r.update(PeerId(3), &announce(attrs(&[65002], ip(3)), &["192.0.2.0/24"]));
    let s2 = r.peer_stats(PeerId(2)).unwrap();
    let s3 = r.peer_stats(PeerId(3)).unwrap();
    assert_eq!((s2.received, s2.accepted), (3, 2), "the AS loop is held, not accepted");
    // 192.0.2.0/24: equal paths, peer 2 wins on router id.
    assert_eq!((s2.best, s3.best), (2, 0));
    r.update(PeerId(2), &withdraw(&["192.0.2.0/24"]));
    let s3 = r.peer_stats(PeerId(3)).unwrap();
    assert_eq!((s3.received, s3.best), (1, 1), "best moved to peer 3");
    assert_eq!(r.peer_stats(PeerId(2)).unwrap().received, 2);
    assert_eq!(r.peer_stats(PeerId(9)), None);
}

#[test]
fn igp_cost_to_the_next_hop_decides_between_otherwise_equal_paths() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, AS));
    r.peer_up(PeerId(3), peer(3, AS));
    r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.5.0/26"]));
    r.update(PeerId(3), &announce(attrs(&[], ip(3)), &["10.244.5.0/26"]));
    assert_eq!(r.best(net("10.244.5.0/26")).unwrap().peer, Some(PeerId(2)));
    let out = r.nexthop_reachability(IpAddr::V4(ip(2)), Some(50), None);
    assert_eq!(out.fib[0].route.as_ref().unwrap().next_hops, vec![IpAddr::V4(ip(3))]);
    let v = r.routes(net("10.244.5.0/26"));
    assert_eq!((v[0].peer, v[1].reason), (Some(PeerId(3)), Some(RejectReason::IgpCostHigher)));
}

#[test]
fn tor_on_the_node_subnet_sees_each_block_via_its_own_node() {
    // The lab: nodes .11 and .12 in one mesh, a ToR (AS 65000) at .1 on
    // the same /24. Node .11 relays node .12's block to the ToR with .12
    // as next hop (RFC 4271 §5.1.3 third party), its own block with .11.
    let lan = |i: u8| Ipv4Addr::new(192, 168, 1, i);
    let me = lan(11);
    let mut r = Rib::new(RibConfig::new(AS, me));
    let on_lan = |addr: Ipv4Addr, asn: u32| PeerInfo {
        local_addr_v4: Some(me),
        local_subnet: Some(net("192.168.1.0/24")),
        export: ExportPolicy::all(),
        ..PeerInfo::new(IpAddr::V4(addr), asn, AS, addr)
    };
    r.peer_up(PeerId(12), on_lan(lan(12), AS));
    r.peer_up(PeerId(1), on_lan(lan(1), 65000));
    r.originate(net("10.244.1.0/26"), LocalRoute { blackhole: true, ..LocalRoute::default() });
    let out = r.update(PeerId(12), &announce(attrs(&[], lan(12)), &["10.244.2.0/26"]));
    let (_, a, nh) = &seen(&out, 1).announced[0];
    assert_eq!(*nh, MpNextHop::Ipv4(lan(12)), "third party: the node that owns the block");
    assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![AS])));
    let table = seen(&r.route_refresh(PeerId(1), V4), 1);
    let nhs: Vec<(IpNet, MpNextHop)> =
        table.announced.iter().map(|(n, _, nh)| (n.prefix, *nh)).collect();
    assert!(nhs.contains(&(net("10.244.1.0/26"), MpNextHop::Ipv4(me))), "{nhs:?}");
    assert!(nhs.contains(&(net("10.244.2.0/26"), MpNextHop::Ipv4(lan(12)))), "{nhs:?}");

    // A ToR reached over several hops (not on our subnet) gets next hop self.
    let far = Ipv4Addr::new(172, 16, 0, 1);
    let out = r.peer_up(PeerId(2), on_lan(far, 65001));
    let s = seen(&out, 2);
    assert!(s.announced.iter().all(|(_, _, nh)| *nh == MpNextHop::Ipv4(me)), "{s:?}");
}

#[test]
fn advertised_counts_follow_announcements_minus_withdrawals_per_peer() {
    let mut r = rib();
    let adv = |r: &Rib, p: u32| r.advertised(PeerId(p), V4);
    r.originate(net("10.244.1.0/26"), LocalRoute::default());
    r.originate(net("10.244.2.0/26"), LocalRoute::default());
    r.peer_up(PeerId(2), peer(2, 65001));
    assert_eq!(adv(&r, 2), 2, "the initial table");
    r.originate(net("10.244.3.0/26"), LocalRoute::default());
    assert_eq!(adv(&r, 2), 3);
    // New attributes replace the route: still three prefixes held.
    r.originate(net("10.244.3.0/26"), LocalRoute { med: Some(5), ..LocalRoute::default() });
    assert_eq!(adv(&r, 2), 3);
    r.withdraw_local(net("10.244.1.0/26"));
    assert_eq!(adv(&r, 2), 2);
    // The lone eBGP source is not sent its own route (split horizon)...
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    assert_eq!(adv(&r, 2), 2);
    // ...a later iBGP peer in another group gets it, plus the local routes.
    r.peer_up(PeerId(3), peer(3, AS));
    assert_eq!(adv(&r, 3), 3);
    // A peer joining an existing group starts from the group's count.
    r.peer_up(PeerId(4), peer(4, AS));
    assert_eq!(adv(&r, 4), 3);
    r.peer_down(PeerId(2));
    assert_eq!((adv(&r, 3), adv(&r, 4)), (2, 2), "its route was withdrawn from both");
    assert_eq!(adv(&r, 2), 0, "a peer that is down holds nothing");
    assert_eq!(r.advertised(PeerId(3), AfiSafi::IPV6_UNICAST), 0, "not on the session");
}

#[test]
fn add_path_peers_count_every_path_sent() {
    let mut r = rib();
    let ap = EncodeCtx { add_path: vec![V4], ..ctx() };
    r.peer_up(PeerId(2), peer(2, 65001));
    r.peer_up(PeerId(3), peer(3, 65002));
    r.peer_up(PeerId(4), PeerInfo { encode: ap, ..peer(4, AS) });
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["192.0.2.0/24"]));
    r.update(PeerId(3), &announce(attrs(&[65002, 65003], ip(3)), &["192.0.2.0/24"]));
    assert_eq!(r.advertised(PeerId(4), V4), 2, "two paths for one prefix");
    r.update(PeerId(2), &withdraw(&["192.0.2.0/24"]));
    assert_eq!(r.advertised(PeerId(4), V4), 1);
    // Peer 3's path is best now, and goes to peer 2.
    assert_eq!(r.advertised(PeerId(2), V4), 1);
}

/// RFC 4271 §6.3: a NEXT_HOP that is "the IP address of the receiving
/// speaker" is semantically incorrect and "the route SHOULD be ignored":
/// kept for `show routes` with the reason, never best, installed or passed
/// on, whether the address is our end of the session or another of the
/// node's.
#[test]
fn route_with_our_own_address_as_next_hop_is_never_selected_installed_or_sent() {
    let other = Ipv4Addr::new(192, 168, 9, 1);
    let mut r = Rib::new(RibConfig {
        route_reflector: true,
        own_addrs: vec![IpAddr::V4(other)],
        ..RibConfig::new(AS, ME)
    });
    r.peer_up(PeerId(2), PeerInfo { rr_client: true, ..peer(2, AS) });
    r.peer_up(PeerId(3), PeerInfo { rr_client: true, ..peer(3, AS) });
    for (prefix, nh) in [("10.244.2.0/26", ME), ("10.244.3.0/26", other)] {
        let out = r.update(PeerId(2), &announce(attrs(&[], nh), &[prefix]));
        assert!(out.to_peers.is_empty() && out.fib.is_empty(), "{prefix} via {nh}: {out:?}");
        assert!(r.best(net(prefix)).is_none(), "{prefix} via {nh} selected");
        let paths = r.routes(net(prefix));
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].reason, Some(RejectReason::NextHopOwn));
    }
    // The same prefix via the peer itself is fine.
    let out = r.update(PeerId(2), &announce(attrs(&[], ip(2)), &["10.244.2.0/26"]));
    assert_eq!(prefixes(&seen(&out, 3)), [net("10.244.2.0/26")]);
    assert_eq!(out.fib.len(), 1);
}
