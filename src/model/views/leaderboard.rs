//! A leaderboard on a sorted set: each board's members and scores, ranked as Redis ranks them
//! for `ZREVRANGE` (highest score first; equal scores in reverse byte order of the member), the
//! last change, and the board's expiry.
//!
//! Scores come from the commands and replies: `ZADD`'s pairs (when it answered), `ZINCRBY`'s
//! reply (the new score), and `ZRANGE`/`ZREVRANGE ... WITHSCORES` replies, which say the scores
//! outright. A board expires when its `EXPIRE`/`PEXPIRE` runs out or the engine reports it.

use super::calls::{calls, expirations, expiry_set, items, number, text, Call};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct Leaderboard {
    pub boards: Vec<Board>,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Board {
    pub key: String,
    /// Highest first, ties as `ZREVRANGE` orders them.
    pub ranked: Vec<Entry>,
    /// When the board expires (or expired), if it has an expiry.
    pub expires: Option<i64>,
    /// Set once the board has expired: it shows as it was, empty now.
    pub expired: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub member: String,
    pub score: f64,
    /// Ties with the member above or below.
    pub tied: bool,
    /// What the latest command did to this member: `+10`, `new`.
    pub change: Option<String>,
}

impl Board {
    pub fn order(&self) -> Vec<&str> {
        self.ranked.iter().map(|e| e.member.as_str()).collect()
    }
}

impl Leaderboard {
    pub fn board(&self, key: &str) -> Option<&Board> {
        self.boards.iter().find(|b| b.key == key)
    }
}

struct Raw {
    key: String,
    scores: Vec<(String, f64)>,
    expires: Option<i64>,
    expired: bool,
    change: Option<(String, String)>,
}

fn set(board: &mut Raw, member: &str, score: f64) {
    match board.scores.iter_mut().find(|(m, _)| m == member) {
        Some(e) => e.1 = score,
        None => board.scores.push((member.to_string(), score)),
    }
}

/// The board a write to `key` lands on: once the old one expired, a new board under its key.
fn written_board<'a>(boards: &'a mut Vec<Raw>, key: &str) -> &'a mut Raw {
    let b = board_mut(boards, key);
    if b.expired {
        b.scores.clear();
        b.expires = None;
        b.expired = false;
    }
    b
}

fn board_mut<'a>(boards: &'a mut Vec<Raw>, key: &str) -> &'a mut Raw {
    let i = match boards.iter().position(|b| b.key == key) {
        Some(i) => i,
        None => {
            boards.push(Raw {
                key: key.to_string(),
                scores: Vec::new(),
                expires: None,
                expired: false,
                change: None,
            });
            boards.len() - 1
        }
    };
    &mut boards[i]
}

/// `ZADD`'s score/member pairs, after its options.
fn zadd_pairs(c: &Call) -> Vec<(f64, String)> {
    let rest = c.args.get(1..).unwrap_or(&[]);
    let first = rest
        .iter()
        .position(|a| number(a).is_some())
        .unwrap_or(rest.len());
    (rest[first..].chunks(2))
        .filter_map(|p| match p {
            [s, m] => Some((number(s)?, m.clone())),
            _ => None,
        })
        .collect()
}

