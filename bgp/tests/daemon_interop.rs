//! calico-bgpd against FRR and BIRD 2 in network namespaces: sessions reach
//! Established with the capabilities we advertise seen on their side, they
//! receive our configured block, and TCP MD5 (RFC 2385) works with FRR, a
//! wrong key being visible only in the kernel's MD5 counters.

mod daemon_common;

use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::peers::bird::BirdConfig;
use interop_tests::peers::frr::FrrConfig;
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Lan, Netns, Workdir, veth_pair, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(20);

fn ebgp_node(me: &str, peers: &[(&str, &str, u32, &str)]) -> String {
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"calico\"\nlocal_as = 64512\nipv4 = \"{me}/24\"\n\
         blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}[mesh]\nenabled = false\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
    );
    for (name, addr, asn, extra) in peers {
        s.push_str(&format!(
            "[[peers]]\nname = \"{name}\"\naddress = \"{addr}\"\nremote_as = {asn}\n{extra}\n"
        ));
    }
    s
}

#[test]
fn frr_and_bird_establish_with_our_capabilities_and_receive_our_block() {
    let wd = Workdir::new("bgpd-interop").unwrap();
    let mut lan = Lan::new("bgpdi", "10.0.1.0/24", "").unwrap();
    let mut me = Node::new(&wd, "calico");
    let (fns, bns) = (Netns::new("frr").unwrap(), Netns::new("bird").unwrap());
    lan.attach(&me.ns).unwrap();
    lan.attach(&fns).unwrap();
    lan.attach(&bns).unwrap();
    let (ours, frr_ip, bird_ip) = ("10.0.1.1", "10.0.1.2", "10.0.1.3");
    me.write_config(&ebgp_node(ours, &[("frr", frr_ip, 65001, ""), ("bird", bird_ip, 65002, "")]));
    me.start();

    let frr = FrrConfig::new(65001, frr_ip.parse().unwrap())
        .neighbor(Neighbor::new(ours.parse().unwrap(), 64512))
        .route(Route::new("10.101.0.0/24"))
        .start(&fns, &wd.subdir("frr").unwrap())
        .unwrap();
    let bird = BirdConfig::new(65002, bird_ip.parse().unwrap())
        .neighbor(Neighbor::new(ours.parse().unwrap(), 64512))
        .route(Route::new("10.102.0.0/24"))
        .start(&bns, &wd.subdir("bird").unwrap())
        .unwrap();

    frr.wait_established(ours.parse().unwrap(), UP).unwrap();
    bird.wait_established(ours.parse().unwrap(), UP).unwrap();
    me.wait_log(&format!("peer {frr_ip} established"), UP);
    me.wait_log(&format!("peer {bird_ip} established"), UP);

    // FRR's view of what we advertised.
    let n = frr.vtysh_json(&format!("show bgp neighbors {ours} json")).unwrap();
    let caps = &n[ours]["neighborCapabilities"];
    let both = |v: &Value| v.as_str().is_some_and(|s| s.starts_with("advertisedAndReceived"));
    assert!(both(&caps["4byteAs"]), "4-octet AS: {caps:#}");
    assert!(both(&caps["routeRefresh"]), "route refresh: {caps:#}");
    assert!(both(&caps["enhancedRouteRefresh"]), "enhanced route refresh: {caps:#}");
    assert_eq!(
        caps["multiprotocolExtensions"]["ipv4Unicast"]["advertisedAndReceived"],
        Value::Bool(true),
        "multiprotocol: {caps:#}"
    );
    // BIRD's view.
    let p = bird.birdc(&["show", "protocols", "all", "n0"]).unwrap();
    let theirs = p.split("Neighbor capabilities").nth(1).unwrap_or_default();
    for cap in ["Multiprotocol", "Route refresh", "Enhanced refresh", "4-octet AS numbers"] {
        assert!(theirs.contains(cap), "BIRD does not see {cap}:\n{p}");
    }

    // Our block, with us as next hop and our AS as the path.
    frr.wait_route("10.244.1.0/26", UP).unwrap();
    bird.wait_route("10.244.1.0/26", UP).unwrap();
    let r = frr.show_ip_bgp_json().unwrap();
    let text = r.to_string();
    assert!(text.contains("64512") && text.contains(ours), "{r:#}");
    // And theirs reach us (FRR also echoes our block back: loop detection
    // is the RIB's job, not the counter's).
    me.wait_log(&format!("peer {frr_ip}: End-of-RIB IPv4/unicast"), UP);
    me.wait_log(&format!("peer {bird_ip}: End-of-RIB IPv4/unicast, 1 prefixes received"), UP);

    assert!(me.stop().success());
    wait_until(UP, "FRR sees the shutdown", || Ok(!frr.established(ours.parse().unwrap())?))
        .unwrap();
    let n = frr.vtysh_json(&format!("show bgp neighbors {ours} json")).unwrap();
    let last = n[ours]["lastNotificationReason"].to_string() + &n[ours].to_string();
    // FRR negotiated graceful restart with the N bit: SIGTERM is a planned
    // restart, Cease / Administrative Reset (not Hard Reset), and FRR keeps
    // our routes for our restart time (RFC 8538 §4).
    assert!(
        last.contains("Administrative Reset") && last.contains("calico-bgpd restarting"),
        "{n:#}"
    );
    assert!(n[ours]["lastNotificationHardReset"] == Value::Bool(false), "{n:#}");
}

