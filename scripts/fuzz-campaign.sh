#!/usr/bin/env bash
# A fuzz campaign: every target of bgp/fuzz for RUNS executions (default
# 15M each, about 100M in all), one after the other, at the lowest CPU
# priority so the machine stays usable. Prints one line per target with its
# executions, seconds and corpus size, and fails on the first crash (the
# input is left in bgp/fuzz/artifacts/TARGET). NICE sets the priority
# (default 19: the campaign only takes what the machine does not use).
#
#   [NICE=N] scripts/fuzz-campaign.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../bgp/fuzz"
RUNS=${1:-15000000}
NICE=${NICE:-19}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "no fuzz targets" >&2; exit 1; }
total=0
printf '%-8s %14s %9s %8s %8s\n' target executions seconds exec/s corpus
for target in $targets; do
    mkdir -p "corpus/$target"
    cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true
    log=$(mktemp)
    start=$(date +%s)
    if ! RUSTC_BOOTSTRAP=1 nice -n "$NICE" cargo fuzz run "$target" -- \
        -runs="$RUNS" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz target $target failed: see bgp/fuzz/artifacts/$target" >&2
        exit 1
    fi
    secs=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    files=$(ls "corpus/$target" | wc -l)
    printf '%-8s %14s %9s %8s %8s\n' "$target" "$runs" "$secs" "$(( runs / (secs > 0 ? secs : 1) ))" "$files"
    total=$(( total + runs ))
    rm -f "$log"
done
echo "total executions: $total"
