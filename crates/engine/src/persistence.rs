//! RDB snapshots and the append-only file, simulated on the virtual clock.
//!
//! Nothing is written to disk. What is modelled is *what would survive*: at every moment the
//! engine knows which of its writes each persistence mode has made durable, so that a restart
//! (`Engine::restart`, DEBUG RELOAD) rebuilds the keyspace from exactly that and can say which
//! writes were lost and why.
//!
//! - RDB: a snapshot of the keyspace as of the last completed save. SAVE takes it at once;
//!   BGSAVE and the `save <seconds> <changes>` points fork: the snapshot holds the data as of the
//!   fork but only becomes the durable file when the background save finishes, a modelled
//!   duration later (`Config::bgsave_base_ms` plus `bgsave_ms_per_1k_keys`).
//! - AOF: a base (the data when the log was started or last rewritten) plus one record per write
//!   command holding the resulting state of each key it touched, so replay is exact even for
//!   commands with random outcomes (SPOP, which Redis itself propagates as SREM). A record is
//!   durable once fsynced: `always` at once, `everysec` at the next whole-second tick, `no` when
//!   the kernel flushes, every 30 seconds.
//!
//! The restart model is a power loss: only fsynced bytes survive. A clean shutdown first does
//! what SHUTDOWN does: fsync the AOF and, when save points are configured, SAVE.

use std::collections::VecDeque;

use crate::config::AppendFsync;
use crate::db::Db;
use crate::event::Event;
use crate::object::Entry;
use crate::Engine;

/// Writes remembered individually for loss reports (older ones are only counted).
pub const JOURNAL_MAX: usize = 100_000;
/// How often the kernel writes dirty pages back when the AOF is never fsynced explicitly.
pub const KERNEL_FLUSH_MS: i64 = 30_000;

/// How the server went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartKind {
    /// Power loss or `kill -9`: whatever was not durable is gone.
    Crash,
    /// SHUTDOWN: the AOF is fsynced and, with save points configured, an RDB is saved first.
    CleanShutdown,
}

/// A write that a restart did not bring back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostWrite {
    pub at: i64,
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
    pub reason: String,
}

/// What a restart loaded and what it lost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestartReport {
    pub crashed: bool,
    /// `rdb`, `aof` or `none`: where the data came from.
    pub loaded_from: &'static str,
    pub keys_loaded: usize,
    /// Keys whose deadline passed while the server was down (dropped on load).
    pub keys_expired: usize,
    /// Writes not recovered, oldest first (at most `JOURNAL_MAX`).
    pub lost: Vec<LostWrite>,
    /// All writes not recovered, including those too old to be listed.
    pub lost_count: u64,
    /// A sentence for people.
    pub summary: String,
}

/// A snapshot of every database.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub dbs: Vec<Db>,
    /// When the data was taken.
    pub taken_at: i64,
    /// The last write it includes (write sequence number).
    pub seq: u64,
    /// `stats.dirty` when the data was taken.
    pub dirty: u64,
}

/// A key's state after a logged write: the entry, or None when it was deleted.
type Effect = (usize, Vec<u8>, Option<Entry>);

#[derive(Clone, Debug)]
enum AofOp {
    Keys(Vec<Effect>),
    FlushAll,
    FlushDb(usize),
    SwapDb(usize, usize),
}

#[derive(Clone, Debug)]
struct AofRecord {
    seq: u64,
    at: i64,
    op: AofOp,
}

#[derive(Clone, Debug)]
struct WriteRecord {
    seq: u64,
    at: i64,
    db: usize,
    argv: Vec<Vec<u8>>,
}

/// A background save in progress.
#[derive(Clone, Debug)]
struct Bgsave {
    snapshot: Snapshot,
    started: i64,
    done_at: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Persist {
    /// Write commands seen so far; every write gets the next number.
    seq: u64,
    /// `stats.dirty` as of the last recorded write.
    dirty_seen: u64,
    /// The last completed RDB file.
    rdb: Option<Snapshot>,
    bgsave: Option<Bgsave>,
    /// `stats.dirty` when the last save's data was taken (INFO's changes since last save).
    dirty_at_save: u64,
    /// LASTSAVE, in milliseconds.
    pub last_save_ms: i64,
    /// When a save point last tried to start a background save.
    last_bgsave_try_ms: i64,
    pub rdb_saves: u64,
    last_bgsave_secs: i64,
    /// The AOF, while `appendonly` is on: its base and the records written since.
    aof_base: Option<Snapshot>,
    aof_log: Vec<AofRecord>,
    /// Records fsynced so far (a prefix of `aof_log`).
    aof_fsynced: usize,
    pub aof_rewrites: u64,
    /// Recent writes, for loss reports; `journal_dropped` counts the ones let go.
    journal: VecDeque<WriteRecord>,
    /// Writes not kept in the journal (past `JOURNAL_MAX`, or while events are off) that were
    /// not durable when let go, and the last of their sequence numbers.
    journal_dropped: u64,
    dropped_max_seq: u64,
    /// The engine time persistence was last brought up to.
    ticked_at: i64,
    /// BGSAVE inside EXEC: start at the next tick.
    pub bgsave_scheduled: bool,
    /// BGREWRITEAOF while a background save runs: rewrite once it is done.
    pub aof_rewrite_scheduled: bool,
    /// The `save` parameter last parsed, and its points (checked after every write).
    save_parsed: (String, Vec<(i64, u64)>),
    /// Whether `save_parsed` is known to match the configuration: cleared wherever the
    /// configuration can change (`Engine::config_mut`, CONFIG SET), so that a write compares
    /// the two strings only after such a change, not every time.
    pub(crate) save_checked: bool,
    /// The earliest moment any save point can fall due whatever the change count, with the
    /// last save and the last save attempt it was worked out from: before then a write needs
    /// no look at the points (this is checked after every write).
    save_not_before: Option<(i64, i64, i64)>,
}

fn snapshot_of(e: &Engine) -> Snapshot {
    Snapshot {
        dbs: e.dbs.clone(),
        taken_at: e.now,
        seq: e.persist.seq,
        dirty: e.stats.dirty,
    }
}

/// The `save` parameter as (seconds, changes) pairs.
pub fn save_points(save: &str) -> Vec<(i64, u64)> {
    let words: Vec<&str> = save.split_whitespace().collect();
    words
        .chunks(2)
        .filter_map(|p| Some((p.first()?.parse().ok()?, p.get(1)?.parse().ok()?)))
        .collect()
}

impl Persist {
    pub fn new(now_ms: i64) -> Persist {
        Persist {
            last_save_ms: now_ms,
            last_bgsave_try_ms: now_ms,
            last_bgsave_secs: -1,
            ..Persist::default()
        }
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.bgsave.is_some()
    }

