//! The parser: what every mistake is called, and that no input makes it panic.

use super::*;

/// Six header lines: a body's first line is line 7.
const HEADER: &str = "cachelab-scenario 1
id: t
title: T
summary: S
view: keyspace
clients: A B
";

fn parse_body(body: &str) -> Result<Scenario, Vec<ParseError>> {
    parse("t.scn", &format!("{HEADER}{body}"))
}

/// The errors of a header-plus-body text, as `line: message`.
fn errors(body: &str) -> Vec<String> {
    match parse_body(body) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .iter()
            .map(|e| format!("{}: {}", e.line, e.message))
            .collect(),
    }
}

/// Asserts that the body gives exactly one error, on `line`, containing `text`.
#[track_caller]
fn one_error(body: &str, line: usize, text: &str) {
    let errs = errors(body);
    assert_eq!(
        errs.len(),
        1,
        "expected one error containing {text:?}, got {errs:#?}"
    );
    let want = format!("{line}: ");
    assert!(
        errs[0].starts_with(&want) && errs[0].contains(text),
        "expected line {line} and {text:?}, got {:?}",
        errs[0]
    );
}

#[test]
fn a_full_scenario_parses() {
    let s = parse_body(
        "instances: 1
seed: 9
config: maxmemory 1mb hz 20
requires: zset

step: First
> Para one,
> still one.
>
> Para two.
A: SET k \"a b\" PX 1000
expect A: OK
> Between actions.
wait 1.5s
repeat 3: B: SET key:{i} {i*2}
repeat 2: GET x
check: pttl k > 0
check: GET k => \"a b\"
check: ZRANGE z 0 -1 =>
| 1) \"m\"
engine-only: active-expiry off

try: Yours
> Do it.
check: exists y
solution B: SET y 1
",
    )
    .unwrap();
    assert_eq!(s.id, "t");
    assert_eq!(s.clients, ["A", "B"]);
    assert_eq!(s.seed, Some(9));
    assert_eq!(s.config.len(), 1);
    assert_eq!(s.config[0].args.len(), 4);
    assert_eq!(s.requires, [Capability::Zset]);
    assert_eq!(s.steps.len(), 2);
    let step = &s.steps[0];
    assert_eq!(step.title, "First");
    assert_eq!(step.narration, "Para one,\nstill one.\n\nPara two.");
    let kinds: Vec<&ActionKind> = step.actions.iter().map(|a| &a.kind).collect();
    assert!(matches!(kinds[0], ActionKind::Command(c) if c.args.len() == 5 && c.line == 17));
    assert!(matches!(kinds[1], ActionKind::Expect(e) if e.text == "OK"));
    assert!(matches!(kinds[2], ActionKind::Say(t) if t == "Between actions."));
    assert!(matches!(kinds[3], ActionKind::Wait(1500)));
    assert!(
        matches!(kinds[4], ActionKind::Repeat { count: 3, command } if command.sender.client == "B")
    );
    assert!(
        matches!(kinds[5], ActionKind::Repeat { count: 2, command } if command.sender.client == "A")
    );
    assert!(matches!(kinds[6], ActionKind::Check(c) if matches!(c.kind,
        CheckKind::Predicate(Predicate::Ttl { millis: true, cmp: Cmp::Gt, n: 0, .. }))));
    assert!(matches!(kinds[7], ActionKind::Check(c) if matches!(&c.kind,
        CheckKind::Reply { expected, .. } if expected == "\"a b\"")));
    assert!(matches!(kinds[8], ActionKind::Check(c) if matches!(&c.kind,
        CheckKind::Reply { expected, .. } if expected == "1) \"m\"")));
    assert!(matches!(
        kinds[9],
        ActionKind::EngineOnly(EngineAction::ActiveExpiry { on: false })
    ));
    assert_eq!(step.waited_ms(), 1500);
    assert_eq!(step.engine_only().len(), 1);
    let t = &s.steps[1];
    assert_eq!(t.kind, StepKind::Try);
    assert_eq!(t.checks.len(), 1);
    assert_eq!(t.solution.len(), 1);
}

