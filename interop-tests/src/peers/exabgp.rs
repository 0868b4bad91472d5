//! ExaBGP 4.2 inside a namespace.
//!
//! ExaBGP only dials out (the other side must accept passive connections). Two helper
//! processes are wired in through its API: `events` appends every received message
//! and neighbor state change as JSON lines to `events.jsonl` (that file is the only
//! view of ExaBGP's state), and `cmd` tails a command file, so tests inject routes at
//! run time with [`Exabgp::command`] (`announce route ...`, `withdraw route ...`).
//! Static routes go in the config, written either from a [`Route`] or as raw ExaBGP
//! route text (to send odd attributes: AS_SET, AGGREGATOR, unknown ones).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use super::{AddPath, Family, LearnedRoute, Neighbor, Peer, Route};
use crate::netns::Netns;
use crate::process::{Daemon, tail, write_file, write_script};
use crate::{Result, err, wait_until};

/// ExaBGP configuration builder.
#[derive(Debug, Clone)]
pub struct ExabgpConfig {
    /// Local AS.
    pub asn: u32,
    /// Router ID.
    pub router_id: IpAddr,
    /// Neighbors; each needs `local_address`.
    pub neighbors: Vec<Neighbor>,
    /// Routes to announce (next hop self).
    pub routes: Vec<Route>,
    /// Raw `route ...` statements for the static block, without the trailing `;`.
    pub raw_routes: Vec<String>,
    /// Advertise the four-octet AS capability (off makes ExaBGP a 2-octet speaker,
    /// so AS4_PATH / AS_TRANS appear on the wire when the AS is above 65535).
    pub asn4: bool,
}

impl ExabgpConfig {
    /// An empty config with 4-octet AS on.
    pub fn new(asn: u32, router_id: IpAddr) -> ExabgpConfig {
        ExabgpConfig {
            asn,
            router_id,
            neighbors: Vec::new(),
            routes: Vec::new(),
            raw_routes: Vec::new(),
            asn4: true,
        }
    }

    /// Adds a neighbor (`local_address` must be set).
    pub fn neighbor(mut self, n: Neighbor) -> Self {
        self.neighbors.push(n);
        self
    }

    /// Adds a route.
    pub fn route(mut self, r: Route) -> Self {
        self.routes.push(r);
        self
    }

    /// Adds a raw route statement, e.g.
    /// `route 10.9.0.0/24 next-hop self as-path [ 65004 ( 64512 64513 ) ] atomic-aggregate`.
    pub fn raw_route(mut self, r: &str) -> Self {
        self.raw_routes.push(r.to_owned());
        self
    }

    /// Disables the 4-octet AS capability.
    pub fn two_octet_as(mut self) -> Self {
        self.asn4 = false;
        self
    }

    /// Renders the config; helper scripts live in `dir`.
    pub fn render(&self, dir: &Path) -> String {
        let mut c = String::new();
        let d = dir.display();
        let _ = writeln!(c, "process events {{\n  run {d}/events.sh;\n  encoder json;\n}}");
        let _ = writeln!(c, "process cmd {{\n  run {d}/cmd.sh;\n  encoder text;\n}}");
        for n in &self.neighbors {
            let _ = writeln!(c, "neighbor {} {{", n.address);
            let _ = writeln!(c, "  router-id {};", self.router_id);
            if let Some(l) = n.local_address {
                let _ = writeln!(c, "  local-address {l};");
            }
            let _ = writeln!(c, "  local-as {};\n  peer-as {};", self.asn, n.remote_asn);
            c.push_str("  group-updates false;\n  family {\n");
            for f in n.effective_families() {
                c.push_str(if f == Family::Ipv4Unicast {
                    "    ipv4 unicast;\n"
                } else {
                    "    ipv6 unicast;\n"
                });
            }
            c.push_str("  }\n  capability {\n    route-refresh;\n");
            if !self.asn4 {
                c.push_str("    asn4 disable;\n");
            }
            let ap = match n.add_path {
                AddPath::Off => None,
                AddPath::Send => Some("send"),
                AddPath::Receive => Some("receive"),
                AddPath::Both => Some("send/receive"),
            };
            if let Some(ap) = ap {
                let _ = writeln!(c, "    add-path {ap};");
            }
            c.push_str("  }\n");
            if ap.is_some() {
                c.push_str("  add-path {\n");
                for f in n.effective_families() {
                    c.push_str(if f == Family::Ipv4Unicast {
                        "    ipv4 unicast;\n"
                    } else {
                        "    ipv6 unicast;\n"
                    });
                }
                c.push_str("  }\n");
            }
            c.push_str("  api events {\n    processes [ events ];\n    neighbor-changes;\n");
            c.push_str(
                "    receive {\n      parsed;\n      update;\n      notification;\n    }\n  }\n",
            );
            c.push_str("  api commands {\n    processes [ cmd ];\n  }\n");
            c.push_str("  static {\n");
            for r in &self.routes {
                let _ = writeln!(c, "    {};", route_statement(r));
            }
            for r in &self.raw_routes {
                let _ = writeln!(c, "    {r};");
            }
            c.push_str("  }\n}\n");
        }
        c
    }

