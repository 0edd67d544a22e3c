//! The `just` binary: its version, the JSON dump of a justfile, variable evaluation, and
//! the command line that runs one recipe without its dependencies.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail},
};
use xshell::{Shell, cmd};

use crate::troubleshooting::{Topic, TopicExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Just {
    pub program: PathBuf,
    /// As `just --version` prints it, without the leading `just `.
    pub version: String,
}

impl Just {
    /// The `just` at `program`, after asking it for its version.
    pub fn at(program: &Path) -> Result<Just> {
        let version = tool_version(program, "just")?;
        Ok(Just {
            program: program.to_owned(),
            version,
        })
    }

    pub fn dump(&self, justfile: &Path) -> Result<String> {
        let just = &self.program;
        let sh = Shell::new()?;
        capture(cmd!(
            sh,
            "{just} --justfile {justfile} --dump --dump-format json"
        ))
        .wrap_err_with(|| format!("just could not read `{}`", justfile.display()))
        .topic(Topic::JustfileDoesNotLoad)
    }

    pub fn evaluate(&self, justfile: &Path, variable: &str) -> Result<String> {
        let just = &self.program;
        let sh = Shell::new()?;
        capture(cmd!(
            sh,
            "{just} --justfile {justfile} --evaluate {variable}"
        ))
        .wrap_err_with(|| {
            format!(
                "just could not evaluate variable `{variable}` of `{}`",
                justfile.display()
            )
        })
        .topic(Topic::JustfileDoesNotLoad)
    }

    /// `just --no-deps <recipe> <arguments>`: the xtask schedules dependencies itself.
    pub fn recipe_command(
        &self,
        justfile: &Path,
        recipe: &str,
        arguments: &[String],
    ) -> std::process::Command {
        self.recipe_command_with(justfile, &[], recipe, arguments)
    }

    /// [`Just::recipe_command`] with more options for just, such as `--shell` (see
    /// [`crate::shell::just_options`]).
    pub fn recipe_command_with(
        &self,
        justfile: &Path,
        options: &[OsString],
        recipe: &str,
        arguments: &[String],
    ) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command.args(options);
        command.arg("--justfile").arg(justfile);
        command
            .arg("--working-directory")
            .arg(justfile.parent().unwrap_or(Path::new(".")));
        command.arg("--no-deps").arg(recipe).args(arguments);
        command
    }

    /// The argument vector of [`Just::recipe_command`] as it runs inside a container, where
    /// `just` is on `PATH` and the justfile is in the working directory.
    pub fn container_command(recipe: &str, arguments: &[String]) -> Vec<String> {
        let mut argv: Vec<String> = ["just", "--no-deps", recipe].map(str::to_owned).into();
        argv.extend(arguments.iter().cloned());
        argv
    }
}

/// Runs `program --version` and returns the version word after `name`.
pub fn tool_version(program: &Path, name: &str) -> Result<String> {
    let sh = Shell::new()?;
    let output = capture(cmd!(sh, "{program} --version"))
        .wrap_err_with(|| format!("cannot run `{} --version`", program.display()))?;
    match version_in(&output, name) {
        Some(version) => Ok(version),
        None => bail!("`{} --version` printed no version", program.display()),
    }
}

/// The version word of what `name --version` printed (`just 1.59.0` → `1.59.0`, `1.4.5` →
/// `1.4.5`); shared by the local path and the containers' toolchain check.
pub fn version_in(output: &str, name: &str) -> Option<String> {
    let version = output
        .trim()
        .strip_prefix(name)
        .unwrap_or(output.trim())
        .trim()
        .trim_start_matches('v')
        .split_whitespace()
        .next()
        .unwrap_or_default();
    (!version.is_empty()).then(|| version.to_owned())
}

/// Stdout of a command that must succeed; on failure the error carries its stderr, so the
/// user sees the tool's own message.
pub fn capture(command: xshell::Cmd<'_>) -> Result<String> {
    let shown = command.to_string();
    let output = command
        .quiet()
        .ignore_status()
        .output()
        .wrap_err_with(|| format!("cannot start `{shown}`"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "`{shown}` failed ({}):\n{}",
            output.status,
            stderr.trim_end()
        );
    }
    String::from_utf8(output.stdout)
        .wrap_err_with(|| format!("`{shown}` printed text that is not UTF-8"))
}

/// `PATH` with `directories` in front, for child processes that must find pinned tools.
pub fn path_with(directories: &[PathBuf]) -> Result<OsString> {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut all: Vec<PathBuf> = directories.to_vec();
    all.extend(std::env::split_paths(&current));
    std::env::join_paths(all).wrap_err("a tool directory contains the PATH separator")
}
