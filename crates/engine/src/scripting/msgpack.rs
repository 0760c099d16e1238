//! `cmsgpack`: the MessagePack library Redis embeds (lua-cmsgpack 0.4.0).
//!
//! Packing: integers (any number that is a whole int64) in the smallest form, other numbers as a
//! float when a float holds them exactly and a double otherwise, strings as str8/16/32 (fixstr
//! below 32 bytes), a table as an array when its keys are exactly 1..n and as a map otherwise,
//! tables nested 16 deep and anything unpackable (functions, `cjson.null`...) as nil.
//! Unpacking reads what packing writes plus the int and fixmap forms; bin and ext types are a
//! format error. Error texts are lua-cmsgpack's.

use super::value::{LValue, LibError};

/// Tables deeper than this are packed as nil.
pub const MAX_NESTING: usize = 16;
/// The Lua stack slots a C function may use (LUAI_MAXCSTACK): unpacking needs one per value
/// returned and two per table being filled.
const MAX_STACK: usize = 8000;
/// Nesting beyond this is refused as if the stack had run out (the engine's copies of the values
/// are recursive structures).
const MAX_DEPTH: usize = 1000;
const TOO_MANY: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";

pub fn pack(out: &mut Vec<u8>, v: &LValue) {
    match v {
        LValue::Str(s) => {
            let len = s.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(s);
        }
        LValue::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        LValue::Num(n) => pack_number(out, *n),
        LValue::Table(pairs) => {
            if is_array(pairs) {
                pack_len(out, pairs.len(), 0x90, 0xdc);
                let mut items: Vec<&LValue> = vec![&LValue::Nil; pairs.len()];
                for (k, val) in pairs {
                    if let Some(slot) = match k {
                        LValue::Num(k) => items.get_mut(*k as usize - 1),
                        _ => None,
                    } {
                        *slot = val;
                    }
                }
                for item in items {
                    pack(out, item);
                }
            } else {
                pack_len(out, pairs.len(), 0x80, 0xde);
                for (k, val) in pairs {
                    pack(out, k);
                    pack(out, val);
                }
            }
        }
        LValue::Nil | LValue::Null | LValue::Deep | LValue::Other(_) => out.push(0xc0),
    }
}

/// Keys are exactly 1..n (each a positive whole C int).
fn is_array(pairs: &[(LValue, LValue)]) -> bool {
    let mut max = 0f64;
    for (k, _) in pairs {
        match k {
            LValue::Num(n) if *n > 0.0 && *n < 2_147_483_648.0 && n.trunc() == *n => {
                max = max.max(*n);
            }
            _ => return false,
        }
    }
    max == pairs.len() as f64
}