pub fn derive(played: &[Played], now: i64) -> Leaderboard {
    let calls = calls(played);
    let expired = expirations(played);
    let mut boards: Vec<Raw> = Vec::new();
    let mut last_at = i64::MIN;
    for c in &calls {
        settle(&mut boards, &expired, last_at, c.at);
        last_at = c.at;
        let Some(key) = c.arg(0) else { continue };
        match c.name.as_str() {
            "ZADD" if c.int().is_some() => {
                let opts: Vec<String> = (c.args.iter().skip(1))
                    .take_while(|a| number(a).is_none())
                    .map(|a| a.to_ascii_uppercase())
                    .collect();
                if opts
                    .iter()
                    .any(|o| matches!(o.as_str(), "NX" | "XX" | "GT" | "LT" | "INCR"))
                {
                    // Which pairs took effect depends on the old scores: leave it to the next
                    // read of the board.
                    continue;
                }
                let b = written_board(&mut boards, key);
                let pairs = zadd_pairs(c);
                let names: Vec<String> = pairs.iter().map(|(_, m)| m.clone()).collect();
                for (score, member) in pairs {
                    set(b, &member, score);
                }
                b.change = (names.len() == 1).then(|| (names[0].clone(), "set".to_string()));
            }
            "ZINCRBY" => {
                let (Some(by), Some(member)) = (c.arg(1), c.arg(2)) else {
                    continue;
                };
                let Some(score) = c.reply.as_ref().and_then(text).and_then(|t| number(&t)) else {
                    continue;
                };
                let b = written_board(&mut boards, key);
                set(b, member, score);
                let by = by.strip_prefix('+').unwrap_or(by);
                let shown = if by.starts_with('-') {
                    by.to_string()
                } else {
                    format!("+{by}")
                };
                b.change = Some((member.to_string(), shown));
            }
            "ZRANGE" | "ZREVRANGE"
                if c.args.iter().any(|a| a.eq_ignore_ascii_case("WITHSCORES")) =>
            {
                let Some(list) = c.reply.as_ref().and_then(items) else {
                    continue;
                };
                if list.is_empty() || !boards.iter().any(|b| b.key == key) {
                    continue;
                }
                let b = board_mut(&mut boards, key);
                for pair in list.chunks(2) {
                    if let [m, s] = pair {
                        if let (Some(m), Some(s)) = (text(m), text(s).and_then(|t| number(&t))) {
                            set(b, &m, s);
                        }
                    }
                }
            }
            "ZREM" if c.int().is_some_and(|n| n > 0) => {
                let b = board_mut(&mut boards, key);
                let gone: Vec<&String> = c.args.iter().skip(1).collect();
                b.scores.retain(|(m, _)| !gone.contains(&m));
            }
            _ => {
                if let Some(t) = expiry_set(c) {
                    if let Some(b) = boards.iter_mut().find(|b| b.key == key) {
                        b.expires = t;
                    }
                }
            }
        }
    }
    settle(&mut boards, &expired, last_at, now);
    let boards = boards.into_iter().map(rank).collect();
    Leaderboard { boards, now }
}

fn settle(boards: &mut [Raw], expired: &[(usize, String, i64)], from: i64, to: i64) {
    for b in boards {
        let by_event = (expired.iter()).any(|(_, k, t)| *k == b.key && *t > from && *t <= to);
        if b.expires.is_some_and(|e| e <= to) || by_event {
            if !b.expired {
                b.expired = true;
                b.change = None;
            }
            if b.expires.is_none_or(|e| e > to) {
                b.expires = Some(to);
            }
        }
    }
}

fn rank(b: Raw) -> Board {
    let mut scores = b.scores;
    // ZREVRANGE: descending score, then descending member bytes.
    scores.sort_by(|(ma, sa), (mb, sb)| {
        sb.total_cmp(sa)
            .then_with(|| mb.as_bytes().cmp(ma.as_bytes()))
    });
    let ranked = (scores.iter().enumerate())
        .map(|(i, (member, score))| {
            let same = |j: Option<usize>| {
                j.and_then(|j| scores.get(j))
                    .is_some_and(|(_, s)| s == score)
            };
            Entry {
                member: member.clone(),
                score: *score,
                tied: same(i.checked_sub(1)) || same(Some(i + 1)),
                change: (b.change.as_ref())
                    .filter(|(m, _)| m == member)
                    .map(|(_, c)| c.clone()),
            }
        })
        .collect();
    Board {
        key: b.key,
        ranked,
        expires: b.expires,
        expired: b.expired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> Leaderboard {
        let l = lesson_at("leaderboard", steps);
        derive(&played(&l.player), now_of(&l))
    }

    #[test]
    fn ties_are_ordered_as_zrevrange_orders_them() {
        let v = at(1);
        let b = v.board("lb:alltime").expect("lb:alltime");
        assert_eq!(b.order(), ["carol", "alice", "bob", "dave"]);
        let tied: Vec<bool> = b.ranked.iter().map(|e| e.tied).collect();
        assert_eq!(tied, [true, true, false, false]);
    }

    #[test]
    fn zincrby_moves_a_member_and_marks_the_change() {
        let v = at(2);
        let b = v.board("lb:alltime").expect("lb:alltime");
        let bob = &b.ranked[2];
        assert_eq!((bob.member.as_str(), bob.score), ("bob", 105.0));
        assert_eq!(bob.change.as_deref(), Some("+10"));
        let v = at(4);
        let b = v.board("lb:alltime").expect("lb:alltime");
        assert_eq!(b.order(), ["bob", "carol", "alice", "dave"]);
        let week = v.board("lb:week:46").expect("lb:week:46");
        assert_eq!(week.order(), ["dave", "bob"]);
        assert_eq!(week.expires, Some(1500));
        assert!(!week.expired);
    }

    #[test]
    fn the_weekly_board_expires_and_the_all_time_board_stays() {
        let v = at(5);
        let week = v.board("lb:week:46").expect("lb:week:46");
        assert!(week.expired);
        assert_eq!(week.expires, Some(1500));
        let all = v.board("lb:alltime").expect("lb:alltime");
        assert!(!all.expired);
        assert_eq!(all.ranked[0].score, 130.0);
    }
}
