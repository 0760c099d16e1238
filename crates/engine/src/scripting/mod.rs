//! Lua scripting as Redis 7.0 runs it: EVAL, EVALSHA and their `_RO` forms with the script cache,
//! FUNCTION libraries and FCALL. This module is the engine's side; `vm.rs` is the only place that
//! knows the Lua VM (rilua), so that the VM could be swapped.
//!
//! # Time, atomicity and determinism
//!
//! A script runs inside one engine call: nothing else happens meanwhile, so its writes are atomic,
//! and every `redis.call` sees the frozen time of the EVAL (`Call::now`). `math.random` draws from
//! Redis's own `lrand48` generator, which Redis 7.0 does not reseed between scripts: a fresh server
//! answers `0.39646477363839` to the first `return tostring(math.random())`, and so does a fresh
//! engine. The generator's state is part of the engine's state (it is copied with a snapshot).
//!
//! # Busy scripts, on virtual time
//!
//! The VM reports every `vm::INSTRUCTIONS_PER_MS` (10,000) instructions as one millisecond of
//! script time. In Redis, a script running past `busy-reply-threshold` (5000 ms by default)
//! makes the server answer BUSY to everyone until an operator sends SCRIPT KILL, which only works
//! if the script has not written yet; a script that wrote can only be stopped by SHUTDOWN NOSAVE.
//! The engine is synchronous, so nobody can send SCRIPT KILL while a script runs; it plays the
//! operator's part instead:
//!
//! - At the threshold the script turns busy (`Event::ScriptBusy`). If it has not written, it is
//!   killed at once, and its caller gets what a killed script's caller gets in Redis:
//!   `ERR Script killed by user with SCRIPT KILL... script: <sha>, on @user_script:<line>.`
//! - A script that has written keeps running until `Config::script_hard_limit_ms` (15 s of script
//!   time by default, 150 million instructions), where the engine stops it with
//!   `error::SCRIPT_HARD_LIMIT`. Its writes stay: Redis would have lost them with the whole
//!   dataset at SHUTDOWN NOSAVE, which a playground does not imitate.
//! - The hard limit applies even when the threshold is 0 (Redis then never interrupts a script),
//!   because an endless script must not hang the engine.
//! - `Event::ScriptStopped` records either end. FUNCTION LOAD has Redis's fixed 500 ms budget
//!   ("FUNCTION LOAD timeout").
//! - Work done inside native functions (a long `string.rep`, a `redis.call`) costs no script
//!   time; it is bounded by the memory limits instead (see `vm.rs`).
//!
//! SCRIPT KILL and FUNCTION KILL therefore always find nothing running (NOTBUSY), as does
//! FUNCTION STATS.
//!
//! # The script's client
//!
//! Commands called from a script run as a client of their own (id `SCRIPT_CLIENT`), which starts
//! on the caller's database and RESP2 and cannot block: a blocking command answers its timeout
//! reply at once. Before a command runs, the script-level checks apply in Redis's order: known
//! command, arity, not `noscript`, no writes from a read-only script, and the out-of-memory check
//! (`oom_refusal`: the single place the maxmemory rule will go).
//!
//! # Where the engine differs from Redis 7.0 (all compared against a real server)
//!
//! - Limits Redis does not have: a 64 MiB Lua heap, 40 levels of native-to-Lua nesting where Lua
//!   allows 200 (`pcall` in `pcall`, metamethods, coroutines), a syntax nesting estimate of 100,
//!   and the hard time limit above. Lua's own limits (8000 stack slots, 20000 calls) are kept.
//! - rilua, not PUC Lua, runs the code: `pairs` may visit numeric keys stored in a table's hash
//!   part in another order, every NaN prints as `-nan`, `table.sort` names the compared types
//!   differently, and a malformed pattern (an unfinished `[set]`, a trailing `%`) is an error even
//!   where Lua's matcher would never reach it.
//! - Error texts containing CR or LF are sent on one line (Redis sends them raw, which breaks the
//!   protocol), and an error table without `err` answers `ERR unknown error` (Redis 7.0 crashes).
//! - cjson's configuration functions answer the defaults and keep no setting; a verbatim reply
//!   keeps its format only when it is `txt` or `mkd`; SCRIPT DEBUG, FUNCTION DUMP and FUNCTION
//!   RESTORE are not implemented; FUNCTION LIST lists a library's functions in the order they were
//!   registered (Redis: hash order); the EVAL and FCALL commands carry no key specs, so COMMAND
//!   GETKEYS cannot find their keys.
//! - A snapshot (`Engine::clone`) rebuilds its VM: libraries are loaded again, so a library's
//!   local state (upvalues its functions share) starts over in the copy.

