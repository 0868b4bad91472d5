//! Calico `BGPFilter`s in the routing core, through its public API: import
//! rules before best path (rejected paths kept), export rules before the
//! IP-pool rule in Calico's order, and a filter change applied to a running
//! session by judging the kept paths again and re-diffing the export.

use std::net::{IpAddr, Ipv4Addr};

use bgp::config::{BgpFilter, IpPool};
use bgp::rib::filter::PeerFilters;
use bgp::rib::{
    ExportPolicy, LocalRoute, Output, PeerId, PeerInfo, RejectReason, Rib, RibConfig,
    local_pref_from_priority,
};
use bgp::wire::attr::{AsPath, Community, Origin, PathAttrs};
use bgp::wire::{EncodeCtx, Message, Nlri, ParsedMessage, ParsedUpdate, UpdateMsg, decode_message};
use ipnet::IpNet;

const AS: u32 = 64512;
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

#[derive(serde::Deserialize)]
struct File {
    filters: Vec<BgpFilter>,
}

/// Every filter of a `[[filters]]` snippet, in order.
fn filters(text: &str) -> PeerFilters {
    let f: File = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = f.filters.iter().map(|f| f.name.clone()).collect();
    PeerFilters::for_peer(&f.filters, &names)
}

fn peer(i: u8, asn: u32, f: &PeerFilters) -> PeerInfo {
    PeerInfo {
        local_addr_v4: Some(ME),
        export: ExportPolicy::all(),
        filters: f.clone(),
        ..PeerInfo::new(IpAddr::V4(ip(i)), asn, AS, ip(i))
    }
}

fn rib() -> Rib {
    Rib::new(RibConfig::new(AS, ME))
}

fn attrs(path: &[u32], nh: Ipv4Addr) -> PathAttrs {
    PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path.to_vec())),
        next_hop: Some(nh),
        ..PathAttrs::default()
    }
}

