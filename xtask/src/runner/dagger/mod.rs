//! The Dagger runner: the same recipes, run by the pinned `just` inside pinned containers
//! through dagger-sdk. See `docs/dagger.md`.
//!
//! - [`pipeline`]: the pure translation of a plan into a pipeline description;
//! - [`sdk`]: that description as dagger-sdk builder calls;
//! - [`engine`]: finding the engine and opening a session;
//! - [`executor`]: one step in the engine, for the shared scheduler;
//! - [`export`]: outputs staged in the project, then renamed into place.

pub mod engine;
pub mod executor;
pub mod export;
pub mod image;
pub mod pipeline;
pub mod sdk;

use std::{path::Path, sync::Arc, sync::Once};

use color_eyre::{
    Result,
    eyre::{WrapErr, eyre},
};
use tracing::{debug, info, info_span, warn};

use self::{
    engine::{Engine, EngineError},
    executor::DaggerExecutor,
    export::Staging,
    image::Mirror,
    pipeline::{Context, DEFAULT_IMAGE_VARIABLE, PYTHON_IMAGE_VARIABLE, Pipeline},
};
use crate::{
    environment::BuildEnvironment,
    flags::RunnerChoice,
    justfile::Justfile,
    plan::{Plan, StepId},
    project::Project,
    runner::{RunOptions, RunOutcome, StepStatus, output::OutputStyle, schedule},
    tools::{BUN_PIN, JUST_PIN},
    troubleshooting::{Topic, TopicExt},
};

/// The runner a command uses.
#[derive(Debug)]
pub enum Chosen {
    Local,
    Dagger(Engine),
}

/// Whether this is a CI run (`CI=true`, as GitHub Actions and most CI systems set).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value.eq_ignore_ascii_case("true") || value == "1")
}

/// `--runner auto`: Dagger when an engine is there; else, outside CI, the local runner after a
/// one-line notice saying why; in CI, an error (CI must run the pinned containers).
pub fn choose(choice: RunnerChoice, ci: bool) -> Result<Chosen> {
    match choice {
        RunnerChoice::Local => Ok(Chosen::Local),
        RunnerChoice::Dagger => Ok(Chosen::Dagger(engine::discover()?)),
        RunnerChoice::Auto => match engine::discover() {
            Ok(engine) => Ok(Chosen::Dagger(engine)),
            Err(error) if error.is_unavailable() => {
                fall_back(&error, ci)?;
                Ok(Chosen::Local)
            }
            Err(error) => Err(error.into()),
        },
    }
}

/// For `--runner auto` when Dagger cannot run here: the notice (outside CI) or the error.
pub fn fall_back(error: &EngineError, ci: bool) -> Result<()> {
    if ci {
        return Err(eyre!(error.clone()))
            .wrap_err(
                "CI=true: `--runner auto` runs recipes in Dagger's pinned containers in CI, and no Dagger engine can be used here; install Dagger, or pass `--runner local` to run them on this machine",
            )
            .topic(Topic::CiRequiresEngine);
    }
    let why = match error {
        EngineError::NotFound => {
            "no Dagger engine (not inside `dagger run`, no `dagger` on PATH)".to_owned()
        }
        EngineError::Unsupported => "the Dagger runner is Unix-only".to_owned(),
        EngineError::SessionFailed { what, .. } => {
            format!("`dagger session` did not start ({what})")
        }
        other => other.to_string(),
    };
    warn!(
        "{why}: running the recipes on this machine; install Dagger to run them in pinned containers, or pass `--runner local` to choose this"
    );
    Ok(())
}

