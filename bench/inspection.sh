#!/usr/bin/env bash
# The daily monitoring run (日常监测) on PostgreSQL: how long a run takes over ACCOUNTS active
# accounts with POSTS_PER stored posts each (spread over a year), a full run (the first, or
# after a lexicon change: every account, every post of the national scheme's 120 days scanned)
# and then an incremental one after NEW_PER new posts per account (on average) arrived.
#
# Production layout on this machine: registry, routing and inspection services as separate
# `govmedia serve` processes on one PostgreSQL database (a schema per service), events in Redis.
# The load (services/inspection/benches/daily.rs) seeds the accounts through the registry as the
# filing service (nine platforms to a unit), then asks the inspection service for the runs as a
# SYSTEM caller and reads their start and end as the service recorded them. Posts are written
# straight into the inspection schema, as a year of collection would leave them: realistic
# government-post sentences, one post in 400 with a serious wording error; the new posts are
# published within the last day, except every 50th account's, dated 200 days back.
#
#   bash bench/inspection.sh                       # SIZES="10000 30000 100000" POSTS_PER=100 NEW_PER=3
#   SIZES=2000 bash bench/inspection.sh            # a quick look
#   SHARED_BUFFERS=6GB bash bench/inspection.sh    # on a PostgreSQL of its own with 6 GB of buffers
#   PROFILE=1 SIZES=10000 bash bench/inspection.sh   # and where the inspection service spends its time
#   PROFILE=all SIZES=10000 bash bench/inspection.sh # where the machine does (every process)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-10000 30000 100000}
POSTS_PER=${POSTS_PER:-100}
NEW_PER=${NEW_PER:-3}
CONCURRENCY=${CONCURRENCY:-4}
PG=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=govmedia_bench_inspection
export PGOPTIONS="-c client_min_messages=warning"
export GOVMEDIA_JWT_SECRET="bench-secret-that-is-at-least-32-bytes-long"
for tool in psql redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install postgresql-client redis-tools)"; exit 1; }
done
[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ] || { echo "Redis must answer on 127.0.0.1:6379"; exit 1; }

