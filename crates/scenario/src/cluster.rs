//! A scenario's Redis Cluster on the engine: `cachelab_engine::cluster::Cluster` on the
//! scenario's clock, with each client sending as `redis-cli -c` does.
//!
//! A client holds one connection. It starts on node 1; `A@3:` moves it to node 3 first; a
//! `-MOVED` or `-ASK` moves it to the node named there (after `ASKING`, for `-ASK`) and the
//! command is sent again, as `cluster::follow` decides. The lines redis-cli prints for each
//! redirection (`-> Redirected to slot [N] located at 127.0.0.1:7001`) are kept for the
//! runner, which shows them before the reply. Nodes listen, in name only, on the scenario's
//! canonical addresses (`format::cluster_addr`), so those lines read the same on every run.

use std::collections::BTreeMap;

use cachelab_engine::cluster::follow::{follow, Hop};
use cachelab_engine::cluster::{Cluster, ClusterConfig, ClusterEvent};
use cachelab_engine::{ClientId, Config, Engine, Event, Reply};

use crate::format::{
    cluster_addr, ClusterSpec, EngineAction, Scenario, Sender, CLUSTER_BASE_PORT, CLUSTER_HOST,
};
use crate::target::{wire_frames, CallError};
use crate::template::NodeAddr;

/// How many cluster events a target keeps for views (the oldest go first).
const MAX_EVENTS: usize = 10_000;

/// What redis-cli prints when it cannot reach a node.
pub fn node_unreachable_text(node: usize) -> String {
    format!(
        "Could not connect to Redis at {}: Connection refused",
        cluster_addr(node)
    )
}

/// The node (0-based) a command of a cluster scenario starts on: instance N is node N-1, and
/// instance 0 the node the client's connection is on (`on`; node 0 before it has one).
pub fn start_node(instance: usize, on: Option<usize>, nodes: usize) -> Result<usize, CallError> {
    match instance {
        0 => Ok(on.unwrap_or(0)),
        n if n <= nodes => Ok(n - 1),
        n => Err(CallError::Fatal(format!("no node {n}"))),
    }
}

/// A command a node ran for a client (rather than refusing it with a redirect or CROSSSLOT),
/// for views of the load per node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The scenario's clock when it ran.
    pub at: i64,
    /// The node that ran it, numbered from 0 as the cluster and its events number them.
    pub node: usize,
    pub argv: Vec<Vec<u8>>,
}

/// The engine's cluster, as a scenario plays on it.
#[derive(Clone)]
pub struct ClusterTarget {
    cluster: Cluster,
    spec: ClusterSpec,
    /// Each client's connection: the node (0-based) and the client's id there.
    clients: BTreeMap<String, (usize, ClientId)>,
    /// redis-cli's redirection lines for the last command.
    redirects: Vec<String>,
    /// Everything the cluster reported, for views (bounded).
    events: Vec<ClusterEvent>,
    /// When each of `events` was reported, on the scenario's clock (same length).
    event_times: Vec<i64>,
    /// The commands the nodes ran for clients, oldest first (bounded as `events` is).
    served: Vec<Served>,
    /// How many commands the nodes ran in all (`served` forgets the oldest; this does not).
    served_total: u64,
    /// The nodes' own events not yet taken by the runner, by node (1-based).
    node_events: Vec<(usize, Event)>,
}

