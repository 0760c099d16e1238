//! Reading requests off a client's query buffer, the way Redis 7.0's `networking.c` does.
//!
//! A request is either a multibulk (`*<count>\r\n` followed by `<count>` times
//! `$<len>\r\n<len bytes>\r\n`) or, when the first byte is anything but `*`, an inline command: one
//! line split on blanks with redis-cli's quoting rules. The parser is incremental: it remembers how
//! far it got in a request that has not fully arrived, so a large request read in many pieces is
//! scanned once. Arguments of a multibulk are not copied: the parser records where each one lies
//! in the buffer and the caller borrows them from there.
//!
//! The limits and error texts are Redis's: 64 KB (`PROTO_INLINE_MAX_SIZE`) for an inline line or
//! a count line still waiting for its end, `INT_MAX` arguments, and `proto-max-bulk-len` for one
//! bulk. Redis looks for line ends with `strchr` on a NUL-terminated buffer, so a NUL byte hides
//! the rest of the buffer from that search; `find_byte` keeps that behaviour so that the same
//! bytes give the same answer (usually "wait for more", then "too big ... request").

use std::ops::Range;

use cachelab_engine::cli::split_args;
use cachelab_engine::numfmt::parse_i64;

/// Redis's PROTO_INLINE_MAX_SIZE.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// A malformed request. After one, Redis replies with the error and closes the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    /// The byte found where a bulk's `$` should be.
    ExpectedDollar(u8),
    TooBigInline,
    TooBigMbulkCount,
    TooBigBulkCount,
    UnbalancedQuotes,
}

