//! FSM scenarios: sequences of events through one [`Fsm`], named by the
//! behaviour they pin down (RFC 4271 §8, Calico's BIRD reconnect settings).

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::fsm::{Action, Down, Event, EventKind, Fsm, Millis, PeerConfig, Reason, State, Timer};
use bgp::wire::iana::{ErrorCode, OpenSubcode};
use bgp::wire::{AfiSafi, Capability, Message, NotificationMsg, OpenMsg};

const T0: Millis = Millis(0);

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn cfg() -> PeerConfig {
    PeerConfig::new(65001, 65002, Ipv4Addr::new(10, 0, 0, 1))
}

fn peer_open(hold: u16) -> OpenMsg {
    OpenMsg::new(
        65002,
        hold,
        Ipv4Addr::new(10, 0, 0, 2),
        vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)],
    )
}

/// An FSM driven to OpenSent over its own dial.
fn open_sent(cfg: PeerConfig) -> Fsm {
    let mut fsm = Fsm::new(cfg);
    for e in [Event::ManualStart, Event::ConnectRetryTimerExpires, Event::TcpCrAcked] {
        fsm.handle(e, T0);
    }
    assert_eq!(fsm.state(), State::OpenSent);
    fsm
}

fn established(cfg: PeerConfig, hold: u16) -> Fsm {
    let mut fsm = open_sent(cfg);
    fsm.handle(Event::BgpOpen(peer_open(hold)), T0);
    fsm.handle(Event::KeepAliveMsg, T0);
    assert_eq!(fsm.state(), State::Established);
    fsm
}

fn sent_notification(actions: &[Action]) -> Option<&NotificationMsg> {
    actions.iter().find_map(|a| match a {
        Action::Send(Message::Notification(n)) => Some(n),
        _ => None,
    })
}

fn timer_started(actions: &[Action], t: Timer) -> Option<Duration> {
    actions.iter().find_map(|a| match a {
        Action::StartTimer(x, d) if *x == t => Some(*d),
        _ => None,
    })
}

#[test]
fn connect_delay_precedes_first_dial() {
    let mut fsm = Fsm::new(cfg());
    let a = fsm.handle(Event::ManualStart, T0);
    assert_eq!(
        a,
        [
            Action::StartTimer(Timer::ConnectRetry, s(2)),
            Action::StateChange {
                from: State::Idle,
                to: State::Active,
                reason: Reason::Event(EventKind::ManualStart)
            },
        ]
    );
    let a = fsm.handle(Event::ConnectRetryTimerExpires, Millis(2_000));
    assert_eq!(a[..2], [Action::StartTimer(Timer::ConnectRetry, s(5)), Action::Connect]);
}

