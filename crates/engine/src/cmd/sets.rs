//! Set commands: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SMOVE SINTER
//! SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN.
//!
//! The algebra follows `t_set.c`: an intersection walks the smallest set and probes the others
//! (so its reply comes in that set's order), a union or difference is built into a fresh set
//! that starts as an intset and is then walked for the reply (so a result made only of integers
//! comes back sorted, as on Redis). SPOP and SRANDMEMBER choose between Redis's strategies by
//! the same size ratios, drawing only from the engine's generator.

use crate::args::{int, int_or, non_negative};
use crate::cmd::hashes::encoding_event;
use crate::cmd::random_pick;
use crate::cmd::scan::{self, is_word};
use crate::db::Db;
use crate::keyspace::Lookup;
use crate::object::Value;
use crate::table::CommandSpec;
use crate::types::set::{Elem, Set, SetLimits};
use crate::{error, flags, tri, Call, Engine, Reply};

const fn spec(
    name: &'static str,
    arity: i32,
    flags: crate::table::Flags,
    since: &'static str,
    summary: &'static str,
    syntax: &'static str,
    handler: crate::table::Handler,
) -> CommandSpec {
    CommandSpec::leaf(
        name,
        arity,
        flags,
        (1, 1, 1),
        "set",
        since,
        summary,
        syntax,
        handler,
    )
}

/// The algebra commands take any number of keys.
const fn all_keys(spec: CommandSpec) -> CommandSpec {
    CommandSpec {
        keys: (1, -1, 1),
        ..spec
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "sadd",
        -3,
        flags!(WRITE, DENYOOM, FAST),
        "1.0.0",
        "Adds members to a set; returns how many were new.",
        "key member [member ...]",
        sadd,
    ),
    spec(
        "srem",
        -3,
        flags!(WRITE, FAST),
        "1.0.0",
        "Removes members from a set; the key goes when its last member does.",
        "key member [member ...]",
        srem,
    ),
    spec(
        "sismember",
        3,
        flags!(READONLY, FAST),
        "1.0.0",
        "Tells whether a value is a member of a set.",
        "key member",
        sismember,
    ),
    spec(
        "smismember",
        -3,
        flags!(READONLY, FAST),
        "6.2.0",
        "Tells, for each given value, whether it is a member of a set.",
        "key member [member ...]",
        smismember,
    ),
    spec(
        "smembers",
        2,
        flags!(READONLY),
        "1.0.0",
        "Returns every member of a set.",
        "key",
        smembers,
    ),
    spec(
        "scard",
        2,
        flags!(READONLY, FAST),
        "1.0.0",
        "Counts the members of a set.",
        "key",
        scard,
    ),
    spec(
        "spop",
        -2,
        flags!(WRITE, FAST),
        "1.0.0",
        "Removes and returns random members of a set.",
        "key [count]",
        spop,
    ),
    spec(
        "srandmember",
        -2,
        flags!(READONLY),
        "1.0.0",
        "Returns random members of a set: distinct ones for a positive count, repeats allowed for a negative one.",
        "key [count]",
        srandmember,
    ),
    CommandSpec {
        keys: (1, 2, 1),
        ..spec(
            "smove",
            4,
            flags!(WRITE, FAST),
            "1.0.0",
            "Moves a member from one set to another.",
            "source destination member",
            smove,
        )
    },
    all_keys(spec(
        "sinter",
        -2,
        flags!(READONLY),
        "1.0.0",
        "Returns the members present in every given set.",
        "key [key ...]",
        sinter,
    )),
    CommandSpec {
        keys: (0, 0, 0),
        ..spec(
            "sintercard",
            -3,
            flags!(READONLY),
            "7.0.0",
            "Counts the members present in every given set, optionally stopping at a limit.",
            "numkeys key [key ...] [LIMIT limit]",
            sintercard,
        )
    },
    all_keys(spec(
        "sunion",
        -2,
        flags!(READONLY),
        "1.0.0",
        "Returns the members present in any of the given sets.",
        "key [key ...]",
        sunion,
    )),
    all_keys(spec(
        "sdiff",
        -2,
        flags!(READONLY),
        "1.0.0",
        "Returns the members of the first set that are in none of the others.",
        "key [key ...]",
        sdiff,
    )),
    all_keys(spec(
        "sinterstore",
        -3,
        flags!(WRITE, DENYOOM),
        "1.0.0",
        "Stores the intersection of sets in a key, replacing it; returns its size.",
        "destination key [key ...]",
        sinterstore,
    )),
    all_keys(spec(
        "sunionstore",
        -3,
        flags!(WRITE, DENYOOM),
        "1.0.0",
        "Stores the union of sets in a key, replacing it; returns its size.",
        "destination key [key ...]",
        sunionstore,
    )),
    all_keys(spec(
        "sdiffstore",
        -3,
        flags!(WRITE, DENYOOM),
        "1.0.0",
        "Stores the difference of the first set and the others in a key, replacing it; returns its size.",
        "destination key [key ...]",
        sdiffstore,
    )),
    spec(
        "sscan",
        -3,
        flags!(READONLY),
        "2.8.0",
        "Walks a set's members a few at a time from a cursor.",
        "key cursor [MATCH pattern] [COUNT count]",
        sscan,
    ),
];

