#!/usr/bin/env bash
# The load benchmark (issue 11): the release binary on loopback, driven by
# wrk, on SQLite and then on the local PostgreSQL, with `pgbench -S` for the
# floor. Prints one table of throughput and ratios (never asserts a time) and,
# with --record, writes it into docs/benchmarks.md between the bench markers.
# Each timed wrk run follows 3 s of the same load, untimed.
#
#   scripts/bench.sh [--record] [--memory] [--tokens] [--pause] [--duration SECONDS] [--connections N]
#
# --tokens measures whoami with 1,000, 100,000 and 1,000,000 tokens stored
# (seeded by SQL, not the API: 1,000 per account, 5 of them active, the rest
# revoked) and draws docs/bench-tokens.svg.
#
# --memory adds two 60-second whoami runs per database (c=32, c=512) and
# samples the server's resident memory at 5, 30 and 60 s of each.
#
# Always, last on each database: P4. The server restarts with /metrics on,
# takes 30 s of whoami, stops cleanly (SIGTERM), and the token_used rows it
# wrote are compared with the authenticated requests it counted
# (api_authenticated_requests_total). --pause stops every PostgreSQL process
# (SIGSTOP) for 10 s in the middle of that run and samples the server's
# memory and audit queue while it is away.
#
# Every loop is bounded in count and time; traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .ci/common.sh

RECORD=0
MEMORY=0
TOKENS=0
PAUSE=0
DURATION=10
CONNS=32
while [ $# -gt 0 ]; do
    case "$1" in
        --record) RECORD=1 ;;
        --memory) MEMORY=1 ;;
        --tokens) TOKENS=1 ;;
        --pause) PAUSE=1 ;;
        --duration) DURATION="$2"; shift ;;
        --connections) CONNS="$2"; shift ;;
        *) echo "usage: scripts/bench.sh [--record] [--memory] [--tokens] [--pause] [--duration S] [--connections N]" >&2; exit 2 ;;
    esac
    shift
done
PG_ADMIN="${BENCH_PG_ADMIN:-postgres://preq_test:preq_test@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-3981}"
METRICS="127.0.0.1:$((PORT + 1))"
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || apt_install wrk
command -v pgbench >/dev/null || apt_install postgresql-15
command -v sqlite3 >/dev/null || apt_install sqlite3
pg_isready -q -h 127.0.0.1 || as_root pg_ctlcluster --skip-systemctl-redirect 15 main start

