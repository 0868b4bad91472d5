//! The seam between the owner task and route processing: [`RouteHandler`].
//!
//! The owner calls it for every session event that concerns routes and
//! writes what it returns to the sessions; the handler never sees a socket
//! or a channel. [`StaticRoutes`] is the minimal implementation the daemon
//! runs with until the RIB (`bgp::rib`) takes its place: it advertises the
//! node's own blocks (RFC 4271 §9.1.3: ORIGIN IGP; AS_PATH empty on iBGP,
//! our AS prepended on eBGP, §5.1.2; NEXT_HOP our address, §5.1.3;
//! LOCAL_PREF 100 on iBGP, §5.1.5), ends each family with End-of-RIB (RFC
//! 4724 §2), and counts what each peer sends for the max-prefix limit.
//!
//! ```text
//!   owner                        RouteHandler                 owner
//!   Established(peer, Up) -----> peer_up        --Outbound--> Send{epoch} to peer(s)
//!   Update(peer, ParsedUpdate) > update         --Outbound--> (reflection, later)
//!   RouteRefresh ------------->  route_refresh  --Outbound-->
//!   SessionDown / removed ---->  peer_down      --Outbound-->
//!   reload (blocks changed) -->  reconfigure    --Outbound-->
//!   advertise add|del -------->  advertise      --Outbound-->
//!   ctl snapshot (read only) ->  routes_snapshot, peer_counts
//! ```

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use ctl::proto::{Family, FamilyCounts, RouteSnapshot, RouteSource};
use ipnet::IpNet;
use tracing::warn;

use crate::config::{EffectivePeer, ValidatedConfig};
use crate::session::Up;
use crate::wire::attr::{AsPath, MpNextHop, Origin, PathAttrs};
use crate::wire::nlri::Nlri;
use crate::wire::pack::{pack_announcements, pack_withdrawals};
use crate::wire::{AfiSafi, EncodeCtx, Message, ParsedUpdate, RouteRefreshMsg, UpdateMsg};

/// Encoded messages for one peer's current session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// The peer.
    pub peer: IpAddr,
    /// Whole UPDATE messages, encoded for that peer's negotiated context.
    pub messages: Vec<Bytes>,
}

/// Route processing as the owner task sees it. Every method returns the
/// messages to send, per peer; the owner delivers them to the peer's
/// current session and drops them if it went down meanwhile.
pub trait RouteHandler: Send + 'static {
    /// A session reached Established with what `up` says was negotiated:
    /// typically the initial advertisement and End-of-RIB.
    fn peer_up(&mut self, peer: &EffectivePeer, up: &Up) -> Vec<Outbound>;
    /// A session left Established or its peer was removed: forget what it
    /// sent (or keep it stale, under graceful restart).
    fn peer_down(&mut self, peer: IpAddr) -> Vec<Outbound>;
    /// An UPDATE from an Established peer, with its RFC 7606 treatment.
    fn update(&mut self, peer: IpAddr, update: ParsedUpdate) -> Vec<Outbound>;
    /// The peer asked for our routes again (RFC 2918).
    fn route_refresh(&mut self, peer: IpAddr, request: RouteRefreshMsg) -> Vec<Outbound>;
    /// A reload changed what this node originates.
    fn reconfigure(&mut self, cfg: &ValidatedConfig) -> Vec<Outbound>;
    /// Prefixes currently accepted from `peer`, for its max-prefix limit.
    fn received_prefixes(&self, peer: IpAddr) -> usize;
    /// `calico-bgpctl advertise add|del`: start (`add`) or stop originating
    /// `prefix` at run time, returning the UPDATEs that announce or
    /// withdraw it.
    fn advertise(&mut self, prefix: IpNet, add: bool) -> Vec<Outbound>;

    /// The prefixes this node originates (read only, for `show routes`).
    fn originated(&self) -> Vec<IpNet> {
        Vec::new()
    }
    /// Every route for `show routes` (read only). By default the
    /// [`RouteHandler::originated`] prefixes as local paths.
    fn routes_snapshot(&self) -> Vec<RouteSnapshot> {
        super::control::local_routes(&self.originated(), "block")
    }
    /// Prefix counters of one peer per family (read only, for `show peer`
    /// and the metrics).
    fn peer_counts(&self, peer: IpAddr) -> Vec<FamilyCounts> {
        let _ = peer;
        Vec::new()
    }
}

/// A path received from a peer, as [`StaticRoutes`] keeps it for `show routes`.
#[derive(Debug, Clone)]
struct Received {
    attrs: Arc<PathAttrs>,
    next_hop: Option<MpNextHop>,
    since: u64,
}

