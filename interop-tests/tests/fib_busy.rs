//! The FIB-busy benchmark's logic at a small scale, so it stays compiled and
//! working: 2,000 prefixes through calico-bgpd with kernel programming on and
//! off, a few probes before and during, every session kept up. Needs root
//! (network namespaces), like every namespace test here: run as another user
//! it fails saying so rather than passing unseen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use interop_tests::fib_busy::{self, Params, Window};
use interop_tests::process;

const BENCH: &str = env!("CARGO_BIN_EXE_fib_busy_bench");

fn daemon() -> PathBuf {
    process::calico_bgpd_beside(Path::new(BENCH)).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_root() {
    assert!(process::is_root(), "this test builds network namespaces and needs root");
}

#[test]
fn small_bulk_reaches_the_receiver_and_probes_flow_with_the_fib_on_and_off() {
    assert_root();
    let daemon = daemon();
    let mut runs = Vec::new();
    for fib in [true, false] {
        let mut p = Params::new(&daemon, 2000, fib);
        p.idle_probes = 10;
        p.after = Duration::from_millis(300);
        p.timeout = Duration::from_secs(20);
        let r = fib_busy::run(&p).unwrap_or_else(|e| panic!("FIB {fib}: {e}"));
        assert!(r.drops.is_empty(), "sessions ended: {:?}", r.drops);
        assert_eq!(r.lost(), 0, "{}", fib_busy::tables(std::slice::from_ref(&r)));
        assert_eq!(r.window(Window::Idle).map(|w| w.sent), Some(10));
        assert!(r.fib_done.is_some() && r.bulk_wall > Duration::ZERO);
        // With the FIB on, every prefix and every probe is a kernel route;
        // with it off ("Disabled"), none is.
        let want = if fib { 2000 + r.probes_sent as usize } else { 0 };
        assert_eq!(r.kernel_routes, want, "FIB {fib}");
        // The FIB runs on its own thread, 10 nicer than routing (19 at most).
        let nice = |name: &str| r.threads.iter().find(|t| t.name == name).map(|t| t.nice);
        let owner = nice("calico-bgpd").expect("the main thread");
        assert_eq!(nice("fib"), Some((owner + 10).min(19)), "{:?}", r.threads);
        runs.push(r);
    }
    println!("{}", fib_busy::tables(&runs));
}
