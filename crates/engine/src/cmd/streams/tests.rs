//! Stream behaviour a transcript cannot show: generated IDs on a clock that goes back, idle
//! times, blocking reads on virtual time, RESP3 shapes, events. Byte strings in the RESP3 tests
//! were captured from a Redis 7.0.15 server.

use crate::event::Event;
use crate::types::stream::StreamId;
use crate::{to_resp, ClientId, Config, Engine, Protocol, Reply};

fn fresh() -> (Engine, ClientId) {
    let mut e = Engine::new(Config::default());
    let c = e.connect(0);
    (e, c)
}

fn resp2(r: &Reply) -> String {
    String::from_utf8_lossy(&to_resp(r, Protocol::Resp2)).into_owned()
}

fn resp3(r: &Reply) -> String {
    String::from_utf8_lossy(&to_resp(r, Protocol::Resp3)).into_owned()
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

/// `[id, [field, value, ...]]`
fn entry(id: &str, fields: &[&str]) -> Reply {
    Reply::Array(vec![bulk(id), Reply::bulks(fields.iter().copied())])
}

/// A RESP2 XREAD reply for one stream.
fn one_stream(key: &str, entries: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Array(vec![bulk(key), Reply::Array(entries)])])
}

#[test]
fn generated_ids_stay_increasing_when_the_clock_goes_back() {
    let (mut e, c) = fresh();
    assert_eq!(
        e.run(c, &["XADD", "s", "*", "f", "v"], 1000),
        bulk("1000-0")
    );
    assert_eq!(
        e.run(c, &["XADD", "s", "*", "f", "v"], 1000),
        bulk("1000-1")
    );
    // The playground rewinds the clock: the sequence goes on from the last ID.
    assert_eq!(e.run(c, &["XADD", "s", "*", "f", "v"], 400), bulk("1000-2"));
    assert_eq!(e.run(c, &["XADD", "s", "*", "f", "v"], 999), bulk("1000-3"));
    assert_eq!(
        e.run(c, &["XADD", "s", "*", "f", "v"], 1001),
        bulk("1001-0")
    );
    assert_eq!(
        e.run(c, &["XADD", "s", "1001-*", "f", "v"], 0),
        bulk("1001-1")
    );
    assert_eq!(
        e.run(c, &["XADD", "s", "2000-*", "f", "v"], 0),
        bulk("2000-0")
    );
    assert_eq!(
        e.run(c, &["XADD", "s", "*", "f", "v"], 1500),
        bulk("2000-1")
    );
    assert_eq!(
        e.run(c, &["XADD", "s", "1500-*", "f", "v"], 0),
        Reply::error(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        )
    );
    // A stream whose last ID was set ahead with XSETID keeps `*` ahead of it too.
    e.run(c, &["XSETID", "s", "5000-7"], 0);
    assert_eq!(
        e.run(c, &["XADD", "s", "*", "f", "v"], 3000),
        bulk("5000-8")
    );
}

#[test]
fn idle_times_come_from_the_command_time() {
    let (mut e, c) = fresh();
    e.run(c, &["XADD", "s", "1-0", "a", "1"], 0);
    e.run(c, &["XADD", "s", "2-0", "b", "2"], 0);
    e.run(c, &["XGROUP", "CREATE", "s", "g", "0"], 0);
    e.run(
        c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
        1000,
    );
    let pending = e.run(c, &["XPENDING", "s", "g", "-", "+", "10"], 1250);
    let row = |id: &str, who: &str, idle: i64, n: i64| {
        Reply::Array(vec![
            bulk(id),
            bulk(who),
            Reply::Integer(idle),
            Reply::Integer(n),
        ])
    };
    assert_eq!(
        pending,
        Reply::Array(vec![
            row("1-0", "alice", 250, 1),
            row("2-0", "alice", 250, 1)
        ])
    );
    // IDLE filters on the same clock; a clock set back shows an idle time of 0.
    assert_eq!(
        e.run(
            c,
            &["XPENDING", "s", "g", "IDLE", "300", "-", "+", "10"],
            1250
        ),
        Reply::Array(vec![])
    );
    assert_eq!(
        e.run(c, &["XPENDING", "s", "g", "-", "+", "1", "alice"], 500),
        Reply::Array(vec![row("1-0", "alice", 0, 1)])
    );
    // XCLAIM with IDLE and RETRYCOUNT sets both; TIME in the future counts as now.
    e.run(
        c,
        &[
            "XCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "1-0",
            "IDLE",
            "40",
            "RETRYCOUNT",
            "9",
        ],
        2000,
    );
    e.run(
        c,
        &[
            "XCLAIM", "s", "g", "bob", "0", "2-0", "TIME", "99999", "JUSTID",
        ],
        2000,
    );
    assert_eq!(
        e.run(c, &["XPENDING", "s", "g", "-", "+", "10"], 2010),
        Reply::Array(vec![row("1-0", "bob", 50, 9), row("2-0", "bob", 10, 1)])
    );
    let consumers = e.run(c, &["XINFO", "CONSUMERS", "s", "g"], 2100);
    let consumer = |name: &str, pending: i64, idle: i64| {
        Reply::Map(vec![
            (bulk("name"), bulk(name)),
            (bulk("pending"), Reply::Integer(pending)),
            (bulk("idle"), Reply::Integer(idle)),
        ])
    };
    assert_eq!(
        consumers,
        Reply::Array(vec![consumer("alice", 0, 1100), consumer("bob", 2, 100)])
    );
}

