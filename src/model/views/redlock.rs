//! Redlock across independent instances: for each resource, one cell per instance saying which
//! client holds the key there now (or held it until it expired or the instance lost it), each
//! client's tally of acquisitions against the majority, and each instance's state: down,
//! restarted (empty, or with what it kept), its clock jumped. Client clock changes are noted.
//!
//! An acquisition is `SET key token NX PX ms` answered `OK` on that instance; `(nil)` is a
//! refusal; no reply at all means the instance could not be reached.

use std::collections::BTreeMap;

use super::calls::{calls, engine_actions, expirations, expiry_set, show_ms, Call};
use super::Played;

#[derive(Clone, Debug, PartialEq)]
pub struct Redlock {
    pub instances: Vec<Instance>,
    pub resources: Vec<Resource>,
    /// How many instances make a majority.
    pub quorum: usize,
    /// What happened to the clients' clocks.
    pub clock_notes: Vec<String>,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// 1-based.
    pub number: usize,
    pub down: bool,
    /// What happened to it, in order, as (ms since start, text).
    pub history: Vec<(i64, String)>,
    /// How far its clock was moved ahead, in ms.
    pub clock_jump: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub key: String,
    /// One per instance, in instance order.
    pub cells: Vec<Cell>,
    /// Each client's acquisitions (`OK` replies), in order of first attempt.
    pub acquired: Vec<(String, usize)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Nobody has taken it there.
    Free,
    Held {
        client: String,
        /// When it expires by that instance's clock, in ms since start (true time).
        until: i64,
    },
    /// The holder's key expired there.
    Expired { client: String, at: i64 },
    /// The instance restarted without it.
    Lost { client: String },
    /// The instance could not be reached when a client tried.
    Unreachable { client: String },
}

