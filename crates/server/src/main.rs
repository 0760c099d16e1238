//! `cachelab`: a RESP server (`cachelab serve`) and a local console (`cachelab`) over the
//! Cachelab engine, and `cachelab replay`, which plays guided scenarios against a real Redis or
//! the engine (the scenario crate's command line, `cachelab_scenario::cli`).

mod alloc;
mod cluster_server;
mod conn;
mod repl;
mod resp;
mod server;

use std::process::ExitCode;

// Every element of an array reply is a small allocation that lives until the reply is encoded:
// glibc's malloc spent close to half of LRANGE 0 99's instructions in allocating, freeing and
// consolidating them. Redis links jemalloc for the same kind of load.
#[global_allocator]
static ALLOCATOR: alloc::MiMalloc = alloc::MiMalloc;

const USAGE: &str = "\
Usage:
  cachelab [repl] [--seed N]     console on an engine inside this process (the default)
  cachelab serve [OPTIONS]       serve RESP2/RESP3 clients (redis-cli, redis-benchmark, any
                                 Redis client library) over TCP
  cachelab replay SCENARIO... [--url redis://HOST:PORT] [--flush] [--engine]
                                 play scenarios (.scn files or shipped lesson ids such as
                                 lock) against a real Redis, or the engine with --engine;
                                 see cachelab replay --help
  cachelab --help | --version

Options:
  --bind ADDR   address to listen on (serve; default 127.0.0.1)
  --port N      TCP port, 0 to let the system pick one (serve; default 6379)
  --seed N      seed of the engine's random choices and hash tables (default 12648430)
  --hz N        server cron runs per second, 1 to 500 (serve; default 10)
  --cluster N   serve a Redis Cluster of N masters instead, one node per port from --port
                on (serve; the slots are split evenly, as redis-cli --cluster create does)
  --replicas N  give each master of --cluster N replicas, on the ports that follow (serve)

The console reads commands as redis-cli does (quotes and escapes included) and prints replies
the same way; quit, exit or end of input leave it. Time is the wall clock in both modes.
In the console, :bigkeys and :memkeys print the biggest key of each type (by element count,
by memory), as redis-cli --bigkeys and --memkeys summarize them. At a terminal, the console
also points out Redis anti-patterns (a cache key without a TTL, KEYS on a large keyspace...).";

#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Version,
    Repl {
        seed: u64,
    },
    Serve(server::Options),
    ServeCluster(server::Options, cluster_server::ClusterOptions),
    /// The arguments after `replay`, for the scenario crate's parser.
    Replay(Vec<String>),
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let defaults = cachelab_engine::Config::default();
    let mut opts = server::Options {
        bind: "127.0.0.1".into(),
        port: 6379,
        seed: defaults.seed,
        hz: defaults.hz,
    };
    let mut masters: Option<usize> = None;
    let mut replicas: Option<usize> = None;
    let mut args = args.iter().map(String::as_str).peekable();
    let serve = match args.peek().copied() {
        Some("serve") => {
            args.next();
            true
        }
        Some("repl") => {
            args.next();
            false
        }
        Some("replay") => {
            args.next();
            return Ok(Command::Replay(args.map(String::from).collect()));
        }
        _ => false,
    };
    while let Some(arg) = args.next() {
        if matches!(arg, "-h" | "--help" | "help") {
            return Ok(Command::Help);
        }
        if matches!(arg, "-v" | "-V" | "--version") {
            return Ok(Command::Version);
        }
        let (name, inline_value) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (arg, None),
        };
        let known = if serve {
            &[
                "--bind",
                "--port",
                "--seed",
                "--hz",
                "--cluster",
                "--replicas",
            ][..]
        } else {
            &["--seed"][..]
        };
        if !known.contains(&name) {
            return Err(if name.starts_with('-') {
                format!(
                    "unknown option '{name}'{}",
                    if serve { "" } else { " for the console" }
                )
            } else {
                format!("unexpected argument '{name}'")
            });
        }
        let value = match inline_value {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name {
            "--bind" => opts.bind = value.to_string(),
            "--port" => {
                opts.port = value.parse().map_err(|_| {
                    format!("invalid port '{value}': expected a number from 0 to 65535")
                })?
            }
            "--seed" => {
                opts.seed = value.parse().map_err(|_| {
                    format!(
                        "invalid seed '{value}': expected a number from 0 to {}",
                        u64::MAX
                    )
                })?
            }
            "--hz" => {
                opts.hz = value
                    .parse()
                    .ok()
                    .filter(|hz| (1..=500).contains(hz))
                    .ok_or_else(|| {
                        format!("invalid hz '{value}': expected a number from 1 to 500")
                    })?
            }
            "--cluster" => {
                masters = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| {
                            format!(
                                "invalid cluster size '{value}': expected a number from 1 to 100"
                            )
                        })?,
                )
            }
            "--replicas" => {
                replicas = Some(value.parse().ok().filter(|n| *n <= 10).ok_or_else(|| {
                    format!("invalid replica count '{value}': expected a number from 0 to 10")
                })?)
            }
            _ => unreachable!("filtered by `known`"),
        }
    }
    Ok(if let Some(masters) = masters {
        Command::ServeCluster(
            opts,
            cluster_server::ClusterOptions {
                masters,
                replicas_per_master: replicas.unwrap_or(0),
            },
        )
    } else if replicas.is_some() {
        return Err("--replicas needs --cluster".into());
    } else if serve {
        Command::Serve(opts)
    } else {
        Command::Repl { seed: opts.seed }
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cachelab: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Replay(rest) => {
            let mut args = vec!["replay".to_string()];
            args.extend(rest);
            return ExitCode::from(cachelab_scenario::cli::main("cachelab", &args));
        }
        Command::Help => {
            println!(
                "cachelab {}: Redis 7.0 semantics on the Cachelab engine\n\n{USAGE}",
                env!("CARGO_PKG_VERSION")
            );
            Ok(())
        }
        Command::Version => {
            println!("cachelab {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Repl { seed } => repl::run(seed),
        Command::Serve(opts) => serve(&opts),
        Command::ServeCluster(opts, shape) => serve_cluster(&opts, &shape),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cachelab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(opts: &server::Options) -> std::io::Result<()> {
    use std::io::Write;
    let mut server = server::Server::bind(opts).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {}:{}: {e}", opts.bind, opts.port),
        )
    })?;
    // Scripts and tests wait for this line, and read the port from it when it was 0.
    println!(
        "cachelab {} listening on {} (seed {}, hz {})",
        env!("CARGO_PKG_VERSION"),
        server.local_addr(),
        opts.seed,
        opts.hz
    );
    std::io::stdout().flush()?;
    server.run()
}

fn serve_cluster(
    opts: &server::Options,
    shape: &cluster_server::ClusterOptions,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut server = cluster_server::ClusterServer::bind(opts, shape)?;
    let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    // Scripts and tests wait for this line, and read the ports from it.
    println!(
        "cachelab {} cluster listening on {} ({} masters, {} replicas each, seed {}, hz {})",
        env!("CARGO_PKG_VERSION"),
        addrs.join(" "),
        shape.masters,
        shape.replicas_per_master,
        opts.seed,
        opts.hz
    );
    std::io::stdout().flush()?;
    server.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn command_line() {
        assert_eq!(parse(&[]), Ok(Command::Repl { seed: 0x00c0_ffee }));
        assert_eq!(
            parse(&["repl", "--seed", "7"]),
            Ok(Command::Repl { seed: 7 })
        );
        assert_eq!(parse(&["--version"]), Ok(Command::Version));
        assert_eq!(parse(&["serve", "--help"]), Ok(Command::Help));
        let Ok(Command::Serve(o)) = parse(&[
            "serve", "--port=0", "--bind", "::1", "--hz", "100", "--seed", "3",
        ]) else {
            panic!("serve options not parsed")
        };
        assert_eq!((o.bind.as_str(), o.port, o.hz, o.seed), ("::1", 0, 100, 3));
        let Ok(Command::Serve(o)) = parse(&["serve"]) else {
            panic!("serve not parsed")
        };
        assert_eq!((o.bind.as_str(), o.port, o.hz), ("127.0.0.1", 6379, 10));
        assert_eq!(
            parse(&["serve", "--port", "70000"]).unwrap_err(),
            "invalid port '70000': expected a number from 0 to 65535"
        );
        assert_eq!(
            parse(&["serve", "--port", "x"]).unwrap_err(),
            "invalid port 'x': expected a number from 0 to 65535"
        );
        assert_eq!(
            parse(&["serve", "--port"]).unwrap_err(),
            "--port needs a value"
        );
        assert_eq!(
            parse(&["serve", "--hz", "0"]).unwrap_err(),
            "invalid hz '0': expected a number from 1 to 500"
        );
        assert_eq!(
            parse(&["serve", "--frob"]).unwrap_err(),
            "unknown option '--frob'"
        );
        assert_eq!(
            parse(&["--port", "1"]).unwrap_err(),
            "unknown option '--port' for the console"
        );
        assert_eq!(
            parse(&["serve", "extra"]).unwrap_err(),
            "unexpected argument 'extra'"
        );
        let Ok(Command::ServeCluster(o, shape)) =
            parse(&["serve", "--cluster", "3", "--port", "7000", "--replicas=1"])
        else {
            panic!("cluster serve not parsed")
        };
        assert_eq!(
            (o.port, shape.masters, shape.replicas_per_master),
            (7000, 3, 1)
        );
        assert_eq!(
            parse(&["serve", "--cluster", "0"]).unwrap_err(),
            "invalid cluster size '0': expected a number from 1 to 100"
        );
        assert_eq!(
            parse(&["serve", "--replicas", "1"]).unwrap_err(),
            "--replicas needs --cluster"
        );
        assert_eq!(
            parse(&["replay", "lock", "--engine"]),
            Ok(Command::Replay(vec!["lock".into(), "--engine".into()]))
        );
    }
}
