//! The pub/sub-and-streams view. Pub/sub: the channels' subscribers as lanes, each message with
//! who got it and who missed it (a client that had subscribed to the channel before but was
//! not listening when it was published). Streams: each stream's entries (from XADD's replies),
//! and per consumer group who each entry was delivered to, what is pending and what was
//! acknowledged (from the StreamDelivered, StreamClaimed and StreamAcked events).

use std::collections::BTreeMap;

use cachelab_engine::Event;

use super::kit::{arg, is_error, name, since_start, text};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub at: i64,
    pub publisher: String,
    pub channel: String,
    pub message: String,
    pub received_by: Vec<String>,
    /// Clients that had subscribed to the channel earlier but were not listening.
    pub missed_by: Vec<String>,
    /// How many clients the server delivered it to (PUBLISH's reply, the engine's receivers).
    pub receivers: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Not delivered to the group yet.
    New,
    /// Delivered to this consumer and not acknowledged.
    Pending {
        consumer: String,
        deliveries: u32,
    },
    Acked {
        consumer: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: String,
    pub fields: String,
    pub added_by: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub stream: String,
    pub name: String,
    /// One state per entry of the stream, in the stream's order.
    pub states: BTreeMap<String, EntryState>,
}

impl Group {
    pub fn state(&self, id: &str) -> EntryState {
        self.states.get(id).cloned().unwrap_or(EntryState::New)
    }

    /// The delivery count entry `id` has once delivered again (a read or a claim): one more
    /// than a pending entry's, 1 for any other.
    fn next_delivery(&self, id: &str) -> u32 {
        match self.state(id) {
            EntryState::Pending { deliveries, .. } => deliveries + 1,
            _ => 1,
        }
    }

