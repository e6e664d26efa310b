#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then checks formatting and lints,
# runs unit and black-box tests (real server, real Chromium), fuzzes the API with
# schemathesis, and checks the nginx site.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
scripts/schemathesis.sh target/debug/omie-tenant-manager
bash nginx/test-config.sh