pub mod bitop;
pub mod cformat;
pub mod json;
pub mod msgpack;
pub mod sha1;
pub mod structlib;
pub mod value;
mod vm;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::BTreeMap;

use crate::client::{Client, ClientId};
use crate::event::{Event, ScriptStop};
use crate::reply::{Protocol, Reply};
use crate::table::{self, CommandSpec, Flags};
use crate::{error, glob, Config, Engine};

pub use vm::{INSTRUCTIONS_PER_MS, MEMORY_LIMIT};

/// The client commands called from scripts run as (far above any connection id ever handed out).
pub const SCRIPT_CLIENT: ClientId = 1 << 48;
/// FUNCTION LOAD's time budget, in script milliseconds.
pub const LOAD_TIMEOUT_MS: u64 = 500;

/// Script flags, from an EVAL shebang (`#!lua flags=...`) or `redis.register_function`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
    /// An EVAL script without a shebang: Redis's compatibility rules apply (no flag checks).
    pub eval_compat: bool,
}

impl ScriptFlags {
    fn set(&mut self, name: &str) -> bool {
        match name {
            "no-writes" => self.no_writes = true,
            "allow-oom" => self.allow_oom = true,
            "allow-stale" => self.allow_stale = true,
            "no-cluster" => self.no_cluster = true,
            "allow-cross-slot-keys" => self.allow_cross_slot_keys = true,
            _ => return false,
        }
        true
    }

    /// The flag names, in the order FUNCTION LIST shows them.
    pub fn names(&self) -> Vec<&'static str> {
        let on = [
            self.no_writes,
            self.allow_oom,
            self.allow_stale,
            self.no_cluster,
            self.allow_cross_slot_keys,
        ];
        vm::FUNCTION_FLAGS
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }
}

/// A cached EVAL script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    pub body: Vec<u8>,
    pub flags: ScriptFlags,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: String,
    pub description: Option<Vec<u8>>,
    pub flags: ScriptFlags,
}

/// A library loaded with FUNCTION LOAD.
#[derive(Clone, Debug, PartialEq)]
pub struct Library {
    pub name: String,
    /// The whole payload, shebang included (FUNCTION LIST WITHCODE shows it).
    pub code: Vec<u8>,
    /// In the order the library registered them (Redis lists them in hash order).
    pub functions: Vec<Function>,
}

/// Redis's `redisLrand48`: the 48-bit linear congruential generator of POSIX `lrand48`, with its
/// default seed, reseeded only by `math.randomseed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lrand48 {
    state: u64,
}

impl Default for Lrand48 {
    fn default() -> Self {
        Lrand48 {
            state: 0x1234_ABCD_330E,
        }
    }
}

impl Lrand48 {
    pub fn seed(&mut self, seed: i32) {
        let s = seed as u32 as u64;
        self.state = 0x330E | ((s & 0xffff) << 16) | (((s >> 16) & 0xffff) << 32);
    }

