//! [`RibRoutes`] driven as the owner drives it: sessions come up with real
//! negotiated OPENs, UPDATEs go in decoded, and what comes out is decoded
//! again; a recording [`FibPort`] stands in for the kernel.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::*;
use crate::config::parse_str;
use crate::daemon::LearnedKernelRoute;
use crate::rib::FibRoute;
use crate::session::peer_config;
use crate::wire::attr::{AsPath, Origin, PathAttrs};
use crate::wire::{
    DecodeCtx, Message, Negotiated, Nlri, OpenMsg, ParsedMessage, UpdateMsg, decode_message,
};

const CFG: &str = r#"
    [node]
    name = "a"
    local_as = 65001
    ipv4 = "10.0.0.1/24"
    blocks = ["10.244.1.0/26", "10.244.2.0/26"]
    [[peers]]
    name = "tor"
    address = "10.0.0.254"
    remote_as = 65000
    [[mesh.nodes]]
    name = "b"
    ipv4 = "10.0.0.2"
    [[ip_pools]]
    cidr = "10.244.0.0/16"
"#;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// What the kernel side was asked, shared with the test.
#[derive(Debug, Default)]
struct Recorded {
    fib: Vec<FibChange>,
    tracked: Vec<IpAddr>,
    converged: usize,
}

#[derive(Debug, Clone)]
struct Recorder {
    seen: Arc<Mutex<Recorded>>,
    resolves: bool,
}

impl FibPort for Recorder {
    fn start(&mut self, _inputs: mpsc::UnboundedSender<Input>) {}
    fn apply(&mut self, changes: Vec<FibChange>) {
        self.seen.lock().unwrap().fib.extend(changes);
    }
    fn track(&mut self, add: Vec<IpAddr>, remove: Vec<IpAddr>) {
        let mut s = self.seen.lock().unwrap();
        s.tracked.extend(add);
        s.tracked.retain(|a| !remove.contains(a));
    }
    fn resolves_next_hops(&self) -> bool {
        self.resolves
    }
    fn converged(&mut self) {
        self.seen.lock().unwrap().converged += 1;
    }
    fn restarting(&self) -> bool {
        // A kernel that held routes of a previous run: a start recovers
        // (the tests of a fresh start use `NoFib`).
        true
    }
}

fn with_recorder(cfg: &ValidatedConfig, resolves: bool) -> (RibRoutes, Arc<Mutex<Recorded>>) {
    let seen = Arc::new(Mutex::new(Recorded::default()));
    let r = RibRoutes::new(cfg, Box::new(Recorder { seen: seen.clone(), resolves }));
    (r, seen)
}

fn up_for(cfg: &ValidatedConfig, addr: &str) -> (EffectivePeer, Up) {
    let p = cfg.peer(addr.parse::<std::net::IpAddr>().unwrap()).unwrap().clone();
    let pc = peer_config(&p, cfg.router_id());
    let local = pc.local_open();
    let remote =
        OpenMsg::new(p.remote_as, 90, "10.0.0.9".parse().unwrap(), local.capabilities.clone());
    let mut negotiated = Negotiated::from_opens(&local, &remote, !p.is_ibgp());
    // The remote OPEN reuses our capabilities, 4-octet AS included.
    negotiated.peer_asn = p.remote_as;
    let sa = |s: &str| -> SocketAddr { s.parse().unwrap() };
    (p, Up { epoch: 1, negotiated, local: sa("10.0.0.1:40000"), remote: sa("10.0.0.254:179") })
}

fn decode(b: &Bytes, up: &Up) -> ParsedUpdate {
    let ctx: DecodeCtx = up.negotiated.decode_ctx();
    match decode_message(b, &ctx).unwrap() {
        ParsedMessage::Update(u) => u,
        other => panic!("{other:?}"),
    }
}

/// The UPDATEs `out` holds for the peer of `up`.
fn updates_for(out: &[Outbound], peer: IpAddr, up: &Up) -> Vec<ParsedUpdate> {
    out.iter()
        .filter(|o| o.peer.address == peer)
        .flat_map(|o| o.messages.iter().map(|m| decode(m, up)))
        .collect()
}