source scripts/bench-server.sh
release_bin
WORK="$(mktemp -d)"
SERVER=""
# The PostgreSQL processes, stopped (--pause) and continued; cleanup always
# continues them, so an interrupted run never leaves the database stopped.
pg_signal() { pgrep -u postgres | xargs -r kill -"$1"; }
cleanup() {
    [ "$PAUSE" = 1 ] && pg_signal CONT
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

rss_mb() { awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

# wrk: requests/s, p50 and p99 latency (ms) of one endpoint, after 3 s of
# the same load untimed (every endpoint alike: connections opened, caches,
# prepared statements and allocator arenas warm, as in a server that runs).
load() { # path [header]
    local out
    timeout 30 wrk -t2 -c"$CONNS" -d3s ${2:+-H "$2"} "$BASE$1" >/dev/null 2>&1 || true
    out="$(timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency ${2:+-H "$2"} "$BASE$1")"
    local rps p50 p99
    rps="$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    echo "$rps $p50 $p99"
}

# Stores tokens from..to (1,000 per account: 5 active, 995 revoked) straight
# into the database, as a deployment with that history would have them.
seed_tokens() { # name url dir from to
    local name="$1" url="$2" dir="$3" from="$4" to="$5"
    local a_from=$((from / 1000 + 1)) a_to=$((to / 1000))
    local accounts="INSERT INTO accounts (id, email, password_hash, role, created_at, password_changed_at)"
    local tokens="INSERT INTO api_tokens (id, account_id, name, prefix, token_hash, scopes, created_at, expires_at, revoked_at)"
    if [ "$name" = PostgreSQL ]; then
        psql -q "$url" -v ON_ERROR_STOP=1 <<SQL
$accounts SELECT 'seed-a-' || a, 'seed' || a || '@bench.invalid', 'x', 'member', 0, 0
  FROM generate_series($a_from, $a_to) a;
$tokens SELECT 'seed-t-' || t, 'seed-a-' || ((t - 1) / 1000 + 1), 'seed', 'preq_seed000', md5(t::text) || md5((-t)::text),
  'tasks:read', 0, 4102444800000, CASE WHEN t % 1000 < 5 THEN NULL ELSE 1 END
  FROM generate_series($((from + 1)), $to) t;
VACUUM (ANALYZE) api_tokens, accounts;
SQL
    else
        sqlite3 "$dir/preqstation.sqlite" <<SQL
PRAGMA busy_timeout = 30000;
BEGIN;
WITH RECURSIVE s(a) AS (SELECT $a_from UNION ALL SELECT a + 1 FROM s WHERE a < $a_to)
$accounts SELECT 'seed-a-' || a, 'seed' || a || '@bench.invalid', 'x', 'member', 0, 0 FROM s;
WITH RECURSIVE s(t) AS (SELECT $((from + 1)) UNION ALL SELECT t + 1 FROM s WHERE t < $to)
$tokens SELECT 'seed-t-' || t, 'seed-a-' || ((t - 1) / 1000 + 1), 'seed', 'preq_seed000', printf('%064x', t),
  'tasks:read', 0, 4102444800000, CASE WHEN t % 1000 < 5 THEN NULL ELSE 1 END FROM s;
COMMIT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
    fi
    # The seeding's own after-effects are done above, not left to the timed
    # run: on SQLite its WAL (hundreds of MB, which the server's next commit
    # would checkpoint mid-measurement, stalling the audit writer: the p99
    # of 335-425 ms seen at 1,000,000 tokens), on PostgreSQL the vacuum a
    # bulk insert triggers; `load` warms up before it measures.
}

# token_used rows in the benchmark's database.
token_used_rows() { # name url dir
    local sql="SELECT COUNT(*) FROM audit_events WHERE action = 'token_used'"
    if [ "$1" = PostgreSQL ]; then psql -qtA "$2" -c "$sql"; else sqlite3 "$3/preqstation.sqlite" "$sql"; fi
}
metric() { # name: its value on /metrics (0 when absent)
    curl -fsS "http://$METRICS/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2; found=1} END {if (!found) print 0}'
}

# P4 (and the pause): see the header.
count_run() { # name url dir token
    local name="$1" url="$2" dir="$3" token="$4"
    PREQSTATION_METRICS_LISTEN="$METRICS" "$BIN" serve >>"$dir/server.log" 2>&1 &
    SERVER=$!
    wait_healthy "$BASE"
    local before; before="$(token_used_rows "$name" "$url" "$dir")"
    timeout 90 wrk -t2 -c"$CONNS" -d30s --timeout 30s -H "Authorization: Bearer $token" \
        "$BASE/api/auth/whoami" >"$dir/count-run.txt" 2>&1 &
    local w=$!
    if [ "$name" = PostgreSQL ] && [ "$PAUSE" = 1 ]; then
        sleep 10
        local rss0 depth=0 rss_max=0 d r
        rss0="$(rss_mb "$SERVER")"
        pg_signal STOP
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            sleep 1
            d="$(metric audit_queue_depth)"; r="$(rss_mb "$SERVER")"
            [ "$d" -gt "$depth" ] && depth="$d"
            [ "$r" -gt "$rss_max" ] && rss_max="$r"
        done
        pg_signal CONT
        R[$name.pause]="$rss0 / $rss_max / RSS_AFTER; queue depth at most $depth"
    fi
    wait "$w" || true
    local authenticated retries full dropped non2xx
    authenticated="$(metric api_authenticated_requests_total)"
    retries="$(metric audit_write_retries_total)"
    full="$(metric audit_queue_full_total)"
    dropped="$(metric audit_events_dropped_total)"
    non2xx="$(awk '/Non-2xx/ {print $NF}' "$dir/count-run.txt")"
    R[$name.pause]="${R[$name.pause]:-}"; R[$name.pause]="${R[$name.pause]/RSS_AFTER/$(rss_mb "$SERVER")}"
    kill -TERM "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
    local written=$(( $(token_used_rows "$name" "$url" "$dir") - before ))
    R[$name.p4]="$authenticated / $written / $((authenticated - written))"
    R[$name.p4_detail]="${non2xx:-0} non-2xx, $retries write retries, $full refused for a full queue, $dropped dropped"
}

declare -A R
bench_backend() { # name database_url
    local name="$1" url="$2"
    step "Benchmarking on $name"
    local dir="$WORK/$name"
    mkdir -p "$dir"
    start_bench_server "$dir" "$url"
    R[$name.idle_rss]="$(rss_mb "$SERVER")"
    local token="$TOKEN" project
    project="$(seed_tasks)"
    read -r R[$name.healthz] R[$name.healthz_p50] R[$name.healthz_p99] <<<"$(load /healthz)"
    read -r R[$name.whoami] R[$name.whoami_p50] R[$name.whoami_p99] \
        <<<"$(load /api/auth/whoami "Authorization: Bearer $token")"
    R[$name.rss_after]="$(rss_mb "$SERVER")"
    read -r R[$name.tasks] R[$name.tasks_p50] R[$name.tasks_p99] \
        <<<"$(load "/api/tasks?project_id=$project&limit=50" "Authorization: Bearer $token")"
    # A token with a usage limit pays one conditional write per call.
    # (A build from before usage limits has none: the row says "-".)
    local limited
    limited="$(COOKIE="$COOKIE" rpc tokens/create --data-urlencode name=limited --data-urlencode expiry=30 \
        -d scope_tasks_read=on -d usage_limit=1000000000 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' 2>/dev/null || true)"
    if [ -n "$limited" ]; then
        read -r R[$name.limited] R[$name.limited_p50] R[$name.limited_p99] \
            <<<"$(load /api/auth/whoami "Authorization: Bearer $limited")"
    else
        R[$name.limited]="-"; R[$name.limited_p99]="-"
    fi
    if [ "$TOKENS" = 1 ]; then
        local have=0
        for n in 1000 100000 1000000; do
            seed_tokens "$name" "$url" "$dir" "$have" "$n"
            have="$n"
            read -r R[$name.tok$n] R[$name.tok${n}_p50] R[$name.tok${n}_p99] \
                <<<"$(load /api/auth/whoami "Authorization: Bearer $token")"
        done
    fi
    if [ "$MEMORY" = 1 ]; then
        # Memory under sustained load: 60 s of whoami at c=32, then at c=512;
        # resident memory sampled at 5, 30 and 60 s of each run.
        for c in 32 512; do
            timeout 90 wrk -t2 -c"$c" -d60s -H "Authorization: Bearer $token" "$BASE/api/auth/whoami" \
                >/dev/null 2>&1 &
            local w=$! samples=""
            for t in 5 25 30; do
                sleep "$t"
                samples="$samples $(rss_mb "$SERVER")"
            done
            wait "$w" || true
            read -r a b c2 <<<"$samples"
            R[$name.mem$c]="$a / $b / $c2"
        done
    fi
    kill -TERM "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
    count_run "$name" "$url" "$dir" "$token"
}

bench_backend SQLite ""
psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS preq_bench" -c "CREATE DATABASE preq_bench"
bench_backend PostgreSQL "${PG_ADMIN%/*}/preq_bench"
psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS preq_bench"

step "pgbench -S (the floor: one indexed read per transaction)"
psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS preq_pgbench" -c "CREATE DATABASE preq_pgbench"
PGBENCH_URL="${PG_ADMIN%/*}/preq_pgbench"
pgbench -q -i -s 10 "$PGBENCH_URL" >/dev/null 2>&1
PGBENCH="$(timeout $((DURATION + 30)) pgbench -S -c"$CONNS" -j2 -T"$DURATION" "$PGBENCH_URL" 2>/dev/null \
    | awk '/^tps/ {printf "%d", $3}')"
psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS preq_pgbench"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
CPU="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
TABLE="$(cat <<EOF
Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($CPU), $(awk '/MemTotal/ {printf "%d GiB", $2/1048576}' /proc/meminfo) RAM: \`wrk -t2 -c$CONNS -d${DURATION}s\` on loopback, release build, rate limits out of the way.

| | SQLite | PostgreSQL 15 |
|---|---|---|
| \`GET /healthz\` (req/s) | ${R[SQLite.healthz]} | ${R[PostgreSQL.healthz]} |
| \`GET /api/auth/whoami\` (req/s) | ${R[SQLite.whoami]} | ${R[PostgreSQL.whoami]} |
| whoami / healthz (P1: ≥ 0.5 SQLite, ≥ 0.4 PostgreSQL) | $(ratio "${R[SQLite.whoami]}" "${R[SQLite.healthz]}") | $(ratio "${R[PostgreSQL.whoami]}" "${R[PostgreSQL.healthz]}") |
| \`pgbench -S\`, same clients (tps) | | $PGBENCH |
| whoami / pgbench -S (P1b: ≥ 0.5) | | $(ratio "${R[PostgreSQL.whoami]}" "$PGBENCH") |
| whoami with a usage limit (req/s; p99 ms) | ${R[SQLite.limited]} (${R[SQLite.limited_p99]}) | ${R[PostgreSQL.limited]} (${R[PostgreSQL.limited_p99]}) |
| limited / unlimited whoami | $(ratio "${R[SQLite.limited]}" "${R[SQLite.whoami]}") | $(ratio "${R[PostgreSQL.limited]}" "${R[PostgreSQL.whoami]}") |
| \`GET /api/tasks\`, page of 50 (req/s) | ${R[SQLite.tasks]} | ${R[PostgreSQL.tasks]} |
| tasks / healthz (P3: ≥ 0.3) | $(ratio "${R[SQLite.tasks]}" "${R[SQLite.healthz]}") | $(ratio "${R[PostgreSQL.tasks]}" "${R[PostgreSQL.healthz]}") |
| whoami latency p50 / p99 (P5) | ${R[SQLite.whoami_p50]} / ${R[SQLite.whoami_p99]} | ${R[PostgreSQL.whoami_p50]} / ${R[PostgreSQL.whoami_p99]} |
| RSS idle after start / after the whoami run (MB) | ${R[SQLite.idle_rss]} / ${R[SQLite.rss_after]} | ${R[PostgreSQL.idle_rss]} / ${R[PostgreSQL.rss_after]} |
$( [ "$TOKENS" = 1 ] && for n in 1000 100000 1000000; do echo "| whoami with $n tokens stored: req/s (p99) | ${R[SQLite.tok$n]} (${R[SQLite.tok${n}_p99]}) | ${R[PostgreSQL.tok$n]} (${R[PostgreSQL.tok${n}_p99]}) |"; done )
$( [ "$TOKENS" = 1 ] && echo "| P2: with 1,000,000 / with 1,000 (≥ 0.9) | $(ratio "${R[SQLite.tok1000000]}" "${R[SQLite.tok1000]}") | $(ratio "${R[PostgreSQL.tok1000000]}" "${R[PostgreSQL.tok1000]}") |" )
$( [ "$MEMORY" = 1 ] && echo "| RSS at 5 / 30 / 60 s of whoami, c=32 (MB) | ${R[SQLite.mem32]} | ${R[PostgreSQL.mem32]} |" )
$( [ "$MEMORY" = 1 ] && echo "| RSS at 5 / 30 / 60 s of whoami, c=512 (MB) | ${R[SQLite.mem512]} | ${R[PostgreSQL.mem512]} |" )
| P4, 30 s of whoami then SIGTERM: authenticated (\`/metrics\`) / \`token_used\` rows written / lost | ${R[SQLite.p4]} | ${R[PostgreSQL.p4]} |
| P4 run: refusals and writer retries | ${R[SQLite.p4_detail]} | ${R[PostgreSQL.p4_detail]} |
$( [ "$PAUSE" = 1 ] && echo "| PostgreSQL stopped 10 s mid-run: RSS before / during (max) / after (MB) | | ${R[PostgreSQL.pause]} |" )
EOF
)"
echo
echo "$TABLE"
if [ "$TOKENS" = 1 ]; then
    python3 - docs/bench-tokens.svg \
        "${R[SQLite.tok1000]} ${R[SQLite.tok100000]} ${R[SQLite.tok1000000]}" \
        "${R[PostgreSQL.tok1000]} ${R[PostgreSQL.tok100000]} ${R[PostgreSQL.tok1000000]}" \
        "${R[SQLite.tok1000_p99]} ${R[SQLite.tok100000_p99]} ${R[SQLite.tok1000000_p99]}" \
        "${R[PostgreSQL.tok1000_p99]} ${R[PostgreSQL.tok100000_p99]} ${R[PostgreSQL.tok1000000_p99]}" <<'PY'
import sys
path, sq, pg, sq99, pg99 = sys.argv[1:6]
sq = [float(x) for x in sq.split()]; pg = [float(x) for x in pg.split()]
sq99 = sq99.split(); pg99 = pg99.split()
W, H, L, T, B = 560, 300, 70, 30, 50
xs = [L + i * (W - L - 40) / 2 for i in range(3)]
top = max(sq + pg) * 1.15
y = lambda v: T + (H - T - B) * (1 - v / top)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<text x="{W/2}" y="18" text-anchor="middle">whoami req/s (and p99) against tokens stored</text>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-20}" y2="{H-B}" stroke="#333"/><line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="#333"/>']
for i, lbl in enumerate(["1,000", "100,000", "1,000,000"]):
    out.append(f'<text x="{xs[i]}" y="{H-B+18}" text-anchor="middle">{lbl}</text>')
for k in range(5):
    v = top * k / 5
    out.append(f'<text x="{L-6}" y="{y(v)+4}" text-anchor="end">{int(v)}</text>')
for vals, p99, color, name in [(sq, sq99, "#4338ca", "SQLite"), (pg, pg99, "#b45309", "PostgreSQL")]:
    pts = " ".join(f"{xs[i]},{y(v)}" for i, v in enumerate(vals))
    out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
    for i, v in enumerate(vals):
        out.append(f'<circle cx="{xs[i]}" cy="{y(v)}" r="3" fill="{color}"/>')
        out.append(f'<text x="{xs[i]+6}" y="{y(v)-6}" fill="{color}">{int(v)} ({p99[i]})</text>')
    ly = T + 10 + (0 if name == "SQLite" else 16)
    out.append(f'<text x="{W-30}" y="{ly}" text-anchor="end" fill="{color}">{name}</text>')
out.append(f'<text x="{W/2}" y="{H-8}" text-anchor="middle">tokens stored (1,000 per account, 5 active)</text></svg>')
open(path, "w").write("\n".join(out) + "\n")
PY
    echo "(plot written to docs/bench-tokens.svg)"
fi
if [ "$RECORD" = 1 ]; then
    python3 - "$TABLE" <<'PY'
import sys
path = "docs/benchmarks.md"
start, end = "<!-- bench:start -->", "<!-- bench:end -->"
text = open(path).read()
block = f"{start}\n{sys.argv[1]}\n{end}"
if start in text and end in text:
    text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip() + "\n\n## Load: `scripts/bench.sh`\n\n" + block + "\n"
open(path, "w").write(text)
PY
    echo "(written to docs/benchmarks.md)"
fi
