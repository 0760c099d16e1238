//! CONFIG GET, SET, RESETSTAT, REWRITE, HELP over a table of the parameters the engine knows.
//!
//! Each parameter has a kind that decides how its value is parsed and checked, with Redis's error
//! texts: integers (`string2ll`, then a range), memory sizes (`1gb`, `100mb`, `64k`... as Redis's
//! `memtoull` reads them), yes/no booleans, enumerations, and a few with rules of their own
//! (`save`, `notify-keyspace-events`). A getter and a setter connect it to a typed field of
//! `Config`. Aliases (the `ziplist` names of the `listpack` thresholds) are entries of their own
//! that share the field, as in Redis, so a pattern can match both names.

use crate::args::is;
use crate::cmd::server::help_reply;
use crate::config::{notify, AppendFsync, Config, MaxmemoryPolicy};
use crate::event::Event;
use crate::numfmt::parse_i64;
use crate::table::{container, CommandSpec};
use crate::{error, flags, glob, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "config",
    arity: -2,
    flags: flags!(),
    keys: (0, 0, 0),
    group: "server",
    since: "2.0.0",
    summary: "Reads and changes server parameters.",
    syntax: "subcommand [argument ...]",
    handler: container,
    subcommands: CONFIG_SUBCOMMANDS,
}];

const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "config|get",
        arity: -3,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary:
            "Returns the parameters matching the given names or glob patterns, with their values.",
        syntax: "parameter [parameter ...]",
        handler: config_get,
        subcommands: &[],
    },
    CommandSpec {
        name: "config|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "5.0.0",
        summary: "Lists the CONFIG subcommands.",
        syntax: "",
        handler: config_help,
        subcommands: &[],
    },
    CommandSpec {
        name: "config|resetstat",
        arity: 2,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Zeroes the statistics INFO reports.",
        syntax: "",
        handler: config_resetstat,
        subcommands: &[],
    },
    CommandSpec {
        name: "config|rewrite",
        arity: 2,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.0",
        summary: "Writes the current parameters to the configuration file.",
        syntax: "",
        handler: config_rewrite,
        subcommands: &[],
    },
    CommandSpec {
        name: "config|set",
        arity: -4,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Changes parameters; either every change applies or none does.",
        syntax: "parameter value [parameter value ...]",
        handler: config_set,
        subcommands: &[],
    },
];

/// A parsed value, ready for a setter.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    /// Index into the kind's list of names.
    Enum(usize),
    Text(String),
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &Value);
type SpecialParse = fn(&[u8]) -> Result<Value, &'static str>;

/// How a parameter's value is read.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A plain integer (`string2ll`) within `min..=max`. `unsigned` parameters (size_t and
    /// unsigned long long in Redis) compare the parsed value as unsigned, which is why `-1` is
    /// out of range rather than a parse error.
    Int {
        min: i128,
        max: i128,
        unsigned: bool,
    },
    /// A byte size: digits with an optional unit (b, k, kb, m, mb, g, gb, any case).
    Memory {
        min: i128,
        max: i128,
        unsigned: bool,
    },
    /// A byte size, or a percentage of maxmemory written `N%` and stored negated.
    MemoryOrPercent {
        min: i128,
        max: i128,
    },
    Bool,
    Enum(&'static [&'static str]),
    Special(SpecialParse),
}

pub struct Param {
    pub name: &'static str,
    /// Set only at start: CONFIG SET refuses it.
    pub immutable: bool,
    pub kind: Kind,
    pub get: Getter,
    pub set: Setter,
}

const INT_MAX: i128 = i32::MAX as i128;
const INT_MIN: i128 = i32::MIN as i128;
const LONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;
const MB: i128 = 1024 * 1024;

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const FSYNCS: &[&str] = &["everysec", "always", "no"];

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        Value::Bool(b) => *b as i64,
        Value::Enum(i) => *i as i64,
        Value::Text(_) => 0,
    }
}

macro_rules! int_param {
    ($name:expr, $min:expr, $max:expr, $field:ident) => {
        Param {
            name: $name,
            immutable: false,
            kind: Kind::Int {
                min: $min,
                max: $max,
                unsigned: false,
            },
            get: |c| c.$field.to_string(),
            set: |c, v| c.$field = int(v),
        }
    };
}

