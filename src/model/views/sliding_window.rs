//! Sliding-window rate limiting on a sorted set: each log key's requests on a time axis
//! (allowed or refused), its members as they enter (`ZADD`) and leave (`ZREMRANGEBYSCORE`, the
//! key's expiry), and the window now.
//!
//! A request starts with the clean-up `ZREMRANGEBYSCORE key -inf <now - window>` (which also
//! gives the window's length) and is allowed when the same client then adds to the log with
//! `ZADD`; any other command of that client on the key first means it was refused. A script
//! that cleans and adds as one command answers 1 (allowed) or 0 (refused); its arguments are
//! the lesson's: the time, the window, the limit and the member.

use std::collections::BTreeMap;

use cachelab_scenario::Sender;

use super::calls::{calls, expirations, expiry_set, number, Call};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct SlidingWindow {
    pub logs: Vec<Log>,
    /// The window's length, from the last clean-up or script seen.
    pub window: Option<i64>,
    /// The limit, when a script was given one.
    pub limit: Option<i64>,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Log {
    pub key: String,
    pub requests: Vec<Request>,
    pub members: Vec<Member>,
    /// When the key expired, if it did.
    pub expired_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Refused,
    /// Cleaned up and counted, not yet decided.
    Pending,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub at: i64,
    pub client: String,
    pub decision: Decision,
    /// What the count (`ZCARD`) answered before deciding.
    pub counted: Option<i64>,
    pub by_script: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub name: String,
    /// The score: the request's time, in ms since the lesson's start.
    pub score: i64,
    pub added_at: i64,
    /// When it left the log, and how.
    pub left: Option<(i64, Leave)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// Removed by the clean-up, being older than the window.
    Cleaned,
    /// The whole key expired.
    Expired,
}

impl Log {
    pub fn count(&self, d: Decision) -> usize {
        self.requests.iter().filter(|r| r.decision == d).count()
    }

    /// Members in the log now.
    pub fn present(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.left.is_none())
    }
}

impl SlidingWindow {
    pub fn log(&self, key: &str) -> Option<&Log> {
        self.logs.iter().find(|l| l.key == key)
    }
}

fn log_mut<'a>(logs: &'a mut Vec<Log>, key: &str) -> &'a mut Log {
    let i = match logs.iter().position(|l| l.key == key) {
        Some(i) => i,
        None => {
            logs.push(Log {
                key: key.to_string(),
                requests: Vec::new(),
                members: Vec::new(),
                expired_at: None,
            });
            logs.len() - 1
        }
    };
    &mut logs[i]
}

fn score_ms(s: &str) -> Option<i64> {
    number(s)
        .filter(|x| x.is_finite())
        .map(|x| x as i64 - cachelab_scenario::run::START_MS)
}

fn add(log: &mut Log, at: i64, pairs: &[String]) {
    for pair in pairs.chunks(2) {
        if let [score, name] = pair {
            let Some(score) = score_ms(score) else {
                continue;
            };
            match log
                .members
                .iter_mut()
                .find(|m| &m.name == name && m.left.is_none())
            {
                Some(m) => m.score = score,
                None => log.members.push(Member {
                    name: name.clone(),
                    score,
                    added_at: at,
                    left: None,
                }),
            }
        }
    }
}

fn expire(log: &mut Log, at: i64) {
    for m in log.members.iter_mut().filter(|m| m.left.is_none()) {
        m.left = Some((at, Leave::Expired));
    }
    log.expired_at = Some(at);
}

pub fn derive(played: &[Played], now: i64) -> SlidingWindow {
    let calls = calls(played);
    let expired = expirations(played);
    let mut logs: Vec<Log> = Vec::new();
    let mut window = None;
    let mut limit = None;
    let mut expires: BTreeMap<String, i64> = BTreeMap::new();
    // (client, key) -> index of its undecided request in the key's log.
    let mut pending: BTreeMap<(Sender, String), usize> = BTreeMap::new();
    let mut last_at = i64::MIN;
    let settle = |logs: &mut Vec<Log>, expires: &mut BTreeMap<String, i64>, from: i64, to: i64| {
        for log in logs.iter_mut() {
            let by_ttl = expires.get(&log.key).copied().filter(|e| *e <= to);
            let by_event = (expired.iter())
                .find(|(_, k, t)| *k == log.key && *t > from && *t <= to)
                .map(|(_, _, t)| *t);
            if let Some(t) = by_ttl.or(by_event) {
                if log.members.iter().any(|m| m.left.is_none()) {
                    expire(log, t);
                }
                expires.remove(&log.key);
            }
        }
    };
    for c in &calls {
        settle(&mut logs, &mut expires, last_at, c.at);
        last_at = c.at;
        if c.script_calls("ZREMRANGEBYSCORE") {
            script_request(c, &mut logs, &mut window, &mut limit, &mut expires);
            continue;
        }
        let Some(key) = c.arg(0) else { continue };
        let slot = (c.sender.clone(), key.to_string());
        match c.name.as_str() {
            "ZREMRANGEBYSCORE" => {
                let max = c.arg(2).and_then(score_ms);
                let log = log_mut(&mut logs, key);
                if let Some(max) = max {
                    window = Some(c.at - max);
                    let min = c.arg(1).and_then(number).unwrap_or(f64::NEG_INFINITY);
                    for m in log.members.iter_mut().filter(|m| m.left.is_none()) {
                        let abs = (m.score + cachelab_scenario::run::START_MS) as f64;
                        if abs >= min && m.score <= max {
                            m.left = Some((c.at, Leave::Cleaned));
                        }
                    }
                }
                if let Some(i) = pending.remove(&slot) {
                    log.requests[i].decision = Decision::Refused;
                }
                log.requests.push(Request {
                    at: c.at,
                    client: c.sender.client.clone(),
                    decision: Decision::Pending,
                    counted: None,
                    by_script: false,
                });
                pending.insert(slot, log.requests.len() - 1);
            }
            "ZCARD" => {
                if let Some(&i) = pending.get(&slot) {
                    let log = log_mut(&mut logs, key);
                    if log.requests[i].counted.is_none() {
                        log.requests[i].counted = c.int();
                        continue;
                    }
                    log.requests[i].decision = Decision::Refused;
                    pending.remove(&slot);
                }
            }
            "ZADD" => {
                if c.int().is_none() {
                    continue;
                }
                let log = log_mut(&mut logs, key);
                add(log, c.at, c.args.get(1..).unwrap_or(&[]));
                if let Some(i) = pending.remove(&slot) {
                    log.requests[i].decision = Decision::Allowed;
                }
            }
            _ => {
                if let Some(t) = expiry_set(c) {
                    if logs.iter().any(|l| l.key == key) {
                        match t {
                            Some(t) => expires.insert(key.to_string(), t),
                            None => expires.remove(key),
                        };
                    }
                }
                if let Some(i) = pending.remove(&slot) {
                    if !matches!(c.name.as_str(), "PEXPIRE" | "EXPIRE") {
                        log_mut(&mut logs, key).requests[i].decision = Decision::Refused;
                    }
                }
            }
        }
    }
    settle(&mut logs, &mut expires, last_at, now);
    SlidingWindow {
        logs,
        window,
        limit,
        now,
    }
}

