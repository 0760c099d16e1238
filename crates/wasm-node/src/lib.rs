//! The engine for Node: a thin wasm-bindgen wrapper, used through `client.mjs` (next to this
//! crate's Cargo.toml) by `bench/node.mjs`.
//!
//! Build: `cargo build --release --target wasm32-unknown-unknown -p cachelab-wasm-node`, then
//! `wasm-bindgen --target nodejs --out-dir target/wasm-node
//! target/wasm32-unknown-unknown/release/cachelab_wasm_node.wasm`.
//!
//! `input` and `run_input` are what `client.mjs` calls: it writes commands into the input
//! buffer in this module's memory and reads the replies where they were encoded, one call per
//! command (or per pipeline) with numbers only crossing the boundary. `execute` takes a JS array
//! of strings and returns a copy of the reply (wasm-bindgen converts every argument, which costs
//! several crossings each); `run_batch` takes a framed buffer of commands and returns their
//! replies concatenated.

use cachelab_engine::{encode_resp, ClientId, Config, Engine, Protocol};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct NodeEngine {
    engine: Engine,
    client: ClientId,
    out: Vec<u8>,
    /// Commands framed as in `run_batch`, written by JavaScript straight into this module's
    /// memory (see `input`), so that a call passes two numbers instead of a JS array of strings.
    input: Vec<u8>,
    /// The memory's size in pages when JavaScript last heard of it: `run_input` and `advance`
    /// say when it grew, so that `client.mjs` renews its views of the memory only then instead
    /// of checking them before and after every call.
    pages: usize,
}

/// The module's memory size in pages (none outside WebAssembly, where the tests run).
fn memory_pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size::<0>()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// An engine seeded with `seed`, with one connected client, recording no events (nobody reads
/// them here, and a benchmark should not pay for them).
#[wasm_bindgen]
pub fn new_engine(seed: f64) -> NodeEngine {
    let mut engine = Engine::new(Config {
        seed: seed as u64,
        record_events: false,
        ..Config::default()
    });
    let client = engine.connect(0);
    NodeEngine {
        engine,
        client,
        out: Vec::with_capacity(1 << 16),
        input: vec![0; 1 << 12],
        pages: memory_pages(),
    }
}

/// This module's memory, for `client.mjs` to write commands into and read replies from.
#[wasm_bindgen]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

#[wasm_bindgen]
impl NodeEngine {
    /// Runs one command given as strings at virtual time `now_ms`; returns the RESP2 reply.
    pub fn execute(&mut self, argv: Vec<String>, now_ms: f64) -> Vec<u8> {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let reply = self.engine.execute(self.client, &args, now_ms as i64);
        let mut out = Vec::new();
        encode_resp(&reply, Protocol::Resp2, &mut out);
        out
    }

    /// Runs every command framed in `batch` at virtual time `now_ms` (per command: the argument
    /// count as a u32 little-endian, then each argument as a u32 little-endian length and its
    /// bytes), and
    /// returns the RESP2 replies concatenated, as a server would write them for a pipeline.
    /// A malformed frame ends the batch with an error reply instead of running a partial command.
    pub fn run_batch(&mut self, batch: &[u8], now_ms: f64) -> Vec<u8> {
        self.out.clear();
        run_frames(&mut self.engine, self.client, batch, now_ms, &mut self.out);
        self.out.clone()
    }

    /// The address of the input buffer, grown first to hold at least `bytes` bytes. The
    /// address stays valid until the next call to `input` (running commands does not move it).
    pub fn input(&mut self, bytes: usize) -> usize {
        if self.input.len() < bytes {
            self.input.resize(bytes.next_power_of_two(), 0);
        }
        // The caller renews its views of the memory after this call.
        self.pages = memory_pages();
        self.input.as_ptr() as usize
    }

    /// Runs the commands framed (as in `run_batch`) in the first `len` bytes of the input
    /// buffer at virtual time `now_ms`. Returns the address of their RESP2 replies (they stay
    /// there until the next call; each reply says where it ends), negated when the module's
    /// memory grew since the last `run_input`, `advance` or `input` (views of the old memory
    /// are then detached and must be made again). The address is never 0.
    pub fn run_input(&mut self, len: usize, now_ms: f64) -> f64 {
        self.out.clear();
        let frames = self.input.get(..len).unwrap_or(&[]);
        run_frames(&mut self.engine, self.client, frames, now_ms, &mut self.out);
        let at = self.out.as_ptr() as usize as f64;
        if self.grew() {
            -at
        } else {
            at
        }
    }

    /// Lets virtual time pass to `now_ms` (the active expire cycle runs here). Returns whether
    /// the module's memory grew since the last `run_input`, `advance` or `input`.
    pub fn advance(&mut self, now_ms: f64) -> bool {
        self.engine.advance(now_ms as i64);
        self.grew()
    }

