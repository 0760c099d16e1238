//! Replaying a transcript on two targets and collecting every disagreement.

use std::fmt::Write as _;

use crate::compare;
use crate::target::Target;
use crate::transcript::{Step, Transcript, DEFAULT_CONN};

/// One step whose replies differ (or where a side gave no reply).
#[derive(Debug)]
pub struct Mismatch {
    pub file: String,
    pub line: usize,
    pub conn: String,
    pub command: String,
    pub unordered: bool,
    pub expected_label: String,
    pub expected: Result<Vec<u8>, String>,
    pub actual_label: String,
    pub actual: Result<Vec<u8>, String>,
}

/// The outcome of one transcript.
#[derive(Debug, Default)]
pub struct FileReport {
    pub file: String,
    pub commands: usize,
    pub mismatches: Vec<Mismatch>,
    /// Set when the file could not be run at all (unreadable, malformed, a target not reset).
    pub fatal: Option<String>,
}

impl FileReport {
    pub fn passed(&self) -> bool {
        self.fatal.is_none() && self.mismatches.is_empty()
    }

    pub fn failed(file: &str, why: String) -> FileReport {
        FileReport {
            file: file.to_string(),
            fatal: Some(why),
            ..FileReport::default()
        }
    }

    /// One line: the file, how many commands ran, how many disagreed.
    pub fn summary(&self) -> String {
        match &self.fatal {
            Some(why) => format!("{}: not run: {why}", self.file),
            None => format!(
                "{}: {} commands, {} mismatch{}",
                self.file,
                self.commands,
                self.mismatches.len(),
                if self.mismatches.len() == 1 { "" } else { "es" }
            ),
        }
    }

    /// The summary and the first `limit` mismatches in full (all of them when `limit` is 0).
    pub fn render(&self, limit: usize) -> String {
        let mut out = String::new();
        let shown = if limit == 0 {
            self.mismatches.len()
        } else {
            limit.min(self.mismatches.len())
        };
        for m in &self.mismatches[..shown] {
            out.push_str(&m.render());
            out.push('\n');
        }
        if shown < self.mismatches.len() {
            let _ = writeln!(
                out,
                "... and {} more mismatches in {}",
                self.mismatches.len() - shown,
                self.file
            );
        }
        if let Some(unknown) = self.unknown_commands() {
            let _ = writeln!(out, "{}: {unknown}", self.file);
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// Which commands the compared side rejected as unknown while the reference did not, with
    /// counts: most mismatches of a sequence come from these while a family is missing.
    pub fn unknown_commands(&self) -> Option<String> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for m in &self.mismatches {
            let Ok(bytes) = &m.actual else { continue };
            let Some(rest) = bytes.strip_prefix(b"-ERR unknown command '") else {
                continue;
            };
            if m.expected
                .as_ref()
                .is_ok_and(|e| e.starts_with(b"-ERR unknown command '"))
            {
                continue;
            }
            let name = rest.split(|&c| c == b'\'').next().unwrap_or_default();
            let name = String::from_utf8_lossy(name).to_ascii_uppercase();
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, c)) => *c += 1,
                None => counts.push((name, 1)),
            }
        }
        if counts.is_empty() {
            return None;
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let total: usize = counts.iter().map(|(_, c)| c).sum();
        let list: Vec<String> = counts.iter().map(|(n, c)| format!("{n} x{c}")).collect();
        Some(format!(
            "{total} mismatches are commands {} does not know: {}",
            self.mismatches[0].actual_label,
            list.join(", ")
        ))
    }
}

fn indent_after_first(text: &str, width: usize) -> String {
    text.replace('\n', &format!("\n{}", " ".repeat(width)))
}

impl Mismatch {
    /// `file:line: COMMAND` and both replies, aligned.
    pub fn render(&self) -> String {
        let mut out = format!("{}:{}: ", self.file, self.line);
        if self.conn != DEFAULT_CONN {
            let _ = write!(out, "[client {}] ", self.conn);
        }
        out.push_str(&self.command);
        if self.unordered {
            out.push_str("   (unordered)");
        }
        out.push('\n');
        let width = self.expected_label.len().max(self.actual_label.len());
        let show = |r: &Result<Vec<u8>, String>| match r {
            Ok(bytes) => compare::show(bytes),
            Err(e) => format!("<{e}>"),
        };
        let (e, a) = (show(&self.expected), show(&self.actual));
        for (label, text) in [(&self.expected_label, &e), (&self.actual_label, &a)] {
            let _ = writeln!(
                out,
                "    {label:<width$}: {}",
                indent_after_first(text, width + 6)
            );
        }
        if e == a {
            if let (Ok(x), Ok(y)) = (&self.expected, &self.actual) {
                if let Some((at, wx, wy)) = compare::first_difference(x, y) {
                    let _ = writeln!(out, "    bytes differ at offset {at}:");
                    let _ = writeln!(out, "    {:<width$}: {wx}", self.expected_label);
                    let _ = writeln!(out, "    {:<width$}: {wy}", self.actual_label);
                }
            }
        }
        out
    }
}