fn announced(msgs: &[ParsedUpdate]) -> Vec<IpNet> {
    msgs.iter().flat_map(|m| m.announcements().map(|(_, n)| n.prefix)).collect()
}

fn withdrawn(msgs: &[ParsedUpdate]) -> Vec<IpNet> {
    msgs.iter().flat_map(|m| m.withdrawals().map(|(_, n)| n.prefix)).collect()
}

/// An UPDATE from the eBGP ToR (AS 65000), encoded as it would send it.
fn from_tor(up: &Up, prefixes: &[&str], as_path: Vec<u32>, nh: &str) -> ParsedUpdate {
    let attrs = PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(as_path)),
        next_hop: Some(nh.parse().unwrap()),
        ..PathAttrs::default()
    };
    let ctx = up.negotiated.decode_ctx();
    let add_path = ctx.add_path(AfiSafi::IPV4_UNICAST);
    let nlri = prefixes
        .iter()
        .map(|p| if add_path { Nlri::with_path_id(net(p), 1) } else { Nlri::new(net(p)) })
        .collect();
    let b = Message::Update(UpdateMsg { attrs, nlri, ..UpdateMsg::default() })
        .to_bytes(&up.negotiated.encode_ctx())
        .unwrap();
    match decode_message(&b, &ctx).unwrap() {
        ParsedMessage::Update(u) => u,
        other => panic!("{other:?}"),
    }
}

fn eor(up: &Up) -> ParsedUpdate {
    let b = Message::Update(UpdateMsg::end_of_rib(AfiSafi::IPV4_UNICAST))
        .to_bytes(&up.negotiated.encode_ctx())
        .unwrap();
    decode(&b, up)
}

#[test]
fn ebgp_peer_gets_blocks_with_our_as_prepended_and_end_of_rib() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (p, up) = up_for(&cfg, "10.0.0.254");
    let msgs = updates_for(&r.peer_up(&p, &up), p.address, &up);
    assert_eq!(msgs.len(), 2);
    let a = &msgs[0].update;
    assert_eq!(a.nlri.len(), 2);
    assert_eq!(a.attrs.as_path, Some(AsPath::from_sequence(vec![65001])));
    assert_eq!(a.attrs.next_hop, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(a.attrs.local_pref, None);
    assert_eq!(a.attrs.origin, Some(Origin::Igp));
    assert_eq!(msgs[1].is_end_of_rib(), Some(AfiSafi::IPV4_UNICAST));
}

#[test]
fn ibgp_peer_gets_empty_as_path_and_local_pref_100() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (p, up) = up_for(&cfg, "10.0.0.2");
    let out = r.peer_up(&p, &up);
    let a = decode(&out[0].messages[0], &up).update;
    assert_eq!(a.attrs.as_path, Some(AsPath::default()));
    assert_eq!(a.attrs.local_pref, Some(100));
    // The mesh negotiates ADD-PATH both ways: NLRI carry a path id.
    assert!(a.nlri.iter().all(|n| n.path_id.is_some()), "{:?}", a.nlri);
}

#[test]
fn received_prefixes_count_announcements_minus_withdrawals() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (p, up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&p, &up);
    let u = from_tor(&up, &["192.0.2.0/24", "198.51.100.0/24"], vec![65000], "10.0.0.254");
    r.update(p.key(), u.clone());
    r.update(p.key(), u);
    assert_eq!(r.received_prefixes(p.key()), 2);
    let counts = r.peer_counts(p.key());
    assert_eq!((counts[0].family, counts[0].received, counts[0].accepted), (Family::Ipv4, 2, 2));
    r.peer_down(p.key(), false);
    assert_eq!(r.received_prefixes(p.key()), 0);
}

