//! Runs a plan's steps in dependency order with at most `jobs` at once. Fail-fast by
//! default: the first failure cancels running steps and starts no more; with `keep_going`
//! only the dependents of a failed step are skipped. Ctrl-C cancels everything.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, field::Empty, info, info_span, warn};

use super::{RunOptions, RunOutcome, StepExecutor, StepFailure, StepOutcome, StepStatus};
use crate::plan::{Plan, Step, StepId};

enum State<T> {
    Waiting,
    Ready(Instant),
    Running,
    Done(StepOutcome, Option<T>),
}

pub async fn run<E: StepExecutor>(
    plan: Arc<Plan>,
    executor: Arc<E>,
    options: RunOptions,
) -> RunOutcome {
    run_until(plan, executor, options, ctrl_c()).await
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling on this platform: never interrupt.
        std::future::pending::<()>().await;
    }
}

/// [`run`] with the interrupt signal given, so tests can interrupt a run.
pub async fn run_until<E: StepExecutor>(
    plan: Arc<Plan>,
    executor: Arc<E>,
    options: RunOptions,
    interrupt: impl Future<Output = ()>,
) -> RunOutcome {
    let started = Instant::now();
    let jobs = options.jobs.max(1);
    let cancel = CancellationToken::new();
    let mut states: Vec<State<E::Output>> = plan.steps.iter().map(|_| State::Waiting).collect();
    let mut ready: VecDeque<StepId> = VecDeque::new();
    for step in &plan.steps {
        if step.dependencies.is_empty() {
            states[step.id] = State::Ready(Instant::now());
            ready.push_back(step.id);
        }
    }
    let mut running: JoinSet<(StepId, StepOutcome, Option<E::Output>)> = JoinSet::new();
    let mut stopping = false;
    let mut interrupted = false;
    tokio::pin!(interrupt);

    loop {
        while !stopping && running.len() < jobs {
            let Some(id) = ready.pop_front() else { break };
            let State::Ready(ready_at) = states[id] else {
                unreachable!("only ready steps are queued")
            };
            states[id] = State::Running;
            let step = plan.step(id).clone();
            let inputs: Vec<E::Output> = step
                .dependencies
                .iter()
                .map(|&dependency| match &states[dependency] {
                    State::Done(_, Some(output)) => output.clone(),
                    _ => unreachable!("a step starts only after its dependencies passed"),
                })
                .collect();
            let executor = Arc::clone(&executor);
            let cancel = cancel.child_token();
            let span = step_span(&step);
            running.spawn(
                async move {
                    let queue_wait = ready_at.elapsed();
                    let started_at = SystemTime::now();
                    let clock = Instant::now();
                    Span::current().record("xtask.queue_wait_ms", millis(queue_wait));
                    info!(queue_wait_ms = millis(queue_wait), "start");
                    let result = executor.execute(&step, inputs, cancel).await;
                    let duration = clock.elapsed();
                    let (status, output) = match result {
                        Ok(output) => (StepStatus::Passed, Some(output)),
                        Err(StepFailure::Failed { exit_code, message }) => (StepStatus::Failed { exit_code, message }, None),
                        Err(StepFailure::Cancelled) => (StepStatus::Cancelled, None),
                    };
                    record_end(&status, duration);
                    info!(status = status.label(), duration_ms = millis(duration), exit_code = ?exit_code_of(&status), "end");
                    (step.id, StepOutcome { id: step.id, status, started_at: Some(started_at), queue_wait, duration }, output)
                }
                .instrument(span),
            );
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { continue };
                let (id, outcome, output) = match joined {
                    Ok(done) => done,
                    Err(error) => std::panic::resume_unwind(error.into_panic()),
                };
                let passed = outcome.status == StepStatus::Passed;
                states[id] = State::Done(outcome, output);
                if passed {
                    for dependent in plan.dependents(id) {
                        let all_passed = dependent.dependencies.iter().all(|&d| matches!(&states[d], State::Done(o, _) if o.status == StepStatus::Passed));
                        if all_passed && matches!(states[dependent.id], State::Waiting) {
                            states[dependent.id] = State::Ready(Instant::now());
                            ready.push_back(dependent.id);
                        }
                    }
                } else if !options.keep_going && !stopping {
                    stopping = true;
                    cancel.cancel();
                }
            }
            () = &mut interrupt, if !interrupted => {
                warn!("interrupted: stopping every running step");
                interrupted = true;
                stopping = true;
                cancel.cancel();
            }
        }
    }

    let steps = finish(&plan, states, interrupted);
    RunOutcome {
        steps,
        interrupted,
        duration: started.elapsed(),
    }
}

/// Outcomes for every step, explaining why the ones that never ran did not.
fn finish<T>(plan: &Plan, states: Vec<State<T>>, interrupted: bool) -> Vec<StepOutcome> {
    let mut outcomes: Vec<Option<StepOutcome>> = states
        .into_iter()
        .map(|state| match state {
            State::Done(outcome, _) => Some(outcome),
            _ => None,
        })
        .collect();
    for step in &plan.steps {
        if outcomes[step.id].is_some() {
            continue;
        }
        // Name a failed dependency rather than one cancelled because of it.
        let not_passed = |&&dependency: &&StepId| !matches!(&outcomes[dependency], Some(outcome) if outcome.status == StepStatus::Passed);
        let failed = |&&dependency: &&StepId| {
            matches!(
                &outcomes[dependency],
                Some(StepOutcome {
                    status: StepStatus::Failed { .. },
                    ..
                })
            )
        };
        let blocker = step
            .dependencies
            .iter()
            .find(failed)
            .or_else(|| step.dependencies.iter().find(not_passed));
        let reason = match (blocker, interrupted) {
            (_, true) => "interrupted".to_owned(),
            (Some(&blocker), false) => format!("`{}` did not pass", plan.step(blocker).invocation),
            (None, false) => "stopped after an earlier failure".to_owned(),
        };
        outcomes[step.id] = Some(StepOutcome {
            id: step.id,
            status: StepStatus::Skipped { reason },
            started_at: None,
            queue_wait: Duration::ZERO,
            duration: Duration::ZERO,
        });
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every step has an outcome"))
        .collect()
}

/// The span of one step: what runs (recipe, arguments, and the runner and image, which the
/// executor records), then how it went (queue wait, duration, status, exit code). The
/// attributes are namespaced `xtask.*`; the human log shows only `step`.
fn step_span(step: &Step) -> Span {
    info_span!(
        "step",
        otel.name = %format!("step {}", step.invocation),
        step = %step.invocation,
        xtask.step_id = step.id,
        xtask.recipe = %step.invocation.recipe,
        xtask.arguments = %step.invocation.arguments.join(" "),
        xtask.level = step.level,
        xtask.runner = Empty,
        xtask.image = Empty,
        xtask.queue_wait_ms = Empty,
        xtask.duration_ms = Empty,
        xtask.status = Empty,
        xtask.exit_code = Empty,
        otel.status_code = Empty,
    )
}

fn record_end(status: &StepStatus, duration: Duration) {
    let span = Span::current();
    span.record("xtask.duration_ms", millis(duration));
    span.record("xtask.status", status.label());
    if let Some(exit_code) = exit_code_of(status) {
        span.record("xtask.exit_code", exit_code);
    }
    if matches!(status, StepStatus::Failed { .. }) {
        span.record("otel.status_code", "ERROR");
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn exit_code_of(status: &StepStatus) -> Option<i32> {
    match status {
        StepStatus::Failed { exit_code, .. } => *exit_code,
        _ => None,
    }
}
