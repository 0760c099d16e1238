//! Random command sequences from a seed, for the commands of the strings, keys and expiry
//! families (and a few connection and server commands that shape the keyspace), and, in
//! `gen/data.rs`, the data types, SORT and MULTI/EXEC blocks.
//!
//! The sequences aim at the corners where an implementation goes wrong: a small key pool so that
//! commands collide, values at the edges of what Redis parses (i64 limits, floats, empty,
//! binary, long), wrong arity, unknown options, bad and overflowing numbers, odd TTLs.
//!
//! Both sides must answer identically, so the generator stays away from replies that may
//! legitimately differ between two correct servers. Time is the main source: two servers run
//! the same command a fraction of a millisecond apart. So relative deadlines are always far
//! (at least 1000 s) and never read back: the generator tracks, per database and key, what kind
//! of deadline the key may carry (`Deadline`), and asks TTL/PTTL only about keys that certainly
//! have none, EXPIRETIME only about keys whose deadline, if any, was given as an absolute time,
//! and uses GT/LT (which compare deadlines) on relative commands only for keys without a
//! relative deadline. The tracking is conservative: a command that might add a deadline raises
//! the key's state, only a command that certainly removes one lowers it. Hash-table order is
//! the other source: KEYS and SCAN replies are compared as multisets, and SCAN always asks for a
//! full iteration. RANDOMKEY, DBSIZE (which counts keys whose deadline passed but that the
//! server has not yet removed), INFO, TIME, CLIENT ID and OBJECT IDLETIME/FREQ are left out.
//!
//! A build function may also ask for its reply to be compared as a multiset (`set_unordered`).
//!
//! The commands are a table (`COMMANDS`, then `DATA_COMMANDS`): a name, Redis's arity (for the wrong-arity variants),
//! a weight and a function that builds one call. Adding a command is adding a row.

use std::collections::{HashMap, VecDeque};

use crate::transcript::command_line;

pub use data::DATA_COMMANDS;

/// SplitMix64: tiny, fast, and the same on every platform, so a seed names a sequence forever.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What deadline a key may carry, as far as the generator can tell. Ordered: a state may only
/// be raised by a command that might set a deadline, and lowered only by one that surely clears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Deadline {
    /// Certainly none (or the key does not exist).
    #[default]
    None,
    /// Perhaps one given as an absolute time (EXPIREAT, EXAT, PXAT): the same on both servers.
    Absolute,
    /// Perhaps one computed from each server's own clock.
    Relative,
}

/// One generated call.
#[derive(Clone, Debug, PartialEq)]
pub struct GenStep {
    pub argv: Vec<Vec<u8>>,
    /// Compare the reply as a multiset (KEYS, SCAN).
    pub unordered: bool,
}

/// A row of the command table.
pub struct Spec {
    /// Lower-case command name, for `--only` filters.
    pub name: &'static str,
    /// Redis's arity: exactly n words when positive, at least -n when negative.
    pub arity: i32,
    /// Relative frequency.
    pub weight: u32,
    pub unordered: bool,
    /// Builds a call, or None when the command does not fit the current state (then another
    /// row is drawn).
    pub build: fn(&mut Gen) -> Option<Vec<Vec<u8>>>,
}

/// Databases a sequence works in (SELECT, MOVE, COPY DB, SWAPDB): few, so that they collide.
const DBS: u64 = 4;
/// Redis's default `databases`.
const ALL_DBS: usize = 16;

const KEYS: &[&[u8]] = &[
    b"k0",
    b"k1",
    b"k2",
    b"k3",
    b"k4",
    b"k5",
    b"",
    b"a b",
    b"{t}k",
    b"\xff\x00k",
];
/// LCS runs in O(len1 * len2) memory: it gets its own keys that only ever hold short strings.
const LCS_KEYS: &[&str] = &["lcs1", "lcs2", "lcs3"];

const BAD_INTS: &[&str] = &[
    "abc",
    "1.5",
    "",
    " 1",
    "1 ",
    "+1",
    "01",
    "-0",
    "0x10",
    "99999999999999999999",
    "9223372036854775808",
];
const SMALL_INTS: &[&str] = &[
    "0", "1", "-1", "2", "3", "10", "42", "100", "-100", "9999", "10000", "12345678",
];
const EDGE_INTS: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "-9223372036854775807",
    "4611686018427387904",
    "-4611686018427387904",
];
const FLOATS: &[&str] = &[
    "1.5", "-2.25", "0.1", "3e5", "1e-5", "inf", "-inf", "1.0", "0.0", "-0", "3.14159", "10.50",
    ".5", "5.",
];
const WORDS: &[&str] = &[
    "v",
    "hello",
    "foo bar",
    "x",
    "Hello World",
    "a\"b",
    "it's",
    "\u{e9}t\u{e9}",
    "\\",
    "*",
    "?",
];

