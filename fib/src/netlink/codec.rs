//! [`Route`] ↔ `RTM_NEWROUTE` / `RTM_DELROUTE` messages (netlink-packet-route 0.34,
//! through rtnetlink's re-export so the two versions cannot skew).
//!
//! ```text
//!  struct rtmsg   family | dst_len | src_len | tos | table | protocol=12 | scope | type | flags
//!  attributes     RTA_DST  RTA_TABLE (id > 255)  RTA_PRIORITY  RTA_GATEWAY + RTA_OIF
//!                 | RTA_MULTIPATH [rtnexthop{flags, ifindex} + RTA_GATEWAY]...
//! ```
//!
//! Parsing keeps only what [`Route`] models; a dumped route with another protocol, or of a
//! type we never install (local, unreachable...), is not ours and yields `None`.

use std::net::IpAddr;

use ipnet::IpNet;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::learn::{Alien, learnable};
use crate::plan::Op;
use crate::route::{NextHop, RTPROT_BIRD, Route, RouteKey, RouteKind};

fn addr(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

fn header(prefix: &IpNet, table: u32) -> (RouteHeader, Option<RouteAttribute>) {
    let mut h = RouteHeader {
        address_family: match prefix {
            IpNet::V4(_) => AddressFamily::Inet,
            IpNet::V6(_) => AddressFamily::Inet6,
        },
        destination_prefix_length: prefix.prefix_len(),
        protocol: RouteProtocol::from(RTPROT_BIRD),
        scope: RouteScope::Universe,
        kind: RouteType::Unicast,
        ..RouteHeader::default()
    };
    // rtmsg.rtm_table is a byte: ids above 255 travel in RTA_TABLE with the header at
    // RT_TABLE_UNSPEC, which is how the kernel and iproute2 do it.
    let extra = match u8::try_from(table) {
        Ok(t) => {
            h.table = t;
            None
        }
        Err(_) => {
            h.table = RouteHeader::RT_TABLE_UNSPEC;
            Some(RouteAttribute::Table(table))
        }
    };
    (h, extra)
}

/// The `RTM_NEWROUTE` body for `r`.
pub fn new_route_message(r: &Route) -> RouteMessage {
    let (mut h, table) = header(&r.prefix, r.table);
    let mut attrs = vec![RouteAttribute::Destination(addr(r.prefix.network()))];
    attrs.extend(table);
    if r.metric != 0 {
        attrs.push(RouteAttribute::Priority(r.metric));
    }
    match &r.kind {
        RouteKind::Blackhole => h.kind = RouteType::BlackHole,
        RouteKind::Via(hop) => {
            if hop.onlink {
                h.flags |= RouteFlags::Onlink;
            }
            attrs.push(RouteAttribute::Gateway(addr(hop.gateway)));
            attrs.push(RouteAttribute::Oif(hop.dev));
        }
        RouteKind::Multipath(hops) => {
            let nhs = hops
                .iter()
                .map(|hop| {
                    let mut nh = RouteNextHop::default();
                    nh.interface_index = hop.dev;
                    if hop.onlink {
                        nh.flags |= RouteNextHopFlags::Onlink;
                    }
                    nh.attributes.push(RouteAttribute::Gateway(addr(hop.gateway)));
                    nh
                })
                .collect();
            attrs.push(RouteAttribute::MultiPath(nhs));
        }
    }
    let mut m = RouteMessage::default();
    m.header = h;
    m.attributes = attrs;
    m
}

/// The `RTM_DELROUTE` body for `r`: key, metric and protocol only, with type and scope
/// left open (as `ip route del` does) so a blackhole is matched too.
pub fn del_route_message(r: &Route) -> RouteMessage {
    let (mut h, table) = header(&r.prefix, r.table);
    h.kind = RouteType::Unspec;
    h.scope = RouteScope::NoWhere;
    let mut m = RouteMessage::default();
    m.header = h;
    m.attributes.push(RouteAttribute::Destination(addr(r.prefix.network())));
    m.attributes.extend(table);
    if r.metric != 0 {
        m.attributes.push(RouteAttribute::Priority(r.metric));
    }
    m
}

/// The full netlink request for an op, with `seq` and, when `ack`, `NLM_F_ACK`.
pub fn op_request(op: &Op, seq: u32, ack: bool) -> NetlinkMessage<RouteNetlinkMessage> {
    let (body, flags) = match op {
        Op::Replace(r) => (
            RouteNetlinkMessage::NewRoute(new_route_message(r)),
            NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE,
        ),
        Op::Delete(r) => (RouteNetlinkMessage::DelRoute(del_route_message(r)), NLM_F_REQUEST),
    };
    let mut msg = NetlinkMessage::from(body);
    msg.header.flags = flags | if ack { NLM_F_ACK } else { 0 };
    msg.header.sequence_number = seq;
    msg.finalize();
    msg
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// The table a dumped route is in: `RTA_TABLE` when present (the header says 252 for
/// ids above 255), else the header byte.
pub fn table_of(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table))
}

