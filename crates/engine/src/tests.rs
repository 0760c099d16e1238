//! Engine-level tests on the virtual clock. Command-by-command behaviour is covered by the
//! differential transcripts against a real Redis; these tests cover what a transcript cannot:
//! time, events and determinism.

use crate::testkit::{fresh, int_of};
use crate::*;

#[test]
fn set_then_get() {
    let mut e = Engine::new(Config::default());
    let c = e.connect(0);
    assert_eq!(e.run(c, &["SET", "k", "v"], 0), Reply::OK);
    assert_eq!(e.run(c, &["GET", "k"], 0), Reply::bulk("v"));
    assert_eq!(e.run(c, &["GET", "missing"], 0), Reply::Nil);
}

#[test]
fn unknown_command_and_arity_errors_match_redis() {
    let mut e = Engine::new(Config::default());
    let c = e.connect(0);
    assert_eq!(
        e.run(c, &["FOO", "a", "b"], 0),
        Reply::error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        e.run(c, &["GET"], 0),
        Reply::error("ERR wrong number of arguments for 'get' command")
    );
}

// ---- Generic keyspace and expiry commands on the virtual clock ----

/// The elements of a SCAN reply: (next cursor, keys).
fn scan_reply(r: Reply) -> (u64, Vec<Vec<u8>>) {
    let Reply::Array(mut parts) = r else {
        panic!("not an array: {r:?}")
    };
    let Reply::Array(items) = parts.pop().expect("two parts") else {
        panic!("no key list")
    };
    let Reply::Bulk(cursor) = parts.pop().expect("two parts") else {
        panic!("no cursor")
    };
    let cursor = String::from_utf8(cursor)
        .expect("ascii")
        .parse()
        .expect("number");
    let keys = items
        .into_iter()
        .map(|k| match k {
            Reply::Bulk(b) => b,
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    (cursor, keys)
}

fn keyspace_ops(events: &[Event]) -> Vec<(usize, String, &'static str)> {
    events
        .iter()
        .filter_map(|ev| match ev {
            Event::Keyspace { db, key, op } => {
                Some((*db, String::from_utf8_lossy(key).into_owned(), *op))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn pexpire_keeps_the_key_alive_through_its_deadline() {
    let (mut e, c) = fresh(Config::default());
    let t = 1_000;
    e.run(c, &["SET", "k", "v"], t);
    assert_eq!(e.run(c, &["PEXPIRE", "k", "100"], t), Reply::Integer(1));
    assert_eq!(e.run(c, &["PEXPIRETIME", "k"], t), Reply::Integer(t + 100));
    assert_eq!(e.run(c, &["PTTL", "k"], t + 40), Reply::Integer(60));
    assert_eq!(e.run(c, &["GET", "k"], t + 100), Reply::bulk("v"));
    assert_eq!(e.run(c, &["PTTL", "k"], t + 100), Reply::Integer(0));
    assert_eq!(e.run(c, &["TTL", "k"], t + 100), Reply::Integer(0));
    assert_eq!(e.run(c, &["EXISTS", "k"], t + 101), Reply::Integer(0));
    assert_eq!(e.run(c, &["GET", "k"], t + 101), Reply::Nil);
    assert_eq!(e.run(c, &["TTL", "k"], t + 101), Reply::Integer(-2));
    assert_eq!(e.dbsize(0), 0);
}

#[test]
fn ttl_rounds_half_up_to_whole_seconds() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v"], 0);
    e.run(c, &["PEXPIRE", "k", "1499"], 0);
    assert_eq!(e.run(c, &["TTL", "k"], 0), Reply::Integer(1));
    e.run(c, &["PEXPIRE", "k", "1500"], 0);
    assert_eq!(e.run(c, &["TTL", "k"], 0), Reply::Integer(2));
    // 500 ms left rounds up, 499 ms left rounds down.
    assert_eq!(e.run(c, &["TTL", "k"], 1_000), Reply::Integer(1));
    assert_eq!(e.run(c, &["TTL", "k"], 1_001), Reply::Integer(0));
    assert_eq!(e.run(c, &["PTTL", "k"], 1_001), Reply::Integer(499));
    // EXPIRETIME rounds the deadline itself the same way.
    e.run(c, &["PEXPIREAT", "k", "2499"], 1_001);
    assert_eq!(e.run(c, &["EXPIRETIME", "k"], 1_001), Reply::Integer(2));
    e.run(c, &["PEXPIREAT", "k", "2500"], 1_001);
    assert_eq!(e.run(c, &["EXPIRETIME", "k"], 1_001), Reply::Integer(3));
}

#[test]
fn relative_expires_count_from_the_command_time() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v"], 5_000);
    e.run(c, &["EXPIRE", "k", "10"], 5_000);
    assert_eq!(
        e.run(c, &["PEXPIRETIME", "k"], 5_000),
        Reply::Integer(15_000)
    );
    e.run(c, &["PEXPIRE", "k", "10"], 6_000);
    assert_eq!(
        e.run(c, &["PEXPIRETIME", "k"], 6_000),
        Reply::Integer(6_010)
    );
    e.run(c, &["EXPIREAT", "k", "20"], 6_000);
    assert_eq!(
        e.run(c, &["PEXPIRETIME", "k"], 6_000),
        Reply::Integer(20_000)
    );
    // GT against the current deadline, computed from the new command's time.
    assert_eq!(
        e.run(c, &["EXPIRE", "k", "13", "GT"], 7_000),
        Reply::Integer(0)
    );
    assert_eq!(
        e.run(c, &["EXPIRE", "k", "14", "GT"], 7_000),
        Reply::Integer(1)
    );
    assert_eq!(
        e.run(c, &["PEXPIRETIME", "k"], 7_000),
        Reply::Integer(21_000)
    );
}

#[test]
fn a_deadline_not_in_the_future_deletes_the_key_as_del() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "now", "v"], 5_000);
    e.run(c, &["SET", "later", "v"], 5_000);
    e.drain_events();
    assert_eq!(
        e.run(c, &["PEXPIREAT", "now", "5000"], 5_000),
        Reply::Integer(1)
    );
    assert_eq!(
        e.run(c, &["PEXPIREAT", "later", "5001"], 5_000),
        Reply::Integer(1)
    );
    let events = e.drain_events();
    assert_eq!(
        keyspace_ops(&events),
        vec![
            (0, "now".to_string(), "del"),
            (0, "later".to_string(), "expire")
        ]
    );
    assert!(
        !events.iter().any(|ev| matches!(ev, Event::Expired { .. })),
        "{events:?}"
    );
    assert_eq!(e.dbsize(0), 1);
    assert_eq!(e.run(c, &["GET", "later"], 5_001), Reply::bulk("v"));
}

#[test]
fn persist_and_commands_on_expired_keys() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v", "PX", "10"], 0);
    assert_eq!(e.run(c, &["PERSIST", "k"], 5), Reply::Integer(1));
    assert_eq!(e.run(c, &["GET", "k"], 1_000), Reply::bulk("v"));
    e.run(c, &["SET", "gone", "v", "PX", "10"], 0);
    e.drain_events();
    // Lazily expired first, so DEL finds nothing and reports no deletion of its own.
    assert_eq!(e.run(c, &["DEL", "gone"], 11), Reply::Integer(0));
    let events = e.drain_events();
    assert!(keyspace_ops(&events).is_empty(), "{events:?}");
    assert!(
        matches!(
            &events[..],
            [Event::Expired {
                by: ExpiredBy::Lazy,
                ..
            }]
        ),
        "{events:?}"
    );
    e.run(c, &["SET", "gone", "v", "PX", "10"], 100);
    assert_eq!(e.run(c, &["PERSIST", "gone"], 111), Reply::Integer(0));
    assert_eq!(e.run(c, &["EXPIRE", "gone", "100"], 111), Reply::Integer(0));
    assert_eq!(
        e.run(c, &["RENAME", "gone", "x"], 111),
        Reply::error("ERR no such key")
    );
}

