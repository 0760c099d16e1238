//! Geohashes as Redis computes them for the GEO commands.
//!
//! A position is stored in a sorted set as a 52-bit score: 26 bits of longitude and 26 bits of
//! latitude, interleaved (latitude in the even bits, longitude in the odd ones), over the
//! longitude range -180..180 and the Web Mercator latitude range -85.05112878..85.05112878.
//! A search around a point covers the cell that holds the point at a precision chosen from the
//! radius, plus its eight neighbours, and filters the members of those nine score ranges by
//! their real distance.
//!
//! Every step here follows Redis 7.0's arithmetic operation by operation (the same divisions,
//! the same order of multiplications, the same haversine formula and earth radius), because
//! GEOPOS prints 17 decimals and GEODIST four: any reordering would show in the replies.

use std::f64::consts::PI;

/// 26 steps of two bits each: the 52 bits of a double's mantissa.
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// The earth's quadratic mean radius for WGS-84, which Redis uses for every distance.
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the earth's circumference in Web Mercator metres: the widest cell, at step 1.
const MERCATOR_MAX: f64 = 20037726.37;
const DEG_TO_RAD: f64 = PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * DEG_TO_RAD
}

fn rad_deg(ang: f64) -> f64 {
    ang / DEG_TO_RAD
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    fn is_zero(&self) -> bool {
        self.min == 0.0 && self.max == 0.0
    }
}

/// The ranges the scores are computed over.
pub const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};
/// The latitude range of the standard geohash that GEOHASH prints.
pub const STANDARD_LAT: Range = Range {
    min: -90.0,
    max: 90.0,
};

/// A cell: `step` pairs of bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    /// A cell removed from the search (Redis zeroes the neighbours it does not need).
    pub const ZERO: Bits = Bits { bits: 0, step: 0 };

    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The cell's bits moved to the top of a 52-bit score.
    pub fn align52(&self) -> u64 {
        self.bits << (52 - self.step as u32 * 2)
    }

    /// The scores `min..max` (max excluded) of the positions inside this cell.
    pub fn score_range(&self) -> (u64, u64) {
        let next = Bits {
            bits: self.bits.wrapping_add(1),
            step: self.step,
        };
        (self.align52(), next.align52())
    }
}

/// The rectangle of coordinates a cell covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub hash: Bits,
    pub longitude: Range,
    pub latitude: Range,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Neighbors {
    pub north: Bits,
    pub east: Bits,
    pub west: Bits,
    pub south: Bits,
    pub north_east: Bits,
    pub south_east: Bits,
    pub north_west: Bits,
    pub south_west: Bits,
}

/// Spreads the 32 bits of `v` over the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` into a u32 (the inverse of `spread`).
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// `even` in the even bits, `odd` in the odd bits.
pub fn interleave(even: u32, odd: u32) -> u64 {
    spread(even) | (spread(odd) << 1)
}

/// The (even, odd) halves of an interleaved value.
pub fn deinterleave(v: u64) -> (u32, u32) {
    (squash(v), squash(v >> 1))
}

