//! Argument parsing helpers shared by every command family.
//!
//! Handlers read their arguments through `Args`, a cursor over argv that knows Redis's number
//! syntax and answers with Redis's error strings, so that a bad integer reads the same whichever
//! command it was given to.

use crate::error;
use crate::numfmt::{parse_f64, parse_i64};
use crate::reply::Reply;

pub struct Args<'a> {
    argv: &'a [&'a [u8]],
    pos: usize,
}

impl<'a> Args<'a> {
    /// A cursor positioned after the command name.
    pub fn new(argv: &'a [&'a [u8]]) -> Self {
        Args { argv, pos: 1 }
    }

    /// A cursor positioned at `pos`.
    pub fn at(argv: &'a [&'a [u8]], pos: usize) -> Self {
        Args { argv, pos }
    }

    pub fn remaining(&self) -> usize {
        self.argv.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn peek(&self) -> Option<&'a [u8]> {
        self.argv.get(self.pos).copied()
    }

    pub fn next(&mut self) -> Option<&'a [u8]> {
        let a = self.argv.get(self.pos).copied();
        if a.is_some() {
            self.pos += 1;
        }
        a
    }

    /// The next argument, or a syntax error when there is none.
    pub fn next_or_syntax(&mut self) -> Result<&'a [u8], Reply> {
        self.next().ok_or_else(|| Reply::error(error::SYNTAX))
    }

    pub fn next_i64(&mut self) -> Result<i64, Reply> {
        let a = self.next_or_syntax()?;
        int(a)
    }

    pub fn rest(&mut self) -> &'a [&'a [u8]] {
        let r = &self.argv[self.pos.min(self.argv.len())..];
        self.pos = self.argv.len();
        r
    }
}

/// True when `a` equals `word` ignoring ASCII case (Redis's `strcasecmp` on options).
pub fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

/// An integer argument, or `ERR value is not an integer or out of range`.
pub fn int(a: &[u8]) -> Result<i64, Reply> {
    parse_i64(a).ok_or_else(|| Reply::error(error::NOT_INTEGER))
}

/// An integer argument with a custom error text.
pub fn int_or(a: &[u8], err: &'static str) -> Result<i64, Reply> {
    parse_i64(a).ok_or_else(|| Reply::error(err))
}

/// A float argument, or `ERR value is not a valid float`.
pub fn float(a: &[u8]) -> Result<f64, Reply> {
    parse_f64(a).ok_or_else(|| Reply::error(error::NOT_FLOAT))
}

/// Redis's `getPositiveLongFromObjectOrReply` style: a non-negative integer.
pub fn non_negative(a: &[u8], err: &'static str) -> Result<i64, Reply> {
    match parse_i64(a) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(Reply::error(err)),
    }
}

/// Upper-cases an argument for messages that quote it.
pub fn text(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

/// Early return for handlers: `let v = tri!(args.next_i64());`
#[macro_export]
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return reply,
        }
    };
}
