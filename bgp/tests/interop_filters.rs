//! Calico `BGPFilter`s against FRR as the ToR: a reload that changes only a
//! filter moves prefixes in and out of FRR's table and ours with the
//! session untouched (as `birdc configure` does for a changed filter).
//!
//! ```text
//!   node a 10.0.29.1 (AS 64512)           ToR FRR 10.0.29.254 (AS 65000)
//!   blocks 10.244.1.0/26, 10.244.3.0/26   originates 10.109.0.0/24, 10.109.1.0/24
//!   peer "tor", filters = ["tor"]
//! ```
//!
//! 1. Filter `tor` has no rules: FRR holds both blocks, a both FRR prefixes.
//! 2. Reload with an export rule rejecting 10.244.3.0/26 and an import rule
//!    rejecting 10.109.1.0/24: FRR loses the block, a the prefix (kept in
//!    its Adj-RIB-In: `show routes` names the rule).
//! 3. Reload back: both return, the prefix from what a kept, without asking
//!    FRR again.
//!
//! Throughout, FRR's `connectionsEstablished` stays 1 and its dropped count
//! 0, and `show peer` reports no flap.
//!
//! `interface` rules see the device the next hop is reached by (a's `eth0`
//! towards FRR), and our blackholed blocks have none: BIRD's `ifname` `""`,
//! which only `*` matches.

mod daemon_common;

use std::net::IpAddr;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{bird_routes, dump, rename_to_eth0};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Lan, Netns, Workdir, wait_until};

const UP: Duration = Duration::from_secs(30);
const NODE: &str = "10.0.29.1";
const TOR: &str = "10.0.29.254";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(rules: &str) -> String {
    format!(
        "log_level = \"debug\"\n[node]\nname = \"a\"\nipv4 = \"{NODE}/24\"\n\
         blocks = [\"10.244.1.0/26\", \"10.244.3.0/26\"]\n{FAST_TIMERS}\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[peers]]\nname = \"tor\"\naddress = \"{TOR}\"\nremote_as = 65000\nfilters = [\"tor\"]\n\
         [[filters]]\nname = \"tor\"\n{rules}"
    )
}

const REJECTING: &str = "[[filters.export_v4]]\naction = \"Reject\"\ncidr = \"10.244.3.0/26\"\n\
     match_operator = \"Equal\"\n\
     [[filters.import_v4]]\naction = \"Reject\"\ncidr = \"10.109.1.0/24\"\nmatch_operator = \"Equal\"\n";

/// `proto bird` routes that are not our blackholes: what BGP taught a.
fn learned(ns: &Netns) -> Vec<String> {
    let mut v: Vec<String> = bird_routes(ns, false)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["type"] != "blackhole")
        .filter_map(|r| r["dst"].as_str().map(Into::into))
        .collect();
    v.sort();
    v
}

fn frr_blocks(frr: &Frr) -> Vec<String> {
    let mut v: Vec<String> = frr
        .routes()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.prefix.to_string())
        .filter(|p| p.starts_with("10.244."))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// FRR's (established, dropped) connection counts for the node.
fn frr_connections(frr: &Frr) -> (u64, u64) {
    let v = frr.vtysh_json(&format!("show bgp neighbors {NODE} json")).unwrap_or_default();
    let n = &v[NODE];
    (
        n["connectionsEstablished"].as_u64().unwrap_or(0),
        n["connectionsDropped"].as_u64().unwrap_or(0),
    )
}

fn wait_state(a: &Node, frr: &Frr, blocks: &[&str], prefixes: &[&str]) {
    let what = format!("FRR holds {blocks:?}, a learned {prefixes:?}");
    let r = wait_until(UP, &what, || Ok(frr_blocks(frr) == blocks && learned(&a.ns) == prefixes));
    if let Err(e) = r {
        panic!(
            "{e}\nFRR {:?}, a {:?}\n{}\n{}\n--- log ---\n{}",
            frr_blocks(frr),
            learned(&a.ns),
            dump(&a.ns),
            frr.dump_state(),
            a.log()
        );
    }
}

fn reload(a: &Node, text: &str) -> String {
    a.write_config(text);
    let out = a.ctl(&["reload"]);
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{s}{}", String::from_utf8_lossy(&out.stderr));
    s
}

