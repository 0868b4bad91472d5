//! The graceful restart rules of `rib_routes_gr.rs`, one test per rule,
//! driven as the owner drives [`RibRoutes`]: sessions up and down, UPDATEs
//! in, and the timers fired by handing `timers_due` a later instant (the
//! driver arms them from `Instant::now()`, so no runtime and no sleeping).
//!
//! The remote OPEN of [`up_for`] repeats our capabilities, so the peer
//! advertises the restart time (120 s) and, where configured, the
//! long-lived stale time we do; [`up_without_llgr`] takes LLGR out of it.
//! The ToR's prefixes are inside the IP pool, so Calico's export filter
//! lets them to the mesh node `b`.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::wire::Capability;
use crate::wire::attr::Community;

/// The ToR and mesh node `b` of [`CFG`], with LLGR at `llst` seconds on
/// every session (0: off).
fn cfg_llgr(llst: u32) -> ValidatedConfig {
    parse_str(&format!("{CFG}\n[graceful_restart]\nlong_lived_stale_time = {llst}\n")).unwrap()
}

const TOR: &str = "10.0.0.254";
const B: &str = "10.0.0.2";

/// `up_for` with a remote OPEN that has no LLGR capability.
fn up_without_llgr(cfg: &ValidatedConfig, addr: &str) -> (EffectivePeer, Up) {
    let (p, mut up) = up_for(cfg, addr);
    up.negotiated.peer_llgr = None;
    (p, up)
}

/// What the kernel was last told about `prefix`: `Some(true)` installed,
/// `Some(false)` deleted, `None` never mentioned.
fn fib_state(seen: &Arc<Mutex<Recorded>>, prefix: &str) -> Option<bool> {
    let p = net(prefix);
    seen.lock().unwrap().fib.iter().rev().find(|c| c.prefix == p).map(|c| c.route.is_some())
}

fn fib_deletes(seen: &Arc<Mutex<Recorded>>, prefix: &str) -> usize {
    let p = net(prefix);
    seen.lock().unwrap().fib.iter().filter(|c| c.prefix == p && c.route.is_none()).count()
}

/// An UPDATE from the ToR for `prefixes` carrying `communities`.
fn from_tor_with(up: &Up, prefixes: &[&str], communities: Vec<Community>) -> ParsedUpdate {
    let mut u = from_tor(up, prefixes, vec![65000], TOR);
    u.update.attrs.communities = communities;
    u
}

fn path_of(r: &RibRoutes, prefix: &str) -> Option<PathSnapshot> {
    r.routes_snapshot()
        .into_iter()
        .find(|x| x.prefix == net(prefix))
        .and_then(|x| x.paths.into_iter().find(|p| p.source.peer().is_some()))
}

/// `now` plus `secs` and a little, for `timers_due`.
fn after(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs) + Duration::from_millis(10)
}

/// A ToR up with two prefixes and its End-of-RIB, mesh node `b` up.
struct Setup {
    r: RibRoutes,
    seen: Arc<Mutex<Recorded>>,
    tor: EffectivePeer,
    tor_up: Up,
    b: EffectivePeer,
    b_up: Up,
}

fn setup(cfg: &ValidatedConfig, b_llgr: bool) -> Setup {
    let (mut r, seen) = with_recorder(cfg, false);
    let (tor, tor_up) = up_for(cfg, TOR);
    let (b, b_up) = if b_llgr { up_for(cfg, B) } else { up_without_llgr(cfg, B) };
    r.peer_up(&tor, &tor_up);
    r.peer_up(&b, &b_up);
    r.update(tor.key(), from_tor(&tor_up, &["10.244.50.0/26", "10.244.60.0/26"], vec![65000], TOR));
    r.update(tor.key(), eor(&tor_up));
    assert_eq!(fib_state(&seen, "10.244.50.0/26"), Some(true));
    Setup { r, seen, tor, tor_up, b, b_up }
}

#[test]
fn peer_down_graceful_keeps_routes_stale() {
    let mut s = setup(&cfg_llgr(0), true);
    let out = s.r.peer_down(s.tor.key(), true);
    // RFC 4724 §4.2: nothing changes for the network meanwhile.
    assert!(withdrawn(&updates_for(&out, s.b.address, &s.b_up)).is_empty());
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(true));
    assert_eq!(fib_deletes(&s.seen, "10.244.50.0/26"), 0);
    let p = path_of(&s.r, "10.244.50.0/26").unwrap();
    assert!(p.stale && p.best, "{p:?}");
    let gr = s.r.peer_gr(s.tor.key()).unwrap();
    assert_eq!(gr.state, ctl::proto::GrPeerState::PeerRestarting);
    assert_eq!(gr.stale_routes, 2);
    assert!(gr.time_left_secs.is_some_and(|t| (119..=120).contains(&t)), "{gr:?}");
    assert!(s.r.next_timer().is_some());
}