#[test]
fn reload_withdraws_removed_blocks_and_announces_new_ones() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, seen) = with_recorder(&cfg, false);
    let (p, up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&p, &up);
    let new = parse_str(&CFG.replace("\"10.244.2.0/26\"", "\"10.244.3.0/26\"")).unwrap();
    let msgs = updates_for(&r.reconfigure(&new), p.address, &up);
    assert_eq!(withdrawn(&msgs), [net("10.244.2.0/26")]);
    assert_eq!(announced(&msgs), [net("10.244.3.0/26")]);
    // The blackholes follow the blocks.
    let fib = &seen.lock().unwrap().fib;
    let last = |p: IpNet| fib.iter().rev().find(|c| c.prefix == p).map(|c| c.route.clone());
    assert_eq!(last(net("10.244.2.0/26")), Some(None));
    assert!(last(net("10.244.3.0/26")).flatten().is_some_and(|r| r.blackhole));
}

#[test]
fn advertise_announces_and_withdraws_at_run_time_and_survives_a_reload() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (p, up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&p, &up);
    let msgs = |out: Vec<Outbound>| updates_for(&out, p.address, &up);
    assert_eq!(announced(&msgs(r.advertise(net("10.244.9.0/26"), true))), [net("10.244.9.0/26")]);
    assert!(r.advertise(net("10.244.9.0/26"), true).is_empty(), "already advertised");
    assert_eq!(withdrawn(&msgs(r.advertise(net("10.244.1.0/26"), false))), [net("10.244.1.0/26")]);
    // A reload of the same file keeps both run-time changes.
    assert!(r.reconfigure(&cfg).is_empty());
    let originated = r.originated();
    assert_eq!(originated, [net("10.244.2.0/26"), net("10.244.9.0/26")]);
    let shown = r.routes_snapshot();
    let prefixes: Vec<IpNet> = shown.iter().map(|r| r.prefix).collect();
    assert_eq!(prefixes, [net("10.244.2.0/26"), net("10.244.9.0/26")]);
    assert_eq!(shown[1].paths[0].source.name(), "local:advertise");
    assert!(shown.iter().all(|r| r.paths[0].best));
}

#[test]
fn own_blocks_are_blackholed_in_the_fib_from_the_start() {
    let cfg = parse_str(CFG).unwrap();
    let (_r, seen) = with_recorder(&cfg, true);
    let fib = &seen.lock().unwrap().fib;
    let mut holes: Vec<IpNet> = fib
        .iter()
        .filter(|c| c.route.as_ref().is_some_and(|r| r.blackhole && r.next_hops.is_empty()))
        .map(|c| c.prefix)
        .collect();
    holes.sort();
    assert_eq!(holes, [net("10.244.1.0/26"), net("10.244.2.0/26")]);
}

#[test]
fn learned_route_waits_for_its_next_hop_then_reaches_the_fib_and_the_mesh() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, seen) = with_recorder(&cfg, true);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    let (b, b_up) = up_for(&cfg, "10.0.0.2");
    r.peer_up(&tor, &tor_up);
    r.peer_up(&b, &b_up);
    let nh: IpAddr = "10.0.0.254".parse().unwrap();
    // Inside the IP pool, so Calico's export filter lets it to the mesh.
    let out =
        r.update(tor.key(), from_tor(&tor_up, &["10.244.50.0/26"], vec![65000], "10.0.0.254"));
    assert!(announced(&updates_for(&out, b.address, &b_up)).is_empty(), "next hop not resolved");
    assert!(seen.lock().unwrap().tracked.contains(&nh), "the RIB asked for the next hop");
    let shown = r.routes_snapshot();
    let tor_path = &shown.iter().find(|x| x.prefix == net("10.244.50.0/26")).unwrap().paths[0];
    assert_eq!(tor_path.reject_reason, Some(CtlReason::NextHopUnreachable));

    let out = r.nexthop_reachability(nh, Some(0), None);
    let to_b = updates_for(&out, b.address, &b_up);
    assert_eq!(announced(&to_b), [net("10.244.50.0/26")]);
    // eBGP-learned, to iBGP: AS_PATH as received, next hop as received
    // (RFC 4271 §5.1.3: unchanged to internal peers).
    assert_eq!(to_b[0].update.attrs.as_path, Some(AsPath::from_sequence(vec![65000])));
    let installed =
        seen.lock().unwrap().fib.iter().rev().find(|c| c.prefix == net("10.244.50.0/26")).cloned();
    let route = installed.and_then(|c| c.route).expect("installed");
    assert_eq!(route, FibRoute { next_hops: vec![nh], blackhole: false, priority: route.priority });
    let shown = r.routes_snapshot();
    let tor_path = &shown.iter().find(|x| x.prefix == net("10.244.50.0/26")).unwrap().paths[0];
    assert!(tor_path.best && tor_path.reject_reason.is_none(), "{tor_path:?}");
    assert_eq!(tor_path.source.peer(), Some(nh));

    // The ToR going down withdraws it from the mesh and the kernel.
    let out = r.peer_down(tor.key(), false);
    assert_eq!(withdrawn(&updates_for(&out, b.address, &b_up)), [net("10.244.50.0/26")]);
    let last = seen.lock().unwrap().fib.last().cloned().unwrap();
    assert_eq!((last.prefix, last.route), (net("10.244.50.0/26"), None));
}

