//! `Key`: the bytes a `Dict` entry is filed under, in 16 bytes on every target (the size of the
//! `Box<[u8]>` it replaces on 64-bit targets; on wasm32, twice the box's 8).
//!
//! Why not `Box<[u8]>`: nearly every key of a keyspace is short (`user:1000`, `session:ab12`),
//! and a boxed slice costs a 16-byte fat pointer plus a heap block of its own (16 bytes or more
//! in mimalloc) per key. A key of up to `INLINE_CAP` bytes (15) is kept inside the 16 bytes
//! instead, so it costs no allocation; a longer one keeps a pointer to its bytes and its length,
//! as the box did. wasm32 keeps the same 15 inline bytes rather than the 7 its two words would
//! hold: the keys learners type (`user:1000`, `rate:user:42`) are mostly 8 to 15 bytes, and
//! there a separate block (16 bytes in dlmalloc, and a cache miss per lookup) costs more than
//! the 8 bytes the wider key adds.
//!
//! Layout (`#[repr(C)]`, no padding):
//!
//! ```text
//! offset 0           HEAD (8)          15
//!        | head       | tail            | tag |
//! inline | bytes 0..  | bytes HEAD..    | len + 1           (1 ..= INLINE_CAP + 1)
//! heap   | pointer    | length, low     | 0x80 | length's top 7 bits
//! ```
//!
//! The tag byte is never 0, so `Option<Key>` and the dict's `Slot` (`Used(node)` or
//! `Free { next_free }`) need no word of their own: 0 is their niche. A heap key's length has
//! 63 bits, which holds any length an allocation can have (`isize::MAX`).
//!
//! This is the engine's only `unsafe` code; every block says why it is sound. The tests below
//! cover every length across the inline/heap boundary and run under Miri
//! (`cargo +nightly miri test -p cachelab-engine dict::key`).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem::{offset_of, size_of, ManuallyDrop};
use std::num::NonZeroU8;
use std::ops::Deref;
use std::ptr;

/// Bytes of `head`: a pointer on every supported target, or the first bytes of an inline key.
const HEAD: usize = 8;
const _: () = assert!(size_of::<usize>() <= HEAD);
/// The longest key kept inside the `Key` itself: every byte but the tag.
pub const INLINE_CAP: usize = 2 * HEAD - 1;
/// Set in the tag of a key whose bytes are on the heap.
const HEAP: u8 = 0x80;

#[repr(C)]
#[derive(Clone, Copy)]
union Head {
    /// The first `HEAD` bytes of an inline key.
    bytes: [u8; HEAD],
    /// A heap key's bytes, from `Box::<[u8]>::into_raw`.
    ptr: *mut u8,
}

#[repr(C)]
pub struct Key {
    head: Head,
    /// Inline: bytes `HEAD..INLINE_CAP`. Heap: the length's low `HEAD - 1` bytes, little-endian.
    tail: [u8; HEAD - 1],
    tag: NonZeroU8,
}

// The inline bytes are read as one run from offset 0: head and tail must be adjacent.
const _: () = assert!(offset_of!(Key, tail) == HEAD);
const _: () = assert!(offset_of!(Key, tag) == INLINE_CAP);
const _: () = assert!(size_of::<Key>() == 2 * HEAD);
const _: () = assert!(size_of::<Option<Key>>() == size_of::<Key>());

// SAFETY: a `Key` owns its heap bytes alone (cloning copies them) and never changes them through
// `&Key`, exactly like the `Box<[u8]>` it stands for, which is `Send` and `Sync`.
unsafe impl Send for Key {}
// SAFETY: as for `Send`: no interior mutability, no shared ownership.
unsafe impl Sync for Key {}

impl Key {
    #[inline]
    fn is_inline(&self) -> bool {
        self.tag.get() & HEAP == 0
    }

    fn inline(bytes: &[u8]) -> Key {
        debug_assert!(bytes.len() <= INLINE_CAP);
        // Unused bytes are zero, so that every byte of an inline key is initialized.
        let mut buf = [0u8; INLINE_CAP];
        buf[..bytes.len()].copy_from_slice(bytes);
        let mut head = [0u8; HEAD];
        head.copy_from_slice(&buf[..HEAD]);
        let mut tail = [0u8; HEAD - 1];
        tail.copy_from_slice(&buf[HEAD..]);
        Key {
            head: Head { bytes: head },
            tail,
            tag: NonZeroU8::new(bytes.len() as u8 + 1).expect("len + 1 is not 0"),
        }
    }

