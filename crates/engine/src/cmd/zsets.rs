//! Sorted-set commands: ZADD and its relatives, the range family (ZRANGE with BYSCORE, BYLEX,
//! REV and LIMIT, the older Z[REV]RANGEBY* forms, ZRANGESTORE), removals, pops (blocking ones
//! included), ZRANDMEMBER, the set operations (ZUNION, ZINTER, ZDIFF, ZINTERCARD and their
//! STORE forms) and ZSCAN.
//!
//! Argument checks come in the order Redis 7.0's `t_zset.c` makes them, because that order
//! decides which error a bad command gets. Replies with scores are `Reply::Double`; in RESP3,
//! the commands that return member-score pairs nest each pair in its own array, as Redis does,
//! while RESP2 gets the flat list.

use crate::args::int;
use crate::cmd::scan::{self, c_str, is_word};
use crate::dict::Dict;
use crate::event::Event;
use crate::numfmt::{fmt_double, parse_i64};
use crate::object::Value;
use crate::table::CommandSpec;
use crate::types::set::Set;
use crate::types::zset::{
    sort_members, AddFlags, AddOutcome, Encoding, LexBound, LexRange, Limits, ScoreRange, ZSet,
};
use crate::{error, flags, tri, Call, Engine, Protocol, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "zadd",
        arity: -4,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Adds members with scores to a sorted set, or updates their scores; options make the update conditional.",
        syntax: "key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]",
        handler: zadd,
        subcommands: &[],
    },
    CommandSpec {
        name: "zincrby",
        arity: 4,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Adds an increment to a member's score (a missing member starts at 0) and returns the new score.",
        syntax: "key increment member",
        handler: zincrby,
        subcommands: &[],
    },
    CommandSpec {
        name: "zscore",
        arity: 3,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns a member's score, or nil.",
        syntax: "key member",
        handler: zscore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zmscore",
        arity: -3,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the scores of several members, nil for each one that is missing.",
        syntax: "key member [member ...]",
        handler: zmscore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zcard",
        arity: 2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns the number of members of a sorted set.",
        syntax: "key",
        handler: zcard,
        subcommands: &[],
    },
    CommandSpec {
        name: "zcount",
        arity: 4,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.0.0",
        summary: "Counts the members whose score lies in a range.",
        syntax: "key min max",
        handler: zcount,
        subcommands: &[],
    },
    CommandSpec {
        name: "zlexcount",
        arity: 4,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.8.9",
        summary: "Counts the members within a lexicographic range (for members of equal score).",
        syntax: "key min max",
        handler: zlexcount,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrank",
        arity: 3,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.0.0",
        summary: "Returns a member's position counting from the lowest score, or nil.",
        syntax: "key member",
        handler: zrank,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrevrank",
        arity: 3,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.0.0",
        summary: "Returns a member's position counting from the highest score, or nil.",
        syntax: "key member",
        handler: zrevrank,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrange",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns members by rank, score or lexicographic range, optionally reversed, paged and with scores.",
        syntax: "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
        handler: zrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrangestore",
        arity: -5,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 2, 1),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Stores a range of a sorted set (as ZRANGE selects it) under another key.",
        syntax: "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]",
        handler: zrangestore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrevrange",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns members by rank counting from the highest score.",
        syntax: "key start stop [WITHSCORES]",
        handler: zrevrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrangebyscore",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.0.5",
        summary: "Returns the members whose score lies in a range, lowest first.",
        syntax: "key min max [WITHSCORES] [LIMIT offset count]",
        handler: zrangebyscore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrevrangebyscore",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.2.0",
        summary: "Returns the members whose score lies in a range, highest first.",
        syntax: "key max min [WITHSCORES] [LIMIT offset count]",
        handler: zrevrangebyscore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrangebylex",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.8.9",
        summary: "Returns the members within a lexicographic range, in byte order.",
        syntax: "key min max [LIMIT offset count]",
        handler: zrangebylex,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrevrangebylex",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.8.9",
        summary: "Returns the members within a lexicographic range, in reverse byte order.",
        syntax: "key max min [LIMIT offset count]",
        handler: zrevrangebylex,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrem",
        arity: -3,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Removes members and returns how many were there.",
        syntax: "key member [member ...]",
        handler: zrem,
        subcommands: &[],
    },
    CommandSpec {
        name: "zremrangebyrank",
        arity: 4,
        flags: flags!(WRITE),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.0.0",
        summary: "Removes the members in a range of ranks.",
        syntax: "key start stop",
        handler: zremrangebyrank,
        subcommands: &[],
    },
    CommandSpec {
        name: "zremrangebyscore",
        arity: 4,
        flags: flags!(WRITE),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "1.2.0",
        summary: "Removes the members whose score lies in a range.",
        syntax: "key min max",
        handler: zremrangebyscore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zremrangebylex",
        arity: 4,
        flags: flags!(WRITE),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.8.9",
        summary: "Removes the members within a lexicographic range.",
        syntax: "key min max",
        handler: zremrangebylex,
        subcommands: &[],
    },
    CommandSpec {
        name: "zpopmin",
        arity: -2,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "5.0.0",
        summary: "Removes and returns the members with the lowest scores.",
        syntax: "key [count]",
        handler: zpopmin,
        subcommands: &[],
    },
    CommandSpec {
        name: "zpopmax",
        arity: -2,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "5.0.0",
        summary: "Removes and returns the members with the highest scores.",
        syntax: "key [count]",
        handler: zpopmax,
        subcommands: &[],
    },
    CommandSpec {
        name: "zmpop",
        arity: -4,
        flags: flags!(WRITE),
        keys: (0, 0, 0),
        group: "sorted-set",
        since: "7.0.0",
        summary: "Pops members with the lowest or highest scores from the first non-empty sorted set among several keys.",
        syntax: "numkeys key [key ...] MIN | MAX [COUNT count]",
        handler: zmpop,
        subcommands: &[],
    },
    CommandSpec {
        name: "zrandmember",
        arity: -2,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns random members: distinct ones for a positive count, possibly repeated for a negative one.",
        syntax: "key [count [WITHSCORES]]",
        handler: zrandmember,
        subcommands: &[],
    },
    CommandSpec {
        name: "zunion",
        arity: -3,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the union of sorted sets (sets count with score 1), scores weighted and aggregated.",
        syntax: "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]",
        handler: zunion,
        subcommands: &[],
    },
    CommandSpec {
        name: "zinter",
        arity: -3,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the intersection of sorted sets (sets count with score 1), scores weighted and aggregated.",
        syntax: "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]",
        handler: zinter,
        subcommands: &[],
    },
    CommandSpec {
        name: "zdiff",
        arity: -3,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the members of the first sorted set that are in none of the others.",
        syntax: "numkeys key [key ...] [WITHSCORES]",
        handler: zdiff,
        subcommands: &[],
    },
    CommandSpec {
        name: "zintercard",
        arity: -3,
        flags: flags!(READONLY),
        keys: (0, 0, 0),
        group: "sorted-set",
        since: "7.0.0",
        summary: "Counts the members of the intersection of sorted sets, stopping early at LIMIT.",
        syntax: "numkeys key [key ...] [LIMIT limit]",
        handler: zintercard,
        subcommands: &[],
    },
    CommandSpec {
        name: "zunionstore",
        arity: -4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.0.0",
        summary: "Stores the union of sorted sets under a key and returns its size.",
        syntax: "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]",
        handler: zunionstore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zinterstore",
        arity: -4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.0.0",
        summary: "Stores the intersection of sorted sets under a key and returns its size.",
        syntax: "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]",
        handler: zinterstore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zdiffstore",
        arity: -4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "6.2.0",
        summary: "Stores the difference of sorted sets under a key and returns its size.",
        syntax: "destination numkeys key [key ...]",
        handler: zdiffstore,
        subcommands: &[],
    },
    CommandSpec {
        name: "zscan",
        arity: -3,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "sorted-set",
        since: "2.8.0",
        summary: "Walks the members and scores of a sorted set with a cursor.",
        syntax: "key cursor [MATCH pattern] [COUNT count]",
        handler: zscan,
        subcommands: &[],
    },
    CommandSpec {
        name: "bzpopmin",
        arity: -3,
        flags: flags!(WRITE, NOSCRIPT, BLOCKING, FAST),
        keys: (1, -2, 1),
        group: "sorted-set",
        since: "5.0.0",
        summary: "Pops the lowest-scored member of the first non-empty sorted set, waiting for one if all are empty.",
        syntax: "key [key ...] timeout",
        handler: bzpopmin,
        subcommands: &[],
    },
    CommandSpec {
        name: "bzpopmax",
        arity: -3,
        flags: flags!(WRITE, NOSCRIPT, BLOCKING, FAST),
        keys: (1, -2, 1),
        group: "sorted-set",
        since: "5.0.0",
        summary: "Pops the highest-scored member of the first non-empty sorted set, waiting for one if all are empty.",
        syntax: "key [key ...] timeout",
        handler: bzpopmax,
        subcommands: &[],
    },
    CommandSpec {
        name: "bzmpop",
        arity: -5,
        flags: flags!(WRITE, BLOCKING),
        keys: (0, 0, 0),
        group: "sorted-set",
        since: "7.0.0",
        summary: "ZMPOP that waits for a member when every sorted set is empty.",
        syntax: "timeout numkeys key [key ...] MIN | MAX [COUNT count]",
        handler: bzmpop,
        subcommands: &[],
    },
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Every sorted set hashes its members with this seed, derived from the engine's.
fn zset_seed(e: &Engine) -> u64 {
    e.config.seed ^ 0x7a5e_7000_5eed_0001
}

