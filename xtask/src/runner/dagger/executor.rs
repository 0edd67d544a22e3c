//! Runs one step of a [`Pipeline`] in the engine, for the scheduler: each step resolves its
//! inputs, forces its container with one leaf (`sync`), prints what the recipe printed,
//! exports its declared outputs into the staging directory, and hands its finished container
//! to the steps that depend on it. Independent steps run at once: each is its own task.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::Arc,
};

use color_eyre::{Result, eyre::bail};
use dagger_sdk::{
    Container, Id, Query,
    core::{gql_client::GraphQlExtension, graphql_client::GraphQLError},
    errors::DaggerError,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, debug, info};

use super::{
    export::{Staging, files_under, unmatched_outputs},
    pipeline::{ContainerSpec, Pipeline, ToolInstall},
    sdk::{self, Resolved},
};
use crate::{
    just::version_in,
    plan::{Step, StepId},
    runner::{
        StepExecutor, StepFailure, StepResult,
        local::failure_message,
        output::{OutputStyle, StepLog, Stream},
    },
    troubleshooting::{Topic, TopicExt},
};

/// What a finished step hands to its dependents: its container (and, for a recipe without
/// a body, the containers of the steps behind it), by step.
#[derive(Clone, Default)]
pub struct Finished(Arc<Vec<(StepId, Container)>>);

impl Finished {
    fn merge(inputs: Vec<Finished>) -> Finished {
        let mut all: Vec<(StepId, Container)> = Vec::new();
        for input in inputs {
            for (id, container) in input.0.iter() {
                if !all.iter().any(|(known, _)| known == id) {
                    all.push((*id, container.clone()));
                }
            }
        }
        Finished(Arc::new(all))
    }
}

pub struct DaggerExecutor {
    pub client: Query,
    pub pipeline: Arc<Pipeline>,
    pub project_root: PathBuf,
    pub resolved: Arc<Resolved>,
    pub staging: Arc<Staging>,
    pub style: OutputStyle,
}

/// What a failing `withExec` reported, from the engine's `EXEC_ERROR` extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFailure {
    pub cmd: Vec<String>,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The exec failure inside an SDK error, if that is what it is.
pub fn exec_failure(error: &DaggerError) -> Option<ExecFailure> {
    let DaggerError::Query(GraphQLError::DomainError { fields, .. }) = error else {
        return None;
    };
    fields.iter().find_map(|field| match &field.extensions {
        Some(GraphQlExtension::ExecError {
            cmd,
            exit_code,
            stdout,
            stderr,
        }) => Some(ExecFailure {
            cmd: cmd.clone(),
            exit_code: *exit_code,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        }),
        _ => None,
    })
}

/// An SDK error that is not a recipe's failure, in one line: the engine's own message, never
/// the raw GraphQL answer.
pub fn engine_message(error: &DaggerError) -> String {
    let text = match error {
        DaggerError::Query(GraphQLError::DomainError { fields, message }) => {
            let messages: Vec<&str> = fields.iter().map(|field| field.message.as_str()).collect();
            if messages.is_empty() {
                message.clone()
            } else {
                messages.join("; ")
            }
        }
        DaggerError::Query(GraphQLError::HttpError(text)) => {
            format!("cannot talk to the engine: {text}")
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    };
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn lines_of(stdout: &str, stderr: &str) -> Vec<String> {
    stdout
        .lines()
        .chain(stderr.lines())
        .map(str::to_owned)
        .collect()
}

impl StepExecutor for DaggerExecutor {
    type Output = Finished;

    async fn execute(
        &self,
        step: &Step,
        inputs: Vec<Finished>,
        cancel: CancellationToken,
    ) -> StepResult<Finished> {
        let available = Finished::merge(inputs);
        let Some(spec) = self.pipeline.container(step.id).cloned() else {
            return Ok(available);
        };
        let label = step.invocation.to_string();
        let run = StepRun {
            id: step.id,
            label: label.clone(),
            spec,
            client: self.client.clone(),
            project_root: self.project_root.clone(),
            resolved: Arc::clone(&self.resolved),
            staging: Arc::clone(&self.staging),
            available,
            log: StepLog::new(label.clone(), step.id, self.style),
        };
        // A task of its own, so that a panic inside the SDK becomes this step's failure.
        let task = tokio::spawn(run.run(cancel).instrument(Span::current()));
        match task.await {
            Ok(result) => result,
            Err(error) if error.is_panic() => Err(StepFailure::Failed {
                exit_code: None,
                message: format!(
                    "the Dagger SDK failed while running `{label}`: {}",
                    panic_text(&*error.into_panic())
                ),
            }),
            Err(_) => Err(StepFailure::Cancelled),
        }
    }
}

pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
        })
        .unwrap_or_else(|| "it panicked".to_owned())
}

