#!/usr/bin/env bash
# Client IPs behind real reverse proxies: the real binary behind Debian's
# Caddy and nginx, each configured as docs/deployment.md shows (on plain http
# on loopback: Caddy with `auto_https off` and `admin off`), trusting exactly
# the proxy's address (127.0.0.1). The client connects from 127.0.0.5 and
# sends spoofed `Forwarded`, `X-Forwarded-For` and `X-Real-IP` headers, a
# different address on every request; the server must see 127.0.0.5: the
# per-IP limit refuses it after the configured rate while another client
# (127.0.0.6) still gets through, and the audit log names only those two.
# Called by .ci/test with BIN set; prints `proxy tests: P passed, F failed`.
#
# PREQ_PROXY_HEADER overrides the header the server reads (default
# x-forwarded-for, what both proxies write): `forwarded` shows the failure a
# server reading a header the proxy does not control has (the old behaviour,
# which preferred `Forwarded` whenever a request carried one).
set -euo pipefail
: "${BIN:?BIN must point at the preqstation binary}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${PREQ_PROXY_PORT:-3970}"
PROXY_PORT=$((PORT + 1))
BASE="http://127.0.0.1:$PROXY_PORT"
HEADER="${PREQ_PROXY_HEADER:-x-forwarded-for}"
CLIENT=127.0.0.5
OTHER=127.0.0.6
RATE=5
DIR="$(mktemp -d)"
PASSED=0
FAILED=0
SERVER=""
PROXY=""

stop() { # pid: ends it and waits (the server flushes its audit queue on SIGTERM)
    if [ -n "${1:-}" ]; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
SUMMARY=""
finish() {
    stop "$PROXY"
    stop "$SERVER"
    # A run cut short (a server or proxy that did not come up) still ends
    # with a summary line, counting the interruption as a failure.
    if [ -z "$SUMMARY" ]; then
        echo "proxy tests: $PASSED passed, $((FAILED + 1)) failed (interrupted: logs in $DIR)"
    else
        rm -rf "$DIR"
    fi
}
trap finish EXIT

check() { # description, expected, actual
    if [ "$2" = "$3" ]; then
        PASSED=$((PASSED + 1))
        echo "  ok: $1"
    else
        FAILED=$((FAILED + 1))
        echo "  FAILED: $1: expected $2, got $3"
    fi
}

wait_for() { # url
    for _ in $(seq 1 150); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "nothing answered at $1" >&2
    return 1
}

# An anonymous whoami through the proxy from `source`, with every forwarding
# header spoofed as `fake`; prints the status (401 expected, 429 when limited).
whoami() { # source address, fake address
    curl -s -o /dev/null -w '%{http_code}' --interface "$1" "$BASE/api/auth/whoami" \
        -H "Forwarded: for=$2;proto=https" -H "X-Forwarded-For: $2" -H "X-Real-IP: $2" || true
}

start_server() { # data directory
    PREQSTATION_DATA_DIR="$1" PREQSTATION_LISTEN="127.0.0.1:$PORT" PREQSTATION_PUBLIC_URL="$BASE" \
        PREQSTATION_TRUST_PROXY=127.0.0.1 PREQSTATION_TRUST_PROXY_HEADER="$HEADER" \
        PREQSTATION_API_RATE_PER_IP="$RATE" RUST_LOG=warn "$BIN" serve >"$1.log" 2>&1 &
    SERVER=$!
    wait_for "http://127.0.0.1:$PORT/healthz"
}

start_caddy() {
    mkdir -p "$DIR/caddy"
    cat >"$DIR/caddy/Caddyfile" <<EOF
{
    auto_https off
    admin off
}

http://127.0.0.1:$PROXY_PORT {
    bind 127.0.0.1
    reverse_proxy 127.0.0.1:$PORT
}
EOF
    XDG_DATA_HOME="$DIR/caddy" XDG_CONFIG_HOME="$DIR/caddy" HOME="$DIR/caddy" \
        caddy run --config "$DIR/caddy/Caddyfile" --adapter caddyfile >"$DIR/caddy/caddy.log" 2>&1 &
    PROXY=$!
}

start_nginx() {
    local d="$DIR/nginx"
    mkdir -p "$d/tmp"
    cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:$PROXY_PORT;
        location / {
            proxy_pass http://127.0.0.1:$PORT;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_buffering off;
        }
    }
}
EOF
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/nginx.log" 2>&1 &
    PROXY=$!
}

audit_ips() { # database, action: the distinct IPs of that action's entries
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT DISTINCT ip FROM audit_events WHERE action = ? ORDER BY ip", (sys.argv[2],)
).fetchall()
print(" ".join(str(r[0]) for r in rows) or "none")
PY
}

audit_rows() { # database, action, ip
    python3 - "$1" "$2" "$3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute(
    "SELECT COUNT(*) FROM audit_events WHERE action = ? AND ip = ?", (sys.argv[2], sys.argv[3])
).fetchone()[0])
PY
}

behind() { # proxy name (caddy or nginx)
    local name="$1" data="$DIR/data-$1" statuses="" i
    echo "Behind $name ($( [ "$name" = caddy ] && caddy version | cut -d' ' -f1 || nginx -v 2>&1 | cut -d/ -f2)), reading $HEADER"
    start_server "$data"
    "start_$name"
    wait_for "$BASE/healthz"
    # The per-IP rate, then one more: each with another spoofed address.
    for i in $(seq 1 $((RATE + 1))); do
        statuses="$statuses $(whoami "$CLIENT" "198.51.100.$i")"
    done
    check "$name: spoofed headers change nothing, the $((RATE + 1))th request is limited" \
        "$(printf ' 401%.0s' $(seq 1 "$RATE")) 429" "$statuses"
    # Not a limit on the proxy: another client behind it gets through.
    check "$name: another client ($OTHER) has its own budget" 401 "$(whoami "$OTHER" 198.51.100.1)"
    # A client spoofing the limited client's address is still itself.
    check "$name: spoofing $CLIENT's address does not borrow its limit" 401 \
        "$(whoami 127.0.0.7 "$CLIENT")"
    stop "$PROXY"
    PROXY=""
    stop "$SERVER"
    SERVER=""
    local db="$data/preqstation.sqlite"
    check "$name: audit entries of failed authentication name the connecting clients" \
        "$CLIENT $OTHER 127.0.0.7" "$(audit_ips "$db" auth_failed)"
    check "$name: the refusal is audited under $CLIENT" "$CLIENT" "$(audit_ips "$db" rate_limited)"
    # Anonymous noise from one address is aggregated: one entry for the
    # first failure and one counting the repeats, not one per request.
    check "$name: $RATE failures from $CLIENT aggregate into 2 audit rows" 2 \
        "$(audit_rows "$db" auth_failed "$CLIENT")"
}

for tool in caddy nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (.ci/test installs it)"; exit 1; }
done
behind caddy
behind nginx
SUMMARY="proxy tests: $PASSED passed, $FAILED failed"
echo "$SUMMARY"
[ "$FAILED" = 0 ]
