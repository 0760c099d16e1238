//! The playground's model: the engine, the virtual clock, the clients' consoles, the timeline,
//! the event log and the keyspace index, changed only by `Model::dispatch(Action)`.
//!
//! Everything here is plain Rust with no browser in sight, so the reducer's behaviour is tested
//! natively (`cargo test -p cachelab-web`); the components only draw it and dispatch actions.
//! Time moves only through actions (a button, a key, or the play loop's frames), and every move
//! calls `Engine::advance` with the new virtual time.

pub mod advisor;
pub mod cluster;
pub mod cluster_views;
pub mod console;
pub mod events;
pub mod fmt;
pub mod keys;
pub mod lesson;
pub mod session;
pub mod timeline;
pub mod views;
pub mod workshop;

use std::collections::HashMap;

use cachelab_engine::cli::split_args;
use cachelab_engine::{to_cli_text, ClientId, Config, Engine, Event, ExpireCycleReport, Reply};

use events::EventLog;
use keys::KeyIndex;
use session::{Session, FORMAT_VERSION};
use timeline::{Step, Timeline};

/// A console keeps this many lines.
pub const SCROLLBACK: usize = 400;
/// Play never jumps more than this much real time in one frame (a tab that was hidden, a
/// debugger pause), so virtual time does not leap.
const MAX_FRAME_MS: f64 = 250.0;
/// Speeds offered by the speed control.
pub const SPEEDS: [f64; 7] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// What the learner typed, with its prompt.
    Input,
    Output,
    Error,
    /// A reply that arrived later: a served BLPOP, a pub/sub message, a timeout.
    Pushed,
    /// Something the console says itself (HELP, Invalid argument(s)).
    Info,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub kind: LineKind,
    pub text: String,
}

/// One client's console.
#[derive(Clone, Debug, PartialEq)]
pub struct Pane {
    pub name: String,
    pub client: ClientId,
    pub lines: Vec<Line>,
    /// The client is blocked (BLPOP...): its reply will come later.
    pub waiting: bool,
    /// The client's selected database, for the prompt.
    pub db: usize,
}

/// A typed line is echoed up to this many bytes: a thousand-pair MSET need not fill the screen.
const ECHO_LIMIT: usize = 240;
/// A reply is shown up to this many bytes (KEYS * on a large keyspace).
const OUTPUT_LIMIT: usize = 16 * 1024;

/// Cuts `text` to at most `limit` bytes (at a character boundary), saying how much was left out.
fn clip(mut text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let rest = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!(" … ({rest} more bytes not shown)\n"));
    text
}

impl Pane {
    /// Shows replies that reached the console outside its own commands (served or timed-out
    /// blocking commands, pub/sub messages) and notes whether its client is still blocked.
    /// Returns how many changes the console saw, for the revision count.
    fn receive(&mut self, replies: Vec<Reply>, blocked: bool) -> u64 {
        let mut changes = 0;
        for reply in replies {
            changes += 1;
            let kind = if reply.is_error() {
                LineKind::Error
            } else {
                LineKind::Pushed
            };
            self.push(kind, to_cli_text(&reply));
        }
        if self.waiting != blocked {
            self.waiting = blocked;
            changes += 1;
        }
        changes
    }

    fn push(&mut self, kind: LineKind, text: String) {
        let limit = if kind == LineKind::Input {
            ECHO_LIMIT
        } else {
            OUTPUT_LIMIT
        };
        let text = clip(text, limit);
        self.lines.push(Line { kind, text });
        if self.lines.len() > SCROLLBACK {
            let extra = self.lines.len() - SCROLLBACK;
            self.lines.drain(..extra);
        }
    }

    pub fn prompt(&self) -> String {
        if self.db == 0 {
            "127.0.0.1:6379>".into()
        } else {
            format!("127.0.0.1:6379[{}]>", self.db)
        }
    }
}

/// Pane names: A, B, ... Z, then A2, B2...
pub fn pane_name(i: usize) -> String {
    let letter = (b'A' + (i % 26) as u8) as char;
    if i < 26 {
        letter.to_string()
    } else {
        format!("{letter}{}", i / 26 + 1)
    }
}

