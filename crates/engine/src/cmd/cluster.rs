//! Cluster commands: CLUSTER and its subcommands, ASKING, READONLY, READWRITE, MIGRATE and WAIT.
//!
//! They read and change the cluster's state (`crate::cluster`), which a node's engine holds
//! while it runs a command. An engine that is not a cluster node answers CLUSTER, ASKING,
//! READONLY and READWRITE with Redis's "cluster support disabled" error, MIGRATE as a server
//! that cannot reach the target, and WAIT as a master without replicas.

use crate::args::{int, is};
use crate::blocking::{parse_timeout, TimeoutUnit};
use crate::cluster::{key_hash_slot, FailoverKind, Pending, State, SLOTS};
use crate::cluster::{ClusterEvent, Node};
use crate::dict::Key;
use crate::table::CommandSpec;
use crate::{error, flags, tri, Call, Engine, Reply};

const fn sub(
    name: &'static str,
    arity: i32,
    flags: crate::Flags,
    summary: &'static str,
    syntax: &'static str,
    handler: crate::table::Handler,
) -> CommandSpec {
    CommandSpec::leaf(
        name,
        arity,
        flags,
        (0, 0, 0),
        "cluster",
        "3.0.0",
        summary,
        syntax,
        handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cluster",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "cluster",
        since: "3.0.0",
        summary: "Inspects and changes the cluster: slots, nodes, resharding and failover.",
        syntax: "subcommand [argument ...]",
        handler: crate::table::container,
        subcommands: CLUSTER_SUBCOMMANDS,
    },
    sub(
        "asking",
        1,
        flags!(FAST),
        "Lets the next command touch a slot this node is importing (after an -ASK redirect).",
        "",
        asking,
    ),
    sub(
        "readonly",
        1,
        flags!(FAST, LOADING, STALE),
        "Lets this connection read from a replica the slots its master serves.",
        "",
        readonly,
    ),
    sub(
        "readwrite",
        1,
        flags!(FAST, LOADING, STALE),
        "Ends READONLY: reads sent to a replica are redirected to the master again.",
        "",
        readwrite,
    ),
    CommandSpec {
        name: "migrate",
        arity: -6,
        flags: flags!(WRITE),
        keys: (3, 3, 1),
        group: "generic",
        since: "2.6.0",
        summary: "Moves keys to another node atomically (copies them with COPY).",
        syntax: "host port key | \"\" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]",
        handler: migrate,
        subcommands: &[],
    },
    CommandSpec {
        name: "wait",
        arity: 3,
        flags: flags!(NOSCRIPT),
        keys: (0, 0, 0),
        group: "generic",
        since: "3.0.0",
        summary: "Waits until this connection's writes have reached a number of replicas, or a timeout.",
        syntax: "numreplicas timeout",
        handler: wait,
        subcommands: &[],
    },
];

const ADMIN: crate::Flags = flags!(ADMIN, STALE);

