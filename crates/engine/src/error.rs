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
pub const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
pub const EXECABORT_OOM: &str = "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
pub const BUSY_SCRIPT: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const CURSOR_INVALID: &str = "ERR invalid cursor";
pub const NX_XX_GT_LT: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const GT_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const VALUE_MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
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
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
/// HINCRBYFLOAT given an infinite increment.
pub const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
/// HRANDFIELD's count with WITHVALUES beyond half the range of a long.
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";
/// Redis's `getPositiveLongFromObjectOrReply` default text (SPOP's count).
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
pub const NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
pub const BITOP_NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
pub const BITFIELD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
pub const BITFIELD_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
pub const HLL_WRONGTYPE: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
pub const HLL_CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
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

/// `ERR at least 1 input key is needed for 'zunionstore' command`
pub fn no_input_keys(cmd: &str) -> String {
    format!("ERR at least 1 input key is needed for '{cmd}' command")
}

pub const STREAM_ID_INVALID: &str = "ERR Invalid stream ID specified as stream command argument";
pub const XADD_ID_NOT_GREATER: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
pub const XADD_ID_ZERO: &str = "ERR The ID specified in XADD must be greater than 0-0";
pub const STREAM_EXHAUSTED: &str =
    "ERR The stream has exhausted the last possible ID, unable to add more items";
pub const STREAM_ELEMENTS_TOO_LARGE: &str = "ERR Elements are too large to be stored";
pub const TRIM_MAXLEN_AND_MINID: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
pub const TRIM_MAXLEN_NEGATIVE: &str = "ERR The MAXLEN argument must be >= 0.";
pub const TRIM_LIMIT_NEGATIVE: &str = "ERR The LIMIT argument must be >= 0.";
pub const TRIM_LIMIT_WITHOUT_STRATEGY: &str =
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
pub const XTRIM_WITHOUT_STRATEGY: &str =
    "ERR syntax error, XTRIM must be called with a trimming strategy";
pub const TRIM_LIMIT_WITHOUT_APPROX: &str =
    "ERR syntax error, LIMIT cannot be used without the special ~ option";
pub const INVALID_START_ID: &str = "ERR invalid start ID for the interval";
pub const INVALID_END_ID: &str = "ERR invalid end ID for the interval";
pub const XREAD_UNBALANCED: &str =
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
pub const XREAD_GROUP_OPTION: &str =
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREAD_NOACK_OPTION: &str =
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREADGROUP_MISSING_GROUP: &str = "ERR Missing GROUP option for XREADGROUP";
pub const XREADGROUP_DOLLAR_ID: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
pub const XREAD_GREATER_ID: &str = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
/// What a client blocked in XREADGROUP hears when its group is destroyed.
pub const XREADGROUP_GROUP_GONE: &str =
    "NOGROUP the consumer group this client was blocked on no longer exists";
/// What a client blocked in XREADGROUP hears when the stream is deleted or replaced.
pub const XREADGROUP_KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";
pub const XGROUP_ENTRIES_READ: &str = "ERR value for ENTRIESREAD must be positive or -1";
pub const XGROUP_KEY_MISSING: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
pub const BUSYGROUP: &str = "BUSYGROUP Consumer Group name already exists";
pub const XSETID_ENTRIES_ADDED_NEGATIVE: &str = "ERR entries_added must be positive";
pub const XSETID_BELOW_MAX_DELETED: &str =
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
pub const XSETID_BELOW_TOP: &str =
    "ERR The ID specified in XSETID is smaller than the target stream top item";
pub const XSETID_ENTRIES_ADDED_BELOW_LENGTH: &str =
    "ERR The entries_added specified in XSETID is smaller than the target stream length";
pub const XCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XCLAIM";
pub const XCLAIM_IDLE: &str = "ERR Invalid IDLE option argument for XCLAIM";
pub const XCLAIM_TIME: &str = "ERR Invalid TIME option argument for XCLAIM";
pub const XCLAIM_RETRYCOUNT: &str = "ERR Invalid RETRYCOUNT option argument for XCLAIM";
pub const XAUTOCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XAUTOCLAIM";
pub const XAUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";
pub const XAUTOCLAIM_COUNT_TOO_HIGH: &str =
    "ERR Insufficient memory, failed allocating transient memory, COUNT too high.";

