#!/usr/bin/env bash
# Measures what the foundation issue asks for and prints the figures:
# binary size, RSS after start, time from start to the first 200 on /readyz,
# demo fill time for N companies, and latency of the company search page under wrk.
# Usage: scripts/bench/foundation.sh [companies=100000] [seconds=30] [connections=16]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
SECS=${2:-30}
CONNS=${3:-16}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
export OTM_MFA_REQUIRED=${OTM_MFA_REQUIRED:-none}
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=10 OTM_BIND=127.0.0.1:0

echo "binary size: $(stat -c %s $BIN) bytes ($(du -h $BIN | cut -f1))"
fill=$($BIN demo --companies "$N" --audit-rows $((N * 2)))
echo "$fill" | head -1
PASS=$(echo "$fill" | sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p')

start=$(date +%s%N)
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.01; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do sleep 0.005; done
end=$(date +%s%N)
echo "start to first 200 on /readyz: $(( (end - start) / 1000000 )) ms"
sleep 1
rss() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %s kB  ", $1, $2}' /proc/$PID/status; echo; }
echo "memory after start: $(rss)"

JAR="$DIR/cookies"
curl -s -c "$JAR" -b "$JAR" "$BASE/login" -o "$DIR/login.html"
CSRF=$(grep -o 'name="csrf_token" value="[^"]*"' "$DIR/login.html" | head -1 | sed 's/.*value="//;s/"//')
curl -s -c "$JAR" -b "$JAR" -H "Origin: $BASE" -o /dev/null \
  --data-urlencode "csrf_token=$CSRF" --data-urlencode "email=dono@demo.example.com.br" \
  --data-urlencode "password=$PASS" "$BASE/login"
SESSION=$(awk '$6 == "otm_session" {print $7}' "$JAR")
[ -n "$SESSION" ] || { echo "sign-in failed"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -b "otm_session=$SESSION" "$BASE/admin/companies?q=padaria")
[ "$code" = 200 ] || { echo "search page answered $code"; exit 1; }

echo "wrk: $CONNS connections, ${SECS}s, company search page with $N companies (10 different queries)"
OTM_COOKIE="otm_session=$SESSION" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s scripts/bench/search.lua "$BASE" \
  | grep -E "Latency|50%|75%|90%|99%|Requests/sec|requests in|Non-2xx"
echo "memory after load: $(rss)(RssFile is the database file mapped read-only: page cache, shared and reclaimable)"
echo "database file: $(du -h "$DIR/omie-tenant-manager.db" | cut -f1)"
