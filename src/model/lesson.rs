//! A guided lesson in the playground: a shipped scenario played by `cachelab_scenario::Player`,
//! with the views' state (key list, consoles, event log, check results) derived from it after
//! every move. The free playground's own state is left untouched while a lesson is open.

use std::collections::BTreeSet;

use cachelab_scenario::run::START_MS;
use cachelab_scenario::{parse, CheckResult, Player, Scenario, StepKind, SHIPPED};

use super::events::EventLog;
use super::keys::KeyIndex;
use super::{LineKind, Pane};

/// The shipped lessons, parsed, in the order they ship. A file that does not parse is left out
/// (the scenario crate's tests keep that from happening).
pub fn shipped() -> Vec<Scenario> {
    SHIPPED
        .iter()
        .filter_map(|(name, text)| parse(name, text).ok())
        .collect()
}

/// (id, title) of every shipped lesson.
pub fn catalogue() -> Vec<(String, String)> {
    shipped().into_iter().map(|s| (s.id, s.title)).collect()
}

/// The indexes (0-based) of the try steps of a lesson.
pub fn try_steps(scenario: &Scenario) -> Vec<usize> {
    (scenario.steps.iter().enumerate())
        .filter(|(_, s)| s.kind == StepKind::Try)
        .map(|(i, _)| i)
        .collect()
}

