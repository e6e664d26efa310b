#!/usr/bin/env bash
# Does "Esqueci minha senha" answer a known address later than an unknown one?
# Starts the real server on a temporary data dir, creates the owner and 100 people, sends
# 500 requests for known and 500 for unknown addresses, interleaved, and prints the
# median and p90 of each (scripts/bench/forgot_password_timing.py).
# Usage: scripts/bench/forgot_password_timing.sh [binary=release build] [rounds=500]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-}
ROUNDS=${2:-500}
if [ -z "$BIN" ]; then
  cargo build --release --locked -q
  BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
fi
DIR=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
# Bcrypt at the production cost is not on this path (no password is checked); a low
# cost only makes creating the people quick.
export OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_BIND=127.0.0.1:0
OWNER=dona@bench.example.com.br
PASS="senha da bancada de testes"
printf '%s\n' "$PASS" | $BIN admin create --email "$OWNER" --name "Dona" --password-stdin > /dev/null
$BIN serve > "$DIR/out.log" 2>&1 &
PID=$!
until grep -q "listening on" "$DIR/out.log" 2>/dev/null; do sleep 0.05; done
BASE=$(sed -n 's#^listening on \(http://.*\)#\1#p' "$DIR/out.log")
python3 scripts/bench/forgot_password_timing.py "$BASE" "$OWNER" "$PASS" "$ROUNDS"