macro_rules! size_param {
    ($name:expr, $kind:ident, $field:ident) => {
        Param {
            name: $name,
            immutable: false,
            kind: Kind::$kind {
                min: 0,
                max: LONG_MAX,
                unsigned: true,
            },
            get: |c| c.$field.to_string(),
            set: |c, v| c.$field = int(v) as u64,
        }
    };
}

/// Every parameter CONFIG knows, aliases included.
pub static PARAMS: &[Param] = &[
    Param {
        name: "hz",
        immutable: false,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            unsigned: false,
        },
        get: |c| c.hz.to_string(),
        // Any value is accepted, then brought into 1..=500 (what CONFIG GET then shows).
        set: |c, v| c.hz = int(v).clamp(1, 500),
    },
    int_param!("active-expire-effort", 1, 10, active_expire_effort),
    Param {
        name: "maxmemory",
        immutable: false,
        kind: Kind::Memory {
            min: 0,
            max: ULLONG_MAX,
            unsigned: true,
        },
        get: |c| c.maxmemory.to_string(),
        set: |c, v| c.maxmemory = int(v) as u64,
    },
    Param {
        name: "maxmemory-clients",
        immutable: false,
        kind: Kind::MemoryOrPercent {
            min: -100,
            max: LONG_MAX,
        },
        get: |c| {
            if c.maxmemory_clients < 0 {
                format!("{}%", -c.maxmemory_clients)
            } else {
                c.maxmemory_clients.to_string()
            }
        },
        set: |c, v| c.maxmemory_clients = int(v),
    },
    Param {
        name: "maxmemory-policy",
        immutable: false,
        kind: Kind::Enum(POLICIES),
        get: |c| c.maxmemory_policy.name().to_string(),
        set: |c, v| {
            c.maxmemory_policy =
                MaxmemoryPolicy::ALL[int(v) as usize % MaxmemoryPolicy::ALL.len()].1
        },
    },
    int_param!("maxmemory-samples", 1, INT_MAX, maxmemory_samples),
    int_param!(
        "maxmemory-eviction-tenacity",
        0,
        100,
        maxmemory_eviction_tenacity
    ),
    int_param!("lfu-log-factor", 0, INT_MAX, lfu_log_factor),
    int_param!("lfu-decay-time", 0, INT_MAX, lfu_decay_time),
    Param {
        name: "proto-max-bulk-len",
        immutable: false,
        kind: Kind::Memory {
            min: MB,
            max: LONG_MAX,
            unsigned: false,
        },
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, v| c.proto_max_bulk_len = int(v),
    },
    Param {
        name: "client-query-buffer-limit",
        immutable: false,
        kind: Kind::Memory {
            min: MB,
            max: LONG_MAX,
            unsigned: true,
        },
        get: |c| c.client_query_buffer_limit.to_string(),
        set: |c, v| c.client_query_buffer_limit = int(v),
    },
    Param {
        name: "notify-keyspace-events",
        immutable: false,
        kind: Kind::Special(parse_notify),
        get: |c| c.notify_keyspace_events.clone(),
        set: |c, v| {
            let flags = int(v) as u32;
            c.notify_keyspace_flags = flags;
            c.notify_keyspace_events = notify::canonical(flags);
        },
    },
    Param {
        name: "databases",
        immutable: true,
        kind: Kind::Int {
            min: 1,
            max: INT_MAX,
            unsigned: false,
        },
        get: |c| c.databases.to_string(),
        set: |_, _| {},
    },
    Param {
        name: "save",
        immutable: false,
        kind: Kind::Special(parse_save),
        get: |c| c.save.clone(),
        set: |c, v| {
            if let Value::Text(s) = v {
                c.save = s.clone();
            }
        },
    },
    Param {
        name: "appendonly",
        immutable: false,
        kind: Kind::Bool,
        get: |c| yes_no(c.appendonly),
        set: |c, v| c.appendonly = int(v) != 0,
    },
    Param {
        name: "appendfsync",
        immutable: false,
        kind: Kind::Enum(FSYNCS),
        get: |c| c.appendfsync.name().to_string(),
        set: |c, v| c.appendfsync = AppendFsync::ALL[int(v) as usize % AppendFsync::ALL.len()].1,
    },
    size_param!("hash-max-listpack-entries", Int, hash_max_listpack_entries),
    size_param!("hash-max-ziplist-entries", Int, hash_max_listpack_entries),
    size_param!("hash-max-listpack-value", Memory, hash_max_listpack_value),
    size_param!("hash-max-ziplist-value", Memory, hash_max_listpack_value),
    size_param!("set-max-intset-entries", Int, set_max_intset_entries),
    size_param!("hll-sparse-max-bytes", Memory, hll_sparse_max_bytes),
    size_param!("stream-node-max-bytes", Memory, stream_node_max_bytes),
    int_param!(
        "stream-node-max-entries",
        0,
        LONG_MAX,
        stream_node_max_entries
    ),
    size_param!("zset-max-listpack-entries", Int, zset_max_listpack_entries),
    size_param!("zset-max-ziplist-entries", Int, zset_max_listpack_entries),
    size_param!("zset-max-listpack-value", Memory, zset_max_listpack_value),
    size_param!("zset-max-ziplist-value", Memory, zset_max_listpack_value),
    int_param!(
        "list-max-listpack-size",
        INT_MIN,
        INT_MAX,
        list_max_listpack_size
    ),
    int_param!(
        "list-max-ziplist-size",
        INT_MIN,
        INT_MAX,
        list_max_listpack_size
    ),
    int_param!("list-compress-depth", 0, INT_MAX, list_compress_depth),
    int_param!("busy-reply-threshold", 0, LONG_MAX, busy_reply_threshold),
    int_param!("lua-time-limit", 0, LONG_MAX, busy_reply_threshold),
];

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// A parameter by exact name, any case.
pub fn lookup(name: &[u8]) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Redis's `memtoull`: digits, then an optional unit; no sign, no blanks. Digits beyond 64 bits
/// saturate (strtoull), and the unit multiplies with wrap-around, as in C.
pub fn parse_memory(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    // strtoull of no digits is 0 without an error glibc reports, so "" and "kb" read as 0.
    let mut v: u64 = 0;
    for &c in &s[..digits] {
        v = v.saturating_mul(10).saturating_add(u64::from(c - b'0'));
    }
    Some(v.wrapping_mul(mul))
}