impl ClusterTarget {
    /// Builds the scenario's cluster: slots split evenly among the masters as
    /// `redis-cli --cluster create` splits them, replicas attached, config lines applied to
    /// every node.
    pub fn new(
        scenario: &Scenario,
        spec: ClusterSpec,
        base: &Config,
        now: i64,
    ) -> Result<Self, String> {
        let cfg = ClusterConfig {
            seed: scenario.seed.unwrap_or(base.seed),
            masters: spec.masters,
            replicas_per_master: spec.replicas_per_master,
            host: CLUSTER_HOST.to_string(),
            base_port: CLUSTER_BASE_PORT,
            engine: base.clone(),
            ..ClusterConfig::default()
        };
        let mut cluster = Cluster::new(cfg, now);
        for node in 0..cluster.len() {
            let admin = cluster.connect(node, now);
            for line in &scenario.config {
                let mut argv: Vec<&[u8]> = vec![b"CONFIG", b"SET"];
                argv.extend(line.args.iter().map(|a| a.as_slice()));
                let reply = cluster.execute(node, admin, &argv, now);
                if let Some(err) = reply.error_text() {
                    return Err(format!(
                        "line {}: CONFIG SET on node {} answered: {err}",
                        line.line,
                        node + 1
                    ));
                }
            }
            cluster.disconnect(node, admin);
        }
        cluster.drain_events();
        Ok(ClusterTarget {
            cluster,
            spec,
            clients: BTreeMap::new(),
            redirects: Vec::new(),
            events: Vec::new(),
            event_times: Vec::new(),
            served: Vec::new(),
            served_total: 0,
            node_events: Vec::new(),
        })
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn spec(&self) -> ClusterSpec {
        self.spec
    }

    /// Node `node`'s engine (1-based).
    pub fn engine(&self, node: usize) -> Option<&Engine> {
        let i = node.checked_sub(1)?;
        (i < self.cluster.len()).then(|| self.cluster.engine(i))
    }

    /// The events the cluster reported so far (at most the last 10,000).
    pub fn events(&self) -> &[ClusterEvent] {
        &self.events
    }

    /// The events with the time each was reported at.
    pub fn timed_events(&self) -> impl Iterator<Item = (i64, &ClusterEvent)> {
        self.event_times.iter().copied().zip(&self.events)
    }

    /// The commands the nodes ran for clients (at most the last 10,000).
    pub fn served(&self) -> &[Served] {
        &self.served
    }

    /// How many commands the nodes ran since the cluster started, the forgotten ones included.
    pub fn served_total(&self) -> u64 {
        self.served_total
    }

    /// The node (1-based) a client's connection is on, once it has sent something.
    pub fn client_node(&self, client: &str) -> Option<usize> {
        self.clients.get(client).map(|(n, _)| n + 1)
    }

    pub fn nodes(&self) -> Vec<NodeAddr> {
        (0..self.cluster.len())
            .map(|i| {
                let info = self.cluster.node(i);
                NodeAddr {
                    id: info.id,
                    host: info.host,
                    port: info.port,
                }
            })
            .collect()
    }

    pub fn take_redirects(&mut self) -> Vec<String> {
        std::mem::take(&mut self.redirects)
    }

    /// Points a client's connection at `node` (0-based), reconnecting when it is elsewhere.
    fn attach(&mut self, client: &str, node: usize, now: i64) -> ClientId {
        match self.clients.get(client) {
            Some(&(n, id)) if n == node => id,
            other => {
                if let Some(&(n, id)) = other {
                    self.cluster.disconnect(n, id);
                }
                let id = self.cluster.connect(node, now);
                self.clients.insert(client.to_string(), (node, id));
                id
            }
        }
    }

    fn node_of(&self, hop: &Hop) -> Result<usize, CallError> {
        self.cluster
            .node_by_addr(&hop.host, hop.port)
            .ok_or_else(|| {
                CallError::Unreachable(format!(
                    "Could not connect to Redis at {}:{}: Connection refused",
                    hop.host, hop.port
                ))
            })
    }

    pub fn command(
        &mut self,
        sender: &Sender,
        argv: &[Vec<u8>],
        now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        self.redirects.clear();
        let on = self.clients.get(&sender.client).map(|(n, _)| *n);
        let start = start_node(sender.instance, on, self.cluster.len())?;
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let mut node = start;
        let mut id = ClientId::default();
        let client = &sender.client;
        let followed = follow(|hop| {
            if let Some(hop) = hop {
                node = self.node_of(hop)?;
            }
            if !self.cluster.node(node).up {
                // redis-cli gives up its connection when the node it goes to does not answer.
                if let Some((n, old)) = self.clients.remove(client) {
                    self.cluster.disconnect(n, old);
                }
                return Err(CallError::Unreachable(node_unreachable_text(node + 1)));
            }
            id = self.attach(client, node, now);
            if hop.is_some_and(|h| h.ask) {
                self.cluster.execute(node, id, &[b"ASKING"], now);
            }
            let reply = self.cluster.execute(node, id, &args, now);
            // A node that redirects or refuses a command reports it; one that reports nothing
            // of the kind ran it.
            if !self.collect_events(now) {
                self.served.push(Served {
                    at: now,
                    node,
                    argv: argv.to_vec(),
                });
                self.served_total += 1;
                if self.served.len() > MAX_EVENTS {
                    let extra = self.served.len() - MAX_EVENTS;
                    self.served.drain(..extra);
                }
            }
            Ok(reply)
        });
        self.collect_events(now);
        let followed = followed?;
        let reply = followed.reply;
        self.redirects = followed.hops.iter().map(Hop::cli_line).collect();
        let frames = wire_frames(&reply, self.cluster.engine(node), id);
        if self.cluster.engine(node).should_close(id) {
            self.cluster.disconnect(node, id);
            self.clients.remove(client);
        }
        Ok(frames)
    }

    pub fn take_pushed(&mut self) -> Vec<(Sender, Vec<Reply>)> {
        let mut out = Vec::new();
        let clients: Vec<(String, usize, ClientId)> = self
            .clients
            .iter()
            .map(|(name, &(n, id))| (name.clone(), n, id))
            .collect();
        for (name, node, id) in clients {
            let mut frames = Vec::new();
            for reply in self.cluster.take_output(node, id) {
                frames.extend(wire_frames(&reply, self.cluster.engine(node), id));
            }
            if !frames.is_empty() {
                out.push((
                    Sender {
                        client: name,
                        instance: 0,
                    },
                    frames,
                ));
            }
        }
        out
    }

    pub fn wait(&mut self, now: i64) {
        self.cluster.advance(now);
        self.collect_events(now);
    }

    /// A check's command, on a copy of the cluster: node `node` itself, or with 0, from the
    /// first node that answers, following redirections (without printing them).
    pub fn inspect(
        &self,
        node: usize,
        argv: &[Vec<u8>],
        now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        let mut copy = self.cluster.clone();
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        // A check that names no node asks the first one that answers, as a client would.
        let mut at = match node {
            0 => (0..copy.len()).find(|&i| copy.node(i).up).unwrap_or(0),
            n => n - 1,
        };
        if at >= copy.len() {
            return Err(CallError::Fatal(format!("no node {node}")));
        }
        let mut conns: BTreeMap<usize, ClientId> = BTreeMap::new();
        let mut id = ClientId::default();
        let mut send = |hop: Option<&Hop>, copy: &mut Cluster| -> Result<Reply, CallError> {
            if let Some(hop) = hop {
                at = copy.node_by_addr(&hop.host, hop.port).ok_or_else(|| {
                    CallError::Unreachable(format!("no node at {}:{}", hop.host, hop.port))
                })?;
            }
            if !copy.node(at).up {
                return Err(CallError::Unreachable(node_unreachable_text(at + 1)));
            }
            id = *conns.entry(at).or_insert_with(|| copy.connect(at, now));
            if hop.is_some_and(|h| h.ask) {
                copy.execute(at, id, &[b"ASKING"], now);
            }
            Ok(copy.execute(at, id, &args, now))
        };
        let reply = if node == 0 {
            follow(|hop| send(hop, &mut copy))?.reply
        } else {
            send(None, &mut copy)?
        };
        Ok(wire_frames(&reply, copy.engine(at), id))
    }

    pub fn engine_action(&mut self, action: &EngineAction, now: i64) -> Result<String, String> {
        let check = |n: usize| {
            if n >= 1 && n <= self.cluster.len() {
                Ok(n - 1)
            } else {
                Err(format!("no node {n}"))
            }
        };
        let note = match action {
            EngineAction::NodeDown { node } => {
                let i = check(*node)?;
                if !self.cluster.node(i).up {
                    return Err(format!("node {node} is already down"));
                }
                self.cluster.fail_node(i, now);
                // Its clients' connections break with it.
                let gone: Vec<String> = self
                    .clients
                    .iter()
                    .filter(|(_, (n, _))| *n == i)
                    .map(|(c, _)| c.clone())
                    .collect();
                for c in gone {
                    self.clients.remove(&c);
                }
                format!(
                    "node {node} ({}) stops answering; the others mark it failed after \
                     cluster-node-timeout ({} ms)",
                    cluster_addr(*node),
                    self.cluster.node_timeout_ms()
                )
            }
            EngineAction::NodeUp { node } => {
                let i = check(*node)?;
                if self.cluster.node(i).up {
                    return Err(format!("node {node} is already up"));
                }
                self.cluster.recover_node(i, now);
                let role = match self.cluster.node(i).master {
                    Some(m) => format!("as a replica of node {}", m + 1),
                    None => "as a master".to_string(),
                };
                format!("node {node} answers again, {role}")
            }
            EngineAction::ReplLag { ms } => {
                self.cluster
                    .set_repl_lag(i64::try_from(*ms).unwrap_or(i64::MAX));
                format!("writes now take {ms} ms to reach the replicas")
            }
            other => return Err(format!("'{other}' does not apply to a cluster")),
        };
        self.collect_events(now);
        Ok(note)
    }

    /// Takes the cluster's new events, reported at `now`; true when one of them is a node
    /// refusing a command for where its keys live (a redirect, CROSSSLOT, TRYAGAIN...).
    fn collect_events(&mut self, now: i64) -> bool {
        let mut refused = false;
        for e in self.cluster.drain_events() {
            match &e {
                ClusterEvent::Node { node, event } => {
                    self.node_events.push((node + 1, event.clone()))
                }
                ClusterEvent::Redirected { .. } => refused = true,
                _ => {}
            }
            self.events.push(e);
            self.event_times.push(now);
        }
        if self.events.len() > MAX_EVENTS {
            let extra = self.events.len() - MAX_EVENTS;
            self.events.drain(..extra);
            self.event_times.drain(..extra);
        }
        refused
    }

    /// The nodes' own events since the last call (keyspace changes, expiries), by node
    /// (1-based); every cluster event stays in `events` for views.
    pub fn take_events(&mut self) -> Vec<(usize, Event)> {
        std::mem::take(&mut self.node_events)
    }
}
