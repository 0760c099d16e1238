//! Cluster mode, natively: consoles that behave like `redis-cli -c`, and the views' data.

use cachelab_engine::cluster::key_hash_slot;

use super::*;
use crate::model::cluster_views::*;
use crate::model::{Action, LineKind, Model};

fn texts(c: &ClusterModel, pane: usize) -> Vec<(LineKind, String)> {
    c.panes[pane]
        .lines
        .iter()
        .map(|l| (l.kind, l.text.clone()))
        .collect()
}

fn last(c: &ClusterModel, pane: usize) -> String {
    c.panes[pane]
        .lines
        .last()
        .map(|l| l.text.clone())
        .unwrap_or_default()
}

#[test]
fn a_redirect_is_followed_shown_and_the_console_stays_on_the_new_node() {
    let mut c = ClusterModel::new(3, 0, 7);
    assert_eq!(c.prompt(0), "127.0.0.1:7000>");
    // foo hashes to slot 12182, the third master's (10923-16383).
    assert_eq!(key_hash_slot(b"foo"), 12182);
    c.run(0, "SET foo bar");
    assert_eq!(
        texts(&c, 0),
        [
            (LineKind::Input, "127.0.0.1:7000> SET foo bar".to_string()),
            (
                LineKind::Info,
                "-> Redirected to slot [12182] located at 127.0.0.1:7002".to_string()
            ),
            (LineKind::Output, "OK\n".to_string()),
        ]
    );
    assert_eq!(c.prompt(0), "127.0.0.1:7002>");
    // The next command on the same slot goes straight there.
    c.run(0, "GET foo");
    assert_eq!(c.panes[0].lines.len(), 5);
    assert_eq!(last(&c, 0), "\"bar\"\n");
    // The redirect is drawn from the node that refused to the one that owns the slot.
    let r: Vec<_> = c.records.redirects.iter().cloned().collect();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].from, r[0].to, r[0].slot, r[0].kind),
        (0, 2, 12182, RedirectKind::Moved)
    );
    assert_eq!(r[0].command, "SET");
    // The key lives on the third node only.
    let stats = node_stats(&c.cluster);
    assert_eq!(stats.iter().map(|s| s.keys).collect::<Vec<_>>(), [0, 0, 1]);
    assert!(stats[2].used_memory > 0);
    assert_eq!(stats[2].addr, "127.0.0.1:7002");
    assert_eq!(stats[2].ranges, "10923-16383");
}

#[test]
fn mset_across_slots_is_crossslot_but_a_hash_tag_keeps_keys_together() {
    let mut c = ClusterModel::new(3, 0, 7);
    c.run(0, "MSET a 1 b 2");
    assert_eq!(
        last(&c, 0),
        "(error) CROSSSLOT Keys in request don't hash to the same slot\n"
    );
    assert_eq!(c.panes[0].lines[1].kind, LineKind::Error);
    // No redirect for a request no single node could serve.
    assert!(c.records.redirects.is_empty());
    c.run(0, "MSET {user}:a 1 {user}:b 2");
    assert_eq!(last(&c, 0), "OK\n");
    let node = c.cluster.slot_owner(key_hash_slot(b"user")).unwrap();
    assert_eq!(c.cluster.engine(node).dbsize(0), 2);
    assert!(c
        .records
        .log
        .iter()
        .any(|l| l.kind == LogKind::Redirect && l.text.contains("CROSSSLOT")));
}

#[test]
fn a_failover_with_lag_loses_the_writes_and_the_view_lists_them() {
    let mut c = ClusterModel::new(3, 1, 7);
    assert_eq!(c.cluster.len(), 6);
    c.set_repl_lag(5000);
    c.run(0, "SET foo bar");
    assert_eq!(last(&c, 0), "OK\n");
    let view = repl_view(&c.cluster);
    assert_eq!(view.lag_ms, 5000);
    assert_eq!(view.streams.len(), 3);
    let s = view.streams.iter().find(|s| s.master == 2).unwrap();
    assert_eq!(s.in_flight.len(), 1);
    assert_eq!(s.in_flight[0].command, "SET foo bar");
    assert_eq!(s.in_flight[0].due, 5000);
    assert!(s.replicas[0].behind > 0, "{s:?}");

    // The master dies before the write reaches its replica.
    c.advance_to(1000);
    c.fail_node(2);
    c.advance_to(20_000);
    let view = repl_view(&c.cluster);
    assert_eq!(view.lost.len(), 1, "{view:?}");
    assert_eq!(view.lost[0].command, "SET foo bar");
    assert_eq!(view.lost[0].master, 2);
    // The replica took over the slots.
    let new_master = c.cluster.slot_owner(12182).unwrap();
    assert_ne!(new_master, 2);
    assert!(c
        .records
        .log
        .iter()
        .any(|l| l.kind == LogKind::Failure && l.text.contains("lost")));

    // The console was on the dead node: redis-cli cannot connect.
    assert_eq!(c.prompt(0), "not connected>");
    c.run(0, "GET foo");
    assert_eq!(
        last(&c, 0),
        "Could not connect to Redis at 127.0.0.1:7002: Connection refused"
    );
    // From another node, the slot's new master answers: the write is gone.
    c.connect(0, 0);
    c.run(0, "GET foo");
    let addr = c.cluster.addr(new_master);
    assert!(texts(&c, 0)
        .iter()
        .any(|(_, t)| *t == format!("-> Redirected to slot [12182] located at {addr}")));
    assert_eq!(last(&c, 0), "(nil)\n");
}