/// What [`StaticRoutes`] knows about one Established session.
#[derive(Debug)]
struct PeerState {
    ctx: EncodeCtx,
    families: Vec<AfiSafi>,
    ibgp: bool,
    local_as: u32,
    local: IpAddr,
    advertised: BTreeSet<IpNet>,
    name: String,
}

/// Advertises the node's blocks to every peer and counts received prefixes.
#[derive(Debug, Default)]
pub struct StaticRoutes {
    node_v4: Option<Ipv4Addr>,
    node_v6: Option<Ipv6Addr>,
    blocks: Vec<IpNet>,
    /// `advertise add` prefixes: kept across reloads until deleted.
    added: BTreeSet<IpNet>,
    /// `advertise del` of configured blocks: kept across reloads until added.
    deleted: BTreeSet<IpNet>,
    up: HashMap<IpAddr, PeerState>,
    received: HashMap<IpAddr, HashMap<(AfiSafi, Nlri), Received>>,
}

fn family_of(net: &IpNet) -> AfiSafi {
    match net {
        IpNet::V4(_) => AfiSafi::IPV4_UNICAST,
        IpNet::V6(_) => AfiSafi::IPV6_UNICAST,
    }
}

impl StaticRoutes {
    /// Originates the blocks of `cfg`'s node.
    pub fn new(cfg: &ValidatedConfig) -> Self {
        let mut s = StaticRoutes::default();
        s.set_config(cfg);
        s
    }

    fn set_config(&mut self, cfg: &ValidatedConfig) {
        let node = &cfg.config().node;
        self.node_v4 = node.ipv4.map(|n| n.addr());
        self.node_v6 = node.ipv6.map(|n| n.addr());
        self.blocks = node.blocks.clone();
        self.apply_overrides();
    }

    /// The configured blocks with the run-time additions and deletions.
    fn apply_overrides(&mut self) {
        self.blocks.retain(|b| !self.deleted.contains(b));
        for a in &self.added {
            if !self.blocks.contains(a) {
                self.blocks.push(*a);
            }
        }
    }

