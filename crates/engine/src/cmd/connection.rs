//! Connection commands: PING, ECHO, SELECT, HELLO, CLIENT, QUIT, RESET.

use crate::args::{int_or, is};
use crate::client::Client;
use crate::cmd::server::help_reply;
use crate::numfmt::parse_i64;
use crate::table::{container, CommandSpec};
use crate::{error, flags, tri, Call, ClientId, Engine, Protocol, Reply};

/// The Redis version whose behaviour the engine follows, as HELLO and INFO report it.
pub const REDIS_VERSION: &str = "7.0.15";

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: flags!(FAST),
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
        flags: flags!(LOADING, STALE, FAST),
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Returns the given string.",
        syntax: "message",
        handler: echo,
        subcommands: &[],
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: flags!(LOADING, STALE, FAST),
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Switches the connection to another numbered database.",
        syntax: "index",
        handler: select,
        subcommands: &[],
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: flags!(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY),
        keys: (0, 0, 0),
        group: "connection",
        since: "6.0.0",
        summary:
            "Opens the conversation: picks RESP2 or RESP3, optionally authenticates and names \
                  the connection, and describes the server.",
        syntax: "[protover [AUTH username password] [SETNAME clientname]]",
        handler: hello,
        subcommands: &[],
    },
    CommandSpec {
        name: "client",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "connection",
        since: "2.4.0",
        summary: "Inspects and manages client connections.",
        syntax: "subcommand [argument ...]",
        handler: container,
        subcommands: CLIENT_SUBCOMMANDS,
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: flags!(ALLOW_BUSY, NOSCRIPT, LOADING, STALE, FAST, NO_AUTH),
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Answers OK and closes the connection.",
        syntax: "",
        handler: quit,
        subcommands: &[],
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: flags!(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY),
        keys: (0, 0, 0),
        group: "connection",
        since: "6.2.0",
        summary: "Returns the connection to the state of a new one.",
        syntax: "",
        handler: reset,
        subcommands: &[],
    },
];

const CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "client|getname",
        arity: 2,
        flags: flags!(NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "2.6.9",
        summary: "Returns the connection's name, or nil when it has none.",
        syntax: "",
        handler: client_getname,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "5.0.0",
        summary: "Lists the CLIENT subcommands.",
        syntax: "",
        handler: client_help,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|id",
        arity: 2,
        flags: flags!(NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "5.0.0",
        summary: "Returns the connection's numeric id.",
        syntax: "",
        handler: client_id,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|info",
        arity: 2,
        flags: flags!(NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "6.2.0",
        summary: "Describes this connection in CLIENT LIST's format.",
        syntax: "",
        handler: client_info,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|kill",
        arity: -3,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "2.4.0",
        summary: "Closes the connections that match an address or a set of filters.",
        syntax: "ip:port | [ID client-id] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB] \
                 [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES | NO]",
        handler: client_kill,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|list",
        arity: -2,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "2.4.0",
        summary: "Describes every connection, one line each, optionally filtered by type or id.",
        syntax: "[TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id [client-id ...]]",
        handler: client_list,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|no-evict",
        arity: 3,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "7.0.0",
        summary: "Exempts this connection from client eviction, or makes it eligible again.",
        syntax: "ON | OFF",
        handler: client_no_evict,
        subcommands: &[],
    },
    CommandSpec {
        name: "client|setname",
        arity: 3,
        flags: flags!(NOSCRIPT, LOADING, STALE),
        keys: (0, 0, 0),
        group: "connection",
        since: "2.6.9",
        summary: "Names the connection; an empty name removes it.",
        syntax: "connection-name",
        handler: client_setname,
        subcommands: &[],
    },
];

fn ping(_e: &mut Engine, c: &Call) -> Reply {
    // A RESP2 client in subscribed mode gets ["pong", message] instead; that branch belongs
    // here once subscriptions exist.
    match c.argv.len() {
        // A RESP2 client in subscribed mode gets PING's answer as a pub/sub style array.
        1 | 2 if _e.protocol(c.client) == crate::Protocol::Resp2 && _e.is_subscribed(c.client) => {
            Reply::Array(vec![
                Reply::bulk("pong"),
                Reply::bulk(c.argv.get(1).copied().unwrap_or_default()),
            ])
        }
        1 => Reply::simple("PONG"),
        2 => Reply::bulk(c.argv[1]),
        _ => Reply::error_owned(error::wrong_arity("ping")),
    }
}

fn echo(_e: &mut Engine, c: &Call) -> Reply {
    Reply::bulk(c.argv[1])
}

fn select(e: &mut Engine, c: &Call) -> Reply {
    // Redis reads the index as a C int, with three different errors: not an integer at all,
    // an integer that does not fit in 32 bits, and an int outside 0..databases.
    let id = match parse_i64(c.argv[1]) {
        Some(v) if i32::try_from(v).is_ok() => v,
        Some(_) => return Reply::error(error::INT_OUT_OF_RANGE),
        None => return Reply::error(error::NOT_INTEGER),
    };
    if id != 0 && e.is_cluster_node() {
        return Reply::error(error::SELECT_IN_CLUSTER);
    }
    if id < 0 || id as usize >= e.dbs.len() {
        return Reply::error(error::DB_INDEX_OUT_OF_RANGE);
    }
    if let Some(cl) = e.clients.get_mut(&c.client) {
        cl.db = id as usize;
    }
    Reply::OK
}

/// A name CLIENT SETNAME and HELLO SETNAME accept: printable ASCII without spaces, so that
/// CLIENT LIST stays splittable on spaces. (Bytes above 127 are negative as C chars, which is
/// why Redis rejects them too.)
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Sets (or, with an empty name, clears) the client's name; Err with Redis's reply otherwise.
fn set_client_name(e: &mut Engine, id: ClientId, name: &[u8]) -> Result<(), Reply> {
    if !valid_client_name(name) {
        return Err(Reply::error(error::CLIENT_NAME_SPACES));
    }
    if let Some(cl) = e.clients.get_mut(&id) {
        cl.name = if name.is_empty() {
            None
        } else {
            Some(String::from_utf8_lossy(name).into_owned())
        };
    }
    Ok(())
}

/// The engine's only ACL user is `default`, with no password (`nopass`): any password opens it,
/// any other user name fails, as on a fresh Redis.
fn authenticate(user: &[u8]) -> bool {
    user == b"default"
}

fn hello(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let mut version = 0;
    let mut j = 1;
    if argv.len() >= 2 {
        version = tri!(int_or(argv[1], error::PROTOCOL_NOT_INTEGER));
        if !(2..=3).contains(&version) {
            return Reply::error(error::PROTOCOL_VERSION);
        }
        j = 2;
    }
    // Options take effect one by one as they are read, so a name set before a later syntax
    // error stays set (and the protocol is not switched), exactly as in Redis.
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if is(opt, "AUTH") && more >= 2 {
            if !authenticate(argv[j + 1]) {
                return Reply::error(error::WRONGPASS);
            }
            j += 3;
        } else if is(opt, "SETNAME") && more >= 1 {
            tri!(set_client_name(e, c.client, argv[j + 1]));
            j += 2;
        } else {
            return Reply::error_owned(error::hello_syntax(opt));
        }
    }
    let Some(cl) = e.clients.get_mut(&c.client) else {
        return Reply::error("ERR unknown client");
    };
    if version != 0 {
        cl.protocol = if version == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
    }
    let proto = if cl.protocol == Protocol::Resp3 { 3 } else { 2 };
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Integer(proto)),
        (Reply::bulk("id"), Reply::Integer(cl.id as i64)),
        (
            Reply::bulk("mode"),
            Reply::bulk(if e.is_cluster_node() {
                "cluster"
            } else {
                "standalone"
            }),
        ),
        (
            Reply::bulk("role"),
            Reply::bulk(if e.is_cluster_replica() {
                "replica"
            } else {
                "master"
            }),
        ),
        (Reply::bulk("modules"), Reply::Array(vec![])),
    ])
}

fn quit(e: &mut Engine, c: &Call) -> Reply {
    if let Some(cl) = e.clients.get_mut(&c.client) {
        cl.close_after_reply = true;
    }
    Reply::OK
}

