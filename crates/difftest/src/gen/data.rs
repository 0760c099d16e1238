//! Rows for the data-type commands: lists, hashes, sets, sorted sets, bitmaps, HyperLogLog,
//! GEO, SORT, streams, and transactions around any of the rows.
//!
//! Each type has a few keys of its own, so that most calls find a value of the right type and
//! grow it; about one call in eight takes a key of another type (or a string key) for WRONGTYPE.
//!
//! What is left out, because two correct servers may answer differently: random picks (SPOP,
//! SRANDMEMBER, HRANDFIELD, ZRANDMEMBER), blocking commands, stream ids made from the clock (`*`)
//! and approximate trimming (`~`). Replies in hash-table order (HGETALL, HKEYS, HVALS, SMEMBERS,
//! SINTER, SUNION, SDIFF) are compared as multisets, and are never put in a transaction (EXEC's
//! reply would hold them in order). Scores and increments are exact in binary, so that every
//! printed double is the same however it was computed. Members are ASCII, so that SORT ALPHA
//! (strcoll in Redis) orders them by bytes. GEO members each have one position of their own,
//! so that searches sorted by distance have no ties.

use super::*;

const LIST_KEYS: &[&str] = &["l0", "l1", "l2"];
const HASH_KEYS: &[&str] = &["h0", "h1", "h2"];
const SET_KEYS: &[&str] = &["s0", "s1", "s2"];
const ZSET_KEYS: &[&str] = &["z0", "z1", "z2"];
/// Sorted sets whose members all have score 0, the only ones lex ranges are asked about: with
/// mixed scores a lex walk's answer depends on a skiplist's random levels.
/// Only `ZADD ... 0 member` writes them; no other key pool hands them out.
const LEX_KEYS: &[&str] = &["zl0", "zl1"];
const BIT_KEYS: &[&str] = &["b0", "b1", "b2"];
const HLL_KEYS: &[&str] = &["p0", "p1", "p2"];
const GEO_KEYS: &[&str] = &["g0", "g1"];
const STREAM_KEYS: &[&str] = &["x0", "x1"];
const ALL_POOLS: &[&[&str]] = &[
    LIST_KEYS,
    HASH_KEYS,
    SET_KEYS,
    ZSET_KEYS,
    BIT_KEYS,
    HLL_KEYS,
    GEO_KEYS,
    STREAM_KEYS,
];

const MEMBERS: &[&str] = &[
    "a", "b", "c", "d", "foo", "bar", "x y", "", "A", "zz", "1.5", "01", "-",
];
const INT_MEMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "5",
    "7",
    "10",
    "42",
    "-1",
    "-7",
    "100",
    "1000",
    "65536",
    "9223372036854775807",
    "-9223372036854775808",
];
const FIELDS: &[&str] = &["f0", "f1", "f2", "f3", "f4", "", "a b", "1", "n"];
const LIST_INDEXES: &[&str] = &["0", "1", "2", "-1", "-2", "3", "10", "-10", "100", "-100"];
const COUNTS: &[&str] = &["0", "1", "2", "3", "5", "10", "100", "-1"];
/// Scores exact in binary, so sums and products print the same everywhere.
const SCORES: &[&str] = &[
    "0", "1", "2", "3", "-1", "1.5", "-2.5", "0.25", "10", "100", "1e3", "inf", "-inf", "+inf",
    "0.5", "-0",
];
const BAD_SCORES: &[&str] = &["abc", "nan", "", "1.5x", "--1"];
const SCORE_BOUNDS: &[&str] = &[
    "-inf", "+inf", "inf", "0", "1", "(1", "2", "(2.5", "10", "-1", "(0", "1.5", "abc", "(", "nan",
];
const LEX_BOUNDS: &[&str] = &[
    "-", "+", "[a", "(a", "[b", "(c", "[foo", "[", "(", "a", "[zz", "[0",
];
const WEIGHTS: &[&str] = &["1", "2", "0.5", "-1", "0", "inf", "abc", "3"];
const FLOAT_STEPS: &[&str] = &[
    "0.5", "1.5", "-0.25", "2", "1e3", "-8", "0", "inf", "abc", "1e",
];
const BIT_OFFSETS: &[&str] = &["0", "1", "7", "8", "15", "31", "63", "100", "200", "1000"];
const BAD_BIT_OFFSETS: &[&str] = &["-1", "abc", "4294967296", "1.5"];
const BITFIELD_TYPES: &[&str] = &["u8", "i8", "u4", "i16", "u1", "i64", "u63", "i5"];
const BAD_BITFIELD_TYPES: &[&str] = &["u64", "i65", "x8", "u0", "i", ""];
const BITFIELD_OFFSETS: &[&str] = &["0", "3", "7", "8", "13", "64", "#0", "#1", "#3"];
const BAD_BITFIELD_OFFSETS: &[&str] = &["-1", "abc", "#-1", "#"];
/// Positions of GEO members: member `m<i>` is always at `POINTS[i]`.
const POINTS: &[(&str, &str)] = &[
    ("13.361389", "38.115556"),
    ("15.087269", "37.502669"),
    ("2.3522", "48.8566"),
    ("-0.1276", "51.5072"),
    ("139.6917", "35.6895"),
    ("-73.9857", "40.7484"),
    ("0", "0"),
    ("-179.5", "-84.9"),
    ("12.5", "41.9"),
];
const BAD_POINTS: &[(&str, &str)] = &[("200", "0"), ("0", "86"), ("abc", "1"), ("1", "")];
const GEO_UNITS: &[&str] = &["m", "km", "mi", "ft"];
const RADII: &[&str] = &["0", "1", "100", "500", "1000", "5000", "20000"];
const STREAM_FIELDS: &[&str] = &["f", "g", "name", ""];

