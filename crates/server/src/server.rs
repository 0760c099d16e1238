//! The RESP server: one thread, one poll loop, as Redis's own event loop.
//!
//! Each turn waits for socket readiness (or for the next cron tick when idle), reads what the
//! ready clients sent, runs every complete request in their query buffers and appends the encoded
//! replies to their output buffers. When the events of a turn are handled the output buffers are
//! written (Redis writes in `beforeSleep` too), and the engine's clock is advanced so its cron and
//! active expiry run even when nobody sends anything.
//!
//! Replies can also reach a client outside its own commands: a blocked BLPOP served by another
//! client's LPUSH or timed out by the cron, a PUBLISH to a channel it subscribed to. The engine
//! keeps those in the client's outbox; the server writes them before the client's next reply (so
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
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cachelab_engine::{encode_resp, ClientId, Config, Engine};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::resp::{Parser, Request};

/// Redis's PROTO_IOBUF_LEN: the free room the query buffer has before each read.
const IOBUF_LEN: usize = 16 * 1024;
/// Bytes read from one client in one turn before the others get their go.
const READ_BUDGET: usize = 1024 * 1024;
/// Buffers that grew past this are given back once they are empty.
const KEEP_BUFFER: usize = 1024 * 1024;
const LISTENER: Token = Token(0);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub bind: String,
    pub port: u16,
    pub seed: u64,
    pub hz: i64,
}

/// Wall-clock time as Unix milliseconds: the server's engine runs on real time, so that EXPIREAT
/// and TIME mean what they mean on Redis.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct Conn {
    stream: TcpStream,
    id: ClientId,
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
    /// Listed in `Server::to_flush` for this turn.
    queued: bool,
    /// Stopped running requests because its client blocked; resumes once it is unblocked.
    blocked: bool,
}

pub struct Server {
    poll: Poll,
    listener: TcpListener,
    local_addr: SocketAddr,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Which connection serves which engine client.
    by_client: HashMap<ClientId, usize>,
    engine: Engine,
    /// Connections with output to write or a close to finish at the end of the turn.
    to_flush: Vec<usize>,
    /// Connections that used up their read budget and may have more waiting.
    to_read: Vec<usize>,
    /// Reused for each request's arguments (emptied between uses).
    argv_store: Vec<&'static [u8]>,
}

