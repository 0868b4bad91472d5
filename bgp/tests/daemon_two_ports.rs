//! Sessions to one address on different ports (Calico: BGPPeers
//! `10.0.7.2:1790`, `10.0.7.2:1791`, ...; BIRD: `neighbor A port P`),
//! against three real BIRD 2 speakers sharing one host.
//!
//! ```text
//!   node ns: calico-bgpd 10.0.7.1 (AS 64512, block 10.244.1.0/26)
//!        | veth
//!   peers ns: 10.0.7.2  bird A  listens on 1790, router id 10.0.7.21, AS 65001, 192.0.2.0/24
//!                       bird B  listens on 1791, router id 10.0.7.22, AS 65001, 198.51.100.0/24
//!                       bird C  listens on 1792, router id 10.0.7.23, AS 65003, 203.0.113.0/24
//!   all dial calico-bgpd's port 179 from 10.0.7.2; calico-bgpd dials A and B,
//!   and is passive towards C
//! ```
//!
//! `speakers_on_one_host_get_a_session_each`: every session comes up with
//! its own speaker (the BGP Identifier it shows is that speaker's): A and
//! B share an AS, so calico-bgpd dials each on its port; C's session is
//! passive and takes C's connection, told apart from A's and B's by the AS
//! in its OPEN. Each speaker's route arrives through its own session and
//! each gets the block; B restarted comes back on its own session while
//! A's and C's are not touched.

mod daemon_common;

use std::net::IpAddr;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::peers::bird::{Bird, BirdConfig};
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(40);
const NODE: &str = "10.0.7.1";
const PEERS: &str = "10.0.7.2";

fn bird(asn: u32, port: u16, router_id: &str, route: &str) -> BirdConfig {
    BirdConfig::new(asn, router_id.parse().unwrap())
        .neighbor(Neighbor::new(NODE.parse().unwrap(), 64512))
        .route(Route::new(route))
        .without_kernel()
        .bgp_line(&format!("local {PEERS} port {port};"))
}

