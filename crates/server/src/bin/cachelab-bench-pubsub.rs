//! Pub/sub fan-out and stream throughput against a RESP server on loopback.
//!
//! `bench/pubsub.sh` runs this against redis-server and `cachelab serve` in turn. Three
//! measurements, each bounded in size and in time:
//!
//! - fan-out: S subscribers on one channel, one publisher pipelining N PUBLISHes; the time from
//!   the first PUBLISH until every subscriber has read every message (checked in order);
//! - XADD: one producer pipelining N `XADD <key> * f <value>`; the time until every ID is back;
//! - XREADGROUP: C consumers of one group reading `COUNT k` entries at a time until the stream
//!   is drained, acknowledging each batch with XACK (sent with the next read); the time until
//!   all are done, checked by XPENDING.
//!
//! Results go to stdout as `name value` lines; progress and errors to stderr. Only std::net,
//! only 127.0.0.1. Given the server's process id, it also reports the CPU time the server's
//! main thread spent in each measurement (from /proc/<pid>/schedstat).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "\
Usage: cachelab-bench-pubsub --port N [OPTIONS]

Options (defaults in brackets):
  --port N          port of the server on 127.0.0.1
  --pid N           the server's process id, to report its CPU time (not reported)
  --only WHAT       pubsub or streams (both)
  --messages N      messages published [100000]
  --subscribers N   subscribers of the channel [100]
  --payload N       message and stream value size in bytes, 8 to 64 [16]
  --pipeline N      commands the publisher and the producer send per write [64]
  --entries N       stream entries added and consumed [200000]
  --consumers N     consumers in the group [4]
  --count N         COUNT of each XREADGROUP [100]
  --timeout S       give up after this many seconds per measurement [120]";

const CHANNEL: &[u8] = b"bench:channel";
const STREAM: &[u8] = b"bench:stream";
const GROUP: &[u8] = b"bench";