impl ProtocolError {
    /// The error reply as it goes on the wire, `-ERR Protocol error: ...\r\n`. Built as bytes
    /// because the offending byte quoted by `ExpectedDollar` need not be UTF-8.
    pub fn reply(&self) -> Vec<u8> {
        let mut out = b"-ERR Protocol error: ".to_vec();
        match self {
            ProtocolError::InvalidMultibulkLength => {
                out.extend_from_slice(b"invalid multibulk length")
            }
            ProtocolError::InvalidBulkLength => out.extend_from_slice(b"invalid bulk length"),
            ProtocolError::ExpectedDollar(c) => {
                out.extend_from_slice(b"expected '$', got '");
                // Redis turns CR and LF inside an error into spaces to keep the reply one line.
                out.push(if matches!(c, b'\r' | b'\n') { b' ' } else { *c });
                out.push(b'\'');
            }
            ProtocolError::TooBigInline => out.extend_from_slice(b"too big inline request"),
            ProtocolError::TooBigMbulkCount => out.extend_from_slice(b"too big mbulk count string"),
            ProtocolError::TooBigBulkCount => out.extend_from_slice(b"too big bulk count string"),
            ProtocolError::UnbalancedQuotes => {
                out.extend_from_slice(b"unbalanced quotes in request")
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// One complete request taken off the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// A multibulk: its arguments are `Parser::args` ranges into the buffer.
    Multibulk,
    /// An inline command, already split (quotes and escapes resolved, so the words are owned).
    Inline(Vec<Vec<u8>>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between requests: the next byte decides the kind.
    Idle,
    /// Inside a multibulk with this many bulks still to read; `bulk_len` is known once the
    /// current bulk's header has been read.
    Multibulk {
        remaining: usize,
        bulk_len: Option<usize>,
    },
}

/// The parsing state of one client. It works on a buffer the caller owns and appends to;
/// offsets refer to that buffer until the caller drops its consumed prefix with `shift`.
#[derive(Debug)]
pub struct Parser {
    /// Everything before this byte is done with: requests handed out, and the count line of a
    /// multibulk in progress (its count lives on in `state`).
    start: usize,
    /// How far the request in progress has been parsed.
    pos: usize,
    state: State,
    args: Vec<Range<usize>>,
}

impl Clone for Parser {
    fn clone(&self) -> Self {
        let mut p = Parser::new();
        p.clone_from(self);
        p
    }

    /// Keeps this parser's argument vector: a server copies a client's parser to look ahead
    /// through a pipelined batch without allocating each time.
    fn clone_from(&mut self, source: &Self) {
        self.start = source.start;
        self.pos = source.pos;
        self.state = source.state;
        self.args.clone_from(&source.args);
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    pub fn new() -> Parser {
        Parser {
            start: 0,
            pos: 0,
            state: State::Idle,
            args: Vec::new(),
        }
    }

    /// Bytes at the front of the buffer that belong to requests already returned.
    pub fn consumed(&self) -> usize {
        self.start
    }

    /// Bytes the parser has not looked at yet or could not use: what Redis would still hold in
    /// its query buffer, for the `client-query-buffer-limit` check. Arguments of a multibulk in
    /// progress do not count, since Redis has moved them out of the query buffer by then.
    pub fn unparsed(&self, buf_len: usize) -> usize {
        buf_len.saturating_sub(self.pos)
    }

    /// Tells the parser that the caller removed the first `n` bytes (at most `consumed()`).
    pub fn shift(&mut self, n: usize) {
        debug_assert!(n <= self.start);
        self.start -= n;
        self.pos -= n;
        if self.state == State::Idle {
            // The arguments of a request already handed out may lie in the removed bytes.
            self.args.clear();
        }
        for r in &mut self.args {
            *r = r.start - n..r.end - n;
        }
    }

    /// Moves the parser past a request that a copy of it read (`consumed` is the copy's
    /// `consumed()` just after returning it), as if this parser had returned it itself.
    pub fn resume_after(&mut self, consumed: usize) {
        self.start = consumed;
        self.pos = consumed;
        self.state = State::Idle;
        self.args.clear();
    }

    /// Where the arguments of the last `Request::Multibulk` lie in the buffer.
    pub fn args(&self) -> &[Range<usize>] {
        &self.args
    }

    /// Takes the next complete request off `buf`, skipping empty ones (`*0`, `*-1`, blank
    /// lines) as Redis does. `Ok(None)` means more bytes are needed.
    pub fn next(
        &mut self,
        buf: &[u8],
        max_bulk_len: i64,
    ) -> Result<Option<Request>, ProtocolError> {
        loop {
            if self.state == State::Idle {
                self.args.clear();
                self.pos = self.start;
                match buf.get(self.start) {
                    None => return Ok(None),
                    Some(b'*') if self.whole_plain_request(buf, max_bulk_len) => {
                        return Ok(Some(Request::Multibulk));
                    }
                    Some(b'*') => match self.multibulk_count(buf)? {
                        None => return Ok(None),
                        Some(0) => continue,
                        Some(count) => {
                            self.state = State::Multibulk {
                                remaining: count,
                                bulk_len: None,
                            }
                        }
                    },
                    Some(_) => match self.inline(buf)? {
                        None => return Ok(None),
                        Some(words) if words.is_empty() => continue,
                        Some(words) => return Ok(Some(Request::Inline(words))),
                    },
                }
            }
            return self.bulks(buf, max_bulk_len);
        }
    }

    /// Reads a whole multibulk request in one go when all of it is in the buffer and every
    /// header is in its plain form (`plain_header`): the usual request, without the state
    /// machine's step per header. Anything else returns false having changed nothing, and the
    /// general path reads the request from the start, errors included.
    fn whole_plain_request(&mut self, buf: &[u8], max_bulk_len: i64) -> bool {
        match self.plain_args(buf, max_bulk_len) {
            Some(end) => {
                self.start = end;
                self.pos = end;
                true
            }
            None => {
                self.args.clear();
                false
            }
        }
    }

    /// `whole_plain_request`'s reading: fills `args` and returns where the request ends.
    fn plain_args(&mut self, buf: &[u8], max_bulk_len: i64) -> Option<usize> {
        let (count, cr) = plain_count(&buf[self.start..])?;
        if count == 0 {
            return None;
        }
        let mut pos = self.start + cr + 2;
        for _ in 0..count {
            let (len, cr) = plain_bulk_len(&buf[pos..], max_bulk_len)?;
            let data = pos + cr + 2;
            // The two bytes after the data are skipped unread, as Redis does.
            if buf.len() - data < len + 2 {
                return None;
            }
            self.args.push(data..data + len);
            pos = data + len + 2;
        }
        Some(pos)
    }

    /// Reads `*<count>\r\n`; `Some(0)` for a count of zero or less, which Redis skips.
    fn multibulk_count(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let rest = &buf[self.start..];
        if let Some((count, cr)) = plain_count(rest) {
            self.start += cr + 2;
            self.pos = self.start;
            return Ok(Some(count));
        }
        let Some(cr) = find_byte(rest, b'\r') else {
            if rest.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigMbulkCount);
            }
            return Ok(None);
        };
        // The byte after CR is taken as the LF without looking at it, as Redis does.
        if cr + 2 > rest.len() {
            return Ok(None);
        }
        let count = match parse_i64(&rest[1..cr]) {
            Some(n) if n <= i32::MAX as i64 => n,
            _ => return Err(ProtocolError::InvalidMultibulkLength),
        };
        self.start += cr + 2;
        self.pos = self.start;
        Ok(Some(count.max(0) as usize))
    }

    fn inline(&mut self, buf: &[u8]) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let rest = &buf[self.start..];
        let Some(lf) = find_byte(rest, b'\n') else {
            if rest.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let line = match &rest[..lf] {
            [head @ .., b'\r'] => head,
            line => line,
        };
        let words = split_inline(line).ok_or(ProtocolError::UnbalancedQuotes)?;
        self.start += lf + 1;
        self.pos = self.start;
        Ok(Some(words))
    }

    fn bulks(&mut self, buf: &[u8], max_bulk_len: i64) -> Result<Option<Request>, ProtocolError> {
        while let State::Multibulk {
            remaining,
            bulk_len,
        } = self.state
        {
            let len = match bulk_len {
                Some(len) => len,
                None => {
                    let rest = &buf[self.pos..];
                    // The usual header (`$3\r\n`) is read in one pass; anything else, and
                    // every error, takes the general path below.
                    if let Some((len, cr)) = plain_bulk_len(rest, max_bulk_len) {
                        self.pos += cr + 2;
                        self.state = State::Multibulk {
                            remaining,
                            bulk_len: Some(len),
                        };
                        continue;
                    }
                    let Some(cr) = find_byte(rest, b'\r') else {
                        if rest.len() > INLINE_MAX_SIZE {
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(None);
                    };
                    if cr + 2 > rest.len() {
                        return Ok(None);
                    }
                    if rest[0] != b'$' {
                        return Err(ProtocolError::ExpectedDollar(rest[0]));
                    }
                    let len = match parse_i64(&rest[1..cr]) {
                        Some(n) if n >= 0 && n <= max_bulk_len => n as usize,
                        _ => return Err(ProtocolError::InvalidBulkLength),
                    };
                    self.pos += cr + 2;
                    self.state = State::Multibulk {
                        remaining,
                        bulk_len: Some(len),
                    };
                    len
                }
            };
            // The two bytes after the data are skipped unread, as Redis does.
            if buf.len() - self.pos < len + 2 {
                return Ok(None);
            }
            self.args.push(self.pos..self.pos + len);
            self.pos += len + 2;
            self.state = if remaining > 1 {
                State::Multibulk {
                    remaining: remaining - 1,
                    bulk_len: None,
                }
            } else {
                State::Idle
            };
        }
        self.start = self.pos;
        Ok(Some(Request::Multibulk))
    }
}

/// A header line in its plainest form: one type byte, 1 to 18 decimal digits without a leading
/// zero (a lone `0` aside), `\r`, and one more byte already in the buffer (taken as the LF, as
/// the general path takes it). Returns the number and the position of the `\r`. Everything
/// else (a sign, leading zeros, a NUL, a header not yet complete) returns `None`, and the
/// caller's general path gives Redis's answer, errors included.
#[inline]
fn plain_header(rest: &[u8]) -> Option<(usize, usize)> {
    let digits = rest.get(1..)?;
    let mut n = 0u64;
    let mut i = 0;
    while i < digits.len() && i < 18 && digits[i].is_ascii_digit() {
        n = n * 10 + u64::from(digits[i] - b'0');
        i += 1;
    }
    let cr = i + 1;
    let plain = i > 0 && (i == 1 || digits[0] != b'0');
    if !(plain && rest.get(cr) == Some(&b'\r') && cr + 2 <= rest.len()) {
        return None;
    }
    Some((usize::try_from(n).ok()?, cr))
}

/// A multibulk count (`*<count>`, the `*` already checked by the caller) in its plain form and
/// within the count Redis accepts.
#[inline]
fn plain_count(rest: &[u8]) -> Option<(usize, usize)> {
    plain_header(rest).filter(|&(count, _)| count <= i32::MAX as usize)
}

/// A bulk length (`$<len>`) in its plain form and within `proto-max-bulk-len`.
#[inline]
fn plain_bulk_len(rest: &[u8], max_bulk_len: i64) -> Option<(usize, usize)> {
    if rest.first() != Some(&b'$') {
        return None;
    }
    plain_header(rest).filter(|&(len, _)| len as u64 <= max_bulk_len.max(0) as u64)
}

/// Position of `needle` in `hay`, searching only up to the first NUL byte, like C's `strchr` on
/// Redis's NUL-terminated query buffer.
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    for (i, &b) in hay.iter().enumerate() {
        if b == needle {
            return Some(i);
        }
        if b == 0 {
            return None;
        }
    }
    None
}

/// Splits an inline line (no NUL and no LF in it, by construction) into words with redis-cli's
/// quoting rules; `None` for unbalanced quotes.
///
/// `cli::split_args` implements those rules on text. A line that is not UTF-8 is split on the
/// same rules at the byte level: the rules give meaning to ASCII bytes only, so each run of
/// non-ASCII bytes behaves like one plain letter. The line is split twice, with each run replaced
/// by `g` and then by `h` (letters that are neither hex digits nor escape letters); the words come
/// out the same except where a run stood, which is where the two differ, and the runs go back
/// there in order. This stays exact even when the line itself contains `g`, `h` or `\x67`.
pub fn split_inline(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    if let Ok(text) = std::str::from_utf8(line) {
        return split_args(text).ok();
    }
    let mut runs: Vec<&[u8]> = Vec::new();
    let (mut with_g, mut with_h) = (
        String::with_capacity(line.len()),
        String::with_capacity(line.len()),
    );
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii() {
            with_g.push(line[i] as char);
            with_h.push(line[i] as char);
            i += 1;
        } else {
            let end = line[i..]
                .iter()
                .position(|b| b.is_ascii())
                .map_or(line.len(), |n| i + n);
            runs.push(&line[i..end]);
            with_g.push('g');
            with_h.push('h');
            i = end;
        }
    }
    let words_g = split_args(&with_g).ok()?;
    let words_h = split_args(&with_h).ok()?;
    let mut runs = runs.into_iter();
    let words = words_g
        .into_iter()
        .zip(words_h)
        .map(|(wg, wh)| {
            let mut out = Vec::with_capacity(wg.len());
            for (bg, bh) in wg.into_iter().zip(wh) {
                if bg != bh {
                    out.extend_from_slice(runs.next().unwrap_or_default());
                } else {
                    out.push(bg);
                }
            }
            out
        })
        .collect();
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i64 = 512 * 1024 * 1024;

    /// Parses everything in `input` in one go.
    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut p = Parser::new();
        let mut out = Vec::new();
        loop {
            match p.next(input, MAX) {
                Ok(Some(Request::Multibulk)) => {
                    out.push(p.args().iter().map(|r| input[r.clone()].to_vec()).collect())
                }
                Ok(Some(Request::Inline(words))) => out.push(words),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn words(ws: &[&str]) -> Vec<Vec<u8>> {
        ws.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn headers_read_in_one_pass_or_the_long_way_agree_with_redis() {
        // Plain headers, including a zero-length bulk and the largest plain count.
        let (reqs, err) = parse_all(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n*1\r\n$10\r\n0123456789\r\n");
        assert_eq!(reqs, vec![words(&["GET", ""]), words(&["0123456789"])]);
        assert_eq!(err, None);
        // What the one-pass reader leaves to the general path: leading zeros, signs, too many
        // digits, a count past i32, and a bulk longer than proto-max-bulk-len.
        for (input, want) in [
            (&b"*02\r\n"[..], ProtocolError::InvalidMultibulkLength),
            (b"*+2\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*2147483648\r\n", ProtocolError::InvalidMultibulkLength),
            (b"*1\r\n$03\r\nGET\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n$-3\r\nGET\r\n", ProtocolError::InvalidBulkLength),
            (
                b"*1\r\n$1234567890123456789012\r\n",
                ProtocolError::InvalidBulkLength,
            ),
            (b"*1\r\n$536870913\r\n", ProtocolError::InvalidBulkLength),
            (b"*1\r\n#3\r\nGET\r\n", ProtocolError::ExpectedDollar(b'#')),
        ] {
            assert_eq!(
                parse_all(input),
                (vec![], Some(want)),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        // A count of zero or less is skipped, as Redis does.
        assert_eq!(
            parse_all(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n").0,
            vec![words(&["PING"])]
        );
        // A header cut before its LF waits for more bytes, and so does one with a NUL before its
        // CR (Redis looks for the CR in a NUL-terminated buffer).
        assert_eq!(parse_all(b"*1\r\n$4\r"), (vec![], None));
        assert_eq!(parse_all(b"*1\r\n$3\0\r\nGET\r\n"), (vec![], None));
    }

    #[test]
    fn multibulk_and_inline_requests() {
        let (reqs, err) =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nSET a \"b c\"\n*1\r\n$0\r\n\r\n");
        assert_eq!(err, None);
        assert_eq!(
            reqs,
            vec![
                words(&["GET", "k"]),
                words(&["PING"]),
                words(&["SET", "a", "b c"]),
                words(&[""])
            ]
        );
    }

    #[test]
    fn empty_requests_are_skipped() {
        let (reqs, err) = parse_all(b"*0\r\n*-1\r\n\r\n   \r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(err, None);
        assert_eq!(reqs, vec![words(&["PING"])]);
    }

    #[test]
    fn every_split_point_gives_the_same_requests() {
        let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\nECHO 'x y'\r\n*1\r\n$4\r\nPING\r\n";
        let (whole, _) = parse_all(input);
        assert_eq!(whole.len(), 3);
        for cut in 0..=input.len() {
            // Feed the first `cut` bytes, then the rest, dropping the consumed prefix in between
            // as the server does.
            let mut p = Parser::new();
            let mut buf = input[..cut].to_vec();
            let mut got = Vec::new();
            for chunk in [&input[cut..], &b""[..]] {
                while let Some(req) = p.next(&buf, MAX).unwrap() {
                    got.push(match req {
                        Request::Multibulk => {
                            p.args().iter().map(|r| buf[r.clone()].to_vec()).collect()
                        }
                        Request::Inline(w) => w,
                    });
                }
                let n = p.consumed();
                buf.drain(..n);
                p.shift(n);
                buf.extend_from_slice(chunk);
            }
            assert_eq!(got, whole, "cut at {cut}");
        }
    }

    #[test]
    fn requests_read_whole_or_a_byte_at_a_time_agree() {
        // Read whole, plain requests take the one-go path; fed a byte at a time, every request
        // takes the general one. Random streams of plain requests, inline ones, empty ones and
        // one malformed piece must come out the same both ways.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let bad: [&[u8]; 9] = [
            b"*02\r\n$1\r\na\r\n$1\r\nb\r\n",
            b"*1\r\n$+1\r\na\r\n",
            b"*1\r\n$01\r\na\r\n",
            b"*1\r\n#1\r\na\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n",
            b"*1\r\n$1\0\r\na\r\n",
            b"*-5\r\n",
            b"*1\r\n$536870913\r\n",
            b"*3000000000\r\n",
        ];
        for round in 0..300 {
            let mut input = Vec::new();
            for _ in 0..1 + rand(6) {
                match rand(10) {
                    0 => input.extend_from_slice(b"PING x\r\n"),
                    1 => input.extend_from_slice(b"*0\r\n"),
                    _ => {
                        let argc = 1 + rand(4) as usize;
                        input.extend_from_slice(format!("*{argc}\r\n").as_bytes());
                        for _ in 0..argc {
                            let len = rand(12) as usize;
                            input.extend_from_slice(format!("${len}\r\n").as_bytes());
                            input.extend(std::iter::repeat_n(b'v', len));
                            input.extend_from_slice(b"\r\n");
                        }
                    }
                }
            }
            if round % 2 == 1 {
                input.extend_from_slice(bad[rand(bad.len() as u64) as usize]);
                input.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
            }
            let whole = parse_all(&input);
            let bytes: Vec<usize> = (1..=input.len()).collect();
            // Cut in two as well: a request cut short is first tried in one go, then read on by
            // the general path.
            let cut = 1 + rand(input.len() as u64) as usize;
            for ends in [&bytes[..], &[cut, input.len()][..]] {
                assert_eq!(
                    whole,
                    parse_in_pieces(&input, ends),
                    "round {round}, ends {:?}: {}",
                    &ends[..ends.len().min(3)],
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    /// Parses `input` as it arrives, the buffer ending at each of `ends` in turn.
    fn parse_in_pieces(input: &[u8], ends: &[usize]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut p = Parser::new();
        let mut got = Vec::new();
        for &end in ends {
            let buf = &input[..end];
            loop {
                match p.next(buf, MAX) {
                    Ok(Some(Request::Multibulk)) => {
                        got.push(p.args().iter().map(|r| buf[r.clone()].to_vec()).collect())
                    }
                    Ok(Some(Request::Inline(words))) => got.push(words),
                    Ok(None) => break,
                    Err(e) => return (got, Some(e)),
                }
            }
        }
        (got, None)
    }

    #[test]
    fn protocol_errors_have_redis_texts() {
        let err = |input: &[u8]| {
            parse_all(input)
                .1
                .map(|e| String::from_utf8(e.reply()).unwrap())
        };
        let text = |s: &str| Some(format!("-ERR Protocol error: {s}\r\n"));
        assert_eq!(err(b"*abc\r\n"), text("invalid multibulk length"));
        assert_eq!(err(b"*2147483648\r\n"), text("invalid multibulk length"));
        assert_eq!(err(b"*01\r\n"), text("invalid multibulk length"));
        assert_eq!(err(b"*1\r\n$-1\r\n"), text("invalid bulk length"));
        assert_eq!(err(b"*1\r\n$x\r\n"), text("invalid bulk length"));
        assert_eq!(err(b"*1\r\n$2147483648\r\n"), text("invalid bulk length"));
        assert_eq!(err(b"*1\r\n$536870913\r\n"), text("invalid bulk length"));
        assert_eq!(err(b"*1\r\n:1\r\n"), text("expected '$', got ':'"));
        assert_eq!(err(b"*1\r\n\r\n"), text("expected '$', got ' '"));
        assert_eq!(err(b"SET \"a b\r\n"), text("unbalanced quotes in request"));
        assert_eq!(err(b"SET \"a\"b\r\n"), text("unbalanced quotes in request"));
        assert_eq!(
            err(&[b'x'; INLINE_MAX_SIZE + 1]),
            text("too big inline request")
        );
        assert_eq!(err(&[b'x'; INLINE_MAX_SIZE]), None);
        let mut big = b"*1".to_vec();
        big.resize(INLINE_MAX_SIZE + 1, b'1');
        assert_eq!(err(&big), text("too big mbulk count string"));
        let mut big = b"*1\r\n$1".to_vec();
        big.resize(4 + INLINE_MAX_SIZE + 1, b'1');
        assert_eq!(err(&big), text("too big bulk count string"));
        // A bulk of exactly proto-max-bulk-len is allowed; it is just waiting for its data.
        assert_eq!(err(b"*1\r\n$536870912\r\n"), None);
    }

    #[test]
    fn requests_before_an_error_are_still_returned() {
        let (reqs, err) = parse_all(b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(reqs, vec![words(&["PING"]), words(&["PING"])]);
        assert_eq!(err, Some(ProtocolError::InvalidMultibulkLength));
    }

    #[test]
    fn nul_byte_hides_the_line_end_like_strchr() {
        // Redis's strchr stops at the NUL, so it keeps waiting for a line end it cannot see.
        assert_eq!(parse_all(b"PI\0NG\r\n"), (vec![], None));
        assert_eq!(parse_all(b"*1\0\r\n"), (vec![], None));
        // Inside bulk data a NUL is just data.
        assert_eq!(
            parse_all(b"*1\r\n$3\r\na\0b\r\n").0,
            vec![vec![b"a\0b".to_vec()]]
        );
    }

    #[test]
    fn crlf_after_bulk_data_is_not_checked() {
        assert_eq!(
            parse_all(b"*1\r\n$4\r\nPINGxx*1\rx$1\r\na\r\n").0,
            vec![words(&["PING"]), words(&["a"])]
        );
    }

    #[test]
    fn a_huge_announced_bulk_only_waits_for_its_data() {
        let mut p = Parser::new();
        let buf = b"*2\r\n$3\r\nSET\r\n$536870912\r\nabc".to_vec();
        assert_eq!(p.next(&buf, MAX), Ok(None));
        // The parsed SET does not count against the query buffer limit, the pending bulk does.
        assert_eq!(p.unparsed(buf.len()), 3);
    }

    #[test]
    fn inline_words_match_redis_cli_splitting_even_when_not_utf8() {
        assert_eq!(
            split_inline(b"SET k \"a\\x41\""),
            Some(words(&["SET", "k", "aA"]))
        );
        assert_eq!(split_inline(b"  "), Some(vec![]));
        assert_eq!(split_inline(b"SET 'a"), None);
        assert_eq!(
            split_inline(b"SET \xff\xfek \"v \xe9\" '\\'\xc3'"),
            Some(vec![
                b"SET".to_vec(),
                b"\xff\xfek".to_vec(),
                b"v \xe9".to_vec(),
                b"'\xc3".to_vec()
            ])
        );
        // A quote closed right before a non-ASCII byte is an error, as before any other byte.
        assert_eq!(split_inline(b"SET \"a\"\xff"), None);
        // Letters equal to the stand-ins, typed or escaped, stay what they are.
        assert_eq!(
            split_inline(b"\xffg \"\\x67\\x68\xfe\" gh"),
            Some(vec![b"\xffg".to_vec(), b"gh\xfe".to_vec(), b"gh".to_vec()])
        );
    }

    #[test]
    fn shift_right_after_a_request_forgets_its_arguments() {
        // As when a client blocks: its request was run, the next is not parsed yet.
        let mut p = Parser::new();
        let mut buf = b"*1\r\n$4\r\nPING\r\nPI".to_vec();
        assert_eq!(p.next(&buf, MAX), Ok(Some(Request::Multibulk)));
        let n = p.consumed();
        buf.drain(..n);
        p.shift(n);
        buf.extend_from_slice(b"NG\r\n");
        assert_eq!(
            p.next(&buf, MAX),
            Ok(Some(Request::Inline(words(&["PING"]))))
        );
    }

    #[test]
    fn shift_keeps_pending_offsets_valid() {
        let mut p = Parser::new();
        let mut buf = b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhe".to_vec();
        assert_eq!(p.next(&buf, MAX), Ok(Some(Request::Multibulk)));
        assert_eq!(p.next(&buf, MAX), Ok(None));
        let n = p.consumed();
        // The PING and the ECHO's count line.
        assert_eq!(n, 18);
        buf.drain(..n);
        p.shift(n);
        buf.extend_from_slice(b"llo\r\n");
        assert_eq!(p.next(&buf, MAX), Ok(Some(Request::Multibulk)));
        let args: Vec<&[u8]> = p.args().iter().map(|r| &buf[r.clone()]).collect();
        assert_eq!(args, [&b"ECHO"[..], b"hello"]);
    }
}
