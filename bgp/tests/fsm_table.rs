//! The FSM table test: every (state, event) pair of RFC 4271 §8.2.2 with the
//! exact action list and next state, plus the variant states that DelayOpen,
//! passive mode and a running error wait add.
//!
//! Set-up for every row: eBGP, AS 65001 (10.0.0.1) to AS 65002 (10.0.0.2),
//! Calico defaults (connect delay 2 s, connect retry 5 s, error wait from 5 s,
//! OpenSent hold 240 s); the peer proposes hold time 90 s, so keepalive 30 s.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::fsm::{Action, Down, Event, EventKind, Fsm, Millis, PeerConfig, Reason, State, Timer};
use bgp::wire::iana::{CeaseSubcode, FsmSubcode, HeaderSubcode, OpenSubcode, UpdateSubcode};
use bgp::wire::{AfiSafi, Capability, DecodeError, Message, Negotiated, NotificationMsg, OpenMsg};
use bytes::Bytes;

const T0: Millis = Millis(0);

fn cfg() -> PeerConfig {
    PeerConfig::new(65001, 65002, Ipv4Addr::new(10, 0, 0, 1))
}

fn peer_open() -> OpenMsg {
    OpenMsg::new(
        65002,
        90,
        Ipv4Addr::new(10, 0, 0, 2),
        vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST), Capability::RouteRefresh],
    )
}

fn hdr_err() -> DecodeError {
    DecodeError::new(NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_TYPE, vec![9]), "type 9")
}

fn open_err() -> DecodeError {
    DecodeError::new(NotificationMsg::open(OpenSubcode::UNSPECIFIC, Bytes::new()), "bad cap")
}

fn upd_err() -> DecodeError {
    DecodeError::new(
        NotificationMsg::update(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, Bytes::new()),
        "attrs overrun",
    )
}

fn peer_notif() -> NotificationMsg {
    NotificationMsg::admin_reset("maintenance")
}

fn max_prefix() -> NotificationMsg {
    NotificationMsg::max_prefixes(AfiSafi::IPV4_UNICAST, 100)
}

fn admin_shutdown() -> NotificationMsg {
    NotificationMsg::cease(CeaseSubcode::ADMINISTRATIVE_SHUTDOWN, Bytes::new())
}

fn collision() -> DecodeError {
    DecodeError::new(
        NotificationMsg::cease(CeaseSubcode::CONNECTION_COLLISION_RESOLUTION, Bytes::new()),
        "connection collision resolution",
    )
}

fn hold_expired() -> DecodeError {
    DecodeError::new(NotificationMsg::hold_timer_expired(), "hold timer expired")
}

fn send_hold_expired() -> DecodeError {
    DecodeError::new(NotificationMsg::send_hold_timer_expired(), "send hold timer expired")
}

fn fsm_err(state: State, subcode: FsmSubcode, kind: EventKind) -> DecodeError {
    DecodeError::new(NotificationMsg::fsm(subcode), format!("unexpected {kind} in {state}"))
}

/// One of each event, with the data above.
fn all_events() -> Vec<Event> {
    vec![
        Event::ManualStart,
        Event::ManualStop,
        Event::AutomaticStart,
        Event::ManualStartWithPassiveTcpEstablishment,
        Event::AutomaticStartWithPassiveTcpEstablishment,
        Event::AutomaticStop(max_prefix()),
        Event::ConnectRetryTimerExpires,
        Event::HoldTimerExpires,
        Event::KeepaliveTimerExpires,
        Event::DelayOpenTimerExpires,
        Event::IdleHoldTimerExpires,
        Event::TcpCrAcked,
        Event::TcpConnectionConfirmed,
        Event::TcpConnectionFails,
        Event::BgpOpen(peer_open()),
        Event::BgpHeaderErr(hdr_err()),
        Event::BgpOpenMsgErr(open_err()),
        Event::OpenCollisionDump,
        Event::NotifMsg(peer_notif()),
        Event::KeepAliveMsg,
        Event::UpdateMsg,
        Event::UpdateMsgErr(upd_err()),
        Event::RouteRefreshMsg,
        Event::SendHoldTimerExpires,
    ]
}

