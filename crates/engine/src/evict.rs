//! Eviction when `used_memory` passes `maxmemory`, the way Redis 7.0's `evict.c` does it.
//!
//! Redis does not keep keys in LRU or LFU order: that would cost memory per key and work per
//! access. Instead, each time it must free memory it samples `maxmemory-samples` keys per
//! database (`dictGetSomeKeys`: a random bucket, then consecutive buckets until enough keys are
//! collected), scores them (idle time at one-second resolution for LRU, 255 minus the decayed
//! logarithmic counter for LFU, the nearest deadline for volatile-ttl), and merges them into a
//! pool of the 16 best candidates kept across rounds. The best candidate that still exists is
//! deleted, and the loop repeats until enough memory is freed or the time budget set by
//! `maxmemory-eviction-tenacity` runs out (the rest is freed between commands, by `advance`).
//!
//! Every round is an `Event::Eviction` carrying what was sampled, the pool before and after and
//! the victim, so the playground can show why that key went. With `Config::eviction_true_lru`
//! on, a shadow exact-LRU cache replays the same accesses and each round also says which key an
//! exact LRU would have evicted instead.

use std::collections::{BTreeMap, HashMap};

use crate::config::MaxmemoryPolicy;
use crate::dict::{Dict, Key};
use crate::event::{Candidate, Event, EvictionRound};
use crate::object::Entry;
use crate::table::{CommandSpec, Flags};
use crate::{error, ClientId, Engine, Reply};

/// Candidates kept between rounds (Redis's EVPOOL_SIZE).
pub const EVPOOL_SIZE: usize = 16;
/// Virtual time one key's deletion is charged against the tenacity budget.
pub const EVICT_KEY_US: u64 = 2;
/// The LRU clock: seconds, in 24 bits.
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

/// What a call to `perform_evictions` achieved (Redis's EVICT_OK / EVICT_RUNNING / EVICT_FAIL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evicted {
    /// Under the limit (or no limit).
    Ok,
    /// Still over, but eviction goes on between commands; the command may run.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

/// One pool slot: a key and its score (higher is a better victim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolEntry {
    pub db: usize,
    pub key: Vec<u8>,
    pub score: u64,
}

#[derive(Clone, Debug, Default)]
pub struct EvictState {
    /// Ascending by score: the best candidate is last.
    pub pool: Vec<PoolEntry>,
    /// Where the random policies start their round-robin over the databases.
    next_db: usize,
    /// Eviction ran out of time and goes on between commands (Redis's evictionTimeProc).
    pub running: bool,
    /// Whether memory was over the limit when the current command started: what a script's
    /// writes are checked against (Redis's `pre_command_oom_state`).
    pub pre_command_oom: bool,
    /// The exact-LRU comparison, when enabled.
    pub shadow: Option<TrueLru>,
}

impl EvictState {
    pub fn new(true_lru: bool) -> EvictState {
        EvictState {
            shadow: true_lru.then(TrueLru::default),
            ..EvictState::default()
        }
    }
}

/// An exact LRU cache fed with the same accesses as the engine: it holds the keys it has not
/// evicted, in access order, and evicts its least recently used key each time the engine evicts
/// one. Keys it evicted but the engine kept are misses to it, and are not touched again until a
/// write brings them back.
#[derive(Clone, Debug, Default)]
pub struct TrueLru {
    seq: u64,
    by_key: HashMap<(usize, Vec<u8>), u64>,
    order: BTreeMap<u64, (usize, Vec<u8>)>,
    /// Every key this cache evicted, in order.
    pub evicted: Vec<(usize, Vec<u8>)>,
}

impl TrueLru {
    /// A read: moves a held key to the most recent end.
    pub fn access(&mut self, db: usize, key: &[u8]) {
        let id = (db, key.to_vec());
        if let Some(old) = self.by_key.get(&id).copied() {
            self.order.remove(&old);
            self.seq += 1;
            self.order.insert(self.seq, id.clone());
            self.by_key.insert(id, self.seq);
        }
    }

    /// A write: the key is (again) held, as the most recent.
    pub fn write(&mut self, db: usize, key: &[u8]) {
        let id = (db, key.to_vec());
        if let Some(old) = self.by_key.get(&id).copied() {
            self.order.remove(&old);
        }
        self.seq += 1;
        self.order.insert(self.seq, id.clone());
        self.by_key.insert(id, self.seq);
    }

