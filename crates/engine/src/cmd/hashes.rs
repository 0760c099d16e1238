//! Hash commands: HSET HSETNX HGET HMGET HMSET HDEL HLEN HEXISTS HGETALL HKEYS HVALS HINCRBY
//! HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN.
//!
//! Each handler follows its Redis counterpart in `t_hash.c` step for step where the order is
//! observable: which argument is validated before the key is looked up (a bad increment is
//! reported even on a key of the wrong type), when a missing key is created, when a listpack
//! converts, and which keyspace events fire.

use crate::args::int;
use crate::cmd::random_pick;
use crate::cmd::scan::{self, is_word};
use crate::db::Db;
use crate::event::Event;
use crate::keyspace::Lookup;
use crate::longdouble::{self, Parsed};
use crate::object::Value;
use crate::rng::Rng;
use crate::table::CommandSpec;
use crate::types::hash::{Hash, HashLimits};
use crate::{error, flags, tri, Call, Engine, Protocol, Reply};

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
        "hash",
        since,
        summary,
        syntax,
        handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "hset",
        -4,
        flags!(WRITE, DENYOOM, FAST),
        "2.0.0",
        "Sets one or more fields of a hash; returns how many fields were new.",
        "key field value [field value ...]",
        hset,
    ),
    spec(
        "hsetnx",
        4,
        flags!(WRITE, DENYOOM, FAST),
        "2.0.0",
        "Sets a hash field only when the field does not exist yet.",
        "key field value",
        hsetnx,
    ),
    spec(
        "hget",
        3,
        flags!(READONLY, FAST),
        "2.0.0",
        "Returns the value of one hash field, or nil.",
        "key field",
        hget,
    ),
    spec(
        "hmget",
        -3,
        flags!(READONLY, FAST),
        "2.0.0",
        "Returns the values of the given hash fields, nil for each missing one.",
        "key field [field ...]",
        hmget,
    ),
    spec(
        "hmset",
        -4,
        flags!(WRITE, DENYOOM, FAST),
        "2.0.0",
        "Sets one or more fields of a hash and answers OK (the older form of HSET).",
        "key field value [field value ...]",
        hset,
    ),
    spec(
        "hdel",
        -3,
        flags!(WRITE, FAST),
        "2.0.0",
        "Removes fields from a hash; the key goes when its last field does.",
        "key field [field ...]",
        hdel,
    ),
    spec(
        "hlen",
        2,
        flags!(READONLY, FAST),
        "2.0.0",
        "Counts the fields of a hash.",
        "key",
        hlen,
    ),
    spec(
        "hexists",
        3,
        flags!(READONLY, FAST),
        "2.0.0",
        "Tells whether a hash has the given field.",
        "key field",
        hexists,
    ),
    spec(
        "hgetall",
        2,
        flags!(READONLY),
        "2.0.0",
        "Returns every field of a hash with its value.",
        "key",
        hgetall,
    ),
    spec(
        "hkeys",
        2,
        flags!(READONLY),
        "2.0.0",
        "Returns every field name of a hash.",
        "key",
        hkeys,
    ),
    spec(
        "hvals",
        2,
        flags!(READONLY),
        "2.0.0",
        "Returns every value of a hash.",
        "key",
        hvals,
    ),
    spec(
        "hincrby",
        4,
        flags!(WRITE, DENYOOM, FAST),
        "2.0.0",
        "Adds an integer to a hash field holding an integer (a missing field counts as 0).",
        "key field increment",
        hincrby,
    ),
    spec(
        "hincrbyfloat",
        4,
        flags!(WRITE, DENYOOM, FAST),
        "2.6.0",
        "Adds a decimal number to a hash field holding a number (a missing field counts as 0).",
        "key field increment",
        hincrbyfloat,
    ),
    spec(
        "hstrlen",
        3,
        flags!(READONLY, FAST),
        "3.2.0",
        "Returns the length in bytes of a hash field's value, 0 when missing.",
        "key field",
        hstrlen,
    ),
    spec(
        "hrandfield",
        -2,
        flags!(READONLY),
        "6.2.0",
        "Picks random fields of a hash: distinct ones for a positive count, repeats allowed for a negative one.",
        "key [count [WITHVALUES]]",
        hrandfield,
    ),
    spec(
        "hscan",
        -3,
        flags!(READONLY),
        "2.8.0",
        "Walks a hash's fields and values a few at a time from a cursor.",
        "key cursor [MATCH pattern] [COUNT count]",
        hscan,
    ),
];

