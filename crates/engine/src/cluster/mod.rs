//! Redis Cluster on one virtual clock: several engines, one per node, with hash-slot routing,
//! resharding, asynchronous replication and failover.
//!
//! ```text
//!  Cluster::execute(node, client, argv, now)
//!     │  tick: replication records due by `now` reach replicas; failure detection; elections
//!     ▼
//!  node's Engine ──► execute_inner ──► route (getNodeByQuery) ──► -MOVED / -ASK / -CROSSSLOT ...
//!     │                                  └─► the command runs on this node's keyspace
//!     ▼
//!  after the command: the node's events are read to keep its slot index, to append the write
//!  to its replication stream (when it has replicas) and to record what the UI draws
//! ```
//!
//! The cluster's shared state (`State`: nodes, slot owners, epochs, replication streams) lives
//! in the `Cluster`. While a node's engine runs anything, the state is lent to that engine
//! through its `Link`, so that routing and the cluster commands (CLUSTER, MIGRATE, WAIT...) read
//! and change it from inside the engine, and MIGRATE can reach the target node's engine. An
//! engine outside a cluster has no link and pays one branch per command for all of this.
//!
//! One view of the cluster stands for every node's: a change of slot owner made on one node is
//! seen by the others at once, where Redis would spread it by gossip within a few hundred
//! milliseconds. What Redis keeps per node stays per node: migrating and importing slots, and the
//! ASKING and READONLY flags of each node's clients.
//!
//! Replication is by effect: after a write on a master with replicas, the new state of every key
//! the write touched (or its deletion) is appended to the master's stream as one record, with the
//! command that caused it for display. A replica applies a record `repl_lag_ms` after it was
//! written, if its master is still reachable. Records a replica never received are lost when it
//! is promoted: `Cluster::lost_writes` lists them.

pub mod addr;
pub mod follow;
mod repl;
mod route;
pub mod slot;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use repl::ReplRecord;
pub(crate) use route::redirect_text;
pub use slot::{crc16, key_hash_slot, SlotIndex, SLOTS};

use crate::event::Event;
use crate::rng::Rng;
use crate::{ClientId, Config, Engine, Reply};

/// How a cluster is built.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Seeds node ids, each node's engine and the cluster's own random choices (election delays).
    pub seed: u64,
    pub masters: usize,
    pub replicas_per_master: usize,
    /// The address every node announces.
    pub host: String,
    /// Node `i` listens on `ports[i]` when given, `base_port + i` otherwise.
    pub base_port: u16,
    pub ports: Vec<u16>,
    /// Split the slots evenly among the masters, as `redis-cli --cluster create` does. Without
    /// it every slot starts unassigned (CLUSTER ADDSLOTS assigns them).
    pub assign_slots: bool,
    /// How long a write takes to reach a replica.
    pub repl_lag_ms: i64,
    /// `cluster-node-timeout`: how long a node must be unreachable before it is marked failed.
    pub node_timeout_ms: i64,
    /// The configuration every node's engine starts from.
    pub engine: Config,
    /// Keep `ClusterEvent`s for `drain_events` (the native server does not read them).
    pub record_events: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            seed: Config::default().seed,
            masters: 3,
            replicas_per_master: 0,
            host: "127.0.0.1".into(),
            base_port: 30001,
            ports: Vec::new(),
            assign_slots: true,
            repl_lag_ms: 100,
            node_timeout_ms: 15_000,
            engine: Config::default(),
            record_events: true,
        }
    }
}

/// How a replica took over its master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailoverKind {
    /// CLUSTER FAILOVER: the master stops writes and the replica catches up first; nothing is lost.
    Manual,
    /// CLUSTER FAILOVER FORCE: no handshake with the master.
    Force,
    /// CLUSTER FAILOVER TAKEOVER: no handshake and no election.
    Takeover,
    /// The master was unreachable for `cluster-node-timeout` and the replica won the election.
    Automatic,
}

/// Why a node did not run a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// `-MOVED`: the slot belongs to another node.
    Moved { slot: u16, to: usize },
    /// `-ASK`: the slot is migrating and the key is not here (any more); ask the target once.
    Ask { slot: u16, to: usize },
    /// `-CROSSSLOT`: the keys of the request are in different slots.
    CrossSlot,
    /// `-TRYAGAIN`: a multi-key request during a slot's migration, with keys on both sides.
    TryAgain { slot: u16 },
    /// `-CLUSTERDOWN Hash slot not served`.
    Unbound { slot: u16 },
    /// `-CLUSTERDOWN The cluster is down`.
    Down,
    /// `-READONLY`: a write sent to a replica.
    ReadOnlyReplica,
}

