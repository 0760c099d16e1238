//! A real Redis as a `Target`, over TCP with `std::net`: what `scenario replay` plays against.
//!
//! This is the crate's only module that touches the operating system; it is left out of the
//! browser build. Each scenario client gets one connection per instance, and instance N is
//! database N-1 of the one server (several instances only differ in what engine-only steps do
//! to them, and those are skipped here). `wait` sleeps for real.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use cachelab_engine::{Event, Reply};

use cachelab_engine::cluster::follow::{follow, Hop};

use crate::cluster::start_node;
use crate::format::{cluster_addr, Capability, ClusterSpec, EngineAction, Scenario, Sender};
use crate::resp::{encode_command, parse_frame};
use crate::run::show_argv;
use crate::target::{CallError, Target};
use crate::template::NodeAddr;

/// How long a reply may take before the run gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to listen for messages a server may still be writing to a subscribed client (the
/// server answers the publisher first, then the subscribers, in the same event-loop turn).
const PUSH_WINDOW: Duration = Duration::from_millis(50);

/// `redis://HOST:PORT`, `redis://HOST` (port 6379) or `HOST:PORT`, as `HOST:PORT`.
pub fn parse_url(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("redis://").unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') || rest.contains('/') {
        return Err(format!(
            "unsupported address '{url}': write redis://HOST:PORT (no password, no database)"
        ));
    }
    if rest.is_empty() {
        return Err(format!("no host in '{url}'"));
    }
    let addr = if rest.contains(':') {
        rest.to_string()
    } else {
        format!("{rest}:6379")
    };
    let (host, port) = addr.rsplit_once(':').unwrap_or((&addr, ""));
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("bad address '{url}': write redis://HOST:PORT"));
    }
    Ok(addr)
}

/// Commands written before their replies are read, in a pipelined `repeat`.
const PIPELINE_CHUNK: usize = 256;

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(addr: &str, db: usize) -> Result<Conn, String> {
        let sock = addr
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {addr}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {addr}"))?;
        let stream = TcpStream::connect_timeout(&sock, REPLY_TIMEOUT)
            .map_err(|e| format!("Could not connect to Redis at {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
        };
        if db > 0 {
            let reply = conn.call(&[b"SELECT".to_vec(), db.to_string().into_bytes()])?;
            if reply != Reply::ok() {
                return Err(format!("SELECT {db} answered {reply:?}"));
            }
        }
        Ok(conn)
    }

    fn send(&mut self, argv: &[Vec<u8>]) -> Result<(), String> {
        self.stream
            .write_all(&encode_command(argv))
            .map_err(|e| format!("cannot send: {e}"))
    }

    /// Several commands in one write.
    fn send_all(&mut self, argvs: &[Vec<Vec<u8>>]) -> Result<(), String> {
        let bytes: Vec<u8> = argvs.iter().flat_map(|a| encode_command(a)).collect();
        self.stream
            .write_all(&bytes)
            .map_err(|e| format!("cannot send: {e}"))
    }

    /// The next frame, or None when nothing complete arrived within `timeout`.
    fn read(&mut self, timeout: Duration) -> Result<Option<Reply>, String> {
        loop {
            if let Some((reply, used)) = parse_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(reply));
            }
            self.stream
                .set_read_timeout(Some(timeout))
                .map_err(|e| e.to_string())?;
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(None)
                }
                Err(e) => return Err(format!("cannot read: {e}")),
            }
        }
    }

    fn call(&mut self, argv: &[Vec<u8>]) -> Result<Reply, String> {
        self.send(argv)?;
        self.read(REPLY_TIMEOUT)?
            .ok_or_else(|| format!("no reply within {REPLY_TIMEOUT:?}"))
    }

    /// Every frame that arrives within `window` of the last one.
    fn drain(&mut self, window: Duration) -> Result<Vec<Reply>, String> {
        let mut out = Vec::new();
        while let Some(r) = self.read(window)? {
            out.push(r);
        }
        Ok(out)
    }
}

fn is_subscription(name: &[u8]) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_slice(),
        b"subscribe"
            | b"psubscribe"
            | b"ssubscribe"
            | b"unsubscribe"
            | b"punsubscribe"
            | b"sunsubscribe"
    )
}

/// Whether `argv` is a `CONFIG SET`, whose parameters replay notes to put back.
fn is_config_set(argv: &[Vec<u8>]) -> bool {
    let is = |i: usize, w: &[u8]| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w));
    is(0, b"config") && is(1, b"set")
}

/// The connection kept in `conns` under `key`, opened with `open` if there is none yet.
fn conn_for<'a, K: Ord + Clone>(
    conns: &'a mut BTreeMap<K, Conn>,
    key: &K,
    open: impl FnOnce() -> Result<Conn, String>,
) -> Result<&'a mut Conn, String> {
    Ok(match conns.entry(key.clone()) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(open()?),
    })
}

