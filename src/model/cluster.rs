//! Cluster mode: a Redis Cluster of the engine's own (`cachelab_engine::cluster::Cluster`) on the
//! playground's clock, with consoles that behave like `redis-cli -c`.
//!
//! A console is connected to one node at a time (its prompt says which). A command goes to that
//! node; a `-MOVED` or `-ASK` reply is followed as redis-cli follows it (`cluster::follow`): the
//! `-> Redirected to slot [N] located at host:port` line is shown, the console drops its
//! connection and opens one to the node it was sent to (sending `ASKING` first after an ASK),
//! sends the command again, and stays there. Other errors (CROSSSLOT, TRYAGAIN, CLUSTERDOWN) are
//! shown as Redis gives them. Like redis-cli's interactive mode, a line that starts with a
//! number repeats the command that many times (`100 GET hot`).
//!
//! The cluster exists only while cluster mode is open: the single-instance playground does not
//! build it, and its steps, timeline and saved session do not include it.

use cachelab_engine::cli::split_args;
use cachelab_engine::cluster::follow::{follow, Hop};
use cachelab_engine::cluster::{Cluster, ClusterConfig};
use cachelab_engine::{error, to_cli_text, ClientId, Config, Reply};

use super::cluster_views::{addrs, ClusterRecords, CommandRecord};
use super::{console, pane_name, LineKind, Pane, MAX_FRAME_MS};

/// The first node's port: redis-cli's cluster tutorial uses 7000, 7001...
pub const BASE_PORT: u16 = 7000;
/// The most masters the page offers (each is a whole engine).
pub const MAX_MASTERS: usize = 9;
/// A repeated command (`100 GET key`) runs at most this many times in the page.
pub const MAX_REPEAT: i64 = 1000;
/// Replication lags the controls offer, in milliseconds.
pub const LAGS: [i64; 6] = [0, 100, 500, 1000, 5000, 30_000];

pub struct ClusterModel {
    pub cluster: Cluster,
    pub masters: usize,
    pub replicas: usize,
    /// The cluster's virtual time in milliseconds.
    pub now: i64,
    pub panes: Vec<Pane>,
    /// The node each console is connected to.
    pub pane_nodes: Vec<usize>,
    /// Lines typed in each console, for Up/Down.
    history: Vec<Vec<String>>,
    pub records: ClusterRecords,
    /// Fractions of a virtual millisecond not yet applied while playing.
    carry: f64,
    /// Bumped whenever a console's lines, waiting state or prompt may have changed (the
    /// consoles redraw, and scroll to the end, only then).
    pub rev: u64,
}

impl ClusterModel {
    /// A cluster of `masters` masters (slots split evenly, as `redis-cli --cluster create`
    /// does), each with `replicas` replicas, and one console on the first node.
    pub fn new(masters: usize, replicas: usize, seed: u64) -> ClusterModel {
        let masters = masters.clamp(1, MAX_MASTERS);
        let replicas = replicas.min(2);
        let config = ClusterConfig {
            seed,
            masters,
            replicas_per_master: replicas,
            base_port: BASE_PORT,
            engine: Config {
                seed,
                record_events: true,
                ..Config::default()
            },
            ..ClusterConfig::default()
        };
        let mut cluster = Cluster::new(config, 0);
        let client = cluster.connect(0, 0);
        let mut model = ClusterModel {
            cluster,
            masters,
            replicas,
            now: 0,
            panes: Vec::new(),
            pane_nodes: Vec::new(),
            history: Vec::new(),
            records: ClusterRecords::default(),
            carry: 0.0,
            rev: 0,
        };
        model.push_pane(client, 0);
        model.absorb();
        model
    }

    fn push_pane(&mut self, client: ClientId, node: usize) {
        self.panes.push(Pane {
            name: pane_name(self.panes.len()),
            client,
            lines: Vec::new(),
            waiting: false,
            db: 0,
        });
        self.pane_nodes.push(node);
        self.history.push(Vec::new());
        self.rev += 1;
    }

    /// redis-cli's prompt: the node's address, or `not connected` when it does not answer.
    pub fn prompt(&self, pane: usize) -> String {
        let node = self.pane_nodes.get(pane).copied().unwrap_or(0);
        if self.cluster.node(node).up {
            format!("{}>", self.cluster.addr(node))
        } else {
            "not connected>".into()
        }
    }