    pub fn forget(&mut self, db: usize, key: &[u8]) {
        if let Some(old) = self.by_key.remove(&(db, key.to_vec())) {
            self.order.remove(&old);
        }
    }

    /// Evicts the least recently used key for which `eligible` holds (it exists in the engine
    /// and fits the policy); keys that no longer exist are dropped on the way.
    fn evict(
        &mut self,
        mut eligible: impl FnMut(usize, &[u8]) -> Option<bool>,
    ) -> Option<(usize, Vec<u8>)> {
        let mut gone = Vec::new();
        let mut victim = None;
        for (seq, (db, key)) in &self.order {
            match eligible(*db, key) {
                None => gone.push(*seq),
                Some(true) => {
                    victim = Some((*seq, (*db, key.clone())));
                    break;
                }
                Some(false) => {}
            }
        }
        for seq in gone {
            if let Some(id) = self.order.remove(&seq) {
                self.by_key.remove(&id);
            }
        }
        let (seq, id) = victim?;
        self.order.remove(&seq);
        self.by_key.remove(&id);
        self.evicted.push(id.clone());
        Some(id)
    }
}

/// Redis's `dictGetSomeKeys`: up to `count` keys from consecutive buckets starting at a random
/// one, jumping elsewhere after a run of empty buckets; a chain that overflows the wanted count
/// replaces earlier picks at random. Not uniform, and not meant to be.
pub fn get_some_keys<'d, V>(
    d: &'d Dict<V>,
    count: usize,
    rng: &mut crate::rng::Rng,
) -> Vec<&'d Key> {
    let count = count.min(d.len());
    let mut out: Vec<&Key> = Vec::with_capacity(count);
    if count == 0 {
        return out;
    }
    let mask = d.slots() as u64 - 1;
    let mut maxsteps = count * 10;
    let mut i = rng.next_u64() & mask;
    let mut emptylen = 0;
    let mut stored = 0usize;
    while stored < count && maxsteps > 0 {
        maxsteps -= 1;
        let mut chain = d.chain(i as usize).peekable();
        if chain.peek().is_none() {
            emptylen += 1;
            if emptylen >= 5 && emptylen > count {
                i = rng.next_u64() & mask;
                emptylen = 0;
                continue;
            }
        } else {
            emptylen = 0;
            for (k, _) in chain {
                if stored < count {
                    out.push(k);
                } else {
                    let r = (rng.next_u64() % (stored as u64 + 1)) as usize;
                    if r < count {
                        out[r] = k;
                    }
                }
                stored += 1;
            }
            if stored >= count {
                break;
            }
        }
        i = (i + 1) & mask;
    }
    out
}

/// Idle time in milliseconds as Redis estimates it from its seconds LRU clock.
pub fn idle_ms(entry: &Entry, now_ms: i64) -> u64 {
    let clock = (now_ms / 1000) & LRU_CLOCK_MAX;
    let last = (entry.last_access_ms / 1000) & LRU_CLOCK_MAX;
    let ticks = if clock >= last {
        clock - last
    } else {
        clock + (LRU_CLOCK_MAX - last)
    };
    ticks as u64 * 1000
}

/// Time budget of one eviction call, in microseconds, for a tenacity of 0..=100.
pub fn time_limit_us(tenacity: i64) -> u64 {
    let t = tenacity.clamp(0, 100);
    if t <= 10 {
        50 * t as u64
    } else if t < 100 {
        (500.0 * 1.15f64.powf(t as f64 - 10.0)) as u64
    } else {
        u64::MAX
    }
}

fn allkeys(p: MaxmemoryPolicy) -> bool {
    matches!(
        p,
        MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::AllkeysRandom
    )
}

/// Inserts a sampled key into the pool, keeping it sorted and at most `EVPOOL_SIZE` long, as
/// `evictionPoolPopulate` does: a key worse than every pooled one is dropped when the pool is
/// full; otherwise it goes in order, pushing out the worst (leftmost) when there is no room.
fn pool_insert(pool: &mut Vec<PoolEntry>, db: usize, key: &[u8], score: u64) {
    let k = pool
        .iter()
        .position(|p| p.score >= score)
        .unwrap_or(pool.len());
    let full = pool.len() == EVPOOL_SIZE;
    if k == 0 && full {
        return;
    }
    // The slot pushed out lends its key buffer, as Redis reuses its pooled sds strings.
    let mut entry = if full {
        pool.remove(0)
    } else {
        PoolEntry {
            db,
            key: Vec::new(),
            score,
        }
    };
    entry.key.clear();
    entry.key.extend_from_slice(key);
    entry.db = db;
    entry.score = score;
    pool.insert(if full { k - 1 } else { k }, entry);
}

