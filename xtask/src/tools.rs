//! The pinned tools, like rustup with `rust-toolchain.toml`: the justfile's `just_version`
//! and `bun_version` variables are the one pin both paths read. A tool missing from `PATH`,
//! or there at another version, is installed into the project's `.tools/` from a package
//! registry (just: `PyPI` `rust-just`, else `cargo install`; bun: the npm package).

use std::{
    fs,
    path::{Path, PathBuf},
};

use color_eyre::{
    Result,
    eyre::{WrapErr, bail, eyre},
};
use tracing::info;
use xshell::{Shell, cmd};

use crate::{
    just::{Just, tool_version},
    justfile::Justfile,
    project::Project,
    troubleshooting::{Topic, TopicExt},
};

pub const JUST_PIN: &str = "just_version";
pub const BUN_PIN: &str = "bun_version";

/// The tools a run uses, each at its pinned version when one is pinned.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub just: Just,
    /// Absent when the justfile pins no bun.
    pub bun: Option<Tool>,
    /// Directories to put in front of `PATH` so recipes find the pinned tools.
    pub path: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub program: PathBuf,
    pub version: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Path,
    Installed,
    JustInstalled,
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match self.origin {
            Origin::Path => "on PATH",
            Origin::Installed => "from .tools",
            Origin::JustInstalled => "installed now",
        };
        write!(
            f,
            "{} {} ({origin}: {})",
            self.name,
            self.version,
            self.program.display()
        )
    }
}

/// What may happen when a pinned tool is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision {
    Install,
    /// Only look (for `doctor`).
    FindOnly,
}

/// The pinned version of just, read before just is available. This is the only place that
/// looks at the justfile's text: a literal `just_version := "x.y.z"` line. The value just
/// itself evaluates is compared with it afterwards.
pub fn bootstrap_just_pin(justfile_text: &str) -> Option<String> {
    justfile_text.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix(JUST_PIN)?
            .trim_start()
            .strip_prefix(":=")?
            .trim();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value = rest[1..].split(quote).next()?;
        Some(value.to_owned())
    })
}

impl Toolchain {
    /// Finds just, reads the justfile with it, then finds bun; installs what is missing
    /// unless `provision` forbids it.
    pub fn resolve(project: &Project, provision: Provision) -> Result<(Toolchain, Justfile)> {
        let text = fs::read_to_string(&project.justfile)
            .wrap_err_with(|| format!("cannot read `{}`", project.justfile.display()))?;
        let just_pin = bootstrap_just_pin(&text);
        // bun's pin is in the justfile, but the bun on PATH can be asked for its version
        // while just reads it: one process less to wait for on every command.
        let (just_tool, justfile, bun) = std::thread::scope(|scope| -> Result<_> {
            let bun_on_path = scope.spawn(|| on_path("bun"));
            let just_tool = provide(project, "just", just_pin.as_deref(), provision)?;
            let just = Just {
                program: just_tool.program.clone(),
                version: just_tool.version.clone(),
            };
            let justfile = Justfile::load(&just, &project.justfile)?;
            let evaluated_pin = justfile.variable(JUST_PIN)?;
            if evaluated_pin != just_pin {
                bail!(Topic::ToolVersionDrift.error(format!(
                    "`{JUST_PIN}` in `{}` must be a plain string literal such as `{JUST_PIN} := \"1.59.0\"`: the xtask reads it before just runs",
                    project.justfile.display()
                )));
            }
            let bun = match justfile.variable(BUN_PIN)? {
                Some(pin) => Some(provide_with(project, "bun", Some(&pin), provision, || {
                    bun_on_path.join().unwrap_or_default()
                })?),
                None => None,
            };
            Ok((just_tool, justfile, bun))
        })?;
        let just = Just {
            program: just_tool.program.clone(),
            version: just_tool.version.clone(),
        };
        let path = [Some(&just_tool), bun.as_ref()]
            .into_iter()
            .flatten()
            .filter(|tool| tool.origin != Origin::Path)
            .filter_map(|tool| tool.program.parent().map(Path::to_path_buf))
            .collect();
        Ok((Toolchain { just, bun, path }, justfile))
    }
}

/// Where the pinned `name` lives inside `.tools/`, and the program in it.
fn tool_dir(project: &Project, name: &str, version: &str) -> PathBuf {
    project.tools_dir().join(format!("{name}-{version}"))
}