/// What a rewind restores: the state after some step.
#[derive(Clone)]
pub struct Snapshot {
    engine: Engine,
    now: i64,
    panes: Vec<Pane>,
    ttl_origin: HashMap<(usize, Vec<u8>), (i64, i64)>,
    settings_client: Option<ClientId>,
    last_cycle: Option<ExpireCycleReport>,
    advisor: advisor::Advisor,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A line typed into pane `pane`'s console.
    Run {
        pane: usize,
        line: String,
    },
    AddClient,
    /// Move the clock forward by this many milliseconds.
    Advance(i64),
    /// Move the clock by one server-cron tick (1000 / hz ms).
    Tick,
    /// The play loop's frame: this many real milliseconds passed.
    Frame(f64),
    SetPlaying(bool),
    TogglePlay,
    SetSpeed(f64),
    /// Go to the state after this many steps.
    Seek(usize),
    StepBack,
    /// Forward one step on the timeline if rewound, else one tick.
    StepForward,
    Select(Option<Vec<u8>>),
    SetFilter {
        pattern: String,
        type_filter: String,
    },
    SetDb(usize),
    SetConfig {
        name: String,
        value: String,
    },
    /// Replace the session by one read from a file (JSON) or a share link's fragment.
    LoadJson(String),
    LoadLink(String),
    Notify(String),
    DismissNotice,
    /// Nothing has happened for a while: a good moment for work that was put off.
    Idle,
    /// Open a shipped lesson by id, with the try steps already passed in this browser.
    OpenLesson {
        id: String,
        passed: Vec<usize>,
    },
    /// Open an instructor's lesson from its `.scn` text (a file or a lesson link), with the try
    /// steps already passed in this browser; `origin` names it in errors (a file name, or empty).
    OpenLessonText {
        origin: String,
        text: String,
        passed: Vec<usize>,
    },
    /// Back to the free playground, as it was.
    CloseLesson,
    LessonNext,
    LessonPrev,
    /// A line typed into the lesson's console of client `pane`.
    LessonRun {
        pane: usize,
        line: String,
    },
    LessonInstance(usize),
    /// Go to this lesson position (steps played: 0 is the introduction).
    LessonJump(usize),
    /// Let the lesson move on by itself (one step per reading time), or stop it.
    LessonPlay(bool),
    /// One of `lesson::LESSON_SPEEDS`.
    LessonSpeed(f64),
    /// Open cluster mode: a new cluster of this many masters, each with `replicas` replicas.
    OpenCluster {
        masters: usize,
        replicas: usize,
    },
    /// Back to the single instance, as it was (the cluster is dropped).
    CloseCluster,
    /// Point a cluster console at another node (`redis-cli -c -p <port>`).
    ClusterConnect {
        pane: usize,
        node: usize,
    },
    /// The node stops answering, as if its process died.
    ClusterFailNode(usize),
    ClusterRecoverNode(usize),
    /// How long a write takes to reach the replicas, in milliseconds.
    ClusterSetLag(i64),
}

pub struct Model {
    engine: Engine,
    /// Virtual time in milliseconds.
    pub now: i64,
    pub panes: Vec<Pane>,
    pub timeline: Timeline<Snapshot>,
    pub log: EventLog,
    pub keys: KeyIndex,
    pub selected: Option<Vec<u8>>,
    /// The last expire-cycle run that looked at keys, for the centre view.
    pub last_cycle: Option<ExpireCycleReport>,
    pub playing: bool,
    pub speed: f64,
    /// A message for the learner (a damaged file or link...).
    pub notice: Option<String>,
    /// A connection of the playground's own for settings changed from the controls.
    settings_client: Option<ClientId>,
    /// Set while replaying steps (a rewind, a load): the key list is rebuilt once at the end.
    replaying: bool,
    seed: u64,
    /// Fractions of a virtual millisecond not yet applied while playing.
    carry: f64,
    /// Take snapshots only on `Action::Idle` (the page sets this: copying an engine of 100,000
    /// keys takes long enough to be felt in the middle of playing).
    pub defer_snapshots: bool,
    /// Bumped whenever a console's lines or waiting state change (the consoles redraw then).
    pub panes_rev: u64,
    /// Bumped whenever the event log changes.
    pub log_rev: u64,
    /// Events of the step being applied, with their times, not yet in the log.
    pending_events: Vec<(i64, Event)>,
    /// The guided lesson shown instead of the playground, if one is open.
    pub lesson: Option<lesson::Lesson>,
    /// Cluster mode, shown instead of the single instance while open.
    pub cluster: Option<cluster::ClusterModel>,
    /// Notes on anti-patterns in what was typed. Part of the timeline, not a log beside it: it
    /// is snapshotted with the engine and fed again when steps are replayed, because what it
    /// remembers (a read waiting for its write, the latest key accesses, what it has said)
    /// belongs to the history at the cursor. A rewind that undid a GET must not let a later SET
    /// be called a check-then-set, and a reload or a share link gives the same notes.
    pub advisor: advisor::Advisor,
}

