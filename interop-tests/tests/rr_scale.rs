//! The route-reflection benchmark's logic at a small scale, so it stays
//! compiled and working: 20 clients of calico-bgpd, BIRD and FRR as the
//! reflector, and every client ends up holding every other client's block,
//! sent once (a reflector may also send a client its own block back, which
//! the client drops by its ORIGINATOR_ID, RFC 4456 §8: FRR and calico-bgpd
//! do, BIRD does not), never withdrawn. Needs root (network namespaces), like every
//! namespace test here.

use std::path::{Path, PathBuf};

use interop_tests::process;
use interop_tests::rr_scale::{self, Params, Reflector};

const BENCH: &str = env!("CARGO_BIN_EXE_rr_scale_bench");
const CLIENTS: u32 = 20;

fn daemon() -> PathBuf {
    process::calico_bgpd_beside(Path::new(BENCH)).unwrap_or_else(|e| panic!("{e}"))
}

fn assert_root() {
    assert!(process::is_root(), "this test builds network namespaces and needs root");
}

fn every_client_gets_every_block_once(reflector: Reflector) {
    assert_root();
    let r = rr_scale::run(&Params::new(reflector, CLIENTS)).unwrap_or_else(|e| panic!("{e}"));
    let table = rr_scale::table(std::slice::from_ref(&r));
    // run() returns once every client holds all the others' blocks.
    let others = u64::from(CLIENTS * (CLIENTS - 1));
    assert!((others..=others + u64::from(CLIENTS)).contains(&r.announced), "{table}");
    assert_eq!(r.withdrawn, 0, "{table}");
    assert!(r.peak_rss_kib > 0, "{table}");
}

#[test]
fn calico_bgpd_reflects_every_clients_block_to_every_other_client() {
    every_client_gets_every_block_once(Reflector::CalicoBgpd(daemon()));
}

#[test]
fn bird_reflects_every_clients_block_to_every_other_client() {
    every_client_gets_every_block_once(Reflector::Bird);
}

#[test]
fn frr_reflects_every_clients_block_to_every_other_client() {
    every_client_gets_every_block_once(Reflector::Frr);
}
