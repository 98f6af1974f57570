#!/usr/bin/env bash
# The same cheap read (RegistryService/GetOrganization) three ways, with h2load:
#   direct   h2load -> registry
#   gateway  h2load -> govmedia gateway (JWT verified, Redis GCRA rate limit spent, an identity
#            signed for the registry, forwarded over one multiplexed HTTP/2 connection) -> registry
# Direct and nginx calls carry the identity the gateway would pass on (`govmedia keys sign`,
# minted afresh for every run: identities live five minutes); calls to the gateway carry a
# govmedia token.
#   nginx    h2load -> nginx grpc_pass (upstream keepalive) -> registry
# The gateway and nginx get one worker each, pinned to CPU 0; h2load and Redis run on CPU 1.
# Two layouts place the registry (one worker):
#   split    the registry on CPU 1 beside h2load and Redis: the proxy has a core of its own, so
#            this measures how well each proxy keeps the upstream busy;
#   shared   the registry on CPU 0 beside the proxy ("equal CPU"): every cycle the proxy spends
#            is a cycle the registry loses, so throughput measures what the proxy costs.
# Rounds interleave the three targets; medians are reported. Each round measures latency at
# concurrency 1 and throughput at saturation, and the CPU time per call (from /proc) of the
# proxy and of the registry.
# h2load counts HTTP 200 as success even when grpc-status is not 0, so success is checked
# independently: before the timed runs, a fixed number of calls goes through each target and
# the registry must log exactly that many more Ok calls; and no call may end other than Ok.
#
#   bash bench/gateway.sh            (ROUNDS=5 SECONDS_PER_RUN=8 CONCURRENCY=64 to change)
#   LAYOUTS=shared bash bench/gateway.sh      one layout only (default: "split shared")
#   LIMITS=memory|off bash bench/gateway.sh   rate limits in process, or off (default: redis)
#   PROFILE=1 bash bench/gateway.sh  also samples the gateway with perf (cpu-clock) during its
#                                    first saturation run and prints where its CPU time goes
# The script moves the running Redis server to CPU 1 and gives it back its CPUs at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
LAYOUTS=${LAYOUTS:-split shared}
RUN=${SECONDS_PER_RUN:-8}
CONC=${CONCURRENCY:-64}
for tool in h2load nginx taskset redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nghttp2-client nginx util-linux redis-tools)"; exit 1; }
done
[ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ] || { echo "Redis must answer on 127.0.0.1:6379"; exit 1; }

cargo build --release --quiet --bin govmedia
BIN=$PWD/target/release/govmedia
work=$(mktemp -d)
pids=()
redis_pid=$(pgrep -x redis-server | head -1)
redis_cpus=$(taskset -p "$redis_pid" | awk '{print $NF}')
cleanup() { taskset -a -p "$redis_cpus" "$redis_pid" >/dev/null 2>&1 || true; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

export GOVMEDIA_JWT_SECRET="bench-secret-that-is-at-least-32-bytes-long"
REGISTRY=127.0.0.1:50161 GATEWAY=127.0.0.1:50151 GATEWAY_HTTP=127.0.0.1:8181 NGINX=127.0.0.1:50171

# Data: the demo dataset, loaded by govmedia dev into SQLite files, then served for production.
env -u GOVMEDIA_JWT_SECRET GOVMEDIA_REGISTRY__LISTEN=127.0.0.1:0 GOVMEDIA_FILING__LISTEN=127.0.0.1:0 \
  GOVMEDIA_GATEWAY__LISTEN=127.0.0.1:0 GOVMEDIA_GATEWAY__HTTP_LISTEN=127.0.0.1:0 \
  "$BIN" dev --demo --data-dir "$work/data" >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 100); do grep -q "govmedia dev is running" "$work/dev.log" && break; sleep 0.2; done
grep -q "govmedia dev is running" "$work/dev.log" || { cat "$work/dev.log"; exit 1; }
kill "$dev"; wait "$dev" || true
"$BIN" keys generate --out "$work/keys" >/dev/null
export GOVMEDIA_IDENTITY__TRUST_DIR=$work/keys/public
identity() { GOVMEDIA_LOG=warn "$BIN" keys sign --key-file "$work/keys/gateway.key.pem" --for registry \
  --subject bench --org golmud --role supervisor 2>/dev/null; }

