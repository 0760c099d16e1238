//! List commands, the blocking pops and moves included.
//!
//! Argument checks, key lookups and keyspace events come in the order Redis 7.0's `t_list.c`
//! has them, because that order decides which error a bad command gets: LINDEX and LSET look
//! the key up before parsing the index, LRANGE and LTRIM parse first, and so on.

use crate::args::{int, is, non_negative};
use crate::blocking::{parse_timeout, TimeoutUnit};
use crate::object::{Entry, Value};
use crate::table::CommandSpec;
use crate::types::list::{List, Needle};
use crate::{error, flags, tri, Call, Engine, Reply};

macro_rules! list_cmd {
    ($name:expr, $arity:expr, $flags:expr, $keys:expr, $since:expr, $summary:expr, $syntax:expr, $handler:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: "list",
            since: $since,
            summary: $summary,
            syntax: $syntax,
            handler: $handler,
            subcommands: &[],
        }
    };
}

pub const COMMANDS: &[CommandSpec] = &[
    list_cmd!(
        "lpush",
        -3,
        flags!(WRITE, DENYOOM, FAST),
        (1, 1, 1),
        "1.0.0",
        "Adds elements at the head of a list, creating it if needed; the last one ends up first.",
        "key element [element ...]",
        lpush
    ),
    list_cmd!(
        "rpush",
        -3,
        flags!(WRITE, DENYOOM, FAST),
        (1, 1, 1),
        "1.0.0",
        "Adds elements at the tail of a list, creating it if needed.",
        "key element [element ...]",
        rpush
    ),
    list_cmd!(
        "lpushx",
        -3,
        flags!(WRITE, DENYOOM, FAST),
        (1, 1, 1),
        "2.2.0",
        "Adds elements at the head of a list only if the list already exists.",
        "key element [element ...]",
        lpushx
    ),
    list_cmd!(
        "rpushx",
        -3,
        flags!(WRITE, DENYOOM, FAST),
        (1, 1, 1),
        "2.2.0",
        "Adds elements at the tail of a list only if the list already exists.",
        "key element [element ...]",
        rpushx
    ),
    list_cmd!(
        "lpop",
        -2,
        flags!(WRITE, FAST),
        (1, 1, 1),
        "1.0.0",
        "Removes and returns the first element of a list, or the first count elements.",
        "key [count]",
        lpop
    ),
    list_cmd!(
        "rpop",
        -2,
        flags!(WRITE, FAST),
        (1, 1, 1),
        "1.0.0",
        "Removes and returns the last element of a list, or the last count elements.",
        "key [count]",
        rpop
    ),
    list_cmd!(
        "llen",
        2,
        flags!(READONLY, FAST),
        (1, 1, 1),
        "1.0.0",
        "Returns the number of elements in a list (0 when the key does not exist).",
        "key",
        llen
    ),
    list_cmd!(
        "lrange",
        4,
        flags!(READONLY),
        (1, 1, 1),
        "1.0.0",
        "Returns the elements between two indexes, both inclusive, negative ones from the tail.",
        "key start stop",
        lrange
    ),
    list_cmd!(
        "lindex",
        3,
        flags!(READONLY),
        (1, 1, 1),
        "1.0.0",
        "Returns the element at an index, negative indexes counting from the tail.",
        "key index",
        lindex
    ),
    list_cmd!(
        "lset",
        4,
        flags!(WRITE, DENYOOM),
        (1, 1, 1),
        "1.0.0",
        "Replaces the element at an index of an existing list.",
        "key index element",
        lset
    ),
    list_cmd!(
        "linsert",
        5,
        flags!(WRITE, DENYOOM),
        (1, 1, 1),
        "2.2.0",
        "Inserts an element before or after the first occurrence of a pivot element.",
        "key <BEFORE | AFTER> pivot element",
        linsert
    ),
    list_cmd!(
        "lrem",
        4,
        flags!(WRITE),
        (1, 1, 1),
        "1.0.0",
        "Removes occurrences of an element: count from the head, -count from the tail, 0 all.",
        "key count element",
        lrem
    ),
    list_cmd!(
        "ltrim",
        4,
        flags!(WRITE),
        (1, 1, 1),
        "1.0.0",
        "Keeps only the elements between two indexes, deleting the list if none remain.",
        "key start stop",
        ltrim
    ),
    list_cmd!(
        "lpos",
        -3,
        flags!(READONLY),
        (1, 1, 1),
        "6.0.6",
        "Returns the index of matching elements, optionally the nth match or several of them.",
        "key element [RANK rank] [COUNT num-matches] [MAXLEN len]",
        lpos
    ),
    list_cmd!(
        "lmove",
        5,
        flags!(WRITE, DENYOOM),
        (1, 2, 1),
        "6.2.0",
        "Pops an element from one end of a list and pushes it onto an end of another.",
        "source destination <LEFT | RIGHT> <LEFT | RIGHT>",
        lmove
    ),
    list_cmd!(
        "rpoplpush",
        3,
        flags!(WRITE, DENYOOM),
        (1, 2, 1),
        "1.2.0",
        "Pops the last element of a list and pushes it at the head of another (LMOVE RIGHT LEFT).",
        "source destination",
        rpoplpush
    ),
    list_cmd!(
        "lmpop",
        -4,
        flags!(WRITE),
        (0, 0, 0),
        "7.0.0",
        "Pops elements from the first non-empty list among the keys given.",
        "numkeys key [key ...] <LEFT | RIGHT> [COUNT count]",
        lmpop
    ),
    list_cmd!(
        "blpop",
        -3,
        flags!(WRITE, NOSCRIPT, BLOCKING),
        (1, -2, 1),
        "2.0.0",
        "Pops the first element of the first non-empty list, waiting for one if all are empty.",
        "key [key ...] timeout",
        blpop
    ),
    list_cmd!(
        "brpop",
        -3,
        flags!(WRITE, NOSCRIPT, BLOCKING),
        (1, -2, 1),
        "2.0.0",
        "Pops the last element of the first non-empty list, waiting for one if all are empty.",
        "key [key ...] timeout",
        brpop
    ),
    list_cmd!(
        "blmove",
        6,
        flags!(WRITE, DENYOOM, NOSCRIPT, BLOCKING),
        (1, 2, 1),
        "6.2.0",
        "Moves an element between lists like LMOVE, waiting while the source is empty.",
        "source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout",
        blmove
    ),
    list_cmd!(
        "brpoplpush",
        4,
        flags!(WRITE, DENYOOM, NOSCRIPT, BLOCKING),
        (1, 2, 1),
        "2.2.0",
        "Moves the last element of a list to the head of another, waiting while it is empty.",
        "source destination timeout",
        brpoplpush
    ),
    list_cmd!(
        "blmpop",
        -5,
        flags!(WRITE, BLOCKING),
        (0, 0, 0),
        "7.0.0",
        "Pops elements from the first non-empty list, waiting for one if all are empty.",
        "timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]",
        blmpop
    ),
];

