//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO.
//! The handlers read their arguments and answer; running scripts is `crate::scripting`'s work.

use crate::args::is;
use crate::cmd::server::help_reply;
use crate::scripting::{self, EvalKind};
use crate::table::{container, CommandSpec};
use crate::{error, flags, Call, Engine, Reply};

macro_rules! spec {
    ($name:expr, $arity:expr, [$($flag:ident),*], $since:expr, $summary:expr, $syntax:expr, $handler:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: flags!($($flag),*),
            keys: (0, 0, 0),
            group: "scripting",
            since: $since,
            summary: $summary,
            syntax: $syntax,
            handler: $handler,
            subcommands: &[],
        }
    };
}

pub const COMMANDS: &[CommandSpec] = &[
    spec!(
        "eval",
        -3,
        [NOSCRIPT, STALE],
        "2.6.0",
        "Runs a Lua script, caching it under its SHA-1.",
        "script numkeys [key [key ...]] [arg [arg ...]]",
        eval
    ),
    spec!(
        "evalsha",
        -3,
        [NOSCRIPT, STALE],
        "2.6.0",
        "Runs a cached Lua script given its SHA-1.",
        "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        evalsha
    ),
    spec!(
        "eval_ro",
        -3,
        [NOSCRIPT, STALE, READONLY],
        "7.0.0",
        "Runs a Lua script that may not write.",
        "script numkeys [key [key ...]] [arg [arg ...]]",
        eval_ro
    ),
    spec!(
        "evalsha_ro",
        -3,
        [NOSCRIPT, STALE, READONLY],
        "7.0.0",
        "Runs a cached Lua script that may not write.",
        "sha1 numkeys [key [key ...]] [arg [arg ...]]",
        evalsha_ro
    ),
    spec!(
        "fcall",
        -3,
        [NOSCRIPT, STALE],
        "7.0.0",
        "Calls a function registered by a loaded library.",
        "function numkeys [key [key ...]] [arg [arg ...]]",
        fcall
    ),
    spec!(
        "fcall_ro",
        -3,
        [NOSCRIPT, STALE, READONLY],
        "7.0.0",
        "Calls a function that is flagged no-writes.",
        "function numkeys [key [key ...]] [arg [arg ...]]",
        fcall_ro
    ),
    CommandSpec {
        name: "script",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "scripting",
        since: "2.6.0",
        summary: "Manages the Lua script cache.",
        syntax: "subcommand [argument ...]",
        handler: container,
        subcommands: SCRIPT_SUBCOMMANDS,
    },
    CommandSpec {
        name: "function",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Manages function libraries.",
        syntax: "subcommand [argument ...]",
        handler: container,
        subcommands: FUNCTION_SUBCOMMANDS,
    },
];

const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    spec!(
        "script|exists",
        -3,
        [NOSCRIPT],
        "2.6.0",
        "Tells, for each SHA-1, whether that script is cached.",
        "sha1 [sha1 ...]",
        script_exists
    ),
    spec!(
        "script|flush",
        -2,
        [NOSCRIPT],
        "2.6.0",
        "Empties the script cache.",
        "[ASYNC | SYNC]",
        script_flush
    ),
    spec!(
        "script|help",
        2,
        [LOADING, STALE],
        "5.0.0",
        "Lists the SCRIPT subcommands.",
        "",
        script_help
    ),
    spec!(
        "script|kill",
        2,
        [NOSCRIPT, ALLOW_BUSY],
        "2.6.0",
        "Stops the running script, if it has not written.",
        "",
        kill
    ),
    spec!(
        "script|load",
        3,
        [NOSCRIPT, STALE],
        "2.6.0",
        "Compiles and caches a script without running it.",
        "script",
        script_load
    ),
];

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    spec!(
        "function|delete",
        3,
        [NOSCRIPT, WRITE],
        "7.0.0",
        "Removes a library and its functions.",
        "library-name",
        function_delete
    ),
    spec!(
        "function|flush",
        -2,
        [NOSCRIPT, WRITE],
        "7.0.0",
        "Removes every library.",
        "[ASYNC | SYNC]",
        function_flush
    ),
    spec!(
        "function|help",
        2,
        [LOADING, STALE],
        "7.0.0",
        "Lists the FUNCTION subcommands.",
        "",
        function_help
    ),
    spec!(
        "function|kill",
        2,
        [NOSCRIPT, ALLOW_BUSY],
        "7.0.0",
        "Stops the running function, if it has not written.",
        "",
        kill
    ),
    spec!(
        "function|list",
        -2,
        [NOSCRIPT],
        "7.0.0",
        "Describes the loaded libraries and their functions.",
        "[LIBRARYNAME library-name-pattern] [WITHCODE]",
        function_list
    ),
    spec!(
        "function|load",
        -3,
        [NOSCRIPT, WRITE, DENYOOM],
        "7.0.0",
        "Loads a library from its code, which registers its functions.",
        "[REPLACE] function-code",
        function_load
    ),
    spec!(
        "function|stats",
        2,
        [NOSCRIPT, ALLOW_BUSY],
        "7.0.0",
        "Tells what is running and how many libraries and functions there are.",
        "",
        function_stats
    ),
];