/// Records that a value stored under `key` changed its encoding during this command.
pub(crate) fn encoding_event(
    e: &mut Engine,
    db: usize,
    key: &[u8],
    from: &'static str,
    to: &'static str,
) {
    if from != to && e.recording() {
        e.emit(Event::EncodingChanged {
            db,
            key: key.to_vec(),
            from,
            to,
        });
    }
}

/// The hash under a live key: Ok(None) when the key is missing, WRONGTYPE when it holds
/// something else.
fn lookup_hash<'e>(
    e: &'e mut Engine,
    db: usize,
    key: &[u8],
    mode: Lookup,
) -> Result<Option<&'e mut Hash>, Reply> {
    match e.lookup(db, key, mode) {
        None => Ok(None),
        Some(entry) => match &mut entry.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

/// The hash under `key` once a lookup has established that there is one.
fn stored<'d>(db: &'d Db, key: &[u8]) -> Option<&'d Hash> {
    match db.keys.get(key).map(|en| &en.value) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

fn stored_mut<'d>(db: &'d mut Db, key: &[u8]) -> Option<&'d mut Hash> {
    match db.keys.get_mut(key).map(|en| &mut en.value) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

/// Redis's `hashTypeLookupWriteOrCreate`: the hash under `key`, created empty when missing.
/// Also returns the encoding the hash had (or was created with) before this command.
fn hash_or_create<'e>(
    e: &'e mut Engine,
    db: usize,
    key: &[u8],
) -> Result<(&'e mut Hash, &'static str), Reply> {
    if lookup_hash(e, db, key, Lookup::Write)?.is_none() {
        e.add_value(db, key, Value::Hash(Hash::new()));
    }
    match stored_mut(&mut e.dbs[db], key) {
        Some(h) => {
            let enc = h.encoding();
            Ok((h, enc))
        }
        None => unreachable!("the hash was just found or created"),
    }
}

fn hset(e: &mut Engine, c: &Call) -> Reply {
    if c.argv.len() % 2 == 1 {
        return Reply::error_owned(error::wrong_arity(c.spec.name));
    }
    let key = c.argv[1];
    let lim = HashLimits::from_config(&e.config);
    let (h, before) = tri!(hash_or_create(e, c.db, key));
    h.convert_if_any_long(&c.argv[2..], &lim);
    let mut created = 0;
    for pair in c.argv[2..].chunks_exact(2) {
        if h.set(pair[0], pair[1], &lim) {
            created += 1;
        }
    }
    let after = h.encoding();
    encoding_event(e, c.db, key, before, after);
    e.notify(c.db, key, "hset");
    if c.spec.name == "hset" {
        Reply::Integer(created)
    } else {
        Reply::OK
    }
}

fn hsetnx(e: &mut Engine, c: &Call) -> Reply {
    let (key, field, value) = (c.argv[1], c.argv[2], c.argv[3]);
    let lim = HashLimits::from_config(&e.config);
    let (h, before) = tri!(hash_or_create(e, c.db, key));
    if h.contains(field) {
        return Reply::Integer(0);
    }
    h.convert_if_any_long(&[field, value], &lim);
    h.set(field, value, &lim);
    let after = h.encoding();
    encoding_event(e, c.db, key, before, after);
    e.notify(c.db, key, "hset");
    Reply::Integer(1)
}

fn hget(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(None) => Reply::Nil,
        Ok(Some(h)) => Reply::bulk_opt(h.get(c.argv[2]).map(<[u8]>::to_vec)),
    }
}

fn hmget(e: &mut Engine, c: &Call) -> Reply {
    let h = tri!(lookup_hash(e, c.db, c.argv[1], Lookup::Read));
    let fields = &c.argv[2..];
    Reply::Array(
        fields
            .iter()
            .map(|f| Reply::bulk_opt(h.as_ref().and_then(|h| h.get(f)).map(<[u8]>::to_vec)))
            .collect(),
    )
}

fn hdel(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let Some(h) = tri!(lookup_hash(e, c.db, key, Lookup::Write)) else {
        return Reply::Integer(0);
    };
    let mut deleted = 0;
    let mut emptied = false;
    for f in &c.argv[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        e.dbs[c.db].remove(key);
    }
    if deleted > 0 {
        e.notify(c.db, key, "hdel");
        if emptied {
            e.notify(c.db, key, "del");
        }
    }
    Reply::Integer(deleted)
}

