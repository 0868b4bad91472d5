//! What Calico `BGPFilter` evaluation costs the RIB, in instructions: the
//! `parsed_in` case of `benches/rib.rs` (1M IPv4 prefixes from one eBGP peer
//! to 10 iBGP peers) run once, without filters (`none`) or with one filter of
//! 20 import and 20 export rules on every peer that matches nothing
//! (`twenty`: the rules of `benches/rib.rs`, whose prefixes lie close
//! together; `twenty-spread`: the same with prefixes far apart, so every
//! route runs every prefix test), under callgrind with counting only inside
//! [`measured`]:
//!
//! ```text
//! cargo bench -p bgp --bench filter_cost --no-run
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*filter_cost::measured*' \
//!     --callgrind-out-file=/dev/null target/release/deps/filter_cost-<hash> none|twenty|twenty-spread
//! ```
//!
//! Instruction counts do not move with the machine's load, which on a
//! shared machine makes the timings of `benches/rib.rs` spread by more than
//! the difference measured. The input is built and decoded before, and the
//! RIB dropped after, the counted call.

mod scenario;

use std::hint::black_box;

use bgp::rib::Rib;
use bgp::rib::filter::PeerFilters;
use bgp::wire::ParsedUpdate;
use scenario::{N, frames, parsed, run_parsed, twenty_rules, twenty_rules_spread};

/// The counted part: the RIB set up, then fed every UPDATE.
#[inline(never)]
fn measured(updates: &[ParsedUpdate], filters: &PeerFilters) -> (Rib, usize) {
    run_parsed(updates, filters)
}

fn main() {
    // `cargo bench` passes `--bench`; the case is the first other argument.
    let case = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let filters = match case.as_deref() {
        Some("none") => PeerFilters::default(),
        Some("twenty") => twenty_rules(),
        Some("twenty-spread") => twenty_rules_spread(),
        _ => {
            eprintln!(
                "usage: filter_cost none|twenty|twenty-spread (see the module documentation)"
            );
            return;
        }
    };
    let updates = parsed(&frames());
    let (rib, sent) = measured(black_box(&updates), &filters);
    assert_eq!(rib.len(), N as usize);
    println!("{} prefixes, {sent} octets out", rib.len());
}
