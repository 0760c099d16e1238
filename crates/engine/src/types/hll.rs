//! HyperLogLog sketches, stored in string values in exactly Redis's byte layout so that the bytes
//! a GET returns (and a DUMP or a replica would carry) are Redis's own.
//!
//! ```text
//! +------+---+-----+----------+--------------------------------------------+
//! | HYLL | E | N/U | Cardin.  | registers: 16384 x 6 bits, or sparse opcodes |
//! +------+---+-----+----------+--------------------------------------------+
//!   4      1   3     8 (LE; top bit set = cached value stale)
//! ```
//!
//! An element's 64-bit MurmurHash64A picks one of 16384 registers with its low 14 bits; the
//! register keeps the longest run seen of trailing zeros (plus one) in the other 50 bits.
//!
//! Dense encoding (E = 0): the registers packed six bits each, least significant bits first,
//! 12288 bytes in all. Sparse encoding (E = 1): run-length opcodes, each covering consecutive
//! registers:
//! - `00xxxxxx` ZERO: 1..=64 registers at zero;
//! - `01xxxxxx yyyyyyyy` XZERO: 1..=16384 registers at zero (14-bit length);
//! - `1vvvvvxx` VAL: 1..=4 registers at value 1..=32.
//!
//! A new sketch is sparse; it turns dense when a register needs a value above 32 or when the
//! sparse form would grow past `hll-sparse-max-bytes`. The cardinality estimate is Otmar Ertl's
//! improved estimator over the register histogram, as Redis 7 computes it.

pub const REGISTERS: usize = 1 << P;
pub const HEADER_LEN: usize = 16;
/// Header plus 16384 six-bit registers.
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * BITS).div_ceil(8);
/// Redis's seed for hashing elements.
pub const SEED: u64 = 0xadc8_3b19;

const P: usize = 14;
/// Hash bits left after the register index: runs of zeros are counted in these.
const Q: usize = 64 - P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;

const ENC_DENSE: u8 = 0;
const ENC_SPARSE: u8 = 1;

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// 0.5 / ln(2): the estimator's constant for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The sketch's bytes do not describe 16384 registers (a hand-made or damaged value).
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// Redis's MurmurHash64A, reading the input as little-endian words whatever the host.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls into and the value it offers that register: the position
/// (from 1) of the first set bit above the index bits, at most Q + 1.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    // The guard bit bounds the count when the remaining 50 bits are all zero.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// An empty sketch: sparse, one XZERO opcode per 16384 registers, cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HEADER_LEN + 2);
    s.extend_from_slice(b"HYLL");
    s.push(ENC_SPARSE);
    s.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        s.extend_from_slice(&xzero_op(run));
        left -= run;
    }
    s
}

/// Whether a string value passes Redis's HyperLogLog sanity checks (magic, a known encoding,
/// and the exact length when dense). Sparse opcodes are only checked when they are read.
pub fn is_hll(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && &bytes[..4] == b"HYLL"
        && bytes[4] <= ENC_SPARSE
        && (bytes[4] != ENC_DENSE || bytes.len() == DENSE_LEN)
}

pub fn is_dense(hll: &[u8]) -> bool {
    hll[4] == ENC_DENSE
}

/// The cached cardinality, unless the sketch changed since it was stored.
pub fn cached_cardinality(hll: &[u8]) -> Option<u64> {
    if hll[15] & 0x80 != 0 {
        return None;
    }
    let mut card = [0u8; 8];
    card.copy_from_slice(&hll[8..16]);
    Some(u64::from_le_bytes(card))
}

pub fn store_cardinality(hll: &mut [u8], card: u64) {
    hll[8..16].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate_cache(hll: &mut [u8]) {
    hll[15] |= 0x80;
}

/// Adds an element; true when a register grew (the estimate may have changed).
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    set_register(hll, index, count, sparse_max)
}

/// Raises register `index` to `count` if it is lower, in whichever encoding the sketch has.
pub fn set_register(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max: usize,
) -> Result<bool, Corrupt> {
    match hll[4] {
        ENC_DENSE => Ok(dense_raise(&mut hll[HEADER_LEN..], index, count)),
        ENC_SPARSE => sparse_raise(hll, index, count, sparse_max),
        _ => Err(Corrupt),
    }
}

// ---- dense registers ----

