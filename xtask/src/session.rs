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
        RunOptions, RunOutcome, StepStatus, local::LocalExecutor, output::OutputStyle, schedule,
    },
    telemetry,
    tools::{Provision, Toolchain},
};

pub struct Session {
    pub project: Project,
    pub toolchain: Toolchain,
    pub justfile: Justfile,
    pub global: Global,
}

impl Session {
    /// Opens the project and makes sure its pinned tools are there.
    pub fn open(global: &Global) -> Result<Session> {
        let project = Project::open(global.project.as_deref())?;
        let (toolchain, justfile) = Toolchain::resolve(&project, Provision::Install)?;
        Ok(Session {
            project,
            toolchain,
            justfile,
            global: global.clone(),
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
        let runner = match self.global.runner {
            RunnerChoice::Auto | RunnerChoice::Local => RunnerChoice::Local,
        };
        let options = RunOptions {
            jobs: self.global.jobs(),
            keep_going: self.global.keep_going,
        };
        let runner_name = match runner {
            RunnerChoice::Local | RunnerChoice::Auto => "local",
        };
        let started_at = SystemTime::now();
        let span = info_span!(
            "run",
            xtask.runner = runner_name,
            xtask.jobs = options.jobs,
            xtask.keep_going = options.keep_going
        );
        let outcome = span.in_scope(|| match runner {
            RunnerChoice::Local | RunnerChoice::Auto => self.run_local(&plan, options),
        })?;
        let run_report = RunReport::new(
            &plan,
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
            eprintln!("{}", report::summary(&plan, &outcome));
        }
        run_report::save(&run_report, &self.project.reports_dir());
        check(&outcome)
    }

    fn run_local(&self, plan: &Arc<Plan>, options: RunOptions) -> Result<RunOutcome> {
        let mut environment: Vec<(String, std::ffi::OsString)> =
            BuildEnvironment::for_project(&self.project.root)
                .variables()
                .into_iter()
                .map(|(key, value)| (key, value.into()))
                .collect();
        environment.push(("PATH".to_owned(), path_with(&self.toolchain.path)?));
        let label_width = plan
            .steps
            .iter()
            .map(|step| step.invocation.to_string().len())
            .max()
            .unwrap_or(0);
        let executor = LocalExecutor {
            just: self.toolchain.just.clone(),
            justfile: self.project.justfile.clone(),
            environment,
            style: OutputStyle::detect(label_width),
        };
        let runtime = tokio::runtime::Runtime::new()?;
        Ok(runtime.block_on(schedule::run(Arc::clone(plan), Arc::new(executor), options)))
    }
}

/// Turns a run that did not pass into an error naming each failed step.
fn check(outcome: &RunOutcome) -> Result<()> {
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
    Err(Exit::new(1, failures.join("\n")).into())
}
