#!/usr/bin/env bash
# Company search over the API at 100,000 companies (issue 14's third target): oha at 64
# connections on GET /api/v1/companies?q=...&limit=20 with the owner's token, for a common
# term, a word of middling frequency, one whose matches sit late in the alphabet, a rare
# CNPJ fragment (6 digits of a real company's CNPJ) and a term with no match. Prints
# req/s, p50, p99 and the server's memory (VmRSS and its anonymous part).
# Usage: scripts/bench/search.sh [binary=target/release/omie-tenant-manager] [seconds=8]
#        [connections=64] [companies=100000]
# The binary is used as it is (build it first: cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/omie-tenant-manager}
SECS=${2:-8}; CONNS=${3:-64}; N=${4:-100000}
OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
. scripts/bench/lib.sh
trap demo_server_stop EXIT
demo_server "$BIN" "$N"
# A rare term: six digits from the middle of the CNPJ of a company in the middle of the list.
MID=$(curl -s "$BASE/api/v1/companies?q=Mercado&limit=100" -H "Authorization: Bearer $OWNER" | json '["items"][50]["cnpj"]')
RARE=$(echo "$MID" | tr -dc '0-9A-Z' | cut -c3-8)
echo "$N companies; $(nproc) cores shared with oha; oha -z ${SECS}s -c $CONNS"
for q in Agr Santos Pad "$RARE" Xyzzyq; do
  url="$BASE/api/v1/companies?q=$q&limit=20"
  n=$(curl -s "$url" -H "Authorization: Bearer $OWNER" | json '["items"].__len__()')
  out=$("$OHA" --no-tui -z "${SECS}s" -c "$CONNS" --output-format json -H "Authorization: Bearer $OWNER" "$url")
  echo "$out" | python3 -c "
import json, sys
d = json.load(sys.stdin); s = d['summary']; p = d['latencyPercentiles']
codes = d.get('statusCodeDistribution', {})
print('q=%-8s page %2s  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  answers %s' % (
    sys.argv[1], sys.argv[2], s['requestsPerSec'], p['p50'] * 1000, p['p99'] * 1000, codes))
" "$q" "$n"
done
awk '/^(VmRSS|RssAnon|VmHWM):/ {printf "%s %s kB  ", $1, $2}' /proc/$PID/status; echo
