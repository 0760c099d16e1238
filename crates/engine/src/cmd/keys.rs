//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME,
//! RENAMENX, COPY, MOVE, TOUCH and OBJECT.
//!
//! These work on keys whatever their value's type, so they look at a value only through
//! `Value::type_name` and `Value::encoding`; a new value type needs no change here beyond COPY's
//! duplication, which `Clone` already covers.

use crate::args::int;
use crate::cmd::scan::{self, is_word};
use crate::dict::Key;
use crate::keyspace::{lfu_decayed, Lookup};
use crate::object::{RString, Value, SHARED_INTEGERS};
use crate::table::{container, CommandSpec};
use crate::{error, flags, glob, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "del",
        arity: -2,
        flags: flags!(WRITE),
        keys: (1, -1, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Deletes the given keys and returns how many existed.",
        syntax: "key [key ...]",
        handler: del,
        subcommands: &[],
    },
    CommandSpec {
        name: "unlink",
        arity: -2,
        flags: flags!(WRITE, FAST),
        keys: (1, -1, 1),
        group: "generic",
        since: "4.0.0",
        summary: "Deletes the given keys, freeing their memory in the background; returns how many existed.",
        syntax: "key [key ...]",
        handler: del,
        subcommands: &[],
    },
    CommandSpec {
        name: "exists",
        arity: -2,
        flags: flags!(READONLY, FAST),
        keys: (1, -1, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Counts how many of the given keys exist; a key named twice counts twice.",
        syntax: "key [key ...]",
        handler: exists,
        subcommands: &[],
    },
    CommandSpec {
        name: "type",
        arity: 2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Names the type of the value under a key, or none.",
        syntax: "key",
        handler: type_cmd,
        subcommands: &[],
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "generic",
        since: "1.0.0",
        summary: "Lists every key matching a glob pattern, walking the whole keyspace at once.",
        syntax: "pattern",
        handler: keys,
        subcommands: &[],
    },
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "generic",
        since: "2.8.0",
        summary: "Walks the keyspace a few buckets at a time from a cursor, optionally filtering by pattern and type.",
        syntax: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
        handler: scan_cmd,
        subcommands: &[],
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "generic",
        since: "1.0.0",
        summary: "Returns a key picked at random, or nil when the database is empty.",
        syntax: "",
        handler: randomkey,
        subcommands: &[],
    },
    CommandSpec {
        name: "rename",
        arity: 3,
        flags: flags!(WRITE),
        keys: (1, 2, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Gives a key a new name, replacing any key already under that name.",
        syntax: "key newkey",
        handler: rename,
        subcommands: &[],
    },
    CommandSpec {
        name: "renamenx",
        arity: 3,
        flags: flags!(WRITE, FAST),
        keys: (1, 2, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Gives a key a new name only when no key has that name yet.",
        syntax: "key newkey",
        handler: renamenx,
        subcommands: &[],
    },
    CommandSpec {
        name: "copy",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 2, 1),
        group: "generic",
        since: "6.2.0",
        summary: "Copies a key's value and time to live to another key, possibly in another database.",
        syntax: "source destination [DB destination-db] [REPLACE]",
        handler: copy,
        subcommands: &[],
    },
    CommandSpec {
        name: "move",
        arity: 3,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Moves a key to another database unless a key of that name is already there.",
        syntax: "key db",
        handler: move_cmd,
        subcommands: &[],
    },
    CommandSpec {
        name: "touch",
        arity: -2,
        flags: flags!(READONLY, FAST),
        keys: (1, -1, 1),
        group: "generic",
        since: "3.2.1",
        summary: "Marks the given keys as just accessed and counts how many exist.",
        syntax: "key [key ...]",
        handler: touch,
        subcommands: &[],
    },
    CommandSpec {
        name: "object",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "generic",
        since: "2.2.3",
        summary: "Inspects how a key's value is stored and how recently and often it was used.",
        syntax: "subcommand [arguments]",
        handler: container,
        subcommands: OBJECT_SUBCOMMANDS,
    },
];

const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "object|encoding",
        arity: 3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "generic",
        since: "2.2.3",
        summary: "Names the internal representation of a key's value.",
        syntax: "key",
        handler: object_encoding,
        subcommands: &[],
    },
    CommandSpec {
        name: "object|freq",
        arity: 3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "generic",
        since: "4.0.0",
        summary: "Returns a key's logarithmic access counter (LFU policies only).",
        syntax: "key",
        handler: object_freq,
        subcommands: &[],
    },
    CommandSpec {
        name: "object|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "generic",
        since: "6.2.0",
        summary: "Lists the OBJECT subcommands.",
        syntax: "",
        handler: object_help,
        subcommands: &[],
    },
    CommandSpec {
        name: "object|idletime",
        arity: 3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "generic",
        since: "2.2.3",
        summary: "Returns the seconds since a key was last accessed (not under LFU policies).",
        syntax: "key",
        handler: object_idletime,
        subcommands: &[],
    },
    CommandSpec {
        name: "object|refcount",
        arity: 3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "generic",
        since: "2.2.3",
        summary: "Returns how many references the server holds to a key's value.",
        syntax: "key",
        handler: object_refcount,
        subcommands: &[],
    },
];

