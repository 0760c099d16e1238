//! Numbers as Redis reads and writes them.
//!
//! Redis parses integers with its own strict `string2ll` (no sign but `-`, no leading zeros, no
//! spaces) and doubles with libc's `strtod` plus its own checks, and it prints doubles with
//! `%.17g` (Redis 7.0; 7.2 moved to shortest round-trip). Matching these to the byte is what makes
//! `ZSCORE` print `1.1000000000000001` here as it does on a real Redis 7.0.

/// Redis's `string2ll`: the only integer syntax Redis accepts for counters, TTLs and indexes.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    // LONG_STR_SIZE is 21: anything longer cannot be a long long.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Redis's `getDoubleFromObject` / `string2d`: C's `strtod` over the whole argument, no leading
/// space, no NaN, and a value that neither overflowed to infinity nor underflowed to zero
/// (strtod's ERANGE, which Redis refuses; a literal zero such as `0e-400` is fine).
/// C's `strtoll` in base 10: leading blanks, one sign, then digits, saturating at the ends of
/// the range. Returns the value and where the digits ended, or None when there are no digits
/// (strtoll then converts nothing).
pub fn strtoll_prefix(s: &[u8]) -> Option<(i64, usize)> {
    let mut i = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = s[i.min(s.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in &s[i..i + digits] {
        let d = i64::from(c - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    Some((v, i + digits))
}

/// C's `atoi` as glibc has it, `(int) strtol(s, NULL, 10)`: whatever follows the digits is
/// ignored, no digits read as 0, and a value outside an int keeps its low 32 bits.
pub fn atoi(s: &[u8]) -> i32 {
    strtoll_prefix(s).map_or(0, |(v, _)| v as i32)
}

pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let v = strtod(s)?;
    let lower = std::str::from_utf8(s)
        .ok()?
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(v);
    }
    let mantissa = match lower.strip_prefix("0x") {
        Some(hex) => hex.split('p').next().unwrap_or(""),
        None => lower.split('e').next().unwrap_or(""),
    };
    let nonzero_digits = mantissa.bytes().any(|c| c.is_ascii_hexdigit() && c != b'0');
    if v.is_infinite() || (v == 0.0 && nonzero_digits) {
        return None;
    }
    Some(v)
}

/// C's `strtod` required to read the whole argument: one optional sign, no leading space, no
/// NaN. Out-of-range values come back as strtod returns them (±inf, 0), for the callers that
/// do not check ERANGE (ZRANGEBYSCORE's bounds).
pub fn strtod(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if body.starts_with(['+', '-']) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        // strtod's decimal syntax: digits, an optional point, an optional exponent. Rust's
        // parser accepts the same set once "inf"/"nan" spellings are handled above.
        if !body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    if v.is_nan() {
        return None;
    }
    Some(if text.starts_with('-') { -v } else { v })
}

/// strtod also reads C99 hex floats (`0x1.8p3`); so must we, rare as they are.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.find('p') {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// C's `printf("%.17g", d)`, with Redis's spelling of the infinities.
pub fn fmt_double(d: f64) -> String {
    fmt_g(d, 17)
}

/// C's `%.<prec>g`: `prec` significant digits, trailing zeros removed, scientific notation when
/// the exponent is below -4 or at least `prec`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let prec = prec.max(1);
    // An integer of at most `prec` digits prints as itself. Scores and counters mostly are
    // such integers, and this skips the two exact float formattings below (about 1,500
    // instructions for `%.17g`).
    if d.fract() == 0.0 && d.abs() < 10f64.powi(prec.min(18) as i32) {
        return (d as i64).to_string();
    }
    fmt_g_exact(d, prec)
}

/// `fmt_g` for finite, non-zero `d`, through Rust's exact formatting.
fn fmt_g_exact(d: f64, prec: usize) -> String {
    // Rust's `{:e}` is exact and correctly rounded, as glibc's printf is.
    let sci = format!("{:.*e}", prec - 1, d);
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    if exp < -4 || exp >= prec as i32 {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Length of the decimal form of `v`, as `ll2string` would write it.
pub fn i64_len(v: i64) -> usize {
    let mut n = if v < 0 { 2 } else { 1 };
    let mut u = v.unsigned_abs();
    while u >= 10 {
        u /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"1.0",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn percent_17g() {
        assert_eq!(fmt_double(1.1), "1.1000000000000001");
        assert_eq!(fmt_double(1.5), "1.5");
        assert_eq!(fmt_double(3.0), "3");
        assert_eq!(fmt_double(1e17), "1e+17");
        assert_eq!(fmt_double(1.5e-5), "1.5e-05");
        assert_eq!(fmt_double(0.1), "0.10000000000000001");
        assert_eq!(fmt_double(0.0001), "0.0001");
        assert_eq!(fmt_double(-2.5), "-2.5");
        assert_eq!(fmt_double(f64::INFINITY), "inf");
        assert_eq!(fmt_double(123456789012345678.0), "1.2345678901234568e+17");
    }

    #[test]
    fn integers_print_as_the_exact_formatting_would() {
        let mut values = vec![1.0, 9.0, 10.0, 99.0, 100.0, 65536.0, 9007199254740993.0];
        for k in 0..=17 {
            let p = 10f64.powi(k);
            values.extend([p, p - 1.0, p + 1.0, 2.0 * p, 9.5 * p]);
        }
        // Integers of every size up to 2^63, from a fixed LCG.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let bits = 1 + (x >> 58) as u32;
            values.push(((x >> 1) >> (63 - bits.min(63))) as f64);
        }
        for v in values {
            for d in [v, -v] {
                if d.fract() != 0.0 || d == 0.0 {
                    continue;
                }
                for prec in [1, 5, 15, 17, 18, 20] {
                    assert_eq!(
                        fmt_g(d, prec),
                        fmt_g_exact(d, prec),
                        "{d} with {prec} digits"
                    );
                }
            }
        }
        assert_eq!(fmt_double(-0.0), "-0");
        assert_eq!(fmt_double(12345.0), "12345");
        assert_eq!(fmt_double(1e16), "10000000000000000");
    }

    #[test]
    fn strtod_like() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
        // Out of range for a double: strtod's ERANGE, refused by Redis.
        assert_eq!(parse_f64(b"1e500"), None);
        assert_eq!(parse_f64(b"-1e500"), None);
        assert_eq!(parse_f64(b"1e-400"), None);
        assert_eq!(parse_f64(b"0x1p-1080"), None);
        assert_eq!(parse_f64(b"0x1p2000"), None);
        assert_eq!(parse_f64(b"0xep-2000"), None);
        assert_eq!(parse_f64(b"0e-400"), Some(0.0));
        assert_eq!(parse_f64(b"1e-310"), Some(1e-310));
    }
}
