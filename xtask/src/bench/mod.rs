//! `cargo xtask bench`: what users feel, against the obvious baseline, in one run. Each
//! measure runs both of its sides several times, interleaved ([`sample::interleave`]), and
//! reports each side's median and spread, the ratio of the medians and whether the goal of
//! issue 11 is met; [`report`] renders that as Markdown for `docs/performance.md`.
//!
//! - [`local`]: `cargo xtask test` against `just test`, and `ci` and `build --all-targets`
//!   with the parallel DAG against the same steps one after another, in a copy of the app;
//! - [`hash`]: parity hashing against `sha256sum`;
//! - [`plan`]: the model, plan and Dagger translation of generated justfiles
//!   ([`generate`]) of growing size.

pub mod generate;
pub mod hash;
pub mod local;
pub mod machine;
pub mod plan;
pub mod report;
pub mod sample;
pub mod stats;

use std::time::{Duration, Instant, SystemTime};

use color_eyre::Result;
use serde::Serialize;
use tracing::{info, info_span, warn};

use self::{
    machine::{Machine, Versions},
    stats::Stats,
};
use crate::flags::Global;

/// The measures of the bench, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// `cargo xtask test --runner local` against `just test`
    Test,
    /// Parity hashing of ~1 GB against `sha256sum`
    Hash,
    /// `ci` with the parallel DAG against its steps one after another
    Ci,
    /// `build --all-targets` in parallel against one target after another
    Build,
    /// Plan and Dagger translation of generated 100- to 2000-recipe justfiles
    Plan,
}

impl Measure {
    pub const ALL: [Measure; 5] = [
        Measure::Test,
        Measure::Hash,
        Measure::Ci,
        Measure::Build,
        Measure::Plan,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Measure::Test => "test",
            Measure::Hash => "hash",
            Measure::Ci => "ci",
            Measure::Build => "build",
            Measure::Plan => "plan",
        }
    }

    /// Runs of each side when `--runs` is not given: enough for a median, few enough that
    /// the whole bench takes 5 to 10 minutes on a 2-core machine (`ci` is ~20 s a run).
    pub fn default_runs(self) -> usize {
        match self {
            Measure::Test | Measure::Plan => 10,
            Measure::Hash | Measure::Build => 5,
            Measure::Ci => 3,
        }
    }
}

/// What a row of the table is held to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Goal {
    /// The candidate's median over the baseline's is at most this.
    RatioAtMost(f64),
    /// The baseline's median over the candidate's is at least this.
    SpeedupAtLeast(f64),
    /// The candidate's median exceeds the baseline's by less than this.
    AddsUnder(Duration),
    /// The candidate's median is under this.
    Under(Duration),
    /// Time grows with size with at most this exponent (1: linear); the measured exponent.
    GrowthAtMost { limit: f64, exponent: Option<f64> },
}

/// A goal checked against the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub goal: String,
    pub measured: String,
    /// `None` when the numbers to decide are missing.
    pub met: Option<bool>,
}

impl Goal {
    pub fn check(&self, candidate: &Stats, baseline: Option<&Stats>) -> Check {
        let (goal, measured, met) = match *self {
            Goal::RatioAtMost(limit) => {
                let ratio = baseline.map(|baseline| stats::ratio(candidate, baseline));
                (
                    format!("≤{limit:.2}×"),
                    ratio.map(|ratio| format!("{ratio:.2}×")),
                    ratio.map(|ratio| ratio <= limit),
                )
            }
            Goal::SpeedupAtLeast(limit) => {
                let speedup = baseline.map(|baseline| stats::ratio(baseline, candidate));
                (
                    format!("≥{limit:.1}× as fast"),
                    speedup.map(|speedup| format!("{speedup:.2}× as fast")),
                    speedup.map(|speedup| speedup >= limit),
                )
            }
            Goal::AddsUnder(limit) => {
                let added = baseline.map(|baseline| candidate.median() - baseline.median());
                (
                    format!("adds <{}", report::seconds(limit.as_secs_f64())),
                    added.map(report::signed_seconds),
                    added.map(|added| added < limit.as_secs_f64()),
                )
            }
            Goal::Under(limit) => (
                format!("<{}", report::seconds(limit.as_secs_f64())),
                Some(report::seconds(candidate.median())),
                Some(candidate.median() < limit.as_secs_f64()),
            ),
            Goal::GrowthAtMost { limit, exponent } => (
                format!("grows linearly (exponent ≤{limit:.1})"),
                exponent.map(|exponent| format!("exponent {exponent:.2}")),
                exponent.map(|exponent| exponent <= limit),
            ),
        };
        Check {
            goal,
            measured: measured.unwrap_or_else(|| "-".to_owned()),
            met,
        }
    }
}

