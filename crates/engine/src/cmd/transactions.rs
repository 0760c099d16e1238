//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! After MULTI a client's commands are checked (existence, arity, whether they may run in a
//! transaction) and queued; a command that fails those checks answers its error and poisons the
//! transaction, so that EXEC answers EXECABORT. EXEC runs the queue at one frozen time with no
//! other client in between, and a runtime error in one command (INCR on a non-number) is just
//! that command's reply: nothing is rolled back.
//!
//! WATCH is optimistic locking: any change to a watched key by anyone (a write, an expiry, an
//! eviction, a FLUSHDB) before EXEC marks the watching client, and its EXEC then answers a nil
//! array instead of running. A key that was already logically expired when watched does not
//! count as changed when it is finally deleted.

use std::collections::BTreeMap;

use crate::table::CommandSpec;
use crate::{flags, Call, ClientId, Engine, Reply};

/// A transaction command that takes no arguments at all.
const fn bare(
    name: &'static str,
    flags: crate::Flags,
    since: &'static str,
    summary: &'static str,
    handler: crate::table::Handler,
) -> CommandSpec {
    CommandSpec::leaf(
        name,
        1,
        flags,
        (0, 0, 0),
        "transactions",
        since,
        summary,
        "",
        handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    bare(
        "multi",
        flags!(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY),
        "1.2.0",
        "Starts a transaction: the following commands are queued until EXEC.",
        multi,
    ),
    bare(
        "exec",
        flags!(NOSCRIPT, LOADING, STALE, SKIP_SLOWLOG),
        "1.2.0",
        "Runs every queued command of the transaction, unless a watched key changed.",
        exec,
    ),
    bare(
        "discard",
        flags!(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY),
        "2.0.0",
        "Throws away the queued commands and leaves the transaction.",
        discard,
    ),
    CommandSpec {
        name: "watch",
        arity: -2,
        flags: flags!(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY),
        keys: (1, -1, 1),
        group: "transactions",
        since: "2.2.0",
        summary: "Makes the next EXEC fail if any of these keys changes before it.",
        syntax: "key [key ...]",
        handler: watch,
        subcommands: &[],
    },
    bare(
        "unwatch",
        flags!(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY),
        "2.2.0",
        "Forgets every watched key of this connection.",
        unwatch,
    ),
];

/// A client's open transaction.
#[derive(Clone, Debug, Default)]
pub struct MultiState {
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command failed to queue: EXEC will answer EXECABORT.
    pub dirty_exec: bool,
}

/// One key a client watches.
#[derive(Clone, Debug)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
    /// The key existed but was already past its deadline when watched.
    pub expired: bool,
}

/// Which clients watch which keys, per database.
#[derive(Clone, Debug, Default)]
pub struct Watchers {
    by_db: BTreeMap<usize, std::collections::HashMap<Vec<u8>, Vec<ClientId>>>,
}

/// Commands that run at once even inside MULTI instead of being queued.
fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

impl Engine {
    pub fn in_multi(&self, client: ClientId) -> bool {
        self.clients.get(&client).is_some_and(|c| c.multi.is_some())
    }

    /// Marks the client's open transaction as failed (Redis's `flagTransaction`).
    pub(crate) fn flag_transaction(&mut self, client: ClientId) {
        if let Some(m) = self.clients.get_mut(&client).and_then(|c| c.multi.as_mut()) {
            m.dirty_exec = true;
        }
    }

    /// Queues `argv` if the client is inside MULTI and the command is one that gets queued.
    pub(crate) fn try_queue(
        &mut self,
        client: ClientId,
        spec: &CommandSpec,
        argv: &[&[u8]],
    ) -> Option<Reply> {
        let c = self.clients.get_mut(&client)?;
        let m = c.multi.as_mut()?;
        if runs_inside_multi(spec.name) {
            return None;
        }
        if spec.flags.has(crate::Flags::NO_MULTI) {
            m.dirty_exec = true;
            return Some(Reply::error("ERR Command not allowed inside a transaction"));
        }
        m.queued.push(argv.iter().map(|a| a.to_vec()).collect());
        Some(Reply::simple("QUEUED"))
    }

    /// A key changed: every client watching it will fail its EXEC.
    #[inline]
    pub(crate) fn touch_watched_key(&mut self, db: usize, key: &[u8]) {
        // Every write comes here: with no key watched it costs a compare, not a call.
        // (`unwatch_all` drops a database's map when its last key is unwatched.)
        if !self.watchers.by_db.is_empty() {
            self.fail_watchers_of(db, key);
        }
    }

    #[inline(never)]
    fn fail_watchers_of(&mut self, db: usize, key: &[u8]) {
        let Some(watching) = self
            .watchers
            .by_db
            .get(&db)
            .and_then(|m| m.get(key))
            .cloned()
        else {
            return;
        };
        let exists = self.dbs[db].keys.contains_key(key);
        for client in watching {
            let Some(c) = self.clients.get_mut(&client) else {
                continue;
            };
            let wk = c.watched.iter_mut().find(|w| w.db == db && w.key == key);
            if let Some(wk) = wk {
                if wk.expired {
                    if !exists {
                        // An already-expired key was finally deleted: logically nothing changed.
                        wk.expired = false;
                        continue;
                    }
                    // Redis stops at the first such watcher (its loop `break`s here), leaving
                    // the others untouched for this change.
                    break;
                }
            }
            c.dirty_cas = true;
            self.unwatch_all(client);
        }
    }

