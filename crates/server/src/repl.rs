//! The local console: redis-cli's look and feel over an engine in this process.
//!
//! Lines are split as redis-cli splits them and replies printed as redis-cli prints them on a
//! terminal. The engine's clock is the wall clock, so TTLs run out in real time. With a terminal
//! on stdin the console shows a prompt; fed from a pipe it just answers line by line.
//!
//! Two console commands are not Redis commands, hence the colon: `:bigkeys` and `:memkeys` print
//! the summary `redis-cli --bigkeys` / `--memkeys` prints, the biggest key of each type by
//! element count or by memory, computed over the whole keyspace of the engine in this process.
//!
//! At a terminal the console also gives the playground's advice (`cachelab_engine::advisor`):
//! after a reply, a note when the command showed an anti-pattern (a cache key without a TTL,
//! KEYS on a large keyspace, a check-then-set...). Fed from a pipe it stays quiet, so that its
//! output is exactly redis-cli's.

use std::io::{self, BufRead, IsTerminal, Write};

use std::time::Duration;

use cachelab_engine::advisor::{Advice, Advisor, Seen};
use cachelab_engine::{to_cli_text, ClientId, Config, Engine};

use crate::resp::split_inline;
use crate::server::now_ms;

pub fn run(seed: u64) -> io::Result<()> {
    let interactive = io::stdin().is_terminal();
    // The advisor reads the events a command caused; a pipe, which gets no advice, pays nothing.
    let config = Config {
        seed,
        record_events: interactive,
        ..Config::default()
    };
    let mut engine = Engine::new_at(config, now_ms());
    let client = engine.connect(now_ms());
    if let Some(c) = engine.client_mut(client) {
        c.addr = "console".into();
    }
    let mut advisor = Advisor::new();
    let mut input = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut line = Vec::new();
    loop {
        if interactive {
            let db = engine.client(client).map_or(0, |c| c.db);
            let prompt = if db == 0 {
                "cachelab> ".to_string()
            } else {
                format!("cachelab[{db}]> ")
            };
            stdout.write_all(prompt.as_bytes())?;
            stdout.flush()?;
        }
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            if interactive {
                writeln!(stdout)?;
            }
            return Ok(());
        }
        let Some(args) = split_inline(&line) else {
            writeln!(stdout, "Invalid argument(s)")?;
            continue;
        };
        let Some(first) = args.first() else { continue };
        if first.eq_ignore_ascii_case(b"quit") || first.eq_ignore_ascii_case(b"exit") {
            return Ok(());
        }
        if let Some(text) = console_command(&mut engine, &args) {
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            continue;
        }
        let now = now_ms();
        // Time has passed since the last line: let the cron catch up before the command runs.
        engine.advance(now);
        // What the cron did is not the command's doing.
        engine.drain_events();
        let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let reply = engine.execute(client, &argv, now);
        let events = engine.drain_events();
        // Messages this client published to itself come first, as on a socket.
        for pushed in engine.take_output(client) {
            stdout.write_all(to_cli_text(&pushed).as_bytes())?;
        }
        stdout.write_all(to_cli_text(&reply).as_bytes())?;
        if interactive {
            let seen = Seen {
                client,
                argv: &args,
                reply: &reply,
                events: &events,
            };
            if let Some(advice) = advisor.observe(&engine, seen) {
                stdout.write_all(advice_text(&advice).as_bytes())?;
            }
        }
        stdout.flush()?;
        wait_while_blocked(&mut engine, client, &mut stdout)?;
        if engine.should_close(client) {
            return Ok(());
        }
    }
}

/// A note as the console prints it, set off from the replies.
fn advice_text(a: &Advice) -> String {
    format!(
        "  advice ({}): {}\n    {}\n    Better: {}\n",
        a.kind.name(),
        a.title,
        a.detail,
        a.better
    )
}

/// The console's own commands (a leading colon keeps them apart from Redis's names); `None`
/// for a line that is a Redis command.
fn console_command(engine: &mut Engine, args: &[Vec<u8>]) -> Option<String> {
    let name = args.first()?;
    let by_memory = if name.eq_ignore_ascii_case(b":bigkeys") {
        false
    } else if name.eq_ignore_ascii_case(b":memkeys") {
        true
    } else {
        return None;
    };
    if args.len() > 1 {
        return Some(format!(
            "(error) {} takes no arguments\n",
            String::from_utf8_lossy(name)
        ));
    }
    // Keys whose time ran out while the console sat idle are not reported as live.
    engine.advance(now_ms());
    Some(engine.big_keys(by_memory).to_text(by_memory))
}

/// A blocking command (BLPOP and friends) that found nothing waits for its timeout, as
/// redis-cli waits for the reply; no other client can serve it here. A timeout of 0 waits until
/// the console is interrupted, as with redis-cli.
fn wait_while_blocked(
    engine: &mut Engine,
    client: ClientId,
    out: &mut impl Write,
) -> io::Result<()> {
    while engine.is_blocked(client) {
        let deadline = engine
            .client(client)
            .and_then(|c| c.blocked.as_ref()?.deadline);
        let now = now_ms();
        // The engine times a client out once now is past the deadline.
        let wait = deadline.map_or(100, |d| (d + 1 - now).clamp(0, 100));
        std::thread::sleep(Duration::from_millis(wait as u64));
        engine.advance(now_ms());
        for reply in engine.take_output(client) {
            out.write_all(to_cli_text(&reply).as_bytes())?;
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachelab_engine::Reply;

    #[test]
    fn advice_reads_as_a_note_after_the_reply() {
        let mut engine = Engine::new(Config {
            record_events: true,
            ..Config::default()
        });
        let client = engine.connect(0);
        let mut advisor = Advisor::new();
        let args: Vec<Vec<u8>> = ["SET", "x", "1"]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let reply = engine.execute(client, &argv, 0);
        assert_eq!(reply, Reply::OK);
        let events = engine.drain_events();
        let seen = Seen {
            client,
            argv: &args,
            reply: &reply,
            events: &events,
        };
        let advice = advisor
            .observe(&engine, seen)
            .expect("a note on the bare name");
        let text = advice_text(&advice);
        assert!(
            text.starts_with("  advice (namespace): Key 'x' has no namespace\n"),
            "{text}"
        );
        assert!(text.contains("    Better: "), "{text}");
    }
}