/// The set under a live key: Ok(None) when missing, WRONGTYPE when it holds something else.
fn lookup_set<'e>(
    e: &'e mut Engine,
    db: usize,
    key: &[u8],
    mode: Lookup,
) -> Result<Option<&'e mut Set>, Reply> {
    match e.lookup(db, key, mode) {
        None => Ok(None),
        Some(entry) => match &mut entry.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

/// What a lookup found under a key, without holding on to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    Missing,
    Set,
    Other,
}

fn probe(e: &mut Engine, db: usize, key: &[u8], mode: Lookup) -> Found {
    match lookup_set(e, db, key, mode) {
        Ok(None) => Found::Missing,
        Ok(Some(_)) => Found::Set,
        Err(_) => Found::Other,
    }
}

/// The set under `key` once a lookup has established that there is one.
fn stored<'d>(db: &'d Db, key: &[u8]) -> Option<&'d Set> {
    match db.keys.get(key).map(|en| &en.value) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

fn stored_mut<'d>(db: &'d mut Db, key: &[u8]) -> Option<&'d mut Set> {
    match db.keys.get_mut(key).map(|en| &mut en.value) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

/// Looks up every key for a read, in order, as Redis's multi-key set commands do: each lookup
/// applies lazy expiry and counts a hit or miss, and the first key of another type is an error.
/// Returns whether each key holds a set.
fn probe_all(e: &mut Engine, db: usize, keys: &[&[u8]]) -> Result<Vec<bool>, Reply> {
    let mut present = Vec::with_capacity(keys.len());
    for &k in keys {
        match probe(e, db, k, Lookup::Read) {
            Found::Missing => present.push(false),
            Found::Set => present.push(true),
            Found::Other => return Err(Reply::error(error::WRONGTYPE)),
        }
    }
    Ok(present)
}

fn bulk(m: Elem<'_>) -> Reply {
    Reply::Bulk(m.to_vec())
}

fn sadd(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let lim = SetLimits::from_config(&e.config);
    if tri!(lookup_set(e, c.db, key, Lookup::Write)).is_none() {
        e.add_value(c.db, key, Value::Set(Set::for_member(c.argv[2], &lim)));
    }
    let Some(s) = stored_mut(&mut e.dbs[c.db], key) else {
        unreachable!("the set was just found or created")
    };
    let before = s.encoding();
    let mut added = 0;
    for m in &c.argv[2..] {
        if s.add(m, &lim) {
            added += 1;
        }
    }
    let after = s.encoding();
    encoding_event(e, c.db, key, before, after);
    if added > 0 {
        e.notify(c.db, key, "sadd");
    }
    Reply::Integer(added)
}

fn srem(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let Some(s) = tri!(lookup_set(e, c.db, key, Lookup::Write)) else {
        return Reply::Integer(0);
    };
    let mut deleted = 0;
    let mut emptied = false;
    for m in &c.argv[2..] {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        e.dbs[c.db].remove(key);
    }
    if deleted > 0 {
        e.notify(c.db, key, "srem");
        if emptied {
            e.notify(c.db, key, "del");
        }
    }
    Reply::Integer(deleted)
}

fn sismember(e: &mut Engine, c: &Call) -> Reply {
    match lookup_set(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(s) => Reply::Integer(s.is_some_and(|s| s.contains(c.argv[2])) as i64),
    }
}

