//! Finding the Dagger engine, without ever letting the SDK look for one itself (its `connect`
//! may download the CLI with no timeout; see `docs/dagger-sdk-notes.md`):
//!
//! 1. inside `dagger run`, `DAGGER_SESSION_PORT` and `DAGGER_SESSION_TOKEN` name a session:
//!    use it;
//! 2. else a Dagger CLI, `_EXPERIMENTAL_DAGGER_CLI_BIN` or `dagger` on `PATH`: start
//!    `dagger session` and read its connection parameters, with a deadline;
//! 3. else fail at once, saying what was tried and how to install Dagger.

use std::{
    collections::VecDeque,
    ffi::OsString,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use dagger_sdk::{
    Query, Selection,
    core::{
        DAGGER_ENGINE_VERSION, config::Config, connect_params::ConnectParams,
        graphql_client::DefaultGraphQLClient,
    },
};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
};
use tracing::{debug, info, warn};

pub const SESSION_PORT: &str = "DAGGER_SESSION_PORT";
pub const SESSION_TOKEN: &str = "DAGGER_SESSION_TOKEN";
pub const CLI_BIN: &str = "_EXPERIMENTAL_DAGGER_CLI_BIN";
/// Seconds to wait for `dagger session` to print its connection parameters.
pub const SESSION_TIMEOUT: &str = "XTASK_DAGGER_SESSION_TIMEOUT";
const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How many of the CLI's last stderr lines an error quotes.
const STDERR_LINES: usize = 15;

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
        if !is_executable(&path) {
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

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
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

/// An open session and the client that talks to it.
pub struct Connection {
    pub client: Query,
    pub engine: Engine,
    /// The `dagger session` we started, if we did.
    child: Option<Child>,
}

/// The client for the session at `port`, built directly from its parameters (as the SDK's
/// `connect_opts` does after finding the engine).
pub fn client(port: u16, token: &str) -> Query {
    let params = ConnectParams::new(u64::from(port), token);
    Query {
        proc: None,
        selection: Selection::default(),
        graphql_client: Arc::new(DefaultGraphQLClient::new(&params, &Config::default())),
    }
}

/// Opens a session with `engine`; a CLI is started in `workdir`.
pub async fn connect(engine: Engine, workdir: &Path) -> Result<Connection, EngineError> {
    match &engine {
        Engine::Session { port, token } => {
            info!(engine = %engine, "using the session of `dagger run`");
            Ok(Connection {
                client: client(*port, token),
                engine,
                child: None,
            })
        }
        Engine::Cli { program, .. } => {
            check_cli_version(program).await;
            let (params, child) = start_session(program, workdir, session_timeout()).await?;
            let port = u16::try_from(params.port).map_err(|_| EngineError::SessionFailed {
                program: program.clone(),
                what: format!("it printed port {}, which is not a TCP port", params.port),
                stderr: Vec::new(),
            })?;
            info!(engine = %engine, port, "started a Dagger session");
            Ok(Connection {
                client: client(port, &params.session_token),
                engine,
                child: Some(child),
            })
        }
    }
}

impl Connection {
    /// Ends a session we started: its stdin closes, it exits; killed if it lingers.
    pub async fn close(self) {
        let Some(mut child) = self.child else {
            return;
        };
        drop(child.stdin.take());
        match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
            Ok(Ok(status)) => debug!(%status, "dagger session ended"),
            Ok(Err(error)) => warn!(%error, "lost track of the dagger session"),
            Err(_) => {
                warn!(
                    "the dagger session did not end within 10 s of its stdin closing; killing it"
                );
                let _ = child.kill().await;
            }
        }
    }
}

