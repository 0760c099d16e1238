//! The keyspace view's index: the key names of one database, sorted, filtered, kept up to date
//! from the engine's events rather than re-read on every frame.
//!
//! With 100,000 keys, reading and sorting the whole keyspace on each clock tick would take far
//! longer than a frame. Instead the index changes only where events say a key changed: each
//! changed key is looked up once (read-only, `Engine::inspect_key`) and inserted into or removed
//! from the sorted list. A change that touches many keys at once (a large MSET, a flush, a
//! rewind) rebuilds the list in one pass, which is cheaper than many single inserts. The view
//! itself renders only the rows on screen and reads their details from the engine then.

use std::collections::HashMap;
use std::rc::Rc;

use cachelab_engine::glob;
use cachelab_engine::Engine;

/// Above this many changed keys in one step, rebuilding the filtered list beats inserting.
const REBUILD_THRESHOLD: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    pub db: usize,
    /// Glob pattern ("" means every key).
    pub pattern: String,
    /// Type name ("" means every type).
    pub type_filter: String,
    /// Every key of the database with its type, sorted by name.
    all: Vec<(Rc<[u8]>, &'static str)>,
    /// The names that pass the filter, sorted; `None` while there is no filter (then the
    /// visible list is `all` itself, and a rebuild copies nothing).
    filtered: Option<Vec<Rc<[u8]>>>,
    /// For each key with a TTL: its deadline and when that deadline was set, so the TTL bar can
    /// show how much of the key's life is left.
    pub ttl_origin: HashMap<(usize, Vec<u8>), (i64, i64)>,
}

impl KeyIndex {
    /// How many keys pass the filter.
    pub fn visible_len(&self) -> usize {
        self.filtered.as_ref().map_or(self.all.len(), Vec::len)
    }

    /// The names of the keys that pass the filter, at positions `range` of the sorted list.
    pub fn visible_range(&self, range: std::ops::Range<usize>) -> Vec<Rc<[u8]>> {
        let end = range.end.min(self.visible_len());
        let start = range.start.min(end);
        match &self.filtered {
            Some(v) => v[start..end].to_vec(),
            None => self.all[start..end]
                .iter()
                .map(|(k, _)| k.clone())
                .collect(),
        }
    }

    /// Every name that passes the filter, in order (for tests and small lists).
    pub fn visible(&self) -> Vec<Rc<[u8]>> {
        self.visible_range(0..self.visible_len())
    }

    pub fn total(&self) -> usize {
        self.all.len()
    }

    fn position(&self, key: &[u8]) -> Result<usize, usize> {
        self.all.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    pub fn type_of(&self, key: &[u8]) -> Option<&'static str> {
        self.position(key).ok().map(|i| self.all[i].1)
    }

    fn has_filter(&self) -> bool {
        !(self.type_filter.is_empty() && (self.pattern.is_empty() || self.pattern == "*"))
    }

    fn accepts(&self, key: &[u8], type_name: &str) -> bool {
        (self.type_filter.is_empty() || self.type_filter == type_name)
            && (self.pattern.is_empty()
                || self.pattern == "*"
                || glob::matches(self.pattern.as_bytes(), key))
    }

