//! The reducer's behaviour, natively: what a learner does, and what the model must then show.

use super::events::EventKind;
use super::*;

fn run(m: &mut Model, pane: usize, line: &str) {
    m.dispatch(Action::Run {
        pane,
        line: line.into(),
    });
}

fn last_text(m: &Model, pane: usize) -> String {
    m.panes[pane]
        .lines
        .last()
        .map(|l| l.text.clone())
        .unwrap_or_default()
}

fn visible(m: &Model) -> Vec<String> {
    m.keys
        .visible()
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

#[test]
fn a_key_with_a_ttl_expires_and_comes_back_on_rewind() {
    let mut m = Model::default();
    run(&mut m, 0, "SET greeting hello EX 5");
    assert_eq!(last_text(&m, 0), "OK\n");
    assert_eq!(
        m.panes[0].lines[0].text,
        "127.0.0.1:6379> SET greeting hello EX 5"
    );
    assert_eq!(visible(&m), ["greeting"]);
    let kv = m.engine().inspect_key(0, b"greeting").unwrap();
    assert_eq!(kv.ttl_ms, Some(5000));

    m.dispatch(Action::Advance(10_000));
    assert_eq!(m.now, 10_000);
    let expired = m
        .log
        .entries
        .iter()
        .find(|e| e.kind == EventKind::Expired)
        .unwrap();
    // Found by the cycle soon after its deadline (5 s), not stamped with the end of the jump.
    assert!(expired.at > 5000 && expired.at <= 5200, "{}", expired.at);
    assert_eq!(
        m.log
            .entries
            .iter()
            .filter(|e| e.text.contains("none expired"))
            .count(),
        1
    );
    assert!(visible(&m).is_empty(), "{:?}", visible(&m));
    assert!(m
        .log
        .entries
        .iter()
        .any(|e| e.kind == EventKind::Expired && e.text.starts_with("expired greeting")));

    m.dispatch(Action::Seek(1));
    assert_eq!(m.now, 0);
    assert_eq!(visible(&m), ["greeting"]);
    assert!(m.log.entries.iter().all(|e| e.kind != EventKind::Expired));
    m.dispatch(Action::StepForward);
    assert!(visible(&m).is_empty());
    assert_eq!(m.timeline.cursor, 2);
}

#[test]
fn typing_after_a_rewind_branches() {
    let mut m = Model::default();
    run(&mut m, 0, "SET a 1");
    run(&mut m, 0, "SET b 2");
    run(&mut m, 0, "SET c 3");
    m.dispatch(Action::Seek(1));
    run(&mut m, 0, "SET z 9");
    assert_eq!(m.timeline.len(), 2);
    assert_eq!(visible(&m), ["a", "z"]);
    assert_eq!(m.history(0), ["SET a 1", "SET z 9"]);
}

#[test]
fn consoles_are_separate_clients_and_receive_later_replies() {
    let mut m = Model::default();
    m.dispatch(Action::AddClient);
    assert_eq!(m.panes[1].name, "B");
    assert_ne!(m.panes[0].client, m.panes[1].client);
    run(&mut m, 1, "SUBSCRIBE news");
    run(&mut m, 0, "PUBLISH news hello");
    assert_eq!(last_text(&m, 0), "(integer) 1\n");
    assert!(
        last_text(&m, 1).contains("\"hello\""),
        "{}",
        last_text(&m, 1)
    );
    assert!(m.log.entries.iter().any(|e| e.kind == EventKind::Published));
    run(&mut m, 1, "CLIENT ID");
    let id_b = m.panes[1].client;
    run(&mut m, 0, "CLIENT ID");
    assert_eq!(
        last_text(&m, 0),
        format!("(integer) {}\n", m.panes[0].client)
    );
    assert_ne!(m.panes[0].client, id_b);
}

#[test]
fn console_answers_help_and_bad_quotes_itself() {
    let mut m = Model::default();
    run(&mut m, 0, "SET \"unclosed");
    assert_eq!(last_text(&m, 0), "Invalid argument(s)");
    run(&mut m, 0, &format!("SET long {}", "é".repeat(500)));
    let echo = &m.panes[0].lines[m.panes[0].lines.len() - 2].text;
    assert!(
        echo.len() < 300 && echo.contains("more bytes not shown"),
        "{echo}"
    );
    run(&mut m, 0, "help set");
    assert!(last_text(&m, 0).contains("summary:"));
    run(&mut m, 0, "NOSUCH x");
    assert_eq!(m.panes[0].lines.last().unwrap().kind, LineKind::Error);
    run(&mut m, 0, ":bigkeys");
    assert!(
        last_text(&m, 0).contains("Biggest string found 'long'"),
        "{}",
        last_text(&m, 0)
    );
    run(&mut m, 0, ":memkeys");
    assert!(last_text(&m, 0).contains("bytes"), "{}", last_text(&m, 0));
    // Only the SET reached the keyspace.
    assert_eq!(m.engine().dbsize(0), 1);
}

#[test]
fn play_advances_by_real_time_times_speed_in_few_steps() {
    let mut m = Model::default();
    m.dispatch(Action::SetSpeed(2.0));
    m.dispatch(Action::Frame(16.0));
    assert_eq!(m.now, 0, "paused: frames do nothing");
    m.dispatch(Action::TogglePlay);
    for _ in 0..120 {
        m.dispatch(Action::Frame(16.0));
    }
    // 3840 virtual ms, in whole ticks of 100 ms.
    assert_eq!(m.now, 3800);
    // One step per virtual second or so, not one per frame.
    assert!(m.timeline.len() <= 5, "{}", m.timeline.len());
    m.dispatch(Action::TogglePlay);
    m.dispatch(Action::Tick);
    assert_eq!(m.now, 3900);
}

#[test]
fn played_time_replays_to_the_same_state() {
    let mut m = Model::default();
    for i in 0..40 {
        run(&mut m, 0, &format!("SET k{i} v PX {}", 50 + i * 37));
    }
    m.dispatch(Action::SetPlaying(true));
    for i in 0..200 {
        m.dispatch(Action::Frame(7.0 + (i % 5) as f64 * 9.0));
    }
    m.dispatch(Action::SetPlaying(false));
    let live: Vec<_> = m
        .log
        .entries
        .iter()
        .map(|e| (e.at, e.text.clone()))
        .collect();
    let mut n = Model::default();
    n.load(m.session());
    let replayed: Vec<_> = n
        .log
        .entries
        .iter()
        .map(|e| (e.at, e.text.clone()))
        .collect();
    assert_eq!(n.now, m.now);
    assert_eq!(live, replayed);
    assert!(live
        .iter()
        .any(|(at, t)| t.starts_with("expired k0") && *at == 100));
}

#[test]
fn session_round_trips_through_json_and_links() {
    let mut m = Model::default();
    m.dispatch(Action::AddClient);
    run(&mut m, 0, "SET greeting hello EX 5");
    run(&mut m, 1, "SET other x");
    m.dispatch(Action::Advance(1500));
    m.dispatch(Action::SetConfig {
        name: "hz".into(),
        value: "50".into(),
    });
    assert!(m
        .log
        .entries
        .iter()
        .any(|e| e.kind == EventKind::Config && e.text == "config hz = 50"));
    assert_eq!(m.tick_ms(), 20);
    m.dispatch(Action::Seek(4));
    let s = m.session();
    let mut n = Model::default();
    n.dispatch(Action::LoadLink(s.to_link_fragment()));
    assert_eq!(n.notice, None);
    assert_eq!(n.now, m.now);
    assert_eq!(n.timeline.len(), 5);
    assert_eq!(n.timeline.cursor, 4);
    assert_eq!(visible(&n), visible(&m));
    assert_eq!(n.panes.len(), 2);
    assert_eq!(n.panes[1].lines, m.panes[1].lines);
    let mut o = Model::default();
    o.dispatch(Action::LoadJson(s.to_json()));
    assert_eq!(o.session(), s);
}

#[test]
fn damaged_input_keeps_the_current_session() {
    let mut m = Model::default();
    run(&mut m, 0, "SET keep me");
    m.dispatch(Action::LoadLink("garbled!!".into()));
    assert!(m.notice.as_deref().unwrap_or("").contains("damaged"));
    m.dispatch(Action::LoadJson("{\"format\":1}".into()));
    assert!(m.notice.is_some());
    assert_eq!(visible(&m), ["keep"]);
    m.dispatch(Action::DismissNotice);
    assert_eq!(m.notice, None);
}

#[test]
fn rewinding_a_long_session_is_fast() {
    let mut m = Model::default();
    for i in 0..3000 {
        if i % 3 == 0 {
            m.dispatch(Action::Advance(100));
        } else {
            run(&mut m, 0, &format!("SET k{} v EX 30", i % 500));
        }
    }
    let start = std::time::Instant::now();
    for k in [10, 2999, 1500, 7, 2500, 100] {
        m.dispatch(Action::Seek(k));
        assert_eq!(m.timeline.cursor, k);
    }
    let per_seek = start.elapsed() / 6;
    assert!(
        per_seek < std::time::Duration::from_millis(250),
        "{per_seek:?} per rewind"
    );
    m.dispatch(Action::Seek(3000));
    assert_eq!(m.now, 100_000);
}

#[test]
fn keyspace_view_follows_filters_databases_and_flushes() {
    let mut m = Model::default();
    for k in ["user:1", "user:2", "page:1"] {
        run(&mut m, 0, &format!("SET {k} x"));
    }
    m.dispatch(Action::SetFilter {
        pattern: "user:*".into(),
        type_filter: String::new(),
    });
    assert_eq!(visible(&m), ["user:1", "user:2"]);
    run(&mut m, 0, "SET user:3 y");
    assert_eq!(visible(&m), ["user:1", "user:2", "user:3"]);
    run(&mut m, 0, "SELECT 1");
    assert_eq!(m.panes[0].prompt(), "127.0.0.1:6379[1]>");
    run(&mut m, 0, "SET user:9 z");
    assert_eq!(visible(&m).len(), 3);
    m.dispatch(Action::SetDb(1));
    assert_eq!(visible(&m), ["user:9"]);
    run(&mut m, 0, "FLUSHDB");
    assert!(visible(&m).is_empty());
    assert!(m.log.entries.iter().any(|e| e.kind == EventKind::Flushed));
}

#[test]
fn deferred_snapshots_wait_for_idle_and_rewinds_still_work() {
    let mut m = Model {
        defer_snapshots: true,
        ..Model::default()
    };
    for i in 0..100 {
        run(&mut m, 0, &format!("SET k{i} {i}"));
    }
    assert_eq!(m.timeline.snapshot_count(), 1);
    m.dispatch(Action::Idle);
    assert_eq!(m.timeline.snapshot_count(), 2);
    m.dispatch(Action::Idle);
    assert_eq!(m.timeline.snapshot_count(), 2, "nothing new to keep");
    m.dispatch(Action::Seek(50));
    assert_eq!(visible(&m).len(), 50);
    m.dispatch(Action::Seek(100));
    assert_eq!(visible(&m).len(), 100);
    // Loading keeps the setting, and snapshots the replayed session as it goes.
    m.load(m.session());
    assert!(m.defer_snapshots);
    assert!(m.timeline.snapshot_count() >= 3);
}

/// Timings rather than a test: `cargo test --release -p cachelab-web --lib measure -- --ignored
/// --nocapture` prints how long steps, saving, snapshots and rewinds take with 100,000 keys.
#[test]
#[ignore]
fn measure_steps_and_rewinds_with_100k_keys() {
    let mut m = Model::default();
    for b in 0..100 {
        let mut line = String::from("MSET");
        for k in 0..1000 {
            line.push_str(&format!(" key:{:06} v", b * 1000 + k));
        }
        run(&mut m, 0, &line);
    }
    for k in 0..30 {
        run(&mut m, 0, &format!("SET a:ttl:{k} x EX {}", 10 + k * 5));
    }
    for action in [Action::Advance(1000), Action::Tick] {
        let start = std::time::Instant::now();
        for _ in 0..20 {
            m.dispatch(action.clone());
        }
        eprintln!("{action:?}: {:?} per step", start.elapsed() / 20);
    }
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let _ = m.session().to_json();
    }
    eprintln!("session json: {:?}", start.elapsed() / 20);
    let start = std::time::Instant::now();
    let copy = m.engine.clone();
    eprintln!("engine clone: {:?}", start.elapsed());
    drop(copy);
    let start = std::time::Instant::now();
    for _ in 0..10 {
        m.keys.rebuild(&m.engine);
    }
    eprintln!("key index rebuild: {:?}", start.elapsed() / 10);
    let start = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..10 {
        m.engine.inspect_each_name(0, |k, _| n += k.len());
    }
    eprintln!("walk names: {:?} ({n})", start.elapsed() / 10);
    let len = m.timeline.len();
    for k in [131, len, 50] {
        let start = std::time::Instant::now();
        m.dispatch(Action::Seek(k));
        eprintln!("seek to {k}: {:?}", start.elapsed());
    }
}

#[test]
fn a_blocked_client_waits_and_gets_its_reply_later() {
    // No blocking command exists yet on this engine's command table, so the client is parked
    // the way such a command parks it, through the engine's own blocking API.
    let mut m = Model::default();
    let client = m.panes[0].client;
    let reply = m.engine.block_on_keys(
        client,
        0,
        vec![b"jobs".to_vec()],
        Some(500),
        &[b"BLPOP", b"jobs", b"0.5"],
        Reply::NilArray,
    );
    assert_eq!(reply, Reply::Blocked);
    m.dispatch(Action::AddClient);
    assert!(m.panes[0].waiting);
    assert!(m.log.entries.iter().any(|e| e.kind == EventKind::Blocked));
    run(&mut m, 0, "PING");
    assert!(last_text(&m, 0).starts_with("This client is blocked"));
    m.dispatch(Action::Advance(1000));
    assert!(!m.panes[0].waiting);
    assert_eq!(last_text(&m, 0), "(nil)\n");
    assert_eq!(
        m.panes[0].lines.last().map(|l| l.kind),
        Some(LineKind::Pushed)
    );
    assert!(m
        .log
        .entries
        .iter()
        .any(|e| e.kind == EventKind::Unblocked && e.text == "client A timed out"));
}
