//! Everything that touches the Lua VM (rilua, a pure-Rust Lua 5.1). The rest of the engine sees
//! `Vm`, the `Host` trait a running script calls back through, and plain `Reply`s.
//!
//! # The environment, as Redis 7.0 builds it
//!
//! One VM serves EVAL and FCALL alike (Redis keeps two, but nothing a script can observe tells
//! them apart). The global names are the ones Redis 7.0.15 leaves: the base library without
//! `print`, `dofile`, `loadfile`, `getfenv`, `setfenv`, `newproxy`; `string`, `table`, `math`,
//! `coroutine`, `bit`, `struct`, `cjson`, `cmsgpack` and `redis`. There is no `os` and no
//! `debug`.
//!
//! Redis makes every table reachable from the globals read-only with a flag inside its patched
//! Lua. rilua has no such flag, so the engine gives scripts *proxies*: an empty table whose
//! metatable reads through to the real one and refuses writes with Redis's "Attempt to modify a
//! readonly table". `next`, `pairs`, `rawget`, `rawset`, `getmetatable`, `setmetatable` and the
//! table functions that write raw (`insert`, `remove`, `sort`) see through proxies, so iteration
//! and raw reads look as they do in Redis and raw writes fail as they do there. Reading a global
//! that does not exist raises "Script attempted to access nonexistent global variable".
//!
//! # Calling back into the engine
//!
//! rilua's native functions are plain `fn(&mut LuaState)`. While a script runs, the `Host` (the
//! engine, moved into it for the duration) sits in a thread-local slot that `redis.call` and the
//! other natives reach; no Lua code runs while a native holds it.
//!
//! # Limits (never a host stack overflow, never an unbounded allocation)
//!
//! - Time: a count hook fires every `INSTRUCTIONS_PER_MS` VM instructions and tells the host one
//!   more virtual millisecond has passed; the host decides when a script is stopped. Once it is,
//!   `pcall`, `xpcall` and `coroutine.resume` re-raise the stop instead of catching it.
//! - Memory: the VM's heap is capped at `MEMORY_LIMIT` bytes (rilua's own accounting); functions
//!   that could build a huge string in one step (`string.rep`, `table.concat`, `string.gsub`)
//!   check the result against what is left first. Too much is Lua's "not enough memory".
//! - Rust stack: native-to-Lua nesting (`pcall`, metamethods, `table.sort` comparators, coroutine
//!   resumes...) is limited to `CALL_BUDGET` levels, and a source whose syntax nests deeper than
//!   `MAX_SYNTAX_NESTING` is refused before compiling (the compiler recurses per level).
//! - Lua stack: functions that return many values stop at Lua 5.1's 8000 slots with its errors.
//!
//! Measured on x86-64, the deepest of these cases (40 nested `pcall`s, 1000-deep JSON, a
//! 1000-deep returned table, 100 syntax levels) fit in 512 KiB of stack in a release build; a
//! debug build needs up to 2 MiB, the size of the test harness's threads (a debug build of the
//! web app would need its wasm stack raised to match).

use std::any::Any;
use std::cell::RefCell;

use rilua::stdlib::{base, coroutine, string as lstring, table as ltable};
use rilua::vm::closure::{Closure, RustClosure, RustFn};
use rilua::vm::execute::{execute, CallResult};
use rilua::vm::gc::arena::GcRef;
use rilua::vm::state::{LuaState, LuaThread, ThreadStatus, MASK_COUNT, MAXCCALLS};
use rilua::vm::table::Table;
use rilua::{LuaApi, LuaApiMut, LuaError, LuaResult, RuntimeError, StdLib, Val};

use super::value::{c_double_to_i32, c_double_to_i64, LArg, LValue, LibError};
use super::{bitop, cformat, json, msgpack, sha1, structlib};
use crate::numfmt::fmt_g;
use crate::reply::Reply;

/// VM instructions per virtual millisecond of script time. Redis's C Lua runs a few hundred
/// thousand per millisecond; this rate keeps the default busy threshold (5 s, 50 million
/// instructions) beyond any reasonable script while an endless loop turns busy in well under a
/// second of real time in a release build (rilua runs about 60 million a second there).
pub const INSTRUCTIONS_PER_MS: u64 = 10_000;
/// The heap a script may use, as rilua counts it.
pub const MEMORY_LIMIT: usize = 64 << 20;
/// Native-to-Lua call nesting allowed to a script (Lua 5.1 allows 200 C levels; each costs
/// kilobytes of Rust stack here, and the browser's stack is 1 MiB).
pub const CALL_BUDGET: u16 = 40;
/// Syntax nesting refused before compiling (an upper estimate of the parser's recursion).
pub const MAX_SYNTAX_NESTING: usize = 100;
/// Lua 5.1's limit on stack slots a C function may grow to (LUAI_MAXCSTACK).
const MAX_STACK_SLOTS: usize = 8000;
/// How deep a returned table is converted to a reply before Redis's "reached lua stack limit".
const MAX_REPLY_DEPTH: usize = 1000;
/// Values copied out of the VM for one library call (cjson.encode of a huge or cyclic table).
const MAX_COPY_NODES: usize = 4_000_000;

pub const REDIS_VERSION: &str = "7.0.15";
pub const REDIS_VERSION_NUM: f64 = 0x0007_000f as f64;

const READONLY: &str = "Attempt to modify a readonly table";

// ===== The host =====

/// What a running script asks of the engine.
pub(crate) trait Host: Any {
    /// `redis.call`/`redis.pcall`: runs `argv` as the script's client and returns the reply,
    /// the script-level refusals ("Unknown Redis command called from script"...) included as
    /// error replies. `line` is the script line making the call.
    fn call(&mut self, argv: Vec<Vec<u8>>, line: Option<u32>) -> Reply;
    /// `redis.acl_check_cmd`: whether `argv` names a command.
    fn command_exists(&self, argv: &[Vec<u8>]) -> bool;
    fn log(&mut self, level: i64, message: Vec<u8>);
    fn resp3(&self) -> bool;
    fn set_resp3(&mut self, on: bool);
    fn set_repl(&mut self, flags: i64);
    fn lrand48(&mut self) -> i32;
    fn srand48(&mut self, seed: i32);
    /// One more virtual millisecond passed; an error text stops the script.
    fn tick(&mut self) -> Result<(), String>;
    /// The error text of a script that was stopped, which protected calls must not catch.
    fn stopped(&self) -> Option<String>;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

thread_local! {
    static HOST: RefCell<Option<Box<dyn Host>>> = const { RefCell::new(None) };
}

fn with_host<R>(f: impl FnOnce(&mut dyn Host) -> R) -> Option<R> {
    HOST.with(|h| h.borrow_mut().as_deref_mut().map(f))
}

/// Puts the host in place for the duration of `run`, and gives it back.
fn hosted<H: Host, R>(host: H, run: impl FnOnce() -> R) -> (H, R) {
    HOST.with(|h| *h.borrow_mut() = Some(Box::new(host)));
    let r = run();
    let back = HOST
        .with(|h| h.borrow_mut().take())
        .and_then(|b| b.into_any().downcast::<H>().ok())
        .expect("the script host is put back where it was");
    (*back, r)
}

// ===== Results =====

/// How a script ended, when it did not return normally.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Failure {
    /// An error the handler turned into a reply: the `err` text (None when the error table had
    /// no `err` field) and where the script was (`@user_script`, line).
    Raised {
        message: Option<String>,
        location: Option<(String, u32)>,
    },
    /// Lua ran out of memory; Redis's handler does not run for this one.
    Memory,
}

/// A function a library registered with `redis.register_function`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Registered {
    pub name: String,
    pub description: Option<Vec<u8>>,
    /// Flag names as given (lower-cased), in the order Redis lists them.
    pub flags: Vec<&'static str>,
}

pub(crate) const FUNCTION_FLAGS: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

// ===== The VM =====

pub(crate) struct Vm {
    lua: rilua::Lua,
    /// Compiled EVAL scripts by SHA (also anchored in the registry, which keeps them alive).
    compiled: std::collections::HashMap<String, Val>,
    /// Registry-anchored table of everything Rust keeps a handle to.
    anchors: GcRef<Table>,
    eval_env: GcRef<Table>,
    eval_globals: GcRef<Table>,
    fn_env: GcRef<Table>,
    fn_env_meta: GcRef<Table>,
    fn_globals: GcRef<Table>,
    load_globals: GcRef<Table>,
    /// `current` holds the registrations of the FUNCTION LOAD in progress.
    load_ctx: GcRef<Table>,
    string_meta: GcRef<Table>,
    string_proxy: Val,
    hook: Val,
}

impl Vm {
    pub fn new() -> Vm {
        let lua = rilua::Lua::new_with(
            StdLib::BASE | StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::COROUTINE,
        )
        .expect("the standard libraries open");
        Builder { lua }.build()
    }

    fn st(&mut self) -> &mut LuaState {
        self.lua.state_mut()
    }

    /// The VM's heap, in bytes as rilua counts them.
    pub fn memory(&self) -> usize {
        self.lua.state().gc.gc_state.total_bytes
    }

    fn anchor(&mut self, key: &str, v: Val) {
        let anchors = self.anchors;
        let st = self.st();
        let k = new_str(st, key.as_bytes());
        tset(st, anchors, k, v);
    }

    fn anchored(&mut self, key: &str) -> Val {
        let anchors = self.anchors;
        let st = self.st();
        let k = new_str(st, key.as_bytes());
        tget(st, anchors, k)
    }

    /// Compiles an EVAL body (its shebang line already blanked) as `@user_script`; the error is
    /// Lua's message (`user_script:1: ...`).
    pub fn compile_eval(&mut self, sha: &str, body: &[u8]) -> Result<(), String> {
        let env = self.eval_env;
        let f = self.compile(body, "@user_script", env)?;
        self.anchor(&format!("f_{sha}"), f);
        self.compiled.insert(sha.to_string(), f);
        Ok(())
    }

    pub fn has_eval(&mut self, sha: &str) -> bool {
        self.compiled.contains_key(sha)
    }

    pub fn flush_eval(&mut self, shas: &[String]) {
        for sha in shas {
            self.anchor(&format!("f_{sha}"), Val::Nil);
            self.compiled.remove(sha);
        }
    }

    fn compile(&mut self, body: &[u8], chunk: &str, env: GcRef<Table>) -> Result<Val, String> {
        if let Some(line) = too_deep(body, MAX_SYNTAX_NESTING) {
            return Err(format!(
                "{}:{line}: chunk has too many syntax levels",
                chunk.trim_start_matches('@')
            ));
        }
        let src = guard_source(body);
        let f = self
            .lua
            .load_bytes(&src, chunk)
            .map_err(|e| e.to_string())?;
        let r = f.gc_ref();
        if let Some(Closure::Lua(lcl)) = self.st().gc.closures.get_mut(r) {
            lcl.env = env;
        }
        Ok(Val::Function(r))
    }

    /// Runs a compiled EVAL script with `KEYS` and `ARGV` set.
    pub fn run_eval<H: Host>(
        &mut self,
        sha: &str,
        keys: &[&[u8]],
        args: &[&[u8]],
        host: H,
    ) -> (H, Result<Reply, Failure>) {
        let f = self.compiled.get(sha).copied().unwrap_or(Val::Nil);
        let (globals, env) = (self.eval_globals, self.eval_env);
        let st = self.st();
        let k = array(st, keys);
        let a = array(st, args);
        let kname = new_str(st, b"KEYS");
        let aname = new_str(st, b"ARGV");
        tset(st, globals, kname, k);
        tset(st, globals, aname, a);
        st.global = env;
        self.run(f, &[], host)
    }

    /// Runs a registered function with its keys and arguments tables.
    pub fn run_function<H: Host>(
        &mut self,
        library: &str,
        function: &str,
        keys: &[&[u8]],
        args: &[&[u8]],
        host: H,
    ) -> (H, Result<Reply, Failure>) {
        let lib = self.anchored(&format!("lib:{library}"));
        let env = self.fn_env;
        let st = self.st();
        let f = match lib {
            Val::Table(t) => {
                let name = new_str(st, function.as_bytes());
                tget(st, t, name)
            }
            _ => Val::Nil,
        };
        let k = array(st, keys);
        let a = array(st, args);
        st.global = env;
        self.run(f, &[k, a], host)
    }

    fn run<H: Host>(&mut self, f: Val, args: &[Val], host: H) -> (H, Result<Reply, Failure>) {
        self.start_hook();
        let (host, outcome) = hosted(host, || call_top(self.lua.state_mut(), f, args));
        self.stop_hook();
        let resp3 = host.resp3();
        let result = match outcome {
            Ok(v) => {
                let mut nodes = 0;
                Ok(to_reply(self.st(), v, resp3, 0, &mut nodes))
            }
            Err(e) => Err(self.failure(e)),
        };
        self.after_run();
        (host, result)
    }

    /// What Redis's error handler makes of an error: a table keeps its `err` (any non-table
    /// becomes `ERR <tostring(value)>`), with the position of the innermost Lua code.
    fn failure(&mut self, e: TopError) -> Failure {
        if e.memory {
            return Failure::Memory;
        }
        let st = self.st();
        let message = match e.value {
            Val::Table(t) => {
                let k = new_str(st, b"err");
                match tget(st, t, k) {
                    v @ (Val::Str(_) | Val::Num(_)) => {
                        Some(lossy(&to_lstring(st, v).unwrap_or_default()))
                    }
                    _ => None,
                }
            }
            v => Some(format!("ERR {}", lossy(&tostring(st, v)))),
        };
        Failure::Raised {
            message,
            location: e.location,
        }
    }