/// A write that a master acknowledged and that never reached the replica that replaced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostWrite {
    pub master: usize,
    /// The master's replication offset after the write.
    pub offset: i64,
    /// When the master ran it.
    pub at: i64,
    pub command: Vec<Vec<u8>>,
}

/// What happened in the cluster, for the UI to draw.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterEvent {
    /// Something inside one node's engine: keyspace changes, expiries, blocked clients...
    Node {
        node: usize,
        event: Event,
    },
    /// A node refused a command and pointed the client elsewhere (or nowhere).
    Redirected {
        node: usize,
        client: ClientId,
        command: &'static str,
        redirect: Redirect,
    },
    /// A master appended a write to its replication stream.
    WriteQueued {
        master: usize,
        offset: i64,
        command: Vec<Vec<u8>>,
    },
    /// A replica applied a record of its master's stream (and acknowledged it).
    ReplicationApplied {
        master: usize,
        replica: usize,
        offset: i64,
        command: Vec<Vec<u8>>,
    },
    /// A replica was loaded with a copy of its master's whole dataset.
    FullSync {
        master: usize,
        replica: usize,
        offset: i64,
    },
    /// Slots given to a node (CLUSTER ADDSLOTS, SETSLOT NODE, a failover) or taken from it.
    SlotsAssigned {
        node: usize,
        slots: Vec<(u16, u16)>,
    },
    SlotsUnassigned {
        node: usize,
        slots: Vec<(u16, u16)>,
    },
    /// CLUSTER SETSLOT MIGRATING / IMPORTING / STABLE on one node (`peer: None` for STABLE).
    SlotMigrating {
        node: usize,
        slot: u16,
        to: Option<usize>,
    },
    SlotImporting {
        node: usize,
        slot: u16,
        from: Option<usize>,
    },
    /// MIGRATE moved (or, with COPY, copied) keys to another node.
    KeysMigrated {
        from: usize,
        to: usize,
        keys: Vec<Vec<u8>>,
        copy: bool,
    },
    /// A node stopped answering (`Cluster::fail_node`).
    NodeDown {
        node: usize,
    },
    /// The other nodes agreed that a node is failed (after `cluster-node-timeout`).
    NodeFailed {
        node: usize,
    },
    /// A node answers again (`Cluster::recover_node`).
    NodeUp {
        node: usize,
    },
    /// A replica will ask for votes at `at` (its delay depends on its rank among replicas).
    ElectionScheduled {
        replica: usize,
        master: usize,
        at: i64,
    },
    /// A replica became master in place of its master.
    Failover {
        old_master: usize,
        new_master: usize,
        kind: FailoverKind,
        epoch: u64,
    },
    /// Acknowledged writes that the promoted replica never received.
    WritesLost {
        old_master: usize,
        new_master: usize,
        writes: Vec<LostWrite>,
    },
    /// A node became the replica of another (CLUSTER REPLICATE, or an old master coming back).
    ReplicaOf {
        node: usize,
        master: usize,
    },
    /// `cluster_state` changed (every slot served by a reachable master, or not).
    StateChanged {
        ok: bool,
    },
}

/// What one node is, as the UI may show it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    pub id: String,
    pub host: String,
    pub port: u16,
    /// `None` for a master; the index of its master for a replica.
    pub master: Option<usize>,
    pub up: bool,
    pub failed: bool,
    pub slots: Vec<(u16, u16)>,
    pub config_epoch: u64,
    /// As a master, its replication offset; as a replica, the offset it has applied.
    pub repl_offset: i64,
    pub migrating: Vec<(u16, usize)>,
    pub importing: Vec<(u16, usize)>,
    pub keys: usize,
}

/// One node of the cluster.
#[derive(Clone)]
pub(crate) struct Node {
    pub id: String,
    pub host: String,
    pub port: u16,
    /// Taken out while the node runs a command (the state is lent to it then).
    pub engine: Option<Engine>,
    /// The master this node replicates, if it is a replica.
    pub master: Option<usize>,
    pub config_epoch: u64,
    pub up: bool,
    pub down_since: Option<i64>,
    /// Flagged FAIL by the others.
    pub failed: bool,
    pub migrating: BTreeMap<u16, usize>,
    pub importing: BTreeMap<u16, usize>,
    pub asking: BTreeSet<ClientId>,
    pub readonly: BTreeSet<ClientId>,
    pub repl: repl::Repl,
    pub index: SlotIndex,
    /// How many of the engine's not yet drained events the index has already seen.
    pub index_seen: usize,
    /// When this replica will win its election, while its master is failed.
    pub election_at: Option<i64>,
    pub created_ms: i64,
}