#[test]
fn multi_line_expectations_and_continuations() {
    let s = parse_body(
        "step: s
A: ECHO \"\\
local a = 1\\
  return a\"
expect A:
| 1) \"x\"
|    2) nested
A: PING
expect A: PONG   
",
    )
    .unwrap();
    let actions = &s.steps[0].actions;
    match &actions[0].kind {
        ActionKind::Command(c) => {
            assert_eq!(c.line, 8);
            let script = c.args[1].literal_text();
            assert_eq!(script, b"\nlocal a = 1\n  return a");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&actions[1].kind, ActionKind::Expect(e) if e.text == "1) \"x\"\n   2) nested")
    );
    assert!(matches!(&actions[3].kind, ActionKind::Expect(e) if e.text == "PONG"));
}

#[test]
fn instances_and_engine_actions() {
    let s = parse(
        "r.scn",
        "cachelab-scenario 1
id: r
title: R
summary: S
view: redlock
clients: A B
instances: 5
step: s
A@5: SET k v
expect A@5: OK
check@2: missing k
engine-only: instance 3 down
engine-only: instance 3 up
engine-only: crash-restart
engine-only: crash-restart 4
engine-only: clock-drift B -300ms
engine-only: clock-drift instance 2 +2s
",
    )
    .unwrap();
    let a = &s.steps[0].actions;
    assert!(matches!(&a[0].kind, ActionKind::Command(c) if c.sender.instance == 5));
    assert!(matches!(&a[2].kind, ActionKind::Check(c) if c.instance == 2));
    let acts: Vec<String> = s.steps[0]
        .engine_only()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        acts,
        [
            "instance 3 down",
            "instance 3 up",
            "crash-restart 1",
            "crash-restart 4",
            "clock-drift B -300ms",
            "clock-drift instance 2 +2000ms"
        ]
    );
}

#[test]
fn directive_errors() {
    one_error(
        "step: s\nwiat 1s\n",
        8,
        "unknown directive 'wiat' (did you mean 'wait'?)",
    );
    one_error(
        "step: s\nWAIT 1s\n",
        8,
        "unknown directive 'WAIT' (did you mean 'wait'?)",
    );
    one_error("step: s\na: GET k\n", 8, "did you mean client 'A'?");
    one_error("step: s\nfrobnicate\n", 8, "unknown directive 'frobnicate'");
    one_error(
        "step: s\nexpect@2 A: OK\n",
        8,
        "only 'check' takes an @instance",
    );
    one_error("step: s\n| 1) x\n", 8, "none is open here");
    one_error("step: s\nA: PING\nexpect A:\n\n", 9, "no reply given");
    one_error("step: s\nA: PING\ncheck: PING =>\n", 9, "no reply given");
    one_error("> early\nstep: s\n", 7, "narration ('>') belongs to a step");
}

