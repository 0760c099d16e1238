//! Small readings of sent commands and replies shared by the views of the cache-aside, expiry,
//! eviction, persistence, pub/sub-and-streams and Lua lessons.

use cachelab_engine::Reply;
use cachelab_scenario::run::START_MS;

/// A command's name in upper case (`GET`), or empty for an empty argv.
pub fn name(argv: &[Vec<u8>]) -> String {
    argv.first()
        .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
        .unwrap_or_default()
}

/// Bytes as text for display.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The argument at `i` as text, if there is one.
pub fn arg(argv: &[Vec<u8>], i: usize) -> Option<String> {
    argv.get(i).map(|a| text(a))
}

/// Milliseconds since the lesson's time zero.
pub fn since_start(now: i64) -> i64 {
    now - START_MS
}

/// The first frame of a reply (the command's own answer; later frames are pushes).
pub fn first(frames: &[Reply]) -> Option<&Reply> {
    frames.first()
}

/// Whether the reply is a nil (a miss for GET, a refusal for SET NX).
pub fn is_nil(frames: &[Reply]) -> bool {
    matches!(first(frames), Some(Reply::Nil | Reply::NilArray))
}

pub fn is_error(frames: &[Reply]) -> bool {
    first(frames).is_some_and(Reply::is_error)
}

/// Whether an option word (`NX`, `PX`...) is among the arguments after the key.
pub fn has_word(argv: &[Vec<u8>], word: &str) -> bool {
    argv.iter()
        .skip(2)
        .any(|a| a.eq_ignore_ascii_case(word.as_bytes()))
}

/// The argument after an option word, parsed as a number.
pub fn option_value(argv: &[Vec<u8>], word: &str) -> Option<i64> {
    let i = argv
        .iter()
        .skip(2)
        .position(|a| a.eq_ignore_ascii_case(word.as_bytes()))?;
    std::str::from_utf8(argv.get(i + 3)?).ok()?.parse().ok()
}

pub use super::calls::show_ms;

#[cfg(test)]
pub mod testing {
    use cachelab_scenario::Player;

    use crate::model::lesson::{engine_config, shipped};

    /// The shipped lesson `id`, played through its first `steps` steps as the playground plays
    /// it.
    pub fn played_to(id: &str, steps: usize) -> Player {
        let scenario = shipped()
            .into_iter()
            .find(|s| s.id == id)
            .expect("a shipped lesson");
        let config = engine_config(&scenario);
        let mut player = Player::new(scenario, config);
        for _ in 0..steps {
            player.step_forward();
        }
        assert_eq!(player.position(), steps, "the lesson has {steps} steps");
        player
    }
}
