//! Stream commands: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XREADGROUP, XGROUP,
//! XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO, XSETID.
//!
//! Argument parsing follows Redis 7.0 step by step, because which error a bad command gets
//! depends on the order of the checks. Options are compared the way C's `strcasecmp` compares
//! them, up to the first NUL byte, and IDs are parsed like `streamGenericParseIDOrReply`
//! (including `strtoull`'s leniency: `+5-0` and ` 5` are valid IDs).
//!
//! Blocking reads (XREAD/XREADGROUP BLOCK) park the client with `Engine::block_on_keys`. The
//! engine re-runs a blocked command when one of its keys changes; the re-run recognises itself
//! (`blocked.reprocessing`) and then answers as Redis's `serveClientsBlockedOnStreamKey` does,
//! which differs from a first run: one stream per reply, at most 1000 entries when no COUNT was
//! given, a served reply as soon as the stream's last ID passed the awaited one, and errors when
//! an XREADGROUP's group or stream disappeared. `$` is replaced by the ID it meant in the
//! command kept for re-runs, so a re-run reads what arrived after the client blocked.
//!
//! Keyspace events go out exactly where Redis sends them; which changes also touch WATCHed keys
//! and wake blocked clients follows Redis too (XADD does all three; XSETID, XGROUP SETID and the
//! like only notify).

use std::sync::Arc;

use crate::args::{int, int_or};
use crate::event::Event;
use crate::keyspace::Lookup;
use crate::numfmt::parse_i64;
use crate::object::Value;
use crate::table::{container, CommandSpec};
use crate::types::stream::{
    ClaimOptions, Fields, Group, NodeLimits, Stream, StreamId, Trim, TrimStrategy,
    ENTRIES_READ_UNKNOWN,
};
use crate::{error, flags, tri, Call, Engine, Protocol, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "xadd",
        arity: -5,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Appends an entry to a stream, creating it if needed, and may trim old entries.",
        syntax: "key [NOMKSTREAM] [MAXLEN | MINID [= | ~] threshold [LIMIT count]] * | id field value [field value ...]",
        handler: xadd,
        subcommands: &[],
    },
    CommandSpec {
        name: "xrange",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Returns the entries whose IDs fall in a range, oldest first.",
        syntax: "key start end [COUNT count]",
        handler: xrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "xrevrange",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Returns the entries whose IDs fall in a range, newest first.",
        syntax: "key end start [COUNT count]",
        handler: xrevrange,
        subcommands: &[],
    },
    CommandSpec {
        name: "xlen",
        arity: 2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Counts the entries of a stream.",
        syntax: "key",
        handler: xlen,
        subcommands: &[],
    },
    CommandSpec {
        name: "xdel",
        arity: -3,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Deletes entries by ID and returns how many existed.",
        syntax: "key id [id ...]",
        handler: xdel,
        subcommands: &[],
    },
    CommandSpec {
        name: "xtrim",
        arity: -4,
        flags: flags!(WRITE),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Removes the oldest entries down to a length or up to an ID.",
        syntax: "key MAXLEN | MINID [= | ~] threshold [LIMIT count]",
        handler: xtrim,
        subcommands: &[],
    },
    CommandSpec {
        name: "xread",
        arity: -4,
        flags: flags!(READONLY, BLOCKING),
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Reads entries newer than the given IDs from one or more streams, optionally waiting.",
        syntax: "[COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]",
        handler: xread,
        subcommands: &[],
    },
    CommandSpec {
        name: "xreadgroup",
        arity: -7,
        flags: flags!(WRITE, BLOCKING),
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Reads entries for a consumer of a group, recording them as pending, optionally waiting.",
        syntax: "GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]",
        handler: xreadgroup,
        subcommands: &[],
    },
    CommandSpec {
        name: "xgroup",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Creates, moves and destroys consumer groups and their consumers.",
        syntax: "subcommand [arguments]",
        handler: container,
        subcommands: XGROUP_SUBCOMMANDS,
    },
    CommandSpec {
        name: "xack",
        arity: -4,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Marks pending entries of a group as processed and returns how many were pending.",
        syntax: "key group id [id ...]",
        handler: xack,
        subcommands: &[],
    },
    CommandSpec {
        name: "xpending",
        arity: -3,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Summarises or lists a group's delivered but unacknowledged entries.",
        syntax: "key group [[IDLE min-idle-time] start end count [consumer]]",
        handler: xpending,
        subcommands: &[],
    },
    CommandSpec {
        name: "xclaim",
        arity: -6,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Transfers the given pending entries to another consumer once idle long enough.",
        syntax: "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]",
        handler: xclaim,
        subcommands: &[],
    },
    CommandSpec {
        name: "xautoclaim",
        arity: -6,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "6.2.0",
        summary: "Walks a group's pending entries, transferring the idle ones to a consumer.",
        syntax: "key group consumer min-idle-time start [COUNT count] [JUSTID]",
        handler: xautoclaim,
        subcommands: &[],
    },
    CommandSpec {
        name: "xinfo",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Describes a stream, its consumer groups or a group's consumers.",
        syntax: "subcommand [arguments]",
        handler: container,
        subcommands: XINFO_SUBCOMMANDS,
    },
    CommandSpec {
        name: "xsetid",
        arity: -3,
        flags: flags!(WRITE, DENYOOM, FAST),
        keys: (1, 1, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Sets a stream's last ID, and optionally its added-entries counter and greatest deleted ID.",
        syntax: "key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]",
        handler: xsetid,
        subcommands: &[],
    },
];

const XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "xgroup|create",
        arity: -5,
        flags: flags!(WRITE, DENYOOM),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Creates a consumer group starting after an ID (or at the stream's end).",
        syntax: "key group id | $ [MKSTREAM] [ENTRIESREAD entries-read]",
        handler: xgroup,
        subcommands: &[],
    },
    CommandSpec {
        name: "xgroup|createconsumer",
        arity: 5,
        flags: flags!(WRITE, DENYOOM),
        keys: (2, 2, 1),
        group: "stream",
        since: "6.2.0",
        summary: "Adds a consumer to a group; replies 1 if it is new, 0 if it existed.",
        syntax: "key group consumer",
        handler: xgroup,
        subcommands: &[],
    },
    CommandSpec {
        name: "xgroup|delconsumer",
        arity: 5,
        flags: flags!(WRITE),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Removes a consumer and its pending entries; replies how many it had.",
        syntax: "key group consumer",
        handler: xgroup,
        subcommands: &[],
    },
    CommandSpec {
        name: "xgroup|destroy",
        arity: 4,
        flags: flags!(WRITE),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Deletes a consumer group with its consumers and pending entries.",
        syntax: "key group",
        handler: xgroup,
        subcommands: &[],
    },
    CommandSpec {
        name: "xgroup|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Lists the XGROUP subcommands.",
        syntax: "",
        handler: xgroup_help,
        subcommands: &[],
    },
    CommandSpec {
        name: "xgroup|setid",
        arity: -5,
        flags: flags!(WRITE),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Moves a group's last delivered ID, and sets its read counter.",
        syntax: "key group id | $ [ENTRIESREAD entries-read]",
        handler: xgroup,
        subcommands: &[],
    },
];

const XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "xinfo|consumers",
        arity: 4,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Lists a group's consumers with their pending counts and idle times.",
        syntax: "key group",
        handler: xinfo,
        subcommands: &[],
    },
    CommandSpec {
        name: "xinfo|groups",
        arity: 3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary: "Lists a stream's consumer groups with their progress.",
        syntax: "key",
        handler: xinfo,
        subcommands: &[],
    },
    CommandSpec {
        name: "xinfo|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Lists the XINFO subcommands.",
        syntax: "",
        handler: xinfo,
        subcommands: &[],
    },
    CommandSpec {
        name: "xinfo|stream",
        arity: -3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "stream",
        since: "5.0.0",
        summary:
            "Describes a stream: length, IDs, node layout, and with FULL its entries and groups.",
        syntax: "key [FULL [COUNT count]]",
        handler: xinfo,
        subcommands: &[],
    },
];

/// Without COUNT, a blocked read is served at most this many entries (Redis's
/// XREAD_BLOCKED_DEFAULT_COUNT).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

// ---------------------------------------------------------------------------------------------
// Argument helpers

/// The argument as a C string: up to its first NUL byte.
fn c_str(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |i| &a[..i])
}

/// `strcasecmp(arg, word) == 0`.
fn opt(a: &[u8], word: &str) -> bool {
    c_str(a).eq_ignore_ascii_case(word.as_bytes())
}

/// C's `strtoull` in base 10 over the whole string: leading blanks, a sign (a minus negates
/// modulo 2^64), at least one digit, nothing after, no overflow.
fn strtoull(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add((s[i] - b'0') as u64))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits_start || i != s.len() || overflow {
        return None;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// Redis's `string2ull`: `string2ll` when it can (refusing negatives), `strtoull` otherwise.
fn string2ull(s: &[u8]) -> Option<u64> {
    match parse_i64(s) {
        Some(v) if v < 0 => None,
        Some(v) => Some(v as u64),
        None => strtoull(s),
    }
}

/// How an ID argument may be written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdSyntax {
    /// `-` and `+` stand for the smallest and greatest IDs.
    Range,
    /// `-` and `+` are invalid.
    Strict,
    /// Strict, and `<ms>-*` leaves the sequence to the stream (XADD).
    Add,
}

/// Parses an ID; the flag is false for `<ms>-*`. `missing_seq` completes an ID given as
/// milliseconds only.
fn parse_id_with(arg: &[u8], missing_seq: u64, syntax: IdSyntax) -> Option<(StreamId, bool)> {
    // Redis copies the argument into a 128-byte buffer.
    if arg.len() > 127 {
        return None;
    }
    let buf = c_str(arg);
    if buf == b"-" || buf == b"+" {
        if syntax != IdSyntax::Range {
            return None;
        }
        let id = if buf == b"-" {
            StreamId::MIN
        } else {
            StreamId::MAX
        };
        return Some((id, true));
    }
    let (ms_part, seq_part) = match buf.iter().position(|&b| b == b'-') {
        Some(p) => (&buf[..p], Some(&buf[p + 1..])),
        None => (buf, None),
    };
    let ms = string2ull(ms_part)?;
    let (seq, seq_given) = match seq_part {
        Some(b"*") if syntax == IdSyntax::Add => (0, false),
        Some(s) => (string2ull(s)?, true),
        None => (missing_seq, true),
    };
    Some((StreamId::new(ms, seq), seq_given))
}

fn parse_id(arg: &[u8], missing_seq: u64, syntax: IdSyntax) -> Result<StreamId, Reply> {
    parse_id_with(arg, missing_seq, syntax)
        .map(|(id, _)| id)
        .ok_or_else(|| Reply::error(error::STREAM_ID_INVALID))
}

/// A range bound: `(` makes it exclusive (then `-` and `+` are invalid). Returns the ID and
/// whether it is exclusive.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Reply> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_id(&arg[1..], missing_seq, IdSyntax::Strict)?, true))
    } else {
        Ok((parse_id(arg, missing_seq, IdSyntax::Range)?, false))
    }
}

/// The inclusive start of a range given as `start` or `(start`.
fn range_start(arg: &[u8]) -> Result<StreamId, Reply> {
    let (id, exclusive) = parse_interval(arg, 0)?;
    if !exclusive {
        return Ok(id);
    }
    id.next()
        .ok_or_else(|| Reply::error(error::INVALID_START_ID))
}

/// The inclusive end of a range given as `end` or `(end`.
fn range_end(arg: &[u8]) -> Result<StreamId, Reply> {
    let (id, exclusive) = parse_interval(arg, u64::MAX)?;
    if !exclusive {
        return Ok(id);
    }
    id.prev().ok_or_else(|| Reply::error(error::INVALID_END_ID))
}

// ---------------------------------------------------------------------------------------------
// Reply helpers

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id_bytes(id))
}

/// `<ms>-<seq>` without going through `fmt` (every entry of every reply carries one).
fn id_bytes(id: StreamId) -> Vec<u8> {
    fn push_u64(out: &mut Vec<u8>, mut v: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        out.extend_from_slice(&tmp[i..]);
    }
    let mut out = Vec::with_capacity(41);
    push_u64(&mut out, id.ms);
    out.push(b'-');
    push_u64(&mut out, id.seq);
    out
}

fn entry_reply(id: StreamId, fields: &Fields) -> Reply {
    Reply::Array(vec![
        id_reply(id),
        Reply::Array(fields.iter().map(|f| Reply::Bulk(f.to_vec())).collect()),
    ])
}

/// The `[key, entries]` pairs of XREAD: an array of pairs in RESP2, a map in RESP3.
fn streams_reply(proto: Protocol, served: Vec<(Vec<u8>, Reply)>) -> Reply {
    match proto {
        Protocol::Resp2 => Reply::Array(
            served
                .into_iter()
                .map(|(k, v)| Reply::Array(vec![Reply::Bulk(k), v]))
                .collect(),
        ),
        Protocol::Resp3 => Reply::Map(
            served
                .into_iter()
                .map(|(k, v)| (Reply::Bulk(k), v))
                .collect(),
        ),
    }
}

fn field(name: &'static str) -> Reply {
    Reply::bulk(name)
}

