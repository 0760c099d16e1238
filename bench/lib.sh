# Shared by the bench scripts that run `cachelab serve` next to `redis-server`. Source it after
# `cd` to the repository root; messages name the script that sourced it.
BENCH_NAME="bench/$(basename "$0")"

# Every server started here is stopped when the script ends, however it ends.
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

bench_fail() {
  echo "$BENCH_NAME: $*" >&2
  exit 1
}

require_tools() { # tool...
  local tool
  for tool; do
    command -v "$tool" >/dev/null || bench_fail "$tool is not installed"
  done
}

require_free_ports() { # port...
  local port
  for port; do
    if redis-cli -p "$port" PING >/dev/null 2>&1; then
      bench_fail "something already answers on port $port"
    fi
  done
}

# Builds cachelab-server in release (extra arguments go to cargo build) and sets BIN.
build_release() {
  cargo build --release --quiet -p cachelab-server "$@"
  BIN=target/release/cachelab
}

wait_ready() { # port
  for _ in $(seq 100); do
    redis-cli -p "$1" PING >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  bench_fail "nothing answers on port $1"
}

# Starts redis-server on REDIS_PORT (extra arguments go to redis-server) and `$BIN serve` on
# CACHELAB_PORT, sets REDIS_PID and CACHELAB_PID and waits until both answer PING.
start_servers() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no "$@" \
    --daemonize no --logfile /dev/null &
  REDIS_PID=$!
  pids+=("$REDIS_PID")
  "$BIN" serve --bind 127.0.0.1 --port "$CACHELAB_PORT" >/dev/null &
  CACHELAB_PID=$!
  pids+=("$CACHELAB_PID")
  wait_ready "$REDIS_PORT"
  wait_ready "$CACHELAB_PORT"
}

# The opening fields of a results file: when, on what machine, against which Redis.
machine_json() {
  printf '{\\n  "date": "%s",\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "cpu": "%s",\\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  printf '  "nproc": %s,\\n  "redis_version": "%s",\\n' "$(nproc)" \
    "$(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)"
}
