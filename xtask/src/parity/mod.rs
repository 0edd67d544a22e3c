//! `verify-parity`: the same recipes built through the just path (the local runner, in the
//! project) and through another path, each into its own directory under `target/parity/`,
//! a manifest of each, and a comparison. See `docs/parity.md`.
//!
//! ```text
//! plan ─▶ local runner in the project ─▶ declared outputs ─▶ target/parity/local/ ─┐
//!      └▶ other path (--against)      ─▶ declared outputs ─▶ target/parity/<side>/ ┴▶ compare
//! ```

pub mod collect;
pub mod compare;
pub mod fresh;
pub mod junit;
pub mod manifest;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::Arc,
};

use color_eyre::{Result, eyre::WrapErr};
use tracing::{info, info_span, warn};

use self::{
    collect::Artifacts,
    compare::{Comparison, Side},
    manifest::{Manifest, Provenance},
};
use crate::{
    exit::Exit,
    flags::{self, Against, Global, RunnerChoice},
    git::Git,
    plan::{Invocation, Plan, StepId},
    runner::{RunOutcome, StepStatus},
    session::{self, Session},
    troubleshooting::Topic,
};

/// The recipe whose junit report is compared test by test, when the justfile has one.
pub const TEST_RECIPE: &str = "test";

/// What `verify-parity` builds and compares.
#[derive(Debug)]
pub struct Options {
    /// The build targets.
    pub targets: flags::Targets,
    pub against: Against,
    /// Where to write a copy of the just path's manifest.
    pub write_manifest: Option<PathBuf>,
}

/// One build, collected: its directory under `target/parity/` and its manifest.
#[derive(Debug)]
pub struct Collected {
    pub label: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub artifacts: Artifacts,
    pub plan: Arc<Plan>,
}

impl Collected {
    fn side(&self) -> Side<'_> {
        Side {
            label: &self.label,
            manifest: &self.manifest,
            root: Some(&self.dir),
        }
    }
}

/// Builds through the just path and the path `options.against` names, and compares.
pub fn verify(global: &Global, options: &Options) -> Result<Comparison> {
    // The just path is, by definition, the local runner. A failing test must not cancel the
    // builds: its report is compared too (see `build`).
    let global = Global {
        runner: RunnerChoice::Local,
        keep_going: true,
        ..global.clone()
    };
    preflight(options.against)?;
    let session = Session::open(&global)?;
    let mut invocations = Vec::new();
    if session.justfile.recipe(TEST_RECIPE).is_some() {
        invocations.push(Invocation::new(TEST_RECIPE, &[]));
    }
    invocations.extend(options.targets.invocations(&session.justfile)?);
    let parity_dir = session.project.root.join("target").join("parity");
    let source = Git::of(&session.project.root);

    let local = build(&session, &invocations, "local", &parity_dir, &source)?;
    if let Some(file) = &options.write_manifest {
        local.manifest.write(file)?;
        info!(manifest = %file.display(), "wrote the just path's manifest");
    }
    let other = build_other(
        options.against,
        &session,
        &invocations,
        &parity_dir,
        &source,
    )?;

    let _span = info_span!("compare", left = %local.label, right = %other.label).entered();
    let mut comparison = compare::compare(local.side(), other.side())?;
    if !comparison.identical() {
        comparison.notes.extend(hints(&comparison, &local, &other));
    }
    Ok(comparison)
}

/// Compares two manifest files, as written by `verify-parity` here or on other machines.
pub fn compare_files(left: &Path, right: &Path) -> Result<Comparison> {
    let manifests = [Manifest::read(left)?, Manifest::read(right)?];
    let labels = labels(&manifests, [left, right]);
    let roots = [
        compare::recorded_root(&manifests[0]),
        compare::recorded_root(&manifests[1]),
    ];
    let side = |index: usize| Side {
        label: &labels[index],
        manifest: &manifests[index],
        root: roots[index].as_deref(),
    };
    Ok(compare::compare(side(0), side(1))?)
}