/// A key of `pool`, sometimes another type's or a string key's (WRONGTYPE).
fn typed(g: &mut Gen, pool: &[&str]) -> Vec<u8> {
    match g.rng.below(16) {
        0 => any_typed_key(g),
        1 => {
            let k = g.rng.pick(&KEYS[..6]);
            k.to_vec()
        }
        _ => g.pick(pool),
    }
}

/// A key of any data-type pool.
pub(super) fn any_typed_key(g: &mut Gen) -> Vec<u8> {
    let pool = *g.rng.pick(ALL_POOLS);
    g.pick(pool)
}

/// A key to inspect (TYPE, OBJECT ENCODING) or delete: any data-type key, lex ones included.
fn inspect_key(g: &mut Gen) -> Vec<u8> {
    if g.rng.percent(10) {
        g.pick(LEX_KEYS)
    } else {
        any_typed_key(g)
    }
}

/// A key for a lex range: one of `LEX_KEYS`, or one of another type (WRONGTYPE). Never a
/// sorted set of another pool.
fn lex_key(g: &mut Gen) -> Vec<u8> {
    if g.rng.percent(8) {
        let pool = *g
            .rng
            .pick(&[LIST_KEYS, HASH_KEYS, SET_KEYS, BIT_KEYS, STREAM_KEYS]);
        g.pick(pool)
    } else {
        g.pick(LEX_KEYS)
    }
}

fn build_zadd_lex(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name("ZADD"), g.pick(LEX_KEYS)];
    if g.rng.percent(30) {
        argv.push(g.name_of(&["NX", "XX", "CH", "GT", "LT"]));
    }
    for _ in 0..1 + g.rng.below(4) {
        argv.push(w("0"));
        argv.push(member(g));
    }
    Some(argv)
}

fn member(g: &mut Gen) -> Vec<u8> {
    match g.rng.below(20) {
        0..=8 => g.pick(INT_MEMBERS),
        9 => {
            // Long enough to leave the compact encodings (64 bytes).
            let len = *g.rng.pick(&[64u64, 65, 100]);
            let c = b'a' + g.rng.below(3) as u8;
            vec![c; len as usize]
        }
        _ => g.pick(MEMBERS),
    }
}

fn members(g: &mut Gen, argv: &mut Vec<Vec<u8>>, most: u64) {
    for _ in 0..1 + g.rng.below(most) {
        argv.push(member(g));
    }
}

fn count_arg(g: &mut Gen) -> Vec<u8> {
    g.int_or_bad(COUNTS)
}

fn score(g: &mut Gen) -> Vec<u8> {
    if g.rng.percent(6) {
        g.pick(BAD_SCORES)
    } else {
        g.pick(SCORES)
    }
}

fn side(g: &mut Gen) -> Vec<u8> {
    if g.rng.percent(5) {
        g.pick(&["UP", "", "LEFTT"])
    } else {
        g.name_of(&["LEFT", "RIGHT"])
    }
}

/// `numkeys key...`, numkeys sometimes wrong.
fn numkeys(g: &mut Gen, argv: &mut Vec<Vec<u8>>, pool: &[&str]) {
    let n = 1 + g.rng.below(3);
    let shown = match g.rng.below(14) {
        0 => w("0"),
        1 => w("-1"),
        2 => w("abc"),
        3 => (n + 1).to_string().into_bytes(),
        _ => n.to_string().into_bytes(),
    };
    argv.push(shown);
    for _ in 0..n {
        argv.push(typed(g, pool));
    }
}

// ---- lists ---------------------------------------------------------------------------------

fn build_push(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd), typed(g, LIST_KEYS)];
    members(g, &mut argv, 4);
    Some(argv)
}

fn build_pop(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd), typed(g, LIST_KEYS)];
    if g.rng.percent(50) {
        argv.push(count_arg(g));
    }
    Some(argv)
}

fn build_lpos(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name("LPOS"), typed(g, LIST_KEYS), member(g)];
    for _ in 0..g.rng.below(3) {
        match g.rng.below(7) {
            0 | 1 => {
                argv.push(g.name("RANK"));
                argv.push(g.int_or_bad(&["1", "2", "-1", "-2", "0", "-9223372036854775808"]));
            }
            2 | 3 => {
                argv.push(g.name("COUNT"));
                argv.push(g.int_or_bad(&["0", "1", "2", "5", "-1"]));
            }
            4 | 5 => {
                argv.push(g.name("MAXLEN"));
                argv.push(g.int_or_bad(&["0", "1", "3", "100", "-1"]));
            }
            _ => argv.push(g.unknown_option()),
        }
    }
    Some(argv)
}

fn build_lmpop(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name("LMPOP")];
    numkeys(g, &mut argv, LIST_KEYS);
    argv.push(side(g));
    if g.rng.percent(50) {
        argv.push(g.name("COUNT"));
        argv.push(count_arg(g));
    }
    Some(argv)
}

// ---- hashes --------------------------------------------------------------------------------

fn field(g: &mut Gen) -> Vec<u8> {
    g.pick(FIELDS)
}

fn hash_value(g: &mut Gen) -> Vec<u8> {
    if g.rng.percent(10) {
        g.value()
    } else {
        member(g)
    }
}

fn build_hset(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd), typed(g, HASH_KEYS)];
    for _ in 0..1 + g.rng.below(3) {
        argv.push(field(g));
        argv.push(hash_value(g));
    }
    if g.rng.percent(5) {
        argv.pop();
    }
    Some(argv)
}

