//! A read-only window on the keyspace, for the playground's keyspace view.
//!
//! Looking at a key through commands would change what the learner is watching: GET counts a hit
//! or a miss, refreshes the LRU clock or bumps the LFU counter, and deletes a key whose deadline
//! has passed (lazy expiry). A view that redraws every frame would make every key look freshly
//! used and would expire keys that the active cycle was about to find. So the view reads through
//! here instead: every function takes `&self`, which is the guarantee that nothing it does can
//! change a statistic, an access time, the RNG or the keyspace.
//!
//! A key whose deadline has passed but that neither a command nor the active cycle has removed
//! yet is still in the keyspace, as in Redis; it is reported with `expiring: true`.
//!
//! Values are laid out as plain data (`ValueData`): strings directly; the aggregate types by
//! running their own read command (LRANGE, HGETALL, SMEMBERS, ZRANGE, XRANGE) against a scratch
//! engine that holds a copy of that one key. That keeps this module independent of how each
//! type stores its elements, and an aggregate type whose read command the engine does not know
//! yet is shown as `ValueData::Unavailable` rather than guessed at.

use crate::dict::Key;
use crate::keyspace::lfu_decayed;
use crate::memory::entry_bytes;
use crate::object::{Entry, RString, Value};
use crate::{glob, Config, Engine, Reply};

/// How many elements of an aggregate value `inspect_value` lays out at most.
pub const VALUE_ELEMENTS_LIMIT: usize = 1000;

/// One key as the keyspace view shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyView {
    pub name: Vec<u8>,
    /// What TYPE answers: `string`, `list`, `hash`, `set`, `zset`, `stream`.
    pub type_name: &'static str,
    /// What OBJECT ENCODING answers.
    pub encoding: &'static str,
    /// Absolute deadline in milliseconds, if the key has a TTL.
    pub expire_at: Option<i64>,
    /// Milliseconds left until the deadline (zero or negative once it has passed).
    pub ttl_ms: Option<i64>,
    /// The deadline has passed but the key has not been removed yet: the next command that
    /// touches it, or the active cycle, will expire it.
    pub expiring: bool,
    /// Milliseconds since the last access (OBJECT IDLETIME, at millisecond resolution).
    pub idle_ms: i64,
    /// The LFU counter after decay, as OBJECT FREQ would report it.
    pub lfu: u8,
    /// The engine's estimate of what Redis would allocate for the key (as MEMORY USAGE).
    pub memory: u64,
    /// Bytes for a string; `None` for aggregates (their element count comes with the value).
    pub strlen: Option<usize>,
}

/// A stream entry: its id and its field/value pairs.
pub type StreamEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// A value laid out by type, as plain data.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueData {
    /// The string's bytes; `int` is true when it is stored as a machine integer.
    String {
        bytes: Vec<u8>,
        int: bool,
    },
    List(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Set(Vec<Vec<u8>>),
    /// Members with their scores as Redis prints them, by rank.
    ZSet(Vec<(Vec<u8>, String)>),
    /// Entries: id and field/value pairs.
    Stream(Vec<StreamEntry>),
    /// A type this engine cannot lay out yet; the text says why.
    Unavailable(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ValueView {
    pub key: KeyView,
    pub data: ValueData,
    /// Only the first `VALUE_ELEMENTS_LIMIT` elements are in `data`.
    pub truncated: bool,
}

/// Which keys `inspect_keys` lists: a glob pattern and a type name, each optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyFilter<'a> {
    /// A glob pattern as KEYS takes it; `None` for every key.
    pub pattern: Option<&'a [u8]>,
    /// A type name as TYPE answers it; `None` for every type.
    pub type_name: Option<&'a str>,
}

impl KeyFilter<'_> {
    pub fn accepts(&self, key: &[u8], type_name: &str) -> bool {
        self.type_name.is_none_or(|t| t == type_name)
            && self
                .pattern
                .is_none_or(|p| p == b"*" || glob::matches(p, key))
    }
}

impl Engine {
    /// The keys of database `db` that match `pattern` (a glob, as KEYS takes it) and are of
    /// type `type_name` (as TYPE answers), `None` meaning any, in the keyspace's own (SCAN)
    /// order: how many there are, and the views of `limit` of them starting at `offset`.
    pub fn inspect_keys(
        &self,
        db: usize,
        pattern: Option<&[u8]>,
        type_name: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<KeyView>) {
        let filter = KeyFilter { pattern, type_name };
        let Some(d) = self.dbs.get(db) else {
            return (0, Vec::new());
        };
        let mut total = 0;
        let mut out = Vec::new();
        for (key, entry) in d.keys.iter() {
            if !filter.accepts(key, entry.value.type_name()) {
                continue;
            }
            if total >= offset && out.len() < limit {
                out.push(self.key_view(key, entry));
            }
            total += 1;
        }
        (total, out)
    }