    /// Reads the whole database again (after a flush, a rewind, a change of database).
    pub fn rebuild(&mut self, engine: &Engine) {
        let mut all: Vec<(Rc<[u8]>, &'static str)> = Vec::with_capacity(engine.dbsize(self.db));
        engine.inspect_each_name(self.db, |k, t| all.push((Rc::from(k), t)));
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.all = all;
        self.refilter();
    }

    /// Recomputes the filtered list from the full index (after the filter changed).
    pub fn refilter(&mut self) {
        self.filtered = self.has_filter().then(|| {
            self.all
                .iter()
                .filter(|(k, t)| self.accepts(k, t))
                .map(|(k, _)| k.clone())
                .collect()
        });
    }

    pub fn set_filter(&mut self, pattern: String, type_filter: String) {
        self.pattern = pattern;
        self.type_filter = type_filter;
        self.refilter();
    }

    /// Brings the keys that changed in database `db` up to date. With `view` false only the
    /// TTL origins are kept (during a replay, which rebuilds the list once at its end).
    pub fn touch(&mut self, engine: &Engine, db: usize, keys: &[Vec<u8>], now: i64, view: bool) {
        let bulk = keys.len() > REBUILD_THRESHOLD;
        for key in keys {
            let info = engine.inspect_key(db, key);
            let origin_key = (db, key.clone());
            match info.as_ref().and_then(|v| v.expire_at) {
                Some(at) => {
                    if self.ttl_origin.get(&origin_key).map(|o| o.0) != Some(at) {
                        self.ttl_origin.insert(origin_key, (at, now));
                    }
                }
                None => {
                    self.ttl_origin.remove(&origin_key);
                }
            }
            if !view || db != self.db || bulk {
                continue;
            }
            let name: Rc<[u8]> = match (self.position(key), &info) {
                (Ok(i), Some(v)) => {
                    self.all[i].1 = v.type_name;
                    self.all[i].0.clone()
                }
                (Ok(i), None) => self.all.remove(i).0,
                (Err(i), Some(v)) => {
                    let name: Rc<[u8]> = Rc::from(key.as_slice());
                    self.all.insert(i, (name.clone(), v.type_name));
                    name
                }
                (Err(_), None) => continue,
            };
            let wanted = info
                .as_ref()
                .is_some_and(|v| self.accepts(key, v.type_name));
            if let Some(filtered) = self.filtered.as_mut() {
                match (
                    filtered.binary_search_by(|k| (**k).cmp(key.as_slice())),
                    wanted,
                ) {
                    (Err(i), true) => filtered.insert(i, name),
                    (Ok(i), false) => {
                        filtered.remove(i);
                    }
                    _ => {}
                }
            }
        }
        // Many keys at once (a large MSET): reading the database again beats inserting each.
        if view && bulk && db == self.db {
            self.rebuild(engine);
        }
    }

    /// Forgets the TTL origins of a database that was emptied.
    pub fn forget_db(&mut self, db: Option<usize>) {
        self.ttl_origin
            .retain(|(d, _), _| db.is_some_and(|x| x != *d));
    }

    /// The share of the key's TTL that is left, in [0, 1], if it has one.
    pub fn ttl_fraction(&self, db: usize, key: &[u8], expire_at: i64, now: i64) -> f64 {
        let since = self
            .ttl_origin
            .get(&(db, key.to_vec()))
            .filter(|o| o.0 == expire_at)
            .map_or(now, |o| o.1);
        let full = (expire_at - since).max(1) as f64;
        ((expire_at - now) as f64 / full).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachelab_engine::Config;

    fn names(idx: &KeyIndex) -> Vec<String> {
        idx.visible()
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    #[test]
    fn follows_changes_incrementally_and_filters() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        let mut idx = KeyIndex::default();
        e.run(c, &["SET", "b", "1"], 0);
        e.run(c, &["SET", "a", "1", "EX", "10"], 0);
        idx.touch(&e, 0, &[b"b".to_vec(), b"a".to_vec()], 0, true);
        assert_eq!(names(&idx), ["a", "b"]);
        assert_eq!(idx.ttl_fraction(0, b"a", 10_000, 5000), 0.5);
        idx.set_filter("b*".into(), String::new());
        assert_eq!(names(&idx), ["b"]);
        e.run(c, &["DEL", "b"], 0);
        idx.touch(&e, 0, &[b"b".to_vec()], 0, true);
        assert!(idx.visible().is_empty());
        assert_eq!(idx.total(), 1);
        assert_eq!(idx.type_of(b"a"), Some("string"));
        assert_eq!(idx.type_of(b"b"), None);
        idx.set_filter(String::new(), "list".into());
        assert!(idx.visible().is_empty());
        idx.set_filter(String::new(), "string".into());
        assert_eq!(idx.visible().len(), 1);
    }

    #[test]
    fn many_changes_at_once_rebuild_the_same_list() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        let mut argv = vec!["MSET".to_string()];
        let mut keys = Vec::new();
        for i in (0..500).rev() {
            argv.push(format!("k{i:04}"));
            argv.push("v".into());
            keys.push(format!("k{i:04}").into_bytes());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        e.run(c, &argv, 0);
        let mut idx = KeyIndex::default();
        idx.touch(&e, 0, &keys, 0, true);
        assert_eq!(idx.visible().len(), 500);
        assert_eq!(&*idx.visible()[0], b"k0000");
        assert_eq!(idx.visible_range(498..600).len(), 2);
        idx.set_filter("k01*".into(), String::new());
        assert_eq!(idx.visible_len(), 100);
        assert!(idx.visible().windows(2).all(|w| w[0] < w[1]));
    }
}
