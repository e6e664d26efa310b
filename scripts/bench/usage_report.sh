#!/usr/bin/env bash
# The usage report at the product's scale (issue 12, item 3): the demo's N companies,
# APPS applications and ROWS usage rows over the last DAYS São Paulo days (a few
# companies call much more than the rest), plus refusal counters and tokens. Prints,
# for each period preset and for a company and an application picked, the page's
# render time (the server's answer, measured by curl, best of 3) and its size; and the
# CSV download's.
# Usage: scripts/bench/usage_report.sh [companies=100000] [rows=1000000] [days=90] [apps=20] [binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}; ROWS=${2:-1000000}; DAYS=${3:-90}; APPS=${4:-20}
BIN=${5:-${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager}
[ -x "$BIN" ] || cargo build --release --locked -q
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_BIND=127.0.0.1:0 OTM_MFA_REQUIRED=none
t0=$(date +%s)
$BIN demo --companies "$N" > "$DIR/demo.txt"
PASS=$(sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p' "$DIR/demo.txt")
python3 - "$DIR/omie-tenant-manager.db" "$ROWS" "$DAYS" "$APPS" <<'PY'
import datetime, random, sqlite3, sys, zoneinfo
db, rows, days, apps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
random.seed(12)
c = sqlite3.connect(db)
companies = [r[0] for r in c.execute("SELECT id FROM companies")]
now = "2026-01-01T00:00:00.000000Z"
app_ids = [f"app_bench{i:03d}" for i in range(apps)]
for i, a in enumerate(app_ids):
    c.execute("INSERT INTO applications (id, name, client_id, created_at, updated_at) VALUES (?,?,?,?,?)",
              (a, f"Integração {i + 1:02d}", f"cli_bench{i:03d}", now, now))
today = datetime.datetime.now(zoneinfo.ZoneInfo("America/Sao_Paulo")).date()
ops = ["companies.read"] * 6 + ["companies.list"] * 6 + ["omie_credentials.read"] * 3 + \
      ["omie:ListarClientes"] * 8 + ["omie:ListarPedidos"] * 5 + ["omie:IncluirCliente"] * 2 + \
      ["omie:ConsultarNF"] * 2 + ["refused", "failed"]
per_day = rows // days
heavy = companies[:50]
def gen():
    for d in range(days):
        date = (today - datetime.timedelta(days=d)).isoformat()
        for _ in range(per_day):
            # A few companies call much more than the rest: 30 % of the rows are of 50.
            co = heavy[int(random.paretovariate(1.2)) % len(heavy)] if random.random() < 0.3 else random.choice(companies)
            yield (date, random.choice(app_ids), co, random.choice(ops), random.randint(1, 400))
c.executemany("INSERT INTO api_usage (date, application_id, company_id, operation, count) VALUES (?,?,?,?,?) "
              "ON CONFLICT (date, application_id, company_id, operation) DO UPDATE SET count = count + excluded.count", gen())
for d in range(days):
    date = (today - datetime.timedelta(days=d)).isoformat()
    for a in app_ids:
        c.execute("INSERT INTO api_refusals VALUES (?,?,?)", (date, a, random.randint(0, 50)))
        c.execute("INSERT INTO api_app_usage VALUES (?,?,?,?)", (date, a, "auth.token", random.randint(20, 30)))
c.commit()
n = c.execute("SELECT COUNT(*) FROM api_usage").fetchone()[0]
s = c.execute("SELECT SUM(count) FROM api_usage").fetchone()[0]
print(f"{len(companies)} companies, {apps} applications, {n} usage rows ({s} calls) over {days} days")
PY
echo "fill: $(( $(date +%s) - t0 )) s; database $(du -h "$DIR/omie-tenant-manager.db" | cut -f1)"
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
JAR="$DIR/jar"
CSRF=$(curl -s -c "$JAR" -b "$JAR" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -o /dev/null -c "$JAR" -b "$JAR" --data-urlencode "csrf_token=$CSRF" --data-urlencode "email=dono@demo.example.com.br" --data-urlencode "password=$PASS" "$BASE/login"
curl -s -b "$JAR" "$BASE/admin/usage?periodo=hoje" | grep -q "<h1>Uso da API</h1>" || { echo "error: not signed in" >&2; exit 1; }
COMPANY=$(sqlite3 "$DIR/omie-tenant-manager.db" "SELECT company_id FROM api_usage GROUP BY company_id ORDER BY SUM(count) DESC LIMIT 1")
# One measure: best of three, as "time ms, size bytes".
measure() {
  local best=999999 size=0
  for _ in 1 2 3; do
    read -r t s < <(curl -s -o /dev/null -b "$JAR" -w '%{time_total} %{size_download}\n' "$BASE$1")
    t=$(python3 -c "print(round($t * 1000))")
    [ "$t" -lt "$best" ] && best=$t
    size=$s
  done
  printf '%-62s %6s ms %9s bytes\n' "$1" "$best" "$size"
}
echo "== the usage page (GET, server answer time measured by curl, best of 3)"
for p in hoje 7dias 30dias mes; do measure "/admin/usage?periodo=$p"; done
FROM=$(python3 -c "import datetime,zoneinfo; print((datetime.datetime.now(zoneinfo.ZoneInfo('America/Sao_Paulo')).date()-datetime.timedelta(days=$DAYS-1)).isoformat())")
measure "/admin/usage?periodo=personalizado&from=$FROM"
measure "/admin/usage?periodo=30dias&company_id=$COMPANY"
measure "/admin/usage?periodo=30dias&application_id=app_bench000"
measure "/admin/usage?periodo=30dias&pagina=2000"
measure "/admin/usage?periodo=7dias&busca=padaria"
echo "== the download for people (at most 100,000 rows)"
measure "/admin/usage.csv?periodo=hoje"
measure "/admin/usage.csv?periodo=30dias"
awk '/^VmRSS:/ {print "server memory: " $2 " kB"}' /proc/$PID/status