// ---------------------------------------------------------------------------------------------
// Keyspace helpers

/// The stream under `key`: `Ok(None)` when the key does not exist, WRONGTYPE when it holds
/// another type.
fn lookup_stream<'e>(
    e: &'e mut Engine,
    db: usize,
    key: &[u8],
    mode: Lookup,
) -> Result<Option<&'e mut Stream>, Reply> {
    match e.lookup(db, key, mode).map(|entry| &mut entry.value) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(Reply::error(error::WRONGTYPE)),
    }
}

/// Reports a change to a stream. Redis marks WATCHed keys as changed and wakes blocked readers
/// only for some stream changes (`watch`, `wake`); every change gets its keyspace event.
fn changed(e: &mut Engine, db: usize, key: &[u8], op: &'static str, watch: bool, wake: bool) {
    if watch && wake {
        e.notify(db, key, op);
        return;
    }
    e.stats.dirty += 1;
    if wake {
        e.signal_key(db, key);
    }
    if watch {
        e.touch_watched_key(db, key);
    }
    e.keyspace_notification(db, key, op);
    if e.recording() {
        e.emit(Event::Keyspace {
            db,
            key: key.to_vec(),
            op,
        });
    }
}

fn node_limits(e: &Engine) -> NodeLimits {
    NodeLimits {
        max_bytes: e.config.stream_node_max_bytes,
        max_entries: e.config.stream_node_max_entries,
    }
}

// ---------------------------------------------------------------------------------------------
// XADD, XTRIM

/// XADD's and XTRIM's options.
struct AddTrimArgs {
    /// The ID XADD was given, with whether its sequence was given; `None` for `*`.
    id: Option<(StreamId, bool)>,
    /// Where the ID is (XADD): the fields follow it.
    id_pos: usize,
    no_mkstream: bool,
    trim: Option<Trim>,
}

/// `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(e: &Engine, argv: &[&[u8]], xadd: bool) -> Result<AddTrimArgs, Reply> {
    let argc = argv.len();
    let mut out = AddTrimArgs {
        id: None,
        id_pos: argc,
        no_mkstream: false,
        trim: None,
    };
    let mut strategy: Option<TrimStrategy> = None;
    let mut approx = false;
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let a = argv[i];
        if xadd && c_str(a) == b"*" {
            break;
        } else if (opt(a, "maxlen") || opt(a, "minid")) && more > 0 {
            if strategy.is_some() {
                return Err(Reply::error(error::TRIM_MAXLEN_AND_MINID));
            }
            approx = false;
            let next = c_str(argv[i + 1]);
            if more >= 2 && next == b"~" {
                approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if opt(a, "maxlen") {
                let maxlen = int(argv[i + 1])?;
                if maxlen < 0 {
                    return Err(Reply::error(error::TRIM_MAXLEN_NEGATIVE));
                }
                strategy = Some(TrimStrategy::MaxLen(maxlen as u64));
            } else {
                let minid = parse_id(argv[i + 1], 0, IdSyntax::Strict)?;
                strategy = Some(TrimStrategy::MinId(minid));
            }
            i += 1;
        } else if opt(a, "limit") && more > 0 {
            limit = int(argv[i + 1])?;
            if limit < 0 {
                return Err(Reply::error(error::TRIM_LIMIT_NEGATIVE));
            }
            limit_given = true;
            i += 1;
        } else if xadd && opt(a, "nomkstream") {
            out.no_mkstream = true;
        } else if xadd {
            let id = parse_id_with(a, 0, IdSyntax::Add)
                .ok_or_else(|| Reply::error(error::STREAM_ID_INVALID))?;
            out.id = Some(id);
            break;
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        i += 1;
    }
    out.id_pos = i;
    if limit != 0 && strategy.is_none() {
        return Err(Reply::error(error::TRIM_LIMIT_WITHOUT_STRATEGY));
    }
    if !xadd && strategy.is_none() {
        return Err(Reply::error(error::XTRIM_WITHOUT_STRATEGY));
    }
    if limit_given {
        if !approx {
            return Err(Reply::error(error::TRIM_LIMIT_WITHOUT_APPROX));
        }
    } else if approx {
        // Without LIMIT, approximate trimming looks at no more than about 100 nodes' worth.
        limit = e.config.stream_node_max_entries.saturating_mul(100);
        if limit <= 0 {
            limit = 10_000;
        }
        limit = limit.min(1_000_000);
    } else {
        limit = 0;
    }
    out.trim = strategy.map(|strategy| Trim {
        strategy,
        approx,
        limit: limit as u64,
    });
    Ok(out)
}

fn xadd(e: &mut Engine, c: &Call) -> Reply {
    let args = tri!(parse_add_trim(e, c.argv, true));
    let field_pos = args.id_pos + 1;
    let items = c.argv.len() as i64 - field_pos as i64;
    if items < 2 || items % 2 == 1 {
        return Reply::error_owned(error::wrong_arity("xadd"));
    }
    if let Some((id, true)) = args.id {
        if id.is_zero() {
            return Reply::error(error::XADD_ID_ZERO);
        }
    }
    let (db, key) = (c.db, c.argv[1]);
    let limits = node_limits(e);
    let exists = match lookup_stream(e, db, key, Lookup::Write) {
        Err(r) => return r,
        Ok(s) => s.is_some(),
    };
    if !exists {
        if args.no_mkstream {
            return Reply::Nil;
        }
        e.add_value(db, key, Value::Stream(Box::new(Stream::new())));
    }
    let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) else {
        return Reply::error(error::WRONGTYPE);
    };
    if s.last_id == StreamId::MAX {
        return Reply::error(error::STREAM_EXHAUSTED);
    }
    let id = match s.next_id(args.id, c.now) {
        Ok(id) => id,
        Err(crate::types::stream::AddIdError::NotGreater) => {
            return Reply::error(error::XADD_ID_NOT_GREATER)
        }
        Err(crate::types::stream::AddIdError::SeqExhausted) => {
            return Reply::error(error::STREAM_ELEMENTS_TOO_LARGE)
        }
    };
    let fields = &c.argv[field_pos..];
    if fields.iter().map(|f| f.len() as u64).sum::<u64>() > 1 << 30 {
        return Reply::error(error::STREAM_ELEMENTS_TOO_LARGE);
    }
    s.append(id, fields, limits);
    let trimmed = args.trim.map_or(0, |t| s.trim(&t));
    changed(e, db, key, "xadd", true, true);
    if trimmed > 0 {
        changed(e, db, key, "xtrim", false, false);
    }
    id_reply(id)
}