impl Server {
    pub fn bind(opts: &Options) -> io::Result<Server> {
        let addr = (opts.bind.as_str(), opts.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cannot resolve '{}'", opts.bind),
                )
            })?;
        let mut listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let config = Config {
            seed: opts.seed,
            hz: opts.hz,
            record_events: false,
            ..Config::default()
        };
        Ok(Server {
            poll,
            listener,
            local_addr,
            conns: Vec::new(),
            free: Vec::new(),
            by_client: HashMap::new(),
            engine: Engine::new_at(config, now_ms()),
            to_flush: Vec::new(),
            to_read: Vec::new(),
            argv_store: Vec::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    #[cfg(test)]
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.turn(&mut events)?;
        }
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
        for ev in events.iter() {
            match ev.token() {
                LISTENER => self.accept(now),
                Token(t) => {
                    let idx = t - 1;
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        self.read_from(idx, now, ev.is_read_closed());
                    }
                    if ev.is_writable() {
                        self.queue_flush(idx);
                    }
                }
            }
        }
        for idx in std::mem::take(&mut self.to_read) {
            self.read_from(idx, now, false);
        }
        let now = now_ms();
        self.engine.advance(now);
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
        if !self.to_read.is_empty() {
            return Duration::ZERO;
        }
        let hz = self.engine.config().hz.clamp(1, 500);
        let mut wait_ms = 1000 / hz;
        let now = now_ms();
        for conn in self.conns.iter().flatten().filter(|c| c.blocked) {
            let deadline = self
                .engine
                .client(conn.id)
                .and_then(|c| c.blocked.as_ref()?.deadline);
            if let Some(d) = deadline {
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
            let waiting = self.engine.clients_with_output();
            if waiting.is_empty() {
                return;
            }
            for client in waiting {
                let Some(&idx) = self.by_client.get(&client) else {
                    self.engine.take_output(client);
                    continue;
                };
                let Some(Some(conn)) = self.conns.get_mut(idx) else {
                    continue;
                };
                let proto = self.engine.protocol(client);
                if let Some(pushed) = self
                    .engine
                    .client_mut(client)
                    .and_then(|c| c.push_buffer.as_mut())
                {
                    append_pushed(&mut conn.out, pushed);
                }
                for reply in self.engine.take_output(client) {
                    encode_resp(&reply, proto, &mut conn.out);
                }
                if conn.blocked && !self.engine.is_blocked(client) {
                    conn.blocked = false;
                    execute_requests(&mut self.engine, conn, now, &mut self.argv_store);
                }
                self.queue_flush(idx);
            }
        }
    }

    /// Closes the connections whose clients CLIENT KILL removed from the engine. The engine's
    /// client count (exact and cheap from its map's iterator) says whether there are any.
    fn close_killed(&mut self) {
        let engine_clients = self.engine.clients().size_hint().0;
        if engine_clients >= self.by_client.len() {
            return;
        }
        let killed: Vec<usize> = self
            .by_client
            .iter()
            .filter(|(id, _)| self.engine.client(**id).is_none())
            .map(|(_, &idx)| idx)
            .collect();
        for idx in killed {
            self.close(idx);
        }
    }

    fn accept(&mut self, now: i64) {
        loop {
            let (mut stream, peer) = match self.listener.accept() {
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
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut stream, Token(idx + 1), Interest::READABLE)
            {
                eprintln!("cachelab: cannot register a connection: {e}");
                self.free.push(idx);
                continue;
            }
            // Replies are written whole at the end of a turn; Nagle would only delay them.
            let _ = stream.set_nodelay(true);
            let id = self.engine.connect(now);
            self.by_client.insert(id, idx);
            if let Some(c) = self.engine.client_mut(id) {
                // Pub/sub messages arrive encoded, not as a reply per subscriber and message.
                c.push_buffer = Some(Vec::new());
                c.fd = stream.as_raw_fd() as i64;
                c.addr = peer.to_string();
                c.laddr = stream
                    .local_addr()
                    .map_or_else(|_| self.local_addr.to_string(), |a| a.to_string());
            }
            self.conns[idx] = Some(Conn {
                stream,
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
                    let limit = self.engine.config().client_query_buffer_limit.max(0) as usize;
                    if conn.parser.unparsed(conn.filled) > limit {
                        // Redis drops such a client without a reply.
                        eprintln!(
                            "cachelab: closing client {} over the query buffer limit",
                            conn.id
                        );
                        self.close(idx);
                        return;
                    }
                    execute_requests(&mut self.engine, conn, now, &mut self.argv_store);
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
                    .reregister(&mut conn.stream, Token(idx + 1), interest)
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
                .reregister(&mut conn.stream, Token(idx + 1), Interest::READABLE)
                .is_err()
            {
                self.close(idx);
            }
        }
    }

    fn close(&mut self, idx: usize) {
        if let Some(mut conn) = self.conns.get_mut(idx).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.engine.disconnect(conn.id);
            self.by_client.remove(&conn.id);
            self.free.push(idx);
        }
    }
}

/// Makes sure the query buffer has room for a read and returns how much: drops the requests
/// already run from the front, then grows the buffer if it is still short of `IOBUF_LEN`. It
/// grows by half its size at a time, so a large bulk costs memory only as its bytes arrive.
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

/// Runs every complete request in the client's query buffer and encodes the replies. Stops at a
/// protocol error (answered, then the connection closes), after QUIT, or when the client blocks.
fn execute_requests(
    engine: &mut Engine,
    conn: &mut Conn,
    now: i64,
    argv_store: &mut Vec<&'static [u8]>,
) {
    let max_bulk = engine.config().proto_max_bulk_len;
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
                engine.execute(conn.id, &argv, now)
            }
            Request::Inline(words) => {
                let inline: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
                engine.execute(conn.id, &inline, now)
            }
        };
        let Some(client) = engine.client_mut(conn.id) else {
            // Killed by its own command (CLIENT KILL with its own address): nothing more to say.
            conn.closing = true;
            break;
        };
        let proto = client.protocol;
        // What reached the client before or during this command (a message it published to a
        // channel it listens to) goes out before the command's own reply, as in Redis; encoded
        // messages are older than anything in the outbox.
        if let Some(pushed) = client.push_buffer.as_mut() {
            append_pushed(&mut conn.out, pushed);
        }
        for pushed in client.outbox.drain(..) {
            encode_resp(&pushed, proto, &mut conn.out);
        }
        encode_resp(&reply, proto, &mut conn.out);
        conn.closing = client.close_after_reply;
        conn.blocked = client.blocked.is_some();
    }
    *argv_store = recycle(argv);
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

