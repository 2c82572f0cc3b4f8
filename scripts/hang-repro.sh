#!/usr/bin/env bash
# Reproduction loop for issue 9 (a test that hung forever now and then):
# runs one integration-test binary over and over on a machine kept busy by
# stress-ng, each run under a timeout, and keeps the log of every run that
# did not finish. Bounded: RUNS iterations, each at most LIMIT seconds.
#
#   scripts/hang-repro.sh [test-binary-name] [filter]
#   RUNS=120 LIMIT=45 STRESS=1 scripts/hang-repro.sh foundation
#
# With PREQ_TEST_DIAG=N the harness prints pool and thread state after N
# seconds, and statement-level logs (RUST_LOG) to stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/preqstation-target}"
NAME="${1:-foundation}"
FILTER="${2:-}"
RUNS="${RUNS:-120}"
LIMIT="${LIMIT:-45}"
OUT="${OUT:-$(mktemp -d)}"

EXE="$(cargo test -p server --features app/ssr --test "$NAME" --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$NAME" | tail -1)"
[ -x "$EXE" ] || { echo "no test binary for $NAME"; exit 1; }
# A private copy, so a rebuild during the loop cannot change what runs.
cp "$EXE" "$OUT/$NAME.test"
EXE="$OUT/$NAME.test"

STRESS_PID=
if [ "${STRESS:-1}" = 1 ]; then
    if ! command -v stress-ng >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null
    fi
    # Bounded: stress-ng stops by itself after RUNS * LIMIT seconds at most.
    stress-ng --cpu 2 --io 1 --vm 1 --vm-bytes 2G --timeout "$(( RUNS * LIMIT ))s" >/dev/null 2>&1 &
    STRESS_PID=$!
    trap 'kill $STRESS_PID 2>/dev/null || true' EXIT
fi

hung=0; failed=0
for i in $(seq 1 "$RUNS"); do
    set +e
    timeout -k 5 "$LIMIT" "$EXE" $FILTER >"$OUT/run-$i.log" 2>&1
    rc=$?
    set -e
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        hung=$((hung + 1)); echo "run $i: HUNG (log: $OUT/run-$i.log)"
    elif [ "$rc" != 0 ]; then
        failed=$((failed + 1)); echo "run $i: failed rc=$rc (log: $OUT/run-$i.log)"
    else
        rm -f "$OUT/run-$i.log"
    fi
done
echo "$RUNS runs of $NAME${FILTER:+ ($FILTER)}: $hung hung, $failed failed (logs in $OUT)"
[ "$hung" = 0 ] && [ "$failed" = 0 ]
