#!/usr/bin/env bash
# Where the hot path spends its time (issue 11): the release binary on
# loopback under `wrk` load on GET /api/auth/whoami, sampled by `perf record`
# (flat: self time by symbol), on SQLite or the local PostgreSQL. Prints the top of the
# flat profile by symbol and by shared object (the server's own threads and,
# on PostgreSQL, the backends' share of the machine), and keeps perf.data.
#
#   scripts/profile.sh [--postgres] [--duration SECONDS] [--connections N] [--path PATH] [--callers]
#
# --path tasks seeds a project with 60 tasks and profiles a page of 50 of them.
#
# --callers also records call graphs (DWARF unwinding, the server process
# only, a lower rate): `perf report -i <perf.data> --children` then says
# which code paths the allocator and the channel wake-ups are called from.
#
# Without perf (some virtual machines refuse its counters) it says so and
# stops: `valgrind --tool=callgrind` on the same binary is the fallback, by
# hand. Every step is bounded; traffic goes to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .ci/common.sh

POSTGRES=0
DURATION=15
CONNS=32
WHAT=/api/auth/whoami
CALLERS=0
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres) POSTGRES=1 ;;
        --duration) DURATION="$2"; shift ;;
        --connections) CONNS="$2"; shift ;;
        --path) WHAT="$2"; shift ;;
        --callers) CALLERS=1 ;;
        *) echo "usage: scripts/profile.sh [--postgres] [--duration S] [--connections N] [--path PATH] [--callers]" >&2; exit 2 ;;
    esac
    shift
done
PG_ADMIN="${BENCH_PG_ADMIN:-postgres://preq_test:preq_test@127.0.0.1:5432/postgres}"
PORT="${BENCH_PORT:-3985}"
BASE="http://127.0.0.1:$PORT"
OUT="$CARGO_TARGET_DIR/profile"

command -v wrk >/dev/null || apt_install wrk
command -v perf >/dev/null || apt_install linux-perf
if ! perf stat -e instructions true >/dev/null 2>&1; then
    echo "perf cannot count on this machine; use valgrind --tool=callgrind instead" >&2
    exit 1
fi

source scripts/bench-server.sh
release_bin
WORK="$(mktemp -d)"
SERVER=""
DB_NAME="preq_profile_$$"
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    [ "$POSTGRES" = 1 ] && timeout 60 psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

url=""
if [ "$POSTGRES" = 1 ]; then
    timeout 60 psql -q "$PG_ADMIN" -c "CREATE DATABASE $DB_NAME" >/dev/null
    url="${PG_ADMIN%/*}/$DB_NAME"
fi
start_bench_server "$WORK" "$url"

if [ "$WHAT" = tasks ]; then
    # A page of 50 of 60 tasks, as bench.sh measures it.
    WHAT="/api/tasks?project_id=$(seed_tasks)&limit=50"
fi

mkdir -p "$OUT"
step "Warming up, then $DURATION s of wrk -c$CONNS on $WHAT under perf record"
timeout 30 wrk -t2 -c"$CONNS" -d3s -H "Authorization: Bearer $TOKEN" "$BASE$WHAT" >/dev/null
timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "$BASE$WHAT" \
    >"$OUT/wrk.txt" &
WRK=$!
sleep 1
# The whole machine (-a): on PostgreSQL the backends' work is part of a
# request's cost too.
if [ "$CALLERS" = 1 ]; then
    timeout $((DURATION + 60)) perf record -F 199 -p "$SERVER" --call-graph dwarf,16384 -o "$OUT/perf.data" \
        -- sleep $((DURATION - 2)) 2>/dev/null
else
    timeout $((DURATION + 30)) perf record -F 499 -a -o "$OUT/perf.data" -- sleep $((DURATION - 2)) 2>/dev/null
fi
wait "$WRK" || true
grep -E 'Requests/sec' "$OUT/wrk.txt"

step "Share of all samples by thread kind and object (the machine's two cores)"
perf report -i "$OUT/perf.data" --no-children --sort comm,dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -14
step "Top symbols of the server process (self time, % of all samples)"
perf report -i "$OUT/perf.data" --no-children --comm tokio-rt-worker,sqlx-sqlite-wor,preqstation --sort comm,dso,symbol \
    --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40
echo
echo "(perf.data: $OUT/perf.data; perf report -i $OUT/perf.data for the rest)"
