//! `cachelab serve --cluster 3` against a real Redis Cluster built by the test from Debian's
//! redis-server: three nodes on loopback ports, slots assigned with ADDSLOTSRANGE as
//! `redis-cli --cluster create` would split them, joined with CLUSTER MEET. The same requests go
//! to both clusters and the replies are compared byte for byte once node addresses and ids are
//! replaced by the node's index (the two clusters listen on different ports and draw different
//! ids).
//!
//! The tests fail when redis-server is missing, unless CACHELAB_SKIP_REDIS=1 says to skip them.
//! Every process they start is killed and every directory removed when they end, panics included.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachelab_difftest::RedisCluster;

const WAIT: Duration = Duration::from_secs(10);
/// The slot ranges of `redis-cli --cluster create` with three masters.
const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

/// A RESP2 reply, and the bytes it came in.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Simple(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Arr(Option<Vec<V>>),
}

impl V {
    fn text(&self) -> String {
        match self {
            V::Simple(s) | V::Err(s) => s.clone(),
            V::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            V::Int(n) => n.to_string(),
            other => format!("{other:?}"),
        }
    }
    /// Readable text of a whole reply, nested arrays included.
    fn render(&self) -> String {
        match self {
            V::Arr(Some(items)) => format!(
                "[{}]",
                items.iter().map(V::render).collect::<Vec<_>>().join(", ")
            ),
            V::Int(n) => format!(":{n}"),
            other => other.text(),
        }
    }

