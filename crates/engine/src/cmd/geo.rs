//! GEO commands: positions kept in sorted sets, scored by their 52-bit geohash
//! (`types::geohash`). GEOADD is ZADD with computed scores; GEOPOS, GEOHASH and GEODIST decode
//! scores; GEOSEARCH, GEOSEARCHSTORE and the older GEORADIUS family scan the nine cells around
//! a centre and keep the members inside a circle or a box.
//!
//! Argument checks come in the order Redis 7.0's `geo.c` makes them, since that order decides
//! which error a bad command gets: the source key's type first, then the centre and the
//! radius, then the options from left to right, then the cross-option rules.

use std::cmp::Ordering;

use crate::cmd::scan::is_word;
use crate::cmd::sort::{merge_sort, partial_sort};
use crate::numfmt::{parse_f64, parse_i64};
use crate::object::Value;
use crate::table::CommandSpec;
use crate::types::geohash::{self, Shape, ShapeKind, LAT_MAX, LAT_MIN, LONG_MAX, LONG_MIN};
use crate::types::zset::{Encoding, Limits, ScoreRange, ZSet};
use crate::{error, flags, tri, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "geoadd",
        arity: -5,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.0",
        summary: "Adds members at longitude/latitude positions to a geospatial index (a sorted set), or moves them.",
        syntax: "key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]",
        handler: geoadd,
        subcommands: &[],
    },
    CommandSpec {
        name: "geodist",
        arity: -4,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.0",
        summary: "Returns the distance between two members of a geospatial index, in metres or the given unit.",
        syntax: "key member1 member2 [M | KM | FT | MI]",
        handler: geodist,
        subcommands: &[],
    },
    CommandSpec {
        name: "geohash",
        arity: -2,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.0",
        summary: "Returns the standard 11-character geohash of each member's position.",
        syntax: "key [member [member ...]]",
        handler: geohash_cmd,
        subcommands: &[],
    },
    CommandSpec {
        name: "geopos",
        arity: -2,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.0",
        summary: "Returns the longitude and latitude of each member, nil for a missing one.",
        syntax: "key [member [member ...]]",
        handler: geopos,
        subcommands: &[],
    },
    CommandSpec {
        name: "georadius",
        arity: -6,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.0",
        summary: "Finds the members within a radius of a position; can store them (deprecated: GEOSEARCH).",
        syntax: "key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]",
        handler: georadius,
        subcommands: &[],
    },
    CommandSpec {
        name: "georadius_ro",
        arity: -6,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.10",
        summary: "GEORADIUS without the store options.",
        syntax: "key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]",
        handler: georadius_ro,
        subcommands: &[],
    },
    CommandSpec {
        name: "georadiusbymember",
        arity: -5,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.0",
        summary: "Finds the members within a radius of another member; can store them (deprecated: GEOSEARCH).",
        syntax: "key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]",
        handler: georadiusbymember,
        subcommands: &[],
    },
    CommandSpec {
        name: "georadiusbymember_ro",
        arity: -5,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "geo",
        since: "3.2.10",
        summary: "GEORADIUSBYMEMBER without the store options.",
        syntax: "key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]",
        handler: georadiusbymember_ro,
        subcommands: &[],
    },
    CommandSpec {
        name: "geosearch",
        arity: -7,
        flags: flags!(READONLY),
        keys: (1, 1, 1),
        group: "geo",
        since: "6.2.0",
        summary: "Finds the members inside a circle or a box around a member or a position.",
        syntax: "key FROMMEMBER member | FROMLONLAT longitude latitude BYRADIUS radius M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]",
        handler: geosearch,
        subcommands: &[],
    },
    CommandSpec {
        name: "geosearchstore",
        arity: -8,
        flags: flags!(WRITE, DENYOOM),
        keys: (1, 2, 1),
        group: "geo",
        since: "6.2.0",
        summary: "GEOSEARCH that stores the members found, with their geohashes or distances, in a sorted set.",
        syntax: "destination source FROMMEMBER member | FROMLONLAT longitude latitude BYRADIUS radius M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC] [COUNT count [ANY]] [STOREDIST]",
        handler: geosearchstore,
        subcommands: &[],
    },
];