/// The sorted set under `key` for a read: Ok(None) when missing, Err(WRONGTYPE) for another type.
fn read_zset<'a>(e: &'a mut Engine, db: usize, key: &[u8]) -> Result<Option<&'a mut ZSet>, Reply> {
    match e.read(db, key) {
        None => Ok(None),
        Some(entry) => match &mut entry.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

/// The sorted set under `key` for a write.
fn write_zset<'a>(e: &'a mut Engine, db: usize, key: &[u8]) -> Result<Option<&'a mut ZSet>, Reply> {
    match e.write(db, key) {
        None => Ok(None),
        Some(entry) => match &mut entry.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

/// The sorted set under a key that the command has already looked up.
fn zset_at<'a>(e: &'a mut Engine, db: usize, key: &[u8]) -> Option<&'a mut ZSet> {
    match e.dbs[db].keys.get_mut(key).map(|en| &mut en.value) {
        Some(Value::ZSet(z)) => Some(z),
        _ => None,
    }
}

fn resp3(e: &Engine, c: &Call) -> bool {
    e.protocol(c.client) == Protocol::Resp3
}

fn encoding_changed(e: &mut Engine, db: usize, key: &[u8]) {
    if e.recording() {
        e.emit(Event::EncodingChanged {
            db,
            key: key.to_vec(),
            from: "listpack",
            to: "skiplist",
        });
    }
}

/// Appends a member, and its score when asked: flat in RESP2, as a [member, score] pair in RESP3.
fn push_member(out: &mut Vec<Reply>, member: &[u8], score: f64, withscores: bool, resp3: bool) {
    if !withscores {
        out.push(Reply::Bulk(member.to_vec()));
    } else if resp3 {
        out.push(Reply::Array(vec![
            Reply::Bulk(member.to_vec()),
            Reply::Double(score),
        ]));
    } else {
        out.push(Reply::Bulk(member.to_vec()));
        out.push(Reply::Double(score));
    }
}

/// Stores `items` under `dst` as a new sorted set (Redis's `setKey`, which drops any TTL), in the
/// encoding that fits its size, or deletes `dst` when there is nothing to store.
fn store_items(
    e: &mut Engine,
    db: usize,
    dst: &[u8],
    items: Vec<(Vec<u8>, f64)>,
    op: &'static str,
) -> Reply {
    if items.is_empty() {
        if e.delete(db, dst) {
            e.notify(db, dst, "del");
        }
        return Reply::Integer(0);
    }
    let n = items.len();
    let longest = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let encoding = if Limits::from_config(&e.config).fits_listpack(n, longest) {
        Encoding::Listpack
    } else {
        Encoding::Skiplist
    };
    let z = ZSet::from_items(zset_seed(e), encoding, items);
    e.set_value(db, dst, Value::ZSet(Box::new(z)), false);
    e.notify(db, dst, op);
    Reply::Integer(n as i64)
}

/// The bytes after an optional sign.
fn unsigned_part(a: &[u8]) -> &[u8] {
    match a.first() {
        Some(b'+' | b'-') => &a[1..],
        _ => a,
    }
}

/// True when the digits before the exponent are not all zero (for telling an underflow from
/// a literal zero).
fn mantissa_is_nonzero(a: &[u8]) -> bool {
    let body = unsigned_part(a);
    if body.len() > 1 && body[0] == b'0' && matches!(body[1], b'x' | b'X') {
        body[2..]
            .iter()
            .take_while(|c| !matches!(c, b'p' | b'P'))
            .any(|c| c.is_ascii_hexdigit() && *c != b'0')
    } else {
        body.iter()
            .take_while(|c| !matches!(c, b'e' | b'E'))
            .any(|c| matches!(c, b'1'..=b'9'))
    }
}

fn is_infinity_literal(a: &[u8]) -> bool {
    let body = unsigned_part(a);
    body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity")
}

/// strtod over the whole of `a`: one optional sign, no space, no NaN; overflow and underflow
/// are allowed (they give ±inf and 0, as strtod returns them).
fn strtod_whole(a: &[u8]) -> Option<f64> {
    crate::numfmt::strtod(a)
}

/// Redis's `string2d` (scores, increments, weights): strtod over the whole argument, no leading
/// space, and a result that neither overflowed nor underflowed to zero.
pub fn parse_score(a: &[u8]) -> Option<f64> {
    if let Some(v) = small_integer(a) {
        return Some(v);
    }
    let v = strtod_whole(a)?;
    if v.is_infinite() && !is_infinity_literal(a) {
        return None;
    }
    if v == 0.0 && mantissa_is_nonzero(a) {
        return None;
    }
    Some(v)
}

/// A decimal integer of up to 15 digits after an optional sign, the usual score: it is below
/// 2^53, so the f64 holds it exactly, as strtod would return it (`-0` giving -0.0).
fn small_integer(a: &[u8]) -> Option<f64> {
    let digits = unsigned_part(a);
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut v = 0u64;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    let v = v as f64;
    Some(if a[0] == b'-' { -v } else { v })
}

/// One end of a score range as `zslParseRange` reads it: strtod over the argument as a C string
/// (it stops at a NUL byte), leading blanks allowed, an empty string reading as 0, NaN refused.
fn parse_range_end(a: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, text) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    let text = c_str(text);
    if text.is_empty() {
        return Some((0.0, exclusive));
    }
    let start = text
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))?;
    strtod_whole(&text[start..]).map(|v| (v, exclusive))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    match (parse_range_end(min), parse_range_end(max)) {
        (Some((min, min_exclusive)), Some((max, max_exclusive))) => Ok(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        }),
        _ => Err(Reply::error(error::MIN_MAX_NOT_FLOAT)),
    }
}

/// `zslParseLexRangeItem`: `+` and `-` alone (as C strings), or `[` / `(` and a member.
fn parse_lex_bound(a: &[u8]) -> Option<LexBound> {
    let alone = a.get(1).is_none_or(|&c| c == 0);
    match a.first() {
        Some(b'+') if alone => Some(LexBound::Max),
        Some(b'-') if alone => Some(LexBound::Min),
        Some(b'(') => Some(LexBound::Exclusive(a[1..].to_vec())),
        Some(b'[') => Some(LexBound::Inclusive(a[1..].to_vec())),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, Reply> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Reply::error(error::MIN_MAX_NOT_LEX)),
    }
}

/// BZPOPMIN's timeout, read as every blocking command reads it (`blocking::parse_timeout`).
fn zset_timeout(a: &[u8], now: i64) -> Result<Option<i64>, Reply> {
    crate::blocking::parse_timeout(a, now, crate::blocking::TimeoutUnit::Seconds)
}

