//! HyperLogLog commands: PFADD PFCOUNT PFMERGE. The sketch lives in a plain string value in
//! Redis's byte layout (`types::hll`), so GET, SET, DUMP and friends see Redis's bytes.

use crate::object::{RString, Value};
use crate::table::CommandSpec;
use crate::types::hll;
use crate::{error, flags, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "pfadd",
        arity: -2,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "hyperloglog",
        since: "2.8.9",
        summary: "Adds elements to a HyperLogLog sketch, creating it when missing.",
        syntax: "key [element [element ...]]",
        handler: pfadd,
        subcommands: &[],
    },
    CommandSpec {
        name: "pfcount",
        arity: -2,
        flags: flags!(READONLY),
        keys: (1, -1, 1),
        group: "hyperloglog",
        since: "2.8.9",
        summary:
            "Estimates the number of distinct elements in one sketch or in the union of several.",
        syntax: "key [key ...]",
        handler: pfcount,
        subcommands: &[],
    },
    CommandSpec {
        name: "pfmerge",
        arity: -2,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, -1, 1),
        group: "hyperloglog",
        since: "2.8.9",
        summary: "Stores the union of sketches in the destination sketch, merged with its own.",
        syntax: "destkey [sourcekey [sourcekey ...]]",
        handler: pfmerge,
        subcommands: &[],
    },
];

/// The sketch bytes of a value, or the error Redis gives: WRONGTYPE for another type, its
/// HyperLogLog-specific WRONGTYPE for a string that is not a sketch.
fn sketch(v: &Value) -> Result<&[u8], Reply> {
    let bytes: &[u8] = match v {
        Value::Str(RString::Raw(b)) => b,
        Value::Str(RString::Embstr(b)) => b,
        Value::Str(RString::Int(_)) => return Err(Reply::error(error::HLL_WRONGTYPE)),
        _ => return Err(Reply::error(error::WRONGTYPE)),
    };
    if hll::is_hll(bytes) {
        Ok(bytes)
    } else {
        Err(Reply::error(error::HLL_WRONGTYPE))
    }
}

/// The sketch under `key` as a buffer to modify in place (the caller has checked it).
fn sketch_mut<'e>(e: &'e mut Engine, db: usize, key: &[u8]) -> Result<&'e mut Vec<u8>, Reply> {
    match e.dbs[db].keys.get_mut(key).map(|entry| &mut entry.value) {
        Some(Value::Str(s)) => Ok(s.make_raw()),
        _ => Err(Reply::error(error::WRONGTYPE)),
    }
}

fn sparse_max(e: &Engine) -> usize {
    e.config.hll_sparse_max_bytes as usize
}

fn pfadd(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    let max = sparse_max(e);
    let mut updated: u64 = 0;
    match e.write(c.db, key) {
        None => {
            e.add_value(c.db, key, Value::Str(RString::Raw(hll::new_sparse())));
            updated = 1;
        }
        Some(entry) => {
            tri!(sketch(&entry.value));
        }
    }
    let buf = tri!(sketch_mut(e, c.db, key));
    for element in &c.argv[2..] {
        match hll::add(buf, element, max) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            // Registers raised before the damage was found stay raised, as in Redis.
            Err(hll::Corrupt) => return Reply::error(error::HLL_CORRUPT),
        }
    }
    if updated == 0 {
        return Reply::Integer(0);
    }
    hll::invalidate_cache(buf);
    e.notify(c.db, key, "pfadd");
    e.stats.dirty += updated - 1;
    Reply::Integer(1)
}

fn pfcount(e: &mut Engine, c: &Call) -> Reply {
    if c.argv.len() > 2 {
        // The union of several sketches, built in plain byte registers and never stored.
        let mut regs = Box::new([0u8; hll::REGISTERS]);
        for key in &c.argv[1..] {
            let Some(entry) = e.read(c.db, key) else {
                continue;
            };
            let bytes = tri!(sketch(&entry.value));
            if hll::merge_into(&mut regs, bytes).is_err() {
                return Reply::error(error::HLL_CORRUPT);
            }
        }
        return Reply::Integer(hll::estimate(&hll::raw_histogram(&regs)) as i64);
    }
    let key = c.argv[1];
    let Some(entry) = e.read(c.db, key) else {
        return Reply::Integer(0);
    };
    tri!(sketch(&entry.value));
    let buf = tri!(sketch_mut(e, c.db, key));
    if let Some(card) = hll::cached_cardinality(buf) {
        return Reply::Integer(card as i64);
    }
    let Ok(card) = hll::count(buf) else {
        return Reply::error(error::HLL_CORRUPT);
    };
    // Storing the estimate changes the string's bytes: Redis counts it as a change of the key
    // (it is propagated and invalidates WATCH) but sends no keyspace notification.
    hll::store_cardinality(buf, card);
    e.signal_key(c.db, key);
    e.stats.dirty += 1;
    Reply::Integer(card as i64)
}