// ---------------------------------------------------------------------------------------------
// Argument and reply helpers
// ---------------------------------------------------------------------------------------------

/// A longitude and a latitude, as `extractLongLatOrReply` reads them.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], Reply> {
    let x = parse_f64(lon).ok_or_else(|| Reply::error(error::NOT_FLOAT))?;
    let y = parse_f64(lat).ok_or_else(|| Reply::error(error::NOT_FLOAT))?;
    if !(LONG_MIN..=LONG_MAX).contains(&x) || !(LAT_MIN..=LAT_MAX).contains(&y) {
        return Err(Reply::error_owned(error::geo_invalid_pair(x, y)));
    }
    Ok([x, y])
}

/// Metres per unit.
fn unit(a: &[u8]) -> Result<f64, Reply> {
    if is_word(a, "m") {
        Ok(1.0)
    } else if is_word(a, "km") {
        Ok(1000.0)
    } else if is_word(a, "ft") {
        Ok(0.3048)
    } else if is_word(a, "mi") {
        Ok(1609.34)
    } else {
        Err(Reply::error(error::GEO_UNSUPPORTED_UNIT))
    }
}

/// `radius unit`: the radius and the unit's size in metres.
fn radius(r: &[u8], u: &[u8]) -> Result<(f64, f64), Reply> {
    let r = parse_f64(r).ok_or_else(|| Reply::error(error::GEO_NEED_RADIUS))?;
    if r < 0.0 {
        return Err(Reply::error(error::GEO_RADIUS_NEGATIVE));
    }
    Ok((r, unit(u)?))
}

/// `width height unit`.
fn box_size(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), Reply> {
    let w = parse_f64(w).ok_or_else(|| Reply::error(error::GEO_NEED_WIDTH))?;
    let h = parse_f64(h).ok_or_else(|| Reply::error(error::GEO_NEED_HEIGHT))?;
    if h < 0.0 || w < 0.0 {
        return Err(Reply::error(error::GEO_BOX_NEGATIVE));
    }
    Ok((w, h, unit(u)?))
}

/// A distance with four decimals (Redis's `fixedpoint_d2string`): the value times 10^4 rounded
/// to the nearest integer, ties to even, then printed with the point put back.
pub fn fmt_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = d * 10000.0;
    // llrint's result for what does not fit a long long (x86-64 gives LLONG_MIN).
    let v = if scaled.is_nan()
        || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&scaled)
    {
        i64::MIN
    } else {
        scaled.round_ties_even() as i64
    };
    let digits = v.unsigned_abs().to_string();
    let (int, frac) = if digits.len() > 4 {
        digits.split_at(digits.len() - 4)
    } else {
        ("0", digits.as_str())
    };
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{int}.{frac:0>4}")
}

