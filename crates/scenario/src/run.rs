//! Playing steps against a `Target`: the part the player and replay share.
//!
//! `RunState` is what the runner itself remembers between actions: the scenario's clock, each
//! client's clock drift, and each client's latest output, which `expect` compares with. A
//! client's latest output is the reply to its last command, or, once messages have been pushed
//! to it since (pub/sub), those messages; an `expect` on the client closes a batch of messages,
//! so the next message starts a new one.

use std::collections::BTreeMap;

use cachelab_engine::{Event, Reply};

use crate::format::*;
use crate::parse::normalize_reply_text;
use crate::resp::cli_text;
use crate::target::{CallError, Target};
use crate::template::{render_all, Vars};

/// Where every scenario's clock starts: 2023-11-14T22:13:20Z. Fixed, so that `{now}` and
/// everything computed from it read the same on every run and every target.
pub const START_MS: i64 = 1_700_000_000_000;

#[derive(Clone, Debug, PartialEq)]
struct Batch {
    frames: Vec<Reply>,
    /// redis-cli's `-> Redirected to slot ...` lines, printed before the reply (a cluster).
    redirects: Vec<String>,
    /// Set when the instance could not be reached: the text stands for the reply.
    unreachable: Option<String>,
    /// Messages pushed to the client (rather than the reply to its own command).
    pushed: bool,
    /// An `expect` has looked at it: the next message starts a new batch.
    sealed: bool,
}

impl Batch {
    fn text(&self) -> String {
        let reply = match &self.unreachable {
            Some(t) => t.clone(),
            None => cli_text(&self.frames),
        };
        if self.redirects.is_empty() {
            return reply;
        }
        let mut lines = self.redirects.clone();
        lines.push(reply);
        lines.join("\n")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunState {
    /// The scenario's clock, in milliseconds.
    pub now: i64,
    drift: BTreeMap<String, i64>,
    batches: BTreeMap<Sender, Batch>,
    /// A cluster: each client has one connection, so one latest output whatever node it
    /// addressed.
    one_connection: bool,
}

impl RunState {
    pub fn new(start_ms: i64) -> RunState {
        RunState {
            now: start_ms,
            drift: BTreeMap::new(),
            batches: BTreeMap::new(),
            one_connection: false,
        }
    }

    /// The state a scenario starts in.
    pub fn for_scenario(scenario: &Scenario, start_ms: i64) -> RunState {
        let mut state = RunState::new(start_ms);
        state.one_connection = scenario.cluster.is_some();
        state
    }

    /// Whose latest output a sender's reply is.
    fn key(&self, sender: &Sender) -> Sender {
        if self.one_connection {
            Sender {
                client: sender.client.clone(),
                instance: 0,
            }
        } else {
            sender.clone()
        }
    }

    /// A client's clock: the scenario's plus its drift.
    pub fn client_now(&self, client: &str) -> i64 {
        self.now + self.drift.get(client).copied().unwrap_or(0)
    }

    /// What redis-cli would show as the client's latest output.
    pub fn latest(&self, sender: &Sender) -> Option<String> {
        self.batches.get(&self.key(sender)).map(Batch::text)
    }
}

/// How a try step plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryMode {
    /// Automated play: check, run the solution, check again.
    Solve,
    /// The playground: check, then leave the floor to the learner.
    Pause,
}

/// What one action did.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionOutcome {
    pub line: usize,
    /// How the action reads: `A: GET k`, `wait 1.5s`, `expect A: (nil)`.
    pub label: String,
    /// Who sent it, for commands.
    pub sender: Option<Sender>,
    /// The reply's frames (the last one of a repeat).
    pub frames: Vec<Reply>,
    /// The reply as redis-cli prints it.
    pub reply: Option<String>,
    /// Messages other clients received meanwhile, as redis-cli prints them.
    pub pushed: Vec<(Sender, String)>,
    /// What happened in the server, by instance.
    pub events: Vec<(usize, Event)>,
    /// Why the action failed (an expectation or check not met, a reply that never came).
    pub failure: Option<String>,
    /// Something worth telling: narration, what an engine-only action did, a tally.
    pub note: Option<String>,
    /// The scenario's clock after the action.
    pub now: i64,
    /// Every command the action sent, in order (each repetition of a repeat), with its reply:
    /// what the pattern views draw request by request.
    pub sent: Vec<Sent>,
}

