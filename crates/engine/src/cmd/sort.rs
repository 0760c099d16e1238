//! SORT and SORT_RO: the elements of a list, set or sorted set, ordered numerically or
//! lexicographically, by themselves or by values looked up through a key pattern (`BY`),
//! paged with `LIMIT`, projected through `GET` patterns, and returned or stored as a list.
//!
//! The order of equal elements is part of what a client sees, so the sorting itself follows
//! the C library Redis runs on: a full sort is glibc's `qsort` (a stable merge sort), and a
//! `BY` sort with a `LIMIT` is Redis's partial quicksort (`pqsort`), whose placement of equal
//! elements is its own. Both live here as `merge_sort` and `partial_sort`, shared with the
//! GEO commands, which sort their results the same way.

use std::cmp::Ordering;

use crate::cmd::scan::{c_str, is_word};
use crate::event::Event;
use crate::numfmt::strtod;
use crate::object::Value;
use crate::table::CommandSpec;
use crate::types::list::List;
use crate::{args, error, flags, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sort",
        arity: -2,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "generic",
        since: "1.0.0",
        summary: "Sorts the elements of a list, set or sorted set, optionally by external keys, and returns or stores the result.",
        syntax: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]",
        handler: sort,
        subcommands: &[],
    },
    CommandSpec {
        name: "sort_ro",
        arity: -2,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "generic",
        since: "7.0.0",
        summary: "SORT without the STORE option, for read-only contexts.",
        syntax: "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]",
        handler: sort_ro,
        subcommands: &[],
    },
];

// ---------------------------------------------------------------------------------------------
// The sorting algorithms
// ---------------------------------------------------------------------------------------------

/// glibc's `qsort` as Redis's platform runs it: a top-down merge sort that takes from the left
/// run on ties. `cmp` compares two items by their positions in the caller's array; `order`
/// holds those positions and is permuted into sorted order. Reproducing the algorithm (rather
/// than using any stable sort) keeps the result identical even for comparators that are not a
/// consistent order, such as distances that came out NaN.
pub fn merge_sort(order: &mut [usize], cmp: &mut impl FnMut(usize, usize) -> Ordering) {
    let mut tmp = vec![0usize; order.len()];
    merge_sort_with(order, &mut tmp, cmp);
}

fn merge_sort_with(
    b: &mut [usize],
    tmp: &mut [usize],
    cmp: &mut impl FnMut(usize, usize) -> Ordering,
) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort_with(&mut b[..n1], tmp, cmp);
    merge_sort_with(&mut b[n1..], tmp, cmp);
    let (mut i, mut j, mut k) = (0, n1, 0);
    while i < n1 && j < n {
        if cmp(b[i], b[j]) != Ordering::Greater {
            tmp[k] = b[i];
            i += 1;
        } else {
            tmp[k] = b[j];
            j += 1;
        }
        k += 1;
    }
    while i < n1 {
        tmp[k] = b[i];
        i += 1;
        k += 1;
    }
    // What is left of the right run is already in place.
    b[..k].copy_from_slice(&tmp[..k]);
}

/// Redis's `pqsort`: Bentley and McIlroy's quicksort that only recurses into partitions
/// overlapping positions `lrange..=rrange`, so that those positions end up holding what a
/// full sort would put there (the rest stays partly unsorted). Ranges are signed because
/// SORT passes an empty window as `start, start - 1`.
pub fn partial_sort(
    order: &mut [usize],
    lrange: i64,
    rrange: i64,
    cmp: &mut impl FnMut(usize, usize) -> Ordering,
) {
    pqsort(order, 0, order.len(), lrange, rrange, cmp);
}