fn peer_json(a: &Node) -> serde_json::Value {
    let out = a.ctl(&["-o", "json", "show", "peer", TOR]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["data"].clone()
}

#[test]
fn filter_reload_moves_prefixes_in_and_out_of_frr_without_a_session_reset() {
    let wd = Workdir::new("filters").unwrap();
    let mut lan = Lan::new("flt", "10.0.29.0/24", "").unwrap();
    let mut a = Node::new(&wd, "a");
    let tor = Netns::new("tor").unwrap();
    let i = lan.attach(&a.ns).unwrap();
    rename_to_eth0(&a.ns, &i).unwrap();
    lan.attach_host(&tor, 254).unwrap();
    a.write_config(&config(""));
    a.start();
    let frr = FrrConfig::new(65000, ip(TOR))
        .neighbor(Neighbor::new(ip(NODE), 64512))
        .route(Route::new("10.109.0.0/24"))
        .route(Route::new("10.109.1.0/24"))
        .start(&tor, &wd.subdir("frr").unwrap())
        .unwrap();

    // 1. Nothing filtered.
    let both_blocks = ["10.244.1.0/26", "10.244.3.0/26"];
    let both_prefixes = ["10.109.0.0/24", "10.109.1.0/24"];
    wait_state(&a, &frr, &both_blocks, &both_prefixes);
    assert_eq!(frr_connections(&frr), (1, 0), "{}", frr.dump_state());
    let p = peer_json(&a);
    assert_eq!(p["filters"], serde_json::json!(["tor"]), "{p}");
    let shown = String::from_utf8_lossy(&a.ctl(&["show", "peer", TOR]).stdout).into_owned();
    assert!(shown.contains("Filters:") && shown.contains("tor"), "{shown}");

    // 2. Export and import rules: the block leaves FRR, the prefix leaves a.
    let r = reload(&a, &config(REJECTING));
    assert!(r.contains("Node_10_0_29_254"), "updated in place: {r}");
    wait_state(&a, &frr, &["10.244.1.0/26"], &["10.109.0.0/24"]);
    let shown =
        String::from_utf8_lossy(&a.ctl(&["show", "routes", "10.109.1.0/24"]).stdout).into_owned();
    assert!(shown.contains("filter tor import_v4[0]: reject"), "{shown}");
    let rules = &peer_json(&a)["filter_rules"];
    assert_eq!(
        rules,
        &serde_json::json!([
            {"filter": "tor", "list": "import_v4", "rule": 0, "action": "reject", "paths": 1},
            {"filter": "tor", "list": "export_v4", "rule": 0, "action": "reject", "paths": 1},
        ]),
    );

    // 3. Back: both return, the prefix from a's own Adj-RIB-In.
    reload(&a, &config(""));
    wait_state(&a, &frr, &both_blocks, &both_prefixes);

    assert_eq!(frr_connections(&frr), (1, 0), "no session reset\n{}", frr.dump_state());
    let p = peer_json(&a);
    assert_eq!(p["flaps"], 0, "{p}");
    assert_eq!(p["state"], "Established", "{p}");
    let v = frr.vtysh_json(&format!("show bgp neighbors {NODE} json")).unwrap_or_default();
    let stats = &v[NODE]["messageStats"];
    assert_eq!(stats["routeRefreshRecv"], 0, "nothing asked of FRR again: {stats}");
    assert_eq!(stats["notificationsRecv"], 0, "{stats}");
    assert!(a.stop().success());
}

/// FRR's prefixes arrive through eth0; the blocks are blackholes.
const BY_INTERFACE: &str = "[[filters.import_v4]]\naction = \"Reject\"\ninterface = \"ens*\"\n\
     cidr = \"10.109.0.0/24\"\nmatch_operator = \"Equal\"\n\
     [[filters.import_v4]]\naction = \"Reject\"\ninterface = \"eth*\"\n\
     cidr = \"10.109.1.0/24\"\nmatch_operator = \"Equal\"\n\
     [[filters.export_v4]]\naction = \"Reject\"\ninterface = \"eth*\"\n\
     [[filters.export_v4]]\naction = \"Reject\"\ninterface = \"*\"\n\
     cidr = \"10.244.3.0/26\"\nmatch_operator = \"Equal\"\n";

#[test]
fn interface_rules_see_the_device_the_next_hop_is_reached_by() {
    let wd = Workdir::new("filters-iface").unwrap();
    let mut lan = Lan::new("fli", "10.0.29.0/24", "").unwrap();
    let mut a = Node::new(&wd, "a");
    let tor = Netns::new("tor").unwrap();
    let i = lan.attach(&a.ns).unwrap();
    rename_to_eth0(&a.ns, &i).unwrap();
    lan.attach_host(&tor, 254).unwrap();
    a.write_config(&config(BY_INTERFACE));
    a.start();
    let frr = FrrConfig::new(65000, ip(TOR))
        .neighbor(Neighbor::new(ip(NODE), 64512))
        .route(Route::new("10.109.0.0/24"))
        .route(Route::new("10.109.1.0/24"))
        .start(&tor, &wd.subdir("frr").unwrap())
        .unwrap();

    // Import: the eth* rule rejects 10.109.1.0/24, the ens* rule matches
    // nothing. Export: eth* matches no block, * the one it names.
    wait_state(&a, &frr, &["10.244.1.0/26"], &["10.109.0.0/24"]);
    let shown =
        String::from_utf8_lossy(&a.ctl(&["show", "routes", "10.109.1.0/24"]).stdout).into_owned();
    assert!(shown.contains("via 10.0.29.254 on eth0"), "{shown}");
    assert!(shown.contains("filter tor import_v4[1]: reject"), "{shown}");
    let shown =
        String::from_utf8_lossy(&a.ctl(&["show", "routes", "10.109.0.0/24"]).stdout).into_owned();
    assert!(shown.contains("via 10.0.29.254 on eth0") && !shown.contains("filter"), "{shown}");
    let rules = &peer_json(&a)["filter_rules"];
    assert_eq!(
        rules,
        &serde_json::json!([
            {"filter": "tor", "list": "import_v4", "rule": 1, "action": "reject", "paths": 1},
            {"filter": "tor", "list": "export_v4", "rule": 1, "action": "reject", "paths": 1},
        ]),
    );
    assert!(a.stop().success());
}
