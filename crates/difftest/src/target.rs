//! The two sides of a comparison: a server reached over TCP (a real redis-server, or a running
//! `cachelab serve`) and the engine in this process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cachelab_engine::{to_resp, ClientId, Config, Engine};

use crate::resp::Conn;
use crate::transcript::DEFAULT_CONN;

/// Something that answers commands with RESP bytes, over named connections.
pub trait Target {
    /// How reports name this side: `redis`, `engine`, `cachelab`.
    fn label(&self) -> &str;

    /// Brings the target back to an empty server with only the default connection open (fresh
    /// connections: selected database, protocol, name and the like start over too).
    fn reset(&mut self) -> Result<(), String>;

    /// Sends `argv` on connection `conn` (opened on first use) and returns the reply's bytes.
    /// An error means no reply could be had (connection lost, timeout, engine panic).
    fn call(&mut self, conn: &str, argv: &[Vec<u8>]) -> Result<Vec<u8>, String>;
}

/// Milliseconds since the Unix epoch: the engine's time, so that EXPIREAT-style deadlines mean
/// the same on both sides.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn is_quit(argv: &[Vec<u8>]) -> bool {
    argv.first()
        .is_some_and(|name| name.eq_ignore_ascii_case(b"quit"))
}

/// A server over TCP, one socket per named connection.
pub struct TcpTarget {
    label: String,
    addr: String,
    conns: HashMap<String, Conn>,
}

impl TcpTarget {
    pub fn new(label: &str, addr: &str) -> TcpTarget {
        TcpTarget {
            label: label.to_string(),
            addr: addr.to_string(),
            conns: HashMap::new(),
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    fn conn(&mut self, name: &str) -> Result<&mut Conn, String> {
        if !self.conns.contains_key(name) {
            let c = Conn::connect(&self.addr)
                .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
            self.conns.insert(name.to_string(), c);
        }
        self.conns
            .get_mut(name)
            .ok_or_else(|| "connection vanished".to_string())
    }
}

impl Target for TcpTarget {
    fn label(&self) -> &str {
        &self.label
    }

    fn reset(&mut self) -> Result<(), String> {
        self.conns.clear();
        let reply = self.call(DEFAULT_CONN, &[b"FLUSHALL".to_vec()])?;
        if reply != b"+OK\r\n" {
            return Err(format!(
                "FLUSHALL on {} ({}) answered {}",
                self.label,
                self.addr,
                crate::compare::show(&reply)
            ));
        }
        Ok(())
    }

    fn call(&mut self, conn: &str, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let result = self.conn(conn)?.call(argv);
        match result {
            Ok(reply) => {
                if is_quit(argv) {
                    // The server closes the socket after QUIT's reply; the next command on this
                    // name opens a new one, as redis-cli reconnects.
                    self.conns.remove(conn);
                }
                Ok(reply)
            }
            Err(e) => {
                self.conns.remove(conn);
                Err(format!("no reply: {e}"))
            }
        }
    }
}

/// The engine in this process, at wall-clock time.
pub struct EngineTarget {
    engine: Engine,
    clients: HashMap<String, ClientId>,
    /// Bytes each connection has been sent but has not read yet, as a socket would hold
    /// them: a reply, the extra frames of a multi-frame reply (SUBSCRIBE a b), and messages
    /// pushed to it by other clients' commands (PUBLISH) or by a served blocking command.
    unread: HashMap<ClientId, Vec<u8>>,
}

impl Default for EngineTarget {
    fn default() -> Self {
        EngineTarget::new()
    }
}

impl EngineTarget {
    pub fn new() -> EngineTarget {
        let mut t = EngineTarget {
            // As the reference server is started: `--save ''` (no save points).
            engine: Engine::new_at(
                Config {
                    save: String::new(),
                    ..Config::default()
                },
                wall_clock_ms(),
            ),
            clients: HashMap::new(),
            unread: HashMap::new(),
        };
        t.open(DEFAULT_CONN, wall_clock_ms());
        t
    }

    fn open(&mut self, name: &str, now: i64) -> ClientId {
        let id = self.engine.connect(now);
        self.clients.insert(name.to_string(), id);
        id
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Moves every client's outbox (messages, served blocked commands) to its unread bytes.
    fn collect_pushed_output(&mut self) {
        for client in self.engine.clients_with_output() {
            let proto = self.engine.protocol(client);
            for reply in self.engine.take_output(client) {
                self.unread
                    .entry(client)
                    .or_default()
                    .extend_from_slice(&to_resp(&reply, proto));
            }
        }
    }

    /// Takes the first complete frame from a connection's unread bytes.
    fn read_one(&mut self, id: ClientId) -> Result<Vec<u8>, String> {
        let buf = self.unread.entry(id).or_default();
        if buf.is_empty() {
            return Err("no reply: the engine left this connection waiting (blocked)".into());
        }
        let mut cursor = std::io::Cursor::new(buf.as_slice());
        let mut raw = Vec::new();
        crate::resp::read_frame(&mut cursor, &mut raw)
            .map_err(|e| format!("engine sent a bad frame: {e}"))?;
        buf.drain(..raw.len());
        Ok(raw)
    }
}

impl Target for EngineTarget {
    fn label(&self) -> &str {
        "engine"
    }

    fn reset(&mut self) -> Result<(), String> {
        *self = EngineTarget::new();
        Ok(())
    }

    fn call(&mut self, conn: &str, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let now = wall_clock_ms();
        let id = match self.clients.get(conn) {
            Some(&id) => id,
            None => self.open(conn, now),
        };
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let engine = &mut self.engine;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // Let the engine's background work (active expiry) catch up, as a server's event
            // loop does between commands.
            engine.advance(now);
            let reply = engine.execute(id, &args, now);
            (
                to_resp(&reply, engine.protocol(id)),
                engine.should_close(id),
            )
        }));
        match outcome {
            Ok((bytes, close)) => {
                self.unread.entry(id).or_default().extend_from_slice(&bytes);
                self.collect_pushed_output();
                let frame = self.read_one(id);
                if close {
                    self.engine.disconnect(id);
                    self.clients.remove(conn);
                    self.unread.remove(&id);
                }
                frame
            }
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-text panic".into());
                Err(format!("engine panicked: {msg}"))
            }
        }
    }
}