fn smismember(e: &mut Engine, c: &Call) -> Reply {
    let s = tri!(lookup_set(e, c.db, c.argv[1], Lookup::Read));
    Reply::Array(
        c.argv[2..]
            .iter()
            .map(|m| Reply::Integer(s.as_ref().is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    )
}

fn scard(e: &mut Engine, c: &Call) -> Reply {
    match lookup_set(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(s) => Reply::Integer(s.map_or(0, |s| s.len() as i64)),
    }
}

/// SMEMBERS is Redis's SINTER of a single key.
fn smembers(e: &mut Engine, c: &Call) -> Reply {
    intersect(e, c.db, &c.argv[1..2], Inter::Members)
}

fn sinter(e: &mut Engine, c: &Call) -> Reply {
    intersect(e, c.db, &c.argv[1..], Inter::Members)
}

fn sinterstore(e: &mut Engine, c: &Call) -> Reply {
    intersect(e, c.db, &c.argv[2..], Inter::Store(c.argv[1]))
}

fn sintercard(e: &mut Engine, c: &Call) -> Reply {
    let numkeys = tri!(int_or(c.argv[1], error::NUMKEYS_NOT_POSITIVE));
    if numkeys < 1 {
        return Reply::error(error::NUMKEYS_NOT_POSITIVE);
    }
    if numkeys > c.argv.len() as i64 - 2 {
        return Reply::error(error::NUMKEYS_TOO_MANY);
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut j = end;
    while j < c.argv.len() {
        if is_word(c.argv[j], "limit") && j + 1 < c.argv.len() {
            limit = tri!(non_negative(c.argv[j + 1], error::LIMIT_NEGATIVE));
            j += 2;
        } else {
            return Reply::error(error::SYNTAX);
        }
    }
    intersect(e, c.db, &c.argv[2..end], Inter::Card(limit as u64))
}

/// What to do with an intersection.
#[derive(Clone, Copy)]
enum Inter<'a> {
    /// Reply with the members (SINTER, SMEMBERS).
    Members,
    /// Reply with how many there are, stopping at the limit when it is not 0 (SINTERCARD).
    Card(u64),
    /// Store them under this key (SINTERSTORE).
    Store(&'a [u8]),
}

fn intersect(e: &mut Engine, db: usize, keys: &[&[u8]], what: Inter<'_>) -> Reply {
    let present = tri!(probe_all(e, db, keys));
    if present.contains(&false) {
        // An intersection with a missing (empty) set is empty.
        return match what {
            Inter::Members => Reply::Set(Vec::new()),
            Inter::Card(_) => Reply::Integer(0),
            Inter::Store(dst) => store(e, db, dst, Set::new_intset(), "sinterstore"),
        };
    }
    let lim = SetLimits::from_config(&e.config);
    let d = &e.dbs[db];
    let mut sets: Vec<(&[u8], &Set)> = keys
        .iter()
        .filter_map(|&k| stored(d, k).map(|s| (k, s)))
        .collect();
    // Smallest first; the sort is stable, as glibc's qsort (a merge sort) is in practice.
    sets.sort_by_key(|(_, s)| s.len());
    let Some(&(first_key, first)) = sets.first() else {
        return Reply::Set(Vec::new());
    };
    // The same key given twice is the same set: no need to probe it against itself.
    let others: Vec<&Set> = sets[1..]
        .iter()
        .filter(|(k, _)| *k != first_key)
        .map(|(_, s)| *s)
        .collect();
    let common = first
        .iter()
        .filter(|&m| others.iter().all(|s| s.contains_elem(m)));
    match what {
        Inter::Members => Reply::Set(common.map(bulk).collect()),
        Inter::Card(limit) => {
            let n = if limit == 0 {
                common.count()
            } else {
                common.take(limit as usize).count()
            };
            Reply::Integer(n as i64)
        }
        Inter::Store(dst) => {
            let mut result = Set::new_intset();
            for m in common {
                result.add_elem(m, &lim);
            }
            store(e, db, dst, result, "sinterstore")
        }
    }
}

/// Stores an algebra result under `dst` (any old value is replaced, its TTL dropped), or
/// deletes `dst` when the result is empty.
fn store(e: &mut Engine, db: usize, dst: &[u8], result: Set, op: &'static str) -> Reply {
    if result.is_empty() {
        // Redis's dbDelete: no expiry check first, so a key whose time has passed but that is
        // still there counts as deleted.
        if e.dbs[db].remove(dst).is_some() {
            e.notify(db, dst, "del");
        }
        return Reply::Integer(0);
    }
    let n = result.len() as i64;
    // Every result starts as an empty intset; a member that is not an integer, or too many
    // members, converted it on the way.
    encoding_event(e, db, dst, "intset", result.encoding());
    e.set_value(db, dst, Value::Set(result), false);
    e.notify(db, dst, op);
    Reply::Integer(n)
}

fn sunion(e: &mut Engine, c: &Call) -> Reply {
    union_diff(e, c.db, &c.argv[1..], false, None)
}

fn sdiff(e: &mut Engine, c: &Call) -> Reply {
    union_diff(e, c.db, &c.argv[1..], true, None)
}

fn sunionstore(e: &mut Engine, c: &Call) -> Reply {
    union_diff(e, c.db, &c.argv[2..], false, Some(c.argv[1]))
}

fn sdiffstore(e: &mut Engine, c: &Call) -> Reply {
    union_diff(e, c.db, &c.argv[2..], true, Some(c.argv[1]))
}

fn union_diff(e: &mut Engine, db: usize, keys: &[&[u8]], diff: bool, dst: Option<&[u8]>) -> Reply {
    tri!(probe_all(e, db, keys));
    let lim = SetLimits::from_config(&e.config);
    let d = &e.dbs[db];
    let sets: Vec<Option<&Set>> = keys.iter().map(|&k| stored(d, k)).collect();
    let result = if diff {
        difference(keys, sets, &lim)
    } else {
        let mut result = Set::new_intset();
        for s in sets.iter().flatten() {
            for m in s.iter() {
                result.add_elem(m, &lim);
            }
        }
        result
    };
    match dst {
        None => Reply::Set(result.iter().map(bulk).collect()),
        Some(dst) => store(
            e,
            db,
            dst,
            result,
            if diff { "sdiffstore" } else { "sunionstore" },
        ),
    }
}

/// The members of the first set that are in none of the others, computed by whichever of
/// Redis's two algorithms its work estimate prefers.
fn difference(keys: &[&[u8]], mut sets: Vec<Option<&Set>>, lim: &SetLimits) -> Set {
    let mut result = Set::new_intset();
    let Some(first) = sets[0] else {
        return result;
    };
    // A later key naming the first set subtracts it from itself.
    if sets
        .iter()
        .zip(keys)
        .skip(1)
        .any(|(s, k)| s.is_some() && *k == keys[0])
    {
        return result;
    }
    let present = sets.iter().flatten();
    let one_work: usize = present.clone().map(|_| first.len()).sum::<usize>() / 2;
    let two_work: usize = present.map(|s| s.len()).sum();
    if one_work <= two_work {
        // Probe each member of the first set against the others, largest first, so that a
        // member found in another set is usually found early.
        sets[1..].sort_by(|a, b| {
            let (la, lb) = (a.map_or(0, Set::len), b.map_or(0, Set::len));
            lb.cmp(&la)
        });
        let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_elem(m)) {
                result.add_elem(m, lim);
            }
        }
    } else {
        // Copy the first set, then remove every member of the others.
        for m in first.iter() {
            result.add_elem(m, lim);
        }
        for s in sets[1..].iter().flatten() {
            if result.is_empty() {
                break;
            }
            for m in s.iter() {
                result.remove_elem(m);
            }
        }
    }
    result
}

fn spop(e: &mut Engine, c: &Call) -> Reply {
    match c.argv.len() {
        3 => return spop_count(e, c),
        n if n > 3 => return Reply::error(error::SYNTAX),
        _ => {}
    }
    let key = c.argv[1];
    if tri!(lookup_set(e, c.db, key, Lookup::Write)).is_none() {
        return Reply::Nil;
    }
    let Some(s) = stored_mut(&mut e.dbs[c.db], key) else {
        return Reply::Nil;
    };
    let Some(m) = s.random(&mut e.rng).map(Elem::to_vec) else {
        return Reply::Nil;
    };
    s.remove(&m);
    let emptied = s.is_empty();
    e.notify(c.db, key, "spop");
    if emptied {
        e.dbs[c.db].remove(key);
        e.notify(c.db, key, "del");
    }
    Reply::Bulk(m)
}

/// How much larger than the count the rest of the set must be for popping one random member
/// at a time to beat rebuilding the set from the members that stay (SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_count(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let count = tri!(non_negative(c.argv[2], error::MUST_BE_POSITIVE)) as u64;
    if tri!(lookup_set(e, c.db, key, Lookup::Write)).is_none() || count == 0 {
        return Reply::Set(Vec::new());
    }
    let lim = SetLimits::from_config(&e.config);
    let Some(s) = stored_mut(&mut e.dbs[c.db], key) else {
        return Reply::Set(Vec::new());
    };
    let size = s.len();
    if count >= size as u64 {
        // Everything goes: the reply is the whole set, and the key is deleted.
        let all: Vec<Reply> = s.iter().map(bulk).collect();
        e.notify(c.db, key, "spop");
        e.dbs[c.db].remove(key);
        e.notify(c.db, key, "del");
        return Reply::Set(all);
    }
    let count = count as usize;
    let remaining = size - count;
    let mut popped = Vec::with_capacity(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        for _ in 0..count {
            let Some(m) = s.random(&mut e.rng).map(Elem::to_vec) else {
                break;
            };
            s.remove(&m);
            popped.push(Reply::Bulk(m));
        }
    } else {
        // Most of the set goes: move the few members that stay into a new set, hand the old
        // one's leftovers to the client, and store the new set in its place. The new set's
        // encoding follows from its own members, so a large set of integers can come back as
        // an intset.
        let mut kept: Option<Set> = None;
        let mut created_as = "intset";
        for _ in 0..remaining {
            let Some(m) = s.random(&mut e.rng).map(Elem::to_vec) else {
                break;
            };
            let k = kept.get_or_insert_with(|| {
                let fresh = Set::for_member(&m, &lim);
                created_as = fresh.encoding();
                fresh
            });
            k.add(&m, &lim);
            s.remove(&m);
        }
        popped.extend(s.iter().map(bulk));
        if let Some(kept) = kept {
            let after = kept.encoding();
            // Replaced in place: the key keeps its TTL, as with Redis's dbOverwrite.
            *s = kept;
            encoding_event(e, c.db, key, created_as, after);
        }
    }
    e.notify(c.db, key, "spop");
    Reply::Set(popped)
}