/// Relative seconds that are far enough away never to pass during a run, and far from the
/// absolute deadlines below (so GT/LT between the two kinds come out the same on any clock).
const REL_SECS: &[&str] = &[
    "1000",
    "3600",
    "86400",
    "604800",
    "31536000",
    "100000000",
    "99999999999999",
];
const REL_MS: &[&str] = &["1000000", "86400000", "3600000000", "99999999999999"];
const NON_POSITIVE: &[&str] = &["0", "-1", "-1000"];
const BAD_TTLS: &[&str] = &[
    "abc",
    "1.5",
    "",
    " 1",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775",
];
/// 2100-01-01T00:00:00Z: absolute deadlines go after it, relative ones stay before it.
const FAR_FUTURE_S: u64 = 4_102_444_800;
const PAST_SECS: &[&str] = &["1", "1000", "1600000000"];
const PAST_MS: &[&str] = &["1", "1000", "1600000000000"];

const OFFSETS: &[&str] = &[
    "0", "1", "3", "10", "44", "45", "100", "1000", "65535", "1048576",
];
/// Offsets that must be refused without allocating (Redis checks the size first).
const BAD_OFFSETS: &[&str] = &["-1", "abc", "536870912", "99999999999999", "1.0"];
const RANGE_INDEXES: &[&str] = &[
    "0",
    "1",
    "-1",
    "-2",
    "3",
    "5",
    "-100",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
];
const INCR_AMOUNTS: &[&str] = &[
    "1",
    "-1",
    "5",
    "100",
    "-100",
    "0",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "4611686018427387904",
];
const FLOAT_INCRS: &[&str] = &[
    "0.1", "1.5", "-2.5", "1e3", "-1e3", "5.0e3", "0", "3", "-0.25", "inf", "-inf", "nan", "1e",
    "abc", "",
];
const KEY_PATTERNS: &[&str] = &[
    "*", "k*", "k?", "*0", "[k]1", "a*", "\\*", "k[0-2]", "*b*", "lcs*", "[^k]*", "{t}*",
];
const UNKNOWN_OPTIONS: &[&str] = &["FOO", "NXX", "EXX", "PXT", "KEEP", "GETT", "-", "EX1"];

/// Generator state: the random stream, the connection's database, and what it knows about keys.
pub struct Gen {
    pub rng: Rng,
    db: usize,
    deadlines: Vec<HashMap<Vec<u8>, Deadline>>,
    /// The current call will be sent with a wrong argument count, or queued in a transaction
    /// that may be discarded, so it may change nothing.
    failing: bool,
    /// The calls being built are queued between MULTI and EXEC.
    in_multi: bool,
    /// The current call's reply is compared as a multiset (set by its build function).
    unordered: bool,
    /// Calls already built (a transaction's body and its EXEC), sent before any new draw.
    pending: VecDeque<GenStep>,
    /// The millisecond part of the newest stream id handed out: ids only climb.
    stream_ms: u64,
}