#[test]
fn scan_returns_every_key_present_for_the_whole_scan() {
    let (mut e, c) = fresh(Config::default());
    let stable: Vec<String> = (0..300).map(|i| format!("stable:{i}")).collect();
    for k in &stable {
        e.run(c, &["SET", k, "v"], 0);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = 0u64;
    let mut calls = 0;
    let mut churn = 0;
    loop {
        let (next, keys) = scan_reply(e.run(c, &["SCAN", &cursor.to_string(), "COUNT", "7"], 0));
        seen.extend(
            keys.into_iter()
                .map(|k| String::from_utf8(k).expect("utf8")),
        );
        cursor = next;
        calls += 1;
        // Between calls the table grows to several times its size, then shrinks back, while
        // some other keys come and go all along.
        if calls < 20 {
            for _ in 0..100 {
                e.run(c, &["SET", &format!("churn:{churn}"), "v"], 0);
                churn += 1;
            }
        } else if calls < 40 {
            for i in (calls - 20) * 100..(calls - 19) * 100 {
                e.run(c, &["DEL", &format!("churn:{i}")], 0);
            }
        }
        if cursor == 0 {
            break;
        }
        assert!(calls < 10_000, "scan does not terminate");
    }
    for k in &stable {
        assert!(seen.contains(k), "SCAN missed {k} after {calls} calls");
    }
    assert!(seen
        .iter()
        .all(|k| k.starts_with("stable:") || k.starts_with("churn:")));
}

#[test]
fn scan_deletes_expired_keys_and_keys_only_hides_them() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "a", "1", "PX", "10"], 0);
    e.run(c, &["SET", "b", "2"], 0);
    assert_eq!(e.run(c, &["KEYS", "*"], 20), Reply::bulks(["b"]));
    assert_eq!(e.dbsize(0), 2);
    let (cursor, keys) = scan_reply(e.run(c, &["SCAN", "0"], 20));
    assert_eq!((cursor, keys), (0, vec![b"b".to_vec()]));
    assert_eq!(e.dbsize(0), 1);
    // Redis's TYPE filter looks the key up first, which expires it and reads its type as
    // "none", so a scan for TYPE none returns the names of keys that just expired.
    e.run(c, &["SET", "c", "3", "PX", "10"], 20);
    let (_, keys) = scan_reply(e.run(c, &["SCAN", "0", "TYPE", "none"], 40));
    assert_eq!(keys, vec![b"c".to_vec()]);
    assert_eq!(e.dbsize(0), 1);
}

