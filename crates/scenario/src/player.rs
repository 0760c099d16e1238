//! The playground's view of a scenario: one step at a time, forwards and back, on the engine.
//!
//! Stepping back restores a snapshot (the engine is `Clone`): one is kept for every position,
//! taken when the position was reached and refreshed when the learner runs commands there.
//! Because everything is deterministic, a snapshot is exactly what replaying from the start
//! would give; `rebuilt` does that replay, and the tests hold the two to each other.
//!
//! At a try step the learner runs commands of their own (`run_own`) and asks for the check
//! results. Leaving a try step whose checks still fail plays its solution first, so that the
//! steps after it find the state they were written for. The learner's commands are part of the
//! history: replaying a position replays them too, and going back before a position forgets
//! the commands made there.

use cachelab_engine::cli::split_args;
use cachelab_engine::cluster::{Cluster, ClusterEvent};
use cachelab_engine::{Config, Engine};

use crate::cluster::{ClusterTarget, Served};
use crate::format::{Capability, Command, Scenario, Sender, Step, StepKind};
use crate::run::{
    evaluate_check, missing, play_step, run_command, ActionOutcome, CheckResult, RunState,
    StepOutcome, TryMode, START_MS,
};
use crate::target::{EngineTarget, Instance, Target};
use crate::template::parse_arg;

#[derive(Clone)]
struct Sim {
    target: EngineTarget,
    state: RunState,
}

/// A command the learner ran, or a solution played for them, at some position.
#[derive(Clone, Debug)]
struct Own {
    command: Command,
    solution: bool,
}

pub struct Player {
    scenario: Scenario,
    base: Config,
    setup_error: Option<String>,
    missing: Vec<Capability>,
    live: Sim,
    /// Steps played: 0 before the first, `len()` at the end.
    pos: usize,
    outcomes: Vec<StepOutcome>,
    /// `own[p]`: what the learner ran while at position p.
    own: Vec<Vec<Own>>,
    /// `own_outcomes[p]`: the outcomes of `own[p]`.
    own_outcomes: Vec<Vec<ActionOutcome>>,
    /// `snapshots[p]`: the state at position p, the learner's commands there included.
    snapshots: Vec<Sim>,
}

impl Player {
    /// Sets the scenario up on a fresh engine configured from `config` (the scenario's seed and
    /// config lines go on top). Nothing is played yet.
    pub fn new(scenario: Scenario, config: Config) -> Player {
        let (live, setup_error) = Player::start(&scenario, &config);
        let missing = {
            let mut t = live.target.clone();
            missing(&mut t, &scenario, None)
        };
        Player {
            snapshots: vec![live.clone()],
            live,
            setup_error,
            missing,
            base: config,
            scenario,
            pos: 0,
            outcomes: Vec::new(),
            own: vec![Vec::new()],
            own_outcomes: vec![Vec::new()],
        }
    }

    fn start(scenario: &Scenario, config: &Config) -> (Sim, Option<String>) {
        let mut target = EngineTarget::new(config.clone());
        let error = target.setup(scenario, START_MS).err();
        target.take_events();
        let sim = Sim {
            target,
            state: RunState::for_scenario(scenario, START_MS),
        };
        (sim, error)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Why the scenario's configuration could not be applied, if it could not.
    pub fn setup_error(&self) -> Option<&str> {
        self.setup_error.as_deref()
    }

    /// The scenario's requirements the engine lacks: every step will be skipped.
    pub fn missing_requirements(&self) -> &[Capability] {
        &self.missing
    }

    pub fn len(&self) -> usize {
        self.scenario.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scenario.steps.is_empty()
    }

    /// How many steps have been played.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.len()
    }