fn run_eval(e: &mut Engine, c: &Call, by_sha: bool, read_only: bool) -> Reply {
    scripting::eval(e, c.client, c.argv, c.now, EvalKind { by_sha, read_only })
}

fn eval(e: &mut Engine, c: &Call) -> Reply {
    run_eval(e, c, false, false)
}

fn evalsha(e: &mut Engine, c: &Call) -> Reply {
    run_eval(e, c, true, false)
}

fn eval_ro(e: &mut Engine, c: &Call) -> Reply {
    run_eval(e, c, false, true)
}

fn evalsha_ro(e: &mut Engine, c: &Call) -> Reply {
    run_eval(e, c, true, true)
}

fn fcall(e: &mut Engine, c: &Call) -> Reply {
    scripting::fcall(e, c.client, c.argv, c.now, false)
}

fn fcall_ro(e: &mut Engine, c: &Call) -> Reply {
    scripting::fcall(e, c.client, c.argv, c.now, true)
}

fn script_exists(e: &mut Engine, c: &Call) -> Reply {
    Reply::Array(
        c.argv[2..]
            .iter()
            .map(|sha| Reply::Integer(scripting::script_exists(e, sha) as i64))
            .collect(),
    )
}

/// SCRIPT FLUSH and FUNCTION FLUSH read `ASYNC` or `SYNC`; nothing is freed in the background
/// here, so both mean the same.
fn flush_mode_ok(c: &Call) -> bool {
    c.argv.len() == 2 || (c.argv.len() == 3 && (is(c.argv[2], "sync") || is(c.argv[2], "async")))
}

fn script_flush(e: &mut Engine, c: &Call) -> Reply {
    if !flush_mode_ok(c) {
        return Reply::error(error::SCRIPT_FLUSH_OPTION);
    }
    scripting::script_flush(e);
    Reply::OK
}

fn script_help(_e: &mut Engine, c: &Call) -> Reply {
    help_reply(
        c.argv[0],
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    )
}

/// SCRIPT KILL and FUNCTION KILL: a script never runs while another command is served.
fn kill(_e: &mut Engine, _c: &Call) -> Reply {
    Reply::error(error::NOTBUSY)
}

fn script_load(e: &mut Engine, c: &Call) -> Reply {
    match scripting::script_load(e, c.argv[2]) {
        Ok(sha) => Reply::bulk(sha),
        Err(r) => r,
    }
}

fn function_delete(e: &mut Engine, c: &Call) -> Reply {
    if scripting::function_delete(e, c.argv[2]) {
        Reply::OK
    } else {
        Reply::error(error::LIBRARY_NOT_FOUND)
    }
}

fn function_flush(e: &mut Engine, c: &Call) -> Reply {
    if c.argv.len() > 3 {
        return Reply::error_owned(error::subcommand_syntax(c.argv[1], c.argv[0]));
    }
    if !flush_mode_ok(c) {
        return Reply::error(error::FUNCTION_FLUSH_OPTION);
    }
    scripting::function_flush(e);
    Reply::OK
}

fn function_help(_e: &mut Engine, c: &Call) -> Reply {
    help_reply(
        c.argv[0],
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    )
}

fn function_list(e: &mut Engine, c: &Call) -> Reply {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < c.argv.len() {
        let a = c.argv[i];
        if !with_code && is(a, "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(a, "libraryname") {
            if i >= c.argv.len() - 1 {
                return Reply::error(error::LIBRARY_NAME_MISSING);
            }
            i += 1;
            pattern = Some(c.argv[i]);
        } else {
            return Reply::error_owned(error::function_list_argument(a));
        }
        i += 1;
    }
    scripting::function_list(e, pattern, with_code)
}

fn function_load(e: &mut Engine, c: &Call) -> Reply {
    let mut replace = false;
    let mut pos = 2;
    while pos < c.argv.len() - 1 {
        let a = c.argv[pos];
        pos += 1;
        if is(a, "replace") {
            replace = true;
            continue;
        }
        return Reply::error_owned(error::function_load_option(a));
    }
    if pos >= c.argv.len() {
        return Reply::error(error::FUNCTION_CODE_MISSING);
    }
    match scripting::function_load(e, c.argv[pos], replace) {
        Ok(name) => Reply::bulk(name),
        Err(msg) => Reply::error_owned(error::one_line(&format!("ERR {msg}"))),
    }
}

fn function_stats(e: &mut Engine, _c: &Call) -> Reply {
    scripting::function_stats(e)
}
