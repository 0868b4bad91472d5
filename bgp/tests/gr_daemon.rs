//! Graceful restart of calico-bgpd in a three-node mesh, in network
//! namespaces: pods on every node ping pods on the others at 10
//! per second during each restart, and `ip monitor route` runs on every
//! node. A restart must lose no ping and delete no route that is still
//! right, on any node:
//!
//! 1. SIGKILL and restart of one node: its kernel routes persist (it
//!    recovers from them), the others keep its routes stale (helpers);
//! 2. the same with SIGTERM (a planned restart: Cease / Administrative
//!    Reset with the N bit, RFC 8538);
//! 3. two nodes killed and restarted together converge as soon as the End-
//!    of-RIBs arrive (each does not wait for the other, which is
//!    restarting too), not after the 240 s upper bound;
//! 4. a second kill during the recovery of the first keeps the routes;
//! 5. a killed node is dialed again at once by the survivor that dials it,
//!    listened for at once by the passive one, and dials at once itself
//!    (a restarting speaker): with ConnectRetry and error wait at 30 s, the
//!    sessions are back long before either;
//! 6. FRR restarting with graceful restart (bgpd killed and started again):
//!    its route never leaves our kernel (`ip monitor route`), and `show
//!    peer` says `peer_restarting` meanwhile.

mod daemon_common;

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use daemon_common::{FAST_TIMERS, Node, Run, as_eth0, bird_routes};
use interop_tests::{Lan, Netns, Pod, Workdir, wait_until};

const UP: Duration = Duration::from_secs(25);

fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn wait_route(ns: &Netns, dst: &str) {
    wait_until(UP, &format!("{dst} proto bird in {}", ns.name()), || {
        Ok(bird_routes(ns).iter().any(|r| r["dst"] == dst))
    })
    .unwrap();
}

/// A ping at 10 per second, in the background, stopped by its PID.
struct Pinger {
    what: String,
    child: Child,
    out: PathBuf,
}

