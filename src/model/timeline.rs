//! The timeline: every step the learner took, and snapshots to come back to any of them fast.
//!
//! A step is what moves the playground: a command typed by a client, time passing, a client
//! added, a setting changed. Steps are the whole truth of a session: replaying them from an
//! empty engine gives back the same state, which is how a session is restored from storage or a
//! share link. To rewind to step `k` without replaying from the start, the timeline keeps
//! snapshots of the model (the engine is `Clone`) every `interval` steps; rewinding restores the
//! nearest snapshot at or before `k` and replays forward from it. The number of snapshots is
//! bounded: when there are too many, every other one is dropped and the interval doubles, so a
//! long session costs a bounded amount of memory and a rewind replays at most about
//! `2 * steps / MAX_SNAPSHOTS` steps. In the page, a snapshot that falls due is taken when the
//! learner pauses rather than at once (copying a large engine takes a while, and replaying the
//! steps in between is cheap): see `Model::defer_snapshots`.

use serde::{Deserialize, Serialize};

/// A snapshot every this many steps, to begin with.
pub const INITIAL_INTERVAL: usize = 32;
/// At most this many snapshots are kept (the one at step 0 always).
pub const MAX_SNAPSHOTS: usize = 48;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Step {
    /// A line typed into a client's console.
    #[serde(rename = "cmd")]
    Command { pane: usize, line: String },
    /// The virtual clock moved to `to` (milliseconds).
    #[serde(rename = "time")]
    Advance { to: i64 },
    /// A client (console) was added.
    #[serde(rename = "client")]
    AddClient,
    /// A setting was changed from the controls (CONFIG SET on a connection of the playground's
    /// own, so that the learners' clients are not disturbed).
    #[serde(rename = "config")]
    Config { name: String, value: String },
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Command { .. } => "command",
            Step::Advance { .. } => "time",
            Step::AddClient => "client",
            Step::Config { .. } => "config",
        }
    }
}

/// Steps, where the model stands among them, and snapshots of the model at some of them.
#[derive(Clone)]
pub struct Timeline<S> {
    pub steps: Vec<Step>,
    /// The virtual time after each step.
    pub times: Vec<i64>,
    /// How many steps are applied: the model is the state after `steps[..cursor]`.
    pub cursor: usize,
    /// (k, state after the first k steps), increasing in k; the first is at 0.
    snapshots: Vec<(usize, S)>,
    interval: usize,
    /// The last step is an advance made while playing, still growing (see `extend_last`).
    pub open_advance: bool,
    /// Bumped whenever the steps change (for saving).
    pub revision: u64,
}

impl<S: Clone> Timeline<S> {
    pub fn new(initial: S) -> Self {
        Timeline {
            steps: Vec::new(),
            times: Vec::new(),
            cursor: 0,
            snapshots: vec![(0, initial)],
            interval: INITIAL_INTERVAL,
            open_advance: false,
            revision: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    /// Drops the steps after the cursor: what the learner does after rewinding starts a new
    /// branch of history.
    pub fn branch(&mut self) {
        if self.cursor < self.steps.len() {
            self.steps.truncate(self.cursor);
            self.times.truncate(self.cursor);
            let cursor = self.cursor;
            self.snapshots.retain(|(k, _)| *k <= cursor);
            self.open_advance = false;
            self.revision += 1;
        }
    }

    /// Records a step that has just been applied. Returns true when the model's state after it
    /// should be kept as a snapshot (`add_snapshot`).
    pub fn push(&mut self, step: Step, time: i64) -> bool {
        self.branch();
        self.steps.push(step);
        self.times.push(time);
        self.cursor = self.steps.len();
        self.open_advance = false;
        self.revision += 1;
        self.snapshot_due()
    }

    /// Whether the state after the last step should be kept: `interval` steps have passed since
    /// the latest snapshot.
    pub fn snapshot_due(&self) -> bool {
        let last = self.snapshots.last().map_or(0, |(k, _)| *k);
        self.cursor == self.steps.len() && self.cursor >= last + self.interval
    }

    /// Keeps `state` as the state after the last step.
    pub fn add_snapshot(&mut self, state: S) {
        let k = self.steps.len();
        self.snapshots.retain(|(at, _)| *at < k);
        self.snapshots.push((k, state));
        self.thin();
    }

    /// Whether an advance to `to` may grow the last step instead of adding one: while playing,
    /// one step per virtual second is enough to rewind to, and keeps the timeline readable.
    pub fn can_extend(&self, to: i64) -> bool {
        let n = self.steps.len();
        self.open_advance
            && self.cursor == n
            && n > 0
            && matches!(self.steps[n - 1], Step::Advance { .. })
            && self.snapshots.last().is_none_or(|(k, _)| *k < n)
            && to - if n >= 2 { self.times[n - 2] } else { 0 } < 1000
    }

    pub fn extend_last(&mut self, to: i64) {
        if let Some(Step::Advance { to: t }) = self.steps.last_mut() {
            *t = to;
            if let Some(last) = self.times.last_mut() {
                *last = to;
            }
            self.revision += 1;
        }
    }

    fn thin(&mut self) {
        if self.snapshots.len() <= MAX_SNAPSHOTS {
            return;
        }
        // Keep the first and every other one after it, and space future ones twice as far.
        self.interval *= 2;
        let mut i = 0;
        self.snapshots.retain(|_| {
            i += 1;
            i % 2 == 1
        });
    }

    /// The snapshot to start from to reach step `k`: the latest one at or before it.
    pub fn snapshot_before(&self, k: usize) -> (usize, &S) {
        let i = self.snapshots.partition_point(|(at, _)| *at <= k);
        let (at, s) = &self.snapshots[i.saturating_sub(1)];
        (*at, s)
    }

    /// The virtual time after `k` steps.
    pub fn time_at(&self, k: usize) -> i64 {
        if k == 0 {
            0
        } else {
            self.times[k - 1]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_stay_bounded_and_cover_the_history() {
        let mut t = Timeline::new(0usize);
        for i in 0..10_000 {
            if t.push(Step::AddClient, i) {
                t.add_snapshot(i as usize + 1);
            }
        }
        assert!(t.snapshot_count() <= MAX_SNAPSHOTS + 1);
        let (at, s) = t.snapshot_before(5000);
        assert!(at <= 5000 && 5000 - at <= 10_000 / (MAX_SNAPSHOTS / 2));
        assert_eq!(*s, at);
        assert_eq!(t.snapshot_before(0).0, 0);
    }

    #[test]
    fn pushing_after_a_rewind_drops_the_later_steps() {
        let mut t = Timeline::new(0usize);
        for i in 0..100 {
            if t.push(Step::Advance { to: i }, i) {
                t.add_snapshot(i as usize + 1);
            }
        }
        t.cursor = 40;
        t.push(Step::AddClient, 39);
        assert_eq!(t.len(), 41);
        assert_eq!(t.steps[40], Step::AddClient);
        assert!(t.snapshot_before(1000).0 <= 41);
    }

    #[test]
    fn steps_serialise_compactly() {
        let s = serde_json::to_string(&Step::Command {
            pane: 1,
            line: "GET k".into(),
        })
        .unwrap();
        assert_eq!(s, r#"{"t":"cmd","pane":1,"line":"GET k"}"#);
    }
}