fn srandmember(e: &mut Engine, c: &Call) -> Reply {
    match c.argv.len() {
        3 => return srandmember_count(e, c),
        n if n > 3 => return Reply::error(error::SYNTAX),
        _ => {}
    }
    let key = c.argv[1];
    if tri!(lookup_set(e, c.db, key, Lookup::Read)).is_none() {
        return Reply::Nil;
    }
    let Some(s) = stored(&e.dbs[c.db], key) else {
        return Reply::Nil;
    };
    match s.random(&mut e.rng) {
        Some(m) => bulk(m),
        None => Reply::Nil,
    }
}

fn srandmember_count(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let l = tri!(int(c.argv[2]));
    if l == i64::MIN {
        return Reply::error_owned(error::value_out_of_range(-i64::MAX, i64::MAX));
    }
    if tri!(lookup_set(e, c.db, key, Lookup::Read)).is_none() {
        return Reply::Array(Vec::new());
    }
    let Some(s) = stored(&e.dbs[c.db], key) else {
        return Reply::Array(Vec::new());
    };
    let mut out = Vec::new();
    random_pick::pick(
        &mut e.rng,
        l,
        s.len() as u64,
        s.iter(),
        |rng| s.random(rng),
        |m| m.to_vec().into_boxed_slice(),
        |m| out.push(bulk(m)),
    );
    Reply::Array(out)
}

