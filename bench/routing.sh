#!/usr/bin/env bash
# Message intake through the gateway on PostgreSQL + Redis (unary SubmitMessage and streamed
# SubmitMessages batches), and how late the escalation scheduler fires with OPEN open messages
# waiting in the timer table.
#
# Production layout on this machine: registry, routing service and gateway as separate
# `govmedia serve` processes, one PostgreSQL database (a schema per service), Redis for events
# and the gateway's rate budgets (raised out of the way). The load (services/routing/benches/
# intake.rs) seeds ACCOUNTS active accounts through the registry as the filing service, then
# keeps CONCURRENCY unary calls, or STREAMS streams of BATCH messages, in flight through the
# gateway with an operator's token: every message new, its own citizen, so each is a case of
# its own (intake, encryption of the contact, routing rules, the case, its history, its timer,
# its event, in one transaction). After each run the routing database must hold a case for every
# message counted, and the service must have logged no call that ended other than Ok.
#
# Then OPEN cases with a dispatch timer a year ahead are written straight into the routing
# schema (the state a busy province is in), TIMERS of them are brought forward to fire one
# every 100 ms from 15 s on, and CaseEscalated events are read from Redis: how long after its
# instant each fired (the event's own times) and arrived on the stream.
#
#   bash bench/routing.sh
#   ROUNDS=3 SECONDS_PER_RUN=10 ACCOUNTS=50 CONCURRENCY=64 STREAMS=4 BATCH=500 OPEN=1000000 TIMERS=200
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
RUN=${SECONDS_PER_RUN:-10}
ACCOUNTS=${ACCOUNTS:-50}
CONCURRENCY=${CONCURRENCY:-64}
STREAMS=${STREAMS:-4}
BATCH=${BATCH:-500}
OPEN=${OPEN:-1000000}
TIMERS=${TIMERS:-200}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=govmedia_bench_routing
export PGOPTIONS="-c client_min_messages=warning"
export GOVMEDIA_JWT_SECRET="bench-secret-that-is-at-least-32-bytes-long"
for tool in psql redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install postgresql-client redis-tools)"; exit 1; }
done
psql "$PG/postgres" -Atc "select 1" >/dev/null || { echo "PostgreSQL must answer at $PG"; exit 1; }
[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ] || { echo "Redis must answer on 127.0.0.1:6379"; exit 1; }

