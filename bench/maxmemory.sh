#!/usr/bin/env bash
# Writes at the memory limit: `cachelab serve` next to `redis-server`, both at the same
# maxmemory, under allkeys-lru and allkeys-lfu, with redis-benchmark SET over many random keys;
# then the memory a million small strings take on each.
#
# Builds cachelab in release, starts both servers on loopback ports of their own (no snapshots:
# `save ""` on both, as cachelab serve starts with Redis's default save points), and for each
# policy flushes both and, for each mode (-P 16, then one request at a time), runs
# `redis-benchmark -t set -r RANDOM_KEYS -d VALUE_SIZE` against each and prints the ops/s, the
# ratio cachelab/redis and evicted_keys from INFO stats. Last, with no limit, it fills each with
# 1M keys `key:N` = `value:N` (DEBUG POPULATE on Redis, a pipelined SET stream through
# `redis-cli --pipe` on cachelab, the same keys and values) and prints used_memory per key.
#
#   REDIS_PORT      port for redis-server (default 16399)
#   CACHELAB_PORT   port for cachelab     (default 16400)
#   MAXMEMORY       the limit on both (default 64mb)
#   PIPELINED_N     SETs with -P 16 (default 1000000)
#   PLAIN_N         SETs without pipelining (default 200000)
#   RANDOM_KEYS     redis-benchmark -r (default 10000000)
#   VALUE_SIZE      redis-benchmark -d (default 100)
#   POPULATE_N      keys for the memory-per-key row (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

REDIS_PORT="${REDIS_PORT:-16399}"
CACHELAB_PORT="${CACHELAB_PORT:-16400}"
MAXMEMORY="${MAXMEMORY:-64mb}"
PIPELINED_N="${PIPELINED_N:-1000000}"
PLAIN_N="${PLAIN_N:-200000}"
RANDOM_KEYS="${RANDOM_KEYS:-10000000}"
VALUE_SIZE="${VALUE_SIZE:-100}"
POPULATE_N="${POPULATE_N:-1000000}"

require_tools redis-server redis-cli redis-benchmark
require_free_ports "$REDIS_PORT" "$CACHELAB_PORT"

build_release

# DEBUG POPULATE is refused unless debug commands are enabled (Redis 7's default is "no").
start_servers --enable-debug-command local

both() {
  for port in "$REDIS_PORT" "$CACHELAB_PORT"; do
    redis-cli -p "$port" "$@" >/dev/null
  done
}
both CONFIG SET save ""
both CONFIG SET appendonly no

info_field() { # port section field
  redis-cli -p "$1" INFO "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'
}

run() {
  local port=$1 n=$2 pipeline=$3
  redis-benchmark -p "$port" -q --csv -n "$n" -P "$pipeline" -t set -r "$RANDOM_KEYS" \
    -d "$VALUE_SIZE" 2>/dev/null | tail -n 1 | tr -d '"' | awk -F, '{ print $2 }'
}

printf '%-12s %-8s %14s %14s %7s %14s %14s\n' policy mode "redis ops/s" "cachelab ops/s" ratio \
  "redis evicted" "cachelab evict"
for policy in allkeys-lru allkeys-lfu; do
  both CONFIG SET maxmemory "$MAXMEMORY"
  both CONFIG SET maxmemory-policy "$policy"
  # Flushed once per policy: the pipelined run fills both to the limit, so the run without
  # pipelining that follows writes at the limit from its first request.
  both FLUSHALL
  for mode in "-P 16:$PIPELINED_N:16" "no pipe:$PLAIN_N:1"; do
    IFS=: read -r name n pipeline <<<"$mode"
    both CONFIG RESETSTAT
    r=$(run "$REDIS_PORT" "$n" "$pipeline")
    c=$(run "$CACHELAB_PORT" "$n" "$pipeline")
    ratio=$(awk -v c="$c" -v r="$r" 'BEGIN { if (r > 0) printf "%.2f", c / r; else print "-" }')
    printf '%-12s %-8s %14s %14s %7s %14s %14s\n' "$policy" "$name" "$r" "$c" "$ratio" \
      "$(info_field "$REDIS_PORT" stats evicted_keys)" "$(info_field "$CACHELAB_PORT" stats evicted_keys)"
  done
  for port in "$REDIS_PORT" "$CACHELAB_PORT"; do
    echo "  port $port after $policy: $(redis-cli -p "$port" DBSIZE) keys, used_memory $(info_field "$port" memory used_memory)"
  done
done

echo
both CONFIG SET maxmemory 0
both FLUSHALL
r0=$(info_field "$REDIS_PORT" memory used_memory)
c0=$(info_field "$CACHELAB_PORT" memory used_memory)
redis-cli -p "$REDIS_PORT" DEBUG POPULATE "$POPULATE_N" >/dev/null
# The same keys and values DEBUG POPULATE makes, as RESP, through one pipelined connection.
awk -v n="$POPULATE_N" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = "key:" i; v = "value:" i
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
  }
}' | redis-cli -p "$CACHELAB_PORT" --pipe >/dev/null
r1=$(info_field "$REDIS_PORT" memory used_memory)
c1=$(info_field "$CACHELAB_PORT" memory used_memory)
echo "$POPULATE_N small strings (key:N = value:N), used_memory before -> after, per key:"
echo "  redis-server: $r0 -> $r1 ($(redis-cli -p "$REDIS_PORT" DBSIZE) keys), $(( (r1 - r0) / POPULATE_N )) bytes/key"
echo "  cachelab:     $c0 -> $c1 ($(redis-cli -p "$CACHELAB_PORT" DBSIZE) keys), $(( (c1 - c0) / POPULATE_N )) bytes/key"
