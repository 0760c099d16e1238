//! A real Redis Cluster on loopback for tests: cluster-enabled redis-servers, the slots split
//! among the masters as `redis-cli --cluster create` splits them (ADDSLOTSRANGE, one config
//! epoch per master), joined with CLUSTER MEET, replicas attached with CLUSTER REPLICATE.
//! `start` returns once every node reports `cluster_state:ok`, knows every other node, and
//! every replica's link to its master is up. Dropping it shuts every node down and removes its
//! directory.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::resp::{parse_exact, Conn, Frame};
use crate::target::{RedisServer, StartError};

/// How long the nodes get to agree (gossip takes real time, and a master waits before it calls
/// the cluster ok).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct RedisCluster {
    /// Masters first, then replicas: replica `masters + k` replicates master `k % masters`.
    nodes: Vec<RedisServer>,
    ports: Vec<u16>,
    dir: PathBuf,
}

fn text(reply: &[u8]) -> String {
    match parse_exact(reply) {
        Ok(Frame::Simple(b) | Frame::Bulk(Some(b)) | Frame::Error(b)) => {
            String::from_utf8_lossy(&b).into_owned()
        }
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("(unreadable reply: {e})"),
    }
}

fn call(port: u16, args: &[&str]) -> Result<String, StartError> {
    let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let addr = format!("127.0.0.1:{port}");
    let reply = Conn::connect(&addr)
        .and_then(|mut c| c.call(&argv))
        .map_err(|e| StartError::Failed(format!("{addr}: {}: {e}", args.join(" "))))?;
    Ok(text(&reply))
}

fn expect_ok(port: u16, args: &[&str]) -> Result<(), StartError> {
    match call(port, args)?.as_str() {
        "OK" => Ok(()),
        other => Err(StartError::Failed(format!(
            "127.0.0.1:{port}: {} answered {other}",
            args.join(" ")
        ))),
    }
}

impl RedisCluster {
    /// Starts `masters` masters with `replicas` replicas each on `ports` (one per node; each
    /// node's cluster bus listens on its port + 10000). `extra` options go to every node.
    pub fn start(
        masters: usize,
        replicas: usize,
        ports: &[u16],
        extra: &[&str],
    ) -> Result<RedisCluster, StartError> {
        let bus: Vec<u16> = ports.iter().map(|p| p.wrapping_add(10_000)).collect();
        RedisCluster::start_with_bus(masters, replicas, ports, &bus, extra)
    }

    /// As `start`, with each node's cluster bus on the matching port of `bus`.
    pub fn start_with_bus(
        masters: usize,
        replicas: usize,
        ports: &[u16],
        bus: &[u16],
        extra: &[&str],
    ) -> Result<RedisCluster, StartError> {
        let total = masters * (1 + replicas);
        if masters == 0 || ports.len() != total || bus.len() != total {
            return Err(StartError::Failed(format!(
                "{masters} masters with {replicas} replicas each need {total} ports, not {}",
                ports.len()
            )));
        }
        let dir = std::env::temp_dir().join(format!(
            "cachelab-redis-cluster-{}-{}",
            std::process::id(),
            ports[0]
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| StartError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            ports: ports.to_vec(),
            dir,
        };
        for (&port, &bus_port) in ports.iter().zip(bus) {
            let mut args: Vec<String> = [
                "--cluster-enabled",
                "yes",
                // Replicas get their first copy at once instead of after five seconds.
                "--repl-diskless-sync-delay",
                "0",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.push("--cluster-config-file".into());
            args.push(
                cluster
                    .dir
                    .join(format!("nodes-{port}.conf"))
                    .to_string_lossy()
                    .into_owned(),
            );
            args.push("--cluster-port".into());
            args.push(bus_port.to_string());
            args.push("--dir".into());
            args.push(cluster.dir.to_string_lossy().into_owned());
            args.extend(extra.iter().map(|s| s.to_string()));
            cluster.nodes.push(RedisServer::start_with(port, &args)?);
        }
        let split = cachelab_engine::cluster::even_split(masters);
        for (m, (first, last)) in split.iter().enumerate() {
            let port = ports[m];
            expect_ok(port, &["CLUSTER", "SET-CONFIG-EPOCH", &(m + 1).to_string()])?;
            expect_ok(
                port,
                &[
                    "CLUSTER",
                    "ADDSLOTSRANGE",
                    &first.to_string(),
                    &last.to_string(),
                ],
            )?;
        }
        for (port, bus_port) in ports.iter().zip(bus).skip(1) {
            expect_ok(
                ports[0],
                &[
                    "CLUSTER",
                    "MEET",
                    "127.0.0.1",
                    &port.to_string(),
                    &bus_port.to_string(),
                ],
            )?;
        }
        let ids: Vec<String> = ports
            .iter()
            .map(|&p| call(p, &["CLUSTER", "MYID"]))
            .collect::<Result<_, _>>()?;
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        for r in masters..total {
            let master = &ids[(r - masters) % masters];
            // A node can replicate only a master it has heard of.
            loop {
                match call(ports[r], &["CLUSTER", "REPLICATE", master])?.as_str() {
                    "OK" => break,
                    other if Instant::now() >= deadline => {
                        return Err(StartError::Failed(format!(
                            "127.0.0.1:{}: CLUSTER REPLICATE answered {other}",
                            ports[r]
                        )))
                    }
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        loop {
            if cluster.settled(masters)? {
                return Ok(cluster);
            }
            if Instant::now() >= deadline {
                return Err(StartError::Failed(
                    "the Redis Cluster did not settle (cluster_state:ok, every node known and \
                     connected, replicas in sync)"
                        .into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn settled(&self, masters: usize) -> Result<bool, StartError> {
        let total = self.ports.len();
        for (i, &port) in self.ports.iter().enumerate() {
            let info = call(port, &["CLUSTER", "INFO"])?;
            let nodes = call(port, &["CLUSTER", "NODES"])?;
            let agreed = info.contains("cluster_state:ok")
                && info.contains(&format!("cluster_known_nodes:{total}\r"))
                && nodes.lines().count() == total
                && nodes.lines().all(|l| {
                    l.contains(" connected") && !l.contains("handshake") && !l.contains("fail")
                })
                && nodes.lines().filter(|l| l.contains("slave")).count() == total - masters;
            if !agreed {
                return Ok(false);
            }
            if i >= masters
                && !call(port, &["INFO", "replication"])?.contains("master_link_status:up")
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Each node's `127.0.0.1:PORT`, masters first.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr().to_string()).collect()
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        // Each server shuts down as it is dropped; then the directory can go.
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
