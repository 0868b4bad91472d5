//! BGP messages out of a pcap: the golden bytes of real sessions.
//!
//! ```text
//!  pcap record -> link layer -> IPv4 | IPv6 -> TCP (port 179) -> per-direction byte
//!  (pcap-parser)  Ethernet,     (header      segment            stream, in sequence order
//!                 Linux SLL,     length,                         -> cut at the BGP header
//!                 SLL2, raw      total len)                         length: one Frame each
//! ```
//!
//! Each TCP direction is reassembled by sequence number: retransmitted bytes are
//! dropped, segments that arrive early wait until the gap is filled. The stream is
//! then cut into messages by the 2-octet length in the 19-octet BGP header
//! (RFC 4271 §4.1); the marker is not checked here, so tests can assert on it.
//! Frames come out in the order their last byte was captured.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use bytes::{Bytes, BytesMut};
use pcap_parser::PcapCapture;

/// One BGP message as sent on the wire, with the TCP endpoints that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The whole message: marker, length, type and body.
    pub bytes: Bytes,
}

impl Frame {
    /// The BGP message type (1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH).
    pub fn msg_type(&self) -> u8 {
        self.bytes.get(18).copied().unwrap_or(0)
    }
}

/// BGP's port; a TCP stream belongs to BGP when either end uses it.
const BGP_PORT: u16 = 179;
/// Smallest BGP message: the header alone (RFC 4271 §4.1).
const HEADER_LEN: usize = 19;

/// Reads the pcap at `path` and returns every BGP message in it. Panics with the path
/// on an unreadable or malformed file (a broken fixture is a test failure).
pub fn bgp_frames(path: impl AsRef<Path>) -> Vec<Frame> {
    let path = path.as_ref();
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    bgp_frames_from_bytes(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// [`bgp_frames`] over the bytes of a pcap file (legacy pcap, little-endian, as
/// tcpdump writes on x86).
pub fn bgp_frames_from_bytes(data: &[u8]) -> Result<Vec<Frame>, String> {
    let cap = PcapCapture::from_file(data).map_err(|e| format!("not a pcap file: {e:?}"))?;
    let linktype = cap.header.network.0;
    let mut streams: HashMap<(SocketAddr, SocketAddr), Stream> = HashMap::new();
    let mut frames = Vec::new();
    for block in &cap.blocks {
        let Some(ip) = link_payload(linktype, block.data)? else { continue };
        let Some(seg) = tcp_segment(ip) else { continue };
        if seg.src.port() != BGP_PORT && seg.dst.port() != BGP_PORT {
            continue;
        }
        let stream = streams.entry((seg.src, seg.dst)).or_default();
        stream.push(&seg);
        while let Some(bytes) = stream.next_message()? {
            frames.push(Frame { src: seg.src, dst: seg.dst, bytes });
        }
    }
    Ok(frames)
}

/// The network-layer packet inside a link-layer frame; `None` for non-IP frames.
fn link_payload(linktype: i32, frame: &[u8]) -> Result<Option<&[u8]>, String> {
    // (header length, offset of the 2-octet ethertype) per link type.
    let (hdr, ethertype_at) = match linktype {
        1 => {
            // Ethernet, possibly with one 802.1Q tag.
            let tagged = frame.get(12..14) == Some(&[0x81, 0x00]);
            if tagged { (18, 16) } else { (14, 12) }
        }
        113 => (16, 14), // LINUX_SLL (tcpdump -i any, older libpcap)
        276 => (20, 0),  // LINUX_SLL2 (tcpdump -i any, libpcap >= 1.10)
        101 | 12 | 14 | 228 | 229 => return Ok(Some(frame)), // raw IP
        other => return Err(format!("unsupported link type {other}")),
    };
    let Some(et) = frame.get(ethertype_at..ethertype_at + 2) else { return Ok(None) };
    match u16::from_be_bytes([et[0], et[1]]) {
        0x0800 | 0x86dd => Ok(frame.get(hdr..)),
        _ => Ok(None),
    }
}

/// A TCP segment's endpoints, sequence number, SYN flag and payload.
struct Segment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

/// Parses IPv4/IPv6 and TCP headers; `None` for anything else or anything truncated.
fn tcp_segment(ip: &[u8]) -> Option<Segment<'_>> {
    let version = ip.first()? >> 4;
    let (src, dst, tcp) = match version {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]);
            // Protocol TCP, and not a fragment (BGP sessions set DF; none expected).
            if *ip.get(9)? != 6 || frag & 0x3fff != 0 {
                return None;
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            // Total length, not the frame length: Ethernet pads short frames.
            let tcp = ip.get(ihl..total)?;
            (IpAddr::V4(Ipv4Addr::from(s)), IpAddr::V4(Ipv4Addr::from(d)), tcp)
        }
        6 => {
            let payload_len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            // Next header must be TCP directly: BGP traffic carries no extension headers.
            if *ip.get(6)? != 6 {
                return None;
            }
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let tcp = ip.get(40..40 + payload_len)?;
            (IpAddr::V6(Ipv6Addr::from(s)), IpAddr::V6(Ipv6Addr::from(d)), tcp)
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes([*tcp.first()?, *tcp.get(1)?]);
    let dport = u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?]);
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let data_off = usize::from(tcp.get(12)? >> 4) * 4;
    let syn = tcp.get(13)? & 0x02 != 0;
    Some(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        syn,
        payload: tcp.get(data_off..)?,
    })
}