impl Pinger {
    fn start(from: &Pod, to: Ipv4Addr, dir: &std::path::Path) -> Pinger {
        let what = format!("{} -> {to}", from.ipv4());
        let out = dir.join(format!("ping-{}-{to}.txt", from.ipv4()));
        let child = from
            .ns()
            .command("ping")
            .args(["-i", "0.1", "-W", "1", &to.to_string()])
            .stdout(Stdio::from(File::create(&out).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Pinger { what, child, out }
    }

    /// Stops it (SIGINT: ping prints its summary) and returns (sent, lost).
    fn stop(mut self) -> (u64, u64) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill").args(["-INT", &pid]).status();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let line = text.lines().find(|l| l.contains("packets transmitted")).unwrap_or("");
        let num = |key: &str| -> u64 {
            line.split(',')
                .find(|p| p.contains(key))
                .and_then(|p| p.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let (sent, got) = (num("transmitted"), num("received"));
        assert!(sent > 0, "{}: no summary:\n{text}", self.what);
        (sent, sent - got.min(sent))
    }
}

/// `ip -n NS monitor route` in the background, stopped by its PID.
struct Monitor {
    node: String,
    child: Child,
    out: PathBuf,
}

impl Monitor {
    fn start(ns: &Netns, node: &str, dir: &std::path::Path) -> Monitor {
        let out = dir.join(format!("monitor-{node}.txt"));
        let child = std::process::Command::new("ip")
            .args(["-n", ns.name(), "monitor", "route"])
            .stdout(Stdio::from(File::create(&out).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Monitor { node: node.to_owned(), child, out }
    }

    /// Stops it and returns the lines deleting one of `prefixes`.
    fn deletes(mut self, prefixes: &[&str]) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with("Deleted") && prefixes.iter().any(|p| l.contains(p)))
            .map(|l| format!("{}: {l}", self.node))
            .collect()
    }
}

const BLOCKS: [&str; 3] = ["10.244.1.0/26", "10.244.2.0/26", "10.244.3.0/26"];
const ADDRS: [&str; 3] = ["10.0.8.1", "10.0.8.2", "10.0.8.3"];
const NAMES: [&str; 3] = ["a", "b", "c"];

/// Three mesh nodes with a pod each, every block installed everywhere.
struct Mesh {
    wd: Workdir,
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    _lan: Lan,
}

impl Mesh {
    fn new(tag: &str) -> Mesh {
        Mesh::with_timers(tag, FAST_TIMERS)
    }

    /// [`Mesh::new`] with the `[timers]` section `timers`.
    fn with_timers(tag: &str, timers: &str) -> Mesh {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new("grd", "10.0.8.0/24", "").unwrap();
        let mut nodes: Vec<Node> = NAMES.iter().map(|n| Node::new(&wd, n)).collect();
        for n in &nodes {
            let i = lan.attach(&n.ns).unwrap();
            as_eth0(&n.ns, &i.name);
        }
        for i in 0..3 {
            let mut peers = String::new();
            for j in (0..3).filter(|j| *j != i) {
                peers.push_str(&format!(
                    "[[mesh.nodes]]\nname = \"{}\"\nipv4 = \"{}\"\n",
                    NAMES[j], ADDRS[j]
                ));
            }
            nodes[i].write_config(&format!(
                "log_level = \"debug\"\n[node]\nname = \"{}\"\nipv4 = \"{}/24\"\n\
                 blocks = [\"{}\"]\n{timers}{peers}[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n",
                NAMES[i], ADDRS[i], BLOCKS[i]
            ));
        }
        for n in &mut nodes {
            n.start();
        }
        for (i, n) in nodes.iter().enumerate() {
            for (j, b) in BLOCKS.iter().enumerate() {
                if i != j {
                    wait_route(&n.ns, b);
                }
            }
        }
        let pods: Vec<Pod> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let ip = format!("10.244.{}.5", i + 1);
                Pod::new(&n.ns, &format!("p{}", NAMES[i]), ip4(&ip), None).unwrap()
            })
            .collect();
        for p in &pods {
            for q in &pods {
                if p.ipv4() != q.ipv4() {
                    p.wait_ping(IpAddr::V4(q.ipv4()), UP).unwrap();
                }
            }
        }
        Mesh { wd, nodes, pods, _lan: lan }
    }

    /// Pings between every pair of pods, both ways, and a route monitor
    /// on every node.
    fn watch(&self) -> (Vec<Pinger>, Vec<Monitor>) {
        let dir = self.wd.path().to_path_buf();
        let mut pingers = Vec::new();
        for p in &self.pods {
            for q in &self.pods {
                if p.ipv4() != q.ipv4() {
                    pingers.push(Pinger::start(p, q.ipv4(), &dir));
                }
            }
        }
        let monitors = self.nodes.iter().map(|n| Monitor::start(&n.ns, &n.name, &dir)).collect();
        // Let every pinger get going before anything happens.
        std::thread::sleep(Duration::from_millis(500));
        (pingers, monitors)
    }

    /// Stops the watchers: no ping lost, no block deleted anywhere.
    fn check(&self, (pingers, monitors): (Vec<Pinger>, Vec<Monitor>)) {
        let mut problems = Vec::new();
        for p in pingers {
            let what = p.what.clone();
            let (sent, lost) = p.stop();
            if lost > 0 {
                problems.push(format!("{what}: {lost} of {sent} pings lost"));
            }
        }
        for m in monitors {
            problems.extend(m.deletes(&BLOCKS));
        }
        if !problems.is_empty() {
            let logs: String =
                self.nodes.iter().map(|n| format!("=== {} ===\n{}\n", n.name, n.log())).collect();
            panic!("{}\n{logs}", problems.join("\n"));
        }
    }

    /// Waits until every node has every session Established.
    fn wait_all_established(&self, timeout: Duration) {
        let r = wait_until(timeout, "every session Established", || {
            Ok(self.nodes.iter().all(|n| {
                let peers = n.peer_states();
                peers.len() == 2 && peers.iter().all(|p| p.1 == "Established")
            }))
        });
        if let Err(e) = r {
            let states: String = self
                .nodes
                .iter()
                .map(|n| format!("=== {} ===\n{:?}\n{}\n", n.name, n.peer_states(), n.log()))
                .collect();
            panic!("{e}\n{states}");
        }
    }

    /// Waits for node `i`'s recovery to end; returns how it was logged.
    fn wait_recovered(&mut self, i: usize, timeout: Duration) -> String {
        self.nodes[i].wait_log("graceful restart: recovery", timeout);
        self.nodes[i].wait_log("R bit cleared", timeout);
        let log = self.nodes[i].log();
        log.lines().find(|l| l.contains("graceful restart: recovery ")).unwrap_or("").to_owned()
    }

    fn stop(mut self) {
        for n in &mut self.nodes {
            let _ = n.stop();
        }
    }
}

#[test]
fn sigkill_and_restart_of_one_node_loses_no_ping_and_deletes_no_route() {
    let mut m = Mesh::new("grd-kill");
    let w = m.watch();
    m.nodes[1].signal("KILL");
    let _ = m.nodes[1].stop();
    std::thread::sleep(Duration::from_secs(2));
    m.nodes[1].start();
    m.nodes[1].wait_log("route(s) of a previous run in the kernel: recovering", UP);
    let how = m.wait_recovered(1, UP);
    assert!(how.contains("Converged"), "{how}");
    // The helpers kept b's routes and saw it come back.
    for i in [0, 2] {
        assert!(m.nodes[i].log().contains("keeping routes of"), "{}", m.nodes[i].log());
    }
    std::thread::sleep(Duration::from_secs(2));
    m.check(w);
    m.stop();
}

/// A ConnectRetry time and an error wait of 30 s: a session back in less
/// came back by neither.
const SLOW_RETRY_TIMERS: &str = "[timers]\nhold_time = 9\nconnect_delay = 1\n\
     connect_retry = 30\nerror_wait_min = 30\nerror_wait_max = 60\n";

#[test]
fn a_killed_node_is_redialed_at_once_not_after_the_connect_retry_time_or_the_error_wait() {
    let mut m = Mesh::with_timers("grd-redial", SLOW_RETRY_TIMERS);
    let w = m.watch();
    // The greater address dials: c dials b, b dials a.
    m.nodes[1].signal("KILL");
    let _ = m.nodes[1].stop();
    std::thread::sleep(Duration::from_secs(1));
    m.nodes[1].start();
    // Back within the ConnectRetry time and the error wait: c dialed b at
    // once and retried its refused dial after the connect delay, b (a
    // restarting speaker) dialed a at once, and a listened at once.
    m.wait_all_established(Duration::from_secs(20));
    let b = "peer 10.0.8.2 (Mesh_10_0_8_2): Established -> ";
    for (i, to) in [(2, "Connect"), (0, "Active")] {
        let log = m.nodes[i].log();
        assert!(log.contains(&format!("{b}{to}")), "{}: {log}", m.nodes[i].name);
        assert!(!log.contains(&format!("{b}Idle")), "{}: {log}", m.nodes[i].name);
    }
    let how = m.wait_recovered(1, UP);
    assert!(how.contains("Converged"), "{how}");
    std::thread::sleep(Duration::from_secs(2));
    m.check(w);
    m.stop();
}

#[test]
fn sigterm_and_restart_of_one_node_loses_no_ping_and_deletes_no_route() {
    let mut m = Mesh::new("grd-term");
    let w = m.watch();
    assert!(m.nodes[1].stop().success());
    // The planned restart was a graceful one for the peers.
    m.nodes[0].wait_log("calico-bgpd restarting", UP);
    std::thread::sleep(Duration::from_secs(2));
    m.nodes[1].start();
    let how = m.wait_recovered(1, UP);
    assert!(how.contains("Converged"), "{how}");
    std::thread::sleep(Duration::from_secs(2));
    m.check(w);
    m.stop();
}

#[test]
fn two_nodes_restarting_together_converge_on_end_of_rib_not_the_upper_bound() {
    let mut m = Mesh::new("grd-two");
    let w = m.watch();
    for i in [1, 2] {
        m.nodes[i].signal("KILL");
    }
    for i in [1, 2] {
        let _ = m.nodes[i].stop();
    }
    std::thread::sleep(Duration::from_secs(1));
    let t = Instant::now();
    for i in [1, 2] {
        m.nodes[i].start();
    }
    for i in [1, 2] {
        let how = m.wait_recovered(i, Duration::from_secs(30));
        assert!(how.contains("Converged"), "{how}");
    }
    let took = t.elapsed();
    assert!(took < Duration::from_secs(30), "converged after {took:?}");
    std::thread::sleep(Duration::from_secs(2));
    m.check(w);
    m.stop();
}

#[test]
fn a_restart_during_recovery_keeps_the_routes() {
    let mut m = Mesh::new("grd-twice");
    let w = m.watch();
    m.nodes[1].signal("KILL");
    let _ = m.nodes[1].stop();
    m.nodes[1].start();
    // Killed again while it recovers (before its peers' End-of-RIBs).
    m.nodes[1].wait_log("recovering", UP);
    m.nodes[1].signal("KILL");
    let _ = m.nodes[1].stop();
    std::thread::sleep(Duration::from_secs(1));
    m.nodes[1].start();
    let how = m.wait_recovered(1, UP);
    assert!(how.contains("Converged"), "{how}");
    std::thread::sleep(Duration::from_secs(2));
    m.check(w);
    m.stop();
}

#[test]
fn frr_restarting_with_graceful_restart_keeps_its_route_in_our_kernel() {
    frr_restarting(Run::Host);
}

#[test]
fn in_containers_frr_restarting_with_graceful_restart_keeps_its_route_in_our_kernel() {
    frr_restarting(Run::Containers);
}

fn frr_restarting(run: Run) {
    use interop_tests::peers::frr::FrrConfig;
    use interop_tests::peers::{Neighbor, Route};

    let wd = Workdir::new("grd-frr").unwrap();
    let mut lan = Lan::new("grf", "10.0.9.0/24", "").unwrap();
    let mut me = run.node(&wd, "calico");
    let tor = Netns::new("tor").unwrap();
    let i = lan.attach(&me.ns).unwrap();
    as_eth0(&me.ns, &i.name);
    lan.attach_host(&tor, 254).unwrap();
    let (ours, tor_ip) = ("10.0.9.1", "10.0.9.254");
    me.write_config(&format!(
        "log_level = \"debug\"\n[node]\nname = \"calico\"\nipv4 = \"{ours}/24\"\n\
         blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}[mesh]\nenabled = false\n\
         [[peers]]\nname = \"tor\"\naddress = \"{tor_ip}\"\nremote_as = 65000\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
    ));
    me.start();
    // FRR with graceful restart, keeping its forwarding state (F bit).
    let frr_cfg = || {
        run.frr(FrrConfig::new(65000, tor_ip.parse().unwrap()))
            .without_kernel()
            .graceful_restart()
            .bgp_line("bgp graceful-restart preserve-fw-state")
            .neighbor(Neighbor::new(ours.parse().unwrap(), 64512))
            .route(Route::new("10.101.0.0/24"))
    };
    let mut frr = frr_cfg().start(&tor, &wd.subdir("frr1").unwrap()).unwrap();
    wait_route(&me.ns, "10.101.0.0/24");
    let mon = Monitor::start(&me.ns, "calico", wd.path());
    std::thread::sleep(Duration::from_millis(300));

    frr.bgpd().signal("KILL").unwrap();
    let _ = frr.bgpd().stop(Duration::from_secs(2));
    me.wait_log(&format!("peer {tor_ip} down"), UP);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        bird_routes(&me.ns).iter().any(|r| r["dst"] == "10.101.0.0/24"),
        "kept while FRR is away"
    );
    let peer = me.ctl(&["-o", "json", "show", "peer", tor_ip]);
    let text = String::from_utf8_lossy(&peer.stdout);
    assert!(text.contains("peer_restarting"), "{text}");

    let frr2 = frr_cfg().start(&tor, &wd.subdir("frr2").unwrap()).unwrap();
    me.wait_log_n(&format!("peer {tor_ip}: End-of-RIB"), 2, UP);
    std::thread::sleep(Duration::from_secs(1));
    let deleted = mon.deletes(&["10.101.0.0/24"]);
    assert!(deleted.is_empty(), "{deleted:?}\n{}", me.log());
    assert!(bird_routes(&me.ns).iter().any(|r| r["dst"] == "10.101.0.0/24"));
    drop(frr2);
    let _ = me.stop();
}
