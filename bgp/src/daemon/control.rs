//! The daemon's side of the operator surface: the snapshot the
//! owner task publishes, the [`ctl::server::Handler`] that answers
//! `calico-bgpctl` and the metrics scrapes from it, and the conversions from
//! daemon state to the `ctl::proto` types.
//!
//! ```text
//!   owner task --publish (on change, at most every MIN_PUBLISH; and every
//!      |         REFRESH for timers and uptime)--> watch<Arc<DaemonSnapshot>>
//!      |                                                  | borrow + clone
//!      |<-- Input::Control(Reload | Advertise, oneshot) --+-- CtlHandler <-- ctl socket, /metrics
//! ```
//!
//! Reads never reach the owner: a slow client, or a scrape of a large table,
//! costs a clone of an `Arc`, so routing never waits for it. Only `reload`
//! and `advertise` change state; they go through the owner's input queue, the
//! same path as SIGHUP, and are answered over a oneshot once applied.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ctl::proto::{
    AdvertiseRequest, AdvertiseResult, AsPathSegment, CtlError, ErrorClass, ErrorKind, Family,
    FamilyCounts, FibSnapshot, LastError, Origin, PathSnapshot, PeerSnapshot, ReconfigResult,
    ReloadResult, RouteQuery, RouteSnapshot, RouteSource, SegmentKind, SessionState,
    StatusSnapshot, UnknownAttr,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use super::{ConfiguredPeer, Input, Owner};
use crate::config::{PeerKind, TtlMode};
use crate::fsm::{EventKind, Reason, State};
use crate::session::stats::ShownTimer;
use crate::wire::attr::{MpNextHop, PathAttrs, SegmentType};
use crate::wire::iana::MessageType;
use crate::wire::iana::{CapabilityCode, CeaseSubcode, ErrorCode};
use crate::wire::{AfiSafi, Capability};

/// Least time between two publications caused by changes: a burst of
/// UPDATEs becomes one snapshot, not thousands.
pub const MIN_PUBLISH: Duration = Duration::from_millis(100);

/// Longest time between two publications, so timers and uptimes stay fresh
/// while nothing changes.
pub const REFRESH: Duration = Duration::from_secs(1);

/// Period of the owner's housekeeping tick, which also measures the event
/// loop's lag (how late the tick runs).
pub const TICK: Duration = Duration::from_millis(250);

/// Everything a control client or a scrape can read, as of one moment.
#[derive(Debug, Clone, Default)]
pub struct DaemonSnapshot {
    /// Daemon status (`None` before the owner's first publication).
    pub status: Option<StatusSnapshot>,
    /// Every configured peer.
    pub peers: Vec<PeerSnapshot>,
    /// The FIB's counters (`show fib` itself is a [`Query`]).
    pub fib: Arc<FibSnapshot>,
}

/// A request that changes state, sent to the owner with its reply channel.
///
/// The request is plain data and is recorded and replayed like every other
/// [`Input`]; the reply channel is not (`#[serde(skip)]`), and a replayed
/// request has none, so its answer is dropped. Keeping each channel on its
/// own variant, rather than in a side table keyed by a request id, keeps
/// the request and the type of its answer together and leaves no entry to
/// clean up when a client goes away.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum Control {
    /// `calico-bgpctl reload`: the SIGHUP path, with the outcome returned.
    Reload {
        /// Where the outcome goes.
        #[serde(skip)]
        reply: Reply<ReloadResult>,
    },
    /// `calico-bgpctl advertise add|del`.
    Advertise {
        /// What to originate or withdraw.
        request: AdvertiseRequest,
        /// Where the outcome goes.
        #[serde(skip)]
        reply: Reply<Result<AdvertiseResult, CtlError>>,
    },
}

