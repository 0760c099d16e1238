//! The pattern views' data. Each lesson names a view (`view: leaderboard`); the view is drawn
//! from what the lesson has played so far (replies and events, never the engine's internals:
//! DESIGN.md invariant 5), by a pure function from the played actions to a plain struct, so
//! that what a view shows is tested natively and the component only draws it.

pub mod calls;
pub mod cluster;
pub mod fixed_window;
pub mod leaderboard;
pub mod lock;
pub mod redlock;
pub mod session;
pub mod sliding_window;
pub mod token_bucket;

use cachelab_scenario::{ActionOutcome, Player};

/// One action the lesson has played, in order: the scenario's own and the learner's.
#[derive(Clone, Copy, Debug)]
pub struct Played<'a> {
    /// The position at which it was played: 1 for the first step's actions, and the position
    /// the learner was at for their own commands.
    pub position: usize,
    pub action: &'a ActionOutcome,
}

/// Every action played up to the player's position, the learner's own commands in their place.
pub fn played(player: &Player) -> Vec<Played<'_>> {
    let owns = player.all_own_outcomes();
    let mut out = Vec::new();
    for p in 0..=player.position() {
        let steps = p
            .checked_sub(1)
            .and_then(|i| player.outcome(i))
            .map(|o| o.actions.as_slice())
            .unwrap_or(&[]);
        let own = owns.get(p).map(Vec::as_slice).unwrap_or(&[]);
        out.extend(steps.iter().chain(own).map(|action| Played {
            position: p,
            action,
        }));
    }
    out
}

pub mod cache_aside;
pub mod eviction;
pub mod expiry;
pub mod kit;
pub mod lua;
pub mod persistence;
pub mod pubsub_streams;