const CLUSTER_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "cluster|addslots",
        -3,
        ADMIN,
        "Gives unassigned slots to this node.",
        "slot [slot ...]",
        addslots,
    ),
    CommandSpec {
        since: "7.0.0",
        ..sub(
            "cluster|addslotsrange",
            -4,
            ADMIN,
            "Gives ranges of unassigned slots to this node.",
            "start-slot end-slot [start-slot end-slot ...]",
            addslotsrange,
        )
    },
    sub(
        "cluster|bumpepoch",
        2,
        ADMIN,
        "Gives this node a new, highest configuration epoch if it does not have one.",
        "",
        bumpepoch,
    ),
    sub(
        "cluster|count-failure-reports",
        3,
        ADMIN,
        "Counts the nodes that currently report a node as failing.",
        "node-id",
        count_failure_reports,
    ),
    sub(
        "cluster|countkeysinslot",
        3,
        flags!(STALE),
        "Counts the keys this node holds in a slot.",
        "slot",
        countkeysinslot,
    ),
    sub(
        "cluster|delslots",
        -3,
        ADMIN,
        "Takes slots away from this node, leaving them unassigned.",
        "slot [slot ...]",
        delslots,
    ),
    CommandSpec {
        since: "7.0.0",
        ..sub(
            "cluster|delslotsrange",
            -4,
            ADMIN,
            "Takes ranges of slots away from this node, leaving them unassigned.",
            "start-slot end-slot [start-slot end-slot ...]",
            delslotsrange,
        )
    },
    sub(
        "cluster|failover",
        -2,
        ADMIN,
        "Makes this replica take over its master (FORCE without the master's consent, TAKEOVER without an election).",
        "[FORCE | TAKEOVER]",
        failover,
    ),
    sub(
        "cluster|flushslots",
        2,
        ADMIN,
        "Unassigns every slot of this node (its database must be empty).",
        "",
        flushslots,
    ),
    sub(
        "cluster|forget",
        3,
        ADMIN,
        "Asks this node to forget another node.",
        "node-id",
        forget,
    ),
    sub(
        "cluster|getkeysinslot",
        4,
        flags!(STALE),
        "Returns up to count keys this node holds in a slot, newest first.",
        "slot count",
        getkeysinslot,
    ),
    CommandSpec {
        since: "5.0.0",
        ..sub(
            "cluster|help",
            2,
            flags!(LOADING, STALE),
            "Describes the CLUSTER subcommands.",
            "",
            help,
        )
    },
    sub(
        "cluster|info",
        2,
        flags!(STALE),
        "Reports the cluster's state, slot coverage, size and epochs.",
        "",
        info,
    ),
    sub(
        "cluster|keyslot",
        3,
        flags!(STALE),
        "Returns the hash slot of a key (the part in {braces} only, when there is one).",
        "key",
        keyslot,
    ),
    CommandSpec {
        since: "7.0.0",
        ..sub(
            "cluster|links",
            2,
            flags!(STALE),
            "Lists this node's links to the other nodes of the cluster bus.",
            "",
            links,
        )
    },
    sub(
        "cluster|meet",
        -4,
        ADMIN,
        "Introduces this node to another one, joining their clusters.",
        "ip port [cluster-bus-port]",
        meet,
    ),
    sub(
        "cluster|myid",
        2,
        flags!(STALE),
        "Returns this node's id.",
        "",
        myid,
    ),
    sub(
        "cluster|nodes",
        2,
        flags!(STALE),
        "Describes every node as this one sees it, one line each.",
        "",
        nodes,
    ),
    CommandSpec {
        since: "5.0.0",
        ..sub(
            "cluster|replicas",
            3,
            ADMIN,
            "Describes the replicas of a master, one line each.",
            "node-id",
            replicas,
        )
    },
    sub(
        "cluster|replicate",
        3,
        ADMIN,
        "Makes this node a replica of the given master.",
        "node-id",
        replicate,
    ),
    sub(
        "cluster|saveconfig",
        2,
        ADMIN,
        "Writes the cluster configuration to disk (nothing to write here).",
        "",
        saveconfig,
    ),
    sub(
        "cluster|set-config-epoch",
        3,
        ADMIN,
        "Sets this node's configuration epoch, only before it knows any other node.",
        "config-epoch",
        set_config_epoch,
    ),
    sub(
        "cluster|setslot",
        -4,
        ADMIN,
        "Marks a slot as migrating or importing, stable again, or owned by a node.",
        "slot IMPORTING node-id | MIGRATING node-id | NODE node-id | STABLE",
        setslot,
    ),
    CommandSpec {
        since: "7.0.0",
        ..sub(
            "cluster|shards",
            2,
            flags!(STALE),
            "Describes each shard: its slot ranges, its master and replicas.",
            "",
            shards,
        )
    },
    sub(
        "cluster|slaves",
        3,
        ADMIN,
        "Describes the replicas of a master (the old name of CLUSTER REPLICAS).",
        "node-id",
        replicas,
    ),
    sub(
        "cluster|slots",
        2,
        flags!(STALE),
        "Lists slot ranges with the address and id of their master and replicas.",
        "",
        slots,
    ),
];

/// Runs `f` with the cluster's state, or answers that cluster support is disabled.
fn in_cluster(e: &mut Engine, f: impl FnOnce(&mut Engine, &mut State, usize) -> Reply) -> Reply {
    e.with_cluster(f)
        .unwrap_or_else(|| Reply::error(error::CLUSTER_DISABLED))
}

/// Redis's `getSlotOrReply`.
fn parse_slot(a: &[u8]) -> Result<u16, Reply> {
    match crate::numfmt::parse_i64(a) {
        Some(s) if (0..SLOTS as i64).contains(&s) => Ok(s as u16),
        _ => Err(Reply::error(error::INVALID_SLOT_RANGE)),
    }
}

/// The node's slot index, brought up to date with the changes of the command running now (the
/// cluster catches up with them only after it ends; a transaction may ask in between).
fn synced_index<'a>(e: &Engine, st: &'a mut State, me: usize) -> &'a crate::cluster::SlotIndex {
    let node: &mut Node = &mut st.nodes[me];
    crate::cluster::sync_index(node, e);
    &st.nodes[me].index
}

fn asking(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        st.nodes[me].asking.insert(c.client);
        Reply::OK
    })
}

fn readonly(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        st.nodes[me].readonly.insert(c.client);
        Reply::OK
    })
}

fn readwrite(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        st.nodes[me].readonly.remove(&c.client);
        Reply::OK
    })
}

