#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: Chromium and its
# WebDriver (browser tests), nginx, openssl, curl, systemd's systemd-analyze, adduser
# and cargo-deb (scripts/deploy-test.sh: the package, the unit, the site), rclone (off-site
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
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v adduser >/dev/null 2>&1 || need+=(adduser)
command -v ps >/dev/null 2>&1 || need+=(procps)
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)

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

# The Debian package (cargo deb). Pinned: the test packages the debug build with
# `--profile dev`, which later versions may refuse. ~1.5 min to build once.
if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "installing cargo-deb"
  cargo install -q cargo-deb --version 3.8.0 --locked
fi