GOVMEDIA_IDENTITY__KEY_FILE=$work/keys/registry.key.pem \
  GOVMEDIA_DATABASE_URL="sqlite://$work/data/registry.db?mode=rwc" GOVMEDIA_REGISTRY__LISTEN=$REGISTRY \
  GOVMEDIA_LOG=info TOKIO_WORKER_THREADS=1 taskset -c 1 "$BIN" serve registry >"$work/registry.log" 2>&1 &
registry_pid=$!
pids+=($registry_pid)
limits=()
case ${LIMITS:-redis} in
  redis) limits=(GOVMEDIA_REDIS_URL=redis://127.0.0.1:6379) ;;
  memory) ;;
  off) limits=(GOVMEDIA_GATEWAY__RATE_LIMIT__ENABLED=false) ;;
  *) echo "LIMITS is redis, memory or off"; exit 1 ;;
esac
env "${limits[@]}" GOVMEDIA_IDENTITY__KEY_FILE="$work/keys/gateway.key.pem" \
  GOVMEDIA_DATABASE_URL="sqlite://$work/data/gateway.db?mode=rwc" \
  GOVMEDIA_REDIS__KEY_PREFIX="bench-$$:" GOVMEDIA_GATEWAY__LISTEN=$GATEWAY GOVMEDIA_GATEWAY__HTTP_LISTEN=$GATEWAY_HTTP \
  GOVMEDIA_GATEWAY__UPSTREAMS__REGISTRY="http://$REGISTRY" \
  GOVMEDIA_GATEWAY__RATE_LIMIT__READS_PER_MINUTE=1000000000 GOVMEDIA_GATEWAY__RATE_LIMIT__READ_BURST=1000000000 \
  GOVMEDIA_LOG=warn TOKIO_WORKER_THREADS=1 taskset -c 0 "$BIN" serve gateway --migrate >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=($gateway_pid)

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  # nginx closes a connection after 1000 requests by default (keepalive_requests), and h2load
  # does not reconnect in duration mode; any gRPC deployment raises it.
  keepalive_requests 100000000;
  upstream registry { server $REGISTRY; keepalive 128; keepalive_requests 100000000; }
  server {
    listen $NGINX http2;
    location / { grpc_pass grpc://registry; }
  }
}
CONF
taskset -c 0 nginx -c "$work/nginx/nginx.conf" &
pids+=($!)
sleep 1
nginx_worker=$(pgrep -f "nginx: worker process" | head -1)

