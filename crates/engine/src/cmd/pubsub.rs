//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB,
//! and keyspace notifications.
//!
//! Messages are fire-and-forget, as in Redis: PUBLISH hands a message to the clients subscribed
//! at that instant (their outboxes, see `Engine::take_output`) and answers how many received
//! it. A client that subscribes a moment later never sees it. That is the difference from
//! streams that the playground shows.
//!
//! In RESP2 a subscribed connection can only (un)subscribe, PING, QUIT or RESET; in RESP3 it can
//! run anything, and messages arrive as push frames between replies.
//!
//! Keyspace notifications (`notify-keyspace-events`) are published here too: every keyspace
//! change the engine records (`Engine::notify`) becomes `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>` messages when its class is enabled.

use std::collections::BTreeMap;

use crate::table::{get_sub, CommandSpec};
use crate::{error, flags, glob, Call, Client, ClientId, Engine, Event, Protocol, Reply};

const fn spec(
    name: &'static str,
    arity: i32,
    flags: crate::Flags,
    summary: &'static str,
    syntax: &'static str,
    handler: crate::table::Handler,
) -> CommandSpec {
    CommandSpec::leaf(
        name,
        arity,
        flags,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        summary,
        syntax,
        handler,
    )
}

pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
        "Listens for messages published to the given channels.",
        "channel [channel ...]",
        subscribe,
    ),
    spec(
        "unsubscribe",
        -1,
        flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
        "Stops listening to the given channels, or to all of them.",
        "[channel [channel ...]]",
        unsubscribe,
    ),
    spec(
        "psubscribe",
        -2,
        flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
        "Listens for messages published to channels matching the given patterns.",
        "pattern [pattern ...]",
        psubscribe,
    ),
    spec(
        "punsubscribe",
        -1,
        flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
        "Stops listening to the given patterns, or to all of them.",
        "[pattern [pattern ...]]",
        punsubscribe,
    ),
    spec(
        "ssubscribe",
        -2,
        flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
        "Listens for messages published to the given shard channels.",
        "shardchannel [shardchannel ...]",
        ssubscribe,
    ),
    spec(
        "sunsubscribe",
        -1,
        flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
        "Stops listening to the given shard channels, or to all of them.",
        "[shardchannel [shardchannel ...]]",
        sunsubscribe,
    ),
    spec(
        "publish",
        3,
        flags!(PUBSUB, LOADING, STALE, FAST),
        "Posts a message to a channel; returns how many clients received it.",
        "channel message",
        publish,
    ),
    spec(
        "spublish",
        3,
        flags!(PUBSUB, LOADING, STALE, FAST),
        "Posts a message to a shard channel; returns how many clients received it.",
        "shardchannel message",
        spublish,
    ),
    CommandSpec {
        name: "pubsub",
        arity: -2,
        flags: flags!(),
        keys: (0, 0, 0),
        group: "pubsub",
        since: "2.8.0",
        summary: "Inspects the state of the pub/sub subsystem.",
        syntax: "subcommand [argument ...]",
        handler: crate::table::container,
        subcommands: PUBSUB_SUBCOMMANDS,
    },
];

const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "pubsub|channels",
        -2,
        flags!(PUBSUB, LOADING, STALE),
        "Lists the channels that have subscribers, optionally matching a pattern.",
        "[pattern]",
        pubsub_channels,
    ),
    spec(
        "pubsub|numsub",
        -2,
        flags!(PUBSUB, LOADING, STALE),
        "Counts the subscribers of each given channel (pattern subscribers not included).",
        "[channel [channel ...]]",
        pubsub_numsub,
    ),
    spec(
        "pubsub|numpat",
        2,
        flags!(PUBSUB, LOADING, STALE),
        "Counts the distinct patterns subscribed to.",
        "",
        pubsub_numpat,
    ),
    spec(
        "pubsub|shardchannels",
        -2,
        flags!(PUBSUB, LOADING, STALE),
        "Lists the shard channels that have subscribers.",
        "[pattern]",
        pubsub_shardchannels,
    ),
    spec(
        "pubsub|shardnumsub",
        -2,
        flags!(PUBSUB, LOADING, STALE),
        "Counts the subscribers of each given shard channel.",
        "[shardchannel [shardchannel ...]]",
        pubsub_shardnumsub,
    ),
    spec(
        "pubsub|help",
        2,
        flags!(LOADING, STALE),
        "Shows the PUBSUB subcommands.",
        "",
        pubsub_help,
    ),
];

