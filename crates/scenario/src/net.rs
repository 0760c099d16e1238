//! A real Redis as a `Target`, over TCP with `std::net`: what `scenario replay` plays against.
//!
//! This is the crate's only module that touches the operating system; it is left out of the
//! browser build. Each scenario client gets one connection per instance, and instance N is
//! database N-1 of the one server (several instances only differ in what engine-only steps do
//! to them, and those are skipped here). `wait` sleeps for real.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use cachelab_engine::{Event, Reply};

use crate::format::{Capability, EngineAction, Scenario, Sender};
use crate::resp::{encode_command, parse_frame};
use crate::run::show_argv;
use crate::target::{CallError, Target};

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
        let params: Vec<Vec<u8>> = pairs
            .chunks(2)
            .map(|p| p[0].to_ascii_lowercase())
            .filter(|p| !self.restore.iter().any(|(q, _)| q == p))
            .collect();
        if params.is_empty() {
            return Ok(());
        }
        let mut admin = self.admin()?;
        for param in params {
            let reply = admin.call(&[word("CONFIG"), word("GET"), param.clone()])?;
            if let Reply::Array(items) = reply {
                if let Some(Reply::Bulk(v)) = items.get(1) {
                    self.restore.push((param, v.clone()));
                }
            }
        }
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
        if !self.conns.contains_key(sender) {
            let c = Conn::connect(&self.addr, sender.instance - 1).map_err(CallError::Fatal)?;
            self.conns.insert(sender.clone(), c);
        }
        let is = |i: usize, w: &[u8]| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w));
        if is(0, b"config") && is(1, b"set") {
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
        if !self.inspectors.contains_key(&instance) {
            let c = Conn::connect(&self.addr, instance - 1).map_err(CallError::Fatal)?;
            self.inspectors.insert(instance, c);
        }
        let Some(conn) = self.inspectors.get_mut(&instance) else {
            return Err(CallError::Fatal("connection vanished".into()));
        };
        match conn.call(argv) {
            Ok(r) => Ok(vec![r]),
            Err(e) => {
                self.inspectors.remove(&instance);
                Err(CallError::Fatal(e))
            }
        }
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
}