/// Work a command asked for that needs the whole cluster: done right after the command.
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    Failover { replica: usize, kind: FailoverKind },
    Replicate { node: usize, master: usize },
}

/// The cluster's shared state.
#[derive(Clone)]
pub(crate) struct State {
    pub nodes: Vec<Node>,
    /// The owner of every slot.
    pub slots: Vec<Option<usize>>,
    pub current_epoch: u64,
    pub repl_lag_ms: i64,
    pub node_timeout_ms: i64,
    pub record_events: bool,
    /// cluster_state:ok, kept up to date by `update_state`.
    pub ok: bool,
    pub events: Vec<ClusterEvent>,
    pub pending: Vec<Pending>,
    /// Engines other than the running one that a command changed (MIGRATE's target), with the
    /// command to show for their replication record.
    pub touched: Vec<(usize, Vec<Vec<u8>>)>,
    pub lost: Vec<LostWrite>,
    pub rng: Rng,
    pub now: i64,
}

/// The link from a node's engine to its cluster.
#[derive(Clone)]
pub struct Link {
    pub(crate) me: usize,
    /// The cluster's state, present while the cluster has lent it to this engine.
    pub(crate) st: Option<Box<State>>,
}

/// A Redis Cluster of engines in one process, on one virtual clock.
#[derive(Clone)]
pub struct Cluster {
    st: Option<Box<State>>,
}

impl State {
    pub fn emit(&mut self, ev: ClusterEvent) {
        if self.record_events {
            self.events.push(ev);
        }
    }

    pub fn is_master(&self, n: usize) -> bool {
        self.nodes[n].master.is_none()
    }

    pub fn replicas_of(&self, m: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&r| self.nodes[r].master == Some(m))
            .collect()
    }

    /// Replicas of `m` that are up and have acknowledged `offset`.
    pub fn acked(&self, m: usize, offset: i64) -> i64 {
        self.replicas_of(m)
            .into_iter()
            .filter(|&r| self.nodes[r].up && self.nodes[r].repl.applied >= offset)
            .count() as i64
    }

    pub fn by_id(&self, id: &[u8]) -> Option<usize> {
        self.nodes.iter().position(|n| n.id.as_bytes() == id)
    }

    pub fn by_addr(&self, host: &[u8], port: i64) -> Option<usize> {
        let host: &[u8] = if host.eq_ignore_ascii_case(b"localhost") {
            b"127.0.0.1"
        } else {
            host
        };
        self.nodes
            .iter()
            .position(|n| n.host.as_bytes() == host && i64::from(n.port) == port)
    }

    pub fn addr(&self, n: usize) -> String {
        format!("{}:{}", self.nodes[n].host, self.nodes[n].port)
    }

    pub fn slot_count(&self, n: usize) -> usize {
        self.slots.iter().filter(|o| **o == Some(n)).count()
    }

    /// The contiguous slot ranges `n` owns, in order.
    pub fn ranges(&self, n: usize) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for (s, owner) in self.slots.iter().enumerate() {
            if *owner != Some(n) {
                continue;
            }
            let s = s as u16;
            match out.last_mut() {
                Some((_, end)) if *end + 1 == s => *end = s,
                _ => out.push((s, s)),
            }
        }
        out
    }

    /// The epoch a node shows: a replica shows its master's.
    pub fn shown_epoch(&self, n: usize) -> u64 {
        match self.nodes[n].master {
            Some(m) => self.nodes[m].config_epoch,
            None => self.nodes[n].config_epoch,
        }
    }

    /// Recomputes cluster_state: ok when every slot has an owner that is not failed.
    pub fn update_state(&mut self) {
        let ok = self
            .slots
            .iter()
            .all(|o| o.is_some_and(|n| !self.nodes[n].failed));
        if ok != self.ok {
            self.ok = ok;
            self.emit(ClusterEvent::StateChanged { ok });
        }
    }

    /// Gives `slot` to `to` (None: unassigned), with the events.
    pub fn set_owner(&mut self, slot: u16, to: Option<usize>) {
        let from = self.slots[slot as usize];
        if from == to {
            return;
        }
        self.slots[slot as usize] = to;
        if let Some(f) = from {
            self.emit(ClusterEvent::SlotsUnassigned {
                node: f,
                slots: vec![(slot, slot)],
            });
        }
        if let Some(t) = to {
            self.emit(ClusterEvent::SlotsAssigned {
                node: t,
                slots: vec![(slot, slot)],
            });
        }
    }

    /// Redis's `clusterBumpConfigEpochWithoutConsensus`: a node whose epoch is zero or not the
    /// highest known (the current epoch included) takes a new one. Returns whether it did.
    pub fn bump_epoch(&mut self, n: usize) -> bool {
        let max = self
            .nodes
            .iter()
            .map(|x| x.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch);
        let mine = self.nodes[n].config_epoch;
        if mine == 0 || mine != max {
            self.current_epoch += 1;
            self.nodes[n].config_epoch = self.current_epoch;
            true
        } else {
            false
        }
    }
}

