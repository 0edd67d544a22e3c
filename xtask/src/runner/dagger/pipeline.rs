//! The pure half of the Dagger runner: a [`Plan`] and its [`Context`] become a [`Pipeline`],
//! a description of every container (image, toolchain, mounts, caches, environment, secrets,
//! command, exports) that can be printed (`cargo xtask plan ci --runner dagger --json`),
//! snapshot-tested, and only then turned into dagger-sdk calls by [`super::sdk`].
//!
//! Each step with a body becomes one container:
//!
//! 1. the recipe's image (metadata `image`, else the justfile's `dagger_image`), pinned by
//!    digest and moved to the image mirror when one is set;
//! 2. the pinned `just` and `bun` copied in from toolchain stages that install them the way
//!    `cargo xtask setup` does on the host (`rust-just` from `PyPI`, `bun` from npm), then checked;
//! 3. the bun install cache volume, keyed by the bun version, and the recipe's own caches;
//! 4. the normalised environment ([`BuildEnvironment`]);
//! 5. the project's files at [`SOURCE_DIR`]: the recipe's `inputs` (plus the justfile) or, with
//!    none declared, the whole tree; never [`SOURCE_EXCLUDES`];
//! 6. the `outputs` and `provides` of each step it depends on, taken from that step's
//!    container, not from the host (so `install` runs on `package.json` + `bun.lock` alone
//!    and hands `node_modules` on: the lockfile is layered before the sources);
//! 7. the recipe's secrets, as Dagger secrets;
//! 8. `just --no-deps <recipe> <args>`; afterwards its `outputs` are exported to the host.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use super::image::{ImageError, ImageRef, Mirror};
use crate::{
    environment::BuildEnvironment,
    just::Just,
    plan::{Plan, Step, StepId},
};

/// The justfile variable naming the image recipes run in unless their metadata names another.
pub const DEFAULT_IMAGE_VARIABLE: &str = "dagger_image";
/// The justfile variable naming the image the pinned just is installed in (with pip).
pub const PYTHON_IMAGE_VARIABLE: &str = "dagger_python_image";

/// Where the project's files are inside every container; recipes run here.
pub const SOURCE_DIR: &str = "/src";
/// Where the pinned tools land in every step image (on the images' `PATH`).
pub const JUST_PATH: &str = "/usr/local/bin/just";
pub const BUN_PATH: &str = "/usr/local/bin/bun";
/// bun's install cache, set explicitly (`BUN_INSTALL_CACHE_DIR`) so that it does not depend on
/// the image's user or `HOME`. `bun build --compile --target=...` keeps the runtimes of other
/// targets here too.
pub const BUN_CACHE_DIR: &str = "/root/.bun/install/cache";
/// The name the export staging directories start with, inside the project.
pub const EXPORT_DIR_PREFIX: &str = ".xtask-export-";

/// Never sent to the engine: version control, installed or built things, reports, the host's
/// pinned tools, and the staging directories of exports in progress.
pub const SOURCE_EXCLUDES: [&str; 8] = [
    ".git",
    "node_modules",
    "dist",
    "target",
    "reports",
    ".tools",
    ".build",
    ".xtask-export-*",
];

/// Everything the translation needs besides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The justfile's `just_version` and `bun_version`: the same pins the local path uses.
    pub just_version: String,
    pub bun_version: String,
    /// The justfile's `dagger_image` and `dagger_python_image`, unchecked.
    pub default_image: String,
    pub python_image: String,
    /// The justfile's file name (`justfile`), always mounted so `just` can run.
    pub justfile_name: String,
    pub environment: BuildEnvironment,
    pub mirror: Option<Mirror>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error("justfile variable `{variable}`: {problem}")]
    VariableImage {
        variable: &'static str,
        problem: ImageError,
    },
    #[error("the `image` metadata of recipe `{recipe}`: {problem}")]
    RecipeImage { recipe: String, problem: ImageError },
    #[error("{}", missing_secrets_message(missing))]
    MissingSecrets {
        /// Each unset variable with the recipes that need it.
        missing: Vec<SecretUse>,
    },
}

