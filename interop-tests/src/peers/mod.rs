//! Real BGP speakers as test peers: config builders plus control helpers.
//!
//! Each daemon module has a config builder (`FrrConfig`, `BirdConfig`, `GobgpConfig`,
//! `ExabgpConfig`) taking the same [`Neighbor`] and [`Route`] values, and a running
//! handle implementing [`Peer`]. Config is rendered to the daemon's own syntax, so a
//! failing test's work dir shows exactly what the daemon was given.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::{Result, err, wait_until};

pub mod bird;
pub mod exabgp;
pub mod frr;
pub mod gobgp;

/// Address family (AFI/SAFI) carried on a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 unicast (1/1).
    Ipv4Unicast,
    /// IPv6 unicast (2/1).
    Ipv6Unicast,
}

/// ADD-PATH (RFC 7911) capability to advertise for each family of a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddPath {
    /// Don't advertise ADD-PATH (where the daemon allows turning it off).
    #[default]
    Off,
    /// Send multiple paths.
    Send,
    /// Receive multiple paths.
    Receive,
    /// Send and receive.
    Both,
}

impl AddPath {
    /// Whether this includes sending.
    pub fn sends(self) -> bool {
        matches!(self, AddPath::Send | AddPath::Both)
    }
    /// Whether this includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, AddPath::Receive | AddPath::Both)
    }
}

/// A BGP neighbor as every daemon module understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's AS.
    pub remote_asn: u32,
    /// Wait for the peer to connect (don't dial out).
    pub passive: bool,
    /// Families to negotiate; empty means the address's own family only.
    pub families: Vec<Family>,
    /// ADD-PATH for every family.
    pub add_path: AddPath,
    /// Extended next hop (RFC 8950): IPv4 NLRI with IPv6 next hops.
    pub ext_next_hop: bool,
    /// This neighbor is a route-reflector client of ours.
    pub rr_client: bool,
    /// Our source address for the session (some daemons need it).
    pub local_address: Option<IpAddr>,
}

impl Neighbor {
    /// A neighbor with defaults: active, its own family, no ADD-PATH.
    pub fn new(address: IpAddr, remote_asn: u32) -> Neighbor {
        Neighbor {
            address,
            remote_asn,
            passive: false,
            families: Vec::new(),
            add_path: AddPath::Off,
            ext_next_hop: false,
            rr_client: false,
            local_address: None,
        }
    }

    /// Don't dial out.
    pub fn passive(mut self) -> Self {
        self.passive = true;
        self
    }

    /// Sets the families.
    pub fn families(mut self, f: &[Family]) -> Self {
        self.families = f.to_vec();
        self
    }

    /// Sets ADD-PATH.
    pub fn add_path(mut self, a: AddPath) -> Self {
        self.add_path = a;
        self
    }

    /// Enables extended next hop.
    pub fn ext_next_hop(mut self) -> Self {
        self.ext_next_hop = true;
        self
    }

    /// Marks the neighbor as our route-reflector client.
    pub fn rr_client(mut self) -> Self {
        self.rr_client = true;
        self
    }

    /// Sets our source address.
    pub fn local_address(mut self, a: IpAddr) -> Self {
        self.local_address = Some(a);
        self
    }

    /// The families to configure: the explicit list, or the address's own family.
    pub fn effective_families(&self) -> Vec<Family> {
        if !self.families.is_empty() {
            return self.families.clone();
        }
        vec![if self.address.is_ipv4() { Family::Ipv4Unicast } else { Family::Ipv6Unicast }]
    }
}

/// A route to originate, with optional attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix.
    pub prefix: IpNet,
    /// Standard communities (RFC 1997) as `(asn, value)`.
    pub communities: Vec<(u16, u16)>,
    /// Large communities (RFC 8092).
    pub large_communities: Vec<(u32, u32, u32)>,
    /// Route-target extended communities (RFC 4360, 2-octet AS specific) as `(asn, value)`.
    pub ext_communities_rt: Vec<(u16, u32)>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (only sent on iBGP).
    pub local_pref: Option<u32>,
}

impl Route {
    /// A route for `prefix` (like `"10.1.0.0/24"`) with no attributes; panics on a bad
    /// prefix (test setup).
    pub fn new(prefix: &str) -> Route {
        let prefix: IpNet =
            prefix.parse().unwrap_or_else(|e| panic!("bad prefix {prefix:?} in test: {e}"));
        Route {
            prefix,
            communities: Vec::new(),
            large_communities: Vec::new(),
            ext_communities_rt: Vec::new(),
            med: None,
            local_pref: None,
        }
    }

    /// Adds a community.
    pub fn community(mut self, asn: u16, value: u16) -> Self {
        self.communities.push((asn, value));
        self
    }

    /// Adds a large community.
    pub fn large_community(mut self, a: u32, b: u32, c: u32) -> Self {
        self.large_communities.push((a, b, c));
        self
    }

    /// Adds a route-target extended community.
    pub fn ext_community_rt(mut self, asn: u16, value: u32) -> Self {
        self.ext_communities_rt.push((asn, value));
        self
    }

    /// Sets MED.
    pub fn med(mut self, med: u32) -> Self {
        self.med = Some(med);
        self
    }

    /// Sets LOCAL_PREF.
    pub fn local_pref(mut self, lp: u32) -> Self {
        self.local_pref = Some(lp);
        self
    }

    /// Whether any attribute beyond the prefix is set.
    pub fn has_attributes(&self) -> bool {
        !self.communities.is_empty()
            || !self.large_communities.is_empty()
            || !self.ext_communities_rt.is_empty()
            || self.med.is_some()
            || self.local_pref.is_some()
    }
}

/// A route a daemon has learned (or holds), as read back from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedRoute {
    /// The prefix.
    pub prefix: IpNet,
    /// The next hop, when the daemon shows one.
    pub next_hop: Option<IpAddr>,
}

/// What the tests need from a running peer.
pub trait Peer {
    /// Whether the session with `peer` is Established.
    fn established(&self, peer: IpAddr) -> Result<bool>;
    /// Routes in the daemon's BGP RIB (both families).
    fn routes(&self) -> Result<Vec<LearnedRoute>>;
    /// Everything useful for a failure message: sessions, routes, log tail.
    fn dump_state(&self) -> String;

    /// Waits until the session with `peer` is Established; the error has the dump.
    fn wait_established(&self, peer: IpAddr, timeout: Duration) -> Result<()> {
        wait_until(timeout, &format!("session with {peer} Established"), || self.established(peer))
            .map_err(|e| err!("{e}\n{}", self.dump_state()))
    }

    /// Waits until the RIB holds `prefix`; the error has the dump.
    fn wait_route(&self, prefix: &str, timeout: Duration) -> Result<()> {
        let p: IpNet = prefix.parse().map_err(|e| err!("bad prefix {prefix:?}: {e}"))?;
        wait_until(timeout, &format!("route {prefix} in the RIB"), || {
            Ok(self.routes()?.iter().any(|r| r.prefix == p))
        })
        .map_err(|e| err!("{e}\n{}", self.dump_state()))
    }
}

/// Joins dumps of several peers for a failure message.
pub fn dump_all(peers: &[&dyn Peer]) -> String {
    peers.iter().map(|p| p.dump_state()).collect::<Vec<_>>().join("\n")
}
