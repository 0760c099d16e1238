//! Every error reply the engine gives, spelled as Redis 7.0 spells it, defined once.
//!
//! Fixed texts are constants; texts that name a command or an argument are built by the functions
//! below, each of which mirrors one `addReplyErrorFormat` call site in Redis.

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const INCR_NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
pub const OUT_OF_RANGE: &str = "ERR index out of range";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const DB_INDEX_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub const INVALID_DB_INDEX: &str = "ERR invalid DB index";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
pub const BUSY_SCRIPT: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const CURSOR_INVALID: &str = "ERR invalid cursor";
pub const NX_XX_GT_LT: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const GT_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const PROTOCOL_VERSION: &str = "NOPROTO unsupported protocol version";
pub const CLIENT_NAME_SPACES: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

/// `ERR wrong number of arguments for 'get' command` (the name is the command's full lower-case
/// name, `config|get` for a subcommand).
pub fn wrong_arity(fullname: &str) -> String {
    format!("ERR wrong number of arguments for '{fullname}' command")
}

/// Redis quotes at most 128 bytes of the name and lists the first arguments, each followed by a
/// space, up to 128 bytes in all.
pub fn unknown_command(argv: &[&[u8]]) -> String {
    let name = String::from_utf8_lossy(&argv[0][..argv[0].len().min(128)]).into_owned();
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let text = String::from_utf8_lossy(&a[..a.len().min(room)]);
        args.push_str(&format!("'{text}' "));
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {}",
        sanitize(&name),
        sanitize(&args)
    )
}

/// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
pub fn unknown_subcommand(sub: &[u8], container: &str) -> String {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        sanitize(&sub),
        container.to_ascii_uppercase()
    )
}

/// `ERR invalid expire time in 'set' command`
pub fn invalid_expire(cmd: &str) -> String {
    format!("ERR invalid expire time in '{cmd}' command")
}

/// Redis turns CR and LF in an error text into spaces so that the reply stays one line.
fn sanitize(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

pub const OBJECT_IDLETIME_LFU: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const OBJECT_FREQ_NOT_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// `ERR Unsupported option xyz` (EXPIRE's flags). Redis formats the option with `%s`, so the
/// text stops at the first NUL byte.
pub fn unsupported_option(opt: &[u8]) -> String {
    let opt = opt.split(|&b| b == 0).next().unwrap_or_default();
    format!(
        "ERR Unsupported option {}",
        sanitize(&String::from_utf8_lossy(opt))
    )
}

/// `ERR value is out of range, value must between -2147483648 and 2147483647`, Redis's reply for
/// an integer argument outside the range a command accepts (a database index, for instance).
pub fn value_out_of_range(min: i64, max: i64) -> String {
    format!("ERR value is out of range, value must between {min} and {max}")
}

pub const ZADD_XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
pub const ZADD_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
pub const SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const MIN_MAX_NOT_LEX: &str = "ERR min or max not valid string range item";
pub const ZRANGE_LIMIT_NEEDS_BY: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const ZRANGE_WITHSCORES_BYLEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
/// Redis's `getPositiveLongFromObjectOrReply` default text (ZPOPMIN's count).
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
/// ZRANDMEMBER's count with WITHSCORES beyond half the range of a long.
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";

/// `ERR at least 1 input key is needed for 'zunionstore' command`
pub fn no_input_keys(cmd: &str) -> String {
    format!("ERR at least 1 input key is needed for '{cmd}' command")
}
