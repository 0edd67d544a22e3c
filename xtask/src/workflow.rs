//! The GitHub Actions workflows, rendered from the justfile so that CI and the justfile cannot
//! drift apart. `cargo xtask gen-ci` writes them; its `--check` mode (run by a test) fails while
//! a committed workflow differs from what would be written.
//!
//! - `ci.yml`: one job per CI function. A CI function is a `[group('ci')]` recipe that runs
//!   commands (aggregators without a body, such as `ci` and `build-all`, are left out: their
//!   parts are jobs of their own). A required parameter `p` becomes a matrix over the justfile
//!   variable `ps` (`build target` runs once per entry of `targets`). Each job runs
//!   `cargo xtask <recipe> [--p value] --runner dagger` and uploads the recipe's declared
//!   `outputs`; outputs under `dist/` are gathered by a `dist` job that writes `SHA256SUMS`.
//! - `nightly.yml` and `release.yml`: templates in `workflow/`, sharing the pins below.
//!
//! Rendering is plain text: the output is deterministic, commented and reads like hand-written
//! YAML. Templates use `<<token>>` placeholders; an unknown token is an error.

use std::{collections::BTreeMap, fmt::Write as _};

use color_eyre::{Result, eyre::eyre};

use crate::{justfile::Justfile, metadata::RecipeMetadata, recipe::Recipe};

/// The group whose recipes are CI functions.
pub const CI_GROUP: &str = "ci";
/// The justfile variable pinning the Dagger CLI that the workflows install.
pub const DAGGER_PIN: &str = "dagger_version";
/// Where the workflows live, relative to the project root.
pub const WORKFLOWS_DIR: &str = ".github/workflows";
/// The Node.js that runs semantic-release (which needs `^22.14.0 || >= 24.10.0`).
pub const NODE_VERSION: &str = "24.21.0";
/// The runner image of every Linux job.
const LINUX_RUNNER: &str = "ubuntu-24.04";
/// Job ids the workflow uses itself; a CI recipe cannot have these names.
const RESERVED_JOBS: [&str; 2] = ["dist", "report-failure"];

/// One action, pinned by the full commit of a release tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub repository: &'static str,
    pub commit: &'static str,
    pub version: &'static str,
}

impl Action {
    /// `owner/repo@commit # version`, as a `uses:` value.
    pub fn uses(&self) -> String {
        format!("{}@{} # {}", self.repository, self.commit, self.version)
    }
}

/// Every action the workflows use. Commits were read from public workflows that pin the same
/// tag (see docs/ci.md); bump a pin here and run `cargo xtask gen-ci`.
pub const ACTIONS: [Action; 9] = [
    CHECKOUT,
    DOWNLOAD_ARTIFACT,
    GITHUB_SCRIPT,
    SETUP_NODE,
    UPLOAD_ARTIFACT,
    DAGGER_FOR_GITHUB,
    JUNIT_REPORT,
    RUST_CACHE,
    UPLOAD_SARIF,
];

const CHECKOUT: Action = Action {
    repository: "actions/checkout",
    commit: "08c6903cd8c0fde910a37f88322edcfb5dd907a8",
    version: "v5.0.0",
};
const DOWNLOAD_ARTIFACT: Action = Action {
    repository: "actions/download-artifact",
    commit: "018cc2cf5baa6db3ef3c5f8a56943fffe632ef53",
    version: "v6.0.0",
};
const GITHUB_SCRIPT: Action = Action {
    repository: "actions/github-script",
    commit: "ed597411d8f924073f98dfc5c65a23a2325f34cd",
    version: "v8.0.0",
};
const SETUP_NODE: Action = Action {
    repository: "actions/setup-node",
    commit: "2028fbc5c25fe9cf00d9f06a71cc4710d4507903",
    version: "v6.0.0",
};
const UPLOAD_ARTIFACT: Action = Action {
    repository: "actions/upload-artifact",
    commit: "b7c566a772e6b6bfb58ed0dc250532a479d7789f",
    version: "v6.0.0",
};
const DAGGER_FOR_GITHUB: Action = Action {
    repository: "dagger/dagger-for-github",
    commit: "27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77",
    version: "v8.4.1",
};
const JUNIT_REPORT: Action = Action {
    repository: "mikepenz/action-junit-report",
    commit: "3585e9575db828022551b4231f165eb59a0e74e3",
    version: "v5.6.2",
};
const RUST_CACHE: Action = Action {
    repository: "Swatinem/rust-cache",
    commit: "98c8021b550208e191a6a3145459bfc9fb29c4c0",
    version: "v2.8.0",
};

const UPLOAD_SARIF: Action = Action {
    repository: "github/codeql-action/upload-sarif",
    commit: "9e907b5e64f6b83e7804b09294d44122997950d6",
    version: "v4.32.3",
};

