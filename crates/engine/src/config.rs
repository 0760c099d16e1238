//! The parameters the engine honours, with Redis 7.0's defaults.
//!
//! CONFIG GET/SET reach these through the parameter table in `cmd::config`; the engine reads the
//! typed fields directly.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxmemoryPolicy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl MaxmemoryPolicy {
    /// In the order Redis lists them in its "must be one of" error.
    pub const ALL: [(&'static str, MaxmemoryPolicy); 8] = [
        ("volatile-lru", MaxmemoryPolicy::VolatileLru),
        ("volatile-lfu", MaxmemoryPolicy::VolatileLfu),
        ("volatile-random", MaxmemoryPolicy::VolatileRandom),
        ("volatile-ttl", MaxmemoryPolicy::VolatileTtl),
        ("allkeys-lru", MaxmemoryPolicy::AllkeysLru),
        ("allkeys-lfu", MaxmemoryPolicy::AllkeysLfu),
        ("allkeys-random", MaxmemoryPolicy::AllkeysRandom),
        ("noeviction", MaxmemoryPolicy::NoEviction),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("noeviction")
    }

    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu
        )
    }

    pub fn is_lru(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLru | MaxmemoryPolicy::AllkeysLru
        )
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Seeds the engine's RNG and its hash tables: same seed, same session.
    pub seed: u64,
    /// Number of databases (immutable after start, as in Redis).
    pub databases: usize,
    /// Server cron frequency: active expiry runs this many times per second of virtual time.
    pub hz: i64,
    /// 1..=10: how hard the active expire cycle works (keys per loop, time budget, stale share).
    pub active_expire_effort: i64,
    /// DEBUG SET-ACTIVE-EXPIRE 0 turns the active cycle off, leaving only lazy expiry.
    pub active_expire_enabled: bool,
    pub maxmemory: u64,
    pub maxmemory_policy: MaxmemoryPolicy,
    pub maxmemory_samples: i64,
    pub maxmemory_eviction_tenacity: i64,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    /// Largest string a command may create (SETRANGE, APPEND) and largest bulk the server reads.
    pub proto_max_bulk_len: i64,
    /// Largest query buffer the server keeps for one client before closing it.
    pub client_query_buffer_limit: i64,
    /// The `notify-keyspace-events` flags, in Redis's canonical spelling.
    pub notify_keyspace_events: String,
    /// Encoding thresholds: a hash or sorted set stays a listpack while it has at most this
    /// many entries, each at most `*_value` bytes; a set stays an intset while all its members
    /// are integers and there are at most `set_max_intset_entries`.
    pub hash_max_listpack_entries: i64,
    pub hash_max_listpack_value: i64,
    pub set_max_intset_entries: i64,
    pub zset_max_listpack_entries: i64,
    pub zset_max_listpack_value: i64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    /// A HyperLogLog stays sparse while its string is at most this many bytes.
    pub hll_sparse_max_bytes: i64,
    /// Whether the engine records `Event`s (the playground wants them; a benchmark does not).
    pub record_events: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0x00c0_ffee,
            databases: 16,
            hz: 10,
            active_expire_effort: 1,
            active_expire_enabled: true,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            notify_keyspace_events: String::new(),
            record_events: true,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            hll_sparse_max_bytes: 3000,
        }
    }
}