    /// Puts back what a script may have disturbed, so that the next one starts the same.
    fn after_run(&mut self) {
        let (meta, proxy) = (self.string_meta, self.string_proxy);
        let st = self.st();
        let index = new_str(st, b"__index");
        let intact = tget(st, meta, index) == proxy
            && st
                .gc
                .tables
                .get(meta)
                .is_some_and(|t| t.next(index, &st.gc.string_arena).ok() == Some(None))
            && table_first(st, meta) == Some(index);
        if !intact {
            let fresh = st.gc.alloc_table(Table::new());
            tset(st, fresh, index, proxy);
            st.gc.type_metatables[3] = Some(fresh);
            self.string_meta = fresh;
            self.anchor("string_meta", Val::Table(fresh));
        }
        let st = self.st();
        if st.gc.gc_state.gc_threshold == usize::MAX {
            self.lua.gc_restart();
        }
        if self.st().gc.gc_state.total_bytes > MEMORY_LIMIT / 2 {
            let _ = self.lua.gc_collect();
        }
    }

    fn start_hook(&mut self) {
        let hook = self.hook;
        let st = self.st();
        st.hook.hook_func = hook;
        st.hook.hook_mask = MASK_COUNT;
        st.hook.base_hook_count = INSTRUCTIONS_PER_MS as i32;
        st.hook.hook_count = INSTRUCTIONS_PER_MS as i32;
        st.hook.allow_hook = true;
    }

    fn stop_hook(&mut self) {
        let st = self.st();
        st.hook.hook_func = Val::Nil;
        st.hook.hook_mask = 0;
    }

    /// Runs a library's code (FUNCTION LOAD) with only the load-time `redis` table visible, and
    /// returns what it registered. The callbacks wait in a staging slot until `commit_library`.
    pub fn load_library<H: Host>(
        &mut self,
        code: &[u8],
        host: H,
    ) -> (H, Result<Vec<Registered>, String>) {
        let (meta, load_globals, fn_globals, fn_env) = (
            self.fn_env_meta,
            self.load_globals,
            self.fn_globals,
            self.fn_env,
        );
        let st = self.st();
        let index = new_str(st, b"__index");
        tset(st, meta, index, Val::Table(load_globals));
        let result = self.compile(code, "@user_function", fn_env);
        let f = match result {
            Ok(f) => f,
            Err(e) => {
                let st = self.st();
                tset(st, meta, index, Val::Table(fn_globals));
                return (host, Err(format!("Error compiling function: {e}")));
            }
        };
        let ctx = self.load_ctx;
        let st = self.st();
        let staging = st.gc.alloc_table(Table::new());
        let current = new_str(st, b"current");
        tset(st, ctx, current, Val::Table(staging));
        st.global = fn_env;
        self.start_hook();
        let (host, outcome) = hosted(host, || call_top(self.lua.state_mut(), f, &[]));
        self.stop_hook();
        let st = self.st();
        tset(st, ctx, current, Val::Nil);
        tset(st, meta, index, Val::Table(fn_globals));
        let result = match outcome {
            Ok(_) => {
                self.anchor("staging", Val::Table(staging));
                Ok(self.registrations(staging))
            }
            Err(e) => {
                let msg = if e.memory {
                    "ERR not enough memory".to_string()
                } else {
                    let st = self.st();
                    match e.value {
                        Val::Table(t) => {
                            let k = new_str(st, b"err");
                            lossy(&to_lstring(st, tget(st, t, k)).unwrap_or_default())
                        }
                        v => format!("ERR {}", lossy(&to_lstring(st, v).unwrap_or_default())),
                    }
                };
                Err(format!("Error registering functions: {msg}"))
            }
        };
        self.after_run();
        (host, result)
    }

    /// The staging table holds `{name, callback, description, flags}` records in order.
    fn registrations(&mut self, staging: GcRef<Table>) -> Vec<Registered> {
        let st = self.st();
        let mut out = Vec::new();
        let mut i = 1;
        while let Val::Table(rec) = tget(st, staging, Val::Num(i as f64)) {
            let name = lossy(&to_lstring(st, tget(st, rec, Val::Num(1.0))).unwrap_or_default());
            let description = match tget(st, rec, Val::Num(3.0)) {
                Val::Nil => None,
                v => to_lstring(st, v),
            };
            let bits = tget(st, rec, Val::Num(4.0)).as_number().unwrap_or(0.0) as u32;
            let flags = FUNCTION_FLAGS
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, f)| *f)
                .collect();
            out.push(Registered {
                name,
                description,
                flags,
            });
            i += 1;
        }
        out
    }

    /// Makes the last loaded library callable as `library` (replacing any former one).
    pub fn commit_library(&mut self, library: &str) {
        let staging = self.anchored("staging");
        let st = self.st();
        let by_name = st.gc.alloc_table(Table::new());
        if let Val::Table(staging) = staging {
            let mut i = 1;
            while let Val::Table(rec) = tget(st, staging, Val::Num(i as f64)) {
                let name = tget(st, rec, Val::Num(1.0));
                let callback = tget(st, rec, Val::Num(2.0));
                tset(st, by_name, name, callback);
                i += 1;
            }
        }
        self.anchor(&format!("lib:{library}"), Val::Table(by_name));
        self.anchor("staging", Val::Nil);
    }

    pub fn discard_staging(&mut self) {
        self.anchor("staging", Val::Nil);
    }

    pub fn drop_library(&mut self, library: &str) {
        self.anchor(&format!("lib:{library}"), Val::Nil);
    }
}

// ===== Building the environment =====

struct Builder {
    lua: rilua::Lua,
}

impl Builder {
    fn st(&mut self) -> &mut LuaState {
        self.lua.state_mut()
    }

    fn build(mut self) -> Vm {
        // EVAL's `__redis__err__handler` global: listed among the globals in Redis, unused here
        // (the engine reads the error position from the VM). A chunk is a vararg function.
        let handler = self
            .lua
            .load_bytes(
                b"local err = ... if type(err) ~= 'table' then err = {err='ERR ' .. tostring(err)} end return err",
                "@err_handler_def",
            )
            .map(|f| f.gc_ref())
            .ok();
        let st = self.st();
        st.gc.set_alloc_limit(MEMORY_LIMIT);
        let std_globals = st.global;
        let anchors = st.gc.alloc_table(Table::new());
        let registry = st.registry;
        let key = new_str(st, b"cachelab.anchors");
        tset(st, registry, key, Val::Table(anchors));
        let proxies = st.gc.alloc_table(Table::new());
        let proxy_meta = st.gc.alloc_table(Table::new());
        let k = new_str(st, b"proxies");
        tset(st, anchors, k, Val::Table(proxies));
        let k = new_str(st, b"proxy_meta");
        tset(st, anchors, k, Val::Table(proxy_meta));
        let mut b = Env {
            st: self.lua.state_mut(),
            anchors,
            proxies,
            proxy_meta,
            readonly: Val::Nil,
            nonexistent: Val::Nil,
        };
        b.readonly = b.native(readonly_newindex, "readonly", vec![]);
        b.nonexistent = b.native(nonexistent_global, "nonexistent", vec![]);

        // The libraries, each behind a proxy.
        let string = b.library(std_globals, "string");
        let table = b.library(std_globals, "table");
        let math = b.library(std_globals, "math");
        let coroutine_lib = b.library(std_globals, "coroutine");
        b.patch_string(string);
        b.patch_table(table);
        b.patch_math(math);
        b.patch_coroutine(coroutine_lib);
        let bit = b.bit_library();
        let structlib = b.struct_library();
        let cjson = b.cjson_library();
        let cmsgpack = b.cmsgpack_library();
        // `cjson.new()` gives the same (read-only) module back.
        let cjson_proxy = b.proxy_of(cjson);
        b.wrap(cjson, "new", constant_values, vec![cjson_proxy]);

        // The string type's metatable reads through the string proxy too.
        let string_proxy = b.proxy_of(string);
        let string_meta = b.st.gc.alloc_table(Table::new());
        let index = new_str(b.st, b"__index");
        tset(b.st, string_meta, index, string_proxy);
        b.st.gc.type_metatables[3] = Some(string_meta);
        b.keep("string_meta", Val::Table(string_meta));

        // The base functions Redis keeps, with the proxy-aware ones replaced.
        let mut base_fns: Vec<(&str, Val)> = Vec::new();
        for name in [
            "collectgarbage",
            "error",
            "gcinfo",
            "load",
            "rawequal",
            "tonumber",
            "tostring",
            "type",
        ] {
            let k = new_str(b.st, name.as_bytes());
            base_fns.push((name, tget(b.st, std_globals, k)));
        }
        let p = Val::Table(proxies);
        let pm = Val::Table(proxy_meta);
        let next = b.native(proxy_next, "next", vec![p]);
        base_fns.push(("next", next));
        base_fns.push(("pairs", b.native(proxy_pairs, "pairs", vec![next])));
        base_fns.push(("rawget", b.native(proxy_rawget, "rawget", vec![p])));
        base_fns.push(("rawset", b.native(proxy_rawset, "rawset", vec![p])));
        base_fns.push((
            "getmetatable",
            b.native(proxy_getmetatable, "getmetatable", vec![p, pm]),
        ));
        base_fns.push((
            "setmetatable",
            b.native(proxy_setmetatable, "setmetatable", vec![p]),
        ));
        base_fns.push(("pcall", b.native(redis_pcall, "pcall", vec![])));
        base_fns.push(("xpcall", b.native(guarded_xpcall, "xpcall", vec![])));
        base_fns.push(("unpack", b.native(limited_unpack, "unpack", vec![])));
        base_fns.push(("assert", b.native(lua_assert, "assert", vec![])));
        base_fns.push(("ipairs", b.native(checked_ipairs, "ipairs", vec![])));
        base_fns.push(("select", b.native(checked_select, "select", vec![])));
        base_fns.push((
            "loadstring",
            b.native(guarded_loadstring, "loadstring", vec![]),
        ));
        base_fns.push(("_VERSION", new_str(b.st, b"Lua 5.1")));

        let libs: Vec<(&str, Val)> = vec![
            ("string", string_proxy),
            ("table", b.proxy_of(table)),
            ("math", b.proxy_of(math)),
            ("coroutine", b.proxy_of(coroutine_lib)),
            ("bit", b.proxy_of(bit)),
            ("struct", b.proxy_of(structlib)),
            ("cjson", cjson_proxy),
            ("cmsgpack", b.proxy_of(cmsgpack)),
        ];

        // EVAL's globals: KEYS and ARGV are set before each run.
        let eval_redis = b.redis_table(true);
        let eval_globals = b.st.gc.alloc_table(Table::new());
        for (k, v) in base_fns.iter().chain(libs.iter()) {
            b.set(eval_globals, k, *v);
        }
        let er = b.proxy_of(eval_redis);
        b.set(eval_globals, "redis", er);
        let handler_val = handler.map_or(Val::Nil, Val::Function);
        b.set(eval_globals, "__redis__err__handler", handler_val);
        let empty = Val::Table(b.st.gc.alloc_table(Table::new()));
        b.set(eval_globals, "KEYS", empty);
        b.set(eval_globals, "ARGV", empty);
        b.error_metatable(eval_globals);
        let eval_env = b.protect(eval_globals);
        b.set(eval_globals, "_G", Val::Table(eval_env));
        if let Some(Closure::Lua(lcl)) = handler.and_then(|h| b.st.gc.closures.get_mut(h)) {
            lcl.env = eval_env;
        }

        // FCALL's globals, and the ones a library's code sees while it loads.
        let fn_redis = b.redis_table(false);
        let fn_globals = b.st.gc.alloc_table(Table::new());
        for (k, v) in base_fns.iter().chain(libs.iter()) {
            b.set(fn_globals, k, *v);
        }
        let fr = b.proxy_of(fn_redis);
        b.set(fn_globals, "redis", fr);
        b.error_metatable(fn_globals);
        let load_ctx = b.st.gc.alloc_table(Table::new());
        b.keep("load_ctx", Val::Table(load_ctx));
        let load_redis = b.load_redis_table(load_ctx);
        b.error_metatable(load_redis);
        let load_globals = b.st.gc.alloc_table(Table::new());
        let lr = b.proxy_of(load_redis);
        b.set(load_globals, "redis", lr);
        b.error_metatable(load_globals);
        b.keep("load_globals", Val::Table(load_globals));
        let fn_env = b.protect(fn_globals);
        b.set(fn_globals, "_G", Val::Table(fn_env));
        let fn_env_meta =
            b.st.gc
                .tables
                .get(fn_env)
                .and_then(|t| t.metatable())
                .expect("a proxy has a metatable");

        let hook = b.native(count_hook, "hook", vec![]);
        b.keep("hook", hook);
        b.keep("eval_globals", Val::Table(eval_globals));
        b.keep("fn_globals", Val::Table(fn_globals));
        b.st.global = eval_env;
        Vm {
            lua: self.lua,
            compiled: std::collections::HashMap::new(),
            anchors,
            eval_env,
            eval_globals,
            fn_env,
            fn_env_meta,
            fn_globals,
            load_globals,
            load_ctx,
            string_meta,
            string_proxy,
            hook,
        }
    }
}