#[test]
fn randomkey_is_deterministic_for_a_seed() {
    let picks = |seed: u64| {
        let (mut e, c) = fresh(Config {
            seed,
            ..Config::default()
        });
        for i in 0..100 {
            e.run(c, &["SET", &format!("key:{i}"), "v"], 0);
        }
        (0..30)
            .map(|_| e.run(c, &["RANDOMKEY"], 0))
            .collect::<Vec<_>>()
    };
    let a = picks(7);
    assert_eq!(a, picks(7));
    assert_ne!(a, picks(8));
    let distinct: std::collections::BTreeSet<_> = a.iter().map(|r| format!("{r:?}")).collect();
    assert!(distinct.len() > 10, "{distinct:?}");
}

#[test]
fn randomkey_skips_and_deletes_expired_keys() {
    let (mut e, c) = fresh(Config::default());
    for i in 0..50 {
        e.run(c, &["SET", &format!("old:{i}"), "v", "PX", "10"], 0);
    }
    e.run(c, &["SET", "live", "v"], 0);
    e.drain_events();
    for _ in 0..5 {
        assert_eq!(e.run(c, &["RANDOMKEY"], 100), Reply::bulk("live"));
    }
    let expired = e
        .drain_events()
        .iter()
        .filter(|ev| matches!(ev, Event::Expired { .. }))
        .count();
    assert!(expired > 0);
    assert_eq!(e.dbsize(0), 51 - expired);
    e.run(c, &["DEL", "live"], 100);
    assert_eq!(e.run(c, &["RANDOMKEY"], 100), Reply::Nil);
    assert_eq!(e.dbsize(0), 0);
}

