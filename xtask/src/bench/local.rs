//! The measures that run the app: `cargo xtask test` against `just test`, and `ci` and
//! `build --all-targets` with the parallel DAG against the same steps one after another. They
//! run in a copy of the project ([`copy_project`]), so the bench never touches the working
//! tree, with the xtask that is running the bench (prebuilt: no cargo in the timing).

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use color_eyre::{Result, eyre::WrapErr};
use tracing::info;
use xshell::cmd;

use super::{
    Goal, Measure, MeasureResult, Row,
    report::{seconds, signed_seconds},
    sample::{Timed, interleave, log_sample, shell_in, timed, undisturbed},
    stats::Stats,
};
use crate::{
    just::Just,
    justfile::Justfile,
    parity::fresh::{FreshCopy, copy_project},
    project::Project,
    run_report::{self, RunReport},
    tools::{BUN_PIN, JUST_PIN, Provision, Toolchain, which},
};

/// The copy of the project the measures run in, with `node_modules` installed.
#[derive(Debug)]
pub struct App {
    copy: FreshCopy,
    /// This xtask, as built.
    xtask: PathBuf,
    /// `just` as a user types it: the one on `PATH`, else the pinned one in `.tools/`.
    just: PathBuf,
}

impl App {
    /// The app of `slot`, prepared on first use.
    pub fn get<'slot>(slot: &'slot mut Option<App>, project: &Project) -> Result<&'slot App> {
        match slot {
            Some(app) => Ok(app),
            None => Ok(slot.insert(App::prepare(project)?)),
        }
    }

    fn prepare(project: &Project) -> Result<App> {
        let xtask = std::env::current_exe().wrap_err("cannot find the running xtask")?;
        let just = match which("just") {
            Some(just) => just,
            None => {
                Toolchain::resolve(project, Provision::Install)?
                    .0
                    .just
                    .program
            }
        };
        let copy = copy_project(&project.root)?;
        info!(copy = %copy.root().display(), "installing node_modules in the copy (untimed)");
        let sh = shell_in(copy.root())?;
        timed(undisturbed(cmd!(sh, "{just} install")))?;
        Ok(App { copy, xtask, just })
    }

    pub fn root(&self) -> &Path {
        self.copy.root()
    }

    /// `xtask --project <copy> --runner local <arguments>`.
    fn xtask(&self, arguments: &[String]) -> Result<Timed> {
        self.xtask_in(self.root(), arguments)
    }

    /// `xtask --project <root> --runner local <arguments>`, run in `root`.
    fn xtask_in(&self, root: &Path, arguments: &[String]) -> Result<Timed> {
        let sh = shell_in(root)?;
        let xtask = &self.xtask;
        timed(undisturbed(cmd!(
            sh,
            "{xtask} --project {root} --runner local {arguments...}"
        )))
    }

    /// `just <arguments>`, run in `root`.
    fn just_in(&self, root: &Path, arguments: &[&str]) -> Result<Timed> {
        let sh = shell_in(root)?;
        let just = &self.just;
        timed(undisturbed(cmd!(sh, "{just} {arguments...}")))
    }

    /// A project beside the copy whose `install` and `test` do nothing, with the copy's pins
    /// and shell: run through it, the xtask costs what it adds and nothing else.
    fn noop_project(&self) -> Result<tempfile::TempDir> {
        let justfile_path = self.root().join("justfile");
        let justfile = Justfile::load(&Just::at(&self.just)?, &justfile_path)?;
        let mut text = String::new();
        for pin in [JUST_PIN, BUN_PIN] {
            if let Some(value) = justfile.variable(pin)? {
                let _ = writeln!(text, "{pin} := \"{value}\"");
            }
        }
        text.push_str("set shell := [\"bash\", \"-euo\", \"pipefail\", \"-c\"]\n\ninstall:\n    true\n\ntest: install\n    true\n");
        let dir = tempfile::Builder::new()
            .prefix("xtask-bench-noop-")
            .tempdir()
            .wrap_err("cannot create a directory for the empty project")?;
        let path = dir.path().join("justfile");
        std::fs::write(&path, text)
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
        // The pinned tools, where the copy finds them.
        #[cfg(unix)]
        if let Ok(tools) = std::fs::canonicalize(self.root().join(".tools")) {
            std::os::unix::fs::symlink(&tools, dir.path().join(".tools"))
                .wrap_err("cannot link `.tools` into the empty project")?;
        }
        Ok(dir)
    }

    /// The run report the last xtask run left in the copy.
    fn run_report(&self) -> Result<RunReport> {
        let path = self.root().join("reports").join(run_report::FILE_NAME);
        let text = std::fs::read_to_string(&path)
            .wrap_err_with(|| format!("cannot read the run report `{}`", path.display()))?;
        serde_json::from_str(&text)
            .wrap_err_with(|| format!("cannot read the run report `{}`", path.display()))
    }
}

