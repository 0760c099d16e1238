//! RESP bytes to `Reply` values, and commands to RESP.
//!
//! Expectations compare what redis-cli would print, and redis-cli prints what came over the
//! wire: a RESP2 client sees a map as a flat array. So the engine's replies are encoded for the
//! client's protocol and read back here before they are rendered, exactly as a real server's
//! bytes are; both sides then go through the same `to_cli_text`.

use cachelab_engine::numfmt::parse_f64;
use cachelab_engine::Reply;

/// Encodes `argv` as a RESP multibulk, the form clients send commands in.
pub fn encode_command(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one frame from the start of `buf`: `Ok(None)` when more bytes are needed, else the
/// reply and how many bytes it took.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    parse_at(buf, 0, 0)
}

/// Reads every frame of `buf`, which must hold whole frames only.
pub fn parse_all(buf: &[u8]) -> Result<Vec<Reply>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match parse_at(buf, pos, 0)? {
            Some((reply, end)) => {
                out.push(reply);
                pos = end;
            }
            None => return Err("truncated reply".into()),
        }
    }
    Ok(out)
}

const MAX_DEPTH: usize = 64;

/// A line starting at `pos`, without its CRLF, and the position after it.
fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..i], pos + i + 2))
}

fn int(bytes: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad length or integer {:?}", String::from_utf8_lossy(bytes)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply, usize)>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".into());
    }
    let Some(&tag) = buf.get(pos) else {
        return Ok(None);
    };
    let Some((head, after)) = line(buf, pos + 1) else {
        return Ok(None);
    };
    let blob = |n: i64| -> Result<Option<(Vec<u8>, usize)>, String> {
        let n = usize::try_from(n).map_err(|_| "negative length".to_string())?;
        let end = after.checked_add(n).ok_or("length overflow")?;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err("bulk string not followed by CRLF".into());
        }
        Ok(Some((buf[after..end].to_vec(), end + 2)))
    };
    let items = |n: i64, per: usize| -> Result<Option<(Vec<Reply>, usize)>, String> {
        let n = usize::try_from(n).map_err(|_| "negative length".to_string())?;
        let total = n.checked_mul(per).ok_or("length overflow")?;
        let mut out = Vec::with_capacity(total.min(1024));
        let mut p = after;
        for _ in 0..total {
            match parse_at(buf, p, depth + 1)? {
                Some((r, next)) => {
                    out.push(r);
                    p = next;
                }
                None => return Ok(None),
            }
        }
        Ok(Some((out, p)))
    };
    let reply = match tag {
        b'+' => (Reply::Simple(text(head).into()), after),
        b'-' => (Reply::Error(text(head).into()), after),
        b':' => (Reply::Integer(int(head)?), after),
        b'_' => (Reply::Nil, after),
        b'#' => (Reply::Bool(head == b"t"), after),
        b',' => {
            let s = text(head);
            let d = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => parse_f64(head).ok_or_else(|| format!("bad double {s:?}"))?,
            };
            (Reply::Double(d), after)
        }
        b'(' => (Reply::BigNumber(text(head)), after),
        b'$' | b'!' | b'=' => {
            let n = int(head)?;
            if n < 0 && tag == b'$' {
                (Reply::Nil, after)
            } else {
                let Some((data, end)) = blob(n)? else {
                    return Ok(None);
                };
                let r = match tag {
                    b'$' => Reply::Bulk(data),
                    b'!' => Reply::Error(text(&data).into()),
                    _ => {
                        let (format, body) = if data.len() >= 4 && data[3] == b':' {
                            (&data[..3], data[4..].to_vec())
                        } else {
                            (&b"txt"[..], data.clone())
                        };
                        let format = if format == b"mkd" { "mkd" } else { "txt" };
                        Reply::Verbatim(format, body)
                    }
                };
                (r, end)
            }
        }
        b'*' | b'~' | b'>' => {
            let n = int(head)?;
            if n < 0 {
                (Reply::NilArray, after)
            } else {
                let Some((list, end)) = items(n, 1)? else {
                    return Ok(None);
                };
                let r = match tag {
                    b'*' => Reply::Array(list),
                    b'~' => Reply::Set(list),
                    _ => Reply::Push(list),
                };
                (r, end)
            }
        }
        b'%' | b'|' => {
            let n = int(head)?;
            let Some((flat, end)) = items(n, 2)? else {
                return Ok(None);
            };
            if tag == b'|' {
                // Attributes decorate the reply that follows; redis-cli shows only that.
                return parse_at(buf, end, depth + 1);
            }
            let mut pairs = Vec::with_capacity(flat.len() / 2);
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            (Reply::Map(pairs), end)
        }
        other => return Err(format!("unknown reply type byte 0x{other:02x}")),
    };
    Ok(Some(reply))
}

/// What redis-cli prints for a batch of replies, without the final newline.
pub fn cli_text(frames: &[Reply]) -> String {
    let mut s = String::new();
    for f in frames {
        s.push_str(&cachelab_engine::to_cli_text(f));
    }
    crate::parse::normalize_reply_text(&s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachelab_engine::{to_resp, Protocol};

    #[test]
    fn round_trips_the_engines_encodings() {
        let replies = [
            Reply::ok(),
            Reply::error("ERR x"),
            Reply::Integer(-5),
            Reply::bulk("a\r\nb"),
            Reply::Nil,
            Reply::NilArray,
            Reply::Array(vec![Reply::bulk("x"), Reply::Array(vec![])]),
        ];
        for r in &replies {
            let bytes = to_resp(r, Protocol::Resp2);
            assert_eq!(parse_all(&bytes).unwrap(), vec![r.clone()], "{r:?}");
        }
        let map = Reply::Map(vec![(Reply::bulk("f"), Reply::Double(1.5))]);
        assert_eq!(
            parse_all(&to_resp(&map, Protocol::Resp2)).unwrap(),
            vec![Reply::Array(vec![Reply::bulk("f"), Reply::bulk("1.5")])]
        );
        assert_eq!(
            parse_all(&to_resp(&map, Protocol::Resp3)).unwrap(),
            vec![map]
        );
        assert_eq!(
            parse_all(b"|1\r\n+a\r\n+b\r\n:3\r\n").unwrap(),
            vec![Reply::Integer(3)]
        );
    }

    #[test]
    fn incomplete_and_bad_input() {
        assert_eq!(parse_frame(b"$5\r\nab").unwrap(), None);
        assert_eq!(parse_frame(b"*2\r\n:1\r\n").unwrap(), None);
        assert_eq!(parse_frame(b"").unwrap(), None);
        assert!(parse_frame(b"?x\r\n").is_err());
        assert!(parse_frame(b"$2\r\nabcd").is_err());
        assert!(parse_frame(b"*-5\r\n").is_ok());
        assert!(parse_frame(b"%-1\r\n").is_err());
        assert_eq!(
            parse_frame(b":1\r\n:2\r\n").unwrap(),
            Some((Reply::Integer(1), 4))
        );
        assert_eq!(
            cli_text(&[Reply::Integer(1), Reply::bulk("v")]),
            "(integer) 1\n\"v\""
        );
    }
}