impl Default for Model {
    fn default() -> Self {
        Model::new(Config::default().seed)
    }
}

impl Model {
    pub fn new(seed: u64) -> Model {
        let config = Config {
            seed,
            record_events: true,
            ..Config::default()
        };
        let mut engine = Engine::new(config);
        let client = engine.connect(0);
        // The first client's connection is part of the initial state, not a step.
        engine.drain_events();
        let panes = vec![Pane {
            name: pane_name(0),
            client,
            lines: Vec::new(),
            waiting: false,
            db: 0,
        }];
        let initial = Snapshot {
            engine: engine.clone(),
            now: 0,
            panes: panes.clone(),
            ttl_origin: HashMap::new(),
            settings_client: None,
            last_cycle: None,
            advisor: advisor::Advisor::default(),
        };
        Model {
            engine,
            now: 0,
            panes,
            timeline: Timeline::new(initial),
            log: EventLog::default(),
            keys: KeyIndex::default(),
            selected: None,
            last_cycle: None,
            playing: false,
            speed: 1.0,
            notice: None,
            settings_client: None,
            replaying: false,
            seed,
            carry: 0.0,
            panes_rev: 0,
            log_rev: 0,
            pending_events: Vec::new(),
            defer_snapshots: false,
            lesson: None,
            cluster: None,
            advisor: advisor::Advisor::default(),
        }
    }

    /// The engine the views show, read-only (the open lesson's instance, else the playground's):
    /// views inspect it through `Engine::inspect_*`.
    pub fn engine(&self) -> &Engine {
        self.lesson
            .as_ref()
            .and_then(|l| l.player.engine(l.instance))
            .unwrap_or(&self.engine)
    }

    /// The key list the keyspace shows.
    pub fn view_keys(&self) -> &KeyIndex {
        self.lesson.as_ref().map_or(&self.keys, |l| &l.keys)
    }

    /// The event log the events panel shows.
    pub fn view_log(&self) -> &EventLog {
        self.lesson.as_ref().map_or(&self.log, |l| &l.log)
    }

    /// The advisor whose notes the views show (the open lesson's, else the playground's).
    pub fn view_advisor(&self) -> &advisor::Advisor {
        self.lesson.as_ref().map_or(&self.advisor, |l| &l.advisor)
    }

    /// The clock the views show.
    pub fn view_now(&self) -> i64 {
        if let Some(c) = &self.cluster {
            return c.now;
        }
        self.lesson.as_ref().map_or(self.now, |l| l.player.now())
    }

    /// The consoles shown: cluster mode's, an open lesson's, or the playground's.
    pub fn view_panes(&self) -> &[Pane] {
        if let Some(c) = &self.cluster {
            return &c.panes;
        }
        self.lesson.as_ref().map_or(&self.panes, |l| &l.panes)
    }

    /// The prompt of console `pane` as shown.
    pub fn view_prompt(&self, pane: usize) -> String {
        if let Some(c) = &self.cluster {
            return c.prompt(pane);
        }
        if let Some(l) = &self.lesson {
            return l.prompt(pane);
        }
        self.view_panes()
            .get(pane)
            .map_or_else(String::new, Pane::prompt)
    }