struct Env<'a> {
    st: &'a mut LuaState,
    anchors: GcRef<Table>,
    proxies: GcRef<Table>,
    proxy_meta: GcRef<Table>,
    readonly: Val,
    nonexistent: Val,
}

impl Env<'_> {
    fn native(&mut self, f: RustFn, name: &str, upvalues: Vec<Val>) -> Val {
        native(self.st, f, name, upvalues)
    }

    fn set(&mut self, t: GcRef<Table>, k: &str, v: Val) {
        let key = new_str(self.st, k.as_bytes());
        tset(self.st, t, key, v);
    }

    fn get(&mut self, t: GcRef<Table>, k: &str) -> Val {
        let key = new_str(self.st, k.as_bytes());
        tget(self.st, t, key)
    }

    fn keep(&mut self, k: &str, v: Val) {
        let anchors = self.anchors;
        self.set(anchors, k, v);
    }

    fn library(&mut self, globals: GcRef<Table>, name: &str) -> GcRef<Table> {
        match self.get(globals, name) {
            Val::Table(t) => t,
            _ => self.st.gc.alloc_table(Table::new()),
        }
    }

    /// A read-only view of `real` (created once per table).
    fn protect(&mut self, real: GcRef<Table>) -> GcRef<Table> {
        let proxy = self.st.gc.alloc_table(Table::new());
        let meta = self.st.gc.alloc_table(Table::new());
        self.set(meta, "__index", Val::Table(real));
        let ro = self.readonly;
        self.set(meta, "__newindex", ro);
        if let Some(t) = self.st.gc.tables.get_mut(proxy) {
            t.set_metatable(Some(meta));
        }
        let proxies = self.proxies;
        tset(self.st, proxies, Val::Table(proxy), Val::Table(real));
        // What getmetatable shows for the proxy: the real table's metatable, itself read-only.
        if let Some(mt) = self.st.gc.tables.get(real).and_then(|t| t.metatable()) {
            let mt_proxy = self.protect(mt);
            let pm = self.proxy_meta;
            tset(self.st, pm, Val::Table(proxy), Val::Table(mt_proxy));
        }
        proxy
    }

    fn proxy_of(&mut self, real: GcRef<Table>) -> Val {
        Val::Table(self.protect(real))
    }

    /// Reading a missing key raises Redis's nonexistent-global error.
    fn error_metatable(&mut self, t: GcRef<Table>) {
        let mt = self.st.gc.alloc_table(Table::new());
        let f = self.nonexistent;
        self.set(mt, "__index", f);
        if let Some(tb) = self.st.gc.tables.get_mut(t) {
            tb.set_metatable(Some(mt));
        }
    }

    fn wrap(&mut self, t: GcRef<Table>, name: &str, f: RustFn, upvalues: Vec<Val>) {
        let v = self.native(f, name, upvalues);
        self.set(t, name, v);
    }

    fn patch_string(&mut self, t: GcRef<Table>) {
        self.wrap(t, "rep", limited_rep, vec![]);
        self.wrap(t, "byte", limited_byte, vec![]);
        self.wrap(t, "gsub", limited_gsub, vec![]);
        self.wrap(t, "format", checked_format, vec![]);
        for (name, f) in [
            ("find", lstring::str_find as RustFn),
            ("match", lstring::str_match as RustFn),
            ("gmatch", lstring::str_gmatch as RustFn),
        ] {
            let orig = self.native(f, name, vec![]);
            self.wrap(t, name, checked_pattern, vec![orig]);
        }
    }

    fn patch_table(&mut self, t: GcRef<Table>) {
        let p = Val::Table(self.proxies);
        self.wrap(t, "concat", limited_concat, vec![]);
        for (name, f) in [
            ("insert", ltable::tab_insert as RustFn),
            ("remove", ltable::tab_remove as RustFn),
            ("sort", ltable::tab_sort as RustFn),
        ] {
            let orig = self.native(f, name, vec![]);
            self.wrap(t, name, proxy_guarded, vec![p, orig]);
        }
    }

    fn patch_math(&mut self, t: GcRef<Table>) {
        self.wrap(t, "random", math_random, vec![]);
        self.wrap(t, "randomseed", math_randomseed, vec![]);
    }

    fn patch_coroutine(&mut self, t: GcRef<Table>) {
        self.wrap(t, "resume", guarded_resume, vec![]);
        self.wrap(t, "wrap", guarded_wrap, vec![]);
        self.wrap(t, "running", coroutine_running, vec![]);
    }

    fn bit_library(&mut self) -> GcRef<Table> {
        let t = self.st.gc.alloc_table(Table::new());
        for (name, f) in [
            ("tobit", bit_tobit as RustFn),
            ("bnot", bit_bnot),
            ("band", bit_band),
            ("bor", bit_bor),
            ("bxor", bit_bxor),
            ("lshift", bit_lshift),
            ("rshift", bit_rshift),
            ("arshift", bit_arshift),
            ("rol", bit_rol),
            ("ror", bit_ror),
            ("bswap", bit_bswap),
            ("tohex", bit_tohex),
        ] {
            self.wrap(t, name, f, vec![]);
        }
        t
    }

    fn struct_library(&mut self) -> GcRef<Table> {
        let t = self.st.gc.alloc_table(Table::new());
        self.wrap(t, "pack", struct_pack, vec![]);
        self.wrap(t, "unpack", struct_unpack, vec![]);
        self.wrap(t, "size", struct_size, vec![]);
        t
    }

    fn cjson_library(&mut self) -> GcRef<Table> {
        let t = self.st.gc.alloc_table(Table::new());
        self.wrap(t, "encode", cjson_encode, vec![]);
        self.wrap(t, "decode", cjson_decode, vec![]);
        // The configuration functions answer with the defaults; settings are not kept.
        for (name, values) in [
            (
                "encode_sparse_array",
                &[Val::Bool(false), Val::Num(2.0), Val::Num(10.0)][..],
            ),
            ("encode_max_depth", &[Val::Num(1000.0)][..]),
            ("decode_max_depth", &[Val::Num(1000.0)][..]),
            ("encode_number_precision", &[Val::Num(14.0)][..]),
            ("encode_keep_buffer", &[Val::Bool(true)][..]),
            ("encode_invalid_numbers", &[Val::Bool(false)][..]),
            ("decode_invalid_numbers", &[Val::Bool(true)][..]),
        ] {
            self.wrap(t, name, constant_values, values.to_vec());
        }
        self.set(t, "null", Val::LightUserdata(0));
        let name = new_str(self.st, b"cjson");
        self.set(t, "_NAME", name);
        let version = new_str(self.st, b"2.1.0");
        self.set(t, "_VERSION", version);
        t
    }

    fn cmsgpack_library(&mut self) -> GcRef<Table> {
        let t = self.st.gc.alloc_table(Table::new());
        self.wrap(t, "pack", msgpack_pack, vec![]);
        self.wrap(t, "unpack", msgpack_unpack, vec![]);
        self.wrap(t, "unpack_one", msgpack_unpack_one, vec![]);
        self.wrap(t, "unpack_limit", msgpack_unpack_limit, vec![]);
        for (k, v) in [
            ("_NAME", "cmsgpack"),
            ("_VERSION", "lua-cmsgpack 0.4.0"),
            ("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"),
            ("_DESCRIPTION", "MessagePack C implementation for Lua"),
        ] {
            let s = new_str(self.st, v.as_bytes());
            self.set(t, k, s);
        }
        t
    }

    fn log_api(&mut self, t: GcRef<Table>) {
        self.wrap(t, "log", redis_log, vec![]);
        for (name, level) in [
            ("LOG_DEBUG", 0.0),
            ("LOG_VERBOSE", 1.0),
            ("LOG_NOTICE", 2.0),
            ("LOG_WARNING", 3.0),
        ] {
            self.set(t, name, Val::Num(level));
        }
        self.set(t, "REDIS_VERSION_NUM", Val::Num(REDIS_VERSION_NUM));
        let v = new_str(self.st, REDIS_VERSION.as_bytes());
        self.set(t, "REDIS_VERSION", v);
    }

    /// The runtime `redis` table; EVAL's has the debugger helpers too.
    fn redis_table(&mut self, eval: bool) -> GcRef<Table> {
        let t = self.st.gc.alloc_table(Table::new());
        self.wrap(t, "call", redis_call, vec![]);
        self.wrap(t, "pcall", redis_pcall_command, vec![]);
        self.log_api(t);
        self.wrap(t, "setresp", redis_setresp, vec![]);
        self.wrap(t, "sha1hex", redis_sha1hex, vec![]);
        self.wrap(t, "error_reply", redis_error_reply, vec![]);
        self.wrap(t, "status_reply", redis_status_reply, vec![]);
        self.wrap(t, "set_repl", redis_set_repl, vec![]);
        for (name, flags) in [
            ("REPL_NONE", 0.0),
            ("REPL_AOF", 1.0),
            ("REPL_SLAVE", 2.0),
            ("REPL_REPLICA", 2.0),
            ("REPL_ALL", 3.0),
        ] {
            self.set(t, name, Val::Num(flags));
        }
        self.wrap(t, "acl_check_cmd", redis_acl_check_cmd, vec![]);
        if eval {
            self.wrap(t, "breakpoint", constant_values, vec![Val::Bool(false)]);
            self.wrap(t, "debug", constant_values, vec![]);
            self.wrap(
                t,
                "replicate_commands",
                constant_values,
                vec![Val::Bool(true)],
            );
        }
        t
    }

    fn load_redis_table(&mut self, ctx: GcRef<Table>) -> GcRef<Table> {
        let t = self.st.gc.alloc_table(Table::new());
        self.wrap(
            t,
            "register_function",
            register_function,
            vec![Val::Table(ctx)],
        );
        self.log_api(t);
        t
    }
}

// ===== Small helpers over the VM =====

fn nargs(st: &LuaState) -> usize {
    st.top.saturating_sub(st.base)
}

fn arg(st: &LuaState, i: usize) -> Val {
    if st.base + i < st.top {
        st.stack_get(st.base + i)
    } else {
        Val::Nil
    }
}

fn new_str(st: &mut LuaState, b: &[u8]) -> Val {
    Val::Str(st.gc.intern_string(b))
}

fn str_bytes(st: &LuaState, v: Val) -> Option<&[u8]> {
    match v {
        Val::Str(r) => st.gc.string_arena.get(r).map(|s| s.data()),
        _ => None,
    }
}

/// `lua_tolstring`: strings as they are, numbers as `%.14g`, anything else None.
fn to_lstring(st: &LuaState, v: Val) -> Option<Vec<u8>> {
    match v {
        Val::Str(_) => str_bytes(st, v).map(|b| b.to_vec()),
        Val::Num(_) => Some(format!("{v}").into_bytes()),
        _ => None,
    }
}