/// Runs `t` on both targets from an empty server, step by step, comparing each pair of replies.
/// `expected` is the reference (the real Redis).
pub fn run_transcript(
    t: &Transcript,
    expected: &mut dyn Target,
    actual: &mut dyn Target,
) -> FileReport {
    let mut report = FileReport {
        file: t.name.clone(),
        ..FileReport::default()
    };
    for target in [expected as &mut dyn Target, actual as &mut dyn Target] {
        if let Err(e) = target.reset() {
            report.fatal = Some(format!("cannot reset {}: {e}", target.label()));
            return report;
        }
    }
    for step in &t.steps {
        report.commands += 1;
        if let Some(m) = run_step(&t.name, step, expected, actual) {
            report.mismatches.push(m);
        }
    }
    report
}

fn run_step(
    file: &str,
    step: &Step,
    expected: &mut dyn Target,
    actual: &mut dyn Target,
) -> Option<Mismatch> {
    let want = expected.call(&step.conn, &step.argv);
    let got = actual.call(&step.conn, &step.argv);
    let same = match (&want, &got) {
        (Ok(w), Ok(g)) => match step.approx {
            Some(tolerance) => compare::agree_approx(w, g, tolerance),
            None => compare::agree(w, g, step.unordered),
        },
        _ => false,
    };
    if same {
        return None;
    }
    Some(Mismatch {
        file: file.to_string(),
        line: step.line,
        conn: step.conn.clone(),
        command: step.text.clone(),
        unordered: step.unordered,
        expected_label: expected.label().to_string(),
        expected: want,
        actual_label: actual.label().to_string(),
        actual: got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::EngineTarget;
    use crate::transcript::parse;

    /// A target that answers from a script, to test the runner without a server.
    struct Scripted {
        replies: Vec<&'static [u8]>,
        calls: Vec<(String, Vec<Vec<u8>>)>,
    }

    impl Target for Scripted {
        fn label(&self) -> &str {
            "scripted"
        }
        fn reset(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn call(&mut self, conn: &str, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
            self.calls.push((conn.to_string(), argv.to_vec()));
            let i = self.calls.len() - 1;
            self.replies
                .get(i)
                .map(|r| r.to_vec())
                .ok_or_else(|| "script ran out".to_string())
        }
    }

    #[test]
    fn reports_every_mismatch_with_line_and_both_replies() {
        let t = parse(
            "t.txt",
            "PING\n# c\nSET k v\nGET k\n#! client two\nGET nope\n",
        )
        .unwrap();
        let mut reference = Scripted {
            replies: vec![b"+PONG\r\n", b"+OK\r\n", b"$1\r\nw\r\n", b"$-1\r\n"],
            calls: vec![],
        };
        let mut engine = EngineTarget::new();
        let report = run_transcript(&t, &mut reference, &mut engine);
        assert_eq!(report.commands, 4);
        assert_eq!(report.mismatches.len(), 1, "{}", report.render(0));
        let m = &report.mismatches[0];
        assert_eq!((m.line, m.command.as_str()), (4, "GET k"));
        let text = m.render();
        assert!(text.starts_with("t.txt:4: GET k\n"), "{text}");
        assert!(text.contains("scripted: \"w\""), "{text}");
        assert!(text.contains("engine  : \"v\""), "{text}");
        assert_eq!(reference.calls[3].0, "two");
        assert!(!report.passed());
    }

    #[test]
    fn tallies_commands_the_compared_side_does_not_know() {
        let t = parse("t.txt", "NOPE1 a\nNOPE1\nNOPE2\nZZZ\n").unwrap();
        let mut reference = Scripted {
            replies: vec![
                b":1\r\n",
                b":1\r\n",
                b":2\r\n",
                b"-ERR unknown command 'ZZZ', with args beginning with: \r\n",
            ],
            calls: vec![],
        };
        let mut engine = EngineTarget::new();
        let report = run_transcript(&t, &mut reference, &mut engine);
        assert_eq!(report.mismatches.len(), 3);
        let tally = report.unknown_commands().unwrap();
        assert!(
            tally.ends_with("engine does not know: NOPE1 x2, NOPE2 x1"),
            "{tally}"
        );
    }

    #[test]
    fn a_missing_reply_is_a_mismatch() {
        let t = parse("t.txt", "PING\nPING\n").unwrap();
        let mut reference = Scripted {
            replies: vec![b"+PONG\r\n"],
            calls: vec![],
        };
        let mut engine = EngineTarget::new();
        let report = run_transcript(&t, &mut reference, &mut engine);
        assert_eq!(report.mismatches.len(), 1);
        assert!(report.mismatches[0].render().contains("<script ran out>"));
    }

    #[test]
    fn engine_connections_are_separate_and_fresh_after_reset() {
        let mut engine = EngineTarget::new();
        assert_eq!(
            engine
                .call("a", &[b"SET".to_vec(), b"k".to_vec(), b"1".to_vec()])
                .unwrap(),
            b"+OK\r\n"
        );
        assert_eq!(
            engine.call("b", &[b"GET".to_vec(), b"k".to_vec()]).unwrap(),
            b"$1\r\n1\r\n"
        );
        engine.reset().unwrap();
        assert_eq!(
            engine.call("b", &[b"GET".to_vec(), b"k".to_vec()]).unwrap(),
            b"$-1\r\n"
        );
    }
}