fn peers_json(n: &Node) -> Vec<Value> {
    let out = n.ctl(&["-o", "json", "show", "peers"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["data"].as_array().cloned().unwrap_or_default()
}

/// (BIRD name, state, remote BGP Identifier, flaps) of each session.
fn sessions(n: &Node) -> Vec<(String, String, String, u64)> {
    peers_json(n)
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("?").to_owned(),
                p["state"].as_str().unwrap_or("?").to_owned(),
                p["remote_id"].as_str().unwrap_or("-").to_owned(),
                p["flaps"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The BIRD name of the session each path of `prefix` came through.
fn sources(n: &Node, prefix: &str) -> Vec<String> {
    let out = n.ctl(&["-o", "json", "show", "routes", prefix]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut names = Vec::new();
    for r in v["data"].as_array().into_iter().flatten() {
        for p in r["paths"].as_array().into_iter().flatten() {
            if let Some(name) = p["source"]["name"].as_str() {
                names.push(name.to_owned());
            }
        }
    }
    names
}

struct Lab {
    node: Node,
    a: Bird,
    b: Option<Bird>,
    c: Bird,
    peers: Netns,
    wd: Workdir,
}

impl Lab {
    fn dump(&self) -> String {
        let mut s = format!("=== calico-bgpd log ===\n{}\n", self.node.log());
        for args in [["show", "peers"], ["show", "status"]] {
            let out = self.node.ctl(&args);
            s.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        s.push_str(&self.a.dump_state());
        if let Some(b) = &self.b {
            s.push_str(&b.dump_state());
        }
        s.push_str(&self.c.dump_state());
        s
    }

    fn wait(&mut self, what: &str, mut check: impl FnMut(&Lab) -> bool) {
        let r = wait_until(UP, what, || {
            if let Some(d) = self.node.daemon.as_mut() {
                d.check_running()?;
            }
            Ok(check(self))
        });
        if let Err(e) = r {
            panic!("{}\n{}", e.msg, self.dump());
        }
    }
}

fn all_up(lab: &Lab) -> bool {
    let s = sessions(&lab.node);
    s.len() == 3 && s.iter().all(|(_, state, _, _)| state == "Established")
}

#[test]
fn speakers_on_one_host_get_a_session_each() {
    let wd = Workdir::new("two-ports").unwrap();
    let mut node = Node::new(&wd, "n1");
    let peers = Netns::new("peers").unwrap();
    interop_tests::veth_pair(&node.ns, &peers, &[&format!("{NODE}/24")], &[&format!("{PEERS}/24")])
        .unwrap();
    node.write_config(&format!(
        "log_level = \"debug\"\n[node]\nname = \"n1\"\nipv4 = \"{NODE}/24\"\n\
         blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[peers]]\nname = \"a\"\naddress = \"{PEERS}\"\nport = 1790\nremote_as = 65001\n\
         [[peers]]\nname = \"b\"\naddress = \"{PEERS}\"\nport = 1791\nremote_as = 65001\n\
         [[peers]]\nname = \"c\"\naddress = \"{PEERS}\"\nport = 1792\nremote_as = 65003\n\
         passive = true\n"
    ));
    let a =
        bird(65001, 1790, "10.0.7.21", "192.0.2.0/24").start(&peers, &wd.join("bird-a")).unwrap();
    let b_config = bird(65001, 1791, "10.0.7.22", "198.51.100.0/24");
    let b = b_config.clone().start(&peers, &wd.join("bird-b")).unwrap();
    let c =
        bird(65003, 1792, "10.0.7.23", "203.0.113.0/24").start(&peers, &wd.join("bird-c")).unwrap();
    node.start();
    let mut lab = Lab { node, a, b: Some(b), c, peers, wd };

    // 1. One session per speaker, each with its own identifier.
    lab.wait("every session Established", all_up);
    let want = [
        ("Node_10_0_7_2_port_1790", "10.0.7.21"),
        ("Node_10_0_7_2_port_1791", "10.0.7.22"),
        ("Node_10_0_7_2_port_1792", "10.0.7.23"),
    ];
    let got = sessions(&lab.node);
    for ((name, id), (got_name, _, got_id, _)) in want.iter().zip(&got) {
        assert_eq!((name, id), (&got_name.as_str(), &got_id.as_str()), "{got:?}\n{}", lab.dump());
    }
    // 2. Each speaker's route through its own session; both have our block.
    lab.wait("A's route via port 1790", |l| {
        sources(&l.node, "192.0.2.0/24") == ["Node_10_0_7_2_port_1790"]
    });
    lab.wait("B's route via port 1791", |l| {
        sources(&l.node, "198.51.100.0/24") == ["Node_10_0_7_2_port_1791"]
    });
    lab.wait("C's route via port 1792", |l| {
        sources(&l.node, "203.0.113.0/24") == ["Node_10_0_7_2_port_1792"]
    });
    // C's connection was told apart by its AS.
    assert!(lab.node.log().contains("AS 65003 is the session on port 1792"), "{}", lab.dump());
    let node_ip: IpAddr = NODE.parse().unwrap();
    for bird in [&lab.a, lab.b.as_ref().unwrap(), &lab.c] {
        if let Err(e) = bird.wait_route("10.244.1.0/26", UP) {
            panic!("{}\n{}", e.msg, lab.dump());
        }
        assert!(bird.established(node_ip).unwrap(), "{}", lab.dump());
    }

    // 3. B restarts: its session comes back, A's and C's are untouched.
    drop(lab.b.take());
    lab.wait("B's session down", |l| !all_up(l));
    lab.b = Some(b_config.start(&lab.peers, &lab.wd.join("bird-b2")).unwrap());
    lab.wait("every session Established again", all_up);
    let after = sessions(&lab.node);
    assert_eq!((after[0].3, after[2].3), (0, 0), "A or C flapped: {after:?}\n{}", lab.dump());
    assert_eq!(after[1].2, "10.0.7.22", "{after:?}\n{}", lab.dump());
    lab.wait("B's route back via port 1791", |l| {
        sources(&l.node, "198.51.100.0/24") == ["Node_10_0_7_2_port_1791"]
    });
}
