//! Server commands: TIME, DBSIZE, LASTSAVE, FLUSHDB, FLUSHALL, SWAPDB, INFO, COMMAND, DEBUG.
//!
//! COMMAND is answered from the command table (`table::all`), so every command the engine
//! implements describes itself, and only those. What the table does not say (ACL categories, key
//! specs, argument trees) is derived from what it does: flags and group give the categories, the
//! (first, last, step) key triple gives a key spec, and the syntax line is parsed into the
//! argument tree COMMAND DOCS shows and redis-cli turns into hints.

use crate::args::is;
use crate::cmd::connection::REDIS_VERSION;
use crate::event::Event;
use crate::keyspec::{self, KeyRef};
use crate::numfmt::parse_i64;
use crate::table::{self, CommandSpec, Flags};
use crate::{error, flags, glob, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "time",
        arity: 1,
        flags: flags!(LOADING, STALE, FAST),
        keys: (0, 0, 0),
        group: "server",
        since: "2.6.0",
        summary: "Returns the server's clock as Unix seconds and microseconds.",
        syntax: "",
        handler: time,
        subcommands: &[],
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: flags!(READONLY, FAST),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Counts the keys of the selected database.",
        syntax: "",
        handler: dbsize,
        subcommands: &[],
    },
    CommandSpec {
        name: "lastsave",
        arity: 1,
        flags: flags!(LOADING, STALE, FAST),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Returns the Unix time of the last snapshot saved to disk.",
        syntax: "",
        handler: lastsave,
        subcommands: &[],
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: flags!(WRITE),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Deletes every key of the selected database.",
        syntax: "[ASYNC | SYNC]",
        handler: flushdb,
        subcommands: &[],
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: flags!(WRITE),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Deletes every key of every database.",
        syntax: "[ASYNC | SYNC]",
        handler: flushall,
        subcommands: &[],
    },
    CommandSpec {
        name: "swapdb",
        arity: 3,
        flags: flags!(WRITE, FAST),
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Exchanges the contents of two databases.",
        syntax: "index1 index2",
        handler: swapdb,
        subcommands: &[],
    },
    CommandSpec {
        name: "info",
        arity: -1,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Reports the server's state and statistics, by section.",
        syntax: "[section [section ...]]",
        handler: info,
        subcommands: &[],
    },
    CommandSpec {
        name: "command",
        arity: -1,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Describes the commands the server implements.",
        syntax: "",
        handler: command_all,
        subcommands: COMMAND_SUBCOMMANDS,
    },
    CommandSpec {
        name: "debug",
        arity: -2,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Debugging switches: turn active expiry on or off, sleep.",
        syntax: "subcommand [argument ...]",
        handler: debug,
        subcommands: &[],
    },
];

const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "command|count",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Counts the commands the server implements.",
        syntax: "",
        handler: command_count,
        subcommands: &[],
    },
    CommandSpec {
        name: "command|docs",
        arity: -2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "7.0.0",
        summary: "Documents commands: summary, version, group and arguments.",
        syntax: "[command-name [command-name ...]]",
        handler: command_docs,
        subcommands: &[],
    },
    CommandSpec {
        name: "command|getkeys",
        arity: -4,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Picks out the key names of a full command line.",
        syntax: "command [arg [arg ...]]",
        handler: command_getkeys,
        subcommands: &[],
    },
    CommandSpec {
        name: "command|getkeysandflags",
        arity: -4,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "7.0.0",
        summary: "Picks out the key names of a full command line, with how each is accessed.",
        syntax: "command [arg [arg ...]]",
        handler: command_getkeysandflags,
        subcommands: &[],
    },
    CommandSpec {
        name: "command|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "5.0.0",
        summary: "Lists the COMMAND subcommands.",
        syntax: "",
        handler: command_help,
        subcommands: &[],
    },
    CommandSpec {
        name: "command|info",
        arity: -2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Describes commands: arity, flags, key positions, categories.",
        syntax: "[command-name [command-name ...]]",
        handler: command_info,
        subcommands: &[],
    },
    CommandSpec {
        name: "command|list",
        arity: -2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "7.0.0",
        summary: "Lists command names, optionally filtered by ACL category or pattern.",
        syntax: "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
        handler: command_list,
        subcommands: &[],
    },
];

/// A HELP reply as Redis shapes it: a header naming the command, the given lines, and a footer
/// for HELP itself, all as status strings.
pub fn help_reply(command: &[u8], lines: &[&'static str]) -> Reply {
    let name = String::from_utf8_lossy(command).to_ascii_uppercase();
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Reply::Simple(
        format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    ));
    out.extend(lines.iter().map(|l| Reply::simple(l)));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}

fn time(e: &mut Engine, _c: &Call) -> Reply {
    let secs = e.now.div_euclid(1000);
    let micros = e.now.rem_euclid(1000) * 1000;
    Reply::bulks([secs.to_string(), micros.to_string()])
}

fn dbsize(e: &mut Engine, c: &Call) -> Reply {
    Reply::Integer(e.dbsize(c.db) as i64)
}

/// When the last snapshot completed (the start time until one has).
fn lastsave(e: &mut Engine, _c: &Call) -> Reply {
    Reply::Integer(e.last_save())
}

/// FLUSHDB/FLUSHALL's only option. The engine frees at once either way: ASYNC is accepted and
/// behaves as SYNC (no command can observe the difference).
fn flush_option_ok(c: &Call) -> bool {
    match c.argv.len() {
        1 => true,
        2 => is(c.argv[1], "sync") || is(c.argv[1], "async"),
        _ => false,
    }
}

/// Empties one database; returns how many keys it held. Clients WATCHing its keys are told
/// first, while the keys still exist (Redis's `signalFlushedDb`).
fn empty_db(e: &mut Engine, db: usize) -> u64 {
    e.touch_all_watched_in_db(db, None);
    let n = e.dbs[db].len() as u64;
    e.dbs[db].clear();
    n
}

fn flushdb(e: &mut Engine, c: &Call) -> Reply {
    if !flush_option_ok(c) {
        return Reply::error(error::SYNTAX);
    }
    let removed = empty_db(e, c.db);
    e.stats.dirty += removed;
    e.emit(Event::Flushed { db: Some(c.db) });
    Reply::OK
}

fn flushall(e: &mut Engine, c: &Call) -> Reply {
    if !flush_option_ok(c) {
        return Reply::error(error::SYNTAX);
    }
    let mut removed = 0;
    for db in 0..e.dbs.len() {
        removed += empty_db(e, db);
    }
    e.stats.dirty += removed;
    e.emit(Event::Flushed { db: None });
    Reply::OK
}

/// A database index as SWAPDB reads it: a C int, with its own error text when it is not one.
fn db_index(a: &[u8], err: &'static str) -> Result<i64, Reply> {
    match parse_i64(a) {
        Some(v) if i32::try_from(v).is_ok() => Ok(v),
        _ => Err(Reply::error(err)),
    }
}

