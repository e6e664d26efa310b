#!/usr/bin/env bash
# Cost of a /metrics scrape at 100,000 companies: fills a demo database, adds a large
# mail history (200,000 sent messages, 500 waiting) and a backup row, starts the server
# with OTM_METRICS_TOKEN, and times scrapes with curl (after a warm-up). Then, when wrk is
# installed, the throughput of GET /healthz, where the metrics middleware is the only
# work besides the other layers (run with BASE_BIN=<a binary without it> to compare).
# Prints the figures.
# Usage: scripts/bench/metrics.sh [companies=100000] [scrapes=200]
#        (BIN=path to use another binary, e.g. target/debug/omie-tenant-manager)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
SCRAPES=${2:-200}
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q
  BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
fi
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
DIR=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 "$BIN" demo --companies "$N" > /dev/null
DB=$DIR/omie-tenant-manager.db
sqlite3 "$DB" <<'SQL'
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200500)
INSERT INTO outbox (created_at, kind, to_addr, subject, text_body, html_body, status, next_attempt_at, sent_at)
  SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i % 9000) || ' minutes'), 'bench',
         'p' || i || '@example.com.br', 's', '', '', CASE WHEN i <= 500 THEN 'pending' ELSE 'sent' END,
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NULL
  FROM n;
INSERT INTO backups (id, kind, status, started_at, finished_at, size_bytes)
  VALUES ('bak_bench', 'scheduled', 'succeeded', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'),
          strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-59 minutes'), 123456789);
ANALYZE;
SQL
TOKEN=bench-metrics-token-0123456789
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BIND=127.0.0.1:$PORT OTM_METRICS_TOKEN=$TOKEN \
  OTM_CNPJ_LOOKUP_URL=off "$BIN" serve > "$DIR/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
URL="http://127.0.0.1:$PORT/metrics"
for _ in $(seq 20); do curl -sf -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null; done
for _ in $(seq "$SCRAPES"); do
  curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$URL"
done | sort -n | awk -v n="$N" -v c="$SCRAPES" '{t[NR]=$1*1000} END {
  printf "/metrics at %d companies, %d scrapes: median %.2f ms, p95 %.2f ms, max %.2f ms per call\n",
         n, c, t[int(NR/2)+1], t[int(NR*0.95)], t[NR] }'
BYTES=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL" | wc -c)
SERIES=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL" | grep -vc '^#')
echo "answer: $BYTES bytes, $SERIES samples"
if command -v wrk >/dev/null; then
  hz() {
    wrk -t1 -c16 -d"${DURATION:-10}"s --latency "http://127.0.0.1:$1/healthz" |
      awk -v who="$2" '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
        END {printf "GET /healthz (%s): %s req/s, p50 %s, p99 %s\n", who, r, p50, p99}'
  }
  hz "$PORT" "with the metrics middleware"
  if [ -n "${BASE_BIN:-}" ]; then
    kill "$PID"; wait "$PID" 2>/dev/null || true
    OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BIND=127.0.0.1:$PORT OTM_CNPJ_LOOKUP_URL=off \
      "$BASE_BIN" serve > "$DIR/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
    hz "$PORT" "without it (BASE_BIN)"
  fi
fi
