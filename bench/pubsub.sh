#!/usr/bin/env bash
# Pub/sub fan-out and stream throughput of `cachelab serve` next to `redis-server`.
#
# Builds cachelab and cachelab-bench-pubsub in release, starts both servers on loopback ports
# of their own, runs cachelab-bench-pubsub against each (Redis first), prints a side-by-side
# table with the ratio cachelab/redis, writes bench/results/pubsub.json and stops both servers.
# Besides wall-clock rates it reports the CPU time each server's main thread spent in each
# measurement (/proc/<pid>/schedstat), which moves less with the machine's other load.
#
#   REDIS_PORT      port for redis-server (default 16381)
#   CACHELAB_PORT   port for cachelab     (default 16382)
#   BENCH_ARGS      extra options for cachelab-bench-pubsub (see its --help), for example
#                   "--messages 10000 --entries 20000" for a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

REDIS_PORT="${REDIS_PORT:-16381}"
CACHELAB_PORT="${CACHELAB_PORT:-16382}"
BENCH_ARGS="${BENCH_ARGS:-}"
OUT=bench/results/pubsub.json

require_tools redis-server redis-cli
require_free_ports "$REDIS_PORT" "$CACHELAB_PORT"

build_release --bin cachelab --bin cachelab-bench-pubsub
BENCH=target/release/cachelab-bench-pubsub

start_servers
declare -A pid_of=([redis]=$REDIS_PID [cachelab]=$CACHELAB_PID)

declare -A result
for server in redis cachelab; do
  port=$REDIS_PORT
  [ "$server" = cachelab ] && port=$CACHELAB_PORT
  echo "running cachelab-bench-pubsub against $server..." >&2
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of options
  while read -r name value; do
    result["$name/$server"]=$value
  done < <("$BENCH" --port "$port" --pid "${pid_of[$server]}" $BENCH_ARGS)
done

# metric, label, whether more is better (the ratio is cachelab/redis for rates, redis/cachelab
# for times, so that above 1 always means cachelab is ahead).
rows=(
  "fanout_messages_per_sec    fan-out_msg/s         rate"
  "fanout_deliveries_per_sec  fan-out_deliveries/s  rate"
  "fanout_seconds             fan-out_all_received_s time"
  "publish_seconds            publisher_done_s      time"
  "fanout_server_cpu_seconds  fan-out_server_cpu_s  time"
  "xadd_entries_per_sec       XADD_entries/s        rate"
  "xadd_server_cpu_seconds    XADD_server_cpu_s     time"
  "xreadgroup_entries_per_sec XREADGROUP_entries/s  rate"
  "xreadgroup_server_cpu_seconds XREADGROUP_server_cpu_s time"
)
args_text=$("$BENCH" --help | sed -n 's/^  \(--[a-z]*\) .*\[\(.*\)\]$/\1 \2/p' | tr '\n' ' ')
printf '\n%-24s %12s %12s %10s\n' measurement redis cachelab "ratio"
json=$(machine_json)
json+="  \"defaults\": \"${args_text% }\",\n  \"args\": \"$BENCH_ARGS\",\n"
json+="  \"results\": ["
sep=""
for row in "${rows[@]}"; do
  read -r metric label kind <<<"$row"
  r=${result["$metric/redis"]:-}
  c=${result["$metric/cachelab"]:-}
  [ -n "$r" ] || continue
  ratio=$(awk -v c="$c" -v r="$r" -v k="$kind" 'BEGIN {
    if (c == "" || r <= 0 || c <= 0) { print "n/a"; exit }
    printf "%.2f", (k == "rate") ? c / r : r / c }')
  printf '%-24s %12s %12s %10s\n' "$label" "$r" "${c:-failed}" "$ratio"
  json+="$sep\n    {\"metric\": \"$metric\", \"redis\": $r, \"cachelab\": ${c:-null}, \"ratio\": \"$ratio\"}"
  sep=","
done
json+="\n  ]\n}\n"
mkdir -p "$(dirname "$OUT")"
printf '%b' "$json" >"$OUT"
echo
echo "wrote $OUT"

redis-cli -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
