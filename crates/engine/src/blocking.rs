//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK...), on virtual time.
//!
//! A blocking command that finds nothing to serve calls `Engine::block_on_keys` and answers
//! `Reply::Blocked`: the client gets no reply yet. From then on, any change to one of the keys it
//! waits on marks that key *ready*. After the command that made it ready has finished (never in
//! the middle of it, as in Redis's `handleClientsBlockedOnKeys`), the engine re-runs the blocked
//! commands for that key, oldest blocked client first. A re-run that finds data answers
//! normally, and its reply goes to the client's outbox (`Engine::take_output`); a re-run that
//! still finds nothing leaves the client blocked in its place in the queue. Re-running the whole
//! command rather than a per-type "serve" routine keeps the semantics in one place: the
//! blocking command's non-blocking path is exactly what serves it.
//!
//! A client whose timeout passes while blocked gets its command's timeout reply when `advance`
//! reaches the deadline. Redis checks timeouts in its cron, and so does the engine, at the
//! first `advance` whose time is past the deadline.

use std::collections::{BTreeMap, VecDeque};

use crate::event::Event;
use crate::{ClientId, Engine, Reply};

/// Why and until when a client waits.
#[derive(Clone, Debug)]
pub struct BlockState {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// Absolute deadline in milliseconds; `None` blocks forever (a timeout of 0).
    pub deadline: Option<i64>,
    /// The command to re-run when a key is ready.
    pub argv: Vec<Vec<u8>>,
    /// What the client receives if the deadline passes first (nil, or a nil array).
    pub timeout_reply: Reply,
    pub since_ms: i64,
}

/// Which clients wait on which key, in the order they blocked.
#[derive(Clone, Debug, Default)]
pub struct Blocked {
    pub(crate) by_key: BTreeMap<(usize, Vec<u8>), VecDeque<ClientId>>,
    pub(crate) ready: Vec<(usize, Vec<u8>)>,
    /// The client whose blocked command is being re-run, so that a re-run that would block
    /// again leaves it where it is instead of queueing it a second time.
    pub(crate) reprocessing: Option<ClientId>,
}

impl Engine {
    /// Parks `client` until one of `keys` (in database `db`) changes or `deadline` passes.
    /// Returns the reply the command should give now: always `Reply::Blocked`.
    pub fn block_on_keys(
        &mut self,
        client: ClientId,
        db: usize,
        keys: Vec<Vec<u8>>,
        deadline: Option<i64>,
        argv: &[&[u8]],
        timeout_reply: Reply,
    ) -> Reply {
        if self.blocked.reprocessing == Some(client) {
            return Reply::Blocked;
        }
        for k in &keys {
            self.blocked
                .by_key
                .entry((db, k.clone()))
                .or_default()
                .push_back(client);
        }
        let state = BlockState {
            db,
            keys: keys.clone(),
            deadline,
            argv: argv.iter().map(|a| a.to_vec()).collect(),
            timeout_reply,
            since_ms: self.now,
        };
        if let Some(c) = self.clients.get_mut(&client) {
            c.blocked = Some(state);
        }
        self.emit(Event::ClientBlocked {
            client,
            db,
            keys,
            deadline,
        });
        Reply::Blocked
    }

