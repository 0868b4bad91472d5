//! The meaning of a golden BIRD configuration rendered by confd: the
//! statements calico-bgpd's configuration can express, read from
//! `bird.cfg`, `bird6.cfg`, `bird_aggr.cfg`, `bird6_aggr.cfg`,
//! `bird_ipam.cfg` and `bird6_ipam.cfg`. Filters' bodies and the fixed
//! templates (kernel, device, direct, timers) are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use ipnet::IpNet;

/// What one BGP session is, as comparable facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerFacts {
    pub neighbor: IpAddr,
    pub port: u16,
    pub remote_as: u32,
    pub local_as: u32,
    pub source: Option<IpAddr>,
    /// `ttl security on; multihop N` (GTSM hops); `None` for `ttl security off; multihop`.
    pub ttl_security: Option<u8>,
    pub passive: bool,
    /// `rr client; rr cluster id X`.
    pub rr_cluster_id: Option<Ipv4Addr>,
    pub password: Option<String>,
    /// "auto", "self" or "keep".
    pub next_hop: &'static str,
    pub graceful_restart_time: u16,
    pub allow_local_as: u8,
    /// The BGPFilter functions the protocol calls, in order of first call,
    /// by the name confd gives them (`bgp_<name>_importFilterV4`: the
    /// `<name>` part, cut and hashed past 45 characters).
    pub filters: Vec<String>,
}

/// What confd's kernel filter does with a pool's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// `reject` (left to Felix).
    Reject,
    /// `accept`, no tunnel.
    Accept,
    /// `krt_tunnel="tunl0"; accept`.
    Tunl0,
    /// CrossSubnet: no tunnel when the next hop is in this subnet.
    CrossSubnet(IpNet),
}

/// The comparable meaning of one golden directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meaning {
    pub router_id: Option<Ipv4Addr>,
    /// Addresses named by `listen bgp address A` (none = every address).
    pub listen_addresses: BTreeSet<IpAddr>,
    pub listen_port: Option<u16>,
    pub peers: BTreeMap<String, PeerFacts>,
    pub blackholes: BTreeSet<IpNet>,
    /// `route <peer>/32 via <gateway>` (reachableBy).
    pub static_routes: BTreeSet<(IpNet, IpAddr)>,
    /// IPv4 pools' kernel verdicts (all printed when the node subnet is known).
    pub kernel_v4: BTreeMap<IpNet, Kernel>,
    /// IPv6 pools the kernel filter rejects (accepts are not printed).
    pub kernel_v6_rejects: BTreeSet<IpNet>,
    /// Pools rejected / accepted by `calico_export_to_bgp_peers`.
    pub export_rejects: BTreeSet<IpNet>,
    pub export_accepts: BTreeSet<IpNet>,
    /// `apply_communities`: communities per prefix, as `a:b` / `a:b:c`.
    pub communities: BTreeMap<IpNet, BTreeSet<String>>,
}

/// The statements of a file, each cut at its `;`, with the line it sits in
/// (the `{`/`}` structure is tracked by the callers through column-0 `}`).
fn statement(line: &str) -> &str {
    let t = line.trim();
    t.split(';').next().unwrap_or("").trim()
}

/// The lines of the block that starts with a line beginning with `head`,
/// up to its closing `}` in column 0.
fn blocks<'a>(text: &'a str, head: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out = Vec::new();
    let mut current: Option<(&str, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some((_, body)) = &mut current {
            if line.starts_with('}') {
                out.push(current.take().unwrap());
            } else {
                body.push(line);
            }
        } else if line.starts_with(head) {
            current = Some((line, Vec::new()));
        }
    }
    out
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

fn parse<T: std::str::FromStr>(s: &str, what: &str) -> T {
    s.trim().parse().unwrap_or_else(|_| panic!("golden {what}: cannot read {s:?}"))
}

