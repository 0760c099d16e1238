//! MEMORY: USAGE, STATS, DOCTOR, PURGE, MALLOC-STATS, HELP. The numbers come from the memory
//! model (`crate::memory`), which sizes every value as Redis 7.0 and jemalloc would.

use crate::args::{int, is};
use crate::memory::{MemoryReport, DEFAULT_USAGE_SAMPLES};
use crate::table::{container, CommandSpec};
use crate::{error, flags, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "memory",
    arity: -2,
    flags: flags!(),
    keys: (0, 0, 0),
    group: "server",
    since: "4.0.0",
    summary: "Reports how much memory keys and the server use.",
    syntax: "subcommand [arguments]",
    handler: container,
    subcommands: SUBCOMMANDS,
}];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "memory|doctor",
        arity: 2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Explains, in a few sentences, whatever looks wrong with memory use.",
        syntax: "",
        handler: doctor,
        subcommands: &[],
    },
    CommandSpec {
        name: "memory|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Lists the MEMORY subcommands.",
        syntax: "",
        handler: help,
        subcommands: &[],
    },
    CommandSpec {
        name: "memory|malloc-stats",
        arity: 2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Prints the allocator's statistics, as far as the model has any.",
        syntax: "",
        handler: malloc_stats,
        subcommands: &[],
    },
    CommandSpec {
        name: "memory|purge",
        arity: 2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Makes the allocator hand freed pages back to the system.",
        syntax: "",
        handler: purge,
        subcommands: &[],
    },
    CommandSpec {
        name: "memory|stats",
        arity: 2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Breaks the server's memory use down into its parts.",
        syntax: "",
        handler: stats,
        subcommands: &[],
    },
    CommandSpec {
        name: "memory|usage",
        arity: -3,
        flags: flags!(READONLY),
        keys: (2, 2, 1),
        group: "server",
        since: "4.0.0",
        summary: "Estimates the bytes a key and its value take.",
        syntax: "key [SAMPLES count]",
        handler: usage,
        subcommands: &[],
    },
];

fn help(_e: &mut Engine, c: &Call) -> Reply {
    crate::cmd::server::help_reply(
        c.argv[0],
        &[
            "DOCTOR",
            "    Describe memory problems, if any.",
            "MALLOC-STATS",
            "    Show the allocator's internal statistics.",
            "PURGE",
            "    Ask the allocator to give unused pages back.",
            "STATS",
            "    Show how the server's memory is used.",
            "USAGE <key> [SAMPLES <count>]",
            "    Give the bytes used by <key> and its value. Large values are estimated from",
            "    <count> elements (default: 5, 0 means every element).",
        ],
    )
}

fn usage(e: &mut Engine, c: &Call) -> Reply {
    let mut samples = DEFAULT_USAGE_SAMPLES;
    let mut j = 3;
    while j < c.argv.len() {
        if is(c.argv[j], "samples") && j + 1 < c.argv.len() {
            let n = crate::tri!(int(c.argv[j + 1]));
            if n < 0 {
                return Reply::error(error::SYNTAX);
            }
            samples = if n == 0 {
                0
            } else {
                n.min(usize::MAX as i64) as usize
            };
            j += 2;
        } else {
            return Reply::error(error::SYNTAX);
        }
    }
    match e.memory_usage(c.db, c.argv[2], samples) {
        Some(n) => Reply::Integer(n as i64),
        None => Reply::Nil,
    }
}

fn stats(e: &mut Engine, _c: &Call) -> Reply {
    e.account();
    let m = e.memory_report();
    e.stats.peak_memory = e.stats.peak_memory.max(m.used);
    let peak = e.stats.peak_memory;
    let int = |n: u64| Reply::Integer(n as i64);
    let key = |s: &str| Reply::bulk(s);
    let mut out: Vec<(Reply, Reply)> = vec![
        (key("peak.allocated"), int(peak)),
        (key("total.allocated"), int(m.used)),
        (key("startup.allocated"), int(m.startup)),
        (key("replication.backlog"), int(0)),
        (key("clients.slaves"), int(0)),
        (key("clients.normal"), int(m.clients)),
        (key("cluster.links"), int(0)),
        (key("aof.buffer"), int(0)),
        (key("lua.caches"), int(0)),
        (key("functions.caches"), int(0)),
    ];
    for (i, db) in e.dbs.iter().enumerate() {
        if db.keys.is_empty() && db.expires.is_empty() {
            continue;
        }
        let main = db.keys.len() as u64 * (24 + 16) + db.keys.slots() as u64 * 8;
        let expires = db.expires.len() as u64 * 24 + db.expires.slots() as u64 * 8;
        out.push((
            Reply::bulk(format!("db.{i}")),
            Reply::Map(vec![
                (key("overhead.hashtable.main"), int(main)),
                (key("overhead.hashtable.expires"), int(expires)),
                (key("overhead.hashtable.slot-to-keys"), int(0)),
            ]),
        ));
    }
    let net = m.used.saturating_sub(m.startup);
    let per_key = net.checked_div(m.keys).unwrap_or(0);
    let rss = m.rss;
    let allocated = m.used;
    out.extend([
        (key("overhead.total"), int(m.overhead)),
        (key("keys.count"), int(m.keys)),
        (key("keys.bytes-per-key"), int(per_key)),
        (key("dataset.bytes"), int(m.dataset)),
        (
            key("dataset.percentage"),
            Reply::Double(m.dataset as f64 * 100.0 / net.max(1) as f64),
        ),
        (
            key("peak.percentage"),
            Reply::Double(m.used as f64 * 100.0 / peak.max(1) as f64),
        ),
        (key("allocator.allocated"), int(allocated)),
        (key("allocator.active"), int(allocated)),
        (key("allocator.resident"), int(rss)),
        (key("allocator-fragmentation.ratio"), Reply::Double(1.0)),
        (key("allocator-fragmentation.bytes"), int(0)),
        (
            key("allocator-rss.ratio"),
            Reply::Double(rss as f64 / allocated.max(1) as f64),
        ),
        (key("allocator-rss.bytes"), int(rss - allocated)),
        (key("rss-overhead.ratio"), Reply::Double(1.0)),
        (key("rss-overhead.bytes"), int(0)),
        (key("fragmentation"), Reply::Double(m.fragmentation())),
        (key("fragmentation.bytes"), int(rss.saturating_sub(m.used))),
    ]);
    Reply::Map(out)
}

