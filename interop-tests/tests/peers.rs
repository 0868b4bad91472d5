//! Proves the harness against real daemons: each pair establishes and exchanges
//! prefixes, seen in both RIBs and (where the daemon installs routes) both kernels.

use std::time::Duration;

use interop_tests::peers::bird::BirdConfig;
use interop_tests::peers::exabgp::ExabgpConfig;
use interop_tests::peers::frr::FrrConfig;
use interop_tests::peers::gobgp::GobgpConfig;
use interop_tests::peers::{Family, Neighbor, Peer, Route, dump_all};
use interop_tests::{Netns, Workdir, veth_pair, wait_until};

const UP: Duration = Duration::from_secs(10);

fn prefix(p: &str) -> ipnet::IpNet {
    p.parse().unwrap()
}

#[test]
fn frr_and_bird_exchange_ipv4_and_ipv6_prefixes_into_both_kernels() {
    let wd = Workdir::new("frr-bird").unwrap();
    let (a, b) = (Netns::new("frr").unwrap(), Netns::new("bird").unwrap());
    let (ia, ib) =
        veth_pair(&a, &b, &["10.0.0.1/24", "fd00::1/64"], &["10.0.0.2/24", "fd00::2/64"]).unwrap();
    a.wait_reachable(ib.v6(), UP).unwrap();

    let frr = FrrConfig::new(65001, ia.v4())
        .neighbor(Neighbor::new(ib.v4(), 65002))
        .neighbor(Neighbor::new(ib.v6(), 65002))
        .route(Route::new("10.101.0.0/24"))
        .route(Route::new("fd00:101::/64"))
        .start(&a, &wd.subdir("frr").unwrap())
        .unwrap();
    let bird = BirdConfig::new(65002, ib.v4())
        .neighbor(Neighbor::new(ia.v4(), 65001))
        .neighbor(Neighbor::new(ia.v6(), 65001))
        .route(Route::new("10.102.0.0/24"))
        .route(Route::new("fd00:102::/64"))
        .start(&b, &wd.subdir("bird").unwrap())
        .unwrap();
    let dump = || dump_all(&[&frr, &bird]);

    frr.wait_established(ib.v4(), UP).unwrap();
    frr.wait_established(ib.v6(), UP).unwrap();
    bird.wait_established(ia.v4(), UP).unwrap();
    for (ns, p) in
        [(&a, "10.102.0.0/24"), (&a, "fd00:102::/64"), (&b, "10.101.0.0/24"), (&b, "fd00:101::/64")]
    {
        wait_until(UP, &format!("{p} in the kernel of {}", ns.name()), || {
            ns.has_kernel_route(&prefix(p))
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", dump()));
    }
    frr.wait_route("fd00:102::/64", UP).unwrap();
    bird.wait_route("10.101.0.0/24", UP).unwrap();
}

#[test]
fn gobgp_and_frr_exchange_prefixes() {
    let wd = Workdir::new("gobgp-frr").unwrap();
    let (a, g) = (Netns::new("frr").unwrap(), Netns::new("gobgp").unwrap());
    let (ia, ig) = veth_pair(&a, &g, &["10.0.0.1/24"], &["10.0.0.3/24"]).unwrap();
    a.wait_reachable(ig.v4(), UP).unwrap();

    let frr = FrrConfig::new(65001, ia.v4())
        .neighbor(Neighbor::new(ig.v4(), 65003))
        .route(Route::new("10.101.0.0/24"))
        .start(&a, &wd.subdir("frr").unwrap())
        .unwrap();
    let gobgp = GobgpConfig::new(65003, ig.v4())
        .neighbor(Neighbor::new(ia.v4(), 65001).local_address(ig.v4()))
        .route(Route::new("10.103.0.0/24").community(65003, 7))
        .start(&g, &wd.subdir("gobgp").unwrap())
        .unwrap();

    frr.wait_established(ig.v4(), UP).unwrap();
    gobgp.wait_established(ia.v4(), UP).unwrap();
    frr.wait_route("10.103.0.0/24", UP).unwrap();
    gobgp.wait_route("10.101.0.0/24", UP).unwrap();
    wait_until(UP, "10.103.0.0/24 in FRR's kernel", || {
        a.has_kernel_route(&prefix("10.103.0.0/24"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", dump_all(&[&frr, &gobgp])));
}

#[test]
fn exabgp_announces_to_frr_and_sees_frr_routes() {
    let wd = Workdir::new("exabgp-frr").unwrap();
    let (a, x) = (Netns::new("frr").unwrap(), Netns::new("exabgp").unwrap());
    let (ia, ix) = veth_pair(&a, &x, &["10.0.0.1/24"], &["10.0.0.4/24"]).unwrap();
    a.wait_reachable(ix.v4(), UP).unwrap();

    let frr = FrrConfig::new(65001, ia.v4())
        .neighbor(Neighbor::new(ix.v4(), 65004).passive())
        .route(Route::new("10.101.0.0/24"))
        .start(&a, &wd.subdir("frr").unwrap())
        .unwrap();
    let exa = ExabgpConfig::new(65004, ix.v4())
        .neighbor(
            Neighbor::new(ia.v4(), 65001).local_address(ix.v4()).families(&[Family::Ipv4Unicast]),
        )
        .route(Route::new("10.104.0.0/24").med(10))
        .start(&x, &wd.subdir("exabgp").unwrap())
        .unwrap();

    frr.wait_established(ix.v4(), UP).unwrap();
    exa.wait_established(ia.v4(), UP).unwrap();
    frr.wait_route("10.104.0.0/24", UP).unwrap();
    exa.wait_route("10.101.0.0/24", UP).unwrap();
    // Routes injected at run time through the command pipe arrive too.
    exa.command("announce route 10.105.0.0/24 next-hop self").unwrap();
    frr.wait_route("10.105.0.0/24", UP).unwrap();
}
