//! Smoke runs: a release binary started wherever this machine can start it (natively, under
//! Rosetta 2, under qemu-user, under wine), asked for its version and to list a fixture
//! directory, with both answers compared with what the project says they must be.
//! A binary this machine cannot start is reported as not run, with the reason, never as
//! passed.

use std::{
    ffi::OsString,
    fmt,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde::Serialize;

use crate::{
    header::Header,
    target::{Arch, Os, Target},
    tools,
};

/// The directory the smoke run lists, and the output that listing must print.
pub const LIST_FIXTURE: &str = "test/fixtures/tasks";
pub const LIST_EXPECTED: &str = "test/fixtures/tasks.list.expected";

/// How long one command of a smoke run may take; emulators start slowly, wine slowest
/// (its first run creates a prefix).
const TIMEOUT: Duration = Duration::from_secs(180);

/// Rosetta 2's runtime: present when macOS on Apple silicon can run `x86_64` programs.
const ROSETTA_RUNTIME: &str = "/Library/Apple/usr/libexec/oah/libRosettaRuntime";

/// What the smoke run checks, read from the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeSpec {
    /// `version` of `package.json`, which `--version` must print.
    pub version: String,
    /// What `list LIST_FIXTURE` must print, byte for byte.
    pub expected_list: Vec<u8>,
}

impl SmokeSpec {
    /// The checks for the project at `root`; the error says why no smoke run can happen.
    pub fn for_project(root: &Path) -> Result<SmokeSpec, String> {
        let package = root.join("package.json");
        let text = std::fs::read_to_string(&package).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => "the project has no `package.json`".to_owned(),
            _ => format!("cannot read `package.json`: {error}"),
        })?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| format!("`package.json` is not JSON: {error}"))?;
        let version = json
            .get("version")
            .and_then(serde_json::Value::as_str)
            .ok_or("`package.json` has no `version` string")?
            .to_owned();
        if !root.join(LIST_FIXTURE).is_dir() {
            return Err(format!("no fixture directory `{LIST_FIXTURE}`"));
        }
        let expected_list = std::fs::read(root.join(LIST_EXPECTED))
            .map_err(|error| format!("cannot read `{LIST_EXPECTED}`: {error}"))?;
        Ok(SmokeSpec {
            version,
            expected_list,
        })
    }
}

/// How this machine starts a binary of another platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    Native,
    /// macOS on Apple silicon running an `x86_64` binary.
    Rosetta,
    /// qemu-user with `-L sysroot`, where the target's dynamic loader and libc live.
    Qemu {
        program: PathBuf,
        sysroot: PathBuf,
    },
    Wine {
        program: PathBuf,
    },
}

impl fmt::Display for Launcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Launcher::Native => f.write_str("native"),
            Launcher::Rosetta => f.write_str("Rosetta 2"),
            Launcher::Qemu { program, .. } | Launcher::Wine { program } => {
                f.write_str(&program.file_name().map_or_else(
                    || program.display().to_string(),
                    |name| name.to_string_lossy().into_owned(),
                ))
            }
        }
    }
}

/// Finds a program on `PATH`.
pub type FindProgram = Box<dyn Fn(&str) -> Option<PathBuf> + Send + Sync>;
/// Whether a file exists.
pub type Exists = Box<dyn Fn(&Path) -> bool + Send + Sync>;

/// What this machine is and has, as far as starting other platforms' binaries goes.
pub struct Host {
    pub os: Option<Os>,
    pub arch: Option<Arch>,
    pub find_program: FindProgram,
    /// Whether a file exists (the ELF loader, Rosetta's runtime).
    pub exists: Exists,
    /// `QEMU_LD_PREFIX`: the sysroot the user chose for qemu-user.
    pub qemu_ld_prefix: Option<PathBuf>,
}

impl Host {
    /// This machine.
    pub fn this() -> Host {
        Host {
            os: Os::host(),
            arch: Arch::host(),
            find_program: Box::new(tools::which),
            exists: Box::new(Path::exists),
            qemu_ld_prefix: std::env::var_os("QEMU_LD_PREFIX")
                .filter(|value| !value.is_empty())
                .map(PathBuf::from),
        }
    }