/// `notify-keyspace-events`: every character must name a class.
fn parse_notify(s: &[u8]) -> Result<Value, &'static str> {
    notify::parse(s)
        .map(|f| Value::Int(f as i64))
        .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
}

/// C's `strtoll` over a whole word: blanks, a sign, digits (saturating); Err unless the digits
/// reach the end. An empty word reads as 0.
fn strtoll_whole(w: &[u8]) -> Result<i64, ()> {
    match crate::numfmt::strtoll_prefix(w) {
        Some((v, end)) if end == w.len() => Ok(v),
        Some(_) => Err(()),
        // No conversion: strtoll leaves the end pointer at the start of the word.
        None if w.is_empty() => Ok(0),
        None => Err(()),
    }
}

/// `save`: pairs of `seconds changes` separated by single spaces, seconds at least 1 and changes
/// at least 0; empty for none. Changes are stored as a C int, so larger values wrap.
fn parse_save(s: &[u8]) -> Result<Value, &'static str> {
    const INVALID: &str = "Invalid save parameters";
    let words: Vec<&[u8]> = if s.is_empty() {
        vec![]
    } else {
        s.split(|&b| b == b' ').collect()
    };
    if words.len() % 2 == 1 {
        return Err(INVALID);
    }
    let mut nums = Vec::with_capacity(words.len());
    for (j, w) in words.iter().enumerate() {
        let v = strtoll_whole(w).map_err(|_| INVALID)?;
        if (j % 2 == 0 && v < 1) || (j % 2 == 1 && v < 0) {
            return Err(INVALID);
        }
        nums.push(v);
    }
    let text = nums
        .chunks(2)
        .map(|p| format!("{} {}", p[0], p[1] as i32))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Value::Text(text))
}

