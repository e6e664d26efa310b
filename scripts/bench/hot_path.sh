#!/usr/bin/env bash
# Where the hot paths spend their CPU: an application's credential read and the token
# issue, with oha at 64 connections against the release build, printing req/s, p50/p99,
# and the server's CPU time per request split by thread (the writer, the checkpoint
# thread, the rest: HTTP workers and the blocking pool), read from /proc/<pid>/task/*/stat
# around each run, and the RSS after both. CPU per request is the figure to compare
# between builds: it depends far less than req/s on what else the two cores are doing.
# Usage: scripts/bench/hot_path.sh [companies=10000] [seconds=10] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000}; SECS=${2:-10}; CONNS=${3:-64}
OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
[ -x "$OHA" ] || { echo "hot_path.sh: needs oha (cargo install oha --locked)" >&2; exit 1; }
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
. scripts/bench/lib.sh
trap demo_server_stop EXIT
demo_server "$BIN" "$N"
APP=$(curl -s "$BASE/api/v1/applications" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' -d '{"name":"Bench"}')
APP_ID=$(echo "$APP" | json '["id"]'); CLIENT_ID=$(echo "$APP" | json '["client_id"]'); SECRET=$(echo "$APP" | json '["client_secret"]')
CID=$(curl -s "$BASE/api/v1/companies?status=active&limit=1" -H "Authorization: Bearer $OWNER" | json '["items"][0]["id"]')
curl -sf -o /dev/null -X PUT "$BASE/api/v1/companies/$CID/omie-credentials" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' \
  -d '{"app_key":"1234567890123","app_secret":"9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a"}'
curl -sf -o /dev/null -X PUT "$BASE/api/v1/companies/$CID/applications/$APP_ID" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' \
  -d '{"scopes":["companies:read","omie_credentials:read","omie:proxy"]}'
APP_TOKEN=$(curl -s "$BASE/api/v1/auth/token" -d "grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$SECRET" | json '["access_token"]')

cpu() { # seconds of CPU per thread kind of the server, as "kind=seconds ..."
  python3 - "$PID" <<'PY'
import os, sys
pid, tot = sys.argv[1], {}
for tid in os.listdir(f'/proc/{pid}/task'):
    try:
        comm = open(f'/proc/{pid}/task/{tid}/comm').read().strip()
        f = open(f'/proc/{pid}/task/{tid}/stat').read().rsplit(')', 1)[1].split()
    except OSError:
        continue
    kind = comm if comm in ('otm-writer', 'otm-checkpoint') else 'rest'
    tot[kind] = tot.get(kind, 0) + (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')
print(' '.join(f'{k}={v}' for k, v in sorted(tot.items())))
PY
}
run() { # name, oha arguments...
  local name=$1; shift
  "$OHA" -z 3s -c "$CONNS" --no-tui "$@" >/dev/null 2>&1   # warm-up
  local before after out
  before=$(cpu); out=$("$OHA" -z "${SECS}s" -c "$CONNS" --no-tui --output-format json "$@"); after=$(cpu)
  python3 - "$name" "$before" "$after" "$out" <<'PY'
import json, sys
name, b, a, out = sys.argv[1:5]
j = json.loads(out); s = j['summary']; lat = j['latencyPercentiles']
n = s['requestsPerSec'] * s['total']
b = dict(x.split('=') for x in b.split()); a = dict(x.split('=') for x in a.split())
per = ', '.join(f"{k} {(float(a[k]) - float(b.get(k, 0))) / n * 1e6:.1f} µs" for k in a)
print(f"{name}: {s['requestsPerSec']:,.0f} req/s, success {s['successRate'] * 100:.2f} %, "
      f"p50 {lat['p50'] * 1e3:.1f} ms, p99 {lat['p99'] * 1e3:.1f} ms; CPU per request: {per}")
PY
}
echo "$N companies, $CONNS connections, ${SECS} s each (oha shares the cores)"
run "credential read" -H "Authorization: Bearer $APP_TOKEN" "$BASE/api/v1/companies/$CID/omie-credentials"
run "token issue" -m POST -H 'Content-Type: application/x-www-form-urlencoded' \
  -d "grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$SECRET" "$BASE/api/v1/auth/token"
awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %s kB  ", $1, $2}' /proc/$PID/status; echo
