#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: Chromium and its
# WebDriver (browser tests), nginx (checking the deployment site), rclone (off-site
# backup copies to a loopback WebDAV server), the age and zstd tools (opening a backup
# without this program, as the README shows) and schemathesis (fuzzing the API from its
# OpenAPI document). Idempotent.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v age >/dev/null 2>&1 || need+=(age)
command -v zstd >/dev/null 2>&1 || need+=(zstd)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing test dependencies: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d may forbid starting services in containers; we start nothing anyway.
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v schemathesis >/dev/null 2>&1; then
  echo "installing schemathesis"
  python3 -m pip install -q --disable-pip-version-check "schemathesis>=4,<5"
fi

# A standard validator for the served OpenAPI document (scripts/schemathesis.sh).
if ! command -v openapi-spec-validator >/dev/null 2>&1; then
  echo "installing openapi-spec-validator"
  python3 -m pip install -q --disable-pip-version-check "openapi-spec-validator>=0.7,<1"
fi
