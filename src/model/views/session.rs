//! A session store with a sliding expiry: each session hash with its fields, its time to live
//! as a bar that refills at every refresh (`EXPIRE`/`PEXPIRE`), the activity that touched it,
//! and the session expiring once its user went idle (the engine's `Expired` event, or the TTL
//! running out).

use super::calls::{calls, expirations, expiry_set, items, text};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct SessionView {
    pub sessions: Vec<Session>,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub key: String,
    pub fields: Vec<(String, String)>,
    /// The TTL the last refresh gave, in ms: the bar's full length.
    pub ttl: Option<i64>,
    /// When it expires (or expired).
    pub expires: Option<i64>,
    /// Times of the commands that touched it, with who sent them and whether they refreshed the
    /// expiry.
    pub activity: Vec<Activity>,
    /// When the session expired, if it did; `by_event` when the engine reported it.
    pub expired: Option<Expiry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub at: i64,
    pub client: String,
    pub command: String,
    pub refreshed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub at: i64,
    /// How long the user had been idle (since the last refresh) when it expired.
    pub idle: i64,
    pub by_event: bool,
}

impl Session {
    /// Milliseconds left now, for a live session.
    pub fn left(&self, now: i64) -> Option<i64> {
        match (self.expired, self.expires) {
            (None, Some(e)) => Some((e - now).max(0)),
            _ => None,
        }
    }
}

impl SessionView {
    pub fn session(&self, key: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.key == key)
    }
}

const WRITES: &[&str] = &["HSET", "HMSET", "HSETNX", "HINCRBY", "HINCRBYFLOAT", "HDEL"];
const READS: &[&str] = &[
    "HGET", "HMGET", "HGETALL", "HEXISTS", "HLEN", "HKEYS", "HVALS",
];

pub fn derive(played: &[Played], now: i64) -> SessionView {
    let calls = calls(played);
    let expired = expirations(played);
    let mut sessions: Vec<Session> = Vec::new();
    let mut last_at = i64::MIN;
    for c in &calls {
        settle(&mut sessions, &expired, last_at, c.at);
        last_at = c.at;
        let Some(key) = c.arg(0) else { continue };
        let write = WRITES.contains(&c.name.as_str()) && c.int().is_some();
        let read = READS.contains(&c.name.as_str());
        let known = sessions.iter().position(|s| s.key == key);
        let i = match known {
            Some(i) => i,
            None if write => {
                sessions.push(Session {
                    key: key.to_string(),
                    fields: Vec::new(),
                    ttl: None,
                    expires: None,
                    activity: Vec::new(),
                    expired: None,
                });
                sessions.len() - 1
            }
            None => continue,
        };
        let s = &mut sessions[i];
        if write && s.expired.is_some() {
            // A new session under the same id.
            s.fields.clear();
            s.expired = None;
            s.expires = None;
            s.ttl = None;
        }
        match c.name.as_str() {
            "HSET" | "HMSET" => {
                for pair in c.args.get(1..).unwrap_or(&[]).chunks(2) {
                    if let [f, v] = pair {
                        set_field(s, f, v.clone());
                    }
                }
            }
            "HINCRBY" | "HINCRBYFLOAT" => {
                if let (Some(f), Some(v)) = (c.arg(1), c.reply.as_ref().and_then(text)) {
                    set_field(s, f, v);
                }
            }
            "HDEL" => {
                let gone: Vec<&String> = c.args.iter().skip(1).collect();
                s.fields.retain(|(f, _)| !gone.contains(&f));
            }
            "HGETALL" => {
                if let Some(list) = c.reply.as_ref().and_then(items) {
                    for pair in list.chunks(2) {
                        if let [f, v] = pair {
                            if let (Some(f), Some(v)) = (text(f), text(v)) {
                                set_field(s, &f, v);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        let refreshed = match expiry_set(c) {
            Some(e) => {
                s.expires = e;
                s.ttl = e.map(|e| e - c.at);
                true
            }
            None => false,
        };
        if write || read || refreshed || c.name == "EXISTS" {
            s.activity.push(Activity {
                at: c.at,
                client: c.sender.client.clone(),
                command: c.name.clone(),
                refreshed,
            });
        }
    }
    settle(&mut sessions, &expired, last_at, now);
    SessionView { sessions, now }
}

fn set_field(s: &mut Session, field: &str, value: String) {
    match s.fields.iter_mut().find(|(f, _)| f == field) {
        Some(e) => e.1 = value,
        None => s.fields.push((field.to_string(), value)),
    }
}

fn settle(sessions: &mut [Session], expired: &[(usize, String, i64)], from: i64, to: i64) {
    for s in sessions.iter_mut().filter(|s| s.expired.is_none()) {
        let by_event = (expired.iter()).any(|(_, k, t)| *k == s.key && *t > from && *t <= to);
        let due = s.expires.filter(|e| *e <= to);
        if by_event || due.is_some() {
            let at = due.unwrap_or(to);
            let last_refresh = (s.activity.iter().rev())
                .find(|a| a.refreshed)
                .map_or(0, |a| a.at);
            s.expired = Some(Expiry {
                at,
                idle: at - last_refresh,
                by_event,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> SessionView {
        let l = lesson_at("session", steps);
        derive(&played(&l.player), now_of(&l))
    }

    #[test]
    fn activity_refills_the_ttl_of_the_active_session_only() {
        let v = at(2);
        let abc = v.session("session:abc").expect("abc");
        let xyz = v.session("session:xyz").expect("xyz");
        assert_eq!(abc.left(v.now), Some(1000));
        assert_eq!(xyz.left(v.now), Some(400));
        let refreshes: Vec<i64> = (abc.activity.iter())
            .filter(|a| a.refreshed)
            .map(|a| a.at)
            .collect();
        assert_eq!(refreshes, [0, 600]);
        assert!(abc.fields.contains(&("cart".to_string(), "4".to_string())));
    }

    #[test]
    fn the_idle_session_expires_and_the_engine_reports_it() {
        let v = at(3);
        let xyz = v.session("session:xyz").expect("xyz");
        let e = xyz.expired.expect("expired");
        assert_eq!((e.at, e.idle), (1000, 1000));
        assert!(e.by_event, "an Expired event came with it");
        assert!(v.session("session:abc").expect("abc").expired.is_none());
        let v = at(4);
        let abc = v.session("session:abc").expect("abc");
        assert_eq!(abc.expired.map(|e| (e.at, e.idle)), Some((2200, 1000)));
    }
}