#[test]
fn without_lag_nothing_is_lost() {
    let mut c = ClusterModel::new(3, 1, 7);
    c.set_repl_lag(0);
    c.run(0, "SET foo bar");
    c.advance_to(100);
    c.fail_node(2);
    c.advance_to(20_000);
    assert!(repl_view(&c.cluster).lost.is_empty());
    c.connect(0, 0);
    c.run(0, "GET foo");
    assert_eq!(last(&c, 0), "\"bar\"\n");
}

#[test]
fn a_hot_key_makes_its_node_glow() {
    let mut c = ClusterModel::new(3, 0, 7);
    for k in ["a", "b", "c", "d", "e", "f"] {
        c.run(0, &format!("SET {k} 1"));
    }
    let even = hot_view(&c.records, 3, c.now, HOT_WINDOW_MS);
    assert_eq!(even.total, 6);
    assert_eq!(even.hot, None);
    c.run(0, "50 INCR hits");
    // One redirect at most, then fifty replies on the key's node.
    let outputs = c.panes[0]
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Output)
        .count();
    assert_eq!(outputs, 56);
    assert_eq!(last(&c, 0), "(integer) 50\n");
    let owner = c.cluster.slot_owner(key_hash_slot(b"hits")).unwrap();
    let hot = hot_view(&c.records, 3, c.now, HOT_WINDOW_MS);
    assert_eq!(hot.hot, Some(owner));
    assert_eq!(
        hot.loads[owner].hottest,
        Some((b"hits".to_vec(), 50)),
        "{hot:?}"
    );
    // The window moves on: a minute later nothing is hot.
    c.advance_to(60_000);
    assert_eq!(hot_view(&c.records, 3, c.now, HOT_WINDOW_MS).hot, None);
    // A repeat count must be a positive number.
    c.run(0, "0 GET hits");
    assert_eq!(
        last(&c, 0),
        "Invalid redis-cli repeat command option value."
    );
}

#[test]
fn resharding_by_hand_through_the_console() {
    let mut c = ClusterModel::new(3, 0, 7);
    let id0 = c.cluster.node_id(0).to_string();
    let id2 = c.cluster.node_id(2).to_string();
    c.run(0, "SET foo bar");
    c.run(0, "SET {foo}:n 1");
    // Move slot 12182 from 7002 to 7000, as redis-cli --cluster reshard does it.
    c.connect(0, 0);
    c.run(0, &format!("CLUSTER SETSLOT 12182 IMPORTING {id2}"));
    assert_eq!(last(&c, 0), "OK\n");
    c.connect(0, 2);
    c.run(0, &format!("CLUSTER SETSLOT 12182 MIGRATING {id0}"));
    assert_eq!(last(&c, 0), "OK\n");
    let strip = slot_strip(&c.cluster);
    assert_eq!(
        strip.moves,
        [SlotMove {
            slot: 12182,
            from: Some(2),
            to: Some(0)
        }]
    );
    c.run(0, "CLUSTER GETKEYSINSLOT 12182 10");
    assert!(last(&c, 0).contains("foo"));
    c.run(0, "MIGRATE 127.0.0.1 7000 \"\" 0 5000 KEYS foo");
    assert_eq!(last(&c, 0), "OK\n");
    // The migrated key is asked for at the importing node; the console follows the ASK.
    c.run(0, "GET foo");
    assert!(texts(&c, 0)
        .iter()
        .any(|(_, t)| t == "-> Redirected to slot [12182] located at 127.0.0.1:7000"));
    assert_eq!(last(&c, 0), "\"bar\"\n");
    assert_eq!(c.prompt(0), "127.0.0.1:7000>");
    let ask = c.records.redirects.back().unwrap();
    assert_eq!((ask.from, ask.to, ask.kind), (2, 0, RedirectKind::Ask));
    // Without ASKING the importing node does not serve the slot yet: it sends the console
    // back to the owner, which asks it to go to the importing node again.
    let before = c.panes[0].lines.len();
    c.run(0, "GET foo");
    let since: Vec<String> = c.panes[0].lines[before..]
        .iter()
        .map(|l| l.text.clone())
        .collect();
    assert_eq!(
        since,
        [
            "127.0.0.1:7000> GET foo",
            "-> Redirected to slot [12182] located at 127.0.0.1:7002",
            "-> Redirected to slot [12182] located at 127.0.0.1:7000",
            "\"bar\"\n"
        ]
    );
    c.connect(0, 2);
    c.run(0, "MIGRATE 127.0.0.1 7000 \"\" 0 5000 KEYS {foo}:n");
    assert_eq!(last(&c, 0), "OK\n");
    c.run(0, &format!("CLUSTER SETSLOT 12182 NODE {id0}"));
    assert_eq!(last(&c, 0), "OK\n");
    c.connect(0, 0);
    c.run(0, &format!("CLUSTER SETSLOT 12182 NODE {id0}"));
    assert_eq!(last(&c, 0), "OK\n");
    assert_eq!(c.cluster.slot_owner(12182), Some(0));
    let strip = slot_strip(&c.cluster);
    assert!(strip.moves.is_empty());
    assert_eq!(strip.ranges[0], (0, "0-5460 12182".to_string(), 5462));
    assert_eq!(
        strip.ranges[2],
        (2, "10923-12181 12183-16383".to_string(), 5460)
    );
    assert_eq!(
        node_stats(&c.cluster)
            .iter()
            .map(|s| s.keys)
            .collect::<Vec<_>>(),
        [2, 0, 0]
    );
}