/// The list in a looked-up entry: Ok(None) when the key is missing, WRONGTYPE when it holds
/// another type.
fn list_of(entry: Option<&mut Entry>) -> Result<Option<&mut List>, Reply> {
    match entry {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(Reply::error(error::WRONGTYPE)),
    }
}

/// The list under a key already looked up by this command (no second expiry check, no second
/// touch of the access metadata).
fn raw_list<'e>(e: &'e mut Engine, db: usize, key: &[u8]) -> Option<&'e mut List> {
    match e.dbs[db].keys.get_mut(key) {
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Some(l),
        _ => None,
    }
}

fn new_list(e: &Engine) -> List {
    List::new(e.config.list_max_listpack_size)
}

/// After elements were popped from `key`: the pop event, then, if the list is now empty, the
/// key's deletion with its `del` event (Redis's `listElementsRemoved`).
fn elements_removed(e: &mut Engine, db: usize, key: &[u8], front: bool, emptied: bool) {
    e.notify(db, key, if front { "lpop" } else { "rpop" });
    delete_if_emptied(e, db, key, emptied);
}

/// Deletes a list the command has just emptied (the key is known to be live).
fn delete_if_emptied(e: &mut Engine, db: usize, key: &[u8], emptied: bool) {
    if emptied {
        e.dbs[db].remove(key);
        e.notify(db, key, "del");
    }
}

/// `LEFT` or `RIGHT`: true for the head.
fn parse_side(a: &[u8]) -> Result<bool, Reply> {
    if is(a, "right") {
        Ok(false)
    } else if is(a, "left") {
        Ok(true)
    } else {
        Err(Reply::error(error::SYNTAX))
    }
}

/// Pops `count` elements from one end, in the order they are popped.
fn pop_many(l: &mut List, count: usize, front: bool) -> Vec<Reply> {
    let n = count.min(l.len());
    let out: Vec<Reply> = if front {
        l.iter().take(n).map(|v| Reply::Bulk(v.to_vec())).collect()
    } else {
        l.iter_rev()
            .take(n)
            .map(|v| Reply::Bulk(v.to_vec()))
            .collect()
    };
    if front {
        l.trim(n, 0);
    } else {
        l.trim(0, n);
    }
    out
}

// ---- Pushes ----

fn lpush(e: &mut Engine, c: &Call) -> Reply {
    push_generic(e, c, true, false)
}

fn rpush(e: &mut Engine, c: &Call) -> Reply {
    push_generic(e, c, false, false)
}

fn lpushx(e: &mut Engine, c: &Call) -> Reply {
    push_generic(e, c, true, true)
}

fn rpushx(e: &mut Engine, c: &Call) -> Reply {
    push_generic(e, c, false, true)
}

fn push_generic(e: &mut Engine, c: &Call, front: bool, only_existing: bool) -> Reply {
    let key = c.argv[1];
    let len = match tri!(list_of(e.write(c.db, key))) {
        Some(l) => {
            for v in &c.argv[2..] {
                l.push(v, front);
            }
            l.len()
        }
        None if only_existing => return Reply::Integer(0),
        None => {
            let mut l = new_list(e);
            for v in &c.argv[2..] {
                l.push(v, front);
            }
            let n = l.len();
            e.add_value(c.db, key, Value::List(Box::new(l)));
            n
        }
    };
    e.notify(c.db, key, if front { "lpush" } else { "rpush" });
    Reply::Integer(len as i64)
}

// ---- Pops ----

fn lpop(e: &mut Engine, c: &Call) -> Reply {
    pop_generic(e, c, true)
}

fn rpop(e: &mut Engine, c: &Call) -> Reply {
    pop_generic(e, c, false)
}

