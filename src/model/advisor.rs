//! The playground's side of the advisor (the rules themselves are in
//! `cachelab_engine::advisor`, shared with the native console): feeding it what a console ran,
//! and what the advisor panel shows.
//!
//! Where the notes live: the free playground's `Advisor` is part of the timeline (see
//! `Model::advisor`); an open lesson has its own, fed only with the learner's own commands (the
//! lesson's scripted ones are the lesson's, and may show an anti-pattern on purpose).

pub use cachelab_engine::advisor::{Advice, AdviceKind, Advisor, Seen};
use cachelab_engine::{ClientId, Engine, Event, Reply};

/// A command a console ran: its client, its arguments and its reply.
pub type Ran = (ClientId, Vec<Vec<u8>>, Reply);

/// Feeds one command to `advisor`, after `engine` ran it.
pub fn observe(
    advisor: &mut Advisor,
    engine: &Engine,
    client: ClientId,
    argv: &[Vec<u8>],
    reply: &Reply,
    events: &[Event],
) -> Option<Advice> {
    advisor.observe(
        engine,
        Seen {
            client,
            argv,
            reply,
            events,
        },
    )
}

/// What the advisor panel shows: the newest note unless the learner dismissed it, and how many
/// notes came before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel<'a> {
    pub current: Option<&'a Advice>,
    /// Earlier notes, newest first.
    pub earlier: Vec<&'a Advice>,
}