/// Reads what the translation needs from the justfile and the environment.
pub fn context(
    justfile: &Justfile,
    project: &Project,
    environment: &BuildEnvironment,
    mirror: Option<&str>,
) -> Result<Context> {
    let variable = |name: &str, example: &str, why: &str| -> Result<String> {
        justfile.variable(name)?.ok_or_else(|| {
            eyre!(Topic::ImageNotPinned.error(format!(
                "the justfile has no `{name}` variable, which the Dagger runner needs ({why}); add `{name} := \"{example}\"` (see docs/dagger.md)"
            )))
        })
    };
    let pinned_image = "registry/repository:tag@sha256:<64 hex digits>";
    let mirror = mirror
        .filter(|mirror| !mirror.trim().is_empty())
        .map(Mirror::parse)
        .transpose()?;
    Ok(Context {
        just_version: variable(
            JUST_PIN,
            "1.59.0",
            "it installs that just in its containers",
        )?,
        bun_version: variable(BUN_PIN, "1.4.5", "it installs that bun in its containers")?,
        default_image: variable(
            DEFAULT_IMAGE_VARIABLE,
            pinned_image,
            "recipes run in that image unless their metadata names another",
        )?,
        python_image: variable(
            PYTHON_IMAGE_VARIABLE,
            pinned_image,
            "the pinned just is installed from PyPI in that image",
        )?,
        justfile_name: project.justfile.file_name().map_or_else(
            || "justfile".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        ),
        environment: environment.clone(),
        mirror,
    })
}

/// Runs `plan`, described by `pipeline`, in the engine; the declared outputs of the steps
/// that passed are in place in the project afterwards.
pub fn run(
    project: &Project,
    plan: Arc<Plan>,
    pipeline: Arc<Pipeline>,
    engine: Engine,
    options: RunOptions,
    style: OutputStyle,
) -> Result<RunOutcome> {
    let runtime = tokio::runtime::Runtime::new().wrap_err("cannot start the async runtime")?;
    let _span = info_span!("run", runner = "dagger").entered();
    runtime.block_on(async {
        let connection = engine::connect(engine, &project.root).await?;
        let result = run_connected(
            connection.client.clone(),
            project,
            plan,
            pipeline,
            options,
            style,
        )
        .await;
        connection.close().await;
        result
    })
}

async fn run_connected(
    client: dagger_sdk::Query,
    project: &Project,
    plan: Arc<Plan>,
    pipeline: Arc<Pipeline>,
    options: RunOptions,
    style: OutputStyle,
) -> Result<RunOutcome> {
    quiet_sdk_panics();
    let staging = Arc::new(Staging::new(&project.root).topic(Topic::ExportPermissions)?);
    let prepare = tokio::spawn(executor::prepare(client.clone(), Arc::clone(&pipeline)));
    let resolved = match prepare.await {
        Ok(resolved) => resolved?,
        Err(error) if error.is_panic() => {
            return Err(eyre!(Topic::EngineFailure.error(format!(
                "the Dagger SDK failed while preparing the toolchain: {}",
                executor::panic_text(&*error.into_panic())
            ))));
        }
        Err(error) => {
            return Err(eyre!(
                Topic::EngineFailure
                    .error(format!("preparing the toolchain was cancelled: {error}"))
            ));
        }
    };
    let executor = Arc::new(DaggerExecutor {
        client,
        pipeline,
        project_root: project.root.clone(),
        resolved: Arc::new(resolved),
        staging: Arc::clone(&staging),
        style,
    });
    let outcome = schedule::run(Arc::clone(&plan), Arc::clone(&executor), options).await;
    drop(executor);
    let passed: Vec<StepId> = outcome
        .steps
        .iter()
        .filter(|step| step.status == StepStatus::Passed)
        .map(|step| step.id)
        .collect();
    let promoted = staging
        .promote(&passed, &project.root)
        .topic(Topic::ExportPermissions)?;
    drop(staging);
    info!(n_files = promoted.len(), "outputs in place");
    for path in &promoted {
        debug!(path = %path.strip_prefix(&project.root).unwrap_or(path).display(), "exported");
    }
    Ok(outcome)
}

/// A panic inside dagger-sdk (it unwraps some engine answers) is reported as the failure of
/// the step it happened in; the default hook's message would only repeat it as noise.
fn quiet_sdk_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_sdk = info.location().is_some_and(|location| {
                Path::new(location.file()).components().any(|part| {
                    part.as_os_str()
                        .to_string_lossy()
                        .starts_with("dagger-sdk-")
                })
            });
            if in_sdk {
                debug!(panic = %info, "dagger-sdk panicked");
            } else {
                previous(info);
            }
        }));
    });
}
