//! Guided scenarios: everyday Redis patterns as lessons that play on the engine.
//!
//! ```text
//! static/scenarios/*.scn ──► parse (errors by file and line) ──► Scenario
//!                                                                  │
//!             ┌──────────────────────── run::play_step ◄───────────┘
//!             │   commands from named clients, waits on the virtual clock, expectations,
//!             │   checks, engine-only actions (crashes, clock drift, instances down)
//!             ▼
//!        Target ──┬── EngineTarget: the engine, one per instance (Player, `scenario check`)
//!                 │   (or, for `cluster: N`, cluster::ClusterTarget: the engine's cluster)
//!                 ├── net::RedisTarget: a real Redis over TCP, real waits (`scenario replay`)
//!                 └── net::RedisClusterTarget: a real Redis Cluster, redirections followed
//! ```
//!
//! The format is documented for authors in `static/scenarios/README.md`. Everything here is
//! pure (no clock, no I/O) except `net`, which the browser build leaves out.

pub mod cluster;
pub mod format;
pub mod parse;
pub mod player;
pub mod replay;
pub mod resp;
pub mod run;
pub mod target;
pub mod template;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
#[cfg(not(target_arch = "wasm32"))]
pub mod net;

pub use format::{Capability, Scenario, Sender, Step, StepKind};
pub use parse::{parse, parse_bytes, ParseError};
pub use player::Player;
pub use replay::Report;
pub use run::{ActionOutcome, CheckResult, StepOutcome};
pub use target::{engine_has, EngineTarget, Target};
/// The scenarios shipped with Cachelab, embedded so that the browser needs no file access:
/// (file name, text).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "cache-aside.scn",
        include_str!("../../../static/scenarios/cache-aside.scn"),
    ),
    (
        "fixed-window.scn",
        include_str!("../../../static/scenarios/fixed-window.scn"),
    ),
    (
        "sliding-window.scn",
        include_str!("../../../static/scenarios/sliding-window.scn"),
    ),
    (
        "token-bucket.scn",
        include_str!("../../../static/scenarios/token-bucket.scn"),
    ),
    (
        "lock.scn",
        include_str!("../../../static/scenarios/lock.scn"),
    ),
    (
        "redlock.scn",
        include_str!("../../../static/scenarios/redlock.scn"),
    ),
    (
        "leaderboard.scn",
        include_str!("../../../static/scenarios/leaderboard.scn"),
    ),
    (
        "session.scn",
        include_str!("../../../static/scenarios/session.scn"),
    ),
    (
        "eviction.scn",
        include_str!("../../../static/scenarios/eviction.scn"),
    ),
    (
        "expiry.scn",
        include_str!("../../../static/scenarios/expiry.scn"),
    ),
    (
        "pubsub-streams.scn",
        include_str!("../../../static/scenarios/pubsub-streams.scn"),
    ),
    (
        "persistence.scn",
        include_str!("../../../static/scenarios/persistence.scn"),
    ),
    ("lua.scn", include_str!("../../../static/scenarios/lua.scn")),
    (
        "cluster-hashtags.scn",
        include_str!("../../../static/scenarios/cluster-hashtags.scn"),
    ),
    (
        "cluster-resharding.scn",
        include_str!("../../../static/scenarios/cluster-resharding.scn"),
    ),
    (
        "cluster-failover.scn",
        include_str!("../../../static/scenarios/cluster-failover.scn"),
    ),
    (
        "cluster-hotkey.scn",
        include_str!("../../../static/scenarios/cluster-hotkey.scn"),
    ),
];
