//! The event log as the page shows it: the engine's events turned into short sentences, each
//! with its kind (for filtering), the step that caused it (for rewinding) and the key it is
//! about (for linking to the keyspace).

use std::collections::VecDeque;
use std::rc::Rc;

use cachelab_engine::event::ScriptStop;
use cachelab_engine::reply::cli_quote;
use cachelab_engine::to_cli_text;

use super::fmt::fmt_bytes;
use cachelab_engine::types::stream::StreamId;
use cachelab_engine::{CycleKind, Event, ExpiredBy};

/// The log keeps this many entries; older ones scroll away.
pub const LOG_CAPACITY: usize = 5000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Keyspace,
    Expired,
    ExpireCycle,
    Blocked,
    Unblocked,
    Published,
    Subscribed,
    Config,
    Client,
    Flushed,
    Encoding,
    Stream,
    Eviction,
    Persistence,
    Script,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::Keyspace,
        EventKind::Expired,
        EventKind::ExpireCycle,
        EventKind::Blocked,
        EventKind::Unblocked,
        EventKind::Published,
        EventKind::Subscribed,
        EventKind::Config,
        EventKind::Client,
        EventKind::Flushed,
        EventKind::Encoding,
        EventKind::Stream,
        EventKind::Eviction,
        EventKind::Persistence,
        EventKind::Script,
    ];

    pub fn label(self) -> &'static str {
        match self {
            EventKind::Keyspace => "keyspace",
            EventKind::Expired => "expired",
            EventKind::ExpireCycle => "expire-cycle",
            EventKind::Blocked => "blocked",
            EventKind::Unblocked => "unblocked",
            EventKind::Published => "published",
            EventKind::Subscribed => "subscribed",
            EventKind::Config => "config",
            EventKind::Client => "client",
            EventKind::Flushed => "flushed",
            EventKind::Encoding => "encoding",
            EventKind::Stream => "stream",
            EventKind::Eviction => "eviction",
            EventKind::Persistence => "persistence",
            EventKind::Script => "script",
        }
    }

    pub fn from_label(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.label() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEvent {
    /// Unique and increasing, for list keys in the page.
    pub id: u64,
    /// Index of the step that caused it.
    pub step: usize,
    pub at: i64,
    pub kind: EventKind,
    pub text: String,
    /// The key it is about, with its database.
    pub key: Option<(usize, Vec<u8>)>,
}

#[derive(Clone, Debug, Default)]
pub struct EventLog {
    /// Shared, so that views and snapshots hold entries without copying their text.
    pub entries: VecDeque<Rc<LoggedEvent>>,
    next_id: u64,
    /// When the last entry is the folded line of idle expire cycles: its step, how many cycles
    /// and keys it counts, so that a step that grows (while playing) keeps one such line.
    idle_tail: Option<(usize, usize, usize)>,
}

/// How a client is named in sentences: its pane letter when it has one.
pub type ClientNamer<'a> = &'a dyn Fn(u64) -> String;

/// Stream entry IDs, the first few of them.
fn ids_text(ids: &[StreamId]) -> String {
    let shown: Vec<String> = ids.iter().take(3).map(|i| i.to_string()).collect();
    match ids.len() {
        0 => "no entries".into(),
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

fn key_text(k: &[u8]) -> String {
    match std::str::from_utf8(k) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| !c.is_control() && c != ' ' && c != '"') => {
            s.to_string()
        }
        _ => cli_quote(k),
    }
}

impl EventLog {
    fn push(
        &mut self,
        step: usize,
        at: i64,
        kind: EventKind,
        text: String,
        key: Option<(usize, Vec<u8>)>,
    ) {
        self.next_id += 1;
        self.entries.push_back(Rc::new(LoggedEvent {
            id: self.next_id,
            step,
            at,
            kind,
            text,
            key,
        }));
        if self.entries.len() > LOG_CAPACITY {
            self.entries.pop_front();
        }
    }

    /// Drops what steps at or after `step` logged (on a rewind, before replaying).
    pub fn truncate_to_step(&mut self, step: usize) {
        self.idle_tail = None;
        while self.entries.back().is_some_and(|e| e.step >= step) {
            self.entries.pop_back();
        }
    }

    /// Logs the events of one step, each with the virtual time it happened at. Expire-cycle
    /// runs that removed nothing are folded into one line per step, so that a minute of virtual
    /// time does not bury everything else.
    pub fn record(&mut self, step: usize, events: &[(i64, Event)], name: ClientNamer<'_>) {
        let mut idle_cycles = 0usize;
        let mut idle_sampled = 0usize;
        let mut idle_at = 0;
        for (at, ev) in events {
            let at = *at;
            let idle = matches!(ev, Event::ExpireCycle(r) if r.expired == 0);
            if !idle && idle_cycles > 0 {
                // Keep the log in time order: the quiet runs before this event come first.
                self.push_idle(step, idle_at, idle_cycles, idle_sampled);
                idle_cycles = 0;
                idle_sampled = 0;
            }
            match ev {
                Event::Keyspace { db, key, op } => self.push(
                    step,
                    at,
                    EventKind::Keyspace,
                    format!("{op} {}{}", key_text(key), db_suffix(*db)),
                    Some((*db, key.clone())),
                ),
                Event::Expired { db, key, by } => self.push(
                    step,
                    at,
                    EventKind::Expired,
                    format!(
                        "expired {}{} {}",
                        key_text(key),
                        db_suffix(*db),
                        match by {
                            ExpiredBy::Lazy => "(lazily: a command touched it after its deadline)",
                            ExpiredBy::Active => "(actively: found by the expire cycle's sample)",
                        }
                    ),
                    Some((*db, key.clone())),
                ),
                Event::ExpireCycle(r) => {
                    if r.expired == 0 {
                        idle_cycles += 1;
                        idle_sampled += r.sampled.len();
                        idle_at = at;
                        continue;
                    }
                    let sample: Vec<String> = r
                        .sampled
                        .iter()
                        .take(20)
                        .map(|(k, gone)| format!("{}{}", key_text(k), if *gone { "✗" } else { "" }))
                        .collect();
                    self.push(
                        step,
                        at,
                        EventKind::ExpireCycle,
                        format!(
                            "{} expire cycle{}: sampled {} key{} in {} loop{}, expired {} [{}{}]{}",
                            match r.kind {
                                CycleKind::Slow => "slow",
                                CycleKind::Fast => "fast",
                            },
                            db_suffix(r.db),
                            r.sampled.len(),
                            if r.sampled.len() == 1 { "" } else { "s" },
                            r.loops,
                            if r.loops == 1 { "" } else { "s" },
                            r.expired,
                            sample.join(" "),
                            if r.sampled.len() > 20 { " …" } else { "" },
                            if r.time_limit_hit {
                                ", stopped by its time limit"
                            } else {
                                ""
                            },
                        ),
                        r.sampled.first().map(|(k, _)| (r.db, k.clone())),
                    );
                }
                Event::ClientBlocked {
                    client,
                    db,
                    keys,
                    deadline,
                } => self.push(
                    step,
                    at,
                    EventKind::Blocked,
                    format!(
                        "client {} blocked on {}{}",
                        name(*client),
                        keys.iter()
                            .map(|k| key_text(k))
                            .collect::<Vec<_>>()
                            .join(", "),
                        match deadline {
                            Some(d) => format!(" until t={}", fmt_time(*d)),
                            None => " (no timeout)".into(),
                        }
                    ),
                    keys.first().map(|k| (*db, k.clone())),
                ),
                Event::ClientUnblocked { client, timed_out } => self.push(
                    step,
                    at,
                    EventKind::Unblocked,
                    format!(
                        "client {} {}",
                        name(*client),
                        if *timed_out {
                            "timed out"
                        } else {
                            "was served"
                        }
                    ),
                    None,
                ),
                Event::Published {
                    channel,
                    message,
                    receivers,
                } => self.push(
                    step,
                    at,
                    EventKind::Published,
                    format!(
                        "published {} to {} → {}",
                        cli_quote(message),
                        key_text(channel),
                        if receivers.is_empty() {
                            "nobody was listening".to_string()
                        } else {
                            receivers
                                .iter()
                                .map(|c| name(*c))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                    None,
                ),
                Event::Subscribed { client, names } => self.push(
                    step,
                    at,
                    EventKind::Subscribed,
                    format!(
                        "client {} subscribed to {}",
                        name(*client),
                        names
                            .iter()
                            .map(|k| key_text(k))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None,
                ),
                Event::EncodingChanged { db, key, from, to } => self.push(
                    step,
                    at,
                    EventKind::Encoding,
                    format!("{} changed encoding {from} → {to}", key_text(key)),
                    Some((*db, key.clone())),
                ),
                Event::Flushed { db } => self.push(
                    step,
                    at,
                    EventKind::Flushed,
                    match db {
                        Some(d) => format!("database {d} emptied"),
                        None => "every database emptied".into(),
                    },
                    None,
                ),
                Event::ClientConnected { client } => self.push(
                    step,
                    at,
                    EventKind::Client,
                    format!("client {} connected", name(*client)),
                    None,
                ),
                Event::ClientClosed { client } => self.push(
                    step,
                    at,
                    EventKind::Client,
                    format!("client {} closed", name(*client)),
                    None,
                ),
                Event::ConfigChanged { name: param, value } => self.push(
                    step,
                    at,
                    EventKind::Config,
                    format!("config {param} = {value}"),
                    None,
                ),
                Event::StreamDelivered {
                    db,
                    key,
                    group,
                    consumer,
                    ids,
                    history,
                    noack,
                } => self.push(
                    step,
                    at,
                    EventKind::Stream,
                    format!(
                        "{} {} of {} to {}/{}{}",
                        if *history { "re-read" } else { "delivered" },
                        ids_text(ids),
                        key_text(key),
                        key_text(group),
                        key_text(consumer),
                        if *noack {
                            " (NOACK: nothing pending)"
                        } else {
                            ""
                        }
                    ),
                    Some((*db, key.clone())),
                ),
                Event::StreamAcked {
                    db,
                    key,
                    group,
                    ids,
                } => self.push(
                    step,
                    at,
                    EventKind::Stream,
                    format!(
                        "{} acknowledged {} of {}",
                        key_text(group),
                        ids_text(ids),
                        key_text(key)
                    ),
                    Some((*db, key.clone())),
                ),
                Event::StreamClaimed {
                    db,
                    key,
                    group,
                    consumer,
                    ids,
                    dropped,
                } => self.push(
                    step,
                    at,
                    EventKind::Stream,
                    format!(
                        "{}/{} claimed {} of {}{}",
                        key_text(group),
                        key_text(consumer),
                        ids_text(ids),
                        key_text(key),
                        if dropped.is_empty() {
                            String::new()
                        } else {
                            format!("; {} deleted, dropped from pending", ids_text(dropped))
                        }
                    ),
                    Some((*db, key.clone())),
                ),
                Event::Eviction(round) => self.push(
                    step,
                    at,
                    EventKind::Eviction,
                    match &round.victim {
                        Some((_, victim)) => format!(
                            "evicted {} ({}, {} keys sampled; memory {} → {} of {})",
                            key_text(victim),
                            round.policy,
                            round.sampled.len(),
                            fmt_bytes(round.used_before),
                            fmt_bytes(round.used_after),
                            fmt_bytes(round.maxmemory)
                        ),
                        None => format!(
                            "nothing to evict under {} (memory {} of {})",
                            round.policy,
                            fmt_bytes(round.used_before),
                            fmt_bytes(round.maxmemory)
                        ),
                    },
                    round.victim.clone(),
                ),
                Event::RdbSaved {
                    keys, background, ..
                } => self.push(
                    step,
                    at,
                    EventKind::Persistence,
                    if *background {
                        format!("background RDB saved: {keys} keys, as they were at the fork")
                    } else {
                        format!("RDB saved: {keys} keys")
                    },
                    None,
                ),
                Event::BgsaveStarted { .. } => self.push(
                    step,
                    at,
                    EventKind::Persistence,
                    "background save started: the fork snapshots the data now".into(),
                    None,
                ),
                Event::AofRewritten { keys } => self.push(
                    step,
                    at,
                    EventKind::Persistence,
                    format!("append-only file rewritten from {keys} keys"),
                    None,
                ),
                Event::Restarted(report) => self.push(
                    step,
                    at,
                    EventKind::Persistence,
                    report.summary.clone(),
                    None,
                ),
                Event::ScriptCall {
                    sha,
                    line,
                    argv,
                    reply,
                } => self.push(
                    step,
                    at,
                    EventKind::Script,
                    format!(
                        "script {}{} called {} → {}",
                        sha.get(..8).unwrap_or(sha),
                        line.map(|l| format!(" line {l}")).unwrap_or_default(),
                        argv.iter()
                            .map(|a| key_text(a))
                            .collect::<Vec<_>>()
                            .join(" "),
                        to_cli_text(reply).trim_end().replace('\n', " ⏎ ")
                    ),
                    None,
                ),
                Event::ScriptLog { level, message } => self.push(
                    step,
                    at,
                    EventKind::Script,
                    format!(
                        "script log ({}): {}",
                        ["debug", "verbose", "notice", "warning"]
                            .get(usize::from(*level))
                            .unwrap_or(&"notice"),
                        cli_quote(message)
                    ),
                    None,
                ),
                Event::ScriptBusy {
                    sha,
                    elapsed_ms,
                    wrote,
                } => self.push(
                    step,
                    at,
                    EventKind::Script,
                    format!(
                        "script {} busy after {elapsed_ms} ms: other clients get BUSY{}",
                        sha.get(..8).unwrap_or(sha),
                        if *wrote {
                            " (it wrote: SCRIPT KILL cannot stop it)"
                        } else {
                            ""
                        }
                    ),
                    None,
                ),
                Event::ScriptStopped {
                    sha,
                    elapsed_ms,
                    reason,
                } => self.push(
                    step,
                    at,
                    EventKind::Script,
                    format!(
                        "script {} stopped after {elapsed_ms} ms ({})",
                        sha.get(..8).unwrap_or(sha),
                        match reason {
                            ScriptStop::Killed => "killed",
                            ScriptStop::HardLimit => "past the hard limit",
                            ScriptStop::LoadTimeout => "library load timed out",
                        }
                    ),
                    None,
                ),
            }
        }
        if idle_cycles > 0 {
            self.push_idle(step, idle_at, idle_cycles, idle_sampled);
        }
    }

    /// The folded line for expire-cycle runs that removed nothing. When the last entry is such
    /// a line of the same step (a step that grows while playing), it is replaced, not repeated.
    fn push_idle(&mut self, step: usize, at: i64, mut cycles: usize, mut sampled: usize) {
        if let Some((s, c, n)) = self.idle_tail {
            if s == step {
                self.entries.pop_back();
                cycles += c;
                sampled += n;
            }
        }
        self.push(
            step,
            at,
            EventKind::ExpireCycle,
            format!(
                "{cycles} expire cycle run{} sampled {sampled} key{}, none expired",
                if cycles == 1 { "" } else { "s" },
                if sampled == 1 { "" } else { "s" }
            ),
            None,
        );
        self.idle_tail = Some((step, cycles, sampled));
    }
}

fn db_suffix(db: usize) -> String {
    if db == 0 {
        String::new()
    } else {
        format!(" (db {db})")
    }
}

/// Virtual time as `mm:ss.mmm` (or `h:mm:ss.mmm` past an hour).
pub fn fmt_time(ms: i64) -> String {
    let neg = ms < 0;
    let ms = ms.unsigned_abs();
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let sign = if neg { "-" } else { "" };
    if h > 0 {
        format!("{sign}{h}:{m:02}:{s:02}.{milli:03}")
    } else {
        format!("{sign}{m:02}:{s:02}.{milli:03}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_clock() {
        assert_eq!(fmt_time(12_400), "00:12.400");
        assert_eq!(fmt_time(3_725_001), "1:02:05.001");
    }

    #[test]
    fn idle_cycles_fold_into_one_line_and_rewind_truncates() {
        use cachelab_engine::{Config, Engine};
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.run(c, &["SET", "k", "v", "EX", "100"], 0);
        e.advance(5000);
        let mut log = EventLog::default();
        let evs: Vec<(i64, Event)> = e.drain_events().into_iter().map(|ev| (5000, ev)).collect();
        log.record(3, &evs, &|c| c.to_string());
        let cycles: Vec<_> = log
            .entries
            .iter()
            .filter(|e| e.kind == EventKind::ExpireCycle)
            .collect();
        assert_eq!(cycles.len(), 1, "{:?}", log.entries);
        assert!(cycles[0].text.contains("none expired"));
        log.truncate_to_step(3);
        assert!(log.entries.iter().all(|e| e.step < 3));
    }
}
