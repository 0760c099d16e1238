//! The typed answer to a command, and its three pure encodings.
//!
//! `Reply` is a superset of RESP3: every command answers with one, whatever protocol its client
//! speaks. Downgrading to RESP2 happens only when encoding, the way Redis's `addReply*` functions
//! pick a wire form from `c->resp`: a map becomes a flat array, a double a bulk string, a boolean
//! an integer, and the RESP3 null becomes `$-1` or `*-1` depending on what stood in its place.

use std::borrow::Cow;

use crate::numfmt::fmt_double;

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`: a status line. Never contains CR or LF.
    Simple(Cow<'static, str>),
    /// `-ERR ...`: the whole line after the `-`, error code included.
    Error(Cow<'static, str>),
    Integer(i64),
    Bulk(Vec<u8>),
    /// A missing string: `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// A missing array (a timed-out BLPOP, an aborted EXEC): `*-1` in RESP2, `_` in RESP3.
    NilArray,
    Array(Vec<Reply>),
    /// A RESP3 map; a flat array of key, value, key, value in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A RESP3 set; an array in RESP2.
    Set(Vec<Reply>),
    /// A RESP3 double; a bulk string in RESP2, formatted as Redis 7.0 does (`%.17g`).
    Double(f64),
    /// A RESP3 double whose text the command formats itself (Redis's `addReplyHumanLongDouble`,
    /// which GEOPOS uses); a bulk string in RESP2.
    DoubleText(String),
    /// A RESP3 boolean; the integer 1 or 0 in RESP2.
    Bool(bool),
    /// A RESP3 big number; a bulk string in RESP2.
    BigNumber(String),
    /// A RESP3 verbatim string with its three-letter format (`txt`, `mkd`); a bulk string in RESP2.
    Verbatim(&'static str, Vec<u8>),
    /// An out-of-band message (pub/sub, invalidation); a plain array in RESP2.
    Push(Vec<Reply>),
    /// No reply yet: the command blocked the client (BLPOP on an empty list). The reply comes
    /// later through `Engine::take_output`. Encodes to nothing.
    Blocked,
    /// Several top-level replies to one command, sent one after the other (SUBSCRIBE with
    /// several channels answers once per channel).
    Multi(Vec<Reply>),
}

impl Reply {
    pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

    pub fn ok() -> Reply {
        Reply::OK
    }
    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }
    pub fn error(s: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(s))
    }
    pub fn error_owned(s: String) -> Reply {
        Reply::Error(Cow::Owned(s))
    }
    pub fn bulk(b: impl Into<Vec<u8>>) -> Reply {
        Reply::Bulk(b.into())
    }
    pub fn bulk_opt(b: Option<Vec<u8>>) -> Reply {
        b.map(Reply::Bulk).unwrap_or(Reply::Nil)
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
    pub fn error_text(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }
    pub fn bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::Bulk(b.into())).collect())
    }
}

/// Which wire form a client reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

