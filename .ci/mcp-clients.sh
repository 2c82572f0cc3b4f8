#!/usr/bin/env bash
# Real MCP clients against the real binary (end2end/mcp/clients.py): the
# official MCP Python SDK over streamable HTTP in both protocol generations,
# through a round-robin proxy in front of two instances on one database, and
# `preqstation mcp` over stdio. Called by .ci/test with BIN and PY set.
set -euo pipefail
: "${BIN:?BIN must point at the preqstation binary}"
: "${PY:?PY must be the test venv python}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT_A="${PREQ_MCP_PORT:-3960}"
PORT_B=$((PORT_A + 1))
PROXY=$((PORT_A + 2))
BASE="http://127.0.0.1:$PROXY"
DIR="$(mktemp -d)"
PASSWORD='mcp clients run with a long passphrase'
source .ci/live.sh

export PREQSTATION_DATA_DIR="$DIR" PREQSTATION_PUBLIC_URL="$BASE" RUST_LOG=warn
echo "$PASSWORD" | "$BIN" create-admin --email mcp@example.com >/dev/null
PREQSTATION_LISTEN="127.0.0.1:$PORT_A" "$BIN" serve >"$DIR/a.log" 2>&1 &
A=$!
trap 'kill $A ${B:-} 2>/dev/null || true' EXIT
wait_healthy "http://127.0.0.1:$PORT_A"
# The second instance shares the database and the session key file.
PREQSTATION_LISTEN="127.0.0.1:$PORT_B" "$BIN" serve >"$DIR/b.log" 2>&1 &
B=$!
wait_healthy "http://127.0.0.1:$PORT_B"

export RPC_URL="http://127.0.0.1:$PORT_A"
COOKIE="$(sign_in mcp@example.com "$PASSWORD")"
[ -n "$COOKIE" ] || { echo "mcp clients: could not sign in"; exit 1; }
PROJECT="$(rpc projects/create --data-urlencode name=agents --data-urlencode 'settings=branch = main' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
DEFAULT=(scope_projects_read scope_tasks_read scope_tasks_write scope_worklogs_write)
TOKEN="$(new_token agent "${DEFAULT[@]}")"
READER="$(new_token reader scope_projects_read)"
REVOKED="$(new_token gone "${DEFAULT[@]}")"
REVOKED_ID="$(curl -fsS "$RPC_URL/api/tokens/self" -H "Authorization: Bearer $REVOKED" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
rpc tokens/revoke --data-urlencode "id=$REVOKED_ID" >/dev/null

BASE="$BASE" BACKEND_PORTS="$PORT_A,$PORT_B" PROXY_PORT="$PROXY" TOKEN="$TOKEN" READER_TOKEN="$READER" \
    REVOKED_TOKEN="$REVOKED" PROJECT="$PROJECT" BIN="$BIN" \
    timeout 300 "$PY" end2end/mcp/clients.py