fn w(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng::new(seed),
            db: 0,
            deadlines: vec![HashMap::new(); ALL_DBS],
            failing: false,
            in_multi: false,
            unordered: false,
            pending: VecDeque::new(),
            stream_ms: 1,
        }
    }

    /// The command name, mostly upper case, sometimes not (names are case-insensitive).
    pub fn name(&mut self, n: &str) -> Vec<u8> {
        match self.rng.below(20) {
            0 => n.to_ascii_lowercase().into_bytes(),
            1 => n
                .bytes()
                .map(|c| {
                    if self.rng.percent(50) {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect(),
            _ => w(n),
        }
    }

    /// One of `names`, as a command word (case varied like `name`).
    pub fn name_of(&mut self, names: &[&str]) -> Vec<u8> {
        let n = *self.rng.pick(names);
        self.name(n)
    }

    pub fn key(&mut self) -> Vec<u8> {
        // Mostly the plain keys, so that commands meet each other's results; sometimes a key
        // of the data-type commands, so that key and string commands meet their values.
        if self.rng.percent(12) {
            return data::any_typed_key(self);
        }
        if self.rng.percent(85) {
            self.rng.pick(&KEYS[..6]).to_vec()
        } else {
            self.rng.pick(KEYS).to_vec()
        }
    }

    pub fn pick(&mut self, items: &[&str]) -> Vec<u8> {
        let s = *self.rng.pick::<&str>(items);
        w(s)
    }

    pub fn value(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0..=5 => self.pick(SMALL_INTS),
            6..=7 => self.pick(EDGE_INTS),
            8..=9 => self.pick(FLOATS),
            10 => Vec::new(),
            11 => (0..1 + self.rng.below(8))
                .map(|_| self.rng.below(256) as u8)
                .collect(),
            12 => {
                let len = *self.rng.pick(&[20u64, 21, 44, 45, 100, 1000, 3000]);
                let seed = self.rng.below(26) as u8;
                (0..len)
                    .map(|i| b'a' + ((seed as u64 + i) % 26) as u8)
                    .collect()
            }
            13 => self.pick(BAD_INTS),
            _ => {
                if self.rng.percent(50) {
                    self.pick(WORDS)
                } else {
                    (0..1 + self.rng.below(10))
                        .map(|_| b'a' + self.rng.below(26) as u8)
                        .collect()
                }
            }
        }
    }

    /// An integer argument: usually valid, sometimes not.
    pub fn int_or_bad(&mut self, good: &[&str]) -> Vec<u8> {
        if self.rng.percent(12) {
            self.pick(BAD_INTS)
        } else {
            self.pick(good)
        }
    }

    pub fn rel_secs(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.pick(NON_POSITIVE),
            1 => self.pick(BAD_TTLS),
            _ => self.pick(REL_SECS),
        }
    }

    pub fn rel_ms(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.pick(NON_POSITIVE),
            1 => self.pick(BAD_TTLS),
            _ => self.pick(REL_MS),
        }
    }

    pub fn abs_secs(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.pick(PAST_SECS),
            1 => self.pick(BAD_TTLS),
            2 => w("99999999999999"),
            3 => self.pick(NON_POSITIVE),
            _ => (FAR_FUTURE_S + self.rng.below(1_000_000))
                .to_string()
                .into_bytes(),
        }
    }

    pub fn abs_ms(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.pick(PAST_MS),
            1 => self.pick(BAD_TTLS),
            2 => w("99999999999999999"),
            3 => self.pick(NON_POSITIVE),
            _ => (FAR_FUTURE_S * 1000 + self.rng.below(1_000_000_000))
                .to_string()
                .into_bytes(),
        }
    }

    /// A database index for MOVE, COPY DB, SWAPDB, SELECT: mostly one of the few in use.
    pub fn db_arg(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => self.pick(&["16", "-1", "abc", "1.5", "99999999999999999999", ""]),
            1 => w("15"),
            _ => self.rng.below(DBS).to_string().into_bytes(),
        }
    }

    pub fn unknown_option(&mut self) -> Vec<u8> {
        self.pick(UNKNOWN_OPTIONS)
    }

    /// What `key` in the current database may carry.
    pub fn deadline(&self, key: &[u8]) -> Deadline {
        self.deadline_in(self.db, key)
    }

    fn deadline_in(&self, db: usize, key: &[u8]) -> Deadline {
        self.deadlines[db].get(key).copied().unwrap_or_default()
    }

    /// A command might have given `key` a deadline of kind `d`.
    pub fn raise(&mut self, key: &[u8], d: Deadline) {
        let db = self.db;
        self.raise_in(db, key, d);
    }

    fn raise_in(&mut self, db: usize, key: &[u8], d: Deadline) {
        let slot = self.deadlines[db].entry(key.to_vec()).or_default();
        *slot = (*slot).max(d);
    }

    /// A command certainly left `key` without a deadline (if it is sent as built).
    pub fn clear(&mut self, key: &[u8]) {
        if !self.failing {
            self.deadlines[self.db].remove(key);
        }
    }

    /// `dst` (in database `dst_db`) may now carry whatever `src` carried.
    pub fn carry(&mut self, src: &[u8], dst_db: usize, dst: &[u8]) {
        let d = self.deadline(src);
        self.raise_in(dst_db, dst, d);
    }

    /// A key of the pool that satisfies `ok`, if one turns up in a few draws.
    pub fn key_where(&mut self, ok: impl Fn(Deadline) -> bool) -> Option<Vec<u8>> {
        for _ in 0..8 {
            let k = self.key();
            if ok(self.deadline(&k)) {
                return Some(k);
            }
        }
        None
    }

    /// A valid database index in `arg`, as Redis would read it.
    fn db_index(arg: &[u8]) -> Option<usize> {
        let n = cachelab_engine::numfmt::parse_i64(arg)?;
        usize::try_from(n).ok().filter(|&n| n < ALL_DBS)
    }

    /// The current call's reply is to be compared as a multiset.
    pub fn set_unordered(&mut self) {
        self.unordered = true;
    }

    /// Draws one call from `table` (or sends the next call of a transaction already drawn).
    pub fn step(&mut self, table: &[&Spec]) -> GenStep {
        if let Some(s) = self.pending.pop_front() {
            return s;
        }
        self.draw(table)
    }

    fn draw(&mut self, table: &[&Spec]) -> GenStep {
        let total: u64 = table.iter().map(|s| s.weight as u64).sum();
        loop {
            let mut at = self.rng.below(total);
            let spec = table
                .iter()
                .find(|s| {
                    if at < s.weight as u64 {
                        true
                    } else {
                        at -= s.weight as u64;
                        false
                    }
                })
                .copied()
                .unwrap_or(table[0]);
            // About one call in twenty gets a wrong argument count.
            let min = spec.arity.unsigned_abs() as usize;
            let can_shrink = min > 1;
            let can_grow = spec.arity > 0;
            let arity_change = if (can_shrink || can_grow) && self.rng.percent(5) {
                if can_shrink && (!can_grow || self.rng.percent(50)) {
                    Some(1 + self.rng.below(min as u64 - 1) as usize)
                } else {
                    Some(0)
                }
            } else {
                None
            };
            self.failing = arity_change.is_some() || self.in_multi;
            self.unordered = false;
            let Some(mut argv) = (spec.build)(self) else {
                continue;
            };
            match arity_change {
                // Keep the first n words: too few.
                Some(n) if n > 0 => argv.truncate(n),
                // One word too many for a fixed arity.
                Some(_) => {
                    let extra = if self.rng.percent(50) {
                        self.key()
                    } else {
                        self.value()
                    };
                    argv.push(extra);
                }
                None => {}
            }
            self.failing = self.in_multi;
            return GenStep {
                argv,
                unordered: spec.unordered || self.unordered,
            };
        }
    }
}