/// Redis 7.0's `d2string`, the text a listpack holds for a score (and so what ZSCAN returns
/// for a listpack-encoded set): integers in full, other values with `%.17g`.
pub(crate) fn d2string(v: f64) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let limit = (i64::MAX / 2) as f64;
    if v.is_finite() && v >= -limit && v <= limit && (v as i64) as f64 == v {
        return (v as i64).to_string();
    }
    fmt_double(v)
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY
// ---------------------------------------------------------------------------------------------

fn zadd(e: &mut Engine, c: &Call) -> Reply {
    zadd_generic(e, c, false)
}

fn zincrby(e: &mut Engine, c: &Call) -> Reply {
    zadd_generic(e, c, true)
}

fn zadd_generic(e: &mut Engine, c: &Call, incr_command: bool) -> Reply {
    let argv = c.argv;
    let mut flags = AddFlags {
        incr: incr_command,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while idx < argv.len() {
        let opt = argv[idx];
        // Every option starts with a letter; a score (the usual argument here) does not need
        // comparing with each of them.
        if !opt.first().is_some_and(u8::is_ascii_alphabetic) {
            break;
        }
        if is_word(opt, "nx") {
            flags.nx = true;
        } else if is_word(opt, "xx") {
            flags.xx = true;
        } else if is_word(opt, "ch") {
            ch = true;
        } else if is_word(opt, "incr") {
            flags.incr = true;
        } else if is_word(opt, "gt") {
            flags.gt = true;
        } else if is_word(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argv.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        return Reply::error(error::SYNTAX);
    }
    let pairs = elements / 2;
    if flags.nx && flags.xx {
        return Reply::error(error::ZADD_XX_NX);
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Reply::error(error::ZADD_GT_LT_NX);
    }
    if flags.incr && pairs > 1 {
        return Reply::error(error::ZADD_INCR_PAIR);
    }
    // Every score is checked before anything changes. One pair, the common ZADD, needs no
    // vector for it.
    let mut many = Vec::new();
    let one;
    let scores: &[f64] = if pairs == 1 {
        let Some(score) = parse_score(argv[idx]) else {
            return Reply::error(error::NOT_FLOAT);
        };
        one = [score];
        &one
    } else {
        many.reserve_exact(pairs);
        for j in 0..pairs {
            match parse_score(argv[idx + 2 * j]) {
                Some(s) => many.push(s),
                None => return Reply::error(error::NOT_FLOAT),
            }
        }
        &many
    };

    let (db, key) = (c.db, argv[1]);
    let limits = Limits::from_config(&e.config);
    let members = &argv[idx + 1..];
    // An existing set is changed through the reference the write lookup gave, without a
    // second lookup.
    let done = match tri!(write_zset(e, db, key)) {
        Some(z) => add_pairs(z, scores, members, flags, limits),
        None => {
            if flags.xx {
                return if flags.incr {
                    Reply::Nil
                } else {
                    Reply::Integer(0)
                };
            }
            let encoding = if limits.entries == 0 || limits.value < argv[idx + 1].len() {
                Encoding::Skiplist
            } else {
                Encoding::Listpack
            };
            let z = ZSet::new(zset_seed(e), encoding);
            e.add_value(db, key, Value::ZSet(Box::new(z)));
            let Some(z) = zset_at(e, db, key) else {
                return Reply::error(error::WRONGTYPE);
            };
            add_pairs(z, scores, members, flags, limits)
        }
    };
    let Added {
        added,
        updated,
        processed,
        score,
        converted,
        nan,
    } = done;
    if converted {
        encoding_changed(e, db, key);
    }
    if added + updated > 0 {
        e.notify(db, key, if flags.incr { "zincr" } else { "zadd" });
    }
    if nan {
        Reply::error(error::SCORE_NAN)
    } else if flags.incr {
        if processed > 0 {
            Reply::Double(score)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Integer(if ch { added + updated } else { added })
    }
}

/// What ZADD's pairs did to the set.
struct Added {
    added: i64,
    updated: i64,
    processed: i64,
    /// The score of the last pair processed (ZADD INCR's reply).
    score: f64,
    /// Whether the set went from listpack to skiplist.
    converted: bool,
    /// Whether INCR made a NaN, which stopped the pairs there.
    nan: bool,
}

/// Applies `scores[j]` to the member at `members[2 * j]` under `flags`, in order.
fn add_pairs(
    z: &mut ZSet,
    scores: &[f64],
    members: &[&[u8]],
    flags: AddFlags,
    limits: Limits,
) -> Added {
    let mut done = Added {
        added: 0,
        updated: 0,
        processed: 0,
        score: 0.0,
        converted: false,
        nan: false,
    };
    for (j, &s) in scores.iter().enumerate() {
        let (outcome, conv) = z.add(s, members[2 * j], flags, limits);
        done.converted |= conv;
        match outcome {
            AddOutcome::Added(v) => {
                done.added += 1;
                done.processed += 1;
                done.score = v;
            }
            AddOutcome::Updated(v) => {
                done.updated += 1;
                done.processed += 1;
                done.score = v;
            }
            AddOutcome::Same(v) => {
                done.processed += 1;
                done.score = v;
            }
            AddOutcome::Skipped => {}
            AddOutcome::NotANumber => {
                done.nan = true;
                break;
            }
        }
    }
    done
}

// ---------------------------------------------------------------------------------------------
// Point reads
// ---------------------------------------------------------------------------------------------

fn zscore(e: &mut Engine, c: &Call) -> Reply {
    match tri!(read_zset(e, c.db, c.argv[1])) {
        None => Reply::Nil,
        Some(z) => z.score(c.argv[2]).map_or(Reply::Nil, Reply::Double),
    }
}

fn zmscore(e: &mut Engine, c: &Call) -> Reply {
    let z = tri!(read_zset(e, c.db, c.argv[1]));
    let members = &c.argv[2..];
    Reply::Array(
        members
            .iter()
            .map(|m| {
                z.as_ref()
                    .and_then(|z| z.score(m))
                    .map_or(Reply::Nil, Reply::Double)
            })
            .collect(),
    )
}

fn zcard(e: &mut Engine, c: &Call) -> Reply {
    match tri!(read_zset(e, c.db, c.argv[1])) {
        None => Reply::Integer(0),
        Some(z) => Reply::Integer(z.len() as i64),
    }
}

fn zrank(e: &mut Engine, c: &Call) -> Reply {
    zrank_generic(e, c, false)
}

fn zrevrank(e: &mut Engine, c: &Call) -> Reply {
    zrank_generic(e, c, true)
}

fn zrank_generic(e: &mut Engine, c: &Call, reverse: bool) -> Reply {
    let Some(z) = tri!(read_zset(e, c.db, c.argv[1])) else {
        return Reply::Nil;
    };
    match z.rank(c.argv[2]) {
        Some(r) if reverse => Reply::Integer((z.len() - 1 - r) as i64),
        Some(r) => Reply::Integer(r as i64),
        None => Reply::Nil,
    }
}

fn zcount(e: &mut Engine, c: &Call) -> Reply {
    let range = tri!(parse_score_range(c.argv[2], c.argv[3]));
    match tri!(read_zset(e, c.db, c.argv[1])) {
        None => Reply::Integer(0),
        Some(z) => {
            let (lo, hi) = z.score_ranks(&range);
            Reply::Integer((hi - lo) as i64)
        }
    }
}

fn zlexcount(e: &mut Engine, c: &Call) -> Reply {
    let range = tri!(parse_lex_range(c.argv[2], c.argv[3]));
    match tri!(read_zset(e, c.db, c.argv[1])) {
        None => Reply::Integer(0),
        Some(z) => {
            let (lo, hi) = z.lex_ranks(&range);
            Reply::Integer((hi - lo) as i64)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zrange(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 1, None, By::Auto, Direction::Auto)
}

fn zrangestore(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 2, Some(c.argv[1]), By::Auto, Direction::Auto)
}

fn zrevrange(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 1, None, By::Rank, Direction::Reverse)
}

fn zrangebyscore(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 1, None, By::Score, Direction::Forward)
}

fn zrevrangebyscore(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 1, None, By::Score, Direction::Reverse)
}

fn zrangebylex(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 1, None, By::Lex, Direction::Forward)
}

fn zrevrangebylex(e: &mut Engine, c: &Call) -> Reply {
    zrange_generic(e, c, 1, None, By::Lex, Direction::Reverse)
}

