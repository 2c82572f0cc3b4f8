#!/usr/bin/env bash
# What the dashboard weighs (issue 16): the bytes a browser downloads for
# the API Keys page's wasm, JS and CSS, on a first and on a second visit.
# Starts a server on a fresh temporary data directory on loopback, signs up
# the first account, reads the asset URLs from the page, fetches each one
# with curl as a browser would, prints a markdown table and stops the server.
#
#   scripts/bundle-size.sh [--build] [--record] [--site DIR] [--bin PATH] [--port N]
#
# --record also writes the table, dated, into docs/benchmarks.md between the
# `bundle-size:begin` and `bundle-size:end` markers.
#
# --build first runs `build_site release` and `cargo build -p server
# --release`; without it the site (default target/site) and the release
# binary must already be built. Every request has a time limit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../.ci/common.sh"

BUILD=0
RECORD=0
SITE="$SITE_ROOT"
SERVER_BIN="$CARGO_TARGET_DIR/release/preqstation"
PORT=3977
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=1 ;;
        --record) RECORD=1 ;;
        --site) SITE="$2"; shift ;;
        --bin) SERVER_BIN="$2"; shift ;;
        --port) PORT="$2"; shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
SITE="$(cd "$SITE" 2>/dev/null && pwd || echo "$SITE")"

if [ "$BUILD" = 1 ]; then
    SITE_ROOT="$SITE"
    build_site release >&2
    build_server_release >&2
fi
[ -x "$SERVER_BIN" ] || { echo "no server binary at $SERVER_BIN (try --build)" >&2; exit 1; }

BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/data"
SITE_ROOT="$SITE"
export_site_env
PREQSTATION_DATA_DIR="$WORK/data" PREQSTATION_LISTEN="127.0.0.1:$PORT" \
    PREQSTATION_PUBLIC_URL="$BASE" RUST_LOG=warn \
    "$SERVER_BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
    curl -fsS --max-time 1 "$BASE/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -fsS --max-time 2 "$BASE/healthz" >/dev/null

# The first account, through the setup form's server function, so the page
# measured is the API Keys page itself rather than a redirect to sign-in.
PASSWORD="bundle size measurement password"
COOKIE="$(curl -sS --max-time 30 -D - -o /dev/null "$BASE/rpc/setup" \
    -H "Origin: $BASE" -H 'Accept: application/json' \
    --data-urlencode "setup_code=$(cat "$WORK/data/setup-code")" \
    --data-urlencode 'email=admin@example.com' \
    --data-urlencode "password=$PASSWORD" --data-urlencode "confirm=$PASSWORD" \
    | tr -d '\r' | sed -n 's/^set-cookie: \(__Host-session=[^;]*\).*/\1/Ip' | head -1)"
[ -n "$COOKIE" ] || { echo "setup did not sign in" >&2; exit 1; }

curl -sS --max-time 30 -D "$WORK/page.h" -o "$WORK/page.html" -H "Cookie: $COOKIE" \
    -H 'Accept-Encoding: br, gzip' --compressed "$BASE/settings/api-keys"
grep -q '^HTTP/[0-9.]* 200' "$WORK/page.h" || { echo "API Keys page not 200" >&2; exit 1; }
header() { tr -d '\r' <"$1" | sed -n "s/^$2: //Ip" | tail -1; }

mapfile -t ASSETS < <(grep -o '/pkg/[^"]*' "$WORK/page.html" | sort -u)
[ "${#ASSETS[@]}" -gt 0 ] || { echo "no /pkg assets in the page" >&2; exit 1; }

exec 3>&1
exec > >(tee "$WORK/table.md" >&3)
echo "API Keys page (\`GET /settings/api-keys\`): Cache-Control \`$(header "$WORK/page.h" cache-control)\`"
echo
echo "| file | raw bytes | first visit, over the wire (Accept-Encoding: br, gzip) | Content-Encoding | Cache-Control | second visit |"
echo "| --- | ---: | ---: | --- | --- | --- |"
RAW_TOTAL=0 WIRE_TOTAL=0 SECOND_TOTAL=0
for path in "${ASSETS[@]}"; do
    raw="$(curl -sS --max-time 60 -o /dev/null -w '%{size_download}' "$BASE$path")"
    wire="$(curl -sS --max-time 60 -D "$WORK/a.h" -o /dev/null -w '%{size_download}' \
        -H 'Accept-Encoding: br, gzip' "$BASE$path")"
    cache="$(header "$WORK/a.h" cache-control)"
    encoding="$(header "$WORK/a.h" content-encoding)"
    # A second visit: a fresh `immutable` response is used without asking;
    # anything else is asked about again (If-Modified-Since) at best.
    if grep -q 'immutable' <<<"$cache" && grep -q 'max-age=[1-9]' <<<"$cache"; then
        second=0
        second_note="0 B, no request (immutable)"
    else
        since="$(header "$WORK/a.h" last-modified)"
        read -r status second < <(curl -sS --max-time 60 -o /dev/null \
            -w '%{http_code} %{size_download}\n' -H 'Accept-Encoding: br, gzip' \
            ${since:+-H "If-Modified-Since: $since"} "$BASE$path")
        second_note="$second B, a request (HTTP $status)"
    fi
    RAW_TOTAL=$((RAW_TOTAL + raw)) WIRE_TOTAL=$((WIRE_TOTAL + wire)) SECOND_TOTAL=$((SECOND_TOTAL + second))
    echo "| \`${path}\` | $raw | $wire | ${encoding:-none} | \`${cache:-(none)}\` | $second_note |"
done
echo "| **total** | **$RAW_TOTAL** | **$WIRE_TOTAL** | | | **$SECOND_TOTAL B** |"
exec >&3

if [ "$RECORD" = 1 ]; then
    sleep 0.2 # let tee finish writing the table
    python3 - "$ROOT/docs/benchmarks.md" "$WORK/table.md" <<'PY'
import datetime, sys
doc_path, table_path = sys.argv[1], sys.argv[2]
doc = open(doc_path).read()
begin, end = "<!-- bundle-size:begin -->", "<!-- bundle-size:end -->"
if begin not in doc or end not in doc:
    sys.exit("docs/benchmarks.md has no bundle-size markers")
stamp = f"Recorded {datetime.date.today().isoformat()} by `scripts/bundle-size.sh --record`:\n\n"
body = stamp + open(table_path).read().strip() + "\n"
head, rest = doc.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc_path, "w").write(f"{head}{begin}\n{body}{end}{tail}")
PY
    echo "recorded in docs/benchmarks.md" >&2
fi
