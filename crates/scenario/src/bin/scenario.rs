//! `scenario check FILE...`: parses scenario files and plays them on the engine.
//! `scenario replay FILE... [--url redis://127.0.0.1:6379] [--cluster-url redis://HOST:PORT]
//! [--flush]`: plays them on a real Redis (cluster scenarios on a Redis Cluster) with real waits,
//! skipping engine-only steps and what the engine-only requirements cover.
//!
//! Exit status: 0 when every file passed (skips are notes, not failures), 1 when one failed,
//! 2 on a usage error.

// The browser build has no files, sockets or clock: the tool is native only.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    native::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::process::ExitCode;

    use cachelab_engine::Config;
    use cachelab_scenario::net::{ReplayOptions, REPLAY_OPTIONS_USAGE};
    use cachelab_scenario::{parse::render_errors, parse_bytes, replay, EngineTarget, Scenario};

    const USAGE: &str = "\
usage:
  scenario check FILE...          parse, then play on the engine
  scenario replay FILE... [OPTIONS]
                                  play on a real Redis; options:";

    fn load(path: &str) -> Result<Scenario, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: cannot read: {e}"))?;
        parse_bytes(path, &bytes).map_err(|errors| render_errors(&errors))
    }

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let Some(mode) = args.first().map(String::as_str) else {
            eprintln!("{USAGE}\n{REPLAY_OPTIONS_USAGE}");
            return ExitCode::from(2);
        };
        let mut files = Vec::new();
        let mut options = ReplayOptions::default();
        let mut rest = args[1..].iter();
        while let Some(a) = rest.next() {
            match options.take(a, &mut rest) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    eprintln!("{e}\n{USAGE}\n{REPLAY_OPTIONS_USAGE}");
                    return ExitCode::from(2);
                }
            }
            match a.as_str() {
                "-h" | "--help" => {
                    println!("{USAGE}\n{REPLAY_OPTIONS_USAGE}");
                    return ExitCode::SUCCESS;
                }
                s if s.starts_with("--") => {
                    eprintln!("unknown option {s}\n{USAGE}");
                    return ExitCode::from(2);
                }
                _ => files.push(a.clone()),
            }
        }
        if files.is_empty() || !matches!(mode, "check" | "replay") {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
        if mode == "check" && options.any() {
            eprintln!("--url, --cluster-url and --flush belong to replay\n{USAGE}");
            return ExitCode::from(2);
        }
        if let Err(e) = options.validate() {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        let mut failed = 0;
        for path in &files {
            let scenario = match load(path) {
                Ok(s) => s,
                Err(e) => {
                    println!("{e}");
                    failed += 1;
                    continue;
                }
            };
            let report = if mode == "check" {
                replay::run(&scenario, &mut EngineTarget::new(Config::default()))
            } else {
                match options.target_for(&scenario) {
                    Ok(mut target) => replay::run(&scenario, target.as_mut()),
                    Err(e) => {
                        println!("{e}");
                        failed += 1;
                        continue;
                    }
                }
            };
            print!("{}", report.render());
            if !report.passed() {
                failed += 1;
            }
        }
        println!("{} passed, {} failed", files.len() - failed, failed);
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
