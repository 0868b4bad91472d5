//! Malformed UPDATEs injected into a running
//! calico-bgpd, handled per RFC 7606 and RFC 4271 §6, while the daemon keeps
//! serving its other peer.
//!
//! ```text
//!                       LAN 10.0.1.0/24 (bridge in a switch namespace)
//!   +-----------------+        +----------------------+        +-----------------+
//!   | inj  10.0.1.2   |  eBGP  | dut  10.0.1.1        |  eBGP  | good 10.0.1.3   |
//!   | AS 65001        |------->| calico-bgpd AS 64512 |<------>| calico-bgpd     |
//!   | interop_tests:: |  raw   | block 10.244.1.0/26  |        | AS 65002        |
//!   | Injector        | bytes  | inj is passive       |        | 10.244.2.0/26   |
//!   +-----------------+        +----------------------+        +-----------------+
//! ```
//!
//! Checks (numbered; each test says which it covers):
//!
//! 1. Treat-as-withdraw (ORIGIN value 5; NEXT_HOP of length 3) on a prefix
//!    announced cleanly before: the session stays Established, the prefix is
//!    withdrawn (`show routes`), the log names the defect (RFC 7606 §6).
//! 2. Attribute discard (ATOMIC_AGGREGATE of length 1; LOCAL_PREF from an
//!    eBGP peer): the route is accepted without the attribute, the session
//!    stays up.
//! 3. Session reset: Withdrawn Routes Length overrun, NLRI overrun, MP_REACH
//!    twice, an unknown well-known attribute: the injector receives the
//!    NOTIFICATION RFC 4271 §6.3 / RFC 7606 require, with its data.
//! 4. Bad header (wrong marker; length 18): Message Header Error with the
//!    RFC 4271 §6.1 subcode and data.
//! 5. `good` stays Established on both sides throughout, without a flap, and
//!    both keep each other's routes.
//! 6. After each reset the injector connects and establishes again within
//!    the daemon's retry timers.
//!
//! Every wait polls with a deadline; a failure dumps both daemons' peers,
//! routes and logs and the injector's transcript.

mod daemon_common;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Output;
use std::time::Duration;

use bgp::wire::NotificationMsg;
use bgp::wire::iana::{CeaseSubcode, HeaderSubcode, UpdateSubcode};
use daemon_common::{FAST_TIMERS, Node};
use interop_tests::injector::{self, Injector, InjectorConfig, attr, update_body as upd};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(20);
/// How long a route change takes to show: the snapshot trails by 100 ms.
const SHOW: Duration = Duration::from_secs(10);
/// How long the daemon may take to answer a bad message.
const ANSWER: Duration = Duration::from_secs(5);
/// Reconnect after a reset: error wait (≤ 2 s) + connect retry (2 s) with
/// FAST_TIMERS, and room for a loaded machine.
const RECONNECT: Duration = Duration::from_secs(12);

const DUT: &str = "10.0.1.1";
const INJ: &str = "10.0.1.2";
const GOOD: &str = "10.0.1.3";
const DUT_BLOCK: &str = "10.244.1.0/26";
const GOOD_BLOCK: &str = "10.244.2.0/26";
const INJ_AS: u32 = 65001;

fn ebgp_node(
    name: &str,
    asn: u32,
    me: &str,
    block: &str,
    peers: &[(&str, &str, u32, &str)],
) -> String {
    let mut s = format!(
        "log_level = \"debug\"\n[node]\nname = \"{name}\"\nlocal_as = {asn}\nipv4 = \"{me}/24\"\n\
         blocks = [\"{block}\"]\n{FAST_TIMERS}[mesh]\nenabled = false\n\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
    );
    for (name, addr, asn, extra) in peers {
        s.push_str(&format!(
            "[[peers]]\nname = \"{name}\"\naddress = \"{addr}\"\nremote_as = {asn}\n{extra}\n"
        ));
    }
    s
}

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
fn mp_reach_v6() -> String {
    attr(0x80, 14, "0002 01 10 20010db8000000000000000000000001 00 30 20010db80001")
}

// ===== The topology =====

struct World {
    // Daemons before namespaces: dropped (stopped) first.
    dut: Node,
    good: Node,
    inj_ns: Netns,
    _lan: Lan,
    _wd: Workdir,
    /// `good`'s session as dut saw it come up (`since`), to prove no flap.
    good_since: Option<u64>,
}

