//! The advisor: notices Redis anti-patterns in what a learner types and says, once, why they
//! hurt and what to write instead.
//!
//! It lives beside the engine rather than in a front end so that the browser playground and the
//! native console (`cachelab repl`) give the same advice from the same rules. The engine never
//! calls it: a front end feeds it each command after the engine ran it (`Advisor::observe`, with
//! the argument vector, the reply and the events the command caused) and lends it the engine
//! read-only (`&Engine`), through which it only asks what the views ask: `inspect_key` (TTL,
//! memory), `inspect_len` (element count), `dbsize`. Like the engine it reads no clock and
//! draws no random number, so the same commands give the same advice.
//!
//! The rules, each with the case it deliberately keeps quiet about:
//!
//! | rule | fires on | quiet on |
//! |---|---|---|
//! | cache entry without TTL | SET/MSET/HSET... leaving a key with no TTL whose name looks like a cache entry (a segment `cache*`, `page`, `html`, `api`, `query`, `result`...), or that the same client just looked up with a GET that missed (a cache fill) | a write with EX/PX/EXAT/PXAT/KEEPTTL, a key that has a TTL afterwards |
//! | KEYS on a large keyspace | KEYS when the database held at least `KEYS_LARGE` keys | KEYS on a small database |
//! | key without a namespace | the first written key whose name has no separator (`:` `/` `.` `|` `#` `-` `_`) | every later one: said once per session |
//! | non-atomic check-then-set | one client reads a key (GET, EXISTS, HGET, HEXISTS), then writes it in a separate command where an atomic form exists; INCR then EXPIRE, SETNX then EXPIRE | inside MULTI/EXEC, in a script, on a WATCHed key, a cache fill with a TTL (GET missed, SET EX) |
//! | big key | a written key over `BIG_ELEMENTS` elements, `BIG_STRING_BYTES` bytes of string or `BIG_MEMORY_BYTES` of memory | smaller keys |
//! | hot key | one key named by at least `HOT_MIN` of the last `HOT_WINDOW` key accesses, across clients (a script counts once per key it touched, however many calls named it) | spread traffic |
//!
//! Never noisy: each note is given once per kind and key pattern (`user:7` and `user:8` are the
//! pattern `user:*`; KEYS once per pattern argument; the namespace note once in all), and one
//! command gives at most one note (the most pressing of its kind). A rule that lost to another
//! in the same command has not been said, so it can speak the next time it applies.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::{keyspec, table, ClientId, Engine, Event, Reply};

/// KEYS on a database of at least this many keys gets a note.
pub const KEYS_LARGE: usize = 1_000;
/// An aggregate (list, hash, set, sorted set, stream) with at least this many elements is big.
pub const BIG_ELEMENTS: u64 = 5_000;
/// A string value of at least this many bytes is big.
pub const BIG_STRING_BYTES: u64 = 100 * 1024;
/// Any key the engine estimates at this much memory (MEMORY USAGE) or more is big.
pub const BIG_MEMORY_BYTES: u64 = 1024 * 1024;
/// The hot-key rule looks at this many of the latest key accesses...
pub const HOT_WINDOW: usize = 100;
/// ...and calls a key hot when it is named by at least this many of them.
pub const HOT_MIN: usize = 50;
/// Reads remembered per client, waiting for a write that would make them a check-then-set.
const READS_KEPT: usize = 8;
/// Notes kept for the views (the oldest are dropped).
pub const NOTES_KEPT: usize = 50;
/// A command that writes more keys than this (DEBUG POPULATE, a large MSET) has only its first
/// keys checked for size and naming, so that a bulk load costs no more than a bulk load.
const KEYS_CHECKED: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdviceKind {
    /// In the order of precedence when one command gives several.
    CheckThenSet,
    KeysScan,
    BigKey,
    HotKey,
    NoTtl,
    NoNamespace,
}

impl AdviceKind {
    /// A short name for the views (a badge, a CSS class).
    pub fn name(self) -> &'static str {
        match self {
            AdviceKind::CheckThenSet => "check-then-set",
            AdviceKind::KeysScan => "keys",
            AdviceKind::BigKey => "big-key",
            AdviceKind::HotKey => "hot-key",
            AdviceKind::NoTtl => "no-ttl",
            AdviceKind::NoNamespace => "namespace",
        }
    }
}