#[test]
fn rename_moves_value_ttl_and_access_time() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v"], 0);
    e.run(c, &["SET", "dst", "old"], 0);
    e.run(c, &["PEXPIRE", "k", "60000"], 0);
    e.drain_events();
    assert_eq!(e.run(c, &["RENAME", "k", "dst"], 3_000), Reply::OK);
    assert_eq!(
        keyspace_ops(&e.drain_events()),
        vec![
            (0, "k".to_string(), "rename_from"),
            (0, "dst".to_string(), "rename_to")
        ]
    );
    assert_eq!(
        e.run(c, &["PEXPIRETIME", "dst"], 3_000),
        Reply::Integer(60_000)
    );
    // RENAME touched the key at 3 s; the renamed entry keeps that access time.
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "dst"], 10_000),
        Reply::Integer(7)
    );
    assert_eq!(e.run(c, &["GET", "dst"], 60_000), Reply::bulk("v"));
    assert_eq!(e.run(c, &["GET", "dst"], 60_001), Reply::Nil);
}

#[test]
fn move_and_copy_reach_other_databases() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v", "PX", "5000"], 0);
    e.drain_events();
    assert_eq!(e.run(c, &["MOVE", "k", "3"], 0), Reply::Integer(1));
    assert_eq!(
        keyspace_ops(&e.drain_events()),
        vec![
            (0, "k".to_string(), "move_from"),
            (3, "k".to_string(), "move_to")
        ]
    );
    assert_eq!(e.dbsize(0), 0);
    assert_eq!(e.dbs[3].expire_of(b"k"), Some(5_000));
    assert_eq!(e.dbs[3].expires.len(), 1);

    e.run(c, &["SET", "s", "12345", "PX", "9000"], 0);
    e.drain_events();
    assert_eq!(
        e.run(c, &["COPY", "s", "t", "DB", "5"], 0),
        Reply::Integer(1)
    );
    assert_eq!(
        keyspace_ops(&e.drain_events()),
        vec![(5, "t".to_string(), "copy_to")]
    );
    assert_eq!(e.dbs[5].expire_of(b"t"), Some(9_000));
    assert_eq!(
        e.dbs[5].keys.get(b"t").map(|en| en.value.encoding()),
        Some("int")
    );
    assert_eq!(
        e.run(c, &["COPY", "s", "t", "DB", "5"], 0),
        Reply::Integer(0)
    );
    // An expired destination counts as absent.
    assert_eq!(e.run(c, &["MOVE", "s", "3"], 0), Reply::Integer(1));
    e.run(c, &["SET", "k", "new"], 6_000);
    assert_eq!(e.run(c, &["MOVE", "k", "3"], 6_000), Reply::Integer(1));
    assert_eq!(e.dbs[3].expire_of(b"k"), None);
}

#[test]
fn object_idletime_counts_ticks_of_the_seconds_clock() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v"], 999);
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 999),
        Reply::Integer(0)
    );
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 1_001),
        Reply::Integer(1)
    );
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 1_999),
        Reply::Integer(1)
    );
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 2_000),
        Reply::Integer(2)
    );
    // None of these touch the key.
    for cmd in [
        &["TYPE", "k"][..],
        &["EXISTS", "k"],
        &["TTL", "k"],
        &["OBJECT", "ENCODING", "k"],
        &["SCAN", "0"],
    ] {
        e.run(c, cmd, 4_000);
    }
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 5_000),
        Reply::Integer(5)
    );
    assert_eq!(
        e.run(c, &["TOUCH", "k", "k", "missing"], 5_000),
        Reply::Integer(2)
    );
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 5_500),
        Reply::Integer(0)
    );
    e.run(c, &["GET", "k"], 8_000);
    assert_eq!(
        e.run(c, &["OBJECT", "IDLETIME", "k"], 9_000),
        Reply::Integer(1)
    );
}

