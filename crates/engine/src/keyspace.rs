//! Reading and writing keys the way Redis's `db.c` does: every lookup first expires the key if
//! its time has passed (lazy expiry), read lookups count hits and misses, and every access updates
//! the key's LRU time or LFU counter unless the command asked not to touch it.

use crate::dict::Key;
use crate::event::{Event, ExpiredBy};
use crate::object::{Entry, Value};
use crate::Engine;

/// How a lookup should treat the key's access metadata and the hit/miss statistics.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A read: counts a keyspace hit or miss and touches the key.
    Read,
    /// A write: touches the key, counts nothing.
    Write,
    /// OBJECT, TYPE, TTL and friends: neither touch nor count (Redis's LOOKUP_NOTOUCH|NOSTATS).
    NoTouch,
    /// EXISTS, TYPE, TTL, OBJECT: counts a hit or miss but leaves the access metadata alone
    /// (Redis's `lookupKeyReadWithFlags(.., LOOKUP_NOTOUCH)`).
    ReadNoTouch,
}

impl Engine {
    /// Expires `key` if its deadline has passed. Redis expires a key only when now is strictly
    /// greater than its deadline, so a key set with PX 100 at t is still there at t+100.
    pub(crate) fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        let Some(at) = self.dbs[db].expire_of(key) else {
            return false;
        };
        if self.now <= at {
            return false;
        }
        self.delete_expired(db, key, ExpiredBy::Lazy);
        true
    }

    pub(crate) fn delete_expired(&mut self, db: usize, key: &[u8], by: ExpiredBy) {
        self.dbs[db].remove(key);
        self.persist_deleted(db, key);
        self.shadow_access(db, key, true);
        self.stats.expired_keys += 1;
        self.touch_watched_key(db, key);
        self.keyspace_notification(db, key, "expired");
        if self.recording() {
            self.emit(Event::Expired {
                db,
                key: key.to_vec(),
                by,
            });
        }
    }

    /// Finds a live key, applying lazy expiry and the access rules of `mode`.
    pub(crate) fn lookup(&mut self, db: usize, key: &[u8], mode: Lookup) -> Option<&mut Entry> {
        // One probe of the table: the entry found carries its deadline, and nothing below
        // changes the table before the entry is handed out (unless it is expired and removed).
        let pos = self.live_position(db, key);
        let now = self.now;
        let lfu = self.config.maxmemory_policy.is_lfu();
        let (log_factor, decay) = (self.config.lfu_log_factor, self.config.lfu_decay_time);
        if matches!(mode, Lookup::Read | Lookup::ReadNoTouch) {
            if pos.is_some() {
                self.stats.keyspace_hits += 1;
            } else {
                self.stats.keyspace_misses += 1;
            }
        }
        let found = pos?;
        let touch = !matches!(mode, Lookup::NoTouch | Lookup::ReadNoTouch);
        let r = if touch && lfu {
            Some(self.rng.next_f64())
        } else {
            None
        };
        if touch && self.evict.shadow.is_some() {
            self.shadow_access(db, key, false);
        }
        let entry = self.dbs[db].keys.at_mut(found)?;
        if touch {
            if let Some(r) = r {
                lfu_touch(entry, now, log_factor, decay, r);
            } else {
                entry.last_access_ms = now;
            }
        }
        Some(entry)
    }

    /// Where `key` is in `db`, after lazy expiry: `None` when it is missing or has just been
    /// expired (as `expire_if_needed` would, with one probe of the table instead of two).
    fn live_position(&mut self, db: usize, key: &[u8]) -> Option<crate::dict::Position> {
        let keys = &self.dbs[db].keys;
        let pos = keys.position(key)?;
        let at = keys.at(pos).and_then(|e| e.expire_at());
        if at.is_some_and(|at| self.now > at) {
            self.delete_expired(db, key, ExpiredBy::Lazy);
            return None;
        }
        Some(pos)
    }

    /// The value under a live key, for a read.
    pub(crate) fn read(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        self.lookup(db, key, Lookup::Read)
    }

    /// Whether a write lookup does anything beyond what overwriting the key with `set_value`
    /// does anyway (expire it if due, stamp its access time): bump an LFU counter, which draws
    /// from the engine's random numbers, or feed the eviction shadow.
    pub(crate) fn write_lookup_matters(&self) -> bool {
        self.config.maxmemory_policy.is_lfu() || self.evict.shadow.is_some()
    }

    /// The value under a live key, for a write.
    pub(crate) fn write(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        self.lookup(db, key, Lookup::Write)
    }

    /// Stores `value` under `key` (Redis's `setKey`): a new key is created, an existing one
    /// overwritten. Its TTL is dropped unless `keep_ttl`. Under an LFU policy an overwritten key
    /// keeps its access counter, as `dbSetValue` does.
    pub(crate) fn set_value(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) {
        let pos = self.live_position(db, key);
        let now = self.now;
        let lfu = self.config.maxmemory_policy.is_lfu();
        let d = &mut self.dbs[db];
        match pos.and_then(|p| d.keys.at_mut(p)) {
            Some(entry) => {
                entry.value = value;
                if !lfu {
                    entry.last_access_ms = now;
                }
                if !keep_ttl && entry.expire_at().is_some() {
                    d.remove_expire(key);
                }
            }
            None => d.put_new(Key::from(key), Entry::new(value, now)),
        }
    }

    /// Adds a key that the caller knows does not exist (Redis's `dbAdd`).
    pub(crate) fn add_value(&mut self, db: usize, key: &[u8], value: Value) {
        let now = self.now;
        self.dbs[db].put(Key::from(key), Entry::new(value, now));
    }

    /// Deletes a live key; returns whether it existed.
    pub(crate) fn delete(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_if_needed(db, key);
        self.dbs[db].remove(key).is_some()
    }

    /// Records a keyspace change for the event log (and, later, for WATCH and notifications).
    pub(crate) fn notify(&mut self, db: usize, key: &[u8], op: &'static str) {
        self.stats.dirty += 1;
        self.mem_touch(db, key);
        if self.evict.shadow.is_some() {
            self.shadow_access(db, key, true);
        }
        self.signal_key(db, key);
        self.touch_watched_key(db, key);
        self.keyspace_notification(db, key, op);
        if self.recording() {
            self.emit(Event::Keyspace {
                db,
                key: key.to_vec(),
                op,
            });
        }
    }
}