/// The destination prefix of a route message (`RTA_DST`, or the default route).
pub fn prefix_of(m: &RouteMessage) -> Option<IpNet> {
    let len = m.header.destination_prefix_length;
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => ip_of(d),
        _ => None,
    });
    let ip = match (dst, m.header.address_family) {
        (Some(ip), _) => ip,
        (None, AddressFamily::Inet) => IpAddr::V4(0.into()),
        (None, AddressFamily::Inet6) => IpAddr::V6(0.into()),
        (None, _) => return None,
    };
    IpNet::new(ip, len).ok().map(|n| n.trunc())
}

/// Whether the message carries our protocol (12).
pub fn is_ours(m: &RouteMessage) -> bool {
    u8::from(m.header.protocol) == RTPROT_BIRD
}

/// `RTPROT_UNSPEC`, `RTPROT_REDIRECT`, `RTPROT_KERNEL`: never learned (BIRD skips the
/// first two and ignores the kernel's own connected-subnet routes).
const NOT_LEARNED: [u8; 3] = [0, 1, 2];

/// Parses a dumped or notified route of another agent's that BIRD's kernel protocol
/// would learn (see [`crate::learn`]); `None` for ours and for what BIRD skips.
pub fn parse_alien(m: &RouteMessage) -> Option<Alien> {
    let proto = u8::from(m.header.protocol);
    if proto == RTPROT_BIRD || NOT_LEARNED.contains(&proto) {
        return None;
    }
    let unicast = match m.header.kind {
        RouteType::Unicast => true,
        RouteType::BlackHole | RouteType::Unreachable | RouteType::Prohibit => false,
        _ => return None,
    };
    if m.header.tos != 0 || m.header.source_prefix_length != 0 {
        return None;
    }
    let prefix = prefix_of(m)?;
    if !learnable(prefix) {
        return None;
    }
    let mut metric = 0;
    let mut oif = None;
    let mut multipath = false;
    for a in &m.attributes {
        match a {
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(_) => multipath = true,
            RouteAttribute::Iif(_) => return None,
            _ => {}
        }
    }
    let dev = if unicast && !multipath { oif } else { None };
    Some(Alien { key: RouteKey { table: table_of(m), prefix }, metric, dev })
}