/// One note for the learner.
#[derive(Clone, Debug, PartialEq)]
pub struct Advice {
    pub kind: AdviceKind,
    pub key: Option<Vec<u8>>,
    /// One line: what was noticed.
    pub title: String,
    /// Why it matters, with the numbers that made the rule fire.
    pub detail: String,
    /// The better way, as commands where there are some.
    pub better: String,
    /// How many commands the advisor had seen when it said this (1 for the first).
    pub seq: u64,
}

/// One command as a front end saw it run.
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    /// Any identity that tells the clients apart.
    pub client: ClientId,
    pub argv: &'a [Vec<u8>],
    pub reply: &'a Reply,
    /// The events the command caused (empty when the engine records none).
    pub events: &'a [Event],
}

#[derive(Clone, Debug, PartialEq)]
enum ReadKind {
    /// GET: the value, or `None` for a miss.
    Get(Option<Vec<u8>>),
    Exists(bool),
    /// HGET or HEXISTS of a field: the value (HEXISTS keeps an empty one), or `None`.
    HGet(Vec<u8>, Option<Vec<u8>>),
    /// INCR/INCRBY/DECR...: the new value. Not a read, but the first half of a pair that only
    /// works when sent together.
    Incr(i64),
    /// SETNX that set the key.
    SetNx,
}

#[derive(Clone, Debug)]
struct Read {
    db: usize,
    key: Vec<u8>,
    kind: ReadKind,
}

/// Where a command the advisor examines came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Sent on its own.
    Sent,
    /// Queued in MULTI, run by EXEC.
    Queued,
    /// Called by a script.
    Script,
}

#[derive(Clone, Debug, Default)]
struct ClientState {
    /// The selected database, followed from SELECT.
    db: usize,
    /// Inside MULTI: the commands queued so far.
    queued: Option<Vec<Vec<Vec<u8>>>>,
    watching: HashSet<(usize, Vec<u8>)>,
    reads: VecDeque<Read>,
}

/// A note that could be given, with what makes it the same as one already given.
struct Candidate {
    advice: Advice,
    pattern: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct Advisor {
    seq: u64,
    clients: HashMap<ClientId, ClientState>,
    /// (kind, pattern) of every note given: the de-duplication.
    said: HashSet<(AdviceKind, Vec<u8>)>,
    /// The latest key accesses (client, db, key), oldest first, with their counts by key.
    window: VecDeque<(ClientId, usize, Vec<u8>)>,
    counts: HashMap<(usize, Vec<u8>), usize>,
    notes: VecDeque<Advice>,
}

impl Advisor {
    pub fn new() -> Advisor {
        Advisor::default()
    }

    /// The notes given so far, oldest first (at most `NOTES_KEPT`).
    pub fn notes(&self) -> impl DoubleEndedIterator<Item = &Advice> + ExactSizeIterator {
        self.notes.iter()
    }

    pub fn latest(&self) -> Option<&Advice> {
        self.notes.back()
    }

    /// Commands seen so far.
    pub fn seen(&self) -> u64 {
        self.seq
    }

    /// Forgets the reads waiting for a write (when commands of someone else's ran in between,
    /// or the history they belonged to was undone), keeping what was said.
    pub fn forget_reads(&mut self) {
        for c in self.clients.values_mut() {
            c.reads.clear();
        }
    }

