//! Cachelab's engine: Redis 7.0's semantics as a pure, deterministic state machine.
//!
//! ```text
//! argv ──► table::lookup ──► arity check ──► cmd::<family>::handler ──► Reply ──► reply::encode_*
//!                                              │
//!                                              └─► keyspace (db::Db, dict::Dict) ──► Event log
//! ```
//!
//! The engine never reads a clock: every call carries `now_ms`, and time stays frozen for the
//! whole of a command (as Redis freezes `commandTimeSnapshot`). Background work, the active expire
//! cycle above all, runs only when the caller says time has passed, through `advance`. All
//! randomness comes from one seeded generator, so the same seed, commands and times give the same
//! replies and the same events on every machine and in the browser.

pub mod advisor;
pub mod args;
pub mod blocking;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod db;
pub mod dict;
pub mod error;
pub mod event;
pub mod evict;
pub mod expire;
pub mod glob;
pub mod inspect;
pub mod keyspace;
pub mod keyspec;
pub mod longdouble;
pub mod memory;
pub mod numfmt;
pub mod object;
pub mod persistence;
pub mod reply;
pub mod rng;
pub mod scripting;
pub mod stats;
pub mod table;
pub mod types;

pub use client::{Client, ClientId};
pub use config::{AppendFsync, Config, MaxmemoryPolicy};
pub use event::{Candidate, CycleKind, Event, EvictionRound, ExpireCycleReport, ExpiredBy};
pub use memory::{BigKeys, MemoryReport};
pub use persistence::{LostWrite, RestartKind, RestartReport};
pub use reply::{encode_resp, to_cli_text, to_resp, Protocol, Reply};
pub use table::{CommandSpec, Flags};

use db::Db;
use rng::Rng;
use stats::Stats;

/// Everything a command handler needs to know about the call it is serving.
pub struct Call<'a> {
    pub client: ClientId,
    /// The client's selected database when the command started.
    pub db: usize,
    pub argv: &'a [&'a [u8]],
    /// The frozen time of this command, in milliseconds.
    pub now: i64,
    pub spec: &'static CommandSpec,
}

#[derive(Clone)]
pub struct Engine {
    pub(crate) config: Config,
    pub(crate) dbs: Vec<Db>,
    pub(crate) clients: client::ClientTable,
    next_client_id: ClientId,
    pub(crate) rng: Rng,
    pub(crate) events: Vec<Event>,
    pub(crate) stats: Stats,
    /// The frozen time of the command being executed, or of the last `advance`.
    pub(crate) now: i64,
    /// When the engine was created, for INFO's uptime.
    pub(crate) start_ms: i64,
    pub(crate) cron: expire::CronState,
    pub(crate) blocked: blocking::Blocked,
    pub(crate) watchers: cmd::transactions::Watchers,
    pub(crate) pubsub: cmd::pubsub::PubSub,
    /// Set when the engine is a node of a `cluster::Cluster`.
    pub(crate) cluster: Option<cluster::Link>,
    pub(crate) mem: memory::MemState,
    pub(crate) evict: evict::EvictState,
    pub(crate) persist: persistence::Persist,
    pub(crate) scripting: scripting::Scripting,
    /// The command names resolved last, so that a run of a few commands skips the table's hash.
    recent_names: table::RecentNames,
    /// An empty buffer from a reply the caller handed back (`recycle`), for GET's next reply.
    pub(crate) spare_bulk: Vec<u8>,
}

impl Engine {
    pub fn new(config: Config) -> Engine {
        Engine::new_at(config, 0)
    }

