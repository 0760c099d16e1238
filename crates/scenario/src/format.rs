//! What a parsed scenario is made of. `static/scenarios/README.md` describes the text form.

use crate::template::Arg;

/// The newest format version this parser reads (the number after `cachelab-scenario`).
pub const FORMAT_VERSION: u32 = 2;

/// The views the UI can show beside a scenario, one per pattern.
pub const VIEWS: &[&str] = &[
    "keyspace",
    "expiry",
    "eviction",
    "fixed-window",
    "sliding-window",
    "token-bucket",
    "lock",
    "redlock",
    "leaderboard",
    "cache-aside",
    "session",
    "pubsub-streams",
    "persistence",
    "lua",
    "cluster",
];

/// Most masters a `cluster:` header may ask for, and most replicas per master.
pub const MAX_MASTERS: usize = 5;
pub const MAX_REPLICAS: usize = 2;

/// The address node N (1-based) of a scenario's cluster has on the engine, and the one a real
/// cluster's node N is shown as (in redirection lines): `127.0.0.1:7000` for node 1, as in the
/// Redis Cluster tutorial.
pub const CLUSTER_HOST: &str = "127.0.0.1";
pub const CLUSTER_BASE_PORT: u16 = 7000;

/// The address node `node` (1-based) is shown at.
pub fn cluster_addr(node: usize) -> String {
    format!("{CLUSTER_HOST}:{}", CLUSTER_BASE_PORT as usize + node - 1)
}

/// `cluster: 3 replicas 1`: the scenario's server is a Redis Cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    pub masters: usize,
    pub replicas_per_master: usize,
}

impl ClusterSpec {
    /// Every node: masters first (1..=masters), then replicas; replica `masters + k` (k from
    /// 1) replicates master `(k - 1) % masters + 1`.
    pub fn nodes(&self) -> usize {
        self.masters * (1 + self.replicas_per_master)
    }

    /// The master that node `node` (1-based) replicates when the cluster starts; None for a
    /// master.
    pub fn master_of(&self, node: usize) -> Option<usize> {
        (node > self.masters).then(|| (node - self.masters - 1) % self.masters + 1)
    }
}

/// Most instances a scenario may ask for; on a real Redis each one is a database, and the
/// engine's default has 16.
pub const MAX_INSTANCES: usize = 9;

/// Most repetitions one `repeat` may ask for.
pub const MAX_REPEAT: u32 = 100_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// How reports name the file it came from.
    pub file: String,
    pub version: u32,
    pub id: String,
    pub title: String,
    pub summary: String,
    pub view: String,
    /// Client names in declaration order (`A`, `B`...).
    pub clients: Vec<String>,
    /// Independent servers (Redlock); 1 unless the header says otherwise. In a cluster
    /// scenario, the number of nodes.
    pub instances: usize,
    /// Set when the server is a Redis Cluster (`cluster: 3`).
    pub cluster: Option<ClusterSpec>,
    /// Seed for the engine's generator; the engine's default when absent.
    pub seed: Option<u64>,
    /// `CONFIG SET` arguments (without `CONFIG SET`), applied to every instance before step 1.
    pub config: Vec<ConfigLine>,
    /// What the whole scenario needs from the server.
    pub requires: Vec<Capability>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfigLine {
    pub line: usize,
    /// Parameter and value pairs, as `CONFIG SET` takes them.
    pub args: Vec<Vec<u8>>,
}