#[test]
fn object_under_an_lfu_policy() {
    let config = Config {
        maxmemory_policy: MaxmemoryPolicy::AllkeysLfu,
        ..Config::default()
    };
    let (mut e, c) = fresh(config);
    e.run(c, &["SET", "k", "v"], 0);
    e.run(c, &["SET", "n", "5"], 0);
    assert_eq!(e.run(c, &["OBJECT", "FREQ", "k"], 0), Reply::Integer(5));
    let idle = e.run(c, &["OBJECT", "IDLETIME", "k"], 0);
    assert!(
        idle.error_text()
            .is_some_and(|t| t.starts_with("ERR An LFU maxmemory policy is selected")),
        "{idle:?}"
    );
    // One step of decay per minute (lfu-decay-time 1), and OBJECT itself does not bump it.
    assert_eq!(
        e.run(c, &["OBJECT", "FREQ", "k"], 180_000),
        Reply::Integer(2)
    );
    assert_eq!(
        e.run(c, &["OBJECT", "FREQ", "k"], 180_000),
        Reply::Integer(2)
    );
    assert_eq!(
        e.run(c, &["OBJECT", "FREQ", "k"], 600_000),
        Reply::Integer(0)
    );
    // Without maxmemory the small integers are still shared; with it, an LFU policy unshares.
    assert_eq!(
        e.run(c, &["OBJECT", "REFCOUNT", "n"], 0),
        Reply::Integer(i64::from(i32::MAX))
    );
    e.config_mut().maxmemory = 1 << 30;
    assert_eq!(e.run(c, &["OBJECT", "REFCOUNT", "n"], 0), Reply::Integer(1));
    e.config_mut().maxmemory_policy = MaxmemoryPolicy::AllkeysRandom;
    assert_eq!(
        e.run(c, &["OBJECT", "REFCOUNT", "n"], 0),
        Reply::Integer(i64::from(i32::MAX))
    );
    let freq = e.run(c, &["OBJECT", "FREQ", "k"], 0);
    assert!(
        freq.error_text()
            .is_some_and(|t| t.starts_with("ERR An LFU maxmemory policy is not selected")),
        "{freq:?}"
    );
}

#[test]
fn read_only_inspection_counts_hits_and_misses() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "k", "v"], 0);
    let before = (e.stats.keyspace_hits, e.stats.keyspace_misses);
    e.run(c, &["EXISTS", "k", "k", "missing"], 0);
    e.run(c, &["TYPE", "k"], 0);
    e.run(c, &["TTL", "missing"], 0);
    e.run(c, &["OBJECT", "ENCODING", "k"], 0);
    e.run(c, &["TOUCH", "k"], 0);
    // Writes (EXPIRE, PERSIST, RENAME) count nothing.
    e.run(c, &["EXPIRE", "k", "100"], 0);
    e.run(c, &["PERSIST", "k"], 0);
    e.run(c, &["RENAME", "k", "k2"], 0);
    assert_eq!(
        (
            e.stats.keyspace_hits - before.0,
            e.stats.keyspace_misses - before.1
        ),
        (5, 2)
    );
}

#[test]
fn del_and_unlink_notify_each_deleted_key() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["SET", "a", "1"], 0);
    e.run(c, &["SET", "b", "2"], 0);
    e.drain_events();
    assert_eq!(
        e.run(c, &["DEL", "a", "a", "missing"], 0),
        Reply::Integer(1)
    );
    assert_eq!(e.run(c, &["UNLINK", "b"], 0), Reply::Integer(1));
    assert_eq!(
        keyspace_ops(&e.drain_events()),
        vec![(0, "a".to_string(), "del"), (0, "b".to_string(), "del")]
    );
    assert_eq!(int_of(e.run(c, &["EXISTS", "a", "b"], 0)), 0);
}

