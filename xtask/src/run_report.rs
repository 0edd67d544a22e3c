//! What every run leaves behind for people and tools: `reports/xtask-run.json` (each step's
//! start, duration, queue wait and outcome; totals; the machine and the tool versions) and,
//! under GitHub Actions, a Markdown table in the job summary (`$GITHUB_STEP_SUMMARY`) and an
//! `::error` annotation for each failed step.

use std::{
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use color_eyre::{Result, eyre::WrapErr};
use serde::{Deserialize, Serialize};

use crate::{
    plan::{Invocation, Plan},
    runner::{RunOutcome, StepStatus},
    tools::Toolchain,
};

/// The file name of the run report, in the project's `reports/` directory.
pub const FILE_NAME: &str = "xtask-run.json";

/// Bumped when a field changes meaning or goes away (adding one does not).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    /// The invocations asked for, such as `["ci"]` or `["build linux-x64"]`.
    pub requested: Vec<String>,
    pub runner: String,
    /// `passed`, `failed` or `interrupted`.
    pub status: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
    /// The OpenTelemetry trace of this run, when spans were exported.
    pub trace_id: Option<String>,
    pub totals: Totals,
    pub host: Host,
    pub versions: Versions,
    /// One per plan step, in plan order.
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub steps: usize,
    pub passed: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub skipped: usize,
    /// The sum of the step durations: the time the run would take with one job.
    pub busy_ms: u64,
    /// The sum of the time steps waited for a free job slot once their dependencies were done.
    pub queue_wait_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub name: Option<String>,
    pub os: String,
    pub arch: String,
    pub cores: usize,
    /// Steps allowed at once in this run.
    pub jobs: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    pub xtask: String,
    pub just: String,
    pub bun: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub id: usize,
    /// The recipe and its arguments, as `just` would be given them.
    pub step: String,
    pub recipe: String,
    pub arguments: Vec<String>,
    pub dependencies: Vec<usize>,
    /// `passed`, `failed`, `cancelled` or `skipped`.
    pub status: String,
    /// RFC 3339, UTC; absent when the step never started.
    pub started_at: Option<String>,
    /// Milliseconds from the start of the run to the start of the step.
    pub start_offset_ms: Option<u64>,
    pub duration_ms: u64,
    pub queue_wait_ms: u64,
    /// Whether the runner answered the step from its cache; `null` when the runner cannot tell
    /// (the local runner always runs the recipe).
    pub cached: Option<bool>,
    pub exit_code: Option<i32>,
    /// Why a step failed or was skipped.
    pub detail: Option<String>,
}

/// What the report needs to know beyond the plan and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    pub runner: String,
    pub started_at: SystemTime,
    pub trace_id: Option<String>,
    pub host: Host,
    pub versions: Versions,
}

impl RunReport {
    pub fn new(
        plan: &Plan,
        requested: &[Invocation],
        outcome: &RunOutcome,
        context: RunContext,
    ) -> RunReport {
        let steps: Vec<StepRecord> = outcome
            .steps
            .iter()
            .map(|step| {
                let planned = plan.step(step.id);
                let (status, exit_code, detail) = match &step.status {
                    StepStatus::Passed => ("passed", None, None),
                    StepStatus::Failed { exit_code, message } => {
                        ("failed", *exit_code, Some(message.clone()))
                    }
                    StepStatus::Cancelled => ("cancelled", None, None),
                    StepStatus::Skipped { reason } => ("skipped", None, Some(reason.clone())),
                };
                StepRecord {
                    id: step.id,
                    step: planned.invocation.to_string(),
                    recipe: planned.invocation.recipe.clone(),
                    arguments: planned.invocation.arguments.clone(),
                    dependencies: planned.dependencies.clone(),
                    status: status.to_owned(),
                    started_at: step.started_at.map(rfc3339),
                    start_offset_ms: step.started_at.map(|started| {
                        millis(
                            started
                                .duration_since(context.started_at)
                                .unwrap_or_default(),
                        )
                    }),
                    duration_ms: millis(step.duration),
                    queue_wait_ms: millis(step.queue_wait),
                    cached: None,
                    exit_code,
                    detail,
                }
            })
            .collect();
        let count = |status: &str| steps.iter().filter(|step| step.status == status).count();
        let totals = Totals {
            steps: steps.len(),
            passed: count("passed"),
            failed: count("failed"),
            cancelled: count("cancelled"),
            skipped: count("skipped"),
            busy_ms: steps.iter().map(|step| step.duration_ms).sum(),
            queue_wait_ms: steps.iter().map(|step| step.queue_wait_ms).sum(),
        };
        let status = if outcome.interrupted {
            "interrupted"
        } else if outcome.succeeded() {
            "passed"
        } else {
            "failed"
        };
        RunReport {
            schema_version: SCHEMA_VERSION,
            requested: requested.iter().map(ToString::to_string).collect(),
            runner: context.runner,
            status: status.to_owned(),
            started_at: rfc3339(context.started_at),
            duration_ms: millis(outcome.duration),
            trace_id: context.trace_id,
            totals,
            host: context.host,
            versions: context.versions,
            steps,
        }
    }

