//! Lists. Redis 7.0 reports every list as `quicklist` (a linked list of listpacks).
//!
//! The structure follows the same idea, for the same reasons: a deque of nodes, each node one
//! packed byte buffer of a few kilobytes holding many elements back to back. Pushing and popping
//! at either end touches only the end node; finding an index walks whole nodes by their element
//! counts and then entries within one node; and an element costs its bytes plus two or three
//! bytes of framing, as in a listpack, instead of a heap allocation of its own.
//!
//! Entry layout inside a node (this crate's own format):
//!
//! ```text
//! header [payload] backlen
//! ```
//!
//! * header `0x00..=0x7f`: the integer 0..127, no payload;
//! * header `0x80 | len` (len < 64) or `0xc0 | len >> 8, len & 0xff` (len < 8192): a string
//!   of `len` bytes follows; `0xf0` + 8-byte little-endian length for longer strings;
//! * header `0xe0..=0xe4`: a signed integer of 1, 2, 3, 4 or 8 little-endian bytes follows.
//!
//! An element is stored as an integer only when it is the canonical decimal form of an i64
//! (Redis's strict `string2ll`), so writing the integer back out gives the original bytes.
//! `backlen` is the size of header + payload written in base 128, lowest digit last, so that the
//! entry can also be found walking backwards from its end.

use std::collections::VecDeque;
use std::fmt;

use crate::memory::quicklist_lp_alloc;
use crate::numfmt::parse_i64;

/// Largest node in bytes for each negative `list-max-listpack-size` (-1 to -5).
const SIZE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a positive `list-max-listpack-size` (an element count), nodes still stop growing here.
const SIZE_SAFETY_LIMIT: usize = 8192;

const STR6: u8 = 0x80;
const STR13: u8 = 0xc0;
const INT8: u8 = 0xe0;
const INT16: u8 = 0xe1;
const INT24: u8 = 0xe2;
const INT32: u8 = 0xe3;
const INT64: u8 = 0xe4;
const STR64: u8 = 0xf0;

/// One element as stored: the bytes, or the integer whose decimal form they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Bytes(b) => b.to_vec(),
            Elem::Int(v) => {
                // Decimal digits without going through `fmt` (LRANGE of a list of numbers).
                let mut buf = [0u8; 20];
                let mut i = buf.len();
                let mut u = v.unsigned_abs();
                loop {
                    i -= 1;
                    buf[i] = b'0' + (u % 10) as u8;
                    u /= 10;
                    if u == 0 {
                        break;
                    }
                }
                let mut out = Vec::with_capacity(buf.len() - i + 1);
                if v < 0 {
                    out.push(b'-');
                }
                out.extend_from_slice(&buf[i..]);
                out
            }
        }
    }

    /// Whether this element equals `needle` byte for byte.
    pub fn matches(self, needle: &Needle) -> bool {
        match self {
            Elem::Bytes(b) => b == needle.bytes,
            Elem::Int(v) => needle.int == Some(v),
        }
    }
}

/// A value searched for (LREM, LPOS, LINSERT's pivot), with its integer form worked out once.
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Needle<'a> {
        Needle {
            bytes,
            int: as_int(bytes),
        }
    }
}

fn as_int(v: &[u8]) -> Option<i64> {
    if v.len() <= 20 {
        parse_i64(v)
    } else {
        None
    }
}

/// Size of header + payload for `v`.
fn body_len(v: &[u8]) -> usize {
    match as_int(v) {
        Some(n) => 1 + int_width(n),
        None => header_len(v.len()) + v.len(),
    }
}