    fn items(&self) -> &[V] {
        match self {
            V::Arr(Some(items)) => items,
            _ => &[],
        }
    }
    fn int(&self) -> i64 {
        match self {
            V::Int(n) => *n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Conn {
    fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to port {port}: {e}"));
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        self.stream.write_all(&multibulk(args)).expect("send");
    }

    fn call(&mut self, args: &[&[u8]]) -> (V, Vec<u8>) {
        self.send(args);
        self.read()
    }

    fn cmd(&mut self, args: &[&str]) -> V {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.call(&args).0
    }

    /// The next complete reply.
    fn read(&mut self) -> (V, Vec<u8>) {
        loop {
            if let Some((v, used)) = parse(&self.buf) {
                let raw = self.buf.drain(..used).collect();
                return (v, raw);
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.stream.read(&mut chunk).expect("read a reply");
            assert!(n > 0, "connection closed before a complete reply");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// One reply at the start of `b` and its length, or None when more bytes are needed.
fn parse(b: &[u8]) -> Option<(V, usize)> {
    let line_end = b.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&b[1..line_end]).expect("a text header");
    let after = line_end + 2;
    match b.first()? {
        b'+' => Some((V::Simple(line.into()), after)),
        b'-' => Some((V::Err(line.into()), after)),
        b':' => Some((V::Int(line.parse().expect("an integer")), after)),
        b'$' => {
            let len: i64 = line.parse().expect("a bulk length");
            if len < 0 {
                return Some((V::Bulk(None), after));
            }
            let end = after + len as usize;
            if b.len() < end + 2 {
                return None;
            }
            Some((V::Bulk(Some(b[after..end].to_vec())), end + 2))
        }
        b'*' => {
            let n: i64 = line.parse().expect("an array length");
            if n < 0 {
                return Some((V::Arr(None), after));
            }
            let mut items = Vec::new();
            let mut at = after;
            for _ in 0..n {
                let (v, used) = parse(&b[at..])?;
                items.push(v);
                at += used;
            }
            Some((V::Arr(Some(items)), at))
        }
        other => panic!("unexpected reply type {:?}", *other as char),
    }
}

/// Ports that were free a moment ago (the listeners are closed again before returning).
fn free_ports(n: usize) -> Vec<u16> {
    cachelab_difftest::free_ports(n).expect("free loopback ports")
}

/// Whether the Redis tests should run: they need redis-server, and say how to skip them.
fn redis_available() -> bool {
    match Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(_) if std::env::var("CACHELAB_SKIP_REDIS").is_ok_and(|v| v == "1") => {
            eprintln!("redis-server not found; skipped (CACHELAB_SKIP_REDIS=1)");
            false
        }
        Err(e) => panic!(
            "redis-server could not be run ({e}): these tests build a real Redis Cluster to \
             compare with (install Debian's redis-server, or set CACHELAB_SKIP_REDIS=1 to skip \
             them knowingly)"
        ),
    }
}

/// Child processes killed, and a directory removed, when dropped.
struct Cleanup {
    children: Vec<Child>,
    dir: Option<PathBuf>,
    /// A real Redis Cluster, shut down when dropped.
    _cluster: Option<RedisCluster>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// One of the two clusters: the port of each node, its id, and a connection to each.
struct Side {
    name: &'static str,
    ports: Vec<u16>,
    ids: Vec<String>,
    conns: Vec<Conn>,
    _cleanup: Cleanup,
}

impl Side {
    fn new(name: &'static str, ports: Vec<u16>, cleanup: Cleanup) -> Side {
        let mut conns: Vec<Conn> = ports.iter().map(|&p| Conn::connect(p)).collect();
        let ids = conns
            .iter_mut()
            .map(|c| c.cmd(&["CLUSTER", "MYID"]).text())
            .collect();
        Side {
            name,
            ports,
            ids,
            conns,
            _cleanup: cleanup,
        }
    }

    /// Replaces this cluster's addresses and ids with `node<i>` and `id<i>`.
    fn normalize(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (i, id) in self.ids.iter().enumerate() {
            out = out.replace(id.as_str(), &format!("id{i}"));
        }
        for (i, port) in self.ports.iter().enumerate() {
            out = replace_port(&out, &format!("127.0.0.1:{port}"), &format!("node{i}"));
        }
        out
    }
}

/// Replaces `from` where it is not followed by another digit (so that port 3001 does not match
/// inside 30012).
fn replace_port(text: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let end = i + from.len();
        let next_is_digit = rest[end..].starts_with(|c: char| c.is_ascii_digit());
        out.push_str(&rest[..i]);
        out.push_str(if next_is_digit { from } else { to });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Starts three cluster-enabled redis-servers with the slots split as `redis-cli --cluster
/// create` splits them, joined, once every node reports cluster_state:ok (the difftest crate's
/// `RedisCluster`, which the scenario replay tests use too).
fn start_redis_cluster() -> Side {
    let ports = free_ports(6);
    let (ports, bus) = (ports[..3].to_vec(), ports[3..].to_vec());
    let cluster = RedisCluster::start_with_bus(3, 0, &ports, &bus, &[])
        .unwrap_or_else(|e| panic!("start a Redis Cluster: {e}"));
    let cleanup = Cleanup {
        children: Vec::new(),
        dir: None,
        _cluster: Some(cluster),
    };
    Side::new("redis", ports, cleanup)
}

/// Starts `cachelab serve --cluster 3` on ports the system picks; they are on its first line.
fn start_cachelab_cluster(extra: &[&str]) -> (Vec<u16>, Cleanup) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachelab"))
        .args(["serve", "--cluster", "3", "--port", "0", "--hz", "50"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start cachelab serve --cluster 3");
    let stdout = child.stdout.take().expect("server stdout");
    let cleanup = Cleanup {
        children: vec![child],
        dir: None,
        _cluster: None,
    };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the server's first line");
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("127.0.0.1:"))
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(ports.len() >= 3, "no listening addresses in {line:?}");
    (ports, cleanup)
}

/// The two clusters side by side.
struct Pair {
    redis: Side,
    ours: Side,
    compared: usize,
}

impl Pair {
    /// Sends the same command to node `node` of both clusters and compares the normalized replies.
    fn same(&mut self, node: usize, args: &[&str]) -> V {
        self.same_with(node, |_| args.iter().map(|a| a.to_string()).collect())
    }

    /// `CLUSTER SETSLOT <slot> <state> <id of node peer>` on `node`, compared on both sides.
    fn setslot(&mut self, node: usize, slot: &str, state: &str, peer: usize) -> V {
        self.same_with(node, |s| {
            vec![
                "CLUSTER".into(),
                "SETSLOT".into(),
                slot.to_string(),
                state.to_string(),
                s.ids[peer].clone(),
            ]
        })
    }

    /// As `same`, for commands that name node ids: `args` builds the command for each side.
    fn same_with(&mut self, node: usize, args: impl Fn(&Side) -> Vec<String>) -> V {
        let mut got = Vec::new();
        for side in [&mut self.redis, &mut self.ours] {
            let argv = args(side);
            let bytes: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            let (v, raw) = side.conns[node].call(&bytes);
            got.push((side.normalize(&String::from_utf8_lossy(&raw)), v));
        }
        self.compared += 1;
        assert_eq!(
            got[0].0,
            got[1].0,
            "node {node}, {:?}: {} and {} differ",
            args(&self.redis),
            self.redis.name,
            self.ours.name
        );
        got.remove(1).1
    }
}

fn node_of_slot(slot: u16) -> usize {
    RANGES
        .iter()
        .position(|&(a, b)| (a..=b).contains(&slot))
        .expect("every slot is in a range")
}

/// CLUSTER INFO's fields that do not depend on timing (the bus message counters do).
fn info_fields(v: &V) -> Vec<String> {
    v.text()
        .lines()
        .filter(|l| !l.starts_with("cluster_stats_messages"))
        .map(str::to_string)
        .collect()
}

/// CLUSTER NODES without what depends on time or on the bus ports: per node (in index order)
/// its flags, master, epoch, link state and slots.
fn nodes_fields(side: &Side, v: &V) -> Vec<String> {
    let text = side.normalize(&v.text());
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let addr = f[1].split('@').next().unwrap_or("");
            let mut kept = vec![f[0], addr, f[2], f[3], f[6], f[7]];
            kept.extend(&f[8..]);
            kept.join(" ")
        })
        .collect();
    lines.sort();
    lines
}

/// CLUSTER SLOTS as (start, end, node of the master), in slot order.
fn slots_fields(side: &Side, v: &V) -> Vec<(i64, i64, String)> {
    v.items()
        .iter()
        .map(|r| {
            let it = r.items();
            let master = it[2].items();
            let addr = format!("127.0.0.1:{}", master[1].int());
            assert_eq!(master[0].text(), "127.0.0.1");
            assert_eq!(
                side.normalize(&master[2].text()),
                side.normalize(&addr).replace("node", "id")
            );
            (it[0].int(), it[1].int(), side.normalize(&addr))
        })
        .collect()
}

/// CLUSTER SHARDS as the text of each shard with ids and ports normalized, sorted (Redis lists
/// shards in the order of its node table, which is a hash table).
fn shards_fields(side: &Side, v: &V) -> Vec<String> {
    let mut shards: Vec<String> = v
        .items()
        .iter()
        .map(|s| {
            let mut out = side.normalize(&s.render());
            for (i, p) in side.ports.iter().enumerate() {
                out = out.replace(&format!(":{p},"), &format!("port{i},"));
            }
            out
        })
        .collect();
    shards.sort();
    shards
}

#[test]
fn cluster_replies_match_redis_cluster() {
    if !redis_available() {
        return;
    }
    let started = Instant::now();
    let redis = start_redis_cluster();
    let (ports, cleanup) = start_cachelab_cluster(&[]);
    let ours = Side::new("cachelab", ports, cleanup);
    let mut p = Pair {
        redis,
        ours,
        compared: 0,
    };

    // Topology: the same slots, epochs and flags, seen from every node.
    for node in 0..3 {
        let info = [&mut p.redis, &mut p.ours]
            .map(|s| info_fields(&s.conns[node].cmd(&["CLUSTER", "INFO"])));
        assert_eq!(info[0], info[1], "CLUSTER INFO on node {node}");
        let nodes = [&mut p.redis, &mut p.ours].map(|s| {
            let v = s.conns[node].cmd(&["CLUSTER", "NODES"]);
            nodes_fields(s, &v)
        });
        assert_eq!(nodes[0], nodes[1], "CLUSTER NODES on node {node}");
        let slots = [&mut p.redis, &mut p.ours].map(|s| {
            let v = s.conns[node].cmd(&["CLUSTER", "SLOTS"]);
            slots_fields(s, &v)
        });
        assert_eq!(slots[0], slots[1], "CLUSTER SLOTS on node {node}");
        let shards = [&mut p.redis, &mut p.ours].map(|s| {
            let v = s.conns[node].cmd(&["CLUSTER", "SHARDS"]);
            shards_fields(s, &v)
        });
        assert_eq!(shards[0], shards[1], "CLUSTER SHARDS on node {node}");
        p.same(node, &["INFO", "cluster"]);
    }

    // CLUSTER KEYSLOT for thousands of keys, pipelined: plain keys, hash tags, tags that do not
    // count (empty, unclosed), binary keys.
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for i in 0..2000u32 {
        keys.push(format!("key:{i}").into_bytes());
        keys.push(format!("{{user{}}}:profile:{i}", i % 97).into_bytes());
        keys.push(format!("a{{}}{{b{i}}}").into_bytes());
        keys.push(format!("x{{{i}").into_bytes());
        keys.push(format!("{{{{{i}}}}}").into_bytes());
        keys.push(vec![
            (i % 256) as u8,
            (i * 7 % 256) as u8,
            b'{',
            (i * 13 % 256) as u8,
            b'}',
            0xff,
        ]);
    }
    for k in [
        &b""[..],
        b"{",
        b"}",
        b"{}",
        b"}{",
        b"{a",
        b"a}",
        b"{a}",
        b"{{a}}",
    ] {
        keys.push(k.to_vec());
    }
    let mut replies = Vec::new();
    for side in [&mut p.redis, &mut p.ours] {
        let conn = &mut side.conns[0];
        let mut batch = Vec::new();
        for k in &keys {
            batch.extend_from_slice(&multibulk(&[b"CLUSTER", b"KEYSLOT", k]));
        }
        conn.stream.write_all(&batch).expect("send the keys");
        let got: Vec<V> = keys.iter().map(|_| conn.read().0).collect();
        replies.push(got);
    }
    assert_eq!(replies[0].len(), keys.len());
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(
            replies[0][i],
            replies[1][i],
            "CLUSTER KEYSLOT {:?}",
            String::from_utf8_lossy(k)
        );
    }
    p.compared += keys.len();

    // Every key asked at every node: served there, or MOVED to its owner. (Every node ends up
    // with keys, which the FLUSHSLOTS below relies on to be refused.)
    for i in 0..300 {
        let key = format!("k{i}");
        for node in 0..3 {
            p.same(node, &["GET", &key]);
            p.same(node, &["SET", &key, "v"]);
        }
    }
    for node in 0..3 {
        p.same(node, &["DBSIZE"]);
    }

    // Multi-key commands: CROSSSLOT, or routed by their single slot.
    let multi_key: &[&[&str]] = &[
        &["MSET", "a", "1", "b", "2"],
        &["MSET", "{t}a", "1", "{t}b", "2"],
        &["MGET", "{t}a", "{t}b", "{t}c"],
        &["DEL", "a", "b"],
        &["EXISTS", "{t}a", "{t}b", "c"],
        &["SUNIONSTORE", "{s}d", "{s}a", "{t}b"],
        &["SUNIONSTORE", "{s}d", "{s}a", "{s}b"],
        &["ZUNIONSTORE", "{z}d", "2", "{z}a", "b"],
        &["ZUNIONSTORE", "{z}d", "2", "{z}a", "{z}b"],
        &["ZUNIONSTORE", "{t}d", "2", "{z}a", "{z}b"],
        &["ZUNION", "2", "{z}a", "{y}b"],
        &["ZINTERCARD", "2", "{z}a", "{z}b"],
        &["SINTERCARD", "2", "a", "b"],
        &["LMPOP", "2", "a", "b", "LEFT"],
        &["LMPOP", "2", "{l}a", "{l}b", "LEFT"],
        &["BLMPOP", "0.01", "2", "a", "b", "LEFT"],
        &["ZMPOP", "1", "{z}a", "MIN"],
        &["ZUNION", "x", "a"],
        &["RENAME", "{t}a", "b"],
        &["RENAME", "{t}a", "{t}x"],
        &["SMOVE", "{s}a", "{t}b", "m"],
        &["LMOVE", "{l}a", "{l}b", "LEFT", "RIGHT"],
        &["PFCOUNT", "h1", "h2"],
        &["BITOP", "AND", "{b}d", "{b}1", "{c}2"],
        &["WATCH", "a", "b"],
        &["WATCH", "{t}a", "{t}b"],
        &["UNWATCH"],
        &["SPUBLISH", "chan1", "hello"],
        &["PUBLISH", "chan1", "hello"],
    ];
    for node in 0..3 {
        for cmd in multi_key {
            p.same(node, cmd);
        }
    }

    // Transactions: each command is routed as it is queued; EXEC checks them together.
    let tag_node = node_of_slot(key_slot_of(&mut p, "{t}"));
    for script in [
        &[
            &["MULTI"][..],
            &["SET", "{t}1", "a"],
            &["INCR", "{t}2"],
            &["EXEC"],
        ][..],
        &[
            &["MULTI"][..],
            &["SET", "{t}1", "a"],
            &["SET", "{u}1", "b"],
            &["EXEC"],
        ],
        &[&["MULTI"][..], &["SET", "{t}1", "a"], &["PING"], &["EXEC"]],
        &[&["MULTI"][..], &["PING"], &["EXEC"]],
        &[&["EXEC"][..]],
    ] {
        for node in [tag_node, (tag_node + 1) % 3] {
            for cmd in script {
                p.same(node, cmd);
            }
        }
    }

    // Cluster mode's refusals and the cluster commands that do not depend on ids.
    let refusals: &[&[&str]] = &[
        &["SELECT", "1"],
        &["SELECT", "0"],
        &["SELECT", "x"],
        &["MOVE", "{t}1", "1"],
        &["SWAPDB", "0", "1"],
        &["COPY", "{t}1", "{t}9", "DB", "1"],
        &["COPY", "{t}1", "{t}9"],
        &["READONLY"],
        &["READWRITE"],
        &["ASKING"],
        &["WAIT", "0", "0"],
        &["WAIT", "1", "1"],
        &["WAIT", "x", "1"],
        &["CLUSTER", "KEYSLOT"],
        &["CLUSTER", "KEYSLOT", "somekey"],
        &["CLUSTER", "COUNTKEYSINSLOT", "x"],
        &["CLUSTER", "COUNTKEYSINSLOT", "-1"],
        &["CLUSTER", "COUNTKEYSINSLOT", "16384"],
        &["CLUSTER", "GETKEYSINSLOT", "0", "-1"],
        &["CLUSTER", "GETKEYSINSLOT", "x", "1"],
        &["CLUSTER", "GETKEYSINSLOT", "1", "x"],
        &["CLUSTER", "NOSUCH"],
        &["CLUSTER", "ADDSLOTS", "0"],
        &["CLUSTER", "ADDSLOTS", "16384"],
        &["CLUSTER", "ADDSLOTS", "x"],
        &["CLUSTER", "ADDSLOTSRANGE", "1"],
        &["CLUSTER", "ADDSLOTSRANGE", "5", "1"],
        &["CLUSTER", "ADDSLOTSRANGE", "0", "x"],
        &["CLUSTER", "DELSLOTSRANGE", "1", "2", "3"],
        &["CLUSTER", "SETSLOT", "1", "FOO"],
        &["CLUSTER", "SETSLOT", "16384", "STABLE"],
        &["CLUSTER", "SETSLOT", "1", "NODE", "bogus"],
        &["CLUSTER", "SETSLOT", "1", "STABLE"],
        &["CLUSTER", "FAILOVER"],
        &["CLUSTER", "FAILOVER", "NOW"],
        &["CLUSTER", "REPLICATE", "bogus"],
        &["CLUSTER", "REPLICAS", "bogus"],
        &["CLUSTER", "COUNT-FAILURE-REPORTS", "bogus"],
        &["CLUSTER", "FORGET", "bogus"],
        &["CLUSTER", "SET-CONFIG-EPOCH", "-1"],
        &["CLUSTER", "SET-CONFIG-EPOCH", "x"],
        &["CLUSTER", "SET-CONFIG-EPOCH", "7"],
        &["CLUSTER", "MEET", "127.0.0.1", "abc"],
        &["CLUSTER", "MEET", "127.0.0.1", "1", "abc"],
        &["CLUSTER", "MEET", "1.2.3.x", "80"],
        &["CLUSTER", "FLUSHSLOTS"],
        &["CLUSTER", "SAVECONFIG"],
        &["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a"],
        &["MIGRATE", "127.0.0.1", "1", "", "0", "100", "AUTH"],
        &["MIGRATE", "127.0.0.1", "1", "", "0", "100", "BOGUS"],
        &["MIGRATE", "127.0.0.1", "1", "", "x", "100", "KEYS", "a"],
        &["MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS"],
    ];
    for node in 0..3 {
        for cmd in refusals {
            p.same(node, cmd);
        }
        p.same_with(node, |s| {
            vec!["CLUSTER".into(), "REPLICATE".into(), s.ids[node].clone()]
        });
        p.same_with(node, |s| {
            vec!["CLUSTER".into(), "FORGET".into(), s.ids[node].clone()]
        });
        p.same_with(node, |s| {
            vec![
                "CLUSTER".into(),
                "REPLICAS".into(),
                s.ids[(node + 1) % 3].clone(),
            ]
        });
        p.same_with(node, |s| {
            vec![
                "CLUSTER".into(),
                "COUNT-FAILURE-REPORTS".into(),
                s.ids[(node + 2) % 3].clone(),
            ]
        });
        // A slot this node owns cannot be imported by it; one it does not own cannot be
        // migrated from it.
        let (own, other) = (
            RANGES[node].0.to_string(),
            RANGES[(node + 1) % 3].0.to_string(),
        );
        p.setslot(node, &own, "IMPORTING", (node + 1) % 3);
        p.setslot(node, &other, "MIGRATING", (node + 1) % 3);
        p.same_with(node, |_| {
            let own = RANGES[node].0.to_string();
            vec![
                "CLUSTER".into(),
                "SETSLOT".into(),
                own,
                "MIGRATING".into(),
                "bogus".into(),
            ]
        });
    }
    // A key that exists, sent to a port where nothing listens.
    let k_node = node_of_slot(key_slot_of(&mut p, "k1"));
    p.same(k_node, &["MIGRATE", "127.0.0.1", "1", "k1", "0", "100"]);

    // Keys of one slot, listed newest first; a re-created key moves to the front.
    let g_node = node_of_slot(key_slot_of(&mut p, "{g}"));
    let g_slot = key_slot_of(&mut p, "{g}").to_string();
    for i in 0..20 {
        p.same(g_node, &["SET", &format!("{{g}}{i}"), "x"]);
    }
    p.same(g_node, &["SET", "{g}3", "overwritten"]);
    p.same(g_node, &["DEL", "{g}5"]);
    p.same(g_node, &["SET", "{g}5", "again"]);
    p.same(g_node, &["RENAME", "{g}7", "{g}70"]);
    p.same(g_node, &["RENAME", "{g}8", "{g}9"]);
    p.same(g_node, &["COPY", "{g}10", "{g}11", "REPLACE"]);
    p.same(g_node, &["CLUSTER", "COUNTKEYSINSLOT", &g_slot]);
    p.same(g_node, &["CLUSTER", "GETKEYSINSLOT", &g_slot, "100"]);
    p.same(g_node, &["CLUSTER", "GETKEYSINSLOT", &g_slot, "3"]);
    p.same(g_node, &["CLUSTER", "GETKEYSINSLOT", &g_slot, "0"]);
    p.same((g_node + 1) % 3, &["CLUSTER", "COUNTKEYSINSLOT", &g_slot]);
    p.same(g_node, &["CLUSTER", "FLUSHSLOTS"]);

    // Resharding one slot from its owner to the next node, with ASK and TRYAGAIN on the way.
    let m_slot = key_slot_of(&mut p, "{mig}");
    let src = node_of_slot(m_slot);
    let dst = (src + 1) % 3;
    let slot = m_slot.to_string();
    let dst_port = |s: &Side| s.ports[dst].to_string();
    for k in ["{mig}a", "{mig}b", "{mig}c"] {
        p.same(src, &["SET", k, "1"]);
    }
    p.same(src, &["PEXPIRE", "{mig}b", "100000"]);
    p.setslot(dst, &slot, "IMPORTING", src);
    p.setslot(src, &slot, "MIGRATING", dst);
    p.same(src, &["GET", "{mig}a"]);
    p.same(src, &["GET", "{mig}missing"]);
    p.same(src, &["SET", "{mig}new", "1"]);
    p.same(src, &["MGET", "{mig}a", "{mig}missing"]);
    p.same(dst, &["GET", "{mig}a"]);
    p.same_with(src, |s| {
        [
            "MIGRATE",
            "127.0.0.1",
            &dst_port(s),
            "",
            "0",
            "5000",
            "KEYS",
            "{mig}a",
            "{mig}b",
        ]
        .map(String::from)
        .to_vec()
    });
    p.same(src, &["GET", "{mig}a"]);
    p.same(src, &["MGET", "{mig}a", "{mig}c"]);
    p.same(src, &["EXISTS", "{mig}a", "{mig}b"]);
    p.same(dst, &["GET", "{mig}a"]);
    p.same(dst, &["ASKING"]);
    p.same(dst, &["GET", "{mig}a"]);
    p.same(dst, &["GET", "{mig}a"]);
    p.same(dst, &["ASKING"]);
    p.same(dst, &["MGET", "{mig}a", "{mig}c"]);
    p.same(dst, &["ASKING"]);
    p.same(dst, &["MGET", "{mig}a", "{mig}b"]);
    p.same(dst, &["ASKING"]);
    p.same(dst, &["SET", "{mig}c", "on-target"]);
    p.same_with(src, |s| {
        ["MIGRATE", "127.0.0.1", &dst_port(s), "{mig}c", "0", "5000"]
            .map(String::from)
            .to_vec()
    });
    p.same_with(src, |s| {
        ["MIGRATE", "127.0.0.1", &dst_port(s), "{mig}c", "1", "5000"]
            .map(String::from)
            .to_vec()
    });
    p.same_with(src, |s| {
        [
            "MIGRATE",
            "127.0.0.1",
            &dst_port(s),
            "{mig}c",
            "0",
            "5000",
            "COPY",
            "REPLACE",
        ]
        .map(String::from)
        .to_vec()
    });
    p.same(src, &["GET", "{mig}c"]);
    p.same_with(src, |s| {
        [
            "MIGRATE",
            "127.0.0.1",
            &dst_port(s),
            "{mig}c",
            "0",
            "5000",
            "REPLACE",
        ]
        .map(String::from)
        .to_vec()
    });
    p.same_with(src, |s| {
        ["MIGRATE", "127.0.0.1", &dst_port(s), "{mig}c", "0", "5000"]
            .map(String::from)
            .to_vec()
    });
    // A key of another slot: the target does not take it.
    let other_key = (0..)
        .map(|i| format!("other{i}"))
        .find(|k| {
            let s = key_slot_of(&mut p, k);
            node_of_slot(s) == src && s != m_slot
        })
        .expect("a key of another slot of the source");
    p.same(src, &["SET", &other_key, "1"]);
    p.same_with(src, |s| {
        [
            "MIGRATE",
            "127.0.0.1",
            &dst_port(s),
            &other_key,
            "0",
            "5000",
        ]
        .map(String::from)
        .to_vec()
    });
    p.same(src, &["CLUSTER", "COUNTKEYSINSLOT", &slot]);
    p.same(dst, &["CLUSTER", "COUNTKEYSINSLOT", &slot]);
    p.same(dst, &["CLUSTER", "GETKEYSINSLOT", &slot, "10"]);
    p.same(dst, &["ASKING"]);
    p.same(dst, &["PTTL", "{mig}a"]);
    p.setslot(src, &slot, "NODE", dst);
    p.setslot(dst, &slot, "NODE", dst);
    p.setslot(src, &slot, "NODE", dst);
    p.same(src, &["GET", "{mig}a"]);
    p.same(dst, &["GET", "{mig}a"]);
    p.same(dst, &["GET", "{mig}c"]);
    let epochs = [&mut p.redis, &mut p.ours].map(|s| {
        info_fields(&s.conns[dst].cmd(&["CLUSTER", "INFO"]))
            .into_iter()
            .filter(|l| l.starts_with("cluster_my_epoch") || l.starts_with("cluster_current_epoch"))
            .collect::<Vec<_>>()
    });
    assert_eq!(epochs[0], epochs[1], "epochs after taking a slot");

    // A node that gives up one of its slots: that slot is not served, and its own view of the
    // cluster is down. (Only the node itself is compared: the others learn by gossip.)
    let last = RANGES[2].1.to_string();
    let key_last = key_in_slot_range(&mut p, RANGES[2].1, RANGES[2].1);
    let key_2 = key_in_slot_range(&mut p, RANGES[2].0, RANGES[2].0 + 100);
    p.same(2, &["CLUSTER", "DELSLOTS", &last]);
    p.same(2, &["GET", &key_last]);
    p.same(2, &["GET", &key_2]);
    p.same(2, &["CLUSTER", "DELSLOTS", &last]);
    p.same(2, &["CLUSTER", "ADDSLOTS", &last]);
    p.same(2, &["GET", &key_last]);

    eprintln!("{} replies compared in {:?}", p.compared, started.elapsed());
}

/// The slot of a key, asked of the real cluster.
fn key_slot_of(p: &mut Pair, key: &str) -> u16 {
    p.redis.conns[0].cmd(&["CLUSTER", "KEYSLOT", key]).int() as u16
}

/// A key whose slot is in `lo..=hi`.
fn key_in_slot_range(p: &mut Pair, lo: u16, hi: u16) -> String {
    (0..200_000)
        .map(|i| format!("slotkey{i}"))
        .find(|k| (lo..=hi).contains(&key_slot_of(p, k)))
        .expect("some key falls in the range")
}

/// `redis-cli -c` follows MOVED from one node to another of `cachelab serve --cluster 3`, and
/// redis-py's RedisCluster (when installed) reads and writes through it.
#[test]
fn cluster_clients_follow_redirects() {
    let (ports, _cleanup) = start_cachelab_cluster(&["--replicas", "1"]);
    assert_eq!(ports.len(), 6);
    let cli = |args: &[&str]| -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-c", "-p", &ports[0].to_string()])
            .args(args)
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    match cli(&["SET", "foo", "bar"]) {
        None if std::env::var("CACHELAB_SKIP_REDIS").is_ok_and(|v| v == "1") => {
            eprintln!("redis-cli not found; skipped (CACHELAB_SKIP_REDIS=1)");
        }
        None => panic!("redis-cli could not be run (set CACHELAB_SKIP_REDIS=1 to skip)"),
        Some(set) => {
            assert_eq!(set, "OK");
            assert_eq!(cli(&["GET", "foo"]).as_deref(), Some("bar"));
            for i in 0..20 {
                let key = format!("key{i}");
                assert_eq!(cli(&["SET", &key, &i.to_string()]).as_deref(), Some("OK"));
                assert_eq!(cli(&["GET", &key]), Some(i.to_string()));
            }
            // Without -c the redirection itself is the answer.
            let plain = Command::new("redis-cli")
                .args(["-p", &ports[0].to_string(), "GET", "foo"])
                .output()
                .expect("redis-cli");
            assert_eq!(
                String::from_utf8_lossy(&plain.stdout).trim(),
                format!("MOVED 12182 127.0.0.1:{}", ports[2])
            );
        }
    }
    let python = Command::new("python3")
        .args(["-c", "import redis.cluster"])
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 with redis-py not available: RedisCluster not tried");
        return;
    }
    let script = format!(
        "from redis.cluster import RedisCluster\n\
         rc = RedisCluster(host='127.0.0.1', port={})\n\
         for i in range(200):\n    rc.set(f'py{{i}}', i)\n\
         print(sum(int(rc.get(f'py{{i}}')) for i in range(200)))\n\
         print(len(rc.get_primaries()), len(rc.get_replicas()))\n\
         p = rc.pipeline()\n\
         for i in range(10): p.incr(f'ctr{{i}}')\n\
         print(p.execute())\n\
         print(rc.wait(1, 2000, target_nodes=RedisCluster.PRIMARIES))\n\
         ro = RedisCluster(host='127.0.0.1', port={}, read_from_replicas=True)\n\
         print(sum(int(ro.get(f'py{{i}}')) for i in range(200)))\n",
        ports[1], ports[1]
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "redis-py failed: {}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "19900");
    assert_eq!(lines[1], "3 3");
    assert_eq!(lines[2], "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]");
    assert_eq!(lines[4], "19900");
}