    /// Takes in one command after the engine ran it; returns the note it gave, if any.
    pub fn observe(&mut self, engine: &Engine, seen: Seen<'_>) -> Option<Advice> {
        self.seq += 1;
        let name = String::from_utf8_lossy(seen.argv.first()?).to_ascii_lowercase();
        let client = seen.client;
        let ok = !matches!(seen.reply, Reply::Error(_));
        let mut found = Vec::new();
        let state = self.clients.entry(client).or_default();
        let queued = matches!(seen.reply, Reply::Simple(s) if s == "QUEUED");
        if queued {
            if let Some(q) = state.queued.as_mut() {
                q.push(seen.argv.to_vec());
            }
            return None;
        }
        match name.as_str() {
            "multi" if ok => state.queued = Some(Vec::new()),
            "discard" => {
                state.queued = None;
                state.watching.clear();
            }
            "exec" => {
                let queued = state.queued.take().unwrap_or_default();
                state.watching.clear();
                if let Reply::Array(replies) = seen.reply {
                    for (argv, reply) in queued.iter().zip(replies) {
                        self.examine(engine, client, argv, reply, Origin::Queued, &mut found);
                    }
                }
            }
            "watch" if ok => {
                let db = state.db;
                for k in &seen.argv[1..] {
                    state.watching.insert((db, k.clone()));
                }
            }
            "unwatch" | "reset" => {
                state.watching.clear();
                if name == "reset" {
                    *state = ClientState::default();
                }
            }
            _ if is_script(&name) => {
                // The script's own calls, one by one: they run atomically, so they can show a
                // KEYS or a cache entry without a TTL but never a check-then-set. The keys they
                // touched are kept in the order first touched, for a deterministic window.
                let mut touched: Vec<(usize, Vec<u8>)> = Vec::new();
                let mut known: HashSet<(usize, Vec<u8>)> = HashSet::new();
                for ev in seen.events {
                    if let Event::ScriptCall { argv, reply, .. } = ev {
                        let db = self.client_db(client);
                        for k in argv_keys(argv) {
                            if known.insert((db, k.clone())) {
                                touched.push((db, k));
                            }
                        }
                        self.examine(engine, client, argv, reply, Origin::Script, &mut found);
                    }
                }
                // A script is one request: each key it touched counts once, however many
                // calls named it.
                for (db, k) in touched {
                    self.count_access(client, db, &k, &mut found);
                }
                // Whatever the script did to the keys it was given settles reads of them.
                let db = self.client_db(client);
                let keys = argv_keys(seen.argv);
                let state = self.clients.entry(client).or_default();
                state
                    .reads
                    .retain(|r| !(r.db == db && keys.contains(&r.key)));
            }
            _ => self.examine(
                engine,
                client,
                seen.argv,
                seen.reply,
                Origin::Sent,
                &mut found,
            ),
        }
        if ok {
            self.written_keys(engine, seen.events, &mut found);
        }
        self.give(found)
    }

    fn client_db(&self, client: ClientId) -> usize {
        self.clients.get(&client).map_or(0, |c| c.db)
    }

    /// The rules that look at one command: as sent, queued in a transaction, or called by a
    /// script.
    fn examine(
        &mut self,
        engine: &Engine,
        client: ClientId,
        argv: &[Vec<u8>],
        reply: &Reply,
        from: Origin,
        found: &mut Vec<Candidate>,
    ) {
        let atomic = from != Origin::Sent;
        if argv.is_empty() || matches!(reply, Reply::Error(_)) {
            return;
        }
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let db = self.client_db(client);
        // A script's SELECT is the script's own: the caller's database stays as it was.
        if name == "select" && from != Origin::Script {
            if let Some(n) = argv
                .get(1)
                .and_then(|a| std::str::from_utf8(a).ok()?.parse().ok())
            {
                self.clients.entry(client).or_default().db = n;
            }
            return;
        }
        let keys = argv_keys(argv);
        if from != Origin::Script && !is_script(&name) {
            for key in &keys {
                self.count_access(client, db, key, found);
            }
        }
        if name == "keys" {
            self.keys_rule(engine, db, argv, found);
        }
        self.check_then_set(client, db, &name, argv, atomic, found);
        self.no_ttl(engine, client, db, &name, argv, found);
        // A write settles every read of its keys; a read made atomically needs no watching.
        let state = self.clients.entry(client).or_default();
        if is_write(&name) {
            state
                .reads
                .retain(|r| !(r.db == db && keys.contains(&r.key)));
        }
        if !atomic {
            if let Some(read) = as_read(&name, argv, reply) {
                if state.watching.contains(&(db, read.0.clone())) {
                    return;
                }
                state.reads.retain(|r| !(r.db == db && r.key == read.0));
                state.reads.push_back(Read {
                    db,
                    key: read.0,
                    kind: read.1,
                });
                if state.reads.len() > READS_KEPT {
                    state.reads.pop_front();
                }
            }
        }
    }

