//! String and counter commands.

use crate::args::{int, is};
use crate::longdouble::{self, Ext, Parsed};
use crate::object::{RString, Value};
use crate::table::CommandSpec;
use crate::{error, flags, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: 2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Returns the string value of a key, or nil when the key does not exist.",
        syntax: "key",
        handler: get,
        subcommands: &[],
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Sets the string value of a key, optionally with a time to live or a condition.",
        syntax: "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
        handler: set,
        subcommands: &[],
    },
    CommandSpec {
        name: "setnx",
        arity: 3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Sets a key only when it does not exist yet; replies 1 if it was set, 0 if not.",
        syntax: "key value",
        handler: setnx,
        subcommands: &[],
    },
    CommandSpec {
        name: "setex",
        arity: 4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "string",
        since: "2.0.0",
        summary: "Sets a key together with a time to live in seconds.",
        syntax: "key seconds value",
        handler: setex,
        subcommands: &[],
    },
    CommandSpec {
        name: "psetex",
        arity: 4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "string",
        since: "2.6.0",
        summary: "Sets a key together with a time to live in milliseconds.",
        syntax: "key milliseconds value",
        handler: psetex,
        subcommands: &[],
    },
    CommandSpec {
        name: "mget",
        arity: -2,
        flags: flags!(READONLY, FAST),
        keys: (1, -1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Returns the values of several keys, nil for each missing or non-string one.",
        syntax: "key [key ...]",
        handler: mget,
        subcommands: &[],
    },
    CommandSpec {
        name: "mset",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, -1, 2),
        group: "string",
        since: "1.0.1",
        summary: "Sets several keys at once, dropping their time to live.",
        syntax: "key value [key value ...]",
        handler: mset,
        subcommands: &[],
    },
    CommandSpec {
        name: "msetnx",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, -1, 2),
        group: "string",
        since: "1.0.1",
        summary: "Sets several keys at once, but only if none of them exists.",
        syntax: "key value [key value ...]",
        handler: msetnx,
        subcommands: &[],
    },
    CommandSpec {
        name: "getset",
        arity: 3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Sets a key and returns the value it held before (deprecated: SET with GET).",
        syntax: "key value",
        handler: getset,
        subcommands: &[],
    },
    CommandSpec {
        name: "getdel",
        arity: 2,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "6.2.0",
        summary: "Returns the string value of a key and deletes the key.",
        syntax: "key",
        handler: getdel,
        subcommands: &[],
    },
    CommandSpec {
        name: "getex",
        arity: -2,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "6.2.0",
        summary: "Returns the string value of a key and optionally changes or removes its time to live.",
        syntax: "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
        handler: getex,
        subcommands: &[],
    },
    CommandSpec {
        name: "append",
        arity: 3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "2.0.0",
        summary: "Appends bytes to a string, creating it when missing; replies the new length.",
        syntax: "key value",
        handler: append,
        subcommands: &[],
    },
    CommandSpec {
        name: "strlen",
        arity: 2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "2.2.0",
        summary: "Returns the length in bytes of a string value, 0 for a missing key.",
        syntax: "key",
        handler: strlen,
        subcommands: &[],
    },
    CommandSpec {
        name: "getrange",
        arity: 4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "string",
        since: "2.4.0",
        summary: "Returns the bytes of a string between two inclusive offsets; negative ones count from the end.",
        syntax: "key start end",
        handler: getrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "substr",
        arity: 4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Old name of GETRANGE.",
        syntax: "key start end",
        handler: getrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "setrange",
        arity: 4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "string",
        since: "2.2.0",
        summary: "Overwrites a string from an offset on, padding with zero bytes; replies the new length.",
        syntax: "key offset value",
        handler: setrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "incr",
        arity: 2,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Adds one to the integer stored at a key (a missing key counts as 0).",
        syntax: "key",
        handler: incr,
        subcommands: &[],
    },
    CommandSpec {
        name: "decr",
        arity: 2,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Subtracts one from the integer stored at a key (a missing key counts as 0).",
        syntax: "key",
        handler: decr,
        subcommands: &[],
    },
    CommandSpec {
        name: "incrby",
        arity: 3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Adds an integer to the integer stored at a key.",
        syntax: "key increment",
        handler: incrby,
        subcommands: &[],
    },
    CommandSpec {
        name: "decrby",
        arity: 3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Subtracts an integer from the integer stored at a key.",
        syntax: "key decrement",
        handler: decrby,
        subcommands: &[],
    },
    CommandSpec {
        name: "incrbyfloat",
        arity: 3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "2.6.0",
        summary: "Adds a decimal number to the number stored at a key, in 80-bit extended precision.",
        syntax: "key increment",
        handler: incrbyfloat,
        subcommands: &[],
    },
    CommandSpec {
        name: "lcs",
        arity: -3,
        flags: flags!(READONLY),
        keys: (1, 2, 1),
        group: "string",
        since: "7.0.0",
        summary: "Finds the longest common subsequence of two strings, its length or its matching ranges.",
        syntax: "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]",
        handler: lcs,
        subcommands: &[],
    },
];

