//! Active expiry: the server cron and Redis 7.0's adaptive expire cycle, on virtual time.
//!
//! Lazy expiry (a key found expired when a command touches it) lives in `keyspace`. It alone
//! would let keys that nobody reads sit in memory forever, so Redis also sweeps: `hz` times per
//! second the cron runs a *slow* cycle, and before going idle the event loop may run a *fast*
//! one. Both walk the `expires` table bucket by bucket from a cursor that persists between runs,
//! in loops of up to 20 keys (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`, scaled by
//! `active-expire-effort`), and keep looping over the same database while more than 10% of the
//! sampled keys were expired (`ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`): many stale keys means more
//! are probably waiting. A loop gives up after visiting 20 buckets per wanted key, since a sparse
//! table has many empty buckets.
//!
//! Redis bounds each run by wall-clock time: 25% of a cron tick for the slow cycle, 1 ms for the
//! fast one. The engine has no wall clock, so it charges a fixed virtual cost for the work done
//! (`US_PER_KEY_SAMPLED`, `US_PER_KEY_EXPIRED`, `US_PER_BUCKET`) and compares that against the
//! same budgets. The cycle's shape and its stopping rules are Redis's; only the stopwatch is a
//! model, which keeps every run reproducible.
//!
//! The fast cycle runs only when the previous cycle hit its time limit or the running estimate of
//! stale keys is above the acceptable share, and never twice within two fast durations.

use crate::event::{CycleKind, Event, ExpireCycleReport, ExpiredBy};
use crate::Engine;

pub const KEYS_PER_LOOP: u64 = 20;
pub const FAST_DURATION_US: i64 = 1000;
pub const SLOW_TIME_PERC: i64 = 25;
pub const ACCEPTABLE_STALE: u64 = 10;
/// Databases visited per cycle (Redis's CRON_DBS_PER_CALL).
pub const DBS_PER_CALL: usize = 16;
/// The virtual cost model standing in for Redis's `ustime()` checks.
pub const US_PER_KEY_SAMPLED: i64 = 1;
pub const US_PER_KEY_EXPIRED: i64 = 2;
pub const US_PER_BUCKET: i64 = 0;
/// When time jumps far ahead, at most this many cron ticks are run (the last ones): by then
/// every key that the skipped ticks would have removed is expired for the remaining ones too.
pub const MAX_TICKS_PER_ADVANCE: i64 = 1000;

#[derive(Clone, Debug)]
pub struct CronState {
    /// Time of the last cron tick.
    pub last_tick_ms: i64,
    pub current_db: usize,
    pub timelimit_exit: bool,
    pub last_fast_cycle_us: i64,
    /// Number of cron ticks run so far (Redis's `cronloops`).
    pub cronloops: u64,
}

impl CronState {
    pub fn new(now_ms: i64) -> CronState {
        CronState {
            last_tick_ms: now_ms,
            current_db: 0,
            timelimit_exit: false,
            last_fast_cycle_us: i64::MIN / 2,
            cronloops: 0,
        }
    }
}

/// Moves the engine's time to `now_ms`, running the fast cycle once and every cron tick due.
pub fn advance(e: &mut Engine, now_ms: i64) {
    if now_ms < e.cron.last_tick_ms {
        // The clock was set back (the playground rewinds by restoring a snapshot, but a caller
        // may also just move time backwards): restart the tick schedule from here.
        e.cron.last_tick_ms = now_ms;
    }
    e.now = now_ms;
    if e.config.active_expire_enabled {
        active_expire_cycle(e, CycleKind::Fast);
    }
    e.expire_blocked(now_ms);
    let period = tick_period_ms(e.config.hz);
    let due = (now_ms - e.cron.last_tick_ms) / period;
    if due <= 0 {
        return;
    }
    let skipped = (due - MAX_TICKS_PER_ADVANCE).max(0);
    e.cron.last_tick_ms += skipped * period;
    for _ in skipped..due {
        e.cron.last_tick_ms += period;
        e.now = e.cron.last_tick_ms;
        server_cron(e);
    }
    e.now = now_ms;
}

/// Milliseconds between two cron ticks; Redis clamps `hz` to 1..=500.
pub fn tick_period_ms(hz: i64) -> i64 {
    (1000 / hz.clamp(1, 500)).max(1)
}