    fn count_access(
        &mut self,
        client: ClientId,
        db: usize,
        key: &[u8],
        found: &mut Vec<Candidate>,
    ) {
        self.window.push_back((client, db, key.to_vec()));
        let id = (db, key.to_vec());
        *self.counts.entry(id.clone()).or_default() += 1;
        if self.window.len() > HOT_WINDOW {
            if let Some((_, odb, okey)) = self.window.pop_front() {
                let oid = (odb, okey);
                if let Some(c) = self.counts.get_mut(&oid) {
                    *c -= 1;
                    if *c == 0 {
                        self.counts.remove(&oid);
                    }
                }
            }
        }
        let n = self.counts.get(&id).copied().unwrap_or(0);
        if n < HOT_MIN {
            return;
        }
        let clients: HashSet<ClientId> = (self.window.iter())
            .filter(|(_, d, k)| *d == db && k == key)
            .map(|(c, _, _)| *c)
            .collect();
        let k = show(key);
        let from = match clients.len() {
            1 => "all from one client".to_string(),
            n => format!("from {n} clients"),
        };
        found.push(Candidate {
            pattern: key.to_vec(),
            advice: Advice {
                kind: AdviceKind::HotKey,
                key: Some(key.to_vec()),
                title: format!("Hot key '{k}'"),
                detail: format!(
                    "'{k}' was named by {n} of the last {} key accesses ({from}; the advisor \
                     calls a key hot at {HOT_MIN} of {HOT_WINDOW}). A key lives on one node and \
                     is served by one thread: in a cluster all of this traffic lands on the node \
                     that owns its slot, however many nodes there are.",
                    self.window.len()
                ),
                better: format!(
                    "Read it from a copy closer to the clients (client-side caching with CLIENT \
                     TRACKING, or a short local cache), or split it into several keys \
                     ({k}:1 … {k}:N, written to one at random and summed on read) so that the \
                     load spreads over slots."
                ),
                seq: 0,
            },
        });
    }

    fn keys_rule(&self, engine: &Engine, db: usize, argv: &[Vec<u8>], found: &mut Vec<Candidate>) {
        let walked = engine.dbsize(db);
        if walked < KEYS_LARGE {
            return;
        }
        let pattern = argv.get(1).cloned().unwrap_or_default();
        let p = show(&pattern);
        found.push(Candidate {
            pattern: pattern.clone(),
            advice: Advice {
                kind: AdviceKind::KeysScan,
                key: None,
                title: format!("KEYS walked {} keys", group(walked as u64)),
                detail: format!(
                    "KEYS {p} looked at every key of database {db} ({} of them) in one command, \
                     however few matched. Redis runs one command at a time, so every other client \
                     waited for the whole walk; on a production keyspace of millions that is a \
                     stall of seconds. (The advisor speaks up from {} keys.)",
                    group(walked as u64),
                    group(KEYS_LARGE as u64)
                ),
                better: format!(
                    "SCAN 0 MATCH {p} COUNT 100, then SCAN again with the cursor it returns until \
                     it returns 0: the same keys, a few at a time, with other clients served in \
                     between. Better still, keep the keys you will need to list in a set."
                ),
                seq: 0,
            },
        });
    }

