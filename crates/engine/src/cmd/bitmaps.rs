//! Bitmap commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
//!
//! A bitmap is a string value read as bits, bit 0 being the most significant bit of the first
//! byte. Reads treat the string as zero-padded to infinity (an integer-encoded value reads as
//! its decimal text); writes turn the value into a raw buffer and zero-fill it as far as needed.

use std::borrow::Cow;

use crate::args::{int, int_or, is};
use crate::numfmt::parse_i64;
use crate::object::{RString, Value};
use crate::table::CommandSpec;
use crate::{error, flags, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "setbit",
        arity: 4,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "bitmap",
        since: "2.2.0",
        summary: "Sets or clears one bit of a string, growing it with zero bytes as needed.",
        syntax: "key offset value",
        handler: setbit,
        subcommands: &[],
    },
    CommandSpec {
        name: "getbit",
        arity: 3,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "bitmap",
        since: "2.2.0",
        summary: "Returns one bit of a string; bits past the end read as zero.",
        syntax: "key offset",
        handler: getbit,
        subcommands: &[],
    },
    CommandSpec {
        name: "bitcount",
        arity: -2,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "bitmap",
        since: "2.6.0",
        summary: "Counts the set bits of a string, optionally within a byte or bit range.",
        syntax: "key [start end [BYTE | BIT]]",
        handler: bitcount,
        subcommands: &[],
    },
    CommandSpec {
        name: "bitpos",
        arity: -3,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "bitmap",
        since: "2.8.7",
        summary: "Finds the first bit set to 1 or 0 in a string, optionally within a range.",
        syntax: "key bit [start [end [BYTE | BIT]]]",
        handler: bitpos,
        subcommands: &[],
    },
    CommandSpec {
        name: "bitop",
        arity: -4,
        flags: flags!(WRITE, DENYOOM),
        keys: (2, -1, 1),
        group: "bitmap",
        since: "2.6.0",
        summary: "Stores the bitwise AND, OR, XOR of strings, or the NOT of one, in a key.",
        syntax: "AND | OR | XOR | NOT destkey key [key ...]",
        handler: bitop,
        subcommands: &[],
    },
    CommandSpec {
        name: "bitfield",
        arity: -2,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "bitmap",
        since: "3.2.0",
        summary: "Reads, writes and increments integers of any width up to 64 bits inside a string.",
        syntax: "key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value | INCRBY encoding offset increment [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value | INCRBY encoding offset increment ...]]",
        handler: bitfield,
        subcommands: &[],
    },
    CommandSpec {
        name: "bitfield_ro",
        arity: -2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "bitmap",
        since: "6.0.0",
        summary: "Reads integers of any width up to 64 bits inside a string, without writing.",
        syntax: "key [GET encoding offset [GET encoding offset ...]]",
        handler: bitfield_ro,
        subcommands: &[],
    },
];

// ---- bit helpers ----

/// The bytes a bit command reads from a string value.
pub(crate) fn string_bytes(s: &RString) -> Cow<'_, [u8]> {
    match s {
        RString::Int(v) => Cow::Owned(v.to_string().into_bytes()),
        RString::Embstr(b) => Cow::Borrowed(b),
        RString::Raw(b) => Cow::Borrowed(b),
    }
}

/// Number of set bits.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for w in &mut words {
        n += u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])).count_ones() as u64;
    }
    n + words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Position of the first bit equal to `bit`. Looking for a 1 in bytes that hold none gives -1;
