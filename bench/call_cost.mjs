// CPU time of one `db.call` through crates/wasm-node/client.mjs, for looking at the fixed cost
// of a command (bench/README.md, "The cost of one command"):
//
//   node --expose-gc bench/call_cost.mjs [wasm-bindgen nodejs out dir] [client.mjs]
//
// Each line is a fresh engine loaded with 100,000 keys (`SET key:<i> xxx`, pipelined), then
// four loops of 300,000 calls; the first warms the JIT up, and the best of the other three is
// printed in ns of process CPU time per call. The optional second argument runs another
// build's client.mjs (with its module), so that two builds can be alternated run by run.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

const wasmDir = path.resolve(process.argv[2] ?? 'target/wasm-node');
const clientPath = process.argv[3]
  ? pathToFileURL(path.resolve(process.argv[3])).href
  : new URL('../crates/wasm-node/client.mjs', import.meta.url).href;
const { open } = await import(clientPath);

const N = 300_000;
const KEYS = 100_000;
// A cheap scramble so consecutive commands touch different keys, as in bench/node.mjs.
const pick = (i, n) => Number((BigInt(i) * 0x9e3779b97f4a7c15n) % BigInt(n));
const keys = Array.from({ length: N }, (_, i) => `key:${pick(i, KEYS)}`);
const counters = keys.map((k) => `n${k}`);

const calls = {
  PING: (db) => db.call('PING'),
  'GET, one key': (db) => db.call('GET', 'key:1'),
  'SET, one key': (db) => db.call('SET', 'key:1', 'xxx'),
  'GET, 100,000 keys': (db, i) => db.call('GET', keys[i]),
  'SET, 100,000 keys': (db, i) => db.call('SET', keys[i], 'xxx'),
  'INCR, 100,000 keys': (db, i) => db.call('INCR', counters[i]),
};

const setup = Array.from({ length: KEYS }, (_, i) => ['SET', `key:${i}`, 'xxx']);
for (const [name, call] of Object.entries(calls)) {
  const db = open(wasmDir, { now: 1_000_000 });
  for (let i = 0; i < KEYS; i += 1000) db.pipeline(setup.slice(i, i + 1000));
  let best = Infinity;
  for (let round = 0; round < 4; round++) {
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < N; i++) call(db, i);
    const u = process.cpuUsage(cpu0);
    if (round > 0) best = Math.min(best, ((u.user + u.system) * 1000) / N);
  }
  db.close();
  console.log(`${name.padEnd(20)} ${best.toFixed(0).padStart(5)} ns`);
}
