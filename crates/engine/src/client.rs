//! Connection state: what Redis keeps per client, and the engine keeps per `ClientId`.

use crate::reply::Protocol;

pub type ClientId = u64;

#[derive(Clone, Debug)]
pub struct Client {
    pub id: ClientId,
    pub name: Option<String>,
    pub db: usize,
    pub protocol: Protocol,
    /// Where the client says it is (the server fills this in; the playground names its panes).
    pub addr: String,
    pub laddr: String,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    /// The last command's full name, as CLIENT LIST's `cmd=` shows it.
    pub last_command: &'static str,
    /// Set by QUIT: the connection is closed once the reply has been written.
    pub close_after_reply: bool,
    /// Library name and version from CLIENT SETINFO or HELLO (none in 7.0, kept empty).
    pub lib_name: Option<String>,
    /// Set while a blocking command waits for a key or its timeout.
    pub blocked: Option<crate::blocking::BlockState>,
    /// Replies produced outside `execute` (served blocked commands, pushes), oldest first.
    pub outbox: Vec<crate::Reply>,
    /// Set by a caller that writes replies to a socket (the native server): pub/sub messages
    /// are then appended here already encoded in the client's protocol, instead of being queued
    /// in `outbox` as one `Reply` per subscriber and message. Only while `outbox` is empty, so
    /// everything here is older than anything in `outbox`: write this first.
    pub push_buffer: Option<Vec<u8>>,
    /// Set between MULTI and EXEC/DISCARD.
    pub multi: Option<crate::cmd::transactions::MultiState>,
    /// A watched key changed: the next EXEC answers nil.
    pub dirty_cas: bool,
    pub watched: Vec<crate::cmd::transactions::WatchedKey>,
    /// True while EXEC runs this client's queue (blocking commands must not block then).
    pub in_exec: bool,
    /// Pub/sub subscriptions, in the order they were made.
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard_channels: Vec<Vec<u8>>,
    /// CLIENT NO-EVICT ON: exempt from client eviction (`e` in CLIENT LIST's flags).
    pub no_evict: bool,
    /// The descriptor CLIENT LIST shows; the native server may put the real one here.
    pub fd: i64,
}

impl Client {
    pub fn new(id: ClientId, now_ms: i64) -> Client {
        Client {
            id,
            name: None,
            db: 0,
            protocol: Protocol::Resp2,
            addr: format!("127.0.0.1:{}", 50000 + id),
            laddr: "127.0.0.1:6379".into(),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_command: "NULL",
            close_after_reply: false,
            lib_name: None,
            blocked: None,
            outbox: Vec::new(),
            push_buffer: None,
            multi: None,
            dirty_cas: false,
            watched: Vec::new(),
            in_exec: false,
            channels: Vec::new(),
            patterns: Vec::new(),
            shard_channels: Vec::new(),
            no_evict: false,
            // Redis's first client usually gets descriptor 8 (after the listening sockets).
            fd: 7 + id as i64,
        }
    }

    /// Returns the client to the state of a fresh connection (RESET), keeping its id. Like
    /// Redis's `clearClientConnectionState`, this keeps CLIENT NO-EVICT.
    pub fn reset(&mut self) {
        self.name = None;
        self.db = 0;
        self.protocol = Protocol::Resp2;
    }
}