    /// FLUSHDB, FLUSHALL and SWAPDB change every key at once: a watched key counts as changed
    /// if it exists in the emptied database or, for SWAPDB, in the one replacing it.
    pub(crate) fn touch_all_watched_in_db(&mut self, db: usize, replaced_with: Option<usize>) {
        let keys: Vec<Vec<u8>> = self
            .watchers
            .by_db
            .get(&db)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            let here = self.dbs[db].keys.contains_key(&key);
            let there = replaced_with.is_some_and(|r| self.dbs[r].keys.contains_key(&key));
            if here || there {
                self.touch_watched_key(db, &key);
            }
        }
    }

    pub(crate) fn unwatch_all(&mut self, client: ClientId) {
        let Some(c) = self.clients.get_mut(&client) else {
            return;
        };
        let watched = std::mem::take(&mut c.watched);
        for w in watched {
            if let Some(m) = self.watchers.by_db.get_mut(&w.db) {
                if let Some(list) = m.get_mut(&w.key) {
                    list.retain(|id| *id != client);
                    if list.is_empty() {
                        m.remove(&w.key);
                    }
                }
                if m.is_empty() {
                    self.watchers.by_db.remove(&w.db);
                }
            }
        }
    }

    /// Leaves MULTI and forgets watched keys (EXEC, DISCARD, RESET, disconnect).
    pub(crate) fn discard_transaction(&mut self, client: ClientId) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.multi = None;
            c.dirty_cas = false;
        }
        self.unwatch_all(client);
    }

    fn watched_key_expired(&self, client: ClientId) -> bool {
        let Some(c) = self.clients.get(&client) else {
            return false;
        };
        c.watched
            .iter()
            .any(|w| !w.expired && self.key_is_expired(w.db, &w.key))
    }

    /// The key is present but past its deadline (not yet removed).
    pub(crate) fn key_is_expired(&self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].expire_of(key).is_some_and(|at| self.now > at)
    }
}

fn multi(e: &mut Engine, c: &Call) -> Reply {
    let Some(client) = e.clients.get_mut(&c.client) else {
        return Reply::error("ERR unknown client");
    };
    if client.multi.is_some() {
        return Reply::error("ERR MULTI calls can not be nested");
    }
    client.multi = Some(MultiState::default());
    Reply::OK
}

fn discard(e: &mut Engine, c: &Call) -> Reply {
    if !e.in_multi(c.client) {
        return Reply::error("ERR DISCARD without MULTI");
    }
    e.discard_transaction(c.client);
    Reply::OK
}

fn exec(e: &mut Engine, c: &Call) -> Reply {
    if !e.in_multi(c.client) {
        return Reply::error("ERR EXEC without MULTI");
    }
    if e.watched_key_expired(c.client) {
        if let Some(cl) = e.clients.get_mut(&c.client) {
            cl.dirty_cas = true;
        }
    }
    let Some(cl) = e.clients.get_mut(&c.client) else {
        return Reply::error("ERR unknown client");
    };
    let state = cl.multi.take().unwrap_or_default();
    let dirty_cas = cl.dirty_cas;
    if state.dirty_exec || dirty_cas {
        e.discard_transaction(c.client);
        return if state.dirty_exec {
            Reply::error(crate::error::EXECABORT)
        } else {
            Reply::NilArray
        };
    }
    e.unwatch_all(c.client);
    if let Some(cl) = e.clients.get_mut(&c.client) {
        cl.in_exec = true;
    }
    let mut replies = Vec::with_capacity(state.queued.len());
    for argv in &state.queued {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        replies.push(e.execute_inner(c.client, &args, c.now));
    }
    if let Some(cl) = e.clients.get_mut(&c.client) {
        cl.in_exec = false;
    }
    e.discard_transaction(c.client);
    Reply::Array(replies)
}

fn watch(e: &mut Engine, c: &Call) -> Reply {
    if e.in_multi(c.client) {
        return Reply::error("ERR WATCH inside MULTI is not allowed");
    }
    for key in &c.argv[1..] {
        let already = e
            .clients
            .get(&c.client)
            .is_some_and(|cl| cl.watched.iter().any(|w| w.db == c.db && w.key == *key));
        if already {
            continue;
        }
        let expired = e.key_is_expired(c.db, key);
        e.watchers
            .by_db
            .entry(c.db)
            .or_default()
            .entry(key.to_vec())
            .or_default()
            .push(c.client);
        if let Some(cl) = e.clients.get_mut(&c.client) {
            cl.watched.push(WatchedKey {
                db: c.db,
                key: key.to_vec(),
                expired,
            });
        }
    }
    Reply::OK
}

fn unwatch(e: &mut Engine, c: &Call) -> Reply {
    e.unwatch_all(c.client);
    if let Some(cl) = e.clients.get_mut(&c.client) {
        cl.dirty_cas = false;
    }
    Reply::OK
}
