#!/usr/bin/env bash
# RegistryService/CreateAccount on PostgreSQL: how many accounts per second the registry opens
# when many units file at once, and what one opening costs alone; beside it, pgbench's rate of
# single-row INSERT transactions on the same database, the ceiling of any write that commits.
#
# Every CreateAccount is one transaction: the unit's row locked (R-03 reads its accounts on the
# platform), the account inserted, an event written to the outbox, an audit entry appended to a
# hash chain, commit. The audit trail used to be one chain per service, appended under one
# advisory lock held until commit, so every write of a service waited for the one before it to
# commit. It is now `database.audit_chains` chains (16 by default), chosen by resource.
#
# Each configuration gets a fresh database and a registry with its default pool of POOL (10)
# connections. The load (crates/registry-client/benches/create_account.rs) calls it as the
# filing service does, with that service's identity citing an accepted filing: it creates a
# provincial government and UNITS departments, keeps CONCURRENCY calls in flight for one second
# of warm-up and SECONDS_PER_RUN measured, then makes calls one at a time for as long. Every call
# opens a unit's first account on a platform and carries no idempotency key. After each
# configuration the registry's log must show no call that ended other than Ok, the ledger must
# hold at least as many accounts as calls ended Ok, and the audit trail must verify.
#
#   bash bench/create-account.sh                      audit chains 1 and 16, this build
#   CHAINS="1 4 16 64" bash bench/create-account.sh   other numbers of chains
#   BEFORE=/path/to/govmedia bash bench/create-account.sh
#                                     also a binary built before there were several chains
#   ROUNDS=3 SECONDS_PER_RUN=10 UNITS=2000 CONCURRENCY=64 POOL=10   (the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
RUN=${SECONDS_PER_RUN:-10}
UNITS=${UNITS:-2000}
CONCURRENCY=${CONCURRENCY:-64}
POOL=${POOL:-10}
CHAINS=${CHAINS:-"1 16"}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=govmedia_bench_create_account
export PGOPTIONS="-c client_min_messages=warning"
export GOVMEDIA_JWT_SECRET="bench-secret-that-is-at-least-32-bytes-long"
for tool in psql pgbench redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install postgresql-client redis-tools)"; exit 1; }
done
psql "$PG/postgres" -Atc "select 1" >/dev/null || { echo "PostgreSQL must answer at $PG"; exit 1; }
[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ] || { echo "Redis must answer on 127.0.0.1:6379"; exit 1; }