fn strings(arguments: &[&str]) -> Vec<String> {
    arguments
        .iter()
        .map(|&argument| argument.to_owned())
        .collect()
}

/// `xtask test` against `just test` in `root`: each once untimed, then interleaved. The two
/// sides' samples, and a sentence on what the xtask added.
fn xtask_against_just(
    app: &App,
    root: &Path,
    runs: usize,
    label: &str,
) -> Result<(Stats, Stats, String)> {
    let xtask_arguments = strings(&["test"]);
    let run_side = |side: usize| match side {
        0 => app.xtask_in(root, &xtask_arguments),
        _ => app.just_in(root, &["test"]),
    };
    run_side(0)?;
    run_side(1)?;
    let samples = interleave(2, runs, |side, round| {
        let sample = run_side(side)?;
        log_sample(label, ["xtask", "just"][side], round, runs, sample.wall);
        Ok(sample)
    })?;
    let [xtask, just] = [&samples[0], &samples[1]];
    let walls = |samples: &[Timed]| -> Stats {
        Stats::new(samples.iter().map(|sample| sample.wall.as_secs_f64())).expect("runs ≥ 1")
    };
    let cpu = |samples: &[Timed]| -> Option<Stats> {
        samples
            .iter()
            .map(|sample| sample.cpu)
            .collect::<Option<Vec<f64>>>()
            .and_then(Stats::new)
    };
    // Each round ran both sides back to back: their difference is the least disturbed
    // estimate of what the xtask adds.
    let paired = Stats::new(
        xtask
            .iter()
            .zip(just)
            .map(|(xtask, just)| xtask.wall.as_secs_f64() - just.wall.as_secs_f64()),
    )
    .expect("runs ≥ 1");
    let (xtask_wall, just_wall) = (walls(xtask), walls(just));
    let mut details = format!(
        "The xtask adds {} (difference of the medians); per round, run back to back, it added {} (median; {} to {}).",
        signed_seconds(xtask_wall.median() - just_wall.median()),
        signed_seconds(paired.median()),
        signed_seconds(paired.min()),
        signed_seconds(paired.max()),
    );
    if let (Some(xtask_cpu), Some(just_cpu)) = (cpu(xtask), cpu(just)) {
        let _ = write!(
            details,
            " CPU time of everything each side ran (median): {} and {}, {} added.",
            seconds(xtask_cpu.median()),
            seconds(just_cpu.median()),
            signed_seconds(xtask_cpu.median() - just_cpu.median()),
        );
    }
    Ok((xtask_wall, just_wall, details))
}

/// `cargo xtask test --runner local` against `just test`, in the copy; then the same on a
/// project whose recipes do nothing, which shows what the xtask itself adds without the
/// noise of the test suite (twice the runs: they are short).
pub fn test(app: &App, runs: usize) -> Result<MeasureResult> {
    let (xtask, just, real) = xtask_against_just(app, app.root(), runs, "test")?;
    let noop = app.noop_project()?;
    let (noop_xtask, noop_just, empty) =
        xtask_against_just(app, noop.path(), runs * 2, "test (recipes doing nothing)")?;
    let details = format!(
        "Both sides in a copy of the project with `node_modules` installed, each run once before timing; output captured, not printed. {real}\n\nThe same on a project whose `install` and `test` recipes are `true` (same pins, same shell), {} runs each. {empty}\n",
        runs * 2
    );
    let rows = vec![
        Row {
            name: "`cargo xtask test --runner local` (prebuilt xtask)".to_owned(),
            baseline_name: Some("`just test`".to_owned()),
            candidate: xtask,
            baseline: Some(just),
            goals: vec![
                Goal::RatioAtMost(1.05),
                Goal::AddsUnder(Duration::from_millis(50)),
            ],
        },
        Row {
            name: "the same on recipes that do nothing: what the xtask itself adds".to_owned(),
            baseline_name: Some("`just test`".to_owned()),
            candidate: noop_xtask,
            baseline: Some(noop_just),
            goals: vec![Goal::AddsUnder(Duration::from_millis(50))],
        },
    ];
    Ok(MeasureResult::new(Measure::Test, rows, details))
}

