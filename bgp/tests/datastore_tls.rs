//! calico-bgpd configured as calico-node is, from Calico's environment
//! variables alone, against an etcd that requires client certificates, in
//! network namespaces; then reloaded (SIGHUP) while following it.
//!
//! ```text
//!            LAN 10.0.6.0/24 (bridge in <lan>-sw)
//!   n1 .1 (10.244.1.0/26)   n2 .2 (10.244.2.0/26)   etcd .100 https://10.0.6.100:2379
//!   TOML: [node] name, [datastore] type = "etcdv3"; nothing else
//!   env:  ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE
//! ```
//!
//! The CA, etcd's certificate (for 10.0.6.100) and the client certificate
//! are made with `openssl` by the test.
//!
//! `env_only_tls_etcd_and_a_sighup_that_keeps_the_datastore`: the mesh and
//! the blocks come from etcd over TLS; `show status` names the endpoint from
//! ETCD_ENDPOINTS. n1's TOML then changes its `log_level` and n1 gets
//! SIGHUP: the new level applies (debug lines appear), the datastore part
//! stays (same peers, blocks, revision), no session resets, and a block
//! written to etcd afterwards still arrives.

mod daemon_common;

use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node, check_running, has_bird_route};
use interop_tests::calico::{self, Kv};
use interop_tests::etcd::{Etcd, EtcdTls};
use interop_tests::kroutes::{bird_route, rename_to_eth0};
use interop_tests::{Lan, Netns, Workdir, wait_until};

const UP: Duration = Duration::from_secs(30);
const LAN: &str = "10.0.6.0/24";
const ETCD_IP: &str = "10.0.6.100";

fn node_ip(i: usize) -> String {
    format!("10.0.6.{}", i + 1)
}

/// The local file of a node configured by the environment: name and type.
fn local_toml(name: &str, level: &str) -> String {
    format!(
        "log_level = \"{level}\"\n[node]\nname = \"{name}\"\n{FAST_TIMERS}\
         [datastore]\ntype = \"etcdv3\"\n"
    )
}

struct Cluster {
    nodes: Vec<Node>,
    etcd: Etcd,
    _etcd_ns: Netns,
    _lan: Lan,
    _wd: Workdir,
}

impl Cluster {
    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    fn put(&self, kv: &Kv) -> i64 {
        self.etcd.put(&kv.key, kv.value.as_bytes()).unwrap_or_else(|e| self.fail(&e.msg))
    }

    fn dump(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            s.push_str(&n.dump_state(usize::MAX));
        }
        s.push_str(&self.etcd.log_tail(20));
        s
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.dump())
    }

    fn wait(&self, what: &str, mut check: impl FnMut() -> bool) {
        let r = wait_until(UP, what, || {
            check_running(&self.nodes)?;
            Ok(check())
        });
        if let Err(e) = r {
            self.fail(&e.msg);
        }
    }

    fn wait_route(&self, on: &str, block: &str, via: Option<&str>) {
        let ns = &self.node(on).ns;
        self.wait(&format!("{block} via {via:?} on {on}"), || has_bird_route(ns, block, via));
    }
}