/// DEL and UNLINK: the engine frees memory at once either way, so they differ only in their
/// flags.
fn del(e: &mut Engine, c: &Call) -> Reply {
    let mut deleted = 0;
    for &key in &c.argv[1..] {
        if e.delete(c.db, key) {
            e.notify(c.db, key, "del");
            deleted += 1;
        }
    }
    Reply::Integer(deleted)
}

fn exists(e: &mut Engine, c: &Call) -> Reply {
    let mut n = 0;
    for &key in &c.argv[1..] {
        if e.lookup(c.db, key, Lookup::ReadNoTouch).is_some() {
            n += 1;
        }
    }
    Reply::Integer(n)
}

fn type_cmd(e: &mut Engine, c: &Call) -> Reply {
    Reply::simple(type_of(e, c.db, c.argv[1]))
}

/// The name TYPE reports, `none` for a missing key. Like Redis's TYPE lookup it counts a
/// keyspace hit or miss without touching the key.
fn type_of(e: &mut Engine, db: usize, key: &[u8]) -> &'static str {
    e.lookup(db, key, Lookup::ReadNoTouch)
        .map_or("none", |entry| entry.value.type_name())
}

/// KEYS skips keys whose time has passed but, unlike SCAN, leaves them in place.
fn keys(e: &mut Engine, c: &Call) -> Reply {
    let pattern = c.argv[1];
    let all = pattern == b"*";
    let now = e.now;
    let found: Vec<Vec<u8>> = e.dbs[c.db]
        .keys
        .iter()
        .filter(|(k, entry)| {
            (all || glob::matches(pattern, k)) && entry.expire_at().is_none_or(|at| now <= at)
        })
        .map(|(k, _)| k.to_vec())
        .collect();
    Reply::bulks(found)
}

fn scan_cmd(e: &mut Engine, c: &Call) -> Reply {
    let cursor = tri!(scan::parse_cursor(c.argv[1]));
    let opts = tri!(scan::parse_options(c.argv, 2, true));
    let (next, mut found) = scan::collect(&e.dbs[c.db].keys, cursor, opts.count, |k, _, out| {
        out.push(k.to_vec())
    });
    scan::retain_matching(&mut found, opts.pattern, 1);
    // As in Redis, the type filter looks each key up (which expires it if its time has passed
    // and counts a hit or miss), and a key whose time has passed is dropped and deleted.
    found.retain(|key| {
        if let Some(wanted) = opts.type_name {
            if !scan::c_str(wanted).eq_ignore_ascii_case(type_of(e, c.db, key).as_bytes()) {
                return false;
            }
        }
        !e.expire_if_needed(c.db, key)
    });
    scan::reply(next, found)
}

