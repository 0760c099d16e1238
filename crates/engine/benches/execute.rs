//! In-process throughput of `Engine::execute`, with allocations per command.
//!
//! Run: `cargo bench -p cachelab-engine --bench execute` (add `-- --quick` for a short run,
//! `-- --memory` for the maxmemory and memory-per-key rows alone).
//! Each workload runs the same command shape as `redis-benchmark -t set,get,incr,mset,hset,sadd`
//! does, once on a single key or member (redis-benchmark's default) and once over 100,000 random
//! ones (`-r 100000`; HSET and SADD then grow one hash and one set to 100,000 entries). The time
//! includes argument lookup, execution and building the `Reply`, and RESP2 encoding of the reply
//! into a reused buffer, as a server would do; not parsing.
//! The sorted-set rows run against a leaderboard of 1,000,000 members: ZADD of new members,
//! ZRANK and ZINCRBY of random members, and ZREVRANGE 0 9 WITHSCORES (the top ten); then
//! `bench/node.mjs`'s ZADD rows in process: boards of 5,000 and 10,000 members `player:N`, each
//! ZADD rescoring a random member to a random score below 1,000,003 (`-- --zset` runs the
//! sorted-set rows alone, `-- --board` these two alone).
//! The GEO rows run against an index of 100,000 positions: GEOADD of new positions and a
//! GEOSEARCH of the members within 5 km of a random position (about ten), nearest first. The
//! SORT rows sort a list of 1,000 integers: numerically in full, and ALPHA with LIMIT 0 10.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use cachelab_engine::{encode_resp, Config, Engine, Protocol};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Whether to keep the live-bytes counters below (only the memory rows turn it on, so that the
/// throughput rows pay one relaxed load per allocation and nothing more).
static TRACK_BYTES: AtomicBool = AtomicBool::new(false);
/// Bytes asked of the allocator and not yet given back.
static LIVE: AtomicI64 = AtomicI64::new(0);
/// The same, each block rounded up to the size mimalloc (the server's allocator) would hand out.
static LIVE_MI: AtomicI64 = AtomicI64::new(0);

/// The block size mimalloc serves a request of `size` bytes from: whole words up to 64 bytes,
/// then four size classes per power of two (at most 12.5% over), as its bins are laid out.
/// Blocks past 128 KiB come from their own pages; they are rounded to 4 KiB here.
fn mi_block(size: usize) -> usize {
    let w = size.div_ceil(8).max(1);
    if w <= 8 {
        return w * 8;
    }
    if size > 128 * 1024 {
        return size.next_multiple_of(4096);
    }
    let w1 = w - 1;
    let b = usize::BITS - 1 - w1.leading_zeros();
    ((w1 >> (b - 2)) + 1) << (b - 2) << 3
}

fn track(size: usize, sign: i64) {
    if TRACK_BYTES.load(Ordering::Relaxed) {
        LIVE.fetch_add(sign * size as i64, Ordering::Relaxed);
        LIVE_MI.fetch_add(sign * mi_block(size) as i64, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        track(layout.size(), 1);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(layout.size(), -1);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        track(layout.size(), -1);
        track(new_size, 1);
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

/// Warm-up for INCR: counters that hold an integer (after `set`'s "xxx" every INCR would be
/// the "not an integer" error).
fn set_counter(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"SET"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| b.extend_from_slice(b"100"));
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

/// A member name as redis-benchmark writes it for HSET and SADD (`element:__rand_int__`).
fn element(i: u64, keyspace: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    if keyspace <= 1 {
        buf.extend_from_slice(b"element:__rand_int__");
    } else {
        let k = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keyspace;
        let _ = write!(buf, "element:{k:012}");
    }
}

/// One hash, one field per random number: a listpack for a single field, a hashtable of
/// up to `keyspace` fields otherwise.
fn hset(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"HSET"));
    word(buf, w, |b| b.extend_from_slice(b"myhash"));
    word(buf, w, |b| element(i, ks, b));
    word(buf, w, |b| b.extend_from_slice(b"xxx"));
}

/// One set, one member per random number (strings, so a hashtable once it has any).
fn sadd(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"SADD"));
    word(buf, w, |b| b.extend_from_slice(b"myset"));
    word(buf, w, |b| element(i, ks, b));
}