/// Why a redis-server could not be started.
#[derive(Debug)]
pub enum StartError {
    /// The binary is not installed (or not on PATH).
    NotFound(String),
    Failed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::NotFound(bin) => write!(
                f,
                "`{bin}` was not found on PATH: the differential tests need Redis 7.0 \
                 (run the project's setup, which installs redis-server; set \
                 CACHELAB_SKIP_REDIS=1 to skip these tests knowingly)"
            ),
            StartError::Failed(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for StartError {}

/// A redis-server child process on a loopback port, shut down when dropped (a panicking test
/// included).
pub struct RedisServer {
    child: Option<Child>,
    addr: String,
    /// Set once the server said it listens: only then is the port known to be ours, so only
    /// then may `stop` send SHUTDOWN to it.
    ready: bool,
    log: Arc<Mutex<String>>,
    log_thread: Option<std::thread::JoinHandle<()>>,
}

/// The binary to run: `CACHELAB_REDIS_SERVER` when set, else `redis-server` from PATH.
pub fn redis_server_binary() -> String {
    std::env::var("CACHELAB_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_string())
}

const START_TIMEOUT: Duration = Duration::from_secs(20);

impl RedisServer {
    /// Starts a server on a free port (retrying with another port if the one picked was taken in
    /// the meantime) and waits until it answers PING.
    pub fn start() -> Result<RedisServer, StartError> {
        let mut last = StartError::Failed("no attempt made".into());
        for _ in 0..5 {
            let port = free_port().map_err(|e| StartError::Failed(format!("no free port: {e}")))?;
            match RedisServer::start_on(port) {
                Ok(s) => return Ok(s),
                Err(e @ StartError::NotFound(_)) => return Err(e),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn start_on(port: u16) -> Result<RedisServer, StartError> {
        RedisServer::start_with(port, &[])
    }

    /// Starts a server on `port` with more command-line options (a cluster node's, say).
    pub fn start_with(port: u16, extra: &[String]) -> Result<RedisServer, StartError> {
        let bin = redis_server_binary();
        let port_text = port.to_string();
        let spawned = Command::new(&bin)
            .args([
                "--port",
                &port_text,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no"])
            .args(extra)
            // SAVE and BGREWRITEAOF write files into the server's directory.
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StartError::NotFound(bin))
            }
            Err(e) => return Err(StartError::Failed(format!("cannot run {bin}: {e}"))),
        };
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<bool>();
        let stdout = child.stdout.take();
        let thread_log = Arc::clone(&log);
        // Redis logs to stdout; the thread watches for the line that says it is listening and
        // then keeps draining the pipe so that the server never blocks on a full one.
        let log_thread = std::thread::spawn(move || {
            let Some(stdout) = stdout else {
                let _ = ready_tx.send(false);
                return;
            };
            let mut announced = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut l) = thread_log.lock() {
                    if l.len() < 64 * 1024 {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
                if !announced && line.contains("Ready to accept connections") {
                    announced = true;
                    let _ = ready_tx.send(true);
                }
            }
            if !announced {
                let _ = ready_tx.send(false);
            }
        });
        let mut server = RedisServer {
            child: Some(child),
            addr: format!("127.0.0.1:{port}"),
            ready: false,
            log,
            log_thread: Some(log_thread),
        };
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(true) => server.ready = true,
            Ok(false) => {
                return Err(StartError::Failed(format!(
                    "{bin} exited early:\n{}",
                    server.log()
                )))
            }
            Err(_) => {
                return Err(StartError::Failed(format!(
                    "{bin} did not get ready within {START_TIMEOUT:?}:\n{}",
                    server.log()
                )))
            }
        }
        let pong = Conn::connect(&server.addr).and_then(|mut c| c.call(&[b"PING".to_vec()]));
        match pong {
            Ok(reply) if reply == b"+PONG\r\n" => Ok(server),
            Ok(reply) => Err(StartError::Failed(format!(
                "PING answered {}",
                crate::compare::show(&reply)
            ))),
            Err(e) => {
                server.stop();
                Err(StartError::Failed(format!("PING failed: {e}")))
            }
        }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let running = matches!(child.try_wait(), Ok(None));
        let said_bye = self.ready
            && running
            && Conn::connect(&self.addr)
                .map(|mut c| c.call_expecting_close(&[b"SHUTDOWN".to_vec(), b"NOSAVE".to_vec()]))
                .unwrap_or(false);
        if !said_bye {
            let _ = child.kill();
        }
        let _ = child.wait();
        if let Some(t) = self.log_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// `n` distinct loopback ports the system says are free now (all held open while they are
/// picked, so none is handed out twice), for servers a test starts: a Redis Cluster's nodes and
/// their bus ports, without fixed ranges that another program may be using.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}