    /// Writes config and helper scripts, starts ExaBGP in `ns` (foreground, as root,
    /// logging to `exabgp.log`).
    pub fn start(self, ns: &Netns, dir: &Path) -> Result<Exabgp> {
        std::fs::create_dir_all(dir)?;
        let d = dir.display();
        let events = dir.join("events.jsonl");
        let cmd = dir.join("cmd");
        write_file(&events, "")?;
        write_file(&cmd, "")?;
        // Not `exec cat`: with that, ExaBGP 4.2 counted the helper dead on the first
        // UPDATE and shut down (observed every run); a shell parent keeps it happy.
        write_script(&dir.join("events.sh"), &format!("cat >> {d}/events.jsonl"))?;
        // -F: keep following across truncation; -n +1: commands written before start count.
        write_script(&dir.join("cmd.sh"), &format!("exec tail -n +1 -F {d}/cmd"))?;
        let conf = dir.join("exabgp.conf");
        write_file(&conf, &self.render(dir))?;
        let log = dir.join("exabgp.log");
        let log_s = log.to_string_lossy().into_owned();
        let conf_s = conf.to_string_lossy().into_owned();
        let mut daemon = Daemon::spawn_env(
            ns,
            "exabgp",
            dir,
            &["exabgp", &conf_s],
            &[
                ("exabgp.daemon.user", "root"),
                ("exabgp.daemon.drop", "false"),
                ("exabgp.daemon.daemonize", "false"),
                ("exabgp.api.cli", "false"),
                ("exabgp.log.destination", &log_s),
                ("exabgp.log.level", "INFO"),
            ],
        )?
        .with_log(log);
        // ExaBGP has no control socket to wait for: tests wait for the session instead.
        daemon.check_running()?;
        Ok(Exabgp { daemon, events, cmd, ns_name: ns.name().to_owned(), config: self })
    }
}

/// An ExaBGP `route` statement for a [`Route`], next hop self.
fn route_statement(r: &Route) -> String {
    let mut s = format!("route {} next-hop self", r.prefix);
    if !r.communities.is_empty() {
        let cs: Vec<String> = r.communities.iter().map(|(a, v)| format!("{a}:{v}")).collect();
        let _ = write!(s, " community [ {} ]", cs.join(" "));
    }
    if !r.large_communities.is_empty() {
        let cs: Vec<String> =
            r.large_communities.iter().map(|(a, b, v)| format!("{a}:{b}:{v}")).collect();
        let _ = write!(s, " large-community [ {} ]", cs.join(" "));
    }
    if !r.ext_communities_rt.is_empty() {
        let cs: Vec<String> =
            r.ext_communities_rt.iter().map(|(a, v)| format!("target:{a}:{v}")).collect();
        let _ = write!(s, " extended-community [ {} ]", cs.join(" "));
    }
    if let Some(m) = r.med {
        let _ = write!(s, " med {m}");
    }
    if let Some(lp) = r.local_pref {
        let _ = write!(s, " local-preference {lp}");
    }
    s
}

/// A running ExaBGP.
#[derive(Debug)]
pub struct Exabgp {
    daemon: Daemon,
    events: PathBuf,
    cmd: PathBuf,
    ns_name: String,
    config: ExabgpConfig,
}

impl Exabgp {
    /// Appends an API command (e.g. `announce route 10.9.0.0/24 next-hop self`).
    pub fn command(&self, line: &str) -> Result<()> {
        let mut f = std::fs::OpenOptions::new().append(true).open(&self.cmd)?;
        writeln!(f, "{line}")?;
        Ok(())
    }