impl Engine {
    /// True for an engine that is a node of a `Cluster` (SELECT, MOVE, SWAPDB and INFO ask).
    pub fn is_cluster_node(&self) -> bool {
        self.cluster.is_some()
    }

    /// True for a cluster node that replicates a master (HELLO reports its role).
    pub fn is_cluster_replica(&self) -> bool {
        self.cluster_state()
            .is_some_and(|(st, me)| st.nodes[me].master.is_some())
    }

    /// Runs `f` with the cluster's state when this engine is a cluster node running a command.
    pub(crate) fn with_cluster<R>(
        &mut self,
        f: impl FnOnce(&mut Engine, &mut State, usize) -> R,
    ) -> Option<R> {
        let link = self.cluster.as_mut()?;
        let me = link.me;
        let mut st = link.st.take()?;
        let r = f(self, &mut st, me);
        if let Some(link) = self.cluster.as_mut() {
            link.st = Some(st);
        }
        Some(r)
    }

    /// The cluster's state, read-only, with this node's index.
    pub(crate) fn cluster_state(&self) -> Option<(&State, usize)> {
        let link = self.cluster.as_ref()?;
        Some((link.st.as_deref()?, link.me))
    }

    /// How many replicas have acknowledged `offset` of this node's replication stream (0 outside
    /// a cluster, where there are no replicas).
    pub(crate) fn replicas_acked(&self, offset: i64) -> i64 {
        self.cluster_state()
            .map_or(0, |(st, me)| st.acked(me, offset))
    }
}

/// Brings a node's slot index up to date with the events its engine recorded since the last
/// drain (CLUSTER COUNTKEYSINSLOT inside a transaction reads it before the drain).
pub(crate) fn sync_index(node: &mut Node, engine: &Engine) {
    let seen = node.index_seen.min(engine.events.len());
    index_events(&mut node.index, engine, &engine.events[seen..]);
    node.index_seen = engine.events.len();
}

/// Applies keyspace events to a slot index. Redis adds a new key at the head of its slot's
/// list, leaves an overwritten one in place, and re-adds a key it replaced whole (RENAME onto
/// it, COPY REPLACE, RESTORE REPLACE).
fn index_events(index: &mut SlotIndex, engine: &Engine, events: &[Event]) {
    for ev in events {
        match ev {
            Event::Keyspace { db: 0, key, op } => {
                let exists = engine.dbs[0].keys.contains_key(key);
                match *op {
                    "del" | "expired" | "evicted" | "rename_from" | "move_from" => {
                        index.remove(key)
                    }
                    "rename_to" | "copy_to" | "restore" => {
                        index.remove(key);
                        if exists {
                            index.add(key);
                        }
                    }
                    _ if exists => index.add(key),
                    _ => {}
                }
            }
            Event::Expired { db: 0, key, .. } => index.remove(key),
            Event::Flushed { db: None | Some(0) } => index.clear(),
            _ => {}
        }
    }
    // Keys that changed without an event (DEBUG commands) would leave the index short.
    if index.len() != engine.dbs[0].len() {
        index.clear();
        for (k, _) in engine.dbs[0].keys.iter() {
            index.add(k);
        }
    }
}

/// Node ids are 40 hexadecimal digits, drawn from the seed so that a cluster built twice is the
/// same cluster.
fn node_id(seed: u64, index: usize) -> String {
    let mut rng = Rng::new(seed ^ 0x636c_7573_7465_7221 ^ (index as u64).wrapping_mul(0x9E37_79B9));
    let mut id = String::with_capacity(48);
    for _ in 0..3 {
        id.push_str(&format!("{:016x}", rng.next_u64()));
    }
    id.truncate(40);
    id
}