    pub fn history(&self, pane: usize) -> Vec<&str> {
        self.history
            .get(pane)
            .map(|h| h.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// A new console, connected to the first node.
    pub fn add_client(&mut self) {
        let client = self.cluster.connect(0, self.now);
        self.push_pane(client, 0);
        self.absorb();
    }

    /// Points a console at another node, as `redis-cli -c -p <port>` would start.
    pub fn connect(&mut self, pane: usize, node: usize) {
        if pane >= self.panes.len() || node >= self.cluster.len() {
            return;
        }
        let old = self.pane_nodes[pane];
        self.cluster.disconnect(old, self.panes[pane].client);
        let client = self.cluster.connect(node, self.now);
        self.pane_nodes[pane] = node;
        let p = &mut self.panes[pane];
        p.client = client;
        p.waiting = false;
        self.rev += 1;
        let text = format!("Connected to {}", self.cluster.addr(node));
        self.panes[pane].push(LineKind::Info, text);
        self.absorb();
    }

    pub fn fail_node(&mut self, node: usize) {
        if node < self.cluster.len() {
            self.cluster.fail_node(node, self.now);
            self.rev += 1;
            self.absorb();
        }
    }

    pub fn recover_node(&mut self, node: usize) {
        if node < self.cluster.len() {
            self.cluster.recover_node(node, self.now);
            self.rev += 1;
            self.collect_outputs();
            self.absorb();
        }
    }

    pub fn set_repl_lag(&mut self, ms: i64) {
        self.cluster.set_repl_lag(ms);
    }

    /// Milliseconds of one server-cron tick of the nodes.
    pub fn tick_ms(&self) -> i64 {
        (1000 / self.cluster.engine(0).config().hz.max(1)).max(1)
    }

    /// Moves the clock to `to`, one server tick at a time, as the single playground does.
    pub fn advance_to(&mut self, to: i64) {
        let tick = self.tick_ms();
        while self.now < to {
            let t = ((self.now.div_euclid(tick) + 1) * tick).min(to);
            self.now = t;
            self.cluster.advance(t);
            self.collect_outputs();
            self.absorb();
        }
    }

    /// A frame of play: virtual time follows real time times `speed`, in whole ticks.
    pub fn frame(&mut self, real_ms: f64, speed: f64) {
        if !real_ms.is_finite() || real_ms <= 0.0 {
            return;
        }
        let tick = self.tick_ms();
        self.carry += real_ms.min(MAX_FRAME_MS) * speed;
        let target = self.now as f64 + self.carry;
        let to = (target / tick as f64).floor() as i64 * tick;
        if to > self.now {
            self.carry = target - to as f64;
            self.advance_to(to);
        }
    }

    pub fn reset_carry(&mut self) {
        self.carry = 0.0;
    }

    /// Runs a line typed in a console.
    pub fn run(&mut self, pane: usize, line: &str) {
        if pane >= self.panes.len() || line.trim().is_empty() {
            return;
        }
        let prompt = self.prompt(pane);
        self.rev += 1;
        self.history[pane].push(line.to_string());
        let p = &mut self.panes[pane];
        p.push(LineKind::Input, format!("{prompt} {line}"));
        let argv = match split_args(line) {
            Ok(argv) => argv,
            Err(e) => {
                p.push(LineKind::Info, e.to_string());
                return;
            }
        };
        let Some(first) = argv.first() else {
            return;
        };
        if first.eq_ignore_ascii_case(b"help") {
            p.push(LineKind::Info, console::help_for(&argv[1..]));
            return;
        }
        if first.eq_ignore_ascii_case(b"clear") && argv.len() == 1 {
            p.lines.clear();
            return;
        }
        // redis-cli: a first word that is a whole number repeats the rest.
        let mut repeat = 1i64;
        let mut args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        if args.len() > 1 {
            if let Some(n) = std::str::from_utf8(args[0])
                .ok()
                .filter(|s| is_integer_word(s))
            {
                match n.parse::<i64>() {
                    Ok(n) if n > 0 => repeat = n,
                    _ => {
                        p.push(
                            LineKind::Info,
                            "Invalid redis-cli repeat command option value.".into(),
                        );
                        return;
                    }
                }
                args.remove(0);
            }
        }
        if repeat > MAX_REPEAT {
            p.push(
                LineKind::Info,
                format!("(the playground repeats a command at most {MAX_REPEAT} times)"),
            );
            repeat = MAX_REPEAT;
        }
        if self
            .cluster
            .engine(self.pane_nodes[pane])
            .is_blocked(p.client)
        {
            p.push(
                LineKind::Info,
                "This client is blocked: its reply comes when a key it waits on is written or \
                 its timeout passes. Use another client, or move the clock."
                    .into(),
            );
            return;
        }
        for _ in 0..repeat {
            if !self.send(pane, &args) {
                break;
            }
        }
        self.collect_outputs();
        self.absorb();
    }

    /// Sends one command from a console, following redirections; shows the redirect lines and
    /// the reply. Returns false when the command could not be sent (a node that is down) or
    /// left the client blocked.
    fn send(&mut self, pane: usize, args: &[&[u8]]) -> bool {
        let now = self.now;
        let mut node = self.pane_nodes[pane];
        let mut client = self.panes[pane].client;
        let mut lines: Vec<String> = Vec::new();
        let cluster = &mut self.cluster;
        let result = follow(|hop: Option<&Hop>| {
            if let Some(h) = hop {
                lines.push(h.cli_line());
                let Some(target) = cluster.node_by_addr(&h.host, h.port) else {
                    return Err(refused(&h.host, h.port));
                };
                // redis-cli drops its connection and opens one to the node it was sent to.
                cluster.disconnect(node, client);
                node = target;
                client = cluster.connect(node, now);
                if h.ask {
                    let asking = cluster.execute(node, client, &[b"ASKING"], now);
                    if is_down(&asking) {
                        return Err(refused(&h.host, h.port));
                    }
                }
            }
            let reply = cluster.execute(node, client, args, now);
            if is_down(&reply) {
                let addr = cluster.addr(node);
                return Err(format!(
                    "Could not connect to Redis at {addr}: Connection refused"
                ));
            }
            Ok(reply)
        });
        self.pane_nodes[pane] = node;
        self.panes[pane].client = client;
        let p = &mut self.panes[pane];
        for l in lines {
            p.push(LineKind::Info, l);
        }
        let reply = match result {
            Ok(f) => f.reply,
            Err(text) => {
                p.push(LineKind::Error, text);
                return false;
            }
        };
        if !refused_by_cluster(&reply) {
            self.records
                .record_command(CommandRecord::new(now, node, args));
        }
        let p = &mut self.panes[pane];
        match &reply {
            Reply::Blocked => {
                p.waiting = true;
                return false;
            }
            Reply::Error(_) => p.push(LineKind::Error, to_cli_text(&reply)),
            _ => p.push(LineKind::Output, to_cli_text(&reply)),
        }
        if self.cluster.engine(node).should_close(client) {
            // redis-cli reconnects after QUIT; so does the console, to the same node.
            self.cluster.disconnect(node, client);
            self.panes[pane].client = self.cluster.connect(node, now);
            self.panes[pane].waiting = false;
        }
        true
    }

    /// Replies that reached consoles outside their own commands (served BLPOPs, messages).
    fn collect_outputs(&mut self) {
        for (p, &node) in self.panes.iter_mut().zip(&self.pane_nodes) {
            let replies = self.cluster.take_output(node, p.client);
            self.rev += p.receive(replies, self.cluster.engine(node).is_blocked(p.client));
        }
    }

    /// Takes in the events the cluster recorded.
    fn absorb(&mut self) {
        let events = self.cluster.drain_events();
        if events.is_empty() {
            return;
        }
        let addrs = addrs(&self.cluster);
        self.records.absorb(&events, self.now, &addrs);
    }
}

/// Whether the node refused the command for where its keys live (rather than running it).
fn refused_by_cluster(reply: &Reply) -> bool {
    reply.error_text().is_some_and(|t| {
        [
            "MOVED ",
            "ASK ",
            "CROSSSLOT",
            "TRYAGAIN",
            "CLUSTERDOWN",
            "ERR too many redirections",
        ]
        .iter()
        .any(|p| t.starts_with(p))
    })
}

fn is_down(reply: &Reply) -> bool {
    reply.error_text() == Some(error::NODE_DOWN)
}

/// redis-cli's message when a node does not accept the connection.
fn refused(host: &str, port: u16) -> String {
    format!("Could not connect to Redis at {host}:{port}: Connection refused")
}

/// What C's `strtol` reads whole: an optional sign and digits.
fn is_integer_word(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