/// An argument as C's `%s` prints it inside an error: up to its first NUL, CR and LF as spaces.
fn quoted_arg(a: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(until_nul(a)))
}

/// `NOGROUP No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option`
pub fn xreadgroup_no_group(key: &[u8], group: &[u8]) -> String {
    format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        quoted_arg(key),
        quoted_arg(group)
    )
}

/// `NOGROUP No such key 'k' or consumer group 'g'` (XPENDING, XCLAIM, XAUTOCLAIM)
pub fn no_key_or_group(key: &[u8], group: &[u8]) -> String {
    format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        quoted_arg(key),
        quoted_arg(group)
    )
}

/// `NOGROUP No such consumer group 'g' for key name 'k'` (XGROUP, XINFO CONSUMERS)
pub fn no_group_for_key(group: &[u8], key: &[u8]) -> String {
    format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        quoted_arg(group),
        quoted_arg(key)
    )
}

/// `ERR Unrecognized XCLAIM option 'x'`
pub fn xclaim_unrecognized(opt: &[u8]) -> String {
    format!("ERR Unrecognized XCLAIM option '{}'", quoted_arg(opt))
}

// Cluster mode.
pub const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
pub const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";
pub const CLUSTERDOWN: &str = "CLUSTERDOWN The cluster is down";
pub const CLUSTERDOWN_UNBOUND: &str = "CLUSTERDOWN Hash slot not served";
pub const READONLY_REPLICA: &str = "READONLY You can't write against a read only replica.";
pub const SELECT_IN_CLUSTER: &str = "ERR SELECT is not allowed in cluster mode";
pub const MOVE_IN_CLUSTER: &str = "ERR MOVE is not allowed in cluster mode";
pub const COPY_DB_IN_CLUSTER: &str =
    "ERR Copying to another database is not allowed in cluster mode";
pub const SWAPDB_IN_CLUSTER: &str = "ERR SWAPDB is not allowed in cluster mode";
pub const UNBLOCKED_ROLE_CHANGE: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
pub const INVALID_SLOT_RANGE: &str = "ERR Invalid or out of range slot";
pub const INVALID_SLOT: &str = "ERR Invalid slot";
pub const INVALID_SLOT_OR_COUNT: &str = "ERR Invalid slot or number of keys";
pub const SETSLOT_ON_REPLICA: &str = "ERR Please use SETSLOT only with masters.";
pub const TARGET_NOT_MASTER: &str = "ERR Target node is not a master";
pub const SETSLOT_ACTION: &str =
    "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
pub const FLUSHSLOTS_NOT_EMPTY: &str = "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.";
pub const FAILOVER_ON_MASTER: &str = "ERR You should send CLUSTER FAILOVER to a replica";
pub const FAILOVER_MASTER_DOWN: &str =
    "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE";
pub const REPLICATE_MYSELF: &str = "ERR Can't replicate myself";
pub const REPLICATE_REPLICA: &str = "ERR I can only replicate a master, not a replica.";
pub const REPLICATE_NOT_EMPTY: &str =
    "ERR To set a master the node must be empty and without assigned slots.";
pub const NOT_A_MASTER: &str = "ERR The specified node is not a master";
pub const FORGET_MYSELF: &str = "ERR I tried hard but I can't forget myself...";
pub const FORGET_MY_MASTER: &str = "ERR Can't forget my master!";
pub const CONFIG_EPOCH_KNOWS_OTHERS: &str =
    "ERR The user can assign a config epoch only when the node does not know any other node.";
pub const MIGRATE_KEYS_NEEDS_EMPTY_KEY: &str =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
pub const MIGRATE_CONNECT: &str = "IOERR error or timeout connecting to the client";
pub const MIGRATE_WRITE: &str = "IOERR error or timeout writing to target instance";
pub const MIGRATE_READ: &str = "IOERR error or timeout reading to target instance";
pub const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
pub const WAIT_ON_REPLICA: &str = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.";
/// Not a Redis reply: what a cluster node that is down answers in place of a refused connection.
pub const NODE_DOWN: &str = "ERR node is down (connection refused)";

