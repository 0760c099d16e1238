//! How much memory the engine reports using, the way Redis's allocator would count it.
//!
//! This is an estimate, not a measurement: the engine's own Rust structures are laid out
//! differently from Redis's, and what INFO and eviction must reflect is what Redis would use for
//! the same data. Each key is charged what Redis allocates for it (a dict entry, the key's sds
//! string, the value object, an entry in the expires table when it has a TTL), with every
//! allocation rounded up to jemalloc's size classes; each table is charged its bucket array; the
//! server itself a fixed start-up amount. Everything that asks "how much memory" goes through
//! `Engine::used_memory` or `Engine::memory_report`, so a finer model can replace this one in
//! one place.

use crate::object::{Entry, RString, Value, SHARED_INTEGERS};
use crate::Engine;

/// What a fresh Redis 7.0 reports as `used_memory_startup` with 16 databases.
pub const STARTUP_BYTES: u64 = 876_152;
/// What one connected client costs: the client structure and its 16 KiB reply buffer.
pub const CLIENT_BYTES: u64 = 20_512;
/// Pointer-sized things in Redis's structures.
const DICT_ENTRY: u64 = 24;
const BUCKET: u64 = 8;
const ROBJ: u64 = 16;
/// Redis's `stream` struct and a consumer group's (`streamCG` with its two empty radix trees).
const STREAM_STRUCT: u64 = 96;
const STREAM_GROUP: u64 = 128;
/// Radix tree nodes per stream node, roughly: the leaf and a share of the branches above it.
const RAX_NODE_SHARE: u64 = 64;

/// The parts INFO memory shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Everything: `used_memory`.
    pub used: u64,
    /// The server before any data or clients: `used_memory_startup`.
    pub startup: u64,
    /// Bookkeeping that is not data: start-up, clients, dict entries and buckets
    /// (`used_memory_overhead`).
    pub overhead: u64,
    /// `used - overhead`: `used_memory_dataset`.
    pub dataset: u64,
}

/// Rounds an allocation request up to the jemalloc size class that serves it (16-byte quantum,
/// then four classes per doubling).
pub fn alloc_size(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let pow = 64 - (n - 1).leading_zeros(); // smallest p with 2^p >= n
    let step = 1u64 << (pow - 3);
    n.div_ceil(step) * step
}

/// Bytes Redis allocates for an sds string of `len` bytes created at its exact size: the header
/// grows with the length (1, 3, 5 or 9 bytes), plus the terminating zero.
pub fn sds_alloc(len: usize) -> u64 {
    let len = len as u64;
    let header = match len {
        0..=31 => 1,
        32..=255 => 3,
        256..=65535 => 5,
        _ => 9,
    };
    alloc_size(header + len + 1)
}

/// Bytes the value object of `entry` takes: the robj and what hangs from it.
pub fn value_bytes(value: &Value) -> u64 {
    match value {
        Value::Str(RString::Int(v)) => {
            if (0..SHARED_INTEGERS).contains(v) {
                0
            } else {
                alloc_size(ROBJ)
            }
        }
        // The object and an sdshdr8 string share one allocation.
        Value::Str(RString::Embstr(b)) => alloc_size(ROBJ + 3 + b.len() as u64 + 1),
        Value::Str(RString::Raw(b)) => alloc_size(ROBJ) + sds_alloc(b.len()),
        // Aggregates are costed coarsely, per element, until each encoding has its own model.
        Value::List(l) => alloc_size(ROBJ) + 16 * l.len() as u64,
        Value::Hash(h) => alloc_size(ROBJ) + 32 * h.len() as u64,
        Value::Set(s) => alloc_size(ROBJ) + 16 * s.len() as u64,
        Value::ZSet(z) => alloc_size(ROBJ) + 32 * z.len() as u64,
        // The stream struct, each node's listpack (whose size the stream models) and its share
        // of the radix tree, and for consumer groups about 64 bytes per pending entry (the
        // NACK and its keys in the group's and the consumer's trees).
        Value::Stream(s) => {
            alloc_size(ROBJ)
                + alloc_size(STREAM_STRUCT)
                + s.node_bytes()
                    .map(|b| alloc_size(b) + RAX_NODE_SHARE)
                    .sum::<u64>()
                + s.groups.len() as u64 * alloc_size(STREAM_GROUP)
                + 64 * s.pending_total() as u64
        }
    }
}

/// Bytes one key costs in the keyspace: dict entry, key string, value, and its expires entry.
pub fn entry_bytes(key: &[u8], entry: &Entry) -> u64 {
    let mut n = alloc_size(DICT_ENTRY) + sds_alloc(key.len()) + value_bytes(&entry.value);
    if entry.expire_at.is_some() {
        n += alloc_size(DICT_ENTRY);
    }
    n
}

impl Engine {
    /// `used_memory`: what Redis would have allocated for the same data and clients.
    pub fn used_memory(&self) -> u64 {
        self.memory_report().used
    }

    pub fn memory_report(&self) -> MemoryReport {
        let clients = self.clients.len() as u64 * CLIENT_BYTES;
        let mut data = 0u64;
        let mut tables = 0u64;
        let mut bookkeeping = 0u64;
        for db in &self.dbs {
            tables += (db.keys.slots() + db.expires.slots()) as u64 * BUCKET;
            for (key, entry) in db.keys.iter() {
                data += entry_bytes(key, entry);
            }
            // Redis's getMemoryOverheadData charges dict entries and robj headers as overhead.
            bookkeeping +=
                db.keys.len() as u64 * (DICT_ENTRY + ROBJ) + db.expires.len() as u64 * DICT_ENTRY;
        }
        let used = STARTUP_BYTES + clients + tables + data;
        let overhead = (STARTUP_BYTES + clients + tables + bookkeeping).min(used);
        MemoryReport {
            used,
            startup: STARTUP_BYTES,
            overhead,
            dataset: used - overhead,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn jemalloc_size_classes() {
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(24), 32);
        assert_eq!(alloc_size(129), 160);
        assert_eq!(alloc_size(160), 160);
        assert_eq!(alloc_size(161), 192);
        assert_eq!(alloc_size(1025), 1280);
    }

    #[test]
    fn memory_grows_with_data_and_shrinks_back() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        let empty = e.used_memory();
        assert_eq!(empty, STARTUP_BYTES + CLIENT_BYTES);
        e.run(c, &["SET", "k", &"x".repeat(1000)], 0);
        let one = e.used_memory();
        assert!(one > empty + 1000, "{one} vs {empty}");
        e.run(c, &["FLUSHALL"], 0);
        let report = e.memory_report();
        assert_eq!(report.used, report.overhead + report.dataset);
        assert!(report.used < one);
    }
}
