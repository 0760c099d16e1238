//! The x87 80-bit extended float that INCRBYFLOAT computes in.
//!
//! Redis 7.0 on x86-64 keeps INCRBYFLOAT's operands in C `long double`: a 64-bit mantissa with an
//! explicit integer bit and a 15-bit exponent. It reads them with `strtold` (correctly rounded,
//! half to even), adds them on the x87 unit (correctly rounded, half to even) and prints the sum
//! with `%.17Lf` (exact decimal expansion, rounded half to even at the 17th decimal), then trims
//! trailing zeros. `f64` cannot reproduce this: `10.5 + 0.1` prints `10.6` in extended precision
//! and `10.59999999999999964` in double. This module emulates the three steps exactly with integer
//! arithmetic, so the engine answers byte for byte as Redis does, in the browser as on the host.

use std::cmp::Ordering;

/// A finite extended value: `(-1)^neg * mant * 2^exp`. Normal values have the top bit of `mant`
/// set; subnormals have `exp == MIN_EXP` and a smaller `mant`; zero has `mant == 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ext {
    pub neg: bool,
    pub mant: u64,
    pub exp: i32,
}

/// The scale of the smallest normal value (2^-16382 = 2^63 * 2^-16445) and of every subnormal.
const MIN_EXP: i64 = -16445;
/// The scale of the largest finite value, (2^64 - 1) * 2^16320, just below 2^16384.
const MAX_EXP: i64 = 16320;

/// What `strtold` makes of an argument, once Redis's `string2ld` checks have passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    Finite(Ext),
    /// `inf` or `infinity`, which strtold accepts without complaint.
    Inf {
        neg: bool,
    },
}

/// Redis refuses strings of this many bytes or more (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;

impl Ext {
    pub const ZERO: Ext = Ext {
        neg: false,
        mant: 0,
        exp: 0,
    };

    pub fn is_zero(&self) -> bool {
        self.mant == 0
    }

    /// An integer converts exactly: every i64 fits in a 64-bit mantissa.
    pub fn from_i64(v: i64) -> Ext {
        if v == 0 {
            return Ext::ZERO;
        }
        round(v < 0, v.unsigned_abs() as u128, 0, false).unwrap_or(Ext::ZERO)
    }

    /// The correctly rounded sum, or None when it overflows to an infinity.
    pub fn checked_add(self, other: Ext) -> Option<Ext> {
        if self.is_zero() && other.is_zero() {
            // Round to nearest: -0 + -0 is -0, any other pair of zeros is +0.
            return Some(Ext {
                neg: self.neg && other.neg,
                ..Ext::ZERO
            });
        }
        if self.is_zero() {
            return Some(other);
        }
        if other.is_zero() {
            return Some(self);
        }
        let (a, b) = if self.exp >= other.exp {
            (self, other)
        } else {
            (other, self)
        };
        // Line both up on a scale 62 bits below `a`'s, which leaves room for the carry of an
        // addition in a u128. When `b` is so much smaller that some of its bits fall below that
        // scale, `a` is necessarily normal (its mantissa has 64 bits), so the sum keeps more than
        // 120 bits and the lost bits matter only as a sticky bit.
        let scale = a.exp as i64 - 62;
        let big_a = (a.mant as u128) << 62;
        let d = b.exp as i64 - scale;
        if d >= 0 {
            let big_b = (b.mant as u128) << d;
            let (neg, mag) = if a.neg == b.neg {
                (a.neg, big_a + big_b)
            } else {
                match big_a.cmp(&big_b) {
                    Ordering::Greater => (a.neg, big_a - big_b),
                    Ordering::Less => (b.neg, big_b - big_a),
                    Ordering::Equal => return Some(Ext::ZERO),
                }
            };
            round(neg, mag, scale, false)
        } else {
            let lost = -d;
            let (big_b, sticky) = if lost >= 64 {
                (0, true)
            } else {
                ((b.mant >> lost) as u128, b.mant & ((1u64 << lost) - 1) != 0)
            };
            if a.neg == b.neg {
                round(a.neg, big_a + big_b, scale, sticky)
            } else if sticky {
                // a - (big_b + f) with 0 < f < 1 unit: one unit less, plus a positive fraction.
                round(a.neg, big_a - big_b - 1, scale, true)
            } else {
                round(a.neg, big_a - big_b, scale, false)
            }
        }
    }