fn xtrim(e: &mut Engine, c: &Call) -> Reply {
    let args = tri!(parse_add_trim(e, c.argv, false));
    let Some(trim) = args.trim else {
        return Reply::error(error::XTRIM_WITHOUT_STRATEGY);
    };
    let (db, key) = (c.db, c.argv[1]);
    let deleted = match lookup_stream(e, db, key, Lookup::Write) {
        Err(r) => return r,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(s)) => s.trim(&trim),
    };
    if deleted > 0 {
        changed(e, db, key, "xtrim", true, false);
    }
    Reply::Integer(deleted as i64)
}

// ---------------------------------------------------------------------------------------------
// XRANGE, XREVRANGE, XLEN, XDEL

fn xrange(e: &mut Engine, c: &Call) -> Reply {
    range_generic(e, c, false)
}

fn xrevrange(e: &mut Engine, c: &Call) -> Reply {
    range_generic(e, c, true)
}

fn range_generic(e: &mut Engine, c: &Call, rev: bool) -> Reply {
    let (start_arg, end_arg) = if rev {
        (c.argv[3], c.argv[2])
    } else {
        (c.argv[2], c.argv[3])
    };
    let start = tri!(range_start(start_arg));
    let end = tri!(range_end(end_arg));
    let mut count: i64 = -1;
    let mut j = 4;
    while j < c.argv.len() {
        if opt(c.argv[j], "COUNT") && c.argv.len() - j > 1 {
            count = tri!(int(c.argv[j + 1])).max(0);
            j += 1;
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    let s = match lookup_stream(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => return r,
        Ok(None) => return Reply::Array(Vec::new()),
        Ok(Some(s)) => s,
    };
    if count == 0 {
        return Reply::NilArray;
    }
    let take = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let range = s.range(start, end);
    let items: Vec<Reply> = if rev {
        range
            .rev()
            .take(take)
            .map(|(id, f)| entry_reply(*id, f))
            .collect()
    } else {
        range
            .take(take)
            .map(|(id, f)| entry_reply(*id, f))
            .collect()
    };
    Reply::Array(items)
}

fn xlen(e: &mut Engine, c: &Call) -> Reply {
    match lookup_stream(e, c.db, c.argv[1], Lookup::Read) {
        Err(r) => r,
        Ok(None) => Reply::Integer(0),
        Ok(Some(s)) => Reply::Integer(s.len() as i64),
    }
}

fn xdel(e: &mut Engine, c: &Call) -> Reply {
    let (db, key) = (c.db, c.argv[1]);
    match lookup_stream(e, db, key, Lookup::Write) {
        Err(r) => return r,
        Ok(None) => return Reply::Integer(0),
        Ok(Some(_)) => {}
    }
    let mut ids = Vec::with_capacity(c.argv.len() - 2);
    for a in &c.argv[2..] {
        ids.push(tri!(parse_id(a, 0, IdSyntax::Strict)));
    }
    let deleted = match lookup_stream(e, db, key, Lookup::NoTouch) {
        Ok(Some(s)) => s.delete(&ids),
        _ => 0,
    };
    if deleted > 0 {
        changed(e, db, key, "xdel", true, false);
    }
    Reply::Integer(deleted as i64)
}

// ---------------------------------------------------------------------------------------------
// XREAD, XREADGROUP

fn xread(e: &mut Engine, c: &Call) -> Reply {
    read_generic(e, c, false)
}

fn xreadgroup(e: &mut Engine, c: &Call) -> Reply {
    read_generic(e, c, true)
}

/// What XREAD and XREADGROUP were asked.
struct ReadArgs<'a> {
    /// Milliseconds to block for (0: forever), when BLOCK was given.
    block: Option<i64>,
    count: usize,
    noack: bool,
    group: Option<(&'a [u8], &'a [u8])>,
    keys: &'a [&'a [u8]],
    ids: &'a [&'a [u8]],
    /// Where the IDs start in argv.
    ids_pos: usize,
}

fn parse_read_args<'a>(argv: &'a [&'a [u8]], xreadgroup: bool) -> Result<ReadArgs<'a>, Reply> {
    let argc = argv.len();
    let mut block = None;
    let mut count: i64 = 0;
    let mut noack = false;
    let mut group = None;
    let mut streams = None;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let a = argv[i];
        if opt(a, "BLOCK") && more > 0 {
            i += 1;
            let ms = int_or(argv[i], error::TIMEOUT_NOT_INTEGER)?;
            if ms < 0 {
                return Err(Reply::error(error::TIMEOUT_NEGATIVE));
            }
            block = Some(ms);
        } else if opt(a, "COUNT") && more > 0 {
            i += 1;
            count = int(argv[i])?.max(0);
        } else if opt(a, "STREAMS") && more > 0 {
            let n = argc - (i + 1);
            if !n.is_multiple_of(2) {
                return Err(Reply::error(error::XREAD_UNBALANCED));
            }
            streams = Some((i + 1, n / 2));
            break;
        } else if opt(a, "GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(Reply::error(error::XREAD_GROUP_OPTION));
            }
            group = Some((argv[i + 1], argv[i + 2]));
            i += 2;
        } else if opt(a, "NOACK") {
            if !xreadgroup {
                return Err(Reply::error(error::XREAD_NOACK_OPTION));
            }
            noack = true;
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        i += 1;
    }
    let Some((first, n)) = streams else {
        return Err(Reply::error(error::SYNTAX));
    };
    if xreadgroup && group.is_none() {
        return Err(Reply::error(error::XREADGROUP_MISSING_GROUP));
    }
    Ok(ReadArgs {
        block,
        count: count as usize,
        noack,
        group,
        keys: &argv[first..first + n],
        ids: &argv[first + n..],
        ids_pos: first + n,
    })
}