impl World {
    fn new(tag: &str) -> World {
        World::with(tag, "passive = true")
    }

    /// As [`World::new`], with `inj_extra` in dut's `[[peers]]` entry for inj.
    fn with(tag: &str, inj_extra: &str) -> World {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new("bad", "10.0.1.0/24", "").unwrap();
        let mut dut = Node::new(&wd, "dut");
        let inj_ns = Netns::new("inj").unwrap();
        let mut good = Node::new(&wd, "good");
        // Attach order gives .1, .2, .3.
        lan.attach(&dut.ns).unwrap();
        lan.attach(&inj_ns).unwrap();
        lan.attach(&good.ns).unwrap();
        dut.write_config(&ebgp_node(
            "dut",
            64512,
            DUT,
            DUT_BLOCK,
            &[("inj", INJ, INJ_AS, inj_extra), ("good", GOOD, 65002, "")],
        ));
        // good only listens: two dials racing end in a collision, after which
        // dut has been seen to show the surviving Established session as
        // Idle (the losing connection's state change wins). Bad input, not collisions, is under test here.
        let passive = [("dut", DUT, 64512, "passive = true")];
        good.write_config(&ebgp_node("good", 65002, GOOD, GOOD_BLOCK, &passive));
        dut.start();
        good.start();
        let mut w = World { dut, good, inj_ns, _lan: lan, _wd: wd, good_since: None };
        w.check_good_peer(None);
        w.good_since = w.peer(&w.dut, GOOD).map(|p| p["since"].as_u64().unwrap_or(0));
        w
    }

    fn ctl_json(&self, node: &Node, args: &[&str]) -> Option<Value> {
        let mut full = vec!["-o", "json"];
        full.extend_from_slice(args);
        let o = node.ctl(&full);
        if !o.status.success() {
            return None;
        }
        serde_json::from_slice(&o.stdout).ok()
    }

    /// `node`'s view of its peer at `addr`, from `show peers`.
    fn peer(&self, node: &Node, addr: &str) -> Option<Value> {
        let v = self.ctl_json(node, &["show", "peers"])?;
        v["data"].as_array()?.iter().find(|p| p["address"] == addr).cloned()
    }