#[test]
fn peer_down_not_graceful_drops_routes_at_once() {
    let mut s = setup(&cfg_llgr(0), true);
    let out = s.r.peer_down(s.tor.key(), false);
    let w = withdrawn(&updates_for(&out, s.b.address, &s.b_up));
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(false));
    assert_eq!(s.r.peer_gr(s.tor.key()), None);
    assert_eq!(s.r.next_timer(), None);
}

#[test]
fn peer_without_gr_configured_drops_routes_even_on_a_graceful_end() {
    let cfg = parse_str(
        &CFG.replace("remote_as = 65000\n", "remote_as = 65000\n    graceful_restart = false\n"),
    )
    .unwrap();
    let mut s = setup(&cfg, true);
    s.r.peer_down(s.tor.key(), true);
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(false));
}

#[test]
fn restart_timer_expiry_sweeps_stale_routes() {
    let mut s = setup(&cfg_llgr(0), true);
    s.r.peer_down(s.tor.key(), true);
    assert!(s.r.timers_due(after(60)).is_empty(), "not yet");
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(true));
    let out = s.r.timers_due(after(120));
    assert_eq!(withdrawn(&updates_for(&out, s.b.address, &s.b_up)).len(), 2);
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(false));
    assert_eq!(fib_state(&s.seen, "10.244.60.0/26"), Some(false));
    assert_eq!(s.r.peer_gr(s.tor.key()), None);
    assert_eq!(s.r.next_timer(), None);
}

#[test]
fn end_of_rib_sweeps_only_unrefreshed_routes() {
    let mut s = setup(&cfg_llgr(0), true);
    s.r.peer_down(s.tor.key(), true);
    s.r.peer_up(&s.tor, &s.tor_up);
    // Back, but its table is not complete: the stale routes stay in use.
    let gr = s.r.peer_gr(s.tor.key()).unwrap();
    assert_eq!(gr.state, ctl::proto::GrPeerState::PeerRestarting);
    s.r.update(s.tor.key(), from_tor(&s.tor_up, &["10.244.50.0/26"], vec![65000], TOR));
    assert!(!path_of(&s.r, "10.244.50.0/26").unwrap().stale, "refreshed");
    assert!(path_of(&s.r, "10.244.60.0/26").unwrap().stale);
    let out = s.r.update(s.tor.key(), eor(&s.tor_up));
    assert_eq!(withdrawn(&updates_for(&out, s.b.address, &s.b_up)), [net("10.244.60.0/26")]);
    assert_eq!(fib_state(&s.seen, "10.244.60.0/26"), Some(false));
    assert_eq!(fib_deletes(&s.seen, "10.244.50.0/26"), 0, "the refreshed route never left");
    assert_eq!(s.r.peer_gr(s.tor.key()), None);
}

#[test]
fn restart_timer_expiry_enters_long_lived_stale_when_llgr_negotiated() {
    let mut s = setup(&cfg_llgr(3600), true);
    s.r.peer_down(s.tor.key(), true);
    let out = s.r.timers_due(after(120));
    // RFC 9494: kept, marked LLGR_STALE, and re-advertised so to a peer
    // that advertised LLGR.
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(true));
    assert_eq!(fib_deletes(&s.seen, "10.244.50.0/26"), 0);
    let to_b = updates_for(&out, s.b.address, &s.b_up);
    assert_eq!(announced(&to_b).len(), 2, "{to_b:?}");
    assert!(to_b.iter().all(|u| u.update.attrs.communities.contains(&Community::LLGR_STALE)));
    let p = path_of(&s.r, "10.244.50.0/26").unwrap();
    assert!(p.stale && p.best && p.communities.contains(&[0xffff, 6]), "{p:?}");
    let gr = s.r.peer_gr(s.tor.key()).unwrap();
    assert_eq!(gr.state, ctl::proto::GrPeerState::LongLivedStale);
    assert_eq!(gr.stale_routes, 2);
    assert!(gr.time_left_secs.is_some_and(|t| t > 3000 && t <= 3600), "{gr:?}");
}

