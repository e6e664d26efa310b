#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then checks formatting and lints,
# runs unit and black-box tests (real server, real Chromium) and checks the nginx site.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
bash nginx/test-config.sh
