#!/usr/bin/env bash
# Figures for the overview's "Precisa da sua atenção" counts at 100,000 companies: fills
# a demo database, gives half the companies Omie credentials (a tenth of them failing
# their last test) and a thousand open invitations, then times each count the overview
# runs (sqlite3 .timer, best of 5). Prints one line per query.
# Usage: scripts/bench/overview.sh [companies=100000]   (BIN=path to use another binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q
  BIN=${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager
fi
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
DIR=$(mktemp -d); trap 'rm -rf "$DIR"' EXIT
OTM_DATA_DIR=$DIR OTM_LOG=warn OTM_BCRYPT_COST=4 "$BIN" demo --companies "$N" > /dev/null
DB=$DIR/omie-tenant-manager.db
sqlite3 "$DB" <<SQL
INSERT INTO omie_credentials (company_id, app_key_sealed, app_secret_sealed, fingerprint, updated_at, validation_status)
  SELECT id, 'x', 'x', 'f', '2026-01-01T00:00:00.000Z', CASE WHEN rowid % 10 = 0 THEN 'failed' ELSE 'ok' END
  FROM companies WHERE rowid % 2 = 0;
INSERT INTO invitations (id, token_hash, email, company_id, role, invited_by, created_at, expires_at)
  SELECT 'inv_b' || rowid, 'h' || rowid, 'p' || rowid || '@example.com.br', id, 'company_user', 'bench',
         strftime('%Y-%m-%dT%H:%M:%fZ','now'), strftime('%Y-%m-%dT%H:%M:%fZ','now', '+' || (rowid % 72) || ' hours')
  FROM companies WHERE rowid <= 1000;
ANALYZE;
SQL
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z); until=$(date -u -d '+48 hours' +%Y-%m-%dT%H:%M:%S.000Z)
time_query() {
  local label=$1 q=$2 best=999
  for _ in 1 2 3 4 5; do
    t=$(printf '.timer on\n%s\n' "$q" | sqlite3 "$DB" | sed -n 's/^Run Time: real \([0-9.]*\).*/\1/p' | tail -1)
    best=$(python3 -c "print(min($best, $t))")
  done
  printf '%-44s %8.1f ms\n' "$label" "$(python3 -c "print($best*1000)")"
}
echo "overview counts, $N companies (best of 5):"
time_query "companies by status (existing cards)" "SELECT status, COUNT(*) FROM companies GROUP BY status;"
time_query "active without Omie credentials" "SELECT COUNT(*) FROM companies c INDEXED BY companies_by_status_name WHERE c.status = 'active' AND NOT EXISTS (SELECT 1 FROM omie_credentials o WHERE o.company_id = c.id);"
time_query "active whose credentials failed" "SELECT COUNT(*) FROM omie_credentials o INDEXED BY omie_credentials_by_validation JOIN companies c ON c.id = o.company_id WHERE o.validation_status = 'failed' AND c.status = 'active';"
time_query "invitations expiring in 48 h" "SELECT COUNT(*) FROM invitations INDEXED BY invitations_open_by_expiry WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > '$now' AND expires_at <= '$until';"
time_query "oldest queued mail" "SELECT MIN(created_at) FROM outbox INDEXED BY outbox_pending_by_age WHERE status = 'pending' AND gave_up_at IS NULL;"
time_query "pending sign-ups" "SELECT COUNT(*) FROM users WHERE status = 'pending';"