fn missing_secrets_message(missing: &[SecretUse]) -> String {
    let each: Vec<String> = missing
        .iter()
        .map(|secret| {
            format!(
                "recipe{} {} need{} secret `{}`, but the environment variable `{}` is not set",
                if secret.recipes.len() == 1 { "" } else { "s" },
                secret
                    .recipes
                    .iter()
                    .map(|recipe| format!("`{recipe}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if secret.recipes.len() == 1 { "s" } else { "" },
                secret.name,
                secret.name,
            )
        })
        .collect();
    format!(
        "{}; set {} before running (a secret reaches containers only as a Dagger secret, never as a plain variable)",
        each.join("; "),
        if missing.len() == 1 { "it" } else { "them" }
    )
}

/// The whole run: how the toolchain is provided, and one entry per plan step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    /// The Dagger version the SDK speaks, which the engine should match.
    pub engine: String,
    pub toolchain: Toolchain,
    /// Every distinct step image, in first use; each gets the toolchain check once per run.
    pub images: Vec<String>,
    /// Every secret some step needs, by name only.
    pub secrets: Vec<SecretUse>,
    /// In plan order.
    pub steps: Vec<StepPipeline>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Toolchain {
    pub just: ToolInstall,
    pub bun: ToolInstall,
}

/// How a pinned tool gets into every step image: installed in a stage of its own, copied
/// in, then checked (`check` must print `expect`'s version, or the run stops).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolInstall {
    pub version: String,
    /// Always `installed, then checked`: no image is trusted to carry the pinned version.
    pub provision: &'static str,
    pub stage_image: String,
    pub install: Vec<String>,
    /// The installed program inside the stage.
    pub file: String,
    /// Where it goes in every step image.
    pub path: String,
    pub check: Vec<String>,
    /// The version `check` must report.
    pub expect: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretUse {
    pub name: String,
    pub recipes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepPipeline {
    pub id: StepId,
    /// The recipe and its arguments, as the plan prints them.
    pub step: String,
    pub dependencies: Vec<StepId>,
    /// Absent for a recipe without a body: it only orders its dependencies, and hands their
    /// outputs on to whatever depends on it.
    pub container: Option<ContainerSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    /// Pinned by digest, after the mirror rewrite.
    pub image: String,
    pub workdir: String,
    pub source: SourceSpec,
    /// Files taken from the containers of earlier steps, in this order, over the source.
    pub from_dependencies: Vec<DependencyCopy>,
    pub caches: Vec<CacheSpec>,
    pub env: BTreeMap<String, String>,
    /// Environment variable names, each passed as a Dagger secret (`env://NAME`).
    pub secrets: Vec<String>,
    pub command: Vec<String>,
    /// The recipe's `outputs`, exported to the host after it passes.
    pub exports: Vec<String>,
}

/// The project directory on the host, filtered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSpec {
    /// Relative to the project root.
    pub host: String,
    /// Patterns to send; empty: the whole tree.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyCopy {
    pub step: StepId,
    /// The dependency, as the plan prints it.
    pub from: String,
    /// Its `outputs` and `provides`, copied from its container's [`SOURCE_DIR`].
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheSpec {
    pub volume: String,
    pub path: String,
    pub sharing: Sharing,
}

/// Dagger's cache sharing modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    /// Every container uses the volume at once.
    Shared,
    /// One container at a time; the others wait for the whole of its command.
    Locked,
}

impl Pipeline {
    /// The step image of `id`, if it runs a container.
    pub fn container(&self, id: StepId) -> Option<&ContainerSpec> {
        self.steps.get(id)?.container.as_ref()
    }

    /// Fails, naming every unset variable and who needs it, when a secret is missing: this
    /// runs before any container starts.
    pub fn check_secrets(&self, is_set: impl Fn(&str) -> bool) -> Result<(), PipelineError> {
        let missing: Vec<SecretUse> = self
            .secrets
            .iter()
            .filter(|secret| !is_set(&secret.name))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(PipelineError::MissingSecrets { missing })
        }
    }

    /// The description as text, one block per step.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "engine     {}", self.engine);
        for tool in [&self.toolchain.just, &self.toolchain.bun] {
            let _ = writeln!(
                out,
                "toolchain  {} {}: `{}` in {}, copied to {}; checked with `{}`",
                tool.check[0],
                tool.version,
                tool.install.join(" "),
                tool.stage_image,
                tool.path,
                tool.check.join(" "),
            );
        }
        for secret in &self.secrets {
            let _ = writeln!(
                out,
                "secret     {} (env://{}) for {}",
                secret.name,
                secret.name,
                secret.recipes.join(", ")
            );
        }
        for step in &self.steps {
            let _ = writeln!(out, "\n{}", step.step);
            let Some(container) = &step.container else {
                let _ = writeln!(out, "  no body: orders its dependencies only");
                continue;
            };
            let _ = writeln!(out, "  image    {}", container.image);
            let include = if container.source.include.is_empty() {
                "the whole tree".to_owned()
            } else {
                container.source.include.join(", ")
            };
            let _ = writeln!(
                out,
                "  source   {} at {}: {include}; never {}",
                container.source.host,
                container.workdir,
                container.source.exclude.join(", ")
            );
            for copy in &container.from_dependencies {
                let _ = writeln!(out, "  from     `{}`: {}", copy.from, copy.paths.join(", "));
            }
            for cache in &container.caches {
                let sharing = match cache.sharing {
                    Sharing::Shared => "shared",
                    Sharing::Locked => "locked",
                };
                let _ = writeln!(
                    out,
                    "  cache    {} at {} ({sharing})",
                    cache.volume, cache.path
                );
            }
            let env: Vec<String> = container
                .env
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            let _ = writeln!(out, "  env      {}", env.join(" "));
            if !container.secrets.is_empty() {
                let _ = writeln!(out, "  secrets  {}", container.secrets.join(", "));
            }
            let _ = writeln!(out, "  command  {}", container.command.join(" "));
            if !container.exports.is_empty() {
                let _ = writeln!(out, "  exports  {}", container.exports.join(", "));
            }
        }
        out
    }
}