fn candidates(pool: &[PoolEntry]) -> Vec<Candidate> {
    pool.iter()
        .map(|p| Candidate {
            db: p.db,
            key: p.key.clone(),
            score: p.score,
        })
        .collect()
}

/// The score of a key under the configured policy (higher: evicted sooner).
fn evict_score(config: &crate::Config, entry: &Entry, now: i64) -> u64 {
    let p = config.maxmemory_policy;
    if p.is_lru() {
        idle_ms(entry, now)
    } else if p.is_lfu() {
        255 - crate::keyspace::lfu_decayed(entry, now, config.lfu_decay_time) as u64
    } else {
        u64::MAX - entry.expire_at().unwrap_or(i64::MAX) as u64
    }
}

impl Engine {
    /// Memory that counts against maxmemory. Redis leaves out its AOF buffer and replica
    /// buffers (what eviction itself would grow); the model has neither, so this is all of it.
    pub fn memory_for_eviction(&self) -> u64 {
        self.used_memory()
    }

    /// Frees memory down to `maxmemory` under the configured policy (Redis's
    /// `performEvictions`).
    pub fn perform_evictions(&mut self) -> Evicted {
        self.account();
        let maxmemory = self.config.maxmemory;
        if maxmemory == 0 {
            self.evict.running = false;
            return Evicted::Ok;
        }
        let used = self.memory_for_eviction();
        if used <= maxmemory {
            self.evict.running = false;
            return Evicted::Ok;
        }
        let policy = self.config.maxmemory_policy;
        if policy == MaxmemoryPolicy::NoEviction {
            return Evicted::Fail;
        }
        let to_free = used - maxmemory;
        let limit = time_limit_us(self.config.maxmemory_eviction_tenacity);
        let mut freed = 0u64;
        let mut keys_freed = 0u64;
        let mut spent_us = 0u64;
        while freed < to_free {
            let round = if matches!(
                policy,
                MaxmemoryPolicy::AllkeysRandom | MaxmemoryPolicy::VolatileRandom
            ) {
                self.pick_random(policy)
            } else {
                self.pick_from_pool(policy)
            };
            let Some(mut round) = round else {
                self.evict.running = false;
                return Evicted::Fail;
            };
            let (db, key) = round.victim.clone().expect("a round has a victim");
            let before = self.used_memory();
            self.evict_key(db, &key);
            let after = self.used_memory();
            freed += before.saturating_sub(after);
            keys_freed += 1;
            spent_us += EVICT_KEY_US;
            if let Some(shadow) = self.evict.shadow.as_mut() {
                let dbs = &self.dbs;
                let all = allkeys(policy);
                round.true_lru_victim = shadow.evict(|d, k| {
                    let e = dbs.get(d)?.keys.get(k)?;
                    Some(all || e.expire_at().is_some())
                });
                // The engine's victim is gone for the exact cache too (a miss from now on).
                shadow.forget(db, &key);
            }
            round.used_before = before;
            round.used_after = after;
            round.maxmemory = maxmemory;
            if self.recording() {
                self.emit(Event::Eviction(round));
            }
            if keys_freed.is_multiple_of(16) && spent_us > limit {
                self.evict.running = true;
                return Evicted::Running;
            }
        }
        self.evict.running = false;
        Evicted::Ok
    }

    /// Deletes an evicted key with everything Redis does for it: WATCH, notification, stats.
    fn evict_key(&mut self, db: usize, key: &[u8]) {
        self.dbs[db].remove(key);
        self.persist_deleted(db, key);
        self.stats.evicted_keys += 1;
        self.touch_watched_key(db, key);
        self.keyspace_notification(db, key, "evicted");
    }

