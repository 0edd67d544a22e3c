//! The real `cargo xtask ... --runner dagger` against the recording engine stand-in
//! (`support/engine_standin.rs`), on a temporary copy of this repository's application. No
//! Dagger engine runs here: what is checked is what the xtask *sends* (the pipeline, as
//! queries), how it reads the answers, and what it does on the host (exports, errors).

// The Dagger runner is Unix-only (dagger-sdk does not build on Windows).
#![cfg(unix)]

mod common;
mod support;

use std::{
    collections::BTreeSet,
    ffi::OsString,
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use support::engine_standin::{Behaviour, EngineStandin, ExecFailure, RecordedQuery, chain_fields};

const TARGETS: [&str; 5] = [
    "linux-x64",
    "linux-arm64",
    "darwin-x64",
    "darwin-arm64",
    "windows-x64",
];
const SECRET_SENTINEL: &str = "npm_SENTINEL-5b1e-never-on-the-wire";
const EPOCH: &str = "1700000000";

/// A copy of this repository's application (no `node_modules`, `dist`, `.git`).
fn app_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_app(dir.path());
    dir
}

/// The engine as the xtask needs it: the pinned tools report their pins, and the exports of
/// `test` and of each build write what the recipes would have written.
fn engine() -> Behaviour {
    let mut behaviour = Behaviour::normal()
        .leaf_on(
            r#"withExec(args:["just","--version"])"#,
            "stdout",
            json!("just 1.59.0\n"),
        )
        .leaf_on(
            r#"withExec(args:["bun","--version"])"#,
            "stdout",
            json!("1.4.5\n"),
        )
        .export_files(
            r#""reports/junit.xml""#,
            [
                ("reports/junit.xml", "<testsuites/>"),
                ("reports/coverage/lcov.info", "TN:"),
            ],
        );
    for target in TARGETS {
        let exe = if target.starts_with("windows") {
            ".exe"
        } else {
            ""
        };
        behaviour = behaviour.export_files(
            format!(r#""dist/taskmd-{target}*""#),
            [(
                format!("dist/taskmd-{target}{exe}"),
                format!("taskmd for {target}"),
            )],
        );
    }
    behaviour
}

/// The xtask on `project`, talking to `standin` as if inside `dagger run`.
fn xtask(project: &Path, standin: &EngineStandin) -> assert_cmd::Command {
    let mut command = common::xtask(project);
    command
        .envs(standin.env())
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("_EXPERIMENTAL_DAGGER_CLI_BIN")
        .env_remove("XTASK_IMAGE_MIRROR")
        .timeout(Duration::from_secs(120));
    command
}

fn run(command: &mut assert_cmd::Command) -> (bool, String, String) {
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stdout, stderr)
}

// ---------------------------------------------------------------------------
// Reading the recording.

/// The value the query's leaf was answered with.
fn answered(query: &RecordedQuery) -> Option<Value> {
    let mut value = query.response.as_ref()?.get("data")?;
    for field in chain_fields(&query.chain()) {
        value = value.get(field.alias.as_ref().unwrap_or(&field.name))?;
    }
    Some(value.clone())
}

/// The `withExec` arguments of a query's last exec.
fn exec_args(query: &RecordedQuery) -> Option<Vec<String>> {
    let chain = query.chain();
    let exec = chain_fields(&chain).rfind(|f| f.name == "withExec")?;
    exec.arg_strings("args")
}

/// The `sync` that ran recipe `recipe` (`just --no-deps <recipe> ..`).
fn step_sync<'a>(queries: &'a [RecordedQuery], step: &[&str]) -> &'a RecordedQuery {
    let mut argv = vec!["just", "--no-deps"];
    argv.extend(step);
    queries
        .iter()
        .find(|q| q.leaf() == "sync" && exec_args(q).is_some_and(|args| args == argv))
        .unwrap_or_else(|| panic!("no sync of {argv:?}"))
}

/// The query that minted `id`.
fn minted<'a>(queries: &'a [RecordedQuery], id: &str) -> &'a RecordedQuery {
    queries
        .iter()
        .find(|q| q.is_id_query() && answered(q) == Some(json!(id)))
        .unwrap_or_else(|| panic!("no query minted {id}"))
}

