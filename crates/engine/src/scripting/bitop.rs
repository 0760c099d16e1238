//! `bit`: LuaBitOp 1.0.2 as Redis embeds it. Every argument is taken modulo 2^32 (rounded to the
//! nearest integer, as the library's 2^52+2^51 addition trick does) and every result is a
//! signed 32-bit number.

/// LuaBitOp's `barg`: the low 32 bits of `n + 2^52 + 2^51`.
pub fn to_bits(n: f64) -> u32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32
}

pub fn to_num(b: u32) -> f64 {
    b as i32 as f64
}

pub fn band(args: &[u32]) -> u32 {
    args.iter().fold(u32::MAX, |a, b| a & b)
}

pub fn bor(args: &[u32]) -> u32 {
    args.iter().fold(0, |a, b| a | b)
}

pub fn bxor(args: &[u32]) -> u32 {
    args.iter().fold(0, |a, b| a ^ b)
}

pub fn lshift(b: u32, n: u32) -> u32 {
    b << (n & 31)
}

pub fn rshift(b: u32, n: u32) -> u32 {
    b >> (n & 31)
}

pub fn arshift(b: u32, n: u32) -> u32 {
    ((b as i32) >> (n & 31)) as u32
}

pub fn rol(b: u32, n: u32) -> u32 {
    b.rotate_left(n & 31)
}

pub fn ror(b: u32, n: u32) -> u32 {
    b.rotate_right(n & 31)
}

pub fn bswap(b: u32) -> u32 {
    b.swap_bytes()
}

/// `bit.tohex(x [, n])`: `n` hex digits (upper case when negative), at most 8.
pub fn tohex(b: u32, n: Option<i32>) -> String {
    let n = n.unwrap_or(8);
    let (n, digits) = if n < 0 {
        (n.unsigned_abs() as usize, b"0123456789ABCDEF")
    } else {
        (n as usize, b"0123456789abcdef")
    };
    let n = n.min(8);
    let mut out = vec![0u8; n];
    let mut v = b;
    for slot in out.iter_mut().rev() {
        *slot = digits[(v & 15) as usize];
        v >>= 4;
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luabitop_semantics() {
        assert_eq!(to_num(to_bits(4294967295.0)), -1.0);
        assert_eq!(to_num(to_bits(2.5)), 2.0);
        assert_eq!(to_num(to_bits(3.5)), 4.0);
        assert_eq!(to_num(to_bits(-1.0)), -1.0);
        assert_eq!(to_num(band(&[to_bits(12.0), to_bits(10.0)])), 8.0);
        assert_eq!(to_num(bor(&[1, 2, 4])), 7.0);
        assert_eq!(to_num(bxor(&[7, 2])), 5.0);
        assert_eq!(to_num(lshift(1, 31)), -2147483648.0);
        assert_eq!(to_num(rshift(to_bits(-1.0), 28)), 15.0);
        assert_eq!(to_num(arshift(to_bits(-256.0), 4)), -16.0);
        assert_eq!(to_num(rol(0x1234_5678, 4)), 0x2345_6781u32 as f64);
        assert_eq!(to_num(ror(0x1234_5678, 4)), 0x8123_4567u32 as i32 as f64);
        assert_eq!(to_num(bswap(0x1234_5678)), 0x7856_3412u32 as f64);
        assert_eq!(tohex(to_bits(-1.0), None), "ffffffff");
        assert_eq!(tohex(255, Some(-4)), "00FF");
        assert_eq!(tohex(255, Some(2)), "ff");
    }
}