/// Names for the two sides: their `side`, then with their platform, then their file names,
/// whichever first tells them apart.
fn labels(manifests: &[Manifest; 2], files: [&Path; 2]) -> [String; 2] {
    let [a, b] = [&manifests[0].provenance, &manifests[1].provenance];
    if a.side != b.side {
        return [a.side.clone(), b.side.clone()];
    }
    if a.platform != b.platform {
        return [
            format!("{}@{}", a.side, a.platform),
            format!("{}@{}", b.side, b.platform),
        ];
    }
    files.map(|file| format!("`{}`", file.display()))
}

/// Fails at once, before anything is built, when the other path cannot run here: no point
/// building the just path for minutes to learn then that there is no engine.
fn preflight(against: Against) -> Result<()> {
    match against {
        Against::Local => Ok(()),
        Against::Dagger => match crate::runner::dagger::engine::discover() {
            Ok(_) => Ok(()),
            Err(error) => {
                Err(error).wrap_err("the Dagger side cannot run here, so neither side was built")
            }
        },
    }
}

/// The second build, by the path `against` names, into its own directory.
fn build_other(
    against: Against,
    session: &Session,
    invocations: &[Invocation],
    parity_dir: &Path,
    source: &Git,
) -> Result<Collected> {
    match against {
        Against::Local => {
            let copy = fresh::copy_project(&session.project.root)?;
            let global = Global {
                project: Some(copy.root().to_owned()),
                ..session.global.clone()
            };
            let mut fresh_session = Session::open(&global)?;
            // The copy has no `.git`: give it the clock of the commit it was copied from.
            fresh_session.environment = session.environment.clone();
            build(
                &fresh_session,
                invocations,
                "local-fresh",
                parity_dir,
                source,
            )
        }
        // The Dagger side builds in a fresh copy too, so its exports never mix with the just
        // path's outputs and nothing left in the working tree can reach it.
        Against::Dagger => {
            let copy = fresh::copy_project(&session.project.root)?;
            let global = Global {
                project: Some(copy.root().to_owned()),
                runner: RunnerChoice::Dagger,
                ..session.global.clone()
            };
            let mut dagger_session = Session::open(&global)?;
            dagger_session.environment = session.environment.clone();
            build(&dagger_session, invocations, "dagger", parity_dir, source)
        }
    }
}

/// Runs `invocations` in `session`'s project, then copies their declared outputs into
/// `parity_dir/<label>/` and writes its manifest to `parity_dir/<label>.json`.
fn build(
    session: &Session,
    invocations: &[Invocation],
    label: &str,
    parity_dir: &Path,
    source: &Git,
) -> Result<Collected> {
    let _span = info_span!("side", side = label).entered();
    let root = &session.project.root;
    let plan = Arc::new(session.plan(invocations)?);
    collect::check_declared(&plan)?;
    // Whatever an earlier run left where the outputs go would be collected as this run's.
    collect::remove_stale(&plan, root)?;
    info!(project = %root.display(), "building");
    let outcome = session.execute(&plan, invocations)?;
    let failed = tolerated_failures(&plan, &outcome)?;
    let artifacts = collect::find(&plan, root).map_err(|error| match failed.first() {
        Some((_, message)) => error.wrap_err(message.clone()),
        None => error,
    })?;
    let dir = parity_dir.join(label);
    collect::copy(&artifacts, root, &dir)?;
    let provenance = Provenance {
        side: label.to_owned(),
        runner: match session.global.runner {
            RunnerChoice::Dagger => "dagger",
            RunnerChoice::Auto | RunnerChoice::Local => "local",
        }
        .to_owned(),
        platform: flags::host_target(),
        git_commit: source.commit.clone(),
        git_dirty: source.dirty,
        tools: session
            .toolchain
            .bun
            .iter()
            .map(|bun| (bun.name.to_owned(), bun.version.clone()))
            .chain([("just".to_owned(), session.toolchain.just.version.clone())])
            .collect(),
        recipes: plan
            .steps
            .iter()
            .filter(|step| !step.empty)
            .map(|step| step.invocation.to_string())
            .collect(),
        failed: failed
            .iter()
            .map(|(id, _)| plan.step(*id).invocation.to_string())
            .collect(),
    };
    let manifest = Manifest::of_tree(&dir, provenance, session.global.jobs())?;
    let manifest_path = parity_dir.join(format!("{label}.json"));
    manifest.write(&manifest_path)?;
    let (n_files, n_links, n_tests) = manifest.counts();
    info!(
        n_files,
        n_links,
        n_tests,
        tree = %dir.display(),
        manifest = %manifest_path.display(),
        "collected"
    );
    Ok(Collected {
        label: label.to_owned(),
        dir,
        manifest,
        artifacts,
        plan,
    })
}

