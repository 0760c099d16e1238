//! `cachelab serve --cluster N`: a Redis Cluster of N masters (and their replicas) in one
//! process, one poll loop serving every node's listener.
//!
//! Each node listens on its own port (P, P+1, ...); a connection belongs to the node whose
//! listener accepted it, and its requests run on that node through `Cluster::execute`, which
//! answers -MOVED, -ASK and the other redirections exactly where a Redis node would. CLUSTER
//! SLOTS, SHARDS and NODES report the addresses actually bound, so `redis-cli -c` and cluster
//! client libraries find every node. The loop is the single-node server's (see `server.rs`):
//! read, run complete requests, let time pass, deliver what reached clients in between, write.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::Duration;

use cachelab_engine::cluster::{Cluster, ClusterConfig};
use cachelab_engine::{encode_resp, ClientId, Config};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::resp::{Parser, Request};
use crate::server::{now_ms, Options};

const IOBUF_LEN: usize = 16 * 1024;
const READ_BUDGET: usize = 1024 * 1024;
const KEEP_BUFFER: usize = 1024 * 1024;

/// The shape of the cluster to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterOptions {
    pub masters: usize,
    pub replicas_per_master: usize,
}

struct Conn {
    stream: TcpStream,
    node: usize,
    id: ClientId,
    query: Vec<u8>,
    filled: usize,
    parser: Parser,
    out: Vec<u8>,
    sent: usize,
    closing: bool,
    wants_write: bool,
    queued: bool,
    blocked: bool,
}

pub struct ClusterServer {
    poll: Poll,
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    by_client: HashMap<(usize, ClientId), usize>,
    cluster: Cluster,
    to_flush: Vec<usize>,
    to_read: Vec<usize>,
    argv_store: Vec<&'static [u8]>,
}