fn read_generic(e: &mut Engine, c: &Call, xreadgroup: bool) -> Reply {
    let args = tri!(parse_read_args(c.argv, xreadgroup));
    if e.blocked.reprocessing == Some(c.client) {
        return serve_blocked(e, c, &args);
    }
    let db = c.db;
    // Resolve every ID first, checking types and groups, so that an error changes nothing.
    let mut ids = Vec::with_capacity(args.keys.len());
    let mut dollar = Vec::new();
    for (i, (&key, &arg)) in args.keys.iter().zip(args.ids).enumerate() {
        let found = match lookup_stream(e, db, key, Lookup::Read) {
            Err(r) => return r,
            Ok(s) => s.map(|s| {
                (
                    s.last_id,
                    args.group.is_some_and(|(g, _)| s.groups.contains_key(g)),
                )
            }),
        };
        if let Some((group, _)) = args.group {
            if !found.is_some_and(|(_, has_group)| has_group) {
                return Reply::error_owned(error::xreadgroup_no_group(key, group));
            }
        }
        if c_str(arg) == b"$" {
            if xreadgroup {
                return Reply::error(error::XREADGROUP_DOLLAR_ID);
            }
            let last = found.map_or(StreamId::MIN, |(last, _)| last);
            ids.push(last);
            dollar.push((i, last));
        } else if c_str(arg) == b">" {
            if !xreadgroup {
                return Reply::error(error::XREAD_GREATER_ID);
            }
            // The greatest ID marks `>`, as in Redis.
            ids.push(StreamId::MAX);
        } else {
            ids.push(tri!(parse_id(arg, 0, IdSyntax::Strict)));
        }
    }

    let now = c.now;
    let mut served = Vec::new();
    for (&key, &gt) in args.keys.iter().zip(&ids) {
        let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::Read) else {
            continue;
        };
        let reply = match args.group {
            None => {
                if s.is_empty() || s.last_live_id() <= gt {
                    continue;
                }
                let start = gt.next().unwrap_or(StreamId::MIN);
                let take = if args.count == 0 {
                    usize::MAX
                } else {
                    args.count
                };
                Reply::Array(
                    s.range(start, StreamId::MAX)
                        .take(take)
                        .map(|(id, f)| entry_reply(*id, f))
                        .collect(),
                )
            }
            Some((group, consumer)) => {
                let history = gt != StreamId::MAX;
                let start = if history {
                    gt
                } else {
                    let last = s.groups.get(group).map_or(StreamId::MAX, |g| g.last_id);
                    if s.is_empty() || s.last_live_id() <= last {
                        continue;
                    }
                    last
                };
                let start = start.next().unwrap_or(StreamId::MIN);
                group_read(
                    e, c, key, group, consumer, start, args.count, args.noack, history, now,
                )
            }
        };
        served.push((key.to_vec(), reply));
    }
    if args.group.is_some() {
        e.stats.dirty += served.len() as u64;
    }
    if !served.is_empty() {
        return streams_reply(e.protocol(c.client), served);
    }

    let Some(timeout) = args.block else {
        return Reply::NilArray;
    };
    let in_exec = e.clients.get(&c.client).is_some_and(|cl| cl.in_exec);
    if in_exec {
        // A transaction cannot wait: Redis answers as if the timeout had passed.
        return Reply::NilArray;
    }
    // Keep `$` as the ID it meant now, so that the re-run reads what arrives after it.
    let mut argv: Vec<Vec<u8>> = c.argv.iter().map(|a| a.to_vec()).collect();
    for (i, last) in dollar {
        argv[args.ids_pos + i] = id_bytes(last);
    }
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let keys = args.keys.iter().map(|k| k.to_vec()).collect();
    let deadline = (timeout > 0).then(|| now.saturating_add(timeout));
    e.block_on_keys(c.client, db, keys, deadline, &argv, Reply::NilArray)
}

/// Serves an XREADGROUP for one stream: new entries (`history` false) or the consumer's own
/// pending ones, from `start`. Creates the consumer if needed.
#[allow(clippy::too_many_arguments)]
fn group_read(
    e: &mut Engine,
    c: &Call,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    start: StreamId,
    count: usize,
    noack: bool,
    history: bool,
    now: i64,
) -> Reply {
    let db = c.db;
    let mut created = false;
    let (reply, ids) = {
        let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) else {
            return Reply::Array(Vec::new());
        };
        let Some(g) = s.groups.get_mut(group) else {
            return Reply::Array(Vec::new());
        };
        let name = match g.see_consumer(consumer, now) {
            Some(name) => name,
            None => {
                created = true;
                g.create_consumer(consumer, now)
                    .unwrap_or_else(|| Arc::from(consumer))
            }
        };
        let ids = if history {
            s.deliver_history(group, consumer, start, count, now)
        } else {
            s.deliver_new(group, &name, start, count, noack, now)
        };
        let items: Vec<Reply> = ids
            .iter()
            .map(|&id| match s.get(id) {
                Some(f) => entry_reply(id, f),
                None => Reply::Array(vec![id_reply(id), Reply::NilArray]),
            })
            .collect();
        (Reply::Array(items), ids)
    };
    if created {
        changed(e, db, key, "xgroup-createconsumer", false, false);
    }
    if !ids.is_empty() && e.recording() {
        e.emit(Event::StreamDelivered {
            db,
            key: key.to_vec(),
            group: group.to_vec(),
            consumer: consumer.to_vec(),
            ids,
            history,
            noack,
        });
    }
    reply
}

/// The re-run of a blocked XREAD/XREADGROUP after one of its keys changed, answering as
/// Redis serves blocked stream clients: the first stream whose last ID passed the awaited one
/// is served alone, or the client keeps waiting.
fn serve_blocked(e: &mut Engine, c: &Call, args: &ReadArgs) -> Reply {
    let db = c.db;
    let count = if args.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        args.count
    };
    for (&key, &arg) in args.keys.iter().zip(args.ids) {
        let stream = match lookup_stream(e, db, key, Lookup::Write) {
            Ok(Some(s)) => Some(s),
            _ => None,
        };
        let Some(s) = stream else {
            // A group reader's stream was deleted or replaced: its group is gone with it.
            if args.group.is_some() {
                return Reply::error(error::XREADGROUP_KEY_GONE);
            }
            continue;
        };
        let reply = match args.group {
            None => {
                let Some((gt, _)) = parse_id_with(arg, 0, IdSyntax::Strict) else {
                    continue;
                };
                if s.last_id <= gt {
                    continue;
                }
                let start = gt.next().unwrap_or(StreamId::MIN);
                Reply::Array(
                    s.range(start, StreamId::MAX)
                        .take(count)
                        .map(|(id, f)| entry_reply(*id, f))
                        .collect(),
                )
            }
            Some((group, consumer)) => {
                let Some(g) = s.groups.get(group) else {
                    return Reply::error(error::XREADGROUP_GROUP_GONE);
                };
                if s.last_id <= g.last_id {
                    continue;
                }
                let start = g.last_id.next().unwrap_or(StreamId::MIN);
                group_read(
                    e, c, key, group, consumer, start, count, args.noack, false, c.now,
                )
            }
        };
        return streams_reply(e.protocol(c.client), vec![(key.to_vec(), reply)]);
    }
    let keys = args.keys.iter().map(|k| k.to_vec()).collect();
    e.block_on_keys(c.client, db, keys, None, c.argv, Reply::NilArray)
}

// ---------------------------------------------------------------------------------------------
// XGROUP, XSETID

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

fn xgroup_help(_e: &mut Engine, c: &Call) -> Reply {
    crate::cmd::server::help_reply(c.argv[0], XGROUP_HELP)
}

fn subcommand_syntax(c: &Call) -> Reply {
    Reply::error_owned(error::subcommand_syntax(c.argv[1], c.argv[0]))
}