fn dense_get(regs: &[u8], index: usize) -> u8 {
    let byte = index * BITS / 8;
    let fb = (index * BITS) & 7;
    let b0 = regs[byte] as u32;
    // The last register never reaches into the next byte; the byte after the array reads as
    // zero as Redis's string terminator does.
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

fn dense_put(regs: &mut [u8], index: usize, val: u8) {
    let byte = index * BITS / 8;
    let fb = (index * BITS) & 7;
    let v = val as u32;
    let max = REGISTER_MAX as u32;
    regs[byte] = ((regs[byte] as u32 & !(max << fb)) | (v << fb)) as u8;
    if fb > 8 - BITS {
        let fb8 = 8 - fb;
        regs[byte + 1] = ((regs[byte + 1] as u32 & !(max >> fb8)) | (v >> fb8)) as u8;
    }
}

fn dense_raise(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_put(regs, index, count);
        true
    } else {
        false
    }
}

// ---- sparse opcodes ----

fn is_zero_op(b: u8) -> bool {
    b & 0xc0 == 0
}
fn is_xzero_op(b: u8) -> bool {
    b & 0xc0 == 0x40
}
fn is_val_op(b: u8) -> bool {
    b & 0x80 != 0
}
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((((b0 & 0x3f) as usize) << 8) | b1 as usize) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}
fn val_op(value: u8, len: usize) -> u8 {
    (((value - 1) << 2) | (len as u8 - 1)) | 0x80
}
fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}
fn xzero_op(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | 0x40, (l & 0xff) as u8]
}

/// A byte of the sketch; reading one past the end gives 0, as Redis reads the terminator of its
/// string when a damaged sketch ends in the middle of a two-byte opcode.
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// A run of zero registers as the fewest opcodes Redis would write for it here.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero_op(len));
    } else {
        seq.push(zero_op(len));
    }
}