/// redis-benchmark's list key: `mylist`, or one of `keyspace` lists.
fn list_key(i: u64, keyspace: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    if keyspace <= 1 {
        buf.extend_from_slice(b"mylist");
    } else {
        let k = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keyspace;
        let _ = write!(buf, "mylist:{k:012}");
    }
}

fn lpush(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"LPUSH"));
    word(buf, w, |b| list_key(i, ks, b));
    word(buf, w, |b| b.extend_from_slice(b"xxx"));
}

fn lpop(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"LPOP"));
    word(buf, w, |b| list_key(i, ks, b));
}

/// Members of the leaderboard the sorted-set rows run against.
const BOARD: u64 = 1_000_000;

/// A member of the leaderboard, picked in a scrambled order.
fn member(i: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    let m = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % BOARD;
    let _ = write!(buf, "player:{m:07}");
}

/// A score spread over 0..BOARD, so members interleave rather than arrive in order.
fn score(i: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(buf, "{}", i.wrapping_mul(0x2545_F491_4F6C_DD1D) % BOARD);
}

fn zadd_new(i: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    use std::io::Write;
    word(buf, w, |b| b.extend_from_slice(b"ZADD"));
    word(buf, w, |b| b.extend_from_slice(b"board"));
    word(buf, w, |b| score(i + BOARD, b));
    word(buf, w, |b| {
        let _ = write!(b, "newcomer:{i:07}");
    });
}

fn zrank(i: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"ZRANK"));
    word(buf, w, |b| b.extend_from_slice(b"board"));
    word(buf, w, |b| member(i, b));
}

fn zrevrange_top10(_: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    for part in ["ZREVRANGE", "board", "0", "9", "WITHSCORES"] {
        word(buf, w, |b| b.extend_from_slice(part.as_bytes()));
    }
}

fn zincrby(i: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"ZINCRBY"));
    word(buf, w, |b| b.extend_from_slice(b"board"));
    word(buf, w, |b| b.extend_from_slice(b"7"));
    word(buf, w, |b| member(i, b));
}

/// `bench/node.mjs`'s `pick`: a cheap scramble of `i` into `0..n`.
fn pick(i: u64, n: u64) -> u64 {
    ((i as u128 * 0x9E37_79B9_7F4A_7C15u128) % n as u128) as u64
}

/// `bench/node.mjs`'s `ZADD board=N` stream: a random member of the `n` rescored to a random
/// score below 1,000,003.
fn zadd_rescore(i: u64, n: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    use std::io::Write;
    word(buf, w, |b| b.extend_from_slice(b"ZADD"));
    word(buf, w, |b| b.extend_from_slice(b"board"));
    word(buf, w, |b| {
        let _ = write!(b, "{}", pick(i + 7, 1_000_003));
    });
    word(buf, w, |b| {
        let _ = write!(b, "player:{}", pick(i, n));
    });
}

/// `bench/node.mjs`'s leaderboard of `n` members, loaded as it loads it, and the ZADD stream
/// it times against it.
fn run_small_board(n_members: u64, n: u64) {
    let (mut engine, client) = bench_engine();
    let mut argv: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"board".to_vec()];
    for i in 0..n_members {
        argv.push(pick(i, 1_000_003).to_string().into_bytes());
        argv.push(format!("player:{i}").into_bytes());
    }
    let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    engine.execute(client, &refs, 0);
    time_commands(
        &format!("ZADD      board={n_members:<7}  "),
        &mut engine,
        client,
        zadd_rescore,
        n_members,
        n,
    );
}

