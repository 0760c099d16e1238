//! Values stored under keys, with the encodings Redis reports in OBJECT ENCODING.

use crate::numfmt::parse_i64;

/// Strings of at most this many bytes are `embstr` (object and bytes in one allocation).
pub const EMBSTR_SIZE_LIMIT: usize = 44;
/// Integers in `0..SHARED_INTEGERS` are shared objects in Redis: OBJECT REFCOUNT says INT_MAX.
pub const SHARED_INTEGERS: i64 = 10000;

/// A string value. Redis keeps an integer-looking string as a machine integer (`int`), a short
/// one in the object's own allocation (`embstr`) and anything longer, or anything modified in
/// place by APPEND or SETRANGE, as a separate buffer (`raw`).
#[derive(Clone, Debug, PartialEq)]
pub enum RString {
    Int(i64),
    Embstr(EmbStr),
    Raw(Vec<u8>),
}

/// Bytes that fit in an `RString` without an allocation of their own.
pub const EMBSTR_INLINE: usize = 30;

/// The bytes of an `embstr` value. Up to `EMBSTR_INLINE` bytes are kept inside the value itself
/// (the common `SET key value` case then costs no allocation beyond the key), longer ones in a
/// boxed slice. Both are the one encoding Redis calls `embstr`; the split is only how this
/// process stores them, so OBJECT ENCODING and the memory model cannot tell them apart.
#[derive(Clone)]
pub enum EmbStr {
    Inline { len: u8, buf: [u8; EMBSTR_INLINE] },
    Heap(Box<[u8]>),
}

impl EmbStr {
    pub fn new(b: &[u8]) -> EmbStr {
        if b.len() <= EMBSTR_INLINE {
            let mut buf = [0u8; EMBSTR_INLINE];
            buf[..b.len()].copy_from_slice(b);
            EmbStr::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            EmbStr::Heap(b.into())
        }
    }
}

impl std::ops::Deref for EmbStr {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            EmbStr::Inline { len, buf } => &buf[..*len as usize],
            EmbStr::Heap(b) => b,
        }
    }
}

impl PartialEq for EmbStr {
    fn eq(&self, other: &EmbStr) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for EmbStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl RString {
    /// Redis's `tryObjectEncoding` applied to a freshly written value (SET, GETSET, MSET...).
    pub fn from_bytes(b: &[u8]) -> RString {
        if b.len() <= 20 {
            if let Some(v) = parse_i64(b) {
                return RString::Int(v);
            }
        }
        if b.len() <= EMBSTR_SIZE_LIMIT {
            RString::Embstr(EmbStr::new(b))
        } else {
            RString::Raw(b.to_vec())
        }
    }

    /// A string built by Redis with `createStringObject`: embstr when short, raw otherwise,
    /// never int (INCRBYFLOAT's result, for instance).
    pub fn from_bytes_no_int(b: Vec<u8>) -> RString {
        if b.len() <= EMBSTR_SIZE_LIMIT {
            RString::Embstr(EmbStr::new(&b))
        } else {
            RString::Raw(b)
        }
    }

    /// Appends the value's bytes to `out` (what `to_bytes` returns, into a buffer the caller
    /// already has).
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            RString::Int(v) => {
                use std::io::Write;
                // Writing to a Vec cannot fail.
                let _ = write!(out, "{v}");
            }
            RString::Embstr(b) => out.extend_from_slice(b),
            RString::Raw(b) => out.extend_from_slice(b),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            RString::Int(v) => v.to_string().into_bytes(),
            RString::Embstr(b) => b.to_vec(),
            RString::Raw(b) => b.clone(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RString::Int(v) => crate::numfmt::i64_len(*v),
            RString::Embstr(b) => b.len(),
            RString::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, as `getLongLongFromObject` reads it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            RString::Int(v) => Some(*v),
            RString::Embstr(b) => parse_i64(b),
            RString::Raw(b) => parse_i64(b),
        }
    }

    /// Turns the value into a raw buffer that can be modified in place (`dbUnshareStringValue`).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, RString::Raw(_)) {
            *self = RString::Raw(self.to_bytes());
        }
        match self {
            RString::Raw(b) => b,
            _ => unreachable!(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            RString::Int(_) => "int",
            RString::Embstr(_) => "embstr",
            RString::Raw(_) => "raw",
        }
    }
}

/// A key's value. The collection types are boxed so that a value is no bigger than a string
/// (32 bytes): every key of the keyspace pays for the largest variant, and most keys are strings.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(RString),
    List(Box<crate::types::list::List>),
    Hash(crate::types::hash::Hash),
    Set(crate::types::set::Set),
    ZSet(Box<crate::types::zset::ZSet>),
    Stream(Box<crate::types::stream::Stream>),
}

impl Value {
    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }
}

/// What the keyspace holds for one key: the value, its expiry, and the access metadata that
/// OBJECT IDLETIME/FREQ and eviction read.
///
/// Every key pays for this struct in its dict node, so the small fields share one word (as
/// Redis packs its LRU/LFU bits into the object header): see `meta`.
#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in milliseconds of the engine's clock, `NO_EXPIRE` for a persistent key
    /// (an `Option<i64>` would take 16 bytes); read and written as an `Option` by `expire_at`
    /// and `set_expire_at`.
    expire: i64,
    /// Last access time in milliseconds (Redis keeps this in the object's 24-bit `lru` field,
    /// at one-second resolution; OBJECT IDLETIME reports whole seconds either way).
    pub last_access_ms: i64,
    /// Three fields in one word, read and written through the methods below: the low
    /// `MEM_BITS` bits hold what the key costs in the memory model (`memory::entry_bytes`) as
    /// last counted into its database's total; then 16 bits of the minute (of the engine's
    /// clock) at which the LFU counter was last decremented or bumped; the top 8 bits hold
    /// Redis's logarithmic access counter, used under the LFU policies.
    meta: u64,
}

