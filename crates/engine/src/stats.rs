//! Counters reported by INFO stats and reset by CONFIG RESETSTAT.

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub total_connections: u64,
    pub total_commands: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    /// Redis's running estimate (0..1) of how many keys with a TTL are expired but not removed.
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    /// Virtual microseconds the active expire cycle has spent.
    pub expire_cycle_time_used_us: u64,
    pub total_error_replies: u64,
    pub rejected_calls: u64,
    /// Changes since start (Redis's `server.dirty`), for INFO persistence.
    pub dirty: u64,
}

impl Stats {
    /// Hook for per-command statistics (INFO commandstats); counts only totals for now.
    pub fn record_call(&mut self, _name: &str, _failed: bool) {}

    /// CONFIG RESETSTAT: zero the counters that Redis resets, keep the rest.
    pub fn reset(&mut self) {
        let dirty = self.dirty;
        let stale = self.expired_stale_perc;
        *self = Stats {
            dirty,
            expired_stale_perc: stale,
            ..Stats::default()
        };
    }
}