    pub fn next_i32(&mut self) -> i32 {
        self.state = (self.state.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & ((1 << 48) - 1);
        (self.state >> 17) as i32
    }
}

/// The VM, rebuilt on demand: a copy of the engine (a snapshot) starts without one, and gets a
/// fresh VM with the same scripts and libraries the first time it runs a script.
#[derive(Default)]
pub(crate) struct VmSlot(Option<Box<vm::Vm>>);

impl Clone for VmSlot {
    fn clone(&self) -> Self {
        VmSlot(None)
    }
}

/// The scripting state an engine keeps.
#[derive(Clone, Default)]
pub struct Scripting {
    scripts: BTreeMap<String, Script>,
    libraries: BTreeMap<String, Library>,
    /// Lower-cased function name → (library, function name as registered).
    functions: BTreeMap<String, (String, String)>,
    rand: Lrand48,
    vm: VmSlot,
    /// The script client between scripts (it is in the client table only while one runs).
    client: Option<Box<Client>>,
}

impl Scripting {
    pub fn scripts(&self) -> &BTreeMap<String, Script> {
        &self.scripts
    }

    pub fn libraries(&self) -> &BTreeMap<String, Library> {
        &self.libraries
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// The Lua heap in bytes (0 until a script has run in this copy of the engine).
    pub fn vm_memory(&self) -> usize {
        self.vm.0.as_ref().map_or(0, |vm| vm.memory())
    }
}

/// Takes the VM out of the engine (building it when missing) so that the engine can be lent to
/// the script.
fn take_vm(e: &mut Engine) -> Box<vm::Vm> {
    if let Some(vm) = e.scripting.vm.0.take() {
        return vm;
    }
    let mut vm = Box::new(vm::Vm::new());
    // A rebuilt VM needs the libraries back (EVAL scripts are compiled again when run).
    let libs: Vec<(String, Vec<u8>)> = e
        .scripting
        .libraries
        .values()
        .map(|l| (l.name.clone(), l.code.clone()))
        .collect();
    for (name, code) in libs {
        if let Ok((_, body)) = library_metadata(&code) {
            let host = LoadHost::new(&name, e.config.record_events);
            let (_, result) = vm.load_library(body, host);
            match result {
                Ok(_) => vm.commit_library(&name),
                Err(_) => vm.discard_staging(),
            }
        }
    }
    vm
}

fn put_vm(e: &mut Engine, vm: Box<vm::Vm>) {
    e.scripting.vm.0 = Some(vm);
}

/// A cheap stand-in that holds the engine's place while the engine is lent to a script.
fn placeholder() -> Engine {
    Engine::new(Config {
        databases: 0,
        record_events: false,
        ..Config::default()
    })
}

// ===== EVAL =====

/// Which of the four EVAL commands is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalKind {
    pub by_sha: bool,
    pub read_only: bool,
}

/// Reads a shebang line (`#!lua flags=no-writes,allow-oom`): the flags and the line's length
/// (the body compiles from the newline on, so line numbers stay right).
pub fn shebang_flags(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    let mut flags = ScriptFlags {
        eval_compat: true,
        ..ScriptFlags::default()
    };
    if !body.starts_with(b"#!") {
        return Ok((flags, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts = match crate::cli::split_args(&line) {
        Ok(p) if !p.is_empty() => p,
        _ => return Err("Invalid engine in script shebang".into()),
    };
    if parts[0] != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(&parts[0])
        ));
    }
    flags.eval_compat = false;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&c| c == b',') {
            let name = String::from_utf8_lossy(name);
            if !flags.set(&name) {
                return Err(format!("Unexpected flag in script shebang: {name}"));
            }
        }
    }
    Ok((flags, end))
}

/// SCRIPT LOAD, and EVAL's first sight of a body: caches it (once compiled) and returns its SHA.
pub fn script_load(e: &mut Engine, body: &[u8]) -> Result<String, Reply> {
    let sha = sha1::sha1_hex(body);
    if e.scripting.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (flags, shebang_len) =
        shebang_flags(body).map_err(|m| Reply::error_owned(format!("ERR {m}")))?;
    let mut vm = take_vm(e);
    let compiled = vm.compile_eval(&sha, &body[shebang_len..]);
    put_vm(e, vm);
    if let Err(msg) = compiled {
        return Err(Reply::error_owned(error::one_line(&format!(
            "ERR Error compiling script (new function): {msg}"
        ))));
    }
    e.scripting.scripts.insert(
        sha.clone(),
        Script {
            body: body.to_vec(),
            flags,
        },
    );
    Ok(sha)
}

