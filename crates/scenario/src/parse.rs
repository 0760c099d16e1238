//! Reading a `.scn` file into a `Scenario`, with every mistake reported by line.
//!
//! The format is line-oriented so that it reads like the lesson it is: a header of `name: value`
//! lines, then steps, each a `step:` (or `try:`) line, narration lines starting with `>`, and
//! actions. `static/scenarios/README.md` is the authors' reference. Parsing never stops at the
//! first error: the author gets every malformed line at once. After the lines are read, a
//! validation pass checks what needs the whole file (a command the engine does not know and no
//! requirement covers, an `expect` for a client that has sent nothing yet).

use cachelab_engine::cli::split_args;
use cachelab_engine::table;

use crate::format::*;
use crate::template::parse_arg;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file's name as the caller gave it.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "{}: line {}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Every error of a file, one per line of the rendering.
pub fn render_errors(errors: &[ParseError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses raw file contents; text that is not UTF-8 is an error on the line where it breaks.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Scenario, Vec<ParseError>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(file, text),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(vec![ParseError {
                file: file.to_string(),
                line,
                message: "the file is not valid UTF-8 here".into(),
            }])
        }
    }
}

/// Parses and validates a scenario. `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Scenario, Vec<ParseError>> {
    let mut p = Parser::new(file);
    // A directive line ending in a backslash goes on with the next line, joined with a newline
    // (so a Lua script can be written one statement a line, inside its quotes).
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let lead = line.trim_start();
        let continues = line.ends_with('\\')
            && (pending.is_some()
                || !(lead.starts_with('>') || lead.starts_with('#') || lead.starts_with('|')));
        match (&mut pending, continues) {
            (Some((_, acc)), true) => {
                acc.push('\n');
                acc.push_str(&line[..line.len() - 1]);
            }
            (Some((start, acc)), false) => {
                acc.push('\n');
                acc.push_str(line);
                let (start, joined) = (*start, std::mem::take(acc));
                pending = None;
                p.line(start, &joined);
            }
            (None, true) => pending = Some((i + 1, line[..line.len() - 1].to_string())),
            (None, false) => p.line(i + 1, raw),
        }
    }
    if let Some((start, joined)) = pending {
        p.line(start, &joined);
    }
    let last_line = text.lines().count().max(1);
    p.finish(last_line)
}

const HEADER_DIRECTIVES: &[&str] = &[
    "cachelab-scenario",
    "id",
    "title",
    "summary",
    "view",
    "clients",
    "instances",
    "cluster",
    "seed",
    "config",
    "requires",
];

const STEP_DIRECTIVES: &[&str] = &[
    "step",
    "try",
    "wait",
    "expect",
    "check",
    "repeat",
    "engine-only",
    "solution",
    "requires",
];

const PREDICATES: &[&str] = &[
    "exists", "missing", "ttl", "pttl", "value", "type", "field", "score", "len", "dbsize",
];

const ENGINE_ACTIONS: &str =
    "crash-restart [N], instance N down, instance N up, clock-drift CLIENT +DURATION, \
     clock-drift instance N +DURATION, active-expiry on|off; in a cluster: node N down, \
     node N up, repl-lag DURATION";

/// Where the `|` lines that follow go.
enum BlockTarget {
    /// `steps[s].actions[a]`, an Expect or a Check.
    Action(usize, usize),
    /// `steps[s].checks[c]`.
    TryCheck(usize, usize),
}

struct Block {
    target: BlockTarget,
    start: usize,
    lines: Vec<String>,
}

struct Parser {
    file: String,
    errors: Vec<ParseError>,
    saw_version_line: bool,
    version: Option<u32>,
    /// Header directive name and the line that gave it, to report duplicates.
    given: Vec<(&'static str, usize)>,
    id: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    view: Option<String>,
    clients: Vec<String>,
    clients_given: bool,
    instances: usize,
    cluster: Option<ClusterSpec>,
    seed: Option<u64>,
    config: Vec<ConfigLine>,
    requires: Vec<Capability>,
    steps: Vec<Step>,
    block: Option<Block>,
}

impl Parser {
    fn new(file: &str) -> Parser {
        Parser {
            file: file.to_string(),
            errors: Vec::new(),
            saw_version_line: false,
            version: None,
            given: Vec::new(),
            id: None,
            title: None,
            summary: None,
            view: None,
            clients: Vec::new(),
            clients_given: false,
            instances: 1,
            cluster: None,
            seed: None,
            config: Vec::new(),
            requires: Vec::new(),
            steps: Vec::new(),
            block: None,
        }
    }

    fn err(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(ParseError {
            file: self.file.clone(),
            line,
            message: message.into(),
        });
    }

    fn line(&mut self, n: usize, raw: &str) {
        let text = raw.trim_end();
        let s = text.trim_start();
        if s.is_empty() {
            self.close_block();
            return;
        }
        if s.starts_with('#') {
            return;
        }
        if let Some(rest) = s.strip_prefix('|') {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            match self.block.as_mut() {
                Some(b) => b.lines.push(rest.to_string()),
                None => self.err(
                    n,
                    "a '|' line continues the reply of an 'expect' or 'check' with nothing after \
                     its colon; none is open here",
                ),
            }
            return;
        }
        self.close_block();
        if s.contains('\0') {
            // redis-cli cannot type one, and the argument splitter treats it as the end of input.
            self.err(n, "a NUL character cannot appear in a scenario line");
            return;
        }
        if !self.saw_version_line {
            self.saw_version_line = true;
            if !s.starts_with("cachelab-scenario") {
                self.err(
                    n,
                    format!("a scenario starts with 'cachelab-scenario {FORMAT_VERSION}' (its format and version)"),
                );
            }
        }
        if let Some(rest) = s.strip_prefix('>') {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            self.narration(n, rest);
            return;
        }
        self.directive(n, s);
    }

