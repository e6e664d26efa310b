#!/usr/bin/env bash
# Issue 15, proven: the Debian package, the systemd unit and the nginx site, each really
# run on this machine (DESIGN.md §7, §8.5). Called by scripts/test.sh after the Rust
# tests (the debug binary is built by then); prints "ok - ..." per check and a closing
# "N passed, N failed" line; exits non-zero when any check fails.
#
#   1. package: `cargo deb --no-build` around the debug binary; install, upgrade, remove
#      and purge it for real (root on a machine where it is not installed, as in CI),
#      checking the user, modes, the config file kept, the data kept.
#   2. unit: `systemd-analyze verify` and the `security` exposure score (at most 2.0);
#      then the installed program run under the unit's restrictions reproduced with a
#      mount namespace and setpriv (systemd is not PID 1 in a container): read-only
#      system, private /tmp, hidden /home, no new privileges, no capabilities, user otm:
#      it backs up (with an rclone copy to a loopback WebDAV server), sends mail (to a
#      loopback SMTP sink) and restores.
#   3. nginx: Debian's nginx on loopback ports with the repository's site, a self-signed
#      certificate and the program behind it: redirects, sign-in, headers once, caching,
#      429, 413, the client address in the audit rows, and the Cloudflare variant.
#
# Usage: scripts/deploy-test.sh [path/to/omie-tenant-manager]   (default: the debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="$(realpath "${1:-target/debug/omie-tenant-manager}")"
[ -x "$BIN" ] || { echo "no binary at $BIN: run cargo build first" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/otm-deploy.XXXXXX")"
chmod 755 "$WORK"
PIDS=()
NGINX_CONF=""
INSTALLED_BY_US=""
passed=0
failed=0

cleanup() {
    set +e
    [ -n "$NGINX_CONF" ] && [ -f "$WORK/nginx/nginx.pid" ] && nginx -c "$NGINX_CONF" -p "$WORK/nginx/" -s stop 2>/dev/null
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ -n "$INSTALLED_BY_US" ]; then
        dpkg --purge omie-tenant-manager >/dev/null 2>&1
        rm -rf /var/lib/omie-tenant-manager /etc/omie-tenant-manager
        userdel otm 2>/dev/null
        groupdel otm 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
# check "what" command...: ok when the command succeeds.
check() {
    local what="$1"
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
# same "what" actual expected
same() {
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', expected '$3')"; fi
}
has() { grep -q -- "$2" "$1"; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # url [seconds]
    local i
    for i in $(seq 1 "$((${2:-30} * 10))"); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing answered at $1" >&2
    return 1
}
# sql DB QUERY: the first column of the first row.
sql() {
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print("" if row is None else row[0])
PY
}
mode_of() { stat -c '%a %U' "$1" 2>/dev/null || echo missing; }

# A loopback SMTP server that writes each message it receives to a file in $1.
smtp_sink() {
    python3 - "$1" "$2" <<'PY' &
import socketserver, sys, os, itertools
out, port = sys.argv[1], int(sys.argv[2])
n = itertools.count()
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: (self.wfile.write(s.encode() + b"\r\n"), self.wfile.flush())
        w("220 sink")
        data = None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data is not None:
                if line in (b".\r\n", b".\n"):
                    with open(os.path.join(out, "mail-%d.eml" % next(n)), "wb") as f:
                        f.write(b"".join(data))
                    data = None
                    w("250 queued")
                else:
                    data.append(line)
                continue
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                w("250-sink\r\n250 8BITMIME")
            elif cmd.startswith(b"DATA"):
                data = []
                w("354 go on")
            elif cmd.startswith(b"QUIT"):
                w("221 bye")
                return
            else:
                w("250 ok")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
S(("127.0.0.1", port), H).serve_forever()
PY
    PIDS+=($!)
}

# The unit's restrictions, reproduced: a private mount namespace where every mount but
# the data dir is read-only (ProtectSystem=strict + ReadWritePaths), /tmp and /var/tmp
# are fresh (PrivateTmp), /home and /root are empty and read-only (ProtectHome), /dev
# holds the pseudo-devices only (PrivateDevices), /proc shows processes only, others'
# hidden (ProcSubset=pid, ProtectProc=invisible), then
# the otm user with no capabilities and no_new_privs (NoNewPrivileges, User=,
# CapabilityBoundingSet=). SANDBOX_PROBE=1 first checks, as root inside it, that the
# system really is read-only there. It ends by exec'ing the command: call it in a
# subshell, `( sandbox CMD )`, and that subshell's pid is the command's.
sandbox() {
    local data=/var/lib/omie-tenant-manager
    exec unshare --mount --propagation private -- /bin/bash -c '
        set -e
        data="$1"; shift
        mount -n --bind "$data" "$data"
        for m in $(awk "{print \$5}" /proc/self/mountinfo | sort -u); do
            case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$data") continue ;; esac
            mount -n -o remount,bind,ro "$m" 2>/dev/null || true
        done
        mount -n -t tmpfs -o mode=1777 tmpfs /tmp
        mount -n -t tmpfs -o mode=1777 tmpfs /var/tmp
        mount -n -t tmpfs -o ro,mode=0755 tmpfs /home
        mount -n -t tmpfs -o ro,mode=0700 tmpfs /root
        # PrivateDevices: a /dev with the pseudo-devices only, and a fresh /dev/shm.
        mkdir /tmp/.dev
        for d in null zero full random urandom tty; do
            touch "/tmp/.dev/$d"; mount -n --bind "/dev/$d" "/tmp/.dev/$d"
        done
        mount -n -t tmpfs -o mode=0755,nosuid,noexec tmpfs /dev
        for d in null zero full random urandom tty; do
            touch "/dev/$d"; mount -n --move "/tmp/.dev/$d" "/dev/$d"
        done
        rm -rf /tmp/.dev
        mkdir /dev/shm && mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
        mount -n -o remount,ro /dev
        # ProtectProc=invisible, ProcSubset=pid: a /proc of processes only, other
        # users processes hidden.
        mount -n -t proc -o subset=pid,hidepid=invisible,nosuid,nodev,noexec proc /proc
        if [ -n "${SANDBOX_PROBE:-}" ]; then
            if touch /etc/.otm-probe 2>/dev/null || touch /usr/.otm-probe 2>/dev/null; then
                echo "probe: the system is writable" >&2; exit 97
            fi
            touch "$data/.otm-probe" && rm "$data/.otm-probe"
            [ -z "$(ls -A /tmp)" ] || { echo "probe: /tmp is not private" >&2; exit 98; }
            [ ! -e /proc/meminfo ] || { echo "probe: /proc is not the pid subset" >&2; exit 99; }
            [ "$(ls /dev | tr "\n" " ")" = "full null random shm tty urandom zero " ] \
                || { echo "probe: /dev is not private: $(ls /dev)" >&2; exit 96; }
        fi
        exec setpriv --reuid otm --regid otm --init-groups --no-new-privs \
            --inh-caps=-all --bounding-set=-all -- "$@"
    ' sandbox "$data" env -i PATH=/usr/bin:/bin HOME="$data" \
        OTM_DATA_DIR="$data" OTM_SECURE_COOKIES=true \
        RCLONE_CONFIG="$data/rclone.conf" OTM_LOG="${OTM_LOG:-warn}" \
        OTM_BCRYPT_COST=4 OTM_MFA_REQUIRED=none OTM_CNPJ_LOOKUP_URL=off \
        "${SANDBOX_ENV[@]}" "$@"
}

OWNER_EMAIL=dona.maria@example.com.br
OWNER_PASSWORD="cavalo bateria grampo"

# --- 1. the package -------------------------------------------------------------------
echo "# package"
mkdir -p "$WORK/deb1" "$WORK/deb2"
# The test packages the debug build (no release build in the test command); `cargo deb`
# without --no-build/--profile makes the release package (README: "Debian package").
cargo deb --no-build --profile dev --fast -q -o "$WORK/deb1/" >"$WORK/deb.log" 2>&1 || { cat "$WORK/deb.log" >&2; exit 1; }
cargo deb --no-build --profile dev --fast -q --deb-revision 2 -o "$WORK/deb2/" >>"$WORK/deb.log" 2>&1 || { cat "$WORK/deb.log" >&2; exit 1; }
DEB1="$(ls "$WORK"/deb1/*.deb)"
DEB2="$(ls "$WORK"/deb2/*.deb)"
dpkg-deb -c "$DEB1" | awk '{print $1, $6}' >"$WORK/contents"
check "package holds the binary" has "$WORK/contents" '^-rwxr-xr-x ./usr/bin/omie-tenant-manager$'
check "package holds the unit" has "$WORK/contents" ' ./usr/lib/systemd/system/omie-tenant-manager.service$'
check "package holds the nginx site in sites-available" has "$WORK/contents" ' ./etc/nginx/sites-available/omie-tenant-manager.conf$'
check "package holds the Cloudflare snippet" has "$WORK/contents" ' ./etc/nginx/snippets/omie-tenant-manager-cloudflare.conf$'
check "package does not enable the site" bash -c "! grep -q sites-enabled '$WORK/contents'"
check "package does not ship the data dir's contents" bash -c "! grep -q 'var/lib/omie-tenant-manager/.' '$WORK/contents'"

if [ "$(id -u)" -ne 0 ]; then
    echo "not root: the install, the unit's restrictions and the upgrade are not exercised" >&2
    bad "install checks need root (CI runs as root)"
elif dpkg-query -W -f='${Status}' omie-tenant-manager 2>/dev/null | grep -q installed \
    || [ -e /var/lib/omie-tenant-manager ] || getent passwd otm >/dev/null; then
    echo "omie-tenant-manager (or its user or data) is already on this machine: the install checks would touch it" >&2
    bad "install checks need a machine without the package"
else
    INSTALLED_BY_US=1
    dpkg -i "$DEB1" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; bad "dpkg -i"; }
    check "install prints the setup link's command" has "$WORK/install.log" "grep 'setup link'"
    check "install makes the otm system user" bash -c "getent passwd otm | grep -q ':/usr/sbin/nologin$'"
    same "data dir is 0700 and otm's" "$(mode_of /var/lib/omie-tenant-manager)" "700 otm"
    same "config file is 0600 and otm's" "$(mode_of /etc/omie-tenant-manager/config.toml)" "600 otm"
    check "site is not enabled" test ! -e /etc/nginx/sites-enabled/omie-tenant-manager.conf
    UNIT=/usr/lib/systemd/system/omie-tenant-manager.service

    # --- 2. the unit ------------------------------------------------------------------
    echo "# unit"
    check "systemd-analyze verify" systemd-analyze verify "$UNIT"
    score="$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
    echo "  exposure score: $score"
    check "exposure score $score is at most 2.0" python3 -c "import sys; sys.exit(not (0 < float('$score') <= 2.0))"

    # The person's edit of the settings file, kept through the upgrade below.
    sed -i 's|^base_url = .*|base_url = "https://gestor.minhaempresa.com.br"\n# edited by the person|' /etc/omie-tenant-manager/config.toml
    CONF_SUM="$(sha256sum /etc/omie-tenant-manager/config.toml)"

    SMTP_PORT="$(free_port)"; DAV_PORT="$(free_port)"; APP_PORT="$(free_port)"
    mkdir -p "$WORK/mail" "$WORK/dav"
    smtp_sink "$WORK/mail" "$SMTP_PORT"
    rclone serve webdav "$WORK/dav" --addr "127.0.0.1:$DAV_PORT" >"$WORK/dav.log" 2>&1 &
    PIDS+=($!)
    install -m 0600 -o otm -g otm /dev/null /var/lib/omie-tenant-manager/rclone.conf
    printf '[dav]\ntype = webdav\nurl = http://127.0.0.1:%s\nvendor = other\n' "$DAV_PORT" \
        >/var/lib/omie-tenant-manager/rclone.conf
    SANDBOX_ENV=(OTM_BIND="127.0.0.1:$APP_PORT" OTM_BASE_URL="http://127.0.0.1:$APP_PORT"
        OTM_SMTP_HOST=127.0.0.1 OTM_SMTP_PORT="$SMTP_PORT" OTM_SMTP_SECURITY=none
        OTM_BACKUP_REMOTE=dav:omie-backups)
    OTMCTL=(/usr/bin/omie-tenant-manager --config /etc/omie-tenant-manager/config.toml)
    if (SANDBOX_PROBE=1 sandbox /bin/true); then
        ok "sandbox: system read-only, /tmp, /dev and /proc private, data dir writable"
    else
        bad "sandbox: the restrictions do not hold"
    fi
    if echo "$OWNER_PASSWORD" | (sandbox "${OTMCTL[@]}" admin create --email "$OWNER_EMAIL" --name "Dona Maria" --password-stdin >/dev/null); then
        ok "sandbox: admin create"
    else
        bad "sandbox: admin create"
    fi
    (sandbox "${OTMCTL[@]}" serve) >"$WORK/sandboxed.out" 2>"$WORK/sandboxed.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_http "http://127.0.0.1:$APP_PORT/healthz" 60 || cat "$WORK/sandboxed.err" >&2
    same "sandbox: the server runs as otm" "$(ps -o user= -p "$SERVER_PID" | tr -d ' ')" "otm"
    check "sandbox: the server has no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$SERVER_PID/status"
    check "sandbox: the server has no capabilities" grep -q '^CapBnd:[[:space:]]*0000000000000000' "/proc/$SERVER_PID/status"
    # Mail: a password-reset request, sent by the server's mail worker.
    jar="$WORK/sandbox.jar"
    token="$(curl -fsS -c "$jar" "http://127.0.0.1:$APP_PORT/password/forgot" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)"
    curl -fsS -o /dev/null -b "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "email=$OWNER_EMAIL" "http://127.0.0.1:$APP_PORT/password/forgot" || true
    for _ in $(seq 1 300); do
        ls "$WORK/mail"/*.eml >/dev/null 2>&1 && break
        sleep 0.1
    done
    check "sandbox: mail goes out (SMTP on loopback)" bash -c "grep -qi '^To:.*$OWNER_EMAIL' $WORK/mail/*.eml"
    # Backup with the off-site copy, while the server runs.
    BACKUP="$( (sandbox "${OTMCTL[@]}" backup) 2>"$WORK/backup.err" || true)"
    check "sandbox: backup writes its file in the data dir" test -f "$BACKUP"
    check "sandbox: rclone copies it to the remote" test -f "$WORK/dav/omie-backups/$(basename "$BACKUP")"
    if [ -s "$WORK/backup.err" ]; then cat "$WORK/backup.err" >&2; fi
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    if (sandbox "${OTMCTL[@]}" restore "$BACKUP" --force) >"$WORK/restore.out" 2>&1 && grep -q '^restored the backup' "$WORK/restore.out"; then
        ok "sandbox: restore"
    else
        cat "$WORK/restore.out" >&2
        bad "sandbox: restore"
    fi
    if (sandbox "${OTMCTL[@]}" audit verify) 2>&1 | grep -q 'audit chain intact'; then
        ok "sandbox: audit chain intact after the restore"
    else
        bad "sandbox: audit chain after the restore"
    fi

    # --- upgrade and removal keep the data ----------------------------------------------
    echo "# upgrade and removal"
    users_before="$(sql /var/lib/omie-tenant-manager/omie-tenant-manager.db 'SELECT count(*) FROM users')"
    dpkg -i "$DEB2" >"$WORK/upgrade.log" 2>&1 || { cat "$WORK/upgrade.log" >&2; bad "dpkg -i (upgrade)"; }
    check "upgrade says the data and settings were kept" has "$WORK/upgrade.log" "were kept"
    same "upgrade keeps the edited config file" "$(sha256sum /etc/omie-tenant-manager/config.toml)" "$CONF_SUM"
    same "upgrade keeps the people" "$(sql /var/lib/omie-tenant-manager/omie-tenant-manager.db 'SELECT count(*) FROM users')" "$users_before"
    same "upgrade keeps the data dir 0700" "$(mode_of /var/lib/omie-tenant-manager)" "700 otm"
    dpkg -r omie-tenant-manager >"$WORK/remove.log" 2>&1 || bad "dpkg -r"
    check "remove takes the binary away" test ! -e /usr/bin/omie-tenant-manager
    check "remove keeps the database" test -s /var/lib/omie-tenant-manager/omie-tenant-manager.db
    check "remove keeps the master key" test -s /var/lib/omie-tenant-manager/master.key
    check "remove keeps the config file" test -f /etc/omie-tenant-manager/config.toml
    dpkg -P omie-tenant-manager >"$WORK/purge.log" 2>&1 || bad "dpkg -P"
    check "purge keeps the data, and says so" bash -c "test -s /var/lib/omie-tenant-manager/omie-tenant-manager.db && grep -q 'was kept' '$WORK/purge.log'"
    check "purge removes the config file" test ! -e /etc/omie-tenant-manager/config.toml
fi

# --- 3. nginx ---------------------------------------------------------------------------
echo "# nginx"
HOST=gestor.example.com.br
N="$WORK/nginx"
mkdir -p "$N/logs" "$N/temp" "$N/www" "$WORK/data"
chmod 700 "$WORK/data"
HTTP_PORT="$(free_port)"; HTTPS_PORT="$(free_port)"; APP2_PORT="$(free_port)"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$HOST" \
    -addext "subjectAltName=DNS:$HOST" \
    -keyout "$N/privkey.pem" -out "$N/fullchain.pem" >"$N/openssl.log" 2>&1
BASE="https://$HOST:$HTTPS_PORT"

# The site as shipped, with only what a test on loopback must change: ports, the
# certificate paths, the app's port, the snippet's path.
site() {
    sed -e "s#listen 80;#listen 127.0.0.1:$HTTP_PORT;#" \
        -e "s#listen 443 ssl http2;#listen 127.0.0.1:$HTTPS_PORT ssl http2;#" \
        -e '/listen \[::\]/d' \
        -e "s#/etc/letsencrypt/live/[^/;]*/#$N/#" \
        -e "s#http://127.0.0.1:8080#http://127.0.0.1:$APP2_PORT#" \
        -e "s#https://$HOST\$request_uri#https://$HOST:$HTTPS_PORT\$request_uri#" \
        -e "s#root /var/www/html;#root $N/www;#" \
        -e "s#/etc/nginx/snippets/omie-tenant-manager-cloudflare.conf#$N/cloudflare.conf#" \
        "$ROOT/nginx/omie-tenant-manager.conf"
}
main_conf() {
    cat <<EOF
pid $N/nginx.pid;
error_log $N/logs/error.log;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events { worker_connections 64; }
http {
    access_log $N/logs/access.log;
    client_body_temp_path $N/temp/client_body;
    proxy_temp_path $N/temp/proxy;
    fastcgi_temp_path $N/temp/fastcgi;
    uwsgi_temp_path $N/temp/uwsgi;
    scgi_temp_path $N/temp/scgi;
    include $N/site.conf;
}
EOF
}
start_nginx() {
    main_conf >"$N/nginx.conf"
    NGINX_CONF="$N/nginx.conf"
    nginx -t -q -c "$N/nginx.conf" -p "$N/" && nginx -c "$N/nginx.conf" -p "$N/"
}
stop_nginx() {
    nginx -c "$N/nginx.conf" -p "$N/" -s stop
    for _ in $(seq 1 50); do [ -f "$N/nginx.pid" ] || break; sleep 0.1; done
}

