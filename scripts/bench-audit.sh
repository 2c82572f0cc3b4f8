#!/usr/bin/env bash
# The audit page on 10 million rows (issue 11, Operations): seeds audit_events
# on a fresh PostgreSQL database straight from SQL (not the API), then times
# the audit page's query for a handful of filters, first page and the next
# keyset page, and prints one table (never asserts a time); then the token
# page's queries on the same log. Full plans go to
# target/bench-audit/plans.txt; docs/benchmarks.md ("Audit log with 10 million
# rows") has the recorded run and its plans.
#
#   scripts/bench-audit.sh [--rows N] [--no-old]
#
# The queries are the SQL that app/src/audit/query.rs builds (its unit test
# pins the text; new_sql below follows the same rules), prepared with their
# parameters, run 6 times, then measured by EXPLAIN (ANALYZE, BUFFERS)
# EXECUTE. PostgreSQL plans a kept prepared statement for its values the first
# five times and may then switch to one generic plan for all values; so the
# old static statement (`$1 = '' OR ...`, kept prepared by sqlx) is measured
# with plan_cache_mode = auto (what the server got after the sixth run) and
# force_generic_plan. The new SQL is not kept prepared (`persistent(false)`:
# an unnamed statement, planned for its values every time), measured with
# force_custom_plan (what the server gets) and force_generic_plan (the worst
# case, should an operator force generic plans). Without --no-old the old
# statement runs first, on the schema before
# migrations/20261202000001_audit_page_indexes.sql; then that migration is
# applied (its build time is printed) and the new SQL runs.
#
# Needs about 6 GB on the database's disk; refuses under 10 GB free. The
# database is dropped on exit; every step is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .ci/common.sh

ROWS=10000000
OLD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift ;;
        --no-old) OLD=0 ;;
        *) echo "usage: scripts/bench-audit.sh [--rows N] [--no-old]" >&2; exit 2 ;;
    esac
    shift
done
PG_ADMIN="${BENCH_PG_ADMIN:-postgres://preq_test:preq_test@127.0.0.1:5432/postgres}"
DB_NAME=preq_bench_audit
URL="${PG_ADMIN%/*}/$DB_NAME"
OUT="$ROOT/target/bench-audit"
NEW_MIGRATION=migrations/20261202000001_audit_page_indexes.sql

command -v psql >/dev/null || apt_install postgresql-client-15
pg_isready -q -h 127.0.0.1 || as_root pg_ctlcluster --skip-systemctl-redirect 15 main start

# Free disk where PostgreSQL keeps its data (the table and its indexes take
# about 5 GB at 10 million rows, WAL and the index builds more for a while).
data_dir=/var/lib/postgresql
[ -d "$data_dir" ] || data_dir=/
avail_gb=$(( $(df --output=avail -k "$data_dir" | tail -1 | tr -d ' ') / 1024 / 1024 ))
need_gb=$(( 10 * ROWS / 10000000 ))
[ "$need_gb" -lt 1 ] && need_gb=1
if [ "$avail_gb" -lt "$need_gb" ]; then
    echo "only $avail_gb GB free on $data_dir's disk; the benchmark wants $need_gb GB" >&2
    exit 1
fi
step "$avail_gb GB free on $data_dir's disk"

STATEMENT_TIMEOUT="${BENCH_STATEMENT_TIMEOUT:-20}"
# BENCH_AUDIT_KEEP=1 leaves the database for a look by hand (drop it after).
drop_db() { [ "${BENCH_AUDIT_KEEP:-0}" = 1 ] && return; timeout 120 psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true; }
trap drop_db EXIT
BENCH_AUDIT_KEEP=0 drop_db
timeout 60 psql -q "$PG_ADMIN" -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB_NAME"
mkdir -p "$OUT"
: >"$OUT/plans.txt"
sql() { timeout "${TIMEOUT:-600}" psql -qAtX "$URL" -v ON_ERROR_STOP=1 "$@"; }

