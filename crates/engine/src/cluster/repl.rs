//! Asynchronous replication on the virtual clock, and failover.
//!
//! A master with replicas keeps a stream of records, each the effect of one write: the new
//! state of every key it touched (or its deletion), or a flush. Offsets count bytes of the
//! command as Redis would have propagated it, so they grow as Redis's `master_repl_offset` does.
//! A replica applies a record `repl_lag_ms` after the master wrote it, as long as both are up,
//! and acknowledges it at once; WAIT counts those acknowledgements.

use std::collections::{HashMap, VecDeque};

use crate::db::Db;
use crate::dict::Key;
use crate::event::Event;
use crate::object::Entry;
use crate::{ClientId, Engine, Reply};

use super::{Cluster, ClusterEvent, FailoverKind, LostWrite};

/// One write of a master's replication stream.
#[derive(Clone, Debug)]
pub struct ReplRecord {
    /// The master's replication offset once this record is counted.
    pub offset: i64,
    /// When the master ran the write.
    pub at: i64,
    /// The command as shown: what the client sent, or the DEL Redis propagates for an expiry
    /// or a MIGRATE.
    pub command: Vec<Vec<u8>>,
    pub(crate) changes: Vec<Change>,
}

impl ReplRecord {
    /// The keys the record sets or deletes (a flush names none).
    pub fn keys(&self) -> Vec<&[u8]> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                Change::Set { key, .. } | Change::Del { key, .. } => Some(key.as_slice()),
                Change::Flush => None,
            })
            .collect()
    }

    /// Whether the record empties the database before its keys.
    pub fn flushes(&self) -> bool {
        matches!(self.changes.first(), Some(Change::Flush))
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Change {
    /// Database 0 was emptied (FLUSHALL, FLUSHDB).
    Flush,
    /// The key now holds this entry; `op` is the keyspace event the master recorded.
    Set {
        key: Vec<u8>,
        entry: Entry,
        op: &'static str,
    },
    Del {
        key: Vec<u8>,
        op: &'static str,
    },
}

/// A node's replication state, as master and as replica.
#[derive(Clone, Debug)]
pub(crate) struct Repl {
    pub replid: String,
    /// As a master: the offset of the end of its stream (`master_repl_offset`).
    pub offset: i64,
    /// Records not yet applied by every replica.
    pub backlog: VecDeque<ReplRecord>,
    /// The master has had a replica, so it keeps a stream (Redis creates the backlog then).
    pub active: bool,
    /// As a replica: the offset it has applied and acknowledged.
    pub applied: i64,
    /// Each client's offset after its last write, which WAIT waits for.
    pub woff: HashMap<ClientId, i64>,
    /// The master this node replaced in a failover.
    pub promoted_from: Option<usize>,
    /// After a promotion: the old master's replication id and the offset where this node's
    /// history with it ends plus one (INFO's `master_replid2`, `second_repl_offset`).
    pub previous: Option<(String, i64)>,
}

impl Repl {
    pub fn new(seed: u64, index: usize) -> Repl {
        Repl {
            replid: replid(seed, index as u64),
            offset: 0,
            backlog: VecDeque::new(),
            active: false,
            applied: 0,
            woff: HashMap::new(),
            promoted_from: None,
            previous: None,
        }
    }

    /// Appends a record, giving it its offset.
    pub fn append(&mut self, mut record: ReplRecord) -> &ReplRecord {
        self.offset += propagated_len(&record.command);
        record.offset = self.offset;
        self.backlog.push_back(record);
        self.backlog.back().expect("just pushed")
    }
}

fn replid(seed: u64, salt: u64) -> String {
    let mut rng =
        crate::rng::Rng::new(seed ^ 0x7265_706c_6964 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut s = String::with_capacity(48);
    for _ in 0..3 {
        s.push_str(&format!("{:016x}", rng.next_u64()));
    }
    s.truncate(40);
    s
}

/// The bytes a command takes in the replication stream (its RESP encoding).
fn propagated_len(argv: &[Vec<u8>]) -> i64 {
    let digits = |n: usize| n.to_string().len() as i64;
    let mut len = 1 + digits(argv.len()) + 2;
    for a in argv {
        len += 1 + digits(a.len()) + 2 + a.len() as i64 + 2;
    }
    len
}

/// The keys one command changed on a master, in the order it first changed them.
#[derive(Default)]
pub(crate) struct ChangeSet {
    flush: bool,
    keys: Vec<(Vec<u8>, &'static str)>,
    /// Only expirations: Redis propagates them as DEL, whatever command found them.
    only_expired: bool,
    any: bool,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        !self.any
    }

    pub fn touch(&mut self, key: &[u8], op: &'static str) {
        self.any = true;
        self.only_expired = false;
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = op,
            None => self.keys.push((key.to_vec(), op)),
        }
    }

    pub fn expire(&mut self, key: &[u8]) {
        if !self.any {
            self.only_expired = true;
        }
        self.any = true;
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = "del",
            None => self.keys.push((key.to_vec(), "del")),
        }
    }

    pub fn flush(&mut self) {
        self.any = true;
        self.only_expired = false;
        self.flush = true;
        // Whatever happened to keys before the flush is wiped by it.
        self.keys.clear();
    }

    /// The record of these changes, with each key's state as it is now on the master.
    pub fn into_record(self, e: &Engine, command: Option<&[&[u8]]>, now: i64) -> ReplRecord {
        let mut changes = Vec::with_capacity(self.keys.len() + 1);
        if self.flush {
            changes.push(Change::Flush);
        }
        for (key, op) in &self.keys {
            match e.dbs[0].keys.get(key) {
                Some(entry) => changes.push(Change::Set {
                    key: key.clone(),
                    entry: entry.clone(),
                    op,
                }),
                None => changes.push(Change::Del {
                    key: key.clone(),
                    op: if matches!(*op, "del" | "expired" | "evicted" | "rename_from") {
                        op
                    } else {
                        "del"
                    },
                }),
            }
        }
        let del_of_keys = || {
            let mut argv = vec![b"DEL".to_vec()];
            argv.extend(self.keys.iter().map(|(k, _)| k.clone()));
            argv
        };
        let command = match command {
            _ if self.only_expired => del_of_keys(),
            // MIGRATE goes to replicas as a DEL of the keys that left.
            Some(c)
                if c.first()
                    .is_some_and(|a| a.eq_ignore_ascii_case(b"migrate")) =>
            {
                del_of_keys()
            }
            Some(c) => c.iter().map(|a| a.to_vec()).collect(),
            None => del_of_keys(),
        };
        ReplRecord {
            offset: 0,
            at: now,
            command,
            changes,
        }
    }
}

