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
use tracing::debug;
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

/// The just binary behind `program`, and its version when that was asked on the way:
/// `program` itself, or, when `program` is a script (a version manager's shim, such as pyenv's
/// for the `rust-just` package, which takes ~0.2 s to start on the 2-core development
/// machine), the executable that just reports for itself through `just_executable()`, with
/// `just_version()`, asked in one start of the shim. The xtask starts just several times per
/// command (version, dump, one per step); through a shim each start would pay the shim again.
/// When anything goes wrong, `program` is kept.
pub fn behind_shim(program: &Path) -> (PathBuf, Option<String>) {
    if !is_script(program) {
        return (program.to_owned(), None);
    }
    match executable_behind(program) {
        Ok((executable, version)) => {
            debug!(shim = %program.display(), just = %executable.display(), "just on PATH is a shim; using the binary behind it");
            (executable, version)
        }
        Err(error) => {
            debug!(shim = %program.display(), error = %format!("{error:#}"), "cannot see behind the shim; starting just through it");
            (program.to_owned(), None)
        }
    }
}

/// Whether `path` starts with `#!`.
fn is_script(path: &Path) -> bool {
    let mut start = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut start))
        .is_ok_and(|()| &start == b"#!")
}

/// The executable behind the shim `program` and, unless this just predates `just_version()`,
/// its version.
fn executable_behind(program: &Path) -> Result<(PathBuf, Option<String>)> {
    let dir = tempfile::Builder::new()
        .prefix("xtask-just-")
        .tempdir()
        .wrap_err("cannot create a temporary directory")?;
    let justfile = dir.path().join("justfile");
    // A version has no spaces: the first one separates it from the path.
    let attempts = [
        ("just_version() + ' ' + just_executable()", true),
        ("just_executable()", false),
    ];
    let mut last_error = None;
    for (expression, with_version) in attempts {
        std::fs::write(&justfile, format!("behind := {expression}\n"))
            .wrap_err_with(|| format!("cannot write `{}`", justfile.display()))?;
        let sh = Shell::new()?;
        match capture(cmd!(
            sh,
            "{program} --justfile {justfile} --evaluate behind"
        )) {
            Ok(output) => {
                let (version, executable) = if with_version {
                    match output.split_once(' ') {
                        Some((version, executable)) => (Some(version.to_owned()), executable),
                        None => bail!("just printed `{output}` for its version and executable"),
                    }
                } else {
                    (None, output.as_str())
                };
                let executable = PathBuf::from(executable.trim());
                if !executable.is_file() || is_script(&executable) {
                    bail!(
                        "just reports its executable as `{}`, which is not a binary",
                        executable.display()
                    );
                }
                return Ok((executable, version));
            }
            // An older just without `just_version()`: ask for the executable alone.
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("two attempts"))
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