fn smove(e: &mut Engine, c: &Call) -> Reply {
    let (src, dst, member) = (c.argv[1], c.argv[2], c.argv[3]);
    let from = probe(e, c.db, src, Lookup::Write);
    let to = probe(e, c.db, dst, Lookup::Write);
    if from == Found::Missing {
        return Reply::Integer(0);
    }
    if from == Found::Other || to == Found::Other {
        return Reply::error(error::WRONGTYPE);
    }
    let lim = SetLimits::from_config(&e.config);
    if src == dst {
        let is_member = stored(&e.dbs[c.db], src).is_some_and(|s| s.contains(member));
        return Reply::Integer(is_member as i64);
    }
    let Some(s) = stored_mut(&mut e.dbs[c.db], src) else {
        return Reply::Integer(0);
    };
    if !s.remove(member) {
        return Reply::Integer(0);
    }
    let emptied = s.is_empty();
    e.notify(c.db, src, "srem");
    if emptied {
        e.dbs[c.db].remove(src);
        e.notify(c.db, src, "del");
    }
    if to == Found::Missing {
        e.add_value(c.db, dst, Value::Set(Set::for_member(member, &lim)));
    }
    let Some(d) = stored_mut(&mut e.dbs[c.db], dst) else {
        unreachable!("the destination was just found or created")
    };
    let before = d.encoding();
    let added = d.add(member, &lim);
    let after = d.encoding();
    encoding_event(e, c.db, dst, before, after);
    if added {
        e.notify(c.db, dst, "sadd");
    }
    Reply::Integer(1)
}

