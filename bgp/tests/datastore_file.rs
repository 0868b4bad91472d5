//! calico-bgpd nodes whose datastore is a file of Calico resources
//! (`[datastore] type = "file"`), in network namespaces: the same
//! multi-document YAML `calicoctl apply -f` takes, block affinities as
//! `BlockAffinity` documents, read at start and again on SIGHUP and
//! `calico-bgpctl reload`, through the same diff as an etcd change.
//!
//! ```text
//!          LAN 10.0.8.0/24 (bridge in <lan>-sw)
//!   n1 .1 (10.244.1.0/26)        n2 .2 (10.244.2.0/26)
//!        \___ both read their own copy of one resources.yaml ___/
//! ```
//!
//! `a_reload_of_the_resources_file_adds_a_block_and_a_bad_file_is_kept_out`:
//! the mesh and both blocks from the file alone; a block affinity added to
//! the file and a `calico-bgpctl reload` on n1 (SIGHUP on n2) become a
//! blackhole on n1 and a route on n2 with no session reset; a file that is
//! not YAML is refused by the reload, shown in `show status` as the last
//! datastore error, and the running configuration stays; a file without the
//! node's own Node is refused the same way; the fixed file applies again.

mod daemon_common;

use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node, check_running, has_bird_route};
use interop_tests::kroutes::{bird_route, rename_to_eth0};
use interop_tests::{Lan, Workdir, wait_until};

const UP: Duration = Duration::from_secs(30);
const LAN: &str = "10.0.8.0/24";

fn node_ip(i: usize) -> String {
    format!("10.0.8.{}", i + 1)
}

/// The cluster as `calicoctl apply -f` takes it: the two Nodes, the
/// default BGPConfiguration, one pool and `blocks` as (node, cidr).
fn resources(nodes: &[&str], blocks: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\n\
         spec:\n  asNumber: 64512\n  nodeToNodeMeshEnabled: true\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: default-ipv4-ippool\n\
         spec:\n  cidr: 10.244.0.0/16\n  ipipMode: Never\n  vxlanMode: Never\n  blockSize: 26\n",
    );
    for (i, name) in ["n1", "n2"].iter().enumerate() {
        if !nodes.contains(name) {
            continue;
        }
        s.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: {name}\n\
             spec:\n  bgp:\n    ipv4Address: {}/24\n",
            node_ip(i)
        ));
    }
    for (node, cidr) in blocks {
        s.push_str(&format!(
            "---\napiVersion: crd.projectcalico.org/v1\nkind: BlockAffinity\nmetadata:\n  \
             name: {node}-{}\nspec:\n  cidr: {cidr}\n  node: {node}\n  state: confirmed\n  \
             deleted: \"false\"\n",
            cidr.replace(['.', '/'], "-")
        ));
    }
    s
}

struct Cluster {
    nodes: Vec<Node>,
    _lan: Lan,
    _wd: Workdir,
}

impl Cluster {
    fn new(tag: &str) -> Cluster {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new(tag, LAN, "").unwrap();
        let mut nodes = Vec::new();
        for (i, name) in ["n1", "n2"].iter().enumerate() {
            let n = Node::new(&wd, name);
            let iface = lan.attach_host(&n.ns, i as u32 + 1).unwrap();
            rename_to_eth0(&n.ns, &iface).unwrap();
            n.write_config(&format!(
                "log_level = \"info\"\n[node]\nname = \"{name}\"\n{FAST_TIMERS}\
                 [datastore]\ntype = \"file\"\npath = \"{}\"\n",
                n.dir.join("resources.yaml").display()
            ));
            nodes.push(n);
        }
        Cluster { nodes, _lan: lan, _wd: wd }
    }

    /// Writes `text` as every node's resources file.
    fn write(&self, text: &str) {
        for n in &self.nodes {
            std::fs::write(n.dir.join("resources.yaml"), text).unwrap();
        }
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).unwrap()
    }

    fn dump(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            s.push_str(&n.dump_state(usize::MAX));
        }
        s
    }

    fn wait(&self, what: &str, mut check: impl FnMut() -> bool) {
        let r = wait_until(UP, what, || {
            check_running(&self.nodes)?;
            Ok(check())
        });
        if let Err(e) = r {
            panic!("{}\n{}", e.msg, self.dump());
        }
    }

    fn wait_route(&self, on: &str, block: &str, via: Option<&str>) {
        let ns = &self.node(on).ns;
        self.wait(&format!("{block} via {via:?} on {on}"), || has_bird_route(ns, block, via));
    }
}