#[derive(Clone, Debug)]
struct Options {
    port: u16,
    pid: Option<u32>,
    pubsub: bool,
    streams: bool,
    messages: u64,
    subscribers: usize,
    payload: usize,
    pipeline: u64,
    entries: u64,
    consumers: usize,
    count: u64,
    timeout: Duration,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        port: 0,
        pid: None,
        pubsub: true,
        streams: true,
        messages: 100_000,
        subscribers: 100,
        payload: 16,
        pipeline: 64,
        entries: 200_000,
        consumers: 4,
        count: 100,
        timeout: Duration::from_secs(120),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |lo: u64, hi: u64| -> Result<u64, String> {
            match value.parse::<u64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{flag} wants a number from {lo} to {hi}, got '{value}'"
                )),
            }
        };
        match flag.as_str() {
            "--port" => o.port = num(1, 65535)? as u16,
            "--pid" => o.pid = Some(num(1, u64::from(u32::MAX))? as u32),
            "--only" => match value.as_str() {
                "pubsub" => o.streams = false,
                "streams" => o.pubsub = false,
                _ => return Err(format!("--only wants pubsub or streams, got '{value}'")),
            },
            "--messages" => o.messages = num(1, 10_000_000)?,
            "--subscribers" => o.subscribers = num(1, 1000)? as usize,
            "--payload" => o.payload = num(8, 64)? as usize,
            "--pipeline" => o.pipeline = num(1, 10_000)?,
            "--entries" => o.entries = num(1, 10_000_000)?,
            "--consumers" => o.consumers = num(1, 100)? as usize,
            "--count" => o.count = num(1, 10_000)?,
            "--timeout" => o.timeout = Duration::from_secs(num(1, 3600)?),
            _ => return Err(format!("unknown option '{flag}'")),
        }
    }
    if o.port == 0 {
        return Err("--port is required".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cachelab-bench-pubsub: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cachelab-bench-pubsub: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Seconds the server's main thread has run, when its process id is known.
fn server_cpu(o: &Options) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{}/schedstat", o.pid?)).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// The server's CPU time since `before`.
fn cpu_since(o: &Options, before: Option<f64>) -> Option<f64> {
    before.zip(server_cpu(o)).map(|(a, b)| b - a)
}

/// A measurement's wall-clock seconds and the server's CPU seconds in it.
struct Timing {
    secs: f64,
    server_cpu: Option<f64>,
}

impl Timing {
    fn print(&self, name: &str, items: u64, unit: &str) {
        println!("{name}_seconds {:.6}", self.secs);
        println!("{name}_{unit}_per_sec {:.0}", items as f64 / self.secs);
        if let Some(cpu) = self.server_cpu {
            println!("{name}_server_cpu_seconds {cpu:.6}");
        }
    }
}

fn run(o: &Options) -> Result<(), String> {
    if o.pubsub {
        let r = fanout(o).map_err(|e| format!("fan-out: {e}"))?;
        if let Some(cpu) = r.server_cpu {
            println!("fanout_server_cpu_seconds {cpu:.6}");
        }
        let deliveries = o.messages as f64 * o.subscribers as f64;
        println!("fanout_seconds {:.6}", r.all_received);
        println!(
            "fanout_messages_per_sec {:.0}",
            o.messages as f64 / r.all_received
        );
        println!(
            "fanout_deliveries_per_sec {:.0}",
            deliveries / r.all_received
        );
        println!("publish_seconds {:.6}", r.published);
    }
    if o.streams {
        xadd(o)
            .map_err(|e| format!("XADD: {e}"))?
            .print("xadd", o.entries, "entries");
        xreadgroup(o)
            .map_err(|e| format!("XREADGROUP: {e}"))?
            .print("xreadgroup", o.entries, "entries");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Connections and replies

#[derive(Debug, PartialEq)]
enum Value {
    Simple(Vec<u8>),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Value>),
    NilArray,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// A connection with a read buffer, for request/reply traffic.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    deadline: Instant,
}

impl Conn {
    fn open(port: u16, timeout: Duration, deadline: Instant) -> io::Result<Conn> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Conn {
            stream,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            deadline,
        })
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn call(&mut self, args: &[&[u8]]) -> io::Result<Value> {
        let mut out = Vec::new();
        command(&mut out, args);
        self.send(&out)?;
        self.reply()
    }

    fn reply(&mut self) -> io::Result<Value> {
        loop {
            if let Some((v, used)) = parse(&self.buf[self.start..self.end])? {
                self.start += used;
                return Ok(v);
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if Instant::now() > self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "out of time"));
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < 16 * 1024 {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.end += n;
        Ok(())
    }
}

/// Appends a RESP multibulk request.
fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Parses one RESP2 reply from the front of `b`: the value and its length, or None when `b`
/// holds only part of it.
fn parse(b: &[u8]) -> io::Result<Option<(Value, usize)>> {
    let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    if nl == 0 {
        return Err(bad("empty reply line"));
    }
    let line = &b[1..nl];
    let rest = nl + 2;
    let int = |s: &[u8]| -> io::Result<i64> {
        std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad number {:?}", String::from_utf8_lossy(s))))
    };
    Ok(match b[0] {
        b'+' => Some((Value::Simple(line.to_vec()), rest)),
        b'-' => Some((Value::Error(String::from_utf8_lossy(line).into()), rest)),
        b':' => Some((Value::Int(int(line)?), rest)),
        b'$' => {
            let len = int(line)?;
            if len < 0 {
                return Ok(Some((Value::Nil, rest)));
            }
            let end = rest + len as usize;
            if b.len() < end + 2 {
                return Ok(None);
            }
            Some((Value::Bulk(b[rest..end].to_vec()), end + 2))
        }
        b'*' => {
            let len = int(line)?;
            if len < 0 {
                return Ok(Some((Value::NilArray, rest)));
            }
            let mut items = Vec::with_capacity(len as usize);
            let mut at = rest;
            for _ in 0..len {
                match parse(&b[at..])? {
                    Some((v, used)) => {
                        items.push(v);
                        at += used;
                    }
                    None => return Ok(None),
                }
            }
            Some((Value::Array(items), at))
        }
        other => return Err(bad(format!("unexpected reply type byte {other:#04x}"))),
    })
}

fn expect(what: &str, got: Value, want: &Value) -> io::Result<()> {
    if &got == want {
        Ok(())
    } else {
        Err(bad(format!("{what}: expected {want:?}, got {got:?}")))
    }
}

/// The zero-padded decimal `seq`, `width` digits.
fn payload(seq: u64, width: usize) -> Vec<u8> {
    format!("{seq:0width$}").into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Pub/sub fan-out

struct Fanout {
    /// Seconds from the first PUBLISH until the last subscriber read the last message.
    all_received: f64,
    /// Seconds from the first PUBLISH until the publisher read the last PUBLISH reply.
    published: f64,
    /// Seconds the server ran from the first PUBLISH until every message was received.
    server_cpu: Option<f64>,
}

fn fanout(o: &Options) -> io::Result<Fanout> {
    let deadline = Instant::now() + o.timeout;
    let mut publisher = Conn::open(o.port, o.timeout, deadline)?;
    expect(
        "FLUSHALL",
        publisher.call(&[b"FLUSHALL"])?,
        &Value::Simple(b"OK".to_vec()),
    )?;

    eprintln!("fan-out: subscribing {} clients", o.subscribers);
    let mut subscribers = Vec::with_capacity(o.subscribers);
    for _ in 0..o.subscribers {
        let mut c = Conn::open(o.port, o.timeout, deadline)?;
        let confirm = c.call(&[b"SUBSCRIBE", CHANNEL])?;
        let want = Value::Array(vec![
            Value::Bulk(b"subscribe".to_vec()),
            Value::Bulk(CHANNEL.to_vec()),
            Value::Int(1),
        ]);
        expect("SUBSCRIBE", confirm, &want)?;
        if c.start != c.end {
            return Err(bad("data after the SUBSCRIBE confirmation"));
        }
        subscribers.push(c.stream);
    }
    let numsub = publisher.call(&[b"PUBSUB", b"NUMSUB", CHANNEL])?;
    let want = Value::Array(vec![
        Value::Bulk(CHANNEL.to_vec()),
        Value::Int(o.subscribers as i64),
    ]);
    expect("PUBSUB NUMSUB", numsub, &want)?;

    // Every message a subscriber reads has the same length, so it is checked in place.
    let mut prefix = Vec::new();
    command(&mut prefix, &[b"message", CHANNEL, &payload(0, o.payload)]);
    prefix.truncate(prefix.len() - o.payload - 2);
    let prefix = Arc::new(prefix);

    let start_line = Arc::new(Barrier::new(o.subscribers + 1));
    let mut readers = Vec::with_capacity(o.subscribers);
    for (i, stream) in subscribers.into_iter().enumerate() {
        let prefix = Arc::clone(&prefix);
        let start_line = Arc::clone(&start_line);
        let (messages, width) = (o.messages, o.payload);
        let reader = thread::Builder::new()
            .name(format!("subscriber-{i}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                start_line.wait();
                receive(stream, &prefix, width, messages, deadline)
            })?;
        readers.push(reader);
    }

    eprintln!("fan-out: publishing {} messages", o.messages);
    start_line.wait();
    let cpu0 = server_cpu(o);
    let t0 = Instant::now();
    let mut batch = Vec::new();
    let mut sent = 0u64;
    let mut acked = 0u64;
    let want = Value::Int(o.subscribers as i64);
    while acked < o.messages {
        // Two batches in flight: write the next, then read the replies to the one before.
        if sent < o.messages {
            batch.clear();
            let upto = (sent + o.pipeline).min(o.messages);
            for seq in sent..upto {
                command(&mut batch, &[b"PUBLISH", CHANNEL, &payload(seq, o.payload)]);
            }
            publisher.send(&batch)?;
            sent = upto;
        }
        let lagging = if sent < o.messages { o.pipeline } else { 0 };
        while acked + lagging < sent {
            expect("PUBLISH", publisher.reply()?, &want)?;
            acked += 1;
        }
    }
    let published = t0.elapsed().as_secs_f64();

    let mut all_received = 0f64;
    for r in readers {
        let done = r
            .join()
            .map_err(|_| bad("a subscriber thread panicked"))??;
        all_received = all_received.max(done.duration_since(t0).as_secs_f64());
    }
    let server_cpu = cpu_since(o, cpu0);
    Ok(Fanout {
        all_received,
        published,
        server_cpu,
    })
}

/// Reads `messages` messages in order; returns when the last one arrived.
fn receive(
    mut stream: TcpStream,
    prefix: &[u8],
    width: usize,
    messages: u64,
    deadline: Instant,
) -> io::Result<Instant> {
    let frame = prefix.len() + width + 2;
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut next = 0u64;
    while next < messages {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("a subscriber got {next} of {messages} messages in time"),
            ));
        }
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("a subscriber was disconnected after {next} messages"),
            ));
        }
        filled += n;
        let mut at = 0;
        while filled - at >= frame {
            let m = &buf[at..at + frame];
            let digits = &m[prefix.len()..frame - 2];
            let seq = digits.iter().try_fold(0u64, |acc, &d| {
                d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
            });
            if &m[..prefix.len()] != prefix || &m[frame - 2..] != b"\r\n" || seq != Some(next) {
                return Err(bad(format!(
                    "message {next}: got {:?}",
                    String::from_utf8_lossy(m)
                )));
            }
            next += 1;
            at += frame;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
    }
    if filled != 0 {
        return Err(bad("a subscriber got more than it was sent"));
    }
    Ok(Instant::now())
}

