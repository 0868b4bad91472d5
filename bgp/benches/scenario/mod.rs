//! The full-table scenario the RIB benchmarks share: 1M IPv4 prefixes from
//! one eBGP peer out to 10 iBGP peers of one export group, with or without
//! one Calico `BGPFilter` of 20 import and 20 export rules on every peer.

use std::net::{IpAddr, Ipv4Addr};

use bgp::config::BgpFilter;
use bgp::config::NextHopMode;
use bgp::rib::filter::PeerFilters;
use bgp::rib::{ExportPolicy, PeerId, PeerInfo, Rib, RibConfig};
use bgp::wire::attr::{AsPath, Community, MpNextHop, Origin, PathAttrs};
use bgp::wire::pack::pack_announcements;
use bgp::wire::{AfiSafi, EncodeCtx, Nlri, ParsedMessage, ParsedUpdate, decode_message};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net};

pub const N: u32 = 1_000_000;
pub const LOCAL_AS: u32 = 64512;

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

pub fn ctx() -> EncodeCtx {
    EncodeCtx { four_octet_as: true, ..EncodeCtx::default() }
}

/// The full table as the eBGP peer sends it: 4096-octet UPDATEs.
pub fn frames() -> Vec<Bytes> {
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

/// `frames` decoded once, for the cases that leave decoding out.
pub fn parsed(frames: &[Bytes]) -> Vec<ParsedUpdate> {
    let c = ctx();
    frames
        .iter()
        .map(|f| match decode_message(f, &c.peer_decode_ctx()) {
            Ok(ParsedMessage::Update(u)) => u,
            _ => unreachable!(),
        })
        .collect()
}

/// One filter of 20 import and 20 export rules none of the benchmark's
/// routes match: prefixes elsewhere (198.18.0.0/19, close together),
/// communities, AS_PATH prefixes and priorities they do not have.
pub fn twenty_rules() -> PeerFilters {
    rules_with(|i| format!("198.18.{i}.0/24"))
}

/// [`twenty_rules`] with the prefixes far apart (198.18.0.0/24,
/// 23.4.0.0/16, ...), so that no route can skip their tests at once.
pub fn twenty_rules_spread() -> PeerFilters {
    rules_with(|i| if i % 8 == 0 { format!("198.18.{i}.0/24") } else { format!("23.{i}.0.0/16") })
}

fn rules_with(cidr: impl Fn(u32) -> String) -> PeerFilters {
    let mut text = String::from("[[filters]]\nname = \"bench\"\n");
    for list in ["import_v4", "export_v4"] {
        for i in 0..20 {
            let fields = match i % 4 {
                0 => format!("cidr = \"{}\"\nmatch_operator = \"In\"", cidr(i)),
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

/// The eBGP source (peer 0) and the 10 iBGP peers, each with `filters`.
pub fn setup_with(add_path: bool, filters: &PeerFilters) -> Rib {
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
            encode: EncodeCtx {
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

/// Feeds the parsed UPDATEs, counting the octets handed to the 10 peers.
pub fn run_parsed(updates: &[ParsedUpdate], filters: &PeerFilters) -> (Rib, usize) {
    let mut rib = setup_with(false, filters);
    let mut sent = 0;
    for u in updates {
        let out = rib.update(PeerId(0), u);
        sent += out.to_peers.iter().flat_map(|(_, m)| m).map(Bytes::len).sum::<usize>();
    }
    (rib, sent)
}