    /// Up to where `aof_log` is durable at `now` under `fsync`.
    fn fsync_to(&mut self, now: i64, fsync: AppendFsync) {
        let horizon = match fsync {
            AppendFsync::Always => i64::MAX,
            AppendFsync::Everysec => now.div_euclid(1000) * 1000,
            AppendFsync::No => now.div_euclid(KERNEL_FLUSH_MS) * KERNEL_FLUSH_MS,
        };
        while self.aof_fsynced < self.aof_log.len() && self.aof_log[self.aof_fsynced].at < horizon {
            self.aof_fsynced += 1;
        }
        if fsync == AppendFsync::Always {
            self.aof_fsynced = self.aof_log.len();
        }
    }

    /// The last write that a restart now would bring back.
    fn durable_seq(&self, aof: bool) -> u64 {
        if aof {
            match self.aof_fsynced {
                0 => self.aof_base.as_ref().map_or(0, |b| b.seq),
                n => self.aof_log[n - 1].seq,
            }
        } else {
            self.rdb.as_ref().map_or(0, |r| r.seq)
        }
    }

    #[inline]
    fn trim_journal(&mut self, keep_after: u64) {
        while self.journal.front().is_some_and(|w| w.seq <= keep_after) {
            self.journal.pop_front();
        }
        if keep_after >= self.dropped_max_seq {
            self.journal_dropped = 0;
        }
    }