impl Resource {
    pub fn holders_now(&self) -> BTreeMap<&str, usize> {
        let mut out = BTreeMap::new();
        for c in &self.cells {
            if let Cell::Held { client, .. } = c {
                *out.entry(client.as_str()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Clients whose acquisitions reached the majority.
    pub fn winners(&self, quorum: usize) -> Vec<&str> {
        (self.acquired.iter())
            .filter(|(_, n)| *n >= quorum)
            .map(|(c, _)| c.as_str())
            .collect()
    }
}

impl Redlock {
    pub fn resource(&self, key: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.key == key)
    }
}

fn is_lock_set(c: &Call) -> bool {
    c.name == "SET" && c.args.iter().skip(2).any(|a| a.eq_ignore_ascii_case("NX"))
}

/// Milliseconds from the engine action's signed amount (`+2000ms`, `-300ms`, `+2s`).
fn signed_ms(s: &str) -> Option<i64> {
    let (n, unit) = match s.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => (s.strip_suffix('s')?, 1000),
    };
    n.trim_start_matches('+')
        .parse::<i64>()
        .ok()
        .map(|n| n * unit)
}

pub fn derive(played: &[Played], instances: usize, now: i64) -> Redlock {
    let calls = calls(played);
    let actions = engine_actions(played);
    let expired = expirations(played);
    let mut lanes: Vec<Instance> = (1..=instances)
        .map(|number| Instance {
            number,
            down: false,
            history: Vec::new(),
            clock_jump: 0,
        })
        .collect();
    let mut resources: Vec<Resource> = Vec::new();
    let mut clock_notes = Vec::new();
    // Merge the commands and the engine actions in the order they were played.
    let mut order: Vec<(usize, Option<&Call>, Option<&(usize, i64, String, String)>)> = Vec::new();
    order.extend(calls.iter().map(|c| (c.action, Some(c), None)));
    order.extend(actions.iter().map(|a| (a.0, None, Some(a))));
    order.sort_by_key(|(i, _, _)| *i);
    let mut last_at = i64::MIN;
    for (_, call, action) in order {
        let at = call.map(|c| c.at).or(action.map(|a| a.1)).unwrap_or(0);
        settle(&mut resources, &expired, last_at, at);
        last_at = at;
        if let Some((_, at, what, note)) = action {
            engine_action(
                &mut lanes,
                &mut resources,
                &mut clock_notes,
                *at,
                what,
                note,
            );
        }
        let Some(c) = call.filter(|c| is_lock_set(c)) else {
            continue;
        };
        let (Some(key), i) = (c.arg(0), c.sender.instance) else {
            continue;
        };
        if i == 0 || i > instances {
            continue;
        }
        let r = match resources.iter().position(|r| r.key == key) {
            Some(r) => r,
            None => {
                resources.push(Resource {
                    key: key.to_string(),
                    cells: vec![Cell::Free; instances],
                    acquired: Vec::new(),
                });
                resources.len() - 1
            }
        };
        let r = &mut resources[r];
        let client = c.sender.client.clone();
        if !r.acquired.iter().any(|(x, _)| *x == client) {
            r.acquired.push((client.clone(), 0));
        }
        if c.reply.is_none() {
            r.cells[i - 1] = Cell::Unreachable { client };
        } else if c.is_ok() {
            // PX counts from the instance's own clock, so a hold taken after a jump lasts its
            // full TTL; only holds that exist at the jump end early.
            let until = expiry_set(c).flatten().unwrap_or(i64::MAX);
            r.cells[i - 1] = Cell::Held {
                client: client.clone(),
                until,
            };
            if let Some(n) = r.acquired.iter_mut().find(|(x, _)| *x == client) {
                n.1 += 1;
            }
        }
    }
    settle(&mut resources, &expired, last_at, now);
    Redlock {
        instances: lanes,
        resources,
        quorum: instances / 2 + 1,
        clock_notes,
        now,
    }
}

fn settle(resources: &mut [Resource], expired: &[(usize, String, i64)], from: i64, to: i64) {
    for r in resources {
        for (i, cell) in r.cells.iter_mut().enumerate() {
            let Cell::Held { client, until } = cell else {
                continue;
            };
            let by_event = (expired.iter())
                .find(|(inst, k, t)| *inst == i + 1 && *k == r.key && *t > from && *t <= to)
                .map(|(_, _, t)| *t);
            let due = Some(*until).filter(|u| *u <= to).or(by_event);
            if let Some(at) = due {
                *cell = Cell::Expired {
                    client: client.clone(),
                    at,
                };
            }
        }
    }
}

fn engine_action(
    lanes: &mut [Instance],
    resources: &mut [Resource],
    clock_notes: &mut Vec<String>,
    at: i64,
    what: &str,
    note: &str,
) {
    let words: Vec<&str> = what.split_whitespace().collect();
    let lane = |n: &str| {
        n.parse::<usize>()
            .ok()
            .filter(|n| *n >= 1 && *n <= lanes.len())
    };
    match words.as_slice() {
        ["instance", n, state @ ("down" | "up")] => {
            if let Some(n) = lane(n) {
                lanes[n - 1].down = *state == "down";
                let text = if *state == "down" { "down" } else { "back up" };
                lanes[n - 1].history.push((at, text.to_string()));
            }
        }
        ["crash-restart", n] => {
            if let Some(n) = lane(n) {
                let empty = note.contains("empty");
                let text = if empty {
                    "crashed, restarted empty"
                } else {
                    "crashed, restarted with its saved data"
                };
                lanes[n - 1].history.push((at, text.to_string()));
                if empty {
                    for r in resources.iter_mut() {
                        if let Cell::Held { client, .. } = &r.cells[n - 1] {
                            r.cells[n - 1] = Cell::Lost {
                                client: client.clone(),
                            };
                        }
                    }
                }
            }
        }
        ["clock-drift", "instance", n, amount] => {
            if let (Some(n), Some(ms)) = (lane(n), signed_ms(amount)) {
                lanes[n - 1].clock_jump += ms;
                lanes[n - 1].history.push((
                    at,
                    format!("clock jumped {}{}", sign(ms), show_ms(ms.abs())),
                ));
                for r in resources.iter_mut() {
                    if let Cell::Held { until, .. } = &mut r.cells[n - 1] {
                        *until = until.saturating_sub(ms);
                    }
                }
            }
        }
        ["clock-drift", client, amount] => {
            if let Some(ms) = signed_ms(amount) {
                let way = if ms < 0 { "set back" } else { "moved ahead" };
                clock_notes.push(format!(
                    "{client}'s clock {way} by {} at {}: durations it measures across that are wrong",
                    show_ms(ms.abs()),
                    show_ms(at)
                ));
            }
        }
        _ => {}
    }
}

fn sign(ms: i64) -> &'static str {
    if ms < 0 {
        "-"
    } else {
        "+"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::views::calls::{lesson_at, now_of};
    use crate::model::views::played;

    fn at(steps: usize) -> Redlock {
        let l = lesson_at("redlock", steps);
        derive(
            &played(&l.player),
            l.player.scenario().instances,
            now_of(&l),
        )
    }

    fn holders(r: &Resource) -> Vec<Option<&str>> {
        (r.cells.iter())
            .map(|c| match c {
                Cell::Held { client, .. } => Some(client.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_holds_all_five_and_b_wins_none() {
        let v = at(2);
        assert_eq!(v.quorum, 3);
        let r = v.resource("res:invoice").expect("res:invoice");
        assert_eq!(holders(r), [Some("A"); 5]);
        assert_eq!(r.acquired, [("A".to_string(), 5), ("B".to_string(), 0)]);
        assert_eq!(r.winners(v.quorum), ["A"]);
    }

    #[test]
    fn a_down_instance_is_unreachable_and_four_still_make_a_majority() {
        let v = at(3);
        let r = v.resource("res:report").expect("res:report");
        assert_eq!(r.cells[2], Cell::Unreachable { client: "B".into() });
        assert_eq!(r.holders_now().get("A"), Some(&4));
        assert_eq!(r.winners(v.quorum), ["A"]);
        assert_eq!(v.instances[2].history.len(), 2, "down, then back up");
        assert!(!v.instances[2].down);
    }

    #[test]
    fn a_restart_that_forgets_lets_two_clients_reach_the_majority() {
        let v = at(4);
        let r = v.resource("res:payroll").expect("res:payroll");
        assert_eq!(
            holders(r),
            [Some("A"), Some("A"), Some("B"), Some("B"), Some("B")]
        );
        assert_eq!(r.winners(v.quorum), ["A", "B"]);
        assert!(v.instances[2]
            .history
            .iter()
            .any(|(_, t)| t.contains("empty")));
    }

    #[test]
    fn a_clock_jump_expires_a_key_early_and_b_takes_the_instance() {
        let v = at(5);
        let r = v.resource("res:ledger").expect("res:ledger");
        assert_eq!(v.instances[1].clock_jump, 2000);
        assert_eq!(
            holders(r),
            [Some("A"), Some("B"), Some("A"), Some("B"), Some("B")]
        );
        assert_eq!(r.winners(v.quorum), ["B", "A"]);
        let v = at(6);
        assert_eq!(v.clock_notes.len(), 1);
        assert!(v.clock_notes[0].starts_with("B's clock set back by 300 ms"));
    }
}
