//! Following redirections as `redis-cli -c` does, for any cluster a caller can send commands to:
//! the engine's own `Cluster` (the playground's console, lessons) or a real Redis Cluster over the
//! wire (scenario replay). The caller owns the connections; this module only reads `-MOVED` and
//! `-ASK` replies and decides where the command goes next.
//!
//! redis-cli's behaviour, which this follows: on `MOVED <slot> <host>:<port>` or `ASK ...` it
//! prints `-> Redirected to slot [<slot>] located at <host>:<port>`, connects to that node (and
//! stays connected to it: the prompt changes), sends `ASKING` first after an `ASK`, and sends the
//! command again. It has no limit on the number of redirections; a consistent cluster never
//! redirects more than twice, so a limit here only turns a broken configuration (two nodes each
//! claiming the other owns a slot) into an error instead of a hang.

use crate::Reply;

/// Redirections followed before giving up on a command.
pub const MAX_HOPS: usize = 16;

/// One redirection a client followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub slot: u16,
    pub host: String,
    pub port: u16,
    /// `-ASK`: the next command goes with `ASKING` first, once.
    pub ask: bool,
}

impl Hop {
    /// The line redis-cli prints when it follows this redirection.
    pub fn cli_line(&self) -> String {
        format!(
            "-> Redirected to slot [{}] located at {}:{}",
            self.slot, self.host, self.port
        )
    }

    /// Reads a redirection from a reply: `MOVED 3999 127.0.0.1:6381` or `ASK 3999 ...`.
    pub fn from_reply(reply: &Reply) -> Option<Hop> {
        Hop::parse(reply.error_text()?)
    }

    /// Reads a redirection from an error's text (without the leading `-`).
    pub fn parse(text: &str) -> Option<Hop> {
        let (ask, rest) = if let Some(r) = text.strip_prefix("MOVED ") {
            (false, r)
        } else if let Some(r) = text.strip_prefix("ASK ") {
            (true, r)
        } else {
            return None;
        };
        let (slot, addr) = rest.split_once(' ')?;
        // The port follows the last colon: an IPv6 host has colons of its own.
        let (host, port) = addr.trim_end().rsplit_once(':')?;
        Some(Hop {
            slot: slot.parse().ok()?,
            host: host.to_string(),
            port: port.parse().ok()?,
            ask,
        })
    }
}

/// A command's final reply and the redirections taken to get it.
#[derive(Clone, Debug, PartialEq)]
pub struct Followed {
    pub reply: Reply,
    pub hops: Vec<Hop>,
}

impl Followed {
    /// The hops as redis-cli prints them, one line each, before the reply.
    pub fn cli_lines(&self) -> Vec<String> {
        self.hops.iter().map(Hop::cli_line).collect()
    }
}

/// Sends a command and follows its redirections. `send(None)` sends on the client's current
/// connection; `send(Some(hop))` first moves the client's connection to `hop`'s node (and sends
/// `ASKING` there when `hop.ask`), then sends. `send` returns the command's reply, or the
/// caller's own error (a node that cannot be reached), which ends the command.
pub fn follow<E>(mut send: impl FnMut(Option<&Hop>) -> Result<Reply, E>) -> Result<Followed, E> {
    let mut hops = Vec::new();
    let mut reply = send(None)?;
    while let Some(hop) = Hop::from_reply(&reply) {
        if hops.len() == MAX_HOPS {
            return Ok(Followed {
                reply: Reply::error_owned(format!(
                    "ERR too many redirections (more than {MAX_HOPS}); the last was {}",
                    reply.error_text().unwrap_or_default()
                )),
                hops,
            });
        }
        reply = send(Some(&hop))?;
        hops.push(hop);
    }
    Ok(Followed { reply, hops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_moved_and_ask() {
        let moved = Hop::parse("MOVED 3999 127.0.0.1:6381").expect("moved");
        assert_eq!((moved.slot, moved.port, moved.ask), (3999, 6381, false));
        assert_eq!(moved.host, "127.0.0.1");
        assert_eq!(
            moved.cli_line(),
            "-> Redirected to slot [3999] located at 127.0.0.1:6381"
        );
        let ask = Hop::parse("ASK 12 ::1:7000").expect("ask");
        assert_eq!((ask.host.as_str(), ask.port, ask.ask), ("::1", 7000, true));
        assert_eq!(Hop::parse("ERR wrong type"), None);
        assert_eq!(Hop::parse("MOVED x 127.0.0.1:1"), None);
    }

    #[test]
    fn follows_until_a_node_answers() {
        let mut replies = vec![
            Reply::error("ASK 5 10.0.0.2:7001"),
            Reply::error("MOVED 5 10.0.0.1:7000"),
        ];
        let mut seen = Vec::new();
        let f = follow::<()>(|hop| {
            seen.push(hop.cloned());
            Ok(replies.pop().unwrap_or(Reply::Integer(1)))
        })
        .expect("no transport error");
        assert_eq!(f.reply, Reply::Integer(1));
        assert_eq!(f.hops.len(), 2);
        assert!(seen[0].is_none());
        assert_eq!(seen[2].as_ref().map(|h| h.ask), Some(true));
        assert_eq!(
            f.cli_lines()[1],
            "-> Redirected to slot [5] located at 10.0.0.2:7001"
        );
    }

    #[test]
    fn a_redirection_loop_ends_in_an_error() {
        let f = follow::<()>(|_| Ok(Reply::error("MOVED 1 127.0.0.1:7000"))).expect("ok");
        assert_eq!(f.hops.len(), MAX_HOPS);
        assert!(f.reply.error_text().is_some_and(|t| t.contains("too many")));
    }

    #[test]
    fn a_transport_error_ends_the_command() {
        let r = follow(|hop| match hop {
            None => Ok(Reply::error("MOVED 1 127.0.0.1:7000")),
            Some(_) => Err("Could not connect"),
        });
        assert_eq!(r, Err("Could not connect"));
    }
}