fn announce(a: PathAttrs, prefixes: &[&str]) -> ParsedUpdate {
    let nlri = prefixes.iter().map(|p| Nlri::new(net(p))).collect();
    let b = Message::Update(UpdateMsg { attrs: a, nlri, ..UpdateMsg::default() })
        .to_bytes(&ctx())
        .unwrap();
    match decode_message(&b, &ctx().peer_decode_ctx()).unwrap() {
        ParsedMessage::Update(p) => p,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

/// What peer `p` was told: announcements with attributes, withdrawals.
fn seen(out: &Output, p: u32) -> (Vec<(IpNet, PathAttrs)>, Vec<IpNet>) {
    let (mut ann, mut wd) = (Vec::new(), Vec::new());
    for m in out.messages_for(PeerId(p)) {
        let ParsedMessage::Update(u) = decode_message(m, &ctx().peer_decode_ctx()).unwrap() else {
            continue;
        };
        for (_, n) in u.announcements() {
            ann.push((n.prefix, u.update.attrs.clone()));
        }
        wd.extend(u.withdrawals().map(|(_, n)| n.prefix));
    }
    ann.sort_by_key(|(n, _)| *n);
    wd.sort();
    (ann, wd)
}

fn announced(out: &Output, p: u32) -> Vec<IpNet> {
    seen(out, p).0.into_iter().map(|(n, _)| n).collect()
}

const IMPORT_REJECT: &str = r#"
    [[filters]]
    name = "tor-in"
    [[filters.import_v4]]
    action = "Reject"
    cidr = "10.9.0.0/16"
    match_operator = "In"
"#;

#[test]
fn import_reject_keeps_the_path_and_a_filter_change_takes_it_back_without_the_peer() {
    let mut r = rib();
    let f = filters(IMPORT_REJECT);
    r.peer_up(PeerId(2), peer(2, 65001, &f));
    r.peer_up(PeerId(3), peer(3, 65002, &PeerFilters::default()));
    let out =
        r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.1.0/24", "10.8.0.0/24"]));
    assert_eq!(announced(&out, 3), vec![net("10.8.0.0/24")]);
    assert!(r.best(net("10.9.1.0/24")).is_none());
    let kept = r.routes(net("10.9.1.0/24"));
    assert_eq!(kept.len(), 1, "kept in the Adj-RIB-In");
    assert_eq!(kept[0].reason, Some(RejectReason::ImportFiltered));
    assert_eq!(kept[0].filter.as_deref(), Some("filter tor-in import_v4[0]: reject"));
    let stats = r.peer_stats(PeerId(2)).unwrap();
    assert_eq!((stats.received, stats.accepted), (2, 1));
    let rules = r.import_rule_paths(PeerId(2));
    assert_eq!(rules.len(), 1);
    assert_eq!(
        (rules[0].filter.as_str(), rules[0].list, rules[0].rule),
        ("tor-in", "import_v4", 0)
    );
    assert_eq!((rules[0].accept, rules[0].paths), (false, 1));

    let out = r.set_filters(PeerId(2), PeerFilters::default());
    // Now in peer 3's export group: sent what the group sends, its own
    // routes included (its AS_PATH loop check drops them), nothing withdrawn.
    assert!(seen(&out, 2).1.is_empty());
    assert_eq!(announced(&out, 3), vec![net("10.9.1.0/24")]);
    assert!(r.best(net("10.9.1.0/24")).is_some_and(|b| b.filter.is_none()));

    assert!(r.import_rule_paths(PeerId(2)).is_empty(), "no rule judges anything now");

    let out = r.set_filters(PeerId(2), f);
    assert_eq!(seen(&out, 3).1, vec![net("10.9.1.0/24")], "withdrawn again");
    assert_eq!(r.import_rule_paths(PeerId(2))[0].paths, 1);
}

#[test]
fn import_set_priority_becomes_local_pref_and_kernel_metric_even_from_ebgp() {
    let mut r = rib();
    let f = filters(
        r#"
        [[filters]]
        name = "lm"
        [[filters.import_v4]]
        action = "Accept"
        communities = { values = ["65000:100"] }
        operations = [{ set_priority = { value = 100 } }]
        "#,
    );
    r.peer_up(PeerId(2), peer(2, 65001, &f));
    r.peer_up(PeerId(3), peer(3, AS, &PeerFilters::default()));
    let mut a = attrs(&[65001], ip(2));
    a.communities.push(Community((65000 << 16) | 100));
    let out = r.update(PeerId(2), &announce(a, &["10.244.1.7/32"]));
    let best = r.best(net("10.244.1.7/32")).unwrap();
    assert_eq!(best.attrs.attrs.local_pref, Some(local_pref_from_priority(100)));
    assert_eq!(best.filter.as_deref(), Some("filter lm import_v4[0]: accept, set_priority 100"));
    assert_eq!(out.fib[0].route.as_ref().unwrap().priority, 100);
    let (ann, _) = seen(&out, 3);
    assert_eq!(ann[0].1.local_pref, Some(local_pref_from_priority(100)), "carried over iBGP");
}

#[test]
fn export_rules_come_before_the_pool_rule_in_calicos_order() {
    let mut r = Rib::new(RibConfig {
        ip_pools: vec![IpPool { cidr: net("10.244.0.0/16"), ..pool() }],
        ..RibConfig::new(AS, ME)
    });
    let f = filters(
        r#"
        [[filters]]
        name = "tor-out"
        [[filters.export_v4]]
        action = "Reject"
        cidr = "10.244.7.0/24"
        match_operator = "In"
        [[filters.export_v4]]
        action = "Accept"
        cidr = "192.168.5.0/24"
        match_operator = "Equal"
        source = "RemotePeers"
        "#,
    );
    r.peer_up(PeerId(2), peer(2, 65001, &PeerFilters::default()));
    let tor = PeerInfo { export: ExportPolicy::default(), ..peer(3, 65002, &f) };
    r.peer_up(PeerId(3), tor);
    r.originate(net("10.244.7.0/26"), LocalRoute::default());
    r.originate(net("10.244.8.0/26"), LocalRoute::default());
    r.update(
        PeerId(2),
        &announce(attrs(&[65001], ip(2)), &["192.168.5.0/24", "192.168.6.0/24", "10.244.1.0/26"]),
    );
    let out = r.route_refresh(PeerId(3), bgp::wire::AfiSafi::IPV4_UNICAST);
    assert_eq!(
        announced(&out, 3),
        vec![net("10.244.1.0/26"), net("10.244.8.0/26"), net("192.168.5.0/24")],
        "no match: the pool rule (own blocks, learned routes in a pool); accept: past it; \
         reject: even an own block"
    );
}

fn pool() -> IpPool {
    let c: bgp::config::Config =
        toml::from_str("[node]\nname = \"n\"\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n").unwrap();
    c.ip_pools[0].clone()
}

#[test]
fn export_operations_prepend_before_our_as_and_add_communities() {
    let mut r = rib();
    let f = filters(
        r#"
        [[filters]]
        name = "out"
        [[filters.export_v4]]
        action = "Accept"
        peer_type = "eBGP"
        operations = [{ add_community = { value = "65000:200" } }, { prepend_as_path = { prefix = [65000, 65010] } }]
        "#,
    );
    r.peer_up(PeerId(3), peer(3, 65002, &f));
    r.peer_up(PeerId(4), peer(4, AS, &f));
    let out = r.originate(net("10.244.1.0/26"), LocalRoute::default());
    let (ann, _) = seen(&out, 3);
    let a = &ann[0].1;
    assert_eq!(a.as_path, Some(AsPath::from_sequence(vec![AS, 65000, 65010])));
    assert_eq!(a.communities, vec![Community((65000 << 16) | 200)]);
    let (ann, _) = seen(&out, 4);
    assert_eq!(ann[0].1.as_path, Some(AsPath::default()), "iBGP: the eBGP rule does not apply");
}

#[test]
fn an_export_filter_change_sends_only_the_difference_to_that_peer() {
    let mut r = rib();
    let none = PeerFilters::default();
    r.peer_up(PeerId(3), peer(3, 65002, &none));
    r.peer_up(PeerId(4), peer(4, 65002, &none));
    for p in ["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"] {
        r.originate(net(p), LocalRoute::default());
    }
    let f = filters(
        r#"
        [[filters]]
        name = "out"
        [[filters.export_v4]]
        action = "Reject"
        cidr = "10.244.2.0/26"
        match_operator = "Equal"
        [[filters.export_v4]]
        action = "Accept"
        cidr = "10.244.3.0/26"
        match_operator = "Equal"
        operations = [{ add_community = { value = "65000:1" } }]
        "#,
    );
    let out = r.set_filters(PeerId(3), f.clone());
    let (ann, wd) = seen(&out, 3);
    assert_eq!(wd, vec![net("10.244.2.0/26")]);
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].0, net("10.244.3.0/26"));
    assert_eq!(ann[0].1.communities, vec![Community((65000 << 16) | 1)]);
    assert!(out.messages_for(PeerId(4)).is_empty(), "the other peer keeps what it has");
    assert_eq!(r.advertised(PeerId(3), bgp::wire::AfiSafi::IPV4_UNICAST), 2);
    assert_eq!(r.advertised(PeerId(4), bgp::wire::AfiSafi::IPV4_UNICAST), 3);
    assert_eq!(r.set_filters(PeerId(3), f), Output::default(), "the same filters: nothing");

    let out = r.set_filters(PeerId(3), none);
    let (ann, wd) = seen(&out, 3);
    assert!(wd.is_empty());
    assert_eq!(
        ann.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["10.244.2.0/26", "10.244.3.0/26"].map(net)
    );
    assert!(ann[1].1.communities.is_empty());
    assert_eq!(r.export_groups(), 1, "back in the shared group");
}