/// The rows of `COMMANDS` named in `only` (all of them when `only` is empty).
pub fn select(only: &[String]) -> Result<Vec<&'static Spec>, String> {
    if only.is_empty() {
        return Ok(all_rows().collect());
    }
    let mut rows = Vec::new();
    for name in only {
        let lower = name.to_ascii_lowercase();
        let row = all_rows()
            .find(|s| s.name == lower)
            .ok_or_else(|| format!("no generator for `{name}`"))?;
        rows.push(row);
    }
    Ok(rows)
}

/// Every row: the string, key and server commands, then the data-type ones.
pub fn all_rows() -> impl Iterator<Item = &'static Spec> {
    COMMANDS.iter().chain(DATA_COMMANDS.iter())
}

/// `count` calls from `seed` over `table`: the same inputs give the same sequence.
pub fn generate(seed: u64, count: usize, table: &[&Spec]) -> Vec<GenStep> {
    let mut g = Gen::new(seed);
    (0..count).map(|_| g.step(table)).collect()
}

/// A sequence as a transcript file; its first line says how to make it again.
pub fn to_transcript(header: &str, steps: &[GenStep]) -> String {
    let mut out = format!("# {header}\n");
    for s in steps {
        if s.unordered {
            out.push_str("#! unordered\n");
        }
        out.push_str(&command_line(&s.argv));
        out.push('\n');
    }
    out
}

// ---- The command table ------------------------------------------------------------------------

macro_rules! row {
    ($name:literal, $arity:expr, $weight:expr, $build:expr) => {
        Spec {
            name: $name,
            arity: $arity,
            weight: $weight,
            unordered: false,
            build: $build,
        }
    };
    ($name:literal, $arity:expr, $weight:expr, $build:expr, unordered) => {
        Spec {
            name: $name,
            arity: $arity,
            weight: $weight,
            unordered: true,
            build: $build,
        }
    };
}

// After the macro, which its rows use.
mod data;