/// An engine holding the sorted set `board` with BOARD members `player:NNNNNNN`.
fn leaderboard() -> Engine {
    let mut engine = Engine::new(Config {
        record_events: false,
        ..Config::default()
    });
    let client = engine.connect(0);
    let (mut buf, mut words) = (Vec::new(), Vec::new());
    for i in 0..BOARD {
        buf.clear();
        words.clear();
        word(&mut buf, &mut words, |b| b.extend_from_slice(b"ZADD"));
        word(&mut buf, &mut words, |b| b.extend_from_slice(b"board"));
        word(&mut buf, &mut words, |b| score(i, b));
        word(&mut buf, &mut words, |b| {
            use std::io::Write;
            let _ = write!(b, "player:{i:07}");
        });
        let argv: Vec<&[u8]> = words.iter().map(|&(a, b)| &buf[a..b]).collect();
        engine.execute(client, &argv, 0);
    }
    engine
}

/// Times `make`'s commands against a copy of the leaderboard.
fn run_board(name: &str, make: Make, board: &Engine, n: u64) {
    let mut engine = board.clone();
    let client = engine.connect(0);
    time_commands(
        &format!("{name:<9} members={BOARD:<7}"),
        &mut engine,
        client,
        make,
        BOARD,
        n,
    );
}

/// The timed loop every row shares: builds all `n` requests of `make` up front, so that the
/// timed part does only what a server does per command (execute and encode the reply), then
/// prints throughput and allocations per command.
fn time_commands(label: &str, engine: &mut Engine, client: u64, make: Make, keyspace: u64, n: u64) {
    let (mut buf, mut words) = (Vec::new(), Vec::new());
    let mut bounds = Vec::with_capacity(n as usize + 1);
    for i in 0..n {
        bounds.push(words.len());
        make(i, keyspace, &mut buf, &mut words);
    }
    bounds.push(words.len());
    let mut out = Vec::with_capacity(1 << 16);
    let mut errors = 0u64;
    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    for i in 0..n as usize {
        let mut argv: [&[u8]; 32] = [&[]; 32];
        let ws = &words[bounds[i]..bounds[i + 1]];
        for (slot, &(a, b)) in argv.iter_mut().zip(ws) {
            *slot = &buf[a..b];
        }
        let reply = engine.execute(client, &argv[..ws.len()], 1);
        errors += u64::from(reply.is_error());
        out.clear();
        encode_resp(&reply, Protocol::Resp2, &mut out);
        // As the server does once a reply is written.
        engine.recycle(reply);
    }
    let secs = start.elapsed().as_secs_f64();
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs_before;
    println!(
        "{label} {:>12.0} ops/s  {:>8.1} ns/op  {:>7.2} allocs/op",
        n as f64 / secs,
        secs * 1e9 / n as f64,
        allocs as f64 / n as f64
    );
    // A row that times error replies measures the wrong thing (INCR once timed "not an
    // integer" on every call): say so loudly rather than print a plausible rate.
    assert_eq!(
        errors, 0,
        "{label}: {errors} of {n} commands replied with an error"
    );
}

/// A fresh engine that records no events, with one client.
fn bench_engine() -> (Engine, u64) {
    let mut engine = Engine::new(Config {
        record_events: false,
        ..Config::default()
    });
    let client = engine.connect(0);
    (engine, client)
}

fn run(name: &str, make: Make, keyspace: u64, n: u64) {
    run_warm(name, set, make, keyspace, n)
}

/// A bit offset spread over the first 1024 bits, so a bitmap stays at most 128 bytes.
fn bit_offset(i: u64, buf: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(buf, "{}", i.wrapping_mul(7919) % 1024);
}

fn setbit(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"SETBIT"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| bit_offset(i, b));
    word(buf, w, |b| b.push(if i & 1 == 0 { b'1' } else { b'0' }));
}

/// Warm-up for the bitmap reads: every key becomes a 128-byte bitmap.
fn setbit_last(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"SETBIT"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| b.extend_from_slice(b"1023"));
    word(buf, w, |b| b.push(b'1'));
}

fn getbit(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"GETBIT"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| bit_offset(i, b));
}

fn bitcount(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"BITCOUNT"));
    word(buf, w, |b| key(i, ks, b));
}

