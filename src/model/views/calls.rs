//! The commands a lesson sent, read back as the pattern views need them: one `Call` per command
//! that took effect, with its reply, the commands queued in a `MULTI` paired with their results
//! in `EXEC`'s reply, and a script's source found for `EVALSHA` from an earlier `SCRIPT LOAD`.

use std::collections::BTreeMap;

use cachelab_engine::{Event, Reply};
use cachelab_scenario::run::START_MS;
use cachelab_scenario::Sender;

use super::Played;

/// One command that ran, with its reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub sender: Sender,
    /// The command's name in upper case.
    pub name: String,
    /// The arguments after the name, as text (lossy for binary).
    pub args: Vec<String>,
    /// The reply; `None` when the instance could not be reached.
    pub reply: Option<Reply>,
    /// Milliseconds since the lesson's start.
    pub at: i64,
    /// Set for a command that ran inside `EXEC`.
    pub in_transaction: bool,
    /// For `EVAL`/`EVALSHA`: the script's source, when known.
    pub script: Option<String>,
    /// The index of the played action that sent it.
    pub action: usize,
}

impl Call {
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }

    /// The reply as an integer (also a RESP3 boolean).
    pub fn int(&self) -> Option<i64> {
        self.reply.as_ref().and_then(int)
    }

    pub fn is_ok(&self) -> bool {
        matches!(&self.reply, Some(Reply::Simple(s)) if s == "OK")
    }

    pub fn is_nil(&self) -> bool {
        matches!(&self.reply, Some(Reply::Nil))
    }

    /// For a script call: its keys and arguments (`EVAL script numkeys key... arg...`).
    pub fn script_keys_args(&self) -> Option<(&[String], &[String])> {
        if !matches!(
            self.name.as_str(),
            "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO"
        ) {
            return None;
        }
        let n: usize = self.arg(1)?.parse().ok()?;
        let rest = self.args.get(2..)?;
        (n <= rest.len()).then(|| rest.split_at(n))
    }

    /// Whether the script's source mentions this command (case-insensitively), as in
    /// `redis.call('INCR', ...)`.
    pub fn script_calls(&self, command: &str) -> bool {
        let Some(src) = &self.script else {
            return false;
        };
        let src = src.to_ascii_uppercase();
        let command = command.to_ascii_uppercase();
        src.contains(&format!("'{command}'")) || src.contains(&format!("\"{command}\""))
    }
}