    /// An engine whose clock starts at `now_ms` (the native server starts it at Unix time).
    pub fn new_at(config: Config, now_ms: i64) -> Engine {
        let dbs = (0..config.databases)
            .map(|i| {
                Db::new(
                    config
                        .seed
                        .wrapping_add(i as u64)
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15),
                )
            })
            .collect();
        Engine {
            rng: Rng::new(config.seed),
            dbs,
            clients: client::ClientTable::default(),
            next_client_id: 1,
            events: Vec::new(),
            stats: Stats::default(),
            now: now_ms,
            start_ms: now_ms,
            cron: expire::CronState::new(now_ms),
            blocked: blocking::Blocked::default(),
            watchers: cmd::transactions::Watchers::default(),
            pubsub: cmd::pubsub::PubSub::default(),
            cluster: None,
            mem: memory::MemState::default(),
            evict: evict::EvictState::new(config.eviction_true_lru),
            persist: persistence::Persist::new(now_ms),
            scripting: scripting::Scripting::default(),
            recent_names: table::RecentNames::default(),
            spare_bulk: Vec::new(),
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn config_mut(&mut self) -> &mut Config {
        // The caller may change the save points.
        self.persist.save_checked = false;
        &mut self.config
    }

    /// Opens a connection and returns its id (ids start at 1 and are never reused).
    pub fn connect(&mut self, now_ms: i64) -> ClientId {
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.clients.insert(id, Client::new(id, now_ms));
        self.stats.total_connections += 1;
        self.emit(Event::ClientConnected { client: id });
        id
    }

    /// Closes a connection; its state goes with it.
    pub fn disconnect(&mut self, client: ClientId) {
        self.forget_blocked(client);
        self.discard_transaction(client);
        self.forget_subscriptions(client);
        if self.clients.remove(&client).is_some() {
            self.emit(Event::ClientClosed { client });
        }
    }

    pub fn client(&self, id: ClientId) -> Option<&Client> {
        self.clients.get(&id)
    }

    pub fn client_mut(&mut self, id: ClientId) -> Option<&mut Client> {
        self.clients.get_mut(&id)
    }

    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    /// The protocol the client reads its replies in.
    pub fn protocol(&self, client: ClientId) -> Protocol {
        self.clients
            .get(&client)
            .map_or(Protocol::Resp2, |c| c.protocol)
    }

    /// True once QUIT has been answered: the caller should close the connection.
    pub fn should_close(&self, client: ClientId) -> bool {
        self.clients
            .get(&client)
            .is_none_or(|c| c.close_after_reply)
    }

    /// Runs one command for `client` at time `now_ms` and returns its reply.
    ///
    /// When the command makes keys ready for clients blocked on them, those clients are served
    /// before this returns; their replies wait in their outboxes (`take_output`).
    pub fn execute(&mut self, client: ClientId, argv: &[&[u8]], now_ms: i64) -> Reply {
        // Redis times blocked clients out between commands, so a deadline that has passed by
        // now is met before this command can serve the client instead.
        // Asked first so that the usual case, nobody blocked, costs no call.
        if self.anyone_blocked() {
            self.expire_blocked(now_ms);
        }
        let reply = self.run_command(client, argv, now_ms, true);
        if !self.blocked.ready.is_empty() {
            self.serve_ready_keys();
            self.persist_sync(0, &[b"(served blocked clients)"]);
            self.account();
        }
        reply
    }

    /// Runs a command for a client that is already being served (EXEC's queue, a script, a
    /// blocked client's retry): no check that the client is blocked.
    pub(crate) fn execute_inner(&mut self, client: ClientId, argv: &[&[u8]], now_ms: i64) -> Reply {
        self.run_command(client, argv, now_ms, false)
    }

    fn run_command(
        &mut self,
        client: ClientId,
        argv: &[&[u8]],
        now_ms: i64,
        refuse_blocked: bool,
    ) -> Reply {
        // What the checks below need to know about the client, read in one lookup: nothing
        // before the command runs changes it.
        let found = self.clients.get(&client).map(|c| {
            let subscribed =
                !(c.channels.is_empty() && c.patterns.is_empty() && c.shard_channels.is_empty());
            (
                c.db,
                subscribed && c.protocol == Protocol::Resp2,
                c.multi.is_some(),
                c.blocked.is_some(),
            )
        });
        if refuse_blocked && found.is_some_and(|(.., blocked)| blocked) {
            // A blocked connection's input waits in its buffer in Redis; a caller that sends
            // anyway is told so rather than having the command run out of order.
            return Reply::error("ERR client is blocked");
        }
        self.now = now_ms;
        let Some((db, resp2_subscribed, in_multi, _)) = found else {
            return Reply::error("ERR unknown client");
        };
        if argv.is_empty() {
            // Redis ignores an empty multibulk (`*0`) without a reply; a caller that sends one
            // gets an explicit error instead of silence.
            return Reply::error("ERR empty command");
        }
        let spec = match self.recent_names.lookup(argv) {
            Ok(spec) => spec,
            Err(err) => {
                self.stats.total_error_replies += 1;
                self.stats.rejected_calls += 1;
                self.flag_transaction(client);
                self.stats.record_error(&err);
                return Reply::error_owned(err);
            }
        };
        if !spec.arity_ok(argv.len()) {
            self.stats.total_error_replies += 1;
            self.stats.rejected_calls += 1;
            self.stats.record_rejected(spec.name);
            self.flag_transaction(client);
            let err = error::wrong_arity(spec.name);
            self.stats.record_error(&err);
            return Reply::error_owned(err);
        }
        // Redis checks the cluster redirection before memory, as processCommand does.
        if self.cluster.is_some() {
            if let Some(reply) = self.cluster_route(client, spec, argv) {
                return reply;
            }
        }
        if let Some(reply) = self.maxmemory_gate(client, spec) {
            return reply;
        }
        if resp2_subscribed && !cmd::pubsub::allowed_while_subscribed(spec.name) {
            self.stats.total_error_replies += 1;
            self.stats.rejected_calls += 1;
            self.stats.record_rejected(spec.name);
            self.flag_transaction(client);
            let err = error::not_in_subscribed_context(spec.name);
            self.stats.record_error(&err);
            return Reply::error_owned(err);
        }
        if in_multi {
            if let Some(reply) = self.try_queue(client, spec, argv) {
                return reply;
            }
        }
        let call = Call {
            client,
            db,
            argv,
            now: now_ms,
            spec,
        };
        let reply = (spec.handler)(self, &call);
        self.persist_sync(db, argv);
        self.account();
        self.stats.total_commands += 1;
        self.stats.record_call(spec.name, reply.is_error());
        if let Some(text) = reply.error_text() {
            self.stats.total_error_replies += 1;
            self.stats.record_error(text);
        }
        if let Some(c) = self.clients.get_mut(&client) {
            c.last_interaction_ms = now_ms;
            c.last_command = spec.name;
        }
        reply
    }

    /// Hands back a reply the caller is done with (encoded, say), so that its buffer can carry
    /// a later reply instead of a new allocation. Optional: a reply may just as well be dropped.
    pub fn recycle(&mut self, reply: Reply) {
        // Big buffers are let go rather than kept for small values.
        const KEEP: usize = 4096;
        if let Reply::Bulk(mut buf) = reply {
            if buf.capacity() <= KEEP && buf.capacity() > self.spare_bulk.capacity() {
                buf.clear();
                self.spare_bulk = buf;
            }
        }
    }

    /// Convenience for tests and the console: runs a command given as strings.
    pub fn run(&mut self, client: ClientId, argv: &[&str], now_ms: i64) -> Reply {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        self.execute(client, &args, now_ms)
    }

    /// Lets virtual time pass up to `now_ms`: runs the fast expire cycle once (Redis does it
    /// before going idle) and the server cron `hz` times per elapsed second.
    pub fn advance(&mut self, now_ms: i64) {
        expire::advance(self, now_ms);
        self.account();
        if self.config.maxmemory > 0 {
            // Eviction that ran out of its time budget goes on between commands.
            for _ in 0..1000 {
                if self.perform_evictions() != evict::Evicted::Running {
                    break;
                }
            }
        }
        self.persist_tick();
    }

    /// Takes the events recorded since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn emit(&mut self, ev: Event) {
        if self.config.record_events {
            self.events.push(ev);
        }
    }

