//! Golden bytes from real peers: every BGP message FRR 8.4, BIRD 2.0, GoBGP 3.10
//! and ExaBGP 4.2 sent in the captures under `tests/fixtures/` decodes cleanly
//! under the context the two OPENs of its session negotiated, and re-encodes to
//! a message that decodes to the same value.
//!
//! Where our canonical encoding matches the sender's (KEEPALIVE, NOTIFICATION,
//! ROUTE-REFRESH, and the UPDATEs of implementations that order attributes the
//! way RFC 7606 §5.1 recommends) the bytes must be identical; the test counts
//! and asserts those.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use bgp::wire::capability::Capability;
use bgp::wire::{Message, Negotiated, OpenMsg, ParsedMessage, Treatment, decode_message};
use bytes::BytesMut;
use common::pcap::{Frame, bgp_frames};

fn fixture(name: &str) -> Vec<Frame> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    bgp_frames(&p)
}

/// What one capture decoded to, for the per-file assertions.
#[derive(Default, Debug)]
struct Seen {
    messages: usize,
    opens: Vec<OpenMsg>,
    updates: Vec<bgp::wire::ParsedUpdate>,
    notifications: Vec<bgp::wire::NotificationMsg>,
    route_refreshes: Vec<bgp::wire::route_refresh::RouteRefreshMsg>,
    /// Messages whose re-encoding is byte-identical to what the peer sent.
    byte_identical: usize,
    /// (type, identical) per message, to find which kinds differ.
    by_type: HashMap<(u8, bool), usize>,
}

/// Decodes every frame of a capture in session context and checks the
/// re-encode round trip.
fn replay(name: &str) -> Seen {
    let frames = fixture(name);
    let mut opens: HashMap<SocketAddr, OpenMsg> = HashMap::new();
    let mut seen = Seen::default();
    for (i, f) in frames.iter().enumerate() {
        let (local, remote) = (opens.get(&f.dst), opens.get(&f.src));
        // The receiver decodes with what it negotiated; the sender encoded with
        // the mirror view of the same OPENs.
        let (rx, tx) = match (local, remote) {
            (Some(l), Some(r)) => {
                let ebgp = l.asn() != r.asn();
                (
                    Negotiated::from_opens(l, r, ebgp).decode_ctx(),
                    Negotiated::from_opens(r, l, ebgp).encode_ctx(),
                )
            }
            _ => Default::default(),
        };
        let parsed = decode_message(&f.bytes, &rx)
            .unwrap_or_else(|e| panic!("{name} #{i} ({} -> {}): {e}", f.src, f.dst));
        seen.messages += 1;
        match &parsed {
            ParsedMessage::Open(o) => {
                o.validate().unwrap_or_else(|e| panic!("{name} #{i}: OPEN invalid: {e}"));
                opens.insert(f.src, o.clone());
                seen.opens.push(o.clone());
            }
            ParsedMessage::Update(u) => {
                assert_eq!(
                    u.treatment,
                    Treatment::Normal,
                    "{name} #{i}: real peer's UPDATE has defects: {:?}",
                    u.errors
                );
                assert!(u.ignored_families.is_empty(), "{name} #{i}");
                seen.updates.push(u.clone());
            }
            ParsedMessage::Notification(n) => seen.notifications.push(n.clone()),
            ParsedMessage::RouteRefresh(r) => seen.route_refreshes.push(*r),
            ParsedMessage::Keepalive => {}
        }
        let msg: Message = parsed.into_clean_message().expect("clean");
        let mut buf = BytesMut::new();
        msg.encode(&tx, &mut buf).unwrap_or_else(|e| panic!("{name} #{i}: re-encode: {e}"));
        let again = decode_message(&buf.clone().freeze(), &rx)
            .unwrap_or_else(|e| panic!("{name} #{i}: our re-encoding does not decode: {e}"))
            .into_clean_message()
            .expect("our re-encoding is clean");
        assert_eq!(again, msg, "{name} #{i}: round trip changed the message");
        let identical = buf[..] == f.bytes[..];
        seen.byte_identical += usize::from(identical);
        *seen.by_type.entry((f.msg_type(), identical)).or_default() += 1;
        if !identical && matches!(f.msg_type(), 3..=5) {
            panic!(
                "{name} #{i}: type {} re-encoded differently\n ours   {}\n theirs {}",
                f.msg_type(),
                hex::encode(&buf),
                hex::encode(&f.bytes)
            );
        }
    }
    eprintln!(
        "{name}: {} messages, {} byte-identical, {:?}",
        seen.messages,
        seen.byte_identical,
        {
            let mut v: Vec<_> = seen.by_type.iter().collect();
            v.sort();
            v
        }
    );
    seen
}