/// LFU's logarithmic counter: the higher it already is, the less likely a hit raises it.
/// `r` is a uniform draw in [0, 1) from the engine's generator.
pub fn lfu_log_incr(counter: u8, log_factor: i64, r: f64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = (counter as f64 - crate::object::LFU_INIT_VAL as f64).max(0.0);
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// Minutes elapsed on Redis's 16-bit minute clock, which wraps about every 45 days.
pub fn lfu_minutes_elapsed(now_ms: i64, last: u16) -> i64 {
    let now = ((now_ms / 60_000) & 0xffff) as i64;
    let last = last as i64;
    if now >= last {
        now - last
    } else {
        65535 - last + now
    }
}

/// The counter after decay: one step down per `lfu-decay-time` minutes since the last access.
pub fn lfu_decayed(entry: &Entry, now_ms: i64, decay_time: i64) -> u8 {
    let periods = if decay_time > 0 {
        lfu_minutes_elapsed(now_ms, entry.lfu_minutes()) / decay_time
    } else {
        0
    };
    if periods >= entry.lfu_counter() as i64 {
        0
    } else {
        entry.lfu_counter() - periods as u8
    }
}

fn lfu_touch(entry: &mut Entry, now_ms: i64, log_factor: i64, decay_time: i64, r: f64) {
    let c = lfu_decayed(entry, now_ms, decay_time);
    entry.set_lfu(
        lfu_log_incr(c, log_factor, r),
        ((now_ms / 60_000) & 0xffff) as u16,
    );
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Event, Reply};

    // A write checks for each kind of listener with a compare before doing any work for it;
    // each test below has only that one kind present, so that the write must find it.

    #[test]
    fn a_write_publishes_to_a_keyspace_subscriber() {
        let mut e = Engine::new(Config::default());
        let (w, s) = (e.connect(0), e.connect(0));
        e.run(w, &["CONFIG", "SET", "notify-keyspace-events", "K$"], 0);
        e.run(s, &["SUBSCRIBE", "__keyspace@0__:n"], 0);
        e.take_output(s);
        e.run(w, &["INCR", "n"], 0);
        assert_eq!(
            e.take_output(s),
            [Reply::Push(
                ["message", "__keyspace@0__:n", "incrby"]
                    .map(Reply::bulk)
                    .to_vec()
            )]
        );
    }

    #[test]
    fn a_write_fails_the_exec_of_a_client_watching_its_key() {
        let mut e = Engine::new(Config::default());
        let (w, o) = (e.connect(0), e.connect(0));
        e.run(w, &["WATCH", "n"], 0);
        e.run(o, &["INCR", "n"], 0);
        e.run(w, &["MULTI"], 0);
        e.run(w, &["INCR", "n"], 0);
        assert_eq!(e.run(w, &["EXEC"], 0), Reply::NilArray);
        assert_eq!(e.run(w, &["GET", "n"], 0), Reply::bulk("1"));
    }

    #[test]
    fn a_write_serves_a_client_blocked_on_its_key() {
        let mut e = Engine::new(Config::default());
        let (b, w) = (e.connect(0), e.connect(0));
        assert_eq!(e.run(b, &["BLPOP", "l", "0"], 0), Reply::Blocked);
        e.run(w, &["RPUSH", "l", "x"], 0);
        assert_eq!(e.take_output(b), [Reply::bulks(["l", "x"])]);
    }

    #[test]
    fn a_write_with_no_listener_is_still_a_keyspace_event() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.drain_events();
        e.run(c, &["INCR", "n"], 0);
        assert!(e.drain_events().contains(&Event::Keyspace {
            db: 0,
            key: b"n".to_vec(),
            op: "incrby",
        }));
    }
}