pub const COMMANDS: &[Spec] = &[
    // strings
    row!("get", 2, 40, |g| Some(vec![g.name("GET"), g.key()])),
    row!("set", -3, 60, build_set),
    row!("setnx", 3, 6, |g| Some(vec![
        g.name("SETNX"),
        g.key(),
        g.value()
    ])),
    row!("setex", 4, 5, |g| {
        let k = g.key();
        g.raise(&k, Deadline::Relative);
        Some(vec![g.name("SETEX"), k, g.rel_secs(), g.value()])
    }),
    row!("psetex", 4, 5, |g| {
        let k = g.key();
        g.raise(&k, Deadline::Relative);
        Some(vec![g.name("PSETEX"), k, g.rel_ms(), g.value()])
    }),
    row!("getset", 3, 6, |g| {
        let k = g.key();
        g.clear(&k);
        Some(vec![g.name("GETSET"), k, g.value()])
    }),
    row!("getdel", 2, 6, |g| {
        let k = g.key();
        g.clear(&k);
        Some(vec![g.name("GETDEL"), k])
    }),
    row!("getex", -2, 10, build_getex),
    row!("mget", -2, 8, |g| {
        let mut argv = vec![g.name("MGET")];
        for _ in 0..1 + g.rng.below(5) {
            argv.push(g.key());
        }
        Some(argv)
    }),
    row!("mset", -3, 8, |g| build_mset(g, "MSET")),
    row!("msetnx", -3, 5, |g| build_mset(g, "MSETNX")),
    row!("append", 3, 15, |g| Some(vec![
        g.name("APPEND"),
        g.key(),
        g.value()
    ])),
    row!("strlen", 2, 8, |g| Some(vec![g.name("STRLEN"), g.key()])),
    row!("setrange", 4, 8, |g| {
        let offset = if g.rng.percent(12) {
            g.pick(BAD_OFFSETS)
        } else {
            g.pick(OFFSETS)
        };
        let value = if g.rng.percent(15) {
            Vec::new()
        } else {
            g.value()
        };
        Some(vec![g.name("SETRANGE"), g.key(), offset, value])
    }),
    row!("getrange", 4, 8, |g| {
        Some(vec![
            g.name("GETRANGE"),
            g.key(),
            g.int_or_bad(RANGE_INDEXES),
            g.int_or_bad(RANGE_INDEXES),
        ])
    }),
    row!("substr", 4, 3, |g| {
        Some(vec![
            g.name("SUBSTR"),
            g.key(),
            g.int_or_bad(RANGE_INDEXES),
            g.int_or_bad(RANGE_INDEXES),
        ])
    }),
    row!("incr", 2, 12, |g| Some(vec![g.name("INCR"), g.key()])),
    row!("decr", 2, 8, |g| Some(vec![g.name("DECR"), g.key()])),
    row!("incrby", 3, 10, |g| Some(vec![
        g.name("INCRBY"),
        g.key(),
        g.int_or_bad(INCR_AMOUNTS)
    ])),
    row!("decrby", 3, 8, |g| Some(vec![
        g.name("DECRBY"),
        g.key(),
        g.int_or_bad(INCR_AMOUNTS)
    ])),
    row!("incrbyfloat", 3, 8, |g| Some(vec![
        g.name("INCRBYFLOAT"),
        g.key(),
        g.pick(FLOAT_INCRS)
    ])),
    row!("lcs", -3, 6, build_lcs),
    // keys
    row!("del", -2, 12, |g| build_removal(g, "DEL")),
    row!("unlink", -2, 4, |g| build_removal(g, "UNLINK")),
    row!("exists", -2, 10, |g| {
        let mut argv = vec![g.name("EXISTS")];
        for _ in 0..1 + g.rng.below(4) {
            argv.push(g.key());
        }
        Some(argv)
    }),
    row!("touch", -2, 3, |g| {
        let mut argv = vec![g.name("TOUCH")];
        for _ in 0..1 + g.rng.below(3) {
            argv.push(g.key());
        }
        Some(argv)
    }),
    row!("type", 2, 6, |g| Some(vec![g.name("TYPE"), g.key()])),
    row!("rename", 3, 8, |g| {
        let (src, dst) = (g.key(), g.key());
        let db = g.db;
        g.carry(&src, db, &dst);
        Some(vec![g.name("RENAME"), src, dst])
    }),
    row!("renamenx", 3, 5, |g| {
        let (src, dst) = (g.key(), g.key());
        let db = g.db;
        g.carry(&src, db, &dst);
        Some(vec![g.name("RENAMENX"), src, dst])
    }),
    row!("copy", -3, 8, build_copy),
    row!("move", 3, 6, |g| {
        let key = g.key();
        let db_arg = g.db_arg();
        if let Some(db) = Gen::db_index(&db_arg) {
            g.carry(&key, db, &key);
        }
        Some(vec![g.name("MOVE"), key, db_arg])
    }),
    row!(
        "keys",
        2,
        5,
        |g| Some(vec![g.name("KEYS"), g.pick(KEY_PATTERNS)]),
        unordered
    ),
    row!("scan", -2, 4, build_scan, unordered),
    row!("object", -2, 4, |g| {
        // The encoding depends only on the value's history; idle time and frequency depend on
        // the clock and on random draws.
        let sub = if g.rng.percent(90) {
            g.name("ENCODING")
        } else {
            g.pick(&["encodin", "help"])
        };
        Some(vec![g.name("OBJECT"), sub, g.key()])
    }),
    row!("expire", -3, 10, |g| build_expire(g, "EXPIRE", false)),
    row!("pexpire", -3, 8, |g| build_expire(g, "PEXPIRE", false)),
    row!("expireat", -3, 8, |g| build_expire(g, "EXPIREAT", true)),
    row!("pexpireat", -3, 8, |g| build_expire(g, "PEXPIREAT", true)),
    row!("ttl", 2, 6, |g| {
        let k = g.key_where(|d| d == Deadline::None)?;
        Some(vec![g.name("TTL"), k])
    }),
    row!("pttl", 2, 4, |g| {
        let k = g.key_where(|d| d == Deadline::None)?;
        Some(vec![g.name("PTTL"), k])
    }),
    row!("expiretime", 2, 8, |g| {
        let k = g.key_where(|d| d != Deadline::Relative)?;
        Some(vec![g.name("EXPIRETIME"), k])
    }),
    row!("pexpiretime", 2, 6, |g| {
        let k = g.key_where(|d| d != Deadline::Relative)?;
        Some(vec![g.name("PEXPIRETIME"), k])
    }),
    row!("persist", 2, 6, |g| {
        let k = g.key();
        g.clear(&k);
        Some(vec![g.name("PERSIST"), k])
    }),
    // connection and server commands that move between or wipe databases
    row!("select", 2, 6, |g| {
        let arg = g.db_arg();
        if let (Some(db), false) = (Gen::db_index(&arg), g.failing) {
            g.db = db;
        }
        Some(vec![g.name("SELECT"), arg])
    }),
    row!("swapdb", 3, 2, |g| {
        let (a, b) = (g.db_arg(), g.db_arg());
        if let (Some(x), Some(y), false) = (Gen::db_index(&a), Gen::db_index(&b), g.failing) {
            g.deadlines.swap(x, y);
        }
        Some(vec![g.name("SWAPDB"), a, b])
    }),
    row!("flushdb", -1, 1, |g| {
        let mut argv = vec![g.name("FLUSHDB")];
        match g.rng.below(4) {
            0 => argv.push(g.pick(&["SYNC", "ASYNC", "sync"])),
            1 => argv.push(g.unknown_option()),
            _ => {
                if !g.failing {
                    g.deadlines[g.db].clear();
                }
            }
        }
        Some(argv)
    }),
    row!("ping", -1, 3, |g| {
        let mut argv = vec![g.name("PING")];
        if g.rng.percent(50) {
            argv.push(g.value());
        }
        if g.rng.percent(10) {
            argv.push(g.value());
        }
        Some(argv)
    }),
    row!("echo", 2, 3, |g| Some(vec![g.name("ECHO"), g.value()])),
    row!("unknown", 0, 2, |g| {
        let name = g.pick(&["NOSUCHCMD", "GETT", "SETT", "foo", "EXPIRES", ""]);
        let mut argv = vec![name];
        for _ in 0..g.rng.below(4) {
            // Plain text: Redis quotes these bytes back in its error.
            argv.push(if g.rng.percent(10) {
                vec![b'x'; 200]
            } else {
                g.pick(&SMALL_INTS[..6])
            });
        }
        Some(argv)
    }),
];

