//! Writes golden pcaps of real BGP sessions into `bgp/tests/fixtures/`.
//!
//! ```text
//! cargo run -p interop-tests --bin capture-fixtures            # every scenario
//! cargo run -p interop-tests --bin capture-fixtures -- frr-rr  # just one
//! ```
//!
//! Each scenario builds a LAN of daemons in namespaces, captures BGP on it with
//! tcpdump while it drives the daemons through the behaviour the codec must decode
//! (see `bgp/tests/fixtures/README.md` for what each file holds), then copies the
//! pcap into the fixtures dir. Needs root and the Debian peers (`scripts/install-deps.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use interop_tests::peers::bird::BirdConfig;
use interop_tests::peers::exabgp::ExabgpConfig;
use interop_tests::peers::frr::FrrConfig;
use interop_tests::peers::gobgp::GobgpConfig;
use interop_tests::peers::{AddPath, Family, Neighbor, Peer, Route, dump_all};
use interop_tests::{Capture, Lan, Netns, Result, Workdir, err, wait_until};

const UP: Duration = Duration::from_secs(20);
/// Fixtures must stay small: the golden tests read them on every run.
const MAX_PCAP: u64 = 100 * 1024;
const BOTH: &[Family] = &[Family::Ipv4Unicast, Family::Ipv6Unicast];

type Scenario = fn(&Workdir) -> Result<PathBuf>;

const SCENARIOS: &[(&str, Scenario)] = &[
    ("frr-bird", frr_bird),
    ("frr-rr", frr_rr),
    ("gobgp-frr", gobgp_frr),
    ("exabgp-frr", exabgp_frr),
];

