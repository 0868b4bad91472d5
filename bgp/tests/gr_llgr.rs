//! Long-lived graceful restart (RFC 9494) between calico-bgpd and FRR 8.4,
//! in network namespaces, both ends with a short restart time and a
//! long-lived stale time (LLST):
//!
//! 1. FRR's bgpd killed (SIGKILL) and not restarted: `show peer` says
//!    `peer_restarting` with a time left that goes down; once FRR's restart
//!    time is over it says `long_lived_stale`, the route is still in our
//!    kernel, `show routes` marks it `llgr-stale` and `show status` lists
//!    the peer as long-lived stale; once the LLST is over
//!    the route leaves the kernel, not before;
//! 2. calico-bgpd killed: FRR keeps our block past our restart time with
//!    the LLGR_STALE community, and the route is fresh again once we are
//!    back.
//!
//! Waits poll with deadlines; a failure dumps both sides.

mod daemon_common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use daemon_common::{FAST_TIMERS, Node, as_eth0, bird_routes};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Lan, Netns, Workdir, wait_until};
use serde_json::Value;

const UP: Duration = Duration::from_secs(30);
/// FRR's restart time and LLST, and ours.
const FRR_RESTART: u64 = 6;
const FRR_LLST: u64 = 16;
const OUR_RESTART: u64 = 5;
const OUR_LLST: u64 = 30;

fn in_kernel(ns: &Netns, dst: &str) -> bool {
    bird_routes(ns).iter().any(|r| r["dst"] == dst)
}

/// calico-bgpd peering with FRR (AS 65000) on a LAN of two.
struct Pair {
    _wd: Workdir,
    _lan: Lan,
    me: Node,
    tor: Netns,
    frr: Option<Frr>,
    ours: &'static str,
    tor_ip: &'static str,
    wd_path: std::path::PathBuf,
}

impl Pair {
    fn new(tag: &str, subnet: &str, ours: &'static str, tor_ip: &'static str) -> Pair {
        let wd = Workdir::new(tag).unwrap();
        let mut lan = Lan::new(tag, subnet, "").unwrap();
        let mut me = Node::new(&wd, "calico");
        let tor = Netns::new("tor").unwrap();
        let i = lan.attach(&me.ns).unwrap();
        as_eth0(&me.ns, &i.name);
        lan.attach_host(&tor, 254).unwrap();
        me.write_config(&format!(
            "log_level = \"debug\"\n[node]\nname = \"calico\"\nipv4 = \"{ours}/24\"\n\
             blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}[mesh]\nenabled = false\n\
             [graceful_restart]\nrestart_time = {OUR_RESTART}\n\
             long_lived_stale_time = {OUR_LLST}\n\
             [[peers]]\nname = \"tor\"\naddress = \"{tor_ip}\"\nremote_as = 65000\n\
             [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n"
        ));
        me.start();
        let wd_path = wd.path().to_owned();
        Pair { _wd: wd, _lan: lan, me, tor, frr: None, ours, tor_ip, wd_path }
    }

    /// FRR with GR (F bit), its restart time and LLST, originating
    /// 10.101.0.0/24.
    fn start_frr(&mut self, run: &str) {
        let cfg = FrrConfig::new(65000, self.tor_ip.parse().unwrap())
            .without_kernel()
            .graceful_restart()
            .bgp_line("bgp graceful-restart preserve-fw-state")
            .bgp_line(&format!("bgp graceful-restart restart-time {FRR_RESTART}"))
            .bgp_line(&format!("bgp long-lived-graceful-restart stale-time {FRR_LLST}"))
            .neighbor(Neighbor::new(self.ours.parse().unwrap(), 64512))
            .route(Route::new("10.101.0.0/24"));
        let dir = self.wd_path.join(run);
        self.frr = Some(cfg.start(&self.tor, &dir).unwrap());
    }

    fn frr(&self) -> &Frr {
        self.frr.as_ref().unwrap()
    }

