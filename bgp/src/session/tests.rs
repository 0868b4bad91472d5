//! Session task tests under tokio's paused clock: the peer is the test,
//! over an in-memory pipe, so virtual time advances only when both sides
//! are idle and every timer fires at its exact deadline.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use super::*;
use crate::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
use crate::wire::iana::ErrorCode;
use crate::wire::nlri::Nlri;
use crate::wire::pack::pack_announcements;
use crate::wire::{
    BgpCodec, DecodeCtx, EncodeCtx, Message, OpenMsg, ParsedMessage, decode_message,
};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// A dialer that records when it was called and always fails.
#[derive(Default)]
struct RefusingDialer(Mutex<Vec<Instant>>);

impl Dialer for Arc<RefusingDialer> {
    fn dial(&self) -> DialFuture {
        self.0.lock().unwrap().push(Instant::now());
        Box::pin(async { Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) })
    }
}

/// The test's end of the pipe, speaking BGP.
struct FakePeer {
    io: DuplexStream,
    buf: BytesMut,
    codec: BgpCodec,
}

impl FakePeer {
    async fn recv(&mut self) -> Option<ParsedMessage> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.buf).unwrap() {
                let ctx = DecodeCtx { four_octet_as: true, ..DecodeCtx::default() };
                return Some(decode_message(&frame, &ctx).unwrap());
            }
            if self.io.read_buf(&mut self.buf).await.ok()? == 0 {
                return None;
            }
        }
    }

    async fn send(&mut self, msg: Message) {
        let ctx = EncodeCtx { four_octet_as: true, ..EncodeCtx::default() };
        self.send_raw(msg.to_bytes(&ctx).unwrap()).await;
    }

    async fn send_raw(&mut self, b: Bytes) {
        self.io.write_all(&b).await.unwrap();
    }
}

fn passive_config(hold: u16) -> PeerConfig {
    let mut cfg = PeerConfig::new(65001, 65002, US);
    cfg.hold_time = hold;
    cfg.passive = true;
    cfg
}

fn start(cfg: PeerConfig) -> (SessionHandle, mpsc::UnboundedReceiver<SessionReport>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let spec = SessionSpec {
        id: 1,
        peer: IpAddr::V4(THEM),
        name: "test".into(),
        fsm: cfg,
        dialer: Arc::new(Arc::new(RefusingDialer::default())),
    };
    (spawn(spec, tx), rx)
}

/// Hands the session an incoming connection and runs the OPEN exchange with
/// the peer proposing `hold` seconds.
async fn establish(h: &SessionHandle, hold: u16) -> FakePeer {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let sa = |ip: Ipv4Addr| SocketAddr::new(IpAddr::V4(ip), 179);
    h.send(SessionCmd::Accepted(Connection {
        stream: Box::new(ours),
        local: sa(US),
        remote: sa(THEM),
    }));
    let mut peer = FakePeer { io: theirs, buf: BytesMut::new(), codec: BgpCodec::new() };
    assert!(matches!(peer.recv().await, Some(ParsedMessage::Open(_))));
    peer.send(Message::Open(OpenMsg::new(65002, hold, THEM, Vec::new()))).await;
    peer.send(Message::Keepalive).await;
    assert!(matches!(peer.recv().await, Some(ParsedMessage::Keepalive)));
    peer
}