/// Who listens to what. Subscribers are kept in the order they subscribed, which is the order
/// a message reaches them.
#[derive(Clone, Debug, Default)]
pub struct PubSub {
    channels: BTreeMap<Vec<u8>, Vec<ClientId>>,
    patterns: BTreeMap<Vec<u8>, Vec<ClientId>>,
    shard_channels: BTreeMap<Vec<u8>, Vec<ClientId>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_msg(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }
    fn unsub_msg(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

impl Engine {
    fn registry(&mut self, kind: Kind) -> &mut BTreeMap<Vec<u8>, Vec<ClientId>> {
        match kind {
            Kind::Channel => &mut self.pubsub.channels,
            Kind::Pattern => &mut self.pubsub.patterns,
            Kind::Shard => &mut self.pubsub.shard_channels,
        }
    }

    fn client_subs(&mut self, client: ClientId, kind: Kind) -> Option<&mut Vec<Vec<u8>>> {
        let c = self.clients.get_mut(&client)?;
        Some(match kind {
            Kind::Channel => &mut c.channels,
            Kind::Pattern => &mut c.patterns,
            Kind::Shard => &mut c.shard_channels,
        })
    }

    /// What SUBSCRIBE replies count: channels and patterns together; shard channels apart.
    fn subscription_count(&self, client: ClientId, kind: Kind) -> i64 {
        self.clients.get(&client).map_or(0, |c| match kind {
            Kind::Shard => c.shard_channels.len() as i64,
            _ => (c.channels.len() + c.patterns.len()) as i64,
        })
    }

    /// True when the client has any subscription (Redis's CLIENT_PUBSUB flag).
    pub fn is_subscribed(&self, client: ClientId) -> bool {
        self.clients.get(&client).is_some_and(|c| {
            !(c.channels.is_empty() && c.patterns.is_empty() && c.shard_channels.is_empty())
        })
    }

    fn subscribe_one(&mut self, client: ClientId, name: &[u8], kind: Kind) -> Reply {
        let subs = self.client_subs(client, kind);
        if let Some(subs) = subs {
            if !subs.iter().any(|s| s == name) {
                subs.push(name.to_vec());
                self.registry(kind)
                    .entry(name.to_vec())
                    .or_default()
                    .push(client);
            }
        }
        Reply::Push(vec![
            Reply::bulk(kind.sub_msg()),
            Reply::bulk(name),
            Reply::Integer(self.subscription_count(client, kind)),
        ])
    }

    fn unsubscribe_one(&mut self, client: ClientId, name: &[u8], kind: Kind) -> Reply {
        if let Some(subs) = self.client_subs(client, kind) {
            if let Some(i) = subs.iter().position(|s| s == name) {
                subs.remove(i);
                let reg = self.registry(kind);
                if let Some(list) = reg.get_mut(name) {
                    list.retain(|c| *c != client);
                    if list.is_empty() {
                        reg.remove(name);
                    }
                }
            }
        }
        Reply::Push(vec![
            Reply::bulk(kind.unsub_msg()),
            Reply::bulk(name),
            Reply::Integer(self.subscription_count(client, kind)),
        ])
    }

    fn unsubscribe_all(&mut self, client: ClientId, kind: Kind) -> Vec<Reply> {
        let names = self
            .client_subs(client, kind)
            .map(|s| s.clone())
            .unwrap_or_default();
        if names.is_empty() {
            return vec![Reply::Push(vec![
                Reply::bulk(kind.unsub_msg()),
                Reply::Nil,
                Reply::Integer(self.subscription_count(client, kind)),
            ])];
        }
        names
            .iter()
            .map(|n| self.unsubscribe_one(client, n, kind))
            .collect()
    }

    /// Drops every subscription of a client (disconnect, RESET), without replies.
    pub(crate) fn forget_subscriptions(&mut self, client: ClientId) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names = self
                .client_subs(client, kind)
                .map(std::mem::take)
                .unwrap_or_default();
            let reg = self.registry(kind);
            for n in names {
                if let Some(list) = reg.get_mut(&n) {
                    list.retain(|c| *c != client);
                    if list.is_empty() {
                        reg.remove(&n);
                    }
                }
            }
        }
    }