    /// C's `printf("%.17Lf")`: every integer digit, then 17 decimals rounded half to even.
    pub fn to_fixed17(&self) -> String {
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        if self.exp >= 0 {
            let mut n = Big::from_u64(self.mant);
            n.shl(self.exp as u64);
            out.push_str(&n.to_decimal());
            out.push_str(".00000000000000000");
            return out;
        }
        const TEN17: u128 = 100_000_000_000_000_000;
        // mant * 10^17 < 2^121, so the scaled value fits; a shift of 128 or more leaves less
        // than half a unit, which rounds to zero.
        let scaled = self.mant as u128 * TEN17;
        let shift = (-self.exp) as u32;
        let n = if shift >= 128 {
            0
        } else {
            let kept = scaled >> shift;
            let rem = scaled - (kept << shift);
            let half = 1u128 << (shift - 1);
            if rem > half || (rem == half && kept & 1 == 1) {
                kept + 1
            } else {
                kept
            }
        };
        out.push_str(&format!("{}.{:017}", n / TEN17, n % TEN17));
        out
    }

    /// Redis's `ld2string` in human mode: `%.17Lf`, trailing zeros and dot trimmed, `-0` as `0`.
    pub fn to_human(&self) -> String {
        let mut s = self.to_fixed17();
        if s.contains('.') {
            let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
            s.truncate(trimmed);
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

/// Redis's `string2ld`: the whole argument must be one number as strtold reads it, no leading
/// space, shorter than 5 KiB, not NaN, and neither overflowing nor underflowing to zero.
pub fn parse(s: &[u8]) -> Option<Parsed> {
    if s.is_empty() || s.len() >= MAX_CHARS {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Parsed::Inf { neg });
    }
    let ext = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex(neg, &body[2..])?
    } else {
        parse_decimal(neg, body)?
    };
    Some(Parsed::Finite(ext))
}

/// Splits `digits [. digits]` off the front of `s`; returns (integer part, fraction, rest).
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> (&[u8], &[u8], &[u8]) {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let (int, rest) = s.split_at(int_len);
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let frac_len = after_dot.iter().take_while(|c| is_digit(c)).count();
        let (frac, rest) = after_dot.split_at(frac_len);
        (int, frac, rest)
    } else {
        (int, &[], rest)
    }
}

/// An exponent suffix (`e-12`, `p+3`): the whole rest must be the marker, an optional sign and
/// at least one digit. Huge exponents saturate; they overflow or underflow either way.
fn parse_exponent(rest: &[u8], marker: u8) -> Option<i64> {
    if rest.is_empty() {
        return Some(0);
    }
    if rest[0] | 0x20 != marker {
        return None;
    }
    let (neg, digits) = match rest.get(1) {
        Some(b'-') => (true, &rest[2..]),
        Some(b'+') => (false, &rest[2..]),
        _ => (false, &rest[1..]),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        v = (v * 10 + (c - b'0') as i64).min(1_000_000_000);
    }
    Some(if neg { -v } else { v })
}

fn parse_decimal(neg: bool, body: &[u8]) -> Option<Ext> {
    let (int, frac, rest) = split_mantissa(body, u8::is_ascii_digit);
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp10 = parse_exponent(rest, b'e')? - frac.len() as i64;
    let digits: Vec<u8> = int
        .iter()
        .chain(frac)
        .copied()
        .skip_while(|&c| c == b'0')
        .collect();
    if digits.is_empty() {
        return Some(Ext { neg, ..Ext::ZERO });
    }
    // The value lies in [10^(top-1), 10^top). The largest finite value is about 1.19e4932 and
    // half the smallest subnormal about 1.82e-4951: outside these bounds no arithmetic is needed.
    let top = digits.len() as i64 + exp10;
    if !(-4955..=4934).contains(&top) {
        return None;
    }
    let mut num = Big::from_decimal(&digits);
    let mut den = Big::from_u64(1);
    if exp10 >= 0 {
        num.mul_pow10(exp10 as u64);
    } else {
        den.mul_pow10((-exp10) as u64);
    }
    from_ratio(neg, num, den, 0)
}

