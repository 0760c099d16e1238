#!/usr/bin/env bash
# Throughput of `cachelab serve` next to `redis-server`, measured with redis-benchmark.
#
# Builds cachelab in release, starts both servers on loopback ports of their own, runs the same
# redis-benchmark workloads against each (pipelined: -P 16; then one request at a time), prints
# a side-by-side table with the ratio cachelab/redis, writes bench/results/server.json and stops
# both servers. Next to requests per second it reports the CPU time each server's thread spent
# per request (from /proc/<pid>/schedstat, user and system time together): on a shared machine
# the throughput moves with whatever else runs, the CPU cost much less.
#
#   REDIS_PORT      port for redis-server (default 16379)
#   CACHELAB_PORT   port for cachelab     (default 16380)
#   TESTS           workloads to run, comma-separated names from the list below, any case
#                   (default: all of them)
#   PIPELINED_N     requests per workload with -P 16, before its divisor (default 1000000)
#   PLAIN_N         requests per workload without pipelining, before its divisor (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

REDIS_PORT="${REDIS_PORT:-16379}"
CACHELAB_PORT="${CACHELAB_PORT:-16380}"
TESTS="${TESTS:-}"
PIPELINED_N="${PIPELINED_N:-1000000}"
PLAIN_N="${PLAIN_N:-200000}"
OUT=bench/results/server.json

# name, divisor of the mode's request count, redis-benchmark arguments. They run in this order
# on one keyspace per mode, so the pops find what the pushes left: LPOP and RPOP drain the list
# LPUSH and RPUSH filled, SPOP and ZPOPMIN empty the one-member set and sorted set SADD and ZADD
# made (the built-in tests without -r always use the same member). A name starting with `_` is
# a setup step for the workload named by the rest, run but not reported: LRANGE_100 is what
# `-t lrange_100` does (as many LPUSHes of a 3-byte value as LRANGEs follow, then `LRANGE mylist
# 0 99`), in two steps so that the CPU time of the LRANGEs is measured alone. ZADD_R10K loads
# `myzset` (emptied by ZPOPMIN) with up to 10,000 members for ZRANGE_10 and ZRANK. The divisor
# keeps the slow workloads (100-element replies, 10-key MSETs) to a second or two each.
WORKLOADS=(
  "SET        1  -t set"
  "GET        1  -t get"
  "INCR       1  -t incr"
  "LPUSH      1  -t lpush"
  "RPUSH      1  -t rpush"
  "LPOP       1  -t lpop"
  "RPOP       1  -t rpop"
  "SADD       1  -t sadd"
  "HSET       1  -t hset"
  "SPOP       1  -t spop"
  "ZADD       1  -t zadd"
  "ZPOPMIN    1  -t zpopmin"
  "_LRANGE_100 4  -t lpush"
  "LRANGE_100 4  LRANGE mylist 0 99"
  "MSET       2  -t mset"
  "ZADD_R10K  1  -r 10000 ZADD myzset __rand_int__ member:__rand_int__"
  "ZRANGE_10  2  ZRANGE myzset 0 9 WITHSCORES"
  "ZRANK      1  -r 10000 ZRANK myzset member:__rand_int__"
  "XADD       1  XADD mystream * f v"
)

selected() {
  [ -z "$TESTS" ] && return 0
  local want
  for want in ${TESTS//,/ }; do
    [ "${want^^}" = "$1" ] && return 0
  done
  return 1
}

require_tools redis-server redis-cli redis-benchmark
require_free_ports "$REDIS_PORT" "$CACHELAB_PORT"

build_release --bin cachelab

start_servers
declare -A pid_of=([redis]=$REDIS_PID [cachelab]=$CACHELAB_PID)

# One redis-benchmark run; prints the requests per second of its last test (the CSV's second
# column).
run() {
  local port=$1 n=$2 pipeline=$3
  shift 3
  redis-benchmark -p "$port" -q --csv -n "$n" -P "$pipeline" "$@" 2>/dev/null |
    tail -n 1 | awk -F'","' '{ print $2 }'
}

# Nanoseconds the server's main thread has run so far.
cpu_ns() {
  cut -d' ' -f1 "/proc/$1/schedstat"
}

declare -A rps cpu
names=()
modes=("pipelined:$PIPELINED_N:16" "plain:$PLAIN_N:1")
for mode in "${modes[@]}"; do
  IFS=: read -r mode_name mode_n pipeline <<<"$mode"
  # Fresh keyspaces, so that both servers start each mode from the same state.
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
  redis-cli -p "$CACHELAB_PORT" FLUSHALL >/dev/null
  for spec in "${WORKLOADS[@]}"; do
    # read -a splits on blanks without expanding the `*` of XADD.
    read -r -a words <<<"$spec"
    name=${words[0]}
    selected "${name#_}" || continue
    n=$((mode_n / words[1]))
    [ "$mode_name" = pipelined ] && [ "${name:0:1}" != _ ] && names+=("$name")
    for server in redis cachelab; do
      port=$REDIS_PORT
      [ "$server" = cachelab ] && port=$CACHELAB_PORT
      echo "running $mode_name $name (-n $n -P $pipeline) against $server..." >&2
      before=$(cpu_ns "${pid_of[$server]}")
      rps["$mode_name/$name/$server"]=$(run "$port" "$n" "$pipeline" "${words[@]:2}" || true)
      after=$(cpu_ns "${pid_of[$server]}")
      cpu["$mode_name/$name/$server"]=$(((after - before) / n))
      rps["$mode_name/$name/n"]=$n
    done
  done
done

printf '\n%-10s %-11s %8s %11s %11s %6s %10s %10s %6s\n' mode workload requests "redis rps" \
  "cachelab rps" ratio "redis ns" "cachelab ns" ratio
json=$(machine_json)
json+="  \"results\": ["
sep=""
for mode in "${modes[@]}"; do
  IFS=: read -r mode_name mode_n pipeline <<<"$mode"
  for name in "${names[@]}"; do
    n=${rps["$mode_name/$name/n"]:-0}
    r=${rps["$mode_name/$name/redis"]:-0}
    c=${rps["$mode_name/$name/cachelab"]:-0}
    [ -n "$r" ] || r=0
    [ -n "$c" ] || c=0
    rc=${cpu["$mode_name/$name/redis"]:-0}
    cc=${cpu["$mode_name/$name/cachelab"]:-0}
    ratio=$(awk -v c="$c" -v r="$r" 'BEGIN { if (r > 0) printf "%.2f", c / r; else print "n/a" }')
    # Above 1 when cachelab spends less CPU per request than Redis.
    cpu_ratio=$(awk -v c="$cc" -v r="$rc" 'BEGIN { if (c > 0) printf "%.2f", r / c; else print "n/a" }')
    printf '%-10s %-11s %8s %11.0f %11.0f %6s %10s %10s %6s\n' "$mode_name" "$name" "$n" "$r" "$c" \
      "$ratio" "$rc" "$cc" "$cpu_ratio"
    json+="$sep\n    {\"mode\": \"$mode_name\", \"requests\": $n, \"pipeline\": $pipeline, \"test\": \"$name\","
    json+=" \"redis_rps\": $r, \"cachelab_rps\": $c, \"ratio\": \"$ratio\","
    json+=" \"redis_cpu_ns_per_request\": $rc, \"cachelab_cpu_ns_per_request\": $cc,"
    json+=" \"cpu_ratio\": \"$cpu_ratio\"}"
    sep=","
  done
done
json+="\n  ]\n}\n"
mkdir -p "$(dirname "$OUT")"
printf '%b' "$json" >"$OUT"
echo
echo "wrote $OUT"

redis-cli -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
