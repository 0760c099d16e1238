//! What happened inside the engine, for people to see (DESIGN.md invariant 5).
//!
//! Replies say what a command answered; events say what the engine did, including the things no
//! reply mentions: a key expired by the active cycle while nobody was looking, the keys that cycle
//! sampled, a value whose encoding changed. The UI draws from replies and events alone.

use crate::ClientId;

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A key was changed by a command. `op` is the name Redis gives the change in keyspace
    /// notifications: `set`, `del`, `expire`, `incrby`, `append`, `rename_from`, `rename_to`...
    Keyspace {
        db: usize,
        key: Vec<u8>,
        op: &'static str,
    },
    /// A key was removed because its time to live had passed.
    Expired {
        db: usize,
        key: Vec<u8>,
        by: ExpiredBy,
    },
    /// One run of the active expire cycle, with what it looked at.
    ExpireCycle(ExpireCycleReport),
    /// A whole database (or all of them, `db: None`) was emptied.
    Flushed {
        db: Option<usize>,
    },
    ClientConnected {
        client: ClientId,
    },
    ClientClosed {
        client: ClientId,
    },
    ConfigChanged {
        name: String,
        value: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiredBy {
    /// Found expired when a command touched it.
    Lazy,
    /// Found expired by the active expire cycle's sampling.
    Active,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleKind {
    /// Run from the server cron, `hz` times per second, with a budget of 25% of a tick.
    Slow,
    /// Run between commands (Redis's `beforeSleep`), at most 1 ms of work, only when the last
    /// cycle ran out of time or too many sampled keys were stale.
    Fast,
}

/// What one active expire cycle did in one database pass.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpireCycleReport {
    pub kind: CycleKind,
    pub db: usize,
    /// Every key with a TTL that the cycle examined, in order, and whether it was expired.
    pub sampled: Vec<(Vec<u8>, bool)>,
    /// How many sampling loops (of up to 20 keys each) ran before the stale share fell to 10%
    /// or the time budget ran out.
    pub loops: u32,
    pub expired: usize,
    /// True when the cycle stopped because its (virtual) time budget ran out.
    pub time_limit_hit: bool,
    /// Redis's running estimate of the share of keys that are expired but not yet removed.
    pub stale_estimate: f64,
}