/// A coordinate as Redis prints it (`%.17Lf` with the trailing zeros and point removed).
pub fn fmt_coordinate(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let s = format!("{d:.17}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn coordinates(xy: [f64; 2]) -> Reply {
    Reply::Array(vec![
        Reply::DoubleText(fmt_coordinate(xy[0])),
        Reply::DoubleText(fmt_coordinate(xy[1])),
    ])
}

/// Whether `key` holds a sorted set (read lookup, counting a hit or miss); WRONGTYPE otherwise.
fn zset_exists(e: &mut Engine, db: usize, key: &[u8]) -> Result<bool, Reply> {
    match e.read(db, key).map(|en| &en.value) {
        None => Ok(false),
        Some(Value::ZSet(_)) => Ok(true),
        Some(_) => Err(Reply::error(error::WRONGTYPE)),
    }
}

/// The sorted set under a key already looked up.
fn zset_at<'a>(e: &'a Engine, db: usize, key: &[u8]) -> Option<&'a ZSet> {
    match e.dbs[db].keys.get(key).map(|en| &en.value) {
        Some(Value::ZSet(z)) => Some(z),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// GEOADD, GEOPOS, GEOHASH, GEODIST
// ---------------------------------------------------------------------------------------------

fn geoadd(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < argv.len() {
        let opt = argv[first];
        if is_word(opt, "nx") {
            nx = true;
        } else if is_word(opt, "xx") {
            xx = true;
        } else if !is_word(opt, "ch") {
            break;
        }
        first += 1;
    }
    if !(argv.len() - first).is_multiple_of(3) || (xx && nx) {
        return Reply::error(error::SYNTAX);
    }
    // The equivalent ZADD: the same key and options, a score for each position.
    let mut scores = Vec::with_capacity((argv.len() - first) / 3);
    for triple in argv[first..].chunks_exact(3) {
        let [lon, lat] = tri!(lon_lat(triple[0], triple[1]));
        let score = geohash::encode_wgs84(lon, lat, geohash::STEP_MAX)
            .map_or(0, |h| h.align52())
            .to_string();
        scores.push(score);
    }
    let mut zargv: Vec<&[u8]> = Vec::with_capacity(first + scores.len() * 2);
    zargv.push(b"zadd");
    zargv.extend_from_slice(&argv[1..first]);
    for (score, triple) in scores.iter().zip(argv[first..].chunks_exact(3)) {
        zargv.push(score.as_bytes());
        zargv.push(triple[2]);
    }
    let Some(spec) = crate::table::get(b"zadd") else {
        return Reply::error("ERR unknown command 'zadd'");
    };
    let call = Call {
        client: c.client,
        db: c.db,
        argv: &zargv,
        now: c.now,
        spec,
    };
    (spec.handler)(e, &call)
}

fn geopos(e: &mut Engine, c: &Call) -> Reply {
    let (db, key) = (c.db, c.argv[1]);
    let exists = tri!(zset_exists(e, db, key));
    let z = if exists { zset_at(e, db, key) } else { None };
    let out = c.argv[2..]
        .iter()
        .map(
            |m| match z.and_then(|z| z.score(m)).and_then(geohash::decode_score) {
                Some(xy) => coordinates(xy),
                None => Reply::NilArray,
            },
        )
        .collect();
    Reply::Array(out)
}

fn geohash_cmd(e: &mut Engine, c: &Call) -> Reply {
    let (db, key) = (c.db, c.argv[1]);
    let exists = tri!(zset_exists(e, db, key));
    let z = if exists { zset_at(e, db, key) } else { None };
    let out = c.argv[2..]
        .iter()
        .map(|m| {
            match z
                .and_then(|z| z.score(m))
                .and_then(geohash::standard_geohash)
            {
                Some(h) => Reply::Bulk(h.to_vec()),
                None => Reply::Nil,
            }
        })
        .collect();
    Reply::Array(out)
}

fn geodist(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let to_meter = match argv.len() {
        5 => tri!(unit(argv[4])),
        n if n > 5 => return Reply::error(error::SYNTAX),
        _ => 1.0,
    };
    let (db, key) = (c.db, argv[1]);
    if !tri!(zset_exists(e, db, key)) {
        return Reply::Nil;
    }
    let Some(z) = zset_at(e, db, key) else {
        return Reply::Nil;
    };
    let (Some(s1), Some(s2)) = (z.score(argv[2]), z.score(argv[3])) else {
        return Reply::Nil;
    };
    match (geohash::decode_score(s1), geohash::decode_score(s2)) {
        (Some([x1, y1]), Some([x2, y2])) => {
            Reply::Bulk(fmt_distance(geohash::distance(x1, y1, x2, y2) / to_meter).into_bytes())
        }
        _ => Reply::Nil,
    }
}

// ---------------------------------------------------------------------------------------------
// GEOSEARCH, GEOSEARCHSTORE, GEORADIUS*
// ---------------------------------------------------------------------------------------------

/// Which command of the search family is running (Redis's RADIUS_* and GEOSEARCH* flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS: the centre is a position given before the options.
    Coords { store: bool },
    /// GEORADIUSBYMEMBER: the centre is a member.
    Member { store: bool },
    /// GEOSEARCH, GEOSEARCHSTORE: the centre and the shape are options.
    Search { store: bool },
}

