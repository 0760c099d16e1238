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

/// How often an append-only file would be fsynced (`appendfsync`). The engine writes no file;
/// the setting is kept so that CONFIG GET/SET answer as Redis does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    Everysec,
    Always,
    No,
}

impl AppendFsync {
    /// In the order Redis lists them in its "must be one of" error.
    pub const ALL: [(&'static str, AppendFsync); 3] = [
        ("everysec", AppendFsync::Everysec),
        ("always", AppendFsync::Always),
        ("no", AppendFsync::No),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("everysec")
    }
}

/// Keyspace notification classes, as bits (Redis's `NOTIFY_*`).
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    /// `m`: not part of `A`, since a miss changes nothing.
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 13; // d
    /// `n`: not part of `A` either.
    pub const NEW: u32 = 1 << 14;
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// The classes named by `s`, or None when it holds a character that names no class.
    pub fn parse(s: &[u8]) -> Option<u32> {
        let mut flags = 0;
        for &c in s {
            flags |= match c {
                b'A' => ALL,
                b'g' => GENERIC,
                b'$' => STRING,
                b'l' => LIST,
                b's' => SET,
                b'h' => HASH,
                b'z' => ZSET,
                b'x' => EXPIRED,
                b'e' => EVICTED,
                b'K' => KEYSPACE,
                b'E' => KEYEVENT,
                b't' => STREAM,
                b'm' => KEY_MISS,
                b'd' => MODULE,
                b'n' => NEW,
                _ => return None,
            };
        }
        Some(flags)
    }

    /// The spelling CONFIG GET shows: `A` when every class of `A` is on (which then hides `n`,
    /// as in Redis), otherwise the class letters in a fixed order; then `K`, `E`, `m`.
    pub fn canonical(flags: u32) -> String {
        let mut s = String::new();
        if flags & ALL == ALL {
            s.push('A');
        } else {
            let classes = [
                (GENERIC, 'g'),
                (STRING, '$'),
                (LIST, 'l'),
                (SET, 's'),
                (HASH, 'h'),
                (ZSET, 'z'),
                (EXPIRED, 'x'),
                (EVICTED, 'e'),
                (STREAM, 't'),
                (MODULE, 'd'),
                (NEW, 'n'),
            ];
            s.extend(
                classes
                    .iter()
                    .filter(|(bit, _)| flags & bit != 0)
                    .map(|(_, c)| *c),
            );
        }
        let targets = [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')];
        s.extend(
            targets
                .iter()
                .filter(|(bit, _)| flags & bit != 0)
                .map(|(_, c)| *c),
        );
        s
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
    /// The same flags as bits (`config::notify`); the string alone can hide `n` behind `A`.
    pub notify_keyspace_flags: u32,
    /// Client eviction limit: bytes, or a percentage of maxmemory stored negated (Redis's
    /// `maxmemory-clients`, where `10%` is kept as -10).
    pub maxmemory_clients: i64,
    /// RDB snapshot points as `seconds changes` pairs in CONFIG GET's spelling. Snapshots are
    /// simulated on the virtual clock (`persistence`).
    pub save: String,
    /// `appendonly`: whether writes are logged to the simulated append-only file.
    pub appendonly: bool,
    pub appendfsync: AppendFsync,
    /// Encoding thresholds: a hash, set or sorted set leaves its compact encoding when it grows
    /// past these many entries or holds an element longer than the `_value` limits.
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    /// Per quicklist node: positive, at most this many entries; -1..-5, at most 4/8/16/32/64 KiB.
    pub list_max_listpack_size: i64,
    /// Quicklist nodes left uncompressed at each end (0: no compression).
    pub list_compress_depth: i64,
    /// A stream node (one listpack in Redis's radix tree) is closed once it holds this many
    /// bytes or entries (0: no limit of that kind); approximate trimming removes whole nodes.
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: i64,
    /// The port INFO reports (the native server sets it to the port it listens on).
    pub tcp_port: u16,
    /// A HyperLogLog stays sparse while its string is at most this many bytes.
    pub hll_sparse_max_bytes: u64,
    /// Whether the engine records `Event`s (the playground wants them; a benchmark does not).
    pub record_events: bool,
    /// Runs an exact LRU next to Redis's sampled approximation and reports, in each eviction
    /// event, which key it would have evicted (costs a map update per access; off by default).
    /// Change it at run time with `Engine::set_true_lru_comparison`.
    pub eviction_true_lru: bool,
    /// Virtual milliseconds a background save (BGSAVE, a save point) takes per thousand keys,
    /// on top of `bgsave_base_ms`.
    pub bgsave_ms_per_1k_keys: i64,
    /// Virtual milliseconds of a background save's fork and file set-up.
    pub bgsave_base_ms: i64,
    /// `busy-reply-threshold` (alias `lua-time-limit`), in script milliseconds: a script running
    /// longer is busy (see `scripting`). 0 disables it.
    pub busy_reply_threshold: i64,
    /// The engine's own last resort, in script milliseconds: a script still running then is
    /// stopped even though it wrote. Not a Redis parameter.
    pub script_hard_limit_ms: u64,
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
            notify_keyspace_flags: 0,
            maxmemory_clients: 0,
            // Redis's built-in default when no config file says otherwise: the playground should
            // persist as an untuned Redis does. Differential tests start redis-server with
            // `--save ''` and configure the engine the same way.
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            appendfsync: AppendFsync::Everysec,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            tcp_port: 6379,
            record_events: true,
            hll_sparse_max_bytes: 3000,
            eviction_true_lru: false,
            bgsave_ms_per_1k_keys: 1,
            bgsave_base_ms: 10,
            busy_reply_threshold: 5000,
            script_hard_limit_ms: 15_000,
        }
    }
}
