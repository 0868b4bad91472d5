//! `show routes`: BIRD-1.6-like path lines (`*` marks the best path), each
//! followed by its attributes, and for every other path why it lost.

use std::fmt::Write;

use super::since;
use crate::proto::{PathSnapshot, RouteSnapshot};

/// Width of the prefix column, as BIRD's `%-18s`.
const PREFIX_WIDTH: usize = 18;

/// Renders routes; an empty list says so.
pub fn routes(routes: &[RouteSnapshot], now: u64) -> String {
    if routes.is_empty() {
        return "No routes found.\n".into();
    }
    let mut o = String::new();
    for r in routes {
        for (i, p) in r.paths.iter().enumerate() {
            let prefix = if i == 0 { r.prefix.to_string() } else { String::new() };
            let _ = writeln!(o, "{prefix:<PREFIX_WIDTH$} {}", path_line(p, now));
            let _ = writeln!(o, "{:<PREFIX_WIDTH$}   {}", "", attributes(p));
        }
    }
    o
}

fn path_line(p: &PathSnapshot, now: u64) -> String {
    let via = match p.next_hop.as_slice() {
        [] => "blackhole".to_owned(),
        hops => {
            let hs: Vec<String> = hops.iter().map(ToString::to_string).collect();
            match &p.interface {
                Some(dev) => format!("via {} on {dev}", hs.join(" ")),
                None => format!("via {}", hs.join(" ")),
            }
        }
    };
    let id = p.path_id.map(|id| format!(" id {id}")).unwrap_or_default();
    let mark = if p.best { " *" } else { "" };
    let origin_as = p.origin_as().map(|a| format!("AS{a}")).unwrap_or_default();
    let mut line = format!(
        "{via} [{}{id} {}]{mark} [{origin_as}{}]",
        p.source.name(),
        since(p.since, now),
        p.origin.code()
    );
    if p.stale {
        line.push_str(" stale");
    }
    // RFC 9494: LLGR_STALE (65535:6), set by us at the end of the peer's
    // restart time or received so from a helper upstream.
    if p.communities.contains(&[0xffff, 6]) {
        line.push_str(" llgr-stale");
    }
    if let Some(reason) = &p.reject_reason {
        let _ = write!(line, " lost: {}", reason.describe());
    }
    if let Some(f) = &p.filter {
        let _ = write!(line, " ({f})");
    }
    line
}

fn attributes(p: &PathSnapshot) -> String {
    let mut a = Vec::new();
    let path = p.as_path_string();
    a.push(format!("as path ({})", if path.is_empty() { "empty" } else { &path }));
    if let Some(lp) = p.local_pref {
        a.push(format!("local pref {lp}"));
    }
    if let Some(med) = p.med {
        a.push(format!("med {med}"));
    }
    if let Some(m) = p.igp_metric {
        a.push(format!("igp metric {m}"));
    }
    if !p.communities.is_empty() {
        let c: Vec<String> = p.communities.iter().map(|[a, b]| format!("({a},{b})")).collect();
        a.push(format!("communities {}", c.join(" ")));
    }
    if !p.large_communities.is_empty() {
        let c: Vec<String> =
            p.large_communities.iter().map(|[x, y, z]| format!("({x},{y},{z})")).collect();
        a.push(format!("large communities {}", c.join(" ")));
    }
    if !p.extended_communities.is_empty() {
        a.push(format!("ext communities {}", p.extended_communities.join(" ")));
    }
    if let Some(id) = p.originator_id {
        a.push(format!("originator {id}"));
    }
    if !p.cluster_list.is_empty() {
        let c: Vec<String> = p.cluster_list.iter().map(ToString::to_string).collect();
        a.push(format!("cluster list {}", c.join(" ")));
    }
    if let Some((asn, addr)) = p.aggregator {
        a.push(format!("aggregator AS{asn} {addr}"));
    }
    if p.atomic_aggregate {
        a.push("atomic aggregate".into());
    }
    for u in &p.unknown {
        a.push(format!("attr {} flags {:#04x} {}", u.type_code, u.flags, u.value));
    }
    a.join(", ")
}
