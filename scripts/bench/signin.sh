#!/usr/bin/env bash
# What a burst of sign-ins (bcrypt at the production cost, 12) does to everyone else:
# wrk signs in on 16 connections while another wrk reads a company on 4; prints both.
# Usage: scripts/bench/signin.sh [binary=release build] [seconds=15]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-}
SECS=${2:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "$BIN" ]; then
  cargo build --release --locked -q
  BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
fi
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
export OTM_MFA_REQUIRED=${OTM_MFA_REQUIRED:-none}
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=12 OTM_BIND=127.0.0.1:0
$BIN demo --companies 1000 > "$DIR/demo.txt"
PASS=$(sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p' "$DIR/demo.txt")
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -s "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"dono@demo.example.com.br\",\"password\":\"$PASS\"}" | json '["access_token"]')
CID=$(curl -s "$BASE/api/v1/companies?limit=1" -H "Authorization: Bearer $TOKEN" | json '["items"][0]["id"]')

echo "reads alone:"
wrk -t1 -c4 -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/companies/$CID" \
  | grep -E "Requests/sec|50%|99%"
OTM_PASSWORD=$PASS wrk -t1 -c16 -d"$((SECS + 2))s" -s scripts/bench/login.lua --latency "$BASE/api/v1/auth/login" > "$DIR/login.txt" &
WPID=$!
sleep 1
echo "reads during 16 connections of sign-ins:"
wrk -t1 -c4 -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/companies/$CID" \
  | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors"
wait $WPID
echo "sign-ins:"
grep -E "Requests/sec|50%|99%|Non-2xx" "$DIR/login.txt"