/// The cell of `step` pairs of bits holding the position, over the given ranges; None when the
/// position lies outside them (or outside the Web Mercator limits, which Redis checks whatever
/// the ranges).
pub fn encode(long_range: Range, lat_range: Range, lon: f64, lat: f64, step: u8) -> Option<Bits> {
    if step > 32 || step == 0 || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < long_range.min || lon > long_range.max {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min) * cells;
    let long_offset = (lon - long_range.min) / (long_range.max - long_range.min) * cells;
    // The offsets are truncated to integers, as C converts a double argument to uint32_t.
    Some(Bits {
        bits: interleave(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// The cell of a position at full precision, as GEOADD stores it.
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Bits> {
    encode(WGS84_LONG, WGS84_LAT, lon, lat, step)
}

/// The rectangle `hash` covers over the given ranges.
pub fn decode(long_range: Range, lat_range: Range, hash: Bits) -> Option<Area> {
    if hash.is_zero() || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let (ilat, ilon) = deinterleave(hash.bits);
    let cells = (1u64 << hash.step) as f64;
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    // `+ 1` wraps at 2^32 as C's unsigned arithmetic does; it matters only for scores that
    // GEOADD never writes (a member given an arbitrary score with ZADD).
    let cell = |i: u32| i as f64 * 1.0 / cells;
    Some(Area {
        hash,
        latitude: Range {
            min: lat_range.min + cell(ilat) * lat_scale,
            max: lat_range.min + cell(ilat.wrapping_add(1)) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + cell(ilon) * long_scale,
            max: long_range.min + cell(ilon.wrapping_add(1)) * long_scale,
        },
    })
}

/// The centre of a cell, clamped to the valid coordinates: `[longitude, latitude]`.
pub fn area_center(area: &Area) -> [f64; 2] {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// The position a sorted-set score stands for (GEOPOS): the centre of its 26-step cell.
/// Any score decodes to something; the score is converted to its 64 bits as x86-64 code
/// compiled from C does, so that a member given a negative or huge score by ZADD reads back as
/// it does in Redis.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = Bits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    decode(WGS84_LONG, WGS84_LAT, hash).map(|a| area_center(&a))
}

/// C's `(uint64_t)d` as gcc compiles it for x86-64 (cvttsd2si, with 2^63 subtracted first for
/// large values): out-of-range values give 0x8000000000000000 or 0 instead of Rust's
/// saturation.
pub fn c_double_to_u64(d: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    fn cvtt(d: f64) -> u64 {
        if d.is_nan() || !(-TWO_63..TWO_63).contains(&d) {
            1 << 63
        } else {
            d as i64 as u64
        }
    }
    if d >= TWO_63 {
        cvtt(d - TWO_63) ^ (1 << 63)
    } else {
        cvtt(d)
    }
}

/// The standard 11-character base-32 geohash of a score (GEOHASH): the position re-encoded
/// over the latitude range -90..90, the 11th character standing for two bits that are not
/// there.
pub fn standard_geohash(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = decode_score(score)?;
    let hash = encode(WGS84_LONG, STANDARD_LAT, lon, lat, 26)?;
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (hash.bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    Some(out)
}

fn move_x(hash: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let shift = 64 - hash.step as u32 * 2;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let shift = 64 - hash.step as u32 * 2;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

/// The eight cells around `hash`, at its precision (wrapping around at the edges of the map).
pub fn neighbors(hash: Bits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// The precision whose cells are about as wide as the search radius, one step coarser near
/// the poles where cells get narrow.
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// What a search covers: a circle of `radius`, or an axis-aligned box, both in the unit
/// whose size in metres is `conversion`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub kind: ShapeKind,
    /// The centre: `[longitude, latitude]`.
    pub xy: [f64; 2],
    /// Metres per unit.
    pub conversion: f64,
}

/// `[min longitude, min latitude, max longitude, max latitude]` of the area a shape may reach.
/// Lines of longitude converge towards the poles, so the box is widened by the longitude span
/// at the latitude edge nearer the pole.
pub fn bounding_box(shape: &Shape) -> [f64; 4] {
    let [lon, lat] = shape.xy;
    let (height, width) = match shape.kind {
        ShapeKind::Radius(r) => (shape.conversion * r, shape.conversion * r),
        ShapeKind::Box { width, height } => (
            shape.conversion * (height / 2.0),
            shape.conversion * (width / 2.0),
        ),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_M);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
    let long_delta_bottom = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
    let long_delta = if lat < 0.0 {
        long_delta_bottom
    } else {
        long_delta_top
    };
    [
        lon - long_delta,
        lat - lat_delta,
        lon + long_delta,
        lat + lat_delta,
    ]
}

/// The cells a search visits: the centre cell and its neighbours, with the neighbours that
/// cannot hold a result zeroed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchArea {
    pub hash: Bits,
    pub neighbors: Neighbors,
    pub area: Area,
}

impl SearchArea {
    /// The nine cells in the order Redis visits them.
    pub fn cells(&self) -> [Bits; 9] {
        let n = &self.neighbors;
        [
            self.hash,
            n.north,
            n.south,
            n.east,
            n.west,
            n.north_east,
            n.north_west,
            n.south_east,
            n.south_west,
        ]
    }
}

/// Redis's `geohashCalculateAreasByShapeWGS84`.
pub fn search_area(shape: &Shape) -> SearchArea {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let [lon, lat] = shape.xy;
    let radius_meters = match shape.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, lat);

    let cell_at = |steps: u8| {
        let hash = encode(WGS84_LONG, WGS84_LAT, lon, lat, steps).unwrap_or_default();
        let neighbors = neighbors(hash);
        let area = decode(WGS84_LONG, WGS84_LAT, hash).unwrap_or(Area {
            hash,
            longitude: Range { min: 0.0, max: 0.0 },
            latitude: Range { min: 0.0, max: 0.0 },
        });
        (hash, neighbors, area)
    };
    let (mut hash, mut neighbors, mut area) = cell_at(steps);

    // Near the edge of its cell the centre's neighbours may not reach the end of the search
    // area at this precision: one step coarser doubles their size.
    let side = |h: Bits| decode(WGS84_LONG, WGS84_LAT, h);
    let too_small = side(neighbors.north).is_some_and(|a| a.latitude.max < max_lat)
        || side(neighbors.south).is_some_and(|a| a.latitude.min > min_lat)
        || side(neighbors.east).is_some_and(|a| a.longitude.max < max_lon)
        || side(neighbors.west).is_some_and(|a| a.longitude.min > min_lon);
    if steps > 1 && too_small {
        steps -= 1;
        (hash, neighbors, area) = cell_at(steps);
    }

    if steps >= 2 {
        if area.latitude.min < min_lat {
            neighbors.south = Bits::ZERO;
            neighbors.south_west = Bits::ZERO;
            neighbors.south_east = Bits::ZERO;
        }
        if area.latitude.max > max_lat {
            neighbors.north = Bits::ZERO;
            neighbors.north_east = Bits::ZERO;
            neighbors.north_west = Bits::ZERO;
        }
        if area.longitude.min < min_lon {
            neighbors.west = Bits::ZERO;
            neighbors.south_west = Bits::ZERO;
            neighbors.north_west = Bits::ZERO;
        }
        if area.longitude.max > max_lon {
            neighbors.east = Bits::ZERO;
            neighbors.south_east = Bits::ZERO;
            neighbors.north_east = Bits::ZERO;
        }
    }
    SearchArea {
        hash,
        neighbors,
        area,
    }
}

/// The distance along a meridian between two latitudes, in metres.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The great-circle distance between two positions, in metres (haversine formula).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // On a meridian the formula reduces to the latitude difference.
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// Whether the point `xy` lies in `shape` (the unit conversion applied), and its distance in
/// metres from the shape's centre when it does.
pub fn within_shape(shape: &Shape, xy: [f64; 2]) -> Option<f64> {
    let [x1, y1] = shape.xy;
    let [x2, y2] = xy;
    match shape.kind {
        ShapeKind::Radius(r) => {
            let d = distance(x1, y1, x2, y2);
            // Only a distance greater than the radius is outside: a NaN one counts as inside,
            // as it does in Redis's `d > radius` test.
            match d.partial_cmp(&(r * shape.conversion)) {
                Some(std::cmp::Ordering::Greater) => None,
                _ => Some(d),
            }
        }
        ShapeKind::Box { width, height } => {
            let (width_m, height_m) = (width * shape.conversion, height * shape.conversion);
            if lat_distance(y2, y1) > height_m / 2.0 {
                return None;
            }
            if distance(x2, y2, x1, y2) > width_m / 2.0 {
                return None;
            }
            Some(distance(x1, y1, x2, y2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (a, b) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0xFFFF_FFFF, 0),
            (0x1234_5678, 0x9abc_def0),
        ] {
            let v = interleave(a, b);
            assert_eq!(deinterleave(v), (a, b));
        }
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
        assert_eq!(interleave(3, 0), 5);
    }

    #[test]
    fn palermo_scores_and_decodes_as_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores this score in Redis 7.0.
        let h = encode_wgs84(13.361389, 38.115556, STEP_MAX).expect("in range");
        assert_eq!(h.align52(), 3479099956230698);
        let [lon, lat] = decode_score(3479099956230698.0).expect("decodes");
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(
            &standard_geohash(3479099956230698.0).expect("hash"),
            b"sqc8b49rny0"
        );
    }

    #[test]
    fn odd_scores_convert_like_x86_casts() {
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(f64::INFINITY), 0);
        assert_eq!(c_double_to_u64(1e300), 0);
        assert_eq!(c_double_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(c_double_to_u64(9_223_372_036_854_775_808.0), 1 << 63);
        assert_eq!(c_double_to_u64(3.0), 3);
        // Every bit set decodes to the clamped north-east corner.
        assert_eq!(decode_score(-1.0), Some([180.0, LAT_MAX]));
    }

    #[test]
    fn neighbours_wrap_at_the_edges() {
        let h = Bits { bits: 0, step: 1 };
        let n = neighbors(h);
        assert_eq!(n.east.bits, 2);
        assert_eq!(n.west.bits, 2);
        assert_eq!(n.north.bits, 1);
        assert_eq!(n.south.bits, 1);
    }

    #[test]
    fn steps_follow_the_radius() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        // 200 km doubles 7 times before reaching half the equator: step 8, minus 2.
        assert_eq!(estimate_steps_by_radius(200_000.0, 38.0), 6);
        assert_eq!(estimate_steps_by_radius(200_000.0, 70.0), 5);
        assert_eq!(estimate_steps_by_radius(200_000.0, 85.0), 4);
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
        assert_eq!(estimate_steps_by_radius(0.001, 0.0), 26);
    }

    #[test]
    fn palermo_catania_distance() {
        let d = distance(
            13.361389338970184,
            38.1155563954963,
            15.087267458438873,
            37.50266842333162,
        );
        assert!((d - 166274.1516).abs() < 0.001, "{d}");
    }
}
