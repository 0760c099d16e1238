//! The command line shared by `scenario check|replay` and `cachelab replay`: one argument
//! parser, one way to find a scenario (a file, or a shipped lesson's id), one report.
//!
//! Exit status: 0 when every scenario passed (skips are notes, not failures), 1 when one failed
//! (a file that cannot be read or parsed counts as failed, its errors printed by line), 2 on a
//! usage error.

use std::io::Write;

use cachelab_engine::Config;

use crate::format::Scenario;
use crate::net::{ReplayOptions, REPLAY_OPTIONS_USAGE};
use crate::parse::{parse, parse_bytes, render_errors};
use crate::{replay, EngineTarget, SHIPPED};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// Where a run plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum On {
    Engine,
    /// A real Redis, or a real Redis Cluster for cluster scenarios.
    Redis(ReplayOptions),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Files, or ids of shipped lessons.
    pub scenarios: Vec<String>,
    pub on: On,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Options),
    Help,
}

/// The usage text, for a program invoked as `prog` (`scenario` or `cachelab`).
pub fn usage(prog: &str) -> String {
    let check = if prog == "scenario" {
        "  scenario check SCENARIO...      parse, then play on the engine\n"
    } else {
        ""
    };
    format!(
        "usage:
{check}  {prog} replay SCENARIO... [OPTIONS]
        play on a real Redis (default {DEFAULT_URL}) with real waits, skipping
        engine-only steps with a note; options:
{REPLAY_OPTIONS_USAGE}
  --engine                         play on the engine instead, on virtual time

A SCENARIO is a .scn file or the id of a shipped lesson ({ids}).",
        ids = shipped_ids().join(", ")
    )
}

/// The ids of the lessons built into the binary, in the order they ship.
pub fn shipped_ids() -> Vec<&'static str> {
    SHIPPED
        .iter()
        .map(|(name, _)| name.strip_suffix(".scn").unwrap_or(name))
        .collect()
}

/// Parses `args` as given after the program name: a mode (`check` or `replay`), then the
/// scenarios and options in any order.
pub fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut args = args.iter().map(String::as_str);
    let mode = match args.next() {
        Some("check") => "check",
        Some("replay") => "replay",
        Some("-h" | "--help" | "help") => return Ok(Parsed::Help),
        Some(other) => return Err(format!("unknown mode '{other}': write check or replay")),
        None => return Err("no mode: write check or replay".into()),
    };
    let mut scenarios = Vec::new();
    let mut replay = ReplayOptions::default();
    let mut engine = mode == "check";
    // `--url=redis://...` reads as `--url redis://...`.
    let expanded: Vec<String> = args
        .flat_map(|a| match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => vec![n.to_string(), v.to_string()],
            _ => vec![a.to_string()],
        })
        .collect();
    let mut rest = expanded.iter();
    while let Some(arg) = rest.next() {
        if replay.take(arg, &mut rest)? {
            continue;
        }
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--engine" => engine = true,
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            _ => scenarios.push(arg.to_string()),
        }
    }
    if scenarios.is_empty() {
        return Err("no scenario given".into());
    }
    let on = if engine {
        if replay.any() {
            return Err(
                "--url, --cluster-url and --flush are for a real Redis, not the engine".into(),
            );
        }
        On::Engine
    } else {
        replay.validate()?;
        On::Redis(replay)
    };
    Ok(Parsed::Run(Options { scenarios, on }))
}

/// Reads a scenario: the file at `name` if there is one, else the shipped lesson with that id.
/// The error is what to print: every malformed line of the file, or why nothing was found.
pub fn load(name: &str) -> Result<Scenario, String> {
    match std::fs::read(name) {
        Ok(bytes) => return parse_bytes(name, &bytes).map_err(|errors| render_errors(&errors)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{name}: cannot read: {e}"))
        }
        Err(_) => {}
    }
    let file = format!("{name}.scn");
    match SHIPPED.iter().find(|(n, _)| *n == file) {
        Some((n, text)) => parse(n, text).map_err(|errors| render_errors(&errors)),
        None => Err(format!(
            "{name}: no such file, and no shipped lesson has that id (they are: {})",
            shipped_ids().join(", ")
        )),
    }
}

