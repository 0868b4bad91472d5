//! Kernel notifications: routes, links and addresses, so repair is event-driven.
//!
//! One NETLINK_ROUTE socket joined to `RTNLGRP_IPV4_ROUTE`, `RTNLGRP_IPV6_ROUTE`,
//! `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and `RTNLGRP_IPV6_IFADDR`. BIRD polls the kernel
//! every 2 s (`scan time 2`); this replaces the poll.
//!
//! ```text
//!  ip route del P proto bird   --RTM_DELROUTE (nlmsg_pid = ip's port)-->  Route{deleted}
//!  our writer replaces P       --RTM_NEWROUTE (nlmsg_pid = writer port)--> Route{sender = ours}
//!  ip link set eth0 down       --RTM_NEWLINK-->                            Link
//!  queue overflow              --recv() = ENOBUFS-->                       Overflow (resync)
//! ```
//!
//! A notification caused by a request carries the requester's port id in `nlmsg_pid`,
//! so the consumer can ignore the echoes of its own writes. The kernel does not send
//! `RTM_DELROUTE` for IPv4 routes it flushes when a link goes down; a link event is the
//! signal to re-read the table.

use std::io;

use ipnet::IpNet;
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{AsyncSocket, AsyncSocketExt, TokioSocket, protocols::NETLINK_ROUTE};

use super::{Link, codec, link_of, node_addr};
use crate::learn::Alien;
use crate::policy::NodeAddr;
use crate::route::{KernelRoute, RouteKey};

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;

/// Something changed in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// A route was added, changed or removed.
    Route {
        /// Table and prefix.
        key: RouteKey,
        /// The route (as installed, or as it was before removal) if it has our protocol
        /// and a shape we model.
        route: Option<KernelRoute>,
        /// The route carries protocol 12.
        ours: bool,
        /// Another agent's route BIRD's kernel protocol would learn.
        alien: Option<Alien>,
        /// `RTM_DELROUTE`.
        deleted: bool,
        /// `RTA_PRIORITY` (0 when absent): with `key`, which kernel route this was.
        metric: u32,
        /// `nlmsg_pid` of the notification: the port id of the socket whose request
        /// caused it (0 for the kernel itself).
        sender: u32,
    },
    /// A link appeared, changed (MTU, up/down) or went away.
    Link {
        /// The link's state.
        link: Link,
        /// `RTM_DELLINK`.
        deleted: bool,
    },
    /// An address was added or removed.
    Addr {
        /// The address, `None` if it does not count as a node address (link-local).
        addr: Option<NodeAddr>,
        /// `RTM_DELADDR`.
        deleted: bool,
    },
    /// Notifications were lost (`ENOBUFS`): resynchronise from a dump.
    Overflow,
}

/// The notification socket.
pub struct Monitor {
    sock: TokioSocket,
    ignore: Option<u32>,
    buf: Vec<u8>,
    pending: std::collections::VecDeque<KernelEvent>,
}

impl Monitor {
    /// Opens the socket in the calling thread's namespace (inside a tokio runtime).
    pub fn open() -> io::Result<Monitor> {
        let mut sock = TokioSocket::new(NETLINK_ROUTE)?;
        let s = sock.socket_mut();
        s.bind_auto()?;
        for g in [
            RTNLGRP_LINK,
            RTNLGRP_IPV4_IFADDR,
            RTNLGRP_IPV4_ROUTE,
            RTNLGRP_IPV6_IFADDR,
            RTNLGRP_IPV6_ROUTE,
        ] {
            s.add_membership(g)?;
        }
        // A bulk install echoes one notification per route; a big queue rides most
        // bursts out, and an overflow is reported rather than lost.
        s.set_rx_buf_sz(32 * 1024 * 1024)?;
        Ok(Monitor {
            sock,
            ignore: None,
            buf: Vec::with_capacity(64 * 1024),
            pending: Default::default(),
        })
    }

    /// Leaves the route groups: the kernel stops building a notification per route for
    /// us. For a bulk write whose echo would overflow the socket anyway; the caller
    /// resyncs after [`resume_routes`](Self::resume_routes), since changes by others in
    /// between are not seen.
    pub fn pause_routes(&mut self) -> io::Result<()> {
        let s = self.sock.socket_mut();
        s.drop_membership(RTNLGRP_IPV4_ROUTE)?;
        s.drop_membership(RTNLGRP_IPV6_ROUTE)
    }

    /// Joins the route groups again.
    pub fn resume_routes(&mut self) -> io::Result<()> {
        let s = self.sock.socket_mut();
        s.add_membership(RTNLGRP_IPV4_ROUTE)?;
        s.add_membership(RTNLGRP_IPV6_ROUTE)
    }