    fn check_then_set(
        &self,
        client: ClientId,
        db: usize,
        name: &str,
        argv: &[Vec<u8>],
        atomic: bool,
        found: &mut Vec<Candidate>,
    ) {
        let Some(state) = self.clients.get(&client) else {
            return;
        };
        if !is_write(name) || argv.len() < 2 {
            return;
        }
        let key = &argv[1];
        if state.watching.contains(&(db, key.clone())) {
            return;
        }
        let Some(read) = state
            .reads
            .iter()
            .rev()
            .find(|r| r.db == db && &r.key == key)
        else {
            return;
        };
        let k = show(key);
        let opts = set_options(name, argv);
        let within = if atomic {
            " MULTI queues the write, but the read before it was not part of the transaction: \
             nothing stops another client from writing in between."
        } else {
            ""
        };
        let (title, detail, better) = match (&read.kind, name) {
            (ReadKind::Get(Some(old)), "del" | "unlink") => (
                format!("Check-then-delete on '{k}'"),
                format!(
                    "GET {k} saw '{}', then {} deleted it in a separate command. In between the \
                     key can expire and be taken by another client (a lock: now you release \
                     theirs).{within}",
                    show(old),
                    name.to_uppercase()
                ),
                format!(
                    "Compare and delete in one script: EVAL \"if redis.call('GET', KEYS[1]) == \
                     ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end\" 1 {k} {}",
                    show(old)
                ),
            ),
            (ReadKind::Get(Some(old)), "set" | "getset") if is_int(old) && is_int_arg(argv, 2) => (
                format!("Read-modify-write of the number '{k}'"),
                format!(
                    "GET {k} read {}, then SET wrote a new number in a separate command. Two \
                     clients doing this at once both read the same value and one update is \
                     lost.{within}",
                    show(old)
                ),
                format!("INCRBY {k} <delta> (or INCR/DECR): the read and the write in one step."),
            ),
            (ReadKind::Get(Some(_)), "set") if !opts.conditional => (
                format!("Read-then-write of '{k}'"),
                format!(
                    "GET {k} then SET {k} in separate commands: another client can write the key \
                     in between, and its write is silently overwritten.{within}"
                ),
                format!(
                    "WATCH {k}, GET {k}, MULTI, SET {k} …, EXEC (EXEC fails if the key changed), \
                     or a script; if you only needed the old value, SET {k} <value> GET does both \
                     at once."
                ),
            ),
            (ReadKind::Get(None), "set") if is_lockish(key) && !opts.nx => (
                format!("Non-atomic lock on '{k}'"),
                format!(
                    "GET {k} found no holder, then SET took the lock in a separate command: two \
                     clients can both see it free and both take it.{within}"
                ),
                format!(
                    "SET {k} <token> NX PX 30000: takes the lock only if it is free, with a \
                     timeout, in one command."
                ),
            ),
            (ReadKind::Exists(false), "set" | "hset" | "hmset" | "setex" | "psetex")
                if !opts.nx =>
            {
                let better = if name.starts_with('h') {
                    format!("HSETNX {k} <field> <value> for one field, or a script.")
                } else {
                    format!("SET {k} <value> NX (with EX/PX if it should expire).")
                };
                (
                    format!("Check-then-set on '{k}'"),
                    format!(
                        "EXISTS {k} answered 0, then {} created it in a separate command: another \
                         client can create it in between, and one of the two writes is lost.\
                         {within}",
                        name.to_uppercase()
                    ),
                    better,
                )
            }
            (ReadKind::Exists(true), "set") if !opts.conditional => (
                format!("Check-then-set on '{k}'"),
                format!(
                    "EXISTS {k} answered 1, then SET overwrote it in a separate command: the key \
                     may be gone by then, and SET creates it again.{within}"
                ),
                format!("SET {k} <value> XX: writes only if the key exists, in one command."),
            ),
            (ReadKind::HGet(field, old), "hset" | "hmset" | "hsetnx")
                if argv.get(2) == Some(field) =>
            {
                let f = show(field);
                match old {
                    Some(v) if is_int(v) && is_int_arg(argv, 3) => (
                        format!("Read-modify-write of field '{f}' of '{k}'"),
                        format!(
                            "HGET read {}, then HSET wrote a new number in a separate command: \
                             concurrent updates are lost.{within}",
                            show(v)
                        ),
                        format!("HINCRBY {k} {f} <delta>: the read and the write in one step."),
                    ),
                    None if name != "hsetnx" => (
                        format!("Check-then-set on field '{f}' of '{k}'"),
                        format!(
                            "The field was missing, then HSET created it in a separate \
                             command: another client can set it in between.{within}"
                        ),
                        format!("HSETNX {k} {f} <value>: sets the field only if it is missing."),
                    ),
                    _ => return,
                }
            }
            (ReadKind::Incr(n), "expire" | "pexpire" | "expireat" | "pexpireat") => (
                format!("INCR then EXPIRE on '{k}', sent apart"),
                format!(
                    "INCR made '{k}' {n}, and the TTL came in a second command. If the client \
                     stops between the two (a crash, a timeout), the counter never expires and a \
                     rate limit built on it blocks for ever.{within}"
                ),
                format!(
                    "Send both in one MULTI … EXEC, or in a script; or create the key with its \
                     TTL first: SET {k} 0 EX <seconds> NX, then INCR {k}."
                ),
            ),
            (ReadKind::SetNx, "expire" | "pexpire" | "expireat" | "pexpireat") => (
                format!("SETNX then EXPIRE on '{k}', sent apart"),
                format!(
                    "SETNX took '{k}' and the TTL came in a second command: if the client stops \
                     in between, the key (a lock?) is held for ever.{within}"
                ),
                format!("SET {k} <value> NX EX <seconds>: both in one command."),
            ),
            _ => return,
        };
        found.push(Candidate {
            pattern: [kind_tag(&read.kind), b"|", &key_pattern(key)].concat(),
            advice: Advice {
                kind: AdviceKind::CheckThenSet,
                key: Some(key.clone()),
                title,
                detail,
                better,
                seq: 0,
            },
        });
    }

