//! Graceful restart in the routing core (RFC 4724 §4.2 helper mode, RFC
//! 9494 long-lived stale routes, RFC 4724 §4.1 deferral) and the stale
//! routes of a peer's enhanced route refresh (RFC 7313 §4), through the
//! public API: each test is named after the rule it checks.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::rib::{
    ExportPolicy, GrHelper, GrPhase, GrTimer, GrTimerAction, GrTimerKind, Output, PeerId, PeerInfo,
    RejectReason, Rib, RibConfig,
};
use bgp::wire::attr::{AsPath, Community, Origin, PathAttrs};
use bgp::wire::{
    AfiSafi, EncodeCtx, Message, Nlri, ParsedMessage, ParsedUpdate, UpdateMsg, decode_message,
};
use ipnet::IpNet;

const AS: u32 = 64512;
const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SRC: PeerId = PeerId(2);

fn ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, i)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ctx() -> EncodeCtx {
    EncodeCtx { four_octet_as: true, ..EncodeCtx::default() }
}

/// A peer (peer 2, the restarting one, is external; the others internal);
/// `gr`: it advertised GR with the F bit for IPv4.
fn peer(i: u8, gr: bool) -> PeerInfo {
    let asn = if i == 2 { 65001 } else { AS };
    PeerInfo {
        local_addr_v4: Some(ME),
        export: ExportPolicy::all(),
        graceful_restart: gr,
        gr_forwarding: if gr { vec![V4] } else { vec![] },
        ..PeerInfo::new(IpAddr::V4(ip(i)), asn, AS, ip(i))
    }
}

fn helper(llgr: Option<u64>) -> GrHelper {
    GrHelper {
        families: vec![V4],
        restart_time: Duration::from_secs(120),
        llgr: llgr.map(|t| (V4, Duration::from_secs(t))).into_iter().collect(),
        stale_path_time: Duration::from_secs(360),
    }
}

fn attrs(as_path: &[u32], communities: Vec<Community>) -> PathAttrs {
    PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(as_path.to_vec())),
        next_hop: Some(ip(2)),
        local_pref: Some(100),
        communities,
        ..PathAttrs::default()
    }
}

