use super::*;
use crate::{Engine, Reply};

fn cluster(replicas: usize) -> Cluster {
    Cluster::new(
        ClusterConfig {
            replicas_per_master: replicas,
            ..ClusterConfig::default()
        },
        0,
    )
}

fn err(r: Reply) -> String {
    match r {
        Reply::Error(e) => e.into_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

#[test]
fn slots_are_split_as_redis_cli_does() {
    assert_eq!(
        even_split(3),
        vec![(0, 5460), (5461, 10922), (10923, 16383)]
    );
    let c = cluster(0);
    assert_eq!(c.slot_owner(0), Some(0));
    assert_eq!(c.slot_owner(5461), Some(1));
    assert_eq!(c.slot_owner(16383), Some(2));
    assert!(c.state_ok());
    let ids: Vec<String> = (0..3).map(|i| c.node_id(i).to_string()).collect();
    assert!(ids
        .iter()
        .all(|id| id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    assert_ne!(ids[0], ids[1]);
    assert_eq!(cluster(0).node_id(2), ids[2], "ids come from the seed");
}

#[test]
fn moved_crossslot_and_hash_tags() {
    let mut c = cluster(0);
    let a = c.connect(0, 0);
    // foo is in slot 12182, served by the third node.
    assert_eq!(
        err(c.run(0, a, &["SET", "foo", "bar"], 1)),
        "MOVED 12182 127.0.0.1:30003"
    );
    let z = c.connect(2, 0);
    assert_eq!(c.run(2, z, &["SET", "foo", "bar"], 1), Reply::OK);
    assert_eq!(c.run(2, z, &["GET", "foo"], 1), bulk("bar"));
    assert_eq!(
        err(c.run(0, a, &["MSET", "a", "1", "b", "2"], 1)),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    // The same key twice is not a cross-slot request.
    assert_eq!(
        err(c.run(0, a, &["MSET", "a", "1", "a", "2"], 1)),
        "MOVED 15495 127.0.0.1:30003"
    );
    let slot = key_hash_slot(b"user");
    let owner = c.slot_owner(slot).expect("assigned");
    let o = c.connect(owner, 0);
    assert_eq!(
        c.run(owner, o, &["MSET", "{user}a", "1", "{user}b", "2"], 1),
        Reply::OK
    );
    assert_eq!(
        c.run(
            owner,
            o,
            &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()],
            1
        ),
        Reply::Integer(2)
    );
    assert_eq!(
        c.run(
            owner,
            o,
            &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "10"],
            1
        ),
        Reply::bulks(["{user}b", "{user}a"])
    );
    // Keyless commands run anywhere.
    assert_eq!(c.run(0, a, &["PING"], 1), Reply::simple("PONG"));
    assert_eq!(c.run(0, a, &["DBSIZE"], 1), Reply::Integer(0));
    let ev = c.drain_events();
    assert!(ev.iter().any(|e| matches!(
        e,
        ClusterEvent::Redirected {
            node: 0,
            redirect: Redirect::Moved { slot: 12182, to: 2 },
            ..
        }
    )));
}

#[test]
fn cluster_mode_refuses_other_databases() {
    let mut c = cluster(0);
    let a = c.connect(0, 0);
    assert_eq!(
        err(c.run(0, a, &["SELECT", "1"], 0)),
        "ERR SELECT is not allowed in cluster mode"
    );
    assert_eq!(c.run(0, a, &["SELECT", "0"], 0), Reply::OK);
    assert_eq!(
        err(c.run(0, a, &["SWAPDB", "0", "1"], 0)),
        "ERR SWAPDB is not allowed in cluster mode"
    );
    let Reply::Verbatim(_, info) = c.run(0, a, &["INFO", "cluster"], 0) else {
        panic!("INFO answers verbatim text")
    };
    assert_eq!(info, b"# Cluster\r\ncluster_enabled:1\r\n");

    let mut single = Engine::new(crate::Config::default());
    let s = single.connect(0);
    assert_eq!(
        err(single.run(s, &["CLUSTER", "INFO"], 0)),
        "ERR This instance has cluster support disabled"
    );
    assert_eq!(
        err(single.run(s, &["READONLY"], 0)),
        "ERR This instance has cluster support disabled"
    );
    assert_eq!(single.run(s, &["SELECT", "1"], 0), Reply::OK);
    assert_eq!(single.run(s, &["WAIT", "0", "0"], 0), Reply::Integer(0));
    // No replica will ever acknowledge: WAIT 1 times out with 0.
    assert_eq!(single.run(s, &["WAIT", "1", "100"], 0), Reply::Blocked);
    single.advance(101);
    assert_eq!(single.take_output(s), vec![Reply::Integer(0)]);
}

#[test]
fn transactions_are_routed_as_a_whole() {
    let mut c = cluster(0);
    let z = c.connect(2, 0);
    assert_eq!(c.run(2, z, &["MULTI"], 0), Reply::OK);
    assert_eq!(
        c.run(2, z, &["SET", "foo", "1"], 0),
        Reply::simple("QUEUED")
    );
    // "a" (15495) is on the same node as "foo" (12182), but in another slot.
    assert_eq!(c.run(2, z, &["SET", "a", "1"], 0), Reply::simple("QUEUED"));
    assert_eq!(
        err(c.run(2, z, &["EXEC"], 0)),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    // The transaction is gone.
    assert_eq!(err(c.run(2, z, &["EXEC"], 0)), "ERR EXEC without MULTI");
    assert_eq!(c.run(2, z, &["GET", "foo"], 0), Reply::Nil);

    // A redirected command poisons the transaction.
    assert_eq!(c.run(2, z, &["MULTI"], 0), Reply::OK);
    assert_eq!(
        err(c.run(2, z, &["SET", "b", "1"], 0)),
        "MOVED 3300 127.0.0.1:30001"
    );
    assert_eq!(
        err(c.run(2, z, &["EXEC"], 0)),
        "EXECABORT Transaction discarded because of previous errors."
    );
}

/// Moves slot 12182 ("foo") from node 2 to node 0 with the real protocol steps.
#[test]
fn resharding_with_ask_redirects() {
    let mut c = cluster(0);
    let (n0, n2) = (c.node_id(0).to_string(), c.node_id(2).to_string());
    let a = c.connect(0, 0);
    let z = c.connect(2, 0);
    assert_eq!(
        c.run(2, z, &["SET", "foo", "bar", "PX", "50000"], 0),
        Reply::OK
    );
    assert_eq!(c.run(2, z, &["SET", "{foo}2", "x"], 0), Reply::OK);
    assert_eq!(
        c.run(0, a, &["CLUSTER", "SETSLOT", "12182", "IMPORTING", &n2], 0),
        Reply::OK
    );
    assert_eq!(
        c.run(2, z, &["CLUSTER", "SETSLOT", "12182", "MIGRATING", &n0], 0),
        Reply::OK
    );
    // Keys still on the source are served there; missing ones are asked for on the target.
    assert_eq!(c.run(2, z, &["GET", "foo"], 1), bulk("bar"));
    assert_eq!(
        err(c.run(2, z, &["GET", "{foo}missing"], 1)),
        "ASK 12182 127.0.0.1:30001"
    );
    assert_eq!(
        c.run(2, z, &["CLUSTER", "GETKEYSINSLOT", "12182", "10"], 1),
        Reply::bulks(["{foo}2", "foo"])
    );
    assert_eq!(
        c.run(
            2,
            z,
            &[
                "MIGRATE",
                "127.0.0.1",
                "30001",
                "",
                "0",
                "5000",
                "KEYS",
                "foo"
            ],
            10
        ),
        Reply::OK
    );
    // One key here, one there: a multi-key request must wait.
    assert_eq!(
        err(c.run(2, z, &["MGET", "foo", "{foo}2"], 11)),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    assert_eq!(
        err(c.run(2, z, &["GET", "foo"], 11)),
        "ASK 12182 127.0.0.1:30001"
    );
    // Without ASKING the target still sends clients to the owner.
    assert_eq!(
        err(c.run(0, a, &["GET", "foo"], 11)),
        "MOVED 12182 127.0.0.1:30003"
    );
    assert_eq!(c.run(0, a, &["ASKING"], 11), Reply::OK);
    assert_eq!(c.run(0, a, &["GET", "foo"], 11), bulk("bar"));
    // ASKING counts for one command only.
    assert_eq!(
        err(c.run(0, a, &["GET", "foo"], 11)),
        "MOVED 12182 127.0.0.1:30003"
    );
    assert_eq!(c.run(0, a, &["ASKING"], 11), Reply::OK);
    assert_eq!(c.run(0, a, &["PTTL", "foo"], 11), Reply::Integer(49989));
    // A key already on the target is not overwritten without REPLACE.
    assert_eq!(c.run(0, a, &["ASKING"], 12), Reply::OK);
    assert_eq!(c.run(0, a, &["SET", "{foo}2", "other"], 12), Reply::OK);
    assert_eq!(
        err(c.run(
            2,
            z,
            &["MIGRATE", "127.0.0.1", "30001", "{foo}2", "0", "5000"],
            12
        )),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    assert_eq!(
        c.run(
            2,
            z,
            &[
                "MIGRATE",
                "127.0.0.1",
                "30001",
                "{foo}2",
                "0",
                "5000",
                "REPLACE"
            ],
            12
        ),
        Reply::OK
    );
    assert_eq!(
        c.run(
            2,
            z,
            &["MIGRATE", "127.0.0.1", "30001", "{foo}2", "0", "5000"],
            12
        ),
        Reply::simple("NOKEY")
    );
    // The source cannot give the slot away while it holds keys of it; now it holds none.
    assert_eq!(
        c.run(2, z, &["CLUSTER", "COUNTKEYSINSLOT", "12182"], 12),
        Reply::Integer(0)
    );
    assert_eq!(
        c.run(0, a, &["CLUSTER", "SETSLOT", "12182", "NODE", &n0], 13),
        Reply::OK
    );
    assert_eq!(
        c.run(2, z, &["CLUSTER", "SETSLOT", "12182", "NODE", &n0], 13),
        Reply::OK
    );
    assert_eq!(
        err(c.run(2, z, &["GET", "foo"], 14)),
        "MOVED 12182 127.0.0.1:30001"
    );
    assert_eq!(c.run(0, a, &["GET", "foo"], 14), bulk("bar"));
    assert_eq!(c.run(0, a, &["GET", "{foo}2"], 14), bulk("x"));
    assert_eq!(c.slot_owner(12182), Some(0));
    // Node 0 took the slot with a new epoch, higher than every other.
    assert_eq!(c.node(0).config_epoch, 4);
    let Reply::Verbatim(_, nodes) = c.run(0, a, &["CLUSTER", "NODES"], 14) else {
        panic!("CLUSTER NODES answers verbatim text")
    };
    let text = String::from_utf8(nodes).expect("text");
    let mine = text
        .lines()
        .find(|l| l.contains("myself"))
        .expect("a line for myself");
    assert!(
        mine.ends_with("4 connected 0-5460 12182"),
        "unexpected line: {mine}"
    );
}

#[test]
fn setslot_errors() {
    let mut c = cluster(0);
    let n2 = c.node_id(2).to_string();
    let a = c.connect(0, 0);
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "SETSLOT", "12182", "MIGRATING", &n2], 0)),
        "ERR I'm not the owner of hash slot 12182"
    );
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "SETSLOT", "1", "IMPORTING", &n2], 0)),
        "ERR I'm already the owner of hash slot 1"
    );
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "SETSLOT", "16384", "STABLE"], 0)),
        "ERR Invalid or out of range slot"
    );
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "SETSLOT", "1", "NODE", "abc"], 0)),
        "ERR Unknown node abc"
    );
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "SETSLOT", "1", "FOO"], 0)),
        "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
    );
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "ADDSLOTS", "1"], 0)),
        "ERR Slot 1 is already busy"
    );
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "ADDSLOTSRANGE", "5", "1"], 0)),
        "ERR start slot number 5 is greater than end slot number 1"
    );
}