    pub fn dbsize(&self) -> f64 {
        self.engine.dbsize(0) as f64
    }
}

impl NodeEngine {
    fn grew(&mut self) -> bool {
        let pages = memory_pages();
        let grew = pages != self.pages;
        self.pages = pages;
        grew
    }
}

/// Runs every command framed in `batch` and appends the RESP2 replies to `out`. A malformed
/// frame ends the batch with an error reply instead of running a partial command.
fn run_frames(engine: &mut Engine, client: ClientId, batch: &[u8], now_ms: f64, out: &mut Vec<u8>) {
    // Most commands have a handful of arguments: their slices live on the stack, and only a
    // longer command allocates a vector for them.
    const SMALL: usize = 16;
    let mut small: [&[u8]; SMALL] = [&[]; SMALL];
    let mut long: Vec<&[u8]> = Vec::new();
    // Asked once, and only of a batch of more than one command: a lone command has nothing
    // to overlap its cache misses with.
    let mut warm = None;
    let mut warmed_to = 0;
    let mut pos = 0;
    while pos < batch.len() {
        let decoded = match read_u32(batch, pos) {
            Some(argc) if argc <= SMALL => {
                decode_args(batch, pos + 4, &mut small[..argc]).map(|next| (next, argc))
            }
            Some(argc) => {
                long.clear();
                long.resize(argc, &[]);
                decode_args(batch, pos + 4, &mut long).map(|next| (next, argc))
            }
            None => None,
        };
        let Some((next, argc)) = decoded else {
            out.extend_from_slice(b"-ERR malformed batch\r\n");
            break;
        };
        if pos >= warmed_to
            && next < batch.len()
            && *warm.get_or_insert_with(|| engine.worth_warming(client))
        {
            warmed_to = warm_ahead(engine, client, batch, pos);
        }
        pos = next;
        let argv = if argc <= SMALL {
            &small[..argc]
        } else {
            &long[..]
        };
        let reply = engine.execute(client, argv, now_ms as i64);
        encode_resp(&reply, Protocol::Resp2, out);
        engine.recycle(reply);
    }
}

/// At most this many commands of a batch have their keys warmed at once, as in the server.
const WARM_AHEAD: usize = 64;

/// Hands `Engine::warm_keys` the first and second arguments (the key, and a hash's field or a
/// set's member) of up to `WARM_AHEAD` commands framed from `pos` on, as the server does for a
/// pipeline: their entries' cache misses then overlap instead of each command waiting for its
/// own. Returns where the last frame it read ends (`pos` itself for a malformed or lone frame,
/// so that the batch runs as if nothing had been read ahead: warming changes nothing).
fn warm_ahead(engine: &Engine, client: ClientId, batch: &[u8], mut pos: usize) -> usize {
    let mut keys: [&[u8]; WARM_AHEAD] = [&[]; WARM_AHEAD];
    let mut seconds: [&[u8]; WARM_AHEAD] = [&[]; WARM_AHEAD];
    let (mut frames, mut n) = (0, 0);
    let start = pos;
    while frames < WARM_AHEAD && pos < batch.len() {
        let Some((next, [_, key, second])) = first_args(batch, pos) else {
            break;
        };
        if let Some(key) = key {
            keys[n] = key;
            seconds[n] = second.unwrap_or_default();
            n += 1;
        }
        frames += 1;
        pos = next;
    }
    if frames < 2 {
        return start;
    }
    engine.warm_keys(client, &keys[..n], &seconds[..n]);
    pos
}

/// The first three arguments of the command framed at `pos` (those it has), and the position
/// after its last argument; `None` for a malformed frame.
fn first_args(buf: &[u8], mut pos: usize) -> Option<(usize, [Option<&[u8]>; 3])> {
    let argc = read_u32(buf, pos)?;
    pos += 4;
    let mut first = [None; 3];
    for i in 0..argc {
        let (arg, next) = read_arg(buf, pos)?;
        if let Some(slot) = first.get_mut(i) {
            *slot = Some(arg);
        }
        pos = next;
    }
    Some((pos, first))
}

/// Fills `args` with the arguments framed from `pos` on (each a u32 little-endian length and
/// its bytes); returns the position after the last.
fn decode_args<'a>(buf: &'a [u8], mut pos: usize, args: &mut [&'a [u8]]) -> Option<usize> {
    for arg in args.iter_mut() {
        (*arg, pos) = read_arg(buf, pos)?;
    }
    Some(pos)
}

/// The argument framed at `pos` (a u32 little-endian length and its bytes) and the position
/// after it.
fn read_arg(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let len = read_u32(buf, pos)?;
    let start = pos + 4;
    let end = start.checked_add(len)?;
    Some((buf.get(start..end)?, end))
}