/// Hex floats are rounded correctly here. glibc's strtold is not quite: a value whose leading
/// bit is worth 2^-16446 (half the smallest subnormal) and whose only other set bit sits 64
/// places below it, such as `0x1.0000000000000001p-16446`, comes back as zero there and is
/// refused by Redis. No input anyone would type, so it is not imitated.
fn parse_hex(neg: bool, body: &[u8]) -> Option<Ext> {
    let (int, frac, rest) = split_mantissa(body, u8::is_ascii_hexdigit);
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp2 = parse_exponent(rest, b'p')? - 4 * frac.len() as i64;
    let mut num = Big::default();
    for &c in int.iter().chain(frac) {
        num.mul_small(16);
        num.add_small((c as char).to_digit(16).unwrap_or(0));
    }
    if num.is_zero() {
        return Some(Ext { neg, ..Ext::ZERO });
    }
    let top = num.bit_len() as i64 + exp2;
    if !(-16460..=16400).contains(&top) {
        return None;
    }
    from_ratio(neg, num, Big::from_u64(1), exp2)
}

/// The extended value nearest to `num / den * 2^exp2` (both positive), or None when that
/// overflows or, the input being non-zero, rounds to zero (strtold's ERANGE cases).
fn from_ratio(neg: bool, mut num: Big, mut den: Big, exp2: i64) -> Option<Ext> {
    // Scale so that the quotient has 67 or 68 bits: enough for the 64 kept, a rounding bit and
    // more; the remainder of the division says whether anything non-zero lies below.
    let s = 67 - (num.bit_len() as i64 - den.bit_len() as i64);
    if s >= 0 {
        num.shl(s as u64);
    } else {
        den.shl((-s) as u64);
    }
    let (q, rem_nonzero) = num.div_small_quotient(&den);
    let ext = round(neg, q, exp2 - s, rem_nonzero)?;
    if ext.is_zero() {
        return None;
    }
    Some(ext)
}

/// Rounds `q * 2^qexp` (plus a positive amount below one unit of `q` when `sticky`) to the
/// nearest extended value, ties to even; None on overflow. A result below half the smallest
/// subnormal comes back as zero.
fn round(neg: bool, q: u128, qexp: i64, sticky: bool) -> Option<Ext> {
    if q == 0 {
        return Some(Ext { neg, ..Ext::ZERO });
    }
    let bits = 128 - q.leading_zeros() as i64;
    let mut e = (qexp + bits - 64).max(MIN_EXP);
    let shift = e - qexp;
    let mut mant = if shift <= 0 {
        q << (-shift)
    } else {
        let (kept, rem) = if shift >= 128 {
            (0, q)
        } else {
            (q >> shift, q & ((1u128 << shift) - 1))
        };
        let up = if shift > 128 {
            // Even the top bit of q lies below the rounding bit.
            false
        } else {
            let half = 1u128 << (shift - 1);
            rem > half || (rem == half && (sticky || kept & 1 == 1))
        };
        kept + up as u128
    };
    if mant == 1u128 << 64 {
        mant >>= 1;
        e += 1;
    }
    if e > MAX_EXP {
        return None;
    }
    Some(Ext {
        neg,
        mant: mant as u64,
        exp: e as i32,
    })
}