/// `argv`'s reply on the connection kept in `conns` under `key` (opened with `open` if
/// needed); a connection that fails is dropped, so that the next call opens a fresh one.
fn call_on<K: Ord + Clone>(
    conns: &mut BTreeMap<K, Conn>,
    key: &K,
    open: impl FnOnce() -> Result<Conn, String>,
    argv: &[Vec<u8>],
) -> Result<Reply, CallError> {
    let conn = conn_for(conns, key, open).map_err(CallError::Fatal)?;
    conn.call(argv).map_err(|e| {
        conns.remove(key);
        CallError::Fatal(e)
    })
}

/// The current values, read with `CONFIG GET` on a connection from `open` (opened only if
/// there is any), of the parameters a `CONFIG SET` of `pairs` is about to change and that
/// `noted` does not hold yet: what `finish` puts back.
fn config_to_restore(
    pairs: &[Vec<u8>],
    noted: impl Fn(&[u8]) -> bool,
    open: impl FnOnce() -> Result<Conn, String>,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
    let params: Vec<Vec<u8>> = pairs
        .chunks(2)
        .map(|p| p[0].to_ascii_lowercase())
        .filter(|p| !noted(p))
        .collect();
    let mut out = Vec::new();
    if params.is_empty() {
        return Ok(out);
    }
    let mut admin = open()?;
    for param in params {
        let reply = admin.call(&[word("CONFIG"), word("GET"), param.clone()])?;
        if let Reply::Array(items) = reply {
            if let Some(Reply::Bulk(v)) = items.get(1) {
                out.push((param, v.clone()));
            }
        }
    }
    Ok(out)
}