impl Variant {
    fn is_search(self) -> bool {
        matches!(self, Variant::Search { .. })
    }

    /// Whether STORE and STOREDIST with a key are accepted (the GEORADIUS forms without _RO).
    fn store_option(self) -> bool {
        matches!(
            self,
            Variant::Coords { store: true } | Variant::Member { store: true }
        )
    }
}

fn georadius(e: &mut Engine, c: &Call) -> Reply {
    search_generic(e, c, 1, Variant::Coords { store: true })
}

fn georadius_ro(e: &mut Engine, c: &Call) -> Reply {
    search_generic(e, c, 1, Variant::Coords { store: false })
}

fn georadiusbymember(e: &mut Engine, c: &Call) -> Reply {
    search_generic(e, c, 1, Variant::Member { store: true })
}

fn georadiusbymember_ro(e: &mut Engine, c: &Call) -> Reply {
    search_generic(e, c, 1, Variant::Member { store: false })
}

fn geosearch(e: &mut Engine, c: &Call) -> Reply {
    search_generic(e, c, 1, Variant::Search { store: false })
}

fn geosearchstore(e: &mut Engine, c: &Call) -> Reply {
    search_generic(e, c, 2, Variant::Search { store: true })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortOrder {
    None,
    Asc,
    Desc,
}

/// A member found by a search.
struct Point {
    xy: [f64; 2],
    /// Metres from the centre.
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

/// The members of `z` inside `shape`, visiting the nine cells in Redis's order; with a
/// `limit` (COUNT ... ANY), it stops as soon as that many are found.
fn search(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let area = geohash::search_area(shape);
    let cells = area.cells();
    let mut found = Vec::new();
    let full = |found: &Vec<Point>| !found.is_empty() && limit > 0 && found.len() >= limit;
    // Index of the last cell searched; 0 (the centre) is never compared with, as in Redis.
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // A huge radius can make neighbours coincide: do not search a cell twice in a row.
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&found) {
            break;
        }
        let (min, max) = cell.score_range();
        let range = ScoreRange {
            min: min as f64,
            max: max as f64,
            min_exclusive: false,
            max_exclusive: true,
        };
        let (lo, hi) = z.score_ranks(&range);
        let mut done = false;
        z.range(lo, hi, false, |member, score| {
            if done {
                return;
            }
            if let Some(xy) = geohash::decode_score(score) {
                if let Some(dist) = geohash::within_shape(shape, xy) {
                    found.push(Point {
                        xy,
                        dist,
                        score,
                        member: member.to_vec(),
                    });
                }
            }
            done = full(&found);
        });
        last = i;
    }
    found
}

