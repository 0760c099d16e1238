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
        // A RESP2 client in subscribed mode gets PING's answer as a pub/sub style array.
        1 | 2 if _e.protocol(c.client) == crate::Protocol::Resp2 && _e.is_subscribed(c.client) => {
            Reply::Array(vec![
                Reply::bulk("pong"),
                Reply::bulk(c.argv.get(1).copied().unwrap_or_default()),
            ])
        }
        1 => Reply::simple("PONG"),
        2 => Reply::bulk(args.next().unwrap_or_default()),
        _ => Reply::error_owned(crate::error::wrong_arity("ping")),
    }
}

fn echo(_e: &mut Engine, c: &Call) -> Reply {
    Reply::bulk(c.argv[1])
}
