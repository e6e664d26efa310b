#!/usr/bin/env bash
# The audit spreadsheet at volume: N audit rows (default 100,000) written straight into
# the trail, then /admin/audit/export.csv downloaded by a signed-in owner. Prints the
# rows, the file's size, the time, and the server's resident memory before and after
# (and the heap's peak during the download), to show the export streams instead of
# holding the file in memory. Also times /admin/audit (one page of 100 rows) and
# "Verificar agora" (a walk of the whole chain), the step the page never runs itself.
# Usage: scripts/bench/audit_export.sh [rows=100000]   (BIN= to use another binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q
  BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
fi
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"' EXIT
export OTM_MFA_REQUIRED=none OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=10 OTM_BIND=127.0.0.1:0
PASS="senha do proprietario bem longa"
echo "$PASS" | $BIN admin create --email dona@example.com.br --name "Dona Maria" --password-stdin >/dev/null
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
# N company changes by the owner, as the product writes them (the chain is not valid:
# the export does not verify it).
OWNER_ID=$(sqlite3 "$DIR/omie-tenant-manager.db" "SELECT id FROM users LIMIT 1")
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -s "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"dona@example.com.br\",\"password\":\"$PASS\"}" | json '["access_token"]')
CID=$(curl -s "$BASE/api/v1/companies" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"legal_name":"Padaria Pão Quente Ltda","trade_name":"Pão Quente","cnpj":"11222333000181"}' | json '["id"]')
sqlite3 "$DIR/omie-tenant-manager.db" <<SQL
.timeout 5000
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO audit_log (id, at, actor_type, actor_id, actor_label, action, entity_type, entity_id,
                       company_id, ip, details, prev_hash, hash)
SELECT (SELECT IFNULL(MAX(id), 0) FROM audit_log) + i, '2026-01-01T12:00:00.000000Z', 'user', '$OWNER_ID',
       'dona@example.com.br', 'company.update', 'company', '$CID', '$CID', '203.0.113.7',
       '{"changed":{"phone":{"from":"+5511987654321","to":"+551131234567"}}}', 'x', 'y'
  FROM n;
UPDATE audit_head SET last_id = (SELECT MAX(id) FROM audit_log), last_hash = 'y';
SQL
JAR=$DIR/cookies
CSRF=$(curl -s -c "$JAR" -b "$JAR" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -o "$DIR/login.html" -c "$JAR" -b "$JAR" -H "Origin: $BASE" -H "Sec-Fetch-Site: same-origin" \
  --data-urlencode "csrf_token=$CSRF" --data-urlencode "email=dona@example.com.br" \
  --data-urlencode "password=$PASS" -w "login: %{http_code} -> %{redirect_url}\n" "$BASE/login"
# RssAnon is the heap (what streaming keeps small); RssFile is the database file SQLite
# maps (mmap_size), shared and given back under pressure.
mem() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %s kB  ", $1, $2}' /proc/$PID/status; echo; }
anon() { awk '/^RssAnon:/ {print $2}' /proc/$PID/status; }
echo "rows in the trail: $(sqlite3 "$DIR/omie-tenant-manager.db" 'SELECT COUNT(*) FROM audit_log')"
echo -n "before:  "; mem
( peak=0; while [ ! -e "$DIR/done" ]; do a=$(anon); [ "$a" -gt "$peak" ] && peak=$a; echo "$peak" > "$DIR/peak"; sleep 0.05; done ) &
T=$(curl -s -o "$DIR/a.csv" -w '%{time_total}' -b "$JAR" "$BASE/admin/audit/export.csv")
touch "$DIR/done"; wait $!
echo "export:  $(($(wc -l < "$DIR/a.csv") - 1)) lines, $(du -k "$DIR/a.csv" | cut -f1) kB in ${T}s"
echo -n "after:   "; mem
echo "heap (RssAnon) peak during the export: $(cat "$DIR/peak") kB"
T=$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" "$BASE/admin/audit")
echo "audit page (100 rows): ${T}s"
PAGE=$(curl -s -b "$JAR" "$BASE/admin/audit")
CSRF=$(echo "$PAGE" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
T=$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" -H "Origin: $BASE" -H "Sec-Fetch-Site: same-origin" \
  --data-urlencode "csrf_token=$CSRF" "$BASE/admin/audit/verify")
echo "Verificar agora: ${T}s (the synthetic rows are not chained: the walk stops at the first, so this is not a figure for a whole chain)"
