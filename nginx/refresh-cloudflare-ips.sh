#!/usr/bin/env bash
# Refreshes Cloudflare's address ranges in the nginx snippet
# (/etc/nginx/snippets/omie-tenant-manager-cloudflare.conf, or the file given), checks
# nginx's configuration and reloads it. On any failure the old file is kept.
#
# Usage: sudo /usr/share/omie-tenant-manager/refresh-cloudflare-ips [snippet]
# Ranges from a file instead of the network (one CIDR a line): RANGES_FILE=path
set -euo pipefail

snippet="${1:-/etc/nginx/snippets/omie-tenant-manager-cloudflare.conf}"
[ -f "$snippet" ] || { echo "no such file: $snippet" >&2; exit 1; }
tmp="$(mktemp)"
trap 'rm -f "$tmp" "$tmp.ranges"' EXIT

if [ -n "${RANGES_FILE:-}" ]; then
    cat "$RANGES_FILE" >"$tmp.ranges"
else
    curl -fsS --max-time 20 https://www.cloudflare.com/ips-v4 >"$tmp.ranges"
    echo >>"$tmp.ranges"
    curl -fsS --max-time 20 https://www.cloudflare.com/ips-v6 >>"$tmp.ranges"
fi
# Only well-formed CIDRs pass; an empty or odd answer changes nothing.
ranges="$(tr -d ' \t\r' <"$tmp.ranges" | grep -E '^[0-9a-fA-F:.]+/[0-9]{1,3}$' || true)"
count="$(printf '%s\n' "$ranges" | grep -c . || true)"
if [ "$count" -lt 5 ]; then
    echo "refusing: only $count ranges received" >&2
    exit 1
fi

{
    sed -n '1,/^# BEGIN CLOUDFLARE RANGES/p' "$snippet" |
        sed "s/^# BEGIN CLOUDFLARE RANGES.*/# BEGIN CLOUDFLARE RANGES (checked $(date -u +%F))/"
    printf '%s\n' "$ranges" | sed 's/^\(.*\)$/set_real_ip_from \1;/'
    sed -n '/^# END CLOUDFLARE RANGES/,$p' "$snippet"
} >"$tmp"

cp -p "$snippet" "$snippet.bak"
cat "$tmp" >"$snippet"
if [ -z "${NO_RELOAD:-}" ]; then
    if ! nginx -t 2>/dev/null; then
        cp -p "$snippet.bak" "$snippet"
        echo "nginx refused the new ranges; the old file was put back" >&2
        nginx -t || true
        exit 1
    fi
    systemctl reload nginx
fi
rm -f "$snippet.bak"
echo "Cloudflare ranges refreshed: $count ranges in $snippet"