fn help(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, _, _| {
        crate::cmd::server::help_reply(
            c.argv[0],
            &[
                "ADDSLOTS <slot> [<slot> ...]",
                "    Gives the slots to this node.",
                "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                "    Gives every slot of the ranges to this node.",
                "BUMPEPOCH",
                "    Takes a new configuration epoch unless this node's is already the highest.",
                "COUNT-FAILURE-REPORTS <node-id>",
                "    Counts the reports that the node is failing.",
                "COUNTKEYSINSLOT <slot>",
                "    Counts the keys of the slot held here.",
                "DELSLOTS <slot> [<slot> ...]",
                "    Takes the slots away from this node.",
                "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                "    Takes every slot of the ranges away from this node.",
                "FAILOVER [FORCE|TAKEOVER]",
                "    Makes this replica the master of its shard.",
                "FORGET <node-id>",
                "    Removes a node from this node's table.",
                "GETKEYSINSLOT <slot> <count>",
                "    Lists up to <count> keys of the slot held here.",
                "FLUSHSLOTS",
                "    Unassigns every slot of this node.",
                "INFO",
                "    Reports the state of the cluster.",
                "KEYSLOT <key>",
                "    Returns the slot of <key>.",
                "MEET <ip> <port> [<bus-port>]",
                "    Introduces this node to another one.",
                "MYID",
                "    Returns this node's id.",
                "NODES",
                "    Describes the nodes, one per line:",
                "    <id> <ip:port@bus-port> <flags> <master> <ping-sent> <pong-received> <epoch> <link> <slot> ...",
                "REPLICATE <node-id>",
                "    Makes this node a replica of <node-id>.",
                "SET-CONFIG-EPOCH <epoch>",
                "    Sets this node's configuration epoch.",
                "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
                "    Changes the state of a slot.",
                "REPLICAS <node-id>",
                "    Describes the replicas of <node-id>.",
                "SAVECONFIG",
                "    Saves the cluster configuration.",
                "SLOTS",
                "    Lists slot ranges with their master's and replicas' addresses and ids.",
                "SHARDS",
                "    Describes each shard: slot ranges and nodes.",
                "LINKS",
                "    Lists the links of the cluster bus.",
            ],
        )
    })
}

fn keyslot(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, _, _| Reply::Integer(key_hash_slot(c.argv[2]) as i64))
}

fn countkeysinslot(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        let slot = tri!(int(c.argv[2]));
        if !(0..SLOTS as i64).contains(&slot) {
            return Reply::error(error::INVALID_SLOT);
        }
        Reply::Integer(synced_index(e, st, me).count(slot as u16) as i64)
    })
}

fn getkeysinslot(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        let slot = tri!(int(c.argv[2]));
        let max = tri!(int(c.argv[3]));
        if !(0..SLOTS as i64).contains(&slot) || max < 0 {
            return Reply::error(error::INVALID_SLOT_OR_COUNT);
        }
        Reply::bulks(synced_index(e, st, me).keys(slot as u16, max as usize))
    })
}

fn myid(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |_, st, me| Reply::bulk(st.nodes[me].id.as_bytes()))
}

/// How many slots are served, and by nodes in which state.
fn info(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        let (mut assigned, mut ok, mut fail) = (0, 0, 0);
        for owner in st.slots.iter().flatten() {
            assigned += 1;
            if st.nodes[*owner].failed {
                fail += 1;
            } else {
                ok += 1;
            }
        }
        let size = (0..st.nodes.len())
            .filter(|&n| st.is_master(n) && st.slot_count(n) > 0)
            .count();
        let mut text = format!(
            "cluster_state:{}\r\ncluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{ok}\r\n\
             cluster_slots_pfail:0\r\ncluster_slots_fail:{fail}\r\ncluster_known_nodes:{}\r\n\
             cluster_size:{size}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
            if st.ok { "ok" } else { "fail" },
            st.nodes.len(),
            st.current_epoch,
            st.shown_epoch(me),
        );
        // The cluster bus is not simulated message by message: each node is counted as
        // pinging one peer, and being answered, every 100 ms of its uptime.
        let peers = st.nodes.len() - 1;
        let ticks = if peers > 0 {
            ((e.now - st.nodes[me].created_ms) / 100).max(0)
        } else {
            0
        };
        for dir in ["sent", "received"] {
            for kind in ["ping", "pong"] {
                if ticks > 0 {
                    text.push_str(&format!("cluster_stats_messages_{kind}_{dir}:{ticks}\r\n"));
                }
            }
            text.push_str(&format!("cluster_stats_messages_{dir}:{}\r\n", 2 * ticks));
        }
        text.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
        Reply::Verbatim("txt", text.into_bytes())
    })
}