fn swapdb(e: &mut Engine, c: &Call) -> Reply {
    if e.is_cluster_node() {
        return Reply::error(error::SWAPDB_IN_CLUSTER);
    }
    let a = crate::tri!(db_index(c.argv[1], error::INVALID_FIRST_DB_INDEX));
    let b = crate::tri!(db_index(c.argv[2], error::INVALID_SECOND_DB_INDEX));
    let n = e.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Reply::error(error::DB_INDEX_OUT_OF_RANGE);
    }
    // Clients stay on their database number and see the other contents; keys, TTLs, the expire
    // cycle's cursor and the TTL average travel together. A WATCHed key breaks if it exists on
    // either side, and clients blocked on a key that now exists get another try.
    let (a, b) = (a as usize, b as usize);
    e.touch_all_watched_in_db(a, Some(b));
    e.touch_all_watched_in_db(b, Some(a));
    e.dbs.swap(a, b);
    e.signal_existing_blocked_keys(a);
    e.signal_existing_blocked_keys(b);
    e.stats.dirty += 1;
    Reply::OK
}

fn debug(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let sub = argv[1];
    if argv.len() == 2 && is(sub, "help") {
        return help_reply(
            argv[0],
            &[
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Turns the active expire cycle off (0) or on (1); lazy expiry stays on.",
                "SLEEP <seconds>",
                "    Answers OK. The engine runs on virtual time, so nothing waits.",
                "RELOAD",
                "    Saves a snapshot, empties the databases and loads the snapshot back.",
            ],
        );
    }
    if argv.len() == 3 && is(sub, "sleep") {
        return Reply::OK;
    }
    if argv.len() == 2 && is(sub, "reload") {
        e.debug_reload();
        return Reply::OK;
    }
    if argv.len() == 3 && is(sub, "set-active-expire") {
        e.config.active_expire_enabled = crate::numfmt::atoi(argv[2]) != 0;
        return Reply::OK;
    }
    Reply::error_owned(error::subcommand_syntax(sub, argv[0]))
}

// ---------------------------------------------------------------------------------------------
// INFO

/// Redis's `bytesToHuman`.
pub fn bytes_to_human(n: u64) -> String {
    const K: f64 = 1024.0;
    let d = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1 << 20 {
        format!("{:.2}K", d / K)
    } else if n < 1 << 30 {
        format!("{:.2}M", d / (K * K))
    } else if n < 1 << 40 {
        format!("{:.2}G", d / (K * K * K))
    } else if n < 1 << 50 {
        format!("{:.2}T", d / (K * K * K * K))
    } else if n < 1 << 60 {
        format!("{:.2}P", d / (K * K * K * K * K))
    } else {
        format!("{n}B")
    }
}

/// A 40-hex-digit identifier (run_id, replid) derived from the seed, so that the same seed gives
/// the same INFO.
fn hex_id(seed: u64, salt: &[u8]) -> String {
    let mut s = String::with_capacity(48);
    for i in 0..3u8 {
        let h = crate::dict::hash_bytes(seed ^ u64::from(i), salt);
        s.push_str(&format!("{h:016x}"));
    }
    s.truncate(40);
    s
}

/// Sections in the order Redis prints them.
const SECTIONS: [&str; 13] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// What INFO with no argument (or `default`) prints.
const DEFAULT_SECTIONS: [&str; 11] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

fn info(e: &mut Engine, c: &Call) -> Reply {
    let text = info_text(e, &c.argv[1..]);
    Reply::Verbatim("txt", text.into_bytes())
}

/// The text INFO answers for the given section arguments: sections separated by an empty line,
/// every line ending in CRLF.
pub fn info_text(e: &mut Engine, args: &[&[u8]]) -> String {
    let mut wanted: Vec<String> = Vec::new();
    let mut all = false;
    if args.is_empty() {
        wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "default" => wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
            // The engine has no modules, so "everything" adds nothing to "all".
            "all" | "everything" => all = true,
            _ => wanted.push(a),
        }
    }
    let selected = |name: &str| {
        all || wanted
            .iter()
            .any(|w| w == name || (name == "modules" && w == "module_list"))
    };
    let mut out = String::new();
    for name in SECTIONS {
        if !selected(name) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let (title, lines) = info_section(e, name);
        out.push_str("# ");
        out.push_str(title);
        out.push_str("\r\n");
        for line in lines {
            out.push_str(&line);
            out.push_str("\r\n");
        }
    }
    out
}

fn info_section(e: &mut Engine, name: &str) -> (&'static str, Vec<String>) {
    match name {
        "server" => ("Server", info_server(e)),
        "clients" => ("Clients", info_clients(e)),
        "memory" => ("Memory", info_memory(e)),
        "persistence" => ("Persistence", info_persistence(e)),
        "stats" => ("Stats", info_stats(e)),
        "replication" => (
            "Replication",
            e.cluster_info_replication()
                .unwrap_or_else(|| info_replication(e)),
        ),
        "cpu" => ("CPU", info_cpu(e)),
        "modules" => ("Modules", Vec::new()),
        "commandstats" => ("Commandstats", info_commandstats(e)),
        "errorstats" => ("Errorstats", info_errorstats(e)),
        "latencystats" => ("Latencystats", info_latencystats(e)),
        "cluster" => (
            "Cluster",
            vec![format!("cluster_enabled:{}", u8::from(e.is_cluster_node()))],
        ),
        _ => ("Keyspace", info_keyspace(e)),
    }
}

fn info_server(e: &Engine) -> Vec<String> {
    let uptime = (e.now - e.start_ms).max(0) / 1000;
    let hz = e.config.hz.clamp(1, 500);
    vec![
        format!("redis_version:{REDIS_VERSION}"),
        "redis_git_sha1:00000000".into(),
        "redis_git_dirty:0".into(),
        "redis_build_id:0000000000000000".into(),
        if e.is_cluster_node() {
            "redis_mode:cluster".into()
        } else {
            "redis_mode:standalone".into()
        },
        format!("os:Cachelab {} virtual", env!("CARGO_PKG_VERSION")),
        "arch_bits:64".into(),
        "monotonic_clock:virtual".into(),
        "multiplexing_api:none".into(),
        "atomicvar_api:none".into(),
        "gcc_version:0.0.0".into(),
        "process_id:1".into(),
        "process_supervised:no".into(),
        format!("run_id:{}", hex_id(e.config.seed, b"run_id")),
        format!("tcp_port:{}", e.config.tcp_port),
        format!("server_time_usec:{}", e.now.saturating_mul(1000)),
        format!("uptime_in_seconds:{uptime}"),
        format!("uptime_in_days:{}", uptime / 86400),
        format!("hz:{hz}"),
        format!("configured_hz:{hz}"),
        // Redis's LRU clock: seconds, in 24 bits.
        format!("lru_clock:{}", e.now.div_euclid(1000) & ((1 << 24) - 1)),
        "executable:".into(),
        "config_file:".into(),
        "io_threads_active:0".into(),
    ]
}