fn program_in(dir: &Path, name: &str) -> PathBuf {
    let exe = if cfg!(windows) { ".exe" } else { "" };
    match name {
        "bun" => dir
            .join("node_modules")
            .join(".bin")
            .join(format!("bun{}", if cfg!(windows) { ".cmd" } else { "" })),
        _ => dir.join("bin").join(format!("{name}{exe}")),
    }
}

/// The `name` on `PATH` and what it says its version is. For just, a version manager's shim
/// is looked through to the binary behind it ([`crate::just::behind_shim`]), which every
/// later start of just then uses directly.
pub fn on_path(name: &str) -> Option<(Result<String>, PathBuf)> {
    which(name).map(|program| {
        if name == "just" {
            let (program, version) = crate::just::behind_shim(&program);
            let version = version.map_or_else(|| tool_version(&program, name), Ok);
            return (version, program);
        }
        (tool_version(&program, name), program)
    })
}

/// The pinned `name` (any version when `pin` is `None`), installed if missing and allowed.
pub fn provide(
    project: &Project,
    name: &'static str,
    pin: Option<&str>,
    provision: Provision,
) -> Result<Tool> {
    provide_with(project, name, pin, provision, || on_path(name))
}

/// [`provide`], with `look` telling what [`on_path`] would, when it is needed.
fn provide_with(
    project: &Project,
    name: &'static str,
    pin: Option<&str>,
    provision: Provision,
    look: impl FnOnce() -> Option<(Result<String>, PathBuf)>,
) -> Result<Tool> {
    let Some(pin) = pin else {
        // Nothing pinned: any version will do.
        return match look() {
            Some((Ok(version), program)) => Ok(Tool {
                name,
                program,
                version,
                origin: Origin::Path,
            }),
            Some((Err(error), _)) => Err(error),
            None => Err(eyre!(Topic::ToolInstall.error(format!(
                "`{name}` is not on PATH and the justfile pins no version to install; install {name}, or pin it in the justfile (`{name}_version := \"x.y.z\"`)"
            )))),
        };
    };
    let dir = tool_dir(project, name, pin);
    let installed = program_in(&dir, name);
    if installed.exists() {
        let version = tool_version(&installed, name).topic(Topic::ToolInstall)?;
        if version == pin {
            return Ok(Tool {
                name,
                program: installed,
                version,
                origin: Origin::Installed,
            });
        }
        bail!(Topic::ToolVersionDrift.error(format!(
            "`{}` reports version {version}, not the pinned {pin}; delete `{}` and run `cargo xtask setup`",
            installed.display(),
            dir.display()
        )));
    }
    // Looked at only now: a tool installed in `.tools/` needs no look at `PATH`.
    let on_path = look();
    if let Some((Ok(version), program)) = &on_path
        && version == pin
    {
        return Ok(Tool {
            name,
            program: program.clone(),
            version: version.clone(),
            origin: Origin::Path,
        });
    }
    if provision == Provision::FindOnly {
        let found = match &on_path {
            Some((Ok(version), program)) => format!("{} is {version}", program.display()),
            Some((Err(_), program)) => format!("{} does not run", program.display()),
            None => "none on PATH".to_owned(),
        };
        bail!(Topic::ToolInstall.error(format!(
            "{name} {pin} is pinned but not installed ({found}); run `cargo xtask setup`"
        )));
    }
    if let Some((Ok(version), program)) = &on_path {
        info!(tool = name, found = %version, path = %program.display(), pinned = pin, "the {name} on PATH is not the pinned version; installing the pinned one");
    }
    install(project, name, pin, &dir).topic(Topic::ToolInstall)?;
    let version = tool_version(&installed, name).topic(Topic::ToolInstall)?;
    if version != pin {
        bail!(Topic::ToolVersionDrift.error(format!(
            "installed {name} reports version {version}, not the pinned {pin}"
        )));
    }
    Ok(Tool {
        name,
        program: installed,
        version,
        origin: Origin::JustInstalled,
    })
}