fn build_fields(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd), typed(g, HASH_KEYS)];
    for _ in 0..1 + g.rng.below(3) {
        argv.push(field(g));
    }
    Some(argv)
}

// ---- sets ----------------------------------------------------------------------------------

fn build_set_keys(g: &mut Gen, cmd: &str, store: bool) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd)];
    if store {
        argv.push(typed(g, SET_KEYS));
    } else {
        g.set_unordered();
    }
    for _ in 0..1 + g.rng.below(3) {
        argv.push(typed(g, SET_KEYS));
    }
    Some(argv)
}

// ---- sorted sets ---------------------------------------------------------------------------

fn build_zadd(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    if g.rng.percent(25) {
        return build_zadd_lex(g);
    }
    let mut argv = vec![g.name("ZADD"), typed(g, ZSET_KEYS)];
    let mut incr = false;
    for _ in 0..*g.rng.pick(&[0u64, 0, 1, 1, 2, 3]) {
        match g.rng.below(9) {
            0 => argv.push(g.name("NX")),
            1 => argv.push(g.name("XX")),
            2 => argv.push(g.name("GT")),
            3 => argv.push(g.name("LT")),
            4 | 5 => argv.push(g.name("CH")),
            6 | 7 => {
                argv.push(g.name("INCR"));
                incr = true;
            }
            _ => argv.push(g.unknown_option()),
        }
    }
    let pairs = if incr && g.rng.percent(80) {
        1
    } else {
        1 + g.rng.below(3)
    };
    for _ in 0..pairs {
        argv.push(score(g));
        argv.push(member(g));
    }
    if g.rng.percent(4) {
        argv.pop();
    }
    Some(argv)
}

fn build_zrange(g: &mut Gen, store: bool) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(if store { "ZRANGESTORE" } else { "ZRANGE" })];
    if store {
        argv.push(typed(g, ZSET_KEYS));
    }
    // 0: by rank, 1: BYSCORE, 2: BYLEX; the bounds mostly fit the mode.
    let by = g.rng.below(3);
    let bounds = if g.rng.percent(10) {
        g.rng.below(3)
    } else {
        by
    };
    argv.push(if by == 2 {
        lex_key(g)
    } else {
        typed(g, ZSET_KEYS)
    });
    let (lo, hi) = match bounds {
        0 => (g.int_or_bad(LIST_INDEXES), g.int_or_bad(LIST_INDEXES)),
        1 => (g.pick(SCORE_BOUNDS), g.pick(SCORE_BOUNDS)),
        _ => (g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS)),
    };
    argv.push(lo);
    argv.push(hi);
    let mut options = Vec::new();
    match by {
        1 => options.push(vec![g.name("BYSCORE")]),
        2 => options.push(vec![g.name("BYLEX")]),
        _ => {}
    }
    if g.rng.percent(35) {
        options.push(vec![g.name("REV")]);
    }
    if g.rng.percent(30) {
        options.push(vec![
            g.name("LIMIT"),
            g.int_or_bad(&["0", "1", "2", "-1"]),
            g.int_or_bad(&["1", "2", "5", "-1", "0"]),
        ]);
    }
    if !store && g.rng.percent(40) {
        options.push(vec![g.name("WITHSCORES")]);
    }
    if g.rng.percent(4) {
        options.push(vec![g.unknown_option()]);
    }
    while !options.is_empty() {
        let i = g.rng.below(options.len() as u64) as usize;
        argv.extend(options.remove(i));
    }
    Some(argv)
}

fn build_zrange_old(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let lex = cmd.ends_with("LEX");
    let key = if lex { lex_key(g) } else { typed(g, ZSET_KEYS) };
    let mut argv = vec![g.name(cmd), key];
    let (lo, hi) = if lex {
        (g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS))
    } else {
        (g.pick(SCORE_BOUNDS), g.pick(SCORE_BOUNDS))
    };
    argv.push(lo);
    argv.push(hi);
    if !lex && g.rng.percent(40) {
        argv.push(g.name("WITHSCORES"));
    }
    if g.rng.percent(30) {
        argv.push(g.name("LIMIT"));
        argv.push(g.int_or_bad(&["0", "1", "2"]));
        argv.push(g.int_or_bad(&["1", "2", "-1"]));
    }
    Some(argv)
}

fn build_zsetop(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let store = cmd.ends_with("STORE");
    let mut argv = vec![g.name(cmd)];
    if store {
        argv.push(typed(g, ZSET_KEYS));
    }
    let n = 1 + g.rng.below(3);
    argv.push(if g.rng.percent(8) {
        g.pick(&["0", "-1", "abc", "5"])
    } else {
        n.to_string().into_bytes()
    });
    for _ in 0..n {
        // Sets take part as members with score 1.
        let key = if g.rng.percent(25) {
            typed(g, SET_KEYS)
        } else {
            typed(g, ZSET_KEYS)
        };
        argv.push(key);
    }
    let diff = cmd.starts_with("ZDIFF");
    if !diff && g.rng.percent(35) {
        argv.push(g.name("WEIGHTS"));
        let count = if g.rng.percent(10) { n + 1 } else { n };
        for _ in 0..count {
            argv.push(g.pick(WEIGHTS));
        }
    }
    if !diff && g.rng.percent(35) {
        argv.push(g.name("AGGREGATE"));
        argv.push(g.pick(&["SUM", "MIN", "MAX", "max", "AVG"]));
    }
    if !store && g.rng.percent(40) {
        argv.push(g.name("WITHSCORES"));
    }
    if g.rng.percent(4) {
        argv.push(g.unknown_option());
    }
    Some(argv)
}