struct StepRun {
    id: StepId,
    label: String,
    spec: ContainerSpec,
    client: Query,
    project_root: PathBuf,
    resolved: Arc<Resolved>,
    staging: Arc<Staging>,
    available: Finished,
    log: StepLog,
}

impl StepRun {
    /// Until the container has run, cancelling drops the request and the engine stops the
    /// work. Its output and export are not interrupted: an export cut short could still be
    /// written into the staging directory after the run has cleaned it up.
    async fn run(self, cancel: CancellationToken) -> StepResult<Finished> {
        let finished = tokio::select! {
            finished = self.sync() => finished?,
            () = cancel.cancelled() => return Err(StepFailure::Cancelled),
        };
        self.finish(finished).await
    }

    fn engine_failure(&self, what: &str, error: &DaggerError) -> StepFailure {
        StepFailure::Failed {
            exit_code: None,
            message: format!(
                "the Dagger engine could not {what} for `{}`: {}",
                self.label,
                engine_message(error)
            ),
        }
    }

    /// Sends the step's inputs and forces its container: the one leaf a step waits on.
    async fn sync(&self) -> StepResult<Container> {
        let label = &self.label;
        let engine_failure = |what: &str, error: &DaggerError| self.engine_failure(what, error);
        let source = sdk::host_source(&self.client, &self.project_root, &self.spec.source)
            .id()
            .await
            .map_err(|error| engine_failure("load the project's files", &error))?;
        let mut copies: Vec<(Id, Vec<String>)> = Vec::new();
        for copy in &self.spec.from_dependencies {
            let Some((_, container)) = self.available.0.iter().find(|(id, _)| *id == copy.step)
            else {
                return Err(StepFailure::Failed {
                    exit_code: None,
                    message: format!(
                        "`{label}` needs files from `{}`, which handed none on",
                        copy.from
                    ),
                });
            };
            let directory = sdk::source_dir(container).id().await.map_err(|error| {
                engine_failure(&format!("take the files of `{}`", copy.from), &error)
            })?;
            copies.push((directory, copy.paths.clone()));
        }
        let container =
            sdk::step_container(&self.client, &self.spec, &self.resolved, &source, &copies);

        match container.sync().await {
            Ok(finished) => Ok(finished),
            Err(error) => {
                let Some(failure) = exec_failure(&error) else {
                    return Err(engine_failure("run the recipe", &error));
                };
                self.print(&failure.stdout, &failure.stderr);
                Err(StepFailure::Failed {
                    exit_code: Some(failure.exit_code),
                    message: failure_message(
                        label,
                        &format!("failed with exit code {}", failure.exit_code),
                        &lines_of(&failure.stdout, &failure.stderr),
                    ),
                })
            }
        }
    }