/// The `(source id, include)` of every `withDirectory` in a query.
fn with_directories(query: &RecordedQuery) -> Vec<(String, Option<Vec<String>>)> {
    chain_fields(&query.chain())
        .filter(|f| f.name == "withDirectory")
        .map(|f| (f.arg_string("source").unwrap(), f.arg_strings("include")))
        .collect()
}

fn staging_dirs(project: &Path) -> Vec<PathBuf> {
    fs::read_dir(project)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".xtask-export-")
        })
        .collect()
}

// ---------------------------------------------------------------------------

#[test]
fn ci_runs_every_recipe_in_pinned_containers_and_exports_atomically() {
    let project = app_project();
    let root = project.path();
    let standin = EngineStandin::start(engine().delay_on("{sync}", Duration::from_millis(400)));
    let (ok, stdout, stderr) =
        run(xtask(root, &standin).args(["ci", "--no-validate", "--runner", "dagger"]));
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let queries = standin.queries();
    assert!(standin.rejected().is_empty(), "{:?}", standin.rejected());

    assert_images_pinned(&queries);
    assert_uploads_excluded(&queries, root);
    assert_every_step_container(&queries);
    let (install, test) = assert_lockfile_first(&queries);

    // Independent branches are in flight at once.
    let lint = step_sync(&queries, &["lint"]);
    let build = step_sync(&queries, &["build", "linux-x64"]);
    assert!(lint.overlaps(test), "lint and test overlap");
    assert!(test.overlaps(build), "test and build overlap");
    assert!(!install.overlaps(test));

    assert_exported_atomically(&queries, root);

    // The summary names every step.
    assert!(stderr.contains("10 steps: 10 passed"), "{stderr}");
}

/// Images: every container comes from an image pinned by digest.
fn assert_images_pinned(queries: &[RecordedQuery]) {
    let mut images = BTreeSet::new();
    for query in queries {
        for from in chain_fields(&query.chain()).filter(|f| f.name == "from") {
            let address = from.arg_string("address").unwrap();
            let (_, digest) = address.split_once("@sha256:").expect("pinned by digest");
            assert_eq!(digest.len(), 64, "{address}");
            assert!(digest.chars().all(|c| c.is_ascii_hexdigit()), "{address}");
            images.insert(address);
        }
    }
    assert_eq!(
        images,
        BTreeSet::from([
            "docker.io/library/node:22.23.2-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46".to_owned(),
            "docker.io/library/python:3.12.14-slim-trixie@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea".to_owned(),
        ])
    );
}

/// Sources: every upload of the project excludes the same paths.
fn assert_uploads_excluded(queries: &[RecordedQuery], root: &Path) {
    let uploads: Vec<&RecordedQuery> = queries
        .iter()
        .filter(|q| q.query.starts_with("query{host{directory("))
        .collect();
    assert!(!uploads.is_empty());
    for upload in &uploads {
        let chain = upload.chain();
        let directory = chain_fields(&chain).nth(1).unwrap();
        assert_eq!(
            directory.arg_strings("exclude").unwrap(),
            [
                ".git",
                "node_modules",
                "dist",
                "target",
                "reports",
                ".tools",
                ".build",
                ".xtask-export-*"
            ],
            "{}",
            upload.query
        );
        assert_eq!(
            directory.arg_string("path").unwrap(),
            root.to_string_lossy()
        );
    }
}