    /// The step last played, the one the learner is looking at.
    pub fn current_step(&self) -> Option<&Step> {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.scenario.steps.get(i))
    }

    /// The narration of the current step (the scenario's summary before the first).
    pub fn narration(&self) -> &str {
        match self.current_step() {
            Some(s) => &s.narration,
            None => &self.scenario.summary,
        }
    }

    /// What the current step did.
    pub fn current_outcome(&self) -> Option<&StepOutcome> {
        self.pos.checked_sub(1).and_then(|i| self.outcomes.get(i))
    }

    /// What step `i` (0-based) did, if it has been played.
    pub fn outcome(&self, i: usize) -> Option<&StepOutcome> {
        self.outcomes.get(i)
    }

    pub fn outcomes(&self) -> &[StepOutcome] {
        &self.outcomes
    }

    /// What the learner's own commands (and played solutions) did at the current position.
    pub fn own_outcomes(&self) -> &[ActionOutcome] {
        &self.own_outcomes[self.pos]
    }

    /// The scenario's clock.
    pub fn now(&self) -> i64 {
        self.live.state.now
    }

    /// The engine of an instance, or of a cluster's node (1-based), for views to draw from.
    pub fn engine(&self, instance: usize) -> Option<&Engine> {
        self.live.target.engine(instance)
    }

    /// The cluster of a cluster scenario (`cluster: N`), for the cluster view.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.live.target.cluster().map(ClusterTarget::cluster)
    }

    /// Everything the cluster reported since the lesson started (the last 10,000 events).
    pub fn cluster_events(&self) -> &[ClusterEvent] {
        self.live
            .target
            .cluster()
            .map_or(&[], ClusterTarget::events)
    }

    /// The cluster's events, each with the scenario's clock when it was reported.
    pub fn cluster_timed_events(&self) -> Vec<(i64, &ClusterEvent)> {
        self.live
            .target
            .cluster()
            .map(|c| c.timed_events().collect())
            .unwrap_or_default()
    }

    /// The commands the cluster's nodes ran for clients so far (not the ones they redirected),
    /// oldest first: the load per node.
    pub fn cluster_served(&self) -> &[Served] {
        self.live
            .target
            .cluster()
            .map_or(&[], ClusterTarget::served)
    }

    /// The commands the cluster's nodes ran at the current position: the current step's and
    /// the learner's own there (everything so far before the first step).
    pub fn cluster_served_here(&self) -> &[Served] {
        let all = self.cluster_served();
        let total = |sim: &Sim| sim.target.cluster().map_or(0, ClusterTarget::served_total);
        let before = self
            .pos
            .checked_sub(1)
            .and_then(|p| self.snapshots.get(p))
            .map_or(0, total);
        let here = usize::try_from(total(&self.live).saturating_sub(before)).unwrap_or(usize::MAX);
        &all[all.len().saturating_sub(here)..]
    }

    /// The node (1-based) a client's connection is on in a cluster, once it has sent something.
    pub fn client_node(&self, client: &str) -> Option<usize> {
        self.live.target.cluster()?.client_node(client)
    }

    pub fn instance(&self, instance: usize) -> Option<&Instance> {
        self.live.target.instance(instance)
    }

    /// What redis-cli would show as a client's latest output.
    pub fn latest(&self, sender: &Sender) -> Option<String> {
        self.live.state.latest(sender)
    }

    /// The current try step's checks, evaluated now.
    pub fn check_results(&mut self) -> Vec<CheckResult> {
        let Some(step) = self.current_step().cloned() else {
            return Vec::new();
        };
        if step.kind != StepKind::Try {
            return Vec::new();
        }
        let Sim { target, state } = &mut self.live;
        step.checks
            .iter()
            .map(|c| evaluate_check(target, state, c))
            .collect()
    }

    /// Plays the next step and returns what it did; None at the end.
    pub fn step_forward(&mut self) -> Option<&StepOutcome> {
        if self.at_end() {
            return None;
        }
        self.leave_try_step();
        let outcome = {
            let Sim { target, state } = &mut self.live;
            play_step(target, &self.scenario, self.pos, state, TryMode::Pause)
        };
        self.outcomes.truncate(self.pos);
        self.outcomes.push(outcome);
        self.pos += 1;
        self.own.truncate(self.pos);
        self.own.push(Vec::new());
        self.own_outcomes.truncate(self.pos);
        self.own_outcomes.push(Vec::new());
        self.snapshots.truncate(self.pos);
        self.snapshots.push(self.live.clone());
        self.outcomes.last()
    }

    /// Leaving an unsolved try step plays its solution, as the learner's commands there.
    fn leave_try_step(&mut self) {
        let Some(step) = self.current_step().cloned() else {
            return;
        };
        if step.kind != StepKind::Try || self.outcomes[self.pos - 1].skipped.is_some() {
            return;
        }
        if self.check_results().iter().all(|c| c.passed) {
            return;
        }
        for command in step.solution {
            self.run_recorded(Own {
                command,
                solution: true,
            });
        }
    }

    /// Goes back one step.
    pub fn step_back(&mut self) -> bool {
        if self.pos == 0 {
            return false;
        }
        self.jump_to(self.pos - 1);
        true
    }

    /// Goes to position `i` (0: before the first step; `len()`: after the last).
    pub fn jump_to(&mut self, i: usize) {
        let i = i.min(self.len());
        if i < self.pos {
            self.live = self.snapshots[i].clone();
            self.pos = i;
            self.outcomes.truncate(i);
            self.snapshots.truncate(i + 1);
            self.own.truncate(i + 1);
            self.own_outcomes.truncate(i + 1);
        }
        while self.pos < i {
            self.step_forward();
        }
    }

    /// Runs a command the learner typed, as `client` on instance 1 (in a cluster: on the
    /// client's connection, wherever redirections took it; `{now}` works as in the scenario),
    /// at the current position.
    pub fn run_own(&mut self, client: &str, line: &str) -> Result<ActionOutcome, String> {
        let instance = if self.scenario.cluster.is_some() {
            0
        } else {
            1
        };
        self.run_own_on(
            Sender {
                client: client.to_string(),
                instance,
            },
            line,
        )
    }

    pub fn run_own_on(&mut self, sender: Sender, line: &str) -> Result<ActionOutcome, String> {
        if !self.scenario.clients.contains(&sender.client) {
            return Err(format!("unknown client '{}'", sender.client));
        }
        let lowest = if self.scenario.cluster.is_some() {
            0
        } else {
            1
        };
        if sender.instance < lowest || sender.instance > self.scenario.instances {
            return Err(format!("no instance {}", sender.instance));
        }
        if line.contains('\0') {
            // The argument splitter takes a NUL for the end of the input.
            return Err("Invalid argument(s)".into());
        }
        let raw = split_args(line).map_err(|e| e.to_string())?;
        if raw.is_empty() {
            return Err("empty command".into());
        }
        let args = raw
            .iter()
            .map(|a| parse_arg(a, false))
            .collect::<Result<Vec<_>, _>>()?;
        let command = Command {
            line: 0,
            sender,
            text: line.to_string(),
            args,
        };
        Ok(self.run_recorded(Own {
            command,
            solution: false,
        }))
    }

    /// Plays the current try step's solution for the learner.
    pub fn show_solution(&mut self) -> Vec<ActionOutcome> {
        let Some(step) = self.current_step().cloned() else {
            return Vec::new();
        };
        step.solution
            .into_iter()
            .map(|command| {
                self.run_recorded(Own {
                    command,
                    solution: true,
                })
            })
            .collect()
    }

    fn run_recorded(&mut self, own: Own) -> ActionOutcome {
        let outcome = {
            let Sim { target, state } = &mut self.live;
            let who = if own.solution {
                format!("solution {}", own.command.sender)
            } else {
                own.command.sender.to_string()
            };
            run_command(target, state, &own.command, 0, &who)
        };
        self.own[self.pos].push(own);
        self.own_outcomes[self.pos].push(outcome.clone());
        self.snapshots[self.pos] = self.live.clone();
        outcome
    }

    /// Replays everything from the start up to the current position, without snapshots, and
    /// returns the outcomes of each step and of the learner's commands. Equal to what stepping
    /// gave: the tests hold the snapshots to this.
    pub fn rebuilt(&self) -> (Vec<StepOutcome>, Vec<Vec<ActionOutcome>>, EngineTarget) {
        let (mut sim, _) = Player::start(&self.scenario, &self.base);
        let mut outcomes = Vec::new();
        let mut owns = Vec::new();
        for p in 0..=self.pos {
            if p > 0 {
                let Sim { target, state } = &mut sim;
                outcomes.push(play_step(
                    target,
                    &self.scenario,
                    p - 1,
                    state,
                    TryMode::Pause,
                ));
            }
            let mut at = Vec::new();
            for own in &self.own[p] {
                let who = if own.solution {
                    format!("solution {}", own.command.sender)
                } else {
                    own.command.sender.to_string()
                };
                let Sim { target, state } = &mut sim;
                at.push(run_command(target, state, &own.command, 0, &who));
            }
            owns.push(at);
        }
        (outcomes, owns, sim.target)
    }

    /// The learner's commands' outcomes at every position up to the current one.
    pub fn all_own_outcomes(&self) -> &[Vec<ActionOutcome>] {
        &self.own_outcomes
    }

    /// The engine target in its current state.
    pub fn target(&self) -> &EngineTarget {
        &self.live.target
    }
}
