//! `show route [all] [count] [primary] [protocol NAME] [PREFIX | for ADDR]`
//! (BIRD nest/rt-table.c `rt_show_rte`, proto/bgp/attrs.c
//! `bgp_get_route_info`).
//!
//! Rows are `"%-18s %s [%s %s%s]%s%s"`: the network (blank for its second
//! and later routes), where the route goes, the protocol and time (and
//! ` from PEER` when the peer is not the next hop), ` *` on the selected
//! route, then `(pref)` or, for BGP, `(pref/igp metric) [AS65001i]`.
//! Calico's route populator matches them with its `via` / `dev` /
//! `blackhole` / `unreachable` expressions and reads the protocol name to
//! tell kernel, static, direct and BGP (mesh or not) routes apart, so each
//! path is named as Calico's BIRD config would name it: our IPAM blocks
//! and advertised prefixes are `static1` blackholes, kernel-learned routes
//! `kernel1`, BGP paths the session's protocol name.
//!
//! With `all`, each row is followed by `1008-\tType: ...` and, for BGP, the
//! `1012-\tBGP.<attribute>: ...` lines in attribute-code order.

use std::net::IpAddr;

use super::{Line, RouteFilter, Routes, View};
use crate::proto::{Family, PathSnapshot, RejectReason, RouteSnapshot, RouteSource};
use crate::render::since;

/// The reply to `show route ...`, whole: [`RouteListing`] over every route.
pub fn show_route(v: &View<'_>, f: &RouteFilter, r: &Routes<'_>) -> Vec<Line> {
    let mut listing = match RouteListing::new(v, f, r) {
        Ok(l) => l,
        Err(refused) => return refused,
    };
    let mut out = Vec::new();
    for rt in r.routes {
        listing.network(rt, &mut out);
    }
    listing.finish(&mut out);
    out
}

/// `show route` rendered one network at a time, so that the I/O shell can
/// write a large table in pieces and never hold all of its text.
pub struct RouteListing<'a> {
    v: &'a View<'a>,
    f: &'a RouteFilter,
    iface: &'a (dyn Fn(IpAddr) -> Option<String> + Sync),
    /// `for ADDR`: the length of the longest prefix in the table holding it.
    longest: Option<u8>,
    shown: usize,
    considered: usize,
    networks: usize,
}

impl std::fmt::Debug for RouteListing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteListing").field("shown", &self.shown).finish_non_exhaustive()
    }
}

impl<'a> RouteListing<'a> {
    /// Starts a listing of `r.routes` (read whole only for `for ADDR`, to
    /// find the longest match), or gives the error reply when the filter
    /// names no protocol of this socket.
    pub fn new(v: &'a View<'a>, f: &'a RouteFilter, r: &Routes<'a>) -> Result<Self, Vec<Line>> {
        if let Some(name) = &f.protocol {
            let known = ["static1", "kernel1", "device1", "direct1"].contains(&name.as_str())
                || v.family_peers().any(|p| p.name == *name);
            if !known {
                return Err(vec![Line::last(9001, format!("{name} is not a protocol"))]);
            }
        }
        let longest = f.for_addr.and_then(|a| {
            r.routes
                .iter()
                .filter(|rt| Family::of_net(&rt.prefix) == v.family && rt.prefix.contains(&a))
                .filter(|rt| rt.paths.iter().any(|p| in_table(&p)))
                .map(|rt| rt.prefix.prefix_len())
                .max()
        });
        Ok(RouteListing { v, f, iface: r.iface, longest, shown: 0, considered: 0, networks: 0 })
    }

    /// Appends the rows of one network (nothing if the filter leaves it out).
    pub fn network(&mut self, rt: &RouteSnapshot, out: &mut Vec<Line>) {
        let (v, f) = (self.v, self.f);
        if Family::of_net(&rt.prefix) != v.family || f.prefix.is_some_and(|p| p != rt.prefix) {
            return;
        }
        if let Some(a) = f.for_addr
            && !(rt.prefix.contains(&a) && Some(rt.prefix.prefix_len()) == self.longest)
        {
            return;
        }
        let mut paths = rt.paths.iter().filter(in_table).peekable();
        if paths.peek().is_none() {
            return;
        }
        self.networks += 1;
        let mut first = true;
        for p in paths {
            self.considered += 1;
            if (f.primary && !p.best) || f.protocol.as_ref().is_some_and(|n| *n != proto_name(p)) {
                continue;
            }
            self.shown += 1;
            if !f.count {
                let net = if first { rt.prefix.to_string() } else { String::new() };
                out.push(Line::more(1007, row(v, &net, p, self.iface)));
                if f.all {
                    attributes(out, p);
                }
            }
            first = false;
        }
    }

