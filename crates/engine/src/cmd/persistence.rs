//! SAVE, BGSAVE, BGREWRITEAOF: persistence on the virtual clock (`crate::persistence`). LASTSAVE
//! and DEBUG RELOAD live with the other server commands and call into the same model.

use crate::args::is;
use crate::table::CommandSpec;
use crate::{error, flags, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "save",
        arity: 1,
        flags: flags!(ADMIN, NOSCRIPT, NO_MULTI),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Writes a snapshot of every database at once, blocking until it is done.",
        syntax: "",
        handler: save,
        subcommands: &[],
    },
    CommandSpec {
        name: "bgsave",
        arity: -1,
        flags: flags!(ADMIN, NOSCRIPT),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Starts writing a snapshot in the background; it completes later.",
        syntax: "[SCHEDULE]",
        handler: bgsave,
        subcommands: &[],
    },
    CommandSpec {
        name: "bgrewriteaof",
        arity: 1,
        flags: flags!(ADMIN, NOSCRIPT),
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Rewrites the append-only file from the current data.",
        syntax: "",
        handler: bgrewriteaof,
        subcommands: &[],
    },
];

fn save(e: &mut Engine, _c: &Call) -> Reply {
    if e.persist.bgsave_in_progress() {
        return Reply::error(error::BGSAVE_IN_PROGRESS);
    }
    e.account();
    e.save_now();
    Reply::OK
}

fn bgsave(e: &mut Engine, c: &Call) -> Reply {
    let mut schedule = false;
    if c.argv.len() > 1 {
        if c.argv.len() == 2 && is(c.argv[1], "schedule") {
            schedule = true;
        } else {
            return Reply::error(error::SYNTAX);
        }
    }
    if e.persist.bgsave_in_progress() {
        return Reply::error(error::BGSAVE_IN_PROGRESS);
    }
    let in_exec = e.clients.get(&c.client).is_some_and(|cl| cl.in_exec);
    if in_exec {
        // Redis does not fork in the middle of a transaction: the save starts at the next cron.
        e.persist.bgsave_scheduled = true;
        return Reply::simple("Background saving scheduled");
    }
    let _ = schedule;
    e.account();
    e.start_bgsave(c.now);
    Reply::simple("Background saving started")
}

fn bgrewriteaof(e: &mut Engine, c: &Call) -> Reply {
    let in_exec = e.clients.get(&c.client).is_some_and(|cl| cl.in_exec);
    if e.persist.bgsave_in_progress() || in_exec {
        e.persist.aof_rewrite_scheduled = true;
        return Reply::simple("Background append only file rewriting scheduled");
    }
    e.account();
    e.aof_rewrite();
    Reply::simple("Background append only file rewriting started")
}
