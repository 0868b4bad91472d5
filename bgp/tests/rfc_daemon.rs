//! RFC behaviour of the running calico-bgpd, seen from a scripted peer: the
//! injector (`interop_tests::injector`) speaks BGP from hand-built octets,
//! so each test states exactly what goes on the wire and checks what the
//! daemon does with it through `calico-bgpctl` and what it sends back.
//!
//! ```text
//!                 LAN 10.0.1.0/24 (bridge in a switch namespace)
//!   +-----------------+        +----------------------+        +-----------------+
//!   | inj  10.0.1.2   |  eBGP  | dut  10.0.1.1        |  eBGP  | obs  10.0.1.3   |
//!   | AS 65001        |------->| calico-bgpd AS 64512 |<-------| AS 65003        |
//!   | Injector        |  raw   | peers are passive    |        | Injector        |
//!   +-----------------+        +----------------------+        +-----------------+
//! ```
//!
//! `obs`, where a test has it, is a second injector that only listens:
//! what dut passes on is read from the UPDATEs it receives. dut's IP pools
//! take in the injector's prefixes (10.96.0.0/12), so that Calico's export
//! filter lets them on to obs.
//!
//! Every wait polls with a deadline; a failure dumps dut's peers, routes
//! and log and the injectors' transcripts.

mod daemon_common;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Output;
use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::injector::{self, Incoming, Injector, InjectorConfig, attr, update_body as upd};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

/// How long a route change takes to show: the snapshot trails by 100 ms.
const SHOW: Duration = Duration::from_secs(10);
/// How long a session may take to come up on a loaded machine.
const UP: Duration = Duration::from_secs(20);

const DUT: &str = "10.0.1.1";
const INJ: &str = "10.0.1.2";
const OBS: &str = "10.0.1.3";
const INJ_AS: u32 = 65001;
/// The name dut gives inj in its log and `show peers` (Calico's protocol name).
const INJ_NAME: &str = "Node_10_0_1_2";
const OBS_AS: u32 = 65003;

// ===== UPDATE bodies, in hex =====

fn origin() -> String {
    attr(0x40, 1, "00")
}
/// AS_SEQUENCE [65001]: the injector's own AS first, as an eBGP peer must.
fn as_path() -> String {
    attr(0x40, 2, "0201 0000fde9")
}
/// NEXT_HOP 10.0.1.2, the injector itself.
fn next_hop() -> String {
    attr(0x40, 3, "0a000102")
}
fn base() -> String {
    origin() + &as_path() + &next_hop()
}
/// IPv4 NLRI of a /24 in 10.99.0.0/16.
fn nlri24(third: u8) -> String {
    format!("180a63{third:02x}")
}
fn prefix24(third: u8) -> String {
    format!("10.99.{third}.0/24")
}

/// A ROUTE-REFRESH for IPv4 unicast with this subtype (RFC 7313 §3: 0
/// request, 1 BoRR, 2 EoRR).
fn route_refresh(subtype: u8) -> Vec<u8> {
    injector::message(injector::ROUTE_REFRESH, &[0, 1, subtype, 1])
}

/// Enhanced route refresh capability (RFC 7313 §3: code 70, length 0).
const CAP_ENHANCED_ROUTE_REFRESH: [u8; 2] = [70, 0];

// ===== The topology =====

struct World {
    // Daemons before namespaces: dropped (stopped) first.
    dut: Node,
    inj_ns: Netns,
    obs_ns: Netns,
    _lan: Lan,
    _wd: Workdir,
}

impl World {
    /// dut with `extra` in its configuration (whole sections, before the
    /// peers) and inj and obs as passive eBGP peers.
    fn new(tag: &str, extra: &str) -> World {
        World::with(tag, extra, "", "")
    }

    /// [`World::new`] with IPv6 on the LAN too (dut `fd00:1::1`),
    /// carried on dut's IPv4 session with inj beside IPv4, and `inj_extra`
    /// in inj's `[[peers]]` entry.
    fn dual_stack(tag: &str, inj_extra: &str) -> World {
        let inj = format!("families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n{inj_extra}\n");
        World::with(tag, "", "fd00:1::/64", &inj)
    }

    fn with(tag: &str, extra: &str, v6: &str, inj_extra: &str) -> World {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new("rfc", "10.0.1.0/24", v6).unwrap();
        let mut dut = Node::new(&wd, "dut");
        let inj_ns = Netns::new("inj").unwrap();
        let obs_ns = Netns::new("obs").unwrap();
        // Attach order gives .1, .2, .3.
        lan.attach(&dut.ns).unwrap();
        lan.attach(&inj_ns).unwrap();
        lan.attach(&obs_ns).unwrap();
        let node_v6 =
            if v6.is_empty() { String::new() } else { "ipv6 = \"fd00:1::1/64\"\n".into() };
        dut.write_config(&format!(
            "log_level = \"debug\"\n[node]\nname = \"dut\"\nlocal_as = 64512\n\
             ipv4 = \"{DUT}/24\"\n{node_v6}blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}\
             [mesh]\nenabled = false\n[[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
             [[ip_pools]]\ncidr = \"10.96.0.0/12\"\n{extra}\n\
             [[peers]]\nname = \"inj\"\naddress = \"{INJ}\"\nremote_as = {INJ_AS}\npassive = true\n\
             {inj_extra}\
             [[peers]]\nname = \"obs\"\naddress = \"{OBS}\"\nremote_as = {OBS_AS}\npassive = true\n"
        ));
        dut.start();
        World { dut, inj_ns, obs_ns, _lan: lan, _wd: wd }
    }

