//! A token bucket in Lua: each bucket's tokens over time, drained by requests and refilled on
//! the clock, and the level now.
//!
//! A request is a script call answering `{allowed, tokens}`: whether it passed, and the tokens
//! left. The capacity and the refill rate (tokens per second) are the script's first two
//! arguments, as the lesson's script takes them. Between requests nothing is stored: the level
//! shown rises at the rate up to the capacity, as the script computes it on the next request. A
//! bucket whose key expired is a full one.

use super::calls::{calls, expirations, items, text, Call};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    pub buckets: Vec<Bucket>,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub key: String,
    pub capacity: f64,
    /// Tokens per second.
    pub rate: f64,
    pub requests: Vec<Request>,
    /// The level over time, as (ms since start, tokens): down at each request, up along the
    /// refill, flat at the capacity; up to now.
    pub curve: Vec<(i64, f64)>,
    /// The level now.
    pub level: f64,
    /// When the key expires (or expired), from the script's `PEXPIRE`.
    pub expires: Option<i64>,
    /// Whether the key is gone now (a full bucket).
    pub gone: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub at: i64,
    pub client: String,
    pub allowed: bool,
    /// The level the script found (refilled) before spending.
    pub before: f64,
    /// Tokens left after the request, as the script answered.
    pub after: f64,
}

impl Bucket {
    /// The level at `t`, refilled from the last request before it.
    fn level_at(&self, t: i64) -> f64 {
        match self.requests.iter().rev().find(|r| r.at <= t) {
            Some(r) => refill(r.after, t - r.at, self.rate, self.capacity),
            None => self.capacity,
        }
    }
}

impl TokenBucket {
    pub fn bucket(&self, key: &str) -> Option<&Bucket> {
        self.buckets.iter().find(|b| b.key == key)
    }
}

fn refill(tokens: f64, elapsed: i64, rate: f64, capacity: f64) -> f64 {
    (tokens + elapsed.max(0) as f64 * rate / 1000.0).min(capacity)
}

/// (key, capacity, rate, allowed, tokens left) of a bucket script's call.
fn spend(c: &Call) -> Option<(String, f64, f64, bool, f64)> {
    let (keys, args) = c.script_keys_args()?;
    let reply = items(c.reply.as_ref()?)?;
    let [allowed, left] = reply else { return None };
    let allowed = super::calls::int(allowed)?;
    let left: f64 = text(left)?.parse().ok()?;
    let capacity: f64 = args.first()?.parse().ok()?;
    let rate: f64 = args.get(1)?.parse().ok()?;
    Some((keys.first()?.clone(), capacity, rate, allowed == 1, left))
}

pub fn derive(played: &[Played], now: i64) -> TokenBucket {
    let expired = expirations(played);
    let mut buckets: Vec<Bucket> = Vec::new();
    for c in calls(played) {
        let Some((key, capacity, rate, allowed, after)) = spend(&c) else {
            continue;
        };
        let i = match buckets.iter().position(|b| b.key == key) {
            Some(i) => i,
            None => {
                buckets.push(Bucket {
                    key: key.clone(),
                    capacity,
                    rate,
                    requests: Vec::new(),
                    curve: vec![(c.at, capacity)],
                    level: capacity,
                    expires: None,
                    gone: false,
                });
                buckets.len() - 1
            }
        };
        let b = &mut buckets[i];
        let expired_since = b.expires.is_some_and(|e| e <= c.at);
        let before = if expired_since {
            capacity
        } else {
            b.level_at(c.at)
        };
        b.capacity = capacity;
        b.rate = rate;
        extend_curve(b, c.at);
        b.curve.push((c.at, before));
        b.curve.push((c.at, after));
        b.requests.push(Request {
            at: c.at,
            client: c.sender.client.clone(),
            allowed,
            before,
            after,
        });
        if c.script_calls("PEXPIRE") && rate > 0.0 {
            b.expires = Some(c.at + (capacity / rate * 1000.0).ceil() as i64);
        }
    }
    for b in &mut buckets {
        let by_event =
            (expired.iter()).any(|(_, k, t)| *k == b.key && b.requests.iter().all(|r| r.at <= *t));
        b.gone = by_event || b.expires.is_some_and(|e| e <= now);
        extend_curve(b, now);
        b.level = if b.gone { b.capacity } else { b.level_at(now) };
    }
    TokenBucket { buckets, now }
}

/// Draws the refill from the last point to `t`: a rise at the rate, flat once full.
fn extend_curve(b: &mut Bucket, t: i64) {
    let Some(&(from, level)) = b.curve.last() else {
        return;
    };
    if t <= from {
        return;
    }
    if level < b.capacity && b.rate > 0.0 {
        let full_at = from + ((b.capacity - level) / b.rate * 1000.0).ceil() as i64;
        if full_at < t {
            b.curve.push((full_at, b.capacity));
        }
    }
    b.curve
        .push((t, refill(level, t - from, b.rate, b.capacity)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> TokenBucket {
        let l = lesson_at("token-bucket", steps);
        derive(&played(&l.player), now_of(&l))
    }

    #[test]
    fn a_new_bucket_starts_full_and_a_burst_drains_it() {
        let v = at(1);
        let b = v.bucket("tb:alice").expect("tb:alice");
        assert_eq!((b.capacity, b.rate), (3.0, 2.0));
        assert_eq!(b.level, 2.0);
        let v = at(2);
        let b = v.bucket("tb:alice").expect("tb:alice");
        let allowed: Vec<bool> = b.requests.iter().map(|r| r.allowed).collect();
        assert_eq!(allowed, [true, true, true, false]);
        assert_eq!(b.level, 0.0);
        assert_eq!(b.expires, Some(1500));
    }

    #[test]
    fn the_bucket_refills_on_the_clock_up_to_its_capacity() {
        let v = at(3);
        let b = v.bucket("tb:alice").expect("tb:alice");
        let last_two: Vec<(i64, bool, f64)> = (b.requests.iter().rev().take(2).rev())
            .map(|r| (r.at, r.allowed, r.before))
            .collect();
        assert_eq!(last_two, [(250, false, 0.5), (500, true, 1.0)]);
        let v = at(4);
        let b = v.bucket("tb:alice").expect("tb:alice");
        let last = b.requests.last().expect("a request");
        assert_eq!((last.at, last.before, last.after), (1700, 2.4, 1.4));
        // Long after, the level is capped and the key has gone.
        let l = lesson_at("token-bucket", 4);
        let later = derive(&played(&l.player), 10_000);
        let b = later.bucket("tb:alice").expect("tb:alice");
        assert_eq!(b.level, 3.0);
        assert!(b.gone);
        assert!(b.curve.iter().all(|&(_, y)| y <= 3.0));
        assert!(
            b.curve.contains(&(1700 + 800, 3.0)),
            "full 0.8 s after 1.4 tokens"
        );
    }
}