#[test]
fn long_lived_stale_routes_are_withdrawn_from_peers_without_llgr() {
    let mut s = setup(&cfg_llgr(3600), false);
    s.r.peer_down(s.tor.key(), true);
    let out = s.r.timers_due(after(120));
    let to_b = updates_for(&out, s.b.address, &s.b_up);
    assert_eq!(withdrawn(&to_b).len(), 2, "{to_b:?}");
    assert!(announced(&to_b).is_empty());
    // Still ours to forward on.
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(true));
}

#[test]
fn no_llgr_routes_are_dropped_not_kept() {
    let cfg = cfg_llgr(3600);
    let (mut r, seen) = with_recorder(&cfg, false);
    let (tor, tor_up) = up_for(&cfg, TOR);
    r.peer_up(&tor, &tor_up);
    r.update(tor.key(), from_tor_with(&tor_up, &["10.244.50.0/26"], vec![Community::NO_LLGR]));
    r.update(tor.key(), from_tor_with(&tor_up, &["10.244.60.0/26"], vec![]));
    r.peer_down(tor.key(), true);
    // Kept through the restart time like any other ...
    assert_eq!(fib_state(&seen, "10.244.50.0/26"), Some(true));
    r.timers_due(after(120));
    // ... but "MUST NOT be retained" past it (RFC 9494).
    assert_eq!(fib_state(&seen, "10.244.50.0/26"), Some(false));
    assert_eq!(fib_state(&seen, "10.244.60.0/26"), Some(true));
    assert_eq!(r.peer_gr(tor.key()).unwrap().stale_routes, 1);
}

#[test]
fn long_lived_stale_time_expiry_sweeps_the_routes() {
    let mut s = setup(&cfg_llgr(3600), true);
    s.r.peer_down(s.tor.key(), true);
    s.r.timers_due(after(120));
    assert!(s.r.timers_due(after(1800)).is_empty(), "halfway");
    let out = s.r.timers_due(after(120 + 3600));
    assert_eq!(withdrawn(&updates_for(&out, s.b.address, &s.b_up)).len(), 2);
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(false));
    assert_eq!(s.r.peer_gr(s.tor.key()), None);
    assert_eq!(s.r.next_timer(), None);
}

#[test]
fn long_lived_stale_routes_are_refreshed_by_the_returning_peer() {
    let mut s = setup(&cfg_llgr(3600), true);
    s.r.peer_down(s.tor.key(), true);
    s.r.timers_due(after(120));
    s.r.peer_up(&s.tor, &s.tor_up);
    let out = s.r.update(s.tor.key(), from_tor(&s.tor_up, &["10.244.50.0/26"], vec![65000], TOR));
    // Fresh again: re-advertised to b without LLGR_STALE.
    let to_b = updates_for(&out, s.b.address, &s.b_up);
    assert_eq!(announced(&to_b), [net("10.244.50.0/26")]);
    assert!(!to_b[0].update.attrs.communities.contains(&Community::LLGR_STALE));
    s.r.update(s.tor.key(), eor(&s.tor_up));
    assert_eq!(fib_state(&s.seen, "10.244.60.0/26"), Some(false), "not refreshed: swept");
    assert_eq!(fib_deletes(&s.seen, "10.244.50.0/26"), 0);
}

#[test]
fn without_our_llgr_capability_the_peers_llst_is_ignored() {
    // The ToR advertises LLGR but we do not: plain RFC 4724.
    let cfg = cfg_llgr(0);
    let (mut r, seen) = with_recorder(&cfg, false);
    let (tor, mut tor_up) = up_for(&cfg, TOR);
    tor_up.negotiated.peer_llgr = Some(vec![crate::wire::capability::LlgrFamily {
        family: AfiSafi::IPV4_UNICAST,
        forwarding: true,
        stale_time: 3600,
    }]);
    r.peer_up(&tor, &tor_up);
    r.update(tor.key(), from_tor(&tor_up, &["10.244.50.0/26"], vec![65000], TOR));
    r.peer_down(tor.key(), true);
    r.timers_due(after(120));
    assert_eq!(fib_state(&seen, "10.244.50.0/26"), Some(false));
}

#[test]
fn long_lived_stale_time_is_the_peers_capped_at_ours() {
    let cfg = cfg_llgr(3600);
    let (_, mut up) = up_for(&cfg, TOR);
    let with = |up: &Up, peer_llst: u32, ours: u32| {
        let mut n = up.negotiated.clone();
        for l in n.peer_llgr.iter_mut().flatten() {
            l.stale_time = peer_llst;
        }
        super::super::gr::helper_for(&n, ours, Duration::from_secs(240)).llgr
    };
    let v4 = AfiSafi::IPV4_UNICAST;
    assert_eq!(with(&up, 86_400, 3600), [(v4, Duration::from_secs(3600))]);
    assert_eq!(with(&up, 60, 3600), [(v4, Duration::from_secs(60))]);
    assert!(with(&up, 86_400, 0).is_empty(), "we did not advertise LLGR");
    assert!(with(&up, 0, 3600).is_empty(), "the peer's 0 is no LLGR for the family");
    up.negotiated.peer_llgr = None;
    assert!(with(&up, 0, 3600).is_empty());
}