fn read_u32(buf: &[u8], pos: usize) -> Option<usize> {
    let bytes = buf.get(pos..pos + 4)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(cmds: &[&[&str]]) -> Vec<u8> {
        let mut b = Vec::new();
        for argv in cmds {
            b.extend_from_slice(&(argv.len() as u32).to_le_bytes());
            for a in *argv {
                b.extend_from_slice(&(a.len() as u32).to_le_bytes());
                b.extend_from_slice(a.as_bytes());
            }
        }
        b
    }

    #[test]
    fn batch_runs_every_command_in_order() {
        let mut e = new_engine(1.0);
        let out = e.run_batch(
            &frame(&[&["SET", "k", "1"], &["INCR", "k"], &["GET", "k"]]),
            0.0,
        );
        assert_eq!(out, b"+OK\r\n:2\r\n$1\r\n2\r\n");
    }

    #[test]
    fn warm_ahead_reads_whole_frames_up_to_its_window() {
        let e = new_engine(1.0);
        let cmds: Vec<Vec<String>> = (0..WARM_AHEAD + 6)
            .map(|i| vec!["GET".to_string(), format!("k{i}")])
            .collect();
        let refs: Vec<Vec<&str>> = cmds
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let argvs: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        let b = frame(&argvs);
        let window = frame(&argvs[..WARM_AHEAD]).len();
        assert_eq!(warm_ahead(&e.engine, e.client, &b, 0), window);
        // Reads on from where it is asked to, and stops at the end of the batch.
        assert_eq!(warm_ahead(&e.engine, e.client, &b, window), b.len());
        // A lone frame, or one followed by a malformed frame, is left to the batch as it is.
        let two = frame(&[&["GET", "a"], &["GET", "b"]]);
        assert_eq!(warm_ahead(&e.engine, e.client, &two[..two.len() - 1], 0), 0);
        assert_eq!(warm_ahead(&e.engine, e.client, &frame(&[&["PING"]]), 0), 0);
    }

    #[test]
    fn first_args_gives_the_first_three_and_the_next_frame() {
        let b = frame(&[&["HSET", "h", "f", "v"], &["PING"]]);
        let (next, [a, k, f]) = first_args(&b, 0).unwrap();
        assert_eq!(
            (a, k, f),
            (Some(&b"HSET"[..]), Some(&b"h"[..]), Some(&b"f"[..]))
        );
        assert_eq!(
            first_args(&b, next).unwrap(),
            (b.len(), [Some(&b"PING"[..]), None, None])
        );
        assert_eq!(first_args(&b[..next - 1], 0), None);
    }

    /// A batch over a keyspace big enough to be warmed answers exactly what the same commands
    /// answer one at a time, a malformed frame included.
    #[test]
    fn a_warmed_batch_answers_as_single_commands_do() {
        let (mut batched, mut single) = (new_engine(1.0), new_engine(1.0));
        let mut setup = Vec::new();
        for i in 0..40_000 {
            setup.extend(frame(&[&["SET", &format!("key:{i}"), "xxx"]]));
        }
        setup.extend(frame(&[&["HSET", "h", "f", "1"], &["SADD", "s", "m"]]));
        for e in [&mut batched, &mut single] {
            e.run_batch(&setup, 0.0);
        }
        assert!(batched.engine.worth_warming(batched.client));
        let mut cmds: Vec<Vec<String>> = Vec::new();
        for i in 0..300 {
            let key = format!("key:{}", (i * 7_919) % 50_000);
            cmds.push(match i % 6 {
                0 => vec!["GET".into(), key],
                1 => vec!["SET".into(), key, format!("v{i}")],
                2 => vec!["HINCRBY".into(), "h".into(), "f".into(), "1".into()],
                3 => vec!["SISMEMBER".into(), "s".into(), "m".into()],
                4 => vec!["INCR".into(), key],
                _ => vec!["PING".into()],
            });
        }
        let refs: Vec<Vec<&str>> = cmds
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let argvs: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        let mut b = frame(&argvs);
        b.extend_from_slice(&[2, 0, 0, 0, 3, 0]);
        let mut expected = Vec::new();
        for argv in &argvs {
            expected.extend(single.run_batch(&frame(&[argv]), 0.0));
        }
        expected.extend_from_slice(b"-ERR malformed batch\r\n");
        assert_eq!(batched.run_batch(&b, 0.0), expected);
    }

    #[test]
    fn truncated_batch_ends_with_an_error() {
        let mut e = new_engine(1.0);
        let mut b = frame(&[&["SET", "k", "1"], &["GET", "k"]]);
        b.truncate(b.len() - 1);
        assert_eq!(e.run_batch(&b, 0.0), b"+OK\r\n-ERR malformed batch\r\n");
        assert_eq!(e.dbsize(), 1.0);
    }
}