cargo build --release --quiet --bin govmedia
cargo bench --quiet -p govmedia-inspection --bench daily --no-run 2>/dev/null
LOAD=$(cargo bench -p govmedia-inspection --bench daily --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
BIN=$PWD/target/release/govmedia
work=$(mktemp -d)
prefix="bench-inspection-$$:"
pids=()
stop_services() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
cleanup() {
  stop_services
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "${prefix}*" | xargs -r redis-cli del >/dev/null 2>&1 || true
  if [ -n "$pgown" ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgown/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$pgown"
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
pgown=""
trap cleanup EXIT
# SHARED_BUFFERS=6GB: run on a PostgreSQL of the bench's own (initdb in a temporary directory,
# port 5439) whose shared_buffers hold the posts table, as a production server's would (the
# machine's server keeps the default 128 MB).
if [ -n "${SHARED_BUFFERS:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgown=$(mktemp -d); chmod 755 "$pgown"; chown postgres "$pgown"
  runuser -u postgres -- "$pgbin/initdb" -D "$pgown/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgown/data" -l "$pgown/log" -w start \
    -o "-p 5439 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgown -c shared_buffers=$SHARED_BUFFERS" >/dev/null
  PG=postgres://postgres@127.0.0.1:5439
fi
psql "$PG/postgres" -Atc "select 1" >/dev/null || { echo "PostgreSQL must answer at $PG"; exit 1; }

REGISTRY=127.0.0.1:50371 ROUTING=127.0.0.1:50374 INSPECTION=127.0.0.1:50375
"$BIN" keys generate --out "$work/keys" >/dev/null
python3 -c 'import secrets; print(secrets.token_hex(16))' >"$work/contact.key"
export GOVMEDIA_DATABASE_URL="$PG/$DB" GOVMEDIA_REDIS_URL=redis://127.0.0.1:6379 \
  GOVMEDIA_REDIS__KEY_PREFIX="$prefix" GOVMEDIA_IDENTITY__TRUST_DIR="$work/keys/public"
wait_port() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/${1#*:}") 2>/dev/null && return 0; sleep 0.2; done; echo "nothing on $1"; exit 1; }

# Posts N0+1..N1 of ACCOUNTS accounts, published within DAYS_FROM..DAYS_TO days before now.
posts() {
  local accounts=$1 from=$2 to=$3 days_from=$4 days_to=$5
  psql "$PG/$DB" -q <<SQL
SET search_path TO inspection;
INSERT INTO posts (id, account_id, organization_id, org_path, platform_post_id, published_at,
  title, body, links, media_kind, reads, likes, comments, shares, original, relayed_from,
  content_hash, received_at, received_by, received_by_org)
SELECT 'pbench' || g, 'bench-a' || a, 'bench-u' || (a / 9), '/bench/bench-office/bench-u' || (a / 9) || '/',
  'bench-' || g,
  CASE WHEN a % 50 = 0 AND $days_to < 200 THEN now() - interval '200 days' - (h % 1000) * interval '1 hour'
       ELSE now() - interval '1 day' * $days_from - ((h % 1000) / 1000.0) * interval '1 day' * ($days_to - $days_from) END,
  s[1 + h % 24],
  s[1 + (h / 24) % 24] || s[1 + (h / 576) % 24] || s[1 + (h / 13824) % 24]
    || CASE WHEN g % 400 = 0 THEN '会见南朝鲜代表团，双方就经贸合作交换意见。' ELSE '' END,
  '[]', 1 + (h % 3), h % 5000, h % 300, h % 40, h % 20, h % 5 <> 0,
  CASE WHEN h % 5 = 0 THEN '新华社' ELSE '' END,
  md5(g::text) || md5((g + 1)::text), now(), 'bench-collector', 'bench-office'
FROM (SELECT g, (g - 1) % $accounts AS a, ((g::bigint * 2654435761) % 4294967296) AS h
      FROM generate_series($from + 1, $to) g) t,
  (SELECT ARRAY[
    '我市召开2026年安全生产工作会议。', '市政务服务中心延长周末办理时间。', '关于开展冬季供暖情况检查的通知。',
    '全市森林防火工作部署会召开。', '市人社局发布高校毕业生就业见习岗位信息。', '今日起城区部分路段实行交通管制。',
    '市场监管局开展食品安全专项检查，抽检样品二百余批次。', '医保政策问答：异地就医如何备案？', '我市新增两条公交线路，方便市民出行。',
    '关于征求城市更新规划意见的公告。', '区领导走访慰问困难群众，送去米面油等生活物资。', '全省营商环境评价我市位列前五。',
    '防汛抗旱指挥部发布橙色预警，请市民注意防范。', '税务部门提醒：个人所得税汇算清缴即将截止。', '市图书馆开展全民阅读推广活动。',
    '乡村振兴重点项目建设进展顺利。', '疾控中心提示：秋冬季注意预防流感。', '市委理论学习中心组举行集体学习。',
    '12345热线上月受理群众诉求一万余件，按时办结率百分之九十八。', '教育局公布义务教育阶段招生入学政策。', '生态环境局通报上月空气质量状况。',
    '住建部门开展老旧小区改造入户调查。', '公安机关提醒：警惕冒充客服类电信诈骗。', '农业农村局组织专家开展冬小麦田间管理指导。'
  ] AS s) pool;
SQL
}

# CPU seconds (user + system) spent so far by the inspection service, the registry, routing
# and every PostgreSQL process, as "inspection registry routing postgres".
cpu() {
  python3 - "$@" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
def of(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    except OSError:
        return 0.0
pg = 0.0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if open(f"/proc/{pid}/comm").read().strip() == "postgres":
            pg += of(pid)
    except OSError:
        pass
print(" ".join(f"{of(p):.2f}" for p in sys.argv[1:]), f"{pg:.2f}")
PY
}

for accounts in $SIZES; do
  stop_services
  redis-cli --scan --pattern "${prefix}*" | xargs -r redis-cli del >/dev/null 2>&1 || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
  psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  "$BIN" migrate >/dev/null
  GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/registry.key.pem GOVMEDIA_REGISTRY__LISTEN=$REGISTRY GOVMEDIA_LOG=warn \
    "$BIN" serve registry >"$work/registry-$accounts.log" 2>&1 &
  pids+=($!)
  GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/routing.key.pem GOVMEDIA_ROUTING__LISTEN=$ROUTING \
    GOVMEDIA_ROUTING__SYSTEM_ORGANIZATION=bench GOVMEDIA_ROUTING__REGISTRY_ENDPOINT="http://$REGISTRY" \
    GOVMEDIA_ROUTING__CONTACT_KEY_FILE="$work/contact.key" GOVMEDIA_ROUTING__PUBLISH__SPOOL_DIR="$work/replies" \
    GOVMEDIA_LOG=warn "$BIN" serve routing >"$work/routing-$accounts.log" 2>&1 &
  pids+=($!)
  GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/inspection.key.pem GOVMEDIA_INSPECTION__LISTEN=$INSPECTION \
    GOVMEDIA_INSPECTION__SYSTEM_ORGANIZATION=bench GOVMEDIA_INSPECTION__REGISTRY_ENDPOINT="http://$REGISTRY" \
    GOVMEDIA_INSPECTION__ROUTING_ENDPOINT="http://$ROUTING" GOVMEDIA_INSPECTION__VENDOR_ENDPOINT= \
    GOVMEDIA_INSPECTION__MONITORING__DAILY_AT=23:59 GOVMEDIA_INSPECTION__MONITORING__POLL_MS=200 \
    GOVMEDIA_INSPECTION__MONITORING__CONCURRENCY=$CONCURRENCY GOVMEDIA_LOG=info "$BIN" serve inspection >"$work/inspection-$accounts.log" 2>&1 &
  pids+=($!)
  wait_port $REGISTRY; wait_port $ROUTING; wait_port $INSPECTION
  t0=$(date +%s.%N)
  "$LOAD" seed "http://$REGISTRY" "$work/keys" "$accounts" >/dev/null
  t1=$(date +%s.%N)
  stored=$((accounts * POSTS_PER))
  new=$((accounts * NEW_PER))
  posts "$accounts" 0 $((stored - new)) 2 365
  psql "$PG/$DB" -qc "ANALYZE inspection.posts" >/dev/null
  t2=$(date +%s.%N)
  echo "$accounts accounts seeded in $(python3 -c "print(round($t1-$t0))") s, $((stored - new)) posts written in $(python3 -c "print(round($t2-$t1))") s" >&2
  # What a full run reads and scans: the posts of the national scheme's horizon (120 days).
  horizon=$(psql "$PG/$DB" -Atc "select count(*) from inspection.posts where published_at > now() - interval '120 days'")
  before=$(cpu "${pids[2]}" "${pids[0]}" "${pids[1]}")
  "$LOAD" run "http://$INSPECTION" "$work/keys" full >"$work/full-$accounts.json"
  echo "$before $(cpu "${pids[2]}" "${pids[0]}" "${pids[1]}")" >"$work/full-$accounts.cpu"
  cat "$work/full-$accounts.json" >&2
  posts "$accounts" $((stored - new)) "$stored" 0 1
  psql "$PG/$DB" -qc "ANALYZE inspection.posts" >/dev/null
  before=$(cpu "${pids[2]}" "${pids[0]}" "${pids[1]}")
  if [ -n "${PROFILE:-}" ]; then
    if [ "$PROFILE" = all ]; then target=(-a); else target=(-p "${pids[2]}"); fi
    perf record -F 499 -g "${target[@]}" -o "$work/perf-$accounts.data" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  "$LOAD" run "http://$INSPECTION" "$work/keys" incremental >"$work/incremental-$accounts.json"
  echo "$before $(cpu "${pids[2]}" "${pids[0]}" "${pids[1]}")" >"$work/incremental-$accounts.cpu"
  if [ -n "${PROFILE:-}" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    perf report -i "$work/perf-$accounts.data" --no-children --percent-limit 1 --stdio --sort comm,dso,sym 2>/dev/null \
      | grep -E '^ +[0-9]' >"$work/profile-$accounts.txt" || true
    echo "profile of the ${target[*]/-p*/inspection service} during the incremental run ($accounts accounts):" >&2
    cat "$work/profile-$accounts.txt" >&2
  fi
  cat "$work/incremental-$accounts.json" >&2
  size=$(psql "$PG/$DB" -Atc "select pg_size_pretty(pg_total_relation_size('inspection.posts'))")
  echo "$accounts $stored $new $horizon $size" >>"$work/sizes"
  bad=$(grep "govmedia::access" "$work/inspection-$accounts.log" | grep -v "code=Ok" | grep -vc "code=Cancelled" || true)
  [ "$bad" -eq 0 ] || { echo "$bad inspection calls ended other than Ok"; exit 1; }
done

echo "PostgreSQL shared_buffers: $(psql "$PG/postgres" -Atc 'show shared_buffers'); monitoring concurrency $CONCURRENCY"
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
print(f"{'accounts':>9} {'posts':>11} {'new':>8} {'table':>9} | {'full run s':>10} {'accounts/s':>10} {'read':>9} {'read/s':>9} | {'incr. run s':>11} {'checked':>8} {'accounts/s':>10}")
for line in open(os.path.join(work, "sizes")):
    accounts, stored, new, horizon, size = line.split(maxsplit=4)
    full = json.load(open(os.path.join(work, f"full-{accounts}.json")))
    inc = json.load(open(os.path.join(work, f"incremental-{accounts}.json")))
    for run in (full, inc):
        if run["state"] != "RUN_STATE_DONE":
            sys.exit(f"a run of {accounts} accounts ended {run['state']}: {run['error']}")
    print(f"{int(accounts):>9} {int(stored):>11} {int(new):>8} {size.strip():>9} | {full['seconds']:>10.1f} "
          f"{full['accounts_checked'] / full['seconds']:>10.0f} {int(horizon):>9} {int(horizon) / full['seconds']:>9.0f} | "
          f"{inc['seconds']:>11.1f} {inc['accounts_checked']:>8} {inc['accounts_checked'] / inc['seconds']:>10.0f}")
    print(f"{'':>9} full: {full['passed']} passed, {full['failed']} failed, {full['incomplete']} incomplete; "
          f"incremental: {inc['new_posts']} new posts, {inc['passed']} passed, {inc['failed']} failed, {inc['incomplete']} incomplete")
    for mode in ("full", "incremental"):
        c = list(map(float, open(os.path.join(work, f"{mode}-{accounts}.cpu")).read().split()))
        spent = [after - before for before, after in zip(c[:4], c[4:])]
        print(f"{'':>9} CPU seconds of the {mode} run: inspection {spent[0]:.1f}, registry {spent[1]:.1f}, "
              f"routing {spent[2]:.1f}, PostgreSQL {spent[3]:.1f}")
PY