#[test]
fn zero_connect_delay_dials_at_once() {
    let mut c = cfg();
    c.connect_delay = Duration::ZERO;
    let mut fsm = Fsm::new(c);
    let a = fsm.handle(Event::ManualStart, T0);
    assert_eq!(a[..2], [Action::StartTimer(Timer::ConnectRetry, s(5)), Action::Connect]);
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn refused_dial_is_retried_after_connect_retry_without_error_wait() {
    let mut fsm = Fsm::new(cfg());
    fsm.handle(Event::ManualStart, T0);
    fsm.handle(Event::ConnectRetryTimerExpires, T0);
    for _ in 0..3 {
        let a = fsm.handle(Event::TcpConnectionFails, T0);
        assert_eq!(timer_started(&a, Timer::ConnectRetry), Some(s(5)));
        assert_eq!(fsm.state(), State::Active);
        let a = fsm.handle(Event::ConnectRetryTimerExpires, T0);
        assert!(a.contains(&Action::Connect));
    }
    assert_eq!(fsm.error_wait(), None);
}

#[test]
fn hold_timer_expiry_sends_notification_and_dials_again_at_once() {
    let mut fsm = established(cfg(), 90);
    let a = fsm.handle(Event::HoldTimerExpires, Millis(90_000));
    assert_eq!(sent_notification(&a), Some(&NotificationMsg::hold_timer_expired()));
    assert_eq!(a[1], Action::Disconnect);
    assert!(matches!(
        a.last(),
        Some(Action::SessionDown(Down { reason: Reason::Error(_), graceful: false }))
    ));
    assert!(a.contains(&Action::Connect), "{a:?}");
    assert_eq!(timer_started(&a, Timer::IdleHold), None);
    assert_eq!(fsm.state(), State::Connect);
}

#[test]
fn holdtime_of_two_is_refused() {
    let mut fsm = open_sent(cfg());
    let a = fsm.handle(Event::BgpOpen(peer_open(2)), T0);
    let n = sent_notification(&a).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::OPEN_MESSAGE, 6), "Unacceptable Hold Time");
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn holdtime_is_the_smaller_of_the_two() {
    let mut c = cfg();
    c.hold_time = 30;
    let mut fsm = open_sent(c);
    let a = fsm.handle(Event::BgpOpen(peer_open(90)), T0);
    assert_eq!(timer_started(&a, Timer::Hold), Some(s(30)));
}

#[test]
fn keepalive_is_a_third_of_negotiated_hold() {
    let mut fsm = open_sent(cfg());
    let a = fsm.handle(Event::BgpOpen(peer_open(9)), T0);
    assert_eq!(timer_started(&a, Timer::Hold), Some(s(9)));
    assert_eq!(timer_started(&a, Timer::Keepalive), Some(s(3)));
    let a = fsm.handle(Event::KeepaliveTimerExpires, Millis(3_000));
    assert_eq!(a, [Action::Send(Message::Keepalive), Action::StartTimer(Timer::Keepalive, s(3))]);
}

#[test]
fn configured_keepalive_time_paces_keepalives() {
    let mut c = cfg();
    c.keepalive_time = Some(10);
    let mut fsm = open_sent(c);
    let a = fsm.handle(Event::BgpOpen(peer_open(90)), T0);
    assert_eq!(timer_started(&a, Timer::Hold), Some(s(90)));
    assert_eq!(timer_started(&a, Timer::Keepalive), Some(s(10)), "not 30: configured");
    fsm.handle(Event::KeepAliveMsg, T0);
    let a = fsm.handle(Event::KeepaliveTimerExpires, Millis(10_000));
    assert_eq!(a, [Action::Send(Message::Keepalive), Action::StartTimer(Timer::Keepalive, s(10))]);
}

#[test]
fn configured_keepalive_never_exceeds_a_third_of_the_negotiated_hold_time() {
    // BIRD-like: 60 s keepalive configured, but the peer only allows 9 s.
    let mut c = cfg();
    c.keepalive_time = Some(60);
    let mut fsm = open_sent(c);
    let a = fsm.handle(Event::BgpOpen(peer_open(9)), T0);
    assert_eq!(timer_started(&a, Timer::Keepalive), Some(s(3)));
}

