//! Which node serves a command: Redis's `getNodeByQuery` and the redirections it leads to.

use crate::keyspec;
use crate::table::{self, CommandSpec};
use crate::{error, ClientId, Engine, Flags, Reply};

use super::slot::key_hash_slot;
use super::{ClusterEvent, Redirect, State};

/// Redis serves sharded pub/sub from replicas too, and never counts channels as missing keys.
fn is_shard_pubsub(name: &str) -> bool {
    matches!(name, "ssubscribe" | "sunsubscribe" | "spublish")
}

/// Whether a key exists on this node, without expiring it or touching anything (Redis looks it
/// up with LOOKUP_NOTOUCH, NOSTATS, NONOTIFY and NOEXPIRE: an expired key counts as missing).
fn present(e: &Engine, key: &[u8]) -> bool {
    e.dbs[0]
        .keys
        .get(key)
        .is_some_and(|entry| entry.expire_at().is_none_or(|at| e.now <= at))
}

/// The commands a request stands for: itself, or for EXEC the queued transaction.
fn commands_of<'a>(
    e: &'a Engine,
    client: ClientId,
    spec: &'static CommandSpec,
    argv: &'a [&'a [u8]],
) -> Vec<(&'static CommandSpec, Vec<&'a [u8]>)> {
    if spec.name != "exec" {
        return vec![(spec, argv.to_vec())];
    }
    let Some(multi) = e.clients.get(&client).and_then(|c| c.multi.as_ref()) else {
        return Vec::new();
    };
    multi
        .queued
        .iter()
        .filter_map(|q| {
            let args: Vec<&[u8]> = q.iter().map(|a| a.as_slice()).collect();
            let spec = table::lookup(&args).ok()?;
            Some((spec, args))
        })
        .collect()
}

/// Redis's `getNodeByQuery`: Ok when this node (`me`) serves the request, the redirection
/// otherwise.
fn query_node(
    e: &Engine,
    st: &State,
    me: usize,
    client: ClientId,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
) -> Result<(), Redirect> {
    let node = &st.nodes[me];
    let shard_pubsub = is_shard_pubsub(spec.name);
    let cmds = commands_of(e, client, spec, argv);
    let mut first: Option<&[u8]> = None;
    let mut slot = 0u16;
    let mut owner = None;
    let (mut migrating, mut importing, mut multiple) = (false, false, false);
    let (mut missing, mut existing) = (0, 0);
    for (cspec, cargv) in &cmds {
        for pos in keyspec::routing_positions(cspec, cargv) {
            let key = cargv[pos];
            let this = key_hash_slot(key);
            match first {
                None => {
                    first = Some(key);
                    slot = this;
                    let Some(n) = st.slots[this as usize] else {
                        return Err(Redirect::Unbound { slot });
                    };
                    owner = Some(n);
                    if n == me && node.migrating.contains_key(&slot) {
                        migrating = true;
                    } else if node.importing.contains_key(&slot) {
                        importing = true;
                    }
                }
                Some(f) if f != key => {
                    if this != slot {
                        return Err(Redirect::CrossSlot);
                    }
                    multiple = true;
                }
                Some(_) => {}
            }
            if (migrating || importing) && !shard_pubsub {
                if present(e, key) {
                    existing += 1;
                } else {
                    missing += 1;
                }
            }
        }
    }
    // No key at all: any node serves it.
    let Some(owner) = owner else {
        return Ok(());
    };
    if !st.ok {
        return Err(Redirect::Down);
    }
    if (migrating || importing) && spec.name == "migrate" {
        return Ok(());
    }
    if migrating && missing > 0 {
        return Err(if existing > 0 {
            Redirect::TryAgain { slot }
        } else {
            Redirect::Ask {
                slot,
                to: node.migrating[&slot],
            }
        });
    }
    if importing && node.asking.contains(&client) {
        return if multiple && missing > 0 {
            Err(Redirect::TryAgain { slot })
        } else {
            Ok(())
        };
    }
    let write = is_write(spec, &cmds);
    if (node.readonly.contains(&client) || shard_pubsub) && !write && node.master == Some(owner) {
        return Ok(());
    }
    if owner != me {
        return Err(Redirect::Moved { slot, to: owner });
    }
    Ok(())
}