// ===== action vocabulary =====

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}
fn start(t: Timer, secs: u64) -> Action {
    Action::StartTimer(t, s(secs))
}
fn stop(t: Timer) -> Action {
    Action::StopTimer(t)
}
fn send_n(n: NotificationMsg) -> Action {
    Action::Send(Message::Notification(n))
}
fn send_open() -> Action {
    Action::Send(Message::Open(cfg().local_open()))
}
fn send_ka() -> Action {
    Action::Send(Message::Keepalive)
}
fn to(from: State, to: State, reason: Reason) -> Action {
    Action::StateChange { from, to, reason }
}
fn ev(kind: EventKind) -> Reason {
    Reason::Event(kind)
}
fn negotiated() -> Negotiated {
    Negotiated::from_opens(&cfg().local_open(), &peer_open(), true)
}

use State::*;
use Timer::{ConnectRetry as CR, DelayOpen as DO, Hold as H, IdleHold as IH, Keepalive as K};

// ===== the states each row starts from =====

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// Never started.
    Idle,
    /// After an error, the error wait (IdleHold, 5 s) running.
    IdleWaiting,
    /// Started, waiting out the connect delay (ConnectRetry 2 s).
    Active,
    /// Started passive: listening, no timer.
    ActivePassive,
    /// Dialing (ConnectRetry 5 s).
    Connect,
    /// DelayOpen 5 s configured, dialing.
    ConnectDelayOpenDialing,
    /// DelayOpen 5 s configured, our dial up, OPEN not sent (DelayOpen running).
    ConnectDelayOpen,
    /// DelayOpen 5 s configured, the peer's connection up in Active.
    ActiveDelayOpen,
    /// OPEN sent on our connection (Hold 240 s).
    OpenSent,
    /// OPENs exchanged (Hold 90 s, Keepalive 30 s).
    OpenConfirm,
    /// Established (Hold 90 s, Keepalive 30 s).
    Established,
}

fn fsm_in(setup: Setup) -> Fsm {
    let mut c = cfg();
    if matches!(
        setup,
        Setup::ConnectDelayOpenDialing | Setup::ConnectDelayOpen | Setup::ActiveDelayOpen
    ) {
        c.delay_open = Some(s(5));
    }
    let mut fsm = Fsm::new(c);
    let path: Vec<Event> = match setup {
        Setup::Idle => vec![],
        Setup::IdleWaiting => vec![Event::ManualStart, Event::KeepAliveMsg],
        Setup::Active => vec![Event::ManualStart],
        Setup::ActivePassive => vec![Event::ManualStartWithPassiveTcpEstablishment],
        Setup::Connect | Setup::ConnectDelayOpenDialing => {
            vec![Event::ManualStart, Event::ConnectRetryTimerExpires]
        }
        Setup::ConnectDelayOpen => {
            vec![Event::ManualStart, Event::ConnectRetryTimerExpires, Event::TcpCrAcked]
        }
        Setup::ActiveDelayOpen => vec![Event::ManualStart, Event::TcpConnectionConfirmed],
        Setup::OpenSent => {
            vec![Event::ManualStart, Event::ConnectRetryTimerExpires, Event::TcpCrAcked]
        }
        Setup::OpenConfirm => vec![
            Event::ManualStart,
            Event::ConnectRetryTimerExpires,
            Event::TcpCrAcked,
            Event::BgpOpen(peer_open()),
        ],
        Setup::Established => vec![
            Event::ManualStart,
            Event::ConnectRetryTimerExpires,
            Event::TcpCrAcked,
            Event::BgpOpen(peer_open()),
            Event::KeepAliveMsg,
        ],
    };
    for e in path {
        fsm.handle(e, T0);
    }
    fsm
}

// ===== the table =====

/// The error path to Idle: optional NOTIFICATION, connection dropped if any,
/// the listed running timers stopped, error wait 5 s, state change, and the
/// RIB told if the session was up.
fn fail(
    from: State,
    notify: Option<NotificationMsg>,
    disconnect: bool,
    stops: &[Timer],
    reason: Reason,
) -> Vec<Action> {
    let mut v: Vec<Action> = notify.into_iter().map(send_n).collect();
    if disconnect {
        v.push(Action::Disconnect);
    }
    v.extend(stops.iter().map(|t| stop(*t)));
    v.push(start(IH, 5));
    v.push(to(from, Idle, reason.clone()));
    if from == Established {
        v.push(Action::SessionDown(Down { reason, graceful: false }));
    }
    v
}