/// One line of CLUSTER NODES, as node `me` sees node `n`.
pub(crate) fn node_line(st: &State, me: usize, n: usize, now: i64) -> String {
    let node = &st.nodes[n];
    let mut flags = Vec::new();
    if n == me {
        flags.push("myself");
    }
    flags.push(if node.master.is_some() {
        "slave"
    } else {
        "master"
    });
    if node.failed {
        flags.push("fail");
    }
    let master = node
        .master
        .map_or_else(|| "-".to_string(), |m| st.nodes[m].id.clone());
    let reachable = n == me || node.up;
    let ping_sent = if reachable {
        0
    } else {
        node.down_since.unwrap_or(0)
    };
    let pong_received = match node.down_since {
        _ if n == me => 0,
        Some(since) => since,
        None => now.div_euclid(1000) * 1000,
    };
    let mut line = format!(
        "{} {}:{}@{} {} {master} {ping_sent} {pong_received} {} {}",
        node.id,
        node.host,
        node.port,
        u32::from(node.port) + 10000,
        flags.join(","),
        st.shown_epoch(n),
        if reachable {
            "connected"
        } else {
            "disconnected"
        },
    );
    for (a, b) in st.ranges(n) {
        if a == b {
            line.push_str(&format!(" {a}"));
        } else {
            line.push_str(&format!(" {a}-{b}"));
        }
    }
    if n == me {
        let mut open: Vec<(u16, String)> = node
            .migrating
            .iter()
            .map(|(s, t)| (*s, format!(" [{s}->-{}]", st.nodes[*t].id)))
            .collect();
        for (s, f) in &node.importing {
            if !node.migrating.contains_key(s) {
                open.push((*s, format!(" [{s}-<-{}]", st.nodes[*f].id)));
            }
        }
        open.sort();
        for (_, text) in open {
            line.push_str(&text);
        }
    }
    line
}

fn nodes(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        let mut text = String::new();
        for n in 0..st.nodes.len() {
            text.push_str(&node_line(st, me, n, e.now));
            text.push('\n');
        }
        Reply::Verbatim("txt", text.into_bytes())
    })
}

/// A node as CLUSTER SLOTS lists it: address, port, id, and a map of other endpoints (none).
fn slot_node(st: &State, n: usize) -> Reply {
    let node = &st.nodes[n];
    Reply::Array(vec![
        Reply::bulk(node.host.as_bytes()),
        Reply::Integer(i64::from(node.port)),
        Reply::bulk(node.id.as_bytes()),
        Reply::Map(Vec::new()),
    ])
}

/// A replica is listed once it has loaded data and while it is not failed.
fn replica_available(st: &State, r: usize) -> bool {
    !st.nodes[r].failed && st.nodes[r].repl.applied != 0
}

fn slots(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |_, st, _| {
        let mut out = Vec::new();
        let mut s = 0;
        while s < SLOTS {
            let Some(n) = st.slots[s] else {
                s += 1;
                continue;
            };
            let start = s;
            while s < SLOTS && st.slots[s] == Some(n) {
                s += 1;
            }
            let mut entry = vec![
                Reply::Integer(start as i64),
                Reply::Integer(s as i64 - 1),
                slot_node(st, n),
            ];
            for r in st.replicas_of(n) {
                if replica_available(st, r) {
                    entry.push(slot_node(st, r));
                }
            }
            out.push(Reply::Array(entry));
        }
        Reply::Array(out)
    })
}

fn shard_node(st: &State, n: usize) -> Reply {
    let node = &st.nodes[n];
    let replica = node.master.is_some();
    let offset = if replica {
        node.repl.applied
    } else {
        node.repl.offset
    };
    let health = if node.failed {
        "fail"
    } else if replica && offset == 0 {
        "loading"
    } else {
        "online"
    };
    let pair = |k: &str, v: Reply| (Reply::bulk(k), v);
    Reply::Map(vec![
        pair("id", Reply::bulk(node.id.as_bytes())),
        pair("port", Reply::Integer(i64::from(node.port))),
        pair("ip", Reply::bulk(node.host.as_bytes())),
        pair("endpoint", Reply::bulk(node.host.as_bytes())),
        pair(
            "role",
            Reply::bulk(if replica { "replica" } else { "master" }),
        ),
        pair("replication-offset", Reply::Integer(offset)),
        pair("health", Reply::bulk(health)),
    ])
}

fn shards(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |_, st, _| {
        let mut out = Vec::new();
        for m in 0..st.nodes.len() {
            if !st.is_master(m) {
                continue;
            }
            let slots = st
                .ranges(m)
                .into_iter()
                .flat_map(|(a, b)| [Reply::Integer(a as i64), Reply::Integer(b as i64)])
                .collect();
            let mut members = vec![shard_node(st, m)];
            members.extend(st.replicas_of(m).into_iter().map(|r| shard_node(st, r)));
            out.push(Reply::Map(vec![
                (Reply::bulk("slots"), Reply::Array(slots)),
                (Reply::bulk("nodes"), Reply::Array(members)),
            ]));
        }
        Reply::Array(out)
    })
}

fn links(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        let mut out = Vec::new();
        for n in 0..st.nodes.len() {
            if n == me || !st.nodes[n].up {
                continue;
            }
            for direction in ["to", "from"] {
                let pair = |k: &str, v: Reply| (Reply::bulk(k), v);
                out.push(Reply::Map(vec![
                    pair("direction", Reply::bulk(direction)),
                    pair("node", Reply::bulk(st.nodes[n].id.as_bytes())),
                    pair("create-time", Reply::Integer(st.nodes[n].created_ms)),
                    pair("events", Reply::bulk("r")),
                    pair("send-buffer-allocated", Reply::Integer(0)),
                    pair("send-buffer-used", Reply::Integer(0)),
                ]));
            }
        }
        Reply::Array(out)
    })
}