fn build_set(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let key = g.key();
    let mut argv = vec![g.name("SET"), key.clone(), g.value()];
    let options = *g.rng.pick(&[0u64, 0, 0, 1, 1, 1, 2, 2, 3]);
    // Only a SET with no options but GET certainly leaves the key without a deadline.
    let mut plain = true;
    for _ in 0..options {
        let choice = g.rng.below(11);
        plain &= choice == 2;
        match choice {
            0 => argv.push(g.name("NX")),
            1 => argv.push(g.name("XX")),
            2 => argv.push(g.name("GET")),
            3 => argv.push(g.name("KEEPTTL")),
            4 | 5 => {
                let ex = g.rng.percent(50);
                argv.push(g.name(if ex { "EX" } else { "PX" }));
                argv.push(if ex { g.rel_secs() } else { g.rel_ms() });
                g.raise(&key, Deadline::Relative);
            }
            6 | 7 => {
                let ex = g.rng.percent(50);
                argv.push(g.name(if ex { "EXAT" } else { "PXAT" }));
                argv.push(if ex { g.abs_secs() } else { g.abs_ms() });
                g.raise(&key, Deadline::Absolute);
            }
            8 => {
                // An expiry option with its value missing.
                argv.push(g.name_of(&["EX", "PX", "EXAT", "PXAT"]));
                break;
            }
            9 => argv.push(g.name("PERSIST")),
            _ => argv.push(g.unknown_option()),
        }
    }
    if plain {
        g.clear(&key);
    }
    Some(argv)
}