fn build_intercard(g: &mut Gen, cmd: &str, pool: &[&str]) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd)];
    numkeys(g, &mut argv, pool);
    if g.rng.percent(35) {
        argv.push(g.name("LIMIT"));
        argv.push(g.int_or_bad(&["0", "1", "2", "-1"]));
    }
    Some(argv)
}

// ---- bitmaps -------------------------------------------------------------------------------

fn bit_offset(g: &mut Gen) -> Vec<u8> {
    if g.rng.percent(8) {
        g.pick(BAD_BIT_OFFSETS)
    } else {
        g.pick(BIT_OFFSETS)
    }
}

fn build_bitrange(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(cmd), typed(g, BIT_KEYS)];
    if cmd == "BITPOS" {
        argv.push(g.pick(&["0", "1", "1", "0", "2", "abc"]));
    }
    let words = g.rng.below(4);
    if words >= 1 {
        argv.push(g.int_or_bad(&["0", "1", "-1", "2", "-3", "10", "100"]));
    }
    if words >= 2 || (cmd == "BITCOUNT" && words == 1 && g.rng.percent(90)) {
        argv.push(g.int_or_bad(&["0", "1", "-1", "2", "5", "-100", "100"]));
    }
    if words >= 3 {
        argv.push(if g.rng.percent(10) {
            g.unknown_option()
        } else {
            g.name_of(&["BYTE", "BIT"])
        });
    }
    Some(argv)
}

fn build_bitfield(g: &mut Gen, ro: bool) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![
        g.name(if ro { "BITFIELD_RO" } else { "BITFIELD" }),
        typed(g, BIT_KEYS),
    ];
    for _ in 0..g.rng.below(4) {
        let op = if ro { 0 } else { g.rng.below(8) };
        let ty = if g.rng.percent(6) {
            g.pick(BAD_BITFIELD_TYPES)
        } else {
            g.pick(BITFIELD_TYPES)
        };
        let off = if g.rng.percent(6) {
            g.pick(BAD_BITFIELD_OFFSETS)
        } else {
            g.pick(BITFIELD_OFFSETS)
        };
        match op {
            0 | 1 => argv.extend([g.name("GET"), ty, off]),
            2 | 3 => {
                let v = g.int_or_bad(&["0", "1", "-1", "100", "255", "-129", "300", "127"]);
                argv.extend([g.name("SET"), ty, off, v]);
            }
            4 | 5 => {
                let v = g.int_or_bad(&["1", "-1", "10", "100", "200", "-300"]);
                argv.extend([g.name("INCRBY"), ty, off, v]);
            }
            6 => {
                let how = g.pick(&["WRAP", "SAT", "FAIL", "sat", "NONE"]);
                argv.extend([g.name("OVERFLOW"), how]);
            }
            _ => argv.push(g.unknown_option()),
        }
    }
    Some(argv)
}

// ---- GEO -----------------------------------------------------------------------------------

fn geo_member(g: &mut Gen) -> (Vec<u8>, usize) {
    let i = g.rng.below(POINTS.len() as u64) as usize;
    (format!("m{i}").into_bytes(), i)
}

fn geo_center(g: &mut Gen, argv: &mut Vec<Vec<u8>>) {
    if g.rng.percent(50) {
        argv.push(g.name("FROMMEMBER"));
        argv.push(if g.rng.percent(8) {
            w("nosuch")
        } else {
            geo_member(g).0
        });
    } else {
        argv.push(g.name("FROMLONLAT"));
        let (lon, lat) = if g.rng.percent(6) {
            *g.rng.pick(BAD_POINTS)
        } else {
            // Centers away from the members, so that no two members are equally far.
            *g.rng
                .pick(&[("10", "40"), ("14", "37"), ("1", "50"), ("-70", "42")])
        };
        argv.push(w(lon));
        argv.push(w(lat));
    }
}

fn build_geosearch(g: &mut Gen, store: bool) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name(if store { "GEOSEARCHSTORE" } else { "GEOSEARCH" })];
    if store {
        argv.push(typed(g, GEO_KEYS));
    }
    argv.push(typed(g, GEO_KEYS));
    let mut options = Vec::new();
    let mut center = Vec::new();
    geo_center(g, &mut center);
    options.push(center);
    let radius = g.pick(RADII);
    let unit = if g.rng.percent(5) {
        w("yd")
    } else {
        g.pick(GEO_UNITS)
    };
    if g.rng.percent(60) {
        options.push(vec![g.name("BYRADIUS"), radius, unit]);
    } else {
        let h = g.pick(RADII);
        options.push(vec![g.name("BYBOX"), radius, h, unit]);
    }
    // A sorted reply: without ASC/DESC the order is that of the index walk.
    if g.rng.percent(96) {
        options.push(vec![g.name_of(&["ASC", "DESC"])]);
    }
    if g.rng.percent(40) {
        options.push(vec![
            g.name("COUNT"),
            g.int_or_bad(&["1", "2", "3", "0", "-1"]),
        ]);
    }
    if store {
        if g.rng.percent(30) {
            options.push(vec![g.name("STOREDIST")]);
        }
    } else {
        for opt in ["WITHCOORD", "WITHDIST", "WITHHASH"] {
            if g.rng.percent(35) {
                options.push(vec![g.name(opt)]);
            }
        }
    }
    if g.rng.percent(4) {
        options.push(vec![g.unknown_option()]);
    }
    if g.rng.percent(4) {
        // Two centers or a missing shape.
        options.swap_remove(1);
    }
    while !options.is_empty() {
        let i = g.rng.below(options.len() as u64) as usize;
        argv.extend(options.remove(i));
    }
    Some(argv)
}

// ---- streams -------------------------------------------------------------------------------