    /// Delivers `message` on `channel`; returns how many clients received it.
    pub fn publish_message(&mut self, channel: &[u8], message: &[u8]) -> i64 {
        let recording = self.recording();
        let mut ids: Vec<ClientId> = Vec::new();
        let mut n = 0;
        if let Some(list) = self.pubsub.channels.get(channel) {
            let msg = Message::new(&[b"message", channel, message]);
            for &c in list {
                if let Some(cl) = self.clients.get_mut(&c) {
                    msg.deliver(cl);
                }
            }
            n += list.len();
            if recording {
                ids.extend_from_slice(list);
            }
        }
        for (pattern, list) in &self.pubsub.patterns {
            if glob::matches(pattern, channel) {
                let msg = Message::new(&[b"pmessage", pattern, channel, message]);
                for &c in list {
                    if let Some(cl) = self.clients.get_mut(&c) {
                        msg.deliver(cl);
                    }
                }
                n += list.len();
                if recording {
                    ids.extend_from_slice(list);
                }
            }
        }
        if recording {
            self.emit(Event::Published {
                channel: channel.to_vec(),
                message: message.to_vec(),
                receivers: ids,
            });
        }
        n as i64
    }

    fn publish_shard(&mut self, channel: &[u8], message: &[u8]) -> i64 {
        let Some(list) = self.pubsub.shard_channels.get(channel) else {
            if self.recording() {
                self.emit(Event::Published {
                    channel: channel.to_vec(),
                    message: message.to_vec(),
                    receivers: Vec::new(),
                });
            }
            return 0;
        };
        let msg = Message::new(&[b"smessage", channel, message]);
        for &c in list {
            if let Some(cl) = self.clients.get_mut(&c) {
                msg.deliver(cl);
            }
        }
        let n = list.len() as i64;
        if self.recording() {
            let receivers = list.clone();
            self.emit(Event::Published {
                channel: channel.to_vec(),
                message: message.to_vec(),
                receivers,
            });
        }
        n
    }

    /// Redis's `notifyKeyspaceEvent`: publishes `op` on `key` if its class is enabled.
    #[inline]
    pub(crate) fn keyspace_notification(&mut self, db: usize, key: &[u8], op: &str) {
        // Every write comes here: with notify-keyspace-events empty it costs a compare, not a
        // call.
        if self.config.notify_keyspace_flags != 0 {
            self.publish_keyspace_event(db, key, op);
        }
    }

    #[inline(never)]
    fn publish_keyspace_event(&mut self, db: usize, key: &[u8], op: &str) {
        use crate::config::notify;
        let flags = self.config.notify_keyspace_flags;
        let class = notify::parse(&[event_class(op)]).unwrap_or(0);
        if flags & class == 0 {
            return;
        }
        if flags & notify::KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(key);
            self.publish_message(&ch, op.as_bytes());
        }
        if flags & notify::KEYEVENT != 0 {
            let ch = format!("__keyevent@{db}__:{op}").into_bytes();
            self.publish_message(&ch, key);
        }
    }
}

/// One published message, built once for all its receivers.
struct Message {
    reply: Reply,
    /// The RESP2 encoding (an array); RESP3's push differs only in its first byte.
    wire: Vec<u8>,
}

impl Message {
    fn new(parts: &[&[u8]]) -> Message {
        let reply = Reply::Push(parts.iter().map(|p| Reply::bulk(*p)).collect());
        let wire = crate::reply::to_resp(&reply, Protocol::Resp2);
        Message { reply, wire }
    }

    fn deliver(&self, client: &mut Client) {
        match &mut client.push_buffer {
            Some(buf) if client.outbox.is_empty() => {
                buf.push(match client.protocol {
                    Protocol::Resp2 => b'*',
                    Protocol::Resp3 => b'>',
                });
                buf.extend_from_slice(&self.wire[1..]);
            }
            _ => client.outbox.push(self.reply.clone()),
        }
    }
}

