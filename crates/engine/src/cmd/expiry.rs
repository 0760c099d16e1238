//! Time to live: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT, LT), TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME and PERSIST.
//!
//! Deadlines are absolute milliseconds on the engine's clock. A key is alive up to and including
//! its deadline (lazy expiry removes it only once now is past it), but setting a deadline that is
//! not in the future deletes the key at once, as Redis does.

use crate::args::int;
use crate::cmd::scan::is_word;
use crate::keyspace::Lookup;
use crate::table::CommandSpec;
use crate::{error, flags, tri, Call, Engine, Reply};

const fn expire_spec(
    name: &'static str,
    since: &'static str,
    summary: &'static str,
    syntax: &'static str,
    handler: crate::table::Handler,
) -> CommandSpec {
    CommandSpec::leaf(
        name,
        -3,
        flags!(WRITE, FAST),
        (1, 1, 1),
        "generic",
        since,
        summary,
        syntax,
        handler,
    )
}

const fn ttl_spec(
    name: &'static str,
    since: &'static str,
    summary: &'static str,
    handler: crate::table::Handler,
) -> CommandSpec {
    CommandSpec::leaf(
        name,
        2,
        flags!(READONLY, FAST),
        (1, 1, 1),
        "generic",
        since,
        summary,
        "key",
        handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    expire_spec(
        "expire",
        "1.0.0",
        "Sets a key's time to live in seconds from now.",
        "key seconds [NX | XX | GT | LT]",
        expire,
    ),
    expire_spec(
        "pexpire",
        "2.6.0",
        "Sets a key's time to live in milliseconds from now.",
        "key milliseconds [NX | XX | GT | LT]",
        pexpire,
    ),
    expire_spec(
        "expireat",
        "1.2.0",
        "Sets the Unix time, in seconds, at which a key expires.",
        "key unix-time-seconds [NX | XX | GT | LT]",
        expireat,
    ),
    expire_spec(
        "pexpireat",
        "2.6.0",
        "Sets the Unix time, in milliseconds, at which a key expires.",
        "key unix-time-milliseconds [NX | XX | GT | LT]",
        pexpireat,
    ),
    ttl_spec(
        "ttl",
        "1.0.0",
        "Returns a key's remaining time to live in seconds, rounded.",
        ttl,
    ),
    ttl_spec(
        "pttl",
        "2.6.0",
        "Returns a key's remaining time to live in milliseconds.",
        pttl,
    ),
    ttl_spec(
        "expiretime",
        "7.0.0",
        "Returns the Unix time in seconds at which a key expires.",
        expiretime,
    ),
    ttl_spec(
        "pexpiretime",
        "7.0.0",
        "Returns the Unix time in milliseconds at which a key expires.",
        pexpiretime,
    ),
    CommandSpec {
        name: "persist",
        arity: 2,
        flags: flags!(WRITE, FAST),
        keys: (1, 1, 1),
        group: "generic",
        since: "2.2.0",
        summary: "Removes a key's time to live, making it persistent.",
        syntax: "key",
        handler: persist,
        subcommands: &[],
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// The NX / XX / GT / LT conditions of the EXPIRE family.
#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Conditions {
    fn any(&self) -> bool {
        self.nx || self.xx || self.gt || self.lt
    }
}

/// Reads the flags after the time argument; a repeated flag is allowed, an unknown one is
/// reported at once, incompatible ones after all were read.
fn parse_conditions(argv: &[&[u8]]) -> Result<Conditions, Reply> {
    let mut f = Conditions::default();
    for &opt in argv.iter().skip(3) {
        if is_word(opt, "nx") {
            f.nx = true;
        } else if is_word(opt, "xx") {
            f.xx = true;
        } else if is_word(opt, "gt") {
            f.gt = true;
        } else if is_word(opt, "lt") {
            f.lt = true;
        } else {
            return Err(Reply::error_owned(error::unsupported_option(opt)));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(Reply::error(error::NX_XX_GT_LT));
    }
    if f.gt && f.lt {
        return Err(Reply::error(error::GT_LT));
    }
    Ok(f)
}

fn expire(e: &mut Engine, c: &Call) -> Reply {
    expire_generic(e, c, c.now, Unit::Seconds)
}

fn pexpire(e: &mut Engine, c: &Call) -> Reply {
    expire_generic(e, c, c.now, Unit::Millis)
}

fn expireat(e: &mut Engine, c: &Call) -> Reply {
    expire_generic(e, c, 0, Unit::Seconds)
}

fn pexpireat(e: &mut Engine, c: &Call) -> Reply {
    expire_generic(e, c, 0, Unit::Millis)
}

/// `basetime` is now for the relative commands and 0 for the absolute ones.
fn expire_generic(e: &mut Engine, c: &Call, basetime: i64, unit: Unit) -> Reply {
    let key = c.argv[1];
    let cond = tri!(parse_conditions(c.argv));
    let mut when = tri!(int(c.argv[2]));
    let invalid = || Reply::error_owned(error::invalid_expire(c.spec.name));
    // Negative times are allowed (they delete the key); only overflow is an error.
    if unit == Unit::Seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return invalid();
        }
        when *= 1000;
    }
    if when > i64::MAX - basetime {
        return invalid();
    }
    when += basetime;

    if e.write(c.db, key).is_none() {
        return Reply::Integer(0);
    }
    if cond.any() {
        let current = e.dbs[c.db].expire_of(key);
        if cond.nx && current.is_some() {
            return Reply::Integer(0);
        }
        if cond.xx && current.is_none() {
            return Reply::Integer(0);
        }
        // No TTL counts as an infinite one: nothing is greater, anything is less.
        if cond.gt && current.is_none_or(|cur| when <= cur) {
            return Reply::Integer(0);
        }
        if cond.lt && current.is_some_and(|cur| when >= cur) {
            return Reply::Integer(0);
        }
    }
    if when <= c.now {
        e.dbs[c.db].remove(key);
        e.notify(c.db, key, "del");
    } else {
        e.dbs[c.db].set_expire(key, when);
        e.notify(c.db, key, "expire");
    }
    Reply::Integer(1)
}

#[derive(Clone, Copy)]
enum TtlForm {
    /// Remaining time.
    Relative,
    /// The deadline itself.
    Absolute,
}

fn ttl(e: &mut Engine, c: &Call) -> Reply {
    ttl_generic(e, c, Unit::Seconds, TtlForm::Relative)
}

fn pttl(e: &mut Engine, c: &Call) -> Reply {
    ttl_generic(e, c, Unit::Millis, TtlForm::Relative)
}

fn expiretime(e: &mut Engine, c: &Call) -> Reply {
    ttl_generic(e, c, Unit::Seconds, TtlForm::Absolute)
}

fn pexpiretime(e: &mut Engine, c: &Call) -> Reply {
    ttl_generic(e, c, Unit::Millis, TtlForm::Absolute)
}

/// -2 for a missing key, -1 for a persistent one; seconds are rounded to the nearest (half up),
/// for the deadline as for the remaining time.
fn ttl_generic(e: &mut Engine, c: &Call, unit: Unit, form: TtlForm) -> Reply {
    let Some(entry) = e.lookup(c.db, c.argv[1], Lookup::ReadNoTouch) else {
        return Reply::Integer(-2);
    };
    let Some(at) = entry.expire_at() else {
        return Reply::Integer(-1);
    };
    let ms = match form {
        TtlForm::Relative => at - c.now,
        TtlForm::Absolute => at,
    }
    .max(0);
    Reply::Integer(match unit {
        Unit::Millis => ms,
        // `ms` is not negative here, and Redis's compiled division then behaves as unsigned: a
        // deadline near i64::MAX still rounds up instead of wrapping.
        Unit::Seconds => ((ms as u64 + 500) / 1000) as i64,
    })
}

fn persist(e: &mut Engine, c: &Call) -> Reply {
    let key = c.argv[1];
    if e.write(c.db, key).is_none() || !e.dbs[c.db].remove_expire(key) {
        return Reply::Integer(0);
    }
    e.notify(c.db, key, "persist");
    Reply::Integer(1)
}