const CI_HEAD: &str = include_str!("workflow/ci-head.yml.in");
const REPORT_FAILURE: &str = include_str!("workflow/report-failure.yml.in");
const NIGHTLY: &str = include_str!("workflow/nightly.yml.in");
const RELEASE: &str = include_str!("workflow/release.yml.in");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("the justfile has no CI functions: put the recipes CI runs in `[group('{CI_GROUP}')]`")]
    NoCiRecipes,
    #[error(
        "recipe `{recipe}` is in `[group('{CI_GROUP}')]` but `cargo xtask` has no `{recipe}` command; add one in xtask/src/flags.rs or move the recipe out of the group"
    )]
    NoCommand { recipe: String },
    #[error(
        "recipe `{recipe}` has parameter `{parameter}` but `cargo xtask {recipe}` has no `--{parameter}` option to pass it"
    )]
    NoOption { recipe: String, parameter: String },
    #[error(
        "CI recipe `{recipe}` has parameter `{parameter}`, so CI runs it once per value of the justfile variable `{variable}`, which is missing or empty; add `{variable} := \"a b ..\"`"
    )]
    NoMatrix {
        recipe: String,
        parameter: String,
        variable: String,
    },
    #[error(
        "CI recipe `{recipe}` has variadic parameter `{parameter}`; a CI function takes only single parameters (each one a matrix)"
    )]
    Variadic { recipe: String, parameter: String },
    #[error(
        "CI recipe `{recipe}` would be a job named like one the workflow adds itself; rename the recipe"
    )]
    Reserved { recipe: String },
    #[error(
        "the justfile has no `{DAGGER_PIN}` variable; pin the Dagger CLI that CI installs, the engine version of the dagger-sdk crate: `{DAGGER_PIN} := \"x.y.z\"`"
    )]
    NoDaggerPin,
    #[error(
        "the justfile pins Dagger {pinned} but Cargo.lock has dagger-sdk {sdk}, whose engine is {sdk}; set `{DAGGER_PIN} := \"{sdk}\"`"
    )]
    DaggerMismatch { pinned: String, sdk: String },
    #[error("template `{template}` uses unknown token `<<{token}>>`")]
    UnknownToken { template: String, token: String },
}

/// A parameter of a CI recipe and the values CI runs it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub parameter: String,
    pub values: Vec<String>,
}

impl Axis {
    /// `${{ matrix.target }}`
    fn expression(&self) -> String {
        format!("${{{{ matrix.{} }}}}", self.parameter)
    }

    /// The environment variable that carries the value into a `run:` script: `TARGET`.
    fn variable(&self) -> String {
        self.parameter
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// One job of `ci.yml`: a CI function of the justfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiJob {
    pub recipe: String,
    pub documentation: Option<String>,
    /// One per parameter, in order; empty: no matrix.
    pub axes: Vec<Axis>,
    /// The recipe's outputs, with each parameter bound to its matrix expression.
    pub outputs: Vec<String>,
    /// The outputs of every combination of values, for the checks of the `dist` job.
    pub expanded_outputs: Vec<String>,
    /// Environment variables the recipe needs, passed from repository secrets.
    pub secrets: Vec<String>,
    /// `[metadata("runner", "local")]`: the job runs the recipe on the runner machine, with
    /// `--runner local`, and installs no Dagger.
    pub host_only: bool,
}

impl CiJob {
    /// The CI jobs of `justfile`, in recipe order. `cli` is the xtask's command line: every
    /// CI function must be a command of it, taking each parameter as an option.
    pub fn all(justfile: &Justfile, cli: &clap::Command) -> Result<Vec<CiJob>> {
        let mut jobs = Vec::new();
        for recipe in justfile.recipes.values() {
            if recipe.private || recipe.body.is_empty() || !recipe.groups().contains(&CI_GROUP) {
                continue;
            }
            jobs.push(CiJob::of(justfile, recipe, cli)?);
        }
        if jobs.is_empty() {
            return Err(eyre!(WorkflowError::NoCiRecipes));
        }
        Ok(jobs)
    }

    fn of(justfile: &Justfile, recipe: &Recipe, cli: &clap::Command) -> Result<CiJob> {
        let name = &recipe.namepath;
        if RESERVED_JOBS.contains(&name.as_str()) {
            return Err(eyre!(WorkflowError::Reserved {
                recipe: name.clone()
            }));
        }
        let Some(command) = cli.find_subcommand(name) else {
            return Err(eyre!(WorkflowError::NoCommand {
                recipe: name.clone()
            }));
        };
        let mut axes = Vec::new();
        for parameter in recipe
            .parameters
            .iter()
            .filter(|parameter| parameter.min_arguments() > 0)
        {
            let error = |variable: &str| WorkflowError::NoMatrix {
                recipe: name.clone(),
                parameter: parameter.name.clone(),
                variable: variable.to_owned(),
            };
            if parameter.is_variadic() {
                return Err(eyre!(WorkflowError::Variadic {
                    recipe: name.clone(),
                    parameter: parameter.name.clone(),
                }));
            }
            let takes_option = command
                .get_arguments()
                .any(|argument| argument.get_long() == Some(parameter.name.as_str()));
            if !takes_option {
                return Err(eyre!(WorkflowError::NoOption {
                    recipe: name.clone(),
                    parameter: parameter.name.clone(),
                }));
            }
            let variable = format!("{}s", parameter.name);
            let values: Vec<String> = justfile
                .variable(&variable)?
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if values.is_empty() {
                return Err(eyre!(error(&variable)));
            }
            axes.push(Axis {
                parameter: parameter.name.clone(),
                values,
            });
        }
        let metadata = RecipeMetadata::of(recipe).map_err(|error| eyre!(error))?;
        let symbolic: Vec<(String, String)> = axes
            .iter()
            .map(|axis| (axis.parameter.clone(), axis.expression()))
            .collect();
        let expanded_outputs = combinations(&axes)
            .iter()
            .flat_map(|bindings| metadata.bind(bindings).outputs)
            .collect();
        Ok(CiJob {
            recipe: name.clone(),
            documentation: recipe.documentation().map(str::to_owned),
            outputs: metadata.bind(&symbolic).outputs,
            expanded_outputs,
            axes,
            secrets: metadata.secrets,
            host_only: metadata.host_only,
        })
    }