/// A real Redis server.
pub struct RedisTarget {
    addr: String,
    allow_flush: bool,
    conns: BTreeMap<Sender, Conn>,
    inspectors: BTreeMap<usize, Conn>,
    subscribed: BTreeSet<Sender>,
    /// Configuration the scenario changed, with the values to put back.
    restore: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RedisTarget {
    /// `addr` is `HOST:PORT`. Replay empties the server before each scenario; unless
    /// `allow_flush`, it refuses to when the server holds keys.
    pub fn new(addr: &str, allow_flush: bool) -> RedisTarget {
        RedisTarget {
            addr: addr.to_string(),
            allow_flush,
            conns: BTreeMap::new(),
            inspectors: BTreeMap::new(),
            subscribed: BTreeSet::new(),
            restore: Vec::new(),
        }
    }

    fn admin(&self) -> Result<Conn, String> {
        Conn::connect(&self.addr, 0)
    }

    /// Notes the current values of the parameters a `CONFIG SET` is about to change (those not
    /// noted yet), so that `finish` can put them back.
    fn remember_config(&mut self, pairs: &[Vec<u8>]) -> Result<(), String> {
        let restore = &self.restore;
        let values = config_to_restore(
            pairs,
            |p| restore.iter().any(|(q, _)| q == p),
            || self.admin(),
        )?;
        self.restore.extend(values);
        Ok(())
    }
}

fn word(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Target for RedisTarget {
    fn label(&self) -> String {
        format!("redis {}", self.addr)
    }

    fn is_engine(&self) -> bool {
        false
    }

    fn has(&mut self, _capability: Capability) -> bool {
        true
    }

    fn setup(&mut self, scenario: &Scenario, _start_ms: i64) -> Result<(), String> {
        if scenario.cluster.is_some() {
            return Err(format!(
                "{} is a cluster scenario: replay it on a Redis Cluster (--cluster-url)",
                scenario.file
            ));
        }
        self.conns.clear();
        self.inspectors.clear();
        self.subscribed.clear();
        let mut admin = self.admin()?;
        if !self.allow_flush {
            for db in 0..scenario.instances {
                admin.call(&[word("SELECT"), word(&db.to_string())])?;
                let n = admin.call(&[word("DBSIZE")])?;
                if n != Reply::Integer(0) {
                    return Err(format!(
                        "the server at {} holds keys in database {db}: replay empties it first, \
                         and does so only when asked (--flush)",
                        self.addr
                    ));
                }
            }
            admin.call(&[word("SELECT"), word("0")])?;
        }
        let r = admin.call(&[word("FLUSHALL")])?;
        if r != Reply::ok() {
            return Err(format!("FLUSHALL answered {r:?}"));
        }
        for line in &scenario.config {
            self.remember_config(&line.args)?;
            let mut argv = vec![word("CONFIG"), word("SET")];
            argv.extend(line.args.iter().cloned());
            let r = admin.call(&argv)?;
            if let Some(e) = r.error_text() {
                return Err(format!(
                    "line {}: {} answered {e}",
                    line.line,
                    show_argv(&argv)
                ));
            }
        }
        Ok(())
    }

    fn command(
        &mut self,
        sender: &Sender,
        argv: &[Vec<u8>],
        _now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        let addr = &self.addr;
        conn_for(&mut self.conns, sender, || {
            Conn::connect(addr, sender.instance - 1)
        })
        .map_err(CallError::Fatal)?;
        if is_config_set(argv) {
            self.remember_config(&argv[2..]).map_err(CallError::Fatal)?;
        }
        let subscription = argv.first().is_some_and(|n| is_subscription(n));
        let listening = self.subscribed.contains(sender);
        let quit = argv
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(b"quit"));
        let Some(conn) = self.conns.get_mut(sender) else {
            return Err(CallError::Fatal("connection vanished".into()));
        };
        let result = (|| -> Result<Vec<Reply>, String> {
            conn.send(argv)?;
            let first = conn
                .read(REPLY_TIMEOUT)?
                .ok_or_else(|| format!("no reply within {REPLY_TIMEOUT:?}"))?;
            let mut frames = vec![first];
            // After QUIT the server closes the socket: nothing more will come.
            if (subscription || listening) && !quit {
                frames.extend(conn.drain(PUSH_WINDOW)?);
            }
            Ok(frames)
        })();
        match result {
            Ok(frames) => {
                if subscription {
                    // The count of subscriptions left is the last element of each confirmation.
                    let left = frames.last().and_then(|f| match f {
                        Reply::Array(items) | Reply::Push(items) => match items.last() {
                            Some(Reply::Integer(n)) => Some(*n),
                            _ => None,
                        },
                        _ => None,
                    });
                    if left.unwrap_or(0) > 0 {
                        self.subscribed.insert(sender.clone());
                    } else {
                        self.subscribed.remove(sender);
                    }
                }
                if quit {
                    self.conns.remove(sender);
                    self.subscribed.remove(sender);
                }
                Ok(frames)
            }
            Err(e) => {
                self.conns.remove(sender);
                self.subscribed.remove(sender);
                Err(CallError::Fatal(e))
            }
        }
    }

    fn command_pipeline(
        &mut self,
        sender: &Sender,
        argvs: &[Vec<Vec<u8>>],
        _now: i64,
    ) -> Option<Vec<Result<Vec<Reply>, CallError>>> {
        // Only plain commands: subscriptions, QUIT and CONFIG SET need `command`'s bookkeeping.
        let plain = |argv: &Vec<Vec<u8>>| {
            argv.first().is_some_and(|n| {
                !is_subscription(n)
                    && !n.eq_ignore_ascii_case(b"quit")
                    && !n.eq_ignore_ascii_case(b"config")
            })
        };
        if argvs.len() < 2 || self.subscribed.contains(sender) || !argvs.iter().all(plain) {
            return None;
        }
        let addr = &self.addr;
        let conn = match conn_for(&mut self.conns, sender, || {
            Conn::connect(addr, sender.instance - 1)
        }) {
            Ok(conn) => conn,
            Err(e) => return Some(vec![Err(CallError::Fatal(e))]),
        };
        let mut out = Vec::with_capacity(argvs.len());
        // In slices, so that neither side's socket buffers have to hold everything at once.
        for chunk in argvs.chunks(PIPELINE_CHUNK) {
            let sent = conn.send_all(chunk);
            let replies = sent.and_then(|()| {
                (0..chunk.len())
                    .map(|_| {
                        conn.read(REPLY_TIMEOUT)?
                            .ok_or_else(|| format!("no reply within {REPLY_TIMEOUT:?}"))
                    })
                    .collect::<Result<Vec<Reply>, String>>()
            });
            match replies {
                Ok(replies) => out.extend(replies.into_iter().map(|r| Ok(vec![r]))),
                Err(e) => {
                    self.conns.remove(sender);
                    out.push(Err(CallError::Fatal(e)));
                    break;
                }
            }
        }
        Some(out)
    }

    fn take_pushed(&mut self) -> Result<Vec<(Sender, Vec<Reply>)>, String> {
        let mut out = Vec::new();
        let listening: Vec<Sender> = self.subscribed.iter().cloned().collect();
        for sender in listening {
            if let Some(conn) = self.conns.get_mut(&sender) {
                let frames = conn.drain(PUSH_WINDOW)?;
                if !frames.is_empty() {
                    out.push((sender, frames));
                }
            }
        }
        Ok(out)
    }

    fn wait(&mut self, ms: u64, _now: i64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn inspect(
        &mut self,
        instance: usize,
        argv: &[Vec<u8>],
        _now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        let addr = &self.addr;
        let open = || Conn::connect(addr, instance - 1);
        Ok(vec![call_on(&mut self.inspectors, &instance, open, argv)?])
    }

    fn engine_action(&mut self, action: &EngineAction, _now: i64) -> Result<String, String> {
        Err(format!("'{action}' is engine-only"))
    }

    fn take_events(&mut self) -> Vec<(usize, Event)> {
        Vec::new()
    }

    fn finish(&mut self) -> Result<(), String> {
        self.conns.clear();
        self.inspectors.clear();
        self.subscribed.clear();
        if self.restore.is_empty() {
            return Ok(());
        }
        let mut admin = self.admin()?;
        let mut errors = Vec::new();
        for (param, value) in std::mem::take(&mut self.restore).into_iter().rev() {
            let r = admin.call(&[word("CONFIG"), word("SET"), param.clone(), value])?;
            if let Some(e) = r.error_text() {
                errors.push(format!(
                    "restoring {}: {e}",
                    String::from_utf8_lossy(&param)
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("redis://127.0.0.1:6379").unwrap(),
            "127.0.0.1:6379"
        );
        assert_eq!(parse_url("redis://localhost").unwrap(), "localhost:6379");
        assert_eq!(parse_url("127.0.0.1:7000/").unwrap(), "127.0.0.1:7000");
        assert!(parse_url("redis://:pw@host:1").is_err());
        assert!(parse_url("redis://host:port").is_err());
        assert!(parse_url("redis://").is_err());
        assert!(parse_url("redis://h:1/2").is_err());
    }

    fn options(args: &[&str]) -> Result<ReplayOptions, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut o = ReplayOptions::default();
        let mut rest = args.iter();
        while let Some(a) = rest.next() {
            if !o.take(a, &mut rest)? {
                return Err(format!("not a replay option: {a}"));
            }
        }
        Ok(o)
    }

    fn scenario(cluster: bool) -> Scenario {
        let header = if cluster { "cluster: 3\n" } else { "" };
        crate::parse(
            "s.scn",
            &format!(
                "cachelab-scenario 2\nid: s\ntitle: T\nsummary: S\nview: keyspace\n\
                 clients: A\n{header}step: s\nA: PING\n"
            ),
        )
        .expect("parses")
    }

    #[test]
    fn replay_options() {
        let o = options(&["--cluster-url", "redis://127.0.0.1:7000", "--flush"]).unwrap();
        assert_eq!(o.cluster_urls, ["redis://127.0.0.1:7000"]);
        assert!(o.flush && o.any());
        assert!(options(&["--url"])
            .unwrap_err()
            .contains("--url needs a value"));
        assert!(options(&["--cluster-url", "redis://x:y"])
            .unwrap()
            .validate()
            .is_err());
        // A cluster scenario needs a cluster; a plain one, a single server.
        let cluster = options(&["--cluster-url", "127.0.0.1:7000"]).unwrap();
        assert!(cluster.target_for(&scenario(true)).is_ok());
        assert!(cluster
            .target_for(&scenario(false))
            .err()
            .is_some_and(|e| e.contains("--url")));
        let single = ReplayOptions::default();
        assert!(single.target_for(&scenario(false)).is_ok());
        assert!(single
            .target_for(&scenario(true))
            .err()
            .is_some_and(|e| e.contains("--cluster-url")));
        // Several --url name a cluster's nodes.
        let seeds = options(&["--url", "127.0.0.1:7000", "--url", "127.0.0.1:7001"]).unwrap();
        assert!(seeds.target_for(&scenario(true)).is_ok());
        assert!(seeds.target_for(&scenario(false)).is_err());
    }

    #[test]
    fn cluster_nodes_lines() {
        let text = "\
07c3 127.0.0.1:30004@31004 slave e7d1 0 1426238317239 4 connected
e7d1 127.0.0.1:30001@31001,host myself,master - 0 0 1 connected 0-5460 [93->-292f]
292f 127.0.0.1:30002@31002 master,fail - 1426238316232 1426238315000 2 connected 5461 5462-10922
";
        let nodes = parse_nodes(text).unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[0].master_of.as_deref(), Some("e7d1"));
        assert_eq!((nodes[1].port, nodes[1].myself), (30001, true));
        assert_eq!(nodes[1].slots, [(0, 5460)]);
        assert_eq!(nodes[1].moving, [93]);
        assert!(nodes[2].failed);
        assert_eq!(nodes[2].slots, [(5461, 5461), (5462, 10922)]);
        assert!(parse_nodes("short line").is_err());
    }
}

/// A real Redis Cluster, reached from its seed nodes: `scenario replay --cluster-url`.
///
/// Setup reads the cluster's shape with CLUSTER NODES and numbers its nodes as the engine does:
/// masters by their first slot, then replicas, one per master in turn. The cluster must be the
/// scenario's (as many masters, enough replicas, the slots split as `redis-cli --cluster create`
/// splits them), since lessons name slots and nodes. Redirections are followed as `redis-cli -c`
/// follows them, and their lines name node N by the scenario's address for it
/// (`format::cluster_addr`), so that the text matches the engine's whatever ports the cluster
/// listens on.
pub struct RedisClusterTarget {
    seeds: Vec<String>,
    allow_flush: bool,
    /// Node N-1's real address and id.
    nodes: Vec<NodeAddr>,
    /// Each client's connection and the node (0-based) it is on.
    clients: BTreeMap<String, (usize, Conn)>,
    inspectors: BTreeMap<usize, Conn>,
    redirects: Vec<String>,
    /// Configuration the scenario changed, per node, with the values to put back.
    restore: Vec<(usize, Vec<u8>, Vec<u8>)>,
}

/// How long setup waits for the nodes to agree on the cluster's shape (gossip after a
/// failover or a slot moved takes a moment to reach every node).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

fn cluster_nodes_of(addr: &str) -> Result<Vec<NodeLine>, String> {
    match Conn::connect(addr, 0)?.call(&[word("CLUSTER"), word("NODES")])? {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => parse_nodes(&String::from_utf8_lossy(&b)),
        other => Err(format!("{addr}: CLUSTER NODES answered {other:?}")),
    }
}

/// A node's id, the id of its master (for a replica) and its slots.
type NodeShape = (String, Option<String>, Vec<(u16, u16)>);

/// What a view says about the cluster's shape: each node's role and slots.
fn shape(view: &[NodeLine]) -> Vec<NodeShape> {
    let mut out: Vec<_> = view
        .iter()
        .map(|n| (n.id.clone(), n.master_of.clone(), n.slots.clone()))
        .collect();
    out.sort();
    out
}

/// One line of CLUSTER NODES.
struct NodeLine {
    id: String,
    host: String,
    port: u16,
    master_of: Option<String>,
    failed: bool,
    slots: Vec<(u16, u16)>,
    /// Slots in the middle of a migration (`[slot->-id]`, `[slot-<-id]`).
    moving: Vec<u16>,
    /// The line of the node that answered.
    myself: bool,
}

fn parse_nodes(text: &str) -> Result<Vec<NodeLine>, String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            return Err(format!("unexpected CLUSTER NODES line: {line}"));
        }
        // ip:port@cport[,hostname]
        let addr = f[1].split(['@', ',']).next().unwrap_or("");
        let (host, port) = addr
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("unexpected node address in: {line}"))?;
        let flags: Vec<&str> = f[2].split(',').collect();
        let master_of = (flags.contains(&"slave") && f[3] != "-").then(|| f[3].to_string());
        let mut slots = Vec::new();
        let mut moving = Vec::new();
        for s in &f[8..] {
            if let Some(m) = s.strip_prefix('[') {
                if let Some(n) = m.split('-').next().and_then(|n| n.parse().ok()) {
                    moving.push(n);
                }
                continue;
            }
            let (a, b) = s.split_once('-').unwrap_or((s, s));
            match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) => slots.push((a, b)),
                _ => return Err(format!("unexpected slot range '{s}' in: {line}")),
            }
        }
        out.push(NodeLine {
            id: f[0].to_string(),
            host,
            port,
            master_of,
            failed: flags.iter().any(|f| f.starts_with("fail")),
            myself: flags.contains(&"myself"),
            slots,
            moving,
        });
    }
    Ok(out)
}