fn parsed(u: UpdateMsg) -> ParsedUpdate {
    let b = Message::Update(u).to_bytes(&ctx()).unwrap();
    match decode_message(&b, &ctx().peer_decode_ctx()).unwrap() {
        ParsedMessage::Update(p) => p,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn announce(a: PathAttrs, prefixes: &[&str]) -> ParsedUpdate {
    let nlri = prefixes.iter().map(|p| Nlri::new(net(p))).collect();
    parsed(UpdateMsg { attrs: a, nlri, ..UpdateMsg::default() })
}

fn eor() -> ParsedUpdate {
    parsed(UpdateMsg::end_of_rib(V4))
}

/// Announced prefixes with their communities.
type Announced = Vec<(IpNet, Vec<Community>)>;

/// What `p` was told: (announced, withdrawn, End-of-RIBs).
fn told(out: &Output, p: u32) -> (Announced, Vec<IpNet>, usize) {
    let (mut ann, mut wd, mut eors) = (Vec::new(), Vec::new(), 0);
    for m in out.messages_for(PeerId(p)) {
        let ParsedMessage::Update(u) = decode_message(m, &ctx().peer_decode_ctx()).unwrap() else {
            continue;
        };
        if u.is_end_of_rib().is_some() {
            eors += 1;
            continue;
        }
        for (_, n) in u.announcements() {
            ann.push((n.prefix, u.update.attrs.communities.clone()));
        }
        wd.extend(u.withdrawals().map(|(_, n)| n.prefix));
    }
    ann.sort();
    wd.sort();
    (ann, wd, eors)
}

fn fib_removed(out: &Output) -> Vec<IpNet> {
    let mut v: Vec<IpNet> =
        out.fib.iter().filter(|c| c.route.is_none()).map(|c| c.prefix).collect();
    v.sort();
    v
}

fn timer(kind: GrTimerKind) -> GrTimer {
    GrTimer { peer: SRC, family: V4, kind }
}

/// Peer 2 (GR) announced two prefixes, peer 3 (no GR) is up to watch.
fn setup() -> Rib {
    let mut r = Rib::new(RibConfig::new(AS, ME));
    r.peer_up(SRC, peer(2, true));
    r.peer_up(PeerId(3), peer(3, false));
    let out = r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24", "10.2.0.0/24"]));
    assert_eq!(told(&out, 3).0.len(), 2);
    assert_eq!(out.fib.len(), 2);
    r
}

#[test]
fn stale_routes_kept_when_gr_peer_session_drops() {
    let mut r = setup();
    let out = r.peer_down_graceful(SRC, &helper(None));
    assert!(out.to_peers.is_empty(), "no withdrawal to anyone: {:?}", out.to_peers);
    assert!(out.fib.is_empty(), "no FIB delete");
    let d = Duration::from_secs(120);
    assert_eq!(out.gr_timers, [GrTimerAction::Start(timer(GrTimerKind::Restart), d)]);
    assert!(r.best(net("10.1.0.0/24")).is_some() && r.best(net("10.2.0.0/24")).is_some());
    let st = r.gr_status();
    assert_eq!((st[0].peer, st[0].up), (SRC, false));
    assert_eq!((st[0].families[0].phase, st[0].families[0].stale_paths), (GrPhase::Restarting, 2));
}

#[test]
fn end_of_rib_sweeps_routes_not_readvertised() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    let out = r.peer_up(SRC, peer(2, true));
    let d = Duration::from_secs(360);
    assert_eq!(out.gr_timers, [GrTimerAction::Start(timer(GrTimerKind::StalePath), d)]);
    // Re-advertised with the same attributes: no longer stale, and nothing
    // changes for peer 3 or the kernel.
    let out = r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24"]));
    assert!(out.to_peers.is_empty() && out.fib.is_empty(), "{out:?}");
    assert_eq!(r.gr_status()[0].families[0].stale_paths, 1);
    let out = r.update(SRC, &eor());
    assert_eq!(told(&out, 3).1, [net("10.2.0.0/24")]);
    assert_eq!(fib_removed(&out), [net("10.2.0.0/24")]);
    assert_eq!(out.gr_timers, [GrTimerAction::Stop(timer(GrTimerKind::StalePath))]);
    assert!(r.best(net("10.1.0.0/24")).is_some());
    assert!(r.gr_status().is_empty());
}

#[test]
fn readvertised_route_with_new_attributes_replaces_the_stale_one() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    r.peer_up(SRC, peer(2, true));
    let out = r.update(SRC, &announce(attrs(&[65001], vec![Community(7)]), &["10.1.0.0/24"]));
    assert_eq!(told(&out, 3).0, [(net("10.1.0.0/24"), vec![Community(7)])]);
    let out = r.update(SRC, &eor());
    assert_eq!(told(&out, 3).1, [net("10.2.0.0/24")]);
}

#[test]
fn restart_timer_expiry_sweeps_stale() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    // An expiry of a timer the family is not running is stale: ignored.
    assert!(r.gr_timer_expired(timer(GrTimerKind::StalePath)).is_empty());
    let out = r.gr_timer_expired(timer(GrTimerKind::Restart));
    assert_eq!(told(&out, 3).1, [net("10.1.0.0/24"), net("10.2.0.0/24")]);
    assert_eq!(fib_removed(&out).len(), 2);
    assert!(r.is_empty() && r.gr_status().is_empty());
    // The peer then comes back as a new peer, with nothing stale.
    let out = r.peer_up(SRC, peer(2, true));
    assert!(out.gr_timers.is_empty());
}