#[test]
fn unassigned_slots_and_addslots() {
    let mut c = Cluster::new(
        ClusterConfig {
            assign_slots: false,
            ..ClusterConfig::default()
        },
        0,
    );
    let a = c.connect(0, 0);
    assert!(!c.state_ok());
    assert_eq!(
        err(c.run(0, a, &["GET", "x"], 0)),
        "CLUSTERDOWN Hash slot not served"
    );
    assert_eq!(
        c.run(0, a, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"], 0),
        Reply::OK
    );
    assert!(c.state_ok());
    assert_eq!(c.run(0, a, &["SET", "x", "1"], 0), Reply::OK);
    assert_eq!(
        err(c.run(0, a, &["CLUSTER", "DELSLOTS", "3", "3"], 0)),
        "ERR Slot 3 specified multiple times"
    );
    assert_eq!(c.run(0, a, &["CLUSTER", "DELSLOTS", "16287"], 0), Reply::OK);
    // x is in slot 16287.
    assert_eq!(
        err(c.run(0, a, &["GET", "x"], 0)),
        "CLUSTERDOWN Hash slot not served"
    );
    assert_eq!(
        err(c.run(0, a, &["GET", "y"], 0)),
        "CLUSTERDOWN The cluster is down"
    );
}

#[test]
fn replicas_follow_after_the_lag_and_wait_counts_them() {
    let mut c = cluster(1);
    assert_eq!(c.len(), 6);
    assert_eq!(c.node(3).master, Some(0));
    let m = c.connect(0, 0);
    let r = c.connect(3, 0);
    assert_eq!(c.run(0, m, &["SET", "b", "1"], 1000), Reply::OK);
    // A replica redirects to its master unless the client said READONLY.
    assert_eq!(
        err(c.run(3, r, &["GET", "b"], 1000)),
        "MOVED 3300 127.0.0.1:30001"
    );
    assert_eq!(c.run(3, r, &["READONLY"], 1000), Reply::OK);
    assert_eq!(c.run(3, r, &["GET", "b"], 1000), Reply::Nil);
    assert_eq!(
        err(c.run(3, r, &["SET", "b", "2"], 1000)),
        "MOVED 3300 127.0.0.1:30001"
    );
    assert_eq!(
        err(c.run(3, r, &["FLUSHALL"], 1000)),
        "READONLY You can't write against a read only replica."
    );
    // WAIT blocks until the replica has the write.
    assert_eq!(c.run(0, m, &["WAIT", "1", "0"], 1000), Reply::Blocked);
    c.advance(1050);
    assert!(c.take_output(0, m).is_empty());
    c.advance(1100);
    assert_eq!(c.take_output(0, m), vec![Reply::Integer(1)]);
    assert_eq!(c.run(3, r, &["GET", "b"], 1100), bulk("1"));
    assert_eq!(c.run(0, m, &["WAIT", "1", "0"], 1100), Reply::Integer(1));
    // A timeout shorter than the lag: WAIT answers with the replicas it got in time.
    assert_eq!(c.run(0, m, &["INCR", "b"], 2000), Reply::Integer(2));
    assert_eq!(c.run(0, m, &["WAIT", "1", "50"], 2000), Reply::Blocked);
    c.advance(2051);
    assert_eq!(c.take_output(0, m), vec![Reply::Integer(0)]);
    let backlog = c.backlog(0);
    assert_eq!(backlog.len(), 1, "only the INCR is still on its way");
    assert_eq!(backlog[0].keys(), vec![&b"b"[..]]);
    assert_eq!(backlog[0].command, vec![b"INCR".to_vec(), b"b".to_vec()]);
    assert_eq!(
        err(c.run(3, r, &["WAIT", "1", "50"], 2051)),
        error_wait_replica()
    );
    let Reply::Verbatim(_, info) = c.run(3, r, &["INFO", "replication"], 2200) else {
        panic!("verbatim")
    };
    let info = String::from_utf8(info).expect("text");
    assert!(info.contains("role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:30001\r\n"));
    assert_eq!(c.run(3, r, &["GET", "b"], 2200), bulk("2"));
    let events = c.drain_events();
    assert!(events.iter().any(|e| matches!(
        e,
        ClusterEvent::ReplicationApplied {
            master: 0,
            replica: 3,
            ..
        }
    )));
}

fn error_wait_replica() -> &'static str {
    crate::error::WAIT_ON_REPLICA
}