#[test]
fn header_errors() {
    one_error(
        "title: again\nstep: s\n",
        7,
        "'title' given twice (first on line 3)",
    );
    one_error("step: s\nview: lock\n", 8, "'view' belongs in the header");
    one_error("wait 1s\nstep: s\n", 7, "'wait' must be inside a step");
    one_error("A: PING\nstep: s\n", 7, "commands must be inside a step");
    one_error("instances: 0\nstep: s\n", 7, "bad instance count '0'");
    one_error("instances: 10\nstep: s\n", 7, "bad instance count '10'");
    one_error("seed: -1\nstep: s\n", 7, "bad seed '-1'");
    one_error(
        "config: maxmemory\nstep: s\n",
        7,
        "parameter and value pairs",
    );
    one_error(
        "config: maxmemory \"1mb\nstep: s\n",
        7,
        "could not be split",
    );
    one_error(
        "requires: zsets\nstep: s\n",
        7,
        "unknown requirement 'zsets' (did you mean 'zset'?",
    );
    one_error("requires:\nstep: s\n", 7, "names at least one capability");

    let text = |header: &str| parse("h.scn", &format!("{header}\nstep: s\n")).unwrap_err();
    let first = |header: &str| text(header)[0].to_string();
    let base = "cachelab-scenario 1\nid: t\ntitle: T\nsummary: S\nclients: A";
    assert!(first(&format!("{base}\nview: keyspce"))
        .contains("line 6: unknown view 'keyspce' (did you mean 'keyspace'? one of: keyspace"));
    assert!(first(&format!("{base}\nview: lock\nclients: B")).contains("'clients' given twice"));
    assert!(parse("h.scn", &format!("{base}\nview: lock\nstep: s\n")).is_ok());
    assert!(first("cachelab-scenario 3\nid: t").contains("format version 3 is newer"));
    assert!(first("cachelab-scenario 0\nid: t").contains("format version 0 does not exist"));
    assert!(first("cachelab-scenario one").contains("bad format version 'one'"));
    assert!(first("id: t").contains("line 1: a scenario starts with 'cachelab-scenario 2'"));
    assert!(first("cachelab-scenario 1\nid: Bad_Id").contains("bad id 'Bad_Id'"));
    assert!(first("cachelab-scenario 1\ntitle:").contains("empty title"));
    assert!(first("cachelab-scenario 1\nclients: a").contains("bad client name 'a'"));
    assert!(first("cachelab-scenario 1\nclients: A A").contains("client 'A' declared twice"));
    assert!(first("cachelab-scenario 1\nclients:").contains("no clients named"));

    // Every missing header line is named, at the line where the steps start.
    let errs = parse("m.scn", "cachelab-scenario 1\nstep: s\n").unwrap_err();
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    for name in ["id", "title", "summary", "view", "clients"] {
        assert!(
            msgs.contains(&format!("m.scn: line 2: the header has no '{name}:' line")),
            "{msgs:#?}"
        );
    }
    let errs = parse("e.scn", "").unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "e.scn: line 1: empty scenario: it starts with 'cachelab-scenario 2'"
    );
    let errs = parse("n.scn", HEADER).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "n.scn: line 6: no steps: add one with 'step: TITLE'"
    );
}

#[test]
fn step_errors() {
    one_error("step:\n", 7, "'step' needs a title");
    one_error(
        "step: s\nsolution A: PING\n",
        8,
        "'solution' belongs in a try step",
    );
    one_error(
        "try: t\ncheck: exists k\nsolution A: SET k 1\nA: PING\n",
        10,
        "a try step holds",
    );
    one_error(
        "try: t\ncheck: exists k\nsolution A: SET k 1\nwait 1s\n",
        10,
        "put 'wait' in a step before it",
    );
    one_error(
        "try: t\ncheck: exists k\nsolution PING\nsolution A: SET k 1\n",
        9,
        "names the client that sends it",
    );
    one_error(
        "try: t\nsolution A: SET k 1\n",
        7,
        "needs at least one 'check:'",
    );
    one_error(
        "try: t\ncheck: exists k\n",
        7,
        "needs a 'solution A: COMMAND'",
    );
}

