//! Scripting through the engine: conversions both ways, error paths, the sandbox, the limits,
//! events, snapshots and the patterns the playground teaches.

use crate::event::{Event, ScriptStop};
use crate::reply::{to_resp, Protocol, Reply};
use crate::{ClientId, Config, Engine};

fn engine_with(config: Config) -> (Engine, ClientId) {
    let mut e = Engine::new(config);
    let c = e.connect(0);
    (e, c)
}

fn engine() -> (Engine, ClientId) {
    engine_with(Config::default())
}

fn eval(e: &mut Engine, c: ClientId, script: &str, rest: &[&str]) -> Reply {
    let mut argv = vec!["EVAL", script];
    if rest.is_empty() {
        argv.push("0");
    }
    argv.extend_from_slice(rest);
    e.run(c, &argv, 1000)
}

fn err(r: Reply) -> String {
    match r {
        Reply::Error(e) => e.into_owned(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

const SHA_RETURN_1: &str = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";

#[test]
fn lua_values_become_replies() {
    let (mut e, c) = engine();
    assert_eq!(eval(&mut e, c, "return 42", &[]), Reply::Integer(42));
    assert_eq!(eval(&mut e, c, "return 3.99", &[]), Reply::Integer(3));
    assert_eq!(eval(&mut e, c, "return -3.99", &[]), Reply::Integer(-3));
    assert_eq!(eval(&mut e, c, "return 1/0", &[]), Reply::Integer(i64::MIN));
    assert_eq!(eval(&mut e, c, "return 'x'", &[]), bulk("x"));
    assert_eq!(eval(&mut e, c, "return true", &[]), Reply::Integer(1));
    assert_eq!(eval(&mut e, c, "return false", &[]), Reply::Nil);
    assert_eq!(eval(&mut e, c, "return nil", &[]), Reply::Nil);
    assert_eq!(eval(&mut e, c, "return 1, 2", &[]), Reply::Integer(1));
    // Arrays stop at the first nil.
    assert_eq!(
        eval(&mut e, c, "return {1, 'two', nil, 4}", &[]),
        Reply::Array(vec![Reply::Integer(1), bulk("two")])
    );
    assert_eq!(
        eval(&mut e, c, "return {ok='FINE'}", &[]),
        Reply::simple("FINE")
    );
    assert_eq!(
        err(eval(&mut e, c, "return {err='MY oops'}", &[])),
        "MY oops"
    );
    assert_eq!(
        err(eval(&mut e, c, "return redis.error_reply('nospace')", &[])),
        "ERR nospace"
    );
    assert_eq!(
        eval(&mut e, c, "return redis.status_reply('a\\r\\nb')", &[]),
        Reply::simple("a  b")
    );
    assert_eq!(
        eval(&mut e, c, "return {double=1.5}", &[]),
        Reply::Double(1.5)
    );
    assert_eq!(
        eval(&mut e, c, "return {big_number='123'}", &[]),
        Reply::BigNumber("123".into())
    );
    assert_eq!(
        eval(
            &mut e,
            c,
            "return {verbatim_string={format='txt', string='hi'}}",
            &[]
        ),
        Reply::Verbatim("txt", b"hi".to_vec())
    );
    assert_eq!(
        eval(&mut e, c, "return {map={k='v'}}", &[]),
        Reply::Map(vec![(bulk("k"), bulk("v"))])
    );
    assert_eq!(
        eval(&mut e, c, "return {set={m=true}}", &[]),
        Reply::Set(vec![bulk("m")])
    );
    // Under RESP3 a boolean stays a boolean.
    assert_eq!(
        eval(&mut e, c, "redis.setresp(3) return {true, false}", &[]),
        Reply::Array(vec![Reply::Bool(true), Reply::Bool(false)])
    );
}

#[test]
fn resp3_callers_get_resp3_types() {
    let (mut e, c) = engine();
    e.run(c, &["HELLO", "3"], 0);
    let resp = |e: &mut Engine, s: &str| to_resp(&eval(e, c, s, &[]), Protocol::Resp3);
    assert_eq!(resp(&mut e, "return {double=3.5}"), b",3.5\r\n");
    assert_eq!(resp(&mut e, "return {big_number='12'}"), b"(12\r\n");
    assert_eq!(
        resp(
            &mut e,
            "return {verbatim_string={format='txt', string='hi'}}"
        ),
        b"=6\r\ntxt:hi\r\n"
    );
    assert_eq!(
        resp(&mut e, "return {map={a=1}}"),
        b"%1\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(resp(&mut e, "return {set={a=true}}"), b"~1\r\n$1\r\na\r\n");
    assert_eq!(resp(&mut e, "return false"), b"_\r\n");
    assert_eq!(resp(&mut e, "redis.setresp(3) return false"), b"#f\r\n");
    assert_eq!(resp(&mut e, "return true"), b":1\r\n");
}

#[test]
fn replies_become_lua_values() {
    let (mut e, c) = engine();
    e.run(c, &["SET", "n", "7"], 0);
    let t = |e: &mut Engine, s: &str| eval(e, c, s, &[]);
    // integer -> number, bulk -> string, nil -> false, status -> {ok}, error -> {err}
    assert_eq!(
        t(&mut e, "return type(redis.call('incr', 'n'))"),
        bulk("number")
    );
    assert_eq!(
        t(&mut e, "return type(redis.call('get', 'n'))"),
        bulk("string")
    );
    assert_eq!(
        t(&mut e, "return tostring(redis.call('get', 'nosuch'))"),
        bulk("false")
    );
    assert_eq!(
        t(&mut e, "return redis.call('set', 'x', 'y').ok"),
        bulk("OK")
    );
    assert_eq!(
        t(&mut e, "return redis.pcall('incr', 'x').err"),
        bulk("ERR value is not an integer or out of range")
    );
    assert_eq!(
        t(
            &mut e,
            "return redis.pcall('incr', 'x').ignore_error_stats_update"
        ),
        Reply::Integer(1)
    );
    // An array of mixed replies, and nil inside an array.
    assert_eq!(
        t(
            &mut e,
            "local r = redis.call('mget', 'n', 'nosuch') return {r[1], tostring(r[2])}"
        ),
        Reply::Array(vec![bulk("8"), bulk("false")])
    );
    // Numbers go to commands as %.17g.
    assert_eq!(
        t(
            &mut e,
            "redis.call('set', 'f', 0.1) return redis.call('get', 'f')"
        ),
        bulk("0.10000000000000001")
    );
    // RESP3 inside the script: maps and nil keep their type (INCRBYFLOAT is a bulk string
    // under either protocol).
    assert_eq!(
        t(
            &mut e,
            "redis.setresp(3) return type(redis.call('incrbyfloat', 'f', '1'))"
        ),
        bulk("string")
    );
    assert_eq!(
        t(
            &mut e,
            "redis.setresp(3) return type(redis.call('get', 'nosuch'))"
        ),
        bulk("nil")
    );
    assert_eq!(
        t(
            &mut e,
            "redis.setresp(3) return redis.call('command', 'docs', 'get').map.get.map.group"
        ),
        bulk("string")
    );
    assert_eq!(
        t(
            &mut e,
            "redis.setresp(2) return redis.call('command', 'docs', 'get')[1]"
        ),
        bulk("get")
    );
}

#[test]
fn argument_and_cache_errors() {
    let (mut e, c) = engine();
    assert_eq!(
        err(e.run(c, &["EVAL", "return 1", "1"], 0)),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        err(e.run(c, &["EVAL", "return 1", "-1"], 0)),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        err(e.run(c, &["EVAL", "return 1", "x"], 0)),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(e.run(c, &["EVALSHA", SHA_RETURN_1, "0"], 0)),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    assert_eq!(
        e.run(c, &["SCRIPT", "LOAD", "return 1"], 0),
        bulk(SHA_RETURN_1)
    );
    assert_eq!(
        e.run(c, &["EVALSHA", &SHA_RETURN_1.to_uppercase(), "0"], 0),
        Reply::Integer(1)
    );
    assert_eq!(
        e.run(c, &["SCRIPT", "EXISTS", SHA_RETURN_1, "nope"], 0),
        Reply::Array(vec![Reply::Integer(1), Reply::Integer(0)])
    );
    e.run(c, &["SCRIPT", "FLUSH"], 0);
    assert!(err(e.run(c, &["EVALSHA", SHA_RETURN_1, "0"], 0)).starts_with("NOSCRIPT"));
    assert_eq!(
        err(e.run(c, &["EVAL", "return 1 +", "0"], 0)),
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    );
    assert_eq!(err(e.run(c, &["SCRIPT", "KILL"], 0)), crate::error::NOTBUSY);
}

#[test]
fn runtime_errors_name_the_script_and_line() {
    let (mut e, c) = engine();
    let sha = crate::scripting::sha1::sha1_hex(b"local a = 1\nreturn a + nil");
    assert_eq!(
        err(eval(&mut e, c, "local a = 1\nreturn a + nil", &[])),
        format!(
            "ERR user_script:2: attempt to perform arithmetic on a nil value script: {sha}, on @user_script:2."
        )
    );
    let script = "redis.call('set', 'x', 'y')\nreturn redis.call('incr', 'x')";
    let sha = crate::scripting::sha1::sha1_hex(script.as_bytes());
    assert_eq!(
        err(eval(&mut e, c, script, &[])),
        format!("ERR value is not an integer or out of range script: {sha}, on @user_script:2.")
    );
    let msg = err(eval(&mut e, c, "return redis.call('nosuch')", &[]));
    assert!(
        msg.starts_with("ERR Unknown Redis command called from script script: "),
        "{msg}"
    );
    let msg = err(eval(&mut e, c, "return redis.call('get')", &[]));
    assert!(msg.starts_with("ERR Wrong number of args calling Redis command from script"));
    let msg = err(eval(
        &mut e,
        c,
        "return redis.call('eval', 'return 1', '0')",
        &[],
    ));
    assert!(msg.starts_with("ERR This Redis command is not allowed from script"));
    let msg = err(eval(&mut e, c, "error({err='MINE here'})", &[]));
    assert!(msg.starts_with("MINE here script: "), "{msg}");
    // A table without `err` (Redis 7.0 crashes on this one).
    let msg = err(eval(&mut e, c, "error({1})", &[]));
    assert!(msg.starts_with("ERR unknown error script: "), "{msg}");
    // pcall catches a redis.call error as its text.
    assert_eq!(
        eval(
            &mut e,
            c,
            "local ok, m = pcall(redis.call, 'nosuch') return m",
            &[]
        ),
        bulk("ERR Unknown Redis command called from script")
    );
}

#[test]
fn read_only_scripts_cannot_write() {
    let (mut e, c) = engine();
    let msg = err(e.run(
        c,
        &["EVAL_RO", "return redis.call('set', 'k', 'v')", "0"],
        0,
    ));
    assert!(
        msg.starts_with("ERR Write commands are not allowed from read-only scripts. script: "),
        "{msg}"
    );
    let msg = err(e.run(
        c,
        &["EVAL_RO", "return redis.call('publish', 'c', 'm')", "0"],
        0,
    ));
    assert!(msg.starts_with("ERR Write commands are not allowed from read-only scripts."));
    assert_eq!(
        err(e.run(c, &["EVAL_RO", "#!lua\nreturn 1", "0"], 0)),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        e.run(c, &["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"], 0),
        Reply::Integer(1)
    );
    let msg = err(e.run(
        c,
        &[
            "EVAL",
            "#!lua flags=no-writes\nredis.call('set', 'k', 'v')",
            "0",
        ],
        0,
    ));
    assert!(msg.starts_with("ERR Write commands are not allowed from read-only scripts."));
    assert_eq!(
        err(e.run(c, &["EVAL", "#!lua flags=nope\nreturn 1", "0"], 0)),
        "ERR Unexpected flag in script shebang: nope"
    );
    assert_eq!(e.run(c, &["EXISTS", "k"], 0), Reply::Integer(0));
}

#[test]
fn the_sandbox() {
    let (mut e, c) = engine();
    let msg = err(eval(&mut e, c, "return nosuch", &[]));
    assert!(msg.starts_with(
        "ERR user_script:1: Script attempted to access nonexistent global variable 'nosuch' script: "
    ));
    for script in [
        "x = 1",
        "redis = nil",
        "string.len = nil",
        "_G.y = 2",
        "KEYS = {}",
    ] {
        let msg = err(eval(&mut e, c, script, &[]));
        assert!(
            msg.starts_with("ERR user_script:1: Attempt to modify a readonly table"),
            "{script}: {msg}"
        );
    }
    for script in [
        "rawset(_G, 'x', 1)",
        "setmetatable(_G, nil)",
        "table.insert(string, 1)",
    ] {
        let msg = err(eval(&mut e, c, script, &[]));
        assert!(
            msg.starts_with("ERR Attempt to modify a readonly table script: "),
            "{script}: {msg}"
        );
    }
    // Nothing leaked into later scripts, and the globals still iterate as Redis lists them.
    assert_eq!(
        eval(
            &mut e,
            c,
            "return {rawget(_G, 'x'), string.len('abc')}",
            &[]
        ),
        Reply::Array(vec![])
    );
    assert_eq!(
        eval(&mut e, c, "return string.len('abc')", &[]),
        Reply::Integer(3)
    );
    assert_eq!(
        eval(
            &mut e,
            c,
            "local n = 0 for k in pairs(_G) do n = n + 1 end return n",
            &[]
        ),
        Reply::Integer(35)
    );
    // A script may break the string metatable for itself, not for the next one.
    eval(&mut e, c, "getmetatable('').__index = nil", &[]);
    assert_eq!(eval(&mut e, c, "return ('x'):upper()", &[]), bulk("X"));
    // KEYS and ARGV are fresh for each call.
    eval(&mut e, c, "KEYS[1] = 'changed'", &["1", "a"]);
    assert_eq!(eval(&mut e, c, "return KEYS[1]", &["1", "b"]), bulk("b"));
    for name in [
        "os", "io", "debug", "print", "loadfile", "dofile", "require", "setfenv",
    ] {
        let msg = err(eval(&mut e, c, &format!("return {name}"), &[]));
        assert!(msg.contains("nonexistent global variable"), "{name}: {msg}");
    }
}

fn limits(threshold: i64, hard: u64) -> (Engine, ClientId) {
    engine_with(Config {
        busy_reply_threshold: threshold,
        script_hard_limit_ms: hard,
        ..Config::default()
    })
}

#[test]
fn an_endless_script_that_has_not_written_is_killed_at_the_threshold() {
    let (mut e, c) = limits(50, 1000);
    e.drain_events();
    let msg = err(eval(
        &mut e,
        c,
        "local i = 0\nwhile true do i = i + 1 end",
        &[],
    ));
    assert!(
        msg.starts_with("ERR Script killed by user with SCRIPT KILL... script: "),
        "{msg}"
    );
    assert!(msg.ends_with(", on @user_script:2."), "{msg}");
    let events = e.drain_events();
    assert!(events.iter().any(|ev| matches!(
        ev,
        Event::ScriptBusy {
            elapsed_ms: 50,
            wrote: false,
            ..
        }
    )));
    assert!(events.iter().any(|ev| matches!(
        ev,
        Event::ScriptStopped {
            elapsed_ms: 50,
            reason: ScriptStop::Killed,
            ..
        }
    )));
    // pcall, xpcall and coroutines cannot catch the stop.
    for script in [
        "while true do pcall(function() while true do end end) end",
        "xpcall(function() while true do end end, function() return 1 end) return 'caught'",
        "local co = coroutine.create(function() while true do end end) coroutine.resume(co) return 'caught'",
        "local f = coroutine.wrap(function() while true do end end) pcall(f) return 'caught'",
    ] {
        let msg = err(eval(&mut e, c, script, &[]));
        assert!(msg.starts_with("ERR Script killed by user"), "{script}: {msg}");
    }
    // The engine carries on normally afterwards.
    assert_eq!(eval(&mut e, c, "return 1", &[]), Reply::Integer(1));
}

#[test]
fn an_endless_script_that_wrote_runs_to_the_hard_limit() {
    let (mut e, c) = limits(50, 300);
    e.drain_events();
    let msg = err(eval(
        &mut e,
        c,
        "redis.call('set', 'w', 'written') while true do end",
        &[],
    ));
    assert!(msg.starts_with("ERR Script stopped by the engine"), "{msg}");
    let events = e.drain_events();
    assert!(events
        .iter()
        .any(|ev| matches!(ev, Event::ScriptBusy { wrote: true, .. })));
    assert!(events.iter().any(|ev| matches!(
        ev,
        Event::ScriptStopped {
            elapsed_ms: 300,
            reason: ScriptStop::HardLimit,
            ..
        }
    )));
    assert_eq!(e.run(c, &["GET", "w"], 0), bulk("written"));
    // With the threshold off, only the hard limit applies.
    let (mut e, c) = limits(0, 200);
    let msg = err(eval(&mut e, c, "while true do end", &[]));
    assert!(msg.starts_with("ERR Script stopped by the engine"), "{msg}");
}

#[test]
fn function_load_has_a_time_budget() {
    let (mut e, c) = engine();
    assert_eq!(
        err(e.run(
            c,
            &["FUNCTION", "LOAD", "#!lua name=spin\nwhile true do end"],
            0
        )),
        "ERR Error registering functions: ERR FUNCTION LOAD timeout"
    );
    assert_eq!(e.run(c, &["FUNCTION", "LIST"], 0), Reply::Array(vec![]));
    assert!(e.drain_events().iter().any(|ev| matches!(
        ev,
        Event::ScriptStopped { sha, reason: ScriptStop::LoadTimeout, .. } if sha == "spin"
    )));
}

#[test]
fn memory_is_bounded() {
    let (mut e, c) = engine();
    for script in [
        "return string.rep('x', 2^40)",
        "return #string.rep('abc', 1e9)",
        "local s = string.rep('x', 2^20) while true do s = s .. s end",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "local t = {} local s = string.rep('x', 2^20) for i = 1, 100 do t[i] = s end return #table.concat(t)",
        "return #string.gsub(string.rep('x', 2^16), 'x', string.rep('y', 2^12))",
        "return #string.gsub(string.rep('x', 2^16), 'x', function() return string.rep('y', 2^12) end)",
    ] {
        let msg = err(eval(&mut e, c, script, &[]));
        assert!(msg.contains("not enough memory"), "{script}: {msg}");
    }
    let msg = err(eval(
        &mut e,
        c,
        "local t = {} t[1] = t return cjson.encode(t)",
        &[],
    ));
    assert!(
        msg.contains("Cannot serialise, excessive nesting (1001)"),
        "{msg}"
    );
    assert_eq!(
        eval(
            &mut e,
            c,
            "local t = {} t[1] = t return #cmsgpack.pack(t)",
            &[]
        ),
        Reply::Integer(17)
    );
    assert_eq!(
        eval(&mut e, c, "return #string.rep('ab', 1000)", &[]),
        Reply::Integer(2000)
    );
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    // These run on the test harness's thread (2 MiB in a debug build).
    let (mut e, c) = engine();
    let msg = err(eval(
        &mut e,
        c,
        "local function f(n) return 1 + f(n + 1) end return f(1)",
        &[],
    ));
    assert!(msg.contains("stack overflow"), "{msg}");
    let r = eval(
        &mut e,
        c,
        "local function f(n) local ok, v = pcall(f, n + 1) if ok then return v end return n end return f(1)",
        &[],
    );
    assert!(matches!(r, Reply::Integer(n) if n < 60), "{r:?}");
    let msg = err(eval(
        &mut e,
        c,
        "local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end}) return t[1]",
        &[],
    ));
    assert!(msg.contains("stack overflow"), "{msg}");
    let msg = err(eval(
        &mut e,
        c,
        "local function f() return coroutine.wrap(f)() end return f()",
        &[],
    ));
    assert!(msg.contains("C stack overflow"), "{msg}");
    let r = eval(
        &mut e,
        c,
        "local t = {} for i = 1, 300 do t[i] = i end table.sort(t, function(a, b) table.sort({3, 2, 1}, function(x, y) return x < y end) return a < b end) return t[300]",
        &[],
    );
    assert_eq!(r, Reply::Integer(300));
    let deep = format!("return {}1{}", "(".repeat(500), ")".repeat(500));
    let msg = err(eval(&mut e, c, &deep, &[]));
    assert!(msg.contains("chunk has too many syntax levels"), "{msg}");
    let deep_json = format!(
        "return cjson.decode('{}')",
        "[".repeat(1000) + &"]".repeat(1000)
    );
    assert!(matches!(eval(&mut e, c, &deep_json, &[]), Reply::Array(_)));
    let deep_msgpack = "return #{cmsgpack.unpack(string.rep('\\145', 3000) .. '\\1')}";
    let msg = err(eval(&mut e, c, deep_msgpack, &[]));
    assert!(msg.contains("stack overflow"), "{msg}");
}

#[test]
fn calls_and_logs_are_events() {
    let (mut e, c) = engine();
    e.drain_events();
    eval(
        &mut e,
        c,
        "redis.log(redis.LOG_WARNING, 'hello', 42)\nredis.call('set', KEYS[1], 'v')\nreturn redis.pcall('incr', KEYS[1])",
        &["1", "k"],
    );
    let events = e.drain_events();
    let calls: Vec<&Event> = events
        .iter()
        .filter(|ev| matches!(ev, Event::ScriptCall { .. }))
        .collect();
    assert_eq!(calls.len(), 2);
    let Event::ScriptCall {
        sha,
        line,
        argv,
        reply,
    } = calls[0]
    else {
        unreachable!()
    };
    assert_eq!(sha.len(), 40);
    assert_eq!(*line, Some(2));
    assert_eq!(argv, &vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()]);
    assert_eq!(*reply, Reply::OK);
    let Event::ScriptCall { line, reply, .. } = calls[1] else {
        unreachable!()
    };
    assert_eq!(*line, Some(3));
    assert!(reply.is_error());
    assert!(events.contains(&Event::ScriptLog {
        level: 3,
        message: b"hello 42".to_vec()
    }));
    assert!(events
        .iter()
        .any(|ev| matches!(ev, Event::Keyspace { op: "set", .. })));
}

#[test]
fn time_is_frozen_for_the_whole_script() {
    let (mut e, c) = engine();
    let r = e.run(
        c,
        &[
            "EVAL",
            "redis.call('set', 'k', 'v', 'PX', 5000) local a = redis.call('pttl', 'k') for i = 1, 100000 do end return {a, redis.call('pttl', 'k'), redis.call('time')[1]}",
            "0",
        ],
        7_000_000,
    );
    assert_eq!(
        r,
        Reply::Array(vec![
            Reply::Integer(5000),
            Reply::Integer(5000),
            bulk("7000")
        ])
    );
}

#[test]
fn math_random_is_redis_lrand48() {
    let (mut e, c) = engine();
    // What a fresh Redis 7.0 answers: the generator is not reset between scripts.
    assert_eq!(
        eval(&mut e, c, "return tostring(math.random())", &[]),
        bulk("0.39646477363839")
    );
    assert_eq!(
        eval(&mut e, c, "return tostring(math.random())", &[]),
        bulk("0.84048536971234")
    );
    assert_eq!(
        eval(&mut e, c, "math.randomseed(1) return {tostring(math.random()), math.random(10), math.random(5, 7)}", &[]),
        Reply::Array(vec![bulk("0.041630344484761"), Reply::Integer(5), Reply::Integer(7)])
    );
}

#[test]
fn functions_and_fcall() {
    let (mut e, c) = engine();
    assert_eq!(
        e.run(
            c,
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=lib\nlocal calls = 0\nredis.register_function('hits', function(keys, args) calls = calls + 1 return {keys[1], args[1], calls} end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}",
            ],
            0
        ),
        bulk("lib")
    );
    assert_eq!(
        e.run(c, &["FCALL", "HITS", "1", "k", "a"], 0),
        Reply::Array(vec![bulk("k"), bulk("a"), Reply::Integer(1)])
    );
    e.run(c, &["SET", "k", "v"], 0);
    assert_eq!(e.run(c, &["FCALL_RO", "peek", "1", "k"], 0), bulk("v"));
    assert_eq!(
        err(e.run(c, &["FCALL_RO", "hits", "0"], 0)),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(
        err(e.run(c, &["FCALL", "nope", "0"], 0)),
        "ERR Function not found"
    );
    assert_eq!(
        err(e.run(
            c,
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=lib\nredis.register_function('x', function() end)"
            ],
            0
        )),
        "ERR Library 'lib' already exists"
    );
    assert_eq!(
        err(e.run(
            c,
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=other\nredis.register_function('hits', function() end)"
            ],
            0
        )),
        "ERR Function hits already exists"
    );
    // A snapshot rebuilds its VM and reloads the library (its local state starts over).
    let mut copy = e.clone();
    assert_eq!(
        copy.run(c, &["FCALL", "hits", "1", "k", "a"], 0),
        Reply::Array(vec![bulk("k"), bulk("a"), Reply::Integer(1)])
    );
    assert_eq!(
        e.run(c, &["FCALL", "hits", "1", "k", "a"], 0),
        Reply::Array(vec![bulk("k"), bulk("a"), Reply::Integer(2)])
    );
    assert_eq!(e.run(c, &["FUNCTION", "DELETE", "lib"], 0), Reply::OK);
    assert_eq!(
        err(e.run(c, &["FCALL", "hits", "0"], 0)),
        "ERR Function not found"
    );
}

#[test]
fn snapshots_recompile_cached_scripts() {
    let (mut e, c) = engine();
    e.run(c, &["SCRIPT", "LOAD", "return 1"], 0);
    let mut copy = e.clone();
    assert_eq!(
        copy.run(c, &["EVALSHA", SHA_RETURN_1, "0"], 0),
        Reply::Integer(1)
    );
    // The generator's state is part of the snapshot.
    eval(&mut e, c, "return math.random()", &[]);
    let mut a = e.clone();
    let mut b = e.clone();
    assert_eq!(
        eval(&mut a, c, "return tostring(math.random())", &[]),
        eval(&mut b, c, "return tostring(math.random())", &[])
    );
}

#[test]
fn scripts_inside_multi_and_selected_databases() {
    let (mut e, c) = engine();
    e.run(c, &["SELECT", "3"], 0);
    e.run(c, &["MULTI"], 0);
    e.run(
        c,
        &[
            "EVAL",
            "redis.call('select', 5) return redis.call('set', 'k', 'v')",
            "0",
        ],
        0,
    );
    e.run(c, &["EVAL", "return redis.call('get', 'k')", "0"], 0);
    assert_eq!(
        e.run(c, &["EXEC"], 0),
        Reply::Array(vec![Reply::OK, Reply::Nil])
    );
    // The script's SELECT did not move the caller.
    assert_eq!(e.run(c, &["GET", "k"], 0), Reply::Nil);
    e.run(c, &["SELECT", "5"], 0);
    assert_eq!(e.run(c, &["GET", "k"], 0), bulk("v"));
}

// ===== The patterns =====

const LOCK_RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

#[test]
fn lock_release_compare_and_delete() {
    let (mut e, c) = engine();
    assert_eq!(
        e.run(c, &["SET", "lock", "owner-1", "NX", "PX", "30000"], 0),
        Reply::OK
    );
    assert_eq!(
        eval(&mut e, c, LOCK_RELEASE, &["1", "lock", "owner-2"]),
        Reply::Integer(0)
    );
    assert_eq!(e.run(c, &["GET", "lock"], 0), bulk("owner-1"));
    assert_eq!(
        eval(&mut e, c, LOCK_RELEASE, &["1", "lock", "owner-1"]),
        Reply::Integer(1)
    );
    assert_eq!(e.run(c, &["EXISTS", "lock"], 0), Reply::Integer(0));
}

/// A sliding-window rate limiter on strings (sorted sets are not in this engine yet): the count
/// of the current fixed window plus the previous window's count weighted by how much of it the
/// sliding window still covers.
const SLIDING_WINDOW: &str = r#"
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local now = tonumber(redis.call('time')[1]) * 1000 + math.floor(tonumber(redis.call('time')[2]) / 1000)
local current = math.floor(now / window)
local cur_key = KEYS[1] .. ':' .. current
local prev_key = KEYS[1] .. ':' .. (current - 1)
local prev = tonumber(redis.call('get', prev_key) or '0')
local cur = tonumber(redis.call('get', cur_key) or '0')
local weight = (window - (now % window)) / window
if prev * weight + cur >= limit then
  return 0
end
redis.call('incr', cur_key)
redis.call('pexpire', cur_key, window * 2)
return 1
"#;

#[test]
fn sliding_window_rate_limiter() {
    let (mut e, c) = engine();
    let at = |e: &mut Engine, ms: i64| {
        e.run(
            c,
            &["EVAL", SLIDING_WINDOW, "1", "rl:user", "1000", "3"],
            ms,
        )
    };
    // Three requests pass in the first second, the fourth is refused.
    for t in [1000, 1100, 1200] {
        assert_eq!(at(&mut e, t), Reply::Integer(1), "at {t}");
    }
    assert_eq!(at(&mut e, 1300), Reply::Integer(0));
    // 100 ms into the next window, 90% of the previous one still counts: 2.7 + 0 lets one
    // request through, then 2.4 + 1 is over the limit where a fixed window would allow three.
    assert_eq!(at(&mut e, 2100), Reply::Integer(1));
    assert_eq!(at(&mut e, 2200), Reply::Integer(0));
    // Late in the window the old requests weigh little: 0.3 + 1 leaves room.
    assert_eq!(at(&mut e, 2900), Reply::Integer(1));
    // Two windows later the old counts are gone.
    assert_eq!(at(&mut e, 4100), Reply::Integer(1));
}

/// A token bucket on strings: tokens and the time they were counted, refilled by elapsed time.
const TOKEN_BUCKET: &str = r#"
local capacity = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('mget', KEYS[1] .. ':tokens', KEYS[1] .. ':ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * per_second / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('mset', KEYS[1] .. ':tokens', tokens, KEYS[1] .. ':ts', now)
return {allowed, tostring(tokens)}
"#;

#[test]
fn token_bucket() {
    let (mut e, c) = engine();
    let take = |e: &mut Engine, ms: i64| e.run(c, &["EVAL", TOKEN_BUCKET, "1", "tb", "2", "1"], ms);
    let reply =
        |allowed: i64, tokens: &str| Reply::Array(vec![Reply::Integer(allowed), bulk(tokens)]);
    assert_eq!(take(&mut e, 10_000), reply(1, "1"));
    assert_eq!(take(&mut e, 10_000), reply(1, "0"));
    assert_eq!(take(&mut e, 10_100), reply(0, "0.1"));
    assert_eq!(take(&mut e, 11_100), reply(1, "0.1"));
    // Refilling stops at the capacity.
    assert_eq!(take(&mut e, 60_000), reply(1, "1"));
}

#[test]
fn same_commands_same_replies_and_events() {
    let run = || {
        let (mut e, c) = engine();
        let mut out = Vec::new();
        for s in [
            "return {math.random(100), math.random(100)}",
            "redis.call('set', 'a', math.random()) return redis.call('get', 'a')",
            "return cjson.encode({x = math.random(5)})",
        ] {
            out.push(eval(&mut e, c, s, &[]));
        }
        (out, e.drain_events())
    };
    assert_eq!(run(), run());
}

#[test]
fn the_heap_does_not_creep_up() {
    let (mut e, c) = engine();
    let script = "local t = {} for i = 1, 2000 do t[i] = {i, 'x' .. i} end local j = cjson.encode(t) return #cjson.decode(j)";
    for _ in 0..60 {
        assert_eq!(eval(&mut e, c, script, &[]), Reply::Integer(2000));
    }
    let used = e.scripting().vm_memory();
    assert!(used > 0 && used < super::MEMORY_LIMIT / 2, "{used}");
}

#[test]
fn any_library_function_with_odd_arguments_is_at_worst_an_error() {
    let (mut e, c) = engine();
    let args = [
        "",
        "nil",
        "{}",
        "'x'",
        "-1",
        "1e300",
        "0/0",
        "'%'",
        "{}, {}",
        "'a', nil, 'b'",
        "function() end",
        "1, 2, 3, 4, 5",
        "'%s%d%q', {}",
        "2^53, -2^53",
    ];
    let script = r#"
local names = {}
for _, lib in ipairs({'string', 'table', 'math', 'coroutine', 'bit', 'struct', 'cjson', 'cmsgpack', 'redis'}) do
  for k, v in pairs(_G[lib]) do
    if type(v) == 'function' and k ~= 'call' and k ~= 'pcall' then names[#names + 1] = lib .. '.' .. k end
  end
end
for k, v in pairs(_G) do
  if type(v) == 'function' and k ~= 'pcall' and k ~= 'xpcall' then names[#names + 1] = k end
end
table.sort(names)
local ok = 0
for _, name in ipairs(names) do
  local f = loadstring('return ' .. name .. '(' .. ARGV[1] .. ')')
  if f and pcall(f) then ok = ok + 1 end
end
return #names
"#;
    for a in args {
        let r = e.run(c, &["EVAL", script, "0", a], 0);
        assert!(matches!(r, Reply::Integer(n) if n > 100), "{a}: {r:?}");
    }
}

/// Arbitrary input to the plain-Rust libraries is at worst an error.
#[test]
fn libraries_do_not_panic_on_arbitrary_input() {
    use super::value::LArg;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"<>!=%0123456789bBhHlLTiIfdxcs []{}\",:.-+eE\\unlltrfa\x00\x90\x91\x81\xa1\xcc\xcd\xdc\xde\xff";
    for _ in 0..20_000 {
        let len = (next() % 12) as usize;
        let s: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let num = f64::from_bits(next()) % 1e6;
        let args = [
            LArg {
                num: Some(num),
                str: Some(b"abc".to_vec()),
                type_name: "number",
            },
            LArg {
                num: None,
                str: Some(s.clone()),
                type_name: "string",
            },
        ];
        let _ = super::structlib::pack(&s, &args);
        let _ = super::structlib::unpack(&s, &s, (next() % 5) as i64 - 1);
        let _ = super::structlib::size(&s);
        let _ = super::cformat::format(&s, &args);
        let _ = super::json::decode(&s);
        let _ = super::msgpack::unpack(&s, (next() % 3) as i64, (next() % 3) as i64);
    }
}

/// Random token soup (mostly syntax errors, some runnable scripts) never panics the engine.
#[test]
fn random_scripts_are_at_worst_errors() {
    let (mut e, c) = limits(20, 40);
    let toks = [
        "local",
        "x",
        "=",
        "1",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "..",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "#",
        "not",
        "and",
        "or",
        "if",
        "then",
        "else",
        "end",
        "while",
        "do",
        "for",
        "in",
        "function",
        "return",
        "pairs",
        "redis.call",
        "'get'",
        "'k'",
        "KEYS",
        "ARGV",
        ",",
        ";",
        "nil",
        "true",
        "pcall",
        "error",
        "string.rep",
        "'x'",
        "2^31",
        "0/0",
        "-1",
        "tostring",
        "cjson.encode",
        "cmsgpack.pack",
        "struct.pack",
        "'>i'",
        "bit.band",
        "table.concat",
        "unpack",
        "select",
        "setmetatable",
        "coroutine.wrap",
        "loadstring",
        "math.random",
        "t",
        "t[1]",
        "=",
        ":upper()",
    ];
    let mut x: u64 = 12345;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..3_000 {
        let n = 1 + (next() % 14) as usize;
        let src: Vec<&str> = (0..n)
            .map(|_| toks[(next() % toks.len() as u64) as usize])
            .collect();
        let src = src.join(" ");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.run(c, &["EVAL", &src, "0"], i)
        }));
        if r.is_err() {
            panic!("panicked on: {src}");
        }
    }
}