fn reset(e: &mut Engine, c: &Call) -> Reply {
    clear_connection_state(e, c.client);
    Reply::simple("RESET")
}

/// Redis's `clearClientConnectionState`: what RESET undoes. Database 0, no name, RESP2. As the
/// engine grows per-connection state, its undoing goes here too: discard a MULTI in progress,
/// forget WATCHed keys, unsubscribe from every channel and pattern, turn off client tracking
/// and CLIENT REPLY OFF/SKIP.
pub fn clear_connection_state(e: &mut Engine, id: ClientId) {
    e.discard_transaction(id);
    // RESET leaves pub/sub without a reply per channel (Redis unsubscribes with notify off).
    e.forget_subscriptions(id);
    if let Some(cl) = e.clients.get_mut(&id) {
        cl.reset();
    }
}

/// The kinds of connection CLIENT LIST TYPE and CLIENT KILL TYPE select.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    if is(name, "normal") {
        Some(ClientType::Normal)
    } else if is(name, "slave") || is(name, "replica") {
        Some(ClientType::Replica)
    } else if is(name, "pubsub") {
        Some(ClientType::PubSub)
    } else if is(name, "master") {
        Some(ClientType::Master)
    } else {
        None
    }
}

/// Every engine connection is a normal client; one subscribed to channels will report PubSub
/// once subscriptions exist.
fn client_type(_cl: &Client) -> ClientType {
    ClientType::Normal
}

/// One line of CLIENT LIST / CLIENT INFO, without the trailing newline. Ages are whole seconds
/// of the virtual clock, computed as Redis does from second-resolution timestamps. The
/// connection running the command shows that command and no idle time, as in Redis.
fn client_line(e: &Engine, cl: &Client, current: Option<&Call>) -> String {
    let now_s = e.now.div_euclid(1000);
    let age = now_s - cl.created_ms.div_euclid(1000);
    let (idle, cmd, argv_mem) = match current {
        Some(call) => (
            0,
            call.spec.name.to_string(),
            call.argv.iter().map(|a| a.len()).sum(),
        ),
        None => (
            now_s - cl.last_interaction_ms.div_euclid(1000),
            cl.last_command.to_string(),
            0usize,
        ),
    };
    let mut flags = String::new();
    if cl.close_after_reply {
        flags.push('c');
    }
    if cl.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let resp = if cl.protocol == Protocol::Resp3 { 3 } else { 2 };
    let tot_mem = crate::memory::CLIENT_BYTES as usize + argv_mem;
    // sub/psub/ssub and multi report subscriptions and a queued MULTI once those exist;
    // the buffer sizes are those of an idle connection.
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 \
         multi=-1 qbuf=0 qbuf-free=0 argv-mem={} multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 \
         tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
        cl.id,
        cl.addr,
        cl.laddr,
        cl.fd,
        cl.name.as_deref().unwrap_or(""),
        age,
        idle,
        flags,
        cl.db,
        argv_mem,
        tot_mem,
        cmd,
        resp
    )
}

fn line_for(e: &Engine, cl: &Client, c: &Call) -> String {
    let current = if cl.id == c.client { Some(c) } else { None };
    client_line(e, cl, current)
}

fn client_id(_e: &mut Engine, c: &Call) -> Reply {
    Reply::Integer(c.client as i64)
}

fn client_getname(e: &mut Engine, c: &Call) -> Reply {
    match e.clients.get(&c.client).and_then(|cl| cl.name.clone()) {
        Some(name) => Reply::bulk(name),
        None => Reply::Nil,
    }
}

fn client_setname(e: &mut Engine, c: &Call) -> Reply {
    tri!(set_client_name(e, c.client, c.argv[2]));
    Reply::OK
}

fn client_info(e: &mut Engine, c: &Call) -> Reply {
    let Some(cl) = e.clients.get(&c.client) else {
        return Reply::error("ERR unknown client");
    };
    let mut text = client_line(e, cl, Some(c));
    text.push('\n');
    Reply::Verbatim("txt", text.into_bytes())
}