/// Parses a dumped or notified route of ours; `None` for other protocols and shapes.
pub fn parse_route(m: &RouteMessage) -> Option<Route> {
    if !is_ours(m) {
        return None;
    }
    let prefix = prefix_of(m)?;
    let mut metric = 0;
    let mut gateway = None;
    let mut oif = None;
    let mut multipath = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Gateway(g) => gateway = ip_of(g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(v) => multipath = Some(v),
            _ => {}
        }
    }
    let kind = match m.header.kind {
        RouteType::BlackHole => RouteKind::Blackhole,
        RouteType::Unicast => match multipath {
            Some(nhs) => {
                let hops = nhs
                    .iter()
                    .filter_map(|nh| {
                        let gw = nh.attributes.iter().find_map(|a| match a {
                            RouteAttribute::Gateway(g) => ip_of(g),
                            _ => None,
                        })?;
                        Some(NextHop {
                            gateway: gw,
                            dev: nh.interface_index,
                            onlink: nh.flags.contains(RouteNextHopFlags::Onlink),
                        })
                    })
                    .collect();
                RouteKind::from_hops(hops)?
            }
            None => RouteKind::Via(NextHop {
                gateway: gateway?,
                dev: oif?,
                onlink: m.header.flags.contains(RouteFlags::Onlink),
            }),
        },
        _ => return None,
    };
    Some(Route { prefix, kind, table: table_of(m), metric })
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_core::{NLM_F_ACK, NetlinkPayload};

    use super::*;
    use crate::route::MAIN_TABLE;

    fn via(prefix: &str, gw: &str, dev: u32, onlink: bool, table: u32, metric: u32) -> Route {
        Route {
            prefix: prefix.parse().unwrap(),
            kind: RouteKind::Via(NextHop { gateway: gw.parse().unwrap(), dev, onlink }),
            table,
            metric,
        }
    }

    fn round_trip(r: &Route) -> Option<Route> {
        let msg = op_request(&Op::Replace(r.clone()), 7, false);
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        let back = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf).unwrap();
        match back.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(m)) => parse_route(&m),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_shape_round_trips_through_the_wire() {
        let hop = |gw: &str, dev, onlink| NextHop { gateway: gw.parse().unwrap(), dev, onlink };
        let routes = [
            via("10.244.1.0/26", "10.0.0.7", 2, false, MAIN_TABLE, 0),
            via("10.244.1.0/26", "10.1.0.7", 9, true, MAIN_TABLE, 0),
            via("10.244.1.0/26", "10.0.0.7", 2, false, 1000, 50),
            via("fd10::/122", "fd00::7", 2, false, MAIN_TABLE, 1024),
            Route {
                prefix: "10.244.2.0/26".parse().unwrap(),
                kind: RouteKind::Blackhole,
                table: MAIN_TABLE,
                metric: 0,
            },
            Route {
                prefix: "10.96.0.10/32".parse().unwrap(),
                kind: RouteKind::from_hops(vec![
                    hop("10.0.0.7", 2, false),
                    hop("10.1.0.7", 9, true),
                ])
                .unwrap(),
                table: MAIN_TABLE,
                metric: 0,
            },
            Route {
                prefix: "0.0.0.0/0".parse().unwrap(),
                kind: RouteKind::Via(hop("10.0.0.1", 2, false)),
                table: MAIN_TABLE,
                metric: 0,
            },
        ];
        for r in &routes {
            assert_eq!(round_trip(r).as_ref(), Some(r), "{r}");
        }
    }

    #[test]
    fn replace_request_carries_create_replace_and_proto_bird() {
        let r = via("10.244.1.0/26", "10.0.0.7", 2, false, MAIN_TABLE, 0);
        let msg = op_request(&Op::Replace(r), 42, true);
        assert_eq!(msg.header.flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
        assert_eq!(msg.header.sequence_number, 42);
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        // struct rtmsg starts after the 16-octet nlmsghdr; rtm_protocol is its 6th octet.
        assert_eq!(buf[16 + 5], 12);
        assert_eq!(buf[16 + 4], 254, "table main in the header byte");
    }

    #[test]
    fn large_table_ids_travel_in_rta_table() {
        let r = via("10.244.1.0/26", "10.0.0.7", 2, false, 1000, 0);
        let m = new_route_message(&r);
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
    }

    #[test]
    fn delete_matches_any_type_and_names_no_next_hop() {
        let r = Route {
            kind: RouteKind::Blackhole,
            ..via("10.244.1.0/26", "10.0.0.7", 2, false, 254, 5)
        };
        let m = del_route_message(&r);
        assert_eq!(m.header.kind, RouteType::Unspec);
        assert_eq!(u8::from(m.header.protocol), 12);
        assert!(m.attributes.contains(&RouteAttribute::Priority(5)));
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Gateway(_) | RouteAttribute::Oif(_)))
        );
    }

    #[test]
    fn other_protocols_are_not_ours() {
        let mut m = new_route_message(&via("10.244.1.0/26", "10.0.0.7", 2, false, 254, 0));
        m.header.protocol = RouteProtocol::Kernel;
        assert_eq!(parse_route(&m), None);
    }

    #[test]
    fn felix_workload_routes_are_learned_and_the_kernels_own_are_not() {
        // `10.244.2.7 dev cali1234 scope link proto 80 metric 1024`.
        let mut m = new_route_message(&via("10.244.2.7/32", "10.0.0.7", 9, false, 254, 1024));
        m.header.protocol = RouteProtocol::Other(80);
        m.header.scope = RouteScope::Link;
        m.attributes.retain(|a| !matches!(a, RouteAttribute::Gateway(_)));
        let a = parse_alien(&m).unwrap();
        assert_eq!((a.key.prefix.to_string(), a.key.table), ("10.244.2.7/32".into(), 254));
        assert_eq!((a.metric, a.dev), (1024, Some(9)));
        for proto in [RouteProtocol::Kernel, RouteProtocol::Unspec, RouteProtocol::IcmpRedirect] {
            m.header.protocol = proto;
            assert_eq!(parse_alien(&m), None, "{proto:?}");
        }
        m.header.protocol = RouteProtocol::Boot;
        m.header.kind = RouteType::Local;
        assert_eq!(parse_alien(&m), None, "local routes are not learned");
        m.header.kind = RouteType::BlackHole;
        assert_eq!(parse_alien(&m).unwrap().dev, None, "a blackhole has no device");
        // Ours are never learned.
        let ours = new_route_message(&via("10.244.2.0/26", "10.0.0.7", 2, false, 254, 0));
        assert_eq!(parse_alien(&ours), None);
    }

    #[test]
    fn zebra_nhid_attribute_is_ignored() {
        let r = via("10.244.1.0/26", "10.0.0.7", 2, false, 254, 0);
        let mut m = new_route_message(&r);
        m.attributes.push(RouteAttribute::NhId(17));
        assert_eq!(parse_route(&m), Some(r));
    }
}
