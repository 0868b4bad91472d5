//! The restarting speaker's recovery (RFC 4724 §4.1): whom it waits for,
//! when it ends, and what our OPEN says meanwhile.

use std::time::Duration;

use bgp::fsm::Millis;
use bgp::rib::{
    Completion, GrRecovery, PeerId, PeerWait, RecoveryAction, RecoveryConfig, RecoveryPeer,
};
use bgp::wire::AfiSafi;

const V4: AfiSafi = AfiSafi::IPV4_UNICAST;
const V6: AfiSafi = AfiSafi::IPV6_UNICAST;

fn s(n: u64) -> Millis {
    Millis(n * 1000)
}

fn gr_peer() -> RecoveryPeer {
    RecoveryPeer { graceful_restart: true, restarting: false, families: vec![V4, V6] }
}

fn start(peers: &[u32]) -> GrRecovery {
    let (r, out) = GrRecovery::start(
        RecoveryConfig::new(120),
        true,
        vec![V4, V6],
        peers.iter().map(|&p| PeerId(p)),
        s(0),
    );
    assert_eq!(out, [RecoveryAction::StartTimer(Duration::from_secs(30))], "pending wait first");
    r
}

fn completed(out: &[RecoveryAction]) -> Option<Completion> {
    out.iter().find_map(|a| match a {
        RecoveryAction::Complete(c) => Some(*c),
        _ => None,
    })
}

#[test]
fn deferral_waits_for_end_of_rib_from_up_gr_peers_only() {
    let mut r = start(&[1, 2, 3, 4]);
    assert!(completed(&r.peer_up(PeerId(1), &gr_peer(), s(2))).is_none());
    // Without GR, or restarting itself: not waited for.
    let no_gr = RecoveryPeer { graceful_restart: false, ..gr_peer() };
    r.peer_up(PeerId(2), &no_gr, s(2));
    let restarting = RecoveryPeer { restarting: true, ..gr_peer() };
    r.peer_up(PeerId(3), &restarting, s(2));
    // Down: not waited for.
    r.peer_down(PeerId(4), s(3));
    assert_eq!(r.peer(PeerId(4)), Some(&PeerWait::NotWaited));
    let st = r.status(s(3));
    assert_eq!((st.waiting_for, st.pending), (vec![PeerId(1)], vec![]));
    assert!(completed(&r.end_of_rib(PeerId(1), V4, s(4))).is_none(), "IPv6 still due");
    let out = r.end_of_rib(PeerId(1), V6, s(5));
    assert_eq!(out, [RecoveryAction::StopTimer, RecoveryAction::Complete(Completion::Converged)]);
    assert!(!r.recovering());
}

#[test]
fn upper_bound_ends_deferral() {
    let mut r = start(&[1]);
    r.peer_up(PeerId(1), &gr_peer(), s(1));
    let out = r.timer_expired(s(30));
    assert_eq!(out, [RecoveryAction::StartTimer(Duration::from_secs(210))]);
    assert_eq!(r.status(s(100)).time_left, Some(Duration::from_secs(140)));
    let out = r.timer_expired(s(240));
    assert_eq!(completed(&out), Some(Completion::UpperBound));
    assert_eq!(r.status(s(241)).completion, Some(Completion::UpperBound));
}

#[test]
fn peers_not_up_are_waited_for_only_during_the_pending_wait() {
    let mut r = start(&[1, 2]);
    r.peer_up(PeerId(1), &gr_peer(), s(1));
    r.end_of_rib(PeerId(1), V4, s(2));
    let out = r.end_of_rib(PeerId(1), V6, s(2));
    assert!(completed(&out).is_none(), "peer 2 may still come");
    assert_eq!(r.status(s(2)).pending, [PeerId(2)]);
    let out = r.timer_expired(s(30));
    assert_eq!(completed(&out), Some(Completion::Converged));
}

