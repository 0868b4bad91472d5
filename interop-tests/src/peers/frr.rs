//! FRR 8.4 (zebra + bgpd) started directly inside a namespace.
//!
//! Each instance gets private pid/vty/zserv paths in its own dir (the defaults under
//! `/var/run/frr` would collide between namespaces). The daemons drop to `frr:frr`
//! (zebra has no `-S` to skip that), so the dir is chowned to `frr` first. Without zebra (`kernel: false`) bgpd runs with
//! `-Z` and installs nothing. Control goes through `vtysh --vty_socket DIR`.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use super::{Family, LearnedRoute, Neighbor, Peer, Route};
use crate::container::FRR_IMAGE;
use crate::netns::{Netns, run};
use crate::process::{Daemon, write_file};
use crate::{Result, err, wait_until};

/// FRR configuration builder.
#[derive(Debug, Clone)]
pub struct FrrConfig {
    /// Local AS.
    pub asn: u32,
    /// BGP identifier.
    pub router_id: IpAddr,
    /// Neighbors.
    pub neighbors: Vec<Neighbor>,
    /// Routes to originate (`network X [route-map]`).
    pub routes: Vec<Route>,
    /// Run zebra and install learned routes into the namespace's kernel table.
    pub kernel: bool,
    /// Advertise the graceful-restart capability (`bgp graceful-restart`).
    pub graceful_restart: bool,
    /// Lines appended inside `router bgp` (after the neighbors, before the families).
    pub bgp_extra: Vec<String>,
    /// Lines appended at top level (route-maps, prefix-lists, ...).
    pub global_extra: Vec<String>,
    /// Lines appended inside `address-family ipv4|ipv6 unicast`.
    pub af_extra: Vec<(Family, String)>,
    /// Run zebra and bgpd as containers of [`FRR_IMAGE`] instead of the
    /// host's FRR.
    pub container: bool,
}

impl FrrConfig {
    /// A config with zebra on and graceful restart off.
    pub fn new(asn: u32, router_id: IpAddr) -> FrrConfig {
        FrrConfig {
            asn,
            router_id,
            neighbors: Vec::new(),
            routes: Vec::new(),
            kernel: true,
            graceful_restart: false,
            bgp_extra: Vec::new(),
            global_extra: Vec::new(),
            af_extra: Vec::new(),
            container: false,
        }
    }