#[test]
fn restart_time_zero_with_llgr_goes_long_lived_at_once() {
    // RFC 9494: with a Restart Time of 0 the long-lived stale time
    // starts when the session drops.
    let cfg = parse_str(&format!(
        "{CFG}\n[graceful_restart]\nrestart_time = 0\nlong_lived_stale_time = 600\n"
    ))
    .unwrap();
    let mut s = setup(&cfg, true);
    let out = s.r.peer_down(s.tor.key(), true);
    let to_b = updates_for(&out, s.b.address, &s.b_up);
    assert!(to_b.iter().all(|u| u.update.attrs.communities.contains(&Community::LLGR_STALE)));
    assert_eq!(announced(&to_b).len(), 2);
    let gr = s.r.peer_gr(s.tor.key()).unwrap();
    assert_eq!(gr.state, ctl::proto::GrPeerState::LongLivedStale);
    assert!(gr.time_left_secs.is_some_and(|t| t <= 600 && t > 590), "{gr:?}");
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(true));
}

#[test]
fn restart_time_zero_without_llgr_drops_routes_at_once() {
    let cfg = parse_str(&format!("{CFG}\n[graceful_restart]\nrestart_time = 0\n")).unwrap();
    let mut s = setup(&cfg, true);
    s.r.peer_down(s.tor.key(), true);
    assert_eq!(fib_state(&s.seen, "10.244.50.0/26"), Some(false));
}

#[test]
fn a_second_drop_while_awaiting_end_of_rib_keeps_the_still_stale_routes() {
    let mut s = setup(&cfg_llgr(0), true);
    s.r.peer_down(s.tor.key(), true);
    s.r.peer_up(&s.tor, &s.tor_up);
    s.r.update(s.tor.key(), from_tor(&s.tor_up, &["10.244.50.0/26"], vec![65000], TOR));
    // Dropping again before End-of-RIB loses nothing.
    s.r.peer_down(s.tor.key(), true);
    assert_eq!(fib_state(&s.seen, "10.244.60.0/26"), Some(true));
    assert_eq!(s.r.peer_gr(s.tor.key()).unwrap().stale_routes, 2);
}

// ===== restarting speaker =====

/// A handler that starts as after a restart of the daemon (the recorder
/// says the kernel held our routes).
fn recovering(cfg: &ValidatedConfig) -> (RibRoutes, Arc<Mutex<Recorded>>) {
    let (mut r, seen) = with_recorder(cfg, false);
    let (tx, _rx) = mpsc::unbounded_channel();
    r.start(tx);
    (r, seen)
}

#[test]
fn recovery_defers_the_table_until_end_of_rib_from_every_gr_peer() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, seen) = recovering(&cfg);
    assert!(r.recovering());
    let (tor, tor_up) = up_for(&cfg, TOR);
    let (b, b_up) = up_for(&cfg, B);
    // RFC 4724 §4.1: nothing, not even End-of-RIB, before selection is done.
    assert!(updates_for(&r.peer_up(&tor, &tor_up), tor.address, &tor_up).is_empty());
    assert!(updates_for(&r.peer_up(&b, &b_up), b.address, &b_up).is_empty());
    let st = r.gr_recovery().unwrap();
    assert_eq!(st.waiting_for.len(), 2, "{st:?}");
    assert_eq!(
        r.peer_gr(tor.key()).map(|g| g.state),
        Some(ctl::proto::GrPeerState::WaitingEndOfRib)
    );
    assert!(updates_for(&r.update(tor.key(), eor(&tor_up)), tor.address, &tor_up).is_empty());
    let out = r.update(b.key(), eor(&b_up));
    let to_tor = updates_for(&out, tor.address, &tor_up);
    assert_eq!(announced(&to_tor).len(), 2, "our blocks, at last");
    assert_eq!(to_tor.last().and_then(|u| u.is_end_of_rib()), Some(AfiSafi::IPV4_UNICAST));
    assert!(!r.recovering());
    assert_eq!(r.gr_recovery(), None);
    // Every peer up has sent End-of-RIB: the previous run's routes may go.
    assert_eq!(seen.lock().unwrap().converged, 1);
}