#[test]
fn zero_hold_time_runs_no_hold_or_keepalive_timer() {
    let mut fsm = open_sent(cfg());
    let a = fsm.handle(Event::BgpOpen(peer_open(0)), T0);
    assert_eq!(a[..2], [Action::Send(Message::Keepalive), Action::StopTimer(Timer::Hold)]);
    assert_eq!(timer_started(&a, Timer::Keepalive), None);
    let a = fsm.handle(Event::KeepAliveMsg, T0);
    assert_eq!(timer_started(&a, Timer::Hold), None);
    assert!(!fsm.timer_armed(Timer::Hold) && !fsm.timer_armed(Timer::Keepalive));
    // Nothing left to expire: an expiry now is stale.
    assert_eq!(fsm.handle(Event::HoldTimerExpires, T0), []);
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn open_sent_uses_the_large_hold_timer() {
    let mut fsm = Fsm::new(cfg());
    fsm.handle(Event::ManualStart, T0);
    fsm.handle(Event::ConnectRetryTimerExpires, T0);
    let a = fsm.handle(Event::TcpCrAcked, T0);
    assert_eq!(timer_started(&a, Timer::Hold), Some(s(240)));
}

#[test]
fn idle_hold_doubles_up_to_thirty_seconds() {
    let mut fsm = Fsm::new(cfg());
    fsm.handle(Event::ManualStart, T0);
    let mut waits = Vec::new();
    for i in 0..6u64 {
        let now = Millis(i * 60_000);
        // The peer talks before OPEN: an error in Active.
        let a = fsm.handle(Event::KeepAliveMsg, now);
        let wait = timer_started(&a, Timer::IdleHold).expect("error wait");
        waits.push(wait.as_secs());
        let a = fsm.handle(Event::IdleHoldTimerExpires, now.after(wait));
        assert_eq!(fsm.state(), State::Active, "{a:?}");
    }
    assert_eq!(waits, [5, 10, 20, 30, 30, 30]);
}

/// Ends an Established session with an error found in what the peer
/// sent, which keeps the error wait.
fn malformed_update(fsm: &mut Fsm, now: Millis) -> Vec<Action> {
    let e = bgp::wire::DecodeError::new(
        NotificationMsg::new(ErrorCode::UPDATE_MESSAGE, 3, Vec::new()),
        "missing well-known attribute",
    );
    fsm.handle(Event::UpdateMsgErr(e), now)
}

#[test]
fn error_wait_resets_after_session_stays_up() {
    let mut fsm = established(cfg(), 90);
    malformed_update(&mut fsm, Millis(1_000));
    assert_eq!(fsm.error_wait(), Some(s(5)));
    // Flap quickly: the wait grows.
    fsm.handle(Event::IdleHoldTimerExpires, Millis(6_000));
    for e in [Event::ConnectRetryTimerExpires, Event::TcpCrAcked, Event::BgpOpen(peer_open(90))] {
        fsm.handle(e, Millis(8_000));
    }
    fsm.handle(Event::KeepAliveMsg, Millis(8_000));
    malformed_update(&mut fsm, Millis(9_000));
    assert_eq!(fsm.error_wait(), Some(s(10)));
    // Up for ten minutes this time: the next error starts from 5 s again.
    fsm.handle(Event::IdleHoldTimerExpires, Millis(19_000));
    for e in [Event::ConnectRetryTimerExpires, Event::TcpCrAcked, Event::BgpOpen(peer_open(90))] {
        fsm.handle(e, Millis(21_000));
    }
    fsm.handle(Event::KeepAliveMsg, Millis(21_000));
    let a = malformed_update(&mut fsm, Millis(621_000));
    assert_eq!(timer_started(&a, Timer::IdleHold), Some(s(5)));
}

#[test]
fn a_peer_that_left_an_established_session_is_dialed_at_once_and_retried_after_the_connect_delay() {
    let mut fsm = established(cfg(), 90);
    // The peer's speaker died: its kernel closed the connection.
    let a = fsm.handle(Event::TcpConnectionFails, Millis(1_000));
    assert!(a.contains(&Action::Connect), "{a:?}");
    assert_eq!(timer_started(&a, Timer::IdleHold), None);
    assert_eq!((fsm.state(), fsm.error_wait(), fsm.awaited()), (State::Connect, None, true));
    // Its host answers the dial with a reset until the speaker is back:
    // retry after the connect delay (2 s), not the ConnectRetry time (5 s).
    let a = fsm.handle(Event::TcpConnectionFails, Millis(1_001));
    assert_eq!(timer_started(&a, Timer::ConnectRetry), Some(s(2)));
    let a = fsm.handle(Event::ConnectRetryTimerExpires, Millis(3_001));
    assert!(a.contains(&Action::Connect), "{a:?}");
    for e in [Event::TcpCrAcked, Event::BgpOpen(peer_open(90)), Event::KeepAliveMsg] {
        fsm.handle(e, Millis(3_010));
    }
    assert_eq!(fsm.state(), State::Established);
    assert!(!fsm.awaited(), "back: failed dials wait the ConnectRetry time again");
}

#[test]
fn a_passive_session_the_peer_left_listens_again_at_once() {
    let mut c = cfg();
    c.passive = true;
    let mut fsm = Fsm::new(c);
    for e in [
        Event::ManualStart,
        Event::TcpConnectionConfirmed,
        Event::BgpOpen(peer_open(90)),
        Event::KeepAliveMsg,
    ] {
        fsm.handle(e, T0);
    }
    assert_eq!(fsm.state(), State::Established);
    let a = fsm.handle(Event::TcpConnectionFails, Millis(1_000));
    assert!(!a.contains(&Action::Connect) && timer_started(&a, Timer::IdleHold).is_none());
    assert_eq!(fsm.state(), State::Active);
    // The restarted peer's dial is taken at once.
    fsm.handle(Event::TcpConnectionConfirmed, Millis(1_500));
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn a_session_that_never_came_up_keeps_the_error_wait() {
    let mut fsm = open_sent(cfg());
    fsm.handle(Event::BgpOpen(peer_open(90)), T0);
    assert_eq!(fsm.state(), State::OpenConfirm);
    let a = fsm.handle(Event::TcpConnectionFails, Millis(1_000));
    assert_eq!(timer_started(&a, Timer::IdleHold), Some(s(5)));
    assert!(!fsm.awaited());
}

#[test]
fn a_restarting_speaker_dials_at_once() {
    let mut c = cfg();
    c.capabilities.push(Capability::GracefulRestart(bgp::wire::capability::GracefulRestart {
        restart_flag: true,
        ..Default::default()
    }));
    let mut fsm = Fsm::new(c);
    let a = fsm.handle(Event::ManualStart, T0);
    assert!(a.contains(&Action::Connect), "{a:?}");
    assert_eq!(fsm.state(), State::Connect);
    // Refused while the peer is busy: soon again.
    let a = fsm.handle(Event::TcpConnectionFails, Millis(10));
    assert_eq!(timer_started(&a, Timer::ConnectRetry), Some(s(2)));
}

#[test]
fn manual_stop_cancels_automatic_restart() {
    let mut fsm = established(cfg(), 90);
    let a = fsm.handle(Event::ManualStop, T0);
    assert_eq!(timer_started(&a, Timer::IdleHold), None);
    let n = sent_notification(&a).expect("Cease");
    assert_eq!((n.code, n.subcode), (ErrorCode::CEASE, 2));
    // Automatic starts need a ManualStart first.
    assert_eq!(fsm.handle(Event::AutomaticStart, T0).len(), 2);
    assert_eq!(fsm.state(), State::Active);
}

#[test]
fn missing_required_capability_sends_unsupported_capability() {
    let mut c = cfg();
    c.capabilities.push(Capability::Multiprotocol(AfiSafi::IPV6_UNICAST));
    c.required_capabilities = vec![Capability::Multiprotocol(AfiSafi::IPV6_UNICAST)];
    let mut fsm = open_sent(c);
    let a = fsm.handle(Event::BgpOpen(peer_open(90)), T0);
    let n = sent_notification(&a).expect("a NOTIFICATION");
    assert_eq!(n.code, ErrorCode::OPEN_MESSAGE);
    assert_eq!(n.subcode, OpenSubcode::UNSUPPORTED_CAPABILITY.0);
    assert_eq!(hex::encode(&n.data), "010400020001");
}

#[test]
fn established_hands_the_negotiated_session_to_the_rib() {
    let mut fsm = open_sent(cfg());
    fsm.handle(Event::BgpOpen(peer_open(90)), T0);
    let a = fsm.handle(Event::KeepAliveMsg, Millis(5));
    let Some(Action::Established(n)) = a.last() else { panic!("{a:?}") };
    assert_eq!((n.hold_time, n.keepalive, n.peer_asn), (90, 30, 65002));
    assert!(n.four_octet_as && n.ebgp);
    assert_eq!(fsm.established_at(), Some(Millis(5)));
}

#[test]
fn update_restarts_the_hold_timer_only_when_established() {
    let mut fsm = established(cfg(), 90);
    assert_eq!(fsm.handle(Event::UpdateMsg, T0), [Action::StartTimer(Timer::Hold, s(90))]);
    let mut fsm = open_sent(cfg());
    let a = fsm.handle(Event::UpdateMsg, T0);
    let n = sent_notification(&a).expect("FSM error");
    assert_eq!((n.code, n.subcode), (ErrorCode::FSM, 1));
}

#[test]
fn stale_timer_expiry_is_ignored() {
    let mut fsm = established(cfg(), 90);
    for e in
        [Event::ConnectRetryTimerExpires, Event::DelayOpenTimerExpires, Event::IdleHoldTimerExpires]
    {
        assert_eq!(fsm.handle(e, T0), []);
    }
    assert_eq!(fsm.state(), State::Established);
}

#[test]
fn peer_notification_is_not_answered() {
    let mut fsm = established(cfg(), 90);
    let a = fsm.handle(Event::NotifMsg(NotificationMsg::admin_shutdown("bye")), T0);
    assert_eq!(sent_notification(&a), None);
    assert!(matches!(
        a.last(),
        Some(Action::SessionDown(Down { reason: Reason::Notification(_), graceful: false }))
    ));
}

#[test]
fn ibgp_open_with_our_identifier_is_refused() {
    let mut fsm = open_sent(PeerConfig::new(65001, 65001, Ipv4Addr::new(10, 0, 0, 1)));
    let open = OpenMsg::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1), vec![]);
    let a = fsm.handle(Event::BgpOpen(open), T0);
    let n = sent_notification(&a).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::OPEN_MESSAGE, 3), "Bad BGP Identifier");
}

