//! Hashes: `listpack` while small, `hashtable` past `hash-max-listpack-*`.
//!
//! The small encoding is a real compact structure, as Redis's listpack is: every field and value
//! packed end to end in one buffer behind a varint length, searched linearly, kept in insertion
//! order (an update rewrites the value in place, a delete closes the gap). That order is what
//! HGETALL, HKEYS, HSCAN and a whole-hash HRANDFIELD return, so it must match Redis's exactly.
//! Past the thresholds the hash moves, once and for good, into a `Dict`, whose bucket order is
//! what Redis's hashtable order is to Redis: unspecified but stable, with SCAN cursors and random
//! picks that behave like Redis's.

use crate::config::Config;
use crate::dict::{Dict, Key};
use crate::rng::Rng;
use crate::types::costed::CostedDict;

/// The thresholds and the hash seed a conversion needs, read from the config once per command.
#[derive(Clone, Copy, Debug)]
pub struct HashLimits {
    /// A listpack holds at most this many fields (`hash-max-listpack-entries`).
    pub max_entries: usize,
    /// and no field or value longer than this many bytes (`hash-max-listpack-value`).
    pub max_value: usize,
    /// Seeds the table a converted hash moves into.
    pub seed: u64,
}

impl HashLimits {
    pub fn from_config(c: &Config) -> HashLimits {
        HashLimits {
            max_entries: c.hash_max_listpack_entries.max(0) as usize,
            max_value: c.hash_max_listpack_value.max(0) as usize,
            seed: value_seed(c.seed),
        }
    }
}

/// The seed of the hash tables inside values (Redis seeds every dict from one server-wide key).
pub fn value_seed(engine_seed: u64) -> u64 {
    engine_seed.rotate_left(17) ^ 0x6a09_e667_f3bc_c908
}

/// Field/value pairs packed in one buffer: `len field len value len field ...`, each length a
/// LEB128 varint. One allocation per hash and a byte or two of overhead per string.
#[derive(Clone, Debug, Default)]
pub struct Listpack {
    buf: Vec<u8>,
    pairs: usize,
}

/// Where one pair sits in the buffer: `[start, value_at)` holds the field with its length,
/// `[value_at, end)` the value with its length.
#[derive(Clone, Copy)]
struct PairAt {
    start: usize,
    value_at: usize,
    end: usize,
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    let (header, used) = len_header(n);
    out.extend_from_slice(&header[..used]);
}

/// Reads the string at `pos`: returns it and the position after it.
fn get_str(buf: &[u8], mut pos: usize) -> (&[u8], usize) {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (&buf[pos..pos + n], pos + n)
}

/// The varint length header of a string, on the stack.
fn len_header(n: usize) -> ([u8; 10], usize) {
    let mut buf = [0u8; 10];
    let mut used = 0;
    let mut n = n;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf[used] = byte;
            return (buf, used + 1);
        }
        buf[used] = byte | 0x80;
        used += 1;
    }
}

impl Listpack {
    pub fn len(&self) -> usize {
        self.pairs
    }

    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    /// Bytes of the packed buffer.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn walk(&self) -> impl Iterator<Item = (PairAt, &[u8], &[u8])> {
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= self.buf.len() {
                return None;
            }
            let start = pos;
            let (field, value_at) = get_str(&self.buf, start);
            let (value, end) = get_str(&self.buf, value_at);
            pos = end;
            Some((
                PairAt {
                    start,
                    value_at,
                    end,
                },
                field,
                value,
            ))
        })
    }

    fn find(&self, field: &[u8]) -> Option<(PairAt, &[u8])> {
        self.walk()
            .find(|(_, f, _)| *f == field)
            .map(|(at, _, v)| (at, v))
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|(_, v)| v)
    }

    /// Pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.walk().map(|(_, f, v)| (f, v))
    }

    /// Sets `field`; returns true when it is new (appended at the tail).
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some((at, _)) = self.find(field) {
            let (header, used) = len_header(value.len());
            let new = header[..used].iter().chain(value).copied();
            self.buf.splice(at.value_at..at.end, new);
            return false;
        }
        put_len(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        put_len(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.pairs += 1;
        true
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some((at, _)) => {
                self.buf.drain(at.start..at.end);
                self.pairs -= 1;
                true
            }
            None => false,
        }
    }
}

/// Both encodings are boxed so that a hash is 16 bytes inside a key's `Value` (see `Value`).
#[derive(Clone, Debug)]
pub enum Hash {
    Listpack(Box<Listpack>),
    Table(Box<CostedDict<Key>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Box::default())
    }
}

