//! What happened inside the engine, for people to see (DESIGN.md invariant 5).
//!
//! Replies say what a command answered; events say what the engine did, including the things no
//! reply mentions: a key expired by the active cycle while nobody was looking, the keys that cycle
//! sampled, a value whose encoding changed. The UI draws from replies and events alone.

use crate::types::stream::StreamId;
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
    /// A message was published; `receivers` got it, in delivery order.
    Published {
        channel: Vec<u8>,
        message: Vec<u8>,
        receivers: Vec<ClientId>,
    },
    /// A client subscribed to channels or patterns.
    Subscribed {
        client: ClientId,
        names: Vec<Vec<u8>>,
    },
    /// A value changed its internal encoding (a small hash became a hashtable...).
    EncodingChanged {
        db: usize,
        key: Vec<u8>,
        from: &'static str,
        to: &'static str,
    },
    /// A whole database (or all of them, `db: None`) was emptied.
    Flushed {
        db: Option<usize>,
    },
    ClientConnected {
        client: ClientId,
    },
    /// A blocking command found nothing and parked the client on these keys.
    ClientBlocked {
        client: ClientId,
        db: usize,
        keys: Vec<Vec<u8>>,
        deadline: Option<i64>,
    },
    /// A blocked client was served (its reply is in its outbox) or timed out.
    ClientUnblocked {
        client: ClientId,
        timed_out: bool,
    },
    ClientClosed {
        client: ClientId,
    },
    ConfigChanged {
        name: String,
        value: String,
    },
    /// Stream entries were handed to a consumer of a group (XREADGROUP). `history` is a re-read
    /// of the consumer's own pending entries; `noack` deliveries create no pending entry.
    StreamDelivered {
        db: usize,
        key: Vec<u8>,
        group: Vec<u8>,
        consumer: Vec<u8>,
        ids: Vec<StreamId>,
        history: bool,
        noack: bool,
    },
    /// Pending entries of a group were acknowledged (XACK).
    StreamAcked {
        db: usize,
        key: Vec<u8>,
        group: Vec<u8>,
        ids: Vec<StreamId>,
    },
    /// Pending entries changed owner to `consumer` (XCLAIM, XAUTOCLAIM). `dropped` are pending
    /// entries whose stream entry no longer exists, removed from the group's PEL instead.
    StreamClaimed {
        db: usize,
        key: Vec<u8>,
        group: Vec<u8>,
        consumer: Vec<u8>,
        ids: Vec<StreamId>,
        dropped: Vec<StreamId>,
    },
    /// One round of eviction: a key was deleted to bring memory under `maxmemory`.
    Eviction(EvictionRound),
    /// An RDB snapshot was written (SAVE, a save point, BGSAVE finishing, SHUTDOWN).
    RdbSaved {
        /// When the snapshot's data was taken (a BGSAVE forks before it finishes).
        taken_at: i64,
        keys: usize,
        background: bool,
    },
    /// A BGSAVE (or a save point) started: it forks now and finishes at `done_at`.
    BgsaveStarted {
        done_at: i64,
    },
    /// The append-only file was rewritten from the current data.
    AofRewritten {
        keys: usize,
    },
    /// The server went down and came back, with what it could load.
    Restarted(crate::persistence::RestartReport),
    /// A script called a command (`redis.call`/`redis.pcall`). `sha` is the script's SHA-1 for
    /// EVAL, or the function's name for FCALL; `line` is the script line of the call. Recorded
    /// once the command has run, after the events it caused.
    ScriptCall {
        sha: String,
        line: Option<u32>,
        argv: Vec<Vec<u8>>,
        reply: crate::Reply,
    },
    /// `redis.log`: level 0 (debug), 1 (verbose), 2 (notice) or 3 (warning).
    ScriptLog {
        level: u8,
        message: Vec<u8>,
    },
    /// A script ran past `busy-reply-threshold` (script time): from here Redis answers BUSY to
    /// every other client.
    ScriptBusy {
        sha: String,
        elapsed_ms: u64,
        /// Whether it has written: Redis's SCRIPT KILL only works on one that has not.
        wrote: bool,
    },
    /// A script was stopped (for a FUNCTION LOAD, `sha` is the library's name).
    ScriptStopped {
        sha: String,
        elapsed_ms: u64,
        reason: ScriptStop,
    },
}

/// A key considered for eviction, with its score under the policy: idle milliseconds for LRU,
/// 255 minus the decayed counter for LFU, `u64::MAX` minus the deadline for volatile-ttl (in each
/// case, higher is evicted sooner).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidate {
    pub db: usize,
    pub key: Vec<u8>,
    pub score: u64,
}

/// What one eviction round looked at and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvictionRound {
    /// `allkeys-lru`, `volatile-ttl`...
    pub policy: &'static str,
    /// The keys sampled this round (every database's sample), with their scores.
    pub sampled: Vec<Candidate>,
    /// The pool of best candidates (ascending score, best last) before the samples were merged.
    pub pool_before: Vec<Candidate>,
    /// The pool after the victim was taken out of it.
    pub pool_after: Vec<Candidate>,
    /// The evicted key.
    pub victim: Option<(usize, Vec<u8>)>,
    /// What an exact LRU fed with the same accesses would have evicted instead (only with
    /// `Config::eviction_true_lru`).
    pub true_lru_victim: Option<(usize, Vec<u8>)>,
    pub used_before: u64,
    pub used_after: u64,
    pub maxmemory: u64,
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

/// Why a script was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptStop {
    /// Busy and without writes: stopped as SCRIPT KILL would.
    Killed,
    /// It wrote, then ran past the engine's hard limit.
    HardLimit,
    /// A library's code ran past FUNCTION LOAD's 500 ms.
    LoadTimeout,
}