fn pfmerge(e: &mut Engine, c: &Call) -> Reply {
    let max = sparse_max(e);
    let mut regs = Box::new([0u8; hll::REGISTERS]);
    let mut use_dense = false;
    // The destination's own registers take part in the union.
    for key in &c.argv[1..] {
        let Some(entry) = e.read(c.db, key) else {
            continue;
        };
        let bytes = tri!(sketch(&entry.value));
        use_dense |= hll::is_dense(bytes);
        if hll::merge_into(&mut regs, bytes).is_err() {
            return Reply::error(error::HLL_CORRUPT);
        }
    }
    let dest = c.argv[1];
    if e.write(c.db, dest).is_none() {
        e.add_value(c.db, dest, Value::Str(RString::Raw(hll::new_sparse())));
    }
    let buf = tri!(sketch_mut(e, c.db, dest));
    if use_dense && hll::sparse_to_dense(buf).is_err() {
        return Reply::error(error::HLL_CORRUPT);
    }
    // Register by register, in order: the sparse opcodes come out as Redis writes them.
    for (index, &value) in regs.iter().enumerate() {
        if value != 0 {
            // A damaged destination was refused while merging above.
            let _ = hll::set_register(buf, index, value, max);
        }
    }
    hll::invalidate_cache(buf);
    e.notify(c.db, dest, "pfadd");
    Reply::OK
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Event, Reply};

    fn keyspace_ops(e: &mut Engine) -> Vec<&'static str> {
        e.drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::Keyspace { op, .. } => Some(op),
                _ => None,
            })
            .collect()
    }

    fn bytes_of(r: Reply) -> Vec<u8> {
        match r {
            Reply::Bulk(b) => b,
            other => panic!("not a bulk: {other:?}"),
        }
    }

    #[test]
    fn pfcount_caches_the_estimate_in_the_string() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        assert_eq!(
            e.run(c, &["PFADD", "h", "a", "b", "c"], 0),
            Reply::Integer(1)
        );
        let before = bytes_of(e.run(c, &["GET", "h"], 0));
        assert_eq!(before[15] & 0x80, 0x80);
        let dirty = e.stats.dirty;
        e.drain_events();
        assert_eq!(e.run(c, &["PFCOUNT", "h"], 0), Reply::Integer(3));
        let after = bytes_of(e.run(c, &["GET", "h"], 0));
        assert_eq!(&after[8..16], &[3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&after[16..], &before[16..]);
        // A change of the key, but no keyspace event.
        assert_eq!(e.stats.dirty, dirty + 1);
        assert_eq!(keyspace_ops(&mut e), Vec::<&str>::new());
        // The cached value is served without another write.
        assert_eq!(e.run(c, &["PFCOUNT", "h"], 0), Reply::Integer(3));
        assert_eq!(e.stats.dirty, dirty + 1);
    }

    #[test]
    fn pfadd_events_and_replies() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.drain_events();
        assert_eq!(e.run(c, &["PFADD", "h"], 0), Reply::Integer(1));
        assert_eq!(e.run(c, &["PFADD", "h"], 0), Reply::Integer(0));
        assert_eq!(e.run(c, &["PFADD", "h", "x", "y"], 0), Reply::Integer(1));
        assert_eq!(e.run(c, &["PFADD", "h", "x", "y"], 0), Reply::Integer(0));
        assert_eq!(keyspace_ops(&mut e), ["pfadd", "pfadd"]);
        e.run(c, &["PFMERGE", "m", "h", "nosuch"], 0);
        assert_eq!(keyspace_ops(&mut e), ["pfadd"]);
        assert_eq!(e.run(c, &["PFCOUNT", "m"], 0), Reply::Integer(2));
        assert_eq!(
            e.run(c, &["OBJECT", "ENCODING", "m"], 0),
            Reply::bulk("raw")
        );
    }

    #[test]
    fn sparse_limit_comes_from_the_config() {
        let mut e = Engine::new(Config {
            hll_sparse_max_bytes: 40,
            ..Config::default()
        });
        let c = e.connect(0);
        let elements: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
        let mut argv = vec!["PFADD", "h"];
        argv.extend(elements.iter().map(|s| s.as_str()));
        e.run(c, &argv, 0);
        let b = bytes_of(e.run(c, &["GET", "h"], 0));
        assert_eq!(b[4], 0, "dense");
        assert_eq!(b.len(), crate::types::hll::DENSE_LEN);
        e.config_mut().hll_sparse_max_bytes = 3000;
        e.run(c, &argv, 0);
        e.run(c, &["DEL", "h"], 0);
        e.run(c, &argv, 0);
        let b = bytes_of(e.run(c, &["GET", "h"], 0));
        assert_eq!(b[4], 1, "sparse");
        assert_eq!(e.run(c, &["PFCOUNT", "h"], 0), Reply::Integer(20));
    }

    #[test]
    fn errors() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.run(c, &["SET", "s", "not a sketch at all"], 0);
        e.run(c, &["SET", "n", "12345"], 0);
        let hll_wrongtype = Reply::error(crate::error::HLL_WRONGTYPE);
        assert_eq!(e.run(c, &["PFADD", "s", "a"], 0), hll_wrongtype);
        assert_eq!(e.run(c, &["PFCOUNT", "n"], 0), hll_wrongtype);
        assert_eq!(e.run(c, &["PFMERGE", "d", "s"], 0), hll_wrongtype);
        assert_eq!(e.run(c, &["EXISTS", "d"], 0), Reply::Integer(0));
        // A sparse sketch whose opcodes cover too few registers.
        let damaged = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x40\x01";
        e.execute(c, &[b"SET", b"bad", damaged], 0);
        let corrupt = Reply::error(crate::error::HLL_CORRUPT);
        assert_eq!(e.run(c, &["PFCOUNT", "bad"], 0), corrupt);
        assert_eq!(e.run(c, &["PFCOUNT", "bad", "nosuch"], 0), corrupt);
        assert_eq!(e.run(c, &["PFMERGE", "bad"], 0), corrupt);
    }
}