impl Engine {
    /// INFO's replication section for a cluster node (None outside a cluster).
    pub(crate) fn cluster_info_replication(&self) -> Option<Vec<String>> {
        let (st, me) = self.cluster_state()?;
        let node = &st.nodes[me];
        let mut lines = Vec::new();
        let (replid, offset, active) = match node.master {
            Some(m) => {
                let master = &st.nodes[m];
                let up = master.up;
                lines.push("role:slave".to_string());
                lines.push(format!("master_host:{}", master.host));
                lines.push(format!("master_port:{}", master.port));
                lines.push(format!(
                    "master_link_status:{}",
                    if up { "up" } else { "down" }
                ));
                lines.push(format!(
                    "master_last_io_seconds_ago:{}",
                    if up { 0 } else { -1 }
                ));
                lines.push("master_sync_in_progress:0".into());
                lines.push(format!("slave_read_repl_offset:{}", node.repl.applied));
                lines.push(format!("slave_repl_offset:{}", node.repl.applied));
                if let Some(since) = master.down_since {
                    lines.push(format!(
                        "master_link_down_since_seconds:{}",
                        (self.now - since).max(0) / 1000
                    ));
                }
                lines.push("slave_priority:100".into());
                lines.push("slave_read_only:1".into());
                lines.push("replica_announced:1".into());
                lines.push("connected_slaves:0".into());
                (master.repl.replid.clone(), node.repl.applied, true)
            }
            None => {
                lines.push("role:master".into());
                let replicas: Vec<usize> = st
                    .replicas_of(me)
                    .into_iter()
                    .filter(|&r| st.nodes[r].up)
                    .collect();
                lines.push(format!("connected_slaves:{}", replicas.len()));
                for (i, r) in replicas.into_iter().enumerate() {
                    let rn = &st.nodes[r];
                    lines.push(format!(
                        "slave{i}:ip={},port={},state=online,offset={},lag=0",
                        rn.host, rn.port, rn.repl.applied
                    ));
                }
                (node.repl.replid.clone(), node.repl.offset, node.repl.active)
            }
        };
        lines.push("master_failover_state:no-failover".into());
        lines.push(format!("master_replid:{replid}"));
        match (&node.repl.previous, node.master) {
            (Some((old, second)), None) => {
                lines.push(format!("master_replid2:{old}"));
                lines.push(format!("master_repl_offset:{offset}"));
                lines.push(format!("second_repl_offset:{second}"));
            }
            _ => {
                lines.push(format!("master_replid2:{}", "0".repeat(40)));
                lines.push(format!("master_repl_offset:{offset}"));
                lines.push("second_repl_offset:-1".into());
            }
        }
        lines.push(format!("repl_backlog_active:{}", u8::from(active)));
        lines.push("repl_backlog_size:1048576".into());
        lines.push(format!(
            "repl_backlog_first_byte_offset:{}",
            u8::from(active)
        ));
        lines.push(format!(
            "repl_backlog_histlen:{}",
            if active { offset } else { 0 }
        ));
        Some(lines)
    }