pub fn int(r: &Reply) -> Option<i64> {
    match r {
        Reply::Integer(n) => Some(*n),
        Reply::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A reply as text: bulk strings, status lines, doubles and integers.
pub fn text(r: &Reply) -> Option<String> {
    match r {
        Reply::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Reply::Simple(s) => Some(s.to_string()),
        Reply::Double(d) => Some(d.to_string()),
        Reply::DoubleText(s) | Reply::BigNumber(s) => Some(s.clone()),
        Reply::Integer(n) => Some(n.to_string()),
        Reply::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// The elements of an array-like reply.
pub fn items(r: &Reply) -> Option<&[Reply]> {
    match r {
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => Some(v),
        _ => None,
    }
}

/// A number as Redis reads a score or an integer argument: `inf`, `-inf`, `+inf` included.
pub fn number(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// Every command the played actions sent, in order.
pub fn calls(played: &[Played]) -> Vec<Call> {
    let mut out = Vec::new();
    let mut queued: BTreeMap<Sender, Vec<Call>> = BTreeMap::new();
    let mut scripts: BTreeMap<String, String> = BTreeMap::new();
    for (index, p) in played.iter().enumerate() {
        for s in &p.action.sent {
            let mut argv = s
                .argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned());
            let name = argv.next().unwrap_or_default().to_ascii_uppercase();
            let args: Vec<String> = argv.collect();
            let reply = s.frames.first().cloned();
            let mut call = Call {
                sender: s.sender.clone(),
                name,
                args,
                reply,
                at: s.now - START_MS,
                in_transaction: false,
                script: None,
                action: index,
            };
            match call.name.as_str() {
                "EVAL" | "EVAL_RO" => call.script = call.args.first().cloned(),
                "EVALSHA" | "EVALSHA_RO" => {
                    call.script = (call.args.first())
                        .and_then(|sha| scripts.get(&sha.to_ascii_lowercase()))
                        .cloned()
                }
                _ => {}
            }
            if call.name == "SCRIPT" && call.arg(0).is_some_and(|a| a.eq_ignore_ascii_case("load"))
            {
                if let (Some(src), Some(sha)) = (call.arg(1), call.reply.as_ref().and_then(text)) {
                    scripts.insert(sha.to_ascii_lowercase(), src.to_string());
                }
            }
            let in_multi = queued.contains_key(&call.sender);
            match call.name.as_str() {
                "MULTI" if call.is_ok() => {
                    queued.insert(call.sender.clone(), Vec::new());
                }
                "DISCARD" => {
                    queued.remove(&call.sender);
                }
                "EXEC" => {
                    let commands = queued.remove(&call.sender).unwrap_or_default();
                    let results = call.reply.as_ref().and_then(items).unwrap_or(&[]);
                    for (mut c, r) in commands.into_iter().zip(results) {
                        c.reply = Some(r.clone());
                        c.at = call.at;
                        c.action = call.action;
                        c.in_transaction = true;
                        out.push(c);
                    }
                }
                _ if in_multi => {
                    if matches!(&call.reply, Some(Reply::Simple(s)) if s == "QUEUED") {
                        if let Some(q) = queued.get_mut(&call.sender) {
                            q.push(call);
                        }
                    }
                }
                _ => out.push(call),
            }
        }
    }
    out
}

/// Keys that expired, with when (milliseconds since the start) and on which instance, from the
/// engine's events.
pub fn expirations(played: &[Played]) -> Vec<(usize, String, i64)> {
    let mut out = Vec::new();
    for p in played {
        for (instance, e) in &p.action.events {
            if let Event::Expired { key, .. } = e {
                let key = String::from_utf8_lossy(key).into_owned();
                out.push((*instance, key, p.action.now - START_MS));
            }
        }
    }
    out
}

/// The engine-only actions played (`instance 3 down`, `crash-restart 3`...), as
/// (index of the played action, milliseconds since the start, what, the note it left).
pub fn engine_actions(played: &[Played]) -> Vec<(usize, i64, String, String)> {
    (played.iter().enumerate())
        .filter_map(|(i, p)| {
            let what = p.action.label.strip_prefix("engine-only: ")?;
            let note = p.action.note.clone().unwrap_or_default();
            Some((i, p.action.now - START_MS, what.to_string(), note))
        })
        .collect()
}

/// Milliseconds as a person reads them: `850 ms`, `1.5 s`.
pub fn show_ms(ms: i64) -> String {
    if ms.abs() < 1000 {
        format!("{ms} ms")
    } else {
        let s = ms as f64 / 1000.0;
        let t = format!("{s:.2}");
        let t = t.trim_end_matches('0').trim_end_matches('.');
        format!("{t} s")
    }
}

/// A score as Redis prints it: integers without a fraction.
pub fn show_score(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A key's expiry, as the commands that set it tell: `PEXPIRE k ms`, `EXPIRE k s`, `SET ... PX`,
/// `PEXPIREAT`... Returns the absolute time (ms since start) the key will expire, for a command
/// whose reply says it took effect; `Some(None)` when it removed the expiry (`PERSIST`).
pub fn expiry_set(c: &Call) -> Option<Option<i64>> {
    let ms = |s: Option<&str>, unit: i64| s?.parse::<i64>().ok().map(|n| n * unit);
    let applied = c.int() == Some(1);
    match c.name.as_str() {
        "PEXPIRE" if applied => ms(c.arg(1), 1).map(|d| Some(c.at + d)),
        "EXPIRE" if applied => ms(c.arg(1), 1000).map(|d| Some(c.at + d)),
        "PEXPIREAT" if applied => ms(c.arg(1), 1).map(|t| Some(t - START_MS)),
        "EXPIREAT" if applied => ms(c.arg(1), 1000).map(|t| Some(t - START_MS)),
        "PERSIST" if applied => Some(None),
        "SET" if c.is_ok() => {
            let opts: Vec<String> = c
                .args
                .iter()
                .skip(2)
                .map(|a| a.to_ascii_uppercase())
                .collect();
            let after = |o: &str| {
                opts.iter()
                    .position(|x| x == o)
                    .and_then(|i| c.args.get(i + 3))
            };
            if let Some(d) = after("PX").and_then(|v| v.parse::<i64>().ok()) {
                Some(Some(c.at + d))
            } else if let Some(d) = after("EX").and_then(|v| v.parse::<i64>().ok()) {
                Some(Some(c.at + d * 1000))
            } else if opts.iter().any(|o| o == "KEEPTTL") {
                None
            } else {
                Some(None)
            }
        }
        _ => None,
    }
}

/// A shipped lesson played to `steps` steps, for the views' tests.
#[cfg(test)]
pub(crate) fn lesson_at(id: &str, steps: usize) -> crate::model::lesson::Lesson {
    let mut lesson = crate::model::lesson::Lesson::open(id, Default::default())
        .unwrap_or_else(|| panic!("no lesson {id}"));
    for _ in 0..steps {
        lesson.next();
    }
    for o in lesson.player.outcomes() {
        assert!(o.passed(), "{id} step {}: {:?}", o.index, o.failures());
    }
    lesson
}

/// The lesson's clock in ms since its start.
#[cfg(test)]
pub(crate) fn now_of(lesson: &crate::model::lesson::Lesson) -> i64 {
    lesson.player.now() - START_MS
}
