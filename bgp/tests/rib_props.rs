//! Model-based properties of the routing core: after any sequence of
//! announcements, withdrawals and session flaps, what a downstream peer has
//! been told (replaying every UPDATE it was sent) is exactly what the RIB
//! holds now, with and without ADD-PATH, and the FIB agrees with Loc-RIB.
//! This checks the stateless Adj-RIB-Out: each change is a diff of the old
//! and new paths of one destination, deduplicated per call.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use bgp::rib::{ExportPolicy, FibRoute, Output, PeerId, PeerInfo, Rib, RibConfig};
use bgp::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
use bgp::wire::{AfiSafi, EncodeCtx, Message, Nlri, ParsedMessage, UpdateMsg, decode_message};
use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

const AS: u32 = 64512;
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PLAIN: u32 = 10;
const ADDPATH: u32 = 11;

fn ctx() -> EncodeCtx {
    EncodeCtx { four_octet_as: true, ..EncodeCtx::default() }
}

fn ap_ctx() -> EncodeCtx {
    EncodeCtx { add_path: vec![AfiSafi::IPV4_UNICAST], ..ctx() }
}

fn prefix(i: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::new(192, 0, 2, i * 16), 28).unwrap())
}

fn src(i: u8) -> PeerInfo {
    let a = Ipv4Addr::new(10, 0, 1, i);
    PeerInfo {
        export: ExportPolicy::all(),
        ..PeerInfo::new(IpAddr::V4(a), 65000 + u32::from(i), AS, a)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Announce { peer: u8, prefixes: Vec<u8>, path_len: u8, med: u8, withdraw_first: bool },
    Withdraw { peer: u8, prefixes: Vec<u8> },
    Flap { peer: u8 },
}

fn arb_op() -> impl Strategy<Value = Op> {
    let prefixes = proptest::collection::vec(0u8..6, 1..4);
    prop_oneof![
        4 => (1u8..4, prefixes.clone(), 1u8..4, 0u8..3, any::<bool>()).prop_map(
            |(peer, prefixes, path_len, med, withdraw_first)| Op::Announce {
                peer, prefixes, path_len, med, withdraw_first
            }
        ),
        2 => (1u8..4, prefixes).prop_map(|(peer, prefixes)| Op::Withdraw { peer, prefixes }),
        1 => (1u8..4).prop_map(|peer| Op::Flap { peer }),
    ]
}

/// What a downstream peer believes: (prefix, path id) -> next hop.
type View = BTreeMap<(IpNet, Option<u32>), MpNextHop>;

fn replay(view: &mut View, out: &Output, peer: u32, c: &EncodeCtx) {
    for m in out.messages_for(PeerId(peer)) {
        let Ok(ParsedMessage::Update(u)) = decode_message(m, &c.peer_decode_ctx()) else {
            panic!("not an UPDATE")
        };
        for (_, n) in u.withdrawals() {
            view.remove(&(n.prefix, n.path_id));
        }
        for (f, n) in u.announcements() {
            view.insert((n.prefix, n.path_id), u.next_hop(f).unwrap());
        }
    }
}

fn update(peer: u8, op: &Op) -> UpdateMsg {
    let nh = Ipv4Addr::new(10, 0, 1, peer);
    match op {
        Op::Announce { prefixes, path_len, med, withdraw_first, .. } => {
            let first = 65000 + u32::from(peer);
            let path = (0..*path_len).map(|k| first + u32::from(k) * 100).collect();
            let nlri: Vec<Nlri> = prefixes.iter().map(|p| Nlri::new(prefix(*p))).collect();
            UpdateMsg {
                withdrawn: if *withdraw_first { nlri.clone() } else { Vec::new() },
                attrs: PathAttrs {
                    origin: Some(Origin::Igp),
                    as_path: Some(AsPath::from_sequence(path)),
                    next_hop: Some(nh),
                    med: Some(u32::from(*med)),
                    ..PathAttrs::default()
                },
                nlri,
                ..UpdateMsg::default()
            }
        }
        Op::Withdraw { prefixes, .. } => UpdateMsg {
            withdrawn: prefixes.iter().map(|p| Nlri::new(prefix(*p))).collect(),
            ..UpdateMsg::default()
        },
        Op::Flap { .. } => UpdateMsg::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn downstream_peers_always_hold_the_current_export(ops in proptest::collection::vec(arb_op(), 1..40)) {
        let mut rib = Rib::new(RibConfig::new(AS, ME));
        let mut plain = View::new();
        let mut addp = View::new();
        let mut fib: BTreeMap<IpNet, FibRoute> = BTreeMap::new();
        let observe = |o: &Output, plain: &mut View, addp: &mut View, fib: &mut BTreeMap<IpNet, FibRoute>| {
            replay(plain, o, PLAIN, &ctx());
            replay(addp, o, ADDPATH, &ap_ctx());
            for c in &o.fib {
                match &c.route {
                    Some(r) => { fib.insert(c.prefix, r.clone()); }
                    None => { fib.remove(&c.prefix); }
                }
            }
        };
        for i in 1..4 {
            rib.peer_up(PeerId(u32::from(i)), src(i));
        }
        let obs = |addr: u8, encode: EncodeCtx| PeerInfo {
            local_addr_v4: Some(ME),
            encode,
            export: ExportPolicy::all(),
            ..PeerInfo::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, addr)), AS, AS, Ipv4Addr::new(10, 0, 0, addr))
        };
        let o = rib.peer_up(PeerId(PLAIN), obs(10, ctx()));
        observe(&o, &mut plain, &mut addp, &mut fib);
        let o = rib.peer_up(PeerId(ADDPATH), obs(11, ap_ctx()));
        observe(&o, &mut plain, &mut addp, &mut fib);

        for op in &ops {
            let o = match op {
                Op::Flap { peer } => {
                    let mut o = rib.peer_down(PeerId(u32::from(*peer)));
                    let o2 = rib.peer_up(PeerId(u32::from(*peer)), src(*peer));
                    o.to_peers.extend(o2.to_peers);
                    o
                }
                Op::Announce { peer, .. } | Op::Withdraw { peer, .. } => {
                    let b = Message::Update(update(*peer, op)).to_bytes(&ctx()).unwrap();
                    let Ok(ParsedMessage::Update(u)) = decode_message(&b, &ctx().peer_decode_ctx()) else { panic!() };
                    rib.update(PeerId(u32::from(*peer)), &u)
                }
            };
            observe(&o, &mut plain, &mut addp, &mut fib);
        }

        let mut want_plain = View::new();
        let mut want_addp = View::new();
        let mut want_fib = BTreeMap::new();
        for p in 0..6 {
            let pfx = prefix(p);
            let routes = rib.routes(pfx);
            for r in &routes {
                let nh = r.attrs.next_hop.unwrap();
                if r.best {
                    want_plain.insert((pfx, None), nh);
                }
                if r.reason.is_none_or(|x| !x.is_ineligible()) {
                    want_addp.insert((pfx, Some(r.tx_path_id)), nh);
                }
            }
            if let Some(b) = routes.iter().find(|r| r.best) {
                let mut nhs: Vec<IpAddr> = routes.iter().filter(|r| r.multipath)
                    .map(|r| match r.attrs.next_hop.unwrap() { MpNextHop::Ipv4(a) => IpAddr::V4(a), _ => unreachable!() })
                    .collect();
                nhs.sort();
                prop_assert!(b.multipath);
                want_fib.insert(pfx, nhs);
            }
        }
        for i in 1..4u32 {
            let mine: Vec<_> = (0..6).flat_map(|p| rib.routes(prefix(p)))
                .filter(|r| r.peer == Some(PeerId(i))).collect();
            let st = rib.peer_stats(PeerId(i)).unwrap();
            prop_assert_eq!(st.received as usize, mine.len());
            prop_assert_eq!(st.best as usize, mine.iter().filter(|r| r.best).count());
            // IPv4 only here: the family counts are the totals.
            prop_assert_eq!(st.families[0], bgp::rib::FamilyStats { received: st.received, accepted: st.accepted, best: st.best });
            prop_assert_eq!(st.families[1], bgp::rib::FamilyStats::default());
        }
        // The running counts `show status` reads equal a walk of the table.
        let walked: Vec<_> = rib.prefixes().into_iter().map(|p| rib.routes(p).len() as u64).collect();
        prop_assert_eq!(rib.sizes()[0], (walked.len() as u64, walked.iter().sum::<u64>()));
        prop_assert_eq!(rib.sizes()[1], (0, 0));
        prop_assert_eq!(plain, want_plain);
        prop_assert_eq!(addp, want_addp);
        let got_fib: BTreeMap<IpNet, Vec<IpAddr>> = fib.into_iter().map(|(k, v)| (k, v.next_hops)).collect();
        prop_assert_eq!(got_fib, want_fib);
    }

    #[test]
    fn best_path_does_not_depend_on_arrival_order(
        lens in proptest::collection::vec((1u8..4, 0u8..3), 3),
        order in Just([1u8, 2, 3]).prop_shuffle(),
    ) {
        let run = |order: &[u8]| {
            let mut rib = Rib::new(RibConfig::new(AS, ME));
            for i in 1..4 {
                rib.peer_up(PeerId(u32::from(i)), src(i));
            }
            for &peer in order {
                let (len, med) = lens[usize::from(peer - 1)];
                let op = Op::Announce { peer, prefixes: vec![0], path_len: len, med, withdraw_first: false };
                let b = Message::Update(update(peer, &op)).to_bytes(&ctx()).unwrap();
                let Ok(ParsedMessage::Update(u)) = decode_message(&b, &ctx().peer_decode_ctx()) else { panic!() };
                rib.update(PeerId(u32::from(peer)), &u);
            }
            let mut v: Vec<_> = rib.routes(prefix(0)).into_iter().map(|r| (r.peer, r.best, r.reason)).collect();
            v.sort();
            v
        };
        prop_assert_eq!(run(&[1, 2, 3]), run(&order));
    }
}