TOKEN=$(GOVMEDIA_LOG=warn "$BIN" token issue --subject bench --org golmud --role supervisor 2>/dev/null)
python3 - "$work/request.bin" <<'PY'
import struct, sys
name = b"organizations/golmud"
message = b"\x0a" + bytes([len(name)]) + name          # GetOrganizationRequest{name}
open(sys.argv[1], "wb").write(b"\x00" + struct.pack(">I", len(message)) + message)
PY
for addr in $REGISTRY $GATEWAY $NGINX; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/${addr%:*}/${addr#*:}) 2>/dev/null && break; sleep 0.2; done
done

path=/govmedia.registry.v1.RegistryService/GetOrganization
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, in clock ticks
syscalls_of() { awk '/^sysc[rw]:/ {n += $2} END {print n}' "/proc/$1/io"; }   # reads + writes
place() { # layout: the registry's CPU; Redis always on CPU 1
  local cpu
  case $1 in split) cpu=1 ;; shared) cpu=0 ;; *) echo "LAYOUTS holds split and/or shared"; exit 1 ;; esac
  taskset -a -p -c "$cpu" "$registry_pid" >/dev/null
  taskset -a -p -c 1 "$redis_pid" >/dev/null
}
profiled=""
measure() { # layout target addr concurrency streams label
  local layout=$1 target=$2 addr=$3 clients=$4 streams=$5 label=$6 pid="" before=0 after=0
  case $target in gateway) pid=$gateway_pid ;; nginx) pid=$nginx_worker ;; esac
  local calls_before=0 calls_after=0 registry_before
  local credential=$TOKEN
  [ "$target" = gateway ] || credential=$(identity)
  if [ -n "${PROFILE:-}" ] && [ -z "$profiled" ] && [ "$target-$clients" = gateway-4 ]; then
    profiled=$label
    perf record -q -e cpu-clock -F ${PROFILE_HZ:-2000} --call-graph ${PROFILE_CALLS:-fp} -p "$pid" -o "$work/gateway.perf" -- sleep "$RUN" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  taskset -c 1 h2load -D "$RUN" --warm-up-time=1 -t 1 -c "$clients" -m "$streams" \
    -H 'content-type: application/grpc' -H 'te: trailers' -H "authorization: Bearer $credential" \
    -d "$work/request.bin" --log-file "$work/$label.log" "http://$addr$path" >"$work/$label.out" 2>&1 &
  local h2load_pid=$!
  # h2load counts the calls after its warm-up second: so do these.
  sleep 1
  [ -n "$pid" ] && before=$(cpu_of "$pid") && calls_before=$(syscalls_of "$pid")
  registry_before=$(cpu_of "$registry_pid")
  wait "$h2load_pid"
  [ -n "$pid" ] && after=$(cpu_of "$pid") && calls_after=$(syscalls_of "$pid")
  echo "$label $layout $target $clients $streams $((after - before)) $(( $(cpu_of "$registry_pid") - registry_before )) $((calls_after - calls_before))" >>"$work/runs"
}
ok_count() { grep -c "code=Ok" "$work/registry.log" || true; }
for target_addr in direct=$REGISTRY gateway=$GATEWAY nginx=$NGINX; do
  before=$(ok_count)
  credential=$TOKEN
  [ "${target_addr%%=*}" = gateway ] || credential=$(identity)
  taskset -c 1 h2load -n 2000 -t 1 -c 4 -m 8 -H 'content-type: application/grpc' -H 'te: trailers' \
    -H "authorization: Bearer $credential" -d "$work/request.bin" "http://${target_addr#*=}$path" >/dev/null 2>&1
  sleep 0.5
  got=$(( $(ok_count) - before ))
  [ "$got" -eq 2000 ] || { echo "verification failed: 2000 calls through ${target_addr%%=*}, $got reached the registry and returned OK"; exit 1; }
done
echo "verified: 2000 calls through each target reached the registry and returned OK" >&2
echo "measuring: layouts $LAYOUTS, $ROUNDS rounds each, ${RUN}s per run, saturation at $CONC streams" >&2
for layout in $LAYOUTS; do
  place "$layout"
  for round in $(seq "$ROUNDS"); do
    for target in direct gateway nginx; do
      case $target in direct) addr=$REGISTRY ;; gateway) addr=$GATEWAY ;; nginx) addr=$NGINX ;; esac
      measure "$layout" "$target" "$addr" 1 1 "$layout-r$round-$target-c1"
      measure "$layout" "$target" "$addr" 4 $((CONC / 4)) "$layout-r$round-$target-sat"
    done
    echo "$layout: round $round done" >&2
  done
done
sleep 1
if [ -n "${PROFILE:-}" ]; then
  wait "$perf_pid" || true
  echo "perf profile of the gateway during $profiled:" >&2
  for sort in dso symbol; do
    perf report -i "$work/gateway.perf" --stdio --no-children --sort "$sort" -F overhead,"$sort" --percent-limit 0.4 2>/dev/null \
      | grep -E "^ +[0-9]" | sed -E 's/ +$//' | head -60 >&2 || true
  done
fi
# The end of a timed run cuts the calls in flight: those end Cancelled. Anything else is a failure.
grep "govmedia::access" "$work/registry.log" | grep -v "code=Ok" | grep -o "code=[A-Za-z]*" | sort | uniq -c >&2 || true
bad_calls=$(grep "govmedia::access" "$work/registry.log" | grep -v "code=Ok" | grep -vc "code=Cancelled" || true)
# (running without Redis is announced with a warning; that one is expected)
gateway_errors=$(grep " WARN \| ERROR " "$work/gateway.log" | grep -vc "no GOVMEDIA_REDIS_URL" || true)

