//! The engine for Node: a thin wasm-bindgen wrapper used by `bench/node.mjs`.
//!
//! Build: `cargo build --release --target wasm32-unknown-unknown -p cachelab-wasm-node`, then
//! `wasm-bindgen --target nodejs --out-dir bench/results/wasm-node
//! target/wasm32-unknown-unknown/release/cachelab_wasm_node.wasm`.
//!
//! `execute` runs one command per call (one JS↔wasm crossing per command); `run_batch` runs a
//! whole buffer of commands per call, which is what a pipeline is, so that a benchmark can keep
//! the crossing out of the per-command cost.

use cachelab_engine::{encode_resp, ClientId, Config, Engine, Protocol};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct NodeEngine {
    engine: Engine,
    client: ClientId,
    out: Vec<u8>,
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
    }
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

    /// Runs every command framed in `batch` (see `decode_batch`) at virtual time `now_ms`, and
    /// returns the RESP2 replies concatenated, as a server would write them for a pipeline.
    /// A malformed frame ends the batch with an error reply instead of running a partial command.
    pub fn run_batch(&mut self, batch: &[u8], now_ms: f64) -> Vec<u8> {
        self.out.clear();
        let mut argv: Vec<&[u8]> = Vec::with_capacity(16);
        let mut pos = 0;
        while pos < batch.len() {
            argv.clear();
            match decode_command(batch, pos, &mut argv) {
                Some(next) => {
                    pos = next;
                    let reply = self.engine.execute(self.client, &argv, now_ms as i64);
                    encode_resp(&reply, Protocol::Resp2, &mut self.out);
                }
                None => {
                    self.out.extend_from_slice(b"-ERR malformed batch\r\n");
                    break;
                }
            }
        }
        self.out.clone()
    }

    /// Lets virtual time pass to `now_ms` (the active expire cycle runs here).
    pub fn advance(&mut self, now_ms: f64) {
        self.engine.advance(now_ms as i64);
    }

    pub fn dbsize(&self) -> f64 {
        self.engine.dbsize(0) as f64
    }
}

fn read_u32(buf: &[u8], pos: usize) -> Option<usize> {
    let bytes = buf.get(pos..pos + 4)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
}

/// One command of a batch: argc as u32 little-endian, then each argument as a u32 little-endian
/// length and its bytes. Returns the position after the command.
fn decode_command<'a>(buf: &'a [u8], mut pos: usize, argv: &mut Vec<&'a [u8]>) -> Option<usize> {
    let argc = read_u32(buf, pos)?;
    pos += 4;
    for _ in 0..argc {
        let len = read_u32(buf, pos)?;
        pos += 4;
        argv.push(buf.get(pos..pos.checked_add(len)?)?);
        pos += len;
    }
    Some(pos)
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
    fn truncated_batch_ends_with_an_error() {
        let mut e = new_engine(1.0);
        let mut b = frame(&[&["SET", "k", "1"], &["GET", "k"]]);
        b.truncate(b.len() - 1);
        assert_eq!(e.run_batch(&b, 0.0), b"+OK\r\n-ERR malformed batch\r\n");
        assert_eq!(e.dbsize(), 1.0);
    }
}
