//! RESP on the wire: encoding a command, reading exactly one reply frame, and a parsed view of a
//! frame for comparing and printing.
//!
//! The harness compares raw reply bytes, so the reader keeps every byte it consumed. The same
//! reader parses bytes that came from the in-process engine, which also checks that the engine
//! produced one well-formed frame.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One parsed reply. Scalars keep their payload as the bytes that were on the wire.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+...`
    Simple(Vec<u8>),
    /// `-...`
    Error(Vec<u8>),
    /// `:...`
    Integer(Vec<u8>),
    /// `$n`, or `$-1` (None).
    Bulk(Option<Vec<u8>>),
    /// `*n`, or `*-1` (None).
    Array(Option<Vec<Frame>>),
    /// `_`
    Null,
    /// `,...`
    Double(Vec<u8>),
    /// `#t` / `#f`
    Bool(bool),
    /// `(...`
    BigNumber(Vec<u8>),
    /// `!n`
    BlobError(Vec<u8>),
    /// `=n` with its `txt:` / `mkd:` prefix kept in the payload.
    Verbatim(Vec<u8>),
    /// `%n`
    Map(Vec<(Frame, Frame)>),
    /// `~n`
    Set(Vec<Frame>),
    /// `>n`
    Push(Vec<Frame>),
    /// `|n`: attributes and the reply they decorate.
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
}

/// Encodes `argv` as a RESP multibulk, the form every client sends commands in.
pub fn encode_command(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads one line up to CRLF, appending it (CRLF included) to `raw`; returns it without CRLF.
fn read_line<R: BufRead>(r: &mut R, raw: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    raw.extend_from_slice(&line);
    if !line.ends_with(b"\r\n") {
        return Err(bad(format!(
            "line not terminated by CRLF: {}",
            escape(&line)
        )));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_len(text: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| bad(format!("bad length {}", escape(text))))
}

/// Reads a length-prefixed payload and its trailing CRLF.
fn read_blob<R: BufRead>(r: &mut R, len: i64, raw: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).map_err(|_| bad(format!("bad blob length {len}")))?;
    let mut buf = vec![0u8; len + 2];
    r.read_exact(&mut buf)?;
    raw.extend_from_slice(&buf);
    if !buf.ends_with(b"\r\n") {
        return Err(bad("blob not terminated by CRLF"));
    }
    buf.truncate(len);
    Ok(buf)
}

fn read_count(len: i64) -> io::Result<usize> {
    usize::try_from(len).map_err(|_| bad(format!("bad aggregate length {len}")))
}

/// Reads exactly one complete frame from `r`, appending the bytes it consumed to `raw`.
pub fn read_frame<R: BufRead>(r: &mut R, raw: &mut Vec<u8>) -> io::Result<Frame> {
    let line = read_line(r, raw)?;
    let Some((&tag, rest)) = line.split_first() else {
        return Err(bad("empty line where a reply was expected"));
    };
    let rest = rest.to_vec();
    Ok(match tag {
        b'+' => Frame::Simple(rest),
        b'-' => Frame::Error(rest),
        b':' => Frame::Integer(rest),
        b',' => Frame::Double(rest),
        b'(' => Frame::BigNumber(rest),
        b'_' if rest.is_empty() => Frame::Null,
        b'#' if rest == b"t" => Frame::Bool(true),
        b'#' if rest == b"f" => Frame::Bool(false),
        b'$' => match parse_len(&rest)? {
            -1 => Frame::Bulk(None),
            n => Frame::Bulk(Some(read_blob(r, n, raw)?)),
        },
        b'!' => Frame::BlobError(read_blob(r, parse_len(&rest)?, raw)?),
        b'=' => Frame::Verbatim(read_blob(r, parse_len(&rest)?, raw)?),
        b'*' => match parse_len(&rest)? {
            -1 => Frame::Array(None),
            n => Frame::Array(Some(read_items(r, read_count(n)?, raw)?)),
        },
        b'~' => Frame::Set(read_items(r, read_count(parse_len(&rest)?)?, raw)?),
        b'>' => Frame::Push(read_items(r, read_count(parse_len(&rest)?)?, raw)?),
        b'%' => Frame::Map(read_pairs(r, read_count(parse_len(&rest)?)?, raw)?),
        b'|' => {
            let attrs = read_pairs(r, read_count(parse_len(&rest)?)?, raw)?;
            let inner = read_frame(r, raw)?;
            Frame::Attribute(attrs, Box::new(inner))
        }
        _ => return Err(bad(format!("unknown reply type in {}", escape(&line)))),
    })
}

fn read_items<R: BufRead>(r: &mut R, n: usize, raw: &mut Vec<u8>) -> io::Result<Vec<Frame>> {
    // The count comes from the peer: don't let a bogus one reserve memory up front.
    let mut items = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        items.push(read_frame(r, raw)?);
    }
    Ok(items)
}

