//! The owner task's inputs can be recorded and replayed: every
//! [`Input`] serialises to JSON and deserialises to an equal value, so a run
//! written as one JSON line per input reads back as the same run.
//!
//! ```text
//!   golden pcap --decode in session context--> Input::Session(Update | Established | ...)
//!   hand-built  --------------------------->   Refused, Reload, Control, NextHop, KernelRoutes,
//!                                              Datastore, Shutdown
//!        |                                          |
//!        +--> serde_json (one line each) --> from_str --> assert_eq with the original
//! ```
//!
//! The UPDATEs are real ones (FRR, BIRD, GoBGP, ExaBGP and calico-bgpd in
//! `tests/fixtures/`), decoded as the receiving session would; defective
//! ones come from hex so the RFC 7606 verdict (treatment, subcode, data,
//! reason) is carried too. A control request's reply channel is not part of
//! the recording: a replayed request answers no one.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use bgp::daemon::{
    Control, DatastoreSnapshot, Input, KernelRouteChange, LearnedKernelRoute, Reply,
};
use bgp::fsm::{EventKind, Reason, State};
use bgp::session::{SessionEvent, SessionReport, Up};
use bgp::wire::attr::{AttrFlags, AttrTypeSet};
use bgp::wire::iana::CeaseSubcode;
use bgp::wire::{
    AfiSafi, AttrType, Negotiated, NotificationMsg, OpenMsg, ParsedMessage, ParsedUpdate,
    RouteRefreshMsg, RouteRefreshSubtype, Treatment, UpdateMsg, decode_message,
};
use bytes::Bytes;
use common::pcap::bgp_frames;
use common::{ALL, announce, attr, upd};
use ctl::proto::{AdvertiseAction, AdvertiseRequest, ReconfigResult, ReloadResult};
use proptest::prelude::*;

const FIXTURES: [&str; 6] = [
    "calico-bird.pcap",
    "calico-frr.pcap",
    "exabgp-frr.pcap",
    "frr-bird.pcap",
    "frr-rr.pcap",
    "gobgp-frr.pcap",
];

/// Serialises `v`, reads it back, and checks nothing was lost.
fn round_trip<T>(v: &T) -> String
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(v).expect("serialises");
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(&back, v, "JSON round trip changed the value: {json}");
    json
}

/// The name of an input's variant, down to the session event and the
/// control request. No wildcard arm: a new variant does not compile until
/// it is named here, and then [`every_input_variant_round_trips_through_json`]
/// fails until it builds one.
fn variant(i: &Input) -> &'static str {
    match i {
        Input::Session(r) => match &r.event {
            SessionEvent::StateChange { .. } => "Session/StateChange",
            SessionEvent::Established(_) => "Session/Established",
            SessionEvent::Down { .. } => "Session/Down",
            SessionEvent::Update { .. } => "Session/Update",
            SessionEvent::RouteRefresh { .. } => "Session/RouteRefresh",
            SessionEvent::Finished => "Session/Finished",
        },
        Input::Refused { .. } => "Refused",
        Input::Reload => "Reload",
        Input::Control(Control::Reload { .. }) => "Control/Reload",
        Input::Control(Control::Advertise { .. }) => "Control/Advertise",
        Input::NextHop { .. } => "NextHop",
        Input::KernelRoutes(_) => "KernelRoutes",
        Input::Datastore(_) => "Datastore",
        Input::Shutdown => "Shutdown",
    }
}

const ALL_VARIANTS: [&str; 14] = [
    "Session/StateChange",
    "Session/Established",
    "Session/Down",
    "Session/Update",
    "Session/RouteRefresh",
    "Session/Finished",
    "Refused",
    "Reload",
    "Control/Reload",
    "Control/Advertise",
    "NextHop",
    "KernelRoutes",
    "Datastore",
    "Shutdown",
];

fn report(peer: IpAddr, event: SessionEvent) -> Input {
    Input::Session(SessionReport { id: 1, peer, event })
}

