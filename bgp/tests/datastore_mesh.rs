//! calico-bgpd nodes configured only from a real Calico etcd datastore, in
//! network namespaces: each node's TOML names the node and the etcd endpoint,
//! everything else (mesh, blocks, pools, peers) is derived from the v3
//! resources and block affinities etcd holds, and followed while it changes.
//!
//! ```text
//!                    LAN 10.0.9.0/24 (bridge in <lan>-sw)
//!   +-------------+-------------+-------------+--------------+
//!  n1 .1         n2 .2         n3 .3        etcd .100      tor .254 (FRR, AS 65000)
//!  10.244.1/26   10.244.2/26   10.244.3/26  :2379
//! ```
//!
//! `etcd_follows_blocks_node_deletion_and_garbage`: the full mesh from etcd
//! alone; an affinity written at run time becomes a route on the other nodes
//! and a blackhole locally (the put-to-route time is printed); a garbage value
//! is logged with its key and the rest applies; a deleted Node loses its
//! sessions while the others stay untouched, and that node refuses the
//! configuration it cannot derive until its Node is back.
//!
//! `etcd_peers_outage_and_compaction`: a node started before its Node exists
//! waits, its control socket and BIRD-dialect socket answering that it does
//! (`show status`, `check ready` fails, BIRD's `Reconfiguration in
//! progress`), and starts once the Node is written; BGPPeers (by nodeSelector, then global)
//! start sessions with an FRR ToR; etcd killed leaves the sessions up and the
//! error in `show status`, and after the restart a new write arrives; a node cut
//! from etcd while its history is compacted lists again and loses nothing.

mod daemon_common;

use std::time::{Duration, Instant};

use daemon_common::{FAST_TIMERS, Node, check_running, has_bird_route};
use interop_tests::calico::{self, Kv};
use interop_tests::etcd::Etcd;
use interop_tests::kroutes::{bird_route, rename_to_eth0};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(30);
/// BIRD 1.6's client, as calico-node's liveness probe runs it.
const BIRDC: &str = "/opt/bird16/usr/sbin/birdc";
const LAN: &str = "10.0.9.0/24";
const ETCD_IP: &str = "10.0.9.100";
const TOR_IP: &str = "10.0.9.254";
const NODE_AS: u32 = 64512;
const TOR_AS: u32 = 65000;

fn node_ip(i: usize) -> String {
    format!("10.0.9.{}", i + 1)
}

/// Nodes, etcd and the LAN; fields drop in order (daemons, etcd, namespaces,
/// and the work dir last, kept when a check failed).
struct Cluster {
    nodes: Vec<Node>,
    tor: Option<Frr>,
    tor_ns: Option<Netns>,
    etcd: Etcd,
    /// Held so the namespace outlives etcd.
    _etcd_ns: Netns,
    lan: Lan,
    wd: Workdir,
}

impl Cluster {
    /// The LAN, etcd on it and one namespace per node (`name`, labels),
    /// nothing started.
    fn new(tag: &str, nodes: &[(&str, &[(&str, &str)])]) -> (Cluster, Vec<Kv>) {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new(tag, LAN, "").unwrap();
        let etcd_ns = Netns::new("etcd").unwrap();
        lan.attach_host(&etcd_ns, 100).unwrap();
        let etcd = Etcd::start_in(&wd.subdir("etcd").unwrap(), &etcd_ns, ETCD_IP.parse().unwrap())
            .unwrap();
        let mut kvs = Vec::new();
        let mut ns = Vec::new();
        for (i, (name, labels)) in nodes.iter().enumerate() {
            let n = Node::new(&wd, name);
            let iface = lan.attach_host(&n.ns, i as u32 + 1).unwrap();
            rename_to_eth0(&n.ns, &iface).unwrap();
            n.write_config(&format!(
                "log_level = \"info\"\n[node]\nname = \"{name}\"\n{FAST_TIMERS}\
                 [datastore]\ntype = \"etcdv3\"\netcd_endpoints = [\"{}\"]\n",
                etcd.endpoint()
            ));
            kvs.push(calico::node(name, &format!("{}/24", node_ip(i)), labels));
            kvs.push(calico::affinity(name, &format!("10.244.{}.0/26", i + 1)));
            ns.push(n);
        }
        kvs.push(calico::bgp_configuration_default(NODE_AS, true));
        kvs.push(calico::ip_pool("default-ipv4-ippool", "10.244.0.0/16"));
        let c = Cluster { nodes: ns, tor: None, tor_ns: None, etcd, _etcd_ns: etcd_ns, lan, wd };
        (c, kvs)
    }