// ---------------------------------------------------------------------------------------------
// Streams

fn xadd(o: &Options) -> io::Result<Timing> {
    let deadline = Instant::now() + o.timeout;
    let mut producer = Conn::open(o.port, o.timeout, deadline)?;
    expect(
        "FLUSHALL",
        producer.call(&[b"FLUSHALL"])?,
        &Value::Simple(b"OK".to_vec()),
    )?;
    eprintln!("streams: adding {} entries", o.entries);
    let cpu0 = server_cpu(o);
    let t0 = Instant::now();
    let mut batch = Vec::new();
    let mut sent = 0u64;
    let mut acked = 0u64;
    while acked < o.entries {
        if sent < o.entries {
            batch.clear();
            let upto = (sent + o.pipeline).min(o.entries);
            for seq in sent..upto {
                command(
                    &mut batch,
                    &[b"XADD", STREAM, b"*", b"f", &payload(seq, o.payload)],
                );
            }
            producer.send(&batch)?;
            sent = upto;
        }
        let lagging = if sent < o.entries { o.pipeline } else { 0 };
        while acked + lagging < sent {
            match producer.reply()? {
                Value::Bulk(_) => acked += 1,
                other => return Err(bad(format!("XADD answered {other:?}"))),
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let server_cpu = cpu_since(o, cpu0);
    expect(
        "XLEN",
        producer.call(&[b"XLEN", STREAM])?,
        &Value::Int(o.entries as i64),
    )?;
    Ok(Timing { secs, server_cpu })
}

/// Consumes the stream `xadd` filled.
fn xreadgroup(o: &Options) -> io::Result<Timing> {
    let deadline = Instant::now() + o.timeout;
    let mut admin = Conn::open(o.port, o.timeout, deadline)?;
    expect(
        "XGROUP CREATE",
        admin.call(&[b"XGROUP", b"CREATE", STREAM, GROUP, b"0"])?,
        &Value::Simple(b"OK".to_vec()),
    )?;
    eprintln!("streams: reading with {} consumers", o.consumers);
    let start_line = Arc::new(Barrier::new(o.consumers + 1));
    let mut workers = Vec::new();
    for i in 0..o.consumers {
        let conn = Conn::open(o.port, o.timeout, deadline)?;
        let start_line = Arc::clone(&start_line);
        let count = o.count;
        workers.push(thread::spawn(move || {
            start_line.wait();
            consume(conn, format!("consumer-{i}").as_bytes(), count)
        }));
    }
    start_line.wait();
    let cpu0 = server_cpu(o);
    let t0 = Instant::now();
    let mut consumed = 0;
    for w in workers {
        consumed += w.join().map_err(|_| bad("a consumer thread panicked"))??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let server_cpu = cpu_since(o, cpu0);
    if consumed != o.entries {
        return Err(bad(format!("consumed {consumed} of {} entries", o.entries)));
    }
    match admin.call(&[b"XPENDING", STREAM, GROUP])? {
        Value::Array(items) if items.first() == Some(&Value::Int(0)) => {}
        other => return Err(bad(format!("entries still pending: {other:?}"))),
    }
    Ok(Timing { secs, server_cpu })
}

/// Reads batches until the group has nothing new, acknowledging each batch together with the
/// next read. Returns how many entries this consumer got (and acknowledged).
fn consume(mut conn: Conn, name: &[u8], count: u64) -> io::Result<u64> {
    let count = count.to_string();
    let mut read = Vec::new();
    command(
        &mut read,
        &[
            b"XREADGROUP",
            b"GROUP",
            GROUP,
            name,
            b"COUNT",
            count.as_bytes(),
            b"STREAMS",
            STREAM,
            b">",
        ],
    );
    let mut out = read.clone();
    let mut unacked = 0usize;
    let mut total = 0u64;
    loop {
        conn.send(&out)?;
        if unacked > 0 {
            expect("XACK", conn.reply()?, &Value::Int(unacked as i64))?;
        }
        let ids = match conn.reply()? {
            Value::NilArray => return Ok(total),
            Value::Array(mut streams) if streams.len() == 1 => match streams.pop() {
                Some(Value::Array(mut kv)) if kv.len() == 2 => match kv.pop() {
                    Some(Value::Array(entries)) => entries,
                    other => return Err(bad(format!("XREADGROUP entries: {other:?}"))),
                },
                other => return Err(bad(format!("XREADGROUP stream: {other:?}"))),
            },
            other => return Err(bad(format!("XREADGROUP answered {other:?}"))),
        };
        if ids.is_empty() {
            return Err(bad("XREADGROUP answered an empty batch"));
        }
        let mut args: Vec<Vec<u8>> = vec![b"XACK".to_vec(), STREAM.to_vec(), GROUP.to_vec()];
        for entry in ids {
            match entry {
                Value::Array(mut e) if e.len() == 2 => match e.swap_remove(0) {
                    Value::Bulk(id) => args.push(id),
                    other => return Err(bad(format!("entry ID: {other:?}"))),
                },
                other => return Err(bad(format!("entry: {other:?}"))),
            }
        }
        unacked = args.len() - 3;
        total += unacked as u64;
        out.clear();
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        command(&mut out, &refs);
        out.extend_from_slice(&read);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_replies_and_waits_for_the_rest() {
        let full = b"*2\r\n$3\r\nabc\r\n*2\r\n:7\r\n*-1\r\n+OK\r\n";
        let (v, used) = parse(full).unwrap().unwrap();
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Bulk(b"abc".to_vec()),
                Value::Array(vec![Value::Int(7), Value::NilArray]),
            ])
        );
        assert_eq!(&full[used..], b"+OK\r\n");
        for cut in 0..used {
            assert!(parse(&full[..cut]).unwrap().is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn options_are_bounded() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(parse_args(&args("--port 1 --subscribers 1001")).is_err());
        assert!(parse_args(&args("--messages 5")).is_err());
        let o = parse_args(&args("--port 7 --only streams")).unwrap();
        assert!(!o.pubsub && o.streams && o.port == 7);
    }
}