/// The slot ranges `redis-cli --cluster create` gives `masters` masters: a fractional share
/// each, rounded to the nearest slot, the last master taking the rest.
pub fn even_split(masters: usize) -> Vec<(u16, u16)> {
    let per = SLOTS as f64 / masters as f64;
    let mut cursor = 0.0f64;
    let mut first = 0i64;
    let mut out = Vec::with_capacity(masters);
    for i in 0..masters {
        let mut last = (cursor + per - 1.0).round() as i64;
        if last > SLOTS as i64 - 1 || i == masters - 1 {
            last = SLOTS as i64 - 1;
        }
        if last < first {
            last = first;
        }
        out.push((first as u16, last as u16));
        first = last + 1;
        cursor += per;
    }
    out
}

impl Cluster {
    pub fn new(cfg: ClusterConfig, now_ms: i64) -> Cluster {
        let total = cfg.masters + cfg.masters * cfg.replicas_per_master;
        let mut nodes = Vec::with_capacity(total);
        for i in 0..total {
            let port = cfg
                .ports
                .get(i)
                .copied()
                .unwrap_or_else(|| cfg.base_port.wrapping_add(i as u16));
            let mut conf = cfg.engine.clone();
            conf.seed = cfg
                .seed
                .wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            conf.tcp_port = port;
            // The slot index and replication read the engine's events.
            conf.record_events = true;
            let mut engine = Engine::new_at(conf, now_ms);
            engine.cluster = Some(Link { me: i, st: None });
            nodes.push(Node {
                id: node_id(cfg.seed, i),
                host: cfg.host.clone(),
                port,
                engine: Some(engine),
                master: None,
                config_epoch: 0,
                up: true,
                down_since: None,
                failed: false,
                migrating: BTreeMap::new(),
                importing: BTreeMap::new(),
                asking: BTreeSet::new(),
                readonly: BTreeSet::new(),
                repl: repl::Repl::new(cfg.seed, i),
                index: SlotIndex::default(),
                index_seen: 0,
                election_at: None,
                created_ms: now_ms,
            });
        }
        let mut st = State {
            nodes,
            slots: vec![None; SLOTS],
            current_epoch: 0,
            repl_lag_ms: cfg.repl_lag_ms,
            node_timeout_ms: cfg.node_timeout_ms,
            record_events: cfg.record_events,
            ok: false,
            events: Vec::new(),
            pending: Vec::new(),
            touched: Vec::new(),
            lost: Vec::new(),
            rng: Rng::new(cfg.seed ^ 0x656c_6563_7469_6f6e),
            now: now_ms,
        };
        if cfg.assign_slots && cfg.masters > 0 {
            for (m, (first, last)) in even_split(cfg.masters).into_iter().enumerate() {
                for s in first..=last {
                    st.slots[s as usize] = Some(m);
                }
                st.nodes[m].config_epoch = m as u64 + 1;
                st.emit(ClusterEvent::SlotsAssigned {
                    node: m,
                    slots: vec![(first, last)],
                });
            }
            st.current_epoch = cfg.masters as u64;
        }
        st.update_state();
        let mut cluster = Cluster {
            st: Some(Box::new(st)),
        };
        for r in cfg.masters..total {
            let m = (r - cfg.masters) % cfg.masters;
            cluster.make_replica(r, m, now_ms);
        }
        cluster
    }

    fn st(&self) -> &State {
        self.st
            .as_deref()
            .expect("cluster state is lent only during a call")
    }

    fn st_mut(&mut self) -> &mut State {
        self.st
            .as_deref_mut()
            .expect("cluster state is lent only during a call")
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.st().nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.st().nodes.is_empty()
    }

    pub fn engine(&self, node: usize) -> &Engine {
        self.st().nodes[node]
            .engine
            .as_ref()
            .expect("engines are only taken out during a call")
    }

    pub fn node_id(&self, node: usize) -> &str {
        &self.st().nodes[node].id
    }

    pub fn addr(&self, node: usize) -> String {
        self.st().addr(node)
    }

    pub fn node_by_addr(&self, host: &str, port: u16) -> Option<usize> {
        self.st().by_addr(host.as_bytes(), i64::from(port))
    }

    pub fn node_by_id(&self, id: &str) -> Option<usize> {
        self.st().by_id(id.as_bytes())
    }

    /// The node that owns `slot`.
    pub fn slot_owner(&self, slot: u16) -> Option<usize> {
        self.st().slots.get(slot as usize).copied().flatten()
    }

    /// Whether every slot is served by a master that is not failed (cluster_state:ok).
    pub fn state_ok(&self) -> bool {
        self.st().ok
    }

    pub fn current_epoch(&self) -> u64 {
        self.st().current_epoch
    }

