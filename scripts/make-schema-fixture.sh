#!/usr/bin/env bash
# Makes tests/fixtures/schema-NNNN/: a small data dir (database + its master key) written
# by this build's migrations, NNNN being the number of its newest file in migrations/. Commit it and keep it: a
# later build with more migrations must upgrade it (tests/api/deploy15.rs).
# The key in it is a test key that seals nothing real.
#
# Usage: scripts/make-schema-fixture.sh [path/to/omie-tenant-manager]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/omie-tenant-manager}"
[ -x "$BIN" ] || cargo build --locked
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OTM_DATA_DIR="$WORK/data" OTM_LOG=warn OTM_BCRYPT_COST=4 OTM_CNPJ_LOOKUP_URL=off
"$BIN" demo --companies 4 --audit-rows 24 >/dev/null
echo "cavalo bateria grampo" | "$BIN" admin create --email dona.maria@example.com.br \
    --name "Maria Fixture" --password-stdin >/dev/null
"$BIN" audit verify >/dev/null
newest="$(ls migrations | sort | tail -n 1)"
out="tests/fixtures/schema-${newest%%_*}"
rm -rf "$out"
mkdir -p "$out"
# One self-contained file: the WAL folded in, free pages dropped.
python3 - "$OTM_DATA_DIR/omie-tenant-manager.db" "$PWD/$out/omie-tenant-manager.db" <<'PY'
import sqlite3, sys
sqlite3.connect(sys.argv[1]).execute("VACUUM INTO ?", (sys.argv[2],))
PY
cp "$OTM_DATA_DIR/master.key" "$out/master.key"
ls -l "$out"
