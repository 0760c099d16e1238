//! One numbered database: the keyspace and its expires index.

use crate::dict::{Dict, Key};
use crate::object::Entry;

#[derive(Clone, Debug)]
pub struct Db {
    pub keys: Dict<Entry>,
    /// Only the keys that have a TTL, so that the active expire cycle samples among keys that
    /// can expire instead of the whole keyspace (Redis's `db->expires`). The deadline itself
    /// lives in the entry; this table carries no value.
    pub expires: Dict<()>,
    /// Where the active expire cycle resumes its bucket walk of `expires`.
    pub expires_cursor: u64,
    /// Running average TTL of the keys the cycle sampled, for INFO keyspace's `avg_ttl`.
    pub avg_ttl: i64,
    /// Sum of the entries' `mem`: the keys' share of `used_memory`.
    pub mem: u64,
    /// Bytes of keys removed since the memory model last looked (for its RSS estimate).
    pub freed: u64,
}

impl Db {
    pub fn new(seed: u64) -> Db {
        Db {
            keys: Dict::new(seed),
            expires: Dict::new(seed ^ 0x5bd1_e995),
            expires_cursor: 0,
            avg_ttl: 0,
            mem: 0,
            freed: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The deadline of `key`, if it has one, without any expiry check.
    pub fn expire_of(&self, key: &[u8]) -> Option<i64> {
        self.keys.get(key).and_then(|e| e.expire_at())
    }

    pub fn set_expire(&mut self, key: &[u8], at: i64) {
        if let Some(e) = self.keys.get_mut(key) {
            if e.expire_at().is_none() {
                self.expires.insert(Key::from(key), ());
            }
            e.set_expire_at(Some(at));
        }
    }

    /// Returns true when the key had a TTL.
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        match self.keys.get_mut(key) {
            Some(e) if e.expire_at().is_some() => {
                e.set_expire_at(None);
                self.expires.remove(key);
                true
            }
            _ => false,
        }
    }

    /// Adds or overwrites the entry, keeping the expires index in step with `entry.expire_at()`.
    pub fn put(&mut self, key: Key, mut entry: Entry) {
        entry.set_mem(crate::memory::entry_bytes(&key, &entry));
        self.mem += entry.mem();
        let has_ttl = entry.expire_at().is_some();
        let had_ttl = self.keys.get(&key).is_some_and(|e| e.expire_at().is_some());
        if has_ttl && !had_ttl {
            self.expires.insert(key.clone(), ());
        } else if had_ttl && !has_ttl {
            self.expires.remove(&key);
        }
        if let Some(old) = self.keys.insert(key, entry) {
            self.mem -= old.mem();
        }
    }

    /// Adds an entry under a key the caller has just found missing (Redis's `dbAdd`).
    pub fn put_new(&mut self, key: Key, mut entry: Entry) {
        entry.set_mem(crate::memory::entry_bytes(&key, &entry).min(Entry::MAX_MEM));
        self.mem += entry.mem();
        if entry.expire_at().is_some() {
            self.expires.insert(key.clone(), ());
        }
        self.keys.insert_absent(key, entry);
    }

    /// Counts `key` again after its value changed in place; returns the bytes freed (0 when
    /// the key grew or is gone).
    pub fn recost(&mut self, key: &[u8]) -> u64 {
        let Some((k, e)) = self.keys.get_key_value_mut(key) else {
            return 0;
        };
        let cost = crate::memory::entry_bytes(k, e).min(Entry::MAX_MEM);
        let old = e.mem();
        e.set_mem(cost);
        self.mem = self.mem - old + cost;
        old.saturating_sub(cost)
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (_, entry) = self.keys.remove(key)?;
        self.mem -= entry.mem();
        self.freed += entry.mem();
        if entry.expire_at().is_some() {
            self.expires.remove(key);
        }
        Some(entry)
    }

    pub fn clear(&mut self) {
        self.keys.clear();
        self.expires.clear();
        self.expires_cursor = 0;
        self.avg_ttl = 0;
        self.freed += self.mem;
        self.mem = 0;
    }
}
