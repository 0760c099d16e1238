//! A `Dict` of strings that keeps, as it changes, what its strings cost as Redis allocates them
//! (sds strings), so that the memory model can cost a large hash or set after every write in
//! constant time. Sampling 64 of its entries instead, spread over the table, missed the cache 64
//! times per write: a fifth of an HSET on a hash of 100,000 fields (bench/README.md).

use std::ops::Deref;

use crate::dict::{Dict, Key};
use crate::memory::sds_alloc;

/// What a table's value adds to the cost of its entry: a hash field's value is a string of its
/// own, a set member has none.
pub trait Payload {
    fn sds_bytes(&self) -> u64;
}

impl Payload for Key {
    fn sds_bytes(&self) -> u64 {
        sds_alloc(self.len())
    }
}

impl Payload for () {
    fn sds_bytes(&self) -> u64 {
        0
    }
}

/// Reads go to the `Dict` (through `Deref`); every change goes through the methods here, which
/// keep `sds_bytes` equal to the sum over the entries of `sds_alloc(key) + value.sds_bytes()`.
#[derive(Clone, Debug)]
pub struct CostedDict<V> {
    dict: Dict<V>,
    sds_bytes: u64,
}

impl<V> Deref for CostedDict<V> {
    type Target = Dict<V>;

    fn deref(&self) -> &Dict<V> {
        &self.dict
    }
}

impl<V: Payload> CostedDict<V> {
    pub fn new(seed: u64) -> Self {
        CostedDict {
            dict: Dict::new(seed),
            sds_bytes: 0,
        }
    }

    /// The sds allocations of every key and value in the table.
    pub fn sds_bytes(&self) -> u64 {
        self.sds_bytes
    }

    /// Sets `key` to `value`; returns the value it replaces, if any.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        let added = value.sds_bytes();
        if let Some(slot) = self.dict.get_mut(key) {
            let old = std::mem::replace(slot, value);
            self.sds_bytes = self.sds_bytes - old.sds_bytes() + added;
            return Some(old);
        }
        self.sds_bytes += sds_alloc(key.len()) + added;
        self.dict.insert_absent(Key::from(key), value);
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        let (k, v) = self.dict.remove(key)?;
        self.sds_bytes -= sds_alloc(k.len()) + v.sds_bytes();
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The running sum against the sum taken from scratch.
    fn recount<V: Payload>(d: &CostedDict<V>) -> u64 {
        d.iter()
            .map(|(k, v)| sds_alloc(k.len()) + v.sds_bytes())
            .sum()
    }

    #[test]
    fn the_running_sum_follows_every_change() {
        let mut d: CostedDict<Key> = CostedDict::new(3);
        for i in 0..300usize {
            // Lengths that cross sds's header sizes (32 and 256 bytes).
            let value = vec![b'v'; i % 40 * 9];
            d.insert(format!("field:{i}").as_bytes(), value.into());
        }
        assert_eq!(d.sds_bytes(), recount(&d));
        for i in (0..300usize).step_by(3) {
            let old = d.insert(format!("field:{i}").as_bytes(), Key::from(&b"short"[..]));
            assert!(old.is_some());
        }
        assert_eq!(d.sds_bytes(), recount(&d));
        for i in (0..300usize).step_by(2) {
            assert!(d.remove(format!("field:{i}").as_bytes()).is_some());
        }
        assert!(d.remove(b"field:0").is_none());
        assert_eq!(d.sds_bytes(), recount(&d));
        for i in 0..300usize {
            d.remove(format!("field:{i}").as_bytes());
        }
        assert_eq!((d.len(), d.sds_bytes()), (0, 0));
    }

    #[test]
    fn a_set_counts_its_members_only() {
        let mut s: CostedDict<()> = CostedDict::new(3);
        s.insert(b"a", ());
        s.insert(b"a", ());
        s.insert(&[b'm'; 40], ());
        assert_eq!(s.sds_bytes(), sds_alloc(1) + sds_alloc(40));
        assert_eq!(s.sds_bytes(), recount(&s));
    }
}
