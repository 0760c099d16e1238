//! The connection layer shared by the single-node server and the cluster server: one poll loop
//! over listeners and client connections, per-connection query and output buffers, the read
//! budget and query-buffer limit, writing, closing. What runs the requests is a `Backend`: the
//! single-node `Engine`, or the `Cluster` with each connection routed to the node whose listener
//! accepted it.
//!
//! Each turn waits for socket readiness (or for the next cron tick when idle), reads what the
//! ready clients sent, runs every complete request in their query buffers and appends the encoded
//! replies to their output buffers. When the events of a turn are handled the output buffers are
//! written (Redis writes in `beforeSleep` too), and the backend's clock is advanced so its cron
//! and active expiry run even when nobody sends anything.
//!
//! Replies can also reach a client outside its own commands: a blocked BLPOP served by another
//! client's LPUSH or timed out by the cron, a PUBLISH to a channel it subscribed to. The engine
//! keeps those in the client's outbox; the loop writes them before the client's next reply (so
//! the order is the order Redis would have written them in) or at the end of the turn. While a
//! client is blocked its further requests wait in its query buffer, as in Redis.
//!
//! The poll is edge-triggered, so a readable client must be read until the socket is empty. A
//! read that returns less than the room offered has emptied it (on Linux, data arriving later
//! raises a new edge), which saves the extra read that would only say "would block", unless the
//! event already reported the peer's FIN. A client that keeps sending is read at most
//! `READ_BUDGET` bytes per turn and then revisited on the next turn, so that one busy client
//! cannot starve the others.

use std::collections::HashMap;
use std::hash::Hash;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use cachelab_engine::{Config, Reply};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::resp::{Parser, Request};
use crate::server::now_ms;

/// Redis's PROTO_IOBUF_LEN: the free room the query buffer has before each read.
const IOBUF_LEN: usize = 16 * 1024;
/// Bytes read from one client in one turn before the others get their go.
const READ_BUDGET: usize = 1024 * 1024;
/// Buffers that grew past this are given back once they are empty.
const KEEP_BUFFER: usize = 1024 * 1024;

/// The client's state after one of its requests ran.
pub struct AfterRequest {
    /// Its reply is the last thing it gets (QUIT, a CLIENT KILL of itself by address, ...).
    pub close: bool,
    /// It waits for a blocking command to be served; its further requests wait too.
    pub blocked: bool,
}

/// What runs the requests of the connections, and how the connections map onto its clients.
pub trait Backend {
    /// The client a connection speaks for.
    type Client: Copy + Eq + Hash + std::fmt::Debug;

    /// Creates the client for a connection accepted by listener number `listener`.
    fn connect(
        &mut self,
        listener: usize,
        listener_addr: SocketAddr,
        stream: &TcpStream,
        peer: SocketAddr,
        now: i64,
    ) -> Self::Client;
    fn disconnect(&mut self, client: Self::Client);
    /// The configuration that governs this client (its node's, in a cluster).
    fn config(&self, client: Self::Client) -> &Config;
    /// The cron frequency that sets the idle poll timeout.
    fn hz(&self) -> i64;
    fn execute(&mut self, client: Self::Client, argv: &[&[u8]], now: i64) -> Reply;
    /// Encodes into `out` what reached the client before or during its last request, then
    /// `reply`; `None` when the request removed the client.
    fn answer(
        &mut self,
        client: Self::Client,
        reply: &Reply,
        out: &mut Vec<u8>,
    ) -> Option<AfterRequest>;
    /// Takes back a reply once it is encoded, so that its buffer can serve a later one.
    fn recycle(&mut self, _reply: Reply) {}
    /// Lets time pass: cron, active expiry, blocked clients' timeouts.
    fn advance(&mut self, now: i64);
    fn clients_with_output(&self) -> Vec<Self::Client>;
    /// Encodes the client's waiting replies into `out`; true when it must then be closed.
    fn deliver(&mut self, client: Self::Client, out: &mut Vec<u8>) -> bool;
    /// Drops the waiting replies of a client no connection serves.
    fn discard_output(&mut self, client: Self::Client);
    fn is_blocked(&self, client: Self::Client) -> bool;
    /// When a blocked client times out, if it does.
    fn block_deadline(&self, client: Self::Client) -> Option<i64>;
    /// Whether some of the `served` clients may have been removed (CLIENT KILL); a cheap check
    /// made every turn before looking at each client.
    fn lost_clients(&self, served: &HashMap<Self::Client, usize>) -> bool;
    fn exists(&self, client: Self::Client) -> bool;
    /// Whether the client's keyspace is large enough for `warm_keys` to pay for the lookahead
    /// it takes (a small one stays in cache anyway).
    fn worth_warming(&self, _client: Self::Client) -> bool {
        false
    }
    /// Brings into cache what running commands on these keys (each followed by its next
    /// argument) will read; changes nothing.
    fn warm_keys(&self, _client: Self::Client, _keys: &[&[u8]], _seconds: &[&[u8]]) {}
}

