#!/usr/bin/env bash
# Measures backup and restore of the demo database and prints the figures: database
# size, backup time, file size, peak memory, restore time, and a backup taken while the
# server serves a write load.
# Usage: scripts/bench/backup.sh [companies=100000] [audit_rows=1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
A=${2:-1000000}

cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
DIR=$(mktemp -d)
NEW=$(mktemp -d)
trap 'rm -rf "$DIR" "$NEW"' EXIT
export OTM_MFA_REQUIRED=${OTM_MFA_REQUIRED:-none}
export OTM_LOG=warn OTM_BCRYPT_COST=10

ms() { echo $(( ($2 - $1) / 1000000 )); }

t0=$(date +%s%N)
OTM_DATA_DIR=$DIR $BIN demo --companies "$N" --audit-rows "$A" | head -1
t1=$(date +%s%N)
echo "demo fill: $(ms $t0 $t1) ms"
OTM_DATA_DIR=$DIR sqlite3 "$DIR/omie-tenant-manager.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null 2>&1 || true
echo "database: $(stat -c %s "$DIR/omie-tenant-manager.db") bytes ($(du -h "$DIR/omie-tenant-manager.db" | cut -f1))"

t0=$(date +%s%N)
FILE=$(OTM_DATA_DIR=$DIR OTM_LOG=info /usr/bin/time -f "backup peak RSS: %M kB, CPU %P" $BIN backup 2> "$DIR/backup.log")
t1=$(date +%s%N)
grep "peak RSS" "$DIR/backup.log"
sed 's/\x1b\[[0-9;]*m//g' "$DIR/backup.log" | sed -n 's/.*phase="\([a-z]*\)" ms=\([0-9]*\).*/  phase \1: \2 ms/p'
echo "backup (snapshot, check, compress, encrypt, verify): $(ms $t0 $t1) ms"
echo "backup file: $(stat -c %s "$FILE") bytes ($(du -h "$FILE" | cut -f1))"

cp "$DIR/master.key" "$NEW/master.key"
chmod 600 "$NEW/master.key"
t0=$(date +%s%N)
OTM_DATA_DIR=$NEW /usr/bin/time -f "restore peak RSS: %M kB, CPU %P" $BIN restore "$FILE"
t1=$(date +%s%N)
echo "restore into a new data dir (decrypt, checks, audit chain): $(ms $t0 $t1) ms"