fn hlen(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(h) => Reply::Integer(h.map_or(0, |h| h.len() as i64)),
    }
}

fn hexists(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(h) => Reply::Integer(h.is_some_and(|h| h.contains(c.argv[2])) as i64),
    }
}

fn hstrlen(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(h) => Reply::Integer(
            h.and_then(|h| h.get(c.argv[2]))
                .map_or(0, |v| v.len() as i64),
        ),
    }
}

fn hgetall(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(None) => Reply::Map(Vec::new()),
        Ok(Some(h)) => Reply::Map(
            h.iter()
                .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
                .collect(),
        ),
    }
}

fn hkeys(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(h)) => Reply::bulks(h.iter().map(|(f, _)| f)),
    }
}

fn hvals(e: &mut Engine, c: &Call) -> Reply {
    match lookup_hash(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(h)) => Reply::bulks(h.iter().map(|(_, v)| v)),
    }
}

fn hincrby(e: &mut Engine, c: &Call) -> Reply {
    let (key, field) = (c.argv[1], c.argv[2]);
    let incr = tri!(int(c.argv[3]));
    let lim = HashLimits::from_config(&e.config);
    let (h, before) = tri!(hash_or_create(e, c.db, key));
    let current = match h.get(field) {
        Some(v) => match crate::numfmt::parse_i64(v) {
            Some(n) => n,
            None => return Reply::error(error::HASH_NOT_INTEGER),
        },
        None => 0,
    };
    let Some(value) = current.checked_add(incr) else {
        return Reply::error(error::OVERFLOW);
    };
    h.set(field, value.to_string().as_bytes(), &lim);
    let after = h.encoding();
    encoding_event(e, c.db, key, before, after);
    e.notify(c.db, key, "hincrby");
    Reply::Integer(value)
}

/// HINCRBYFLOAT's arithmetic: `current + incr` in Redis's human format (`%.17Lf` with the
/// trailing zeros cut), or the error Redis gives. Redis computes in 80-bit long double, so this
/// uses the same emulation as INCRBYFLOAT: in f64, -4611686018427387904 - 8 loses the 8.
pub(crate) fn incr_float(current: &[u8], incr: &[u8]) -> Result<Vec<u8>, Reply> {
    let incr = match longdouble::parse(incr) {
        None => return Err(Reply::error(error::NOT_FLOAT)),
        Some(Parsed::Finite(x)) => x,
        Some(_) => return Err(Reply::error(error::NAN_OR_INFINITY)),
    };
    let value = match longdouble::parse(current) {
        None => return Err(Reply::error(error::HASH_NOT_FLOAT)),
        Some(Parsed::Finite(x)) => x,
        // An infinite stored value stays infinite whatever finite amount is added.
        Some(_) => return Err(Reply::error(error::INCR_NAN_OR_INF)),
    };
    let sum = value
        .checked_add(incr)
        .ok_or(Reply::error(error::INCR_NAN_OR_INF))?;
    Ok(sum.to_human().into_bytes())
}

fn hincrbyfloat(e: &mut Engine, c: &Call) -> Reply {
    let (key, field, incr) = (c.argv[1], c.argv[2], c.argv[3]);
    // Redis rejects a bad increment before it looks at the key.
    tri!(incr_float(b"0", incr));
    let lim = HashLimits::from_config(&e.config);
    let (h, before) = tri!(hash_or_create(e, c.db, key));
    let current = h.get(field).unwrap_or(b"0");
    let value = tri!(incr_float(current, incr));
    h.set(field, &value, &lim);
    let after = h.encoding();
    encoding_event(e, c.db, key, before, after);
    e.notify(c.db, key, "hincrbyfloat");
    Reply::Bulk(value)
}

/// Random fields (and values), picked by Redis's strategies in `hrandfieldWithCountCommand`.
fn hrandfield(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    if c.argv.len() >= 3 {
        let l = tri!(int(c.argv[2]));
        if l == i64::MIN {
            return Reply::error_owned(error::value_out_of_range(-i64::MAX, i64::MAX));
        }
        let with_values = c.argv.len() == 4;
        if c.argv.len() > 4 || (with_values && !is_word(c.argv[3], "withvalues")) {
            return Reply::error(error::SYNTAX);
        }
        if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            return Reply::error(error::VALUE_OUT_OF_RANGE);
        }
        let resp3 = e.protocol(c.client) == Protocol::Resp3;
        return hrandfield_count(e, c.db, key, l, with_values, resp3);
    }
    if tri!(lookup_hash(e, c.db, key, Lookup::Read)).is_none() {
        return Reply::Nil;
    }
    let Some(h) = stored(&e.dbs[c.db], key) else {
        return Reply::Nil;
    };
    match h.random_pair(&mut e.rng) {
        Some((f, _)) => Reply::bulk(f),
        None => Reply::Nil,
    }
}