/// One run of a DAG side: its time and each step's duration, from the run report.
#[derive(Debug, Clone)]
struct DagSample {
    timed: Timed,
    steps: Vec<StepTime>,
}

#[derive(Debug, Clone)]
struct StepTime {
    name: String,
    dependencies: Vec<usize>,
    seconds: f64,
}

impl App {
    fn dag_run(&self, arguments: &[String]) -> Result<DagSample> {
        let timed = self.xtask(arguments)?;
        let report = self.run_report()?;
        let steps = report
            .steps
            .iter()
            .map(|step| StepTime {
                name: step.step.clone(),
                dependencies: step.dependencies.clone(),
                #[allow(clippy::cast_precision_loss)]
                seconds: step.duration_ms as f64 / 1000.0,
            })
            .collect();
        Ok(DagSample { timed, steps })
    }
}

/// The parallel DAG (`--jobs N`) against the same command with `--jobs 1`: the same steps,
/// the same processes, one after another. The parallel side runs once untimed first.
fn dag_sides(
    app: &App,
    runs: usize,
    jobs: usize,
    label: &str,
    command: &[&str],
) -> Result<[Vec<DagSample>; 2]> {
    let parallel = strings(&[&["--jobs", &jobs.to_string()], command].concat());
    let sequential = strings(&[&["--jobs", "1"], command].concat());
    app.dag_run(&parallel)?;
    let mut samples = interleave(2, runs, |side, round| {
        let sample = app.dag_run(if side == 0 { &parallel } else { &sequential })?;
        log_sample(
            label,
            ["parallel", "one after another"][side],
            round,
            runs,
            sample.timed.wall,
        );
        Ok(sample)
    })?;
    let sequential = samples.pop().expect("two sides");
    let parallel = samples.pop().expect("two sides");
    Ok([parallel, sequential])
}

fn wall_stats(samples: &[DagSample]) -> Stats {
    Stats::new(samples.iter().map(|sample| sample.timed.wall.as_secs_f64())).expect("runs ≥ 1")
}

/// The median of each step's duration, in plan order.
fn step_medians(samples: &[DagSample]) -> Vec<StepTime> {
    let first = &samples[0].steps;
    first
        .iter()
        .enumerate()
        .map(|(index, step)| StepTime {
            name: step.name.clone(),
            dependencies: step.dependencies.clone(),
            seconds: Stats::new(
                samples
                    .iter()
                    .filter_map(|sample| sample.steps.get(index))
                    .map(|step| step.seconds),
            )
            .map_or(0.0, |stats| stats.median()),
        })
        .collect()
}

