//! Finding the Dagger engine, without ever letting the SDK look for one itself (its `connect`
//! may download the CLI with no timeout; see `docs/dagger-sdk-notes.md`):
//!
//! 1. inside `dagger run`, `DAGGER_SESSION_PORT` and `DAGGER_SESSION_TOKEN` name a session:
//!    use it;
//! 2. else a Dagger CLI, `_EXPERIMENTAL_DAGGER_CLI_BIN` or `dagger` on `PATH`: start
//!    `dagger session` and read its connection parameters, with a deadline;
//! 3. else fail at once, saying what was tried and how to install Dagger.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::Command;

/// The Dagger version dagger-sdk was generated for, and so the CLI and engine it speaks to.
/// Spelled out rather than taken from the SDK so that the pure half of the runner (discovery,
/// the pipeline translation, `doctor`) builds where dagger-sdk does not (Windows); a test on
/// Unix holds it equal to the SDK's.
pub const DAGGER_ENGINE_VERSION: &str = "1.0.0-beta.23";

pub const SESSION_PORT: &str = "DAGGER_SESSION_PORT";
pub const SESSION_TOKEN: &str = "DAGGER_SESSION_TOKEN";
pub const CLI_BIN: &str = "_EXPERIMENTAL_DAGGER_CLI_BIN";
/// Seconds to wait for `dagger session` to print its connection parameters.
pub const SESSION_TIMEOUT: &str = "XTASK_DAGGER_SESSION_TIMEOUT";

/// Where the engine is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// The session of an enclosing `dagger run`.
    Session { port: u16, token: String },
    /// A Dagger CLI that can start a session.
    Cli { program: PathBuf, origin: CliOrigin },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliOrigin {
    /// `_EXPERIMENTAL_DAGGER_CLI_BIN`
    Variable,
    Path,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error(
        "no Dagger engine: not inside `dagger run` ({SESSION_PORT}/{SESSION_TOKEN} are not set), {CLI_BIN} is not set, and there is no `dagger` on PATH; install the Dagger CLI {DAGGER_ENGINE_VERSION} (`curl -fsSL https://dl.dagger.io/dagger/install.sh | DAGGER_VERSION={DAGGER_ENGINE_VERSION} BIN_DIR=$HOME/.local/bin sh`, see https://docs.dagger.io/install) and a container runtime such as Docker, or run the recipes on this machine with `--runner local`"
    )]
    NotFound,
    #[error(
        "the Dagger runner is Unix-only (dagger-sdk {DAGGER_ENGINE_VERSION} does not support Windows); run the recipes on this machine with `--runner local`, or run the xtask inside WSL"
    )]
    Unsupported,
    #[error(
        "{SESSION_PORT} and {SESSION_TOKEN} must be set together (as `dagger run` does): {problem}; unset them, or run inside `dagger run`"
    )]
    BadSession { problem: String },
    #[error(
        "{CLI_BIN} is `{}`, which is not an executable file; point it at the Dagger CLI or unset it", path.display()
    )]
    BadCliBin { path: PathBuf },
    #[error("{}", session_failure(program, what, stderr))]
    SessionFailed {
        program: PathBuf,
        what: String,
        stderr: Vec<String>,
    },
}

fn session_failure(program: &Path, what: &str, stderr: &[String]) -> String {
    let mut message = format!(
        "`{} session` did not start a Dagger session: {what}; is a container runtime (Docker) running? Try `dagger core version`, or run the recipes on this machine with `--runner local`",
        program.display()
    );
    if !stderr.is_empty() {
        message.push_str("; its last lines:");
        for line in stderr {
            message.push_str("\n    ");
            message.push_str(line);
        }
    }
    message
}

impl EngineError {
    /// No engine to be had here: `--runner auto` then runs locally (outside CI).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            EngineError::NotFound | EngineError::Unsupported | EngineError::SessionFailed { .. }
        )
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Session { port, .. } => {
                write!(f, "the `dagger run` session on 127.0.0.1:{port}")
            }
            Engine::Cli { program, origin } => {
                let origin = match origin {
                    CliOrigin::Variable => CLI_BIN,
                    CliOrigin::Path => "PATH",
                };
                write!(f, "`{}` (from {origin})", program.display())
            }
        }
    }
}

/// Finds the engine from the process environment, cheaply: no process is started.
pub fn discover() -> Result<Engine, EngineError> {
    discover_with(|name| std::env::var_os(name), crate::tools::which)
}