/// Progress as stored: the passed try steps' indexes, comma-separated.
pub fn progress_to_text(passed: &BTreeSet<usize>) -> String {
    passed
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn progress_from_text(text: &str) -> BTreeSet<usize> {
    text.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The engine configuration a lesson plays on: events recorded for the views, and for the
/// eviction lesson the exact-LRU shadow, so that its view can set each round's victim beside the
/// one a true LRU would have picked.
pub fn engine_config(scenario: &Scenario) -> cachelab_engine::Config {
    cachelab_engine::Config {
        record_events: true,
        eviction_true_lru: scenario.view == "eviction",
        ..cachelab_engine::Config::default()
    }
}

pub struct Lesson {
    pub id: String,
    pub player: Player,
    /// The instance (1-based) the keyspace and events show.
    pub instance: usize,
    pub keys: KeyIndex,
    /// One console per scenario client.
    pub panes: Vec<Pane>,
    pub log: EventLog,
    /// The current try step's checks, evaluated after the last move.
    pub checks: Vec<CheckResult>,
    /// Try steps (0-based) whose checks all passed at some point.
    pub passed: BTreeSet<usize>,
}

impl Lesson {
    /// Opens a shipped lesson by id, at its start.
    pub fn open(id: &str, passed: BTreeSet<usize>) -> Option<Lesson> {
        let scenario = shipped().into_iter().find(|s| s.id == id)?;
        let config = engine_config(&scenario);
        let panes = scenario
            .clients
            .iter()
            .map(|c| Pane {
                name: c.clone(),
                client: 0,
                lines: Vec::new(),
                waiting: false,
                db: 0,
            })
            .collect();
        let mut lesson = Lesson {
            id: id.to_string(),
            player: Player::new(scenario, config),
            instance: 1,
            keys: KeyIndex::default(),
            panes,
            log: EventLog::default(),
            checks: Vec::new(),
            passed,
        };
        lesson.refresh();
        Some(lesson)
    }

    pub fn title(&self) -> &str {
        &self.player.scenario().title
    }

    pub fn is_try_step(&self) -> bool {
        self.player
            .current_step()
            .is_some_and(|s| s.kind == StepKind::Try)
    }

    pub fn next(&mut self) {
        self.player.step_forward();
        self.refresh();
    }

    pub fn prev(&mut self) {
        self.player.step_back();
        self.refresh();
    }

    pub fn set_instance(&mut self, instance: usize) {
        if (1..=self.player.scenario().instances).contains(&instance) {
            self.instance = instance;
            self.refresh();
        }
    }

    /// A line the learner typed into client `pane`'s console. Outside a try step the lesson's
    /// history is not the learner's to change, so the console says so instead.
    pub fn run(&mut self, pane: usize, line: &str) {
        let Some(client) = self.player.scenario().clients.get(pane).cloned() else {
            return;
        };
        if !self.is_try_step() {
            let p = &mut self.panes[pane];
            p.push(LineKind::Input, format!("{} {line}", p.prompt()));
            p.push(
                LineKind::Info,
                "Commands of your own run at the lesson's \"try it\" steps: press Next step."
                    .into(),
            );
            return;
        }
        if let Err(e) = self.player.run_own(&client, line) {
            let p = &mut self.panes[pane];
            p.push(LineKind::Input, format!("{} {line}", p.prompt()));
            p.push(LineKind::Error, format!("(error) {e}"));
            return;
        }
        self.refresh();
    }

    /// Whether every try step of the lesson has been passed.
    pub fn complete(&self) -> bool {
        try_steps(self.player.scenario())
            .iter()
            .all(|i| self.passed.contains(i))
    }

    /// Re-reads everything the views show from the player.
    fn refresh(&mut self) {
        self.checks = self.player.check_results();
        if self.is_try_step() && !self.checks.is_empty() && self.checks.iter().all(|c| c.passed) {
            self.passed.insert(self.player.position() - 1);
        }
        let instance = self.instance;
        if let Some(engine) = self.player.engine(instance) {
            self.keys.rebuild(engine);
        }
        // Consoles and events: every action played so far, the learner's own included.
        for p in &mut self.panes {
            p.lines.clear();
        }
        self.log = EventLog::default();
        let namer = |c: u64| format!("#{c}");
        let played = super::views::played(&self.player);
        for group in played.chunk_by(|x, y| x.position == y.position) {
            let p = group[0].position;
            for a in group.iter().map(|x| x.action) {
                let events: Vec<_> = a
                    .events
                    .iter()
                    .filter(|(i, _)| *i == instance)
                    // Times from the lesson's start, as the playground counts them.
                    .map(|(_, e)| (a.now - START_MS, e.clone()))
                    .collect();
                self.log.record(p, &events, &namer);
                let Some(sender) = &a.sender else { continue };
                let Some(pane) = self.panes.iter_mut().find(|x| x.name == sender.client) else {
                    continue;
                };
                let prefix = if sender.instance == 1 {
                    String::new()
                } else {
                    format!("[instance {}] ", sender.instance)
                };
                // Expectations and waits are the lesson's bookkeeping, not a client's input.
                let said = format!("{sender}: ");
                let label = a.label.strip_prefix("solution ").unwrap_or(&a.label);
                let Some(text) = label.strip_prefix(&said) else {
                    continue;
                };
                pane.push(LineKind::Input, format!("{prefix}{} {text}", pane.prompt()));
                if let Some(reply) = &a.reply {
                    let kind = if reply.starts_with("(error)") {
                        LineKind::Error
                    } else {
                        LineKind::Output
                    };
                    pane.push(kind, reply.clone());
                }
                if let Some(f) = &a.failure {
                    pane.push(LineKind::Info, format!("✗ {f}"));
                }
            }
            for a in group.iter().map(|x| x.action) {
                for (to, text) in &a.pushed {
                    if let Some(pane) = self.panes.iter_mut().find(|x| x.name == to.client) {
                        pane.push(LineKind::Pushed, text.clone());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Model};

    #[test]
    fn every_shipped_lesson_is_listed() {
        let ids: Vec<String> = catalogue().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids.len(), SHIPPED.len());
        assert!(ids.iter().any(|i| i == "cache-aside"));
    }

    #[test]
    fn stepping_through_cache_aside_fills_the_keyspace_and_passes_with_solutions() {
        let mut m = Model::default();
        m.dispatch(Action::Run {
            pane: 0,
            line: "SET mine 1".into(),
        });
        m.dispatch(Action::OpenLesson {
            id: "cache-aside".into(),
            passed: vec![],
        });
        let l = m.lesson.as_ref().expect("open");
        assert_eq!(l.player.position(), 0);
        assert_eq!(m.view_keys().total(), 0);
        let first = l.player.narration().to_string();
        let len = l.player.len();
        let mut narrations = vec![first];
        let mut saw_key = false;
        for _ in 0..len {
            m.dispatch(Action::LessonNext);
            let l = m.lesson.as_ref().expect("open");
            narrations.push(l.player.narration().to_string());
            saw_key |= l.keys.total() > 0;
            if l.is_try_step() {
                // Play the model answer as if typed, so the checks pass.
                let solution = l.player.current_step().expect("step").solution.clone();
                let clients = l.player.scenario().clients.clone();
                for c in solution {
                    let pane = clients.iter().position(|x| *x == c.sender.client);
                    m.dispatch(Action::LessonRun {
                        pane: pane.expect("client"),
                        line: c.text.clone(),
                    });
                }
                let l = m.lesson.as_ref().expect("open");
                assert!(l.checks.iter().all(|c| c.passed), "{:?}", l.checks);
            }
        }
        assert!(saw_key);
        assert!(narrations.windows(2).any(|w| w[0] != w[1]));
        let l = m.lesson.as_ref().expect("open");
        assert!(l.player.at_end());
        assert!(l.complete());
        assert!(!l.panes[0].lines.is_empty());
        let typed: Vec<&str> = (l.panes.iter().flat_map(|p| &p.lines))
            .filter(|x| x.kind == LineKind::Input)
            .map(|x| x.text.as_str())
            .collect();
        assert!(typed.iter().all(|t| !t.contains("expect")), "{typed:?}");
        assert!(
            typed.iter().any(|t| t.contains("user:7")),
            "the learner's line: {typed:?}"
        );
        // Back to the playground: its key is still there.
        m.dispatch(Action::CloseLesson);
        assert!(m.lesson.is_none());
        assert_eq!(m.view_keys().total(), 1);
    }

    #[test]
    fn commands_outside_try_steps_leave_the_lesson_alone() {
        let mut m = Model::default();
        m.dispatch(Action::OpenLesson {
            id: "cache-aside".into(),
            passed: vec![],
        });
        m.dispatch(Action::LessonRun {
            pane: 0,
            line: "SET x 1".into(),
        });
        let l = m.lesson.as_ref().expect("open");
        assert_eq!(l.keys.total(), 0);
        assert_eq!(
            l.panes[0].lines.last().map(|x| x.kind),
            Some(LineKind::Info)
        );
    }

    #[test]
    fn a_shared_session_names_its_lesson_and_reopens_it() {
        let mut m = Model::default();
        m.dispatch(Action::Run {
            pane: 0,
            line: "SET mine 1".into(),
        });
        m.dispatch(Action::OpenLesson {
            id: "expiry".into(),
            passed: vec![],
        });
        let link = m.session().to_link_fragment();
        let mut other = Model::default();
        other.dispatch(Action::LoadLink(link));
        assert_eq!(other.lesson.as_ref().map(|l| l.id.as_str()), Some("expiry"));
        other.dispatch(Action::CloseLesson);
        assert_eq!(
            other.view_keys().total(),
            1,
            "the playground's steps came too"
        );
        // Without a lesson the saved form has no scenario at all (older readers see no change).
        assert!(!other.session().to_json().contains("scenario"));
    }

    #[test]
    fn arrow_keys_step_the_lesson() {
        let mut m = Model::default();
        m.dispatch(Action::OpenLesson {
            id: "cache-aside".into(),
            passed: vec![],
        });
        m.dispatch(Action::StepForward);
        m.dispatch(Action::StepForward);
        m.dispatch(Action::StepBack);
        assert_eq!(m.lesson.as_ref().map(|l| l.player.position()), Some(1));
        assert_eq!(m.timeline.len(), 0, "the playground did not move");
    }

    #[test]
    fn progress_round_trips() {
        let set: BTreeSet<usize> = [1, 4].into_iter().collect();
        assert_eq!(progress_from_text(&progress_to_text(&set)), set);
        assert!(progress_from_text("x,").is_empty());
    }

    #[test]
    fn unknown_lesson_is_a_notice() {
        let mut m = Model::default();
        m.dispatch(Action::OpenLesson {
            id: "nope".into(),
            passed: vec![],
        });
        assert!(m.lesson.is_none());
        assert!(m.notice.is_some());
    }
}