    fn narration(&mut self, n: usize, text: &str) {
        let Some(step) = self.steps.last_mut() else {
            self.err(
                n,
                "narration ('>') belongs to a step: start one with 'step: TITLE'",
            );
            return;
        };
        let started = !step.actions.is_empty() || !step.checks.is_empty();
        if step.kind == StepKind::Lesson && started {
            if let Some(Action {
                kind: ActionKind::Say(said),
                ..
            }) = step.actions.last_mut()
            {
                said.push('\n');
                said.push_str(text);
            } else {
                step.actions.push(Action {
                    line: n,
                    kind: ActionKind::Say(text.to_string()),
                });
            }
        } else {
            if !step.narration.is_empty() || text.is_empty() {
                step.narration.push('\n');
            }
            step.narration.push_str(text);
        }
    }

    fn close_block(&mut self) {
        let Some(block) = self.block.take() else {
            return;
        };
        let text = normalize_reply_text(&block.lines.join("\n"));
        if text.is_empty() {
            self.err(
                block.start,
                "no reply given: write it after the colon, or on '|' lines right below",
            );
            return;
        }
        let slot = match block.target {
            BlockTarget::Action(s, a) => self
                .steps
                .get_mut(s)
                .and_then(|st| st.actions.get_mut(a))
                .and_then(|act| match &mut act.kind {
                    ActionKind::Expect(e) => Some(&mut e.text),
                    ActionKind::Check(c) => reply_slot(c),
                    _ => None,
                }),
            BlockTarget::TryCheck(s, c) => self
                .steps
                .get_mut(s)
                .and_then(|st| st.checks.get_mut(c))
                .and_then(reply_slot),
        };
        if let Some(slot) = slot {
            *slot = text;
        }
    }

    fn directive(&mut self, n: usize, s: &str) {
        // The head is the first word, up to a colon or a blank.
        let head_end = s
            .find(|c: char| c == ':' || c.is_whitespace())
            .unwrap_or(s.len());
        let head = &s[..head_end];
        let after = &s[head_end..];
        let has_colon = after.starts_with(':');
        let rest = after.strip_prefix(':').unwrap_or(after).trim();

        if head.starts_with(|c: char| c.is_ascii_uppercase()) {
            if has_colon {
                if let Some(sender) = self.sender(n, head) {
                    self.client_command(n, sender, rest);
                }
            } else {
                let hint = suggest(&head.to_ascii_lowercase(), &all_directives())
                    .map(|d| format!(" (did you mean '{d}'?)"))
                    .unwrap_or_default();
                self.err(
                    n,
                    format!(
                        "unknown directive '{head}'{hint}; a client's command is written \
                         'A: COMMAND'"
                    ),
                );
            }
            return;
        }

        // `check@2:` and `expect` take an instance suffix on the name itself for checks.
        let (name, at) = match head.split_once('@') {
            Some((name, inst)) => (name, Some(inst)),
            None => (head, None),
        };
        if at.is_some() && name != "check" {
            self.err(n, format!("'{head}': only 'check' takes an @instance"));
            return;
        }
        match name {
            "cachelab-scenario" | "id" | "title" | "summary" | "view" | "clients" | "instances"
            | "cluster" | "seed" | "config" => self.header(n, name, rest),
            "requires" => self.requires(n, rest),
            "step" | "try" => self.start_step(n, name, rest),
            "wait" | "expect" | "check" | "repeat" | "engine-only" | "solution" => {
                self.step_directive(n, name, at, rest)
            }
            _ => {
                let lower = name.to_ascii_lowercase();
                let hint = if self.clients.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                    format!(
                        " (did you mean client '{}'? client names are upper-case)",
                        name.to_ascii_uppercase()
                    )
                } else {
                    suggest(&lower, &all_directives())
                        .map(|d| format!(" (did you mean '{d}'?)"))
                        .unwrap_or_default()
                };
                self.err(n, format!("unknown directive '{name}'{hint}"));
            }
        }
    }

    fn once(&mut self, n: usize, name: &'static str) -> bool {
        if let Some(&(_, first)) = self.given.iter().find(|(d, _)| *d == name) {
            self.err(n, format!("'{name}' given twice (first on line {first})"));
            return false;
        }
        self.given.push((name, n));
        true
    }