/// One row of the table: a candidate, its baseline, and the goals it is held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub baseline_name: Option<String>,
    pub candidate: Stats,
    pub baseline: Option<Stats>,
    pub goals: Vec<Goal>,
}

impl Row {
    pub fn checks(&self) -> Vec<Check> {
        self.goals
            .iter()
            .map(|goal| goal.check(&self.candidate, self.baseline.as_ref()))
            .collect()
    }

    /// `Some(false)` when a goal is missed; `None` without goals.
    pub fn met(&self) -> Option<bool> {
        let checks = self.checks();
        if checks.is_empty() {
            return None;
        }
        Some(checks.iter().all(|check| check.met == Some(true)))
    }
}

/// What one measure found: its rows, and Markdown with the details behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureResult {
    pub measure: Measure,
    pub rows: Vec<Row>,
    pub details: String,
    /// The 1-minute load average when the measure started.
    pub load_before: Option<f64>,
}

impl MeasureResult {
    pub fn new(measure: Measure, rows: Vec<Row>, details: String) -> MeasureResult {
        MeasureResult {
            measure,
            rows,
            details,
            load_before: None,
        }
    }
}

/// A whole bench.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub started_at: String,
    pub elapsed: Duration,
    pub machine: Machine,
    pub versions: Versions,
    /// `--runs`, when given.
    pub runs: Option<usize>,
    /// `--max-load`, when given.
    pub max_load: Option<f64>,
    pub results: Vec<MeasureResult>,
    pub load_at_end: Option<[f64; 3]>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub measures: Vec<Measure>,
    pub runs: Option<usize>,
    /// Wait for the 1-minute load average to drop below this before each measure.
    pub max_load: Option<f64>,
    pub global: Global,
}

/// How long to wait for a quiet machine before measuring anyway.
const LOAD_PATIENCE: Duration = Duration::from_secs(15 * 60);

/// Runs the chosen measures, one after another.
pub fn run(options: &Options) -> Result<Report> {
    let started = Instant::now();
    let started_at = crate::run_report::rfc3339(SystemTime::now());
    let project = crate::project::Project::open(options.global.project.as_deref())?;
    let machine = Machine::detect();
    let versions = Versions::detect(&project.root);
    info!(cores = machine.cores, load = ?machine.load_at_start, "bench started");
    let mut app: Option<local::App> = None;
    let mut results = Vec::new();
    for &measure in &options.measures {
        let runs = options.runs.unwrap_or_else(|| measure.default_runs());
        let _span = info_span!("measure", measure = measure.name(), runs).entered();
        let load_before = match options.max_load {
            Some(max) => {
                let (load, quiet) = machine::wait_for_load(max, LOAD_PATIENCE);
                if !quiet {
                    warn!(load, max, "the machine stayed busy; measuring anyway");
                }
                load
            }
            None => machine::load_average().map(|[one, _, _]| one),
        };
        let mut result = match measure {
            Measure::Test => local::test(local::App::get(&mut app, &project)?, runs)?,
            Measure::Hash => hash::measure(&hash::HashOptions::default(), runs)?.into_measure(),
            Measure::Ci => local::ci(
                local::App::get(&mut app, &project)?,
                runs,
                options.global.jobs(),
            )?,
            Measure::Build => local::build(
                local::App::get(&mut app, &project)?,
                runs,
                options.global.jobs(),
            )?,
            Measure::Plan => plan::measure(&project, runs)?,
        };
        result.load_before = load_before;
        results.push(result);
    }
    Ok(Report {
        started_at,
        elapsed: started.elapsed(),
        machine,
        versions,
        runs: options.runs,
        max_load: options.max_load,
        results,
        load_at_end: machine::load_average(),
    })
}