    /// Cluster mode's share of the reducer: its own actions, and while it is open the clock's
    /// and the consoles' (the single instance's steps and timeline wait untouched).
    fn cluster_action(&mut self, action: Action) {
        if let Action::OpenCluster { masters, replicas } = action {
            self.playing = false;
            self.lesson = None;
            self.cluster = Some(cluster::ClusterModel::new(masters, replicas, self.seed));
        } else if let Action::CloseCluster = action {
            self.playing = false;
            self.cluster = None;
        } else if let Some(c) = self.cluster.as_mut() {
            let rev = c.rev;
            match action {
                Action::Run { pane, line } => c.run(pane, &line),
                Action::AddClient => c.add_client(),
                Action::ClusterConnect { pane, node } => c.connect(pane, node),
                Action::ClusterFailNode(n) => c.fail_node(n),
                Action::ClusterRecoverNode(n) => c.recover_node(n),
                Action::ClusterSetLag(ms) => c.set_repl_lag(ms),
                Action::Advance(ms) if ms > 0 => c.advance_to(c.now + ms),
                Action::Tick | Action::StepForward => c.advance_to(c.now + c.tick_ms()),
                Action::Frame(real_ms) if self.playing => c.frame(real_ms, self.speed),
                Action::SetPlaying(p) => {
                    self.playing = p;
                    c.reset_carry();
                }
                Action::TogglePlay => {
                    self.playing = !self.playing;
                    c.reset_carry();
                }
                Action::SetSpeed(s) if s.is_finite() && s > 0.0 => self.speed = s,
                Action::Notify(text) => self.notice = Some(text),
                Action::DismissNotice => self.notice = None,
                Action::SetConfig { .. } => {
                    self.notice = Some(
                        "Settings apply to the single instance; type CONFIG SET in a cluster \
                         console to change one node."
                            .into(),
                    )
                }
                // No timeline in cluster mode: nothing to step back to or seek.
                _ => {}
            }
            if c.rev == rev {
                return;
            }
        }
        self.panes_rev += 1;
        self.log_rev += 1;
    }

    fn lesson_action(&mut self, action: Action) {
        if let Action::OpenLesson { id, passed } = action {
            self.playing = false;
            match lesson::Lesson::open(&id, passed.into_iter().collect()) {
                Some(l) => self.lesson = Some(l),
                None => self.notice = Some(format!("There is no lesson called '{id}'.")),
            }
        } else if let Action::OpenLessonText {
            origin,
            text,
            passed,
        } = action
        {
            // A refused file leaves whatever was open as it was.
            match lesson::Lesson::from_text(&origin, &text, passed.into_iter().collect()) {
                Ok(l) => {
                    self.playing = false;
                    self.lesson = Some(l);
                }
                Err(notice) => self.notice = Some(notice),
            }
        } else if let Action::CloseLesson = action {
            self.lesson = None;
        } else if let (Action::Frame(real_ms), Some(l)) = (&action, self.lesson.as_mut()) {
            // Most frames change nothing; the consoles and the log redraw only after a move.
            if !l.frame(*real_ms) {
                return;
            }
        } else if let Some(l) = self.lesson.as_mut() {
            match action {
                Action::LessonNext => l.next(),
                Action::LessonPrev => l.prev(),
                Action::LessonRun { pane, line } => l.run(pane, &line),
                Action::LessonInstance(i) => l.set_instance(i),
                Action::LessonJump(position) => l.jump(position),
                Action::LessonPlay(playing) => l.set_playing(playing),
                Action::LessonSpeed(speed) => l.set_speed(speed),
                // The keyboard's space plays or pauses the lesson.
                Action::TogglePlay => l.set_playing(!l.playing),
                Action::SetPlaying(playing) => l.set_playing(playing),
                // The keyboard's → and ← step the lesson.
                Action::StepForward => l.next(),
                Action::StepBack => l.prev(),
                Action::SetFilter {
                    pattern,
                    type_filter,
                } => l.keys.set_filter(pattern, type_filter),
                Action::Select(key) => self.selected = key,
                Action::Notify(text) => self.notice = Some(text),
                Action::DismissNotice => self.notice = None,
                _ => {}
            }
        }
        self.panes_rev += 1;
        self.log_rev += 1;
    }