fn session_timeout() -> Duration {
    std::env::var(SESSION_TIMEOUT)
        .ok()
        .and_then(|seconds| seconds.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map_or(DEFAULT_SESSION_TIMEOUT, Duration::from_secs_f64)
}

/// `dagger session --label ..`, and the first line of its stdout that is
/// `{"port":N,"session_token":"..."}`, within `timeout`.
async fn start_session(
    program: &Path,
    workdir: &Path,
    timeout: Duration,
) -> Result<(ConnectParams, Child), EngineError> {
    let failed = |what: String, stderr: Vec<String>| EngineError::SessionFailed {
        program: program.to_owned(),
        what,
        stderr,
    };
    let mut command = Command::new(program);
    command
        .arg("session")
        .arg("--label")
        .arg("dagger.io/sdk.name:rust")
        .arg("--label")
        .arg(format!("dagger.io/sdk.version:{DAGGER_ENGINE_VERSION}"))
        .current_dir(workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The session inherits our environment; these two are named so that they are passed on
    // on purpose: our trace context, and the Dagger Cloud token that sends its traces there.
    if let Some(trace_parent) = trace_parent() {
        command.env("TRACEPARENT", trace_parent);
    }
    if let Some(token) = std::env::var_os("DAGGER_CLOUD_TOKEN") {
        command.env("DAGGER_CLOUD_TOKEN", token);
    }
    let mut child = command
        .spawn()
        .map_err(|error| failed(format!("it could not be started: {error}"), Vec::new()))?;
    let stderr = Arc::new(Mutex::new(VecDeque::new()));
    tokio::spawn(keep_last_lines(
        child.stderr.take().expect("piped"),
        Arc::clone(&stderr),
    ));
    let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
    let last_stderr = |stderr: &Arc<Mutex<VecDeque<String>>>| -> Vec<String> {
        stderr
            .lock()
            .expect("stderr lock")
            .iter()
            .cloned()
            .collect()
    };

    let read_params = async {
        while let Ok(Some(line)) = stdout.next_line().await {
            if let Ok(params) = serde_json::from_str::<ConnectParams>(line.trim()) {
                return Some(params);
            }
            debug!(line, "dagger session stdout");
        }
        None
    };
    match tokio::time::timeout(timeout, read_params).await {
        Ok(Some(params)) => {
            // Keep draining stdout so the session never blocks on a full pipe.
            tokio::spawn(async move {
                while let Ok(Some(line)) = stdout.next_line().await {
                    debug!(line, "dagger session stdout");
                }
            });
            Ok((params, child))
        }
        Ok(None) => {
            let status = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            // Give the stderr reader a moment to take the last lines.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let what = match status {
                Ok(Ok(status)) => {
                    format!("it exited ({status}) without printing its connection parameters")
                }
                _ => "it closed its stdout without printing its connection parameters".to_owned(),
            };
            let _ = child.kill().await;
            Err(failed(what, last_stderr(&stderr)))
        }
        Err(_) => {
            let _ = child.kill().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(failed(
                format!(
                    "it printed no connection parameters within {:.0} s (a first start may pull the engine image: start it once with `dagger core version`, or allow more time with {SESSION_TIMEOUT}=SECONDS)",
                    timeout.as_secs_f64()
                ),
                last_stderr(&stderr),
            ))
        }
    }
}

async fn keep_last_lines(stream: impl AsyncRead + Unpin, into: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        debug!(line, "dagger session stderr");
        let mut kept = into.lock().expect("stderr lock");
        if kept.len() == STDERR_LINES {
            kept.pop_front();
        }
        kept.push_back(line);
    }
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

/// Warns when the CLI is not the version the SDK was generated for.
async fn check_cli_version(program: &Path) {
    match cli_version(program).await {
        Some(version) if version == DAGGER_ENGINE_VERSION => {
            debug!(version, "the Dagger CLI matches the SDK");
        }
        Some(version) => warn!(
            cli = version,
            sdk = DAGGER_ENGINE_VERSION,
            "`{}` is Dagger {version}, but dagger-sdk speaks {DAGGER_ENGINE_VERSION}; install the Dagger CLI {DAGGER_ENGINE_VERSION} so the API matches",
            program.display()
        ),
        None => warn!(
            "`{} version` did not say which Dagger it is; dagger-sdk speaks {DAGGER_ENGINE_VERSION}",
            program.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
