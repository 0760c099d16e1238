//! Streams: entries ordered by ID, and consumer groups with their pending entries lists.
//!
//! Redis stores a stream as a radix tree of listpacks ("nodes"): each node starts at the ID of
//! the first entry put into it (its master ID), takes entries until it reaches
//! `stream-node-max-bytes` or `stream-node-max-entries`, and a deleted entry stays in its node
//! as a tombstone until the whole node goes. Two things users can see depend on that layout:
//! approximate trimming (`MAXLEN ~`, `MINID ~`) removes only whole nodes, and XINFO STREAM
//! reports the radix tree's key and node counts. So the live entries are kept in an ordered map
//! for reading, and next to them a small model of the nodes: master ID, live and deleted counts,
//! the ID of the last entry ever put in the node, and the exact byte size its listpack would
//! have, which decides where Redis starts a new node.

use std::collections::btree_map::Range;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::numfmt::parse_i64;

/// A stream entry ID: milliseconds and a sequence number, ordered as a pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The following ID, or `None` after the last possible one.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The preceding ID, or `None` before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The ID as the 128-bit big-endian key Redis uses in its radix trees.
    fn key_bytes(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry's field-value pairs, packed in one allocation: the number of strings, then each
/// string as a length and its bytes (lengths are little-endian u32).
#[derive(Clone, PartialEq, Eq)]
pub struct Fields(Box<[u8]>);

impl Fields {
    /// `items` alternates field and value.
    pub fn new(items: &[&[u8]]) -> Fields {
        let size = 4 + items.iter().map(|s| 4 + s.len()).sum::<usize>();
        let mut buf = Vec::with_capacity(size);
        buf.extend_from_slice(&(items.len() as u32).to_le_bytes());
        for s in items {
            buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
            buf.extend_from_slice(s);
        }
        Fields(buf.into_boxed_slice())
    }

    /// Number of strings (twice the number of fields).
    pub fn len(&self) -> usize {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fields and values, alternating.
    pub fn iter(&self) -> FieldsIter<'_> {
        FieldsIter {
            buf: &self.0[4..],
            left: self.len(),
        }
    }

    /// Bytes held by the packed form.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

pub struct FieldsIter<'a> {
    buf: &'a [u8],
    left: usize,
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let n = u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        let (s, rest) = self.buf[4..].split_at(n);
        self.buf = rest;
        self.left -= 1;
        Some(s)
    }
}

/// Where Redis closes a node and opens a new one (`stream-node-max-bytes` and
/// `stream-node-max-entries`; 0 means no limit of that kind).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: i64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis never lets a listpack grow past 1 GiB, whatever the configuration says.
const LISTPACK_MAX_SIZE: u64 = 1 << 30;
/// Listpack header (total bytes, element count) plus its end marker.
const LISTPACK_EMPTY: u64 = 6 + 1;
/// Entry flags Redis writes: the entry repeats the node's master fields.
const FLAG_SAMEFIELDS: i64 = 2;

/// Bytes a listpack element holding the integer `v` takes, back-length included.
fn lp_int_size(v: i64) -> u64 {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    enc + 1
}

/// Bytes a listpack element holding `s` takes: strings that read as integers are stored as
/// integers.
fn lp_str_size(s: &[u8]) -> u64 {
    if let Some(v) = parse_i64(s) {
        return lp_int_size(v);
    }
    let len = s.len() as u64;
    let enc = if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    };
    let backlen = match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    enc + backlen
}

/// One listpack of Redis's radix tree, as far as anything observable depends on it.
#[derive(Clone, Debug, PartialEq)]
struct Node {
    live: u64,
    deleted: u64,
    /// The field names of the node's first entry, which later entries may share.
    master_fields: Vec<Box<[u8]>>,
    /// Listpack bytes other than the live and deleted counters (whose size changes with them).
    body_bytes: u64,
    /// The last entry put into the node, deleted or not.
    last: StreamId,
}

impl Node {
    fn bytes(&self) -> u64 {
        self.body_bytes + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64)
    }
}