    /// The reducer.
    pub fn dispatch(&mut self, action: Action) {
        let for_lesson = matches!(
            action,
            Action::OpenLesson { .. }
                | Action::OpenLessonText { .. }
                | Action::CloseLesson
                | Action::LessonNext
                | Action::LessonPrev
                | Action::LessonRun { .. }
                | Action::LessonInstance(_)
                | Action::LessonJump(_)
                | Action::LessonPlay(_)
                | Action::LessonSpeed(_)
        );
        let replaces_all = matches!(action, Action::LoadJson(_) | Action::LoadLink(_));
        let for_cluster = matches!(
            action,
            Action::OpenCluster { .. }
                | Action::CloseCluster
                | Action::ClusterConnect { .. }
                | Action::ClusterFailNode(_)
                | Action::ClusterRecoverNode(_)
                | Action::ClusterSetLag(_)
        );
        if self.cluster.is_some() || for_cluster {
            if for_cluster || !(for_lesson || replaces_all) {
                self.cluster_action(action);
                return;
            }
            // A lesson or a loaded session takes the page back from cluster mode.
            self.cluster = None;
        }
        if for_lesson || (self.lesson.is_some() && !replaces_all) {
            // While a lesson is open the playground stands still: its clock, consoles and
            // timeline wait, untouched, for the learner to come back.
            self.lesson_action(action);
            return;
        }
        match action {
            Action::Run { pane, line } => {
                if pane < self.panes.len() && !line.trim().is_empty() {
                    self.do_step(Step::Command { pane, line });
                }
            }
            Action::AddClient => self.do_step(Step::AddClient),
            Action::Advance(ms) if ms > 0 => {
                let to = self.now + ms;
                self.do_step(Step::Advance { to });
            }
            Action::Advance(_) => {}
            Action::Tick => {
                let to = self.now + self.tick_ms();
                self.do_step(Step::Advance { to });
            }
            Action::Frame(real_ms) => self.frame(real_ms),
            Action::SetPlaying(p) => self.set_playing(p),
            Action::TogglePlay => self.set_playing(!self.playing),
            Action::SetSpeed(s) if s.is_finite() && s > 0.0 => self.speed = s,
            Action::SetSpeed(_) => {}
            Action::Seek(k) => {
                self.playing = false;
                self.seek(k);
            }
            Action::StepBack => {
                self.playing = false;
                if self.timeline.cursor > 0 {
                    self.seek(self.timeline.cursor - 1);
                }
            }
            Action::StepForward => {
                self.playing = false;
                if self.timeline.cursor < self.timeline.len() {
                    self.seek(self.timeline.cursor + 1);
                } else {
                    self.dispatch(Action::Tick);
                }
            }
            Action::Select(key) => self.selected = key,
            Action::SetFilter {
                pattern,
                type_filter,
            } => self.keys.set_filter(pattern, type_filter),
            Action::SetDb(db) => {
                if db < self.engine.databases() && db != self.keys.db {
                    self.keys.db = db;
                    self.selected = None;
                    self.keys.rebuild(&self.engine);
                }
            }
            Action::SetConfig { name, value } => self.do_step(Step::Config { name, value }),
            Action::LoadJson(text) => match Session::from_json(&text) {
                Ok(s) => self.load(s),
                Err(e) => self.notice = Some(format!("Could not open the session: {e}.")),
            },
            Action::LoadLink(fragment) => match Session::from_link_fragment(&fragment) {
                Ok(s) => self.load(s),
                Err(e) => {
                    self.notice = Some(format!(
                        "Could not open the shared session: {e}. Your own session is unchanged."
                    ))
                }
            },
            Action::Notify(text) => self.notice = Some(text),
            Action::DismissNotice => self.notice = None,
            Action::Idle => {
                if !self.playing && self.timeline.snapshot_due() {
                    let snap = self.snapshot();
                    self.timeline.add_snapshot(snap);
                }
            }
            // Handled above, by `lesson_action`.
            Action::OpenLesson { .. }
            | Action::OpenLessonText { .. }
            | Action::CloseLesson
            | Action::LessonNext
            | Action::LessonPrev
            | Action::LessonRun { .. }
            | Action::LessonInstance(_)
            | Action::LessonJump(_)
            | Action::LessonPlay(_)
            | Action::LessonSpeed(_) => {}
            // Handled above, by `cluster_action`.
            Action::OpenCluster { .. }
            | Action::CloseCluster
            | Action::ClusterConnect { .. }
            | Action::ClusterFailNode(_)
            | Action::ClusterRecoverNode(_)
            | Action::ClusterSetLag(_) => {}
        }
    }

