//! What a run tells its user at the end: every step with its status and duration.

use std::{fmt::Write as _, time::Duration};

use crate::{
    plan::Plan,
    runner::{RunOutcome, StepStatus},
};

/// The summary table printed after a run.
pub fn summary(plan: &Plan, outcome: &RunOutcome) -> String {
    let width = plan
        .steps
        .iter()
        .map(|step| step.invocation.to_string().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for step in &outcome.steps {
        let invocation = plan.step(step.id).invocation.to_string();
        let detail = match &step.status {
            StepStatus::Passed | StepStatus::Cancelled => String::new(),
            StepStatus::Failed { exit_code, .. } => {
                exit_code.map_or_else(|| "killed".to_owned(), |code| format!("exit code {code}"))
            }
            StepStatus::Skipped { reason } => reason.clone(),
        };
        let duration = if step.started_at.is_some() {
            seconds(step.duration)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<9} {invocation:<width$} {duration:>8}  {detail}",
            step.status.label()
        );
    }
    let _ = write!(
        out,
        "{} step{}: {} passed, {} failed, {} cancelled, {} skipped in {}",
        outcome.steps.len(),
        if outcome.steps.len() == 1 { "" } else { "s" },
        outcome.count("ok"),
        outcome.count("FAILED"),
        outcome.count("cancelled"),
        outcome.count("skipped"),
        seconds(outcome.duration).trim(),
    );
    if outcome.interrupted {
        out.push_str(" (interrupted)");
    }
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