/// ADDSLOTS, DELSLOTS and their RANGE forms: every argument is checked before any slot changes.
fn change_slots(e: &mut Engine, c: &Call, del: bool, ranges: bool) -> Reply {
    in_cluster(e, |_, st, me| {
        let args = &c.argv[2..];
        if ranges && args.len() % 2 == 1 {
            return Reply::error_owned(error::wrong_arity(c.spec.name));
        }
        let mut marked = vec![false; SLOTS];
        let mut check = |st: &State, start: u16, end: u16| -> Result<(), Reply> {
            for s in start..=end {
                let owner = st.slots[s as usize];
                if del && owner.is_none() {
                    return Err(Reply::error_owned(error::slot_error(
                        s.into(),
                        "is already unassigned",
                    )));
                }
                if !del && owner.is_some() {
                    return Err(Reply::error_owned(error::slot_error(
                        s.into(),
                        "is already busy",
                    )));
                }
                if std::mem::replace(&mut marked[s as usize], true) {
                    return Err(Reply::error_owned(error::slot_error(
                        s.into(),
                        "specified multiple times",
                    )));
                }
            }
            Ok(())
        };
        if ranges {
            for pair in args.chunks(2) {
                let start = tri!(parse_slot(pair[0]));
                let end = tri!(parse_slot(pair[1]));
                if start > end {
                    return Reply::error_owned(error::slot_range_reversed(
                        start.into(),
                        end.into(),
                    ));
                }
                tri!(check(st, start, end));
            }
        } else {
            let mut slots = Vec::with_capacity(args.len());
            for a in args {
                slots.push(tri!(parse_slot(a)));
            }
            for s in slots {
                tri!(check(st, s, s));
            }
        }
        let mut changed = Vec::new();
        for (s, _) in marked.iter().enumerate().filter(|(_, m)| **m) {
            st.nodes[me].importing.remove(&(s as u16));
            let owner = st.slots[s];
            if del {
                // Another owner would claim the slot back at once by gossip: only this node's
                // own slots really become unassigned.
                if owner == Some(me) {
                    st.slots[s] = None;
                    changed.push(s as u16);
                }
            } else {
                st.slots[s] = Some(me);
                changed.push(s as u16);
            }
        }
        let ranges = to_ranges(&changed);
        if !ranges.is_empty() {
            st.emit(if del {
                ClusterEvent::SlotsUnassigned {
                    node: me,
                    slots: ranges,
                }
            } else {
                ClusterEvent::SlotsAssigned {
                    node: me,
                    slots: ranges,
                }
            });
        }
        st.update_state();
        Reply::OK
    })
}

fn to_ranges(sorted: &[u16]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &s in sorted {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == s => *end = s,
            _ => out.push((s, s)),
        }
    }
    out
}

fn addslots(e: &mut Engine, c: &Call) -> Reply {
    change_slots(e, c, false, false)
}

fn addslotsrange(e: &mut Engine, c: &Call) -> Reply {
    change_slots(e, c, false, true)
}

fn delslots(e: &mut Engine, c: &Call) -> Reply {
    change_slots(e, c, true, false)
}

fn delslotsrange(e: &mut Engine, c: &Call) -> Reply {
    change_slots(e, c, true, true)
}

fn flushslots(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        if !e.dbs[0].is_empty() {
            return Reply::error(error::FLUSHSLOTS_NOT_EMPTY);
        }
        let mine = st.ranges(me);
        for s in st.slots.iter_mut() {
            if *s == Some(me) {
                *s = None;
            }
        }
        if !mine.is_empty() {
            st.emit(ClusterEvent::SlotsUnassigned {
                node: me,
                slots: mine,
            });
        }
        st.update_state();
        Reply::OK
    })
}