    fn state(&self, node: &Node, addr: &str) -> String {
        self.peer(node, addr)
            .and_then(|p| p["state"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The paths `node` holds for `prefix` learned from the BGP neighbor
    /// `from`; `None` when `show routes` did not answer (never read as "no
    /// route", or a withdrawal check could pass on a daemon that is down).
    fn paths(&self, node: &Node, prefix: &str, from: &str) -> Option<Vec<Value>> {
        let v = self.ctl_json(node, &["show", "routes"])?;
        let routes = v["data"].as_array()?;
        let paths = routes
            .iter()
            .filter(|r| r["prefix"] == prefix)
            .flat_map(|r| r["paths"].as_array().cloned().unwrap_or_default())
            .filter(|p| p["source"]["kind"] == "bgp" && p["source"]["peer"] == from)
            .collect();
        Some(paths)
    }

    fn has(&self, node: &Node, prefix: &str, from: &str) -> bool {
        self.paths(node, prefix, from).is_some_and(|p| !p.is_empty())
    }

    fn lacks(&self, node: &Node, prefix: &str, from: &str) -> bool {
        self.paths(node, prefix, from).is_some_and(|p| p.is_empty())
    }

    /// Everything worth seeing when a check fails.
    fn dump(&self, inj: Option<&Injector>) -> String {
        let text = |o: Output| {
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
        };
        let mut s = String::new();
        for n in [&self.dut, &self.good] {
            s.push_str(&format!(
                "=== {} show peers ===\n{}",
                n.name,
                text(n.ctl(&["show", "peers"]))
            ));
            s.push_str(&format!(
                "=== {} show routes ===\n{}",
                n.name,
                text(n.ctl(&["show", "routes"]))
            ));
            s.push_str(&format!("=== {} log ===\n{}\n", n.name, n.log()));
        }
        if let Some(i) = inj {
            s.push_str(&i.transcript());
        }
        s
    }

    fn fail(&self, inj: Option<&Injector>, msg: impl std::fmt::Display) -> ! {
        panic!("{msg}\n{}", self.dump(inj))
    }

    fn wait(
        &self,
        inj: Option<&Injector>,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut() -> bool,
    ) {
        if let Err(e) = wait_until(timeout, what, || Ok(f())) {
            self.fail(inj, e);
        }
    }

    /// Check 5: `good` is Established on both sides, has not flapped since
    /// the start, and each side holds the other's block.
    fn check_good_peer(&self, inj: Option<&Injector>) {
        self.wait(inj, UP, "dut <-> good Established", || {
            self.state(&self.dut, GOOD) == "Established"
                && self.state(&self.good, DUT) == "Established"
        });
        self.wait(inj, SHOW, "the blocks exchanged with good", || {
            self.has(&self.dut, GOOD_BLOCK, GOOD) && self.has(&self.good, DUT_BLOCK, DUT)
        });
        if let Some(since) = self.good_since {
            let now = self.peer(&self.dut, GOOD).and_then(|p| p["since"].as_u64());
            if now != Some(since) {
                self.fail(inj, format!("good's session flapped: since {since} -> {now:?}"));
            }
        }
    }

    /// An Established injector session (check 6 when called after a reset).
    fn injector(&self) -> Injector {
        let cfg = InjectorConfig::new(INJ_AS, INJ.parse::<Ipv4Addr>().unwrap());
        let to: SocketAddr = format!("{DUT}:179").parse().unwrap();
        let inj =
            Injector::establish_within(&self.inj_ns, to, &cfg, RECONNECT).unwrap_or_else(|e| {
                self.fail(None, format!("check 6: injector cannot establish: {e}"))
            });
        self.wait(Some(&inj), SHOW, "dut shows inj Established", || {
            self.state(&self.dut, INJ) == "Established"
        });
        inj
    }

    /// Announces `third` cleanly and waits for dut to hold it.
    fn announce(&self, inj: &Injector, third: u8, extra: &str) {
        inj.send_update(&upd("", &(base() + extra), &nlri24(third))).unwrap();
        self.wait(Some(inj), SHOW, &format!("{} from inj", prefix24(third)), || {
            self.has(&self.dut, &prefix24(third), INJ)
        });
    }

    /// The session with the injector survived: no NOTIFICATION or close on
    /// its side, Established on dut's.
    fn assert_inj_up(&self, inj: &mut Injector) {
        if let Err(e) = inj.check_alive() {
            self.fail(Some(inj), e);
        }
        let st = self.state(&self.dut, INJ);
        if st != "Established" {
            self.fail(Some(inj), format!("dut's session with inj is {st}"));
        }
    }

    /// Sends `bytes`, expects `want` back and the connection closed, then
    /// reconnects (check 6) and checks good (check 5).
    fn expect_reset(&self, step: &str, mut inj: Injector, bytes: &[u8], want: Want) -> Injector {
        inj.send_raw(bytes).unwrap();
        let got = inj
            .expect_notification(ANSWER)
            .unwrap_or_else(|e| self.fail(Some(&inj), format!("{step}: {e}")));
        let data_ok = !want.data_defined || got.data == want.n.data;
        if (got.code, got.subcode) != (want.n.code, want.n.subcode) || !data_ok {
            let any = if want.data_defined { "" } else { ", any allowed" };
            let want = &want.n;
            self.fail(
                Some(&inj),
                format!(
                    "{step}: got {got} (data {}), want {want} (data {}{})",
                    injector::hex(&got.data),
                    injector::hex(&want.data),
                    any
                ),
            );
        }
        if let Err(e) = inj.expect_closed(ANSWER) {
            self.fail(Some(&inj), format!("{step}: {e}"));
        }
        // The routes of the reset session go with it (RFC 4271 §8.2.2: on
        // UpdateMsgErr and BGPHeaderErr alike, the local system "deletes all
        // routes associated with this connection").
        self.wait(Some(&inj), SHOW, &format!("{step}: 10.99.200.0/24 flushed"), || {
            self.lacks(&self.dut, &prefix24(200), INJ)
        });
        // The operator can tell why: dut logs what it sent.
        let sent = format!("sent {}", want.n);
        self.wait(Some(&inj), SHOW, &format!("{step}: {sent:?} in dut's log"), || {
            logged(&self.dut, &[INJ, &sent])
        });
        drop(inj);
        self.check_good_peer(None);
        // Check 6, and a clean session for the next step.
        let inj = self.injector();
        self.announce(&inj, 200, "");
        inj
    }
}

/// The NOTIFICATION a step must bring back: its code and subcode always, its
/// data only where the RFC defines it (elsewhere the data is left to the
/// sender, to help diagnosis: RFC 4271 §4.5).
struct Want {
    n: NotificationMsg,
    data_defined: bool,
}

/// Code, subcode and data all fixed by the RFC.
fn exactly(n: NotificationMsg) -> Want {
    Want { n, data_defined: true }
}

/// Code and subcode fixed; the RFC defines no data.
fn any_data(n: NotificationMsg) -> Want {
    Want { n, data_defined: false }
}

// ===== Checks 1, 2, 5: the session survives =====

#[test]
fn treat_as_withdraw_and_attribute_discard_keep_the_injector_session_up() {
    let w = World::new("bad-taw");
    let mut inj = w.injector();

    // 1a. ORIGIN value 5 on a prefix announced cleanly before. "If the value
    // of the ORIGIN attribute is undefined, ... the attribute is
    // malformed" and "treat-as-withdraw MUST be used" (RFC 7606 §7.1).
    w.announce(&inj, 1, "");
    let bad_origin = attr(0x40, 1, "05") + &as_path() + &next_hop();
    inj.send_update(&upd("", &bad_origin, &nlri24(1))).unwrap();
    w.wait(Some(&inj), SHOW, "check 1a: 10.99.1.0/24 withdrawn", || {
        w.lacks(&w.dut, &prefix24(1), INJ)
    });
    w.assert_inj_up(&mut inj);

    // 1b. NEXT_HOP of length 3: "... attribute length ... not 4 ... MUST be
    // handled as treat-as-withdraw" (RFC 7606 §7.3).
    w.announce(&inj, 2, "");
    let bad_nh = origin() + &as_path() + &attr(0x40, 3, "0a0001");
    inj.send_update(&upd("", &bad_nh, &nlri24(2))).unwrap();
    w.wait(Some(&inj), SHOW, "check 1b: 10.99.2.0/24 withdrawn", || {
        w.lacks(&w.dut, &prefix24(2), INJ)
    });
    w.assert_inj_up(&mut inj);

    // 2. Attribute discard. First the control: a well-formed
    // ATOMIC_AGGREGATE shows, so its absence below means something.
    w.announce(&inj, 3, &attr(0x40, 6, ""));
    let p = w.paths(&w.dut, &prefix24(3), INJ).unwrap_or_default();
    if p.len() != 1 || p[0]["atomic_aggregate"] != true {
        w.fail(Some(&inj), format!("control: ATOMIC_AGGREGATE not shown: {p:?}"));
    }
    // "... ATOMIC_AGGREGATE attribute ... length other than 0 ... attribute
    // discard" (RFC 7606 §7.6); LOCAL_PREF "received from a neighbor in an
    // external AS ... MUST be ignored" (RFC 4271 §5.1.5, RFC 7606 §7.5). A
    // second NLRI proves the UPDATE was accepted, not just ignored.
    let discard = attr(0x40, 6, "00") + &attr(0x40, 5, "000000c8");
    let nlri = nlri24(3) + &nlri24(4);
    inj.send_update(&upd("", &(base() + &discard), &nlri)).unwrap();
    w.wait(Some(&inj), SHOW, "check 2: 10.99.4.0/24 accepted", || w.has(&w.dut, &prefix24(4), INJ));
    for third in [3, 4] {
        let p = w.paths(&w.dut, &prefix24(third), INJ).unwrap_or_default();
        let ok = p.len() == 1 && p[0]["atomic_aggregate"] == false && p[0]["local_pref"].is_null();
        if !ok {
            w.fail(
                Some(&inj),
                format!("check 2: {} kept a discarded attribute: {p:?}", prefix24(third)),
            );
        }
    }
    w.assert_inj_up(&mut inj);

    // 5. good never noticed.
    w.check_good_peer(Some(&inj));
}

/// Whether one line of `node`'s log holds every word (case-insensitive).
fn logged(node: &Node, words: &[&str]) -> bool {
    node.log().lines().any(|l| {
        let l = l.to_lowercase();
        words.iter().all(|w| l.contains(&w.to_lowercase()))
    })
}

/// Check 1, its last part, and the same for check 2. "... such facilities
/// MUST include logging an error listing the NLRI involved and containing
/// the entire malformed UPDATE message when such an attribute is detected"
/// (RFC 7606 §6).
#[test]
fn treat_as_withdraw_and_attribute_discard_are_logged_naming_the_defect_and_nlri() {
    let w = World::new("bad-log");
    let inj = w.injector();
    w.announce(&inj, 1, "");
    let bad_origin = attr(0x40, 1, "05") + &as_path() + &next_hop();
    inj.send_update(&upd("", &bad_origin, &nlri24(1))).unwrap();
    w.wait(Some(&inj), SHOW, "10.99.1.0/24 withdrawn", || w.lacks(&w.dut, &prefix24(1), INJ));
    w.wait(Some(&inj), SHOW, "a log line naming ORIGIN and 10.99.1.0/24", || {
        logged(&w.dut, &[INJ, "ORIGIN", &prefix24(1)])
    });
    let discard = attr(0x40, 5, "000000c8");
    inj.send_update(&upd("", &(base() + &discard), &nlri24(6))).unwrap();
    w.wait(Some(&inj), SHOW, "10.99.6.0/24 accepted", || w.has(&w.dut, &prefix24(6), INJ));
    w.wait(Some(&inj), SHOW, "a log line naming LOCAL_PREF and 10.99.6.0/24", || {
        logged(&w.dut, &[INJ, "LOCAL_PREF", &prefix24(6)])
    });
}

// ===== Checks 3, 4, 5, 6: what must reset does =====

#[test]
fn malformed_updates_and_headers_reset_with_the_rfc_notification_and_the_injector_reconnects() {
    let w = World::new("bad-reset");
    let inj = w.injector();
    w.announce(&inj, 200, "");
    let update_err =
        |s: UpdateSubcode, data: &str| NotificationMsg::update(s, hex::decode(data).unwrap());

    // 3a. Withdrawn Routes Length 9 with 6 octets left: "if Withdrawn Routes
    // Length + Total Attribute Length + 23 exceeds the message Length, then
    // the Error Subcode MUST be set to Malformed Attribute List" (RFC 4271
    // §6.3); no data is defined.
    let body = hex::decode("0009 180a0000 0000".replace(' ', "")).unwrap();
    let want =
        any_data(NotificationMsg::update(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, Vec::new()));
    let inj = w.expect_reset("check 3a", inj, &injector::message(injector::UPDATE, &body), want);

    // 3b. The NLRI field overruns the message (a /24 with one octet):
    // "If the field is syntactically incorrect, then the Error Subcode MUST
    // be set to Invalid Network Field" (RFC 4271 §6.3; RFC 7606 §5.3 keeps
    // the reset).
    let body = upd("", &base(), "180a00");
    let want = any_data(NotificationMsg::update(UpdateSubcode::INVALID_NETWORK_FIELD, Vec::new()));
    let inj = w.expect_reset("check 3b", inj, &injector::message(injector::UPDATE, &body), want);

    // 3c. MP_REACH_NLRI twice: "... appears more than once in the UPDATE
    // message, then a NOTIFICATION message MUST be sent with the Error
    // Subcode 'Malformed Attribute List'" (RFC 7606 §3.g).
    let body = upd("", &(mp_reach_v6() + &mp_reach_v6() + &origin() + &as_path()), "");
    let want =
        any_data(NotificationMsg::update(UpdateSubcode::MALFORMED_ATTRIBUTE_LIST, Vec::new()));
    let inj = w.expect_reset("check 3c", inj, &injector::message(injector::UPDATE, &body), want);

    // 3d. An unknown well-known attribute (type 99): "the Error Subcode
    // MUST be set to Unrecognized Well-known Attribute. The Data field MUST
    // contain the unrecognized attribute (type, length, and value)" (RFC
    // 4271 §6.3).
    let unknown = attr(0x40, 99, "0102");
    let body = upd("", &(base() + &unknown), &nlri24(5));
    let want = exactly(update_err(UpdateSubcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, &unknown));
    let inj = w.expect_reset("check 3d", inj, &injector::message(injector::UPDATE, &body), want);

    // 4a. A marker that is not all ones: "the Error Subcode MUST be set to
    // Connection Not Synchronized" (RFC 4271 §6.1); no data is defined.
    let mut msg = injector::message(injector::KEEPALIVE, &[]);
    msg[3] = 0xfe;
    let want =
        any_data(NotificationMsg::header(HeaderSubcode::CONNECTION_NOT_SYNCHRONIZED, Vec::new()));
    let inj = w.expect_reset("check 4a", inj, &msg, want);

    // 4b. Length 18, below the header: "the Error Subcode MUST be set to
    // Bad Message Length. The Data field MUST contain the erroneous Length
    // field" (RFC 4271 §6.1).
    let mut msg = injector::message(injector::KEEPALIVE, &[]);
    msg[16..18].copy_from_slice(&18u16.to_be_bytes());
    let want = exactly(NotificationMsg::header(HeaderSubcode::BAD_MESSAGE_LENGTH, vec![0, 18]));
    let inj = w.expect_reset("check 4b", inj, &msg, want);

    // 5. good stayed up through six resets of its neighbour session.
    w.check_good_peer(Some(&inj));
}

// ===== Found on the way: collision bookkeeping =====

/// Not a bad-input check: the race that `World` avoids by making good
/// passive, replayed step by step with the injector. dut dials inj and
/// waits in OpenConfirm; inj opens a second connection (dut: OpenSent on
/// it); the first becomes Established; then inj's OPEN arrives on the
/// second. "... the BGP speaker ... closes the newly created connection"
/// when the other one is Established (RFC 4271 §6.8), and dut does send
/// Cease / Connection Collision Resolution on it. The session itself never
/// left Established, so `show peers` must still say so.
#[test]
fn collision_lost_by_a_new_connection_leaves_the_established_session_shown_established() {
    let w = World::with("bad-coll", "");
    let cfg = InjectorConfig::new(INJ_AS, INJ.parse::<Ipv4Addr>().unwrap());
    let listen: SocketAddr = format!("{INJ}:179").parse().unwrap();
    let mut first = Injector::accept(&w.inj_ns, listen, cfg.clone(), UP).unwrap();
    first.exchange_opens(ANSWER).unwrap_or_else(|e| w.fail(Some(&first), e));
    w.wait(Some(&first), SHOW, "dut in OpenConfirm with inj", || {
        w.state(&w.dut, INJ) == "OpenConfirm"
    });

    let to: SocketAddr = format!("{DUT}:179").parse().unwrap();
    let mut second = Injector::connect(&w.inj_ns, to, cfg.clone(), ANSWER).unwrap();
    w.wait(Some(&second), SHOW, "dut accepted the second connection", || {
        logged(&w.dut, &["OpenSent [Inbound]"])
    });
    first.confirm(ANSWER).unwrap_or_else(|e| w.fail(Some(&first), e));
    w.announce(&first, 7, "");

    second.send_raw(&injector::message(injector::OPEN, &cfg.open_body())).unwrap();
    let n = second.expect_notification(ANSWER).unwrap_or_else(|e| w.fail(Some(&second), e));
    let want = NotificationMsg::cease(CeaseSubcode::CONNECTION_COLLISION_RESOLUTION, Vec::new());
    assert_eq!((n.code, n.subcode), (want.code, want.subcode), "{n}");
    w.wait(Some(&second), SHOW, "the collision in dut's log", || {
        logged(&w.dut, &[INJ, "Collision"])
    });

    // A snapshot taken after the collision: it counts the Cease as sent.
    w.wait(Some(&first), SHOW, "show peer counting the Cease", || {
        w.ctl_json(&w.dut, &["show", "peer", INJ])
            .is_some_and(|v| v["data"]["messages"]["sent"]["notification"].as_u64() >= Some(1))
    });
    // The first session carries on, on both sides and in dut's tables.
    if !w.has(&w.dut, &prefix24(7), INJ) {
        w.fail(Some(&first), "10.99.7.0/24 lost with the losing connection");
    }
    w.assert_inj_up(&mut first);
}