/// [`discover`] over a given environment and `PATH` lookup.
pub fn discover_with(
    var: impl Fn(&str) -> Option<OsString>,
    which: impl Fn(&str) -> Option<PathBuf>,
) -> Result<Engine, EngineError> {
    if cfg!(windows) {
        return Err(EngineError::Unsupported);
    }
    let nonempty = |name: &str| var(name).filter(|value| !value.is_empty());
    match (nonempty(SESSION_PORT), nonempty(SESSION_TOKEN)) {
        (Some(port), Some(token)) => {
            let port = port.to_string_lossy();
            let Some(port) = port.parse::<u16>().ok().filter(|&port| port != 0) else {
                return Err(EngineError::BadSession {
                    problem: format!("{SESSION_PORT} `{port}` is not a TCP port"),
                });
            };
            let token = token.into_string().map_err(|_| EngineError::BadSession {
                problem: format!("{SESSION_TOKEN} is not valid UTF-8"),
            })?;
            return Ok(Engine::Session { port, token });
        }
        (Some(_), None) => {
            return Err(EngineError::BadSession {
                problem: format!("{SESSION_PORT} is set but {SESSION_TOKEN} is not"),
            });
        }
        (None, Some(_)) => {
            return Err(EngineError::BadSession {
                problem: format!("{SESSION_TOKEN} is set but {SESSION_PORT} is not"),
            });
        }
        (None, None) => {}
    }
    if let Some(program) = nonempty(CLI_BIN) {
        let path = PathBuf::from(program);
        if !crate::tools::is_executable(&path) {
            return Err(EngineError::BadCliBin { path });
        }
        return Ok(Engine::Cli {
            program: path,
            origin: CliOrigin::Variable,
        });
    }
    match which("dagger") {
        Some(program) => Ok(Engine::Cli {
            program,
            origin: CliOrigin::Path,
        }),
        None => Err(EngineError::NotFound),
    }
}

/// The W3C trace context handed to a `dagger session` we start, so the engine's spans (and
/// Dagger Cloud's view) sit under the current span: ours when spans are exported, else the
/// `TRACEPARENT` we were given (by a CI system or an enclosing `dagger run`), if any.
pub fn trace_parent() -> Option<String> {
    crate::telemetry::traceparent().or_else(|| {
        std::env::var("TRACEPARENT")
            .ok()
            .filter(|value| !value.is_empty())
    })
}

/// The version `dagger version` reports (`dagger v1.0.0-beta.23 (...)` → `1.0.0-beta.23`).
pub fn cli_version_in(output: &str) -> Option<String> {
    let mut words = output.split_whitespace();
    (words.next()? == "dagger")
        .then(|| words.next())
        .flatten()
        .map(|version| version.trim_start_matches('v').to_owned())
}

/// The CLI's version, asked with a short deadline; `None` if it does not say.
pub async fn cli_version(program: &Path) -> Option<String> {
    let output = tokio::time::timeout(
        Duration::from_secs(5),
        Command::new(program)
            .arg("version")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    cli_version_in(&String::from_utf8_lossy(&output.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    #[cfg(unix)]
    fn a_session_comes_first_then_the_cli_variable_then_path() {
        let dagger = |_: &str| Some(PathBuf::from("/usr/bin/dagger"));
        let session = discover_with(
            env(&[
                (SESSION_PORT, "4242"),
                (SESSION_TOKEN, "t0ken"),
                (CLI_BIN, "/bin/sh"),
            ]),
            dagger,
        );
        assert_eq!(
            session,
            Ok(Engine::Session {
                port: 4242,
                token: "t0ken".into()
            })
        );
        let variable = discover_with(env(&[(CLI_BIN, "/bin/sh")]), dagger);
        assert_eq!(
            variable,
            Ok(Engine::Cli {
                program: "/bin/sh".into(),
                origin: CliOrigin::Variable
            })
        );
        let path = discover_with(env(&[]), dagger);
        assert_eq!(
            path,
            Ok(Engine::Cli {
                program: "/usr/bin/dagger".into(),
                origin: CliOrigin::Path
            })
        );
        let none = discover_with(env(&[]), |_| None).unwrap_err();
        assert_eq!(none, EngineError::NotFound);
        let message = none.to_string();
        for tried in [
            SESSION_PORT,
            CLI_BIN,
            "no `dagger` on PATH",
            "install.sh",
            "--runner local",
        ] {
            assert!(message.contains(tried), "{message}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn a_half_or_malformed_session_is_an_error() {
        let none = |_: &str| None;
        for (pairs, expected) in [
            (
                &[(SESSION_PORT, "4242")][..],
                "DAGGER_SESSION_PORT is set but DAGGER_SESSION_TOKEN is not",
            ),
            (
                &[(SESSION_TOKEN, "t")][..],
                "DAGGER_SESSION_TOKEN is set but DAGGER_SESSION_PORT is not",
            ),
            (
                &[(SESSION_PORT, "http"), (SESSION_TOKEN, "t")][..],
                "`http` is not a TCP port",
            ),
            (
                &[(SESSION_PORT, "0"), (SESSION_TOKEN, "t")][..],
                "`0` is not a TCP port",
            ),
        ] {
            let error = discover_with(env(pairs), none).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        let error = discover_with(env(&[(CLI_BIN, "/nonexistent/dagger")]), none)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`/nonexistent/dagger`, which is not an executable file"),
            "{error}"
        );
    }

    #[test]
    #[cfg(unix)]
    fn the_version_is_the_sdks() {
        assert_eq!(
            DAGGER_ENGINE_VERSION,
            dagger_sdk::core::DAGGER_ENGINE_VERSION
        );
    }

    #[test]
    fn reads_the_cli_version() {
        assert_eq!(
            cli_version_in(
                "dagger v1.0.0-beta.23 (registry.dagger.io/engine:v1.0.0-beta.23) linux/amd64\n"
            )
            .as_deref(),
            Some("1.0.0-beta.23")
        );
        assert_eq!(cli_version_in("something else"), None);
        assert_eq!(cli_version_in(""), None);
    }
}
