//! GoBGP 3.10 (`gobgpd -f conf.toml`) inside a namespace.
//!
//! gobgpd has no daemon mode, so the child is the daemon. Its gRPC API listens on
//! 127.0.0.1:50051 of the namespace's own loopback (so instances don't collide), and
//! the `gobgp` CLI runs inside the namespace to reach it. Routes are originated with
//! `gobgp global rib add` once the API answers.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use super::{Family, LearnedRoute, Neighbor, Peer, Route};
use crate::netns::Netns;
use crate::process::{Daemon, write_file};
use crate::{Result, err, wait_until};

/// GoBGP configuration builder.
#[derive(Debug, Clone)]
pub struct GobgpConfig {
    /// Local AS.
    pub asn: u32,
    /// Router ID.
    pub router_id: IpAddr,
    /// Neighbors.
    pub neighbors: Vec<Neighbor>,
    /// Routes to originate after start.
    pub routes: Vec<Route>,
    /// Route-reflector cluster ID for `rr_client` neighbors (defaults to the router ID).
    pub cluster_id: Option<IpAddr>,
}

impl GobgpConfig {
    /// An empty config.
    pub fn new(asn: u32, router_id: IpAddr) -> GobgpConfig {
        GobgpConfig { asn, router_id, neighbors: Vec::new(), routes: Vec::new(), cluster_id: None }
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

    /// Renders the TOML config.
    pub fn render(&self) -> String {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "[global.config]\n  as = {}\n  router-id = \"{}\"",
            self.asn, self.router_id
        );
        for n in &self.neighbors {
            let _ = writeln!(
                c,
                "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}",
                n.address, n.remote_asn
            );
            c.push_str("  [neighbors.timers.config]\n    connect-retry = 2\n");
            let _ = writeln!(c, "  [neighbors.transport.config]\n    passive-mode = {}", n.passive);
            if let Some(l) = n.local_address {
                let _ = writeln!(c, "    local-address = \"{l}\"");
            }
            if n.rr_client {
                let cid = self.cluster_id.unwrap_or(self.router_id);
                let _ = writeln!(
                    c,
                    "  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"{cid}\""
                );
            }
            for fam in n.effective_families() {
                let name = if fam == Family::Ipv4Unicast { "ipv4-unicast" } else { "ipv6-unicast" };
                let _ = writeln!(
                    c,
                    "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{name}\""
                );
                if n.add_path.sends() || n.add_path.receives() {
                    let send_max = if n.add_path.sends() { 8 } else { 0 };
                    let _ = writeln!(
                        c,
                        "    [neighbors.afi-safis.add-paths.config]\n      receive = {}\n      send-max = {send_max}",
                        n.add_path.receives()
                    );
                }
            }
        }
        c
    }

    /// Writes the config, starts gobgpd in `ns`, waits for its API and adds the routes.
    pub fn start(self, ns: &Netns, dir: &Path) -> Result<Gobgp> {
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("gobgpd.toml");
        write_file(&conf, &self.render())?;
        let c = conf.to_string_lossy().into_owned();
        let mut daemon = Daemon::spawn(
            ns,
            "gobgpd",
            dir,
            &[
                "gobgpd",
                "-f",
                &c,
                "-t",
                "toml",
                "-p",
                "--api-hosts",
                "127.0.0.1:50051",
                "--pprof-disable",
            ],
        )?;
        wait_until(Duration::from_secs(10), "gobgpd's API", || {
            daemon.check_running()?;
            Ok(ns.exec(&["gobgp", "global"]).is_ok())
        })?;
        let g = Gobgp { daemon, ns_name: ns.name().to_owned(), config: self };
        for r in &g.config.routes {
            g.add_route(r)?;
        }
        Ok(g)
    }
}

/// A running gobgpd.
#[derive(Debug)]
pub struct Gobgp {
    daemon: Daemon,
    ns_name: String,
    config: GobgpConfig,
}

impl Gobgp {
    /// Runs the `gobgp` CLI inside the namespace.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        crate::netns::run(
            std::process::Command::new("ip")
                .args(["netns", "exec", &self.ns_name, "gobgp"])
                .args(args),
        )
    }

    /// `gobgp global rib add PREFIX [attrs] -a FAMILY`.
    pub fn add_route(&self, r: &Route) -> Result<()> {
        let mut args: Vec<String> =
            vec!["global".into(), "rib".into(), "add".into(), r.prefix.to_string()];
        if !r.communities.is_empty() {
            let cs: Vec<String> = r.communities.iter().map(|(a, v)| format!("{a}:{v}")).collect();
            args.extend(["community".into(), cs.join(",")]);
        }
        if !r.large_communities.is_empty() {
            let cs: Vec<String> =
                r.large_communities.iter().map(|(a, b, v)| format!("{a}:{b}:{v}")).collect();
            args.extend(["large-community".into(), cs.join(",")]);
        }
        if let Some(m) = r.med {
            args.extend(["med".into(), m.to_string()]);
        }
        if let Some(lp) = r.local_pref {
            args.extend(["local-pref".into(), lp.to_string()]);
        }
        for (a, v) in &r.ext_communities_rt {
            args.extend(["rt".into(), format!("{a}:{v}")]);
        }
        let fam = if r.prefix.addr().is_ipv4() { "ipv4" } else { "ipv6" };
        args.extend(["-a".into(), fam.into()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.cli(&refs).map(drop)
    }

    /// `gobgp global rib del PREFIX -a FAMILY`.
    pub fn del_route(&self, prefix: &str) -> Result<()> {
        let fam = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.cli(&["global", "rib", "del", prefix, "-a", fam]).map(drop)
    }

    /// The config it was started with.
    pub fn config(&self) -> &GobgpConfig {
        &self.config
    }
}

impl Peer for Gobgp {
    fn established(&self, peer: IpAddr) -> Result<bool> {
        let out = self.cli(&["neighbor", &peer.to_string(), "-j"])?;
        let v: Value =
            serde_json::from_str(&out).map_err(|e| err!("gobgp neighbor json: {e}: {out}"))?;
        let st = v.get("state").and_then(|s| s.get("session_state"));
        // The JSON has the gRPC enum: 6 (or "ESTABLISHED" in some builds).
        Ok(st.and_then(Value::as_u64) == Some(6)
            || st.and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("established")))
    }

    fn routes(&self) -> Result<Vec<LearnedRoute>> {
        let mut out = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            let text = self.cli(&["global", "rib", "-a", fam, "-j"])?;
            let v: Value =
                serde_json::from_str(&text).map_err(|e| err!("gobgp rib json: {e}: {text}"))?;
            for (pfx, paths) in v.as_object().into_iter().flatten() {
                let Ok(prefix) = pfx.parse::<IpNet>() else { continue };
                for p in paths.as_array().into_iter().flatten() {
                    let next_hop = p
                        .get("attrs")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find_map(|a| a.get("nexthop").and_then(Value::as_str))
                        .and_then(|s| s.parse().ok());
                    out.push(LearnedRoute { prefix, next_hop });
                }
            }
        }
        Ok(out)
    }

    fn dump_state(&self) -> String {
        let mut s = format!("===== GoBGP in {} =====\n", self.ns_name);
        for cmd in [
            &["neighbor"][..],
            &["global", "rib", "-a", "ipv4"][..],
            &["global", "rib", "-a", "ipv6"][..],
        ] {
            let out = self.cli(cmd).unwrap_or_else(|e| e.to_string());
            let _ = writeln!(s, "# gobgp {}\n{out}", cmd.join(" "));
        }
        s.push_str(&self.daemon.log_tail(40));
        s
    }
}
