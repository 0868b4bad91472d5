//! Connection collisions through [`PeerFsm`] (RFC 4271 §6.8).
//!
//! ```text
//!   us: AS 65001, id 10.0.0.1          peer: AS 65002, id 10.0.0.2 (higher)
//!   outbound: we dialed     ------->
//!   inbound:  the peer dialed <------
//! ```
//! The peer's identifier is higher, so the connection it dialed (inbound)
//! survives; with the identifiers swapped, ours (outbound) does.

use std::net::Ipv4Addr;

use bgp::fsm::{Action, Direction, Event, Millis, PeerAction, PeerConfig, PeerFsm, Reason, State};
use bgp::wire::iana::{CeaseSubcode, ErrorCode};
use bgp::wire::{AfiSafi, Capability, Message, OpenMsg};

const T0: Millis = Millis(0);
const OUT: Option<Direction> = Some(Direction::Outbound);
const IN: Option<Direction> = Some(Direction::Inbound);

fn peer(local_id: [u8; 4]) -> PeerFsm {
    PeerFsm::new(PeerConfig::new(65001, 65002, Ipv4Addr::from(local_id)))
}

fn peer_open(id: [u8; 4]) -> OpenMsg {
    OpenMsg::new(
        65002,
        90,
        Ipv4Addr::from(id),
        vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)],
    )
}

/// Both connections up and both OPENs sent: main on our dial, the other on
/// the peer's.
fn both_open_sent(p: &mut PeerFsm) {
    p.handle(None, Event::ManualStart, T0);
    p.handle(None, Event::ConnectRetryTimerExpires, T0);
    p.handle(OUT, Event::TcpCrAcked, T0);
    let a = p.handle(IN, Event::TcpConnectionConfirmed, T0);
    assert!(a.iter().any(|x| x.conn == IN && matches!(x.action, Action::Send(Message::Open(_)))));
    assert_eq!(p.main().connection(), OUT);
    assert_eq!(p.other().and_then(|o| o.connection()), IN);
}

fn collision_cease_on(actions: &[PeerAction]) -> Vec<Option<Direction>> {
    actions
        .iter()
        .filter(|a| {
            matches!(&a.action, Action::Send(Message::Notification(n))
                if n.code == ErrorCode::CEASE
                    && n.subcode == CeaseSubcode::CONNECTION_COLLISION_RESOLUTION.0)
        })
        .map(|a| a.conn)
        .collect()
}

#[test]
fn collision_keeps_connection_of_higher_bgp_id() {
    // Peer higher: its connection (inbound) survives.
    let mut p = peer([10, 0, 0, 1]);
    both_open_sent(&mut p);
    p.handle(IN, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    assert_eq!(p.other().map(|o| o.state()), Some(State::OpenConfirm));
    let a = p.handle(OUT, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    assert_eq!(collision_cease_on(&a), [OUT]);
    assert!(a.contains(&PeerAction { conn: OUT, action: Action::Disconnect }));
    assert_eq!(p.main().connection(), IN);
    assert_eq!(p.state(), State::OpenConfirm);
    assert!(p.other().is_none());
    assert!(a.iter().any(|x| matches!(
        &x.action,
        Action::StateChange {
            to: State::OpenConfirm,
            reason: Reason::TakeOver(Direction::Inbound),
            ..
        }
    )));
    // The session carries on over the inbound connection.
    let a = p.handle(IN, Event::KeepAliveMsg, T0);
    assert!(matches!(a.last(), Some(PeerAction { action: Action::Established(_), .. })));
    assert_eq!(p.state(), State::Established);

    // We are higher: our connection (outbound) survives.
    let mut p = peer([10, 0, 0, 3]);
    both_open_sent(&mut p);
    p.handle(IN, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    let a = p.handle(OUT, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    assert_eq!(collision_cease_on(&a), [IN]);
    assert_eq!(p.main().connection(), OUT);
    assert_eq!(p.state(), State::OpenConfirm);
    assert!(p.other().is_none());
}

#[test]
fn collision_does_not_start_the_error_wait() {
    let mut p = peer([10, 0, 0, 1]);
    both_open_sent(&mut p);
    p.handle(IN, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    let a = p.handle(OUT, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    assert!(
        !a.iter().any(|x| matches!(x.action, Action::StartTimer(bgp::fsm::Timer::IdleHold, _)))
    );
    assert_eq!(p.main().error_wait(), None);
}

#[test]
fn connection_arriving_when_established_is_closed() {
    let mut p = peer([10, 0, 0, 1]);
    p.handle(None, Event::ManualStart, T0);
    p.handle(None, Event::ConnectRetryTimerExpires, T0);
    p.handle(OUT, Event::TcpCrAcked, T0);
    p.handle(OUT, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    p.handle(OUT, Event::KeepAliveMsg, T0);
    assert_eq!(p.state(), State::Established);
    let a = p.handle(IN, Event::TcpConnectionConfirmed, T0);
    // Tracked until its OPEN arrives, then closed: Established wins.
    assert!(p.other().is_some(), "{a:?}");
    let a = p.handle(IN, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    assert_eq!(collision_cease_on(&a), [IN]);
    assert!(p.other().is_none());
    assert_eq!(p.state(), State::Established);
    assert_eq!(p.main().connection(), OUT);
}

#[test]
fn peer_closing_main_connection_continues_on_the_other() {
    // The peer resolved the collision first and closed our dial.
    let mut p = peer([10, 0, 0, 1]);
    both_open_sent(&mut p);
    let a = p.handle(
        OUT,
        Event::NotifMsg(bgp::wire::NotificationMsg::cease(
            CeaseSubcode::CONNECTION_COLLISION_RESOLUTION,
            bytes::Bytes::new(),
        )),
        T0,
    );
    assert_eq!(p.main().connection(), IN);
    assert_eq!(p.state(), State::OpenSent);
    assert!(!p.main().timer_armed(bgp::fsm::Timer::IdleHold), "{a:?}");
    let a = p.handle(IN, Event::BgpOpen(peer_open([10, 0, 0, 2])), T0);
    assert_eq!(p.state(), State::OpenConfirm, "{a:?}");
}

#[test]
fn manual_stop_closes_both_connections() {
    let mut p = peer([10, 0, 0, 1]);
    both_open_sent(&mut p);
    let a = p.handle(None, Event::ManualStop, T0);
    let closed: Vec<_> =
        a.iter().filter(|x| x.action == Action::Disconnect).map(|x| x.conn).collect();
    assert_eq!(closed, [IN, OUT]);
    assert!(p.other().is_none());
    assert_eq!(p.state(), State::Idle);
}

#[test]
fn messages_for_a_closed_connection_are_dropped() {
    let mut p = peer([10, 0, 0, 1]);
    p.handle(None, Event::ManualStart, T0);
    assert_eq!(p.handle(IN, Event::KeepAliveMsg, T0), []);
    assert_eq!(p.state(), State::Active);
}
