//! BIRD 2.0 (`bird -f -c CONF -s SOCK -P PID`) inside a namespace.
//!
//! Originated routes are `blackhole` static routes carrying the BGP attributes as
//! per-route filter statements; learned BGP routes are exported to the kernel
//! (`proto bird`) when `kernel` is set. Each neighbor is protocol `nN` (N its index),
//! controlled through `birdc -s SOCK`.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ipnet::IpNet;

use super::{AddPath, Family, LearnedRoute, Neighbor, Peer, Route};
use crate::netns::{Netns, run};
use crate::process::{Daemon, write_file};
use crate::{Result, err, wait_until};

/// BIRD configuration builder.
#[derive(Debug, Clone)]
pub struct BirdConfig {
    /// Local AS.
    pub asn: u32,
    /// Router ID.
    pub router_id: IpAddr,
    /// Neighbors, named `n0`, `n1`, ... in order.
    pub neighbors: Vec<Neighbor>,
    /// Routes to originate.
    pub routes: Vec<Route>,
    /// Export learned BGP routes to the kernel.
    pub kernel: bool,
    /// Advertise graceful restart (`graceful restart on`); BIRD is GR-aware by default.
    pub graceful_restart: bool,
    /// Raw lines appended inside every `protocol bgp`.
    pub bgp_extra: Vec<String>,
}

impl BirdConfig {
    /// A config with kernel export on.
    pub fn new(asn: u32, router_id: IpAddr) -> BirdConfig {
        BirdConfig {
            asn,
            router_id,
            neighbors: Vec::new(),
            routes: Vec::new(),
            kernel: true,
            graceful_restart: false,
            bgp_extra: Vec::new(),
        }
    }

    /// Adds a neighbor.
    pub fn neighbor(mut self, n: Neighbor) -> Self {
        self.neighbors.push(n);
        self
    }

    /// Adds a route to originate.
    pub fn route(mut self, r: Route) -> Self {
        self.routes.push(r);
        self
    }

    /// Don't export to the kernel.
    pub fn without_kernel(mut self) -> Self {
        self.kernel = false;
        self
    }

    /// Turns graceful restart on.
    pub fn graceful_restart(mut self) -> Self {
        self.graceful_restart = true;
        self
    }

    /// Adds a raw line inside every `protocol bgp` block.
    pub fn bgp_line(mut self, line: &str) -> Self {
        self.bgp_extra.push(line.to_owned());
        self
    }

    /// The protocol name BIRD knows the session with `peer` by.
    pub fn protocol_name(&self, peer: IpAddr) -> Option<String> {
        self.neighbors.iter().position(|n| n.address == peer).map(|i| format!("n{i}"))
    }

    /// Renders `bird.conf`; `log` is the log file.
    pub fn render(&self, log: &Path) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "router id {};", self.router_id);
        let _ = writeln!(c, "log \"{}\" all;", log.display());
        c.push_str("protocol device { scan time 10; }\n");
        if self.kernel {
            for fam in ["ipv4", "ipv6"] {
                let _ = writeln!(
                    c,
                    "protocol kernel k{fam} {{ {fam} {{ import none; export where source = RTS_BGP; }}; }}"
                );
            }
        }
        for (fam, v4) in [("ipv4", true), ("ipv6", false)] {
            let _ = writeln!(c, "protocol static s{fam} {{\n  {fam};");
            for r in self.routes.iter().filter(|r| r.prefix.addr().is_ipv4() == v4) {
                let _ = writeln!(c, "  route {} blackhole{};", r.prefix, route_filter(r));
            }
            c.push_str("}\n");
        }
        for (i, n) in self.neighbors.iter().enumerate() {
            let _ = writeln!(c, "protocol bgp n{i} {{");
            let _ = writeln!(
                c,
                "  local as {};\n  neighbor {} as {};",
                self.asn, n.address, n.remote_asn
            );
            if let Some(l) = n.local_address {
                let _ = writeln!(c, "  source address {l};");
            }
            // iBGP defaults to multihop with recursive next hops; every test peer is
            // on-link, so say so and next hops resolve without an IGP.
            c.push_str("  direct;\n  connect retry time 2;\n");
            if n.passive {
                c.push_str("  passive on;\n");
            }
            if n.rr_client {
                c.push_str("  rr client;\n");
            }
            if self.graceful_restart {
                c.push_str("  graceful restart on;\n");
            }
            for l in &self.bgp_extra {
                let _ = writeln!(c, "  {l}");
            }
            for fam in n.effective_families() {
                let name = if fam == Family::Ipv4Unicast { "ipv4" } else { "ipv6" };
                let _ = write!(c, "  {name} {{ import all; export all;");
                match n.add_path {
                    AddPath::Off => {}
                    AddPath::Send => c.push_str(" add paths tx;"),
                    AddPath::Receive => c.push_str(" add paths rx;"),
                    AddPath::Both => c.push_str(" add paths on;"),
                }
                if n.ext_next_hop && fam == Family::Ipv4Unicast {
                    c.push_str(" extended next hop on;");
                }
                c.push_str(" };\n");
            }
            c.push_str("}\n");
        }
        c
    }

    /// Writes the config into `dir`, checks it (`bird -p`), starts BIRD in `ns` and
    /// waits for its control socket.
    pub fn start(self, ns: &Netns, dir: &Path) -> Result<Bird> {
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("bird.conf");
        write_file(&conf, &self.render(&dir.join("bird.log")))?;
        let sock = dir.join("bird.ctl");
        let pid = dir.join("bird.pid");
        let [c, s, p] = [&conf, &sock, &pid].map(|x| x.to_string_lossy().into_owned());
        run(Command::new("bird").args(["-p", "-c", &c]))?;
        let mut daemon =
            Daemon::spawn(ns, "bird", dir, &["bird", "-f", "-c", &c, "-s", &s, "-P", &p])?
                .with_log(dir.join("bird.log"));
        wait_until(Duration::from_secs(10), "BIRD's control socket", || {
            daemon.check_running()?;
            Ok(sock.exists())
        })?;
        Ok(Bird { daemon, sock, ns: ns.name().to_owned(), config: self })
    }
}