/// An LFU counter starts here so that new keys are not evicted before they have a chance.
pub const LFU_INIT_VAL: u8 = 5;

/// `Entry::expire` of a key without a TTL. No deadline can take this value: a command given one
/// this far in the past deletes the key instead of setting it.
const NO_EXPIRE: i64 = i64::MIN;

/// Bits of `Entry::meta` that hold the key's memory cost: up to 1 TiB per key.
const MEM_BITS: u32 = 40;
const MEM_MASK: u64 = (1 << MEM_BITS) - 1;

impl Entry {
    /// The largest memory cost an entry records (1 TiB); see `set_mem`.
    pub const MAX_MEM: u64 = MEM_MASK;

    /// Reads the entry's own words (not what its value points to), for `dict::warm_lookups`:
    /// they may lie on another cache line than the start of the node that holds the entry.
    pub fn touch(&self) -> u64 {
        (self.expire as u64) ^ (self.last_access_ms as u64) ^ self.meta
    }

    pub fn new(value: Value, now_ms: i64) -> Entry {
        let mut e = Entry {
            value,
            expire: NO_EXPIRE,
            last_access_ms: now_ms,
            meta: 0,
        };
        e.set_lfu(LFU_INIT_VAL, ((now_ms / 60_000) & 0xffff) as u16);
        e
    }

    /// Absolute expiry in milliseconds of the engine's clock; `None` means persistent.
    pub fn expire_at(&self) -> Option<i64> {
        (self.expire != NO_EXPIRE).then_some(self.expire)
    }

    /// Sets or clears the expiry. Only `Db` keeps the `expires` index in step with it: go
    /// through `Db::set_expire`, `Db::remove_expire` or `Db::put` for a key in the keyspace.
    pub fn set_expire_at(&mut self, at: Option<i64>) {
        self.expire = at.unwrap_or(NO_EXPIRE);
    }

    /// The key's cost in the memory model, as last counted (`Db::put`, `Db::recost`).
    pub fn mem(&self) -> u64 {
        self.meta & MEM_MASK
    }

    /// Records the key's cost. A cost past `MAX_MEM` (a single key of over 1 TiB) is kept as
    /// `MAX_MEM`; the database total adds and removes the same stored value, so it stays
    /// consistent.
    pub fn set_mem(&mut self, bytes: u64) {
        self.meta = (self.meta & !MEM_MASK) | bytes.min(MEM_MASK);
    }

    /// Redis's 8-bit logarithmic access counter.
    pub fn lfu_counter(&self) -> u8 {
        (self.meta >> 56) as u8
    }

    /// The minute (of the engine's 16-bit minute clock) of the counter's last change.
    pub fn lfu_minutes(&self) -> u16 {
        (self.meta >> MEM_BITS) as u16
    }

    pub fn set_lfu(&mut self, counter: u8, minutes: u16) {
        self.meta = (self.meta & MEM_MASK) | (minutes as u64) << MEM_BITS | (counter as u64) << 56;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_entry_stays_small() {
        // What each key of the keyspace pays, besides its key bytes, inside its dict node.
        assert_eq!(std::mem::size_of::<Value>(), 32);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }

    #[test]
    fn expiry_reads_back_as_set() {
        let mut e = Entry::new(Value::Str(RString::Int(1)), 0);
        assert_eq!(e.expire_at(), None);
        for at in [
            Some(0),
            Some(-1),
            Some(i64::MAX),
            Some(1_764_000_000_000),
            None,
        ] {
            e.set_expire_at(at);
            assert_eq!(e.expire_at(), at);
        }
    }

    #[test]
    fn packed_fields_do_not_disturb_each_other() {
        let mut e = Entry::new(Value::Str(RString::Int(1)), 61 * 60_000);
        assert_eq!(
            (e.lfu_counter(), e.lfu_minutes(), e.mem()),
            (LFU_INIT_VAL, 61, 0)
        );
        e.set_mem(123_456_789_012);
        e.set_lfu(255, 0xffff);
        assert_eq!(
            (e.lfu_counter(), e.lfu_minutes(), e.mem()),
            (255, 0xffff, 123_456_789_012)
        );
        e.set_mem(7);
        e.set_lfu(0, 0);
        assert_eq!((e.lfu_counter(), e.lfu_minutes(), e.mem()), (0, 0, 7));
        e.set_mem(u64::MAX);
        assert_eq!((e.lfu_counter(), e.mem()), (0, MEM_MASK));
    }

    #[test]
    fn short_embstr_values_are_inline_and_read_back() {
        for len in [0, 1, EMBSTR_INLINE, EMBSTR_INLINE + 1, EMBSTR_SIZE_LIMIT] {
            let bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let s = RString::from_bytes(&bytes);
            assert_eq!(s.encoding(), "embstr");
            assert_eq!(s.to_bytes(), bytes);
            assert_eq!(s.len(), len);
            let RString::Embstr(emb) = &s else { panic!() };
            assert_eq!(matches!(emb, EmbStr::Inline { .. }), len <= EMBSTR_INLINE);
            assert_eq!(s, RString::from_bytes_no_int(bytes.clone()));
        }
    }
}
