//! The declarative command table.
//!
//! One `CommandSpec` per command (and per subcommand of a container such as CONFIG or CLIENT)
//! says everything the rest of the engine needs to know about it: its name, its arity in Redis's
//! convention (positive: exactly that many words counting the name; negative: at least that
//! many), its flags, where its keys are, its group, a one-line summary and its syntax. Dispatch,
//! arity errors, COMMAND COUNT/INFO/DOCS and the console's hints all read from here, so a command
//! is declared once. Each command family declares its own slice next to its handlers.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::{error, Call, Engine, Reply};

pub type Handler = fn(&mut Engine, &Call) -> Reply;

/// Command flags, as Redis 7.0 names them in COMMAND INFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(pub u32);

impl Flags {
    pub const NONE: Flags = Flags(0);
    pub const WRITE: Flags = Flags(1);
    pub const READONLY: Flags = Flags(1 << 1);
    pub const DENYOOM: Flags = Flags(1 << 2);
    pub const ADMIN: Flags = Flags(1 << 3);
    pub const PUBSUB: Flags = Flags(1 << 4);
    pub const NOSCRIPT: Flags = Flags(1 << 5);
    pub const BLOCKING: Flags = Flags(1 << 6);
    pub const LOADING: Flags = Flags(1 << 7);
    pub const STALE: Flags = Flags(1 << 8);
    pub const FAST: Flags = Flags(1 << 9);
    pub const NO_AUTH: Flags = Flags(1 << 10);
    pub const NO_MULTI: Flags = Flags(1 << 11);
    pub const ALLOW_BUSY: Flags = Flags(1 << 12);
    pub const SKIP_SLOWLOG: Flags = Flags(1 << 13);

    const NAMES: [(Flags, &'static str); 14] = [
        (Flags::WRITE, "write"),
        (Flags::READONLY, "readonly"),
        (Flags::DENYOOM, "denyoom"),
        (Flags::ADMIN, "admin"),
        (Flags::PUBSUB, "pubsub"),
        (Flags::NOSCRIPT, "noscript"),
        (Flags::BLOCKING, "blocking"),
        (Flags::LOADING, "loading"),
        (Flags::STALE, "stale"),
        (Flags::SKIP_SLOWLOG, "skip_slowlog"),
        (Flags::FAST, "fast"),
        (Flags::NO_AUTH, "no_auth"),
        (Flags::NO_MULTI, "no_multi"),
        (Flags::ALLOW_BUSY, "allow_busy"),
    ];

    pub const fn or(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn has(self, f: Flags) -> bool {
        self.0 & f.0 == f.0 && f.0 != 0
    }

    pub fn names(self) -> Vec<&'static str> {
        Flags::NAMES
            .iter()
            .filter(|(f, _)| self.has(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Shorthand for building flag sets in the tables: `flags!(WRITE, DENYOOM, FAST)`.
#[macro_export]
macro_rules! flags {
    () => { $crate::table::Flags::NONE };
    ($($f:ident),+ $(,)?) => { $crate::table::Flags(0 $(| $crate::table::Flags::$f.0)+) };
}

pub struct CommandSpec {
    /// Lower-case full name: `get`, or `config|get` for a subcommand.
    pub name: &'static str,
    pub arity: i32,
    pub flags: Flags,
    /// First key position, last key position (negative counts from the end), step; 0,0,0 when
    /// the command takes no keys.
    pub keys: (i32, i32, i32),
    /// The group COMMAND DOCS reports: `string`, `generic`, `connection`, `server`...
    pub group: &'static str,
    /// The Redis version that introduced the command.
    pub since: &'static str,
    pub summary: &'static str,
    /// The arguments after the name, in the notation of the Redis docs.
    pub syntax: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A command without subcommands. The families' own short constructors (a group's keys,
    /// group and version fixed) are built on it.
    #[allow(clippy::too_many_arguments)]
    pub const fn leaf(
        name: &'static str,
        arity: i32,
        flags: Flags,
        keys: (i32, i32, i32),
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        syntax: &'static str,
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            group,
            since,
            summary,
            syntax,
            handler,
            subcommands: &[],
        }
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The name as a user types it: `CONFIG GET` for `config|get`.
    pub fn display_name(&self) -> String {
        self.name.replace('|', " ").to_ascii_uppercase()
    }

    /// The positions in `argv` that hold keys, according to the (first, last, step) triple.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        let (first, last, step) = self.keys;
        if first <= 0 || step <= 0 {
            return Vec::new();
        }
        let last = if last < 0 { argc as i32 + last } else { last };
        (first..=last.min(argc as i32 - 1))
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }
}

/// Placeholder handler for container commands: never called, because lookup descends into the
/// subcommands whenever the container has an argument, and arity stops it otherwise.
pub fn container(_: &mut Engine, _: &Call) -> Reply {
    Reply::error("ERR missing subcommand")
}

/// Command names are few, short and not chosen by an attacker who could flood one bucket, so
/// the name index uses the engine's own fast hash instead of SipHash (it is looked up on every
/// command).
#[derive(Default)]
struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = crate::dict::hash_bytes(self.0, bytes);
    }
}

type NameMap =
    HashMap<&'static str, &'static CommandSpec, std::hash::BuildHasherDefault<NameHasher>>;

/// Names of up to 16 bytes (all but a few) as one number, in an open-addressed table of their
/// own: looking one up multiplies once and compares a number or two, where a string-keyed map
/// would hash the bytes, then compare them (this runs for every command).
struct ShortNames {
    slots: Vec<(u128, Option<&'static CommandSpec>)>,
    mask: usize,
}

impl ShortNames {
    fn new(count: usize) -> ShortNames {
        // At most a quarter full, so that a probe rarely goes past its first slot.
        let size = (count * 4).next_power_of_two().max(16);
        ShortNames {
            slots: vec![(0, None); size],
            mask: size - 1,
        }
    }

    fn home(&self, key: u128) -> usize {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let h = ((key as u64) ^ ((key >> 64) as u64).rotate_left(29)).wrapping_mul(K);
        (h >> 40) as usize & self.mask
    }

    fn insert(&mut self, key: u128, spec: &'static CommandSpec) {
        let mut i = self.home(key);
        while let (k, Some(_)) = self.slots[i] {
            if k == key {
                break;
            }
            i = (i + 1) & self.mask;
        }
        self.slots[i] = (key, Some(spec));
    }

    fn get(&self, key: u128) -> Option<&'static CommandSpec> {
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                (_, None) => return None,
                (k, Some(spec)) if k == key => return Some(spec),
                _ => i = (i + 1) & self.mask,
            }
        }
    }
}