python3 - "$work" "$bad_calls" "$gateway_errors" "$(getconf CLK_TCK)" <<'PY'
import os, re, statistics, sys
work, registry_bad, gateway_errors, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = [line.split() for line in open(os.path.join(work, "runs"))]
results, layouts = {}, []
for label, layout, target, clients, streams, cpu, registry_cpu, syscalls in runs:
    if layout not in layouts:
        layouts.append(layout)
    out = open(os.path.join(work, label + ".out")).read()
    ok = int(re.search(r"(\d+) succeeded", out).group(1))
    if re.search(r"(\d+) failed", out).group(1) != "0" or ok == 0:
        sys.exit(f"{label}: h2load reports failures or no calls:\n{out}")
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    durations = sorted(int(line.split("\t")[2]) for line in open(os.path.join(work, label + ".log")) if line.strip())
    pct = lambda p: durations[min(len(durations) - 1, int(p * len(durations)))] / 1000.0
    kind = "c1" if label.endswith("c1") else "sat"
    per_call = lambda t: (int(t) / ticks) / max(ok, 1) * 1e6   # microseconds
    proxy_us = per_call(cpu) if target != "direct" else None
    proxy_syscalls = int(syscalls) / max(ok, 1) if target != "direct" else None
    results.setdefault((layout, target, kind), []).append((rps, pct(0.5), pct(0.99), proxy_us, per_call(registry_cpu), proxy_syscalls))
if registry_bad or gateway_errors:
    sys.exit(f"verification failed: {registry_bad} calls ended other than Ok at the registry, {gateway_errors} gateway warnings")
med = lambda values: statistics.median(values)
def row(layout, target, kind):
    r = results[(layout, target, kind)]
    proxy = [x[3] for x in r if x[3] is not None]
    syscalls = [x[5] for x in r if x[5] is not None]
    return med([x[0] for x in r]), med([x[1] for x in r]), med([x[2] for x in r]), (med(proxy) if proxy else None), med([x[4] for x in r]), (med(syscalls) if syscalls else None)
print("every call of every run ended Ok at the registry")
for layout in layouts:
    print(f"\nlayout {layout}: the registry on CPU {1 if layout == 'split' else 0}, the proxy on CPU 0")
    print(f"{'target':<9} {'c=1 req/s':>10} {'c=1 p50 ms':>11} {'c=1 p99 ms':>11} {'sat req/s':>10} {'sat p50 ms':>11} {'sat p99 ms':>11} {'proxy CPU/call':>15} {'proxy syscalls/call':>20} {'registry CPU/call':>18}")
    table = {}
    for target in ["direct", "gateway", "nginx"]:
        c1, sat = row(layout, target, "c1"), row(layout, target, "sat")
        table[target] = (c1, sat)
        cpu = f"{sat[3]:.1f} us" if sat[3] is not None else "-"
        syscalls = f"{sat[5]:.2f}" if sat[5] is not None else "-"
        print(f"{target:<9} {c1[0]:>10.0f} {c1[1]:>11.3f} {c1[2]:>11.3f} {sat[0]:>10.0f} {sat[1]:>11.3f} {sat[2]:>11.3f} {cpu:>15} {syscalls:>20} {sat[4]:>15.1f} us")
    g, n, d = table["gateway"], table["nginx"], table["direct"]
    print(f"throughput at saturation: gateway/nginx {g[1][0] / n[1][0]:.2f}x, gateway/direct {g[1][0] / d[1][0]:.2f}x, nginx/direct {n[1][0] / d[1][0]:.2f}x")
    print(f"calls per proxy CPU-second: gateway {1e6 / g[1][3]:.0f}, nginx {1e6 / n[1][3]:.0f} (gateway/nginx {n[1][3] / g[1][3]:.2f}x)")
    print(f"latency added at c=1 (p50 over direct): gateway {g[0][1] - d[0][1]:.3f} ms, nginx {n[0][1] - d[0][1]:.3f} ms")
    print(f"at c=1, per call: proxy CPU gateway {g[0][3]:.1f} us, nginx {n[0][3]:.1f} us; registry CPU direct {d[0][4]:.1f} us, via gateway {g[0][4]:.1f} us, via nginx {n[0][4]:.1f} us")
PY
