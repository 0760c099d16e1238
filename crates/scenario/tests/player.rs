//! The player: stepping back (from snapshots) and replaying from the start give the same steps
//! and the same data as playing straight through; the learner's own commands are part of the
//! history.

use cachelab_engine::cluster::ClusterEvent;
use cachelab_engine::Config;
use cachelab_scenario::target::EngineTarget;
use cachelab_scenario::{parse, Player, Scenario, Sender, SHIPPED};

fn load(name: &str, text: &str) -> Scenario {
    parse(name, text).unwrap_or_else(|e| panic!("{e:?}"))
}

/// Everything in every instance, as text: keys, types, TTLs, values.
fn fingerprint(target: &EngineTarget, instances: usize, now: i64) -> String {
    let mut out = String::new();
    for inst in 1..=instances {
        // An instance, or a cluster's node (which has no instance of its own).
        let (engine, up, offset) = match (target.instance(inst), target.engine(inst)) {
            (Some(i), _) => (&i.engine, i.up, i.clock_offset),
            (None, Some(e)) => (e, true, 0),
            (None, None) => {
                out.push_str("missing instance\n");
                continue;
            }
        };
        out.push_str(&format!("instance {inst}: up {up} offset {offset}\n"));
        if !up {
            continue;
        }
        // One copy answers every question, so that asking changes nothing.
        let mut e = engine.clone();
        let t = now + offset;
        let c = e.connect(t);
        let mut ask = |argv: &[&str]| cachelab_engine::to_cli_text(&e.run(c, argv, t));
        out.push_str(&ask(&["INFO", "keyspace"]));
        let keys = ask(&["KEYS", "*"]);
        let mut keys: Vec<String> = keys
            .lines()
            .filter_map(|l| {
                l.split_once(") ")
                    .map(|(_, k)| k.trim_matches('"').to_string())
            })
            .collect();
        keys.sort();
        for k in keys {
            let ty = ask(&["TYPE", &k]);
            let sorted = |text: String| {
                let mut v: Vec<String> = text.lines().map(String::from).collect();
                v.sort();
                v.join(",")
            };
            let value = match ty.trim_end() {
                "string" => ask(&["GET", &k]),
                "list" => ask(&["LRANGE", &k, "0", "-1"]),
                "hash" => sorted(ask(&["HGETALL", &k])),
                "set" => sorted(ask(&["SMEMBERS", &k])),
                "zset" => ask(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
                _ => String::new(),
            };
            let pttl = ask(&["PTTL", &k]);
            out.push_str(&format!(
                "{k} {} {} {}\n",
                ty.trim_end(),
                pttl.trim_end(),
                value.trim_end()
            ));
        }
    }
    out
}

fn state(p: &Player) -> String {
    fingerprint(p.target(), p.scenario().instances, p.now())
}

#[test]
fn stepping_back_and_forth_matches_playing_straight() {
    for (name, text) in SHIPPED {
        let scenario = load(name, text);
        let len = scenario.steps.len();
        // Straight through, one step at a time, remembering the state at each position.
        let mut straight = Player::new(scenario.clone(), Config::default());
        let mut states = vec![state(&straight)];
        while straight.step_forward().is_some() {
            states.push(state(&straight));
        }
        assert_eq!(straight.position(), len, "{name}");
        if *name == "cache-aside.scn" {
            // The state is really looked at: the last lesson step left user:42 cached.
            assert!(states[len].contains("user:42 string"), "{}", states[len]);
            assert!(!states[0].contains("user:"), "{}", states[0]);
        }
        let outcomes = straight.outcomes().to_vec();

        // Back to the start one step at a time: each position looks as it did.
        let mut p = Player::new(scenario.clone(), Config::default());
        p.jump_to(len);
        for k in (0..len).rev() {
            assert!(p.step_back(), "{name}");
            assert_eq!(p.position(), k);
            assert_eq!(p.outcomes(), &outcomes[..k], "{name}: outcomes at {k}");
            assert_eq!(
                state(&p),
                states[k],
                "{name}: state after going back to {k}"
            );
        }
        assert!(!p.step_back());

        // Jumping back to the middle and playing on gives the same steps again.
        for k in [len / 2, len.saturating_sub(1)] {
            let mut p = Player::new(scenario.clone(), Config::default());
            p.jump_to(len);
            p.jump_to(k);
            assert_eq!(state(&p), states[k], "{name}: state at {k}");
            p.jump_to(len);
            assert_eq!(
                p.outcomes(),
                outcomes.as_slice(),
                "{name}: replayed from {k}"
            );
            assert_eq!(
                state(&p),
                states[len],
                "{name}: final state replayed from {k}"
            );
        }

        // Replaying from the start, without snapshots, agrees too.
        let (rebuilt, own, target) = straight.rebuilt();
        assert_eq!(rebuilt, outcomes, "{name}: rebuilt outcomes");
        assert_eq!(
            own.as_slice(),
            straight.all_own_outcomes(),
            "{name}: rebuilt own commands"
        );
        assert_eq!(
            fingerprint(&target, scenario.instances, straight.now()),
            states[len],
            "{name}: rebuilt state"
        );
    }
}

const TRY: &str = "cachelab-scenario 1
id: try
title: Try
summary: A try step between two lesson steps.
view: keyspace
clients: A B

step: One
> First.
A: SET a 1
expect A: OK

try: Set b
> Set b to anything.
check: exists b
solution A: SET b 2

step: After
A: GET b
expect A: \"2\"
";

#[test]
fn the_learners_commands_are_part_of_the_history() {
    let scenario = load("try.scn", TRY);
    let mut p = Player::new(scenario.clone(), Config::default());
    assert_eq!(p.narration(), "A try step between two lesson steps.");
    p.jump_to(2);
    assert_eq!(p.narration(), "Set b to anything.");
    assert_eq!(p.current_outcome().map(|o| o.checks_before.len()), Some(1));
    assert!(!p.check_results()[0].passed);

    let own = p.run_own("B", "SET b 9").unwrap();
    assert_eq!(own.reply.as_deref(), Some("OK"));
    assert!(p.check_results()[0].passed);
    assert!(p.run_own("Z", "GET b").is_err());
    assert!(p.run_own("A", "SET \"b").is_err());
    assert!(p.run_own("A", "SET b \0").is_err());
    assert!(p.run_own("A", "   ").is_err());

    // The learner's value, not the solution's, reaches the next step.
    let next = p.step_forward().unwrap().clone();
    assert_eq!(next.actions[0].reply.as_deref(), Some("\"9\""));
    assert!(
        !next.passed(),
        "the lesson's own expectation sees the learner's 9"
    );

    // Back at the try step, the learner's command is still there; replaying agrees.
    p.step_back();
    assert_eq!(p.own_outcomes().len(), 1);
    assert!(p.check_results()[0].passed);
    let (rebuilt, own, _) = p.rebuilt();
    assert_eq!(rebuilt, p.outcomes());
    assert_eq!(own.as_slice(), p.all_own_outcomes());

    // Going back before it forgets it: the step plays as if fresh.
    p.step_back();
    p.step_forward();
    assert!(p.own_outcomes().is_empty());
    assert!(!p.check_results()[0].passed);

    // Leaving an unsolved try step plays the solution, so the next step finds b = 2.
    let next = p.step_forward().unwrap().clone();
    assert!(next.passed(), "{:?}", next.failures());
    p.step_back();
    let solved: Vec<&str> = p.own_outcomes().iter().map(|o| o.label.as_str()).collect();
    assert_eq!(solved, ["solution A: SET b 2"]);

    // Asking for the solution plays it where the learner stands.
    let mut q = Player::new(scenario, Config::default());
    q.jump_to(2);
    let shown = q.show_solution();
    assert_eq!(shown.len(), 1);
    assert!(q.check_results()[0].passed);
}

#[test]
fn a_bad_config_line_is_reported_not_fatal() {
    let text = TRY.replace(
        "clients: A B",
        "clients: A B\nconfig: maxmemory-policy sometimes",
    );
    let p = Player::new(load("bad.scn", &text), Config::default());
    let err = p.setup_error().unwrap_or_default();
    assert!(
        err.contains("CONFIG SET maxmemory-policy sometimes answered"),
        "{err}"
    );
}

#[test]
fn requirements_the_engine_lacks_skip_steps() {
    let text = TRY.replace("step: After", "step: After\nrequires: scripting");
    let mut p = Player::new(load("req.scn", &text), Config::default());
    p.jump_to(3);
    let last = p.current_outcome().unwrap();
    if cachelab_scenario::engine_has(cachelab_scenario::Capability::Scripting) {
        assert!(last.skipped.is_none());
    } else {
        let why = last.skipped.as_deref().unwrap_or_default();
        assert!(why.contains("needs scripting"), "{why}");
        assert!(last.actions.is_empty());
    }
}

#[test]
fn events_and_engine_only_actions_reach_the_outcomes() {
    let text = "cachelab-scenario 1
id: ev
title: Events
summary: S
view: redlock
clients: A
instances: 2

step: Set and expire
A: SET k v PX 100
wait 200ms
A@2: SET k v
engine-only: instance 2 down
A@2: GET k
expect A@2: Could not connect to Redis at instance 2: Connection refused
engine-only: instance 2 up
A@2: GET k
expect A@2: (nil)
";
    let mut p = Player::new(load("ev.scn", text), Config::default());
    let out = p.step_forward().unwrap().clone();
    assert!(out.passed(), "{:?}", out.failures());
    let expired = out.events().any(|(inst, e)| {
        *inst == 1 && matches!(e, cachelab_engine::Event::Expired { key, .. } if key == b"k")
    });
    assert!(expired, "the wait should have expired k on instance 1");
    assert_eq!(out.actions[1].now, cachelab_scenario::run::START_MS + 200);
    let note = out.actions[6].note.clone().unwrap_or_default();
    assert!(note.contains("came back empty"), "{note}");
    assert!(p.instance(2).is_some_and(|i| i.up));
}

#[test]
fn a_cluster_lesson_plays_node_by_node() {
    let (name, text) = SHIPPED
        .iter()
        .find(|(n, _)| *n == "cluster-resharding.scn")
        .expect("shipped");
    let mut p = Player::new(load(name, text), Config::default());
    assert!(p.cluster().is_some_and(|c| c.len() == 3));
    assert!(p.engine(4).is_none());
    // After "One key moves": node 1 holds two of the user's keys, node 2 the third.
    p.jump_to(3);
    assert!(p.current_outcome().is_some_and(|o| o.passed()));
    assert_eq!(p.engine(1).map(|e| e.dbsize(0)), Some(2));
    assert_eq!(p.engine(2).map(|e| e.dbsize(0)), Some(1));
    assert!(state(&p).contains("{user:1000}:cart string"));
    assert!(p
        .cluster_events()
        .iter()
        .any(|e| matches!(e, ClusterEvent::KeysMigrated { from: 0, to: 1, .. })));
    // The learner's command follows the ASK to node 2, and the connection stays there.
    let o = p.run_own("A", "GET {user:1000}:cart").expect("runs");
    assert_eq!(
        o.reply.as_deref(),
        Some("-> Redirected to slot [1649] located at 127.0.0.1:7001\n\"3\"")
    );
    assert_eq!(
        p.latest(&Sender {
            client: "A".into(),
            instance: 0
        })
        .as_deref(),
        Some("-> Redirected to slot [1649] located at 127.0.0.1:7001\n\"3\"")
    );
    assert_eq!(p.client_node("A"), Some(2));
    // Node numbers and their placeholders work from the console too.
    let o = p
        .run_own_on(
            Sender {
                client: "B".into(),
                instance: 2,
            },
            "CLUSTER COUNTKEYSINSLOT 1649",
        )
        .expect("runs");
    assert_eq!(o.reply.as_deref(), Some("(integer) 1"));
    assert!(p
        .run_own_on(
            Sender {
                client: "B".into(),
                instance: 4,
            },
            "PING",
        )
        .is_err());
    // Replaying from the start gives the same data, node by node.
    let (_, _, target) = p.rebuilt();
    assert_eq!(fingerprint(&target, 3, p.now()), state(&p));
}

#[test]
fn a_crash_loses_what_was_not_durable_and_reports_it() {
    let text = "cachelab-scenario 1
id: crash
title: Crash
summary: s
view: persistence
clients: A
requires: persistence

step: Everysec loses the last write
A: CONFIG SET appendonly yes
A: SET a 1
wait 1s
A: SET b 2
wait 300ms
engine-only: crash-restart
A: GET a
expect A: \"1\"
A: GET b
expect A: (nil)
";
    let config = Config {
        record_events: true,
        ..Config::default()
    };
    let mut p = Player::new(load("crash.scn", text), config);
    let out = p.step_forward().unwrap().clone();
    assert!(out.passed(), "{:?}", out.failures());
    let lost: Vec<_> = out
        .events()
        .filter_map(|(_, e)| match e {
            cachelab_engine::Event::Restarted(r) => Some(r.lost.clone()),
            _ => None,
        })
        .flatten()
        .map(|w| w.argv)
        .collect();
    assert_eq!(lost, [vec![b"SET".to_vec(), b"b".to_vec(), b"2".to_vec()]]);
    let note = out.actions[5].note.clone().unwrap_or_default();
    assert!(
        note.contains("append-only file") && note.contains("1 write lost"),
        "{note}"
    );
}

#[test]
fn a_cluster_records_the_commands_each_node_ran_and_when_events_came() {
    let (name, text) = SHIPPED
        .iter()
        .find(|(n, _)| *n == "cluster-hashtags.scn")
        .expect("shipped");
    let mut p = Player::new(load(name, text), Config::default());
    assert!(p.cluster_served().is_empty());
    // "Following MOVED": SET user:1000 runs on node 1; SET cart:1000 is refused by node 1 and
    // runs on node 2; GET user:1000 is refused by node 2 and runs on node 1.
    p.jump_to(2);
    let ran: Vec<(usize, String)> = p
        .cluster_served()
        .iter()
        .map(|s| {
            (
                s.node,
                String::from_utf8_lossy(&s.argv.join(&b' ')).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        ran[2..],
        [
            (0, "SET user:1000 alice".to_string()),
            (1, "SET cart:1000 3".to_string()),
            (0, "GET user:1000".to_string()),
        ]
    );
    let redirects = |p: &Player| {
        p.cluster_timed_events()
            .into_iter()
            .filter(|(_, e)| matches!(e, ClusterEvent::Redirected { .. }))
            .count()
    };
    assert_eq!(redirects(&p), 2);
    assert_eq!(p.cluster_served_here(), &p.cluster_served()[2..]);
    // The learner's commands at a try step count as that position's.
    p.jump_to(5);
    assert!(p.cluster_served_here().is_empty());
    p.run_own("A", "GET user:1000").expect("runs");
    assert_eq!(p.cluster_served_here().len(), 1);
    p.jump_to(2);
    assert!(p
        .cluster_timed_events()
        .iter()
        .all(|(t, _)| *t >= cachelab_scenario::run::START_MS));
    // Both are part of the snapshots: stepping back forgets what came after.
    p.step_back();
    assert_eq!(p.cluster_served().len(), 2);
    assert_eq!(redirects(&p), 0);
}