/// Every step: the bun cache volume, keyed by bun's version, shared; the normalised
/// environment; the pinned tools.
fn assert_every_step_container(queries: &[RecordedQuery]) {
    assert!(
        queries
            .iter()
            .any(|q| q.canonical() == r#"query{cacheVolume(key:"bun-install-1.4.5"){id}}"#)
    );
    let mut recipes: Vec<Vec<String>> = Vec::new();
    for sync in queries.iter().filter(|q| q.leaf() == "sync") {
        let chain = sync.chain();
        let fields: Vec<_> = chain_fields(&chain).collect();
        let cache = fields
            .iter()
            .find(|f| f.name == "withMountedCache")
            .expect("cache mounted");
        assert_eq!(
            cache.arg_string("path").as_deref(),
            Some("/root/.bun/install/cache")
        );
        assert_eq!(cache.arg("sharing"), Some("SHARED"));
        assert!(
            cache
                .arg("cache")
                .unwrap()
                .starts_with(r#""standin:cacheVolume:"#)
        );
        let env: Vec<(String, String)> = fields
            .iter()
            .filter(|f| f.name == "withEnvVariable")
            .map(|f| {
                (
                    f.arg_string("name").unwrap(),
                    f.arg_string("value").unwrap(),
                )
            })
            .collect();
        for expected in [("SOURCE_DATE_EPOCH", EPOCH), ("TZ", "UTC"), ("LC_ALL", "C")] {
            assert!(
                env.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{env:?}"
            );
        }
        let files: Vec<String> = fields
            .iter()
            .filter(|f| f.name == "withFile")
            .map(|f| f.arg_string("path").unwrap())
            .collect();
        assert_eq!(files, ["/usr/local/bin/just", "/usr/local/bin/bun"]);
        assert_eq!(
            fields
                .iter()
                .find(|f| f.name == "withWorkdir")
                .unwrap()
                .arg_string("path")
                .as_deref(),
            Some("/src")
        );
        recipes.push(exec_args(sync).unwrap()[2..].to_vec());
    }
    recipes.sort();
    let mut expected: Vec<Vec<String>> = vec![
        vec!["install".into()],
        vec!["lint".into()],
        vec!["test".into()],
    ];
    expected.extend(TARGETS.map(|t| vec!["build".to_owned(), t.to_owned()]));
    expected.sort();
    assert_eq!(recipes, expected, "one container per recipe with a body");
}

/// Exports: into a staging directory inside the project, then renamed into place, leaving
/// no staging directory behind.
fn assert_exported_atomically(queries: &[RecordedQuery], root: &Path) {
    let exports: Vec<&RecordedQuery> = queries.iter().filter(|q| q.leaf() == "export").collect();
    assert_eq!(exports.len(), 1 + TARGETS.len());
    let staging_prefix = root.join(".xtask-export-").to_string_lossy().into_owned();
    for export in &exports {
        let chain = export.chain();
        let path = chain_fields(&chain)
            .last()
            .unwrap()
            .arg_string("path")
            .unwrap();
        assert!(path.starts_with(&staging_prefix), "{path}");
        assert!(
            chain_fields(&chain).any(|f| f.name == "filter"),
            "only the declared outputs: {}",
            export.query
        );
    }
    for target in TARGETS {
        let exe = if target.starts_with("windows") {
            ".exe"
        } else {
            ""
        };
        assert_eq!(
            fs::read_to_string(root.join(format!("dist/taskmd-{target}{exe}"))).unwrap(),
            format!("taskmd for {target}")
        );
    }
    assert_eq!(
        fs::read_to_string(root.join("reports/junit.xml")).unwrap(),
        "<testsuites/>"
    );
    assert!(root.join("reports/coverage/lcov.info").is_file());
    assert!(staging_dirs(root).is_empty(), "{:?}", staging_dirs(root));
}

/// Lockfile first: `install` sees `package.json` and `bun.lock` (and the justfile) only,
/// and `test` gets `node_modules` from install's container, not from the host.
fn assert_lockfile_first(queries: &[RecordedQuery]) -> (&RecordedQuery, &RecordedQuery) {
    let install = step_sync(queries, &["install"]);
    let install_dirs = with_directories(install);
    assert_eq!(install_dirs.len(), 1, "{}", install.query);
    let install_upload = minted(queries, &install_dirs[0].0).chain();
    assert_eq!(
        chain_fields(&install_upload)
            .nth(1)
            .unwrap()
            .arg_strings("include")
            .unwrap(),
        ["justfile", "**/*.just", "package.json", "bun.lock"]
    );
    let install_id = answered(install).unwrap();
    let test = step_sync(queries, &["test"]);
    let test_dirs = with_directories(test);
    let test_upload = minted(queries, &test_dirs[0].0).chain();
    let test_include = chain_fields(&test_upload)
        .nth(1)
        .unwrap()
        .arg_strings("include")
        .unwrap();
    assert!(test_include.contains(&"src".to_owned()), "{test_include:?}");
    assert_eq!(
        test_dirs[1].1.as_deref(),
        Some(&["node_modules".to_owned()][..])
    );
    let node_modules_from = minted(queries, &test_dirs[1].0);
    assert!(
        node_modules_from.query.starts_with(&format!(
            r#"query{{node(id:{install_id}){{... on Container{{directory(path:"/src")"#
        )),
        "{}",
        node_modules_from.query
    );
    assert!(
        install.finished.unwrap() <= test.started,
        "install runs before test"
    );
    (install, test)
}

#[test]
fn a_second_identical_run_sends_an_identical_pipeline() {
    let project = app_project();
    let pipeline = || {
        let standin = EngineStandin::start(engine());
        let (ok, stdout, stderr) = run(xtask(project.path(), &standin).args([
            "ci",
            "--no-validate",
            "--runner",
            "dagger",
        ]));
        assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
        let mut canonical: Vec<String> = standin
            .queries()
            .iter()
            .map(|q| mask_staging(&q.canonical()))
            .collect();
        // Steps run concurrently, so arrival order varies; the set of queries must not.
        canonical.sort();
        canonical
    };
    let first = pipeline();
    let second = pipeline();
    assert!(first.len() > 30, "{first:?}");
    assert_eq!(first, second);
}

/// The staging directory's random name is the one thing that differs between runs.
fn mask_staging(query: &str) -> String {
    let mut out = String::new();
    let mut rest = query;
    while let Some(at) = rest.find(".xtask-export-") {
        let (before, after) = rest.split_at(at + ".xtask-export-".len());
        out.push_str(before);
        out.push('*');
        rest = after.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    }
    out.push_str(rest);
    out
}

#[test]
fn an_exec_failure_names_the_recipe_and_exit_code_not_graphql() {
    let project = app_project();
    let lint = r#"withExec(args:["just","--no-deps","lint"])"#;
    // lint fails while the builds are exporting: fail-fast lets those exports finish, so that
    // nothing writes into the staging directory after the run removed it.
    let standin = EngineStandin::start(
        engine()
            .fail_exec(
                lint,
                ExecFailure::new(2)
                    .stdout("$ eslint .\n")
                    .stderr("src/cli.ts\n  3:7  error  'unused' is assigned a value but never used\n\n✖ 1 problem (1 error, 0 warnings)\n"),
            )
            .delay_on(lint, Duration::from_millis(400))
            .delay_on("{export(", Duration::from_secs(1)),
    );
    let (ok, stdout, stderr) =
        run(xtask(project.path(), &standin).args(["ci", "--no-validate", "--runner", "dagger"]));
    assert!(!ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("recipe `lint` failed with exit code 2; its last lines:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("✖ 1 problem (1 error, 0 warnings)"),
        "{stderr}"
    );
    assert!(stderr.contains("FAILED    lint"), "{stderr}");
    for dump in [
        "domain error",
        "GraphQL",
        "graphql",
        "\"errors\"",
        "{\"data\"",
        "EXEC_ERROR",
        "panicked",
    ] {
        assert!(!stderr.contains(dump), "`{dump}` in:\n{stderr}");
    }
    assert!(staging_dirs(project.path()).is_empty());
    let exports = standin
        .queries()
        .into_iter()
        .filter(|q| q.leaf() == "export")
        .count();
    assert!(exports > 0, "the builds were exporting when lint failed");
    // Those builds finished: they passed, and their outputs are in place.
    assert!(
        TARGETS.iter().any(|target| project
            .path()
            .join(format!("dist/taskmd-{target}"))
            .is_file()),
        "{stderr}"
    );
}

#[test]
fn a_panic_inside_the_sdk_is_the_failure_of_its_step() {
    let project = app_project();
    // `data: null` without `errors`: dagger-sdk 1.0.0-beta.23 unwraps it and panics.
    let standin = EngineStandin::start(engine().raw_on("{sync}", json!({ "data": null })));
    let (ok, stdout, stderr) = run(xtask(project.path(), &standin)
        .args([
            "build",
            "--no-validate",
            "--target",
            "linux-x64",
            "--runner",
            "dagger",
        ])
        .env_remove("RUST_BACKTRACE"));
    assert!(!ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("error: the Dagger SDK failed while running `install`: called `Option::unwrap()` on a `None` value"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked at"), "{stderr}");
    assert!(staging_dirs(project.path()).is_empty());
}

#[test]
fn build_for_one_target_runs_install_and_that_build_only() {
    let project = app_project();
    let root = project.path();
    fs::create_dir_all(root.join("dist")).unwrap();
    fs::write(root.join("dist/taskmd-linux-x64"), "stale").unwrap();
    fs::write(root.join("dist/unrelated"), "kept").unwrap();
    let standin = EngineStandin::start(engine());
    let (ok, stdout, stderr) = run(xtask(root, &standin).args([
        "build",
        "--no-validate",
        "--target",
        "linux-x64",
        "--runner",
        "dagger",
    ]));
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let queries = standin.queries();
    let synced: Vec<Vec<String>> = queries
        .iter()
        .filter(|q| q.leaf() == "sync")
        .map(|q| exec_args(q).unwrap())
        .collect();
    assert_eq!(
        synced,
        [
            vec!["just", "--no-deps", "install"],
            vec!["just", "--no-deps", "build", "linux-x64"]
        ]
    );
    assert_eq!(
        fs::read_to_string(root.join("dist/taskmd-linux-x64")).unwrap(),
        "taskmd for linux-x64"
    );
    assert_eq!(
        fs::read_to_string(root.join("dist/unrelated")).unwrap(),
        "kept"
    );
    assert!(!root.join("dist/taskmd-darwin-x64").exists());
    assert!(staging_dirs(root).is_empty());
}

#[test]
fn a_declared_output_that_was_not_produced_fails_the_step_and_lands_nothing() {
    let project = app_project();
    let root = project.path();
    // The build's export writes nothing.
    let standin = EngineStandin::start(
        Behaviour::normal()
            .leaf_on(
                r#"withExec(args:["just","--version"])"#,
                "stdout",
                json!("just 1.59.0"),
            )
            .leaf_on(
                r#"withExec(args:["bun","--version"])"#,
                "stdout",
                json!("1.4.5"),
            ),
    );
    let (ok, stdout, stderr) = run(xtask(root, &standin).args([
        "build",
        "--no-validate",
        "--target",
        "linux-x64",
        "--runner",
        "dagger",
    ]));
    assert!(!ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("recipe `build linux-x64` passed but produced none of its declared outputs `dist/taskmd-linux-x64*`"),
        "{stderr}"
    );
    assert!(!root.join("dist").exists());
    assert!(staging_dirs(root).is_empty());
}

#[test]
fn a_toolchain_that_does_not_match_the_pins_stops_the_run_before_any_recipe() {
    let project = app_project();
    let standin = EngineStandin::start(engine().leaf_on(
        r#"withExec(args:["just","--version"])"#,
        "stdout",
        json!("just 1.58.0\n"),
    ));
    let (ok, stdout, stderr) =
        run(xtask(project.path(), &standin).args(["ci", "--no-validate", "--runner", "dagger"]));
    assert!(!ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr
            .contains("`just --version` reports version 1.58.0, but the justfile pins just 1.59.0"),
        "{stderr}"
    );
    assert!(
        standin.queries().iter().all(|q| q.leaf() != "sync"),
        "no recipe ran"
    );
}

// ---------------------------------------------------------------------------
// Secrets.

fn secret_project() -> tempfile::TempDir {
    common::project(&format!(
        "{}\n[metadata('secrets', 'NPM_TOKEN')]\npublish:\n    echo publishing\n",
        common::dagger_pins()
    ))
}

#[test]
fn secrets_travel_only_by_name() {
    let project = secret_project();
    let standin = EngineStandin::start(engine());
    let (ok, stdout, stderr) = run(xtask(project.path(), &standin)
        .args(["plan", "publish", "--runner", "dagger", "--json"])
        .env("NPM_TOKEN", SECRET_SENTINEL));
    assert!(ok, "{stderr}");
    assert!(!stdout.contains(SECRET_SENTINEL) && !stderr.contains(SECRET_SENTINEL));
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        plan["steps"][0]["container"]["secrets"],
        json!(["NPM_TOKEN"])
    );

    // Run it as the justfile's `ci`.
    let justfile = project.path().join("justfile");
    let text = fs::read_to_string(&justfile).unwrap();
    fs::write(&justfile, format!("{text}\nci: publish\n")).unwrap();
    let (ok, stdout, stderr) = run(xtask(project.path(), &standin)
        .args(["ci", "--no-validate", "--runner", "dagger"])
        .env("NPM_TOKEN", SECRET_SENTINEL));
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stdout.contains(SECRET_SENTINEL) && !stderr.contains(SECRET_SENTINEL));
    let queries = standin.queries();
    for query in &queries {
        assert!(!query.sent_contains(SECRET_SENTINEL), "{query:?}");
    }
    assert!(
        queries
            .iter()
            .any(|q| q.canonical() == r#"query{secret(uri:"env://NPM_TOKEN"){id}}"#)
    );
    let publish = step_sync(&queries, &["publish"]);
    let chain = publish.chain();
    let secret = chain_fields(&chain)
        .find(|f| f.name == "withSecretVariable")
        .expect("a secret variable");
    assert_eq!(secret.arg_string("name").as_deref(), Some("NPM_TOKEN"));
    assert!(
        secret
            .arg("secret")
            .unwrap()
            .starts_with(r#""standin:secret:"#)
    );
    assert!(
        chain_fields(&chain)
            .filter(|f| f.name == "withEnvVariable")
            .all(|f| f.arg_string("name").as_deref() != Some("NPM_TOKEN")),
        "never a plain variable"
    );
}

#[test]
fn a_missing_secret_is_an_error_before_any_container_starts() {
    let project = secret_project();
    let justfile = project.path().join("justfile");
    let text = fs::read_to_string(&justfile).unwrap();
    fs::write(&justfile, format!("{text}\nci: publish\n")).unwrap();
    let standin = EngineStandin::start(engine());
    let (ok, stdout, stderr) = run(xtask(project.path(), &standin)
        .args(["ci", "--no-validate", "--runner", "dagger"])
        .env_remove("NPM_TOKEN"));
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("recipe `publish` needs secret `NPM_TOKEN`, but the environment variable `NPM_TOKEN` is not set"),
        "{stderr}"
    );
    assert!(standin.queries().is_empty(), "nothing reached the engine");
}

// ---------------------------------------------------------------------------
// The plan of the Dagger path, without an engine.

#[test]
fn plan_shows_images_mounts_caches_and_commands() {
    let project = app_project();
    let output = common::xtask(project.path())
        .args(["plan", "ci", "--runner", "dagger", "--json"])
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("XTASK_IMAGE_MIRROR")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    insta::assert_snapshot!("plan_ci_dagger_json", stdout);

    let output = common::xtask(project.path())
        .args(["plan", "ci", "--runner", "dagger"])
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("XTASK_IMAGE_MIRROR", "mirror.internal:5000/hub")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("image    mirror.internal:5000/hub/library/node:22.23.2-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46"),
        "{stdout}"
    );
    assert!(!stdout.contains("docker.io"), "{stdout}");
}

#[test]
fn an_image_without_a_digest_is_refused() {
    let project = app_project();
    let justfile = project.path().join("justfile");
    let text = fs::read_to_string(&justfile).unwrap();
    fs::write(
        &justfile,
        text.replace(
            "[group('setup')]",
            "[group('setup')]\n[metadata('image', 'oven/bun:1.4.5')]",
        ),
    )
    .unwrap();
    let output = common::xtask(project.path())
        .args(["plan", "ci", "--runner", "dagger"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the `image` metadata of recipe `install`: image `oven/bun:1.4.5` is not pinned by digest"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Finding the engine.

/// `PATH` with the pinned just and the system directories, and no `dagger`.
fn path_without_dagger(extra: Option<&Path>) -> OsString {
    let mut dirs: Vec<PathBuf> = extra.into_iter().map(Path::to_path_buf).collect();
    dirs.push(common::just_dir().to_owned());
    dirs.extend(["/usr/bin", "/bin"].map(PathBuf::from));
    for dir in &dirs[usize::from(extra.is_some())..] {
        assert!(
            !dir.join("dagger").exists(),
            "{} has a dagger",
            dir.display()
        );
    }
    std::env::join_paths(dirs).unwrap()
}

/// The xtask with no engine anywhere: no session, no CLI variable, no `dagger` on PATH.
fn without_engine(project: &Path) -> assert_cmd::Command {
    let mut command = common::xtask(project);
    command
        .env("PATH", path_without_dagger(None))
        .env_remove("DAGGER_SESSION_PORT")
        .env_remove("DAGGER_SESSION_TOKEN")
        .env_remove("_EXPERIMENTAL_DAGGER_CLI_BIN")
        .timeout(Duration::from_secs(60));
    command
}

/// Two quick recipes under `ci`, with this repository's pins.
fn quick_project() -> tempfile::TempDir {
    common::project(&format!(
        "{}\nci: a b\n\na:\n    echo from-a\n\nb:\n    echo from-b\n",
        common::dagger_pins()
    ))
}

#[test]
fn runner_dagger_without_an_engine_fails_fast_and_says_how_to_install() {
    let project = quick_project();
    let started = Instant::now();
    let (ok, stdout, stderr) =
        run(without_engine(project.path()).args(["ci", "--no-validate", "--runner", "dagger"]));
    let elapsed = started.elapsed();
    assert!(!ok);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    for expected in [
        "error: no Dagger engine",
        "DAGGER_SESSION_PORT",
        "_EXPERIMENTAL_DAGGER_CLI_BIN",
        "no `dagger` on PATH",
        "https://dl.dagger.io/dagger/install.sh",
        "--runner local",
    ] {
        assert!(stderr.contains(expected), "`{expected}` in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stdout.contains("from-a"), "nothing ran: {stdout}");
}

#[test]
fn auto_without_an_engine_runs_locally_after_one_notice() {
    let project = quick_project();
    let (ok, stdout, stderr) = run(without_engine(project.path()).arg("ci"));
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("from-a") && stdout.contains("from-b"),
        "{stdout}"
    );
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("no Dagger engine"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(
        notices[0].contains("running the recipes on this machine"),
        "{}",
        notices[0]
    );
}

#[test]
fn auto_in_ci_without_an_engine_fails_clearly() {
    let project = quick_project();
    let started = Instant::now();
    let (ok, stdout, stderr) = run(without_engine(project.path()).arg("ci").env("CI", "true"));
    assert!(!ok);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr.contains(
            "error: CI=true: `--runner auto` runs recipes in Dagger's pinned containers in CI"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("no Dagger engine"), "{stderr}");
    assert!(!stdout.contains("from-a"), "nothing ran: {stdout}");
}

/// A stand-in for the Dagger CLI: `dagger version` and `dagger session` as the real one
/// prints them, pointing at the engine stand-in; what it was asked is logged to `log`.
fn fake_cli(dir: &Path, version: &str, session: &str) -> PathBuf {
    let program = dir.join("dagger");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\n\
             case \"$1\" in\n\
             version) echo 'dagger v{version} (registry.dagger.io/engine:v{version}) linux/amd64' ;;\n\
             session)\n\
             echo \"args: $*\" >> \"$FAKE_DAGGER_LOG\"\n\
             echo \"cwd: $PWD\" >> \"$FAKE_DAGGER_LOG\"\n\
             echo \"traceparent: $TRACEPARENT\" >> \"$FAKE_DAGGER_LOG\"\n\
             {session}\n\
             ;;\n\
             *) echo \"unexpected: $*\" >&2; exit 2 ;;\n\
             esac\n"
        ),
    )
    .unwrap();
    fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    program
}

/// A session that prints the stand-in's parameters, then lives until its stdin closes.
const SERVE: &str = "echo 'connecting to engine' >&2\n\
     printf '{\"port\":%s,\"session_token\":\"%s\"}\\n' \"$FAKE_PORT\" \"$FAKE_TOKEN\"\n\
     cat > /dev/null\n\
     echo 'session ended' >> \"$FAKE_DAGGER_LOG\"";

fn with_fake_cli(
    project: &Path,
    bin: &Path,
    standin: Option<&EngineStandin>,
) -> assert_cmd::Command {
    let mut command = without_engine(project);
    command
        .env("PATH", path_without_dagger(Some(bin)))
        .env("FAKE_DAGGER_LOG", bin.join("log"))
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env(
            "TRACEPARENT",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
    if let Some(standin) = standin {
        command
            .env("FAKE_PORT", standin.port().to_string())
            .env("FAKE_TOKEN", standin.token());
    }
    command
}

#[test]
fn a_dagger_cli_on_path_is_started_as_a_session_and_closed_after() {
    let project = app_project();
    let bin = tempfile::tempdir().unwrap();
    fake_cli(bin.path(), "1.0.0-beta.23", SERVE);
    let standin = EngineStandin::start(engine());
    let (ok, stdout, stderr) = run(with_fake_cli(project.path(), bin.path(), Some(&standin))
        .args(["build", "--no-validate", "--target", "linux-x64"]));
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("but dagger-sdk speaks"), "{stderr}");
    let log = fs::read_to_string(bin.path().join("log")).unwrap();
    assert!(
        log.contains("args: session --label dagger.io/sdk.name:rust --label dagger.io/sdk.version:1.0.0-beta.23"),
        "{log}"
    );
    assert!(
        log.contains(&format!("cwd: {}", project.path().display())),
        "{log}"
    );
    assert!(
        log.contains("traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        "{log}"
    );
    assert!(
        log.contains("session ended"),
        "stdin closed at the end: {log}"
    );
    assert!(standin.queries().iter().any(|q| q.leaf() == "sync"));
    assert!(project.path().join("dist/taskmd-linux-x64").is_file());
}

#[test]
fn a_cli_of_another_version_is_reported() {
    let project = app_project();
    let bin = tempfile::tempdir().unwrap();
    fake_cli(bin.path(), "0.18.16", SERVE);
    let standin = EngineStandin::start(engine());
    let (ok, stdout, stderr) = run(
        with_fake_cli(project.path(), bin.path(), Some(&standin)).args([
            "build",
            "--no-validate",
            "--target",
            "linux-x64",
            "--runner",
            "dagger",
        ]),
    );
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("is Dagger 0.18.16, but dagger-sdk speaks 1.0.0-beta.23"),
        "{stderr}"
    );
}

#[test]
fn a_session_that_never_answers_is_killed_at_the_deadline() {
    let project = quick_project();
    let bin = tempfile::tempdir().unwrap();
    fake_cli(
        bin.path(),
        "1.0.0-beta.23",
        "echo 'pulling registry.dagger.io/engine:v1.0.0-beta.23' >&2\nexec sleep 60",
    );
    let started = Instant::now();
    let (ok, _, stderr) = run(with_fake_cli(project.path(), bin.path(), None)
        .args(["ci", "--no-validate", "--runner", "dagger"])
        .env("XTASK_DAGGER_SESSION_TIMEOUT", "1"));
    assert!(!ok);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("session` did not start a Dagger session: it printed no connection parameters within 1 s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pulling registry.dagger.io/engine"),
        "its stderr is quoted: {stderr}"
    );
}

#[test]
fn a_session_that_fails_is_reported_and_auto_falls_back_outside_ci() {
    let project = quick_project();
    let bin = tempfile::tempdir().unwrap();
    fake_cli(
        bin.path(),
        "1.0.0-beta.23",
        "echo 'Error: failed to connect to engine: docker: command not found' >&2\nexit 1",
    );
    let (ok, _, stderr) = run(with_fake_cli(project.path(), bin.path(), None).args([
        "ci",
        "--no-validate",
        "--runner",
        "dagger",
    ]));
    assert!(!ok);
    assert!(
        stderr.contains("it exited (exit status: 1) without printing its connection parameters"),
        "{stderr}"
    );
    assert!(stderr.contains("docker: command not found"), "{stderr}");

    let (ok, stdout, stderr) = run(with_fake_cli(project.path(), bin.path(), None).arg("ci"));
    assert!(ok, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("from-a"), "{stdout}");
    assert!(
        stderr.contains("`dagger session` did not start"),
        "{stderr}"
    );
    assert!(
        stderr.contains("running the recipes on this machine"),
        "{stderr}"
    );

    let (ok, stdout, stderr) = run(with_fake_cli(project.path(), bin.path(), None)
        .arg("ci")
        .env("CI", "true"));
    assert!(!ok);
    assert!(stderr.contains("CI=true"), "{stderr}");
    assert!(!stdout.contains("from-a"));
}

#[test]
fn doctor_has_an_engine_line() {
    let project = app_project();
    let bin = tempfile::tempdir().unwrap();
    fake_cli(bin.path(), "1.0.0-beta.23", SERVE);
    let output = with_fake_cli(project.path(), bin.path(), None)
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|line| line.contains("engine"))
        .unwrap_or_default();
    assert!(
        line.starts_with("ok") && line.contains("Dagger 1.0.0-beta.23"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|line| line.starts_with("ok")
            && line.contains("images")
            && line.contains("2 pinned by digest")),
        "{stdout}"
    );

    let output = without_engine(project.path())
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|line| line.contains("engine"))
        .unwrap_or_default();
    assert!(
        line.starts_with("warn") && line.contains("no Dagger engine"),
        "{stdout}"
    );
}
