//! Helpers shared by the engine's unit tests.

use crate::{ClientId, Config, Engine, Reply};

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
