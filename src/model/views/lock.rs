//! A lock with `SET key token NX PX ms`: per lock key, one lane per client on a time axis, with
//! each acquisition and refusal, the hold until its release or expiry, a holder still working
//! after its lock expired, and each release: `DEL` (of whoever holds it) or the
//! compare-and-delete script (which deletes only the caller's own token).

use super::calls::{calls, expirations, expiry_set, Call};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct LockView {
    pub locks: Vec<Lock>,
    /// Every client that touched a lock, in order of appearance: the lanes.
    pub clients: Vec<String>,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lock {
    pub key: String,
    pub holds: Vec<Hold>,
    pub marks: Vec<Mark>,
    /// Who holds it now.
    pub holder: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hold {
    pub client: String,
    pub token: String,
    pub from: i64,
    /// When the hold ended (or `None`: still held now).
    pub to: Option<i64>,
    pub end: End,
    /// A holder whose lock expired and who acted on the key later (its release) believed it
    /// held the lock until then.
    pub believed_until: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    Held,
    Expired,
    /// Released by its holder.
    Released,
    /// Deleted by another client (`DEL` without looking at the token).
    DeletedBy(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Acquired,
    Refused,
    /// `DEL` that removed another client's lock.
    WrongRelease {
        victim: String,
    },
    /// `DEL` of one's own lock.
    Released,
    /// The compare-and-delete script deleted the caller's own lock.
    SafeRelease,
    /// The compare-and-delete script refused: the token was someone else's.
    SafeRefusal {
        holder: Option<String>,
    },
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub at: i64,
    pub client: String,
    pub kind: MarkKind,
}

impl Lock {
    pub fn marks_of(&self, kind: fn(&MarkKind) -> bool) -> Vec<&Mark> {
        self.marks.iter().filter(|m| kind(&m.kind)).collect()
    }
}

impl LockView {
    pub fn lock(&self, key: &str) -> Option<&Lock> {
        self.locks.iter().find(|l| l.key == key)
    }
}

fn is_lock_set(c: &Call) -> bool {
    c.name == "SET" && c.args.iter().skip(2).any(|a| a.eq_ignore_ascii_case("NX"))
}

fn is_release_script(c: &Call) -> bool {
    c.script_calls("GET") && c.script_calls("DEL")
}

/// Expires the lock's current hold if its expiry passed by `t`.
fn settle(lock: &mut Lock, expires: &mut Option<i64>, t: i64, by_event: Option<i64>) {
    let due = expires.filter(|e| *e <= t).or(by_event);
    if let Some(e) = due {
        if let Some(h) = lock.holds.last_mut().filter(|h| h.end == End::Held) {
            h.to = Some(e);
            h.end = End::Expired;
            let client = h.client.clone();
            lock.marks.push(Mark {
                at: e,
                client,
                kind: MarkKind::Expired,
            });
        }
        *expires = None;
    }
}

pub fn derive(played: &[Played], now: i64) -> LockView {
    let calls = calls(played);
    let expired = expirations(played);
    let lock_keys: Vec<String> = {
        let mut keys: Vec<String> = Vec::new();
        for c in calls.iter().filter(|c| is_lock_set(c)) {
            if let Some(k) = c.arg(0).filter(|k| !keys.iter().any(|x| x == k)) {
                keys.push(k.to_string());
            }
        }
        keys
    };
    let mut clients: Vec<String> = Vec::new();
    let mut locks: Vec<(Lock, Option<i64>)> = (lock_keys.iter())
        .map(|k| {
            let lock = Lock {
                key: k.clone(),
                holds: Vec::new(),
                marks: Vec::new(),
                holder: None,
            };
            (lock, None)
        })
        .collect();
    let mut last_at = i64::MIN;
    for c in &calls {
        let key = match c.script_keys_args() {
            Some((keys, _)) => keys.first().map(String::as_str),
            None => c.arg(0),
        };
        for (lock, expires) in &mut locks {
            let by_event = (expired.iter())
                .find(|(_, k, t)| *k == lock.key && *t > last_at && *t <= c.at)
                .map(|(_, _, t)| *t);
            settle(lock, expires, c.at, by_event);
        }
        last_at = c.at;
        let Some(key) = key else { continue };
        let Some((lock, expires)) = locks.iter_mut().find(|(l, _)| l.key == key) else {
            continue;
        };
        let client = c.sender.client.clone();
        if !clients.contains(&client) {
            clients.push(client.clone());
        }
        let mark = |kind| Mark {
            at: c.at,
            client: client.clone(),
            kind,
        };
        // A client acting on a lock it lost to expiry still believed it held it.
        if let Some(h) = (lock.holds.iter_mut().rev())
            .find(|h| h.client == client && h.end == End::Expired && h.believed_until.is_none())
        {
            if matches!(c.name.as_str(), "DEL") || is_release_script(c) {
                h.believed_until = Some(c.at);
            }
        }
        if is_lock_set(c) {
            if c.is_ok() {
                lock.holds.push(Hold {
                    client: client.clone(),
                    token: c.arg(1).unwrap_or_default().to_string(),
                    from: c.at,
                    to: None,
                    end: End::Held,
                    believed_until: None,
                });
                *expires = expiry_set(c).flatten();
                lock.marks.push(mark(MarkKind::Acquired));
            } else if c.is_nil() {
                lock.marks.push(mark(MarkKind::Refused));
            }
        } else if c.name == "DEL" && c.int() == Some(1) {
            if let Some(h) = lock.holds.last_mut().filter(|h| h.end == End::Held) {
                h.to = Some(c.at);
                let kind = if h.client == client {
                    h.end = End::Released;
                    MarkKind::Released
                } else {
                    h.end = End::DeletedBy(client.clone());
                    MarkKind::WrongRelease {
                        victim: h.client.clone(),
                    }
                };
                lock.marks.push(mark(kind));
            }
            *expires = None;
        } else if is_release_script(c) {
            let current = lock.holds.last_mut().filter(|h| h.end == End::Held);
            if c.int() == Some(1) {
                if let Some(h) = current {
                    h.to = Some(c.at);
                    h.end = End::Released;
                }
                *expires = None;
                lock.marks.push(mark(MarkKind::SafeRelease));
            } else if c.int() == Some(0) {
                let holder = current.map(|h| h.client.clone());
                lock.marks.push(mark(MarkKind::SafeRefusal { holder }));
            }
        }
    }
    let locks = (locks.into_iter())
        .map(|(mut lock, mut expires)| {
            let by_event = (expired.iter())
                .find(|(_, k, t)| *k == lock.key && *t > last_at && *t <= now)
                .map(|(_, _, t)| *t);
            settle(&mut lock, &mut expires, now, by_event);
            lock.holder = (lock.holds.last())
                .filter(|h| h.end == End::Held)
                .map(|h| h.client.clone());
            lock
        })
        .collect();
    LockView {
        locks,
        clients,
        now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> LockView {
        let l = lesson_at("lock", steps);
        derive(&played(&l.player), now_of(&l))
    }

    #[test]
    fn a_acquires_and_b_is_refused() {
        let v = at(1);
        let lock = v.lock("lock:invoice:7").expect("lock");
        assert_eq!(lock.holder.as_deref(), Some("A"));
        let marks: Vec<(&str, &MarkKind)> = lock
            .marks
            .iter()
            .map(|m| (m.client.as_str(), &m.kind))
            .collect();
        assert_eq!(
            marks,
            [("A", &MarkKind::Acquired), ("B", &MarkKind::Refused)]
        );
    }

    #[test]
    fn the_lock_expires_under_a_and_b_acquires() {
        let v = at(2);
        let lock = v.lock("lock:invoice:7").expect("lock");
        let a = &lock.holds[0];
        assert_eq!((a.from, a.to, &a.end), (0, Some(1000), &End::Expired));
        assert_eq!(lock.holder.as_deref(), Some("B"));
        assert_eq!(lock.holds[1].from, 1100);
    }

    #[test]
    fn a_deletes_b_s_lock_and_c_takes_it() {
        let v = at(3);
        let lock = v.lock("lock:invoice:7").expect("lock");
        let wrong = lock.marks_of(|k| matches!(k, MarkKind::WrongRelease { .. }));
        assert_eq!(wrong.len(), 1);
        assert_eq!(wrong[0].client, "A");
        assert_eq!(wrong[0].kind, MarkKind::WrongRelease { victim: "B".into() });
        assert_eq!(lock.holds[1].end, End::DeletedBy("A".into()));
        assert_eq!(
            lock.holds[0].believed_until,
            Some(1300),
            "A thought it held it"
        );
        assert_eq!(lock.holds[1].to, Some(1300));
        assert_eq!(lock.holds[2].from, 1400);
        assert_eq!(lock.holder.as_deref(), Some("C"));
    }

    #[test]
    fn the_script_refuses_a_stranger_s_token_and_releases_the_owner_s() {
        let v = at(4);
        let lock = v.lock("lock:report").expect("lock");
        let refusals = lock.marks_of(|k| matches!(k, MarkKind::SafeRefusal { .. }));
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].client, "B");
        assert_eq!(
            refusals[0].kind,
            MarkKind::SafeRefusal {
                holder: Some("C".into())
            }
        );
        let releases = lock.marks_of(|k| *k == MarkKind::SafeRelease);
        assert_eq!(releases.len(), 1);
        assert_eq!(releases[0].client, "C");
        assert_eq!(lock.holder, None);
        assert_eq!(v.clients, ["A", "B", "C"]);
    }
}