    /// Brings every session's advertisements in line with `blocks`.
    fn resync(&mut self) -> Vec<Outbound> {
        let peers: Vec<IpAddr> = self.up.keys().copied().collect();
        let mut out = Vec::new();
        for peer in peers {
            let Some(st) = self.up.get(&peer) else { continue };
            let now = self.routable(st);
            let gone: Vec<IpNet> = st.advertised.difference(&now).copied().collect();
            let new: Vec<IpNet> = now.difference(&st.advertised).copied().collect();
            let mut messages = Vec::new();
            for family in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
                let of = |v: &[IpNet]| -> Vec<IpNet> {
                    v.iter().filter(|b| family_of(b) == family).copied().collect()
                };
                messages.extend(Self::withdraw(st, family, &of(&gone)));
                messages.extend(self.announce(st, family, &of(&new)));
            }
            if let Some(st) = self.up.get_mut(&peer) {
                st.advertised = now;
            }
            if !messages.is_empty() {
                out.push(Outbound { peer, messages });
            }
        }
        out
    }

    /// Our next hop for `family` on a session whose local end is `local`:
    /// the node address of that family, else the session's own address.
    fn next_hop(&self, family: AfiSafi, local: IpAddr) -> Option<MpNextHop> {
        if family == AfiSafi::IPV4_UNICAST {
            let a = self.node_v4.or(match local {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })?;
            Some(MpNextHop::Ipv4(a))
        } else {
            let a = self.node_v6.or(match local {
                IpAddr::V6(a) => Some(a),
                IpAddr::V4(_) => None,
            })?;
            Some(MpNextHop::Ipv6 { global: a, link_local: None })
        }
    }

    fn attrs(st: &PeerState) -> PathAttrs {
        PathAttrs {
            origin: Some(Origin::Igp),
            // "When a given BGP speaker advertises the route to an internal
            // peer, the advertising speaker SHALL NOT modify the AS_PATH";
            // to an external peer it "shall prepend its own AS number"
            // (RFC 4271 §5.1.2); a route we originate starts empty.
            as_path: Some(if st.ibgp {
                AsPath::default()
            } else {
                AsPath::from_sequence(vec![st.local_as])
            }),
            // "A BGP speaker MUST NOT include this attribute in UPDATE
            // messages it sends to external peers" (RFC 4271 §5.1.5).
            local_pref: st.ibgp.then_some(100),
            ..PathAttrs::default()
        }
    }

    /// Announcements of `nets` (all of one family) to one peer.
    fn announce(&self, st: &PeerState, family: AfiSafi, nets: &[IpNet]) -> Vec<Bytes> {
        if nets.is_empty() || !st.families.contains(&family) {
            return Vec::new();
        }
        let Some(nh) = self.next_hop(family, st.local) else {
            warn!("no {family:?} next hop for a session from {}; not advertising", st.local);
            return Vec::new();
        };
        let nlri: Vec<Nlri> = nets
            .iter()
            .map(
                |n| if st.ctx.add_path(family) { Nlri::with_path_id(*n, 1) } else { Nlri::new(*n) },
            )
            .collect();
        match pack_announcements(&Self::attrs(st), family, nh, &nlri, &st.ctx) {
            Ok(m) => m,
            Err(e) => {
                warn!("cannot encode announcements: {e}");
                Vec::new()
            }
        }
    }

    fn withdraw(st: &PeerState, family: AfiSafi, nets: &[IpNet]) -> Vec<Bytes> {
        if nets.is_empty() || !st.families.contains(&family) {
            return Vec::new();
        }
        let nlri: Vec<Nlri> = nets
            .iter()
            .map(
                |n| if st.ctx.add_path(family) { Nlri::with_path_id(*n, 1) } else { Nlri::new(*n) },
            )
            .collect();
        pack_withdrawals(family, &nlri, &st.ctx)
    }

    /// Everything we originate for one peer, each family closed by End-of-RIB.
    fn full_table(&self, st: &PeerState) -> Vec<Bytes> {
        let mut out = Vec::new();
        for family in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
            if !st.families.contains(&family) {
                continue;
            }
            let nets: Vec<IpNet> =
                self.blocks.iter().filter(|b| family_of(b) == family).copied().collect();
            out.extend(self.announce(st, family, &nets));
            match Message::Update(UpdateMsg::end_of_rib(family)).to_bytes(&st.ctx) {
                Ok(b) => out.push(b),
                Err(e) => warn!("cannot encode End-of-RIB: {e}"),
            }
        }
        out
    }

    fn routable(&self, st: &PeerState) -> BTreeSet<IpNet> {
        self.blocks
            .iter()
            .filter(|b| {
                let f = family_of(b);
                st.families.contains(&f) && self.next_hop(f, st.local).is_some()
            })
            .copied()
            .collect()
    }
}

impl RouteHandler for StaticRoutes {
    fn peer_up(&mut self, peer: &EffectivePeer, up: &Up) -> Vec<Outbound> {
        let mut st = PeerState {
            ctx: up.negotiated.encode_ctx(),
            families: up.negotiated.families.clone(),
            ibgp: !up.negotiated.ebgp,
            local_as: peer.local_as,
            local: crate::net::canonical(up.local.ip()),
            advertised: BTreeSet::new(),
            name: peer.bird_protocol_name(),
        };
        let messages = self.full_table(&st);
        st.advertised = self.routable(&st);
        self.up.insert(peer.address, st);
        vec![Outbound { peer: peer.address, messages }]
    }

    fn peer_down(&mut self, peer: IpAddr) -> Vec<Outbound> {
        self.up.remove(&peer);
        self.received.remove(&peer);
        Vec::new()
    }

    fn update(&mut self, peer: IpAddr, update: ParsedUpdate) -> Vec<Outbound> {
        let set = self.received.entry(peer).or_default();
        for (f, n) in update.withdrawals() {
            set.remove(&(f, *n));
        }
        let attrs = Arc::new(update.update.attrs.clone());
        let since = ctl::server::unix_now();
        for (f, n) in update.announcements() {
            let next_hop = update.next_hop(f);
            set.insert((f, *n), Received { attrs: attrs.clone(), next_hop, since });
        }
        Vec::new()
    }

    fn route_refresh(&mut self, peer: IpAddr, request: RouteRefreshMsg) -> Vec<Outbound> {
        let Some(st) = self.up.get(&peer) else { return Vec::new() };
        let nets: Vec<IpNet> =
            st.advertised.iter().filter(|b| family_of(b) == request.family).copied().collect();
        let mut messages = self.announce(st, request.family, &nets);
        if st.families.contains(&request.family) {
            if let Ok(b) = Message::Update(UpdateMsg::end_of_rib(request.family)).to_bytes(&st.ctx)
            {
                messages.push(b);
            }
        }
        vec![Outbound { peer, messages }]
    }