    /// Both sides' state, for a failure message.
    fn dump(&self) -> String {
        let peer = self.me.ctl(&["show", "peer", self.tor_ip]);
        let routes = self.me.ctl(&["show", "routes"]);
        let frr = self.frr.as_ref().map_or("FRR not running".into(), |f| {
            let detail = f.vtysh(&["show bgp ipv4 unicast 10.244.1.0/26"]).unwrap_or_default();
            format!("{}\n# show bgp ipv4 unicast 10.244.1.0/26\n{detail}", f.dump_state())
        });
        format!(
            "--- show peer ---\n{}\n--- show routes ---\n{}\n--- kernel ---\n{:#?}\n{frr}\n--- calico log ---\n{}",
            String::from_utf8_lossy(&peer.stdout),
            String::from_utf8_lossy(&routes.stdout),
            bird_routes(&self.me.ns),
            self.me.log()
        )
    }

    /// Waits for `check`, panicking with both sides' state on timeout.
    fn wait(&mut self, timeout: Duration, what: &str, mut check: impl FnMut(&mut Pair) -> bool) {
        let r = wait_until(timeout, what, || Ok(check(self)));
        if let Err(e) = r {
            panic!("{e}\n{}", self.dump());
        }
    }

    /// `show peer TOR -o json`: (state, time left).
    fn gr(&self) -> (String, Option<u64>) {
        let out = self.me.ctl(&["-o", "json", "show", "peer", self.tor_ip]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let gr = &v["data"]["graceful_restart"];
        (gr["state"].as_str().unwrap_or("").to_owned(), gr["time_left_secs"].as_u64())
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // FRR before calico: its Daemon is stopped by PID on drop.
        self.frr = None;
        if self.me.daemon.is_some() {
            let _ = self.me.daemon.as_mut().map(|d| d.stop(Duration::from_secs(8)));
        }
    }
}

#[test]
fn frr_killed_keeps_its_route_long_lived_stale_in_our_kernel_until_the_llst_runs_out() {
    let mut p = Pair::new("llgr1", "10.0.29.0/24", "10.0.29.1", "10.0.29.254");
    p.start_frr("frr1");
    p.wait(UP, "FRR's route in our kernel", |p| in_kernel(&p.me.ns, "10.101.0.0/24"));
    // Both advertised LLGR: the capability shows in `show peer`.
    let out = p.me.ctl(&["-o", "json", "show", "peer", p.tor_ip]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        v["data"]["negotiated_caps"]["long_lived_stale_time"].as_u64(),
        Some(FRR_LLST),
        "{v:#}\n{}",
        p.dump()
    );

    let killed = Instant::now();
    p.frr.as_mut().unwrap().bgpd().signal("KILL").unwrap();
    let _ = p.frr.as_mut().unwrap().bgpd().stop(Duration::from_secs(2));
    let tor_ip = p.tor_ip;
    p.me.wait_log(&format!("peer {tor_ip} down"), UP);

    // Restart time: peer_restarting, with a time left that goes down.
    let mut first = None;
    p.wait(Duration::from_secs(FRR_RESTART), "peer_restarting with a time left", |p| {
        let (state, left) = p.gr();
        first = left.filter(|_| state == "peer_restarting");
        first.is_some()
    });
    let first = first.unwrap_or_default();
    assert!(first <= FRR_RESTART, "{first} s left of a {FRR_RESTART} s restart time");
    p.wait(Duration::from_secs(FRR_RESTART), "the time left to go down", |p| {
        let (state, left) = p.gr();
        state != "peer_restarting" || left.is_some_and(|l| l < first)
    });
    assert!(in_kernel(&p.me.ns, "10.101.0.0/24"), "kept stale\n{}", p.dump());

    // Then long-lived stale: still in the kernel, marked, time left ≤ LLST.
    p.wait(Duration::from_secs(FRR_RESTART + 5), "long_lived_stale", |p| {
        p.gr().0 == "long_lived_stale"
    });
    assert!(killed.elapsed() >= Duration::from_secs(FRR_RESTART - 1), "{:?}", killed.elapsed());
    let (_, left) = p.gr();
    // FRR's LLST, below ours (the smaller one applies).
    assert!(left.is_some_and(|l| l <= FRR_LLST && l > 2), "{left:?}\n{}", p.dump());
    assert!(in_kernel(&p.me.ns, "10.101.0.0/24"), "kept long-lived stale\n{}", p.dump());
    let routes = p.me.ctl(&["show", "routes"]);
    let text = String::from_utf8_lossy(&routes.stdout).into_owned();
    let line = text.lines().find(|l| l.contains("Node_10_0_29_254")).unwrap_or("");
    assert!(line.contains("stale") && line.contains("llgr-stale"), "{text}\n{}", p.dump());
    let status = p.me.ctl(&["show", "status"]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains("keeping routes of Node_10_0_29_254: long lived stale"),
        "{status}\n{}",
        p.dump()
    );
    let left = left.unwrap_or_default();
    p.wait(Duration::from_secs(5), "the long-lived time left to go down", |p| {
        p.gr().1.is_some_and(|l| l < left)
    });
    p.me.wait_log("long-lived stale (RFC 9494)", Duration::from_secs(1));

    // The LLST runs out: swept, not before.
    p.wait(Duration::from_secs(FRR_RESTART + FRR_LLST + 10), "the route to leave", |p| {
        !in_kernel(&p.me.ns, "10.101.0.0/24")
    });
    let gone = killed.elapsed();
    assert!(
        gone >= Duration::from_secs(FRR_RESTART + FRR_LLST - 2),
        "swept after {gone:?}, before restart time + LLST\n{}",
        p.dump()
    );
    // `show peer` follows at the next snapshot.
    p.wait(Duration::from_secs(3), "show peer to leave long_lived_stale", |p| {
        p.gr().0 != "long_lived_stale"
    });
    p.me.wait_log("long-lived stale time of", Duration::from_secs(1));
}

/// FRR's path for our block: (present, carries LLGR_STALE, stale).
fn frr_view_of_our_block(frr: &Frr) -> (bool, bool, bool) {
    let text = frr.vtysh(&["show bgp ipv4 unicast 10.244.1.0/26 json"]).unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let paths = v["paths"].as_array().cloned().unwrap_or_default();
    let llgr = text.contains("llgr-stale") || text.contains("llgrStale");
    let stale = paths.iter().any(|p| p["stale"].as_bool() == Some(true));
    (!paths.is_empty(), llgr, stale)
}

#[test]
fn calico_killed_is_kept_llgr_stale_by_frr_and_fresh_again_after_restart() {
    let mut p = Pair::new("llgr2", "10.0.39.0/24", "10.0.39.1", "10.0.39.254");
    p.start_frr("frr1");
    p.wait(UP, "our block at FRR", |p| frr_view_of_our_block(p.frr()).0);
    let ours: IpAddr = p.ours.parse().unwrap();
    assert!(p.frr().established(ours).unwrap());
    assert_eq!(frr_view_of_our_block(p.frr()), (true, false, false), "fresh\n{}", p.dump());

    let killed = Instant::now();
    p.me.signal("KILL");
    let _ = p.me.daemon.as_mut().unwrap().stop(Duration::from_secs(2));
    p.me.daemon = None;

    // Past our restart time FRR keeps it, as LLGR_STALE.
    p.wait(Duration::from_secs(OUR_RESTART + 10), "LLGR_STALE on our block at FRR", |p| {
        let (present, llgr, _) = frr_view_of_our_block(p.frr());
        present && llgr
    });
    assert!(
        killed.elapsed() >= Duration::from_secs(OUR_RESTART - 1),
        "LLGR_STALE before our restart time: {:?}",
        killed.elapsed()
    );
    if std::env::var_os("LLGR_DEBUG").is_some() {
        eprintln!("{}", p.dump());
    }

    // Back: the route is refreshed, neither stale nor LLGR_STALE.
    p.me.start();
    p.wait(UP, "our block fresh at FRR", |p| {
        let (present, llgr, stale) = frr_view_of_our_block(p.frr());
        present && !llgr && !stale && p.frr().established(ours).unwrap_or(false)
    });
    assert!(killed.elapsed() < Duration::from_secs(OUR_RESTART + OUR_LLST), "within the LLST");
}