struct Conn<C> {
    stream: TcpStream,
    client: C,
    /// The query buffer. All of it is initialized; received bytes are `query[..filled]`.
    query: Vec<u8>,
    filled: usize,
    parser: Parser,
    out: Vec<u8>,
    /// How much of `out` the socket has taken.
    sent: usize,
    /// No more requests are read: the connection closes once `out` is written.
    closing: bool,
    /// Registered for writable events (only while output is waiting).
    wants_write: bool,
    /// Listed in `EventLoop::to_flush` for this turn.
    queued: bool,
    /// Stopped running requests because its client blocked; resumes once it is unblocked.
    blocked: bool,
}

/// Listeners, connections and the backend they talk to. Listener `i` has token `i`; connection
/// `idx` has token `listeners.len() + idx`.
pub struct EventLoop<B: Backend> {
    poll: Poll,
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    conns: Vec<Option<Conn<B::Client>>>,
    free: Vec<usize>,
    /// Which connection serves which client.
    by_client: HashMap<B::Client, usize>,
    pub backend: B,
    /// Connections with output to write or a close to finish at the end of the turn.
    to_flush: Vec<usize>,
    /// Connections that used up their read budget and may have more waiting.
    to_read: Vec<usize>,
    /// Reused for each request's arguments (emptied between uses).
    scratch: Scratch,
    /// Until when the loop polls without sleeping (see `BUSY_POLL`).
    busy_until: Option<std::time::Instant>,
}

/// After a round with requests in it, the loop goes on polling without sleeping for this long.
/// Under a steady load of clients that each wait for their reply, the next request usually
/// arrives within microseconds; going to sleep in the kernel in between and being woken again
/// adds a context switch and its latency to every round trip. An idle server still sleeps.
const BUSY_POLL: Duration = Duration::from_micros(50);

