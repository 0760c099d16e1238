//! Connection state: what Redis keeps per client, and the engine keeps per `ClientId`.

use crate::reply::Protocol;

pub type ClientId = u64;

#[derive(Clone, Debug)]
pub struct Client {
    pub id: ClientId,
    pub name: Option<String>,
    pub db: usize,
    pub protocol: Protocol,
    /// Where the client says it is (the server fills this in; the playground names its panes).
    pub addr: String,
    pub laddr: String,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    /// The last command's full name, as CLIENT LIST's `cmd=` shows it.
    pub last_command: &'static str,
    /// Set by QUIT: the connection is closed once the reply has been written.
    pub close_after_reply: bool,
    /// Library name and version from CLIENT SETINFO or HELLO (none in 7.0, kept empty).
    pub lib_name: Option<String>,
    /// Set while a blocking command waits for a key or its timeout.
    pub blocked: Option<crate::blocking::BlockState>,
    /// Replies produced outside `execute` (served blocked commands, pushes), oldest first.
    pub outbox: Vec<crate::Reply>,
    /// Set by a caller that writes replies to a socket (the native server): pub/sub messages
    /// are then appended here already encoded in the client's protocol, instead of being queued
    /// in `outbox` as one `Reply` per subscriber and message. Only while `outbox` is empty, so
    /// everything here is older than anything in `outbox`: write this first.
    pub push_buffer: Option<Vec<u8>>,
    /// Set between MULTI and EXEC/DISCARD.
    pub multi: Option<crate::cmd::transactions::MultiState>,
    /// A watched key changed: the next EXEC answers nil.
    pub dirty_cas: bool,
    pub watched: Vec<crate::cmd::transactions::WatchedKey>,
    /// True while EXEC runs this client's queue (blocking commands must not block then).
    pub in_exec: bool,
    /// Pub/sub subscriptions, in the order they were made.
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard_channels: Vec<Vec<u8>>,
    /// CLIENT NO-EVICT ON: exempt from client eviction (`e` in CLIENT LIST's flags).
    pub no_evict: bool,
    /// The descriptor CLIENT LIST shows; the native server may put the real one here.
    pub fd: i64,
}

impl Client {
    pub fn new(id: ClientId, now_ms: i64) -> Client {
        Client {
            id,
            name: None,
            db: 0,
            protocol: Protocol::Resp2,
            addr: format!("127.0.0.1:{}", 50000 + id),
            laddr: "127.0.0.1:6379".into(),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_command: "NULL",
            close_after_reply: false,
            lib_name: None,
            blocked: None,
            outbox: Vec::new(),
            push_buffer: None,
            multi: None,
            dirty_cas: false,
            watched: Vec::new(),
            in_exec: false,
            channels: Vec::new(),
            patterns: Vec::new(),
            shard_channels: Vec::new(),
            no_evict: false,
            // Redis's first client usually gets descriptor 8 (after the listening sockets).
            fd: 7 + id as i64,
        }
    }

    /// Returns the client to the state of a fresh connection (RESET), keeping its id. Like
    /// Redis's `clearClientConnectionState`, this keeps CLIENT NO-EVICT.
    pub fn reset(&mut self) {
        self.name = None;
        self.db = 0;
        self.protocol = Protocol::Resp2;
    }
}

/// The connected clients by id, in id order (CLIENT LIST's order).
///
/// Every command looks its client up several times (the checks before it runs, its handler,
/// the reply's protocol), nearly always the same client as the lookup before: the position
/// of the last client found is tried first, so those cost one comparison instead of a search.
/// Ids only grow, so a new client goes at the end; clients are boxed so that one leaving moves
/// pointers, not whole clients.
#[derive(Clone, Debug, Default)]
pub struct ClientTable {
    ids: Vec<ClientId>,
    clients: Vec<Box<Client>>,
    last_found: std::cell::Cell<usize>,
}

impl ClientTable {
    fn position(&self, id: ClientId) -> Option<usize> {
        let last = self.last_found.get();
        if self.ids.get(last) == Some(&id) {
            return Some(last);
        }
        let i = self.ids.binary_search(&id).ok()?;
        self.last_found.set(i);
        Some(i)
    }

    pub fn get(&self, id: &ClientId) -> Option<&Client> {
        self.position(*id).map(|i| &*self.clients[i])
    }

    pub fn get_mut(&mut self, id: &ClientId) -> Option<&mut Client> {
        self.position(*id).map(|i| &mut *self.clients[i])
    }

    /// Adds or replaces the client with this id; returns the one it replaced.
    pub fn insert(&mut self, id: ClientId, client: Client) -> Option<Client> {
        match self.ids.binary_search(&id) {
            Ok(i) => Some(std::mem::replace(&mut *self.clients[i], client)),
            Err(i) => {
                self.ids.insert(i, id);
                self.clients.insert(i, Box::new(client));
                None
            }
        }
    }

    pub fn remove(&mut self, id: &ClientId) -> Option<Client> {
        let i = self.position(*id)?;
        self.ids.remove(i);
        Some(*self.clients.remove(i))
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &ClientId> {
        self.ids.iter()
    }

    pub fn values(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter().map(|c| &**c)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Client> {
        self.clients.iter_mut().map(|c| &mut **c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_table_agrees_with_an_ordered_map_through_connects_lookups_and_disconnects() {
        let mut rng = crate::rng::Rng::new(7);
        let mut table = ClientTable::default();
        let mut model: BTreeMap<ClientId, Client> = BTreeMap::new();
        let mut next: ClientId = 1;
        for step in 0..20_000 {
            let id = match rng.below(4) {
                // Mostly lookups of a recent client, as commands make them.
                0 | 1 => next.saturating_sub(1 + rng.below(8)),
                2 => rng.below(next + 2),
                _ => {
                    next += 1;
                    next - 1
                }
            };
            match rng.below(6) {
                0 => {
                    let c = Client::new(id, step as i64);
                    assert_eq!(
                        table.insert(id, c.clone()).map(|c| c.created_ms),
                        model.insert(id, c).map(|c| c.created_ms)
                    );
                }
                1 => assert_eq!(
                    table.remove(&id).map(|c| c.id),
                    model.remove(&id).map(|c| c.id)
                ),
                2 => {
                    if let (Some(a), Some(b)) = (table.get_mut(&id), model.get_mut(&id)) {
                        a.db = step as usize;
                        b.db = step as usize;
                    }
                }
                _ => assert_eq!(
                    table.get(&id).map(|c| (c.id, c.db)),
                    model.get(&id).map(|c| (c.id, c.db)),
                    "client {id} at step {step}"
                ),
            }
        }
        assert_eq!(table.len(), model.len());
        assert!(table.keys().eq(model.keys()));
        assert!(table
            .values()
            .map(|c| (c.id, c.db))
            .eq(model.values().map(|c| (c.id, c.db))));
    }
}
