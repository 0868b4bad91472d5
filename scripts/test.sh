#!/usr/bin/env bash
# The one test command: installs what it needs on a fresh machine, then runs
# every check and every test. `.ci/run` calls exactly this.
#
#   scripts/test.sh            everything (fuzz for FUZZ_SECONDS per target)
#   FUZZ_SECONDS=0 scripts/test.sh   skip the fuzz runs (quick local loop)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies"
bash scripts/install-deps.sh
# A Rust toolchain install-deps.sh just installed is in ~/.cargo/bin.
if [ -f "$HOME/.cargo/env" ]; then . "$HOME/.cargo/env"; fi
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
if [ "$FUZZ_SECONDS" != 0 ]; then
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
fi

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "benchmarks compile"
cargo bench --workspace --locked --no-run

if [ "$FUZZ_SECONDS" != 0 ] && [ -d bgp/fuzz ]; then
    step "fuzzing each decoder entry point for ${FUZZ_SECONDS}s (ASan via RUSTC_BOOTSTRAP=1)"
    (
        cd bgp/fuzz
        for target in $(cargo fuzz list); do
            # Seed corpus: the golden messages, so the fuzzer starts from real traffic.
            mkdir -p "corpus/$target"
            cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
            log=$(mktemp)
            # A target that does not build, or that finds a crash, fails the
            # whole command: libFuzzer exits non-zero on a crash.
            if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
                -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 \
                >"$log" 2>&1; then
                tail -n 60 "$log" >&2
                echo "fuzz target $target failed (build error or crash): see above" >&2
                exit 1
            fi
            grep -E 'Done|stat::number_of_executed_units' "$log" || true
            rm -f "$log"
            if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
                echo "fuzz target $target found a failing input: see bgp/fuzz/artifacts/$target" >&2
                exit 1
            fi
        done
    )
fi

step "rustdoc (broken links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --locked --no-deps

step "doc tests"
cargo test --workspace --locked --doc

# From the debug binaries the test build below shares: a release build would
# compile every crate a second time, optimised, and what is checked here is
# the packaging, not the optimiser.
step "Debian package: build, install into a copy of this machine, README's install steps"
deb=$(scripts/package.sh --profile dev | tail -n 1)
bash scripts/test-package.sh "$deb"

step "container images (FRR and calico-bgpd, from Debian packages and the release build)"
bash scripts/images.sh

step "tests"
cargo nextest run --workspace --locked --no-fail-fast