    /// Runs zebra and bgpd as containers of [`FRR_IMAGE`] (built by
    /// `scripts/images.sh`), attached to the namespace.
    pub fn in_container(mut self) -> Self {
        self.container = true;
        self
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

    /// Runs bgpd alone (`-Z`): no kernel install.
    pub fn without_kernel(mut self) -> Self {
        self.kernel = false;
        self
    }

    /// Turns graceful restart on.
    pub fn graceful_restart(mut self) -> Self {
        self.graceful_restart = true;
        self
    }

    /// Adds a raw line inside `router bgp`.
    pub fn bgp_line(mut self, line: &str) -> Self {
        self.bgp_extra.push(line.to_owned());
        self
    }

    /// Adds a raw top-level line.
    pub fn global_line(mut self, line: &str) -> Self {
        self.global_extra.push(line.to_owned());
        self
    }

    /// Adds a raw line inside `address-family <fam> unicast`.
    pub fn af_line(mut self, fam: Family, line: &str) -> Self {
        self.af_extra.push((fam, line.to_owned()));
        self
    }

    /// Renders `bgpd.conf`; `log` is the log file path.
    pub fn render(&self, log: &Path) -> String {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "frr defaults traditional\nlog file {}\nlog timestamp precision 3\n!",
            log.display()
        );
        for (i, r) in self.routes.iter().enumerate().filter(|(_, r)| r.has_attributes()) {
            let _ = writeln!(c, "route-map ORIG-{i} permit 10");
            if !r.communities.is_empty() {
                let cs: Vec<String> =
                    r.communities.iter().map(|(a, v)| format!("{a}:{v}")).collect();
                let _ = writeln!(c, " set community {}", cs.join(" "));
            }
            if !r.large_communities.is_empty() {
                let cs: Vec<String> =
                    r.large_communities.iter().map(|(a, b, v)| format!("{a}:{b}:{v}")).collect();
                let _ = writeln!(c, " set large-community {}", cs.join(" "));
            }
            if !r.ext_communities_rt.is_empty() {
                let cs: Vec<String> =
                    r.ext_communities_rt.iter().map(|(a, v)| format!("{a}:{v}")).collect();
                let _ = writeln!(c, " set extcommunity rt {}", cs.join(" "));
            }
            if let Some(m) = r.med {
                let _ = writeln!(c, " set metric {m}");
            }
            if let Some(lp) = r.local_pref {
                let _ = writeln!(c, " set local-preference {lp}");
            }
            let _ = writeln!(c, "exit\n!");
        }
        for l in &self.global_extra {
            let _ = writeln!(c, "{l}");
        }
        let _ = writeln!(c, "router bgp {}", self.asn);
        let _ = writeln!(c, " bgp router-id {}", self.router_id);
        // FRR 8.4 defaults to RFC 8212 (no policy, no eBGP exchange) and to checking
        // that `network` prefixes are in the RIB; the tests originate unreachable ones.
        c.push_str(" no bgp ebgp-requires-policy\n no bgp network import-check\n");
        c.push_str(" no bgp default ipv4-unicast\n");
        if self.graceful_restart {
            c.push_str(" bgp graceful-restart\n");
        }
        for n in &self.neighbors {
            let a = n.address;
            let _ = writeln!(c, " neighbor {a} remote-as {}", n.remote_asn);
            // ConnectRetry defaults to 120 s; GoBGP then takes ~6 s to come up.
            let _ = writeln!(c, " neighbor {a} timers connect 2");
            let _ = writeln!(c, " neighbor {a} advertisement-interval 0");
            if n.passive {
                let _ = writeln!(c, " neighbor {a} passive");
            }
            if n.ext_next_hop {
                let _ = writeln!(c, " neighbor {a} capability extended-nexthop");
            }
            if let Some(l) = n.local_address {
                let _ = writeln!(c, " neighbor {a} update-source {l}");
            }
        }
        for l in &self.bgp_extra {
            let _ = writeln!(c, " {l}");
        }
        for (fam, afi) in [(Family::Ipv4Unicast, "ipv4"), (Family::Ipv6Unicast, "ipv6")] {
            let _ = writeln!(c, " address-family {afi} unicast");
            for (i, r) in self.routes.iter().enumerate() {
                if r.prefix.addr().is_ipv4() != (fam == Family::Ipv4Unicast) {
                    continue;
                }
                let rm =
                    if r.has_attributes() { format!(" route-map ORIG-{i}") } else { String::new() };
                let _ = writeln!(c, "  network {}{rm}", r.prefix);
            }
            for n in self.neighbors.iter().filter(|n| n.effective_families().contains(&fam)) {
                let a = n.address;
                let _ = writeln!(c, "  neighbor {a} activate");
                if n.add_path.sends() {
                    let _ = writeln!(c, "  neighbor {a} addpath-tx-all-paths");
                }
                // FRR advertises ADD-PATH receive unless told not to.
                if !n.add_path.receives() {
                    let _ = writeln!(c, "  neighbor {a} disable-addpath-rx");
                }
                if n.rr_client {
                    let _ = writeln!(c, "  neighbor {a} route-reflector-client");
                }
            }
            for (_, l) in self.af_extra.iter().filter(|(f, _)| *f == fam) {
                let _ = writeln!(c, "  {l}");
            }
            c.push_str(" exit-address-family\n");
        }
        c.push_str("exit\n");
        c
    }

    /// Writes the configs into `dir` and starts zebra (if `kernel`) and bgpd in `ns`;
    /// returns once bgpd's vty socket exists.
    pub fn start(self, ns: &Netns, dir: &Path) -> Result<Frr> {
        std::fs::create_dir_all(dir)?;
        // The image's frr user is not the host's: chown to the ids inside it.
        let owner =
            if self.container { crate::container::frr_owner()? } else { "frr:frr".to_owned() };
        run(Command::new("chown").arg(&owner).arg(dir))?;
        let spawn = |name: &str, argv: &[&str]| {
            if self.container {
                Daemon::spawn_container(ns, name, dir, FRR_IMAGE, &[], argv)
            } else {
                Daemon::spawn(ns, name, dir, argv)
            }
        };
        let d = dir.to_str().ok_or_else(|| err!("non-UTF-8 dir {}", dir.display()))?;
        let zserv = format!("{d}/zserv.api");
        let bgpd_conf = dir.join("bgpd.conf");
        write_file(&bgpd_conf, &self.render(&dir.join("bgpd.log")))?;
        let mut zebra = None;
        if self.kernel {
            let zconf = dir.join("zebra.conf");
            write_file(&zconf, &format!("log file {d}/zebra.log\n"))?;
            let mut z = spawn(
                "zebra",
                &[
                    "/usr/lib/frr/zebra",
                    "-f",
                    &format!("{d}/zebra.conf"),
                    "-i",
                    &format!("{d}/zebra.pid"),
                    "-z",
                    &zserv,
                    "--vty_socket",
                    d,
                    "-u",
                    "frr",
                    "-g",
                    "frr",
                    "-P",
                    "0",
                ],
            )?
            .with_log(dir.join("zebra.log"));
            wait_until(Duration::from_secs(10), "zebra's zserv socket", || {
                z.check_running()?;
                Ok(Path::new(&zserv).exists())
            })?;
            zebra = Some(z);
        }
        let conf = bgpd_conf.to_str().ok_or_else(|| err!("non-UTF-8 path"))?.to_owned();
        let pid = format!("{d}/bgpd.pid");
        let mut argv = vec![
            "/usr/lib/frr/bgpd",
            "-f",
            &conf,
            "-i",
            &pid,
            "-z",
            &zserv,
            "--vty_socket",
            d,
            "-u",
            "frr",
            "-g",
            "frr",
            "-P",
            "0",
        ];
        if !self.kernel {
            argv.push("-Z");
        }
        let mut bgpd = spawn("bgpd", &argv)?.with_log(dir.join("bgpd.log"));
        let vty = dir.join("bgpd.vty");
        wait_until(Duration::from_secs(10), "bgpd's vty socket", || {
            bgpd.check_running()?;
            Ok(vty.exists())
        })?;
        Ok(Frr { bgpd, zebra, dir: dir.to_owned(), ns: ns.name().to_owned(), config: self })
    }
}

