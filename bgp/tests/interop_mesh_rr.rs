//! Mesh and route reflection checks, each in its own world of
//! network namespaces: who dials in a calico-bgpd full mesh, FRR reflecting
//! between two calico-bgpd clients, and the attributes an FRR ToR sees on
//! our block over eBGP.
//!
//! ```text
//!  1. full mesh (LAN 10.0.6.0/24)          2. FRR reflector (LAN 10.0.7.0/24)
//!
//!   a 10.0.6.9 ---- b 10.0.6.10             FRR .254  AS 64512, cluster-id 244.0.0.9
//!      \              /                     route-reflector-client a, b
//!       \            /                        /                      \
//!        c 10.0.6.100                  a .1 rid 172.16.0.1      b .2 rid 172.16.0.2
//!                                      block 10.244.1.0/26      block 10.244.2.0/26
//!   dialer of each pair, by string:    pod 10.244.1.5           pod 10.244.2.5
//!   "10.0.6.9" > "10.0.6.100" > "10.0.6.10"   (no session between a and b)
//!
//!  3. eBGP to an FRR ToR (LAN 10.0.8.0/24)
//!
//!   calico .1 AS 64512, block 10.244.1.0/26 ---- ToR .254 AS 65000 (zebra)
//!   tcpdump on calico's eth0
//! ```
//!
//! Checks:
//! 1. Mesh: once converged, each node has exactly two established BGP
//!    connections, one per other node (`ss -Htn state established`), and in
//!    every connection of every state seen along the way the dialing side
//!    (the one whose port is not 179) is the node whose address string is
//!    greater. The addresses make string and numeric order disagree.
//! 2. FRR as reflector: each client installs the other's block as
//!    `proto bird` via the other client's address (a reflector leaves the
//!    next hop alone), `calico-bgpctl show routes -o json` shows
//!    ORIGINATOR_ID = the other client's router id and a CLUSTER_LIST
//!    holding FRR's cluster id, and pods on the two clients ping.
//! 3. eBGP ToR: `show bgp ipv4 unicast 10.244.1.0/26 json` on FRR has AS
//!    path "64512", origin IGP, next hop = our address, no local preference;
//!    on the wire, none of our UPDATEs carries LOCAL_PREF (RFC 4271 §5.1.5:
//!    "A BGP speaker MUST NOT include this attribute in UPDATE messages it
//!    sends to external peers").

mod common;
mod daemon_common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::pcap::bgp_frames;
use daemon_common::{FAST_TIMERS, Node, Run};
use interop_tests::kroutes::{dump, rename_to_eth0, wait_bird_route};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Capture, Lan, Netns, Pod, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(25);

/// A node config: `me` on a /24, its blocks, then `extra` (peers, mesh).
fn node_config(name: &str, me: &str, blocks: &[&str], extra: &str) -> String {
    let blocks: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
    format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nipv4 = \"{me}/24\"\nblocks = [{}]\n\
         {FAST_TIMERS}{extra}\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n",
        blocks.join(", ")
    )
}

/// A node with its own router id (set in `[node]`).
fn node_config_with_id(name: &str, me: &str, id: &str, blocks: &[&str], extra: &str) -> String {
    node_config(name, me, blocks, extra).replacen(
        "[node]\n",
        &format!("[node]\nrouter_id = \"{id}\"\n"),
        1,
    )
}

/// Everything about a node for a failure message: its log, sockets, routes.
fn dump_node(n: &Node) -> String {
    let ss = n.ns.exec(&["ss", "-Htna"]).unwrap_or_else(|e| e.msg);
    format!(
        "===== {} =====\n# ss -Htna\n{ss}\n{}\n# show peers\n{}\n--- log ---\n{}",
        n.name,
        dump(&n.ns),
        String::from_utf8_lossy(&n.ctl(&["show", "peers"]).stdout),
        n.log()
    )
}

fn dump_all(nodes: &[&Node], frr: Option<&Frr>) -> String {
    let mut s: String = nodes.iter().map(|n| dump_node(n)).collect::<Vec<_>>().join("\n");
    if let Some(f) = frr {
        s.push('\n');
        s.push_str(&f.dump_state());
    }
    s
}