#[test]
fn env_only_tls_etcd_and_a_sighup_that_keeps_the_datastore() {
    let wd = Workdir::new("dstls").unwrap();
    let mut lan = Lan::new("dstls", LAN, "").unwrap();
    let etcd_ns = Netns::new("etcd").unwrap();
    lan.attach_host(&etcd_ns, 100).unwrap();
    let tls =
        EtcdTls::generate_for(&wd.subdir("pki").unwrap(), &[ETCD_IP.parse().unwrap()]).unwrap();
    let etcd = Etcd::start_in_tls(
        &wd.subdir("etcd").unwrap(),
        &etcd_ns,
        ETCD_IP.parse().unwrap(),
        Some(tls.clone()),
    )
    .unwrap();
    let mut nodes = Vec::new();
    for (i, name) in ["n1", "n2"].iter().enumerate() {
        let n = Node::new(&wd, name);
        let iface = lan.attach_host(&n.ns, i as u32 + 1).unwrap();
        rename_to_eth0(&n.ns, &iface).unwrap();
        n.write_config(&local_toml(name, "info"));
        nodes.push(n);
    }
    let mut c = Cluster { nodes, etcd, _etcd_ns: etcd_ns, _lan: lan, _wd: wd };
    for (i, name) in ["n1", "n2"].iter().enumerate() {
        c.put(&calico::node(name, &format!("{}/24", node_ip(i)), &[]));
        c.put(&calico::affinity(name, &format!("10.244.{}.0/26", i + 1)));
    }
    c.put(&calico::bgp_configuration_default(64512, true));
    c.put(&calico::ip_pool("default-ipv4-ippool", "10.244.0.0/16"));

    // Calico's variables, as calico-node's environment carries them.
    let endpoint = c.etcd.endpoint();
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    let (ca, cert, key) = (
        tls.ca.display().to_string(),
        tls.client_cert.display().to_string(),
        tls.client_key.display().to_string(),
    );
    let env = [
        ("ETCD_ENDPOINTS", endpoint.as_str()),
        ("ETCD_CA_CERT_FILE", ca.as_str()),
        ("ETCD_CERT_FILE", cert.as_str()),
        ("ETCD_KEY_FILE", key.as_str()),
    ];
    for n in &mut c.nodes {
        n.start_env(&env);
    }
    let (i1, i2) = (node_ip(0), node_ip(1));

    // 1. The mesh and the blocks, from etcd over TLS.
    // Both ends: each daemon publishes its own view of the session.
    c.wait("n1 and n2 established with each other", || {
        c.node("n1").peer_states() == [(i2.clone(), "Established".to_owned(), 0)]
            && c.node("n2").peer_states() == [(i1.clone(), "Established".to_owned(), 0)]
    });
    c.wait_route("n1", "10.244.2.0/26", Some(&i2));
    c.wait_route("n2", "10.244.1.0/26", Some(&i1));
    c.wait_route("n1", "10.244.1.0/26", None);
    let ds = c.node("n1").ctl_json(&["show", "status"])["datastore"].clone();
    assert_eq!(ds["endpoint"], endpoint.as_str(), "{ds}");
    assert_eq!(ds["connected"], true, "{ds}");
    let revision = ds["revision_applied"].as_i64().unwrap_or_else(|| c.fail("no revision"));

    // 2. n1's local file changes its log level; SIGHUP.
    let n1 = c.node("n1");
    std::fs::write(
        &n1.config,
        std::fs::read_to_string(&n1.config)
            .unwrap()
            .replace("log_level = \"info\"", "log_level = \"debug\""),
    )
    .unwrap();
    let reloads = n1.count("reloading ");
    n1.signal("HUP");
    c.wait("n1 to reload", || n1.count("reloading ") > reloads);
    c.wait("n1's reload to be applied", || {
        n1.ctl_json(&["show", "status"])["last_reconfig"]["result"]["status"] == "applied"
    });
    // The new level is in force: a `show routes` walk is logged at debug.
    c.wait("a debug line after the reload", || {
        n1.ctl(&["show", "routes"]);
        n1.log().lines().any(|l| l.contains("DEBUG") && l.contains("show routes"))
    });
    // The datastore part is kept: same peer, blocks and revision; no reset.
    let ds = n1.ctl_json(&["show", "status"])["datastore"].clone();
    assert_eq!(ds["revision_applied"].as_i64(), Some(revision), "{ds}\n{}", c.dump());
    assert_eq!(n1.peer_states(), [(i2.clone(), "Established".to_owned(), 0)], "{}", c.dump());
    assert_eq!(
        c.node("n2").peer_states(),
        [(i1.clone(), "Established".to_owned(), 0)],
        "{}",
        c.dump()
    );
    assert_eq!(n1.count(&format!("peer {i2} established")), 1, "{}", c.dump());
    assert!(bird_route(&n1.ns, "10.244.2.0/26").unwrap().is_some(), "{}", c.dump());

    // 3. Following goes on: a block written now reaches n1.
    c.put(&calico::affinity("n2", "10.244.12.0/26"));
    c.wait_route("n1", "10.244.12.0/26", Some(&i2));
    c.wait_route("n2", "10.244.12.0/26", None);
}
