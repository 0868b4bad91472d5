//! Calico `reachableBy`: the static route to a peer through a gateway, as
//! confd renders it for BIRD (`route <peer>/32 via <gateway>`), against FRR
//! two hops away, in network namespaces.
//!
//! ```text
//!   node 10.0.5.1/24 --- router 10.0.5.254 | 10.0.15.254 --- peer FRR 10.0.15.2/24 (AS 65515)
//!   (no route to 10.0.15.0/24:                                 203.0.113.0/24
//!    only the static route reaches the peer)
//! ```
//!
//! `reachable_by_installs_the_static_route_and_never_exports_it`: calico-bgpd
//! installs `10.0.15.2 via 10.0.5.254 proto bird`, the session comes up over
//! it, the peer's route is installed through it (its next hop, the peer,
//! resolves through the static route), the peer gets the block and not the
//! static route; a reload without `reachable_by` removes the route.

mod daemon_common;

use std::time::Duration;

use daemon_common::{FAST_TIMERS, Node};
use interop_tests::kroutes::{bird_route, dump};
use interop_tests::peers::frr::{Frr, FrrConfig};
use interop_tests::peers::{Neighbor, Peer, Route};
use interop_tests::{Netns, Workdir, veth_pair, wait_until};

const UP: Duration = Duration::from_secs(40);
const NODE: &str = "10.0.5.1";
const GATEWAY: &str = "10.0.5.254";
const PEER: &str = "10.0.15.2";

fn config(reachable_by: bool) -> String {
    let via = if reachable_by { format!("reachable_by = \"{GATEWAY}\"\n") } else { String::new() };
    format!(
        "log_level = \"debug\"\n[node]\nname = \"n1\"\nipv4 = \"{NODE}/24\"\n\
         blocks = [\"10.244.1.0/26\"]\n{FAST_TIMERS}\
         [[ip_pools]]\ncidr = \"10.244.0.0/16\"\n\
         [[peers]]\nname = \"rr\"\naddress = \"{PEER}\"\nremote_as = 65515\nkind = \"global\"\n{via}"
    )
}

struct Lab {
    node: Node,
    frr: Frr,
    _router: Netns,
    _peer_ns: Netns,
    _wd: Workdir,
}

impl Lab {
    fn dump(&self) -> String {
        let mut s = format!("=== calico-bgpd log ===\n{}\n", self.node.log());
        for args in [["show", "peers"], ["show", "fib"]] {
            s.push_str(&String::from_utf8_lossy(&self.node.ctl(&args).stdout));
        }
        s.push_str(&dump(&self.node.ns));
        s.push_str(&self.frr.dump_state());
        s
    }

    fn wait(&mut self, what: &str, mut check: impl FnMut(&Lab) -> bool) {
        let r = wait_until(UP, what, || {
            if let Some(d) = self.node.daemon.as_mut() {
                d.check_running()?;
            }
            Ok(check(self))
        });
        if let Err(e) = r {
            panic!("{}\n{}", e.msg, self.dump());
        }
    }
}

#[test]
fn reachable_by_installs_the_static_route_and_never_exports_it() {
    let wd = Workdir::new("reachable-by").unwrap();
    let mut node = Node::new(&wd, "n1");
    let router = Netns::new("router").unwrap();
    let peer_ns = Netns::new("peer").unwrap();
    veth_pair(&node.ns, &router, &[&format!("{NODE}/24")], &[&format!("{GATEWAY}/24")]).unwrap();
    veth_pair(&router, &peer_ns, &["10.0.15.254/24"], &[&format!("{PEER}/24")]).unwrap();
    router.enable_forwarding().unwrap();
    peer_ns.ip(&["route", "add", "10.0.5.0/24", "via", "10.0.15.254"]).unwrap();
    let frr = FrrConfig::new(65515, PEER.parse().unwrap())
        .neighbor(Neighbor::new(NODE.parse().unwrap(), 64512))
        .bgp_line(&format!("neighbor {NODE} ebgp-multihop 5"))
        .route(Route::new("203.0.113.0/24"))
        .without_kernel()
        .start(&peer_ns, &wd.subdir("frr").unwrap())
        .unwrap();
    node.write_config(&config(true));
    node.start();
    let mut lab = Lab { node, frr, _router: router, _peer_ns: peer_ns, _wd: wd };

    // 1. The static route, the only way to the peer.
    lab.wait("the static route to the peer", |l| {
        bird_route(&l.node.ns, PEER).ok().flatten().is_some_and(|r| r["gateway"] == GATEWAY)
    });
    // 2. The session comes up over it.
    if let Err(e) = lab.frr.wait_established(NODE.parse().unwrap(), UP) {
        panic!("{}\n{}", e.msg, lab.dump());
    }
    // 3. The peer's route, next hop the peer itself, resolves through it.
    lab.wait("the peer's route via the gateway", |l| {
        bird_route(&l.node.ns, "203.0.113.0/24")
            .ok()
            .flatten()
            .is_some_and(|r| r["gateway"] == GATEWAY)
    });
    // 4. The peer gets the block, never the static route.
    if let Err(e) = lab.frr.wait_route("10.244.1.0/26", UP) {
        panic!("{}\n{}", e.msg, lab.dump());
    }
    let learned = lab.frr.routes().unwrap();
    assert!(
        learned.iter().all(|r| r.prefix.to_string() != "10.0.15.2/32"),
        "the static route was exported: {learned:?}\n{}",
        lab.dump()
    );
    // 5. reachable_by removed: the route goes.
    lab.node.write_config(&config(false));
    let out = lab.node.ctl(&["reload"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    lab.wait("the static route gone", |l| bird_route(&l.node.ns, PEER).is_ok_and(|r| r.is_none()));
}
