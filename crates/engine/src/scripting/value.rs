//! Lua values copied out of the VM, for the script libraries written in plain Rust (cjson,
//! cmsgpack, struct, bit). Keeping the libraries on this neutral form keeps them out of the VM's
//! API: only `vm.rs` knows how a table is stored.

#[derive(Clone, Debug, PartialEq)]
pub enum LValue {
    Nil,
    Bool(bool),
    Num(f64),
    Str(Vec<u8>),
    /// A table's pairs, in the VM's iteration order (`next`).
    Table(Vec<(LValue, LValue)>),
    /// `cjson.null`: the light userdata holding NULL.
    Null,
    /// A table nested deeper than the copy was asked to go: not copied.
    Deep,
    /// Any other value (function, thread, userdata): only its type name.
    Other(&'static str),
}

impl LValue {
    /// The name Lua's `type()` gives the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            LValue::Nil => "nil",
            LValue::Bool(_) => "boolean",
            LValue::Num(_) => "number",
            LValue::Str(_) => "string",
            LValue::Table(_) | LValue::Deep => "table",
            LValue::Null => "userdata",
            LValue::Other(t) => t,
        }
    }
}

/// An argument of a library function as the C API sees it: `lua_tonumber` and `lua_tolstring`
/// both precomputed (a numeric string is a number too; a number is a string too).
#[derive(Clone, Debug, PartialEq)]
pub struct LArg {
    pub num: Option<f64>,
    pub str: Option<Vec<u8>>,
    pub type_name: &'static str,
}

impl LArg {
    /// An argument position past the last one (`lua_isnone`).
    pub fn none() -> LArg {
        LArg {
            num: None,
            str: None,
            type_name: "no value",
        }
    }
}

/// Why a library function failed, in the two ways the C libraries raise errors.
#[derive(Debug, PartialEq)]
pub enum LibError {
    /// `luaL_error`: the message, prefixed with the caller's position by the VM.
    Msg(String),
    /// `luaL_argerror`: `bad argument #n to '<function>' (msg)`.
    Arg(usize, String),
}

/// `lua_Number` to `lua_Integer` (a C cast from double to a 64-bit integer): truncation toward
/// zero, and on x86-64 the "integer indefinite" value for NaN and anything out of range.
pub fn c_double_to_i64(n: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// `(int)n` for a double, as x86-64 truncates it (out of range gives INT_MIN).
pub fn c_double_to_i32(n: f64) -> i32 {
    if n.is_nan() || n >= 2_147_483_648.0 || n <= -2_147_483_649.0 {
        i32::MIN
    } else {
        n as i32
    }
}