    /// Appends the reply's last line: the count, `Network not in table`
    /// for a network or address with no rows, or the end of the table.
    pub fn finish(self, out: &mut Vec<Line>) {
        let f = self.f;
        if f.count {
            let (shown, considered, networks) = (self.shown, self.considered, self.networks);
            out.push(Line::last(
                14,
                format!("{shown} of {considered} routes for {networks} networks"),
            ));
        } else if self.shown == 0 && (f.prefix.is_some() || f.for_addr.is_some()) {
            out.push(Line::last(8001, "Network not in table"));
        } else {
            out.push(Line::end());
        }
    }
}

/// Paths BIRD would hold in its table: not those refused on import, looped
/// or without a usable next hop.
fn in_table(p: &&PathSnapshot) -> bool {
    !matches!(
        p.reject_reason,
        Some(RejectReason::ImportFiltered | RejectReason::Loop | RejectReason::NextHopUnreachable)
    )
}

/// The protocol a path belongs to in Calico's BIRD config.
fn proto_name(p: &PathSnapshot) -> &str {
    match &p.source {
        RouteSource::Bgp { name, .. } => name,
        RouteSource::Local { .. } => "static1",
        RouteSource::Kernel { .. } => "kernel1",
    }
}

fn row(
    v: &View<'_>,
    net: &str,
    p: &PathSnapshot,
    iface: &(dyn Fn(IpAddr) -> Option<String> + Sync),
) -> String {
    let time = since(p.since, v.now);
    let star = if p.best { " *" } else { "" };
    let name = proto_name(p);
    match &p.source {
        RouteSource::Local { .. } => format!("{net:<18} blackhole [{name} {time}]{star} (200)"),
        RouteSource::Kernel { device } => {
            format!("{net:<18} dev {device} [{name} {time}]{star} (10)")
        }
        RouteSource::Bgp { peer, .. } => {
            let nh = p.next_hop.first().copied();
            let iface = nh.and_then(iface);
            let (dest, metric) = match (nh, iface) {
                (Some(nh), Some(dev)) => {
                    (format!("via {nh} on {dev}"), p.igp_metric.unwrap_or(0).to_string())
                }
                _ => ("unreachable".to_owned(), "-".to_owned()),
            };
            let from = match nh {
                Some(nh) if nh != *peer => format!(" from {peer}"),
                _ => String::new(),
            };
            let stale = if p.stale { "s" } else { "" };
            let origin_as = p.origin_as().map(|a| format!("AS{a}")).unwrap_or_default();
            format!(
                "{net:<18} {dest} [{name} {time}{from}]{star} (100{stale}/{metric}) [{origin_as}{}]",
                p.origin.code()
            )
        }
    }
}

/// `show route all`: the route type, then BGP's attributes as BIRD's
/// `ea_show` prints them.
fn attributes(out: &mut Vec<Line>, p: &PathSnapshot) {
    let kind = match p.source {
        RouteSource::Bgp { .. } => "BGP",
        RouteSource::Local { .. } => "static",
        RouteSource::Kernel { .. } => "inherit",
    };
    out.push(Line::more(1008, format!("\tType: {kind} unicast univ")));
    if !matches!(p.source, RouteSource::Bgp { .. }) {
        return;
    }
    let origin = match p.origin {
        crate::proto::Origin::Igp => "IGP",
        crate::proto::Origin::Egp => "EGP",
        crate::proto::Origin::Incomplete => "Incomplete",
    };
    let join = |v: Vec<String>| v.join(" ");
    let mut attrs = vec![
        format!("origin: {origin}"),
        format!("as_path: {}", p.as_path_string()),
        format!("next_hop: {}", join(p.next_hop.iter().map(ToString::to_string).collect())),
    ];
    if let Some(med) = p.med {
        attrs.push(format!("med: {med}"));
    }
    if let Some(lp) = p.local_pref {
        attrs.push(format!("local_pref: {lp}"));
    }
    if !p.communities.is_empty() {
        let c = p.communities.iter().map(|[a, b]| format!("({a},{b})")).collect();
        attrs.push(format!("community: {}", join(c)));
    }
    if let Some(id) = p.originator_id {
        attrs.push(format!("originator_id: {id}"));
    }
    if !p.cluster_list.is_empty() {
        attrs.push(format!(
            "cluster_list: {}",
            join(p.cluster_list.iter().map(ToString::to_string).collect())
        ));
    }
    if !p.large_communities.is_empty() {
        let c = p.large_communities.iter().map(|[a, b, c]| format!("({a}, {b}, {c})")).collect();
        attrs.push(format!("large_community: {}", join(c)));
    }
    out.extend(attrs.into_iter().map(|a| Line::more(1012, format!("\tBGP.{a}"))));
}