/// Just enough of an unsigned big integer for exact conversions: little-endian 32-bit limbs,
/// no leading zero limbs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn from_decimal(digits: &[u8]) -> Big {
        let mut b = Big::default();
        for chunk in digits.chunks(9) {
            let mut v = 0u32;
            for &c in chunk {
                v = v * 10 + (c - b'0') as u32;
            }
            b.mul_small(10u32.pow(chunk.len() as u32));
            b.add_small(v);
        }
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => 32 * self.0.len() as u64 - top.leading_zeros() as u64,
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in self.0.iter_mut() {
            let v = *limb as u64 * m as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for limb in self.0.iter_mut() {
            if carry == 0 {
                break;
            }
            let v = *limb as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u64) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        self.mul_small(10u32.pow(k as u32));
    }

    fn shl(&mut self, bits: u64) {
        if self.is_zero() {
            return;
        }
        let (limbs, bits) = ((bits / 32) as usize, (bits % 32) as u32);
        if bits > 0 {
            let mut carry = 0u32;
            for limb in self.0.iter_mut() {
                let v = *limb;
                *limb = (v << bits) | carry;
                carry = v >> (32 - bits);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 {
            self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        }
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.0.iter_mut().rev() {
            let v = *limb;
            *limb = (v >> 1) | (carry << 31);
            carry = v & 1;
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// self -= other, for self >= other.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let o = other.0.get(i).copied().unwrap_or(0) as i64;
            let mut v = *limb as i64 - o - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            *limb = v as u32;
        }
        self.trim();
    }

    /// Binary long division for a quotient known to fit in a u128: the quotient and whether a
    /// remainder is left.
    fn div_small_quotient(mut self, den: &Big) -> (u128, bool) {
        let shift = self.bit_len().saturating_sub(den.bit_len());
        let mut d = den.clone();
        d.shl(shift);
        let mut q = 0u128;
        for _ in 0..=shift {
            q <<= 1;
            if self.cmp(&d) != Ordering::Less {
                self.sub(&d);
                q |= 1;
            }
            d.shr1();
        }
        (q, !self.is_zero())
    }

    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = (rem << 32) | *limb as u64;
            *limb = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(1_000_000_000));
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(s: &str) -> Ext {
        match parse(s.as_bytes()) {
            Some(Parsed::Finite(x)) => x,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn incr(a: &str, b: &str) -> String {
        ext(a)
            .checked_add(ext(b))
            .map_or("overflow".into(), |x| x.to_human())
    }

    #[test]
    fn extended_precision_sums_print_as_redis_does() {
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("3", "1.5"), "4.5");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("-0", "-0"), "0");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("-1e-30", "0"), "0");
        assert_eq!(ext("1e20").to_human(), "100000000000000000000");
    }

    #[test]
    fn strtold_syntax() {
        for ok in [
            "1", "+1", "-1", ".5", "5.", "1e5", "1E+5", "1e-5", "0x10", "0x1.8p1", "0X.8P-1",
        ] {
            assert!(
                matches!(parse(ok.as_bytes()), Some(Parsed::Finite(_))),
                "{ok}"
            );
        }
        for bad in [
            "", " 1", "1 ", ".", "e5", "1e", "1e+", "0x", "0xp1", "0x1p", "nan", "-nan", "1x",
            "infin",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(parse(b"-Infinity"), Some(Parsed::Inf { neg: true }));
        // Overflow and underflow to zero are errors; an exact zero is not.
        assert_eq!(parse(b"1e5000"), None);
        assert_eq!(parse(b"1e-5000"), None);
        assert_eq!(parse(b"0e-5000"), Some(Parsed::Finite(Ext::ZERO)));
        assert_eq!(parse("1".repeat(5120).as_bytes()), None);
    }

    #[test]
    fn extremes() {
        // The largest finite value, 2^16384 - 2^16320, and the smallest subnormal, 2^-16445.
        let max = Ext {
            neg: false,
            mant: u64::MAX,
            exp: 16320,
        };
        assert_eq!(max.checked_add(max), None);
        let tiny = Ext {
            neg: false,
            mant: 1,
            exp: -16445,
        };
        assert_eq!(
            tiny.checked_add(tiny),
            Some(Ext {
                neg: false,
                mant: 2,
                exp: -16445
            })
        );
        assert_eq!(tiny.to_human(), "0");
        assert_eq!(Ext::from_i64(i64::MIN).to_human(), "-9223372036854775808");
    }

    /// Reference pairs produced by glibc's strtold, x87 addition and printf("%.17Lf"), with
    /// Redis's own checks around them: `value<TAB>increment<TAB>result`, where the result is
    /// the reply INCRBYFLOAT gives or the error it answers with.
    #[test]
    fn matches_glibc_reference() {
        let data = include_str!("../tests/data/incrbyfloat.tsv");
        let mut checked = 0;
        let mut failures = Vec::new();
        for line in data
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut f = line.split('\t');
            let (a, b, want) = (
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
            );
            let got = match (parse(a.as_bytes()), parse(b.as_bytes())) {
                (None, _) | (_, None) => "ERR_NOT_FLOAT".to_string(),
                (Some(Parsed::Finite(x)), Some(Parsed::Finite(y))) => x
                    .checked_add(y)
                    .map_or("ERR_NAN_OR_INF".to_string(), |s| s.to_human()),
                _ => "ERR_NAN_OR_INF".to_string(),
            };
            if got != want {
                failures.push(format!(
                    "value {a:?} increment {b:?}: got {got:?}, want {want:?}"
                ));
            }
            checked += 1;
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(checked > 1000, "only {checked} reference lines");
    }
}
