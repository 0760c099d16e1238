// The engine compiled to WebAssembly against ioredis-mock, in one Node process, on the same
// command streams. Part of `bench/run`; runs on its own too:
//
//   node --expose-gc bench/node.mjs <wasm-bindgen nodejs out dir> [--quick] [--json out.json]
//     [--only <regex of workload names>]
//
// Every workload is built as a list of argv arrays before any clock starts. Each side runs it
// in two ways, on a fresh instance after the same untimed setup, as a user of each library
// would write it:
//   - one command per call: `await redis[name](...args)` for ioredis-mock (its API is a promise
//     per command), `db.call(...argv)` for the engine (crates/wasm-node/client.mjs: a
//     synchronous call per command that writes the arguments into the module's memory, runs
//     the command, and decodes the reply into a string, number, null or array);
//   - batched, 1,000 commands per call: `await redis.pipeline(cmds).exec()` for ioredis-mock,
//     `db.pipeline(cmds)` for the engine (the same encoding and decoding, one crossing for the
//     lot). Both take the argv arrays and return every reply decoded.
// Two ratios: per command (engine call / ioredis-mock await) and batched (pipeline / pipeline);
// neither side is ever batched against the other unbatched. Each is given by the wall clock and
// by process CPU time (commands per CPU second), which moves much less when other work shares
// the machine; the row ends with the one-minute load average.
// Every loop runs a short untimed warm-up first (see `drive`), then is bounded by a command
// count and by a time budget, whichever ends first; a setup that runs out of its budget marks
// the row "n/a" with the reason.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';

const argv = process.argv.slice(2);
const positional = argv.filter((a, i) => !a.startsWith('--') && !['--json', '--only'].includes(argv[i - 1]));
const wasmDir = path.resolve(positional[0] ?? 'target/wasm-node');
const quick = argv.includes('--quick');
const jsonAt = argv.indexOf('--json');
const jsonOut = jsonAt >= 0 ? argv[jsonAt + 1] : null;
// `--only <regex>`: the rows whose workload name matches, for looking at a few rows at a time.
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new RegExp(argv[onlyAt + 1]) : null;

const { open } = await import(new URL('../crates/wasm-node/client.mjs', import.meta.url));
let Redis;
try {
  Redis = (await import('ioredis-mock')).default;
} catch (e) {
  console.error('bench/node.mjs: ioredis-mock is not installed (cd bench && npm install)');
  process.exit(2);
}

const N = quick ? 20_000 : 200_000; // commands per row (upper bound)
const BUDGET_MS = quick ? 1_000 : 3_000; // time per row and mode (upper bound)
const SETUP_BUDGET_MS = quick ? 20_000 : 60_000;
const BATCH = 1_000;
const KEYS = 100_000;

// A cheap scramble so consecutive commands touch different keys, as redis-benchmark -r does.
const pick = (i, n) => Number((BigInt(i) * 0x9e3779b97f4a7c15n) % BigInt(n));
const seq = (n, f) => Array.from({ length: n }, (_, i) => f(i));