fn client_list(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let mut out = String::new();
    if argv.len() == 4 && is(argv[2], "type") {
        let Some(wanted) = client_type_by_name(argv[3]) else {
            return Reply::error_owned(error::unknown_client_type(argv[3]));
        };
        for cl in e.clients.values().filter(|cl| client_type(cl) == wanted) {
            out.push_str(&line_for(e, cl, c));
            out.push('\n');
        }
    } else if argv.len() > 3 && is(argv[2], "id") {
        // Every id is checked before anything is written; ids that name no connection are
        // skipped, and an id given twice is listed twice, as in Redis.
        let mut ids = Vec::with_capacity(argv.len() - 3);
        for a in &argv[3..] {
            ids.push(tri!(int_or(a, error::INVALID_CLIENT_ID)));
        }
        for id in ids {
            if let Some(cl) = u64::try_from(id).ok().and_then(|id| e.clients.get(&id)) {
                out.push_str(&line_for(e, cl, c));
                out.push('\n');
            }
        }
    } else if argv.len() != 2 {
        return Reply::error(error::SYNTAX);
    } else {
        for cl in e.clients.values() {
            out.push_str(&line_for(e, cl, c));
            out.push('\n');
        }
    }
    Reply::Verbatim("txt", out.into_bytes())
}

fn client_no_evict(e: &mut Engine, c: &Call) -> Reply {
    let on = if is(c.argv[2], "on") {
        true
    } else if is(c.argv[2], "off") {
        false
    } else {
        return Reply::error(error::SYNTAX);
    };
    if let Some(cl) = e.clients.get_mut(&c.client) {
        cl.no_evict = on;
    }
    Reply::OK
}

/// What CLIENT KILL's filters select; None means "any".
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    id: Option<u64>,
    skip_me: bool,
}

fn client_kill(e: &mut Engine, c: &Call) -> Reply {
    let argv = c.argv;
    let old_style = argv.len() == 3;
    let mut f = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    if old_style {
        // CLIENT KILL ip:port: the old form, which may kill the caller itself.
        f.addr = Some(argv[2]);
        f.skip_me = false;
    } else {
        let mut i = 2;
        while i < argv.len() {
            let (opt, value) = (argv[i], argv.get(i + 1).copied());
            let Some(value) = value else {
                return Reply::error(error::SYNTAX);
            };
            if is(opt, "id") {
                match parse_i64(value) {
                    Some(id) if id >= 1 => f.id = Some(id as u64),
                    _ => return Reply::error(error::CLIENT_ID_NOT_POSITIVE),
                }
            } else if is(opt, "type") {
                match client_type_by_name(value) {
                    Some(t) => f.kind = Some(t),
                    None => return Reply::error_owned(error::unknown_client_type(value)),
                }
            } else if is(opt, "addr") {
                f.addr = Some(value);
            } else if is(opt, "laddr") {
                f.laddr = Some(value);
            } else if is(opt, "user") {
                // `default` is the only user, and every connection is authenticated as it.
                if !authenticate(value) {
                    return Reply::error_owned(error::no_such_user(value));
                }
            } else if is(opt, "skipme") {
                if is(value, "yes") {
                    f.skip_me = true;
                } else if is(value, "no") {
                    f.skip_me = false;
                } else {
                    return Reply::error(error::SYNTAX);
                }
            } else {
                return Reply::error(error::SYNTAX);
            }
            i += 2;
        }
    }
    let victims: Vec<ClientId> = e
        .clients
        .values()
        .filter(|cl| f.addr.is_none_or(|a| cl.addr.as_bytes() == a))
        .filter(|cl| f.laddr.is_none_or(|a| cl.laddr.as_bytes() == a))
        .filter(|cl| f.kind.is_none_or(|t| client_type(cl) == t))
        .filter(|cl| f.id.is_none_or(|id| cl.id == id))
        .filter(|cl| !(f.skip_me && cl.id == c.client))
        .map(|cl| cl.id)
        .collect();
    let killed = victims.len();
    for id in victims {
        if id == c.client {
            // The caller still gets its reply; the connection closes after it is written.
            if let Some(cl) = e.clients.get_mut(&id) {
                cl.close_after_reply = true;
            }
        } else {
            e.disconnect(id);
        }
    }
    if old_style {
        if killed == 0 {
            Reply::error(error::NO_SUCH_CLIENT)
        } else {
            Reply::OK
        }
    } else {
        Reply::Integer(killed as i64)
    }
}