/// The failed steps whose outputs are compared all the same, with their failure messages; an
/// error for any other step that did not pass.
///
/// A recipe that declares outputs may fail after writing them: `bun test` writes its junit
/// report, then exits 1 because a test failed. Which tests failed is exactly what test-result
/// parity compares, so such a failure is recorded in the manifest, not fatal. A failed step
/// without declared outputs, or a step that never ran, leaves nothing to compare.
fn tolerated_failures(plan: &Plan, outcome: &RunOutcome) -> Result<Vec<(StepId, String)>> {
    if outcome.interrupted {
        return session::check(outcome).map(|()| Vec::new());
    }
    let mut tolerated = Vec::new();
    let mut fatal = Vec::new();
    for step in &outcome.steps {
        let invocation = &plan.step(step.id).invocation;
        match &step.status {
            StepStatus::Passed => {}
            StepStatus::Failed { message, .. }
                if !plan.step(step.id).metadata.outputs.is_empty() =>
            {
                warn!(step = %invocation, "failed; the outputs it wrote are compared all the same");
                tolerated.push((step.id, message.clone()));
            }
            StepStatus::Failed { message, .. } => fatal.push(message.clone()),
            StepStatus::Skipped { reason } => {
                fatal.push(format!("recipe `{invocation}` did not run: {reason}"));
            }
            StepStatus::Cancelled => fatal.push(format!("recipe `{invocation}` was cancelled")),
        }
    }
    if fatal.is_empty() {
        Ok(tolerated)
    } else {
        Err(Exit::new(1, fatal.join("\n"))
            .with_topic(Topic::RecipeFailed)
            .into())
    }
}

/// Where to look next: the two trees, and the recipes that wrote the differing files.
fn hints(comparison: &Comparison, left: &Collected, right: &Collected) -> Vec<String> {
    let mut recipes = BTreeSet::new();
    for difference in &comparison.differences {
        for build in [left, right] {
            let step = build.artifacts.iter().find_map(|(path, &step)| {
                let display = path
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                (display == difference.path()).then_some(step)
            });
            if let Some(step) = step {
                recipes.insert(build.plan.step(step).invocation.to_string());
            }
        }
    }
    let mut hints = vec![format!(
        "the trees are `{}` and `{}`, their manifests beside them",
        relative_to_cwd(&left.dir).display(),
        relative_to_cwd(&right.dir).display()
    )];
    for recipe in recipes {
        hints.push(format!(
            "differing files come from `{recipe}`: rerun it alone with `just {recipe}`"
        ));
    }
    hints
}

fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_owned())
}

/// Runs `verify` or `compare_files` and turns the result into the exit codes the command
/// promises: 0 identical, 1 different, 2 when it could not tell.
pub fn verdict(result: Result<Comparison>) -> Result<()> {
    match result {
        Ok(comparison) => {
            print!("{comparison}");
            if comparison.identical() {
                println!("{}", comparison.summary());
                Ok(())
            } else {
                Err(Exit::new(1, comparison.summary())
                    .with_topic(Topic::ParityMismatch)
                    .into())
            }
        }
        Err(report) => {
            let code = report.downcast_ref::<Exit>().map(|exit| exit.code);
            match code {
                // Already says what happened: interrupted, or cannot run here.
                Some(code) if code != 1 => Err(report),
                _ => Err(report).wrap_err(
                    Exit::new(2, "cannot verify parity").with_topic(Topic::ParityCannotBeVerified),
                ),
            }
        }
    }
}