const SLIDING_WINDOW = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 1
end
return 0`;
const SLIDING_SHA = createHash('sha1').update(SLIDING_WINDOW).digest('hex');

// A leaderboard loaded with ZADDs of 10,000 members each (a few big commands: per-command
// overhead is not what setup should measure).
function board(size) {
  const cmds = [];
  for (let start = 0; start < size; start += 10_000) {
    const args = ['ZADD', 'board'];
    for (let i = start; i < Math.min(size, start + 10_000); i++) {
      args.push(String(pick(i, 1_000_003)), `player:${i}`);
    }
    cmds.push(args);
  }
  return cmds;
}

// The Map ioredis-mock's ZADD builds for the leaderboard `board(size)` loads: member -> its
// score and name. ioredis-mock copies a key's whole value on every read and write of it (a ZADD
// on a 1,000,000-member set copies the set twice), so loading a leaderboard through its ZADDs
// takes it minutes (51-78% of the 1,000,000 members after 60 s); it is handed this Map at
// construction instead, through its `data` option, and holds the same set its ZADDs would
// have built. Only setup differs: the timed streams are the same commands on both sides.
function boardData(size) {
  const map = new Map();
  for (const [, , ...pairs] of board(size)) {
    for (let i = 0; i < pairs.length; i += 2) {
      map.set(pairs[i + 1], { score: Number(pairs[i]), value: pairs[i + 1] });
    }
  }
  return { board: map };
}

// name, setup commands, the timed stream, an optional reason to skip the engine, and optional
// data ioredis-mock starts from instead of running the setup commands.
const workloads = [
  {
    name: 'SET',
    setup: () => [],
    stream: (n) => seq(n, (i) => ['SET', `key:${pick(i, KEYS)}`, 'xxx']),
  },
  {
    name: 'GET',
    setup: () => seq(KEYS, (i) => ['SET', `key:${i}`, 'xxx']),
    stream: (n) => seq(n, (i) => ['GET', `key:${pick(i, KEYS)}`]),
  },
  {
    name: 'INCR',
    setup: () => [],
    stream: (n) => seq(n, (i) => ['INCR', `counter:${pick(i, KEYS)}`]),
  },
  {
    name: 'HSET',
    setup: () => [],
    stream: (n) => seq(n, (i) => ['HSET', 'hash', `field:${pick(i, KEYS)}`, 'xxx']),
  },
  {
    name: 'LPUSH/LPOP',
    setup: () => [],
    stream: (n) => seq(n, (i) => (i % 2 === 0 ? ['LPUSH', 'list', 'xxx'] : ['LPOP', 'list'])),
  },
  {
    name: 'SADD',
    setup: () => [],
    stream: (n) => seq(n, (i) => ['SADD', 'set', `member:${pick(i, KEYS)}`]),
  },
  ...[5_000, 10_000, 1_000_000].flatMap((size) => [
    {
      name: `ZADD board=${size}`,
      setup: () => board(size),
      mockData: () => boardData(size),
      stream: (n) =>
        seq(n, (i) => ['ZADD', 'board', String(pick(i + 7, 1_000_003)), `player:${pick(i, size)}`]),
    },
    {
      name: `ZREVRANGE top10 board=${size}`,
      setup: () => board(size),
      mockData: () => boardData(size),
      stream: (n) => seq(n, () => ['ZREVRANGE', 'board', '0', '9', 'WITHSCORES']),
    },
  ]),
  {
    // Keys set with a 20 ms time to live while time moves on: most of the keyspace expires
    // during the run and is reclaimed, lazily on access or by the active cycle.
    name: 'SET PX 20 (expiring)',
    setup: () => [],
    stream: (n) => seq(n, (i) => ['SET', `ttl:${pick(i, KEYS)}`, 'xxx', 'PX', '20']),
  },
  {
    name: 'EXPIRE',
    setup: () => seq(KEYS, (i) => ['SET', `key:${i}`, 'xxx']),
    stream: (n) => seq(n, (i) => ['EXPIRE', `key:${pick(i, KEYS)}`, String(100 + (i % 1000))]),
  },
  {
    // A rate limiter: at most 10 events per 1,000 ms per user, over 1,000 users.
    name: 'EVALSHA sliding window',
    setup: () => [['SCRIPT', 'LOAD', SLIDING_WINDOW]],
    stream: (n) =>
      seq(n, (i) => [
        'EVALSHA', SLIDING_SHA, '1', `rate:${pick(i, 1000)}`, String(i), '1000', '10', `e${i}`,
      ]),
    needs: 'evalsha',
  },
];

// Each timed loop starts on a collected heap (when node runs with --expose-gc, as bench/run
// starts it), so that neither side pays for garbage the other side's setup left behind. The
// collection returns before V8's helper threads have swept the heap; that sweeping is then
// waited out (the process stays idle until it uses under a tenth of a core over 10 ms), since
// it would otherwise be counted as CPU time of the loop that follows: a fixed cost of the
// previous collection that weighs most on the shortest loops, the fastest side's.
async function collect() {
  if (!globalThis.gc) return;
  globalThis.gc();
  for (let i = 0; i < 50; i++) {
    const cpu0 = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (cpuSecs(cpu0) < 0.001) break;
  }
}

// Every loop is driven the same way. `step(done)` runs the stream's commands from index `done`
// on and returns the index it got to. First an untimed warm-up on the same instance (a tenth
// of the stream, at most a tenth of the budget), as harnesses do for JIT-compiled code, so that
// neither side's rate includes V8 compiling its code (the engine's module, ioredis-mock's
// JavaScript) for the first time; then the timed part, from a collected heap, until the stream
// or the budget ends.
async function drive(total, step) {
  let done = 0;
  const warmStop = performance.now() + BUDGET_MS / 10;
  while (done < total / 10 && performance.now() < warmStop) done = await step(done);
  const warmed = done;
  await collect();
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const stop = start + BUDGET_MS;
  while (done < total && performance.now() < stop) done = await step(done);
  return { ops: done - warmed, secs: (performance.now() - start) / 1000, cpu: cpuSecs(cpu0) };
}

// ---- the engine ----------------------------------------------------------------------------

const engineHas = (cmd) => {
  // COMMAND INFO of an unknown command answers a nil entry.
  const db = open(wasmDir);
  const [info] = db.call('COMMAND', 'INFO', cmd);
  db.close();
  return info !== null;
};

// Virtual time follows the wall clock, so time to live means the same for both engines.
const clock = () => Date.now();

function engineSetup(w) {
  const db = open(wasmDir, { now: clock() });
  const cmds = w.setup();
  for (let i = 0; i < cmds.length; i += BATCH) db.pipeline(cmds.slice(i, i + BATCH));
  return db;
}

function engineCall(w, stream) {
  const db = engineSetup(w);
  // The clock is read every 100 commands, as the other loops read theirs. An error reply
  // throws: the row then says n/a with the error instead of a rate.
  return drive(stream.length, (done) => {
    db.advance(clock());
    const end = Math.min(stream.length, done + 100);
    for (; done < end; done++) db.call(...stream[done]);
    return end;
  }).finally(() => db.close());
}

function enginePipeline(w, stream) {
  const db = engineSetup(w);
  return drive(stream.length, (done) => {
    db.advance(clock());
    const end = Math.min(stream.length, done + BATCH);
    const replies = db.pipeline(stream.slice(done, end));
    if (replies[0] instanceof Error) throw replies[0];
    return end;
  }).finally(() => db.close());
}

// ---- ioredis-mock --------------------------------------------------------------------------

// ioredis-mock has no SCRIPT; EVAL registers a script under its SHA1 as Redis does.
function mockCommand(cmd) {
  if (cmd[0] === 'SCRIPT' && cmd[1] === 'LOAD') return ['eval', cmd[2], '1', '{setup}', '0', '1', '1', 'x'];
  return [cmd[0].toLowerCase(), ...cmd.slice(1)];
}

// ioredis-mock's instances on one host and port share one keyspace, which outlives them. Each
// run empties it when it ends, so that every run starts from an empty keyspace, as every
// engine run starts from a fresh engine, and no run's data stays in the heap during the next.
async function withMock(w, run) {
  const r = new Redis(w.mockData ? { data: w.mockData() } : {});
  try {
    await mockLoad(r, w);
    return await run(r);
  } finally {
    await r.flushall();
    r.disconnect();
  }
}

async function mockLoad(r, w) {
  if (w.mockData) return;
  const cmds = w.setup().map(mockCommand);
  const stop = performance.now() + SETUP_BUDGET_MS;
  for (let i = 0; i < cmds.length; i++) {
    if (performance.now() > stop) {
      const loaded = Math.floor((i / cmds.length) * 100);
      throw new Error(`setup did not finish in ${SETUP_BUDGET_MS / 1000} s (${loaded}% loaded)`);
    }
    const [name, ...args] = cmds[i];
    await r[name](...args);
  }
}

function mockAwait(w, stream) {
  const cmds = stream.map(mockCommand);
  // One command per step: on a big sorted set one command can take a second.
  return withMock(w, (r) =>
    drive(cmds.length, async (done) => {
      const [name, ...args] = cmds[done];
      await r[name](...args);
      return done + 1;
    }),
  );
}

function mockPipeline(w, stream) {
  const cmds = stream.map(mockCommand);
  // Pipelines grow from one command to BATCH while they stay short, so that a slow command
  // cannot overrun the budget by a whole batch.
  let size = 1;
  return withMock(w, (r) =>
    drive(cmds.length, async (done) => {
      const end = Math.min(cmds.length, done + size);
      const t = performance.now();
      await r.pipeline(cmds.slice(done, end)).exec();
      if (performance.now() - t < BUDGET_MS / 50) size = Math.min(BATCH, size * 2);
      return end;
    }),
  );
}

// ---- the table -----------------------------------------------------------------------------

// Process CPU time (user and system, every thread: the collector's helpers too) since `since`.
function cpuSecs(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

const fmt = (v) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);

// Commands per wall-clock second and per second of CPU time: on a machine shared with other
// work the first moves with the scheduler, the second much less.
async function measure(f) {
  try {
    const m = await f();
    if (!(m.ops > 0)) return { rate: 'n/a: no command ran', cpuRate: null };
    return { rate: m.ops / m.secs, cpuRate: m.cpu > 0 ? m.ops / m.cpu : null };
  } catch (e) {
    const why = `n/a: ${e.message.split('\n')[0]}`;
    return { rate: why, cpuRate: null };
  }
}

const rows = [];
const head = ['workload', 'mock await', 'wasm call', 'ratio', 'CPU ratio',
  'mock pipeline', 'wasm pipeline', 'ratio', 'CPU ratio', 'load'];
console.log(`cachelab wasm (Node ${process.version}) vs ioredis-mock, up to ${N} commands or ${BUDGET_MS} ms per cell`);
console.log('ops/s by the wall clock; CPU ratio: the same ratio of commands per CPU second');
console.log(head.join(' | '));
const ratio = (ours, theirs) =>
  typeof ours === 'number' && typeof theirs === 'number' && theirs > 0 ? ours / theirs : null;
const fmtRatio = (r) => (r === null ? 'n/a' : r.toFixed(r < 10 ? 2 : 0));
for (const w of workloads) {
  if (only && !only.test(w.name)) continue;
  const stream = w.stream(N);
  const row = { workload: w.name };
  const cells = {};
  cells.mock_await = await measure(() => mockAwait(w, stream));
  cells.mock_pipeline = await measure(() => mockPipeline(w, stream));
  if (w.needs && !engineHas(w.needs)) {
    const why = { rate: `n/a: engine lacks ${w.needs.toUpperCase()}`, cpuRate: null };
    cells.wasm_call = cells.wasm_pipeline = why;
  } else {
    cells.wasm_call = await measure(() => engineCall(w, stream));
    cells.wasm_pipeline = await measure(() => enginePipeline(w, stream));
  }
  for (const [k, v] of Object.entries(cells)) {
    row[k] = v.rate;
    row[`${k}_cpu`] = v.cpuRate;
  }
  row.ratio_per_command = ratio(row.wasm_call, row.mock_await);
  row.ratio_per_command_cpu = ratio(row.wasm_call_cpu, row.mock_await_cpu);
  row.ratio_batched = ratio(row.wasm_pipeline, row.mock_pipeline);
  row.ratio_batched_cpu = ratio(row.wasm_pipeline_cpu, row.mock_pipeline_cpu);
  // The machine's one-minute load average when the row was done: other work running.
  row.load = loadavg()[0];
  rows.push(row);
  console.log(
    [w.name, fmt(row.mock_await), fmt(row.wasm_call), fmtRatio(row.ratio_per_command),
      fmtRatio(row.ratio_per_command_cpu), fmt(row.mock_pipeline), fmt(row.wasm_pipeline),
      fmtRatio(row.ratio_batched), fmtRatio(row.ratio_batched_cpu), row.load.toFixed(1)].join(' | '),
  );
}
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ node: process.version, commands_per_cell: N, budget_ms: BUDGET_MS, rows }, null, 2));
}
