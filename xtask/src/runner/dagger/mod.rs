//! The Dagger runner: the same recipes, run by the pinned `just` inside pinned containers
//! through dagger-sdk. See `docs/dagger.md`.
//!
//! - [`pipeline`]: the pure translation of a plan into a pipeline description;
//! - [`sdk`]: that description as dagger-sdk builder calls;
//! - [`engine`]: finding the engine;
//! - `connection`: opening a session with it;
//! - `executor`: one step in the engine, for the shared scheduler;
//! - `export`: outputs staged in the project, then renamed into place.
//!
//! dagger-sdk does not build on Windows, so the modules that talk to the engine are Unix-only;
//! discovery, images and the translation are portable, and discovery on Windows says the
//! runner is Unix-only.

#[cfg(unix)]
pub mod connection;
pub mod engine;
#[cfg(unix)]
pub mod executor;
#[cfg(unix)]
pub mod export;
pub mod image;
pub mod pipeline;
#[cfg(unix)]
mod running;
#[cfg(unix)]
pub mod sdk;

use color_eyre::{
    Result,
    eyre::{WrapErr, eyre},
};
use tracing::{info, warn};

#[cfg(unix)]
pub use self::running::run;
use self::{
    engine::{Engine, EngineError},
    image::Mirror,
    pipeline::{Context, DEFAULT_IMAGE_VARIABLE, PYTHON_IMAGE_VARIABLE},
};
use crate::{
    environment::BuildEnvironment,
    flags::RunnerChoice,
    justfile::Justfile,
    project::Project,
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

/// A plan the Dagger runner must not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    #[error(
        "recipe `{recipe}` runs on the host only (`[metadata(\"runner\", \"local\")]`), never in a container; run it with `--runner local`"
    )]
    HostOnly { recipe: String },
}

/// `--runner auto`: Dagger when an engine is there; else, outside CI, the local runner after a
/// one-line notice saying why; in CI, an error (CI must run the pinned containers).
/// `host_only` names a recipe of the plan that insists on the host: `auto` then runs
/// locally, and `--runner dagger` is an error.
pub fn choose(choice: RunnerChoice, ci: bool, host_only: Option<&str>) -> Result<Chosen> {
    match (choice, host_only) {
        (RunnerChoice::Local, _) => Ok(Chosen::Local),
        (RunnerChoice::Dagger, Some(recipe)) => Err(RunnerError::HostOnly {
            recipe: recipe.to_owned(),
        }
        .into()),
        (RunnerChoice::Auto, Some(recipe)) => {
            info!(
                recipe,
                "running on this machine: recipe `{recipe}` runs on the host only"
            );
            Ok(Chosen::Local)
        }
        (RunnerChoice::Dagger, None) => Ok(Chosen::Dagger(engine::discover()?)),
        (RunnerChoice::Auto, None) => match engine::discover() {
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

/// dagger-sdk does not build here; discovery already said so, this keeps callers portable.
#[cfg(not(unix))]
pub fn run(
    _project: &Project,
    _plan: std::sync::Arc<crate::plan::Plan>,
    _pipeline: std::sync::Arc<pipeline::Pipeline>,
    _engine: Engine,
    _options: crate::runner::RunOptions,
    _style: crate::runner::output::OutputStyle,
) -> Result<crate::runner::RunOutcome> {
    Err(EngineError::Unsupported.into())
}