    pub fn node(&self, node: usize) -> NodeInfo {
        let st = self.st();
        let n = &st.nodes[node];
        NodeInfo {
            id: n.id.clone(),
            host: n.host.clone(),
            port: n.port,
            master: n.master,
            up: n.up,
            failed: n.failed,
            slots: st.ranges(node),
            config_epoch: n.config_epoch,
            repl_offset: if n.master.is_some() {
                n.repl.applied
            } else {
                n.repl.offset
            },
            migrating: n.migrating.iter().map(|(s, t)| (*s, *t)).collect(),
            importing: n.importing.iter().map(|(s, t)| (*s, *t)).collect(),
            keys: n.engine.as_ref().map_or(0, |e| e.dbsize(0)),
        }
    }

    pub fn nodes(&self) -> Vec<NodeInfo> {
        (0..self.len()).map(|i| self.node(i)).collect()
    }

    /// The records of `master`'s replication stream that some replica has not applied yet.
    pub fn backlog(&self, master: usize) -> Vec<ReplRecord> {
        self.st().nodes[master]
            .repl
            .backlog
            .iter()
            .cloned()
            .collect()
    }

    /// Every acknowledged write lost to a failover so far.
    pub fn lost_writes(&self) -> &[LostWrite] {
        &self.st().lost
    }

    pub fn repl_lag_ms(&self) -> i64 {
        self.st().repl_lag_ms
    }

    /// Changes how long writes take to reach replicas (records already on the way included).
    pub fn set_repl_lag(&mut self, ms: i64) {
        self.st_mut().repl_lag_ms = ms.max(0);
    }

    pub fn node_timeout_ms(&self) -> i64 {
        self.st().node_timeout_ms
    }

    pub fn set_node_timeout(&mut self, ms: i64) {
        self.st_mut().node_timeout_ms = ms.max(0);
    }

    /// Takes the events recorded since the last call.
    pub fn drain_events(&mut self) -> Vec<ClusterEvent> {
        std::mem::take(&mut self.st_mut().events)
    }

    /// Runs `f` on a node's engine with the cluster's state lent to it.
    fn with_node<R>(&mut self, node: usize, f: impl FnOnce(&mut Engine) -> R) -> R {
        let mut st = self.st.take().expect("cluster state lent twice");
        let mut engine = st.nodes[node]
            .engine
            .take()
            .expect("a node's engine runs one call at a time");
        if let Some(link) = engine.cluster.as_mut() {
            link.st = Some(st);
        }
        let r = f(&mut engine);
        let mut st = engine
            .cluster
            .as_mut()
            .and_then(|l| l.st.take())
            .expect("the engine gives the cluster state back");
        st.nodes[node].engine = Some(engine);
        self.st = Some(st);
        r
    }

    /// Opens a connection to `node`.
    pub fn connect(&mut self, node: usize, now_ms: i64) -> ClientId {
        let addr = self.st().addr(node);
        self.with_node(node, |e| {
            let id = e.connect(now_ms);
            if let Some(c) = e.client_mut(id) {
                c.laddr = addr;
            }
            id
        })
    }

    /// Records where a client connects from (the native server's sockets), for CLIENT LIST.
    pub fn set_client_addr(
        &mut self,
        node: usize,
        client: ClientId,
        fd: i64,
        addr: String,
        laddr: String,
    ) {
        self.with_node(node, |e| {
            if let Some(c) = e.client_mut(client) {
                c.fd = fd;
                c.addr = addr;
                c.laddr = laddr;
            }
        });
    }

    pub fn disconnect(&mut self, node: usize, client: ClientId) {
        self.with_node(node, |e| e.disconnect(client));
        let n = &mut self.st_mut().nodes[node];
        n.asking.remove(&client);
        n.readonly.remove(&client);
        n.repl.woff.remove(&client);
        self.drain_node(node, None);
    }

