//! Next-hop reachability at scale: 100k IPv4 routes from one iBGP peer
//! through 10k distinct next hops (10 routes, one attribute set, per next
//! hop), next hops resolved by the kernel side. The measured step is what
//! a FIB start-up or an IGP change delivers: 1,000 of the next hops become
//! reachable one report at a time, then unreachable again, so each
//! iteration ends where it started.
//!
//! `cargo bench -p bgp --bench nexthops` — figures go into
//! docs/performance.md.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use bgp::rib::{ExportPolicy, PeerId, PeerInfo, Rib, RibConfig};
use bgp::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
use bgp::wire::pack::pack_announcements;
use bgp::wire::{AfiSafi, EncodeCtx, Nlri, ParsedMessage, decode_message};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net};

const LOCAL_AS: u32 = 64512;
const NEXT_HOPS: u32 = 10_000;
const ROUTES_PER_NEXT_HOP: u32 = 10;
const FLAPPING: u32 = 1_000;

fn next_hop(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a40_0000 + i)
}

/// The table, every next hop unreachable (reported so), and the one peer
/// it is exported to.
fn table() -> Rib {
    let ctx = EncodeCtx { four_octet_as: true, ..EncodeCtx::default() };
    let mut rib = Rib::new(RibConfig {
        resolve_next_hops: true,
        ..RibConfig::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1))
    });
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let info = PeerInfo {
        export: ExportPolicy::all(),
        ..PeerInfo::new(IpAddr::V4(src), LOCAL_AS, LOCAL_AS, src)
    };
    rib.peer_up(PeerId(0), info);
    let to = Ipv4Addr::new(10, 0, 0, 2);
    let out = PeerInfo {
        local_addr_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        export: ExportPolicy::all(),
        encode: ctx.clone(),
        ..PeerInfo::new(IpAddr::V4(to), 65001, LOCAL_AS, to)
    };
    rib.peer_up(PeerId(1), out);
    let attrs = PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::default()),
        local_pref: Some(100),
        ..PathAttrs::default()
    };
    for i in 0..NEXT_HOPS {
        let nlri: Vec<Nlri> = (0..ROUTES_PER_NEXT_HOP)
            .map(|j| {
                let n = i * ROUTES_PER_NEXT_HOP + j;
                let net = Ipv4Net::new(Ipv4Addr::from(0x0100_0000 + (n << 8)), 24).unwrap();
                Nlri::new(IpNet::V4(net))
            })
            .collect();
        let nh = MpNextHop::Ipv4(next_hop(i));
        for f in pack_announcements(&attrs, AfiSafi::IPV4_UNICAST, nh, &nlri, &ctx).unwrap() {
            let Ok(ParsedMessage::Update(u)) = decode_message(&f, &ctx.peer_decode_ctx()) else {
                unreachable!()
            };
            rib.update(PeerId(0), &u);
        }
    }
    for i in 0..NEXT_HOPS {
        rib.nexthop_reachability(IpAddr::V4(next_hop(i)), None, None);
    }
    assert_eq!(rib.len(), (NEXT_HOPS * ROUTES_PER_NEXT_HOP) as usize);
    rib
}

/// `FLAPPING` next hops reachable, then unreachable; the FIB changes seen.
fn flap(rib: &mut Rib) -> usize {
    let mut fib = 0;
    for cost in [Some(10), None] {
        for i in 0..FLAPPING {
            let out = rib.nexthop_reachability(IpAddr::V4(next_hop(i * 7)), cost, None);
            fib += out.fib.len();
        }
    }
    fib
}

fn bench(c: &mut Criterion) {
    let mut rib = table();
    let changed = flap(&mut rib);
    assert_eq!(changed, (2 * FLAPPING * ROUTES_PER_NEXT_HOP) as usize);

    let mut g = c.benchmark_group("nexthops");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(2 * FLAPPING)));
    g.bench_function("100k_routes_10k_next_hops_1k_flap", |b| b.iter(|| black_box(flap(&mut rib))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
