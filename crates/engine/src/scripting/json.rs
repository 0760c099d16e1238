//! `cjson`: the JSON library Redis embeds (lua-cjson 2.1.0), with its default settings.
//!
//! Encoding: numbers as `%.14g`, NaN and infinities refused, a table is an array when every key is
//! an integer >= 1 (and it is not excessively sparse: more than half holes past index 10 is an
//! error), an empty table is `{}`, nesting is limited to 1000, `/` is escaped as `\/`.
//! Decoding: strict JSON tokens plus what C's `strtod` accepts for numbers (hex, `inf`, `nan`,
//! leading `+` and zeros), `null` as the `cjson.null` light userdata, nesting limited to 1000. The
//! error texts are lua-cjson's.

use super::value::{LValue, LibError};
use crate::numfmt::fmt_g;

pub const MAX_DEPTH: usize = 1000;
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

pub fn encode(v: &LValue) -> Result<Vec<u8>, LibError> {
    let mut out = Vec::new();
    append(&mut out, v, 0)?;
    Ok(out)
}

fn exception(v: &LValue, reason: &str) -> LibError {
    LibError::Msg(format!("Cannot serialise {}: {reason}", v.type_name()))
}

fn append(out: &mut Vec<u8>, v: &LValue, depth: usize) -> Result<(), LibError> {
    match v {
        LValue::Str(s) => append_string(out, s),
        LValue::Num(n) => append_number(out, v, *n)?,
        LValue::Bool(true) => out.extend_from_slice(b"true"),
        LValue::Bool(false) => out.extend_from_slice(b"false"),
        LValue::Nil | LValue::Null => out.extend_from_slice(b"null"),
        LValue::Deep => {
            return Err(LibError::Msg(format!(
                "Cannot serialise, excessive nesting ({})",
                depth + 1
            )))
        }
        LValue::Table(pairs) => {
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(LibError::Msg(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(v, pairs)? {
                Some(len) if len > 0 => {
                    let mut items: Vec<Option<&LValue>> = vec![None; len];
                    for (k, val) in pairs {
                        if let LValue::Num(k) = k {
                            if let Some(slot) = items.get_mut(*k as usize - 1) {
                                *slot = Some(val);
                            }
                        }
                    }
                    out.push(b'[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        append(out, item.unwrap_or(&LValue::Nil), depth)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    for (i, (k, val)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        match k {
                            LValue::Num(n) => {
                                out.push(b'"');
                                append_number(out, k, *n)?;
                                out.extend_from_slice(b"\":");
                            }
                            LValue::Str(s) => {
                                append_string(out, s);
                                out.push(b':');
                            }
                            _ => return Err(exception(k, "table key must be a number or string")),
                        }
                        append(out, val, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        LValue::Other(_) => return Err(exception(v, "type not supported")),
    }
    Ok(())
}

/// `Some(max index)` when every key is an integer >= 1, `None` for an object.
fn array_length(table: &LValue, pairs: &[(LValue, LValue)]) -> Result<Option<usize>, LibError> {
    let mut max = 0usize;
    let mut items = 0usize;
    for (k, _) in pairs {
        match k {
            LValue::Num(n) if *n != 0.0 && n.floor() == *n && *n >= 1.0 => {
                // lua-cjson keeps the maximum in a C int.
                let n = if *n > i32::MAX as f64 {
                    i32::MAX as usize
                } else {
                    *n as usize
                };
                max = max.max(n);
                items += 1;
            }
            _ => return Ok(None),
        }
    }
    if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
        return Err(exception(table, "excessively sparse array"));
    }
    Ok(Some(max))
}

fn append_number(out: &mut Vec<u8>, v: &LValue, n: f64) -> Result<(), LibError> {
    if n.is_nan() || n.is_infinite() {
        return Err(exception(v, "must not be NaN or Inf"));
    }
    out.extend_from_slice(fmt_g(n, 14).as_bytes());
    Ok(())
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            8 => out.extend_from_slice(b"\\b"),
            9 => out.extend_from_slice(b"\\t"),
            10 => out.extend_from_slice(b"\\n"),
            12 => out.extend_from_slice(b"\\f"),
            13 => out.extend_from_slice(b"\\r"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

// ===== Decoding =====

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    depth: usize,
    /// The text of the last string token.
    string: Vec<u8>,
}

pub fn decode(data: &[u8]) -> Result<LValue, LibError> {
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(LibError::Msg(
            "JSON parser does not support UTF-16 or UTF-32".into(),
        ));
    }
    let mut p = Parser {
        data,
        pos: 0,
        depth: 0,
        string: Vec::new(),
    };
    let (tok, idx) = p.next_token();
    let v = p.value(tok, idx)?;
    let (tok, idx) = p.next_token();
    if tok != Tok::End {
        return Err(parse_error("the end", tok, idx));
    }
    Ok(v)
}

fn parse_error(expected: &str, tok: Tok, index: usize) -> LibError {
    LibError::Msg(format!(
        "Expected {expected} but found {} at character {}",
        tok.name(),
        index + 1
    ))
}

impl Parser<'_> {
    /// The byte at `i`, with the C string's terminating NUL past the end.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    /// The next token and the index it starts at (or, for an error, where it was found).
    fn next_token(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let c = self.at(self.pos);
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            0 => return (Tok::End, start),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, start);
        }
        let rest = &self.data[self.pos..];
        match c {
            b'"' => self.string_token(start),
            b'-' | b'0'..=b'9' => self.number_token(start),
            b't' if rest.starts_with(b"true") => {
                self.pos += 4;
                (Tok::Bool(true), start)
            }
            b'f' if rest.starts_with(b"false") => {
                self.pos += 5;
                (Tok::Bool(false), start)
            }
            b'n' if rest.starts_with(b"null") => {
                self.pos += 4;
                (Tok::Null, start)
            }
            b'i' | b'I' | b'n' | b'N' | b'+' if invalid_number(rest) => self.number_token(start),
            _ => (Tok::Error("invalid token"), start),
        }
    }

    fn number_token(&mut self, start: usize) -> (Tok, usize) {
        match strtod_prefix(&self.data[self.pos..]) {
            Some((n, used)) => {
                self.pos += used;
                (Tok::Num(n), start)
            }
            None => (Tok::Error("invalid number"), self.pos),
        }
    }

    fn string_token(&mut self, start: usize) -> (Tok, usize) {
        self.pos += 1;
        self.string.clear();
        loop {
            let c = self.at(self.pos);
            match c {
                b'"' => break,
                0 => return (Tok::Error("unexpected end of string"), self.pos),
                b'\\' => {
                    let e = self.at(self.pos + 1);
                    let ch = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return (Tok::Error("invalid unicode escape code"), self.pos);
                        }
                        _ => return (Tok::Error("invalid escape code"), self.pos),
                    };
                    self.string.push(ch);
                    self.pos += 2;
                }
                _ => {
                    self.string.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        let _ = start;
        (Tok::Str, start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = (v << 4) | (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// Decodes `\uXXXX` (or a surrogate pair) at `pos` into UTF-8; false when malformed.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut buf = [0u8; 4];
        let n = if cp <= 0x7F {
            buf[0] = cp as u8;
            1
        } else if cp <= 0x7FF {
            buf[0] = (cp >> 6) as u8 | 0xC0;
            buf[1] = (cp & 0x3F) as u8 | 0x80;
            2
        } else if cp <= 0xFFFF {
            buf[0] = (cp >> 12) as u8 | 0xE0;
            buf[1] = ((cp >> 6) & 0x3F) as u8 | 0x80;
            buf[2] = (cp & 0x3F) as u8 | 0x80;
            3
        } else {
            buf[0] = (cp >> 18) as u8 | 0xF0;
            buf[1] = ((cp >> 12) & 0x3F) as u8 | 0x80;
            buf[2] = ((cp >> 6) & 0x3F) as u8 | 0x80;
            buf[3] = (cp & 0x3F) as u8 | 0x80;
            4
        };
        self.string.extend_from_slice(&buf[..n]);
        self.pos += len;
        true
    }

    fn descend(&mut self) -> Result<(), LibError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(LibError::Msg(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.pos
            )));
        }
        Ok(())
    }

    fn value(&mut self, tok: Tok, idx: usize) -> Result<LValue, LibError> {
        Ok(match tok {
            Tok::Str => LValue::Str(std::mem::take(&mut self.string)),
            Tok::Num(n) => LValue::Num(n),
            Tok::Bool(b) => LValue::Bool(b),
            Tok::Null => LValue::Null,
            Tok::ObjBegin => self.object()?,
            Tok::ArrBegin => self.array()?,
            _ => return Err(parse_error("value", tok, idx)),
        })
    }

    fn object(&mut self) -> Result<LValue, LibError> {
        self.descend()?;
        let mut pairs = Vec::new();
        let (mut tok, mut idx) = self.next_token();
        if tok == Tok::ObjEnd {
            self.depth -= 1;
            return Ok(LValue::Table(pairs));
        }
        loop {
            if tok != Tok::Str {
                return Err(parse_error("object key string", tok, idx));
            }
            let key = LValue::Str(std::mem::take(&mut self.string));
            let (t, i) = self.next_token();
            if t != Tok::Colon {
                return Err(parse_error("colon", t, i));
            }
            let (t, i) = self.next_token();
            let v = self.value(t, i)?;
            pairs.push((key, v));
            let (t, i) = self.next_token();
            if t == Tok::ObjEnd {
                self.depth -= 1;
                return Ok(LValue::Table(pairs));
            }
            if t != Tok::Comma {
                return Err(parse_error("comma or object end", t, i));
            }
            (tok, idx) = self.next_token();
        }
    }

    fn array(&mut self) -> Result<LValue, LibError> {
        self.descend()?;
        let mut pairs = Vec::new();
        let (mut tok, mut idx) = self.next_token();
        if tok == Tok::ArrEnd {
            self.depth -= 1;
            return Ok(LValue::Table(pairs));
        }
        loop {
            let v = self.value(tok, idx)?;
            pairs.push((LValue::Num((pairs.len() + 1) as f64), v));
            let (t, i) = self.next_token();
            if t == Tok::ArrEnd {
                self.depth -= 1;
                return Ok(LValue::Table(pairs));
            }
            if t != Tok::Comma {
                return Err(parse_error("comma or array end", t, i));
            }
            (tok, idx) = self.next_token();
        }
    }
}

/// lua-cjson's test for what strict JSON would refuse but `strtod` reads: a leading `+`, hex,
/// leading zeros, `inf` and `nan`.
fn invalid_number(p: &[u8]) -> bool {
    let mut p = p;
    if p.first() == Some(&b'+') {
        return true;
    }
    if p.first() == Some(&b'-') {
        p = &p[1..];
    }
    match p.first() {
        Some(b'0') => {
            let c2 = p.get(1).copied().unwrap_or(0);
            (c2 | 0x20) == b'x' || c2.is_ascii_digit()
        }
        Some(c) if *c <= b'9' => false,
        _ => {
            let lower: Vec<u8> = p.iter().take(3).map(|c| c.to_ascii_lowercase()).collect();
            lower == b"inf" || lower == b"nan"
        }
    }
}

/// C's `strtod` on a prefix of `s`: the value and how many bytes it read, or None when nothing
/// reads as a number. Decimal (correctly rounded, as glibc is), hexadecimal with an optional
/// binary exponent, `inf`/`infinity` and `nan` in any case.
pub fn strtod_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut neg = false;
    if matches!(s.first(), Some(b'+' | b'-')) {
        neg = s[0] == b'-';
        i = 1;
    }
    let rest = &s[i..];
    let lower = |n: usize| -> Vec<u8> {
        rest.iter()
            .take(n)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let sign = if neg { -1.0 } else { 1.0 };
    if lower(8) == b"infinity" {
        return Some((sign * f64::INFINITY, i + 8));
    }
    if lower(3) == b"inf" {
        return Some((sign * f64::INFINITY, i + 3));
    }
    if lower(3) == b"nan" {
        let mut used = i + 3;
        if s.get(used) == Some(&b'(') {
            if let Some(close) = s[used..].iter().position(|&c| c == b')') {
                if s[used + 1..used + close]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    used += close + 1;
                }
            }
        }
        return Some((sign * f64::NAN, used));
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((v, used)) = hex_prefix(&rest[2..]) {
            return Some((sign * v, i + 2 + used));
        }
        // "0x" with no hex digit reads as the number 0, stopping before the 'x'.
        return Some((0.0 * sign, i + 1));
    }
    let mut j = 0;
    let mut digits = 0;
    while j < rest.len() && rest[j].is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if j < rest.len() && rest[j] == b'.' {
        j += 1;
        while j < rest.len() && rest[j].is_ascii_digit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if j < rest.len() && (rest[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < rest.len() && matches!(rest[k], b'+' | b'-') {
            k += 1;
        }
        let exp_start = k;
        while k < rest.len() && rest[k].is_ascii_digit() {
            k += 1;
        }
        if k > exp_start {
            j = k;
        }
    }
    let v: f64 = std::str::from_utf8(&rest[..j]).ok()?.parse().ok()?;
    Some((sign * v, i + j))
}

fn hex_prefix(s: &[u8]) -> Option<(f64, usize)> {
    let mut v = 0f64;
    let mut j = 0;
    let mut any = false;
    while j < s.len() && s[j].is_ascii_hexdigit() {
        v = v * 16.0 + (s[j] as char).to_digit(16)? as f64;
        j += 1;
        any = true;
    }
    if j < s.len() && s[j] == b'.' {
        let mut scale = 1.0 / 16.0;
        let mut k = j + 1;
        while k < s.len() && s[k].is_ascii_hexdigit() {
            v += (s[k] as char).to_digit(16)? as f64 * scale;
            scale /= 16.0;
            k += 1;
            any = true;
        }
        if any {
            j = k;
        }
    }
    if !any {
        return None;
    }
    if j < s.len() && (s[j] | 0x20) == b'p' {
        let mut k = j + 1;
        let mut neg = false;
        if k < s.len() && matches!(s[k], b'+' | b'-') {
            neg = s[k] == b'-';
            k += 1;
        }
        let start = k;
        let mut e: i32 = 0;
        while k < s.len() && s[k].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add((s[k] - b'0') as i32);
            k += 1;
        }
        if k > start {
            v *= 2f64.powi(if neg { -e } else { e });
            j = k;
        }
    }
    Some((v, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> LValue {
        LValue::Str(x.as_bytes().to_vec())
    }
    fn n(x: f64) -> LValue {
        LValue::Num(x)
    }
    fn enc(v: &LValue) -> String {
        String::from_utf8(encode(v).unwrap()).unwrap()
    }
    fn msg(e: LibError) -> String {
        match e {
            LibError::Msg(m) => m,
            LibError::Arg(_, m) => m,
        }
    }

    #[test]
    fn encodes_like_lua_cjson() {
        assert_eq!(enc(&LValue::Table(vec![])), "{}");
        assert_eq!(
            enc(&LValue::Table(vec![
                (n(1.0), n(1.5)),
                (n(2.0), s("a/b\"\n\x01"))
            ])),
            r#"[1.5,"a\/b\"\n\u0001"]"#
        );
        assert_eq!(enc(&n(0.1)), "0.1");
        assert_eq!(enc(&n(1e15)), "1e+15");
        assert_eq!(enc(&n(123456789012345.0)), "1.2345678901234e+14");
        assert_eq!(enc(&LValue::Null), "null");
        // Holes up to index 10 are nulls; beyond, a sparse array is an error.
        assert_eq!(
            enc(&LValue::Table(vec![(n(3.0), LValue::Bool(true))])),
            "[null,null,true]"
        );
        assert_eq!(
            msg(encode(&LValue::Table(vec![(n(20.0), n(1.0))])).unwrap_err()),
            "Cannot serialise table: excessively sparse array"
        );
        assert_eq!(
            enc(&LValue::Table(vec![(s("a"), n(1.0)), (n(2.0), n(2.0))])),
            r#"{"a":1,"2":2}"#
        );
        assert_eq!(
            msg(encode(&n(f64::INFINITY)).unwrap_err()),
            "Cannot serialise number: must not be NaN or Inf"
        );
        assert_eq!(
            msg(encode(&LValue::Other("function")).unwrap_err()),
            "Cannot serialise function: type not supported"
        );
        assert_eq!(
            msg(encode(&LValue::Table(vec![(LValue::Bool(true), n(1.0))])).unwrap_err()),
            "Cannot serialise boolean: table key must be a number or string"
        );
    }

    #[test]
    fn decodes_like_lua_cjson() {
        assert_eq!(
            decode(br#" {"a": [1, 2.5e1, "x\u00e9\/"], "b": null} "#).unwrap(),
            LValue::Table(vec![
                (
                    s("a"),
                    LValue::Table(vec![
                        (n(1.0), n(1.0)),
                        (n(2.0), n(25.0)),
                        (n(3.0), LValue::Str("x\u{e9}/".as_bytes().to_vec()))
                    ])
                ),
                (s("b"), LValue::Null)
            ])
        );
        assert_eq!(decode(b"0x10").unwrap(), n(16.0));
        assert_eq!(decode(b"-Infinity").unwrap(), n(f64::NEG_INFINITY));
        assert_eq!(
            msg(decode(b"").unwrap_err()),
            "Expected value but found T_END at character 1"
        );
        assert_eq!(
            msg(decode(b"[1,]").unwrap_err()),
            "Expected value but found T_ARR_END at character 4"
        );
        assert_eq!(
            msg(decode(b"{1:2}").unwrap_err()),
            "Expected object key string but found T_NUMBER at character 2"
        );
        assert_eq!(
            msg(decode(b"\"abc").unwrap_err()),
            "Expected value but found unexpected end of string at character 5"
        );
        assert_eq!(
            msg(decode(b"[1 2]").unwrap_err()),
            "Expected comma or array end but found T_NUMBER at character 4"
        );
        assert_eq!(
            msg(decode(b"tru").unwrap_err()),
            "Expected value but found invalid token at character 1"
        );
        let deep = "[".repeat(1001);
        assert_eq!(
            msg(decode(deep.as_bytes()).unwrap_err()),
            "Found too many nested data structures (1001) at character 1001"
        );
    }

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod_prefix(b"12abc"), Some((12.0, 2)));
        assert_eq!(strtod_prefix(b"1.5e3,"), Some((1500.0, 5)));
        assert_eq!(strtod_prefix(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod_prefix(b"-.5"), Some((-0.5, 3)));
        assert_eq!(strtod_prefix(b"5."), Some((5.0, 2)));
        assert_eq!(strtod_prefix(b"0x1p4"), Some((16.0, 5)));
        assert_eq!(strtod_prefix(b"-"), None);
        assert!(strtod_prefix(b"nan").unwrap().0.is_nan());
    }
}