fn xgroup(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let argc = argv.len();
    let sub = argv[1];
    let (db, key, name) = (c.db, argv[2], argv[3]);
    let create = opt(sub, "CREATE");
    let setid = opt(sub, "SETID");
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_UNKNOWN;
    let mut i = 5;
    while i < argc {
        if create && opt(argv[i], "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && opt(argv[i], "ENTRIESREAD") && i + 1 < argc {
            entries_read = tri!(int(argv[i + 1]));
            if entries_read < 0 && entries_read != ENTRIES_READ_UNKNOWN {
                return Reply::error(error::XGROUP_ENTRIES_READ);
            }
            i += 2;
        } else {
            return subcommand_syntax(c);
        }
    }
    let (exists, has_group, last_id) = match lookup_stream(e, db, key, Lookup::Write) {
        Err(r) => return r,
        Ok(None) => (false, false, StreamId::MIN),
        Ok(Some(s)) => (true, s.groups.contains_key(name), s.last_id),
    };
    if !mkstream {
        if !exists {
            return Reply::error(error::XGROUP_KEY_MISSING);
        }
        let needs_group = setid || opt(sub, "CREATECONSUMER") || opt(sub, "DELCONSUMER");
        if !has_group && needs_group {
            return Reply::error_owned(error::no_group_for_key(name, key));
        }
    }
    let now = c.now;
    if create && (5..=8).contains(&argc) {
        let id = if c_str(argv[4]) == b"$" {
            last_id
        } else {
            tri!(parse_id(argv[4], 0, IdSyntax::Strict))
        };
        if !exists {
            e.add_value(db, key, Value::Stream(Box::new(Stream::new())));
        }
        let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) else {
            return Reply::error(error::WRONGTYPE);
        };
        if s.groups.contains_key(name) {
            return Reply::error(error::BUSYGROUP);
        }
        s.groups.insert(name.to_vec(), Group::new(id, entries_read));
        // Creating the stream counts as a modification (WATCH) and a new key (blocked readers).
        changed(e, db, key, "xgroup-create", !exists, !exists);
        Reply::OK
    } else if setid && (argc == 5 || argc == 7) {
        let id = if c_str(argv[4]) == b"$" {
            last_id
        } else {
            tri!(parse_id(argv[4], 0, IdSyntax::Range))
        };
        if let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) {
            if let Some(g) = s.groups.get_mut(name) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
        }
        changed(e, db, key, "xgroup-setid", false, false);
        Reply::OK
    } else if opt(sub, "DESTROY") && argc == 4 {
        let removed = match lookup_stream(e, db, key, Lookup::NoTouch) {
            Ok(Some(s)) => s.groups.remove(name).is_some(),
            _ => false,
        };
        if !removed {
            return Reply::Integer(0);
        }
        // Clients blocked in XREADGROUP on this group must hear that it is gone.
        changed(e, db, key, "xgroup-destroy", false, true);
        Reply::Integer(1)
    } else if opt(sub, "CREATECONSUMER") && argc == 5 {
        let created = match lookup_stream(e, db, key, Lookup::NoTouch) {
            Ok(Some(s)) => s
                .groups
                .get_mut(name)
                .and_then(|g| g.create_consumer(argv[4], now))
                .is_some(),
            _ => false,
        };
        if created {
            changed(e, db, key, "xgroup-createconsumer", false, false);
        }
        Reply::Integer(created as i64)
    } else if opt(sub, "DELCONSUMER") && argc == 5 {
        let pending = match lookup_stream(e, db, key, Lookup::NoTouch) {
            Ok(Some(s)) => s
                .groups
                .get_mut(name)
                .and_then(|g| g.delete_consumer(argv[4])),
            _ => None,
        };
        if pending.is_some() {
            changed(e, db, key, "xgroup-delconsumer", false, false);
        }
        Reply::Integer(pending.unwrap_or(0) as i64)
    } else {
        subcommand_syntax(c)
    }
}

fn xsetid(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let id = tri!(parse_id(argv[2], 0, IdSyntax::Strict));
    let mut entries_added: i64 = -1;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if opt(argv[i], "ENTRIESADDED") && more > 0 {
            entries_added = tri!(int(argv[i + 1]));
            if entries_added < 0 {
                return Reply::error(error::XSETID_ENTRIES_ADDED_NEGATIVE);
            }
        } else if opt(argv[i], "MAXDELETEDID") && more > 0 {
            max_deleted = tri!(parse_id(argv[i + 1], 0, IdSyntax::Strict));
            if id < max_deleted {
                return Reply::error(error::XSETID_BELOW_MAX_DELETED);
            }
        } else {
            return Reply::error(error::SYNTAX);
        }
        i += 2;
    }
    let (db, key) = (c.db, argv[1]);
    let s = match lookup_stream(e, db, key, Lookup::Write) {
        Err(r) => return r,
        Ok(None) => return Reply::error(error::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if !s.is_empty() {
        if id < s.last_live_id() {
            return Reply::error(error::XSETID_BELOW_TOP);
        }
        if entries_added != -1 && s.len() as u64 > entries_added as u64 {
            return Reply::error(error::XSETID_ENTRIES_ADDED_BELOW_LENGTH);
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_id = max_deleted;
    }
    changed(e, db, key, "xsetid", false, false);
    Reply::OK
}

// ---------------------------------------------------------------------------------------------
// XACK, XPENDING, XCLAIM, XAUTOCLAIM

fn xack(e: &mut Engine, c: &Call) -> Reply {
    let (db, key, group) = (c.db, c.argv[1], c.argv[2]);
    match lookup_stream(e, db, key, Lookup::Read) {
        Err(r) => return r,
        Ok(Some(s)) if s.groups.contains_key(group) => {}
        Ok(_) => return Reply::Integer(0),
    }
    let mut ids = Vec::with_capacity(c.argv.len() - 3);
    for a in &c.argv[3..] {
        ids.push(tri!(parse_id(a, 0, IdSyntax::Strict)));
    }
    let mut acked = Vec::new();
    if let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) {
        if let Some(g) = s.groups.get_mut(group) {
            for id in ids {
                if g.remove_pending(id) {
                    acked.push(id);
                }
            }
        }
    }
    let n = acked.len() as i64;
    e.stats.dirty += acked.len() as u64;
    if !acked.is_empty() && e.recording() {
        e.emit(Event::StreamAcked {
            db,
            key: key.to_vec(),
            group: group.to_vec(),
            ids: acked,
        });
    }
    Reply::Integer(n)
}

fn xpending(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let argc = argv.len();
    let (key, group) = (argv[1], argv[2]);
    if argc != 3 && !(6..=9).contains(&argc) {
        return Reply::error(error::SYNTAX);
    }
    let mut min_idle: i64 = 0;
    let mut count: i64 = 0;
    let mut range = (StreamId::MIN, StreamId::MAX);
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut at = 3;
        if opt(argv[3], "IDLE") {
            min_idle = tri!(int(argv[4]));
            if argc < 8 {
                return Reply::error(error::SYNTAX);
            }
            at += 2;
        }
        count = tri!(int(argv[at + 2])).max(0);
        range.0 = tri!(range_start(argv[at]));
        range.1 = tri!(range_end(argv[at + 1]));
        if at + 3 < argc {
            consumer = Some(argv[at + 3]);
        }
    }
    let now = c.now;
    let s = match lookup_stream(e, c.db, key, Lookup::Read) {
        Err(r) => return r,
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get(group)) else {
        return Reply::error_owned(error::no_key_or_group(key, group));
    };
    if argc == 3 {
        let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value())
        else {
            return Reply::Array(vec![
                Reply::Integer(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]);
        };
        let consumers: Vec<Reply> = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pending.is_empty())
            .map(|(name, c)| {
                Reply::Array(vec![
                    Reply::Bulk(name.to_vec()),
                    Reply::Bulk(c.pending.len().to_string().into_bytes()),
                ])
            })
            .collect();
        return Reply::Array(vec![
            Reply::Integer(g.pel.len() as i64),
            id_reply(*first),
            id_reply(*last),
            Reply::Array(consumers),
        ]);
    }
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            None => return Reply::Array(Vec::new()),
            Some(cons) if range.0 <= range.1 => {
                cons.pending.range(range.0..=range.1).copied().collect()
            }
            Some(_) => Vec::new(),
        },
        None if range.0 <= range.1 => g.pel.range(range.0..=range.1).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = g.pel.get(&id) else {
            continue;
        };
        let idle = now.wrapping_sub(nack.delivery_time);
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        count -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::Bulk(nack.consumer.to_vec()),
            Reply::Integer(idle.max(0)),
            Reply::Integer(nack.delivery_count as i64),
        ]));
    }
    Reply::Array(out)
}