/// Redis's `zrangeGenericCommand`: `key_idx` is the source key's position, `dst` the key
/// ZRANGESTORE writes to; `by` and `dir` are fixed by the older commands and left to the
/// options by ZRANGE and ZRANGESTORE.
fn zrange_generic(
    e: &mut Engine,
    c: &Call,
    key_idx: usize,
    dst: Option<&[u8]>,
    mut by: By,
    mut dir: Direction,
) -> Reply {
    let argv = c.argv;
    let store = dst.is_some();
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = key_idx + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let opt = argv[j];
        if !store && is_word(opt, "withscores") {
            withscores = true;
        } else if is_word(opt, "limit") && left >= 2 {
            offset = tri!(int(argv[j + 1]));
            limit = tri!(int(argv[j + 2]));
            j += 2;
        } else if dir == Direction::Auto && is_word(opt, "rev") {
            dir = Direction::Reverse;
        } else if by == By::Auto && is_word(opt, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && is_word(opt, "byscore") {
            by = By::Score;
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    let reverse = dir == Direction::Reverse;
    if by == By::Auto {
        by = By::Rank;
    }
    if limit != -1 && by == By::Rank {
        return Reply::error(error::ZRANGE_LIMIT_NEEDS_BY);
    }
    if withscores && by == By::Lex {
        return Reply::error(error::ZRANGE_WITHSCORES_BYLEX);
    }
    let (mut min_idx, mut max_idx) = (key_idx + 1, key_idx + 2);
    if reverse && by != By::Rank {
        // The reversed forms take the range as max, min.
        std::mem::swap(&mut min_idx, &mut max_idx);
    }
    let spec = match by {
        By::Score => RangeSpec::Score(tri!(parse_score_range(argv[min_idx], argv[max_idx]))),
        By::Lex => RangeSpec::Lex(tri!(parse_lex_range(argv[min_idx], argv[max_idx]))),
        _ => RangeSpec::Rank(tri!(int(argv[min_idx])), tri!(int(argv[max_idx]))),
    };

    let resp3 = resp3(e, c);
    let z = match read_zset(e, c.db, argv[key_idx]) {
        Ok(Some(z)) => z,
        Ok(None) => {
            return match dst {
                Some(dst) => store_items(e, c.db, dst, Vec::new(), "zrangestore"),
                None => Reply::Array(Vec::new()),
            };
        }
        Err(wrongtype) => return wrongtype,
    };
    let len = z.len();
    let (lo, hi) = match spec {
        RangeSpec::Rank(start, end) => rank_window(start, end, len, reverse),
        RangeSpec::Score(r) => page(z.score_ranks(&r), offset, limit, reverse, len),
        RangeSpec::Lex(r) => page(z.lex_ranks(&r), offset, limit, reverse, len),
    };
    if let Some(dst) = dst {
        let mut items = Vec::with_capacity(hi - lo);
        z.range(lo, hi, false, |m, s| items.push((m.to_vec(), s)));
        return store_items(e, c.db, dst, items, "zrangestore");
    }
    let mut out = Vec::with_capacity((hi - lo) * if withscores && !resp3 { 2 } else { 1 });
    z.range(lo, hi, reverse, |m, s| {
        push_member(&mut out, m, s, withscores, resp3)
    });
    Reply::Array(out)
}

/// The ascending ranks `lo..hi` that a rank range `start..=end` (negative counting from the
/// end, in descending order when `reverse`) selects from a set of `len` members.
fn rank_window(start: i64, end: i64, len: usize, reverse: bool) -> (usize, usize) {
    let llen = len as i64;
    let start = if start < 0 { llen + start } else { start }.max(0);
    let end = if end < 0 { llen + end } else { end };
    if start > end || start >= llen {
        return (0, 0);
    }
    let end = end.min(llen - 1);
    if reverse {
        ((llen - 1 - end) as usize, (llen - start) as usize)
    } else {
        (start as usize, end as usize + 1)
    }
}

/// Applies LIMIT to the ranks `lo..hi` of the members in a score or lex range. As in Redis, the
/// offset walks from the first member in range (the last one when `reverse`), a negative offset
/// selects nothing, and a negative count means no limit.
fn page(
    (lo, hi): (usize, usize),
    offset: i64,
    limit: i64,
    reverse: bool,
    len: usize,
) -> (usize, usize) {
    if offset < 0 || (offset > 0 && offset as u64 >= len as u64) {
        return (0, 0);
    }
    let offset = offset as usize;
    let avail = hi - lo;
    if offset >= avail {
        return (0, 0);
    }
    let mut n = avail - offset;
    if limit >= 0 {
        n = n.min(limit as usize);
    }
    if reverse {
        (hi - offset - n, hi - offset)
    } else {
        (lo + offset, lo + offset + n)
    }
}

// ---------------------------------------------------------------------------------------------
// Removals
// ---------------------------------------------------------------------------------------------

fn zrem(e: &mut Engine, c: &Call) -> Reply {
    let (db, key) = (c.db, c.argv[1]);
    let Some(z) = tri!(write_zset(e, db, key)) else {
        return Reply::Integer(0);
    };
    let mut deleted = 0;
    let mut emptied = false;
    for m in &c.argv[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            emptied = true;
            break;
        }
    }
    if emptied {
        e.delete(db, key);
    }
    if deleted > 0 {
        e.notify(db, key, "zrem");
        if emptied {
            e.notify(db, key, "del");
        }
    }
    Reply::Integer(deleted)
}

fn zremrangebyrank(e: &mut Engine, c: &Call) -> Reply {
    let start = tri!(int(c.argv[2]));
    let end = tri!(int(c.argv[3]));
    zremrange_generic(e, c, "zremrangebyrank", |z| {
        rank_window(start, end, z.len(), false)
    })
}

fn zremrangebyscore(e: &mut Engine, c: &Call) -> Reply {
    let range = tri!(parse_score_range(c.argv[2], c.argv[3]));
    zremrange_generic(e, c, "zremrangebyscore", |z| z.score_ranks(&range))
}

fn zremrangebylex(e: &mut Engine, c: &Call) -> Reply {
    let range = tri!(parse_lex_range(c.argv[2], c.argv[3]));
    zremrange_generic(e, c, "zremrangebylex", |z| z.lex_ranks(&range))
}

fn zremrange_generic(
    e: &mut Engine,
    c: &Call,
    op: &'static str,
    ranks: impl Fn(&ZSet) -> (usize, usize),
) -> Reply {
    let (db, key) = (c.db, c.argv[1]);
    let Some(z) = tri!(write_zset(e, db, key)) else {
        return Reply::Integer(0);
    };
    let (lo, hi) = ranks(z);
    let deleted = z.remove_ranks(lo, hi);
    let emptied = z.is_empty();
    if emptied {
        e.delete(db, key);
    }
    if deleted > 0 {
        e.notify(db, key, op);
        if emptied {
            e.notify(db, key, "del");
        }
    }
    Reply::Integer(deleted as i64)
}

// ---------------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------------

/// How a pop lays out its reply (Redis's `emitkey` and `use_nested_array`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PopShape {
    /// member, score, member, score...
    Flat,
    /// [member, score], [member, score]...
    Nested,
    /// key, member, score... (BZPOPMIN)
    FlatWithKey,
    /// key, [[member, score]...] (ZMPOP)
    NestedWithKey,
}

/// Pops up to `count` members from the sorted set under `key`, which the caller has looked up
/// and found non-empty, and builds the reply.
fn pop_from(
    e: &mut Engine,
    db: usize,
    key: &[u8],
    max: bool,
    count: usize,
    shape: PopShape,
) -> Reply {
    let Some(z) = zset_at(e, db, key) else {
        return Reply::error(error::WRONGTYPE);
    };
    let n = count.min(z.len());
    let mut popped = Vec::with_capacity(n);
    for _ in 0..n {
        if let Some(p) = z.pop(max) {
            popped.push(p);
        }
    }
    let emptied = z.is_empty();
    if !popped.is_empty() {
        e.notify(db, key, if max { "zpopmax" } else { "zpopmin" });
    }
    if emptied {
        e.delete(db, key);
        e.notify(db, key, "del");
    }
    let nested = matches!(shape, PopShape::Nested | PopShape::NestedWithKey);
    let mut items = Vec::with_capacity(popped.len() * 2 + 1);
    for (m, s) in popped {
        push_member(&mut items, &m, s, true, nested);
    }
    match shape {
        PopShape::Flat | PopShape::Nested => Reply::Array(items),
        PopShape::FlatWithKey => {
            items.insert(0, Reply::bulk(key));
            Reply::Array(items)
        }
        PopShape::NestedWithKey => Reply::Array(vec![Reply::bulk(key), Reply::Array(items)]),
    }
}