#[test]
fn command_errors() {
    one_error(
        "step: s\nD: GET k\n",
        8,
        "unknown client 'D' (declared: A, B)",
    );
    one_error(
        "step: s\nA@2: GET k\n",
        8,
        "bad instance '2' (this scenario has one instance",
    );
    one_error(
        "step: s\nA: SET \"k v\n",
        8,
        "redis-cli could not split this command",
    );
    one_error(
        "step: s\nA: SET 'k'v\n",
        8,
        "redis-cli could not split this command",
    );
    one_error("step: s\nA:\n", 8, "empty command for client A");
    one_error(
        "step: s\nA: SET k:{i} v\n",
        8,
        "uses {i}, which only a repeat defines",
    );
    one_error(
        "step: s\nA: {now} k\n",
        8,
        "a command's name cannot be a placeholder",
    );
    one_error("step: s\nA: FROB k\n", 8, "unknown command 'FROB'");
    one_error(
        "step: s\nrequires: persistence\nA: SAVE\n",
        9,
        "would make a real server write files",
    );
    one_error(
        "step: s\nA: CONFIG SET appendonly yes\n",
        8,
        "would make a real server write files",
    );
    assert!(errors("step: s\nrequires: zset\nA: ZADD k 1 m\n").is_empty());
    assert!(
        errors("step: s\nrequires: persistence\nengine-only: crash-restart\nA: SAVE\n").is_empty()
    );
    assert!(errors("step: s\nA: CONFIG SET appendonly no\n").is_empty());
    let multi = "cachelab-scenario 1\nid: t\ntitle: T\nsummary: S\nview: redlock\nclients: A\n\
                 instances: 2\nstep: s\nA: SELECT 1\n";
    let errs = parse("s.scn", multi).unwrap_err();
    assert!(errs[0]
        .to_string()
        .contains("line 9: SELECT cannot be used with several instances"));
}

#[test]
fn wait_and_repeat_errors() {
    one_error(
        "step: s\nwait 1.5x\n",
        8,
        "bad duration '1.5x' (write 200ms, 1.5s or 2m)",
    );
    one_error("step: s\nwait\n", 8, "bad duration ''");
    one_error("step: s\nwait s\n", 8, "bad duration 's'");
    one_error("step: s\nwait 1.s\n", 8, "bad duration '1.s'");
    one_error("step: s\nwait -1s\n", 8, "bad duration '-1s'");
    one_error("step: s\nwait 0ms\n", 8, "longer than zero");
    one_error(
        "step: s\nwait 1.0005s\n",
        8,
        "not a whole number of milliseconds",
    );
    one_error("step: s\nwait 61m\n", 8, "at most an hour");
    one_error("step: s\nwait 99999999999s\n", 8, "bad duration");
    one_error("step: s\nwait 999999999.5m\n", 8, "at most an hour");
    one_error("step: s\nA: SET k \0\n", 8, "a NUL character cannot appear");
    one_error("step: s\nrepeat 0: SET k v\n", 8, "bad repeat count '0'");
    one_error(
        "step: s\nrepeat 100001: SET k v\n",
        8,
        "bad repeat count '100001'",
    );
    one_error("step: s\nrepeat x: SET k v\n", 8, "bad repeat count 'x'");
    one_error("step: s\nrepeat 5: D: SET k v\n", 8, "unknown client 'D'");
    one_error("step: s\nrepeat 5:\n", 8, "empty command");
    assert_eq!(parse_duration("200ms"), Ok(200));
    assert_eq!(parse_duration("1.5s"), Ok(1500));
    assert_eq!(parse_duration("0.25s"), Ok(250));
    assert_eq!(parse_duration("2m"), Ok(120_000));
}

#[test]
fn expect_errors() {
    one_error(
        "step: s\nexpect A: OK\n",
        8,
        "expect A: A has not sent a command yet",
    );
    one_error("step: s\nexpect OK\n", 8, "'expect' names a client");
    one_error("step: s\nexpect D: OK\n", 8, "unknown client 'D'");
    one_error(
        "step: s\nA: PING\nexpect B: PONG\n",
        9,
        "B has not sent a command yet",
    );
    assert!(errors("step: s\nA: PING\nstep: t\nexpect A: PONG\n").is_empty());
    assert!(
        errors("try: t\ncheck: exists k\nsolution B: SET k 1\nstep: u\nexpect B: OK\n").is_empty()
    );
}