/// Something a server may lack: the engine grows command families one at a time, and a
/// scenario or step that needs a missing one is skipped with a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// EVAL, EVALSHA, SCRIPT.
    Scripting,
    /// Sorted sets.
    Zset,
    /// Streams.
    Streams,
    /// maxmemory enforced, with eviction policies.
    Eviction,
    /// SAVE/BGSAVE and restarting from a snapshot.
    Persistence,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::Scripting,
        Capability::Zset,
        Capability::Streams,
        Capability::Eviction,
        Capability::Persistence,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capability::Scripting => "scripting",
            Capability::Zset => "zset",
            Capability::Streams => "streams",
            Capability::Eviction => "eviction",
            Capability::Persistence => "persistence",
        }
    }

    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Commands that only exist on a server that has this capability; the validator accepts
    /// a command the engine does not know yet when a requirement in scope names it.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Capability::Scripting => &[
                "eval",
                "evalsha",
                "eval_ro",
                "evalsha_ro",
                "script",
                "fcall",
                "fcall_ro",
                "function",
            ],
            Capability::Zset => &[
                "zadd",
                "zincrby",
                "zrem",
                "zcard",
                "zcount",
                "zscore",
                "zmscore",
                "zrank",
                "zrevrank",
                "zrange",
                "zrevrange",
                "zrangebyscore",
                "zrevrangebyscore",
                "zrangebylex",
                "zrevrangebylex",
                "zrangestore",
                "zremrangebyscore",
                "zremrangebyrank",
                "zremrangebylex",
                "zpopmin",
                "zpopmax",
                "bzpopmin",
                "bzpopmax",
                "zmpop",
                "bzmpop",
                "zunionstore",
                "zinterstore",
                "zdiffstore",
                "zunion",
                "zinter",
                "zdiff",
                "zintercard",
                "zrandmember",
                "zlexcount",
                "zscan",
            ],
            Capability::Streams => &[
                "xadd",
                "xlen",
                "xrange",
                "xrevrange",
                "xread",
                "xreadgroup",
                "xgroup",
                "xack",
                "xpending",
                "xclaim",
                "xautoclaim",
                "xtrim",
                "xdel",
                "xinfo",
                "xsetid",
            ],
            Capability::Eviction => &["memory"],
            Capability::Persistence => &["save", "bgsave", "bgrewriteaof"],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Narration and actions, played in order.
    Lesson,
    /// A "try it yourself" point: the learner acts, the checks say whether it worked; the
    /// solution is what automated play (and a learner who gives up) runs.
    Try,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The line of its `step:` or `try:` directive.
    pub line: usize,
    pub kind: StepKind,
    pub title: String,
    /// The narration before the first action: markdown-ish text, paragraphs separated by an
    /// empty line.
    pub narration: String,
    /// What this step needs beyond the scenario's own requirements.
    pub requires: Vec<Capability>,
    pub actions: Vec<Action>,
    /// A try step's goals.
    pub checks: Vec<Check>,
    /// A try step's model answer.
    pub solution: Vec<Command>,
}

