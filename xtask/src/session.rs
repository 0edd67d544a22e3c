//! A session: the project, its pinned tools and its justfile, opened once per command; and
//! the one way to run invocations: plan, pick a runner, run, summarise.

use std::{sync::Arc, time::SystemTime};

use color_eyre::{Result, eyre::eyre};
use tracing::{info, info_span};

use crate::{
    environment::BuildEnvironment,
    exit::Exit,
    flags::{Global, RunnerChoice},
    just::path_with,
    justfile::Justfile,
    plan::{Invocation, Plan},
    project::Project,
    report,
    run_report::{self, Host, RunContext, RunReport, Versions},
    runner::{
        RunOptions, RunOutcome, StepStatus,
        dagger::{
            self, Chosen,
            engine::{Engine, EngineError},
        },
        local::LocalExecutor,
        output::OutputStyle,
        schedule,
    },
    telemetry,
    tools::{Provision, Toolchain},
    troubleshooting::Topic,
};

pub struct Session {
    pub project: Project,
    pub toolchain: Toolchain,
    pub justfile: Justfile,
    pub global: Global,
    /// The normalised environment every recipe gets (`SOURCE_DATE_EPOCH`, `TZ`, `LC_ALL`).
    pub environment: BuildEnvironment,
}

impl Session {
    /// Opens the project and makes sure its pinned tools are there.
    pub fn open(global: &Global) -> Result<Session> {
        let project = Project::open(global.project.as_deref())?;
        // `git log` (for SOURCE_DATE_EPOCH) runs while just reads the justfile: every command
        // waits for both (see `cargo xtask bench --only test`).
        let (resolved, environment) = std::thread::scope(|scope| {
            let environment = scope.spawn(|| BuildEnvironment::for_project(&project.root));
            let resolved = Toolchain::resolve(&project, Provision::Install);
            (resolved, environment.join())
        });
        let (toolchain, justfile) = resolved?;
        let environment = environment.map_err(|_| {
            eyre!(
                "reading the commit time of `{}` failed",
                project.root.display()
            )
        })?;
        Ok(Session {
            project,
            toolchain,
            justfile,
            global: global.clone(),
            environment,
        })
    }

    pub fn plan(&self, invocations: &[Invocation]) -> Result<Plan> {
        let _span = info_span!("plan").entered();
        let plan = Plan::new(&self.justfile, invocations).map_err(|error| eyre!(error))?;
        info!(
            n_steps = plan.steps.len(),
            n_levels = plan.levels().len(),
            "planned"
        );
        Ok(plan)
    }

    /// Plans and runs `invocations`; an error when any step did not pass.
    pub fn run(&self, invocations: &[Invocation]) -> Result<()> {
        let plan = Arc::new(self.plan(invocations)?);
        let outcome = self.execute(&plan, invocations)?;
        check(&outcome)
    }

    /// Runs `plan` with the chosen runner and prints the summary; the outcome says whether
    /// every step passed.
    pub fn execute(&self, plan: &Arc<Plan>, invocations: &[Invocation]) -> Result<RunOutcome> {
        let options = RunOptions {
            jobs: self.global.jobs(),
            keep_going: self.global.keep_going,
        };
        let ci = dagger::is_ci();
        let host_only = plan
            .steps
            .iter()
            .find(|step| step.metadata.host_only)
            .map(|step| step.invocation.recipe.as_str());
        let chosen = dagger::choose(self.global.runner, ci, host_only)?;
        let runner_name = match chosen {
            Chosen::Local => "local",
            Chosen::Dagger(_) => "dagger",
        };
        let started_at = SystemTime::now();
        let span = info_span!(
            "run",
            xtask.runner = runner_name,
            xtask.jobs = options.jobs,
            xtask.keep_going = options.keep_going
        );
        let entered = span.enter();
        let outcome = match chosen {
            Chosen::Local => self.run_local(plan, options)?,
            Chosen::Dagger(engine) => match self.run_dagger(plan, engine) {
                Ok(outcome) => outcome,
                Err(error) => match error.downcast_ref::<EngineError>() {
                    // `auto` found a CLI that could not start a session: as if none were there.
                    Some(unavailable)
                        if self.global.runner == RunnerChoice::Auto
                            && unavailable.is_unavailable() =>
                    {
                        dagger::fall_back(unavailable, ci)?;
                        self.run_local(plan, options)?
                    }
                    _ => return Err(error),
                },
            },
        };
        drop(entered);
        let run_report = RunReport::new(
            plan,
            invocations,
            &outcome,
            RunContext {
                runner: runner_name.to_owned(),
                started_at,
                trace_id: telemetry::trace_id(),
                host: Host::detect(options.jobs),
                versions: Versions::of(&self.toolchain),
            },
        );
        if telemetry::json_logs() {
            run_report::log_summary(&run_report);
        } else {
            eprintln!("{}", report::summary(plan, &outcome));
        }
        run_report::save(&run_report, &self.project.reports_dir());
        Ok(outcome)
    }

    /// The Dagger path's description of `plan`: images, mounts, caches, commands.
    pub fn pipeline(&self, plan: &Plan) -> Result<dagger::pipeline::Pipeline> {
        let context = dagger::context(
            &self.justfile,
            &self.project,
            &self.environment,
            self.global.image_mirror.as_deref(),
        )?;
        Ok(dagger::pipeline::translate(plan, &context)?)
    }

    fn run_dagger(&self, plan: &Arc<Plan>, engine: Engine) -> Result<RunOutcome> {
        let pipeline = Arc::new(self.pipeline(plan)?);
        // Before any container starts.
        pipeline
            .check_secrets(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))?;
        let options = RunOptions {
            // The engine schedules its own work: by default every ready step is sent at once.
            jobs: self
                .global
                .jobs
                .map_or(plan.steps.len().max(1), std::num::NonZeroUsize::get),
            keep_going: self.global.keep_going,
        };
        dagger::run(
            &self.project,
            Arc::clone(plan),
            pipeline,
            engine,
            options,
            OutputStyle::detect(label_width(plan)),
        )
    }

    fn run_local(&self, plan: &Arc<Plan>, options: RunOptions) -> Result<RunOutcome> {
        let mut environment: Vec<(String, std::ffi::OsString)> = self
            .environment
            .variables()
            .into_iter()
            .map(|(key, value)| (key, value.into()))
            .collect();
        environment.push(("PATH".to_owned(), path_with(&self.toolchain.path)?));
        let executor = LocalExecutor {
            just: self.toolchain.just.clone(),
            justfile: self.project.justfile.clone(),
            environment,
            just_options: crate::shell::just_options(&self.justfile)?,
            style: OutputStyle::detect(label_width(plan)),
        };
        let runtime = tokio::runtime::Runtime::new()?;
        Ok(runtime.block_on(schedule::run(Arc::clone(plan), Arc::new(executor), options)))
    }
}

/// The width of the longest step label, so step output lines up.
fn label_width(plan: &Plan) -> usize {
    plan.steps
        .iter()
        .map(|step| step.invocation.to_string().len())
        .max()
        .unwrap_or(0)
}

/// Turns a run that did not pass into an error naming each failed step.
pub fn check(outcome: &RunOutcome) -> Result<()> {
    if outcome.succeeded() {
        return Ok(());
    }
    if outcome.interrupted {
        return Err(Exit::new(130, "interrupted").into());
    }
    let failures: Vec<String> = outcome
        .steps
        .iter()
        .filter_map(|step| match &step.status {
            StepStatus::Failed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    Err(Exit::new(1, failures.join("\n"))
        .with_topic(Topic::RecipeFailed)
        .into())
}