/// How a stream is to be trimmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimStrategy {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Copy, Debug)]
pub struct Trim {
    pub strategy: TrimStrategy,
    /// `~`: only whole nodes are removed.
    pub approx: bool,
    /// At most this many entries are removed (0: no limit).
    pub limit: u64,
}

/// Why an ID cannot be used for a new entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddIdError {
    /// Not greater than the last ID.
    NotGreater,
    /// `<ms>-*` with the last ID at that millisecond's last sequence number. Redis reports this
    /// one as "Elements are too large to be stored".
    SeqExhausted,
}

/// A message delivered to a consumer and not yet acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Nack {
    /// When it was last delivered (ms of the engine's clock).
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Arc<[u8]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    /// Last time the consumer did anything (read, claim, or was looked up by name).
    pub seen_time: i64,
    /// Last time the consumer was handed a message (Redis 7.2 reports it; 7.0 does not).
    pub active_time: i64,
    /// The IDs pending for this consumer; their details are in the group's PEL.
    pub pending: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Last ID delivered to any consumer of the group.
    pub last_id: StreamId,
    /// How many entries the group has read, or -1 when that is not known.
    pub entries_read: i64,
    /// The group's pending entries list.
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

/// The `entries_read` value meaning "unknown".
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer's shared name, if it exists.
    pub fn consumer_name(&self, name: &[u8]) -> Option<Arc<[u8]>> {
        self.consumers.get_key_value(name).map(|(k, _)| k.clone())
    }

    /// The consumer's shared name, marking it seen now (Redis's default consumer lookup).
    pub fn see_consumer(&mut self, name: &[u8], now: i64) -> Option<Arc<[u8]>> {
        let key = self.consumer_name(name)?;
        if let Some(c) = self.consumers.get_mut(&key) {
            c.seen_time = now;
        }
        Some(key)
    }

    /// Creates a consumer; `None` when one of that name exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> Option<Arc<[u8]>> {
        if self.consumers.contains_key(name) {
            return None;
        }
        let key: Arc<[u8]> = Arc::from(name);
        self.consumers.insert(
            key.clone(),
            Consumer {
                seen_time: now,
                active_time: -1,
                pending: BTreeSet::new(),
            },
        );
        Some(key)
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pel.remove(id);
        }
        Some(consumer.pending.len())
    }

    /// Records that `id` was delivered to `consumer` by a read of new messages: a fresh pending
    /// entry, or an existing one (after XGROUP SETID moved the group back) handed over to this
    /// consumer with its count started again.
    pub fn deliver(&mut self, id: StreamId, consumer: &Arc<[u8]>, now: i64) {
        if let Some(nack) = self.pel.get_mut(&id) {
            let previous = std::mem::replace(&mut nack.consumer, consumer.clone());
            nack.delivery_time = now;
            nack.delivery_count = 1;
            if let Some(c) = self.consumers.get_mut(&previous) {
                c.pending.remove(&id);
            }
        } else {
            self.pel.insert(
                id,
                Nack {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: consumer.clone(),
                },
            );
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pending.insert(id);
        }
    }

    /// Removes `id` from the PEL and from its consumer's; false when it was not pending.
    pub fn remove_pending(&mut self, id: StreamId) -> bool {
        let Some(nack) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&nack.consumer) {
            c.pending.remove(&id);
        }
        true
    }

    /// Moves the pending entry `id` (created if `id` is not pending yet) to `consumer`.
    pub fn assign(&mut self, id: StreamId, consumer: &Arc<[u8]>) -> &mut Nack {
        let previous = self.pel.get(&id).map(|n| n.consumer.clone());
        match previous {
            Some(prev) if &prev == consumer => {}
            Some(prev) => {
                if let Some(c) = self.consumers.get_mut(&prev) {
                    c.pending.remove(&id);
                }
                if let Some(c) = self.consumers.get_mut(consumer) {
                    c.pending.insert(id);
                }
            }
            None => {
                if let Some(c) = self.consumers.get_mut(consumer) {
                    c.pending.insert(id);
                }
            }
        }
        let nack = self.pel.entry(id).or_insert_with(|| Nack {
            delivery_time: 0,
            delivery_count: 1,
            consumer: consumer.clone(),
        });
        nack.consumer = consumer.clone();
        nack
    }
}