    fn drop_write(&mut self, seq: u64) {
        self.journal_dropped += 1;
        self.dropped_max_seq = seq;
    }
}

impl Engine {
    /// Records the writes made since the last call as one write (`argv` names it), logging it to
    /// the AOF when that is on. Called after every command and after blocked clients are
    /// served; reads the keys changed from the memory model's queue, so it runs before
    /// `account`.
    pub(crate) fn persist_sync(&mut self, db: usize, argv: &[&[u8]]) {
        let dirty = self.stats.dirty;
        if dirty == self.persist.dirty_seen {
            if self.persist.ticked_at != self.now {
                self.persist_tick();
            }
            return;
        }
        self.persist.dirty_seen = dirty;
        self.persist.seq += 1;
        let seq = self.persist.seq;
        let is_flushall = argv
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"flushall"));
        if !self.config.record_events {
            // Nobody reads the write itself from the journal: only that it happened.
            self.persist.drop_write(seq);
        }
        if self.config.record_events || is_flushall || self.persist.aof_base.is_some() {
            self.persist_record(db, argv, seq, is_flushall);
        }
        self.persist_tick();
    }

    /// The part of `persist_sync` that needs the write itself: the journal's copy of its
    /// arguments, what FLUSHALL does to saves, and its AOF record.
    #[inline(never)]
    fn persist_record(&mut self, db: usize, argv: &[&[u8]], seq: u64, is_flushall: bool) {
        let now = self.now;
        if self.config.record_events {
            if self.persist.journal.len() >= JOURNAL_MAX {
                if let Some(w) = self.persist.journal.pop_front() {
                    self.persist.drop_write(w.seq);
                }
            }
            self.persist.journal.push_back(WriteRecord {
                seq,
                at: now,
                db,
                argv: argv.iter().map(|a| a.to_vec()).collect(),
            });
        }
        if is_flushall {
            // FLUSHALL stops a background save and, with save points, saves the empty data
            // at once; the flush itself still counts as one change.
            self.persist.bgsave = None;
            if !save_points(&self.config.save).is_empty() {
                self.save_now();
                self.persist.dirty_at_save = self.stats.dirty.saturating_sub(1);
            }
        }
        if self.persist.aof_base.is_some() {
            let name = argv.first().map(|a| a.to_ascii_lowercase());
            let op = match name.as_deref() {
                Some(b"flushall") => AofOp::FlushAll,
                Some(b"flushdb") => AofOp::FlushDb(db),
                Some(b"swapdb") => {
                    let n = |i: usize| {
                        argv.get(i)
                            .and_then(|a| std::str::from_utf8(a).ok())
                            .and_then(|s| s.parse().ok())
                    };
                    match (n(1), n(2)) {
                        (Some(a), Some(b)) => AofOp::SwapDb(a, b),
                        _ => AofOp::Keys(Vec::new()),
                    }
                }
                _ => {
                    let keys: std::collections::BTreeSet<(usize, &[u8])> =
                        self.mem.dirty_keys().collect();
                    let effects = keys
                        .into_iter()
                        .map(|(d, k)| {
                            let entry = self.dbs[d].keys.get(k).cloned();
                            (d, k.to_vec(), entry)
                        })
                        .collect();
                    AofOp::Keys(effects)
                }
            };
            self.persist.aof_log.push(AofRecord { seq, at: now, op });
        }
    }

    /// A key the server deleted on its own (expired, evicted): Redis logs a DEL for it.
    pub(crate) fn persist_deleted(&mut self, db: usize, key: &[u8]) {
        if self.persist.aof_base.is_none() {
            return;
        }
        self.persist.seq += 1;
        let rec = AofRecord {
            seq: self.persist.seq,
            at: self.now,
            op: AofOp::Keys(vec![(db, key.to_vec(), None)]),
        };
        self.persist.aof_log.push(rec);
    }

    /// Brings persistence up to the engine's clock: AOF on or off as configured, fsyncs due,
    /// a background save that has finished, save points that are due.
    #[inline(always)]
    pub(crate) fn persist_tick(&mut self) {
        let now = self.now;
        self.persist.ticked_at = now;
        if self.persist_idle(now) {
            // The only thing left to do is the journal trim: a write recorded since the last
            // tick may have been let go, or a SAVE made more of the journal durable.
            let keep = self.persist.durable_seq(false);
            self.persist.trim_journal(keep);
            return;
        }
        self.persist_catch_up(now);
    }

    /// `persist_tick` when there may be more to do than trim the journal.
    #[inline(never)]
    fn persist_catch_up(&mut self, now: i64) {
        if self.config.appendonly != self.persist.aof_base.is_some() {
            if self.config.appendonly {
                // Turning the AOF on writes a base file from the current data first.
                self.aof_rewrite();
            } else {
                self.persist.aof_base = None;
                self.persist.aof_log.clear();
                self.persist.aof_fsynced = 0;
            }
        }
        if self.persist.aof_base.is_some() {
            self.persist.fsync_to(now, self.config.appendfsync);
        }
        self.finish_bgsave_if_done(now);
        if self.persist.bgsave.is_none() && self.persist.aof_rewrite_scheduled {
            self.persist.aof_rewrite_scheduled = false;
            self.aof_rewrite();
        }
        if self.persist.bgsave.is_none() && self.persist.bgsave_scheduled {
            self.persist.bgsave_scheduled = false;
            self.start_bgsave(now);
            self.finish_bgsave_if_done(now);
        }
        if self.persist.bgsave.is_none() {
            if let Some(at) = self.save_point_due(now) {
                self.start_bgsave(at);
                self.finish_bgsave_if_done(now);
            }
        }
        let aof = self.persist.aof_base.is_some();
        let keep = self.persist.durable_seq(aof);
        self.persist.trim_journal(keep);
    }

    /// Whether bringing persistence up to `now` has nothing to do but trim the journal: the AOF
    /// is off and not being turned on, no background save runs or waits to start, no AOF
    /// rewrite waits, and no save point can fall due before `now` whatever the change count
    /// (the bound `save_point_due` worked out, still valid for the last save and save attempt,
    /// and the `save` parameter not changed since it was read). This is checked after every
    /// write, so it reads fields only.
    fn persist_idle(&self, now: i64) -> bool {
        let p = &self.persist;
        !self.config.appendonly
            && p.aof_base.is_none()
            && p.bgsave.is_none()
            && !p.bgsave_scheduled
            && !p.aof_rewrite_scheduled
            && p.save_checked
            && p.save_not_before.is_some_and(|(save, try_ms, at)| {
                now < at && save == p.last_save_ms && try_ms == p.last_bgsave_try_ms
            })
    }

    /// When the earliest save point whose change count is reached falls due (at or before
    /// `now`), on the cron's one-second check.
    fn save_point_due(&mut self, now: i64) -> Option<i64> {
        if !self.persist.save_checked {
            if self.persist.save_parsed.0 != self.config.save {
                self.persist.save_parsed =
                    (self.config.save.clone(), save_points(&self.config.save));
                self.persist.save_not_before = None;
            }
            self.persist.save_checked = true;
        }
        let last_s = self.persist.last_save_ms.div_euclid(1000);
        let last_try = self.persist.last_bgsave_try_ms;
        // Redis saves once more than `seconds` have passed since the last save.
        let due_at = |secs: i64| {
            last_s
                .saturating_add(secs)
                .saturating_add(1)
                .saturating_mul(1000)
                .max(last_try)
        };
        let from = (self.persist.last_save_ms, last_try);
        let not_before = match self.persist.save_not_before {
            Some((save, try_ms, at)) if (save, try_ms) == from => at,
            _ => {
                let points = &self.persist.save_parsed.1;
                let at = points.iter().map(|&(secs, _)| due_at(secs)).min();
                let at = at.unwrap_or(i64::MAX);
                self.persist.save_not_before = Some((from.0, from.1, at));
                at
            }
        };
        if now < not_before {
            return None;
        }
        let changes = self.stats.dirty.saturating_sub(self.persist.dirty_at_save);
        self.persist
            .save_parsed
            .1
            .iter()
            .copied()
            .filter(|&(_, n)| changes >= n)
            .map(|(secs, _)| due_at(secs))
            .filter(|&at| at <= now)
            .min()
            // The save starts when the engine notices it is due. Starting it at the (possibly
            // long past) moment it fell due would make the next point fall due at once again,
            // and a clock far ahead of the last save would then save on every command.
            .map(|at| at.max(now - 1000))
    }

    fn bgsave_duration(&self) -> i64 {
        let keys: usize = self.dbs.iter().map(|d| d.len()).sum();
        self.config.bgsave_base_ms + keys as i64 * self.config.bgsave_ms_per_1k_keys / 1000
    }

    /// Forks a background save at `at`: the data is taken now, the file is complete later.
    pub(crate) fn start_bgsave(&mut self, at: i64) {
        let mut snapshot = snapshot_of(self);
        snapshot.taken_at = at;
        let done_at = at + self.bgsave_duration();
        self.persist.last_bgsave_try_ms = at;
        self.persist.bgsave = Some(Bgsave {
            snapshot,
            started: at,
            done_at,
        });
        if self.recording() {
            self.emit(Event::BgsaveStarted { done_at });
        }
    }

    fn finish_bgsave_if_done(&mut self, now: i64) {
        if self.persist.bgsave.as_ref().is_none_or(|b| b.done_at > now) {
            return;
        }
        let Some(b) = self.persist.bgsave.take() else {
            return;
        };
        self.persist.last_bgsave_secs = (b.done_at - b.started) / 1000;
        self.persist.last_save_ms = b.done_at;
        self.persist.dirty_at_save = b.snapshot.dirty;
        self.persist.rdb_saves += 1;
        let keys = b.snapshot.dbs.iter().map(|d| d.len()).sum();
        let taken_at = b.snapshot.taken_at;
        self.persist.rdb = Some(b.snapshot);
        if self.recording() {
            self.emit(Event::RdbSaved {
                taken_at,
                keys,
                background: true,
            });
        }
    }

    /// SAVE: a snapshot taken and durable at once.
    pub(crate) fn save_now(&mut self) {
        let snapshot = snapshot_of(self);
        let keys = snapshot.dbs.iter().map(|d| d.len()).sum();
        self.persist.dirty_at_save = snapshot.dirty;
        self.persist.last_save_ms = self.now;
        self.persist.rdb_saves += 1;
        self.persist.rdb = Some(snapshot);
        if self.recording() {
            self.emit(Event::RdbSaved {
                taken_at: self.now,
                keys,
                background: false,
            });
        }
    }

    /// BGREWRITEAOF, or turning the AOF on: a new base from the current data, fsynced.
    pub(crate) fn aof_rewrite(&mut self) {
        let base = snapshot_of(self);
        let keys = base.dbs.iter().map(|d| d.len()).sum();
        self.persist.aof_base = Some(base);
        self.persist.aof_log.clear();
        self.persist.aof_fsynced = 0;
        if self.config.appendonly {
            self.persist.aof_rewrites += 1;
        }
        if self.recording() {
            self.emit(Event::AofRewritten { keys });
        }
    }

    /// LASTSAVE, in seconds.
    pub fn last_save(&self) -> i64 {
        self.persist.last_save_ms.div_euclid(1000)
    }

    /// Changes since the last save (INFO's `rdb_changes_since_last_save`).
    pub fn changes_since_save(&self) -> u64 {
        self.stats.dirty.saturating_sub(self.persist.dirty_at_save)
    }

    /// Takes the server down at `now_ms` and brings it back from what was durable. Connections
    /// stay open (as if each client reconnected at once) but lose their transactions and
    /// watched keys.
    pub fn restart(&mut self, kind: RestartKind, now_ms: i64) -> RestartReport {
        self.now = now_ms.max(self.now);
        self.account();
        self.persist_tick();
        let aof = self.persist.aof_base.is_some();
        let mut killed_bgsave = None;
        if kind == RestartKind::CleanShutdown {
            if aof {
                self.persist.aof_fsynced = self.persist.aof_log.len();
            }
            if !save_points(&self.config.save).is_empty() {
                self.persist.bgsave = None;
                self.save_now();
            }
        }
        if let Some(b) = self.persist.bgsave.take() {
            killed_bgsave = Some(b.started);
        }
        let durable = self.persist.durable_seq(aof);
        let (dbs, from) = if aof {
            (self.replay_aof(), "aof")
        } else if let Some(r) = &self.persist.rdb {
            (r.dbs.clone(), "rdb")
        } else {
            (self.empty_dbs(), "none")
        };
        let reason = |w: &WriteRecord| -> String {
            if aof {
                match self.config.appendfsync {
                    AppendFsync::Always => "not in the AOF".to_string(),
                    AppendFsync::Everysec => format!(
                        "in the AOF but not fsynced (appendfsync everysec: last fsync at {} ms)",
                        now_ms.div_euclid(1000) * 1000
                    ),
                    AppendFsync::No => format!(
                        "in the AOF but not flushed by the kernel (appendfsync no: last flush at {} ms)",
                        now_ms.div_euclid(KERNEL_FLUSH_MS) * KERNEL_FLUSH_MS
                    ),
                }
            } else if killed_bgsave.is_some_and(|s| w.at <= s) {
                "in a background save that had not finished".to_string()
            } else if let Some(r) = &self.persist.rdb {
                format!(
                    "made after the last RDB save (data as of {} ms)",
                    r.taken_at
                )
            } else {
                "no RDB save had completed and the AOF is off".to_string()
            }
        };
        let lost: Vec<LostWrite> = self
            .persist
            .journal
            .iter()
            .filter(|w| w.seq > durable)
            .map(|w| LostWrite {
                at: w.at,
                db: w.db,
                argv: w.argv.clone(),
                reason: reason(w),
            })
            .collect();
        let lost_count = lost.len() as u64
            + if self.persist.dropped_max_seq > durable {
                self.persist.journal_dropped
            } else {
                0
            };
        let report = self.load_dbs(dbs, from, kind == RestartKind::Crash, lost, lost_count);
        if self.recording() {
            self.emit(Event::Restarted(report.clone()));
        }
        report
    }

    /// DEBUG RELOAD: save, empty, load the file again. Nothing is lost; keys already past their
    /// deadline are not loaded.
    pub(crate) fn debug_reload(&mut self) {
        self.account();
        self.save_now();
        let dbs = self
            .persist
            .rdb
            .as_ref()
            .map(|r| r.dbs.clone())
            .unwrap_or_default();
        let now = self.now;
        self.dbs = dbs;
        self.drop_expired_on_load(now);
        self.evict.pool.clear();
    }

    fn empty_dbs(&self) -> Vec<Db> {
        (0..self.config.databases)
            .map(|i| {
                Db::new(
                    self.config
                        .seed
                        .wrapping_add(i as u64)
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15),
                )
            })
            .collect()
    }

    fn replay_aof(&self) -> Vec<Db> {
        let mut dbs = self
            .persist
            .aof_base
            .as_ref()
            .map(|b| b.dbs.clone())
            .unwrap_or_else(|| self.empty_dbs());
        for rec in &self.persist.aof_log[..self.persist.aof_fsynced] {
            match &rec.op {
                AofOp::Keys(effects) => {
                    for (db, key, entry) in effects {
                        let Some(d) = dbs.get_mut(*db) else { continue };
                        match entry {
                            Some(e) => d.put(key.as_slice().into(), e.clone()),
                            None => {
                                d.remove(key);
                            }
                        }
                    }
                }
                AofOp::FlushAll => dbs.iter_mut().for_each(|d| d.clear()),
                AofOp::FlushDb(db) => {
                    if let Some(d) = dbs.get_mut(*db) {
                        d.clear();
                    }
                }
                AofOp::SwapDb(a, b) => {
                    if *a < dbs.len() && *b < dbs.len() {
                        dbs.swap(*a, *b);
                    }
                }
            }
        }
        dbs
    }

    /// Removes every key whose deadline has passed; returns how many.
    fn drop_expired_on_load(&mut self, now: i64) -> usize {
        let mut n = 0;
        for d in &mut self.dbs {
            let gone: Vec<Vec<u8>> = d
                .keys
                .iter()
                .filter(|(_, e)| e.expire_at().is_some_and(|at| at < now))
                .map(|(k, _)| k.to_vec())
                .collect();
            for k in gone {
                d.remove(&k);
                n += 1;
            }
        }
        n
    }

    fn load_dbs(
        &mut self,
        dbs: Vec<Db>,
        from: &'static str,
        crashed: bool,
        lost: Vec<LostWrite>,
        lost_count: u64,
    ) -> RestartReport {
        let now = self.now;
        self.dbs = dbs;
        let keys_expired = self.drop_expired_on_load(now);
        let keys_loaded = self.dbs.iter().map(|d| d.len()).sum();
        let ids: Vec<crate::ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.forget_blocked(id);
            self.discard_transaction(id);
        }
        self.evict = crate::evict::EvictState::default();
        if self.config.eviction_true_lru {
            self.config.eviction_true_lru = false;
            self.set_true_lru_comparison(true);
        }
        self.mem = crate::memory::MemState::default();
        let total_connections = self.stats.total_connections;
        let peak = self.stats.peak_memory;
        self.stats = crate::stats::Stats {
            total_connections,
            peak_memory: peak,
            ..crate::stats::Stats::default()
        };
        // The new process: nothing changed since the load, and an AOF starts from what it
        // loaded.
        let appendonly = self.config.appendonly;
        let rdb = self.persist.rdb.take();
        let rdb_saves = self.persist.rdb_saves;
        self.persist = Persist::new(now);
        self.persist.rdb = rdb;
        self.persist.rdb_saves = rdb_saves;
        if appendonly {
            let base = snapshot_of(self);
            self.persist.aof_base = Some(base);
        }
        let summary = format!(
            "{} from {}: {} keys loaded, {} expired while down, {} writes lost",
            if crashed {
                "Crashed and restarted"
            } else {
                "Shut down and restarted"
            },
            match from {
                "aof" => "the AOF",
                "rdb" => "the RDB file",
                _ => "nothing (no persistence)",
            },
            keys_loaded,
            keys_expired,
            lost_count
        );
        RestartReport {
            crashed,
            loaded_from: from,
            keys_loaded,
            keys_expired,
            lost,
            lost_count,
            summary,
        }
    }

    /// INFO persistence.
    pub fn info_persistence_lines(&self) -> Vec<String> {
        let p = &self.persist;
        let bg = p.bgsave.as_ref();
        let mut v: Vec<String> = vec![
            "loading:0".into(),
            "async_loading:0".into(),
            "current_cow_peak:0".into(),
            "current_cow_size:0".into(),
            "current_cow_size_age:0".into(),
            "current_fork_perc:0.00".into(),
            "current_save_keys_processed:0".into(),
            "current_save_keys_total:0".into(),
            format!("rdb_changes_since_last_save:{}", self.changes_since_save()),
            format!("rdb_bgsave_in_progress:{}", u8::from(bg.is_some())),
            format!("rdb_last_save_time:{}", self.last_save()),
            "rdb_last_bgsave_status:ok".into(),
            format!("rdb_last_bgsave_time_sec:{}", p.last_bgsave_secs),
            format!(
                "rdb_current_bgsave_time_sec:{}",
                bg.map_or(-1, |b| (self.now - b.started) / 1000)
            ),
            format!("rdb_saves:{}", p.rdb_saves),
            "rdb_last_cow_size:0".into(),
            "rdb_last_load_keys_expired:0".into(),
            "rdb_last_load_keys_loaded:0".into(),
            format!("aof_enabled:{}", u8::from(self.config.appendonly)),
            "aof_rewrite_in_progress:0".into(),
            "aof_rewrite_scheduled:0".into(),
            "aof_last_rewrite_time_sec:-1".into(),
            "aof_current_rewrite_time_sec:-1".into(),
            "aof_last_bgrewrite_status:ok".into(),
            format!("aof_rewrites:{}", p.aof_rewrites),
            "aof_rewrites_consecutive_failures:0".into(),
            "aof_last_write_status:ok".into(),
            "aof_last_cow_size:0".into(),
            "module_fork_in_progress:0".into(),
            "module_fork_last_cow_size:0".into(),
        ];
        if self.config.appendonly {
            v.extend([
                "aof_current_size:0".to_string(),
                "aof_base_size:0".to_string(),
                "aof_pending_rewrite:0".to_string(),
                "aof_buffer_length:0".to_string(),
                format!(
                    "aof_pending_bio_fsync:{}",
                    u8::from(p.aof_fsynced < p.aof_log.len())
                ),
                "aof_delayed_fsync:0".to_string(),
            ]);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Reply};

    fn engine(save: &str, aof: Option<&str>) -> (Engine, crate::ClientId) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.run(c, &["CONFIG", "SET", "save", save], 0);
        if let Some(fsync) = aof {
            e.run(c, &["CONFIG", "SET", "appendfsync", fsync], 0);
            e.run(c, &["CONFIG", "SET", "appendonly", "yes"], 0);
        }
        (e, c)
    }

    fn lost_keys(r: &RestartReport) -> Vec<String> {
        r.lost
            .iter()
            .map(|w| String::from_utf8_lossy(&w.argv[1]).into_owned())
            .collect()
    }

    #[test]
    fn save_points_parse() {
        assert_eq!(save_points("3600 1 300 100"), vec![(3600, 1), (300, 100)]);
        assert!(save_points("").is_empty());
    }

    #[test]
    fn crash_without_persistence_loses_everything() {
        let (mut e, c) = engine("", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["SET", "b", "1"], 10);
        let r = e.restart(RestartKind::Crash, 100);
        assert_eq!(r.loaded_from, "none");
        assert_eq!(r.lost_count, 2);
        assert_eq!(lost_keys(&r), ["a", "b"]);
        assert_eq!(e.dbsize(0), 0);
    }

    #[test]
    fn rdb_keeps_what_was_saved() {
        let (mut e, c) = engine("", None);
        e.run(c, &["SET", "a", "1"], 0);
        assert_eq!(e.run(c, &["SAVE"], 0), Reply::OK);
        assert_eq!(e.run(c, &["LASTSAVE"], 5000), Reply::Integer(0));
        e.run(c, &["SET", "b", "1"], 5000);
        let r = e.restart(RestartKind::Crash, 6000);
        assert_eq!(r.loaded_from, "rdb");
        assert_eq!(lost_keys(&r), ["b"]);
        assert!(r.lost[0].reason.contains("after the last RDB save"));
        assert_eq!(e.run(c, &["GET", "a"], 6000), Reply::bulk("1"));
        assert_eq!(e.run(c, &["GET", "b"], 6000), Reply::Nil);
    }

    #[test]
    fn bgsave_is_durable_only_when_done() {
        let (mut e, c) = engine("", None);
        e.config_mut().bgsave_base_ms = 1000;
        e.run(c, &["SET", "a", "1"], 0);
        assert_eq!(
            e.run(c, &["BGSAVE"], 0),
            Reply::simple("Background saving started")
        );
        assert!(e.run(c, &["BGSAVE"], 10).is_error());
        e.run(c, &["SET", "b", "1"], 20);
        let mut crashed = e.clone();
        let r = crashed.restart(RestartKind::Crash, 500);
        assert_eq!(lost_keys(&r), ["a", "b"]);
        assert!(r.lost[0].reason.contains("background save"));
        e.advance(1500);
        let r = e.restart(RestartKind::Crash, 1500);
        // The snapshot was taken at the fork: the write after it is lost.
        assert_eq!(lost_keys(&r), ["b"]);
    }

    #[test]
    fn save_points_fire_on_the_virtual_clock() {
        let (mut e, c) = engine("10 2", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["SET", "b", "1"], 0);
        e.advance(10_500);
        assert_eq!(e.changes_since_save(), 2);
        e.advance(11_500);
        assert_eq!(e.changes_since_save(), 0);
        assert_eq!(e.persist.rdb_saves, 1);
        assert_eq!(e.last_save(), 11);
    }

    #[test]
    fn a_save_point_whose_time_has_passed_fires_on_the_write_that_reaches_its_count() {
        let (mut e, c) = engine("10 2", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.advance(20_000);
        assert_eq!(e.changes_since_save(), 1);
        e.run(c, &["SET", "b", "1"], 20_000);
        e.advance(30_000);
        assert_eq!(e.persist.rdb_saves, 1);
        assert_eq!(e.last_save(), 19);
        // A new setting brings its own points, read again on the next write.
        e.run(c, &["CONFIG", "SET", "save", "100 1"], 30_000);
        e.run(c, &["SET", "c", "1"], 30_000);
        e.advance(120_000);
        assert_eq!(e.persist.rdb_saves, 1);
        e.run(c, &["SET", "d", "1"], 121_500);
        e.advance(122_000);
        assert_eq!(e.persist.rdb_saves, 2);
    }

    #[test]
    fn save_points_changed_through_config_mut_are_read_on_the_next_write() {
        let (mut e, c) = engine("", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.advance(20_000);
        assert_eq!(e.persist.rdb_saves, 0);
        e.config_mut().save = "10 1".into();
        e.run(c, &["SET", "b", "1"], 20_000);
        assert_eq!(e.persist.rdb_saves, 1);
        e.config_mut().save = String::new();
        e.run(c, &["SET", "c", "1"], 40_000);
        e.advance(60_000);
        assert_eq!(e.persist.rdb_saves, 1);
    }

    #[test]
    fn aof_everysec_loses_the_last_second() {
        let (mut e, c) = engine("", Some("everysec"));
        e.run(c, &["SET", "a", "1"], 100);
        e.run(c, &["SADD", "s", "x", "y"], 900);
        e.run(c, &["SPOP", "s"], 1200);
        e.run(c, &["SET", "b", "1"], 1500);
        let before = e.run(c, &["SMEMBERS", "s"], 1500);
        let r = e.restart(RestartKind::Crash, 1800);
        assert_eq!(r.loaded_from, "aof");
        assert_eq!(lost_keys(&r), ["s", "b"]);
        assert!(r.lost[0].reason.contains("everysec"));
        assert_eq!(e.run(c, &["SCARD", "s"], 1800), Reply::Integer(2));
        // Without the crash, the SPOP's outcome would have been replayed exactly.
        let (mut e, c) = engine("", Some("always"));
        e.run(c, &["SADD", "s", "x", "y", "z"], 0);
        e.run(c, &["SPOP", "s"], 0);
        let before2 = e.run(c, &["SMEMBERS", "s"], 0);
        let r = e.restart(RestartKind::Crash, 10);
        assert!(r.lost.is_empty());
        assert_eq!(e.run(c, &["SMEMBERS", "s"], 10), before2);
        let _ = before;
    }

    #[test]
    fn aof_no_flushes_every_thirty_seconds() {
        let (mut e, c) = engine("", Some("no"));
        e.run(c, &["SET", "a", "1"], 1000);
        e.run(c, &["SET", "b", "1"], 31_000);
        let r = e.restart(RestartKind::Crash, 40_000);
        assert_eq!(lost_keys(&r), ["b"]);
    }

    #[test]
    fn clean_shutdown_saves_first_and_ttls_run_while_down() {
        let (mut e, c) = engine("3600 1", None);
        e.run(c, &["SET", "a", "1", "PX", "5000"], 0);
        e.run(c, &["SET", "b", "1"], 0);
        let r = e.restart(RestartKind::CleanShutdown, 1000);
        assert!(r.lost.is_empty());
        assert_eq!(r.keys_loaded, 2);
        let r = e.restart(RestartKind::CleanShutdown, 10_000);
        assert_eq!(r.keys_expired, 1);
        assert_eq!(e.dbsize(0), 1);
    }

    #[test]
    fn flushall_saves_the_empty_dataset_when_save_points_exist() {
        let (mut e, c) = engine("3600 1", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["FLUSHALL"], 5000);
        assert_eq!(e.changes_since_save(), 1);
        assert_eq!(e.last_save(), 5);
        e.run(c, &["SET", "b", "1"], 6000);
        let r = e.restart(RestartKind::Crash, 7000);
        assert_eq!(r.loaded_from, "rdb");
        assert_eq!(lost_keys(&r), ["b"]);
        assert_eq!(e.dbsize(0), 0);
    }

    #[test]
    fn info_persistence_follows_the_model_and_restarts_are_events() {
        let (mut e, c) = engine("", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["SET", "b", "1"], 0);
        let info = crate::cmd::server::info_text(&mut e, &[b"persistence"]);
        assert!(info.contains("rdb_changes_since_last_save:2"), "{info}");
        e.run(c, &["BGSAVE"], 3000);
        let info = crate::cmd::server::info_text(&mut e, &[b"persistence"]);
        assert!(info.contains("rdb_bgsave_in_progress:1"), "{info}");
        e.advance(4000);
        let info = crate::cmd::server::info_text(&mut e, &[b"persistence"]);
        assert!(info.contains("rdb_bgsave_in_progress:0"), "{info}");
        assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
        assert!(info.contains("rdb_saves:1"), "{info}");
        e.drain_events();
        let report = e.restart(RestartKind::Crash, 5000);
        let events = e.drain_events();
        assert!(events.contains(&Event::Restarted(report)));
    }

    fn info_has(e: &mut Engine, line: &str) -> bool {
        crate::cmd::server::info_text(e, &[b"persistence"])
            .lines()
            .any(|l| l == line)
    }

    // The writes below run at the time of the last tick, where persistence has the least to
    // do: each checks one thing such a write must still do.

    #[test]
    fn a_write_at_the_last_tick_is_fsynced_at_once_under_appendfsync_always() {
        let (mut e, c) = engine("", Some("always"));
        e.advance(1000);
        e.run(c, &["SET", "a", "1"], 1000);
        assert!(info_has(&mut e, "aof_pending_bio_fsync:0"));
        let (mut e, c) = engine("", Some("everysec"));
        e.advance(1000);
        e.run(c, &["SET", "a", "1"], 1000);
        assert!(info_has(&mut e, "aof_pending_bio_fsync:1"));
        e.advance(2000);
        assert!(info_has(&mut e, "aof_pending_bio_fsync:0"));
    }

    #[test]
    fn a_transaction_that_turns_the_aof_on_logs_its_own_write() {
        let (mut e, c) = engine("", None);
        e.advance(1000);
        e.run(c, &["MULTI"], 1000);
        e.run(c, &["CONFIG", "SET", "appendonly", "yes"], 1000);
        e.run(c, &["SET", "a", "1"], 1000);
        e.run(c, &["EXEC"], 1000);
        assert!(info_has(&mut e, "aof_rewrites:1"));
    }

    #[test]
    fn a_background_save_finishes_or_starts_with_the_write_that_finds_it_due() {
        let (mut e, c) = engine("", None);
        e.config_mut().bgsave_base_ms = 1000;
        e.run(c, &["BGSAVE"], 0);
        e.run(c, &["SET", "a", "1"], 999);
        assert!(info_has(&mut e, "rdb_bgsave_in_progress:1"));
        e.run(c, &["SET", "a", "2"], 1000);
        assert!(info_has(&mut e, "rdb_bgsave_in_progress:0"));
        assert_eq!(e.run(c, &["LASTSAVE"], 1000), Reply::Integer(1));
        // BGSAVE inside EXEC waits for the tick that follows the transaction.
        e.advance(2000);
        e.run(c, &["MULTI"], 2000);
        e.run(c, &["BGSAVE"], 2000);
        e.run(c, &["SET", "b", "1"], 2000);
        e.run(c, &["EXEC"], 2000);
        assert!(info_has(&mut e, "rdb_bgsave_in_progress:1"));
        // So does BGREWRITEAOF (here after the background save).
        let (mut e, c) = engine("", Some("always"));
        e.config_mut().bgsave_base_ms = 1000;
        e.advance(0);
        assert!(info_has(&mut e, "aof_rewrites:1"));
        e.run(c, &["BGSAVE"], 0);
        e.run(c, &["BGREWRITEAOF"], 0);
        assert!(info_has(&mut e, "aof_rewrites:1"));
        e.run(c, &["SET", "a", "1"], 1000);
        assert!(info_has(&mut e, "aof_rewrites:2"));
    }

    #[test]
    fn the_write_that_reaches_a_due_save_points_count_starts_the_save() {
        let (mut e, c) = engine("10 2", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.advance(20_000);
        assert!(info_has(&mut e, "rdb_saves:0"));
        e.run(c, &["SET", "b", "1"], 20_000);
        // Started a second before (see `save_point_due`), so already finished.
        assert!(info_has(&mut e, "rdb_saves:1"));
        assert!(info_has(&mut e, "rdb_changes_since_last_save:0"));
    }

    #[test]
    fn a_tick_after_save_lets_go_of_the_writes_it_made_durable() {
        // Without events the journal only counts writes; a tick after SAVE, with nothing else
        // to do, forgets the count, so that a crash reports only the write made after it.
        let mut e = Engine::new(Config {
            record_events: false,
            save: String::new(),
            ..Config::default()
        });
        let c = e.connect(0);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["SAVE"], 0);
        e.advance(0);
        e.run(c, &["SET", "b", "1"], 0);
        let r = e.restart(RestartKind::Crash, 0);
        assert_eq!(r.lost_count, 1);
    }

    #[test]
    fn debug_reload_loses_nothing() {
        let (mut e, c) = engine("", None);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["RPUSH", "l", "x", "y"], 0);
        assert_eq!(e.run(c, &["DEBUG", "RELOAD"], 0), Reply::OK);
        assert_eq!(
            e.run(c, &["LRANGE", "l", "0", "-1"], 0),
            Reply::bulks(["x", "y"])
        );
        assert_eq!(e.changes_since_save(), 0);
    }

    #[test]
    fn evicted_and_expired_keys_stay_deleted_after_an_aof_restart() {
        let (mut e, c) = engine("", Some("always"));
        e.run(c, &["SET", "a", "1", "PX", "10"], 0);
        e.run(c, &["SET", "b", "1"], 0);
        e.advance(2000);
        assert_eq!(e.dbsize(0), 1);
        e.restart(RestartKind::Crash, 2000);
        assert_eq!(e.dbsize(0), 1);
    }
}
