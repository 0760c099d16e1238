//! The `cachelab serve` binary over real TCP: each test starts its own server on a free loopback
//! port and talks RESP to it.
//!
//! Blocking commands are probed first (COMMAND INFO); while the engine has none, that test says so
//! on stderr and checks nothing more.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cachelab"))
            .args(["serve", "--port", "0", "--hz", "50"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start cachelab serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("server stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's first line");
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no listening address in {line:?}"));
        Server { child, port }
    }

    fn connect(&self) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Resident memory of the server process, in KB.
    fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Conn {
    stream: TcpStream,
    /// Bytes received and not yet returned as a reply.
    buf: Vec<u8>,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends a command as a multibulk and returns the raw reply.
    fn cmd(&mut self, args: &[&str]) -> String {
        self.send(&multibulk(args));
        self.reply()
    }

    /// The next complete reply, as raw RESP text.
    fn reply(&mut self) -> String {
        loop {
            if let Some(n) = reply_len(&self.buf, 0) {
                let reply: Vec<u8> = self.buf.drain(..n).collect();
                return String::from_utf8_lossy(&reply).into_owned();
            }
            let mut chunk = [0; 64 * 1024];
            let n = self.stream.read(&mut chunk).expect("read a reply");
            assert!(
                n > 0,
                "connection closed while waiting for a reply (have {:?})",
                self.buf
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Asserts that the server closes the connection with nothing more to say.
    fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.stream.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty() && self.buf.is_empty(),
                "unexpected bytes {rest:?}"
            ),
            // A reset also means closed (the server may drop unread input).
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }

    /// True when the engine knows the command; prints a note otherwise.
    fn supports(&mut self, command: &str) -> bool {
        // An unknown name gets a nil in COMMAND INFO's array.
        let known = self.cmd(&["COMMAND", "INFO", command]) != "*1\r\n$-1\r\n";
        if !known {
            note(&format!(
                "the engine has no {command} yet; that part of the test is skipped"
            ));
        }
        known
    }
}

/// Says why a check was skipped, past the test harness's output capture so that it shows.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "note: {text}");
}

fn multibulk(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Length of the complete RESP2/RESP3 value at `pos`, or None if it has not all arrived.
fn reply_len(buf: &[u8], pos: usize) -> Option<usize> {
    let line_end = pos + buf.get(pos..)?.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&buf[pos + 1..line_end]).expect("reply header");
    let after = line_end + 2 - pos;
    let aggregate = |n: usize| {
        let mut len = after;
        for _ in 0..n {
            len += reply_len(buf, pos + len)?;
        }
        Some(len)
    };
    match buf[pos] {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => match head.parse::<i64>().expect("bulk length") {
            -1 => Some(after),
            n => (buf.len() >= line_end + 2 + n as usize + 2).then_some(after + n as usize + 2),
        },
        b'*' | b'~' | b'>' => match head.parse::<i64>().expect("count") {
            -1 => Some(after),
            n => aggregate(n as usize),
        },
        b'%' | b'|' => aggregate(2 * head.parse::<usize>().expect("count")),
        other => panic!("not a RESP reply: {:?}", other as char),
    }
}

#[test]
fn ping_set_get() {
    let server = Server::start();
    let mut c = server.connect();
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd(&["PING", "hi"]), "$2\r\nhi\r\n");
    assert_eq!(c.cmd(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(c.cmd(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(
        c.cmd(&["NOPE", "a"]),
        "-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n"
    );
    // A second client sees the same keyspace.
    assert_eq!(server.connect().cmd(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn a_thousand_pipelined_requests_in_one_write() {
    let server = Server::start();
    let mut c = server.connect();
    let mut batch = Vec::new();
    for i in 0..500 {
        batch.extend_from_slice(&multibulk(&[
            "SET",
            &format!("key:{i}"),
            &format!("value:{i}"),
        ]));
        batch.extend_from_slice(&multibulk(&["GET", &format!("key:{i}")]));
    }
    c.send(&batch);
    for i in 0..500 {
        assert_eq!(c.reply(), "+OK\r\n", "reply to SET {i}");
        let v = format!("value:{i}");
        assert_eq!(
            c.reply(),
            format!("${}\r\n{v}\r\n", v.len()),
            "reply to GET {i}"
        );
    }
}

#[test]
fn a_pipeline_of_mixed_requests_split_across_writes_keeps_its_order() {
    // Several requests in one read are looked ahead at (their keys are warmed) before they
    // run: inline commands, a request cut in two by the write boundary and a protocol error
    // must all be answered as if read one at a time.
    let server = Server::start();
    let mut c = server.connect();
    let names = fill_enough_to_look_ahead(&mut c);
    // A hash in a table: its fields are looked ahead at too.
    let mut hset = vec!["HSET", "h"];
    for n in &names[..600] {
        hset.extend([n.as_str(), "x"]);
    }
    assert_eq!(c.cmd(&hset), ":600\r\n");
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "h"]), "$9\r\nhashtable\r\n");
    let mut first = multibulk(&["HSET", "h", "fill:7", "y"]);
    first.extend_from_slice(&multibulk(&["HGET", "h", "fill:7"]));
    first.extend_from_slice(&multibulk(&["SET", "a", "1"]));
    first.extend_from_slice(b"INCR a\r\n");
    first.extend_from_slice(&multibulk(&["GET", "a"]));
    let split = multibulk(&["SET", "b", "two"]);
    first.extend_from_slice(&split[..7]);
    c.send(&first);
    assert_eq!(c.reply(), ":0\r\n");
    assert_eq!(c.reply(), "$1\r\ny\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), ":2\r\n");
    assert_eq!(c.reply(), "$1\r\n2\r\n");
    let mut rest = split[7..].to_vec();
    rest.extend_from_slice(&multibulk(&["GET", "b"]));
    rest.extend_from_slice(b"*1\r\n$x\r\n");
    c.send(&rest);
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), "$3\r\ntwo\r\n");
    assert_eq!(c.reply(), "-ERR Protocol error: invalid bulk length\r\n");
    assert_eq!(server.connect().cmd(&["GET", "b"]), "$3\r\ntwo\r\n");
}

/// Writes enough keys that the server thinks looking ahead through a pipelined batch worth its
/// while; returns their names.
fn fill_enough_to_look_ahead(c: &mut Conn) -> Vec<String> {
    let names: Vec<String> = (0..60_000).map(|i| format!("fill:{i}")).collect();
    let mut mset = vec!["MSET"];
    for n in &names {
        mset.extend([n.as_str(), "x"]);
    }
    assert_eq!(c.cmd(&mset), "+OK\r\n");
    names
}

#[test]
fn a_looked_ahead_pipeline_that_blocks_or_quits_midway_resumes_or_stops_there() {
    // The requests the lookahead read are run from what it read; a command that blocks or
    // closes the connection in their midst must leave the rest exactly where the client's own
    // parser would have.
    let server = Server::start();
    let mut c = server.connect();
    fill_enough_to_look_ahead(&mut c);
    let mut batch = multibulk(&["SET", "a", "1"]);
    batch.extend_from_slice(&multibulk(&["BLPOP", "queue", "0"]));
    batch.extend_from_slice(&multibulk(&["INCR", "a"]));
    batch.extend_from_slice(b"*0\r\n");
    batch.extend_from_slice(&multibulk(&["MULTI"]));
    batch.extend_from_slice(&multibulk(&["INCR", "a"]));
    batch.extend_from_slice(&multibulk(&["EXEC"]));
    c.send(&batch);
    assert_eq!(c.reply(), "+OK\r\n");
    // Nothing after the BLPOP has run: the counter is still 1.
    let mut other = server.connect();
    assert_eq!(other.cmd(&["GET", "a"]), "$1\r\n1\r\n");
    assert_eq!(other.cmd(&["RPUSH", "queue", "job"]), ":1\r\n");
    assert_eq!(c.reply(), "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n");
    assert_eq!(c.reply(), ":2\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), "+QUEUED\r\n");
    assert_eq!(c.reply(), "*1\r\n:3\r\n");
    let mut batch = multibulk(&["INCR", "a"]);
    batch.extend_from_slice(&multibulk(&["QUIT"]));
    batch.extend_from_slice(&multibulk(&["INCR", "a"]));
    c.send(&batch);
    assert_eq!(c.reply(), ":4\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    // The INCR after QUIT never runs.
    assert_eq!(other.cmd(&["GET", "a"]), "$1\r\n4\r\n");
}

#[test]
fn a_lower_proto_max_bulk_len_applies_to_the_next_request_in_the_same_write() {
    // Redis reads a request's headers only after running the one before it, against the limit
    // as it is then; so does the server, whether or not it looks ahead through the batch, and
    // also when the batch waited behind a blocked command and is read whole when it resumes.
    let server = Server::start();
    let mut other = server.connect();
    let too_big = "x".repeat(1024 * 1024 + 1);
    for (look_ahead, blocked) in [(false, false), (true, false), (true, true)] {
        let mut c = server.connect();
        if look_ahead && !blocked {
            fill_enough_to_look_ahead(&mut c);
        }
        let mut batch = Vec::new();
        if blocked {
            batch.extend_from_slice(&multibulk(&["BLPOP", "q", "0"]));
        }
        batch.extend_from_slice(&multibulk(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]));
        batch.extend_from_slice(&multibulk(&["SET", "k", "v"]));
        if blocked {
            batch.extend_from_slice(&multibulk(&["SET", "k", &too_big]));
        } else {
            batch.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n");
        }
        c.send(&batch);
        if blocked {
            assert_eq!(other.cmd(&["RPUSH", "q", "job"]), ":1\r\n");
            assert_eq!(c.reply(), "*2\r\n$1\r\nq\r\n$3\r\njob\r\n");
        }
        assert_eq!(c.reply(), "+OK\r\n");
        assert_eq!(c.reply(), "+OK\r\n");
        assert_eq!(
            c.reply(),
            "-ERR Protocol error: invalid bulk length\r\n",
            "looking ahead: {look_ahead}, blocked first: {blocked}"
        );
        c.expect_closed();
        assert_eq!(
            other.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "512mb"]),
            "+OK\r\n"
        );
    }
}

#[test]
fn large_values_travel_in_pieces() {
    let server = Server::start();
    let mut c = server.connect();
    let value: String = (0..5_000_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    assert_eq!(c.cmd(&["SET", "big", &value]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "big"]), format!("$5000000\r\n{value}\r\n"));
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn inline_commands() {
    let server = Server::start();
    let mut c = server.connect();
    c.send(b"PING\r\nSET greeting \"hello world\"\r\nGET greeting\nECHO 'it\\'s'\r\n\r\n   \r\nPING x\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(c.reply(), "+OK\r\n");
    assert_eq!(c.reply(), "$11\r\nhello world\r\n");
    assert_eq!(c.reply(), "$4\r\nit's\r\n");
    assert_eq!(c.reply(), "$1\r\nx\r\n");
    // An inline line may arrive in pieces.
    c.stream.set_nodelay(true).expect("nodelay");
    c.send(b"GE");
    c.send(b"T greeting\r\n");
    assert_eq!(c.reply(), "$11\r\nhello world\r\n");
}

#[test]
fn empty_multibulks_are_ignored() {
    let server = Server::start();
    let mut c = server.connect();
    c.send(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
}

#[test]
fn protocol_errors_reply_then_close_only_that_connection() {
    let big_inline = vec![b'x'; 64 * 1024 + 1];
    let mut big_count = b"*".to_vec();
    big_count.resize(64 * 1024 + 1, b'1');
    let mut big_bulk_count = b"*1\r\n$".to_vec();
    big_bulk_count.resize(4 + 64 * 1024 + 1, b'1');
    let cases: Vec<(&[u8], &str)> = vec![
        (b"*x\r\n", "invalid multibulk length"),
        (b"*2147483648\r\n", "invalid multibulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$abc\r\n", "invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "invalid bulk length"),
        (b"*1\r\n+PING\r\n", "expected '$', got '+'"),
        (b"SET k \"unclosed\r\n", "unbalanced quotes in request"),
        (&big_inline, "too big inline request"),
        (&big_count, "too big mbulk count string"),
        (&big_bulk_count, "too big bulk count string"),
    ];
    let server = Server::start();
    let mut other = server.connect();
    assert_eq!(other.cmd(&["SET", "k", "v"]), "+OK\r\n");
    for (input, text) in cases {
        let mut c = server.connect();
        // Requests before the bad one are served first.
        c.send(b"PING\r\n");
        c.send(input);
        assert_eq!(c.reply(), "+PONG\r\n");
        assert_eq!(c.reply(), format!("-ERR Protocol error: {text}\r\n"));
        c.expect_closed();
        assert_eq!(other.cmd(&["GET", "k"]), "$1\r\nv\r\n", "after {text}");
    }
}

#[test]
fn a_two_gigabyte_bulk_is_refused_without_allocating_it() {
    let server = Server::start();
    let mut other = server.connect();
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    let mut c = server.connect();
    c.send(b"*1\r\n$2147483648\r\n");
    assert_eq!(c.reply(), "-ERR Protocol error: invalid bulk length\r\n");
    c.expect_closed();
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");

    // The largest allowed bulk, announced but not sent: memory follows what has arrived.
    let mut pending = server.connect();
    pending.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n");
    pending.send(&[b'v'; 1000]);
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    if let Some(rss) = server.rss_kb() {
        assert!(rss < 100 * 1024, "server resident memory is {rss} KB");
    }
    drop(pending);
    assert_eq!(other.cmd(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn requests_sent_before_the_client_stops_writing_are_answered() {
    let server = Server::start();
    let mut c = server.connect();
    c.send(b"PING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nbye\r\n");
    c.stream.shutdown(Shutdown::Write).expect("half close");
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(c.reply(), "$3\r\nbye\r\n");
    c.expect_closed();
}

#[test]
fn quit_replies_ok_then_closes() {
    let server = Server::start();
    let mut c = server.connect();
    // Whatever follows QUIT in the same write is not run.
    c.send(&[multibulk(&["QUIT"]), multibulk(&["SET", "after", "quit"])].concat());
    assert_eq!(c.reply(), "+OK\r\n");
    c.expect_closed();
    assert_eq!(server.connect().cmd(&["GET", "after"]), "$-1\r\n");
}

#[test]
fn hello_3_switches_the_connection_to_resp3() {
    let server = Server::start();
    let mut c = server.connect();
    let hello = c.cmd(&["HELLO", "3"]);
    assert!(
        hello.starts_with('%'),
        "HELLO 3 answers with a map: {hello:?}"
    );
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello:?}");
    assert_eq!(c.cmd(&["GET", "missing"]), "_\r\n");
    // Other connections keep RESP2.
    assert_eq!(server.connect().cmd(&["GET", "missing"]), "$-1\r\n");
}

#[test]
fn keys_with_a_ttl_expire_without_being_touched() {
    let server = Server::start();
    let mut c = server.connect();
    for i in 0..20 {
        assert_eq!(
            c.cmd(&["SET", &format!("k{i}"), "v", "PX", "200"]),
            "+OK\r\n"
        );
    }
    assert_eq!(c.cmd(&["DBSIZE"]), ":20\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    // Only DBSIZE is sent, which does not look keys up, so only the cron can remove them.
    while c.cmd(&["DBSIZE"]) != ":0\r\n" {
        assert!(Instant::now() < deadline, "keys still there after 5 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn published_messages_reach_subscribers() {
    let server = Server::start();
    let mut sub = server.connect();
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "news"]),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    let mut publisher = server.connect();
    assert_eq!(publisher.cmd(&["PUBLISH", "news", "hello"]), ":1\r\n");
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    // A RESP3 client may publish to itself: the message comes before PUBLISH's reply, as on
    // Redis, since Redis writes it while PUBLISH runs.
    let mut own = server.connect();
    own.cmd(&["HELLO", "3"]);
    assert_eq!(
        own.cmd(&["SUBSCRIBE", "self"]),
        ">3\r\n$9\r\nsubscribe\r\n$4\r\nself\r\n:1\r\n"
    );
    own.send(&multibulk(&["PUBLISH", "self", "hi"]));
    assert_eq!(
        own.reply(),
        ">3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$2\r\nhi\r\n"
    );
    assert_eq!(own.reply(), ":1\r\n");
}

#[test]
fn client_kill_closes_the_victims_socket() {
    let server = Server::start();
    let mut victim = server.connect();
    let id = victim.cmd(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    let mut killer = server.connect();
    assert_eq!(killer.cmd(&["CLIENT", "KILL", "ID", id]), ":1\r\n");
    victim.expect_closed();
    assert_eq!(killer.cmd(&["PING"]), "+PONG\r\n");
    // The address CLIENT LIST shows is the socket's.
    let list = killer.cmd(&["CLIENT", "LIST"]);
    let local = killer.stream.local_addr().expect("local address");
    assert!(list.contains(&format!("addr={local} ")), "{list}");
    assert!(
        list.contains(&format!("laddr=127.0.0.1:{} ", server.port)),
        "{list}"
    );
}

#[test]
fn blocked_clients_are_served_and_their_next_requests_wait() {
    let server = Server::start();
    let mut other = server.connect();
    if !other.supports("BLPOP") {
        return;
    }
    let mut waiter = server.connect();
    // The PING behind the BLPOP waits until the BLPOP is answered.
    waiter.send(&[multibulk(&["BLPOP", "queue", "0"]), multibulk(&["PING"])].concat());
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(other.cmd(&["LPUSH", "queue", "job"]), ":1\r\n");
    assert_eq!(waiter.reply(), "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n");
    assert_eq!(waiter.reply(), "+PONG\r\n");
    // A timeout is answered by the server on its own, without further traffic.
    let started = Instant::now();
    waiter.send(&multibulk(&["BLPOP", "empty", "0.2"]));
    assert_eq!(waiter.reply(), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn redis_cli_talks_to_the_server() {
    if Command::new("redis-cli").arg("--version").output().is_err() {
        note("redis-cli is not installed; test skipped");
        return;
    }
    let server = Server::start();
    let cli = |args: &[&str]| {
        let port = server.port.to_string();
        let out = Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .expect("run redis-cli");
        assert!(out.status.success(), "redis-cli {args:?} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(cli(&["SET", "a", "b"]), "OK\n");
    assert_eq!(cli(&["GET", "a"]), "b\n");
    assert_eq!(cli(&["GET", "nothing"]), "\n");
}

#[test]
fn redis_py_talks_to_the_server() {
    let has_redis_py = Command::new("python3")
        .args(["-c", "import redis"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_redis_py {
        note("python3 with redis-py is not available; test skipped");
        return;
    }
    let server = Server::start();
    let script = r#"
import sys, redis
for proto in map(int, sys.argv[2].split(",")):
    check(redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), protocol=proto))
print("ok")
"#;
    let checks = r#"
def check(r):
    assert r.ping() is True
    assert r.set("name", "cachelab") is True
    assert r.get("name") == b"cachelab"
    assert r.get("absent") is None
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.set(f"k{i}", i)
        p.get(f"k{i}")
    out = p.execute()
    assert out[1::2] == [str(i).encode() for i in range(100)], out[:4]
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            &format!("{checks}{script}"),
            &server.port.to_string(),
            "2,3",
        ])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
}