/// A running FRR instance.
#[derive(Debug)]
pub struct Frr {
    // Field order is drop order: bgpd goes before zebra, as FRR itself stops them.
    bgpd: Daemon,
    zebra: Option<Daemon>,
    dir: PathBuf,
    ns: String,
    config: FrrConfig,
}

impl Frr {
    /// The config it was started with.
    pub fn config(&self) -> &FrrConfig {
        &self.config
    }

    /// Runs vtysh commands in sequence (`-c` each) and returns the output.
    pub fn vtysh(&self, cmds: &[&str]) -> Result<String> {
        let mut c = Command::new("vtysh");
        c.arg("--vty_socket").arg(&self.dir);
        for cmd in cmds {
            c.args(["-c", cmd]);
        }
        run(&mut c)
    }

    /// Runs one `show ... json` command and parses it.
    pub fn vtysh_json(&self, cmd: &str) -> Result<Value> {
        let out = self.vtysh(&[cmd])?;
        serde_json::from_str(&out).map_err(|e| err!("{cmd}: {e}: {out}"))
    }

    /// `configure terminal`, then `lines` (e.g. `["router bgp 65001", "neighbor X shutdown"]`).
    pub fn configure(&self, lines: &[&str]) -> Result<String> {
        let mut cmds = vec!["configure terminal"];
        cmds.extend_from_slice(lines);
        let out = self.vtysh(&cmds)?;
        if out.contains('%') {
            return Err(err!("vtysh config {lines:?} said: {out}"));
        }
        Ok(out)
    }

    /// `show bgp summary json`.
    pub fn summary_json(&self) -> Result<Value> {
        self.vtysh_json("show bgp summary json")
    }

    /// `show ip bgp json` (IPv4 unicast RIB).
    pub fn show_ip_bgp_json(&self) -> Result<Value> {
        self.vtysh_json("show bgp ipv4 unicast json")
    }

    /// `show bgp ipv6 unicast json`.
    pub fn show_ipv6_bgp_json(&self) -> Result<Value> {
        self.vtysh_json("show bgp ipv6 unicast json")
    }

    /// The bgpd process.
    pub fn bgpd(&mut self) -> &mut Daemon {
        &mut self.bgpd
    }
}

fn rib_routes(v: &Value, out: &mut Vec<LearnedRoute>) {
    let Some(routes) = v.get("routes").and_then(Value::as_object) else { return };
    for (pfx, paths) in routes {
        let Ok(prefix) = pfx.parse::<IpNet>() else { continue };
        for path in paths.as_array().into_iter().flatten() {
            let next_hop = path
                .get("nexthops")
                .and_then(|n| n.get(0))
                .and_then(|n| n.get("ip"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            out.push(LearnedRoute { prefix, next_hop });
        }
    }
}

impl Peer for Frr {
    fn established(&self, peer: IpAddr) -> Result<bool> {
        let v = self.vtysh_json(&format!("show bgp neighbors {peer} json"))?;
        Ok(v.get(peer.to_string()).and_then(|n| n.get("bgpState")).and_then(Value::as_str)
            == Some("Established"))
    }

    fn routes(&self) -> Result<Vec<LearnedRoute>> {
        let mut out = Vec::new();
        rib_routes(&self.show_ip_bgp_json()?, &mut out);
        rib_routes(&self.show_ipv6_bgp_json()?, &mut out);
        Ok(out)
    }

    fn dump_state(&self) -> String {
        let mut s = format!("===== FRR in {} ({}) =====\n", self.ns, self.dir.display());
        for cmd in ["show bgp summary", "show bgp ipv4 unicast", "show bgp ipv6 unicast"] {
            let out = self.vtysh(&[cmd]).unwrap_or_else(|e| e.to_string());
            let _ = writeln!(s, "# {cmd}\n{out}");
        }
        let k = run(Command::new("ip").args(["-n", &self.ns, "route"])).unwrap_or_default();
        let _ = writeln!(s, "# ip route\n{k}");
        s.push_str(&self.bgpd.log_tail(40));
        if let Some(z) = &self.zebra {
            s.push_str(&z.log_tail(10));
        }
        s
    }
}