fn resolving_rib() -> Rib {
    Rib::new(RibConfig { resolve_next_hops: true, ..RibConfig::new(AS, ME) })
}

const NOT_VIA_ETH: &str = r#"
    [[filters]]
    name = "by-iface"
    [[filters.import_v4]]
    action = "Reject"
    interface = "eth*"
    cidr = "10.9.0.0/16"
    match_operator = "In"
"#;

#[test]
fn an_import_interface_rule_sees_the_device_the_next_hop_is_reached_by() {
    let mut r = resolving_rib();
    r.peer_up(PeerId(2), peer(2, 65001, &filters(NOT_VIA_ETH)));
    r.peer_up(PeerId(3), peer(3, 65002, &PeerFilters::default()));
    let nh = IpAddr::V4(ip(2));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.1.0/24", "10.8.0.0/24"]));
    assert_eq!(r.routes(net("10.9.1.0/24"))[0].reason, Some(RejectReason::NextHopUnreachable));

    // Resolved on eth0: the rule rejects the prefix it covers; the other
    // prefix goes out.
    let out = r.nexthop_reachability(nh, Some(0), Some("eth0"));
    assert_eq!(announced(&out, 3), vec![net("10.8.0.0/24")]);
    let kept = r.routes(net("10.9.1.0/24"));
    assert_eq!(kept[0].reason, Some(RejectReason::ImportFiltered));
    assert_eq!(kept[0].filter.as_deref(), Some("filter by-iface import_v4[0]: reject"));
    assert_eq!(kept[0].interface.as_deref(), Some("eth0"));
    assert_eq!(r.import_rule_paths(PeerId(2))[0].paths, 1);

    // A later UPDATE through the same next hop is judged with it at once.
    let out = r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.2.0/24"]));
    assert!(out.messages_for(PeerId(3)).is_empty(), "{:?}", seen(&out, 3));
    assert_eq!(r.routes(net("10.9.2.0/24"))[0].reason, Some(RejectReason::ImportFiltered));

    // The next hop moves to another device: judged again from what the
    // peer sent, without asking it. Every route through it is a new route
    // (as BIRD's next-hop update makes it), so the accepted one is sent
    // again too, unchanged.
    let out = r.nexthop_reachability(nh, Some(0), Some("ens3"));
    assert_eq!(announced(&out, 3), ["10.8.0.0/24", "10.9.1.0/24", "10.9.2.0/24"].map(net));
    assert!(out.messages_for(PeerId(2)).is_empty());
    assert!(r.import_rule_paths(PeerId(2)).is_empty());
    let best = r.best(net("10.9.1.0/24")).unwrap();
    assert_eq!((best.filter, best.interface.as_deref()), (None, Some("ens3")));

    // Unreachable: no interface, as BIRD's "" (and not usable anyway).
    let out = r.nexthop_reachability(nh, None, Some("ens3"));
    assert_eq!(seen(&out, 3).1.len(), 3);
    assert_eq!(r.routes(net("10.9.1.0/24"))[0].interface, None);
    assert_eq!(r.routes(net("10.9.1.0/24"))[0].reason, Some(RejectReason::NextHopUnreachable));
    let out = r.nexthop_reachability(nh, Some(0), Some("eth1"));
    assert_eq!(announced(&out, 3), vec![net("10.8.0.0/24")]);
    assert_eq!(r.import_rule_paths(PeerId(2))[0].paths, 2);
    assert_eq!(r.peer_stats(PeerId(2)).map(|s| (s.received, s.accepted)), Some((3, 1)));
}