fn stream_id(g: &mut Gen) -> Vec<u8> {
    match g.rng.below(10) {
        0 => g.pick(&["-", "+"]),
        1 => g.pick(&["abc", "1-x", "-1", "18446744073709551616"]),
        2 => format!("({}", 1 + g.rng.below(60)).into_bytes(),
        3 => format!("{}-{}", 1 + g.rng.below(60), g.rng.below(3)).into_bytes(),
        _ => (1 + g.rng.below(60)).to_string().into_bytes(),
    }
}

fn build_xadd(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let key = typed(g, STREAM_KEYS);
    let mut argv = vec![g.name("XADD"), key];
    if g.rng.percent(10) {
        argv.push(g.name("NOMKSTREAM"));
    }
    match g.rng.below(10) {
        0 => {
            argv.push(g.name("MAXLEN"));
            argv.push(g.int_or_bad(&["0", "1", "3", "10"]));
        }
        1 => {
            argv.push(g.name("MAXLEN"));
            argv.push(w("="));
            argv.push(g.int_or_bad(&["2", "5"]));
        }
        2 => {
            argv.push(g.name("MINID"));
            argv.push(stream_id(g));
        }
        _ => {}
    }
    // Ids climb with the sequence: mostly new ones, sometimes one not above the top (refused).
    g.stream_ms += g.rng.below(3);
    let id = match g.rng.below(12) {
        0 => w("0-0"),
        1 => format!("{}-*", g.stream_ms).into_bytes(),
        2 => format!("{}", g.stream_ms).into_bytes(),
        3 => format!("{}-1", g.stream_ms.saturating_sub(5)).into_bytes(),
        4 => g.pick(&[
            "abc",
            "1-",
            "-5",
            "18446744073709551615-18446744073709551615",
        ]),
        _ => format!("{}-{}", g.stream_ms, g.rng.below(4)).into_bytes(),
    };
    argv.push(id);
    for _ in 0..1 + g.rng.below(2) {
        argv.push(g.pick(STREAM_FIELDS));
        argv.push(member(g));
    }
    if g.rng.percent(4) {
        argv.pop();
    }
    Some(argv)
}

fn build_xrange(g: &mut Gen, cmd: &str) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![
        g.name(cmd),
        typed(g, STREAM_KEYS),
        stream_id(g),
        stream_id(g),
    ];
    if g.rng.percent(40) {
        argv.push(g.name("COUNT"));
        argv.push(g.int_or_bad(&["0", "1", "2", "5", "-1"]));
    }
    Some(argv)
}

fn build_xtrim(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    let mut argv = vec![g.name("XTRIM"), typed(g, STREAM_KEYS)];
    if g.rng.percent(50) {
        argv.push(g.name("MAXLEN"));
        if g.rng.percent(30) {
            argv.push(w("="));
        }
        argv.push(g.int_or_bad(&["0", "1", "2", "5", "-1"]));
    } else if g.rng.percent(90) {
        argv.push(g.name("MINID"));
        if g.rng.percent(30) {
            argv.push(w("="));
        }
        argv.push(stream_id(g));
    } else {
        argv.push(g.unknown_option());
        argv.push(w("1"));
    }
    Some(argv)
}

// ---- SORT ----------------------------------------------------------------------------------

fn build_sort(g: &mut Gen, ro: bool) -> Option<Vec<Vec<u8>>> {
    let pool = *g.rng.pick(&[LIST_KEYS, SET_KEYS, ZSET_KEYS, LIST_KEYS]);
    let mut argv = vec![g.name(if ro { "SORT_RO" } else { "SORT" }), typed(g, pool)];
    let mut options = Vec::new();
    if g.rng.percent(35) {
        options.push(vec![
            g.name("LIMIT"),
            g.int_or_bad(&["0", "1", "2", "-1"]),
            g.int_or_bad(&["1", "2", "5", "-1", "0"]),
        ]);
    }
    if g.rng.percent(40) {
        options.push(vec![g.name_of(&["ASC", "DESC"])]);
    }
    if g.rng.percent(40) {
        options.push(vec![g.name("ALPHA")]);
    }
    if !ro && g.rng.percent(25) {
        options.push(vec![g.name("STORE"), typed(g, LIST_KEYS)]);
    }
    if g.rng.percent(4) {
        options.push(vec![g.unknown_option()]);
    }
    while !options.is_empty() {
        let i = g.rng.below(options.len() as u64) as usize;
        argv.extend(options.remove(i));
    }
    Some(argv)
}

// ---- transactions --------------------------------------------------------------------------

fn build_multi(g: &mut Gen) -> Option<Vec<Vec<u8>>> {
    if g.in_multi {
        // A nested MULTI is refused; its body would be the outer one's.
        return Some(vec![g.name("MULTI")]);
    }
    // SELECT and SWAPDB would move the generator's picture of the databases whether or not
    // the transaction runs; everything else is tracked conservatively (`failing`).
    let inner: Vec<&Spec> = all_rows()
        .filter(|s| !s.unordered && !matches!(s.name, "select" | "swapdb" | "multi"))
        .collect();
    g.in_multi = true;
    let n = 1 + g.rng.below(4);
    let mut body = Vec::new();
    while body.len() < n as usize {
        let s = g.draw(&inner);
        if !s.unordered {
            body.push(s);
        }
    }
    g.in_multi = false;
    g.failing = false;
    g.unordered = false;
    let end = if g.rng.percent(85) {
        g.name("EXEC")
    } else {
        g.name("DISCARD")
    };
    g.pending.extend(body);
    g.pending.push_back(GenStep {
        argv: vec![end],
        unordered: false,
    });
    Some(vec![g.name("MULTI")])
}

