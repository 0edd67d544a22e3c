//! Planning at scale: generated justfiles of 100 to 2000 recipes ([`generate`]) through
//! `just --dump` (a subprocess) and then, in process, the model, the plan of `all` and the
//! Dagger translation ([`pipeline::translate`], no engine). The two halves are timed apart,
//! interleaved, so the report can say which one grows.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};
use tracing::info;

use super::{
    Goal, Measure, MeasureResult, Row,
    generate::{self, Pins},
    report::seconds,
    sample::{interleave, log_sample},
    stats::{self, Stats},
};
use crate::{
    environment::BuildEnvironment,
    just::Just,
    justfile::Justfile,
    plan::{Invocation, Plan},
    project::Project,
    runner::dagger::{
        self,
        pipeline::{self, DEFAULT_IMAGE_VARIABLE, PYTHON_IMAGE_VARIABLE},
    },
    tools::{BUN_PIN, Provision, Toolchain},
};

/// The sizes, in recipes; the goal is held at [`GOAL_SIZE`].
pub const SIZES: [usize; 5] = [100, 250, 500, 1000, 2000];
pub const GOAL_SIZE: usize = 500;
const GOAL: Duration = Duration::from_millis(200);
/// Above this growth exponent, time no longer grows linearly with the number of recipes.
const LINEAR: f64 = 1.2;

/// The in-process half, by phase.
#[derive(Debug, Clone, Copy)]
struct Phases {
    model: Duration,
    plan: Duration,
    pipeline: Duration,
}

impl Phases {
    fn total(&self) -> Duration {
        self.model + self.plan + self.pipeline
    }
}

/// One size's samples.
struct SizeResult {
    n_recipes: usize,
    dump: Stats,
    model: Stats,
    plan: Stats,
    pipeline: Stats,
    in_process: Stats,
    /// Each round's dump plus its in-process half.
    total: Stats,
}

/// The model, plan and pipeline of one dump; the number of steps the pipeline holds.
fn in_process(dump: &str, project: &Project) -> Result<(Phases, usize)> {
    let started = Instant::now();
    let justfile =
        Justfile::from_dump(dump).wrap_err("cannot read the dump of the generated justfile")?;
    let model = started.elapsed();
    let started = Instant::now();
    let plan =
        Plan::new(&justfile, &[Invocation::new("all", &[])]).map_err(|error| eyre!(error))?;
    let plan_time = started.elapsed();
    let started = Instant::now();
    let environment = BuildEnvironment {
        source_date_epoch: "0".to_owned(),
    };
    let context = dagger::context(&justfile, project, &environment, None)?;
    let pipeline = pipeline::translate(&plan, &context)?;
    let pipeline_time = started.elapsed();
    Ok((
        Phases {
            model,
            plan: plan_time,
            pipeline: pipeline_time,
        },
        pipeline.steps.len(),
    ))
}

fn measure_size(just: &Just, pins: &Pins, n_recipes: usize, runs: usize) -> Result<SizeResult> {
    let dir = tempfile::Builder::new()
        .prefix("xtask-bench-plan-")
        .tempdir()
        .wrap_err("cannot create a directory for the generated justfile")?;
    let path = dir.path().join("justfile");
    std::fs::write(&path, generate::justfile(n_recipes, pins))
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    let project = Project::open(Some(dir.path()))?;
    // Untimed: the dump the in-process side reads, and a check that every recipe is planned.
    let dump = just.dump(&path)?;
    let (_, n_steps) = in_process(&dump, &project)?;
    if n_steps != n_recipes + 1 {
        bail!(
            "the plan of the generated `all` has {n_steps} steps, not {}",
            n_recipes + 1
        );
    }
    let label = format!("plan {n_recipes}");
    let samples = interleave(2, runs, |side, round| {
        if side == 0 {
            let started = Instant::now();
            just.dump(&path)?;
            let wall = started.elapsed();
            log_sample(&label, "just --dump", round, runs, wall);
            Ok(Sample::Dump(wall))
        } else {
            let (phases, _) = in_process(&dump, &project)?;
            log_sample(&label, "model+plan+pipeline", round, runs, phases.total());
            Ok(Sample::InProcess(phases))
        }
    })?;
    let dumps: Vec<Duration> = samples[0]
        .iter()
        .filter_map(|sample| match sample {
            Sample::Dump(wall) => Some(*wall),
            Sample::InProcess(_) => None,
        })
        .collect();
    let phases: Vec<Phases> = samples[1]
        .iter()
        .filter_map(|sample| match sample {
            Sample::InProcess(phases) => Some(*phases),
            Sample::Dump(_) => None,
        })
        .collect();
    let of = |pick: fn(&Phases) -> Duration| -> Stats {
        Stats::of_durations(&phases.iter().map(pick).collect::<Vec<_>>()).expect("runs ≥ 1")
    };
    Ok(SizeResult {
        n_recipes,
        dump: Stats::of_durations(&dumps).expect("runs ≥ 1"),
        model: of(|phases| phases.model),
        plan: of(|phases| phases.plan),
        pipeline: of(|phases| phases.pipeline),
        in_process: of(Phases::total),
        total: Stats::of_durations(
            &dumps
                .iter()
                .zip(&phases)
                .map(|(dump, phases)| *dump + phases.total())
                .collect::<Vec<_>>(),
        )
        .expect("runs ≥ 1"),
    })
}

