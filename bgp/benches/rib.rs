//! Routing core at full-table scale: 1M IPv4 prefixes from one eBGP peer go
//! through Adj-RIB-In, best path and Loc-RIB, and out as encoded UPDATEs
//! to 10 iBGP peers of one export group. No sockets, one thread.
//!
//! The `_20_filter_rules` case gives every peer a Calico `BGPFilter` of 20
//! import and 20 export rules that match nothing, so each route runs all 40
//! and the output is unchanged: the evaluation cost alone (`_spread`: their
//! prefixes far apart, so no route skips their tests at once). Its
//! instruction count, steadier than time on a shared machine, is
//! `benches/filter_cost.rs`.
//!
//! `cargo bench -p bgp --bench rib` — figures go into docs/performance.md.
//! Memory per prefix is measured separately by `examples/rib_mem.rs`.

mod scenario;

use std::hint::black_box;

use bgp::rib::filter::PeerFilters;
use bgp::rib::{PeerId, Rib};
use bgp::wire::{ParsedMessage, decode_message};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scenario::{N, ctx, frames, parsed, run_parsed, setup_with, twenty_rules, twenty_rules_spread};

/// Decode every frame, feed it, count the octets handed to the 10 peers.
fn run_wire(frames: &[Bytes], add_path: bool) -> (Rib, usize) {
    let mut rib = setup_with(add_path, &PeerFilters::default());
    let c = ctx().peer_decode_ctx();
    let mut sent = 0;
    for f in frames {
        let Ok(ParsedMessage::Update(u)) = decode_message(f, &c) else { unreachable!() };
        let out = rib.update(PeerId(0), &u);
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
    let parsed = parsed(&frames);

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
    let spread = twenty_rules_spread();
    g.bench_function("1M_ipv4_parsed_in_to_10_ibgp_peers_20_filter_rules_spread", |b| {
        b.iter(|| black_box(run_parsed(&parsed, &spread)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
