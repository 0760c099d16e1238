//! `difftest`: replays transcripts (or generated sequences) against a real Redis and the engine.

use std::path::PathBuf;
use std::process::ExitCode;

use cachelab_difftest::{
    gen, run_file, run_random, transcript_files, EngineTarget, FileReport, RedisServer, Target,
    TcpTarget,
};

const USAGE: &str = "\
usage:
  difftest [run] [OPTIONS] PATH...        replay transcript files (a directory: its *.txt files)
  difftest random --seed S --count N [--only CMD,CMD...] [OPTIONS]
                                          run a generated sequence
  difftest gen --seed S --count N [--only CMD,CMD...]
                                          print a generated sequence as a transcript

options:
  --redis HOST:PORT     compare with this running Redis (default: start a redis-server on a free
                        loopback port and stop it at the end)
  --cachelab HOST:PORT  compare a running `cachelab serve` instead of the in-process engine
  --show N              print at most N mismatches per file (default 50; 0 prints all)

Exit status: 0 when every reply agreed, 1 on mismatches, 2 on usage or setup errors.";

struct Options {
    mode: String,
    paths: Vec<PathBuf>,
    redis: Option<String>,
    cachelab: Option<String>,
    seed: Option<u64>,
    count: Option<usize>,
    only: Vec<String>,
    show: usize,
}

fn parse_args(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options {
        mode: "run".into(),
        paths: Vec::new(),
        redis: None,
        cachelab: None,
        seed: None,
        count: None,
        only: Vec::new(),
        show: 50,
    };
    let mut it = args.into_iter().peekable();
    if let Some(first) = it.peek() {
        if matches!(first.as_str(), "run" | "random" | "gen") {
            o.mode = it.next().unwrap_or_default();
        }
    }
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--redis" => o.redis = Some(value("--redis")?),
            "--cachelab" => o.cachelab = Some(value("--cachelab")?),
            "--seed" => {
                o.seed = Some(
                    value("--seed")?
                        .parse()
                        .map_err(|e| format!("--seed: {e}"))?,
                )
            }
            "--count" => {
                o.count = Some(
                    value("--count")?
                        .parse()
                        .map_err(|e| format!("--count: {e}"))?,
                )
            }
            "--show" => {
                o.show = value("--show")?
                    .parse()
                    .map_err(|e| format!("--show: {e}"))?
            }
            "--only" => o.only.extend(
                value("--only")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => o.paths.push(PathBuf::from(a)),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_args(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("difftest: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            eprintln!("difftest: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every reply agreed.
fn run(o: Options) -> Result<bool, String> {
    let table = gen::select(&o.only)?;
    if o.mode == "gen" {
        let (seed, count) = seed_and_count(&o)?;
        print!("{}", cachelab_difftest::random_text(seed, count, &table));
        return Ok(true);
    }
    let mut files = Vec::new();
    if o.mode == "run" {
        if o.paths.is_empty() {
            return Err("no transcript given".into());
        }
        for p in &o.paths {
            if p.is_dir() {
                files.extend(transcript_files(p).map_err(|e| format!("{}: {e}", p.display()))?);
            } else {
                files.push(p.clone());
            }
        }
    }
    let seed_count = if o.mode == "random" {
        Some(seed_and_count(&o)?)
    } else {
        None
    };

    // Keep the server alive until the end; dropping it shuts it down.
    let server;
    let mut redis = match &o.redis {
        Some(addr) => TcpTarget::new("redis", addr),
        None => {
            server = RedisServer::start().map_err(|e| e.to_string())?;
            TcpTarget::new("redis", server.addr())
        }
    };
    let mut engine: Box<dyn Target> = match &o.cachelab {
        Some(addr) => Box::new(TcpTarget::new("cachelab", addr)),
        None => Box::new(EngineTarget::new()),
    };

    let mut reports: Vec<FileReport> = Vec::new();
    if let Some((seed, count)) = seed_count {
        reports.push(run_random(seed, count, &table, &mut redis, engine.as_mut()));
        print!("{}", reports[0].render(o.show));
    }
    for f in &files {
        let name = f.display().to_string();
        let report = run_file(f, &name, &mut redis, engine.as_mut());
        print!("{}", report.render(o.show));
        reports.push(report);
    }
    if reports.len() > 1 {
        let failed = reports.iter().filter(|r| !r.passed()).count();
        let mismatches: usize = reports.iter().map(|r| r.mismatches.len()).sum();
        println!(
            "{} files, {failed} failed, {mismatches} mismatches in all",
            reports.len()
        );
    }
    if let Some(fatal) = reports.iter().find_map(|r| r.fatal.clone()) {
        if reports.iter().all(|r| r.fatal.is_some()) {
            return Err(fatal);
        }
    }
    Ok(reports.iter().all(FileReport::passed))
}

fn seed_and_count(o: &Options) -> Result<(u64, usize), String> {
    let seed = o.seed.ok_or("--seed is required")?;
    let count = o.count.ok_or("--count is required")?;
    Ok((seed, count))
}