fn int_width(n: i64) -> usize {
    if (0..128).contains(&n) {
        0
    } else if i8::try_from(n).is_ok() {
        1
    } else if i16::try_from(n).is_ok() {
        2
    } else if (-(1 << 23)..(1 << 23)).contains(&n) {
        3
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

fn header_len(len: usize) -> usize {
    if len < 64 {
        1
    } else if len < 8192 {
        2
    } else {
        9
    }
}

fn backlen_len(body: usize) -> usize {
    let mut n = 1;
    let mut v = body >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// Bytes `v` takes in a node, framing included.
fn entry_len(v: &[u8]) -> usize {
    let b = body_len(v);
    b + backlen_len(b)
}

/// Where an entry is written: the end of a buffer, or a slice reserved for it.
trait Sink {
    fn push(&mut self, b: u8);
    fn extend_from_slice(&mut self, s: &[u8]);
}

impl Sink for Vec<u8> {
    fn push(&mut self, b: u8) {
        Vec::push(self, b)
    }
    fn extend_from_slice(&mut self, s: &[u8]) {
        Vec::extend_from_slice(self, s)
    }
}

/// A slice filled from its start (exactly `entry_len` bytes long).
struct SliceSink<'a>(&'a mut [u8], usize);

impl Sink for SliceSink<'_> {
    fn push(&mut self, b: u8) {
        self.0[self.1] = b;
        self.1 += 1;
    }
    fn extend_from_slice(&mut self, s: &[u8]) {
        self.0[self.1..self.1 + s.len()].copy_from_slice(s);
        self.1 += s.len();
    }
}

fn encode(v: &[u8], out: &mut impl Sink) {
    let body = match as_int(v) {
        Some(n) => {
            let w = int_width(n);
            if w == 0 {
                out.push(n as u8);
            } else {
                out.push(match w {
                    1 => INT8,
                    2 => INT16,
                    3 => INT24,
                    4 => INT32,
                    _ => INT64,
                });
                out.extend_from_slice(&n.to_le_bytes()[..w]);
            }
            1 + w
        }
        None => {
            let len = v.len();
            if len < 64 {
                out.push(STR6 | len as u8);
            } else if len < 8192 {
                out.push(STR13 | (len >> 8) as u8);
                out.push(len as u8);
            } else {
                out.push(STR64);
                out.extend_from_slice(&(len as u64).to_le_bytes());
            }
            out.extend_from_slice(v);
            header_len(len) + len
        }
    };
    // Highest base-128 digit first. Read from the end, a set high bit means "another digit
    // before this one", so the first byte (the highest digit) is the only one without it and
    // the walk backwards never strays into the payload.
    let n = backlen_len(body);
    for i in (0..n).rev() {
        let digit = ((body >> (7 * i)) & 0x7f) as u8;
        out.push(if i + 1 < n { digit | 0x80 } else { digit });
    }
}

/// Decodes the entry starting at `pos`: the element and the size of header + payload.
fn decode(buf: &[u8], pos: usize) -> (Elem<'_>, usize) {
    let h = buf[pos];
    let int = |w: usize| {
        let mut bytes = [0u8; 8];
        bytes[..w].copy_from_slice(&buf[pos + 1..pos + 1 + w]);
        // Sign-extend from the stored width.
        let shift = 64 - 8 * w as u32;
        ((i64::from_le_bytes(bytes) << shift) >> shift, 1 + w)
    };
    match h {
        0x00..=0x7f => (Elem::Int(h as i64), 1),
        0x80..=0xbf => {
            let len = (h & 0x3f) as usize;
            (Elem::Bytes(&buf[pos + 1..pos + 1 + len]), 1 + len)
        }
        0xc0..=0xdf => {
            let len = (((h & 0x1f) as usize) << 8) | buf[pos + 1] as usize;
            (Elem::Bytes(&buf[pos + 2..pos + 2 + len]), 2 + len)
        }
        INT8 | INT16 | INT24 | INT32 | INT64 => {
            let w = [1, 2, 3, 4, 8][(h - INT8) as usize];
            let (v, size) = int(w);
            (Elem::Int(v), size)
        }
        _ => {
            let mut len = [0u8; 8];
            len.copy_from_slice(&buf[pos + 1..pos + 9]);
            let len = u64::from_le_bytes(len) as usize;
            (Elem::Bytes(&buf[pos + 9..pos + 9 + len]), 9 + len)
        }
    }
}

/// Total size of the entry starting at `pos`.
fn span_at(buf: &[u8], pos: usize) -> usize {
    let (_, body) = decode(buf, pos);
    body + backlen_len(body)
}

/// Start of the entry that ends at `end`.
fn start_before(buf: &[u8], end: usize) -> usize {
    let mut p = end - 1;
    let mut body = (buf[p] & 0x7f) as usize;
    let mut shift = 7;
    while buf[p] & 0x80 != 0 {
        p -= 1;
        body |= ((buf[p] & 0x7f) as usize) << shift;
        shift += 7;
    }
    end - backlen_len(body) - body
}

/// One packed run of entries. `buf[off..]` holds them; bytes before `off` are room left by
/// pops at the front (reused by pushes at the front, given back once they outweigh the rest).
#[derive(Clone, Default)]
struct Node {
    buf: Vec<u8>,
    off: usize,
    count: usize,
}

impl Node {
    fn live(&self) -> usize {
        self.buf.len() - self.off
    }

    /// Appends `v`. `limit` is the node's size limit: growth stops there instead of doubling
    /// past it, since the node will not take more.
    fn push_back(&mut self, v: &[u8], limit: usize) {
        let want = self.buf.len() + entry_len(v);
        if want > self.buf.capacity() {
            let target = (self.buf.capacity() * 2).min(self.off + limit).max(want);
            self.buf.reserve_exact(target - self.buf.len());
        }
        encode(v, &mut self.buf);
        self.count += 1;
    }

    /// Prepends `v`; `limit` as for `push_back`.
    fn push_front(&mut self, v: &[u8], limit: usize) {
        let need = entry_len(v);
        if self.off < need {
            // Leave as much room again as the node holds (but no more than the node can still
            // take), so that a run of pushes at the front moves its bytes a logarithmic number
            // of times.
            let gap = (need + self.live()).min(limit.saturating_sub(self.live()).max(need));
            let mut buf = Vec::with_capacity(gap + self.live());
            buf.resize(gap, 0);
            buf.extend_from_slice(&self.buf[self.off..]);
            self.buf = buf;
            self.off = gap;
        }
        let start = self.off - need;
        encode(v, &mut SliceSink(&mut self.buf[start..self.off], 0));
        self.off = start;
        self.count += 1;
    }

    /// Drops the first `n` entries.
    fn drop_front(&mut self, n: usize) {
        let mut pos = self.off;
        for _ in 0..n {
            pos += span_at(&self.buf, pos);
        }
        self.off = pos;
        self.count -= n;
        self.compact();
    }

    /// Drops the last `n` entries.
    fn drop_back(&mut self, n: usize) {
        let mut end = self.buf.len();
        for _ in 0..n {
            end = start_before(&self.buf, end);
        }
        self.buf.truncate(end);
        self.count -= n;
    }

    fn compact(&mut self) {
        if self.count == 0 {
            self.buf = Vec::new();
            self.off = 0;
        } else if self.off > self.live() {
            self.buf.drain(..self.off);
            self.off = 0;
        }
    }

    /// Byte offset of the `i`th entry of this node, walking from the nearer end.
    fn offset_of(&self, i: usize) -> usize {
        if i <= self.count / 2 {
            let mut pos = self.off;
            for _ in 0..i {
                pos += span_at(&self.buf, pos);
            }
            pos
        } else {
            let mut end = self.buf.len();
            for _ in i..self.count {
                end = start_before(&self.buf, end);
            }
            end
        }
    }

    /// The (start, end) of every entry, in order.
    fn spans(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.count);
        let mut pos = self.off;
        while pos < self.buf.len() {
            let end = pos + span_at(&self.buf, pos);
            out.push((pos, end));
            pos = end;
        }
        out
    }
}