    /// A replica applies one record of its master's stream.
    pub(crate) fn apply_record(&mut self, record: &ReplRecord, now: i64) {
        self.now = now;
        for change in &record.changes {
            match change {
                Change::Flush => {
                    self.touch_all_watched_in_db(0, None);
                    self.dbs[0].clear();
                    self.emit(Event::Flushed { db: Some(0) });
                }
                Change::Set { key, entry, op } => {
                    self.dbs[0].put(Key::from(key.as_slice()), entry.clone());
                    self.notify(0, key, op);
                }
                Change::Del { key, op } => {
                    if self.dbs[0].remove(key).is_some() {
                        self.notify(0, key, op);
                    }
                }
            }
        }
        if !self.blocked.ready.is_empty() {
            self.serve_ready_keys();
        }
    }

    /// Full synchronization: database 0 becomes a copy of the master's.
    pub(crate) fn load_copy(&mut self, db: Db) {
        self.touch_all_watched_in_db(0, None);
        self.dbs[0] = db;
        self.emit(Event::Flushed { db: Some(0) });
    }

    /// A master turning into a replica answers every blocked client with an error and closes
    /// it, as Redis's `disconnectAllBlockedClients` does.
    pub(crate) fn unblock_all_for_role_change(&mut self) {
        let blocked: Vec<ClientId> = self
            .clients
            .values()
            .filter(|c| c.blocked.is_some())
            .map(|c| c.id)
            .collect();
        for client in blocked {
            self.unblock(
                client,
                Reply::error(crate::error::UNBLOCKED_ROLE_CHANGE),
                false,
            );
            if let Some(c) = self.clients.get_mut(&client) {
                c.close_after_reply = true;
            }
        }
    }
}

impl Cluster {
    /// Replicas receive the records of their masters that are due by `now`.
    pub(super) fn replicate_due(&mut self, now: i64) {
        for r in 0..self.len() {
            let st = self.st();
            let Some(m) = st.nodes[r].master else {
                continue;
            };
            if !st.nodes[r].up || !st.nodes[m].up {
                continue;
            }
            let lag = st.repl_lag_ms;
            let applied = st.nodes[r].repl.applied;
            let due: Vec<ReplRecord> = st.nodes[m]
                .repl
                .backlog
                .iter()
                .filter(|rec| rec.offset > applied)
                .take_while(|rec| rec.at.saturating_add(lag) <= now)
                .cloned()
                .collect();
            if due.is_empty() {
                continue;
            }
            self.apply_records(m, r, &due, now);
        }
    }

    fn apply_records(&mut self, m: usize, r: usize, records: &[ReplRecord], now: i64) {
        let lag = self.st().repl_lag_ms;
        let st = self.st_mut();
        let node = &mut st.nodes[r];
        let Some(engine) = node.engine.as_mut() else {
            return;
        };
        for rec in records {
            let at = rec.at.saturating_add(lag).min(now).max(engine.now);
            engine.apply_record(rec, at);
            node.repl.applied = rec.offset;
            if st.record_events {
                st.events.push(ClusterEvent::ReplicationApplied {
                    master: m,
                    replica: r,
                    offset: rec.offset,
                    command: rec.command.clone(),
                });
            }
        }
        self.drain_node(r, None);
        self.trim_backlog(m);
        self.wake_waiters(m);
    }

    /// Drops the records every replica has applied.
    fn trim_backlog(&mut self, m: usize) {
        let st = self.st_mut();
        let min = st
            .replicas_of(m)
            .into_iter()
            .map(|r| st.nodes[r].repl.applied)
            .min();
        let backlog = &mut st.nodes[m].repl.backlog;
        match min {
            Some(min) => {
                while backlog.front().is_some_and(|rec| rec.offset <= min) {
                    backlog.pop_front();
                }
            }
            None => backlog.clear(),
        }
    }

    /// Answers the master's clients blocked in WAIT whose replicas have now acknowledged enough.
    fn wake_waiters(&mut self, m: usize) {
        let waiting = self.st().nodes[m]
            .engine
            .as_ref()
            .is_some_and(|e| !e.blocked.waiting_acks.is_empty());
        if waiting && self.st().nodes[m].up {
            self.with_node(m, |e| e.wake_ack_waiters());
            self.drain_node(m, None);
        }
    }