/// What the owner of each receiving end of a capture would be fed: an
/// Established per session once both OPENs are in (with what they
/// negotiated, as the receiver sees it), then each UPDATE, ROUTE-REFRESH and
/// NOTIFICATION the peer sent, decoded in that session's context.
fn inputs_from_capture(name: &str) -> Vec<Input> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let mut opens: HashMap<SocketAddr, OpenMsg> = HashMap::new();
    let mut out = Vec::new();
    for (i, f) in bgp_frames(&path).iter().enumerate() {
        let negotiated = match (opens.get(&f.dst), opens.get(&f.src)) {
            (Some(l), Some(r)) => Some(Negotiated::from_opens(l, r, l.asn() != r.asn())),
            _ => None,
        };
        let ctx = negotiated.as_ref().map(Negotiated::decode_ctx).unwrap_or_default();
        let parsed = decode_message(&f.bytes, &ctx)
            .unwrap_or_else(|e| panic!("{name} #{i} ({} -> {}): {e}", f.src, f.dst));
        let peer = f.src.ip();
        match parsed {
            ParsedMessage::Open(o) => {
                round_trip(&o);
                opens.insert(f.src, o);
                if let (Some(l), Some(r)) = (opens.get(&f.dst), opens.get(&f.src)) {
                    let negotiated = Negotiated::from_opens(l, r, l.asn() != r.asn());
                    let up = Up { epoch: 1, negotiated, local: f.dst, remote: f.src };
                    out.push(report(peer, SessionEvent::Established(Box::new(up))));
                }
            }
            ParsedMessage::Update(update) => {
                out.push(report(peer, SessionEvent::Update { epoch: 1, update }));
            }
            ParsedMessage::RouteRefresh(request) => {
                out.push(report(peer, SessionEvent::RouteRefresh { epoch: 1, request }));
            }
            ParsedMessage::Notification(n) => {
                round_trip(&n);
                out.push(report(
                    peer,
                    SessionEvent::Down { epoch: 1, reason: n.to_string(), graceful: false },
                ));
            }
            ParsedMessage::Keepalive => {}
        }
    }
    out
}

/// The real UPDATE carrying the most attribute types over all captures.
fn richest_update() -> ParsedUpdate {
    FIXTURES
        .iter()
        .flat_map(|f| inputs_from_capture(f))
        .filter_map(|i| match i {
            Input::Session(SessionReport {
                event: SessionEvent::Update { update, .. }, ..
            }) => Some(update),
            _ => None,
        })
        .max_by_key(|u| u.attrs_seen.len())
        .expect("the captures hold UPDATEs")
}

/// An UPDATE with a defect per RFC 7606 class: a malformed ORIGIN
/// (treat-as-withdraw), a malformed MED (treat-as-withdraw), an
/// ATOMIC_AGGREGATE with a value (attribute discard) and an unknown optional
/// transitive attribute (kept).
fn defective_update() -> ParsedUpdate {
    let body = upd(
        "18 0a0001",
        &(attr(0x40, 1, "07")
            + &attr(0x40, 2, "0201 0000fde9")
            + &attr(0x40, 3, "c0000201")
            + &attr(0x80, 4, "0001")
            + &attr(0x40, 6, "ff")
            + &attr(0xc0, 99, "cafe")),
        "18 0a0000",
    );
    let body = Bytes::from(hex::decode(body).unwrap());
    let parsed = UpdateMsg::decode(&body, &common::Ctx::Ibgp.get()).expect("not a session reset");
    assert_eq!(parsed.treatment, Treatment::TreatAsWithdraw);
    assert!(parsed.errors.len() >= 3, "{:?}", parsed.errors);
    parsed
}