    fn header(&mut self, n: usize, name: &str, rest: &str) {
        if !self.steps.is_empty() {
            self.err(
                n,
                format!("'{name}' belongs in the header, before the first step"),
            );
            return;
        }
        let name: &'static str = HEADER_DIRECTIVES
            .iter()
            .find(|d| **d == name)
            .copied()
            .unwrap_or("config");
        if name != "config" && !self.once(n, name) {
            return;
        }
        match name {
            "cachelab-scenario" => match rest.parse::<u32>() {
                Ok(0) => self.err(n, "format version 0 does not exist"),
                Ok(v) if v > FORMAT_VERSION => self.err(
                    n,
                    format!(
                        "format version {v} is newer than this reader, which knows up to \
                         {FORMAT_VERSION}"
                    ),
                ),
                Ok(v) => self.version = Some(v),
                Err(_) => self.err(
                    n,
                    format!(
                        "bad format version '{rest}' (write 'cachelab-scenario {FORMAT_VERSION}')"
                    ),
                ),
            },
            "id" => {
                let ok = !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
                if ok {
                    self.id = Some(rest.to_string());
                } else {
                    self.err(
                        n,
                        format!("bad id '{rest}': use lower-case letters, digits and '-'"),
                    );
                }
            }
            "title" | "summary" => {
                if rest.is_empty() {
                    self.err(n, format!("empty {name}"));
                } else if name == "title" {
                    self.title = Some(rest.to_string());
                } else {
                    self.summary = Some(rest.to_string());
                }
            }
            "view" => {
                if VIEWS.contains(&rest) {
                    self.view = Some(rest.to_string());
                } else {
                    let hint = suggest(rest, VIEWS)
                        .map(|v| format!("did you mean '{v}'? "))
                        .unwrap_or_default();
                    self.err(
                        n,
                        format!("unknown view '{rest}' ({hint}one of: {})", VIEWS.join(", ")),
                    );
                }
            }
            "clients" => {
                self.clients_given = true;
                for name in rest.split_whitespace() {
                    if !is_client_name(name) {
                        self.err(
                            n,
                            format!(
                                "bad client name '{name}': an upper-case letter, then upper-case \
                                 letters, digits or '_'"
                            ),
                        );
                    } else if self.clients.iter().any(|c| c == name) {
                        self.err(n, format!("client '{name}' declared twice"));
                    } else {
                        self.clients.push(name.to_string());
                    }
                }
                if rest.is_empty() {
                    self.err(n, "no clients named: write 'clients: A B'");
                }
            }
            "instances" if self.cluster.is_some() => self.err(
                n,
                "a cluster scenario has nodes, not instances: remove 'instances:'",
            ),
            "cluster" => self.cluster_header(n, rest),
            "instances" => match rest.parse::<usize>() {
                Ok(k) if (1..=MAX_INSTANCES).contains(&k) => self.instances = k,
                _ => self.err(
                    n,
                    format!("bad instance count '{rest}' (1 to {MAX_INSTANCES})"),
                ),
            },
            "seed" => match rest.parse::<u64>() {
                Ok(s) => self.seed = Some(s),
                Err(_) => self.err(n, format!("bad seed '{rest}': a non-negative integer")),
            },
            _ => match split_args(rest) {
                Ok(args) if !args.is_empty() && args.len() % 2 == 0 => {
                    self.config.push(ConfigLine { line: n, args })
                }
                Ok(_) => self.err(
                    n,
                    "config takes parameter and value pairs, as CONFIG SET does: \
                     'config: maxmemory 1mb'",
                ),
                Err(e) => self.err(n, format!("config line could not be split ({e})")),
            },
        }
    }