    /// Makes `node` a replica of `master`: it gets a copy of the master's data and follows its
    /// stream from there.
    pub(super) fn make_replica(&mut self, node: usize, master: usize, now: i64) {
        if node == master {
            return;
        }
        let was_master = self.st().nodes[node].master.is_none();
        if was_master && self.st().nodes[node].up {
            self.with_node(node, |e| e.unblock_all_for_role_change());
        }
        let st = self.st_mut();
        if !st.nodes[master].repl.active {
            // Redis creates the backlog when the first replica connects, and its periodic PING
            // to replicas is the first thing in it.
            st.nodes[master].repl.active = true;
            st.nodes[master].repl.append(ReplRecord {
                offset: 0,
                at: now,
                command: vec![b"PING".to_vec()],
                changes: Vec::new(),
            });
        }
        let n = &mut st.nodes[node];
        n.master = Some(master);
        n.migrating.clear();
        n.importing.clear();
        n.election_at = None;
        n.repl.backlog.clear();
        n.repl.active = false;
        n.repl.promoted_from = None;
        n.repl.previous = None;
        st.emit(ClusterEvent::ReplicaOf { node, master });
        let db = st.nodes[master].engine.as_ref().map(|e| e.dbs[0].clone());
        let offset = st.nodes[master].repl.offset;
        st.nodes[node].repl.applied = offset;
        if let (Some(db), Some(engine)) = (db, st.nodes[node].engine.as_mut()) {
            engine.config.active_expire_enabled = false;
            engine.load_copy(db);
        }
        st.emit(ClusterEvent::FullSync {
            master,
            replica: node,
            offset,
        });
        self.drain_node(node, None);
        self.trim_backlog(master);
    }

    /// A replica takes over its master's slots.
    pub(super) fn promote(&mut self, replica: usize, kind: FailoverKind, now: i64) {
        let Some(m) = self.st().nodes[replica].master else {
            return;
        };
        if kind == FailoverKind::Manual {
            // The master stops accepting writes until the replica has caught up: everything
            // in flight arrives before the switch.
            let applied = self.st().nodes[replica].repl.applied;
            let pending: Vec<ReplRecord> = self.st().nodes[m]
                .repl
                .backlog
                .iter()
                .filter(|rec| rec.offset > applied)
                .cloned()
                .collect();
            if !pending.is_empty() {
                let lag = self.st().repl_lag_ms;
                let catch_up: Vec<ReplRecord> = pending
                    .into_iter()
                    .map(|mut rec| {
                        rec.at = now - lag;
                        rec
                    })
                    .collect();
                self.apply_records(m, replica, &catch_up, now);
            }
        }
        let st = self.st_mut();
        let applied = st.nodes[replica].repl.applied;
        let lost: Vec<LostWrite> = st.nodes[m]
            .repl
            .backlog
            .iter()
            .filter(|rec| rec.offset > applied && !rec.changes.is_empty())
            .map(|rec| LostWrite {
                master: m,
                offset: rec.offset,
                at: rec.at,
                command: rec.command.clone(),
            })
            .collect();
        st.current_epoch += 1;
        let epoch = st.current_epoch;
        let slots = st.ranges(m);
        for s in st.slots.iter_mut() {
            if *s == Some(m) {
                *s = Some(replica);
            }
        }
        st.nodes[m].migrating.clear();
        st.nodes[m].importing.clear();
        let n = &mut st.nodes[replica];
        n.master = None;
        n.config_epoch = epoch;
        n.election_at = None;
        n.repl.offset = applied;
        n.repl.backlog.clear();
        n.repl.active = false;
        n.repl.promoted_from = Some(m);
        let old_replid = std::mem::replace(&mut n.repl.replid, replid(epoch, replica as u64));
        n.repl.previous = Some((old_replid, applied + 1));
        if let Some(e) = n.engine.as_mut() {
            e.config.active_expire_enabled = true;
        }
        for other in st.replicas_of(m) {
            st.nodes[other].election_at = None;
        }
        if !slots.is_empty() {
            st.emit(ClusterEvent::SlotsUnassigned {
                node: m,
                slots: slots.clone(),
            });
            st.emit(ClusterEvent::SlotsAssigned {
                node: replica,
                slots,
            });
        }
        st.emit(ClusterEvent::Failover {
            old_master: m,
            new_master: replica,
            kind,
            epoch,
        });
        if !lost.is_empty() {
            st.lost.extend(lost.iter().cloned());
            st.emit(ClusterEvent::WritesLost {
                old_master: m,
                new_master: replica,
                writes: lost,
            });
        }
        st.update_state();
        let others: Vec<usize> = st
            .replicas_of(m)
            .into_iter()
            .filter(|&r| r != replica)
            .collect();
        for r in others {
            self.make_replica(r, replica, now);
        }
        // A reachable old master learns the new configuration and follows the winner; one
        // that is down does so when it comes back.
        if self.st().nodes[m].up {
            self.make_replica(m, replica, now);
        } else {
            self.st_mut().nodes[m].repl.backlog.clear();
        }
    }
}