/// A read-only request the owner answers from its state when asked: what is
/// too large to copy into every [`DaemonSnapshot`]. Not an [`Input`]: it
/// changes nothing, so it is neither recorded nor replayed.
#[derive(Debug)]
pub enum Query {
    /// `show routes`.
    Routes {
        /// Which routes.
        query: RouteQuery,
        /// Where they go.
        reply: oneshot::Sender<Vec<RouteSnapshot>>,
    },
    /// Every route, as one shared copy: BIRD's `show route` renders it a
    /// piece at a time.
    Table {
        /// Where it goes.
        reply: oneshot::Sender<Arc<Vec<RouteSnapshot>>>,
    },
    /// `show fib`.
    Fib {
        /// Where it goes.
        reply: oneshot::Sender<Arc<FibSnapshot>>,
    },
}

/// Where the answer to a [`Control`] request goes: the client's oneshot, or
/// nowhere for a request replayed from a recording.
///
/// Every `Reply` equals every other: equality of inputs is about what the
/// owner acts on, and a channel is not part of that.
#[derive(Debug)]
pub struct Reply<T>(Option<oneshot::Sender<T>>);

impl<T> Reply<T> {
    /// A reply channel and the receiver its answer arrives on.
    pub fn channel() -> (Self, oneshot::Receiver<T>) {
        let (tx, rx) = oneshot::channel();
        (Reply(Some(tx)), rx)
    }

    /// A reply that goes nowhere (a replayed request).
    pub fn none() -> Self {
        Reply(None)
    }

    /// Sends the answer. `Err` gives it back when the client has gone
    /// (as [`oneshot::Sender::send`]); with no channel it is dropped.
    pub fn send(self, answer: T) -> Result<(), T> {
        match self.0 {
            Some(tx) => tx.send(answer),
            None => Ok(()),
        }
    }
}

impl<T> Default for Reply<T> {
    fn default() -> Self {
        Reply::none()
    }
}

impl<T> PartialEq for Reply<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Answers control and metrics requests from the owner's snapshots.
#[derive(Debug, Clone)]
pub struct CtlHandler {
    snapshots: watch::Receiver<Arc<DaemonSnapshot>>,
    inputs: mpsc::UnboundedSender<Input>,
    queries: mpsc::UnboundedSender<Query>,
}

impl CtlHandler {
    /// A handler reading `snapshots`, sending changes to `inputs` and
    /// asking the owner `queries`.
    pub fn new(
        snapshots: watch::Receiver<Arc<DaemonSnapshot>>,
        inputs: mpsc::UnboundedSender<Input>,
        queries: mpsc::UnboundedSender<Query>,
    ) -> Self {
        CtlHandler { snapshots, inputs, queries }
    }

    fn current(&self) -> Arc<DaemonSnapshot> {
        self.snapshots.borrow().clone()
    }

    /// Every route, shared with other clients asking at about the same
    /// time rather than copied for each.
    pub async fn table(&self) -> Result<Arc<Vec<RouteSnapshot>>, CtlError> {
        let (reply, rx) = oneshot::channel();
        self.queries.send(Query::Table { reply }).map_err(|_| Self::unavailable())?;
        rx.await.map_err(|_| Self::unavailable())
    }

    fn unavailable() -> CtlError {
        CtlError::new(ErrorKind::Unavailable, "calico-bgpd is shutting down")
    }
}

impl ctl::server::Handler for CtlHandler {
    async fn peers(&self) -> Vec<PeerSnapshot> {
        self.current().peers.clone()
    }

    async fn routes(&self, query: RouteQuery) -> Result<Vec<RouteSnapshot>, CtlError> {
        let (reply, rx) = oneshot::channel();
        self.queries.send(Query::Routes { query, reply }).map_err(|_| Self::unavailable())?;
        rx.await.map_err(|_| Self::unavailable())
    }

    async fn fib(&self) -> FibSnapshot {
        let (reply, rx) = oneshot::channel();
        if self.queries.send(Query::Fib { reply }).is_err() {
            return FibSnapshot::default();
        }
        // Built for this client alone: no copy unless someone else holds it.
        rx.await.map(|s| Arc::try_unwrap(s).unwrap_or_else(|s| (*s).clone())).unwrap_or_default()
    }

