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

/// How many commands' calls `Stats` counts apart before adding them to its table.
const PENDING: usize = 8;

fn add(to: &mut CommandStat, s: &CommandStat) {
    to.calls += s.calls;
    to.failed_calls += s.failed_calls;
    to.rejected_calls += s.rejected_calls;
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
    /// The calls of the commands counted last, not yet added to `commands`: a run of the same
    /// command (a loop of SETs, a batch) or of a few in turn (LPUSH and LPOP, a script's calls)
    /// is counted here without a map lookup per call. A new command takes the oldest one's
    /// place, which is then added to `commands`.
    pub(crate) pending: [Option<(&'static str, CommandStat)>; PENDING],
    /// The slot of `pending` that counted last, tried first.
    pub(crate) pending_last: usize,
    /// The slot of `pending` the next new command goes into.
    pub(crate) pending_next: usize,
    /// Error replies by their code (the first word: `ERR`, `WRONGTYPE`...), in name order.
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one executed call of `name`.
    pub fn record_call(&mut self, name: &'static str, failed: bool) {
        // The same name from the same spec: one comparison of two pointers.
        let same = |p: &Option<(&'static str, CommandStat)>| {
            p.as_ref().is_some_and(|(n, _)| std::ptr::eq(*n, name))
        };
        let i = if same(&self.pending[self.pending_last]) {
            self.pending_last
        } else if let Some(i) = self.pending.iter().position(same) {
            i
        } else {
            let i = self.pending_next;
            self.flush_pending(i);
            self.pending[i] = Some((name, CommandStat::default()));
            self.pending_next = (i + 1) % PENDING;
            i
        };
        self.pending_last = i;
        if let Some((_, s)) = &mut self.pending[i] {
            s.calls += 1;
            s.failed_calls += u64::from(failed);
        }
    }

    fn flush_pending(&mut self, i: usize) {
        if let Some((name, p)) = self.pending[i].take() {
            add(self.commands.entry(name).or_default(), &p);
        }
    }

    /// Calls per command, by full name, in name order.
    pub fn commands(&self) -> BTreeMap<&'static str, CommandStat> {
        let mut all = self.commands.clone();
        for (name, p) in self.pending.iter().flatten() {
            add(all.entry(*name).or_default(), p);
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

    /// More commands in turn than `pending` holds, against a plain count of every call.
    #[test]
    fn calls_are_counted_across_commands_taken_in_turn() {
        const NAMES: [&str; 11] = [
            "get", "set", "lpush", "lpop", "incr", "del", "zadd", "expire", "ping", "hset", "sadd",
        ];
        let mut s = Stats::default();
        let mut want: BTreeMap<&str, CommandStat> = BTreeMap::new();
        let mut x: u64 = 7;
        for _ in 0..5_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Mostly a window of a few names that drifts, sometimes any of them.
            let i = if x >> 60 == 0 {
                (x >> 32) as usize
            } else {
                (x >> 40) as usize % 4
            };
            let name = NAMES[i % NAMES.len()];
            let w = want.entry(name).or_default();
            if (x >> 20) % 7 == 0 {
                s.record_rejected(name);
                w.rejected_calls += 1;
            } else {
                let failed = (x >> 24) % 5 == 0;
                s.record_call(name, failed);
                w.calls += 1;
                w.failed_calls += u64::from(failed);
            }
            if (x >> 12) % 997 == 0 {
                assert_eq!(s.commands(), want);
            }
        }
        assert_eq!(s.commands(), want);
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
