//! Talking to the kernel: route codec, batched writer, dumps, monitor, tunnel devices.
//!
//! Everything here opens its sockets in the network namespace of the calling thread,
//! so a test (or the daemon) picks the namespace by where it calls [`Kernel::open`].
//!
//! | module | what |
//! |---|---|
//! | [`codec`] | [`Route`](crate::route::Route) ↔ `RTM_NEWROUTE` / `RTM_DELROUTE` |
//! | [`writer`] | batched netlink-sys writer; rtnetlink pipeline |
//! | [`dump`] | our routes dumped one datagram at a time |
//! | [`monitor`] | route, link and address notifications as [`KernelEvent`](monitor::KernelEvent)s |
//! | [`tunnel`] | `vxlan.calico`, `tunl0`, VTEP neighbour and FDB entries |

pub mod codec;
pub mod dump;
pub mod monitor;
pub mod tunnel;
pub mod writer;

use std::io;
use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::route::{RouteAttribute, RouteHeader, RouteMessage, RouteType};
use rtnetlink::sys::AsyncSocket;

use crate::learn::Alien;
use crate::policy::{NodeAddr, UnderlayRoute};
use crate::route::{IfIndex, KernelRoute};

/// Errors from the netlink side, with the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// Opening or configuring a socket.
    #[error("netlink socket: {0}")]
    Socket(#[from] io::Error),
    /// A request the kernel refused.
    #[error("{what}: {source}")]
    Request {
        /// What we asked for.
        what: String,
        /// rtnetlink's error.
        source: rtnetlink::Error,
    },
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, NetlinkError>;

fn req(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
    let what = what.into();
    move |source| NetlinkError::Request { what, source }
}

/// An rtnetlink connection (strict checking on, so dumps are filtered by the kernel)
/// whose driver runs as a tokio task.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The rtnetlink handle; `Clone` and shareable.
    pub handle: rtnetlink::Handle,
}

/// One interface as the FIB cares about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: IfIndex,
    /// Name.
    pub name: String,
    /// MTU.
    pub mtu: u32,
    /// Administratively up.
    pub up: bool,
    /// `IFLA_INFO_KIND` (`vxlan`, `veth`, `ipip`...), if any.
    pub kind: Option<String>,
}

impl Kernel {
    /// Opens the connection in the calling thread's namespace and spawns its driver.
    /// Must be called inside a tokio runtime.
    pub fn open() -> Result<Kernel> {
        let (mut conn, handle, _) = rtnetlink::new_connection()?;
        let sock = conn.socket_mut().socket_mut();
        sock.set_netlink_get_strict_chk(true)?;
        sock.set_rx_buf_sz(8 * 1024 * 1024)?;
        tokio::spawn(conn);
        Ok(Kernel { handle })
    }

    /// Every route of `table` in one dump (kernel-side filter on the table): ours
    /// (protocol 12), and the others' that BIRD's kernel protocol would learn (see
    /// [`crate::learn`]). One pass where a dump of ours ([`dump::RouteDumper`]) and one for learning
    /// would each walk a full table.
    pub async fn dump_table(&self, table: u32) -> Result<(Vec<KernelRoute>, Vec<Alien>)> {
        let mut ours = Vec::new();
        let mut out = Vec::new();
        for fam in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut filter = RouteMessage::default();
            filter.header.address_family = fam;
            filter.header.kind = RouteType::Unspec;
            match u8::try_from(table) {
                Ok(t) => filter.header.table = t,
                Err(_) => {
                    filter.header.table = RouteHeader::RT_TABLE_UNSPEC;
                    filter.attributes.push(RouteAttribute::Table(table));
                }
            }
            let mut s = self.handle.route().get(filter).execute();
            while let Some(m) = s.try_next().await.map_err(req("dump the table"))? {
                // The kernel filters with strict checking; check again in case it did not.
                if codec::table_of(&m) != table {
                    continue;
                }
                if let Some(r) = codec::parse_route(&m) {
                    ours.push(r);
                } else if let Some(a) = codec::parse_alien(&m) {
                    out.push(a);
                }
            }
        }
        Ok((ours, out))
    }

    /// Non-BGP unicast routes of the main table, for resolving next hops that are not on
    /// a connected subnet (default route, static routes to other racks).
    pub async fn dump_underlay(&self) -> Result<Vec<UnderlayRoute>> {
        let mut out = Vec::new();
        for fam in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut filter = RouteMessage::default();
            filter.header.address_family = fam;
            filter.header.table = RouteHeader::RT_TABLE_MAIN;
            filter.header.kind = RouteType::Unicast;
            let mut s = self.handle.route().get(filter).execute();
            while let Some(m) = s.try_next().await.map_err(req("dump underlay routes"))? {
                if codec::is_ours(&m) || m.header.kind != RouteType::Unicast {
                    continue;
                }
                let Some(dst) = codec::prefix_of(&m) else { continue };
                let mut dev = None;
                let mut via = None;
                for a in &m.attributes {
                    match a {
                        RouteAttribute::Oif(i) => dev = Some(*i),
                        RouteAttribute::Gateway(g) => via = ip_of_route_addr(g),
                        _ => {}
                    }
                }
                if let Some(dev) = dev {
                    out.push(UnderlayRoute { dst, dev, via });
                }
            }
        }
        Ok(out)
    }

    /// The node's addresses with their prefix lengths (link-local IPv6 left out).
    pub async fn dump_addrs(&self) -> Result<Vec<NodeAddr>> {
        let mut out = Vec::new();
        let mut s = self.handle.address().get().execute();
        while let Some(m) = s.try_next().await.map_err(req("dump addresses"))? {
            if let Some(a) = node_addr(&m) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// All links.
    pub async fn dump_links(&self) -> Result<Vec<Link>> {
        let mut out = Vec::new();
        let mut s = self.handle.link().get().execute();
        while let Some(m) = s.try_next().await.map_err(req("dump links"))? {
            out.push(link_of(&m));
        }
        Ok(out)
    }

    /// The link called `name`, if it exists.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>> {
        let mut s = self.handle.link().get().match_name(name.to_string()).execute();
        match s.try_next().await {
            Ok(m) => Ok(m.map(|m| link_of(&m))),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
            Err(e) => Err(req(format!("get link {name}"))(e)),
        }
    }
}

fn ip_of_route_addr(a: &rtnetlink::packet_route::route::RouteAddress) -> Option<IpAddr> {
    use rtnetlink::packet_route::route::RouteAddress;
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// The node address an address message describes (`None` for link-local IPv6 and
/// loopback, which never decide CrossSubnet).
pub fn node_addr(m: &AddressMessage) -> Option<NodeAddr> {
    let ip = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    })?;
    let bad = match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.is_unicast_link_local(),
    };
    if bad {
        return None;
    }
    let net = IpNet::new(ip, m.header.prefix_len).ok()?;
    Some(NodeAddr { net, dev: m.header.index })
}

/// The fields of a link message the FIB uses.
pub fn link_of(m: &LinkMessage) -> Link {
    use rtnetlink::packet_route::link::{InfoKind, LinkInfo};
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        mtu: 0,
        up: m.header.flags.contains(LinkFlags::Up),
        kind: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name.clone_from(n),
            LinkAttribute::Mtu(v) => l.mtu = *v,
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        l.kind = Some(match k {
                            InfoKind::Other(s) => s.clone(),
                            k => k.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    l
}