enum Sample {
    Dump(Duration),
    InProcess(Phases),
}

/// The pins of the project's justfile, so the generated ones read like it.
fn pins(project: &Project) -> Result<(Just, Pins)> {
    let (toolchain, justfile) = Toolchain::resolve(project, Provision::Install)?;
    let variable = |name: &str, fallback: &str| -> Result<String> {
        Ok(justfile
            .variable(name)?
            .unwrap_or_else(|| fallback.to_owned()))
    };
    let pins = Pins {
        just: toolchain.just.version.clone(),
        bun: variable(BUN_PIN, "1.4.5")?,
        image: variable(
            DEFAULT_IMAGE_VARIABLE,
            "docker.io/library/node:22.23.2-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46",
        )?,
        python_image: variable(
            PYTHON_IMAGE_VARIABLE,
            "docker.io/library/python:3.12.14-slim-trixie@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea",
        )?,
    };
    Ok((toolchain.just, pins))
}

pub fn measure(project: &Project, runs: usize) -> Result<MeasureResult> {
    let (just, pins) = pins(project)?;
    let mut sizes = Vec::new();
    for n_recipes in SIZES {
        info!(n_recipes, "planning a generated justfile");
        sizes.push(measure_size(&just, &pins, n_recipes, runs)?);
    }
    Ok(result(&sizes, &just))
}

#[allow(clippy::cast_precision_loss)]
fn result(sizes: &[SizeResult], just: &Just) -> MeasureResult {
    let points = |pick: fn(&SizeResult) -> f64| -> Vec<(f64, f64)> {
        sizes
            .iter()
            .map(|size| (size.n_recipes as f64, pick(size)))
            .collect()
    };
    let in_process = points(|size| size.in_process.median());
    let dump = points(|size| size.dump.median());
    let exponent = stats::growth_exponent(&in_process);
    let mut details = format!(
        "Generated justfiles of {} recipes plus `all`, which depends on every one (see `xtask/src/bench/generate.rs`); the plan of `all` and its Dagger pipeline hold every recipe. `just --dump` is a subprocess of just {}; the rest runs in process. Medians:\n\n| recipes | `just --dump` | model | plan | Dagger translation | in process | total | in process per recipe |\n|---|---|---|---|---|---|---|---|\n",
        SIZES.map(|size| size.to_string()).join(", "),
        just.version,
    );
    for size in sizes {
        let _ = writeln!(
            details,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} µs |",
            size.n_recipes,
            seconds(size.dump.median()),
            seconds(size.model.median()),
            seconds(size.plan.median()),
            seconds(size.pipeline.median()),
            seconds(size.in_process.median()),
            seconds(size.total.median()),
            size.in_process.median() / size.n_recipes as f64 * 1e6,
        );
    }
    for (what, points) in [("In process", &in_process), ("`just --dump`", &dump)] {
        if let (Some(fit), Some(exponent)) =
            (stats::linear_fit(points), stats::growth_exponent(points))
        {
            let _ = write!(
                details,
                "\n{what}: {} + {:.1} µs per recipe (least squares, R² = {:.3}); growth exponent {exponent:.2} (1 is linear, 2 quadratic).",
                seconds(fit.intercept.max(0.0)),
                fit.slope * 1e6,
                fit.r_squared,
            );
        }
    }
    details.push('\n');
    let goal_size = sizes
        .iter()
        .find(|size| size.n_recipes == GOAL_SIZE)
        .unwrap_or(&sizes[sizes.len() - 1]);
    let row = Row {
        name: format!(
            "plan + Dagger translation of a generated {}-recipe justfile (`just --dump` + model → plan → pipeline)",
            goal_size.n_recipes
        ),
        baseline_name: None,
        candidate: goal_size.total.clone(),
        baseline: None,
        goals: vec![
            Goal::Under(GOAL),
            Goal::GrowthAtMost {
                limit: LINEAR,
                exponent,
            },
        ],
    };
    MeasureResult::new(Measure::Plan, vec![row], details)
}