# nginx -t on the site as shipped (with the Cloudflare line uncommented and the real
# ranges): both variants must load.
cp "$ROOT/nginx/omie-tenant-manager-cloudflare.conf" "$N/cloudflare.conf"
site >"$N/site.conf"
main_conf >"$N/nginx.conf"
check "nginx -t: the site" nginx -t -q -c "$N/nginx.conf" -p "$N/"
site | sed 's/# include /include /' >"$N/site.conf"
check "nginx -t: the Cloudflare variant with Cloudflare's ranges" nginx -t -q -c "$N/nginx.conf" -p "$N/"

# The program behind it, as the unit runs it (secure cookies; base URL = the public one).
export OTM_DATA_DIR="$WORK/data" OTM_BIND="127.0.0.1:$APP2_PORT" OTM_BASE_URL="$BASE" \
    OTM_SECURE_COOKIES=true OTM_BCRYPT_COST=4 OTM_MFA_REQUIRED=none OTM_LOG=warn \
    OTM_CNPJ_LOOKUP_URL=off
echo "$OWNER_PASSWORD" | "$BIN" admin create --email "$OWNER_EMAIL" --name "Dona Maria" --password-stdin >/dev/null
"$BIN" serve >"$WORK/app.out" 2>"$WORK/app.err" &
PIDS+=($!)
wait_http "http://127.0.0.1:$APP2_PORT/healthz" 60
DB="$WORK/data/omie-tenant-manager.db"