step "Applying the migrations (psql, in order)"
for f in migrations/*.sql; do
    [ "$OLD" = 1 ] && [ "$f" = "$NEW_MIGRATION" ] && continue
    sql -f "$f" >/dev/null
done

# ~1,000 accounts of uneven size (account k gets about 1/(2 sqrt(1000 k)) of
# the rows: seed-a-1, the busiest, about 3 %, seed-a-500 0.07 %), 5 tokens
# each; 90 days ending 2026-12-02, `at` rising with `seq`. Actions: 96 %
# token_used, 3 % auth_failed (half of them anonymous, no account or token),
# 0.5 % access_denied, 0.4 % login_succeeded, 0.03 % rate_limited, 0.06 %
# token_created/revoked, 0.01 % token_reuse_detected; security = the
# failures and misuse, 3.5 %. Hashes are filler (verify is not measured).
T_END=$(( $(date -u -d 2026-12-03 +%s) * 1000 ))
T0=$(( T_END - 90 * 86400000 ))
step "Seeding $ROWS audit events"
start=$(date +%s)
TIMEOUT=3600 sql <<SQL
INSERT INTO accounts (id, email, password_hash, role, created_at, password_changed_at)
SELECT 'seed-a-' || a, 'seed' || a || '@bench.invalid', 'x', CASE WHEN a = 1 THEN 'admin' ELSE 'member' END, 0, 0
  FROM generate_series(1, 1000) a;
-- Plain indexes are built after the load (much faster than row by row).
CREATE TEMP TABLE saved_indexes AS
  SELECT indexname, indexdef FROM pg_indexes i
   WHERE tablename = 'audit_events' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
DO \$\$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM saved_indexes LOOP EXECUTE 'DROP INDEX ' || quote_ident(r.indexname); END LOOP;
END \$\$;
SET synchronous_commit = off;
SELECT setseed(0.42);
INSERT INTO audit_events (seq, id, at, account_id, actor_kind, actor, action, target, outcome, ip, user_agent,
                          request_id, token_prefix, details, security, prev_hash, hash, key_id)
SELECT g, 'seed-e-' || g, $T0 + (g - 1) * (90 * 86400000::bigint) / $ROWS,
       CASE WHEN anon THEN NULL ELSE 'seed-a-' || acct END,
       CASE WHEN anon THEN 'anonymous' WHEN action = 'login_succeeded' THEN 'account' ELSE 'token' END,
       CASE WHEN anon OR action = 'login_succeeded' THEN NULL ELSE tok END,
       action, NULL,
       CASE WHEN sec = 1 THEN 'failure' ELSE 'success' END,
       '10.' || (acct % 250) || '.' || tk || '.7', 'preq-cli/1.4 (bench)', 'req-' || g,
       CASE WHEN anon OR action = 'login_succeeded' THEN NULL ELSE tok END,
       '{"method":"GET","path":"/api/auth/whoami"}', sec,
       lpad(to_hex(g - 1), 64, '0'), lpad(to_hex(g), 64, '0'), 'k1'
  FROM (SELECT g, r, acct, tk, 'preq_' || substr(md5('seed-a-' || acct || '-' || tk), 1, 7) AS tok,
               CASE WHEN r < 0.0001 THEN 'token_reuse_detected' WHEN r < 0.0004 THEN 'rate_limited'
                    WHEN r < 0.0304 THEN 'auth_failed' WHEN r < 0.0354 THEN 'access_denied'
                    WHEN r < 0.0394 THEN 'login_succeeded' WHEN r < 0.0397 THEN 'token_created'
                    WHEN r < 0.0400 THEN 'token_revoked' ELSE 'token_used' END AS action,
               CASE WHEN r < 0.0354 THEN 1 ELSE 0 END AS sec,
               r >= 0.0004 AND r < 0.0304 AND r2 < 0.5 AS anon
          FROM (SELECT g, random() AS r, random() AS r2, 1 + floor(1000 * power(random(), 2))::int AS acct,
                       floor(random() * 5)::int AS tk
                  FROM generate_series(1, $ROWS) g) raw) s;
UPDATE audit_head SET last_seq = $ROWS, last_hash = lpad(to_hex($ROWS), 64, '0');
SET maintenance_work_mem = '1GB';
DO \$\$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM saved_indexes LOOP EXECUTE r.indexdef; END LOOP;
END \$\$;
VACUUM (ANALYZE) audit_events;
ANALYZE accounts;
SQL
step "Seeded in $(( $(date +%s) - start )) s: $(sql -c "SELECT pg_size_pretty(pg_total_relation_size('audit_events'))") (table and indexes)"
sql -F' ' -c "SELECT 'rows of seed-a-1: ' || count(*) FILTER (WHERE account_id = 'seed-a-1') || ', seed-a-500: ' || count(*) FILTER (WHERE account_id = 'seed-a-500') || ', token_reuse_detected: ' || count(*) FILTER (WHERE action = 'token_reuse_detected') || ', security: ' || count(*) FILTER (WHERE security = 1) FROM audit_events"

SELECT_COLS="SELECT e.seq, e.at, a.email, e.actor_kind, e.actor, e.action, e.target, e.outcome, e.ip, e.user_agent, e.request_id, e.token_prefix, e.details, e.security FROM audit_events e LEFT JOIN accounts a ON a.id = e.account_id"
OLD_SQL="$SELECT_COLS WHERE (\$1 = '' OR e.account_id = \$1) AND (\$2 = '' OR e.action = \$2) AND (\$3 = '' OR substr(e.token_prefix, 1, length(\$3)) = \$3) AND e.at >= \$4 AND e.at < \$5 AND e.seq < \$6 AND (\$8 = 0 OR e.security = 1) ORDER BY e.seq DESC LIMIT \$7"
OLD_TYPES="text, text, text, int8, int8, int8, int8, int8"

# The statement page_sql (app/src/audit/query.rs) builds for these filters,
# with its parameter types and values: sets Q_SQL, Q_TYPES, Q_ARGS.
new_sql() { # account action token from to security(0/1) before
    local where=() types=() args=() n=0
    add() { n=$((n + 1)); where+=("${1//\?/\$$n}"); types+=("$2"); args+=("$3"); }
    [ -n "$1" ] && add "e.account_id = ?" text "'$1'"
    [ -n "$2" ] && add "e.action = ?" text "'$2'"
    if [ -n "$3" ]; then
        if [ "${#3}" -ge 12 ]; then add "e.token_prefix = ?" text "'$3'"
        else add "substr(e.token_prefix, 1, length(?)) = ?" text "'$3'"; fi
    fi
    [ -n "$4" ] && add "e.at >= ?" int8 "$4"
    [ -n "$5" ] && add "e.at < ?" int8 "$5"
    [ "$6" = 1 ] && where+=("e.security = 1")
    [ -n "$7" ] && add "e.seq < ?" int8 "$7"
    local i cond=""
    for i in "${!where[@]}"; do
        if [ "$i" = 0 ]; then cond+=" WHERE ${where[$i]}"; else cond+=" AND ${where[$i]}"; fi
    done
    # range_first(): a bounded range (one account's, or from..to) that ends
    # before the newest entry in scope (below `before`) is read range first.
    local first=0 probe="" newest
    if [ -n "$5" ] && { [ -n "$1" ] || [ -n "$4" ]; }; then
        [ -n "$1" ] && probe=" WHERE account_id = '$1'"
        if [ -n "$7" ]; then
            if [ -n "$probe" ]; then probe+=" AND seq < $7"; else probe=" WHERE seq < $7"; fi
        fi
        newest="$(sql -c "SELECT at FROM audit_events$probe ORDER BY seq DESC LIMIT 1")"
        [ -n "$newest" ] && [ "$newest" -ge "$5" ] && first=1
    fi
    if [ "$first" = 1 ]; then
        Q_SQL="$SELECT_COLS WHERE e.seq IN (SELECT e.seq FROM audit_events e$cond ORDER BY e.seq + 0 DESC LIMIT 51) ORDER BY e.seq DESC"
    else
        Q_SQL="$SELECT_COLS$cond ORDER BY e.seq DESC LIMIT 51"
    fi
    Q_TYPES="$(IFS=,; echo "${types[*]}")"; Q_TYPES="${Q_TYPES//,/, }"
    Q_ARGS="$(IFS=,; echo "${args[*]}")"; Q_ARGS="${Q_ARGS//,/, }"
}
old_sql() { # account action token from to security before
    Q_SQL="$OLD_SQL"
    Q_TYPES="$OLD_TYPES"
    Q_ARGS="'$1', '$2', '$3', ${4:-0}, ${5:-9223372036854775807}, ${7:-9223372036854775807}, 51, $6"
}

# Prepares Q_SQL, runs it 6 times, then EXPLAIN (ANALYZE, BUFFERS) EXECUTE.
# Prints "ms|scan node|generic or custom" (ms: planning + execution).
measure() { # label mode
    local prep="PREPARE q${Q_TYPES:+($Q_TYPES)} AS $Q_SQL" exec="EXECUTE q${Q_ARGS:+($Q_ARGS)}" plan runs=()
    # auto needs the 6 runs to reach its choice; a forced mode one (warm cache).
    if [ "$2" = auto ]; then runs=(-c "$exec" -c "$exec" -c "$exec" -c "$exec" -c "$exec" -c "$exec"); else runs=(-c "$exec"); fi
    plan="$(TIMEOUT=900 sql -c "SET plan_cache_mode = $2" -c "SET statement_timeout = '${STATEMENT_TIMEOUT}s'" \
        -c "$prep" -c '\o /dev/null' "${runs[@]}" -c '\o' -c "EXPLAIN (ANALYZE, BUFFERS) $exec" 2>&1)" || true
    { printf '\n=== %s [%s]\n%s\n%s\n' "$1" "$2" "$prep" "$exec"; echo "$plan"; } >>"$OUT/plans.txt"
    if grep -q 'statement timeout' <<<"$plan"; then echo "> $((STATEMENT_TIMEOUT * 1000))|(cancelled)|"; return; fi
    if grep -q 'ERROR' <<<"$plan"; then echo "error|$(grep -m1 ERROR <<<"$plan")|"; return; fi
    local ms node kind=custom
    ms="$(awk '/Planning Time:|Execution Time:/ {t += $3} END {printf "%.1f", t}' <<<"$plan")"
    node="$(grep -m1 ' on audit_events e' <<<"$plan" | sed -E 's/^ *(-> *)?//; s/  \(cost=.*//; s/ on audit_events e$//')"
    grep -q '^ *Sort  (' <<<"$plan" && node="$node + Sort"
    grep -qE '(Cond|Filter): .*\$[0-9]' <<<"$plan" && kind=generic
    [ -z "$Q_TYPES" ] && kind="-"
    echo "$ms|$node|$kind"
}

