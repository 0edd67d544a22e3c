//! The local runner: `just --no-deps <recipe> <args>` on the host, one process group per step
//! so that cancelling a step ends everything the recipe started.

use std::{ffi::OsString, path::PathBuf, process::Stdio};

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::Command,
};
use tokio_util::sync::CancellationToken;

use super::{
    StepExecutor, StepFailure, StepResult,
    output::{OutputStyle, StepLog, Stream},
};
use crate::{just::Just, plan::Step, telemetry};

/// How long a cancelled recipe gets to exit after SIGTERM before SIGKILL.
#[cfg(unix)]
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

pub struct LocalExecutor {
    pub just: Just,
    pub justfile: PathBuf,
    /// Set for every recipe: `PATH` with the pinned tools first, `SOURCE_DATE_EPOCH`, ...
    pub environment: Vec<(String, OsString)>,
    /// Options for just before the recipe, such as the resolved `--shell` on Windows.
    pub just_options: Vec<OsString>,
    pub style: OutputStyle,
}

impl StepExecutor for LocalExecutor {
    type Output = ();

    async fn execute(
        &self,
        step: &Step,
        _inputs: Vec<()>,
        cancel: CancellationToken,
    ) -> StepResult<()> {
        let invocation = &step.invocation;
        telemetry::record_step_runner("local", None);
        if step.empty {
            return Ok(());
        }
        let mut command = Command::from(self.just.recipe_command_with(
            &self.justfile,
            &self.just_options,
            &invocation.recipe,
            &invocation.arguments,
        ));
        command.envs(self.environment.iter().map(|(key, value)| (key, value)));
        // A recipe that traces (such as `dagger call`) continues this step's trace.
        command.envs(telemetry::trace_context_env());
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        command.process_group(0);
        command.kill_on_drop(true);

        let log = StepLog::new(invocation.to_string(), step.id, self.style);
        let mut child = command.spawn().map_err(|error| StepFailure::Failed {
            exit_code: None,
            message: format!("cannot start `{}`: {error}", self.just.program.display()),
        })?;
        let pid = child.id();
        let stdout = tokio::spawn(forward(
            child.stdout.take().expect("piped"),
            Stream::Stdout,
            log.clone(),
        ));
        let stderr = tokio::spawn(forward(
            child.stderr.take().expect("piped"),
            Stream::Stderr,
            log.clone(),
        ));

        let status = tokio::select! {
            status = child.wait() => Some(status),
            () = cancel.cancelled() => None,
        };
        let Some(status) = status else {
            stop_group(pid, &mut child).await;
            let _ = tokio::join!(stdout, stderr);
            log.finish();
            return Err(StepFailure::Cancelled);
        };
        // The pipes close when the whole process group is done writing.
        let _ = tokio::join!(stdout, stderr);
        log.finish();
        match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => {
                let exit_code = status.code();
                let how = exit_code.map_or_else(
                    || "was killed by a signal".to_owned(),
                    |code| format!("failed with exit code {code}"),
                );
                Err(StepFailure::Failed {
                    exit_code,
                    message: failure_message(&invocation.to_string(), &how, &log.tail()),
                })
            }
            Err(error) => Err(StepFailure::Failed {
                exit_code: None,
                message: format!("lost track of recipe `{invocation}`: {error}"),
            }),
        }
    }
}

/// `recipe `x` failed with exit code 1`, then the last lines it printed.
pub fn failure_message(step: &str, how: &str, tail: &[String]) -> String {
    let mut message = format!("recipe `{step}` {how}");
    if !tail.is_empty() {
        message.push_str("; its last lines:");
        for line in tail.iter().rev().take(10).rev() {
            message.push_str("\n    ");
            message.push_str(line);
        }
    }
    message
}

async fn forward(stream: impl AsyncRead + Unpin, kind: Stream, log: StepLog) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => log.line(kind, &line),
        }
    }
}

/// SIGTERM to the recipe's process group, then SIGKILL if it outlives the grace period.
/// Windows has no process groups to signal: there the whole tree under just (its shell,
/// bun, ...) is ended by parent links with `taskkill /T /F`.
async fn stop_group(pid: Option<u32>, child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) {
        signal_group(pid, libc::SIGTERM);
        if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
            signal_group(pid, libc::SIGKILL);
        }
        // Children of the recipe may still hold the group; make sure none survive.
        signal_group(pid, libc::SIGKILL);
    }
    #[cfg(windows)]
    if let Some(pid) = pid {
        let _ = Command::new("taskkill")
            .args(["/T", "/F", "/PID", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = pid;
    let _ = child.kill().await;
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    unsafe {
        libc::kill(-pgid, signal);
    }
}