fn pfadd(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    use std::io::Write;
    word(buf, w, |b| b.extend_from_slice(b"PFADD"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| {
        let _ = write!(b, "element:{i}");
    });
}

/// Warm-up for PFCOUNT: five elements per key.
fn pfadd5(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    use std::io::Write;
    word(buf, w, |b| b.extend_from_slice(b"PFADD"));
    word(buf, w, |b| key(i, ks, b));
    for j in 0..5 {
        word(buf, w, |b| {
            let _ = write!(b, "element:{i}:{j}");
        });
    }
}

/// PFCOUNT of one key: after the first call the estimate is cached in the sketch.
fn pfcount(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"PFCOUNT"));
    word(buf, w, |b| key(i, ks, b));
}

/// PFCOUNT of two keys: a union of 16384 registers computed on every call.
fn pfcount2(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"PFCOUNT"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| key(i + 1, ks, b));
}

/// Like `run`, with the keyspace prepared by `warm` (one request per key) instead of SETs.
fn run_warm(name: &str, warm: Make, make: Make, keyspace: u64, n: u64) {
    run_warmed(name, make, warm, keyspace.min(n), keyspace, n)
}

/// Runs `n` requests of `make` after `warm_n` requests of `warm` have prepared the keyspace
/// (LPOP needs as many elements waiting as it will pop).
fn run_warmed(name: &str, make: Make, warm: Make, warm_n: u64, keyspace: u64, n: u64) {
    let (mut engine, client) = bench_engine();
    let (mut buf, mut words) = (Vec::new(), Vec::new());
    for i in 0..warm_n {
        buf.clear();
        words.clear();
        warm(i, keyspace, &mut buf, &mut words);
        let argv: Vec<&[u8]> = words.iter().map(|&(a, b)| &buf[a..b]).collect();
        engine.execute(client, &argv, 0);
    }
    time_commands(
        &format!("{name:<10} keys={keyspace:<7}"),
        &mut engine,
        client,
        make,
        keyspace,
        n,
    );
}

/// A stream key, named apart from the string keys the warm-up writes.
fn stream_key(i: u64, keyspace: u64, buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"stream:");
    key(i, keyspace, buf);
}

/// `XADD key * field value`: the ID comes from the (frozen) clock and the sequence.
fn xadd(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"XADD"));
    word(buf, w, |b| stream_key(i, ks, b));
    word(buf, w, |b| b.push(b'*'));
    word(buf, w, |b| b.extend_from_slice(b"field"));
    word(buf, w, |b| b.extend_from_slice(b"xxx"));
}

/// `XREADGROUP GROUP g c COUNT 1 STREAMS key >`: one new entry per call, which goes pending.
fn xreadgroup(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    for part in [
        "XREADGROUP",
        "GROUP",
        "g",
        "consumer",
        "COUNT",
        "1",
        "STREAMS",
    ] {
        word(buf, w, |b| b.extend_from_slice(part.as_bytes()));
    }
    word(buf, w, |b| stream_key(i, ks, b));
    word(buf, w, |b| b.push(b'>'));
}

/// Streams with a group `g` and enough entries that every XREADGROUP of the run finds one: the
/// keys the run will read, each with one entry more than the reads of it (the key scramble is
/// not a permutation of the keyspace, so some keys are read several times and some never).
fn prepare_streams(engine: &mut Engine, client: u64, keyspace: u64, n: u64) {
    let mut reads: std::collections::BTreeMap<Vec<u8>, u64> = Default::default();
    for i in 0..n {
        let mut name = Vec::new();
        stream_key(i, keyspace, &mut name);
        *reads.entry(name).or_default() += 1;
    }
    for (name, count) in reads {
        let argv: [&[u8]; 6] = [b"XGROUP", b"CREATE", &name, b"g", b"$", b"MKSTREAM"];
        engine.execute(client, &argv, 0);
        for _ in 0..=count {
            let argv: [&[u8]; 5] = [b"XADD", &name, b"*", b"field", b"xxx"];
            engine.execute(client, &argv, 0);
        }
    }
}