/// Appends the RESP encoding of `reply` to `out`.
pub fn encode_resp(reply: &Reply, proto: Protocol, out: &mut Vec<u8>) {
    let r3 = proto == Protocol::Resp3;
    match reply {
        Reply::Blocked => {}
        Reply::Multi(items) => {
            for it in items {
                encode_resp(it, proto, out);
            }
        }
        Reply::Simple(s) => {
            out.push(b'+');
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Reply::Error(s) => {
            out.push(b'-');
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Reply::Integer(n) => header(out, b':', *n),
        Reply::Bulk(b) => bulk(out, b),
        Reply::Nil => out.extend_from_slice(if r3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if r3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => {
            header(out, b'*', items.len() as i64);
            for it in items {
                // Most arrays are of bulk strings (LRANGE, ZRANGE, HGETALL...).
                match it {
                    Reply::Bulk(b) => bulk(out, b),
                    _ => encode_resp(it, proto, out),
                }
            }
        }
        Reply::Map(pairs) => {
            if r3 {
                header(out, b'%', pairs.len() as i64);
            } else {
                header(out, b'*', 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode_resp(k, proto, out);
                encode_resp(v, proto, out);
            }
        }
        Reply::Set(items) | Reply::Push(items) => {
            let tag = match (reply, r3) {
                (Reply::Set(_), true) => b'~',
                (Reply::Push(_), true) => b'>',
                _ => b'*',
            };
            header(out, tag, items.len() as i64);
            for it in items {
                encode_resp(it, proto, out);
            }
        }
        Reply::Double(d) => {
            let s = fmt_double(*d);
            if r3 {
                out.push(b',');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(out, s.as_bytes());
            }
        }
        Reply::DoubleText(s) => {
            if r3 {
                out.push(b',');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(out, s.as_bytes());
            }
        }
        Reply::Bool(b) => {
            if r3 {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                header(out, b':', *b as i64);
            }
        }
        Reply::BigNumber(s) => {
            if r3 {
                out.push(b'(');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(out, s.as_bytes());
            }
        }
        Reply::Verbatim(fmt, text) => {
            if r3 {
                header(out, b'=', text.len() as i64 + 4);
                out.extend_from_slice(fmt.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(out, text);
            }
        }
    }
}

pub fn to_resp(reply: &Reply, proto: Protocol) -> Vec<u8> {
    let mut out = Vec::new();
    encode_resp(reply, proto, &mut out);
    out
}

fn header(out: &mut Vec<u8>, tag: u8, n: i64) {
    let mut buf = [0u8; HEADER_MAX];
    let start = write_header(&mut buf, tag, n);
    out.extend_from_slice(&buf[start..]);
}

/// Runs once for every element of an array reply. Lengths under 100 get their header as one
/// fixed-size write.
fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    if n < 10 {
        out.extend_from_slice(&[b'$', b'0' + n as u8, b'\r', b'\n']);
    } else if n < 100 {
        out.extend_from_slice(&[
            b'$',
            b'0' + (n / 10) as u8,
            b'0' + (n % 10) as u8,
            b'\r',
            b'\n',
        ]);
    } else {
        header(out, b'$', n as i64);
    }
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Tag, sign, up to 19 digits, CRLF.
const HEADER_MAX: usize = 24;

/// Writes `<tag><n>\r\n` at the end of `buf` and returns where it starts.
fn write_header(buf: &mut [u8; HEADER_MAX], tag: u8, n: i64) -> usize {
    let mut i = HEADER_MAX - 2;
    buf[i..].copy_from_slice(b"\r\n");
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    i -= 1;
    buf[i] = tag;
    i
}

/// Renders a reply the way `redis-cli` prints it on a terminal.
///
/// The rules follow redis-cli's `cliFormatReplyTTY`: strings quoted with C-style escapes, status
/// replies bare, `(integer) n`, `(nil)`, `(error) ...`, `(empty array)`, nested items numbered and
/// indented so the numbers line up, `1# key => value` for maps and `1~` for sets.
pub fn to_cli_text(reply: &Reply) -> String {
    let mut out = String::new();
    cli_format(reply, "", &mut out);
    out
}

fn cli_format(reply: &Reply, prefix: &str, out: &mut String) {
    match reply {
        Reply::Blocked => {}
        Reply::Multi(items) => {
            for it in items {
                cli_format(it, prefix, out);
            }
        }
        Reply::Simple(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Reply::Error(s) => {
            out.push_str("(error) ");
            out.push_str(s);
            out.push('\n');
        }
        Reply::Integer(n) => {
            out.push_str(&format!("(integer) {n}\n"));
        }
        Reply::Bulk(b) => {
            out.push_str(&cli_quote(b));
            out.push('\n');
        }
        Reply::Nil | Reply::NilArray => out.push_str("(nil)\n"),
        Reply::Double(d) => out.push_str(&format!("(double) {}\n", fmt_double(*d))),
        Reply::DoubleText(s) => out.push_str(&format!("(double) {s}\n")),
        Reply::Bool(b) => out.push_str(if *b { "(true)\n" } else { "(false)\n" }),
        Reply::BigNumber(s) => out.push_str(&format!("(big number) {s}\n")),
        Reply::Verbatim(_, text) => {
            out.push_str(&String::from_utf8_lossy(text));
            out.push('\n');
        }
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            let (sep, empty) = match reply {
                Reply::Set(_) => ('~', "(empty set)\n"),
                _ => (')', "(empty array)\n"),
            };
            if items.is_empty() {
                out.push_str(empty);
                return;
            }
            let width = items.len().to_string().len();
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(prefix);
                }
                let label = format!("{:>width$}{sep} ", i + 1);
                out.push_str(&label);
                let inner_prefix = format!("{prefix}{}", " ".repeat(label.len()));
                cli_format(it, &inner_prefix, out);
            }
        }
        Reply::Map(pairs) => {
            if pairs.is_empty() {
                out.push_str("(empty hash)\n");
                return;
            }
            let width = pairs.len().to_string().len();
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(prefix);
                }
                let label = format!("{:>width$}# ", i + 1);
                out.push_str(&label);
                let mut key = String::new();
                cli_format(k, "", &mut key);
                out.push_str(key.trim_end_matches('\n'));
                out.push_str(" => ");
                let inner_prefix = format!("{prefix}{}", " ".repeat(label.len()));
                cli_format(v, &inner_prefix, out);
            }
        }
    }
}

/// Quotes bytes as redis-cli's `sdscatrepr` does: `"..."` with `\n`, `\r`, `\t`, `\a`, `\b`,
/// `\\`, `\"` and `\xNN` for every other non-printable byte.
pub fn cli_quote(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_downgrades_resp3_types() {
        let r = Reply::Map(vec![(Reply::bulk("a"), Reply::Integer(1))]);
        assert_eq!(to_resp(&r, Protocol::Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(to_resp(&r, Protocol::Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(to_resp(&Reply::Nil, Protocol::Resp2), b"$-1\r\n");
        assert_eq!(to_resp(&Reply::NilArray, Protocol::Resp2), b"*-1\r\n");
        assert_eq!(to_resp(&Reply::Nil, Protocol::Resp3), b"_\r\n");
        assert_eq!(to_resp(&Reply::Bool(true), Protocol::Resp2), b":1\r\n");
        assert_eq!(to_resp(&Reply::Double(1.5), Protocol::Resp3), b",1.5\r\n");
        assert_eq!(to_resp(&Reply::Integer(-2), Protocol::Resp2), b":-2\r\n");
        assert_eq!(
            to_resp(&Reply::Integer(i64::MIN), Protocol::Resp2),
            b":-9223372036854775808\r\n"
        );
        for len in [0, 9, 10, 99, 100, 12345] {
            let mut want = format!("${len}\r\n").into_bytes();
            want.extend(std::iter::repeat_n(b'x', len));
            want.extend_from_slice(b"\r\n");
            assert_eq!(
                to_resp(&Reply::bulk(vec![b'x'; len]), Protocol::Resp2),
                want
            );
        }
    }

    #[test]
    fn cli_text_matches_redis_cli() {
        assert_eq!(to_cli_text(&Reply::Integer(1)), "(integer) 1\n");
        assert_eq!(to_cli_text(&Reply::bulk("v")), "\"v\"\n");
        assert_eq!(to_cli_text(&Reply::Nil), "(nil)\n");
        assert_eq!(to_cli_text(&Reply::ok()), "OK\n");
        assert_eq!(
            to_cli_text(&Reply::error("ERR syntax error")),
            "(error) ERR syntax error\n"
        );
        assert_eq!(to_cli_text(&Reply::Array(vec![])), "(empty array)\n");
        assert_eq!(
            to_cli_text(&Reply::bulk(b"a\x01\n".to_vec())),
            "\"a\\x01\\n\"\n"
        );
        let nested = Reply::Array(vec![
            Reply::bulk("0"),
            Reply::Array((1..=10).map(|i| Reply::bulk(format!("k{i}"))).collect()),
        ]);
        let text = to_cli_text(&nested);
        assert!(
            text.starts_with("1) \"0\"\n2)  1) \"k1\"\n    2) \"k2\"\n"),
            "{text}"
        );
        assert!(text.ends_with("   10) \"k10\"\n"), "{text}");
    }
}
