//! calico-bgpd processes in network namespaces, for the daemon tests: each
//! node writes its config, runs the real binary, and is observed through
//! its log and through `calico-bgpctl` on its control socket.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use interop_tests::{Daemon, Netns, Workdir, wait_until};

pub const BIN: &str = env!("CARGO_BIN_EXE_calico-bgpd");

/// Timers short enough for tests: dial after 1 s, redial every 2 s, error
/// wait 1-2 s, hold 9 s.
pub const FAST_TIMERS: &str = "[timers]\nhold_time = 9\nconnect_delay = 1\nconnect_retry = 2\n\
     error_wait_min = 1\nerror_wait_max = 2\n";

/// A mesh node's configuration: `me` with `blocks`, peering with `others`
/// (name, IPv4 address).
pub fn mesh_config(name: &str, me: &str, blocks: &[&str], others: &[(&str, &str)]) -> String {
    let blocks: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [{}]\n{FAST_TIMERS}",
        blocks.join(", ")
    );
    s.push_str("[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n");
    for (n, ip) in others {
        s.push_str(&format!("[[mesh.nodes]]\nname = \"{n}\"\nipv4 = \"{ip}\"\n"));
    }
    s
}

/// One calico-bgpd node.
pub struct Node {
    pub name: String,
    pub ns: Netns,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub daemon: Option<Daemon>,
    runs: u32,
    /// Runs as a container of `interop_tests::container::BGPD_IMAGE`.
    container: bool,
}

impl Node {
    pub fn new(wd: &Workdir, name: &str) -> Node {
        let ns = Netns::new(name).unwrap();
        let dir = wd.subdir(name).unwrap();
        let config = dir.join("calico-bgpd.toml");
        Node { name: name.into(), ns, dir, config, daemon: None, runs: 0, container: false }
    }

    /// A node whose calico-bgpd runs as a container of the image
    /// `scripts/images.sh` builds, attached to the node's namespace.
    pub fn in_container(wd: &Workdir, name: &str) -> Node {
        let image = interop_tests::container::BGPD_IMAGE;
        assert!(
            interop_tests::container::image_exists(image),
            "{image} is missing: build it with scripts/images.sh"
        );
        Node { container: true, ..Node::new(wd, name) }
    }

    /// Writes the config; the node's own control socket is set unless the
    /// text sets one (the default path would be shared by every node).
    pub fn write_config(&self, text: &str) {
        let text = if text.contains("control_socket") {
            text.to_owned()
        } else {
            format!("control_socket = \"{}\"\n{text}", self.ctl_socket().display())
        };
        std::fs::write(&self.config, text).unwrap();
    }

    /// The node's control socket.
    pub fn ctl_socket(&self) -> PathBuf {
        self.dir.join("bgpd.ctl")
    }

    /// Runs `calico-bgpctl --socket <ours> ARGS` (from the host namespace:
    /// the socket is a file).
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(ctl_binary())
            .arg("--socket")
            .arg(self.ctl_socket())
            .args(args)
            .output()
            .unwrap()
    }

    /// `calico-bgpctl -o json ARGS`: the reply's `data` (null when the
    /// daemon does not answer).
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["data"].clone()
    }

    /// Each peer's (address, state, flaps), from `show peers`.
    pub fn peer_states(&self) -> Vec<(String, String, u64)> {
        let peers = self.ctl_json(&["show", "peers"]);
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
        peers
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (text(&p["address"]), text(&p["state"]), p["flaps"].as_u64().unwrap_or(0)))
            .collect()
    }

    /// Starts the daemon (again); each run logs to its own file.
    pub fn start(&mut self) {
        self.start_env(&[]);
    }

    /// [`Node::start`] with environment variables (Calico's `ETCD_*`, ...).
    pub fn start_env(&mut self, env: &[(&str, &str)]) {
        self.runs += 1;
        let name = format!("bgpd-{}-{}", self.name, self.runs);
        let config = self.config.to_str().unwrap().to_owned();
        let d = if self.container {
            assert!(env.is_empty(), "containers take no environment here");
            let argv = ["/usr/bin/calico-bgpd", "--config", &config];
            let image = interop_tests::container::BGPD_IMAGE;
            Daemon::spawn_container(&self.ns, &name, &self.dir, image, &[], &argv).unwrap()
        } else {
            let argv = [BIN, "--config", &config];
            Daemon::spawn_env(&self.ns, &name, &self.dir, &argv, env).unwrap()
        };
        self.daemon = Some(d);
    }

    /// The current run's log.
    pub fn log(&self) -> String {
        let path = self.dir.join(format!("bgpd-{}-{}.stderr", self.name, self.runs));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    pub fn count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Waits until the log holds `needle` `n` times.
    pub fn wait_log_n(&mut self, needle: &str, n: usize, timeout: Duration) {
        let what = format!("{needle:?} x{n} in {}'s log", self.name);
        let r = wait_until(timeout, &what, || {
            if let Some(d) = self.daemon.as_mut() {
                d.check_running()?;
            }
            Ok(self.count(needle) >= n)
        });
        if let Err(e) = r {
            panic!("{e}\n--- log of {} ---\n{}", self.name, self.log());
        }
    }

    pub fn wait_log(&mut self, needle: &str, timeout: Duration) {
        self.wait_log_n(needle, 1, timeout);
    }

    pub fn signal(&self, sig: &str) {
        self.daemon.as_ref().unwrap().signal(sig).unwrap();
    }

    /// SIGTERM and the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.daemon.as_mut().unwrap().stop(Duration::from_secs(8)).unwrap()
    }
}