/// One command as sent, with its reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    pub sender: Sender,
    pub argv: Vec<Vec<u8>>,
    /// The reply's frames; empty when the instance was unreachable.
    pub frames: Vec<Reply>,
    /// The scenario's clock when it was sent.
    pub now: i64,
}

impl ActionOutcome {
    fn new(line: usize, label: String, now: i64) -> ActionOutcome {
        ActionOutcome {
            line,
            label,
            sender: None,
            frames: Vec::new(),
            reply: None,
            pushed: Vec::new(),
            events: Vec::new(),
            failure: None,
            note: None,
            now,
            sent: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub line: usize,
    pub text: String,
    pub passed: bool,
    /// What was found, as redis-cli prints it.
    pub actual: String,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutcome {
    pub index: usize,
    /// Why the step did not play, when it did not.
    pub skipped: Option<String>,
    pub actions: Vec<ActionOutcome>,
    /// A try step's checks when it was reached, before the learner (or the solution) acted.
    pub checks_before: Vec<CheckResult>,
    /// A try step's checks after the solution (automated play only).
    pub checks_after: Vec<CheckResult>,
    /// Failures that belong to the step rather than to one action.
    pub step_failures: Vec<String>,
}

impl StepOutcome {
    /// Every failure, each with its line.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self.step_failures.clone();
        for a in &self.actions {
            if let Some(f) = &a.failure {
                out.push(format!("line {}: {}: {f}", a.line, a.label));
            }
        }
        out
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// Every event of the step, in order.
    pub fn events(&self) -> impl Iterator<Item = &(usize, Event)> {
        self.actions.iter().flat_map(|a| a.events.iter())
    }
}

/// Requirements of the scenario and the step that the target lacks.
pub fn missing(
    target: &mut dyn Target,
    scenario: &Scenario,
    step: Option<&Step>,
) -> Vec<Capability> {
    let mut out = Vec::new();
    let step_reqs = step.map(|s| s.requires.as_slice()).unwrap_or(&[]);
    for &cap in scenario.requires.iter().chain(step_reqs) {
        if !out.contains(&cap) && !target.has(cap) {
            out.push(cap);
        }
    }
    out
}

fn names(caps: &[Capability]) -> String {
    caps.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

/// Plays step `index` of `scenario`.
pub fn play_step(
    target: &mut dyn Target,
    scenario: &Scenario,
    index: usize,
    state: &mut RunState,
    mode: TryMode,
) -> StepOutcome {
    let mut out = StepOutcome {
        index,
        skipped: None,
        actions: Vec::new(),
        checks_before: Vec::new(),
        checks_after: Vec::new(),
        step_failures: Vec::new(),
    };
    let Some(step) = scenario.steps.get(index) else {
        out.skipped = Some(format!("there is no step {}", index + 1));
        return out;
    };
    let lacking = missing(target, scenario, Some(step));
    if !lacking.is_empty() {
        out.skipped = Some(format!(
            "skipped: needs {}, which {} does not have yet",
            names(&lacking),
            target.label()
        ));
        return out;
    }
    let engine_only = step.engine_only();
    if !engine_only.is_empty() && !target.is_engine() {
        let what: Vec<String> = engine_only.iter().map(|a| a.to_string()).collect();
        out.skipped = Some(format!(
            "skipped: engine-only ({}) cannot be done to {}",
            what.join("; "),
            target.label()
        ));
        return out;
    }
    for action in &step.actions {
        let outcome = play_action(target, action, state);
        out.actions.push(outcome);
    }
    if step.kind == StepKind::Try {
        out.checks_before = step
            .checks
            .iter()
            .map(|c| evaluate_check(target, state, c))
            .collect();
        if mode == TryMode::Solve {
            if out.checks_before.iter().all(|c| c.passed) {
                out.step_failures.push(format!(
                    "line {}: the try step's checks already pass before the learner does \
                     anything",
                    step.line
                ));
            }
            for c in &step.solution {
                let o = run_command(target, state, c, 0, &format!("solution {}", c.sender));
                out.actions.push(o);
            }
            out.checks_after = step
                .checks
                .iter()
                .map(|c| evaluate_check(target, state, c))
                .collect();
            for c in out.checks_after.iter().filter(|c| !c.passed) {
                out.step_failures.push(format!(
                    "line {}: check '{}' fails after the solution (found {})",
                    c.line, c.text, c.actual
                ));
            }
        }
    }
    out
}

/// Plays one action.
pub fn play_action(
    target: &mut dyn Target,
    action: &Action,
    state: &mut RunState,
) -> ActionOutcome {
    match &action.kind {
        ActionKind::Command(c) => run_command(target, state, c, 0, &c.sender.to_string()),
        ActionKind::Repeat { count, command } => {
            let label = format!("repeat {count} {}", command.sender);
            let mut total = ActionOutcome::new(action.line, String::new(), state.now);
            let mut tally: Vec<(String, u32)> = Vec::new();
            for o in run_repeat(target, state, command, *count, &label) {
                if let Some(r) = &o.reply {
                    match tally.iter_mut().find(|(t, _)| t == r) {
                        Some((_, n)) => *n += 1,
                        None => tally.push((r.clone(), 1)),
                    }
                }
                total.events.extend(o.events);
                total.pushed.extend(o.pushed);
                total.sent.extend(o.sent);
                total.failure = total.failure.or(o.failure);
                total.label = o.label;
                total.sender = o.sender;
                total.frames = o.frames;
                total.reply = o.reply;
            }
            total.now = state.now;
            let shown: Vec<String> = tally
                .iter()
                .take(5)
                .map(|(t, n)| format!("{n} × {}", t.replace('\n', " ")))
                .collect();
            total.note = Some(format!("{count} replies: {}", shown.join(", ")));
            total.line = action.line;
            total
        }
        ActionKind::Wait(ms) => {
            state.now += *ms as i64;
            target.wait(*ms, state.now);
            let mut o =
                ActionOutcome::new(action.line, format!("wait {}", show_ms(*ms)), state.now);
            collect(target, state, &mut o);
            o
        }
        ActionKind::Expect(e) => {
            let mut o = ActionOutcome::new(
                action.line,
                format!("expect {}: {}", e.sender, e.text.replace('\n', " ⏎ ")),
                state.now,
            );
            o.sender = Some(e.sender.clone());
            let key = state.key(&e.sender);
            match state.batches.get_mut(&key) {
                Some(batch) => {
                    batch.sealed = true;
                    let actual = batch.text();
                    o.reply = Some(actual.clone());
                    if normalize_reply_text(&actual) != e.text {
                        o.failure = Some(format!(
                            "expected\n{}\ngot\n{}",
                            indent(&e.text),
                            indent(&actual)
                        ));
                    }
                }
                None => o.failure = Some(format!("{} has received nothing yet", e.sender)),
            }
            o
        }
        ActionKind::Check(c) => {
            let mut o = ActionOutcome::new(action.line, format!("check: {}", c.text), state.now);
            let r = evaluate_check(target, state, c);
            o.reply = Some(r.actual.clone());
            if !r.passed {
                o.failure = Some(format!("not met (found {})", r.actual));
            }
            o
        }
        ActionKind::EngineOnly(a) => {
            let mut o = ActionOutcome::new(action.line, format!("engine-only: {a}"), state.now);
            if let EngineAction::ClientClock { client, ms } = a {
                *state.drift.entry(client.clone()).or_insert(0) += ms;
                o.note = Some(format!(
                    "{client}'s clock is now {} ms {} the true time",
                    state.drift[client].abs(),
                    if state.drift[client] >= 0 {
                        "ahead of"
                    } else {
                        "behind"
                    }
                ));
            } else {
                match target.engine_action(a, state.now) {
                    Ok(note) => o.note = Some(note),
                    Err(e) => o.failure = Some(e),
                }
            }
            collect(target, state, &mut o);
            o
        }
        ActionKind::Say(text) => {
            let mut o = ActionOutcome::new(action.line, "narration".into(), state.now);
            o.note = Some(text.clone());
            o
        }
    }
}

/// Sends one command (repetition `i` of a repeat) and records its reply as the client's latest.
pub fn run_command(
    target: &mut dyn Target,
    state: &mut RunState,
    command: &Command,
    i: i64,
    who: &str,
) -> ActionOutcome {
    let argv = match render_command(target, state, command, i) {
        Ok(a) => a,
        Err(e) => return render_failure(state, command, who, e),
    };
    let result = target.command(&command.sender, &argv, state.now);
    record_reply(target, state, command, argv, result, who)
}

/// The arguments of repetition `i` of `command`, placeholders filled in.
fn render_command(
    target: &mut dyn Target,
    state: &RunState,
    command: &Command,
    i: i64,
) -> Result<Vec<Vec<u8>>, String> {
    let nodes = target.nodes();
    let vars = Vars {
        i,
        now: state.client_now(&command.sender.client),
        nodes: &nodes,
    };
    render_all(&command.args, vars)
}

fn render_failure(state: &RunState, command: &Command, who: &str, e: String) -> ActionOutcome {
    let mut o = ActionOutcome::new(command.line, format!("{who}: {}", command.text), state.now);
    o.sender = Some(command.sender.clone());
    o.failure = Some(e);
    o
}

/// Records what a sent command got back as the client's latest output.
fn record_reply(
    target: &mut dyn Target,
    state: &mut RunState,
    command: &Command,
    argv: Vec<Vec<u8>>,
    result: Result<Vec<Reply>, CallError>,
    who: &str,
) -> ActionOutcome {
    let mut o = ActionOutcome::new(
        command.line,
        format!("{who}: {}", show_argv(&argv)),
        state.now,
    );
    o.sender = Some(command.sender.clone());
    let batch = match result {
        Ok(frames) => Batch {
            frames,
            redirects: target.take_redirects(),
            unreachable: None,
            pushed: false,
            sealed: false,
        },
        Err(CallError::Unreachable(text)) => Batch {
            frames: Vec::new(),
            redirects: target.take_redirects(),
            unreachable: Some(text),
            pushed: false,
            sealed: false,
        },
        Err(CallError::Fatal(e)) => {
            o.failure = Some(format!("no reply: {e}"));
            return o;
        }
    };
    o.reply = Some(batch.text());
    o.frames = batch.frames.clone();
    o.sent.push(Sent {
        sender: command.sender.clone(),
        argv,
        frames: batch.frames.clone(),
        now: state.now,
    });
    let key = state.key(&command.sender);
    state.batches.insert(key, batch);
    collect(target, state, &mut o);
    o
}

/// The outcomes of a `repeat`'s repetitions, one by one until one fails. A target that can
/// pipeline gets them all at once: on a real server, round trips would otherwise let real
/// time pass between the first repetition and the last, eating into the TTLs they set.
fn run_repeat(
    target: &mut dyn Target,
    state: &mut RunState,
    command: &Command,
    count: u32,
    who: &str,
) -> Vec<ActionOutcome> {
    let rendered: Result<Vec<_>, String> = (0..count)
        .map(|i| render_command(target, state, command, i64::from(i)))
        .collect();
    if let Ok(argvs) = &rendered {
        if let Some(results) = target.command_pipeline(&command.sender, argvs, state.now) {
            let mut out = Vec::new();
            for (argv, result) in argvs.iter().zip(results) {
                let o = record_reply(target, state, command, argv.clone(), result, who);
                let failed = o.failure.is_some();
                out.push(o);
                if failed {
                    break;
                }
            }
            return out;
        }
    }
    let mut out = Vec::new();
    for i in 0..count {
        let o = run_command(target, state, command, i64::from(i), who);
        let failed = o.failure.is_some();
        out.push(o);
        if failed {
            break;
        }
    }
    out
}

/// Gathers pushed messages and events after an action.
fn collect(target: &mut dyn Target, state: &mut RunState, o: &mut ActionOutcome) {
    match target.take_pushed() {
        Ok(pushed) => {
            for (sender, frames) in pushed {
                o.pushed.push((sender.clone(), cli_text(&frames)));
                let key = state.key(&sender);
                let batch = state.batches.entry(key).or_insert(Batch {
                    frames: Vec::new(),
                    redirects: Vec::new(),
                    unreachable: None,
                    pushed: true,
                    sealed: true,
                });
                if !batch.pushed || batch.sealed {
                    *batch = Batch {
                        frames,
                        redirects: Vec::new(),
                        unreachable: None,
                        pushed: true,
                        sealed: false,
                    };
                } else {
                    batch.frames.extend(frames);
                }
            }
        }
        Err(e) => o.failure = o.failure.take().or(Some(e)),
    }
    o.events.extend(target.take_events());
}

fn ask(
    target: &mut dyn Target,
    state: &RunState,
    instance: usize,
    argv: &[&[u8]],
) -> Result<Reply, String> {
    let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    match target.inspect(instance, &argv, state.now) {
        Ok(frames) => Ok(frames.into_iter().next().unwrap_or(Reply::Nil)),
        Err(CallError::Unreachable(t)) | Err(CallError::Fatal(t)) => Err(t),
    }
}

/// Evaluates a check against the target's current state, changing nothing.
pub fn evaluate_check(target: &mut dyn Target, state: &RunState, check: &Check) -> CheckResult {
    let (passed, actual) = match check_inner(target, state, check) {
        Ok(r) => r,
        Err(e) => (false, e),
    };
    CheckResult {
        line: check.line,
        text: check.text.clone(),
        passed,
        actual,
    }
}

fn int_of(r: &Reply) -> Option<i64> {
    match r {
        Reply::Integer(n) => Some(*n),
        _ => None,
    }
}

fn check_inner(
    target: &mut dyn Target,
    state: &RunState,
    check: &Check,
) -> Result<(bool, String), String> {
    let inst = check.instance;
    let show = |r: &Reply| cli_text(std::slice::from_ref(r));
    let p = match &check.kind {
        CheckKind::Reply { argv, expected } => {
            let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let r = ask(target, state, inst, &argv)?;
            let text = show(&r);
            return Ok((normalize_reply_text(&text) == *expected, text));
        }
        CheckKind::Predicate(p) => p,
    };
    Ok(match p {
        Predicate::Exists(k) | Predicate::Missing(k) => {
            let r = ask(target, state, inst, &[b"EXISTS", k])?;
            let exists = int_of(&r) == Some(1);
            let want = matches!(p, Predicate::Exists(_));
            (
                exists == want,
                if exists {
                    "the key exists"
                } else {
                    "no such key"
                }
                .to_string(),
            )
        }
        Predicate::Ttl {
            key,
            millis,
            cmp,
            n,
        } => {
            let name: &[u8] = if *millis { b"PTTL" } else { b"TTL" };
            let r = ask(target, state, inst, &[name, key])?;
            let v = int_of(&r).ok_or_else(|| show(&r))?;
            (cmp.holds(v, *n), show(&r))
        }
        Predicate::Value { key, equal, value } => {
            let r = ask(target, state, inst, &[b"GET", key])?;
            let same = matches!(&r, Reply::Bulk(b) if b == value);
            (same == *equal, show(&r))
        }
        Predicate::Type { key, type_name } => {
            let r = ask(target, state, inst, &[b"TYPE", key])?;
            let same = matches!(&r, Reply::Simple(t) if t.as_ref() == type_name);
            (same, show(&r))
        }
        Predicate::Field {
            key,
            field,
            equal,
            value,
        } => {
            let r = ask(target, state, inst, &[b"HGET", key, field])?;
            let same = matches!(&r, Reply::Bulk(b) if b == value);
            (same == *equal, show(&r))
        }
        Predicate::Score {
            key,
            member,
            cmp,
            n,
        } => {
            let r = ask(target, state, inst, &[b"ZSCORE", key, member])?;
            let score = match &r {
                Reply::Bulk(b) => cachelab_engine::numfmt::parse_f64(b),
                Reply::Double(d) => Some(*d),
                _ => None,
            };
            match score {
                Some(s) => (cmp.holds(s, *n), show(&r)),
                None => (false, show(&r)),
            }
        }
        Predicate::Len { key, cmp, n } => {
            let t = ask(target, state, inst, &[b"TYPE", key])?;
            let cmd: Option<&[u8]> = match &t {
                Reply::Simple(s) => match s.as_ref() {
                    "string" => Some(b"STRLEN"),
                    "list" => Some(b"LLEN"),
                    "hash" => Some(b"HLEN"),
                    "set" => Some(b"SCARD"),
                    "zset" => Some(b"ZCARD"),
                    "stream" => Some(b"XLEN"),
                    _ => None,
                },
                _ => None,
            };
            let len = match cmd {
                Some(c) => {
                    let r = ask(target, state, inst, &[c, key])?;
                    int_of(&r).ok_or_else(|| show(&r))?
                }
                None => 0,
            };
            (cmp.holds(len, *n), format!("length {len}"))
        }
        Predicate::Dbsize { cmp, n } => {
            let r = ask(target, state, inst, &[b"DBSIZE"])?;
            let v = int_of(&r).ok_or_else(|| show(&r))?;
            (cmp.holds(v, *n), show(&r))
        }
    })
}

/// `1.5s`, `200ms`.
pub fn show_ms(ms: u64) -> String {
    if ms >= 1000 && ms.is_multiple_of(100) {
        let s = ms as f64 / 1000.0;
        format!("{s}s")
    } else {
        format!("{ms}ms")
    }
}

/// A command as redis-cli would echo it: bare words, quoted where needed.
pub fn show_argv(argv: &[Vec<u8>]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.iter()
                    .all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
            if plain {
                String::from_utf8_lossy(a).into_owned()
            } else {
                cachelab_engine::reply::cli_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