    /// Every key name of database `db` with its type, in the keyspace's order. Cheaper than
    /// `inspect_keys` when only names are needed (to rebuild an index after a rewind).
    pub fn inspect_names(&self, db: usize) -> Vec<(Vec<u8>, &'static str)> {
        self.dbs.get(db).map_or_else(Vec::new, |d| {
            d.keys
                .iter()
                .map(|(k, e)| (k.to_vec(), e.value.type_name()))
                .collect()
        })
    }

    /// Calls `f` with every key name of database `db` and its type, in the keyspace's order,
    /// without copying the names (for indexes of large keyspaces).
    pub fn inspect_each_name(&self, db: usize, mut f: impl FnMut(&[u8], &'static str)) {
        if let Some(d) = self.dbs.get(db) {
            for (k, e) in d.keys.iter() {
                f(k, e.value.type_name());
            }
        }
    }

    /// One key's view, or `None` when the key is not in the keyspace at all.
    pub fn inspect_key(&self, db: usize, key: &[u8]) -> Option<KeyView> {
        let (k, entry) = self.dbs.get(db)?.keys.get_key_value(key)?;
        Some(self.key_view(k, entry))
    }

    /// A key's size as redis-cli's `--bigkeys` ranks it: a string's length in bytes, an
    /// aggregate's element count (fields, members, entries); `None` when the key is absent.
    /// O(1): every type keeps its count.
    pub fn inspect_len(&self, db: usize, key: &[u8]) -> Option<u64> {
        let entry = self.dbs.get(db)?.keys.get(key)?;
        Some(crate::memory::value_len(&entry.value))
    }

    /// One key's view and its value laid out by type.
    pub fn inspect_value(&self, db: usize, key: &[u8]) -> Option<ValueView> {
        let (k, entry) = self.dbs.get(db)?.keys.get_key_value(key)?;
        let view = self.key_view(k, entry);
        let (data, truncated) = match &entry.value {
            Value::Str(s) => (
                ValueData::String {
                    bytes: s.to_bytes(),
                    int: matches!(s, RString::Int(_)),
                },
                false,
            ),
            other => self.aggregate_data(key, entry, other.type_name()),
        };
        Some(ValueView {
            key: view,
            data,
            truncated,
        })
    }

    fn key_view(&self, key: &Key, entry: &Entry) -> KeyView {
        let now = self.now;
        let ttl_ms = entry.expire_at().map(|at| at - now);
        KeyView {
            name: key.to_vec(),
            type_name: entry.value.type_name(),
            encoding: entry.value.encoding(),
            expire_at: entry.expire_at(),
            ttl_ms,
            // Redis expires a key only once now is strictly past its deadline.
            expiring: entry.expire_at().is_some_and(|at| now > at),
            idle_ms: (now - entry.last_access_ms).max(0),
            lfu: lfu_decayed(entry, now, self.config.lfu_decay_time),
            memory: entry_bytes(key, entry),
            strlen: match &entry.value {
                Value::Str(s) => Some(s.len()),
                _ => None,
            },
        }
    }

    /// Reads an aggregate value with its own read command, in a scratch engine holding a copy
    /// of just this key, so that the real engine is not touched.
    fn aggregate_data(&self, key: &[u8], entry: &Entry, type_name: &str) -> (ValueData, bool) {
        let limit = VALUE_ELEMENTS_LIMIT.to_string();
        let last = (VALUE_ELEMENTS_LIMIT - 1).to_string();
        let argv: Vec<&[u8]> = match type_name {
            "list" => vec![b"LRANGE", key, b"0", last.as_bytes()],
            "hash" => vec![b"HGETALL", key],
            "set" => vec![b"SMEMBERS", key],
            "zset" => vec![b"ZRANGE", key, b"0", last.as_bytes(), b"WITHSCORES"],
            "stream" => vec![b"XRANGE", key, b"-", b"+", b"COUNT", limit.as_bytes()],
            other => {
                return (
                    ValueData::Unavailable(format!("no layout for type {other}")),
                    false,
                )
            }
        };
        let config = Config {
            databases: 1,
            record_events: false,
            maxmemory: 0,
            ..self.config.clone()
        };
        let mut scratch = Engine::new_at(config, self.now);
        let mut copy = entry.clone();
        // The copy must not expire while it is read, whatever the real key's deadline.
        copy.set_expire_at(None);
        scratch.dbs[0].put(Key::from(key), copy);
        let client = scratch.connect(self.now);
        let reply = scratch.execute(client, &argv, self.now);
        let items = match reply {
            Reply::Array(items) | Reply::Set(items) => items,
            Reply::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            Reply::Error(e) => return (ValueData::Unavailable(e.into_owned()), false),
            other => {
                return (
                    ValueData::Unavailable(format!("unexpected reply {other:?}")),
                    false,
                )
            }
        };
        let data = match type_name {
            "list" => ValueData::List(items.iter().map(bytes_of).collect()),
            "set" => {
                let mut members: Vec<Vec<u8>> = items.iter().map(bytes_of).collect();
                // SMEMBERS answers in hash order; sorted reads better and stays put on redraw.
                members.sort();
                ValueData::Set(members)
            }
            "hash" => ValueData::Hash(pairs_of(&items)),
            "zset" => ValueData::ZSet(
                pairs_of(&items)
                    .into_iter()
                    .map(|(m, s)| (m, String::from_utf8_lossy(&s).into_owned()))
                    .collect(),
            ),
            _ => ValueData::Stream(
                items
                    .iter()
                    .filter_map(|entry| match entry {
                        Reply::Array(parts) if parts.len() == 2 => {
                            let id = String::from_utf8_lossy(&bytes_of(&parts[0])).into_owned();
                            let fields = match &parts[1] {
                                Reply::Array(fv) => pairs_of(fv),
                                _ => Vec::new(),
                            };
                            Some((id, fields))
                        }
                        _ => None,
                    })
                    .collect(),
            ),
        };
        let mut data = data;
        let truncated = match &mut data {
            ValueData::Set(v) | ValueData::List(v) => cap(v),
            ValueData::Hash(v) => cap(v),
            _ => false,
        };
        let truncated = truncated
            || match &data {
                ValueData::List(v) => v.len() == VALUE_ELEMENTS_LIMIT,
                ValueData::ZSet(v) => v.len() == VALUE_ELEMENTS_LIMIT,
                ValueData::Stream(v) => v.len() == VALUE_ELEMENTS_LIMIT,
                _ => false,
            };
        (data, truncated)
    }
}

fn cap<T>(v: &mut Vec<T>) -> bool {
    let over = v.len() > VALUE_ELEMENTS_LIMIT;
    v.truncate(VALUE_ELEMENTS_LIMIT);
    over
}

fn bytes_of(r: &Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(b) => b.clone(),
        Reply::Simple(s) => s.as_bytes().to_vec(),
        Reply::Integer(n) => n.to_string().into_bytes(),
        Reply::Double(d) => crate::numfmt::fmt_double(*d).into_bytes(),
        other => format!("{other:?}").into_bytes(),
    }
}

