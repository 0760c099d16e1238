// The engine's WebAssembly build as a Node library: one synchronous call per command, replies
// decoded into JavaScript values, as a user of a Redis client would want them.
//
//   import { open } from './crates/wasm-node/client.mjs';
//   const db = open('target/wasm-node');        // the wasm-bindgen --target nodejs output
//   db.call('SET', 'k', 'v');                     // 'OK'
//   db.call('INCR', 'n');                         // 1
//   db.pipeline([['GET', 'k'], ['INCR', 'n']]);   // ['v', 2], one crossing for the lot
//
// Replies: simple strings and bulk strings become strings (UTF-8), integers numbers, nil
// null, arrays arrays. An error reply is thrown as an Error from `call`; inside an array or a
// pipeline it is an Error value in its place. Arguments are strings (UTF-8), numbers (written
// as String(n) writes them) or Uint8Arrays (bytes as they are).
//
// Why not wasm-bindgen's own `execute(argv)`: passing a JS array of strings costs a table slot,
// a call back into JavaScript, an allocation and a free per argument, and the reply comes back
// as a fresh Uint8Array copy. Here the arguments are written straight into the module's memory
// (the framing of `run_batch`: u32 little-endian counts and lengths) and the reply is read where
// the engine wrote it, so each command is a single call with two numbers each way.
//
// Time is virtual, as everywhere in the engine: commands run at `db.now` (milliseconds), which
// `advance(now)` moves forward (running the active expire cycle) and which starts at Date.now().

import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const encoder = new TextEncoder();