    /// `build-${{ matrix.target }}`: unique per job and matrix cell.
    fn label(&self) -> String {
        let mut label = self.recipe.clone();
        for axis in &self.axes {
            label.push('-');
            label.push_str(&axis.expression());
        }
        label
    }

    fn display_name(&self) -> String {
        if self.axes.is_empty() {
            return self.recipe.clone();
        }
        let values: Vec<String> = self.axes.iter().map(Axis::expression).collect();
        format!("{} ({})", self.recipe, values.join(", "))
    }

    /// The command line as the step shows it, and as its `run:` script runs it.
    fn command(&self) -> (String, String) {
        let mut shown = format!("cargo xtask {}", self.recipe);
        let mut script = shown.clone();
        for axis in &self.axes {
            let _ = write!(shown, " --{} {}", axis.parameter, axis.expression());
            let _ = write!(script, " --{} \"${}\"", axis.parameter, axis.variable());
        }
        let runner = if self.host_only {
            " --runner local"
        } else {
            " --runner dagger"
        };
        shown.push_str(runner);
        script.push_str(runner);
        (shown, script)
    }

    fn dist_outputs(&self) -> Vec<&String> {
        self.outputs.iter().filter(|path| is_dist(path)).collect()
    }

    fn other_outputs(&self) -> Vec<&String> {
        self.outputs.iter().filter(|path| !is_dist(path)).collect()
    }

    /// Outputs GitHub code scanning reads.
    fn sarif_outputs(&self) -> Vec<&String> {
        self.outputs
            .iter()
            .filter(|path| {
                std::path::Path::new(path)
                    .extension()
                    .is_some_and(|extension| extension.eq_ignore_ascii_case("sarif"))
            })
            .collect()
    }
}

fn is_dist(path: &str) -> bool {
    path.starts_with("dist/")
}

/// Every assignment of one value per axis, the first axis varying slowest.
fn combinations(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    axes.iter().fold(vec![Vec::new()], |partial, axis| {
        partial
            .iter()
            .flat_map(|bindings| {
                axis.values.iter().map(move |value| {
                    let mut bindings = bindings.clone();
                    bindings.push((axis.parameter.clone(), value.clone()));
                    bindings
                })
            })
            .collect()
    })
}

/// What the workflows are rendered from besides the jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pins {
    /// The Dagger CLI version, the engine version of the dagger-sdk crate.
    pub dagger: String,
}

impl Pins {
    /// The justfile's `dagger_version`, checked against the dagger-sdk in `cargo_lock` (when
    /// given and it has one): the SDK drives an engine of its own version.
    pub fn of(justfile: &Justfile, cargo_lock: Option<&str>) -> Result<Pins> {
        let dagger = justfile
            .variable(DAGGER_PIN)?
            .filter(|pin| !pin.trim().is_empty())
            .ok_or_else(|| eyre!(WorkflowError::NoDaggerPin))?;
        if let Some(sdk) = cargo_lock.and_then(|lock| locked_version(lock, "dagger-sdk"))
            && sdk != dagger
        {
            return Err(eyre!(WorkflowError::DaggerMismatch {
                pinned: dagger,
                sdk,
            }));
        }
        Ok(Pins { dagger })
    }
}

/// The version of package `name` in a `Cargo.lock`, if it holds exactly one.
pub fn locked_version(cargo_lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    let mut lines = cargo_lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() != wanted {
            continue;
        }
        let version = lines.next()?.trim().strip_prefix("version = \"")?;
        versions.push(version.strip_suffix('"')?.to_owned());
    }
    match versions.as_slice() {
        [version] => Some(version.clone()),
        _ => None,
    }
}

/// A workflow file: its path relative to the project root, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub path: String,
    pub text: String,
}

/// Every workflow, in a stable order.
pub fn render(jobs: &[CiJob], pins: &Pins) -> Result<Vec<Workflow>, WorkflowError> {
    Ok(vec![
        Workflow {
            path: format!("{WORKFLOWS_DIR}/ci.yml"),
            text: render_ci(jobs, pins)?,
        },
        Workflow {
            path: format!("{WORKFLOWS_DIR}/nightly.yml"),
            text: expand(
                "nightly.yml.in",
                NIGHTLY,
                &tokens(
                    pins,
                    &["parity-linux", "parity-macos", "compare", "windows"],
                    Triggers::DefaultBranch,
                )?,
            )?,
        },
        Workflow {
            path: format!("{WORKFLOWS_DIR}/release.yml"),
            text: expand(
                "release.yml.in",
                RELEASE,
                &tokens(pins, &["plan", "build", "release"], Triggers::PullRequests)?,
            )?,
        },
    ])
}

/// Where a workflow runs, which decides what its failure report may write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Triggers {
    /// Pull requests too: the report comments on them.
    PullRequests,
    /// Only the default branch (a schedule): the report opens issues only.
    DefaultBranch,
}

