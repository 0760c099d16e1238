//! Engine-level tests on the virtual clock. Command-by-command behaviour is covered by the
//! differential transcripts against a real Redis; these tests cover what a transcript cannot:
//! time, events and determinism.

use crate::*;

#[test]
fn set_then_get() {
    let mut e = Engine::new(Config::default());
    let c = e.connect(0);
    assert_eq!(e.run(c, &["SET", "k", "v"], 0), Reply::OK);
    assert_eq!(e.run(c, &["GET", "k"], 0), Reply::bulk("v"));
    assert_eq!(e.run(c, &["GET", "missing"], 0), Reply::Nil);
}

#[test]
fn unknown_command_and_arity_errors_match_redis() {
    let mut e = Engine::new(Config::default());
    let c = e.connect(0);
    assert_eq!(
        e.run(c, &["FOO", "a", "b"], 0),
        Reply::error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        e.run(c, &["GET"], 0),
        Reply::error("ERR wrong number of arguments for 'get' command")
    );
}