/// Entries claimed by XCLAIM/XAUTOCLAIM, as IDs (JUSTID) or whole entries.
fn claimed_reply(s: &Stream, ids: &[StreamId], justid: bool) -> Vec<Reply> {
    ids.iter()
        .map(|&id| match (justid, s.get(id)) {
            (false, Some(f)) => entry_reply(id, f),
            _ => id_reply(id),
        })
        .collect()
}

fn claim_events(
    e: &mut Engine,
    c: &Call,
    created: bool,
    ids: Vec<StreamId>,
    dropped: Vec<StreamId>,
) {
    let (db, key) = (c.db, c.argv[1]);
    if created {
        changed(e, db, key, "xgroup-createconsumer", false, false);
    }
    e.stats.dirty += (ids.len() + dropped.len()) as u64;
    if (!ids.is_empty() || !dropped.is_empty()) && e.recording() {
        e.emit(Event::StreamClaimed {
            db,
            key: key.to_vec(),
            group: c.argv[2].to_vec(),
            consumer: c.argv[3].to_vec(),
            ids,
            dropped,
        });
    }
}

fn xclaim(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let (db, key, group, consumer) = (c.db, argv[1], argv[2], argv[3]);
    match lookup_stream(e, db, key, Lookup::Read) {
        Err(r) => return r,
        Ok(Some(s)) if s.groups.contains_key(group) => {}
        Ok(_) => return Reply::error_owned(error::no_key_or_group(key, group)),
    }
    let min_idle = tri!(int_or(argv[4], error::XCLAIM_MIN_IDLE)).max(0);
    // IDs run until the first argument that is not one; options follow.
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_id_with(argv[j], 0, IdSyntax::Strict) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = c.now;
    let mut delivery_time: i64 = -1;
    let mut retry_count: i64 = -1;
    let (mut force, mut justid) = (false, false);
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = argv[j];
        if opt(a, "FORCE") {
            force = true;
        } else if opt(a, "JUSTID") {
            justid = true;
        } else if opt(a, "IDLE") && more > 0 {
            j += 1;
            delivery_time = now.wrapping_sub(tri!(int_or(argv[j], error::XCLAIM_IDLE)));
        } else if opt(a, "TIME") && more > 0 {
            j += 1;
            delivery_time = tri!(int_or(argv[j], error::XCLAIM_TIME));
        } else if opt(a, "RETRYCOUNT") && more > 0 {
            j += 1;
            retry_count = tri!(int_or(argv[j], error::XCLAIM_RETRYCOUNT));
        } else if opt(a, "LASTID") && more > 0 {
            j += 1;
            last_id = tri!(parse_id(argv[j], 0, IdSyntax::Strict));
        } else {
            return Reply::error_owned(error::xclaim_unrecognized(a));
        }
        j += 1;
    }
    // A delivery time in the future or before the epoch is taken as now.
    if delivery_time < 0 || delivery_time > now {
        delivery_time = now;
    }
    let opts = ClaimOptions {
        min_idle,
        delivery_time,
        retry_count: (retry_count >= 0).then_some(retry_count as u64),
        force,
        justid,
        last_id,
    };
    let (reply, claimed) = {
        let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) else {
            return Reply::Array(Vec::new());
        };
        let claimed = s.claim(group, consumer, &ids, &opts, now);
        (claimed_reply(s, &claimed.claimed, justid), claimed)
    };
    claim_events(e, c, claimed.created, claimed.claimed, claimed.dropped);
    Reply::Array(reply)
}

fn xautoclaim(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let (db, key, group, consumer) = (c.db, argv[1], argv[2], argv[3]);
    let min_idle = tri!(int_or(argv[4], error::XAUTOCLAIM_MIN_IDLE)).max(0);
    let start = tri!(range_start(argv[5]));
    // COUNT is capped so that COUNT times the ten attempts per entry, or times an ID's 16
    // bytes, cannot overflow.
    const MAX_COUNT: i64 = i64::MAX / 16;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if opt(argv[j], "COUNT") && more > 0 {
            count = match parse_i64(argv[j + 1]) {
                Some(n) if (1..=MAX_COUNT).contains(&n) => n,
                _ => return Reply::error(error::XAUTOCLAIM_COUNT),
            };
            j += 1;
        } else if opt(argv[j], "JUSTID") {
            justid = true;
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }
    match lookup_stream(e, db, key, Lookup::Read) {
        Err(r) => return r,
        Ok(Some(s)) if s.groups.contains_key(group) => {}
        Ok(_) => return Reply::error_owned(error::no_key_or_group(key, group)),
    }
    // Redis allocates room for COUNT deleted IDs up front; no allocator grants a terabyte.
    if count as u128 * 16 > 1u128 << 40 {
        return Reply::error(error::XAUTOCLAIM_COUNT_TOO_HIGH);
    }
    let now = c.now;
    let (reply, claimed) = {
        let Ok(Some(s)) = lookup_stream(e, db, key, Lookup::NoTouch) else {
            return Reply::Array(Vec::new());
        };
        let claimed = s.auto_claim(group, consumer, min_idle, start, count as u64, justid, now);
        let reply = Reply::Array(vec![
            id_reply(claimed.next),
            Reply::Array(claimed_reply(s, &claimed.claimed, justid)),
            Reply::Array(claimed.dropped.iter().map(|&id| id_reply(id)).collect()),
        ]);
        (reply, claimed)
    };
    claim_events(e, c, claimed.created, claimed.claimed, claimed.dropped);
    reply
}