fn pairs_of(items: &[Reply]) -> Vec<(Vec<u8>, Vec<u8>)> {
    items
        .chunks_exact(2)
        .map(|p| (bytes_of(&p[0]), bytes_of(&p[1])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Event};

    fn engine() -> (Engine, crate::ClientId) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        (e, c)
    }

    #[test]
    fn lists_keys_with_type_ttl_and_memory() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "greeting", "hello", "EX", "5"], 1000);
        e.run(c, &["SET", "n", "42"], 1000);
        e.advance(3000);
        let (total, views) = e.inspect_keys(0, None, None, 0, 10);
        assert_eq!(total, 2);
        let g = views.iter().find(|v| v.name == b"greeting").unwrap();
        assert_eq!(g.type_name, "string");
        assert_eq!(g.encoding, "embstr");
        assert_eq!(g.ttl_ms, Some(3000));
        assert_eq!(g.idle_ms, 2000);
        assert!(!g.expiring);
        assert!(g.memory > 0);
        assert_eq!(g.strlen, Some(5));
        let n = views.iter().find(|v| v.name == b"n").unwrap();
        assert_eq!((n.encoding, n.ttl_ms), ("int", None));
    }

    #[test]
    fn filters_by_pattern_type_and_pages() {
        let (mut e, c) = engine();
        for i in 0..30 {
            e.run(c, &["SET", &format!("user:{i}"), "x"], 0);
        }
        e.run(c, &["SET", "other", "x"], 0);
        let (total, page) = e.inspect_keys(0, Some(b"user:*"), None, 25, 10);
        assert_eq!((total, page.len()), (30, 5));
        assert_eq!(e.inspect_keys(0, None, Some("list"), 0, 10).0, 0);
        assert_eq!(e.inspect_keys(0, Some(b"*"), Some("string"), 0, 0).0, 31);
        assert_eq!(e.inspect_keys(7, None, None, 0, 10).0, 0);
        assert_eq!(e.inspect_keys(99, None, None, 0, 10).0, 0);
    }

    #[test]
    fn inspecting_changes_no_statistic_access_time_or_key() {
        let mut config = Config::default();
        config.active_expire_enabled = false;
        let mut e = Engine::new(config);
        let c = e.connect(0);
        e.run(c, &["SET", "k", "v", "PX", "100"], 0);
        e.run(c, &["SET", "idle", "v"], 0);
        e.advance(500);
        e.drain_events();
        let info_before = crate::to_cli_text(&e.run(c, &["INFO", "stats"], 500));
        // The key is past its deadline: shown as expiring, not removed.
        let v = e.inspect_value(0, b"k").unwrap();
        assert!(v.key.expiring);
        let idle = e.inspect_key(0, b"idle").unwrap();
        assert_eq!(idle.idle_ms, 500);
        for _ in 0..3 {
            e.inspect_keys(0, None, None, 0, 100);
            e.inspect_value(0, b"idle");
        }
        assert_eq!(e.inspect_key(0, b"idle").unwrap().idle_ms, 500);
        let info_after = crate::to_cli_text(&e.run(c, &["INFO", "stats"], 500));
        let hits = |s: &str| {
            s.lines()
                .filter(|l| l.starts_with("keyspace_") || l.starts_with("expired_keys"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(hits(&info_before), hits(&info_after));
        assert!(e
            .drain_events()
            .iter()
            .all(|ev| !matches!(ev, Event::Expired { .. })));
        assert!(e.inspect_key(0, b"k").unwrap().expiring);
    }

    #[test]
    fn a_key_past_its_deadline_is_expiring_until_removed() {
        let mut config = Config::default();
        config.active_expire_enabled = false;
        let mut e = Engine::new(config);
        let c = e.connect(0);
        e.run(c, &["SET", "k", "v", "PX", "100"], 0);
        e.advance(100);
        assert!(!e.inspect_key(0, b"k").unwrap().expiring);
        e.advance(101);
        let v = e.inspect_key(0, b"k").unwrap();
        assert!(v.expiring);
        assert_eq!(v.ttl_ms, Some(-1));
        assert_eq!(e.inspect_keys(0, None, None, 0, 10).0, 1);
        e.run(c, &["GET", "k"], 101);
        assert!(e.inspect_key(0, b"k").is_none());
    }

    #[test]
    fn len_is_bytes_for_strings_and_elements_for_aggregates() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "s", "hello"], 0);
        e.run(c, &["RPUSH", "l", "a", "b", "c"], 0);
        e.run(c, &["HSET", "h", "f", "v", "g", "w"], 0);
        assert_eq!(e.inspect_len(0, b"s"), Some(5));
        assert_eq!(e.inspect_len(0, b"l"), Some(3));
        assert_eq!(e.inspect_len(0, b"h"), Some(2));
        assert_eq!(e.inspect_len(0, b"missing"), None);
        assert_eq!(e.inspect_len(99, b"s"), None);
    }

    #[test]
    fn string_values_are_laid_out() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "s", "hello"], 0);
        e.run(c, &["SET", "i", "12345"], 0);
        let s = e.inspect_value(0, b"s").unwrap();
        assert_eq!(
            s.data,
            ValueData::String {
                bytes: b"hello".to_vec(),
                int: false
            }
        );
        let i = e.inspect_value(0, b"i").unwrap();
        assert_eq!(
            i.data,
            ValueData::String {
                bytes: b"12345".to_vec(),
                int: true
            }
        );
        assert!(e.inspect_value(0, b"missing").is_none());
        assert_eq!(e.inspect_names(0).len(), 2);
        let mut seen = Vec::new();
        e.inspect_each_name(0, |k, t| seen.push((k.to_vec(), t)));
        seen.sort();
        assert_eq!(seen, [(b"i".to_vec(), "string"), (b"s".to_vec(), "string")]);
    }
}