#[test]
fn an_export_interface_rule_follows_the_next_hops_device_and_blackholes_have_none() {
    let mut r = resolving_rib();
    let f = filters(
        r#"
        [[filters]]
        name = "tor-out"
        [[filters.export_v4]]
        action = "Reject"
        interface = "vxlan*"
        [[filters.export_v4]]
        action = "Accept"
        interface = "*"
        cidr = "10.244.0.0/16"
        match_operator = "In"
        operations = [{ add_community = { value = "65000:7" } }]
        "#,
    );
    r.peer_up(PeerId(2), peer(2, 65001, &PeerFilters::default()));
    r.peer_up(PeerId(3), peer(3, 65002, &f));
    let nh = IpAddr::V4(ip(2));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.1.0/24"]));
    let out = r.nexthop_reachability(nh, Some(0), Some("vxlan.calico"));
    assert!(out.messages_for(PeerId(3)).is_empty(), "rejected by the vxlan* rule");

    let out = r.nexthop_reachability(nh, Some(1), Some("eth0"));
    let (ann, _) = seen(&out, 3);
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].0, net("10.9.1.0/24"));
    assert!(ann[0].1.communities.is_empty(), "no rule matched: the pool rule sent it");

    // An own block has no interface (BIRD's blackhole: ifname ""), which
    // only `*` matches.
    let out =
        r.originate(net("10.244.1.0/26"), LocalRoute { blackhole: true, ..LocalRoute::default() });
    let (ann, _) = seen(&out, 3);
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].1.communities, vec![Community((65000 << 16) | 7)], "accepted by rule 1");

    let out = r.nexthop_reachability(nh, Some(0), Some("vxlan.calico"));
    assert_eq!(seen(&out, 3).1, vec![net("10.9.1.0/24")], "withdrawn");
}

#[test]
fn without_next_hop_resolution_routes_have_no_interface() {
    let mut r = rib();
    r.peer_up(PeerId(2), peer(2, 65001, &filters(NOT_VIA_ETH)));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.1.0/24"]));
    let best = r.best(net("10.9.1.0/24")).expect("accepted: no interface matches eth*");
    assert_eq!(best.interface, None);
}

/// (filter, list, rule, accept, paths) of each export rule counter of `p`.
fn export_counts(r: &Rib, p: u32) -> Vec<(String, &'static str, u16, bool, u32)> {
    r.export_rule_paths(PeerId(p))
        .into_iter()
        .map(|c| (c.filter, c.list, c.rule, c.accept, c.paths))
        .collect()
}

