#!/usr/bin/env bash
# Property tests of the REST API: schemathesis (PyPI) reads the live
# server's /api/openapi.json and fires generated requests (valid and
# invalid) with a real token. Passes only with 0 server errors and 0
# responses that violate the document (status codes, content types, bodies).
# Called by .ci/test with BIN set; starts its own server on a fresh data dir.
set -euo pipefail
: "${BIN:?BIN must point at the preqstation binary}"
PORT="${PREQ_ST_PORT:-3940}"
BASE="http://127.0.0.1:$PORT"
DIR="$(mktemp -d)"
PASSWORD='schemathesis runs with a long passphrase'

export PREQSTATION_DATA_DIR="$DIR" PREQSTATION_LISTEN="127.0.0.1:$PORT" PREQSTATION_PUBLIC_URL="$BASE"
# Generated traffic must not trip the limits it is not testing.
export PREQSTATION_API_RATE_PER_IP=1000000 PREQSTATION_API_RATE_PER_TOKEN=1000000 PREQSTATION_API_RATE_VERIFY=1000000
export RUST_LOG=warn

echo "$PASSWORD" | "$BIN" create-admin --email st@example.com >/dev/null
"$BIN" serve >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/live.sh"
wait_healthy "$BASE"
COOKIE="$(sign_in st@example.com "$PASSWORD")"
[ -n "$COOKIE" ] || { echo "schemathesis: could not sign in"; exit 1; }
rpc projects/create --data-urlencode name=schemathesis --data-urlencode 'settings=branch = main' >/dev/null
TOKEN="$(new_token schemathesis scope_projects_read scope_tasks_read scope_tasks_write scope_worklogs_write scope_tokens_rotate_self)"

# DELETE /api/tokens/self would revoke the token mid-run; its behaviour is
# covered by the Rust integration tests.
st --config-file "$(dirname "${BASH_SOURCE[0]}")/schemathesis.toml" run "$BASE/api/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --exclude-method DELETE \
    --max-examples "${ST_EXAMPLES:-25}" \
    --seed "${ST_SEED:-20261122}" \
    --no-color