/// The longest chain of dependent steps: its length and its steps. Steps are in plan order,
/// which is topological, and each step's `dependencies` are indices of earlier steps.
fn critical_path(steps: &[StepTime]) -> (f64, Vec<&str>) {
    let mut longest: Vec<(f64, Option<usize>)> = Vec::with_capacity(steps.len());
    for step in steps {
        let before = step
            .dependencies
            .iter()
            .filter_map(|&dependency| {
                longest
                    .get(dependency)
                    .map(|(length, _)| (*length, dependency))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        longest.push((
            step.seconds + before.map_or(0.0, |(length, _)| length),
            before.map(|(_, dependency)| dependency),
        ));
    }
    let Some((mut at, (length, _))) = longest
        .iter()
        .enumerate()
        .max_by(|a, b| (a.1).0.total_cmp(&(b.1).0))
        .map(|(index, entry)| (index, *entry))
    else {
        return (0.0, Vec::new());
    };
    let mut path = vec![at];
    while let (_, Some(previous)) = longest[at] {
        at = previous;
        path.push(at);
    }
    path.reverse();
    // Steps without a body (`ci`, `build-all`) take no time; leave them out of the name.
    let path = path
        .into_iter()
        .filter(|&index| steps[index].seconds > 0.0)
        .map(|index| steps[index].name.as_str())
        .collect();
    (length, path)
}

/// How long the steps would take with `jobs` at a time, each as long as in `steps`, when
/// every free slot takes the first ready step in plan order (as the scheduler does), and
/// steps did not slow each other down.
fn list_schedule(steps: &[StepTime], jobs: usize) -> f64 {
    let jobs = jobs.max(1);
    let mut finished: Vec<Option<f64>> = vec![None; steps.len()];
    let mut started = vec![false; steps.len()];
    // (end, step) of the running steps.
    let mut running: Vec<(f64, usize)> = Vec::new();
    let mut now = 0.0_f64;
    loop {
        for (index, step) in steps.iter().enumerate() {
            if running.len() >= jobs {
                break;
            }
            let ready = step
                .dependencies
                .iter()
                .all(|&dependency| finished.get(dependency).copied().flatten().is_some());
            if !started[index] && ready {
                started[index] = true;
                running.push((now + step.seconds, index));
            }
        }
        let Some((slot, &(end, index))) = running
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1).0.total_cmp(&(b.1).0))
        else {
            break;
        };
        now = end;
        finished[index] = Some(end);
        running.remove(slot);
    }
    finished.into_iter().flatten().fold(0.0, f64::max)
}

/// Per-step medians of both sides, the critical path, the bound it sets, and CPU use.
#[allow(clippy::cast_precision_loss)]
fn dag_details(
    parallel: &[DagSample],
    sequential: &[DagSample],
    jobs: usize,
    limit: f64,
) -> String {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let parallel_steps = step_medians(parallel);
    let sequential_steps = step_medians(sequential);
    let mut out =
        String::from("| step | parallel (median) | one after another (median) |\n|---|---|---|\n");
    for (step, alone) in parallel_steps.iter().zip(&sequential_steps) {
        if step.seconds == 0.0 && alone.seconds == 0.0 {
            continue;
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            step.name,
            seconds(step.seconds),
            seconds(alone.seconds)
        );
    }
    let busy: f64 = sequential_steps.iter().map(|step| step.seconds).sum();
    let busy_in_parallel: f64 = parallel_steps.iter().map(|step| step.seconds).sum();
    let (critical, path) = critical_path(&sequential_steps);
    let packed = list_schedule(&sequential_steps, jobs);
    let parallel_wall = wall_stats(parallel).median();
    let sequential_wall = wall_stats(sequential).median();
    let cpu = |samples: &[DagSample]| {
        samples
            .iter()
            .map(|sample| sample.timed.cpu)
            .collect::<Option<Vec<f64>>>()
            .and_then(Stats::new)
            .map(|stats| stats.median())
    };
    // What a run spends outside its steps (starting the xtask and just, planning, the
    // report) is the same on both sides: the bounds are of whole runs.
    let outside = (sequential_wall - busy).max(0.0);
    let of_run = |steps: f64| (steps + outside) / sequential_wall;
    let _ = write!(
        out,
        "\nOne after another the steps take {} (sum of their medians) of the run's {}; the other {} (starting the xtask and just, planning, the report) is the same on both sides. The critical path, `{}`, takes {}: with any number of cores the run cannot take less than {:.2}× the one-after-another time. With {jobs} steps at a time, started in the scheduler's order, and each as long as it takes alone, the steps would take {}: {:.2}×. In the parallel runs the steps took {:.0}% longer than alone ({} in all), slowing each other down.",
        seconds(busy),
        seconds(sequential_wall),
        seconds(outside),
        path.join(" → "),
        seconds(critical),
        of_run(critical),
        seconds(packed),
        of_run(packed),
        100.0 * (busy_in_parallel / busy - 1.0),
        seconds(busy_in_parallel),
    );
    let mut bound = of_run(packed);
    if let (Some(parallel_cpu), Some(sequential_cpu)) = (cpu(parallel), cpu(sequential)) {
        let cpu_bound = sequential_cpu / cores as f64 / sequential_wall;
        bound = bound.max(cpu_bound);
        let _ = write!(
            out,
            " The runs used {} of CPU time in parallel and {} one after another (median), busying {:.0}% and {:.0}% of the {cores} cores; on {cores} cores the work alone bounds the ratio at {:.2}×.",
            seconds(parallel_cpu),
            seconds(sequential_cpu),
            100.0 * parallel_cpu / cores as f64 / parallel_wall,
            100.0 * sequential_cpu / cores as f64 / sequential_wall,
            cpu_bound,
        );
    }
    let _ = write!(
        out,
        " So the best to expect here is about {bound:.2}× (`--jobs {jobs}`), before the steps slow each other down."
    );
    if of_run(critical) > limit {
        let _ = write!(
            out,
            " **The goal of ≤{limit:.2}× is out of reach while the critical path is {:.0}% of the run.**",
            100.0 * of_run(critical)
        );
    } else if bound > limit {
        let _ = write!(
            out,
            " **The goal of ≤{limit:.2}× is out of reach with {jobs} steps at a time on {cores} cores.**"
        );
    }
    out.push('\n');
    out
}