fn get(e: &mut Engine, c: &Call) -> Reply {
    // The value is copied into the buffer of a reply the caller handed back (`Engine::recycle`),
    // when there is one, instead of a new allocation: GET is the most common command of all.
    let mut buf = std::mem::take(&mut e.spare_bulk);
    match e.read(c.db, c.argv[1]) {
        Some(crate::object::Entry {
            value: Value::Str(s),
            ..
        }) => {
            s.append_to(&mut buf);
            Reply::Bulk(buf)
        }
        found => {
            let reply = match found {
                None => Reply::Nil,
                Some(_) => Reply::error(error::WRONGTYPE),
            };
            e.spare_bulk = buf;
            reply
        }
    }
}

/// An option word as Redis compares it: as a C string, so it ends at the first NUL byte.
fn word(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |n| &a[..n])
}

/// Options of SET (and, for the expiry part, GETEX), parsed exactly as Redis's
/// `parseExtendedStringArgumentsOrReply` does: conflicting options are a syntax error, but
/// repeating the same one is allowed and the last value wins.
#[derive(Default)]
pub(crate) struct SetOptions<'a> {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keep_ttl: bool,
    pub persist: bool,
    pub expire: Option<(ExpireUnit, &'a [u8])>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireUnit {
    fn is(self, other: Option<(ExpireUnit, &[u8])>) -> bool {
        other.is_some_and(|(u, _)| u == self)
    }
}