fn pop_generic(e: &mut Engine, c: &Call, front: bool) -> Reply {
    if c.argv.len() > 3 {
        return Reply::error_owned(error::wrong_arity(c.spec.name));
    }
    let count = match c.argv.get(2) {
        Some(a) => Some(tri!(non_negative(a, error::VALUE_MUST_BE_POSITIVE))),
        None => None,
    };
    let key = c.argv[1];
    let Some(l) = tri!(list_of(e.write(c.db, key))) else {
        // Since 7.0 a missing key answers a counted pop with a null array.
        return if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        };
    };
    let reply = match count {
        Some(0) => return Reply::Array(Vec::new()),
        None => match l.pop(front) {
            Some(v) => Reply::Bulk(v),
            None => return Reply::Nil,
        },
        Some(n) => Reply::Array(pop_many(l, n as usize, front)),
    };
    let emptied = l.is_empty();
    elements_removed(e, c.db, key, front, emptied);
    reply
}

/// LMPOP's and BLMPOP's arguments after the numkeys position.
struct MultiPop<'a> {
    keys: &'a [&'a [u8]],
    front: bool,
    /// How many elements to pop at most (COUNT, 1 by default).
    count: usize,
}

/// Redis's `lmpopGenericCommand` parsing: numkeys, then the side, then COUNT.
fn parse_multi_pop<'a>(argv: &'a [&'a [u8]], numkeys_at: usize) -> Result<MultiPop<'a>, Reply> {
    let numkeys = match crate::numfmt::parse_i64(argv[numkeys_at]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Reply::error(error::NUMKEYS_NOT_POSITIVE)),
    };
    let side_at = (numkeys_at as u64)
        .checked_add(numkeys)
        .and_then(|v| v.checked_add(1))
        .filter(|&v| v < argv.len() as u64)
        .ok_or_else(|| Reply::error(error::SYNTAX))? as usize;
    let front = parse_side(argv[side_at])?;
    let mut count = None;
    let mut j = side_at + 1;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if count.is_none() && is(argv[j], "count") && more {
            j += 1;
            count = match crate::numfmt::parse_i64(argv[j]) {
                Some(n) if n >= 1 => Some(n as usize),
                _ => return Err(Reply::error(error::COUNT_NOT_POSITIVE)),
            };
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        j += 1;
    }
    Ok(MultiPop {
        keys: &argv[numkeys_at + 1..side_at],
        front,
        count: count.unwrap_or(1),
    })
}

fn lmpop(e: &mut Engine, c: &Call) -> Reply {
    let mp = tri!(parse_multi_pop(c.argv, 1));
    for &key in mp.keys {
        let Some(l) = tri!(list_of(e.write(c.db, key))) else {
            continue;
        };
        if l.is_empty() {
            continue;
        }
        let items = pop_many(l, mp.count, mp.front);
        let emptied = l.is_empty();
        elements_removed(e, c.db, key, mp.front, emptied);
        return Reply::Array(vec![Reply::bulk(key), Reply::Array(items)]);
    }
    Reply::NilArray
}

// ---- Reads ----

fn llen(e: &mut Engine, c: &Call) -> Reply {
    match tri!(list_of(e.read(c.db, c.argv[1]))) {
        Some(l) => Reply::Integer(l.len() as i64),
        None => Reply::Integer(0),
    }
}

/// The elements between two Redis indexes, both inclusive (Redis's `addListRangeReply`).
fn range_reply(l: &List, start: i64, end: i64) -> Reply {
    let len = l.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return Reply::Array(Vec::new());
    }
    let end = end.min(len - 1);
    let n = (end - start + 1) as usize;
    Reply::Array(
        l.iter_from(start as usize)
            .take(n)
            .map(|v| Reply::Bulk(v.to_vec()))
            .collect(),
    )
}

fn lrange(e: &mut Engine, c: &Call) -> Reply {
    let start = tri!(int(c.argv[2]));
    let end = tri!(int(c.argv[3]));
    match tri!(list_of(e.read(c.db, c.argv[1]))) {
        Some(l) => range_reply(l, start, end),
        None => Reply::Array(Vec::new()),
    }
}

fn lindex(e: &mut Engine, c: &Call) -> Reply {
    let Some(l) = tri!(list_of(e.read(c.db, c.argv[1]))) else {
        return Reply::Nil;
    };
    let index = tri!(int(c.argv[2]));
    Reply::bulk_opt(l.get(index))
}