/// What the memory model allocates for `node`'s listpack.
fn lp_alloc(node: &Node) -> u64 {
    quicklist_lp_alloc(node.live())
}

/// A Redis list. Every change to a node's entries, and every node added or removed, keeps
/// `lp_alloc` equal to the sum of `lp_alloc(node)` over the nodes.
#[derive(Clone)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// What the nodes' listpacks are allocated, summed, so that the memory model costs a list
    /// after each write in constant time. Visiting 64 nodes from the ends instead took a fifth
    /// of the CPU of an LPOP on a list of two million elements (bench/README.md).
    lp_alloc: u64,
    /// `list-max-listpack-size` when the list was created: nodes are sized by it, as Redis sets a
    /// quicklist's fill once at creation.
    fill: i32,
}

impl Default for List {
    fn default() -> Self {
        List::new(-2)
    }
}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|e| String::from_utf8_lossy(&e.to_vec()).into_owned()),
            )
            .finish()
    }
}

impl List {
    /// An empty list whose nodes follow `list-max-listpack-size` = `fill`.
    pub fn new(fill: i64) -> List {
        List {
            nodes: VecDeque::new(),
            len: 0,
            lp_alloc: 0,
            fill: fill.clamp(-5, 1 << 15) as i32,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Number of nodes, for tests and memory estimates.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes of packed entries in each node, head first (the memory model sizes each node's
    /// listpack from these).
    pub fn node_entry_bytes(
        &self,
    ) -> impl DoubleEndedIterator<Item = usize> + ExactSizeIterator + '_ {
        self.nodes.iter().map(|n| n.live())
    }

    /// The sum over the nodes of what the memory model allocates for each node's listpack
    /// (`memory::quicklist_lp_alloc` of its entry bytes).
    pub fn listpack_alloc(&self) -> u64 {
        self.lp_alloc
    }

    /// Applies `change` to node `n`, keeping `lp_alloc` in step with the node's size.
    fn change_node<R>(&mut self, n: usize, change: impl FnOnce(&mut Node) -> R) -> R {
        let node = &mut self.nodes[n];
        let before = lp_alloc(node);
        let out = change(node);
        self.lp_alloc = self.lp_alloc - before + lp_alloc(node);
        out
    }

    fn insert_node(&mut self, n: usize, node: Node) {
        self.lp_alloc += lp_alloc(&node);
        if self.nodes.capacity() == 0 {
            // Most lists are small: one node slot, not the deque's default of four.
            self.nodes.reserve_exact(1);
        }
        self.nodes.insert(n, node);
    }

    fn remove_node(&mut self, n: usize) {
        if let Some(node) = self.nodes.remove(n) {
            self.lp_alloc -= lp_alloc(&node);
        }
    }

    /// Bytes held by the nodes' buffers (allocated, not just used).
    pub fn allocated_bytes(&self) -> usize {
        self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    fn size_limit(&self) -> usize {
        if self.fill < 0 {
            SIZE_LIMITS[(-self.fill - 1) as usize]
        } else {
            SIZE_SAFETY_LIMIT
        }
    }

    /// Whether `node` may take another entry of `add` bytes.
    fn fits(&self, node: &Node, add: usize) -> bool {
        if node.count == 0 {
            return true;
        }
        if self.fill >= 0 && node.count >= self.fill.max(1) as usize {
            return false;
        }
        node.live() + add <= self.size_limit()
    }

    /// Whether `node` has grown past its limits (after an insert or a replacement).
    fn overfull(&self, node: &Node) -> bool {
        node.count > 1
            && (node.live() > self.size_limit()
                || (self.fill >= 0 && node.count > self.fill.max(1) as usize))
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let need = entry_len(v);
        let limit = self.size_limit();
        if !self.nodes.front().is_some_and(|n| self.fits(n, need)) {
            self.insert_node(0, Node::default());
        }
        self.change_node(0, |n| n.push_front(v, limit));
        self.len += 1;
    }

    pub fn push_back(&mut self, v: &[u8]) {
        let need = entry_len(v);
        let limit = self.size_limit();
        if !self.nodes.back().is_some_and(|n| self.fits(n, need)) {
            self.insert_node(self.nodes.len(), Node::default());
        }
        self.change_node(self.nodes.len() - 1, |n| n.push_back(v, limit));
        self.len += 1;
    }

    pub fn push(&mut self, v: &[u8], front: bool) {
        if front {
            self.push_front(v)
        } else {
            self.push_back(v)
        }
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        if self.nodes.is_empty() {
            return None;
        }
        let (v, emptied) = self.change_node(0, |node| {
            let v = decode(&node.buf, node.off).0.to_vec();
            node.drop_front(1);
            (v, node.count == 0)
        });
        if emptied {
            self.remove_node(0);
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let last = self.nodes.len().checked_sub(1)?;
        let (v, emptied) = self.change_node(last, |node| {
            let start = start_before(&node.buf, node.buf.len());
            let v = decode(&node.buf, start).0.to_vec();
            node.drop_back(1);
            (v, node.count == 0)
        });
        if emptied {
            self.remove_node(last);
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop(&mut self, front: bool) -> Option<Vec<u8>> {
        if front {
            self.pop_front()
        } else {
            self.pop_back()
        }
    }

    /// Removes `n` elements from the head and `m` from the tail (LTRIM, counted pops).
    pub fn trim(&mut self, mut n: usize, mut m: usize) {
        n = n.min(self.len);
        m = m.min(self.len - n);
        self.len -= n + m;
        while n > 0 {
            let Some(node) = self.nodes.front() else {
                break;
            };
            if node.count <= n {
                n -= node.count;
                self.remove_node(0);
            } else {
                self.change_node(0, |node| node.drop_front(n));
                n = 0;
            }
        }
        while m > 0 {
            let Some(node) = self.nodes.back() else {
                break;
            };
            if node.count <= m {
                m -= node.count;
                self.remove_node(self.nodes.len() - 1);
            } else {
                self.change_node(self.nodes.len() - 1, |node| node.drop_back(m));
                m = 0;
            }
        }
    }

    /// A Redis index (negative counts from the tail) as a position, if it is in range.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let i = if index < 0 {
            self.len as i64 + index
        } else {
            index
        };
        (0..self.len as i64).contains(&i).then_some(i as usize)
    }

    /// (node, byte offset) of the element at position `i` (< len), walking from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut rest = i;
            for (n, node) in self.nodes.iter().enumerate() {
                if rest < node.count {
                    return (n, node.offset_of(rest));
                }
                rest -= node.count;
            }
        } else {
            let mut rest = self.len - 1 - i;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                if rest < node.count {
                    return (n, node.offset_of(node.count - 1 - rest));
                }
                rest -= node.count;
            }
        }
        unreachable!("position {i} checked against the list's length")
    }

    pub fn get(&self, index: i64) -> Option<Vec<u8>> {
        let i = self.resolve(index)?;
        let (n, pos) = self.locate(i);
        Some(decode(&self.nodes[n].buf, pos).0.to_vec())
    }

    /// Replaces the element at `index`; false when the index is out of range.
    pub fn set(&mut self, index: i64, v: &[u8]) -> bool {
        let Some(i) = self.resolve(index) else {
            return false;
        };
        let (n, pos) = self.locate(i);
        let mut enc = Vec::with_capacity(entry_len(v));
        encode(v, &mut enc);
        self.change_node(n, |node| {
            let end = pos + span_at(&node.buf, pos);
            node.buf.splice(pos..end, enc);
        });
        self.split_if_overfull(n);
        true
    }

    /// Inserts `v` before or after the first element equal to `pivot`, searching from the
    /// head. False when there is no such element.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        let needle = Needle::new(pivot);
        let mut found = None;
        'search: for (n, node) in self.nodes.iter().enumerate() {
            let mut pos = node.off;
            while pos < node.buf.len() {
                let (e, body) = decode(&node.buf, pos);
                let end = pos + body + backlen_len(body);
                if e.matches(&needle) {
                    found = Some((n, if after { end } else { pos }));
                    break 'search;
                }
                pos = end;
            }
        }
        let Some((n, at)) = found else {
            return false;
        };
        let mut enc = Vec::with_capacity(entry_len(v));
        encode(v, &mut enc);
        self.change_node(n, |node| {
            node.buf.splice(at..at, enc);
            node.count += 1;
        });
        self.len += 1;
        self.split_if_overfull(n);
        true
    }

    fn split_if_overfull(&mut self, n: usize) {
        if !self.overfull(&self.nodes[n]) {
            return;
        }
        let tail = self.change_node(n, |node| {
            let half = node.count / 2;
            let cut = node.offset_of(half);
            let tail = Node {
                buf: node.buf[cut..].to_vec(),
                off: 0,
                count: node.count - half,
            };
            node.buf.truncate(cut);
            node.count = half;
            tail
        });
        self.insert_node(n + 1, tail);
    }

    /// Removes elements equal to `v`: at most `limit` of them (0: all), the first ones from
    /// the head, or from the tail when `from_tail`. Returns how many were removed.
    pub fn remove(&mut self, v: &[u8], limit: usize, from_tail: bool) -> usize {
        let needle = Needle::new(v);
        let mut removed = 0;
        let order: Vec<usize> = if from_tail {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        for n in order {
            if limit != 0 && removed == limit {
                break;
            }
            let node = &self.nodes[n];
            let spans = node.spans();
            let mut drop = vec![false; spans.len()];
            let mut any = false;
            let idxs: Box<dyn Iterator<Item = usize>> = if from_tail {
                Box::new((0..spans.len()).rev())
            } else {
                Box::new(0..spans.len())
            };
            for i in idxs {
                if limit != 0 && removed == limit {
                    break;
                }
                if decode(&node.buf, spans[i].0).0.matches(&needle) {
                    drop[i] = true;
                    removed += 1;
                    any = true;
                }
            }
            if !any {
                continue;
            }
            let mut buf = Vec::with_capacity(node.live());
            let mut count = 0;
            for (i, &(s, e)) in spans.iter().enumerate() {
                if !drop[i] {
                    buf.extend_from_slice(&node.buf[s..e]);
                    count += 1;
                }
            }
            self.change_node(n, |node| {
                node.buf = buf;
                node.off = 0;
                node.count = count;
            });
        }
        let lp = &mut self.lp_alloc;
        self.nodes.retain(|n| {
            if n.count == 0 {
                *lp -= lp_alloc(n);
            }
            n.count > 0
        });
        self.len -= removed;
        removed
    }

    /// Elements from the head.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Elements from position `i` towards the tail.
    pub fn iter_from(&self, i: usize) -> Iter<'_> {
        if i >= self.len {
            return Iter {
                list: self,
                node: 0,
                buf: &[],
                pos: 0,
                remaining: 0,
            };
        }
        let (node, pos) = self.locate(i);
        Iter {
            list: self,
            node,
            buf: &self.nodes[node].buf,
            pos,
            remaining: self.len - i,
        }
    }

    /// Elements from position `i` towards the head.
    pub fn iter_rev_from(&self, i: usize) -> RevIter<'_> {
        if i >= self.len {
            return RevIter {
                list: self,
                node: 0,
                end: 0,
                remaining: 0,
            };
        }
        let (node, pos) = self.locate(i);
        RevIter {
            list: self,
            node,
            end: pos + span_at(&self.nodes[node].buf, pos),
            remaining: i + 1,
        }
    }

    /// Elements from the tail.
    pub fn iter_rev(&self) -> RevIter<'_> {
        self.iter_rev_from(self.len.wrapping_sub(1))
    }
}