/// Like `run`, with `prepare` filling the keyspace instead of the string warm-up.
fn run_prepared(
    name: &str,
    prepare: fn(&mut Engine, u64, u64, u64),
    make: Make,
    keyspace: u64,
    n: u64,
) {
    let (mut engine, client) = bench_engine();
    prepare(&mut engine, client, keyspace, n);
    time_commands(
        &format!("{name:<10} keys={keyspace:<7}"),
        &mut engine,
        client,
        make,
        keyspace,
        n,
    );
}

fn no_prepare(_: &mut Engine, _: u64, _: u64, _: u64) {}

/// A small script as rate limiters and locks use them: read, compare, write.
const SCRIPT: &str = "local v = redis.call('incr', KEYS[1]) if v > 1000000000 then redis.call('set', KEYS[1], 0) end return v";
const SCRIPT_SHA: &str = "2fc469173005151939c42cb90221090e0b3398fd";

fn evalsha(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"EVALSHA"));
    word(buf, w, |b| b.extend_from_slice(SCRIPT_SHA.as_bytes()));
    word(buf, w, |b| b.extend_from_slice(b"1"));
    word(buf, w, |b| key(i, ks, b));
}

/// Loads the script EVALSHA runs, and checks that its SHA-1 is the one Redis would give it.
fn load_script(engine: &mut Engine, client: u64, _: u64, _: u64) {
    let loaded = engine.run(client, &["SCRIPT", "LOAD", SCRIPT], 0);
    assert_eq!(
        loaded,
        cachelab_engine::Reply::bulk(SCRIPT_SHA),
        "the script's SHA-1"
    );
}

/// The sorted-set sliding-window rate limiter of tests/transcripts/scripting.txt and
/// bench/scripting.sh: ZREMRANGEBYSCORE, ZCARD, ZADD and PEXPIRE per admitted request.
const SLIDING_WINDOW: &str = "local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) redis.call('zremrangebyscore', key, '-inf', now - window) local count = redis.call('zcard', key) if count >= limit then return {0, count} end redis.call('zadd', key, now, now .. '-' .. count) redis.call('pexpire', key, window) return {1, count + 1}";
const SLIDING_WINDOW_SHA: &str = "ed395e840b1abb9aaa12289ada33ee5d8a13d5bc";

/// The arguments bench/scripting.sh passes: a fixed time, a minute's window, 100 requests.
fn evalsha_sliding_window(i: u64, ks: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"EVALSHA"));
    word(buf, w, |b| {
        b.extend_from_slice(SLIDING_WINDOW_SHA.as_bytes())
    });
    word(buf, w, |b| b.extend_from_slice(b"1"));
    word(buf, w, |b| key(i, ks, b));
    word(buf, w, |b| b.extend_from_slice(b"1000"));
    word(buf, w, |b| b.extend_from_slice(b"60000"));
    word(buf, w, |b| b.extend_from_slice(b"100"));
}

fn load_sliding_window(engine: &mut Engine, client: u64, _: u64, _: u64) {
    let loaded = engine.run(client, &["SCRIPT", "LOAD", SLIDING_WINDOW], 0);
    assert_eq!(
        loaded,
        cachelab_engine::Reply::bulk(SLIDING_WINDOW_SHA),
        "the sliding-window script's SHA-1"
    );
}

/// Positions in the index built by `geo_index`.
const GEO_POINTS: u64 = 100_000;

/// A pseudo-random position in a 10 x 10 degree square of Europe, as two decimal strings.
fn position(i: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    use std::io::Write;
    let a = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    let b = i.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
    let scale = (1u64 << 53) as f64;
    word(buf, w, |b_| {
        let _ = write!(b_, "{:.6}", 2.0 + 10.0 * a as f64 / scale);
    });
    word(buf, w, |b_| {
        let _ = write!(b_, "{:.6}", 43.0 + 10.0 * b as f64 / scale);
    });
}