fn setslot(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        if st.nodes[me].master.is_some() {
            return Reply::error(error::SETSLOT_ON_REPLICA);
        }
        let slot = tri!(parse_slot(c.argv[2]));
        let action = c.argv[3];
        let argc = c.argv.len();
        let owner = st.slots[slot as usize];
        if is(action, "migrating") && argc == 5 {
            if owner != Some(me) {
                return Reply::error_owned(error::not_slot_owner(slot.into()));
            }
            let Some(n) = st.by_id(c.argv[4]) else {
                return Reply::error_owned(error::dont_know_node(c.argv[4]));
            };
            if !st.is_master(n) {
                return Reply::error(error::TARGET_NOT_MASTER);
            }
            st.nodes[me].migrating.insert(slot, n);
            st.emit(ClusterEvent::SlotMigrating {
                node: me,
                slot,
                to: Some(n),
            });
        } else if is(action, "importing") && argc == 5 {
            if owner == Some(me) {
                return Reply::error_owned(error::already_slot_owner(slot.into()));
            }
            let Some(n) = st.by_id(c.argv[4]) else {
                return Reply::error_owned(error::dont_know_node(c.argv[4]));
            };
            if !st.is_master(n) {
                return Reply::error(error::TARGET_NOT_MASTER);
            }
            st.nodes[me].importing.insert(slot, n);
            st.emit(ClusterEvent::SlotImporting {
                node: me,
                slot,
                from: Some(n),
            });
        } else if is(action, "stable") && argc == 4 {
            if st.nodes[me].importing.remove(&slot).is_some() {
                st.emit(ClusterEvent::SlotImporting {
                    node: me,
                    slot,
                    from: None,
                });
            }
            if st.nodes[me].migrating.remove(&slot).is_some() {
                st.emit(ClusterEvent::SlotMigrating {
                    node: me,
                    slot,
                    to: None,
                });
            }
        } else if is(action, "node") && argc == 5 {
            let Some(n) = st.by_id(c.argv[4]) else {
                return Reply::error_owned(error::unknown_node(c.argv[4]));
            };
            if !st.is_master(n) {
                return Reply::error(error::TARGET_NOT_MASTER);
            }
            let keys_here = synced_index(e, st, me).count(slot);
            if owner == Some(me) && n != me && keys_here != 0 {
                return Reply::error_owned(error::slot_still_has_keys(slot.into()));
            }
            if keys_here == 0 && st.nodes[me].migrating.remove(&slot).is_some() {
                st.emit(ClusterEvent::SlotMigrating {
                    node: me,
                    slot,
                    to: None,
                });
            }
            let was_mine = owner == Some(me);
            st.set_owner(slot, Some(n));
            // A master left without slots becomes a replica of the node that took its last
            // one (cluster-allow-replica-migration).
            if was_mine && n != me && st.slot_count(me) == 0 {
                st.pending.push(Pending::Replicate {
                    node: me,
                    master: n,
                });
            }
            if n == me && st.nodes[me].importing.remove(&slot).is_some() {
                st.bump_epoch(me);
                st.emit(ClusterEvent::SlotImporting {
                    node: me,
                    slot,
                    from: None,
                });
            }
        } else {
            return Reply::error(error::SETSLOT_ACTION);
        }
        st.update_state();
        Reply::OK
    })
}

fn bumpepoch(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        let bumped = st.bump_epoch(me);
        Reply::Simple(
            format!(
                "{} {}",
                if bumped { "BUMPED" } else { "STILL" },
                st.nodes[me].config_epoch
            )
            .into(),
        )
    })
}

fn failover(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        if c.argv.len() > 3 {
            return Reply::error_owned(error::subcommand_syntax(c.argv[1], c.argv[0]));
        }
        let kind = match c.argv.get(2) {
            None => FailoverKind::Manual,
            Some(a) if is(a, "force") => FailoverKind::Force,
            Some(a) if is(a, "takeover") => FailoverKind::Takeover,
            Some(_) => return Reply::error(error::SYNTAX),
        };
        let Some(m) = st.nodes[me].master else {
            return Reply::error(error::FAILOVER_ON_MASTER);
        };
        if kind == FailoverKind::Manual && (st.nodes[m].failed || !st.nodes[m].up) {
            return Reply::error(error::FAILOVER_MASTER_DOWN);
        }
        st.pending.push(Pending::Failover { replica: me, kind });
        Reply::OK
    })
}

fn replicate(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        let Some(n) = st.by_id(c.argv[2]) else {
            return Reply::error_owned(error::unknown_node(c.argv[2]));
        };
        if n == me {
            return Reply::error(error::REPLICATE_MYSELF);
        }
        if !st.is_master(n) {
            return Reply::error(error::REPLICATE_REPLICA);
        }
        if st.is_master(me) && (st.slot_count(me) != 0 || !e.dbs[0].is_empty()) {
            return Reply::error(error::REPLICATE_NOT_EMPTY);
        }
        st.pending.push(Pending::Replicate {
            node: me,
            master: n,
        });
        Reply::OK
    })
}

fn replicas(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |e, st, me| {
        let Some(n) = st.by_id(c.argv[2]) else {
            return Reply::error_owned(error::unknown_node(c.argv[2]));
        };
        if !st.is_master(n) {
            return Reply::error(error::NOT_A_MASTER);
        }
        Reply::bulks(
            st.replicas_of(n)
                .into_iter()
                .map(|r| node_line(st, me, r, e.now)),
        )
    })
}

fn count_failure_reports(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        let Some(n) = st.by_id(c.argv[2]) else {
            return Reply::error_owned(error::unknown_node(c.argv[2]));
        };
        // Every other reachable master reports a node that has been flagged failing.
        let reports = if st.nodes[n].failed {
            (0..st.nodes.len())
                .filter(|&o| o != me && o != n && st.is_master(o) && st.nodes[o].up)
                .count()
        } else {
            0
        };
        Reply::Integer(reports as i64)
    })
}

