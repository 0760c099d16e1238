//! The engine against a real Redis 7.0: every transcript of `tests/transcripts` and a few
//! generated sequences, replies compared byte for byte.
//!
//! Needs `redis-server` on PATH (the project's setup installs it). Without it these tests fail,
//! unless `CACHELAB_SKIP_REDIS=1` says to skip them.

use std::path::PathBuf;

use cachelab_difftest::{
    gen, run_file, run_random, transcript_files, EngineTarget, FileReport, RedisServer, TcpTarget,
};

/// Seeds and length of the generated sequences run on every `cargo test`.
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
const COUNT: usize = 2000;
/// Mismatches shown per generated sequence in a failure message (once two sides diverge on a
/// sequence, later replies tend to differ too); a transcript's are all shown.
const SHOW_RANDOM: usize = 25;

fn skip_requested() -> bool {
    std::env::var("CACHELAB_SKIP_REDIS").is_ok_and(|v| v == "1")
}

/// A fresh redis-server, or None when the environment asks to skip.
fn redis() -> Option<RedisServer> {
    if skip_requested() {
        eprintln!("CACHELAB_SKIP_REDIS=1: skipping the differential tests against redis-server");
        return None;
    }
    match RedisServer::start() {
        Ok(server) => Some(server),
        Err(e) => panic!("cannot start redis-server: {e}"),
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fail_on(reports: &[FileReport], what: &str) {
    let failed: Vec<&FileReport> = reports.iter().filter(|r| !r.passed()).collect();
    if failed.is_empty() {
        return;
    }
    let mut msg = format!(
        "{what}: {} of {} runs disagree\n\n",
        failed.len(),
        reports.len()
    );
    for r in &failed {
        let limit = if r.file.starts_with("random(") {
            SHOW_RANDOM
        } else {
            0
        };
        msg.push_str(&r.render(limit));
        msg.push('\n');
    }
    msg.push_str("(replay one with `cargo run -p cachelab-difftest -- PATH` or `... -- random --seed S --count N`)\n");
    panic!("{msg}");
}

#[test]
fn engine_agrees_with_redis_on_transcripts_and_generated_sequences() {
    let Some(server) = redis() else { return };
    let mut redis = TcpTarget::new("redis", server.addr());
    let mut engine = EngineTarget::new();

    let root = repo_root();
    let dir = root.join("tests/transcripts");
    let files =
        transcript_files(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());

    let mut reports = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        reports.push(run_file(path, &name, &mut redis, &mut engine));
    }
    let table = gen::select(&[]).expect("full table");
    for seed in SEEDS {
        reports.push(run_random(seed, COUNT, &table, &mut redis, &mut engine));
    }
    for r in &reports {
        eprintln!("{}", r.summary());
    }
    fail_on(&reports, "engine vs redis-server");
}

/// The generator must not produce commands whose replies may differ between two correct
/// servers (relative TTLs read back, hash order): two real Redis servers must agree on them.
#[test]
fn two_redis_servers_agree_on_generated_sequences() {
    let Some(first) = redis() else { return };
    let Some(second) = redis() else { return };
    let mut a = TcpTarget::new("redis", first.addr());
    let mut b = TcpTarget::new("redis-2", second.addr());
    let table = gen::select(&[]).expect("full table");
    let reports: Vec<FileReport> = (100..103)
        .map(|seed| run_random(seed, COUNT, &table, &mut a, &mut b))
        .collect();
    fail_on(&reports, "redis-server vs redis-server");
}