/// Redis's `genericZpopCommand`: pops from the first of `keys` that exists. `count` None is the
/// plain single pop.
fn zpop_generic(
    e: &mut Engine,
    c: &Call,
    keys: &[&[u8]],
    max: bool,
    count: Option<i64>,
    shape: PopShape,
    nil_when_empty: bool,
) -> Reply {
    let mut found = None;
    for k in keys {
        if tri!(write_zset(e, c.db, k)).is_some() {
            found = Some(*k);
            break;
        }
    }
    let Some(key) = found else {
        return if nil_when_empty {
            Reply::NilArray
        } else {
            Reply::Array(Vec::new())
        };
    };
    if count == Some(0) {
        return Reply::Array(Vec::new());
    }
    let n = count.unwrap_or(1).max(1) as usize;
    pop_from(e, c.db, key, max, n, shape)
}

fn zpopmin(e: &mut Engine, c: &Call) -> Reply {
    zpop_command(e, c, false)
}

fn zpopmax(e: &mut Engine, c: &Call) -> Reply {
    zpop_command(e, c, true)
}

fn zpop_command(e: &mut Engine, c: &Call, max: bool) -> Reply {
    if c.argv.len() > 3 {
        return Reply::error(error::SYNTAX);
    }
    let count = match c.argv.get(2) {
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => Some(n),
            _ => return Reply::error(error::MUST_BE_POSITIVE),
        },
        None => None,
    };
    // RESP3 nests the pairs only when a count was given.
    let shape = if resp3(e, c) && count.is_some() {
        PopShape::Nested
    } else {
        PopShape::Flat
    };
    zpop_generic(e, c, &c.argv[1..2], max, count, shape, false)
}

fn bzpopmin(e: &mut Engine, c: &Call) -> Reply {
    bzpop(e, c, false)
}

fn bzpopmax(e: &mut Engine, c: &Call) -> Reply {
    bzpop(e, c, true)
}

fn bzpop(e: &mut Engine, c: &Call, max: bool) -> Reply {
    let last = c.argv.len() - 1;
    let deadline = tri!(zset_timeout(c.argv[last], c.now));
    block_or_pop(
        e,
        c,
        &c.argv[1..last],
        max,
        1,
        PopShape::FlatWithKey,
        deadline,
    )
}

/// Redis's `blockingGenericZpopCommand` after the timeout is parsed: pops from the first
/// non-empty sorted set among `keys`, or blocks the client on all of them.
fn block_or_pop(
    e: &mut Engine,
    c: &Call,
    keys: &[&[u8]],
    max: bool,
    count: usize,
    shape: PopShape,
    deadline: Option<i64>,
) -> Reply {
    // A client already blocked is having its command re-run because a key changed. Redis
    // serves it only from a sorted set: a key that became another type leaves it waiting
    // rather than answering WRONGTYPE.
    let rerun = e.is_blocked(c.client);
    for k in keys {
        match write_zset(e, c.db, k) {
            Ok(Some(z)) if !z.is_empty() => return pop_from(e, c.db, k, max, count, shape),
            Err(wrongtype) if !rerun => return wrongtype,
            _ => {}
        }
    }
    let waiting = keys.iter().map(|k| k.to_vec()).collect();
    e.block_on_keys(c.client, c.db, waiting, deadline, c.argv, Reply::NilArray)
}

fn zmpop(e: &mut Engine, c: &Call) -> Reply {
    zmpop_generic(e, c, 1, false)
}

fn bzmpop(e: &mut Engine, c: &Call) -> Reply {
    zmpop_generic(e, c, 2, true)
}