fn hrandfield_count(
    e: &mut Engine,
    db: usize,
    key: &[u8],
    l: i64,
    with_values: bool,
    resp3: bool,
) -> Reply {
    if tri!(lookup_hash(e, db, key, Lookup::Read)).is_none() {
        return Reply::Array(Vec::new());
    }
    let Some(h) = stored(&e.dbs[db], key) else {
        return Reply::Array(Vec::new());
    };
    let mut out = Vec::new();
    let emit = |(f, v): (&[u8], &[u8])| {
        if with_values && resp3 {
            out.push(Reply::Array(vec![Reply::bulk(f), Reply::bulk(v)]));
        } else {
            out.push(Reply::bulk(f));
            if with_values {
                out.push(Reply::bulk(v));
            }
        }
    };
    let size = h.len() as u64;
    // A listpack's pairs by position, so that each draw is an index rather than a walk; the
    // draw takes the same one number from the RNG either way.
    let pairs: Option<Vec<(&[u8], &[u8])>> = match h {
        Hash::Listpack(lp) => Some(lp.iter().collect()),
        Hash::Table(_) => None,
    };
    let draw = |rng: &mut Rng| match &pairs {
        Some(p) => Some(p[rng.below(size) as usize]),
        None => h.random_pair(rng),
    };
    random_pick::pick(
        &mut e.rng,
        l,
        size,
        h.iter(),
        draw,
        |(f, _)| Box::from(f),
        emit,
    );
    Reply::Array(out)
}