    fn reconfigure(&mut self, cfg: &ValidatedConfig) -> Vec<Outbound> {
        self.set_config(cfg);
        self.resync()
    }

    fn received_prefixes(&self, peer: IpAddr) -> usize {
        self.received.get(&peer).map_or(0, HashMap::len)
    }

    fn advertise(&mut self, prefix: IpNet, add: bool) -> Vec<Outbound> {
        if add {
            self.deleted.remove(&prefix);
            self.added.insert(prefix);
        } else {
            self.added.remove(&prefix);
            self.deleted.insert(prefix);
        }
        self.apply_overrides();
        self.resync()
    }

    fn originated(&self) -> Vec<IpNet> {
        self.blocks.clone()
    }

    fn routes_snapshot(&self) -> Vec<RouteSnapshot> {
        let mut routes = super::control::local_routes(&self.blocks, "block");
        for (peer, set) in &self.received {
            let name = self.up.get(peer).map(|s| s.name.clone()).unwrap_or_default();
            for ((_, nlri), r) in set {
                let source = RouteSource::Bgp { peer: *peer, name: name.clone() };
                let mut path =
                    super::control::path_snapshot(source, &r.attrs, r.next_hop.as_ref(), r.since);
                path.path_id = nlri.path_id;
                routes.push(RouteSnapshot { prefix: nlri.prefix, paths: vec![path] });
            }
        }
        super::control::merge_routes(routes)
    }