/// looking for a 0 in bytes that are all ones gives the first position past them, as if the
/// string went on with zeros.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0x00 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = bytes[i];
            let within = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            i as i64 * 8 + within as i64
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// Reads `bits` (1..=64) bits at bit `offset` as an unsigned integer, most significant first;
/// bits past the end read as zero.
pub fn get_bits(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v: u64 = 0;
    for i in 0..bits as u64 {
        let at = offset + i;
        let byte = bytes.get((at >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | ((byte >> (7 - (at & 7))) & 1) as u64;
    }
    v
}

/// Reads `bits` bits as a two's complement signed integer.
pub fn get_signed_bits(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_bits(bytes, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; the buffer must reach that far.
pub fn set_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let on = (value >> (bits as u64 - 1 - i)) & 1;
        let at = offset + i;
        let shift = 7 - (at & 7);
        let byte = &mut bytes[(at >> 3) as usize];
        *byte = (*byte & !(1 << shift)) | ((on as u8) << shift);
    }
}

/// BITFIELD's behaviour when a value does not fit its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Whether `value + incr` fits an unsigned integer of `bits` bits: `None` when it does, else
/// the value to store instead (the wrapped or saturated one; meaningless under FAIL).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, mode: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrap = || {
        let mask = if bits == 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > max_incr) {
        Some(match mode {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < min_incr {
        Some(match mode {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// The signed counterpart of `unsigned_overflow`.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, mode: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    // These may wrap; they are only compared after `value` is known to be in range.
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let small = bits != 64;
    if value > max || (small && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Some(match mode {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min
        || (small && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(match mode {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

/// A bit offset argument (`getBitOffsetFromArgument`). With `hash_bits`, BITFIELD's `#n` form
/// is accepted and means `n * bits`. Offsets whose byte would reach proto-max-bulk-len are
/// refused.
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max_bulk: i64) -> Result<u64, Reply> {
    let (digits, mult) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let n = parse_i64(digits).ok_or_else(|| Reply::error(error::BIT_OFFSET))?;
    // Redis multiplies in 64-bit arithmetic without an overflow check.
    let n = n.wrapping_mul(mult);
    if n < 0 || (n >> 3) >= max_bulk {
        return Err(Reply::error(error::BIT_OFFSET));
    }
    Ok(n as u64)
}

/// BITFIELD's `i<bits>` / `u<bits>` type. Redis reads it as a C string, so it ends at a NUL.
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(Reply::error(error::BITFIELD_TYPE)),
    };
    match parse_i64(&arg[1..]) {
        Some(n) if n >= 1 && ((signed && n <= 64) || (!signed && n <= 63)) => {
            Ok((signed, n as u32))
        }
        _ => Err(Reply::error(error::BITFIELD_TYPE)),
    }
}

/// The string under `key`, made a raw buffer of at least `maxbit / 8 + 1` bytes (created when
/// missing), as `lookupStringForBitCommand`. The flag says whether the key was created or grown.
fn bitmap_for_write<'e>(
    e: &'e mut Engine,
    db: usize,
    key: &[u8],
    maxbit: u64,
) -> Result<(&'e mut Vec<u8>, bool), Reply> {
    let need = (maxbit >> 3) as usize + 1;
    let created = match e.write(db, key) {
        None => true,
        Some(entry) if matches!(entry.value, Value::Str(_)) => false,
        Some(_) => return Err(Reply::error(error::WRONGTYPE)),
    };
    if created {
        e.add_value(db, key, Value::Str(RString::Raw(vec![0; need])));
    }
    let Some(Value::Str(s)) = e.dbs[db].keys.get_mut(key).map(|entry| &mut entry.value) else {
        return Err(Reply::error(error::WRONGTYPE));
    };
    let buf = s.make_raw();
    let mut dirty = created;
    if buf.len() < need {
        buf.resize(need, 0);
        dirty = true;
    }
    Ok((buf, dirty))
}

/// Looks a key up for a read: `Ok(None)` when missing, WRONGTYPE when it is not a string.
fn read_string<'e>(e: &'e mut Engine, db: usize, key: &[u8]) -> Result<Option<&'e RString>, Reply> {
    match e.read(db, key) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::Str(s) => Ok(Some(s)),
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

// ---- SETBIT / GETBIT ----

fn setbit(e: &mut Engine, c: &Call) -> Reply {
    let offset = tri!(bit_offset(c.argv[2], None, e.config.proto_max_bulk_len));
    let on = tri!(int_or(c.argv[3], error::BIT_VALUE));
    if on & !1 != 0 {
        return Reply::error(error::BIT_VALUE);
    }
    let (buf, dirty) = tri!(bitmap_for_write(e, c.db, c.argv[1], offset));
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7);
    let old = (buf[byte] >> shift) & 1;
    let changed = dirty || old as i64 != on;
    if changed {
        buf[byte] = (buf[byte] & !(1 << shift)) | ((on as u8) << shift);
        e.notify(c.db, c.argv[1], "setbit");
    }
    Reply::Integer(old as i64)
}

fn getbit(e: &mut Engine, c: &Call) -> Reply {
    let offset = tri!(bit_offset(c.argv[2], None, e.config.proto_max_bulk_len));
    let Some(s) = tri!(read_string(e, c.db, c.argv[1])) else {
        return Reply::Integer(0);
    };
    let bytes = string_bytes(s);
    let byte = bytes.get((offset >> 3) as usize).copied().unwrap_or(0);
    Reply::Integer(((byte >> (7 - (offset & 7))) & 1) as i64)
}

// ---- BITCOUNT / BITPOS ----

/// Whether a range is counted in bytes or in bits.
fn range_unit(arg: &[u8]) -> Result<bool, Reply> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(Reply::error(error::SYNTAX))
    }
}

/// Clamps a range given in `unit`s (negative counts from the end) to a string of `len` bytes.
/// Returns the byte range and, in bit mode, the masks of the bits of the first and last byte
/// that lie outside the range; `None` when the range is empty.
fn clamp_range(len: i64, start: i64, end: i64, bit_unit: bool) -> Option<(usize, usize, u8, u8)> {
    let total = if bit_unit { len << 3 } else { len };
    let mut start = if start < 0 { total + start } else { start };
    let mut end = if end < 0 { total + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    if bit_unit {
        let head = !((1u32 << (8 - (start & 7))) - 1) as u8;
        let tail = ((1u32 << (7 - (end & 7))) - 1) as u8;
        Some(((start >> 3) as usize, (end >> 3) as usize, head, tail))
    } else {
        Some((start as usize, end as usize, 0, 0))
    }
}

/// BITCOUNT over `bytes`; `range` is (start, end, counted in bits).
pub fn count_bits(bytes: &[u8], range: Option<(i64, i64, bool)>) -> i64 {
    let (start, end, head, tail) = match range {
        None if bytes.is_empty() => return 0,
        None => (0, bytes.len() - 1, 0, 0),
        Some((start, end, bit_unit)) => {
            match clamp_range(bytes.len() as i64, start, end, bit_unit) {
                Some(r) => r,
                None => return 0,
            }
        }
    };
    let mut n = popcount(&bytes[start..=end]) as i64;
    n -= (bytes[start] & head).count_ones() as i64;
    n -= (bytes[end] & tail).count_ones() as i64;
    n
}

fn bitcount(e: &mut Engine, c: &Call) -> Reply {
    let Some(s) = tri!(read_string(e, c.db, c.argv[1])) else {
        return Reply::Integer(0);
    };
    let bytes = string_bytes(s);
    let range = match c.argv.len() {
        2 => None,
        4 | 5 => {
            let start = tri!(int(c.argv[2]));
            let end = tri!(int(c.argv[3]));
            // Redis answers this case before it looks at the unit.
            if start < 0 && end < 0 && start > end {
                return Reply::Integer(0);
            }
            let bit_unit = match c.argv.get(4) {
                Some(u) => tri!(range_unit(u)),
                None => false,
            };
            Some((start, end, bit_unit))
        }
        _ => return Reply::error(error::SYNTAX),
    };
    Reply::Integer(count_bits(&bytes, range))
}

/// BITPOS over `bytes`. `start` and `end` are in bits when `bit_unit`. Without an explicit end
/// a search for 0 may answer the first bit past the string; with one, it answers -1 when the
/// range holds no 0.
pub fn find_bit(
    bytes: &[u8],
    bit: bool,
    start: Option<i64>,
    end: Option<i64>,
    bit_unit: bool,
) -> i64 {
    let len = bytes.len() as i64;
    let end_given = end.is_some();
    let (start, end, head, tail) = match start {
        None if bytes.is_empty() => return -1,
        None => (0, bytes.len() - 1, 0, 0),
        Some(start) => {
            let end = end.unwrap_or(if bit_unit { (len << 3) + 7 } else { len - 1 });
            match clamp_range(len, start, end, bit_unit) {
                Some(r) => r,
                None => return -1,
            }
        }
    };
    // `head`/`tail` bits are outside the range: force them to the value not looked for.
    let hide = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let mut from = start;
    let mut left = end - start + 1;
    let pos = 'found: {
        if head != 0 {
            let mut b = hide(bytes[from], head);
            if tail != 0 && left == 1 {
                b = hide(b, tail);
            }
            let pos = first_bit(&[b], bit);
            if left == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            from += 1;
            left -= 1;
        }
        let middle = left - usize::from(tail != 0);
        if middle > 0 {
            let pos = first_bit(&bytes[from..from + middle], bit);
            if left == middle || (pos != -1 && pos != middle as i64 * 8) {
                break 'found pos;
            }
            from += middle;
            left -= middle;
        }
        first_bit(&[hide(bytes[end], tail)], bit)
    };
    if end_given && !bit && pos == left as i64 * 8 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + from as i64 * 8
    }
}

fn bitpos(e: &mut Engine, c: &Call) -> Reply {
    let bit = tri!(int(c.argv[2]));
    if bit != 0 && bit != 1 {
        return Reply::error(error::BITPOS_BIT);
    }
    let bit = bit == 1;
    let Some(s) = tri!(read_string(e, c.db, c.argv[1])) else {
        return Reply::Integer(if bit { -1 } else { 0 });
    };
    let bytes = string_bytes(s);
    let argc = c.argv.len();
    if argc > 6 {
        return Reply::error(error::SYNTAX);
    }
    let mut start = None;
    let mut end = None;
    let mut bit_unit = false;
    if argc >= 4 {
        start = Some(tri!(int(c.argv[3])));
        if argc == 6 {
            bit_unit = tri!(range_unit(c.argv[5]));
        }
        if argc >= 5 {
            end = Some(tri!(int(c.argv[4])));
        }
    }
    Reply::Integer(find_bit(&bytes, bit, start, end, bit_unit))
}

// ---- BITOP ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// The result of a bit operation over strings, the shorter ones padded with zero bytes.
fn combine(op: BitOp, srcs: &[Cow<'_, [u8]>]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![0u8; maxlen];
    let Some((first, rest)) = srcs.split_first() else {
        return out;
    };
    out[..first.len()].copy_from_slice(first);
    match op {
        BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for s in rest {
                out[s.len()..].fill(0);
                out.iter_mut().zip(s.iter()).for_each(|(o, b)| *o &= b);
            }
        }
        BitOp::Or => {
            for s in rest {
                out.iter_mut().zip(s.iter()).for_each(|(o, b)| *o |= b);
            }
        }
        BitOp::Xor => {
            for s in rest {
                out.iter_mut().zip(s.iter()).for_each(|(o, b)| *o ^= b);
            }
        }
    }
    out
}

fn bitop(e: &mut Engine, c: &Call) -> Reply {
    let op = if is(c.argv[1], "and") {
        BitOp::And
    } else if is(c.argv[1], "or") {
        BitOp::Or
    } else if is(c.argv[1], "xor") {
        BitOp::Xor
    } else if is(c.argv[1], "not") {
        BitOp::Not
    } else {
        return Reply::error(error::SYNTAX);
    };
    if op == BitOp::Not && c.argv.len() != 4 {
        return Reply::error(error::BITOP_NOT_ONE_KEY);
    }
    let mut srcs: Vec<Cow<'_, [u8]>> = Vec::with_capacity(c.argv.len() - 3);
    for key in &c.argv[3..] {
        let bytes = match tri!(read_string(e, c.db, key)) {
            None => Cow::Borrowed(&[][..]),
            Some(s) => Cow::Owned(string_bytes(s).into_owned()),
        };
        srcs.push(bytes);
    }
    let out = combine(op, &srcs);
    let len = out.len() as i64;
    let dest = c.argv[2];
    if len > 0 {
        e.set_value(c.db, dest, Value::Str(RString::Raw(out)), false);
        e.notify(c.db, dest, "set");
    } else if e.delete(c.db, dest) {
        e.notify(c.db, dest, "del");
    }
    Reply::Integer(len)
}

// ---- BITFIELD ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

struct Field {
    op: FieldOp,
    offset: u64,
    /// SET's value or INCRBY's increment.
    arg: i64,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// Parses the subcommands in order; the OVERFLOW in force applies to the SET and INCRBY that
/// follow it. Returns the operations and the highest bit a write touches, if any write.
fn parse_fields(e: &Engine, argv: &[&[u8]]) -> Result<(Vec<Field>, Option<u64>), Reply> {
    let max_bulk = e.config.proto_max_bulk_len;
    let mut fields = Vec::new();
    let mut highest: Option<u64> = None;
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let sub = argv[j];
        let op = if is(sub, "get") && left >= 2 {
            FieldOp::Get
        } else if is(sub, "set") && left >= 3 {
            FieldOp::Set
        } else if is(sub, "incrby") && left >= 3 {
            FieldOp::Incrby
        } else if is(sub, "overflow") && left >= 1 {
            let kind = argv[j + 1];
            overflow = if is(kind, "wrap") {
                Overflow::Wrap
            } else if is(kind, "sat") {
                Overflow::Sat
            } else if is(kind, "fail") {
                Overflow::Fail
            } else {
                return Err(Reply::error(error::BITFIELD_OVERFLOW_TYPE));
            };
            j += 2;
            continue;
        } else {
            return Err(Reply::error(error::SYNTAX));
        };
        let (signed, bits) = bitfield_type(argv[j + 1])?;
        let offset = bit_offset(argv[j + 2], Some(bits), max_bulk)?;
        let mut arg = 0;
        if op != FieldOp::Get {
            let last = offset + bits as u64 - 1;
            highest = Some(highest.map_or(last, |h| h.max(last)));
            arg = int(argv[j + 3])?;
        }
        fields.push(Field {
            op,
            offset,
            arg,
            overflow,
            bits,
            signed,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok((fields, highest))
}

fn read_field(bytes: &[u8], f: &Field) -> Reply {
    if f.signed {
        Reply::Integer(get_signed_bits(bytes, f.offset, f.bits))
    } else {
        Reply::Integer(get_bits(bytes, f.offset, f.bits) as i64)
    }
}

/// Runs one SET or INCRBY on the buffer: the reply, and whether the stored value changed.
fn write_field(buf: &mut [u8], f: &Field) -> (Reply, bool) {
    let incr = f.op == FieldOp::Incrby;
    if f.signed {
        let old = get_signed_bits(buf, f.offset, f.bits);
        let (overflowed, new) = if incr {
            match signed_overflow(old, f.arg, f.bits, f.overflow) {
                Some(limit) => (true, limit),
                None => (false, old.wrapping_add(f.arg)),
            }
        } else {
            match signed_overflow(f.arg, 0, f.bits, f.overflow) {
                Some(limit) => (true, limit),
                None => (false, f.arg),
            }
        };
        if overflowed && f.overflow == Overflow::Fail {
            return (Reply::Nil, false);
        }
        set_bits(buf, f.offset, f.bits, new as u64);
        (Reply::Integer(if incr { new } else { old }), old != new)
    } else {
        let old = get_bits(buf, f.offset, f.bits);
        let (overflowed, new) = if incr {
            match unsigned_overflow(old, f.arg, f.bits, f.overflow) {
                Some(limit) => (true, limit),
                None => (false, old.wrapping_add(f.arg as u64)),
            }
        } else {
            match unsigned_overflow(f.arg as u64, 0, f.bits, f.overflow) {
                Some(limit) => (true, limit),
                None => (false, f.arg as u64),
            }
        };
        if overflowed && f.overflow == Overflow::Fail {
            return (Reply::Nil, false);
        }
        set_bits(buf, f.offset, f.bits, new);
        let shown = if incr { new } else { old };
        (Reply::Integer(shown as i64), old != new)
    }
}

fn bitfield_generic(e: &mut Engine, c: &Call, read_only_cmd: bool) -> Reply {
    let (fields, highest) = tri!(parse_fields(e, c.argv));
    let key = c.argv[1];
    let Some(highest) = highest else {
        let s = tri!(read_string(e, c.db, key));
        let bytes = s.map(string_bytes).unwrap_or_default();
        return Reply::Array(fields.iter().map(|f| read_field(&bytes, f)).collect());
    };
    if read_only_cmd {
        return Reply::error(error::BITFIELD_RO_GET_ONLY);
    }
    let (buf, dirty) = tri!(bitmap_for_write(e, c.db, key, highest));
    let mut changes: u64 = 0;
    let mut replies = Vec::with_capacity(fields.len());
    for f in &fields {
        if f.op == FieldOp::Get {
            replies.push(read_field(buf, f));
            continue;
        }
        let (reply, changed) = write_field(buf, f);
        // A FAIL that wrote nothing does not count, even on a key just created or grown.
        if !matches!(reply, Reply::Nil) && (dirty || changed) {
            changes += 1;
        }
        replies.push(reply);
    }
    if changes > 0 {
        e.notify(c.db, key, "setbit");
        e.stats.dirty += changes - 1;
    }
    Reply::Array(replies)
}

fn bitfield(e: &mut Engine, c: &Call) -> Reply {
    bitfield_generic(e, c, false)
}

fn bitfield_ro(e: &mut Engine, c: &Call) -> Reply {
    bitfield_generic(e, c, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Event};

    #[test]
    fn popcount_and_first_bit() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        assert_eq!(popcount(&bytes), 1024);
        assert_eq!(popcount(&[]), 0);
        assert_eq!(first_bit(&[0, 0, 0x10], true), 19);
        assert_eq!(first_bit(&[0, 0], true), -1);
        assert_eq!(first_bit(&[0xff, 0xfe], false), 15);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[], false), 0);
    }

    #[test]
    fn bit_field_access_is_big_endian_across_bytes() {
        // An unsigned 5-bit 23 at offset 7 reads 00000001 01110000.
        let mut b = vec![0u8; 2];
        set_bits(&mut b, 7, 5, 23);
        assert_eq!(b, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_bits(&b, 7, 5), 23);
        assert_eq!(get_signed_bits(&b, 7, 5), 23 - 32);
        // Past the end reads as zeros.
        assert_eq!(get_bits(&b, 12, 64), 0);
        set_bits(&mut b, 0, 16, 0xffff);
        assert_eq!(get_signed_bits(&b, 0, 16), -1);
        assert_eq!(get_bits(&[0xff; 9], 3, 64), u64::MAX);
    }

    #[test]
    fn unsigned_overflow_modes() {
        // u8: 250 + 10 overflows.
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert!(unsigned_overflow(250, 10, 8, Overflow::Fail).is_some());
        assert_eq!(unsigned_overflow(250, 5, 8, Overflow::Fail), None);
        // Underflow.
        assert_eq!(unsigned_overflow(3, -5, 8, Overflow::Wrap), Some(254));
        assert_eq!(unsigned_overflow(3, -5, 8, Overflow::Sat), Some(0));
        // SET of a negative value into an unsigned field: too large once seen as unsigned.
        assert_eq!(
            unsigned_overflow(-1i64 as u64, 0, 8, Overflow::Wrap),
            Some(255)
        );
        assert_eq!(
            unsigned_overflow(-1i64 as u64, 0, 8, Overflow::Sat),
            Some(255)
        );
        assert_eq!(unsigned_overflow(300, 0, 8, Overflow::Wrap), Some(44));
        // u63 at the top.
        let max = (1u64 << 63) - 1;
        assert_eq!(unsigned_overflow(max, 1, 63, Overflow::Wrap), Some(0));
        assert_eq!(unsigned_overflow(max, 1, 63, Overflow::Sat), Some(max));
    }

    #[test]
    fn signed_overflow_modes() {
        assert_eq!(signed_overflow(100, 100, 8, Overflow::Wrap), Some(-56));
        assert_eq!(signed_overflow(100, 100, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_overflow(-100, -100, 8, Overflow::Wrap), Some(56));
        assert_eq!(signed_overflow(-100, -100, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_overflow(-100, 50, 8, Overflow::Fail), None);
        assert_eq!(signed_overflow(200, 0, 8, Overflow::Wrap), Some(-56));
        assert_eq!(signed_overflow(1, 0, 1, Overflow::Wrap), Some(-1));
        // 64 bits: the limits of i64.
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Sat),
            Some(i64::MAX)
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
            Some(i64::MIN)
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Wrap),
            Some(i64::MAX)
        );
        assert_eq!(signed_overflow(-5, i64::MAX, 64, Overflow::Fail), None);
    }

    #[test]
    fn bitcount_ranges() {
        let b = b"foobar";
        assert_eq!(count_bits(b, None), 26);
        assert_eq!(count_bits(b, Some((0, 0, false))), 4);
        assert_eq!(count_bits(b, Some((1, 1, false))), 6);
        assert_eq!(count_bits(b, Some((5, 30, true))), 17);
        assert_eq!(count_bits(b, Some((-2, -1, false))), 7);
        assert_eq!(count_bits(b, Some((3, 1, false))), 0);
        assert_eq!(count_bits(b"", None), 0);
    }

    #[test]
    fn bitpos_special_cases() {
        let ones = [0xffu8, 0xff, 0xff];
        // No end: the first zero is just past the string.
        assert_eq!(find_bit(&ones, false, None, None, false), 24);
        assert_eq!(find_bit(&ones, false, Some(0), None, false), 24);
        // Explicit end: no zero inside the range.
        assert_eq!(find_bit(&ones, false, Some(0), Some(-1), false), -1);
        assert_eq!(find_bit(&[0, 0, 0], true, None, None, false), -1);
        let b = [0x00u8, 0xff, 0xf0];
        assert_eq!(find_bit(&b, true, Some(2), Some(-1), false), 16);
        assert_eq!(find_bit(&b, false, Some(8), Some(19), true), -1);
        assert_eq!(find_bit(&b, false, Some(8), Some(20), true), 20);
        assert_eq!(find_bit(&b, true, Some(3), Some(7), true), -1);
        assert_eq!(find_bit(&b, true, Some(3), Some(9), true), 8);
        assert_eq!(find_bit(&[], false, None, None, false), -1);
    }

    #[test]
    fn offsets_and_types() {
        let max = 512 * 1024 * 1024;
        assert_eq!(bit_offset(b"4294967295", None, max), Ok(4294967295));
        assert!(bit_offset(b"4294967296", None, max).is_err());
        assert!(bit_offset(b"-1", None, max).is_err());
        assert!(bit_offset(b"#2", None, max).is_err());
        assert_eq!(bit_offset(b"#2", Some(8), max), Ok(16));
        assert_eq!(bitfield_type(b"i64"), Ok((true, 64)));
        assert_eq!(bitfield_type(b"u63"), Ok((false, 63)));
        assert!(bitfield_type(b"u64").is_err());
        assert!(bitfield_type(b"i0").is_err());
        assert!(bitfield_type(b"I8").is_err());
        assert_eq!(bitfield_type(b"u8\0junk"), Ok((false, 8)));
    }

    fn ops(e: &mut Engine) -> Vec<&'static str> {
        e.drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::Keyspace { op, .. } => Some(op),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn events_follow_redis() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.drain_events();
        assert_eq!(e.run(c, &["SETBIT", "b", "7", "1"], 0), Reply::Integer(0));
        assert_eq!(e.run(c, &["SETBIT", "b", "7", "1"], 0), Reply::Integer(1));
        assert_eq!(ops(&mut e), ["setbit"]);
        assert_eq!(e.run(c, &["GET", "b"], 0), Reply::bulk(vec![1u8]));
        // A SETBIT that only grows the string still counts as a change.
        e.run(c, &["SETBIT", "b", "20", "0"], 0);
        assert_eq!(ops(&mut e), ["setbit"]);
        e.run(c, &["BITOP", "NOT", "n", "b"], 0);
        assert_eq!(ops(&mut e), ["set"]);
        e.run(c, &["BITOP", "AND", "n", "nosuch"], 0);
        assert_eq!(ops(&mut e), ["del"]);
        e.run(c, &["BITFIELD", "f", "GET", "u8", "0"], 0);
        e.run(c, &["BITFIELD", "b", "SET", "u8", "0", "1"], 0);
        assert_eq!(ops(&mut e), Vec::<&str>::new());
        e.run(
            c,
            &[
                "BITFIELD", "b", "SET", "u8", "0", "2", "INCRBY", "u8", "0", "1",
            ],
            0,
        );
        assert_eq!(ops(&mut e), ["setbit"]);
        // FAIL writes nothing, but the key is created all the same.
        let r = e.run(
            c,
            &[
                "BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9",
            ],
            0,
        );
        assert_eq!(r, Reply::Array(vec![Reply::Nil]));
        assert_eq!(ops(&mut e), Vec::<&str>::new());
        assert_eq!(e.run(c, &["GET", "g"], 0), Reply::bulk(vec![0u8]));
    }

    #[test]
    fn setbit_makes_strings_raw_and_respects_proto_max_bulk_len() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.run(c, &["SET", "n", "12"], 0);
        assert_eq!(e.run(c, &["GETBIT", "n", "2"], 0), Reply::Integer(1));
        e.run(c, &["SETBIT", "n", "0", "0"], 0);
        assert_eq!(
            e.run(c, &["OBJECT", "ENCODING", "n"], 0),
            Reply::bulk("raw")
        );
        e.config_mut().proto_max_bulk_len = 4;
        assert_eq!(
            e.run(c, &["SETBIT", "x", "32", "1"], 0),
            Reply::error(error::BIT_OFFSET)
        );
        assert_eq!(e.run(c, &["SETBIT", "x", "31", "1"], 0), Reply::Integer(0));
        assert_eq!(e.run(c, &["GET", "x"], 0), Reply::bulk(vec![0u8, 0, 0, 1]));
    }
}