#[test]
fn xautoclaim_takes_idle_entries_and_reports_deleted_ones() {
    let (mut e, c) = fresh();
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        e.run(c, &["XADD", "s", id, "f", "v"], 0);
    }
    e.run(c, &["XGROUP", "CREATE", "s", "g", "0"], 0);
    e.run(
        c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
        0,
    );
    e.run(c, &["XDEL", "s", "2-0"], 0);
    // Nothing has been idle for 100 ms yet; the deleted entry is dropped all the same.
    assert_eq!(
        e.run(
            c,
            &["XAUTOCLAIM", "s", "g", "bob", "100", "0", "JUSTID"],
            50
        ),
        Reply::Array(vec![
            bulk("0-0"),
            Reply::Array(vec![]),
            Reply::bulks(["2-0"])
        ])
    );
    assert_eq!(
        e.run(
            c,
            &["XAUTOCLAIM", "s", "g", "bob", "100", "0", "COUNT", "1"],
            150
        ),
        Reply::Array(vec![
            bulk("3-0"),
            Reply::Array(vec![entry("1-0", &["f", "v"])]),
            Reply::Array(vec![]),
        ])
    );
    assert_eq!(
        e.run(
            c,
            &["XAUTOCLAIM", "s", "g", "bob", "100", "3-0", "JUSTID"],
            150
        ),
        Reply::Array(vec![
            bulk("0-0"),
            Reply::bulks(["3-0", "4-0"]),
            Reply::Array(vec![])
        ])
    );
    // The claim without JUSTID counted a delivery; JUSTID did not.
    let pending = e.run(c, &["XPENDING", "s", "g", "-", "+", "10"], 150);
    let counts: Vec<Reply> = match pending {
        Reply::Array(rows) => rows
            .into_iter()
            .map(|r| match r {
                Reply::Array(mut f) => f.remove(3),
                other => other,
            })
            .collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        counts,
        vec![Reply::Integer(2), Reply::Integer(1), Reply::Integer(1)]
    );
    // Only ten times COUNT entries are looked at per call: the cursor stops after them.
    for i in 101..=115 {
        let id = format!("{i}-0");
        e.run(c, &["XADD", "t", &id, "f", "v"], 150);
    }
    e.run(c, &["XGROUP", "CREATE", "t", "h", "0"], 150);
    e.run(
        c,
        &["XREADGROUP", "GROUP", "h", "x", "STREAMS", "t", ">"],
        150,
    );
    assert_eq!(
        e.run(
            c,
            &["XAUTOCLAIM", "t", "h", "y", "1000", "0", "COUNT", "1"],
            160
        ),
        Reply::Array(vec![
            bulk("111-0"),
            Reply::Array(vec![]),
            Reply::Array(vec![])
        ])
    );
    assert_eq!(
        e.run(
            c,
            &["XAUTOCLAIM", "t", "h", "y", "1000", "111-0", "COUNT", "1"],
            160
        ),
        Reply::Array(vec![
            bulk("0-0"),
            Reply::Array(vec![]),
            Reply::Array(vec![])
        ])
    );
}

