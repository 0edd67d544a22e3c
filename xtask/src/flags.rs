//! The command line. Every command chooses recipes and a runner; the work happens elsewhere.

use std::{num::NonZeroUsize, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use color_eyre::{Result, eyre::bail};

use crate::{justfile::Justfile, plan::Invocation, troubleshooting::Topic};

/// Runs the justfile's recipes natively or in pinned containers, and proves both agree.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about, long_about = None)]
pub struct Xtask {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Directory with the justfile to run [default: this workspace's root]
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where recipes run: `local` runs `just` on this machine; `dagger` runs it in pinned containers; `auto` uses Dagger when an engine is there (required with CI=true), else local
    #[arg(long, global = true, value_enum, default_value_t = RunnerChoice::Auto)]
    pub runner: RunnerChoice,
    /// Pull the Dagger path's images from this registry mirror (`host[:port][/path]`) instead of their registries; digests stay pinned
    #[arg(long, global = true, env = "XTASK_IMAGE_MIRROR", value_name = "HOST")]
    pub image_mirror: Option<String>,
    /// Steps run at once [default: the number of CPUs]
    #[arg(long, short, global = true, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Keep running steps that do not depend on a failed one
    #[arg(long, global = true)]
    pub keep_going: bool,
    /// Progress on stderr: `auto` is one line per event, coloured on a terminal; `pretty` is
    /// multi-line with span context; `json` is one JSON object per line, for log ingestion
    #[arg(long, global = true, value_enum, env = "XTASK_LOG_FORMAT", default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunnerChoice {
    Auto,
    Local,
    Dagger,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline: the justfile's `ci` recipe (lint, test, build)
    Ci(Ci),
    /// Run the test suite: the `test` recipe
    Test(Test),
    /// Type-check and lint: the `lint` recipe
    Lint(Lint),
    /// Build release binaries: the `build` recipe for each target
    Build(Build),
    /// Run any recipe of the justfile, with its arguments
    Run(RunFlags),
    /// Scan dependencies, secrets, code, workflows and image pins, and write an SBOM: the `security-scan` recipe
    SecurityScan(SecurityScan),
    /// Show the steps a recipe expands to, without running them
    Plan(PlanFlags),
    /// Check the tools, the justfile and its metadata
    Doctor(Doctor),
    /// Install the pinned just and bun into `.tools/` if they are missing
    Setup(Setup),
    /// Write the GitHub Actions workflows from the justfile: one CI job per `[group('ci')]` recipe
    GenCi(GenCi),
    /// Build through the just path and another path and prove the artifacts and test results match
    ///
    /// Exits 0 when both builds are identical, 1 when they differ, 2 when they could not be
    /// built or compared. See docs/parity.md.
    VerifyParity(VerifyParity),
    /// Measure what users feel against the obvious baseline, each side several times, and report medians and ratios
    ///
    /// Runs `cargo xtask test` against `just test`, parity hashing against `sha256sum`, `ci` and
    /// `build --all-targets` in parallel against one step after another, and the planning of
    /// generated justfiles, in a temporary copy of the project. See docs/performance.md.
    Bench(Bench),
}

#[derive(Debug, Args)]
pub struct Ci {
    /// Skip the header check and smoke run of the built binaries, and write no `SHA256SUMS`
    #[arg(long)]
    pub no_validate: bool,
}

#[derive(Debug, Args)]
pub struct Test {}

#[derive(Debug, Args)]
pub struct Lint {}

/// Which build targets a command builds.
#[derive(Debug, Clone, Args)]
pub struct Targets {
    /// A target from the justfile's `targets` variable, such as `linux-x64` (repeatable) [default: this machine's]
    #[arg(
        long = "target",
        short,
        value_name = "TARGET",
        conflicts_with = "all_targets"
    )]
    pub targets: Vec<String>,
    /// Every target in the justfile's `targets` variable
    #[arg(long)]
    pub all_targets: bool,
}

#[derive(Debug, Args)]
pub struct Build {
    #[command(flatten)]
    pub targets: Targets,
    /// Skip the header check and smoke run of the built binaries, and write no `SHA256SUMS`
    #[arg(long)]
    pub no_validate: bool,
}