fn geoadd(i: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    use std::io::Write;
    word(buf, w, |b| b.extend_from_slice(b"GEOADD"));
    word(buf, w, |b| b.extend_from_slice(b"geo"));
    position(i + GEO_POINTS, buf, w);
    word(buf, w, |b| {
        let _ = write!(b, "new:{i:07}");
    });
}

/// The members within 5 km of a random position, nearest first (about ten of them).
fn geosearch(i: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    word(buf, w, |b| b.extend_from_slice(b"GEOSEARCH"));
    word(buf, w, |b| b.extend_from_slice(b"geo"));
    word(buf, w, |b| b.extend_from_slice(b"FROMLONLAT"));
    position(i.wrapping_add(0x5555), buf, w);
    for part in ["BYRADIUS", "5", "km", "ASC", "WITHDIST"] {
        word(buf, w, |b| b.extend_from_slice(part.as_bytes()));
    }
}

/// An engine holding `geo`, a geospatial index of GEO_POINTS positions, and `numbers`, a list
/// of 1,000 integers in scrambled order.
fn geo_and_sort_data() -> Engine {
    let mut engine = Engine::new(Config {
        record_events: false,
        ..Config::default()
    });
    let client = engine.connect(0);
    let (mut buf, mut words) = (Vec::new(), Vec::new());
    for i in 0..GEO_POINTS {
        buf.clear();
        words.clear();
        word(&mut buf, &mut words, |b| b.extend_from_slice(b"GEOADD"));
        word(&mut buf, &mut words, |b| b.extend_from_slice(b"geo"));
        position(i, &mut buf, &mut words);
        word(&mut buf, &mut words, |b| {
            use std::io::Write;
            let _ = write!(b, "place:{i:07}");
        });
        let argv: Vec<&[u8]> = words.iter().map(|&(a, b)| &buf[a..b]).collect();
        engine.execute(client, &argv, 0);
    }
    let numbers: Vec<String> = (0..1000u64)
        .map(|i| (i.wrapping_mul(0x2545_F491_4F6C_DD1D) % 100_000).to_string())
        .collect();
    let mut argv: Vec<&[u8]> = vec![b"RPUSH", b"numbers"];
    argv.extend(numbers.iter().map(|s| s.as_bytes()));
    engine.execute(client, &argv, 0);
    engine
}

fn sort_numeric(_: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    for part in ["SORT", "numbers"] {
        word(buf, w, |b| b.extend_from_slice(part.as_bytes()));
    }
}

fn sort_alpha_limit(_: u64, _: u64, buf: &mut Vec<u8>, w: &mut Vec<(usize, usize)>) {
    for part in ["SORT", "numbers", "ALPHA", "LIMIT", "0", "10"] {
        word(buf, w, |b| b.extend_from_slice(part.as_bytes()));
    }
}

/// Times `make`'s commands against a copy of `base`; `what` describes the data.
fn run_on(name: &str, what: &str, make: Make, base: &Engine, n: u64) {
    let mut engine = base.clone();
    let client = engine.connect(0);
    time_commands(
        &format!("{name:<9} {what:<15}"),
        &mut engine,
        client,
        make,
        0,
        n,
    );
}