#[test]
fn blocked_xread_is_woken_by_another_clients_xadd() {
    let (mut e, a) = fresh();
    let b = e.connect(0);
    e.run(b, &["XADD", "s", "1-0", "f", "old"], 0);
    assert_eq!(
        e.run(a, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 10),
        Reply::Blocked
    );
    assert!(e.is_blocked(a));
    // Changes that add nothing do not serve the reader, even though they touch the key.
    e.run(b, &["XGROUP", "CREATE", "s", "g", "0"], 20);
    e.run(b, &["XSETID", "s", "1-5"], 20);
    assert!(e.is_blocked(a));
    assert!(e.take_output(a).is_empty());
    e.run(b, &["XADD", "s", "2-0", "f", "new"], 30);
    assert!(!e.is_blocked(a));
    assert_eq!(
        e.take_output(a),
        vec![one_stream("s", vec![entry("2-0", &["f", "new"])])]
    );
    // `$` means the last ID when the client blocked, not when it is served.
    assert_eq!(
        e.run(
            a,
            &["XREAD", "BLOCK", "0", "STREAMS", "missing", "s", "$", "$"],
            40
        ),
        Reply::Blocked
    );
    e.run(b, &["MULTI"], 50);
    e.run(b, &["XADD", "s", "3-0", "f", "x"], 50);
    e.run(b, &["XADD", "s", "4-0", "f", "y"], 50);
    e.run(b, &["EXEC"], 50);
    assert_eq!(
        e.take_output(a),
        vec![one_stream(
            "s",
            vec![entry("3-0", &["f", "x"]), entry("4-0", &["f", "y"])]
        )]
    );
}

#[test]
fn blocked_xread_times_out_on_virtual_time() {
    let (mut e, a) = fresh();
    assert_eq!(
        e.run(a, &["XREAD", "BLOCK", "100", "STREAMS", "s", "$"], 1000),
        Reply::Blocked
    );
    e.advance(1100);
    assert!(e.is_blocked(a), "the deadline itself has not passed yet");
    e.advance(1101);
    assert!(!e.is_blocked(a));
    let out = e.take_output(a);
    assert_eq!(out, vec![Reply::NilArray]);
    assert_eq!(resp2(&out[0]), "*-1\r\n");
    assert_eq!(resp3(&out[0]), "_\r\n");
    // BLOCK 0 waits for as long as it takes.
    e.run(a, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 2000);
    e.advance(10_000_000);
    assert!(e.is_blocked(a));
}

#[test]
fn a_served_block_without_count_gets_at_most_1000_entries() {
    let (mut e, a) = fresh();
    let b = e.connect(0);
    e.run(a, &["XREAD", "BLOCK", "0", "STREAMS", "s", "0"], 0);
    e.run(b, &["MULTI"], 0);
    for i in 1..=1200 {
        let id = format!("{i}-0");
        e.run(b, &["XADD", "s", &id, "f", "v"], 0);
    }
    e.run(b, &["EXEC"], 0);
    let out = e.take_output(a);
    let Some(Reply::Array(streams)) = out.first() else {
        panic!("{out:?}")
    };
    let Reply::Array(pair) = &streams[0] else {
        panic!()
    };
    let Reply::Array(entries) = &pair[1] else {
        panic!()
    };
    assert_eq!(entries.len(), 1000);
}

#[test]
fn xadd_that_trims_everything_serves_an_empty_list() {
    let (mut e, a) = fresh();
    let b = e.connect(0);
    e.run(b, &["XADD", "s", "1-0", "f", "v"], 0);
    e.run(a, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 0);
    e.run(b, &["XADD", "s", "MAXLEN", "0", "2-0", "f", "v"], 0);
    assert_eq!(e.take_output(a), vec![one_stream("s", vec![])]);
}