# The 50th row's seq of a first page (the next page's `before`); with fewer
# rows (no next page in the app) the last one, so the next query measures
# the scan to the end of the log.
next_before() {
    local prep="PREPARE q${Q_TYPES:+($Q_TYPES)} AS $Q_SQL" exec="EXECUTE q${Q_ARGS:+($Q_ARGS)}"
    sql -F'|' -c "$prep" -c "$exec" | awk -F'|' 'NR <= 50 {s = $1} END {print s}'
}

DAY_FROM=$(( $(date -u -d 2026-10-26 +%s) * 1000 ))
DAY_TO=$(( $(date -u -d 2026-11-02 +%s) * 1000 ))
DAY_FROM1=$(( $(date -u -d 2026-11-01 +%s) * 1000 ))
RECENT_FROM=$(( $(date -u -d 2026-11-26 +%s) * 1000 ))
TODAY=$(( $(date -u -d 2026-12-02 +%s) * 1000 ))
BUSY=seed-a-1
TOKEN="$(sql -c "SELECT token_prefix FROM audit_events WHERE account_id = '$BUSY' AND token_prefix IS NOT NULL ORDER BY seq DESC LIMIT 1")"
OTHER_TOKEN="$(sql -c "SELECT token_prefix FROM audit_events WHERE account_id = 'seed-a-500' AND token_prefix IS NOT NULL ORDER BY seq DESC LIMIT 1")"
# label|account|action|token|from|to|security
CASES=(
    "all accounts, no filter (admin)||||||0"
    "all accounts + token_reuse_detected||token_reuse_detected||||0"
    "all accounts + security only||||||1"
    "all accounts + token prefix (12 chars)|||$OTHER_TOKEN|||0"
    "one account, no filter|$BUSY|||||0"
    "one account + token_used|$BUSY|token_used||||0"
    "one account + token_reuse_detected|$BUSY|token_reuse_detected||||0"
    "one account + security only|$BUSY|||||1"
    "one account + token prefix (12 chars)|$BUSY||$TOKEN|||0"
    "one account + token prefix (8 chars)|$BUSY||${TOKEN:0:8}|||0"
    "one account + 2026-10-26..2026-11-01|$BUSY|||$DAY_FROM|$DAY_TO|0"
    "one account + 2026-11-26..2026-12-02|$BUSY|||$RECENT_FROM|$T_END|0"
    "one account + from 2026-12-02 (today)|$BUSY|||$TODAY||0"
    "all accounts + 2026-10-26..2026-11-01||||$DAY_FROM|$DAY_TO|0"
    "all accounts + 2026-11-01 (one day)||||$DAY_FROM1|$DAY_TO|0"
    "all accounts + 2026-11-26..2026-12-02||||$RECENT_FROM|$T_END|0"
)

