#!/usr/bin/env bash
# Report poisoning (issue 10): an application linked to nothing sends N refused calls,
# each with a different made-up company id of LEN characters; prints the usage rows,
# the size of the usage page, the CSV and the database before and after. Sizes, not
# timings, so the debug build does.
# Usage: scripts/bench/report_poisoning.sh [calls=2000] [id_length=4000] [binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000}; LEN=${2:-4000}; BIN=${3:-${CARGO_TARGET_DIR:-target}/debug/omie-tenant-manager}
[ -x "$BIN" ] || cargo build --locked -q
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_BIND=127.0.0.1:0 OTM_MFA_REQUIRED=none
printf 'senha-de-teste-123\n' | $BIN admin create --email dono@example.com.br --name Dona --password-stdin >/dev/null
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
python3 - "$BASE" "$N" "$LEN" "$DIR" <<'PY'
import http.client, json, os, sqlite3, sys, urllib.parse
base, n, length, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(base)
c = http.client.HTTPConnection(u.hostname, u.port)
def req(method, path, body=None, headers={}, raw=False):
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse(); data = r.read()
    return r.status, (data if raw else (json.loads(data) if data else None))
_, t = req("POST", "/api/v1/auth/login", json.dumps({"email": "dono@example.com.br", "password": "senha-de-teste-123"}), {"content-type": "application/json"})
owner = {"authorization": "Bearer " + t["access_token"]}
_, app = req("POST", "/api/v1/applications", json.dumps({"name": "Robô"}), {**owner, "content-type": "application/json"})
form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]})
_, tok = req("POST", "/api/v1/auth/token", form, {"content-type": "application/x-www-form-urlencoded"})
bearer = {"authorization": "Bearer " + tok["access_token"]}
db = os.path.join(d, "omie-tenant-manager.db")
def db_bytes():
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
before = db_bytes()
codes = {}
for i in range(n):
    made_up = urllib.parse.quote(f"=HYPERLINK(\"http://x/{i}\")" + "x" * max(0, length - 24), safe="")
    path = ["/api/v1/companies/{}", "/api/v1/companies/{}/omie-credentials"][i % 2].format(made_up)
    st, _ = req("GET", path, headers=bearer, raw=True)
    codes[st] = codes.get(st, 0) + 1
_, report = req("GET", "/api/v1/reports/usage", headers=owner)
_, csv = req("GET", "/api/v1/reports/usage?format=csv", headers=owner, raw=True)
conn = sqlite3.connect(db)
usage_rows = conn.execute("SELECT COUNT(*) FROM api_usage").fetchone()[0]
refusals = conn.execute("SELECT COALESCE(SUM(count), 0), COUNT(*) FROM api_refusals").fetchone()
print(f"refused calls sent: {n} (answers: {codes}), made-up id length: {length}")
print(f"api_usage rows: {usage_rows}; refusal counters: {refusals[1]} row(s) counting {refusals[0]}")
print(f"usage API rows: {len(report['items'])}; CSV: {len(csv)} bytes; made-up id in CSV: {b'HYPERLINK' in csv}")
print(f"database (checkpointed): {before} bytes before, {db_bytes()} after")
PY
# The usage page, as the owner sees it (a session through the sign-in form).
JAR="$DIR/jar"
CSRF=$(curl -s -c "$JAR" -b "$JAR" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -o /dev/null -c "$JAR" -b "$JAR" -d "csrf_token=$CSRF&email=dono%40example.com.br&password=senha-de-teste-123" "$BASE/login"
curl -s -b "$JAR" "$BASE/admin/usage" > "$DIR/page.html"
grep -q "<h1>Uso da API</h1>" "$DIR/page.html" || { echo "error: not signed in to the usage page" >&2; exit 1; }
echo "usage page (/admin/usage): $(wc -c < "$DIR/page.html") bytes, $(grep -c "<tr>" "$DIR/page.html") table row(s) with the header"