impl<'a> FromIterator<&'a [u8]> for List {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(items: I) -> List {
        let mut l = List::default();
        for v in items {
            l.push_back(v);
        }
        l
    }
}

pub struct Iter<'a> {
    list: &'a List,
    node: usize,
    /// The bytes of node `node`, kept at hand rather than looked up in the deque per element
    /// (LRANGE walks a hundred elements a call).
    buf: &'a [u8],
    pos: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.remaining == 0 {
            return None;
        }
        while self.pos >= self.buf.len() {
            self.node += 1;
            let node = &self.list.nodes[self.node];
            self.buf = &node.buf;
            self.pos = node.off;
        }
        let (e, body) = decode(self.buf, self.pos);
        // Bodies under 128 bytes (short strings, all integers) have a one-byte backlen.
        self.pos += body + if body < 128 { 1 } else { backlen_len(body) };
        self.remaining -= 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

pub struct RevIter<'a> {
    list: &'a List,
    node: usize,
    /// End of the next entry to yield.
    end: usize,
    remaining: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let mut node = &self.list.nodes[self.node];
        while self.end <= node.off {
            self.node -= 1;
            node = &self.list.nodes[self.node];
            self.end = node.buf.len();
        }
        let start = start_before(&node.buf, self.end);
        self.end = start;
        self.remaining -= 1;
        Some(decode(&node.buf, start).0)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    /// A plain model to check the packed list against.
    fn model_check(l: &List, m: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), m.len());
        assert_eq!(items(l), m.iter().cloned().collect::<Vec<_>>());
        let rev: Vec<Vec<u8>> = l.iter_rev().map(|e| e.to_vec()).collect();
        assert_eq!(rev, m.iter().rev().cloned().collect::<Vec<_>>());
        assert_eq!(l.nodes.iter().map(|n| n.count).sum::<usize>(), l.len());
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'x'; 70];
        let longer = vec![b'y'; 9000];
        let values: Vec<Vec<u8>> = [
            "0",
            "1",
            "127",
            "128",
            "-1",
            "-128",
            "-129",
            "255",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-0",
            "007",
            "+1",
            "1 ",
            "",
            "a",
            "hello",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([long, longer, vec![0, 255, 13, 10]])
        .collect();
        let l: List = values.iter().map(|v| v.as_slice()).collect();
        assert_eq!(items(&l), values);
        let rev: Vec<Vec<u8>> = l.iter_rev().map(|e| e.to_vec()).collect();
        assert_eq!(rev, values.iter().rev().cloned().collect::<Vec<_>>());
        for (i, v) in values.iter().enumerate() {
            assert_eq!(l.get(i as i64).as_deref(), Some(v.as_slice()));
            assert!(l
                .iter_from(i)
                .next()
                .is_some_and(|e| e.matches(&Needle::new(v))));
        }
        assert_eq!(l.get(values.len() as i64), None);
        assert_eq!(l.get(-1).as_deref(), Some(&[0u8, 255, 13, 10][..]));
        // "007" is stored as bytes and must not compare equal to the integer 7.
        assert!(!Elem::Int(7).matches(&Needle::new(b"007")));
    }

    #[test]
    fn random_operations_agree_with_a_deque() {
        let mut rng = crate::rng::Rng::new(7);
        for fill in [-2, -1, 3] {
            let mut l = List::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..20_000 {
                let r = rng.next_u64();
                let v = match r % 5 {
                    0 => format!("{}", (r >> 8) % 1000).into_bytes(),
                    1 => vec![b'v'; ((r >> 8) % 200) as usize],
                    _ => format!("e{}", (r >> 8) % 50).into_bytes(),
                };
                match (r >> 32) % 12 {
                    0..=2 => {
                        l.push_front(&v);
                        m.push_front(v);
                    }
                    3..=5 => {
                        l.push_back(&v);
                        m.push_back(v);
                    }
                    6 => assert_eq!(l.pop_front(), m.pop_front()),
                    7 => assert_eq!(l.pop_back(), m.pop_back()),
                    8 if !m.is_empty() => {
                        let i = ((r >> 40) as usize) % m.len();
                        assert!(l.set(i as i64, &v));
                        m[i] = v;
                    }
                    9 if !m.is_empty() => {
                        let i = ((r >> 40) as usize) % m.len();
                        let pivot = m[i].clone();
                        let first = m.iter().position(|x| *x == pivot).unwrap_or(i);
                        let after = r & 1 == 0;
                        assert!(l.insert_at_pivot(&pivot, &v, after));
                        m.insert(first + after as usize, v);
                    }
                    10 => {
                        let limit = ((r >> 40) % 3) as usize;
                        let from_tail = r & 1 == 0;
                        let mut removed = 0;
                        let mut keep = Vec::new();
                        let idx: Vec<usize> = if from_tail {
                            (0..m.len()).rev().collect()
                        } else {
                            (0..m.len()).collect()
                        };
                        let mut drop = vec![false; m.len()];
                        for i in idx {
                            if m[i] == v && (limit == 0 || removed < limit) {
                                drop[i] = true;
                                removed += 1;
                            }
                        }
                        for (i, x) in m.iter().enumerate() {
                            if !drop[i] {
                                keep.push(x.clone());
                            }
                        }
                        assert_eq!(l.remove(&v, limit, from_tail), removed);
                        m = keep.into();
                    }
                    11 if step % 50 == 0 => {
                        let a = ((r >> 40) % 4) as usize;
                        let b = ((r >> 48) % 4) as usize;
                        l.trim(a, b);
                        for _ in 0..a.min(m.len()) {
                            m.pop_front();
                        }
                        for _ in 0..b.min(m.len()) {
                            m.pop_back();
                        }
                    }
                    _ => {}
                }
                if step % 97 == 0 {
                    model_check(&l, &m);
                    if !m.is_empty() {
                        let i = ((r >> 20) as usize) % m.len();
                        let fwd: Vec<Vec<u8>> = l.iter_from(i).map(|e| e.to_vec()).collect();
                        assert_eq!(fwd, m.iter().skip(i).cloned().collect::<Vec<_>>());
                        let back: Vec<Vec<u8>> = l.iter_rev_from(i).map(|e| e.to_vec()).collect();
                        assert_eq!(
                            back,
                            m.iter().take(i + 1).rev().cloned().collect::<Vec<_>>()
                        );
                    }
                }
            }
            model_check(&l, &m);
        }
    }

    #[test]
    fn nodes_stay_within_the_size_limit() {
        let mut l = List::new(-2);
        for i in 0..100_000 {
            l.push_back(format!("element:{i}").as_bytes());
        }
        assert!(l.node_count() > 100);
        assert!(l.nodes.iter().all(|n| n.live() <= 8192));
        // About 16 bytes of element plus two of framing each: no per-element allocation.
        assert!(
            l.allocated_bytes() < 100_000 * 24,
            "{}",
            l.allocated_bytes()
        );
        // Redis's listpacks take 104 bytes for a 100-byte element; growth of a node's buffer
        // stops at the node's limit instead of doubling past it.
        for front in [false, true] {
            let mut l = List::new(-2);
            for i in 0..10_000 {
                l.push(format!("{i:0100}").as_bytes(), front);
            }
            assert!(
                l.allocated_bytes() < 10_000 * 106,
                "{}",
                l.allocated_bytes()
            );
        }
        let mut l = List::new(5);
        for i in 0..12 {
            l.push_front(format!("{i}").as_bytes());
        }
        assert_eq!(l.node_count(), 3);
    }

    /// `lp_alloc` taken from scratch.
    fn recount_lp_alloc(l: &List) -> u64 {
        l.nodes.iter().map(|n| quicklist_lp_alloc(n.live())).sum()
    }

    /// Every kind of change, at node limits of every kind and with elements from one byte to
    /// past a whole node (which splits nodes on LSET and LINSERT), keeps the running sum of the
    /// nodes' listpack sizes equal to a recount after each one.
    #[test]
    fn the_listpack_sum_follows_every_change() {
        let mut rng = crate::rng::Rng::new(11);
        for fill in [-1, -2, -5, 1, 4, 128] {
            // A second list for LMOVE-like moves between lists.
            let mut lists = [List::new(fill), List::new(fill)];
            let mut most_nodes = 0;
            for step in 0..6000 {
                let r = rng.next_u64();
                let size = match (r >> 4) % 10 {
                    0 => 5000 + (r >> 16) as usize % 5000,
                    1..=2 => 60 + (r >> 16) as usize % 200,
                    _ => (r >> 16) as usize % 24,
                };
                let v = if (r >> 8) & 3 == 0 {
                    ((r >> 20) as i64 % 100_000).to_string().into_bytes()
                } else {
                    vec![b'a' + (r >> 24) as u8 % 26; size]
                };
                let which = (r >> 60) as usize % 2;
                let l = &mut lists[which];
                let len = l.len().max(1) as u64;
                // Pushes outnumber removals, so that the lists grow to many nodes.
                let what = match (r >> 32) % 16 {
                    0..=3 => {
                        l.push_front(&v);
                        "push_front"
                    }
                    4..=7 => {
                        l.push_back(&v);
                        "push_back"
                    }
                    8 => {
                        l.pop_front();
                        "pop_front"
                    }
                    9 => {
                        l.pop_back();
                        "pop_back"
                    }
                    10 => {
                        l.set(((r >> 40) % len) as i64, &v);
                        "set"
                    }
                    11 => {
                        let pivot = l.get(((r >> 40) % len) as i64).unwrap_or_default();
                        l.insert_at_pivot(&pivot, &v, r & 1 == 0);
                        "insert_at_pivot"
                    }
                    12 => {
                        let target = l.get(((r >> 40) % len) as i64).unwrap_or_default();
                        l.remove(&target, ((r >> 48) % 3) as usize, r & 1 == 0);
                        "remove"
                    }
                    13 if step % 10 == 0 => {
                        let cut = len / 8 + 1;
                        l.trim(((r >> 40) % cut) as usize, ((r >> 48) % cut) as usize);
                        "trim"
                    }
                    14 => {
                        let front = r & 1 == 0;
                        if let Some(x) = lists[which].pop(front) {
                            lists[1 - which].push(&x, r & 2 == 0);
                        }
                        "move"
                    }
                    _ => {
                        l.trim(((r >> 40) % 3) as usize, ((r >> 48) % 3) as usize);
                        "counted pops"
                    }
                };
                most_nodes = most_nodes.max(lists[0].node_count());
                for l in &lists {
                    assert_eq!(
                        l.listpack_alloc(),
                        recount_lp_alloc(l),
                        "fill {fill}, step {step}, after {what}"
                    );
                }
            }
            assert!(most_nodes > 5, "fill {fill}: {most_nodes} nodes at most");
            for l in &mut lists {
                let n = l.len();
                l.trim(n / 2, n);
                assert!(l.is_empty());
                assert_eq!(l.listpack_alloc(), 0);
            }
        }
    }

    #[test]
    fn a_queue_does_not_grow_its_node() {
        let mut l = List::new(-2);
        for i in 0..100_000 {
            l.push_back(format!("job-{i}").as_bytes());
            l.pop_front();
        }
        assert!(l.is_empty());
        l.push_back(b"a");
        for i in 0..10_000 {
            l.push_back(format!("job-{i}").as_bytes());
            l.pop_front();
            assert!(l.allocated_bytes() < 4096, "{}", l.allocated_bytes());
        }
    }
}