    fn put(&self, kv: &Kv) -> i64 {
        self.etcd.put(&kv.key, kv.value.as_bytes()).unwrap_or_else(|e| self.fail(&e.msg))
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    /// Everything a failed wait needs: each node's log tail, peers, datastore
    /// status and routes, the ToR, etcd's log and keys.
    fn dump(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            s.push_str(&n.dump_state(40));
        }
        if let Some(t) = &self.tor {
            s.push_str(&t.dump_state());
        }
        s.push_str(&self.etcd.log_tail(20));
        let keys = self.etcd.ctl(&["get", "/calico", "--prefix", "--keys-only"]);
        s.push_str(&format!("\n=== etcd keys ===\n{}", keys.unwrap_or_else(|e| e.msg)));
        s
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.dump())
    }

    /// Polls `check` until it holds; panics with the dump on timeout or as
    /// soon as a daemon has exited.
    fn wait(&self, what: &str, mut check: impl FnMut() -> bool) {
        let r = wait_until(UP, what, || {
            check_running(&self.nodes)?;
            Ok(check())
        });
        if let Err(e) = r {
            self.fail(&e.msg);
        }
    }

    /// Waits for `block` as a `proto bird` route in `on`: via `via`, or a
    /// blackhole when `via` is `None`.
    fn wait_route(&self, on: &str, block: &str, via: Option<&str>) {
        let ns = &self.node(on).ns;
        self.wait(&format!("{block} via {via:?} on {on}"), || has_bird_route(ns, block, via));
    }

    fn wait_no_route(&self, on: &str, block: &str) {
        let ns = &self.node(on).ns;
        self.wait(&format!("{block} gone from {on}"), || {
            bird_route(ns, block).is_ok_and(|r| r.is_none())
        });
    }

    /// Waits until `on` has exactly `peers` Established (and no other peer).
    fn wait_sessions(&self, on: &str, peers: &[&str]) {
        let n = self.node(on);
        self.wait(&format!("{on}: exactly {peers:?} Established"), || {
            let all = show_peers(n);
            all.len() == peers.len()
                && all.iter().all(|p| {
                    p["state"] == "Established"
                        && peers.iter().any(|want| p["address"].as_str() == Some(want))
                })
        });
    }
}

