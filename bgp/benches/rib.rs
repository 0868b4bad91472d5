//! Routing core at full-table scale: 1M IPv4 prefixes from one eBGP peer go
//! through Adj-RIB-In, best path and Loc-RIB, and out as encoded UPDATEs
//! to 10 iBGP peers of one export group. No sockets, one thread.
//!
//! The `_20_filter_rules` case gives every peer a Calico `BGPFilter` of 20
//! import and 20 export rules that match nothing, so each route runs all 40
//! and the output is unchanged: the evaluation cost alone.
//!
//! `cargo bench -p bgp --bench rib` — figures go into docs/performance.md.
//! Memory per prefix is measured separately by `examples/rib_mem.rs`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use bgp::config::BgpFilter;
use bgp::config::NextHopMode;
use bgp::rib::filter::PeerFilters;
use bgp::rib::{ExportPolicy, PeerId, PeerInfo, Rib, RibConfig};
use bgp::wire::attr::{AsPath, Community, MpNextHop, Origin, PathAttrs};
use bgp::wire::pack::pack_announcements;
use bgp::wire::{AfiSafi, CodecCtx, Nlri, ParsedMessage, ParsedUpdate, decode_message};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net};

const N: u32 = 1_000_000;
const LOCAL_AS: u32 = 64512;

/// 3/4 distinct /24s, 1/4 /32s in 100.64/10, interleaved (so not in
/// prefix order: the RIB gets no help from sorted input).
fn ipv4_nlri(n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let net = if i % 4 == 3 {
                Ipv4Net::new(Ipv4Addr::from(0x6440_0000 | (i & 0x3f_ffff)), 32).unwrap()
            } else {
                // Distinct /24s from 1.0.0.0 up (750k of them reach 12.113/16).
                Ipv4Net::new(Ipv4Addr::from(0x0100_0000 + ((i - i / 4) << 8)), 24).unwrap()
            };
            Nlri::new(IpNet::V4(net))
        })
        .collect()
}

fn ctx() -> CodecCtx {
    CodecCtx { four_octet_as: true, ..CodecCtx::default() }
}

/// The full table as the eBGP peer sends it: 4096-octet UPDATEs.
fn frames() -> Vec<Bytes> {
    let attrs = PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![65001, 65010])),
        communities: vec![Community(0xfde9_0064)],
        ..PathAttrs::default()
    };
    let nh = MpNextHop::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
    let nlri = ipv4_nlri(N);
    pack_announcements(&attrs, AfiSafi::IPV4_UNICAST, nh, &nlri, &ctx()).unwrap()
}

/// One filter of 20 import and 20 export rules none of the benchmark's
/// routes match: prefixes elsewhere, communities, AS_PATH prefixes and
/// priorities they do not have.
fn twenty_rules() -> PeerFilters {
    let mut text = String::from("[[filters]]\nname = \"bench\"\n");
    for list in ["import_v4", "export_v4"] {
        for i in 0..20 {
            let fields = match i % 4 {
                0 => format!("cidr = \"198.18.{i}.0/24\"\nmatch_operator = \"In\""),
                1 => format!("communities = {{ values = [\"65535:{i}\"] }}"),
                2 => format!("as_path_prefix = [{}]", 64000 + i),
                _ => format!("priority = {i}"),
            };
            text.push_str(&format!("[[filters.{list}]]\naction = \"Reject\"\n{fields}\n"));
        }
    }
    #[derive(serde::Deserialize)]
    struct File {
        filters: Vec<BgpFilter>,
    }
    let f: File = toml::from_str(&text).unwrap();
    PeerFilters::for_peer(&f.filters, &["bench".to_owned()])
}

fn setup(add_path: bool) -> Rib {
    setup_with(add_path, &PeerFilters::default())
}

fn setup_with(add_path: bool, filters: &PeerFilters) -> Rib {
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1)));
    let src = PeerInfo {
        export: ExportPolicy::all(),
        filters: filters.clone(),
        ..PeerInfo::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            65001,
            LOCAL_AS,
            Ipv4Addr::new(192, 0, 2, 1),
        )
    };
    rib.peer_up(PeerId(0), src);
    for i in 1..=10u8 {
        let a = Ipv4Addr::new(10, 0, 0, 10 + i);
        let p = PeerInfo {
            local_addr_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            next_hop_mode: NextHopMode::Auto,
            encode: CodecCtx {
                add_path: if add_path { vec![AfiSafi::IPV4_UNICAST] } else { Vec::new() },
                ..ctx()
            },
            export: ExportPolicy::all(),
            filters: filters.clone(),
            ..PeerInfo::new(IpAddr::V4(a), LOCAL_AS, LOCAL_AS, a)
        };
        rib.peer_up(PeerId(u32::from(i)), p);
    }
    assert_eq!(rib.export_groups(), 2);
    rib
}

/// Decode every frame, feed it, count the octets handed to the 10 peers.
fn run_wire(frames: &[Bytes], add_path: bool) -> (Rib, usize) {
    let mut rib = setup(add_path);
    let c = ctx();
    let mut sent = 0;
    for f in frames {
        let Ok(ParsedMessage::Update(u)) = decode_message(f, &c) else { unreachable!() };
        let out = rib.update(PeerId(0), &u);
        sent += out.to_peers.iter().flat_map(|(_, m)| m).map(Bytes::len).sum::<usize>();
    }
    (rib, sent)
}

fn run_parsed(updates: &[ParsedUpdate], filters: &PeerFilters) -> (Rib, usize) {
    let mut rib = setup_with(false, filters);
    let mut sent = 0;
    for u in updates {
        let out = rib.update(PeerId(0), u);
        sent += out.to_peers.iter().flat_map(|(_, m)| m).map(Bytes::len).sum::<usize>();
    }
    (rib, sent)
}

fn bench(c: &mut Criterion) {
    let frames = frames();
    let (rib, sent) = run_wire(&frames, false);
    assert_eq!(rib.len(), N as usize);
    eprintln!("{} UPDATEs in, {} octets out to 10 peers", frames.len(), sent);
    drop(rib);
    let c0 = ctx();
    let parsed: Vec<ParsedUpdate> = frames
        .iter()
        .map(|f| match decode_message(f, &c0) {
            Ok(ParsedMessage::Update(u)) => u,
            _ => unreachable!(),
        })
        .collect();

    let mut g = c.benchmark_group("rib");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(N)));
    g.bench_function("1M_ipv4_wire_in_to_10_ibgp_peers", |b| {
        b.iter(|| black_box(run_wire(&frames, false)))
    });
    g.bench_function("1M_ipv4_wire_in_to_10_ibgp_peers_add_path", |b| {
        b.iter(|| black_box(run_wire(&frames, true)))
    });
    let none = PeerFilters::default();
    g.bench_function("1M_ipv4_parsed_in_to_10_ibgp_peers", |b| {
        b.iter(|| black_box(run_parsed(&parsed, &none)))
    });
    let twenty = twenty_rules();
    let (rib, filtered_sent) = run_parsed(&parsed, &twenty);
    assert_eq!((rib.len(), filtered_sent), (N as usize, sent), "the rules match nothing");
    drop(rib);
    g.bench_function("1M_ipv4_parsed_in_to_10_ibgp_peers_20_filter_rules", |b| {
        b.iter(|| black_box(run_parsed(&parsed, &twenty)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
