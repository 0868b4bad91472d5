//! A dump of our routes (protocol 12, every table) read one datagram at a time and
//! handed over route by route, so that a full table is never held in memory twice.
//!
//! rtnetlink's dump reads the socket until it would block, and during a dump the
//! kernel refills it on every read: a million-route dump was parsed into a million
//! `RouteMessage`s queued at once (hundreds of bytes each) before the first was
//! looked at. Here the reader is synchronous, keeps one receive buffer, and each
//! message is parsed and passed on before the next datagram is read.
//!
//! ```text
//!  send  RTM_GETROUTE NLM_F_DUMP, rtm_protocol = 12 (strict checking: the kernel filters)
//!  recv  [NEWROUTE | NEWROUTE | ...]  -> parse_route -> each(route)
//!  ...
//!  recv  [NLMSG_DONE]                 -> next family
//! ```

use std::io;

use rtnetlink::packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::route::{RouteHeader, RouteMessage, RouteProtocol, RouteType};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::codec::parse_route;
use crate::route::{RTPROT_BIRD, Route};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// A synchronous NETLINK_ROUTE socket for dumps, in the network namespace of the
/// thread that opened it.
#[derive(Debug)]
pub struct RouteDumper {
    sock: Socket,
    seq: u32,
    rx: Vec<u8>,
}

impl RouteDumper {
    /// Opens and binds the socket.
    pub fn open() -> io::Result<RouteDumper> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        // The kernel then honours the protocol in the request header.
        sock.set_netlink_get_strict_chk(true)?;
        Ok(RouteDumper { sock, seq: 1, rx: Vec::with_capacity(256 * 1024) })
    }

    /// Calls `each` with every route of ours the kernel holds, IPv4 then IPv6.
    pub fn ours(&mut self, mut each: impl FnMut(Route)) -> io::Result<()> {
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut filter = RouteMessage::default();
            filter.header.address_family = family;
            filter.header.protocol = RouteProtocol::from(RTPROT_BIRD);
            filter.header.table = RouteHeader::RT_TABLE_UNSPEC;
            filter.header.kind = RouteType::Unspec;
            let mut req = NetlinkMessage::from(RouteNetlinkMessage::GetRoute(filter));
            req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
            req.header.sequence_number = self.seq;
            self.seq = self.seq.wrapping_add(1);
            req.finalize();
            let mut buf = vec![0; req.buffer_len()];
            req.serialize(&mut buf);
            self.sock.send_to(&buf, &SocketAddr::new(0, 0), 0)?;
            while !self.read_one(&mut each)? {}
        }
        Ok(())
    }

    /// Reads one datagram and passes its routes on; true once the dump is done.
    fn read_one(&mut self, each: &mut impl FnMut(Route)) -> io::Result<bool> {
        self.rx.clear();
        self.sock.recv(&mut self.rx, 0)?;
        walk(&self.rx, each)
    }
}

/// Passes on the routes of one dump datagram; true at `NLMSG_DONE`. A short or odd
/// datagram ends the walk; an `NLMSG_ERROR` is the dump's failure.
fn walk(mut buf: &[u8], each: &mut impl FnMut(Route)) -> io::Result<bool> {
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        match u16::from_ne_bytes([buf[4], buf[5]]) {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let code =
                    buf.get(16..20).map_or(0, |s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
            }
            _ => {
                if let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
                    if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) =
                        m.payload
                    {
                        if let Some(route) = parse_route(&r) {
                            each(route);
                        }
                    }
                }
            }
        }
        buf = buf.get((len + 3) & !3..).unwrap_or(&[]);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Op;
    use crate::route::via;

    fn route(prefix: &str) -> Route {
        via(prefix, "10.0.0.7", 2, 0)
    }

    /// A datagram of NEWROUTE messages as a dump sends them, then `tail`.
    fn datagram(routes: &[Route], tail: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        for r in routes {
            let mut m = NetlinkMessage::from(RouteNetlinkMessage::NewRoute(
                super::super::codec::new_route_message(r),
            ));
            m.finalize();
            let at = buf.len();
            buf.resize(at + m.buffer_len(), 0);
            m.serialize(&mut buf[at..]);
        }
        buf.extend_from_slice(tail);
        buf
    }

    fn done() -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0..4].copy_from_slice(&20u32.to_ne_bytes());
        h[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        h
    }

    #[test]
    fn every_route_of_a_datagram_is_handed_over_and_done_ends_the_dump() {
        let rs = [route("10.0.1.0/24"), route("10.0.2.0/24")];
        let mut got = Vec::new();
        assert!(!walk(&datagram(&rs, &[]), &mut |r| got.push(r)).unwrap());
        assert_eq!(got, rs);
        assert!(walk(&datagram(&[], &done()), &mut |_| {}).unwrap());
        let _ = Op::Delete(route("10.0.1.0/24"));
    }

    #[test]
    fn an_error_reply_fails_the_dump_and_garbage_does_not_panic() {
        let mut e = vec![0u8; 36];
        e[0..4].copy_from_slice(&36u32.to_ne_bytes());
        e[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        e[16..20].copy_from_slice(&(-libc::EINVAL).to_ne_bytes());
        assert!(walk(&e, &mut |_| {}).is_err());
        for junk in [&[0xffu8; 7][..], &[0x10, 0, 0, 0, 0, 0][..], &[0xff; 40][..]] {
            let _ = walk(junk, &mut |_| {});
        }
    }
}