    fn no_ttl(
        &self,
        engine: &Engine,
        client: ClientId,
        db: usize,
        name: &str,
        argv: &[Vec<u8>],
        found: &mut Vec<Candidate>,
    ) {
        let keys: Vec<&Vec<u8>> = match name {
            "set" | "setnx" | "getset" | "hset" | "hmset" | "hsetnx" => {
                if set_options(name, argv).ttl {
                    return;
                }
                argv.get(1).into_iter().collect()
            }
            "mset" | "msetnx" => argv.iter().skip(1).step_by(2).collect(),
            _ => return,
        };
        let reads = self.clients.get(&client).map(|c| &c.reads);
        for key in keys.into_iter().take(KEYS_CHECKED) {
            let Some(view) = engine.inspect_key(db, key) else {
                continue;
            };
            if view.expire_at.is_some() {
                continue;
            }
            let filled = reads.is_some_and(|r| {
                r.iter()
                    .any(|r| r.db == db && &r.key == key && r.kind == ReadKind::Get(None))
            });
            if !filled && !is_cacheish(key) {
                continue;
            }
            let k = show(key);
            let why = if filled {
                format!(
                    "It was a cache fill: GET {k} missed, then {} wrote it",
                    name.to_uppercase()
                )
            } else {
                format!(
                    "Its name reads like a cache entry, and {} wrote it",
                    name.to_uppercase()
                )
            };
            found.push(Candidate {
                pattern: key_pattern(key),
                advice: Advice {
                    kind: AdviceKind::NoTtl,
                    key: Some(key.clone()),
                    title: format!("Cache entry '{k}' has no TTL"),
                    detail: format!(
                        "'{k}' never expires. {why} without EX or PX. A cache entry without a TTL \
                         stays stale once the source changes, and the cache only grows until \
                         maxmemory evicts something (or, under noeviction, refuses writes)."
                    ),
                    better: format!(
                        "SET {k} <value> EX 300 (or PX, EXAT, PXAT): the value and its lifetime in \
                         one command. For a key already written: EXPIRE {k} 300."
                    ),
                    seq: 0,
                },
            });
            return;
        }
    }