#[test]
fn automatic_failover_loses_unreplicated_writes() {
    let mut c = cluster(1);
    c.set_repl_lag(1000);
    let m = c.connect(0, 0);
    assert_eq!(c.run(0, m, &["SET", "b", "safe"], 0), Reply::OK);
    c.advance(2000);
    assert_eq!(c.run(0, m, &["SET", "b", "lost"], 2500), Reply::OK);
    assert_eq!(c.run(0, m, &["SET", "{b}2", "lost"], 2600), Reply::OK);
    c.fail_node(0, 2700);
    let other = c.connect(1, 2700);
    // Until the others agree the master failed, clients are still sent to it.
    assert_eq!(
        err(c.run(1, other, &["GET", "b"], 3000)),
        "MOVED 3300 127.0.0.1:30001"
    );
    assert_eq!(
        err(c.run(0, m, &["GET", "b"], 3000)),
        crate::error::NODE_DOWN
    );
    c.advance(2700 + 15_000);
    assert!(!c.state_ok());
    assert_eq!(
        err(c.run(1, other, &["GET", "b"], 17_700)),
        "CLUSTERDOWN The cluster is down"
    );
    // The replica wins its election within a second (rank 0).
    c.advance(2700 + 15_000 + 1000);
    assert!(c.state_ok());
    assert_eq!(c.node(3).master, None);
    assert_eq!(c.slot_owner(3300), Some(3));
    assert_eq!(
        err(c.run(1, other, &["GET", "b"], 19_000)),
        "MOVED 3300 127.0.0.1:30004"
    );
    let r = c.connect(3, 19_000);
    assert_eq!(c.run(3, r, &["GET", "b"], 19_000), bulk("safe"));
    let lost: Vec<Vec<Vec<u8>>> = c.lost_writes().iter().map(|w| w.command.clone()).collect();
    assert_eq!(
        lost,
        vec![
            vec![b"SET".to_vec(), b"b".to_vec(), b"lost".to_vec()],
            vec![b"SET".to_vec(), b"{b}2".to_vec(), b"lost".to_vec()],
        ]
    );
    let events = c.drain_events();
    assert!(events.iter().any(|e| matches!(
        e,
        ClusterEvent::Failover {
            old_master: 0,
            new_master: 3,
            kind: FailoverKind::Automatic,
            ..
        }
    )));
    assert!(events
        .iter()
        .any(|e| matches!(e, ClusterEvent::WritesLost { writes, .. } if writes.len() == 2)));
    // The old master comes back as a replica of the winner, with the winner's data.
    c.recover_node(0, 20_000);
    assert_eq!(c.node(0).master, Some(3));
    assert_eq!(c.run(0, m, &["READONLY"], 20_000), Reply::OK);
    assert_eq!(c.run(0, m, &["GET", "b"], 20_000), bulk("safe"));
    assert_eq!(c.run(0, m, &["GET", "{b}2"], 20_000), Reply::Nil);
}

