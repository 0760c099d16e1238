//! In-process throughput of `Engine::execute`, with allocations per command.
//!
//! Run: `cargo bench -p cachelab-engine --bench execute` (add `-- --quick` for a short run).
//! Each workload runs the same command shape as `redis-benchmark -t set,get,incr,mset` does,
//! once on a single key (redis-benchmark's default) and once over 100,000 random keys
//! (`-r 100000`); EVALSHA runs a small cached script (INCR, a comparison, a return). The time
//! includes argument lookup, execution and building the `Reply`, and RESP2 encoding of the reply
//! into a reused buffer, as a server would do; not parsing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cachelab_engine::{encode_resp, Config, Engine, Protocol};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A workload builds the argv of request `i` into `buf` (reused) and returns its words' ranges.
type Make = fn(i: u64, keyspace: u64, buf: &mut Vec<u8>, words: &mut Vec<(usize, usize)>);

fn key(i: u64, keyspace: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    if keyspace <= 1 {
        buf.extend_from_slice(b"key:__rand_int__");
    } else {
        // A cheap scramble so consecutive requests hit different buckets.
        let k = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keyspace;
        let _ = write!(buf, "key:{k:012}");
    }
}

fn word(buf: &mut Vec<u8>, words: &mut Vec<(usize, usize)>, f: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    f(buf);
    words.push((start, buf.len()));
}

fn set(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"SET"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| b.extend_from_slice(b"xxx"));
}

fn get(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"GET"));
    word(buf, w, |b| key(i, ks, b));
}

fn incr(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"INCR"));
    word(buf, w, |b| key(i, ks, b));
}

fn mset(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"MSET"));
    for j in 0..10 {
        word(buf, w, |b| key(i * 10 + j, ks, b));
        word(buf, w, |b| b.extend_from_slice(b"xxx"));
    }
}

/// A small script as rate limiters and locks use them: read, compare, write.
const SCRIPT: &str = "local v = redis.call('incr', KEYS[1]) if v > 1000000000 then redis.call('set', KEYS[1], 0) end return v";
const SCRIPT_SHA: &str = "2fc469173005151939c42cb90221090e0b3398fd";

fn evalsha(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"EVALSHA"));
    word(buf, w, |b| b.extend_from_slice(SCRIPT_SHA.as_bytes()));
    word(buf, w, |b| b.extend_from_slice(b"1"));
    word(buf, w, |b| key(i, ks, b));
}

fn run(name: &str, make: Make, keyspace: u64, n: u64) {
    let mut config = Config::default();
    config.record_events = false;
    let mut engine = Engine::new(config);
    let client = engine.connect(0);
    let loaded = engine.run(client, &["SCRIPT", "LOAD", SCRIPT], 0);
    assert_eq!(
        loaded,
        cachelab_engine::Reply::bulk(SCRIPT_SHA),
        "the script's SHA-1"
    );
    // Warm the keyspace so GET finds values.
    let (mut buf, mut words) = (Vec::new(), Vec::new());
    for i in 0..keyspace.min(n) {
        buf.clear();
        words.clear();
        set(i, keyspace, &mut buf, &mut words);
        let argv: Vec<&[u8]> = words.iter().map(|&(a, b)| &buf[a..b]).collect();
        engine.execute(client, &argv, 0);
    }
    // Build every request up front so the timed loop does only what a server does per command.
    buf.clear();
    words.clear();
    let mut bounds = Vec::with_capacity(n as usize + 1);
    for i in 0..n {
        bounds.push(words.len());
        make(i, keyspace, &mut buf, &mut words);
    }
    bounds.push(words.len());
    let mut out = Vec::with_capacity(1 << 16);
    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    for i in 0..n as usize {
        let mut argv: [&[u8]; 32] = [&[]; 32];
        let ws = &words[bounds[i]..bounds[i + 1]];
        for (slot, &(a, b)) in argv.iter_mut().zip(ws) {
            *slot = &buf[a..b];
        }
        let reply = engine.execute(client, &argv[..ws.len()], 1);
        out.clear();
        encode_resp(&reply, Protocol::Resp2, &mut out);
    }
    let secs = start.elapsed().as_secs_f64();
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs_before;
    println!(
        "{name:<7} keys={keyspace:<7} {:>12.0} ops/s  {:>8.1} ns/op  {:>5.2} allocs/op",
        n as f64 / secs,
        secs * 1e9 / n as f64,
        allocs as f64 / n as f64
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200_000 } else { 2_000_000 };
    println!("cachelab-engine in-process execute, {n} commands per row");
    for keyspace in [1, 100_000] {
        run("SET", set, keyspace, n);
        run("GET", get, keyspace, n);
        run("INCR", incr, keyspace, n);
        run("MSET", mset, keyspace, n / 10);
        run("EVALSHA", evalsha, keyspace, n / 10);
    }
}
