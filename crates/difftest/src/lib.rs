//! Differential testing of the engine against a real Redis 7.0.
//!
//! ```text
//! transcript file ──► transcript::parse ──► runner ──┬──► Target "redis"  (redis-server over TCP)
//! gen (seeded)    ──► transcript text   ──┘          └──► Target "engine" (in process, or
//!                                                          `cachelab serve` over TCP)
//!                       reply bytes of both ──► compare ──► report: file:line, command, both replies
//! ```
//!
//! Replies are compared as raw RESP bytes, errors included; a transcript can ask for an
//! array or set reply to be compared as a multiset. Every transcript starts from an empty server
//! and fresh connections.

pub mod cluster;
pub mod compare;
pub mod gen;
pub mod resp;
pub mod runner;
pub mod target;
pub mod transcript;

use std::path::{Path, PathBuf};

pub use cluster::RedisCluster;
pub use runner::{run_transcript, FileReport, Mismatch};
pub use target::{free_ports, EngineTarget, RedisServer, StartError, Target, TcpTarget};

/// The `*.txt` files of a directory, sorted by name.
pub fn transcript_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Reads, parses and runs one transcript file; `name` is how reports call it.
pub fn run_file(
    path: &Path,
    name: &str,
    expected: &mut dyn Target,
    actual: &mut dyn Target,
) -> FileReport {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return FileReport::failed(name, format!("cannot read {}: {e}", path.display())),
    };
    run_text(name, &text, expected, actual)
}

/// Parses and runs transcript text.
pub fn run_text(
    name: &str,
    text: &str,
    expected: &mut dyn Target,
    actual: &mut dyn Target,
) -> FileReport {
    match transcript::parse(name, text) {
        Ok(t) => run_transcript(&t, expected, actual),
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(|e| format!("{name}:{e}")).collect();
            FileReport::failed(name, format!("malformed transcript:\n{}", list.join("\n")))
        }
    }
}

/// The name a generated sequence goes by in reports: its line numbers are those of
/// `difftest gen` with the same arguments.
pub fn random_name(seed: u64, count: usize) -> String {
    format!("random(seed {seed}, count {count})")
}

/// The transcript text of a generated sequence.
pub fn random_text(seed: u64, count: usize, table: &[&gen::Spec]) -> String {
    let steps = gen::generate(seed, count, table);
    gen::to_transcript(
        &format!("difftest gen --seed {seed} --count {count}"),
        &steps,
    )
}

/// Generates the sequence for `seed` and runs it.
pub fn run_random(
    seed: u64,
    count: usize,
    table: &[&gen::Spec],
    expected: &mut dyn Target,
    actual: &mut dyn Target,
) -> FileReport {
    run_text(
        &random_name(seed, count),
        &random_text(seed, count, table),
        expected,
        actual,
    )
}
