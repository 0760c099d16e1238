//! The cluster views' data: pure functions from a `Cluster`'s public accessors and the
//! `ClusterEvent`s it reported (DESIGN.md invariant 5), so that the playground's cluster mode and
//! a guided lesson with a cluster draw the same pictures from the same inputs.
//!
//! What needs history (redirects, the load per node, the event log) is kept in
//! `ClusterRecords`, which is fed the drained events (`absorb`) and the commands that ran
//! (`record_command`); everything else is read from the cluster as it is now.

use std::collections::{BTreeMap, VecDeque};

use cachelab_engine::cluster::{Cluster, ClusterEvent, FailoverKind, Redirect, SLOTS};
use cachelab_engine::{keyspec, table, Event};

/// Bytes as text where they are printable UTF-8, else redis-cli's quoting.
pub fn show(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => cachelab_engine::reply::cli_quote(b),
    }
}

/// Redirects kept for the picture of arrows between nodes.
pub const REDIRECTS_KEPT: usize = 8;
/// Commands kept for the load per node (older ones are outside any window shown).
pub const COMMANDS_KEPT: usize = 2000;
/// Lines kept in the cluster's event log.
pub const LOG_KEPT: usize = 300;
/// The window of virtual time over which the load per node is counted.
pub const HOT_WINDOW_MS: i64 = 10_000;
/// A node glows when it served more than half of the recent commands, and at least this many:
/// with keys spread over the slots each of three masters takes about a third.
pub const HOT_MIN_COMMANDS: usize = 10;

/// A run of consecutive slots with the same owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotSegment {
    pub first: u16,
    pub last: u16,
    pub owner: Option<usize>,
}

/// A slot in the middle of a migration, as the two nodes see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotMove {
    pub slot: u16,
    /// The node that has it MIGRATING (None if only the importing side is set).
    pub from: Option<usize>,
    /// The node that has it IMPORTING (None if only the migrating side is set).
    pub to: Option<usize>,
}

/// The 16384 slots coloured by owner, with the ranges as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotStrip {
    pub segments: Vec<SlotSegment>,
    pub moves: Vec<SlotMove>,
    /// Each master's slots as text (`0-5460`), with their count, in node order.
    pub ranges: Vec<(usize, String, usize)>,
    /// Slots no node serves, as text (empty when there are none).
    pub unassigned: String,
}

/// Ranges as Redis writes them in CLUSTER NODES: `0-5460 10923`.
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn slot_count(ranges: &[(u16, u16)]) -> usize {
    ranges
        .iter()
        .map(|(a, b)| usize::from(*b) - usize::from(*a) + 1)
        .sum()
}

pub fn slot_strip(c: &Cluster) -> SlotStrip {
    let mut segments: Vec<SlotSegment> = Vec::new();
    for s in 0..SLOTS as u16 {
        let owner = c.slot_owner(s);
        match segments.last_mut() {
            Some(seg) if seg.owner == owner => seg.last = s,
            _ => segments.push(SlotSegment {
                first: s,
                last: s,
                owner,
            }),
        }
    }
    let unassigned: Vec<(u16, u16)> = segments
        .iter()
        .filter(|s| s.owner.is_none())
        .map(|s| (s.first, s.last))
        .collect();
    let mut moves: BTreeMap<u16, SlotMove> = BTreeMap::new();
    let mut ranges = Vec::new();
    for (i, n) in c.nodes().into_iter().enumerate() {
        for (slot, to) in &n.migrating {
            let m = moves.entry(*slot).or_insert(SlotMove {
                slot: *slot,
                from: None,
                to: None,
            });
            m.from = Some(i);
            m.to = m.to.or(Some(*to));
        }
        for (slot, from) in &n.importing {
            let m = moves.entry(*slot).or_insert(SlotMove {
                slot: *slot,
                from: None,
                to: None,
            });
            m.to = Some(i);
            m.from = m.from.or(Some(*from));
        }
        if n.master.is_none() && !n.slots.is_empty() {
            ranges.push((i, ranges_text(&n.slots), slot_count(&n.slots)));
        }
    }
    SlotStrip {
        segments,
        moves: moves.into_values().collect(),
        ranges,
        unassigned: ranges_text(&unassigned),
    }
}

/// One node as the nodes view shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeStat {
    pub node: usize,
    pub addr: String,
    pub id: String,
    /// The master it replicates, for a replica.
    pub master: Option<usize>,
    pub up: bool,
    pub failed: bool,
    pub keys: usize,
    pub used_memory: u64,
    pub slots: usize,
    pub ranges: String,
    pub epoch: u64,
}

