//! A chained hash table keyed by byte strings, shaped like Redis's `dict`.
//!
//! Why not `std::collections::HashMap`: three behaviours the playground must reproduce depend on
//! the table's buckets, which std hides.
//!
//! - SCAN's cursor is Redis's reverse-binary bucket cursor. Because it walks the bucket index
//!   from its high bits down, a key that is present for the whole of a scan is returned at least
//!   once even when the table grows or shrinks between calls, and the cursor stays a plain integer
//!   that a client can hold for as long as it likes.
//! - The active expire cycle walks the `expires` table bucket by bucket with a cursor of its own,
//!   and counts the buckets it visits (Redis stops after 20 empty buckets per wanted key).
//! - RANDOMKEY and eviction sampling pick a random non-empty bucket, then a random entry in its
//!   chain, which is what makes Redis's sampling slightly non-uniform.
//!
//! Entries live in a slab (`nodes`) and chains are linked by index, so a table of a million keys
//! is a bucket vector and a few hundred slab chunks, not a million boxes. The slab grows by
//! whole chunks of `CHUNK` slots (its first chunk grows as a vector does, so a small table stays
//! small): a vector that doubled would leave up to half of its slots allocated and unused, and
//! copy every entry each time it grew. The table doubles when it holds as many entries as
//! buckets and halves when it falls under 10% full, as Redis's does; it rehashes at once rather
//! than incrementally (the engine never runs a command on a half-moved table, so no cursor can
//! observe the difference).
//!
//! The hash is seeded from the engine's seed, so bucket order, and with it SCAN order and random
//! picks, are the same on every run with the same seed.

const NIL: u32 = u32::MAX;
const INITIAL_BUCKETS: usize = 4;
/// Below this fill percentage the table shrinks (Redis's HASHTABLE_MIN_FILL).
const MIN_FILL_PERCENT: usize = 10;

/// log2 of the slots in each slab chunk after the first.
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

mod key;

pub use key::Key;

/// An entry's place in a `Dict`, from `Dict::position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position(u32);

#[derive(Clone, Debug)]
struct Node<V> {
    key: Key,
    /// The low 32 bits of the key's hash: all that picks a bucket, since the slab's indices
    /// (and so the table's size) are 32-bit; kept so that a rehash need not hash keys again.
    hash: u32,
    next: u32,
    value: V,
}

/// The slab: slot `i` is `chunks[i >> CHUNK_BITS][i % CHUNK]`.
#[derive(Clone, Debug)]
struct Slab<V> {
    chunks: Vec<Vec<Slot<V>>>,
    len: usize,
}

impl<V> Slab<V> {
    fn new() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: u32) -> &Slot<V> {
        let i = i as usize;
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }

    fn get_mut(&mut self, i: u32) -> &mut Slot<V> {
        let i = i as usize;
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }

    /// Appends a slot and returns its index.
    fn push(&mut self, slot: Slot<V>) -> u32 {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(slot),
            _ => {
                // The first chunk starts empty and doubles like any vector; later ones are
                // allocated whole, once.
                let mut chunk = if self.chunks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHUNK)
                };
                chunk.push(slot);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
        (self.len - 1) as u32
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot<V>> {
        self.chunks.iter_mut().flatten()
    }

    fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }
}

#[derive(Clone, Debug)]
enum Slot<V> {
    Used(Node<V>),
    Free { next_free: u32 },
}

// What a slot costs: a key of the keyspace (`Entry`), of the `expires` table and of a set (`()`),
// of a hash (`Box<[u8]>` values). `Key`'s niche keeps `Free` from adding a tag word.
#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<Slot<crate::object::Entry>>() == 80);
    assert!(size_of::<Slot<()>>() == 24);
    assert!(size_of::<Slot<Box<[u8]>>>() == 40);
};
#[cfg(target_pointer_width = "32")]
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<Slot<crate::object::Entry>>() == 80);
    assert!(size_of::<Slot<()>>() == 24);
    assert!(size_of::<Slot<Box<[u8]>>>() == 32);
};