    async fn status(&self) -> StatusSnapshot {
        let snap = self.current();
        match &snap.status {
            Some(s) => s.clone(),
            None => starting_status(),
        }
    }

    async fn reload(&self) -> ReloadResult {
        let (reply, rx) = Reply::channel();
        let refused = |why: String| ReloadResult {
            result: ReconfigResult::Refused { errors: vec![why] },
            peers_added: Vec::new(),
            peers_removed: Vec::new(),
            peers_restarted: Vec::new(),
            peers_updated: Vec::new(),
        };
        if self.inputs.send(Input::Control(Control::Reload { reply })).is_err() {
            return refused(Self::unavailable().message);
        }
        rx.await.unwrap_or_else(|_| refused(Self::unavailable().message))
    }

    async fn advertise(&self, request: AdvertiseRequest) -> Result<AdvertiseResult, CtlError> {
        let (reply, rx) = Reply::channel();
        if self.inputs.send(Input::Control(Control::Advertise { request, reply })).is_err() {
            return Err(Self::unavailable());
        }
        rx.await.unwrap_or_else(|_| Err(Self::unavailable()))
    }
}

/// The status answered before the owner's first publication.
pub(super) fn starting_status() -> StatusSnapshot {
    let now = ctl::server::unix_now();
    StatusSnapshot {
        version: version(),
        commit: ctl::build_info::COMMIT.to_owned(),
        router_id: std::net::Ipv4Addr::UNSPECIFIED,
        started_at: now,
        uptime_secs: 0,
        last_reconfig: None,
        graceful_restart: None,
        graceful_restart_helping: Vec::new(),
        shutting_down: false,
        rib: Vec::new(),
        fib: Default::default(),
        event_loop_lag_secs: 0.0,
        event_loop_lag_max_secs: 0.0,
        unknown_connects: Vec::new(),
        datastore: None,
        waiting: None,
    }
}

/// `calico-bgpd 0.1.0`; the commit is `ctl::build_info::COMMIT`.
pub fn version() -> String {
    format!("calico-bgpd {}", ctl::build_info::VERSION)
}

/// Event-loop lag: how late a periodic tick runs. A loop starved by a long
/// computation or a blocked thread shows here before keepalives are missed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LagMeter {
    /// The last sample, in seconds.
    pub last: f64,
    /// The largest sample since start, in seconds.
    pub max: f64,
}

impl LagMeter {
    /// Records one tick that was due at `due` and ran at `ran`.
    pub fn record(&mut self, due: tokio::time::Instant, ran: tokio::time::Instant) {
        let lag = ran.saturating_duration_since(due).as_secs_f64();
        self.last = lag;
        self.max = self.max.max(lag);
    }
}