/// Redis's `hllSparseSet`: finds the opcode covering `index`, splits it around the new value,
/// then merges equal neighbouring VAL opcodes. The exact splitting and merging decide the bytes,
/// so this follows Redis step by step.
fn sparse_raise(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max: usize,
) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    let mut end = hll.len();
    let mut p = HEADER_LEN;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let b = hll[p];
        let mut oplen = 1;
        if is_zero_op(b) {
            span = zero_len(b);
        } else if is_val_op(b) {
            span = val_len(b);
        } else {
            span = xzero_len(b, at(hll, p + 1));
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let op = hll[p];
    let oldlen = if is_xzero_op(op) { 2 } else { 1 };
    let has_next = p + oldlen < end;

    let mut rewritten = false;
    if is_val_op(op) {
        if val_value(op) >= count {
            return Ok(false);
        }
        if val_len(op) == 1 {
            hll[p] = val_op(count, 1);
            rewritten = true;
        }
    } else if is_zero_op(op) && zero_len(op) == 1 {
        hll[p] = val_op(count, 1);
        rewritten = true;
    }

    if !rewritten {
        // Split the opcode into up to three: what lies before the register, the register,
        // what lies after it.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        if is_val_op(op) {
            let cur = val_value(op);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        } else {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        let delta = seq.len() as isize - oldlen as isize;
        if delta > 0 && end + delta as usize > sparse_max {
            return promote(hll, index, count);
        }
        let new_end = (end as isize + delta) as usize;
        if has_next {
            hll.splice(p..p + oldlen, seq);
        } else {
            // The opcode was the last one (possibly cut short in a damaged sketch): Redis writes
            // the new sequence in its place and sets the length arithmetically.
            hll.truncate(p);
            hll.extend_from_slice(&seq);
            hll.resize(new_end, 0);
        }
        end = new_end;
    }

    // Merge adjacent VAL opcodes of equal value, looking at up to five opcodes from the one
    // before the change.
    let mut p = prev.unwrap_or(HEADER_LEN);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = hll[p];
        if is_xzero_op(b) {
            p += 2;
            continue;
        }
        if is_zero_op(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val_op(hll[p + 1]) {
            let next = hll[p + 1];
            let v = val_value(b);
            if v == val_value(next) {
                let len = val_len(b) + val_len(next);
                if len <= VAL_MAX_LEN {
                    hll[p + 1] = val_op(v, len);
                    hll.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(hll);
    Ok(true)
}

fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(hll)?;
    // The register needed raising in the sparse form, so it does in the dense one.
    dense_raise(&mut hll[HEADER_LEN..], index, count);
    Ok(true)
}

/// Rewrites a sparse sketch as a dense one, keeping the header (magic and cached cardinality).
pub fn sparse_to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if hll[4] == ENC_DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..HEADER_LEN].copy_from_slice(&hll[..HEADER_LEN]);
    dense[4] = ENC_DENSE;
    let mut idx = 0usize;
    let mut p = HEADER_LEN;
    while p < hll.len() {
        let b = hll[p];
        if is_zero_op(b) {
            idx += zero_len(b);
            p += 1;
        } else if is_xzero_op(b) {
            idx += xzero_len(b, at(hll, p + 1));
            p += 2;
        } else {
            let run = val_len(b);
            if idx + run > REGISTERS {
                break;
            }
            let v = val_value(b);
            for r in idx..idx + run {
                dense_put(&mut dense[HEADER_LEN..], r, v);
            }
            idx += run;
            p += 1;
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *hll = dense;
    Ok(())
}

/// Raises each of `max`'s registers to the sketch's register where that is higher.
pub fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    if is_dense(hll) {
        let regs = &hll[HEADER_LEN..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HEADER_LEN;
    while p < hll.len() {
        let b = hll[p];
        if is_zero_op(b) {
            i += zero_len(b);
            p += 1;
        } else if is_xzero_op(b) {
            i += xzero_len(b, at(hll, p + 1));
            p += 2;
        } else {
            let run = val_len(b);
            if i + run > REGISTERS {
                // A run past the last register: Debian's 7.0.15 (with the CVE-2025-32023 fix)
                // refuses the sketch here even when the runs before covered all 16384.
                return Err(Corrupt);
            }
            let v = val_value(b);
            for m in &mut max[i..i + run] {
                if v > *m {
                    *m = v;
                }
            }
            i += run;
            p += 1;
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// How many registers hold each value. The flag is false when a sparse sketch does not cover
/// exactly 16384 registers.
pub fn histogram(hll: &[u8]) -> ([u32; 64], bool) {
    let mut h = [0u32; 64];
    if is_dense(hll) {
        // Four registers in every three bytes, each counted in its own histogram so that runs
        // of equal registers do not serialise on one counter.
        let mut parts = [[0u32; 64]; 4];
        for g in hll[HEADER_LEN..DENSE_LEN].chunks_exact(3) {
            let (b0, b1, b2) = (g[0], g[1], g[2]);
            parts[0][(b0 & 63) as usize] += 1;
            parts[1][((b0 >> 6 | b1 << 2) & 63) as usize] += 1;
            parts[2][((b1 >> 4 | b2 << 4) & 63) as usize] += 1;
            parts[3][(b2 >> 2) as usize] += 1;
        }
        for (i, v) in h.iter_mut().enumerate() {
            *v = parts.iter().map(|p| p[i]).sum();
        }
        return (h, true);
    }
    let mut idx = 0usize;
    let mut p = HEADER_LEN;
    while p < hll.len() {
        let b = hll[p];
        if is_zero_op(b) {
            let run = zero_len(b);
            idx += run;
            h[0] += run as u32;
            p += 1;
        } else if is_xzero_op(b) {
            let run = xzero_len(b, at(hll, p + 1));
            idx += run;
            h[0] += run as u32;
            p += 2;
        } else {
            let run = val_len(b);
            idx += run;
            h[val_value(b) as usize] += run as u32;
            p += 1;
        }
    }
    (h, idx == REGISTERS)
}

/// The histogram of plain one-byte registers (the union PFCOUNT builds over several keys).
pub fn raw_histogram(regs: &[u8; REGISTERS]) -> [u32; 64] {
    let mut h = [0u32; 64];
    for word in regs.chunks_exact(8) {
        // Most registers of a small union are zero; counting them eight at a time avoids a long
        // chain of increments of the same counter.
        if word.iter().all(|&r| r == 0) {
            h[0] += 8;
        } else {
            for &r in word {
                h[(r & 63) as usize] += 1;
            }
        }
    }
    h
}

/// The cardinality estimate from a register histogram (Ertl, "New cardinality estimation
/// algorithms for HyperLogLog sketches", 2017), computed in the same order of floating-point
/// operations as Redis so that the rounded result is the same.
pub fn estimate(h: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The sketch's estimate (without looking at the cache); `Err` for a damaged sparse sketch.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let (h, valid) = histogram(hll);
    if !valid {
        return Err(Corrupt);
    }
    Ok(estimate(&h))
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        // A NaN never compares equal; stop rather than spin (not reachable from a histogram).
        if before == z || z.is_nan() {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 || !(0.0..=1.0).contains(&x) {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        // Redis squares with pow(); an exact square rounds the same either way.
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(elements: impl IntoIterator<Item = String>) -> Vec<u8> {
        let mut h = new_sparse();
        for e in elements {
            add(&mut h, e.as_bytes(), 3000).expect("valid sketch");
        }
        h
    }

    #[test]
    fn element_patterns_match_redis() {
        // PFADD h a b c on Redis 7.0 gives the sparse body 60f3 80 50b1 84 4bfb 80 425a:
        // register 8436 at 1, 12711 at 2, 15780 at 1, every other register at zero.
        let mut got: Vec<(usize, u8)> =
            [&b"a"[..], b"b", b"c"].iter().map(|e| pattern(e)).collect();
        got.sort();
        assert_eq!(got, vec![(8436, 1), (12711, 2), (15780, 1)]);
    }

    #[test]
    fn new_sketch_is_redis_empty_sparse() {
        let h = new_sparse();
        assert_eq!(h.len(), 18);
        assert_eq!(&h[..5], b"HYLL\x01");
        assert_eq!(&h[16..], &[0x7f, 0xff]);
        assert_eq!(cached_cardinality(&h), Some(0));
        assert_eq!(count(&h), Ok(0));
    }

    #[test]
    fn sparse_bytes_after_three_adds_match_redis() {
        let h = sketch_of(["a", "b", "c"].map(String::from));
        let mut want = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
        want.extend_from_slice(&[
            0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a,
        ]);
        assert_eq!(h, want);
        assert_eq!(count(&h), Ok(3));
    }

    #[test]
    fn adding_twice_changes_nothing() {
        let mut h = sketch_of(["x".to_string()]);
        let before = h.clone();
        assert_eq!(add(&mut h, b"x", 3000), Ok(false));
        assert_eq!(h, before);
    }

    #[test]
    fn dense_registers_round_trip_without_touching_neighbours() {
        let mut regs = vec![0u8; DENSE_LEN - HEADER_LEN];
        let mut want = vec![0u8; REGISTERS];
        let mut x: u32 = 12345;
        for (i, w) in want.iter_mut().enumerate() {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = ((x >> 16) as u8) & REGISTER_MAX;
            *w = v;
            dense_put(&mut regs, i, v);
        }
        for (i, &w) in want.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), w, "register {i}");
        }
    }

    #[test]
    fn promotion_to_dense_keeps_every_register() {
        let mut h = sketch_of((0..1000).map(|i| format!("e{i}")));
        assert!(!is_dense(&h));
        let mut sparse_regs = [0u8; REGISTERS];
        merge_into(&mut sparse_regs, &h).expect("valid");
        sparse_to_dense(&mut h).expect("valid");
        assert!(is_dense(&h) && h.len() == DENSE_LEN);
        let mut dense_regs = [0u8; REGISTERS];
        merge_into(&mut dense_regs, &h).expect("valid");
        assert_eq!(sparse_regs, dense_regs);
        assert_eq!(histogram(&h).0, raw_histogram(&dense_regs));
    }

    #[test]
    fn sparse_limit_triggers_promotion() {
        let small = sketch_of((0..300).map(|i| format!("e{i}")));
        assert!(!is_dense(&small));
        let mut h = new_sparse();
        for i in 0..300 {
            add(&mut h, format!("e{i}").as_bytes(), 100).expect("valid");
        }
        assert!(is_dense(&h));
        // Both hold the same registers, whatever the encoding.
        assert_eq!(count(&small), count(&h));
    }

    #[test]
    fn a_register_above_32_promotes_at_once() {
        // Found by search: its register value does not fit a sparse VAL opcode.
        assert_eq!(pattern(b"1692856687"), (6288, 33));
        let mut h = sketch_of(["a", "b", "c"].map(String::from));
        assert_eq!(add(&mut h, b"1692856687", 3000), Ok(true));
        assert!(is_dense(&h));
        assert_eq!(dense_get(&h[HEADER_LEN..], 6288), 33);
        assert_eq!(dense_get(&h[HEADER_LEN..], 8436), 1);
        assert_eq!(count(&h), Ok(4));
    }

    #[test]
    fn estimates_match_redis() {
        // PFADD of "1".."N" then PFCOUNT on Redis 7.0.15.
        for (n, want) in [
            (10u32, 10u64),
            (1000, 1001),
            (5000, 4985),
            (100_000, 99_562),
        ] {
            let h = sketch_of((1..=n).map(|i| i.to_string()));
            assert_eq!(count(&h), Ok(want), "n = {n}");
        }
    }

    #[test]
    fn damaged_sparse_sketches_are_reported() {
        let mut h = new_sparse();
        h.truncate(17); // the XZERO opcode loses its second byte
        h[16] = 0x40; // XZERO of length 1: 16383 registers missing
        assert_eq!(count(&h), Err(Corrupt));
        let mut regs = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut regs, &h), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut h.clone()), Err(Corrupt));
        let mut empty = new_sparse();
        empty.truncate(HEADER_LEN);
        assert_eq!(add(&mut empty, b"a", 3000), Err(Corrupt));
    }

    #[test]
    fn cache_bits() {
        let mut h = new_sparse();
        store_cardinality(&mut h, 0x0102);
        assert_eq!(cached_cardinality(&h), Some(0x0102));
        invalidate_cache(&mut h);
        assert_eq!(cached_cardinality(&h), None);
    }
}