    pub(crate) fn recording(&self) -> bool {
        self.config.record_events
    }

    /// Whether `client`'s selected database is large enough for `warm_keys` to pay for the
    /// lookahead a caller spends finding the keys: about 32,768 small keys, or a hash or set of
    /// as many elements, by the memory model. Below that most of the data stays in cache and
    /// looking ahead costs more than it saves (measured: bench/README.md).
    pub fn worth_warming(&self, client: ClientId) -> bool {
        const WARM_MIN_BYTES: u64 = 3 << 20;
        self.selected_db(client)
            .is_some_and(|db| db.mem >= WARM_MIN_BYTES)
    }

    /// The database `client` has selected.
    fn selected_db(&self, client: ClientId) -> Option<&db::Db> {
        self.client(client).and_then(|c| self.dbs.get(c.db))
    }

    /// Brings into cache what running commands on `keys` in `client`'s database will read
    /// (see `dict::warm_lookups`), so that a server can warm a pipelined batch before running
    /// it. `seconds[i]`, the argument after `keys[i]`, is warmed too where that key holds a hash
    /// or a set in a table (a field or a member) and the warm-up reached its node (see
    /// `dict::warm_lookups`), as it does for nearly every key.
    /// Has no effect on the engine's state or on any reply.
    pub fn warm_keys(&self, client: ClientId, keys: &[&[u8]], seconds: &[&[u8]]) {
        use object::Value;
        use types::{hash::Hash, set::Set};
        let Some(db) = self.selected_db(client) else {
            return;
        };
        let lookups: Vec<_> = keys.iter().map(|k| (&db.keys, *k)).collect();
        let (mut fields, mut members) = (Vec::new(), Vec::new());
        dict::warm_lookups(&lookups, object::Entry::touch, |i, key, entry| {
            let second = seconds.get(i).copied().unwrap_or_default();
            if second.is_empty() || !dict::same_bytes(key, keys[i]) {
                return;
            }
            match &entry.value {
                Value::Hash(Hash::Table(d)) => fields.push((&***d, second)),
                Value::Set(Set::Table(d)) => members.push((&***d, second)),
                _ => {}
            }
        });
        dict::warm_lookups(
            &fields,
            |v| v.first().copied().unwrap_or(0) as u64,
            |_, _, _| {},
        );
        dict::warm_lookups(&members, |_| 0, |_, _, _| {});
    }

    /// Number of keys in database `db`, expired-but-not-yet-removed ones included (as DBSIZE).
    pub fn dbsize(&self, db: usize) -> usize {
        self.dbs.get(db).map_or(0, |d| d.len())
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    /// The script cache and the function libraries.
    pub fn scripting(&self) -> &scripting::Scripting {
        &self.scripting
    }
}

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
