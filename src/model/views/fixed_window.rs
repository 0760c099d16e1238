//! Fixed-window rate limiting: each counter key's windows on a time axis, the requests counted
//! in each (allowed or refused against the limit), and the counter's value and TTL now.
//!
//! A request is a command that incremented a counter: `INCR`/`INCRBY` (also inside `EXEC`),
//! or a script that calls `INCR` and answers the count. A window starts when a request (or a
//! `SET ... NX PX` that created the key) finds no live counter, and ends when the key's expiry
//! (`PEXPIRE`, `SET ... PX`) passes; a counter that never got an expiry has an open window. The
//! limit is read from the commands: the `limit` field the lesson writes to a hash
//! (`HSET config:ratelimit limit 3`).

use std::collections::BTreeMap;

use super::calls::{calls, expirations, Call};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct FixedWindow {
    /// The limit per window, when the lesson wrote one.
    pub limit: Option<i64>,
    pub counters: Vec<Counter>,
    /// The lesson's clock, in ms since its start.
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Counter {
    pub key: String,
    pub windows: Vec<Window>,
    /// The counter's value now; `None` once the key is gone.
    pub value: Option<i64>,
    pub ttl: Ttl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist (expired, or never created).
    Gone,
    /// The key exists with no expiry: its window never ends.
    None,
    /// Milliseconds left.
    Left(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub start: i64,
    /// When the key expires (or expired); `None` while it has no expiry.
    pub end: Option<i64>,
    pub requests: Vec<Request>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub at: i64,
    pub client: String,
    /// The counter's value after the request: its place in the window.
    pub count: i64,
    /// Against the limit; `None` when no limit is known.
    pub allowed: Option<bool>,
    /// How it was counted: `INCR`, `MULTI/EXEC` or `script`.
    pub how: &'static str,
}

impl Window {
    pub fn allowed(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.allowed == Some(true))
            .count()
    }

    pub fn refused(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.allowed == Some(false))
            .count()
    }
}

impl FixedWindow {
    pub fn counter(&self, key: &str) -> Option<&Counter> {
        self.counters.iter().find(|c| c.key == key)
    }
}

#[derive(Default)]
struct Live {
    counter: Option<usize>,
    value: i64,
    exists: bool,
    expires: Option<i64>,
}

/// The counter (key) a call increments, with the count it answered and how.
fn increment(c: &Call) -> Option<(String, i64, &'static str)> {
    let how = if c.in_transaction {
        "MULTI/EXEC"
    } else {
        "INCR"
    };
    match c.name.as_str() {
        "INCR" | "INCRBY" => Some((c.arg(0)?.to_string(), c.int()?, how)),
        _ if c.script_calls("INCR") => {
            let (keys, _) = c.script_keys_args()?;
            Some((keys.first()?.clone(), c.int()?, "script"))
        }
        _ => None,
    }
}

