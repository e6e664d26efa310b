#!/usr/bin/env bash
# The cost of a token check, with the hot-path caches off (OTM_HOT_CACHE_ENTRIES=0: every
# request resolves its token with SQL, as before issue 14) and on (the default), on the
# same data: a person's GET /api/v1/me, an application's GET /api/v1/companies/{id}, and
# an application's credential read (token and link check cached; the audited write stays).
# wrk at 1 connection (latency: the difference is what the check costs) and at 64
# connections (throughput). Prints one line per route and setting. First, the check
# alone in-process (examples/hot_token_check.rs): SQL against the cache, in microseconds.
# Usage: scripts/bench/hot_cache.sh [seconds=10] [connections=64] [profile=debug]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}; CONNS=${2:-64}; PROFILE=${3:-debug}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ "$PROFILE" = release ]; then FLAG=--release; else FLAG=; fi
cargo build $FLAG --locked -q --bin omie-tenant-manager --example hot_token_check
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE/omie-tenant-manager
CHECK=${CARGO_TARGET_DIR:-target}/$PROFILE/examples/hot_token_check
DIR=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT

export OTM_MFA_REQUIRED=none OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_BIND=127.0.0.1:0
$BIN demo --companies 1000 > "$DIR/demo.txt"
PASS=$(sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p' "$DIR/demo.txt")
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start() {
  OTM_HOT_CACHE_ENTRIES=$1 $BIN serve > "$DIR/out.log" 2>&1 &
  PID=$!
  until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
  BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; : > "$DIR/out.log"; }

# Data: an application linked to one active company with credentials.
start 0
OWNER=$(curl -s "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"dono@demo.example.com.br\",\"password\":\"$PASS\"}" | json '["access_token"]')
CID=$(curl -s "$BASE/api/v1/companies?status=active&limit=1" -H "Authorization: Bearer $OWNER" | json '["items"][0]["id"]')
APP=$(curl -s "$BASE/api/v1/applications" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' -d '{"name":"Bench"}')
APP_ID=$(echo "$APP" | json '["id"]'); CLIENT_ID=$(echo "$APP" | json '["client_id"]'); SECRET=$(echo "$APP" | json '["client_secret"]')
curl -s -o /dev/null -X PUT "$BASE/api/v1/companies/$CID/omie-credentials" -H "Authorization: Bearer $OWNER" \
  -H 'content-type: application/json' -d '{"app_key":"1000000000001","app_secret":"9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"}'
curl -s -o /dev/null -X PUT "$BASE/api/v1/companies/$CID/applications/$APP_ID" -H "Authorization: Bearer $OWNER" \
  -H 'content-type: application/json' -d '{"scopes":["companies:read","omie_credentials:read","omie:proxy"]}'
APP_TOKEN=$(curl -s "$BASE/api/v1/auth/token" -d "grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$SECRET" | json '["access_token"]')
stop

echo "== one check in-process ($PROFILE build; examples/hot_token_check.rs)"
$CHECK
echo "== HTTP ($PROFILE build), wrk ${SECS}s per run; p50 and p99 latency, requests/s"
for entries in 0 10000; do
  start "$entries"
  label=$([ "$entries" = 0 ] && echo "cache off" || echo "cache on ")
  for route in "me|/api/v1/me|$OWNER" "company|/api/v1/companies/$CID|$APP_TOKEN" "creds|/api/v1/companies/$CID/omie-credentials|$APP_TOKEN"; do
    IFS='|' read -r name path tok <<< "$route"
    for c in 1 "$CONNS"; do
      out=$(wrk -t1 -c"$c" -d"${SECS}s" --latency -H "Authorization: Bearer $tok" "$BASE$path")
      if echo "$out" | grep -q "Non-2xx"; then echo "$name: non-2xx answers" >&2; echo "$out" >&2; exit 1; fi
      p50=$(echo "$out" | awk '/ 50%/ {print $2}')
      p99=$(echo "$out" | awk '/ 99%/ {print $2}')
      rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
      printf '%s  %-8s c=%-3s p50 %-9s p99 %-9s %10s req/s\n' "$label" "$name" "$c" "$p50" "$p99" "$rps"
    done
  done
  stop
done