/// `ERR Slot 5 is already busy` and the other per-slot errors of ADDSLOTS and DELSLOTS.
pub fn slot_error(slot: i64, what: &str) -> String {
    format!("ERR Slot {slot} {what}")
}

/// `ERR start slot number 10 is greater than end slot number 5`
pub fn slot_range_reversed(start: i64, end: i64) -> String {
    format!("ERR start slot number {start} is greater than end slot number {end}")
}

/// `ERR I'm not the owner of hash slot 5` (SETSLOT MIGRATING on a node that does not own it).
pub fn not_slot_owner(slot: i64) -> String {
    format!("ERR I'm not the owner of hash slot {slot}")
}

/// `ERR I'm already the owner of hash slot 5` (SETSLOT IMPORTING on the owner).
pub fn already_slot_owner(slot: i64) -> String {
    format!("ERR I'm already the owner of hash slot {slot}")
}

/// `ERR I don't know about node <id>` (SETSLOT MIGRATING / IMPORTING).
pub fn dont_know_node(id: &[u8]) -> String {
    sanitize(&format!(
        "ERR I don't know about node {}",
        String::from_utf8_lossy(until_nul(id))
    ))
}

/// `ERR Unknown node <id>` (SETSLOT NODE, REPLICATE, FORGET...).
pub fn unknown_node(id: &[u8]) -> String {
    sanitize(&format!(
        "ERR Unknown node {}",
        String::from_utf8_lossy(until_nul(id))
    ))
}

/// SETSLOT NODE moving a slot away from a node that still has keys in it.
pub fn slot_still_has_keys(slot: i64) -> String {
    format!(
        "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
    )
}

/// MIGRATE's reply when the target answered an error.
pub fn migrate_target_error(text: &str) -> String {
    format!("ERR Target instance replied with error: {text}")
}

/// `ERR Invalid TCP base port specified: x` / `ERR Invalid TCP bus port specified: x`
pub fn invalid_port(which: &str, arg: &[u8]) -> String {
    sanitize(&format!(
        "ERR Invalid TCP {which} port specified: {}",
        String::from_utf8_lossy(until_nul(arg))
    ))
}

/// `ERR Invalid config epoch specified: -1`
pub fn invalid_config_epoch(epoch: i64) -> String {
    format!("ERR Invalid config epoch specified: {epoch}")
}
pub const GEO_UNSUPPORTED_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
pub const GEO_NEED_RADIUS: &str = "ERR need numeric radius";
pub const GEO_RADIUS_NEGATIVE: &str = "ERR radius cannot be negative";
pub const GEO_NEED_WIDTH: &str = "ERR need numeric width";
pub const GEO_NEED_HEIGHT: &str = "ERR need numeric height";
pub const GEO_BOX_NEGATIVE: &str = "ERR height or width cannot be negative";
pub const GEO_MEMBER_NOT_DECODED: &str = "ERR could not decode requested zset member";
pub const GEO_COUNT_NOT_POSITIVE: &str = "ERR COUNT must be > 0";
pub const GEO_ANY_NEEDS_COUNT: &str = "ERR the ANY argument requires COUNT argument";
pub const GEORADIUS_STORE_WITH: &str =
    "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options";
pub const GEOSEARCHSTORE_WITH: &str =
    "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options";
pub const SORT_SCORE_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// `ERR invalid longitude,latitude pair 200.000000,100.000000` (C's `%f`).
pub fn geo_invalid_pair(lon: f64, lat: f64) -> String {
    format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}")
}

/// GEOSEARCH without FROMMEMBER or FROMLONLAT; `cmd` is the name as the client typed it.
pub fn geo_need_from(cmd: &[u8]) -> String {
    sanitize(&format!(
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
        String::from_utf8_lossy(until_nul(cmd))
    ))
}

/// GEOSEARCH without BYRADIUS or BYBOX.
pub fn geo_need_by(cmd: &[u8]) -> String {
    sanitize(&format!(
        "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
        String::from_utf8_lossy(until_nul(cmd))
    ))
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