pub const DATA_COMMANDS: &[Spec] = &[
    // lists
    row!("lpush", -3, 10, |g| build_push(g, "LPUSH")),
    row!("rpush", -3, 10, |g| build_push(g, "RPUSH")),
    row!("lpushx", -3, 3, |g| build_push(g, "LPUSHX")),
    row!("rpushx", -3, 3, |g| build_push(g, "RPUSHX")),
    row!("lpop", -2, 5, |g| build_pop(g, "LPOP")),
    row!("rpop", -2, 5, |g| build_pop(g, "RPOP")),
    row!("llen", 2, 4, |g| Some(vec![
        g.name("LLEN"),
        typed(g, LIST_KEYS)
    ])),
    row!("lrange", 4, 8, |g| Some(vec![
        g.name("LRANGE"),
        typed(g, LIST_KEYS),
        g.int_or_bad(LIST_INDEXES),
        g.int_or_bad(LIST_INDEXES)
    ])),
    row!("lindex", 3, 4, |g| Some(vec![
        g.name("LINDEX"),
        typed(g, LIST_KEYS),
        g.int_or_bad(LIST_INDEXES)
    ])),
    row!("lset", 4, 4, |g| Some(vec![
        g.name("LSET"),
        typed(g, LIST_KEYS),
        g.int_or_bad(LIST_INDEXES),
        member(g)
    ])),
    row!("linsert", 5, 4, |g| {
        let wh = if g.rng.percent(8) {
            g.pick(&["MIDDLE", "BEFOR"])
        } else {
            g.name_of(&["BEFORE", "AFTER"])
        };
        Some(vec![
            g.name("LINSERT"),
            typed(g, LIST_KEYS),
            wh,
            member(g),
            member(g),
        ])
    }),
    row!("lrem", 4, 4, |g| Some(vec![
        g.name("LREM"),
        typed(g, LIST_KEYS),
        g.int_or_bad(&["0", "1", "2", "-1", "-2", "5"]),
        member(g)
    ])),
    row!("ltrim", 4, 3, |g| Some(vec![
        g.name("LTRIM"),
        typed(g, LIST_KEYS),
        g.int_or_bad(LIST_INDEXES),
        g.int_or_bad(LIST_INDEXES)
    ])),
    row!("lpos", -3, 4, build_lpos),
    row!("lmove", 5, 4, |g| Some(vec![
        g.name("LMOVE"),
        typed(g, LIST_KEYS),
        typed(g, LIST_KEYS),
        side(g),
        side(g)
    ])),
    row!("rpoplpush", 3, 3, |g| Some(vec![
        g.name("RPOPLPUSH"),
        typed(g, LIST_KEYS),
        typed(g, LIST_KEYS)
    ])),
    row!("lmpop", -4, 4, build_lmpop),
    // hashes
    row!("hset", -4, 10, |g| build_hset(g, "HSET")),
    row!("hmset", -4, 2, |g| build_hset(g, "HMSET")),
    row!("hsetnx", 4, 3, |g| Some(vec![
        g.name("HSETNX"),
        typed(g, HASH_KEYS),
        field(g),
        hash_value(g)
    ])),
    row!("hget", 3, 6, |g| Some(vec![
        g.name("HGET"),
        typed(g, HASH_KEYS),
        field(g)
    ])),
    row!("hmget", -3, 4, |g| build_fields(g, "HMGET")),
    row!("hdel", -3, 4, |g| build_fields(g, "HDEL")),
    row!("hlen", 2, 3, |g| Some(vec![
        g.name("HLEN"),
        typed(g, HASH_KEYS)
    ])),
    row!("hexists", 3, 3, |g| Some(vec![
        g.name("HEXISTS"),
        typed(g, HASH_KEYS),
        field(g)
    ])),
    row!(
        "hgetall",
        2,
        4,
        |g| Some(vec![g.name("HGETALL"), typed(g, HASH_KEYS)]),
        unordered
    ),
    row!(
        "hkeys",
        2,
        2,
        |g| Some(vec![g.name("HKEYS"), typed(g, HASH_KEYS)]),
        unordered
    ),
    row!(
        "hvals",
        2,
        2,
        |g| Some(vec![g.name("HVALS"), typed(g, HASH_KEYS)]),
        unordered
    ),
    row!("hincrby", 4, 5, |g| Some(vec![
        g.name("HINCRBY"),
        typed(g, HASH_KEYS),
        field(g),
        g.int_or_bad(INCR_AMOUNTS)
    ])),
    row!("hincrbyfloat", 4, 4, |g| Some(vec![
        g.name("HINCRBYFLOAT"),
        typed(g, HASH_KEYS),
        field(g),
        g.pick(FLOAT_STEPS)
    ])),
    row!("hstrlen", 3, 3, |g| Some(vec![
        g.name("HSTRLEN"),
        typed(g, HASH_KEYS),
        field(g)
    ])),
    // sets
    row!("sadd", -3, 10, |g| {
        let mut argv = vec![g.name("SADD"), typed(g, SET_KEYS)];
        members(g, &mut argv, 4);
        Some(argv)
    }),
    row!("srem", -3, 4, |g| {
        let mut argv = vec![g.name("SREM"), typed(g, SET_KEYS)];
        members(g, &mut argv, 3);
        Some(argv)
    }),
    row!("sismember", 3, 4, |g| Some(vec![
        g.name("SISMEMBER"),
        typed(g, SET_KEYS),
        member(g)
    ])),
    row!("smismember", -3, 3, |g| {
        let mut argv = vec![g.name("SMISMEMBER"), typed(g, SET_KEYS)];
        members(g, &mut argv, 3);
        Some(argv)
    }),
    row!("scard", 2, 3, |g| Some(vec![
        g.name("SCARD"),
        typed(g, SET_KEYS)
    ])),
    row!("smove", 4, 3, |g| Some(vec![
        g.name("SMOVE"),
        typed(g, SET_KEYS),
        typed(g, SET_KEYS),
        member(g)
    ])),
    row!("sintercard", -3, 3, |g| build_intercard(
        g,
        "SINTERCARD",
        SET_KEYS
    )),
    row!(
        "smembers",
        2,
        4,
        |g| Some(vec![g.name("SMEMBERS"), typed(g, SET_KEYS)]),
        unordered
    ),
    row!("sinter", -2, 2, |g| build_set_keys(g, "SINTER", false)),
    row!("sunion", -2, 2, |g| build_set_keys(g, "SUNION", false)),
    row!("sdiff", -2, 2, |g| build_set_keys(g, "SDIFF", false)),
    row!("sinterstore", -3, 2, |g| build_set_keys(
        g,
        "SINTERSTORE",
        true
    )),
    row!("sunionstore", -3, 2, |g| build_set_keys(
        g,
        "SUNIONSTORE",
        true
    )),
    row!("sdiffstore", -3, 2, |g| build_set_keys(
        g,
        "SDIFFSTORE",
        true
    )),
    // sorted sets
    row!("zadd", -4, 12, build_zadd),
    row!("zincrby", 4, 4, |g| Some(vec![
        g.name("ZINCRBY"),
        typed(g, ZSET_KEYS),
        score(g),
        member(g)
    ])),
    row!("zscore", 3, 4, |g| Some(vec![
        g.name("ZSCORE"),
        typed(g, ZSET_KEYS),
        member(g)
    ])),
    row!("zmscore", -3, 3, |g| {
        let mut argv = vec![g.name("ZMSCORE"), typed(g, ZSET_KEYS)];
        members(g, &mut argv, 3);
        Some(argv)
    }),
    row!("zcard", 2, 3, |g| Some(vec![
        g.name("ZCARD"),
        typed(g, ZSET_KEYS)
    ])),
    row!("zcount", 4, 3, |g| Some(vec![
        g.name("ZCOUNT"),
        typed(g, ZSET_KEYS),
        g.pick(SCORE_BOUNDS),
        g.pick(SCORE_BOUNDS)
    ])),
    row!("zlexcount", 4, 3, |g| Some(vec![
        g.name("ZLEXCOUNT"),
        lex_key(g),
        g.pick(LEX_BOUNDS),
        g.pick(LEX_BOUNDS)
    ])),
    row!("zrank", 3, 3, |g| Some(vec![
        g.name("ZRANK"),
        typed(g, ZSET_KEYS),
        member(g)
    ])),
    row!("zrevrank", 3, 3, |g| Some(vec![
        g.name("ZREVRANK"),
        typed(g, ZSET_KEYS),
        member(g)
    ])),
    row!("zrange", -4, 10, |g| build_zrange(g, false)),
    row!("zrangestore", -5, 3, |g| build_zrange(g, true)),
    row!("zrangebyscore", -4, 2, |g| build_zrange_old(
        g,
        "ZRANGEBYSCORE"
    )),
    row!("zrevrangebyscore", -4, 2, |g| build_zrange_old(
        g,
        "ZREVRANGEBYSCORE"
    )),
    row!("zrangebylex", -4, 2, |g| build_zrange_old(g, "ZRANGEBYLEX")),
    row!("zrem", -3, 4, |g| {
        let mut argv = vec![g.name("ZREM"), typed(g, ZSET_KEYS)];
        members(g, &mut argv, 3);
        Some(argv)
    }),
    row!("zremrangebyrank", 4, 2, |g| Some(vec![
        g.name("ZREMRANGEBYRANK"),
        typed(g, ZSET_KEYS),
        g.int_or_bad(LIST_INDEXES),
        g.int_or_bad(LIST_INDEXES)
    ])),
    row!("zremrangebyscore", 4, 2, |g| Some(vec![
        g.name("ZREMRANGEBYSCORE"),
        typed(g, ZSET_KEYS),
        g.pick(SCORE_BOUNDS),
        g.pick(SCORE_BOUNDS)
    ])),
    row!("zremrangebylex", 4, 2, |g| Some(vec![
        g.name("ZREMRANGEBYLEX"),
        lex_key(g),
        g.pick(LEX_BOUNDS),
        g.pick(LEX_BOUNDS)
    ])),
    row!("zpopmin", -2, 3, |g| {
        let mut argv = vec![g.name("ZPOPMIN"), typed(g, ZSET_KEYS)];
        if g.rng.percent(50) {
            argv.push(count_arg(g));
        }
        Some(argv)
    }),
    row!("zpopmax", -2, 3, |g| {
        let mut argv = vec![g.name("ZPOPMAX"), typed(g, ZSET_KEYS)];
        if g.rng.percent(50) {
            argv.push(count_arg(g));
        }
        Some(argv)
    }),
    row!("zunionstore", -4, 3, |g| build_zsetop(g, "ZUNIONSTORE")),
    row!("zinterstore", -4, 3, |g| build_zsetop(g, "ZINTERSTORE")),
    row!("zdiffstore", -4, 2, |g| build_zsetop(g, "ZDIFFSTORE")),
    row!("zunion", -3, 2, |g| build_zsetop(g, "ZUNION")),
    row!("zinter", -3, 2, |g| build_zsetop(g, "ZINTER")),
    row!("zdiff", -3, 2, |g| build_zsetop(g, "ZDIFF")),
    row!("zintercard", -3, 2, |g| build_intercard(
        g,
        "ZINTERCARD",
        ZSET_KEYS
    )),
    // bitmaps
    row!("setbit", 4, 8, |g| {
        let bit = g.pick(&["0", "1", "1", "1", "2", "-1", "abc"]);
        Some(vec![
            g.name("SETBIT"),
            typed(g, BIT_KEYS),
            bit_offset(g),
            bit,
        ])
    }),
    row!("getbit", 3, 4, |g| Some(vec![
        g.name("GETBIT"),
        typed(g, BIT_KEYS),
        bit_offset(g)
    ])),
    row!("bitcount", -2, 4, |g| build_bitrange(g, "BITCOUNT")),
    row!("bitpos", -3, 4, |g| build_bitrange(g, "BITPOS")),
    row!("bitop", -4, 4, |g| {
        let op = if g.rng.percent(5) {
            g.pick(&["NAND", "", "ANDD"])
        } else {
            g.name_of(&["AND", "OR", "XOR", "NOT"])
        };
        let mut argv = vec![g.name("BITOP"), op, typed(g, BIT_KEYS)];
        for _ in 0..1 + g.rng.below(3) {
            argv.push(typed(g, BIT_KEYS));
        }
        Some(argv)
    }),
    row!("bitfield", -2, 5, |g| build_bitfield(g, false)),
    row!("bitfield_ro", -2, 2, |g| build_bitfield(g, true)),
    // HyperLogLog
    row!("pfadd", -2, 6, |g| {
        let mut argv = vec![g.name("PFADD"), typed(g, HLL_KEYS)];
        if g.rng.percent(4) {
            // Enough new elements to take the sketch towards the dense form.
            let base = g.rng.below(100_000);
            for i in 0..300 {
                argv.push(format!("e{}", base + i).into_bytes());
            }
        } else {
            for _ in 0..g.rng.below(4) {
                argv.push(member(g));
            }
        }
        Some(argv)
    }),
    row!("pfcount", -2, 4, |g| {
        let mut argv = vec![g.name("PFCOUNT")];
        for _ in 0..1 + g.rng.below(3) {
            argv.push(typed(g, HLL_KEYS));
        }
        Some(argv)
    }),
    row!("pfmerge", -2, 2, |g| {
        let mut argv = vec![g.name("PFMERGE")];
        for _ in 0..1 + g.rng.below(3) {
            argv.push(typed(g, HLL_KEYS));
        }
        Some(argv)
    }),
    // GEO
    row!("geoadd", -5, 6, |g| {
        let mut argv = vec![g.name("GEOADD"), typed(g, GEO_KEYS)];
        for _ in 0..g.rng.below(3) {
            let opt = match g.rng.below(6) {
                0 => g.name("NX"),
                1 => g.name("XX"),
                2 | 3 => g.name("CH"),
                _ => g.unknown_option(),
            };
            argv.push(opt);
        }
        for _ in 0..1 + g.rng.below(3) {
            let (m, i) = geo_member(g);
            let (lon, lat) = if g.rng.percent(6) {
                *g.rng.pick(BAD_POINTS)
            } else {
                POINTS[i]
            };
            argv.extend([w(lon), w(lat), m]);
        }
        Some(argv)
    }),
    row!("geodist", -4, 3, |g| {
        let mut argv = vec![
            g.name("GEODIST"),
            typed(g, GEO_KEYS),
            geo_member(g).0,
            geo_member(g).0,
        ];
        if g.rng.percent(60) {
            argv.push(if g.rng.percent(8) {
                w("yd")
            } else {
                g.pick(GEO_UNITS)
            });
        }
        Some(argv)
    }),
    row!("geopos", -2, 3, |g| {
        let mut argv = vec![g.name("GEOPOS"), typed(g, GEO_KEYS)];
        for _ in 0..g.rng.below(4) {
            argv.push(geo_member(g).0);
        }
        Some(argv)
    }),
    row!("geohash", -2, 3, |g| {
        let mut argv = vec![g.name("GEOHASH"), typed(g, GEO_KEYS)];
        for _ in 0..g.rng.below(4) {
            argv.push(geo_member(g).0);
        }
        Some(argv)
    }),
    row!("geosearch", -7, 5, |g| build_geosearch(g, false)),
    row!("geosearchstore", -8, 2, |g| build_geosearch(g, true)),
    // SORT
    row!("sort", -2, 5, |g| build_sort(g, false)),
    row!("sort_ro", -2, 2, |g| build_sort(g, true)),
    // streams
    row!("xadd", -5, 8, build_xadd),
    row!("xlen", 2, 3, |g| Some(vec![
        g.name("XLEN"),
        typed(g, STREAM_KEYS)
    ])),
    row!("xrange", -4, 4, |g| build_xrange(g, "XRANGE")),
    row!("xrevrange", -4, 3, |g| build_xrange(g, "XREVRANGE")),
    row!("xdel", -3, 3, |g| {
        let mut argv = vec![g.name("XDEL"), typed(g, STREAM_KEYS)];
        for _ in 0..1 + g.rng.below(3) {
            argv.push(stream_id(g));
        }
        Some(argv)
    }),
    row!("xtrim", -4, 3, build_xtrim),
    // types and encodings of the values above
    row!("object", -2, 6, |g| {
        let key = inspect_key(g);
        Some(vec![g.name("OBJECT"), g.name("ENCODING"), key])
    }),
    row!("type", 2, 3, |g| {
        let key = inspect_key(g);
        Some(vec![g.name("TYPE"), key])
    }),
    row!("del", -2, 4, |g| {
        let key = inspect_key(g);
        g.clear(&key);
        Some(vec![g.name("DEL"), key])
    }),
    // transactions
    row!("multi", 1, 4, build_multi),
];