fn script_request(
    c: &Call,
    logs: &mut Vec<Log>,
    window: &mut Option<i64>,
    limit: &mut Option<i64>,
    expires: &mut BTreeMap<String, i64>,
) {
    let Some((keys, args)) = c.script_keys_args() else {
        return;
    };
    let Some(key) = keys.first() else { return };
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<i64>().ok());
    let w = num(1);
    *window = w.or(*window);
    *limit = num(2).or(*limit);
    let log = log_mut(logs, key);
    if let Some(w) = w {
        for m in log.members.iter_mut().filter(|m| m.left.is_none()) {
            if m.score <= c.at - w {
                m.left = Some((c.at, Leave::Cleaned));
            }
        }
    }
    let allowed = c.int() == Some(1);
    log.requests.push(Request {
        at: c.at,
        client: c.sender.client.clone(),
        decision: if allowed {
            Decision::Allowed
        } else {
            Decision::Refused
        },
        counted: None,
        by_script: true,
    });
    if allowed {
        if let (Some(score), Some(name)) = (args.first(), args.get(3)) {
            add(log, c.at, &[score.clone(), name.clone()]);
        }
        if let Some(w) = w {
            expires.insert(key.clone(), c.at + w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> SlidingWindow {
        let l = lesson_at("sliding-window", steps);
        derive(&played(&l.player), now_of(&l))
    }

    #[test]
    fn three_requests_are_allowed_and_the_fourth_refused() {
        let v = at(3);
        assert_eq!(v.window, Some(1000));
        let alice = v.log("rl:alice").expect("rl:alice");
        assert_eq!(alice.count(Decision::Allowed), 3);
        assert_eq!(alice.count(Decision::Refused), 1);
        let refused = alice.requests.last().expect("a request");
        assert_eq!((refused.at, refused.counted), (800, Some(3)));
        let scores: Vec<i64> = alice.present().map(|m| m.score).collect();
        assert_eq!(scores, [0, 300, 600]);
    }

    #[test]
    fn the_window_slides_and_the_oldest_member_leaves() {
        let v = at(4);
        let alice = v.log("rl:alice").expect("rl:alice");
        let first = &alice.members[0];
        assert_eq!(first.left, Some((1100, Leave::Cleaned)));
        let scores: Vec<i64> = alice.present().map(|m| m.score).collect();
        assert_eq!(scores, [300, 600, 1100]);
        assert_eq!(alice.count(Decision::Allowed), 4);
    }

    #[test]
    fn two_servers_race_and_both_are_allowed() {
        let v = at(5);
        let bob = v.log("rl:bob").expect("rl:bob");
        let clients: Vec<(&str, Decision)> = (bob.requests.iter())
            .map(|r| (r.client.as_str(), r.decision))
            .collect();
        assert_eq!(
            clients,
            [("A", Decision::Allowed), ("B", Decision::Allowed)]
        );
        assert_eq!(bob.present().count(), 4);
    }

    #[test]
    fn the_script_allows_three_and_refuses_the_fourth() {
        let v = at(6);
        assert_eq!(v.limit, Some(3));
        let carol = v.log("rl:carol").expect("rl:carol");
        assert!(carol.requests.iter().all(|r| r.by_script));
        assert_eq!(carol.count(Decision::Allowed), 3);
        assert_eq!(carol.count(Decision::Refused), 1);
        assert_eq!(carol.present().count(), 3);
    }

    #[test]
    fn a_quiet_log_expires_a_second_after_its_last_request() {
        let l = lesson_at("sliding-window", 6);
        let now = now_of(&l);
        let alice = derive(&played(&l.player), now);
        assert_eq!(alice.log("rl:alice").expect("rl:alice").expired_at, None);
        let later = derive(&played(&l.player), 2200);
        let alice = later.log("rl:alice").expect("rl:alice");
        assert_eq!(alice.expired_at, Some(2100));
        assert_eq!(alice.present().count(), 0);
    }
}