fn read_pairs<R: BufRead>(
    r: &mut R,
    n: usize,
    raw: &mut Vec<u8>,
) -> io::Result<Vec<(Frame, Frame)>> {
    let mut pairs = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let k = read_frame(r, raw)?;
        let v = read_frame(r, raw)?;
        pairs.push((k, v));
    }
    Ok(pairs)
}

/// Parses `bytes` as exactly one frame with nothing after it.
pub fn parse_exact(bytes: &[u8]) -> io::Result<Frame> {
    let mut cursor = bytes;
    let mut raw = Vec::new();
    let frame = read_frame(&mut cursor, &mut raw)?;
    if !cursor.is_empty() {
        return Err(bad(format!("{} bytes after the reply", cursor.len())));
    }
    Ok(frame)
}

/// A client connection that sends one command at a time and reads its one reply.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// How long a reply may take before the harness gives up on it (a command that blocks, a server
/// that hangs) instead of waiting forever.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

impl Conn {
    pub fn connect(addr: &str) -> io::Result<Conn> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no address for {addr}"),
        );
        for a in addrs {
            match TcpStream::connect_timeout(&a, REPLY_TIMEOUT) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
                    stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
                    let writer = stream.try_clone()?;
                    return Ok(Conn {
                        reader: BufReader::with_capacity(64 * 1024, stream),
                        writer,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Sends `argv` and returns the raw bytes of the reply.
    pub fn call(&mut self, argv: &[Vec<u8>]) -> io::Result<Vec<u8>> {
        self.writer.write_all(&encode_command(argv))?;
        let mut raw = Vec::new();
        read_frame(&mut self.reader, &mut raw)?;
        Ok(raw)
    }

    /// Sends `argv` and waits for the server to close the connection (for SHUTDOWN): true when it
    /// did so without replying.
    pub fn call_expecting_close(&mut self, argv: &[Vec<u8>]) -> bool {
        if self.writer.write_all(&encode_command(argv)).is_err() {
            return false;
        }
        let mut sink = Vec::new();
        self.reader.read_to_end(&mut sink).is_ok() && sink.is_empty()
    }
}

/// Bytes as text: printable ASCII as is, the usual C escapes, `\xNN` for anything else.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
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
    s
}

/// Strings longer than this are shown cut in the middle, with their length.
const SHOW_BYTES: usize = 160;

fn quoted(b: &[u8]) -> String {
    if b.len() <= SHOW_BYTES {
        format!("\"{}\"", escape(b))
    } else {
        let half = SHOW_BYTES / 2;
        format!(
            "\"{}\"...\"{}\" ({} bytes)",
            escape(&b[..half]),
            escape(&b[b.len() - half..]),
            b.len()
        )
    }
}

/// Renders a frame for a human, in the spirit of redis-cli but with every RESP type visible:
/// `OK` is a status, `"OK"` a bulk string, `(nil)` is `$-1`, `(nil array)` is `*-1`, `(null)`
/// is RESP3's `_`.
pub fn render(f: &Frame) -> String {
    let mut out = String::new();
    render_into(f, "", &mut out);
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

fn render_items(items: &[Frame], sep: char, prefix: &str, out: &mut String) {
    let width = items.len().to_string().len();
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(prefix);
        }
        let label = format!("{:>width$}{sep} ", i + 1);
        out.push_str(&label);
        let inner = format!("{prefix}{}", " ".repeat(label.len()));
        render_into(it, &inner, out);
    }
}

fn render_pairs(pairs: &[(Frame, Frame)], prefix: &str, out: &mut String) {
    let width = pairs.len().to_string().len();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(prefix);
        }
        let label = format!("{:>width$}# ", i + 1);
        out.push_str(&label);
        out.push_str(&render(k));
        out.push_str(" => ");
        let inner = format!("{prefix}{}", " ".repeat(label.len()));
        render_into(v, &inner, out);
    }
}

