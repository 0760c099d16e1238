//! Playing a whole scenario, unattended, and saying whether every expectation and check held:
//! `scenario check` (on the engine), `scenario replay` (on a real Redis), and the tests.

use crate::format::Scenario;
use crate::run::{missing, play_step, RunState, StepOutcome, TryMode, START_MS};
use crate::target::Target;

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub file: String,
    pub id: String,
    pub target: String,
    /// How many steps the scenario has.
    pub total_steps: usize,
    /// Why the whole scenario did not play (a requirement the target lacks).
    pub skipped: Option<String>,
    /// Why it could not start or finish cleanly (a config line refused, a restore that failed).
    pub error: Option<String>,
    pub steps: Vec<StepOutcome>,
}

impl Report {
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self.error.iter().cloned().collect();
        for s in &self.steps {
            out.extend(s.failures());
        }
        out
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// What did not play, and why: the whole scenario, or its skipped steps.
    pub fn notes(&self) -> Vec<String> {
        if let Some(s) = &self.skipped {
            return vec![s.clone()];
        }
        self.steps
            .iter()
            .filter_map(|s| {
                s.skipped
                    .as_ref()
                    .map(|why| format!("step {}: {why}", s.index + 1))
            })
            .collect()
    }

    /// A few lines for a terminal: the verdict, the notes, every failure.
    pub fn render(&self) -> String {
        let played = self.steps.iter().filter(|s| s.skipped.is_none()).count();
        let verdict = if self.skipped.is_some() {
            "skipped"
        } else if self.passed() {
            "ok"
        } else {
            "FAILED"
        };
        let mut out = format!(
            "{} ({}) on {}: {verdict}, {played} of {} steps played\n",
            self.file, self.id, self.target, self.total_steps
        );
        for n in self.notes() {
            out.push_str(&format!("  note: {n}\n"));
        }
        for f in self.failures() {
            for (i, line) in f.lines().enumerate() {
                out.push_str(if i == 0 { "  FAIL " } else { "       " });
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// Plays every step of `scenario` on `target`, solving try steps with their solutions.
pub fn run(scenario: &Scenario, target: &mut dyn Target) -> Report {
    let mut report = Report {
        file: scenario.file.clone(),
        id: scenario.id.clone(),
        target: target.label(),
        total_steps: scenario.steps.len(),
        skipped: None,
        error: None,
        steps: Vec::new(),
    };
    let lacking = missing(target, scenario, None);
    if !lacking.is_empty() {
        let names: Vec<&str> = lacking.iter().map(|c| c.name()).collect();
        report.skipped = Some(format!(
            "needs {}, which {} does not have yet",
            names.join(", "),
            target.label()
        ));
        return report;
    }
    if let Err(e) = target.setup(scenario, START_MS) {
        report.error = Some(format!("setup: {e}"));
        let _ = target.finish();
        return report;
    }
    let mut state = RunState::for_scenario(scenario, START_MS);
    for index in 0..scenario.steps.len() {
        let outcome = play_step(target, scenario, index, &mut state, TryMode::Solve);
        report.steps.push(outcome);
    }
    if let Err(e) = target.finish() {
        report.error = Some(format!("finish: {e}"));
    }
    report
}