impl Owner {
    /// One peer as `show peer` shows it, at Unix time `now`.
    pub(super) fn peer_snapshot(&self, slot: &ConfiguredPeer, now: u64) -> PeerSnapshot {
        let cfg = &slot.cfg;
        let stats = slot.handle.stats();
        let counts = |c: &crate::session::stats::Counts| ctl::proto::MessageCounts {
            open: c.get(MessageType::OPEN),
            update: c.get(MessageType::UPDATE),
            notification: c.get(MessageType::NOTIFICATION),
            keepalive: c.get(MessageType::KEEPALIVE),
            route_refresh: c.get(MessageType::ROUTE_REFRESH),
        };
        let established = slot.state == State::Established;
        let session = slot.session.as_ref().filter(|_| established);
        let timer = |period: u16, t: ShownTimer| {
            let left = stats.timer_left(t)?;
            Some(ctl::proto::TimerSnapshot {
                period_secs: u32::from(period),
                left_secs: u32::try_from(left.as_secs()).unwrap_or(u32::MAX),
            })
        };
        PeerSnapshot {
            address: cfg.address,
            port: cfg.port,
            name: cfg.bird_protocol_name(),
            peer_type: match (cfg.kind, cfg.rr_client) {
                (_, true) => ctl::proto::PeerType::RrClient,
                (PeerKind::Mesh, false) => ctl::proto::PeerType::Mesh,
                (PeerKind::Explicit, false) => ctl::proto::PeerType::NodeSpecific,
                (PeerKind::Global, false) => ctl::proto::PeerType::Global,
            },
            state: session_state(slot.state),
            disabled: false,
            passive: cfg.passive,
            since: slot.since,
            proto_since: Some(slot.proto_since),
            last_error: if established { None } else { slot.last_error.clone() },
            local_as: cfg.local_as,
            remote_as: cfg.remote_as,
            local_id: self.cfg.router_id(),
            remote_id: session.map(|(up, _)| up.negotiated.peer_bgp_id),
            source_address: session
                .map(|(up, _)| crate::net::canonical(up.local.ip()))
                .or(cfg.source_address),
            internal: cfg.is_ibgp(),
            multihop: matches!(cfg.ttl, TtlMode::Multihop(_)),
            rr_client: cfg.rr_client,
            remote_caps: session.map(|(up, _)| offered(&up.negotiated.peer_capabilities)),
            negotiated_caps: session.map(|(up, _)| capabilities(&up.negotiated)),
            hold_timer: session
                .and_then(|(up, _)| timer(up.negotiated.hold_time, ShownTimer::Hold)),
            keepalive_timer: session
                .and_then(|(up, _)| timer(up.negotiated.keepalive, ShownTimer::Keepalive)),
            prefixes: self
                .routes
                .peer_counts(cfg.key())
                .into_iter()
                .map(|c| FamilyCounts { limit: prefix_limit(cfg, c.family).map(u64::from), ..c })
                .collect(),
            messages: ctl::proto::MessageCounters {
                received: counts(&stats.received),
                sent: counts(&stats.sent),
            },
            flaps: slot.flaps,
            uptime_secs: session.map(|(_, at)| now.saturating_sub(*at)),
            graceful_restart: self.routes.peer_gr(cfg.key()).unwrap_or(
                ctl::proto::PeerGracefulRestart {
                    state: match session {
                        Some((up, _))
                            if up.negotiated.peer_graceful_restart.is_some()
                                && cfg.graceful_restart.is_some() =>
                        {
                            ctl::proto::GrPeerState::Ready
                        }
                        _ => ctl::proto::GrPeerState::Off,
                    },
                    time_left_secs: None,
                    stale_routes: 0,
                },
            ),
            filters: cfg.filters.clone(),
            filter_rules: self.routes.peer_filter_rules(cfg.key()),
        }
    }
}

/// `peer`'s max-prefix limit for `family`, if it has one.
pub(crate) fn prefix_limit(peer: &crate::config::EffectivePeer, family: Family) -> Option<u32> {
    let family = match family {
        Family::Ipv4 => crate::config::Family::Ipv4Unicast,
        Family::Ipv6 => crate::config::Family::Ipv6Unicast,
    };
    peer.max_prefix.as_ref().and_then(|mp| mp.limit_for(family))
}

fn families(v: &[AfiSafi]) -> Vec<Family> {
    v.iter()
        .filter_map(|f| match *f {
            AfiSafi::IPV4_UNICAST => Some(Family::Ipv4),
            AfiSafi::IPV6_UNICAST => Some(Family::Ipv6),
            _ => None,
        })
        .collect()
}

/// What a session agreed, in the words of `show peer`.
pub fn capabilities(n: &crate::wire::Negotiated) -> ctl::proto::Capabilities {
    ctl::proto::Capabilities {
        families: families(&n.families),
        route_refresh: n.route_refresh,
        enhanced_route_refresh: n.enhanced_route_refresh,
        four_octet_as: n.four_octet_as,
        extended_message: n.extended_message,
        graceful_restart_time: n.peer_graceful_restart.as_ref().map(|g| g.restart_time),
        long_lived_stale_time: n
            .peer_llgr
            .as_ref()
            .and_then(|v| v.iter().map(|l| l.stale_time).max()),
        add_path_rx: families(&n.add_path_rx),
        add_path_tx: families(&n.add_path_tx),
        extended_next_hop: families(&n.extended_next_hop),
    }
}

