//! Command handlers, one module per command family. Each module declares its commands in a
//! `COMMANDS` slice of `CommandSpec`s next to the handlers that serve them.

use crate::table::CommandSpec;

pub mod config;
pub mod connection;
pub mod expiry;
pub mod keys;
pub mod pubsub;
pub mod scan;
pub mod scripting;
pub mod server;
pub mod strings;
pub mod transactions;

/// Every family's table; `table::index` builds the name lookup from these.
pub const FAMILIES: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    strings::COMMANDS,
    keys::COMMANDS,
    expiry::COMMANDS,
    transactions::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    config::COMMANDS,
    scripting::COMMANDS,
];
