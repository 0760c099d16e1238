//! The expiry view: every key with a time to live as a cell shaded by the time it has left, the
//! keys past their deadline that nobody removed yet, the last active expire cycle's sample
//! against its 10% threshold, and the keys removed lazily on access.

use std::collections::BTreeMap;

use cachelab_engine::{CycleKind, Event, ExpiredBy};

use super::kit::{arg, is_error, name, option_value, since_start, text};
use super::Played;

/// Keys drawn at most; beyond this the view says how many were left out.
pub const MAX_CELLS: usize = 2000;
/// Redis's acceptable share of stale keys in a sample (effort 1): the cycle samples again above.
pub const STALE_THRESHOLD_PERCENT: f64 = 10.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub db: usize,
    pub key: String,
    /// Milliseconds left; zero or less when the deadline has passed and the key is still there.
    pub left_ms: i64,
    /// The time to live it was given, for the share left.
    pub ttl_ms: i64,
}

impl Cell {
    pub fn stale(&self) -> bool {
        self.left_ms <= 0
    }

    /// 0 (about to go) ..= 4 (just set): the shade the view draws.
    pub fn shade(&self) -> u8 {
        if self.stale() || self.ttl_ms <= 0 {
            return 0;
        }
        let share = self.left_ms as f64 / self.ttl_ms as f64;
        (share * 4.0).ceil().clamp(1.0, 4.0) as u8
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cycle {
    pub at: i64,
    pub fast: bool,
    pub db: usize,
    pub sampled: Vec<(String, bool)>,
    pub loops: u32,
    pub expired: usize,
    pub time_limit_hit: bool,
    pub stale_estimate: f64,
}

impl Cycle {
    /// The share of the sample that was expired, in percent.
    pub fn stale_percent(&self) -> f64 {
        if self.sampled.is_empty() {
            0.0
        } else {
            self.expired as f64 * 100.0 / self.sampled.len() as f64
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LazyExpiry {
    pub at: i64,
    pub db: usize,
    pub key: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpiryView {
    /// Milliseconds since the start: when the picture is taken.
    pub now: i64,
    /// The keys with a TTL, oldest first, at most `MAX_CELLS`.
    pub cells: Vec<Cell>,
    /// Every key with a TTL, drawn or not.
    pub with_ttl: usize,
    /// Of those, past their deadline and not removed yet.
    pub stale: usize,
    /// Keys without a TTL.
    pub persistent: usize,
    pub last_cycle: Option<Cycle>,
    /// Cycles run so far and the keys they removed.
    pub cycles: usize,
    pub active_expired: usize,
    /// Keys removed when a command touched them, latest last.
    pub lazy: Vec<LazyExpiry>,
}

impl ExpiryView {
    pub fn hidden(&self) -> usize {
        self.with_ttl - self.cells.len()
    }
}

/// What the view knows of a key: when it was set (for ordering) and its deadline, if any.
struct Known {
    order: u64,
    deadline: Option<(i64, i64)>,
}

pub fn derive(played: &[Played]) -> ExpiryView {
    let mut v = ExpiryView::default();
    let mut keys: BTreeMap<(usize, String), Known> = BTreeMap::new();
    let mut dbs: BTreeMap<String, usize> = BTreeMap::new();
    let mut order = 0u64;
    for p in played {
        let a = p.action;
        for sent in &a.sent {
            if sent.frames.is_empty() || is_error(&sent.frames) {
                continue;
            }
            let client = &sent.sender.client;
            let db = dbs.get(client).copied().unwrap_or(0);
            let cmd = name(&sent.argv);
            if cmd == "SELECT" {
                if let Some(n) = arg(&sent.argv, 1).and_then(|s| s.parse().ok()) {
                    dbs.insert(client.clone(), n);
                }
                continue;
            }
            let Some(key) = arg(&sent.argv, 1) else {
                continue;
            };
            let now = sent.now;
            let n = |i| arg(&sent.argv, i).and_then(|s| s.parse::<i64>().ok());
            let deadline = match cmd.as_str() {
                "SET" if super::kit::is_nil(&sent.frames) => continue,
                "SET" => option_value(&sent.argv, "PX")
                    .or(option_value(&sent.argv, "EX").map(|s| s * 1000))
                    .map(|ttl| Some((now + ttl, ttl)))
                    .or(option_value(&sent.argv, "PXAT").map(|at| Some((at, at - now))))
                    .or(option_value(&sent.argv, "EXAT")
                        .map(|at| Some((at * 1000, at * 1000 - now))))
                    .unwrap_or_else(|| {
                        // KEEPTTL keeps the deadline the key had.
                        if super::kit::has_word(&sent.argv, "KEEPTTL") {
                            keys.get(&(db, key.clone())).and_then(|k| k.deadline)
                        } else {
                            None
                        }
                    }),
                "PEXPIRE" | "EXPIRE"
                    if sent.frames.first() == Some(&cachelab_engine::Reply::Integer(1)) =>
                {
                    let unit = if cmd == "EXPIRE" { 1000 } else { 1 };
                    n(2).map(|t| (now + t * unit, t * unit))
                }
                "PERSIST" => None,
                _ => continue,
            };
            order += 1;
            let entry = keys.entry((db, key)).or_insert(Known {
                order,
                deadline: None,
            });
            entry.deadline = deadline;
        }
        for (_, e) in &a.events {
            match e {
                Event::Expired { db, key, by } => {
                    keys.remove(&(*db, text(key)));
                    if *by == ExpiredBy::Lazy {
                        v.lazy.push(LazyExpiry {
                            at: since_start(a.now),
                            db: *db,
                            key: text(key),
                        });
                    } else {
                        v.active_expired += 1;
                    }
                }
                Event::Keyspace { db, key, op } if *op == "del" || *op == "evicted" => {
                    keys.remove(&(*db, text(key)));
                }
                Event::Flushed { db } => keys.retain(|(d, _), _| db.is_some_and(|x| x != *d)),
                Event::ExpireCycle(r) => {
                    v.cycles += 1;
                    v.last_cycle = Some(Cycle {
                        at: since_start(a.now),
                        fast: r.kind == CycleKind::Fast,
                        db: r.db,
                        sampled: r.sampled.iter().map(|(k, g)| (text(k), *g)).collect(),
                        loops: r.loops,
                        expired: r.expired,
                        time_limit_hit: r.time_limit_hit,
                        stale_estimate: r.stale_estimate,
                    });
                }
                _ => {}
            }
        }
        v.now = v.now.max(a.now);
    }
    let now = v.now;
    v.now = since_start(now);
    let mut timed: Vec<_> = keys
        .iter()
        .filter_map(|((db, key), k)| k.deadline.map(|d| (k.order, *db, key, d)))
        .collect();
    v.persistent = keys.len() - timed.len();
    v.with_ttl = timed.len();
    timed.sort_by_key(|t| t.0);
    for (_, db, key, (deadline, ttl)) in timed {
        let left_ms = deadline - now;
        if left_ms <= 0 {
            v.stale += 1;
        }
        if v.cells.len() < MAX_CELLS {
            v.cells.push(Cell {
                db,
                key: key.clone(),
                left_ms,
                ttl_ms: ttl,
            });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::kit::testing::played_to;
    use crate::model::views::played;

    fn view_after(steps: usize) -> ExpiryView {
        derive(&played(&played_to("expiry", steps)))
    }

    #[test]
    fn thousands_of_keys_age_toward_their_ttl() {
        let v = view_after(1);
        assert_eq!((v.with_ttl, v.persistent, v.stale), (2000, 500, 0));
        assert_eq!(v.cells.len(), MAX_CELLS);
        assert_eq!(v.cells[0].key, "key:0");
        assert_eq!(v.cells[0].ttl_ms, 3000);
        assert!(v.cells.iter().all(|c| c.shade() == 4), "all freshly set");
    }

    #[test]
    fn the_active_cycle_samples_and_removes_expired_keys() {
        let v = view_after(2);
        // 600 keys are past their deadline; the cycle removed some, GET key:0 one more.
        let cycle = v.last_cycle.as_ref().expect("a cycle ran");
        assert!(!cycle.sampled.is_empty());
        assert!(v.active_expired > 0);
        assert!(v.lazy.iter().any(|l| l.key == "key:0"));
        assert_eq!(v.with_ttl, 2000 - v.active_expired - v.lazy.len());
        assert!(v.cells.iter().all(|c| c.key != "key:0"));
    }

    #[test]
    fn keys_nobody_touched_stay_stale_without_the_cycle() {
        let v = view_after(3);
        // Step 3 ends with the cycle back on: database 1 emptied by it.
        assert!(v.cells.iter().all(|c| c.db == 0));
        assert!(v.lazy.iter().any(|l| l.db == 1 && l.key == "short:0"));
        let v = view_after(4);
        assert_eq!((v.with_ttl, v.persistent), (0, 500));
        let cycle = v.last_cycle.as_ref().expect("a cycle ran");
        assert!(cycle.stale_percent() <= 100.0);
    }
}