    fn requires(&mut self, n: usize, rest: &str) {
        let mut caps = Vec::new();
        for word in rest.split_whitespace() {
            match Capability::parse(word) {
                Some(c) => caps.push(c),
                None => {
                    let names: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
                    let hint = suggest(word, &names)
                        .map(|v| format!("did you mean '{v}'? "))
                        .unwrap_or_default();
                    self.err(
                        n,
                        format!(
                            "unknown requirement '{word}' ({hint}one of: {})",
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        if rest.is_empty() {
            self.err(n, "'requires' names at least one capability");
        }
        let list = match self.steps.last_mut() {
            Some(step) => &mut step.requires,
            None => &mut self.requires,
        };
        for c in caps {
            if !list.contains(&c) {
                list.push(c);
            }
        }
    }

    fn start_step(&mut self, n: usize, name: &str, rest: &str) {
        if rest.is_empty() {
            self.err(n, format!("'{name}' needs a title: '{name}: TITLE'"));
        }
        self.steps.push(Step {
            line: n,
            kind: if name == "try" {
                StepKind::Try
            } else {
                StepKind::Lesson
            },
            title: rest.to_string(),
            narration: String::new(),
            requires: Vec::new(),
            actions: Vec::new(),
            checks: Vec::new(),
            solution: Vec::new(),
        });
    }

    fn step_directive(&mut self, n: usize, name: &str, at: Option<&str>, rest: &str) {
        let Some(kind) = self.steps.last().map(|s| s.kind) else {
            self.err(
                n,
                format!("'{name}' must be inside a step (start one with 'step: TITLE')"),
            );
            return;
        };
        let step_index = self.steps.len() - 1;
        if kind == StepKind::Try && !matches!(name, "check" | "solution") {
            self.err(
                n,
                format!(
                    "a try step holds narration, checks and a solution; put '{name}' in a step \
                     before it"
                ),
            );
            return;
        }
        if kind == StepKind::Lesson && name == "solution" {
            self.err(
                n,
                "'solution' belongs in a try step ('try: TITLE'); in a lesson step, write the \
                 command as 'A: COMMAND'",
            );
            return;
        }
        let action = match name {
            "wait" => match parse_duration(rest) {
                Ok(ms) => ActionKind::Wait(ms),
                Err(e) => return self.err(n, e),
            },
            "expect" => {
                let Some((who, text)) = rest.split_once(':') else {
                    return self.err(
                        n,
                        format!(
                            "'expect' names a client: 'expect A: (integer) 1', not 'expect {rest}'"
                        ),
                    );
                };
                let Some(sender) = self.sender(n, who.trim()) else {
                    return;
                };
                if self.cluster.is_some() && sender.instance != 0 {
                    return self.err(
                        n,
                        format!(
                            "in a cluster a client has one connection: write 'expect {}:'",
                            sender.client
                        ),
                    );
                }
                let text = normalize_reply_text(text.trim());
                let open = text.is_empty();
                let action = ActionKind::Expect(Expect { sender, text });
                if open {
                    self.block = Some(Block {
                        target: BlockTarget::Action(
                            step_index,
                            self.steps[step_index].actions.len(),
                        ),
                        start: n,
                        lines: Vec::new(),
                    });
                }
                action
            }
            "check" => {
                let instance = match at {
                    None => self.default_instance(),
                    Some(i) => match self.instance_number(n, i) {
                        Some(i) => i,
                        None => return,
                    },
                };
                let Some(check) = self.check(n, instance, rest) else {
                    return;
                };
                let open =
                    matches!(&check.kind, CheckKind::Reply { expected, .. } if expected.is_empty());
                let step = &mut self.steps[step_index];
                let target = if kind == StepKind::Try {
                    step.checks.push(check);
                    BlockTarget::TryCheck(step_index, step.checks.len() - 1)
                } else {
                    step.actions.push(Action {
                        line: n,
                        kind: ActionKind::Check(check),
                    });
                    BlockTarget::Action(step_index, step.actions.len() - 1)
                };
                if open {
                    self.block = Some(Block {
                        target,
                        start: n,
                        lines: Vec::new(),
                    });
                }
                return;
            }
            "repeat" => {
                let (count_text, tail) = match rest.find(|c: char| c == ':' || c.is_whitespace()) {
                    Some(i) => (
                        &rest[..i],
                        rest[i..].strip_prefix(':').unwrap_or(&rest[i..]),
                    ),
                    None => (rest, ""),
                };
                let count = match count_text.parse::<u32>() {
                    Ok(c) if (1..=MAX_REPEAT).contains(&c) => c,
                    _ => {
                        return self.err(
                            n,
                            format!(
                                "bad repeat count '{count_text}' (1 to {MAX_REPEAT}): \
                                 'repeat 1000: SET key:{{i}} v'"
                            ),
                        )
                    }
                };
                let tail = tail.trim();
                let (sender, command_text) = match explicit_sender(tail) {
                    Some((who, cmd)) => match self.sender(n, who) {
                        Some(s) => (s, cmd),
                        None => return,
                    },
                    None => match self.clients.first() {
                        Some(c) => (
                            Sender {
                                client: c.clone(),
                                instance: self.default_instance(),
                            },
                            tail,
                        ),
                        None => {
                            return self.err(n, "'repeat' needs a client: declare 'clients: A'")
                        }
                    },
                };
                let Some(command) = self.command(n, sender, command_text, true) else {
                    return;
                };
                ActionKind::Repeat { count, command }
            }
            "engine-only" => match self.engine_action(n, rest) {
                Some(a) => ActionKind::EngineOnly(a),
                None => return,
            },
            _ => {
                // solution A: COMMAND
                let Some((who, cmd)) = explicit_sender(rest) else {
                    return self.err(
                        n,
                        "'solution' names the client that sends it: 'solution A: COMMAND'",
                    );
                };
                let Some(sender) = self.sender(n, who) else {
                    return;
                };
                if let Some(command) = self.command(n, sender, cmd, false) {
                    self.steps[step_index].solution.push(command);
                }
                return;
            }
        };
        self.steps[step_index].actions.push(Action {
            line: n,
            kind: action,
        });
    }

    fn client_command(&mut self, n: usize, sender: Sender, rest: &str) {
        let Some(step) = self.steps.last() else {
            self.err(
                n,
                "commands must be inside a step (start one with 'step: TITLE')",
            );
            return;
        };
        if step.kind == StepKind::Try {
            self.err(
                n,
                "a try step holds narration, checks and a solution: write the model answer as \
                 'solution A: COMMAND'",
            );
            return;
        }
        if let Some(command) = self.command(n, sender, rest, false) {
            if let Some(step) = self.steps.last_mut() {
                step.actions.push(Action {
                    line: n,
                    kind: ActionKind::Command(command),
                });
            }
        }
    }

    /// `cluster: 3` or `cluster: 3 replicas 1`.
    fn cluster_header(&mut self, n: usize, rest: &str) {
        if self.version.is_some_and(|v| v < 2) {
            self.err(
                n,
                "'cluster' needs format version 2: start the file with 'cachelab-scenario 2'",
            );
            return;
        }
        if self.given.iter().any(|(d, _)| *d == "instances") {
            self.err(
                n,
                "a cluster scenario has nodes, not instances: remove 'instances:'",
            );
            return;
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        let usage = format!(
            "write 'cluster: MASTERS' or 'cluster: MASTERS replicas R' (1 to {MAX_MASTERS} \
             masters, 0 to {MAX_REPLICAS} replicas each)"
        );
        let (m, r) = match words.as_slice() {
            [m] => (m.parse::<usize>(), Ok(0)),
            [m, "replicas", r] => (m.parse::<usize>(), r.parse::<usize>()),
            _ => return self.err(n, format!("bad cluster line '{rest}': {usage}")),
        };
        match (m, r) {
            (Ok(m), Ok(r)) if (1..=MAX_MASTERS).contains(&m) && r <= MAX_REPLICAS => {
                let spec = ClusterSpec {
                    masters: m,
                    replicas_per_master: r,
                };
                self.instances = spec.nodes();
                self.cluster = Some(spec);
            }
            _ => self.err(n, format!("bad cluster line '{rest}': {usage}")),
        }
    }

    /// How a client is written when it says no node or instance: wherever its connection is
    /// (0) in a cluster, instance 1 otherwise.
    fn default_instance(&self) -> usize {
        if self.cluster.is_some() {
            0
        } else {
            1
        }
    }

    /// `A`, `B@3`: a declared client on an existing instance.
    fn sender(&mut self, n: usize, text: &str) -> Option<Sender> {
        let (name, inst) = match text.split_once('@') {
            Some((name, inst)) => (name, Some(inst)),
            None => (text, None),
        };
        if !self.clients.iter().any(|c| c == name) {
            let declared = if self.clients.is_empty() {
                "none are declared: add 'clients: A B' to the header".to_string()
            } else {
                format!("declared: {}", self.clients.join(", "))
            };
            self.err(n, format!("unknown client '{name}' ({declared})"));
            return None;
        }
        let instance = match inst {
            None => self.default_instance(),
            Some(i) => self.instance_number(n, i)?,
        };
        Some(Sender {
            client: name.to_string(),
            instance,
        })
    }

    fn instance_number(&mut self, n: usize, text: &str) -> Option<usize> {
        match text.parse::<usize>() {
            Ok(i) if i >= 1 && i <= self.instances => Some(i),
            _ => {
                let have = if self.cluster.is_some() {
                    format!("the cluster's nodes are numbered 1 to {}", self.instances)
                } else if self.instances == 1 {
                    "this scenario has one instance; say 'instances: N' in the header for more"
                        .to_string()
                } else {
                    format!("instances are numbered 1 to {}", self.instances)
                };
                self.err(n, format!("bad instance '{text}' ({have})"));
                None
            }
        }
    }

    fn command(
        &mut self,
        n: usize,
        sender: Sender,
        text: &str,
        in_repeat: bool,
    ) -> Option<Command> {
        let raw = match split_args(text) {
            Ok(a) => a,
            Err(_) => {
                self.err(
                    n,
                    format!(
                        "redis-cli could not split this command (Invalid argument(s)): check its \
                         quotes: {text}"
                    ),
                );
                return None;
            }
        };
        if raw.is_empty() {
            self.err(n, format!("empty command for client {sender}"));
            return None;
        }
        let mut args = Vec::with_capacity(raw.len());
        for (i, a) in raw.iter().enumerate() {
            match parse_arg(a, in_repeat) {
                Ok(arg) => {
                    if i == 0 && arg.has_placeholders() {
                        self.err(n, "a command's name cannot be a placeholder");
                        return None;
                    }
                    args.push(arg)
                }
                Err(e) => {
                    self.err(n, e);
                    return None;
                }
            }
        }
        Some(Command {
            line: n,
            sender,
            text: text.to_string(),
            args,
        })
    }

    fn check(&mut self, n: usize, instance: usize, rest: &str) -> Option<Check> {
        let kind = if let Some((cmd, reply)) = rest.split_once("=>") {
            let argv = match split_args(cmd.trim()) {
                Ok(a) if !a.is_empty() => a,
                Ok(_) => {
                    self.err(n, "a check's command is missing before '=>'");
                    return None;
                }
                Err(_) => {
                    self.err(
                        n,
                        "redis-cli could not split this check's command (Invalid argument(s)): \
                         check its quotes",
                    );
                    return None;
                }
            };
            CheckKind::Reply {
                argv,
                expected: normalize_reply_text(reply.trim()),
            }
        } else {
            match parse_predicate(rest) {
                Ok(p) => CheckKind::Predicate(p),
                Err(e) => {
                    self.err(n, e);
                    return None;
                }
            }
        };
        Some(Check {
            line: n,
            instance,
            text: rest.to_string(),
            kind,
        })
    }

    fn engine_action(&mut self, n: usize, rest: &str) -> Option<EngineAction> {
        let words: Vec<&str> = rest.split_whitespace().collect();
        let bad = |p: &mut Parser, what: &str| {
            p.err(
                n,
                format!("unknown engine-only action '{what}' (one of: {ENGINE_ACTIONS})"),
            );
            None
        };
        let cluster = self.cluster.is_some();
        let outside = |p: &mut Parser, what: &str| {
            p.err(
                n,
                format!("'{what}' acts on a single server; a cluster scenario uses node N down, node N up and repl-lag"),
            );
            None
        };
        match words.as_slice() {
            ["crash-restart", ..] | ["instance", ..] | ["clock-drift", "instance", ..]
                if cluster =>
            {
                outside(self, rest)
            }
            ["node", i, state @ ("down" | "up")] if cluster => {
                let node = self.instance_number(n, i)?;
                Some(if *state == "down" {
                    EngineAction::NodeDown { node }
                } else {
                    EngineAction::NodeUp { node }
                })
            }
            // No lag at all is a setting of its own (a wait of zero is not).
            ["repl-lag", "0" | "0ms" | "0s"] if cluster => Some(EngineAction::ReplLag { ms: 0 }),
            ["repl-lag", d] if cluster => match parse_duration(d) {
                Ok(ms) => Some(EngineAction::ReplLag { ms }),
                Err(e) => {
                    self.err(n, e);
                    None
                }
            },
            ["node" | "repl-lag", ..] if !cluster => {
                self.err(
                    n,
                    format!("'{rest}' needs a cluster: say 'cluster: 3' in the header"),
                );
                None
            }
            ["crash-restart"] => Some(EngineAction::CrashRestart { instance: 1 }),
            ["crash-restart", i] => {
                let instance = self.instance_number(n, i)?;
                Some(EngineAction::CrashRestart { instance })
            }
            ["instance", i, state @ ("down" | "up")] => {
                let instance = self.instance_number(n, i)?;
                Some(if *state == "down" {
                    EngineAction::InstanceDown { instance }
                } else {
                    EngineAction::InstanceUp { instance }
                })
            }
            ["clock-drift", "instance", i, d] => {
                let instance = self.instance_number(n, i)?;
                let ms = match parse_signed_duration(d) {
                    Ok(ms) => ms,
                    Err(e) => {
                        self.err(n, e);
                        return None;
                    }
                };
                if ms <= 0 {
                    self.err(
                        n,
                        "an instance's clock can only jump forward (its keys expire sooner): \
                         write a positive drift such as +2s",
                    );
                    return None;
                }
                Some(EngineAction::InstanceClock { instance, ms })
            }
            ["clock-drift", who, d] => {
                let sender = self.sender(n, who)?;
                let ms = match parse_signed_duration(d) {
                    Ok(ms) => ms,
                    Err(e) => {
                        self.err(n, e);
                        return None;
                    }
                };
                Some(EngineAction::ClientClock {
                    client: sender.client,
                    ms,
                })
            }
            ["active-expiry", s @ ("on" | "off")] => {
                Some(EngineAction::ActiveExpiry { on: *s == "on" })
            }
            [] => bad(self, ""),
            [first, ..] => {
                let names = [
                    "crash-restart",
                    "instance",
                    "clock-drift",
                    "active-expiry",
                    "node",
                    "repl-lag",
                ];
                match suggest(first, &names) {
                    Some(s) if s != *first => {
                        self.err(
                            n,
                            format!("unknown engine-only action '{first}' (did you mean '{s}'?)"),
                        );
                        None
                    }
                    _ => bad(self, rest),
                }
            }
        }
    }

    fn finish(mut self, last_line: usize) -> Result<Scenario, Vec<ParseError>> {
        self.close_block();
        if !self.saw_version_line {
            self.err(
                1,
                format!("empty scenario: it starts with 'cachelab-scenario {FORMAT_VERSION}'"),
            );
        }
        let missing: Vec<&str> = [
            ("id", self.id.is_none()),
            ("title", self.title.is_none()),
            ("summary", self.summary.is_none()),
            ("view", self.view.is_none()),
            ("clients", !self.clients_given),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(name, _)| *name)
        .collect();
        let header_end = self.steps.first().map_or(last_line, |s| s.line);
        for name in missing {
            if !self.given.iter().any(|(d, _)| *d == name) {
                self.err(header_end, format!("the header has no '{name}:' line"));
            }
        }
        if self.steps.is_empty() && self.saw_version_line {
            self.err(last_line, "no steps: add one with 'step: TITLE'");
        }
        let steps = std::mem::take(&mut self.steps);
        for step in &steps {
            if step.kind == StepKind::Try {
                if step.checks.is_empty() {
                    self.err(
                        step.line,
                        "a try step needs at least one 'check:' saying what success looks like",
                    );
                }
                if step.solution.is_empty() {
                    self.err(
                        step.line,
                        "a try step needs a 'solution A: COMMAND' (played when the learner \
                         asks for it, and to check the lesson)",
                    );
                }
            }
        }
        self.validate(&steps);
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| e.line);
            return Err(self.errors);
        }
        Ok(Scenario {
            file: self.file,
            version: self.version.unwrap_or(FORMAT_VERSION),
            id: self.id.unwrap_or_default(),
            title: self.title.unwrap_or_default(),
            summary: self.summary.unwrap_or_default(),
            view: self.view.unwrap_or_default(),
            clients: self.clients,
            instances: self.instances,
            cluster: self.cluster,
            seed: self.seed,
            config: self.config,
            requires: self.requires,
            steps,
        })
    }

    /// Checks that need the whole file: commands are known to the engine or covered by a
    /// requirement; an `expect` follows something its client sent.
    fn validate(&mut self, steps: &[Step]) {
        // In a cluster a client's replies are one stream, whichever node it addressed.
        let cluster = self.cluster.is_some();
        let who = |s: &Sender| Sender {
            client: s.client.clone(),
            instance: if cluster { 0 } else { s.instance },
        };
        let mut sent: Vec<Sender> = Vec::new();
        for step in steps {
            let mut in_scope = self.requires.clone();
            in_scope.extend(step.requires.iter().copied());
            let commands = step.actions.iter().filter_map(|a| match &a.kind {
                ActionKind::Command(c) | ActionKind::Repeat { command: c, .. } => Some(c),
                _ => None,
            });
            let engine_only = !step.engine_only().is_empty();
            for c in commands.chain(step.solution.iter()) {
                self.validate_command(c, &in_scope);
                if !engine_only && writes_files(c) {
                    self.err(
                        c.line,
                        "this would make a real server write files where it runs: put it in a \
                         step with an engine-only action, which replay skips",
                    );
                }
            }
            for check in
                step.checks
                    .iter()
                    .chain(step.actions.iter().filter_map(|a| match &a.kind {
                        ActionKind::Check(c) => Some(c),
                        _ => None,
                    }))
            {
                if let CheckKind::Reply { argv, .. } = &check.kind {
                    if let Some(name) = argv.first() {
                        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                        self.validate_name(check.line, &name, &in_scope);
                    }
                }
            }
            for a in &step.actions {
                match &a.kind {
                    ActionKind::Command(c) | ActionKind::Repeat { command: c, .. }
                        if !sent.contains(&who(&c.sender)) =>
                    {
                        sent.push(who(&c.sender));
                    }
                    ActionKind::Expect(e) if !sent.contains(&who(&e.sender)) => {
                        self.err(
                            a.line,
                            format!(
                                "expect {}: {} has not sent a command yet, so there is no \
                                     reply to compare",
                                e.sender, e.sender
                            ),
                        );
                    }
                    _ => {}
                }
            }
            for c in &step.solution {
                if !sent.contains(&who(&c.sender)) {
                    sent.push(who(&c.sender));
                }
            }
        }
    }

    fn validate_command(&mut self, c: &Command, in_scope: &[Capability]) {
        let name = c.name();
        self.validate_name(c.line, &name, in_scope);
        if name == "select" && self.instances > 1 {
            self.err(
                c.line,
                "SELECT cannot be used with several instances: on a real Redis each instance is \
                 a database of its own",
            );
        }
    }

    fn validate_name(&mut self, line: usize, name: &str, in_scope: &[Capability]) {
        if table::get(name.as_bytes()).is_some() {
            return;
        }
        let covering: Vec<Capability> = Capability::ALL
            .into_iter()
            .filter(|cap| cap.commands().contains(&name))
            .collect();
        if covering.iter().any(|c| in_scope.contains(c)) {
            return;
        }
        let upper = name.to_ascii_uppercase();
        match covering.first() {
            Some(cap) => self.err(
                line,
                format!(
                    "{upper} needs 'requires: {}' (the engine does not have it yet), on the step \
                     or in the header",
                    cap.name()
                ),
            ),
            None => self.err(
                line,
                format!("unknown command '{upper}': neither the engine nor any requirement has it"),
            ),
        }
    }
}

/// SAVE, BGSAVE, BGREWRITEAOF and turning the AOF on write files in the server's directory.
fn writes_files(c: &Command) -> bool {
    let words: Vec<Vec<u8>> = c
        .args
        .iter()
        .map(|a| a.literal_text().to_ascii_lowercase())
        .collect();
    let w = |i: usize| words.get(i).map(Vec::as_slice);
    matches!(w(0), Some(b"save" | b"bgsave" | b"bgrewriteaof"))
        || (w(0) == Some(b"config")
            && w(1) == Some(b"set")
            && words[2..]
                .chunks(2)
                .any(|p| p[0] == b"appendonly" && p.get(1).map(Vec::as_slice) == Some(b"yes")))
}

fn reply_slot(c: &mut Check) -> Option<&mut String> {
    match &mut c.kind {
        CheckKind::Reply { expected, .. } => Some(expected),
        CheckKind::Predicate(_) => None,
    }
}

fn all_directives() -> Vec<&'static str> {
    let mut v: Vec<&str> = HEADER_DIRECTIVES.to_vec();
    for d in STEP_DIRECTIVES {
        if !v.contains(d) {
            v.push(d);
        }
    }
    v
}

/// `A: GET k` or `B@2: ...` at the start of `text`: the sender part and the command after it.
fn explicit_sender(text: &str) -> Option<(&str, &str)> {
    let (who, cmd) = text.split_once(':')?;
    let name = who.split('@').next().unwrap_or(who);
    (is_client_name(name) && !who.contains(char::is_whitespace)).then_some((who, cmd.trim()))
}

pub fn is_client_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Trims each line's end and the whole text's blank lines at both ends.
pub fn normalize_reply_text(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n").trim_matches('\n').to_string()
}

/// `200ms`, `1.5s`, `2m`: a positive whole number of milliseconds, at most an hour.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("bad duration '{s}' (write 200ms, 1.5s or 2m)");
    let (number, unit_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1u64)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else {
        return Err(bad());
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(frac)
        || (number.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    if whole.len() > 9 || frac.len() > 6 {
        return Err(bad());
    }
    // Wide enough that nine digits, six decimals and minutes cannot overflow.
    let scale = 10u128.pow(frac.len() as u32);
    let w: u128 = whole.parse().map_err(|_| bad())?;
    let f: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    let total = (w * scale + f) * u128::from(unit_ms);
    if !total.is_multiple_of(scale) {
        return Err(format!(
            "bad duration '{s}': it is not a whole number of milliseconds"
        ));
    }
    let ms = u64::try_from(total / scale).unwrap_or(u64::MAX);
    if ms == 0 {
        return Err(format!("bad duration '{s}': it must be longer than zero"));
    }
    if ms > 3_600_000 {
        return Err(format!("bad duration '{s}': at most an hour"));
    }
    Ok(ms)
}

/// `+300ms`, `-1s`: a duration with a mandatory sign.
fn parse_signed_duration(s: &str) -> Result<i64, String> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => {
            return Err(format!(
                "bad drift '{s}': write a sign and a duration, such as +300ms"
            ))
        }
    };
    parse_duration(rest)
        .map(|ms| sign * ms as i64)
        .map_err(|_| format!("bad drift '{s}': write a sign and a duration, such as +300ms"))
}

fn parse_predicate(text: &str) -> Result<Predicate, String> {
    let words = split_args(text).map_err(|_| {
        "redis-cli could not split this check (Invalid argument(s)): check its quotes".to_string()
    })?;
    let word = |i: usize| {
        words
            .get(i)
            .map(|w| String::from_utf8_lossy(w).into_owned())
    };
    let key = |i: usize| words.get(i).cloned();
    let usage = |what: &str| format!("check '{text}': write it as '{what}'");
    let cmp = |i: usize, what: &str| -> Result<Cmp, String> {
        word(i)
            .and_then(|w| Cmp::parse(&w))
            .ok_or_else(|| usage(what))
    };
    let int = |i: usize, what: &str| -> Result<i64, String> {
        word(i)
            .and_then(|w| w.parse::<i64>().ok())
            .ok_or_else(|| usage(what))
    };
    let eq = |i: usize, what: &str| -> Result<bool, String> {
        match cmp(i, what)? {
            Cmp::Eq => Ok(true),
            Cmp::Ne => Ok(false),
            _ => Err(format!("check '{text}': values compare only with = or !=")),
        }
    };
    let exact = |n: usize, what: &str| -> Result<(), String> {
        if words.len() == n {
            Ok(())
        } else {
            Err(usage(what))
        }
    };
    let Some(first) = word(0) else {
        return Err(format!(
            "empty check: write 'COMMAND => REPLY' or one of {}",
            PREDICATES.join(", ")
        ));
    };
    Ok(match first.as_str() {
        "exists" | "missing" => {
            exact(2, &format!("{first} KEY"))?;
            let k = key(1).unwrap_or_default();
            if first == "exists" {
                Predicate::Exists(k)
            } else {
                Predicate::Missing(k)
            }
        }
        "ttl" | "pttl" => {
            let what = format!("{first} KEY > 0");
            exact(4, &what)?;
            Predicate::Ttl {
                key: key(1).unwrap_or_default(),
                millis: first == "pttl",
                cmp: cmp(2, &what)?,
                n: int(3, &what)?,
            }
        }
        "value" => {
            let what = "value KEY = \"text\"";
            exact(4, what)?;
            Predicate::Value {
                key: key(1).unwrap_or_default(),
                equal: eq(2, what)?,
                value: key(3).unwrap_or_default(),
            }
        }
        "type" => {
            let what = "type KEY = hash";
            exact(4, what)?;
            if !eq(2, what)? {
                return Err(usage(what));
            }
            Predicate::Type {
                key: key(1).unwrap_or_default(),
                type_name: word(3).unwrap_or_default(),
            }
        }
        "field" => {
            let what = "field KEY FIELD = \"text\"";
            exact(5, what)?;
            Predicate::Field {
                key: key(1).unwrap_or_default(),
                field: key(2).unwrap_or_default(),
                equal: eq(3, what)?,
                value: key(4).unwrap_or_default(),
            }
        }
        "score" => {
            let what = "score KEY MEMBER >= 10";
            exact(5, what)?;
            let n = word(4)
                .and_then(|w| w.parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .ok_or_else(|| usage(what))?;
            Predicate::Score {
                key: key(1).unwrap_or_default(),
                member: key(2).unwrap_or_default(),
                cmp: cmp(3, what)?,
                n,
            }
        }
        "len" => {
            let what = "len KEY >= 3";
            exact(4, what)?;
            Predicate::Len {
                key: key(1).unwrap_or_default(),
                cmp: cmp(2, what)?,
                n: int(3, what)?,
            }
        }
        "dbsize" => {
            let what = "dbsize < 100";
            exact(3, what)?;
            Predicate::Dbsize {
                cmp: cmp(1, what)?,
                n: int(2, what)?,
            }
        }
        other => {
            let hint = suggest(other, PREDICATES)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            return Err(format!(
                "unknown check '{other}'{hint}: write 'COMMAND => REPLY', or one of {}",
                PREDICATES.join(", ")
            ));
        }
    })
}

/// The closest of `names` to `word` when it is close enough to be a typo.
pub fn suggest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    let limit = if word.chars().count() <= 3 { 1 } else { 2 };
    names
        .iter()
        .map(|n| (edit_distance(word, n), *n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i chars of a and the first j of b.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            // A swap of neighbours ("wiat") counts as one edit.
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