declare -A R
run_variant() { # old|new, then the plan_cache_modes to measure
    local v="$1" c label acct action token from to sec before mode
    shift
    for c in "${CASES[@]}"; do
        IFS='|' read -r label acct action token from to sec <<<"$c"
        new_sql "$acct" "$action" "$token" "$from" "$to" "$sec" ""
        before="$(next_before)"
        R[$label.before]="$before"
        for mode in "$@"; do
            "${v}_sql" "$acct" "$action" "$token" "$from" "$to" "$sec" ""
            R[$v.$mode.$label.first]="$(measure "$v: $label, first page" $mode)"
            "${v}_sql" "$acct" "$action" "$token" "$from" "$to" "$sec" "$before"
            R[$v.$mode.$label.next]="$(measure "$v: $label, next page (seq < $before)" $mode)"
        done
        for mode in "$@"; do
            echo "  $v, $mode: $label: ${R[$v.$mode.$label.first]%%|*} / ${R[$v.$mode.$label.next]%%|*} ms"
        done
    done
}

if [ "$OLD" = 1 ]; then
    step "Old query (one static statement), old schema"
    run_variant old auto force_generic_plan
    step "Applying $NEW_MIGRATION"
    start=$(date +%s%N)
    TIMEOUT=1800 sql -c "SET maintenance_work_mem = '256MB'" -f "$NEW_MIGRATION" >/dev/null
    sql -c "ANALYZE audit_events" >/dev/null
    step "Migration took $(( ($(date +%s%N) - start) / 1000000 )) ms on $ROWS rows"
