#!/usr/bin/env bash
# Throughput of `cachelab serve` next to `redis-server`, measured with redis-benchmark.
#
# Builds cachelab in release, starts both servers on loopback ports of their own, runs the same
# redis-benchmark workloads against each (pipelined: -P 16; then one request at a time), prints
# a side-by-side table with the ratio cachelab/redis, writes bench/results/server.json and stops
# both servers.
#
#   REDIS_PORT      port for redis-server (default 16379)
#   CACHELAB_PORT   port for cachelab     (default 16380)
#   TESTS           redis-benchmark tests (default set,get,incr,mset)
#   PIPELINED_N     requests per test with -P 16 (default 1000000)
#   PLAIN_N         requests per test without pipelining (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT="${REDIS_PORT:-16379}"
CACHELAB_PORT="${CACHELAB_PORT:-16380}"
TESTS="${TESTS:-set,get,incr,mset}"
PIPELINED_N="${PIPELINED_N:-1000000}"
PLAIN_N="${PLAIN_N:-200000}"
OUT=bench/results/server.json

for tool in redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "bench/server.sh: $tool is not installed" >&2; exit 1; }
done
for port in "$REDIS_PORT" "$CACHELAB_PORT"; do
  if redis-cli -p "$port" PING >/dev/null 2>&1; then
    echo "bench/server.sh: something already answers on port $port" >&2
    exit 1
  fi
done

cargo build --release --quiet -p cachelab-server
BIN=target/release/cachelab

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --logfile /dev/null &
pids+=($!)
"$BIN" serve --bind 127.0.0.1 --port "$CACHELAB_PORT" >/dev/null &
pids+=($!)

wait_ready() {
  for _ in $(seq 100); do
    redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench/server.sh: nothing answers on port $1" >&2
  exit 1
}
wait_ready "$REDIS_PORT"
wait_ready "$CACHELAB_PORT"

# One redis-benchmark run; prints "TEST rps" lines (the CSV's first two columns).
run() {
  local port=$1 n=$2 pipeline=$3
  redis-benchmark -p "$port" -q --csv -n "$n" -P "$pipeline" -t "$TESTS" 2>/dev/null |
    tail -n +2 | tr -d '"' | sed 's/ (10 keys)//' | awk -F, '{ print $1 " " $2 }'
}

declare -A rps
modes=("pipelined:$PIPELINED_N:16" "plain:$PLAIN_N:1")
for mode in "${modes[@]}"; do
  IFS=: read -r name n pipeline <<<"$mode"
  # Fresh keyspaces, so that both servers start each mode from the same state.
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
  redis-cli -p "$CACHELAB_PORT" FLUSHALL >/dev/null
  for server in redis cachelab; do
    port=$REDIS_PORT
    [ "$server" = cachelab ] && port=$CACHELAB_PORT
    echo "running $name (-n $n -P $pipeline) against $server..." >&2
    while read -r test value; do
      rps["$name/$test/$server"]=$value
    done < <(run "$port" "$n" "$pipeline")
  done
done

tests_upper=$(echo "$TESTS" | tr 'a-z' 'A-Z' | tr ',' ' ')
printf '\n%-10s %-6s %14s %14s %8s\n' mode test "redis rps" "cachelab rps" ratio
json="{\n  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\n"
json+="  \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\",\n"
json+="  \"nproc\": $(nproc),\n  \"redis_version\": \"$(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)\",\n"
json+="  \"results\": ["
sep=""
for mode in "${modes[@]}"; do
  IFS=: read -r name n pipeline <<<"$mode"
  for test in $tests_upper; do
    r=${rps["$name/$test/redis"]:-0}
    c=${rps["$name/$test/cachelab"]:-0}
    ratio=$(awk -v c="$c" -v r="$r" 'BEGIN { if (r > 0) printf "%.2f", c / r; else print "n/a" }')
    printf '%-10s %-6s %14s %14s %8s\n' "$name" "$test" "$r" "$c" "$ratio"
    json+="$sep\n    {\"mode\": \"$name\", \"requests\": $n, \"pipeline\": $pipeline, \"test\": \"$test\","
    json+=" \"redis_rps\": $r, \"cachelab_rps\": $c, \"ratio\": \"$ratio\"}"
    sep=","
  done
done
json+="\n  ]\n}\n"
mkdir -p "$(dirname "$OUT")"
printf '%b' "$json" >"$OUT"
echo
echo "wrote $OUT"

redis-cli -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