    /// One round of the pool policies: sample every database into the pool, then take the best
    /// pooled key that still exists.
    fn pick_from_pool(&mut self, policy: MaxmemoryPolicy) -> Option<EvictionRound> {
        let all = allkeys(policy);
        let samples = self.config.maxmemory_samples.max(1) as usize;
        let recording = self.recording();
        let mut round = EvictionRound {
            policy: policy.name(),
            pool_before: if recording {
                candidates(&self.evict.pool)
            } else {
                Vec::new()
            },
            ..EvictionRound::default()
        };
        // Each pass samples at least one existing key into the pool, so this ends at once in
        // practice; the bound only guards against a keyspace and expires table out of step.
        for _ in 0..64 {
            let mut total_keys = 0;
            for dbi in 0..self.dbs.len() {
                let d = &self.dbs[dbi];
                let size = if all { d.keys.len() } else { d.expires.len() };
                if size == 0 {
                    continue;
                }
                total_keys += size;
                let Engine {
                    dbs,
                    evict,
                    rng,
                    config,
                    now,
                    ..
                } = &mut *self;
                let d = &dbs[dbi];
                let picked = if all {
                    get_some_keys(&d.keys, samples, rng)
                } else {
                    get_some_keys(&d.expires, samples, rng)
                };
                for key in picked {
                    let Some(entry) = d.keys.get(key) else {
                        continue;
                    };
                    let score = evict_score(config, entry, *now);
                    if recording {
                        round.sampled.push(Candidate {
                            db: dbi,
                            key: key.to_vec(),
                            score,
                        });
                    }
                    pool_insert(&mut evict.pool, dbi, key, score);
                }
            }
            if total_keys == 0 {
                return None;
            }
            // Best first; a pooled key that was deleted since it was sampled is dropped.
            while let Some(best) = self.evict.pool.pop() {
                let d = &self.dbs[best.db];
                let exists = if all {
                    d.keys.contains_key(&best.key)
                } else {
                    d.expires.contains_key(&best.key)
                };
                if exists {
                    round.victim = Some((best.db, best.key));
                    if recording {
                        round.pool_after = candidates(&self.evict.pool);
                    }
                    return Some(round);
                }
            }
        }
        None
    }

    /// allkeys-random and volatile-random: one random key from the next non-empty database.
    fn pick_random(&mut self, policy: MaxmemoryPolicy) -> Option<EvictionRound> {
        let all = policy == MaxmemoryPolicy::AllkeysRandom;
        let n = self.dbs.len();
        for _ in 0..n {
            self.evict.next_db = (self.evict.next_db + 1) % n;
            let j = self.evict.next_db;
            let d = &self.dbs[j];
            let key = if all {
                d.keys.random_entry(&mut self.rng).map(|(k, _)| k.to_vec())
            } else {
                d.expires
                    .random_entry(&mut self.rng)
                    .map(|(k, _)| k.to_vec())
            };
            if let Some(key) = key {
                return Some(EvictionRound {
                    policy: policy.name(),
                    sampled: vec![Candidate {
                        db: j,
                        key: key.clone(),
                        score: 0,
                    }],
                    victim: Some((j, key)),
                    ..EvictionRound::default()
                });
            }
        }
        None
    }

    /// The maxmemory step of Redis's `processCommand`: evict if needed, then refuse a command
    /// that may grow memory (DENYOOM), or anything but EXEC/DISCARD/QUIT/RESET inside MULTI,
    /// when memory is still over the limit. The refusal poisons an open transaction.
    pub(crate) fn maxmemory_gate(
        &mut self,
        client: ClientId,
        spec: &'static CommandSpec,
    ) -> Option<Reply> {
        if self.config.eviction_true_lru != self.evict.shadow.is_some() {
            // The switch was flipped through `config_mut`.
            let on = self.config.eviction_true_lru;
            self.config.eviction_true_lru = !on;
            self.set_true_lru_comparison(on);
        }
        if self.config.maxmemory == 0 {
            self.evict.pre_command_oom = false;
            return None;
        }
        if self.clients.get(&client).is_some_and(|c| c.in_exec) {
            return None;
        }
        let oom = self.perform_evictions() == Evicted::Fail;
        self.evict.pre_command_oom = oom;
        if !oom {
            return None;
        }
        let in_multi = self.in_multi(client);
        let mut reject = spec.flags.has(Flags::DENYOOM);
        if spec.name == "exec" {
            reject = self.queued_denyoom(client);
        }
        if in_multi && !matches!(spec.name, "exec" | "discard" | "quit" | "reset") {
            reject = true;
        }
        if !reject {
            return None;
        }
        self.stats.total_error_replies += 1;
        self.stats.rejected_calls += 1;
        self.stats.record_rejected(spec.name);
        self.flag_transaction(client);
        // A refused EXEC ends the transaction, saying why.
        let text = if spec.name == "exec" {
            self.discard_transaction(client);
            error::EXECABORT_OOM
        } else {
            error::OOM
        };
        self.stats.record_error(text);
        Some(Reply::error(text))
    }