#[test]
fn check_errors() {
    one_error(
        "step: s\ncheck: tll k > 0\n",
        8,
        "unknown check 'tll' (did you mean 'ttl'?)",
    );
    one_error("step: s\ncheck: ttl k\n", 8, "write it as 'ttl KEY > 0'");
    one_error(
        "step: s\ncheck: ttl k >> 0\n",
        8,
        "write it as 'ttl KEY > 0'",
    );
    one_error(
        "step: s\ncheck: ttl k > x\n",
        8,
        "write it as 'ttl KEY > 0'",
    );
    one_error(
        "step: s\ncheck: value k < 1\n",
        8,
        "values compare only with = or !=",
    );
    one_error(
        "step: s\ncheck: type k != hash\n",
        8,
        "write it as 'type KEY = hash'",
    );
    one_error("step: s\ncheck: exists\n", 8, "write it as 'exists KEY'");
    one_error(
        "step: s\ncheck: score z m > nan\n",
        8,
        "score KEY MEMBER >= 10",
    );
    one_error("step: s\ncheck: dbsize\n", 8, "dbsize < 100");
    one_error("step: s\ncheck: len k\n", 8, "len KEY >= 3");
    one_error("step: s\ncheck: field h f\n", 8, "field KEY FIELD");
    one_error("step: s\ncheck:\n", 8, "empty check");
    one_error(
        "step: s\ncheck: => OK\n",
        8,
        "a check's command is missing before '=>'",
    );
    one_error(
        "step: s\ncheck: GET \"k => OK\n",
        8,
        "could not split this check's command",
    );
    one_error(
        "step: s\ncheck: value \"k = 1\n",
        8,
        "could not split this check",
    );
    one_error("step: s\ncheck@2: exists k\n", 8, "bad instance '2'");
    one_error(
        "step: s\ncheck: FROB k => OK\n",
        8,
        "unknown command 'FROB'",
    );
    assert!(errors("step: s\ncheck: value \"a key\" != \"\"\n").is_empty());
}

#[test]
fn engine_only_errors() {
    one_error(
        "step: s\nengine-only: crash-restrat\n",
        8,
        "(did you mean 'crash-restart'?)",
    );
    one_error(
        "step: s\nengine-only: explode\n",
        8,
        "unknown engine-only action 'explode' (one of:",
    );
    one_error(
        "step: s\nengine-only:\n",
        8,
        "unknown engine-only action ''",
    );
    one_error(
        "step: s\nengine-only: instance 2 down\n",
        8,
        "bad instance '2'",
    );
    one_error(
        "step: s\nengine-only: instance 1 sideways\n",
        8,
        "unknown engine-only action",
    );
    one_error(
        "step: s\nengine-only: crash-restart 0\n",
        8,
        "bad instance '0'",
    );
    one_error(
        "step: s\nengine-only: clock-drift C +1s\n",
        8,
        "unknown client 'C'",
    );
    one_error(
        "step: s\nengine-only: clock-drift A 1s\n",
        8,
        "bad drift '1s'",
    );
    one_error(
        "step: s\nengine-only: clock-drift A +1x\n",
        8,
        "bad drift '+1x'",
    );
    one_error(
        "step: s\nengine-only: clock-drift instance 1 -1s\n",
        8,
        "an instance's clock can only jump forward",
    );
    one_error(
        "step: s\nengine-only: active-expiry maybe\n",
        8,
        "unknown engine-only action",
    );
}

#[test]
fn every_error_is_reported_in_line_order() {
    let errs = errors("step: s\nwiat 1s\nD: GET k\nwait 1x\n");
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs[0].starts_with("8: ") && errs[1].starts_with("9: ") && errs[2].starts_with("10: ")
    );
}

#[test]
fn bytes_that_are_not_utf8() {
    let mut bytes = format!("{HEADER}step: s\n").into_bytes();
    bytes.extend_from_slice(b"A: SET k \xff\n");
    let errs = parse_bytes("b.scn", &bytes).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "b.scn: line 8: the file is not valid UTF-8 here"
    );
}