    /// True while the client waits for a key or a timeout.
    pub fn is_blocked(&self, client: ClientId) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|c| c.blocked.is_some())
    }

    /// Marks a key as changed; blocked clients waiting on it are served after the current
    /// command.
    pub(crate) fn signal_key(&mut self, db: usize, key: &[u8]) {
        if self.blocked.by_key.is_empty() {
            return;
        }
        let k = (db, key.to_vec());
        if self.blocked.by_key.contains_key(&k) && !self.blocked.ready.contains(&k) {
            self.blocked.ready.push(k);
        }
    }

    /// After SWAPDB: every key of `db` that clients wait on and that now exists is ready.
    pub(crate) fn signal_existing_blocked_keys(&mut self, db: usize) {
        let keys: Vec<Vec<u8>> = self
            .blocked
            .by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            if self.dbs[db].keys.contains_key(&k) {
                self.signal_key(db, &k);
            }
        }
    }

    /// Serves clients blocked on keys that became ready, until no key is ready.
    pub(crate) fn serve_ready_keys(&mut self) {
        while !self.blocked.ready.is_empty() {
            let ready = std::mem::take(&mut self.blocked.ready);
            for key in ready {
                let waiting: Vec<ClientId> = self
                    .blocked
                    .by_key
                    .get(&key)
                    .map(|q| q.iter().copied().collect())
                    .unwrap_or_default();
                for client in waiting {
                    self.retry_blocked(client);
                }
            }
        }
    }

    fn retry_blocked(&mut self, client: ClientId) {
        let Some(state) = self.clients.get(&client).and_then(|c| c.blocked.clone()) else {
            return;
        };
        let argv: Vec<&[u8]> = state.argv.iter().map(|a| a.as_slice()).collect();
        self.blocked.reprocessing = Some(client);
        let saved_db = self.clients.get(&client).map(|c| c.db);
        if let Some(c) = self.clients.get_mut(&client) {
            c.db = state.db;
        }
        let reply = self.execute_inner(client, &argv, self.now);
        if let (Some(c), Some(db)) = (self.clients.get_mut(&client), saved_db) {
            c.db = db;
        }
        self.blocked.reprocessing = None;
        if reply != Reply::Blocked {
            self.unblock(client, reply, false);
        }
    }

    /// Ends a client's wait, delivering `reply` to its outbox.
    pub(crate) fn unblock(&mut self, client: ClientId, reply: Reply, timed_out: bool) {
        let Some(state) = self.clients.get_mut(&client).and_then(|c| c.blocked.take()) else {
            return;
        };
        for k in state.keys {
            let key = (state.db, k);
            if let Some(q) = self.blocked.by_key.get_mut(&key) {
                q.retain(|c| *c != client);
                if q.is_empty() {
                    self.blocked.by_key.remove(&key);
                }
            }
        }
        if let Some(c) = self.clients.get_mut(&client) {
            c.outbox.push(reply);
        }
        self.emit(Event::ClientUnblocked { client, timed_out });
    }

    /// Answers every blocked client whose deadline is before `now` with its timeout reply.
    pub(crate) fn expire_blocked(&mut self, now: i64) {
        let due: Vec<(ClientId, Reply)> = self
            .clients
            .values()
            .filter_map(|c| {
                let b = c.blocked.as_ref()?;
                match b.deadline {
                    // Redis times a client out when now is past the deadline, not at it.
                    Some(d) if now > d => Some((c.id, b.timeout_reply.clone())),
                    _ => None,
                }
            })
            .collect();
        for (client, reply) in due {
            self.unblock(client, reply, true);
        }
    }

    /// Removes a disconnecting client from every wait queue.
    pub(crate) fn forget_blocked(&mut self, client: ClientId) {
        for q in self.blocked.by_key.values_mut() {
            q.retain(|c| *c != client);
        }
        self.blocked.by_key.retain(|_, q| !q.is_empty());
    }

    /// Replies that reached a client outside of `execute`: blocked commands that were served
    /// or timed out, and (later) pub/sub messages. The caller writes them in this order.
    pub fn take_output(&mut self, client: ClientId) -> Vec<Reply> {
        self.clients
            .get_mut(&client)
            .map(|c| std::mem::take(&mut c.outbox))
            .unwrap_or_default()
    }

    /// Clients that have replies waiting in their outbox.
    pub fn clients_with_output(&self) -> Vec<ClientId> {
        self.clients
            .values()
            .filter(|c| !c.outbox.is_empty())
            .map(|c| c.id)
            .collect()
    }
}