    fn describe(&self) -> String {
        match (self.os, self.arch) {
            (Some(os), Some(arch)) => format!("{} {arch}", os.display_name()),
            _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }

    /// How to start `target`'s binary (with `header`) here; the error says why it cannot be.
    pub fn launcher(&self, target: &Target, header: &Header) -> Result<Launcher, String> {
        let (Some(host_os), Some(host_arch)) = (self.os, self.arch) else {
            return Err(format!(
                "this machine ({}) is not a platform bun builds for",
                self.describe()
            ));
        };
        match (target.os, host_os) {
            (Os::Linux, Os::Linux) if target.arch == host_arch => match &header.interpreter {
                Some(loader) if !(self.exists)(Path::new(loader)) => Err(format!(
                    "it needs the loader `{loader}`, which this machine does not have"
                )),
                _ => Ok(Launcher::Native),
            },
            (Os::Linux, Os::Linux) => self.qemu(target.arch, header),
            (Os::Darwin, Os::Darwin) if target.arch == host_arch => Ok(Launcher::Native),
            (Os::Darwin, Os::Darwin) if target.arch == Arch::X64 => {
                if (self.exists)(Path::new(ROSETTA_RUNTIME)) {
                    Ok(Launcher::Rosetta)
                } else {
                    Err(
                        "Rosetta 2 is not installed (`softwareupdate --install-rosetta`)"
                            .to_owned(),
                    )
                }
            }
            (Os::Darwin, Os::Darwin) => {
                Err("an arm64 macOS binary cannot run on an Intel Mac".to_owned())
            }
            // Windows on Arm runs x64 programs through its own emulation.
            (Os::Windows, Os::Windows) if target.arch == host_arch || target.arch == Arch::X64 => {
                Ok(Launcher::Native)
            }
            (Os::Windows, Os::Windows) => {
                Err("an arm64 Windows binary cannot run on x64 Windows".to_owned())
            }
            (Os::Windows, _) => self.wine(target.arch),
            (Os::Darwin, _) => Err(format!(
                "macOS binaries run only on macOS; this machine is {}",
                self.describe()
            )),
            (Os::Linux, Os::Darwin) => {
                Err("Linux binaries cannot run on macOS outside a Linux VM or container".to_owned())
            }
            (Os::Linux, Os::Windows) => {
                Err("Linux binaries cannot run on Windows outside WSL".to_owned())
            }
        }
    }

    /// qemu-user for `arch`, with a sysroot that has the binary's loader.
    fn qemu(&self, arch: Arch, header: &Header) -> Result<Launcher, String> {
        let gnu = arch.gnu_name();
        let debian_arch = match arch {
            Arch::X64 => "amd64",
            Arch::Arm64 => "arm64",
        };
        let install =
            format!("Debian/Ubuntu: `apt-get install qemu-user-static libc6-{debian_arch}-cross`");
        let Some(program) = [format!("qemu-{gnu}-static"), format!("qemu-{gnu}")]
            .iter()
            .find_map(|name| (self.find_program)(name))
        else {
            return Err(format!("qemu-user is not installed ({install})"));
        };
        let Some(loader) = &header.interpreter else {
            // A static binary needs no sysroot.
            return Ok(Launcher::Qemu {
                program,
                sysroot: PathBuf::from("/"),
            });
        };
        let candidates: Vec<PathBuf> = match &self.qemu_ld_prefix {
            Some(prefix) => vec![prefix.clone()],
            None => vec![
                PathBuf::from(format!("/usr/{gnu}-linux-gnu")),
                PathBuf::from("/"),
            ],
        };
        let relative = loader.trim_start_matches('/');
        match candidates
            .iter()
            .find(|sysroot| (self.exists)(&sysroot.join(relative)))
        {
            Some(sysroot) => Ok(Launcher::Qemu {
                program,
                sysroot: sysroot.clone(),
            }),
            None => Err(format!(
                "{} is installed, but no sysroot has the loader `{loader}` (looked in {}); {install}, or set QEMU_LD_PREFIX",
                program.file_name().unwrap_or_default().to_string_lossy(),
                candidates
                    .iter()
                    .map(|path| format!("`{}`", path.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn wine(&self, arch: Arch) -> Result<Launcher, String> {
        if arch != Arch::X64 {
            return Err("wine runs x64 Windows programs only".to_owned());
        }
        ["wine", "wine64"]
            .iter()
            .find_map(|name| (self.find_program)(name))
            .map(|program| Launcher::Wine { program })
            .ok_or_else(|| "wine is not installed".to_owned())
    }
}

/// How a smoke run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum SmokeOutcome {
    Passed { via: String },
    Failed { via: String, reason: String },
    NotRun { reason: String },
}

impl SmokeOutcome {
    pub fn failed(&self) -> bool {
        matches!(self, SmokeOutcome::Failed { .. })
    }
}

impl fmt::Display for SmokeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmokeOutcome::Passed { via } => write!(f, "passed ({via})"),
            SmokeOutcome::Failed { via, .. } => write!(f, "FAILED ({via})"),
            SmokeOutcome::NotRun { reason } => write!(f, "not run ({reason})"),
        }
    }
}

/// Runs `binary --version` and `binary list LIST_FIXTURE` from `root` through `launcher`.
pub async fn run(
    spec: &SmokeSpec,
    launcher: &Launcher,
    binary: &Path,
    root: &Path,
) -> SmokeOutcome {
    let via = launcher.to_string();
    let failed = |reason: String| SmokeOutcome::Failed {
        via: via.clone(),
        reason,
    };
    let version = match capture(launcher, binary, root, &["--version"]).await {
        Ok(output) => output,
        Err(Start::NotRun(reason)) => return SmokeOutcome::NotRun { reason },
        Err(Start::Failed(reason)) => return failed(reason),
    };
    let printed = String::from_utf8_lossy(&version.stdout);
    let printed = printed.trim_end_matches(['\n', '\r']);
    if printed != spec.version {
        return failed(format!(
            "`--version` printed `{printed}`, but `package.json` says `{}`",
            spec.version
        ));
    }
    let list = match capture(launcher, binary, root, &["list", LIST_FIXTURE]).await {
        Ok(output) => output,
        Err(Start::NotRun(reason)) => return SmokeOutcome::NotRun { reason },
        Err(Start::Failed(reason)) => return failed(reason),
    };
    if let Some(difference) = first_difference(&spec.expected_list, &list.stdout) {
        return failed(format!(
            "`list {LIST_FIXTURE}` differs from `{LIST_EXPECTED}` {difference}"
        ));
    }
    SmokeOutcome::Passed { via }
}

enum Start {
    /// The emulator could not load the program: nothing of the binary ran.
    NotRun(String),
    Failed(String),
}

/// Runs one command of the smoke run; its output when it exited 0.
async fn capture(
    launcher: &Launcher,
    binary: &Path,
    root: &Path,
    arguments: &[&str],
) -> Result<std::process::Output, Start> {
    let shown = format!("{} {}", binary.display(), arguments.join(" "));
    let mut command = match launcher {
        Launcher::Native | Launcher::Rosetta => tokio::process::Command::new(binary),
        Launcher::Qemu { program, sysroot } => {
            let mut command = tokio::process::Command::new(program);
            command.arg("-L").arg(sysroot).arg(binary);
            command
        }
        Launcher::Wine { program } => {
            let mut command = tokio::process::Command::new(program);
            command.arg(binary);
            // Quiet, except for the loader's own errors, which tell "wine cannot load
            // this" from "the program failed".
            command.env("WINEDEBUG", "-all,err+module");
            command
        }
    };
    command
        .args(arguments)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .envs(normalised_environment())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(TIMEOUT, command.output()).await {
        Err(_) => {
            return Err(Start::Failed(format!(
                "`{shown}` did not finish within {} s",
                TIMEOUT.as_secs()
            )));
        }
        Ok(Err(error)) => {
            return Err(Start::Failed(format!("cannot start `{shown}`: {error}")));
        }
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if let Some(reason) = emulator_could_not_load(launcher, &stderr) {
        return Err(Start::NotRun(reason));
    }
    let last_lines: Vec<&str> = stderr.lines().rev().take(3).collect();
    let last_lines: Vec<&str> = last_lines.into_iter().rev().collect();
    Err(Start::Failed(format!(
        "`{shown}` exited with {}{}",
        output.status,
        if last_lines.is_empty() {
            String::new()
        } else {
            format!(": {}", last_lines.join(" / "))
        }
    )))
}

/// The variables every recipe gets, so a smoke run sees what the build saw.
fn normalised_environment() -> Vec<(OsString, OsString)> {
    [("TZ", "UTC"), ("LC_ALL", "C")]
        .into_iter()
        .map(|(key, value)| (key.into(), value.into()))
        .collect()
}

/// The emulator's own message when it could not load the program at all.
fn emulator_could_not_load(launcher: &Launcher, stderr: &str) -> Option<String> {
    match launcher {
        Launcher::Wine { .. } => stderr
            .lines()
            .find(|line| line.contains("err:module:import_dll") || line.contains("err:module:"))
            .map(|line| {
                // `import_dll Library bcryptprimitives.dll (which is needed by ..) not found`
                let missing = line
                    .split_once("Library ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .filter(|_| line.ends_with("not found"));
                if let Some(library) = missing {
                    format!("this wine lacks {library}, which the program needs")
                } else {
                    let message = line
                        .split_once("err:module:")
                        .map_or(line, |(_, rest)| rest);
                    format!("wine could not load it: {}", message.trim())
                }
            }),
        Launcher::Qemu { program, .. } => {
            let name = program.file_name()?.to_string_lossy().into_owned();
            stderr
                .lines()
                .find(|line| line.starts_with(&format!("{name}: Could not open")))
                .map(|line| format!("qemu could not load it: {line}"))
        }
        Launcher::Native | Launcher::Rosetta => None,
    }
}

/// "at line N: expected `..`, got `..`" for the first line where `actual` differs from
/// `expected`; `None` when they are the same bytes.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let expected_text = String::from_utf8_lossy(expected);
    let actual_text = String::from_utf8_lossy(actual);
    let mut expected_lines = expected_text.split('\n');
    let mut actual_lines = actual_text.split('\n');
    let mut line = 1;
    loop {
        match (expected_lines.next(), actual_lines.next()) {
            (Some(want), Some(got)) if want == got => line += 1,
            (Some(want), Some(got)) => {
                let hint = if want.trim_end_matches('\r') == got.trim_end_matches('\r') {
                    " (only the line ending differs: CRLF against LF; check `.gitattributes` and `core.autocrlf`)"
                } else {
                    ""
                };
                return Some(format!(
                    "at line {line}: expected `{}`, got `{}`{hint}",
                    want.escape_debug(),
                    got.escape_debug()
                ));
            }
            (Some(want), None) => {
                return Some(format!(
                    "at line {line}: expected `{}`, got the end of the output",
                    want.escape_debug()
                ));
            }
            (None, Some(got)) => {
                return Some(format!(
                    "at line {line}: expected the end of the output, got `{}`",
                    got.escape_debug()
                ));
            }
            (None, None) => return Some("in bytes that are not UTF-8".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use object::{Architecture, ObjectKind};

    use super::*;
    use crate::header::Format;

    fn host(os: Os, arch: Arch, programs: &[&str], files: &[&str]) -> Host {
        let programs: BTreeSet<String> = programs.iter().map(|name| (*name).to_owned()).collect();
        let files: BTreeSet<PathBuf> = files.iter().map(PathBuf::from).collect();
        Host {
            os: Some(os),
            arch: Some(arch),
            find_program: Box::new(move |name| {
                programs
                    .contains(name)
                    .then(|| PathBuf::from("/usr/bin").join(name))
            }),
            exists: Box::new(move |path| files.contains(path)),
            qemu_ld_prefix: None,
        }
    }

    fn elf(interpreter: Option<&str>) -> Header {
        Header {
            format: Format::Elf64,
            architecture: Architecture::Aarch64,
            kind: ObjectKind::Executable,
            interpreter: interpreter.map(str::to_owned),
            code_signature: None,
        }
    }

    fn launch(host: &Host, target: &str, header: &Header) -> Result<Launcher, String> {
        host.launcher(&Target::parse(target).unwrap(), header)
    }

    const ARM_LOADER: &str = "/lib/ld-linux-aarch64.so.1";

    #[test]
    fn the_host_runs_its_own_binaries_natively() {
        let linux = host(Os::Linux, Arch::X64, &[], &["/lib64/ld-linux-x86-64.so.2"]);
        let header = elf(Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(launch(&linux, "linux-x64", &header), Ok(Launcher::Native));
        let mac = host(Os::Darwin, Arch::Arm64, &[], &[]);
        assert_eq!(
            launch(&mac, "darwin-arm64", &elf(None)),
            Ok(Launcher::Native)
        );
        let windows = host(Os::Windows, Arch::X64, &[], &[]);
        assert_eq!(
            launch(&windows, "windows-x64", &elf(None)),
            Ok(Launcher::Native)
        );
    }

    #[test]
    fn a_missing_loader_is_a_reason_not_a_failure() {
        let linux = host(Os::Linux, Arch::X64, &[], &[]);
        let error = launch(
            &linux,
            "linux-x64-musl",
            &elf(Some("/lib/ld-musl-x86_64.so.1")),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "it needs the loader `/lib/ld-musl-x86_64.so.1`, which this machine does not have"
        );
    }

    #[test]
    fn arm64_linux_runs_under_qemu_with_the_cross_sysroot() {
        let linux = host(
            Os::Linux,
            Arch::X64,
            &["qemu-aarch64-static"],
            &["/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"],
        );
        let launcher = launch(&linux, "linux-arm64", &elf(Some(ARM_LOADER))).unwrap();
        assert_eq!(
            launcher,
            Launcher::Qemu {
                program: PathBuf::from("/usr/bin/qemu-aarch64-static"),
                sysroot: PathBuf::from("/usr/aarch64-linux-gnu"),
            }
        );
        assert_eq!(launcher.to_string(), "qemu-aarch64-static");
    }

    #[test]
    fn qemu_without_a_sysroot_or_qemu_at_all_says_what_to_install() {
        let no_qemu = host(Os::Linux, Arch::X64, &[], &[]);
        assert_eq!(
            launch(&no_qemu, "linux-arm64", &elf(Some(ARM_LOADER))).unwrap_err(),
            "qemu-user is not installed (Debian/Ubuntu: `apt-get install qemu-user-static libc6-arm64-cross`)"
        );
        let no_sysroot = host(Os::Linux, Arch::X64, &["qemu-aarch64"], &[]);
        let error = launch(&no_sysroot, "linux-arm64", &elf(Some(ARM_LOADER))).unwrap_err();
        assert!(
            error.starts_with("qemu-aarch64 is installed, but no sysroot has the loader `/lib/ld-linux-aarch64.so.1` (looked in `/usr/aarch64-linux-gnu`, `/`)"),
            "{error}"
        );
        let mut chosen = host(
            Os::Linux,
            Arch::X64,
            &["qemu-aarch64"],
            &["/opt/arm/lib/ld-linux-aarch64.so.1"],
        );
        chosen.qemu_ld_prefix = Some(PathBuf::from("/opt/arm"));
        assert!(matches!(
            launch(&chosen, "linux-arm64", &elf(Some(ARM_LOADER))),
            Ok(Launcher::Qemu { sysroot, .. }) if sysroot == Path::new("/opt/arm")
        ));
    }

    #[test]
    fn windows_binaries_run_under_wine_when_it_is_there() {
        let with_wine = host(Os::Linux, Arch::X64, &["wine"], &[]);
        assert!(matches!(
            launch(&with_wine, "windows-x64", &elf(None)),
            Ok(Launcher::Wine { .. })
        ));
        let without = host(Os::Darwin, Arch::Arm64, &[], &[]);
        assert_eq!(
            launch(&without, "windows-x64", &elf(None)).unwrap_err(),
            "wine is not installed"
        );
    }

    #[test]
    fn macs_run_x64_binaries_only_with_rosetta() {
        let with_rosetta = host(Os::Darwin, Arch::Arm64, &[], &[ROSETTA_RUNTIME]);
        assert_eq!(
            launch(&with_rosetta, "darwin-x64", &elf(None)),
            Ok(Launcher::Rosetta)
        );
        let without = host(Os::Darwin, Arch::Arm64, &[], &[]);
        assert!(
            launch(&without, "darwin-x64", &elf(None))
                .unwrap_err()
                .starts_with("Rosetta 2 is not installed")
        );
        let intel = host(Os::Darwin, Arch::X64, &[], &[]);
        assert!(launch(&intel, "darwin-arm64", &elf(None)).is_err());
    }

    #[test]
    fn other_platforms_say_why_they_cannot_run() {
        let linux = host(Os::Linux, Arch::X64, &["qemu-aarch64-static", "wine"], &[]);
        assert_eq!(
            launch(&linux, "darwin-arm64", &elf(None)).unwrap_err(),
            "macOS binaries run only on macOS; this machine is Linux x64"
        );
        let mac = host(Os::Darwin, Arch::Arm64, &[], &[]);
        assert!(
            launch(&mac, "linux-arm64", &elf(None))
                .unwrap_err()
                .contains("outside a Linux VM or container")
        );
    }

    #[test]
    fn differences_name_the_first_differing_line() {
        assert_eq!(first_difference(b"a\nb\n", b"a\nb\n"), None);
        assert_eq!(
            first_difference(b"a\nb\n", b"a\nc\n").unwrap(),
            "at line 2: expected `b`, got `c`"
        );
        assert_eq!(
            first_difference(b"a\nb\n", b"a\n").unwrap(),
            "at line 2: expected `b`, got ``"
        );
        assert!(
            first_difference(b"a\r\nb\r\n", b"a\nb\n")
                .unwrap()
                .contains("only the line ending differs")
        );
    }

    #[test]
    fn wine_loader_errors_mean_not_run() {
        let wine = Launcher::Wine {
            program: PathBuf::from("/usr/bin/wine"),
        };
        let stderr = "0024:err:module:import_dll Library bcryptprimitives.dll (which is needed by L\"Z:\\\\x.exe\") not found\n";
        assert_eq!(
            emulator_could_not_load(&wine, stderr).unwrap(),
            "this wine lacks bcryptprimitives.dll, which the program needs"
        );
        assert_eq!(
            emulator_could_not_load(
                &wine,
                "0024:err:module:LdrInitializeThunk Importing dlls failed, status c0000135\n"
            )
            .unwrap(),
            "wine could not load it: LdrInitializeThunk Importing dlls failed, status c0000135"
        );
        assert_eq!(
            emulator_could_not_load(&wine, "taskmd: no such directory\n"),
            None
        );
        assert_eq!(emulator_could_not_load(&Launcher::Native, stderr), None);
    }

    /// A stand-in program: prints `version` for `--version`, `listing` for `list`, and
    /// exits with `list_exit` after listing.
    #[cfg(unix)]
    fn script(dir: &Path, version: &str, listing: &str, list_exit: u8) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(format!("app-{list_exit}-{}", version.len() + listing.len()));
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\ncase \"$1\" in\n  --version) echo '{version}' ;;\n  list) printf '{listing}'; echo boom >&2; exit {list_exit} ;;\nesac\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[cfg(unix)]
    #[test]
    fn a_smoke_run_checks_the_version_and_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        let spec = SmokeSpec {
            version: "1.2.3".to_owned(),
            expected_list: b"ID\n#1\n".to_vec(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let smoke =
            |program: &Path| runtime.block_on(run(&spec, &Launcher::Native, program, dir.path()));

        let good = script(dir.path(), "1.2.3", "ID\\n#1\\n", 0);
        assert_eq!(
            smoke(&good),
            SmokeOutcome::Passed {
                via: "native".to_owned()
            }
        );

        let old = script(dir.path(), "1.2.0", "ID\\n#1\\n", 0);
        assert_eq!(
            smoke(&old),
            SmokeOutcome::Failed {
                via: "native".to_owned(),
                reason: "`--version` printed `1.2.0`, but `package.json` says `1.2.3`".to_owned()
            }
        );

        let short = script(dir.path(), "1.2.3", "ID\\n", 0);
        let SmokeOutcome::Failed { reason, .. } = smoke(&short) else {
            panic!("a short listing passed");
        };
        assert_eq!(
            reason,
            "`list test/fixtures/tasks` differs from `test/fixtures/tasks.list.expected` at line 2: expected `#1`, got ``"
        );

        let crashing = script(dir.path(), "1.2.3", "ID\\n#1\\n", 3);
        let SmokeOutcome::Failed { reason, .. } = smoke(&crashing) else {
            panic!("a failing listing passed");
        };
        assert!(
            reason.ends_with(" list test/fixtures/tasks` exited with exit status: 3: boom"),
            "{reason}"
        );
    }

    #[test]
    fn the_spec_comes_from_package_json_and_the_fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(
            SmokeSpec::for_project(root).unwrap_err(),
            "the project has no `package.json`"
        );
        std::fs::write(
            root.join("package.json"),
            r#"{"name": "taskmd", "version": "1.2.3"}"#,
        )
        .unwrap();
        assert_eq!(
            SmokeSpec::for_project(root).unwrap_err(),
            "no fixture directory `test/fixtures/tasks`"
        );
        std::fs::create_dir_all(root.join(LIST_FIXTURE)).unwrap();
        std::fs::write(root.join(LIST_EXPECTED), "ID\n").unwrap();
        assert_eq!(
            SmokeSpec::for_project(root).unwrap(),
            SmokeSpec {
                version: "1.2.3".to_owned(),
                expected_list: b"ID\n".to_vec()
            }
        );
    }
}