fn meet(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, _, _| {
        if c.argv.len() > 5 {
            return Reply::error_owned(error::subcommand_syntax(c.argv[1], c.argv[0]));
        }
        let Some(port) = crate::numfmt::parse_i64(c.argv[3]) else {
            return Reply::error_owned(error::invalid_port("base", c.argv[3]));
        };
        let bus = match c.argv.get(4) {
            Some(a) => match crate::numfmt::parse_i64(a) {
                Some(p) => p,
                None => return Reply::error_owned(error::invalid_port("bus", a)),
            },
            None => port + 10000,
        };
        let ip_ok = crate::cluster::addr::is_ip_literal(c.argv[2]);
        let port_ok = |p: i64| (1..=65535).contains(&p);
        if !ip_ok || !port_ok(port) || !port_ok(bus) {
            return Reply::error_owned(format!(
                "ERR Invalid node address specified: {}:{}",
                String::from_utf8_lossy(c.argv[2]),
                String::from_utf8_lossy(c.argv[3])
            ));
        }
        // Every node of this cluster already knows the others; a handshake with an address
        // outside it never completes, which Redis does not report either.
        Reply::OK
    })
}

fn forget(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        let Some(n) = st.by_id(c.argv[2]) else {
            return Reply::error_owned(error::unknown_node(c.argv[2]));
        };
        if n == me {
            return Reply::error(error::FORGET_MYSELF);
        }
        if st.nodes[me].master == Some(n) {
            return Reply::error(error::FORGET_MY_MASTER);
        }
        // Redis forgets the node for a minute, after which gossip brings it back. The shared
        // view of this cluster cannot hide a node from one node only, so it stays listed.
        Reply::OK
    })
}

fn saveconfig(e: &mut Engine, _c: &Call) -> Reply {
    in_cluster(e, |_, _, _| Reply::OK)
}

fn set_config_epoch(e: &mut Engine, c: &Call) -> Reply {
    in_cluster(e, |_, st, me| {
        let epoch = tri!(int(c.argv[2]));
        if epoch < 0 {
            return Reply::error_owned(error::invalid_config_epoch(epoch));
        }
        if st.nodes.len() > 1 {
            return Reply::error(error::CONFIG_EPOCH_KNOWS_OTHERS);
        }
        if st.nodes[me].config_epoch != 0 {
            return Reply::error("ERR Node config epoch is already non-zero");
        }
        st.nodes[me].config_epoch = epoch as u64;
        st.current_epoch = st.current_epoch.max(epoch as u64);
        Reply::OK
    })
}

/// MIGRATE's options after the five fixed arguments.
struct MigrateArgs {
    copy: bool,
    replace: bool,
    first_key: usize,
    num_keys: usize,
}

fn migrate_args(argv: &[&[u8]]) -> Result<MigrateArgs, Reply> {
    let mut m = MigrateArgs {
        copy: false,
        replace: false,
        first_key: 3,
        num_keys: 1,
    };
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = argv[j];
        if is(a, "copy") {
            m.copy = true;
        } else if is(a, "replace") {
            m.replace = true;
        } else if is(a, "auth") {
            if more == 0 {
                return Err(Reply::error(error::SYNTAX));
            }
            j += 1;
        } else if is(a, "auth2") {
            if more < 2 {
                return Err(Reply::error(error::SYNTAX));
            }
            j += 2;
        } else if is(a, "keys") {
            if !argv[3].is_empty() {
                return Err(Reply::error(error::MIGRATE_KEYS_NEEDS_EMPTY_KEY));
            }
            m.first_key = j + 1;
            m.num_keys = argv.len() - j - 1;
            break;
        } else {
            return Err(Reply::error(error::SYNTAX));
        }
        j += 1;
    }
    Ok(m)
}