export function open(bindgenDir, { seed = 1, now = Date.now() } = {}) {
  const glue = require(path.resolve(bindgenDir, 'cachelab_wasm_node.js'));
  const engine = glue.new_engine(seed);
  const memory = glue.wasm_memory();
  let u8 = new Uint8Array(memory.buffer);
  let dv = new DataView(memory.buffer);
  let buf = Buffer.from(memory.buffer);
  let inAt = 0;
  let inCap = 0;

  // Memory grows when the engine allocates; a grown memory detaches the old views. Only the
  // engine's calls allocate, and `run_input` and `advance` say when the memory grew, so the
  // views are renewed then, not checked on every call.
  const refresh = () => {
    u8 = new Uint8Array(memory.buffer);
    dv = new DataView(memory.buffer);
    buf = Buffer.from(memory.buffer);
  };
  const reserve = (bytes) => {
    inAt = engine.input(bytes);
    inCap = bytes;
    refresh();
  };
  reserve(4096);

  // Writes one command at offset `p` of the input buffer; returns the offset after it.
  function put(args, p) {
    const argc = args.length;
    if (p + 4 + 4 * argc > inCap) grow(p + 4 + 4 * argc, p);
    dv.setUint32(inAt + p, argc, true);
    p += 4;
    for (let i = 0; i < argc; i++) {
      let a = args[i];
      if (typeof a === 'number') a = String(a);
      if (typeof a === 'string') {
        const n = a.length;
        // At most three bytes per UTF-16 unit.
        if (p + 4 + 3 * n + 4 * (argc - i) > inCap) grow(p + 4 + 3 * n + 4 * (argc - i), p);
        const m = u8;
        const at = inAt + p + 4;
        let j = 0;
        if (n <= 64) {
          // Short ASCII is the common case and cheaper copied by hand than through encodeInto.
          for (; j < n; j++) {
            const c = a.charCodeAt(j);
            if (c >= 0x80) break;
            m[at + j] = c;
          }
        }
        let len = j;
        if (j < n) {
          const rest = j === 0 ? a : a.slice(j);
          len += encoder.encodeInto(rest, m.subarray(at + j, inAt + inCap)).written;
        }
        dv.setUint32(inAt + p, len, true);
        p += 4 + len;
      } else if (a instanceof Uint8Array) {
        if (p + 4 + a.length + 4 * (argc - i) > inCap) grow(p + 4 + a.length + 4 * (argc - i), p);
        dv.setUint32(inAt + p, a.length, true);
        u8.set(a, inAt + p + 4);
        p += 4 + a.length;
      } else {
        throw new TypeError(`argument ${i} is neither a string, a number nor a Uint8Array`);
      }
    }
    return p;
  }

  // Keeps what is written so far (the first `p` bytes) while the buffer grows.
  function grow(need, p) {
    const keep = u8.slice(inAt, inAt + p);
    reserve(Math.max(need, inCap * 2));
    u8.set(keep, inAt);
  }

  // ---- replies ------------------------------------------------------------------------------

  let pos = 0;

  function line(m) {
    const start = pos;
    while (m[pos] !== 13) pos++;
    const s = bulk(m, start, pos - start);
    pos += 2;
    return s;
  }

  function int(m) {
    let neg = false;
    if (m[pos] === 45) {
      neg = true;
      pos++;
    }
    let n = 0;
    while (m[pos] !== 13) n = n * 10 + (m[pos++] - 48);
    pos += 2;
    return neg ? -n : n;
  }

  // Short ASCII is cheapest built by hand; anything else goes through Buffer's UTF-8 decoder
  // (a single native call, cheaper than TextDecoder on a subarray).
  // Up to four bytes are turned into a string in one `fromCharCode` call (one allocation,
  // where adding characters one at a time makes a string per character).
  function bulk(m, start, len) {
    if (len <= 4) {
      let high = 0;
      for (let i = start; i < start + len; i++) high |= m[i];
      if (high >= 0x80) return text(start, len);
      switch (len) {
        case 0: return '';
        case 1: return String.fromCharCode(m[start]);
        case 2: return String.fromCharCode(m[start], m[start + 1]);
        case 3: return String.fromCharCode(m[start], m[start + 1], m[start + 2]);
        default: return String.fromCharCode(m[start], m[start + 1], m[start + 2], m[start + 3]);
      }
    }
    if (len <= 8) {
      let s = '';
      for (let i = start; i < start + len; i++) {
        const c = m[i];
        if (c >= 0x80) return text(start, len);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return text(start, len);
  }

  function text(start, len) {
    return buf.toString('utf8', start, start + len);
  }

  function value(m) {
    const t = m[pos++];
    switch (t) {
      case 43: // +
        if (m[pos] === 79 && m[pos + 1] === 75 && m[pos + 2] === 13) {
          pos += 4;
          return 'OK';
        }
        return line(m);
      case 45: // -
        return new Error(line(m));
      case 58: // :
        return int(m);
      case 36: { // $
        const len = int(m);
        if (len < 0) return null;
        const s = bulk(m, pos, len);
        pos += len + 2;
        return s;
      }
      case 42: { // *
        const n = int(m);
        if (n < 0) return null;
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = value(m);
        return out;
      }
      default:
        throw new Error(`unexpected reply byte ${t}`);
    }
  }

  function run(len) {
    // The replies' address, negated when the memory grew during the call.
    const at = engine.run_input(len, db.now);
    if (at < 0) {
      refresh();
      pos = -at;
    } else {
      pos = at;
    }
    return u8;
  }

  const db = {
    now,
    // The wasm-bindgen object, for what this wrapper does not cover (dbsize, free). Its
    // `input` and `run_input` belong to this wrapper: `input` may move the buffer whose
    // address the wrapper keeps, and writing through a stale address corrupts the module.
    // Call `advance` through the wrapper too, and `execute` and `run_batch` not at all: the
    // wrapper renews its views of the memory only when its own calls say the memory grew.
    engine,

    /// Runs one command; returns its reply, or throws an error reply.
    call(...args) {
      return this.command(args);
    },

    /// `call` with the arguments as an array.
    command(args) {
      const len = put(args, 0);
      const v = value(run(len));
      if (v instanceof Error) throw v;
      return v;
    },

    /// Runs the commands in one crossing; returns their replies in order, errors as values.
    pipeline(cmds) {
      let p = 0;
      for (let i = 0; i < cmds.length; i++) p = put(cmds[i], p);
      const m = run(p);
      const out = new Array(cmds.length);
      for (let i = 0; i < cmds.length; i++) out[i] = value(m);
      return out;
    },

    /// Moves virtual time to `now` and lets the engine's periodic work run.
    advance(t) {
      this.now = t;
      if (engine.advance(t)) refresh();
    },

    /// Frees the engine's memory inside the module (the instance is unusable after).
    close() {
      engine.free();
    },
  };
  return db;
}