#[test]
fn blocked_xreadgroup_is_served_new_entries_and_records_them() {
    let (mut e, a) = fresh();
    let b = e.connect(0);
    e.run(b, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], 0);
    assert_eq!(
        e.run(
            a,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">"
            ],
            0
        ),
        Reply::Blocked
    );
    // The consumer only exists once it is served.
    assert_eq!(
        e.run(b, &["XINFO", "CONSUMERS", "s", "g"], 5),
        Reply::Array(vec![])
    );
    // Moving the group back does not wake the reader by itself.
    e.run(b, &["XGROUP", "SETID", "s", "g", "0"], 5);
    assert!(e.is_blocked(a));
    e.drain_events();
    e.run(b, &["XADD", "s", "1-0", "f", "v"], 10);
    assert_eq!(
        e.take_output(a),
        vec![one_stream("s", vec![entry("1-0", &["f", "v"])])]
    );
    let events = e.drain_events();
    assert!(events.contains(&Event::StreamDelivered {
        db: 0,
        key: b"s".to_vec(),
        group: b"g".to_vec(),
        consumer: b"alice".to_vec(),
        ids: vec![StreamId::new(1, 0)],
        history: false,
        noack: false,
    }));
    assert!(events.iter().any(|ev| matches!(
        ev,
        Event::Keyspace {
            op: "xgroup-createconsumer",
            ..
        }
    )));
    assert_eq!(
        e.run(b, &["XPENDING", "s", "g"], 20),
        Reply::Array(vec![
            Reply::Integer(1),
            bulk("1-0"),
            bulk("1-0"),
            Reply::Array(vec![Reply::bulks(["alice", "1"])]),
        ])
    );
    // NOACK readers leave nothing pending.
    e.run(
        a,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "NOACK",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        30,
    );
    e.run(b, &["XADD", "s", "2-0", "f", "w"], 40);
    assert_eq!(
        e.take_output(a),
        vec![one_stream("s", vec![entry("2-0", &["f", "w"])])]
    );
    assert_eq!(
        e.run(b, &["XPENDING", "s", "g"], 50),
        Reply::Array(vec![
            Reply::Integer(1),
            bulk("1-0"),
            bulk("1-0"),
            Reply::Array(vec![Reply::bulks(["alice", "1"])]),
        ])
    );
}