/// Moves a client's encoded messages to its output. Into an empty output the buffers are
/// swapped, which saves the copy and hands the engine back a buffer that has room already.
fn append_pushed(out: &mut Vec<u8>, pushed: &mut Vec<u8>) {
    if pushed.is_empty() {
        return;
    }
    if out.is_empty() {
        std::mem::swap(out, pushed);
    } else {
        out.extend_from_slice(pushed);
        pushed.clear();
    }
}

/// Empties a vector of slices and hands its allocation over with a new lifetime, so that one
/// allocation serves the arguments of every request (in-place `collect` keeps the buffer).
fn recycle<'b>(mut v: Vec<&[u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| -> &'b [u8] { &[] }).collect()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream as StdStream;
    use std::time::Instant;

    use super::*;

    fn server(hz: i64) -> Server {
        let opts = Options {
            bind: "127.0.0.1".into(),
            port: 0,
            seed: 1,
            hz,
        };
        Server::bind(&opts).expect("bind a loopback port")
    }

    /// Runs the event loop until `done` says so, failing after a few seconds.
    fn serve_until(server: &mut Server, mut done: impl FnMut(&Server) -> bool) {
        let mut events = Events::with_capacity(64);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(server) {
            assert!(
                Instant::now() < deadline,
                "the server did not get there in time"
            );
            server.turn(&mut events).expect("poll");
        }
    }

    #[test]
    fn keys_expire_while_no_client_sends_anything() {
        let mut server = server(100);
        let addr = server.local_addr();
        let client = std::thread::spawn(move || {
            let mut s = StdStream::connect(addr).expect("connect");
            let mut batch = Vec::new();
            for i in 0..50 {
                let key = format!("k{i}");
                batch.extend_from_slice(
                    format!(
                        "*5\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nv\r\n$2\r\nPX\r\n$3\r\n500\r\n",
                        key.len()
                    )
                    .as_bytes(),
                );
            }
            s.write_all(&batch).expect("send");
            let mut replies = vec![0; 50 * 5];
            s.read_exact(&mut replies).expect("replies");
            assert_eq!(replies, b"+OK\r\n".repeat(50));
            // The connection stays open and silent while the keys expire.
            s
        });
        serve_until(&mut server, |_| client.is_finished());
        let _silent = client.join().expect("client thread");
        let set_at = Instant::now();
        assert_eq!(server.engine.dbsize(0), 50);
        serve_until(&mut server, |s| s.engine.dbsize(0) == 0);
        // Gone through the cron, not at once: the keys lived their 500 ms (give or take the time
        // between the SETs and the first count).
        assert!(
            set_at.elapsed() >= Duration::from_millis(300),
            "expired after {:?}",
            set_at.elapsed()
        );
    }

    #[test]
    fn a_client_over_the_query_buffer_limit_is_closed_without_a_reply() {
        let mut server = server(10);
        server.engine_mut().config_mut().client_query_buffer_limit = 64 * 1024;
        let addr = server.local_addr();
        let client = std::thread::spawn(move || {
            let mut other = StdStream::connect(addr).expect("connect");
            let mut s = StdStream::connect(addr).expect("connect");
            // A bulk of 100 KB announced and sent: more than 64 KB waits unparsed.
            let mut req = b"*2\r\n$4\r\nECHO\r\n$100000\r\n".to_vec();
            req.resize(req.len() + 100_000, b'x');
            let _ = s.write_all(&req);
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            other.write_all(b"PING\r\n").expect("send");
            let mut pong = [0; 7];
            other.read_exact(&mut pong).expect("pong");
            (got, pong)
        });
        serve_until(&mut server, |_| client.is_finished());
        let (got, pong) = client.join().expect("client thread");
        assert_eq!(got, b"");
        assert_eq!(&pong, b"+PONG\r\n");
    }
}