#[test]
fn the_slot_strip_covers_every_slot() {
    let c = ClusterModel::new(3, 0, 7);
    let strip = slot_strip(&c.cluster);
    assert_eq!(
        strip
            .segments
            .iter()
            .map(|s| (s.first, s.last, s.owner))
            .collect::<Vec<_>>(),
        [
            (0, 5460, Some(0)),
            (5461, 10922, Some(1)),
            (10923, 16383, Some(2))
        ]
    );
    assert_eq!(strip.unassigned, "");
}

#[test]
fn cluster_mode_leaves_the_single_instance_alone() {
    let mut m = Model::default();
    m.dispatch(Action::Run {
        pane: 0,
        line: "SET single 1".into(),
    });
    let steps = m.timeline.len();
    m.dispatch(Action::OpenCluster {
        masters: 3,
        replicas: 1,
    });
    m.dispatch(Action::Run {
        pane: 0,
        line: "SET foo bar".into(),
    });
    m.dispatch(Action::Advance(1000));
    m.dispatch(Action::AddClient);
    let c = m.cluster.as_ref().unwrap();
    assert_eq!(c.now, 1000);
    assert_eq!(c.panes.len(), 2);
    assert_eq!(m.view_now(), 1000);
    assert_eq!(m.view_prompt(0), "127.0.0.1:7002>");
    assert_eq!(m.history(0), ["SET foo bar"]);
    // The single instance did not move.
    assert_eq!(m.now, 0);
    assert_eq!(m.timeline.len(), steps);
    assert_eq!(m.panes.len(), 1);
    m.dispatch(Action::CloseCluster);
    assert!(m.cluster.is_none());
    assert_eq!(m.view_prompt(0), "127.0.0.1:6379>");
    assert_eq!(m.engine().dbsize(0), 1);
}

#[test]
fn the_consoles_redraw_only_when_something_changed_for_them() {
    let mut m = Model::default();
    m.dispatch(Action::OpenCluster {
        masters: 3,
        replicas: 0,
    });
    let before = m.panes_rev;
    m.dispatch(Action::SetPlaying(true));
    m.dispatch(Action::Frame(100.0));
    m.dispatch(Action::Advance(1000));
    assert_eq!(m.panes_rev, before, "time alone changes no console");
    assert_eq!(m.view_now(), 1100);
    m.dispatch(Action::Run {
        pane: 0,
        line: "BLPOP q 5".into(),
    });
    assert!(m.panes_rev > before);
    assert!(m.view_panes()[0].waiting);
    // The timeout ends the wait during a clock move: the console shows it.
    let waiting = m.panes_rev;
    m.dispatch(Action::Advance(6000));
    assert!(m.panes_rev > waiting);
    assert!(!m.view_panes()[0].waiting);
    assert_eq!(
        m.view_panes()[0].lines.last().map(|l| l.text.as_str()),
        Some("(nil)\n")
    );
}