fn render_into(f: &Frame, prefix: &str, out: &mut String) {
    match f {
        Frame::Simple(s) => out.push_str(&escape(s)),
        Frame::Error(s) => out.push_str(&format!("(error) {}", escape(s))),
        Frame::Integer(s) => out.push_str(&format!("(integer) {}", escape(s))),
        Frame::Bulk(None) => out.push_str("(nil)"),
        Frame::Bulk(Some(b)) => out.push_str(&quoted(b)),
        Frame::Array(None) => out.push_str("(nil array)"),
        Frame::Null => out.push_str("(null)"),
        Frame::Double(s) => out.push_str(&format!("(double) {}", escape(s))),
        Frame::Bool(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Frame::BigNumber(s) => out.push_str(&format!("(big number) {}", escape(s))),
        Frame::BlobError(s) => out.push_str(&format!("(blob error) {}", quoted(s))),
        Frame::Verbatim(s) => out.push_str(&format!("(verbatim) {}", quoted(s))),
        Frame::Array(Some(items)) if items.is_empty() => out.push_str("(empty array)"),
        Frame::Set(items) if items.is_empty() => out.push_str("(empty set)"),
        Frame::Push(items) if items.is_empty() => out.push_str("(empty push)"),
        Frame::Map(pairs) if pairs.is_empty() => out.push_str("(empty map)"),
        Frame::Array(Some(items)) => render_items(items, ')', prefix, out),
        Frame::Set(items) => render_items(items, '~', prefix, out),
        Frame::Push(items) => render_items(items, '>', prefix, out),
        Frame::Map(pairs) => render_pairs(pairs, prefix, out),
        Frame::Attribute(attrs, inner) => {
            out.push_str("(attributes) ");
            let inner_prefix = format!("{prefix}{}", " ".repeat("(attributes) ".len()));
            render_pairs(attrs, &inner_prefix, out);
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(prefix);
            render_into(inner, prefix, out);
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(bytes: &[u8]) -> Frame {
        let mut cursor = bytes;
        let mut raw = Vec::new();
        let f = read_frame(&mut cursor, &mut raw).expect("parses");
        assert_eq!(raw, bytes, "raw bytes kept");
        assert!(cursor.is_empty());
        f
    }

    #[test]
    fn reads_every_type_and_keeps_raw_bytes() {
        assert_eq!(roundtrip(b"+OK\r\n"), Frame::Simple(b"OK".to_vec()));
        assert_eq!(roundtrip(b"-ERR x\r\n"), Frame::Error(b"ERR x".to_vec()));
        assert_eq!(roundtrip(b":-3\r\n"), Frame::Integer(b"-3".to_vec()));
        assert_eq!(roundtrip(b"$-1\r\n"), Frame::Bulk(None));
        assert_eq!(
            roundtrip(b"$4\r\na\r\nb\r\n"),
            Frame::Bulk(Some(b"a\r\nb".to_vec()))
        );
        assert_eq!(roundtrip(b"*-1\r\n"), Frame::Array(None));
        assert_eq!(roundtrip(b"_\r\n"), Frame::Null);
        assert_eq!(roundtrip(b",1.5\r\n"), Frame::Double(b"1.5".to_vec()));
        assert_eq!(roundtrip(b"#t\r\n"), Frame::Bool(true));
        assert_eq!(roundtrip(b"(123\r\n"), Frame::BigNumber(b"123".to_vec()));
        assert_eq!(
            roundtrip(b"=7\r\ntxt:abc\r\n"),
            Frame::Verbatim(b"txt:abc".to_vec())
        );
        assert_eq!(
            roundtrip(b"!3\r\nERR\r\n"),
            Frame::BlobError(b"ERR".to_vec())
        );
        let nested = roundtrip(b"*2\r\n$1\r\na\r\n%1\r\n+k\r\n~1\r\n:1\r\n");
        assert_eq!(
            nested,
            Frame::Array(Some(vec![
                Frame::Bulk(Some(b"a".to_vec())),
                Frame::Map(vec![(
                    Frame::Simple(b"k".to_vec()),
                    Frame::Set(vec![Frame::Integer(b"1".to_vec())])
                )]),
            ]))
        );
        let attr = roundtrip(b"|1\r\n+a\r\n:1\r\n>1\r\n+m\r\n");
        assert!(
            matches!(attr, Frame::Attribute(_, ref inner) if matches!(**inner, Frame::Push(_)))
        );
    }

    #[test]
    fn reads_one_frame_at_a_time() {
        let mut cursor: &[u8] = b"+A\r\n:2\r\n";
        let mut raw = Vec::new();
        read_frame(&mut cursor, &mut raw).unwrap();
        assert_eq!(raw, b"+A\r\n");
        assert_eq!(cursor, b":2\r\n");
    }

    #[test]
    fn rejects_malformed_and_trailing_bytes() {
        assert!(parse_exact(b"+OK\r\n+OK\r\n").is_err());
        assert!(parse_exact(b"+OK\n").is_err());
        assert!(parse_exact(b"$3\r\nab\r\n").is_err());
        assert!(parse_exact(b"?x\r\n").is_err());
        assert!(parse_exact(b"*2\r\n:1\r\n").is_err());
    }

    #[test]
    fn encodes_commands_as_multibulk() {
        assert_eq!(
            encode_command(&[b"GET".to_vec(), b"".to_vec()]),
            b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn renders_readably() {
        assert_eq!(render(&parse_exact(b"+OK\r\n").unwrap()), "OK");
        assert_eq!(render(&parse_exact(b"$2\r\nOK\r\n").unwrap()), "\"OK\"");
        assert_eq!(
            render(&parse_exact(b"$3\r\n\x00\xff\n\r\n").unwrap()),
            "\"\\x00\\xff\\n\""
        );
        assert_eq!(
            render(&parse_exact(b"*2\r\n:1\r\n*1\r\n$-1\r\n").unwrap()),
            "1) (integer) 1\n2) 1) (nil)"
        );
        let long = parse_exact(&[b"$400\r\n".to_vec(), vec![b'x'; 400], b"\r\n".to_vec()].concat())
            .unwrap();
        assert!(render(&long).ends_with("(400 bytes)"));
    }
}