impl PartialEq for Hash {
    /// Same fields with the same values, whatever the encoding or order.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len(),
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(lp) => lp.get(field),
            Hash::Table(d) => d.get(field).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Pairs in the encoding's order: insertion order for a listpack, bucket order for a table.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Listpack(lp) => Box::new(lp.iter()),
            Hash::Table(d) => Box::new(d.iter().map(|(k, v)| (&k[..], &v[..]))),
        }
    }

    /// Moves a listpack into a hash table (Redis's `hashTypeConvert`), pairs in listpack order.
    pub fn convert(&mut self, seed: u64) {
        if let Hash::Listpack(lp) = self {
            let mut d = CostedDict::new(seed);
            for (f, v) in lp.iter() {
                d.insert(f, Key::from(v));
            }
            *self = Hash::Table(Box::new(d));
        }
    }

    /// Converts when any of `args` is too long for a listpack (Redis's `hashTypeTryConversion`,
    /// run on a command's fields and values before any of them is written).
    pub fn convert_if_any_long(&mut self, args: &[&[u8]], lim: &HashLimits) {
        if matches!(self, Hash::Listpack(_)) && args.iter().any(|a| a.len() > lim.max_value) {
            self.convert(lim.seed);
        }
    }

    /// Sets `field` to `value` (Redis's `hashTypeSet`); returns true when the field is new.
    /// A listpack converts first when either string is too long, and after inserting when it
    /// holds more than `max_entries` fields.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: &HashLimits) -> bool {
        if field.len() > lim.max_value || value.len() > lim.max_value {
            self.convert(lim.seed);
        }
        match self {
            Hash::Listpack(lp) => {
                let added = lp.set(field, value);
                if lp.len() > lim.max_entries {
                    self.convert(lim.seed);
                }
                added
            }
            Hash::Table(d) => d.insert(field, Key::from(value)).is_none(),
        }
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.remove(field),
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    /// A pair picked at random: a uniform position in a listpack, a random bucket and chain
    /// position in a table (as Redis's `dictGetFairRandomKey` falls back to). None when empty.
    pub fn random_pair(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(lp) => {
                if lp.is_empty() {
                    return None;
                }
                let i = rng.below(lp.len() as u64) as usize;
                lp.iter().nth(i)
            }
            Hash::Table(d) => d.random_entry(rng).map(|(k, v)| (&k[..], &v[..])),
        }
    }

    /// The table of a hashtable-encoded hash, for SCAN's cursor walk.
    pub fn table(&self) -> Option<&Dict<Key>> {
        match self {
            Hash::Table(d) => Some(&***d),
            Hash::Listpack(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(entries: usize, value: usize) -> HashLimits {
        HashLimits {
            max_entries: entries,
            max_value: value,
            seed: 1,
        }
    }

    #[test]
    fn listpack_keeps_insertion_order_and_updates_in_place() {
        let l = lim(128, 64);
        let mut h = Hash::new();
        assert!(h.set(b"b", b"1", &l));
        assert!(h.set(b"a", b"2", &l));
        assert!(h.set(b"c", b"3", &l));
        assert!(!h.set(b"a", b"a much longer value than before", &l));
        let pairs: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(
            pairs,
            vec![
                (b"b".to_vec(), b"1".to_vec()),
                (b"a".to_vec(), b"a much longer value than before".to_vec()),
                (b"c".to_vec(), b"3".to_vec()),
            ]
        );
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(b"c"), Some(&b"3"[..]));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn long_strings_survive_varint_lengths() {
        let l = lim(128, 100_000);
        let mut h = Hash::new();
        let big = vec![b'x'; 70_000];
        h.set(b"f", &big, &l);
        h.set(&big, b"v", &l);
        assert_eq!(h.get(b"f"), Some(&big[..]));
        assert_eq!(h.get(&big), Some(&b"v"[..]));
        assert!(h.remove(b"f"));
        assert_eq!(h.get(&big), Some(&b"v"[..]));
    }

    #[test]
    fn converts_past_the_entry_count_and_on_long_strings() {
        let l = lim(3, 8);
        let mut h = Hash::new();
        for f in [&b"a"[..], b"b", b"c"] {
            h.set(f, b"v", &l);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"d", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 4);
        // Never back, even when small again.
        for f in [&b"a"[..], b"b", b"c"] {
            h.remove(f);
        }
        assert_eq!(h.encoding(), "hashtable");

        let mut h = Hash::new();
        h.set(b"f", b"12345678", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f", b"123456789", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&b"123456789"[..]));

        let mut h = Hash::new();
        h.convert_if_any_long(&[b"short", b"123456789"], &l);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn equality_ignores_encoding() {
        let l = lim(128, 64);
        let mut a = Hash::new();
        let mut b = Hash::new();
        a.set(b"x", b"1", &l);
        a.set(b"y", b"2", &l);
        b.set(b"y", b"2", &l);
        b.set(b"x", b"1", &l);
        b.convert(9);
        assert_eq!(a, b);
        b.set(b"x", b"3", &l);
        assert_ne!(a, b);
    }
}
