//! `cachelab serve --cluster N`: a Redis Cluster of N masters (and their replicas) in one
//! process, one poll loop serving every node's listener.
//!
//! Each node listens on its own port (P, P+1, ...); a connection belongs to the node whose
//! listener accepted it, and its requests run on that node through `Cluster::execute`, which
//! answers -MOVED, -ASK and the other redirections exactly where a Redis node would. CLUSTER
//! SLOTS, SHARDS and NODES report the addresses actually bound, so `redis-cli -c` and cluster
//! client libraries find every node. The loop is the single-node server's (see `conn.rs`):
//! read, run complete requests, let time pass, deliver what reached clients in between, write;
//! this file only routes each connection's client to its node.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use cachelab_engine::cluster::{Cluster, ClusterConfig};
use cachelab_engine::{encode_resp, ClientId, Config, Reply};
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Poll, Token};

use crate::conn::{AfterRequest, Backend, EventLoop};
use crate::server::{now_ms, resolve, Options};

/// The shape of the cluster to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterOptions {
    pub masters: usize,
    pub replicas_per_master: usize,
}

pub struct ClusterServer {
    event_loop: EventLoop<Cluster>,
}

impl ClusterServer {
    /// Binds one listener per node on consecutive ports from `opts.port` (or ports the system
    /// picks when it is 0) and builds the cluster with those addresses.
    pub fn bind(opts: &Options, shape: &ClusterOptions) -> io::Result<ClusterServer> {
        let nodes = shape.masters * (1 + shape.replicas_per_master);
        let poll = Poll::new()?;
        let mut listeners = Vec::with_capacity(nodes);
        let mut addrs = Vec::with_capacity(nodes);
        for i in 0..nodes {
            let port = if opts.port == 0 {
                0
            } else {
                u16::try_from(u32::from(opts.port) + i as u32).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("port {} + {i} is beyond 65535", opts.port),
                    )
                })?
            };
            let addr = resolve(&opts.bind, port)?;
            let mut listener = TcpListener::bind(addr)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            poll.registry()
                .register(&mut listener, Token(i), Interest::READABLE)?;
            addrs.push(listener.local_addr()?);
            listeners.push(listener);
        }
        let host = match addrs.first().map(|a| a.ip()) {
            Some(ip) if !ip.is_unspecified() => ip.to_string(),
            _ => "127.0.0.1".to_string(),
        };
        let config = ClusterConfig {
            seed: opts.seed,
            masters: shape.masters,
            replicas_per_master: shape.replicas_per_master,
            host,
            ports: addrs.iter().map(SocketAddr::port).collect(),
            record_events: false,
            engine: Config {
                seed: opts.seed,
                hz: opts.hz,
                ..Config::default()
            },
            ..ClusterConfig::default()
        };
        let cluster = Cluster::new(config, now_ms());
        Ok(ClusterServer {
            event_loop: EventLoop::new(poll, listeners, cluster)?,
        })
    }

    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.event_loop.local_addrs()
    }

    pub fn run(&mut self) -> io::Result<()> {
        self.event_loop.run()
    }
}

/// A connection's client is the client `ClientId` on node `usize`, the node whose listener
/// accepted the connection (listener `i` is node `i`).
impl Backend for Cluster {
    type Client = (usize, ClientId);

    fn connect(
        &mut self,
        node: usize,
        listener_addr: SocketAddr,
        stream: &TcpStream,
        peer: SocketAddr,
        now: i64,
    ) -> (usize, ClientId) {
        let id = Cluster::connect(self, node, now);
        self.set_client_addr(
            node,
            id,
            stream.as_raw_fd() as i64,
            peer.to_string(),
            listener_addr.to_string(),
        );
        (node, id)
    }

    fn disconnect(&mut self, (node, id): (usize, ClientId)) {
        Cluster::disconnect(self, node, id);
    }

    fn config(&self, (node, _): (usize, ClientId)) -> &Config {
        self.engine(node).config()
    }

    fn hz(&self) -> i64 {
        self.engine(0).config().hz
    }

    fn execute(&mut self, (node, id): (usize, ClientId), argv: &[&[u8]], now: i64) -> Reply {
        Cluster::execute(self, node, id, argv, now)
    }

    fn answer(
        &mut self,
        (node, id): (usize, ClientId),
        reply: &Reply,
        out: &mut Vec<u8>,
    ) -> Option<AfterRequest> {
        let client = self.engine(node).client(id)?;
        let proto = client.protocol;
        let pending = !client.outbox.is_empty();
        let after = AfterRequest {
            close: client.close_after_reply,
            blocked: client.blocked.is_some(),
        };
        if pending {
            for pushed in self.take_output(node, id) {
                encode_resp(&pushed, proto, out);
            }
        }
        encode_resp(reply, proto, out);
        Some(after)
    }

    fn advance(&mut self, now: i64) {
        Cluster::advance(self, now);
    }

    fn clients_with_output(&self) -> Vec<(usize, ClientId)> {
        Cluster::clients_with_output(self)
    }

    fn deliver(&mut self, (node, id): (usize, ClientId), out: &mut Vec<u8>) -> bool {
        let proto = self.engine(node).protocol(id);
        for reply in self.take_output(node, id) {
            encode_resp(&reply, proto, out);
        }
        self.engine(node).should_close(id)
    }

    fn discard_output(&mut self, (node, id): (usize, ClientId)) {
        self.take_output(node, id);
    }

    fn is_blocked(&self, (node, id): (usize, ClientId)) -> bool {
        self.engine(node).is_blocked(id)
    }

    fn block_deadline(&self, (node, id): (usize, ClientId)) -> Option<i64> {
        self.engine(node)
            .client(id)
            .and_then(|c| c.blocked.as_ref()?.deadline)
    }

    /// Whether some node has fewer clients than connections served on it.
    fn lost_clients(&self, served: &HashMap<(usize, ClientId), usize>) -> bool {
        let mut per_node = vec![0usize; self.len()];
        for (node, _) in served.keys() {
            per_node[*node] += 1;
        }
        (0..self.len()).any(|n| self.engine(n).clients().size_hint().0 < per_node[n])
    }

    fn exists(&self, (node, id): (usize, ClientId)) -> bool {
        self.engine(node).client(id).is_some()
    }
}