    fn peer_counts(&self, peer: IpAddr) -> Vec<FamilyCounts> {
        let Some(st) = self.up.get(&peer) else { return Vec::new() };
        let received = self.received.get(&peer);
        st.families
            .iter()
            .filter_map(|f| {
                let family = match *f {
                    AfiSafi::IPV4_UNICAST => Family::Ipv4,
                    AfiSafi::IPV6_UNICAST => Family::Ipv6,
                    _ => return None,
                };
                let n = received.map_or(0, |r| r.keys().filter(|k| k.0 == *f).count()) as u64;
                let advertised = st.advertised.iter().filter(|b| family_of(b) == *f).count() as u64;
                // Nothing is filtered on import yet: accepted = received.
                Some(FamilyCounts { family, received: n, accepted: n, advertised })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::config::parse_str;
    use crate::session::peer_config;
    use crate::wire::{DecodeCtx, Negotiated, OpenMsg, ParsedMessage, decode_message};

    const CFG: &str = r#"
        [node]
        name = "a"
        local_as = 65001
        ipv4 = "10.0.0.1/24"
        blocks = ["10.244.1.0/26", "10.244.2.0/26"]
        [[peers]]
        name = "tor"
        address = "10.0.0.254"
        remote_as = 65000
        [[mesh.nodes]]
        name = "b"
        ipv4 = "10.0.0.2"
        [[ip_pools]]
        cidr = "10.244.0.0/16"
    "#;

    fn up_for(cfg: &ValidatedConfig, addr: &str) -> (EffectivePeer, Up) {
        let p = cfg.peer(addr.parse().unwrap()).unwrap().clone();
        let pc = peer_config(&p, cfg.router_id());
        let local = pc.local_open();
        let remote =
            OpenMsg::new(p.remote_as, 90, "10.0.0.9".parse().unwrap(), local.capabilities.clone());
        let negotiated = Negotiated::from_opens(&local, &remote, !p.is_ibgp());
        let sa = |s: &str| -> SocketAddr { s.parse().unwrap() };
        (p, Up { epoch: 1, negotiated, local: sa("10.0.0.1:40000"), remote: sa("10.0.0.254:179") })
    }

    fn decode(b: &Bytes, up: &Up) -> ParsedUpdate {
        let ctx: DecodeCtx = up.negotiated.decode_ctx();
        match decode_message(b, &ctx).unwrap() {
            ParsedMessage::Update(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ebgp_peer_gets_blocks_with_our_as_prepended_and_end_of_rib() {
        let cfg = parse_str(CFG).unwrap();
        let mut r = StaticRoutes::new(&cfg);
        let (p, up) = up_for(&cfg, "10.0.0.254");
        let out = r.peer_up(&p, &up);
        let msgs: Vec<ParsedUpdate> = out[0].messages.iter().map(|m| decode(m, &up)).collect();
        assert_eq!(msgs.len(), 2);
        let a = &msgs[0].update;
        assert_eq!(a.nlri.len(), 2);
        assert_eq!(a.attrs.as_path, Some(AsPath::from_sequence(vec![65001])));
        assert_eq!(a.attrs.next_hop, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(a.attrs.local_pref, None);
        assert_eq!(a.attrs.origin, Some(Origin::Igp));
        assert_eq!(msgs[1].is_end_of_rib(), Some(AfiSafi::IPV4_UNICAST));
    }

    #[test]
    fn ibgp_peer_gets_empty_as_path_and_local_pref_100() {
        let cfg = parse_str(CFG).unwrap();
        let mut r = StaticRoutes::new(&cfg);
        let (p, up) = up_for(&cfg, "10.0.0.2");
        let out = r.peer_up(&p, &up);
        let a = decode(&out[0].messages[0], &up).update;
        assert_eq!(a.attrs.as_path, Some(AsPath::default()));
        assert_eq!(a.attrs.local_pref, Some(100));
        // The mesh negotiates ADD-PATH both ways: NLRI carry a path id.
        assert!(a.nlri.iter().all(|n| n.path_id.is_some()), "{:?}", a.nlri);
    }

    #[test]
    fn received_prefixes_count_announcements_minus_withdrawals() {
        let cfg = parse_str(CFG).unwrap();
        let mut r = StaticRoutes::new(&cfg);
        let (p, up) = up_for(&cfg, "10.0.0.254");
        // What we would send them is what they could send us.
        let msgs = r.peer_up(&p, &up);
        let u = decode(&msgs[0].messages[0], &up);
        r.update(p.address, u.clone());
        r.update(p.address, u);
        assert_eq!(r.received_prefixes(p.address), 2);
        r.peer_down(p.address);
        assert_eq!(r.received_prefixes(p.address), 0);
    }

    #[test]
    fn reload_withdraws_removed_blocks_and_announces_new_ones() {
        let cfg = parse_str(CFG).unwrap();
        let mut r = StaticRoutes::new(&cfg);
        let (p, up) = up_for(&cfg, "10.0.0.254");
        r.peer_up(&p, &up);
        let new = parse_str(&CFG.replace("\"10.244.2.0/26\"", "\"10.244.3.0/26\"")).unwrap();
        let out = r.reconfigure(&new);
        let msgs: Vec<ParsedUpdate> = out[0].messages.iter().map(|m| decode(m, &up)).collect();
        let w: Vec<IpNet> =
            msgs.iter().flat_map(|m| m.withdrawals().map(|(_, n)| n.prefix)).collect();
        let a: Vec<IpNet> =
            msgs.iter().flat_map(|m| m.announcements().map(|(_, n)| n.prefix)).collect();
        assert_eq!(w, ["10.244.2.0/26".parse::<IpNet>().unwrap()]);
        assert_eq!(a, ["10.244.3.0/26".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn advertise_announces_and_withdraws_at_run_time_and_survives_a_reload() {
        let cfg = parse_str(CFG).unwrap();
        let mut r = StaticRoutes::new(&cfg);
        let (p, up) = up_for(&cfg, "10.0.0.254");
        r.peer_up(&p, &up);
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let prefixes = |out: Vec<Outbound>, withdrawn: bool| -> Vec<IpNet> {
            out.iter()
                .flat_map(|o| o.messages.iter().map(|m| decode(m, &up)))
                .flat_map(|u| {
                    let v: Vec<IpNet> = if withdrawn {
                        u.withdrawals().map(|(_, n)| n.prefix).collect()
                    } else {
                        u.announcements().map(|(_, n)| n.prefix).collect()
                    };
                    v
                })
                .collect()
        };
        assert_eq!(
            prefixes(r.advertise(net("10.244.9.0/26"), true), false),
            [net("10.244.9.0/26")]
        );
        assert!(r.advertise(net("10.244.9.0/26"), true).is_empty(), "already advertised");
        assert_eq!(
            prefixes(r.advertise(net("10.244.1.0/26"), false), true),
            [net("10.244.1.0/26")]
        );
        // A reload of the same file keeps both run-time changes.
        assert!(r.reconfigure(&cfg).is_empty());
        let originated = r.originated();
        assert!(
            originated.contains(&net("10.244.9.0/26"))
                && !originated.contains(&net("10.244.1.0/26"))
        );
        let counts = r.peer_counts(p.address);
        assert_eq!((counts[0].family, counts[0].advertised), (Family::Ipv4, 2));
        let shown: Vec<IpNet> = r.routes_snapshot().iter().map(|r| r.prefix).collect();
        assert_eq!(shown, [net("10.244.2.0/26"), net("10.244.9.0/26")]);
    }
}