/// `name` lower-cased and packed as `ShortNames` keys it, if it is short enough. Zeros pad it,
/// so a name with a NUL byte packs like a shorter one: `get` checks the length of what it finds.
fn short_name(name: &[u8]) -> Option<u128> {
    let mut buf = [0u8; 16];
    buf.get_mut(..name.len())?.copy_from_slice(name);
    let lo = u64::from_le_bytes(buf[..8].try_into().ok()?);
    let hi = u64::from_le_bytes(buf[8..].try_into().ok()?);
    Some(u128::from(lower8(lo)) | (u128::from(lower8(hi)) << 64))
}

/// ASCII lower case of the eight bytes of `x` at once (bytes that are not A-Z are kept).
fn lower8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    let low7 = x & !HIGH;
    // Per byte, no carry into the next: the high bit says low7 >= 'A', then low7 > 'Z'.
    let from_a = low7 + ONES * (0x80 - b'A' as u64);
    let past_z = low7 + ONES * (0x7f - b'Z' as u64);
    let upper = from_a & !past_z & !x & HIGH;
    x | (upper >> 2)
}

struct Index {
    by_name: NameMap,
    by_short_name: ShortNames,
    all: Vec<&'static CommandSpec>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_name = NameMap::default();
        let count = crate::cmd::FAMILIES.iter().map(|f| f.len()).sum();
        let mut by_short_name = ShortNames::new(count);
        let mut all = Vec::new();
        for family in crate::cmd::FAMILIES {
            for spec in family.iter() {
                by_name.insert(spec.name, spec);
                if let Some(short) = short_name(spec.name.as_bytes()) {
                    by_short_name.insert(short, spec);
                }
                all.push(spec);
            }
        }
        all.sort_by_key(|s| s.name);
        Index {
            by_name,
            by_short_name,
            all,
        }
    })
}

/// Every top-level command, sorted by name.
pub fn all() -> &'static [&'static CommandSpec] {
    &index().all
}

/// A command by its (case-insensitive) top-level name.
pub fn get(name: &[u8]) -> Option<&'static CommandSpec> {
    if let Some(short) = short_name(name) {
        return index()
            .by_short_name
            .get(short)
            .filter(|spec| spec.name.len() == name.len());
    }
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let name = std::str::from_utf8(lower).ok()?;
    index().by_name.get(name).copied()
}

/// A subcommand of `parent` by its (case-insensitive) name.
pub fn get_sub(parent: &'static CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    parent.subcommands.iter().find(|s| {
        s.name
            .rsplit('|')
            .next()
            .is_some_and(|n| n.as_bytes().eq_ignore_ascii_case(sub))
    })
}

/// Finds the spec that serves `argv`, or the error Redis gives for an unknown command or
/// subcommand.
pub fn lookup(argv: &[&[u8]]) -> Result<&'static CommandSpec, String> {
    let Some(base) = get(argv[0]) else {
        return Err(error::unknown_command(argv));
    };
    if base.subcommands.is_empty() || argv.len() < 2 {
        return Ok(base);
    }
    get_sub(base, argv[1])
        .ok_or_else(|| error::unknown_subcommand(argv[1], &String::from_utf8_lossy(argv[0])))
}

/// How many command names `RecentNames` keeps.
const RECENT: usize = 8;