fn sscan(e: &mut Engine, c: &Call) -> Reply {
    let cursor = tri!(scan::parse_cursor(c.argv[2]));
    let Some(s) = tri!(lookup_set(e, c.db, c.argv[1], Lookup::Read)) else {
        return scan::reply(0, Vec::new());
    };
    let opts = tri!(scan::parse_options(c.argv, 3, false));
    let (next, mut items) = match s.table() {
        Some(d) => scan::collect(d, cursor, opts.count, |k, _, out| out.push(k.to_vec())),
        // An intset is small by definition: all of it at once, and the scan is over.
        None => (0, s.iter().map(Elem::to_vec).collect()),
    };
    scan::retain_matching(&mut items, opts.pattern, 1);
    scan::reply(next, items)
}

#[cfg(test)]
mod tests {
    use crate::testkit::{events, fresh as engine, run};
    use crate::{ClientId, Config, Engine, Protocol, Reply};
    use std::collections::BTreeSet;

    fn members(r: Reply) -> Vec<String> {
        match r {
            Reply::Array(items) | Reply::Set(items) => items
                .into_iter()
                .map(|i| match i {
                    Reply::Bulk(b) => String::from_utf8(b).expect("utf-8 member"),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    fn int(r: Reply) -> i64 {
        match r {
            Reply::Integer(n) => n,
            other => panic!("not an integer: {other:?}"),
        }
    }

    fn sadd_range(e: &mut Engine, c: ClientId, key: &str, n: usize) {
        let m: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        run(e, c, &format!("SADD {key} {}", m.join(" ")));
    }

    #[test]
    fn conversions_follow_the_configured_limit_and_emit_one_event() {
        let config = Config {
            set_max_intset_entries: 3,
            ..Config::default()
        };
        let (mut e, c) = engine(config);
        run(&mut e, c, "SADD s 1 2 3");
        assert_eq!(run(&mut e, c, "OBJECT ENCODING s"), Reply::bulk("intset"));
        run(&mut e, c, "SADD s 4");
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING s"),
            Reply::bulk("hashtable")
        );
        assert_eq!(
            events(&mut e),
            vec!["sadd s", "encoding s intset->hashtable", "sadd s"]
        );
        // A new key whose first member is an integer starts as an intset and converts.
        run(&mut e, c, "SADD t 1 a");
        assert_eq!(
            events(&mut e),
            vec!["encoding t intset->hashtable", "sadd t"]
        );
        // One that starts with a string is a hashtable from the start.
        run(&mut e, c, "SADD u a 1");
        assert_eq!(events(&mut e), vec!["sadd u"]);
        // A moved member converts the destination.
        run(&mut e, c, "SADD d 1");
        events(&mut e);
        run(&mut e, c, "SMOVE u d a");
        assert_eq!(
            events(&mut e),
            vec!["srem u", "encoding d intset->hashtable", "sadd d"]
        );
        // Store results start as intsets.
        run(&mut e, c, "SUNIONSTORE r d");
        assert_eq!(
            events(&mut e),
            vec!["encoding r intset->hashtable", "sunionstore r"]
        );
        run(&mut e, c, "SINTERSTORE r s");
        assert_eq!(
            events(&mut e),
            vec!["encoding r intset->hashtable", "sinterstore r"]
        );
        run(&mut e, c, "SDIFFSTORE r d u");
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING r"),
            Reply::bulk("hashtable")
        );
        run(&mut e, c, "SREM d a");
        run(&mut e, c, "SDIFFSTORE r d nosuch");
        assert_eq!(run(&mut e, c, "OBJECT ENCODING r"), Reply::bulk("intset"));
    }

    #[test]
    fn keyspace_events_match_redis() {
        let (mut e, c) = engine(Config::default());
        run(&mut e, c, "SADD s a b c");
        run(&mut e, c, "SADD s a");
        run(&mut e, c, "SREM s nosuch");
        run(&mut e, c, "SREM s a");
        run(&mut e, c, "SMOVE s t b");
        run(&mut e, c, "SMOVE s t c");
        assert_eq!(
            events(&mut e),
            vec!["sadd s", "srem s", "srem s", "sadd t", "srem s", "del s", "sadd t"]
        );
        // Moving a member the destination already has still removes it from the source.
        run(&mut e, c, "SADD s b x");
        events(&mut e);
        assert_eq!(run(&mut e, c, "SMOVE s t b"), Reply::Integer(1));
        assert_eq!(events(&mut e), vec!["srem s"]);
        run(&mut e, c, "SPOP s");
        assert_eq!(events(&mut e), vec!["spop s", "del s"]);
        run(&mut e, c, "SPOP t 10");
        assert_eq!(events(&mut e), vec!["spop t", "del t"]);
        run(&mut e, c, "SADD a 1 2");
        run(&mut e, c, "SADD b 2 3");
        events(&mut e);
        run(&mut e, c, "SINTERSTORE d a b");
        run(&mut e, c, "SUNIONSTORE d a b");
        run(&mut e, c, "SDIFFSTORE d a b");
        run(&mut e, c, "SDIFFSTORE d a a");
        run(&mut e, c, "SDIFFSTORE d a a");
        run(&mut e, c, "SINTERSTORE d a nosuch");
        assert_eq!(
            events(&mut e),
            vec!["sinterstore d", "sunionstore d", "sdiffstore d", "del d"]
        );
    }

    #[test]
    fn spop_with_count_pops_distinct_members_by_both_strategies() {
        // 100 members: popping 10 picks one at a time, popping 90 rebuilds from the 10 kept.
        for (count, encoding) in [(10, "intset"), (90, "intset"), (10, "table"), (90, "table")] {
            let (mut e, c) = engine(Config::default());
            sadd_range(&mut e, c, "s", 100);
            if encoding == "table" {
                run(&mut e, c, "SADD s x");
                run(&mut e, c, "SREM s x");
            }
            let popped = members(run(&mut e, c, &format!("SPOP s {count}")));
            assert_eq!(popped.len(), count);
            let popped: BTreeSet<String> = popped.into_iter().collect();
            assert_eq!(popped.len(), count, "a member was popped twice");
            let rest: BTreeSet<String> =
                members(run(&mut e, c, "SMEMBERS s")).into_iter().collect();
            assert_eq!(rest.len(), 100 - count);
            assert!(popped.is_disjoint(&rest));
            assert_eq!(popped.union(&rest).count(), 100);
        }
    }

    #[test]
    fn spop_rebuilding_a_large_integer_set_gives_an_intset_and_keeps_the_ttl() {
        let (mut e, c) = engine(Config::default());
        sadd_range(&mut e, c, "s", 600);
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING s"),
            Reply::bulk("hashtable")
        );
        run(&mut e, c, "EXPIRE s 100");
        events(&mut e);
        assert_eq!(members(run(&mut e, c, "SPOP s 590")).len(), 590);
        assert_eq!(int(run(&mut e, c, "SCARD s")), 10);
        assert_eq!(run(&mut e, c, "OBJECT ENCODING s"), Reply::bulk("intset"));
        assert_eq!(int(run(&mut e, c, "TTL s")), 100);
        // The new set was an intset from its first member on: no conversion happened.
        assert_eq!(events(&mut e), vec!["spop s"]);
        // Popping a few one at a time leaves the encoding alone.
        sadd_range(&mut e, c, "t", 600);
        run(&mut e, c, "SPOP t 10");
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING t"),
            Reply::bulk("hashtable")
        );
    }