/// ZMPOP and BZMPOP: `numkeys_idx` is where numkeys is.
fn zmpop_generic(e: &mut Engine, c: &Call, numkeys_idx: usize, block: bool) -> Reply {
    let argv = c.argv;
    let numkeys = match parse_i64(argv[numkeys_idx]) {
        Some(n) if n >= 1 => n,
        _ => return Reply::error(error::NUMKEYS_NOT_POSITIVE),
    };
    let where_idx = (numkeys_idx as i64)
        .saturating_add(numkeys)
        .saturating_add(1);
    if where_idx >= argv.len() as i64 {
        return Reply::error(error::SYNTAX);
    }
    let where_idx = where_idx as usize;
    let max = if is_word(argv[where_idx], "min") {
        false
    } else if is_word(argv[where_idx], "max") {
        true
    } else {
        return Reply::error(error::SYNTAX);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && is_word(argv[j], "count") && more > 0 {
            j += 1;
            count = match parse_i64(argv[j]) {
                Some(n) if n >= 1 => Some(n),
                _ => return Reply::error(error::COUNT_NOT_POSITIVE),
            };
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    let count = count.unwrap_or(1);
    let keys = &argv[numkeys_idx + 1..where_idx];
    if block {
        let deadline = tri!(zset_timeout(argv[1], c.now));
        block_or_pop(
            e,
            c,
            keys,
            max,
            count as usize,
            PopShape::NestedWithKey,
            deadline,
        )
    } else {
        zpop_generic(e, c, keys, max, Some(count), PopShape::NestedWithKey, true)
    }
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------------

fn zrandmember(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    if argv.len() >= 3 {
        let l = match parse_i64(argv[2]) {
            None => return Reply::error(error::NOT_INTEGER),
            Some(i64::MIN) => {
                return Reply::error_owned(error::value_out_of_range(-i64::MAX, i64::MAX))
            }
            Some(v) => v,
        };
        let withscores = argv.len() == 4;
        if argv.len() > 4 || (withscores && !is_word(argv[3], "withscores")) {
            return Reply::error(error::SYNTAX);
        }
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Reply::error(error::VALUE_OUT_OF_RANGE);
        }
        return zrandmember_count(e, c, l, withscores);
    }
    let Some(z) = tri!(read_zset(e, c.db, argv[1])) else {
        return Reply::Nil;
    };
    let len = z.len() as u64;
    if len == 0 {
        return Reply::Nil;
    }
    let rank = e.rng.below(len) as usize;
    match zset_at(e, c.db, argv[1]).and_then(|z| z.get(rank)) {
        Some((m, _)) => Reply::bulk(m),
        None => Reply::Nil,
    }
}

fn zrandmember_count(e: &mut Engine, c: &Call, l: i64, withscores: bool) -> Reply {
    let resp3 = resp3(e, c);
    let key = c.argv[1];
    if tri!(read_zset(e, c.db, key)).is_none() {
        return Reply::Array(Vec::new());
    }
    let Some(Value::ZSet(z)) = e.dbs[c.db].keys.get(key).map(|en| &en.value) else {
        return Reply::Array(Vec::new());
    };
    let rng = &mut e.rng;
    let size = z.len();
    let count = l.unsigned_abs() as usize;
    if count == 0 {
        return Reply::Array(Vec::new());
    }
    let mut out = Vec::new();
    let emit = |out: &mut Vec<Reply>, rank: usize| {
        if let Some((m, s)) = z.get(rank) {
            push_member(out, m, s, withscores, resp3);
        }
    };
    if l < 0 || count == 1 {
        // Repeats allowed: every pick is independent.
        for _ in 0..count {
            let rank = rng.below(size as u64) as usize;
            emit(&mut out, rank);
        }
    } else if count >= size {
        // The whole set, in the order Redis's set-operation iterator walks it: highest first.
        z.range(0, size, true, |m, s| {
            push_member(&mut out, m, s, withscores, resp3)
        });
    } else if count * 3 > size {
        // Most of the set: drop random members until `count` are left.
        let mut keep = vec![true; size];
        let mut left = size;
        while left > count {
            let r = rng.below(size as u64) as usize;
            if keep[r] {
                keep[r] = false;
                left -= 1;
            }
        }
        for (rank, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
            emit(&mut out, rank);
        }
    } else {
        // A few members of a large set: pick until `count` distinct ones came up.
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < count {
            let r = rng.below(size as u64) as usize;
            if seen.insert(r) {
                emit(&mut out, r);
            }
        }
    }
    Reply::Array(out)
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, ZINTERCARD and the STORE forms
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`. A sum of +inf and -inf is 0, not NaN; a NaN operand never
/// wins a MIN or MAX.
fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// An input of a set operation: a sorted set, a plain set (every member scores 1), or nothing.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(z) => z.len(),
            Source::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(z) => z.score(member),
            Source::Plain(s) => set_contains(s, member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            // Redis walks sorted inputs from the highest score down.
            Source::Sorted(z) => z.range(0, z.len(), true, f),
            Source::Plain(s) => set_for_each(s, |m| f(m, 1.0)),
        }
    }
}

// The two places that read a plain set's members (a plain set counts as scores of 1).
fn set_contains(s: &Set, member: &[u8]) -> bool {
    s.contains(member)
}

fn set_for_each(s: &Set, mut f: impl FnMut(&[u8])) {
    for m in s.iter() {
        match m {
            crate::types::set::Elem::Int(v) => f(v.to_string().as_bytes()),
            crate::types::set::Elem::Str(b) => f(b),
        }
    }
}

fn zunion(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, None, 1, SetOp::Union, false)
}

fn zinter(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, None, 1, SetOp::Inter, false)
}

fn zdiff(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, None, 1, SetOp::Diff, false)
}

fn zintercard(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, None, 1, SetOp::Inter, true)
}

fn zunionstore(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, Some(c.argv[1]), 2, SetOp::Union, false)
}

fn zinterstore(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, Some(c.argv[1]), 2, SetOp::Inter, false)
}

fn zdiffstore(e: &mut Engine, c: &Call) -> Reply {
    zsetop_generic(e, c, Some(c.argv[1]), 2, SetOp::Diff, false)
}

/// Redis's `zunionInterDiffGenericCommand`.
fn zsetop_generic(
    e: &mut Engine,
    c: &Call,
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: SetOp,
    cardinality_only: bool,
) -> Reply {
    let argv = c.argv;
    let setnum = tri!(int(argv[numkeys_idx]));
    if setnum < 1 {
        return Reply::error_owned(error::no_input_keys(c.spec.name));
    }
    if setnum > (argv.len() - numkeys_idx - 1) as i64 {
        return Reply::error(error::SYNTAX);
    }
    let setnum = setnum as usize;
    let keys = &argv[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    for k in keys {
        if let Some(entry) = e.read(c.db, k) {
            if !matches!(entry.value, Value::ZSet(_) | Value::Set(_)) {
                return Reply::error(error::WRONGTYPE);
            }
        }
    }

    let mut weights = vec![1.0; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0i64;
    let mut j = numkeys_idx + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let opt = argv[j];
        let weighted = op != SetOp::Diff && !cardinality_only;
        if weighted && remaining > setnum && is_word(opt, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = match parse_score(argv[j]) {
                    Some(v) => v,
                    None => return Reply::error(error::WEIGHT_NOT_FLOAT),
                };
                j += 1;
            }
        } else if weighted && remaining >= 2 && is_word(opt, "aggregate") {
            let v = argv[j + 1];
            how = if is_word(v, "sum") {
                Aggregate::Sum
            } else if is_word(v, "min") {
                Aggregate::Min
            } else if is_word(v, "max") {
                Aggregate::Max
            } else {
                return Reply::error(error::SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !cardinality_only && is_word(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if cardinality_only && remaining >= 2 && is_word(opt, "limit") {
            limit = match parse_i64(argv[j + 1]) {
                Some(v) if v >= 0 => v,
                _ => return Reply::error(error::LIMIT_NEGATIVE),
            };
            j += 2;
        } else {
            return Reply::error(error::SYNTAX);
        }
    }

    let db = &e.dbs[c.db];
    let mut srcs: Vec<(Source, f64)> = keys
        .iter()
        .zip(&weights)
        .map(|(k, &w)| {
            let src = match db.keys.get(k).map(|en| &en.value) {
                Some(Value::ZSet(z)) => Source::Sorted(z),
                Some(Value::Set(s)) => Source::Plain(s),
                _ => Source::Missing,
            };
            (src, w)
        })
        .collect();
    if op != SetOp::Diff {
        // Smallest first: the intersection walks the smallest input. The sort is stable, as
        // glibc's qsort is for arrays this size, so equal sizes keep their order and sums
        // happen in the same order as in Redis.
        srcs.sort_by_key(|(s, _)| s.len());
    }

    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0i64;
    match op {
        SetOp::Inter => {
            let (first, w0) = srcs[0];
            if first.len() > 0 {
                let mut done = false;
                first.for_each(|m, s| {
                    if done {
                        return;
                    }
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for &(src, w) in &srcs[1..] {
                        match src.score(m) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => return,
                        }
                    }
                    if cardinality_only {
                        cardinality += 1;
                        done = limit > 0 && cardinality >= limit;
                    } else {
                        items.push((m.to_vec(), score));
                    }
                });
            }
        }
        SetOp::Union => {
            let mut acc: Dict<f64> = Dict::new(zset_seed(e));
            let mut order: Vec<Box<[u8]>> = Vec::new();
            for &(src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m.into(), score);
                            order.push(m.into());
                        }
                    }
                });
            }
            items = order
                .into_iter()
                .map(|m| {
                    let s = acc.get(&m).copied().unwrap_or(0.0);
                    (m.into_vec(), s)
                })
                .collect();
        }
        SetOp::Diff => {
            let (first, _) = srcs[0];
            first.for_each(|m, s| {
                if !srcs[1..].iter().any(|(src, _)| src.score(m).is_some()) {
                    items.push((m.to_vec(), s));
                }
            });
        }
    }

    if cardinality_only {
        return Reply::Integer(cardinality);
    }
    if let Some(dst) = dst {
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        return store_items(e, c.db, dst, items, event);
    }
    sort_members(&mut items);
    let resp3 = resp3(e, c);
    let mut out = Vec::with_capacity(items.len() * if withscores && !resp3 { 2 } else { 1 });
    for (m, s) in &items {
        push_member(&mut out, m, *s, withscores, resp3);
    }
    Reply::Array(out)
}

// ---------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------

fn zscan(e: &mut Engine, c: &Call) -> Reply {
    let cursor = tri!(scan::parse_cursor(c.argv[2]));
    let Some(z) = tri!(read_zset(e, c.db, c.argv[1])) else {
        return scan::reply(0, Vec::new());
    };
    let opts = tri!(scan::parse_options(c.argv, 3, false));
    let mut items = Vec::new();
    let next = if z.is_listpack() {
        // A listpack is returned whole, with the scores as the listpack holds them.
        z.for_each(|m, s| {
            items.push(m.to_vec());
            items.push(d2string(s).into_bytes());
        });
        0
    } else {
        // Two elements per member, so the walk gathers twice COUNT (Redis doubles it too).
        let want = opts.count.saturating_mul(2);
        let mut budget = want.saturating_mul(10);
        let mut cursor = cursor;
        loop {
            cursor = z.scan_step(cursor, |m, s| {
                items.push(m.to_vec());
                items.push(fmt_double(s).into_bytes());
            });
            if cursor == 0 {
                break;
            }
            let more = budget != 0;
            budget = budget.wrapping_sub(1);
            if !more || items.len() as i64 >= want {
                break;
            }
        }
        cursor
    };
    scan::retain_matching(&mut items, opts.pattern, 2);
    scan::reply(next, items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"1e-310"), Some(1e-310));
        for bad in [
            &b"1e400"[..],
            b"1e-400",
            b"+-1",
            b"--1",
            b"nan",
            b" 1",
            b"",
            b"1\x00",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        assert_eq!(parse_score(b"-0.000"), Some(-0.0));
    }

    #[test]
    fn integer_scores_parse_as_strtod_reads_them() {
        // The shortcut for plain integers must give strtod's value, bit for bit (-0 included),
        // and leave everything else to it.
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "+0",
            "007",
            "-007",
            "5",
            "+5",
            "-5",
            "999999999999999",
            "-999999999999999",
            "1000000000000000",
            "9007199254740993",
            "12345678901234567890",
            "1 ",
            " 1",
            "1a",
            "+",
            "-",
            "+-1",
            "1e3",
            "0x10",
            "1.0",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let mut n = 1u64;
        for _ in 0..20 {
            texts.push(n.to_string());
            texts.push(format!("-{n}"));
            texts.push((n - 1).to_string());
            n = n * 7 + 3;
        }
        for t in &texts {
            let got = parse_score(t.as_bytes()).map(f64::to_bits);
            let want = strtod_whole(t.as_bytes())
                .filter(|v| v.is_finite())
                .map(f64::to_bits);
            assert_eq!(got, want, "{t:?}");
        }
        assert_eq!(
            small_integer(b"-0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(small_integer(b"1000000000000000"), None);
    }

    #[test]
    fn range_ends_parse_like_zslparserange() {
        assert_eq!(parse_range_end(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_range_end(b""), Some((0.0, false)));
        assert_eq!(parse_range_end(b"("), Some((0.0, true)));
        assert_eq!(parse_range_end(b"( 2"), Some((2.0, true)));
        assert_eq!(parse_range_end(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_range_end(b"3\x00junk"), Some((3.0, false)));
        assert_eq!(parse_range_end(b" "), None);
        assert_eq!(parse_range_end(b"2 "), None);
        assert_eq!(parse_range_end(b"nan"), None);
        assert_eq!(parse_range_end(b"[1"), None);
    }

    #[test]
    fn timeouts_round_up_to_milliseconds() {
        assert_eq!(zset_timeout(b"0", 100).ok(), Some(None));
        assert_eq!(zset_timeout(b"0.0001", 100).ok(), Some(Some(101)));
        assert_eq!(zset_timeout(b"1.5", 100).ok(), Some(Some(1600)));
        assert_eq!(zset_timeout(b"1e-400", 100).ok(), Some(Some(101)));
        // ceil(-0.1) is -0: no error, and no deadline.
        assert_eq!(zset_timeout(b"-0.0001", 100).ok(), Some(None));
        let err = |a: &[u8]| {
            zset_timeout(a, 0)
                .err()
                .and_then(|r| r.error_text().map(String::from))
        };
        assert_eq!(err(b"-1").as_deref(), Some(error::TIMEOUT_NEGATIVE));
        assert_eq!(err(b"inf").as_deref(), Some(error::TIMEOUT_NEGATIVE));
        assert_eq!(err(b"1e400").as_deref(), Some(error::TIMEOUT_NEGATIVE));
        assert_eq!(err(b"9.3e15").as_deref(), Some(error::TIMEOUT_NEGATIVE));
        assert_eq!(err(b"1e5000").as_deref(), Some(error::TIMEOUT_NOT_FLOAT));
        assert_eq!(err(b"abc").as_deref(), Some(error::TIMEOUT_NOT_FLOAT));
        assert_eq!(err(b" 1").as_deref(), Some(error::TIMEOUT_NOT_FLOAT));
        assert_eq!(err(b"").as_deref(), Some(error::TIMEOUT_NOT_FLOAT));
    }

    #[test]
    fn listpack_scores_print_like_d2string() {
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(1e17), "100000000000000000");
        assert_eq!(d2string(1.1), "1.1000000000000001");
        assert_eq!(d2string(1e300), "1.0000000000000001e+300");
        assert_eq!(d2string(f64::INFINITY), "inf");
    }

    #[test]
    fn lex_bounds() {
        assert_eq!(parse_lex_bound(b"+"), Some(LexBound::Max));
        assert_eq!(parse_lex_bound(b"-\x00x"), Some(LexBound::Min));
        assert_eq!(parse_lex_bound(b"+a"), None);
        assert_eq!(parse_lex_bound(b"a"), None);
        assert_eq!(parse_lex_bound(b""), None);
        assert_eq!(parse_lex_bound(b"("), Some(LexBound::Exclusive(Vec::new())));
    }

    use crate::{Config, Engine, Event, Protocol, Reply};

    fn engine() -> (Engine, u64) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        (e, c)
    }

    fn bulks(items: &[&str]) -> Vec<Reply> {
        items.iter().map(|s| Reply::bulk(*s)).collect()
    }

    #[test]
    fn bzpopmin_is_served_by_another_clients_zadd() {
        let (mut e, a) = engine();
        let b = e.connect(0);
        assert_eq!(e.run(a, &["BZPOPMIN", "k1", "k2", "0"], 10), Reply::Blocked);
        assert!(e.is_blocked(a));
        assert_eq!(
            e.run(b, &["ZADD", "k2", "2", "y", "1", "x"], 20),
            Reply::Integer(2)
        );
        assert!(!e.is_blocked(a));
        assert_eq!(
            e.take_output(a),
            vec![Reply::Array(vec![
                Reply::bulk("k2"),
                Reply::bulk("x"),
                Reply::Double(1.0)
            ])]
        );
        assert_eq!(
            e.run(b, &["ZRANGE", "k2", "0", "-1"], 20),
            Reply::Array(bulks(&["y"]))
        );
        let ops: Vec<&str> = e
            .drain_events()
            .iter()
            .filter_map(|ev| match ev {
                Event::Keyspace { op, .. } => Some(*op),
                _ => None,
            })
            .collect();
        assert_eq!(ops, vec!["zadd", "zpopmin"]);
    }

    #[test]
    fn blocked_clients_are_served_oldest_first_and_the_last_pop_deletes_the_key() {
        let (mut e, a) = engine();
        let b = e.connect(0);
        let c = e.connect(0);
        assert_eq!(
            e.run(a, &["BZMPOP", "0", "1", "k", "MAX", "COUNT", "2"], 0),
            Reply::Blocked
        );
        assert_eq!(e.run(b, &["BZPOPMAX", "k", "0"], 0), Reply::Blocked);
        e.run(c, &["ZADD", "k", "1", "a", "2", "b", "3", "c"], 5);
        let pair = |m: &str, s: f64| Reply::Array(vec![Reply::bulk(m), Reply::Double(s)]);
        assert_eq!(
            e.take_output(a),
            vec![Reply::Array(vec![
                Reply::bulk("k"),
                Reply::Array(vec![pair("c", 3.0), pair("b", 2.0)])
            ])]
        );
        assert_eq!(
            e.take_output(b),
            vec![Reply::Array(vec![
                Reply::bulk("k"),
                Reply::bulk("a"),
                Reply::Double(1.0)
            ])]
        );
        assert_eq!(e.run(c, &["EXISTS", "k"], 5), Reply::Integer(0));
    }

    #[test]
    fn bzpopmin_times_out_on_virtual_time() {
        let (mut e, a) = engine();
        assert_eq!(e.run(a, &["BZPOPMIN", "k", "1.5"], 1_000), Reply::Blocked);
        e.advance(2_000);
        assert!(e.is_blocked(a));
        // Redis times a client out once now is past the deadline, not at it.
        e.advance(2_500);
        assert!(e.is_blocked(a));
        e.advance(2_501);
        assert!(!e.is_blocked(a));
        let out = e.take_output(a);
        assert_eq!(out, vec![Reply::NilArray]);
        assert_eq!(crate::to_resp(&out[0], Protocol::Resp2), b"*-1\r\n");
        // A ZADD after the timeout has nobody to serve.
        let b = e.connect(2_600);
        e.run(b, &["ZADD", "k", "1", "a"], 2_600);
        assert!(e.take_output(a).is_empty());
        assert_eq!(e.run(b, &["ZCARD", "k"], 2_600), Reply::Integer(1));
    }

    #[test]
    fn a_zero_timeout_waits_forever() {
        let (mut e, a) = engine();
        assert_eq!(
            e.run(a, &["BZMPOP", "0", "1", "k", "MIN"], 0),
            Reply::Blocked
        );
        e.advance(10_000_000);
        assert!(e.is_blocked(a));
    }

    #[test]
    fn a_blocked_client_ignores_a_key_that_becomes_another_type() {
        let (mut e, a) = engine();
        let b = e.connect(0);
        assert_eq!(
            e.run(a, &["BZPOPMIN", "k", "other", "0"], 0),
            Reply::Blocked
        );
        e.run(b, &["SET", "k", "string"], 1);
        assert!(e.is_blocked(a));
        assert!(e.take_output(a).is_empty());
        e.run(b, &["ZADD", "other", "5", "m"], 2);
        assert_eq!(
            e.take_output(a),
            vec![Reply::Array(vec![
                Reply::bulk("other"),
                Reply::bulk("m"),
                Reply::Double(5.0)
            ])]
        );
        // Without waiting, the wrong type is an error as usual.
        assert_eq!(
            e.run(a, &["BZPOPMIN", "k", "0"], 3),
            Reply::error(crate::error::WRONGTYPE)
        );
    }

    fn encoding_events(e: &mut Engine) -> Vec<(String, &'static str, &'static str)> {
        e.drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::EncodingChanged { key, from, to, .. } => {
                    Some((String::from_utf8_lossy(&key).into_owned(), from, to))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn encodings_change_at_the_configured_thresholds() {
        let (mut e, c) = engine();
        e.config_mut().zset_max_listpack_entries = 3;
        e.config_mut().zset_max_listpack_value = 4;
        let enc = |e: &mut Engine, k: &str| e.run(c, &["OBJECT", "ENCODING", k], 0);
        e.run(c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"], 0);
        assert_eq!(enc(&mut e, "z"), Reply::bulk("listpack"));
        e.run(c, &["ZADD", "z", "9", "a"], 0);
        assert_eq!(enc(&mut e, "z"), Reply::bulk("listpack"));
        encoding_events(&mut e);
        e.run(c, &["ZADD", "z", "4", "d"], 0);
        assert_eq!(enc(&mut e, "z"), Reply::bulk("skiplist"));
        assert_eq!(
            encoding_events(&mut e),
            vec![("z".into(), "listpack", "skiplist")]
        );
        // Never back, however small it gets.
        e.run(c, &["ZREM", "z", "a", "b", "c"], 0);
        assert_eq!(enc(&mut e, "z"), Reply::bulk("skiplist"));

        // A member longer than the value limit converts; one at the limit does not.
        e.run(c, &["ZADD", "v", "1", "abcd"], 0);
        assert_eq!(enc(&mut e, "v"), Reply::bulk("listpack"));
        e.run(c, &["ZADD", "v", "1", "abcde"], 0);
        assert_eq!(enc(&mut e, "v"), Reply::bulk("skiplist"));
        // A new key whose first member is too long starts as a skiplist: no conversion.
        encoding_events(&mut e);
        e.run(c, &["ZADD", "w", "1", "abcde"], 0);
        assert_eq!(enc(&mut e, "w"), Reply::bulk("skiplist"));
        assert!(encoding_events(&mut e).is_empty());

        // Stored results take the encoding that fits their size.
        e.run(
            c,
            &["ZADD", "src", "1", "a", "2", "b", "3", "c", "4", "d"],
            0,
        );
        e.run(c, &["ZRANGESTORE", "d", "src", "0", "2"], 0);
        assert_eq!(enc(&mut e, "d"), Reply::bulk("listpack"));
        e.run(c, &["ZRANGESTORE", "d", "src", "0", "-1"], 0);
        assert_eq!(enc(&mut e, "d"), Reply::bulk("skiplist"));
        e.run(c, &["ZUNIONSTORE", "d", "1", "src"], 0);
        assert_eq!(enc(&mut e, "d"), Reply::bulk("skiplist"));
        e.run(c, &["ZINTERSTORE", "d", "2", "src", "z"], 0);
        assert_eq!(e.run(c, &["ZCARD", "d"], 0), Reply::Integer(1));
        assert_eq!(enc(&mut e, "d"), Reply::bulk("listpack"));

        // With zset-max-listpack-entries 0 every sorted set is a skiplist.
        e.config_mut().zset_max_listpack_entries = 0;
        e.run(c, &["ZADD", "zero", "1", "a"], 0);
        assert_eq!(enc(&mut e, "zero"), Reply::bulk("skiplist"));
    }

    #[test]
    fn a_listpack_stores_negative_zero_as_zero() {
        let (mut e, c) = engine();
        e.run(c, &["ZADD", "lp", "-0", "a"], 0);
        assert_eq!(e.run(c, &["ZSCORE", "lp", "a"], 0), Reply::Double(0.0));
        assert!(
            matches!(e.run(c, &["ZSCORE", "lp", "a"], 0), Reply::Double(d) if d.is_sign_positive())
        );
        e.config_mut().zset_max_listpack_entries = 0;
        e.run(c, &["ZADD", "sl", "-0", "a"], 0);
        assert!(
            matches!(e.run(c, &["ZSCORE", "sl", "a"], 0), Reply::Double(d) if d.is_sign_negative())
        );
    }

    #[test]
    fn resp3_nests_member_score_pairs() {
        let (mut e, c) = engine();
        if let Some(cl) = e.client_mut(c) {
            cl.protocol = Protocol::Resp3;
        }
        e.run(c, &["ZADD", "z", "1", "a", "1.1", "b"], 0);
        assert_eq!(
            crate::to_resp(
                &e.run(c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"], 0),
                Protocol::Resp3
            ),
            b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,1.1000000000000001\r\n"
        );
        // A plain pop stays flat; a pop with a count nests.
        assert_eq!(
            e.run(c, &["ZPOPMIN", "z"], 0),
            Reply::Array(vec![Reply::bulk("a"), Reply::Double(1.0)])
        );
        assert_eq!(
            e.run(c, &["ZPOPMIN", "z", "1"], 0),
            Reply::Array(vec![Reply::Array(vec![
                Reply::bulk("b"),
                Reply::Double(1.1)
            ])])
        );
    }

    #[test]
    fn zscore_prints_17_significant_digits_in_resp2() {
        let (mut e, c) = engine();
        e.run(c, &["ZADD", "z", "1.1", "a"], 0);
        let r = e.run(c, &["ZSCORE", "z", "a"], 0);
        assert_eq!(
            crate::to_resp(&r, Protocol::Resp2),
            b"$18\r\n1.1000000000000001\r\n"
        );
        let r = e.run(c, &["ZINCRBY", "z", "1", "a"], 0);
        assert_eq!(r, Reply::Double(2.1));
    }

    #[test]
    fn large_leaderboard_keeps_ranks_and_ranges_right() {
        let (mut e, c) = engine();
        e.config_mut().record_events = false;
        let n = 20_000;
        for i in 0..n {
            // Scores repeat every 1000 members, so ties are ordered by member.
            let score = (i % 1000).to_string();
            let member = format!("player:{i:05}");
            e.run(c, &["ZADD", "lb", &score, &member], 0);
        }
        assert_eq!(e.run(c, &["ZCARD", "lb"], 0), Reply::Integer(n));
        // Rank of player:00001 (score 1): the 20 members with score 0 come first.
        assert_eq!(
            e.run(c, &["ZRANK", "lb", "player:00001"], 0),
            Reply::Integer(20)
        );
        assert_eq!(
            e.run(c, &["ZREVRANK", "lb", "player:19999"], 0),
            Reply::Integer(0)
        );
        assert_eq!(
            e.run(c, &["ZREVRANGE", "lb", "0", "2"], 0),
            Reply::Array(bulks(&["player:19999", "player:18999", "player:17999"]))
        );
        e.run(c, &["ZINCRBY", "lb", "5000", "player:00000"], 0);
        assert_eq!(
            e.run(c, &["ZREVRANK", "lb", "player:00000"], 0),
            Reply::Integer(0)
        );
        assert_eq!(
            e.run(c, &["ZCOUNT", "lb", "(998", "+inf"], 0),
            Reply::Integer(21)
        );
        assert_eq!(
            e.run(c, &["ZREMRANGEBYRANK", "lb", "0", "9999"], 0),
            Reply::Integer(10_000)
        );
        assert_eq!(e.run(c, &["ZCARD", "lb"], 0), Reply::Integer(10_000));
        // Removed: the 19 members left at score 0 and the 20 of each score up to 499 (9,999),
        // then the first member at 500.
        assert_eq!(
            e.run(c, &["ZRANGE", "lb", "0", "0"], 0),
            Reply::Array(bulks(&["player:01500"]))
        );
    }
}