/// The class of a keyspace event name, as Redis files it.
pub fn event_class(op: &str) -> u8 {
    match op {
        "del" | "expire" | "persist" | "rename_from" | "rename_to" | "restore" | "copy_to"
        | "move_from" | "move_to" => b'g',
        "expired" => b'x',
        "evicted" => b'e',
        "new" => b'n',
        "keymiss" => b'm',
        "set" | "setrange" | "incrby" | "incrbyfloat" | "append" | "setbit" | "pfadd" => b'$',
        "sortstore" | "linsert" | "lset" | "lrem" | "ltrim" | "lpush" | "rpush" | "lpop"
        | "rpop" => b'l',
        "sadd" | "srem" | "spop" | "sinterstore" | "sunionstore" | "sdiffstore" => b's',
        _ if op.starts_with('h') => b'h',
        _ if op.starts_with('z') => b'z',
        _ if op.starts_with('x') => b't',
        _ => b'd',
    }
}

fn replies(mut items: Vec<Reply>) -> Reply {
    if items.len() == 1 {
        items.pop().unwrap_or(Reply::Nil)
    } else {
        Reply::Multi(items)
    }
}

fn subscribe_kind(e: &mut Engine, c: &Call, kind: Kind) -> Reply {
    let mut out = Vec::new();
    for name in &c.argv[1..] {
        out.push(e.subscribe_one(c.client, name, kind));
    }
    if e.recording() {
        e.emit(Event::Subscribed {
            client: c.client,
            names: c.argv[1..].iter().map(|a| a.to_vec()).collect(),
        });
    }
    replies(out)
}

fn unsubscribe_kind(e: &mut Engine, c: &Call, kind: Kind) -> Reply {
    if c.argv.len() == 1 {
        return replies(e.unsubscribe_all(c.client, kind));
    }
    let out = c.argv[1..]
        .iter()
        .map(|n| e.unsubscribe_one(c.client, n, kind))
        .collect();
    replies(out)
}

fn subscribe(e: &mut Engine, c: &Call) -> Reply {
    subscribe_kind(e, c, Kind::Channel)
}
fn psubscribe(e: &mut Engine, c: &Call) -> Reply {
    subscribe_kind(e, c, Kind::Pattern)
}
fn ssubscribe(e: &mut Engine, c: &Call) -> Reply {
    subscribe_kind(e, c, Kind::Shard)
}
fn unsubscribe(e: &mut Engine, c: &Call) -> Reply {
    unsubscribe_kind(e, c, Kind::Channel)
}
fn punsubscribe(e: &mut Engine, c: &Call) -> Reply {
    unsubscribe_kind(e, c, Kind::Pattern)
}
fn sunsubscribe(e: &mut Engine, c: &Call) -> Reply {
    unsubscribe_kind(e, c, Kind::Shard)
}

fn publish(e: &mut Engine, c: &Call) -> Reply {
    Reply::Integer(e.publish_message(c.argv[1], c.argv[2]))
}

fn spublish(e: &mut Engine, c: &Call) -> Reply {
    Reply::Integer(e.publish_shard(c.argv[1], c.argv[2]))
}

fn channel_list(map: &BTreeMap<Vec<u8>, Vec<ClientId>>, pattern: Option<&[u8]>) -> Reply {
    Reply::bulks(
        map.keys()
            .filter(|ch| pattern.is_none_or(|p| glob::matches(p, ch)))
            .cloned(),
    )
}

fn too_many_args(c: &Call, max: usize) -> Option<Reply> {
    (c.argv.len() > max).then(|| Reply::error_owned(error::subcommand_syntax(c.argv[1], c.argv[0])))
}

fn pubsub_channels(e: &mut Engine, c: &Call) -> Reply {
    if let Some(err) = too_many_args(c, 3) {
        return err;
    }
    channel_list(&e.pubsub.channels, c.argv.get(2).copied())
}

