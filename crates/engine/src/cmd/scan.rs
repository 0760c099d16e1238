//! The cursor walk behind SCAN, shared with the per-value scans (HSCAN, SSCAN, ZSCAN).
//!
//! Redis answers a scan in three steps, and so does this module: parse the cursor and the
//! options, walk the hash table with `Dict::scan_step` until about COUNT elements were gathered
//! (or ten buckets per wanted element were visited, so that a sparse table cannot stall the
//! server), then filter what was gathered. Filtering after the walk is why a scan may return
//! fewer elements than COUNT, or none, with a non-zero cursor.

use crate::args::{int, is};
use crate::dict::{Dict, Key};
use crate::glob;
use crate::{error, Reply};

/// Elements gathered per call when the client gives no COUNT.
pub const DEFAULT_COUNT: i64 = 10;

pub struct ScanOptions<'a> {
    /// How many elements to gather before stopping (at least 1).
    pub count: i64,
    /// The MATCH pattern; `None` when absent or exactly `*`, which matches everything.
    pub pattern: Option<&'a [u8]>,
    /// The TYPE filter (SCAN only).
    pub type_name: Option<&'a [u8]>,
}

/// The bytes of `a` up to its first NUL: Redis compares option words with `strcasecmp`, which
/// stops there.
pub fn c_str(a: &[u8]) -> &[u8] {
    a.split(|&b| b == 0).next().unwrap_or_default()
}

/// True when `a`, read as a C string, is `word` ignoring case.
pub fn is_word(a: &[u8], word: &str) -> bool {
    is(c_str(a), word)
}

/// Reads a cursor as Redis does with `strtoul`: an optional sign and decimal digits; a minus
/// sign wraps the value around (so `-1` is the largest cursor), an empty string is 0, and a
/// leading blank, trailing garbage or a value past 64 bits is an error.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, Reply> {
    let invalid = || Reply::error(error::CURSOR_INVALID);
    let Some(&first) = arg.first() else {
        return Ok(0);
    };
    if matches!(first, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        return Err(invalid());
    }
    let (negative, digits) = match first {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative { v.wrapping_neg() } else { v })
}

/// Parses the options that follow the cursor, from `argv[start]` on. `allow_type` is true for
/// SCAN, whose TYPE option the per-value scans do not have. Errors come in argument order.
pub fn parse_options<'a>(
    argv: &[&'a [u8]],
    start: usize,
    allow_type: bool,
) -> Result<ScanOptions<'a>, Reply> {
    let mut o = ScanOptions {
        count: DEFAULT_COUNT,
        pattern: None,
        type_name: None,
    };
    let mut i = start;
    while i < argv.len() {
        let has_value = argv.len() - i >= 2;
        let opt = argv[i];
        if is_word(opt, "count") && has_value {
            let n = int(argv[i + 1])?;
            if n < 1 {
                return Err(Reply::error(error::SYNTAX));
            }
            o.count = n;
        } else if is_word(opt, "match") && has_value {
            let p = argv[i + 1];
            o.pattern = if p == b"*" { None } else { Some(p) };
        } else if is_word(opt, "type") && allow_type && has_value {
            o.type_name = Some(argv[i + 1]);
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        i += 2;
    }
    Ok(o)
}

/// Walks `dict` from `cursor`, letting `emit` push each visited entry's elements (one for a key
/// or a set member, two for a field and its value), until `want` elements were gathered, the
/// walk finished, or `want * 10` further buckets were visited. Returns the cursor to resume from
/// (0 when the walk is complete) and the gathered elements, unfiltered.
pub fn collect<V>(
    dict: &Dict<V>,
    mut cursor: u64,
    want: i64,
    mut emit: impl FnMut(&Key, &V, &mut Vec<Vec<u8>>),
) -> (u64, Vec<Vec<u8>>) {
    let mut out = Vec::new();
    let mut budget = want.saturating_mul(10);
    loop {
        cursor = dict.scan_step(cursor, |k, v| emit(k, v, &mut out));
        if cursor == 0 {
            break;
        }
        let more = budget != 0;
        budget = budget.wrapping_sub(1);
        if !more || out.len() as i64 >= want {
            break;
        }
    }
    (cursor, out)
}

/// Drops the groups of `stride` elements (1 for keys and members, 2 for field/value pairs)
/// whose first element does not match `pattern`.
pub fn retain_matching(items: &mut Vec<Vec<u8>>, pattern: Option<&[u8]>, stride: usize) {
    let Some(p) = pattern else { return };
    let mut kept = Vec::with_capacity(items.len());
    let mut groups = std::mem::take(items).into_iter().peekable();
    while let Some(first) = groups.next() {
        let keep = glob::matches(p, &first);
        if keep {
            kept.push(first);
        }
        for _ in 1..stride {
            if let Some(rest) = groups.next() {
                if keep {
                    kept.push(rest);
                }
            }
        }
    }
    *items = kept;
}

/// The two-element reply: the next cursor as a bulk string, then the elements.
pub fn reply(cursor: u64, items: Vec<Vec<u8>>) -> Reply {
    // Redis writes the cursor through its signed 64-bit formatter.
    Reply::Array(vec![
        Reply::bulk((cursor as i64).to_string()),
        Reply::bulks(items),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parses_like_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"+7").ok(), Some(7));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [
            &b" 1"[..],
            b"1 ",
            b"-",
            b"+",
            b"0x1",
            b"18446744073709551616",
            b"1a",
        ] {
            assert!(
                parse_cursor(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn pairs_are_filtered_by_their_first_element() {
        let mut items: Vec<Vec<u8>> = ["a1", "x", "b1", "y", "a2", "z"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        retain_matching(&mut items, Some(b"a*"), 2);
        assert_eq!(
            items,
            vec![b"a1".to_vec(), b"x".to_vec(), b"a2".to_vec(), b"z".to_vec()]
        );
    }

    #[test]
    fn collect_stops_after_ten_buckets_per_wanted_element() {
        let mut d: Dict<()> = Dict::new(3);
        for i in 0..2000 {
            d.insert(format!("k{i}").into_bytes().into(), ());
        }
        // Emitting nothing never reaches COUNT, so only the visit budget ends the call:
        // one first step plus 10 * COUNT more.
        let mut visited = 0;
        let (cursor, items) = collect(&d, 0, 3, |_, _, _| visited += 1);
        assert!(items.is_empty());
        assert_ne!(cursor, 0);
        let mut steps = 0;
        let mut c = 0;
        for _ in 0..31 {
            c = d.scan_step(c, |_, _| steps += 1);
        }
        assert_eq!(cursor, c);
        assert_eq!(visited, steps);
    }
}
