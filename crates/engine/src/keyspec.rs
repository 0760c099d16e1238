//! Which arguments of a command are keys, and how the command uses each one. `COMMAND GETKEYS`,
//! `COMMAND GETKEYSANDFLAGS` and Redis Cluster's routing all ask this same question, as they do
//! in Redis (`getKeysFromCommand`).
//!
//! Most commands name their keys at fixed places, which the command table's (first, last, step)
//! triple describes. The others ("movable keys") say where their keys are in their arguments:
//! a count before the keys (ZUNION, EVAL, LMPOP...), a keyword (GEORADIUS ... STORE, XREAD ...
//! STREAMS), or options that have to be walked (SORT ... STORE, MIGRATE ... KEYS).
//!
//! Redis 7.0 answers in two stages, and the answers differ at the edges, so both are kept here.
//! First it reads the command's *key specs*: a begin-search (an index, or a keyword searched
//! for from some position) and a find-keys (a range, or a count of keys). A spec that cannot be
//! applied (the count is not a number, the range runs past the arguments, or the spec is
//! declared incomplete) makes it fall back to the command's own *getkeys procedure*, which
//! reads the count with C's `atoi`, gives no flags, and gives no keys at all where the command
//! will answer a syntax error. So `XREAD STREAMS a b 0` has key `a` (the spec's range rounds
//! down), while `EVAL s 3 a b` has none (the spec runs past the end, and the procedure refuses
//! a count larger than what follows).

use crate::numfmt::{atoi, parse_i64};
use crate::table::CommandSpec;

/// How a command uses a key, as `COMMAND GETKEYSANDFLAGS` lists it (in Redis's order).
pub type KeyFlags = &'static [&'static str];

const RO_ACCESS: KeyFlags = &["RO", "access"];
const OW_UPDATE: KeyFlags = &["OW", "update"];
const RW_ACCESS_UPDATE: KeyFlags = &["RW", "access", "update"];
const RW_ACCESS_DELETE: KeyFlags = &["RW", "access", "delete"];
/// What a getkeys procedure that does not set flags reports.
const NO_FLAGS: KeyFlags = &[];

/// One key argument: its position in the command's arguments, and how it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    /// `None` for a command described by the table's triple: its flags are the command's.
    pub flags: Option<KeyFlags>,
}

/// Where a counted command's keys are: the count's position, the flags of the counted keys,
/// and a destination key at a fixed position before them (ZUNIONSTORE's).
struct Counted {
    count_at: usize,
    flags: KeyFlags,
    store: Option<usize>,
}

fn counted(name: &str) -> Option<Counted> {
    let c = |count_at, flags, store| {
        Some(Counted {
            count_at,
            flags,
            store,
        })
    };
    match name {
        "eval" | "evalsha" | "fcall" => c(2, RW_ACCESS_UPDATE, None),
        "eval_ro" | "evalsha_ro" | "fcall_ro" => c(2, RO_ACCESS, None),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" => c(1, RO_ACCESS, None),
        "lmpop" | "zmpop" => c(1, RW_ACCESS_DELETE, None),
        "blmpop" | "bzmpop" => c(2, RW_ACCESS_DELETE, None),
        "zunionstore" | "zinterstore" | "zdiffstore" => c(2, RO_ACCESS, Some(1)),
        _ => None,
    }
}