/// XCLAIM's options, resolved.
#[derive(Clone, Copy, Debug)]
pub struct ClaimOptions {
    pub min_idle: i64,
    /// The delivery time the claimed entries get.
    pub delivery_time: i64,
    /// RETRYCOUNT: the delivery count the claimed entries get.
    pub retry_count: Option<u64>,
    pub force: bool,
    pub justid: bool,
    /// LASTID: the group's last ID moves up to this one.
    pub last_id: StreamId,
}

/// What a claim did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claimed {
    pub claimed: Vec<StreamId>,
    /// Pending entries removed because their stream entry no longer exists.
    pub dropped: Vec<StreamId>,
    /// The claiming consumer did not exist and was created.
    pub created: bool,
    /// XAUTOCLAIM's cursor.
    pub next: StreamId,
}

/// The consumer a claim goes to, created if needed (Redis looks it up, marking it seen, only
/// once the first entry qualifies).
fn claiming_consumer(g: &mut Group, name: &[u8], now: i64, created: &mut bool) -> Arc<[u8]> {
    if let Some(key) = g.see_consumer(name, now) {
        return key;
    }
    *created = true;
    g.create_consumer(name, now)
        .unwrap_or_else(|| Arc::from(name))
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    entries: BTreeMap<StreamId, Fields>,
    nodes: BTreeMap<StreamId, Node>,
    /// The greatest ID ever added (or set with XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID when it was last worked out (0-0 when empty).
    pub first_id: StreamId,
    /// The greatest ID ever deleted by XDEL (or set with XSETID).
    pub max_deleted_id: StreamId,
    /// How many entries were ever added.
    pub entries_added: u64,
    /// Consumer groups by name, in Redis's (byte-wise) order.
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    pub fn get(&self, id: StreamId) -> Option<&Fields> {
        self.entries.get(&id)
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.entries.contains_key(&id)
    }

    /// The last live entry's ID (0-0 when empty).
    pub fn last_live_id(&self) -> StreamId {
        self.entries
            .last_key_value()
            .map_or(StreamId::MIN, |(k, _)| *k)
    }

    /// The first live entry's ID, if any.
    pub fn first_live_id(&self) -> Option<StreamId> {
        self.entries.first_key_value().map(|(k, _)| *k)
    }

    /// Live entries with `start <= id <= end`, in order.
    pub fn range(&self, start: StreamId, end: StreamId) -> Range<'_, StreamId, Fields> {
        use std::ops::Bound::{Excluded, Included};
        if start <= end {
            self.entries.range((Included(start), Included(end)))
        } else {
            // BTreeMap::range panics on an inverted range; an empty one stands in for it.
            self.entries.range((Included(start), Excluded(start)))
        }
    }

    /// The ID an XADD would use. `requested` is the ID the caller gave with whether its sequence
    /// was given (`<ms>-*` leaves it to the stream); `None` is `*`, which takes the time `now`
    /// unless the last ID is at or after it, in which case the sequence goes on from the last ID
    /// (so IDs stay increasing when the clock goes back).
    pub fn next_id(
        &self,
        requested: Option<(StreamId, bool)>,
        now: i64,
    ) -> Result<StreamId, AddIdError> {
        let id = match requested {
            Some((id, true)) => id,
            Some((id, false)) => {
                if self.last_id.ms == id.ms {
                    if self.last_id.seq == u64::MAX {
                        return Err(AddIdError::SeqExhausted);
                    }
                    StreamId::new(id.ms, self.last_id.seq + 1)
                } else {
                    id
                }
            }
            None => {
                let ms = now.max(0) as u64;
                if ms > self.last_id.ms {
                    StreamId::new(ms, 0)
                } else {
                    // Only the last possible ID has no successor, and XADD refuses to add to a
                    // stream that reached it before asking for an ID.
                    self.last_id.next().unwrap_or(StreamId::MIN)
                }
            }
        };
        if id <= self.last_id {
            return Err(AddIdError::NotGreater);
        }
        Ok(id)
    }

    /// Appends an entry; `items` alternates field and value, and `id` is greater than
    /// `last_id` (see `next_id`).
    pub fn append(&mut self, id: StreamId, items: &[&[u8]], limits: NodeLimits) {
        let numfields = (items.len() / 2) as i64;
        let total_len: u64 = items.iter().map(|s| s.len() as u64).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let fields = || items.iter().step_by(2);
        let values = || items.iter().skip(1).step_by(2);
        let tail = self.nodes.last_entry().filter(|node| {
            let n = node.get();
            let full_bytes = n.bytes() + total_len >= max_bytes;
            let full_entries =
                limits.max_entries != 0 && (n.live + n.deleted) as i64 >= limits.max_entries;
            !full_bytes && !full_entries
        });
        match tail {
            Some(mut slot) => {
                let master = *slot.key();
                let node = slot.get_mut();
                let same = node.master_fields.len() as i64 == numfields
                    && node
                        .master_fields
                        .iter()
                        .zip(fields())
                        .all(|(a, b)| **a == **b);
                let mut bytes = lp_int_size(if same { FLAG_SAMEFIELDS } else { 0 })
                    + lp_int_size(id.ms.wrapping_sub(master.ms) as i64)
                    + lp_int_size(id.seq.wrapping_sub(master.seq) as i64);
                let mut parts = numfields + 3;
                if !same {
                    bytes += lp_int_size(numfields) + fields().map(|f| lp_str_size(f)).sum::<u64>();
                    parts += numfields + 1;
                }
                bytes += values().map(|v| lp_str_size(v)).sum::<u64>() + lp_int_size(parts);
                node.body_bytes += bytes;
                node.live += 1;
                node.last = id;
            }
            None => {
                // The master entry (counters, field names, terminator), then the entry itself,
                // which shares the master's fields by construction.
                let body = LISTPACK_EMPTY
                    + lp_int_size(numfields)
                    + fields().map(|f| lp_str_size(f)).sum::<u64>()
                    + lp_int_size(0)
                    + lp_int_size(FLAG_SAMEFIELDS)
                    + 2 * lp_int_size(0)
                    + values().map(|v| lp_str_size(v)).sum::<u64>()
                    + lp_int_size(numfields + 3);
                self.nodes.insert(
                    id,
                    Node {
                        live: 1,
                        deleted: 0,
                        master_fields: fields().map(|f| Box::<[u8]>::from(*f)).collect(),
                        body_bytes: body,
                        last: id,
                    },
                );
            }
        }
        self.entries.insert(id, Fields::new(items));
        self.entries_added += 1;
        self.last_id = id;
        if self.entries.len() == 1 {
            self.first_id = id;
        }
    }

    /// Marks one live entry deleted in its node (the node goes when it was its last live entry).
    fn remove_entry(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        let master = self.nodes.range(..=id).next_back().map(|(k, _)| *k);
        if let Some(master) = master {
            let remove = match self.nodes.get_mut(&master) {
                Some(node) if node.live <= 1 => true,
                Some(node) => {
                    node.live -= 1;
                    node.deleted += 1;
                    false
                }
                None => false,
            };
            if remove {
                self.nodes.remove(&master);
            }
        }
        true
    }

    /// XDEL: deletes the given IDs, returning how many existed.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_deleted = false;
        for &id in ids {
            if self.remove_entry(id) {
                if id == self.first_id {
                    first_deleted = true;
                }
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.entries.is_empty() {
                self.first_id = StreamId::MIN;
            } else if first_deleted {
                self.first_id = self.first_live_id().unwrap_or_default();
            }
        }
        deleted
    }

    /// Trims from the oldest entries, node by node, as Redis does; returns how many entries
    /// were removed.
    pub fn trim(&mut self, t: &Trim) -> u64 {
        let mut deleted: u64 = 0;
        loop {
            if let TrimStrategy::MaxLen(max) = t.strategy {
                if self.len() as u64 <= max {
                    break;
                }
            }
            let Some((&master, node)) = self.nodes.first_key_value() else {
                break;
            };
            let live = node.live;
            if t.limit != 0 && deleted + live > t.limit {
                break;
            }
            let remove_node = match t.strategy {
                TrimStrategy::MaxLen(max) => self.len() as u64 - live >= max,
                TrimStrategy::MinId(min) => node.last < min,
            };
            if remove_node {
                // The first node holds the smallest live entries.
                for _ in 0..live {
                    self.entries.pop_first();
                }
                self.nodes.remove(&master);
                deleted += live;
                continue;
            }
            if t.approx {
                break;
            }
            let last = node.last;
            let mut marked = 0;
            while let Some((&id, _)) = self.entries.first_key_value() {
                if id > last {
                    break;
                }
                let stop = match t.strategy {
                    TrimStrategy::MaxLen(max) => self.len() as u64 <= max,
                    TrimStrategy::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                self.entries.pop_first();
                marked += 1;
            }
            if let Some(node) = self.nodes.get_mut(&master) {
                node.live -= marked;
                node.deleted += marked;
            }
            deleted += marked;
            break;
        }
        if self.entries.is_empty() {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.first_live_id().unwrap_or_default();
        }
        deleted
    }

    /// Number of keys in Redis's radix tree: one per node.
    pub fn radix_tree_keys(&self) -> usize {
        self.nodes.len()
    }

    /// Number of nodes Redis's radix tree has for these keys. A radix tree with compressed
    /// chains has a node at the root, at every point where keys branch, right after each branch
    /// and at every key's end; insertion and deletion keep it in that form.
    pub fn radix_tree_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.key_bytes()).collect();
        if keys.is_empty() {
            return 1;
        }
        subtree_nodes(&keys, 0)
    }

    /// Listpack sizes of the nodes, for the memory estimate.
    pub fn node_bytes(&self) -> impl DoubleEndedIterator<Item = u64> + ExactSizeIterator + '_ {
        self.nodes.values().map(Node::bytes)
    }

    /// Keys and nodes of the radix tree Redis would build for a set of stream IDs (a consumer
    /// group's or a consumer's pending entries), for the memory estimate.
    pub fn id_tree_size<'a>(ids: impl Iterator<Item = &'a StreamId>) -> (usize, usize) {
        let keys: Vec<[u8; 16]> = ids.map(|id| id.key_bytes()).collect();
        if keys.is_empty() {
            return (0, 1);
        }
        (keys.len(), subtree_nodes(&keys, 0))
    }

    /// True when a deleted entry may lie between `start` and `end` (Redis only knows the
    /// greatest deleted ID, so this can be a false positive but never a false negative).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.entries.is_empty() || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// How many entries were added up to and including `id`, when that can be known without
    /// counting; `ENTRIES_READ_UNKNOWN` otherwise.
    pub fn entries_before(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        let added = self.entries_added as i64;
        if self.entries.is_empty() && id <= self.last_id {
            return added;
        }
        if id == self.last_id {
            return added;
        }
        if id > self.last_id {
            return ENTRIES_READ_UNKNOWN;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            let len = self.len() as i64;
            if id < self.first_id {
                return added - len;
            }
            if id == self.first_id {
                return added - len + 1;
            }
        }
        ENTRIES_READ_UNKNOWN
    }

    /// How many entries the group has not read yet, when that can be known.
    pub fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        if group.entries_read != ENTRIES_READ_UNKNOWN
            && !self.range_has_tombstones(group.last_id, StreamId::MAX)
        {
            return Some(added - group.entries_read);
        }
        let read = self.entries_before(group.last_id);
        (read != ENTRIES_READ_UNKNOWN).then(|| added - read)
    }

    /// The group's read counter after it is handed the entry `id` (greater than its last ID).
    pub fn entries_read_after(&self, group_entries_read: i64, id: StreamId) -> i64 {
        if group_entries_read != ENTRIES_READ_UNKNOWN
            && !self.range_has_tombstones(id, StreamId::MAX)
        {
            group_entries_read + 1
        } else if self.entries_added != 0 {
            self.entries_before(id)
        } else {
            group_entries_read
        }
    }

    /// XREADGROUP `>`: hands the group's consumer the live entries from `start` on (at most
    /// `count`, 0 for all), moving the group's last ID and read counter along and, unless
    /// `noack`, recording each entry as pending for the consumer. Returns the IDs handed out.
    pub fn deliver_new(
        &mut self,
        group: &[u8],
        consumer: &Arc<[u8]>,
        start: StreamId,
        count: usize,
        noack: bool,
        now: i64,
    ) -> Vec<StreamId> {
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let (mut last, mut read) = (g.last_id, g.entries_read);
        let take = if count == 0 { usize::MAX } else { count };
        let mut ids = Vec::new();
        for (&id, _) in self.range(start, StreamId::MAX).take(take) {
            if id > last {
                read = self.entries_read_after(read, id);
                last = id;
            }
            ids.push(id);
        }
        let Some(g) = self.groups.get_mut(group) else {
            return ids;
        };
        g.last_id = last;
        g.entries_read = read;
        if !noack {
            for &id in &ids {
                g.deliver(id, consumer, now);
            }
        }
        if !ids.is_empty() {
            if let Some(c) = g.consumers.get_mut(consumer) {
                c.active_time = now;
            }
        }
        ids
    }

    /// XREADGROUP with an ID: the consumer's own pending entries from `start` on (at most
    /// `count`, 0 for all). Those still in the stream count as delivered again; the caller
    /// answers the others with a nil body.
    pub fn deliver_history(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        start: StreamId,
        count: usize,
        now: i64,
    ) -> Vec<StreamId> {
        let Some(g) = self.groups.get_mut(group) else {
            return Vec::new();
        };
        let Some(c) = g.consumers.get(consumer) else {
            return Vec::new();
        };
        let take = if count == 0 { usize::MAX } else { count };
        let ids: Vec<StreamId> = c.pending.range(start..).take(take).copied().collect();
        for id in &ids {
            if self.entries.contains_key(id) {
                if let Some(nack) = g.pel.get_mut(id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            }
        }
        ids
    }

    /// XCLAIM: gives `consumer` the pending entries among `ids` that have been idle at least
    /// `opts.min_idle` ms (or, with `force`, entries not pending at all). IDs whose entry was
    /// deleted from the stream are dropped from the PEL instead.
    pub fn claim(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        ids: &[StreamId],
        opts: &ClaimOptions,
        now: i64,
    ) -> Claimed {
        let mut out = Claimed::default();
        let Some(g) = self.groups.get_mut(group) else {
            return out;
        };
        if opts.last_id > g.last_id {
            g.last_id = opts.last_id;
        }
        let mut owner: Option<Arc<[u8]>> = None;
        for &id in ids {
            if !self.entries.contains_key(&id) {
                if g.remove_pending(id) {
                    out.dropped.push(id);
                }
                continue;
            }
            match g.pel.get(&id) {
                Some(nack) => {
                    if opts.min_idle != 0 && now.wrapping_sub(nack.delivery_time) < opts.min_idle {
                        continue;
                    }
                }
                None if opts.force => {}
                None => continue,
            }
            let who = owner
                .get_or_insert_with(|| claiming_consumer(g, consumer, now, &mut out.created))
                .clone();
            let nack = g.assign(id, &who);
            nack.delivery_time = opts.delivery_time;
            if let Some(n) = opts.retry_count {
                nack.delivery_count = n;
            } else if !opts.justid {
                nack.delivery_count += 1;
            }
            out.claimed.push(id);
        }
        if !out.claimed.is_empty() {
            if let Some(c) = owner.and_then(|o| g.consumers.get_mut(&o)) {
                c.active_time = now;
            }
        }
        out
    }

    /// XAUTOCLAIM: walks the group's PEL from `start`, giving `consumer` up to `count` entries
    /// idle for at least `min_idle` ms, looking at no more than ten times `count` entries.
    /// Pending entries whose stream entry is gone are dropped (and count toward `count`).
    /// `next` is where the next call should start (0-0 when the walk reached the end).
    #[allow(clippy::too_many_arguments)]
    pub fn auto_claim(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        min_idle: i64,
        start: StreamId,
        count: u64,
        justid: bool,
        now: i64,
    ) -> Claimed {
        let mut out = Claimed::default();
        let Some(g) = self.groups.get_mut(group) else {
            return out;
        };
        let mut attempts = count.saturating_mul(10);
        let mut count = count;
        let mut cursor = Some(start);
        let mut owner: Option<Arc<[u8]>> = None;
        while attempts > 0 && count > 0 {
            attempts -= 1;
            let Some(from) = cursor else { break };
            let Some((&id, nack)) = g.pel.range(from..).next() else {
                cursor = None;
                break;
            };
            cursor = id.next();
            if !self.entries.contains_key(&id) {
                g.remove_pending(id);
                out.dropped.push(id);
                count -= 1;
                continue;
            }
            if min_idle != 0 && now.wrapping_sub(nack.delivery_time) < min_idle {
                continue;
            }
            let who = owner
                .get_or_insert_with(|| claiming_consumer(g, consumer, now, &mut out.created))
                .clone();
            let nack = g.assign(id, &who);
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
            out.claimed.push(id);
            count -= 1;
        }
        out.next = cursor
            .and_then(|from| g.pel.range(from..).next().map(|(id, _)| *id))
            .unwrap_or(StreamId::MIN);
        if !out.claimed.is_empty() {
            if let Some(c) = owner.and_then(|o| g.consumers.get_mut(&o)) {
                c.active_time = now;
            }
        }
        out
    }

    /// Total number of pending entries over all groups, for the memory estimate.
    pub fn pending_total(&self) -> usize {
        self.groups.values().map(|g| g.pel.len()).sum()
    }

    /// Bytes of live entry data, for the memory estimate.
    pub fn entry_bytes(&self) -> usize {
        self.entries.values().map(Fields::heap_bytes).sum()
    }
}