#[test]
fn stale_path_timer_expiry_sweeps_when_end_of_rib_never_comes() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    r.peer_up(SRC, peer(2, true));
    r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24"]));
    let out = r.gr_timer_expired(timer(GrTimerKind::StalePath));
    assert_eq!(told(&out, 3).1, [net("10.2.0.0/24")]);
    assert!(r.best(net("10.1.0.0/24")).is_some());
}

#[test]
fn peer_returning_without_forwarding_bit_sweeps_at_once() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    let out = r.peer_up(SRC, PeerInfo { gr_forwarding: vec![], ..peer(2, true) });
    assert_eq!(told(&out, 3).1, [net("10.1.0.0/24"), net("10.2.0.0/24")]);
    assert_eq!(fib_removed(&out).len(), 2);
    assert_eq!(out.gr_timers, [GrTimerAction::Stop(timer(GrTimerKind::Restart))]);
    assert!(r.gr_status().is_empty());
}

#[test]
fn peer_returning_as_another_router_sweeps_at_once() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    let other = PeerInfo { router_id: Ipv4Addr::new(9, 9, 9, 9), ..peer(2, true) };
    let out = r.peer_up(SRC, other);
    assert_eq!(told(&out, 3).1.len(), 2);
    assert!(r.gr_status().is_empty());
}

#[test]
fn families_not_in_the_gr_capability_are_withdrawn_at_once() {
    let mut r = setup();
    let out = r.peer_down_graceful(SRC, &GrHelper { families: vec![], ..helper(None) });
    assert_eq!(told(&out, 3).1.len(), 2);
    assert!(r.is_empty() && r.gr_status().is_empty());
}

#[test]
fn second_drop_during_recovery_keeps_stale() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    r.peer_up(SRC, peer(2, true));
    r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24"]));
    // Drops again before its End-of-RIB: the still-stale 10.2 stays too.
    let out = r.peer_down_graceful(SRC, &helper(None));
    assert!(out.to_peers.is_empty() && out.fib.is_empty(), "{out:?}");
    assert_eq!(r.gr_status()[0].families[0].stale_paths, 2);
    r.peer_up(SRC, peer(2, true));
    let out = r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24", "10.2.0.0/24"]));
    assert!(out.to_peers.is_empty() && out.fib.is_empty());
    let out = r.update(SRC, &eor());
    assert!(out.to_peers.is_empty() && out.fib.is_empty());
    assert_eq!(r.len(), 2);
}

#[test]
fn plain_peer_down_of_a_restarting_peer_sweeps_its_stale_routes() {
    let mut r = setup();
    r.peer_down_graceful(SRC, &helper(None));
    let out = r.peer_down(SRC);
    assert_eq!(told(&out, 3).1.len(), 2);
    assert_eq!(out.gr_timers, [GrTimerAction::Stop(timer(GrTimerKind::Restart))]);
    assert!(r.is_empty());
}

#[test]
fn stale_path_still_competes_in_best_path() {
    // RFC 4724 keeps stale routes in use: a stale path with the better
    // attributes stays best, so other peers see no change.
    let mut r = setup();
    r.peer_up(PeerId(4), peer(4, false));
    let worse =
        PathAttrs { local_pref: Some(50), next_hop: Some(ip(4)), ..attrs(&[65001], vec![]) };
    r.update(PeerId(4), &announce(worse, &["10.1.0.0/24"]));
    r.peer_down_graceful(SRC, &helper(None));
    assert_eq!(r.best(net("10.1.0.0/24")).and_then(|b| b.peer), Some(SRC));
}