fn pubsub_shardchannels(e: &mut Engine, c: &Call) -> Reply {
    if let Some(err) = too_many_args(c, 3) {
        return err;
    }
    channel_list(&e.pubsub.shard_channels, c.argv.get(2).copied())
}

fn numsub(map: &BTreeMap<Vec<u8>, Vec<ClientId>>, names: &[&[u8]]) -> Reply {
    let mut out = Vec::with_capacity(names.len() * 2);
    for n in names {
        out.push(Reply::bulk(*n));
        out.push(Reply::Integer(map.get(*n).map_or(0, |l| l.len() as i64)));
    }
    Reply::Array(out)
}

fn pubsub_numsub(e: &mut Engine, c: &Call) -> Reply {
    numsub(&e.pubsub.channels, &c.argv[2..])
}

fn pubsub_shardnumsub(e: &mut Engine, c: &Call) -> Reply {
    numsub(&e.pubsub.shard_channels, &c.argv[2..])
}

fn pubsub_numpat(e: &mut Engine, _c: &Call) -> Reply {
    Reply::Integer(e.pubsub.patterns.len() as i64)
}

fn pubsub_help(_e: &mut Engine, _c: &Call) -> Reply {
    let parent = crate::table::get(b"pubsub");
    let mut lines = vec![Reply::simple(
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    )];
    if let Some(parent) = parent {
        for sub in parent.subcommands {
            let name = sub
                .name
                .rsplit('|')
                .next()
                .unwrap_or(sub.name)
                .to_ascii_uppercase();
            lines.push(Reply::Simple(
                format!("{name} {}", sub.syntax)
                    .trim_end()
                    .to_string()
                    .into(),
            ));
            lines.push(Reply::Simple(format!("    {}", sub.summary).into()));
        }
    }
    let _ = get_sub;
    Reply::Array(lines)
}