#[test]
fn blocked_xreadgroup_fails_when_its_group_or_stream_goes() {
    let (mut e, a) = fresh();
    let b = e.connect(0);
    e.run(b, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"], 0);
    e.run(
        a,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        0,
    );
    e.run(b, &["XGROUP", "DESTROY", "s", "g"], 0);
    assert_eq!(
        e.take_output(a),
        vec![Reply::error(
            "NOGROUP the consumer group this client was blocked on no longer exists"
        )]
    );
    e.run(b, &["XGROUP", "CREATE", "s", "g", "$"], 0);
    e.run(
        a,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        0,
    );
    e.run(b, &["DEL", "s"], 0);
    assert_eq!(
        e.take_output(a),
        vec![Reply::error("UNBLOCKED the stream key no longer exists")]
    );
    // A plain XREAD just keeps waiting when its stream is deleted or replaced.
    e.run(b, &["XADD", "s", "5-0", "f", "v"], 0);
    e.run(a, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 0);
    e.run(b, &["DEL", "s"], 0);
    e.run(b, &["SET", "s", "x"], 0);
    assert!(e.is_blocked(a));
    e.run(b, &["DEL", "s"], 0);
    // Recreated below the ID it waits for: still nothing newer.
    e.run(b, &["XADD", "s", "3-0", "f", "v"], 0);
    assert!(e.is_blocked(a));
    e.run(b, &["XADD", "s", "6-0", "f", "v"], 0);
    assert_eq!(
        e.take_output(a),
        vec![one_stream("s", vec![entry("6-0", &["f", "v"])])]
    );
}

#[test]
fn blocking_is_refused_inside_a_transaction() {
    let (mut e, a) = fresh();
    e.run(a, &["MULTI"], 0);
    e.run(a, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 0);
    e.run(
        a,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        0,
    );
    let r = e.run(a, &["EXEC"], 0);
    assert_eq!(
        r,
        Reply::Array(vec![
            Reply::NilArray,
            Reply::error(
                "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
            ),
        ])
    );
    assert!(!e.is_blocked(a));
}

#[test]
fn acks_and_claims_are_events() {
    let (mut e, c) = fresh();
    e.run(c, &["XADD", "s", "1-0", "f", "v"], 0);
    e.run(c, &["XADD", "s", "2-0", "f", "v"], 0);
    e.run(c, &["XGROUP", "CREATE", "s", "g", "0"], 0);
    e.run(
        c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"],
        0,
    );
    e.run(c, &["XDEL", "s", "2-0"], 0);
    e.drain_events();
    e.run(
        c,
        &["XCLAIM", "s", "g", "b", "0", "1-0", "2-0", "JUSTID"],
        0,
    );
    e.run(c, &["XACK", "s", "g", "1-0", "2-0"], 0);
    let events = e.drain_events();
    let id = StreamId::new;
    assert!(events.contains(&Event::StreamClaimed {
        db: 0,
        key: b"s".to_vec(),
        group: b"g".to_vec(),
        consumer: b"b".to_vec(),
        ids: vec![id(1, 0)],
        dropped: vec![id(2, 0)],
    }));
    assert!(events.contains(&Event::StreamAcked {
        db: 0,
        key: b"s".to_vec(),
        group: b"g".to_vec(),
        ids: vec![id(1, 0)],
    }));
}

#[test]
fn resp3_replies_have_redis_shapes() {
    let (mut e, c) = fresh();
    e.run(c, &["HELLO", "3"], 0);
    e.run(c, &["XADD", "s", "1-0", "a", "1"], 0);
    e.run(c, &["XADD", "s", "2-0", "b", "2"], 0);
    e.run(c, &["XADD", "s2", "1-0", "x", "1"], 0);
    let check = |e: &mut Engine, argv: &[&str], want: &str| {
        let r = e.run(c, argv, 0);
        assert_eq!(resp3(&r), want, "{argv:?}");
    };
    check(
        &mut e,
        &["XREAD", "STREAMS", "s", "s2", "1", "0"],
        "%2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\ns2\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n",
    );
    check(&mut e, &["XREAD", "STREAMS", "s", "2"], "_\r\n");
    check(&mut e, &["XRANGE", "s", "-", "+", "COUNT", "0"], "_\r\n");
    e.run(c, &["XGROUP", "CREATE", "s", "g", "0"], 0);
    e.run(c, &["XGROUP", "CREATE", "s", "g2", "0"], 0);
    e.run(c, &["XGROUP", "SETID", "s", "g2", "0"], 0);
    check(
        &mut e,
        &["XPENDING", "s", "g"],
        "*4\r\n:0\r\n_\r\n_\r\n_\r\n",
    );
    check(
        &mut e,
        &["XINFO", "GROUPS", "s"],
        "*2\r\n%6\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:2\r\n%6\r\n$4\r\nname\r\n$2\r\ng2\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:2\r\n",
    );
    check(
        &mut e,
        &["XINFO", "STREAM", "s"],
        "%10\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$6\r\ngroups\r\n:2\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    check(
        &mut e,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        "%1\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    e.run(c, &["XDEL", "s", "1-0"], 0);
    check(
        &mut e,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        "%1\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n_\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
}

#[test]
fn stream_values_are_counted_in_memory() {
    let (mut e, c) = fresh();
    let before = e.used_memory();
    for i in 1..=300 {
        let id = format!("{i}-0");
        e.run(c, &["XADD", "s", &id, "field", "some value"], 0);
    }
    let after = e.used_memory();
    assert!(after > before + 300 * 10, "{before} -> {after}");
    assert_eq!(
        e.run(c, &["OBJECT", "ENCODING", "s"], 0),
        Reply::bulk("stream")
    );
    assert_eq!(e.run(c, &["TYPE", "s"], 0), Reply::Simple("stream".into()));
}

#[test]
fn xclaim_force_creates_pending_entries_with_redis_counts() {
    let (mut e, c) = fresh();
    e.run(c, &["XADD", "s", "1-0", "f", "v"], 0);
    e.run(c, &["XADD", "s", "2-0", "f", "v"], 0);
    e.run(c, &["XGROUP", "CREATE", "s", "g", "$"], 0);
    // A forced claim makes a pending entry delivered once, then counts the claim itself,
    // unless JUSTID.
    e.run(c, &["XCLAIM", "s", "g", "c", "0", "1-0", "FORCE"], 10);
    e.run(
        c,
        &["XCLAIM", "s", "g", "c", "0", "2-0", "FORCE", "JUSTID"],
        10,
    );
    let row = |id: &str, n: i64| {
        Reply::Array(vec![
            bulk(id),
            bulk("c"),
            Reply::Integer(5),
            Reply::Integer(n),
        ])
    };
    assert_eq!(
        e.run(c, &["XPENDING", "s", "g", "-", "+", "10"], 15),
        Reply::Array(vec![row("1-0", 2), row("2-0", 1)])
    );
}