    /// Prints what the recipe printed and exports its declared outputs into the staging
    /// directory.
    async fn finish(&self, finished: Container) -> StepResult<Finished> {
        let label = &self.label;
        let engine_failure = |what: &str, error: &DaggerError| self.engine_failure(what, error);
        let (stdout, stderr) = tokio::join!(finished.stdout(), finished.stderr());
        match (stdout, stderr) {
            (Ok(stdout), Ok(stderr)) => self.print(&stdout, &stderr),
            (Err(error), _) | (_, Err(error)) => {
                return Err(engine_failure("read the recipe's output", &error));
            }
        }

        if !self.spec.exports.is_empty() {
            let dir = self.staging.step_dir(self.id);
            let exported = sdk::outputs(&finished, &self.spec.exports)
                .export(dir.to_string_lossy().as_ref())
                .await
                .map_err(|error| engine_failure("export the outputs", &error))?;
            debug!(path = exported, "exported");
            let files = if dir.exists() {
                files_under(&dir).map_err(|error| StepFailure::Failed {
                    exit_code: None,
                    message: format!("{error:#}"),
                })?
            } else {
                Vec::new()
            };
            let missing = unmatched_outputs(&files, &self.spec.exports);
            if !missing.is_empty() {
                return Err(StepFailure::Failed {
                    exit_code: None,
                    message: format!(
                        "recipe `{label}` passed but produced none of its declared outputs {}; fix the recipe, or its `outputs` metadata",
                        missing
                            .iter()
                            .map(|output| format!("`{output}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            info!(n_files = files.len(), "outputs exported to staging");
        }
        Ok(Finished(Arc::new(vec![(self.id, finished)])))
    }

    fn print(&self, stdout: &str, stderr: &str) {
        for line in stdout.lines() {
            self.log.line(Stream::Stdout, line.as_bytes());
        }
        for line in stderr.lines() {
            self.log.line(Stream::Stderr, line.as_bytes());
        }
        self.log.finish();
    }
}

/// Resolves what every step shares (the tool files, cache volumes and secrets), then checks
/// the toolchain in every step image: `just --version` and `bun --version` must report the
/// justfile's pins, or the run stops before any recipe runs.
pub async fn prepare(client: Query, pipeline: Arc<Pipeline>) -> Result<Resolved> {
    let toolchain = &pipeline.toolchain;
    let id = |what: String| {
        move |error: DaggerError| {
            color_eyre::eyre::eyre!(Topic::EngineFailure.error(format!(
                "the Dagger engine could not {what}: {}",
                engine_message(&error)
            )))
        }
    };
    let just = sdk::tool_file(&client, &toolchain.just)
        .id()
        .await
        .map_err(id("prepare the just installation".to_owned()))?;
    let bun = sdk::tool_file(&client, &toolchain.bun)
        .id()
        .await
        .map_err(id("prepare the bun installation".to_owned()))?;
    let mut caches = BTreeMap::new();
    for spec in pipeline
        .steps
        .iter()
        .filter_map(|step| step.container.as_ref())
    {
        for cache in &spec.caches {
            if !caches.contains_key(&cache.volume) {
                let volume = sdk::cache_volume(&client, &cache.volume)
                    .id()
                    .await
                    .map_err(id(format!("open cache volume `{}`", cache.volume)))?;
                caches.insert(cache.volume.clone(), volume);
            }
        }
    }
    let mut secrets = BTreeMap::new();
    for secret in &pipeline.secrets {
        let reference = sdk::secret(&client, &secret.name)
            .id()
            .await
            .map_err(id(format!("read secret `{}`", secret.name)))
            .topic(Topic::MissingSecret)?;
        secrets.insert(secret.name.clone(), reference);
    }

    let mut checks = JoinSet::new();
    for image in &pipeline.images {
        for tool in [&toolchain.just, &toolchain.bun] {
            let base = sdk::with_toolchain(&client, image, &just, &bun);
            let check = sdk::tool_check(&base, tool);
            let (image, tool) = (image.clone(), tool.clone());
            checks.spawn(
                async move {
                    let result = check.stdout().await;
                    check_tool(&image, &tool, result)
                }
                .instrument(Span::current()),
            );
        }
    }
    let mut problems: BTreeSet<String> = BTreeSet::new();
    while let Some(joined) = checks.join_next().await {
        let outcome = match joined {
            Ok(outcome) => outcome,
            Err(error) if error.is_panic() => Err(format!(
                "the Dagger SDK failed while checking the toolchain: {}",
                panic_text(&*error.into_panic())
            )),
            Err(error) => Err(format!("the toolchain check was cancelled: {error}")),
        };
        if let Err(problem) = outcome {
            problems.insert(problem);
        }
    }
    if !problems.is_empty() {
        bail!(Topic::ToolchainCheck.error(problems.into_iter().collect::<Vec<_>>().join("\n")));
    }
    info!(
        n_images = pipeline.images.len(),
        just = toolchain.just.version,
        bun = toolchain.bun.version,
        "toolchain checked"
    );
    Ok(Resolved {
        just,
        bun,
        caches,
        secrets,
    })
}

/// The verdict on one tool in one image.
fn check_tool(
    image: &str,
    tool: &ToolInstall,
    result: Result<String, DaggerError>,
) -> Result<(), String> {
    let name = &tool.check[0];
    let stdout = match result {
        Ok(stdout) => stdout,
        Err(error) => {
            let Some(failure) = exec_failure(&error) else {
                return Err(format!(
                    "the Dagger engine could not check {name} in `{image}`: {}",
                    engine_message(&error)
                ));
            };
            let what = if failure.cmd == tool.install {
                format!(
                    "installing {name} {} in `{}` (`{}`)",
                    tool.version,
                    tool.stage_image,
                    tool.install.join(" ")
                )
            } else {
                format!("`{}` in `{image}`", failure.cmd.join(" "))
            };
            return Err(failure_message_for(&what, &failure));
        }
    };
    match version_in(&stdout, name) {
        Some(version) if version == tool.expect => Ok(()),
        found => Err(format!(
            "in `{image}`, `{}` reports {}, but the justfile pins {name} {}; the Dagger path must run the same {name} as the local one",
            tool.check.join(" "),
            found.map_or_else(
                || "no version".to_owned(),
                |version| format!("version {version}")
            ),
            tool.expect
        )),
    }
}

fn failure_message_for(what: &str, failure: &ExecFailure) -> String {
    let lines = lines_of(&failure.stdout, &failure.stderr);
    let mut message = format!("{what} failed with exit code {}", failure.exit_code);
    if !lines.is_empty() {
        message.push_str("; its last lines:");
        for line in lines.iter().rev().take(10).rev() {
            message.push_str("\n    ");
            message.push_str(line);
        }
    }
    message
}