#[test]
fn recovery_ends_at_the_upper_bound_without_end_of_rib() {
    let cfg = parse_str(&format!("{CFG}\n[graceful_restart]\nstale_time = 30\n")).unwrap();
    let (mut r, seen) = recovering(&cfg);
    let (tor, tor_up) = up_for(&cfg, TOR);
    r.peer_up(&tor, &tor_up);
    assert!(r.timers_due(after(10)).is_empty());
    let out = r.timers_due(after(30));
    assert_eq!(announced(&updates_for(&out, tor.address, &tor_up)).len(), 2);
    assert!(!r.recovering());
    // The bound also ends the FIB's wait.
    assert_eq!(seen.lock().unwrap().converged, 1);
}

#[test]
fn recovery_does_not_wait_for_a_peer_that_goes_down() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, _seen) = recovering(&cfg);
    let (tor, tor_up) = up_for(&cfg, TOR);
    let (b, b_up) = up_for(&cfg, B);
    r.peer_up(&tor, &tor_up);
    r.peer_up(&b, &b_up);
    r.update(tor.key(), eor(&tor_up));
    assert!(r.recovering());
    let out = r.peer_down(b.key(), false);
    assert!(!r.recovering(), "b was the last one waited for");
    assert_eq!(announced(&updates_for(&out, tor.address, &tor_up)).len(), 2);
}

#[test]
fn first_start_without_kernel_routes_does_not_recover() {
    let cfg = parse_str(CFG).unwrap();
    // `fib.enabled = false` runs on NoFib: no kernel, nothing to recover.
    let mut r = RibRoutes::new(&cfg, Box::new(NoFib));
    let (tx, _rx) = mpsc::unbounded_channel();
    r.start(tx);
    assert!(!r.recovering());
    let (tor, tor_up) = up_for(&cfg, TOR);
    assert_eq!(announced(&updates_for(&r.peer_up(&tor, &tor_up), tor.address, &tor_up)).len(), 2);
}

#[test]
fn route_refresh_during_the_recovery_is_answered_without_end_of_rib() {
    let cfg = parse_str(CFG).unwrap();
    let (mut r, _seen) = recovering(&cfg);
    let (tor, tor_up) = up_for(&cfg, TOR);
    assert!(r.peer_up(&tor, &tor_up).is_empty(), "the table is deferred");
    let ask =
        RouteRefreshMsg { family: AfiSafi::IPV4_UNICAST, subtype: RouteRefreshSubtype::Normal };
    let out = r.route_refresh(tor.key(), ask);
    let sent = updates_for(&out, tor.address, &tor_up);
    assert_eq!(announced(&sent).len(), 2, "answered at once");
    // No End-of-RIB: the peer, a helper for our restart, would sweep what
    // the recovery has not selected yet.
    assert!(sent.iter().all(|u| u.is_end_of_rib().is_none()), "{sent:?}");
    assert!(r.recovering());
}

#[test]
fn llgr_capability_is_advertised_only_with_a_long_lived_stale_time() {
    let on = cfg_llgr(3600);
    let off = cfg_llgr(0);
    let has = |cfg: &ValidatedConfig| {
        peer_config(cfg.peer(TOR.parse::<std::net::IpAddr>().unwrap()).unwrap(), cfg.router_id())
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::LongLivedGracefulRestart(_)))
    };
    assert!(has(&on));
    assert!(!has(&off));
}

proptest::proptest! {
    /// Whatever the two times, the long-lived stale time kept is the
    /// smaller one, and there is none when either end's is 0.
    #[test]
    fn long_lived_stale_time_kept_is_the_minimum_of_both_ends(
        peer_llst in 0u32..=0x00ff_ffff,
        ours in 0u32..=0x00ff_ffff,
    ) {
        let cfg = cfg_llgr(3600);
        let (_, up) = up_for(&cfg, TOR);
        let mut n = up.negotiated.clone();
        for l in n.peer_llgr.iter_mut().flatten() {
            l.stale_time = peer_llst;
        }
        let h = super::super::gr::helper_for(&n, ours, Duration::from_secs(240));
        if peer_llst == 0 || ours == 0 {
            proptest::prop_assert!(h.llgr.is_empty());
        } else {
            let want = Duration::from_secs(u64::from(peer_llst.min(ours)));
            proptest::prop_assert_eq!(h.llgr, vec![(AfiSafi::IPV4_UNICAST, want)]);
        }
    }
}