fn established_with(n: &Node, addr: &str) -> bool {
    n.peer_states() == [(addr.to_owned(), "Established".to_owned(), 0)]
}

#[test]
fn a_reload_of_the_resources_file_adds_a_block_and_a_bad_file_is_kept_out() {
    let mut c = Cluster::new("dsf");
    let (i1, i2) = (node_ip(0), node_ip(1));
    let blocks = [("n1", "10.244.1.0/26"), ("n2", "10.244.2.0/26")];
    c.write(&resources(&["n1", "n2"], &blocks));
    for n in &mut c.nodes {
        n.start();
    }

    // 1. The mesh and both blocks, from the file alone.
    c.wait("n1 established with n2", || established_with(c.node("n1"), &i2));
    c.wait("n2 established with n1", || established_with(c.node("n2"), &i1));
    c.wait_route("n1", "10.244.2.0/26", Some(&i2));
    c.wait_route("n2", "10.244.1.0/26", Some(&i1));
    c.wait_route("n1", "10.244.1.0/26", None);
    let status = c.node("n1").ctl_json(&["show", "status"]);
    assert_eq!(status["datastore"]["kind"], "file", "{status}");
    assert_eq!(status["datastore"]["revision_applied"], 1, "{status}");

    // 2. A block added to the file: reload on n1, SIGHUP on n2.
    let more = [blocks[0], blocks[1], ("n1", "10.244.11.0/26")];
    c.write(&resources(&["n1", "n2"], &more));
    let out = c.node("n1").ctl(&["reload"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Reconfigured"), "{text}\n{}", c.dump());
    c.node("n2").signal("HUP");
    c.wait_route("n1", "10.244.11.0/26", None);
    c.wait_route("n2", "10.244.11.0/26", Some(&i1));
    c.wait("n2 to apply its second read", || {
        c.node("n2").ctl_json(&["show", "status"])["datastore"]["revision_applied"] == 2
    });
    assert!(established_with(c.node("n1"), &i2), "session reset\n{}", c.dump());
    assert!(established_with(c.node("n2"), &i1), "session reset\n{}", c.dump());

    // 3. A file that is not YAML: refused, shown, the running configuration kept.
    c.write("kind: [unclosed\n");
    let out = c.node("n1").ctl(&["reload"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused") && text.contains("resources.yaml"), "{text}\n{}", c.dump());
    let ds = &c.node("n1").ctl_json(&["show", "status"])["datastore"];
    assert_eq!(ds["connected"], false, "{ds}");
    assert!(ds["last_error"].as_str().is_some_and(|e| e.contains("resources.yaml")), "{ds}");
    assert_eq!(ds["revision_applied"], 2, "{ds}");
    let shown = String::from_utf8_lossy(&c.node("n1").ctl(&["show", "status"]).stdout).to_string();
    assert!(shown.contains("Last datastore error"), "{shown}");
    assert!(bird_route(&c.node("n1").ns, "10.244.11.0/26").unwrap().is_some(), "{}", c.dump());

    // 4. A file without n1's own Node: refused too (running it would drop every session).
    c.write(&resources(&["n2"], &more));
    c.node("n1").signal("HUP");
    c.wait("n1 to refuse the file without its Node", || {
        c.node("n1").ctl_json(&["show", "status"])["datastore"]["refused"]
            .as_str()
            .is_some_and(|r| r.contains("node.name"))
    });
    assert!(established_with(c.node("n1"), &i2), "session dropped\n{}", c.dump());

    // 5. The fixed file, with the added block gone: applies, the refusal clears.
    c.write(&resources(&["n1", "n2"], &blocks));
    let out = c.node("n1").ctl(&["reload"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Reconfigured"), "{}", c.dump());
    let ds = &c.node("n1").ctl_json(&["show", "status"])["datastore"];
    assert!(ds["refused"].is_null() && ds["connected"] == true, "{ds}");
    c.node("n2").signal("HUP");
    c.wait("10.244.11.0/26 withdrawn from n2", || {
        bird_route(&c.node("n2").ns, "10.244.11.0/26").is_ok_and(|r| r.is_none())
    });
    assert!(established_with(c.node("n1"), &i2), "session reset\n{}", c.dump());
}