// ---------------------------------------------------------------------------------------------
// XINFO

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn nullable(v: Option<i64>) -> Reply {
    v.map_or(Reply::Nil, Reply::Integer)
}

fn entries_read_reply(g: &Group) -> Reply {
    nullable((g.entries_read != ENTRIES_READ_UNKNOWN).then_some(g.entries_read))
}

fn xinfo(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let sub = argv[1];
    if opt(sub, "HELP") {
        if argv.len() != 2 {
            return subcommand_syntax(c);
        }
        return crate::cmd::server::help_reply(argv[0], XINFO_HELP);
    }
    if argv.len() < 3 {
        return subcommand_syntax(c);
    }
    let key = argv[2];
    let now = c.now;
    let s = match lookup_stream(e, c.db, key, Lookup::Read) {
        Err(r) => return r,
        Ok(None) => return Reply::error(error::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if opt(sub, "CONSUMERS") && argv.len() == 4 {
        let Some(g) = s.groups.get(argv[3]) else {
            return Reply::error_owned(error::no_group_for_key(argv[3], key));
        };
        Reply::Array(
            g.consumers
                .iter()
                .map(|(name, cons)| {
                    Reply::Map(vec![
                        (field("name"), Reply::Bulk(name.to_vec())),
                        (field("pending"), Reply::Integer(cons.pending.len() as i64)),
                        (
                            field("idle"),
                            Reply::Integer(now.wrapping_sub(cons.seen_time).max(0)),
                        ),
                    ])
                })
                .collect(),
        )
    } else if opt(sub, "GROUPS") && argv.len() == 3 {
        Reply::Array(
            s.groups
                .iter()
                .map(|(name, g)| {
                    Reply::Map(vec![
                        (field("name"), Reply::Bulk(name.clone())),
                        (field("consumers"), Reply::Integer(g.consumers.len() as i64)),
                        (field("pending"), Reply::Integer(g.pel.len() as i64)),
                        (field("last-delivered-id"), id_reply(g.last_id)),
                        (field("entries-read"), entries_read_reply(g)),
                        (field("lag"), nullable(s.lag(g))),
                    ])
                })
                .collect(),
        )
    } else if opt(sub, "STREAM") {
        stream_info(c, s)
    } else {
        subcommand_syntax(c)
    }
}

fn stream_info(c: &Call, s: &Stream) -> Reply {
    let options = &c.argv[3..];
    let mut count: i64 = 10;
    let full = !options.is_empty();
    if full {
        if options.len() != 1 && options.len() != 3 {
            return subcommand_syntax(c);
        }
        if !opt(options[0], "full") {
            return subcommand_syntax(c);
        }
        if options.len() == 3 {
            if !opt(options[1], "count") {
                return subcommand_syntax(c);
            }
            count = tri!(int(options[2]));
            if count < 0 {
                count = 10;
            }
        }
    }
    let mut map = vec![
        (field("length"), Reply::Integer(s.len() as i64)),
        (
            field("radix-tree-keys"),
            Reply::Integer(s.radix_tree_keys() as i64),
        ),
        (
            field("radix-tree-nodes"),
            Reply::Integer(s.radix_tree_nodes() as i64),
        ),
        (field("last-generated-id"), id_reply(s.last_id)),
        (field("max-deleted-entry-id"), id_reply(s.max_deleted_id)),
        (
            field("entries-added"),
            Reply::Integer(s.entries_added as i64),
        ),
        (field("recorded-first-entry-id"), id_reply(s.first_id)),
    ];
    if !full {
        let edge =
            |e: Option<(&StreamId, &Fields)>| e.map_or(Reply::Nil, |(id, f)| entry_reply(*id, f));
        map.push((field("groups"), Reply::Integer(s.groups.len() as i64)));
        map.push((
            field("first-entry"),
            edge(s.range(StreamId::MIN, StreamId::MAX).next()),
        ));
        map.push((
            field("last-entry"),
            edge(s.range(StreamId::MIN, StreamId::MAX).next_back()),
        ));
        return Reply::Map(map);
    }
    let take = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    map.push((
        field("entries"),
        Reply::Array(
            s.range(StreamId::MIN, StreamId::MAX)
                .take(take)
                .map(|(id, f)| entry_reply(*id, f))
                .collect(),
        ),
    ));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let pending = g
                .pel
                .iter()
                .take(take)
                .map(|(id, n)| {
                    Reply::Array(vec![
                        id_reply(*id),
                        Reply::Bulk(n.consumer.to_vec()),
                        Reply::Integer(n.delivery_time),
                        Reply::Integer(n.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|(cname, cons)| {
                    let pending = cons
                        .pending
                        .iter()
                        .take(take)
                        .filter_map(|id| g.pel.get(id).map(|n| (id, n)))
                        .map(|(id, n)| {
                            Reply::Array(vec![
                                id_reply(*id),
                                Reply::Integer(n.delivery_time),
                                Reply::Integer(n.delivery_count as i64),
                            ])
                        })
                        .collect();
                    Reply::Map(vec![
                        (field("name"), Reply::Bulk(cname.to_vec())),
                        (field("seen-time"), Reply::Integer(cons.seen_time)),
                        (
                            field("pel-count"),
                            Reply::Integer(cons.pending.len() as i64),
                        ),
                        (field("pending"), Reply::Array(pending)),
                    ])
                })
                .collect();
            Reply::Map(vec![
                (field("name"), Reply::Bulk(name.clone())),
                (field("last-delivered-id"), id_reply(g.last_id)),
                (field("entries-read"), entries_read_reply(g)),
                (field("lag"), nullable(s.lag(g))),
                (field("pel-count"), Reply::Integer(g.pel.len() as i64)),
                (field("pending"), Reply::Array(pending)),
                (field("consumers"), Reply::Array(consumers)),
            ])
        })
        .collect();
    map.push((field("groups"), Reply::Array(groups)));
    Reply::Map(map)
}

#[cfg(test)]
mod tests;