/// `show peers -o json`: the peer snapshots.
fn show_peers(n: &Node) -> Vec<Value> {
    let out = n.ctl(&["-o", "json", "show", "peers"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["data"].as_array().cloned().unwrap_or_default()
}

/// `show status -o json`: the status.
fn show_status(n: &Node) -> Value {
    let out = n.ctl(&["-o", "json", "show", "status"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["data"].clone()
}

/// `n` answers `show status` with a configuration from the datastore and no peers.
fn running_alone(n: &Node) -> bool {
    show_status(n)["datastore"]["revision_applied"].as_i64().is_some() && show_peers(n).is_empty()
}

/// Each peer's (address, flaps) on `n`, sorted.
fn flaps(n: &Node) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = show_peers(n)
        .iter()
        .map(|p| {
            (p["address"].as_str().unwrap_or("?").to_owned(), p["flaps"].as_u64().unwrap_or(0))
        })
        .collect();
    v.sort();
    v
}

/// The highest revision the node's log says it applied.
fn applied(n: &Node) -> i64 {
    n.log()
        .lines()
        .filter_map(|l| l.split("datastore: revision ").nth(1))
        .filter_map(|r| r.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn etcd_follows_blocks_node_deletion_and_garbage() {
    let (mut c, kvs) = Cluster::new("dsm", &[("n1", &[]), ("n2", &[]), ("n3", &[])]);
    for kv in &kvs {
        c.put(kv);
    }
    for n in &mut c.nodes {
        n.start();
    }
    let (i1, i2, i3) = (node_ip(0), node_ip(1), node_ip(2));

    // 1. The full mesh, from etcd alone.
    c.wait_sessions("n1", &[&i2, &i3]);
    c.wait_sessions("n2", &[&i1, &i3]);
    c.wait_sessions("n3", &[&i1, &i2]);
    for (i, me) in ["n1", "n2", "n3"].iter().enumerate() {
        for j in 0..3 {
            let block = format!("10.244.{}.0/26", j + 1);
            let via = (i != j).then(|| node_ip(j));
            c.wait_route(me, &block, via.as_deref());
        }
    }
    let before: Vec<Vec<(String, u64)>> = c.nodes.iter().map(flaps).collect();
    assert!(before.iter().flatten().all(|(_, f)| *f == 0), "{before:?}\n{}", c.dump());

    // 2. An affinity written at run time: a route on the others, a blackhole here.
    let put = Instant::now();
    c.put(&calico::affinity("n1", "10.244.11.0/26"));
    c.wait_route("n2", "10.244.11.0/26", Some(&i1));
    println!("put -> route on n2: {:?}", put.elapsed());
    c.wait_route("n3", "10.244.11.0/26", Some(&i1));
    c.wait_route("n1", "10.244.11.0/26", None);

    // 3. A garbage value is logged with its key; a later change still applies.
    let garbage = format!("{}/bgppeers/garbage", calico::RESOURCES);
    c.etcd.put(&garbage, b"{not json").unwrap();
    let rev = c.put(&calico::affinity("n2", "10.244.12.0/26"));
    c.wait_route("n1", "10.244.12.0/26", Some(&i2));
    c.wait_route("n2", "10.244.12.0/26", None);
    for n in &c.nodes {
        c.wait(&format!("{} applied revision {rev}", n.name), || applied(n) >= rev);
        assert!(n.log().contains(&garbage), "{}: garbage key not logged\n{}", n.name, c.dump());
        // `show status` is published a moment after the log line.
        c.wait(&format!("{}'s show status to list the garbage key", n.name), || {
            let ds = &show_status(n)["datastore"];
            ds["revision_applied"].as_i64() >= Some(rev)
                && ds["problems"].to_string().contains(&garbage)
        });
    }

    // 4. n3's Node deleted: n1 and n2 drop it, their own session untouched.
    c.etcd.del(&calico::node_key("n3")).unwrap();
    c.wait_sessions("n1", &[&i2]);
    c.wait_sessions("n2", &[&i1]);
    c.wait_no_route("n1", "10.244.3.0/26");
    c.wait_no_route("n2", "10.244.3.0/26");
    for n in &c.nodes[..2] {
        assert!(flaps(n).iter().all(|(_, f)| *f == 0), "{}: {:?}\n{}", n.name, flaps(n), c.dump());
    }
    for (n, other) in [(&c.nodes[0], &i2), (&c.nodes[1], &i1)] {
        let up = n.count(&format!("peer {other} established"));
        assert_eq!(up, 1, "{}: session with {other} reset\n{}", n.name, c.dump());
    }
    // n3 cannot derive a configuration without its Node: refused, it keeps
    // running on the last one.
    let n3 = c.node("n3");
    c.wait("n3 to refuse the snapshot without its Node", || {
        !show_status(n3)["datastore"]["refused"].is_null()
    });

    // 5. n3's Node back: the mesh is whole again, n3's refusal is cleared.
    c.put(&calico::node("n3", &format!("{i3}/24"), &[]));
    c.wait_sessions("n1", &[&i2, &i3]);
    c.wait_sessions("n2", &[&i1, &i3]);
    c.wait_sessions("n3", &[&i1, &i2]);
    c.wait_route("n1", "10.244.3.0/26", Some(&i3));
    c.wait("n3's refusal to clear", || show_status(n3)["datastore"]["refused"].is_null());
    assert_eq!(c.node("n1").count(&format!("peer {i2} established")), 1, "{}", c.dump());
    // The garbage was logged once, not again with every later revision.
    assert_eq!(c.node("n1").count(&garbage), 1, "{}", c.dump());
}

#[test]
fn etcd_peers_outage_and_compaction() {
    let (mut c, kvs) = Cluster::new("dsp", &[("n1", &[("rack", "a")]), ("n2", &[("rack", "b")])]);
    let (i1, i2) = (node_ip(0), node_ip(1));
    let tor_ns = Netns::new("tor").unwrap();
    c.lan.attach_host(&tor_ns, 254).unwrap();
    let tor = FrrConfig::new(TOR_AS, TOR_IP.parse().unwrap())
        .neighbor(Neighbor::new(i1.parse().unwrap(), NODE_AS))
        .neighbor(Neighbor::new(i2.parse().unwrap(), NODE_AS))
        .without_kernel()
        .start(&tor_ns, &c.wd.subdir("tor").unwrap())
        .unwrap();
    c.tor = Some(tor);
    c.tor_ns = Some(tor_ns);
    // n2 starts before its Node exists, as a node joining the cluster: it
    // waits for a snapshot it can run, with its sockets up.
    let n2_node = calico::node_key("n2");
    let n2 = c.node("n2");
    let with_bird = format!(
        "{}[bird_compat]\nipv4_socket = \"{}\"\n",
        std::fs::read_to_string(&n2.config).unwrap(),
        n2.dir.join("bird.ctl").display()
    );
    n2.write_config(&with_bird);
    for kv in kvs.iter().filter(|kv| kv.key != n2_node) {
        c.put(kv);
    }
    for n in &mut c.nodes {
        n.start();
    }
    let n2 = c.node("n2");
    c.wait("n2 to wait for its Node", || n2.log().contains("cannot run this configuration yet"));
    // Meanwhile its control socket and BIRD-dialect socket answer and say why.
    c.wait("n2's show status to say it waits for its Node", || {
        show_status(n2)["waiting"].as_str().is_some_and(|w| w.contains("no Calico Node"))
    });
    let text = String::from_utf8_lossy(&n2.ctl(&["show", "status"]).stdout).into_owned();
    assert!(text.contains("Waiting for the datastore: "), "{text}\n{}", c.dump());
    let ready = n2.ctl(&["check", "ready"]);
    let why = String::from_utf8_lossy(&ready.stderr).into_owned();
    assert!(!ready.status.success() && why.contains("waiting for the datastore"), "{why}");
    assert!(n2.ctl(&["check", "live"]).status.success(), "{}", c.dump());
    let birdc = std::process::Command::new(BIRDC)
        .arg("-s")
        .arg(n2.dir.join("bird.ctl"))
        .args(["show", "status"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let bird = String::from_utf8_lossy(&birdc.stdout).into_owned();
    assert!(bird.starts_with("BIRD") && bird.contains("Reconfiguration in progress"), "{bird}");
    c.wait("n1 without peers", || running_alone(c.node("n1")));
    c.put(kvs.iter().find(|kv| kv.key == n2_node).unwrap());
    c.wait_sessions("n1", &[&i2]);
    c.wait_sessions("n2", &[&i1]);

    // 1. A BGPPeer selecting rack a: n1 peers with the ToR, n2 does not.
    c.put(&calico::bgp_peer("tor-rack-a", TOR_IP, TOR_AS, Some("rack == 'a'")));
    c.wait_sessions("n1", &[&i2, TOR_IP]);
    let tor = c.tor.as_ref().unwrap();
    if let Err(e) = tor.wait_established(i1.parse().unwrap(), UP) {
        c.fail(&e.msg);
    }
    assert_eq!(show_peers(c.node("n2")).len(), 1, "{}", c.dump());
    // 2. A global BGPPeer: n2 too.
    c.put(&calico::bgp_peer("tor", TOR_IP, TOR_AS, None));
    c.etcd.del(&calico::bgp_peer_key("tor-rack-a")).unwrap();
    c.wait_sessions("n2", &[&i1, TOR_IP]);
    c.wait_sessions("n1", &[&i2, TOR_IP]);
    if let Err(e) = tor.wait_established(i2.parse().unwrap(), UP) {
        c.fail(&e.msg);
    }
    if let Err(e) = tor.wait_route("10.244.2.0/26", UP) {
        c.fail(&e.msg);
    }
    let mesh_flaps = |c: &Cluster| -> Vec<(String, u64)> {
        c.nodes.iter().flat_map(flaps).filter(|(a, _)| a != TOR_IP).collect()
    };
    let before = mesh_flaps(&c);

    // 3. etcd killed: the sessions stay, the status shows the error.
    c.etcd.kill().unwrap();
    for n in &c.nodes {
        c.wait(&format!("{}'s status to show the datastore error", n.name), || {
            let ds = &show_status(n)["datastore"];
            ds["connected"] == false && !ds["last_error"].is_null()
        });
    }
    let tor_flaps: Vec<u64> =
        c.nodes.iter().flat_map(flaps).filter(|(a, _)| a == TOR_IP).map(|(_, f)| f).collect();
    for n in ["n1", "n2"] {
        c.wait_sessions(n, &[if n == "n1" { &i2 } else { &i1 }, TOR_IP]);
    }

    // 4. etcd back: a change written after the restart arrives.
    c.etcd.restart().unwrap();
    c.put(&calico::affinity("n2", "10.244.21.0/26"));
    c.wait_route("n2", "10.244.21.0/26", None);
    c.wait_route("n1", "10.244.21.0/26", Some(&i2));
    if let Err(e) = tor.wait_route("10.244.21.0/26", UP) {
        c.fail(&e.msg);
    }
    for n in &c.nodes {
        c.wait(&format!("{} connected again", n.name), || {
            show_status(n)["datastore"]["connected"] == true
        });
    }

    // 5. n2 cut from etcd while its history is compacted: it lists again.
    let n2 = c.node("n2");
    let cuts = n2.count("keeping the last snapshot and reconnecting");
    n2.ns.ip(&["route", "add", "unreachable", &format!("{ETCD_IP}/32")]).unwrap();
    n2.ns.exec(&["ss", "-K", "dst", ETCD_IP]).unwrap();
    c.wait("n2 to notice the cut", || {
        n2.count("keeping the last snapshot and reconnecting") > cuts
    });
    let n1_node = calico::node("n1", &format!("{i1}/24"), &[("rack", "a")]);
    for _ in 0..10 {
        c.put(&n1_node);
    }
    c.etcd.del(&calico::affinity_key("n2", "10.244.21.0/26")).unwrap();
    let last = c.put(&calico::affinity("n2", "10.244.22.0/26"));
    c.etcd.compact(last).unwrap();
    n2.ns.ip(&["route", "del", "unreachable", &format!("{ETCD_IP}/32")]).unwrap();
    c.wait_route("n2", "10.244.22.0/26", None);
    c.wait_no_route("n2", "10.244.21.0/26");
    c.wait_route("n1", "10.244.22.0/26", Some(&i2));
    c.wait_no_route("n1", "10.244.21.0/26");
    assert!(n2.log().contains("compacted"), "n2 did not list again\n{}", c.dump());
    let after = c.put(&calico::affinity("n2", "10.244.23.0/26"));
    c.wait_route("n2", "10.244.23.0/26", None);
    c.wait(&format!("n2 applied revision {after}"), || applied(n2) >= after);

    // Through all of it, no mesh session and no ToR session was reset.
    assert_eq!(mesh_flaps(&c), before, "{}", c.dump());
    let tor_after: Vec<u64> =
        c.nodes.iter().flat_map(flaps).filter(|(a, _)| a == TOR_IP).map(|(_, f)| f).collect();
    assert_eq!(tor_after, tor_flaps, "{}", c.dump());
}