/// The values of the template tokens: pins, and the failure report needing `needs`.
fn tokens(
    pins: &Pins,
    needs: &[&str],
    triggers: Triggers,
) -> Result<BTreeMap<String, String>, WorkflowError> {
    let mut tokens = BTreeMap::new();
    tokens.insert("dagger_version".to_owned(), pins.dagger.clone());
    tokens.insert("node_version".to_owned(), NODE_VERSION.to_owned());
    for action in ACTIONS {
        tokens.insert(format!("uses:{}", action.repository), action.uses());
    }
    if !needs.is_empty() {
        tokens.insert("needs".to_owned(), format!("[{}]", needs.join(", ")));
        let mut permissions = vec![
            "actions: read # list the jobs of this run and their failed steps",
            "issues: write # open or update the issue of a failed run on the default branch",
        ];
        if triggers == Triggers::PullRequests {
            permissions.push("pull-requests: write # comment on the pull request");
        }
        let permissions: Vec<String> = permissions
            .iter()
            .map(|permission| format!("      {permission}"))
            .collect();
        tokens.insert("report-permissions".to_owned(), permissions.join("\n"));
        let report = expand("report-failure.yml.in", REPORT_FAILURE, &tokens)?;
        tokens.insert("report-failure".to_owned(), report.trim_end().to_owned());
    }
    Ok(tokens)
}

