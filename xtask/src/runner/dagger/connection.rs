//! A session with the engine [`discover`](super::engine::discover) found: the one of an
//! enclosing `dagger run`, or a `dagger session` started here. Unix-only, like dagger-sdk.

use std::{
    collections::VecDeque,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use dagger_sdk::{
    Query, Selection,
    core::{config::Config, connect_params::ConnectParams, graphql_client::DefaultGraphQLClient},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
};
use tracing::{debug, info, warn};

use super::engine::{
    DAGGER_ENGINE_VERSION, Engine, EngineError, SESSION_TIMEOUT, cli_version, trace_parent,
};

const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How many of the CLI's last stderr lines an error quotes.
const STDERR_LINES: usize = 15;

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