fi
step "New query (only the filters given)"
run_variant new force_custom_plan force_generic_plan
sql -c "SELECT indexrelname || ' ' || pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes WHERE relname = 'audit_events' ORDER BY 1"

field() { cut -d'|' -f"$2" <<<"$1"; }
cell() { echo "$(field "${R[$1.$2.$3.first]}" 1) / $(field "${R[$1.$2.$3.next]}" 1)"; }
step "Audit page on $ROWS rows (PostgreSQL $(sql -c 'SHOW server_version' | cut -d' ' -f1), $(nproc) cores): ms (planning + execution), first page / next page"
# old: the static statement, after 6 runs (auto: what the server got) and
# with a generic plan forced; new: a custom plan (what the server gets: the
# statement is not kept prepared) and a generic plan forced (the worst case).
head="| Filter |"; rule="|---|"
[ "$OLD" = 1 ] && { head+=" old, auto | old, generic |"; rule+="---|---|"; }
echo "$head new | new plan | new, generic | generic plan |"
echo "$rule---|---|---|---|"
for c in "${CASES[@]}"; do
    label="${c%%|*}"
    row="| $label |"
    [ "$OLD" = 1 ] && row+=" $(cell old auto "$label") | $(cell old force_generic_plan "$label") |"
    row+=" $(cell new force_custom_plan "$label") | $(field "${R[new.force_custom_plan.$label.first]}" 2) |"
    row+=" $(cell new force_generic_plan "$label") | $(field "${R[new.force_generic_plan.$label.first]}" 2) |"
    echo "$row"
