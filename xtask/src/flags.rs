//! The command line. Every command chooses recipes and a runner; the work happens elsewhere.

use std::{num::NonZeroUsize, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use color_eyre::{Result, eyre::bail};

use crate::{justfile::Justfile, plan::Invocation};

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
    /// Where recipes run: `local` runs `just` on this machine; `auto` picks the best runner available
    #[arg(long, global = true, value_enum, default_value_t = RunnerChoice::Auto)]
    pub runner: RunnerChoice,
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
    /// Show the steps a recipe expands to, without running them
    Plan(PlanFlags),
    /// Check the tools, the justfile and its metadata
    Doctor(Doctor),
    /// Install the pinned just and bun into `.tools/` if they are missing
    Setup(Setup),
}

#[derive(Debug, Args)]
pub struct Ci {}

#[derive(Debug, Args)]
pub struct Test {}

#[derive(Debug, Args)]
pub struct Lint {}

#[derive(Debug, Args)]
pub struct Build {
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
pub struct PlanFlags {
    /// The recipe to plan [default: the justfile's default recipe]
    pub recipe: Option<String>,
    /// Arguments of the recipe
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub arguments: Vec<String>,
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Doctor {}

#[derive(Debug, Args)]
pub struct Setup {}

/// The justfile variable listing the build targets.
pub const TARGETS_VARIABLE: &str = "targets";

impl Build {
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
                bail!(
                    "unknown target `{target}`; valid targets: {}",
                    known.join(", ")
                );
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
        bail!(
            "the justfile has no `{TARGETS_VARIABLE}` variable listing its build targets; add `{TARGETS_VARIABLE} := \"linux-x64 ...\"`"
        );
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
