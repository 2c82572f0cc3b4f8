# Shared by scripts/bench.sh and scripts/profile.sh: the release binary and
# one benchmark server on loopback. Source it after .ci/common.sh with PORT
# and BASE set; it sources .ci/live.sh (sign-in and token helpers).

source "$ROOT/.ci/live.sh"
PASSWORD='the benchmark account passphrase'

# Sets BIN: $BENCH_BIN when given (e.g. a build of an earlier commit, for
# before/after figures from alternating runs), else a fresh release build.
release_bin() {
    if [ -n "${BENCH_BIN:-}" ]; then
        BIN="$BENCH_BIN"
    else
        step "Building the release binary"
        cargo build -p server --release 2>&1 | tail -1
        BIN="$CARGO_TARGET_DIR/release/preqstation"
    fi
}

# Starts the server on a fresh data directory (and DATABASE_URL, empty for
# SQLite) with the rate limits out of the way, signs the first account in
# and makes it a token with every task scope. Sets SERVER (its pid), COOKIE
# and TOKEN.
start_bench_server() { # data_dir database_url
    export PREQSTATION_DATA_DIR="$1" PREQSTATION_PUBLIC_URL="$BASE" PREQSTATION_LISTEN="127.0.0.1:$PORT" \
        PREQSTATION_API_RATE_PER_IP=1000000000 PREQSTATION_API_RATE_PER_TOKEN=1000000000 RUST_LOG=error
    if [ -n "$2" ]; then export DATABASE_URL="$2"; else unset DATABASE_URL; fi
    echo "$PASSWORD" | "$BIN" create-admin --email bench@example.com >/dev/null
    "$BIN" serve >"$1/server.log" 2>&1 &
    SERVER=$!
    wait_healthy "$BASE"
    COOKIE="$(sign_in bench@example.com "$PASSWORD")"
    TOKEN="$(COOKIE="$COOKIE" new_token bench scope_projects_read scope_tasks_read scope_tasks_write)"
}

# A project with 60 tasks, made through the API; prints the project's id.
seed_tasks() {
    local project i
    project="$(COOKIE="$COOKIE" rpc projects/create --data-urlencode name=bench \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    for i in $(seq 1 60); do
        curl -fsS -o /dev/null -X POST "$BASE/api/tasks" -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' -d "{\"project_id\":\"$project\",\"title\":\"task $i\"}"
    done
    echo "$project"
}