/// `for_get` selects GETEX's option set (PERSIST allowed; NX, XX, GET, KEEPTTL not).
pub(crate) fn parse_set_options<'a>(
    argv: &'a [&'a [u8]],
    start: usize,
    for_get: bool,
) -> Result<SetOptions<'a>, Reply> {
    let mut o = SetOptions::default();
    let mut j = start;
    while j < argv.len() {
        let opt = word(argv[j]);
        let next = argv.get(j + 1).copied();
        let has_other_expire = |o: &SetOptions, mine: ExpireUnit| {
            [
                ExpireUnit::Ex,
                ExpireUnit::Px,
                ExpireUnit::ExAt,
                ExpireUnit::PxAt,
            ]
            .iter()
            .any(|u| *u != mine && u.is(o.expire))
        };
        let unit = match opt.to_ascii_uppercase().as_slice() {
            b"EX" => Some(ExpireUnit::Ex),
            b"PX" => Some(ExpireUnit::Px),
            b"EXAT" => Some(ExpireUnit::ExAt),
            b"PXAT" => Some(ExpireUnit::PxAt),
            _ => None,
        };
        if !for_get && is(opt, "NX") && !o.xx {
            o.nx = true;
        } else if !for_get && is(opt, "XX") && !o.nx {
            o.xx = true;
        } else if !for_get && is(opt, "GET") {
            o.get = true;
        } else if !for_get && is(opt, "KEEPTTL") && !o.persist && o.expire.is_none() {
            o.keep_ttl = true;
        } else if for_get && is(opt, "PERSIST") && o.expire.is_none() && !o.keep_ttl {
            o.persist = true;
        } else if let (Some(u), Some(n)) = (unit, next) {
            if o.keep_ttl || o.persist || has_other_expire(&o, u) {
                return Err(Reply::error(error::SYNTAX));
            }
            o.expire = Some((u, n));
            j += 1;
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute deadline in milliseconds.
pub(crate) fn expire_deadline(
    unit: ExpireUnit,
    arg: &[u8],
    now: i64,
    cmd: &str,
) -> Result<i64, Reply> {
    let mut ms = int(arg)?;
    let seconds = matches!(unit, ExpireUnit::Ex | ExpireUnit::ExAt);
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(Reply::error_owned(error::invalid_expire(cmd)));
    }
    if seconds {
        ms *= 1000;
    }
    if matches!(unit, ExpireUnit::Ex | ExpireUnit::Px) {
        // Redis adds in signed 64-bit arithmetic and then checks for a non-positive result.
        ms = ms.wrapping_add(now);
    }
    if ms <= 0 {
        return Err(Reply::error_owned(error::invalid_expire(cmd)));
    }
    Ok(ms)
}

/// The string under `key` for a read: Ok(None) when missing, Err(WRONGTYPE) when not a string.
pub(crate) fn read_string(e: &mut Engine, db: usize, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    match e.read(db, key) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::Str(s) => Ok(Some(s.to_bytes())),
            #[allow(unreachable_patterns)]
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

/// The string under `key` for a write, as the value itself: Ok(None) when missing.
fn write_string<'e>(
    e: &'e mut Engine,
    db: usize,
    key: &[u8],
) -> Result<Option<&'e mut RString>, Reply> {
    match e.write(db, key) {
        None => Ok(None),
        Some(entry) => match &mut entry.value {
            Value::Str(s) => Ok(Some(s)),
            #[allow(unreachable_patterns)]
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

/// What SET, SETNX, SETEX and PSETEX share (Redis's `setGenericCommand`): the expiry is
/// validated first, then the old value read if GET asked for it, then the condition checked.
/// `replies` are what to answer when the key was set and when NX/XX prevented it.
fn set_generic(
    e: &mut Engine,
    c: &Call,
    o: &SetOptions,
    value: &[u8],
    replies: (Reply, Reply),
) -> Reply {
    let key = c.argv[1];
    let deadline = match o.expire {
        Some((unit, arg)) => Some(tri!(expire_deadline(unit, arg, c.now, c.spec.name))),
        None => None,
    };
    let old = if o.get {
        Some(tri!(read_string(e, c.db, key)))
    } else {
        None
    };
    // Redis looks the key up for every SET; a plain SET that overwrites needs no answer, and
    // the lookup would only repeat what `set_value` does.
    let found = (o.nx || o.xx || e.write_lookup_matters()) && e.write(c.db, key).is_some();
    if (o.nx && found) || (o.xx && !found) {
        return match old {
            Some(old) => Reply::bulk_opt(old),
            None => replies.1,
        };
    }
    e.set_value(
        c.db,
        key,
        Value::Str(RString::from_bytes(value)),
        o.keep_ttl,
    );
    e.notify(c.db, key, "set");
    if let Some(at) = deadline {
        e.dbs[c.db].set_expire(key, at);
        e.notify(c.db, key, "expire");
    }
    match old {
        Some(old) => Reply::bulk_opt(old),
        None => replies.0,
    }
}

fn set(e: &mut Engine, c: &Call) -> Reply {
    let o = tri!(parse_set_options(c.argv, 3, false));
    set_generic(e, c, &o, c.argv[2], (Reply::OK, Reply::Nil))
}

fn setnx(e: &mut Engine, c: &Call) -> Reply {
    let o = SetOptions {
        nx: true,
        ..SetOptions::default()
    };
    set_generic(e, c, &o, c.argv[2], (Reply::Integer(1), Reply::Integer(0)))
}

fn setex(e: &mut Engine, c: &Call) -> Reply {
    let o = SetOptions {
        expire: Some((ExpireUnit::Ex, c.argv[2])),
        ..SetOptions::default()
    };
    set_generic(e, c, &o, c.argv[3], (Reply::OK, Reply::Nil))
}

fn psetex(e: &mut Engine, c: &Call) -> Reply {
    let o = SetOptions {
        expire: Some((ExpireUnit::Px, c.argv[2])),
        ..SetOptions::default()
    };
    set_generic(e, c, &o, c.argv[3], (Reply::OK, Reply::Nil))
}

fn mget(e: &mut Engine, c: &Call) -> Reply {
    let values = c.argv[1..]
        .iter()
        .map(|key| match e.read(c.db, key).map(|entry| &entry.value) {
            Some(Value::Str(s)) => Reply::Bulk(s.to_bytes()),
            // A key of another type reads as nil here, not as an error.
            #[allow(unreachable_patterns)]
            _ => Reply::Nil,
        })
        .collect();
    Reply::Array(values)
}

fn mset(e: &mut Engine, c: &Call) -> Reply {
    mset_generic(e, c, false)
}

fn msetnx(e: &mut Engine, c: &Call) -> Reply {
    mset_generic(e, c, true)
}

fn mset_generic(e: &mut Engine, c: &Call, nx: bool) -> Reply {
    if c.argv.len().is_multiple_of(2) {
        return Reply::error_owned(error::wrong_arity(c.spec.name));
    }
    let pairs = c.argv[1..].chunks_exact(2);
    // MSETNX sets nothing at all when any one of the keys exists.
    if nx && pairs.clone().any(|p| e.write(c.db, p[0]).is_some()) {
        return Reply::Integer(0);
    }
    for p in pairs {
        e.set_value(c.db, p[0], Value::Str(RString::from_bytes(p[1])), false);
        e.notify(c.db, p[0], "set");
    }
    if nx {
        Reply::Integer(1)
    } else {
        Reply::OK
    }
}

fn getset(e: &mut Engine, c: &Call) -> Reply {
    let old = tri!(read_string(e, c.db, c.argv[1]));
    e.set_value(
        c.db,
        c.argv[1],
        Value::Str(RString::from_bytes(c.argv[2])),
        false,
    );
    e.notify(c.db, c.argv[1], "set");
    Reply::bulk_opt(old)
}

fn getdel(e: &mut Engine, c: &Call) -> Reply {
    let old = tri!(read_string(e, c.db, c.argv[1]));
    if old.is_some() && e.delete(c.db, c.argv[1]) {
        e.notify(c.db, c.argv[1], "del");
    }
    Reply::bulk_opt(old)
}

fn getex(e: &mut Engine, c: &Call) -> Reply {
    let o = tri!(parse_set_options(c.argv, 2, true));
    let key = c.argv[1];
    // A missing key answers nil before the expiry argument is even looked at.
    let Some(value) = tri!(read_string(e, c.db, key)) else {
        return Reply::Nil;
    };
    let deadline = match o.expire {
        Some((unit, arg)) => Some((unit, tri!(expire_deadline(unit, arg, c.now, "getex")))),
        None => None,
    };
    match deadline {
        // An absolute time already past deletes the key instead of setting a TTL on it.
        Some((ExpireUnit::ExAt | ExpireUnit::PxAt, at)) if at <= c.now => {
            e.delete(c.db, key);
            e.notify(c.db, key, "del");
        }
        Some((_, at)) => {
            e.dbs[c.db].set_expire(key, at);
            e.notify(c.db, key, "expire");
        }
        // PERSIST on a key without a TTL changes nothing and notifies nothing.
        None if o.persist && e.dbs[c.db].remove_expire(key) => e.notify(c.db, key, "persist"),
        None => {}
    }
    Reply::Bulk(value)
}

/// Redis's `checkStringLength`: a string may not grow past `proto-max-bulk-len`.
fn check_string_length(limit: i64, size: i64, append: usize) -> Result<(), Reply> {
    if size as i128 + append as i128 > limit as i128 {
        return Err(Reply::error(error::STRING_TOO_LONG));
    }
    Ok(())
}

fn append(e: &mut Engine, c: &Call) -> Reply {
    let (key, tail) = (c.argv[1], c.argv[2]);
    let limit = e.config.proto_max_bulk_len;
    let total = match tri!(write_string(e, c.db, key)) {
        Some(s) => {
            tri!(check_string_length(limit, s.len() as i64, tail.len()));
            // Appending always leaves a raw string, even when nothing is appended.
            let buf = s.make_raw();
            buf.extend_from_slice(tail);
            buf.len()
        }
        None => {
            let value = RString::from_bytes(tail);
            let len = value.len();
            e.add_value(c.db, key, Value::Str(value));
            len
        }
    };
    e.notify(c.db, key, "append");
    Reply::Integer(total as i64)
}

fn strlen(e: &mut Engine, c: &Call) -> Reply {
    match e.read(c.db, c.argv[1]).map(|entry| &entry.value) {
        None => Reply::Integer(0),
        Some(Value::Str(s)) => Reply::Integer(s.len() as i64),
        #[allow(unreachable_patterns)]
        Some(_) => Reply::error(error::WRONGTYPE),
    }
}

fn getrange(e: &mut Engine, c: &Call) -> Reply {
    let start = tri!(int(c.argv[2]));
    let end = tri!(int(c.argv[3]));
    let Some(s) = tri!(read_string(e, c.db, c.argv[1])) else {
        return Reply::bulk("");
    };
    Reply::Bulk(substring(&s, start, end).to_vec())
}

/// GETRANGE's index arithmetic: negative offsets count from the end, both ends are clamped to
/// the string, and a range that is empty after that gives an empty string.
fn substring(s: &[u8], mut start: i64, mut end: i64) -> &[u8] {
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    if start > end || len == 0 {
        return &[];
    }
    &s[start as usize..=end as usize]
}

fn setrange(e: &mut Engine, c: &Call) -> Reply {
    let (key, patch) = (c.argv[1], c.argv[3]);
    let offset = tri!(int(c.argv[2]));
    if offset < 0 {
        return Reply::error(error::OFFSET_OUT_OF_RANGE);
    }
    let limit = e.config.proto_max_bulk_len;
    let len = match tri!(write_string(e, c.db, key)) {
        Some(s) => {
            if patch.is_empty() {
                return Reply::Integer(s.len() as i64);
            }
            tri!(check_string_length(limit, offset, patch.len()));
            let buf = s.make_raw();
            let (from, to) = (offset as usize, offset as usize + patch.len());
            if buf.len() < to {
                buf.resize(to, 0);
            }
            buf[from..to].copy_from_slice(patch);
            buf.len()
        }
        None => {
            // Writing nothing to a missing key creates nothing.
            if patch.is_empty() {
                return Reply::Integer(0);
            }
            tri!(check_string_length(limit, offset, patch.len()));
            let mut buf = vec![0u8; offset as usize];
            buf.extend_from_slice(patch);
            let len = buf.len();
            e.add_value(c.db, key, Value::Str(RString::Raw(buf)));
            len
        }
    };
    e.notify(c.db, key, "setrange");
    Reply::Integer(len as i64)
}

fn incr(e: &mut Engine, c: &Call) -> Reply {
    incr_decr(e, c, 1)
}

fn decr(e: &mut Engine, c: &Call) -> Reply {
    incr_decr(e, c, -1)
}

fn incrby(e: &mut Engine, c: &Call) -> Reply {
    let by = tri!(int(c.argv[2]));
    incr_decr(e, c, by)
}

fn decrby(e: &mut Engine, c: &Call) -> Reply {
    let by = tri!(int(c.argv[2]));
    // Its negation does not exist.
    if by == i64::MIN {
        return Reply::error(error::DECR_OVERFLOW);
    }
    incr_decr(e, c, -by)
}

/// The INCR family: a missing key counts as 0, the result is stored as an integer and the key
/// keeps its time to live.
fn incr_decr(e: &mut Engine, c: &Call, by: i64) -> Reply {
    let key = c.argv[1];
    let value = match tri!(write_string(e, c.db, key)) {
        // A missing key counts as 0.
        None => {
            e.set_value(c.db, key, Value::Str(RString::Int(by)), true);
            by
        }
        Some(s) => {
            let Some(current) = s.as_i64() else {
                return Reply::error(error::NOT_INTEGER);
            };
            let Some(value) = current.checked_add(by) else {
                return Reply::error(error::OVERFLOW);
            };
            // The key stays, TTL and all, and the write lookup has already touched it: its
            // value changes where it is (as Redis changes the integer in place when it can),
            // without a second probe of the keyspace.
            *s = RString::Int(value);
            value
        }
    };
    e.notify(c.db, key, "incrby");
    Reply::Integer(value)
}

/// Adds in x87 extended precision, as Redis's `long double` arithmetic does on x86-64, and
/// stores the `%.17Lf` rendering of the sum, trailing zeros trimmed, as a plain string.
fn incrbyfloat(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let current = match tri!(write_string(e, c.db, key)) {
        None => Parsed::Finite(Ext::ZERO),
        Some(RString::Int(v)) => Parsed::Finite(Ext::from_i64(*v)),
        Some(s) => match longdouble::parse(&s.to_bytes()) {
            Some(p) => p,
            None => return Reply::error(error::NOT_FLOAT),
        },
    };
    let Some(by) = longdouble::parse(c.argv[2]) else {
        return Reply::error(error::NOT_FLOAT);
    };
    let sum = match (current, by) {
        (Parsed::Finite(a), Parsed::Finite(b)) => a.checked_add(b),
        // inf + x is infinite and inf - inf is NaN: refused either way.
        _ => None,
    };
    let Some(sum) = sum else {
        return Reply::error(error::INCR_NAN_OR_INF);
    };
    let text = sum.to_human().into_bytes();
    e.set_value(
        c.db,
        key,
        Value::Str(RString::from_bytes_no_int(text.clone())),
        true,
    );
    e.notify(c.db, key, "incrbyfloat");
    Reply::Bulk(text)
}

fn lcs(e: &mut Engine, c: &Call) -> Reply {
    let a = read_string(e, c.db, c.argv[1]);
    let b = read_string(e, c.db, c.argv[2]);
    let (Ok(a), Ok(b)) = (a, b) else {
        return Reply::error(error::LCS_NOT_STRINGS);
    };
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len = 0i64;
    let mut j = 3;
    while j < c.argv.len() {
        let opt = word(c.argv[j]);
        let more = j + 1 < c.argv.len();
        if is(opt, "IDX") {
            want_idx = true;
        } else if is(opt, "LEN") {
            want_len = true;
        } else if is(opt, "WITHMATCHLEN") {
            with_match_len = true;
        } else if is(opt, "MINMATCHLEN") && more {
            min_match_len = tri!(int(c.argv[j + 1])).max(0);
            j += 1;
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    if want_len && want_idx {
        return Reply::error(error::LCS_LEN_AND_IDX);
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Reply::error(error::LCS_TOO_LONG);
    }
    // The dynamic-programming table is 4 bytes a cell; Redis refuses to allocate more than
    // proto-max-bulk-len for it.
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > e.config.proto_max_bulk_len.max(0) as u128 {
        return Reply::error(error::LCS_TABLE_TOO_BIG);
    }
    let l = LcsTable::new(&a, &b);
    let total = l.at(a.len(), b.len());
    if want_len {
        return Reply::Integer(total as i64);
    }
    let (text, ranges) = l.walk(&a, &b, min_match_len as u64, with_match_len);
    if want_idx {
        Reply::Map(vec![
            (Reply::bulk("matches"), Reply::Array(ranges)),
            (Reply::bulk("len"), Reply::Integer(total as i64)),
        ])
    } else {
        Reply::Bulk(text)
    }
}

/// `at(i, j)` is the length of the longest common subsequence of `a[..i]` and `b[..j]`.
struct LcsTable {
    cols: usize,
    cells: Vec<u32>,
}

impl LcsTable {
    fn new(a: &[u8], b: &[u8]) -> LcsTable {
        let cols = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * cols];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * cols + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * cols + j - 1] + 1
                } else {
                    cells[(i - 1) * cols + j].max(cells[i * cols + j - 1])
                };
            }
        }
        LcsTable { cols, cells }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.cols + j]
    }

    /// Walks back from the end of both strings, collecting the subsequence and the runs of
    /// consecutive matches (last run first, as Redis reports them). On a mismatch it steps
    /// back in `a` only when that keeps a strictly longer subsequence, else in `b`: that choice
    /// decides which of several equally long answers comes out, so it must be Redis's.
    fn walk(&self, a: &[u8], b: &[u8], min_len: u64, with_len: bool) -> (Vec<u8>, Vec<Reply>) {
        let mut text = Vec::with_capacity(self.at(a.len(), b.len()) as usize);
        let mut ranges = Vec::new();
        // The run being extended backwards: (a_start, a_end, b_start, b_end).
        let mut run: Option<(usize, usize, usize, usize)> = None;
        let (mut i, mut j) = (a.len(), b.len());
        let emit = |run: (usize, usize, usize, usize), ranges: &mut Vec<Reply>| {
            let (a0, a1, b0, b1) = run;
            let len = (a1 - a0 + 1) as u64;
            if min_len == 0 || len >= min_len {
                let mut item = vec![
                    Reply::Array(vec![Reply::Integer(a0 as i64), Reply::Integer(a1 as i64)]),
                    Reply::Array(vec![Reply::Integer(b0 as i64), Reply::Integer(b1 as i64)]),
                ];
                if with_len {
                    item.push(Reply::Integer(len as i64));
                }
                ranges.push(Reply::Array(item));
            }
        };
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                text.push(a[i - 1]);
                run = match run {
                    None => Some((i - 1, i - 1, j - 1, j - 1)),
                    Some((a0, a1, b0, b1)) if a0 == i && b0 == j => Some((a0 - 1, a1, b0 - 1, b1)),
                    // Not reachable (a match right after a match always extends the run), but
                    // Redis would close the run here without starting one, and so do we.
                    Some(done) => {
                        emit(done, &mut ranges);
                        None
                    }
                };
                i -= 1;
                j -= 1;
                if let Some(r) = run.filter(|r| r.0 == 0 || r.2 == 0) {
                    emit(r, &mut ranges);
                    run = None;
                }
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                if let Some(r) = run.take() {
                    emit(r, &mut ranges);
                }
            }
        }
        text.reverse();
        (text, ranges)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Event, Reply};

    fn engine() -> (Engine, crate::ClientId) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        (e, c)
    }

    #[test]
    fn get_into_a_recycled_buffer_answers_as_a_fresh_one() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "long", &"x".repeat(100)], 0);
        e.run(c, &["SET", "short", "ab"], 0);
        e.run(c, &["SET", "n", "-12345"], 0);
        e.run(c, &["RPUSH", "list", "a"], 0);
        for _ in 0..3 {
            for (argv, want) in [
                (["GET", "long"], Reply::bulk("x".repeat(100))),
                (["GET", "short"], Reply::bulk("ab")),
                (["GET", "n"], Reply::bulk("-12345")),
                (["GET", "missing"], Reply::Nil),
                (["GET", "list"], Reply::error(crate::error::WRONGTYPE)),
                (["GET", "short"], Reply::bulk("ab")),
            ] {
                let reply = e.run(c, &argv, 0);
                assert_eq!(reply, want, "{argv:?}");
                e.recycle(reply);
            }
        }
        // A buffer past the limit is not kept; nor is an array's.
        e.recycle(Reply::Bulk(vec![1; 10_000]));
        e.recycle(Reply::Array(vec![Reply::bulk("a")]));
        assert!(e.spare_bulk.capacity() <= 4096 && e.spare_bulk.is_empty());
        assert_eq!(e.run(c, &["GET", "short"], 0), Reply::bulk("ab"));
    }

    fn encoding(e: &Engine, key: &str) -> &'static str {
        e.dbs[0]
            .keys
            .get(key.as_bytes())
            .map_or("none", |entry| entry.value.encoding())
    }

    fn ops(e: &mut Engine) -> Vec<(String, &'static str)> {
        e.drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::Keyspace { key, op, .. } => {
                    Some((String::from_utf8_lossy(&key).into_owned(), op))
                }
                _ => None,
            })
            .collect()
    }

    /// Each expectation was read from a Redis 7.0.15 with OBJECT ENCODING after the same command.
    #[test]
    fn encodings_after_each_write() {
        let (mut e, c) = engine();
        let long = "x".repeat(45);
        let cases: &[(&[&str], &str, &str)] = &[
            (&["SET", "k", "123"], "k", "int"),
            (&["SET", "k", "-9223372036854775808"], "k", "int"),
            (&["SET", "k", "12345678901234567890"], "k", "embstr"),
            (&["SET", "k", "0123"], "k", "embstr"),
            (&["SET", "k", "hello"], "k", "embstr"),
            (&["SET", "k", &long], "k", "raw"),
            (&["SET", "k", &long[1..]], "k", "embstr"),
            (&["MSET", "a", "1", "b", "x"], "a", "int"),
            (&["GETSET", "b", "7"], "b", "int"),
            (&["SETNX", "n", "8"], "n", "int"),
            (&["SETEX", "s", "100", "9"], "s", "int"),
            (&["PSETEX", "s", "100000", "ab"], "s", "embstr"),
            (&["APPEND", "ap", "42"], "ap", "int"),
            (&["APPEND", "ap", ""], "ap", "raw"),
            (&["APPEND", "ap2", "abc"], "ap2", "embstr"),
            (&["SETRANGE", "sr", "0", "1"], "sr", "raw"),
            (&["SET", "sr2", "5"], "sr2", "int"),
            (&["SETRANGE", "sr2", "0", "6"], "sr2", "raw"),
            (&["INCR", "sr2"], "sr2", "int"),
            (&["INCRBY", "i", "100000"], "i", "int"),
            (&["INCRBYFLOAT", "f", "3"], "f", "embstr"),
            (&["INCRBYFLOAT", "big", "1e50"], "big", "raw"),
        ];
        for (argv, key, want) in cases {
            assert!(!e.run(c, argv, 0).is_error(), "{argv:?}");
            assert_eq!(encoding(&e, key), *want, "{argv:?}");
        }
    }

    #[test]
    fn notifications_name_each_change_as_redis_does() {
        let (mut e, c) = engine();
        e.drain_events();
        e.run(c, &["SET", "k", "1", "EX", "10"], 0);
        assert_eq!(ops(&mut e), [("k".into(), "set"), ("k".into(), "expire")]);
        e.run(c, &["INCRBY", "k", "2"], 0);
        e.run(c, &["INCRBYFLOAT", "k", "0.5"], 0);
        e.run(c, &["APPEND", "k", "x"], 0);
        e.run(c, &["SETRANGE", "k", "0", "y"], 0);
        e.run(c, &["SETRANGE", "k", "0", ""], 0);
        assert_eq!(
            ops(&mut e),
            [
                ("k".into(), "incrby"),
                ("k".into(), "incrbyfloat"),
                ("k".into(), "append"),
                ("k".into(), "setrange")
            ]
        );
        e.run(c, &["GETEX", "k", "PERSIST"], 0);
        e.run(c, &["GETEX", "k", "PERSIST"], 0);
        e.run(c, &["GETEX", "k", "PX", "50"], 0);
        e.run(c, &["GETEX", "k", "PXAT", "1"], 5);
        assert_eq!(
            ops(&mut e),
            [
                ("k".into(), "persist"),
                ("k".into(), "expire"),
                ("k".into(), "del")
            ]
        );
        e.run(c, &["MSETNX", "a", "1", "b", "2"], 0);
        e.run(c, &["MSETNX", "b", "1", "c", "2"], 0);
        e.run(c, &["GETDEL", "a"], 0);
        e.run(c, &["GETDEL", "a"], 0);
        e.run(c, &["SET", "b", "v", "NX"], 0);
        assert_eq!(
            ops(&mut e),
            [
                ("a".into(), "set"),
                ("b".into(), "set"),
                ("a".into(), "del")
            ]
        );
    }

    #[test]
    fn counters_keep_the_ttl_and_set_drops_it() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "k", "1", "PX", "1000"], 0);
        e.run(c, &["INCR", "k"], 0);
        e.run(c, &["INCRBYFLOAT", "k", "1.5"], 0);
        assert_eq!(e.dbs[0].expire_of(b"k"), Some(1000));
        e.run(c, &["SET", "k", "1", "KEEPTTL"], 0);
        assert_eq!(e.dbs[0].expire_of(b"k"), Some(1000));
        e.run(c, &["GETSET", "k", "2"], 0);
        assert_eq!(e.dbs[0].expire_of(b"k"), None);
        // And the counter goes with the key when it expires.
        e.run(c, &["SETEX", "t", "1", "5"], 0);
        assert_eq!(e.run(c, &["INCR", "t"], 1000), Reply::Integer(6));
        assert_eq!(e.run(c, &["INCR", "t"], 1001), Reply::Integer(1));
    }

    #[test]
    fn relative_expiry_is_measured_from_the_command_time() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "k", "v", "EX", "10"], 5_000);
        assert_eq!(e.dbs[0].expire_of(b"k"), Some(15_000));
        e.run(c, &["GETEX", "k", "PX", "1"], 6_000);
        assert_eq!(e.dbs[0].expire_of(b"k"), Some(6_001));
        assert_eq!(e.run(c, &["GET", "k"], 6_001), Reply::bulk("v"));
        assert_eq!(e.run(c, &["GET", "k"], 6_002), Reply::Nil);
        // An absolute time equal to now is already past for GETEX.
        e.run(c, &["SET", "k", "v"], 7_000);
        assert_eq!(
            e.run(c, &["GETEX", "k", "PXAT", "7000"], 7_000),
            Reply::bulk("v")
        );
        assert_eq!(e.dbsize(0), 0);
        // EX overflowing once the current time is added is refused.
        let max_s = (i64::MAX / 1000).to_string();
        let err = e.run(c, &["SET", "k", "v", "EX", &max_s], 1_000_000);
        assert_eq!(
            err,
            Reply::error("ERR invalid expire time in 'set' command")
        );
    }

    #[test]
    fn proto_max_bulk_len_limits_growth() {
        let (mut e, c) = engine();
        e.config_mut().proto_max_bulk_len = 10;
        let too_long = Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        assert_eq!(e.run(c, &["APPEND", "k", "12345"], 0), Reply::Integer(5));
        assert_eq!(e.run(c, &["APPEND", "k", "67890"], 0), Reply::Integer(10));
        assert_eq!(e.run(c, &["APPEND", "k", "x"], 0), too_long);
        assert_eq!(
            e.run(c, &["SETRANGE", "k", "9", "z"], 0),
            Reply::Integer(10)
        );
        assert_eq!(e.run(c, &["SETRANGE", "k", "10", "z"], 0), too_long);
        assert_eq!(e.run(c, &["SETRANGE", "n", "8", "abc"], 0), too_long);
        assert_eq!(
            e.run(c, &["SETRANGE", "n", "8", "ab"], 0),
            Reply::Integer(10)
        );
        assert_eq!(
            e.run(c, &["GET", "n"], 0),
            Reply::bulk(b"\0\0\0\0\0\0\0\0ab".to_vec())
        );
        // A brand-new key from APPEND is not checked, as in Redis: the argument was already
        // accepted by the protocol layer.
        assert_eq!(
            e.run(c, &["APPEND", "fresh", "01234567890"], 0),
            Reply::Integer(11)
        );
        // LCS refuses a table larger than the limit: (3+1) * (3+1) cells of 4 bytes.
        e.config_mut().proto_max_bulk_len = 63;
        e.run(c, &["MSET", "a", "abc", "b", "abd"], 0);
        let lcs = e.run(c, &["LCS", "a", "b"], 0);
        assert_eq!(
            lcs,
            Reply::error(
                "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
            )
        );
        e.config_mut().proto_max_bulk_len = 64;
        assert_eq!(e.run(c, &["LCS", "a", "b"], 0), Reply::bulk("ab"));
    }

    #[test]
    fn getrange_index_arithmetic() {
        let s = b"0123456789";
        let cases: &[(i64, i64, &[u8])] = &[
            (0, 3, b"0123"),
            (-3, -1, b"789"),
            (5, 100, b"56789"),
            (-100, 1, b"01"),
            (3, 2, b""),
            (-1, -2, b""),
            (10, 10, b""),
            (i64::MIN, i64::MAX, s),
        ];
        for &(start, end, want) in cases {
            assert_eq!(super::substring(s, start, end), want, "{start} {end}");
        }
        assert_eq!(super::substring(b"", 0, -1), b"");
    }

    #[test]
    fn incrbyfloat_uses_extended_precision() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "k", "10.5"], 0);
        assert_eq!(
            e.run(c, &["INCRBYFLOAT", "k", "0.1"], 0),
            Reply::bulk("10.6")
        );
        assert_eq!(
            e.run(c, &["INCRBYFLOAT", "k", "-10.6"], 0),
            Reply::bulk("0")
        );
        assert_eq!(
            e.run(c, &["INCRBYFLOAT", "k", "inf"], 0),
            Reply::error("ERR increment would produce NaN or Infinity")
        );
        // 1e4932 is not exact in binary: every digit of the nearest extended value is printed.
        let Reply::Bulk(huge) = e.run(c, &["INCRBYFLOAT", "k", "1e4932"], 0) else {
            panic!("not a bulk")
        };
        assert_eq!(
            (huge.len(), &huge[..24]),
            (4933, &b"100000000000000000000601"[..])
        );
        assert_eq!(
            e.run(c, &["INCRBYFLOAT", "k", "1e4932"], 0),
            Reply::error("ERR increment would produce NaN or Infinity")
        );
        e.run(c, &["SET", "k", "x"], 0);
        assert_eq!(
            e.run(c, &["INCRBYFLOAT", "k", "1"], 0),
            Reply::error("ERR value is not a valid float")
        );
        assert_eq!(
            e.run(c, &["INCRBYFLOAT", "n", "1e-5000"], 0),
            Reply::error("ERR value is not a valid float")
        );
        assert_eq!(e.dbsize(0), 1);
    }

    #[test]
    fn lcs_ranges() {
        let (mut e, c) = engine();
        e.run(c, &["MSET", "a", "ohmytext", "b", "mynewtext"], 0);
        let pair = |x: i64, y: i64| Reply::Array(vec![Reply::Integer(x), Reply::Integer(y)]);
        let want = Reply::Map(vec![
            (
                Reply::bulk("matches"),
                Reply::Array(vec![
                    Reply::Array(vec![pair(4, 7), pair(5, 8), Reply::Integer(4)]),
                    Reply::Array(vec![pair(2, 3), pair(0, 1), Reply::Integer(2)]),
                ]),
            ),
            (Reply::bulk("len"), Reply::Integer(6)),
        ]);
        assert_eq!(e.run(c, &["LCS", "a", "b", "IDX", "WITHMATCHLEN"], 0), want);
        assert_eq!(e.run(c, &["LCS", "a", "b"], 0), Reply::bulk("mytext"));
        assert_eq!(e.run(c, &["LCS", "a", "b", "LEN"], 0), Reply::Integer(6));
    }
}