fn info_clients(e: &Engine) -> Vec<String> {
    vec![
        format!("connected_clients:{}", e.clients.len()),
        "cluster_connections:0".into(),
        "maxclients:10000".into(),
        "client_recent_max_input_buffer:0".into(),
        "client_recent_max_output_buffer:0".into(),
        // Blocked and tracking clients are counted here once those exist.
        "blocked_clients:0".into(),
        "tracking_clients:0".into(),
        "clients_in_timeout_table:0".into(),
    ]
}

fn info_memory(e: &mut Engine) -> Vec<String> {
    e.account();
    let m = e.memory_report();
    e.stats.peak_memory = e.stats.peak_memory.max(m.used);
    let peak = e.stats.peak_memory;
    let net = m.used.saturating_sub(m.startup).max(1);
    let maxmemory = e.config.maxmemory;
    let h = bytes_to_human;
    vec![
        format!("used_memory:{}", m.used),
        format!("used_memory_human:{}", h(m.used)),
        format!("used_memory_rss:{}", m.rss),
        format!("used_memory_rss_human:{}", h(m.rss)),
        format!("used_memory_peak:{peak}"),
        format!("used_memory_peak_human:{}", h(peak)),
        format!(
            "used_memory_peak_perc:{:.2}%",
            m.used as f64 * 100.0 / peak as f64
        ),
        format!("used_memory_overhead:{}", m.overhead),
        format!("used_memory_startup:{}", m.startup),
        format!("used_memory_dataset:{}", m.dataset),
        format!(
            "used_memory_dataset_perc:{:.2}%",
            m.dataset as f64 * 100.0 / net as f64
        ),
        format!("allocator_allocated:{}", m.used),
        format!("allocator_active:{}", m.used),
        format!("allocator_resident:{}", m.rss),
        "total_system_memory:0".into(),
        "total_system_memory_human:0B".into(),
        "used_memory_lua:32768".into(),
        "used_memory_vm_eval:32768".into(),
        "used_memory_lua_human:32.00K".into(),
        "used_memory_scripts_eval:0".into(),
        "number_of_cached_scripts:0".into(),
        "number_of_functions:0".into(),
        "number_of_libraries:0".into(),
        "used_memory_vm_functions:32768".into(),
        "used_memory_vm_total:65536".into(),
        "used_memory_vm_total_human:64.00K".into(),
        "used_memory_functions:0".into(),
        "used_memory_scripts:0".into(),
        "used_memory_scripts_human:0B".into(),
        format!("maxmemory:{maxmemory}"),
        format!("maxmemory_human:{}", h(maxmemory)),
        format!("maxmemory_policy:{}", e.config.maxmemory_policy.name()),
        "allocator_frag_ratio:1.00".into(),
        "allocator_frag_bytes:0".into(),
        format!("allocator_rss_ratio:{:.2}", m.fragmentation()),
        format!("allocator_rss_bytes:{}", m.rss - m.used),
        "rss_overhead_ratio:1.00".into(),
        "rss_overhead_bytes:0".into(),
        format!("mem_fragmentation_ratio:{:.2}", m.fragmentation()),
        format!("mem_fragmentation_bytes:{}", m.rss - m.used),
        "mem_not_counted_for_evict:0".into(),
        "mem_replication_backlog:0".into(),
        "mem_total_replication_buffers:0".into(),
        "mem_clients_slaves:0".into(),
        format!(
            "mem_clients_normal:{}",
            e.clients.len() as u64 * crate::memory::CLIENT_BYTES
        ),
        "mem_cluster_links:0".into(),
        "mem_aof_buffer:0".into(),
        "mem_allocator:cachelab".into(),
        "active_defrag_running:0".into(),
        "lazyfree_pending_objects:0".into(),
        "lazyfreed_objects:0".into(),
    ]
}

fn info_persistence(e: &Engine) -> Vec<String> {
    e.info_persistence_lines()
}

fn info_stats(e: &Engine) -> Vec<String> {
    let s = &e.stats;
    vec![
        format!("total_connections_received:{}", s.total_connections),
        format!("total_commands_processed:{}", s.total_commands),
        "instantaneous_ops_per_sec:0".into(),
        "total_net_input_bytes:0".into(),
        "total_net_output_bytes:0".into(),
        "total_net_repl_input_bytes:0".into(),
        "total_net_repl_output_bytes:0".into(),
        "instantaneous_input_kbps:0.00".into(),
        "instantaneous_output_kbps:0.00".into(),
        "instantaneous_input_repl_kbps:0.00".into(),
        "instantaneous_output_repl_kbps:0.00".into(),
        "rejected_connections:0".into(),
        "sync_full:0".into(),
        "sync_partial_ok:0".into(),
        "sync_partial_err:0".into(),
        format!("expired_keys:{}", s.expired_keys),
        format!("expired_stale_perc:{:.2}", s.expired_stale_perc * 100.0),
        format!(
            "expired_time_cap_reached_count:{}",
            s.expired_time_cap_reached_count
        ),
        format!(
            "expire_cycle_cpu_milliseconds:{}",
            s.expire_cycle_time_used_us / 1000
        ),
        format!("evicted_keys:{}", s.evicted_keys),
        "evicted_clients:0".into(),
        "total_eviction_exceeded_time:0".into(),
        "current_eviction_exceeded_time:0".into(),
        format!("keyspace_hits:{}", s.keyspace_hits),
        format!("keyspace_misses:{}", s.keyspace_misses),
        // Channel and pattern counts come from the pub/sub state once it exists.
        "pubsub_channels:0".into(),
        "pubsub_patterns:0".into(),
        "pubsubshard_channels:0".into(),
        "latest_fork_usec:0".into(),
        "total_forks:0".into(),
        "migrate_cached_sockets:0".into(),
        "slave_expires_tracked_keys:0".into(),
        "active_defrag_hits:0".into(),
        "active_defrag_misses:0".into(),
        "active_defrag_key_hits:0".into(),
        "active_defrag_key_misses:0".into(),
        "total_active_defrag_time:0".into(),
        "current_active_defrag_time:0".into(),
        "tracking_total_keys:0".into(),
        "tracking_total_items:0".into(),
        "tracking_total_prefixes:0".into(),
        "unexpected_error_replies:0".into(),
        format!("total_error_replies:{}", s.total_error_replies),
        "dump_payload_sanitizations:0".into(),
        format!("total_reads_processed:{}", s.total_commands),
        format!("total_writes_processed:{}", s.total_commands),
        "io_threaded_reads_processed:0".into(),
        "io_threaded_writes_processed:0".into(),
        "reply_buffer_shrinks:0".into(),
        "reply_buffer_expands:0".into(),
    ]
}