pub fn script_exists(e: &Engine, sha: &[u8]) -> bool {
    let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
    e.scripting.scripts.contains_key(&sha)
}

pub fn script_flush(e: &mut Engine) {
    let shas: Vec<String> = e.scripting.scripts.keys().cloned().collect();
    if let Some(vm) = e.scripting.vm.0.as_mut() {
        vm.flush_eval(&shas);
    }
    e.scripting.scripts.clear();
}

/// The number of keys argument, with EVAL's and FCALL's checks.
fn parse_numkeys(a: &[u8], argc: usize, fcall: bool) -> Result<usize, Reply> {
    let Some(n) = crate::numfmt::parse_i64(a) else {
        return Err(if fcall {
            Reply::error(error::BAD_NUMKEYS)
        } else {
            Reply::error(error::NOT_INTEGER)
        });
    };
    if n > argc as i64 - 3 {
        return Err(Reply::error(error::NUMKEYS_TOO_BIG));
    }
    if n < 0 {
        return Err(Reply::error(error::NUMKEYS_NEGATIVE));
    }
    Ok(n as usize)
}

/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO: `argv` is the whole command.
pub fn eval(e: &mut Engine, caller: ClientId, argv: &[&[u8]], now: i64, kind: EvalKind) -> Reply {
    if kind.by_sha && argv[1].len() != 40 {
        return Reply::error(error::NOSCRIPT);
    }
    let numkeys = match parse_numkeys(argv[2], argv.len(), false) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let sha = if kind.by_sha {
        let sha = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
        if !e.scripting.scripts.contains_key(&sha) {
            return Reply::error(error::NOSCRIPT);
        }
        sha
    } else {
        match script_load(e, argv[1]) {
            Ok(sha) => sha,
            Err(r) => return r,
        }
    };
    let Some(script) = e.scripting.scripts.get(&sha) else {
        return Reply::error(error::NOSCRIPT);
    };
    let flags = script.flags;
    if let Err(r) = prepare_checks(e, flags, kind.read_only) {
        return r;
    }
    let mut vm = take_vm(e);
    if !vm.has_eval(&sha) {
        let body = e
            .scripting
            .scripts
            .get(&sha)
            .map(|s| s.body.clone())
            .unwrap_or_default();
        let start = shebang_flags(&body).map(|(_, n)| n).unwrap_or(0);
        if let Err(msg) = vm.compile_eval(&sha, &body[start..]) {
            put_vm(e, vm);
            return Reply::error_owned(format!("ERR Error compiling script (new function): {msg}"));
        }
    }
    let keys = &argv[3..3 + numkeys];
    let args = &argv[3 + numkeys..];
    let runner = Runner::start(e, caller, &sha, flags, kind.read_only, now);
    let (runner, result) = vm.run_eval(&sha, keys, args, runner);
    runner.finish(e);
    put_vm(e, vm);
    script_reply(&sha, result)
}

/// scriptPrepareForRun's refusals, for scripts that declared flags.
fn prepare_checks(e: &Engine, flags: ScriptFlags, read_only: bool) -> Result<(), Reply> {
    if flags.eval_compat {
        return Ok(());
    }
    if !flags.no_writes && read_only {
        return Err(Reply::error(error::SCRIPT_WRITE_FLAG_RO));
    }
    if !(flags.allow_oom || flags.no_writes) {
        if let Some(r) = oom_refusal(e) {
            return Err(Reply::error(r));
        }
    }
    Ok(())
}