    /// Whether the client's queued transaction holds a command flagged DENYOOM.
    fn queued_denyoom(&self, client: ClientId) -> bool {
        let Some(m) = self.clients.get(&client).and_then(|c| c.multi.as_ref()) else {
            return false;
        };
        m.queued.iter().any(|argv| {
            let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            crate::table::lookup(&args).is_ok_and(|s| s.flags.has(Flags::DENYOOM))
        })
    }

    /// The check a script makes before each write it runs: the error when memory was over the
    /// limit as the script's command started and the command may grow memory.
    pub fn script_oom_check(&self, spec: &CommandSpec) -> Option<Reply> {
        (self.config.maxmemory > 0 && self.evict.pre_command_oom && spec.flags.has(Flags::DENYOOM))
            .then(|| Reply::error(error::OOM))
    }

    /// Turns the exact-LRU comparison on or off (`Config::eviction_true_lru`). Turning it on
    /// starts the shadow with every existing key, oldest access first.
    pub fn set_true_lru_comparison(&mut self, on: bool) {
        self.config.eviction_true_lru = on;
        if !on {
            self.evict.shadow = None;
            return;
        }
        if self.evict.shadow.is_some() {
            return;
        }
        let mut keys: Vec<(i64, usize, Vec<u8>)> = Vec::new();
        for (dbi, d) in self.dbs.iter().enumerate() {
            for (k, e) in d.keys.iter() {
                keys.push((e.last_access_ms, dbi, k.to_vec()));
            }
        }
        keys.sort();
        let mut shadow = TrueLru::default();
        for (_, db, k) in keys {
            shadow.write(db, &k);
        }
        self.evict.shadow = Some(shadow);
    }