fn main() -> ExitCode {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bgp/tests/fixtures");
    let mut failed = false;
    for (name, run) in SCENARIOS {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        eprintln!("==> {name}");
        let result = Workdir::new(name).and_then(|wd| {
            let pcap = run(&wd)?;
            let dest = out_dir.join(format!("{name}.pcap"));
            std::fs::copy(&pcap, &dest).map_err(|e| err!("copying to {}: {e}", dest.display()))?;
            Ok(dest)
        });
        match result {
            Ok(dest) => report(&dest),
            Err(e) => {
                eprintln!("{name} FAILED: {e}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Prints the file's size and its BGP message types (via tshark when present).
fn report(pcap: &Path) {
    let size = std::fs::metadata(pcap).map(|m| m.len()).unwrap_or(0);
    let warn = if size > MAX_PCAP { " (TOO BIG: keep fixtures < 100 KB)" } else { "" };
    eprintln!("wrote {} ({size} bytes){warn}", pcap.display());
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "bgp", "-T", "fields", "-e", "bgp.type"])
        .output();
    if let Ok(out) = out {
        let mut counts = std::collections::BTreeMap::new();
        for t in String::from_utf8_lossy(&out.stdout).split([',', '\n']).filter(|t| !t.is_empty()) {
            *counts.entry(t.to_owned()).or_insert(0) += 1;
        }
        eprintln!(
            "BGP message types (1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH): {counts:?}"
        );
    }
}

/// Waits for a condition, attaching the peers' state on failure.
fn wait(what: &str, peers: &[&dyn Peer], f: impl FnMut() -> Result<bool>) -> Result<()> {
    wait_until(UP, what, f).map_err(|e| err!("{e}\n{}", dump_all(peers)))
}

/// FRR <-> BIRD, iBGP and eBGP, IPv4 and IPv6, with every attribute and capability
/// Calico meets: see the fixtures README.
fn frr_bird(wd: &Workdir) -> Result<PathBuf> {
    let mut lan = Lan::new("lan", "10.0.0.0/24", "fd00::/64")?;
    let (fa, ib, eb) = (Netns::new("frr")?, Netns::new("bird-i")?, Netns::new("bird-e")?);
    let f = lan.attach(&fa)?; // .1, AS 65001
    let b = lan.attach(&ib)?; // .2, AS 65001 (iBGP)
    let c = lan.attach(&eb)?; // .3, AS 65002 (eBGP)
    fa.wait_reachable(b.v6(), UP)?;
    fa.wait_reachable(c.v6(), UP)?;
    let cap = Capture::start(lan.switch(), "br0", &wd.join("frr-bird.pcap"))?;

    let attrs = |p: &str, n: u16| {
        Route::new(p)
            .community(65000, n)
            .community(65000, 1000 + n)
            .large_community(65000, u32::from(n), 1)
            .ext_community_rt(65000, u32::from(n))
            .med(u32::from(n) * 10)
            .local_pref(200)
    };
    let frr = FrrConfig::new(65001, f.v4())
        .graceful_restart()
        // iBGP over IPv4: ADD-PATH both ways.
        .neighbor(Neighbor::new(b.v4(), 65001).add_path(AddPath::Both))
        // iBGP over IPv6 carrying IPv4 too, with IPv6 next hops (RFC 8950).
        .neighbor(Neighbor::new(b.v6(), 65001).families(BOTH).ext_next_hop())
        // eBGP, one session per family.
        .neighbor(Neighbor::new(c.v4(), 65002))
        .neighbor(Neighbor::new(c.v6(), 65002))
        .route(attrs("10.101.0.0/24", 1))
        .route(attrs("fd00:101::/64", 1))
        .route(Route::new("10.150.0.0/24")) // withdrawn below
        .route(Route::new("10.200.0.0/24")) // also from BIRD: several paths for ADD-PATH
        .start(&fa, &wd.subdir("frr")?)?;
    let bird_i = BirdConfig::new(65001, b.v4())
        .graceful_restart()
        .neighbor(Neighbor::new(f.v4(), 65001).add_path(AddPath::Both))
        .neighbor(Neighbor::new(f.v6(), 65001).families(BOTH).ext_next_hop())
        .neighbor(Neighbor::new(c.v4(), 65002))
        .route(attrs("10.102.0.0/24", 2))
        .route(attrs("fd00:102::/64", 2))
        .route(Route::new("10.200.0.0/24"))
        .start(&ib, &wd.subdir("bird-i")?)?;
    let bird_e = BirdConfig::new(65002, c.v4())
        .graceful_restart()
        .neighbor(Neighbor::new(f.v4(), 65001))
        .neighbor(Neighbor::new(f.v6(), 65001))
        .neighbor(Neighbor::new(b.v4(), 65001))
        .route(attrs("10.103.0.0/24", 3).med(30))
        .route(attrs("fd00:103::/64", 3))
        .route(Route::new("10.200.0.0/24"))
        .start(&eb, &wd.subdir("bird-e")?)?;
    let all: [&dyn Peer; 3] = [&frr, &bird_i, &bird_e];

    for peer in [b.v4(), b.v6(), c.v4(), c.v6()] {
        frr.wait_established(peer, UP)?;
    }
    bird_i.wait_established(c.v4(), UP)?;
    for p in ["10.102.0.0/24", "fd00:102::/64", "10.103.0.0/24", "fd00:103::/64"] {
        frr.wait_route(p, UP)?;
    }
    for p in ["10.101.0.0/24", "fd00:101::/64", "10.103.0.0/24"] {
        bird_i.wait_route(p, UP)?;
    }
    wait("three paths of 10.200.0.0/24 at FRR", &all, || {
        let n = frr.routes()?.iter().filter(|r| r.prefix.to_string() == "10.200.0.0/24").count();
        Ok(n >= 3)
    })?;

    // ROUTE-REFRESH both ways (BIRD answers FRR's, FRR answers BIRD's).
    frr.vtysh(&[&format!("clear bgp {} soft in", b.v4())])?;
    frr.vtysh(&[&format!("clear bgp {} soft in", c.v6())])?;
    bird_i.birdc(&["reload", "in", "n0"])?;
    // A withdrawal.
    frr.configure(&[
        "router bgp 65001",
        "address-family ipv4 unicast",
        "no network 10.150.0.0/24",
    ])?;
    wait("10.150.0.0/24 withdrawn at BIRD", &all, || {
        Ok(!bird_i.routes()?.iter().any(|r| r.prefix.to_string() == "10.150.0.0/24"))
    })?;
    // NOTIFICATION Cease / Administrative Shutdown with an RFC 9003 message.
    frr.configure(&[
        "router bgp 65001",
        &format!("neighbor {} shutdown message calico-bgp fixture: planned maintenance", c.v4()),
    ])?;
    wait("BIRD's eBGP session from FRR down", &all, || Ok(!bird_e.established(f.v4())?))?;
    cap.stop()
}

/// FRR as route reflector for a BIRD and a GoBGP client: reflected UPDATEs carry
/// ORIGINATOR_ID and CLUSTER_LIST. Captured with `-i any` (Linux cooked SLL2 frames).
fn frr_rr(wd: &Workdir) -> Result<PathBuf> {
    let mut lan = Lan::new("lan", "10.0.0.0/24", "")?;
    let (ra, ba, ga) = (Netns::new("rr")?, Netns::new("bird")?, Netns::new("gobgp")?);
    let r = lan.attach(&ra)?;
    let b = lan.attach(&ba)?;
    let g = lan.attach(&ga)?;
    ra.wait_reachable(b.v4(), UP)?;
    ra.wait_reachable(g.v4(), UP)?;
    let cap = Capture::start(&ra, "any", &wd.join("frr-rr.pcap"))?;

    let rr = FrrConfig::new(65001, r.v4())
        .bgp_line("bgp cluster-id 10.255.0.1")
        .neighbor(Neighbor::new(b.v4(), 65001).rr_client())
        .neighbor(Neighbor::new(g.v4(), 65001).rr_client())
        .route(Route::new("10.100.0.0/24"))
        .without_kernel()
        .start(&ra, &wd.subdir("rr")?)?;
    let bird = BirdConfig::new(65001, b.v4())
        .neighbor(Neighbor::new(r.v4(), 65001))
        .route(Route::new("10.102.0.0/24").community(65001, 2))
        .start(&ba, &wd.subdir("bird")?)?;
    let gobgp = GobgpConfig::new(65001, g.v4())
        .neighbor(Neighbor::new(r.v4(), 65001).local_address(g.v4()))
        .route(Route::new("10.103.0.0/24").community(65001, 3).med(5))
        .start(&ga, &wd.subdir("gobgp")?)?;
    let all: [&dyn Peer; 3] = [&rr, &bird, &gobgp];

    rr.wait_established(b.v4(), UP)?;
    rr.wait_established(g.v4(), UP)?;
    bird.wait_route("10.103.0.0/24", UP)?;
    gobgp.wait_route("10.102.0.0/24", UP)?;
    // A reflected withdrawal too.
    gobgp.del_route("10.103.0.0/24")?;
    wait("10.103.0.0/24 withdrawn at BIRD", &all, || {
        Ok(!bird.routes()?.iter().any(|r| r.prefix.to_string() == "10.103.0.0/24"))
    })?;
    cap.stop()
}

/// GoBGP <-> FRR eBGP over IPv4 and IPv6 with ADD-PATH, communities, MED; a withdrawal.
fn gobgp_frr(wd: &Workdir) -> Result<PathBuf> {
    let mut lan = Lan::new("lan", "10.0.0.0/24", "fd00::/64")?;
    let (fa, ga) = (Netns::new("frr")?, Netns::new("gobgp")?);
    let f = lan.attach(&fa)?;
    let g = lan.attach(&ga)?;
    fa.wait_reachable(g.v6(), UP)?;
    let cap = Capture::start(lan.switch(), "br0", &wd.join("gobgp-frr.pcap"))?;

    let frr = FrrConfig::new(65001, f.v4())
        .neighbor(Neighbor::new(g.v4(), 65003).add_path(AddPath::Both))
        .neighbor(Neighbor::new(g.v6(), 65003))
        .route(Route::new("10.101.0.0/24").community(65001, 1).large_community(65001, 1, 1))
        .route(Route::new("fd00:101::/64").med(7))
        .without_kernel()
        .start(&fa, &wd.subdir("frr")?)?;
    let gobgp = GobgpConfig::new(65003, g.v4())
        .neighbor(Neighbor::new(f.v4(), 65001).local_address(g.v4()).add_path(AddPath::Both))
        .neighbor(Neighbor::new(f.v6(), 65001).local_address(g.v6()))
        .route(
            Route::new("10.103.0.0/24")
                .community(65003, 3)
                .large_community(65003, 3, 3)
                .ext_community_rt(65003, 3)
                .med(30),
        )
        .route(Route::new("10.104.0.0/24"))
        .route(Route::new("fd00:103::/64").community(65003, 6))
        .start(&ga, &wd.subdir("gobgp")?)?;
    let all: [&dyn Peer; 2] = [&frr, &gobgp];

    frr.wait_established(g.v4(), UP)?;
    frr.wait_established(g.v6(), UP)?;
    for p in ["10.103.0.0/24", "10.104.0.0/24", "fd00:103::/64"] {
        frr.wait_route(p, UP)?;
    }
    gobgp.wait_route("10.101.0.0/24", UP)?;
    gobgp.wait_route("fd00:101::/64", UP)?;
    gobgp.del_route("10.104.0.0/24")?;
    wait("10.104.0.0/24 withdrawn at FRR", &all, || {
        Ok(!frr.routes()?.iter().any(|r| r.prefix.to_string() == "10.104.0.0/24"))
    })?;
    cap.stop()
}

/// ExaBGP (a 2-octet-AS speaker) -> FRR with odd attributes: AS_SET, AGGREGATOR,
/// ATOMIC_AGGREGATE, an unknown optional transitive attribute; FRR sends it a path
/// holding a 4-octet AS, so AS_TRANS and AS4_PATH appear.
fn exabgp_frr(wd: &Workdir) -> Result<PathBuf> {
    let mut lan = Lan::new("lan", "10.0.0.0/24", "")?;
    let (fa, xa) = (Netns::new("frr")?, Netns::new("exabgp")?);
    let f = lan.attach(&fa)?;
    let x = lan.attach(&xa)?;
    fa.wait_reachable(x.v4(), UP)?;
    let cap = Capture::start(lan.switch(), "br0", &wd.join("exabgp-frr.pcap"))?;

    let frr = FrrConfig::new(65001, f.v4())
        .neighbor(Neighbor::new(x.v4(), 65004).passive())
        .global_line("route-map AS4 permit 10\n set as-path prepend 4200000001 4200000002\nexit")
        .af_line(Family::Ipv4Unicast, "network 10.120.0.0/24 route-map AS4")
        .route(Route::new("10.101.0.0/24"))
        .without_kernel()
        .start(&fa, &wd.subdir("frr")?)?;
    let exa = ExabgpConfig::new(65004, x.v4())
        .two_octet_as()
        .neighbor(Neighbor::new(f.v4(), 65001).local_address(x.v4()))
        .route(Route::new("10.104.0.0/24").community(65004, 4).med(40))
        .raw_route(
            "route 10.105.0.0/16 next-hop self as-path [ 65004 ( 64512 64513 ) ] \
             atomic-aggregate aggregator ( 65004:10.0.0.2 )",
        )
        .raw_route("route 10.106.0.0/24 next-hop self attribute [ 0x99 0xc0 0x0102030405 ]")
        .raw_route("route 10.107.0.0/24 next-hop self origin incomplete local-preference 300")
        .start(&xa, &wd.subdir("exabgp")?)?;
    let all: [&dyn Peer; 2] = [&frr, &exa];

    frr.wait_established(x.v4(), UP)?;
    for p in ["10.104.0.0/24", "10.105.0.0/16", "10.106.0.0/24"] {
        frr.wait_route(p, UP)?;
    }
    exa.wait_route("10.120.0.0/24", UP)?;
    exa.command("withdraw route 10.104.0.0/24 next-hop self")?;
    wait("10.104.0.0/24 withdrawn at FRR", &all, || {
        Ok(!frr.routes()?.iter().any(|r| r.prefix.to_string() == "10.104.0.0/24"))
    })?;
    cap.stop()
}