/// One direction of a TCP connection being put back together.
#[derive(Default)]
struct Stream {
    /// The sequence number of the next byte we expect; unknown until a SYN or the
    /// first data segment.
    next_seq: Option<u32>,
    /// In-order bytes not yet cut into messages.
    buf: BytesMut,
    /// Segments that arrived ahead of a gap, by sequence number.
    early: BTreeMap<u32, Vec<u8>>,
}

impl Stream {
    fn push(&mut self, seg: &Segment<'_>) {
        if seg.syn {
            // A new connection on the same 4-tuple starts a fresh stream.
            *self = Stream { next_seq: Some(seg.seq.wrapping_add(1)), ..Stream::default() };
            return;
        }
        if seg.payload.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seg.seq);
        self.accept(next, seg.seq, seg.payload);
        // Fill from segments that were waiting for this gap.
        while let Some(next) = self.next_seq {
            let Some((&seq, _)) = self.early.iter().find(|(s, _)| !after(**s, next)) else { break };
            let data = self.early.remove(&seq).unwrap_or_default();
            self.accept(next, seq, &data);
        }
    }

    /// Appends the part of `data` (starting at `seq`) that is new; keeps it for later
    /// when it starts beyond `next`.
    fn accept(&mut self, next: u32, seq: u32, data: &[u8]) {
        if after(seq, next) {
            self.early.entry(seq).or_insert_with(|| data.to_vec());
            return;
        }
        // Bytes before `next` were seen already (a retransmit or an overlap).
        let seen = next.wrapping_sub(seq) as usize;
        if let Some(new) = data.get(seen..).filter(|n| !n.is_empty()) {
            self.buf.extend_from_slice(new);
            self.next_seq = Some(next.wrapping_add(new.len() as u32));
        }
    }

    /// Cuts the next complete message off the stream.
    fn next_message(&mut self) -> Result<Option<Bytes>, String> {
        let Some(len) = self.buf.get(16..18) else { return Ok(None) };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < HEADER_LEN {
            return Err(format!("BGP header with length {len} < 19: stream out of sync"));
        }
        if self.buf.len() < len {
            return Ok(None);
        }
        Ok(Some(self.buf.split_to(len).freeze()))
    }
}

/// Whether sequence number `a` is after `b`, modulo 2^32 (RFC 793 comparison).
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