#[test]
fn losing_path_shows_why_it_lost() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    let (b, b_up) = up_for(&cfg, "10.0.0.2");
    r.peer_up(&tor, &tor_up);
    r.peer_up(&b, &b_up);
    r.update(tor.key(), from_tor(&tor_up, &["192.0.2.0/24"], vec![65000, 65100], "10.0.0.254"));
    // The same prefix from the mesh peer with a shorter path, over iBGP.
    let mut u = from_tor(&b_up, &["192.0.2.0/24"], vec![65100], "10.0.0.2");
    u.update.attrs.local_pref = Some(100);
    r.update(b.key(), u);
    let shown = r.routes_snapshot();
    let route = shown.iter().find(|x| x.prefix == net("192.0.2.0/24")).unwrap();
    assert_eq!(route.paths.len(), 2);
    assert!(route.paths[0].best);
    assert_eq!(route.paths[0].source.peer(), Some(b.address));
    assert_eq!(route.paths[1].reject_reason, Some(CtlReason::AsPathLonger));
}

#[test]
fn convergence_waits_for_end_of_rib_from_every_configured_peer() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, seen) = with_recorder(&cfg, true);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    let (b, b_up) = up_for(&cfg, "10.0.0.2");
    r.peer_up(&tor, &tor_up);
    r.update(tor.key(), eor(&tor_up));
    assert_eq!(seen.lock().unwrap().converged, 0, "b has not sent its table");
    r.peer_up(&b, &b_up);
    r.update(b.key(), eor(&b_up));
    assert_eq!(seen.lock().unwrap().converged, 1);
    r.update(b.key(), eor(&b_up));
    assert_eq!(seen.lock().unwrap().converged, 1, "said once");
}

#[test]
fn dedicated_reflector_reflects_between_clients_with_originator_id_and_cluster_list_and_no_fib() {
    let text = r#"
        [node]
        name = "rr"
        local_as = 65001
        ipv4 = "10.0.0.1/24"
        [mesh]
        enabled = false
        [route_reflector]
        enabled = true
        cluster_id = "244.0.0.1"
        [[peers]]
        name = "b"
        address = "10.0.0.2"
        remote_as = 65001
        rr_client = true
        [[peers]]
        name = "c"
        address = "10.0.0.3"
        remote_as = 65001
        rr_client = true
        [[ip_pools]]
        cidr = "10.244.0.0/16"
        [fib]
        enabled = false
    "#;
    let cfg = parse_str(text).unwrap();
    let (mut r, seen) = with_recorder(&cfg, true);
    let (b, b_up) = up_for(&cfg, "10.0.0.2");
    let (c, c_up) = up_for(&cfg, "10.0.0.3");
    r.peer_up(&b, &b_up);
    r.peer_up(&c, &c_up);
    let mut u = from_tor(&b_up, &["10.244.2.0/26"], vec![], "10.0.0.2");
    u.update.attrs.local_pref = Some(100);
    let out = r.update(b.key(), u);
    let to_c = updates_for(&out, c.address, &c_up);
    assert_eq!(announced(&to_c), [net("10.244.2.0/26")]);
    let a = &to_c[0].update.attrs;
    // RFC 4456 §8: ORIGINATOR_ID is the client's BGP Identifier (the test
    // OPENs all say 10.0.0.9); the reflector prepends its CLUSTER_ID.
    assert_eq!(a.originator_id, Some("10.0.0.9".parse().unwrap()));
    let cl = a.cluster_list.as_ref().map(|c| c.0.clone());
    assert_eq!(cl, Some(vec!["244.0.0.1".parse().unwrap()]));
    let nh = crate::wire::attr::MpNextHop::Ipv4("10.0.0.2".parse().unwrap());
    assert_eq!(to_c[0].next_hop(AfiSafi::IPV4_UNICAST), Some(nh));
    let s = seen.lock().unwrap();
    assert!(s.fib.is_empty() && s.tracked.is_empty(), "{s:?}");
}

