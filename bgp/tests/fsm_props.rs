//! Properties over random event sequences: the FSM never panics, its timer
//! actions keep a driver's view of the running timers exact, and its state
//! changes tell the truth.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use bgp::fsm::{Action, Direction, Event, Fsm, Millis, PeerConfig, PeerFsm, State, Timer};
use bgp::wire::iana::{HeaderSubcode, OpenSubcode};
use bgp::wire::{DecodeError, NotificationMsg, OpenMsg};
use bytes::Bytes;
use proptest::prelude::*;

fn cfg(delay_open: bool, passive: bool) -> PeerConfig {
    let mut c = PeerConfig::new(65001, 65002, Ipv4Addr::new(10, 0, 0, 1));
    c.passive = passive;
    if delay_open {
        c.delay_open = Some(std::time::Duration::from_secs(5));
    }
    c
}

fn arb_event() -> impl Strategy<Value = Event> {
    let open =
        |hold: u16, id: u8| OpenMsg::new(65002, hold, Ipv4Addr::new(10, 0, 0, id), Vec::new());
    prop_oneof![
        Just(Event::ManualStart),
        Just(Event::ManualStop),
        Just(Event::AutomaticStart),
        Just(Event::ManualStartWithPassiveTcpEstablishment),
        Just(Event::AutomaticStartWithPassiveTcpEstablishment),
        Just(Event::AutomaticStop(NotificationMsg::admin_reset(""))),
        Just(Event::ConnectRetryTimerExpires),
        Just(Event::HoldTimerExpires),
        Just(Event::KeepaliveTimerExpires),
        Just(Event::DelayOpenTimerExpires),
        Just(Event::IdleHoldTimerExpires),
        Just(Event::TcpCrAcked),
        Just(Event::TcpConnectionConfirmed),
        Just(Event::TcpConnectionFails),
        (prop_oneof![Just(0u16), Just(2), Just(3), Just(90)], 1u8..4)
            .prop_map(move |(h, id)| Event::BgpOpen(open(h, id))),
        Just(Event::BgpHeaderErr(DecodeError::new(
            NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, Bytes::new()),
            "len"
        ))),
        Just(Event::BgpOpenMsgErr(DecodeError::new(
            NotificationMsg::open(OpenSubcode::UNSPECIFIC, Bytes::new()),
            "open"
        ))),
        Just(Event::OpenCollisionDump),
        Just(Event::NotifMsg(NotificationMsg::hold_timer_expired())),
        Just(Event::KeepAliveMsg),
        Just(Event::UpdateMsg),
        Just(Event::RouteRefreshMsg),
        Just(Event::SendHoldTimerExpires),
    ]
}

/// Which position each kind of action may take in the canonical order.
fn rank(a: &Action) -> u8 {
    match a {
        Action::Send(_) => 0,
        Action::Disconnect => 1,
        Action::StopTimer(_) => 2,
        Action::StartTimer(..) => 3,
        Action::Connect => 4,
        Action::StateChange { .. } => 5,
        Action::Established(_) | Action::SessionDown(_) => 6,
    }
}

proptest! {
    #[test]
    fn timer_actions_keep_the_driver_in_step(
        delay_open in any::<bool>(),
        passive in any::<bool>(),
        events in proptest::collection::vec(arb_event(), 1..60),
    ) {
        let mut fsm = Fsm::new(cfg(delay_open, passive));
        let mut running: BTreeSet<Timer> = BTreeSet::new();
        for (i, event) in events.into_iter().enumerate() {
            // The driver only delivers expiries of timers it runs.
            if let Some(t) = event.timer() {
                if !running.remove(&t) {
                    continue;
                }
            }
            let before = fsm.state();
            let actions = fsm.handle(event, Millis(i as u64 * 1000));
            prop_assert!(actions.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])), "{actions:?}");
            for a in &actions {
                match a {
                    Action::StopTimer(t) => prop_assert!(running.remove(t), "stop of idle {t:?}"),
                    Action::StartTimer(t, _) => { running.insert(*t); }
                    Action::StateChange { from, to, .. } => {
                        prop_assert_eq!(*from, before);
                        prop_assert_eq!(*to, fsm.state());
                    }
                    _ => {}
                }
            }
            for t in Timer::ALL {
                prop_assert_eq!(running.contains(&t), fsm.timer_armed(t), "{:?}", t);
            }
            if passive {
                prop_assert!(!actions.contains(&Action::Connect));
            }
            if fsm.state() == State::Idle {
                prop_assert!(fsm.connection().is_none());
            }
        }
    }

    #[test]
    fn peer_fsm_never_panics_and_keeps_one_connection_per_direction(
        events in proptest::collection::vec(
            (prop_oneof![Just(None), Just(Some(Direction::Outbound)), Just(Some(Direction::Inbound))], arb_event()),
            1..80,
        ),
    ) {
        let mut p = PeerFsm::new(cfg(false, false));
        for (i, (conn, event)) in events.into_iter().enumerate() {
            p.handle(conn, event, Millis(i as u64 * 1000));
            if let Some(other) = p.other() {
                prop_assert!(other.connection().is_some());
                prop_assert!(p.main().connection().is_some());
                prop_assert_ne!(other.connection(), p.main().connection());
            }
        }
    }
}
