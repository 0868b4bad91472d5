//! Graceful restart in the FSM: which session ends keep the peer's routes
//! (RFC 4724 §4.2, RFC 8538 §4) and the Hard Reset a Cease becomes with the
//! N bit (RFC 8538 §3).

use std::net::Ipv4Addr;

use bgp::fsm::graceful::is_hard_reset;
use bgp::fsm::{Action, Down, Event, Fsm, Millis, PeerConfig, Reason, State};
use bgp::wire::capability::{GrFamily, GracefulRestart};
use bgp::wire::iana::CeaseSubcode;
use bgp::wire::{AfiSafi, Capability, Message, NotificationMsg, OpenMsg};

const T0: Millis = Millis(0);

fn gr(n: bool, r: bool) -> Capability {
    Capability::GracefulRestart(GracefulRestart {
        restart_flag: r,
        notification_flag: n,
        restart_time: 120,
        families: vec![GrFamily { family: AfiSafi::IPV4_UNICAST, forwarding: true }],
    })
}

/// A session where we advertise `ours` and the peer `theirs`.
fn established(ours: Option<Capability>, theirs: Option<Capability>) -> Fsm {
    let mut cfg = PeerConfig::new(65001, 65002, Ipv4Addr::new(10, 0, 0, 1));
    cfg.capabilities.extend(ours);
    let mut fsm = Fsm::new(cfg);
    for e in [Event::ManualStart, Event::ConnectRetryTimerExpires, Event::TcpCrAcked] {
        fsm.handle(e, T0);
    }
    let mut caps = vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)];
    caps.extend(theirs);
    let open = OpenMsg::new(65002, 90, Ipv4Addr::new(10, 0, 0, 2), caps);
    fsm.handle(Event::BgpOpen(open), T0);
    fsm.handle(Event::KeepAliveMsg, T0);
    assert_eq!(fsm.state(), State::Established);
    fsm
}

fn down(actions: &[Action]) -> &Down {
    match actions.last() {
        Some(Action::SessionDown(d)) => d,
        other => panic!("no SessionDown: {other:?}"),
    }
}

fn sent(actions: &[Action]) -> Option<&NotificationMsg> {
    actions.iter().find_map(|a| match a {
        Action::Send(Message::Notification(n)) => Some(n),
        _ => None,
    })
}

#[test]
fn tcp_failure_is_graceful_when_both_advertise_gr() {
    let mut fsm = established(Some(gr(false, false)), Some(gr(false, false)));
    assert!(down(&fsm.handle(Event::TcpConnectionFails, T0)).graceful);
}

#[test]
fn tcp_failure_is_not_graceful_when_the_peer_lacks_gr() {
    let mut fsm = established(Some(gr(true, false)), None);
    assert!(!down(&fsm.handle(Event::TcpConnectionFails, T0)).graceful);
    let mut fsm = established(None, Some(gr(true, false)));
    assert!(!down(&fsm.handle(Event::TcpConnectionFails, T0)).graceful, "we did not offer GR");
}

#[test]
fn hold_timer_expiry_is_graceful_with_n_bit() {
    let mut fsm = established(Some(gr(true, false)), Some(gr(true, false)));
    let a = fsm.handle(Event::HoldTimerExpires, Millis(90_000));
    assert_eq!(sent(&a), Some(&NotificationMsg::hold_timer_expired()));
    let d = down(&a);
    assert!(d.graceful && matches!(d.reason, Reason::Error(_)));
}

#[test]
fn hold_timer_expiry_is_not_graceful_without_n_bit() {
    // RFC 4724 alone: a NOTIFICATION ends GR.
    let mut fsm = established(Some(gr(true, false)), Some(gr(false, false)));
    assert!(!down(&fsm.handle(Event::HoldTimerExpires, Millis(90_000))).graceful);
}

#[test]
fn received_notification_is_graceful_with_n_bit() {
    let mut fsm = established(Some(gr(true, false)), Some(gr(true, false)));
    let n = NotificationMsg::cease(CeaseSubcode::ADMINISTRATIVE_RESET, bytes::Bytes::new());
    assert!(down(&fsm.handle(Event::NotifMsg(n), T0)).graceful);
}

#[test]
fn hard_reset_is_not_graceful() {
    let mut fsm = established(Some(gr(true, false)), Some(gr(true, false)));
    let hr = NotificationMsg::cease(CeaseSubcode::HARD_RESET, vec![6, 2]);
    assert!(!down(&fsm.handle(Event::NotifMsg(hr), T0)).graceful);
}

#[test]
fn manual_stop_sends_hard_reset_with_n_bit() {
    let mut fsm = established(Some(gr(true, false)), Some(gr(true, false)));
    let a = fsm.handle(Event::ManualStop, T0);
    let n = sent(&a).expect("a NOTIFICATION");
    assert!(is_hard_reset(n));
    assert_eq!(&n.data[..2], &[6, 2], "Cease/Administrative Shutdown encapsulated");
    assert!(!down(&a).graceful);
}

#[test]
fn manual_stop_sends_plain_cease_without_n_bit() {
    let mut fsm = established(Some(gr(false, false)), Some(gr(false, false)));
    let a = fsm.handle(Event::ManualStop, T0);
    assert_eq!(sent(&a).map(|n| n.subcode), Some(CeaseSubcode::ADMINISTRATIVE_SHUTDOWN.0));
}

#[test]
fn max_prefix_stop_is_a_hard_reset_and_admin_reset_is_graceful() {
    let mut fsm = established(Some(gr(true, false)), Some(gr(true, false)));
    let mp = NotificationMsg::max_prefixes(AfiSafi::IPV4_UNICAST, 10);
    let a = fsm.handle(Event::AutomaticStop(mp), T0);
    assert!(sent(&a).is_some_and(is_hard_reset) && !down(&a).graceful);

    let mut fsm = established(Some(gr(true, false)), Some(gr(true, false)));
    let a = fsm.handle(Event::AutomaticStop(NotificationMsg::admin_reset("restart")), T0);
    assert!(sent(&a).is_some_and(|n| !is_hard_reset(n)) && down(&a).graceful);
}

#[test]
fn restart_bit_change_applies_from_the_next_connection() {
    let mut fsm = established(Some(gr(true, true)), Some(gr(true, false)));
    fsm.set_graceful_restart(Some(GracefulRestart { restart_flag: false, ..Default::default() }));
    assert!(fsm.local_open().graceful_restart().is_some_and(|g| g.restart_flag), "not mid-session");
    fsm.handle(Event::TcpConnectionFails, T0);
    fsm.handle(Event::IdleHoldTimerExpires, Millis(5_000));
    fsm.handle(Event::ConnectRetryTimerExpires, Millis(7_000));
    let a = fsm.handle(Event::TcpCrAcked, Millis(7_000));
    let open = a.iter().find_map(|a| match a {
        Action::Send(Message::Open(o)) => Some(o),
        _ => None,
    });
    assert!(open.and_then(|o| o.graceful_restart()).is_some_and(|g| !g.restart_flag));
}