/// In RESP2, a subscribed client may only run these.
pub(crate) fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Protocol, Reply};

    fn push(items: &[&str]) -> Reply {
        Reply::Push(
            items
                .iter()
                .map(|s| match s.parse::<i64>() {
                    Ok(n) => Reply::Integer(n),
                    Err(_) => Reply::bulk(*s),
                })
                .collect(),
        )
    }

    #[test]
    fn publish_reaches_only_current_subscribers() {
        let mut e = Engine::new(Config::default());
        let (publisher, early, late) = (e.connect(0), e.connect(0), e.connect(0));
        assert_eq!(
            e.run(early, &["SUBSCRIBE", "news"], 0),
            push(&["subscribe", "news", "1"])
        );
        assert_eq!(
            e.run(publisher, &["PUBLISH", "news", "first"], 1),
            Reply::Integer(1)
        );
        e.run(late, &["SUBSCRIBE", "news"], 2);
        assert_eq!(
            e.run(publisher, &["PUBLISH", "news", "second"], 3),
            Reply::Integer(2)
        );
        assert_eq!(
            e.take_output(early),
            vec![
                push(&["message", "news", "first"]),
                push(&["message", "news", "second"])
            ]
        );
        assert_eq!(
            e.take_output(late),
            vec![push(&["message", "news", "second"])]
        );
    }

    #[test]
    fn patterns_and_counts() {
        let mut e = Engine::new(Config::default());
        let (p, s) = (e.connect(0), e.connect(0));
        let r = e.run(s, &["PSUBSCRIBE", "user:*", "order:*"], 0);
        assert_eq!(
            r,
            Reply::Multi(vec![
                push(&["psubscribe", "user:*", "1"]),
                push(&["psubscribe", "order:*", "2"])
            ])
        );
        e.run(s, &["SUBSCRIBE", "user:1"], 0);
        assert_eq!(e.run(p, &["PUBLISH", "user:1", "hi"], 0), Reply::Integer(2));
        assert_eq!(e.run(p, &["PUBSUB", "NUMPAT"], 0), Reply::Integer(2));
        assert_eq!(
            e.run(p, &["PUBSUB", "NUMSUB", "user:1", "x"], 0),
            Reply::Array(vec![
                Reply::bulk("user:1"),
                Reply::Integer(1),
                Reply::bulk("x"),
                Reply::Integer(0)
            ])
        );
        assert_eq!(
            e.run(p, &["PUBSUB", "CHANNELS"], 0),
            Reply::bulks(["user:1"])
        );
        assert_eq!(
            e.run(s, &["PUNSUBSCRIBE"], 0),
            Reply::Multi(vec![
                push(&["punsubscribe", "user:*", "2"]),
                push(&["punsubscribe", "order:*", "1"])
            ])
        );
    }

    #[test]
    fn resp2_subscribed_context_is_restricted() {
        let mut e = Engine::new(Config::default());
        let s = e.connect(0);
        e.run(s, &["SUBSCRIBE", "c"], 0);
        assert_eq!(
            e.run(s, &["GET", "k"], 0),
            Reply::error("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        );
        assert_eq!(
            e.run(s, &["PING"], 0),
            Reply::Array(vec![Reply::bulk("pong"), Reply::bulk("")])
        );
        e.client_mut(s).unwrap().protocol = Protocol::Resp3;
        assert_eq!(e.run(s, &["GET", "k"], 0), Reply::Nil);
        assert_eq!(
            e.run(s, &["UNSUBSCRIBE"], 0),
            push(&["unsubscribe", "c", "0"])
        );
        e.client_mut(s).unwrap().protocol = Protocol::Resp2;
        assert_eq!(e.run(s, &["GET", "k"], 0), Reply::Nil);
    }

    #[test]
    fn messages_go_to_the_push_buffer_encoded_and_in_order() {
        let mut e = Engine::new(Config::default());
        let (p, s2, s3) = (e.connect(0), e.connect(0), e.connect(0));
        e.run(s2, &["SUBSCRIBE", "ch"], 0);
        e.run(s3, &["HELLO", "3"], 0);
        e.run(s3, &["PSUBSCRIBE", "c*"], 0);
        for c in [s2, s3] {
            e.client_mut(c).unwrap().push_buffer = Some(Vec::new());
        }
        assert_eq!(e.run(p, &["PUBLISH", "ch", "hi"], 0), Reply::Integer(2));
        assert!(e.take_output(s2).is_empty());
        assert_eq!(
            e.client(s2).unwrap().push_buffer.as_deref(),
            Some(&b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"[..])
        );
        assert_eq!(
            e.client(s3).unwrap().push_buffer.as_deref(),
            Some(&b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n"[..])
        );
        assert_eq!(e.clients_with_output(), vec![s2, s3]);

        // Behind a reply already waiting in the outbox (a served BLPOP), a message queues there
        // too, so that whoever writes the buffer first and then the outbox keeps the order.
        e.client_mut(s3).unwrap().push_buffer = Some(Vec::new());
        e.run(s3, &["BLPOP", "q", "0"], 0);
        e.run(p, &["RPUSH", "q", "x"], 0);
        e.run(p, &["PUBLISH", "ch", "later"], 0);
        assert_eq!(e.client(s3).unwrap().push_buffer.as_deref(), Some(&b""[..]));
        let out = e.take_output(s3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], push(&["pmessage", "c*", "ch", "later"]));
    }

    #[test]
    fn keyspace_notifications() {
        let mut e = Engine::new(Config::default());
        let (w, s) = (e.connect(0), e.connect(0));
        e.run(w, &["CONFIG", "SET", "notify-keyspace-events", "KEA"], 0);
        e.config_mut().active_expire_enabled = false;
        e.run(s, &["PSUBSCRIBE", "__key*@0__:*"], 0);
        e.run(w, &["SET", "k", "v", "PX", "5"], 0);
        e.run(w, &["GET", "k"], 10);
        let got: Vec<Reply> = e.take_output(s);
        let channels: Vec<Reply> = got
            .iter()
            .filter_map(|r| match r {
                Reply::Push(v) => Some(v[2].clone()),
                _ => None,
            })
            .collect();
        let expected = Reply::bulks([
            "__keyspace@0__:k",
            "__keyevent@0__:set",
            "__keyspace@0__:k",
            "__keyevent@0__:expire",
            "__keyspace@0__:k",
            "__keyevent@0__:expired",
        ]);
        assert_eq!(Reply::Array(channels), expected);
    }
}
