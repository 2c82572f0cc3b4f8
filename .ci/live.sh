# Shared by the stages that drive the real binary (schemathesis, MCP
# clients): wait for a server, call its server functions as the dashboard
# does, sign in, create tokens. Source it with BASE (the public URL) set.

wait_healthy() { # url
    for _ in $(seq 1 150); do
        curl -fs "$1/healthz" >/dev/null && return 0
        sleep 0.1
    done
    echo "server at $1 did not come up" >&2
    return 1
}

rpc() { # endpoint, then curl arguments; COOKIE and RPC_URL (default BASE) optional
    local endpoint="$1"
    shift
    curl -fsS -X POST "${RPC_URL:-$BASE}/rpc/$endpoint" -H "Origin: $BASE" -H 'Accept: application/json' \
        ${COOKIE:+-H "Cookie: $COOKIE"} "$@"
}

sign_in() { # email, password; prints the session cookie
    rpc login -D - -o /dev/null --data-urlencode "email=$1" --data-urlencode "password=$2" \
        | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-session=[^;]*\).*/\1/p' | head -1
}

new_token() { # name, then scope form fields (e.g. scope_tasks_read); prints the token
    local name="$1" args=()
    shift
    for s in "$@"; do args+=(-d "$s=on"); done
    rpc tokens/create --data-urlencode "name=$name" --data-urlencode expiry=30 "${args[@]}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