impl RedisClusterTarget {
    /// `seeds` are `HOST:PORT` addresses of some of the cluster's nodes. Replay empties the
    /// masters before each scenario; unless `allow_flush`, it refuses to when they hold keys.
    pub fn new(seeds: &[String], allow_flush: bool) -> RedisClusterTarget {
        RedisClusterTarget {
            seeds: seeds.to_vec(),
            allow_flush,
            nodes: Vec::new(),
            clients: BTreeMap::new(),
            inspectors: BTreeMap::new(),
            redirects: Vec::new(),
            restore: Vec::new(),
        }
    }

    fn addr(&self, node: usize) -> String {
        let n = &self.nodes[node];
        format!("{}:{}", n.host, n.port)
    }

    fn connect(&self, node: usize) -> Result<Conn, String> {
        Conn::connect(&self.addr(node), 0)
    }

    /// A `-MOVED` or `-ASK` reply as the scenario shows it: naming node N by its scenario
    /// address, as the redirection lines do.
    fn shown(&self, reply: Reply) -> Reply {
        let Some(hop) = Hop::from_reply(&reply) else {
            return reply;
        };
        let Some(n) = self.node_at(&hop.host, hop.port) else {
            return reply;
        };
        let kind = if hop.ask { "ASK" } else { "MOVED" };
        Reply::error_owned(format!("{kind} {} {}", hop.slot, cluster_addr(n + 1)))
    }