fn has_cap(seen: &Seen, f: impl Fn(&Capability) -> bool) -> bool {
    seen.opens.iter().any(|o| o.capabilities.iter().any(&f))
}

#[test]
fn frr_and_bird_messages_decode_and_round_trip() {
    let s = replay("frr-bird.pcap");
    assert!(has_cap(&s, |c| matches!(c, Capability::AddPath(_))));
    assert!(has_cap(&s, |c| matches!(c, Capability::ExtendedNextHop(_))));
    assert!(has_cap(&s, |c| matches!(c, Capability::LongLivedGracefulRestart(_))));
    assert!(has_cap(&s, |c| matches!(c, Capability::Fqdn(_))));
    assert!(has_cap(&s, |c| matches!(c, Capability::GracefulRestart(_))));
    assert!(has_cap(&s, |c| matches!(c, Capability::EnhancedRouteRefresh)));
    // RFC 8950: IPv4 NLRI with an IPv6 next hop, decoded under the negotiated context.
    assert!(s.updates.iter().any(|u| {
        u.update.mp_reach.as_ref().is_some_and(|m| {
            m.family == bgp::wire::AfiSafi::IPV4_UNICAST
                && matches!(m.next_hop, bgp::wire::attr::MpNextHop::Ipv6 { .. })
        })
    }));
    // ADD-PATH path identifiers arrived.
    assert!(s.updates.iter().any(|u| u.announcements().any(|(_, n)| n.path_id.is_some())));
    assert!(s.updates.iter().any(|u| !u.update.attrs.large_communities.is_empty()));
    assert!(s.updates.iter().any(|u| !u.update.attrs.ext_communities.is_empty()));
    assert!(s.updates.iter().any(|u| u.update.is_end_of_rib().is_some()));
    assert!(s.updates.iter().any(|u| u.withdrawals().next().is_some()));
    // RFC 9003 shutdown communication from `neighbor X shutdown message ...`.
    assert!(s.notifications.iter().any(|n| n.shutdown_message().is_some()));
    // RFC 7313 BoRR / EoRR around a route refresh.
    assert!(s.route_refreshes.len() >= 2);
}

#[test]
fn route_reflector_attributes_from_frr_decode() {
    let s = replay("frr-rr.pcap");
    assert!(s.updates.iter().any(|u| u.update.attrs.originator_id.is_some()));
    assert!(s.updates.iter().any(|u| u.update.attrs.cluster_list.is_some()));
}

#[test]
fn gobgp_messages_decode_and_round_trip() {
    let s = replay("gobgp-frr.pcap");
    assert!(s.updates.iter().any(|u| u.withdrawals().next().is_some()));
}

#[test]
fn two_octet_exabgp_as4_path_merges_and_unknown_attribute_is_kept() {
    let s = replay("exabgp-frr.pcap");
    // ExaBGP speaks 2-octet AS here: AS_TRANS on the wire, the real AS in AS4_PATH,
    // merged by the decoder (RFC 6793 §4.2.3) so no AS_TRANS is left in the path.
    let path_updates: Vec<_> =
        s.updates.iter().filter_map(|u| u.update.attrs.as_path.as_ref()).collect();
    assert!(!path_updates.is_empty());
    assert!(path_updates.iter().any(|p| p.to_string().contains('{')), "an AS_SET arrived");
    assert!(
        path_updates.iter().all(|p| !p.contains(u32::from(bgp::wire::iana::AS_TRANS))),
        "AS4_PATH merged away every AS_TRANS: {path_updates:?}"
    );
    assert!(s.updates.iter().any(|u| u.update.attrs.atomic_aggregate));
    assert!(s.updates.iter().any(|u| u.update.attrs.aggregator.is_some()));
    assert!(s.updates.iter().any(|u| u.update.attrs.unknown.iter().any(|a| a.attr_type.0 == 153)));
}