    /// Milliseconds of one server-cron tick at the current `hz`.
    pub fn tick_ms(&self) -> i64 {
        (1000 / self.engine.config().hz.max(1)).max(1)
    }

    fn set_playing(&mut self, playing: bool) {
        self.playing = playing;
        self.carry = 0.0;
        self.timeline.open_advance = false;
    }

    /// A frame of play. Virtual time moves in whole server ticks, landing on multiples of the
    /// tick: an advance is applied tick by tick (see `apply`), so a run of frames and the one
    /// step that records them replay to exactly the same state.
    fn frame(&mut self, real_ms: f64) {
        if !self.playing || !real_ms.is_finite() || real_ms <= 0.0 {
            return;
        }
        let tick = self.tick_ms();
        self.carry += real_ms.min(MAX_FRAME_MS) * self.speed;
        let target = self.now as f64 + self.carry;
        let to = (target / tick as f64).floor() as i64 * tick;
        if to <= self.now {
            return;
        }
        self.carry = target - to as f64;
        if self.timeline.can_extend(to) {
            let index = self.timeline.len() - 1;
            self.apply(&Step::Advance { to }, index);
            self.timeline.extend_last(to);
        } else {
            self.do_step(Step::Advance { to });
            self.timeline.open_advance = true;
        }
    }

    /// Applies a new step at the cursor (dropping any steps after it) and records it.
    fn do_step(&mut self, step: Step) {
        self.timeline.branch();
        let index = self.timeline.cursor;
        self.apply(&step, index);
        if self.timeline.push(step, self.now) && !self.defer_snapshots {
            let snap = self.snapshot();
            self.timeline.add_snapshot(snap);
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            engine: self.engine.clone(),
            now: self.now,
            panes: self.panes.clone(),
            ttl_origin: self.keys.ttl_origin.clone(),
            settings_client: self.settings_client,
            last_cycle: self.last_cycle.clone(),
            advisor: self.advisor.clone(),
        }
    }

    fn restore(&mut self, s: &Snapshot) {
        self.engine = s.engine.clone();
        self.now = s.now;
        self.panes = s.panes.clone();
        self.keys.ttl_origin = s.ttl_origin.clone();
        self.settings_client = s.settings_client;
        self.last_cycle = s.last_cycle.clone();
        self.advisor = s.advisor.clone();
        self.panes_rev += 1;
        self.log_rev += 1;
    }

    /// Brings the model to the state after `k` steps: from the nearest snapshot at or before
    /// `k`, or from where it stands when that is nearer, replaying forward.
    fn seek(&mut self, k: usize) {
        let k = k.min(self.timeline.len());
        if k == self.timeline.cursor {
            return;
        }
        let (snap_k, _) = self.timeline.snapshot_before(k);
        let cursor = self.timeline.cursor;
        let start = if cursor < k && cursor >= snap_k {
            cursor
        } else {
            let snap = self.timeline.snapshot_before(k).1.clone();
            self.restore(&snap);
            self.log.truncate_to_step(snap_k);
            snap_k
        };
        self.replaying = true;
        for i in start..k {
            let step = self.timeline.steps[i].clone();
            self.apply(&step, i);
        }
        self.replaying = false;
        self.timeline.cursor = k;
        self.timeline.open_advance = false;
        self.keys.rebuild(&self.engine);
    }