/// Keys and memory per node, from each node's engine through its read-only accessors.
pub fn node_stats(c: &Cluster) -> Vec<NodeStat> {
    c.nodes()
        .into_iter()
        .enumerate()
        .map(|(i, n)| NodeStat {
            node: i,
            addr: format!("{}:{}", n.host, n.port),
            id: n.id,
            master: n.master,
            up: n.up,
            failed: n.failed,
            keys: c.engine(i).dbsize(0),
            used_memory: c.engine(i).used_memory(),
            slots: slot_count(&n.slots),
            ranges: ranges_text(&n.slots),
            epoch: n.config_epoch,
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectKind {
    Moved,
    Ask,
}

/// A redirect from one node to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectRecord {
    pub at: i64,
    pub from: usize,
    pub to: usize,
    pub slot: u16,
    pub kind: RedirectKind,
    pub command: String,
}

/// A command a node served (not one it redirected), with the keys it named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandRecord {
    pub at: i64,
    pub node: usize,
    pub keys: Vec<Vec<u8>>,
}

impl CommandRecord {
    /// The keys are found as the node found them: by the command table's key positions.
    pub fn new(at: i64, node: usize, argv: &[&[u8]]) -> CommandRecord {
        let keys = table::lookup(argv)
            .map(|spec| {
                keyspec::routing_positions(spec, argv)
                    .into_iter()
                    .filter_map(|i| argv.get(i).map(|k| k.to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        CommandRecord { at, node, keys }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Write,
    Redirect,
    Replication,
    Failure,
    Slots,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub at: i64,
    pub kind: LogKind,
    pub text: String,
}

/// What the cluster views remember of the events and commands they were given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterRecords {
    pub redirects: VecDeque<RedirectRecord>,
    pub commands: VecDeque<CommandRecord>,
    pub log: VecDeque<LogLine>,
}

/// `host:port` of every node, for sentences.
pub fn addrs(c: &Cluster) -> Vec<String> {
    (0..c.len()).map(|i| c.addr(i)).collect()
}

fn argv_text(argv: &[Vec<u8>]) -> String {
    argv.iter().map(|a| show(a)).collect::<Vec<_>>().join(" ")
}

/// A sentence for an event, or None for the ones the log leaves out (a node's internal
/// bookkeeping: clients connecting, expire-cycle reports).
pub fn describe(ev: &ClusterEvent, addr: &[String]) -> Option<(LogKind, String)> {
    let a = |i: &usize| addr.get(*i).cloned().unwrap_or_else(|| format!("node {i}"));
    let ranges = |r: &[(u16, u16)]| ranges_text(r);
    Some(match ev {
        ClusterEvent::Node {
            node,
            event: Event::Keyspace { key, op, .. },
        } => (LogKind::Write, format!("{}: {op} {}", a(node), show(key))),
        ClusterEvent::Node {
            node,
            event: Event::Expired { key, .. },
        } => (
            LogKind::Write,
            format!("{}: expired {}", a(node), show(key)),
        ),
        ClusterEvent::Node { .. } => return None,
        ClusterEvent::Redirected {
            node,
            command,
            redirect,
            ..
        } => {
            let what = match redirect {
                Redirect::Moved { slot, to } => format!("MOVED slot {slot} to {}", a(to)),
                Redirect::Ask { slot, to } => format!("ASK slot {slot} at {}", a(to)),
                Redirect::CrossSlot => "CROSSSLOT: keys in different slots".into(),
                Redirect::TryAgain { slot } => format!("TRYAGAIN: slot {slot} is migrating"),
                Redirect::Unbound { slot } => format!("CLUSTERDOWN: slot {slot} not served"),
                Redirect::Down => "CLUSTERDOWN: the cluster is down".into(),
                Redirect::ReadOnlyReplica => "READONLY: a write sent to a replica".into(),
            };
            (
                LogKind::Redirect,
                format!(
                    "{} refused {}: {what}",
                    a(node),
                    command.to_ascii_uppercase()
                ),
            )
        }
        ClusterEvent::WriteQueued {
            master,
            offset,
            command,
        } => (
            LogKind::Replication,
            format!(
                "{} queued '{}' for its replicas (offset {offset})",
                a(master),
                argv_text(command)
            ),
        ),
        ClusterEvent::ReplicationApplied {
            replica,
            offset,
            command,
            ..
        } => (
            LogKind::Replication,
            format!(
                "{} applied '{}' (offset {offset})",
                a(replica),
                argv_text(command)
            ),
        ),
        ClusterEvent::FullSync {
            master,
            replica,
            offset,
        } => (
            LogKind::Replication,
            format!(
                "{} loaded a full copy of {} (offset {offset})",
                a(replica),
                a(master)
            ),
        ),
        ClusterEvent::SlotsAssigned { node, slots } => (
            LogKind::Slots,
            format!("{} now serves slots {}", a(node), ranges(slots)),
        ),
        ClusterEvent::SlotsUnassigned { node, slots } => (
            LogKind::Slots,
            format!("{} no longer serves slots {}", a(node), ranges(slots)),
        ),
        ClusterEvent::SlotMigrating { node, slot, to } => (
            LogKind::Slots,
            match to {
                Some(t) => format!("{}: slot {slot} MIGRATING to {}", a(node), a(t)),
                None => format!("{}: slot {slot} STABLE", a(node)),
            },
        ),
        ClusterEvent::SlotImporting { node, slot, from } => (
            LogKind::Slots,
            match from {
                Some(f) => format!("{}: slot {slot} IMPORTING from {}", a(node), a(f)),
                None => format!("{}: slot {slot} STABLE", a(node)),
            },
        ),
        ClusterEvent::KeysMigrated {
            from,
            to,
            keys,
            copy,
        } => (
            LogKind::Slots,
            format!(
                "{} {} {} to {}",
                a(from),
                if *copy { "copied" } else { "migrated" },
                keys.iter().map(|k| show(k)).collect::<Vec<_>>().join(", "),
                a(to)
            ),
        ),
        ClusterEvent::NodeDown { node } => {
            (LogKind::Failure, format!("{} stopped answering", a(node)))
        }
        ClusterEvent::NodeFailed { node } => (
            LogKind::Failure,
            format!("{} is marked FAIL (node timeout passed)", a(node)),
        ),
        ClusterEvent::NodeUp { node } => (LogKind::Failure, format!("{} is back", a(node))),
        ClusterEvent::ElectionScheduled {
            replica,
            master,
            at,
        } => (
            LogKind::Failure,
            format!(
                "{} will ask for votes to replace {} at t={}",
                a(replica),
                a(master),
                crate::model::events::fmt_time(*at)
            ),
        ),
        ClusterEvent::Failover {
            old_master,
            new_master,
            kind,
            epoch,
        } => {
            let how = match kind {
                FailoverKind::Manual => "manual failover",
                FailoverKind::Force => "forced failover",
                FailoverKind::Takeover => "takeover",
                FailoverKind::Automatic => "won the election",
            };
            (
                LogKind::Failure,
                format!(
                    "{} replaced {} as master ({how}, epoch {epoch})",
                    a(new_master),
                    a(old_master)
                ),
            )
        }
        ClusterEvent::WritesLost {
            old_master,
            new_master,
            writes,
        } => (
            LogKind::Failure,
            format!(
                "{} acknowledged write(s) of {} never reached {}: lost",
                writes.len(),
                a(old_master),
                a(new_master)
            ),
        ),
        ClusterEvent::ReplicaOf { node, master } => (
            LogKind::Replication,
            format!("{} is now a replica of {}", a(node), a(master)),
        ),
        ClusterEvent::StateChanged { ok } => (
            LogKind::Failure,
            if *ok {
                "cluster_state:ok — every slot is served".to_string()
            } else {
                "cluster_state:fail — some slots are not served".to_string()
            },
        ),
    })
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T, max: usize) {
    q.push_back(item);
    while q.len() > max {
        q.pop_front();
    }
}

impl ClusterRecords {
    /// Takes in events drained from the cluster at virtual time `now`.
    pub fn absorb(&mut self, events: &[ClusterEvent], now: i64, addr: &[String]) {
        for ev in events {
            if let ClusterEvent::Redirected {
                node,
                command,
                redirect: Redirect::Moved { slot, to } | Redirect::Ask { slot, to },
                ..
            } = ev
            {
                let kind = if matches!(
                    ev,
                    ClusterEvent::Redirected {
                        redirect: Redirect::Ask { .. },
                        ..
                    }
                ) {
                    RedirectKind::Ask
                } else {
                    RedirectKind::Moved
                };
                push_bounded(
                    &mut self.redirects,
                    RedirectRecord {
                        at: now,
                        from: *node,
                        to: *to,
                        slot: *slot,
                        kind,
                        command: command.to_ascii_uppercase(),
                    },
                    REDIRECTS_KEPT,
                );
            }
            if let Some((kind, text)) = describe(ev, addr) {
                push_bounded(
                    &mut self.log,
                    LogLine {
                        at: now,
                        kind,
                        text,
                    },
                    LOG_KEPT,
                );
            }
        }
    }

    /// The records of a whole history at once: each event with the time it came, and the
    /// commands the nodes served, oldest first. A guided lesson derives them afresh from its
    /// player at every step, so that stepping back shows them as they were.
    pub fn from_history<'a>(
        events: impl IntoIterator<Item = (i64, &'a ClusterEvent)>,
        commands: impl IntoIterator<Item = CommandRecord>,
        addr: &[String],
    ) -> ClusterRecords {
        let mut records = ClusterRecords::default();
        for (at, ev) in events {
            records.absorb(std::slice::from_ref(ev), at, addr);
        }
        for c in commands {
            records.record_command(c);
        }
        records
    }

    /// Notes a command that `node` served (for the load per node).
    pub fn record_command(&mut self, record: CommandRecord) {
        push_bounded(&mut self.commands, record, COMMANDS_KEPT);
    }
}

/// One node's share of the recent commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLoad {
    pub node: usize,
    pub commands: usize,
    /// The key it was asked for most, and how often.
    pub hottest: Option<(Vec<u8>, usize)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotView {
    pub window_ms: i64,
    pub total: usize,
    /// Every node, in order.
    pub loads: Vec<NodeLoad>,
    /// The node taking most of the load, when it takes more than half (and enough to matter).
    pub hot: Option<usize>,
}

/// Commands per node over the last `window_ms` of virtual time before `now`.
pub fn hot_view(records: &ClusterRecords, nodes: usize, now: i64, window_ms: i64) -> HotView {
    let mut per_key: Vec<BTreeMap<&[u8], usize>> = vec![BTreeMap::new(); nodes];
    let mut counts = vec![0usize; nodes];
    for r in records
        .commands
        .iter()
        .filter(|r| r.at > now - window_ms && r.at <= now && r.node < nodes)
    {
        counts[r.node] += 1;
        for k in &r.keys {
            *per_key[r.node].entry(k.as_slice()).or_default() += 1;
        }
    }
    let total: usize = counts.iter().sum();
    let loads: Vec<NodeLoad> = (0..nodes)
        .map(|n| NodeLoad {
            node: n,
            commands: counts[n],
            // Ties go to the smallest key, so the picture does not flicker between equals.
            hottest: per_key[n]
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(k, c)| (k.to_vec(), *c)),
        })
        .collect();
    let hot = loads
        .iter()
        .max_by_key(|l| l.commands)
        .filter(|l| l.commands >= HOT_MIN_COMMANDS && l.commands * 2 > total)
        .map(|l| l.node);
    HotView {
        window_ms,
        total,
        loads,
        hot,
    }
}

/// A replica's progress along its master's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaProgress {
    pub node: usize,
    pub applied: i64,
    /// Bytes of the stream it has not applied yet.
    pub behind: i64,
    pub up: bool,
}

/// A record on its way to the replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    pub offset: i64,
    pub at: i64,
    /// When it reaches the replicas (its time plus the replication lag).
    pub due: i64,
    pub command: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplStream {
    pub master: usize,
    pub up: bool,
    /// The offset the master has written (queued) up to.
    pub offset: i64,
    pub replicas: Vec<ReplicaProgress>,
    pub in_flight: Vec<InFlight>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostLine {
    pub master: usize,
    pub offset: i64,
    pub at: i64,
    pub command: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplView {
    pub lag_ms: i64,
    /// One per master that has replicas.
    pub streams: Vec<ReplStream>,
    /// Acknowledged writes that a failover lost, oldest first.
    pub lost: Vec<LostLine>,
}

pub fn repl_view(c: &Cluster) -> ReplView {
    let nodes = c.nodes();
    let lag_ms = c.repl_lag_ms();
    let streams = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.master.is_none())
        .filter_map(|(m, n)| {
            let replicas: Vec<ReplicaProgress> = nodes
                .iter()
                .enumerate()
                .filter(|(_, r)| r.master == Some(m))
                .map(|(r, info)| ReplicaProgress {
                    node: r,
                    applied: info.repl_offset,
                    behind: (n.repl_offset - info.repl_offset).max(0),
                    up: info.up,
                })
                .collect();
            if replicas.is_empty() {
                return None;
            }
            let in_flight = c
                .backlog(m)
                .into_iter()
                .map(|r| InFlight {
                    offset: r.offset,
                    at: r.at,
                    due: r.at + lag_ms,
                    command: argv_text(&r.command),
                })
                .collect();
            Some(ReplStream {
                master: m,
                up: n.up,
                offset: n.repl_offset,
                replicas,
                in_flight,
            })
        })
        .collect();
    let lost = c
        .lost_writes()
        .iter()
        .map(|w| LostLine {
            master: w.master,
            offset: w.offset,
            at: w.at,
            command: argv_text(&w.command),
        })
        .collect();
    ReplView {
        lag_ms,
        streams,
        lost,
    }
}