fn search_generic(e: &mut Engine, c: &Call, src_idx: usize, variant: Variant) -> Reply {
    let argv = c.argv;
    let db = c.db;
    let src = argv[src_idx];
    let exists = tri!(zset_exists(e, db, src));

    let mut storekey: Option<&[u8]> = None;
    let mut storedist = false;
    let mut shape = Shape {
        kind: ShapeKind::Radius(0.0),
        xy: [0.0, 0.0],
        conversion: 0.0,
    };
    let base = match variant {
        Variant::Coords { .. } => {
            shape.xy = tri!(lon_lat(argv[2], argv[3]));
            let (r, conversion) = tri!(radius(argv[4], argv[5]));
            shape.kind = ShapeKind::Radius(r);
            shape.conversion = conversion;
            6
        }
        // Without the key, the rest is still parsed to know which empty reply to give.
        Variant::Member { .. } if !exists => 5,
        Variant::Member { .. } => {
            let pos = zset_at(e, db, src)
                .and_then(|z| z.score(argv[2]))
                .and_then(geohash::decode_score);
            let Some(xy) = pos else {
                return Reply::error(error::GEO_MEMBER_NOT_DECODED);
            };
            shape.xy = xy;
            let (r, conversion) = tri!(radius(argv[3], argv[4]));
            shape.kind = ShapeKind::Radius(r);
            shape.conversion = conversion;
            5
        }
        Variant::Search { store } => {
            if store {
                storekey = Some(argv[1]);
                3
            } else {
                2
            }
        }
    };

    let (mut withdist, mut withhash, mut withcoord) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = SortOrder::None;
    let mut any = false;
    let mut count: i64 = 0;
    let remaining = argv.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let j = i;
        let at = move |k: usize| argv[base + j + k];
        let arg = at(0);
        if is_word(arg, "withdist") {
            withdist = true;
        } else if is_word(arg, "withhash") {
            withhash = true;
        } else if is_word(arg, "withcoord") {
            withcoord = true;
        } else if is_word(arg, "any") {
            any = true;
        } else if is_word(arg, "asc") {
            sort = SortOrder::Asc;
        } else if is_word(arg, "desc") {
            sort = SortOrder::Desc;
        } else if is_word(arg, "count") && i + 1 < remaining {
            count = tri!(parse_i64(at(1)).ok_or_else(|| Reply::error(error::NOT_INTEGER)));
            if count <= 0 {
                return Reply::error(error::GEO_COUNT_NOT_POSITIVE);
            }
            i += 1;
        } else if is_word(arg, "store") && i + 1 < remaining && variant.store_option() {
            storekey = Some(at(1));
            storedist = false;
            i += 1;
        } else if is_word(arg, "storedist") && i + 1 < remaining && variant.store_option() {
            storekey = Some(at(1));
            storedist = true;
            i += 1;
        } else if is_word(arg, "storedist") && variant == (Variant::Search { store: true }) {
            storedist = true;
        } else if is_word(arg, "frommember") && i + 1 < remaining && variant.is_search() && !fromloc
        {
            if exists {
                let pos = zset_at(e, db, src)
                    .and_then(|z| z.score(at(1)))
                    .and_then(geohash::decode_score);
                let Some(xy) = pos else {
                    return Reply::error(error::GEO_MEMBER_NOT_DECODED);
                };
                shape.xy = xy;
            }
            frommember = true;
            i += 1;
        } else if is_word(arg, "fromlonlat")
            && i + 2 < remaining
            && variant.is_search()
            && !frommember
        {
            shape.xy = tri!(lon_lat(at(1), at(2)));
            fromloc = true;
            i += 2;
        } else if is_word(arg, "byradius") && i + 2 < remaining && variant.is_search() && !bybox {
            let (r, conversion) = tri!(radius(at(1), at(2)));
            shape.kind = ShapeKind::Radius(r);
            shape.conversion = conversion;
            byradius = true;
            i += 2;
        } else if is_word(arg, "bybox") && i + 3 < remaining && variant.is_search() && !byradius {
            let (width, height, conversion) = tri!(box_size(at(1), at(2), at(3)));
            shape.kind = ShapeKind::Box { width, height };
            shape.conversion = conversion;
            bybox = true;
            i += 3;
        } else {
            return Reply::error(error::SYNTAX);
        }
        i += 1;
    }

    if storekey.is_some() && (withdist || withhash || withcoord) {
        return Reply::error(if variant == (Variant::Search { store: true }) {
            error::GEOSEARCHSTORE_WITH
        } else {
            error::GEORADIUS_STORE_WITH
        });
    }
    if variant.is_search() && !(frommember || fromloc) {
        return Reply::error_owned(error::geo_need_from(argv[0]));
    }
    if variant.is_search() && !(byradius || bybox) {
        return Reply::error_owned(error::geo_need_by(argv[0]));
    }
    if any && count == 0 {
        return Reply::error(error::GEO_ANY_NEEDS_COUNT);
    }

    if !exists {
        return match storekey {
            Some(dst) => {
                if e.delete(db, dst) {
                    e.notify(db, dst, "del");
                }
                Reply::Integer(0)
            }
            None => Reply::Array(Vec::new()),
        };
    }

    // COUNT means the nearest ones, unless ANY asked for the first ones found.
    if count != 0 && sort == SortOrder::None && !any {
        sort = SortOrder::Asc;
    }
    let Some(z) = zset_at(e, db, src) else {
        return Reply::Array(Vec::new());
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = search(z, &shape, limit);
    let seed = z.seed();
    if points.is_empty() && storekey.is_none() {
        return Reply::Array(Vec::new());
    }

    let total = points.len();
    let returned = if count == 0 || (total as i64) < count {
        total
    } else {
        count as usize
    };
    let mut order: Vec<usize> = (0..total).collect();
    if sort != SortOrder::None {
        let mut cmp = |a: usize, b: usize| {
            // Redis's comparator: greater, equal, or else less (NaN included).
            let (da, db) = (points[a].dist, points[b].dist);
            let o = if da > db {
                Ordering::Greater
            } else if da == db {
                Ordering::Equal
            } else {
                Ordering::Less
            };
            if sort == SortOrder::Desc {
                o.reverse()
            } else {
                o
            }
        };
        if returned == total {
            merge_sort(&mut order, &mut cmp);
        } else {
            partial_sort(&mut order, 0, returned as i64 - 1, &mut cmp);
        }
    }

    let conversion = shape.conversion;
    match storekey {
        None => {
            let options = withdist as usize + withhash as usize + withcoord as usize;
            let mut out = Vec::with_capacity(returned);
            for &i in &order[..returned] {
                let p = &mut points[i];
                let member = std::mem::take(&mut p.member);
                if options == 0 {
                    out.push(Reply::Bulk(member));
                    continue;
                }
                let mut item = Vec::with_capacity(options + 1);
                item.push(Reply::Bulk(member));
                if withdist {
                    item.push(Reply::Bulk(fmt_distance(p.dist / conversion).into_bytes()));
                }
                if withhash {
                    item.push(Reply::Integer(p.score as i64));
                }
                if withcoord {
                    item.push(coordinates(p.xy));
                }
                out.push(Reply::Array(item));
            }
            Reply::Array(out)
        }
        Some(dst) => {
            let mut items = Vec::with_capacity(returned);
            for &i in &order[..returned] {
                let p = &mut points[i];
                let score = if storedist {
                    p.dist / conversion
                } else {
                    p.score
                };
                items.push((std::mem::take(&mut p.member), score));
            }
            if returned > 0 {
                let longest = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
                let encoding = if Limits::from_config(&e.config).fits_listpack(returned, longest) {
                    Encoding::Listpack
                } else {
                    Encoding::Skiplist
                };
                let stored = ZSet::from_items(seed, encoding, items);
                e.set_value(db, dst, Value::ZSet(Box::new(stored)), false);
                let op = if variant.is_search() {
                    "geosearchstore"
                } else {
                    "georadiusstore"
                };
                e.notify(db, dst, op);
            } else if e.delete(db, dst) {
                e.notify(db, dst, "del");
            }
            Reply::Integer(returned as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Protocol};

    fn engine() -> (Engine, u64) {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        (e, c)
    }

    fn sicily(e: &mut Engine, c: u64) {
        let r = e.run(
            c,
            &[
                "GEOADD",
                "Sicily",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
            0,
        );
        assert_eq!(r, Reply::Integer(2));
    }

    #[test]
    fn distances_print_with_four_decimals() {
        assert_eq!(fmt_distance(0.0), "0.0000");
        assert_eq!(fmt_distance(-0.0), "0.0000");
        assert_eq!(fmt_distance(166274.15156960033), "166274.1516");
        assert_eq!(fmt_distance(0.00005), "0.0000");
        assert_eq!(fmt_distance(0.00025), "0.0002");
        assert_eq!(fmt_distance(0.00035), "0.0004");
        assert_eq!(fmt_distance(0.775), "0.7750");
        assert_eq!(fmt_distance(-0.0005), "-0.0005");
        assert_eq!(fmt_distance(f64::NAN), "-922337203685477.5808");
    }

    #[test]
    fn coordinates_print_like_human_long_doubles() {
        assert_eq!(fmt_coordinate(13.361389338970184), "13.36138933897018433");
        assert_eq!(fmt_coordinate(180.0), "180");
        assert_eq!(fmt_coordinate(-1e-20), "0");
        assert_eq!(fmt_coordinate(0.5), "0.5");
    }

    #[test]
    fn geoadd_scores_and_geopos_decodes() {
        let (mut e, c) = engine();
        sicily(&mut e, c);
        assert_eq!(
            e.run(c, &["ZSCORE", "Sicily", "Palermo"], 0),
            Reply::Double(3479099956230698.0)
        );
        let r = e.run(c, &["GEOPOS", "Sicily", "Palermo", "nope"], 0);
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::Array(vec![
                    Reply::DoubleText("13.36138933897018433".into()),
                    Reply::DoubleText("38.11555639549629859".into()),
                ]),
                Reply::NilArray,
            ])
        );
        let r3 = e.run(c, &["GEOPOS", "Sicily", "Palermo"], 0);
        let bytes = crate::to_resp(&r3, Protocol::Resp3);
        assert!(bytes.starts_with(b"*1\r\n*2\r\n,13.36138933897018433\r\n"));
        assert_eq!(
            e.run(c, &["GEODIST", "Sicily", "Palermo", "Catania", "km"], 0),
            Reply::bulk("166.2742")
        );
        assert_eq!(
            e.run(c, &["GEOHASH", "Sicily", "Palermo", "x"], 0),
            Reply::Array(vec![Reply::bulk("sqc8b49rny0"), Reply::Nil])
        );
    }

    #[test]
    fn geoadd_rejects_bad_positions_before_adding_anything() {
        let (mut e, c) = engine();
        let r = e.run(c, &["GEOADD", "k", "1", "2", "a", "200", "100", "b"], 0);
        assert_eq!(
            r,
            Reply::error("ERR invalid longitude,latitude pair 200.000000,100.000000")
        );
        assert_eq!(e.run(c, &["EXISTS", "k"], 0), Reply::Integer(0));
        assert_eq!(
            e.run(c, &["GEOADD", "k", "NX", "XX", "1", "2", "a"], 0),
            Reply::error(error::SYNTAX)
        );
    }

    #[test]
    fn geosearch_orders_and_stores() {
        let (mut e, c) = engine();
        sicily(&mut e, c);
        let r = e.run(
            c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "ASC",
                "WITHDIST",
            ],
            0,
        );
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::Array(vec![Reply::bulk("Catania"), Reply::bulk("56.4413")]),
                Reply::Array(vec![Reply::bulk("Palermo"), Reply::bulk("190.4424")]),
            ])
        );
        let r = e.run(
            c,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "400",
                "400",
                "km",
                "COUNT",
                "1",
                "DESC",
                "STOREDIST",
            ],
            0,
        );
        assert_eq!(r, Reply::Integer(1));
        assert_eq!(
            e.run(c, &["ZRANGE", "dst", "0", "-1"], 0),
            Reply::Array(vec![Reply::bulk("Palermo")])
        );
    }

    fn keyspace_ops(e: &mut Engine) -> Vec<(String, &'static str)> {
        e.drain_events()
            .into_iter()
            .filter_map(|ev| match ev {
                crate::Event::Keyspace { key, op, .. } => {
                    Some((String::from_utf8_lossy(&key).into(), op))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn events_name_the_command_that_wrote() {
        let (mut e, c) = engine();
        sicily(&mut e, c);
        assert_eq!(keyspace_ops(&mut e), vec![("Sicily".to_string(), "zadd")]);
        e.run(
            c,
            &["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo"],
            0,
        );
        assert_eq!(keyspace_ops(&mut e), vec![]);
        e.run(
            c,
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "a"],
            0,
        );
        assert_eq!(
            keyspace_ops(&mut e),
            vec![("a".to_string(), "georadiusstore")]
        );
        e.run(
            c,
            &[
                "GEOSEARCHSTORE",
                "b",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "9",
                "km",
            ],
            0,
        );
        assert_eq!(keyspace_ops(&mut e), vec![]);
        e.run(
            c,
            &[
                "GEOSEARCHSTORE",
                "a",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "9",
                "km",
            ],
            0,
        );
        assert_eq!(keyspace_ops(&mut e), vec![("a".to_string(), "del")]);
        e.run(
            c,
            &[
                "GEOSEARCHSTORE",
                "a",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYBOX",
                "900",
                "900",
                "km",
            ],
            0,
        );
        assert_eq!(
            keyspace_ops(&mut e),
            vec![("a".to_string(), "geosearchstore")]
        );
        e.run(
            c,
            &["GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "a"],
            0,
        );
        assert_eq!(keyspace_ops(&mut e), vec![("a".to_string(), "del")]);
    }

    #[test]
    fn a_grid_search_finds_the_members_in_reach() {
        // 10,000 members on a grid (a skiplist-encoded set); a 450 m search around one of them
        // finds it and the members in reach, nearest first.
        let (mut e, c) = engine();
        for i in 0..100 {
            let mut argv = vec!["GEOADD".to_string(), "grid".to_string()];
            for j in 0..100 {
                argv.push(format!("{}", 10.0 + i as f64 * 0.005));
                argv.push(format!("{}", 45.0 + j as f64 * 0.005));
                argv.push(format!("p{i}:{j}"));
            }
            let argv: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
            assert_eq!(e.run(c, &argv, 0), Reply::Integer(100));
        }
        assert_eq!(
            e.run(c, &["OBJECT", "ENCODING", "grid"], 0),
            Reply::bulk("skiplist")
        );
        let r = e.run(
            c,
            &[
                "GEOSEARCH",
                "grid",
                "FROMMEMBER",
                "p50:50",
                "BYRADIUS",
                "450",
                "m",
                "ASC",
            ],
            0,
        );
        let Reply::Array(items) = r else {
            panic!("not an array: {r:?}");
        };
        assert_eq!(items[0], Reply::bulk("p50:50"));
        // The four neighbours 0.005 degrees away (about 390 m east-west, 556 m north-south at
        // this latitude): only the east and west ones are within 450 m.
        assert_eq!(items.len(), 3, "{items:?}");
    }

    #[test]
    fn geosearch_option_errors() {
        let (mut e, c) = engine();
        sicily(&mut e, c);
        assert_eq!(
            e.run(
                c,
                &[
                    "geosearch",
                    "Sicily",
                    "BYRADIUS",
                    "1",
                    "m",
                    "ASC",
                    "WITHDIST"
                ],
                0
            ),
            Reply::error(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch"
            )
        );
        assert_eq!(
            e.run(
                c,
                &[
                    "GEOSEARCH",
                    "Sicily",
                    "FROMMEMBER",
                    "Palermo",
                    "FROMLONLAT",
                    "1",
                    "2"
                ],
                0
            ),
            Reply::error(error::SYNTAX)
        );
        assert_eq!(
            e.run(
                c,
                &[
                    "GEOSEARCH",
                    "Sicily",
                    "FROMMEMBER",
                    "nobody",
                    "BYRADIUS",
                    "1",
                    "m"
                ],
                0
            ),
            Reply::error(error::GEO_MEMBER_NOT_DECODED)
        );
        assert_eq!(
            e.run(
                c,
                &[
                    "GEOSEARCH",
                    "Sicily",
                    "FROMMEMBER",
                    "Palermo",
                    "BYRADIUS",
                    "1",
                    "m",
                    "ANY"
                ],
                0
            ),
            Reply::error(error::GEO_ANY_NEEDS_COUNT)
        );
    }
}
