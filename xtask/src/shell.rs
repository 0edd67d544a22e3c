//! The shell just runs recipe lines with, and the one place it goes wrong: Windows.
//!
//! The justfile sets `windows-shell := ["bash", ...]`, meaning Git Bash. But just starts the
//! shell with `std::process::Command`, which on Windows looks for a bare `bash` in the
//! directory of just, then in `System32`, and only then on `PATH`. Where WSL is installed,
//! `System32\bash.exe` is its launcher, and every recipe would run inside the Linux
//! distribution instead of Git Bash. So on Windows the local runner finds the shell on `PATH`
//! itself, skipping the WSL launchers, and gives just the absolute path with `--shell`.

use std::{
    ffi::OsString,
    fmt::Write as _,
    path::{Path, PathBuf},
};

use color_eyre::{Result, eyre::bail};
use serde::Deserialize;

use crate::{justfile::Justfile, troubleshooting::Topic};

/// A `set shell` or `set windows-shell` setting: the program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShellSetting {
    pub command: String,
    #[serde(default)]
    pub arguments: Vec<String>,
}

/// The settings of the dump that decide the shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ShellSettings {
    #[serde(default)]
    pub shell: Option<ShellSetting>,
    #[serde(default)]
    pub windows_shell: Option<ShellSetting>,
    #[serde(default)]
    pub windows_powershell: bool,
}

impl ShellSettings {
    /// The shell just uses on this platform (`windows` chooses Windows' rules), or `None`
    /// for `windows-powershell`, whose `powershell.exe` is meant to come from System32.
    pub fn effective(&self, windows: bool) -> Option<ShellSetting> {
        if windows {
            if let Some(shell) = &self.windows_shell {
                return Some(shell.clone());
            }
            if self.windows_powershell {
                return None;
            }
        }
        Some(self.shell.clone().unwrap_or_else(|| ShellSetting {
            command: "sh".to_owned(),
            arguments: vec!["-cu".to_owned()],
        }))
    }
}

/// The options that make just run recipes with the right shell: on Windows `--shell` with
/// the shell found on `PATH` and its arguments; elsewhere none, since just's own search
/// (`execvp`) already follows `PATH`.
pub fn just_options(justfile: &Justfile) -> Result<Vec<OsString>> {
    if !cfg!(windows) {
        return Ok(Vec::new());
    }
    let Some(shell) = justfile.shell.effective(true) else {
        return Ok(Vec::new());
    };
    let program = resolve_windows_shell(&shell.command, &path_directories(), &|candidate| {
        candidate.is_file()
    })?;
    Ok(options(&program, &shell.arguments))
}

fn path_directories() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// `--shell PROGRAM --shell-arg A ...`, or `--clear-shell-args` when there are none.
fn options(program: &Path, arguments: &[String]) -> Vec<OsString> {
    let mut options: Vec<OsString> = vec!["--shell".into(), program.as_os_str().to_owned()];
    if arguments.is_empty() {
        options.push("--clear-shell-args".into());
    }
    for argument in arguments {
        options.push("--shell-arg".into());
        options.push(argument.into());
    }
    options
}

/// `command` as a Windows shell would find it in the `PATH` directories, never a WSL
/// launcher. A command given as a path is kept as it is.
pub fn resolve_windows_shell(
    command: &str,
    directories: &[PathBuf],
    is_file: &dyn Fn(&Path) -> bool,
) -> Result<PathBuf> {
    if command.contains(['/', '\\']) {
        return Ok(PathBuf::from(command));
    }
    let name = if Path::new(command).extension().is_some() {
        command.to_owned()
    } else {
        format!("{command}.exe")
    };
    let mut launchers = Vec::new();
    for directory in directories {
        let candidate = directory.join(&name);
        if !is_file(&candidate) {
            continue;
        }
        if is_wsl_launcher(&candidate) {
            launchers.push(candidate);
            continue;
        }
        return Ok(candidate);
    }
    let install = "install Git for Windows and put its `bin` directory (such as `C:\\Program Files\\Git\\bin`) on PATH, or run the xtask from WSL";
    match launchers.first() {
        Some(launcher) => bail!(Topic::ShellNotFound.error(format!(
            "recipes run with `{command}`, but the only `{name}` on PATH is WSL's launcher `{}`, which would run them inside Linux; {install}",
            launcher.display()
        ))),
        None => bail!(Topic::ShellNotFound.error(format!(
            "recipes run with `{command}`, which is not on PATH; {install}"
        ))),
    }
}

/// WSL's `bash.exe` in `System32`, `SysWOW64` or an app-execution-alias directory
/// (`...\Microsoft\WindowsApps`).
fn is_wsl_launcher(candidate: &Path) -> bool {
    // Compared as text, so the check means the same on every platform its tests run on.
    let path = candidate
        .as_os_str()
        .to_string_lossy()
        .to_ascii_lowercase()
        .replace('/', "\\");
    [
        "\\system32\\bash.exe",
        "\\syswow64\\bash.exe",
        "\\microsoft\\windowsapps\\bash.exe",
    ]
    .iter()
    .any(|launcher| path.ends_with(launcher))
}

