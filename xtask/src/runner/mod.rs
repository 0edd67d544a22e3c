//! Runners execute the steps of a plan. The scheduler ([`schedule`]) owns the order,
//! parallelism, fail-fast and Ctrl-C; a runner only knows how to execute one step.

pub mod dagger;
pub mod local;
pub mod output;
pub mod schedule;

use std::{
    future::Future,
    time::{Duration, SystemTime},
};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::plan::{Step, StepId};

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum StepStatus {
    Passed,
    Failed {
        /// The recipe's exit code; absent when it was killed by a signal or never started.
        exit_code: Option<i32>,
        message: String,
    },
    /// Started, then stopped because another step failed or the user pressed Ctrl-C.
    Cancelled,
    /// Never started.
    Skipped {
        reason: String,
    },
}

impl StepStatus {
    pub fn label(&self) -> &'static str {
        match self {
            StepStatus::Passed => "ok",
            StepStatus::Failed { .. } => "FAILED",
            StepStatus::Cancelled => "cancelled",
            StepStatus::Skipped { .. } => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutcome {
    pub id: StepId,
    #[serde(flatten)]
    pub status: StepStatus,
    /// Wall-clock start, when it started.
    pub started_at: Option<SystemTime>,
    /// From ready (all dependencies done) to started: time spent waiting for a job slot.
    pub queue_wait: Duration,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunOutcome {
    /// One outcome per plan step, in plan order.
    pub steps: Vec<StepOutcome>,
    pub interrupted: bool,
    pub duration: Duration,
}

impl RunOutcome {
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self
                .steps
                .iter()
                .all(|step| step.status == StepStatus::Passed)
    }

    pub fn count(&self, label: &str) -> usize {
        self.steps
            .iter()
            .filter(|step| step.status.label() == label)
            .count()
    }
}

/// What a runner's execution of one step produced: passed with an output value, or failed.
pub type StepResult<T> = Result<T, StepFailure>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFailure {
    Failed {
        exit_code: Option<i32>,
        message: String,
    },
    Cancelled,
}

/// Executes single steps. `Output` is what a finished step hands to the steps that depend
/// on it (nothing for the local runner, whose steps share the working tree).
pub trait StepExecutor: Send + Sync + 'static {
    type Output: Clone + Send + Sync + 'static;

    /// Runs `step` after its dependencies produced `inputs` (in the order of
    /// `step.dependencies`); stops early and returns [`StepFailure::Cancelled`] once `cancel`
    /// fires.
    fn execute(
        &self,
        step: &Step,
        inputs: Vec<Self::Output>,
        cancel: CancellationToken,
    ) -> impl Future<Output = StepResult<Self::Output>> + Send;
}

/// Options every runner shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Steps running at once, at least 1.
    pub jobs: usize,
    /// Keep running independent steps after a failure.
    pub keep_going: bool,
}
