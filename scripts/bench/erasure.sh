#!/usr/bin/env bash
# Measures the time to anonymize one person (POST /api/v1/users/{id}/anonymize: the
# erasure in every table, the audit rows' personal parts, the WAL checkpoint) in a
# database with 100,000 companies and 1,000,000 audit rows, on a release build; then
# `audit verify` on the result, and a byte scan of the files for the erased e-mails.
# Usage: scripts/bench/erasure.sh [companies=100000] [audit_rows=1000000] [people=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
A=${2:-1000000}
P=${3:-3}

cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
DIR=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
export OTM_MFA_REQUIRED=none OTM_LOG=warn OTM_BCRYPT_COST=10
DB=$DIR/omie-tenant-manager.db
ms() { echo $(( ($2 - $1) / 1000000 )); }

t0=$(date +%s%N)
OUT=$(OTM_DATA_DIR=$DIR $BIN demo --companies "$N" --audit-rows "$A")
t1=$(date +%s%N)
echo "$OUT" | head -1
echo "demo fill: $(ms $t0 $t1) ms"
OWNER_PW=$(echo "$OUT" | sed -n 's|^owner account: dono@demo.example.com.br / \(.*\) (shown once)$|\1|p')
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
echo "database: $(stat -c %s "$DB") bytes ($(du -h "$DB" | cut -f1)), $(sqlite3 "$DB" 'SELECT count(*) FROM audit_log') audit rows"

OTM_DATA_DIR=$DIR OTM_BIND=127.0.0.1:0 $BIN > "$DIR/server.out" 2> "$DIR/server.err" &
PID=$!
for _ in $(seq 1 600); do
  grep -q "listening on" "$DIR/server.out" 2>/dev/null && break
  sleep 0.1
done
BASE=$(sed -n 's|^listening on \(http://.*\)$|\1|p' "$DIR/server.out")
login() {
  curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" | jq -r .access_token
}
OWNER=$(login dono@demo.example.com.br "$OWNER_PW")

EMAILS=()
for i in $(seq 1 "$P"); do
  ID=$(sqlite3 "$DB" "SELECT id FROM users WHERE role = 'company_user' AND status = 'active' ORDER BY random() LIMIT 1")
  EMAIL=$(sqlite3 "$DB" "SELECT email FROM users WHERE id = '$ID'")
  EMAILS+=("$EMAIL")
  # The person leaves a few traces of their own: sign-ins (with their address).
  for _ in 1 2 3; do login "$EMAIL" "demonstracao omie 2026" >/dev/null; done
  R=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -X POST \
    -H "authorization: Bearer $OWNER" "$BASE/api/v1/users/$ID/anonymize")
  CODE=${R% *}
  SECS=${R#* }
  [ "$CODE" = 200 ] || { echo "anonymize answered $CODE"; exit 1; }
  echo "anonymize person $i: $(awk -v s="$SECS" 'BEGIN { printf "%.0f", s * 1000 }') ms (HTTP $CODE)"
done
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

t0=$(date +%s%N)
OTM_DATA_DIR=$DIR $BIN audit verify
t1=$(date +%s%N)
echo "audit verify: $(ms $t0 $t1) ms"
for e in "${EMAILS[@]}"; do
  n=$(cat "$DB" "$DB-wal" 2>/dev/null | grep -c -a -F "$e" || true)
  echo "bytes of an erased e-mail left in the database files: $n"
done