// ---- Transactions ----

#[test]
fn multi_queues_and_exec_runs_at_one_time() {
    let (mut e, c) = fresh(Config::default());
    assert_eq!(e.run(c, &["MULTI"], 0), Reply::OK);
    assert_eq!(
        e.run(c, &["SET", "k", "v", "PX", "10"], 0),
        Reply::simple("QUEUED")
    );
    assert_eq!(e.run(c, &["GET", "k"], 0), Reply::simple("QUEUED"));
    assert_eq!(
        e.run(c, &["MULTI"], 0),
        Reply::error("ERR MULTI calls can not be nested")
    );
    // EXEC at t=1000 runs both commands at t=1000: the key set with PX 10 is still there for
    // the GET inside the same EXEC.
    assert_eq!(
        e.run(c, &["EXEC"], 1000),
        Reply::Array(vec![Reply::OK, Reply::bulk("v")])
    );
    assert_eq!(e.run(c, &["GET", "k"], 1011), Reply::Nil);
    assert_eq!(
        e.run(c, &["EXEC"], 0),
        Reply::error("ERR EXEC without MULTI")
    );
    assert_eq!(
        e.run(c, &["DISCARD"], 0),
        Reply::error("ERR DISCARD without MULTI")
    );
}

#[test]
fn queueing_errors_abort_exec_but_runtime_errors_do_not_roll_back() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["MULTI"], 0);
    assert!(e.run(c, &["NOSUCH"], 0).is_error());
    assert!(e.run(c, &["GET"], 0).is_error());
    assert_eq!(e.run(c, &["SET", "a", "1"], 0), Reply::simple("QUEUED"));
    assert_eq!(e.run(c, &["EXEC"], 0), Reply::error(error::EXECABORT));
    assert_eq!(e.run(c, &["GET", "a"], 0), Reply::Nil);

    e.run(c, &["SET", "s", "notanumber"], 0);
    e.run(c, &["MULTI"], 0);
    e.run(c, &["SET", "a", "1"], 0);
    e.run(c, &["EXPIRE", "s", "abc"], 0);
    e.run(c, &["SET", "b", "2"], 0);
    let Reply::Array(replies) = e.run(c, &["EXEC"], 0) else {
        panic!("EXEC answers an array")
    };
    assert_eq!(replies[0], Reply::OK);
    assert!(replies[1].is_error());
    assert_eq!(replies[2], Reply::OK);
    assert_eq!(e.run(c, &["GET", "b"], 0), Reply::bulk("2"));
}

#[test]
fn watch_aborts_exec_when_another_client_writes() {
    let (mut e, a) = fresh(Config::default());
    let b = e.connect(0);
    e.run(a, &["SET", "lock", "1"], 0);
    assert_eq!(e.run(a, &["WATCH", "lock"], 0), Reply::OK);
    e.run(b, &["SET", "lock", "2"], 1);
    e.run(a, &["MULTI"], 2);
    e.run(a, &["SET", "lock", "3"], 2);
    assert_eq!(e.run(a, &["EXEC"], 3), Reply::NilArray);
    assert_eq!(e.run(a, &["GET", "lock"], 4), Reply::bulk("2"));
    // Without interference the same transaction goes through, and WATCH is cleared by EXEC.
    e.run(a, &["WATCH", "lock"], 5);
    e.run(a, &["MULTI"], 5);
    e.run(a, &["SET", "lock", "3"], 5);
    assert_eq!(e.run(a, &["EXEC"], 6), Reply::Array(vec![Reply::OK]));
    e.run(b, &["SET", "lock", "4"], 7);
    e.run(a, &["MULTI"], 8);
    assert_eq!(e.run(a, &["EXEC"], 8), Reply::Array(vec![]));
}

