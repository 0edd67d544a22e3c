//! `doctor`: one line per check, ok / warn / fail, and a non-zero exit on any fail.

use color_eyre::Result;

use crate::{
    exit::Exit,
    flags::{Doctor, Global},
    just::Just,
    justfile::Justfile,
    metadata::RecipeMetadata,
    plan::{Invocation, Plan},
    project::Project,
    runner::dagger::{
        engine::{self, Engine},
        image::ImageRef,
        pipeline::{DEFAULT_IMAGE_VARIABLE, PYTHON_IMAGE_VARIABLE},
    },
    shell, telemetry,
    tools::{self, BUN_PIN, JUST_PIN, Provision, bootstrap_just_pin},
    troubleshooting::Topic,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Warn,
    Fail,
}

struct Report {
    worst: Level,
}

impl Report {
    fn line(&mut self, level: Level, what: &str, detail: impl std::fmt::Display) {
        let label = match level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        println!("{label}  {what:<9} {detail}");
        self.worst = self.worst.max(level);
    }
}

impl Doctor {
    pub fn run(self, global: &Global) -> Result<()> {
        let mut report = Report { worst: Level::Ok };
        check(global, &mut report);
        check_telemetry(&mut report);
        match report.worst {
            Level::Fail => Err(Exit::new(
                1,
                "doctor found problems; each `fail` line says what to do",
            )
            .with_topic(Topic::DoctorFails)
            .into()),
            Level::Ok | Level::Warn => Ok(()),
        }
    }
}

fn check(global: &Global, report: &mut Report) {
    let project = match Project::open(global.project.as_deref()) {
        Ok(project) => project,
        Err(error) => return report.line(Level::Fail, "project", error),
    };
    report.line(Level::Ok, "project", project.justfile.display());
    let text = std::fs::read_to_string(&project.justfile).unwrap_or_default();
    let just_pin = bootstrap_just_pin(&text);
    let Some(just) = check_tool(report, &project, "just", just_pin.as_deref()) else {
        return;
    };
    let just = Just {
        program: just.program,
        version: just.version,
    };
    let justfile = match Justfile::load(&just, &project.justfile) {
        Ok(justfile) => justfile,
        Err(error) => return report.line(Level::Fail, "justfile", format!("{error:#}")),
    };
    report.line(
        Level::Ok,
        "justfile",
        format!("{} recipes", justfile.recipes.len()),
    );
    match shell::describe(&justfile) {
        Ok(shell) => report.line(Level::Ok, "shell", shell),
        Err(error) => report.line(Level::Fail, "shell", format!("{error:#}")),
    }
    match justfile.variable(JUST_PIN) {
        Ok(pin) if pin == just_pin => {}
        _ => report.line(
            Level::Fail,
            "pins",
            format!(
                "`{JUST_PIN}` must be a plain string literal such as `{JUST_PIN} := \"1.59.0\"`"
            ),
        ),
    }
    match justfile.variable(BUN_PIN) {
        Ok(Some(pin)) => {
            check_tool(report, &project, "bun", Some(&pin));
        }
        Ok(None) => report.line(Level::Ok, "bun", "not pinned by this justfile"),
        Err(error) => report.line(Level::Fail, "bun", format!("{error:#}")),
    }
    check_recipes(report, &justfile);
    check_images(report, &justfile);
    check_engine(report);
}

/// The Dagger path's image pins: present, and pinned by digest.
fn check_images(report: &mut Report, justfile: &Justfile) {
    let mut pinned = 0;
    for variable in [DEFAULT_IMAGE_VARIABLE, PYTHON_IMAGE_VARIABLE] {
        match justfile.variable(variable) {
            Ok(Some(reference)) => match ImageRef::parse(&reference) {
                Ok(_) => pinned += 1,
                Err(error) => report.line(Level::Fail, "images", format!("`{variable}`: {error}")),
            },
            Ok(None) => report.line(
                Level::Warn,
                "images",
                format!("the justfile has no `{variable}`; the Dagger runner cannot run it (see docs/dagger.md)"),
            ),
            Err(error) => report.line(Level::Fail, "images", format!("{error:#}")),
        }
    }
    for recipe in justfile.recipes.values() {
        if let Ok(RecipeMetadata {
            image: Some(reference),
            ..
        }) = RecipeMetadata::of(recipe)
        {
            match ImageRef::parse(&reference) {
                Ok(_) => pinned += 1,
                Err(error) => report.line(
                    Level::Fail,
                    "images",
                    format!("recipe `{}`: {error}", recipe.namepath),
                ),
            }
        }
    }
    if pinned > 0 {
        report.line(Level::Ok, "images", format!("{pinned} pinned by digest"));
    }
}