/// Translates `plan`; fails on an image that is not pinned by digest.
pub fn translate(plan: &Plan, context: &Context) -> Result<Pipeline, PipelineError> {
    let mirror = context.mirror.as_ref();
    let pinned = |variable: &'static str, reference: &str| {
        pinned_image(reference, mirror)
            .map_err(|problem| PipelineError::VariableImage { variable, problem })
    };
    let default_image = pinned(DEFAULT_IMAGE_VARIABLE, &context.default_image)?;
    let python_image = pinned(PYTHON_IMAGE_VARIABLE, &context.python_image)?;
    let toolchain = toolchain(context, &default_image, &python_image);

    let mut images: Vec<String> = Vec::new();
    let mut secrets: Vec<SecretUse> = Vec::new();
    let mut steps = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let container = if step.empty {
            None
        } else {
            let image = match &step.metadata.image {
                Some(reference) => pinned_image(reference, mirror).map_err(|problem| {
                    PipelineError::RecipeImage {
                        recipe: step.invocation.recipe.clone(),
                        problem,
                    }
                })?,
                None => default_image.clone(),
            };
            if !images.contains(&image) {
                images.push(image.clone());
            }
            for name in &step.metadata.secrets {
                let label = step.invocation.to_string();
                match secrets.iter_mut().find(|secret| secret.name == *name) {
                    Some(secret) if !secret.recipes.contains(&label) => secret.recipes.push(label),
                    Some(_) => {}
                    None => secrets.push(SecretUse {
                        name: name.clone(),
                        recipes: vec![label],
                    }),
                }
            }
            Some(container_spec(plan, step, image, context))
        };
        steps.push(StepPipeline {
            id: step.id,
            step: step.invocation.to_string(),
            dependencies: step.dependencies.clone(),
            container,
        });
    }
    secrets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Pipeline {
        engine: format!("dagger {}", super::engine::DAGGER_ENGINE_VERSION),
        toolchain,
        images,
        secrets,
        steps,
    })
}

