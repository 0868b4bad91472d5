//! Codec hot paths: UPDATE decode and UPDATE packing at full-table scale.
//!
//! `cargo bench -p bgp --bench codec` — figures go into docs/performance.md.
//! Throughput is reported per NLRI (criterion `Elements`), so "Melem/s" reads
//! as millions of prefixes per second on one core.

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::attr::{AsPath, Community, MpNextHop, Origin, PathAttrs};
use bgp::wire::pack::{pack_announcements, pack_withdrawals};
use bgp::wire::{AfiSafi, EncodeCtx, Nlri, ParsedMessage, decode_message};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// 1M IPv4 prefixes: 3/4 are /24s, 1/4 /32s, spread over 10.0.0.0/8 and
/// 100.64.0.0/10 so the NLRI encoding sizes mix like a real table.
fn ipv4_nlri(n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let net = if i % 4 == 3 {
                Ipv4Net::new(Ipv4Addr::from(0x6440_0000 | (i & 0x3f_ffff)), 32).unwrap()
            } else {
                Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | ((i & 0xffff) << 8)), 24).unwrap()
            };
            Nlri::new(IpNet::V4(net))
        })
        .collect()
}

fn ipv6_nlri(n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let a = Ipv6Addr::new(0xfd00, 0x10, (i >> 16) as u16, i as u16, 0, 0, 0, 0);
            Nlri::new(IpNet::V6(Ipv6Net::new(a, 64).unwrap()))
        })
        .collect()
}

/// Attributes like a Calico node's iBGP advertisement plus a few communities.
fn attrs() -> PathAttrs {
    PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![64512, 65001])),
        local_pref: Some(100),
        communities: vec![Community(0xfde8_0064), Community(0xfde8_00c8)],
        ..PathAttrs::default()
    }
}

fn ctx() -> EncodeCtx {
    EncodeCtx { four_octet_as: true, ..EncodeCtx::default() }
}

fn decode_all(frames: &[Bytes], ctx: &EncodeCtx) -> usize {
    let mut n = 0;
    for f in frames {
        match decode_message(f, &ctx.peer_decode_ctx()) {
            Ok(ParsedMessage::Update(u)) => n += u.announcements().count(),
            other => panic!("unexpected {other:?}"),
        }
    }
    n
}

fn bench_ipv4(c: &mut Criterion) {
    const N: u32 = 1_000_000;
    let ctx = ctx();
    let nlri = ipv4_nlri(N);
    let nh = MpNextHop::Ipv4(Ipv4Addr::new(192, 168, 1, 2));
    let frames = pack_announcements(&attrs(), AfiSafi::IPV4_UNICAST, nh, &nlri, &ctx).unwrap();
    assert_eq!(decode_all(&frames, &ctx), N as usize);

    let mut g = c.benchmark_group("ipv4_1m");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("decode", |b| b.iter(|| decode_all(black_box(&frames), &ctx)));
    g.bench_function("pack_announcements", |b| {
        b.iter(|| pack_announcements(&attrs(), AfiSafi::IPV4_UNICAST, nh, black_box(&nlri), &ctx))
    });
    g.bench_function("pack_withdrawals", |b| {
        b.iter(|| pack_withdrawals(AfiSafi::IPV4_UNICAST, black_box(&nlri), &ctx))
    });
    let add_path = EncodeCtx { add_path: vec![AfiSafi::IPV4_UNICAST], ..ctx.clone() };
    let with_ids: Vec<Nlri> =
        nlri.iter().enumerate().map(|(i, n)| Nlri::with_path_id(n.prefix, i as u32)).collect();
    let ap_frames =
        pack_announcements(&attrs(), AfiSafi::IPV4_UNICAST, nh, &with_ids, &add_path).unwrap();
    g.bench_function("decode_add_path", |b| {
        b.iter(|| decode_all(black_box(&ap_frames), &add_path))
    });
    g.finish();
}

fn bench_ipv6(c: &mut Criterion) {
    const N: u32 = 100_000;
    let ctx = ctx();
    let nlri = ipv6_nlri(N);
    let nh = MpNextHop::Ipv6 {
        global: "fd00::2".parse().unwrap(),
        link_local: Some("fe80::2".parse().unwrap()),
    };
    let frames = pack_announcements(&attrs(), AfiSafi::IPV6_UNICAST, nh, &nlri, &ctx).unwrap();
    assert_eq!(decode_all(&frames, &ctx), N as usize);

    let mut g = c.benchmark_group("ipv6_100k");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("decode", |b| b.iter(|| decode_all(black_box(&frames), &ctx)));
    g.bench_function("pack_announcements", |b| {
        b.iter(|| pack_announcements(&attrs(), AfiSafi::IPV6_UNICAST, nh, black_box(&nlri), &ctx))
    });
    g.finish();
}

criterion_group!(benches, bench_ipv4, bench_ipv6);
criterion_main!(benches);