/// A write-heavy mix (nine SETs of a 100-byte value to one GET) over a keyspace far larger
/// than `maxmemory` allows, so that nearly every write evicts: the cost of Redis's sampled
/// eviction under `policy`.
fn run_at_maxmemory(policy: &str, n: u64) {
    let mut engine = Engine::new(Config {
        record_events: false,
        // No background saves: the row measures eviction alone.
        save: String::new(),
        ..Config::default()
    });
    let client = engine.connect(0);
    // Room for about 20,000 of these keys.
    let limit = engine.used_memory() + 4 * 1024 * 1024;
    for (name, value) in [
        ("maxmemory-policy", policy.to_string()),
        ("maxmemory", limit.to_string()),
    ] {
        engine.execute(
            client,
            &[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()],
            0,
        );
    }
    let keyspace = 1_000_000u64;
    let value = vec![b'v'; 100];
    let mut keys = Vec::with_capacity(n as usize);
    let mut buf = Vec::new();
    for i in 0..n {
        buf.clear();
        // Skewed: most requests go to a tenth of the keys.
        let hot = i % 4 != 0;
        let ks = if hot { keyspace / 10 } else { keyspace };
        key(i.wrapping_mul(31), ks, &mut buf);
        keys.push(buf.clone());
    }
    let mut out = Vec::with_capacity(1 << 16);
    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    for (i, k) in keys.iter().enumerate() {
        // Time moves 1 ms per request so that idle times (one-second resolution) differ.
        let now = i as i64;
        let reply = if i % 10 == 9 {
            engine.execute(client, &[b"GET", k], now)
        } else {
            engine.execute(client, &[b"SET", k, &value], now)
        };
        out.clear();
        encode_resp(&reply, Protocol::Resp2, &mut out);
    }
    let secs = start.elapsed().as_secs_f64();
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs_before;
    let mut info = Vec::new();
    let reply = engine.execute(client, &[b"INFO", b"stats"], n as i64);
    encode_resp(&reply, Protocol::Resp2, &mut info);
    let text = String::from_utf8_lossy(&info);
    let evicted = text
        .lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .unwrap_or("?")
        .trim()
        .to_string();
    println!(
        "{:<20} {:>12.0} ops/s  {:>8.1} ns/op  {:>5.2} allocs/op  evicted={evicted} keys={}",
        format!("SET/GET {policy}"),
        n as f64 / secs,
        secs * 1e9 / n as f64,
        allocs as f64 / n as f64,
        engine.dbsize(0)
    );
}