/// Plays every scenario of `options`, writing each report and a total to `out`; the exit code.
pub fn run(options: &Options, out: &mut dyn Write) -> u8 {
    let mut failed = 0;
    for name in &options.scenarios {
        let scenario = match load(name) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "{e}");
                failed += 1;
                continue;
            }
        };
        let report = match &options.on {
            On::Engine => replay::run(&scenario, &mut EngineTarget::new(Config::default())),
            On::Redis(replay) => match replay.target_for(&scenario) {
                Ok(mut target) => replay::run(&scenario, target.as_mut()),
                Err(e) => {
                    let _ = writeln!(out, "{e}");
                    failed += 1;
                    continue;
                }
            },
        };
        let _ = write!(out, "{}", report.render());
        let _ = out.flush();
        if !report.passed() {
            failed += 1;
        }
    }
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        options.scenarios.len() - failed,
        failed
    );
    if failed == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// The whole command for a program invoked as `prog`: `args` start with the mode. Reports go to
/// stdout, usage errors to stderr.
pub fn main(prog: &str, args: &[String]) -> u8 {
    match parse_args(args) {
        Ok(Parsed::Help) => {
            println!("{}", usage(prog));
            EXIT_OK
        }
        Ok(Parsed::Run(options)) => run(&options, &mut std::io::stdout().lock()),
        Err(e) => {
            eprintln!("{prog}: {e}\n\n{}", usage(prog));
            EXIT_USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn options(args: &[&str]) -> Options {
        match parse(args) {
            Ok(Parsed::Run(o)) => o,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn arguments() {
        let o = options(&["replay", "lock"]);
        assert_eq!(o.scenarios, ["lock"]);
        assert_eq!(o.on, On::Redis(ReplayOptions::default()));
        let o = options(&["replay", "--flush", "a.scn", "--url=redis://h:7", "b"]);
        assert_eq!(o.scenarios, ["a.scn", "b"]);
        assert_eq!(
            o.on,
            On::Redis(ReplayOptions {
                urls: vec!["redis://h:7".into()],
                cluster_urls: vec![],
                flush: true
            })
        );
        let o = options(&["replay", "c", "--cluster-url", "redis://h:7000"]);
        assert_eq!(
            o.on,
            On::Redis(ReplayOptions {
                urls: vec![],
                cluster_urls: vec!["redis://h:7000".into()],
                flush: false
            })
        );
        assert_eq!(options(&["replay", "x", "--engine"]).on, On::Engine);
        assert_eq!(options(&["check", "x"]).on, On::Engine);
        assert_eq!(parse(&["replay", "--help"]), Ok(Parsed::Help));
        assert_eq!(parse(&["replay"]), Err("no scenario given".into()));
        assert_eq!(
            parse(&["replay", "x", "--url"]),
            Err("--url needs a value".into())
        );
        assert_eq!(
            parse(&["replay", "x", "--frob"]),
            Err("unknown option --frob".into())
        );
        assert_eq!(
            parse(&["check", "x", "--flush"]),
            Err("--url, --cluster-url and --flush are for a real Redis, not the engine".into())
        );
        assert!(parse(&["replay", "x", "--url", "redis://u@h/1"]).is_err());
        assert!(parse(&["play", "x"]).is_err());
    }

    #[test]
    fn shipped_lessons_resolve_by_id() {
        let s = load("lock").expect("lock ships");
        assert_eq!((s.id.as_str(), s.file.as_str()), ("lock", "lock.scn"));
        let e = load("no-such-lesson").unwrap_err();
        assert!(
            e.contains("no shipped lesson") && e.contains("cache-aside"),
            "{e}"
        );
    }

    #[test]
    fn a_run_on_the_engine_reports_and_counts() {
        let mut out = Vec::new();
        let code = run(
            &Options {
                scenarios: vec!["cache-aside".into(), "no-such-lesson".into()],
                on: On::Engine,
            },
            &mut out,
        );
        let text = String::from_utf8_lossy(&out);
        assert_eq!(code, EXIT_FAILED, "{text}");
        assert!(
            text.contains("cache-aside.scn (cache-aside) on engine"),
            "{text}"
        );
        assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");
    }
}