#[test]
fn four_octet_local_as_is_sent_as_as_trans() {
    let fsm = Fsm::new(PeerConfig::new(4_200_000_001, 65002, Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(fsm.local_open().my_as, 23456);
    assert_eq!(fsm.local_open().four_octet_as(), Some(4_200_000_001));
}

#[test]
fn keepalive_time_from_the_config_reaches_the_fsm_global_and_per_peer() {
    let cfg = bgp::config::parse_str(
        r#"
        [node]
        name = "n1"
        ipv4 = "10.0.0.1/24"
        [timers]
        keepalive_time = 20
        [[peers]]
        name = "tor"
        address = "10.0.0.254"
        remote_as = 65000
        [[peers]]
        name = "fast"
        address = "10.0.0.253"
        remote_as = 65000
        hold_time = 30
        keepalive_time = 5
        "#,
    )
    .unwrap();
    let pc = |a: &str| {
        bgp::session::peer_config(
            cfg.peer(a.parse::<std::net::IpAddr>().unwrap()).unwrap(),
            cfg.router_id(),
        )
    };
    assert_eq!(pc("10.0.0.254").keepalive_time, Some(20));
    assert_eq!(pc("10.0.0.253").keepalive_time, Some(5));
    // Through the FSM: the ToR offers 240, so the configured 20 stands.
    let mut fsm = open_sent(pc("10.0.0.254"));
    let open = OpenMsg::new(65000, 240, Ipv4Addr::new(10, 0, 0, 254), Vec::new());
    let a = fsm.handle(Event::BgpOpen(open), T0);
    assert_eq!(timer_started(&a, Timer::Keepalive), Some(s(20)));
}