fn pinned_image(reference: &str, mirror: Option<&Mirror>) -> Result<String, ImageError> {
    let image = ImageRef::parse(reference)?;
    Ok(match mirror {
        Some(mirror) => image.mirrored(mirror).to_string(),
        None => image.to_string(),
    })
}

/// just from `PyPI` and bun from npm, as `cargo xtask setup` installs them on the host, so both
/// paths run the very same releases.
fn toolchain(context: &Context, default_image: &str, python_image: &str) -> Toolchain {
    let strings = |words: &[&str]| words.iter().map(|&word| word.to_owned()).collect();
    let just = &context.just_version;
    let bun = &context.bun_version;
    Toolchain {
        just: ToolInstall {
            version: just.clone(),
            provision: "installed, then checked",
            stage_image: python_image.to_owned(),
            install: strings(&[
                "python3",
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-input",
                "--target",
                "/opt/just",
                &format!("rust-just=={just}"),
            ]),
            file: "/opt/just/bin/just".to_owned(),
            path: JUST_PATH.to_owned(),
            check: strings(&["just", "--version"]),
            expect: just.clone(),
        },
        bun: ToolInstall {
            version: bun.clone(),
            provision: "installed, then checked",
            stage_image: default_image.to_owned(),
            install: strings(&[
                "npm",
                "install",
                "--prefix",
                "/opt/bun",
                "--no-save",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                &format!("bun@{bun}"),
            ]),
            // The package's postinstall puts the platform's binary here (a real file, which
            // `node_modules/.bin/bun` only links to).
            file: "/opt/bun/node_modules/bun/bin/bun.exe".to_owned(),
            path: BUN_PATH.to_owned(),
            check: strings(&["bun", "--version"]),
            expect: bun.clone(),
        },
    }
}

fn container_spec(plan: &Plan, step: &Step, image: String, context: &Context) -> ContainerSpec {
    let metadata = &step.metadata;
    let include = if metadata.inputs.is_empty() {
        Vec::new()
    } else {
        // just needs its justfile, and the files of its modules and imports.
        let mut include = vec![context.justfile_name.clone(), "**/*.just".to_owned()];
        for input in &metadata.inputs {
            if !include.contains(input) {
                include.push(input.clone());
            }
        }
        include
    };
    let from_dependencies = providers(plan, step)
        .into_iter()
        .filter_map(|id| {
            let provider = plan.step(id);
            let paths: Vec<String> = provider
                .metadata
                .outputs
                .iter()
                .chain(&provider.metadata.provides)
                .cloned()
                .collect();
            (!paths.is_empty()).then(|| DependencyCopy {
                step: id,
                from: provider.invocation.to_string(),
                paths,
            })
        })
        .collect();
    // SHARED, on purpose: bun writes its cache entries whole and renames them into place
    // (packages are extracted to a temporary directory, `--compile` runtimes downloaded to
    // one), so concurrent writers cannot leave a torn entry. LOCKED would let one step at a
    // time hold the volume for its whole command, serialising the five cross-target builds;
    // PRIVATE would give each concurrent step its own copy, downloading the same packages
    // and runtimes again.
    let mut caches = vec![CacheSpec {
        volume: format!("bun-install-{}", context.bun_version),
        path: BUN_CACHE_DIR.to_owned(),
        sharing: Sharing::Shared,
    }];
    // A recipe's own caches belong to tools we know nothing about: LOCKED is the mode that is
    // safe for any of them.
    caches.extend(metadata.caches.iter().map(|cache| CacheSpec {
        volume: cache.name.clone(),
        path: cache.path.clone(),
        sharing: Sharing::Locked,
    }));
    let mut env: BTreeMap<String, String> = context.environment.variables().into_iter().collect();
    env.insert("BUN_INSTALL_CACHE_DIR".to_owned(), BUN_CACHE_DIR.to_owned());
    ContainerSpec {
        image,
        workdir: SOURCE_DIR.to_owned(),
        source: SourceSpec {
            host: ".".to_owned(),
            include,
            exclude: SOURCE_EXCLUDES.map(str::to_owned).to_vec(),
        },
        from_dependencies,
        caches,
        env,
        secrets: metadata.secrets.clone(),
        command: Just::container_command(&step.invocation.recipe, &step.invocation.arguments),
        exports: metadata.outputs.clone(),
    }
}

