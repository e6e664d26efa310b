#!/usr/bin/env bash
# Saúde do sistema at the product's scale (issue 13): the demo's N companies, half of
# them with Omie credentials (a tenth of those failing their last test), and today's
# proxy usage for every company (answered and failed calls). Times GET /api/v1/health
# and the page /admin/saude as the server answers them (curl, best of 5).
# Usage: scripts/bench/health.sh [companies=100000]   (BIN=path to use another binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q
  BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
fi
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_BIND=127.0.0.1:0 OTM_MFA_REQUIRED=none
"$BIN" demo --companies "$N" > "$DIR/demo.txt"
PASS=$(sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p' "$DIR/demo.txt")
DB=$DIR/omie-tenant-manager.db
TODAY=$(TZ=America/Sao_Paulo date +%Y-%m-%d)
sqlite3 "$DB" <<SQL
INSERT OR IGNORE INTO omie_credentials (company_id, app_key_sealed, app_secret_sealed, fingerprint, updated_at, validation_status)
  SELECT id, 'x', 'x', 'f', '2026-01-01T00:00:00.000Z', CASE WHEN rowid % 10 = 0 THEN 'failed' ELSE 'ok' END
  FROM companies WHERE rowid % 2 = 0;
INSERT OR IGNORE INTO applications (id, name, client_id, created_at, updated_at)
  VALUES ('app_bench', 'Bench', 'cli_bench', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT OR IGNORE INTO api_usage (date, application_id, company_id, operation, count)
  SELECT '$TODAY', 'app_bench', id, 'omie:ListarClientes', 40 FROM companies;
INSERT OR IGNORE INTO api_usage (date, application_id, company_id, operation, count)
  SELECT '$TODAY', 'app_bench', id, 'failed', 1 FROM companies WHERE rowid % 3 = 0;
ANALYZE;
SQL
echo "$N companies; database $(du -h "$DB" | cut -f1); $(sqlite3 "$DB" "SELECT COUNT(*) FROM api_usage WHERE date = '$TODAY'") usage rows today"
time_query() {
  local label=$1 q=$2 best=999
  for _ in 1 2 3 4 5; do
    t=$(printf '.timer on\n%s\n' "$q" | sqlite3 "$DB" | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | tail -1)
    best=$(python3 -c "print(min($best, $t))")
  done
  printf '%-44s %8.1f ms\n' "$label" "$(python3 -c "print($best*1000)")"
}
echo "== the queries (sqlite3 .timer, best of 5)"
time_query "failing credentials, full count (not used)" "SELECT COUNT(*) FROM omie_credentials o INDEXED BY omie_credentials_by_validation JOIN companies c ON c.id = o.company_id WHERE o.validation_status = 'failed' AND c.status = 'active';"
time_query "failing credentials, counted up to 101" "SELECT COUNT(*) FROM (SELECT 1 FROM omie_credentials o INDEXED BY omie_credentials_by_validation JOIN companies c ON c.id = o.company_id WHERE o.validation_status = 'failed' AND c.status = 'active' LIMIT 101);"
time_query "mail queue (count, oldest, failing)" "SELECT COUNT(*), MIN(created_at), COALESCE(SUM(attempts > 0), 0) FROM outbox INDEXED BY outbox_pending_by_age WHERE status = 'pending' AND gave_up_at IS NULL;"
time_query "today's proxy tally (health job, per minute)" "SELECT COALESCE(SUM(CASE WHEN operation LIKE 'omie:%' THEN count END), 0), COALESCE(SUM(CASE WHEN operation = 'failed' THEN count END), 0) FROM api_usage WHERE date = '$TODAY';"
"$BIN" serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
TOKEN=$(curl -s -H 'content-type: application/json' \
  -d "{\"email\":\"dono@demo.example.com.br\",\"password\":\"$PASS\"}" "$BASE/api/v1/auth/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
JAR="$DIR/jar"
CSRF=$(curl -s -c "$JAR" -b "$JAR" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "csrf_token=$CSRF" --data-urlencode "email=dono@demo.example.com.br" --data-urlencode "password=$PASS" "$BASE/login"
measure() {
  local label=$1; shift
  local best=999999
  for _ in 1 2 3 4 5; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$@")
    t=$(python3 -c "print(round($t * 1000, 1))")
    best=$(python3 -c "print(min($best, $t))")
  done
  printf '%-34s %8s ms\n' "$label" "$best"
}
echo "== Saúde do sistema (server answer measured by curl, best of 5)"
measure "GET /api/v1/health" -H "authorization: Bearer $TOKEN" "$BASE/api/v1/health"
measure "GET /admin/saude" -b "$JAR" "$BASE/admin/saude"
measure "GET /healthz (for comparison)" "$BASE/healthz"
curl -s -H "authorization: Bearer $TOKEN" "$BASE/api/v1/health" | python3 -c '
import json,sys
h = json.load(sys.stdin)
print("overall:", h["status"])
for c in h["checks"]: print("  %-12s %-9s %s" % (c["name"], c["status"], c["message"]))'
