//! Transcript files: commands in redis-cli syntax, one a line, with a few directives.
//!
//! The format is described for authors in `tests/transcripts/README.md`.

use cachelab_engine::cli::split_args;

/// The connection every transcript starts on.
pub const DEFAULT_CONN: &str = "default";

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 1-based line number in the file.
    pub line: usize,
    /// The command as written, for reports.
    pub text: String,
    pub argv: Vec<Vec<u8>>,
    /// The connection that sends it.
    pub conn: String,
    /// Compare an array or set reply as a multiset (`#! unordered`).
    pub unordered: bool,
    /// Compare numbers within this relative tolerance (`#! approx 10%` gives 0.1).
    pub approx: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a transcript; reports every malformed line rather than only the first.
pub fn parse(name: &str, text: &str) -> Result<Transcript, Vec<ParseError>> {
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    let mut conn = DEFAULT_CONN.to_string();
    // The line of a pending `#! unordered`, which applies to the next command.
    let mut unordered_at: Option<usize> = None;
    // A pending `#! approx N%`: its line and tolerance.
    let mut approx_at: Option<(usize, f64)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if let Some(directive) = trimmed.strip_prefix("#!") {
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["unordered"] => unordered_at = Some(line),
                ["client", name] => conn = name.to_string(),
                ["approx", pct] => match parse_percent(pct) {
                    Some(t) => approx_at = Some((line, t)),
                    None => errors.push(ParseError {
                        line,
                        message: format!("bad tolerance in `{trimmed}` (want e.g. 10%)"),
                    }),
                },
                _ => errors.push(ParseError {
                    line,
                    message: format!("unknown directive `{trimmed}`"),
                }),
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match split_args(trimmed) {
            Ok(argv) if !argv.is_empty() => steps.push(Step {
                line,
                text: trimmed.to_string(),
                argv,
                conn: conn.clone(),
                unordered: unordered_at.take().is_some(),
                approx: approx_at.take().map(|(_, t)| t),
            }),
            Ok(_) => {}
            Err(e) => errors.push(ParseError {
                line,
                message: format!("{e}: {trimmed}"),
            }),
        }
    }
    if let Some(line) = unordered_at {
        errors.push(ParseError {
            line,
            message: "`#! unordered` is not followed by a command".into(),
        });
    }
    if let Some((line, _)) = approx_at {
        errors.push(ParseError {
            line,
            message: "`#! approx` is not followed by a command".into(),
        });
    }
    if errors.is_empty() {
        Ok(Transcript {
            name: name.to_string(),
            steps,
        })
    } else {
        Err(errors)
    }
}

/// `10%` as 0.1.
fn parse_percent(s: &str) -> Option<f64> {
    let v: f64 = s.strip_suffix('%')?.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v / 100.0)
}

/// Writes one argument so that `split_args` reads it back unchanged: bare when it is plain
/// printable text, double-quoted with escapes otherwise.
pub fn quote_arg(a: &[u8]) -> String {
    let plain = !a.is_empty()
        && a.iter()
            .all(|&c| c.is_ascii_graphic() && !matches!(c, b'"' | b'\'' | b'\\' | b'#'));
    if plain {
        return String::from_utf8_lossy(a).into_owned();
    }
    let mut s = String::from("\"");
    for &c in a {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// A command line in redis-cli syntax.
pub fn command_line(argv: &[Vec<u8>]) -> String {
    argv.iter()
        .map(|a| quote_arg(a))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_directives_and_clients() {
        let text = "# a comment\n\nSET k v\n#! client other\n#! unordered\nKEYS *\n  # indented comment\nGET \"k\"\n#! client default\nPING\n";
        let t = parse("t.txt", text).unwrap();
        assert_eq!(t.steps.len(), 4);
        assert_eq!(
            (
                t.steps[0].line,
                t.steps[0].conn.as_str(),
                t.steps[0].unordered
            ),
            (3, "default", false)
        );
        assert_eq!(
            (
                t.steps[1].line,
                t.steps[1].conn.as_str(),
                t.steps[1].unordered
            ),
            (6, "other", true)
        );
        assert_eq!(
            (
                t.steps[2].line,
                t.steps[2].conn.as_str(),
                t.steps[2].unordered
            ),
            (8, "other", false)
        );
        assert_eq!(t.steps[2].argv, vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(t.steps[3].conn, "default");
    }

    #[test]
    fn reports_every_bad_line() {
        let errs = parse("t.txt", "SET \"a\nGET k\n#! bogus\n#! unordered\n").unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 4]);
    }

    #[test]
    fn quoting_round_trips_through_split_args() {
        let args: Vec<Vec<u8>> = vec![
            b"SET".to_vec(),
            b"".to_vec(),
            b"a b".to_vec(),
            b"\x00\xff\r\n\t\x07".to_vec(),
            b"it's \"q\" \\".to_vec(),
            b"#hash".to_vec(),
            "é".as_bytes().to_vec(),
        ];
        let line = command_line(&args);
        assert_eq!(split_args(&line).unwrap(), args, "{line}");
    }
}