fn server_cron(e: &mut Engine) {
    e.cron.cronloops += 1;
    if e.config.active_expire_enabled {
        active_expire_cycle(e, CycleKind::Slow);
    }
}

/// Redis's `activeExpireCycle`.
pub fn active_expire_cycle(e: &mut Engine, kind: CycleKind) {
    let effort = (e.config.active_expire_effort.clamp(1, 10) - 1) as u64;
    let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
    let fast_duration = FAST_DURATION_US + FAST_DURATION_US / 4 * effort as i64;
    let slow_time_perc = SLOW_TIME_PERC + 2 * effort as i64;
    let acceptable_stale = ACCEPTABLE_STALE - effort;
    let start_us = e.now.saturating_mul(1000);

    if kind == CycleKind::Fast {
        if !e.cron.timelimit_exit && e.stats.expired_stale_perc * 100.0 < acceptable_stale as f64 {
            return;
        }
        if start_us < e.cron.last_fast_cycle_us + fast_duration * 2 {
            return;
        }
        e.cron.last_fast_cycle_us = start_us;
    }

    let dbnum = e.dbs.len();
    let mut dbs_per_call = DBS_PER_CALL;
    if dbs_per_call > dbnum || e.cron.timelimit_exit {
        dbs_per_call = dbnum;
    }
    let hz = e.config.hz.clamp(1, 500);
    let mut timelimit = slow_time_perc * 1_000_000 / hz / 100;
    if timelimit <= 0 {
        timelimit = 1;
    }
    if kind == CycleKind::Fast {
        timelimit = fast_duration;
    }
    e.cron.timelimit_exit = false;

    let mut elapsed: i64 = 0;
    let mut iteration: u64 = 0;
    let mut total_sampled: u64 = 0;
    let mut total_expired: u64 = 0;
    let now = e.now;
    let record = e.recording();
    let first_event = e.events.len();

    let mut j = 0;
    while j < dbs_per_call && !e.cron.timelimit_exit {
        let db = e.cron.current_db % dbnum;
        e.cron.current_db = e.cron.current_db.wrapping_add(1);
        let mut report = ExpireCycleReport {
            kind,
            db,
            sampled: Vec::new(),
            loops: 0,
            expired: 0,
            time_limit_hit: false,
            stale_estimate: 0.0,
        };
        loop {
            iteration += 1;
            let num = e.dbs[db].expires.len() as u64;
            if num == 0 {
                e.dbs[db].avg_ttl = 0;
                break;
            }
            let slots = e.dbs[db].expires.slots() as u64;
            if slots > 4 && num * 100 / slots < 1 {
                break;
            }
            report.loops += 1;
            let want = num.min(keys_per_loop);
            let max_buckets = want * 20;
            let (mut sampled, mut expired, mut checked_buckets) = (0u64, 0u64, 0u64);
            let (mut ttl_sum, mut ttl_samples) = (0i64, 0i64);
            while sampled < want && checked_buckets < max_buckets {
                let cursor = e.dbs[db].expires_cursor as usize;
                checked_buckets += 1;
                let keys: Vec<crate::dict::Key> = e.dbs[db]
                    .expires
                    .chain(cursor)
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in keys {
                    let at = e.dbs[db].expire_of(&key).unwrap_or(i64::MAX);
                    let ttl = at.saturating_sub(now);
                    let gone = now > at;
                    if gone {
                        e.delete_expired(db, &key, ExpiredBy::Active);
                        expired += 1;
                    }
                    if ttl > 0 {
                        ttl_sum = ttl_sum.saturating_add(ttl);
                        ttl_samples += 1;
                    }
                    sampled += 1;
                    if record {
                        report.sampled.push((key.to_vec(), gone));
                    }
                }
                e.dbs[db].expires_cursor = e.dbs[db].expires_cursor.wrapping_add(1);
            }
            elapsed += sampled as i64 * US_PER_KEY_SAMPLED
                + expired as i64 * US_PER_KEY_EXPIRED
                + checked_buckets as i64 * US_PER_BUCKET;
            total_expired += expired;
            total_sampled += sampled;
            report.expired += expired as usize;
            if ttl_samples > 0 {
                let avg = ttl_sum / ttl_samples;
                let d = &mut e.dbs[db];
                if d.avg_ttl == 0 {
                    d.avg_ttl = avg;
                }
                d.avg_ttl = (d.avg_ttl / 50) * 49 + avg / 50;
            }
            if iteration & 0xf == 0 && elapsed > timelimit {
                e.cron.timelimit_exit = true;
                e.stats.expired_time_cap_reached_count += 1;
                report.time_limit_hit = true;
                break;
            }
            if !(sampled == 0 || expired * 100 / sampled > acceptable_stale) {
                break;
            }
        }
        if record && report.loops > 0 {
            e.emit(Event::ExpireCycle(report));
        }
        j += 1;
    }
    e.stats.expire_cycle_time_used_us += elapsed.max(0) as u64;
    let current = if total_sampled > 0 {
        total_expired as f64 / total_sampled as f64
    } else {
        0.0
    };
    e.stats.expired_stale_perc = current * 0.05 + e.stats.expired_stale_perc * 0.95;
    if record {
        // Give each report of this run the estimate it produced.
        let est = e.stats.expired_stale_perc;
        for ev in e.events[first_event..].iter_mut() {
            if let Event::ExpireCycle(r) = ev {
                r.stale_estimate = est;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, CycleKind, Engine, Event, ExpiredBy, Reply};

    fn engine() -> (Engine, u64) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        (e, c)
    }

    #[test]
    fn px_100_lives_through_its_last_millisecond() {
        let (mut e, c) = engine();
        e.config_mut().active_expire_enabled = false;
        assert_eq!(e.run(c, &["SET", "k", "v", "PX", "100"], 1000), Reply::OK);
        assert_eq!(e.run(c, &["GET", "k"], 1100), Reply::bulk("v"));
        assert_eq!(e.run(c, &["GET", "k"], 1101), Reply::Nil);
        let evs = e.drain_events();
        assert!(evs.iter().any(
            |ev| matches!(ev, Event::Expired { by: ExpiredBy::Lazy, key, .. } if key == b"k")
        ));
    }

    #[test]
    fn active_cycle_removes_keys_nobody_touches() {
        let (mut e, c) = engine();
        for i in 0..100 {
            e.run(c, &["SET", &format!("k{i}"), "v", "PX", "50"], 0);
        }
        e.run(c, &["SET", "keep", "v"], 0);
        e.drain_events();
        e.advance(1000);
        assert_eq!(e.dbsize(0), 1, "only the persistent key is left");
        let evs = e.drain_events();
        let active = evs
            .iter()
            .filter(|ev| {
                matches!(
                    ev,
                    Event::Expired {
                        by: ExpiredBy::Active,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(active, 100);
        let cycles: Vec<_> = evs
            .iter()
            .filter_map(|ev| match ev {
                Event::ExpireCycle(r) => Some(r),
                _ => None,
            })
            .collect();
        assert!(!cycles.is_empty());
        // Each loop samples at most 20 keys (effort 1).
        for r in &cycles {
            assert!(
                r.sampled.len() as u32 <= 20 * r.loops,
                "{} keys in {} loops",
                r.sampled.len(),
                r.loops
            );
            assert_eq!(r.kind, CycleKind::Slow);
        }
    }

    #[test]
    fn cycle_stops_when_few_sampled_keys_are_stale() {
        let (mut e, c) = engine();
        // 1000 keys that expire much later and 10 that expire soon: after the first loop finds
        // at most 10% stale, the cycle must not keep looping over the database.
        for i in 0..1000 {
            e.run(c, &["SET", &format!("long{i}"), "v", "EX", "1000"], 0);
        }
        for i in 0..10 {
            e.run(c, &["SET", &format!("short{i}"), "v", "PX", "10"], 0);
        }
        e.drain_events();
        e.advance(100);
        for ev in e.drain_events() {
            if let Event::ExpireCycle(r) = ev {
                assert!(r.loops <= 3, "looped {} times", r.loops);
            }
        }
    }

    #[test]
    fn same_seed_same_expiry_order() {
        let run = || {
            let (mut e, c) = engine();
            for i in 0..500 {
                e.run(
                    c,
                    &[
                        "SET",
                        &format!("k{i}"),
                        "v",
                        "PX",
                        &format!("{}", 10 + i % 50),
                    ],
                    0,
                );
            }
            e.drain_events();
            e.advance(30);
            e.drain_events()
        };
        assert_eq!(run(), run());
    }
}