cargo build --release --quiet --bin govmedia
cargo bench --quiet -p govmedia-routing --bench intake --no-run 2>/dev/null
LOAD=$(cargo bench -p govmedia-routing --bench intake --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
BIN=$PWD/target/release/govmedia
work=$(mktemp -d)
prefix="bench-routing-$$:"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "${prefix}*" | xargs -r redis-cli del >/dev/null 2>&1 || true
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

REGISTRY=127.0.0.1:50361 ROUTING=127.0.0.1:50364 GATEWAY=127.0.0.1:50351 GATEWAY_HTTP=127.0.0.1:50352
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
"$BIN" keys generate --out "$work/keys" >/dev/null
openssl rand -hex 16 >"$work/contact.key" 2>/dev/null || python3 -c 'import secrets; print(secrets.token_hex(16))' >"$work/contact.key"
export GOVMEDIA_DATABASE_URL="$PG/$DB" GOVMEDIA_REDIS_URL=redis://127.0.0.1:6379 \
  GOVMEDIA_REDIS__KEY_PREFIX="$prefix" GOVMEDIA_IDENTITY__TRUST_DIR="$work/keys/public"
"$BIN" migrate >/dev/null

wait_port() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/${1#*:}") 2>/dev/null && return 0; sleep 0.2; done; echo "nothing on $1"; exit 1; }
GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/registry.key.pem GOVMEDIA_REGISTRY__LISTEN=$REGISTRY GOVMEDIA_LOG=warn \
  "$BIN" serve registry >"$work/registry.log" 2>&1 &
pids+=($!)
GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/routing.key.pem GOVMEDIA_ROUTING__LISTEN=$ROUTING \
  GOVMEDIA_ROUTING__SYSTEM_ORGANIZATION=bench GOVMEDIA_ROUTING__REGISTRY_ENDPOINT="http://$REGISTRY" \
  GOVMEDIA_ROUTING__CONTACT_KEY_FILE="$work/contact.key" GOVMEDIA_ROUTING__PUBLISH__SPOOL_DIR="$work/replies" \
  GOVMEDIA_LOG=info "$BIN" serve routing >"$work/routing.log" 2>&1 &
pids+=($!)
GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/gateway.key.pem GOVMEDIA_GATEWAY__LISTEN=$GATEWAY \
  GOVMEDIA_GATEWAY__HTTP_LISTEN=$GATEWAY_HTTP GOVMEDIA_GATEWAY__UPSTREAMS__REGISTRY="http://$REGISTRY" \
  GOVMEDIA_GATEWAY__UPSTREAMS__ROUTING="http://$ROUTING" \
  GOVMEDIA_GATEWAY__RATE_LIMIT__WRITES_PER_MINUTE=1000000000 GOVMEDIA_GATEWAY__RATE_LIMIT__WRITE_BURST=1000000000 \
  GOVMEDIA_LOG=warn "$BIN" serve gateway >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_port $REGISTRY; wait_port $ROUTING; wait_port $GATEWAY
"$LOAD" seed "http://$REGISTRY" "$work/keys" "$ACCOUNTS" >/dev/null
TOKEN=$("$BIN" token issue --subject bench-collector --org bench-office --role operator)
sleep 2  # the gateway's first health check of its upstreams

cases() { psql "$PG/$DB" -Atc "select count(*) from routing.routing_cases"; }
for round in $(seq "$ROUNDS"); do
  before=$(cases)
  "$LOAD" load "http://$GATEWAY" "$TOKEN" unary "$ACCOUNTS" "$CONCURRENCY" "$RUN" 1 >"$work/r$round-unary.json"
  "$LOAD" load "http://$GATEWAY" "$TOKEN" stream "$ACCOUNTS" "$STREAMS" "$RUN" "$BATCH" >"$work/r$round-stream.json"
  echo "$before $(cases)" >"$work/r$round-cases"
  echo "round $round done" >&2
done
bad=$(grep "govmedia::access" "$work/routing.log" | grep -v "code=Ok" | grep -vc "code=Cancelled" || true)
if [ "$bad" -ne 0 ]; then
  grep "govmedia::access" "$work/routing.log" | grep -v "code=Ok" | grep -o "code=[A-Za-z]*" | sort | uniq -c >&2
  echo "$bad calls ended other than Ok"; exit 1
fi

# The scheduler with OPEN open cases: written in bulk, as a year of a province's messages would
# stand; then TIMERS of them brought forward.
psql "$PG/$DB" -q <<SQL
SET search_path TO routing;
INSERT INTO routing_cases (id, account_id, account_org, account_path, category, text, citizen_key,
  handle_masked, contact_masked, region_code, state, received_time, dispatch_due, dispatcher_overdue,
  department_overdue, message_count, extension_days, ever_extended, return_reason, return_count,
  replies, reopen_count, created_at, created_by, created_by_org, updated_at, updated_by,
  updated_by_org, version)
SELECT 'cbench' || lpad(g::text, 12, '0'), 'bench-a0', 'bench-u0', '/bench/bench-office/bench-u0/', 3,
  '基准留言', md5(g::text), '市***', '138****0000', '', 1, now(), now() + interval '365 days', false,
  false, 1, 0, false, '', 0, '[]', 0, now(), 'bench', 'bench', now(), 'bench', 'bench', 1
FROM generate_series(1, $OPEN) g;
INSERT INTO routing_timers (case_id, level, due_time, fire_at, fired)
SELECT id, 1, dispatch_due, dispatch_due, false FROM routing_cases WHERE id LIKE 'cbench%';
ANALYZE routing_cases; ANALYZE routing_timers;
SQL
open_timers=$(psql "$PG/$DB" -Atc "select count(*) from routing.routing_timers where not fired")
"$LOAD" lateness redis://127.0.0.1:6379 "${prefix}events:routing" "$TIMERS" 90 >"$work/lateness.json" &
reader=$!
sleep 1
psql "$PG/$DB" -qc "
  UPDATE routing.routing_timers t SET due_time = s.at, fire_at = s.at
  FROM (SELECT seq, now() + interval '15 seconds' + (row_number() OVER (ORDER BY seq) - 1) * interval '100 milliseconds' AS at
        FROM routing.routing_timers WHERE case_id LIKE 'cbench%' ORDER BY seq LIMIT $TIMERS) s
  WHERE t.seq = s.seq;
  UPDATE routing.routing_cases c SET dispatch_due = t.due_time FROM routing.routing_timers t
  WHERE t.case_id = c.id AND t.fire_at < now() + interval '1 hour';"
wait "$reader"

python3 - "$work" "$ROUNDS" "$open_timers" <<'PY'
import json, os, statistics, sys
work, rounds, open_timers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {"unary": [], "stream": []}
for r in range(1, rounds + 1):
    before, after = map(int, open(os.path.join(work, f"r{r}-cases")).read().split())
    counted = 0
    for mode in runs:
        run = json.load(open(os.path.join(work, f"r{r}-{mode}.json")))
        if run["failures"]:
            sys.exit(f"round {r} {mode}: failures {run['failures']}")
        counted += run["messages"]
        runs[mode].append(run)
    if after - before < counted:
        sys.exit(f"round {r}: {counted} messages counted but only {after - before} cases stored")
print("every call ended Ok; the routing database holds a case for every message counted\n")
print(f"{'intake':<8} {'in flight':>10} {'messages/s':>11} {'call p50 ms':>12} {'call p99 ms':>12}")
for mode, rs in runs.items():
    med = lambda key: statistics.median(r[key] for r in rs)
    flight = f"{rs[0]['concurrency']}" if mode == "unary" else f"{rs[0]['concurrency']}×{rs[0]['batch']}"
    print(f"{mode:<8} {flight:>10} {med('per_second'):>11.0f} {med('call_p50_ms'):>12.1f} {med('call_p99_ms'):>12.1f}")
print(f"\n(medians of {rounds} rounds)")
late = json.load(open(os.path.join(work, "lateness.json")))
print(f"\nescalations with {open_timers} open timers: {late['escalations']} fired; "
      f"fired after its instant p50 {late['fired_after_p50_ms']:.1f} ms, p99 {late['fired_after_p99_ms']:.1f} ms, "
      f"max {late['fired_after_max_ms']:.1f} ms; on the Redis stream after p50 {late['arrived_after_p50_ms']:.1f} ms, "
      f"max {late['arrived_after_max_ms']:.1f} ms")
PY