    /// Takes over a boxed slice longer than `INLINE_CAP` without copying it.
    fn heap(bytes: Box<[u8]>) -> Key {
        debug_assert!(bytes.len() > INLINE_CAP);
        let len = (bytes.len() as u64).to_le_bytes();
        // An allocation is at most isize::MAX bytes, so the length's top bit is clear and its
        // top byte fits under the HEAP flag.
        debug_assert!(len[HEAD - 1] & HEAP == 0);
        let mut tail = [0u8; HEAD - 1];
        tail.copy_from_slice(&len[..HEAD - 1]);
        Key {
            head: Head {
                ptr: Box::into_raw(bytes).cast::<u8>(),
            },
            tail,
            tag: NonZeroU8::new(HEAP | len[HEAD - 1]).expect("HEAP is not 0"),
        }
    }

    #[inline]
    fn heap_len(&self) -> usize {
        let mut len = [0u8; HEAD];
        len[..HEAD - 1].copy_from_slice(&self.tail);
        len[HEAD - 1] = self.tag.get() & !HEAP;
        // It came from a `usize` (`heap`).
        u64::from_le_bytes(len) as usize
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        if self.is_inline() {
            let len = usize::from(self.tag.get() - 1);
            // SAFETY: `Key` is `repr(C)` with `head` ([u8; HEAD] in an inline key) at offset 0
            // and `tail` right after it (asserted above), so its first INLINE_CAP bytes are the
            // key's bytes, all initialized by `inline`, and `len <= INLINE_CAP`. The slice
            // borrows `self`, which is neither changed nor dropped while it lives.
            unsafe { std::slice::from_raw_parts((self as *const Key).cast::<u8>(), len) }
        } else {
            // SAFETY: a heap key's `head.ptr` came from `Box::<[u8]>::into_raw` of a slice of
            // `heap_len()` bytes (`heap`), which this key owns alone and frees only in `drop` or
            // `into_boxed_slice`, both of which need `self` by value or `&mut`.
            unsafe { std::slice::from_raw_parts(self.head.ptr, self.heap_len()) }
        }
    }

    pub fn into_boxed_slice(self) -> Box<[u8]> {
        if self.is_inline() {
            return Box::from(self.as_bytes());
        }
        let this = ManuallyDrop::new(self);
        // SAFETY: as in `as_bytes`, `head.ptr` and `heap_len()` are the parts of a boxed slice
        // this key owns; `ManuallyDrop` keeps `drop` from freeing it a second time.
        unsafe {
            Box::from_raw(ptr::slice_from_raw_parts_mut(
                this.head.ptr,
                this.heap_len(),
            ))
        }
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.into_boxed_slice().into_vec()
    }
}

impl Drop for Key {
    #[inline]
    fn drop(&mut self) {
        if !self.is_inline() {
            // SAFETY: as in `into_boxed_slice`; the key is never used again after `drop`.
            unsafe {
                drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
                    self.head.ptr,
                    self.heap_len(),
                )))
            }
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        if self.is_inline() {
            Key {
                head: self.head,
                tail: self.tail,
                tag: self.tag,
            }
        } else {
            Key::heap(Box::from(self.as_bytes()))
        }
    }
}

