//! Sets: `intset` while every member is an integer and there are few, `hashtable` otherwise.
//!
//! An intset is a sorted array of integers stored at the narrowest width (16, 32 or 64 bits)
//! that holds all of them, as Redis's is: membership by binary search, iteration in ascending
//! order (which is why SMEMBERS of a small integer set is sorted on Redis), and an upgrade to a
//! wider array when a member does not fit, never a downgrade. A set that receives a member that
//! is not an integer (by Redis's strict `string2ll`), or grows past `set-max-intset-entries`,
//! moves for good into a `Dict`.

use crate::config::Config;
use crate::dict::Dict;
use crate::numfmt::parse_i64;
use crate::rng::Rng;
use crate::types::costed::CostedDict;

/// What a conversion needs: the intset size limit and the seed of the table it moves into.
#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub seed: u64,
}

/// Redis caps the intset size at 2^30 entries whatever the configuration says.
const INTSET_HARD_LIMIT: usize = 1 << 30;

impl SetLimits {
    pub fn from_config(c: &Config) -> SetLimits {
        SetLimits {
            max_intset_entries: (c.set_max_intset_entries.max(0) as usize).min(INTSET_HARD_LIMIT),
            seed: crate::types::hash::value_seed(c.seed),
        }
    }
}

/// One member as a set holds it: an integer in an intset, bytes in a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Int(v) => v.to_string().into_bytes(),
            Elem::Str(s) => s.to_vec(),
        }
    }
}

/// Sorted integers at the narrowest width that holds them all.
#[derive(Clone, Debug, PartialEq)]
pub enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