impl ClusterServer {
    /// Binds one listener per node on consecutive ports from `opts.port` (or ports the system
    /// picks when it is 0) and builds the cluster with those addresses.
    pub fn bind(opts: &Options, shape: &ClusterOptions) -> io::Result<ClusterServer> {
        let nodes = shape.masters * (1 + shape.replicas_per_master);
        let poll = Poll::new()?;
        let mut listeners = Vec::with_capacity(nodes);
        let mut addrs = Vec::with_capacity(nodes);
        for i in 0..nodes {
            let port = if opts.port == 0 {
                0
            } else {
                u16::try_from(u32::from(opts.port) + i as u32).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("port {} + {i} is beyond 65535", opts.port),
                    )
                })?
            };
            let addr = (opts.bind.as_str(), port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("cannot resolve '{}'", opts.bind),
                    )
                })?;
            let mut listener = TcpListener::bind(addr)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            poll.registry()
                .register(&mut listener, Token(i), Interest::READABLE)?;
            addrs.push(listener.local_addr()?);
            listeners.push(listener);
        }
        let host = match addrs.first().map(|a| a.ip()) {
            Some(ip) if !ip.is_unspecified() => ip.to_string(),
            _ => "127.0.0.1".to_string(),
        };
        let config = ClusterConfig {
            seed: opts.seed,
            masters: shape.masters,
            replicas_per_master: shape.replicas_per_master,
            host,
            ports: addrs.iter().map(SocketAddr::port).collect(),
            record_events: false,
            engine: Config {
                seed: opts.seed,
                hz: opts.hz,
                ..Config::default()
            },
            ..ClusterConfig::default()
        };
        Ok(ClusterServer {
            poll,
            listeners,
            addrs,
            conns: Vec::new(),
            free: Vec::new(),
            by_client: HashMap::new(),
            cluster: Cluster::new(config, now_ms()),
            to_flush: Vec::new(),
            to_read: Vec::new(),
            argv_store: Vec::new(),
        })
    }

    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.turn(&mut events)?;
        }
    }

    fn first_conn_token(&self) -> usize {
        self.listeners.len()
    }

    pub fn turn(&mut self, events: &mut Events) -> io::Result<()> {
        let timeout = self.poll_timeout();
        if let Err(e) = self.poll.poll(events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let now = now_ms();
        let base = self.first_conn_token();
        for ev in events.iter() {
            let Token(t) = ev.token();
            if t < base {
                self.accept(t, now);
                continue;
            }
            let idx = t - base;
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                self.read_from(idx, now, ev.is_read_closed());
            }
            if ev.is_writable() {
                self.queue_flush(idx);
            }
        }
        for idx in std::mem::take(&mut self.to_read) {
            self.read_from(idx, now, false);
        }
        let now = now_ms();
        self.cluster.advance(now);
        self.deliver_outboxes(now);
        self.close_killed();
        let mut to_flush = std::mem::take(&mut self.to_flush);
        for &idx in &to_flush {
            self.flush(idx);
        }
        to_flush.clear();
        self.to_flush = to_flush;
        Ok(())
    }

    /// Until the next cron tick, or a blocked client's deadline if that comes first.
    fn poll_timeout(&self) -> Duration {
        if !self.to_read.is_empty() {
            return Duration::ZERO;
        }
        let hz = self.cluster.engine(0).config().hz.clamp(1, 500);
        let mut wait_ms = 1000 / hz;
        let now = now_ms();
        for conn in self.conns.iter().flatten().filter(|c| c.blocked) {
            let deadline = self
                .cluster
                .engine(conn.node)
                .client(conn.id)
                .and_then(|c| c.blocked.as_ref()?.deadline);
            if let Some(d) = deadline {
                wait_ms = wait_ms.min((d + 1 - now).max(0));
            }
        }
        Duration::from_millis(wait_ms as u64)
    }

    fn deliver_outboxes(&mut self, now: i64) {
        loop {
            let waiting = self.cluster.clients_with_output();
            if waiting.is_empty() {
                return;
            }
            for (node, client) in waiting {
                let Some(&idx) = self.by_client.get(&(node, client)) else {
                    self.cluster.take_output(node, client);
                    continue;
                };
                let Some(Some(conn)) = self.conns.get_mut(idx) else {
                    continue;
                };
                let proto = self.cluster.engine(node).protocol(client);
                for reply in self.cluster.take_output(node, client) {
                    encode_resp(&reply, proto, &mut conn.out);
                }
                let engine = self.cluster.engine(node);
                if engine.should_close(client) {
                    conn.closing = true;
                }
                if conn.blocked && !engine.is_blocked(client) {
                    conn.blocked = false;
                    execute_requests(&mut self.cluster, conn, now, &mut self.argv_store);
                }
                self.queue_flush(idx);
            }
        }
    }

    /// Closes connections whose clients CLIENT KILL removed from their node's engine.
    fn close_killed(&mut self) {
        let mut per_node = vec![0usize; self.cluster.len()];
        for (node, _) in self.by_client.keys() {
            per_node[*node] += 1;
        }
        let short = (0..self.cluster.len())
            .any(|n| self.cluster.engine(n).clients().size_hint().0 < per_node[n]);
        if !short {
            return;
        }
        let killed: Vec<usize> = self
            .by_client
            .iter()
            .filter(|((node, id), _)| self.cluster.engine(*node).client(*id).is_none())
            .map(|(_, &idx)| idx)
            .collect();
        for idx in killed {
            self.close(idx);
        }
    }

    fn accept(&mut self, node: usize, now: i64) {
        loop {
            let (mut stream, peer) = match self.listeners[node].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("cachelab: accept failed: {e}");
                    return;
                }
            };
            let idx = self.free.pop().unwrap_or_else(|| {
                self.conns.push(None);
                self.conns.len() - 1
            });
            let token = Token(self.first_conn_token() + idx);
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
            {
                eprintln!("cachelab: cannot register a connection: {e}");
                self.free.push(idx);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let id = self.cluster.connect(node, now);
            self.by_client.insert((node, id), idx);
            self.cluster.set_client_addr(
                node,
                id,
                stream.as_raw_fd() as i64,
                peer.to_string(),
                self.addrs[node].to_string(),
            );
            self.conns[idx] = Some(Conn {
                stream,
                node,
                id,
                query: vec![0; IOBUF_LEN],
                filled: 0,
                parser: Parser::new(),
                out: Vec::new(),
                sent: 0,
                closing: false,
                wants_write: false,
                queued: false,
                blocked: false,
            });
        }
    }

    fn queue_flush(&mut self, idx: usize) {
        if let Some(Some(conn)) = self.conns.get_mut(idx) {
            if !conn.queued {
                conn.queued = true;
                self.to_flush.push(idx);
            }
        }
    }

    fn read_from(&mut self, idx: usize, now: i64, peer_closed: bool) {
        let Some(Some(conn)) = self.conns.get_mut(idx) else {
            return;
        };
        if conn.closing {
            return;
        }
        let limit = self
            .cluster
            .engine(conn.node)
            .config()
            .client_query_buffer_limit
            .max(0) as usize;
        let mut budget = READ_BUDGET;
        loop {
            let room = make_room(conn);
            match conn.stream.read(&mut conn.query[conn.filled..]) {
                Ok(0) => {
                    conn.closing = true;
                    break;
                }
                Ok(n) => {
                    conn.filled += n;
                    if conn.parser.unparsed(conn.filled) > limit {
                        self.close(idx);
                        return;
                    }
                    execute_requests(&mut self.cluster, conn, now, &mut self.argv_store);
                    if conn.closing {
                        break;
                    }
                    if n < room && !peer_closed {
                        break;
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.to_read.push(idx);
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(idx);
                    return;
                }
            }
        }
        if !conn.out.is_empty() || conn.closing {
            self.queue_flush(idx);
        }
    }

    fn flush(&mut self, idx: usize) {
        let base = self.first_conn_token();
        let Some(Some(conn)) = self.conns.get_mut(idx) else {
            return;
        };
        conn.queued = false;
        while conn.sent < conn.out.len() {
            match conn.stream.write(&conn.out[conn.sent..]) {
                Ok(0) => {
                    self.close(idx);
                    return;
                }
                Ok(n) => conn.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.close(idx);
                    return;
                }
            }
        }
        if conn.sent < conn.out.len() {
            if !conn.wants_write {
                let interest = Interest::READABLE | Interest::WRITABLE;
                if self
                    .poll
                    .registry()
                    .reregister(&mut conn.stream, Token(base + idx), interest)
                    .is_err()
                {
                    self.close(idx);
                    return;
                }
                conn.wants_write = true;
            }
            return;
        }
        conn.out.clear();
        conn.sent = 0;
        if conn.out.capacity() > KEEP_BUFFER {
            conn.out = Vec::new();
        }
        if conn.closing {
            self.close(idx);
            return;
        }
        if conn.wants_write {
            conn.wants_write = false;
            if self
                .poll
                .registry()
                .reregister(&mut conn.stream, Token(base + idx), Interest::READABLE)
                .is_err()
            {
                self.close(idx);
            }
        }
    }

    fn close(&mut self, idx: usize) {
        if let Some(mut conn) = self.conns.get_mut(idx).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.cluster.disconnect(conn.node, conn.id);
            self.by_client.remove(&(conn.node, conn.id));
            self.free.push(idx);
        }
    }
}