fn build_getex(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let key = g.key();
    let mut argv = vec![g.name("GETEX"), key.clone()];
    let options = *g.rng.pick(&[0u64, 1, 1, 1, 2]);
    let mut only_persist = options == 1;
    for _ in 0..options {
        match g.rng.below(9) {
            0 | 1 => {
                let ex = g.rng.percent(50);
                argv.push(g.name(if ex { "EX" } else { "PX" }));
                argv.push(if ex { g.rel_secs() } else { g.rel_ms() });
                g.raise(&key, Deadline::Relative);
                only_persist = false;
            }
            2 | 3 => {
                let ex = g.rng.percent(50);
                argv.push(g.name(if ex { "EXAT" } else { "PXAT" }));
                argv.push(if ex { g.abs_secs() } else { g.abs_ms() });
                g.raise(&key, Deadline::Absolute);
                only_persist = false;
            }
            4 | 5 => argv.push(g.name("PERSIST")),
            6 => {
                argv.push(g.name_of(&["KEEPTTL", "NX", "GET"]));
                only_persist = false;
            }
            7 => {
                argv.push(g.name_of(&["EX", "PXAT"]));
                only_persist = false;
                break;
            }
            _ => {
                argv.push(g.unknown_option());
                only_persist = false;
            }
        }
    }
    if only_persist {
        g.clear(&key);
    }
    Some(argv)
}

fn build_mset(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd)];
    let pairs = 1 + g.rng.below(4);
    let mut keys = Vec::new();
    for _ in 0..pairs {
        let k = g.key();
        keys.push(k.clone());
        argv.push(k);
        argv.push(g.value());
    }
    if g.rng.percent(8) {
        // A key without its value: an arity error.
        argv.pop();
    } else if cmd == "MSET" {
        // MSET overwrites every key and drops their deadlines; MSETNX either creates all of
        // them (without deadlines) or changes nothing, which leaves each key's state as it was.
        for k in keys {
            g.clear(&k);
        }
    }
    Some(argv)
}

fn build_lcs(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let a = g.pick(LCS_KEYS);
    if g.rng.percent(30) {
        let len = g.rng.below(13);
        let v: Vec<u8> = (0..len).map(|_| b'a' + g.rng.below(4) as u8).collect();
        return Some(vec![g.name("SET"), a, v]);
    }
    let b = g.pick(LCS_KEYS);
    let mut argv = vec![g.name("LCS"), a, b];
    match g.rng.below(6) {
        0 => argv.push(g.name("LEN")),
        1 => argv.push(g.name("IDX")),
        2 => {
            argv.push(g.name("IDX"));
            argv.push(g.name("MINMATCHLEN"));
            argv.push(g.int_or_bad(&["0", "1", "2", "3", "-1"]));
            if g.rng.percent(50) {
                argv.push(g.name("WITHMATCHLEN"));
            }
        }
        3 => {
            argv.push(g.name("IDX"));
            argv.push(g.name("WITHMATCHLEN"));
        }
        4 => {
            let opt = if g.rng.percent(50) {
                g.name("LEN")
            } else {
                g.unknown_option()
            };
            argv.push(opt);
            argv.push(g.name("IDX"));
        }
        _ => {}
    }
    Some(argv)
}

fn build_removal(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd)];
    for _ in 0..1 + g.rng.below(3) {
        let k = g.key();
        g.clear(&k);
        argv.push(k);
    }
    Some(argv)
}

fn build_copy(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let (src, dst) = (g.key(), g.key());
    let mut argv = vec![g.name("COPY"), src.clone(), dst.clone()];
    let mut target_db = Some(g.db);
    for _ in 0..g.rng.below(3) {
        match g.rng.below(5) {
            0 | 1 => {
                let arg = g.db_arg();
                target_db = Gen::db_index(&arg);
                argv.push(g.name("DB"));
                argv.push(arg);
            }
            2 | 3 => argv.push(g.name("REPLACE")),
            _ => argv.push(g.unknown_option()),
        }
    }
    if let Some(db) = target_db {
        g.carry(&src, db, &dst);
    }
    Some(argv)
}

fn build_scan(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    // Only cursor 0 with a large COUNT: one call walks the whole table, so the reply does not
    // depend on where each server's hash function put the keys. Bad cursors are ones Redis
    // refuses; "-1" is not among them (strtoul wraps it to a position in the table).
    let cursor = if g.rng.percent(10) {
        g.pick(&["abc", "1.5", " 0", "99999999999999999999"])
    } else {
        w("0")
    };
    let mut argv = vec![g.name("SCAN"), cursor];
    let mut options = vec![vec![g.name("COUNT"), w("1000")]];
    if g.rng.percent(40) {
        options.push(vec![g.name("MATCH"), g.pick(KEY_PATTERNS)]);
    }
    if g.rng.percent(20) {
        options.push(vec![
            g.name("TYPE"),
            g.pick(&["string", "list", "STRING", "nosuchtype"]),
        ]);
    }
    if g.rng.percent(8) {
        options.push(vec![g.name("COUNT"), g.pick(&["0", "-1", "abc"])]);
    }
    if g.rng.percent(5) {
        options.push(vec![g.unknown_option()]);
    }
    // The order of the options does not matter to Redis; shuffle to vary it.
    while !options.is_empty() {
        let i = g.rng.below(options.len() as u64) as usize;
        argv.extend(options.remove(i));
    }
    Some(argv)
}