/// A write command, or an EXEC whose transaction holds one.
fn is_write(spec: &CommandSpec, cmds: &[(&'static CommandSpec, Vec<&[u8]>)]) -> bool {
    spec.flags.has(Flags::WRITE)
        || (spec.name == "exec" && cmds.iter().any(|(s, _)| s.flags.has(Flags::WRITE)))
}

/// The error text of a redirection.
pub(crate) fn redirect_text(st: &State, r: &Redirect) -> String {
    match r {
        Redirect::Moved { slot, to } => format!("MOVED {slot} {}", st.addr(*to)),
        Redirect::Ask { slot, to } => format!("ASK {slot} {}", st.addr(*to)),
        Redirect::CrossSlot => error::CROSSSLOT.into(),
        Redirect::TryAgain { .. } => error::TRYAGAIN.into(),
        Redirect::Unbound { .. } => error::CLUSTERDOWN_UNBOUND.into(),
        Redirect::Down => error::CLUSTERDOWN.into(),
        Redirect::ReadOnlyReplica => error::READONLY_REPLICA.into(),
    }
}

impl Engine {
    /// Cluster routing for one command, where Redis's `processCommand` does it (after the
    /// arity check, before queueing in MULTI): the error reply when this node does not serve
    /// it. Commands run by EXEC and blocked commands being retried were routed already.
    pub(crate) fn cluster_route(
        &mut self,
        client: ClientId,
        spec: &'static CommandSpec,
        argv: &[&[u8]],
    ) -> Option<Reply> {
        if self.blocked.reprocessing == Some(client)
            || self.clients.get(&client).is_some_and(|c| c.in_exec)
        {
            return None;
        }
        let (st, me) = self.cluster_state()?;
        let keyed = keyspec::may_route_by_key(spec) || spec.name == "exec";
        let routed = if keyed {
            query_node(self, st, me, client, spec, argv)
        } else {
            Ok(())
        };
        let redirect = match routed {
            Err(r) => r,
            Ok(()) => {
                // A replica refuses writes that reach it (keyless ones, or keyed ones it was
                // allowed to serve), as Redis does with `replica-read-only`.
                let cmds = if spec.name == "exec" {
                    commands_of(self, client, spec, argv)
                } else {
                    Vec::new()
                };
                if st.nodes[me].master.is_some() && is_write(spec, &cmds) {
                    Redirect::ReadOnlyReplica
                } else {
                    return None;
                }
            }
        };
        let text = redirect_text(st, &redirect);
        self.stats.total_error_replies += 1;
        self.stats.rejected_calls += 1;
        self.stats.record_rejected(spec.name);
        self.stats.record_error(&text);
        if spec.name == "exec" && redirect != Redirect::ReadOnlyReplica {
            self.discard_transaction(client);
        } else {
            self.flag_transaction(client);
        }
        self.with_cluster(|_, st, me| {
            st.emit(ClusterEvent::Redirected {
                node: me,
                client,
                command: spec.name,
                redirect,
            })
        });
        Some(Reply::error_owned(text))
    }

    /// Redis's `clusterRedirectBlockedClientIfNeeded`, for every client blocked on keys: when
    /// the cluster is down, or the slot of its keys is neither served nor being imported here,
    /// the client is answered with the redirection.
    pub(crate) fn redirect_blocked_clients(&mut self) {
        let Some((st, me)) = self.cluster_state() else {
            return;
        };
        let mut todo: Vec<(ClientId, Redirect)> = Vec::new();
        for c in self.clients.values() {
            let Some(b) = c.blocked.as_ref() else {
                continue;
            };
            let Some(key) = b.keys.first() else {
                continue;
            };
            if !st.ok {
                todo.push((c.id, Redirect::Down));
                continue;
            }
            let slot = key_hash_slot(key);
            let mut node = st.slots[slot as usize];
            let write = table::lookup(&b.argv.iter().map(|a| a.as_slice()).collect::<Vec<_>>())
                .is_ok_and(|s| s.flags.has(Flags::WRITE));
            if st.nodes[me].readonly.contains(&c.id)
                && !write
                && node.is_some()
                && st.nodes[me].master == node
            {
                node = Some(me);
            }
            if node != Some(me) && !st.nodes[me].importing.contains_key(&slot) {
                todo.push((
                    c.id,
                    match node {
                        None => Redirect::Unbound { slot },
                        Some(to) => Redirect::Moved { slot, to },
                    },
                ));
            }
        }
        for (client, redirect) in todo {
            let Some(text) = self
                .cluster_state()
                .map(|(st, _)| redirect_text(st, &redirect))
            else {
                return;
            };
            self.stats.total_error_replies += 1;
            self.stats.record_error(&text);
            self.unblock(client, Reply::error_owned(text), false);
            self.with_cluster(|_, st, me| {
                st.emit(ClusterEvent::Redirected {
                    node: me,
                    client,
                    command: "blocked",
                    redirect,
                })
            });
        }
    }
}