fn info_replication(e: &Engine) -> Vec<String> {
    vec![
        "role:master".into(),
        "connected_slaves:0".into(),
        "master_failover_state:no-failover".into(),
        format!("master_replid:{}", hex_id(e.config.seed, b"replid")),
        format!("master_replid2:{}", "0".repeat(40)),
        "master_repl_offset:0".into(),
        "second_repl_offset:-1".into(),
        "repl_backlog_active:0".into(),
        "repl_backlog_size:1048576".into(),
        "repl_backlog_first_byte_offset:0".into(),
        "repl_backlog_histlen:0".into(),
    ]
}

/// CPU time is the one thing virtual time cannot stand in for; the section reports none.
fn info_cpu(_e: &Engine) -> Vec<String> {
    [
        "used_cpu_sys:0.000000",
        "used_cpu_user:0.000000",
        "used_cpu_sys_children:0.000000",
        "used_cpu_user_children:0.000000",
        "used_cpu_sys_main_thread:0.000000",
        "used_cpu_user_main_thread:0.000000",
    ]
    .map(String::from)
    .to_vec()
}

/// Commands run in no measurable (virtual) time, so `usec` is 0.
fn info_commandstats(e: &Engine) -> Vec<String> {
    e.stats
        .commands()
        .into_iter()
        .map(|(name, s)| {
            format!(
                "cmdstat_{name}:calls={},usec=0,usec_per_call=0.00,rejected_calls={},failed_calls={}",
                s.calls, s.rejected_calls, s.failed_calls
            )
        })
        .collect()
}

fn info_errorstats(e: &Engine) -> Vec<String> {
    e.stats
        .errors
        .iter()
        .map(|(code, n)| {
            format!(
                "errorstat_{}:count={n}",
                code.replace([':', '#', '\r', '\n'], "_")
            )
        })
        .collect()
}

fn info_latencystats(e: &Engine) -> Vec<String> {
    e.stats
        .commands()
        .into_iter()
        .filter(|(_, s)| s.calls > 0)
        .map(|(name, _)| format!("latency_percentiles_usec_{name}:p50=0.001,p99=0.001,p99.9=0.001"))
        .collect()
}