/// An Established session the peer left (TCP closed, hold timer expired,
/// Cease received): the same leaving as [`fail`], then a dial at once
/// instead of the error wait.
fn redial(notify: Option<NotificationMsg>, stops: &[Timer], reason: Reason) -> Vec<Action> {
    let mut v: Vec<Action> = notify.into_iter().map(send_n).collect();
    v.push(Action::Disconnect);
    v.extend(stops.iter().map(|t| stop(*t)));
    v.push(start(CR, 5));
    v.push(Action::Connect);
    v.push(to(Established, Connect, reason.clone()));
    v.push(Action::SessionDown(Down { reason, graceful: false }));
    v
}

/// The expected next state and actions for the six RFC states.
fn expected(setup: Setup, event: &Event) -> (State, Vec<Action>) {
    use EventKind as E;
    let kind = event.kind();
    let starts = matches!(
        kind,
        E::ManualStart
            | E::AutomaticStart
            | E::ManualStartWithPassiveTcpEstablishment
            | E::AutomaticStartWithPassiveTcpEstablishment
    );
    let reason_of = |e: &Event| match e {
        Event::BgpHeaderErr(x) | Event::BgpOpenMsgErr(x) | Event::UpdateMsgErr(x) => {
            Reason::Error(x.clone())
        }
        Event::NotifMsg(n) => Reason::Notification(n.clone()),
        Event::AutomaticStop(n) => Reason::Stop(n.clone()),
        other => ev(other.kind()),
    };
    match setup {
        Setup::Idle => match kind {
            E::ManualStart | E::AutomaticStart => {
                (Active, vec![start(CR, 2), to(Idle, Active, ev(kind))])
            }
            E::ManualStartWithPassiveTcpEstablishment
            | E::AutomaticStartWithPassiveTcpEstablishment => {
                (Active, vec![to(Idle, Active, ev(kind))])
            }
            // Idle refuses connections.
            E::TcpCrAcked | E::TcpConnectionConfirmed => (Idle, vec![Action::Disconnect]),
            _ => (Idle, vec![]),
        },
        Setup::Active => match kind {
            _ if starts => (Active, vec![]),
            E::ManualStop => {
                (Idle, vec![stop(CR), to(Active, Idle, Reason::Stop(admin_shutdown()))])
            }
            E::ConnectRetryTimerExpires => {
                (Connect, vec![start(CR, 5), Action::Connect, to(Active, Connect, ev(kind))])
            }
            // Timers that cannot run in Active: stale, ignored.
            E::HoldTimerExpires
            | E::KeepaliveTimerExpires
            | E::DelayOpenTimerExpires
            | E::IdleHoldTimerExpires
            | E::SendHoldTimerExpires => (Active, vec![]),
            E::TcpCrAcked | E::TcpConnectionConfirmed => (
                OpenSent,
                vec![send_open(), stop(CR), start(H, 240), to(Active, OpenSent, ev(kind))],
            ),
            // No connection to fail.
            E::TcpConnectionFails => (Active, vec![]),
            _ => (Idle, fail(Active, None, false, &[CR], reason_of(event))),
        },
        Setup::Connect => match kind {
            _ if starts => (Connect, vec![]),
            E::ManualStop => (
                Idle,
                vec![
                    Action::Disconnect,
                    stop(CR),
                    to(Connect, Idle, Reason::Stop(admin_shutdown())),
                ],
            ),
            E::ConnectRetryTimerExpires => {
                (Connect, vec![Action::Disconnect, start(CR, 5), Action::Connect])
            }
            E::HoldTimerExpires
            | E::KeepaliveTimerExpires
            | E::DelayOpenTimerExpires
            | E::IdleHoldTimerExpires
            | E::SendHoldTimerExpires => (Connect, vec![]),
            E::TcpCrAcked | E::TcpConnectionConfirmed => (
                OpenSent,
                vec![send_open(), stop(CR), start(H, 240), to(Connect, OpenSent, ev(kind))],
            ),
            // The dial failed: listen, redial after the connect retry time.
            E::TcpConnectionFails => (Active, vec![start(CR, 5), to(Connect, Active, ev(kind))]),
            _ => (Idle, fail(Connect, None, true, &[CR], reason_of(event))),
        },
        Setup::OpenSent => match kind {
            _ if starts => (OpenSent, vec![]),
            E::TcpCrAcked | E::TcpConnectionConfirmed => (OpenSent, vec![]),
            E::ConnectRetryTimerExpires
            | E::KeepaliveTimerExpires
            | E::DelayOpenTimerExpires
            | E::IdleHoldTimerExpires => (OpenSent, vec![]),
            E::ManualStop => (
                Idle,
                vec![
                    send_n(admin_shutdown()),
                    Action::Disconnect,
                    stop(H),
                    to(OpenSent, Idle, Reason::Stop(admin_shutdown())),
                ],
            ),
            E::AutomaticStop => {
                (Idle, fail(OpenSent, Some(max_prefix()), true, &[H], reason_of(event)))
            }
            E::HoldTimerExpires => (
                Idle,
                fail(
                    OpenSent,
                    Some(NotificationMsg::hold_timer_expired()),
                    true,
                    &[],
                    Reason::Error(hold_expired()),
                ),
            ),
            // RFC 9687: Send Hold Timer Expired, then Idle as any error.
            E::SendHoldTimerExpires => (
                Idle,
                fail(
                    OpenSent,
                    Some(NotificationMsg::send_hold_timer_expired()),
                    true,
                    &[H],
                    Reason::Error(send_hold_expired()),
                ),
            ),
            E::TcpConnectionFails => (
                Active,
                vec![Action::Disconnect, stop(H), start(CR, 5), to(OpenSent, Active, ev(kind))],
            ),
            E::BgpOpen => (
                OpenConfirm,
                vec![send_ka(), start(H, 90), start(K, 30), to(OpenSent, OpenConfirm, ev(kind))],
            ),
            E::BgpHeaderErr | E::BgpOpenMsgErr => {
                let Reason::Error(e) = reason_of(event) else { unreachable!() };
                (Idle, fail(OpenSent, Some(e.notification.clone()), true, &[H], Reason::Error(e)))
            }
            E::OpenCollisionDump => (
                Idle,
                fail(
                    OpenSent,
                    Some(collision().notification),
                    true,
                    &[H],
                    Reason::Error(collision()),
                ),
            ),
            // Never a NOTIFICATION in answer to one.
            E::NotifMsg => (Idle, fail(OpenSent, None, true, &[H], reason_of(event))),
            E::KeepAliveMsg | E::UpdateMsg | E::UpdateMsgErr | E::RouteRefreshMsg => {
                let e = fsm_err(OpenSent, FsmSubcode::UNEXPECTED_MESSAGE_IN_OPENSENT, kind);
                (Idle, fail(OpenSent, Some(e.notification.clone()), true, &[H], Reason::Error(e)))
            }
            _ => unreachable!("{kind}"),
        },
        Setup::OpenConfirm | Setup::Established => {
            let st = if setup == Setup::OpenConfirm { OpenConfirm } else { Established };
            let fsm_sub = if st == OpenConfirm {
                FsmSubcode::UNEXPECTED_MESSAGE_IN_OPENCONFIRM
            } else {
                FsmSubcode::UNEXPECTED_MESSAGE_IN_ESTABLISHED
            };
            let fsm_fail = |kind| {
                let e = fsm_err(st, fsm_sub, kind);
                (Idle, fail(st, Some(e.notification.clone()), true, &[H, K], Reason::Error(e)))
            };
            match kind {
                _ if starts => (st, vec![]),
                E::TcpCrAcked | E::TcpConnectionConfirmed => (st, vec![]),
                E::ConnectRetryTimerExpires
                | E::DelayOpenTimerExpires
                | E::IdleHoldTimerExpires => (st, vec![]),
                E::ManualStop => {
                    let r = Reason::Stop(admin_shutdown());
                    let mut v = vec![
                        send_n(admin_shutdown()),
                        Action::Disconnect,
                        stop(H),
                        stop(K),
                        to(st, Idle, r.clone()),
                    ];
                    if st == Established {
                        v.push(Action::SessionDown(Down { reason: r, graceful: false }));
                    }
                    (Idle, v)
                }
                E::AutomaticStop => {
                    (Idle, fail(st, Some(max_prefix()), true, &[H, K], reason_of(event)))
                }
                E::HoldTimerExpires if st == Established => (
                    Connect,
                    redial(
                        Some(NotificationMsg::hold_timer_expired()),
                        &[K],
                        Reason::Error(hold_expired()),
                    ),
                ),
                E::HoldTimerExpires => (
                    Idle,
                    fail(
                        st,
                        Some(NotificationMsg::hold_timer_expired()),
                        true,
                        &[K],
                        Reason::Error(hold_expired()),
                    ),
                ),
                E::KeepaliveTimerExpires => (st, vec![send_ka(), start(K, 30)]),
                E::SendHoldTimerExpires => (
                    Idle,
                    fail(
                        st,
                        Some(NotificationMsg::send_hold_timer_expired()),
                        true,
                        &[H, K],
                        Reason::Error(send_hold_expired()),
                    ),
                ),
                // The peer's NOTIFICATION here is a Cease.
                E::TcpConnectionFails | E::NotifMsg if st == Established => {
                    (Connect, redial(None, &[H, K], reason_of(event)))
                }
                E::TcpConnectionFails | E::NotifMsg => {
                    (Idle, fail(st, None, true, &[H, K], reason_of(event)))
                }
                E::OpenCollisionDump => (
                    Idle,
                    fail(
                        st,
                        Some(collision().notification),
                        true,
                        &[H, K],
                        Reason::Error(collision()),
                    ),
                ),
                E::BgpHeaderErr => {
                    (Idle, fail(st, Some(hdr_err().notification), true, &[H, K], reason_of(event)))
                }
                E::BgpOpenMsgErr if st == OpenConfirm => {
                    (Idle, fail(st, Some(open_err().notification), true, &[H, K], reason_of(event)))
                }
                E::BgpOpenMsgErr | E::BgpOpen => fsm_fail(kind),
                E::KeepAliveMsg if st == OpenConfirm => (
                    Established,
                    vec![
                        start(H, 90),
                        to(OpenConfirm, Established, ev(kind)),
                        Action::Established(Box::new(negotiated())),
                    ],
                ),
                E::KeepAliveMsg | E::UpdateMsg | E::RouteRefreshMsg if st == Established => {
                    (Established, vec![start(H, 90)])
                }
                E::UpdateMsgErr if st == Established => {
                    (Idle, fail(st, Some(upd_err().notification), true, &[H, K], reason_of(event)))
                }
                E::UpdateMsg | E::UpdateMsgErr | E::RouteRefreshMsg => fsm_fail(kind),
                _ => unreachable!("{kind}"),
            }
        }
        _ => unreachable!("variant states are listed in variant_rows"),
    }
}