/// Memory per key for a million small strings, the shape `DEBUG POPULATE 1000000` makes
/// (`key:N` holding `value:N`), next to what Redis 7.0.15 reported for the same: `used_memory`
/// went from 914,608 to 89,352,056 bytes, 88 bytes per key. Besides the memory model's
/// `used_memory`, prints the heap the engine really holds: the bytes it asked the allocator for,
/// and those rounded to mimalloc's block sizes (what the server process pays, before page-level
/// overhead); the same for a 1,000,000-member sorted set (`ZADD board <score> player:N`).
fn memory_per_key() {
    const REDIS_BYTES_PER_KEY: u64 = 88;
    let n = 1_000_000u64;
    let live = || {
        (
            LIVE.load(Ordering::Relaxed),
            LIVE_MI.load(Ordering::Relaxed),
        )
    };
    let per = |a: (i64, i64), b: (i64, i64)| {
        ((b.0 - a.0) as f64 / n as f64, (b.1 - a.1) as f64 / n as f64)
    };
    TRACK_BYTES.store(true, Ordering::Relaxed);
    // Fills a fresh engine with `n` commands from `command(i)`: (used_memory grown, heap asked,
    // heap in allocator blocks), all per command.
    let measure = |command: &dyn Fn(u64) -> Vec<Vec<u8>>| {
        let mut engine = Engine::new(Config {
            record_events: false,
            ..Config::default()
        });
        let client = engine.connect(0);
        let before = engine.used_memory();
        let heap_before = live();
        for i in 0..n {
            let argv = command(i);
            let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            engine.execute(client, &args, 0);
        }
        let grown = (engine.used_memory() - before) / n;
        let (asked, rounded) = per(heap_before, live());
        (before, grown, asked, rounded)
    };
    let (before, grown, asked, rounded) = measure(&|i| {
        vec![
            b"SET".to_vec(),
            format!("key:{i}").into_bytes(),
            format!("value:{i}").into_bytes(),
        ]
    });
    println!(
        "1M small strings: used_memory from {before}, {grown} bytes/key (Redis 7.0.15: {REDIS_BYTES_PER_KEY}); heap {asked:.1} bytes/key asked, {rounded:.1} in mimalloc blocks"
    );
    let (before, grown, asked, rounded) = measure(&|i| {
        vec![
            b"ZADD".to_vec(),
            b"board".to_vec(),
            ((i * 7919) % 1_000_003).to_string().into_bytes(),
            format!("player:{i:08}").into_bytes(),
        ]
    });
    println!(
        "1M-member zset: used_memory from {before}, {grown} bytes/member; heap {asked:.1} bytes/member asked, {rounded:.1} in mimalloc blocks"
    );
    TRACK_BYTES.store(false, Ordering::Relaxed);
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 200_000 } else { 2_000_000 };
    if std::env::args().any(|a| a == "--memory") {
        // Only the memory rows: `cargo bench -p cachelab-engine --bench execute -- --memory`.
        run_at_maxmemory("allkeys-lru", n);
        run_at_maxmemory("allkeys-lfu", n);
        memory_per_key();
        return;
    }
    if std::env::args().any(|a| a == "--scripting") {
        // Only the script rows: `cargo bench -p cachelab-engine --bench execute -- --scripting`.
        for keyspace in [1, 100_000] {
            run_prepared("EVALSHA", load_script, evalsha, keyspace, n / 10);
            run_prepared(
                "EVALSHA-SW",
                load_sliding_window,
                evalsha_sliding_window,
                keyspace,
                n / 10,
            );
        }
        return;
    }
    println!("cachelab-engine in-process execute, {n} commands per row");
    let zset_only = std::env::args().any(|a| a == "--zset" || a == "--board");
    for keyspace in [1, 100_000] {
        if zset_only {
            break;
        }
        run("SET", set, keyspace, n);
        run("GET", get, keyspace, n);
        run_warm("INCR", set_counter, incr, keyspace, n);
        run("MSET", mset, keyspace, n / 10);
        run("HSET", hset, keyspace, n);
        run("SADD", sadd, keyspace, n);
        run("SETBIT", setbit, keyspace, n);
        run_warm("GETBIT", setbit_last, getbit, keyspace, n);
        run_warm("BITCOUNT", setbit_last, bitcount, keyspace, n);
        run_warm("PFADD", pfadd5, pfadd, keyspace, n);
        run_warm("PFCOUNT", pfadd5, pfcount, keyspace, n);
        run_warm("PFCOUNT2", pfadd5, pfcount2, keyspace, n / 100);
        run_warmed("LPUSH", lpush, lpush, 0, keyspace, n);
        run_warmed("LPOP", lpop, lpush, n, keyspace, n);
        run_prepared("XADD", no_prepare, xadd, keyspace, n);
        run_prepared("XREADGROUP", prepare_streams, xreadgroup, keyspace, n);
        run_prepared("EVALSHA", load_script, evalsha, keyspace, n / 10);
        run_prepared(
            "EVALSHA-SW",
            load_sliding_window,
            evalsha_sliding_window,
            keyspace,
            n / 10,
        );
    }
    if std::env::args().any(|a| a == "--board") {
        // Only bench/node.mjs's boards: `-- --board`, short enough to run under callgrind.
        run_small_board(5_000, n);
        run_small_board(10_000, n);
        return;
    }
    let start = Instant::now();
    let board = leaderboard();
    println!(
        "(a sorted set of {BOARD} members loaded with ZADD in {:.2} s)",
        start.elapsed().as_secs_f64()
    );
    run_board("ZADD", zadd_new, &board, n);
    run_board("ZRANK", zrank, &board, n);
    run_board("ZREVRANGE", zrevrange_top10, &board, n / 2);
    run_board("ZINCRBY", zincrby, &board, n);
    drop(board);
    run_small_board(5_000, n);
    run_small_board(10_000, n);
    if zset_only {
        return;
    }
    let data = geo_and_sort_data();
    run_on("GEOADD", "points=100000", geoadd, &data, n);
    run_on("GEOSEARCH", "points=100000", geosearch, &data, n / 10);
    run_on("SORT", "list=1000", sort_numeric, &data, n / 1000);
    run_on("SORT", "list=1000 ALPHA", sort_alpha_limit, &data, n / 1000);
    run_at_maxmemory("allkeys-lru", n);
    run_at_maxmemory("allkeys-lfu", n);
    memory_per_key();
}
