//! BIRD 2 and GoBGP as eBGP peers of calico-bgpd.
//!
//! ```text
//!            LAN 10.0.6.0/24 (bridge in its own namespace)
//!   +-----------------+    +-----------------+    +-----------------+
//!   | calico  .1      |    | BIRD 2     .2   |    | GoBGP      .3   |
//!   | AS 64512 eth0   |    | AS 65002        |    | AS 65003        |
//!   | block           |    | originates      |    | originates      |
//!   |  10.244.1.0/26  |    |  10.102.0.0/24  |    |  10.103.0.0/24  |
//!   +--------+--------+    +--------+--------+    +--------+--------+
//!            +----------------------+----------------------+
//! ```
//!
//! Checks:
//! 1. Both sessions reach Established, seen from every side (`birdc`, `gobgp
//!    neighbor`, our log).
//! 2. ADD-PATH both ways with BIRD (`add paths on`): BIRD's `show protocols all`
//!    lists ADD-PATH among the neighbour's (our) capabilities, and our
//!    `calico-bgpctl -o json show peer` shows it negotiated.
//! 3. Our block reaches BIRD's table (and BIRD's kernel as `proto bird`) and
//!    GoBGP's RIB, with us as next hop.
//! 4. Their prefixes are in our kernel as `proto bird` via each peer on eth0.
//! 5. The BIRD session's bytes are kept as `tests/fixtures/calico-bird.pcap`
//!    when `CBGP_WRITE_FIXTURES=1` (see that directory's README).

