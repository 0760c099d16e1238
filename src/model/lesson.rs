//! A guided lesson in the playground: a shipped scenario played by `cachelab_scenario::Player`,
//! with the views' state (key list, consoles, event log, check results) derived from it after
//! every move. The free playground's own state is left untouched while a lesson is open.

use std::collections::BTreeSet;

use cachelab_engine::Reply;
use cachelab_scenario::format::ActionKind;
use cachelab_scenario::run::{ActionOutcome, START_MS};
use cachelab_scenario::{parse, CheckResult, Player, Scenario, Step, StepKind, SHIPPED};

use super::advisor::{self, Advisor};
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

/// Speeds the lesson player offers when it plays on its own.
pub const LESSON_SPEEDS: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
/// A frame never counts for more than this much real time (a hidden tab, a debugger pause), so
/// that playing never skips a step nobody saw.
const MAX_FRAME_MS: f64 = 250.0;
/// How long a passed try step stays on screen (at 1×) before playing moves on: long enough to
/// see the ticks.
const PASSED_PAUSE_MS: f64 = 2000.0;

/// Real milliseconds a step takes to read at 1×: its narration (about 240 words a minute) and a
/// moment per command to follow it in the consoles, between 3 and 30 seconds. Before the first
/// step (`step` is None) the summary is what is read.
pub fn reading_ms(step: Option<&Step>, summary: &str) -> f64 {
    let words = |t: &str| t.split_whitespace().count();
    let (text_words, commands) = match step {
        None => (words(summary), 0),
        Some(step) => step
            .actions
            .iter()
            .fold((words(&step.narration), 0), |(w, c), a| match &a.kind {
                ActionKind::Say(text) => (w + words(text), c),
                ActionKind::Command(_) | ActionKind::Repeat { .. } => (w, c + 1),
                _ => (w, c),
            }),
    };
    (2000.0 + text_words as f64 * 250.0 + commands as f64 * 700.0).clamp(3000.0, 30000.0)
}

/// One line of the lesson's outline: a place to jump to.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlineEntry {
    /// The player position this entry jumps to (steps played): 0 is the introduction, step i
    /// (0-based) is position i + 1.
    pub position: usize,
    pub title: String,
    pub is_try: bool,
    /// The learner is here.
    pub current: bool,
    /// A try step whose checks all passed at some point.
    pub passed: bool,
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
    /// The scenario's text when it is an instructor's (opened from a file or a link), not a
    /// shipped lesson: share links and lesson links carry it.
    pub text: Option<String>,
    /// The name this lesson's progress is kept under in the browser (`workshop::progress_id`).
    pub progress_id: String,
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
    /// The player moves on by itself, a step per reading time.
    pub playing: bool,
    /// One of `LESSON_SPEEDS`: reading times are divided by it.
    pub speed: f64,
    /// Real milliseconds spent playing at the current position (the learner's turn at a try
    /// step not counted).
    pub dwell_ms: f64,
    /// Notes on the learner's own commands. Unlike the playground's, a log of what was said:
    /// the lesson's history is the player's, rebuilt on every move, and the learner's commands
    /// are only part of it; moving between steps forgets the reads waiting for a write, since
    /// the lesson's own commands ran in between.
    pub advisor: Advisor,
}

impl Lesson {
    /// Opens a shipped lesson by id, at its start.
    pub fn open(id: &str, passed: BTreeSet<usize>) -> Option<Lesson> {
        let scenario = shipped().into_iter().find(|s| s.id == id)?;
        Some(Lesson::from_scenario(scenario, passed))
    }

    /// Opens an instructor's lesson from its text, at its start. `origin` (a file name, or
    /// empty for a link) names it in the errors; the error is the notice to show.
    pub fn from_text(origin: &str, text: &str, passed: BTreeSet<usize>) -> Result<Lesson, String> {
        let scenario = super::workshop::read_lesson(origin, text)?;
        let progress_id = super::workshop::progress_id(&scenario.id, text);
        let mut lesson = Lesson::from_scenario(scenario, passed);
        lesson.text = Some(text.to_string());
        lesson.progress_id = progress_id;
        Ok(lesson)
    }