const TOR_OUT: &str = r#"
    [[filters]]
    name = "tor-out"
    [[filters.export_v4]]
    action = "Reject"
    cidr = "10.9.0.0/16"
    match_operator = "In"
    [[filters.export_v4]]
    action = "Reject"
    communities = { values = ["65000:666"] }
    [[filters.export_v4]]
    action = "Accept"
    source = "RemotePeers"
"#;

#[test]
fn export_rules_count_the_paths_they_decide_for_each_peer_of_the_group() {
    let mut r = rib();
    let f = filters(TOR_OUT);
    r.peer_up(PeerId(2), peer(2, 65001, &PeerFilters::default()));
    r.peer_up(PeerId(3), peer(3, 65002, &f));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.1.0/24", "10.9.2.0/24"]));
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.8.0.0/24"]));
    r.originate(net("10.244.1.0/26"), LocalRoute::default());
    let tor_out = |rule, accept, paths| ("tor-out".to_owned(), "export_v4", rule, accept, paths);
    // The own block matches no rule: the pool rule decides, uncounted.
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 2), tor_out(2, true, 1)]);
    assert!(r.export_rule_paths(PeerId(2)).is_empty(), "no export rules");

    // A withdrawal, and a route moving from one rule to another.
    r.update(PeerId(2), &withdraw(&["10.9.2.0/24"]));
    let tagged =
        PathAttrs { communities: vec![Community((65000 << 16) | 666)], ..attrs(&[65001], ip(2)) };
    r.update(PeerId(2), &announce(tagged.clone(), &["10.8.0.0/24"]));
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 1), tor_out(1, false, 1)]);
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.8.0.0/24"]));
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 1), tor_out(2, true, 1)]);

    // A second peer with the same filters shares the group and its counts;
    // the first one's routes are now judged for the group too.
    r.peer_up(PeerId(4), peer(4, 65001, &f));
    r.update(PeerId(4), &announce(attrs(&[65001], ip(4)), &["10.7.0.0/24"]));
    let shared = [tor_out(0, false, 1), tor_out(2, true, 2)];
    assert_eq!(export_counts(&r, 3), shared);
    assert_eq!(export_counts(&r, 4), shared);
    // Alone again: peer 3's group no longer judges peer 3's own routes.
    r.peer_up(PeerId(5), peer(5, 65003, &PeerFilters::default()));
    r.update(PeerId(3), &announce(attrs(&[65002], ip(3)), &["10.6.0.0/24"]));
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 1), tor_out(2, true, 3)]);
    r.peer_down(PeerId(4));
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 1), tor_out(2, true, 1)]);

    // A filter change moves the peer to a group counted afresh.
    r.set_filters(PeerId(3), PeerFilters::default());
    assert!(r.export_rule_paths(PeerId(3)).is_empty());
    r.set_filters(PeerId(3), f);
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 1), tor_out(2, true, 1)]);
}

fn withdraw(prefixes: &[&str]) -> ParsedUpdate {
    let withdrawn = prefixes.iter().map(|p| Nlri::new(net(p))).collect();
    let b =
        Message::Update(UpdateMsg { withdrawn, ..UpdateMsg::default() }).to_bytes(&ctx()).unwrap();
    match decode_message(&b, &ctx().peer_decode_ctx()).unwrap() {
        ParsedMessage::Update(p) => p,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

#[test]
fn with_add_path_every_path_an_export_rule_decides_counts() {
    let mut r = rib();
    let f = filters(TOR_OUT);
    r.peer_up(PeerId(2), peer(2, 65001, &PeerFilters::default()));
    r.peer_up(PeerId(4), peer(4, 65001, &PeerFilters::default()));
    let encode = EncodeCtx { add_path: vec![bgp::wire::AfiSafi::IPV4_UNICAST], ..ctx() };
    r.peer_up(PeerId(3), PeerInfo { encode, ..peer(3, AS, &f) });
    r.update(PeerId(2), &announce(attrs(&[65001], ip(2)), &["10.9.1.0/24", "10.8.0.0/24"]));
    r.update(PeerId(4), &announce(attrs(&[65001, 65005], ip(4)), &["10.9.1.0/24"]));
    let tor_out = |rule, accept, paths| ("tor-out".to_owned(), "export_v4", rule, accept, paths);
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 2), tor_out(2, true, 1)]);
    r.peer_down(PeerId(2));
    assert_eq!(export_counts(&r, 3), [tor_out(0, false, 1)]);
}