/// `cargo xtask ci --no-validate` with the parallel DAG against `--jobs 1`.
pub fn ci(app: &App, runs: usize, jobs: usize) -> Result<MeasureResult> {
    let [parallel, sequential] = dag_sides(app, runs, jobs, "ci", &["ci", "--no-validate"])?;
    let limit = 0.7;
    let details = dag_details(&parallel, &sequential, jobs, limit);
    let row = Row {
        name: format!(
            "local `ci` with the parallel DAG (`cargo xtask ci --runner local --no-validate`, `--jobs {jobs}`)"
        ),
        baseline_name: Some("the same steps one after another (`--jobs 1`)".to_owned()),
        candidate: wall_stats(&parallel),
        baseline: Some(wall_stats(&sequential)),
        goals: vec![Goal::RatioAtMost(limit)],
    };
    Ok(MeasureResult::new(Measure::Ci, vec![row], details))
}

/// `cargo xtask build --all-targets`: the steps alone (`--no-validate`, the goal's row) and
/// the whole command with its validation, each in parallel against `--jobs 1`.
pub fn build(app: &App, runs: usize, jobs: usize) -> Result<MeasureResult> {
    let limit = 0.6;
    let [parallel, sequential] = dag_sides(
        app,
        runs,
        jobs,
        "build",
        &["build", "--all-targets", "--no-validate"],
    )?;
    let [validated_parallel, validated_sequential] = dag_sides(
        app,
        runs,
        jobs,
        "build+validate",
        &["build", "--all-targets"],
    )?;
    let mut details = dag_details(&parallel, &sequential, jobs, limit);
    let _ = writeln!(
        details,
        "\nWith validation (header check and smoke run of every binary, the same work on both sides, done concurrently after the build) the whole command takes {} in parallel and {} one after another: {:.2}×.",
        seconds(wall_stats(&validated_parallel).median()),
        seconds(wall_stats(&validated_sequential).median()),
        wall_stats(&validated_parallel).median() / wall_stats(&validated_sequential).median(),
    );
    let rows = vec![
        Row {
            name: format!("`build --all-targets` in parallel (`--no-validate`, `--jobs {jobs}`)"),
            baseline_name: Some("one target after another (`--jobs 1`)".to_owned()),
            candidate: wall_stats(&parallel),
            baseline: Some(wall_stats(&sequential)),
            goals: vec![Goal::RatioAtMost(limit)],
        },
        Row {
            name: format!("`build --all-targets` with validation (`--jobs {jobs}`)"),
            baseline_name: Some("the same with `--jobs 1`".to_owned()),
            candidate: wall_stats(&validated_parallel),
            baseline: Some(wall_stats(&validated_sequential)),
            goals: Vec::new(),
        },
    ];
    Ok(MeasureResult::new(Measure::Build, rows, details))
}