/// The last few command names `lookup` resolved, as their callers spelled them: a run of the
/// same command (a loop of SETs, a pipeline), or a few commands taken in turn (LPUSH and LPOP,
/// the `redis.call`s of a script run again and again), then cost a comparison of a few bytes
/// instead of packing, lower-casing and hashing the name again. Only names without
/// subcommands are kept (a container resolves by its second argument), and only names that
/// resolved, so errors go the long way. A new name takes the place of the oldest.
#[derive(Clone, Default)]
pub struct RecentNames {
    names: [Recent; RECENT],
    /// The slot that answered last, tried first: a run of one command hits it every time.
    last: usize,
    /// The slot the next new name goes into (the oldest name's).
    next: usize,
}

#[derive(Clone, Copy, Default)]
struct Recent {
    len: usize,
    bytes: [u8; 16],
    spec: Option<&'static CommandSpec>,
}

impl Recent {
    fn answers(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.spec
            .filter(|_| crate::dict::same_bytes(name, &self.bytes[..self.len]))
    }
}

impl RecentNames {
    /// `lookup(argv)`, answered from a kept name when `argv[0]` is byte for byte the same.
    pub fn lookup(&mut self, argv: &[&[u8]]) -> Result<&'static CommandSpec, String> {
        let name = argv[0];
        if let Some(spec) = self.names[self.last].answers(name) {
            return Ok(spec);
        }
        if let Some((i, spec)) = (0..RECENT).find_map(|i| Some((i, self.names[i].answers(name)?))) {
            self.last = i;
            return Ok(spec);
        }
        let spec = lookup(argv)?;
        // A subcommand's spec (`config|get`) says nothing about the next CONFIG call.
        let top_level_leaf = spec.subcommands.is_empty() && !spec.name.contains('|');
        if name.len() <= 16 && top_level_leaf {
            let slot = &mut self.names[self.next];
            slot.len = name.len();
            slot.bytes[..name.len()].copy_from_slice(name);
            slot.spec = Some(spec);
            self.last = self.next;
            self.next = (self.next + 1) % RECENT;
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_names_answer_as_lookup_does() {
        let mut recent = RecentNames::default();
        let argvs: [&[&[u8]]; 9] = [
            &[b"SET", b"k", b"v"],
            &[b"SET", b"k", b"v"],
            &[b"set", b"k", b"v"],
            &[b"SETX", b"k"],
            &[b"GET", b"k"],
            &[b"CONFIG", b"GET", b"save"],
            &[b"CONFIG", b"SET", b"save", b""],
            &[b"GET", b"k"],
            &[b"SE", b"k"],
        ];
        // Over and over, so that every name is met again after others have replaced it.
        for argv in argvs.iter().cycle().take(20 * argvs.len()) {
            let want = lookup(argv).map(|s| s.name);
            assert_eq!(recent.lookup(argv).map(|s| s.name), want, "{argv:?}");
        }
        // A container is never kept: its answer depends on the subcommand.
        recent.lookup(&[b"CONFIG", b"GET"]).expect("config get");
        assert!(recent
            .names
            .iter()
            .all(|r| r.spec.is_none_or(|s| s.name != "config")));
    }

    #[test]
    fn recent_names_keep_the_last_eight_spellings() {
        let mut recent = RecentNames::default();
        let names: [&[u8]; 9] = [
            b"GET", b"SET", b"LPUSH", b"LPOP", b"INCR", b"DEL", b"ZADD", b"EXPIRE", b"PING",
        ];
        for name in names {
            recent.lookup(&[name]).expect("a command");
        }
        let kept = |r: &RecentNames, n: &[u8]| r.names.iter().any(|s| s.answers(n).is_some());
        // The ninth took the first one's place; the others are all still there.
        assert!(!kept(&recent, b"GET"));
        assert!(names[1..].iter().all(|n| kept(&recent, n)));
        // Another spelling is another name: found the long way, then kept.
        assert!(!kept(&recent, b"ping"));
        recent.lookup(&[b"ping"]).expect("ping");
        assert!(kept(&recent, b"ping") && !kept(&recent, b"SET"));
    }

    #[test]
    fn lower8_lowers_ascii_letters_only() {
        let all: Vec<u8> = (0..=255).collect();
        for chunk in all.chunks(8) {
            let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let want = u64::from_le_bytes(chunk.to_ascii_lowercase().try_into().expect("8"));
            assert_eq!(lower8(x), want, "{chunk:?}");
        }
    }

    #[test]
    fn names_are_found_in_any_case_and_only_at_their_length() {
        assert_eq!(get(b"GeT").map(|s| s.name), Some("get"));
        assert_eq!(
            get(b"ZREVRANGEBYSCORE").map(|s| s.name),
            Some("zrevrangebyscore")
        );
        assert_eq!(
            get(b"georadiusbymember").map(|s| s.name),
            Some("georadiusbymember")
        );
        assert!(get(b"get\0").is_none());
        assert!(get(b"ge").is_none());
        assert!(get(b"").is_none());
        assert!(get("gét".as_bytes()).is_none());
    }
}