/// Reads `raw` as a value of `p`, or Redis's reason for refusing it.
pub fn parse_value(p: &Param, raw: &[u8]) -> Result<Value, String> {
    let range_check = |v: i64, min: i128, max: i128, unsigned: bool| -> Result<Value, String> {
        let n = if unsigned {
            i128::from(v as u64)
        } else {
            i128::from(v)
        };
        if n < min || n > max {
            Err(format!(
                "argument must be between {min} and {max} inclusive"
            ))
        } else {
            Ok(Value::Int(v))
        }
    };
    match p.kind {
        Kind::Int { min, max, unsigned } => match parse_i64(raw) {
            Some(v) => range_check(v, min, max, unsigned),
            None => Err("argument couldn't be parsed into an integer".into()),
        },
        Kind::Memory { min, max, unsigned } => match parse_memory(raw) {
            Some(v) => range_check(v as i64, min, max, unsigned),
            None => Err("argument must be a memory value".into()),
        },
        Kind::MemoryOrPercent { min, max } => {
            let v = match parse_memory(raw) {
                Some(v) => v as i64,
                None => match raw.split_last() {
                    Some((b'%', digits)) if !digits.is_empty() => match parse_i64(digits) {
                        Some(n) if n >= 0 => -n,
                        _ => return Err("argument must be a memory or percent value".into()),
                    },
                    _ => return Err("argument must be a memory or percent value".into()),
                },
            };
            if v < 0 && i128::from(v) < min {
                Err(format!(
                    "percentage argument must be less or equal to {}",
                    -min
                ))
            } else if v >= 0 && i128::from(v) > max {
                Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ))
            } else {
                Ok(Value::Int(v))
            }
        }
        Kind::Bool => {
            if is(raw, "yes") {
                Ok(Value::Bool(true))
            } else if is(raw, "no") {
                Ok(Value::Bool(false))
            } else {
                Err("argument must be 'yes' or 'no'".into())
            }
        }
        Kind::Enum(names) => names
            .iter()
            .position(|n| is(raw, n))
            .map(Value::Enum)
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )
            }),
        Kind::Special(parse) => parse(raw).map_err(String::from),
    }
}

fn config_get(e: &mut Engine, c: &Call) -> Reply {
    // Redis collects matches in a case-insensitive dict: a parameter is listed once, under the
    // name as first written (typed name for an exact lookup, canonical name for a pattern).
    let mut found: Vec<(String, &'static Param)> = Vec::new();
    let seen = |found: &Vec<(String, &'static Param)>, p: &Param| {
        found.iter().any(|(_, q)| q.name == p.name)
    };
    for pat in &c.argv[2..] {
        if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            if let Some(p) = lookup(pat) {
                if !seen(&found, p) {
                    found.push((String::from_utf8_lossy(pat).into_owned(), p));
                }
            }
            continue;
        }
        for p in PARAMS {
            if !seen(&found, p) && glob::matches_nocase(pat, p.name.as_bytes()) {
                found.push((p.name.to_string(), p));
            }
        }
    }
    Reply::Map(
        found
            .into_iter()
            .map(|(name, p)| (Reply::bulk(name), Reply::bulk((p.get)(&e.config))))
            .collect(),
    )
}

fn config_set(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    if argv.len() % 2 == 1 {
        return Reply::error(error::SYNTAX);
    }
    // First the names, all of them: an unknown one wins over everything else, then the first
    // immutable or repeated one. Only then the values, in order; the first bad one fails the
    // whole command and nothing changes.
    let pairs: Vec<(&[u8], &[u8])> = argv[2..].chunks(2).map(|p| (p[0], p[1])).collect();
    let mut params: Vec<&'static Param> = Vec::with_capacity(pairs.len());
    let mut refused: Option<String> = None;
    let mut unknown: Option<&[u8]> = None;
    for (name, _) in &pairs {
        let Some(p) = lookup(name) else {
            if refused.is_none() && unknown.is_none() {
                unknown = Some(name);
            }
            continue;
        };
        if refused.is_some() || unknown.is_some() {
            continue;
        }
        let typed = String::from_utf8_lossy(name);
        if p.immutable {
            refused = Some(error::config_set_failed(
                &typed,
                "can't set immutable config",
            ));
        } else if params.iter().any(|q| std::ptr::eq(*q, p)) {
            refused = Some(error::config_set_failed(&typed, "duplicate parameter"));
        }
        params.push(p);
    }
    if let Some(name) = unknown {
        return Reply::error_owned(error::config_set_unknown(name));
    }
    if let Some(err) = refused {
        return Reply::error_owned(err);
    }
    let mut next = e.config.clone();
    for (p, (_, raw)) in params.iter().zip(&pairs) {
        match parse_value(p, raw) {
            Ok(v) => (p.set)(&mut next, &v),
            Err(reason) => return Reply::error_owned(error::config_set_failed(p.name, &reason)),
        }
    }
    let before: Vec<String> = params.iter().map(|p| (p.get)(&e.config)).collect();
    e.config = next;
    e.persist.save_checked = false;
    for (p, old) in params.iter().zip(before) {
        let value = (p.get)(&e.config);
        if value != old {
            e.emit(Event::ConfigChanged {
                name: p.name.to_string(),
                value,
            });
        }
    }
    Reply::OK
}