fn pack_len(out: &mut Vec<u8>, n: usize, fix: u8, tag16: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(tag16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(tag16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn pack_number(out: &mut Vec<u8>, n: f64) {
    let int_like =
        (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) && n.trunc() == n;
    if int_like {
        pack_int(out, n as i64);
    } else if n == (n as f32) as f64 {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// What `unpack`, `unpack_one` and `unpack_limit` return: the values and, when a limit or an
/// offset was given, the offset to continue from (-1 once the input is used up).
pub struct Unpacked {
    pub next_offset: Option<i64>,
    pub values: Vec<LValue>,
}

/// lua-cmsgpack's `mp_unpack_full`. `limit == 0 && offset == 0` decodes everything (and, as in
/// the C code, also when `unpack_limit` is asked for a limit of 0).
pub fn unpack(data: &[u8], limit: i64, offset: i64) -> Result<Unpacked, LibError> {
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(LibError::Msg(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(LibError::Msg(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut cur = Cursor {
        data,
        pos: offset as usize,
    };
    let mut values = Vec::new();
    while cur.pos < len && (values.len() as i64) < limit {
        match cur.value(1 + values.len()) {
            Ok(v) => values.push(v),
            Err(Fail::Eof) => return Err(LibError::Msg("Missing bytes in input.".into())),
            Err(Fail::BadFormat) => return Err(LibError::Msg("Bad data format in input.".into())),
            Err(Fail::Stack) => return Err(LibError::Msg(TOO_MANY.into())),
        }
    }
    let next_offset = (!decode_all).then_some(if cur.pos >= len { -1 } else { cur.pos as i64 });
    Ok(Unpacked {
        next_offset,
        values,
    })
}

enum Fail {
    Eof,
    BadFormat,
    Stack,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

/// A table being filled while decoding (the decoder keeps its own stack, so deep input cannot
/// exhaust the host's).
struct Open {
    map: bool,
    remaining: usize,
    pairs: Vec<(LValue, LValue)>,
    key: Option<LValue>,
}

/// One decoded item: a finished value, or the start of a table of `n` entries.
enum Item {
    Value(LValue),
    Table { map: bool, len: usize },
}

impl Cursor<'_> {
    fn need(&self, n: usize) -> Result<(), Fail> {
        if self.data.len() - self.pos < n {
            return Err(Fail::Eof);
        }
        Ok(())
    }

    fn be(&self, at: usize, n: usize) -> u64 {
        self.data[self.pos + at..self.pos + at + n]
            .iter()
            .fold(0u64, |v, &b| (v << 8) | b as u64)
    }

    fn bytes(&mut self, header: usize, len: usize) -> Result<Item, Fail> {
        self.need(header.checked_add(len).ok_or(Fail::Eof)?)?;
        let s = self.data[self.pos + header..self.pos + header + len].to_vec();
        self.pos += header + len;
        Ok(Item::Value(LValue::Str(s)))
    }

    fn number(&mut self, size: usize, v: f64) -> Result<Item, Fail> {
        self.pos += size;
        Ok(Item::Value(LValue::Num(v)))
    }

    /// Decodes one complete value; `slots` is the Lua stack already in use.
    fn value(&mut self, slots: usize) -> Result<LValue, Fail> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            // Each table being filled holds two stack slots (the table and a key or index).
            if slots + 2 * open.len() + 1 > MAX_STACK || open.len() >= MAX_DEPTH {
                return Err(Fail::Stack);
            }
            let mut v = match self.item()? {
                Item::Table { map, len } => {
                    if len > 0 {
                        open.push(Open {
                            map,
                            remaining: len,
                            pairs: Vec::new(),
                            key: None,
                        });
                        continue;
                    }
                    LValue::Table(Vec::new())
                }
                Item::Value(v) => v,
            };
            // Hand the value to the tables it completes.
            loop {
                let Some(top) = open.last_mut() else {
                    return Ok(v);
                };
                if top.map && top.key.is_none() {
                    top.key = Some(v);
                    break;
                }
                let key = match top.key.take() {
                    Some(k) => k,
                    None => LValue::Num((top.pairs.len() + 1) as f64),
                };
                top.pairs.push((key, v));
                top.remaining -= 1;
                if top.remaining > 0 {
                    break;
                }
                let done = open.pop().map(|o| o.pairs).unwrap_or_default();
                v = LValue::Table(done);
            }
        }
    }

    fn item(&mut self) -> Result<Item, Fail> {
        self.need(1)?;
        let c = self.data[self.pos];
        match c {
            0xcc => {
                self.need(2)?;
                let v = self.be(1, 1);
                self.number(2, v as f64)
            }
            0xd0 => {
                self.need(2)?;
                let v = self.be(1, 1) as u8 as i8;
                self.number(2, v as f64)
            }
            0xcd => {
                self.need(3)?;
                let v = self.be(1, 2);
                self.number(3, v as f64)
            }
            0xd1 => {
                self.need(3)?;
                let v = self.be(1, 2) as u16 as i16;
                self.number(3, v as f64)
            }
            0xce => {
                self.need(5)?;
                let v = self.be(1, 4);
                self.number(5, v as f64)
            }
            0xd2 => {
                self.need(5)?;
                let v = self.be(1, 4) as u32 as i32;
                self.number(5, v as f64)
            }
            // uint 64 is pushed as a lua_Integer: values past INT64_MAX wrap negative.
            0xcf | 0xd3 => {
                self.need(9)?;
                let v = self.be(1, 8) as i64;
                self.number(9, v as f64)
            }
            0xc0 => {
                self.pos += 1;
                Ok(Item::Value(LValue::Nil))
            }
            0xc3 | 0xc2 => {
                self.pos += 1;
                Ok(Item::Value(LValue::Bool(c == 0xc3)))
            }
            0xca => {
                self.need(5)?;
                let v = f32::from_bits(self.be(1, 4) as u32);
                self.number(5, v as f64)
            }
            0xcb => {
                self.need(9)?;
                let v = f64::from_bits(self.be(1, 8));
                self.number(9, v)
            }
            0xd9 => {
                self.need(2)?;
                let l = self.be(1, 1) as usize;
                self.bytes(2, l)
            }
            0xda => {
                self.need(3)?;
                let l = self.be(1, 2) as usize;
                self.bytes(3, l)
            }
            0xdb => {
                self.need(5)?;
                let l = self.be(1, 4) as usize;
                self.bytes(5, l)
            }
            0xdc..=0xdf => {
                let n = if c == 0xdc || c == 0xde { 2 } else { 4 };
                self.need(1 + n)?;
                let len = self.be(1, n) as usize;
                self.pos += 1 + n;
                Ok(Item::Table {
                    map: c >= 0xde,
                    len,
                })
            }
            _ if c & 0x80 == 0 => self.number(1, c as f64),
            _ if c & 0xe0 == 0xe0 => self.number(1, c as i8 as f64),
            _ if c & 0xe0 == 0xa0 => self.bytes(1, (c & 0x1f) as usize),
            _ if c & 0xf0 == 0x90 || c & 0xf0 == 0x80 => {
                self.pos += 1;
                Ok(Item::Table {
                    map: c & 0xf0 == 0x80,
                    len: (c & 0xf) as usize,
                })
            }
            _ => Err(Fail::BadFormat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(v: &LValue) -> Vec<u8> {
        let mut out = Vec::new();
        pack(&mut out, v);
        out
    }

    #[test]
    fn packs_numbers_in_the_smallest_form() {
        assert_eq!(packed(&LValue::Num(1.0)), [0x01]);
        assert_eq!(packed(&LValue::Num(-1.0)), [0xff]);
        assert_eq!(packed(&LValue::Num(200.0)), [0xcc, 200]);
        assert_eq!(packed(&LValue::Num(-200.0)), [0xd1, 0xff, 0x38]);
        assert_eq!(packed(&LValue::Num(1.5)), [0xca, 0x3f, 0xc0, 0, 0]);
        assert_eq!(packed(&LValue::Num(0.1))[0], 0xcb);
        assert_eq!(packed(&LValue::Num(4294967296.0))[0], 0xcf);
    }

    #[test]
    fn tables_and_round_trip() {
        let arr = LValue::Table(vec![
            (LValue::Num(1.0), LValue::Str(b"a".to_vec())),
            (LValue::Num(2.0), LValue::Bool(true)),
        ]);
        assert_eq!(packed(&arr), [0x92, 0xa1, b'a', 0xc3]);
        let map = LValue::Table(vec![(LValue::Str(b"k".to_vec()), LValue::Num(7.0))]);
        assert_eq!(packed(&map), [0x81, 0xa1, b'k', 0x07]);
        assert_eq!(packed(&LValue::Table(vec![])), [0x90]);
        let mut bytes = packed(&arr);
        bytes.extend(packed(&map));
        let u = unpack(&bytes, 0, 0).unwrap();
        assert_eq!(u.values, vec![arr.clone(), map]);
        assert_eq!(u.next_offset, None);
        let one = unpack(&bytes, 1, 0).unwrap();
        assert_eq!(one.values, vec![arr]);
        assert_eq!(one.next_offset, Some(4));
    }

    #[test]
    fn unpack_errors() {
        let err = |r: Result<Unpacked, LibError>| match r {
            Err(LibError::Msg(m)) => m,
            _ => String::new(),
        };
        assert_eq!(err(unpack(&[0x92, 0x01], 0, 0)), "Missing bytes in input.");
        assert_eq!(err(unpack(&[0xc1], 0, 0)), "Bad data format in input.");
        assert_eq!(
            err(unpack(&[0x01], 1, 5)),
            "Start offset 5 greater than input length 1."
        );
        assert_eq!(err(unpack(&[0x91; 5000], 0, 0)), TOO_MANY);
    }
}