impl Step {
    /// The engine-only actions of this step: a step holding one is skipped as a whole when the
    /// target is not the engine.
    pub fn engine_only(&self) -> Vec<&EngineAction> {
        self.actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::EngineOnly(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    /// Total virtual time this step's `wait`s let pass, in milliseconds.
    pub fn waited_ms(&self) -> u64 {
        self.actions
            .iter()
            .map(|a| match a.kind {
                ActionKind::Wait(ms) => ms,
                _ => 0,
            })
            .sum()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub line: usize,
    pub kind: ActionKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// A client sends a command.
    Command(Command),
    /// A client sends the same command template `count` times, `{i}` running from 0.
    Repeat { count: u32, command: Command },
    /// Virtual time passes (real time, on a real Redis).
    Wait(u64),
    /// A client's latest reply (or the messages pushed to it since) must print as this.
    Expect(Expect),
    /// The state must satisfy this (an assertion while the lesson plays).
    Check(Check),
    /// Something only the engine can do to itself.
    EngineOnly(EngineAction),
    /// Narration between actions.
    Say(String),
}

/// Who sends a command: a named client, on one instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sender {
    pub client: String,
    /// 1-based. In a cluster scenario, 0 means wherever the client's connection is now (it
    /// starts on node 1 and follows redirections), and N moves it to node N first.
    pub instance: usize,
}

impl std::fmt::Display for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.instance <= 1 {
            f.write_str(&self.client)
        } else {
            write!(f, "{}@{}", self.client, self.instance)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub line: usize,
    pub sender: Sender,
    /// The command as written, for display.
    pub text: String,
    pub args: Vec<Arg>,
}

impl Command {
    /// The command's name, lower-case, as written (placeholders are never in a name).
    pub fn name(&self) -> String {
        self.args
            .first()
            .map(|a| String::from_utf8_lossy(&a.literal_text()).to_ascii_lowercase())
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub sender: Sender,
    /// redis-cli's rendering, lines joined by `\n`, without the final newline.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub line: usize,
    /// 1-based instance the check looks at.
    pub instance: usize,
    /// As written after `check:`, for display.
    pub text: String,
    pub kind: CheckKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// A command whose reply must print as `expected`. It runs without changing anything.
    Reply {
        argv: Vec<Vec<u8>>,
        expected: String,
    },
    Predicate(Predicate),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl Cmp {
    pub const ALL: [(&'static str, Cmp); 7] = [
        ("<=", Cmp::Le),
        (">=", Cmp::Ge),
        ("!=", Cmp::Ne),
        ("==", Cmp::Eq),
        ("<", Cmp::Lt),
        (">", Cmp::Gt),
        ("=", Cmp::Eq),
    ];

    pub fn parse(s: &str) -> Option<Cmp> {
        Cmp::ALL.iter().find(|(t, _)| *t == s).map(|(_, c)| *c)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Eq => "=",
            Cmp::Ne => "!=",
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
        }
    }

    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }
}

/// A fact about the keyspace, checked with read-only commands.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    Exists(Vec<u8>),
    Missing(Vec<u8>),
    /// TTL (seconds) or PTTL (milliseconds) compared with a number; -1 no expiry, -2 no key.
    Ttl {
        key: Vec<u8>,
        millis: bool,
        cmp: Cmp,
        n: i64,
    },
    /// The string value (GET) is, or is not, this.
    Value {
        key: Vec<u8>,
        equal: bool,
        value: Vec<u8>,
    },
    /// TYPE answers this.
    Type {
        key: Vec<u8>,
        type_name: String,
    },
    /// A hash field's value (HGET) is, or is not, this.
    Field {
        key: Vec<u8>,
        field: Vec<u8>,
        equal: bool,
        value: Vec<u8>,
    },
    /// A sorted-set member's score compared with a number.
    Score {
        key: Vec<u8>,
        member: Vec<u8>,
        cmp: Cmp,
        n: f64,
    },
    /// The length of whatever the key holds (string length, elements, fields, members).
    Len {
        key: Vec<u8>,
        cmp: Cmp,
        n: i64,
    },
    /// DBSIZE compared with a number.
    Dbsize {
        cmp: Cmp,
        n: i64,
    },
}

/// Things only the engine can do to itself; on a real Redis the step holding one is skipped.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineAction {
    /// The instance dies and comes back at once with what its persistence kept.
    CrashRestart { instance: usize },
    /// The instance stops answering (connections are refused).
    InstanceDown { instance: usize },
    /// The instance starts again with what its persistence kept.
    InstanceUp { instance: usize },
    /// A client's clock (its `{now}`) runs ahead (or behind) by this much from here on.
    ClientClock { client: String, ms: i64 },
    /// An instance's clock jumps forward: its keys expire that much sooner.
    InstanceClock { instance: usize, ms: i64 },
    /// Turns the active expire cycle off or on, on every instance; lazy expiry stays.
    ActiveExpiry { on: bool },
    /// A cluster node stops answering (its process died or its network went away).
    NodeDown { node: usize },
    /// A cluster node answers again, with the data it had.
    NodeUp { node: usize },
    /// Writes take this long to reach a cluster's replicas.
    ReplLag { ms: u64 },
}

impl std::fmt::Display for EngineAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineAction::CrashRestart { instance } => write!(f, "crash-restart {instance}"),
            EngineAction::InstanceDown { instance } => write!(f, "instance {instance} down"),
            EngineAction::InstanceUp { instance } => write!(f, "instance {instance} up"),
            EngineAction::ClientClock { client, ms } => {
                write!(f, "clock-drift {client} {}", signed_ms(*ms))
            }
            EngineAction::InstanceClock { instance, ms } => {
                write!(f, "clock-drift instance {instance} {}", signed_ms(*ms))
            }
            EngineAction::ActiveExpiry { on } => {
                write!(f, "active-expiry {}", if *on { "on" } else { "off" })
            }
            EngineAction::NodeDown { node } => write!(f, "node {node} down"),
            EngineAction::NodeUp { node } => write!(f, "node {node} up"),
            EngineAction::ReplLag { ms } => write!(f, "repl-lag {ms}ms"),
        }
    }
}

fn signed_ms(ms: i64) -> String {
    if ms >= 0 {
        format!("+{ms}ms")
    } else {
        format!("{ms}ms")
    }
}
