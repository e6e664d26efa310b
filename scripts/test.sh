#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then checks formatting and lints,
# runs unit and black-box tests (real server, real Chromium), fuzzes the API with
# schemathesis, and proves the deployment: the Debian package installed, upgraded and
# removed, the unit's hardening, nginx in front of the program (scripts/deploy-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The tests get a temporary directory of their own, so every Chromium profile they make
# is under it: a browser left running by this run is told apart from anyone else's.
TMPDIR="$(mktemp -d)"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
cargo test --all-targets --locked
left="$(pgrep -fc -- "--user-data-dir=$TMPDIR/" || true)"
if [ "$left" -gt 0 ]; then
    echo "error: $left Chromium processes started by the tests are still running:" >&2
    pgrep -fa -- "--user-data-dir=$TMPDIR/" | cut -c1-160 >&2
    exit 1
fi
scripts/schemathesis.sh target/debug/omie-tenant-manager
scripts/deploy-test.sh target/debug/omie-tenant-manager
