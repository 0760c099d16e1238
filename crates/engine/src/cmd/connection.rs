//! Connection commands: PING, ECHO, SELECT, HELLO, CLIENT, QUIT, RESET.

use crate::args::Args;
use crate::table::CommandSpec;
use crate::{flags, Call, Engine, Reply};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: flags!(FAST, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Checks that the server answers; returns PONG or the given message.",
        syntax: "[message]",
        handler: ping,
        subcommands: &[],
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: flags!(FAST, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Returns the given string.",
        syntax: "message",
        handler: echo,
        subcommands: &[],
    },
];

fn ping(_e: &mut Engine, c: &Call) -> Reply {
    let mut args = Args::new(c.argv);
    match c.argv.len() {
        1 => Reply::simple("PONG"),
        2 => Reply::bulk(args.next().unwrap_or_default()),
        _ => Reply::error_owned(crate::error::wrong_arity("ping")),
    }
}

fn echo(_e: &mut Engine, c: &Call) -> Reply {
    Reply::bulk(c.argv[1])
}