impl IntSet {
    pub fn len(&self) -> usize {
        match self {
            IntSet::W16(v) => v.len(),
            IntSet::W32(v) => v.len(),
            IntSet::W64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per member (2, 4 or 8), as Redis's intset `encoding` field.
    pub fn width(&self) -> usize {
        match self {
            IntSet::W16(_) => 2,
            IntSet::W32(_) => 4,
            IntSet::W64(_) => 8,
        }
    }

    pub fn get(&self, i: usize) -> i64 {
        match self {
            IntSet::W16(v) => v[i] as i64,
            IntSet::W32(v) => v[i] as i64,
            IntSet::W64(v) => v[i],
        }
    }

    /// Position of `x`, or where it would go.
    fn search(&self, x: i64) -> Result<usize, usize> {
        let below = |len: usize| Err(if x < 0 { 0 } else { len });
        match self {
            IntSet::W16(v) => match i16::try_from(x) {
                Ok(x) => v.binary_search(&x),
                Err(_) => below(v.len()),
            },
            IntSet::W32(v) => match i32::try_from(x) {
                Ok(x) => v.binary_search(&x),
                Err(_) => below(v.len()),
            },
            IntSet::W64(v) => v.binary_search(&x),
        }
    }

    pub fn contains(&self, x: i64) -> bool {
        self.search(x).is_ok()
    }

    fn upgrade_for(&mut self, x: i64) {
        let need = if i16::try_from(x).is_ok() {
            2
        } else if i32::try_from(x).is_ok() {
            4
        } else {
            8
        };
        if need <= self.width() {
            return;
        }
        let all: Vec<i64> = self.iter().collect();
        *self = if need == 4 {
            IntSet::W32(all.into_iter().map(|v| v as i32).collect())
        } else {
            IntSet::W64(all)
        };
    }

    /// Inserts `x` in order; returns false when it was already there.
    pub fn insert(&mut self, x: i64) -> bool {
        let Err(pos) = self.search(x) else {
            return false;
        };
        let width = self.width();
        self.upgrade_for(x);
        // A member that forced an upgrade is beyond every existing one: it goes at an end.
        let pos = if self.width() != width {
            if x < 0 {
                0
            } else {
                self.len()
            }
        } else {
            pos
        };
        match self {
            IntSet::W16(v) => v.insert(pos, x as i16),
            IntSet::W32(v) => v.insert(pos, x as i32),
            IntSet::W64(v) => v.insert(pos, x),
        }
        true
    }

    pub fn remove(&mut self, x: i64) -> bool {
        let Ok(pos) = self.search(x) else {
            return false;
        };
        match self {
            IntSet::W16(v) => {
                v.remove(pos);
            }
            IntSet::W32(v) => {
                v.remove(pos);
            }
            IntSet::W64(v) => {
                v.remove(pos);
            }
        }
        true
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

#[derive(Clone, Debug)]
/// Both encodings are boxed so that a set is 16 bytes inside a key's `Value` (see `Value`).
pub enum Set {
    Intset(Box<IntSet>),
    Table(Box<CostedDict<()>>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Intset(Box::default())
    }
}

impl PartialEq for Set {
    /// Same members, whatever the encoding.
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_elem(m))
    }
}

impl Set {
    /// An empty intset (the start of every SINTERSTORE, SUNIONSTORE and SDIFFSTORE result).
    pub fn new_intset() -> Set {
        Set::default()
    }

    /// The encoding Redis's `setTypeCreate` picks for a set whose first member is `first`:
    /// an intset when it is an integer, a table otherwise.
    pub fn for_member(first: &[u8], lim: &SetLimits) -> Set {
        if parse_i64(first).is_some() {
            Set::new_intset()
        } else {
            Set::Table(Box::new(CostedDict::new(lim.seed)))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(s) => s.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// Moves an intset into a table, members in ascending order.
    pub fn convert(&mut self, seed: u64) {
        if let Set::Intset(s) = self {
            let mut d = CostedDict::new(seed);
            for v in s.iter() {
                d.insert(v.to_string().as_bytes(), ());
            }
            *self = Set::Table(Box::new(d));
        }
    }

    /// Adds a member (Redis's `setTypeAdd`); returns false when it was already there.
    pub fn add(&mut self, m: &[u8], lim: &SetLimits) -> bool {
        match self {
            Set::Table(d) => d.insert(m, ()).is_none(),
            Set::Intset(s) => match parse_i64(m) {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > lim.max_intset_entries {
                        self.convert(lim.seed);
                    }
                    true
                }
                None => {
                    self.convert(lim.seed);
                    if let Set::Table(d) = self {
                        d.insert(m, ());
                    }
                    true
                }
            },
        }
    }

    /// `add` for a member read from another set.
    pub fn add_elem(&mut self, m: Elem<'_>, lim: &SetLimits) -> bool {
        match (m, &mut *self) {
            (Elem::Int(v), Set::Intset(s)) => {
                if !s.insert(v) {
                    return false;
                }
                if s.len() > lim.max_intset_entries {
                    self.convert(lim.seed);
                }
                true
            }
            (Elem::Int(v), Set::Table(_)) => self.add(v.to_string().as_bytes(), lim),
            (Elem::Str(b), _) => self.add(b, lim),
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Table(d) => d.remove(m).is_some(),
            Set::Intset(s) => parse_i64(m).is_some_and(|v| s.remove(v)),
        }
    }

    pub fn remove_elem(&mut self, m: Elem<'_>) -> bool {
        match (m, &mut *self) {
            (Elem::Int(v), Set::Intset(s)) => s.remove(v),
            (Elem::Int(v), Set::Table(d)) => d.remove(v.to_string().as_bytes()).is_some(),
            (Elem::Str(b), _) => self.remove(b),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Table(d) => d.contains_key(m),
            Set::Intset(s) => parse_i64(m).is_some_and(|v| s.contains(v)),
        }
    }

    pub fn contains_elem(&self, m: Elem<'_>) -> bool {
        match (m, self) {
            (Elem::Int(v), Set::Intset(s)) => s.contains(v),
            (Elem::Int(v), Set::Table(d)) => {
                let mut buf = [0u8; 20];
                d.contains_key(fmt_i64(v, &mut buf))
            }
            (Elem::Str(b), _) => self.contains(b),
        }
    }

    /// Members in the encoding's order: ascending for an intset, bucket order for a table.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Elem<'_>> + '_> {
        match self {
            Set::Intset(s) => Box::new(s.iter().map(Elem::Int)),
            Set::Table(d) => Box::new(d.iter().map(|(k, _)| Elem::Str(&k[..]))),
        }
    }

    /// A member picked at random (Redis's `setTypeRandomElement`); None when empty.
    pub fn random(&self, rng: &mut Rng) -> Option<Elem<'_>> {
        match self {
            Set::Intset(s) => {
                if s.is_empty() {
                    return None;
                }
                Some(Elem::Int(s.get(rng.below(s.len() as u64) as usize)))
            }
            Set::Table(d) => d.random_entry(rng).map(|(k, _)| Elem::Str(&k[..])),
        }
    }

    /// The table of a hashtable-encoded set, for SCAN's cursor walk.
    pub fn table(&self) -> Option<&Dict<()>> {
        match self {
            Set::Table(d) => Some(&***d),
            Set::Intset(_) => None,
        }
    }
}

/// Writes `v` in decimal into `buf` without allocating; returns the digits.
fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(n: usize) -> SetLimits {
        SetLimits {
            max_intset_entries: n,
            seed: 5,
        }
    }