/// The shell line for `doctor`: what runs recipes on this platform.
pub fn describe(justfile: &Justfile) -> Result<String> {
    let Some(shell) = justfile.shell.effective(cfg!(windows)) else {
        return Ok("powershell.exe (windows-powershell)".to_owned());
    };
    let mut line = std::iter::once(shell.command.as_str())
        .chain(shell.arguments.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let program = if cfg!(windows) {
        Some(resolve_windows_shell(
            &shell.command,
            &path_directories(),
            &|candidate| candidate.is_file(),
        )?)
    } else {
        crate::tools::which(&shell.command)
    };
    match program {
        Some(program) => {
            let _ = write!(line, " ({})", program.display());
        }
        None => bail!(Topic::ShellNotFound.error(format!(
            "recipes run with `{}`, which is not on PATH",
            shell.command
        ))),
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn search(command: &str, directories: &[&str], files: &[&str]) -> Result<PathBuf> {
        let files: BTreeSet<PathBuf> = files.iter().map(PathBuf::from).collect();
        let directories: Vec<PathBuf> = directories.iter().map(PathBuf::from).collect();
        resolve_windows_shell(command, &directories, &|candidate| {
            files.contains(candidate)
        })
    }

    const SYSTEM32: &str = "C:\\Windows\\System32";
    const GIT: &str = "C:\\Program Files\\Git\\bin";

    fn join(directory: &str, file: &str) -> String {
        Path::new(directory).join(file).display().to_string()
    }

    #[test]
    fn git_bash_wins_over_wsl_even_when_system32_comes_first() {
        let wsl = join(SYSTEM32, "bash.exe");
        let git = join(GIT, "bash.exe");
        let found = search("bash", &[SYSTEM32, GIT], &[&wsl, &git]).unwrap();
        assert_eq!(found, PathBuf::from(&git));
    }

    #[test]
    fn only_wsl_is_a_clear_error() {
        let wsl = join(SYSTEM32, "bash.exe");
        let error = search("bash", &[SYSTEM32], &[&wsl])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "recipes run with `bash`, but the only `bash.exe` on PATH is WSL's launcher"
            ),
            "{error}"
        );
        assert!(error.contains("install Git for Windows"), "{error}");
        let error = search("bash", &[GIT], &[]).unwrap_err().to_string();
        assert!(
            error.starts_with("recipes run with `bash`, which is not on PATH"),
            "{error}"
        );
    }

    #[test]
    fn system32_is_fine_for_other_shells_and_paths_are_kept() {
        let powershell = join(SYSTEM32, "powershell.exe");
        assert_eq!(
            search("powershell.exe", &[SYSTEM32], &[&powershell]).unwrap(),
            PathBuf::from(&powershell)
        );
        assert_eq!(
            search("C:/msys64/usr/bin/bash.exe", &[], &[]).unwrap(),
            PathBuf::from("C:/msys64/usr/bin/bash.exe")
        );
    }

    #[test]
    fn wsl_launchers_are_recognised_in_any_case() {
        assert!(is_wsl_launcher(Path::new(
            "c:\\windows\\SYSTEM32\\Bash.exe"
        )));
        assert!(is_wsl_launcher(Path::new(
            "C:\\Users\\me\\AppData\\Local\\Microsoft\\WindowsApps\\bash.exe"
        )));
        assert!(!is_wsl_launcher(Path::new(
            "C:\\Program Files\\Git\\bin\\bash.exe"
        )));
        assert!(!is_wsl_launcher(Path::new(
            "C:\\Windows\\System32\\wsl.exe"
        )));
    }

    #[test]
    fn the_windows_shell_setting_wins_on_windows_only() {
        let settings: ShellSettings = serde_json::from_str(
            r#"{"shell": {"command": "zsh", "arguments": ["-c"]},
                "windows_shell": {"command": "bash", "arguments": ["-euo", "pipefail", "-c"]},
                "windows_powershell": false}"#,
        )
        .unwrap();
        assert_eq!(settings.effective(true).unwrap().command, "bash");
        assert_eq!(settings.effective(false).unwrap().command, "zsh");
        let powershell = ShellSettings {
            windows_powershell: true,
            ..ShellSettings::default()
        };
        assert_eq!(powershell.effective(true), None);
        assert_eq!(
            powershell.effective(false).unwrap(),
            ShellSetting {
                command: "sh".to_owned(),
                arguments: vec!["-cu".to_owned()]
            }
        );
    }

    #[test]
    fn options_carry_every_argument() {
        let options = options(
            Path::new("C:\\Git\\bin\\bash.exe"),
            &["-euo".to_owned(), "pipefail".to_owned(), "-c".to_owned()],
        );
        assert_eq!(
            options,
            [
                "--shell",
                "C:\\Git\\bin\\bash.exe",
                "--shell-arg",
                "-euo",
                "--shell-arg",
                "pipefail",
                "--shell-arg",
                "-c"
            ]
            .map(OsString::from)
        );
        assert_eq!(
            super::options(Path::new("sh"), &[]),
            ["--shell", "sh", "--clear-shell-args"].map(OsString::from)
        );
    }
}
