//! Counters reported by INFO stats, commandstats and errorstats, and reset by CONFIG RESETSTAT.

use std::collections::BTreeMap;

/// One command's line in INFO commandstats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandStat {
    pub calls: u64,
    /// Calls that ran and answered with an error.
    pub failed_calls: u64,
    /// Calls refused before running (wrong number of arguments).
    pub rejected_calls: u64,
}

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
    /// Highest `used_memory` INFO has seen; survives RESETSTAT, as in Redis.
    pub peak_memory: u64,
    /// Per command, by full name (`config|get`), in name order; read it through `commands()`,
    /// which adds `pending`.
    pub(crate) commands: BTreeMap<&'static str, CommandStat>,
    /// The calls of the command counted last, not yet added to `commands`: a run of the same
    /// command (a loop of SETs, a batch) is counted here without a map lookup per call.
    pub(crate) pending: Option<(&'static str, CommandStat)>,
    /// Error replies by their code (the first word: `ERR`, `WRONGTYPE`...), in name order.
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one executed call of `name`.
    pub fn record_call(&mut self, name: &'static str, failed: bool) {
        match &mut self.pending {
            // The same name from the same spec: one comparison of two pointers.
            Some((last, s)) if std::ptr::eq(*last, name) => {
                s.calls += 1;
                s.failed_calls += u64::from(failed);
            }
            _ => {
                self.flush_pending();
                let s = CommandStat {
                    calls: 1,
                    failed_calls: u64::from(failed),
                    rejected_calls: 0,
                };
                self.pending = Some((name, s));
            }
        }
    }

    fn flush_pending(&mut self) {
        if let Some((name, p)) = self.pending.take() {
            let s = self.commands.entry(name).or_default();
            s.calls += p.calls;
            s.failed_calls += p.failed_calls;
            s.rejected_calls += p.rejected_calls;
        }
    }

    /// Every command's counts, by full name, in name order.
    pub fn commands(&self) -> BTreeMap<&'static str, CommandStat> {
        let mut all = self.commands.clone();
        if let Some((name, p)) = &self.pending {
            let s = all.entry(*name).or_default();
            s.calls += p.calls;
            s.failed_calls += p.failed_calls;
            s.rejected_calls += p.rejected_calls;
        }
        all
    }

    /// Counts a call of `name` refused before it ran.
    pub fn record_rejected(&mut self, name: &'static str) {
        self.commands.entry(name).or_default().rejected_calls += 1;
    }

    /// Counts an error reply under its code: the text up to the first space, looked for in the
    /// first 32 bytes as Redis does, and `ERR` when there is none.
    pub fn record_error(&mut self, text: &str) {
        let window = &text.as_bytes()[..text.len().min(32)];
        let code = match window.iter().position(|&b| b == b' ') {
            Some(i) => &text[..i],
            None => "ERR",
        };
        *self.errors.entry(code.to_string()).or_default() += 1;
    }

    /// CONFIG RESETSTAT: zero what Redis's `resetServerStats` zeroes, together with the command
    /// and error tables. The change counter (`dirty`) and the memory peak are not statistics in
    /// that sense and survive.
    pub fn reset(&mut self) {
        let dirty = self.dirty;
        let peak_memory = self.peak_memory;
        *self = Stats {
            dirty,
            peak_memory,
            ..Stats::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_keeps_dirty_and_peak_only() {
        let mut s = Stats {
            dirty: 7,
            peak_memory: 100,
            expired_stale_perc: 0.5,
            ..Stats::default()
        };
        s.record_call("get", true);
        s.record_error("WRONGTYPE Operation against a key");
        s.reset();
        assert_eq!(s.dirty, 7);
        assert_eq!(s.peak_memory, 100);
        assert_eq!(s.expired_stale_perc, 0.0);
        assert!(s.commands().is_empty() && s.errors.is_empty());
    }

    #[test]
    fn calls_are_counted_across_runs_of_one_command() {
        let mut s = Stats::default();
        for failed in [false, true, false] {
            s.record_call("get", failed);
        }
        s.record_rejected("get");
        s.record_call("set", false);
        s.record_call("get", false);
        s.record_call("get", true);
        let all = s.commands();
        let want = |calls, failed_calls, rejected_calls| CommandStat {
            calls,
            failed_calls,
            rejected_calls,
        };
        assert_eq!(all.get("get"), Some(&want(5, 2, 1)));
        assert_eq!(all.get("set"), Some(&want(1, 0, 0)));
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn errors_are_counted_by_code() {
        let mut s = Stats::default();
        s.record_error("ERR syntax error");
        s.record_error("ERR value is not an integer or out of range");
        s.record_error("WRONGTYPE Operation against a key holding the wrong kind of value");
        assert_eq!(s.errors.get("ERR"), Some(&2));
        assert_eq!(s.errors.get("WRONGTYPE"), Some(&1));
    }
}