#[derive(Debug, Args)]
pub struct RunFlags {
    /// The recipe to run
    pub recipe: String,
    /// Arguments of the recipe
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub arguments: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SecurityScan {
    /// Fail on findings of this severity or higher; `none` reports findings without failing
    #[arg(long, value_enum, default_value_t = FailOn::High, value_name = "SEVERITY")]
    pub fail_on: FailOn,
}

/// The `fail_on` argument of the `security-scan` recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    None,
}

impl FailOn {
    /// The recipe argument, as the scanner spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Critical => "critical",
            FailOn::High => "high",
            FailOn::Medium => "medium",
            FailOn::Low => "low",
            FailOn::None => "none",
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanFlags {
    /// The recipe to plan [default: the justfile's default recipe]
    pub recipe: Option<String>,
    /// Arguments of the recipe
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub arguments: Vec<String>,
    /// Print the plan as JSON (with `--runner dagger`: each step's image, mounts, caches and command)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Doctor {}

#[derive(Debug, Args)]
pub struct Bench {
    /// Runs of each side of each measure [default: test 10, hash 5, ci 3, build 5, plan 10]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: Option<u32>,
    /// Run only this measure (repeatable) [default: every one]
    #[arg(long, value_enum, value_name = "MEASURE")]
    pub only: Vec<crate::bench::Measure>,
    /// Also write the report into FILE (such as `docs/performance.md`), between its bench markers; a new file is created
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Before each measure, wait (at most 15 minutes) until the 1-minute load average is below LOAD
    #[arg(long, value_name = "LOAD")]
    pub max_load: Option<f64>,
}

#[derive(Debug, Args)]
pub struct Setup {}

#[derive(Debug, Args)]
pub struct GenCi {
    /// Write nothing; fail when a committed workflow differs from what `gen-ci` would write
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct VerifyParity {
    #[command(subcommand)]
    pub command: Option<ParityCommand>,
    #[command(flatten)]
    pub targets: Targets,
    /// The path to compare the just path with: `dagger` builds in pinned containers, `local` builds again in a fresh copy of the project
    #[arg(long, value_enum, default_value_t = Against::Dagger)]
    pub against: Against,
    /// Also write the just path's manifest to FILE, for `verify-parity compare` on another machine
    #[arg(long, value_name = "FILE")]
    pub write_manifest: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ParityCommand {
    /// Compare two manifests, written here or on other machines; exits like `verify-parity`
    Compare(CompareManifests),
}

#[derive(Debug, Args)]
pub struct CompareManifests {
    /// A manifest, such as `target/parity/local.json`
    pub left: PathBuf,
    /// The manifest to compare it with
    pub right: PathBuf,
}

/// What the just path's build is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Against {
    /// The Dagger runner: the same recipes in pinned containers
    Dagger,
    /// The local runner again, in a fresh copy of the project at another path
    Local,
}

/// The justfile variable listing the build targets.
pub const TARGETS_VARIABLE: &str = "targets";

impl Targets {
    /// One `build <target>` per requested target, checked against the justfile's list.
    pub fn invocations(&self, justfile: &Justfile) -> Result<Vec<Invocation>> {
        let known = build_targets(justfile)?;
        if self.all_targets {
            return Ok(known
                .iter()
                .map(|target| Invocation::new("build", &[target]))
                .collect());
        }
        let requested = if self.targets.is_empty() {
            vec![host_target()]
        } else {
            self.targets.clone()
        };
        for target in &requested {
            if !known.contains(target) {
                bail!(Topic::UnknownTarget.error(format!(
                    "unknown target `{target}`; valid targets: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(requested
            .iter()
            .map(|target| Invocation::new("build", &[target]))
            .collect())
    }
}

/// The build targets the justfile lists in its `targets` variable.
pub fn build_targets(justfile: &Justfile) -> Result<Vec<String>> {
    let Some(list) = justfile.variable(TARGETS_VARIABLE)? else {
        bail!(Topic::UnknownTarget.error(format!(
            "the justfile has no `{TARGETS_VARIABLE}` variable listing its build targets; add `{TARGETS_VARIABLE} := \"linux-x64 ...\"`"
        )));
    };
    Ok(list.split_whitespace().map(str::to_owned).collect())
}

/// This machine's target, in bun's naming.
pub fn host_target() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

impl Global {
    pub fn jobs(&self) -> usize {
        self.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            NonZeroUsize::get,
        )
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Xtask::command().debug_assert();
    }
}