/// Reads a golden directory.
pub fn read_golden(dir: &Path) -> Meaning {
    let mut m = Meaning::default();
    for (main, ipam, aggr) in [
        ("bird.cfg", "bird_ipam.cfg", "bird_aggr.cfg"),
        ("bird6.cfg", "bird6_ipam.cfg", "bird6_aggr.cfg"),
    ] {
        let v6 = main == "bird6.cfg";
        let text = read(dir, main);
        let mut template_as = None;
        for line in text.lines() {
            let s = statement(line);
            if let Some(id) = s.strip_prefix("router id ") {
                m.router_id = Some(parse(id, "router id"));
            }
            if let Some(rest) = s.strip_prefix("listen bgp") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                for pair in words.chunks(2) {
                    match pair {
                        ["address", a] => {
                            m.listen_addresses.insert(parse(a, "listen address"));
                        }
                        ["port", p] => m.listen_port = Some(parse(p, "listen port")),
                        _ => panic!("golden: listen bgp{rest}"),
                    }
                }
            }
        }
        for (_, body) in blocks(&text, "template bgp bgp_template") {
            for line in body {
                if let Some(n) = statement(line).strip_prefix("local as ") {
                    template_as = Some(parse::<u32>(n, "template local as"));
                }
            }
        }
        for (head, body) in blocks(&text, "protocol bgp ") {
            let name = head["protocol bgp ".len()..].split_whitespace().next().unwrap().to_owned();
            m.peers.insert(name, peer_facts(&body, template_as.expect("bgp_template local as")));
        }
        for (_, body) in blocks(&text, "function apply_communities") {
            let mut cidr = None;
            for line in body {
                let t = line.trim();
                if let Some(rest) = t.strip_prefix("if ( net ~ ") {
                    cidr = Some(parse::<IpNet>(rest.split(' ').next().unwrap(), "community cidr"));
                } else if let Some(rest) = t
                    .strip_prefix("bgp_community.add((")
                    .or_else(|| t.strip_prefix("bgp_large_community.add(("))
                {
                    let value = rest.trim_end_matches("));").replace(", ", ":");
                    m.communities
                        .entry(cidr.expect("community outside if"))
                        .or_default()
                        .insert(value);
                }
            }
        }
        let aggr_text = read(dir, aggr);
        for line in aggr_text.lines() {
            let s = statement(line);
            let Some(rest) = s.strip_prefix("route ") else { continue };
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                [net, "blackhole"] => {
                    m.blackholes.insert(parse(net, "blackhole"));
                }
                [net, "via", gw] => {
                    m.static_routes.insert((parse(net, "static route"), parse(gw, "gateway")));
                }
                _ => panic!("golden {aggr}: {s}"),
            }
        }
        let ipam_text = read(dir, ipam);
        for (_, body) in blocks(&ipam_text, "filter calico_kernel_programming") {
            for line in body {
                let Some((cidr, rest)) = pool_line(line) else { continue };
                let verdict = if rest.contains("reject") {
                    Kernel::Reject
                } else if let Some(i) = rest.find("bgp_next_hop ~ ") {
                    let subnet = rest[i + "bgp_next_hop ~ ".len()..].split(')').next().unwrap();
                    Kernel::CrossSubnet(parse(subnet, "cross-subnet"))
                } else if rest.contains("krt_tunnel=\"tunl0\"") {
                    Kernel::Tunl0
                } else {
                    Kernel::Accept
                };
                if v6 {
                    assert_eq!(verdict, Kernel::Reject, "golden {ipam}: {line}");
                    m.kernel_v6_rejects.insert(cidr);
                } else {
                    m.kernel_v4.insert(cidr, verdict);
                }
            }
        }
        for (_, body) in blocks(&ipam_text, "function calico_export_to_bgp_peers") {
            for line in body {
                let Some((cidr, rest)) = pool_line(line) else { continue };
                if rest.contains("reject") {
                    m.export_rejects.insert(cidr);
                } else {
                    m.export_accepts.insert(cidr);
                }
            }
        }
    }
    m
}

/// `if (net ~ CIDR) then { ... }`: the CIDR and the rest of the line.
fn pool_line(line: &str) -> Option<(IpNet, &str)> {
    let rest = line.trim().strip_prefix("if (net ~ ")?;
    let (cidr, rest) = rest.split_once(')')?;
    Some((parse(cidr, "pool cidr"), rest))
}

fn peer_facts(body: &[&str], template_as: u32) -> PeerFacts {
    let mut f = PeerFacts {
        neighbor: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        port: 179,
        remote_as: 0,
        local_as: template_as,
        source: None,
        ttl_security: None,
        passive: false,
        rr_cluster_id: None,
        password: None,
        next_hop: "auto",
        graceful_restart_time: 120,
        allow_local_as: 0,
        filters: Vec::new(),
    };
    let mut ttl_on = false;
    let mut depth = 0usize;
    for line in body {
        if let Some(name) = filter_call(line)
            && !f.filters.contains(&name)
        {
            f.filters.push(name);
        }
        // Only the protocol's own statements, not those inside filters.
        let at_top = depth == 0;
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
        if !at_top {
            continue;
        }
        let s = statement(line);
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["neighbor", ip, "port", p, "as", asn] => {
                f.neighbor = parse(ip, "neighbor");
                f.port = parse(p, "port");
                f.remote_as = parse(asn, "as");
            }
            ["neighbor", ip, "as", asn] => {
                f.neighbor = parse(ip, "neighbor");
                f.remote_as = parse(asn, "as");
            }
            ["local", "as", n] => f.local_as = parse(n, "local as"),
            ["source", "address", a] => f.source = Some(parse(a, "source address")),
            ["ttl", "security", "on"] => ttl_on = true,
            ["ttl", "security", "off"] => ttl_on = false,
            ["multihop", n] if ttl_on => f.ttl_security = Some(parse(n, "multihop")),
            ["multihop"] | ["multihop", _] => {}
            ["passive", "on"] => f.passive = true,
            ["graceful", "restart", "time", n] => {
                f.graceful_restart_time = parse(n, "restart time")
            }
            ["rr", "client"] => {}
            ["rr", "cluster", "id", id] => f.rr_cluster_id = Some(parse(id, "rr cluster id")),
            ["password", p] => f.password = Some(p.trim_matches('"').to_owned()),
            ["next", "hop", "keep"] => f.next_hop = "keep",
            ["next", "hop", "self"] => f.next_hop = "self",
            ["allow", "local", "as", n] => f.allow_local_as = parse(n, "allow local as"),
            ["import", "filter", ..] | ["export", "filter", ..] | [] => {}
            ["description", ..] | ["debug", ..] => {}
            other => panic!("golden protocol statement not understood: {other:?}"),
        }
    }
    f
}

/// The filter a line calls: `'bgp_<name>_importFilterV4'(...)` gives `<name>`.
fn filter_call(line: &str) -> Option<String> {
    let start = line.find("'bgp_")? + "'bgp_".len();
    let end = start + line[start..].find('\'')?;
    let inner = &line[start..end];
    ["_importFilterV4", "_exportFilterV4", "_importFilterV6", "_exportFilterV6"]
        .iter()
        .find_map(|suffix| inner.strip_suffix(suffix))
        .map(str::to_owned)
}