/// Replaces every `<<token>>` of `template`.
fn expand(
    name: &str,
    template: &str,
    tokens: &BTreeMap<String, String>,
) -> Result<String, WorkflowError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("<<") {
        let Some(length) = rest[start + 2..].find(">>") else {
            break;
        };
        let token = &rest[start + 2..start + 2 + length];
        // `<<'EOF'` in a script is a shell heredoc, not a token.
        if token.contains(char::is_whitespace) || token.starts_with('\'') {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        }
        let value = tokens
            .get(token)
            .ok_or_else(|| WorkflowError::UnknownToken {
                template: name.to_owned(),
                token: token.to_owned(),
            })?;
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[start + 2 + length + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn render_ci(jobs: &[CiJob], pins: &Pins) -> Result<String, WorkflowError> {
    let mut needs: Vec<&str> = jobs.iter().map(|job| job.recipe.as_str()).collect();
    let gathers_dist = jobs.iter().any(|job| !job.dist_outputs().is_empty());
    if gathers_dist {
        needs.push("dist");
    }
    let tokens = tokens(pins, &needs, Triggers::PullRequests)?;
    let mut out = expand("ci-head.yml.in", CI_HEAD, &tokens)?;
    for job in jobs {
        render_job(&mut out, job, pins);
        out.push('\n');
    }
    if gathers_dist {
        render_dist(&mut out, jobs);
        out.push('\n');
    }
    out.push_str(&tokens["report-failure"]);
    out.push('\n');
    Ok(out)
}

fn render_job(out: &mut String, job: &CiJob, pins: &Pins) {
    let mut w = Lines(out);
    if let Some(documentation) = &job.documentation {
        for line in documentation.lines() {
            w.line(2, &format!("# {line}"));
        }
    }
    if job.host_only {
        w.line(
            2,
            "# On the runner itself, not in a container: the recipe insists on the host",
        );
        w.line(2, "# (`[metadata('runner', 'local')]`).");
    }
    w.line(2, &format!("{}:", job.recipe));
    w.line(4, &format!("name: {}", scalar(&job.display_name())));
    w.line(4, &format!("runs-on: {LINUX_RUNNER}"));
    w.line(4, "timeout-minutes: 30");
    w.line(4, "permissions:");
    w.line(6, "contents: read");
    if !job.sarif_outputs().is_empty() {
        w.line(6, "security-events: write # upload SARIF to code scanning");
    }
    if !job.axes.is_empty() {
        w.line(4, "strategy:");
        w.line(
            6,
            "fail-fast: false # every cell reports, not just the first to fail",
        );
        w.line(6, "matrix:");
        for axis in &job.axes {
            let values: Vec<String> = axis.values.iter().map(|value| flow_scalar(value)).collect();
            w.line(8, &format!("{}: [{}]", axis.parameter, values.join(", ")));
        }
    }
    w.line(4, "steps:");
    render_setup_steps(&mut w, job, pins);
    render_run_step(&mut w, job);
    for path in job.other_outputs().iter().filter(|path| is_junit(path)) {
        w.line(6, "- name: Show the test results");
        w.line(8, "if: ${{ !cancelled() }}");
        w.line(8, &format!("uses: {}", JUNIT_REPORT.uses()));
        w.line(8, "with:");
        w.line(10, &format!("report_paths: {}", scalar(path)));
        w.line(
            10,
            "annotate_only: true # annotations and a job summary; no check run, so no token",
        );
        w.line(10, "job_summary: true");
        w.line(10, "detailed_summary: true");
    }
    render_sarif_uploads(&mut w, job);
    let label = job.label();
    let dist_label = format!("dist-{label}");
    let other_label = label.clone();
    for (name, paths, artifact) in [
        ("Upload the binaries", job.dist_outputs(), dist_label),
        ("Upload the outputs", job.other_outputs(), other_label),
    ] {
        if paths.is_empty() {
            continue;
        }
        w.line(6, &format!("- name: {name}"));
        w.line(8, "if: ${{ !cancelled() }}");
        w.line(8, &format!("uses: {}", UPLOAD_ARTIFACT.uses()));
        w.line(8, "with:");
        w.line(10, &format!("name: {}", scalar(&artifact)));
        upload_paths(&mut w, &paths);
        w.line(10, "if-no-files-found: warn");
    }
    w.line(6, "- name: Upload the run report");
    w.line(8, "if: ${{ !cancelled() }}");
    w.line(8, &format!("uses: {}", UPLOAD_ARTIFACT.uses()));
    w.line(8, "with:");
    w.line(
        10,
        &format!("name: {}", scalar(&format!("xtask-run-{label}"))),
    );
    w.line(10, "path: reports/xtask-run.json");
    w.line(10, "if-no-files-found: warn");
}

/// Check-out, Dagger (unless the recipe runs on the host), and the xtask, built.
fn render_setup_steps(w: &mut Lines<'_>, job: &CiJob, pins: &Pins) {
    w.line(6, "- name: Check out");
    w.line(8, &format!("uses: {}", CHECKOUT.uses()));
    w.line(8, "with:");
    w.line(10, "persist-credentials: false");
    if job.host_only {
        // On the host a recipe sees the whole repository, as `just` does: the history too
        // (the security scan's `secrets-history` reads it), which a shallow clone lacks.
        w.line(
            10,
            "fetch-depth: 0 # the whole history, as on a developer's clone",
        );
    } else {
        w.line(6, &format!("- name: Install Dagger {}", pins.dagger));
        w.line(8, &format!("uses: {}", DAGGER_FOR_GITHUB.uses()));
        w.line(8, "with:");
        w.line(10, &format!("version: {}", scalar(&pins.dagger)));
    }
    w.line(6, "- name: Cache the xtask build");
    w.line(8, &format!("uses: {}", RUST_CACHE.uses()));
    w.line(8, "with:");
    w.line(10, "shared-key: xtask");
    w.line(
        10,
        "save-if: ${{ github.ref == 'refs/heads/main' }} # pull requests read the cache, main writes it",
    );
    w.line(6, "- name: Build the xtask");
    w.line(8, "run: cargo build --locked --package xtask --bin xtask");
}

/// The step that runs the function, with the matrix values and secrets in its environment.
fn render_run_step(w: &mut Lines<'_>, job: &CiJob) {
    let (shown, script) = job.command();
    w.line(6, &format!("- name: {}", scalar(&shown)));
    let mut env: Vec<String> = job
        .axes
        .iter()
        .map(|axis| format!("{}: {}", axis.variable(), axis.expression()))
        .collect();
    if !job.host_only {
        env.push("DAGGER_CLOUD_TOKEN: ${{ secrets.DAGGER_CLOUD_TOKEN }}".to_owned());
    }
    env.extend(
        job.secrets
            .iter()
            .map(|secret| format!("{secret}: ${{{{ secrets.{secret} }}}}")),
    );
    if !env.is_empty() {
        w.line(8, "env:");
        for entry in &env {
            w.line(10, entry);
        }
    }
    w.line(8, &format!("run: {}", scalar(&script)));
}

/// Each SARIF output to GitHub code scanning.
fn render_sarif_uploads(w: &mut Lines<'_>, job: &CiJob) {
    for path in job.sarif_outputs() {
        w.line(6, "- name: Upload the findings to code scanning");
        // A fork's pull request gets a read-only token: its findings stay in the artifact.
        w.line(
            8,
            "if: ${{ !cancelled() && (github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository) }}",
        );
        w.line(8, &format!("uses: {}", UPLOAD_SARIF.uses()));
        w.line(8, "with:");
        w.line(10, &format!("sarif_file: {}", scalar(path)));
        w.line(10, &format!("category: {}", scalar(&job.label())));
    }
}

fn render_dist(out: &mut String, jobs: &[CiJob]) {
    let producers: Vec<&CiJob> = jobs
        .iter()
        .filter(|job| !job.dist_outputs().is_empty())
        .collect();
    let expected: Vec<String> = producers
        .iter()
        .flat_map(|job| &job.expanded_outputs)
        .filter_map(|path| path.strip_prefix("dist/"))
        .map(|path| format!("'{}'", path.replace('\'', "'\\''")))
        .collect();
    let mut w = Lines(out);
    w.line(
        2,
        "# Every binary in one artifact, with the SHA-256 of each in SHA256SUMS.",
    );
    w.line(2, "dist:");
    w.line(4, "name: dist (binaries and SHA256SUMS)");
    let needs: Vec<&str> = producers.iter().map(|job| job.recipe.as_str()).collect();
    w.line(4, &format!("needs: [{}]", needs.join(", ")));
    w.line(4, &format!("runs-on: {LINUX_RUNNER}"));
    w.line(4, "timeout-minutes: 10");
    w.line(4, "permissions: {} # artifacts of this run need no token");
    w.line(4, "steps:");
    w.line(6, "- name: Download the binaries");
    w.line(8, &format!("uses: {}", DOWNLOAD_ARTIFACT.uses()));
    w.line(8, "with:");
    w.line(10, "pattern: dist-*");
    w.line(10, "path: dist");
    w.line(10, "merge-multiple: true");
    w.line(
        6,
        "- name: Check that every binary is there and write SHA256SUMS",
    );
    w.line(8, "working-directory: dist");
    w.line(8, "run: |");
    w.line(10, "export LC_ALL=C");
    w.line(10, &format!("for pattern in {}; do", expected.join(" ")));
    w.line(
        12,
        "compgen -G \"$pattern\" > /dev/null || { echo \"::error::no dist/$pattern among the outputs\"; exit 1; }",
    );
    w.line(10, "done");
    w.line(10, "sha256sum -- * > SHA256SUMS");
    w.line(10, "cat SHA256SUMS");
    w.line(6, "- name: Upload the binaries and SHA256SUMS");
    w.line(8, &format!("uses: {}", UPLOAD_ARTIFACT.uses()));
    w.line(8, "with:");
    w.line(10, "name: dist");
    w.line(10, "path: dist/");
    w.line(10, "if-no-files-found: error");
}

fn upload_paths(w: &mut Lines<'_>, paths: &[&String]) {
    if let [path] = paths {
        w.line(10, &format!("path: {}", scalar(path)));
        return;
    }
    w.line(10, "path: |");
    for path in paths {
        w.line(12, path);
    }
}

/// A junit report among the outputs: test results to show in the run.
fn is_junit(path: &str) -> bool {
    let file = std::path::Path::new(path);
    file.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("xml"))
        && file
            .file_name()
            .is_some_and(|name| name.to_string_lossy().contains("junit"))
}

/// Appends indented lines.
struct Lines<'a>(&'a mut String);

