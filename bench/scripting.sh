#!/usr/bin/env bash
# EVALSHA of the sorted-set sliding-window rate limiter through `cachelab serve` next to
# `redis-server`, measured with redis-benchmark, plus the in-process engine's number.
#
# Builds cachelab in release, starts both servers on loopback ports of their own, SCRIPT LOADs the
# limiter on both, runs `EVALSHA <sha> 1 rl:__rand_int__ NOW WINDOW LIMIT` with random keys
# (-r KEYS), pipelined (-P 16) and one request at a time, prints ops/s and the ratio
# cachelab/redis, then runs the engine's EVALSHA rows in-process and stops both servers.
#
#   REDIS_PORT      port for redis-server (default 16389)
#   CACHELAB_PORT   port for cachelab     (default 16390)
#   PIPELINED_N     requests with -P 16 (default 500000)
#   PLAIN_N         requests without pipelining (default 200000)
#   KEYS            distinct rate-limited keys, redis-benchmark -r (default 100000)
#   IN_PROCESS      0 to skip the cargo bench rows (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

REDIS_PORT="${REDIS_PORT:-16389}"
CACHELAB_PORT="${CACHELAB_PORT:-16390}"
PIPELINED_N="${PIPELINED_N:-500000}"
PLAIN_N="${PLAIN_N:-200000}"
KEYS="${KEYS:-100000}"
IN_PROCESS="${IN_PROCESS:-1}"
# A fixed clock and a minute's window: each key admits its first 100 requests, then refuses, so
# both kinds of answer are measured. The script is the one in tests/transcripts/scripting.txt.
NOW=1000
WINDOW=60000
LIMIT=100
SCRIPT="local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) redis.call('zremrangebyscore', key, '-inf', now - window) local count = redis.call('zcard', key) if count >= limit then return {0, count} end redis.call('zadd', key, now, now .. '-' .. count) redis.call('pexpire', key, window) return {1, count + 1}"

require_tools redis-server redis-cli redis-benchmark
require_free_ports "$REDIS_PORT" "$CACHELAB_PORT"

build_release

start_servers
redis-cli -p "$CACHELAB_PORT" CONFIG SET save "" >/dev/null

sha=""
for port in "$REDIS_PORT" "$CACHELAB_PORT"; do
  got=$(redis-cli -p "$port" SCRIPT LOAD "$SCRIPT")
  [ -z "$sha" ] && sha=$got
  if [ "$got" != "$sha" ]; then
    echo "bench/scripting.sh: SCRIPT LOAD gave $got on port $port, $sha before" >&2
    exit 1
  fi
done
# One call by hand on each, so that a broken script shows as an error here, not as a fast bench.
for port in "$REDIS_PORT" "$CACHELAB_PORT"; do
  reply=$(redis-cli -p "$port" EVALSHA "$sha" 1 rl:check "$NOW" "$WINDOW" "$LIMIT" | tr '\n' ' ')
  [ "$reply" = "1 1 " ] || { echo "bench/scripting.sh: port $port answered '$reply'" >&2; exit 1; }
done

# Requests per second of one redis-benchmark run (the CSV's second column).
run() {
  local port=$1 n=$2 pipeline=$3
  redis-benchmark -p "$port" -q --csv -n "$n" -P "$pipeline" -r "$KEYS" \
    EVALSHA "$sha" 1 rl:__rand_int__ "$NOW" "$WINDOW" "$LIMIT" 2>/dev/null |
    tail -n 1 | tr -d '"' | awk -F, '{ print $2 }'
}

printf '%-10s %16s %16s %10s\n' mode "redis ops/s" "cachelab ops/s" ratio
for mode in "-P 16:$PIPELINED_N:16" "no pipe:$PLAIN_N:1"; do
  IFS=: read -r name n pipeline <<<"$mode"
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
  redis-cli -p "$CACHELAB_PORT" FLUSHALL >/dev/null
  r=$(run "$REDIS_PORT" "$n" "$pipeline")
  c=$(run "$CACHELAB_PORT" "$n" "$pipeline")
  ratio=$(awk -v c="$c" -v r="$r" 'BEGIN { if (r > 0) printf "%.2f", c / r; else print "-" }')
  printf '%-10s %16s %16s %10s\n' "$name" "$r" "$c" "$ratio"
done
for port in "$REDIS_PORT" "$CACHELAB_PORT"; do
  echo "port $port: $(redis-cli -p "$port" DBSIZE) keys, rl:1 holds $(redis-cli -p "$port" ZCARD rl:000000000001) members"
done

if [ "$IN_PROCESS" != 0 ]; then
  echo
  echo "in-process (cargo bench -p cachelab-engine --bench execute -- --scripting):"
  cargo bench --quiet -p cachelab-engine --bench execute -- --scripting
fi