#[test]
fn llgr_marks_routes_llgr_stale_after_restart_time() {
    let mut r = setup();
    r.peer_up(PeerId(4), PeerInfo { llgr: true, ..peer(4, false) });
    let out = r.update(SRC, &announce(attrs(&[65001], vec![Community::NO_LLGR]), &["10.3.0.0/24"]));
    assert_eq!(told(&out, 4).0.len(), 1);
    r.peer_down_graceful(SRC, &helper(Some(3600)));
    let out = r.gr_timer_expired(timer(GrTimerKind::Restart));
    let d = Duration::from_secs(3600);
    assert_eq!(out.gr_timers, [GrTimerAction::Start(timer(GrTimerKind::LongLived), d)]);
    // Peer 3 has no LLGR: the routes are withdrawn from it; NO_LLGR goes
    // for everyone.
    let (_, wd3, _) = told(&out, 3);
    assert_eq!(wd3, [net("10.1.0.0/24"), net("10.2.0.0/24"), net("10.3.0.0/24")]);
    let (ann4, wd4, _) = told(&out, 4);
    let stale = vec![Community::LLGR_STALE];
    assert_eq!(ann4, [(net("10.1.0.0/24"), stale.clone()), (net("10.2.0.0/24"), stale)]);
    assert_eq!(wd4, [net("10.3.0.0/24")]);
    assert_eq!(fib_removed(&out), [net("10.3.0.0/24")], "LLGR-stale routes stay in the FIB");
    assert_eq!(r.gr_status()[0].families[0].phase, GrPhase::LongLived);
    // The stale time ends it.
    let out = r.gr_timer_expired(timer(GrTimerKind::LongLived));
    assert_eq!(told(&out, 4).1.len(), 2);
    assert!(r.is_empty());
}

#[test]
fn llgr_stale_path_loses_to_any_fresh_path() {
    let mut r = setup();
    r.peer_up(PeerId(4), peer(4, false));
    let worse = PathAttrs {
        local_pref: Some(50),
        as_path: Some(AsPath::from_sequence(vec![65001, 65002])),
        next_hop: Some(ip(4)),
        ..attrs(&[65001], vec![])
    };
    r.update(PeerId(4), &announce(worse, &["10.1.0.0/24"]));
    r.peer_down_graceful(SRC, &helper(Some(3600)));
    assert_eq!(r.best(net("10.1.0.0/24")).and_then(|b| b.peer), Some(SRC));
    let out = r.gr_timer_expired(timer(GrTimerKind::Restart));
    assert_eq!(r.best(net("10.1.0.0/24")).and_then(|b| b.peer), Some(PeerId(4)));
    let routes = r.routes(net("10.1.0.0/24"));
    assert_eq!(routes[1].reason, Some(RejectReason::LlgrStale));
    assert!(out.fib.iter().any(|c| c.prefix == net("10.1.0.0/24") && c.route.is_some()));
}

#[test]
fn a_long_lived_stale_path_judged_again_for_a_new_interface_stays_long_lived_stale() {
    #[derive(serde::Deserialize)]
    struct File {
        filters: Vec<bgp::config::BgpFilter>,
    }
    let f: File = toml::from_str(
        "[[filters]]\nname = \"in\"\n[[filters.import_v4]]\naction = \"Accept\"\n\
         operations = [{ add_community = { value = \"65000:1\" } }]\n",
    )
    .unwrap();
    let filters = bgp::rib::filter::PeerFilters::for_peer(&f.filters, &["in".to_owned()]);
    let mut r = Rib::new(RibConfig::new(AS, ME));
    r.peer_up(SRC, PeerInfo { filters, ..peer(2, true) });
    r.peer_up(PeerId(4), PeerInfo { llgr: true, ..peer(4, false) });
    r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24"]));
    r.peer_down_graceful(SRC, &helper(Some(3600)));
    r.gr_timer_expired(timer(GrTimerKind::Restart));

    let out = r.nexthop_reachability(IpAddr::V4(ip(2)), Some(0), Some("eth0"));
    let p = &r.routes(net("10.1.0.0/24"))[0];
    assert!(p.stale, "still swept if the peer does not come back");
    assert_eq!(p.interface.as_deref(), Some("eth0"));
    let comms = &p.attrs.attrs.communities;
    assert!(comms.contains(&Community::LLGR_STALE), "{comms:?}");
    assert!(comms.contains(&Community((65000 << 16) | 1)), "{comms:?}");
    assert_eq!(told(&out, 4).0.len(), 1, "sent again with the same attributes");
    let out = r.gr_timer_expired(timer(GrTimerKind::LongLived));
    assert_eq!(told(&out, 4).1, [net("10.1.0.0/24")]);
}