/// Commands that may run without any key (`NO_MANDATORY_KEYS`): finding none is no error.
pub fn keys_optional(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// Whether the command has key arguments at all, as `COMMAND GETKEYS` decides.
pub fn has_keys(spec: &CommandSpec) -> bool {
    spec.keys.0 > 0 || is_movable(spec.name)
}

fn is_movable(name: &str) -> bool {
    counted(name).is_some()
        || matches!(
            name,
            "sort"
                | "sort_ro"
                | "georadius"
                | "georadiusbymember"
                | "xread"
                | "xreadgroup"
                | "migrate"
        )
}

/// The sharded pub/sub commands' channels: not keys to COMMAND GETKEYS, but Redis Cluster
/// routes them by slot as it routes keys.
fn shard_channels(name: &str, argc: usize) -> Option<Vec<usize>> {
    match name {
        "ssubscribe" | "sunsubscribe" => Some((1..argc).collect()),
        "spublish" => Some(vec![1]),
        _ => None,
    }
}

/// Whether Redis Cluster has to look for keys (or shard channels) in this command.
pub fn may_route_by_key(spec: &CommandSpec) -> bool {
    has_keys(spec) || shard_channels(spec.name, 0).is_some()
}

/// The positions Redis Cluster routes by: a sharded command's channels, or the keys as Redis's
/// `getKeysFromCommand` finds them. That function asks a movable-key command's own procedure
/// straight away, never its key specs (COMMAND GETKEYS tries the specs first), so the two can
/// differ: `MIGRATE h p "" 0 100 KEYS` names no key to the router but key `""` to GETKEYS.
pub fn routing_positions(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<usize> {
    if let Some(channels) = shard_channels(spec.name, argv.len()) {
        return channels;
    }
    procedure_keys(spec, argv)
        .unwrap_or_else(|| find_keys(spec, argv))
        .into_iter()
        .map(|k| k.pos)
        .collect()
}

/// The keys a movable-key command's own getkeys procedure finds; None for other commands.
fn procedure_keys(spec: &CommandSpec, argv: &[&[u8]]) -> Option<Vec<KeyRef>> {
    if let Some(c) = counted(spec.name) {
        return Some(
            by_count_procedure(argv, &c)
                .into_iter()
                .map(|(pos, flags)| KeyRef {
                    pos,
                    flags: Some(flags),
                })
                .collect(),
        );
    }
    Some(match spec.name {
        "sort" => sort_keys(argv),
        "sort_ro" => vec![KeyRef {
            pos: 1,
            flags: Some(RO_ACCESS),
        }],
        "georadius" | "georadiusbymember" => georadius_procedure(argv),
        "xread" | "xreadgroup" => xread_procedure(argv),
        "migrate" => migrate_procedure(argv),
        _ => return None,
    })
}

/// The command's key arguments, in the order Redis lists them.
pub fn find_keys(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<KeyRef> {
    let argc = argv.len();
    let at = |pos: usize, flags: KeyFlags| KeyRef {
        pos,
        flags: Some(flags),
    };
    if let Some(c) = counted(spec.name) {
        return by_count_spec(argv, &c)
            .unwrap_or_else(|| by_count_procedure(argv, &c))
            .into_iter()
            .map(|(pos, flags)| at(pos, flags))
            .collect();
    }
    match spec.name {
        "sort" => sort_keys(argv),
        "sort_ro" => vec![at(1, RO_ACCESS)],
        "georadius" | "georadiusbymember" => {
            let startfrom = if spec.name == "georadius" { 6 } else { 5 };
            let mut keys = vec![at(1, RO_ACCESS)];
            for keyword in ["store", "storedist"] {
                match keyword_spec(argv, keyword, startfrom) {
                    Some(first) if first < argc => keys.push(at(first, OW_UPDATE)),
                    Some(_) => return georadius_procedure(argv),
                    None => {}
                }
            }
            keys
        }
        "xread" | "xreadgroup" => {
            let startfrom = if spec.name == "xread" { 1 } else { 4 };
            let Some(first) = keyword_spec(argv, "streams", startfrom) else {
                return Vec::new();
            };
            // A range to the end, of which every other argument is a key (the IDs follow).
            let last = first as i64 + ((argc - first) / 2) as i64 - 1;
            if last < first as i64 || first >= argc {
                return xread_procedure(argv);
            }
            (first..=last as usize).map(|p| at(p, RO_ACCESS)).collect()
        }
        "migrate" => {
            // The KEYS spec is declared incomplete: finding the keyword always means the
            // procedure decides.
            if keyword_spec_backwards(argv, "keys").is_some() {
                migrate_procedure(argv)
            } else {
                vec![at(3, RW_ACCESS_DELETE)]
            }
        }
        _ => spec
            .key_positions(argc)
            .into_iter()
            .map(|pos| KeyRef { pos, flags: None })
            .collect(),
    }
}

/// A count spec: the count must be a strict integer, and the keys must all be there.
fn by_count_spec(argv: &[&[u8]], c: &Counted) -> Option<Vec<(usize, KeyFlags)>> {
    let n = parse_i64(argv.get(c.count_at)?)?;
    let first = c.count_at + 1;
    let last = first as i64 + n - 1;
    if n < 0 || last >= argv.len() as i64 || last < first as i64 || first >= argv.len() {
        return None;
    }
    let mut keys: Vec<(usize, KeyFlags)> = c.store.map(|s| (s, OW_UPDATE)).into_iter().collect();
    keys.extend((first..=last as usize).map(|p| (p, c.flags)));
    Some(keys)
}

/// Redis's `genericGetKeys`: the count read by `atoi`; no keys when it is below one or more
/// than what follows; the destination after the sources; no flags.
fn by_count_procedure(argv: &[&[u8]], c: &Counted) -> Vec<(usize, KeyFlags)> {
    let Some(count) = argv.get(c.count_at).map(|a| i64::from(atoi(a))) else {
        return Vec::new();
    };
    let first = c.count_at + 1;
    if count < 1 || count > argv.len().saturating_sub(first) as i64 {
        return Vec::new();
    }
    let mut keys: Vec<(usize, KeyFlags)> = (first..first + count as usize)
        .map(|p| (p, NO_FLAGS))
        .collect();
    keys.extend(c.store.map(|s| (s, NO_FLAGS)));
    keys
}

/// A keyword begin-search from `startfrom` forwards: the position after the first match.
/// Redis stops one short of the last argument, so a keyword there is not found.
fn keyword_spec(argv: &[&[u8]], keyword: &str, startfrom: usize) -> Option<usize> {
    (startfrom..argv.len().saturating_sub(1))
        .find(|&i| argv[i].eq_ignore_ascii_case(keyword.as_bytes()))
        .map(|i| i + 1)
}

/// A keyword begin-search backwards from the next-to-last argument, down to argument 2.
fn keyword_spec_backwards(argv: &[&[u8]], keyword: &str) -> Option<usize> {
    (2..argv.len().saturating_sub(1))
        .rev()
        .find(|&i| argv[i].eq_ignore_ascii_case(keyword.as_bytes()))
        .map(|i| i + 1)
}

/// SORT's procedure: the sorted key, and the last STORE's destination. Options are assumed to
/// take no argument except LIMIT (two), GET and BY (one), as Redis assumes.
fn sort_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut keys = vec![KeyRef {
        pos: 1,
        flags: Some(RO_ACCESS),
    }];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            // The destination is looked at again as an option name next, as Redis does.
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store.map(|pos| KeyRef {
        pos,
        flags: Some(OW_UPDATE),
    }));
    keys
}

/// GEORADIUS's procedure: the key, and the last STORE or STOREDIST destination; no flags.
fn georadius_procedure(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut stored = None;
    let mut i = 5;
    while i < argv.len() {
        let a = argv[i];
        if (a.eq_ignore_ascii_case(b"store") || a.eq_ignore_ascii_case(b"storedist"))
            && i + 1 < argv.len()
        {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    std::iter::once(1)
        .chain(stored)
        .map(|pos| KeyRef {
            pos,
            flags: Some(NO_FLAGS),
        })
        .collect()
}

/// XREAD's procedure: options up to STREAMS, then as many keys as IDs; none on a syntax error.
fn xread_procedure(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut i = 1;
    let mut streams = None;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"block") || a.eq_ignore_ascii_case(b"count") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"group") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"noack") {
        } else if a.eq_ignore_ascii_case(b"streams") {
            streams = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(s) = streams else {
        return Vec::new();
    };
    let n = argv.len() - s - 1;
    if n == 0 || n % 2 != 0 {
        return Vec::new();
    }
    (s + 1..s + 1 + n / 2)
        .map(|pos| KeyRef {
            pos,
            flags: Some(NO_FLAGS),
        })
        .collect()
}

/// MIGRATE's procedure: argument 3, or with the KEYS option (and an empty key argument) every
/// argument after KEYS.
fn migrate_procedure(argv: &[&[u8]]) -> Vec<KeyRef> {
    let at = |pos| KeyRef {
        pos,
        flags: Some(RW_ACCESS_DELETE),
    };
    let mut i = 6;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"keys") {
            return if argv[3].is_empty() {
                (i + 1..argv.len()).map(at).collect()
            } else {
                Vec::new()
            };
        }
        if a.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        }
        i += 1;
    }
    vec![at(3)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table;

    fn keys(line: &str) -> Vec<String> {
        let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let spec = table::lookup(&argv).expect("a command");
        find_keys(spec, &argv)
            .into_iter()
            .map(|k| String::from_utf8_lossy(argv[k.pos]).into_owned())
            .collect()
    }

    #[test]
    fn counted_keys_follow_the_spec_then_the_procedure() {
        assert_eq!(keys("eval s 2 a b c"), ["a", "b"]);
        assert!(keys("eval s 3 a b").is_empty());
        assert!(keys("eval s 0").is_empty());
        // `2x` is no integer for the spec, but atoi reads 2.
        assert_eq!(keys("zunion 2x a b"), ["a", "b"]);
        assert_eq!(keys("zunionstore d 2 a b WEIGHTS 1 2"), ["d", "a", "b"]);
        assert_eq!(keys("blmpop 0 2 a b LEFT"), ["a", "b"]);
    }

    #[test]
    fn keyword_and_walked_keys() {
        assert_eq!(keys("sort k BY w STORE d LIMIT 0 1"), ["k", "d"]);
        assert_eq!(keys("sort k STORE a STORE b"), ["k", "b"]);
        assert_eq!(keys("georadius k 0 0 1 km STORE d"), ["k", "d"]);
        assert_eq!(keys("georadius k 0 0 1 km STORE"), ["k"]);
        assert_eq!(keys("xread COUNT 2 STREAMS a b 0 0"), ["a", "b"]);
        assert_eq!(keys("xread STREAMS a b 0"), ["a"]);
        assert!(keys("xread COUNT 2").is_empty());
        assert_eq!(keys("xreadgroup GROUP g c STREAMS s >"), ["s"]);
        assert_eq!(keys("migrate h 1 k 0 10"), ["k"]);
        assert_eq!(keys("migrate h 1  0 10 KEYS a b"), ["a", "b"]);
        assert_eq!(keys("mset a 1 b 2"), ["a", "b"]);
    }

    #[test]
    fn the_router_asks_the_procedure_first() {
        let route = |line: &str| {
            let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            let spec = table::lookup(&argv).expect("a command");
            routing_positions(spec, &argv)
        };
        // KEYS at the very end: the spec finds key 3, the procedure none.
        assert_eq!(route("migrate h 1  0 100 KEYS"), Vec::<usize>::new());
        assert_eq!(keys("migrate h 1  0 100 KEYS"), [""]);
        // An odd count of stream arguments: the spec rounds down, the procedure refuses.
        assert!(route("xread STREAMS a b 0").is_empty());
        assert_eq!(route("zunionstore d 2 a b"), [3, 4, 1]);
        assert_eq!(route("spublish ch m"), [1]);
    }
}