#[test]
fn manual_failover_loses_nothing() {
    let mut c = cluster(1);
    c.set_repl_lag(5000);
    let m = c.connect(0, 0);
    let r = c.connect(3, 0);
    assert_eq!(c.run(0, m, &["SET", "b", "1"], 10), Reply::OK);
    assert_eq!(
        err(c.run(0, m, &["CLUSTER", "FAILOVER"], 10)),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
    assert_eq!(c.run(3, r, &["CLUSTER", "FAILOVER"], 20), Reply::OK);
    assert_eq!(c.node(3).master, None);
    assert_eq!(c.node(0).master, Some(3));
    assert!(c.lost_writes().is_empty());
    assert_eq!(c.run(3, r, &["GET", "b"], 30), bulk("1"));
    assert_eq!(
        err(c.run(0, m, &["GET", "b"], 30)),
        "MOVED 3300 127.0.0.1:30004"
    );
    // FORCE, without catching up, loses what had not arrived.
    assert_eq!(c.run(3, r, &["SET", "b", "2"], 40), Reply::OK);
    let old = c.connect(0, 40);
    assert_eq!(
        c.run(0, old, &["CLUSTER", "FAILOVER", "FORCE"], 50),
        Reply::OK
    );
    assert_eq!(c.node(0).master, None);
    assert_eq!(c.lost_writes().len(), 1);
    assert_eq!(c.run(0, old, &["GET", "b"], 60), bulk("1"));
}

#[test]
fn blocked_clients_are_redirected_when_their_slot_moves() {
    let mut c = cluster(0);
    let n0 = c.node_id(0).to_string();
    let z = c.connect(2, 0);
    assert_eq!(c.run(2, z, &["BLPOP", "foo", "0"], 0), Reply::Blocked);
    let y = c.connect(2, 0);
    assert_eq!(
        c.run(2, y, &["CLUSTER", "SETSLOT", "12182", "NODE", &n0], 1),
        Reply::OK
    );
    assert_eq!(
        c.take_output(2, z),
        vec![Reply::error("MOVED 12182 127.0.0.1:30001")]
    );
}

#[test]
fn publish_reaches_every_node() {
    let mut c = cluster(0);
    let s = c.connect(1, 0);
    c.run(1, s, &["SUBSCRIBE", "news"], 0);
    let p = c.connect(0, 0);
    assert_eq!(
        c.run(0, p, &["PUBLISH", "news", "hi"], 1),
        Reply::Integer(0)
    );
    assert_eq!(
        c.take_output(1, s),
        vec![Reply::Push(vec![bulk("message"), bulk("news"), bulk("hi")])]
    );
}

#[test]
fn cluster_info_slots_and_shards() {
    let mut c = cluster(1);
    let a = c.connect(0, 0);
    let Reply::Verbatim(_, info) = c.run(0, a, &["CLUSTER", "INFO"], 0) else {
        panic!("verbatim")
    };
    let info = String::from_utf8(info).expect("text");
    assert!(info.starts_with(
        "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n\
         cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:6\r\n\
         cluster_size:3\r\ncluster_current_epoch:3\r\ncluster_my_epoch:1\r\n"
    ));
    let Reply::Array(slots) = c.run(0, a, &["CLUSTER", "SLOTS"], 0) else {
        panic!("array")
    };
    assert_eq!(slots.len(), 3);
    let Reply::Array(first) = &slots[0] else {
        panic!("array")
    };
    // start, end, master, and the replica (it has loaded data: offset 14, the first PING).
    assert_eq!(first.len(), 4);
    assert_eq!(first[0], Reply::Integer(0));
    assert_eq!(first[1], Reply::Integer(5460));
    assert_eq!(
        first[3],
        Reply::Array(vec![
            bulk("127.0.0.1"),
            Reply::Integer(30004),
            bulk(c.node_id(3)),
            Reply::Map(vec![])
        ])
    );
    let Reply::Array(shards) = c.run(0, a, &["CLUSTER", "SHARDS"], 0) else {
        panic!("array")
    };
    assert_eq!(shards.len(), 3);
    assert_eq!(c.node(3).repl_offset, 14);
    assert_eq!(c.run(0, a, &["CLUSTER", "MYID"], 0), bulk(c.node_id(0)));
    assert_eq!(
        c.run(0, a, &["CLUSTER", "KEYSLOT", "{user1000}.following"], 0),
        Reply::Integer(3443)
    );
}

#[test]
fn movable_keys_are_routed_too() {
    let mut c = cluster(0);
    let a = c.connect(0, 0);
    for cmd in [
        &["ZUNIONSTORE", "{z}d", "2", "{z}a", "b"][..],
        &["SINTERCARD", "2", "a", "b"],
        &["BLMPOP", "0", "2", "a", "b", "LEFT"],
        &["LMPOP", "2", "a", "b", "LEFT"],
        &["ZINTER", "2", "a", "b"],
    ] {
        assert_eq!(
            err(c.run(0, a, cmd, 0)),
            "CROSSSLOT Keys in request don't hash to the same slot",
            "{cmd:?}"
        );
    }
    // A key count that is not a number gives no keys: the command answers for itself.
    assert_eq!(
        err(c.run(0, a, &["ZUNION", "x", "a"], 0)),
        "ERR value is not an integer or out of range"
    );
    // The destination counts as a key: {z} is in slot 8157, on the second node.
    assert_eq!(
        err(c.run(0, a, &["ZUNIONSTORE", "{z}d", "1", "{z}a"], 0)),
        "MOVED 8157 127.0.0.1:30002"
    );
    let Reply::Map(hello) = c.run(0, a, &["HELLO", "3"], 0) else {
        panic!("HELLO answers a map")
    };
    assert!(hello.contains(&(bulk("mode"), bulk("cluster"))));
    assert!(hello.contains(&(bulk("role"), bulk("master"))));
}

#[test]
fn replicas_apply_flushes_and_expirations() {
    let mut c = cluster(1);
    let m = c.connect(0, 0);
    let r = c.connect(3, 0);
    c.run(3, r, &["READONLY"], 0);
    c.run(0, m, &["SET", "b", "1", "PX", "500"], 0);
    c.run(0, m, &["SET", "{b}2", "1"], 0);
    c.advance(200);
    assert_eq!(c.run(3, r, &["DBSIZE"], 200), Reply::Integer(2));
    // The replica does not expire keys itself: the master's deletion reaches it.
    c.advance(1000);
    c.advance(1200);
    assert_eq!(c.run(3, r, &["EXISTS", "{b}2"], 1200), Reply::Integer(1));
    assert_eq!(c.engine(0).dbsize(0), 1);
    assert_eq!(c.engine(3).dbsize(0), 1);
    c.run(0, m, &["FLUSHALL"], 1300);
    c.advance(1500);
    assert_eq!(c.run(3, r, &["DBSIZE"], 1500), Reply::Integer(0));
    let slot = key_hash_slot(b"b").to_string();
    assert_eq!(
        c.run(3, r, &["CLUSTER", "COUNTKEYSINSLOT", &slot], 1500),
        Reply::Integer(0)
    );
    // WAIT inside a transaction does not block.
    c.run(0, m, &["SET", "b", "2"], 2000);
    c.run(0, m, &["MULTI"], 2000);
    c.run(0, m, &["WAIT", "1", "0"], 2000);
    assert_eq!(
        c.run(0, m, &["EXEC"], 2000),
        Reply::Array(vec![Reply::Integer(0)])
    );
}

#[test]
fn the_best_replica_wins_the_election() {
    let mut c = cluster(2);
    // Masters 0..3; replicas 3..9, node 3 and node 6 replicate master 0.
    assert_eq!(c.node(3).master, Some(0));
    assert_eq!(c.node(6).master, Some(0));
    let m = c.connect(0, 0);
    c.run(0, m, &["SET", "b", "1"], 0);
    c.advance(500);
    // Node 6 falls behind: it is away while the next write is applied.
    c.fail_node(6, 500);
    c.run(0, m, &["SET", "b", "2"], 600);
    c.advance(800);
    c.recover_node(6, 800);
    assert!(c.node(3).repl_offset > c.node(6).repl_offset);
    c.fail_node(0, 1000);
    c.advance(1000 + 15_000);
    let scheduled: Vec<(usize, i64)> = c
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            ClusterEvent::ElectionScheduled { replica, at, .. } => Some((replica, at)),
            _ => None,
        })
        .collect();
    assert_eq!(scheduled.len(), 2);
    let at = |r: usize| scheduled.iter().find(|(x, _)| *x == r).map(|(_, t)| *t);
    assert!(at(3) < at(6), "rank 0 asks first: {scheduled:?}");
    c.advance(1000 + 15_000 + 2000);
    assert_eq!(c.node(3).master, None);
    assert_eq!(c.node(6).master, Some(3));
    let r = c.connect(6, 17_000);
    c.run(6, r, &["READONLY"], 17_000);
    assert_eq!(c.run(6, r, &["GET", "b"], 17_000), bulk("2"));
    let w = c.connect(3, 17_000);
    let Reply::Verbatim(_, info) = c.run(3, w, &["INFO", "replication"], 17_000) else {
        panic!("verbatim")
    };
    let info = String::from_utf8(info).expect("text");
    assert!(
        info.contains("role:master\r\nconnected_slaves:1\r\n"),
        "{info}"
    );
    assert!(!info.contains("master_replid2:0000"), "{info}");
}

#[test]
fn migrate_to_a_node_that_is_down() {
    let mut c = cluster(0);
    let z = c.connect(2, 0);
    c.run(2, z, &["SET", "foo", "1"], 0);
    c.fail_node(0, 1);
    assert_eq!(
        err(c.run(
            2,
            z,
            &["MIGRATE", "127.0.0.1", "30001", "foo", "0", "100"],
            2
        )),
        "IOERR error or timeout writing to target instance"
    );
    assert_eq!(
        err(c.run(2, z, &["MIGRATE", "nowhere", "30001", "foo", "0", "100"], 2)),
        "IOERR error or timeout connecting to the client"
    );
    assert_eq!(c.run(2, z, &["GET", "foo"], 2), bulk("1"));
}