/// Picks random keys until one is still alive, deleting the expired ones it meets on the way.
fn randomkey(e: &mut Engine, c: &Call) -> Reply {
    loop {
        let d = &e.dbs[c.db];
        let Some((key, _)) = d.keys.random_entry(&mut e.rng) else {
            return Reply::Nil;
        };
        let key = key.to_vec();
        if !e.expire_if_needed(c.db, &key) {
            return Reply::Bulk(key);
        }
    }
}

fn rename(e: &mut Engine, c: &Call) -> Reply {
    rename_generic(e, c, false)
}

fn renamenx(e: &mut Engine, c: &Call) -> Reply {
    rename_generic(e, c, true)
}

/// The entry, TTL and access metadata included, moves to the new name.
fn rename_generic(e: &mut Engine, c: &Call, nx: bool) -> Reply {
    let (from, to) = (c.argv[1], c.argv[2]);
    if e.write(c.db, from).is_none() {
        return Reply::error(error::NO_SUCH_KEY);
    }
    if from == to {
        return if nx { Reply::Integer(0) } else { Reply::OK };
    }
    if e.write(c.db, to).is_some() {
        if nx {
            return Reply::Integer(0);
        }
        e.dbs[c.db].remove(to);
    }
    let Some(entry) = e.dbs[c.db].remove(from) else {
        return Reply::error(error::NO_SUCH_KEY);
    };
    e.dbs[c.db].put(Key::from(to), entry);
    e.notify(c.db, from, "rename_from");
    e.notify(c.db, to, "rename_to");
    if nx {
        Reply::Integer(1)
    } else {
        Reply::OK
    }
}

/// A database number argument: an integer, then a C `int`, then an existing database.
fn parse_db(e: &Engine, arg: &[u8]) -> Result<usize, Reply> {
    let id = int(arg)?;
    let (min, max) = (i64::from(i32::MIN), i64::from(i32::MAX));
    if id < min || id > max {
        return Err(Reply::error_owned(error::value_out_of_range(min, max)));
    }
    if id < 0 || id as usize >= e.dbs.len() {
        return Err(Reply::error(error::DB_INDEX_OUT_OF_RANGE));
    }
    Ok(id as usize)
}

fn move_cmd(e: &mut Engine, c: &Call) -> Reply {
    if e.is_cluster_node() {
        return Reply::error(error::MOVE_IN_CLUSTER);
    }
    let key = c.argv[1];
    let dst = tri!(parse_db(e, c.argv[2]));
    if dst == c.db {
        return Reply::error(error::SAME_OBJECT);
    }
    if e.write(c.db, key).is_none() {
        return Reply::Integer(0);
    }
    if e.write(dst, key).is_some() {
        return Reply::Integer(0);
    }
    let Some(entry) = e.dbs[c.db].remove(key) else {
        return Reply::Integer(0);
    };
    e.dbs[dst].put(Key::from(key), entry);
    e.notify(c.db, key, "move_from");
    e.notify(dst, key, "move_to");
    Reply::Integer(1)
}

