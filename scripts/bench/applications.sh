#!/usr/bin/env bash
# Load figures for the applications API with 10,000 companies: token issue, credential
# reads and proxied Omie calls, with wrk at 64 connections. Omie is stood in for by a
# tiny nginx on loopback. Prints req/s, latency percentiles and the server's memory.
# Usage: scripts/bench/applications.sh [companies=10000] [seconds=15] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000}; SECS=${2:-15}; CONNS=${3:-64}; LINKED=200
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v nginx >/dev/null || scripts/install-test-deps.sh
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; nginx -p "$DIR/ng" -c "$DIR/ng/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$DIR"' EXIT

# Omie stand-in: nginx answering every POST with a small JSON.
mkdir -p "$DIR/ng/logs"
OMIE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DIR/ng/nginx.conf" <<NGINX
worker_processes 1; error_log $DIR/ng/logs/error.log; pid $DIR/ng/nginx.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $DIR/ng; proxy_temp_path $DIR/ng; fastcgi_temp_path $DIR/ng; uwsgi_temp_path $DIR/ng; scgi_temp_path $DIR/ng;
  server { listen 127.0.0.1:$OMIE_PORT; default_type application/json;
    location / { return 200 '{"pagina":1,"total_de_paginas":1,"registros":0,"clientes_cadastro":[]}'; } } }
NGINX
nginx -p "$DIR/ng" -c "$DIR/ng/nginx.conf"

export OTM_MFA_REQUIRED=${OTM_MFA_REQUIRED:-none}
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=10 OTM_BIND=127.0.0.1:0 OTM_OMIE_BASE_URL=http://127.0.0.1:$OMIE_PORT/api/v1
$BIN demo --companies "$N" > "$DIR/demo.txt"
PASS=$(sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p' "$DIR/demo.txt")
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
OWNER=$(curl -s "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"dono@demo.example.com.br\",\"password\":\"$PASS\"}" | json '["access_token"]')
APP=$(curl -s "$BASE/api/v1/applications" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' -d '{"name":"Bench"}')
APP_ID=$(echo "$APP" | json '["id"]'); CLIENT_ID=$(echo "$APP" | json '["client_id"]'); SECRET=$(echo "$APP" | json '["client_secret"]')
# Link the app to LINKED active companies with all scopes, and give them credentials.
IDS=$(curl -s "$BASE/api/v1/companies?status=active&limit=200" -H "Authorization: Bearer $OWNER" | python3 -c 'import json,sys; print(",".join(c["id"] for c in json.load(sys.stdin)["items"]))')
i=0
for id in ${IDS//,/ }; do
  i=$((i+1))
  curl -s -o /dev/null -X PUT "$BASE/api/v1/companies/$id/omie-credentials" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' \
    -d "{\"app_key\":\"$((1000000000000 + i))\",\"app_secret\":\"9f3c2a7be41d4c0e8a6b5d2f1e0c9b8a\"}"
  curl -s -o /dev/null -X PUT "$BASE/api/v1/companies/$id/applications/$APP_ID" -H "Authorization: Bearer $OWNER" -H 'content-type: application/json' \
    -d '{"scopes":["companies:read","omie_credentials:read","omie:proxy"]}'
done
APP_TOKEN=$(curl -s "$BASE/api/v1/auth/token" -d "grant_type=client_credentials&client_id=$CLIENT_ID&client_secret=$SECRET" | json '["access_token"]')
export OTM_CLIENT_ID=$CLIENT_ID OTM_CLIENT_SECRET=$SECRET OTM_APP_TOKEN=$APP_TOKEN OTM_COMPANY_IDS=$IDS
echo "$N companies; the app is linked to $(echo "${IDS//,/ }" | wc -w) of them"
for run in token creds proxy; do
  echo "== $run: wrk -c$CONNS -d${SECS}s"
  url=$BASE; [ "$run" = token ] && url=$BASE/api/v1/auth/token
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "scripts/bench/$run.lua" "$url" | grep -E "50%|99%|Requests/sec|Non-2xx|requests in"
done
awk '/^(VmRSS|RssAnon):/ {printf "%s %s kB  ", $1, $2}' /proc/$PID/status; echo
