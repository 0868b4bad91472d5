#!/usr/bin/env bash
# The main job. Until the lab (issue 7) lands, this builds the daemon and
# shows its command line.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bgp --bin calico-bgpd
./target/release/calico-bgpd --help