    /// The rules that look at what a command wrote: naming and size.
    fn written_keys(&self, engine: &Engine, events: &[Event], found: &mut Vec<Candidate>) {
        let mut keys: Vec<(usize, &[u8])> = Vec::new();
        for ev in events {
            if let Event::Keyspace { db, key, op } = ev {
                if *op != "del" && !keys.contains(&(*db, key.as_slice())) {
                    keys.push((*db, key));
                    if keys.len() >= KEYS_CHECKED {
                        break;
                    }
                }
            }
        }
        for &(db, key) in &keys {
            let Some(view) = engine.inspect_key(db, key) else {
                continue;
            };
            let len = engine.inspect_len(db, key).unwrap_or(0);
            let string = view.type_name == "string";
            let big = if string {
                len >= BIG_STRING_BYTES
            } else {
                len >= BIG_ELEMENTS
            };
            if big || view.memory >= BIG_MEMORY_BYTES {
                let k = show(key);
                let size = if string {
                    format!("{} bytes", group(len))
                } else {
                    format!("{} {}", group(len), elements_of(view.type_name))
                };
                found.push(Candidate {
                    pattern: key_pattern(key),
                    advice: Advice {
                        kind: AdviceKind::BigKey,
                        key: Some(key.to_vec()),
                        title: format!("Big key '{k}': {size}"),
                        detail: format!(
                            "The {} '{k}' holds {size} and takes about {} of memory (the advisor's \
                             thresholds: {} elements, {} of string, {} of memory). Reading it \
                             whole (GET, HGETALL, SMEMBERS, LRANGE 0 -1), deleting it or \
                             migrating it is one long command that blocks every other client, \
                             and in a cluster one key cannot be spread over nodes.",
                            view.type_name,
                            human_bytes(view.memory),
                            group(BIG_ELEMENTS),
                            human_bytes(BIG_STRING_BYTES),
                            human_bytes(BIG_MEMORY_BYTES)
                        ),
                        better: format!(
                            "Split it into smaller keys ({k}:0 … {k}:N, by a hash of the member or \
                             field); read a collection in pages with HSCAN/SSCAN/ZSCAN or \
                             LRANGE with bounds; delete it with UNLINK, which frees it in the \
                             background."
                        ),
                        seq: 0,
                    },
                });
            }
        }
        if let Some(&(_, key)) = keys.iter().find(|(_, k)| !has_namespace(k)) {
            let k = show(key);
            found.push(Candidate {
                pattern: Vec::new(),
                advice: Advice {
                    kind: AdviceKind::NoNamespace,
                    key: Some(key.to_vec()),
                    title: format!("Key '{k}' has no namespace"),
                    detail: format!(
                        "'{k}' has no prefix saying what it belongs to. Bare names collide \
                         between features, and keys cannot be listed, counted or cleaned up by \
                         pattern (SCAN MATCH user:*, ACL key patterns). Said once per session."
                    ),
                    better: "Prefix names with the kind of object and its id, separated by \
                             ':': user:42:name, cache:page:/home, rate:ip:10.0.0.1."
                        .into(),
                    seq: 0,
                },
            });
        }
    }