    /// Feeds a key access to the exact-LRU shadow.
    pub(crate) fn shadow_access(&mut self, db: usize, key: &[u8], write: bool) {
        if let Some(s) = self.evict.shadow.as_mut() {
            if !write {
                s.access(db, key);
            } else if self.dbs[db].keys.contains_key(key) {
                s.write(db, key);
            } else {
                s.forget(db, key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn engine(policy: &str, maxmemory: u64) -> (Engine, ClientId) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.run(c, &["CONFIG", "SET", "maxmemory-policy", policy], 0);
        if maxmemory > 0 {
            let used = e.used_memory();
            e.run(
                c,
                &[
                    "CONFIG",
                    "SET",
                    "maxmemory",
                    &(used + maxmemory).to_string(),
                ],
                0,
            );
        }
        (e, c)
    }

    #[test]
    fn pool_keeps_the_sixteen_best_in_order() {
        let mut pool = Vec::new();
        for s in [5u64, 1, 9, 3, 7] {
            pool_insert(&mut pool, 0, &[s as u8], s);
        }
        let scores: Vec<u64> = pool.iter().map(|p| p.score).collect();
        assert_eq!(scores, [1, 3, 5, 7, 9]);
        for s in 10..30 {
            pool_insert(&mut pool, 0, &[s as u8], s);
        }
        assert_eq!(pool.len(), EVPOOL_SIZE);
        assert_eq!(pool[0].score, 14);
        assert_eq!(pool.last().map(|p| p.score), Some(29));
        // Worse than everything in a full pool: ignored.
        pool_insert(&mut pool, 0, &[0], 2);
        assert_eq!(pool[0].score, 14);
    }

    #[test]
    fn some_keys_come_from_the_table() {
        let mut d: Dict<()> = Dict::new(3);
        for i in 0..1000u32 {
            d.insert(i.to_string().into_bytes().into(), ());
        }
        let mut rng = crate::rng::Rng::new(1);
        let keys = get_some_keys(&d, 5, &mut rng);
        assert_eq!(keys.len(), 5);
        assert!(keys.iter().all(|k| d.contains_key(k)));
        let small: Dict<()> = Dict::new(3);
        assert!(get_some_keys(&small, 5, &mut rng).is_empty());
    }

    #[test]
    fn tenacity_budget() {
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(11), 575);
        assert_eq!(time_limit_us(100), u64::MAX);
    }

    #[test]
    fn noeviction_refuses_writes_but_not_reads() {
        let (mut e, c) = engine("noeviction", 0);
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["CONFIG", "SET", "maxmemory", "1"], 0);
        assert_eq!(e.run(c, &["SET", "b", "2"], 0), Reply::error(error::OOM));
        assert_eq!(e.run(c, &["GET", "a"], 0), Reply::bulk("1"));
        assert_eq!(e.run(c, &["DEL", "a"], 0), Reply::Integer(1));
        // Inside MULTI even a read is refused, and the transaction is poisoned.
        e.run(c, &["MULTI"], 0);
        assert_eq!(e.run(c, &["GET", "a"], 0), Reply::error(error::OOM));
        assert_eq!(e.run(c, &["EXEC"], 0), Reply::error(error::EXECABORT));
        let set = crate::table::get(b"set").expect("set");
        assert_eq!(e.script_oom_check(set), Some(Reply::error(error::OOM)));
        e.run(c, &["CONFIG", "SET", "maxmemory", "0"], 0);
        assert_eq!(e.script_oom_check(set), None);
        // A queued write makes EXEC itself refused, and the transaction is over.
        e.run(c, &["MULTI"], 0);
        e.run(c, &["SET", "b", "2"], 0);
        e.config_mut().maxmemory = 1;
        assert_eq!(e.run(c, &["EXEC"], 0), Reply::error(error::EXECABORT_OOM));
        assert_eq!(
            e.run(c, &["DISCARD"], 0),
            Reply::error("ERR DISCARD without MULTI")
        );
    }

    #[test]
    fn allkeys_lru_evicts_idle_keys_and_tells_watchers() {
        let (mut e, c) = engine("allkeys-lru", 0);
        let w = e.connect(0);
        let limit = e.used_memory() + 20_000;
        e.run(c, &["CONFIG", "SET", "maxmemory", &limit.to_string()], 0);
        e.run(w, &["WATCH", "k0"], 0);
        for i in 0..400 {
            e.run(c, &["SET", &format!("k{i}"), &"x".repeat(100)], i * 1000);
        }
        assert!(e.stats.evicted_keys > 0);
        // Eviction runs before each command: the last write may leave memory over the limit.
        e.run(c, &["PING"], 400_000);
        assert!(e.memory_for_eviction() <= e.config.maxmemory);
        // The oldest keys went first.
        assert_eq!(e.run(c, &["EXISTS", "k0"], 400_000), Reply::Integer(0));
        assert_eq!(e.run(c, &["EXISTS", "k399"], 400_000), Reply::Integer(1));
        e.run(w, &["MULTI"], 400_000);
        e.run(w, &["PING"], 400_000);
        assert_eq!(e.run(w, &["EXEC"], 400_000), Reply::NilArray);
        let rounds: Vec<EvictionRound> = e
            .drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::Eviction(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(rounds.len() as u64, e.stats.evicted_keys);
        let r = &rounds[rounds.len() - 1];
        assert_eq!(r.sampled.len(), 5);
        assert!(r.pool_after.len() < EVPOOL_SIZE);
        assert!(r.victim.is_some());
    }

    #[test]
    fn volatile_policies_only_take_keys_with_a_ttl() {
        for policy in [
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
        ] {
            let (mut e, c) = engine(policy, 10_000);
            let mut written = Vec::new();
            for i in 0..200 {
                let k = format!("k{i}");
                if i % 2 == 0 {
                    let ex = (10_000 - i).to_string();
                    e.run(c, &["SET", &k, &"x".repeat(100), "EX", &ex], 0);
                } else if e.run(c, &["SET", &k, &"x".repeat(100)], 0) == Reply::OK {
                    written.push(k);
                }
            }
            assert!(written.len() > 10, "{policy}");
            for k in &written {
                assert_eq!(e.run(c, &["EXISTS", k], 0), Reply::Integer(1), "{policy}");
            }
            assert!(e.stats.evicted_keys > 0, "{policy}");
            // With only persistent keys left, writes are refused.
            let r = (0..200).map(|i| e.run(c, &["SET", &format!("n{i}"), &"y".repeat(100)], 0));
            assert!(
                r.into_iter().any(|r| r == Reply::error(error::OOM)),
                "{policy}"
            );
        }
    }

    #[test]
    fn volatile_ttl_evicts_the_nearest_deadline_first() {
        let (mut e, c) = engine("volatile-ttl", 0);
        for i in 0..10 {
            let k = format!("k{i}");
            e.run(c, &["SET", &k, "v"], 0);
            e.run(c, &["EXPIRE", &k, &(100 + i).to_string()], 0);
        }
        let used = e.used_memory();
        e.run(
            c,
            &["CONFIG", "SET", "maxmemory", &(used - 10).to_string()],
            0,
        );
        e.run(c, &["PING"], 0);
        assert_eq!(e.run(c, &["EXISTS", "k0"], 0), Reply::Integer(0));
        assert_eq!(e.run(c, &["EXISTS", "k9"], 0), Reply::Integer(1));
    }

    #[test]
    fn evictions_are_keyspace_events() {
        let (mut e, c) = engine("allkeys-lru", 0);
        let sub = e.connect(0);
        e.run(c, &["CONFIG", "SET", "notify-keyspace-events", "Ee"], 0);
        e.run(sub, &["SUBSCRIBE", "__keyevent@0__:evicted"], 0);
        e.take_output(sub);
        e.run(c, &["SET", "victim", "v"], 0);
        let used = e.used_memory();
        e.run(
            c,
            &["CONFIG", "SET", "maxmemory", &(used - 1).to_string()],
            0,
        );
        e.run(c, &["PING"], 0);
        let got = e.take_output(sub);
        assert_eq!(
            got,
            vec![Reply::Push(vec![
                Reply::bulk("message"),
                Reply::bulk("__keyevent@0__:evicted"),
                Reply::bulk("victim"),
            ])]
        );
    }

    #[test]
    fn low_tenacity_leaves_the_rest_to_advance() {
        let (mut e, c) = engine("allkeys-random", 0);
        for i in 0..500 {
            e.run(c, &["SET", &format!("k{i}"), &"x".repeat(100)], 0);
        }
        e.run(c, &["CONFIG", "SET", "maxmemory-eviction-tenacity", "0"], 0);
        let limit = e.used_memory() - 40_000;
        e.run(c, &["CONFIG", "SET", "maxmemory", &limit.to_string()], 0);
        // One call frees 16 keys, not enough: the write still runs, eviction goes on later.
        assert_eq!(e.run(c, &["SET", "new", "v"], 0), Reply::OK);
        assert_eq!(e.stats.evicted_keys, 16);
        assert!(e.evict.running);
        e.advance(100);
        assert!(!e.evict.running);
        assert!(e.used_memory() <= limit);
        let info = crate::cmd::server::info_text(&mut e, &[b"stats"]);
        assert!(info.contains(&format!("evicted_keys:{}", e.stats.evicted_keys)));
    }

    #[test]
    fn each_round_reports_what_an_exact_lru_would_evict() {
        let (mut e, c) = engine("allkeys-lru", 0);
        for i in 0..20 {
            e.run(c, &["SET", &format!("k{i}"), "v"], i * 2000);
        }
        // k0 is read last, so an exact LRU would evict k1 first.
        e.run(c, &["GET", "k0"], 50_000);
        e.config_mut().eviction_true_lru = true;
        e.run(c, &["PING"], 50_000);
        e.drain_events();
        let used = e.used_memory();
        e.run(
            c,
            &["CONFIG", "SET", "maxmemory", &(used - 1).to_string()],
            50_000,
        );
        e.run(c, &["PING"], 50_000);
        let round = e
            .drain_events()
            .into_iter()
            .find_map(|ev| match ev {
                Event::Eviction(r) => Some(r),
                _ => None,
            })
            .expect("an eviction");
        assert_eq!(round.true_lru_victim, Some((0, b"k1".to_vec())));
        assert!(round.victim.is_some());
        assert_eq!(round.policy, "allkeys-lru");
        assert!(!round
            .pool_after
            .iter()
            .any(|p| Some((p.db, p.key.clone())) == round.victim));
    }

    /// Fills past maxmemory under allkeys-lru with `samples` while reading keys with a skew
    /// towards recent ones, and returns the share of evicted keys that an exact LRU fed the same
    /// accesses also evicted.
    fn lru_overlap(samples: i64, seed: u64) -> f64 {
        let mut e = Engine::new(Config {
            seed,
            eviction_true_lru: true,
            record_events: false,
            ..Config::default()
        });
        let c = e.connect(0);
        e.run(c, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"], 0);
        e.run(
            c,
            &["CONFIG", "SET", "maxmemory-samples", &samples.to_string()],
            0,
        );
        // Room for about 1000 keys of this size.
        let limit = e.used_memory() + 1000 * 200;
        e.run(c, &["CONFIG", "SET", "maxmemory", &limit.to_string()], 0);
        let mut rng = crate::rng::Rng::new(seed ^ 0xabcdef);
        let mut now = 0i64;
        let value = "v".repeat(100);
        for i in 0..5000u64 {
            now += 100;
            e.run(c, &["SET", &format!("key:{i}"), &value], now);
            for _ in 0..2 {
                now += 100;
                // Mostly recent keys, sometimes old ones: i - i * r^3.
                let r = rng.next_f64();
                let j = i - (i as f64 * r * r * r) as u64;
                e.run(c, &["GET", &format!("key:{j}")], now);
            }
        }
        let shadow = e.evict.shadow.as_ref().expect("comparison on");
        let exact: std::collections::HashSet<&(usize, Vec<u8>)> = shadow.evicted.iter().collect();
        let approx_evicted = e.stats.evicted_keys as f64;
        let remaining: std::collections::HashSet<Vec<u8>> =
            e.dbs[0].keys.iter().map(|(k, _)| k.to_vec()).collect();
        // Keys the exact LRU evicted and the engine evicted too (no longer present).
        let both = exact.iter().filter(|(_, k)| !remaining.contains(k)).count() as f64;
        assert!(approx_evicted > 3000.0, "evicted {approx_evicted}");
        both / approx_evicted
    }

    /// Redis's documentation shows the sampled LRU approaching a true LRU as
    /// maxmemory-samples grows: the same holds here, with fixed seeds.
    #[test]
    fn more_samples_approximate_true_lru_better() {
        let mut five = 0.0;
        let mut ten = 0.0;
        for seed in [1, 2, 3] {
            five += lru_overlap(5, seed) / 3.0;
            ten += lru_overlap(10, seed) / 3.0;
        }
        assert!(five > 0.80, "5 samples: {five}");
        assert!(ten > five, "10 samples {ten} vs 5 samples {five}");
        let one = lru_overlap(1, 1);
        eprintln!(
            "overlap with exact LRU: 1 sample {one:.3}, 5 samples {five:.3}, 10 samples {ten:.3}"
        );
        assert!(one < five, "1 sample {one} vs 5 samples {five}");
    }

    /// redis.conf's table of LFU counter values after a number of hits, per lfu-log-factor
    /// (hits: 100, 1000, 100K, 1M).
    #[test]
    fn lfu_counters_follow_the_redis_conf_table() {
        use crate::keyspace::lfu_log_incr;
        let table: &[(i64, [u8; 4])] = &[
            (0, [104, 255, 255, 255]),
            (1, [18, 49, 255, 255]),
            (10, [10, 18, 142, 255]),
            (100, [8, 11, 49, 143]),
        ];
        // The table comes from single runs; the mean of ten runs per factor is compared.
        let mut rng = crate::rng::Rng::new(7);
        const RUNS: usize = 10;
        for &(factor, want) in table {
            let mut sums = [0f64; 4];
            for _ in 0..RUNS {
                let mut counter = crate::object::LFU_INIT_VAL;
                let mut hits = 0u64;
                for (i, checkpoint) in [100u64, 1000, 100_000, 1_000_000].into_iter().enumerate() {
                    while hits < checkpoint && counter < 255 {
                        counter = lfu_log_incr(counter, factor, rng.next_f64());
                        hits += 1;
                    }
                    sums[i] += counter as f64;
                }
            }
            for (i, checkpoint) in [100u64, 1000, 100_000, 1_000_000].into_iter().enumerate() {
                let got = sums[i] / RUNS as f64;
                let w = want[i] as f64;
                // Within 10% (and at least 2 steps) of the published value.
                assert!(
                    (got - w).abs() <= (w * 0.10).max(2.0),
                    "factor {factor}, {checkpoint} hits: {got} vs {w}"
                );
            }
        }
        // The same through commands: GET bumps the counter that OBJECT FREQ reads.
        let (mut e, c) = engine("allkeys-lfu", 0);
        e.run(c, &["SET", "k", "v"], 0);
        for _ in 0..1000 {
            e.run(c, &["GET", "k"], 0);
        }
        match e.run(c, &["OBJECT", "FREQ", "k"], 0) {
            Reply::Integer(n) => assert!((15..=21).contains(&n), "{n}"),
            other => panic!("{other:?}"),
        }
        // Decay: one step per lfu-decay-time minutes idle.
        match e.run(c, &["OBJECT", "FREQ", "k"], 5 * 60_000) {
            Reply::Integer(n) => assert!((10..=16).contains(&n), "{n}"),
            other => panic!("{other:?}"),
        }
    }
}
