//! What a scenario plays against: the engine in this process (the playground, `scenario check`)
//! or, through the same trait, a real Redis over TCP (`scenario replay`, in `net`).

use std::collections::BTreeMap;

use cachelab_engine::{to_resp, ClientId, Config, Engine, Event, Reply, RestartKind};

use crate::cluster::ClusterTarget;
use crate::format::{Capability, EngineAction, Scenario, Sender};
use crate::resp::parse_all;
use crate::template::NodeAddr;

/// Why a command got no reply.
#[derive(Clone, Debug, PartialEq)]
pub enum CallError {
    /// The instance is down; the text is what redis-cli prints, and a scenario may expect it.
    Unreachable(String),
    /// Something broke (a lost connection, a malformed reply): the run cannot go on sensibly.
    Fatal(String),
}

/// Something that plays scenario commands. Instances are numbered from 1.
pub trait Target {
    /// How reports name it: `engine`, `redis 127.0.0.1:6379`.
    fn label(&self) -> String;

    /// True for the engine, which can do what `engine-only` steps ask.
    fn is_engine(&self) -> bool;

    fn has(&mut self, capability: Capability) -> bool;

    /// Starts the scenario on an empty server: its instances, seed and `config:` lines. The
    /// virtual clock starts at `start_ms`.
    fn setup(&mut self, scenario: &Scenario, start_ms: i64) -> Result<(), String>;

    /// Sends one command and returns its reply frames (several for SUBSCRIBE a b). `now` is the
    /// scenario's clock; a real server keeps its own.
    fn command(
        &mut self,
        sender: &Sender,
        argv: &[Vec<u8>],
        now: i64,
    ) -> Result<Vec<Reply>, CallError>;

    /// Sends one client's commands as a pipeline, one result per command, where the target
    /// can and the commands allow it; `None` has them sent one by one with `command`.
    fn command_pipeline(
        &mut self,
        _sender: &Sender,
        _argvs: &[Vec<Vec<u8>>],
        _now: i64,
    ) -> Option<Vec<Result<Vec<Reply>, CallError>>> {
        None
    }

    /// Frames that reached clients without them asking (pub/sub messages, served blocking
    /// commands) since the last call.
    fn take_pushed(&mut self) -> Result<Vec<(Sender, Vec<Reply>)>, String>;

    /// Lets `ms` pass; `now` is the clock afterwards.
    fn wait(&mut self, ms: u64, now: i64);

    /// Runs a read-only command without disturbing anything the scenario can see, for checks.
    fn inspect(
        &mut self,
        instance: usize,
        argv: &[Vec<u8>],
        now: i64,
    ) -> Result<Vec<Reply>, CallError>;

    /// Does an engine-only action; returns a note saying what happened.
    fn engine_action(&mut self, action: &EngineAction, now: i64) -> Result<String, String>;

    /// What happened inside the server since the last call, by instance (the engine's events;
    /// a real server reports none).
    fn take_events(&mut self) -> Vec<(usize, Event)>;

    /// Ends the scenario (a real server gets its configuration back).
    fn finish(&mut self) -> Result<(), String>;

    /// A cluster's nodes, node 1 first, for `{node-id:N}` and friends (empty outside a cluster).
    fn nodes(&mut self) -> Vec<NodeAddr> {
        Vec::new()
    }