    /// Opens any scenario, at its start.
    pub fn from_scenario(scenario: Scenario, passed: BTreeSet<usize>) -> Lesson {
        let id = scenario.id.clone();
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
            progress_id: id.clone(),
            id,
            text: None,
            player: Player::new(scenario, config),
            instance: 1,
            keys: KeyIndex::default(),
            panes,
            log: EventLog::default(),
            checks: Vec::new(),
            passed,
            playing: false,
            speed: 1.0,
            dwell_ms: 0.0,
            advisor: Advisor::default(),
        };
        lesson.refresh();
        lesson
    }

    /// The prompt of console `pane`: in a cluster lesson the address of the node the console
    /// talks to (the selected one, which follows the console's redirections), as `redis-cli -c`
    /// shows it; otherwise the single server's.
    pub fn prompt(&self, pane: usize) -> String {
        let Some(p) = self.panes.get(pane) else {
            return String::new();
        };
        match self.player.cluster() {
            Some(c) if (1..=c.len()).contains(&self.instance) => {
                let addr = c.addr(self.instance - 1);
                if p.db == 0 {
                    format!("{addr}>")
                } else {
                    format!("{addr}[{}]>", p.db)
                }
            }
            _ => p.prompt(),
        }
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
        self.advisor.forget_reads();
        self.player.step_forward();
        self.moved();
    }

    pub fn prev(&mut self) {
        self.advisor.forget_reads();
        self.player.step_back();
        self.moved();
    }

    /// Goes to `position` (steps played: 0 is the introduction).
    pub fn jump(&mut self, position: usize) {
        self.player.jump_to(position);
        self.moved();
    }

    /// After any move: the views follow, and the reading time starts again.
    fn moved(&mut self) {
        self.dwell_ms = 0.0;
        if self.player.at_end() {
            self.playing = false;
        }
        self.refresh();
    }

    /// Plays (or pauses) the lesson on its own. Playing from the end starts over.
    pub fn set_playing(&mut self, playing: bool) {
        if playing && self.player.at_end() {
            self.jump(0);
        }
        self.playing = playing;
        self.dwell_ms = 0.0;
    }

    /// Speeds outside `LESSON_SPEEDS` are ignored.
    pub fn set_speed(&mut self, speed: f64) {
        if LESSON_SPEEDS.contains(&speed) {
            self.speed = speed;
        }
    }

    /// A try step whose checks do not all pass yet: playing waits here for the learner.
    pub fn waiting_for_learner(&self) -> bool {
        self.is_try_step() && !self.checks_pass()
    }

    fn checks_pass(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// Real milliseconds the current position stays on screen while playing.
    pub fn dwell_target_ms(&self) -> f64 {
        let at_1x = if self.is_try_step() && self.checks_pass() {
            PASSED_PAUSE_MS
        } else {
            reading_ms(self.player.current_step(), &self.player.scenario().summary)
        };
        at_1x / self.speed
    }

    /// A frame of play: `real_ms` real milliseconds passed. True when the lesson moved on.
    pub fn frame(&mut self, real_ms: f64) -> bool {
        if !self.playing || !real_ms.is_finite() || real_ms <= 0.0 {
            return false;
        }
        if self.waiting_for_learner() {
            // The reading time starts once the checks pass.
            self.dwell_ms = 0.0;
            return false;
        }
        self.dwell_ms += real_ms.min(MAX_FRAME_MS);
        if self.dwell_ms < self.dwell_target_ms() {
            return false;
        }
        self.next();
        true
    }

    /// Every place to jump to: the introduction, then each step by its title.
    pub fn outline(&self) -> Vec<OutlineEntry> {
        let here = self.player.position();
        let intro = OutlineEntry {
            position: 0,
            title: "Introduction".into(),
            is_try: false,
            current: here == 0,
            passed: false,
        };
        let steps = self.player.scenario().steps.iter().enumerate();
        std::iter::once(intro)
            .chain(steps.map(|(i, s)| OutlineEntry {
                position: i + 1,
                title: s.title.clone(),
                is_try: s.kind == StepKind::Try,
                current: here == i + 1,
                passed: s.kind == StepKind::Try && self.passed.contains(&i),
            }))
            .collect()
    }

    /// What the instance selector offers: every instance, or every node of a cluster (by its
    /// address), as (number, label).
    pub fn instance_choices(&self) -> Vec<(usize, String)> {
        let count = self.player.scenario().instances;
        match self.player.cluster() {
            Some(c) => (1..=count.min(c.len()))
                .map(|i| (i, format!("node {i} · {}", c.addr(i - 1))))
                .collect(),
            None => (1..=count).map(|i| (i, format!("instance {i}"))).collect(),
        }
    }

    pub fn set_instance(&mut self, instance: usize) {
        if (1..=self.player.scenario().instances).contains(&instance) {
            self.instance = instance;
            self.refresh();
        }
    }

    /// A line the learner typed into client `pane`'s console, sent to the instance shown.
    /// Outside a try step the lesson's
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
        // The console talks to the instance the views show, as a client connected there would.
        let sender = cachelab_scenario::Sender {
            client,
            instance: self.instance,
        };
        match self.player.run_own_on(sender, line) {
            Ok(outcome) => self.advise(&outcome),
            Err(e) => {
                let p = &mut self.panes[pane];
                p.push(LineKind::Input, format!("{} {line}", p.prompt()));
                p.push(LineKind::Error, format!("(error) {e}"));
                return;
            }
        }
        // In a cluster the console's connection follows redirections, as `redis-cli -c` does;
        // the views follow it to the node it ended on, so the next command goes on from there.
        let client = &self.player.scenario().clients[pane];
        if let Some(node) = self.player.client_node(client) {
            self.instance = node;
        }
        self.refresh();
    }

    /// Feeds the commands a line of the learner's sent to the advisor, each client known by its
    /// index among the scenario's clients.
    fn advise(&mut self, outcome: &ActionOutcome) {
        let clients = &self.player.scenario().clients;
        let last = outcome.sent.len().saturating_sub(1);
        for (i, sent) in outcome.sent.iter().enumerate() {
            let instance = sent.sender.instance;
            let Some(engine) = self.player.engine(instance) else {
                continue;
            };
            let client = clients.iter().position(|c| *c == sent.sender.client);
            let client = client.unwrap_or(clients.len()) as u64 + (instance as u64) * 1000;
            // The action's events are not split by command; they go with its last one.
            let events: Vec<_> = (outcome.events.iter())
                .filter(|(n, _)| i == last && *n == instance)
                .map(|(_, e)| e.clone())
                .collect();
            let reply = sent.frames.last().cloned().unwrap_or(Reply::Nil);
            advisor::observe(
                &mut self.advisor,
                engine,
                client,
                &sent.argv,
                &reply,
                &events,
            );
        }
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
        let cluster = self.player.cluster().is_some();
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
                let prefix = if cluster {
                    // `A:` goes on the client's connection; `A@3:` to node 3 first.
                    match sender.instance {
                        0 => String::new(),
                        n => format!("[node {n}] "),
                    }
                } else if sender.instance == 1 {
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
                type_solution(&mut m);
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
        assert_eq!(
            m.view_prompt(0),
            "127.0.0.1:6379>",
            "a single server's prompt"
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

    fn open(id: &str) -> Model {
        let mut m = Model::default();
        m.dispatch(Action::OpenLesson {
            id: id.into(),
            passed: vec![],
        });
        m
    }

    fn lesson(m: &Model) -> &Lesson {
        m.lesson.as_ref().expect("open")
    }

    /// Plays the current try step's model answer as if typed into the consoles.
    fn type_solution(m: &mut Model) {
        let l = lesson(m);
        let solution = l.player.current_step().expect("step").solution.clone();
        let clients = l.player.scenario().clients.clone();
        for c in solution {
            let pane = clients.iter().position(|x| *x == c.sender.client);
            m.dispatch(Action::LessonRun {
                pane: pane.expect("client"),
                line: c.text.clone(),
            });
        }
    }

    #[test]
    fn the_outline_lists_every_step_and_jumps() {
        let mut m = open("cache-aside");
        let outline = lesson(&m).outline();
        let len = lesson(&m).player.len();
        assert_eq!(outline.len(), len + 1);
        assert_eq!(outline[0].title, "Introduction");
        assert!(outline[0].current);
        let steps = &lesson(&m).player.scenario().steps;
        assert_eq!(outline[1].title, steps[0].title);
        let first_try = try_steps(lesson(&m).player.scenario())[0];
        assert!(outline[first_try + 1].is_try);
        assert!(!outline[first_try + 1].passed);

        m.dispatch(Action::LessonJump(first_try + 1));
        let l = lesson(&m);
        assert_eq!(l.player.position(), first_try + 1);
        assert!(l.is_try_step());
        let outline = l.outline();
        assert_eq!(
            outline
                .iter()
                .filter(|e| e.current)
                .map(|e| e.position)
                .collect::<Vec<_>>(),
            [first_try + 1]
        );
        assert!(l.keys.total() > 0, "the views follow the jump");
        type_solution(&mut m);
        assert!(
            lesson(&m).outline()[first_try + 1].passed,
            "ticked once passed"
        );

        // Jumping back and forth again lands on the same step; past the end is the end.
        m.dispatch(Action::LessonJump(1));
        assert_eq!(lesson(&m).player.position(), 1);
        assert!(lesson(&m).outline()[1].current);
        m.dispatch(Action::LessonJump(len + 5));
        assert!(lesson(&m).player.at_end());
        assert!(
            lesson(&m).outline()[first_try + 1].passed,
            "progress is kept"
        );
        assert_eq!(m.timeline.len(), 0, "the playground did not move");
    }

    /// A try step between two lesson steps (the shipped lessons end on theirs).
    const MIDDLE_TRY: &str = "cachelab-scenario 1
id: middle
title: Middle
summary: Short.
view: keyspace
clients: A

step: One
> First.
A: SET a 1

try: Set b
> Set b to anything.
check: exists b
solution A: SET b 2

step: After
A: GET b

step: Last
> The end.
";

    #[test]
    fn playing_moves_on_after_the_reading_time_and_waits_at_try_steps() {
        let scenario = parse("middle.scn", MIDDLE_TRY).expect("parses");
        let mut m = Model::default();
        m.lesson = Some(Lesson::from_scenario(scenario, BTreeSet::new()));
        m.dispatch(Action::LessonPlay(true));
        assert!(lesson(&m).playing);
        // Just short of the introduction's reading time: still there.
        let intro = lesson(&m).dwell_target_ms();
        assert_eq!(intro, 3000.0);
        for _ in 0..29 {
            m.dispatch(Action::Frame(100.0));
        }
        assert_eq!(lesson(&m).player.position(), 0);
        m.dispatch(Action::Frame(100.0));
        assert_eq!(lesson(&m).player.position(), 1);
        for _ in 0..30 {
            m.dispatch(Action::Frame(100.0));
        }
        assert_eq!(lesson(&m).player.position(), 2);

        // At the try step playing waits for the learner however long it takes.
        for _ in 0..1000 {
            m.dispatch(Action::Frame(250.0));
        }
        let l = lesson(&m);
        assert_eq!(l.player.position(), 2, "waits at the try step");
        assert!(l.playing && l.waiting_for_learner());
        // Once the checks pass it moves on after a short pause.
        m.dispatch(Action::LessonRun {
            pane: 0,
            line: "SET b mine".into(),
        });
        assert!(!lesson(&m).waiting_for_learner());
        assert!(lesson(&m).outline()[2].passed);
        for _ in 0..7 {
            m.dispatch(Action::Frame(250.0));
        }
        assert_eq!(lesson(&m).player.position(), 2);
        m.dispatch(Action::Frame(250.0));
        assert_eq!(lesson(&m).player.position(), 3);
        let typed = &lesson(&m).panes[0].lines;
        assert!(typed.iter().any(|x| x.text.ends_with("GET b")), "{typed:?}");
        // At the last step playing stops by itself, and stays stopped.
        for _ in 0..30 {
            m.dispatch(Action::Frame(100.0));
        }
        let l = lesson(&m);
        assert!(l.player.at_end());
        assert!(!l.playing, "playing stops at the end");
        m.dispatch(Action::Frame(60_000.0));
        assert_eq!(lesson(&m).player.position(), 4);
        // Playing again from the end starts over.
        m.dispatch(Action::LessonPlay(true));
        assert_eq!(lesson(&m).player.position(), 0);
        assert!(lesson(&m).playing);
        assert!(lesson(&m).outline()[2].passed, "progress is kept");
        assert_eq!(m.timeline.len(), 0, "the playground did not move");
    }

    #[test]
    fn the_speed_divides_the_reading_time_and_space_toggles_play() {
        let mut m = open("expiry");
        let at_1x = lesson(&m).dwell_target_ms();
        m.dispatch(Action::LessonSpeed(4.0));
        assert_eq!(lesson(&m).dwell_target_ms(), at_1x / 4.0);
        m.dispatch(Action::LessonSpeed(3.0));
        assert_eq!(lesson(&m).speed, 4.0, "not an offered speed");
        // Space (TogglePlay) plays the lesson, not the playground's clock.
        m.dispatch(Action::TogglePlay);
        assert!(lesson(&m).playing);
        assert!(!m.playing);
        let mut frames = 0;
        while lesson(&m).player.position() == 0 {
            m.dispatch(Action::Frame(100.0));
            frames += 1;
        }
        assert_eq!(frames, (at_1x / 4.0 / 100.0).ceil() as usize);
        // A manual step restarts the reading time; a huge frame counts for a quarter second.
        m.dispatch(Action::LessonNext);
        assert_eq!(lesson(&m).dwell_ms, 0.0);
        m.dispatch(Action::Frame(1e9));
        assert_eq!(lesson(&m).player.position(), 2);
        m.dispatch(Action::TogglePlay);
        assert!(!lesson(&m).playing);
        m.dispatch(Action::Frame(1e9));
        assert_eq!(lesson(&m).dwell_ms, 0.0);
    }

    #[test]
    fn reading_time_grows_with_the_text() {
        let text = "cachelab-scenario 1\nid: t\ntitle: T\nsummary: S\nview: keyspace\nclients: A\n\nstep: Short\n> One.\nA: SET k v\n\nstep: Long\n> ".to_string()
            + &"word ".repeat(60)
            + "\nA: GET k\n> More words here.\n";
        let s = parse("t.scn", &text).expect("parses");
        let short = reading_ms(Some(&s.steps[0]), "");
        let long = reading_ms(Some(&s.steps[1]), "");
        assert_eq!(short, 3000.0, "the floor");
        assert_eq!(long, 2000.0 + 63.0 * 250.0 + 700.0);
        assert_eq!(reading_ms(None, &"w ".repeat(1000)), 30000.0, "the ceiling");
    }

    #[test]
    fn consoles_talk_to_the_instance_shown() {
        let mut m = open("redlock");
        let len = lesson(&m).player.len();
        m.dispatch(Action::LessonJump(len));
        assert!(lesson(&m).is_try_step());
        for instance in 1..=3 {
            m.dispatch(Action::LessonInstance(instance));
            m.dispatch(Action::LessonRun {
                pane: 0,
                line: "SET res:mail tok-A NX PX 1000".into(),
            });
        }
        let l = lesson(&m);
        assert!(
            !l.checks.is_empty() && l.checks.iter().all(|c| c.passed),
            "{:?}",
            l.checks
        );
        assert!(l.passed.contains(&(len - 1)));
        let typed: Vec<&str> = (l.panes[0].lines.iter())
            .filter(|x| x.kind == LineKind::Input)
            .map(|x| x.text.as_str())
            .collect();
        assert!(
            typed.iter().any(|t| t.starts_with("[instance 3] ")),
            "{typed:?}"
        );
    }

    #[test]
    fn a_cluster_lessons_selector_offers_its_nodes_and_the_console_follows_redirects() {
        let mut m = open("cluster-failover");
        let l = lesson(&m);
        let choices = l.instance_choices();
        assert_eq!(choices.len(), 6);
        assert_eq!(choices[4], (5, "node 5 · 127.0.0.1:7004".to_string()));
        // Step 1 writes order:2 on node 1; node 4, its replica, has it too.
        m.dispatch(Action::LessonNext);
        for node in [1, 4] {
            m.dispatch(Action::LessonInstance(node));
            assert_eq!(lesson(&m).instance, node);
            assert_eq!(lesson(&m).keys.total(), 1, "node {node}");
        }
        m.dispatch(Action::LessonInstance(2));
        assert_eq!(lesson(&m).keys.total(), 0);
        m.dispatch(Action::LessonInstance(7));
        assert_eq!(lesson(&m).instance, 2, "no node 7");
        let typed: Vec<String> = (lesson(&m).panes[0].lines.iter())
            .filter(|x| x.kind == LineKind::Input)
            .map(|x| x.text.clone())
            .collect();
        assert!(
            typed.iter().any(|t| t.starts_with("[node 4] ")),
            "{typed:?}"
        );
        assert!(!typed.iter().any(|t| t.contains("[instance")), "{typed:?}");
        // At the try step, a command typed with node 1 shown is redirected to node 2, where
        // order:42 lives; the views follow, and WAIT goes on the same connection.
        let len = lesson(&m).player.len();
        m.dispatch(Action::LessonJump(len));
        m.dispatch(Action::LessonInstance(1));
        assert_eq!(m.view_prompt(0), "127.0.0.1:7000>");
        m.dispatch(Action::LessonRun {
            pane: 0,
            line: "SET order:42 paid".into(),
        });
        assert_eq!(lesson(&m).instance, 2);
        assert_eq!(
            m.view_prompt(0),
            "127.0.0.1:7001>",
            "the prompt follows the redirect"
        );
        m.dispatch(Action::LessonRun {
            pane: 0,
            line: "WAIT 1 1000".into(),
        });
        let l = lesson(&m);
        assert_eq!(
            l.panes[0].lines.last().map(|x| x.text.as_str()),
            Some("(integer) 1")
        );
        assert!(l.checks.iter().all(|c| c.passed), "{:?}", l.checks);
    }

    #[test]
    fn progress_round_trips() {
        let set: BTreeSet<usize> = [1, 4].into_iter().collect();
        assert_eq!(progress_from_text(&progress_to_text(&set)), set);
        assert!(progress_from_text("x,").is_empty());
    }

    #[test]
    fn every_lesson_logs_sentences_not_debug_text() {
        for (id, _) in catalogue() {
            let mut l = Lesson::open(&id, BTreeSet::new()).expect("opens");
            while !l.player.at_end() {
                l.next();
                for e in &l.log.entries {
                    assert!(
                        !e.text.contains("{ ") && !e.text.contains("(["),
                        "{id}: {}",
                        e.text
                    );
                }
            }
        }
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
