//! Lua 5.1's `string.format`: C `printf` conversions with Lua's own rules (at most two digits of
//! width and precision, `%q`, `%s` passing long strings through untouched), as Redis's Lua runs
//! it on glibc.

use super::value::{c_double_to_i64, LArg, LibError};

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    hash: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

/// `string.format(fmt, ...)`: `args` are the arguments after the format (Lua arguments 2...).
pub fn format(fmt: &[u8], args: &[LArg]) -> Result<Vec<u8>, LibError> {
    let mut out = Vec::new();
    let mut argn = 1; // the format itself is argument 1
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            out.push(fmt[i]);
            i += 1;
            continue;
        }
        i += 1;
        if fmt.get(i) == Some(&b'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        argn += 1;
        let Some(a) = args.get(argn - 2) else {
            return Err(LibError::Arg(argn, "no value".into()));
        };
        let mut spec = Spec::default();
        let start = i;
        while let Some(&c) = fmt.get(i).filter(|c| b"-+ #0".contains(c)) {
            match c {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.hash = true,
                _ => spec.zero = true,
            }
            i += 1;
        }
        if i - start >= 6 {
            return Err(LibError::Msg("invalid format (repeated flags)".into()));
        }
        let digits = |i: &mut usize| {
            let mut v = 0;
            for _ in 0..2 {
                if let Some(d) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
                    v = v * 10 + (d - b'0') as usize;
                    *i += 1;
                }
            }
            v
        };
        spec.width = digits(&mut i);
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(digits(&mut i));
        }
        if fmt.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(LibError::Msg(
                "invalid format (width or precision too long)".into(),
            ));
        }
        let conv = fmt.get(i).copied().unwrap_or(0);
        i += 1;
        let number = || {
            a.num
                .ok_or_else(|| LibError::Arg(argn, format!("number expected, got {}", a.type_name)))
        };
        let string = || {
            a.str
                .clone()
                .ok_or_else(|| LibError::Arg(argn, format!("string expected, got {}", a.type_name)))
        };
        match conv {
            b'c' => {
                let c = c_double_to_i64(number()?) as u8;
                out.extend(pad(&spec, Vec::new(), vec![c], false));
            }
            b'd' | b'i' => {
                let v = c_double_to_i64(number()?);
                out.extend(integer(&spec, v < 0, v.unsigned_abs(), 10, false, true));
            }
            b'o' | b'u' | b'x' | b'X' => {
                let n = number()?;
                let v = if n < 0.0 {
                    c_double_to_i64(n) as u64
                } else if n < 9_223_372_036_854_775_808.0 {
                    n as u64
                } else {
                    (c_double_to_i64(n - 9_223_372_036_854_775_808.0) as u64) ^ (1 << 63)
                };
                let base = match conv {
                    b'o' => 8,
                    b'u' => 10,
                    _ => 16,
                };
                out.extend(integer(&spec, false, v, base, conv == b'X', false));
            }
            b'e' | b'E' | b'f' | b'g' | b'G' => {
                out.extend(float(&spec, number()?, conv));
            }
            b'q' => {
                let s = string()?;
                out.push(b'"');
                for &c in &s {
                    match c {
                        b'"' | b'\\' | b'\n' => out.extend_from_slice(&[b'\\', c]),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        0 => out.extend_from_slice(b"\\000"),
                        _ => out.push(c),
                    }
                }
                out.push(b'"');
            }
            b's' => {
                let s = string()?;
                if spec.precision.is_none() && s.len() >= 100 {
                    out.extend_from_slice(&s);
                } else {
                    // sprintf reads a C string: it ends at the first NUL.
                    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                    let end = spec.precision.map_or(end, |p| p.min(end));
                    out.extend(pad(&spec, Vec::new(), s[..end].to_vec(), false));
                }
            }
            c => {
                return Err(LibError::Msg(format!(
                    "invalid option '%{}' to 'format'",
                    c as char
                )))
            }
        }
    }
    Ok(out)
}