/// What MEMORY DOCTOR finds, in the model's terms (thresholds as Redis's detector uses them).
pub fn doctor_report(m: &MemoryReport, peak: u64, maxmemory: u64, evicted: u64) -> String {
    const MB: u64 = 1 << 20;
    if m.used < 5 * MB {
        return "This instance holds almost no data (under 5 MB allocated), so there is \
                nothing to diagnose yet. Add some keys and ask again.\n"
            .into();
    }
    let mut issues: Vec<String> = Vec::new();
    if peak as f64 / m.used as f64 > 1.5 {
        issues.push(format!(
            "Peak memory: the instance once used {} bytes, more than 1.5 times the {} it uses \
             now. The allocator keeps much of a peak's pages, so RSS and the fragmentation \
             ratio look high; MEMORY PURGE returns what it can.",
            peak, m.used
        ));
    }
    let frag_bytes = m.rss.saturating_sub(m.used);
    if m.fragmentation() > 1.4 && frag_bytes > 10 * MB {
        issues.push(format!(
            "High RSS: the process holds {:.2} times what it allocated ({} bytes more). After a \
             peak this is expected; otherwise the workload fragments memory.",
            m.fragmentation(),
            frag_bytes
        ));
    }
    if maxmemory > 0 && m.used > maxmemory * 9 / 10 {
        issues.push(format!(
            "Near the limit: {} of {} maxmemory bytes are in use{}.",
            m.used,
            maxmemory,
            if evicted > 0 {
                format!(", and {evicted} keys have been evicted so far")
            } else {
                String::new()
            }
        ));
    }
    if issues.is_empty() {
        return "No memory problems found: usage, peak and fragmentation all look normal.\n".into();
    }
    let mut s = String::from("Memory issues found:\n\n");
    for i in issues {
        s.push_str(" * ");
        s.push_str(&i);
        s.push_str("\n\n");
    }
    s
}

fn doctor(e: &mut Engine, _c: &Call) -> Reply {
    e.account();
    let m = e.memory_report();
    let peak = e.stats.peak_memory.max(m.used);
    let text = doctor_report(&m, peak, e.config.maxmemory, e.stats.evicted_keys);
    Reply::Verbatim("txt", text.into_bytes())
}

fn purge(e: &mut Engine, _c: &Call) -> Reply {
    e.memory_purge();
    Reply::OK
}

fn malloc_stats(e: &mut Engine, _c: &Call) -> Reply {
    let m = e.memory_report();
    let text = format!(
        "___ Cachelab memory model: jemalloc size classes, no real allocator ___\n\
         allocated: {}\nresident: {}\nretained after frees: {}\n",
        m.used,
        m.rss,
        m.rss.saturating_sub(m.used)
    );
    Reply::Verbatim("txt", text.into_bytes())
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Reply};

    #[test]
    fn usage_and_its_errors() {
        let mut e = Engine::new(Config::default());
        let c = e.connect(0);
        e.run(c, &["SET", "k", "v"], 0);
        assert!(matches!(
            e.run(c, &["MEMORY", "USAGE", "k"], 0),
            Reply::Integer(_)
        ));
        assert_eq!(e.run(c, &["MEMORY", "USAGE", "nokey"], 0), Reply::Nil);
        assert_eq!(
            e.run(c, &["MEMORY", "USAGE", "k", "SAMPLES"], 0),
            Reply::error(crate::error::SYNTAX)
        );
        assert_eq!(
            e.run(c, &["MEMORY", "USAGE", "k", "SAMPLES", "-1"], 0),
            Reply::error(crate::error::SYNTAX)
        );
        assert_eq!(
            e.run(c, &["MEMORY", "USAGE", "k", "SAMPLES", "x"], 0),
            Reply::error(crate::error::NOT_INTEGER)
        );
        assert!(matches!(
            e.run(
                c,
                &["MEMORY", "USAGE", "k", "SAMPLES", "0", "samples", "3"],
                0
            ),
            Reply::Integer(_)
        ));
        assert_eq!(e.run(c, &["MEMORY", "PURGE"], 0), Reply::OK);
        assert!(matches!(e.run(c, &["MEMORY", "STATS"], 0), Reply::Map(_)));
        assert!(matches!(
            e.run(c, &["MEMORY", "DOCTOR"], 0),
            Reply::Verbatim(..)
        ));
    }
}
