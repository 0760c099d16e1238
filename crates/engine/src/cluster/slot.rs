//! Hash slots: which of the 16384 slots a key belongs to, and which keys a node holds per slot.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16 as Redis Cluster uses it: the XMODEM variant (polynomial 0x1021, initial value 0, no
/// reflection, no final xor), table-driven.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[(((crc >> 8) as u8) ^ b) as usize]
    })
}

const CRC16_TABLE: [u16; 256] = crc16_table();

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// The slot of `key`. When the key holds a `{...}` with at least one byte between the first `{`
/// and the first `}` after it, only those bytes are hashed, so that related keys can be made to
/// share a slot (`{user1000}.following`, `{user1000}.followers`).
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(0) | None => key,
            Some(len) => &key[open + 1..open + 1 + len],
        },
        None => key,
    };
    crc16(hashed) & (SLOTS as u16 - 1)
}

/// The keys of one node's database 0 by slot, newest first within a slot, as Redis's slot-to-key
/// lists keep them (a new key goes to the head of its slot's list; overwriting a key leaves it
/// where it is). CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT read it, and SETSLOT NODE asks it
/// whether a slot is empty.
#[derive(Clone, Debug, Default)]
pub struct SlotIndex {
    /// Each key's slot and the sequence number it was added with.
    by_key: HashMap<Vec<u8>, (u16, u64)>,
    /// Keys ordered by slot, then newest first.
    order: BTreeMap<(u16, Reverse<u64>), Vec<u8>>,
    next_seq: u64,
}

impl SlotIndex {
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.by_key.contains_key(key)
    }

    /// Adds a key at the head of its slot's list; a key already present stays where it is.
    pub fn add(&mut self, key: &[u8]) {
        if self.by_key.contains_key(key) {
            return;
        }
        let slot = key_hash_slot(key);
        self.next_seq += 1;
        self.by_key.insert(key.to_vec(), (slot, self.next_seq));
        self.order
            .insert((slot, Reverse(self.next_seq)), key.to_vec());
    }

    pub fn remove(&mut self, key: &[u8]) {
        if let Some((slot, seq)) = self.by_key.remove(key) {
            self.order.remove(&(slot, Reverse(seq)));
        }
    }

    pub fn clear(&mut self) {
        self.by_key.clear();
        self.order.clear();
    }

    fn slot_range(
        &self,
        slot: u16,
    ) -> std::collections::btree_map::Range<'_, (u16, Reverse<u64>), Vec<u8>> {
        self.order
            .range((slot, Reverse(u64::MAX))..=(slot, Reverse(0)))
    }

    pub fn count(&self, slot: u16) -> usize {
        self.slot_range(slot).count()
    }

    /// Up to `max` keys of `slot`, newest first.
    pub fn keys(&self, slot: u16, max: usize) -> Vec<Vec<u8>> {
        self.slot_range(slot)
            .take(max)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Every key of `slot`, newest first.
    pub fn all_keys(&self, slot: u16) -> Vec<Vec<u8>> {
        self.keys(slot, usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        // The XMODEM check value: CRC of the ASCII digits 1 to 9.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn slots_and_hash_tags() {
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"a"), 15495);
        assert_eq!(
            key_hash_slot(b"{user1000}.following"),
            key_hash_slot(b"user1000")
        );
        assert_eq!(key_hash_slot(b"foo{}{bar}"), key_hash_slot(b"foo{}{bar}"));
        // An empty tag hashes the whole key; only the first `{` counts.
        assert_ne!(key_hash_slot(b"foo{}{bar}"), key_hash_slot(b"bar"));
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), key_hash_slot(b"{bar"));
        assert_eq!(key_hash_slot(b"foo{bar}{zap}"), key_hash_slot(b"bar"));
        assert_eq!(key_hash_slot(b"{"), crc16(b"{") & 16383);
    }

    #[test]
    fn index_keeps_newest_first_per_slot() {
        let mut ix = SlotIndex::default();
        for k in ["{t}a", "{t}b", "{t}c", "x"] {
            ix.add(k.as_bytes());
        }
        let slot = key_hash_slot(b"t");
        assert_eq!(ix.count(slot), 3);
        assert_eq!(ix.keys(slot, 2), vec![b"{t}c".to_vec(), b"{t}b".to_vec()]);
        ix.add(b"{t}a");
        assert_eq!(ix.keys(slot, 1), vec![b"{t}c".to_vec()]);
        ix.remove(b"{t}a");
        ix.add(b"{t}a");
        assert_eq!(ix.keys(slot, 1), vec![b"{t}a".to_vec()]);
        assert_eq!(ix.len(), 4);
    }
}
