//! Peak memory of the routing core per prefix: 1M IPv4 prefixes from one
//! eBGP peer, out to 10 iBGP peers of one export group, as in
//! `benches/rib.rs`.
//!
//! ```text
//! cargo run --release -p bgp --example rib_mem [prefixes] [add-path]
//! ```
//!
//! With `add-path`, the 10 iBGP peers negotiated ADD-PATH send (what Calico
//! configures with BIRD's `add paths on`).
//!
//! Reports peak RSS (VmHWM from /proc/self/status) over the process with
//! the RIB set up but empty, divided by the number of prefixes. The input
//! is generated and encoded 1000 prefixes at a time and the output dropped
//! after each call (as the daemon writes it to the sockets), so neither the
//! input table nor the output stream is counted: what remains is the RIB.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp::rib::{ExportPolicy, PeerId, PeerInfo, Rib, RibConfig};
use bgp::wire::attr::{AsPath, Community, MpNextHop, Origin, PathAttrs};
use bgp::wire::pack::pack_announcements;
use bgp::wire::{AfiSafi, EncodeCtx, Nlri, ParsedMessage, decode_message};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net};

const LOCAL_AS: u32 = 64512;

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn prefix(i: u32) -> Nlri {
    let net = if i % 4 == 3 {
        Ipv4Net::new(Ipv4Addr::from(0x6440_0000 | (i & 0x3f_ffff)), 32).unwrap()
    } else {
        // Distinct /24s from 1.0.0.0 up (750k of them reach 12.113/16).
        Ipv4Net::new(Ipv4Addr::from(0x0100_0000 + ((i - i / 4) << 8)), 24).unwrap()
    };
    Nlri::new(IpNet::V4(net))
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let add_path = std::env::args().nth(2).is_some_and(|a| a == "add-path");
    let ctx = EncodeCtx { four_octet_as: true, ..EncodeCtx::default() };
    let out_ctx = EncodeCtx {
        add_path: if add_path { vec![AfiSafi::IPV4_UNICAST] } else { Vec::new() },
        ..ctx.clone()
    };
    let mut rib = Rib::new(RibConfig::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 1)));
    let src_addr = Ipv4Addr::new(192, 0, 2, 1);
    rib.peer_up(
        PeerId(0),
        PeerInfo {
            export: ExportPolicy::all(),
            ..PeerInfo::new(IpAddr::V4(src_addr), 65001, LOCAL_AS, src_addr)
        },
    );
    for i in 1..=10u8 {
        let a = Ipv4Addr::new(10, 0, 0, 10 + i);
        let p = PeerInfo {
            local_addr_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            encode: out_ctx.clone(),
            export: ExportPolicy::all(),
            ..PeerInfo::new(IpAddr::V4(a), LOCAL_AS, LOCAL_AS, a)
        };
        rib.peer_up(PeerId(u32::from(i)), p);
    }
    let attrs = PathAttrs {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(vec![65001, 65010])),
        communities: vec![Community(0xfde9_0064)],
        ..PathAttrs::default()
    };
    let nh = MpNextHop::Ipv4(src_addr);

    if std::env::var_os("RIB_RESERVE").is_some() {
        // Not the default: the daemon does not know the table size ahead.
        rib.reserve_v4(n as usize);
    }
    let base = status_kib("VmHWM:");
    let t = Instant::now();
    let mut sent = 0usize;
    let mut i = 0;
    while i < n {
        let chunk: Vec<Nlri> = (i..(i + 1000).min(n)).map(prefix).collect();
        i += 1000;
        for f in pack_announcements(&attrs, AfiSafi::IPV4_UNICAST, nh, &chunk, &ctx).unwrap() {
            let Ok(ParsedMessage::Update(u)) = decode_message(&f, &ctx.peer_decode_ctx()) else {
                unreachable!()
            };
            let out = rib.update(PeerId(0), &u);
            sent += out.to_peers.iter().flat_map(|(_, m)| m).map(Bytes::len).sum::<usize>();
        }
    }
    let elapsed = t.elapsed();
    let peak = status_kib("VmHWM:");
    let rss = status_kib("VmRSS:");
    println!("add-path send   {add_path}");
    println!("prefixes        {}", rib.len());
    println!("attribute sets  {}", rib.attr_sets());
    println!("export groups   {}", rib.export_groups());
    println!("octets sent     {sent} (10 peers)");
    println!("time            {:.3} s", elapsed.as_secs_f64());
    println!("VmHWM base/peak {base} / {peak} KiB (VmRSS now {rss} KiB)");
    println!(
        "peak over empty {:.1} B/prefix",
        (peak.saturating_sub(base) * 1024) as f64 / f64::from(n.max(1))
    );
}