/// Rows for the variant states: what DelayOpen, passive mode and a running
/// error wait change.
fn variant_rows() -> Vec<(Setup, Event, State, Vec<Action>)> {
    use EventKind as E;
    vec![
        // The error wait holds off automatic starts, not manual ones.
        (Setup::IdleWaiting, Event::AutomaticStart, Idle, vec![]),
        (
            Setup::IdleWaiting,
            Event::ManualStart,
            Active,
            vec![stop(IH), start(CR, 2), to(Idle, Active, ev(E::ManualStart))],
        ),
        (
            Setup::IdleWaiting,
            Event::IdleHoldTimerExpires,
            Active,
            vec![start(CR, 2), to(Idle, Active, ev(E::IdleHoldTimerExpires))],
        ),
        (Setup::IdleWaiting, Event::ManualStop, Idle, vec![stop(IH)]),
        // Passive: never dials.
        (Setup::ActivePassive, Event::ConnectRetryTimerExpires, Active, vec![]),
        (
            Setup::ActivePassive,
            Event::TcpConnectionConfirmed,
            OpenSent,
            vec![send_open(), start(H, 240), to(Active, OpenSent, ev(E::TcpConnectionConfirmed))],
        ),
        (
            Setup::ActivePassive,
            Event::ManualStop,
            Idle,
            vec![to(Active, Idle, Reason::Stop(admin_shutdown()))],
        ),
        // DelayOpen: TCP up, wait for the peer's OPEN before sending ours.
        (Setup::ConnectDelayOpenDialing, Event::TcpCrAcked, Connect, vec![stop(CR), start(DO, 5)]),
        (
            Setup::ConnectDelayOpen,
            Event::DelayOpenTimerExpires,
            OpenSent,
            vec![send_open(), start(H, 240), to(Connect, OpenSent, ev(E::DelayOpenTimerExpires))],
        ),
        (
            Setup::ConnectDelayOpen,
            Event::BgpOpen(peer_open()),
            OpenConfirm,
            vec![
                send_open(),
                send_ka(),
                stop(DO),
                start(H, 90),
                start(K, 30),
                to(Connect, OpenConfirm, ev(E::BgpOpen)),
            ],
        ),
        (
            Setup::ConnectDelayOpen,
            Event::TcpConnectionFails,
            Active,
            vec![
                Action::Disconnect,
                stop(DO),
                start(CR, 5),
                to(Connect, Active, ev(E::TcpConnectionFails)),
            ],
        ),
        (
            Setup::ConnectDelayOpen,
            Event::KeepAliveMsg,
            Idle,
            vec![
                Action::Disconnect,
                stop(DO),
                start(IH, 5),
                to(Connect, Idle, ev(E::KeepAliveMsg)),
            ],
        ),
        // An OPEN refused before ours went out: no NOTIFICATION
        // (SendNOTIFICATIONwithoutOPEN is off).
        (
            Setup::ConnectDelayOpen,
            Event::BgpOpen(OpenMsg::new(65003, 90, Ipv4Addr::new(10, 0, 0, 2), vec![])),
            Idle,
            vec![
                Action::Disconnect,
                stop(DO),
                start(IH, 5),
                to(
                    Connect,
                    Idle,
                    Reason::Error(DecodeError::new(
                        NotificationMsg::open(OpenSubcode::BAD_PEER_AS, Bytes::new()),
                        "peer AS 65003 is not the configured 65002",
                    )),
                ),
            ],
        ),
        (
            Setup::ActiveDelayOpen,
            Event::DelayOpenTimerExpires,
            OpenSent,
            vec![send_open(), start(H, 240), to(Active, OpenSent, ev(E::DelayOpenTimerExpires))],
        ),
        (
            Setup::ActiveDelayOpen,
            Event::BgpOpen(peer_open()),
            OpenConfirm,
            vec![
                send_open(),
                send_ka(),
                stop(DO),
                start(H, 90),
                start(K, 30),
                to(Active, OpenConfirm, ev(E::BgpOpen)),
            ],
        ),
        (
            Setup::ActiveDelayOpen,
            Event::TcpConnectionFails,
            Active,
            vec![Action::Disconnect, stop(DO), start(CR, 5)],
        ),
        (Setup::ActiveDelayOpen, Event::TcpConnectionConfirmed, Active, vec![]),
    ]
}