#[test]
fn tor_on_the_node_subnet_gets_the_mesh_node_as_third_party_next_hop() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    let (b, b_up) = up_for(&cfg, "10.0.0.2");
    r.peer_up(&b, &b_up);
    // Node b's block, learned over the mesh with b as next hop.
    r.update(b.key(), from_tor(&b_up, &["10.244.5.0/26"], vec![], "10.0.0.2"));
    let msgs = updates_for(&r.peer_up(&tor, &tor_up), tor.address, &tor_up);
    let nh_of = |p: &str| {
        msgs.iter()
            .find(|m| m.update.nlri.iter().any(|n| n.prefix == net(p)))
            .and_then(|m| m.update.attrs.next_hop)
    };
    // RFC 4271 §5.1.3 third party: the ToR and b share 10.0.0.0/24.
    assert_eq!(nh_of("10.244.5.0/26"), Some("10.0.0.2".parse().unwrap()));
    assert_eq!(nh_of("10.244.1.0/26"), Some("10.0.0.1".parse().unwrap()), "ours: self");
    // A change later keeps it too.
    let out = r.update(b.key(), from_tor(&b_up, &["10.244.6.0/26"], vec![], "10.0.0.2"));
    let msgs = updates_for(&out, tor.address, &tor_up);
    assert_eq!(msgs[0].update.attrs.next_hop, Some("10.0.0.2".parse().unwrap()));
}

const SERVICES: &str = r#"
    [services]
    cluster_ips = ["10.96.0.0/12"]
    load_balancer_ips = ["203.0.113.0/24"]
    [[prefix_advertisements]]
    cidr = "10.96.0.0/12"
    communities = ["65000:100", "64512:1:2"]
    [[prefix_advertisements]]
    cidr = "10.244.0.0/16"
    communities = ["65000:200"]
"#;

#[test]
fn service_ranges_are_advertised_with_their_communities_and_not_blackholed() {
    use crate::wire::attr::{Community, LargeCommunity};
    let cfg = parse_str(&format!("{CFG}{SERVICES}")).unwrap();
    let (mut r, seen) = with_recorder(&cfg, false);
    let (p, up) = up_for(&cfg, "10.0.0.254");
    let msgs = updates_for(&r.peer_up(&p, &up), p.address, &up);
    let mut all = announced(&msgs);
    all.sort();
    assert_eq!(
        all,
        [net("10.96.0.0/12"), net("10.244.1.0/26"), net("10.244.2.0/26"), net("203.0.113.0/24")]
    );
    let attrs_of = |want: &str| {
        msgs.iter()
            .find(|m| m.update.nlri.iter().any(|n| n.prefix == net(want)))
            .unwrap()
            .update
            .attrs
            .clone()
    };
    let svc = attrs_of("10.96.0.0/12");
    assert_eq!(svc.communities, [Community(0xfde8_0064)]);
    assert_eq!(
        svc.large_communities,
        [LargeCommunity { global_admin: 64512, local_data1: 1, local_data2: 2 }]
    );
    assert_eq!(attrs_of("10.244.1.0/26").communities, [Community(0xfde8_00c8)]);
    assert!(attrs_of("203.0.113.0/24").communities.is_empty());
    // kube-proxy answers for service addresses: no blackhole for them.
    let fib = &seen.lock().unwrap().fib;
    let svc = [net("10.96.0.0/12"), net("203.0.113.0/24")];
    assert!(fib.iter().filter(|c| svc.contains(&c.prefix)).all(|c| c.route.is_none()), "{fib:?}");
    let shown = r.routes_snapshot();
    let svc = shown.iter().find(|s| s.prefix == net("10.96.0.0/12")).unwrap();
    assert_eq!(svc.paths[0].source.name(), "local:service");
}