#[test]
fn suggestions() {
    assert_eq!(suggest("wiat", &["wait", "step"]), Some("wait"));
    assert_eq!(suggest("stpe", &["wait", "step"]), Some("step"));
    assert_eq!(suggest("zzzz", &["wait", "step"]), None);
    assert_eq!(suggest("", &["wait"]), None);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

/// A small xorshift generator, so the test needs no crate and repeats exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces that reach the parser's corners: directives, quotes, braces, block lines.
const PIECES: &[&str] = &[
    "cachelab-scenario 1\n",
    "step: s\n",
    "try: t\n",
    "A: ",
    "B@2: ",
    "expect A:",
    "expect A: OK\n",
    "| ",
    "> ",
    "check: ",
    "check@3: ",
    "=> ",
    "wait ",
    "1.5s",
    "repeat 10: ",
    "engine-only: ",
    "instance 2 down",
    "clock-drift A -1s",
    "{i}",
    "{now-",
    "{{",
    "}}",
    "(",
    ")",
    "\"",
    "'",
    "\\",
    "\\x4",
    "@",
    ":",
    "\n",
    "\r\n",
    " ",
    "\t",
    "requires: zset\n",
    "config: a b\n",
    "solution A: SET k 1\n",
    "ttl k > 0",
    "value k = v",
    "score z m >= 1e400",
    "é",
    "\u{0}",
    "instances: 9\n",
    "clients: A B\n",
    "SET k v PX 100",
    "{i%0}",
    "{(((((((((((i)))))))))))}",
];

#[test]
fn no_input_makes_the_parser_panic() {
    let mut rng = Rng(0x5eed_cafe_f00d_beef);
    // Random bytes.
    for _ in 0..3000 {
        let len = rng.below(200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = parse_bytes("fuzz", &bytes);
    }
    // Random sequences of meaningful pieces.
    for _ in 0..5000 {
        let mut text = String::new();
        for _ in 0..rng.below(40) {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
        let _ = parse("fuzz", &text);
        let _ = parse("fuzz", &format!("{HEADER}{text}"));
    }
    // Every shipped scenario cut short, and with lines dropped, doubled and mangled.
    for (name, text) in crate::SHIPPED {
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(13) {
            let _ = parse_bytes(name, &bytes[..cut]);
        }
        let lines: Vec<&str> = text.lines().collect();
        for _ in 0..200 {
            let mut out = String::new();
            for line in &lines {
                match rng.below(12) {
                    0 => {}
                    1 => {
                        out.push_str(line);
                        out.push('\n');
                        out.push_str(line);
                        out.push('\n');
                    }
                    2 => {
                        let mut b = line.as_bytes().to_vec();
                        if !b.is_empty() {
                            let at = rng.below(b.len());
                            b[at] = PIECES[rng.below(PIECES.len())].as_bytes()[0];
                        }
                        out.push_str(&String::from_utf8_lossy(&b));
                        out.push('\n');
                    }
                    3 => {
                        out.push_str(PIECES[rng.below(PIECES.len())]);
                        out.push_str(line);
                        out.push('\n');
                    }
                    _ => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            let _ = parse(name, &out);
        }
    }
}

/// A version-2 header: a body's first line is line 7.
fn cluster_errors(body: &str) -> Vec<String> {
    let text = format!(
        "cachelab-scenario 2\nid: t\ntitle: T\nsummary: S\nview: cluster\nclients: A B\n{body}"
    );
    match parse("t.scn", &text) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .iter()
            .map(|e| format!("{}: {}", e.line, e.message))
            .collect(),
    }
}

#[test]
fn a_cluster_scenario_parses() {
    let text = "cachelab-scenario 2
id: t
title: T
summary: S
view: cluster
clients: A B
cluster: 3 replicas 1

step: Go
A: SET k v
A@4: GET k
B@2: CLUSTER SETSLOT 1 IMPORTING {node-id:1}
expect A: \"v\"
expect B: OK
check: value k = v
check@6: dbsize = 0
repeat 2: INCR n
engine-only: repl-lag 2s
engine-only: repl-lag 0ms
engine-only: node 1 down
engine-only: node 1 up
";
    let s = parse("t.scn", text).expect("parses");
    assert_eq!(
        s.cluster,
        Some(ClusterSpec {
            masters: 3,
            replicas_per_master: 1
        })
    );
    assert_eq!(s.instances, 6);
    let step = &s.steps[0];
    let senders: Vec<usize> = step
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::Command(c) | ActionKind::Repeat { command: c, .. } => {
                Some(c.sender.instance)
            }
            ActionKind::Expect(e) => Some(e.sender.instance),
            ActionKind::Check(c) => Some(c.instance),
            _ => None,
        })
        .collect();
    // A bare client or check means "wherever the connection is" (0); @N names node N.
    assert_eq!(senders, vec![0, 4, 2, 0, 0, 0, 6, 0]);
    assert_eq!(
        step.engine_only()
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        [
            "repl-lag 2000ms",
            "repl-lag 0ms",
            "node 1 down",
            "node 1 up"
        ]
    );
    assert_eq!(
        ClusterSpec {
            masters: 3,
            replicas_per_master: 1
        }
        .master_of(5),
        Some(2)
    );
    assert_eq!(cluster_addr(3), "127.0.0.1:7002");
}

#[test]
fn cluster_header_errors() {
    let has = |errs: Vec<String>, line: usize, text: &str| {
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&format!("{line}: ")) && e.contains(text)),
            "expected line {line} with {text:?} in {errs:#?}"
        );
    };
    has(
        cluster_errors("cluster: 0\nstep: s\nA: PING\n"),
        7,
        "bad cluster line '0'",
    );
    has(
        cluster_errors("cluster: 6\nstep: s\nA: PING\n"),
        7,
        "1 to 5 masters",
    );
    has(
        cluster_errors("cluster: 3 replicas 3\nstep: s\nA: PING\n"),
        7,
        "0 to 2 replicas",
    );
    has(
        cluster_errors("cluster: 3 replica 1\nstep: s\nA: PING\n"),
        7,
        "bad cluster line",
    );
    has(
        cluster_errors("instances: 2\ncluster: 3\nstep: s\nA: PING\n"),
        8,
        "nodes, not instances",
    );
    has(
        cluster_errors("cluster: 3\ninstances: 2\nstep: s\nA: PING\n"),
        8,
        "nodes, not instances",
    );
    has(
        cluster_errors("cluster: 3\ncluster: 3\nstep: s\nA: PING\n"),
        8,
        "cluster",
    );
    // Version 1 does not know clusters.
    has(
        errors("cluster: 3\nstep: s\nA: PING\n"),
        7,
        "'cluster' needs format version 2",
    );
    // Nodes are numbered 1 to masters × (1 + replicas).
    has(
        cluster_errors("cluster: 3\nstep: s\nA@4: PING\n"),
        9,
        "the cluster's nodes are numbered 1 to 3",
    );
    // One connection per client: its latest output is the client's, not a node's.
    has(
        cluster_errors("cluster: 3\nstep: s\nA@2: PING\nexpect A@2: PONG\n"),
        10,
        "write 'expect A:'",
    );
    assert!(cluster_errors("cluster: 3\nstep: s\nA@2: PING\nexpect A: PONG\n").is_empty());
    // Engine-only actions: the cluster's own, and none of a single server's.
    has(
        cluster_errors("cluster: 3\nstep: s\nengine-only: crash-restart\n"),
        9,
        "a cluster scenario uses node N down",
    );
    has(
        cluster_errors("cluster: 3\nstep: s\nengine-only: instance 2 down\n"),
        9,
        "a cluster scenario uses node N down",
    );
    has(
        cluster_errors("cluster: 3\nstep: s\nengine-only: node 4 down\n"),
        9,
        "numbered 1 to 3",
    );
    has(
        cluster_errors("cluster: 3\nstep: s\nengine-only: repl-lag soon\n"),
        9,
        "soon",
    );
    has(
        errors("step: s\nengine-only: node 1 down\n"),
        8,
        "needs a cluster",
    );
    has(
        errors("step: s\nengine-only: repl-lag 1s\n"),
        8,
        "needs a cluster",
    );
}
