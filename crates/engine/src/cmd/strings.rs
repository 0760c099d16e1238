//! String and counter commands.

use crate::args::{int, is};
use crate::object::{RString, Value};
use crate::table::CommandSpec;
use crate::{error, flags, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: 2,
        flags: flags!(READONLY, FAST),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Returns the string value of a key, or nil when the key does not exist.",
        syntax: "key",
        handler: get,
        subcommands: &[],
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "string",
        since: "1.0.0",
        summary: "Sets the string value of a key, optionally with a time to live or a condition.",
        syntax: "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
        handler: set,
        subcommands: &[],
    },
];

fn get(e: &mut Engine, c: &Call) -> Reply {
    match read_string(e, c.db, c.argv[1]) {
        Ok(v) => Reply::bulk_opt(v),
        Err(err) => err,
    }
}

/// Options of SET (and, for the expiry part, GETEX), parsed exactly as Redis's
/// `parseExtendedStringArgumentsOrReply` does: conflicting options are a syntax error, but
/// repeating the same one is allowed and the last value wins.
#[derive(Default)]
pub(crate) struct SetOptions<'a> {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keep_ttl: bool,
    pub persist: bool,
    pub expire: Option<(ExpireUnit, &'a [u8])>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireUnit {
    fn is(self, other: Option<(ExpireUnit, &[u8])>) -> bool {
        other.is_some_and(|(u, _)| u == self)
    }
}

/// `for_get` selects GETEX's option set (PERSIST allowed; NX, XX, GET, KEEPTTL not).
pub(crate) fn parse_set_options<'a>(
    argv: &'a [&'a [u8]],
    start: usize,
    for_get: bool,
) -> Result<SetOptions<'a>, Reply> {
    let mut o = SetOptions::default();
    let mut j = start;
    while j < argv.len() {
        let opt = argv[j];
        let next = argv.get(j + 1).copied();
        let has_other_expire = |o: &SetOptions, mine: ExpireUnit| {
            [
                ExpireUnit::Ex,
                ExpireUnit::Px,
                ExpireUnit::ExAt,
                ExpireUnit::PxAt,
            ]
            .iter()
            .any(|u| *u != mine && u.is(o.expire))
        };
        let unit = match opt.to_ascii_uppercase().as_slice() {
            b"EX" => Some(ExpireUnit::Ex),
            b"PX" => Some(ExpireUnit::Px),
            b"EXAT" => Some(ExpireUnit::ExAt),
            b"PXAT" => Some(ExpireUnit::PxAt),
            _ => None,
        };
        if !for_get && is(opt, "NX") && !o.xx {
            o.nx = true;
        } else if !for_get && is(opt, "XX") && !o.nx {
            o.xx = true;
        } else if !for_get && is(opt, "GET") {
            o.get = true;
        } else if !for_get && is(opt, "KEEPTTL") && !o.persist && o.expire.is_none() {
            o.keep_ttl = true;
        } else if for_get && is(opt, "PERSIST") && o.expire.is_none() && !o.keep_ttl {
            o.persist = true;
        } else if let (Some(u), Some(n)) = (unit, next) {
            if o.keep_ttl || o.persist || has_other_expire(&o, u) {
                return Err(Reply::error(error::SYNTAX));
            }
            o.expire = Some((u, n));
            j += 1;
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute deadline in milliseconds.
pub(crate) fn expire_deadline(
    unit: ExpireUnit,
    arg: &[u8],
    now: i64,
    cmd: &str,
) -> Result<i64, Reply> {
    let mut ms = int(arg)?;
    let seconds = matches!(unit, ExpireUnit::Ex | ExpireUnit::ExAt);
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(Reply::error_owned(error::invalid_expire(cmd)));
    }
    if seconds {
        ms *= 1000;
    }
    if matches!(unit, ExpireUnit::Ex | ExpireUnit::Px) {
        // Redis adds in signed 64-bit arithmetic and then checks for a non-positive result.
        ms = ms.wrapping_add(now);
    }
    if ms <= 0 {
        return Err(Reply::error_owned(error::invalid_expire(cmd)));
    }
    Ok(ms)
}

/// The string under `key` for a read: Ok(None) when missing, Err(WRONGTYPE) when not a string.
pub(crate) fn read_string(e: &mut Engine, db: usize, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    match e.read(db, key) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::Str(s) => Ok(Some(s.to_bytes())),
            #[allow(unreachable_patterns)]
            _ => Err(Reply::error(error::WRONGTYPE)),
        },
    }
}

fn set(e: &mut Engine, c: &Call) -> Reply {
    let o = tri!(parse_set_options(c.argv, 3, false));
    let deadline = match o.expire {
        Some((unit, arg)) => Some(tri!(expire_deadline(unit, arg, c.now, "set"))),
        None => None,
    };
    let old = if o.get {
        Some(tri!(read_string(e, c.db, c.argv[1])))
    } else {
        None
    };
    let found = e.write(c.db, c.argv[1]).is_some();
    if (o.nx && found) || (o.xx && !found) {
        return match old {
            Some(old) => Reply::bulk_opt(old),
            None => Reply::Nil,
        };
    }
    e.set_value(
        c.db,
        c.argv[1],
        Value::Str(RString::from_bytes(c.argv[2])),
        o.keep_ttl,
    );
    e.notify(c.db, c.argv[1], "set");
    if let Some(at) = deadline {
        e.dbs[c.db].set_expire(c.argv[1], at);
        e.notify(c.db, c.argv[1], "expire");
    }
    match old {
        Some(old) => Reply::bulk_opt(old),
        None => Reply::OK,
    }
}