    /// Runs one command on `node` for `client` at `now_ms`: a redirection if the node would not
    /// serve it, its reply otherwise.
    pub fn execute(&mut self, node: usize, client: ClientId, argv: &[&[u8]], now_ms: i64) -> Reply {
        self.tick(now_ms);
        if !self.st().nodes[node].up {
            return Reply::error(crate::error::NODE_DOWN);
        }
        let reply = self.with_node(node, |e| {
            let reply = e.execute(client, argv, now_ms);
            (reply, e.in_multi(client))
        });
        let (reply, in_multi) = reply;
        // ASKING lasts for the next command only (or until EXEC, inside a transaction).
        let asking = argv
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"asking"));
        if !asking && !in_multi {
            self.st_mut().nodes[node].asking.remove(&client);
        }
        if self.drain_node(node, Some(argv)) {
            let offset = self.st().nodes[node].repl.offset;
            self.st_mut().nodes[node].repl.woff.insert(client, offset);
        }
        if argv
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"publish"))
            && argv.len() == 3
            && !reply.is_error()
        {
            self.broadcast_publish(node, argv[1], argv[2]);
        }
        self.after_command(now_ms);
        reply
    }

    /// Convenience for tests and consoles: a command given as strings.
    pub fn run(&mut self, node: usize, client: ClientId, argv: &[&str], now_ms: i64) -> Reply {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        self.execute(node, client, &args, now_ms)
    }

    /// Replies that reached a client outside its own commands (served blocked commands, WAIT,
    /// pub/sub messages).
    pub fn take_output(&mut self, node: usize, client: ClientId) -> Vec<Reply> {
        self.with_node(node, |e| e.take_output(client))
    }

    /// Every (node, client) with replies waiting in its outbox.
    pub fn clients_with_output(&self) -> Vec<(usize, ClientId)> {
        let mut out = Vec::new();
        for (i, n) in self.st().nodes.iter().enumerate() {
            if let Some(e) = n.engine.as_ref() {
                out.extend(e.clients_with_output().into_iter().map(|c| (i, c)));
            }
        }
        out
    }

    /// Lets virtual time pass: replication, failure detection and elections, then each
    /// reachable node's cron (active expiry, blocked clients' timeouts).
    pub fn advance(&mut self, now_ms: i64) {
        self.tick(now_ms);
        for i in 0..self.len() {
            if !self.st().nodes[i].up {
                continue;
            }
            self.with_node(i, |e| e.advance(now_ms));
            self.drain_node(i, None);
        }
        self.after_command(now_ms);
    }

    /// The node stops answering, as if its process died or its network went away.
    pub fn fail_node(&mut self, node: usize, now_ms: i64) {
        self.tick(now_ms);
        let st = self.st_mut();
        if !st.nodes[node].up {
            return;
        }
        st.nodes[node].up = false;
        st.nodes[node].down_since = Some(now_ms);
        st.emit(ClusterEvent::NodeDown { node });
    }

    /// The node answers again, with the data it had. A master whose slots were taken over in
    /// the meantime comes back as a replica of the node that took them (and resynchronizes from
    /// it); a replica whose master changed follows the new one.
    pub fn recover_node(&mut self, node: usize, now_ms: i64) {
        self.tick(now_ms);
        let st = self.st_mut();
        if st.nodes[node].up {
            return;
        }
        st.nodes[node].up = true;
        st.nodes[node].down_since = None;
        st.nodes[node].failed = false;
        st.emit(ClusterEvent::NodeUp { node });
        st.update_state();
        if let Some(new_master) = self.replaced_by(node) {
            self.make_replica(node, new_master, now_ms);
        }
        self.after_command(now_ms);
    }

    /// Where a node that was away should go: the master now serving what it served.
    fn replaced_by(&self, node: usize) -> Option<usize> {
        let st = self.st();
        match st.nodes[node].master {
            Some(m) => {
                // A replica follows its master's successor if the master is a replica now.
                let mm = st.nodes[m].master?;
                Some(mm)
            }
            None => {
                if st.slot_count(node) > 0 {
                    return None;
                }
                // A master with no slots left: the one that won an election in its place.
                st.nodes
                    .iter()
                    .position(|n| n.master.is_none() && n.repl.promoted_from == Some(node))
            }
        }
    }

    /// Reads the events of node `node`'s engine: keeps its slot index, appends the write to its
    /// replication stream when it is a master with replicas, and records them for the UI.
    /// `command` is what ran (shown with the replication record). Returns whether a record was
    /// appended.
    fn drain_node(&mut self, node: usize, command: Option<&[&[u8]]>) -> bool {
        let st = self.st.as_deref_mut().expect("cluster state present");
        let n = &mut st.nodes[node];
        let Some(engine) = n.engine.as_mut() else {
            return false;
        };
        let events = engine.drain_events();
        if events.is_empty() {
            return false;
        }
        let replicating = n.master.is_none() && n.repl.active;
        index_events(
            &mut n.index,
            engine,
            &events[n.index_seen.min(events.len())..],
        );
        n.index_seen = 0;
        let mut changes = repl::ChangeSet::default();
        if replicating {
            for ev in &events {
                match ev {
                    Event::Keyspace { db: 0, key, op } => changes.touch(key, op),
                    Event::Expired { db: 0, key, .. } => changes.expire(key),
                    Event::Flushed { db: None | Some(0) } => changes.flush(),
                    _ => {}
                }
            }
        }
        let mut appended = false;
        if replicating && !changes.is_empty() {
            let record = changes.into_record(engine, command, st.now);
            st.nodes[node].repl.append(record.clone());
            if st.record_events {
                st.events.push(ClusterEvent::WriteQueued {
                    master: node,
                    offset: record.offset,
                    command: record.command,
                });
            }
            appended = true;
        }
        if st.record_events {
            st.events.extend(
                events
                    .into_iter()
                    .map(|event| ClusterEvent::Node { node, event }),
            );
        }
        appended
    }

    /// Redis carries PUBLISH to every node over the cluster bus, so a subscriber on any node
    /// hears a message published on any other.
    fn broadcast_publish(&mut self, from: usize, channel: &[u8], message: &[u8]) {
        for i in 0..self.len() {
            if i == from || !self.st().nodes[i].up {
                continue;
            }
            self.with_node(i, |e| e.publish_message(channel, message));
            self.drain_node(i, None);
        }
    }

    /// Everything that follows a command: the engines it touched besides its own, the cluster
    /// work it asked for, and clients left blocked on slots their node no longer serves.
    fn after_command(&mut self, now_ms: i64) {
        let touched = std::mem::take(&mut self.st_mut().touched);
        for (node, command) in touched {
            let argv: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
            self.drain_node(node, Some(&argv));
        }
        let pending = std::mem::take(&mut self.st_mut().pending);
        for p in pending {
            match p {
                Pending::Failover { replica, kind } => self.promote(replica, kind, now_ms),
                Pending::Replicate { node, master } => self.make_replica(node, master, now_ms),
            }
        }
        self.redirect_blocked_clients();
    }

    /// Time passes for the cluster itself: replicas receive the records due by now, failed
    /// nodes are flagged, elections are won.
    fn tick(&mut self, now_ms: i64) {
        self.st_mut().now = now_ms;
        self.replicate_due(now_ms);
        self.detect_failures(now_ms);
    }

    fn detect_failures(&mut self, now_ms: i64) {
        let timeout = self.st().node_timeout_ms;
        for node in 0..self.len() {
            let n = &self.st().nodes[node];
            let Some(since) = n.down_since else {
                continue;
            };
            if n.failed || now_ms < since.saturating_add(timeout) {
                continue;
            }
            let st = self.st_mut();
            st.nodes[node].failed = true;
            st.emit(ClusterEvent::NodeFailed { node });
            st.update_state();
            if st.nodes[node].master.is_none() && st.slot_count(node) > 0 {
                self.schedule_election(node, since.saturating_add(timeout));
            }
        }
        // Elections due by now: the best-ranked replica's comes first and wins.
        let mut due: Vec<(i64, usize)> = self
            .st()
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.election_at.filter(|&at| at <= now_ms).map(|at| (at, i)))
            .collect();
        due.sort();
        for (_, replica) in due {
            let st = self.st_mut();
            st.nodes[replica].election_at = None;
            let Some(m) = st.nodes[replica].master else {
                continue;
            };
            if st.nodes[m].failed && st.nodes[replica].up {
                self.promote(replica, FailoverKind::Automatic, now_ms);
            }
        }
    }

    /// Redis's replica delay before asking for votes: 500 ms, plus up to 500 ms at random, plus
    /// a second per replica with a better replication offset.
    fn schedule_election(&mut self, master: usize, failed_at: i64) {
        let st = self.st_mut();
        let replicas: Vec<usize> = st
            .replicas_of(master)
            .into_iter()
            .filter(|&r| st.nodes[r].up)
            .collect();
        for &r in &replicas {
            let mine = st.nodes[r].repl.applied;
            let rank = replicas
                .iter()
                .filter(|&&o| st.nodes[o].repl.applied > mine)
                .count() as i64;
            let at = failed_at + 500 + st.rng.below(500) as i64 + rank * 1000;
            st.nodes[r].election_at = Some(at);
            st.emit(ClusterEvent::ElectionScheduled {
                replica: r,
                master,
                at,
            });
        }
    }

    /// Clients blocked on keys of a slot their node no longer serves get -MOVED (or
    /// -CLUSTERDOWN), as Redis's `clusterRedirectBlockedClientIfNeeded` does from its cron.
    fn redirect_blocked_clients(&mut self) {
        for node in 0..self.len() {
            let blocked = self.st().nodes[node]
                .engine
                .as_ref()
                .is_some_and(|e| !e.blocked.by_key.is_empty());
            if blocked {
                self.with_node(node, |e| e.redirect_blocked_clients());
                self.drain_node(node, None);
            }
        }
    }
}