    /// Runs one step against the engine and takes in what it produced.
    fn apply(&mut self, step: &Step, index: usize) {
        let mut rebuild = false;
        let mut ran = None;
        if !matches!(step, Step::Advance { .. }) {
            self.panes_rev += 1;
        }
        match step {
            Step::Command { pane, line } => (rebuild, ran) = self.run_line(*pane, line),
            Step::Advance { to } => {
                // Tick by tick, so that each event carries the virtual time it happened at and
                // a long jump runs the same cron and expire cycles as the same time played.
                let tick = self.tick_ms();
                while self.now < *to {
                    let t = ((self.now.div_euclid(tick) + 1) * tick).min(*to);
                    self.now = t;
                    self.engine.advance(t);
                    self.collect_outputs();
                    self.absorb_events(false);
                }
            }
            Step::AddClient => {
                let client = self.engine.connect(self.now);
                let name = pane_name(self.panes.len());
                self.panes.push(Pane {
                    name,
                    client,
                    lines: Vec::new(),
                    waiting: false,
                    db: 0,
                });
            }
            Step::Config { name, value } => {
                let now = self.now;
                let engine = &mut self.engine;
                let client = *self
                    .settings_client
                    .get_or_insert_with(|| engine.connect(now));
                let reply = self
                    .engine
                    .run(client, &["CONFIG", "SET", name, value], now);
                if let Reply::Error(e) = reply {
                    self.notice = Some(format!("Could not set {name}: {e}"));
                }
            }
        }
        self.collect_outputs();
        self.absorb_events(rebuild);
        if let Some((client, argv, reply)) = ran {
            let events: Vec<Event> = self.pending_events.iter().map(|(_, e)| e.clone()).collect();
            advisor::observe(
                &mut self.advisor,
                &self.engine,
                client,
                &argv,
                &reply,
                &events,
            );
        }
        self.log_pending(index);
    }