#[test]
fn watch_is_broken_by_expiry() {
    let (mut e, a) = fresh(Config::default());
    e.config_mut().active_expire_enabled = false;
    e.run(a, &["SET", "k", "v", "PX", "100"], 0);
    e.run(a, &["WATCH", "k"], 0);
    e.run(a, &["MULTI"], 0);
    e.run(a, &["GET", "k"], 0);
    // The key expires before EXEC even though nobody touched it.
    assert_eq!(e.run(a, &["EXEC"], 200), Reply::NilArray);
    // A key already expired when watched does not break the transaction when it is removed.
    e.run(a, &["SET", "old", "v", "PX", "10"], 300);
    e.run(a, &["WATCH", "old"], 400);
    assert_eq!(e.run(a, &["GET", "old"], 400), Reply::Nil);
    e.run(a, &["MULTI"], 400);
    assert_eq!(e.run(a, &["EXEC"], 401), Reply::Array(vec![]));
}

#[test]
fn watch_inside_multi_is_refused_and_unwatch_clears() {
    let (mut e, a) = fresh(Config::default());
    let b = e.connect(0);
    e.run(a, &["MULTI"], 0);
    assert_eq!(
        e.run(a, &["WATCH", "k"], 0),
        Reply::error("ERR WATCH inside MULTI is not allowed")
    );
    assert_eq!(e.run(a, &["DISCARD"], 0), Reply::OK);
    e.run(a, &["WATCH", "k"], 0);
    assert_eq!(e.run(a, &["UNWATCH"], 0), Reply::OK);
    e.run(b, &["SET", "k", "x"], 1);
    e.run(a, &["MULTI"], 2);
    assert_eq!(e.run(a, &["EXEC"], 2), Reply::Array(vec![]));
}

#[test]
fn blocking_commands_do_not_block_inside_exec() {
    let (mut e, c) = fresh(Config::default());
    e.run(c, &["MULTI"], 0);
    e.run(c, &["BLPOP", "empty", "0"], 0);
    e.run(c, &["BRPOP", "empty", "5"], 0);
    assert_eq!(
        e.run(c, &["EXEC"], 0),
        Reply::Array(vec![Reply::NilArray, Reply::NilArray])
    );
    assert!(!e.is_blocked(c));
}

#[test]
fn a_clock_far_ahead_of_the_last_save_saves_once_not_on_every_command() {
    // Redis's default save points, and commands whose time is long after the engine started
    // (a caller on the wall clock): the overdue save point fires once.
    let (mut e, c) = fresh(Config::default());
    let now = 1_764_000_000_000;
    for i in 0..1000 {
        e.run(c, &["SET", &format!("k{i}"), "v"], now + i);
    }
    assert!(e.persist.rdb_saves <= 2, "{} saves", e.persist.rdb_saves);
}

#[test]
fn a_blocked_client_is_refused_until_served_and_its_command_time_is_not_taken() {
    let (mut e, a) = fresh(Config::default());
    let b = e.connect(0);
    assert_eq!(e.run(a, &["BLPOP", "q", "10"], 100), Reply::Blocked);
    assert_eq!(
        e.run(a, &["GET", "q"], 200),
        Reply::error("ERR client is blocked")
    );
    // A refused command does not move the engine's clock.
    assert_eq!(e.now(), 100);
    assert_eq!(e.run(b, &["RPUSH", "q", "x"], 300), Reply::Integer(1));
    assert_eq!(
        e.take_output(a),
        vec![Reply::Array(vec![Reply::bulk("q"), Reply::bulk("x")])]
    );
    assert_eq!(e.run(a, &["GET", "q"], 400), Reply::Nil);
    assert_eq!(
        e.run(99, &["PING"], 500),
        Reply::error("ERR unknown client")
    );
    assert_eq!(e.now(), 500);
}