fn info_keyspace(e: &Engine) -> Vec<String> {
    e.dbs
        .iter()
        .enumerate()
        .filter(|(_, db)| !db.keys.is_empty() || !db.expires.is_empty())
        .map(|(i, db)| {
            format!(
                "db{i}:keys={},expires={},avg_ttl={}",
                db.keys.len(),
                db.expires.len(),
                db.avg_ttl
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// COMMAND

/// ACL categories in the order Redis lists them.
const ACL_CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The ACL categories of a command: the ones Redis implies from flags (write, read, admin and
/// dangerous, pubsub, fast or slow, blocking) and the one its group stands for.
pub fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    let f = spec.flags;
    let write = f.has(Flags::WRITE);
    let read = f.has(Flags::READONLY);
    let from_group: &[&str] = match spec.group {
        "generic" => &["keyspace"],
        "string" => &["string"],
        "list" => &["list"],
        "set" => &["set"],
        "sorted-set" => &["sortedset"],
        "hash" => &["hash"],
        "bitmap" => &["bitmap"],
        "hyperloglog" => &["hyperloglog"],
        "geo" => &["geo"],
        "stream" => &["stream"],
        "pubsub" => &["pubsub"],
        "connection" => &["connection"],
        "transactions" => &["transaction"],
        "scripting" => &["scripting"],
        // Server commands that touch data (FLUSHALL, SWAPDB, DBSIZE) are keyspace commands, and
        // the writing ones are dangerous.
        "server" if write => &["keyspace", "dangerous"],
        "server" if read => &["keyspace"],
        _ => &[],
    };
    ACL_CATEGORIES
        .iter()
        .copied()
        .filter(|cat| match *cat {
            "write" => write,
            "read" => read,
            "admin" => f.has(Flags::ADMIN),
            "dangerous" => f.has(Flags::ADMIN) || from_group.contains(cat),
            "pubsub" => f.has(Flags::PUBSUB) || from_group.contains(cat),
            "fast" => f.has(Flags::FAST),
            "slow" => !f.has(Flags::FAST),
            "blocking" => f.has(Flags::BLOCKING),
            other => from_group.contains(&other),
        })
        .collect()
}

/// How a command's keys are accessed, in key-spec flag names.
fn key_flags(spec: &CommandSpec) -> [&'static str; 2] {
    if spec.flags.has(Flags::WRITE) {
        ["RW", "update"]
    } else if spec.flags.has(Flags::READONLY) {
        ["RO", "access"]
    } else {
        ["RW", "access"]
    }
}

fn status_set(items: &[&'static str]) -> Reply {
    Reply::Set(items.iter().map(|s| Reply::simple(s)).collect())
}

fn map(pairs: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk(k), v))
            .collect(),
    )
}

/// The one key spec the (first, last, step) triple describes: keys begin at an index and run
/// over a range.
fn key_specs(spec: &CommandSpec) -> Reply {
    let (first, last, step) = spec.keys;
    if first <= 0 {
        return Reply::Set(vec![]);
    }
    let lastkey = if last < 0 { last } else { last - first };
    Reply::Set(vec![map(vec![
        ("flags", status_set(&key_flags(spec))),
        (
            "begin_search",
            map(vec![
                ("type", Reply::bulk("index")),
                ("spec", map(vec![("index", Reply::Integer(first as i64))])),
            ]),
        ),
        (
            "find_keys",
            map(vec![
                ("type", Reply::bulk("range")),
                (
                    "spec",
                    map(vec![
                        ("lastkey", Reply::Integer(lastkey as i64)),
                        ("keystep", Reply::Integer(step as i64)),
                        ("limit", Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

/// COMMAND INFO's ten-element description of one command.
pub fn command_info_reply(spec: &CommandSpec) -> Reply {
    let (first, last, step) = spec.keys;
    let subcommands = if spec.subcommands.is_empty() {
        Reply::Set(vec![])
    } else {
        Reply::Array(spec.subcommands.iter().map(command_info_reply).collect())
    };
    Reply::Array(vec![
        Reply::bulk(spec.name),
        Reply::Integer(spec.arity as i64),
        status_set(&spec.flags.names()),
        Reply::Integer(first as i64),
        Reply::Integer(last as i64),
        Reply::Integer(step as i64),
        Reply::Set(
            acl_categories(spec)
                .into_iter()
                .map(|c| Reply::Simple(format!("@{c}").into()))
                .collect(),
        ),
        Reply::Set(vec![]),
        key_specs(spec),
        subcommands,
    ])
}

/// COMMAND DOCS's map for one command.
pub fn command_docs_reply(spec: &CommandSpec) -> Reply {
    let mut pairs = vec![
        ("summary", Reply::bulk(spec.summary)),
        ("since", Reply::bulk(spec.since)),
        ("group", Reply::bulk(spec.group)),
    ];
    let args = parse_syntax(spec.syntax);
    if !args.is_empty() {
        let has_keys = spec.keys.0 > 0;
        pairs.push((
            "arguments",
            Reply::Array(args.iter().map(|a| a.to_reply(has_keys)).collect()),
        ));
    }
    if !spec.subcommands.is_empty() {
        let subs = spec
            .subcommands
            .iter()
            .map(|s| (Reply::bulk(s.name), command_docs_reply(s)))
            .collect();
        pairs.push(("subcommands", Reply::Map(subs)));
    }
    map(pairs)
}

/// Redis's `lookupCommandBySds`: `get`, or `config|get` for a subcommand, any case.
fn spec_by_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&b| b == b'|');
    let base = table::get(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) if !base.subcommands.is_empty() => table::get_sub(base, sub),
        _ => None,
    }
}

fn command_all(_e: &mut Engine, _c: &Call) -> Reply {
    Reply::Array(table::all().iter().map(|s| command_info_reply(s)).collect())
}

fn command_count(_e: &mut Engine, _c: &Call) -> Reply {
    Reply::Integer(table::all().len() as i64)
}

fn command_info(_e: &mut Engine, c: &Call) -> Reply {
    if c.argv.len() == 2 {
        return command_all(_e, c);
    }
    Reply::Array(
        c.argv[2..]
            .iter()
            .map(|n| spec_by_full_name(n).map_or(Reply::Nil, command_info_reply))
            .collect(),
    )
}

fn command_docs(_e: &mut Engine, c: &Call) -> Reply {
    let specs: Vec<&'static CommandSpec> = if c.argv.len() == 2 {
        table::all().to_vec()
    } else {
        c.argv[2..]
            .iter()
            .filter_map(|n| spec_by_full_name(n))
            .collect()
    };
    Reply::Map(
        specs
            .into_iter()
            .map(|s| (Reply::bulk(s.name), command_docs_reply(s)))
            .collect(),
    )
}

enum ListFilter<'a> {
    Module,
    AclCat(&'a [u8]),
    Pattern(&'a [u8]),
}

fn command_list(_e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let mut filter = None;
    let mut i = 2;
    while i < argv.len() {
        if is(argv[i], "filterby") && argv.len() - 1 - i == 2 {
            let (kind, arg) = (argv[i + 1], argv[i + 2]);
            filter = Some(if is(kind, "module") {
                ListFilter::Module
            } else if is(kind, "aclcat") {
                ListFilter::AclCat(arg)
            } else if is(kind, "pattern") {
                ListFilter::Pattern(arg)
            } else {
                return Reply::error(error::SYNTAX);
            });
            i += 3;
        } else {
            return Reply::error(error::SYNTAX);
        }
    }
    let keep = |s: &CommandSpec| match &filter {
        None => true,
        // No modules are loaded, so no command belongs to one.
        Some(ListFilter::Module) => false,
        Some(ListFilter::AclCat(cat)) => acl_categories(s)
            .iter()
            .any(|c| c.as_bytes().eq_ignore_ascii_case(cat)),
        Some(ListFilter::Pattern(p)) => glob::matches_nocase(p, s.name.as_bytes()),
    };
    let mut names = Vec::new();
    for spec in table::all() {
        if keep(spec) {
            names.push(Reply::bulk(spec.name));
        }
        for sub in spec.subcommands {
            if keep(sub) {
                names.push(Reply::bulk(sub.name));
            }
        }
    }
    Reply::Array(names)
}

/// COMMAND GETKEYS's checks, in Redis's order; the spec and the keys of `line`.
fn keys_of(line: &[&[u8]]) -> Result<(&'static CommandSpec, Vec<KeyRef>), Reply> {
    let spec = table::lookup(line).map_err(|_| Reply::error(error::GETKEYS_INVALID_COMMAND))?;
    if !keyspec::has_keys(spec) {
        return Err(Reply::error(error::GETKEYS_NO_KEYS));
    }
    if !spec.arity_ok(line.len()) {
        return Err(Reply::error(error::GETKEYS_ARITY));
    }
    let keys = keyspec::find_keys(spec, line);
    // EVAL and FCALL may run without keys; any other command that names none is malformed.
    if keys.is_empty() && !keyspec::keys_optional(spec) {
        return Err(Reply::error(error::GETKEYS_INVALID_ARGS));
    }
    Ok((spec, keys))
}

fn command_getkeys(_e: &mut Engine, c: &Call) -> Reply {
    let line = &c.argv[2..];
    match keys_of(line) {
        Ok((_, keys)) => Reply::Array(keys.into_iter().map(|k| Reply::bulk(line[k.pos])).collect()),
        Err(err) => err,
    }
}

fn command_getkeysandflags(_e: &mut Engine, c: &Call) -> Reply {
    let line = &c.argv[2..];
    match keys_of(line) {
        Ok((spec, keys)) => Reply::Array(
            keys.into_iter()
                .map(|k| {
                    let flags = match k.flags {
                        Some(f) => status_set(f),
                        None => status_set(&key_flags(spec)),
                    };
                    Reply::Array(vec![Reply::bulk(line[k.pos]), flags])
                })
                .collect(),
        ),
        Err(err) => err,
    }
}

fn command_help(_e: &mut Engine, c: &Call) -> Reply {
    help_reply(
        c.argv[0],
        &[
            "(no subcommand)",
            "    Describes every command (as COMMAND INFO does).",
            "COUNT",
            "    Returns how many commands there are.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Lists command names, subcommands included.",
            "INFO [<command-name> ...]",
            "    Describes the named commands, or all of them.",
            "DOCS [<command-name> ...]",
            "    Documents the named commands, or all of them.",
            "GETKEYS <full-command>",
            "    Returns the keys a full command line names.",
            "GETKEYSANDFLAGS <full-command>",
            "    Returns those keys with how the command accesses each.",
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Argument trees for COMMAND DOCS, parsed from the syntax lines of the table.

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct DocArg {
    pub name: String,
    /// `string`, `integer`, `double`, `key`, `pattern`, `unix-time`, `pure-token`, `oneof`,
    /// `block`.
    pub kind: &'static str,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub args: Vec<DocArg>,
}

impl DocArg {
    fn value(name: &str) -> DocArg {
        DocArg {
            name: name.to_string(),
            kind: kind_of(name),
            token: None,
            optional: false,
            multiple: false,
            args: vec![],
        }
    }

    fn to_reply(&self, has_keys: bool) -> Reply {
        let mut pairs = vec![
            ("name", Reply::bulk(self.name.clone())),
            ("type", Reply::bulk(self.kind)),
        ];
        if self.kind == "key" && has_keys {
            pairs.push(("key_spec_index", Reply::Integer(0)));
        }
        if let Some(t) = &self.token {
            pairs.push(("token", Reply::bulk(t.clone())));
        }
        let mut flags = Vec::new();
        if self.optional {
            flags.push("optional");
        }
        if self.multiple {
            flags.push("multiple");
        }
        if !flags.is_empty() {
            pairs.push(("flags", status_set(&flags)));
        }
        if matches!(self.kind, "oneof" | "block") {
            pairs.push((
                "arguments",
                Reply::Array(self.args.iter().map(|a| a.to_reply(has_keys)).collect()),
            ));
        }
        map(pairs)
    }
}

/// The argument type a value's name suggests.
fn kind_of(name: &str) -> &'static str {
    const INTEGERS: [&str; 21] = [
        "count",
        "seconds",
        "milliseconds",
        "timeout",
        "index",
        "index1",
        "index2",
        "offset",
        "start",
        "end",
        "stop",
        "db",
        "numkeys",
        "increment",
        "decrement",
        "client-id",
        "protover",
        "limit",
        "samples",
        "position",
        "numreplicas",
    ];
    if name == "key" || name.ends_with("key") || name == "source" || name == "destination" {
        "key"
    } else if name == "pattern" {
        "pattern"
    } else if name.starts_with("unix-time") {
        "unix-time"
    } else if name.contains("score") || name.contains("float") {
        "double"
    } else if INTEGERS.contains(&name) {
        "integer"
    } else {
        "string"
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok<'a> {
    Open(bool), // true for '[', false for '('
    Close,
    Bar,
    Ellipsis,
    Word(&'a str),
}

fn tokenize(s: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'[' => {
                out.push(Tok::Open(true));
                i += 1;
            }
            b'(' => {
                out.push(Tok::Open(false));
                i += 1;
            }
            b']' | b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'|' => {
                out.push(Tok::Bar);
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !matches!(b[i], b' ' | b'\t' | b'[' | b']' | b'(' | b')' | b'|')
                {
                    i += 1;
                }
                let w = &s[start..i];
                out.push(if w == "..." {
                    Tok::Ellipsis
                } else {
                    Tok::Word(w)
                });
            }
        }
    }
    out
}

/// A word in capitals (NX, NO-EVICT, ON) is a literal token; anything else names a value.
fn is_token_word(w: &str) -> bool {
    w.bytes().any(|c| c.is_ascii_alphanumeric()) && !w.bytes().any(|c| c.is_ascii_lowercase())
}

/// Parses a syntax line (`key value [NX | XX] [EX seconds | PX milliseconds]`) into the
/// argument tree COMMAND DOCS reports. A capitalised word followed by a value name becomes one
/// argument with that token; `[x ...]` after `x` marks `x` as repeatable; alternatives become a
/// `oneof`, and a bracketed run of several arguments a `block`.
pub fn parse_syntax(syntax: &str) -> Vec<DocArg> {
    let toks = tokenize(syntax);
    let mut pos = 0;
    let alts = parse_alts(&toks, &mut pos);
    match alts.len() {
        0 => vec![],
        1 => alts.into_iter().next().unwrap_or_default(),
        _ => vec![one_of(alts, false)],
    }
}

fn parse_alts(toks: &[Tok], pos: &mut usize) -> Vec<Vec<DocArg>> {
    let mut alts = vec![parse_seq(toks, pos)];
    while toks.get(*pos) == Some(&Tok::Bar) {
        *pos += 1;
        alts.push(parse_seq(toks, pos));
    }
    alts.retain(|a| !a.is_empty());
    alts
}

fn names(args: &[DocArg]) -> Vec<&str> {
    args.iter().map(|a| a.name.as_str()).collect()
}

fn parse_seq(toks: &[Tok], pos: &mut usize) -> Vec<DocArg> {
    let mut items: Vec<DocArg> = Vec::new();
    while let Some(&t) = toks.get(*pos) {
        match t {
            Tok::Close | Tok::Bar => break,
            Tok::Ellipsis => {
                *pos += 1;
                if let Some(last) = items.last_mut() {
                    last.multiple = true;
                }
            }
            Tok::Word(w) if is_token_word(w) => {
                *pos += 1;
                match toks.get(*pos) {
                    Some(Tok::Word(v)) if !is_token_word(v) => {
                        *pos += 1;
                        let mut a = DocArg::value(v);
                        a.token = Some(w.to_string());
                        items.push(a);
                    }
                    _ => items.push(DocArg {
                        name: w.to_ascii_lowercase(),
                        kind: "pure-token",
                        token: Some(w.to_string()),
                        optional: false,
                        multiple: false,
                        args: vec![],
                    }),
                }
            }
            Tok::Word(w) => {
                *pos += 1;
                items.push(DocArg::value(w));
            }
            Tok::Open(optional) => {
                *pos += 1;
                let alts = parse_alts(toks, pos);
                if toks.get(*pos) == Some(&Tok::Close) {
                    *pos += 1;
                }
                // `x [x ...]` or `a b [a b ...]`: the group repeats what precedes it.
                if let [inner] = alts.as_slice() {
                    let n = inner.len();
                    let repeats = inner.last().is_some_and(|a| a.multiple)
                        && n <= items.len()
                        && names(&items[items.len() - n..]) == names(inner);
                    if repeats {
                        if n == 1 {
                            if let Some(last) = items.last_mut() {
                                last.multiple = true;
                            }
                        } else {
                            let tail: Vec<DocArg> = items.split_off(items.len() - n);
                            let mut block = block_of(tail);
                            block.multiple = true;
                            items.push(block);
                        }
                        continue;
                    }
                }
                let mut group = match alts.len() {
                    0 => continue,
                    1 => {
                        let inner = alts.into_iter().next().unwrap_or_default();
                        if inner.len() == 1 {
                            inner
                                .into_iter()
                                .next()
                                .unwrap_or_else(|| DocArg::value("arg"))
                        } else {
                            block_of(inner)
                        }
                    }
                    _ => one_of(alts, false),
                };
                group.optional |= optional;
                items.push(group);
            }
        }
    }
    items
}

/// Several arguments that go together. When the first carries a token (`AUTH username
/// password`), the token introduces the whole block.
fn block_of(mut args: Vec<DocArg>) -> DocArg {
    let token = args.first_mut().and_then(|a| {
        if a.kind == "pure-token" {
            None
        } else {
            a.token.take()
        }
    });
    let name = match &token {
        Some(t) => t.to_ascii_lowercase(),
        None => args
            .first()
            .map_or_else(|| "arg".to_string(), |a| a.name.clone()),
    };
    DocArg {
        name,
        kind: "block",
        token,
        optional: false,
        multiple: false,
        args,
    }
}

fn one_of(alts: Vec<Vec<DocArg>>, optional: bool) -> DocArg {
    let args: Vec<DocArg> = alts
        .into_iter()
        .map(|alt| {
            if alt.len() == 1 {
                alt.into_iter()
                    .next()
                    .unwrap_or_else(|| DocArg::value("arg"))
            } else {
                block_of(alt)
            }
        })
        .collect();
    let name = args
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join("-");
    DocArg {
        name,
        kind: "oneof",
        token: None,
        optional,
        multiple: false,
        args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{engine, err};
    use crate::{Config, Protocol};

    fn text(r: Reply) -> String {
        match r {
            Reply::Verbatim("txt", t) => String::from_utf8(t).expect("utf8"),
            other => panic!("verbatim expected, got {other:?}"),
        }
    }

    #[test]
    fn time_reads_the_virtual_clock() {
        let (mut e, c) = engine();
        assert_eq!(
            e.run(c, &["TIME"], 1_700_000_123_456),
            Reply::bulks(["1700000123", "456000"])
        );
    }

    #[test]
    fn flush_and_dbsize() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "a", "1"], 0);
        e.run(c, &["SELECT", "1"], 0);
        e.run(c, &["SET", "b", "1"], 0);
        e.run(c, &["SET", "c", "1"], 0);
        assert_eq!(e.run(c, &["DBSIZE"], 0), Reply::Integer(2));
        assert_eq!(err(e.run(c, &["FLUSHDB", "now"], 0)), error::SYNTAX);
        assert_eq!(
            err(e.run(c, &["FLUSHDB", "SYNC", "ASYNC"], 0)),
            error::SYNTAX
        );
        e.drain_events();
        assert_eq!(e.run(c, &["FLUSHDB", "async"], 0), Reply::OK);
        assert_eq!(e.drain_events(), vec![Event::Flushed { db: Some(1) }]);
        assert_eq!(e.run(c, &["DBSIZE"], 0), Reply::Integer(0));
        assert_eq!(e.dbsize(0), 1);
        assert_eq!(e.run(c, &["FLUSHALL"], 0), Reply::OK);
        assert_eq!(e.dbsize(0), 0);
    }

    #[test]
    fn swapdb() {
        let (mut e, c) = engine();
        e.run(c, &["SET", "a", "1", "PX", "100000"], 0);
        assert_eq!(
            err(e.run(c, &["SWAPDB", "x", "1"], 0)),
            "ERR invalid first DB index"
        );
        assert_eq!(
            err(e.run(c, &["SWAPDB", "0", "2147483648"], 0)),
            "ERR invalid second DB index"
        );
        assert_eq!(
            err(e.run(c, &["SWAPDB", "0", "16"], 0)),
            error::DB_INDEX_OUT_OF_RANGE
        );
        assert_eq!(
            err(e.run(c, &["SWAPDB", "-1", "0"], 0)),
            error::DB_INDEX_OUT_OF_RANGE
        );
        assert_eq!(e.run(c, &["SWAPDB", "0", "3"], 0), Reply::OK);
        assert_eq!(e.run(c, &["DBSIZE"], 0), Reply::Integer(0));
        assert_eq!(e.dbsize(3), 1);
        assert_eq!(e.dbs[3].expires.len(), 1);
        assert_eq!(e.run(c, &["SWAPDB", "3", "3"], 0), Reply::OK);
    }

    #[test]
    fn debug_subcommands() {
        let (mut e, c) = engine();
        assert_eq!(e.run(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], 0), Reply::OK);
        assert!(!e.config().active_expire_enabled);
        assert_eq!(
            e.run(c, &["DEBUG", "set-active-expire", " 1x"], 0),
            Reply::OK
        );
        assert!(e.config().active_expire_enabled);
        assert_eq!(e.run(c, &["DEBUG", "SLEEP", "0"], 0), Reply::OK);
        assert_eq!(e.run(c, &["DEBUG", "SLEEP", "5"], 0), Reply::OK);
        assert_eq!(
            err(e.run(c, &["debug", "sleep"], 0)),
            "ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP."
        );
    }

    #[test]
    fn info_sections_and_format() {
        let mut e = Engine::new_at(Config::default(), 1_000_000);
        let c = e.connect(1_000_000);
        assert_eq!(
            text(e.run(c, &["INFO", "keyspace"], 1_000_000)),
            "# Keyspace\r\n"
        );
        e.run(c, &["SET", "a", "1", "EX", "100"], 1_000_000);
        e.run(c, &["SET", "b", "1"], 1_000_000);
        assert_eq!(
            text(e.run(c, &["INFO", "cluster", "KEYSPACE"], 1_000_000)),
            "# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n"
        );
        assert_eq!(text(e.run(c, &["INFO", "nosuch"], 1_000_000)), "");
        let server = text(e.run(c, &["INFO", "server"], 4_500_000));
        assert!(server.contains("\r\nredis_version:7.0.15\r\n"), "{server}");
        assert!(
            server.contains("\r\nuptime_in_seconds:3500\r\n"),
            "{server}"
        );
        let default = text(e.run(c, &["INFO"], 4_500_000));
        let titles: Vec<&str> = default.lines().filter(|l| l.starts_with("# ")).collect();
        assert_eq!(
            titles,
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Errorstats",
                "# Cluster",
                "# Keyspace"
            ]
        );
        let all = text(e.run(c, &["INFO", "all"], 4_500_000));
        assert!(all.contains("# Commandstats\r\ncmdstat_info:calls=5,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n"), "{all}");
        // RESP2 carries INFO as a bulk string, RESP3 as verbatim text.
        let r = e.run(c, &["INFO", "keyspace"], 0);
        assert!(crate::to_resp(&r, Protocol::Resp2).starts_with(b"$"));
        assert!(crate::to_resp(&r, Protocol::Resp3).starts_with(b"="));
    }

    #[test]
    fn info_stats_count_and_resetstat_clears() {
        let (mut e, c) = engine();
        e.run(c, &["GET", "nope"], 0);
        e.run(c, &["SET", "k", "v"], 0);
        e.run(c, &["GET", "k"], 0);
        e.run(c, &["GET"], 0);
        e.run(c, &["NOSUCH"], 0);
        let stats = text(e.run(c, &["INFO", "stats", "errorstats", "commandstats"], 0));
        assert!(
            stats.contains("\r\nkeyspace_hits:1\r\nkeyspace_misses:1\r\n"),
            "{stats}"
        );
        assert!(stats.contains("\r\ntotal_error_replies:2\r\n"), "{stats}");
        assert!(stats.contains("errorstat_ERR:count=2\r\n"), "{stats}");
        assert!(
            stats.contains(
                "cmdstat_get:calls=2,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
            ),
            "{stats}"
        );
        assert_eq!(e.run(c, &["CONFIG", "RESETSTAT"], 0), Reply::OK);
        let stats = text(e.run(c, &["INFO", "stats", "errorstats"], 0));
        assert!(
            stats.contains("\r\ntotal_commands_processed:1\r\n"),
            "{stats}"
        );
        assert!(stats.contains("\r\nkeyspace_hits:0\r\n"), "{stats}");
        assert!(stats.ends_with("# Errorstats\r\n"), "{stats}");
    }

    #[test]
    fn bytes_to_human_matches_redis() {
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1410200), "1.34M");
        assert_eq!(bytes_to_human(1 << 30), "1.00G");
        assert_eq!(bytes_to_human(32768), "32.00K");
    }

    #[test]
    fn command_count_info_and_list() {
        let (mut e, c) = engine();
        assert_eq!(
            e.run(c, &["COMMAND", "COUNT"], 0),
            Reply::Integer(table::all().len() as i64)
        );
        let Reply::Array(infos) = e.run(c, &["COMMAND", "INFO", "get", "nosuch", "CONFIG|GET"], 0)
        else {
            panic!()
        };
        assert_eq!(infos.len(), 3);
        let Reply::Array(get) = &infos[0] else {
            panic!()
        };
        assert_eq!(get.len(), 10);
        assert_eq!(get[0], Reply::bulk("get"));
        assert_eq!(get[1], Reply::Integer(2));
        assert_eq!(get[2], status_set(&["readonly", "fast"]));
        assert_eq!(
            &get[3..6],
            &[Reply::Integer(1), Reply::Integer(1), Reply::Integer(1)]
        );
        assert_eq!(
            get[6],
            Reply::Set(["@read", "@string", "@fast"].map(Reply::simple).to_vec())
        );
        assert_eq!(infos[1], Reply::Nil);
        let Reply::Array(cfg) = &infos[2] else {
            panic!()
        };
        assert_eq!(cfg[0], Reply::bulk("config|get"));
        assert_eq!(
            cfg[6],
            Reply::Set(
                ["@admin", "@slow", "@dangerous"]
                    .map(Reply::simple)
                    .to_vec()
            )
        );
        let Reply::Array(all) = e.run(c, &["COMMAND"], 0) else {
            panic!()
        };
        assert_eq!(all.len(), table::all().len());
        assert_eq!(
            e.run(
                c,
                &["COMMAND", "LIST", "FILTERBY", "pattern", "client|s*"],
                0
            ),
            Reply::bulks(["client|setname"])
        );
        assert_eq!(
            e.run(c, &["COMMAND", "LIST", "FILTERBY", "aclcat", "nosuch"], 0),
            Reply::Array(vec![])
        );
        assert_eq!(
            err(e.run(c, &["COMMAND", "LIST", "FILTERBY", "foo", "bar"], 0)),
            error::SYNTAX
        );
        assert_eq!(err(e.run(c, &["COMMAND", "LIST", "x"], 0)), error::SYNTAX);
        assert_eq!(
            err(e.run(c, &["COMMAND", "FOO"], 0)),
            "ERR unknown subcommand 'FOO'. Try COMMAND HELP."
        );
    }

    #[test]
    fn command_getkeys() {
        let (mut e, c) = engine();
        assert_eq!(
            e.run(c, &["COMMAND", "GETKEYS", "set", "a", "b"], 0),
            Reply::bulks(["a"])
        );
        assert_eq!(
            err(e.run(c, &["COMMAND", "GETKEYS", "nosuch", "a"], 0)),
            "ERR Invalid command specified"
        );
        assert_eq!(
            err(e.run(c, &["COMMAND", "GETKEYS", "ping", "x"], 0)),
            "ERR The command has no key arguments"
        );
        assert_eq!(
            err(e.run(c, &["COMMAND", "GETKEYS", "get", "a", "b"], 0)),
            "ERR Invalid number of arguments specified for command"
        );
        assert_eq!(
            err(e.run(c, &["COMMAND", "GETKEYS", "config", "nosuch"], 0)),
            "ERR Invalid command specified"
        );
        assert_eq!(
            e.run(c, &["COMMAND", "GETKEYSANDFLAGS", "get", "k"], 0),
            Reply::Array(vec![Reply::Array(vec![
                Reply::bulk("k"),
                status_set(&["RO", "access"])
            ])])
        );
    }

    #[test]
    fn command_docs_shape() {
        let (mut e, c) = engine();
        let Reply::Map(docs) = e.run(c, &["COMMAND", "DOCS", "echo", "nosuch"], 0) else {
            panic!()
        };
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].0, Reply::bulk("echo"));
        let expected = map(vec![
            ("summary", Reply::bulk("Returns the given string.")),
            ("since", Reply::bulk("1.0.0")),
            ("group", Reply::bulk("connection")),
            (
                "arguments",
                Reply::Array(vec![map(vec![
                    ("name", Reply::bulk("message")),
                    ("type", Reply::bulk("string")),
                ])]),
            ),
        ]);
        assert_eq!(docs[0].1, expected);
        let Reply::Map(docs) = e.run(c, &["COMMAND", "DOCS", "client"], 0) else {
            panic!()
        };
        let Reply::Map(fields) = &docs[0].1 else {
            panic!()
        };
        assert!(fields.iter().any(|(k, v)| *k == Reply::bulk("subcommands")
            && matches!(v, Reply::Map(m) if m.len() == CLIENT_SUBS)));
    }

    const CLIENT_SUBS: usize = 8;

    #[test]
    fn syntax_parser() {
        let args =
            parse_syntax("key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]");
        assert_eq!(
            names(&args),
            [
                "key",
                "value",
                "nx-xx",
                "get",
                "seconds-milliseconds-keepttl"
            ]
        );
        assert_eq!(args[0].kind, "key");
        assert!(args[2].optional && args[2].kind == "oneof");
        assert_eq!(args[2].args[0].token.as_deref(), Some("NX"));
        assert_eq!(args[3].kind, "pure-token");
        assert_eq!(args[4].args[0].token.as_deref(), Some("EX"));
        assert_eq!(args[4].args[0].kind, "integer");

        let args = parse_syntax("key [key ...]");
        assert_eq!(args.len(), 1);
        assert!(args[0].multiple && !args[0].optional);

        let args = parse_syntax("parameter value [parameter value ...]");
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].kind, "block");
        assert!(args[0].multiple);
        assert_eq!(names(&args[0].args), ["parameter", "value"]);

        let args = parse_syntax("[protover [AUTH username password] [SETNAME clientname]]");
        assert_eq!(args[0].kind, "block");
        assert!(args[0].optional);
        assert_eq!(names(&args[0].args), ["protover", "auth", "clientname"]);
        assert_eq!(args[0].args[1].token.as_deref(), Some("AUTH"));
        assert_eq!(names(&args[0].args[1].args), ["username", "password"]);

        let args = parse_syntax("[TYPE NORMAL | MASTER] [ID client-id [client-id ...]]");
        assert_eq!(args[1].name, "client-id");
        assert!(args[1].optional && args[1].multiple);
        assert_eq!(args[1].kind, "integer");

        let args = parse_syntax("ON | OFF");
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].kind, "oneof");
        assert!(parse_syntax("").is_empty());
    }
}