fn copy(e: &mut Engine, c: &Call) -> Reply {
    let (from, to) = (c.argv[1], c.argv[2]);
    let mut dst = c.db;
    let mut replace = false;
    let mut j = 3;
    while j < c.argv.len() {
        let more = c.argv.len() - j - 1;
        if is_word(c.argv[j], "replace") {
            replace = true;
        } else if is_word(c.argv[j], "db") && more >= 1 {
            dst = tri!(parse_db(e, c.argv[j + 1]));
            j += 1;
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    if e.is_cluster_node() && (c.db != 0 || dst != 0) {
        return Reply::error(error::COPY_DB_IN_CLUSTER);
    }
    if dst == c.db && from == to {
        return Reply::error(error::SAME_OBJECT);
    }
    let Some(source) = e.read(c.db, from) else {
        return Reply::Integer(0);
    };
    // The copy is a new object: same value and encoding, fresh access metadata.
    let (value, expire_at) = (source.value.clone(), source.expire_at());
    if e.write(dst, to).is_some() {
        if !replace {
            return Reply::Integer(0);
        }
        e.dbs[dst].remove(to);
    }
    e.add_value(dst, to, value);
    if let Some(at) = expire_at {
        e.dbs[dst].set_expire(to, at);
    }
    e.notify(dst, to, "copy_to");
    Reply::Integer(1)
}

fn touch(e: &mut Engine, c: &Call) -> Reply {
    let mut n = 0;
    for &key in &c.argv[1..] {
        if e.read(c.db, key).is_some() {
            n += 1;
        }
    }
    Reply::Integer(n)
}

fn object_encoding(e: &mut Engine, c: &Call) -> Reply {
    match e.lookup(c.db, c.argv[2], Lookup::ReadNoTouch) {
        Some(entry) => Reply::bulk(entry.value.encoding()),
        None => Reply::Nil,
    }
}

/// Redis shares the integers 0..9999 between all keys unless a maxmemory limit is set with an
/// LRU or LFU policy (those need a private access field per value); a shared object reports
/// INT_MAX references.
fn object_refcount(e: &mut Engine, c: &Call) -> Reply {
    let config = &e.config;
    let shares_integers = config.maxmemory == 0
        || !(config.maxmemory_policy.is_lru() || config.maxmemory_policy.is_lfu());
    match e.lookup(c.db, c.argv[2], Lookup::ReadNoTouch) {
        Some(entry) => {
            let shared = shares_integers
                && matches!(entry.value, Value::Str(RString::Int(v)) if (0..SHARED_INTEGERS).contains(&v));
            Reply::Integer(if shared { i64::from(i32::MAX) } else { 1 })
        }
        None => Reply::Nil,
    }
}

/// Redis's LRU clock ticks in whole seconds and wraps at 24 bits.
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

fn object_idletime(e: &mut Engine, c: &Call) -> Reply {
    let now = e.now;
    let lfu = e.config.maxmemory_policy.is_lfu();
    let Some(entry) = e.lookup(c.db, c.argv[2], Lookup::ReadNoTouch) else {
        return Reply::Nil;
    };
    if lfu {
        return Reply::error(error::OBJECT_IDLETIME_LFU);
    }
    // Idle time is measured between ticks of the seconds clock, not between the two instants:
    // an access at 0.999 s reads as one second idle at 1.001 s.
    let clock = (now / 1000) & LRU_CLOCK_MAX;
    let last = (entry.last_access_ms / 1000) & LRU_CLOCK_MAX;
    let idle = if clock >= last {
        clock - last
    } else {
        clock + (LRU_CLOCK_MAX - last)
    };
    Reply::Integer(idle)
}

fn object_freq(e: &mut Engine, c: &Call) -> Reply {
    let now = e.now;
    let lfu = e.config.maxmemory_policy.is_lfu();
    let decay = e.config.lfu_decay_time;
    let Some(entry) = e.lookup(c.db, c.argv[2], Lookup::ReadNoTouch) else {
        return Reply::Nil;
    };
    if !lfu {
        return Reply::error(error::OBJECT_FREQ_NOT_LFU);
    }
    Reply::Integer(i64::from(lfu_decayed(entry, now, decay)))
}

fn object_help(_e: &mut Engine, c: &Call) -> Reply {
    let name = String::from_utf8_lossy(c.argv[0]).to_ascii_uppercase();
    let lines: &[&str] = &[
        "ENCODING <key>",
        "    Name the internal representation of the value stored at <key>.",
        "FREQ <key>",
        "    Give the logarithmic access counter of <key>; it grows with how often the key",
        "    was used lately. Only tracked under an LFU maxmemory policy.",
        "IDLETIME <key>",
        "    Give the approximate number of seconds since <key> was last read or written.",
        "    Not tracked under an LFU maxmemory policy.",
        "REFCOUNT <key>",
        "    Give the number of references the server holds to the value of <key>.",
        "HELP",
        "    Print this help.",
    ];
    let mut out = vec![Reply::Simple(
        format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::simple(l)));
    Reply::Array(out)
}
