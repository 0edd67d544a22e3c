//! `cargo xtask gen-ci`: the committed workflows are what the justfile calls for, and the
//! check fails as soon as they are not.

use std::{fs, path::Path};

use assert_cmd::Command;
use predicates::str::contains;

fn xtask(project: &Path) -> Command {
    let mut command = Command::cargo_bin("xtask").unwrap();
    command.arg("--project").arg(project).env("NO_COLOR", "1");
    command
}

/// The drift test: CI runs exactly the justfile's CI functions. When it fails, run
/// `cargo xtask gen-ci` and commit the workflows.
#[test]
fn the_committed_workflows_are_what_gen_ci_writes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    xtask(root)
        .args(["gen-ci", "--check"])
        .assert()
        .success()
        .stdout(contains("3 workflows are up to date"));
}

const JUSTFILE: &str = r#"just_version := "1.59.0"
dagger_version := "1.0.0-beta.23"
targets := "linux-x64 windows-x64"

# Lint it.
[group('ci')]
lint:
    echo lint

[group('ci')]
[metadata('outputs', 'dist/app-{target}')]
build target:
    echo {{ target }}

[group('ci')]
all: lint (build "linux-x64")
"#;

fn project(justfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("justfile"), justfile).unwrap();
    dir
}

#[test]
fn writes_the_workflows_then_checks_them_against_the_justfile() {
    let dir = project(JUSTFILE);
    xtask(dir.path())
        .arg("gen-ci")
        .assert()
        .success()
        .stdout(contains("wrote .github/workflows/ci.yml"));
    let ci_path = dir.path().join(".github/workflows/ci.yml");
    let ci = fs::read_to_string(&ci_path).unwrap();
    assert!(
        ci.contains("  lint:\n") && ci.contains("  build:\n"),
        "{ci}"
    );
    assert!(!ci.contains("  all:\n"), "an aggregator is no job:\n{ci}");
    assert!(
        ci.contains("        target: [linux-x64, windows-x64]\n"),
        "{ci}"
    );
    assert!(
        ci.contains("for pattern in 'app-linux-x64' 'app-windows-x64'; do"),
        "{ci}"
    );
    for name in ["nightly.yml", "release.yml"] {
        assert!(dir.path().join(".github/workflows").join(name).is_file());
    }
    xtask(dir.path())
        .args(["gen-ci", "--check"])
        .assert()
        .success();
    xtask(dir.path())
        .arg("gen-ci")
        .assert()
        .success()
        .stdout(contains(".github/workflows/ci.yml is up to date"));

    // A new CI function in the justfile: the committed ci.yml is stale, and --check says so
    // without touching it.
    let with_test = format!("{JUSTFILE}\n[group('ci')]\ntest:\n    echo test\n");
    fs::write(dir.path().join("justfile"), with_test).unwrap();
    xtask(dir.path())
        .args(["gen-ci", "--check"])
        .assert()
        .failure()
        .stderr(contains("run `cargo xtask gen-ci` locally"))
        .stderr(contains("`.github/workflows/ci.yml` differs at line"));
    assert_eq!(fs::read_to_string(&ci_path).unwrap(), ci);

    // So does a hand edit of a generated workflow.
    xtask(dir.path()).arg("gen-ci").assert().success();
    let nightly = dir.path().join(".github/workflows/nightly.yml");
    let edited = fs::read_to_string(&nightly)
        .unwrap()
        .replace("macos-15", "macos-14");
    fs::write(&nightly, edited).unwrap();
    xtask(dir.path())
        .args(["gen-ci", "--check"])
        .assert()
        .failure()
        .stderr(contains(
            "`.github/workflows/nightly.yml` differs at line 81: has `runs-on: macos-14`, gen-ci writes `runs-on: macos-15`",
        ));
}

#[test]
fn a_ci_recipe_without_an_xtask_command_is_an_error() {
    let dir = project(&format!(
        "{JUSTFILE}\n[group('ci')]\ndeploy:\n    echo deploy\n"
    ));
    xtask(dir.path())
        .arg("gen-ci")
        .assert()
        .failure()
        .stderr(contains(
            "recipe `deploy` is in `[group('ci')]` but `cargo xtask` has no `deploy` command",
        ));
    assert!(
        !dir.path().join(".github").exists(),
        "nothing is written on error"
    );
}

#[test]
fn the_dagger_pin_follows_the_locked_sdk() {
    let dir = project(JUSTFILE);
    fs::write(
        dir.path().join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"dagger-sdk\"\nversion = \"1.0.0-beta.24\"\n",
    )
    .unwrap();
    xtask(dir.path())
        .arg("gen-ci")
        .assert()
        .failure()
        .stderr(contains(
            "the justfile pins Dagger 1.0.0-beta.23 but Cargo.lock has dagger-sdk 1.0.0-beta.24",
        ));
    let without_pin = JUSTFILE.replace("dagger_version := \"1.0.0-beta.23\"\n", "");
    let dir = project(&without_pin);
    xtask(dir.path())
        .arg("gen-ci")
        .assert()
        .failure()
        .stderr(contains("the justfile has no `dagger_version` variable"));
}