done
echo
echo "(full plans: $OUT/plans.txt)"

# The token page (docs/tokens.md, "The token's page") on the same log: the
# calls rollup and per-IP counts as the audit writer (or the backfill)
# leaves them, built here by one aggregation, then the page's four queries
# for the busiest account's busiest token and a small account's, each run
# once to warm and then measured by EXPLAIN ANALYZE; and, for contrast,
# counting the token's last 30 days from the log itself.
step "The token page's queries"
start=$(date +%s)
TIMEOUT=1800 sql <<SQL
INSERT INTO token_usage (credential_id, account_id, day, outcome, calls)
SELECT token_prefix, account_id, at / 86400000,
       CASE WHEN action = 'auth_failed' THEN 'refused' ELSE 'success' END, COUNT(*)
  FROM audit_events WHERE token_prefix IS NOT NULL AND account_id IS NOT NULL
   AND action IN ('token_used', 'auth_failed')
 GROUP BY 1, 2, 3, 4;
INSERT INTO token_ips (token_id, ip, first_seen, last_seen, calls)
SELECT token_prefix, ip, MIN(at), MAX(at), COUNT(*) FROM audit_events
 WHERE token_prefix IS NOT NULL AND action IN ('token_used', 'auth_failed') GROUP BY 1, 2;
ANALYZE token_usage;
ANALYZE token_ips;
SQL
step "Rollup built in $(( $(date +%s) - start )) s: $(sql -c "SELECT count(*) || ' rollup rows, ' || (SELECT count(*) FROM token_ips) || ' IP rows' FROM token_usage")"
page_ms() { # sql: planning + execution of its second run, ms
    local plan
    plan="$(sql -c "SET statement_timeout = '${STATEMENT_TIMEOUT}s'" -c '\o /dev/null' -c "$1" -c '\o' -c "EXPLAIN (ANALYZE, BUFFERS) $1" 2>&1)" || true
    { printf '\n=== token page\n%s\n' "$1"; echo "$plan"; } >>"$OUT/plans.txt"
    awk '/Planning Time:|Execution Time:/ {t += $3} END {printf "%.1f", t}' <<<"$plan"
}
echo "| Token | calls in the log | rollup (30 days) | last 20 calls | IPs | creator | total | counting the log instead |"
echo "|---|---|---|---|---|---|---|---|"
for acct in 1 500; do
    tok="preq_$(printf '%s' "seed-a-$acct-0" | md5sum | cut -c1-7)"
    a="seed-a-$acct"
    since=$(( T_END / 86400000 - 29 ))
    calls="$(sql -c "SELECT count(*) FROM audit_events WHERE token_prefix = '$tok'")"
    u="$(page_ms "SELECT day, outcome, calls FROM token_usage WHERE credential_id = '$tok' AND account_id = '$a' AND day >= $since")"
    r="$(page_ms "SELECT at, action, ip, user_agent, details FROM audit_events WHERE account_id = '$a' AND token_prefix IN ('$tok') AND action IN ('token_used', 'auth_failed') ORDER BY seq DESC LIMIT 20")"
    i="$(page_ms "SELECT ip, first_seen, last_seen, calls FROM token_ips WHERE token_id = '$tok' ORDER BY COALESCE(last_seen, first_seen) DESC LIMIT 1000")"
    c="$(page_ms "SELECT actor, ip FROM audit_events WHERE token_prefix = '$tok' AND account_id = '$a' AND action = 'token_created' ORDER BY seq LIMIT 1")"
    scan="$(page_ms "SELECT at / 86400000, action, count(*) FROM audit_events WHERE token_prefix = '$tok' AND account_id = '$a' AND at >= $(( since * 86400000 )) AND action IN ('token_used', 'auth_failed') GROUP BY 1, 2")"
    total="$(awk -v a="$u" -v b="$r" -v c="$i" -v d="$c" 'BEGIN {printf "%.1f", a + b + c + d}')"
    echo "| $a's $tok | $calls | $u | $r | $i | $c | $total | $scan |"
done
