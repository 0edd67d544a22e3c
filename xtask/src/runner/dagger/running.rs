//! Running a plan in the engine: connect, prepare the toolchain, schedule the steps, put the
//! outputs in place.

use std::{path::Path, sync::Arc, sync::Once};

use color_eyre::{
    Result,
    eyre::{WrapErr, eyre},
};
use tracing::{debug, info, info_span};

use super::{
    connection, engine::Engine, executor, executor::DaggerExecutor, export::Staging,
    pipeline::Pipeline,
};
use crate::{
    plan::{Plan, StepId},
    project::Project,
    runner::{RunOptions, RunOutcome, StepStatus, output::OutputStyle, schedule},
    troubleshooting::{Topic, TopicExt},
};

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
        let connection = connection::connect(engine, &project.root).await?;
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