    /// Writes the events of step `index` to the log.
    fn log_pending(&mut self, index: usize) {
        if self.pending_events.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.pending_events);
        self.log_rev += 1;
        let names: HashMap<ClientId, String> = self
            .panes
            .iter()
            .map(|p| (p.client, p.name.clone()))
            .collect();
        let settings = self.settings_client;
        let namer = move |c: ClientId| {
            names.get(&c).cloned().unwrap_or_else(|| {
                if Some(c) == settings {
                    "(settings)".to_string()
                } else {
                    format!("#{c}")
                }
            })
        };
        self.log.record(index, &events, &namer);
    }

    /// Runs a console line; returns true when the key list must be re-read (SWAPDB), and the
    /// command the engine ran (client, argv, reply), if it ran one, for the advisor.
    fn run_line(&mut self, pane: usize, line: &str) -> (bool, Option<advisor::Ran>) {
        let now = self.now;
        let Some(p) = self.panes.get_mut(pane) else {
            return (false, None);
        };
        let prompt = p.prompt();
        p.push(LineKind::Input, format!("{prompt} {line}"));
        let argv = match split_args(line) {
            Ok(argv) => argv,
            Err(e) => {
                p.push(LineKind::Info, e.to_string());
                return (false, None);
            }
        };
        let Some(first) = argv.first() else {
            return (false, None);
        };
        if first.eq_ignore_ascii_case(b"help") {
            p.push(LineKind::Info, console::help_for(&argv[1..]));
            return (false, None);
        }
        if first.eq_ignore_ascii_case(b"clear") && argv.len() == 1 {
            p.lines.clear();
            return (false, None);
        }
        // redis-cli's --bigkeys / --memkeys, as console commands: the biggest key of each type,
        // by element count or by memory.
        let by_memory = first.eq_ignore_ascii_case(b":memkeys");
        if argv.len() == 1 && (by_memory || first.eq_ignore_ascii_case(b":bigkeys")) {
            let report = self.engine.big_keys(by_memory).to_text(by_memory);
            self.panes[pane].push(LineKind::Info, report);
            return (false, None);
        }
        if self.engine.is_blocked(p.client) {
            p.push(
                LineKind::Info,
                "This client is blocked: its reply comes when a key it waits on is written or \
                 its timeout passes. Use another client, or move the clock."
                    .into(),
            );
            return (false, None);
        }
        let client = p.client;
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let reply = self.engine.execute(client, &args, now);
        let p = &mut self.panes[pane];
        match &reply {
            Reply::Blocked => p.waiting = true,
            Reply::Error(_) => p.push(LineKind::Error, to_cli_text(&reply)),
            _ => p.push(LineKind::Output, to_cli_text(&reply)),
        }
        if self.engine.should_close(client) {
            // redis-cli reconnects after QUIT; so does the console, as a new client.
            self.engine.disconnect(client);
            let fresh = self.engine.connect(now);
            let p = &mut self.panes[pane];
            p.client = fresh;
            p.waiting = false;
        }
        let p = &mut self.panes[pane];
        p.db = self.engine.client(p.client).map_or(0, |c| c.db);
        let swapdb = first.eq_ignore_ascii_case(b"swapdb");
        (swapdb, Some((client, argv, reply)))
    }

    /// Moves replies that arrived outside of a command (served or timed-out blocking commands,
    /// pub/sub messages) into their clients' consoles.
    fn collect_outputs(&mut self) {
        for p in &mut self.panes {
            let replies = self.engine.take_output(p.client);
            self.panes_rev += p.receive(replies, self.engine.is_blocked(p.client));
        }
    }

    /// Takes in the events the engine recorded: the key list and the expiry picture follow
    /// them at once; the log gets them at the end of the step (`log_pending`), each with the
    /// virtual time it happened at.
    fn absorb_events(&mut self, mut rebuild: bool) {
        let events = self.engine.drain_events();
        if events.is_empty() && !rebuild {
            return;
        }
        let mut touched: Vec<(usize, Vec<u8>)> = Vec::new();
        for ev in &events {
            match ev {
                Event::Keyspace { db, key, .. } | Event::Expired { db, key, .. } => {
                    touched.push((*db, key.clone()));
                }
                Event::Flushed { db } => {
                    self.keys.forget_db(*db);
                    rebuild = true;
                }
                Event::ExpireCycle(r) if !r.sampled.is_empty() => {
                    self.last_cycle = Some(r.clone());
                }
                _ => {}
            }
        }
        let now = self.now;
        self.pending_events
            .extend(events.into_iter().map(|ev| (now, ev)));
        touched.sort();
        touched.dedup();
        let mut by_db: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
        for (db, key) in touched {
            by_db.entry(db).or_default().push(key);
        }
        let view = !self.replaying && !rebuild;
        for (db, keys) in by_db {
            self.keys.touch(&self.engine, db, &keys, self.now, view);
        }
        if rebuild && !self.replaying {
            self.keys.rebuild(&self.engine);
        }
    }

    /// The session as it is saved and shared.
    pub fn session(&self) -> Session {
        Session {
            format: FORMAT_VERSION,
            seed: self.seed,
            clients: self.panes.iter().map(|p| p.name.clone()).collect(),
            steps: self.timeline.steps.clone(),
            cursor: self.timeline.cursor,
            clock_ms: self.now,
            speed: self.speed,
            scenario: self.lesson.as_ref().map(|l| l.id.clone()),
            lesson_text: self.lesson.as_ref().and_then(|l| l.text.clone()),
        }
    }

    /// Replaces this session by `s`, rebuilt by replaying its steps.
    pub fn load(&mut self, s: Session) {
        let defer = self.defer_snapshots;
        let mut fresh = Model::new(s.seed);
        fresh.speed = if s.speed.is_finite() && s.speed > 0.0 {
            s.speed
        } else {
            1.0
        };
        fresh.replaying = true;
        for step in s.steps {
            fresh.do_step(step);
        }
        fresh.replaying = false;
        fresh.keys.rebuild(&fresh.engine);
        fresh.seek(s.cursor);
        fresh.notice = if fresh.now != s.clock_ms {
            Some(format!(
                "The session was replayed, but its clock ended at {} instead of {}.",
                events::fmt_time(fresh.now),
                events::fmt_time(s.clock_ms)
            ))
        } else {
            None
        };
        fresh.defer_snapshots = defer;
        if let Some(text) = s.lesson_text {
            fresh.dispatch(Action::OpenLessonText {
                origin: String::new(),
                text,
                passed: Vec::new(),
            });
        } else if let Some(id) = s.scenario {
            fresh.dispatch(Action::OpenLesson {
                id,
                passed: Vec::new(),
            });
        }
        *self = fresh;
    }

    /// History of lines typed in one pane, oldest first (for Up/Down in its console).
    pub fn history(&self, pane: usize) -> Vec<&str> {
        if let Some(c) = &self.cluster {
            return c.history(pane);
        }
        self.timeline.steps[..self.timeline.cursor]
            .iter()
            .filter_map(|s| match s {
                Step::Command { pane: p, line } if *p == pane => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
