#!/usr/bin/env bash
# Runs the kill -9 tests (tests/api/durability.rs) RUNS times and prints, for each run,
# how many acknowledged writes were lost: company creations, credential reads (their
# audit rows) and token issues. Every figure must be 0; the script exits non-zero if a
# run failed or lost anything.
# Usage: scripts/bench/kill_repeat.sh [runs=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-10}
cargo test --test api --no-run -q 2>/dev/null
status=0
total=0
for i in $(seq 1 "$RUNS"); do
    out=$(cargo test -q --test api durability::kill_9 -- --nocapture --test-threads 1 2>&1) || status=1
    lines=$(grep -o 'KILL-TEST .*' <<<"$out" || true)
    lost=$(grep -o 'lost=[0-9]*' <<<"$lines" | awk -F= '{s += $2} END {print s + 0}')
    total=$((total + ${lost:-0}))
    summary=$(sed -E 's/^KILL-TEST ([a-z_]+) acked=([0-9]+).* lost=([0-9]+)$/\1: \2 acked, \3 lost/' <<<"$lines" | paste -sd';' | sed 's/;/; /g')
    if [ "$(grep -c '^KILL-TEST' <<<"$lines")" -lt 3 ]; then
        echo "run $i: FAILED"
        grep -E 'panicked|assert' <<<"$out" | head -5
        status=1
    else
        echo "run $i: lost ${lost:-0} ($summary)"
    fi
done
echo "total lost acknowledged writes over $RUNS runs: $total"
[ "$total" -eq 0 ] && exit $status || exit 1