    fn ctl_json(&self, args: &[&str]) -> Option<Value> {
        let mut full = vec!["-o", "json"];
        full.extend_from_slice(args);
        let o = self.dut.ctl(&full);
        if !o.status.success() {
            return None;
        }
        serde_json::from_slice(&o.stdout).ok()
    }

    /// dut's view of its peer at `addr`, from `show peers`.
    fn peer(&self, addr: &str) -> Option<Value> {
        let v = self.ctl_json(&["show", "peers"])?;
        v["data"].as_array()?.iter().find(|p| p["address"] == addr).cloned()
    }

    fn state(&self, addr: &str) -> String {
        self.peer(addr).and_then(|p| p["state"].as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// The paths dut holds for `prefix` learned from `from`; `None` when
    /// `show routes` did not answer (never read as "no route").
    fn paths(&self, prefix: &str, from: &str) -> Option<Vec<Value>> {
        let v = self.ctl_json(&["show", "routes"])?;
        let routes = v["data"].as_array()?;
        let paths = routes
            .iter()
            .filter(|r| r["prefix"] == prefix)
            .flat_map(|r| r["paths"].as_array().cloned().unwrap_or_default())
            .filter(|p| p["source"]["kind"] == "bgp" && p["source"]["peer"] == from)
            .collect();
        Some(paths)
    }

    fn has(&self, prefix: &str, from: &str) -> bool {
        self.paths(prefix, from).is_some_and(|p| !p.is_empty())
    }

    fn lacks(&self, prefix: &str, from: &str) -> bool {
        self.paths(prefix, from).is_some_and(|p| p.is_empty())
    }

    fn dump(&self, inj: &[&Injector]) -> String {
        let text = |o: Output| {
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
        };
        let mut s = format!(
            "=== dut show peers ===\n{}=== dut show routes ===\n{}=== dut log ===\n{}\n",
            text(self.dut.ctl(&["show", "peers"])),
            text(self.dut.ctl(&["show", "routes"])),
            self.dut.log()
        );
        for i in inj {
            s.push_str(&i.transcript());
            s.push('\n');
        }
        s
    }

    fn fail(&self, inj: &[&Injector], msg: impl std::fmt::Display) -> ! {
        panic!("{msg}\n{}", self.dump(inj))
    }

    fn wait(&self, inj: &[&Injector], timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
        if let Err(e) = wait_until(timeout, what, || Ok(f())) {
            self.fail(inj, e);
        }
    }

    /// An Established session from the namespace `ns` (inj or obs) with
    /// these capabilities beyond the injector's three.
    fn connect(&self, ns: &Netns, me: &str, asn: u32, extra_caps: &[u8]) -> Injector {
        let mut cfg = InjectorConfig::new(asn, me.parse::<Ipv4Addr>().unwrap());
        cfg.extra_caps = extra_caps.to_vec();
        let to: SocketAddr = format!("{DUT}:179").parse().unwrap();
        let inj = Injector::establish_within(ns, to, &cfg, UP)
            .unwrap_or_else(|e| self.fail(&[], format!("{me} cannot establish: {e}")));
        self.wait(&[&inj], SHOW, &format!("dut shows {me} Established"), || {
            self.state(me) == "Established"
        });
        inj
    }

    fn injector(&self, extra_caps: &[u8]) -> Injector {
        self.connect(&self.inj_ns, INJ, INJ_AS, extra_caps)
    }

    fn observer(&self, extra_caps: &[u8]) -> Injector {
        self.connect(&self.obs_ns, OBS, OBS_AS, extra_caps)
    }

    /// Announces `thirds` in one UPDATE and waits for dut to hold them.
    fn announce(&self, inj: &Injector, thirds: &[u8]) {
        let nlri: String = thirds.iter().map(|t| nlri24(*t)).collect();
        inj.send_update(&upd("", &base(), &nlri)).unwrap();
        for t in thirds {
            self.wait(&[inj], SHOW, &format!("{} from inj", prefix24(*t)), || {
                self.has(&prefix24(*t), INJ)
            });
        }
    }

    /// The session with `inj` survived: no NOTIFICATION or close on its
    /// side, Established on dut's.
    fn assert_up(&self, inj: &mut Injector, addr: &str) {
        if let Err(e) = inj.check_alive() {
            self.fail(&[inj], e);
        }
        let st = self.state(addr);
        if st != "Established" {
            self.fail(&[inj], format!("dut's session with {addr} is {st}"));
        }
    }
}

/// Whether one line of `node`'s log holds every word (case-insensitive).
fn logged(node: &Node, words: &[&str]) -> bool {
    node.log().lines().any(|l| {
        let l = l.to_lowercase();
        words.iter().all(|w| l.contains(&w.to_lowercase()))
    })
}

// ===== RFC 7313 §4: a peer's enhanced route refresh =====

/// "When the BGP speaker receives a BoRR message from its peer, it MUST
/// mark all the routes with the given AFI and SAFI, previously received
/// from that peer, as stale routes" and on the EoRR "MUST immediately
/// remove all the routes from the peer that are still marked as stale"
/// (RFC 7313 §4). The peer announces two prefixes, refreshes with one:
/// the other goes, the refreshed one stays, the session stays up.
#[test]
fn eorr_removes_the_routes_the_peer_did_not_readvertise_after_its_borr() {
    let w = World::new("rfc-eorr", "");
    let mut inj = w.injector(&CAP_ENHANCED_ROUTE_REFRESH);
    w.announce(&inj, &[1, 2]);

    inj.send_raw(&route_refresh(1)).unwrap();
    w.wait(&[&inj], SHOW, "both routes stale after the BoRR", || {
        [1, 2].iter().all(|t| {
            w.paths(&prefix24(*t), INJ).is_some_and(|p| p.len() == 1 && p[0]["stale"] == true)
        })
    });
    inj.send_update(&upd("", &base(), &nlri24(1))).unwrap();
    w.wait(&[&inj], SHOW, "10.99.1.0/24 fresh again", || {
        w.paths(&prefix24(1), INJ).is_some_and(|p| p.len() == 1 && p[0]["stale"] == false)
    });
    // Until the EoRR, the stale route stays in use.
    if !w.has(&prefix24(2), INJ) {
        w.fail(&[&inj], "10.99.2.0/24 removed before the EoRR");
    }
    inj.send_raw(&route_refresh(2)).unwrap();
    w.wait(&[&inj], SHOW, "10.99.2.0/24 removed at the EoRR", || w.lacks(&prefix24(2), INJ));
    if !w.has(&prefix24(1), INJ) {
        w.fail(&[&inj], "the refreshed 10.99.1.0/24 went with the stale one");
    }
    w.assert_up(&mut inj, INJ);
    w.wait(&[&inj], SHOW, "the EoRR in dut's log", || logged(&w.dut, &["EoRR", INJ_NAME]));
}

/// "An implementation MAY impose a locally configurable upper bound on how
/// long it would retain any routes marked as stale. Once the upper bound
/// is reached, the BGP speaker MUST remove all the stale routes" (RFC 7313
/// §4): with `graceful_restart.stale_time = 3`, a BoRR never followed by
/// its EoRR removes what was not re-advertised after 3 s.
#[test]
fn without_an_eorr_the_stale_time_removes_the_routes_not_readvertised() {
    let w = World::new("rfc-borr", "[graceful_restart]\nstale_time = 3\n");
    let mut inj = w.injector(&CAP_ENHANCED_ROUTE_REFRESH);
    w.announce(&inj, &[1, 2]);
    inj.send_raw(&route_refresh(1)).unwrap();
    inj.send_update(&upd("", &base(), &nlri24(1))).unwrap();
    w.wait(&[&inj], SHOW, "10.99.2.0/24 removed by the stale timer", || w.lacks(&prefix24(2), INJ));
    w.wait(&[&inj], SHOW, "the expiry in dut's log", || logged(&w.dut, &["no EoRR", INJ_NAME]));
    let p = w.paths(&prefix24(1), INJ).unwrap_or_default();
    if p.len() != 1 || p[0]["stale"] != false {
        w.fail(&[&inj], format!("10.99.1.0/24 not kept fresh: {p:?}"));
    }
    w.assert_up(&mut inj, INJ);
}

/// "If the Enhanced Route Refresh Capability has been received from the
/// peer, the BGP speaker MUST send a BoRR message before the re-
/// advertisement ... and an EoRR message after" (RFC 7313 §4): asked for
/// IPv4 unicast, dut answers BoRR, its block, EoRR, in that order, and only
/// then; without the capability (RFC 2918 §4) the table comes back bare.
#[test]
fn a_refresh_request_is_answered_between_borr_and_eorr_when_the_peer_has_the_capability() {
    for (caps, enhanced) in [(&CAP_ENHANCED_ROUTE_REFRESH[..], true), (&[][..], false)] {
        let w = World::new(if enhanced { "rfc-borr-out" } else { "rfc-rr-out" }, "");
        let mut inj = w.injector(caps);
        // The initial table and its End-of-RIB first, so that what follows
        // the request is the answer.
        let deadline = std::time::Instant::now() + SHOW;
        let mut eor = false;
        while !eor && std::time::Instant::now() < deadline {
            if let Some(Incoming::Update(body)) = inj.recv(Duration::from_millis(200)) {
                eor = body == [0, 0, 0, 0];
            }
        }
        if !eor {
            w.fail(&[&inj], format!("enhanced {enhanced}: no End-of-RIB after the table"));
        }
        inj.send_raw(&route_refresh(0)).unwrap();
        // What dut sends next, in order: B (BoRR), U (an UPDATE holding the
        // block), E (EoRR); KEEPALIVEs skipped.
        let mut seen = String::new();
        let deadline = std::time::Instant::now() + SHOW;
        let done = |seen: &str| if enhanced { seen.ends_with('E') } else { seen.contains('U') };
        while !done(&seen) && std::time::Instant::now() < deadline {
            match inj.recv(Duration::from_millis(200)) {
                Some(Incoming::Other { msg_type: injector::ROUTE_REFRESH, body }) => {
                    match body.as_slice() {
                        [0, 1, 1, 1] => seen.push('B'),
                        [0, 1, 2, 1] => seen.push('E'),
                        other => w.fail(&[&inj], format!("unexpected ROUTE-REFRESH {other:?}")),
                    }
                }
                Some(Incoming::Update(body))
                    if nlri_prefixes(&body).contains(&"10.244.1.0/26".to_owned()) =>
                {
                    seen.push('U');
                }
                Some(Incoming::Closed(why)) => w.fail(&[&inj], format!("closed: {why}")),
                _ => {}
            }
        }
        let want = if enhanced { "BUE" } else { "U" };
        if seen != want {
            w.fail(&[&inj], format!("enhanced {enhanced}: answer was {seen:?}, not {want:?}"));
        }
        w.assert_up(&mut inj, INJ);
    }
}

// ===== RFC 8654: extended messages =====

/// Extended Message capability (RFC 8654 §3: code 6, length 0).
const CAP_EXTENDED_MESSAGE: [u8; 2] = [6, 0];

/// The capabilities in an OPEN body as (code, value) (RFC 5492 optional
/// parameters of type 2; the short form, which is all the daemon sends to a
/// peer whose OPEN used it).
fn capabilities(open: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut caps = Vec::new();
    let params = &open[10..10 + usize::from(open[9])];
    let mut i = 0;
    while i + 2 <= params.len() {
        let (ty, len) = (params[i], usize::from(params[i + 1]));
        let value = &params[i + 2..(i + 2 + len).min(params.len())];
        if ty == 2 {
            let mut j = 0;
            while j + 2 <= value.len() {
                let end = (j + 2 + usize::from(value[j + 1])).min(value.len());
                caps.push((value[j], value[j + 2..end].to_vec()));
                j = end;
            }
        }
        i += 2 + len;
    }
    caps
}

/// The IPv4 prefixes announced in an UPDATE body (NLRI field only).
fn nlri_prefixes(body: &[u8]) -> Vec<String> {
    let wlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let alen = usize::from(u16::from_be_bytes([body[2 + wlen], body[3 + wlen]]));
    let mut i = 4 + wlen + alen;
    let mut v = Vec::new();
    while i < body.len() {
        let bits = body[i];
        let n = usize::from(bits).div_ceil(8);
        let mut o = [0u8; 4];
        o[..n].copy_from_slice(&body[i + 1..i + 1 + n]);
        v.push(format!("{}/{bits}", Ipv4Addr::from(o)));
        i += 1 + n;
    }
    v
}

/// `n` /24 NLRI from 10.100.0.0 on, inside the 10.96.0.0/12 pool.
fn many_nlri(n: u16) -> String {
    (0..n).map(|i| format!("180a{:02x}{:02x}", 100 + i / 256, i % 256)).collect()
}

/// Counters of dut's session with `addr` for IPv4: (received, advertised).
fn ipv4_counts(w: &World, addr: &str) -> Option<(u64, u64)> {
    let p = w.ctl_json(&["show", "peer", addr])?;
    let f = p["data"]["prefixes"].as_array()?.iter().find(|f| f["family"] == "ipv4")?;
    Some((f["received"].as_u64()?, f["advertised"].as_u64()?))
}

/// "A BGP speaker that is capable of handling BGP messages up to 65535
/// octets in length MAY advertise the Extended Message Capability" (RFC
/// 8654 §3); once both have, "the BGP speaker MAY send BGP messages ... up
/// to 65535 octets" (§4). dut advertises it by default; a 5004-octet
/// UPDATE (5003 octets) from inj is taken whole (no 1/2 Bad Message Length), and dut's
/// own UPDATE to obs, which advertised it too, carries the 1240 prefixes
/// and dut's block in one message over 4096 octets.
#[test]
fn extended_messages_are_advertised_a_5000_octet_update_is_accepted_and_large_ones_sent() {
    const N: u16 = 1240;
    let w = World::new("rfc-ext", "");
    let mut inj = w.injector(&CAP_EXTENDED_MESSAGE);
    let codes: Vec<u8> =
        capabilities(inj.speaker_open().unwrap_or_default()).iter().map(|c| c.0).collect();
    if !codes.contains(&6) {
        w.fail(&[&inj], format!("dut's OPEN has no Extended Message capability: {codes:?}"));
    }
    let msg = injector::message(injector::UPDATE, &upd("", &base(), &many_nlri(N)));
    assert!(msg.len() > 5000, "the UPDATE under test is {} octets", msg.len());
    inj.send_raw(&msg).unwrap();
    w.wait(&[&inj], SHOW, "dut holds the 1240 prefixes", || {
        ipv4_counts(&w, INJ).is_some_and(|(rx, _)| rx == u64::from(N))
    });
    w.assert_up(&mut inj, INJ);

    let mut obs = w.observer(&CAP_EXTENDED_MESSAGE);
    let (mut announced, mut longest) = (0, 0);
    let deadline = std::time::Instant::now() + SHOW;
    while announced < usize::from(N) + 1 && std::time::Instant::now() < deadline {
        if let Some(Incoming::Update(body)) = obs.recv(Duration::from_millis(200)) {
            announced += nlri_prefixes(&body).len();
            longest = longest.max(injector::HEADER_LEN + body.len());
        }
    }
    if announced < usize::from(N) + 1 || longest <= 4096 {
        w.fail(
            &[&inj, &obs],
            format!("obs got {announced} prefixes, longest UPDATE {longest} octets"),
        );
    }
    w.assert_up(&mut obs, OBS);
}

/// The other way round: a peer that did not advertise the capability gets
/// no message over 4096 octets (RFC 8654 §4: "MUST NOT send ... unless
/// the Extended Message Capability was received"), and one that sends it
/// a 5000-octet message anyway gets 1/2 Bad Message Length with the length
/// (RFC 4271 §6.1).
#[test]
fn without_the_peers_capability_updates_stay_within_4096_and_a_longer_one_is_refused() {
    const N: u16 = 1240;
    let w = World::new("rfc-noext", "");
    let inj = w.injector(&CAP_EXTENDED_MESSAGE);
    inj.send_update(&upd("", &base(), &many_nlri(N))).unwrap();
    w.wait(&[&inj], SHOW, "dut holds the 1240 prefixes", || {
        ipv4_counts(&w, INJ).is_some_and(|(rx, _)| rx == u64::from(N))
    });
    let mut obs = w.observer(&[]);
    let (mut announced, mut longest) = (0, 0);
    let deadline = std::time::Instant::now() + SHOW;
    while announced < usize::from(N) + 1 && std::time::Instant::now() < deadline {
        if let Some(Incoming::Update(body)) = obs.recv(Duration::from_millis(200)) {
            announced += nlri_prefixes(&body).len();
            longest = longest.max(injector::HEADER_LEN + body.len());
        }
    }
    if announced < usize::from(N) + 1 || longest > 4096 {
        w.fail(
            &[&inj, &obs],
            format!("obs got {announced} prefixes, longest UPDATE {longest} octets"),
        );
    }
    obs.send_update(&upd("", &base(), &many_nlri(N))).unwrap();
    let n = obs.expect_notification(SHOW).unwrap_or_else(|e| w.fail(&[&inj, &obs], e));
    assert_eq!((n.code.0, n.subcode, &n.data[..]), (1, 2, &5003u16.to_be_bytes()[..]), "{n}");
}

// ===== RFC 4271 §6.3: a NEXT_HOP that is our own address =====

/// "If the NEXT_HOP attribute is semantically incorrect, the error SHOULD
/// be logged, and the route SHOULD be ignored. In this case, a
/// NOTIFICATION message SHOULD NOT be sent" (RFC 4271 §6.3), where "it
/// MUST NOT be the IP address of the receiving speaker". inj announces
/// 10.99.5.0/24 with NEXT_HOP 10.0.1.1 (dut), then 10.99.6.0/24 via
/// itself: dut shows the first with the reason but never selects it,
/// installs it or passes it to obs; the second goes everywhere; the
/// session stays up.
#[test]
fn a_route_whose_next_hop_is_our_own_address_is_ignored() {
    let w = World::new("rfc-nhself", "");
    let mut obs = w.observer(&[]);
    let mut inj = w.injector(&[]);
    let own_nh = origin() + &as_path() + &attr(0x40, 3, "0a000101");
    inj.send_update(&upd("", &own_nh, &nlri24(5))).unwrap();
    w.wait(&[&inj], SHOW, "10.99.5.0/24 shown, not best", || {
        w.paths(&prefix24(5), INJ).is_some_and(|p| {
            p.len() == 1
                && p[0]["best"] == false
                && p[0]["reject_reason"].to_string().contains("own address")
        })
    });
    w.announce(&inj, &[6]);
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + SHOW;
    while !got.contains(&prefix24(6)) && std::time::Instant::now() < deadline {
        if let Some(Incoming::Update(body)) = obs.recv(Duration::from_millis(200)) {
            got.extend(nlri_prefixes(&body));
        }
    }
    if !got.contains(&prefix24(6)) || got.contains(&prefix24(5)) {
        w.fail(&[&inj, &obs], format!("obs was sent {got:?}"));
    }
    let kernel = || -> Vec<String> {
        daemon_common::bird_routes(&w.dut.ns)
            .iter()
            .filter_map(|r| r["dst"].as_str().map(str::to_owned))
            .collect()
    };
    w.wait(&[&inj, &obs], SHOW, "10.99.6.0/24 in dut's kernel", || kernel().contains(&prefix24(6)));
    if kernel().contains(&prefix24(5)) {
        w.fail(&[&inj, &obs], format!("10.99.5.0/24 in dut's kernel: {:?}", kernel()));
    }
    w.assert_up(&mut inj, INJ);
}

// ===== RFC 7606 §4: attribute lengths against the Total Attribute Length =====

/// "... the length of the last encountered path attribute would cause the
/// Total Attribute Length to be exceeded" or "fewer than three octets
/// remain ... when beginning to parse the attribute": "the
/// 'treat-as-withdraw' approach MUST be used ... and the Total Attribute
/// Length MUST be relied upon to enable the beginning of the NLRI field to
/// be located" (RFC 7606 §4). Each case on a prefix announced cleanly
/// before: it is withdrawn, the session stays up. Without NLRI to locate
/// (only withdrawals, no MP attribute), §3.j leaves a session reset, with
/// 3/5 Attribute Length Error.
#[test]
fn attribute_overrunning_the_attribute_list_is_treat_as_withdraw_when_the_nlri_are_located() {
    let w = World::new("rfc-7606-4", "");
    let mut inj = w.injector(&[]);
    // COMMUNITIES claiming 12 octets with 5 left in the list.
    let overrun = base() + "c0080c00000001";
    // Two octets where an attribute header needs three.
    let short = base() + "4001";
    for (third, attrs) in [(7, &overrun), (8, &short)] {
        w.announce(&inj, &[third]);
        inj.send_update(&upd("", attrs, &nlri24(third))).unwrap();
        w.wait(&[&inj], SHOW, &format!("{} withdrawn", prefix24(third)), || {
            w.lacks(&prefix24(third), INJ)
        });
        w.assert_up(&mut inj, INJ);
    }
    w.wait(&[&inj], SHOW, "the treat-as-withdraw logged with the NLRI", || {
        logged(&w.dut, &[INJ, &prefix24(7)]) && logged(&w.dut, &[INJ, &prefix24(8)])
    });

    inj.send_update(&upd(&nlri24(7), &overrun, "")).unwrap();
    let n = inj.expect_notification(SHOW).unwrap_or_else(|e| w.fail(&[&inj], e));
    assert_eq!((n.code.0, n.subcode), (3, 5), "{n}");
}

// ===== RFC 4271 §5: unknown optional transitive attributes passed on =====

/// The path attributes of an UPDATE body as (flags, type, value).
fn attributes(body: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
    let wlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let alen = usize::from(u16::from_be_bytes([body[2 + wlen], body[3 + wlen]]));
    let list = &body[4 + wlen..4 + wlen + alen];
    let mut v = Vec::new();
    let mut i = 0;
    while i + 3 <= list.len() {
        let (flags, ty) = (list[i], list[i + 1]);
        let (hdr, len) = if flags & 0x10 != 0 {
            (4, usize::from(u16::from_be_bytes([list[i + 2], list[i + 3]])))
        } else {
            (3, usize::from(list[i + 2]))
        };
        v.push((flags, ty, list[i + hdr..i + hdr + len].to_vec()));
        i += hdr + len;
    }
    v
}

/// "If an optional transitive attribute is unrecognized, the Partial bit
/// in the attribute flags octet is set to 1, and the attribute is retained
/// for propagation to other BGP speakers"; "If an optional non-transitive
/// attribute is unrecognized, it is quietly ignored" (RFC 4271 §5). inj
/// sends type 99 as optional transitive (flags 0xC0) and type 98 as
/// optional non-transitive (0x80): obs gets type 99 with flags 0xE0, and
/// no type 98.
#[test]
fn unknown_optional_transitive_attribute_is_passed_on_with_the_partial_bit() {
    let w = World::new("rfc-partial", "");
    let mut obs = w.observer(&[]);
    let inj = w.injector(&[]);
    let unknown = attr(0xc0, 99, "0102") + &attr(0x80, 98, "03");
    inj.send_update(&upd("", &(base() + &unknown), &nlri24(9))).unwrap();
    let mut got = None;
    let deadline = std::time::Instant::now() + SHOW;
    while got.is_none() && std::time::Instant::now() < deadline {
        if let Some(Incoming::Update(body)) = obs.recv(Duration::from_millis(200)) {
            if nlri_prefixes(&body).contains(&prefix24(9)) {
                got = Some(attributes(&body));
            }
        }
    }
    let Some(attrs) = got else { w.fail(&[&inj, &obs], "10.99.9.0/24 never reached obs") };
    let unknown: Vec<_> = attrs.iter().filter(|(_, ty, _)| *ty == 98 || *ty == 99).collect();
    if unknown != [&(0xe0, 99, vec![1, 2])] {
        w.fail(&[&inj, &obs], format!("obs got unknown attributes {unknown:?}"));
    }
    w.assert_up(&mut obs, OBS);
}

// ===== RFC 4760 §7: an incorrect MP_REACH_NLRI / MP_UNREACH_NLRI =====

/// "... if the speaker determines that the attribute is incorrect ... the
/// speaker MAY terminate the session ... with 'Optional Attribute Error'"
/// (RFC 4760 §7; RFC 7606 §5.3 and §7.11 keep the reset for a prefix
/// longer than the family allows), the data being the attribute (RFC 4271
/// §6.3). An MP_REACH_NLRI for IPv4 holding a /33, then an MP_UNREACH_NLRI
/// holding one: 3/9 each time, not 3/10 (Invalid Network Field is the
/// UPDATE's own NLRI field).
#[test]
fn mp_attribute_with_a_prefix_longer_than_the_family_is_optional_attribute_error() {
    let w = World::new("rfc-mp-len", "");
    let mp_reach = attr(0x80, 14, "0001 01 04 0a000102 00 21 0a00000000");
    let mp_unreach = attr(0x80, 15, "0001 01 21 0a00000000");
    for (what, attrs) in [
        ("MP_REACH_NLRI", mp_reach.clone() + &origin() + &as_path()),
        ("MP_UNREACH_NLRI", mp_unreach.clone()),
    ] {
        let mut inj = w.injector(&[]);
        inj.send_update(&upd("", &attrs, "")).unwrap();
        let n = inj.expect_notification(SHOW).unwrap_or_else(|e| w.fail(&[&inj], e));
        let tlv =
            hex::decode(if what == "MP_REACH_NLRI" { &mp_reach } else { &mp_unreach }).unwrap();
        if (n.code.0, n.subcode, &n.data[..]) != (3, 9, &tlv[..]) {
            w.fail(&[&inj], format!("{what} with a /33: got {n} data {}", injector::hex(&n.data)));
        }
    }
}

// ===== RFC 4724 §4.1: a fresh start is not a restart =====

/// Graceful Restart capability (RFC 4724 §3): restart time 120 s, IPv4
/// unicast with the F bit.
const CAP_GRACEFUL_RESTART: [u8; 8] = [64, 6, 0x00, 0x78, 0x00, 0x01, 0x01, 0x80];

/// RFC 4724 §4.1 defers a speaker's table only "once the Restarting Speaker
/// ... has restarted": a node with nothing of a previous run in its kernel,
/// or with no kernel at all (`fib.enabled = false`, a dedicated route
/// reflector), has not. Its OPEN carries the Graceful Restart capability
/// without the Restart State bit ("... set to 1 to indicate that the BGP
/// speaker has restarted"), and a graceful restart peer gets the table and
/// End-of-RIB at once, without sending its own End-of-RIB first. A
/// ROUTE-REFRESH is answered with the table again (RFC 2918 §4).
#[test]
fn a_fresh_start_is_not_a_restart_with_or_without_a_kernel() {
    for (tag, extra) in [("rfc-fresh", ""), ("rfc-fresh-nofib", "[fib]\nenabled = false\n")] {
        let w = World::new(tag, extra);
        let mut inj = w.injector(&CAP_GRACEFUL_RESTART);
        let caps = capabilities(inj.speaker_open().unwrap_or_default());
        let gr = caps.iter().find(|(code, _)| *code == 64).map(|(_, v)| v.clone());
        match gr.as_deref() {
            Some([flags, ..]) if flags & 0x80 == 0 => {}
            other => w.fail(&[&inj], format!("{tag}: dut's GR capability is {other:?}")),
        }
        // The table (dut's block) and End-of-RIB, though inj sends neither
        // UPDATE nor End-of-RIB.
        let table = |inj: &mut Injector, what: &str| {
            // A refresh ends without End-of-RIB (RFC 2918 has none).
            let (mut block, mut eor) = (false, what != "initial");
            let deadline = std::time::Instant::now() + SHOW;
            while !(block && eor) && std::time::Instant::now() < deadline {
                if let Some(Incoming::Update(body)) = inj.recv(Duration::from_millis(200)) {
                    block |= nlri_prefixes(&body).contains(&"10.244.1.0/26".to_owned());
                    eor |= body == [0, 0, 0, 0];
                }
            }
            if !block || !eor {
                w.fail(&[inj], format!("{tag}: {what} table not sent (block {block}, eor {eor})"));
            }
        };
        table(&mut inj, "initial");
        inj.send_raw(&route_refresh(0)).unwrap();
        table(&mut inj, "refreshed");
        w.assert_up(&mut inj, INJ);
        if logged(&w.dut, &["recovering"]) {
            w.fail(&[&inj], format!("{tag}: dut took its start for a restart"));
        }
    }
}

// ===== show commands tell what the daemon holds =====

/// `show routes` shows a path's EXTENDED_COMMUNITIES (RFC 4360) and the
/// attributes the daemon does not interpret, as received; and `show peer`
/// classes a hold timer expiry as BIRD does ("Error: Hold timer expired":
/// a local error, though a NOTIFICATION goes out for it, RFC 4271 §6.5).
#[test]
fn show_routes_has_extended_communities_and_unknown_attributes_and_show_peer_the_hold_timer() {
    let w = World::new("rfc-show", "");
    let mut cfg = InjectorConfig::new(INJ_AS, INJ.parse::<Ipv4Addr>().unwrap());
    cfg.hold_time = 3;
    let to: SocketAddr = format!("{DUT}:179").parse().unwrap();
    let mut inj = Injector::establish_within(&w.inj_ns, to, &cfg, UP)
        .unwrap_or_else(|e| w.fail(&[], format!("inj cannot establish: {e}")));
    // Route target 65000:1 (two-octet AS specific, RFC 4360 §4) and type 99,
    // optional transitive.
    let extra = attr(0xc0, 16, "0002 fde8 00000001") + &attr(0xc0, 99, "0102");
    inj.send_update(&upd("", &(base() + &extra), &nlri24(10))).unwrap();
    w.wait(&[&inj], SHOW, "10.99.10.0/24 with its attributes in show routes", || {
        w.paths(&prefix24(10), INJ).is_some_and(|p| {
            p.len() == 1
                && p[0]["extended_communities"] == serde_json::json!(["RT:65000:1"])
                && p[0]["unknown"]
                    == serde_json::json!([{"type_code": 99, "flags": 0xc0, "value": "0102"}])
        })
    });
    let text = String::from_utf8_lossy(&w.dut.ctl(&["show", "routes"]).stdout).into_owned();
    for want in ["ext communities RT:65000:1", "attr 99 flags 0xc0 0102"] {
        if !text.contains(want) {
            w.fail(&[&inj], format!("{want:?} not in show routes:\n{text}"));
        }
    }

    // inj falls silent: dut's hold timer (3 s, the smaller offer) expires.
    inj.stop_keepalives();
    let n = inj.expect_notification(SHOW).unwrap_or_else(|e| w.fail(&[&inj], e));
    assert_eq!((n.code.0, n.subcode), (4, 0), "{n}");
    w.wait(&[&inj], SHOW, "show peer: Error: Hold timer expired", || {
        w.ctl_json(&["show", "peer", INJ]).is_some_and(|p| {
            let e = &p["data"]["last_error"];
            e["class"] == "error" && e["message"] == "Hold timer expired"
        })
    });
}

// ===== RFC 4486 §4: the prefix limit of each address family =====

/// Multiprotocol capability for IPv6 unicast (RFC 4760 §8: AFI 2, SAFI 1).
const CAP_MP_IPV6: [u8; 6] = [1, 4, 0, 2, 0, 1];

/// An MP_REACH_NLRI for IPv6 unicast (RFC 4760 §3), next hop inj's
/// `fd00:1::2`, holding `fd00:99:0:N::/64` for each N in `nets`.
fn mp_reach_v6(nets: &[u8]) -> String {
    let nlri: String = nets.iter().map(|n| format!("40 fd000099 000000{n:02x}")).collect();
    attr(0x80, 14, &format!("0002 01 10 fd000001000000000000000000000002 00 {nlri}"))
}

/// One family's counters of dut's session with inj: (received, limit).
fn family_counts(w: &World, family: &str) -> Option<(u64, Option<u64>)> {
    let p = w.ctl_json(&["show", "peer", INJ])?;
    let f = p["data"]["prefixes"].as_array()?.iter().find(|f| f["family"] == family)?;
    Some((f["received"].as_u64()?, f["limit"].as_u64()))
}

/// Each family is held to its own limit (as BIRD's per-channel `import
/// limit`): with `ipv4_unicast = 10, ipv6_unicast = 4`, five IPv4 prefixes
/// are within the IPv4 limit and keep the session up, and `show peer`
/// reports each family's count beside its limit; five IPv6 prefixes are
/// over the IPv6 limit: Cease / Maximum Number of Prefixes Reached (6/1),
/// whose data is "AFI (2 octets), SAFI (1 octet), and the prefix upper
/// bound (4 octets)" (RFC 4486 §4) of IPv6 unicast and 4.
#[test]
fn the_ipv6_prefix_limit_tears_down_and_the_same_count_of_ipv4_within_its_limit_does_not() {
    let w =
        World::dual_stack("rfc-max-prefix", "max_prefix = { ipv4_unicast = 10, ipv6_unicast = 4 }");
    let mut inj = w.injector(&CAP_MP_IPV6);
    w.announce(&inj, &[1, 2, 3, 4, 5]);
    w.wait(&[&inj], SHOW, "show peer: 5 IPv4 prefixes of 10, IPv6 limit 4", || {
        family_counts(&w, "ipv4") == Some((5, Some(10)))
            && family_counts(&w, "ipv6") == Some((0, Some(4)))
    });
    let text = w.dut.ctl(&["show", "peer", INJ]);
    let text = String::from_utf8_lossy(&text.stdout);
    let v4 = text.lines().find(|l| l.contains("Routes (ipv4)")).unwrap_or_default();
    if !(v4.contains("5 received") && v4.ends_with(", limit 10")) {
        w.fail(&[&inj], format!("show peer text lacks the IPv4 count and limit:\n{text}"));
    }
    w.assert_up(&mut inj, INJ);

    inj.send_update(&upd("", &(origin() + &as_path() + &mp_reach_v6(&[1, 2, 3, 4, 5])), ""))
        .unwrap();
    let n = inj.expect_notification(SHOW).unwrap_or_else(|e| w.fail(&[&inj], e));
    if (n.code.0, n.subcode, &n.data[..]) != (6, 1, &[0, 2, 1, 0, 0, 0, 4][..]) {
        w.fail(
            &[&inj],
            format!("expected 6/1 for IPv6 unicast and 4: got {n} data {}", injector::hex(&n.data)),
        );
    }
    w.wait(&[&inj], SHOW, "the teardown in dut's log", || {
        logged(&w.dut, &["5 ipv6 prefixes", "over the limit of 4", "tearing down"])
    });
}