async fn wait_established(rx: &mut mpsc::UnboundedReceiver<SessionReport>) -> Up {
    loop {
        if let SessionEvent::Established(up) = rx.recv().await.unwrap().event {
            return *up;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn keepalives_go_out_every_third_of_the_negotiated_hold_time() {
    let (h, mut rx) = start(passive_config(90));
    let mut peer = establish(&h, 9).await;
    let up = wait_established(&mut rx).await;
    assert_eq!((up.negotiated.hold_time, up.negotiated.keepalive), (9, 3));
    let mut at = vec![Instant::now()];
    while at.len() < 8 {
        match peer.recv().await {
            Some(ParsedMessage::Keepalive) => {
                at.push(Instant::now());
                // Answer, so that our hold timer never runs out.
                peer.send(Message::Keepalive).await;
            }
            other => panic!("expected KEEPALIVE, got {other:?}"),
        }
    }
    for w in at.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_secs(3), "keepalive times {at:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn hold_timer_expiry_sends_notification_and_closes() {
    let (h, mut rx) = start(passive_config(90));
    let mut peer = establish(&h, 9).await;
    let silent_since = Instant::now();
    wait_established(&mut rx).await;
    // The peer goes silent; our keepalives keep coming until the hold timer.
    let n = loop {
        match peer.recv().await {
            Some(ParsedMessage::Keepalive) => {}
            Some(ParsedMessage::Notification(n)) => break n,
            other => panic!("expected KEEPALIVE or NOTIFICATION, got {other:?}"),
        }
    };
    assert_eq!(n.code, ErrorCode::HOLD_TIMER_EXPIRED);
    assert_eq!(Instant::now() - silent_since, Duration::from_secs(9));
    assert!(peer.recv().await.is_none(), "connection closed after the NOTIFICATION");
    loop {
        if let SessionEvent::Down { reason, .. } = rx.recv().await.unwrap().event {
            assert!(reason.contains("hold timer"), "{reason}");
            break;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn failed_dials_are_retried_after_the_connect_retry_time() {
    let dialer = Arc::new(RefusingDialer::default());
    let mut cfg = PeerConfig::new(65001, 65002, US);
    cfg.connect_delay = Duration::from_secs(2);
    cfg.connect_retry = Duration::from_secs(5);
    let (tx, _rx) = mpsc::unbounded_channel();
    let t0 = Instant::now();
    let h = spawn(
        SessionSpec {
            id: 1,
            peer: IpAddr::V4(THEM),
            name: "test".into(),
            fsm: cfg,
            dialer: Arc::new(dialer.clone()),
        },
        tx,
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let secs: Vec<u64> =
        dialer.0.lock().unwrap().iter().map(|t| (*t - t0).as_millis() as u64).collect();
    assert_eq!(secs, [2_000, 7_000, 12_000, 17_000, 22_000, 27_000]);
    h.send(SessionCmd::Shutdown(NotificationMsg::admin_shutdown("bye")));
    h.join().await;
}

#[tokio::test(start_paused = true)]
async fn passive_session_never_dials() {
    let dialer = Arc::new(RefusingDialer::default());
    let (tx, _rx) = mpsc::unbounded_channel();
    let _h = spawn(
        SessionSpec {
            id: 1,
            peer: IpAddr::V4(THEM),
            name: "test".into(),
            fsm: passive_config(90),
            dialer: Arc::new(dialer.clone()),
        },
        tx,
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(dialer.0.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn received_update_is_reported_and_owner_updates_are_written_as_is() {
    let (h, mut rx) = start(passive_config(90));
    let mut peer = establish(&h, 90).await;
    let up = wait_established(&mut rx).await;

    let attrs = PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![65002])),
        ..PathAttrs::default()
    };
    let ctx = DecodeCtx { four_octet_as: true, ..DecodeCtx::default() };
    let nlri = [Nlri::new("10.2.0.0/24".parse().unwrap())];
    let msgs = pack_announcements(
        &attrs,
        AfiSafi::IPV4_UNICAST,
        MpNextHop::Ipv4(THEM),
        &nlri,
        &ctx.peer_encode_ctx(),
    )
    .unwrap();
    peer.send_raw(msgs[0].clone()).await;
    let update = loop {
        if let SessionEvent::Update { update, epoch } = rx.recv().await.unwrap().event {
            assert_eq!(epoch, up.epoch);
            break update;
        }
    };
    assert_eq!(update.update.nlri, nlri);

    // Ours go out byte for byte; a stale epoch's are dropped.
    assert!(h.send_updates(up.epoch + 7, vec![msgs[0].clone()]));
    assert!(h.send_updates(up.epoch, msgs.clone()));
    let got = loop {
        match peer.recv().await {
            Some(ParsedMessage::Update(u)) => break u,
            Some(ParsedMessage::Keepalive) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(got.update.nlri, nlri);
    assert!(peer.buf.is_empty(), "exactly one UPDATE arrived");
    // Written or dropped, nothing stays counted.
    assert_eq!(h.backlog(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_sends_the_cease_and_ends_the_task() {
    let (h, mut rx) = start(passive_config(90));
    let mut peer = establish(&h, 90).await;
    wait_established(&mut rx).await;
    h.send(SessionCmd::Shutdown(NotificationMsg::admin_shutdown("calico-bgpd shutting down")));
    let n = loop {
        match peer.recv().await {
            Some(ParsedMessage::Notification(n)) => break n,
            Some(_) => {}
            None => panic!("closed without a NOTIFICATION"),
        }
    };
    assert_eq!(n.code, ErrorCode::CEASE);
    assert_eq!(n.shutdown_message().as_deref(), Some("calico-bgpd shutting down"));
    h.join().await;
    let mut finished = false;
    while let Ok(r) = rx.try_recv() {
        finished |= matches!(r.event, SessionEvent::Finished);
    }
    assert!(finished);
}

#[tokio::test(start_paused = true)]
async fn stop_with_restart_time_comes_back_by_itself() {
    let dialer = Arc::new(RefusingDialer::default());
    let mut cfg = PeerConfig::new(65001, 65002, US);
    cfg.connect_delay = Duration::ZERO;
    let (tx, _rx) = mpsc::unbounded_channel();
    let h = spawn(
        SessionSpec {
            id: 1,
            peer: IpAddr::V4(THEM),
            name: "test".into(),
            fsm: cfg,
            dialer: Arc::new(dialer.clone()),
        },
        tx,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.send(SessionCmd::Stop {
        notification: NotificationMsg::max_prefixes(AfiSafi::IPV4_UNICAST, 10),
        restart_after: Some(Duration::from_secs(60)),
    });
    tokio::time::sleep(Duration::from_secs(59)).await;
    let before = dialer.0.lock().unwrap().len();
    assert_eq!(before, 1, "no dial while stopped");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(dialer.0.lock().unwrap().len(), 2, "dialed again after the restart time");
}

#[test]
fn llgr_capability_goes_with_gr_even_at_restart_time_zero_and_never_without_gr() {
    use crate::wire::capability::LlgrFamily;
    let v = crate::config::parse_str(
        "[node]\nname = \"a\"\nipv4 = \"10.0.0.1/24\"\n[mesh]\nenabled = false\n\
         [graceful_restart]\nrestart_time = 0\nlong_lived_stale_time = 3600\n\
         [[peers]]\nname = \"tor\"\naddress = \"10.0.0.9\"\nremote_as = 65000\n\
         [[peers]]\nname = \"nogr\"\naddress = \"10.0.0.8\"\nremote_as = 65000\n\
         graceful_restart = false\n",
    )
    .unwrap();
    let tor = peer_config(v.peer("10.0.0.9".parse::<std::net::IpAddr>().unwrap()).unwrap(), US);
    let llgr = LlgrFamily { family: AfiSafi::IPV4_UNICAST, forwarding: true, stale_time: 3600 };
    assert!(tor.capabilities.contains(&Capability::LongLivedGracefulRestart(vec![llgr])));
    // RFC 9494: a Restart Time of 0 with LLGR means long-lived
    // retention from the start; the GR capability still goes beside it.
    assert!(
        tor.capabilities
            .iter()
            .any(|c| matches!(c, Capability::GracefulRestart(g) if g.restart_time == 0))
    );
    let nogr = peer_config(v.peer("10.0.0.8".parse::<std::net::IpAddr>().unwrap()).unwrap(), US);
    assert!(!nogr.capabilities.iter().any(|c| matches!(
        c,
        Capability::LongLivedGracefulRestart(_) | Capability::GracefulRestart(_)
    )));
}

#[test]
fn extended_message_capability_is_advertised_unless_turned_off_for_the_peer() {
    let v = crate::config::parse_str(
        "[node]\nname = \"a\"\nipv4 = \"10.0.0.1/24\"\n[mesh]\nenabled = false\n\
         [[peers]]\nname = \"tor\"\naddress = \"10.0.0.9\"\nremote_as = 65000\n\
         [[peers]]\nname = \"small\"\naddress = \"10.0.0.8\"\nremote_as = 65000\n\
         extended_messages = false\n",
    )
    .unwrap();
    let tor = peer_config(v.peer("10.0.0.9".parse::<std::net::IpAddr>().unwrap()).unwrap(), US);
    assert!(tor.capabilities.contains(&Capability::ExtendedMessage));
    let small = peer_config(v.peer("10.0.0.8".parse::<std::net::IpAddr>().unwrap()).unwrap(), US);
    assert!(!small.capabilities.contains(&Capability::ExtendedMessage));
}

/// RFC 9687: a peer that keeps its session up but reads nothing is closed
/// with Send Hold Timer Expired once nothing could be written for the
/// SendHoldTime; what it was handed is no longer counted.
#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_is_closed_by_the_send_hold_timer() {
    let mut cfg = passive_config(90);
    cfg.send_hold_time = Some(5);
    let (h, mut rx) = start(cfg);
    let _peer = establish(&h, 90).await;
    let up = wait_established(&mut rx).await;
    // 1 MiB through a 64 KiB pipe that nobody reads.
    let blob = Bytes::from(vec![0u8; 4096]);
    assert!(h.send_updates(up.epoch, vec![blob; 256]));
    let stalled = Instant::now();
    assert!(h.backlog() > 0);
    let reason = loop {
        if let SessionEvent::StateChange { to: State::Idle, reason, .. } =
            rx.recv().await.unwrap().event
        {
            break reason;
        }
    };
    let took = Instant::now() - stalled;
    assert!(took >= Duration::from_secs(5) && took < Duration::from_secs(7), "after {took:?}");
    let crate::fsm::Reason::Error(e) = reason else { panic!("{reason:?}") };
    assert_eq!(e.notification.code, ErrorCode::SEND_HOLD_TIMER_EXPIRED);
    // The stuck writer is given up on after the close grace, queue and all.
    tokio::time::sleep(conn::CLOSE_GRACE + Duration::from_secs(1)).await;
    assert_eq!(h.backlog(), 0);
}
