//! The route-reflection benchmark's logic at a small scale, so it stays
//! compiled and working: 20 clients of calico-bgpd, BIRD and FRR as the
//! reflector, and every client ends up holding every other client's block,
//! sent once (a reflector may also send a client its own block back, which
//! the client drops by its ORIGINATOR_ID, RFC 4456 §8: FRR and calico-bgpd
//! do, BIRD does not), never withdrawn. Needs root (network namespaces), like every
//! namespace test here.

use std::path::{Path, PathBuf};
use std::process::Command;

use interop_tests::rr_scale::{self, Params, Reflector};

const BENCH: &str = env!("CARGO_BIN_EXE_rr_scale_bench");
const CLIENTS: u32 = 20;

/// calico-bgpd of this build profile, beside the bench binary, built here:
/// a test run of `-p interop-tests` does not build the bgp package's
/// binaries, and a stale daemon would be measured otherwise.
fn daemon() -> PathBuf {
    let dir = Path::new(BENCH).parent().unwrap().to_path_buf();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "bgp", "--bin", "calico-bgpd", "--manifest-path"])
        .arg(&manifest);
    if let Some(target) = dir.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let st = cmd.status().unwrap();
    assert!(st.success(), "building calico-bgpd: {st}");
    dir.join("calico-bgpd")
}

fn assert_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap();
    assert_eq!(
        euid.split_whitespace().nth(1),
        Some("0"),
        "this test builds network namespaces and needs root"
    );
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