/// The per-route `{ ... }` block setting BGP attributes on a static route.
fn route_filter(r: &Route) -> String {
    if !r.has_attributes() {
        return String::new();
    }
    let mut f = String::from(" {");
    for (a, v) in &r.communities {
        let _ = write!(f, " bgp_community.add(({a},{v}));");
    }
    for (a, b, v) in &r.large_communities {
        let _ = write!(f, " bgp_large_community.add(({a},{b},{v}));");
    }
    for (a, v) in &r.ext_communities_rt {
        let _ = write!(f, " bgp_ext_community.add((rt,{a},{v}));");
    }
    if let Some(m) = r.med {
        let _ = write!(f, " bgp_med = {m};");
    }
    if let Some(lp) = r.local_pref {
        let _ = write!(f, " bgp_local_pref = {lp};");
    }
    f.push_str(" }");
    f
}

/// A running BIRD.
#[derive(Debug)]
pub struct Bird {
    daemon: Daemon,
    sock: PathBuf,
    ns: String,
    config: BirdConfig,
}

impl Bird {
    /// `birdc -s SOCK ARGS...`.
    pub fn birdc(&self, args: &[&str]) -> Result<String> {
        run(Command::new("birdc").arg("-s").arg(&self.sock).args(args))
    }

    /// The config it was started with.
    pub fn config(&self) -> &BirdConfig {
        &self.config
    }

    /// The daemon.
    pub fn daemon(&mut self) -> &mut Daemon {
        &mut self.daemon
    }

    /// The last `lines` of its log and output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.daemon.log_tail(lines)
    }
}

/// Parses `birdc show route` text: a line starting with a prefix opens a route, an
/// indented `via ADDR` line gives its next hop.
fn parse_routes(text: &str) -> Vec<LearnedRoute> {
    let mut out: Vec<LearnedRoute> = Vec::new();
    let mut current: Option<IpNet> = None;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if !line.starts_with(char::is_whitespace) {
            current = first.parse().ok();
            if let Some(prefix) = current {
                out.push(LearnedRoute { prefix, next_hop: None });
            }
            continue;
        }
        // Further paths of the same prefix start with whitespace and "unicast".
        if first == "unicast" {
            if let Some(prefix) = current {
                out.push(LearnedRoute { prefix, next_hop: None });
            }
        } else if first == "via" {
            let nh = line.split_whitespace().nth(1).and_then(|a| a.parse().ok());
            if let Some(last) = out.last_mut().filter(|r| r.next_hop.is_none()) {
                last.next_hop = nh;
            }
        }
    }
    out
}

impl Peer for Bird {
    fn established(&self, peer: IpAddr) -> Result<bool> {
        let name =
            self.config.protocol_name(peer).ok_or_else(|| err!("{peer} is not a neighbor"))?;
        let out = self.birdc(&["show", "protocols", &name])?;
        Ok(out.lines().any(|l| l.starts_with(&name) && l.contains("Established")))
    }

    fn routes(&self) -> Result<Vec<LearnedRoute>> {
        let out = self.birdc(&["show", "route", "where", "source", "=", "RTS_BGP"])?;
        Ok(parse_routes(&out))
    }

    fn dump_state(&self) -> String {
        let mut s = format!("===== BIRD in {} ({}) =====\n", self.ns, self.sock.display());
        for cmd in [&["show", "protocols", "all"][..], &["show", "route", "all"][..]] {
            let out = self.birdc(cmd).unwrap_or_else(|e| e.to_string());
            let _ = writeln!(s, "# birdc {}\n{out}", cmd.join(" "));
        }
        let k = run(Command::new("ip").args(["-n", &self.ns, "route"])).unwrap_or_default();
        let _ = writeln!(s, "# ip route\n{k}");
        s.push_str(&self.daemon.log_tail(40));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birdc_route_text_yields_prefixes_and_next_hops() {
        let text = "BIRD 2.0.12 ready.\nTable master4:\n\
            10.1.0.0/24          unicast [n0 21:13:45.123] * (100) [AS65001i]\n\
            \tvia 10.0.0.1 on veth0a\n\
            \x20                    unicast [n1 21:13:45.200] (100) [AS65003i]\n\
            \tvia 10.0.0.3 on veth0a\n";
        let r = parse_routes(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].prefix.to_string(), "10.1.0.0/24");
        assert_eq!(r[1].next_hop, Some("10.0.0.3".parse().unwrap()));
    }
}