fn build_expire(g: &mut Gen, cmd: &str, absolute: bool) -> Option<Vec<Vec<u8>>> {
    let key = g.key();
    let when = match (cmd, absolute) {
        ("EXPIRE", _) => g.rel_secs(),
        ("PEXPIRE", _) => g.rel_ms(),
        ("EXPIREAT", _) => g.abs_secs(),
        _ => g.abs_ms(),
    };
    // GT and LT compare the new deadline with the old one: two relative deadlines computed on
    // two clocks may compare differently, so they are not mixed.
    let compares_ok = absolute || g.deadline(&key) != Deadline::Relative;
    let mut argv = vec![g.name(cmd), key.clone(), when];
    for _ in 0..*g.rng.pick(&[0u64, 0, 1, 1, 2]) {
        let opt = match g.rng.below(6) {
            0 => "NX",
            1 => "XX",
            2 | 3 if compares_ok => {
                if g.rng.percent(50) {
                    "GT"
                } else {
                    "LT"
                }
            }
            4 => {
                argv.push(g.unknown_option());
                continue;
            }
            _ => continue,
        };
        argv.push(g.name(opt));
    }
    g.raise(
        &key,
        if absolute {
            Deadline::Absolute
        } else {
            Deadline::Relative
        },
    );
    Some(argv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachelab_engine::cli::split_args;

    #[test]
    fn same_seed_same_sequence() {
        let table = select(&[]).unwrap();
        let a = generate(7, 500, &table);
        let b = generate(7, 500, &table);
        let c = generate(8, 500, &table);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn transcript_text_reads_back_as_the_same_calls() {
        let table = select(&[]).unwrap();
        let steps = generate(3, 2000, &table);
        let text = to_transcript("gen --seed 3 --count 2000", &steps);
        let t = crate::transcript::parse("gen", &text).unwrap();
        assert_eq!(t.steps.len(), steps.len());
        for (parsed, made) in t.steps.iter().zip(&steps) {
            assert_eq!(parsed.argv, made.argv, "line {}", parsed.line);
            assert_eq!(parsed.unordered, made.unordered);
            assert_eq!(split_args(&parsed.text).unwrap(), made.argv);
        }
    }

    #[test]
    fn covers_the_table_and_the_error_cases() {
        let table = select(&[]).unwrap();
        let steps = generate(11, 5000, &table);
        let names: std::collections::HashSet<Vec<u8>> = steps
            .iter()
            .map(|s| s.argv[0].to_ascii_lowercase())
            .collect();
        for spec in all_rows().filter(|s| s.name != "unknown") {
            assert!(
                names.contains(spec.name.as_bytes()),
                "{} never generated",
                spec.name
            );
        }
        let lines: Vec<String> = steps.iter().map(|s| command_line(&s.argv)).collect();
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        assert!(has("9223372036854775807"));
        assert!(has("KEEPTTL"));
        assert!(has("\"\""), "empty strings");
        assert!(has("\\x"), "binary bytes");
        assert!(has("1048576"));
        // Some call is cut short.
        assert!(steps
            .iter()
            .any(|s| s.argv.len() == 1 && s.argv[0].eq_ignore_ascii_case(b"get")));
    }

    #[test]
    fn ttl_is_never_asked_after_a_relative_deadline() {
        // Replays the generator's own bookkeeping rule on its output, independently: after a
        // relative expiry on a key in a database, TTL/PTTL/EXPIRETIME must not name that key
        // until it is certainly cleared.
        let table = select(&[]).unwrap();
        for seed in 0..20 {
            let mut g = Gen::new(seed);
            for _ in 0..2000 {
                let before: Vec<HashMap<Vec<u8>, Deadline>> = g.deadlines.clone();
                let db = g.db;
                // A queued call was checked against the state when its transaction was built.
                let queued = !g.pending.is_empty();
                let step = g.step(&table);
                if queued {
                    continue;
                }
                let name = step.argv[0].to_ascii_uppercase();
                if step.argv.len() == 2 && matches!(name.as_slice(), b"TTL" | b"PTTL") {
                    assert_eq!(
                        before[db].get(&step.argv[1]).copied().unwrap_or_default(),
                        Deadline::None
                    );
                }
                if step.argv.len() == 2 && matches!(name.as_slice(), b"EXPIRETIME" | b"PEXPIRETIME")
                {
                    assert_ne!(
                        before[db].get(&step.argv[1]).copied(),
                        Some(Deadline::Relative)
                    );
                }
            }
        }
    }

    #[test]
    fn filters_by_name() {
        assert_eq!(select(&["GET".into(), "set".into()]).unwrap().len(), 2);
        assert!(select(&["nope".into()]).is_err());
    }
}