/// What a peer's OPEN offered, for `show peer` and BIRD's `Neighbor caps:`.
/// A speaker that sends no Multiprotocol capability carries IPv4 unicast
/// only (RFC 4760 §8); code 128 is the pre-standard route refresh.
pub fn offered(caps: &[Capability]) -> ctl::proto::Capabilities {
    let mut c = ctl::proto::Capabilities::default();
    let mut mp = Vec::new();
    for cap in caps {
        match cap {
            Capability::Multiprotocol(f) => mp.push(*f),
            Capability::RouteRefresh => c.route_refresh = true,
            Capability::Unknown { code, .. } if *code == CapabilityCode::ROUTE_REFRESH_CISCO => {
                c.route_refresh = true;
            }
            Capability::EnhancedRouteRefresh => c.enhanced_route_refresh = true,
            Capability::FourOctetAs(_) => c.four_octet_as = true,
            Capability::ExtendedMessage => c.extended_message = true,
            Capability::GracefulRestart(g) => c.graceful_restart_time = Some(g.restart_time),
            Capability::LongLivedGracefulRestart(v) => {
                c.long_lived_stale_time = Some(v.iter().map(|l| l.stale_time).max().unwrap_or(0));
            }
            Capability::AddPath(v) => {
                let (rx, tx): (Vec<_>, Vec<_>) = (
                    v.iter().filter(|(_, m)| m.receives()).map(|(f, _)| *f).collect(),
                    v.iter().filter(|(_, m)| m.sends()).map(|(f, _)| *f).collect(),
                );
                c.add_path_rx = families(&rx);
                c.add_path_tx = families(&tx);
            }
            Capability::ExtendedNextHop(v) => {
                let f: Vec<_> = v.iter().map(|(f, _)| *f).collect();
                c.extended_next_hop = families(&f);
            }
            Capability::Fqdn(_) | Capability::Unknown { .. } => {}
        }
    }
    c.families = families(if mp.is_empty() { &[AfiSafi::IPV4_UNICAST] } else { &mp });
    c
}

/// The ctl view of an FSM state.
pub fn session_state(s: State) -> SessionState {
    match s {
        State::Idle => SessionState::Idle,
        State::Connect => SessionState::Connect,
        State::Active => SessionState::Active,
        State::OpenSent => SessionState::OpenSent,
        State::OpenConfirm => SessionState::OpenConfirm,
        State::Established => SessionState::Established,
    }
}

/// BIRD's classification of why a session is not up, from the FSM's reason
/// for a state change; `socket` is the last dial failure. `None` when the
/// change is no error (a start, a connection coming up).
pub fn classify(reason: &Reason, socket: Option<String>) -> Option<LastError> {
    let at = Some(ctl::server::unix_now());
    let err = |class, message: String| Some(LastError { class, message, at });
    match reason {
        Reason::Notification(n) => err(ErrorClass::Received, n.to_string()),
        // A hold timer expiry is a local error to BIRD ("Error: Hold timer
        // expired"), though it sends a NOTIFICATION for it.
        Reason::Error(e) if e.notification.code == ErrorCode::HOLD_TIMER_EXPIRED => {
            err(ErrorClass::Error, "Hold timer expired".to_owned())
        }
        // So is a send hold timer expiry (BIRD: "Send hold timer expired").
        Reason::Error(e) if e.notification.code == ErrorCode::SEND_HOLD_TIMER_EXPIRED => {
            err(ErrorClass::Error, "Send hold timer expired".to_owned())
        }
        Reason::Error(e) => err(ErrorClass::BgpError, e.to_string()),
        Reason::Stop(n)
            if n.code == ErrorCode::CEASE
                && n.subcode == CeaseSubcode::MAXIMUM_PREFIXES_REACHED.0 =>
        {
            err(ErrorClass::AutomaticShutdown, "Route limit exceeded".to_owned())
        }
        Reason::Stop(n) => err(ErrorClass::Error, n.to_string()),
        Reason::Event(EventKind::TcpConnectionFails) => {
            err(ErrorClass::Socket, socket.unwrap_or_else(|| "Connection closed".to_owned()))
        }
        Reason::Event(_) | Reason::TakeOver(_) => None,
    }
}