#[derive(Clone, Debug)]
pub struct Dict<V> {
    buckets: Vec<u32>,
    nodes: Slab<V>,
    free_head: u32,
    len: usize,
    seed: u64,
    /// The slot last handed out for a change (`at_mut`, `insert_absent`). A command usually
    /// changes a key and then has it re-costed, or reads it again, through a `&mut` lookup of
    /// the same key: checking this slot's key first saves hashing and walking the chain. It is
    /// only a guess, checked against the key before use, so nothing needs to keep it current.
    hint: u32,
}

/// A seeded 64-bit hash over bytes: 8-byte words folded with a multiply-rotate, finished with
/// MurmurHash3's fmix64 so that every input bit reaches the low bits that pick a bucket.
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(K).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf))
            .wrapping_mul(K)
            .rotate_left(31);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// `a == b` for byte strings, with keys' usual lengths (up to 32 bytes) compared as two
/// overlapping words each instead of through a call to `memcmp`: a lookup compares the key it
/// finds with the one it was given, and that call was a good part of a lookup's instructions.
/// Up to three bytes (command names such as GET and SET, short keys) are compared one by one.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w4 = |s: &[u8], i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let w8 = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let w16 = |s: &[u8], i: usize| u128::from_le_bytes(s[i..i + 16].try_into().expect("16 bytes"));
    match n {
        0 => true,
        // The first, middle and last bytes are every byte of a string this short.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=15 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        16..=32 => w16(a, 0) == w16(b, 0) && w16(a, n - 16) == w16(b, n - 16),
        _ => a == b,
    }
}

