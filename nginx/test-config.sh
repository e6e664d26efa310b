#!/usr/bin/env bash
# Checks nginx/omie-tenant-manager.conf with `nginx -t` without touching /etc/nginx or
# /etc/letsencrypt: everything (self-signed certificate, nginx.conf, pid, logs, temp
# paths) lives in a throw-away directory. Safe to run as root.
#
# Usage: nginx/test-config.sh [path/to/site.conf]
# Exit status: 0 when the site is valid (or nginx is not installed), non-zero otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
site="${1:-$here/omie-tenant-manager.conf}"

if ! command -v nginx >/dev/null 2>&1; then
    echo "nginx not installed; skipping"
    exit 0
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl is needed to make a test certificate" >&2
    exit 1
fi
if [[ ! -f "$site" ]]; then
    echo "no such file: $site" >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/otm-nginx-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs" "$tmp/temp"

# A self-signed certificate standing in for certbot's.
if ! openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
        -subj "/CN=gestor.example.com.br" \
        -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" >"$tmp/openssl.log" 2>&1; then
    cat "$tmp/openssl.log" >&2
    echo "could not create a test certificate" >&2
    exit 1
fi

# The site, with the Let's Encrypt paths pointed at the test certificate.
sed -e "s#/etc/letsencrypt/live/[^/;]*/fullchain\.pem#$tmp/fullchain.pem#g" \
    -e "s#/etc/letsencrypt/live/[^/;]*/privkey\.pem#$tmp/privkey.pem#g" \
    -e "s#/etc/letsencrypt/live/[^/;]*/chain\.pem#$tmp/fullchain.pem#g" \
    "$site" >"$tmp/site.conf"
if grep -v '^[[:space:]]*#' "$tmp/site.conf" | grep -q "/etc/letsencrypt"; then
    echo "warning: the site still refers to /etc/letsencrypt after substitution:" >&2
    grep -n "/etc/letsencrypt" "$tmp/site.conf" | grep -v '^[0-9]*:[[:space:]]*#' >&2 || true
fi

# A minimal main configuration that includes the site inside http {}, as Debian's
# /etc/nginx/nginx.conf does with sites-enabled/*.
cat >"$tmp/nginx.conf" <<EOF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {
    worker_connections 64;
}
http {
    access_log $tmp/logs/access.log;
    client_body_temp_path $tmp/temp/client_body;
    proxy_temp_path $tmp/temp/proxy;
    fastcgi_temp_path $tmp/temp/fastcgi;
    uwsgi_temp_path $tmp/temp/uwsgi;
    scgi_temp_path $tmp/temp/scgi;
    include $tmp/site.conf;
}
EOF

if nginx -t -c "$tmp/nginx.conf" -p "$tmp/" 2>"$tmp/nginx-t.log"; then
    # Show warnings (if any) but succeed.
    grep -v -e "syntax is ok" -e "test is successful" "$tmp/nginx-t.log" >&2 || true
    echo "nginx site config OK"
else
    cat "$tmp/nginx-t.log" >&2
    echo "nginx site config FAILED" >&2
    exit 1
fi