mod daemon_common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{rename_to_eth0, wait_bird_route};
use interop_tests::peers::bird::BirdConfig;
use interop_tests::peers::gobgp::GobgpConfig;
use interop_tests::peers::{AddPath, Neighbor, Peer, Route};
use interop_tests::{Capture, Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(30);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `show peer ADDR -o json` once the session details are there.
fn show_peer(n: &Node, addr: &str) -> Value {
    let mut v = Value::Null;
    let r = wait_until(UP, &format!("show peer {addr} on {}", n.name), || {
        let out = n.ctl(&["-o", "json", "show", "peer", addr]);
        v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(v["data"]["negotiated_caps"].is_object())
    });
    if let Err(e) = r {
        panic!("{e}\n{v:#}\n--- log ---\n{}", n.log());
    }
    v
}

#[test]
fn bird_and_gobgp_peer_with_add_path_and_exchange_routes_both_ways() {
    let wd = Workdir::new("scen6").unwrap();
    let mut lan = Lan::new("sc6", "10.0.6.0/24", "").unwrap();
    let mut me = Node::new(&wd, "calico");
    let (bns, gns) = (Netns::new("bird").unwrap(), Netns::new("gobgp").unwrap());
    let i = lan.attach(&me.ns).unwrap();
    rename_to_eth0(&me.ns, &i).unwrap();
    lan.attach(&bns).unwrap();
    lan.attach(&gns).unwrap();
    let (ours, bird_ip, gobgp_ip) = ("10.0.6.1", "10.0.6.2", "10.0.6.3");
    me.write_config(&format!(
        "log_level = \"debug\"\n[node]\nname = \"calico\"\nipv4 = \"{ours}/24\"\n\
         blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}[mesh]\nenabled = false\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[peers]]\nname = \"bird\"\naddress = \"{bird_ip}\"\nremote_as = 65002\nadd_path = \"both\"\n\
         [[peers]]\nname = \"gobgp\"\naddress = \"{gobgp_ip}\"\nremote_as = 65003\n"
    ));
    let pcap = wd.join("calico-bird.pcap");
    let cap =
        Capture::start_filter(&me.ns, "eth0", &pcap, &format!("tcp port 179 and host {bird_ip}"))
            .unwrap();
    me.start();
    let bird = BirdConfig::new(65002, ip(bird_ip))
        .neighbor(Neighbor::new(ip(ours), 64512).add_path(AddPath::Both))
        .route(Route::new("10.102.0.0/24").community(65002, 7))
        .start(&bns, &wd.subdir("bird").unwrap())
        .unwrap();
    let gobgp = GobgpConfig::new(65003, ip(gobgp_ip))
        .neighbor(Neighbor::new(ip(ours), 64512))
        .route(Route::new("10.103.0.0/24"))
        .start(&gns, &wd.subdir("gobgp").unwrap())
        .unwrap();
    let dump = |me: &Node| {
        format!("{}\n{}\n--- calico log ---\n{}", bird.dump_state(), gobgp.dump_state(), me.log())
    };

    // 1. Established on every side.
    bird.wait_established(ip(ours), UP).unwrap_or_else(|e| panic!("{e}\n{}", me.log()));
    gobgp.wait_established(ip(ours), UP).unwrap_or_else(|e| panic!("{e}\n{}", me.log()));
    me.wait_log(&format!("peer {bird_ip} established"), UP);
    me.wait_log(&format!("peer {gobgp_ip} established"), UP);

    // 2. ADD-PATH, both directions, both views.
    let protos = bird.birdc(&["show", "protocols", "all", "n0"]).unwrap();
    let neighbor_caps = protos.split("Neighbor capabilities").nth(1).unwrap_or("");
    assert!(neighbor_caps.contains("ADD-PATH"), "BIRD saw no ADD-PATH from us:\n{protos}");
    let addpath = neighbor_caps.split("ADD-PATH").nth(1).unwrap_or("");
    assert!(addpath.contains("RX: ipv4") && addpath.contains("TX: ipv4"), "{protos}");
    let v = show_peer(&me, bird_ip);
    let caps = &v["data"]["negotiated_caps"];
    assert_eq!(caps["add_path_rx"], serde_json::json!(["ipv4"]), "{v:#}");
    assert_eq!(caps["add_path_tx"], serde_json::json!(["ipv4"]), "{v:#}");
    // GoBGP offers no ADD-PATH unless configured: nothing negotiated there.
    let g = show_peer(&me, gobgp_ip);
    let gcaps = &g["data"]["negotiated_caps"];
    assert_eq!(gcaps["add_path_tx"], serde_json::json!([]), "{g:#}");
    assert_eq!(gcaps["four_octet_as"], true, "{g:#}");

    // 3. Our block in BIRD (table and kernel) and in GoBGP, next hop us.
    bird.wait_route("10.244.1.0/26", UP).unwrap();
    let in_bird = bird.routes().unwrap();
    let r = in_bird.iter().find(|r| r.prefix.to_string() == "10.244.1.0/26").unwrap();
    assert_eq!(r.next_hop, Some(ip(ours)), "{}", dump(&me));
    let k = wait_bird_route(&bns, "10.244.1.0/26", UP).unwrap();
    assert_eq!(k["gateway"], ours, "{k}");
    gobgp.wait_route("10.244.1.0/26", UP).unwrap();
    let in_gobgp = gobgp.routes().unwrap();
    let r = in_gobgp.iter().find(|r| r.prefix.to_string() == "10.244.1.0/26").unwrap();
    assert_eq!(r.next_hop, Some(ip(ours)), "{}", dump(&me));

    // 4. Theirs in our kernel, proto bird, via each peer on eth0.
    for (pfx, via) in [("10.102.0.0/24", bird_ip), ("10.103.0.0/24", gobgp_ip)] {
        let r = wait_bird_route(&me.ns, pfx, UP).unwrap_or_else(|e| panic!("{e}\n{}", dump(&me)));
        assert_eq!((r["gateway"].as_str(), r["dev"].as_str()), (Some(via), Some("eth0")), "{r}");
    }

    // Our counters agree on what we received.
    for addr in [bird_ip, gobgp_ip] {
        let mut v = Value::Null;
        let ok = wait_until(UP, &format!("prefix counters of {addr}"), || {
            v = show_peer(&me, addr);
            let p = &v["data"]["prefixes"][0];
            Ok(p["received"] == 1 && p["accepted"] == 1)
        });
        assert!(ok.is_ok(), "{v:#}");
    }

    // 5. The BIRD session's capture.
    let pcap = cap.stop().unwrap();
    keep_fixture(&pcap, "calico-bird.pcap");
    assert!(me.stop().success());
}

/// Copies a capture into `tests/fixtures/` when `CBGP_WRITE_FIXTURES=1`.
pub fn keep_fixture(pcap: &std::path::Path, name: &str) {
    if std::env::var("CBGP_WRITE_FIXTURES").as_deref() != Ok("1") {
        return;
    }
    let dst = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::copy(pcap, &dst).unwrap();
    eprintln!("wrote {}", dst.display());
}

#[test]
fn show_peer_counts_the_block_we_advertise_to_bird() {
    let wd = Workdir::new("scen6-adv").unwrap();
    let mut lan = Lan::new("sc6a", "10.0.16.0/24", "").unwrap();
    let mut me = Node::new(&wd, "calico");
    let bns = Netns::new("bird").unwrap();
    lan.attach(&me.ns).unwrap();
    lan.attach(&bns).unwrap();
    let (ours, bird_ip) = ("10.0.16.1", "10.0.16.2");
    me.write_config(&format!(
        "[node]\nname = \"calico\"\nipv4 = \"{ours}/24\"\nblocks = [\"10.244.1.0/26\"]\n\
         {FAST_TIMERS}[mesh]\nenabled = false\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[peers]]\nname = \"bird\"\naddress = \"{bird_ip}\"\nremote_as = 65002\n"
    ));
    me.start();
    let bird = BirdConfig::new(65002, ip(bird_ip))
        .without_kernel()
        .neighbor(Neighbor::new(ip(ours), 64512))
        .start(&bns, &wd.subdir("bird").unwrap())
        .unwrap();
    bird.wait_route("10.244.1.0/26", UP).unwrap();
    let mut v = Value::Null;
    let ok = wait_until(Duration::from_secs(10), "advertised = 1 in show peer", || {
        v = show_peer(&me, bird_ip);
        Ok(v["data"]["prefixes"][0]["advertised"] == 1)
    });
    assert!(ok.is_ok(), "{v:#}");
    assert!(me.stop().success());
}