pub fn derive(played: &[Played], now: i64) -> FixedWindow {
    let calls = calls(played);
    let expired = expirations(played);
    let mut limit = None;
    let mut counters: Vec<Counter> = Vec::new();
    let mut live: BTreeMap<String, Live> = BTreeMap::new();
    // Keys the engine reported expired, for keys whose TTL the commands did not say.
    let gone_by_event = |key: &str, from: i64, to: i64| {
        expired
            .iter()
            .any(|(_, k, t)| k == key && *t > from && *t <= to)
    };
    // Events already accounted for are those up to the previous call's time.
    let mut last_at = i64::MIN;
    let settle = |live: &mut BTreeMap<String, Live>, at: i64, from: i64| {
        for (key, l) in live.iter_mut() {
            let timed_out = l.expires.is_some_and(|e| e <= at);
            if l.exists && (timed_out || gone_by_event(key, from, at)) {
                l.exists = false;
                l.counter = None;
            }
        }
    };
    for c in &calls {
        settle(&mut live, c.at, last_at);
        last_at = c.at;
        if matches!(c.name.as_str(), "HSET" | "HMSET") {
            for pair in c.args.get(1..).unwrap_or(&[]).chunks(2) {
                if let [f, v] = pair {
                    if f.eq_ignore_ascii_case("limit") {
                        limit = v.parse().ok().or(limit);
                    }
                }
            }
            continue;
        }
        if let Some((key, count, how)) = increment(c) {
            let l = live.entry(key.clone()).or_default();
            let index = match l.counter {
                Some(i) if l.exists => i,
                _ => {
                    l.expires = None;
                    open_window(&mut counters, &key, c.at)
                }
            };
            l.counter = Some(index);
            l.exists = true;
            l.value = count;
            let ci = counters.iter().position(|x| x.key == key).unwrap_or(0);
            if let Some(w) = counters[ci].windows.get_mut(index) {
                w.requests.push(Request {
                    at: c.at,
                    client: c.sender.client.clone(),
                    count,
                    allowed: limit.map(|l| count <= l),
                    how,
                });
            }
            if how == "script" && c.script_calls("PEXPIRE") && count == 1 {
                // The script gives the expiry as its first argument.
                let ms =
                    (c.script_keys_args()).and_then(|(_, args)| args.first()?.parse::<i64>().ok());
                if let Some(ms) = ms {
                    set_end(&mut counters, &key, index, Some(c.at + ms));
                    l.expires = Some(c.at + ms);
                }
            }
            continue;
        }
        let Some(key) = c.arg(0) else { continue };
        let tracked = live.contains_key(key) || key_is_counter(&calls, key);
        if !tracked {
            continue;
        }
        if c.name == "SET" && c.is_ok() {
            let l = live.entry(key.to_string()).or_default();
            l.value = c.arg(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            let index = open_window(&mut counters, key, c.at);
            l.counter = Some(index);
            l.exists = true;
        }
        if c.name == "DEL" && c.int() == Some(1) {
            if let Some(l) = live.get_mut(key) {
                l.exists = false;
                l.counter = None;
            }
        }
        if let Some(expiry) = super::calls::expiry_set(c) {
            if let Some(l) = live.get_mut(key) {
                l.expires = expiry;
                if let Some(i) = l.counter {
                    set_end(&mut counters, key, i, expiry);
                }
            }
        }
    }
    settle(&mut live, now, last_at);
    for counter in &mut counters {
        let l = live.get(&counter.key);
        let exists = l.is_some_and(|l| l.exists);
        counter.value = l.filter(|_| exists).map(|l| l.value);
        counter.ttl = match l {
            Some(l) if exists => match l.expires {
                Some(e) => Ttl::Left(e - now),
                None => Ttl::None,
            },
            _ => Ttl::Gone,
        };
    }
    FixedWindow {
        limit,
        counters,
        now,
    }
}

/// Whether some call increments this key (so that its `SET ... NX` and expiry matter).
fn key_is_counter(calls: &[Call], key: &str) -> bool {
    calls
        .iter()
        .any(|c| increment(c).is_some_and(|(k, _, _)| k == key))
}

fn open_window(counters: &mut Vec<Counter>, key: &str, at: i64) -> usize {
    let i = match counters.iter().position(|c| c.key == key) {
        Some(i) => i,
        None => {
            counters.push(Counter {
                key: key.to_string(),
                windows: Vec::new(),
                value: None,
                ttl: Ttl::Gone,
            });
            counters.len() - 1
        }
    };
    counters[i].windows.push(Window {
        start: at,
        end: None,
        requests: Vec::new(),
    });
    counters[i].windows.len() - 1
}

fn set_end(counters: &mut [Counter], key: &str, window: usize, end: Option<i64>) {
    if let Some(w) =
        (counters.iter_mut().find(|c| c.key == key)).and_then(|c| c.windows.get_mut(window))
    {
        w.end = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> FixedWindow {
        let l = lesson_at("fixed-window", steps);
        derive(&played(&l.player), now_of(&l))
    }

    #[test]
    fn the_first_window_counts_three_allowed_and_one_refused_from_two_clients() {
        let v = at(1);
        assert_eq!(v.limit, Some(3));
        let alice = v.counter("rate:alice").expect("rate:alice");
        assert_eq!(alice.windows.len(), 1);
        let w = &alice.windows[0];
        assert_eq!((w.start, w.end), (0, Some(1000)));
        assert_eq!((w.allowed(), w.refused()), (3, 1));
        let clients: Vec<&str> = w.requests.iter().map(|r| r.client.as_str()).collect();
        assert_eq!(clients, ["A", "B", "A", "B"]);
        assert_eq!(alice.value, Some(4));
        assert_eq!(alice.ttl, Ttl::Left(1000));
    }

    #[test]
    fn the_window_ends_and_a_new_one_starts_at_one() {
        let v = at(2);
        let alice = v.counter("rate:alice").expect("rate:alice");
        assert_eq!(alice.windows.len(), 2);
        let w = &alice.windows[1];
        assert_eq!((w.start, w.end), (1100, Some(2100)));
        assert_eq!(w.requests[0].count, 1);
        assert_eq!((w.allowed(), w.refused()), (1, 0));
    }

    #[test]
    fn a_counter_without_expiry_keeps_one_window_and_refuses_forever() {
        let v = at(3);
        let bob = v.counter("rate:bob").expect("rate:bob");
        assert_eq!(bob.windows.len(), 1, "the window never ends");
        assert_eq!(bob.windows[0].end, None);
        assert_eq!(bob.ttl, Ttl::None);
        assert_eq!(bob.value, Some(4));
        assert_eq!((bob.windows[0].allowed(), bob.windows[0].refused()), (3, 1));
    }

    #[test]
    fn the_three_fixes_each_give_the_counter_an_expiry() {
        let v = at(6);
        for (key, how) in [
            ("rate:carol", "INCR"),
            ("rate:dave", "MULTI/EXEC"),
            ("rate:erin", "script"),
        ] {
            let c = v.counter(key).unwrap_or_else(|| panic!("{key}"));
            assert_eq!(c.windows.len(), 1, "{key}");
            let w = &c.windows[0];
            assert!(w.end.is_some(), "{key} has an end");
            assert_eq!(w.requests.len(), 2, "{key}");
            assert!(w.requests.iter().all(|r| r.how == how), "{key}: {w:?}");
            assert_eq!(c.value, Some(2), "{key}");
            assert!(
                matches!(c.ttl, Ttl::Left(ms) if ms > 0 && ms <= 1000),
                "{key}"
            );
        }
    }
}