site >"$N/site.conf"
start_nginx
C=(curl -sS --resolve "$HOST:$HTTPS_PORT:127.0.0.1" --resolve "$HOST:$HTTP_PORT:127.0.0.1" --cacert "$N/fullchain.pem")

# HTTP goes to HTTPS.
same "HTTP redirects to HTTPS" \
    "$("${C[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://$HOST:$HTTP_PORT/login?x=1")" \
    "301 $BASE/login?x=1"

# Certbot's challenge files are served on both ports (renewals behind Cloudflare reach
# HTTPS), not redirected nor proxied.
mkdir -p "$N/www/.well-known/acme-challenge"
echo "challenge-token" >"$N/www/.well-known/acme-challenge/t1"
same "certbot challenge served over HTTP" "$("${C[@]}" "http://$HOST:$HTTP_PORT/.well-known/acme-challenge/t1")" "challenge-token"
same "certbot challenge served over HTTPS" "$("${C[@]}" "$BASE/.well-known/acme-challenge/t1")" "challenge-token"

# Sign-in end to end over HTTPS, from 127.0.0.2, with a forged X-Forwarded-For.
jar="$WORK/https.jar"
"${C[@]}" --interface 127.0.0.2 -c "$jar" -D "$WORK/login.h" -o "$WORK/login.html" "$BASE/login"
token="$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -n 1)"
"${C[@]}" --interface 127.0.0.2 -b "$jar" -c "$jar" -D "$WORK/post.h" -o /dev/null \
    -H "Origin: $BASE" -H "X-Forwarded-For: 203.0.113.66" \
    --data-urlencode "csrf_token=$token" --data-urlencode "email=$OWNER_EMAIL" \
    --data-urlencode "password=$OWNER_PASSWORD" "$BASE/login"
check "sign-in answers 303 to /admin" bash -c "grep -qi '^HTTP/[0-9.]* 303' '$WORK/post.h' && grep -qi '^location: /admin' '$WORK/post.h'"
check "the session cookie is Secure" bash -c "grep -i '^set-cookie:' '$WORK/post.h' | grep -qi 'secure'"
same "the signed-in dashboard opens" "$("${C[@]}" --interface 127.0.0.2 -b "$jar" -o /dev/null -w '%{http_code}' "$BASE/admin")" "200"
same "the audit row has the address nginx saw, not the forged one" \
    "$(sql "$DB" "SELECT ip FROM audit_log WHERE action = 'auth.login' ORDER BY id DESC LIMIT 1")" "127.0.0.2"

# Security headers: each exactly once; pages no-store, static files cached for long.
count_h() { grep -ci "^$2:" "$1" || true; }
for h in strict-transport-security content-security-policy x-content-type-options x-frame-options referrer-policy cache-control; do
    same "page header $h once" "$(count_h "$WORK/login.h" "$h")" "1"
done
check "pages are no-store" bash -c "grep -i '^cache-control:' '$WORK/login.h' | grep -q 'no-store'"
asset="$(grep -o '/static/[^"]*\.css' "$WORK/login.html" | head -n 1)"
"${C[@]}" -D "$WORK/static.h" -o /dev/null "$BASE$asset"
check "static file $asset is served" grep -qi '^HTTP/[0-9.]* 200' "$WORK/static.h"
check "static files are cached for long" bash -c "grep -i '^cache-control:' '$WORK/static.h' | grep -q 'max-age=31536000'"
same "static header strict-transport-security once" "$(count_h "$WORK/static.h" strict-transport-security)" "1"

# A large upload is refused by nginx before it reaches the program.
head -c 2000000 /dev/zero >"$WORK/big"
same "a 2 MB upload gets 413" \
    "$("${C[@]}" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/big" "$BASE/admin/settings")" "413"