/// Pads `prefix` + `body` to the width: spaces on the left (right with `-`), or zeros between
/// the prefix and the body when `zeros` is allowed and `0` was given.
fn pad(spec: &Spec, prefix: Vec<u8>, body: Vec<u8>, zeros: bool) -> Vec<u8> {
    let len = prefix.len() + body.len();
    let fill = spec.width.saturating_sub(len);
    let mut out = Vec::with_capacity(len + fill);
    if spec.minus {
        out.extend(prefix);
        out.extend(body);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if zeros && spec.zero {
        out.extend(prefix);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend(body);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend(prefix);
        out.extend(body);
    }
    out
}

fn integer(spec: &Spec, negative: bool, v: u64, base: u32, upper: bool, signed: bool) -> Vec<u8> {
    let mut digits = match base {
        8 => format!("{v:o}"),
        16 if upper => format!("{v:X}"),
        16 => format!("{v:x}"),
        _ => v.to_string(),
    }
    .into_bytes();
    if spec.precision == Some(0) && v == 0 {
        digits.clear();
    }
    if let Some(p) = spec.precision {
        if digits.len() < p {
            let mut z = vec![b'0'; p - digits.len()];
            z.extend(digits);
            digits = z;
        }
    }
    let mut prefix = Vec::new();
    if signed {
        if negative {
            prefix.push(b'-');
        } else if spec.plus {
            prefix.push(b'+');
        } else if spec.space {
            prefix.push(b' ');
        }
    }
    if spec.hash {
        if base == 8 && digits.first() != Some(&b'0') {
            digits.insert(0, b'0');
        } else if base == 16 && v != 0 {
            prefix.extend_from_slice(if upper { b"0X" } else { b"0x" });
        }
    }
    // A precision turns the 0 flag off for integers.
    pad(spec, prefix, digits, spec.precision.is_none())
}

fn float(spec: &Spec, v: f64, conv: u8) -> Vec<u8> {
    let upper = conv.is_ascii_uppercase();
    let negative = v.is_sign_negative();
    let mut prefix = Vec::new();
    if negative {
        prefix.push(b'-');
    } else if spec.plus {
        prefix.push(b'+');
    } else if spec.space {
        prefix.push(b' ');
    }
    if !v.is_finite() {
        let body = match (v.is_nan(), upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        return pad(spec, prefix, body.as_bytes().to_vec(), false);
    }
    let a = v.abs();
    let p = spec.precision.unwrap_or(6);
    let body = match conv.to_ascii_lowercase() {
        b'e' => exp_form(a, p, spec.hash, upper),
        b'f' => fixed_form(a, p, spec.hash),
        _ => {
            let p = if p == 0 { 1 } else { p };
            let x = if a == 0.0 { 0 } else { exponent_of(a, p - 1) };
            let mut s = if (x as i64) < p as i64 && x >= -4 {
                fixed_form(a, (p as i64 - 1 - x as i64) as usize, spec.hash)
            } else {
                exp_form(a, p - 1, spec.hash, upper)
            };
            if !spec.hash {
                s = strip_zeros(&s);
            }
            s
        }
    };
    pad(spec, prefix, body.into_bytes(), true)
}

/// The decimal exponent `%e` would print with `digits` digits after the point.
fn exponent_of(a: f64, digits: usize) -> i32 {
    let s = format!("{:.*e}", digits, a);
    s.split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

fn exp_form(a: f64, p: usize, hash: bool, upper: bool) -> String {
    let s = format!("{:.*e}", p, a);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut m = mantissa.to_string();
    if hash && p == 0 {
        m.push('.');
    }
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{m}{e}{sign}{:02}", exp.abs())
}

fn fixed_form(a: f64, p: usize, hash: bool) -> String {
    let mut s = format!("{:.*}", p, a);
    if hash && p == 0 {
        s.push('.');
    }
    s
}

/// `%g` without `#`: no trailing zeros in the fraction, and no point when nothing follows it.
fn strip_zeros(s: &str) -> String {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let m = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    format!("{m}{exp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> LArg {
        LArg {
            num: Some(n),
            str: Some(n.to_string().into_bytes()),
            type_name: "number",
        }
    }
    fn s(x: &str) -> LArg {
        LArg {
            num: x.parse().ok(),
            str: Some(x.as_bytes().to_vec()),
            type_name: "string",
        }
    }
    fn f(fmt: &str, args: &[LArg]) -> String {
        String::from_utf8(format(fmt.as_bytes(), args).unwrap()).unwrap()
    }

    #[test]
    fn c_printf_conversions() {
        assert_eq!(
            f(
                "%+d % d %#x %#o %.3d %x",
                &[
                    num(5.0),
                    num(5.0),
                    num(255.0),
                    num(8.0),
                    num(7.0),
                    num(-1.0)
                ]
            ),
            "+5  5 0xff 010 007 ffffffffffffffff"
        );
        assert_eq!(f("%#g %#.3g", &[num(1.0), num(2.0)]), "1.00000 2.00");
        assert_eq!(
            f(
                "%5.1f|%-8.3e|%G|%g|%g|%g",
                &[
                    num(6.48),
                    num(1234.5),
                    num(1e-10),
                    num(100000.0),
                    num(1e6),
                    num(0.0001)
                ]
            ),
            "  6.5|1.234e+03|1E-10|100000|1e+06|0.0001"
        );
        assert_eq!(
            f("%05d|%-5d|%5s|", &[num(-42.0), num(42.0), s("ab")]),
            "-0042|42   |   ab|"
        );
        assert_eq!(f("%q", &[s("a\n\"\0")]), "\"a\\\n\\\"\\000\"");
        assert_eq!(
            f("%5.2f %e", &[num(f64::INFINITY), num(f64::NEG_INFINITY)]),
            "  inf -inf"
        );
        assert_eq!(
            f("%.0f %.0f %.0f", &[num(0.5), num(1.5), num(2.5)]),
            "0 2 2"
        );
        assert_eq!(f("%c%c", &[num(72.0), num(105.0)]), "Hi");
        assert_eq!(f("%10.4s|", &[s("abcdefgh")]), "      abcd|");
        assert_eq!(f("%s", &[s("a\0b")]), "a");
    }

    #[test]
    fn lua_errors() {
        assert_eq!(
            format(b"%d", &[]).unwrap_err(),
            LibError::Arg(2, "no value".into())
        );
        assert_eq!(
            format(b"%123d", &[num(1.0)]).unwrap_err(),
            LibError::Msg("invalid format (width or precision too long)".into())
        );
        assert_eq!(
            format(b"%y", &[num(1.0)]).unwrap_err(),
            LibError::Msg("invalid option '%y' to 'format'".into())
        );
        assert_eq!(
            format(b"%------d", &[num(1.0)]).unwrap_err(),
            LibError::Msg("invalid format (repeated flags)".into())
        );
    }
}