    /// Gives the most pressing candidate that has not been said yet.
    fn give(&mut self, mut found: Vec<Candidate>) -> Option<Advice> {
        found.sort_by_key(|c| c.advice.kind);
        let pick = found
            .into_iter()
            .find(|c| !self.said.contains(&(c.advice.kind, c.pattern.clone())))?;
        self.said.insert((pick.advice.kind, pick.pattern));
        let mut advice = pick.advice;
        advice.seq = self.seq;
        self.notes.push_back(advice.clone());
        if self.notes.len() > NOTES_KEPT {
            self.notes.pop_front();
        }
        Some(advice)
    }
}

fn is_script(name: &str) -> bool {
    matches!(
        name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

fn is_write(name: &str) -> bool {
    table::get(name.as_bytes()).is_some_and(|s| s.flags.has(crate::Flags::WRITE))
}

/// The key arguments of a command, by the command table.
fn argv_keys(argv: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    match table::lookup(&args) {
        Ok(spec) => keyspec::find_keys(spec, &args)
            .into_iter()
            .filter_map(|k| argv.get(k.pos).cloned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A command that reads (or half-writes) a key, as a check-then-set would start.
fn as_read(name: &str, argv: &[Vec<u8>], reply: &Reply) -> Option<(Vec<u8>, ReadKind)> {
    let key = argv.get(1)?.clone();
    let kind = match (name, reply) {
        ("get", Reply::Bulk(v)) => ReadKind::Get(Some(v.clone())),
        ("get", Reply::Nil) => ReadKind::Get(None),
        ("exists", Reply::Integer(n)) if argv.len() == 2 => ReadKind::Exists(*n > 0),
        ("hget", Reply::Bulk(v)) => ReadKind::HGet(argv.get(2)?.clone(), Some(v.clone())),
        ("hget", Reply::Nil) => ReadKind::HGet(argv.get(2)?.clone(), None),
        ("hexists", Reply::Integer(n)) => {
            ReadKind::HGet(argv.get(2)?.clone(), (*n > 0).then(Vec::new))
        }
        ("incr" | "incrby" | "decr" | "decrby", Reply::Integer(n)) => ReadKind::Incr(*n),
        ("setnx", Reply::Integer(1)) => ReadKind::SetNx,
        _ => return None,
    };
    Some((key, kind))
}

fn kind_tag(kind: &ReadKind) -> &'static [u8] {
    match kind {
        ReadKind::Get(Some(_)) => b"get",
        ReadKind::Get(None) => b"get-miss",
        ReadKind::Exists(_) => b"exists",
        ReadKind::HGet(..) => b"hget",
        ReadKind::Incr(_) => b"incr",
        ReadKind::SetNx => b"setnx",
    }
}

#[derive(Default)]
struct SetOptions {
    /// EX, PX, EXAT, PXAT or KEEPTTL (or SETEX/PSETEX).
    ttl: bool,
    nx: bool,
    /// NX, XX or GET: a SET whose outcome already depends on the old value.
    conditional: bool,
}

fn set_options(name: &str, argv: &[Vec<u8>]) -> SetOptions {
    let mut o = SetOptions {
        ttl: matches!(name, "setex" | "psetex"),
        ..SetOptions::default()
    };
    if name != "set" {
        return o;
    }
    for a in argv.iter().skip(3) {
        let a = a.to_ascii_lowercase();
        match a.as_slice() {
            b"ex" | b"px" | b"exat" | b"pxat" | b"keepttl" => o.ttl = true,
            b"nx" => {
                o.nx = true;
                o.conditional = true;
            }
            b"xx" | b"get" => o.conditional = true,
            _ => {}
        }
    }
    o
}

const SEPARATORS: &[u8] = b":/.|#-_";

fn segments(key: &[u8]) -> impl Iterator<Item = String> + '_ {
    key.split(|b| SEPARATORS.contains(b))
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
}

fn has_namespace(key: &[u8]) -> bool {
    key.iter().any(|b| SEPARATORS.contains(b) || *b == b'{')
}

/// Whether a name reads like a cache entry: one of its segments says so.
fn is_cacheish(key: &[u8]) -> bool {
    segments(key).any(|s| {
        s.starts_with("cache")
            || matches!(
                s.as_str(),
                "page"
                    | "pages"
                    | "html"
                    | "fragment"
                    | "render"
                    | "rendered"
                    | "response"
                    | "resp"
                    | "api"
                    | "query"
                    | "result"
                    | "results"
                    | "memo"
            )
    })
}

fn is_lockish(key: &[u8]) -> bool {
    segments(key).any(|s| s.starts_with("lock") || matches!(s.as_str(), "mutex" | "lease"))
}

/// A key's pattern for de-duplication: every run of digits becomes `*` (`user:7` and
/// `user:1234` are one pattern).
pub fn key_pattern(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_digit() {
            if out.last() != Some(&b'*') {
                out.push(b'*');
            }
        } else {
            out.push(b);
        }
    }
    out
}

fn is_int(v: &[u8]) -> bool {
    std::str::from_utf8(v).is_ok_and(|s| s.parse::<i64>().is_ok())
}

fn is_int_arg(argv: &[Vec<u8>], i: usize) -> bool {
    argv.get(i).is_some_and(|v| is_int(v))
}

fn elements_of(type_name: &str) -> &'static str {
    match type_name {
        "hash" => "fields",
        "stream" => "entries",
        _ => "elements",
    }
}

/// A key as text in a note, cut short if long.
fn show(key: &[u8]) -> String {
    let s = String::from_utf8_lossy(key);
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(40).collect();
        format!("{cut}…")
    } else {
        s.into_owned()
    }
}

/// 12345 as "12,345".
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1 << 20) as f64)
    } else if n >= 1024 {
        format!("{:.0} KB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_names() {
        assert_eq!(key_pattern(b"user:42:name"), b"user:*:name");
        assert_eq!(key_pattern(b"x1"), b"x*");
        assert!(is_cacheish(b"cache:user:1"));
        assert!(is_cacheish(b"page:/home"));
        assert!(!is_cacheish(b"user:1"));
        assert!(is_lockish(b"lock:order:7"));
        assert!(!has_namespace(b"counter"));
        assert!(has_namespace(b"user:1"));
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(999), "999");
    }
}