fn lpos(e: &mut Engine, c: &Call) -> Reply {
    let needle = Needle::new(c.argv[2]);
    let mut rank: i64 = 1;
    // -1: no COUNT option, a single index (or nil) is the answer.
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    let argc = c.argv.len();
    let mut j = 3;
    while j < argc {
        let opt = c.argv[j];
        let more = j + 1 < argc;
        if is(opt, "rank") && more {
            j += 1;
            rank = tri!(int(c.argv[j]));
            if rank == 0 {
                return Reply::error(error::LPOS_RANK_ZERO);
            }
        } else if is(opt, "count") && more {
            j += 1;
            count = tri!(non_negative(c.argv[j], error::LPOS_COUNT_NEGATIVE));
        } else if is(opt, "maxlen") && more {
            j += 1;
            maxlen = tri!(non_negative(c.argv[j], error::LPOS_MAXLEN_NEGATIVE));
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    let from_tail = rank < 0;
    if from_tail {
        // Redis negates in C `long`; the most negative rank stays negative, so that every
        // match then counts as reaching it.
        rank = rank.wrapping_neg();
    }
    let Some(l) = tri!(list_of(e.read(c.db, c.argv[1]))) else {
        return if count != -1 {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        };
    };
    let len = l.len() as i64;
    let elems: Box<dyn Iterator<Item = _>> = if from_tail {
        Box::new(l.iter_rev())
    } else {
        Box::new(l.iter())
    };
    let mut found = Vec::new();
    let mut matches: i64 = 0;
    for (index, elem) in (0i64..).zip(elems) {
        if maxlen != 0 && index >= maxlen {
            break;
        }
        if !elem.matches(&needle) {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(if from_tail { len - index - 1 } else { index });
        if count == -1 || (count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count) {
            break;
        }
    }
    if count != -1 {
        Reply::Array(found.into_iter().map(Reply::Integer).collect())
    } else {
        found.first().map_or(Reply::Nil, |&i| Reply::Integer(i))
    }
}

// ---- In-place changes ----

fn lset(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let Some(l) = tri!(list_of(e.write(c.db, key))) else {
        return Reply::error(error::NO_SUCH_KEY);
    };
    let index = tri!(int(c.argv[2]));
    if !l.set(index, c.argv[3]) {
        return Reply::error(error::OUT_OF_RANGE);
    }
    e.notify(c.db, key, "lset");
    Reply::OK
}

fn linsert(e: &mut Engine, c: &Call) -> Reply {
    let after = if is(c.argv[2], "after") {
        true
    } else if is(c.argv[2], "before") {
        false
    } else {
        return Reply::error(error::SYNTAX);
    };
    let key = c.argv[1];
    let Some(l) = tri!(list_of(e.write(c.db, key))) else {
        return Reply::Integer(0);
    };
    if !l.insert_at_pivot(c.argv[3], c.argv[4], after) {
        return Reply::Integer(-1);
    }
    let len = l.len();
    e.notify(c.db, key, "linsert");
    Reply::Integer(len as i64)
}

fn lrem(e: &mut Engine, c: &Call) -> Reply {
    let count = tri!(int(c.argv[2]));
    let key = c.argv[1];
    let Some(l) = tri!(list_of(e.write(c.db, key))) else {
        return Reply::Integer(0);
    };
    let removed = l.remove(c.argv[3], count.unsigned_abs() as usize, count < 0);
    let emptied = l.is_empty();
    if removed > 0 {
        e.notify(c.db, key, "lrem");
    }
    delete_if_emptied(e, c.db, key, emptied);
    Reply::Integer(removed as i64)
}

fn ltrim(e: &mut Engine, c: &Call) -> Reply {
    let start = tri!(int(c.argv[2]));
    let end = tri!(int(c.argv[3]));
    let key = c.argv[1];
    let Some(l) = tri!(list_of(e.write(c.db, key))) else {
        return Reply::OK;
    };
    let len = l.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    let (from_head, from_tail) = if start > end || start >= len {
        (len, 0)
    } else {
        (start, len - end.min(len - 1) - 1)
    };
    l.trim(from_head as usize, from_tail as usize);
    let emptied = l.is_empty();
    e.notify(c.db, key, "ltrim");
    delete_if_emptied(e, c.db, key, emptied);
    Reply::OK
}

// ---- Moves ----

fn lmove(e: &mut Engine, c: &Call) -> Reply {
    let from_front = tri!(parse_side(c.argv[3]));
    let to_front = tri!(parse_side(c.argv[4]));
    move_generic(e, c, from_front, to_front)
}

fn rpoplpush(e: &mut Engine, c: &Call) -> Reply {
    move_generic(e, c, false, true)
}

/// Redis's `lmoveGenericCommand`: nil when the source is missing; WRONGTYPE when either key
/// holds something else; otherwise pop, push, and the events `lpush`/`rpush` on the
/// destination, then `lpop`/`rpop` (and `del` if emptied) on the source.
fn move_generic(e: &mut Engine, c: &Call, from_front: bool, to_front: bool) -> Reply {
    let (src, dst) = (c.argv[1], c.argv[2]);
    match tri!(list_of(e.write(c.db, src))) {
        Some(l) if !l.is_empty() => {}
        _ => return Reply::Nil,
    }
    let dst_exists = tri!(list_of(e.write(c.db, dst))).is_some();
    let Some(value) = raw_list(e, c.db, src).and_then(|l| l.pop(from_front)) else {
        return Reply::Nil;
    };
    if !dst_exists {
        let l = new_list(e);
        e.add_value(c.db, dst, Value::List(Box::new(l)));
    }
    if let Some(l) = raw_list(e, c.db, dst) {
        l.push(&value, to_front);
    }
    e.notify(c.db, dst, if to_front { "lpush" } else { "rpush" });
    // Checked after the push: with the source as destination the list is never emptied.
    let emptied = raw_list(e, c.db, src).is_some_and(|l| l.is_empty());
    elements_removed(e, c.db, src, from_front, emptied);
    Reply::Bulk(value)
}

// ---- Blocking variants ----

fn blpop(e: &mut Engine, c: &Call) -> Reply {
    blocking_pop_plain(e, c, true)
}

fn brpop(e: &mut Engine, c: &Call) -> Reply {
    blocking_pop_plain(e, c, false)
}

fn blocking_pop_plain(e: &mut Engine, c: &Call, front: bool) -> Reply {
    let last = c.argv.len() - 1;
    let deadline = tri!(parse_timeout(c.argv[last], c.now, TimeoutUnit::Seconds));
    blocking_pop(e, c, &c.argv[1..last], front, None, deadline)
}

fn blmpop(e: &mut Engine, c: &Call) -> Reply {
    let mp = tri!(parse_multi_pop(c.argv, 2));
    let deadline = tri!(parse_timeout(c.argv[1], c.now, TimeoutUnit::Seconds));
    blocking_pop(e, c, mp.keys, mp.front, Some(mp.count), deadline)
}

/// Redis's `blockingPopGenericCommand`: serves from the first non-empty list among `keys`
/// (a key of another type before it is a WRONGTYPE error), or blocks. `count` is BLMPOP's:
/// its reply is `[key, [elements]]` instead of `[key, element]`.
fn blocking_pop(
    e: &mut Engine,
    c: &Call,
    keys: &[&[u8]],
    front: bool,
    count: Option<usize>,
    deadline: Option<i64>,
) -> Reply {
    let serving = e.serving_key(c.client).map(|k| k.to_vec());
    for &key in keys {
        if serving.as_deref().is_some_and(|s| s != key) {
            continue;
        }
        let Some(l) = tri!(list_of(e.write(c.db, key))) else {
            continue;
        };
        if l.is_empty() {
            continue;
        }
        let reply = match count {
            Some(n) => Reply::Array(vec![Reply::bulk(key), Reply::Array(pop_many(l, n, front))]),
            None => match l.pop(front) {
                Some(v) => Reply::Array(vec![Reply::bulk(key), Reply::Bulk(v)]),
                None => continue,
            },
        };
        let emptied = l.is_empty();
        elements_removed(e, c.db, key, front, emptied);
        return reply;
    }
    if !e.may_block(c.client) {
        return Reply::NilArray;
    }
    let keys = keys.iter().map(|k| k.to_vec()).collect();
    e.block_on_keys(c.client, c.db, keys, deadline, c.argv, Reply::NilArray)
}

fn blmove(e: &mut Engine, c: &Call) -> Reply {
    let from_front = tri!(parse_side(c.argv[3]));
    let to_front = tri!(parse_side(c.argv[4]));
    let deadline = tri!(parse_timeout(c.argv[5], c.now, TimeoutUnit::Seconds));
    blocking_move(e, c, from_front, to_front, deadline)
}

fn brpoplpush(e: &mut Engine, c: &Call) -> Reply {
    let deadline = tri!(parse_timeout(c.argv[3], c.now, TimeoutUnit::Seconds));
    blocking_move(e, c, false, true, deadline)
}

/// Redis's `blmoveGenericCommand`: a missing source blocks (the destination's type is only
/// checked once there is something to move); otherwise it is LMOVE.
fn blocking_move(
    e: &mut Engine,
    c: &Call,
    from_front: bool,
    to_front: bool,
    deadline: Option<i64>,
) -> Reply {
    let src = c.argv[1];
    if tri!(list_of(e.write(c.db, src))).is_some() {
        return move_generic(e, c, from_front, to_front);
    }
    if !e.may_block(c.client) {
        return Reply::Nil;
    }
    e.block_on_keys(
        c.client,
        c.db,
        vec![src.to_vec()],
        deadline,
        c.argv,
        Reply::Nil,
    )
}

#[cfg(test)]
mod tests {
    use crate::{ClientId, Config, Engine, Event, Reply};

    fn engine() -> Engine {
        Engine::new(Config::default())
    }

    fn pair(key: &str, value: &str) -> Reply {
        Reply::Array(vec![Reply::bulk(key), Reply::bulk(value)])
    }

    fn blocked_events(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|ev| match ev {
                Event::ClientBlocked {
                    client, deadline, ..
                } => Some(format!("blocked {client} {deadline:?}")),
                Event::ClientUnblocked { client, timed_out } => {
                    Some(format!("unblocked {client} timed_out={timed_out}"))
                }
                _ => None,
            })
            .collect()
    }

    fn keyspace_ops(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|ev| match ev {
                Event::Keyspace { key, op, .. } => {
                    Some(format!("{} {op}", String::from_utf8_lossy(key)))
                }
                _ => None,
            })
            .collect()
    }

    fn clients(e: &mut Engine, n: usize) -> Vec<ClientId> {
        (0..n).map(|_| e.connect(0)).collect()
    }

    #[test]
    fn blpop_waits_for_a_push_from_another_client() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        let (a, b) = (c[0], c[1]);
        e.drain_events();
        assert_eq!(e.run(a, &["BLPOP", "q", "5"], 0), Reply::Blocked);
        assert!(e.is_blocked(a));
        assert!(e.take_output(a).is_empty());
        assert_eq!(e.run(b, &["LPUSH", "q", "x"], 1000), Reply::Integer(1));
        assert!(!e.is_blocked(a));
        assert_eq!(e.take_output(a), vec![pair("q", "x")]);
        assert!(e.take_output(b).is_empty());
        // The element went to the waiting client: the list is gone again.
        assert_eq!(e.run(b, &["EXISTS", "q"], 1000), Reply::Integer(0));
        let events = e.drain_events();
        assert_eq!(
            blocked_events(&events),
            vec![
                format!("blocked {a} Some(5000)"),
                format!("unblocked {a} timed_out=false")
            ]
        );
        assert_eq!(keyspace_ops(&events), vec!["q lpush", "q lpop", "q del"]);
        // The client can send commands again.
        assert_eq!(e.run(a, &["LLEN", "q"], 1000), Reply::Integer(0));
    }

    #[test]
    fn blpop_times_out_only_after_its_deadline() {
        let mut e = engine();
        let a = e.connect(0);
        assert_eq!(e.run(a, &["BLPOP", "q", "5"], 0), Reply::Blocked);
        e.drain_events();
        e.advance(5000);
        assert!(e.is_blocked(a));
        assert!(e.take_output(a).is_empty());
        e.advance(5001);
        assert!(!e.is_blocked(a));
        assert_eq!(e.take_output(a), vec![Reply::NilArray]);
        assert_eq!(
            blocked_events(&e.drain_events()),
            vec![format!("unblocked {a} timed_out=true")]
        );
        // Nothing is left waiting: a later push stays in the list.
        assert_eq!(e.run(a, &["RPUSH", "q", "x"], 6000), Reply::Integer(1));
        assert!(e.take_output(a).is_empty());
    }

    #[test]
    fn timeout_replies_are_nil_for_moves_and_nil_arrays_for_pops() {
        let mut e = engine();
        let c = clients(&mut e, 4);
        assert_eq!(e.run(c[0], &["BRPOP", "q", "1"], 0), Reply::Blocked);
        assert_eq!(
            e.run(c[1], &["BLMPOP", "1", "1", "q", "LEFT"], 0),
            Reply::Blocked
        );
        assert_eq!(
            e.run(c[2], &["BLMOVE", "q", "d", "LEFT", "LEFT", "1"], 0),
            Reply::Blocked
        );
        assert_eq!(
            e.run(c[3], &["BRPOPLPUSH", "q", "d", "1"], 0),
            Reply::Blocked
        );
        e.advance(1001);
        assert_eq!(e.take_output(c[0]), vec![Reply::NilArray]);
        assert_eq!(e.take_output(c[1]), vec![Reply::NilArray]);
        assert_eq!(e.take_output(c[2]), vec![Reply::Nil]);
        assert_eq!(e.take_output(c[3]), vec![Reply::Nil]);
    }

    #[test]
    fn a_deadline_passed_before_the_next_command_is_met_first() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        assert_eq!(e.run(c[0], &["BLPOP", "q", "1"], 0), Reply::Blocked);
        // No advance in between: the push at 5000 comes after the deadline at 1000.
        assert_eq!(e.run(c[1], &["RPUSH", "q", "x"], 5000), Reply::Integer(1));
        assert_eq!(e.take_output(c[0]), vec![Reply::NilArray]);
        assert_eq!(e.run(c[1], &["LLEN", "q"], 5000), Reply::Integer(1));
    }

    #[test]
    fn clients_are_served_in_the_order_they_blocked() {
        let mut e = engine();
        let c = clients(&mut e, 4);
        assert_eq!(e.run(c[0], &["BLPOP", "q", "0"], 0), Reply::Blocked);
        assert_eq!(
            e.run(c[1], &["BRPOP", "other", "q", "0"], 1),
            Reply::Blocked
        );
        assert_eq!(e.run(c[2], &["BLPOP", "q", "0"], 2), Reply::Blocked);
        // One element: only the first waiter gets it.
        assert_eq!(e.run(c[3], &["RPUSH", "q", "a"], 10), Reply::Integer(1));
        assert_eq!(e.take_output(c[0]), vec![pair("q", "a")]);
        assert!(e.is_blocked(c[1]) && e.is_blocked(c[2]));
        // Two elements: the next two waiters, each from its own end.
        assert_eq!(
            e.run(c[3], &["RPUSH", "q", "b", "c"], 20),
            Reply::Integer(2)
        );
        assert_eq!(e.take_output(c[1]), vec![pair("q", "c")]);
        assert_eq!(e.take_output(c[2]), vec![pair("q", "b")]);
        assert_eq!(e.run(c[3], &["EXISTS", "q"], 20), Reply::Integer(0));
    }

    #[test]
    fn a_push_serves_at_most_as_many_clients_as_elements() {
        let mut e = engine();
        let c = clients(&mut e, 3);
        assert_eq!(e.run(c[0], &["BLPOP", "q", "0"], 0), Reply::Blocked);
        assert_eq!(
            e.run(c[1], &["BLMPOP", "0", "1", "q", "LEFT", "COUNT", "5"], 0),
            Reply::Blocked
        );
        assert_eq!(
            e.run(c[2], &["RPUSH", "q", "a", "b", "c"], 5),
            Reply::Integer(3)
        );
        assert_eq!(e.take_output(c[0]), vec![pair("q", "a")]);
        assert_eq!(
            e.take_output(c[1]),
            vec![Reply::Array(vec![
                Reply::bulk("q"),
                Reply::Array(vec![Reply::bulk("b"), Reply::bulk("c")])
            ])]
        );
    }

    #[test]
    fn blmove_feeds_a_client_blocked_on_its_destination() {
        let mut e = engine();
        let c = clients(&mut e, 3);
        assert_eq!(
            e.run(c[0], &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"], 0),
            Reply::Blocked
        );
        assert_eq!(e.run(c[1], &["BLPOP", "dst", "0"], 0), Reply::Blocked);
        e.drain_events();
        assert_eq!(e.run(c[2], &["RPUSH", "src", "v"], 100), Reply::Integer(1));
        assert_eq!(e.take_output(c[0]), vec![Reply::bulk("v")]);
        assert_eq!(e.take_output(c[1]), vec![pair("dst", "v")]);
        assert_eq!(
            e.run(c[2], &["EXISTS", "src", "dst"], 100),
            Reply::Integer(0)
        );
        assert_eq!(
            keyspace_ops(&e.drain_events()),
            vec![
                "src rpush",
                "dst rpush",
                "src lpop",
                "src del",
                "dst lpop",
                "dst del"
            ]
        );
    }

    #[test]
    fn a_client_that_disconnects_while_blocked_is_forgotten() {
        let mut e = engine();
        let c = clients(&mut e, 3);
        assert_eq!(e.run(c[0], &["BLPOP", "q", "0"], 0), Reply::Blocked);
        assert_eq!(e.run(c[1], &["BLPOP", "q", "0"], 0), Reply::Blocked);
        e.disconnect(c[0]);
        assert_eq!(
            e.run(c[2], &["RPUSH", "q", "x", "y"], 10),
            Reply::Integer(2)
        );
        assert_eq!(e.take_output(c[1]), vec![pair("q", "x")]);
        assert_eq!(
            e.run(c[2], &["LRANGE", "q", "0", "-1"], 10),
            Reply::bulks(["y"])
        );
        e.disconnect(c[1]);
        assert!(e.blocked.by_key.is_empty());
        assert_eq!(e.run(c[2], &["BLPOP", "gone", "1"], 10), Reply::Blocked);
        e.disconnect(c[2]);
        e.advance(5000);
        assert!(e.blocked.by_key.is_empty());
    }

    #[test]
    fn a_key_of_another_type_does_not_wake_a_list_waiter() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        assert_eq!(e.run(c[0], &["BLPOP", "q", "0"], 0), Reply::Blocked);
        assert_eq!(e.run(c[1], &["SET", "q", "str"], 1), Reply::OK);
        assert!(e.is_blocked(c[0]));
        assert!(e.take_output(c[0]).is_empty());
        assert_eq!(e.run(c[1], &["DEL", "q"], 2), Reply::Integer(1));
        assert_eq!(e.run(c[1], &["LPUSH", "q", "x"], 3), Reply::Integer(1));
        assert_eq!(e.take_output(c[0]), vec![pair("q", "x")]);
    }

    #[test]
    fn a_woken_client_pops_from_the_key_that_became_ready() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        assert_eq!(e.run(c[0], &["BLPOP", "s", "q", "0"], 0), Reply::Blocked);
        assert_eq!(e.run(c[1], &["SET", "s", "str"], 1), Reply::OK);
        assert_eq!(e.run(c[1], &["RPUSH", "q", "x"], 2), Reply::Integer(1));
        assert_eq!(e.take_output(c[0]), vec![pair("q", "x")]);
    }

    #[test]
    fn blmove_into_a_key_of_another_type_fails_when_served() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        assert_eq!(
            e.run(c[0], &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"], 0),
            Reply::Blocked
        );
        assert_eq!(e.run(c[1], &["SET", "dst", "str"], 1), Reply::OK);
        assert!(e.is_blocked(c[0]));
        assert_eq!(e.run(c[1], &["RPUSH", "src", "x"], 2), Reply::Integer(1));
        assert_eq!(
            e.take_output(c[0]),
            vec![Reply::error(crate::error::WRONGTYPE)]
        );
        assert_eq!(e.run(c[1], &["LLEN", "src"], 2), Reply::Integer(1));
    }

    #[test]
    fn a_blocked_client_cannot_run_commands() {
        let mut e = engine();
        let a = e.connect(0);
        assert_eq!(e.run(a, &["BLPOP", "q", "0"], 0), Reply::Blocked);
        assert!(e.run(a, &["PING"], 1).is_error());
        assert!(e.is_blocked(a));
    }

    #[test]
    fn blocking_with_data_answers_at_once() {
        let mut e = engine();
        let a = e.connect(0);
        e.run(a, &["RPUSH", "b", "1", "2"], 0);
        assert_eq!(e.run(a, &["BLPOP", "a", "b", "0"], 0), pair("b", "1"));
        assert_eq!(
            e.run(a, &["BRPOPLPUSH", "b", "c", "0"], 0),
            Reply::bulk("2")
        );
        assert_eq!(e.run(a, &["EXISTS", "b"], 0), Reply::Integer(0));
        assert!(e
            .drain_events()
            .iter()
            .all(|ev| !matches!(ev, Event::ClientBlocked { .. })));
    }

    #[test]
    fn duplicate_keys_are_waited_on_once() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        e.drain_events();
        assert_eq!(
            e.run(c[0], &["BLPOP", "q", "q", "r", "0"], 0),
            Reply::Blocked
        );
        let keys = e.drain_events().into_iter().find_map(|ev| match ev {
            Event::ClientBlocked { keys, deadline, .. } => Some((keys, deadline)),
            _ => None,
        });
        assert_eq!(keys, Some((vec![b"q".to_vec(), b"r".to_vec()], None)));
        assert_eq!(e.run(c[1], &["RPUSH", "r", "x"], 1), Reply::Integer(1));
        assert_eq!(e.take_output(c[0]), vec![pair("r", "x")]);
    }

    #[test]
    fn timeouts_are_read_as_redis_reads_them() {
        use crate::blocking::{parse_timeout, TimeoutUnit::Seconds};
        let t = |s: &str| parse_timeout(s.as_bytes(), 1000, Seconds);
        let neg = Err(Reply::error(crate::error::TIMEOUT_NEGATIVE));
        let bad = Err(Reply::error(crate::error::TIMEOUT_NOT_FLOAT));
        assert_eq!(t("0"), Ok(None));
        assert_eq!(t("0.0"), Ok(None));
        assert_eq!(t("-0"), Ok(None));
        assert_eq!(t("5"), Ok(Some(6000)));
        assert_eq!(t("1.5"), Ok(Some(2500)));
        assert_eq!(t("0.001"), Ok(Some(1001)));
        assert_eq!(t("0.0001"), Ok(Some(1001)));
        assert_eq!(t("1e-400"), Ok(Some(1001)));
        assert_eq!(t(".5"), Ok(Some(1500)));
        assert_eq!(t("1e3"), Ok(Some(1_001_000)));
        assert_eq!(t("0x10"), Ok(Some(17000)));
        // Long double lands just below 1 ms for 0.001 seconds, so ceil gives -0: forever.
        assert_eq!(t("-0.001"), Ok(None));
        assert_eq!(t("-0.0005"), Ok(None));
        assert_eq!(t("-0.002"), neg);
        assert_eq!(t("-1"), neg);
        assert_eq!(t("inf"), neg);
        assert_eq!(t("-inf"), neg);
        assert_eq!(t("1e400"), neg);
        assert_eq!(t("9223372036854776"), neg);
        assert_eq!(
            parse_timeout(b"9223372036854775", 0, Seconds),
            Ok(Some(9_223_372_036_854_775_000))
        );
        assert_eq!(t("1e5000"), bad);
        assert_eq!(t("1e-5000"), bad);
        assert_eq!(t("nan"), bad);
        assert_eq!(t("abc"), bad);
        assert_eq!(t(""), bad);
        assert_eq!(t(" 1"), bad);
        assert_eq!(t("1 "), bad);
        assert_eq!(t("0x"), bad);
        // A deadline past the end of time never comes.
        assert_eq!(t("9223372036854775"), Ok(None));
        let ms =
            |s: &str| parse_timeout(s.as_bytes(), 0, crate::blocking::TimeoutUnit::Milliseconds);
        assert_eq!(ms("1500"), Ok(Some(1500)));
        assert_eq!(
            ms("1.5"),
            Err(Reply::error(crate::error::TIMEOUT_NOT_INTEGER))
        );
    }

    #[test]
    fn a_forever_wait_ignores_time() {
        let mut e = engine();
        let c = clients(&mut e, 2);
        assert_eq!(e.run(c[0], &["BLPOP", "q", "-0.001"], 0), Reply::Blocked);
        e.advance(10_000_000);
        assert!(e.is_blocked(c[0]));
        assert_eq!(
            e.run(c[1], &["LPUSH", "q", "late"], 10_000_001),
            Reply::Integer(1)
        );
        assert_eq!(e.take_output(c[0]), vec![pair("q", "late")]);
    }

    #[test]
    fn lmove_events_follow_redis() {
        let mut e = engine();
        let a = e.connect(0);
        e.run(a, &["RPUSH", "s", "x"], 0);
        e.drain_events();
        assert_eq!(
            e.run(a, &["LMOVE", "s", "d", "RIGHT", "LEFT"], 0),
            Reply::bulk("x")
        );
        assert_eq!(
            keyspace_ops(&e.drain_events()),
            vec!["d lpush", "s rpop", "s del"]
        );
        e.run(a, &["RPUSH", "l", "a", "b", "a"], 0);
        e.drain_events();
        assert_eq!(e.run(a, &["LREM", "l", "0", "zz"], 0), Reply::Integer(0));
        assert_eq!(e.run(a, &["LTRIM", "l", "0", "-1"], 0), Reply::OK);
        assert_eq!(e.run(a, &["LREM", "l", "0", "a"], 0), Reply::Integer(2));
        assert_eq!(e.run(a, &["LSET", "l", "0", "c"], 0), Reply::OK);
        assert_eq!(
            e.run(a, &["LINSERT", "l", "BEFORE", "c", "z"], 0),
            Reply::Integer(2)
        );
        assert_eq!(e.run(a, &["LTRIM", "l", "5", "6"], 0), Reply::OK);
        assert_eq!(
            keyspace_ops(&e.drain_events()),
            vec![
                "l ltrim",
                "l lrem",
                "l lset",
                "l linsert",
                "l ltrim",
                "l del"
            ]
        );
    }

    #[test]
    fn lists_are_quicklists_of_any_size() {
        let mut e = engine();
        let a = e.connect(0);
        e.config_mut().list_max_listpack_size = 4;
        for i in 0..100 {
            e.run(a, &["RPUSH", "l", &i.to_string()], 0);
        }
        assert_eq!(
            e.run(a, &["OBJECT", "ENCODING", "l"], 0),
            Reply::bulk("quicklist")
        );
        assert_eq!(e.run(a, &["LINDEX", "l", "57"], 0), Reply::bulk("57"));
        assert_eq!(e.run(a, &["LINDEX", "l", "-1"], 0), Reply::bulk("99"));
        assert_eq!(
            e.run(a, &["LRANGE", "l", "48", "51"], 0),
            Reply::bulks(["48", "49", "50", "51"])
        );
        assert_eq!(e.run(a, &["LPOS", "l", "77"], 0), Reply::Integer(77));
        assert!(!e
            .drain_events()
            .iter()
            .any(|ev| matches!(ev, Event::EncodingChanged { .. })));
    }
}
