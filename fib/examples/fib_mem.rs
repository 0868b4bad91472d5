//! Memory of the FIB's per-prefix state (`fib::table::PrefixTable`) per prefix,
//! the counterpart of `bgp/examples/rib_mem.rs`: the same table (750k /24s
//! from 1.0.0.0 interleaved with 250k /32s in 100.64.0.0/10) from one next
//! hop, each prefix with its best route, the route wanted in the kernel and
//! the route the kernel holds, as after a full table has been written.
//!
//! ```text
//! cargo run --release -p fib --example fib_mem [prefixes]
//! ```
//!
//! Reports peak RSS (VmHWM from /proc/self/status) over the process before
//! the load, and the resident set after it, divided by the prefix count. The
//! table grows as the FIB grows it (reserved per batch of 32k changes, here
//! per 32k prefixes), so the peak includes its last doubling.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use fib::policy::BestRoute;
use fib::route::{MAIN_TABLE, NextHop, Route, RouteKind};
use fib::table::PrefixTable;
use ipnet::{IpNet, Ipv4Net};

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn prefix(i: u32) -> IpNet {
    let net = if i % 4 == 3 {
        Ipv4Net::new(Ipv4Addr::from(0x6440_0000 + i / 4), 32)
    } else {
        Ipv4Net::new(Ipv4Addr::from(0x0100_0000 + ((i - i / 4) << 8)), 24)
    };
    IpNet::V4(net.unwrap_or_default())
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let gw = IpAddr::V4(Ipv4Addr::new(192, 168, 10, 2));
    let mut t = PrefixTable::new(MAIN_TABLE);
    let base = status_kib("VmHWM:");
    let rss0 = status_kib("VmRSS:");
    let start = Instant::now();
    for i in 0..n {
        if i % 32768 == 0 {
            t.reserve((i + 32768).min(n) as usize, 0);
        }
        let p = prefix(i);
        let best = BestRoute { prefix: p, next_hops: vec![gw], local_block: false, priority: 0 };
        t.set_best(&p, Some(best));
        let kind = RouteKind::Via(NextHop { gateway: gw, dev: 2, onlink: false });
        let want = Route { prefix: p, kind, table: MAIN_TABLE, metric: 0 };
        t.set_want(&p, Some(&want));
        t.hold(&want);
    }
    let elapsed = start.elapsed();
    let (peak, rss) = (status_kib("VmHWM:"), status_kib("VmRSS:"));
    let per = |k: u64| (k * 1024) as f64 / f64::from(n.max(1));
    println!("prefixes        {} best, {} wanted, {} held", t.bests(), t.wants(), t.held_routes());
    println!("interned        {:?} (best, wanted, held sets)", t.interned());
    println!("time            {:.3} s", elapsed.as_secs_f64());
    println!("VmHWM base/peak {base} / {peak} KiB (VmRSS before/after {rss0} / {rss} KiB)");
    println!("peak over empty {:.1} B/prefix", per(peak.saturating_sub(base)));
    println!("resident        {:.1} B/prefix", per(rss.saturating_sub(rss0)));
}
