# Sourced by the benchmark scripts: a fresh private data dir filled by `demo`, the server
# started on a random loopback port, the demo owner signed in.
# demo_server BIN COMPANIES: sets DIR, PID, BASE, OWNER (the owner's API token); the
# caller's EXIT trap should run `demo_server_stop`.
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

demo_server() {
  local bin=$1 n=$2 pass
  DIR=$(mktemp -d)   # 0700: the program refuses a data dir others can read
  export OTM_MFA_REQUIRED=none OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_BIND=127.0.0.1:0
  "$bin" demo --companies "$n" > "$DIR/demo.txt"
  pass=$(sed -n 's#^owner account: dono@demo.example.com.br / \([^ ]*\) .*#\1#p' "$DIR/demo.txt")
  "$bin" serve > "$DIR/out.log" 2>&1 &
  PID=$!
  until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
  BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
  OWNER=$(curl -s "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"dono@demo.example.com.br\",\"password\":\"$pass\"}" | json '["access_token"]')
}

demo_server_stop() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null
  [ -n "${DIR:-}" ] && rm -rf "$DIR"
  return 0
}
