//! Helpers shared by the engine's unit tests.

use crate::{ClientId, Config, Engine, Event, Reply};

/// A fresh engine with the given configuration and one connected client.
pub fn fresh(config: Config) -> (Engine, ClientId) {
    let mut e = Engine::new(config);
    let c = e.connect(0);
    (e, c)
}

/// A fresh engine with the default configuration and one connected client.
pub fn engine() -> (Engine, ClientId) {
    fresh(Config::default())
}

/// The text of an error reply; panics on anything else.
pub fn err(r: Reply) -> String {
    r.error_text()
        .unwrap_or_else(|| panic!("expected an error, got {r:?}"))
        .to_string()
}

/// The value of an integer reply; panics on anything else.
pub fn int_of(r: Reply) -> i64 {
    match r {
        Reply::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// Runs one command written as redis-cli would read it, at t=1000.
pub fn run(e: &mut Engine, c: ClientId, cmd: &str) -> Reply {
    let argv = crate::cli::split_args(cmd).expect("well-formed command");
    let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    e.execute(c, &refs, 1000)
}

/// Keyspace events and encoding changes since the last call, in order, as short strings.
pub fn events(e: &mut Engine) -> Vec<String> {
    e.drain_events()
        .into_iter()
        .filter_map(|ev| match ev {
            Event::Keyspace { key, op, .. } => {
                Some(format!("{op} {}", String::from_utf8_lossy(&key)))
            }
            Event::EncodingChanged { key, from, to, .. } => Some(format!(
                "encoding {} {from}->{to}",
                String::from_utf8_lossy(&key)
            )),
            _ => None,
        })
        .collect()
}