    /// The lines `redis-cli -c` printed while the last command followed redirections
    /// (`-> Redirected to slot [N] located at HOST:PORT`), in a cluster.
    fn take_redirects(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Whether the engine this crate was built with has a capability. Command families are probed
/// in the command table; eviction by behaviour, since it adds no command: with a one-byte
/// `maxmemory` and `noeviction`, a write must be refused with OOM.
pub fn engine_has(capability: Capability) -> bool {
    use cachelab_engine::table::get;
    match capability {
        Capability::Scripting => get(b"eval").is_some(),
        Capability::Zset => get(b"zadd").is_some(),
        Capability::Streams => get(b"xadd").is_some(),
        Capability::Persistence => get(b"bgsave").is_some() || get(b"save").is_some(),
        Capability::Eviction => {
            // Asked before every step: probe once per process.
            static EVICTS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
            *EVICTS.get_or_init(|| {
                let mut e = Engine::new(Config::default());
                let c = e.connect(0);
                e.run(c, &["CONFIG", "SET", "maxmemory", "1"], 0);
                e.run(c, &["CONFIG", "SET", "maxmemory-policy", "noeviction"], 0);
                let reply = e.run(c, &["SET", "probe", "v"], 0);
                reply.error_text().is_some_and(|t| t.starts_with("OOM"))
            })
        }
    }
}

/// The text redis-cli prints when it cannot reach a server; what a down instance answers.
pub fn unreachable_text(instance: usize) -> String {
    format!("Could not connect to Redis at instance {instance}: Connection refused")
}

/// Encodes a reply for the client's protocol and reads it back, so that the engine's replies
/// look exactly as a real server's do on the wire.
pub fn wire_frames(reply: &Reply, engine: &Engine, client: ClientId) -> Vec<Reply> {
    let bytes = to_resp(reply, engine.protocol(client));
    parse_all(&bytes).unwrap_or_else(|e| vec![Reply::error_owned(format!("(bad frame: {e})"))])
}

/// One engine of a scenario, with what the runner knows about it.
#[derive(Clone)]
pub struct Instance {
    pub engine: Engine,
    pub up: bool,
    /// How far this instance's clock is ahead of the scenario's.
    pub clock_offset: i64,
    clients: BTreeMap<String, ClientId>,
    /// What the instance came back with after its crash, told when it is brought up.
    down_note: Option<String>,
}

impl Instance {
    /// The engine's id for a scenario client, if it has connected.
    pub fn client_id(&self, name: &str) -> Option<ClientId> {
        self.clients.get(name).copied()
    }
}

/// The engine, as many instances of it as the scenario asks for, on the scenario's clock.
#[derive(Clone)]
pub struct EngineTarget {
    base: Config,
    config_lines: Vec<Vec<Vec<u8>>>,
    instances: Vec<Instance>,
    /// Set for a cluster scenario, which then has no instances.
    cluster: Option<ClusterTarget>,
}

impl EngineTarget {
    /// `base` is the configuration every instance starts from (the scenario's seed and config
    /// lines go on top).
    pub fn new(base: Config) -> EngineTarget {
        EngineTarget {
            base,
            config_lines: Vec::new(),
            instances: Vec::new(),
            cluster: None,
        }
    }

    /// The cluster of a cluster scenario.
    pub fn cluster(&self) -> Option<&ClusterTarget> {
        self.cluster.as_ref()
    }

    /// The engine of an instance, or of a cluster's node (1-based).
    pub fn engine(&self, instance: usize) -> Option<&Engine> {
        match &self.cluster {
            Some(c) => c.engine(instance),
            None => self.instance(instance).map(|i| &i.engine),
        }
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, instance: usize) -> Option<&Instance> {
        instance.checked_sub(1).and_then(|i| self.instances.get(i))
    }

    fn fresh(&self, index: usize, seed: u64, now: i64) -> Result<Engine, String> {
        let mut config = self.base.clone();
        // Different seeds keep the instances' hash tables from being copies of each other.
        config.seed = seed.wrapping_add(index as u64);
        let mut engine = Engine::new_at(config, now);
        let admin = engine.connect(now);
        for args in &self.config_lines {
            let mut argv: Vec<&[u8]> = vec![b"CONFIG", b"SET"];
            argv.extend(args.iter().map(|a| a.as_slice()));
            let reply = engine.execute(admin, &argv, now);
            if let Some(err) = reply.error_text() {
                let shown: Vec<String> = args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                return Err(format!("CONFIG SET {} answered: {err}", shown.join(" ")));
            }
        }
        engine.disconnect(admin);
        engine.drain_events();
        Ok(engine)
    }

    /// The instance loses power at `now`: the engine comes back from what its persistence had
    /// made durable by then (`Engine::restart`, whose `Restarted` event lists the lost writes),
    /// and every connection to it is closed. Says what it came back with.
    fn crash(&mut self, instance: usize, now: i64) -> String {
        let inst = &mut self.instances[instance - 1];
        let t = now + inst.clock_offset;
        let report = inst.engine.restart(RestartKind::Crash, t);
        let ids: Vec<ClientId> = inst.clients.values().copied().collect();
        for id in ids {
            inst.engine.disconnect(id);
        }
        inst.clients.clear();
        let lost = match report.lost_count {
            0 => String::new(),
            1 => "; 1 write lost".to_string(),
            n => format!("; {n} writes lost"),
        };
        match report.loaded_from {
            "aof" => format!(
                "came back from its append-only file ({} keys){lost}",
                report.keys_loaded
            ),
            "rdb" => format!(
                "came back with its last snapshot ({} keys){lost}",
                report.keys_loaded
            ),
            _ => format!("came back empty: nothing was ever saved{lost}"),
        }
    }

    fn get(&mut self, instance: usize) -> Result<&mut Instance, CallError> {
        let inst = instance
            .checked_sub(1)
            .and_then(|i| self.instances.get_mut(i))
            .ok_or_else(|| CallError::Fatal(format!("no instance {instance}")))?;
        if inst.up {
            Ok(inst)
        } else {
            Err(CallError::Unreachable(unreachable_text(instance)))
        }
    }
}

impl Target for EngineTarget {
    fn label(&self) -> String {
        "engine".into()
    }

    fn is_engine(&self) -> bool {
        true
    }

    fn has(&mut self, capability: Capability) -> bool {
        engine_has(capability)
    }

    fn setup(&mut self, scenario: &Scenario, start_ms: i64) -> Result<(), String> {
        self.config_lines = scenario.config.iter().map(|c| c.args.clone()).collect();
        let seed = scenario.seed.unwrap_or(self.base.seed);
        self.instances.clear();
        self.cluster = None;
        if let Some(spec) = scenario.cluster {
            self.cluster = Some(ClusterTarget::new(scenario, spec, &self.base, start_ms)?);
            return Ok(());
        }
        for i in 0..scenario.instances {
            let engine = self.fresh(i, seed, start_ms)?;
            self.instances.push(Instance {
                engine,
                up: true,
                clock_offset: 0,
                clients: BTreeMap::new(),
                down_note: None,
            });
        }
        Ok(())
    }

    fn command(
        &mut self,
        sender: &Sender,
        argv: &[Vec<u8>],
        now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        if let Some(c) = &mut self.cluster {
            return c.command(sender, argv, now);
        }
        let inst = self.get(sender.instance)?;
        let t = now + inst.clock_offset;
        let id = match inst.clients.get(&sender.client) {
            Some(&id) => id,
            None => {
                let id = inst.engine.connect(t);
                inst.clients.insert(sender.client.clone(), id);
                id
            }
        };
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let reply = inst.engine.execute(id, &args, t);
        let frames = wire_frames(&reply, &inst.engine, id);
        if inst.engine.should_close(id) {
            inst.engine.disconnect(id);
            inst.clients.remove(&sender.client);
        }
        Ok(frames)
    }

    fn take_pushed(&mut self) -> Result<Vec<(Sender, Vec<Reply>)>, String> {
        if let Some(c) = &mut self.cluster {
            return Ok(c.take_pushed());
        }
        let mut out = Vec::new();
        for (i, inst) in self.instances.iter_mut().enumerate() {
            if !inst.up {
                continue;
            }
            for (name, &id) in &inst.clients {
                let mut frames = Vec::new();
                for reply in inst.engine.take_output(id) {
                    frames.extend(wire_frames(&reply, &inst.engine, id));
                }
                if !frames.is_empty() {
                    out.push((
                        Sender {
                            client: name.clone(),
                            instance: i + 1,
                        },
                        frames,
                    ));
                }
            }
        }
        Ok(out)
    }

    fn wait(&mut self, _ms: u64, now: i64) {
        if let Some(c) = &mut self.cluster {
            c.wait(now);
        }
        for inst in &mut self.instances {
            if inst.up {
                inst.engine.advance(now + inst.clock_offset);
            }
        }
    }

    fn inspect(
        &mut self,
        instance: usize,
        argv: &[Vec<u8>],
        now: i64,
    ) -> Result<Vec<Reply>, CallError> {
        if let Some(c) = &self.cluster {
            return c.inspect(instance, argv, now);
        }
        let inst = self.get(instance)?;
        // A copy answers, so that a check touches no access time, statistic or lazy expiry
        // of the engine the learner is watching.
        let mut copy = inst.engine.clone();
        let t = now + inst.clock_offset;
        let id = copy.connect(t);
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let reply = copy.execute(id, &args, t);
        Ok(wire_frames(&reply, &copy, id))
    }

    fn engine_action(&mut self, action: &EngineAction, now: i64) -> Result<String, String> {
        if let Some(c) = &mut self.cluster {
            return c.engine_action(action, now);
        }
        let check = |n: usize, len: usize| {
            if n >= 1 && n <= len {
                Ok(())
            } else {
                Err(format!("no instance {n}"))
            }
        };
        let len = self.instances.len();
        match action {
            EngineAction::CrashRestart { instance } => {
                check(*instance, len)?;
                if !self.instances[instance - 1].up {
                    return Err(format!("instance {instance} is down"));
                }
                let note = self.crash(*instance, now);
                Ok(format!("instance {instance} crashed; it {note}"))
            }
            EngineAction::InstanceDown { instance } => {
                check(*instance, len)?;
                if !self.instances[instance - 1].up {
                    return Err(format!("instance {instance} is already down"));
                }
                // It loses what was not durable when it goes down, not when it comes back.
                let note = self.crash(*instance, now);
                let inst = &mut self.instances[instance - 1];
                inst.up = false;
                inst.down_note = Some(note);
                Ok(format!(
                    "instance {instance} is down: it refuses connections"
                ))
            }
            EngineAction::InstanceUp { instance } => {
                check(*instance, len)?;
                let inst = &mut self.instances[instance - 1];
                if inst.up {
                    return Err(format!("instance {instance} is already up"));
                }
                inst.up = true;
                let t = now + inst.clock_offset;
                inst.engine.advance(t);
                let note = inst.down_note.take().unwrap_or_default();
                Ok(format!("instance {instance} {note}"))
            }
            EngineAction::InstanceClock { instance, ms } => {
                check(*instance, len)?;
                let inst = &mut self.instances[instance - 1];
                inst.clock_offset += ms;
                if inst.up {
                    inst.engine.advance(now + inst.clock_offset);
                }
                Ok(format!(
                    "instance {instance}'s clock jumps {ms} ms ahead: its keys expire that much \
                     sooner"
                ))
            }
            EngineAction::ActiveExpiry { on } => {
                for inst in &mut self.instances {
                    inst.engine.config_mut().active_expire_enabled = *on;
                }
                Ok(format!(
                    "active expiry is {}",
                    if *on {
                        "on again"
                    } else {
                        "off: only lazy expiry removes keys"
                    }
                ))
            }
            // The runner keeps client clocks; nothing to do to the engine.
            EngineAction::ClientClock { .. } => Ok(String::new()),
            EngineAction::NodeDown { .. }
            | EngineAction::NodeUp { .. }
            | EngineAction::ReplLag { .. } => Err(format!("'{action}' needs a cluster")),
        }
    }

    fn take_events(&mut self) -> Vec<(usize, Event)> {
        if let Some(c) = &mut self.cluster {
            return c.take_events();
        }
        let mut out = Vec::new();
        for (i, inst) in self.instances.iter_mut().enumerate() {
            out.extend(inst.engine.drain_events().into_iter().map(|e| (i + 1, e)));
        }
        out
    }

    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn nodes(&mut self) -> Vec<NodeAddr> {
        self.cluster.as_ref().map(|c| c.nodes()).unwrap_or_default()
    }

    fn take_redirects(&mut self) -> Vec<String> {
        self.cluster
            .as_mut()
            .map(|c| c.take_redirects())
            .unwrap_or_default()
    }
}
