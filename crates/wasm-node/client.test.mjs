// Tests of client.mjs, the engine's Node library, on a build of this crate:
//   CACHELAB_WASM_NODE=target/wasm-node node --test crates/wasm-node/client.test.mjs
// (scripts/wasm-engine-test.sh builds it and runs this).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from './client.mjs';

const dir = process.env.CACHELAB_WASM_NODE;
if (!dir) throw new Error('set CACHELAB_WASM_NODE to the wasm-bindgen --target nodejs output');

test('call takes any number of arguments, as strings, numbers or bytes', () => {
  const db = open(dir);
  assert.equal(db.call('PING'), 'PONG');
  assert.equal(db.call('ECHO', 'hi'), 'hi');
  assert.equal(db.call('SET', 'k', 'v'), 'OK');
  assert.equal(db.call('SET', 'n', 41), 'OK');
  assert.equal(db.call('INCRBY', 'n', 1), 42);
  assert.equal(db.call('HSET', 'h', 'a', '1'), 1);
  assert.equal(db.call('HSET', 'h', 'b', '2', 'c', '3'), 2);
  assert.equal(db.call('HSET', 'h', 'd', '4', 'e', '5', 'f', '6', 'g', '7'), 4);
  assert.deepEqual(db.call('HMGET', 'h', 'a', 'b', 'g', 'zz'), ['1', '2', '7', null]);
  assert.equal(db.call('SET', 'bytes', new Uint8Array([0x68, 0x00, 0x69])), 'OK');
  assert.equal(db.call('STRLEN', 'bytes'), 3);
  assert.equal(db.call('SET', 'text', 'héllo ✓ 𝄞'), 'OK');
  assert.equal(db.call('GET', 'text'), 'héllo ✓ 𝄞');
  assert.equal(db.call('GET', 'missing'), null);
  assert.deepEqual(db.command(['MGET', 'k', 'missing', 'n']), ['v', null, '42']);
  db.close();
});

test('an error reply is thrown from call and is a value in a pipeline', () => {
  const db = open(dir);
  assert.throws(() => db.call('NOPE'), /ERR unknown command 'NOPE'/);
  assert.throws(() => db.call('GET'), /wrong number of arguments for 'get'/);
  assert.throws(() => db.call('SET', 'k', {}), TypeError);
  // The engine goes on after each.
  assert.equal(db.call('SET', 'k', 'v'), 'OK');
  const [ok, err, got] = db.pipeline([['SET', 'a', '1'], ['INCR', 'k'], ['GET', 'a']]);
  assert.equal(ok, 'OK');
  assert.ok(err instanceof Error && /not an integer/.test(err.message));
  assert.equal(got, '1');
  db.close();
});

test('large arguments and replies grow the buffers and survive the memory growing', () => {
  const db = open(dir);
  const big = 'x'.repeat(3_000_000);
  assert.equal(db.call('SET', 'big', big), 'OK');
  for (let i = 0; i < 20_000; i++) db.call('SET', `key:${i}`, `value:${i}`);
  assert.equal(db.call('GET', 'big'), big);
  assert.equal(db.call('GET', 'key:12345'), 'value:12345');
  assert.equal(db.call('DBSIZE'), 20_001);
  db.close();
});

test('time is virtual: advance moves it and keys expire on it', () => {
  const db = open(dir, { now: 1_000_000 });
  assert.equal(db.call('SET', 'k', 'v', 'PX', 100), 'OK');
  db.advance(1_000_050);
  assert.equal(db.call('GET', 'k'), 'v');
  db.advance(1_000_101);
  assert.equal(db.call('GET', 'k'), null);
  db.close();
});