    /// Writes the report to `dir/xtask-run.json`, whole or not at all.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create the reports directory `{}`", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .wrap_err_with(|| format!("cannot create a file in `{}`", dir.display()))?;
        // Serialised first, then written at once: straight into the file, serde_json made
        // a system call per token (over 500 for a two-step run).
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        file.write_all(&json)
            .and_then(|()| file.flush())
            .wrap_err_with(|| format!("cannot write `{}`", file.path().display()))?;
        file.persist(&path)
            .wrap_err_with(|| format!("cannot write the run report `{}`", path.display()))?;
        Ok(path)
    }

    /// The Markdown GitHub Actions shows on the run's summary page.
    pub fn step_summary(&self) -> String {
        let mut out = String::new();
        let icon = match self.status.as_str() {
            "passed" => "✅",
            "interrupted" => "⏹️",
            _ => "❌",
        };
        let requested: Vec<String> = self
            .requested
            .iter()
            .map(|invocation| format!("`{invocation}`"))
            .collect();
        let _ = writeln!(
            out,
            "### {icon} xtask {} {} in {}\n",
            requested.join(", "),
            self.status,
            seconds(self.duration_ms)
        );
        out.push_str("| Step | Status | Start | Duration | Queue wait | Exit code |\n");
        out.push_str("| :--- | :--- | ---: | ---: | ---: | ---: |\n");
        for step in &self.steps {
            let status = match step.status.as_str() {
                "passed" => "✅ passed".to_owned(),
                "failed" => "❌ failed".to_owned(),
                "cancelled" => "⏹️ cancelled".to_owned(),
                other => match &step.detail {
                    Some(reason) => format!("⏭️ {other}: {}", table_cell(reason)),
                    None => format!("⏭️ {other}"),
                },
            };
            let started = step.started_at.is_some();
            let timing = |millis: u64| {
                if started {
                    seconds(millis)
                } else {
                    String::new()
                }
            };
            let _ = writeln!(
                out,
                "| `{}` | {status} | {} | {} | {} | {} |",
                table_cell(&step.step),
                step.start_offset_ms.map(seconds).unwrap_or_default(),
                timing(step.duration_ms),
                timing(step.queue_wait_ms),
                step.exit_code
                    .map(|code| code.to_string())
                    .unwrap_or_default(),
            );
        }
        let totals = &self.totals;
        let _ = write!(
            out,
            "\n{} step{}: {} passed, {} failed, {} cancelled, {} skipped · {} of work in {} ({} job{} on {} core{}, runner `{}`) · just {}",
            totals.steps,
            plural(totals.steps),
            totals.passed,
            totals.failed,
            totals.cancelled,
            totals.skipped,
            seconds(totals.busy_ms),
            seconds(self.duration_ms),
            self.host.jobs,
            plural(self.host.jobs),
            self.host.cores,
            plural(self.host.cores),
            self.runner,
            self.versions.just,
        );
        if let Some(bun) = &self.versions.bun {
            let _ = write!(out, ", bun {bun}");
        }
        if let Some(trace_id) = &self.trace_id {
            let _ = write!(out, " · trace `{trace_id}`");
        }
        out.push('\n');
        out
    }

    /// One GitHub Actions `::error` workflow command per failed step.
    pub fn annotations(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|step| step.status == "failed")
            .map(|step| {
                let title = format!("step `{}` failed", step.step);
                let message = step.detail.clone().unwrap_or_else(|| title.clone());
                format!(
                    "::error title={}::{}",
                    escape_property(&title),
                    escape_data(&message)
                )
            })
            .collect()
    }
}

/// Under GitHub Actions (`GITHUB_ACTIONS=true`): appends the summary table to
/// `$GITHUB_STEP_SUMMARY` and prints the annotations of failed steps.
pub fn publish_to_github(report: &RunReport) -> Result<()> {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return Ok(());
    }
    {
        let mut stdout = std::io::stdout().lock();
        for annotation in report.annotations() {
            let _ = writeln!(stdout, "{annotation}");
        }
    }
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .wrap_err_with(|| format!("cannot open the job summary `{}`", path.display()))?;
    file.write_all(report.step_summary().as_bytes())
        .wrap_err_with(|| format!("cannot append to the job summary `{}`", path.display()))?;
    Ok(())
}