fn med3(
    v: &[usize],
    a: usize,
    b: usize,
    c: usize,
    cmp: &mut impl FnMut(usize, usize) -> Ordering,
) -> usize {
    if cmp(v[a], v[b]) == Ordering::Less {
        if cmp(v[b], v[c]) == Ordering::Less {
            b
        } else if cmp(v[a], v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(v[b], v[c]) == Ordering::Greater {
        b
    } else if cmp(v[a], v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

fn vecswap(v: &mut [usize], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Whether the partition `lo..lo + len` holds none of the wanted positions.
fn outside(lo: usize, len: usize, lrange: i64, rrange: i64) -> bool {
    let (lo, hi) = (lo as i64, (lo + len) as i64);
    (lrange < lo && rrange < lo) || (lrange >= hi && rrange >= hi)
}

fn pqsort(
    v: &mut [usize],
    mut a: usize,
    mut n: usize,
    lrange: i64,
    rrange: i64,
    cmp: &mut impl FnMut(usize, usize) -> Ordering,
) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(v[pl - 1], v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(v[pb], v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(v[pc], v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r, lrange, rrange) {
            pqsort(v, a, r, lrange, rrange, cmp);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !outside(a, n, lrange, rrange) {
                continue;
            }
        }
        return;
    }
}

// ---------------------------------------------------------------------------------------------
// SORT
// ---------------------------------------------------------------------------------------------

fn sort(e: &mut Engine, c: &Call) -> Reply {
    sort_generic(e, c, false)
}

fn sort_ro(e: &mut Engine, c: &Call) -> Reply {
    sort_generic(e, c, true)
}

/// One element being sorted, with the weight it is sorted by.
struct Item {
    value: Vec<u8>,
    score: f64,
    /// The BY value of an ALPHA sort; None when the BY key or field is missing.
    by: Option<Vec<u8>>,
}

fn sort_generic(e: &mut Engine, c: &Call, readonly: bool) -> Reply {
    let argv = c.argv;
    let db = c.db;
    let mut desc = false;
    let mut alpha = false;
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut store: Option<&[u8]> = None;
    let mut sortby: Option<&[u8]> = None;
    let mut dontsort = false;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if is_word(a, "asc") {
            desc = false;
        } else if is_word(a, "desc") {
            desc = true;
        } else if is_word(a, "alpha") {
            alpha = true;
        } else if is_word(a, "limit") && left >= 2 {
            limit_start = tri!(args::int(argv[j + 1]));
            limit_count = tri!(args::int(argv[j + 2]));
            j += 2;
        } else if !readonly && is_word(a, "store") && left >= 1 {
            store = Some(argv[j + 1]);
            j += 1;
        } else if is_word(a, "by") && left >= 1 {
            sortby = Some(argv[j + 1]);
            // A pattern without `*` names one key for every element: nothing to sort by.
            if !c_str(argv[j + 1]).contains(&b'*') {
                dontsort = true;
            }
            j += 1;
        } else if is_word(a, "get") && left >= 1 {
            gets.push(argv[j + 1]);
            j += 1;
        } else {
            return Reply::error(error::SYNTAX);
        }
        j += 1;
    }

    // The key is looked up after the options, so a syntax error wins over WRONGTYPE.
    let key = argv[1];
    let recording = e.recording();
    let mut converted = false;
    enum Kind {
        List,
        Set,
        ZSet,
    }
    let (kind, len) = match e.read(db, key).map(|en| &mut en.value) {
        None => (Kind::List, 0),
        Some(Value::List(l)) => (Kind::List, l.len()),
        Some(Value::Set(s)) => (Kind::Set, s.len()),
        Some(Value::ZSet(z)) => {
            // Redis turns a listpack sorted set into a skiplist before sorting it, for good.
            converted = z.convert_to_skiplist();
            (Kind::ZSet, z.len())
        }
        Some(_) => return Reply::error(error::WRONGTYPE),
    };
    if converted && recording {
        e.emit(Event::EncodingChanged {
            db,
            key: key.to_vec(),
            from: "listpack",
            to: "skiplist",
        });
    }

    // A set has no order of its own: when its elements are stored, sort them so that the
    // result does not depend on the hash table's layout.
    if dontsort && matches!(kind, Kind::Set) && store.is_some() {
        dontsort = false;
        alpha = true;
        sortby = None;
    }

    let vectorlen = len as i64;
    let mut start = limit_start.clamp(0, vectorlen);
    let count = limit_count.max(-1).min(vectorlen);
    let mut end = if count < 0 {
        vectorlen - 1
    } else {
        start + count - 1
    };
    if start >= vectorlen {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if end >= vectorlen {
        end = vectorlen - 1;
    }

    let values: Vec<Vec<u8>> = {
        let value = e.dbs[db].keys.get(key).map(|en| &en.value);
        let ranged = dontsort && !matches!(kind, Kind::Set);
        if ranged {
            // Lists and sorted sets keep their own order; only the window is loaded.
            let n = if end >= start {
                (end - start + 1) as usize
            } else {
                0
            };
            let from = start.max(0) as usize;
            let out = match value {
                Some(Value::List(l)) if n > 0 => {
                    if desc {
                        l.iter_rev_from(len - 1 - from)
                            .take(n)
                            .map(|el| el.to_vec())
                            .collect()
                    } else {
                        l.iter_from(from).take(n).map(|el| el.to_vec()).collect()
                    }
                }
                Some(Value::ZSet(z)) if n > 0 => {
                    let mut out = Vec::with_capacity(n);
                    if desc {
                        z.range(len - from - n, len - from, true, |m, _| {
                            out.push(m.to_vec())
                        });
                    } else {
                        z.range(from, from + n, false, |m, _| out.push(m.to_vec()));
                    }
                    out
                }
                _ => Vec::new(),
            };
            if end >= start {
                end -= start;
                start = 0;
            }
            out
        } else {
            match value {
                Some(Value::List(l)) => l.iter().map(|el| el.to_vec()).collect(),
                Some(Value::Set(s)) => s.iter().map(|el| el.to_vec()).collect(),
                Some(Value::ZSet(z)) => {
                    let mut out = Vec::with_capacity(len);
                    z.for_each(|m, _| out.push(m.to_vec()));
                    out
                }
                _ => Vec::new(),
            }
        }
    };
    let mut items: Vec<Item> = values
        .into_iter()
        .map(|value| Item {
            value,
            score: 0.0,
            by: None,
        })
        .collect();

    let mut conversion_error = false;
    let mut order: Vec<usize> = (0..items.len()).collect();
    if !dontsort {
        for it in items.iter_mut() {
            let byval = match sortby {
                Some(pattern) => match lookup_by_pattern(e, db, pattern, &it.value) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.value.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.by = Some(byval);
                }
            } else {
                match sort_score(&byval) {
                    Some(v) => it.score = v,
                    None => conversion_error = true,
                }
            }
        }
        // The reply is an error then: nothing to sort.
        if !conversion_error && items.len() > 1 {
            let by_pattern = sortby.is_some();
            let storing = store.is_some();
            let mut cmp = |a: usize, b: usize| {
                let o = compare(&items[a], &items[b], alpha, by_pattern, storing);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            };
            let n = items.len() as i64;
            if by_pattern && (start != 0 || end != n - 1) {
                partial_sort(&mut order, start, end, &mut cmp);
            } else {
                merge_sort(&mut order, &mut cmp);
            }
        }
    }

    if conversion_error {
        return Reply::error(error::SORT_SCORE_NOT_DOUBLE);
    }
    let window: &[usize] = if end >= start {
        &order[start as usize..=end as usize]
    } else {
        &[]
    };
    let outputlen = if gets.is_empty() {
        window.len()
    } else {
        gets.len() * window.len()
    };
    match store {
        None => {
            let mut out = Vec::with_capacity(outputlen);
            for &i in window {
                if gets.is_empty() {
                    // Each position appears once in the window: the value can be moved out.
                    out.push(Reply::Bulk(std::mem::take(&mut items[i].value)));
                }
                for pattern in &gets {
                    let v = lookup_by_pattern(e, db, pattern, &items[i].value);
                    out.push(Reply::bulk_opt(v));
                }
            }
            Reply::Array(out)
        }
        Some(dst) => {
            let mut list = List::new(e.config.list_max_listpack_size);
            for &i in window {
                let value = &items[i].value;
                if gets.is_empty() {
                    list.push_back(value);
                }
                for pattern in &gets {
                    let v = lookup_by_pattern(e, db, pattern, value).unwrap_or_default();
                    list.push_back(&v);
                }
            }
            if outputlen > 0 {
                e.set_value(db, dst, Value::List(Box::new(list)), false);
                e.notify(db, dst, "sortstore");
            } else if e.delete(db, dst) {
                e.notify(db, dst, "del");
            }
            Reply::Integer(outputlen as i64)
        }
    }
}

/// Redis's `sortCompare`, before DESC reverses it.
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool, storing: bool) -> Ordering {
    if !alpha {
        // Equal weights fall back on the elements themselves, so the order is deterministic.
        if a.score > b.score {
            Ordering::Greater
        } else if a.score < b.score {
            Ordering::Less
        } else {
            a.value.cmp(&b.value)
        }
    } else if by_pattern {
        match (&a.by, &b.by) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => alpha_cmp(x, y, storing),
        }
    } else {
        alpha_cmp(&a.value, &b.value, storing)
    }
}

/// ALPHA order: binary when storing; otherwise `strcoll`, which reads C strings (up to a NUL
/// byte) and, in the C and C.UTF-8 locales Redis runs under here, compares their bytes.
fn alpha_cmp(a: &[u8], b: &[u8], storing: bool) -> Ordering {
    if storing {
        a.cmp(b)
    } else {
        c_str(a).cmp(c_str(b))
    }
}

/// A numeric weight as SORT reads it with `strtod`: leading blanks skipped, the rest up to a
/// NUL byte all consumed, no NaN, and no overflow or inexact underflow (`ERANGE`). An empty
/// string weighs 0.
fn sort_score(b: &[u8]) -> Option<f64> {
    // Most weights are plain integers: converting one to a double rounds it exactly as strtod
    // rounds its digits.
    if let Some(v) = crate::numfmt::parse_i64(b) {
        return Some(v as f64);
    }
    let s = c_str(b);
    let blanks = s
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let rest = &s[blanks..];
    if rest.is_empty() {
        // strtod converted nothing and left its end pointer at the start.
        return s.is_empty().then_some(0.0);
    }
    let v = strtod(rest)?;
    let body = match rest[0] {
        b'+' | b'-' => &rest[1..],
        _ => rest,
    };
    let hex = body.len() > 1 && body[0] == b'0' && matches!(body[1], b'x' | b'X');
    if v.is_infinite() {
        let literal = body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity");
        return literal.then_some(v);
    }
    let nonzero_mantissa = if hex {
        body[2..]
            .iter()
            .take_while(|c| !matches!(c, b'p' | b'P'))
            .any(|c| c.is_ascii_hexdigit() && *c != b'0')
    } else {
        body.iter()
            .take_while(|c| !matches!(c, b'e' | b'E'))
            .any(|c| matches!(c, b'1'..=b'9'))
    };
    if v == 0.0 && nonzero_mantissa {
        return None;
    }
    // glibc reports ERANGE for a subnormal result only when it is inexact: always for a
    // decimal (no short decimal is an exact subnormal), never for the hex forms it can hold.
    if v.is_subnormal() && !hex {
        return None;
    }
    Some(v)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` of the
/// pattern is replaced by the element and the key read, as a string, or as a hash whose field
/// follows `->`. None when the key is missing or of another type, the field is missing, or the
/// pattern has no `*`.
fn lookup_by_pattern(e: &mut Engine, db: usize, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    // Redis reads the pattern as a C string for `#`, `*` and `->`, but copies the parts of it
    // around the `*` by length.
    let cpat = c_str(pattern);
    if cpat == b"#" {
        return Some(subst.to_vec());
    }
    let star = cpat.iter().position(|&b| b == b'*')?;
    let field: Option<&[u8]> = cpat[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&arrow| cpat.get(arrow + 2).is_some())
        .map(|arrow| &pattern[arrow + 2..]);
    let tail_len = field.map_or(0, |f| f.len() + 2);
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..pattern.len() - tail_len]);
    let entry = e.read(db, &key)?;
    match (&entry.value, field) {
        (Value::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        (Value::Str(s), None) => Some(s.to_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn engine() -> (Engine, u64) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        (e, c)
    }

    fn bulks(items: &[&str]) -> Reply {
        Reply::Array(items.iter().map(|s| Reply::bulk(s.as_bytes())).collect())
    }

    #[test]
    fn merge_sort_is_stable() {
        let keys = [3, 1, 2, 1, 3, 0, 2];
        let mut order: Vec<usize> = (0..keys.len()).collect();
        merge_sort(&mut order, &mut |a, b| keys[a].cmp(&keys[b]));
        assert_eq!(order, vec![5, 1, 3, 2, 6, 0, 4]);
    }

    #[test]
    fn partial_sort_orders_the_window() {
        let keys: Vec<u32> = (0..200u32).map(|i| (i * 7919) % 211).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        for (lo, hi) in [(0i64, 9i64), (50, 59), (190, 199), (0, 199), (100, 100)] {
            let mut order: Vec<usize> = (0..keys.len()).collect();
            partial_sort(&mut order, lo, hi, &mut |a, b| keys[a].cmp(&keys[b]));
            let got: Vec<u32> = order[lo as usize..=hi as usize]
                .iter()
                .map(|&i| keys[i])
                .collect();
            assert_eq!(
                got,
                sorted[lo as usize..=hi as usize].to_vec(),
                "{lo}..={hi}"
            );
        }
    }

    #[test]
    fn partial_sort_places_ties_as_redis_pqsort() {
        // Every element equal, as in `SORT l BY nokey_* ALPHA LIMIT ...` on Redis 7.0 over
        // RPUSH l 0 1 2 ... : the pivot (the middle element) is swapped to the front, the
        // equal elements gathered at the ends and swapped back.
        let mut order: Vec<usize> = (0..10).collect();
        partial_sort(&mut order, 0, 8, &mut |_, _| Ordering::Equal);
        assert_eq!(order, vec![9, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        let mut order: Vec<usize> = (0..60).collect();
        partial_sort(&mut order, 0, 58, &mut |_, _| Ordering::Equal);
        let mut expected: Vec<usize> = vec![59];
        expected.extend(1..59);
        expected.push(0);
        assert_eq!(order, expected);
        let mut order: Vec<usize> = (0..60).collect();
        partial_sort(&mut order, 5, 7, &mut |_, _| Ordering::Equal);
        assert_eq!(order[5..8], [5, 6, 7]);
        let mut order: Vec<usize> = (0..5).collect();
        partial_sort(&mut order, 0, 2, &mut |_, _| Ordering::Equal);
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"  5"), Some(5.0));
        assert_eq!(sort_score(b"5\0junk"), Some(5.0));
        assert_eq!(sort_score(b"+3"), Some(3.0));
        assert_eq!(sort_score(b"1."), Some(1.0));
        assert_eq!(sort_score(b"1.e2"), Some(100.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(
            sort_score(b"2.2250738585072014e-308"),
            Some(f64::MIN_POSITIVE)
        );
        for bad in [
            &b"   "[..],
            b"5 ",
            b"1e",
            b"nan",
            b"1e400",
            b"1e-310",
            b"1e-400",
            b"abc",
        ] {
            assert_eq!(sort_score(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn sort_numeric_alpha_and_limit() {
        let (mut e, c) = engine();
        e.run(c, &["RPUSH", "l", "3", "10", "2", "1"], 0);
        assert_eq!(e.run(c, &["SORT", "l"], 0), bulks(&["1", "2", "3", "10"]));
        assert_eq!(
            e.run(c, &["SORT", "l", "ALPHA"], 0),
            bulks(&["1", "10", "2", "3"])
        );
        assert_eq!(
            e.run(c, &["SORT", "l", "DESC", "LIMIT", "1", "2"], 0),
            bulks(&["3", "2"])
        );
        e.run(c, &["RPUSH", "bad", "1", "x"], 0);
        assert_eq!(
            e.run(c, &["SORT", "bad"], 0),
            Reply::error(error::SORT_SCORE_NOT_DOUBLE)
        );
        assert_eq!(
            e.run(c, &["SORT_RO", "l", "STORE", "x"], 0),
            Reply::error(error::SYNTAX)
        );
    }

    #[test]
    fn by_and_get_patterns_read_strings_and_hash_fields() {
        let (mut e, c) = engine();
        e.run(c, &["RPUSH", "l", "a", "b", "c"], 0);
        e.run(c, &["MSET", "w_a", "3", "w_b", "1", "w_c", "2"], 0);
        e.run(c, &["HSET", "h_a", "name", "A"], 0);
        e.run(c, &["HSET", "h_c", "name", "C"], 0);
        assert_eq!(
            e.run(c, &["SORT", "l", "BY", "w_*"], 0),
            bulks(&["b", "c", "a"])
        );
        let r = e.run(
            c,
            &["SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->name"],
            0,
        );
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::bulk("b"),
                Reply::Nil,
                Reply::bulk("c"),
                Reply::bulk("C"),
                Reply::bulk("a"),
                Reply::bulk("A"),
            ])
        );
        // BY without `*`: the list's own order, reversed by DESC, paged by LIMIT.
        assert_eq!(
            e.run(
                c,
                &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "0", "2"],
                0
            ),
            bulks(&["c", "b"])
        );
    }

    #[test]
    fn store_writes_a_list_and_deletes_on_empty() {
        let (mut e, c) = engine();
        e.run(c, &["SADD", "s", "3", "1", "2"], 0);
        assert_eq!(
            e.run(c, &["SORT", "s", "STORE", "dst"], 0),
            Reply::Integer(3)
        );
        assert_eq!(
            e.run(c, &["LRANGE", "dst", "0", "-1"], 0),
            bulks(&["1", "2", "3"])
        );
        assert_eq!(
            e.run(c, &["SORT", "s", "LIMIT", "5", "5", "STORE", "dst"], 0),
            Reply::Integer(0)
        );
        assert_eq!(e.run(c, &["EXISTS", "dst"], 0), Reply::Integer(0));
    }

    fn keyspace_ops(e: &mut Engine) -> Vec<(String, &'static str)> {
        e.drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                Event::Keyspace { key, op, .. } => Some((String::from_utf8_lossy(&key).into(), op)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn store_notifies_sortstore_and_del() {
        let (mut e, c) = engine();
        e.run(c, &["RPUSH", "l", "2", "1"], 0);
        e.drain_events();
        e.run(c, &["SORT", "l", "STORE", "dst"], 0);
        assert_eq!(keyspace_ops(&mut e), vec![("dst".to_string(), "sortstore")]);
        e.run(c, &["SORT", "l", "LIMIT", "0", "0", "STORE", "dst"], 0);
        assert_eq!(keyspace_ops(&mut e), vec![("dst".to_string(), "del")]);
        e.run(c, &["SORT", "l", "LIMIT", "0", "0", "STORE", "dst"], 0);
        assert_eq!(keyspace_ops(&mut e), vec![]);
        e.run(c, &["SORT", "l"], 0);
        assert_eq!(keyspace_ops(&mut e), vec![]);
    }

    #[test]
    fn sorting_a_listpack_sorted_set_converts_it() {
        let (mut e, c) = engine();
        e.run(c, &["ZADD", "z", "2", "b", "1", "a"], 0);
        e.drain_events();
        assert_eq!(
            e.run(c, &["SORT_RO", "z", "BY", "x", "DESC"], 0),
            bulks(&["b", "a"])
        );
        assert_eq!(
            e.run(c, &["OBJECT", "ENCODING", "z"], 0),
            Reply::bulk("skiplist")
        );
        assert!(e
            .drain_events()
            .iter()
            .any(|ev| matches!(ev, Event::EncodingChanged { to: "skiplist", .. })));
    }
}
