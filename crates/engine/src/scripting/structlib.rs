//! `struct`: Roberto Ierusalimschy's binary packing library as Redis embeds it (`pack`, `unpack`,
//! `size`), on a little-endian machine with 8-byte longs, size_t and alignment.
//!
//! Format options: `<` `>` endianness, `!n` maximum alignment, `b B h H l L T i[n] I[n]`
//! integers, `f d` floats, `x` a pad byte, `c[n]` a fixed-size string (`c0`: the whole string
//! when packing, the previous result as length when unpacking), `s` a NUL-terminated string.

use super::value::{c_double_to_i64, LArg, LibError};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub enum SVal {
    Num(f64),
    Str(Vec<u8>),
}

struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little: true,
            align: 1,
        }
    }
}

struct Fmt<'a> {
    s: &'a [u8],
    i: usize,
}

impl Fmt<'_> {
    /// The next option byte; the format ends at its end or at a NUL, as a C string does.
    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.i)?;
        if c == 0 {
            return None;
        }
        self.i += 1;
        Some(c)
    }

    fn getnum(&mut self, default: usize) -> Result<usize, LibError> {
        if !self.s.get(self.i).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(default);
        }
        let mut a: i64 = 0;
        while let Some(c) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            let d = (c - b'0') as i64;
            if a > i32::MAX as i64 / 10 || a * 10 > i32::MAX as i64 - d {
                return Err(LibError::Msg("integral size overflow".into()));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a as usize)
    }

    fn optsize(&mut self, opt: u8) -> Result<usize, LibError> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.getnum(1)?,
            b'i' | b'I' => {
                let sz = self.getnum(4)?;
                if sz > MAXINTSIZE {
                    return Err(LibError::Msg(format!(
                        "integral size {sz} is larger than limit of {MAXINTSIZE}"
                    )));
                }
                sz
            }
            _ => 0,
        })
    }

    /// The options that change the header rather than produce data.
    fn control(&mut self, opt: u8, h: &mut Header) -> Result<(), LibError> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.getnum(MAXALIGN)?;
                if a == 0 || a & (a - 1) != 0 {
                    return Err(LibError::Msg(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => {
                return Err(LibError::Arg(
                    1,
                    format!("invalid format option '{}'", opt as char),
                ))
            }
        }
        Ok(())
    }
}

fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & (size - 1))) & (size - 1)
}