/// The `calico-bgpctl` binary of this build. Cargo builds only the bgp
/// package's binaries for its tests, so the ctl one is built here (a no-op
/// when up to date) into the same target directory and profile.
pub fn ctl_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            // target/<profile>/deps/<test binary>
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
            let bin = profile_dir.join("calico-bgpctl");
            let target = profile_dir.parent().unwrap();
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--quiet", "-p", "ctl", "--bin", "calico-bgpctl", "--manifest-path"])
                .arg(&manifest)
                .arg("--target-dir")
                .arg(target);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let built = cmd.status().map(|s| s.success()).unwrap_or(false);
            assert!(
                built || bin.exists(),
                "calico-bgpctl not found at {}: build it with `cargo build -p ctl --bin calico-bgpctl`",
                bin.display()
            );
            bin
        })
        .clone()
}

/// The LAN interface renamed `eth0`, as on a real node.
pub fn as_eth0(ns: &Netns, iface: &str) {
    ns.ip(&["link", "set", iface, "down"]).unwrap();
    ns.ip(&["link", "set", iface, "name", "eth0"]).unwrap();
    ns.ip(&["link", "set", "eth0", "up"]).unwrap();
}

/// `ip -j route show proto bird` (IPv4) as JSON values.
pub fn bird_routes(ns: &Netns) -> Vec<serde_json::Value> {
    let out = ns.ip(&["-j", "route", "show", "proto", "bird"]).unwrap();
    serde_json::from_str(out.trim()).unwrap_or_default()
}

/// Where a scenario's calico-bgpd nodes and FRR routers run: host
/// processes in the namespaces, or containers of the locally built images
/// attached to the same namespaces (`scripts/images.sh`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    Host,
    Containers,
}

impl Run {
    /// A calico-bgpd node run this way.
    pub fn node(self, wd: &Workdir, name: &str) -> Node {
        match self {
            Run::Host => Node::new(wd, name),
            Run::Containers => Node::in_container(wd, name),
        }
    }

    /// An FRR configuration run this way.
    pub fn frr(
        self,
        cfg: interop_tests::peers::frr::FrrConfig,
    ) -> interop_tests::peers::frr::FrrConfig {
        match self {
            Run::Host => cfg,
            Run::Containers => cfg.in_container(),
        }
    }
}

impl Node {
    /// For a failure message: the last `lines` lines of the log, `show
    /// peers`, `show status` and every kernel route of the node.
    pub fn dump_state(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        let mut s = format!("=== {} log ===\n", self.name);
        for l in &all[all.len().saturating_sub(lines)..] {
            s.push_str(l);
            s.push('\n');
        }
        for args in [["show", "peers"], ["show", "status"]] {
            let out = self.ctl(&args);
            s.push_str(&format!("--- {} {args:?} ---\n", self.name));
            s.push_str(&String::from_utf8_lossy(&out.stdout));
            s.push_str(&String::from_utf8_lossy(&out.stderr));
        }
        s.push_str(&interop_tests::kroutes::dump(&self.ns));
        s
    }
}

/// A fatal error (waiting longer cannot help) when the daemon of one of
/// `nodes` has exited: alive is whatever it has exec'd so far, not a zombie.
pub fn check_running(nodes: &[Node]) -> interop_tests::Result<()> {
    for n in nodes {
        let pid = n.daemon.as_ref().map(|d| d.pid());
        if pid.is_some_and(|p| !interop_tests::lab::pid_is_ours(p, "")) {
            return Err(interop_tests::err!("calico-bgpd on {} exited", n.name).fatal());
        }
    }
    Ok(())
}

/// Whether `block` is a `proto bird` route in `ns`: via `via`, or a
/// blackhole when `via` is `None`.
pub fn has_bird_route(ns: &Netns, block: &str, via: Option<&str>) -> bool {
    interop_tests::kroutes::bird_route(ns, block).ok().flatten().is_some_and(|r| match via {
        Some(gw) => r["gateway"] == gw,
        None => r["type"] == "blackhole",
    })
}