/// Installs into a scratch directory beside the final one, then renames it into place, so
/// an interrupted install never leaves a half-filled tool directory behind.
fn install(project: &Project, name: &str, version: &str, dir: &Path) -> Result<()> {
    let tools = project.tools_dir();
    fs::create_dir_all(&tools).wrap_err_with(|| format!("cannot create `{}`", tools.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix(&format!(".{name}-{version}-"))
        .tempdir_in(&tools)
        .wrap_err_with(|| format!("cannot create a directory in `{}`", tools.display()))?;
    let target = scratch.path();
    let attempts = install_attempts(name, version, target, dir)?;
    if !attempts.iter().any(|(_, result)| result.is_ok()) {
        let tried = if attempts.is_empty() {
            match name {
                "just" => "neither python3 (pip) nor cargo is on PATH".to_owned(),
                _ => "npm is not on PATH".to_owned(),
            }
        } else {
            attempts
                .iter()
                .map(|(how, result)| {
                    format!(
                        "`{how}`: {}",
                        result
                            .as_ref()
                            .err()
                            .map(|e| format!("{e:#}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let manual = match name {
            "just" => format!(
                "`pip install rust-just=={version}` or `cargo install just --version {version} --locked`"
            ),
            _ => format!("`npm install -g bun@{version}`"),
        };
        bail!(
            "cannot install {name} {version}: {tried}; install it yourself with {manual}, then run `cargo xtask doctor`"
        );
    }
    if !program_in(target, name).exists() {
        bail!(
            "installing {name} {version} produced no `{}`",
            program_in(target, name).display()
        );
    }
    let kept = scratch.keep();
    if let Err(error) = fs::rename(&kept, dir) {
        let _ = fs::remove_dir_all(&kept);
        // Another process may have installed the same version meanwhile.
        if !program_in(dir, name).exists() {
            return Err(error)
                .wrap_err_with(|| format!("cannot move the new {name} into `{}`", dir.display()));
        }
    }
    info!(tool = name, version, path = %program_in(dir, name).display(), "installed");
    Ok(())
}

/// Runs the installers for `name` into `target` until one works; each attempt with its result.
fn install_attempts(
    name: &str,
    version: &str,
    target: &Path,
    dir: &Path,
) -> Result<Vec<(String, Result<()>)>> {
    let sh = Shell::new()?;
    let attempts: Vec<(String, Result<()>)> = match name {
        "just" => {
            let package = format!("rust-just=={version}");
            let mut attempts = Vec::new();
            for python in ["python3", "python"] {
                if which(python).is_some() {
                    info!(tool = name, version, source = "PyPI (rust-just)", into = %dir.display(), "installing");
                    let result = cmd!(sh, "{python} -m pip install --quiet --disable-pip-version-check --no-input --no-warn-script-location --target {target} {package}")
                        .run()
                        .map_err(Into::into);
                    let ok = result.is_ok();
                    attempts.push((format!("{python} -m pip install {package}"), result));
                    if ok {
                        break;
                    }
                }
            }
            if !attempts.iter().any(|(_, result)| result.is_ok()) && which("cargo").is_some() {
                info!(tool = name, version, source = "crates.io (cargo install just --locked)", into = %dir.display(), "installing");
                let result = cmd!(
                    sh,
                    "cargo install just --version {version} --locked --quiet --root {target}"
                )
                .run()
                .map_err(Into::into);
                attempts.push((
                    format!("cargo install just --version {version} --locked"),
                    result,
                ));
            }
            attempts
        }
        "bun" => {
            let package = format!("bun@{version}");
            let mut attempts = Vec::new();
            if which("npm").is_some() {
                info!(tool = name, version, source = "npm (bun)", into = %dir.display(), "installing");
                let result = cmd!(sh, "npm install --prefix {target} --no-save --no-package-lock --no-audit --no-fund --loglevel=error {package}")
                    .run()
                    .map_err(Into::into);
                attempts.push((format!("npm install {package}"), result));
            }
            attempts
        }
        _ => unreachable!("only just and bun are provisioned"),
    };
    Ok(attempts)
}

/// The first `name` on `PATH`, as a shell would find it.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let extensions: &[&str] = if cfg!(windows) {
        &[".exe", ".cmd", ".bat", ""]
    } else {
        &[""]
    };
    std::env::split_paths(&path).find_map(|dir| {
        extensions
            .iter()
            .map(|ext| dir.join(format!("{name}{ext}")))
            .find(|candidate| is_executable(candidate))
    })
}

/// A file this process may run: the exec bit on Unix; any file elsewhere.
pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_pin_reads_a_literal_assignment() {
        let text = "# pins\nbun_version := \"1.4.5\"\njust_version  :=  '1.59.0' # comment\n";
        assert_eq!(bootstrap_just_pin(text).as_deref(), Some("1.59.0"));
        assert_eq!(bootstrap_just_pin("just_version := env('X')"), None);
        assert_eq!(bootstrap_just_pin("just_versions := \"1\""), None);
    }
}