    fn node_at(&self, host: &str, port: u16) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.port == port && n.host == host)
    }

    /// Reads the cluster's nodes from the first seed that answers, numbered as the scenario
    /// numbers them, and checks that the cluster has the scenario's shape.
    /// Each node's own line, as every node reports itself, once every node's view agrees (or
    /// after `SETTLE_TIMEOUT`): a node knows its own role and slots before the others do.
    fn settled_view(&self, seed_view: Vec<NodeLine>) -> Result<Vec<NodeLine>, String> {
        let addrs: Vec<String> = seed_view
            .iter()
            .filter(|n| !n.failed)
            .map(|n| format!("{}:{}", n.host, n.port))
            .collect();
        let deadline = std::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            let views: Vec<Vec<NodeLine>> = addrs
                .iter()
                .map(|a| cluster_nodes_of(a))
                .collect::<Result<_, _>>()?;
            let own: Vec<NodeLine> = views
                .iter()
                .flat_map(|v| v.iter().filter(|n| n.myself))
                .map(|n| NodeLine {
                    id: n.id.clone(),
                    host: n.host.clone(),
                    port: n.port,
                    master_of: n.master_of.clone(),
                    failed: n.failed,
                    slots: n.slots.clone(),
                    moving: n.moving.clone(),
                    myself: false,
                })
                .collect();
            let agreed = views.iter().all(|v| shape(v) == shape(&own));
            if agreed || std::time::Instant::now() >= deadline {
                return Ok(own);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn discover(&mut self, spec: ClusterSpec) -> Result<(), String> {
        let mut last = String::from("no seed nodes given");
        let mut text = None;
        for seed in &self.seeds {
            match Conn::connect(seed, 0).and_then(|mut c| c.call(&[word("CLUSTER"), word("NODES")]))
            {
                Ok(Reply::Bulk(b)) | Ok(Reply::Verbatim(_, b)) => {
                    text = Some(String::from_utf8_lossy(&b).into_owned());
                    break;
                }
                Ok(other) => last = format!("{seed}: CLUSTER NODES answered {other:?}"),
                Err(e) => last = format!("{seed}: {e}"),
            }
        }
        let text = text.ok_or(last)?;
        let all = self.settled_view(parse_nodes(&text)?)?;
        let mut masters: Vec<&NodeLine> = all
            .iter()
            .filter(|n| n.master_of.is_none() && !n.slots.is_empty())
            .collect();
        masters.sort_by_key(|n| n.slots.iter().map(|r| r.0).min());
        if masters.len() != spec.masters {
            return Err(format!(
                "the scenario needs a cluster of {} masters; this one has {}",
                spec.masters,
                masters.len()
            ));
        }
        let split = cachelab_engine::cluster::even_split(spec.masters);
        for (i, m) in masters.iter().enumerate() {
            if m.failed {
                return Err(format!("node {}:{} is failed", m.host, m.port));
            }
            if m.slots != [split[i]] {
                return Err(format!(
                    "master {}:{} serves slots {:?}; the scenario expects the slots split as \
                     redis-cli --cluster create splits them ({:?})",
                    m.host, m.port, m.slots, split[i]
                ));
            }
        }
        let mut order: Vec<&NodeLine> = masters.clone();
        for r in 0..spec.replicas_per_master {
            for m in &masters {
                let mut replicas: Vec<&NodeLine> = all
                    .iter()
                    .filter(|n| n.master_of.as_deref() == Some(m.id.as_str()) && !n.failed)
                    .collect();
                replicas.sort_by_key(|n| (n.host.clone(), n.port));
                let replica = replicas.get(r).ok_or_else(|| {
                    format!(
                        "the scenario needs {} replica(s) per master; {}:{} has {}",
                        spec.replicas_per_master,
                        m.host,
                        m.port,
                        replicas.len()
                    )
                })?;
                order.push(replica);
            }
        }
        self.nodes = order
            .iter()
            .map(|n| NodeAddr {
                id: n.id.clone(),
                host: n.host.clone(),
                port: n.port,
            })
            .collect();
        Ok(())
    }

    fn remember_config(&mut self, node: usize, pairs: &[Vec<u8>]) -> Result<(), String> {
        let restore = &self.restore;
        let values = config_to_restore(
            pairs,
            |p| restore.iter().any(|(n, q, _)| *n == node && q == p),
            || self.connect(node),
        )?;
        self.restore.extend(
            values
                .into_iter()
                .map(|(param, value)| (node, param, value)),
        );
        Ok(())
    }

    /// Sends a command on `conn`'s node, following redirections; returns the reply, the node
    /// that gave it and the hops taken.
    fn follow_from(
        &mut self,
        client: Option<&str>,
        start: usize,
        argv: &[Vec<u8>],
    ) -> Result<(Reply, usize, Vec<Hop>), CallError> {
        let mut node = start;
        let result = follow(|hop| -> Result<Reply, CallError> {
            if let Some(hop) = hop {
                node = self.node_at(&hop.host, hop.port).ok_or_else(|| {
                    CallError::Fatal(format!(
                        "redirected to {}:{}, which is not one of the cluster's nodes",
                        hop.host, hop.port
                    ))
                })?;
            }
            let conn = self.conn_on(client, node).map_err(CallError::Fatal)?;
            let run = |conn: &mut Conn| -> Result<Reply, String> {
                if hop.is_some_and(|h| h.ask) {
                    conn.call(&[word("ASKING")])?;
                }
                conn.call(argv)
            };
            run(conn).map_err(CallError::Fatal)
        });
        match result {
            Ok(f) => Ok((f.reply, node, f.hops)),
            Err(e) => {
                match client {
                    Some(c) => self.clients.remove(c),
                    None => self.inspectors.remove(&node).map(|c| (node, c)),
                };
                Err(e)
            }
        }
    }

    /// The connection a client (or, with None, the checks) has on `node`, opened if needed;
    /// a client's connection moves there.
    fn conn_on(&mut self, client: Option<&str>, node: usize) -> Result<&mut Conn, String> {
        match client {
            Some(c) => {
                if self.clients.get(c).is_none_or(|(n, _)| *n != node) {
                    let conn = self.connect(node)?;
                    self.clients.insert(c.to_string(), (node, conn));
                }
                self.clients
                    .get_mut(c)
                    .map(|(_, conn)| conn)
                    .ok_or_else(|| "connection vanished".to_string())
            }
            None => {
                let addr = self.addr(node);
                conn_for(&mut self.inspectors, &node, || Conn::connect(&addr, 0))
            }
        }
    }
}

impl Target for RedisClusterTarget {
    fn label(&self) -> String {
        format!("redis cluster {}", self.seeds.join(","))
    }

    fn is_engine(&self) -> bool {
        false
    }

    fn has(&mut self, _capability: Capability) -> bool {
        true
    }

    fn setup(&mut self, scenario: &Scenario, _start_ms: i64) -> Result<(), String> {
        let Some(spec) = scenario.cluster else {
            return Err(format!(
                "{} is not a cluster scenario: replay it on a single Redis (--url)",
                scenario.file
            ));
        };
        self.clients.clear();
        self.inspectors.clear();
        self.discover(spec)?;
        // A lesson stopped half-way through a resharding leaves slots migrating or importing:
        // settle them. Each node shows only its own.
        for n in 0..self.nodes.len() {
            let mut c = self.connect(n)?;
            let text = match c.call(&[word("CLUSTER"), word("NODES")])? {
                Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
                other => return Err(format!("CLUSTER NODES answered {other:?}")),
            };
            for line in parse_nodes(&text)? {
                for slot in &line.moving {
                    c.call(&[
                        word("CLUSTER"),
                        word("SETSLOT"),
                        word(&slot.to_string()),
                        word("STABLE"),
                    ])?;
                }
            }
        }
        for m in 0..spec.masters {
            let mut c = self.connect(m)?;
            if !self.allow_flush && c.call(&[word("DBSIZE")])? != Reply::Integer(0) {
                return Err(format!(
                    "the node at {} holds keys: replay empties the cluster first, and does so \
                     only when asked (--flush)",
                    self.addr(m)
                ));
            }
        }
        for m in 0..spec.masters {
            let r = self.connect(m)?.call(&[word("FLUSHALL")])?;
            if r != Reply::ok() {
                return Err(format!("FLUSHALL on {} answered {r:?}", self.addr(m)));
            }
        }
        for n in 0..self.nodes.len() {
            for line in &scenario.config {
                self.remember_config(n, &line.args)?;
                let mut argv = vec![word("CONFIG"), word("SET")];
                argv.extend(line.args.iter().cloned());
                let r = self.connect(n)?.call(&argv)?;
                if let Some(e) = r.error_text() {
                    return Err(format!(
                        "line {}: {} on {} answered {e}",
                        line.line,
                        show_argv(&argv),
                        self.addr(n)
                    ));
                }
            }
        }
        Ok(())
    }

    fn command(
        &mut self,
        sender: &Sender,
        argv: &[Vec<u8>],
        _now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        self.redirects.clear();
        let on = self.clients.get(&sender.client).map(|(n, _)| *n);
        let start = start_node(sender.instance, on, self.nodes.len())?;
        if is_config_set(argv) {
            self.remember_config(start, &argv[2..])
                .map_err(CallError::Fatal)?;
        }
        let (reply, _, hops) = self.follow_from(Some(&sender.client), start, argv)?;
        self.redirects = hops
            .iter()
            .map(|h| {
                let shown = self
                    .node_at(&h.host, h.port)
                    .map_or_else(|| format!("{}:{}", h.host, h.port), |n| cluster_addr(n + 1));
                format!("-> Redirected to slot [{}] located at {shown}", h.slot)
            })
            .collect();
        if argv
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case(b"quit"))
        {
            self.clients.remove(&sender.client);
        }
        Ok(vec![self.shown(reply)])
    }

    fn take_pushed(&mut self) -> Result<Vec<(Sender, Vec<Reply>)>, String> {
        Ok(Vec::new())
    }

    fn wait(&mut self, ms: u64, _now: i64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn inspect(
        &mut self,
        instance: usize,
        argv: &[Vec<u8>],
        _now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        if instance > self.nodes.len() {
            return Err(CallError::Fatal(format!("no node {instance}")));
        }
        if instance == 0 {
            return Ok(vec![self.follow_from(None, 0, argv)?.0]);
        }
        let node = instance - 1;
        let addr = self.addr(node);
        let open = || Conn::connect(&addr, 0);
        let reply = call_on(&mut self.inspectors, &node, open, argv)?;
        Ok(vec![self.shown(reply)])
    }

    fn engine_action(&mut self, action: &EngineAction, _now: i64) -> Result<String, String> {
        Err(format!("'{action}' is engine-only"))
    }

    fn take_events(&mut self) -> Vec<(usize, Event)> {
        Vec::new()
    }

    fn finish(&mut self) -> Result<(), String> {
        self.clients.clear();
        self.inspectors.clear();
        let mut errors = Vec::new();
        for (node, param, value) in std::mem::take(&mut self.restore).into_iter().rev() {
            let r = self
                .connect(node)
                .and_then(|mut c| c.call(&[word("CONFIG"), word("SET"), param.clone(), value]));
            match r {
                Ok(r) if r.error_text().is_none() => {}
                Ok(r) => errors.push(format!(
                    "restoring {} on node {}: {}",
                    String::from_utf8_lossy(&param),
                    node + 1,
                    r.error_text().unwrap_or_default()
                )),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn nodes(&mut self) -> Vec<NodeAddr> {
        self.nodes.clone()
    }

    fn take_redirects(&mut self) -> Vec<String> {
        std::mem::take(&mut self.redirects)
    }
}

/// What `scenario replay` (and any front end that replays scenarios) is told about the server:
/// `--url`, `--cluster-url` and `--flush`, and the target each scenario gets from them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// `--url`: a single Redis; several stand for the seed nodes of a cluster.
    pub urls: Vec<String>,
    /// `--cluster-url`: seed nodes of a Redis Cluster (repeatable).
    pub cluster_urls: Vec<String>,
    pub flush: bool,
}

/// The usage lines of the replay options.
pub const REPLAY_OPTIONS_USAGE: &str = "\
  --url redis://HOST:PORT          a Redis to replay on (default redis://127.0.0.1:6379)
  --cluster-url redis://HOST:PORT  a node of a Redis Cluster, for cluster scenarios (repeatable;
                                   several --url also name a cluster's nodes)
  --flush                          let replay empty a server that holds keys";

impl ReplayOptions {
    /// Reads `arg` if it is one of the replay options, taking its value from `rest`; Ok(false)
    /// when it is not one.
    pub fn take<'a>(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = &'a String>,
    ) -> Result<bool, String> {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg {
            "--url" => self.urls.push(value("--url")?),
            "--cluster-url" => self.cluster_urls.push(value("--cluster-url")?),
            "--flush" => self.flush = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Whether any replay option was given.
    pub fn any(&self) -> bool {
        self.flush || !self.urls.is_empty() || !self.cluster_urls.is_empty()
    }

    /// Checks every address once, before anything plays.
    pub fn validate(&self) -> Result<(), String> {
        for u in self.urls.iter().chain(&self.cluster_urls) {
            parse_url(u)?;
        }
        Ok(())
    }

    /// The target a scenario replays on: a cluster scenario on the cluster (`--cluster-url`,
    /// or the `--url`s as its nodes), any other on the single server (`--url`, by default
    /// 127.0.0.1:6379).
    pub fn target_for(&self, scenario: &Scenario) -> Result<Box<dyn Target>, String> {
        if scenario.cluster.is_some() {
            let seeds = if self.cluster_urls.is_empty() {
                &self.urls
            } else {
                &self.cluster_urls
            };
            if seeds.is_empty() {
                return Err(format!(
                    "{} is a cluster scenario: give a node of a Redis Cluster with --cluster-url",
                    scenario.file
                ));
            }
            let seeds = seeds
                .iter()
                .map(|u| parse_url(u))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Box::new(RedisClusterTarget::new(&seeds, self.flush)));
        }
        let url = match self.urls.as_slice() {
            [] if !self.cluster_urls.is_empty() => {
                return Err(format!(
                    "{} is not a cluster scenario: give a single Redis with --url",
                    scenario.file
                ))
            }
            [] => "redis://127.0.0.1:6379",
            [one] => one.as_str(),
            _ => {
                return Err(format!(
                    "{} is not a cluster scenario: give one --url",
                    scenario.file
                ))
            }
        };
        Ok(Box::new(RedisTarget::new(&parse_url(url)?, self.flush)))
    }
}