impl Lines<'_> {
    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.0, "{:indent$}{text}", "");
    }
}

/// A YAML scalar: plain when that reads the same, else single-quoted.
fn scalar(text: &str) -> String {
    if is_plain(text, false) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// A scalar inside a flow sequence (`[a, b]`), where `,[]{}` are syntax too.
fn flow_scalar(text: &str) -> String {
    if is_plain(text, true) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn is_plain(text: &str, in_flow: bool) -> bool {
    const INDICATORS: &str = "-?:,[]{}#&*!|>'\"%@`";
    let Some(first) = text.chars().next() else {
        return false;
    };
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n",
    ];
    !(INDICATORS.contains(first)
        || first.is_whitespace()
        || text.ends_with(char::is_whitespace)
        || text.ends_with(':')
        || text.contains(": ")
        || text.contains(" #")
        || text.contains(['\n', '\t'])
        || (in_flow && text.contains([',', '[', ']', '{', '}']))
        || reserved.contains(&text.to_ascii_lowercase().as_str())
        || text.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Xtask;

    use clap::CommandFactory;

    /// A justfile dump with the shape of this project's: CI functions, aggregators, a setup
    /// recipe outside the group.
    fn justfile(extra_recipes: &str, extra_variables: &str) -> Justfile {
        let recipe = |name: &str, attributes: &str, parameters: &str, body: bool, doc: &str| {
            format!(
                r#""{name}": {{"name": "{name}", "namepath": "{name}", "doc": {doc}, "attributes": [{attributes}], "parameters": [{parameters}], "dependencies": [], "priors": 0, "private": false, "body": {body}}}"#,
                body = if body { r#"[["run"]]"# } else { "[]" },
            )
        };
        let target = r#"{"name": "target", "kind": "singular", "default": null}"#;
        let recipes = [
            recipe(
                "build",
                r#"{"group": "ci"}, {"metadata": ["outputs", "dist/taskmd-{target}*"]}"#,
                target,
                true,
                r#""Build one target.""#,
            ),
            recipe(
                "build-all",
                r#"{"group": "ci"}, "parallel""#,
                "",
                false,
                "null",
            ),
            recipe("ci", r#"{"group": "ci"}"#, "", false, "null"),
            recipe("install", r#"{"group": "setup"}"#, "", true, "null"),
            recipe("lint", r#"{"group": "ci"}"#, "", true, "null"),
            recipe(
                "test",
                r#"{"group": "ci"}, {"metadata": ["outputs", "reports/junit.xml", "reports/coverage"]}, {"metadata": ["secrets", "CODECOV_TOKEN"]}"#,
                "",
                true,
                r#""Run the tests.""#,
            ),
        ];
        let mut recipes = recipes.join(", ");
        if !extra_recipes.is_empty() {
            recipes.push_str(", ");
            recipes.push_str(extra_recipes);
        }
        let dump = format!(
            r#"{{"recipes": {{{recipes}}}, "assignments": {{"targets": {{"name": "targets", "value": "linux-x64 windows-x64", "export": false}}, "dagger_version": {{"name": "dagger_version", "value": "1.0.0-beta.23", "export": false}}{extra_variables}}}, "first": "ci", "source": "/p/justfile", "modules": {{}}}}"#
        );
        Justfile::from_dump(&dump).unwrap()
    }

    fn jobs(justfile: &Justfile) -> Result<Vec<CiJob>> {
        CiJob::all(justfile, &Xtask::command())
    }

    #[test]
    fn one_job_per_ci_function_and_a_matrix_per_parameter() {
        let jobs = jobs(&justfile("", "")).unwrap();
        let names: Vec<&str> = jobs.iter().map(|job| job.recipe.as_str()).collect();
        assert_eq!(
            names,
            ["build", "lint", "test"],
            "aggregators and setup are left out"
        );
        let build = &jobs[0];
        assert_eq!(
            build.axes,
            [Axis {
                parameter: "target".to_owned(),
                values: vec!["linux-x64".to_owned(), "windows-x64".to_owned()],
            }]
        );
        assert_eq!(build.outputs, ["dist/taskmd-${{ matrix.target }}*"]);
        assert_eq!(
            build.expanded_outputs,
            ["dist/taskmd-linux-x64*", "dist/taskmd-windows-x64*"]
        );
        assert_eq!(
            build.command(),
            (
                "cargo xtask build --target ${{ matrix.target }} --runner dagger".to_owned(),
                "cargo xtask build --target \"$TARGET\" --runner dagger".to_owned()
            )
        );
        assert_eq!(jobs[2].secrets, ["CODECOV_TOKEN"]);
    }

    #[test]
    fn a_ci_function_must_be_an_xtask_command_taking_its_parameters() {
        let deploy = r#""deploy": {"name": "deploy", "namepath": "deploy", "attributes": [{"group": "ci"}], "body": [["x"]]}"#;
        let error = jobs(&justfile(deploy, "")).unwrap_err().to_string();
        assert!(
            error.contains("`cargo xtask` has no `deploy` command"),
            "{error}"
        );

        let lint = r#""plan": {"name": "plan", "namepath": "plan", "attributes": [{"group": "ci"}], "parameters": [{"name": "mode", "kind": "singular", "default": null}], "body": [["x"]]}"#;
        let error = jobs(&justfile(
            lint,
            r#", "modes": {"name": "modes", "value": "a b"}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("has no `--mode` option"), "{error}");
    }

    #[test]
    fn a_parameter_needs_the_variable_listing_its_values() {
        let mut justfile = justfile("", "");
        justfile.assignments.remove("targets");
        let error = jobs(&justfile).unwrap_err().to_string();
        assert!(error.contains("variable `targets`"), "{error}");
    }

    #[test]
    fn no_ci_recipes_is_an_error() {
        let mut justfile = justfile("", "");
        justfile
            .recipes
            .retain(|_, recipe| !recipe.groups().contains(&CI_GROUP));
        let error = jobs(&justfile).unwrap_err().to_string();
        assert!(error.contains("no CI functions"), "{error}");
    }

    #[test]
    fn the_dagger_pin_must_match_the_sdk() {
        let justfile = justfile("", "");
        let lock = "[[package]]\nname = \"dagger-sdk\"\nversion = \"1.0.0-beta.24\"\n";
        let error = Pins::of(&justfile, Some(lock)).unwrap_err().to_string();
        assert!(
            error.contains("set `dagger_version := \"1.0.0-beta.24\"`"),
            "{error}"
        );
        let lock = lock.replace("beta.24", "beta.23");
        assert_eq!(
            Pins::of(&justfile, Some(&lock)).unwrap().dagger,
            "1.0.0-beta.23"
        );
        assert_eq!(
            Pins::of(&justfile, Some("")).unwrap().dagger,
            "1.0.0-beta.23"
        );
    }

    #[test]
    fn renders_deterministic_hardened_workflows() {
        let justfile = justfile("", "");
        let pins = Pins::of(&justfile, None).unwrap();
        let workflows = render(&jobs(&justfile).unwrap(), &pins).unwrap();
        assert_eq!(workflows, render(&jobs(&justfile).unwrap(), &pins).unwrap());
        let ci = &workflows[0].text;
        for expected in [
            "  build:\n",
            "  lint:\n",
            "  test:\n",
            "  dist:\n",
            "    needs: [build, lint, test, dist]\n",
            "        target: [linux-x64, windows-x64]\n",
            "          name: dist-build-${{ matrix.target }}\n",
            "        run: cargo xtask build --target \"$TARGET\" --runner dagger\n",
            "          CODECOV_TOKEN: ${{ secrets.CODECOV_TOKEN }}\n",
            "          report_paths: reports/junit.xml\n",
            "          for pattern in 'taskmd-linux-x64*' 'taskmd-windows-x64*'; do\n",
        ] {
            assert!(ci.contains(expected), "ci.yml lacks {expected:?}:\n{ci}");
        }
        assert!(!ci.contains("build-all:") && !ci.contains("  ci:\n"));
        let nightly = &workflows[1].text;
        assert!(ci.contains("      pull-requests: write # comment on the pull request\n"));
        assert!(
            nightly.contains("      issues: write") && !nightly.contains("pull-requests: write"),
            "a scheduled workflow's report needs no pull request permission:\n{nightly}"
        );
        for workflow in &workflows {
            check_hardening(&workflow.path, &workflow.text);
        }
    }

    #[test]
    fn a_host_only_function_runs_locally_without_dagger_and_uploads_its_sarif() {
        let scan = r#""security-scan": {"name": "security-scan", "namepath": "security-scan", "attributes": [{"group": "ci"}, {"metadata": ["runner", "local"]}, {"metadata": ["outputs", "reports/security/security.sarif", "reports/security/summary.md"]}], "parameters": [{"name": "fail_on", "kind": "singular", "default": "high"}], "body": [["scan"]]}"#;
        let justfile = justfile(scan, "");
        let jobs = jobs(&justfile).unwrap();
        let job = jobs
            .iter()
            .find(|job| job.recipe == "security-scan")
            .unwrap();
        assert!(job.host_only && job.axes.is_empty(), "{job:?}");
        assert_eq!(job.command().1, "cargo xtask security-scan --runner local");
        let pins = Pins::of(&justfile, None).unwrap();
        let ci = &render(&jobs, &pins).unwrap()[0].text;
        let start = ci.find("  security-scan:\n").unwrap();
        let end = start + ci[start..].find("\n\n").unwrap();
        let section = &ci[start..end];
        for expected in [
            "      security-events: write # upload SARIF to code scanning\n",
            "        run: cargo xtask security-scan --runner local\n",
            "        uses: github/codeql-action/upload-sarif@",
            "          sarif_file: reports/security/security.sarif\n",
            "          fetch-depth: 0 # the whole history, as on a developer's clone\n",
        ] {
            assert!(section.contains(expected), "lacks {expected:?}:\n{section}");
        }
        for unexpected in ["dagger-for-github", "DAGGER_CLOUD_TOKEN", "env:"] {
            assert!(
                !section.contains(unexpected),
                "has {unexpected:?}:\n{section}"
            );
        }
        let build = &ci[ci.find("  build:\n").unwrap()..];
        let build = &build[..build.find("\n\n").unwrap()];
        assert!(build.contains("dagger-for-github") && !build.contains("security-events"));
        assert!(!build.contains("fetch-depth"), "{build}");
        check_hardening("ci.yml", ci);
    }

    /// The rules the issue sets for every workflow; actionlint and zizmor check more.
    fn check_hardening(path: &str, text: &str) {
        assert!(!text.contains("<<uses:"), "{path}: unexpanded token");
        assert!(!text.contains("pull_request_target"), "{path}");
        assert!(
            text.contains("\npermissions: {}\n"),
            "{path}: no top-level permissions"
        );
        let mut in_run = None;
        for (number, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start().len();
            let trimmed = line.trim_start().trim_start_matches("- ");
            if let Some(run_indent) = in_run {
                if line.trim().is_empty() || indent > run_indent {
                    assert!(
                        !line.contains("${{"),
                        "{path}:{}: expression inside a script: {line}",
                        number + 1
                    );
                    continue;
                }
                in_run = None;
            }
            if let Some(script) = trimmed
                .strip_prefix("run:")
                .or_else(|| trimmed.strip_prefix("script:"))
            {
                assert!(!script.contains("${{"), "{path}:{}: {line}", number + 1);
                in_run = Some(indent);
            }
            if let Some(action) = trimmed.strip_prefix("uses: ") {
                let (reference, comment) = action.split_once(" # ").unwrap_or((action, ""));
                let commit = reference.split_once('@').map_or("", |(_, commit)| commit);
                assert!(
                    commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
                    "{path}:{}: not pinned by commit: {line}",
                    number + 1
                );
                assert!(
                    comment.starts_with('v'),
                    "{path}:{}: no version comment",
                    number + 1
                );
            }
            if trimmed.starts_with("uses: actions/checkout@") {
                let rest: String = text.lines().skip(number).take(5).collect();
                assert!(
                    rest.contains("persist-credentials: false"),
                    "{path}:{}: checkout keeps credentials",
                    number + 1
                );
            }
        }
    }

    #[test]
    fn expands_tokens_and_leaves_heredocs_alone() {
        let tokens = BTreeMap::from([("a".to_owned(), "1".to_owned())]);
        assert_eq!(
            expand("t", "x <<a>> y << 'z' cat <<'EOF'", &tokens).unwrap(),
            "x 1 y << 'z' cat <<'EOF'"
        );
        assert_eq!(
            expand("t", "<<b>>", &tokens).unwrap_err(),
            WorkflowError::UnknownToken {
                template: "t".to_owned(),
                token: "b".to_owned()
            }
        );
    }

    #[test]
    fn quotes_only_what_yaml_would_misread() {
        assert_eq!(
            scalar("cargo xtask lint --runner dagger"),
            "cargo xtask lint --runner dagger"
        );
        assert_eq!(
            scalar("dist/taskmd-${{ matrix.target }}*"),
            "dist/taskmd-${{ matrix.target }}*"
        );
        assert_eq!(scalar("yes"), "'yes'");
        assert_eq!(scalar("1.0"), "'1.0'");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar("*x"), "'*x'");
        assert_eq!(scalar("it's"), "it's");
        assert_eq!(scalar("'q'"), "'''q'''");
        assert_eq!(flow_scalar("a,b"), "'a,b'");
        assert_eq!(scalar("1.0.0-beta.23"), "1.0.0-beta.23");
    }

    #[test]
    fn reads_one_locked_version() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"1.2.3\"\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\n";
        assert_eq!(locked_version(lock, "a").as_deref(), Some("1.2.3"));
        assert_eq!(locked_version(lock, "c"), None);
        let twice = format!("{lock}[[package]]\nname = \"a\"\nversion = \"2.0.0\"\n");
        assert_eq!(locked_version(&twice, "a"), None);
    }

    #[test]
    fn every_action_is_pinned_by_a_full_commit() {
        for action in ACTIONS {
            assert_eq!(action.commit.len(), 40, "{}", action.repository);
            assert!(action.commit.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(action.version.starts_with('v'));
        }
    }
}
