//! The cache-aside view: every read as a hit or a miss, the database reads that misses caused
//! (from the miss to the same client's refill), the hit ratio over time, and stampedes: several
//! misses of one key before anyone refilled it, with how many of them went to the database.

use super::kit::{has_word, is_nil, name, since_start, text};
use super::Played;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// GET answered a value.
    Hit,
    /// GET answered nil.
    Miss,
    /// SET of the value after a database read.
    Fill,
    /// SET ... NX answered OK: this client rebuilds.
    LockTaken,
    /// SET ... NX answered nil: somebody else rebuilds.
    LockRefused,
    /// DEL (of a lock, or of the entry).
    Delete,
}

impl Outcome {
    /// One letter for the request stream (readable without colour).
    pub fn letter(self) -> &'static str {
        match self {
            Outcome::Hit => "H",
            Outcome::Miss => "M",
            Outcome::Fill => "S",
            Outcome::LockTaken => "L",
            Outcome::LockRefused => "W",
            Outcome::Delete => "D",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Fill => "refill",
            Outcome::LockTaken => "lock taken",
            Outcome::LockRefused => "lock refused, waits",
            Outcome::Delete => "delete",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Milliseconds since the lesson's start.
    pub at: i64,
    pub client: String,
    pub key: String,
    pub outcome: Outcome,
}

/// A trip to the database: from a client's miss to its refill of the same key.
#[derive(Clone, Debug, PartialEq)]
pub struct DbRead {
    pub client: String,
    pub key: String,
    pub from: i64,
    pub to: i64,
}

/// Misses of one key, one after another, before it was refilled.
#[derive(Clone, Debug, PartialEq)]
pub struct Burst {
    pub key: String,
    pub at: i64,
    pub misses: usize,
    /// How many of those misses went on to read the database (the rest waited on a lock).
    pub db_reads: usize,
}

impl Burst {
    /// A stampede: more than one reader rebuilding the same entry at once.
    pub fn is_stampede(&self) -> bool {
        self.db_reads > 1
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheAsideView {
    pub clients: Vec<String>,
    pub requests: Vec<Request>,
    pub db_reads: Vec<DbRead>,
    /// The hit ratio after each read: (time, hits / reads so far).
    pub ratio: Vec<(i64, f64)>,
    pub hits: usize,
    pub misses: usize,
    /// Every group of misses of one key (single misses included).
    pub bursts: Vec<Burst>,
    /// The last time anything was sent.
    pub end: i64,
}

impl CacheAsideView {
    /// The hit ratio so far, if anything was read.
    pub fn hit_ratio(&self) -> Option<f64> {
        self.ratio.last().map(|&(_, r)| r)
    }
}

pub fn derive(played: &[Played], clients: &[String]) -> CacheAsideView {
    let mut v = CacheAsideView {
        clients: clients.to_vec(),
        ..CacheAsideView::default()
    };
    // Misses not yet followed by the same client's refill or lock refusal: (client, key, at).
    let mut open: Vec<(String, String, i64)> = Vec::new();
    // The latest burst of each key (index into `bursts`) and whether it was refilled since: a
    // miss after a refill starts a new burst, a refill after another still counts in it.
    let mut latest: Vec<(String, usize, bool)> = Vec::new();
    for sent in played.iter().flat_map(|p| &p.action.sent) {
        let at = since_start(sent.now);
        v.end = v.end.max(at);
        let Some(key) = sent.argv.get(1).map(|k| text(k)) else {
            continue;
        };
        let client = sent.sender.client.clone();
        if !v.clients.contains(&client) {
            v.clients.push(client.clone());
        }
        let outcome = match (name(&sent.argv).as_str(), sent.frames.is_empty()) {
            (_, true) => continue,
            ("GET", _) if is_nil(&sent.frames) => Outcome::Miss,
            ("GET", _) if !super::kit::is_error(&sent.frames) => Outcome::Hit,
            ("SET", _) if has_word(&sent.argv, "NX") => {
                if is_nil(&sent.frames) {
                    Outcome::LockRefused
                } else {
                    Outcome::LockTaken
                }
            }
            ("SET", _) => Outcome::Fill,
            ("DEL", _) => Outcome::Delete,
            _ => continue,
        };
        match outcome {
            Outcome::Hit | Outcome::Miss => {
                if outcome == Outcome::Hit {
                    v.hits += 1;
                } else {
                    v.misses += 1;
                    open.retain(|(c, k, _)| !(*c == client && *k == key));
                    open.push((client.clone(), key.clone(), at));
                    match latest.iter().find(|(k, _, filled)| *k == key && !filled) {
                        Some(&(_, i, _)) => v.bursts[i].misses += 1,
                        None => {
                            latest.retain(|(k, _, _)| *k != key);
                            latest.push((key.clone(), v.bursts.len(), false));
                            v.bursts.push(Burst {
                                key: key.clone(),
                                at,
                                misses: 1,
                                db_reads: 0,
                            });
                        }
                    }
                }
                let reads = v.hits + v.misses;
                v.ratio.push((at, v.hits as f64 / reads as f64));
            }
            Outcome::Fill => {
                if let Some(i) = open.iter().position(|(c, k, _)| *c == client && *k == key) {
                    let (_, _, from) = open.remove(i);
                    v.db_reads.push(DbRead {
                        client: client.clone(),
                        key: key.clone(),
                        from,
                        to: at,
                    });
                    if let Some((_, b, filled)) = latest.iter_mut().find(|(k, _, _)| *k == key) {
                        v.bursts[*b].db_reads += 1;
                        *filled = true;
                    }
                }
            }
            Outcome::LockRefused => {
                // The lock's key names the entry it guards (`lock:user:42`): this client's miss
                // of that entry ends in waiting, not in a database read.
                open.retain(|(c, k, _)| !(*c == client && key.ends_with(k.as_str())));
            }
            Outcome::LockTaken | Outcome::Delete => {}
        }
        v.requests.push(Request {
            at,
            client,
            key,
            outcome,
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::kit::testing::played_to;
    use crate::model::views::played;

    fn view_after(steps: usize) -> CacheAsideView {
        let p = played_to("cache-aside", steps);
        derive(&played(&p), &p.scenario().clients)
    }

    #[test]
    fn a_miss_waits_on_the_database_then_hits() {
        let v = view_after(2);
        let outcomes: Vec<_> = v.requests.iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [Outcome::Miss, Outcome::Fill, Outcome::Hit]);
        assert_eq!(v.db_reads.len(), 1);
        assert_eq!(
            v.db_reads[0].to - v.db_reads[0].from,
            100,
            "the database's 100 ms"
        );
        assert_eq!(v.hit_ratio(), Some(0.5));
        assert_eq!(v.requests[2].client, "B");
    }

    #[test]
    fn the_stampede_is_a_burst_of_misses_and_the_lock_calms_it() {
        let v = view_after(4);
        let stampede = v.bursts.last().expect("a burst");
        assert_eq!((stampede.misses, stampede.db_reads), (3, 3));
        assert!(stampede.is_stampede());
        let v = view_after(5);
        let calmed = v.bursts.last().expect("a burst");
        assert_eq!((calmed.misses, calmed.db_reads), (3, 1));
        assert!(!calmed.is_stampede());
        let refused = v
            .requests
            .iter()
            .filter(|r| r.outcome == Outcome::LockRefused)
            .count();
        assert_eq!(refused, 2);
        // Hits: B in step 2, C's read after its refill, B and C after the lock.
        assert_eq!((v.hits, v.misses), (4, 8));
        assert!(v.ratio.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
