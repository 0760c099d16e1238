//! Command handlers, one module per command family. Each module declares its commands in a
//! `COMMANDS` slice of `CommandSpec`s next to the handlers that serve them.

use crate::table::CommandSpec;

pub mod bitmaps;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod expiry;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod persistence;
pub mod pubsub;
pub mod random_pick;
pub mod scan;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod transactions;
pub mod zsets;

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
    hashes::COMMANDS,
    sets::COMMANDS,
    bitmaps::COMMANDS,
    hyperloglog::COMMANDS,
    lists::COMMANDS,
    zsets::COMMANDS,
    streams::COMMANDS,
    cluster::COMMANDS,
    geo::COMMANDS,
    sort::COMMANDS,
    memory::COMMANDS,
    persistence::COMMANDS,
    scripting::COMMANDS,
];