/// One TCP connection as `ss` shows it, from the node's side; v4-mapped
/// addresses (a dual-stack `[::]` listener) are folded back to IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Conn {
    local: SocketAddr,
    peer: SocketAddr,
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// The BGP connections of `ns` in the `ss` state filter `state`.
fn bgp_conns(ns: &Netns, state: &str) -> Vec<Conn> {
    let out = ns
        .exec(&["ss", "-Htn", "state", state, "( sport = :179 or dport = :179 )"])
        .unwrap_or_default();
    out.lines()
        .filter_map(|l| {
            let mut addrs =
                l.split_whitespace().filter_map(|t| t.parse::<SocketAddr>().ok()).map(canonical);
            Some(Conn { local: addrs.next()?, peer: addrs.next()? })
        })
        .collect()
}

/// Calico's rule, stated independently of the daemon's code: of two mesh
/// nodes, the one whose address string is greater dials.
fn expected_dialer(x: &str, y: &str) -> String {
    if x > y { x.to_owned() } else { y.to_owned() }
}

/// Every connection of `node` (address `me`) in any connected state dials
/// the right way: where we are not on port 179 we dialed, and must be the
/// greater string; where we are on 179, the peer dialed and must be.
fn wrong_direction(me: &str, conns: &[Conn]) -> Vec<String> {
    conns
        .iter()
        .filter_map(|c| {
            let peer = c.peer.ip().to_string();
            let dialer =
                if c.local.port() == 179 && c.peer.port() != 179 { &peer } else { &me.to_owned() };
            let want = expected_dialer(me, &peer);
            (*dialer != want).then(|| format!("{me}: {c:?} dialed by {dialer}, expected {want}"))
        })
        .collect()
}

