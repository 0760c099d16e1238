//! Replays `tests/transcripts/strings.txt` against a real `redis-server` and against the engine,
//! and compares the RESP2 bytes of every reply.
//!
//! The test starts its own redis-server on a free port and skips, with a note, when there is no
//! redis-server on the PATH. Commands the engine does not know yet (other families' commands
//! such as OBJECT or EXPIRETIME) are sent to Redis only, and listed at the end; FLUSHALL is
//! mirrored by starting from a fresh engine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use cachelab_engine::cli::split_args;
use cachelab_engine::{table, to_resp, Config, Engine, Protocol};

struct Server {
    child: Child,
    conn: BufReader<TcpStream>,
}

impl Server {
    /// Starts redis-server in the foreground and waits for its "ready" log line, so no polling
    /// or sleeping is needed. None when the binary is not installed.
    fn start() -> Option<Server> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let log = BufReader::new(child.stdout.take()?);
        for line in log.lines() {
            let line = line.expect("redis-server log");
            if line.contains("Ready to accept connections") {
                break;
            }
        }
        let conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis-server");
        Some(Server {
            child,
            conn: BufReader::new(conn),
        })
    }

    fn call(&mut self, argv: &[Vec<u8>]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.conn
            .get_mut()
            .write_all(&req)
            .expect("send to redis-server");
        let mut out = Vec::new();
        read_reply(&mut self.conn, &mut out);
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .conn
            .get_mut()
            .write_all(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
        let _ = self.child.wait();
    }
}

/// Reads one complete RESP2 reply, appending its raw bytes to `out`.
fn read_reply(r: &mut BufReader<TcpStream>, out: &mut Vec<u8>) {
    let start = out.len();
    r.read_until(b'\n', out).expect("read reply");
    let line = &out[start..];
    let num = || -> i64 {
        std::str::from_utf8(&line[1..line.len() - 2])
            .expect("utf8")
            .parse()
            .expect("length")
    };
    match line[0] {
        b'$' => {
            let n = num();
            if n >= 0 {
                let mut body = vec![0; n as usize + 2];
                r.read_exact(&mut body).expect("read bulk");
                out.extend_from_slice(&body);
            }
        }
        b'*' => {
            let n = num();
            for _ in 0..n.max(0) {
                read_reply(r, out);
            }
        }
        _ => {}
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[test]
fn strings_transcript_matches_redis() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/transcripts/strings.txt");
    let text = std::fs::read_to_string(&path).expect("transcript");
    let Some(mut redis) = Server::start() else {
        eprintln!(
            "note: redis-server not found on PATH; skipping the strings transcript comparison"
        );
        return;
    };
    let mut engine = Engine::new(Config::default());
    let mut client = engine.connect(now_ms());
    let mut mismatches = Vec::new();
    let mut skipped = std::collections::BTreeSet::new();
    let mut compared = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let argv =
            split_args(line).unwrap_or_else(|_| panic!("line {}: cannot split {line:?}", n + 1));
        let want = redis.call(&argv);
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        if name == "flushall" {
            engine = Engine::new(Config::default());
            client = engine.connect(now_ms());
            continue;
        }
        if table::get(&argv[0]).is_none() {
            skipped.insert(name);
            continue;
        }
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let got = to_resp(&engine.execute(client, &args, now_ms()), Protocol::Resp2);
        compared += 1;
        if got != want {
            mismatches.push(format!(
                "line {}: {line}\n  redis:  {:?}\n  engine: {:?}",
                n + 1,
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    if !skipped.is_empty() {
        eprintln!("note: sent to redis only (not in the engine yet): {skipped:?}");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} replies differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(compared > 100, "only {compared} commands compared");
}
