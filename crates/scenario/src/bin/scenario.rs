//! `scenario check SCENARIO...`: parses scenarios and plays them on the engine.
//! `scenario replay SCENARIO... [--url redis://127.0.0.1:6379] [--cluster-url redis://HOST:PORT]
//! [--flush] [--engine]`: plays them on a real Redis (cluster scenarios on a Redis Cluster) with
//! real waits, skipping engine-only steps and what the engine-only requirements cover.
//! `cachelab replay` is the same command (`cachelab_scenario::cli`).

// The browser build has no files, sockets or clock: the tool is native only.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::ExitCode::from(cachelab_scenario::cli::main("scenario", &args))
}