#[test]
fn zero_restart_time_with_llgr_goes_long_lived_at_once() {
    let mut r = setup();
    let h = GrHelper { restart_time: Duration::ZERO, ..helper(Some(60)) };
    let out = r.peer_down_graceful(SRC, &h);
    let d = Duration::from_secs(60);
    assert_eq!(out.gr_timers, [GrTimerAction::Start(timer(GrTimerKind::LongLived), d)]);
    assert_eq!(told(&out, 3).1.len(), 2, "peer 3 does not take LLGR-stale routes");
}

#[test]
fn deferral_holds_the_table_for_gr_peers_only() {
    let mut r = Rib::new(RibConfig::new(AS, ME));
    r.begin_deferral();
    r.peer_up(PeerId(5), peer(5, false));
    let out = r.peer_up(SRC, peer(2, true));
    assert!(out.messages_for(SRC).is_empty(), "not even End-of-RIB");
    let out = r.peer_up(PeerId(3), peer(3, true));
    assert!(out.messages_for(PeerId(3)).is_empty());
    // Routes learned meanwhile reach the non-GR peer only.
    let out = r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24"]));
    assert!(out.messages_for(PeerId(3)).is_empty());
    let mut cfg = peer(6, false);
    cfg.asn = 65006;
    let out = r.peer_up(PeerId(6), cfg);
    assert_eq!(told(&out, 6).2, 1, "a non-GR peer gets its End-of-RIB at once");
    assert!(r.is_deferring());
    r.peer_down(PeerId(3));
    let out = r.end_deferral();
    // Peer 2 shares its export group with peer 6, so it gets the table
    // (its own AS_PATH loop check drops its route), then End-of-RIB.
    let (ann, _, eors) = told(&out, 2);
    assert_eq!((ann.len(), eors), (1, 1));
    assert!(out.messages_for(PeerId(3)).is_empty(), "peer 3 went down meanwhile");
    assert!(!r.is_deferring());
    let out = r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.2.0.0/24"]));
    assert_eq!(told(&out, 5).0.len(), 1);
}

mod props {
    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        DownGraceful(bool),
        Up(bool),
        Announce(u8),
        Eor,
        Expire(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<bool>().prop_map(Op::DownGraceful),
            any::<bool>().prop_map(Op::Up),
            (0u8..8).prop_map(Op::Announce),
            Just(Op::Eor),
            (0u8..3).prop_map(Op::Expire),
        ]
    }

    proptest! {
        /// Whatever the sequence of restarts, returns, End-of-RIBs and
        /// timer expiries, a final plain session end leaves nothing of the
        /// peer behind, and a stale route is never withdrawn from the FIB
        /// by a graceful down.
        #[test]
        fn graceful_restarts_never_leak_stale_paths(ops in proptest::collection::vec(op(), 0..24)) {
            let mut r = setup();
            let mut up = true;
            for o in ops {
                match o {
                    Op::DownGraceful(llgr) if up => {
                        let out = r.peer_down_graceful(SRC, &helper(llgr.then_some(60)));
                        prop_assert!(out.fib.is_empty());
                        up = false;
                    }
                    Op::Up(f) if !up => {
                        r.peer_up(SRC, PeerInfo { gr_forwarding: if f { vec![V4] } else { vec![] }, ..peer(2, true) });
                        up = true;
                    }
                    Op::Announce(i) if up => {
                        let p = format!("10.{}.0.0/24", i % 4 + 1);
                        r.update(SRC, &announce(attrs(&[65001], vec![Community(u32::from(i))]), &[p.as_str()]));
                    }
                    Op::Eor if up => {
                        r.update(SRC, &eor());
                    }
                    Op::Expire(k) => {
                        let kind = [GrTimerKind::Restart, GrTimerKind::StalePath, GrTimerKind::LongLived][k as usize];
                        r.gr_timer_expired(timer(kind));
                    }
                    _ => {}
                }
            }
            r.peer_down(SRC);
            prop_assert!(r.is_empty(), "{} destinations left", r.len());
            prop_assert!(r.gr_status().is_empty());
            prop_assert_eq!(r.attr_sets(), 0);
            prop_assert_eq!(r.sizes(), [(0, 0), (0, 0)]);
        }
    }
}