/// `TcpExtTCPMD5*` counters of a namespace, summed by name.
fn md5_counters(ns: &Netns) -> Vec<(String, u64)> {
    let out = ns.exec(&["nstat", "-az"]).unwrap();
    out.lines()
        .filter(|l| l.starts_with("TcpExtTCPMD5"))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_owned(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn md5_failures(ns: &Netns) -> u64 {
    md5_counters(ns)
        .iter()
        .filter(|(k, _)| k == "TcpExtTCPMD5Failure" || k == "TcpExtTCPMD5NotFound")
        .map(|(_, v)| v)
        .sum()
}

fn md5_world(tag: &str, frr_key: &str) -> (Workdir, Node, Netns, interop_tests::peers::frr::Frr) {
    let wd = Workdir::new(tag).unwrap();
    let mut me = Node::new(&wd, "calico");
    let fns = Netns::new("frr").unwrap();
    veth_pair(&me.ns, &fns, &["10.0.0.1/24"], &["10.0.0.2/24"]).unwrap();
    // Our key comes from a file written with `echo`, trailing newline and all.
    let key_file = wd.join("md5.key");
    std::fs::write(&key_file, "s3cret-key\n").unwrap();
    me.write_config(&ebgp_node(
        "10.0.0.1",
        &[("frr", "10.0.0.2", 65001, &format!("password_file = \"{}\"", key_file.display()))],
    ));
    me.start();
    let frr = FrrConfig::new(65001, "10.0.0.2".parse().unwrap())
        .neighbor(Neighbor::new("10.0.0.1".parse().unwrap(), 64512))
        .bgp_line(&format!("neighbor 10.0.0.1 password {frr_key}"))
        .start(&fns, &wd.subdir("frr").unwrap())
        .unwrap();
    (wd, me, fns, frr)
}

#[test]
fn tcp_md5_with_matching_keys_establishes_with_frr() {
    let (_wd, mut me, _fns, frr) = md5_world("bgpd-md5-ok", "s3cret-key");
    me.wait_log("TCP MD5", UP);
    frr.wait_established("10.0.0.1".parse().unwrap(), UP).unwrap();
    me.wait_log("peer 10.0.0.2 established", UP);
    frr.wait_route("10.244.1.0/26", UP).unwrap();
}

#[test]
fn tcp_md5_with_a_wrong_key_never_establishes_and_the_kernel_counts_it() {
    let (_wd, me, fns, frr) = md5_world("bgpd-md5-bad", "wrong-key");
    // Both sides dial every 2 s; give them several attempts.
    let r = wait_until(Duration::from_secs(8), "MD5 failures counted", || {
        Ok(md5_failures(&me.ns) + md5_failures(&fns) >= 2)
    });
    r.unwrap_or_else(|e| {
        panic!("{e}\nours: {:?}\nfrr: {:?}", md5_counters(&me.ns), md5_counters(&fns))
    });
    assert!(!frr.established("10.0.0.1".parse().unwrap()).unwrap());
    assert!(!me.log().contains("established"), "{}", me.log());
}

fn frr_world(
    tag: &str,
    peer_extra: &str,
    frr: impl FnOnce(FrrConfig) -> FrrConfig,
) -> (Workdir, Node, Netns, interop_tests::peers::frr::Frr) {
    let wd = Workdir::new(tag).unwrap();
    let mut me = Node::new(&wd, "calico");
    let fns = Netns::new("frr").unwrap();
    veth_pair(&me.ns, &fns, &["10.0.0.1/24"], &["10.0.0.2/24"]).unwrap();
    me.write_config(&ebgp_node("10.0.0.1", &[("frr", "10.0.0.2", 65001, peer_extra)]));
    me.start();
    let cfg = FrrConfig::new(65001, "10.0.0.2".parse().unwrap())
        .neighbor(Neighbor::new("10.0.0.1".parse().unwrap(), 64512));
    let frr = frr(cfg).start(&fns, &wd.subdir("frr").unwrap()).unwrap();
    (wd, me, fns, frr)
}

#[test]
fn gtsm_session_with_frr_establishes() {
    let (_wd, mut me, fns, frr) = frr_world("bgpd-gtsm", "ttl_security = 1", |c| {
        c.bgp_line("neighbor 10.0.0.1 ttl-security hops 1")
    });
    frr.wait_established("10.0.0.1".parse().unwrap(), UP).unwrap();
    me.wait_log("peer 10.0.0.2 established", UP);
    // Every IPv4 peer is on GTSM, so the listener itself takes the floor: a
    // SYN sent with the default TTL 64 is dropped by the kernel before any
    // handshake, and never reaches accept.
    me.wait_log("GTSM, TTL >= 255", UP);
    let before = min_ttl_drops(&me.ns);
    let connect = "exec 3<>/dev/tcp/10.0.0.1/179 && echo connected";
    let out = fns.exec(&["timeout", "2", "bash", "-c", connect]).unwrap_or_default();
    assert!(!out.contains("connected"), "a TTL-64 SYN completed the handshake");
    assert!(min_ttl_drops(&me.ns) > before, "no TcpExtTCPMinTTLDrop in our namespace");
}

/// The kernel's count of segments dropped under a socket's IP_MINTTL.
fn min_ttl_drops(ns: &Netns) -> u64 {
    let out = ns.exec(&["nstat", "-az", "TcpExtTCPMinTTLDrop"]).unwrap_or_default();
    out.lines()
        .filter(|l| l.starts_with("TcpExtTCPMinTTLDrop"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

#[test]
fn max_prefix_teardown_sends_cease_and_restarts_after_the_configured_time() {
    let (_wd, mut me, _fns, frr) = frr_world(
        "bgpd-maxpfx",
        "max_prefix = { limit = 1, action = \"teardown\", restart_after = 2 }",
        |c| c.route(Route::new("10.101.0.0/24")).route(Route::new("10.101.1.0/24")),
    );
    me.wait_log("over the limit of 1: tearing down, restarting in 2s", UP);
    let n = frr.vtysh_json("show bgp neighbors 10.0.0.1 json").unwrap();
    assert!(n.to_string().contains("Maximum Number of Prefixes Reached"), "{n:#}");
    // It comes back by itself (and goes down again: FRR still sends two).
    me.wait_log_n("peer 10.0.0.2 established", 2, UP);
}

#[test]
fn without_ttl_security_a_gtsm_peer_drops_our_packets() {
    // Our multihop default sends TTL 64; FRR's IP_MINTTL 255 drops it.
    let (_wd, me, fns, frr) =
        frr_world("bgpd-gtsm-off", "", |c| c.bgp_line("neighbor 10.0.0.1 ttl-security hops 1"));
    wait_until(Duration::from_secs(8), "TcpExtTCPMinTTLDrop in FRR's namespace", || {
        Ok(min_ttl_drops(&fns) > 0)
    })
    .unwrap();
    assert!(!frr.established("10.0.0.1".parse().unwrap()).unwrap());
    assert!(!me.log().contains("established"), "{}", me.log());
}