#[test]
fn every_state_and_event_gives_the_exact_actions_and_next_state() {
    let mut failures = Vec::new();
    let mut rows = 0;
    let check = |setup: Setup,
                 event: Event,
                 next: State,
                 actions: Vec<Action>,
                 failures: &mut Vec<String>| {
        let mut fsm = fsm_in(setup);
        let got = fsm.handle(event.clone(), T0);
        if got != actions || fsm.state() != next {
            failures.push(format!(
                "{setup:?} + {}:\n  expected {next:?} {actions:#?}\n  got      {:?} {got:#?}",
                event.kind(),
                fsm.state()
            ));
        }
    };
    for setup in [Setup::Idle, Setup::Connect, Setup::Active, Setup::OpenSent, Setup::OpenConfirm]
        .into_iter()
        .chain([Setup::Established])
    {
        for event in all_events() {
            let (next, actions) = expected(setup, &event);
            check(setup, event, next, actions, &mut failures);
            rows += 1;
        }
    }
    for (setup, event, next, actions) in variant_rows() {
        check(setup, event, next, actions, &mut failures);
        rows += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {rows} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(rows, 6 * 24 + variant_rows().len());
}

#[test]
fn setups_reach_the_states_they_name() {
    for (setup, state) in [
        (Setup::Idle, Idle),
        (Setup::IdleWaiting, Idle),
        (Setup::Active, Active),
        (Setup::ActivePassive, Active),
        (Setup::Connect, Connect),
        (Setup::ConnectDelayOpenDialing, Connect),
        (Setup::ConnectDelayOpen, Connect),
        (Setup::ActiveDelayOpen, Active),
        (Setup::OpenSent, OpenSent),
        (Setup::OpenConfirm, OpenConfirm),
        (Setup::Established, Established),
    ] {
        assert_eq!(fsm_in(setup).state(), state, "{setup:?}");
    }
    assert!(fsm_in(Setup::IdleWaiting).timer_armed(IH));
    assert!(fsm_in(Setup::ConnectDelayOpen).timer_armed(DO));
}
