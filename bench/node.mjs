// The engine compiled to WebAssembly against ioredis-mock, in one Node process, on the same
// command streams. Part of `bench/run`; runs on its own too:
//
//   node bench/node.mjs <wasm-bindgen nodejs out dir> [--quick] [--json out.json]
//
// Every workload is built as a list of argv arrays before any clock starts. Each engine runs it
// in two ways, on a fresh instance after the same untimed setup:
//   - one command per call: `await redis[cmd](...)` for ioredis-mock, `execute(argv)` for the
//     engine (one JS<->wasm crossing per command);
//   - batched, 1,000 commands per call: `redis.pipeline(cmds).exec()` for ioredis-mock, and
//     `run_batch(frame)` for the engine, where the frame is the batch already encoded (as a
//     socket buffer would hold it) and the result is the RESP replies.
// The ratio column is the engine's better mode over ioredis-mock's better mode.
// Every loop is bounded by a command count and by a time budget, whichever ends first; a setup
// that runs out of its budget marks the row "n/a" with the reason.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const wasmDir = path.resolve(argv.find((a) => !a.startsWith('--')) ?? 'target/wasm-node');
const quick = argv.includes('--quick');
const jsonAt = argv.indexOf('--json');
const jsonOut = jsonAt >= 0 ? argv[jsonAt + 1] : null;

const { new_engine } = require(path.join(wasmDir, 'cachelab_wasm_node.js'));
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

// name, setup commands, the timed stream, and an optional reason to skip the engine.
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
      stream: (n) =>
        seq(n, (i) => ['ZADD', 'board', String(pick(i + 7, 1_000_003)), `player:${pick(i, size)}`]),
    },
    {
      name: `ZREVRANGE top10 board=${size}`,
      setup: () => board(size),
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

// ---- the engine ----------------------------------------------------------------------------

const enc = new TextEncoder();
function frame(cmds) {
  const parts = cmds.map((c) => c.map((a) => enc.encode(a)));
  let len = 0;
  for (const c of parts) len += 4 + c.reduce((s, a) => s + 4 + a.length, 0);
  const buf = new Uint8Array(len);
  const view = new DataView(buf.buffer);
  let p = 0;
  for (const c of parts) {
    view.setUint32(p, c.length, true);
    p += 4;
    for (const a of c) {
      view.setUint32(p, a.length, true);
      p += 4;
      buf.set(a, p);
      p += a.length;
    }
  }
  return buf;
}

const dec = new TextDecoder();
const engineHas = (cmd) => {
  const e = new_engine(1);
  // COMMAND INFO of an unknown command answers a nil entry.
  return !/^\*1\r\n[*$]-1\r\n$/.test(dec.decode(e.execute(['COMMAND', 'INFO', cmd], 0)));
};

// Virtual time follows the wall clock, so time to live means the same for both engines.
const t0 = Date.now();
const clock = () => Date.now();

function engineSetup(w) {
  const e = new_engine(1);
  const cmds = w.setup();
  for (let i = 0; i < cmds.length; i += BATCH) e.run_batch(frame(cmds.slice(i, i + BATCH)), clock());
  return e;
}

function engineExecute(w, stream) {
  const e = engineSetup(w);
  let done = 0;
  const start = performance.now();
  const stop = start + BUDGET_MS;
  while (done < stream.length && performance.now() < stop) {
    const now = clock();
    const end = Math.min(stream.length, done + 100);
    for (; done < end; done++) {
      const reply = e.execute(stream[done], now);
      // An error reply means the row measures nothing: say so instead of printing a rate.
      if (done === 0 && reply[0] === 45) throw new Error(dec.decode(reply).trim());
    }
    e.advance(now);
  }
  return { ops: done, secs: (performance.now() - start) / 1000 };
}

function engineBatch(w, stream) {
  const e = engineSetup(w);
  const frames = [];
  for (let i = 0; i < stream.length; i += BATCH) frames.push([i, frame(stream.slice(i, i + BATCH))]);
  let done = 0;
  const start = performance.now();
  const stop = start + BUDGET_MS;
  for (const [i, f] of frames) {
    if (performance.now() >= stop) break;
    const now = clock();
    e.run_batch(f, now);
    e.advance(now);
    done = Math.min(stream.length, i + BATCH);
  }
  return { ops: done, secs: (performance.now() - start) / 1000 };
}

// ---- ioredis-mock --------------------------------------------------------------------------

// ioredis-mock has no SCRIPT; EVAL registers a script under its SHA1 as Redis does.
function mockCommand(cmd) {
  if (cmd[0] === 'SCRIPT' && cmd[1] === 'LOAD') return ['eval', cmd[2], '1', '{setup}', '0', '1', '1', 'x'];
  return [cmd[0].toLowerCase(), ...cmd.slice(1)];
}

async function mockSetup(w) {
  const r = new Redis();
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
  return r;
}

async function mockAwait(w, stream) {
  const r = await mockSetup(w);
  const cmds = stream.map(mockCommand);
  let done = 0;
  const start = performance.now();
  const stop = start + BUDGET_MS;
  // The clock is read after every command: on a big sorted set one command can take a second.
  while (done < cmds.length && performance.now() < stop) {
    const [name, ...args] = cmds[done++];
    await r[name](...args);
  }
  r.disconnect();
  return { ops: done, secs: (performance.now() - start) / 1000 };
}

async function mockPipeline(w, stream) {
  const r = await mockSetup(w);
  const cmds = stream.map(mockCommand);
  let done = 0;
  const start = performance.now();
  const stop = start + BUDGET_MS;
  // Pipelines grow from one command to BATCH while they stay short, so that a slow command
  // cannot overrun the budget by a whole batch.
  let size = 1;
  while (done < cmds.length && performance.now() < stop) {
    const end = Math.min(cmds.length, done + size);
    const t = performance.now();
    await r.pipeline(cmds.slice(done, end)).exec();
    done = end;
    if (performance.now() - t < BUDGET_MS / 50) size = Math.min(BATCH, size * 2);
  }
  r.disconnect();
  return { ops: done, secs: (performance.now() - start) / 1000 };
}

// ---- the table -----------------------------------------------------------------------------

const rate = (m) => (m && m.ops > 0 ? m.ops / m.secs : null);
const fmt = (v) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);