fn migrate(e: &mut Engine, c: &Call) -> Reply {
    let opts = tri!(migrate_args(c.argv));
    let _timeout = tri!(int(c.argv[5]));
    let dbid = tri!(int(c.argv[4]));
    let mut keys: Vec<&[u8]> = Vec::new();
    for &k in &c.argv[opts.first_key..opts.first_key + opts.num_keys] {
        if e.read(c.db, k).is_some() {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return Reply::simple("NOKEY");
    }
    e.with_cluster(|e, st, me| migrate_to_node(e, st, me, c, &opts, dbid, &keys))
        // Outside a cluster there is no other server to reach.
        .unwrap_or_else(|| unreachable(c.argv[1]))
}

/// What MIGRATE answers when nothing listens at the target address: Redis's non-blocking
/// connect to an address succeeds on its side and the refusal shows when it writes; a host name
/// that does not resolve fails the connect itself.
fn unreachable(host: &[u8]) -> Reply {
    let resolvable =
        host.eq_ignore_ascii_case(b"localhost") || crate::cluster::addr::is_ip_literal(host);
    Reply::error(if resolvable {
        error::MIGRATE_WRITE
    } else {
        error::MIGRATE_CONNECT
    })
}

/// What the target of a MIGRATE answers to the SELECT it is sent first.
fn target_select(dbid: i64) -> Option<String> {
    if i32::try_from(dbid).is_err() {
        Some(error::INT_OUT_OF_RANGE.into())
    } else if dbid != 0 {
        Some(error::SELECT_IN_CLUSTER.into())
    } else {
        None
    }
}

/// The error a node answers RESTORE-ASKING with, when it would not take the key.
fn restore_route(st: &State, target: usize, key: &[u8]) -> Option<String> {
    let slot = key_hash_slot(key);
    let redirect = match st.slots[slot as usize] {
        None => crate::cluster::Redirect::Unbound { slot },
        Some(_) if !st.ok => crate::cluster::Redirect::Down,
        Some(o) if o == target || st.nodes[target].importing.contains_key(&slot) => return None,
        Some(o) => crate::cluster::Redirect::Moved { slot, to: o },
    };
    Some(crate::cluster::redirect_text(st, &redirect))
}

/// MIGRATE between two nodes of the cluster: each key is restored on the target (which routes
/// it as Redis's RESTORE-ASKING would be routed) and, unless COPY, deleted here once the target
/// accepted it. The TTL travels as time left, so the key expires at the same virtual moment.
fn migrate_to_node(
    e: &mut Engine,
    st: &mut State,
    me: usize,
    c: &Call,
    opts: &MigrateArgs,
    dbid: i64,
    keys: &[&[u8]],
) -> Reply {
    let port = crate::numfmt::parse_i64(c.argv[2]).unwrap_or(-1);
    let Some(t) = st.by_addr(c.argv[1], port).filter(|&t| st.nodes[t].up) else {
        return unreachable(c.argv[1]);
    };
    if t == me {
        // The node would wait for its own answer until the timeout.
        return Reply::error(error::MIGRATE_READ);
    }
    let Some(mut target) = st.nodes[t].engine.take() else {
        return unreachable(c.argv[1]);
    };
    target.now = c.now;
    let select_error = target_select(dbid);
    let mut first_error: Option<String> = None;
    let mut moved = Vec::new();
    for &key in keys {
        let Some(entry) = e.dbs[c.db].keys.get(key).cloned() else {
            continue;
        };
        let ttl = match entry.expire_at() {
            Some(at) if at - c.now < 0 => continue,
            Some(at) => Some((at - c.now).max(1)),
            None => None,
        };
        let restore_error = restore_route(st, t, key).or_else(|| {
            if !opts.replace
                && target
                    .lookup(0, key, crate::keyspace::Lookup::Write)
                    .is_some()
            {
                return Some(error::BUSYKEY.to_string());
            }
            if opts.replace {
                target.delete(0, key);
            }
            let mut restored = crate::object::Entry::new(entry.value.clone(), c.now);
            restored.set_expire_at(ttl.map(|t| c.now + t));
            target.dbs[0].put(Key::from(key), restored);
            target.notify(0, key, "restore");
            None
        });
        match select_error.clone().or(restore_error) {
            Some(err) => {
                first_error.get_or_insert(err);
            }
            None => {
                if !opts.copy {
                    e.delete(c.db, key);
                    e.notify(c.db, key, "del");
                }
                moved.push(key.to_vec());
            }
        }
    }
    if !target.blocked.ready.is_empty() {
        target.serve_ready_keys();
    }
    st.nodes[t].engine = Some(target);
    if !moved.is_empty() {
        let mut shown = vec![b"RESTORE-ASKING".to_vec()];
        shown.extend(moved.iter().cloned());
        st.touched.push((t, shown));
        st.emit(ClusterEvent::KeysMigrated {
            from: me,
            to: t,
            keys: moved,
            copy: opts.copy,
        });
    }
    match first_error {
        Some(err) => Reply::error_owned(error::migrate_target_error(&err)),
        None => Reply::OK,
    }
}

fn wait(e: &mut Engine, c: &Call) -> Reply {
    if e.cluster_state()
        .is_some_and(|(st, me)| st.nodes[me].master.is_some())
    {
        return Reply::error(error::WAIT_ON_REPLICA);
    }
    let numreplicas = tri!(int(c.argv[1]));
    let deadline = tri!(parse_timeout(c.argv[2], c.now, TimeoutUnit::Milliseconds));
    let offset = e.cluster_state().map_or(0, |(st, me)| {
        st.nodes[me].repl.woff.get(&c.client).copied().unwrap_or(0)
    });
    let acked = e.replicas_acked(offset);
    if acked >= numreplicas || !e.may_block(c.client) {
        return Reply::Integer(acked);
    }
    e.block_for_replication(c.client, deadline, offset, numreplicas, c.argv)
}
