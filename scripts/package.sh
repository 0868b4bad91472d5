#!/usr/bin/env bash
# Builds the Debian package calico-bgp (both programs, both systemd units,
# /etc/calico-bgp/calico-bgpd.toml as a conffile, manual pages) into
# target/debian/, with cargo-deb (installed from crates.io when missing or
# not the version this script is written for).
#
#   scripts/package.sh                 release binaries: what a node should run
#   scripts/package.sh --profile dev   the debug binaries the test command
#                                      builds anyway: no second build, for tests
#
# The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
while [ $# -gt 0 ]; do
    case $1 in
    --profile) profile=$2; shift 2 ;;
    --profile=*) profile=${1#*=}; shift ;;
    *) echo "usage: $0 [--profile release|dev|PROFILE]" >&2; exit 2 ;;
    esac
done

# Pinned: `--profile dev` (below) draws a warning from cargo-deb that says a
# later version may refuse it.
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION$"; then
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

# The binaries and the manual page generator, in one cargo invocation.
cargo build --locked --profile "$profile" -p bgp -p ctl \
    --bin calico-bgpd --bin calico-bgpctl --example manpages

target=$(cargo metadata --locked --format-version 1 --no-deps |
    grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
case $profile in
dev | test) out=$target/debug ;;
bench) out=$target/release ;;
*) out=$target/$profile ;;
esac

# Manual pages, section 8, compressed as Debian wants them (-n: no time
# stamp, so the same build gives the same package).
rm -rf "$out/man"
"$out/examples/manpages" "$out/man" >/dev/null
gzip -9nf "$out/man"/*.8

# cargo-deb strips the binaries. A dev package is for tests: faster
# compression, and cargo-deb's warning that it is not for releases is true.
fast=()
[ "$profile" = release ] || fast=(--fast)
cargo deb --locked -p bgp --no-build --profile "$profile" "${fast[@]}" -o "$target/debian/"