fn is_int_opt(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// `(unsigned long)n` as x86-64 code computes it (out of range and NaN give 0 or wrap).
fn c_double_to_u64(n: f64) -> u64 {
    if n < 0.0 {
        return c_double_to_i64(n) as u64;
    }
    if n < 9_223_372_036_854_775_808.0 {
        return n as u64;
    }
    (c_double_to_i64(n - 9_223_372_036_854_775_808.0) as u64) ^ (1 << 63)
}

fn number_arg(args: &[LArg], i: usize) -> Result<f64, LibError> {
    let a = args.get(i).cloned().unwrap_or_else(LArg::none);
    a.num
        .ok_or_else(|| LibError::Arg(i + 2, format!("number expected, got {}", a.type_name)))
}

/// `struct.pack(fmt, ...)`; `args` are the values after the format (Lua arguments 2...).
pub fn pack(fmt: &[u8], args: &[LArg]) -> Result<Vec<u8>, LibError> {
    let mut f = Fmt { s: fmt, i: 0 };
    let mut h = Header::new();
    let mut out = Vec::new();
    let mut arg = 0usize;
    let mut total = 0usize;
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt)?;
        let pad = to_align(total, &h, opt, size);
        total += pad;
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_int_opt(opt) => {
                let n = number_arg(args, arg)?;
                arg += 1;
                let mut value = c_double_to_u64(n);
                let mut bytes = vec![0u8; size];
                for b in bytes.iter_mut() {
                    *b = (value & 0xff) as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                if !h.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = number_arg(args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                });
            }
            b'd' => {
                let n = number_arg(args, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let a = args.get(arg).cloned().unwrap_or_else(LArg::none);
                let s = a.str.ok_or_else(|| {
                    LibError::Arg(arg + 2, format!("string expected, got {}", a.type_name))
                })?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The C code checks after moving to the next argument.
                    return Err(LibError::Arg(arg + 2, "string too short".into()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => f.control(opt, &mut h)?,
        }
        total += size;
    }
    Ok(out)
}

/// `struct.unpack(fmt, data [, pos])`: the values and the position after them (1-based).
pub fn unpack(fmt: &[u8], data: &[u8], pos: i64) -> Result<(Vec<SVal>, i64), LibError> {
    if pos == 0 {
        return Err(LibError::Arg(3, "offset must be 1 or greater".into()));
    }
    // The position is a size_t: a negative one wraps to a huge offset.
    let mut pos = (pos as u64).wrapping_sub(1);
    let ld = data.len() as u64;
    let mut f = Fmt { s: fmt, i: 0 };
    let mut h = Header::new();
    let mut out: Vec<SVal> = Vec::new();
    while let Some(opt) = f.next() {
        let mut size = f.optsize(opt)? as u64;
        pos = pos.wrapping_add(to_align(pos as usize, &h, opt, size as usize) as u64);
        let fits = |pos: u64, size: u64| size <= ld && pos <= ld - size;
        if !fits(pos, size) {
            return Err(LibError::Arg(2, "data string too short".into()));
        }
        if out.len() + 2 > 8000 {
            return Err(LibError::Msg("stack overflow (too many results)".into()));
        }
        let at = pos as usize;
        match opt {
            _ if is_int_opt(opt) => {
                let bytes = &data[at..at + size as usize];
                let mut l: u64 = 0;
                let mut push = |b: u8| l = (l << 8) | b as u64;
                if h.little {
                    bytes.iter().rev().for_each(|b| push(*b));
                } else {
                    bytes.iter().for_each(|b| push(*b));
                }
                let v = if size == 0 {
                    0.0
                } else if opt.is_ascii_lowercase() {
                    let shift = (size * 8 - 1) % 64;
                    let mask = u64::MAX << shift;
                    if l & mask != 0 {
                        l |= mask;
                    }
                    l as i64 as f64
                } else {
                    l as f64
                };
                out.push(SVal::Num(v));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[at..at + 4]);
                let v = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                out.push(SVal::Num(v as f64));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                let v = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push(SVal::Num(v));
            }
            b'c' => {
                if size == 0 {
                    let prev = match out.last() {
                        Some(SVal::Num(n)) => Some(*n),
                        Some(SVal::Str(s)) => std::str::from_utf8(s)
                            .ok()
                            .and_then(|t| t.trim().parse::<f64>().ok()),
                        None => None,
                    };
                    let Some(n) = prev else {
                        return Err(LibError::Msg("format 'c0' needs a previous size".into()));
                    };
                    out.pop();
                    size = c_double_to_u64(n);
                    if !fits(pos, size) {
                        return Err(LibError::Arg(2, "data string too short".into()));
                    }
                }
                out.push(SVal::Str(data[at..at + size as usize].to_vec()));
            }
            b's' => {
                let Some(end) = data[at..].iter().position(|&b| b == 0) else {
                    return Err(LibError::Msg("unfinished string in data".into()));
                };
                size = end as u64 + 1;
                out.push(SVal::Str(data[at..at + end].to_vec()));
            }
            _ => f.control(opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    Ok((out, pos.wrapping_add(1) as i64))
}

/// `struct.size(fmt)`.
pub fn size(fmt: &[u8]) -> Result<i64, LibError> {
    let mut f = Fmt { s: fmt, i: 0 };
    let mut h = Header::new();
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = f.optsize(opt)?;
        pos += to_align(pos, &h, opt, size);
        if opt == b's' {
            return Err(LibError::Arg(1, "option 's' has no fixed size".into()));
        } else if opt == b'c' && size == 0 {
            return Err(LibError::Arg(1, "option 'c0' has no fixed size".into()));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(opt, &mut h)?;
        }
        pos += size;
    }
    Ok(pos as i64)
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
    fn string(s: &[u8]) -> LArg {
        LArg {
            num: None,
            str: Some(s.to_vec()),
            type_name: "string",
        }
    }

    #[test]
    fn pack_unpack_size() {
        assert_eq!(pack(b">I2", &[num(258.0)]).unwrap(), [1, 2]);
        assert_eq!(pack(b"<i", &[num(-2.0)]).unwrap(), [0xfe, 0xff, 0xff, 0xff]);
        assert_eq!(
            pack(b"!4 b i", &[num(1.0), num(2.0)]).unwrap(),
            [1, 0, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(
            pack(b"c3s", &[string(b"abcd"), string(b"xy")]).unwrap(),
            b"abcxy\0"
        );
        assert_eq!(pack(b"c0", &[string(b"whole")]).unwrap(), b"whole");
        let (vals, next) = unpack(b">h", &[0xff, 0xfe], 1).unwrap();
        assert_eq!(vals, vec![SVal::Num(-2.0)]);
        assert_eq!(next, 3);
        let (vals, next) = unpack(b"bc0", b"\x03abcz", 1).unwrap();
        assert_eq!(vals, vec![SVal::Str(b"abc".to_vec())]);
        assert_eq!(next, 5);
        assert_eq!(size(b"!8 b d").unwrap(), 16);
        assert_eq!(size(b"i3 h").unwrap(), 5);
        assert_eq!(pack(b"i0", &[num(5.0)]).unwrap(), b"");
        assert_eq!(unpack(b"i0", b"", 1).unwrap(), (vec![SVal::Num(0.0)], 1));
    }

    #[test]
    fn errors() {
        assert_eq!(
            pack(b"i", &[string(b"x")]).unwrap_err(),
            LibError::Arg(2, "number expected, got string".into())
        );
        assert_eq!(
            pack(b"c5", &[string(b"abc")]).unwrap_err(),
            LibError::Arg(3, "string too short".into())
        );
        assert_eq!(
            pack(b"q", &[]).unwrap_err(),
            LibError::Arg(1, "invalid format option 'q'".into())
        );
        assert_eq!(
            unpack(b"i", b"ab", 1).unwrap_err(),
            LibError::Arg(2, "data string too short".into())
        );
        assert_eq!(
            unpack(b"s", b"ab", 1).unwrap_err(),
            LibError::Msg("unfinished string in data".into())
        );
        assert_eq!(
            size(b"s").unwrap_err(),
            LibError::Arg(1, "option 's' has no fixed size".into())
        );
        assert_eq!(
            pack(b"i33", &[]).unwrap_err(),
            LibError::Msg("integral size 33 is larger than limit of 32".into())
        );
    }
}