async function measure(label, f) {
  try {
    return rate(await f());
  } catch (e) {
    return `n/a: ${e.message.split('\n')[0]}`;
  }
}

const rows = [];
const head = ['workload', 'mock await', 'mock pipeline', 'wasm execute', 'wasm batch', 'wasm/mock'];
console.log(`cachelab wasm (Node ${process.version}) vs ioredis-mock, up to ${N} commands or ${BUDGET_MS} ms per cell, ops/s`);
console.log(head.join(' | '));
for (const w of workloads) {
  const stream = w.stream(N);
  const row = { workload: w.name };
  row.mock_await = await measure('mock await', () => mockAwait(w, stream));
  row.mock_pipeline = await measure('mock pipeline', () => mockPipeline(w, stream));
  if (w.needs && !engineHas(w.needs)) {
    row.wasm_execute = row.wasm_batch = `n/a: engine lacks ${w.needs.toUpperCase()}`;
  } else {
    row.wasm_execute = await measure('wasm execute', () => engineExecute(w, stream));
    row.wasm_batch = await measure('wasm batch', () => engineBatch(w, stream));
  }
  const best = (a, b) => Math.max(...[a, b].filter((x) => typeof x === 'number'), -1);
  const mock = best(row.mock_await, row.mock_pipeline);
  const wasm = best(row.wasm_execute, row.wasm_batch);
  row.ratio = mock > 0 && wasm > 0 ? wasm / mock : null;
  rows.push(row);
  console.log(
    [w.name, fmt(row.mock_await), fmt(row.mock_pipeline), fmt(row.wasm_execute), fmt(row.wasm_batch),
      row.ratio === null ? 'n/a' : row.ratio.toFixed(row.ratio < 10 ? 2 : 0)].join(' | '),
  );
}
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ node: process.version, commands_per_cell: N, budget_ms: BUDGET_MS, rows }, null, 2));
}