# The login rate limit (10/min, burst 10) answers 429 on a burst, from its own address.
codes=""
for _ in $(seq 1 16); do
    codes="$codes $("${C[@]}" --interface 127.0.0.5 -o /dev/null -w '%{http_code}' "$BASE/login")"
done
check "login burst: the first answers are 200 ($codes)" bash -c "[[ '$codes' == ' 200 200 200 200 200'* ]]"
check "login burst: then 429 ($codes)" bash -c "[[ '$codes' == *' 429' ]]"

# Cloudflare variant: a made-up "Cloudflare" range (127.0.0.3/32) written by the refresh
# script, so that loopback can play Cloudflare.
stop_nginx
cp "$ROOT/nginx/omie-tenant-manager-cloudflare.conf" "$N/cloudflare.conf"
printf '127.0.0.3/32\n198.18.0.0/15\n198.51.100.0/24\n192.0.2.0/24\n2001:db8::/32\n' >"$N/ranges"
check "refresh-cloudflare-ips rewrites the ranges" bash -c "RANGES_FILE='$N/ranges' NO_RELOAD=1 '$ROOT/nginx/refresh-cloudflare-ips.sh' '$N/cloudflare.conf' >/dev/null && grep -q '^set_real_ip_from 127.0.0.3/32;' '$N/cloudflare.conf' && ! grep -q '173.245.48.0' '$N/cloudflare.conf'"
site | sed 's/# include /include /' >"$N/site.conf"
start_nginx
failed_login_from() { # source-address cf-connecting-ip
    local j="$WORK/cf-$1.jar" t
    t="$("${C[@]}" --interface "$1" -c "$j" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1)"
    "${C[@]}" --interface "$1" -b "$j" -o /dev/null -H "CF-Connecting-IP: $2" -H "Origin: $BASE" \
        --data-urlencode "csrf_token=$t" --data-urlencode "email=$OWNER_EMAIL" \
        --data-urlencode "password=wrong password" "$BASE/login"
    sql "$DB" "SELECT ip FROM audit_log WHERE action = 'auth.login_failed' ORDER BY id DESC LIMIT 1"
}
same "Cloudflare: CF-Connecting-IP believed from a Cloudflare address" "$(failed_login_from 127.0.0.3 198.51.100.7)" "198.51.100.7"
same "Cloudflare: CF-Connecting-IP ignored from any other address" "$(failed_login_from 127.0.0.4 198.51.100.8)" "127.0.0.4"
stop_nginx

echo "deploy checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
