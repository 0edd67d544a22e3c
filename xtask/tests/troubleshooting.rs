//! Real failures of the real binary end with the line that points to their entry of
//! `docs/troubleshooting.md` (the entries themselves are checked in `tests/docs.rs`).

mod common;

use std::{ffi::OsString, path::Path};

use xtask::troubleshooting::Topic;

/// `PATH` without any directory holding a `dagger`, with the pinned just first.
fn path_without_dagger() -> OsString {
    let path = common::path_with_just();
    let dirs: Vec<_> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("dagger").exists())
        .collect();
    std::env::join_paths(dirs).unwrap()
}

/// The xtask on `project`, with no Dagger engine to be found.
fn xtask(project: &Path) -> assert_cmd::Command {
    let mut command = common::xtask(project);
    command
        .env("PATH", path_without_dagger())
        .env_remove("DAGGER_SESSION_PORT")
        .env_remove("DAGGER_SESSION_TOKEN")
        .env_remove("_EXPERIMENTAL_DAGGER_CLI_BIN")
        .env_remove("XTASK_IMAGE_MIRROR")
        .env_remove("XTASK_LOG_FORMAT");
    command
}

/// Runs `command`, expects it to fail, and returns its stderr.
fn failure(command: &mut assert_cmd::Command) -> String {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "it passed:\n{stderr}");
    stderr
}

/// The last line of stderr is the help line of `topic`.
fn assert_help(stderr: &str, topic: Topic) {
    let expected = format!("help: see docs/troubleshooting.md#{}", topic.slug());
    assert_eq!(
        stderr.lines().last(),
        Some(expected.as_str()),
        "stderr:\n{stderr}"
    );
    assert_eq!(stderr.matches("help: see").count(), 1, "{stderr}");
}

#[test]
fn an_unknown_recipe_points_to_its_entry() {
    let project = common::project("test:\n    echo testing\n");
    let stderr = failure(xtask(project.path()).args(["plan", "tset"]));
    assert!(
        stderr.contains("error: the justfile has no recipe `tset` (did you mean `test`?)"),
        "{stderr}"
    );
    assert_help(&stderr, Topic::UnknownRecipe);
}

#[test]
fn bad_metadata_points_to_its_entry() {
    let project = common::project("[metadata('output', 'dist/x')]\nbuild:\n    echo building\n");
    let stderr = failure(xtask(project.path()).args(["plan", "build"]));
    assert!(
        stderr.contains("error: recipe `build` has unknown metadata key `output`"),
        "{stderr}"
    );
    assert_help(&stderr, Topic::BadMetadata);
}

#[test]
fn no_engine_with_runner_dagger_points_to_its_entry() {
    let project = common::project(&format!(
        "{}\nhello:\n    echo hello\n",
        common::dagger_pins()
    ));
    let stderr = failure(xtask(project.path()).args(["run", "hello", "--runner", "dagger"]));
    assert!(stderr.contains("error: no Dagger engine"), "{stderr}");
    assert_help(&stderr, Topic::EngineNotFound);
}

#[test]
fn ci_without_an_engine_points_to_its_own_entry() {
    let project = common::project(&format!(
        "{}\nhello:\n    echo hello\n",
        common::dagger_pins()
    ));
    let stderr = failure(
        xtask(project.path())
            .args(["run", "hello"])
            .env("CI", "true"),
    );
    // The engine error is its cause, but the CI entry explains the situation.
    assert!(stderr.contains("error: CI=true"), "{stderr}");
    assert!(stderr.contains("  no Dagger engine"), "{stderr}");
    assert_help(&stderr, Topic::CiRequiresEngine);
}

#[test]
fn a_missing_secret_points_to_its_entry() {
    let project = common::project(&format!(
        "{}\n[metadata('secrets', 'XTASK_TEST_TOKEN')]\npublish:\n    echo publishing\n",
        common::dagger_pins()
    ));
    // Use the repository's pinned tools rather than installing them again.
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        common::workspace_root().join(".tools"),
        project.path().join(".tools"),
    )
    .unwrap();
    // A session that is never reached: the secret is checked before anything connects.
    let stderr = failure(
        xtask(project.path())
            .args(["run", "publish", "--runner", "dagger"])
            .env("DAGGER_SESSION_PORT", "9")
            .env("DAGGER_SESSION_TOKEN", "unused")
            .env_remove("XTASK_TEST_TOKEN"),
    );
    assert!(
        stderr.contains("error: recipe `publish` needs secret `XTASK_TEST_TOKEN`"),
        "{stderr}"
    );
    assert_help(&stderr, Topic::MissingSecret);
}

#[test]
fn a_failed_recipe_points_to_its_entry() {
    let project = common::project("check:\n    exit 3\n");
    let stderr = failure(xtask(project.path()).args(["run", "check", "--runner", "local"]));
    assert!(
        stderr.contains("error: recipe `check` failed with exit code 3"),
        "{stderr}"
    );
    assert_help(&stderr, Topic::RecipeFailed);
}

#[test]
fn errors_inside_a_wrapper_point_to_the_wrappers_entry() {
    let project = common::project("test:\n    echo testing\n");
    let stderr = failure(
        common::xtask(&project.path().join("nowhere"))
            .args(["plan", "test"])
            .env_remove("XTASK_LOG_FORMAT"),
    );
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert_help(&stderr, Topic::NoJustfile);
    // `cannot verify parity` (exit 2) is the fallback for causes without an entry.
    let manifest = project.path().join("manifest.json");
    std::fs::write(&manifest, "{}").unwrap();
    let output = xtask(project.path())
        .args(["verify-parity", "compare"])
        .args([&manifest, &manifest])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: cannot verify parity"), "{stderr}");
    assert_help(&stderr, Topic::ParityCannotBeVerified);
}

#[test]
fn an_error_without_a_topic_points_to_the_general_entry() {
    let project = common::project("test:\n    echo testing\n");
    std::fs::create_dir(project.path().join("Cargo.lock")).unwrap();
    let stderr = failure(xtask(project.path()).args(["gen-ci", "--check"]));
    assert!(stderr.contains("error: cannot read `"), "{stderr}");
    assert_help(&stderr, Topic::Other);
}

#[test]
fn the_json_log_carries_the_link() {
    let project = common::project("test:\n    echo testing\n");
    let output = xtask(project.path())
        .args(["plan", "tset", "--log-format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let error: serde_json::Value = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no error event in:\n{stderr}"));
    assert_eq!(
        error["fields"]["help"], "docs/troubleshooting.md#unknown-recipe",
        "{error}"
    );
    assert!(
        !stderr.contains("help: see"),
        "one JSON object per line:\n{stderr}"
    );
}