fn make_room(conn: &mut Conn) -> usize {
    if conn.query.len() - conn.filled < IOBUF_LEN {
        let consumed = conn.parser.consumed();
        if consumed > 0 {
            conn.query.copy_within(consumed..conn.filled, 0);
            conn.filled -= consumed;
            conn.parser.shift(consumed);
        }
        if conn.query.len() - conn.filled < IOBUF_LEN {
            let grow = (conn.query.len() / 2).max(IOBUF_LEN);
            conn.query.resize(conn.query.len() + grow, 0);
        }
    }
    conn.query.len() - conn.filled
}

/// Runs every complete request in the connection's query buffer on its node.
fn execute_requests(
    cluster: &mut Cluster,
    conn: &mut Conn,
    now: i64,
    argv_store: &mut Vec<&'static [u8]>,
) {
    let max_bulk = cluster.engine(conn.node).config().proto_max_bulk_len;
    let query = &conn.query[..conn.filled];
    let mut argv = recycle(std::mem::take(argv_store));
    while !conn.closing && !conn.blocked {
        let request = match conn.parser.next(query, max_bulk) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(e) => {
                conn.out.extend_from_slice(&e.reply());
                conn.closing = true;
                break;
            }
        };
        let reply = match &request {
            Request::Multibulk => {
                argv.clear();
                argv.extend(conn.parser.args().iter().map(|r| &query[r.clone()]));
                cluster.execute(conn.node, conn.id, &argv, now)
            }
            Request::Inline(words) => {
                let inline: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
                cluster.execute(conn.node, conn.id, &inline, now)
            }
        };
        let Some(client) = cluster.engine(conn.node).client(conn.id) else {
            conn.closing = true;
            break;
        };
        let proto = client.protocol;
        let pending = !client.outbox.is_empty();
        let close = client.close_after_reply;
        let blocked = client.blocked.is_some();
        if pending {
            for pushed in cluster.take_output(conn.node, conn.id) {
                encode_resp(&pushed, proto, &mut conn.out);
            }
        }
        encode_resp(&reply, proto, &mut conn.out);
        conn.closing = close;
        conn.blocked = blocked;
    }
    *argv_store = recycle(argv);
    let consumed = conn.parser.consumed();
    if consumed == conn.filled && consumed > 0 {
        conn.parser.shift(consumed);
        conn.filled = 0;
        if conn.query.len() > KEEP_BUFFER {
            conn.query = vec![0; IOBUF_LEN];
        }
    }
}

fn recycle<'b>(mut v: Vec<&[u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| -> &'b [u8] { &[] }).collect()
}