/// `tostring` without metamethods.
fn tostring(st: &LuaState, v: Val) -> Vec<u8> {
    match v {
        Val::Nil => b"nil".to_vec(),
        Val::Bool(b) => {
            if b {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            }
        }
        Val::Str(_) | Val::Num(_) => to_lstring(st, v).unwrap_or_default(),
        other => format!("{other}").into_bytes(),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `lua_tonumber`: numbers, and strings Lua can read as numbers.
fn to_number(st: &LuaState, i: usize) -> Option<f64> {
    match arg(st, i) {
        Val::Num(n) => Some(n),
        Val::Str(_) => st.check_number(i + 1).ok(),
        _ => None,
    }
}

fn tget(st: &LuaState, t: GcRef<Table>, k: Val) -> Val {
    st.gc
        .tables
        .get(t)
        .map_or(Val::Nil, |tb| tb.get(k, &st.gc.string_arena))
}

/// A raw table write with the VM's bookkeeping: the table's growth counts against the heap
/// (as the VM's own writes do) and the GC's write barrier runs.
fn tset(st: &mut LuaState, t: GcRef<Table>, k: Val, v: Val) {
    let gc = &mut st.gc;
    if let Some(tb) = gc.tables.get_mut(t) {
        let before = tb.estimated_memory();
        let _ = tb.raw_set(k, v, &gc.string_arena);
        let after = tb.estimated_memory();
        gc.gc_state.total_bytes += after.saturating_sub(before);
    }
    gc.barrier_back(t);
}

fn table_first(st: &LuaState, t: GcRef<Table>) -> Option<Val> {
    st.gc
        .tables
        .get(t)
        .and_then(|tb| tb.next(Val::Nil, &st.gc.string_arena).ok().flatten())
        .map(|(k, _)| k)
}

fn native(st: &mut LuaState, f: RustFn, name: &str, upvalues: Vec<Val>) -> Val {
    let mut rc = RustClosure::new(f, name);
    rc.upvalues = upvalues;
    Val::Function(st.gc.alloc_closure(Closure::Rust(rc)))
}

/// The running native's upvalue `i`.
fn upvalue(st: &LuaState, i: usize) -> Val {
    let func = st.stack_get(st.call_stack[st.ci].func);
    match func {
        Val::Function(r) => match st.gc.closures.get(r) {
            Some(Closure::Rust(rc)) => rc.upvalues.get(i).copied().unwrap_or(Val::Nil),
            _ => Val::Nil,
        },
        _ => Val::Nil,
    }
}

fn array(st: &mut LuaState, items: &[&[u8]]) -> Val {
    let t = st.gc.alloc_table(Table::with_sizes(items.len(), 0));
    for (i, item) in items.iter().enumerate() {
        let s = new_str(st, item);
        tset(st, t, Val::Num((i + 1) as f64), s);
    }
    Val::Table(t)
}

fn ret(st: &mut LuaState, vals: &[Val]) -> LuaResult<u32> {
    st.ensure_stack(st.top + vals.len() + 1);
    for v in vals {
        st.push(*v);
    }
    Ok(vals.len() as u32)
}

/// `luaL_error`: the VM prefixes the calling Lua code's position.
fn lua_error(msg: impl Into<String>) -> LuaError {
    LuaError::Runtime(RuntimeError::new(msg))
}

/// `lua_error` with a value: no position is added.
fn throw(st: &mut LuaState, v: Val) -> LuaError {
    let display = lossy(&tostring(st, v));
    st.error_object = Some(v);
    LuaError::Runtime(RuntimeError::new(display))
}

fn lib_error(st: &mut LuaState, e: LibError) -> LuaError {
    match e {
        LibError::Msg(m) => lua_error(m),
        LibError::Arg(n, m) => st.arg_error(n, &m),
    }
}

/// Redis's error table for `text`: `-CODE msg` keeps its code, anything else gets `ERR`.
fn err_table(st: &mut LuaState, text: &[u8], ignore_stats: bool) -> Val {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&c| c == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let trim = |c: &u8| *c == b'\r' || *c == b'\n';
    let start = msg.iter().position(|c| !trim(c)).unwrap_or(msg.len());
    let end = msg.iter().rposition(|c| !trim(c)).map_or(start, |e| e + 1);
    let mut full = code.to_vec();
    full.push(b' ');
    full.extend_from_slice(&msg[start..end.max(start)]);
    let t = st.gc.alloc_table(Table::new());
    let k = new_str(st, b"err");
    let v = new_str(st, &full);
    tset(st, t, k, v);
    if ignore_stats {
        let k = new_str(st, b"ignore_error_stats_update");
        tset(st, t, k, Val::Bool(true));
    }
    Val::Table(t)
}

/// Raises Redis's error table for a plain message (`luaPushError` + `luaError`).
fn raise(st: &mut LuaState, msg: &str) -> LuaError {
    let t = err_table(st, msg.as_bytes(), false);
    throw(st, t)
}

/// The `source:line: ` Lua puts before an error raised `level` frames up.
fn where_prefix(st: &LuaState, level: usize) -> String {
    match frame_line(st, st.ci.checked_sub(level)) {
        Some((src, line)) => format!("{}:{line}: ", chunk_id(&src)),
        None => String::new(),
    }
}

/// The source and current line of the Lua function in call frame `ci`.
fn frame_line(st: &LuaState, ci: Option<usize>) -> Option<(String, u32)> {
    let ci = st.call_stack.get(ci?)?;
    let Val::Function(r) = st.stack_get(ci.func) else {
        return None;
    };
    let Some(Closure::Lua(lcl)) = st.gc.closures.get(r) else {
        return None;
    };
    let proto = &lcl.proto;
    let pc = ci.saved_pc;
    let line = if pc > 0 && pc <= proto.line_info.len() {
        proto.line_info[pc - 1]
    } else {
        *proto.line_info.first()?
    };
    Some((proto.source.clone(), line))
}

fn frame_is_rust(st: &LuaState, ci: usize) -> bool {
    let Some(frame) = st.call_stack.get(ci) else {
        return false;
    };
    matches!(st.stack_get(frame.func), Val::Function(r) if matches!(st.gc.closures.get(r), Some(Closure::Rust(_))))
}

/// Lua's short name for a chunk: `@file` is the file, `=name` the name.
fn chunk_id(source: &str) -> String {
    if let Some(f) = source
        .strip_prefix('@')
        .or_else(|| source.strip_prefix('='))
    {
        return f.to_string();
    }
    let first = source.lines().next().unwrap_or("");
    if first.len() < source.len() || first.len() > 45 {
        let cut: String = first.chars().take(45).collect();
        format!("[string \"{cut}...\"]")
    } else {
        format!("[string \"{first}\"]")
    }
}

/// The script line of the Lua code that called the running native.
fn caller_line(st: &LuaState) -> Option<u32> {
    frame_line(st, st.ci.checked_sub(1)).map(|(_, l)| l)
}

fn memory_left(st: &LuaState) -> usize {
    MEMORY_LIMIT.saturating_sub(st.gc.gc_state.total_bytes)
}

// ===== The protected top-level call =====

struct TopError {
    value: Val,
    location: Option<(String, u32)>,
    memory: bool,
}

/// Calls `f` with `args` in protected mode and returns its first result, or the error with the
/// position Redis's error handler would report (the innermost Lua frame; past a native one).
fn call_top(st: &mut LuaState, f: Val, args: &[Val]) -> Result<Val, TopError> {
    let func_idx = st.top;
    st.ensure_stack(func_idx + args.len() + 2 + rilua::vm::state::LUA_MINSTACK);
    st.stack_set(func_idx, f);
    for (i, a) in args.iter().enumerate() {
        st.stack_set(func_idx + 1 + i, *a);
    }
    st.top = func_idx + 1 + args.len();
    let (save_base, save_ci, save_ccalls, save_depth) =
        (st.base, st.ci, st.n_ccalls, st.call_depth);
    st.base = func_idx + 1;
    st.error_object = None;
    st.call_depth = st.call_depth.max(MAXCCALLS - CALL_BUDGET);
    let result = match st.precall(func_idx, 1) {
        Ok(CallResult::Lua) => execute(st),
        Ok(CallResult::Rust) => Ok(()),
        Err(e) => Err(e),
    };
    let out = match result {
        Ok(()) => Ok(if st.top > func_idx {
            st.stack_get(func_idx)
        } else {
            Val::Nil
        }),
        Err(e) => {
            let memory = matches!(e, LuaError::Memory);
            let message = e.to_string();
            let innermost = st.ci;
            let location = if frame_is_rust(st, innermost) {
                frame_line(st, innermost.checked_sub(1))
            } else {
                frame_line(st, Some(innermost)).map(|(src, line)| {
                    // A VM error names its line in the message; the frame's saved position may
                    // be older.
                    let prefix = format!("{}:", chunk_id(&src));
                    let from_msg = message
                        .strip_prefix(&prefix)
                        .and_then(|r| r.split(':').next())
                        .and_then(|n| n.parse().ok());
                    (src, from_msg.unwrap_or(line))
                })
            };
            let value = match st.error_object.take() {
                Some(v) => v,
                None => {
                    // Lua prefixes every error the VM raises in a Lua function with its
                    // position; rilua leaves a few out ("table index is nil").
                    let text = match &location {
                        Some((src, line))
                            if !frame_is_rust(st, innermost)
                                && !message.starts_with(&format!("{}:", chunk_id(src))) =>
                        {
                            format!("{}:{line}: {message}", chunk_id(src))
                        }
                        _ => message.clone(),
                    };
                    new_str(st, text.as_bytes())
                }
            };
            st.close_upvalues(func_idx);
            Err(TopError {
                value,
                location,
                memory,
            })
        }
    };
    st.ci = save_ci;
    st.base = save_base;
    st.top = func_idx;
    st.n_ccalls = save_ccalls;
    st.call_depth = save_depth;
    st.ci_overflow = false;
    out
}

// ===== Lua value <-> Reply =====

/// A C cast of a double to `long long`, as Redis converts a returned number.
fn lua_to_integer(n: f64) -> i64 {
    c_double_to_i64(n)
}

fn map_crlf(b: &[u8]) -> String {
    lossy(b).replace(['\r', '\n'], " ")
}

/// Redis's `luaReplyToRedisReply`.
fn to_reply(st: &mut LuaState, v: Val, resp3: bool, depth: usize, nodes: &mut usize) -> Reply {
    *nodes += 1;
    if depth > MAX_REPLY_DEPTH || *nodes > MAX_COPY_NODES {
        return Reply::error("ERR reached lua stack limit");
    }
    match v {
        Val::Str(_) => Reply::Bulk(str_bytes(st, v).unwrap_or_default().to_vec()),
        Val::Bool(b) => {
            if resp3 {
                Reply::Bool(b)
            } else if b {
                Reply::Integer(1)
            } else {
                Reply::Nil
            }
        }
        Val::Num(n) => Reply::Integer(lua_to_integer(n)),
        Val::Table(t) => {
            let field = |st: &mut LuaState, name: &[u8]| {
                let k = new_str(st, name);
                tget(st, t, k)
            };
            if let v @ Val::Str(_) = field(st, b"err") {
                return Reply::error_owned(map_crlf(str_bytes(st, v).unwrap_or_default()));
            }
            if let v @ Val::Str(_) = field(st, b"ok") {
                return Reply::Simple(map_crlf(str_bytes(st, v).unwrap_or_default()).into());
            }
            if let Val::Num(d) = field(st, b"double") {
                return Reply::Double(d);
            }
            if let v @ Val::Str(_) = field(st, b"big_number") {
                return Reply::BigNumber(map_crlf(str_bytes(st, v).unwrap_or_default()));
            }
            if let Val::Table(vt) = field(st, b"verbatim_string") {
                let kf = new_str(st, b"format");
                let ks = new_str(st, b"string");
                if let (f @ Val::Str(_), s @ Val::Str(_)) = (tget(st, vt, kf), tget(st, vt, ks)) {
                    let format = verbatim_format(str_bytes(st, f).unwrap_or_default());
                    return Reply::Verbatim(format, str_bytes(st, s).unwrap_or_default().to_vec());
                }
            }
            if let Val::Table(m) = field(st, b"map") {
                let mut pairs = Vec::new();
                let mut k = Val::Nil;
                while let Some((nk, nv)) = next_pair(st, m, k) {
                    let key = to_reply(st, nk, resp3, depth + 1, nodes);
                    let val = to_reply(st, nv, resp3, depth + 1, nodes);
                    pairs.push((key, val));
                    k = nk;
                }
                return Reply::Map(pairs);
            }
            if let Val::Table(s) = field(st, b"set") {
                let mut items = Vec::new();
                let mut k = Val::Nil;
                while let Some((nk, _)) = next_pair(st, s, k) {
                    items.push(to_reply(st, nk, resp3, depth + 1, nodes));
                    k = nk;
                }
                return Reply::Set(items);
            }
            let mut items = Vec::new();
            let mut j = 1;
            loop {
                let item = tget(st, t, Val::Num(j as f64));
                if item.is_nil() {
                    break;
                }
                items.push(to_reply(st, item, resp3, depth + 1, nodes));
                j += 1;
            }
            Reply::Array(items)
        }
        _ => Reply::Nil,
    }
}

/// The three-letter formats a verbatim reply can carry here (Reply keeps a static string).
fn verbatim_format(f: &[u8]) -> &'static str {
    match f.get(..3) {
        Some(b"mkd") => "mkd",
        _ => "txt",
    }
}

fn next_pair(st: &LuaState, t: GcRef<Table>, k: Val) -> Option<(Val, Val)> {
    st.gc
        .tables
        .get(t)?
        .next(k, &st.gc.string_arena)
        .ok()
        .flatten()
}

/// Redis's conversion of a command's reply into Lua, as the script's client (RESP2 or RESP3)
/// would have read it.
fn reply_to_lua(st: &mut LuaState, r: &Reply, resp3: bool) -> Val {
    let table_with = |st: &mut LuaState, name: &[u8], v: Val| {
        let t = st.gc.alloc_table(Table::new());
        let k = new_str(st, name);
        tset(st, t, k, v);
        Val::Table(t)
    };
    match r {
        Reply::Simple(s) => {
            let v = new_str(st, s.as_bytes());
            table_with(st, b"ok", v)
        }
        Reply::Error(e) => {
            let mut text = b"-".to_vec();
            text.extend_from_slice(e.as_bytes());
            err_table(st, &text, true)
        }
        Reply::Integer(n) => Val::Num(*n as f64),
        Reply::Bulk(b) => new_str(st, b),
        Reply::Nil | Reply::NilArray | Reply::Blocked => {
            if resp3 {
                Val::Nil
            } else {
                Val::Bool(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) => list(st, items, resp3),
        Reply::Multi(items) => match items.first() {
            Some(first) => reply_to_lua(st, first, resp3),
            None => Val::Nil,
        },
        Reply::Set(items) => {
            if !resp3 {
                return list(st, items, resp3);
            }
            let inner = st.gc.alloc_table(Table::new());
            for it in items {
                let k = reply_to_lua(st, it, resp3);
                if !k.is_nil() {
                    tset(st, inner, k, Val::Bool(true));
                }
            }
            table_with(st, b"set", Val::Table(inner))
        }
        Reply::Map(pairs) => {
            if !resp3 {
                let flat: Vec<Reply> = pairs
                    .iter()
                    .flat_map(|(k, v)| [k.clone(), v.clone()])
                    .collect();
                return list(st, &flat, resp3);
            }
            let inner = st.gc.alloc_table(Table::new());
            for (k, v) in pairs {
                let k = reply_to_lua(st, k, resp3);
                let v = reply_to_lua(st, v, resp3);
                if !k.is_nil() {
                    tset(st, inner, k, v);
                }
            }
            table_with(st, b"map", Val::Table(inner))
        }
        Reply::Double(d) => {
            if resp3 {
                table_with(st, b"double", Val::Num(*d))
            } else {
                new_str(st, fmt_g(*d, 17).as_bytes())
            }
        }
        // A double sent in its exact decimal form (GEOPOS): a string in RESP2, as Redis sends
        // it, and a double under RESP3.
        Reply::DoubleText(text) => {
            if resp3 {
                let v = crate::numfmt::strtod(text.as_bytes()).unwrap_or(0.0);
                table_with(st, b"double", Val::Num(v))
            } else {
                new_str(st, text.as_bytes())
            }
        }
        Reply::Bool(b) => {
            if resp3 {
                Val::Bool(*b)
            } else {
                Val::Num(if *b { 1.0 } else { 0.0 })
            }
        }
        Reply::BigNumber(s) => {
            let v = new_str(st, s.as_bytes());
            if resp3 {
                table_with(st, b"big_number", v)
            } else {
                v
            }
        }
        Reply::Verbatim(fmt, text) => {
            let s = new_str(st, text);
            if !resp3 {
                return s;
            }
            let inner = st.gc.alloc_table(Table::new());
            let ks = new_str(st, b"string");
            tset(st, inner, ks, s);
            let kf = new_str(st, b"format");
            let f = new_str(st, fmt.as_bytes());
            tset(st, inner, kf, f);
            table_with(st, b"verbatim_string", Val::Table(inner))
        }
    }
}

fn list(st: &mut LuaState, items: &[Reply], resp3: bool) -> Val {
    let t = st.gc.alloc_table(Table::with_sizes(items.len(), 0));
    for (i, it) in items.iter().enumerate() {
        let v = reply_to_lua(st, it, resp3);
        if !v.is_nil() {
            tset(st, t, Val::Num((i + 1) as f64), v);
        }
    }
    Val::Table(t)
}

/// Copies a Lua value out for the plain-Rust libraries; tables nested deeper than `max_depth`
/// become `Deep`.
fn to_lvalue(
    st: &LuaState,
    v: Val,
    max_depth: usize,
    depth: usize,
    nodes: &mut usize,
) -> Result<LValue, LuaError> {
    *nodes += 1;
    if *nodes > MAX_COPY_NODES {
        return Err(LuaError::Memory);
    }
    Ok(match v {
        Val::Nil => LValue::Nil,
        Val::Bool(b) => LValue::Bool(b),
        Val::Num(n) => LValue::Num(n),
        Val::Str(_) => LValue::Str(str_bytes(st, v).unwrap_or_default().to_vec()),
        Val::LightUserdata(0) => LValue::Null,
        Val::Table(t) => {
            if depth + 1 > max_depth {
                return Ok(LValue::Deep);
            }
            let mut pairs = Vec::new();
            let mut k = Val::Nil;
            while let Some((nk, nv)) = next_pair(st, t, k) {
                pairs.push((
                    to_lvalue(st, nk, max_depth, depth + 1, nodes)?,
                    to_lvalue(st, nv, max_depth, depth + 1, nodes)?,
                ));
                k = nk;
            }
            LValue::Table(pairs)
        }
        other => LValue::Other(other.type_name()),
    })
}

/// Builds a Lua value from a library's result, with Lua's errors for nil and NaN keys.
fn from_lvalue(st: &mut LuaState, v: &LValue) -> LuaResult<Val> {
    Ok(match v {
        LValue::Nil | LValue::Deep | LValue::Other(_) => Val::Nil,
        LValue::Bool(b) => Val::Bool(*b),
        LValue::Num(n) => Val::Num(*n),
        LValue::Str(s) => new_str(st, s),
        LValue::Null => Val::LightUserdata(0),
        LValue::Table(pairs) => {
            let t = st.gc.alloc_table(Table::new());
            for (k, val) in pairs {
                let key = from_lvalue(st, k)?;
                let value = from_lvalue(st, val)?;
                match key {
                    Val::Nil => {
                        let m = new_str(st, b"table index is nil");
                        return Err(throw(st, m));
                    }
                    Val::Num(n) if n.is_nan() => {
                        let m = new_str(st, b"table index is NaN");
                        return Err(throw(st, m));
                    }
                    _ => tset(st, t, key, value),
                }
            }
            Val::Table(t)
        }
    })
}

fn larg(st: &LuaState, i: usize) -> LArg {
    if st.base + i >= st.top {
        return LArg::none();
    }
    let v = arg(st, i);
    LArg {
        num: to_number(st, i),
        str: to_lstring(st, v),
        type_name: v.type_name(),
    }
}

// ===== Sandbox natives =====

fn readonly_newindex(_st: &mut LuaState) -> LuaResult<u32> {
    Err(lua_error(READONLY))
}

/// A raw write that Redis's read-only tables refuse, with no position (the C API raises it).
fn readonly_raw(st: &mut LuaState) -> LuaError {
    let m = new_str(st, READONLY.as_bytes());
    throw(st, m)
}

fn nonexistent_global(st: &mut LuaState) -> LuaResult<u32> {
    let key = arg(st, 1);
    match key {
        Val::Str(_) | Val::Num(_) => {
            let name = lossy(&to_lstring(st, key).unwrap_or_default());
            Err(lua_error(format!(
                "Script attempted to access nonexistent global variable '{name}'"
            )))
        }
        _ => Err(lua_error(
            "Second argument to luaProtectedTableError must be a string or number",
        )),
    }
}

/// The real table behind a proxy (upvalue 0 maps proxies to real tables).
fn unproxy(st: &LuaState, v: Val) -> Val {
    if let (Val::Table(_), Val::Table(proxies)) = (v, upvalue(st, 0)) {
        match tget(st, proxies, v) {
            Val::Nil => v,
            real => real,
        }
    } else {
        v
    }
}

fn is_proxy(st: &LuaState, v: Val) -> bool {
    matches!((v, upvalue(st, 0)), (Val::Table(_), Val::Table(p)) if !tget(st, p, v).is_nil())
}

/// Replaces argument `i` on the stack.
fn set_arg(st: &mut LuaState, i: usize, v: Val) {
    let idx = st.base + i;
    if idx < st.top {
        st.stack_set(idx, v);
    }
}

fn proxy_next(st: &mut LuaState) -> LuaResult<u32> {
    let t = arg(st, 0);
    if !matches!(t, Val::Table(_)) {
        return Err(st.type_error(1, "table"));
    }
    let real = unproxy(st, t);
    set_arg(st, 0, real);
    // Raised by the table code, not by a library function: Lua adds no position.
    base::lua_next(st).map_err(|e| match e {
        LuaError::Runtime(r) if r.message.contains("invalid key to 'next'") => {
            let m = new_str(st, b"invalid key to 'next'");
            throw(st, m)
        }
        other => other,
    })
}

fn proxy_pairs(st: &mut LuaState) -> LuaResult<u32> {
    let t = arg(st, 0);
    if !matches!(t, Val::Table(_)) {
        return Err(st.type_error(1, "table"));
    }
    let next = upvalue(st, 0);
    ret(st, &[next, t, Val::Nil])
}

fn proxy_rawget(st: &mut LuaState) -> LuaResult<u32> {
    let t = arg(st, 0);
    if !matches!(t, Val::Table(_)) {
        return Err(st.type_error(1, "table"));
    }
    let real = unproxy(st, t);
    set_arg(st, 0, real);
    base::lua_rawget(st)
}

fn proxy_rawset(st: &mut LuaState) -> LuaResult<u32> {
    if !matches!(arg(st, 0), Val::Table(_)) {
        return Err(st.type_error(1, "table"));
    }
    if is_proxy(st, arg(st, 0)) {
        return Err(readonly_raw(st));
    }
    // The table code raises these, without a position.
    let bad_key: Option<&[u8]> = match arg(st, 1) {
        Val::Nil => Some(b"table index is nil"),
        Val::Num(n) if n.is_nan() => Some(b"table index is NaN"),
        _ => None,
    };
    if let Some(m) = bad_key {
        let m = new_str(st, m);
        return Err(throw(st, m));
    }
    base::lua_rawset(st)
}

fn checked_ipairs(st: &mut LuaState) -> LuaResult<u32> {
    if !matches!(arg(st, 0), Val::Table(_)) {
        return Err(st.type_error(1, "table"));
    }
    base::lua_ipairs(st)
}

/// `select(n, ...)` reads `n` as an int (a numeric string too), or `'#'`.
fn checked_select(st: &mut LuaState) -> LuaResult<u32> {
    let first = arg(st, 0);
    if str_bytes(st, first) == Some(b"#".as_slice()) {
        return base::lua_select(st);
    }
    match to_number(st, 0) {
        Some(n) if nargs(st) > 0 => {
            set_arg(st, 0, Val::Num(n));
            base::lua_select(st)
        }
        _ => Err(st.type_error(1, "number")),
    }
}

fn proxy_setmetatable(st: &mut LuaState) -> LuaResult<u32> {
    let t = arg(st, 0);
    if !matches!(t, Val::Table(_)) {
        return Err(st.type_error(1, "table"));
    }
    if !matches!(arg(st, 1), Val::Nil | Val::Table(_)) {
        return Err(st.arg_error(2, "nil or table expected"));
    }
    if is_proxy(st, t) {
        return Err(readonly_raw(st));
    }
    base::lua_setmetatable(st)
}

fn proxy_getmetatable(st: &mut LuaState) -> LuaResult<u32> {
    let t = arg(st, 0);
    if is_proxy(st, t) {
        let shown = match upvalue(st, 1) {
            Val::Table(pm) => tget(st, pm, t),
            _ => Val::Nil,
        };
        return ret(st, &[shown]);
    }
    base::lua_getmetatable(st)
}

/// `table.insert`, `table.remove`, `table.sort` (upvalue 1) refusing to write into a proxy.
fn proxy_guarded(st: &mut LuaState) -> LuaResult<u32> {
    if is_proxy(st, arg(st, 0)) {
        return Err(readonly_raw(st));
    }
    let f = upvalue(st, 1);
    let Val::Function(r) = f else {
        return Ok(0);
    };
    let func = match st.gc.closures.get(r) {
        Some(Closure::Rust(rc)) => rc.func,
        _ => return Ok(0),
    };
    func(st)
}

fn constant_values(st: &mut LuaState) -> LuaResult<u32> {
    let func = st.stack_get(st.call_stack[st.ci].func);
    let vals = match func {
        Val::Function(r) => match st.gc.closures.get(r) {
            Some(Closure::Rust(rc)) => rc.upvalues.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    ret(st, &vals)
}

// ===== Stop-aware protected calls and coroutines =====

fn check_stopped(st: &mut LuaState) -> LuaResult<()> {
    if let Some(Some(text)) = with_host(|h| h.stopped()) {
        return Err(raise(st, &text));
    }
    Ok(())
}

/// Redis's `pcall`: an error table with an `err` string is caught as that string.
fn redis_pcall(st: &mut LuaState) -> LuaResult<u32> {
    let n = base::lua_pcall(st)?;
    let base_idx = st.top - n as usize;
    if st.stack_get(base_idx) == Val::Bool(false) {
        check_stopped(st)?;
        if let Val::Table(t) = st.stack_get(base_idx + 1) {
            let k = new_str(st, b"err");
            if let v @ (Val::Str(_) | Val::Num(_)) = tget(st, t, k) {
                st.stack_set(base_idx + 1, v);
            }
        }
    }
    Ok(n)
}

fn guarded_xpcall(st: &mut LuaState) -> LuaResult<u32> {
    let n = base::lua_xpcall(st)?;
    let base_idx = st.top - n as usize;
    if st.stack_get(base_idx) == Val::Bool(false) {
        check_stopped(st)?;
    }
    Ok(n)
}

/// Gives a coroutine about to run the script's hook and the current native-call depth; false
/// when resuming would nest past the budget (Lua's "C stack overflow").
fn prepare_thread(st: &mut LuaState, co: GcRef<LuaThread>) -> bool {
    let hook = st.hook.clone();
    let depth = st.call_depth.saturating_add(1);
    if depth >= MAXCCALLS {
        return false;
    }
    if let Some(t) = st.gc.threads.get_mut(co) {
        if matches!(t.status, ThreadStatus::Initial | ThreadStatus::Suspended) {
            t.hook = hook;
            t.call_depth = depth;
        }
    }
    true
}

fn guarded_resume(st: &mut LuaState) -> LuaResult<u32> {
    if let Val::Thread(co) = arg(st, 0) {
        if !prepare_thread(st, co) {
            let m = new_str(st, b"C stack overflow");
            return ret(st, &[Val::Bool(false), m]);
        }
    }
    let n = coroutine::co_resume(st)?;
    let base_idx = st.top - n as usize;
    if st.stack_get(base_idx) == Val::Bool(false) {
        check_stopped(st)?;
    }
    Ok(n)
}

fn guarded_wrap(st: &mut LuaState) -> LuaResult<u32> {
    let f = arg(st, 0);
    let is_lua =
        matches!(f, Val::Function(r) if matches!(st.gc.closures.get(r), Some(Closure::Lua(_))));
    if !is_lua {
        return Err(st.arg_error(1, "Lua function expected"));
    }
    let thread = LuaThread::new(f, st.global);
    let co = st.gc.alloc_thread(thread);
    let w = native(st, wrapped_resume, "wrap_aux", vec![Val::Thread(co)]);
    ret(st, &[w])
}

/// The function `coroutine.wrap` returns: resumes, and raises the coroutine's error.
fn wrapped_resume(st: &mut LuaState) -> LuaResult<u32> {
    let Val::Thread(co) = upvalue(st, 0) else {
        return Ok(0);
    };
    if !prepare_thread(st, co) {
        return Err(lua_error("C stack overflow"));
    }
    // co_resume reads (thread, args...) from the frame: put the thread first.
    let n = nargs(st);
    st.ensure_stack(st.top + 2);
    for i in (0..n).rev() {
        let v = st.stack_get(st.base + i);
        st.stack_set(st.base + i + 1, v);
    }
    st.stack_set(st.base, Val::Thread(co));
    st.top += 1;
    let count = coroutine::co_resume(st)? as usize;
    let first = st.top - count;
    if st.stack_get(first) == Val::Bool(true) {
        for i in 1..count {
            let v = st.stack_get(first + i);
            st.stack_set(first + i - 1, v);
        }
        st.top -= 1;
        return Ok(count as u32 - 1);
    }
    check_stopped(st)?;
    let err = st.stack_get(first + 1);
    let err = if let Val::Str(_) = err {
        let prefix = where_prefix(st, 1);
        let mut text = prefix.into_bytes();
        text.extend_from_slice(str_bytes(st, err).unwrap_or_default());
        new_str(st, &text)
    } else {
        err
    };
    Err(throw(st, err))
}

fn count_hook(st: &mut LuaState) -> LuaResult<u32> {
    match with_host(|h| h.tick()) {
        Some(Err(text)) => {
            // Keep interrupting on every instruction so that nothing can outrun the stop.
            st.hook.base_hook_count = 1;
            st.hook.hook_count = 1;
            Err(raise(st, &text))
        }
        _ => Ok(0),
    }
}

/// Lua 5.1's `assert`: the message must be a string (or number), and is raised with the
/// caller's position.
fn lua_assert(st: &mut LuaState) -> LuaResult<u32> {
    if nargs(st) == 0 {
        return Err(st.arg_error(1, "value expected"));
    }
    if arg(st, 0).is_truthy() {
        return Ok(nargs(st) as u32);
    }
    let msg = match arg(st, 1) {
        Val::Nil => b"assertion failed!".to_vec(),
        v => to_lstring(st, v).ok_or_else(|| st.type_error(2, "string"))?,
    };
    Err(lua_error(lossy(&msg)))
}

/// `coroutine.running()` is nil on the main thread in Lua 5.1.
fn coroutine_running(st: &mut LuaState) -> LuaResult<u32> {
    match coroutine::co_running(st)? {
        0 => ret(st, &[Val::Nil]),
        n => Ok(n),
    }
}

/// `string.format`, formatted here as C's printf does (see `cformat`).
fn checked_format(st: &mut LuaState) -> LuaResult<u32> {
    let fmt = check_lstring(st, 0)?;
    let args: Vec<LArg> = (1..nargs(st)).map(|i| larg(st, i)).collect();
    match cformat::format(&fmt, &args) {
        Ok(out) => {
            let v = new_str(st, &out);
            ret(st, &[v])
        }
        Err(e) => Err(lib_error(st, e)),
    }
}

// ===== Size-guarded library functions =====

fn limited_rep(st: &mut LuaState) -> LuaResult<u32> {
    let s = st.check_string(1)?;
    let n = st.check_integer(2)?;
    if n > 0 && (s.len() as u128) * (n as u128) > memory_left(st) as u128 {
        return Err(LuaError::Memory);
    }
    lstring::str_rep(st)
}

/// `string.byte`, stopping where Lua's stack would ("string slice too long").
fn limited_byte(st: &mut LuaState) -> LuaResult<u32> {
    let s = st.check_string(1)?;
    let len = s.len() as i64;
    let rel = |p: i64| if p < 0 { len + p + 1 } else { p };
    let posi = rel(st.opt_integer(2, 1)?).max(1);
    let pose = rel(st.opt_integer(3, posi)?).min(len);
    if posi <= pose && nargs(st) as i64 + (pose - posi + 1) > MAX_STACK_SLOTS as i64 {
        return Err(lua_error("stack overflow (string slice too long)"));
    }
    lstring::str_byte(st)
}

/// `unpack`, with Lua 5.1's int arguments and its "too many results to unpack".
fn limited_unpack(st: &mut LuaState) -> LuaResult<u32> {
    let Val::Table(t) = arg(st, 0) else {
        return Err(st.type_error(1, "table"));
    };
    let to_int = |v: Val| c_double_to_i64(v.as_number().unwrap_or(0.0)) as i32 as i64;
    let i = match arg(st, 1) {
        Val::Nil => 1,
        v => to_int(v),
    };
    let e = match arg(st, 2) {
        Val::Nil => st
            .gc
            .tables
            .get(t)
            .map_or(0, |tb| tb.len(&st.gc.string_arena) as i64),
        v => to_int(v),
    };
    if !matches!(arg(st, 1), Val::Nil | Val::Num(_))
        || !matches!(arg(st, 2), Val::Nil | Val::Num(_))
    {
        return base::lua_unpack(st);
    }
    if i > e {
        return Ok(0);
    }
    let n = e - i + 1;
    if n <= 0 || n > i32::MAX as i64 || nargs(st) as i64 + n > MAX_STACK_SLOTS as i64 {
        return Err(lua_error("too many results to unpack"));
    }
    st.ensure_stack(st.top + n as usize + 1);
    for k in i..=e {
        let v = tget(st, t, Val::Num(k as f64));
        st.push(v);
    }
    Ok(n as u32)
}

fn limited_concat(st: &mut LuaState) -> LuaResult<u32> {
    if let Val::Table(t) = arg(st, 0) {
        // Lua checks every item as it goes; Redis's build names the offending type.
        if let (Val::Nil | Val::Num(_), Val::Nil | Val::Num(_)) = (arg(st, 2), arg(st, 3)) {
            let len = st
                .gc
                .tables
                .get(t)
                .map_or(0, |tb| tb.len(&st.gc.string_arena) as i64);
            let i = arg(st, 2)
                .as_number()
                .map_or(1, |n| c_double_to_i64(n) as i32 as i64);
            let j = arg(st, 3)
                .as_number()
                .map_or(len, |n| c_double_to_i64(n) as i32 as i64);
            let mut k = i;
            while k <= j {
                let v = tget(st, t, Val::Num(k as f64));
                if !matches!(v, Val::Str(_) | Val::Num(_)) {
                    return Err(lua_error(format!(
                        "invalid value ({}) at index {k} in table for 'concat'",
                        v.type_name()
                    )));
                }
                k += 1;
            }
        }
        let sep = to_lstring(st, arg(st, 1)).map_or(0, |s| s.len());
        let num = |v: Val, d: i64| match v {
            Val::Num(n) => Some(n as i64),
            Val::Nil => Some(d),
            _ => None,
        };
        let len = st
            .gc
            .tables
            .get(t)
            .map_or(0, |tb| tb.len(&st.gc.string_arena) as i64);
        if let (Some(i), Some(j)) = (num(arg(st, 2), 1), num(arg(st, 3), len)) {
            let mut total: u128 = 0;
            let mut k = i;
            while k <= j && total <= memory_left(st) as u128 {
                match tget(st, t, Val::Num(k as f64)) {
                    v @ Val::Str(_) => total += str_bytes(st, v).map_or(0, |b| b.len()) as u128,
                    Val::Num(_) => total += 24,
                    _ => break,
                }
                if k > i {
                    total += sep as u128;
                }
                k += 1;
            }
            if total > memory_left(st) as u128 {
                return Err(LuaError::Memory);
            }
        }
    }
    ltable::tab_concat(st)
}

/// Lua 5.1's errors for a pattern with an unfinished set or a trailing `%`, which rilua's
/// matcher treats as no match. Lua raises them when matching reaches that item; they are checked
/// here before matching, so an unreachable malformed item is an error too.
fn pattern_error(p: &[u8]) -> Option<&'static str> {
    let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
    let p = &p[..end];
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'%' => {
                if i + 1 >= p.len() {
                    return Some("malformed pattern (ends with '%')");
                }
                i += 2;
            }
            b'[' => {
                let mut j = i + 1;
                if p.get(j) == Some(&b'^') {
                    j += 1;
                }
                loop {
                    let Some(&c) = p.get(j) else {
                        return Some("malformed pattern (missing ']')");
                    };
                    j += 1;
                    if c == b'%' && j < p.len() {
                        j += 1;
                    }
                    if p.get(j) == Some(&b']') {
                        break;
                    }
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// `find`, `match` and `gmatch` (upvalue 0) with `pattern_error`'s checks. `find` with `plain`
/// or without special characters does a plain search, as in Lua.
fn checked_pattern(st: &mut LuaState) -> LuaResult<u32> {
    let Some(p) = to_lstring(st, arg(st, 1)) else {
        return call_upvalue(st);
    };
    let name = match upvalue(st, 0) {
        Val::Function(r) => match st.gc.closures.get(r) {
            Some(Closure::Rust(rc)) => rc.name.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let plain =
        name == "find" && (arg(st, 3).is_truthy() || !p.iter().any(|c| b"^$*+?.([%-".contains(c)));
    if plain {
        let s = st.check_string(1)?;
        let len = s.len() as i64;
        let init = st.opt_integer(3, 1)?;
        let init = if init < 0 { len + init + 1 } else { init } - 1;
        let init = init.clamp(0, len) as usize;
        let found = if p.is_empty() {
            Some(init)
        } else {
            s[init..]
                .windows(p.len())
                .position(|w| w == p.as_slice())
                .map(|at| init + at)
        };
        return match found {
            Some(at) => ret(
                st,
                &[Val::Num((at + 1) as f64), Val::Num((at + p.len()) as f64)],
            ),
            None => ret(st, &[Val::Nil]),
        };
    }
    if let Some(msg) = pattern_error(&p) {
        return Err(lua_error(msg));
    }
    call_upvalue(st)
}

/// Runs the native function in upvalue 0 on this call's arguments.
fn call_upvalue(st: &mut LuaState) -> LuaResult<u32> {
    let func = match upvalue(st, 0) {
        Val::Function(r) => match st.gc.closures.get(r) {
            Some(Closure::Rust(rc)) => rc.func,
            _ => return Ok(0),
        },
        _ => return Ok(0),
    };
    func(st)
}

/// `string.gsub`, refusing results that cannot fit: a string replacement is bounded up front, a
/// function or table replacement is counted as it produces values.
fn limited_gsub(st: &mut LuaState) -> LuaResult<u32> {
    let s = st.check_string(1)?;
    let max_n = match arg(st, 3) {
        Val::Num(n) => (n.max(0.0) as u128).min(s.len() as u128 + 1),
        _ => s.len() as u128 + 1,
    };
    if let Some(p) = to_lstring(st, arg(st, 1)) {
        if let Some(msg) = pattern_error(&p) {
            return Err(lua_error(msg));
        }
    }
    match arg(st, 2) {
        v @ (Val::Str(_) | Val::Num(_)) => {
            let repl = to_lstring(st, v).unwrap_or_default();
            // Lua 5.1 reads `%c` (c not a digit) as a plain `c`; rilua keeps the `%`.
            let mut fixed = Vec::with_capacity(repl.len());
            let mut k = 0;
            while k < repl.len() {
                if repl[k] == b'%' && k + 1 < repl.len() && !repl[k + 1].is_ascii_digit() {
                    if repl[k + 1] == b'%' {
                        fixed.extend_from_slice(b"%%");
                    } else {
                        fixed.push(repl[k + 1]);
                    }
                    k += 2;
                } else {
                    fixed.push(repl[k]);
                    k += 1;
                }
            }
            if fixed != repl {
                let s = new_str(st, &fixed);
                set_arg(st, 2, s);
            }
            let captures = repl.iter().filter(|&&c| c == b'%').count() as u128;
            let per = repl.len() as u128 + captures * s.len() as u128;
            if s.len() as u128 + max_n * per > memory_left(st) as u128 {
                return Err(LuaError::Memory);
            }
        }
        v @ (Val::Table(_) | Val::Function(_)) => {
            let counter = native(st, counted_replacement, "gsub", vec![v, Val::Num(0.0)]);
            set_arg(st, 2, counter);
        }
        _ => {}
    }
    lstring::str_gsub(st).map_err(|e| match e {
        LuaError::Runtime(mut r) if r.message.starts_with("invalid capture index") => {
            r.message = "invalid capture index".into();
            LuaError::Runtime(r)
        }
        other => other,
    })
}

/// Stands in for a gsub replacement function or table (upvalue 0), adding up the length of what
/// it returns (upvalue 1).
fn counted_replacement(st: &mut LuaState) -> LuaResult<u32> {
    let repl = upvalue(st, 0);
    let n = nargs(st);
    let value = match repl {
        Val::Table(_) => {
            let key = arg(st, 0);
            st.gettable(repl, key)?
        }
        _ => {
            let func_idx = st.top;
            st.ensure_stack(func_idx + n + 2);
            st.stack_set(func_idx, repl);
            for i in 0..n {
                let a = st.stack_get(st.base + i);
                st.stack_set(func_idx + 1 + i, a);
            }
            st.top = func_idx + 1 + n;
            st.call_function(func_idx, 1)?;
            let v = st.stack_get(func_idx);
            st.top = func_idx;
            v
        }
    };
    let added = match value {
        Val::Str(_) => str_bytes(st, value).map_or(0, |b| b.len()),
        Val::Num(_) => 24,
        _ => 0,
    };
    let func = st.stack_get(st.call_stack[st.ci].func);
    if let Val::Function(r) = func {
        if let Some(Closure::Rust(rc)) = st.gc.closures.get_mut(r) {
            let total = rc.upvalues[1].as_number().unwrap_or(0.0) + added as f64;
            rc.upvalues[1] = Val::Num(total);
            if total > memory_left(st) as f64 {
                return Err(LuaError::Memory);
            }
        }
    }
    ret(st, &[value])
}

/// `loadstring`: source only (Redis's Lua cannot load bytecode), after the nesting check.
fn guarded_loadstring(st: &mut LuaState) -> LuaResult<u32> {
    let Some(src) = str_bytes(st, arg(st, 0)).map(|b| b.to_vec()) else {
        return base::lua_loadstring(st);
    };
    let name = match arg(st, 1) {
        Val::Nil => src.clone(),
        v => to_lstring(st, v).unwrap_or_default(),
    };
    if let Some(line) = too_deep(&src, MAX_SYNTAX_NESTING) {
        let msg = format!(
            "{}:{line}: chunk has too many syntax levels",
            chunk_id(&lossy(&name))
        );
        let m = new_str(st, msg.as_bytes());
        return ret(st, &[Val::Nil, m]);
    }
    let guarded = guard_source(&src);
    if guarded.len() != src.len() {
        let s = new_str(st, &guarded);
        set_arg(st, 0, s);
        let n = new_str(st, &name);
        if nargs(st) < 2 {
            st.ensure_stack(st.top + 1);
            st.push(n);
        } else {
            set_arg(st, 1, n);
        }
    }
    base::lua_loadstring(st)
}

/// Source text as Lua 5.1's `luaL_loadbuffer` reads it: a leading `#` is not skipped and binary
/// chunks are not loaded (Redis removed undump), so neither may reach rilua's loader, which
/// would do both.
fn guard_source(body: &[u8]) -> Vec<u8> {
    match body.first() {
        Some(b'#') | Some(0x1b) => {
            let mut v = Vec::with_capacity(body.len() + 1);
            v.push(b' ');
            v.extend_from_slice(body);
            v
        }
        _ => body.to_vec(),
    }
}

// ===== redis.* =====

fn no_host(st: &mut LuaState, what: &str) -> LuaError {
    raise(
        st,
        &format!("{what} can only be called inside a script invocation"),
    )
}

fn redis_call(st: &mut LuaState) -> LuaResult<u32> {
    redis_generic(st, true)
}

fn redis_pcall_command(st: &mut LuaState) -> LuaResult<u32> {
    redis_generic(st, false)
}

/// Arguments of a command call: strings, and numbers as `%.17g`.
fn command_args(st: &mut LuaState) -> Result<Vec<Vec<u8>>, &'static str> {
    let n = nargs(st);
    if n == 0 {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(n);
    for i in 0..n {
        match arg(st, i) {
            // glibc prints a NaN's sign, and Lua's 0/0 is negative on x86.
            Val::Num(x) if x.is_nan() => argv.push(if x.is_sign_negative() {
                b"-nan".to_vec()
            } else {
                b"nan".to_vec()
            }),
            Val::Num(x) => argv.push(fmt_g(x, 17).into_bytes()),
            v @ Val::Str(_) => argv.push(str_bytes(st, v).unwrap_or_default().to_vec()),
            _ => return Err("Lua redis lib command arguments must be strings or integers"),
        }
    }
    Ok(argv)
}

fn redis_generic(st: &mut LuaState, raise_error: bool) -> LuaResult<u32> {
    if with_host(|_| ()).is_none() {
        return Err(no_host(st, "redis.call/pcall"));
    }
    let argv = match command_args(st) {
        Ok(a) => a,
        Err(msg) => {
            let t = err_table(st, msg.as_bytes(), false);
            return if raise_error {
                Err(throw(st, t))
            } else {
                ret(st, &[t])
            };
        }
    };
    let line = caller_line(st);
    let (reply, resp3) =
        with_host(|h| (h.call(argv, line), h.resp3())).unwrap_or((Reply::Nil, false));
    let v = reply_to_lua(st, &reply, resp3);
    if raise_error && reply.is_error() {
        return Err(throw(st, v));
    }
    ret(st, &[v])
}

fn redis_acl_check_cmd(st: &mut LuaState) -> LuaResult<u32> {
    if with_host(|_| ()).is_none() {
        return Err(no_host(st, "redis.acl_check_cmd"));
    }
    let argv = match command_args(st) {
        Ok(a) => a,
        Err(msg) => return Err(raise(st, msg)),
    };
    if with_host(|h| h.command_exists(&argv)) != Some(true) {
        return Err(raise(st, "Invalid command passed to redis.acl_check_cmd()"));
    }
    ret(st, &[Val::Bool(true)])
}

fn redis_log(st: &mut LuaState) -> LuaResult<u32> {
    let n = nargs(st);
    if n < 2 {
        return Err(raise(st, "redis.log() requires two arguments or more."));
    }
    let Some(level) = to_number(st, 0) else {
        return Err(raise(st, "First argument must be a number (log level)."));
    };
    let level = c_double_to_i32(level) as i64;
    if !(0..=3).contains(&level) {
        return Err(raise(st, "Invalid debug level."));
    }
    let mut msg = Vec::new();
    for i in 1..n {
        if let Some(s) = to_lstring(st, arg(st, i)) {
            if i != 1 {
                msg.push(b' ');
            }
            msg.extend_from_slice(&s);
        }
    }
    with_host(|h| h.log(level, msg));
    Ok(0)
}

fn redis_setresp(st: &mut LuaState) -> LuaResult<u32> {
    if with_host(|_| ()).is_none() {
        return Err(no_host(st, "redis.setresp"));
    }
    if nargs(st) != 1 {
        return Err(raise(st, "redis.setresp() requires one argument."));
    }
    let resp = c_double_to_i32(to_number(st, 0).unwrap_or(0.0));
    if resp != 2 && resp != 3 {
        return Err(raise(st, "RESP version must be 2 or 3."));
    }
    with_host(|h| h.set_resp3(resp == 3));
    Ok(0)
}

fn redis_set_repl(st: &mut LuaState) -> LuaResult<u32> {
    if with_host(|_| ()).is_none() {
        return Err(no_host(st, "redis.set_repl"));
    }
    if nargs(st) != 1 {
        return Err(raise(st, "redis.set_repl() requires two arguments."));
    }
    let flags = c_double_to_i32(to_number(st, 0).unwrap_or(0.0));
    if flags & !3 != 0 {
        return Err(raise(
            st,
            "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ));
    }
    with_host(|h| h.set_repl(flags as i64));
    Ok(0)
}

fn redis_sha1hex(st: &mut LuaState) -> LuaResult<u32> {
    if nargs(st) != 1 {
        return Err(raise(st, "wrong number of arguments"));
    }
    let data = to_lstring(st, arg(st, 0)).unwrap_or_default();
    let hex = sha1::sha1_hex(&data);
    let v = new_str(st, hex.as_bytes());
    ret(st, &[v])
}

fn redis_error_reply(st: &mut LuaState) -> LuaResult<u32> {
    let v = arg(st, 0);
    if nargs(st) != 1 || !matches!(v, Val::Str(_)) {
        let t = err_table(st, b"wrong number or type of arguments", false);
        return ret(st, &[t]);
    }
    let s = str_bytes(st, v).unwrap_or_default().to_vec();
    let text = if s.first() == Some(&b'-') {
        s
    } else {
        [b"-".as_slice(), &s].concat()
    };
    let t = err_table(st, &text, false);
    ret(st, &[t])
}

fn redis_status_reply(st: &mut LuaState) -> LuaResult<u32> {
    let v = arg(st, 0);
    if nargs(st) != 1 || !matches!(v, Val::Str(_)) {
        let t = err_table(st, b"wrong number or type of arguments", false);
        return ret(st, &[t]);
    }
    let t = st.gc.alloc_table(Table::new());
    let k = new_str(st, b"ok");
    tset(st, t, k, v);
    ret(st, &[Val::Table(t)])
}

fn math_random(st: &mut LuaState) -> LuaResult<u32> {
    let Some(x) = with_host(|h| h.lrand48()) else {
        return Err(lua_error(
            "math.random can only be called inside a script invocation",
        ));
    };
    let max = i32::MAX as f64;
    let r = (x as i64 % i32::MAX as i64) as f64 / max;
    let v = match nargs(st) {
        0 => r,
        1 => {
            let u = c_double_to_i32(st.check_number(1)?) as f64;
            if u < 1.0 {
                return Err(st.arg_error(1, "interval is empty"));
            }
            (r * u).floor() + 1.0
        }
        2 => {
            let l = c_double_to_i32(st.check_number(1)?) as f64;
            let u = c_double_to_i32(st.check_number(2)?) as f64;
            if l > u {
                return Err(st.arg_error(2, "interval is empty"));
            }
            (r * (u - l + 1.0)).floor() + l
        }
        _ => return Err(lua_error("wrong number of arguments")),
    };
    ret(st, &[Val::Num(v)])
}

fn math_randomseed(st: &mut LuaState) -> LuaResult<u32> {
    if with_host(|_| ()).is_none() {
        return Err(lua_error(
            "math.randomseed can only be called inside a script invocation",
        ));
    }
    let seed = c_double_to_i32(st.check_number(1)?);
    with_host(|h| h.srand48(seed));
    Ok(0)
}

/// `redis.register_function(name, callback)` or `redis.register_function{...}`, recorded in
/// the load context's `current` table as `{name, callback, description, flag bits}`.
fn register_function(st: &mut LuaState) -> LuaResult<u32> {
    let Val::Table(ctx) = upvalue(st, 0) else {
        return Ok(0);
    };
    let ck = new_str(st, b"current");
    let Val::Table(current) = tget(st, ctx, ck) else {
        return Err(raise(
            st,
            "redis.register_function can only be called on FUNCTION LOAD command",
        ));
    };
    let (name, callback, description, flags) = match read_registration(st) {
        Ok(r) => r,
        Err(msg) => return Err(raise(st, &msg)),
    };
    let valid = !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if !valid {
        return Err(raise(
            st,
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    let mut i = 1;
    while let Val::Table(rec) = tget(st, current, Val::Num(i as f64)) {
        if str_bytes(st, tget(st, rec, Val::Num(1.0))) == Some(name.as_slice()) {
            return Err(raise(st, "Function already exists in the library"));
        }
        i += 1;
    }
    let rec = st.gc.alloc_table(Table::new());
    let n = new_str(st, &name);
    tset(st, rec, Val::Num(1.0), n);
    tset(st, rec, Val::Num(2.0), callback);
    if let Some(d) = description {
        let d = new_str(st, &d);
        tset(st, rec, Val::Num(3.0), d);
    }
    tset(st, rec, Val::Num(4.0), Val::Num(flags as f64));
    tset(st, current, Val::Num(i as f64), Val::Table(rec));
    Ok(0)
}

type Registration = (Vec<u8>, Val, Option<Vec<u8>>, u32);

fn read_registration(st: &mut LuaState) -> Result<Registration, String> {
    let is_function = |v: Val| matches!(v, Val::Function(_));
    match nargs(st) {
        2 => {
            let name = to_lstring(st, arg(st, 0))
                .ok_or("first argument to redis.register_function must be a string")?;
            let f = arg(st, 1);
            if !is_function(f) {
                return Err("second argument to redis.register_function must be a function".into());
            }
            Ok((name, f, None, 0))
        }
        1 => {
            let Val::Table(t) = arg(st, 0) else {
                return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
            };
            let (mut name, mut callback, mut desc, mut flags) = (None, None, None, 0u32);
            let mut k = Val::Nil;
            while let Some((nk, nv)) = next_pair(st, t, k) {
                k = nk;
                let Some(key) = to_lstring(st, nk) else {
                    return Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    );
                };
                let key = key.to_ascii_lowercase();
                match key.as_slice() {
                    b"function_name" => {
                        name = Some(to_lstring(st, nv).ok_or(
                            "function_name argument given to redis.register_function must be a string",
                        )?);
                    }
                    b"description" => {
                        desc = Some(to_lstring(st, nv).ok_or(
                            "description argument given to redis.register_function must be a string",
                        )?);
                    }
                    b"callback" => {
                        if !is_function(nv) {
                            return Err("callback argument given to redis.register_function must be a function".into());
                        }
                        callback = Some(nv);
                    }
                    b"flags" => {
                        let Val::Table(ft) = nv else {
                            return Err("flags argument to redis.register_function must be a table representing function flags".into());
                        };
                        let mut j = 1;
                        loop {
                            let f = tget(st, ft, Val::Num(j as f64));
                            if f.is_nil() {
                                break;
                            }
                            let text = to_lstring(st, f).ok_or("unknown flag given")?;
                            let pos = FUNCTION_FLAGS
                                .iter()
                                .position(|n| n.as_bytes().eq_ignore_ascii_case(&text))
                                .ok_or("unknown flag given")?;
                            flags |= 1 << pos;
                            j += 1;
                        }
                    }
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let name = name.ok_or("redis.register_function must get a function name argument")?;
            let callback =
                callback.ok_or("redis.register_function must get a callback argument")?;
            Ok((name, callback, desc, flags))
        }
        _ => Err("wrong number of arguments to redis.register_function".into()),
    }
}

// ===== bit =====

fn bit_arg(st: &LuaState, i: usize) -> LuaResult<u32> {
    match to_number(st, i) {
        Some(n) => Ok(bitop::to_bits(n)),
        None => Err(st.type_error(i + 1, "number")),
    }
}

fn bit_ret(st: &mut LuaState, b: u32) -> LuaResult<u32> {
    ret(st, &[Val::Num(bitop::to_num(b))])
}

fn bit_tobit(st: &mut LuaState) -> LuaResult<u32> {
    let b = bit_arg(st, 0)?;
    bit_ret(st, b)
}

fn bit_bnot(st: &mut LuaState) -> LuaResult<u32> {
    let b = bit_arg(st, 0)?;
    bit_ret(st, !b)
}

fn bit_fold(st: &mut LuaState, f: fn(&[u32]) -> u32) -> LuaResult<u32> {
    let mut args = vec![bit_arg(st, 0)?];
    for i in 1..nargs(st) {
        args.push(bit_arg(st, i)?);
    }
    bit_ret(st, f(&args))
}

fn bit_band(st: &mut LuaState) -> LuaResult<u32> {
    bit_fold(st, bitop::band)
}

fn bit_bor(st: &mut LuaState) -> LuaResult<u32> {
    bit_fold(st, bitop::bor)
}

fn bit_bxor(st: &mut LuaState) -> LuaResult<u32> {
    bit_fold(st, bitop::bxor)
}

fn bit_shift(st: &mut LuaState, f: fn(u32, u32) -> u32) -> LuaResult<u32> {
    let b = bit_arg(st, 0)?;
    let n = bit_arg(st, 1)?;
    bit_ret(st, f(b, n))
}

fn bit_lshift(st: &mut LuaState) -> LuaResult<u32> {
    bit_shift(st, bitop::lshift)
}

fn bit_rshift(st: &mut LuaState) -> LuaResult<u32> {
    bit_shift(st, bitop::rshift)
}

fn bit_arshift(st: &mut LuaState) -> LuaResult<u32> {
    bit_shift(st, bitop::arshift)
}

fn bit_rol(st: &mut LuaState) -> LuaResult<u32> {
    bit_shift(st, bitop::rol)
}

fn bit_ror(st: &mut LuaState) -> LuaResult<u32> {
    bit_shift(st, bitop::ror)
}

fn bit_bswap(st: &mut LuaState) -> LuaResult<u32> {
    let b = bit_arg(st, 0)?;
    bit_ret(st, bitop::bswap(b))
}

fn bit_tohex(st: &mut LuaState) -> LuaResult<u32> {
    let b = bit_arg(st, 0)?;
    let n = if nargs(st) < 2 {
        None
    } else {
        Some(bit_arg(st, 1)? as i32)
    };
    let s = bitop::tohex(b, n);
    let v = new_str(st, s.as_bytes());
    ret(st, &[v])
}

// ===== struct =====

fn check_lstring(st: &LuaState, i: usize) -> LuaResult<Vec<u8>> {
    let v = arg(st, i);
    to_lstring(st, v).ok_or_else(|| st.type_error(i + 1, "string"))
}

fn struct_pack(st: &mut LuaState) -> LuaResult<u32> {
    let fmt = check_lstring(st, 0)?;
    let args: Vec<LArg> = (1..nargs(st).max(1)).map(|i| larg(st, i)).collect();
    match structlib::pack(&fmt, &args) {
        Ok(out) => {
            let v = new_str(st, &out);
            ret(st, &[v])
        }
        Err(e) => Err(lib_error(st, e)),
    }
}

fn struct_unpack(st: &mut LuaState) -> LuaResult<u32> {
    let fmt = check_lstring(st, 0)?;
    let data = check_lstring(st, 1)?;
    let pos = st.opt_integer(3, 1)?;
    match structlib::unpack(&fmt, &data, pos) {
        Ok((vals, next)) => {
            let mut out: Vec<Val> = Vec::with_capacity(vals.len() + 1);
            for v in &vals {
                out.push(match v {
                    structlib::SVal::Num(n) => Val::Num(*n),
                    structlib::SVal::Str(s) => new_str(st, s),
                });
            }
            out.push(Val::Num(next as f64));
            ret(st, &out)
        }
        Err(e) => Err(lib_error(st, e)),
    }
}

fn struct_size(st: &mut LuaState) -> LuaResult<u32> {
    let fmt = check_lstring(st, 0)?;
    match structlib::size(&fmt) {
        Ok(n) => ret(st, &[Val::Num(n as f64)]),
        Err(e) => Err(lib_error(st, e)),
    }
}

// ===== cjson =====

fn cjson_encode(st: &mut LuaState) -> LuaResult<u32> {
    if nargs(st) != 1 {
        return Err(st.arg_error(1, "expected 1 argument"));
    }
    let mut nodes = 0;
    let v = to_lvalue(st, arg(st, 0), json::MAX_DEPTH, 0, &mut nodes)?;
    match json::encode(&v) {
        Ok(out) => {
            if out.len() > memory_left(st) {
                return Err(LuaError::Memory);
            }
            let s = new_str(st, &out);
            ret(st, &[s])
        }
        Err(e) => Err(lib_error(st, e)),
    }
}

fn cjson_decode(st: &mut LuaState) -> LuaResult<u32> {
    if nargs(st) != 1 {
        return Err(st.arg_error(1, "expected 1 argument"));
    }
    let data = check_lstring(st, 0)?;
    match json::decode(&data) {
        Ok(v) => {
            let v = from_lvalue(st, &v)?;
            ret(st, &[v])
        }
        Err(e) => Err(lib_error(st, e)),
    }
}

// ===== cmsgpack =====

fn msgpack_pack(st: &mut LuaState) -> LuaResult<u32> {
    let n = nargs(st);
    if n == 0 {
        return Err(st.arg_error(0, "MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    let mut nodes = 0;
    for i in 0..n {
        let v = to_lvalue(st, arg(st, i), msgpack::MAX_NESTING, 0, &mut nodes)?;
        msgpack::pack(&mut out, &v);
        if out.len() > memory_left(st) {
            return Err(LuaError::Memory);
        }
    }
    let s = new_str(st, &out);
    ret(st, &[s])
}

fn msgpack_result(st: &mut LuaState, r: Result<msgpack::Unpacked, LibError>) -> LuaResult<u32> {
    let u = r.map_err(|e| lib_error(st, e))?;
    let mut out = Vec::with_capacity(u.values.len() + 1);
    if let Some(off) = u.next_offset {
        out.push(Val::Num(off as f64));
    }
    for v in &u.values {
        out.push(from_lvalue(st, v)?);
    }
    ret(st, &out)
}

fn msgpack_unpack(st: &mut LuaState) -> LuaResult<u32> {
    let data = check_lstring(st, 0)?;
    let r = msgpack::unpack(&data, 0, 0);
    msgpack_result(st, r)
}

fn msgpack_unpack_one(st: &mut LuaState) -> LuaResult<u32> {
    let offset = st.opt_integer(2, 0)?;
    let data = check_lstring(st, 0)?;
    let r = msgpack::unpack(&data, 1, offset);
    msgpack_result(st, r)
}

fn msgpack_unpack_limit(st: &mut LuaState) -> LuaResult<u32> {
    let limit = st.check_integer(2)?;
    let offset = st.opt_integer(3, 0)?;
    let data = check_lstring(st, 0)?;
    let r = msgpack::unpack(&data, limit, offset);
    msgpack_result(st, r)
}

// ===== Syntax nesting estimate =====

/// The line at which `src`'s syntax nesting may pass `limit`, or None when it stays below.
///
/// An upper estimate of the parser's recursion: every open bracket, block (`function`, `do`,
/// `then`, `repeat`) and right-recursive operator (`..`, `^`, unary `-`, `not`, `#`) counts one,
/// and operator chains only reset at `,`, `;`, `=`, `and`, `or`, comparisons and keywords.
pub(crate) fn too_deep(src: &[u8], limit: usize) -> Option<u32> {
    let mut levels: Vec<usize> = Vec::new();
    let mut chain = 0usize;
    let mut line = 1u32;
    let mut i = 0;
    let n = src.len();
    // After an operand, `-` is binary; otherwise it is unary.
    let mut after_operand = false;
    let depth =
        |levels: &Vec<usize>, chain: usize| levels.len() + levels.iter().sum::<usize>() + chain;
    let long_bracket = |at: usize| -> Option<usize> {
        // `[`, `=`*, `[`: the level of a long bracket starting at `at`.
        if src.get(at) != Some(&b'[') {
            return None;
        }
        let mut j = at + 1;
        while src.get(j) == Some(&b'=') {
            j += 1;
        }
        (src.get(j) == Some(&b'[')).then_some(j - at - 1)
    };
    let skip_long = |from: usize, level: usize, line: &mut u32| -> usize {
        let close: Vec<u8> = std::iter::once(b']')
            .chain(std::iter::repeat_n(b'=', level))
            .chain(std::iter::once(b']'))
            .collect();
        let mut j = from;
        while j < n {
            if src[j..].starts_with(&close) {
                return j + close.len();
            }
            if src[j] == b'\n' {
                *line += 1;
            }
            j += 1;
        }
        n
    };
    while i < n {
        let c = src[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'-' if src.get(i + 1) == Some(&b'-') => {
                if let Some(level) = long_bracket(i + 2) {
                    i = skip_long(i + 4 + level, level, &mut line);
                } else {
                    while i < n && src[i] != b'\n' {
                        i += 1;
                    }
                }
            }
            b'"' | b'\'' => {
                i += 1;
                while i < n && src[i] != c {
                    if src[i] == b'\\' {
                        i += 1;
                    }
                    if i < n && src[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 1;
                after_operand = true;
            }
            b'[' if long_bracket(i).is_some() => {
                let level = long_bracket(i).unwrap_or(0);
                i = skip_long(i + 2 + level, level, &mut line);
                after_operand = true;
            }
            b'(' | b'{' | b'[' => {
                levels.push(chain);
                chain = 0;
                after_operand = false;
                i += 1;
            }
            b')' | b'}' | b']' => {
                chain = levels.pop().unwrap_or(0);
                after_operand = true;
                i += 1;
            }
            b'.' if src.get(i + 1) == Some(&b'.') => {
                if src.get(i + 2) == Some(&b'.') {
                    i += 3;
                    after_operand = true;
                } else {
                    chain += 1;
                    i += 2;
                    after_operand = false;
                }
            }
            b'^' | b'#' => {
                chain += 1;
                i += 1;
                after_operand = false;
            }
            b'-' => {
                if !after_operand {
                    chain += 1;
                }
                i += 1;
                after_operand = false;
            }
            b',' | b';' | b'=' | b'<' | b'>' | b'~' => {
                chain = 0;
                i += 1;
                after_operand = false;
            }
            b'+' | b'*' | b'/' | b'%' | b':' | b'.' => {
                i += 1;
                after_operand = false;
            }
            _ if c.is_ascii_digit() => {
                while i < n && (src[i].is_ascii_alphanumeric() || src[i] == b'.') {
                    let e = src[i] | 0x20 == b'e';
                    i += 1;
                    if e && matches!(src.get(i), Some(b'+' | b'-')) {
                        i += 1;
                    }
                }
                after_operand = true;
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < n && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
                    i += 1;
                }
                after_operand = false;
                match &src[start..i] {
                    b"function" | b"do" | b"then" | b"repeat" => {
                        levels.push(chain);
                        chain = 0;
                    }
                    b"end" | b"until" | b"elseif" => {
                        chain = levels.pop().unwrap_or(0);
                    }
                    b"not" => chain += 1,
                    b"and" | b"or" | b"local" | b"return" | b"if" | b"while" | b"for" | b"in"
                    | b"else" | b"break" => chain = 0,
                    _ => after_operand = true,
                }
            }
            _ => i += 1,
        }
        if depth(&levels, chain) > limit {
            return Some(line);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_estimate() {
        assert_eq!(too_deep(b"return 1", 10), None);
        let deep = format!("return {}1{}", "(".repeat(20), ")".repeat(20));
        assert_eq!(too_deep(deep.as_bytes(), 10), Some(1));
        assert_eq!(too_deep(deep.as_bytes(), 30), None);
        let seq = "local a = 1 .. 2\n".repeat(500);
        assert_eq!(too_deep(seq.as_bytes(), 10), None);
        let chain = format!("return a{}", "..a".repeat(50));
        assert!(too_deep(chain.as_bytes(), 40).is_some());
        let blocks = "if x then\n".repeat(30) + &"end\n".repeat(30);
        assert_eq!(too_deep(blocks.as_bytes(), 20), Some(21));
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "return '{}' -- {}\n--[[ {} ]]",
            "(".repeat(50),
            "{".repeat(50),
            "[".repeat(50)
        );
        assert_eq!(too_deep(quoted.as_bytes(), 10), None);
    }
}
