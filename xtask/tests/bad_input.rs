//! Every bad input gets one clear error, a non-zero exit, no panic, and nothing half-written.

mod common;

use std::fs;

use predicates::prelude::*;

fn fails_with(assert: assert_cmd::assert::Assert, message: &str) {
    assert
        .code(1)
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("panicked").not())
        .stderr(predicate::str::starts_with("error: ").or(predicate::str::contains("\nerror: ")));
}

#[test]
fn a_directory_without_a_justfile() {
    let empty = tempfile::tempdir().unwrap();
    fails_with(
        common::xtask(empty.path()).args(["plan"]).assert(),
        "no justfile in",
    );
    fails_with(
        common::xtask(&empty.path().join("missing"))
            .args(["plan"])
            .assert(),
        "does not exist",
    );
}

#[test]
fn a_malformed_justfile_shows_just_s_own_message() {
    let project = common::project("build:\n    echo {{\n");
    fails_with(
        common::xtask(project.path())
            .args(["plan", "build"])
            .assert(),
        "just could not read",
    );
    common::xtask(project.path())
        .args(["plan", "build"])
        .assert()
        .stderr(predicate::str::contains("justfile:2"));
}

#[test]
fn an_unknown_recipe_names_the_known_ones() {
    let project = common::project("test:\n    echo test\n");
    fails_with(
        common::xtask(project.path()).args(["run", "tset"]).assert(),
        "the justfile has no recipe `tset` (did you mean `test`?); its recipes: test",
    );
}

#[test]
fn an_unknown_target_lists_the_valid_ones() {
    let project = common::project(
        "targets := \"linux-x64 windows-x64\"\nbuild target:\n    echo {{target}}\n",
    );
    fails_with(
        common::xtask(project.path())
            .args(["build", "--target", "mac"])
            .assert(),
        "unknown target `mac`; valid targets: linux-x64, windows-x64",
    );
}

#[test]
fn wrong_argument_counts_are_reported_before_anything_runs() {
    let project = common::project("build target:\n    touch ran\n");
    fails_with(
        common::xtask(project.path())
            .args(["run", "build"])
            .assert(),
        "recipe `build` takes 1 argument but got 0",
    );
    assert!(!project.path().join("ran").exists());
}

#[test]
fn invalid_metadata_is_an_error() {
    let project =
        common::project("[metadata('outputs', '../elsewhere')]\nbuild:\n    echo build\n");
    fails_with(
        common::xtask(project.path())
            .args(["run", "build"])
            .assert(),
        "outputs path `../elsewhere` of recipe `build` is outside the project",
    );
    common::xtask(project.path())
        .args(["doctor"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("fail  metadata"));
}

/// `PATH` holding only a fresh directory: no just, python, cargo or npm to be found.
fn bare_path() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn just_missing_and_not_installable() {
    let project = common::project("just_version := \"0.0.0\"\nbuild:\n    echo build\n");
    let path = bare_path();
    let assert = common::xtask(project.path())
        .env("PATH", path.path())
        .args(["plan", "build"])
        .assert();
    fails_with(
        assert,
        "cannot install just 0.0.0: neither python3 (pip) nor cargo is on PATH",
    );
    assert!(
        !project.path().join(".tools/just-0.0.0").exists(),
        "a failed install left a tool directory"
    );
}

#[test]
fn bun_missing_and_not_installable() {
    let project = common::project("bun_version := \"0.0.0\"\nbuild:\n    echo build\n");
    // Only the pinned just, and no npm to install bun with.
    let assert = common::xtask(project.path())
        .env("PATH", common::just_dir())
        .args(["plan", "build"])
        .assert();
    fails_with(assert, "cannot install bun 0.0.0: npm is not on PATH");
    let leftovers: Vec<_> = fs::read_dir(project.path().join(".tools"))
        .map(|dir| dir.flatten().collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "a failed install left {leftovers:?}");
}

#[test]
fn a_just_pin_that_is_not_a_literal_is_rejected() {
    let project =
        common::project("just_version := env('JUST', '1.59.0')\nbuild:\n    echo build\n");
    fails_with(
        common::xtask(project.path())
            .args(["plan", "build"])
            .assert(),
        "`just_version` in",
    );
}

#[test]
fn a_failed_build_leaves_no_partial_file_in_dist() {
    common::just_dir();
    let project = tempfile::tempdir().unwrap();
    common::copy_app(project.path());
    fs::write(
        project.path().join("src/cli.ts"),
        "this is not typescript {\n",
    )
    .unwrap();
    let assert = common::xtask(project.path())
        .args(["--runner", "local", "build", "--target", "linux-x64"])
        .assert();
    fails_with(assert, "recipe `build linux-x64` failed with exit code 1");
    let dist = project.path().join("dist");
    let files: Vec<_> = fs::read_dir(&dist)
        .map(|dir| dir.flatten().map(|entry| entry.file_name()).collect())
        .unwrap_or_default();
    assert!(files.is_empty(), "a failed build left {files:?} in dist/");
}