#[test]
fn reload_reannounces_changed_communities_and_withdraws_removed_ranges() {
    use crate::wire::attr::Community;
    let cfg = parse_str(&format!("{CFG}{SERVICES}")).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (p, up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&p, &up);
    let text = format!("{CFG}{SERVICES}")
        .replace("\"65000:100\", ", "")
        .replace("load_balancer_ips = [\"203.0.113.0/24\"]", "");
    let new = parse_str(&text).unwrap();
    assert!(crate::config::diff(&cfg, &new).routing_changed);
    let msgs = updates_for(&r.reconfigure(&new), p.address, &up);
    assert_eq!(withdrawn(&msgs), [net("203.0.113.0/24")]);
    assert_eq!(
        announced(&msgs),
        [net("10.96.0.0/12")],
        "only the prefix whose communities changed"
    );
    assert!(msgs.iter().all(|m| !m.update.attrs.communities.contains(&Community(0xfde8_0064))));
    // The same file again: nothing to send.
    assert!(r.reconfigure(&new).is_empty());
}

#[path = "rib_routes_gr_tests.rs"]
mod gr_rules;

#[test]
fn show_routes_query_looks_up_one_prefix_and_filters_by_peer_and_family() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, _seen) = with_recorder(&cfg, true);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&tor, &tor_up);
    r.update(tor.key(), from_tor(&tor_up, &["10.244.50.0/26"], vec![65000], "10.0.0.254"));
    let q = |prefix: Option<&str>, peer: Option<IpAddr>, family| RouteQuery {
        prefix: prefix.map(net),
        peer,
        family,
    };
    let prefixes = |routes: Vec<RouteSnapshot>| -> Vec<IpNet> {
        routes.into_iter().map(|r| r.prefix).collect()
    };
    let all = prefixes(r.routes_query(&q(None, None, None)));
    assert_eq!(all, [net("10.244.1.0/26"), net("10.244.2.0/26"), net("10.244.50.0/26")]);
    // The same as the full table filtered by ctl's own RouteQuery::apply.
    for query in [
        q(Some("10.244.50.0/26"), None, None),
        q(Some("10.244.9.0/26"), None, None),
        q(None, Some(tor.address), None),
        q(None, None, Some(Family::Ipv6)),
        q(Some("10.244.1.0/26"), Some(tor.address), Some(Family::Ipv4)),
    ] {
        assert_eq!(r.routes_query(&query), query.apply(r.routes_snapshot()), "{query:?}");
    }
    assert_eq!(
        prefixes(r.routes_query(&q(None, Some(tor.address), None))),
        [net("10.244.50.0/26")]
    );
}

/// Loc-RIB sizes per family counted by walking a route list.
fn walk_sizes(routes: &[RouteSnapshot]) -> Vec<ctl::proto::RibSize> {
    [Family::Ipv4, Family::Ipv6]
        .into_iter()
        .map(|family| {
            let of: Vec<&RouteSnapshot> =
                routes.iter().filter(|r| Family::of_net(&r.prefix) == family).collect();
            ctl::proto::RibSize {
                family,
                prefixes: of.len() as u64,
                paths: of.iter().map(|r| r.paths.len() as u64).sum(),
            }
        })
        .collect()
}

#[test]
fn rib_sizes_are_counted_not_walked_and_match_the_table() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, _seen) = with_recorder(&cfg, true);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&tor, &tor_up);
    r.update(
        tor.key(),
        from_tor(&tor_up, &["10.244.50.0/26", "10.244.1.0/26"], vec![65000], "10.0.0.254"),
    );
    let walked = walk_sizes(&r.routes_snapshot());
    assert_eq!(r.rib_sizes(), walked);
    assert_eq!((walked[0].prefixes, walked[0].paths), (3, 4));
    r.peer_down(tor.key(), false);
    assert_eq!(r.rib_sizes(), walk_sizes(&r.routes_snapshot()));
}