/// Writes the report to `reports_dir` and, under GitHub Actions, publishes it there. The
/// run's result does not depend on it: a report that cannot be written is a warning.
pub fn save(report: &RunReport, reports_dir: &Path) {
    match report.write(reports_dir) {
        Ok(path) => tracing::info!(report = %path.display(), "run report written"),
        Err(error) => tracing::warn!("{error:#}"),
    }
    if let Err(error) = publish_to_github(report) {
        tracing::warn!("{error:#}");
    }
}

/// The totals as one event, for `--log-format json` (where the table would not parse).
pub fn log_summary(report: &RunReport) {
    let totals = &report.totals;
    tracing::info!(
        status = %report.status,
        n_steps = totals.steps,
        passed = totals.passed,
        failed = totals.failed,
        cancelled = totals.cancelled,
        skipped = totals.skipped,
        duration_ms = report.duration_ms,
        busy_ms = totals.busy_ms,
        queue_wait_ms = totals.queue_wait_ms,
        "summary"
    );
}

impl Versions {
    /// The versions of this xtask and of the tools the run used.
    pub fn of(toolchain: &Toolchain) -> Versions {
        Versions {
            xtask: env!("CARGO_PKG_VERSION").to_owned(),
            just: toolchain.just.version.clone(),
            bun: toolchain.bun.as_ref().map(|bun| bun.version.clone()),
        }
    }
}

impl Host {
    /// This machine, running `jobs` steps at once.
    pub fn detect(jobs: usize) -> Host {
        Host {
            name: host_name(),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cores: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            jobs,
        }
    }
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| {
            let sh = xshell::Shell::new().ok()?;
            xshell::cmd!(sh, "hostname")
                .quiet()
                .ignore_stderr()
                .read()
                .ok()
        })
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn seconds(millis: u64) -> String {
    format!("{:.1} s", Duration::from_millis(millis).as_secs_f64())
}

/// `text` on one line, safe inside a Markdown table cell.
fn table_cell(text: &str) -> String {
    text.lines().next().unwrap_or_default().replace('|', "\\|")
}

/// The message of a workflow command: `%`, CR and LF encoded.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property of a workflow command: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `2024-05-01T12:34:56.789Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let of_day = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        let at = |seconds: u64, millis: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(escape_property("step `a`: b, c"), "step `a`%3A b%2C c");
    }

    fn report() -> RunReport {
        let step = |id: usize, step: &str, status: &str, start: Option<u64>, duration: u64| {
            StepRecord {
                id,
                step: step.to_owned(),
                recipe: step.split(' ').next().unwrap().to_owned(),
                arguments: step.split(' ').skip(1).map(str::to_owned).collect(),
                dependencies: if id == 0 { vec![] } else { vec![0] },
                status: status.to_owned(),
                started_at: start.map(|offset| {
                    rfc3339(UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(offset))
                }),
                start_offset_ms: start,
                duration_ms: duration,
                queue_wait_ms: if id == 2 { 1_200 } else { 0 },
                cached: None,
                exit_code: (status == "failed").then_some(2),
                detail: match status {
                    "failed" => Some("recipe `lint` failed with exit code 2; its last lines:\n    error: 50% | bad".to_owned()),
                    "skipped" => Some("`lint` did not pass".to_owned()),
                    _ => None,
                },
            }
        };
        RunReport {
            schema_version: SCHEMA_VERSION,
            requested: vec!["ci".to_owned()],
            runner: "local".to_owned(),
            status: "failed".to_owned(),
            started_at: "2023-11-14T22:13:20.000Z".to_owned(),
            duration_ms: 4_250,
            trace_id: Some("0af7651916cd43dd8448eb211c80319c".to_owned()),
            totals: Totals {
                steps: 4,
                passed: 2,
                failed: 1,
                cancelled: 0,
                skipped: 1,
                busy_ms: 5_300,
                queue_wait_ms: 1_200,
            },
            host: Host {
                name: Some("runner".to_owned()),
                os: "linux".to_owned(),
                arch: "x86_64".to_owned(),
                cores: 2,
                jobs: 2,
            },
            versions: Versions {
                xtask: "0.1.0".to_owned(),
                just: "1.59.0".to_owned(),
                bun: Some("1.4.5".to_owned()),
            },
            steps: vec![
                step(0, "install", "passed", Some(0), 1_000),
                step(1, "lint", "failed", Some(1_010), 2_100),
                step(2, "build linux-x64", "passed", Some(2_210), 2_200),
                step(3, "ci", "skipped", None, 0),
            ],
        }
    }

    #[test]
    fn the_step_summary_is_a_table_of_steps() {
        insta::assert_snapshot!(report().step_summary());
    }

    #[test]
    fn each_failed_step_is_annotated() {
        assert_eq!(
            report().annotations(),
            [
                "::error title=step `lint` failed::recipe `lint` failed with exit code 2; its last lines:%0A    error: 50%25 | bad"
            ]
        );
    }
}