/// Reads, for every (table, key) of `lookups`, what a lookup of the key reads (its bucket, the
/// nodes of its chain up to the one with the key's hash, that node's key, and through `touch`
/// its value, since a node can span two cache lines), one step at a time across all of them.
/// The reads of one step do not depend on each other, so their cache misses overlap, where
/// lookups made one after another wait for each miss in turn; the lookups that follow then
/// find those lines in cache. Changes nothing. Meant for the keys of a batch of pipelined
/// commands (Valkey prefetches a batch's keys for the same reason).
///
/// When a node has the hash of the key looked up, `found` gets the lookup's index, the node's
/// key and its value, so that a caller can warm what the value leads to without a lookup of its
/// own. The caller compares the keys when it wants the value: one that has no use for it pays
/// nothing.
pub fn warm_lookups<'d, V>(
    lookups: &[(&'d Dict<V>, &[u8])],
    touch: impl Fn(&V) -> u64,
    mut found: impl FnMut(usize, &'d [u8], &'d V),
) {
    const STEP: usize = 16;
    // A table is at most one entry per bucket before it doubles, so a present key is the first
    // or second node of its chain about nine times in ten; later nodes are left to the lookup.
    const CHAIN_STEPS: usize = 3;
    let mut touched = 0usize;
    for (b, batch) in lookups.chunks(STEP).enumerate() {
        let mut hashes = [0u32; STEP];
        let mut next = [NIL; STEP];
        for ((next, hash), (d, key)) in next.iter_mut().zip(&mut hashes).zip(batch) {
            if !d.buckets.is_empty() {
                *hash = hash_bytes(d.seed, key) as u32;
                *next = d.buckets[*hash as usize & d.mask()];
            }
        }
        let mut nodes: [Option<&'d Node<V>>; STEP] = [None; STEP];
        for _ in 0..CHAIN_STEPS {
            let mut more = false;
            for (((node, next), hash), (d, _)) in
                nodes.iter_mut().zip(&mut next).zip(&hashes).zip(batch)
            {
                if *next != NIL {
                    let n = d.node(*next);
                    if n.hash == *hash {
                        *node = Some(n);
                        *next = NIL;
                    } else {
                        *next = n.next;
                        more |= n.next != NIL;
                    }
                }
            }
            if !more {
                break;
            }
        }
        for n in nodes.iter().flatten() {
            touched = touched.wrapping_add(touch(&n.value) as usize);
            touched = touched.wrapping_add(n.key.first().copied().unwrap_or(0) as usize);
        }
        for (i, node) in nodes.iter().enumerate() {
            if let Some(n) = node {
                found(b * STEP + i, &n.key, &n.value);
            }
        }
    }
    // Keeps the reads from being optimised away: nothing uses what they read.
    std::hint::black_box(touched);
}

impl<V> Dict<V> {
    pub fn new(seed: u64) -> Self {
        Dict {
            buckets: Vec::new(),
            nodes: Slab::new(),
            free_head: NIL,
            len: 0,
            seed,
            hint: NIL,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (Redis's `dictSlots`).
    pub fn slots(&self) -> usize {
        self.buckets.len()
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn node(&self, i: u32) -> &Node<V> {
        match self.nodes.get(i) {
            Slot::Used(n) => n,
            Slot::Free { .. } => unreachable!("chain points at a free slot"),
        }
    }

    fn node_mut(&mut self, i: u32) -> &mut Node<V> {
        match self.nodes.get_mut(i) {
            Slot::Used(n) => n,
            Slot::Free { .. } => unreachable!("chain points at a free slot"),
        }
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        let h = hash_bytes(self.seed, key) as u32;
        let mut i = self.buckets[h as usize & self.mask()];
        while i != NIL {
            let n = self.node(i);
            if n.hash == h && same_bytes(&n.key, key) {
                return Some(i);
            }
            i = n.next;
        }
        None
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|i| &self.node(i).value)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let i = self.find_hinted(key)?;
        Some(&mut self.node_mut(i).value)
    }

    /// `find`, trying the slot last handed out for a change first.
    fn find_hinted(&self, key: &[u8]) -> Option<u32> {
        if (self.hint as usize) < self.nodes.len() {
            if let Slot::Used(n) = self.nodes.get(self.hint) {
                // Keys are unique: the slot holding this key is its entry.
                if same_bytes(&n.key, key) {
                    return Some(self.hint);
                }
            }
        }
        self.find(key)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&Key, &V)> {
        self.find(key).map(|i| {
            let n = self.node(i);
            (&n.key, &n.value)
        })
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Where `key`'s entry is, for `at`/`at_mut`: one probe of the table for a caller that
    /// must read an entry, do other work, then change it. A position is only good until the
    /// table next changes (an insert or a removal).
    pub fn position(&self, key: &[u8]) -> Option<Position> {
        self.find(key).map(Position)
    }

    /// The entry at `pos`; `None` if the slot is free (a position kept past a change).
    pub fn at(&self, pos: Position) -> Option<&V> {
        if pos.0 as usize >= self.nodes.len() {
            return None;
        }
        match self.nodes.get(pos.0) {
            Slot::Used(n) => Some(&n.value),
            _ => None,
        }
    }

    pub fn at_mut(&mut self, pos: Position) -> Option<&mut V> {
        if pos.0 as usize >= self.nodes.len() {
            return None;
        }
        self.hint = pos.0;
        match self.nodes.get_mut(pos.0) {
            Slot::Used(n) => Some(&mut n.value),
            _ => None,
        }
    }

    /// The stored key and its value, mutable, in one probe.
    pub fn get_key_value_mut(&mut self, key: &[u8]) -> Option<(&Key, &mut V)> {
        let i = self.find_hinted(key)?;
        let n = self.node_mut(i);
        Some((&n.key, &mut n.value))
    }

    /// Inserts or replaces; returns the previous value. A new entry goes to the head of its
    /// chain, as in Redis (recently added keys are found first).
    pub fn insert(&mut self, key: Key, value: V) -> Option<V> {
        if let Some(i) = self.find(&key) {
            return Some(std::mem::replace(&mut self.node_mut(i).value, value));
        }
        self.insert_absent(key, value);
        None
    }

    /// Inserts a key the caller has just looked for and not found, without looking again.
    pub fn insert_absent(&mut self, key: Key, value: V) {
        debug_assert!(self.find(&key).is_none(), "insert_absent of a present key");
        self.grow_if_needed();
        let h = hash_bytes(self.seed, &key) as u32;
        let b = h as usize & self.mask();
        let node = Node {
            key,
            hash: h,
            next: self.buckets[b],
            value,
        };
        let idx = if self.free_head != NIL {
            let idx = self.free_head;
            if let Slot::Free { next_free } = *self.nodes.get(idx) {
                self.free_head = next_free;
            }
            *self.nodes.get_mut(idx) = Slot::Used(node);
            idx
        } else {
            self.nodes.push(Slot::Used(node))
        };
        self.buckets[b] = idx;
        self.len += 1;
        self.hint = idx;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<(Key, V)> {
        if self.buckets.is_empty() {
            return None;
        }
        let h = hash_bytes(self.seed, key) as u32;
        let b = h as usize & self.mask();
        let mut prev = NIL;
        let mut i = self.buckets[b];
        while i != NIL {
            let (matches, next) = {
                let n = self.node(i);
                (n.hash == h && same_bytes(&n.key, key), n.next)
            };
            if matches {
                if prev == NIL {
                    self.buckets[b] = next;
                } else {
                    self.node_mut(prev).next = next;
                }
                let slot = std::mem::replace(
                    self.nodes.get_mut(i),
                    Slot::Free {
                        next_free: self.free_head,
                    },
                );
                self.free_head = i;
                self.len -= 1;
                let Slot::Used(n) = slot else { unreachable!() };
                self.shrink_if_needed();
                return Some((n.key, n.value));
            }
            prev = i;
            i = next;
        }
        None
    }

    pub fn clear(&mut self) {
        self.buckets = Vec::new();
        self.nodes = Slab::new();
        self.free_head = NIL;
        self.len = 0;
    }

    fn grow_if_needed(&mut self) {
        if self.buckets.is_empty() {
            self.rehash(INITIAL_BUCKETS);
        } else if self.len >= self.buckets.len() {
            self.rehash(self.buckets.len() * 2);
        }
    }

    fn shrink_if_needed(&mut self) {
        let slots = self.buckets.len();
        if self.len == 0 {
            self.clear();
        } else if slots > INITIAL_BUCKETS && self.len * 100 / slots < MIN_FILL_PERCENT {
            self.rehash(self.len.next_power_of_two().max(INITIAL_BUCKETS));
            self.compact_slab();
        }
    }

    /// Drops free slots at the end of the slab so that a table that shrank gives memory back.
    fn compact_slab(&mut self) {
        if self.nodes.len() <= self.len * 2 {
            return;
        }
        let old = std::mem::replace(&mut self.nodes, Slab::new());
        self.free_head = NIL;
        for slot in old.chunks.into_iter().flatten() {
            if let Slot::Used(mut n) = slot {
                n.next = NIL;
                self.nodes.push(Slot::Used(n));
            }
        }
        let size = self.buckets.len();
        self.buckets = vec![NIL; size];
        self.relink();
    }

    fn rehash(&mut self, size: usize) {
        self.buckets = vec![NIL; size];
        self.relink();
    }

    /// Re-threads every used node into the current buckets. Nodes are visited in slab order and
    /// pushed at the head of their chain.
    fn relink(&mut self) {
        let mask = self.mask();
        for (i, slot) in self.nodes.iter_mut().enumerate() {
            if let Slot::Used(n) = slot {
                let b = n.hash as usize & mask;
                n.next = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    /// Entries in bucket order, each chain from its head (the order KEYS and SCAN see).
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        (0..self.buckets.len()).flat_map(move |b| self.chain(b))
    }

    /// The entries of bucket `b` (masked to the table's size), head first.
    pub fn chain(&self, b: usize) -> impl Iterator<Item = (&Key, &V)> {
        let mut i = if self.buckets.is_empty() {
            NIL
        } else {
            self.buckets[b & self.mask()]
        };
        std::iter::from_fn(move || {
            if i == NIL {
                return None;
            }
            let n = self.node(i);
            i = n.next;
            Some((&n.key, &n.value))
        })
    }

    /// Mutable access to every value, in slab order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.nodes.iter_mut().filter_map(|s| match s {
            Slot::Used(n) => Some(&mut n.value),
            Slot::Free { .. } => None,
        })
    }

    /// One step of Redis's `dictScan`: calls `f` for every entry of the bucket the cursor names,
    /// and returns the next cursor (0 when the scan is complete).
    ///
    /// The cursor is incremented in its reversed bit order: set the bits above the mask,
    /// reverse, add one, reverse back. That visits buckets so that, when the table doubles or
    /// halves between two calls, the buckets already visited map onto buckets the cursor has
    /// already passed.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&Key, &V)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = self.mask() as u64;
        for (k, v) in self.chain((cursor & mask) as usize) {
            f(k, v);
        }
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// A random entry: a random non-empty bucket, then a random position in its chain
    /// (Redis's `dictGetFairRandomKey` falls back to this shape for a single pick).
    pub fn random_entry(&self, rng: &mut crate::rng::Rng) -> Option<(&Key, &V)> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let b = loop {
            let b = rng.next_u64() as usize & mask;
            if self.buckets[b] != NIL {
                break b;
            }
        };
        let chain_len = self.chain(b).count();
        let pick = rng.below(chain_len as u64) as usize;
        self.chain(b).nth(pick)
    }

    /// Rough heap footprint of the table itself (buckets and slab), for the memory model.
    pub fn overhead_bytes(&self) -> usize {
        self.buckets.capacity() * 4
            + self.nodes.capacity() * std::mem::size_of::<Slot<V>>()
            + self.nodes.chunks.capacity() * std::mem::size_of::<Vec<Slot<V>>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn key(i: u32) -> Key {
        format!("key:{i}").into_bytes().into()
    }

    #[test]
    fn warming_reads_the_entry_of_each_present_key_along_its_chain() {
        use std::cell::Cell;
        let empty: Dict<u32> = Dict::new(5);
        let mut d = Dict::new(5);
        for i in 0..100 {
            d.insert(key(i), i);
        }
        // More lookups than one step holds, in two tables (one empty), present keys, absent
        // ones, and a repeat.
        let names: Vec<Key> = (0..40)
            .map(|i| key(i * 5))
            .chain([key(3), key(3)])
            .collect();
        let mut lookups: Vec<(&Dict<u32>, &[u8])> = names.iter().map(|k| (&d, &**k)).collect();
        lookups.insert(7, (&empty, b"key:1"));
        let touched = Cell::new(0);
        let mut found = Vec::new();
        warm_lookups(
            &lookups,
            |v| {
                touched.set(touched.get() + 1);
                u64::from(*v)
            },
            |i, k, v| {
                if k == lookups[i].1 {
                    found.push((i, *v));
                }
            },
        );
        // The chains of this table are short enough for every present key's entry to be
        // reached and read, once; an absent key's chain is walked without reading a value
        // (this table has no two keys with the same 32-bit hash, which would stand in for it).
        let present = (0..40).filter(|i| i * 5 < 100).count() + 2;
        assert_eq!(touched.get(), present);
        // What is reported found is the value of the key looked up, and only that.
        for &(i, v) in &found {
            assert_eq!(d.get(lookups[i].1), Some(&v), "lookup {i}");
            assert!(!std::ptr::eq(lookups[i].0, &empty));
        }
        assert_eq!(found.len(), present);
        assert!(
            found.iter().any(|&(i, _)| i >= 16),
            "found past the first step"
        );
        let before = touched.get();
        warm_lookups(
            &[(&empty, &b"key:1"[..])],
            |_| {
                touched.set(touched.get() + 1);
                0
            },
            |_, _, _| panic!("found in an empty table"),
        );
        assert_eq!(touched.get(), before, "an empty table has no entry to read");
    }

    #[test]
    fn same_bytes_agrees_with_slice_equality_at_every_length_and_difference() {
        let a: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..=40 {
            assert!(same_bytes(&a[..n], &a[..n]));
            assert!(!same_bytes(&a[..n], &a[..n.saturating_sub(1)]) || n == 0);
            for i in 0..n {
                for bit in [1u8, 0x80] {
                    let mut b = a[..n].to_vec();
                    b[i] ^= bit;
                    assert!(!same_bytes(&a[..n], &b), "length {n}, byte {i}");
                }
            }
        }
    }

    #[test]
    fn a_stale_hint_never_hands_out_another_key() {
        let mut d = Dict::new(5);
        d.insert(key(1), 1);
        d.insert(key(2), 2);
        let pos = d.position(&key(1)).expect("present");
        *d.at_mut(pos).expect("used") = 10;
        assert_eq!(d.get_mut(&key(1)), Some(&mut 10));
        // The hinted slot is freed, then reused by another key.
        d.remove(&key(1));
        assert_eq!(d.get_mut(&key(1)), None);
        d.insert(key(3), 3);
        assert_eq!(d.position(&key(3)), Some(pos), "the freed slot was reused");
        assert_eq!(d.get_mut(&key(1)), None);
        assert_eq!(d.get_mut(&key(2)), Some(&mut 2));
        assert_eq!(d.get_key_value_mut(&key(3)).map(|(_, v)| *v), Some(3));
        // A hint past the end of a compacted slab is ignored.
        let many: Vec<u32> = (10..200).collect();
        for &i in &many {
            d.insert(key(i), i);
        }
        let last = d.position(&key(199)).expect("present");
        d.at_mut(last);
        for &i in &many {
            d.remove(&key(i));
        }
        assert_eq!(d.get_mut(&key(199)), None);
        assert_eq!(d.get_mut(&key(2)), Some(&mut 2));
        assert_eq!(d.get_mut(&key(3)), Some(&mut 3));
    }

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new(7);
        for i in 0..1000 {
            assert!(d.insert(key(i), i).is_none());
        }
        assert_eq!(d.len(), 1000);
        assert_eq!(d.insert(key(5), 55), Some(5));
        assert_eq!(d.get(b"key:5"), Some(&55));
        for i in 0..990 {
            assert!(d.remove(&key(i)).is_some());
        }
        assert_eq!(d.len(), 10);
        assert!(d.slots() < 1024, "shrank to {}", d.slots());
        for i in 990..1000 {
            assert!(d.contains_key(&key(i)));
        }
    }

    #[test]
    fn entries_survive_across_slab_chunks_reuse_and_compaction() {
        let n = 3 * CHUNK as u32 + 17;
        let mut d = Dict::new(3);
        for i in 0..n {
            d.insert(key(i), i);
        }
        assert_eq!(d.nodes.chunks.len(), 4);
        // Chunks after the first are allocated whole and never grow.
        assert!(d.nodes.chunks[1..].iter().all(|c| c.capacity() == CHUNK));
        // Free every other slot, then refill: the free list hands slots back in every chunk.
        for i in (0..n).step_by(2) {
            assert_eq!(d.remove(&key(i)).map(|(_, v)| v), Some(i));
        }
        for i in (0..n).step_by(2) {
            assert!(d.insert(key(i + n), i + n).is_none());
        }
        assert_eq!(d.nodes.len(), n as usize, "freed slots were reused");
        for i in 0..n {
            let want = if i % 2 == 0 { None } else { Some(&i) };
            assert_eq!(d.get(&key(i)), want);
            if i % 2 == 0 {
                assert_eq!(d.get(&key(i + n)), Some(&(i + n)));
            }
        }
        // Shrinking far enough compacts the slab into fewer chunks.
        let all: Vec<Key> = d.iter().map(|(k, _)| k.clone()).collect();
        for k in &all[10..] {
            d.remove(k);
        }
        assert_eq!(d.len(), 10);
        assert_eq!(d.nodes.chunks.len(), 1);
        for k in &all[..10] {
            assert!(d.contains_key(k));
        }
        assert_eq!(d.iter().count(), 10);
    }

    #[test]
    fn scan_returns_every_stable_key_despite_resizes() {
        let mut d = Dict::new(1);
        for i in 0..500 {
            d.insert(key(i), ());
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan_step(cursor, |k, _| {
                seen.insert(k.clone());
            });
            step += 1;
            // Grow and then shrink the table in the middle of the scan.
            if step == 50 {
                for i in 500..5000 {
                    d.insert(key(i), ());
                }
            }
            if step == 300 {
                for i in 500..5000 {
                    d.remove(&key(i));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500 {
            assert!(seen.contains(&key(i)), "missed key:{i}");
        }
    }
}