/// The steps whose containers `step` takes files from: its dependencies, looking through
/// recipes without a body to the steps behind them.
pub fn providers(plan: &Plan, step: &Step) -> Vec<StepId> {
    let mut found = Vec::new();
    let mut stack: Vec<StepId> = step.dependencies.iter().rev().copied().collect();
    let mut seen = vec![false; plan.steps.len()];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) {
            continue;
        }
        let dependency = plan.step(id);
        if dependency.empty {
            stack.extend(dependency.dependencies.iter().rev());
        } else {
            found.push(id);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{justfile::Justfile, plan::Invocation};

    const NODE: &str = "docker.io/library/node:22.23.2-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46";
    const PYTHON: &str = "docker.io/library/python:3.12.14-slim-trixie@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea";

    /// A justfile dump shaped like this repository's: install → test/lint/build, `ci` with
    /// no body.
    fn justfile(extra_build_attributes: &str) -> Justfile {
        let recipe = |name: &str,
                      attributes: &str,
                      parameters: &str,
                      dependencies: &str,
                      body: bool| {
            format!(
                r#""{name}": {{"name": "{name}", "namepath": "{name}", "attributes": [{attributes}], "parameters": {parameters},
                 "dependencies": {dependencies}, "priors": 9, "body": {}}}"#,
                if body { r#"[["x"]]"# } else { "[]" }
            )
        };
        let install = recipe(
            "install",
            r#"{"metadata": ["inputs", "package.json", "bun.lock"]}, {"metadata": ["provides", "node_modules"]}"#,
            "[]",
            "[]",
            true,
        );
        let test = recipe(
            "test",
            r#"{"metadata": ["inputs", "package.json", "src", "test"]}, {"metadata": ["outputs", "reports/junit.xml"]}"#,
            "[]",
            r#"[{"recipe": "install", "arguments": []}]"#,
            true,
        );
        let build = recipe(
            "build",
            &format!(
                r#"{{"metadata": ["inputs", "src"]}}, {{"metadata": ["outputs", "dist/app-{{target}}*"]}}{extra_build_attributes}"#
            ),
            r#"[{"name": "target", "kind": "singular", "default": null}]"#,
            r#"[{"recipe": "install", "arguments": []}]"#,
            true,
        );
        let all = recipe(
            "all",
            r#""parallel""#,
            "[]",
            r#"[{"recipe": "build", "arguments": ["linux-x64"]}, {"recipe": "build", "arguments": ["darwin-arm64"]}]"#,
            false,
        );
        let ship = recipe(
            "ship",
            r#""parallel", {"metadata": ["secrets", "NPM_TOKEN"]}"#,
            "[]",
            r#"[{"recipe": "all", "arguments": []}, {"recipe": "test", "arguments": []}]"#,
            true,
        );
        Justfile::from_dump(&format!(
            r#"{{"recipes": {{{install}, {test}, {build}, {all}, {ship}}}}}"#
        ))
        .unwrap()
    }

    fn context() -> Context {
        Context {
            just_version: "1.59.0".into(),
            bun_version: "1.4.5".into(),
            default_image: NODE.into(),
            python_image: PYTHON.into(),
            justfile_name: "justfile".into(),
            environment: BuildEnvironment {
                source_date_epoch: "1700000000".into(),
            },
            mirror: None,
        }
    }

    fn pipeline(recipe: &str, extra: &str, context: &Context) -> Result<Pipeline, PipelineError> {
        let plan = Plan::new(&justfile(extra), &[Invocation::new(recipe, &[])]).unwrap();
        translate(&plan, context)
    }

    fn step<'a>(pipeline: &'a Pipeline, name: &str) -> &'a ContainerSpec {
        pipeline
            .steps
            .iter()
            .find(|step| step.step == name)
            .and_then(|step| step.container.as_ref())
            .unwrap_or_else(|| panic!("no container for `{name}`"))
    }

    #[test]
    fn install_sees_only_the_lockfile_and_hands_node_modules_on() {
        let pipeline = pipeline("ship", "", &context()).unwrap();
        let install = step(&pipeline, "install");
        assert_eq!(
            install.source.include,
            ["justfile", "**/*.just", "package.json", "bun.lock"]
        );
        assert!(install.from_dependencies.is_empty());
        assert_eq!(install.command, ["just", "--no-deps", "install"]);

        let test = step(&pipeline, "test");
        assert_eq!(
            test.source.include,
            ["justfile", "**/*.just", "package.json", "src", "test"]
        );
        assert_eq!(test.from_dependencies.len(), 1);
        assert_eq!(test.from_dependencies[0].from, "install");
        assert_eq!(test.from_dependencies[0].paths, ["node_modules"]);
        assert_eq!(test.exports, ["reports/junit.xml"]);
    }

    #[test]
    fn every_container_is_pinned_normalised_and_excludes_the_same_paths() {
        let pipeline = pipeline("ship", "", &context()).unwrap();
        assert_eq!(pipeline.images, [NODE]);
        for step in &pipeline.steps {
            let Some(container) = &step.container else {
                assert_eq!(step.step, "all");
                continue;
            };
            assert_eq!(container.image, NODE);
            assert_eq!(container.workdir, "/src");
            assert_eq!(
                container.source.exclude,
                [
                    ".git",
                    "node_modules",
                    "dist",
                    "target",
                    "reports",
                    ".tools",
                    ".build",
                    ".xtask-export-*"
                ]
            );
            assert_eq!(
                container.caches,
                [CacheSpec {
                    volume: "bun-install-1.4.5".into(),
                    path: "/root/.bun/install/cache".into(),
                    sharing: Sharing::Shared
                }]
            );
            let env: Vec<(&str, &str)> = container
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                env,
                [
                    ("BUN_INSTALL_CACHE_DIR", "/root/.bun/install/cache"),
                    ("LC_ALL", "C"),
                    ("SOURCE_DATE_EPOCH", "1700000000"),
                    ("TZ", "UTC")
                ]
            );
        }
        let toolchain = &pipeline.toolchain;
        assert_eq!(toolchain.just.stage_image, PYTHON);
        assert!(
            toolchain
                .just
                .install
                .contains(&"rust-just==1.59.0".to_owned())
        );
        assert_eq!(toolchain.bun.stage_image, NODE);
        assert!(toolchain.bun.install.contains(&"bun@1.4.5".to_owned()));
        assert_eq!(toolchain.just.expect, "1.59.0");
        assert_eq!(toolchain.bun.expect, "1.4.5");
    }

    #[test]
    fn outputs_flow_through_recipes_without_a_body() {
        let pipeline = pipeline("ship", "", &context()).unwrap();
        let ship = step(&pipeline, "ship");
        let from: Vec<(&str, Vec<String>)> = ship
            .from_dependencies
            .iter()
            .map(|copy| (copy.from.as_str(), copy.paths.clone()))
            .collect();
        assert_eq!(
            from,
            [
                ("test", vec!["reports/junit.xml".to_owned()]),
                ("build linux-x64", vec!["dist/app-linux-x64*".to_owned()]),
                (
                    "build darwin-arm64",
                    vec!["dist/app-darwin-arm64*".to_owned()]
                ),
            ]
        );
        // The whole tree, as the recipe declares no inputs.
        assert!(ship.source.include.is_empty());
        assert_eq!(ship.secrets, ["NPM_TOKEN"]);
        assert_eq!(
            pipeline.secrets,
            [SecretUse {
                name: "NPM_TOKEN".into(),
                recipes: vec!["ship".into()]
            }]
        );
    }

    #[test]
    fn a_missing_secret_is_named_with_the_recipes_that_need_it() {
        let pipeline = pipeline("ship", "", &context()).unwrap();
        assert!(pipeline.check_secrets(|_| true).is_ok());
        let error = pipeline.check_secrets(|_| false).unwrap_err().to_string();
        assert_eq!(
            error,
            "recipe `ship` needs secret `NPM_TOKEN`, but the environment variable `NPM_TOKEN` is not set; set it before running (a secret reaches containers only as a Dagger secret, never as a plain variable)"
        );
    }

    #[test]
    fn recipe_images_and_caches_come_from_metadata() {
        let image = "ghcr.io/acme/builder:2@sha256:0000000000000000000000000000000000000000000000000000000000000000";
        let extra = format!(
            r#", {{"metadata": ["image", "{image}"]}}, {{"metadata": ["caches", "tsc:/root/.cache/tsc"]}}"#
        );
        let pipeline = pipeline("all", &extra, &context()).unwrap();
        let build = step(&pipeline, "build linux-x64");
        assert_eq!(build.image, image);
        assert_eq!(build.caches[1].volume, "tsc");
        assert_eq!(build.caches[1].sharing, Sharing::Locked);
        assert_eq!(pipeline.images, [NODE, image]);
    }

    #[test]
    fn floating_images_are_refused_with_where_they_come_from() {
        let error = pipeline("all", r#", {"metadata": ["image", "node:22"]}"#, &context())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "the `image` metadata of recipe `build`: image `node:22` is not pinned by digest"
            ),
            "{error}"
        );
        let mut floating = context();
        floating.default_image = "docker.io/library/node:latest".into();
        let error = pipeline("all", "", &floating).unwrap_err().to_string();
        assert!(
            error.starts_with("justfile variable `dagger_image`: image `docker.io/library/node:latest` uses the floating tag `latest`"),
            "{error}"
        );
    }

    #[test]
    fn the_mirror_moves_every_image_and_keeps_digests() {
        let mut mirrored = context();
        mirrored.mirror = Some(Mirror::parse("mirror.internal/hub").unwrap());
        let pipeline = pipeline("all", "", &mirrored).unwrap();
        let digest = NODE.split_once('@').unwrap().1;
        assert_eq!(
            pipeline.images,
            [format!(
                "mirror.internal/hub/library/node:22.23.2-bookworm-slim@{digest}"
            )]
        );
        assert!(
            pipeline
                .toolchain
                .just
                .stage_image
                .starts_with("mirror.internal/hub/library/python:")
        );
        assert!(
            pipeline
                .toolchain
                .bun
                .stage_image
                .starts_with("mirror.internal/hub/library/node:")
        );
    }

    #[test]
    fn the_same_plan_translates_to_the_same_pipeline() {
        let first = serde_json::to_string(&pipeline("ship", "", &context()).unwrap()).unwrap();
        let second = serde_json::to_string(&pipeline("ship", "", &context()).unwrap()).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn snapshot_of_the_translation() {
        let pipeline = pipeline("ship", "", &context()).unwrap();
        insta::assert_snapshot!(
            "ship_json",
            serde_json::to_string_pretty(&pipeline).unwrap()
        );
        insta::assert_snapshot!("ship_text", pipeline.render());
    }
}