fn config_resetstat(e: &mut Engine, _c: &Call) -> Reply {
    e.stats.reset();
    Reply::OK
}

/// The engine is configured by its caller, never from a file, so there is nothing to rewrite.
fn config_rewrite(_e: &mut Engine, _c: &Call) -> Reply {
    Reply::error(error::NO_CONFIG_FILE)
}

fn config_help(_e: &mut Engine, c: &Call) -> Reply {
    help_reply(
        c.argv[0],
        &[
            "GET <pattern> [<pattern> ...]",
            "    Returns the parameters whose names match a glob-style pattern, with their values.",
            "SET <parameter> <value> [<parameter> <value> ...]",
            "    Changes parameters; if any value is refused, none is changed.",
            "RESETSTAT",
            "    Zeroes the statistics INFO reports.",
            "REWRITE",
            "    Writes the parameters to the configuration file (there is none here).",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{engine, err};
    use crate::ClientId;

    fn get(e: &mut Engine, c: ClientId, name: &str) -> Reply {
        e.run(c, &["CONFIG", "GET", name], 0)
    }

    fn pair(k: &str, v: &str) -> Reply {
        Reply::Map(vec![(Reply::bulk(k), Reply::bulk(v))])
    }

    #[test]
    fn memtoull_rules() {
        assert_eq!(parse_memory(b"1gb"), Some(1 << 30));
        assert_eq!(parse_memory(b"1G"), Some(1_000_000_000));
        assert_eq!(parse_memory(b"100mb"), Some(100 << 20));
        assert_eq!(parse_memory(b"1k"), Some(1000));
        assert_eq!(parse_memory(b"1KB"), Some(1024));
        assert_eq!(parse_memory(b"7b"), Some(7));
        assert_eq!(parse_memory(b""), Some(0));
        assert_eq!(parse_memory(b"kb"), Some(0));
        assert_eq!(parse_memory(b"18446744073709551616"), Some(u64::MAX));
        assert_eq!(parse_memory(b"20000000000gb"), Some(3028092406290448384));
        assert_eq!(parse_memory(b"1.5gb"), None);
        assert_eq!(parse_memory(b"-1"), None);
        assert_eq!(parse_memory(b" 1"), None);
        assert_eq!(parse_memory(b"+1"), None);
    }

    #[test]
    fn get_exact_glob_and_unknown() {
        let (mut e, c) = engine();
        assert_eq!(get(&mut e, c, "HZ"), pair("HZ", "10"));
        assert_eq!(get(&mut e, c, "nosuch"), Reply::Map(vec![]));
        let Reply::Map(m) = get(&mut e, c, "hash-max-*") else {
            panic!()
        };
        assert_eq!(m.len(), 4);
        let Reply::Map(m) = e.run(c, &["CONFIG", "GET", "hz", "HZ", "h?"], 0) else {
            panic!()
        };
        assert_eq!(m, vec![(Reply::bulk("hz"), Reply::bulk("10"))]);
        assert_eq!(
            get(&mut e, c, "save"),
            pair("save", "3600 1 300 100 60 10000")
        );
        assert_eq!(
            get(&mut e, c, "list-max-ziplist-size"),
            pair("list-max-ziplist-size", "-2")
        );
    }

    #[test]
    fn set_integers() {
        let (mut e, c) = engine();
        assert_eq!(e.run(c, &["CONFIG", "SET", "hz", "1000"], 0), Reply::OK);
        assert_eq!(get(&mut e, c, "hz"), pair("hz", "500"));
        assert_eq!(e.run(c, &["CONFIG", "SET", "hz", "0"], 0), Reply::OK);
        assert_eq!(get(&mut e, c, "hz"), pair("hz", "1"));
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "hz", "-1"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "HZ", "+5"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "hash-max-listpack-entries", "-1"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "hash-max-ziplist-entries", "100"], 0),
            Reply::OK
        );
        assert_eq!(e.config().hash_max_listpack_entries, 100);
    }

    #[test]
    fn set_memory_values() {
        let (mut e, c) = engine();
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "maxmemory", "1gb"], 0),
            Reply::OK
        );
        assert_eq!(e.config().maxmemory, 1 << 30);
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "maxmemory", "1.5gb"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "proto-max-bulk-len", "100"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "maxmemory-clients", "10%"], 0),
            Reply::OK
        );
        assert_eq!(
            get(&mut e, c, "maxmemory-clients"),
            pair("maxmemory-clients", "10%")
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "maxmemory-clients", "101%"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"
        );
    }

    #[test]
    fn set_enums_bools_and_specials() {
        let (mut e, c) = engine();
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"], 0),
            Reply::OK
        );
        assert_eq!(e.config().maxmemory_policy, MaxmemoryPolicy::AllkeysLru);
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "appendfsync", "sometimes"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "appendonly", "maybe"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
        );
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"], 0),
            Reply::OK
        );
        assert_eq!(
            get(&mut e, c, "notify-keyspace-events"),
            pair("notify-keyspace-events", "AKE")
        );
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "notify-keyspace-events", "x$gKmn"], 0),
            Reply::OK
        );
        assert_eq!(
            get(&mut e, c, "notify-keyspace-events"),
            pair("notify-keyspace-events", "g$xnKm")
        );
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "notify-keyspace-events", "An"], 0),
            Reply::OK
        );
        assert_eq!(
            get(&mut e, c, "notify-keyspace-events"),
            pair("notify-keyspace-events", "A")
        );
        assert_eq!(e.config().notify_keyspace_flags, notify::ALL | notify::NEW);
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "notify-keyspace-events", "q"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        );
        assert_eq!(
            e.run(c, &["CONFIG", "SET", "save", "100 4294967297 +5 +0"], 0),
            Reply::OK
        );
        assert_eq!(get(&mut e, c, "save"), pair("save", "100 1 5 0"));
        for bad in ["100", "0 1", "1 -1", "5  0", "+5 +0x"] {
            assert_eq!(
                err(e.run(c, &["CONFIG", "SET", "save", bad], 0)),
                "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
                "{bad:?}"
            );
        }
        assert_eq!(e.run(c, &["CONFIG", "SET", "save", ""], 0), Reply::OK);
        assert_eq!(get(&mut e, c, "save"), pair("save", ""));
    }

    #[test]
    fn set_is_all_or_nothing_with_redis_error_precedence() {
        let (mut e, c) = engine();
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "hz", "10", "foo"], 0)),
            error::SYNTAX
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "hz", "abc", "foo", "1"], 0)),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "DATABASES", "3", "foo", "1"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'DATABASES') - can't set immutable config"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "HZ", "5", "hz", "abc"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "SET", "maxmemory", "100", "hz", "abc"], 0)),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert_eq!(e.config().maxmemory, 0);
        // An alias is a parameter of its own, so setting both names is not a duplicate.
        assert_eq!(
            e.run(
                c,
                &[
                    "CONFIG",
                    "SET",
                    "hash-max-ziplist-entries",
                    "100",
                    "hash-max-listpack-entries",
                    "200"
                ],
                0
            ),
            Reply::OK
        );
        assert_eq!(e.config().hash_max_listpack_entries, 200);
    }

    #[test]
    fn set_records_changes() {
        let (mut e, c) = engine();
        e.drain_events();
        e.run(c, &["CONFIG", "SET", "hz", "20", "maxmemory", "0"], 0);
        assert_eq!(
            e.drain_events(),
            vec![Event::ConfigChanged {
                name: "hz".into(),
                value: "20".into()
            }]
        );
    }

    #[test]
    fn rewrite_help_and_container_errors() {
        let (mut e, c) = engine();
        assert_eq!(
            err(e.run(c, &["CONFIG", "REWRITE"], 0)),
            "ERR The server is running without a config file"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG"], 0)),
            "ERR wrong number of arguments for 'config' command"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "GET"], 0)),
            "ERR wrong number of arguments for 'config|get' command"
        );
        assert_eq!(
            err(e.run(c, &["CONFIG", "FOO"], 0)),
            "ERR unknown subcommand 'FOO'. Try CONFIG HELP."
        );
        let Reply::Array(lines) = e.run(c, &["CONFIG", "HELP"], 0) else {
            panic!()
        };
        assert_eq!(lines.last(), Some(&Reply::simple("    Prints this help.")));
    }
}
