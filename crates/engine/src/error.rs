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
pub const DECR_OVERFLOW: &str = "ERR decrement would overflow";
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
pub const LCS_LEN_AND_IDX: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
pub const LCS_TABLE_TOO_BIG: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
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
/// An integer that does not fit the C int a command reads it into (SELECT's index).
pub const INT_OUT_OF_RANGE: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
pub const PROTOCOL_NOT_INTEGER: &str = "ERR Protocol version is not an integer or out of range";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
pub const CLIENT_ID_NOT_POSITIVE: &str = "ERR client-id should be greater than 0";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
pub const INVALID_FIRST_DB_INDEX: &str = "ERR invalid first DB index";
pub const INVALID_SECOND_DB_INDEX: &str = "ERR invalid second DB index";
pub const GETKEYS_INVALID_COMMAND: &str = "ERR Invalid command specified";
pub const GETKEYS_NO_KEYS: &str = "ERR The command has no key arguments";
pub const GETKEYS_ARITY: &str = "ERR Invalid number of arguments specified for command";
pub const GETKEYS_INVALID_ARGS: &str = "ERR Invalid arguments specified for command";
pub const NO_CONFIG_FILE: &str = "ERR The server is running without a config file";

/// `ERR wrong number of arguments for 'get' command` (the name is the command's full lower-case
/// name, `config|get` for a subcommand).
pub fn wrong_arity(fullname: &str) -> String {
    format!("ERR wrong number of arguments for '{fullname}' command")
}

/// Redis quotes at most 128 bytes of the name and lists the first arguments, each followed by a
/// space, up to 128 bytes in all. It formats them with `%s`, so each stops at its first NUL byte.
pub fn unknown_command(argv: &[&[u8]]) -> String {
    let name = until_nul(argv[0]);
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let a = until_nul(a);
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
    let sub = until_nul(sub);
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

/// The part of an argument that C's `%s` prints: up to the first NUL byte.
fn until_nul(a: &[u8]) -> &[u8] {
    a.iter().position(|&c| c == 0).map_or(a, |i| &a[..i])
}

/// `ERR Syntax error in HELLO option 'x'`
pub fn hello_syntax(opt: &[u8]) -> String {
    format!(
        "ERR Syntax error in HELLO option '{}'",
        sanitize(&String::from_utf8_lossy(opt))
    )
}

/// `ERR Unknown client type 'x'`
pub fn unknown_client_type(name: &[u8]) -> String {
    format!(
        "ERR Unknown client type '{}'",
        sanitize(&String::from_utf8_lossy(name))
    )
}

/// `ERR No such user 'x'`
pub fn no_such_user(name: &[u8]) -> String {
    format!(
        "ERR No such user '{}'",
        sanitize(&String::from_utf8_lossy(name))
    )
}

/// `ERR Unknown option or number of arguments for CONFIG SET - 'x'`
pub fn config_set_unknown(name: &[u8]) -> String {
    format!(
        "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
        sanitize(&String::from_utf8_lossy(name))
    )
}

/// `ERR CONFIG SET failed (possibly related to argument 'hz') - <reason>`
pub fn config_set_failed(name: &str, reason: &str) -> String {
    sanitize(&format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
    ))
}

/// `ERR unknown subcommand or wrong number of arguments for 'x'. Try DEBUG HELP.`, for commands
/// that read their own subcommands (DEBUG).
pub fn subcommand_syntax(sub: &[u8], command: &[u8]) -> String {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    let command = String::from_utf8_lossy(command).to_ascii_uppercase();
    sanitize(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {command} HELP."
    ))
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

/// What a RESP2 client in subscribed mode hears when it runs anything but (un)subscribing.
pub fn not_in_subscribed_context(fullname: &str) -> String {
    format!(
        "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

pub const NUMKEYS_TOO_BIG: &str = "ERR Number of keys can't be greater than number of args";
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
pub const BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
pub const SCRIPT_WRITE_FLAG_RO: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";
pub const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
pub const SCRIPT_FLUSH_OPTION: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
pub const FUNCTION_FLUSH_OPTION: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
pub const LIBRARY_NAME_MISSING: &str = "ERR library name argument was not given";
pub const FUNCTION_CODE_MISSING: &str = "ERR Function code is missing";
/// Redis says "Library names" for function names too.
pub const FUNCTION_NAME_INVALID: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
/// What `redis.call` answers when the script-level checks refuse a command.
pub const SCRIPT_UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
pub const SCRIPT_WRONG_ARITY: &str = "ERR Wrong number of args calling Redis command from script";
pub const SCRIPT_NOSCRIPT_COMMAND: &str = "ERR This Redis command is not allowed from script";
pub const SCRIPT_READONLY_WRITE: &str =
    "ERR Write commands are not allowed from read-only scripts.";
/// The error a script stopped at the busy threshold raises (Redis's text for a script stopped
/// by SCRIPT KILL; the engine stops it in the operator's place).
pub const SCRIPT_KILLED: &str = "Script killed by user with SCRIPT KILL...";
/// The error a script that wrote and then ran past the engine's hard limit raises. Redis has no
/// such limit: only SHUTDOWN NOSAVE would end it.
pub const SCRIPT_HARD_LIMIT: &str = "Script stopped by the engine after it wrote and ran past the hard time limit (Redis would stay BUSY until SHUTDOWN NOSAVE)";
pub const FUNCTION_LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";

/// `ERR Unknown option given: x` (FUNCTION LOAD)
pub fn function_load_option(opt: &[u8]) -> String {
    format!(
        "ERR Unknown option given: {}",
        sanitize(&String::from_utf8_lossy(until_nul(opt)))
    )
}

/// `ERR Unknown argument x` (FUNCTION LIST)
pub fn function_list_argument(arg: &[u8]) -> String {
    format!(
        "ERR Unknown argument {}",
        sanitize(&String::from_utf8_lossy(arg))
    )
}

/// An error text turned into one line, as Redis's formatted error replies are.
pub fn one_line(s: &str) -> String {
    sanitize(s)
}