/// Nodes of the radix tree below (and including) the node at depth `depth`, for sorted keys
/// that all share their first `depth` bytes.
fn subtree_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    if keys.len() == 1 {
        // A compressed chain down to the key's own node, unless we are already there.
        return if depth == 16 { 1 } else { 2 };
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    let branch = (depth..16).find(|&i| first[i] != last[i]).unwrap_or(16);
    // The node at `depth` is the branching node itself, or a compressed chain leading to it.
    let mut n = if branch > depth { 2 } else { 1 };
    let mut start = 0;
    while start < keys.len() {
        let byte = keys[start][branch];
        let end = start
            + keys[start..]
                .iter()
                .take_while(|k| k[branch] == byte)
                .count();
        n += subtree_nodes(&keys[start..end], branch + 1);
        start = end;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn add(s: &mut Stream, ms: u64, seq: u64) {
        s.append(id(ms, seq), &[b"f", b"v"], NodeLimits::default());
    }

    #[test]
    fn ids_are_monotonic_when_the_clock_goes_back() {
        let mut s = Stream::new();
        let a = s.next_id(None, 1000).unwrap();
        assert_eq!(a, id(1000, 0));
        s.append(a, &[b"f", b"v"], NodeLimits::default());
        let b = s.next_id(None, 900).unwrap();
        assert_eq!(b, id(1000, 1));
        s.append(b, &[b"f", b"v"], NodeLimits::default());
        assert_eq!(s.next_id(None, 1000).unwrap(), id(1000, 2));
        assert_eq!(s.next_id(None, 1001).unwrap(), id(1001, 0));
        assert_eq!(
            s.next_id(Some((id(1000, 0), false)), 0).unwrap(),
            id(1000, 2)
        );
        assert_eq!(
            s.next_id(Some((id(999, 0), false)), 0),
            Err(AddIdError::NotGreater)
        );
        assert_eq!(
            s.next_id(Some((id(1000, 1), true)), 0),
            Err(AddIdError::NotGreater)
        );
    }

    #[test]
    fn nodes_close_at_the_entry_limit() {
        let mut s = Stream::new();
        for i in 1..=250 {
            add(&mut s, i, 0);
        }
        assert_eq!(s.radix_tree_keys(), 3);
        let t = Trim {
            strategy: TrimStrategy::MaxLen(120),
            approx: true,
            limit: 10_000,
        };
        // Only the first node (100 entries) can go whole: 150 stay.
        assert_eq!(s.trim(&t), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.first_id, id(101, 0));
        let exact = Trim {
            strategy: TrimStrategy::MaxLen(120),
            approx: false,
            limit: 0,
        };
        assert_eq!(s.trim(&exact), 30);
        assert_eq!(s.first_live_id(), Some(id(131, 0)));
        // The partly trimmed node keeps its tombstones and its place in the tree.
        assert_eq!(s.radix_tree_keys(), 2);
    }

    #[test]
    fn deleting_the_last_live_entry_of_a_node_removes_it() {
        let mut s = Stream::new();
        add(&mut s, 1, 0);
        add(&mut s, 2, 0);
        assert_eq!(s.radix_tree_nodes(), 2);
        assert_eq!(s.delete(&[id(1, 0)]), 1);
        assert_eq!(s.radix_tree_keys(), 1);
        assert_eq!(s.first_id, id(2, 0));
        assert_eq!(s.delete(&[id(2, 0), id(2, 0)]), 1);
        assert_eq!(s.radix_tree_keys(), 0);
        assert_eq!(s.radix_tree_nodes(), 1);
        assert_eq!(s.max_deleted_id, id(2, 0));
        assert_eq!(s.first_id, StreamId::MIN);
    }

    #[test]
    fn radix_node_count_follows_key_sharing() {
        let keys = [id(1, 0).key_bytes(), id(1, 1).key_bytes()];
        // Root chain to the branch at the last byte, two leaves.
        assert_eq!(subtree_nodes(&keys, 0), 4);
        let keys = [id(1, 0).key_bytes(), id(2, 0).key_bytes()];
        // Root chain, branch at byte 7, then a chain and a leaf under each side.
        assert_eq!(subtree_nodes(&keys, 0), 6);
        let keys = [
            id(1, 0).key_bytes(),
            id(1, 5).key_bytes(),
            id(2, 0).key_bytes(),
        ];
        // Root chain, branch at byte 7, then under 1: chain to branch at byte 15, two leaves;
        // under 2: chain to its leaf.
        assert_eq!(subtree_nodes(&keys, 0), 1 + 1 + (1 + 1 + 2) + 2);
    }

    #[test]
    fn pel_bookkeeping_follows_the_consumer() {
        let mut g = Group::new(StreamId::MIN, 0);
        let alice = g.create_consumer(b"alice", 0).unwrap();
        let bob = g.create_consumer(b"bob", 0).unwrap();
        assert!(g.create_consumer(b"bob", 0).is_none());
        g.deliver(id(1, 0), &alice, 10);
        g.deliver(id(2, 0), &alice, 10);
        assert_eq!(g.consumers[&alice].pending.len(), 2);
        // A redelivery to someone else moves the entry and restarts its count.
        g.deliver(id(1, 0), &bob, 20);
        assert_eq!(g.pel[&id(1, 0)].consumer, bob);
        assert_eq!(g.pel[&id(1, 0)].delivery_count, 1);
        assert_eq!(g.consumers[&alice].pending.len(), 1);
        assert_eq!(g.consumers[&bob].pending.len(), 1);
        assert!(g.remove_pending(id(2, 0)));
        assert!(!g.remove_pending(id(2, 0)));
        assert!(g.consumers[&alice].pending.is_empty());
        assert_eq!(g.delete_consumer(b"bob"), Some(1));
        assert!(g.pel.is_empty());
    }

    #[test]
    fn listpack_sizes() {
        assert_eq!(lp_int_size(0), 2);
        assert_eq!(lp_int_size(128), 3);
        assert_eq!(lp_int_size(-1), 3);
        assert_eq!(lp_str_size(b"f"), 3);
        assert_eq!(lp_str_size(b"12"), 2);
        assert_eq!(lp_str_size(&[b'x'; 63]), 65);
        assert_eq!(lp_str_size(&[b'x'; 64]), 67);
        assert_eq!(lp_str_size(&[b'x'; 200]), 204);
    }
}
