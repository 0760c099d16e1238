//! Deciding whether two replies agree, and showing how they differ.

use crate::resp::{self, Frame};

/// True when the replies agree: byte for byte, or, for an `unordered` step, as multisets.
pub fn agree(expected: &[u8], actual: &[u8], unordered: bool) -> bool {
    if expected == actual {
        return true;
    }
    if !unordered {
        return false;
    }
    match (resp::parse_exact(expected), resp::parse_exact(actual)) {
        (Ok(a), Ok(b)) => agree_unordered(&a, &b),
        _ => false,
    }
}

/// True when the replies have the same shape and agree, except that integers and doubles may
/// differ by `tolerance` relative to the larger of the two (`#! approx`): for sizes that two
/// servers compute from the same rules but not to the byte (MEMORY USAGE, INFO numbers).
pub fn agree_approx(expected: &[u8], actual: &[u8], tolerance: f64) -> bool {
    if expected == actual {
        return true;
    }
    match (resp::parse_exact(expected), resp::parse_exact(actual)) {
        (Ok(a), Ok(b)) => close(&a, &b, tolerance),
        _ => false,
    }
}

fn close(a: &Frame, b: &Frame, tolerance: f64) -> bool {
    let number = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<f64>().ok();
    let near = |x: f64, y: f64| (x - y).abs() <= tolerance * x.abs().max(y.abs());
    match (a, b) {
        (Frame::Integer(x), Frame::Integer(y)) | (Frame::Double(x), Frame::Double(y)) => {
            match (number(x), number(y)) {
                (Some(x), Some(y)) => near(x, y),
                _ => x == y,
            }
        }
        (Frame::Array(Some(x)), Frame::Array(Some(y)))
        | (Frame::Set(x), Frame::Set(y))
        | (Frame::Push(x), Frame::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| close(p, q, tolerance))
        }
        (Frame::Map(x), Frame::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, v), (l, w))| k == l && close(v, w, tolerance))
        }
        _ => a == b,
    }
}

/// Elements of an array or set as a multiset; a SCAN-style `[cursor, [items]]` reply compares
/// its items as a multiset and its cursor only when one side finished the iteration (cursor
/// "0"): cursors are positions in a hash table whose layout is each server's own business.
fn agree_unordered(a: &Frame, b: &Frame) -> bool {
    if let (Some((ca, ia)), Some((cb, ib))) = (scan_shape(a), scan_shape(b)) {
        let cursors_ok = (ca == b"0") == (cb == b"0");
        return cursors_ok && same_kind(ia, ib) && same_multiset(items(ia), items(ib));
    }
    same_kind(a, b) && same_multiset(items(a), items(b))
}

fn scan_shape(f: &Frame) -> Option<(&[u8], &Frame)> {
    match f {
        Frame::Array(Some(parts)) if parts.len() == 2 => match (&parts[0], &parts[1]) {
            (Frame::Bulk(Some(cursor)), inner @ (Frame::Array(Some(_)) | Frame::Set(_)))
                if !cursor.is_empty() && cursor.iter().all(u8::is_ascii_digit) =>
            {
                Some((cursor.as_slice(), inner))
            }
            _ => None,
        },
        _ => None,
    }
}

fn same_kind(a: &Frame, b: &Frame) -> bool {
    matches!(
        (a, b),
        (Frame::Array(Some(_)), Frame::Array(Some(_))) | (Frame::Set(_), Frame::Set(_))
    )
}

fn items(f: &Frame) -> &[Frame] {
    match f {
        Frame::Array(Some(items)) | Frame::Set(items) => items,
        _ => &[],
    }
}

fn same_multiset(a: &[Frame], b: &[Frame]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ea: Vec<Vec<u8>> = a.iter().map(encode).collect();
    let mut eb: Vec<Vec<u8>> = b.iter().map(encode).collect();
    ea.sort();
    eb.sort();
    ea == eb
}

/// Writes a parsed frame back to the bytes it came from.
pub fn encode(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(f, &mut out);
    out
}