    /// Drops route notifications caused by the socket with this port id (our own
    /// writer) before parsing them: a bulk install echoes every route.
    pub fn ignore_port(&mut self, port: u32) {
        self.ignore = Some(port);
    }

    /// The next event. Errors other than `ENOBUFS` end the stream (`None`).
    pub async fn next(&mut self) -> Option<KernelEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            self.buf.clear();
            match self.sock.recv(&mut self.buf).await {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Some(KernelEvent::Overflow);
                }
                Err(e) => {
                    tracing::error!("route monitor socket failed: {e}");
                    return None;
                }
            }
            parse_datagram(&self.buf, self.ignore, &mut self.pending);
        }
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

/// Turns every message of a notification datagram into events.
fn parse_datagram(
    mut buf: &[u8],
    ignore: Option<u32>,
    out: &mut std::collections::VecDeque<KernelEvent>,
) {
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            return;
        }
        // nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32.
        let pid = u32::from_ne_bytes([buf[12], buf[13], buf[14], buf[15]]);
        if Some(pid) == ignore {
            buf = buf.get((len + 3) & !3..).unwrap_or(&[]);
            continue;
        }
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
            let sender = msg.header.port_number;
            if let NetlinkPayload::InnerMessage(m) = msg.payload {
                out.extend(event_of(m, sender));
            }
        }
        buf = buf.get((len + 3) & !3..).unwrap_or(&[]);
    }
}

fn event_of(m: RouteNetlinkMessage, sender: u32) -> Option<KernelEvent> {
    use RouteNetlinkMessage as M;
    Some(match m {
        M::NewRoute(r) => route_event(&r, false, sender)?,
        M::DelRoute(r) => route_event(&r, true, sender)?,
        M::NewLink(l) => KernelEvent::Link { link: link_of(&l), deleted: false },
        M::DelLink(l) => KernelEvent::Link { link: link_of(&l), deleted: true },
        M::NewAddress(a) => KernelEvent::Addr { addr: node_addr(&a), deleted: false },
        M::DelAddress(a) => KernelEvent::Addr { addr: node_addr(&a), deleted: true },
        _ => return None,
    })
}

fn route_event(
    r: &rtnetlink::packet_route::route::RouteMessage,
    deleted: bool,
    sender: u32,
) -> Option<KernelEvent> {
    let prefix: IpNet = codec::prefix_of(r)?;
    let key = RouteKey { table: codec::table_of(r), prefix };
    let ours = codec::is_ours(r);
    let route = codec::parse_route(r);
    let alien = if ours { None } else { codec::parse_alien(r) };
    let metric = r
        .attributes
        .iter()
        .find_map(|a| match a {
            rtnetlink::packet_route::route::RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    Some(KernelEvent::Route { key, route, ours, alien, deleted, metric, sender })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::plan::Op;
    use crate::route::{Route, via};

    fn route() -> Route {
        via("10.244.1.0/26", "10.0.0.7", 2, 5)
    }

    /// A notification as the kernel would send it: our NEWROUTE with `nlmsg_pid` set.
    fn notification(op: &Op, pid: u32) -> Vec<u8> {
        let mut m = codec::op_request(op, 0, false);
        m.header.port_number = pid;
        let mut buf = vec![0; m.buffer_len()];
        m.serialize(&mut buf);
        buf
    }

    #[test]
    fn route_notification_becomes_an_event_with_its_sender() {
        let mut out = VecDeque::new();
        parse_datagram(&notification(&Op::Replace(route()), 4242), None, &mut out);
        assert_eq!(
            out.pop_front(),
            Some(KernelEvent::Route {
                key: route().key(),
                route: Some(route()),
                ours: true,
                alien: None,
                deleted: false,
                metric: 5,
                sender: 4242,
            })
        );
    }

    #[test]
    fn own_echoes_are_dropped_before_parsing() {
        let mut d = notification(&Op::Replace(route()), 7);
        d.extend(notification(&Op::Delete(route()), 8));
        let mut out = VecDeque::new();
        parse_datagram(&d, Some(7), &mut out);
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0], KernelEvent::Route { deleted: true, sender: 8, .. }));
    }

    #[test]
    fn truncated_or_garbled_datagrams_do_not_panic() {
        let d = notification(&Op::Replace(route()), 7);
        for cut in 0..d.len() {
            let mut out = VecDeque::new();
            parse_datagram(&d[..cut], None, &mut out);
            assert!(out.is_empty(), "partial message at {cut} produced {out:?}");
        }
        for i in 16..d.len() {
            let mut g = d.clone();
            g[i] ^= 0xff;
            parse_datagram(&g, None, &mut VecDeque::new());
        }
    }
}