    pub fn pending(&self) -> usize {
        (self.states.values())
            .filter(|s| matches!(s, EntryState::Pending { .. }))
            .count()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub key: String,
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PubSubStreamsView {
    pub clients: Vec<String>,
    /// Who listens to which channel now.
    pub listening: BTreeMap<String, Vec<String>>,
    pub messages: Vec<Message>,
    pub streams: Vec<Stream>,
    pub groups: Vec<Group>,
}

impl PubSubStreamsView {
    fn group(&mut self, stream: &str, group: &str) -> &mut Group {
        let i = match (self.groups.iter()).position(|g| g.stream == stream && g.name == group) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    stream: stream.to_string(),
                    name: group.to_string(),
                    states: BTreeMap::new(),
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[i]
    }
}

pub fn derive(played: &[Played], clients: &[String]) -> PubSubStreamsView {
    let mut v = PubSubStreamsView {
        clients: clients.to_vec(),
        ..PubSubStreamsView::default()
    };
    // Everyone who ever subscribed to a channel.
    let mut ever: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in played {
        let a = p.action;
        let receivers: Vec<usize> = (a.events.iter())
            .filter_map(|(_, e)| match e {
                Event::Published { receivers, .. } => Some(receivers.len()),
                _ => None,
            })
            .collect();
        let mut published = 0;
        for sent in &a.sent {
            let client = sent.sender.client.clone();
            if !v.clients.contains(&client) {
                v.clients.push(client.clone());
            }
            if sent.frames.is_empty() || is_error(&sent.frames) {
                continue;
            }
            match name(&sent.argv).as_str() {
                "SUBSCRIBE" => {
                    for ch in sent.argv[1..].iter().map(|c| text(c)) {
                        for list in [&mut v.listening, &mut ever] {
                            let l = list.entry(ch.clone()).or_default();
                            if !l.contains(&client) {
                                l.push(client.clone());
                            }
                        }
                    }
                }
                "UNSUBSCRIBE" | "QUIT" | "RESET" => {
                    let only: Vec<String> = sent.argv[1..].iter().map(|c| text(c)).collect();
                    for (ch, l) in v.listening.iter_mut() {
                        if name(&sent.argv) != "UNSUBSCRIBE" || only.is_empty() || only.contains(ch)
                        {
                            l.retain(|c| *c != client);
                        }
                    }
                }
                "PUBLISH" => {
                    let (Some(channel), Some(message)) = (arg(&sent.argv, 1), arg(&sent.argv, 2))
                    else {
                        continue;
                    };
                    let received_by = v.listening.get(&channel).cloned().unwrap_or_default();
                    let missed_by = (ever.get(&channel).into_iter().flatten())
                        .filter(|c| !received_by.contains(c))
                        .cloned()
                        .collect();
                    let receivers = receivers
                        .get(published)
                        .copied()
                        .unwrap_or(received_by.len());
                    published += 1;
                    v.messages.push(Message {
                        at: since_start(sent.now),
                        publisher: client.clone(),
                        channel,
                        message,
                        received_by,
                        missed_by,
                        receivers,
                    });
                }
                "XADD" => {
                    let Some(cachelab_engine::Reply::Bulk(id)) = sent.frames.first() else {
                        continue;
                    };
                    let Some(key) = arg(&sent.argv, 1) else {
                        continue;
                    };
                    // The fields follow the id, which follows the key and any options.
                    let id_at = (2..sent.argv.len())
                        .find(|&i| {
                            let s = text(&sent.argv[i]);
                            s == "*" || s.as_bytes().first().is_some_and(u8::is_ascii_digit)
                        })
                        .unwrap_or(2);
                    let fields = (sent.argv[id_at + 1..].iter().map(|f| text(f)))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let entry = Entry {
                        id: text(id),
                        fields,
                        added_by: client.clone(),
                    };
                    match v.streams.iter_mut().find(|s| s.key == key) {
                        Some(s) => s.entries.push(entry),
                        None => v.streams.push(Stream {
                            key,
                            entries: vec![entry],
                        }),
                    }
                }
                "XGROUP"
                    if arg(&sent.argv, 1).is_some_and(|s| s.eq_ignore_ascii_case("create")) =>
                {
                    if let (Some(key), Some(group)) = (arg(&sent.argv, 2), arg(&sent.argv, 3)) {
                        v.group(&key, &group);
                    }
                }
                _ => {}
            }
        }
        for (_, e) in &a.events {
            match e {
                Event::StreamDelivered {
                    key,
                    group,
                    consumer,
                    ids,
                    noack,
                    ..
                } => {
                    let g = v.group(&text(key), &text(group));
                    for id in ids {
                        let id = id.to_string();
                        let deliveries = g.next_delivery(&id);
                        let state = if *noack {
                            EntryState::Acked {
                                consumer: text(consumer),
                            }
                        } else {
                            EntryState::Pending {
                                consumer: text(consumer),
                                deliveries,
                            }
                        };
                        g.states.insert(id, state);
                    }
                }
                Event::StreamClaimed {
                    key,
                    group,
                    consumer,
                    ids,
                    ..
                } => {
                    let g = v.group(&text(key), &text(group));
                    for id in ids {
                        let id = id.to_string();
                        let deliveries = g.next_delivery(&id);
                        g.states.insert(
                            id,
                            EntryState::Pending {
                                consumer: text(consumer),
                                deliveries,
                            },
                        );
                    }
                }
                Event::StreamAcked {
                    key, group, ids, ..
                } => {
                    let g = v.group(&text(key), &text(group));
                    for id in ids {
                        let id = id.to_string();
                        let consumer = match g.state(&id) {
                            EntryState::Pending { consumer, .. } => consumer,
                            _ => String::new(),
                        };
                        g.states.insert(id, EntryState::Acked { consumer });
                    }
                }
                _ => {}
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::kit::testing::played_to;
    use crate::model::views::played;

    fn view_after(steps: usize) -> PubSubStreamsView {
        let p = played_to("pubsub-streams", steps);
        derive(&played(&p), &p.scenario().clients)
    }

    #[test]
    fn a_subscriber_that_went_away_misses_the_message() {
        let v = view_after(2);
        assert_eq!(v.messages.len(), 1);
        assert_eq!(v.messages[0].received_by, ["B", "C"]);
        assert_eq!(v.messages[0].receivers, 2);
        let v = view_after(3);
        let flash = &v.messages[1];
        assert_eq!(flash.message, "flash sale");
        assert_eq!(
            (flash.received_by.as_slice(), flash.missed_by.as_slice()),
            (&["B".to_string()][..], &["C".to_string()][..])
        );
        assert_eq!(flash.receivers, 1);
        let alerts = &v.messages[2];
        assert_eq!((alerts.receivers, alerts.missed_by.len()), (0, 0));
        assert_eq!(v.listening["news"], ["B"]);
    }

    #[test]
    fn the_group_keeps_entries_pending_until_acknowledged() {
        let v = view_after(5);
        assert_eq!(v.streams.len(), 1);
        let ids: Vec<_> = v.streams[0].entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1700000000000-1", "1700000000000-2"]);
        assert_eq!(v.streams[0].entries[0].fields, "item book qty 1");
        assert!(v.groups.is_empty());
        let v = view_after(6);
        let g = &v.groups[0];
        assert_eq!((g.stream.as_str(), g.name.as_str()), ("orders", "shipping"));
        // Both were delivered and, after worker-1 claimed the pen's, acknowledged.
        assert_eq!(
            g.state("1700000000000-1"),
            EntryState::Acked {
                consumer: "worker-1".into()
            }
        );
        assert_eq!(
            g.state("1700000000000-2"),
            EntryState::Acked {
                consumer: "worker-1".into()
            }
        );
        assert_eq!(g.pending(), 0);
    }

    #[test]
    fn an_entry_stays_pending_with_its_consumer_until_acknowledged() {
        let p = played_to("pubsub-streams", 6);
        let all = played(&p);
        let upto = all
            .iter()
            .position(|x| x.action.label.contains("XPENDING"))
            .expect("the lesson asks XPENDING");
        let v = derive(&all[..upto], &p.scenario().clients);
        let g = &v.groups[0];
        assert_eq!(
            g.state("1700000000000-2"),
            EntryState::Pending {
                consumer: "worker-2".into(),
                deliveries: 1
            }
        );
        assert!(matches!(
            g.state("1700000000000-1"),
            EntryState::Acked { .. }
        ));
        assert_eq!(g.pending(), 1);
    }
}
