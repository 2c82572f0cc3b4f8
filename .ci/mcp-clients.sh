#!/usr/bin/env bash
# Real MCP clients against the real binary (end2end/mcp/clients.py): the
# official MCP Python SDK over streamable HTTP in both protocol generations,
# through a round-robin proxy in front of two instances on one database, and
# `preqstation mcp` over stdio; the Python SDK's OAuth client
# (end2end/mcp/oauth_client.py); and the official TypeScript SDK
# (end2end/mcp/ts_client.mjs): an API key reaching a tool error, and an
# OAuth connection that sends no `state`; and the hosts' own CLIs (Claude
# Code, Codex) reading the configurations /docs/mcp offers
# (end2end/mcp/hosts.py); a task-scoped token from `preqstation tokens
# exchange` with the Python SDK and over stdio (end2end/mcp/task_token.py).
# Called by .ci/test with BIN and PY set.
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
trap 'kill $A ${B:-} ${C:-} 2>/dev/null || true' EXIT
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

S1=0
BASE="$BASE" BACKEND_PORTS="$PORT_A,$PORT_B" PROXY_PORT="$PROXY" TOKEN="$TOKEN" READER_TOKEN="$READER" \
    REVOKED_TOKEN="$REVOKED" PROJECT="$PROJECT" BIN="$BIN" \
    timeout 300 "$PY" end2end/mcp/clients.py | tee "$DIR/clients.out" || S1=$?

# Task-scoped tokens (issue 28): `preqstation tokens exchange`, then the SDK
# with the task token over HTTP (through the proxy) and `preqstation mcp`.
ORCHESTRATOR="$(new_token orchestrator "${DEFAULT[@]}" scope_tokens_delegate)"
new_task() {
    curl -fsS "$RPC_URL/api/tasks" -H "Authorization: Bearer $ORCHESTRATOR" -H 'Content-Type: application/json' \
        -d "{\"project_id\":\"$PROJECT\",\"title\":\"$1\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
S5=0
BASE="$RPC_URL" DELEGATE_TOKEN="$ORCHESTRATOR" TASK="$(new_task 'for a sub-agent')" \
    SECOND_TASK="$(new_task 'for another sub-agent')" BIN="$BIN" \
    timeout 200 "$PY" end2end/mcp/task_token.py | tee "$DIR/task.out" || S5=$?

# OAuth (issue 15): the SDK's OAuth client against a third instance on the
# same database and keyring whose public URL is its own address (the issuer
# and the resource must be the URL the client connects to), which fetches
# client metadata documents from 127.0.0.1 (the test serves one there).
PORT_C=$((PORT_A + 3))
OAUTH_BASE="http://127.0.0.1:$PORT_C"
PREQSTATION_PUBLIC_URL="$OAUTH_BASE" PREQSTATION_LISTEN="127.0.0.1:$PORT_C" \
    PREQSTATION_OAUTH_METADATA_ALLOW_HOSTS=127.0.0.1 "$BIN" serve >"$DIR/c.log" 2>&1 &
C=$!
wait_healthy "$OAUTH_BASE"
OAUTH_COOKIE="$(BASE="$OAUTH_BASE" RPC_URL="$OAUTH_BASE" sign_in mcp@example.com "$PASSWORD")"
S2=0
BASE="$OAUTH_BASE" COOKIE="$OAUTH_COOKIE" EMAIL=mcp@example.com PASSWORD="$PASSWORD" \
    timeout 200 "$PY" end2end/mcp/oauth_client.py \
    | tee "$DIR/oauth.out" || S2=$?

# The TypeScript SDK (npm, pinned in package.json) against the same
# instance: an API key (tool error as a result), then its OAuth client
# provider with no `state`. A checkout whose node_modules predates the pin
# gets it here.
if [ ! -d node_modules/@modelcontextprotocol/sdk ]; then
    npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
S3=0
BASE="$OAUTH_BASE" TOKEN="$TOKEN" PROJECT="$PROJECT" EMAIL=mcp@example.com PASSWORD="$PASSWORD" \
    timeout 200 node end2end/mcp/ts_client.mjs \
    | tee "$DIR/ts.out" || S3=$?

# The hosts' own CLIs (npm, pinned here, installed once outside the
# checkout: they are large and only this stage needs them) read the
# configurations /docs/mcp offers and connect with them (end2end/mcp/hosts.py).
HOSTS="${PREQ_HOSTS_DIR:-$HOME/.cache/preqstation-hosts}"
CLAUDE_CODE=2.1.197
CODEX=0.171.0
if ! "$HOSTS/node_modules/.bin/claude" --version 2>/dev/null | grep -q "^$CLAUDE_CODE " \
    || ! "$HOSTS/node_modules/.bin/codex" --version 2>/dev/null | grep -q " $CODEX$"; then
    mkdir -p "$HOSTS"
    npm install --prefix "$HOSTS" --no-audit --no-fund --loglevel=error --save-exact \
        "@anthropic-ai/claude-code@$CLAUDE_CODE" "@openai/codex@$CODEX" >/dev/null
fi
S4=0
BASE="$OAUTH_BASE" TOKEN="$TOKEN" BIN="$BIN" HOSTS="$HOSTS" \
    timeout 300 "$PY" end2end/mcp/hosts.py | tee "$DIR/hosts.out" || S4=$?

# One line for the summary: every run's checks together; a run that died
# before its own summary line counts as one failure.
count() { sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p" "$2" | tail -1; }
read -r P1 F1 <<<"$(count 'MCP clients' "$DIR/clients.out")"
read -r P2 F2 <<<"$(count 'OAuth client' "$DIR/oauth.out")"
read -r P3 F3 <<<"$(count 'TS SDK client' "$DIR/ts.out")"
read -r P4 F4 <<<"$(count 'Host configs' "$DIR/hosts.out")"
read -r P5 F5 <<<"$(count 'Task token' "$DIR/task.out")"
P=$(( ${P1:-0} + ${P2:-0} + ${P3:-0} + ${P4:-0} + ${P5:-0} ))
F=$(( ${F1:-0} + ${F2:-0} + ${F3:-0} + ${F4:-0} + ${F5:-0} ))
if [ -z "${P1:-}" ] || [ "$S1" != 0 ] && [ "${F1:-0}" = 0 ]; then F=$((F + 1)); fi
if [ -z "${P2:-}" ] || [ "$S2" != 0 ] && [ "${F2:-0}" = 0 ]; then F=$((F + 1)); fi
if [ -z "${P3:-}" ] || [ "$S3" != 0 ] && [ "${F3:-0}" = 0 ]; then F=$((F + 1)); fi
if [ -z "${P4:-}" ] || [ "$S4" != 0 ] && [ "${F4:-0}" = 0 ]; then F=$((F + 1)); fi
if [ -z "${P5:-}" ] || [ "$S5" != 0 ] && [ "${F5:-0}" = 0 ]; then F=$((F + 1)); fi
echo "MCP clients: $P passed, $F failed"
[ "$F" = 0 ]