fn one_of_each() -> Vec<Input> {
    let peer: IpAddr = "10.0.0.2".parse().unwrap();
    let up = FIXTURES
        .iter()
        .flat_map(|f| inputs_from_capture(f))
        .find_map(|i| match i {
            Input::Session(SessionReport { event: SessionEvent::Established(up), .. })
                if up.negotiated.peer_graceful_restart.is_some() =>
            {
                Some(up)
            }
            _ => None,
        })
        .expect("a capture has a session with Graceful Restart");
    vec![
        report(
            peer,
            SessionEvent::StateChange {
                from: State::OpenConfirm,
                to: State::Established,
                reason: Reason::Event(EventKind::KeepAliveMsg),
            },
        ),
        report(peer, SessionEvent::Established(up)),
        report(peer, SessionEvent::Update { epoch: 3, update: richest_update() }),
        report(peer, SessionEvent::Update { epoch: 3, update: defective_update() }),
        report(
            peer,
            SessionEvent::RouteRefresh {
                epoch: 3,
                request: RouteRefreshMsg {
                    family: AfiSafi::IPV6_UNICAST,
                    subtype: RouteRefreshSubtype::BoRR,
                },
            },
        ),
        report(
            peer,
            SessionEvent::Down { epoch: 3, reason: "Hold Timer Expired".into(), graceful: true },
        ),
        report(peer, SessionEvent::Finished),
        Input::Refused { remote: "fd00::9".parse().unwrap() },
        Input::Reload,
        Input::Control(Control::Reload { reply: Reply::none() }),
        Input::Control(Control::Advertise {
            request: AdvertiseRequest {
                action: AdvertiseAction::Add,
                prefix: "10.65.0.0/26".parse().unwrap(),
            },
            reply: Reply::none(),
        }),
        Input::NextHop {
            addr: "10.0.0.3".parse().unwrap(),
            cost: Some(20),
            iface: Some("eth0".into()),
        },
        Input::NextHop { addr: "fd00::3".parse().unwrap(), cost: None, iface: None },
        Input::KernelRoutes(vec![
            KernelRouteChange {
                prefix: "10.244.2.7/32".parse().unwrap(),
                route: Some(LearnedKernelRoute {
                    metric: 1024,
                    device: Some("cali1234abcd".into()),
                }),
            },
            KernelRouteChange { prefix: "fd10::7/128".parse().unwrap(), route: None },
        ]),
        Input::Datastore(DatastoreSnapshot {
            revision: 42,
            kvs: std::sync::Arc::new(
                [
                    (
                        "/calico/ipam/v2/host/n1/ipv4/block/10.244.1.0-26".to_owned(),
                        bytes::Bytes::from_static(br#"{"state":"confirmed","deleted":false}"#),
                    ),
                    // Garbage is recorded as it came.
                    (
                        "/calico/resources/v3/projectcalico.org/ippools/p".to_owned(),
                        bytes::Bytes::from_static(b"\xff{not json"),
                    ),
                ]
                .into_iter()
                .collect(),
            ),
        }),
        Input::Shutdown,
    ]
}

#[test]
fn every_input_variant_round_trips_through_json() {
    let inputs = one_of_each();
    let seen: BTreeSet<&str> = inputs.iter().map(variant).collect();
    let all: BTreeSet<&str> = ALL_VARIANTS.into_iter().collect();
    assert_eq!(seen, all, "build one value of every Input variant");
    for i in &inputs {
        round_trip(i);
    }
}

#[test]
fn a_recording_of_one_json_line_per_input_replays_the_same_run() {
    let mut run = one_of_each();
    for f in FIXTURES {
        run.extend(inputs_from_capture(f));
    }
    let mut recording = String::new();
    for i in &run {
        let line = serde_json::to_string(i).unwrap();
        assert!(!line.contains('\n'), "one input per line");
        recording.push_str(&line);
        recording.push('\n');
    }
    let replayed: Vec<Input> =
        recording.lines().map(|l| serde_json::from_str(l).expect("a recorded line")).collect();
    assert_eq!(replayed.len(), run.len());
    for (n, (a, b)) in replayed.iter().zip(&run).enumerate() {
        assert_eq!(a, b, "line {n} ({})", variant(b));
    }
}

#[test]
fn every_golden_update_round_trips_through_json() {
    let mut updates = 0;
    for f in FIXTURES {
        for i in inputs_from_capture(f) {
            updates += usize::from(matches!(
                &i,
                Input::Session(SessionReport { event: SessionEvent::Update { .. }, .. })
            ));
            round_trip(&i);
        }
    }
    assert!(updates > 20, "only {updates} UPDATEs in the captures");
}

#[test]
fn defective_update_keeps_its_rfc7606_verdict_in_json() {
    let u = defective_update();
    let json = round_trip(&u);
    let back: ParsedUpdate = serde_json::from_str(&json).unwrap();
    assert_eq!(back.treatment, Treatment::TreatAsWithdraw);
    // The NOTIFICATION a reset would send is rebuilt from the recording.
    let n: Vec<_> = back.errors.iter().map(|e| e.notification()).collect();
    assert_eq!(n, u.errors.iter().map(|e| e.notification()).collect::<Vec<_>>());
    assert!(back.errors.iter().all(|e| !e.reason.is_empty()));
}

#[test]
fn registry_values_serialise_as_their_number() {
    assert_eq!(serde_json::to_string(&AttrType::ORIGIN).unwrap(), "1");
    assert_eq!(serde_json::to_string(&AttrType(250)).unwrap(), "250");
    assert_eq!(serde_json::from_str::<AttrType>("250").unwrap(), AttrType(250));
    assert_eq!(serde_json::to_string(&CeaseSubcode::PEER_DECONFIGURED).unwrap(), "3");
    assert_eq!(serde_json::to_string(&AfiSafi::IPV6_UNICAST).unwrap(), r#"{"afi":2,"safi":1}"#);
    assert_eq!(
        serde_json::to_string(&NotificationMsg::cease(
            CeaseSubcode::ADMINISTRATIVE_SHUTDOWN,
            Bytes::from_static(b"\x02hi")
        ))
        .unwrap(),
        r#"{"code":6,"subcode":2,"data":[2,104,105]}"#
    );
    assert_eq!(serde_json::to_string(&AttrFlags(0xc0)).unwrap(), "192");
}

#[test]
fn attribute_type_set_serialises_as_its_sorted_codes() {
    let mut set = AttrTypeSet::new();
    for t in [AttrType(32), AttrType::ORIGIN, AttrType(200), AttrType::NEXT_HOP] {
        set.insert(t);
    }
    assert_eq!(round_trip(&set), "[1,3,32,200]");
    assert_eq!(serde_json::from_str::<AttrTypeSet>("[3,1,3]").unwrap().len(), 2);
}

#[test]
fn simple_inputs_have_a_stable_json_form() {
    let cases: [(Input, &str); 6] = [
        (Input::Reload, r#""Reload""#),
        (Input::Shutdown, r#""Shutdown""#),
        (
            Input::Refused { remote: "10.0.0.9".parse().unwrap() },
            r#"{"Refused":{"remote":"10.0.0.9"}}"#,
        ),
        (
            Input::NextHop { addr: "10.0.0.3".parse().unwrap(), cost: None, iface: None },
            r#"{"NextHop":{"addr":"10.0.0.3","cost":null}}"#,
        ),
        (Input::Control(Control::Reload { reply: Reply::none() }), r#"{"Control":{"Reload":{}}}"#),
        (
            Input::Control(Control::Advertise {
                request: AdvertiseRequest {
                    action: AdvertiseAction::Del,
                    prefix: "10.65.0.0/26".parse().unwrap(),
                },
                reply: Reply::none(),
            }),
            r#"{"Control":{"Advertise":{"request":{"action":"del","prefix":"10.65.0.0/26"}}}}"#,
        ),
    ];
    for (input, json) in cases {
        assert_eq!(serde_json::to_string(&input).unwrap(), json);
        assert_eq!(serde_json::from_str::<Input>(json).unwrap(), input);
    }
}

#[test]
fn control_request_is_recorded_without_its_reply_channel() {
    let (reply, mut rx) = Reply::channel();
    let live = Input::Control(Control::Reload { reply });
    let json = serde_json::to_string(&live).unwrap();
    assert!(!json.contains("reply"), "{json}");
    // Equal to its replay: the channel is not what the owner acts on.
    let replayed: Input = serde_json::from_str(&json).unwrap();
    assert_eq!(replayed, live);
    let answer = ReloadResult {
        result: ReconfigResult::Applied,
        peers_added: Vec::new(),
        peers_removed: Vec::new(),
        peers_restarted: Vec::new(),
        peers_updated: Vec::new(),
    };
    // A replayed request answers no one; the live one still reaches its client.
    let Input::Control(Control::Reload { reply }) = replayed else { unreachable!() };
    assert_eq!(reply.send(answer.clone()), Ok(()));
    let Input::Control(Control::Reload { reply }) = live else { unreachable!() };
    assert_eq!(reply.send(answer.clone()), Ok(()));
    assert_eq!(rx.try_recv().unwrap(), answer);
}

/// An attribute TLV that may be anything: flags, type and value drawn at
/// random, so the decoder reports every kind of defect.
fn arb_attr() -> impl Strategy<Value = String> {
    (any::<u8>(), 1u8..=40, proptest::collection::vec(any::<u8>(), 0..12))
        .prop_map(|(flags, ty, v)| attr(flags & 0xe0, ty, &hex::encode(v)))
}

proptest! {
    /// Whatever an UPDATE decodes to, defects and all, a recording of it
    /// replays to the same value.
    #[test]
    fn any_decoded_update_round_trips_through_json(
        extra in proptest::collection::vec(arb_attr(), 0..5),
        ctx in 0..ALL.len(),
    ) {
        let body = Bytes::from(hex::decode(announce(&extra.concat())).unwrap());
        if let Ok(update) = UpdateMsg::decode(&body, &ALL[ctx].get()) {
            let input = report(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), SessionEvent::Update { epoch: 1, update });
            let json = serde_json::to_string(&input).unwrap();
            let back: Input = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, input);
        }
    }

    /// Next-hop reachability inputs of any address family round-trip.
    #[test]
    fn any_next_hop_input_round_trips_through_json(
        v6 in any::<bool>(), a in any::<u128>(), cost in proptest::option::of(any::<u32>()),
        iface in proptest::option::of("[a-z0-9.*-]{1,15}"),
    ) {
        let addr = if v6 { IpAddr::from(a.to_be_bytes()) } else { IpAddr::from((a as u32).to_be_bytes()) };
        let input = Input::NextHop { addr, cost, iface };
        let back: Input = serde_json::from_str(&serde_json::to_string(&input).unwrap()).unwrap();
        prop_assert_eq!(back, input);
    }
}