impl<B: Backend> EventLoop<B> {
    /// Takes listeners already registered with `poll` under their index as token.
    pub fn new(poll: Poll, listeners: Vec<TcpListener>, backend: B) -> io::Result<EventLoop<B>> {
        let addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        Ok(EventLoop {
            poll,
            listeners,
            addrs,
            conns: Vec::new(),
            free: Vec::new(),
            by_client: HashMap::new(),
            backend,
            to_flush: Vec::new(),
            to_read: Vec::new(),
            scratch: Scratch::default(),
            busy_until: None,
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

    fn token(&self, idx: usize) -> Token {
        Token(self.listeners.len() + idx)
    }

    /// One round of the event loop: wait, read and execute, let the cron run, deliver what
    /// reached clients outside their own commands, write.
    pub fn turn(&mut self, events: &mut Events) -> io::Result<()> {
        let timeout = self.poll_timeout();
        if let Err(e) = self.poll.poll(events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let now = now_ms();
        if !events.is_empty() {
            self.busy_until = Some(std::time::Instant::now() + BUSY_POLL);
        }
        let base = self.listeners.len();
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
        self.backend.advance(now);
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

    /// Until the next cron tick, or sooner when a blocked client's timeout is due first (Redis
    /// checks those timeouts before every sleep, not only in its cron), or not at all when a
    /// client has more to read.
    fn poll_timeout(&self) -> Duration {
        if !self.to_read.is_empty()
            || self
                .busy_until
                .is_some_and(|t| std::time::Instant::now() < t)
        {
            return Duration::ZERO;
        }
        let hz = self.backend.hz().clamp(1, 500);
        let mut wait_ms = 1000 / hz;
        let now = now_ms();
        for conn in self.conns.iter().flatten().filter(|c| c.blocked) {
            if let Some(d) = self.backend.block_deadline(conn.client) {
                // The engine times a client out once now is past its deadline.
                wait_ms = wait_ms.min((d + 1 - now).max(0));
            }
        }
        Duration::from_millis(wait_ms as u64)
    }

    /// Writes the replies waiting in clients' outboxes (served or timed-out blocking commands,
    /// pub/sub messages), and runs the requests that clients unblocked in the meantime had
    /// queued, which may in turn serve others.
    fn deliver_outboxes(&mut self, now: i64) {
        loop {
            let waiting = self.backend.clients_with_output();
            if waiting.is_empty() {
                return;
            }
            for client in waiting {
                let Some(&idx) = self.by_client.get(&client) else {
                    self.backend.discard_output(client);
                    continue;
                };
                let Some(Some(conn)) = self.conns.get_mut(idx) else {
                    continue;
                };
                if self.backend.deliver(client, &mut conn.out) {
                    conn.closing = true;
                }
                if conn.blocked && !self.backend.is_blocked(client) {
                    conn.blocked = false;
                    execute_requests(&mut self.backend, conn, now, &mut self.scratch);
                }
                self.queue_flush(idx);
            }
        }
    }

    /// Closes the connections whose clients CLIENT KILL removed.
    fn close_killed(&mut self) {
        if !self.backend.lost_clients(&self.by_client) {
            return;
        }
        let killed: Vec<usize> = self
            .by_client
            .iter()
            .filter(|(client, _)| !self.backend.exists(**client))
            .map(|(_, &idx)| idx)
            .collect();
        for idx in killed {
            self.close(idx);
        }
    }

    fn accept(&mut self, listener: usize, now: i64) {
        loop {
            let (mut stream, peer) = match self.listeners[listener].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of file descriptors and the like: the pending connection stays in the
                    // backlog and is retried when the next one arrives.
                    eprintln!("cachelab: accept failed: {e}");
                    return;
                }
            };
            let idx = self.free.pop().unwrap_or_else(|| {
                self.conns.push(None);
                self.conns.len() - 1
            });
            let token = self.token(idx);
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
            {
                eprintln!("cachelab: cannot register a connection: {e}");
                self.free.push(idx);
                continue;
            }
            // Replies are written whole at the end of a turn; Nagle would only delay them.
            let _ = stream.set_nodelay(true);
            let client = self
                .backend
                .connect(listener, self.addrs[listener], &stream, peer, now);
            self.by_client.insert(client, idx);
            self.conns[idx] = Some(Conn {
                stream,
                client,
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

    /// Reads what the client sent and runs the complete requests. `peer_closed` says the event
    /// already reported the peer's FIN: then the socket is read to its end, since no further
    /// event will come for it.
    fn read_from(&mut self, idx: usize, now: i64, peer_closed: bool) {
        let Some(Some(conn)) = self.conns.get_mut(idx) else {
            return;
        };
        if conn.closing {
            return;
        }
        let mut budget = READ_BUDGET;
        loop {
            let room = make_room(conn);
            match conn.stream.read(&mut conn.query[conn.filled..]) {
                Ok(0) => {
                    // The peer is done sending; what it asked for before still gets answered
                    // if it is still reading.
                    conn.closing = true;
                    break;
                }
                Ok(n) => {
                    conn.filled += n;
                    let limit = self
                        .backend
                        .config(conn.client)
                        .client_query_buffer_limit
                        .max(0) as usize;
                    if conn.parser.unparsed(conn.filled) > limit {
                        // Redis drops such a client without a reply.
                        eprintln!(
                            "cachelab: closing client {:?} over the query buffer limit",
                            conn.client
                        );
                        self.close(idx);
                        return;
                    }
                    execute_requests(&mut self.backend, conn, now, &mut self.scratch);
                    if conn.closing {
                        break;
                    }
                    // A short read emptied the socket; the next arrival raises a new event.
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

    /// Writes as much pending output as the socket takes, and finishes closing connections.
    fn flush(&mut self, idx: usize) {
        let token = self.token(idx);
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
                    .reregister(&mut conn.stream, token, interest)
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
                .reregister(&mut conn.stream, token, Interest::READABLE)
                .is_err()
            {
                self.close(idx);
            }
        }
    }

    fn close(&mut self, idx: usize) {
        if let Some(mut conn) = self.conns.get_mut(idx).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.backend.disconnect(conn.client);
            self.by_client.remove(&conn.client);
            self.free.push(idx);
        }
    }
}

/// Makes sure the query buffer has room for a read and returns how much: drops the requests
/// already run from the front, then grows the buffer if it is still short of `IOBUF_LEN`. It
/// grows by half its size at a time, so a large bulk costs memory only as its bytes arrive.
fn make_room<C>(conn: &mut Conn<C>) -> usize {
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

/// Buffers `execute_requests` reuses from one call to the next.
#[derive(Default)]
struct Scratch {
    argv: Vec<&'static [u8]>,
    keys: Vec<&'static [u8]>,
    seconds: Vec<&'static [u8]>,
    lookahead: Parser,
    /// The multibulk requests at the front of the buffer that the lookahead read whole, in
    /// order, so that they run without being parsed a second time: each one's arguments (the
    /// end of its share of `read_args`) and the parser's `consumed()` just after it.
    read: Vec<(usize, usize)>,
    read_args: Vec<Range<usize>>,
}

/// At most this many requests ahead have their keys warmed at once.
const WARM_AHEAD: usize = 64;

/// Runs every complete request in the client's query buffer and encodes the replies. Stops at a
/// protocol error (answered, then the connection closes), after QUIT, or when the client blocks.
fn execute_requests<B: Backend>(
    backend: &mut B,
    conn: &mut Conn<B::Client>,
    now: i64,
    scratch: &mut Scratch,
) {
    let mut max_bulk = backend.config(conn.client).proto_max_bulk_len;
    let query = &conn.query[..conn.filled];
    scratch.read.clear();
    scratch.read_args.clear();
    // A blocked client runs nothing until it is served: its requests wait unread.
    if !conn.blocked && backend.worth_warming(conn.client) {
        read_ahead(backend, conn, query, max_bulk, scratch);
    }
    let mut argv = recycle(std::mem::take(&mut scratch.argv));
    let mut read = scratch.read.iter();
    let mut args_from = 0;
    while !conn.closing && !conn.blocked {
        let reply = if let Some(&(args_to, consumed)) = read.next() {
            // Read by the lookahead already: the parser moves past it as if it had read it.
            conn.parser.resume_after(consumed);
            argv.clear();
            argv.extend(
                scratch.read_args[args_from..args_to]
                    .iter()
                    .map(|r| &query[r.clone()]),
            );
            args_from = args_to;
            backend.execute(conn.client, &argv, now)
        } else {
            match conn.parser.next(query, max_bulk) {
                Ok(Some(Request::Multibulk)) => {
                    argv.clear();
                    argv.extend(conn.parser.args().iter().map(|r| &query[r.clone()]));
                    backend.execute(conn.client, &argv, now)
                }
                Ok(Some(Request::Inline(words))) => {
                    let inline: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
                    backend.execute(conn.client, &inline, now)
                }
                Ok(None) => break,
                Err(e) => {
                    conn.out.extend_from_slice(&e.reply());
                    conn.closing = true;
                    break;
                }
            }
        };
        let answered = backend.answer(conn.client, &reply, &mut conn.out);
        backend.recycle(reply);
        let Some(after) = answered else {
            // Killed by its own command (CLIENT KILL with its own address): nothing more to say.
            conn.closing = true;
            break;
        };
        conn.closing = after.close;
        conn.blocked = after.blocked;
        let limit = backend.config(conn.client).proto_max_bulk_len;
        if limit != max_bulk {
            // CONFIG SET changed it: Redis checks each request's bulk lengths against the
            // limit as it is when it reads them, so what was read ahead is read again.
            max_bulk = limit;
            read = [].iter();
        }
    }
    scratch.argv = recycle(argv);
    // Everything parsed is done with: when nothing is left over (the usual case) the buffer is
    // simply reset; a partial request stays where it is until room is needed.
    let consumed = conn.parser.consumed();
    if consumed == conn.filled && consumed > 0 {
        conn.parser.shift(consumed);
        conn.filled = 0;
        if conn.query.len() > KEEP_BUFFER {
            conn.query = vec![0; IOBUF_LEN];
        }
    }
}

/// When the buffer holds several requests (a pipeline), reads up to `WARM_AHEAD` of them with a
/// copy of the client's parser and hands the backend the first argument of each, which is the
/// key of nearly every command that has one, and the second (a hash's field, a set's member),
/// to bring their entries into cache together before the requests run one by one; an argument
/// that is not a key costs a wasted lookup and nothing else. The multibulk requests read up to
/// the first one that is not (an inline command, a protocol error, an incomplete request) are
/// kept in `scratch.read` for `execute_requests` to run; from there the client's own parser
/// reads on, so errors and partial requests are met exactly where they always were.
fn read_ahead<B: Backend>(
    backend: &B,
    conn: &Conn<B::Client>,
    query: &[u8],
    max_bulk: i64,
    scratch: &mut Scratch,
) {
    scratch.lookahead.clone_from(&conn.parser);
    let mut keys = recycle(std::mem::take(&mut scratch.keys));
    let mut seconds = recycle(std::mem::take(&mut scratch.seconds));
    let mut requests = 0;
    let mut keep = true;
    while requests < WARM_AHEAD {
        match scratch.lookahead.next(query, max_bulk) {
            Ok(Some(Request::Multibulk)) => {
                let args = scratch.lookahead.args();
                if let Some(r) = args.get(1) {
                    keys.push(&query[r.clone()]);
                    seconds.push(args.get(2).map_or(&[][..], |r| &query[r.clone()]));
                }
                if keep {
                    scratch.read_args.extend_from_slice(args);
                    let consumed = scratch.lookahead.consumed();
                    scratch.read.push((scratch.read_args.len(), consumed));
                }
            }
            Ok(Some(Request::Inline(_))) => keep = false,
            Ok(None) | Err(_) => break,
        }
        requests += 1;
    }
    if requests > 1 {
        backend.warm_keys(conn.client, &keys, &seconds);
    }
    scratch.keys = recycle(keys);
    scratch.seconds = recycle(seconds);
}

/// Empties a vector of slices and hands its allocation over with a new lifetime, so that one
/// allocation serves the arguments of every request (in-place `collect` keeps the buffer).
fn recycle<'b>(mut v: Vec<&[u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| -> &'b [u8] { &[] }).collect()
}