fn line(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn blob(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    line(out, tag, body.len().to_string().as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn encode_into(f: &Frame, out: &mut Vec<u8>) {
    let count = |n: usize| n.to_string().into_bytes();
    match f {
        Frame::Simple(s) => line(out, b'+', s),
        Frame::Error(s) => line(out, b'-', s),
        Frame::Integer(s) => line(out, b':', s),
        Frame::Double(s) => line(out, b',', s),
        Frame::BigNumber(s) => line(out, b'(', s),
        Frame::Null => line(out, b'_', b""),
        Frame::Bool(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
        Frame::Bulk(None) => line(out, b'$', b"-1"),
        Frame::Bulk(Some(b)) => blob(out, b'$', b),
        Frame::BlobError(b) => blob(out, b'!', b),
        Frame::Verbatim(b) => blob(out, b'=', b),
        Frame::Array(None) => line(out, b'*', b"-1"),
        Frame::Array(Some(items)) | Frame::Set(items) | Frame::Push(items) => {
            let tag = match f {
                Frame::Set(_) => b'~',
                Frame::Push(_) => b'>',
                _ => b'*',
            };
            line(out, tag, &count(items.len()));
            for it in items {
                encode_into(it, out);
            }
        }
        Frame::Map(pairs) => {
            line(out, b'%', &count(pairs.len()));
            for (k, v) in pairs {
                encode_into(k, out);
                encode_into(v, out);
            }
        }
        Frame::Attribute(attrs, inner) => {
            line(out, b'|', &count(attrs.len()));
            for (k, v) in attrs {
                encode_into(k, out);
                encode_into(v, out);
            }
            encode_into(inner, out);
        }
    }
}

/// A reply for a report: the rendered frame, or the escaped bytes when they are not one
/// well-formed frame.
pub fn show(bytes: &[u8]) -> String {
    match resp::parse_exact(bytes) {
        Ok(f) => resp::render(&f),
        Err(e) => format!(
            "<malformed reply: {e}> {}",
            resp::escape(&bytes[..bytes.len().min(400)])
        ),
    }
}

/// Where two byte strings first differ, with a window of escaped bytes around it on each side;
/// for replies whose renderings look alike (long strings cut in the middle, number spellings).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<(usize, String, String)> {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    if a == b {
        return None;
    }
    let from = at.saturating_sub(24);
    let window = |s: &[u8]| resp::escape(&s[from.min(s.len())..(at + 40).min(s.len())]);
    Some((at, window(a), window(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approx_compares_numbers_within_the_tolerance() {
        assert!(agree_approx(b":100\r\n", b":109\r\n", 0.1));
        assert!(!agree_approx(b":100\r\n", b":112\r\n", 0.1));
        assert!(!agree_approx(b":100\r\n", b"$3\r\n100\r\n", 0.1));
        assert!(agree_approx(
            b"*2\r\n:10\r\n+OK\r\n",
            b"*2\r\n:11\r\n+OK\r\n",
            0.1
        ));
        assert!(!agree_approx(
            b"*2\r\n:10\r\n+OK\r\n",
            b"*2\r\n:10\r\n+KO\r\n",
            0.1
        ));
        assert!(agree_approx(b"$-1\r\n", b"$-1\r\n", 0.1));
    }

    #[test]
    fn exact_unless_unordered() {
        let a = b"*2\r\n$1\r\na\r\n$1\r\nb\r\n";
        let b = b"*2\r\n$1\r\nb\r\n$1\r\na\r\n";
        assert!(agree(a, a, false));
        assert!(!agree(a, b, false));
        assert!(agree(a, b, true));
        assert!(
            !agree(a, b"*2\r\n$1\r\nb\r\n$1\r\nb\r\n", true),
            "multiset, not set"
        );
        assert!(!agree(a, b"*1\r\n$1\r\na\r\n", true));
        assert!(
            !agree(a, b"~2\r\n$1\r\nb\r\n$1\r\na\r\n", true),
            "array is not a set"
        );
        assert!(!agree(b"+OK\r\n", b"+KO\r\n", true));
    }

    #[test]
    fn scan_cursor_rules() {
        let scan = |cursor: &str, items: &[&str]| {
            let mut s = format!(
                "*2\r\n${}\r\n{cursor}\r\n*{}\r\n",
                cursor.len(),
                items.len()
            );
            for it in items {
                s.push_str(&format!("${}\r\n{it}\r\n", it.len()));
            }
            s.into_bytes()
        };
        assert!(agree(
            &scan("0", &["a", "b"]),
            &scan("0", &["b", "a"]),
            true
        ));
        assert!(agree(&scan("12", &["a"]), &scan("3", &["a"]), true));
        assert!(!agree(&scan("0", &["a"]), &scan("3", &["a"]), true));
        assert!(!agree(&scan("0", &["a"]), &scan("0", &["b"]), true));
    }

    #[test]
    fn encode_reproduces_wire_bytes() {
        for bytes in [
            &b"*3\r\n:1\r\n$-1\r\n*-1\r\n"[..],
            b"%1\r\n+a\r\n~2\r\n,1.5\r\n#f\r\n",
            b"|1\r\n+k\r\n(12\r\n>1\r\n=7\r\ntxt:abc\r\n",
            b"_\r\n",
            b"!3\r\nERR\r\n",
        ] {
            assert_eq!(encode(&resp::parse_exact(bytes).unwrap()), bytes);
        }
    }

    #[test]
    fn shows_where_bytes_differ() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        let (at, _, _) = first_difference(b"abcd", b"abxd").unwrap();
        assert_eq!(at, 2);
        let (at, a, b) = first_difference(b"ab", b"abc").unwrap();
        assert_eq!((at, a.as_str(), b.as_str()), (2, "ab", "abc"));
        assert!(show(b"+OK\r\nextra").starts_with("<malformed reply"));
    }
}