fn learned(prefix: &str, metric: u32, device: &str) -> KernelRouteChange {
    KernelRouteChange {
        prefix: net(prefix),
        route: Some(LearnedKernelRoute { metric, device: Some(device.into()) }),
    }
}

#[test]
fn felix_routes_learned_from_the_kernel_go_out_as_calicos_bird_sends_them() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, seen) = with_recorder(&cfg, false);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    let (b, b_up) = up_for(&cfg, "10.0.0.2");
    r.peer_up(&tor, &tor_up);
    r.peer_up(&b, &b_up);
    let out = r.kernel_routes(vec![
        // A borrowed address of another node's block: to everyone.
        learned("10.244.5.7/32", 1024, "cali1234abcd"),
        // A workload of an own block: the block stands for it.
        learned("10.244.1.5/32", 1024, "cali5678abcd"),
        // Felix's VXLAN route to another node's block: never over iBGP.
        learned("10.244.9.0/26", 0, "vxlan.calico"),
        // Outside every pool: kept here.
        learned("0.0.0.0/0", 0, "eth0"),
    ]);
    let to_tor = updates_for(&out, tor.address, &tor_up);
    let mut got = announced(&to_tor);
    got.sort();
    assert_eq!(got, [net("10.244.5.7/32"), net("10.244.9.0/26")]);
    let to_b = updates_for(&out, b.address, &b_up);
    assert_eq!(announced(&to_b), [net("10.244.5.7/32")]);
    let a = &to_b[0].update.attrs;
    // The export prologue: bgp_local_pref = 2147483647 - krt_metric; next hop self.
    assert_eq!(a.local_pref, Some(2_147_483_647 - 1024));
    assert_eq!(
        to_b[0].next_hop(AfiSafi::IPV4_UNICAST),
        Some(crate::wire::attr::MpNextHop::Ipv4("10.0.0.1".parse().unwrap()))
    );
    // Never written back to the kernel.
    assert!(seen.lock().unwrap().fib.iter().all(|c| c.prefix.addr().to_string() != "10.244.5.7"));
    // `show routes` names the kernel and the device.
    let q = RouteQuery { prefix: Some(net("10.244.5.7/32")), ..RouteQuery::default() };
    let shown = r.routes_query(&q);
    assert_eq!(shown[0].paths[0].source, RouteSource::Kernel { device: "cali1234abcd".into() });

    // Felix removes the route: withdrawn.
    let gone = KernelRouteChange { prefix: net("10.244.5.7/32"), route: None };
    let out = r.kernel_routes(vec![gone]);
    assert_eq!(withdrawn(&updates_for(&out, tor.address, &tor_up)), [net("10.244.5.7/32")]);
    assert_eq!(withdrawn(&updates_for(&out, b.address, &b_up)), [net("10.244.5.7/32")]);
}

#[test]
fn a_reload_judges_learned_routes_again() {
    let cfg = parse_str(CFG).unwrap();
    let mut r = RibRoutes::without_fib(&cfg);
    let (tor, tor_up) = up_for(&cfg, "10.0.0.254");
    r.peer_up(&tor, &tor_up);
    r.kernel_routes(vec![learned("10.244.5.7/32", 1024, "cali1234abcd")]);
    // The block becomes this node's: its workload routes stay behind it.
    let new = parse_str(&CFG.replace("\"10.244.2.0/26\"", "\"10.244.5.0/26\"")).unwrap();
    let msgs = updates_for(&r.reconfigure(&new), tor.address, &tor_up);
    assert_eq!(withdrawn(&msgs), [net("10.244.2.0/26"), net("10.244.5.7/32")]);
    assert_eq!(announced(&msgs), [net("10.244.5.0/26")]);
    // And back.
    let msgs = updates_for(&r.reconfigure(&cfg), tor.address, &tor_up);
    let mut got = announced(&msgs);
    got.sort();
    assert_eq!(got, [net("10.244.2.0/26"), net("10.244.5.7/32")]);
}