// ===== Enhanced route refresh from the peer (RFC 7313 §4) =====

fn refreshing_peer() -> PeerInfo {
    PeerInfo { enhanced_route_refresh: true, ..peer(2, false) }
}

/// Peer 2 (enhanced route refresh negotiated) announced two prefixes.
fn refresh_setup() -> Rib {
    let mut r = Rib::new(RibConfig::new(AS, ME));
    r.peer_up(SRC, refreshing_peer());
    r.peer_up(PeerId(3), peer(3, false));
    r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24", "10.2.0.0/24"]));
    r
}

const BOUND: Duration = Duration::from_secs(240);

#[test]
fn eorr_removes_the_routes_not_readvertised_since_the_borr() {
    let mut r = refresh_setup();
    let out = r.begin_route_refresh(SRC, V4, BOUND);
    assert!(out.to_peers.is_empty() && out.fib.is_empty(), "marking changes nothing: {out:?}");
    assert_eq!(out.gr_timers, [GrTimerAction::Start(timer(GrTimerKind::RefreshStale), BOUND)]);
    assert!(r.routes(net("10.2.0.0/24"))[0].stale);
    let out = r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.1.0.0/24"]));
    assert!(out.to_peers.is_empty() && out.fib.is_empty(), "{out:?}");
    assert!(!r.routes(net("10.1.0.0/24"))[0].stale);
    let out = r.end_route_refresh(SRC, V4);
    assert_eq!(told(&out, 3).1, [net("10.2.0.0/24")]);
    assert_eq!(fib_removed(&out), [net("10.2.0.0/24")]);
    assert_eq!(out.gr_timers, [GrTimerAction::Stop(timer(GrTimerKind::RefreshStale))]);
    assert!(r.best(net("10.1.0.0/24")).is_some() && r.best(net("10.2.0.0/24")).is_none());
}

#[test]
fn refresh_stale_timer_removes_the_routes_when_the_eorr_never_comes() {
    let mut r = refresh_setup();
    r.begin_route_refresh(SRC, V4, BOUND);
    r.update(SRC, &announce(attrs(&[65001], vec![]), &["10.2.0.0/24"]));
    let out = r.gr_timer_expired(timer(GrTimerKind::RefreshStale));
    assert_eq!(told(&out, 3).1, [net("10.1.0.0/24")]);
    // The refresh is over: a late EoRR removes nothing more.
    assert!(r.end_route_refresh(SRC, V4).is_empty());
    assert!(r.best(net("10.2.0.0/24")).is_some());
}

#[test]
fn eorr_without_borr_and_borr_without_the_capability_are_ignored() {
    let mut r = refresh_setup();
    assert!(r.end_route_refresh(SRC, V4).is_empty());
    assert!(r.best(net("10.1.0.0/24")).is_some());
    let mut r = setup();
    assert!(r.begin_route_refresh(SRC, V4, BOUND).is_empty());
    assert!(!r.routes(net("10.1.0.0/24"))[0].stale);
}

#[test]
fn session_end_during_a_refresh_stops_its_timer() {
    let mut r = refresh_setup();
    r.begin_route_refresh(SRC, V4, BOUND);
    let out = r.peer_down(SRC);
    assert_eq!(out.gr_timers, [GrTimerAction::Stop(timer(GrTimerKind::RefreshStale))]);
    assert_eq!(told(&out, 3).1.len(), 2);
}