    fn members(s: &Set) -> Vec<Vec<u8>> {
        s.iter().map(Elem::to_vec).collect()
    }

    #[test]
    fn intset_is_sorted_and_widens() {
        let l = lim(512);
        let mut s = Set::new_intset();
        for m in ["5", "-3", "100", "5", "0"] {
            s.add(m.as_bytes(), &l);
        }
        assert_eq!(
            members(&s),
            vec![
                b"-3".to_vec(),
                b"0".to_vec(),
                b"5".to_vec(),
                b"100".to_vec()
            ]
        );
        let Set::Intset(is) = &s else { panic!() };
        assert_eq!(is.width(), 2);
        s.add(b"70000", &l);
        s.add(b"-9223372036854775808", &l);
        let Set::Intset(is) = &s else { panic!() };
        assert_eq!(is.width(), 8);
        assert_eq!(
            is.iter().collect::<Vec<_>>(),
            vec![i64::MIN, -3, 0, 5, 100, 70000]
        );
        assert!(s.contains(b"70000"));
        assert!(!s.contains(b"070000"));
        assert!(s.remove(b"-3"));
        assert!(!s.remove(b"-3"));
        assert!(!s.remove(b"x"));
        assert_eq!(s.len(), 5);
        assert_eq!(s.encoding(), "intset");
    }

    #[test]
    fn converts_on_a_string_member_or_past_the_limit() {
        let l = lim(3);
        let mut s = Set::new_intset();
        for m in ["1", "2", "3"] {
            s.add(m.as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "intset");
        assert!(!s.add(b"3", &l));
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"4", &l));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"4") && s.contains(b"1"));
        assert!(s.contains_elem(Elem::Int(2)));

        let mut s = Set::new_intset();
        s.add(b"1", &l);
        s.add(b"01", &l);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn first_member_picks_the_encoding() {
        let l = lim(512);
        assert_eq!(Set::for_member(b"12", &l).encoding(), "intset");
        assert_eq!(Set::for_member(b"-0", &l).encoding(), "hashtable");
        assert_eq!(Set::for_member(b"a", &l).encoding(), "hashtable");
    }

    #[test]
    fn elem_formats_like_redis() {
        let mut buf = [0u8; 20];
        assert_eq!(fmt_i64(i64::MIN, &mut buf), b"-9223372036854775808");
        assert_eq!(fmt_i64(0, &mut buf), b"0");
        assert_eq!(fmt_i64(42, &mut buf), b"42");
    }
}