cargo build --release --quiet --bin govmedia
cargo bench --quiet -p govmedia-registry-client --bench create_account --no-run 2>/dev/null
LOAD=$(cargo bench -p govmedia-registry-client --bench create_account --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
BIN=$PWD/target/release/govmedia
work=$(mktemp -d)
registry_pid=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$BIN" keys generate --out "$work/keys" >/dev/null
REGISTRY=127.0.0.1:50261

fresh_database() {
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
  psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
}

run_config() { # label binary chains ("-": the binary's own configuration)
  local label=$1 bin=$2 chains=$3 extra=()
  [ "$chains" = "-" ] || extra=(GOVMEDIA_DATABASE__AUDIT_CHAINS="$chains")
  fresh_database
  env "${extra[@]}" GOVMEDIA_DATABASE_URL="$PG/$DB" GOVMEDIA_DATABASE__MAX_CONNECTIONS="$POOL" \
    GOVMEDIA_REDIS_URL=redis://127.0.0.1:6379 GOVMEDIA_REDIS__KEY_PREFIX="bench-$$-$label:" \
    GOVMEDIA_IDENTITY__KEY_FILE="$work/keys/registry.key.pem" GOVMEDIA_IDENTITY__TRUST_DIR="$work/keys/public" \
    GOVMEDIA_REGISTRY__LISTEN=$REGISTRY GOVMEDIA_LOG=info \
    "$bin" serve registry --migrate >"$work/$label.log" 2>&1 &
  registry_pid=$!
  local up=""
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/${REGISTRY#*:}) 2>/dev/null && { up=1; break; }; sleep 0.2; done
  [ -n "$up" ] || { cat "$work/$label.log"; exit 1; }
  "$LOAD" "http://$REGISTRY" "$work/keys" "$UNITS" "$CONCURRENCY" "$RUN" >"$work/$label.json"
  sleep 0.5
  local created
  created=$(psql "$PG/$DB" -Atc "select count(*) from registry.accounts")
  kill "$registry_pid"; wait "$registry_pid" 2>/dev/null || true; registry_pid=""
  local bad
  bad=$(grep "govmedia::access" "$work/$label.log" | grep -v "code=Ok" | grep -vc "code=Cancelled" || true)
  if [ "$bad" -ne 0 ]; then
    grep "govmedia::access" "$work/$label.log" | grep -v "code=Ok" | grep -o "code=[A-Za-z]*" | sort | uniq -c >&2
    echo "$label: $bad calls ended other than Ok"; exit 1
  fi
  GOVMEDIA_DATABASE_URL="$PG/$DB" "$bin" audit verify registry >"$work/$label-verify.out" 2>&1 \
    || { cat "$work/$label-verify.out"; exit 1; }
  echo "$label $created" >>"$work/runs"
}

pgbench_runs() { # label
  fresh_database
  psql "$PG/$DB" -qc "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
  echo "INSERT INTO bench_insert (payload) VALUES ('基准测试');" >"$work/insert.sql"
  pgbench -n -c 1 -j 1 -T "$RUN" -f "$work/insert.sql" "$PG/$DB" >"$work/$1-pg-c1.out" 2>&1
  pgbench -n -c "$POOL" -j 2 -T "$RUN" -f "$work/insert.sql" "$PG/$DB" >"$work/$1-pg-pool.out" 2>&1
}

configs=()
[ -n "${BEFORE:-}" ] && configs+=("before:$BEFORE:-")
for chains in $CHAINS; do configs+=("chains$chains:$BIN:$chains"); done
echo "measuring: $ROUNDS rounds of ${configs[*]%%:*} and pgbench; ${RUN}s per run, $CONCURRENCY calls in flight" >&2
for round in $(seq "$ROUNDS"); do
  for config in "${configs[@]}"; do
    IFS=: read -r name bin chains <<<"$config"
    run_config "r$round-$name" "$bin" "$chains"
  done
  pgbench_runs "r$round"
  echo "round $round done" >&2
done

python3 - "$work" "$CONCURRENCY" "$POOL" <<'PY'
import glob, json, os, re, statistics, sys
work, concurrency, pool = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
results = {}
for label, created in (line.split() for line in open(os.path.join(work, "runs"))):
    run = json.load(open(os.path.join(work, label + ".json")))
    for phase in run.values():
        if phase["failed"] or phase["ok"] == 0:
            sys.exit(f"{label}: calls failed or none ended Ok: {run}")
    if int(created) < run["saturated"]["ok"] + run["alone"]["ok"]:
        sys.exit(f"{label}: more calls ended Ok than the ledger holds accounts ({created})")
    results.setdefault(label.split("-", 1)[1], []).append(run)
tps = lambda path: float(re.search(r"tps = ([\d.]+)", open(path).read()).group(1))
pg1 = statistics.median(map(tps, glob.glob(os.path.join(work, "*-pg-c1.out"))))
pgn = statistics.median(map(tps, glob.glob(os.path.join(work, "*-pg-pool.out"))))
print("every call ended Ok, the ledger holds an account for each, every audit trail verifies\n")
print(f"{'configuration':<14} {'accounts/s':>11} {'sat p50 ms':>11} {'sat p99 ms':>11} {'c=1 /s':>8} {'c=1 p50 ms':>11} {'c=1 p99 ms':>11}")
for name, runs in results.items():
    med = lambda phase, key: statistics.median(run[phase][key] for run in runs)
    print(f"{name:<14} {med('saturated', 'per_second'):>11.0f} {med('saturated', 'p50_ms'):>11.2f} "
          f"{med('saturated', 'p99_ms'):>11.2f} {med('alone', 'per_second'):>8.0f} "
          f"{med('alone', 'p50_ms'):>11.3f} {med('alone', 'p99_ms'):>11.3f}")
print(f"\n({concurrency} calls in flight, medians of {len(next(iter(results.values())))} rounds)")
print(f"pgbench, one INSERT per transaction: {pg1:.0f} tps with 1 client, {pgn:.0f} tps with {pool} clients")
PY