fn origin(o: crate::wire::attr::Origin) -> Origin {
    match o {
        crate::wire::attr::Origin::Igp => Origin::Igp,
        crate::wire::attr::Origin::Egp => Origin::Egp,
        crate::wire::attr::Origin::Incomplete => Origin::Incomplete,
    }
}

fn segment_kind(t: SegmentType) -> SegmentKind {
    match t {
        SegmentType::AsSet => SegmentKind::Set,
        SegmentType::AsSequence => SegmentKind::Sequence,
        SegmentType::ConfedSequence => SegmentKind::ConfedSequence,
        SegmentType::ConfedSet => SegmentKind::ConfedSet,
    }
}

/// One received path as `show routes` lists it; `best` and
/// `reject_reason` are left for the caller to fill.
pub fn path_snapshot(
    source: RouteSource,
    attrs: &PathAttrs,
    next_hop: Option<&MpNextHop>,
    since: u64,
) -> PathSnapshot {
    let next_hop = match next_hop {
        Some(MpNextHop::Ipv4(a)) => vec![IpAddr::V4(*a)],
        Some(MpNextHop::Ipv6 { global, link_local }) => {
            std::iter::once(IpAddr::V6(*global)).chain(link_local.map(IpAddr::V6)).collect()
        }
        None => attrs.next_hop.map(IpAddr::V4).into_iter().collect(),
    };
    PathSnapshot {
        source,
        path_id: None,
        best: false,
        reject_reason: None,
        stale: false,
        since,
        origin: attrs.origin.map_or(Origin::Incomplete, origin),
        as_path: attrs
            .as_path
            .iter()
            .flat_map(|p| &p.segments)
            .map(|s| AsPathSegment { kind: segment_kind(s.kind), asns: s.asns.clone() })
            .collect(),
        next_hop,
        med: attrs.med,
        local_pref: attrs.local_pref,
        atomic_aggregate: attrs.atomic_aggregate,
        aggregator: attrs.aggregator.as_ref().map(|a| (a.asn, a.address)),
        communities: attrs
            .communities
            .iter()
            .map(|c| [(c.0 >> 16) as u16, (c.0 & 0xffff) as u16])
            .collect(),
        large_communities: attrs
            .large_communities
            .iter()
            .map(|c| [c.global_admin, c.local_data1, c.local_data2])
            .collect(),
        extended_communities: attrs.ext_communities.iter().map(ToString::to_string).collect(),
        originator_id: attrs.originator_id,
        cluster_list: attrs.cluster_list.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
        igp_metric: None,
        unknown: attrs
            .unknown
            .iter()
            .map(|u| UnknownAttr {
                type_code: u.attr_type.0,
                flags: u.flags.0,
                value: u.value.iter().map(|b| format!("{b:02x}")).collect(),
            })
            .collect(),
        filter: None,
        interface: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NotificationMsg;
    use crate::wire::attr::{AsPath, Community, ExtCommunity};

    /// The reasons the FSM gives, taken from the FSM itself: the state
    /// change out of Established when `event` comes.
    fn reason_for(event: crate::fsm::Event) -> Reason {
        use crate::fsm::{Action, Event, Fsm, Millis, PeerConfig};
        use crate::wire::OpenMsg;
        let id = std::net::Ipv4Addr::new(10, 0, 0, 2);
        let mut fsm = Fsm::new(PeerConfig::new(65001, 65002, id));
        let caps = vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)];
        for e in [
            Event::ManualStart,
            Event::ConnectRetryTimerExpires,
            Event::TcpCrAcked,
            Event::BgpOpen(OpenMsg::new(65002, 90, id, caps)),
            Event::KeepAliveMsg,
        ] {
            fsm.handle(e, Millis(0));
        }
        assert_eq!(fsm.state(), State::Established);
        fsm.handle(event, Millis(1))
            .into_iter()
            .find_map(|a| match a {
                Action::StateChange { reason, .. } => Some(reason),
                _ => None,
            })
            .expect("a state change")
    }

    #[test]
    fn peer_notification_is_classed_received() {
        let n = NotificationMsg::admin_shutdown("bye");
        let e = classify(&reason_for(crate::fsm::Event::NotifMsg(n)), None).unwrap();
        assert_eq!(e.class, ErrorClass::Received);
        assert_eq!(e.to_string(), "Received: Cease/Administrative Shutdown \"bye\"");
    }

    #[test]
    fn refused_dial_is_a_socket_error_with_the_os_sentence() {
        let fails = reason_for(crate::fsm::Event::TcpConnectionFails);
        let e = classify(&fails, Some("Connection refused".into())).unwrap();
        assert_eq!(e.to_string(), "Socket: Connection refused");
        let e = classify(&fails, None).unwrap();
        assert_eq!(e.to_string(), "Socket: Connection closed");
    }

    #[test]
    fn hold_timer_expiry_is_a_local_error_as_in_bird() {
        let e = classify(&reason_for(crate::fsm::Event::HoldTimerExpires), None).unwrap();
        assert_eq!(e.to_string(), "Error: Hold timer expired");
    }

    #[test]
    fn our_errors_and_stops_are_classed_as_bird_does() {
        let bad = crate::wire::DecodeError::new(
            NotificationMsg::update(
                crate::wire::iana::UpdateSubcode::MALFORMED_ATTRIBUTE_LIST,
                Vec::new(),
            ),
            "MP_REACH_NLRI twice",
        );
        let e = classify(&reason_for(crate::fsm::Event::UpdateMsgErr(bad)), None).unwrap();
        assert_eq!(e.class, ErrorClass::BgpError);
        let limit = NotificationMsg::max_prefixes(AfiSafi::IPV4_UNICAST, 10);
        let e = classify(&reason_for(crate::fsm::Event::AutomaticStop(limit)), None).unwrap();
        assert_eq!(e.to_string(), "Automatic shutdown: Route limit exceeded");
        let e = classify(&reason_for(crate::fsm::Event::ManualStop), None).unwrap();
        assert_eq!(e.class, ErrorClass::Error);
    }

    #[test]
    fn starts_and_connections_coming_up_are_no_error() {
        use crate::fsm::EventKind;
        assert_eq!(classify(&Reason::Event(EventKind::ManualStart), None), None);
        assert_eq!(classify(&Reason::Event(EventKind::TcpCrAcked), None), None);
    }

    #[test]
    fn received_path_keeps_its_attributes() {
        let attrs = PathAttrs {
            origin: Some(crate::wire::attr::Origin::Igp),
            as_path: Some(AsPath::from_sequence(vec![65001, 65002])),
            local_pref: Some(100),
            communities: vec![Community(0xfde8_0001)],
            ext_communities: vec![ExtCommunity::Encapsulation { tunnel_type: 8 }],
            unknown: vec![crate::wire::attr::UnknownAttr {
                flags: crate::wire::attr::AttrFlags(0xe0),
                attr_type: crate::wire::iana::AttrType(99),
                value: bytes::Bytes::from_static(&[1, 2]),
            }],
            ..PathAttrs::default()
        };
        let src =
            RouteSource::Bgp { peer: "10.0.0.2".parse().unwrap(), name: "Mesh_10_0_0_2".into() };
        let p = path_snapshot(src, &attrs, Some(&MpNextHop::Ipv4("10.0.0.2".parse().unwrap())), 7);
        assert_eq!(p.as_path_string(), "65001 65002");
        assert_eq!(p.next_hop, ["10.0.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.communities, [[65000, 1]]);
        assert_eq!((p.local_pref, p.origin, p.since), (Some(100), Origin::Igp, 7));
        assert_eq!(p.extended_communities, ["ET:8"]);
        let unknown = UnknownAttr { type_code: 99, flags: 0xe0, value: "0102".into() };
        assert_eq!(p.unknown, [unknown]);
    }

    #[test]
    fn lag_keeps_the_last_and_the_largest_sample() {
        let t = tokio::time::Instant::now();
        let mut m = LagMeter::default();
        m.record(t, t + Duration::from_millis(300));
        m.record(t, t + Duration::from_millis(10));
        m.record(t + Duration::from_secs(1), t);
        assert_eq!(m.last, 0.0);
        assert!((m.max - 0.3).abs() < 1e-9, "{m:?}");
    }

    const NODE: &str = "control_socket = \"/run/x.ctl\"\n[node]\nname = \"a\"\nipv4 = \"10.0.0.1/24\"\n\
        blocks = [\"10.244.1.0/26\"]\n[listen]\naddresses = []\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n";

    /// An owner without peers or listeners, running, with its config file.
    fn owner(tag: &str) -> (CtlHandler, std::path::PathBuf, tokio::task::JoinHandle<()>) {
        let path =
            std::env::temp_dir().join(format!("calico-bgpd-{tag}-{}.toml", std::process::id()));
        std::fs::write(&path, NODE).unwrap();
        let cfg = crate::config::load(&path).unwrap();
        let routes = crate::daemon::RibRoutes::without_fib(&cfg);
        let owner = Owner::new(Some(path.clone()), cfg, routes);
        let handler = owner.ctl_handler();
        (handler, path, tokio::spawn(owner.run()))
    }

    #[tokio::test]
    async fn ctl_reload_reports_every_error_and_status_keeps_the_outcome() {
        use ctl::server::Handler;
        let (h, path, task) = owner("reload");
        std::fs::write(&path, NODE.replace("name = \"a\"", "name = \"a\"\nlocal_as = 0")).unwrap();
        let r = h.reload().await;
        let ReconfigResult::Refused { errors } = &r.result else { panic!("{r:?}") };
        assert!(errors.iter().any(|e| e.contains("node.local_as")), "{errors:?}");
        let s = h.status().await;
        assert_eq!(s.last_reconfig.map(|r| r.result), Some(r.result.clone()));
        std::fs::write(&path, NODE).unwrap();
        assert!(h.reload().await.accepted());
        task.abort();
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn ctl_advertise_changes_the_routes_once_and_refuses_prefixes_outside_the_pools() {
        use ctl::proto::AdvertiseAction::{Add, Del};
        use ctl::server::Handler;
        let (h, path, task) = owner("advertise");
        let req = |action, p: &str| AdvertiseRequest { action, prefix: p.parse().unwrap() };
        let r = h.advertise(req(Add, "10.244.9.0/26")).await.unwrap();
        assert!(r.changed);
        assert!(!h.advertise(req(Add, "10.244.9.0/26")).await.unwrap().changed);
        let routes = h.routes(RouteQuery::default()).await.unwrap();
        let prefixes: Vec<String> = routes.iter().map(|r| r.prefix.to_string()).collect();
        assert_eq!(prefixes, ["10.244.1.0/26", "10.244.9.0/26"]);
        assert!(h.advertise(req(Del, "10.244.1.0/26")).await.unwrap().changed);
        assert_eq!(h.routes(RouteQuery::default()).await.unwrap().len(), 1);
        let e = h.advertise(req(Add, "192.0.2.0/24")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("ip_pools"), "{e}");
        let e = h.advertise(req(Add, "10.244.9.1/26")).await.unwrap_err();
        assert!(e.message.contains("host bits"), "{e}");
        task.abort();
        let _ = std::fs::remove_file(&path);
    }
}