/// Whether the used memory was above `maxmemory` when the script's command started (Redis's
/// `pre_command_oom_state`), which refuses scripts that may write and, inside scripts, the
/// first `denyoom` command.
fn oom_refusal(e: &Engine) -> Option<&'static str> {
    (e.config.maxmemory > 0 && e.evict.pre_command_oom).then_some(error::OOM)
}

/// How a script's end becomes the caller's reply.
fn script_reply(name: &str, result: Result<Reply, vm::Failure>) -> Reply {
    match result {
        Ok(r) => r,
        Err(vm::Failure::Memory) => Reply::error_owned(format!(
            "ERR Error running script {name}, not enough memory "
        )),
        Err(vm::Failure::Raised { message, location }) => {
            let msg = message.unwrap_or_else(|| "ERR unknown error".into());
            let text = match location {
                Some((source, line)) => format!("{msg} script: {name}, on {source}:{line}."),
                None => msg,
            };
            Reply::error_owned(error::one_line(&text))
        }
    }
}

// ===== FUNCTION and FCALL =====

/// `#!lua name=<lib>`: the library name and the code after the shebang (from its newline).
fn library_metadata(payload: &[u8]) -> Result<(String, &[u8]), String> {
    if !payload.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = payload.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&payload[..end]);
    let parts = match crate::cli::split_args(&line) {
        Ok(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = String::from_utf8_lossy(&parts[0][2..]).into_owned();
    let mut name: Option<String> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(error::FUNCTION_NAME_INVALID
            .trim_start_matches("ERR ")
            .into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    Ok((name, &payload[end..]))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// FUNCTION LOAD, with or without REPLACE: the library's name, or the error text (without `ERR `).
pub fn function_load(e: &mut Engine, payload: &[u8], replace: bool) -> Result<String, String> {
    let (name, code) = library_metadata(payload)?;
    if !replace && e.scripting.libraries.contains_key(&name) {
        return Err(format!("Library '{name}' already exists"));
    }
    let mut vm = take_vm(e);
    let host = LoadHost::new(&name, e.config.record_events);
    let (host, loaded) = vm.load_library(code, host);
    for ev in host.events {
        e.emit(ev);
    }
    let registered = match loaded {
        Ok(r) => r,
        Err(msg) => {
            vm.discard_staging();
            put_vm(e, vm);
            return Err(msg);
        }
    };
    if registered.is_empty() {
        vm.discard_staging();
        put_vm(e, vm);
        return Err("No functions registered".into());
    }
    for f in &registered {
        if let Some((lib, _)) = e.scripting.functions.get(&f.name.to_ascii_lowercase()) {
            if *lib != name {
                vm.discard_staging();
                put_vm(e, vm);
                return Err(format!("Function {} already exists", f.name));
            }
        }
    }
    vm.commit_library(&name);
    put_vm(e, vm);
    e.scripting.functions.retain(|_, (lib, _)| *lib != name);
    let functions: Vec<Function> = registered
        .into_iter()
        .map(|r| {
            let mut flags = ScriptFlags::default();
            for f in &r.flags {
                flags.set(f);
            }
            Function {
                name: r.name,
                description: r.description,
                flags,
            }
        })
        .collect();
    for f in &functions {
        e.scripting
            .functions
            .insert(f.name.to_ascii_lowercase(), (name.clone(), f.name.clone()));
    }
    e.scripting.libraries.insert(
        name.clone(),
        Library {
            name: name.clone(),
            code: payload.to_vec(),
            functions,
        },
    );
    e.stats.dirty += 1;
    Ok(name)
}

pub fn function_delete(e: &mut Engine, name: &[u8]) -> bool {
    let name = String::from_utf8_lossy(name).into_owned();
    if e.scripting.libraries.remove(&name).is_none() {
        return false;
    }
    e.scripting.functions.retain(|_, (lib, _)| *lib != name);
    if let Some(vm) = e.scripting.vm.0.as_mut() {
        vm.drop_library(&name);
    }
    e.stats.dirty += 1;
    true
}

pub fn function_flush(e: &mut Engine) {
    let names: Vec<String> = e.scripting.libraries.keys().cloned().collect();
    if let Some(vm) = e.scripting.vm.0.as_mut() {
        for n in &names {
            vm.drop_library(n);
        }
    }
    e.scripting.libraries.clear();
    e.scripting.functions.clear();
    e.stats.dirty += 1;
}

/// FUNCTION LIST's reply: libraries matching `pattern` (case-insensitively), in name order.
pub fn function_list(e: &Engine, pattern: Option<&[u8]>, with_code: bool) -> Reply {
    let libs = e
        .scripting
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| glob::matches_nocase(p, l.name.as_bytes())));
    let bulk = |s: &str| Reply::bulk(s.as_bytes());
    Reply::Array(
        libs.map(|l| {
            let functions = l
                .functions
                .iter()
                .map(|f| {
                    Reply::Map(vec![
                        (bulk("name"), bulk(&f.name)),
                        (bulk("description"), Reply::bulk_opt(f.description.clone())),
                        (
                            bulk("flags"),
                            Reply::Set(f.flags.names().into_iter().map(Reply::simple).collect()),
                        ),
                    ])
                })
                .collect();
            let mut pairs = vec![
                (bulk("library_name"), bulk(&l.name)),
                (bulk("engine"), bulk("LUA")),
                (bulk("functions"), Reply::Array(functions)),
            ];
            if with_code {
                pairs.push((bulk("library_code"), Reply::bulk(l.code.clone())));
            }
            Reply::Map(pairs)
        })
        .collect(),
    )
}

/// FUNCTION STATS: nothing is ever running when another command is served.
pub fn function_stats(e: &Engine) -> Reply {
    let bulk = |s: &str| Reply::bulk(s.as_bytes());
    Reply::Map(vec![
        (bulk("running_script"), Reply::Nil),
        (
            bulk("engines"),
            Reply::Map(vec![(
                bulk("LUA"),
                Reply::Map(vec![
                    (
                        bulk("libraries_count"),
                        Reply::Integer(e.scripting.libraries.len() as i64),
                    ),
                    (
                        bulk("functions_count"),
                        Reply::Integer(e.scripting.functions.len() as i64),
                    ),
                ]),
            )]),
        ),
    ])
}

/// FCALL and FCALL_RO: `argv` is the whole command.
pub fn fcall(e: &mut Engine, caller: ClientId, argv: &[&[u8]], now: i64, read_only: bool) -> Reply {
    let key = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
    let Some((lib, fname)) = e.scripting.functions.get(&key).cloned() else {
        return Reply::error(error::FUNCTION_NOT_FOUND);
    };
    let numkeys = match parse_numkeys(argv[2], argv.len(), true) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let flags = e
        .scripting
        .libraries
        .get(&lib)
        .and_then(|l| l.functions.iter().find(|f| f.name == fname))
        .map(|f| f.flags)
        .unwrap_or_default();
    if let Err(r) = prepare_checks(e, flags, read_only) {
        return r;
    }
    let mut vm = take_vm(e);
    let keys = &argv[3..3 + numkeys];
    let args = &argv[3 + numkeys..];
    let runner = Runner::start(e, caller, &fname, flags, read_only, now);
    let (runner, result) = vm.run_function(&lib, &fname, keys, args, runner);
    runner.finish(e);
    put_vm(e, vm);
    script_reply(&fname, result)
}

// ===== The host a running script calls back =====

/// The engine lent to a running script, with the run's own state.
struct Runner {
    engine: Engine,
    /// The SHA (EVAL) or function name (FCALL) that events and errors name.
    name: String,
    read_only: bool,
    allow_oom: bool,
    wrote: bool,
    resp3: bool,
    now: i64,
    elapsed_ms: u64,
    busy: bool,
    stopped: Option<String>,
    /// The script client that was in the script client's slot (none, normally).
    saved_client: Option<Client>,
}

impl Runner {
    fn start(
        e: &mut Engine,
        caller: ClientId,
        name: &str,
        flags: ScriptFlags,
        read_only: bool,
        now: i64,
    ) -> Runner {
        let db = e.clients.get(&caller).map_or(0, |c| c.db);
        let mut client = e
            .scripting
            .client
            .take()
            .map_or_else(|| Client::new(SCRIPT_CLIENT, now), |c| *c);
        client.db = db;
        client.protocol = Protocol::Resp2;
        // `in_exec`: blocking commands must answer at once, as inside EXEC.
        client.in_exec = true;
        let saved_client = e.clients.insert(SCRIPT_CLIENT, client);
        let engine = std::mem::replace(e, placeholder());
        Runner {
            engine,
            name: name.to_string(),
            read_only: read_only || (!flags.eval_compat && flags.no_writes),
            allow_oom: !flags.eval_compat && flags.allow_oom,
            wrote: false,
            resp3: false,
            now,
            elapsed_ms: 0,
            busy: false,
            stopped: None,
            saved_client,
        }
    }

    /// Gives the engine back.
    fn finish(self, e: &mut Engine) {
        let Runner {
            engine,
            saved_client,
            ..
        } = self;
        *e = engine;
        e.scripting.client = e.clients.remove(&SCRIPT_CLIENT).map(Box::new);
        if let Some(c) = saved_client {
            e.clients.insert(SCRIPT_CLIENT, c);
        }
    }

    /// The script-level checks of Redis's `scriptCall`, then the command itself.
    fn command(&mut self, argv: &[Vec<u8>]) -> Reply {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let Ok(spec) = table::lookup(&args) else {
            return Reply::error(error::SCRIPT_UNKNOWN_COMMAND);
        };
        if !spec.arity_ok(args.len()) {
            return Reply::error(error::SCRIPT_WRONG_ARITY);
        }
        if spec.flags.has(Flags::NOSCRIPT) {
            return Reply::error(error::SCRIPT_NOSCRIPT_COMMAND);
        }
        if self.read_only && (spec.flags.has(Flags::WRITE) || may_replicate(spec)) {
            return Reply::error(error::SCRIPT_READONLY_WRITE);
        }
        if !self.allow_oom && !self.wrote && spec.flags.has(Flags::DENYOOM) {
            if let Some(r) = oom_refusal(&self.engine) {
                return Reply::error(r);
            }
        }
        if spec.flags.has(Flags::WRITE) {
            self.wrote = true;
        }
        let reply = self.engine.execute_inner(SCRIPT_CLIENT, &args, self.now);
        if reply == Reply::Blocked {
            return self.unblock_at_once();
        }
        reply
    }

    /// A script cannot wait: a command that blocked anyway gets its timeout reply now.
    fn unblock_at_once(&mut self) -> Reply {
        let state = self
            .engine
            .clients
            .get_mut(&SCRIPT_CLIENT)
            .and_then(|c| c.blocked.take());
        self.engine.forget_blocked(SCRIPT_CLIENT);
        state.map_or(Reply::NilArray, |s| s.timeout_reply)
    }

    fn stop(&mut self, text: String, reason: ScriptStop) -> Result<(), String> {
        self.engine.emit(Event::ScriptStopped {
            sha: self.name.clone(),
            elapsed_ms: self.elapsed_ms,
            reason,
        });
        self.stopped = Some(text.clone());
        Err(text)
    }
}

/// Commands Redis marks `may-replicate` (not flagged in this engine's table): a read-only script
/// may not call them.
fn may_replicate(spec: &CommandSpec) -> bool {
    matches!(spec.name, "publish" | "spublish" | "pfcount")
}

impl vm::Host for Runner {
    fn call(&mut self, argv: Vec<Vec<u8>>, line: Option<u32>) -> Reply {
        let reply = self.command(&argv);
        if self.engine.recording() {
            let ev = Event::ScriptCall {
                sha: self.name.clone(),
                line,
                argv,
                reply: reply.clone(),
            };
            self.engine.emit(ev);
        }
        reply
    }

    fn command_exists(&self, argv: &[Vec<u8>]) -> bool {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        table::lookup(&args).is_ok()
    }

    fn log(&mut self, level: i64, message: Vec<u8>) {
        self.engine.emit(Event::ScriptLog {
            level: level as u8,
            message,
        });
    }

    fn resp3(&self) -> bool {
        self.resp3
    }

    fn set_resp3(&mut self, on: bool) {
        self.resp3 = on;
        if let Some(c) = self.engine.clients.get_mut(&SCRIPT_CLIENT) {
            c.protocol = if on { Protocol::Resp3 } else { Protocol::Resp2 };
        }
    }

    fn set_repl(&mut self, _flags: i64) {
        // Nothing replicates from the engine: the flags are checked and otherwise ignored.
    }

    fn lrand48(&mut self) -> i32 {
        self.engine.scripting.rand.next_i32()
    }

    fn srand48(&mut self, seed: i32) {
        self.engine.scripting.rand.seed(seed);
    }

    fn tick(&mut self) -> Result<(), String> {
        self.elapsed_ms += 1;
        if let Some(text) = &self.stopped {
            return Err(text.clone());
        }
        let threshold = self.engine.config.busy_reply_threshold;
        if !self.busy && threshold > 0 && self.elapsed_ms >= threshold as u64 {
            self.busy = true;
            self.engine.emit(Event::ScriptBusy {
                sha: self.name.clone(),
                elapsed_ms: self.elapsed_ms,
                wrote: self.wrote,
            });
            if !self.wrote {
                return self.stop(error::SCRIPT_KILLED.into(), ScriptStop::Killed);
            }
        }
        if self.elapsed_ms >= self.engine.config.script_hard_limit_ms {
            return self.stop(error::SCRIPT_HARD_LIMIT.into(), ScriptStop::HardLimit);
        }
        Ok(())
    }

    fn stopped(&self) -> Option<String> {
        self.stopped.clone()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The host while a library's code runs for FUNCTION LOAD: only `redis.log` and the clock.
struct LoadHost {
    library: String,
    events: Vec<Event>,
    record: bool,
    elapsed_ms: u64,
    stopped: Option<String>,
}

impl LoadHost {
    fn new(library: &str, record: bool) -> LoadHost {
        LoadHost {
            library: library.to_string(),
            events: Vec::new(),
            record,
            elapsed_ms: 0,
            stopped: None,
        }
    }
}

impl vm::Host for LoadHost {
    fn call(&mut self, _argv: Vec<Vec<u8>>, _line: Option<u32>) -> Reply {
        Reply::error("ERR redis.call/pcall can only be called inside a script invocation")
    }

    fn command_exists(&self, _argv: &[Vec<u8>]) -> bool {
        false
    }

    fn log(&mut self, level: i64, message: Vec<u8>) {
        if self.record {
            self.events.push(Event::ScriptLog {
                level: level as u8,
                message,
            });
        }
    }

    fn resp3(&self) -> bool {
        false
    }

    fn set_resp3(&mut self, _on: bool) {}

    fn set_repl(&mut self, _flags: i64) {}

    fn lrand48(&mut self) -> i32 {
        0
    }

    fn srand48(&mut self, _seed: i32) {}

    fn tick(&mut self) -> Result<(), String> {
        self.elapsed_ms += 1;
        if self.stopped.is_none() && self.elapsed_ms > LOAD_TIMEOUT_MS {
            self.events.push(Event::ScriptStopped {
                sha: self.library.clone(),
                elapsed_ms: self.elapsed_ms,
                reason: ScriptStop::LoadTimeout,
            });
            self.stopped = Some(error::FUNCTION_LOAD_TIMEOUT.into());
        }
        match &self.stopped {
            Some(t) => Err(t.clone()),
            None => Ok(()),
        }
    }

    fn stopped(&self) -> Option<String> {
        self.stopped.clone()
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