fn hscan(e: &mut Engine, c: &Call) -> Reply {
    let cursor = tri!(scan::parse_cursor(c.argv[2]));
    let Some(h) = tri!(lookup_hash(e, c.db, c.argv[1], Lookup::Read)) else {
        return scan::reply(0, Vec::new());
    };
    let opts = tri!(scan::parse_options(c.argv, 3, false));
    let (next, mut items) = match h.table() {
        // Each entry gives two elements, so Redis doubles COUNT (and with it the visit budget).
        Some(d) => scan::collect(d, cursor, opts.count.saturating_mul(2), |k, v, out| {
            out.push(k.to_vec());
            out.push(v.to_vec());
        }),
        // A listpack is small by definition: all of it at once, and the scan is over.
        None => (
            0,
            h.iter()
                .flat_map(|(f, v)| [f.to_vec(), v.to_vec()])
                .collect(),
        ),
    };
    scan::retain_matching(&mut items, opts.pattern, 2);
    scan::reply(next, items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{events, fresh as engine, run};

    use crate::Config;

    fn bulks(r: Reply) -> Vec<Vec<u8>> {
        match r {
            Reply::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Reply::Bulk(b) => b,
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    #[test]
    fn conversions_follow_the_configured_thresholds_and_emit_one_event() {
        let config = Config {
            hash_max_listpack_entries: 2,
            hash_max_listpack_value: 4,
            ..Config::default()
        };
        let (mut e, c) = engine(config);
        run(&mut e, c, "HSET h a 1 b 2");
        assert_eq!(run(&mut e, c, "OBJECT ENCODING h"), Reply::bulk("listpack"));
        events(&mut e);
        run(&mut e, c, "HSET h c 3");
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING h"),
            Reply::bulk("hashtable")
        );
        assert_eq!(
            events(&mut e),
            vec!["encoding h listpack->hashtable", "hset h"]
        );
        // Already a hashtable: no further event.
        run(&mut e, c, "HSET h d 12345");
        assert_eq!(events(&mut e), vec!["hset h"]);

        run(&mut e, c, "HSET v f 1234");
        assert_eq!(run(&mut e, c, "OBJECT ENCODING v"), Reply::bulk("listpack"));
        run(&mut e, c, "HINCRBY v f 100000");
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING v"),
            Reply::bulk("hashtable")
        );
        assert_eq!(
            events(&mut e),
            vec!["hset v", "encoding v listpack->hashtable", "hincrby v"]
        );
    }

    #[test]
    fn keyspace_events_match_redis() {
        let (mut e, c) = engine(Config::default());
        run(&mut e, c, "HSET h a 1 b 2");
        run(&mut e, c, "HSETNX h a 9");
        run(&mut e, c, "HSETNX h c 3");
        run(&mut e, c, "HINCRBY h n 1");
        run(&mut e, c, "HINCRBYFLOAT h x 1.5");
        run(&mut e, c, "HDEL h nosuch");
        run(&mut e, c, "HDEL h a b");
        run(&mut e, c, "HDEL h c n x");
        assert_eq!(
            events(&mut e),
            vec![
                "hset h",
                "hset h",
                "hincrby h",
                "hincrbyfloat h",
                "hdel h",
                "hdel h",
                "del h"
            ]
        );
        assert_eq!(run(&mut e, c, "EXISTS h"), Reply::Integer(0));
        // Errors change nothing and say nothing.
        run(&mut e, c, "HSET s f abc");
        events(&mut e);
        run(&mut e, c, "HINCRBY s f 1");
        run(&mut e, c, "HINCRBYFLOAT s f 1");
        assert!(events(&mut e).is_empty());
    }

    #[test]
    fn an_expired_hash_is_gone_for_every_command() {
        let (mut e, c) = engine(Config::default());
        run(&mut e, c, "HSET h a 1");
        e.run(c, &["PEXPIRE", "h", "100"], 1000);
        assert_eq!(e.run(c, &["HGET", "h", "a"], 1100), Reply::bulk("1"));
        assert_eq!(e.run(c, &["HGET", "h", "a"], 1101), Reply::Nil);
        assert_eq!(e.run(c, &["HLEN", "h"], 1101), Reply::Integer(0));
        // HINCRBY on the expired key starts a fresh hash.
        assert_eq!(
            e.run(c, &["HINCRBY", "h", "a", "5"], 1101),
            Reply::Integer(5)
        );
        assert_eq!(e.run(c, &["TTL", "h"], 1101), Reply::Integer(-1));
    }

    #[test]
    fn hrandfield_draws_from_the_engine_seed() {
        let draw = |seed: u64| {
            let config = Config {
                seed,
                ..Config::default()
            };
            let (mut e, c) = engine(config);
            let fields: Vec<String> = (0..50).map(|i| format!("f{i} v{i}")).collect();
            run(&mut e, c, &format!("HSET h {}", fields.join(" ")));
            let mut out = Vec::new();
            for cmd in [
                "HRANDFIELD h",
                "HRANDFIELD h 5",
                "HRANDFIELD h -5",
                "HRANDFIELD h 40",
            ] {
                out.push(run(&mut e, c, cmd));
            }
            out
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn hrandfield_counts_and_uniqueness() {
        for entries in [512, 4] {
            let config = Config {
                hash_max_listpack_entries: entries,
                ..Config::default()
            };
            let (mut e, c) = engine(config);
            let fields: Vec<String> = (0..50).map(|i| format!("f{i} v{i}")).collect();
            run(&mut e, c, &format!("HSET h {}", fields.join(" ")));
            // Distinct picks: few (picked one by one) and many (copy and remove).
            for n in [1usize, 5, 16, 17, 40, 49, 50, 60] {
                let got = bulks(run(&mut e, c, &format!("HRANDFIELD h {n}")));
                assert_eq!(got.len(), n.min(50), "count {n}");
                let mut uniq = got.clone();
                uniq.sort();
                uniq.dedup();
                assert_eq!(uniq.len(), got.len(), "count {n} repeated a field");
                assert!(got.iter().all(|f| f.starts_with(b"f")));
            }
            // Repeats allowed: exactly |count| picks, pairs stay matched.
            let got = bulks(run(&mut e, c, "HRANDFIELD h -200 WITHVALUES"));
            assert_eq!(got.len(), 400);
            for pair in got.chunks(2) {
                assert_eq!(pair[0][1..], pair[1][1..]);
            }
            let got = bulks(run(&mut e, c, "HRANDFIELD h 7 WITHVALUES"));
            assert_eq!(got.len(), 14);
        }
    }

    #[test]
    fn hrandfield_withvalues_nests_pairs_under_resp3() {
        let (mut e, c) = engine(Config::default());
        run(&mut e, c, "HSET h a 1");
        let pair = || Reply::Array(vec![Reply::bulk("a"), Reply::bulk("1")]);
        let flat = Reply::Array(vec![Reply::bulk("a"), Reply::bulk("1")]);
        assert_eq!(run(&mut e, c, "HRANDFIELD h 1 WITHVALUES"), flat);
        if let Some(cl) = e.client_mut(c) {
            cl.protocol = Protocol::Resp3;
        }
        assert_eq!(
            run(&mut e, c, "HRANDFIELD h -2 WITHVALUES"),
            Reply::Array(vec![pair(), pair()])
        );
        assert_eq!(
            run(&mut e, c, "HRANDFIELD h 5 WITHVALUES"),
            Reply::Array(vec![pair()])
        );
        assert_eq!(
            run(&mut e, c, "HRANDFIELD h 5"),
            Reply::Array(vec![Reply::bulk("a")])
        );
    }

    #[test]
    fn hscan_walks_a_hashtable_in_steps_and_misses_nothing() {
        let (mut e, c) = engine(Config::default());
        let fields: Vec<String> = (0..1000).map(|i| format!("f{i} {i}")).collect();
        run(&mut e, c, &format!("HSET h {}", fields.join(" ")));
        assert_eq!(
            run(&mut e, c, "OBJECT ENCODING h"),
            Reply::bulk("hashtable")
        );
        let mut cursor = "0".to_string();
        let mut seen = std::collections::BTreeMap::new();
        let mut calls = 0;
        loop {
            let Reply::Array(parts) = run(&mut e, c, &format!("HSCAN h {cursor} COUNT 20")) else {
                panic!("not a scan reply")
            };
            let [Reply::Bulk(next), items] = &parts[..] else {
                panic!("not a scan reply")
            };
            let items = bulks(items.clone());
            assert_eq!(items.len() % 2, 0);
            for pair in items.chunks(2) {
                seen.insert(pair[0].clone(), pair[1].clone());
            }
            calls += 1;
            cursor = String::from_utf8(next.clone()).expect("ascii cursor");
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(calls > 10, "COUNT 20 should take many calls, took {calls}");
        assert_eq!(seen.get(&b"f7"[..]), Some(&b"7".to_vec()));
    }

    #[test]
    fn incr_float_errors() {
        assert_eq!(incr_float(b"1", b"2.5"), Ok(b"3.5".to_vec()));
        assert_eq!(
            incr_float(b"1", b"abc"),
            Err(Reply::error(error::NOT_FLOAT))
        );
        assert_eq!(
            incr_float(b"1", b"inf"),
            Err(Reply::error(error::NAN_OR_INFINITY))
        );
        assert_eq!(
            incr_float(b"x", b"1"),
            Err(Reply::error(error::HASH_NOT_FLOAT))
        );
        // Past f64's range but inside long double's: Redis prints all 309 digits.
        let big = incr_float(b"1.7e308", b"1.7e308").unwrap_or_default();
        // Redis 7.0.15 answers 340000000000000000006273556050395193590540427779388267466087... (309 digits).
        assert!(
            big.starts_with(b"340000000000000000006273556050395193590540427779388267466087")
                && big.len() == 309
        );
        assert_eq!(
            incr_float(b"1e4932", b"1e4932"),
            Err(Reply::error(error::INCR_NAN_OR_INF))
        );
        assert_eq!(
            incr_float(b" 1", b"1"),
            Err(Reply::error(error::HASH_NOT_FLOAT))
        );
        assert_eq!(
            incr_float(b"1e-5000", b"1"),
            Err(Reply::error(error::HASH_NOT_FLOAT))
        );
        // 1e-400 underflows a double but not a long double.
        assert_eq!(incr_float(b"1e-400", b"1"), Ok(b"1".to_vec()));
        assert_eq!(incr_float(b"0e-400", b"1"), Ok(b"1".to_vec()));
    }

    #[test]
    fn incr_float_adds_in_extended_precision() {
        assert_eq!(incr_float(b"10.5", b"0.1"), Ok(b"10.6".to_vec()));
        assert_eq!(
            incr_float(b"-4611686018427387904", b"-8"),
            Ok(b"-4611686018427387912".to_vec())
        );
        assert_eq!(incr_float(b"-2.5", b"2.5"), Ok(b"0".to_vec()));
        assert_eq!(
            incr_float(b"inf", b"1"),
            Err(Reply::error(error::INCR_NAN_OR_INF))
        );
    }
}
