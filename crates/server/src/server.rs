//! The RESP server: one thread, one poll loop, as Redis's own event loop, over one engine.
//!
//! The loop itself (reading, the read budget and query-buffer limit, writing, closing) lives in
//! `conn.rs`; this file says how its connections map onto the engine's clients.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

use cachelab_engine::{encode_resp, ClientId, Config, Engine, Reply};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Poll, Token};

use crate::conn::{AfterRequest, Backend, EventLoop};

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

/// The first address `bind` names, with `port`.
pub fn resolve(bind: &str, port: u16) -> io::Result<SocketAddr> {
    (bind, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot resolve '{bind}'"),
        )
    })
}

pub struct Server {
    event_loop: EventLoop<Engine>,
}

impl Server {
    pub fn bind(opts: &Options) -> io::Result<Server> {
        let addr = resolve(&opts.bind, opts.port)?;
        let mut listener = TcpListener::bind(addr)?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, Token(0), Interest::READABLE)?;
        let config = Config {
            seed: opts.seed,
            hz: opts.hz,
            record_events: false,
            ..Config::default()
        };
        let engine = Engine::new_at(config, now_ms());
        Ok(Server {
            event_loop: EventLoop::new(poll, vec![listener], engine)?,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.event_loop.local_addrs()[0]
    }

    #[cfg(test)]
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.event_loop.backend
    }

    pub fn run(&mut self) -> io::Result<()> {
        self.event_loop.run()
    }

    /// One round of the event loop: wait, read and execute, let the cron run, deliver what
    /// reached clients outside their own commands, write.
    #[cfg(test)]
    pub fn turn(&mut self, events: &mut mio::Events) -> io::Result<()> {
        self.event_loop.turn(events)
    }
}

impl Backend for Engine {
    type Client = ClientId;

    fn recycle(&mut self, reply: Reply) {
        Engine::recycle(self, reply);
    }

    fn connect(
        &mut self,
        _listener: usize,
        listener_addr: SocketAddr,
        stream: &TcpStream,
        peer: SocketAddr,
        now: i64,
    ) -> ClientId {
        let id = Engine::connect(self, now);
        if let Some(c) = self.client_mut(id) {
            // Pub/sub messages arrive encoded, not as a reply per subscriber and message.
            c.push_buffer = Some(Vec::new());
            c.fd = stream.as_raw_fd() as i64;
            c.addr = peer.to_string();
            c.laddr = stream
                .local_addr()
                .map_or_else(|_| listener_addr.to_string(), |a| a.to_string());
        }
        id
    }

    fn disconnect(&mut self, client: ClientId) {
        Engine::disconnect(self, client);
    }

    fn config(&self, _client: ClientId) -> &Config {
        Engine::config(self)
    }

    fn hz(&self) -> i64 {
        Engine::config(self).hz
    }

    fn execute(&mut self, client: ClientId, argv: &[&[u8]], now: i64) -> Reply {
        Engine::execute(self, client, argv, now)
    }

    fn worth_warming(&self, client: ClientId) -> bool {
        Engine::worth_warming(self, client)
    }

    fn warm_keys(&self, client: ClientId, keys: &[&[u8]], seconds: &[&[u8]]) {
        Engine::warm_keys(self, client, keys, seconds);
    }

    fn answer(
        &mut self,
        client: ClientId,
        reply: &Reply,
        out: &mut Vec<u8>,
    ) -> Option<AfterRequest> {
        let client = self.client_mut(client)?;
        let proto = client.protocol;
        // What reached the client before or during this command (a message it published to a
        // channel it listens to) goes out before the command's own reply, as in Redis; encoded
        // messages are older than anything in the outbox.
        if let Some(pushed) = client.push_buffer.as_mut() {
            append_pushed(out, pushed);
        }
        for pushed in client.outbox.drain(..) {
            encode_resp(&pushed, proto, out);
        }
        encode_resp(reply, proto, out);
        Some(AfterRequest {
            close: client.close_after_reply,
            blocked: client.blocked.is_some(),
        })
    }

    fn advance(&mut self, now: i64) {
        Engine::advance(self, now);
    }

    fn clients_with_output(&self) -> Vec<ClientId> {
        Engine::clients_with_output(self)
    }

    fn deliver(&mut self, client: ClientId, out: &mut Vec<u8>) -> bool {
        let proto = self.protocol(client);
        if let Some(pushed) = self.client_mut(client).and_then(|c| c.push_buffer.as_mut()) {
            append_pushed(out, pushed);
        }
        for reply in self.take_output(client) {
            encode_resp(&reply, proto, out);
        }
        false
    }

    fn discard_output(&mut self, client: ClientId) {
        self.take_output(client);
    }

    fn is_blocked(&self, client: ClientId) -> bool {
        Engine::is_blocked(self, client)
    }

    fn block_deadline(&self, client: ClientId) -> Option<i64> {
        self.client(client)
            .and_then(|c| c.blocked.as_ref()?.deadline)
    }

    /// The engine's client count (exact and cheap from its map's iterator) says whether any
    /// served client is gone.
    fn lost_clients(&self, served: &HashMap<ClientId, usize>) -> bool {
        self.clients().size_hint().0 < served.len()
    }

    fn exists(&self, client: ClientId) -> bool {
        self.client(client).is_some()
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream as StdStream;
    use std::time::{Duration, Instant};

    use mio::Events;

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
        assert_eq!(server.engine_mut().dbsize(0), 50);
        serve_until(&mut server, |s| s.event_loop.backend.dbsize(0) == 0);
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