#[test]
fn two_nodes_restarting_together_do_not_wait_for_each_other() {
    // Each sees the other's R bit and does not wait for it (two nodes
    // restarting together would otherwise wait out the upper bound).
    let mut a = start(&[2]);
    let mut b = start(&[1]);
    let restarting = RecoveryPeer { restarting: true, ..gr_peer() };
    assert_eq!(completed(&a.peer_up(PeerId(2), &restarting, s(3))), Some(Completion::Converged));
    assert_eq!(completed(&b.peer_up(PeerId(1), &restarting, s(3))), Some(Completion::Converged));
}

#[test]
fn restart_bit_is_set_only_while_recovering() {
    let mut r = start(&[1]);
    let cap = r.capability();
    assert!(cap.restart_flag && cap.notification_flag && cap.families.iter().all(|f| f.forwarding));
    r.peer_down(PeerId(1), s(1));
    assert!(!r.recovering());
    assert!(!r.capability().restart_flag);
}

#[test]
fn fresh_start_has_nothing_to_recover() {
    let (r, out) = GrRecovery::start(RecoveryConfig::new(120), false, vec![], [PeerId(1)], s(0));
    assert!(out.is_empty() && !r.recovering());
    assert_eq!(r.status(s(0)).completion, Some(Completion::NotRestarting));
    assert!(r.capability().families.iter().all(|f| !f.forwarding), "no forwarding state kept");
}

#[test]
fn peer_coming_back_during_recovery_is_waited_for_again() {
    let mut r = start(&[1, 2]);
    r.peer_up(PeerId(2), &gr_peer(), s(1));
    r.peer_down(PeerId(1), s(1));
    r.peer_up(PeerId(1), &gr_peer(), s(5));
    for p in [1, 2] {
        r.end_of_rib(PeerId(p), V4, s(6));
    }
    r.end_of_rib(PeerId(2), V6, s(6));
    assert!(r.recovering(), "peer 1's IPv6 End-of-RIB is due");
    assert_eq!(completed(&r.end_of_rib(PeerId(1), V6, s(7))), Some(Completion::Converged));
}

#[test]
fn second_restart_during_recovery_starts_a_new_recovery() {
    // The daemon restarts again mid-recovery: the kernel routes are adopted
    // again and the new run recovers as the first would have.
    let r = start(&[1]);
    assert!(r.recovering());
    drop(r);
    let mut again = start(&[1]);
    assert!(again.capability().restart_flag);
    again.peer_up(PeerId(1), &gr_peer(), s(1));
    again.end_of_rib(PeerId(1), V4, s(2));
    assert_eq!(completed(&again.end_of_rib(PeerId(1), V6, s(2))), Some(Completion::Converged));
}

#[test]
fn table_and_end_of_rib_go_out_when_recovery_completes() {
    use std::net::{IpAddr, Ipv4Addr};

    use bgp::rib::{ExportPolicy, LocalRoute, PeerInfo, Rib, RibConfig};

    let me = Ipv4Addr::new(10, 0, 0, 1);
    let mut rib = Rib::new(RibConfig::new(64512, me));
    let mut rec = start(&[1]);
    rib.begin_deferral();
    let info = PeerInfo {
        local_addr_v4: Some(me),
        export: ExportPolicy::all(),
        graceful_restart: true,
        ..PeerInfo::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            64512,
            64512,
            Ipv4Addr::new(10, 0, 0, 2),
        )
    };
    assert!(rib.peer_up(PeerId(1), info).messages_for(PeerId(1)).is_empty());
    rec.peer_up(PeerId(1), &RecoveryPeer { families: vec![V4], ..gr_peer() }, s(1));
    let out = rib.originate("10.9.0.0/26".parse().unwrap(), LocalRoute::default());
    assert!(out.messages_for(PeerId(1)).is_empty(), "deferred");
    let done = rec.end_of_rib(PeerId(1), V4, s(2));
    assert_eq!(completed(&done), Some(Completion::Converged));
    let out = rib.end_deferral();
    assert_eq!(out.messages_for(PeerId(1)).len(), 2, "our block, then End-of-RIB");
}