#[test]
fn full_mesh_of_three_keeps_one_connection_per_pair_dialed_by_the_greater_ip_string() {
    let wd = Workdir::new("scen2-mesh").unwrap();
    let mut lan = Lan::new("s2m", "10.0.6.0/24", "").unwrap();
    let (mut a, mut b, mut c) = (Node::new(&wd, "a"), Node::new(&wd, "b"), Node::new(&wd, "c"));
    let (ia, ib, ic) = ("10.0.6.9", "10.0.6.10", "10.0.6.100");
    for (n, host) in [(&a, 9), (&b, 10), (&c, 100)] {
        let i = lan.attach_host(&n.ns, host).unwrap();
        rename_to_eth0(&n.ns, &i).unwrap();
    }
    let mesh = |others: &[(&str, &str)]| -> String {
        others
            .iter()
            .map(|(n, ip)| format!("[[mesh.nodes]]\nname = \"{n}\"\nipv4 = \"{ip}\"\n"))
            .collect()
    };
    a.write_config(&node_config("a", ia, &["10.244.1.0/26"], &mesh(&[("b", ib), ("c", ic)])));
    b.write_config(&node_config("b", ib, &["10.244.2.0/26"], &mesh(&[("a", ia), ("c", ic)])));
    c.write_config(&node_config("c", ic, &["10.244.3.0/26"], &mesh(&[("a", ia), ("b", ib)])));
    // Started one after another, so every node dials (or would) into
    // peers that are not yet listening: the rule must hold through that.
    let nodes = [(&mut a, ia), (&mut b, ib), (&mut c, ic)];
    let mut ips = Vec::new();
    for (n, ip) in nodes {
        n.start();
        ips.push(ip);
    }
    let all = [(&a, ia), (&b, ib), (&c, ic)];

    // Converged = every node has both other nodes' blocks in its kernel.
    let blocks = [(ia, "10.244.1.0/26"), (ib, "10.244.2.0/26"), (ic, "10.244.3.0/26")];
    let mut bad = Vec::new();
    let converged = wait_until(UP, "every block in every other node's kernel", || {
        for (n, me) in all {
            bad.extend(wrong_direction(me, &bgp_conns(&n.ns, "connected")));
        }
        for (n, me) in all {
            for (owner, block) in blocks.iter().filter(|(o, _)| *o != me) {
                match interop_tests::kroutes::bird_route(&n.ns, block)? {
                    Some(r) if r["gateway"] == *owner => {}
                    _ => return Ok(false),
                }
            }
        }
        Ok(true)
    });
    let nodes = [&a, &b, &c];
    if let Err(e) = converged {
        panic!("{e}\n{}", dump_all(&nodes, None));
    }
    assert!(bad.is_empty(), "{bad:#?}\n{}", dump_all(&nodes, None));

    // Exactly one established connection per pair, seen from both ends,
    // and still so after several connect-retry periods (2 s each): the
    // passive side never opens a second one.
    let settle = Instant::now() + Duration::from_secs(5);
    loop {
        for (n, me) in all {
            let conns = bgp_conns(&n.ns, "established");
            let mut peers: Vec<String> = conns.iter().map(|c| c.peer.ip().to_string()).collect();
            peers.sort();
            let mut want: Vec<String> =
                ips.iter().filter(|ip| **ip != me).map(|s| (*s).to_owned()).collect();
            want.sort();
            assert_eq!(
                peers,
                want,
                "{me}: established BGP connections {conns:?}\n{}",
                dump_all(&nodes, None)
            );
            let wrong = wrong_direction(me, &bgp_conns(&n.ns, "connected"));
            assert!(wrong.is_empty(), "{wrong:#?}\n{}", dump_all(&nodes, None));
        }
        if Instant::now() > settle {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // The dialers named outright, so the string order is visible here:
    // "10.0.6.9" dials both others, "10.0.6.100" dials "10.0.6.10".
    let dialed_by = |n: &Node| -> Vec<String> {
        bgp_conns(&n.ns, "established")
            .iter()
            .filter(|c| c.peer.port() == 179)
            .map(|c| c.peer.ip().to_string())
            .collect()
    };
    let mut from_a = dialed_by(&a);
    from_a.sort();
    assert_eq!(from_a, [ib, ic], "{}", dump_all(&nodes, None));
    assert_eq!(dialed_by(&c), [ib], "{}", dump_all(&nodes, None));
    assert!(dialed_by(&b).is_empty(), "{}", dump_all(&nodes, None));

    for n in [&mut a, &mut b, &mut c] {
        assert!(n.stop().success());
    }
}

/// `calico-bgpctl -o json show routes PREFIX` once it lists a path.
fn wait_show(n: &Node, prefix: &str, more: &[&Node], frr: &Frr) -> Value {
    let mut v = Value::Null;
    let r = wait_until(UP, &format!("{prefix} in {}'s show routes", n.name), || {
        let out = n.ctl(&["-o", "json", "show", "routes", prefix]);
        v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(v["data"].as_array().is_some_and(|d| !d.is_empty()))
    });
    if let Err(e) = r {
        let mut nodes = vec![n];
        nodes.extend_from_slice(more);
        panic!("{e}\n{v:#}\n{}", dump_all(&nodes, Some(frr)));
    }
    v
}

#[test]
fn frr_reflector_gives_two_calico_clients_each_others_blocks_with_originator_and_cluster_list() {
    frr_reflector(Run::Host);
}

#[test]
fn in_containers_frr_reflector_gives_two_calico_clients_each_others_blocks() {
    frr_reflector(Run::Containers);
}

fn frr_reflector(run: Run) {
    let wd = Workdir::new("scen2-frr-rr").unwrap();
    let mut lan = Lan::new("s2r", "10.0.7.0/24", "").unwrap();
    let (mut a, mut b) = (run.node(&wd, "a"), run.node(&wd, "b"));
    let fns = Netns::new("frr-rr").unwrap();
    for (n, host) in [(&a.ns, 1), (&b.ns, 2), (&fns, 254)] {
        let i = lan.attach_host(n, host).unwrap();
        rename_to_eth0(n, &i).unwrap();
    }
    let (ia, ib, irr) = ("10.0.7.1", "10.0.7.2", "10.0.7.254");
    // Router ids unlike the addresses, so ORIGINATOR_ID can only have come
    // from the originating client's OPEN.
    let (rid_a, rid_b, cluster) = ("172.16.0.1", "172.16.0.2", "244.0.0.9");
    let to_rr = format!(
        "[mesh]\nenabled = false\n[[peers]]\nname = \"rr\"\naddress = \"{irr}\"\nremote_as = 64512\n"
    );
    a.write_config(&node_config_with_id("a", ia, rid_a, &["10.244.1.0/26"], &to_rr));
    b.write_config(&node_config_with_id("b", ib, rid_b, &["10.244.2.0/26"], &to_rr));
    a.start();
    b.start();
    let frr = run
        .frr(FrrConfig::new(64512, irr.parse().unwrap()))
        .neighbor(Neighbor::new(ia.parse().unwrap(), 64512).rr_client())
        .neighbor(Neighbor::new(ib.parse().unwrap(), 64512).rr_client())
        .bgp_line(&format!("bgp cluster-id {cluster}"))
        .start(&fns, &wd.subdir("frr").unwrap())
        .unwrap();
    for ip in [ia, ib] {
        frr.wait_established(ip.parse().unwrap(), UP).unwrap();
    }

    for (n, other, block, other_ip, other_rid) in
        [(&a, &b, "10.244.2.0/26", ib, rid_b), (&b, &a, "10.244.1.0/26", ia, rid_a)]
    {
        let r = wait_bird_route(&n.ns, block, UP)
            .unwrap_or_else(|e| panic!("{e}\n{}", dump_all(&[n, other], Some(&frr))));
        assert_eq!(
            (r["gateway"].as_str(), r["dev"].as_str()),
            (Some(other_ip), Some("eth0")),
            "{}: {r}\n{}",
            n.name,
            dump_all(&[n, other], Some(&frr))
        );
        let v = wait_show(n, block, &[other], &frr);
        let paths = v["data"][0]["paths"].as_array().cloned().unwrap_or_default();
        assert_eq!(paths.len(), 1, "{}: {v:#}", n.name);
        let p = &paths[0];
        assert_eq!(p["best"], true, "{}: {v:#}", n.name);
        assert_eq!(p["originator_id"], other_rid, "{}: {v:#}", n.name);
        let cl: Vec<&str> =
            p["cluster_list"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        assert!(cl.contains(&cluster), "{}: CLUSTER_LIST {cl:?}\n{v:#}", n.name);
        assert_eq!(p["next_hop"][0], other_ip, "{}: {v:#}", n.name);
        assert_eq!(p["local_pref"], 100, "{}: {v:#}", n.name);
        assert_eq!(p["as_path"].as_array().map(Vec::len), Some(0), "{}: {v:#}", n.name);
    }

    let pa = Pod::new(&a.ns, "pa", Ipv4Addr::new(10, 244, 1, 5), None).unwrap();
    let pb = Pod::new(&b.ns, "pb", Ipv4Addr::new(10, 244, 2, 5), None).unwrap();
    let t = Duration::from_secs(10);
    for (from, to) in [(&pa, &pb), (&pb, &pa)] {
        from.wait_ping(IpAddr::V4(to.ipv4()), t)
            .unwrap_or_else(|e| panic!("{e}\n{}", dump_all(&[&a, &b], Some(&frr))));
    }
    for n in [&mut a, &mut b] {
        assert!(n.stop().success());
    }
}

/// The path attributes of an UPDATE message (whole message, header and
/// all) as (type, value); `None` when it does not parse.
fn update_attrs(msg: &[u8]) -> Option<Vec<(u8, Vec<u8>)>> {
    let body = msg.get(19..)?;
    let wlen = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let rest = body.get(2 + wlen..)?;
    let alen = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let mut attrs = rest.get(2..2 + alen)?;
    let mut out = Vec::new();
    while !attrs.is_empty() {
        let (flags, ty) = (*attrs.first()?, *attrs.get(1)?);
        let (len, hdr) = if flags & 0x10 != 0 {
            (usize::from(u16::from_be_bytes([*attrs.get(2)?, *attrs.get(3)?])), 4)
        } else {
            (usize::from(*attrs.get(2)?), 3)
        };
        out.push((ty, attrs.get(hdr..hdr + len)?.to_vec()));
        attrs = attrs.get(hdr + len..)?;
    }
    Some(out)
}

#[test]
fn ebgp_tor_sees_our_block_with_as_path_64512_origin_igp_our_next_hop_and_no_local_pref() {
    ebgp_tor(Run::Host);
}

#[test]
fn in_containers_ebgp_tor_sees_our_block_with_our_attributes() {
    ebgp_tor(Run::Containers);
}

fn ebgp_tor(run: Run) {
    let wd = Workdir::new("scen2-tor").unwrap();
    let mut lan = Lan::new("s2t", "10.0.8.0/24", "").unwrap();
    let mut me = run.node(&wd, "calico");
    let tor = Netns::new("tor").unwrap();
    let i = lan.attach_host(&me.ns, 1).unwrap();
    rename_to_eth0(&me.ns, &i).unwrap();
    lan.attach_host(&tor, 254).unwrap();
    let (ours, tor_ip) = ("10.0.8.1", "10.0.8.254");
    me.write_config(&node_config(
        "calico",
        ours,
        &["10.244.1.0/26"],
        &format!(
            "[mesh]\nenabled = false\n[[peers]]\nname = \"tor\"\naddress = \"{tor_ip}\"\nremote_as = 65000\n"
        ),
    ));
    let cap = Capture::start(&me.ns, "eth0", &wd.join("tor.pcap")).unwrap();
    me.start();
    let frr = run
        .frr(FrrConfig::new(65000, tor_ip.parse().unwrap()))
        .neighbor(Neighbor::new(ours.parse().unwrap(), 64512))
        .route(Route::new("10.101.0.0/24"))
        .start(&tor, &wd.subdir("frr").unwrap())
        .unwrap();
    frr.wait_established(ours.parse().unwrap(), UP).unwrap();
    frr.wait_route("10.244.1.0/26", UP).unwrap();

    let j = frr.vtysh_json("show bgp ipv4 unicast 10.244.1.0/26 json").unwrap();
    let fail =
        |what: &str| -> String { format!("{what}\n{j:#}\n{}", dump_all(&[&me], Some(&frr))) };
    assert_eq!(j["prefix"], "10.244.1.0/26", "{}", fail("prefix"));
    let paths = j["paths"].as_array().cloned().unwrap_or_default();
    assert_eq!(paths.len(), 1, "{}", fail("one path"));
    let p = &paths[0];
    assert_eq!(p["aspath"]["string"], "64512", "{}", fail("AS path"));
    assert_eq!(p["origin"], "IGP", "{}", fail("origin"));
    let nh: Vec<&str> =
        p["nexthops"].as_array().into_iter().flatten().filter_map(|n| n["ip"].as_str()).collect();
    assert_eq!(nh, [ours], "{}", fail("next hop"));
    for key in ["locPrf", "localPref", "localpref"] {
        assert!(p.get(key).is_none(), "{}", fail(&format!("local preference shown as {key}")));
    }

    // FRR drops a LOCAL_PREF received over eBGP before showing the path
    // (RFC 4271 §5.1.5), so its view cannot prove we never sent one: the
    // wire can.
    let pcap = cap.stop().unwrap();
    let ours_ip: IpAddr = ours.parse().unwrap();
    let updates: Vec<Vec<(u8, Vec<u8>)>> = bgp_frames(&pcap)
        .iter()
        .filter(|f| f.src.ip() == ours_ip && f.msg_type() == 2)
        .map(|f| update_attrs(&f.bytes).unwrap_or_else(|| panic!("unparsable UPDATE {f:?}")))
        .collect();
    let announcing: Vec<_> = updates.iter().filter(|a| !a.is_empty()).collect();
    assert!(!announcing.is_empty(), "no UPDATE with attributes from us in {}", pcap.display());
    for attrs in announcing {
        let types: Vec<u8> = attrs.iter().map(|(t, _)| *t).collect();
        assert!(!types.contains(&5), "LOCAL_PREF sent to an eBGP peer: {attrs:?}");
        let get = |t: u8| attrs.iter().find(|(ty, _)| *ty == t).map(|(_, v)| v.as_slice());
        assert_eq!(get(1), Some(&[0u8][..]), "ORIGIN IGP: {attrs:?}");
        // AS_SEQUENCE of one 4-octet AS, 64512.
        assert_eq!(get(2), Some(&[2u8, 1, 0, 0, 0xfc, 0x00][..]), "AS_PATH: {attrs:?}");
        assert_eq!(get(3), Some(&[10u8, 0, 8, 1][..]), "NEXT_HOP: {attrs:?}");
    }
    assert!(me.stop().success());
}

/// The direction check itself, on connections as `ss` prints them from a
/// dual-stack listener: a reversed rule must be caught.
#[test]
fn direction_check_flags_a_connection_dialed_by_the_lesser_ip_string() {
    let parse = |l: &str| -> Conn {
        let mut a =
            l.split_whitespace().filter_map(|t| t.parse::<SocketAddr>().ok()).map(canonical);
        Conn { local: a.next().unwrap(), peer: a.next().unwrap() }
    };
    // On 10.0.6.10: 10.0.6.9 dialed in (right), and we dialed 10.0.6.100 (wrong).
    let right = parse("0      0      [::ffff:10.0.6.10]:179   [::ffff:10.0.6.9]:40112");
    let wrong = parse("0      0      10.0.6.10:51234          10.0.6.100:179");
    assert_eq!(right.peer, "10.0.6.9:40112".parse().unwrap());
    assert!(wrong_direction("10.0.6.10", &[right]).is_empty());
    assert_eq!(wrong_direction("10.0.6.10", &[wrong]).len(), 1);
    assert_eq!(expected_dialer("10.0.6.10", "10.0.6.9"), "10.0.6.9");
}