    /// The JSON events received so far (one value per line).
    pub fn events(&self) -> Result<Vec<Value>> {
        let text = std::fs::read_to_string(&self.events)?;
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }

    /// The config it was started with.
    pub fn config(&self) -> &ExabgpConfig {
        &self.config
    }

    /// The daemon.
    pub fn daemon(&mut self) -> &mut Daemon {
        &mut self.daemon
    }
}

/// Folds ExaBGP `update` events into the current set of prefixes and next hops.
fn fold_updates(events: &[Value]) -> Vec<LearnedRoute> {
    let mut rib: BTreeMap<String, Option<IpAddr>> = BTreeMap::new();
    for ev in events.iter().filter(|e| e.get("type").and_then(Value::as_str) == Some("update")) {
        let Some(upd) = ev.pointer("/neighbor/message/update") else { continue };
        // announce: { "ipv4 unicast": { "NEXTHOP": [ {"nlri": "P"} | "P" ] } }
        for fams in upd.get("announce").and_then(Value::as_object).into_iter() {
            for hops in fams.values().filter_map(Value::as_object) {
                for (nh, nlris) in hops {
                    for n in nlris.as_array().into_iter().flatten() {
                        if let Some(p) = nlri_prefix(n) {
                            rib.insert(p, nh.parse().ok());
                        }
                    }
                }
            }
        }
        // withdraw: { "ipv4 unicast": [ {"nlri": "P"} | "P" ] }
        for fams in upd.get("withdraw").and_then(Value::as_object).into_iter() {
            for nlris in fams.values() {
                for n in nlris.as_array().into_iter().flatten() {
                    if let Some(p) = nlri_prefix(n) {
                        rib.remove(&p);
                    }
                }
            }
        }
    }
    rib.into_iter()
        .filter_map(|(p, nh)| Some(LearnedRoute { prefix: p.parse::<IpNet>().ok()?, next_hop: nh }))
        .collect()
}

fn nlri_prefix(n: &Value) -> Option<String> {
    n.as_str().or_else(|| n.get("nlri").and_then(Value::as_str)).map(str::to_owned)
}

impl Peer for Exabgp {
    fn established(&self, peer: IpAddr) -> Result<bool> {
        let want = peer.to_string();
        let mut up = false;
        for ev in self.events()? {
            if ev.get("type").and_then(Value::as_str) != Some("state") {
                continue;
            }
            if ev.pointer("/neighbor/address/peer").and_then(Value::as_str) != Some(want.as_str()) {
                continue;
            }
            up = ev.pointer("/neighbor/state").and_then(Value::as_str) == Some("up");
        }
        Ok(up)
    }

    fn routes(&self) -> Result<Vec<LearnedRoute>> {
        Ok(fold_updates(&self.events()?))
    }

    fn dump_state(&self) -> String {
        let mut s = format!("===== ExaBGP in {} =====\n", self.ns_name);
        let _ = writeln!(s, "# events (tail)\n{}", tail(&self.events, 20));
        s.push_str(&self.daemon.log_tail(40));
        s
    }
}

/// Waits until ExaBGP reports the session with `peer` up (convenience over [`Peer`]).
pub fn wait_up(x: &Exabgp, peer: IpAddr, timeout: Duration) -> Result<()> {
    wait_until(timeout, &format!("ExaBGP session with {peer} up"), || x.established(peer))
        .map_err(|e| err!("{e}\n{}", x.dump_state()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exabgp_json_updates_fold_into_announced_minus_withdrawn() {
        let evs: Vec<Value> = [
            r#"{"type":"update","neighbor":{"message":{"update":{"announce":{"ipv4 unicast":{"10.0.0.1":[{"nlri":"10.1.0.0/24"},{"nlri":"10.2.0.0/24"}]}}}}}}"#,
            r#"{"type":"update","neighbor":{"message":{"update":{"withdraw":{"ipv4 unicast":[{"nlri":"10.2.0.0/24"}]}}}}}"#,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        let r = fold_updates(&evs);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].prefix.to_string(), "10.1.0.0/24");
        assert_eq!(r[0].next_hop, Some("10.0.0.1".parse().unwrap()));
    }
}