    #[test]
    fn srandmember_counts_and_uniqueness() {
        for n in [50usize, 600] {
            let (mut e, c) = engine(Config::default());
            sadd_range(&mut e, c, "s", n);
            for count in [1usize, 5, n / 3, n / 3 + 1, n - 1, n, n + 10] {
                let got = members(run(&mut e, c, &format!("SRANDMEMBER s {count}")));
                assert_eq!(got.len(), count.min(n), "count {count}");
                let uniq: BTreeSet<&String> = got.iter().collect();
                assert_eq!(uniq.len(), got.len(), "count {count} repeated a member");
            }
            let got = members(run(&mut e, c, "SRANDMEMBER s -1000"));
            assert_eq!(got.len(), 1000);
            let uniq: BTreeSet<&String> = got.iter().collect();
            assert!(uniq.len() < 1000, "1000 draws from {n} must repeat");
            assert_eq!(int(run(&mut e, c, "SCARD s")), n as i64);
        }
    }

    #[test]
    fn random_picks_follow_the_seed() {
        let draw = |seed: u64| {
            let config = Config {
                seed,
                ..Config::default()
            };
            let (mut e, c) = engine(config);
            sadd_range(&mut e, c, "i", 100);
            sadd_range(&mut e, c, "h", 1000);
            let mut out = Vec::new();
            for cmd in [
                "SRANDMEMBER i",
                "SRANDMEMBER h 5",
                "SRANDMEMBER h -5",
                "SPOP i 3",
                "SPOP h 900",
                "SPOP h",
            ] {
                out.push(run(&mut e, c, cmd));
            }
            out
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn algebra_replies_are_resp3_sets() {
        let (mut e, c) = engine(Config::default());
        run(&mut e, c, "SADD a 2 1");
        if let Some(cl) = e.client_mut(c) {
            cl.protocol = Protocol::Resp3;
        }
        let set = |items: &[&str]| Reply::Set(items.iter().map(|m| Reply::bulk(*m)).collect());
        assert_eq!(run(&mut e, c, "SMEMBERS a"), set(&["1", "2"]));
        assert_eq!(run(&mut e, c, "SUNION a nosuch"), set(&["1", "2"]));
        assert_eq!(run(&mut e, c, "SINTER a nosuch"), set(&[]));
        assert_eq!(run(&mut e, c, "SPOP nosuch 1"), set(&[]));
        assert_eq!(
            run(&mut e, c, "SRANDMEMBER a 5"),
            Reply::Array(vec![Reply::bulk("1"), Reply::bulk("2")])
        );
        assert_eq!(run(&mut e, c, "SPOP a 5"), set(&["1", "2"]));
    }

    #[test]
    fn store_into_an_expired_destination_reports_its_deletion() {
        // Redis deletes the destination without checking its TTL first, so a key whose time has
        // passed but that is still stored counts as deleted.
        let (mut e, c) = engine(Config::default());
        run(&mut e, c, "SET d x");
        e.run(c, &["PEXPIRE", "d", "10"], 1000);
        events(&mut e);
        e.run(c, &["SINTERSTORE", "d", "nosuch"], 2000);
        assert_eq!(events(&mut e), vec!["del d"]);
        assert_eq!(e.dbsize(0), 0);
    }

    #[test]
    fn sscan_walks_a_hashtable_in_steps_and_misses_nothing() {
        let (mut e, c) = engine(Config::default());
        sadd_range(&mut e, c, "s", 2000);
        let mut cursor = "0".to_string();
        let mut seen = BTreeSet::new();
        let mut calls = 0;
        loop {
            let Reply::Array(parts) = run(&mut e, c, &format!("SSCAN s {cursor}")) else {
                panic!("not a scan reply")
            };
            let [Reply::Bulk(next), items] = &parts[..] else {
                panic!("not a scan reply")
            };
            seen.extend(members(items.clone()));
            calls += 1;
            cursor = String::from_utf8(next.clone()).expect("ascii cursor");
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 2000);
        assert!(calls > 100, "COUNT 10 should take many calls, took {calls}");
    }
}