/// Where `--runner auto` would run recipes, and whether the Dagger CLI matches the SDK.
fn check_engine(report: &mut Report) {
    let sdk = engine::DAGGER_ENGINE_VERSION;
    match engine::discover() {
        Ok(found @ Engine::Session { .. }) => report.line(Level::Ok, "engine", found),
        Ok(Engine::Cli { program, origin }) => {
            let version = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()
                .and_then(|runtime| runtime.block_on(engine::cli_version(&program)));
            let found = Engine::Cli { program, origin };
            match version {
                Some(version) if version == sdk => {
                    report.line(Level::Ok, "engine", format!("Dagger {version}: {found}"));
                }
                Some(version) => report.line(
                    Level::Warn,
                    "engine",
                    format!("{found} is Dagger {version}, but dagger-sdk speaks {sdk}; install the Dagger CLI {sdk}"),
                ),
                None => report.line(
                    Level::Warn,
                    "engine",
                    format!("{found} did not say its version (`dagger version`); dagger-sdk speaks {sdk}"),
                ),
            }
        }
        // A warning even with CI=true: doctor reports; the run itself refuses to fall back.
        Err(error) if error.is_unavailable() => report.line(
            Level::Warn,
            "engine",
            format!("{error}; `--runner auto` runs recipes on this machine, except with CI=true"),
        ),
        Err(error) => report.line(Level::Fail, "engine", error),
    }
}

/// The pinned tool as the runners would use it, and any drift of the one on `PATH`.
fn check_tool(
    report: &mut Report,
    project: &Project,
    name: &'static str,
    pin: Option<&str>,
) -> Option<tools::Tool> {
    match tools::provide(project, name, pin, Provision::FindOnly) {
        Ok(tool) => {
            report.line(Level::Ok, name, &tool);
            if let (Some(pin), Some((Ok(version), program))) = (pin, tools::on_path(name))
                && version != pin
            {
                report.line(Level::Warn, name, format!("{} on PATH is {version}, not the pinned {pin}; `just` typed by hand will differ from the xtask", program.display()));
            }
            Some(tool)
        }
        Err(error) => {
            report.line(Level::Fail, name, format!("{error:#}"));
            None
        }
    }
}

/// Metadata of every recipe, and a plan of every recipe that needs no arguments.
fn check_recipes(report: &mut Report, justfile: &Justfile) {
    let mut problems = 0;
    for recipe in justfile.recipes.values() {
        if let Err(error) = RecipeMetadata::of(recipe) {
            report.line(Level::Fail, "metadata", error);
            problems += 1;
            continue;
        }
        let needs_arguments = recipe
            .parameters
            .iter()
            .any(|parameter| parameter.min_arguments() > 0);
        if !needs_arguments
            && let Err(error) = Plan::new(justfile, &[Invocation::new(&recipe.namepath, &[])])
        {
            report.line(Level::Fail, "plan", error);
            problems += 1;
        }
    }
    if problems == 0 {
        report.line(
            Level::Ok,
            "metadata",
            format!("{} recipes valid", justfile.recipes.len()),
        );
    }
}

/// Where traces go: an OTLP collector named by `OTEL_EXPORTER_OTLP_*`, and Dagger Cloud when
/// `DAGGER_CLOUD_TOKEN` is set (the token is never printed).
fn check_telemetry(report: &mut Report) {
    match telemetry::ExportSettings::from_env() {
        Ok(Some(settings)) => report.line(Level::Ok, "traces", format!("exported to {settings}")),
        Ok(None) => report.line(
            Level::Ok,
            "traces",
            "not exported; set OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector (docs/observability.md)",
        ),
        Err(error) => report.line(Level::Warn, "traces", error),
    }
    if telemetry::dagger_cloud_enabled() {
        report.line(
            Level::Ok,
            "cloud",
            format!(
                "Dagger Cloud tracing on: {} is set; the Dagger engine sessions inherit it",
                telemetry::DAGGER_CLOUD_TOKEN
            ),
        );
    } else {
        report.line(
            Level::Ok,
            "cloud",
            format!("Dagger Cloud tracing off: set {} (a CI secret) to see engine traces in Dagger Cloud (docs/observability.md)", telemetry::DAGGER_CLOUD_TOKEN),
        );
    }
}