/// Step names to their medians, for tests.
#[cfg(test)]
fn by_name(steps: &[StepTime]) -> std::collections::BTreeMap<&str, f64> {
    steps
        .iter()
        .map(|step| (step.name.as_str(), step.seconds))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, dependencies: &[usize], seconds: f64) -> StepTime {
        StepTime {
            name: name.to_owned(),
            dependencies: dependencies.to_vec(),
            seconds,
        }
    }

    /// The plan of `ci`: install, then lint, test and the builds, then the empty `build-all`
    /// and `ci`.
    fn ci_steps() -> Vec<StepTime> {
        vec![
            step("install", &[], 0.1),
            step("lint", &[0], 20.0),
            step("test", &[0], 1.0),
            step("build linux-x64", &[0], 2.0),
            step("build windows-x64", &[0], 3.0),
            step("build-all", &[3, 4], 0.0),
            step("ci", &[1, 2, 5], 0.0),
        ]
    }

    #[test]
    fn the_critical_path_is_the_longest_chain() {
        let steps = ci_steps();
        let (length, path) = critical_path(&steps);
        assert!((length - 20.1).abs() < 1e-9, "{length}");
        assert_eq!(path, ["install", "lint"]);
        let mut steps = ci_steps();
        steps[4].seconds = 30.0;
        let (length, path) = critical_path(&steps);
        assert!((length - 30.1).abs() < 1e-9, "{length}");
        assert_eq!(path, ["install", "build windows-x64"]);
        assert_eq!(critical_path(&[]), (0.0, Vec::<&str>::new()));
    }

    fn sample(wall: f64, cpu: f64, steps: Vec<StepTime>) -> DagSample {
        DagSample {
            timed: Timed {
                wall: Duration::from_secs_f64(wall),
                cpu: Some(cpu),
            },
            steps,
        }
    }

    #[test]
    fn steps_are_packed_into_the_free_slots_in_plan_order() {
        let builds = vec![
            step("install", &[], 0.0),
            step("build a", &[0], 0.55),
            step("build b", &[0], 0.55),
            step("build c", &[0], 0.53),
            step("build d", &[0], 0.87),
            step("build e", &[0], 0.73),
        ];
        // a | b, then c where a ended, d where b ended, e where c ended.
        assert!((list_schedule(&builds, 2) - 1.81).abs() < 1e-9);
        assert!((list_schedule(&builds, 1) - 3.23).abs() < 1e-9);
        assert!((list_schedule(&builds, 8) - 0.87).abs() < 1e-9);
        let (critical, _) = critical_path(&ci_steps());
        assert!((list_schedule(&ci_steps(), 100) - critical).abs() < 1e-9);
    }

    #[test]
    fn step_medians_are_per_step_across_runs() {
        let mut slow = ci_steps();
        slow[1].seconds = 40.0;
        let mut fast = ci_steps();
        fast[1].seconds = 10.0;
        let medians = step_medians(&[
            sample(1.0, 1.0, ci_steps()),
            sample(1.0, 1.0, slow),
            sample(1.0, 1.0, fast),
        ]);
        assert!((by_name(&medians)["lint"] - 20.0).abs() < 1e-9);
        assert!((by_name(&medians)["test"] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_details_explain_a_goal_the_critical_path_rules_out() {
        let parallel = [sample(21.0, 30.0, ci_steps())];
        // The steps take 26.1 s; 0.4 s of each run is outside them.
        let sequential = [sample(26.5, 30.0, ci_steps())];
        let details = dag_details(&parallel, &sequential, 2, 0.7);
        assert!(
            details.contains("| `lint` | 20.0 s | 20.0 s |"),
            "{details}"
        );
        assert!(!details.contains("`ci`"), "{details}");
        assert!(
            details.contains(
                "the steps take 26.1 s (sum of their medians) of the run's 26.5 s; the other 400 ms"
            ),
            "{details}"
        );
        assert!(
            details.contains("The critical path, `install → lint`, takes 20.1 s"),
            "{details}"
        );
        // (20.1 + 0.4) / 26.5
        assert!(details.contains("cannot take less than 0.77×"), "{details}");
        // Two at a time: install, then lint beside test and the builds.
        assert!(
            details.contains("the steps would take 20.1 s: 0.77×"),
            "{details}"
        );
        assert!(
            details.contains("the work alone bounds the ratio at 0.57×"),
            "{details}"
        );
        assert!(
            details.contains("the best to expect here is about 0.77×"),
            "{details}"
        );
        assert!(
            details.contains(
                "**The goal of ≤0.70× is out of reach while the critical path is 77% of the run.**"
            ),
            "{details}"
        );
        let fine = dag_details(&parallel, &sequential, 2, 0.8);
        assert!(!fine.contains("out of reach"), "{fine}");
    }
}