fn client_help(_e: &mut Engine, c: &Call) -> Reply {
    help_reply(
        c.argv[0],
        &[
            "GETNAME",
            "    Returns the name of this connection, or nil.",
            "ID",
            "    Returns the numeric id of this connection.",
            "INFO",
            "    Describes this connection in the format of CLIENT LIST.",
            "KILL <ip:port>",
            "    Closes the connection from <ip:port>.",
            "KILL <filter> <value> [<filter> <value> ...]",
            "    Closes every connection matching all the filters:",
            "    * ID <client-id>",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "    * USER <username>",
            "    * ADDR <ip:port>",
            "    * LADDR <ip:port>",
            "    * SKIPME (YES|NO): whether to spare this connection (default YES).",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <client-id> ...]",
            "    Describes the connections, one per line.",
            "NO-EVICT (ON|OFF)",
            "    Exempts this connection from client eviction, or not.",
            "SETNAME <name>",
            "    Names this connection; an empty name removes the name.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::testkit::{engine, err};
    use crate::*;

    #[test]
    fn ping_and_echo() {
        let (mut e, c) = engine();
        assert_eq!(e.run(c, &["PING"], 0), Reply::simple("PONG"));
        assert_eq!(e.run(c, &["PING", "hi"], 0), Reply::bulk("hi"));
        assert_eq!(
            err(e.run(c, &["PING", "a", "b"], 0)),
            "ERR wrong number of arguments for 'ping' command"
        );
        assert_eq!(e.run(c, &["ECHO", "x"], 0), Reply::bulk("x"));
    }

    #[test]
    fn select_errors_distinguish_parse_from_range() {
        let (mut e, c) = engine();
        assert_eq!(err(e.run(c, &["SELECT", "abc"], 0)), error::NOT_INTEGER);
        assert_eq!(
            err(e.run(c, &["SELECT", "-1"], 0)),
            error::DB_INDEX_OUT_OF_RANGE
        );
        assert_eq!(
            err(e.run(c, &["SELECT", "16"], 0)),
            error::DB_INDEX_OUT_OF_RANGE
        );
        assert_eq!(
            err(e.run(c, &["SELECT", "2147483648"], 0)),
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        assert_eq!(
            err(e.run(c, &["SELECT", "99999999999999999999"], 0)),
            error::NOT_INTEGER
        );
        assert_eq!(e.run(c, &["SELECT", "15"], 0), Reply::OK);
        assert_eq!(e.client(c).map(|cl| cl.db), Some(15));
    }

    #[test]
    fn hello_switches_protocol_and_describes_server() {
        let (mut e, c) = engine();
        let r = e.run(c, &["HELLO", "3"], 0);
        let Reply::Map(pairs) = r else {
            panic!("map expected")
        };
        assert_eq!(pairs.len(), 7);
        assert_eq!(pairs[1], (Reply::bulk("version"), Reply::bulk("7.0.15")));
        assert_eq!(pairs[2], (Reply::bulk("proto"), Reply::Integer(3)));
        assert_eq!(pairs[3], (Reply::bulk("id"), Reply::Integer(c as i64)));
        assert_eq!(e.protocol(c), Protocol::Resp3);
        // Without a version HELLO reports the current protocol and changes nothing.
        let Reply::Map(pairs) = e.run(c, &["HELLO"], 0) else {
            panic!()
        };
        assert_eq!(pairs[2].1, Reply::Integer(3));
        e.run(c, &["HELLO", "2"], 0);
        assert_eq!(e.protocol(c), Protocol::Resp2);
    }

    #[test]
    fn hello_errors() {
        let (mut e, c) = engine();
        assert_eq!(
            err(e.run(c, &["HELLO", "4"], 0)),
            "NOPROTO unsupported protocol version"
        );
        assert_eq!(
            err(e.run(c, &["HELLO", "1"], 0)),
            "NOPROTO unsupported protocol version"
        );
        assert_eq!(
            err(e.run(c, &["HELLO", "x"], 0)),
            "ERR Protocol version is not an integer or out of range"
        );
        assert_eq!(
            err(e.run(c, &["HELLO", "3", "AUTH", "default"], 0)),
            "ERR Syntax error in HELLO option 'AUTH'"
        );
        assert_eq!(
            err(e.run(c, &["HELLO", "3", "AUTH", "bob", "pw"], 0)),
            "WRONGPASS invalid username-password pair or user is disabled."
        );
        assert_eq!(
            err(e.run(c, &["HELLO", "3", "SETNAME", "a b"], 0)),
            error::CLIENT_NAME_SPACES
        );
        assert_eq!(e.protocol(c), Protocol::Resp2);
        // A name given before a bad option stays, but the protocol does not switch.
        assert_eq!(
            err(e.run(c, &["HELLO", "3", "SETNAME", "n1", "FOO"], 0)),
            "ERR Syntax error in HELLO option 'FOO'"
        );
        assert_eq!(
            e.client(c).and_then(|cl| cl.name.clone()).as_deref(),
            Some("n1")
        );
        assert_eq!(e.protocol(c), Protocol::Resp2);
        // The default user has no password: any password is accepted.
        assert!(matches!(
            e.run(
                c,
                &["HELLO", "3", "AUTH", "default", "anything", "SETNAME", "x"],
                0
            ),
            Reply::Map(_)
        ));
        assert_eq!(e.protocol(c), Protocol::Resp3);
    }

    #[test]
    fn reset_restores_fresh_connection_state() {
        let (mut e, c) = engine();
        e.run(c, &["HELLO", "3", "SETNAME", "me"], 0);
        e.run(c, &["SELECT", "4"], 0);
        e.run(c, &["CLIENT", "NO-EVICT", "on"], 0);
        assert_eq!(e.run(c, &["RESET"], 0), Reply::simple("RESET"));
        let cl = e.client(c).expect("client");
        assert_eq!(
            (cl.db, cl.name.clone(), cl.protocol),
            (0, None, Protocol::Resp2)
        );
        assert!(cl.no_evict, "RESET keeps NO-EVICT, as Redis does");
    }

    #[test]
    fn quit_flags_the_connection() {
        let (mut e, c) = engine();
        assert!(!e.should_close(c));
        assert_eq!(e.run(c, &["QUIT", "extra"], 0), Reply::OK);
        assert!(e.should_close(c));
    }

    #[test]
    fn client_names() {
        let (mut e, c) = engine();
        assert_eq!(e.run(c, &["CLIENT", "GETNAME"], 0), Reply::Nil);
        assert_eq!(
            err(e.run(c, &["CLIENT", "SETNAME", "a\nb"], 0)),
            error::CLIENT_NAME_SPACES
        );
        assert_eq!(
            err(e.run(c, &["CLIENT", "SETNAME", "caf\u{e9}"], 0)),
            error::CLIENT_NAME_SPACES
        );
        assert_eq!(e.run(c, &["CLIENT", "SETNAME", "worker-1"], 0), Reply::OK);
        assert_eq!(e.run(c, &["CLIENT", "GETNAME"], 0), Reply::bulk("worker-1"));
        assert_eq!(e.run(c, &["CLIENT", "SETNAME", ""], 0), Reply::OK);
        assert_eq!(e.run(c, &["CLIENT", "GETNAME"], 0), Reply::Nil);
        assert_eq!(
            err(e.run(c, &["CLIENT", "ID", "x"], 0)),
            "ERR wrong number of arguments for 'client|id' command"
        );
    }

    #[test]
    fn client_list_lines_use_the_virtual_clock() {
        let mut e = Engine::new(Config::default());
        let a = e.connect(1_000);
        let b = e.connect(2_500);
        e.run(b, &["CLIENT", "SETNAME", "bee"], 3_000);
        e.run(b, &["SELECT", "2"], 3_000);
        let Reply::Verbatim("txt", text) = e.run(a, &["CLIENT", "LIST"], 10_900) else {
            panic!()
        };
        let text = String::from_utf8(text).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with(&format!("id={a} addr=127.0.0.1:")),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains(" name= age=9 idle=0 flags=N db=0 "),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains(" cmd=client|list user=default redir=-1 resp=2"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(" name=bee age=8 idle=7 flags=N db=2 sub=0 psub=0 ssub=0 multi=-1 "),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains(" cmd=select "), "{}", lines[1]);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn client_list_filters() {
        let (mut e, c) = engine();
        let other = e.connect(0);
        assert_eq!(
            err(e.run(c, &["CLIENT", "LIST", "TYPE", "foo"], 0)),
            "ERR Unknown client type 'foo'"
        );
        assert_eq!(
            err(e.run(c, &["CLIENT", "LIST", "ID", "abc"], 0)),
            "ERR Invalid client ID"
        );
        assert_eq!(err(e.run(c, &["CLIENT", "LIST", "foo"], 0)), error::SYNTAX);
        assert_eq!(err(e.run(c, &["CLIENT", "LIST", "ID"], 0)), error::SYNTAX);
        let Reply::Verbatim(_, t) = e.run(c, &["CLIENT", "LIST", "TYPE", "master"], 0) else {
            panic!()
        };
        assert!(t.is_empty());
        let Reply::Verbatim(_, t) =
            e.run(c, &["CLIENT", "LIST", "ID", &other.to_string(), "999"], 0)
        else {
            panic!()
        };
        let t = String::from_utf8(t).expect("utf8");
        assert_eq!(t.lines().count(), 1);
        assert!(t.starts_with(&format!("id={other} ")));
    }

    #[test]
    fn client_kill() {
        let (mut e, c) = engine();
        let other = e.connect(0);
        assert_eq!(
            err(e.run(c, &["CLIENT", "KILL", "ID", "0"], 0)),
            "ERR client-id should be greater than 0"
        );
        assert_eq!(
            err(e.run(c, &["CLIENT", "KILL", "1.2.3.4:5"], 0)),
            "ERR No such client"
        );
        assert_eq!(
            err(e.run(c, &["CLIENT", "KILL", "ID", "5", "SKIPME"], 0)),
            error::SYNTAX
        );
        assert_eq!(
            err(e.run(c, &["CLIENT", "KILL", "USER", "bob"], 0)),
            "ERR No such user 'bob'"
        );
        assert_eq!(
            err(e.run(c, &["CLIENT", "KILL", "TYPE", "x"], 0)),
            "ERR Unknown client type 'x'"
        );
        // Skips the caller by default.
        assert_eq!(
            e.run(c, &["CLIENT", "KILL", "ID", &c.to_string()], 0),
            Reply::Integer(0)
        );
        assert_eq!(
            e.run(c, &["CLIENT", "KILL", "ID", &other.to_string()], 0),
            Reply::Integer(1)
        );
        assert!(e.client(other).is_none() && e.should_close(other));
        let addr = e.client(c).map(|cl| cl.addr.clone()).unwrap_or_default();
        assert_eq!(e.run(c, &["CLIENT", "KILL", &addr], 0), Reply::OK);
        assert!(e.should_close(c));
    }

    #[test]
    fn client_no_evict_and_info() {
        let (mut e, c) = engine();
        assert_eq!(
            err(e.run(c, &["CLIENT", "NO-EVICT", "maybe"], 0)),
            error::SYNTAX
        );
        assert_eq!(e.run(c, &["CLIENT", "NO-EVICT", "ON"], 0), Reply::OK);
        let Reply::Verbatim(_, t) = e.run(c, &["CLIENT", "INFO"], 0) else {
            panic!()
        };
        let t = String::from_utf8(t).expect("utf8");
        assert!(t.contains(" flags=e ") && t.ends_with("resp=2\n"), "{t}");
        let Reply::Array(help) = e.run(c, &["client", "help"], 0) else {
            panic!()
        };
        assert_eq!(
            help[0],
            Reply::simple("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
        );
    }
}