/// The panel for `advisor`, with the note numbered `dismissed` (its `seq`) put away.
pub fn panel(advisor: &Advisor, dismissed: Option<u64>) -> Panel<'_> {
    let current = advisor.latest().filter(|a| Some(a.seq) != dismissed);
    let earlier = advisor.notes().rev().skip(1).collect();
    Panel { current, earlier }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Model};

    fn run(m: &mut Model, pane: usize, line: &str) {
        m.dispatch(Action::Run {
            pane,
            line: line.into(),
        });
    }

    /// Runs each line in pane 0; returns the kinds of the notes they gave.
    fn kinds(m: &mut Model, lines: &[&str]) -> Vec<AdviceKind> {
        let before = m.advisor.notes().len();
        for l in lines {
            run(m, 0, l);
        }
        m.advisor.notes().skip(before).map(|a| a.kind).collect()
    }

    fn fill(m: &mut Model, n: usize) {
        run(
            m,
            0,
            &format!("EVAL \"for i=1,{n} do redis.call('SET','user:'..i,i) end\" 0"),
        );
    }

    #[test]
    fn a_cache_key_without_ttl_gets_one_note_per_pattern() {
        let mut m = Model::default();
        let k = kinds(&mut m, &["SET cache:user:1 {json}"]);
        assert_eq!(k, [AdviceKind::NoTtl]);
        let a = m.advisor.latest().expect("a note");
        assert_eq!(a.key.as_deref(), Some(&b"cache:user:1"[..]));
        assert!(a.better.contains("EX"), "{a:?}");
        // The same pattern again, with another id: quiet.
        assert!(kinds(&mut m, &["SET cache:user:2 {json}"]).is_empty());
    }

    #[test]
    fn a_cache_key_with_a_ttl_is_quiet() {
        let mut m = Model::default();
        let lines = [
            "SET cache:user:1 v EX 60",
            "SET page:home v PX 5000",
            "SET cache:user:2 v",
            "EXPIRE cache:user:2 60",
            // KEEPTTL keeps the TTL it has: no note either way.
            "SET cache:user:2 w KEEPTTL",
            "SETEX html:about 60 v",
        ];
        let k = kinds(&mut m, &lines);
        assert_eq!(k, [AdviceKind::NoTtl], "only the plain SET");
        assert_eq!(
            m.advisor.latest().and_then(|a| a.key.clone()),
            Some(b"cache:user:2".to_vec())
        );
    }

    #[test]
    fn a_cache_fill_without_ttl_is_a_note_and_with_ttl_is_quiet() {
        let mut m = Model::default();
        let k = kinds(&mut m, &["GET user:7:profile", "SET user:7:profile {json}"]);
        assert_eq!(k, [AdviceKind::NoTtl]);
        assert!(m
            .advisor
            .latest()
            .expect("note")
            .detail
            .contains("cache fill"));
        let mut m = Model::default();
        assert!(kinds(
            &mut m,
            &["GET user:7:profile", "SET user:7:profile {json} EX 60"]
        )
        .is_empty());
        // A plain SET of a key nobody looked up, with a plain name: not a cache.
        assert!(kinds(&mut m, &["SET user:8:name ann"]).is_empty());
    }

    #[test]
    fn keys_on_a_large_keyspace_says_how_many_it_walked() {
        let mut m = Model::default();
        fill(&mut m, 1500);
        assert_eq!(kinds(&mut m, &["KEYS user:1*"]), [AdviceKind::KeysScan]);
        let a = m.advisor.latest().expect("note");
        assert!(a.title.contains("1,500"), "{}", a.title);
        assert!(a.better.contains("SCAN 0 MATCH user:1*"), "{}", a.better);
        // Said once per pattern.
        assert!(kinds(&mut m, &["KEYS user:1*"]).is_empty());
    }

    #[test]
    fn keys_on_ten_keys_is_quiet() {
        let mut m = Model::default();
        fill(&mut m, 10);
        assert!(kinds(&mut m, &["KEYS *"]).is_empty());
    }

    #[test]
    fn a_key_without_namespace_is_said_once_per_session() {
        let mut m = Model::default();
        assert_eq!(kinds(&mut m, &["SET x 1"]), [AdviceKind::NoNamespace]);
        assert!(kinds(&mut m, &["SET y 1", "RPUSH jobs a", "SET user:1 a"]).is_empty());
        let mut m = Model::default();
        assert!(kinds(&mut m, &["SET user:1:name ann", "HSET session:ab f v"]).is_empty());
    }

    #[test]
    fn check_then_set_is_noted_with_its_atomic_form() {
        let mut m = Model::default();
        assert_eq!(
            kinds(
                &mut m,
                &["EXISTS user:1:lock-free", "SET user:1:lock-free me"]
            ),
            [AdviceKind::CheckThenSet]
        );
        assert!(m.advisor.latest().expect("note").better.contains("NX"));
        let mut m = Model::default();
        kinds(&mut m, &["SET stock:7 10"]);
        assert_eq!(
            kinds(&mut m, &["GET stock:7", "SET stock:7 9"]),
            [AdviceKind::CheckThenSet]
        );
        assert!(m.advisor.latest().expect("note").better.contains("INCRBY"));
        let mut m = Model::default();
        kinds(&mut m, &["SET lock:order:1 token-a"]);
        assert_eq!(
            kinds(&mut m, &["GET lock:order:1", "DEL lock:order:1"]),
            [AdviceKind::CheckThenSet]
        );
        assert!(m.advisor.latest().expect("note").better.contains("EVAL"));
    }

    #[test]
    fn incr_then_expire_sent_apart_is_noted() {
        let mut m = Model::default();
        assert_eq!(
            kinds(&mut m, &["INCR rate:ip:1", "EXPIRE rate:ip:1 60"]),
            [AdviceKind::CheckThenSet]
        );
        assert!(m
            .advisor
            .latest()
            .expect("note")
            .title
            .contains("INCR then EXPIRE"));
        // Together in a transaction: quiet.
        let mut m = Model::default();
        assert!(kinds(
            &mut m,
            &["MULTI", "INCR rate:ip:2", "EXPIRE rate:ip:2 60", "EXEC"]
        )
        .is_empty());
    }

    #[test]
    fn atomic_forms_are_quiet() {
        // SET NX.
        let mut m = Model::default();
        assert!(kinds(
            &mut m,
            &["EXISTS lock:job:1", "SET lock:job:1 me NX PX 30000"]
        )
        .is_empty());
        // The check and the set both inside MULTI.
        let mut m = Model::default();
        assert!(kinds(&mut m, &["MULTI", "GET stock:1", "SET stock:1 9", "EXEC"]).is_empty());
        // WATCH, then read and write.
        let mut m = Model::default();
        kinds(&mut m, &["SET stock:2 10"]);
        assert!(kinds(
            &mut m,
            &[
                "WATCH stock:2",
                "GET stock:2",
                "MULTI",
                "SET stock:2 9",
                "EXEC"
            ]
        )
        .is_empty());
        // A script that reads and writes.
        let mut m = Model::default();
        kinds(&mut m, &["SET stock:3 10"]);
        assert!(kinds(
            &mut m,
            &[
                "EVAL \"local v = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], v - 1)\" 1 stock:3"
            ]
        )
        .is_empty());
        // Another client's read does not pair with this client's write.
        let mut m = Model::default();
        m.dispatch(Action::AddClient);
        run(&mut m, 1, "EXISTS user:1:flag");
        assert!(kinds(&mut m, &["SET user:1:flag 1"]).is_empty());
    }

    #[test]
    fn a_read_before_an_unwatched_multi_is_still_a_race() {
        let mut m = Model::default();
        kinds(&mut m, &["SET stock:4 10"]);
        assert_eq!(
            kinds(&mut m, &["GET stock:4", "MULTI", "SET stock:4 9", "EXEC"]),
            [AdviceKind::CheckThenSet]
        );
        assert!(m
            .advisor
            .latest()
            .expect("note")
            .detail
            .contains("MULTI queues"));
    }

    #[test]
    fn a_big_collection_is_noted_with_its_size_and_a_small_one_is_not() {
        let mut m = Model::default();
        let k = kinds(
            &mut m,
            &["EVAL \"for i=1,6000 do redis.call('SADD', KEYS[1], i) end\" 1 tags:all"],
        );
        assert_eq!(k, [AdviceKind::BigKey]);
        let a = m.advisor.latest().expect("note");
        assert!(a.title.contains("6,000 elements"), "{}", a.title);
        assert!(
            a.detail.contains("5,000"),
            "the threshold is stated: {}",
            a.detail
        );
        let mut m = Model::default();
        assert!(kinds(
            &mut m,
            &["EVAL \"for i=1,100 do redis.call('SADD', KEYS[1], i) end\" 1 tags:all"]
        )
        .is_empty());
    }

    #[test]
    fn a_big_string_is_noted() {
        let mut m = Model::default();
        // 200 KB through APPEND in a script (typing it would be unkind).
        let k = kinds(
            &mut m,
            &["EVAL \"redis.call('SET', KEYS[1], string.rep('x', 200000))\" 1 blob:1"],
        );
        assert_eq!(k, [AdviceKind::BigKey]);
    }

    #[test]
    fn a_hot_key_across_clients_is_noted_once() {
        let mut m = Model::default();
        m.dispatch(Action::AddClient);
        let mut notes = Vec::new();
        for i in 0..60 {
            let before = m.advisor.notes().len();
            run(&mut m, i % 2, "INCR counter:views");
            run(&mut m, i % 2, &format!("SET other:{i} x EX 10"));
            notes.extend(m.advisor.notes().skip(before).map(|a| a.kind));
        }
        assert_eq!(notes, [AdviceKind::HotKey]);
        let a = m.advisor.latest().expect("note");
        assert!(a.detail.contains("from 2 clients"), "{}", a.detail);
    }

    #[test]
    fn spread_traffic_is_not_hot() {
        let mut m = Model::default();
        for i in 0..120 {
            run(&mut m, 0, &format!("INCR counter:{}", i % 5));
        }
        assert!(m.advisor.notes().all(|a| a.kind != AdviceKind::HotKey));
    }

    #[test]
    fn advice_follows_the_timeline() {
        let mut m = Model::default();
        run(&mut m, 0, "SET x 1");
        assert_eq!(m.advisor.notes().len(), 1);
        m.dispatch(Action::Seek(0));
        assert_eq!(m.advisor.notes().len(), 0, "rewound before it was said");
        m.dispatch(Action::Seek(1));
        assert_eq!(m.advisor.notes().len(), 1, "replayed, said again");
        // A read that a rewind undid does not pair with a later write.
        let mut m = Model::default();
        run(&mut m, 0, "EXISTS user:1:flag");
        m.dispatch(Action::StepBack);
        run(&mut m, 0, "SET user:1:flag 1");
        assert!(m
            .advisor
            .notes()
            .all(|a| a.kind != AdviceKind::CheckThenSet));
        // A share link carries the same notes.
        let mut m = Model::default();
        run(&mut m, 0, "SET cache:a 1");
        let mut other = Model::default();
        other.dispatch(Action::LoadLink(m.session().to_link_fragment()));
        assert_eq!(
            other.advisor.notes().collect::<Vec<_>>(),
            m.advisor.notes().collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_panel_shows_the_newest_unless_dismissed() {
        let mut m = Model::default();
        assert_eq!(panel(&m.advisor, None).current, None);
        fill(&mut m, 1200);
        run(&mut m, 0, "SET x 1");
        run(&mut m, 0, "KEYS *");
        let p = panel(&m.advisor, None);
        let current = p.current.expect("newest");
        assert_eq!(current.kind, AdviceKind::KeysScan);
        assert_eq!(p.earlier.len(), 1);
        assert_eq!(panel(&m.advisor, Some(current.seq)).current, None);
    }

    #[test]
    fn a_lessons_own_commands_get_advice() {
        let mut m = Model::default();
        m.dispatch(Action::OpenLesson {
            id: "cache-aside".into(),
            passed: vec![],
        });
        // Forward to the first try step.
        for _ in 0..40 {
            if m.lesson.as_ref().is_some_and(|l| l.is_try_step()) {
                break;
            }
            m.dispatch(Action::LessonNext);
        }
        assert!(m.lesson.as_ref().is_some_and(|l| l.is_try_step()));
        m.dispatch(Action::LessonRun {
            pane: 0,
            line: "SET cache:lesson:1 v".into(),
        });
        let a = m.view_advisor().latest().expect("a note in the lesson");
        assert_eq!(a.kind, AdviceKind::NoTtl);
        m.dispatch(Action::CloseLesson);
        assert!(m.view_advisor().latest().is_none(), "the playground's own");
    }
}