impl From<&[u8]> for Key {
    fn from(bytes: &[u8]) -> Key {
        if bytes.len() <= INLINE_CAP {
            Key::inline(bytes)
        } else {
            Key::heap(Box::from(bytes))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(bytes: &[u8; N]) -> Key {
        Key::from(bytes.as_slice())
    }
}

impl From<Box<[u8]>> for Key {
    fn from(bytes: Box<[u8]>) -> Key {
        if bytes.len() <= INLINE_CAP {
            Key::inline(&bytes)
        } else {
            Key::heap(bytes)
        }
    }
}

impl From<Vec<u8>> for Key {
    fn from(bytes: Vec<u8>) -> Key {
        if bytes.len() <= INLINE_CAP {
            Key::inline(&bytes)
        } else {
            Key::heap(bytes.into_boxed_slice())
        }
    }
}

impl From<Key> for Box<[u8]> {
    fn from(key: Key) -> Box<[u8]> {
        key.into_boxed_slice()
    }
}

impl From<Key> for Vec<u8> {
    fn from(key: Key) -> Vec<u8> {
        key.into_vec()
    }
}

impl Deref for Key {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Key {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::inline(&[])
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialEq<[u8]> for Key {
    #[inline]
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for Key {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// The same hash as the `[u8]` it borrows as, as `Borrow` requires.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

/// Printed as the byte slice would be, so that messages read as they did with `Box<[u8]>`.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_bytes(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::collections::HashSet;

    /// Distinct bytes per length, so that a key read with the wrong length or offset shows.
    fn bytes(len: usize, salt: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
            .collect()
    }

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn sixteen_bytes_with_a_niche_on_every_target() {
        assert_eq!((size_of::<Key>(), INLINE_CAP), (16, 15));
        assert_eq!(size_of::<Option<Key>>(), size_of::<Key>());
    }

    #[test]
    fn every_length_reads_back_from_every_constructor() {
        for len in 0..=64 {
            let b = bytes(len, len as u8);
            let keys = [
                Key::from(b.as_slice()),
                Key::from(b.clone()),
                Key::from(b.clone().into_boxed_slice()),
                // A vector with spare capacity is shrunk to its length on the heap.
                Key::from({
                    let mut v = Vec::with_capacity(len + 9);
                    v.extend_from_slice(&b);
                    v
                }),
            ];
            for k in &keys {
                assert_eq!(k.len(), len);
                assert_eq!(&**k, b.as_slice());
                assert_eq!(k.is_inline(), len <= INLINE_CAP, "len {len}");
                assert_eq!(k.clone().into_vec(), b);
                assert_eq!(&*k.clone().into_boxed_slice(), b.as_slice());
                assert_eq!(Vec::from(k.clone()), b);
                assert_eq!(format!("{k:?}"), format!("{:?}", b.as_slice()));
            }
        }
    }

    #[test]
    fn clone_drop_compare_hash_across_the_boundary() {
        let all: Vec<Key> = (0..=64)
            .flat_map(|len| [bytes(len, 1), bytes(len, 2)])
            .map(Key::from)
            .collect();
        let clones: Vec<Key> = all.iter().cloned().collect();
        for (a, b) in all.iter().zip(&clones) {
            assert_eq!(a, b);
            assert_eq!(hash_of(a), hash_of(b));
            assert_eq!(
                hash_of(a),
                hash_of(a.as_bytes()),
                "Borrow<[u8]> hashes alike"
            );
            assert!(a == b.as_bytes());
        }
        for a in &all {
            for b in &clones {
                assert_eq!(a == b, a.as_bytes() == b.as_bytes());
                assert_eq!(a.cmp(b), a.as_bytes().cmp(b.as_bytes()));
                assert_eq!(a.partial_cmp(b), Some(a.as_bytes().cmp(b.as_bytes())));
            }
        }
        // A key one byte longer than another with the same prefix, on each side of INLINE_CAP.
        for len in [INLINE_CAP - 1, INLINE_CAP, INLINE_CAP + 1] {
            let short = Key::from(bytes(len, 7));
            let long = Key::from(bytes(len + 1, 7));
            assert_ne!(short, long);
            assert!(short < long);
        }
        let set: HashSet<Key> = clones.into_iter().collect();
        assert_eq!(set.len(), all.len() - 1, "the two empty keys are one");
        for a in &all {
            assert!(set.contains(a.as_bytes()));
        }
        // Dropping a moved-from clone, the original and the set frees every heap key once
        // (Miri reports a double free or a leak).
        drop(all);
        drop(set);
    }

    #[test]
    fn clones_are_independent() {
        for len in [0, 1, INLINE_CAP, INLINE_CAP + 1, 64] {
            let a = Key::from(bytes(len, 3));
            let b = a.clone();
            drop(a);
            assert_eq!(&*b, bytes(len, 3).as_slice());
            let mut v = b.clone().into_vec();
            v.push(9);
            assert_eq!(b.len(), len);
        }
    }

    #[test]
    fn default_is_empty() {
        assert!(Key::default().is_empty());
        assert_eq!(Key::default(), Key::from(&b""[..]));
    }
}
