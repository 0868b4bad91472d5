//! The pcap helper yields whole, well-framed BGP messages: over every committed
//! fixture, and over synthetic captures exercising TCP reassembly.

mod common;

use std::path::PathBuf;

use common::pcap::{Frame, bgp_frames, bgp_frames_from_bytes};

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "pcap"));
    v.sort();
    v
}

fn assert_well_framed(name: &str, frames: &[Frame]) {
    assert!(!frames.is_empty(), "{name}: no BGP messages");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(&f.bytes[..16], &[0xff; 16], "{name} #{i}: marker is not all ones");
        let len = usize::from(u16::from_be_bytes([f.bytes[16], f.bytes[17]]));
        assert_eq!(len, f.bytes.len(), "{name} #{i}: length field vs message size");
        assert!((1..=5).contains(&f.msg_type()), "{name} #{i}: type {}", f.msg_type());
    }
}

#[test]
fn every_fixture_yields_well_framed_messages_starting_with_opens() {
    for path in fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let frames = bgp_frames(&path);
        assert_well_framed(&name, &frames);
        assert!(frames.iter().any(|f| f.msg_type() == 1), "{name}: no OPEN");
        assert!(frames.iter().any(|f| f.msg_type() == 2), "{name}: no UPDATE");
    }
}

// ----- synthetic captures -----

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

/// A BGP message of `len` octets and type `ty` (body zero-filled).
fn message(ty: u8, len: u16) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(ty);
    m.resize(usize::from(len), 0);
    m
}

/// An Ethernet + IPv4 + TCP frame from A:40000 to B:179, padded like short frames are.
fn eth_tcp(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&179u16.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp.extend_from_slice(payload);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
    let total = (20 + tcp.len()) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&A);
    ip.extend_from_slice(&B);
    ip.extend_from_slice(&tcp);
    let mut eth = vec![0u8; 12];
    eth.extend_from_slice(&[0x08, 0x00]);
    eth.extend_from_slice(&ip);
    eth.resize(eth.len().max(60), 0);
    eth
}

/// A little-endian legacy pcap (link type Ethernet) holding `frames`.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (i, fr) in frames.iter().enumerate() {
        f.extend_from_slice(&(i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(fr.len() as u32).to_le_bytes());
        f.extend_from_slice(&(fr.len() as u32).to_le_bytes());
        f.extend_from_slice(fr);
    }
    f
}

#[test]
fn messages_split_across_segments_are_reassembled_and_retransmits_dropped() {
    let open = message(1, 29);
    let ka = message(4, 19);
    let mut stream = open.clone();
    stream.extend_from_slice(&ka);
    let isn = 1000;
    let cap = pcap(&[
        eth_tcp(isn, 0x02, &[]),                      // SYN
        eth_tcp(isn + 1, 0x18, &stream[..10]),        // first 10 octets of the OPEN
        eth_tcp(isn + 1, 0x18, &stream[..10]),        // retransmit of the same
        eth_tcp(isn + 11, 0x18, &stream[10..]),       // the rest + the KEEPALIVE
        eth_tcp(isn + 1 + 48, 0x18, &message(4, 19)), // a second KEEPALIVE
    ]);
    let frames = bgp_frames_from_bytes(&cap).unwrap();
    assert_well_framed("synthetic", &frames);
    let types: Vec<u8> = frames.iter().map(Frame::msg_type).collect();
    assert_eq!(types, [1, 4, 4]);
    assert_eq!(frames[0].bytes.as_ref(), open.as_slice());
    assert_eq!(frames[0].src.to_string(), "10.0.0.1:40000");
    assert_eq!(frames[0].dst.port(), 179);
}

#[test]
fn out_of_order_segments_wait_for_the_gap() {
    let upd = message(2, 40);
    let cap = pcap(&[
        eth_tcp(5, 0x02, &[]),
        eth_tcp(6 + 20, 0x18, &upd[20..]), // second half first
        eth_tcp(6, 0x18, &upd[..20]),
    ]);
    let frames = bgp_frames_from_bytes(&cap).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].bytes.as_ref(), upd.as_slice());
}

#[test]
fn sequence_numbers_wrap_around() {
    let ka = message(4, 19);
    let cap = pcap(&[
        eth_tcp(u32::MAX - 5, 0x02, &[]),
        eth_tcp(u32::MAX - 4, 0x18, &ka[..10]),
        eth_tcp((u32::MAX - 4).wrapping_add(10), 0x18, &ka[10..]),
    ]);
    let frames = bgp_frames_from_bytes(&cap).unwrap();
    assert_eq!(frames.len(), 1);
}

#[test]
fn a_file_that_is_not_a_pcap_is_an_error() {
    assert!(bgp_frames_from_bytes(b"not a pcap at all, just text").is_err());
}
