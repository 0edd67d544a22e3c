//! `cargo xtask verify-parity` end to end: small git projects whose recipes are reproducible
//! or not in the ways that matter (absolute paths, leftovers of the working tree, flaky
//! tests), `verify-parity compare` over manifests, and the real build of this repository.

use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use xtask::parity::manifest::{Manifest, Provenance};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The pinned just of this repository, so the fixtures use the one already installed.
fn just_pin() -> String {
    let justfile = std::fs::read_to_string(workspace_root().join("justfile")).unwrap();
    xtask::tools::bootstrap_just_pin(&justfile).unwrap()
}

/// Writes a junit report with two tests, and fails as `bun test` does when one of them fails:
/// `subtracts` fails where `cache/flaky` (ignored by git) or `broken` (committed) exists.
const TEST_SH: &str = r#"mkdir -p reports
outcome='/>' status=0
if [ -e cache/flaky ] || [ -e broken ]; then
  outcome='><failure message="flaky"/></testcase>' status=1
fi
cat > reports/junit.xml <<EOF
<testsuites><testsuite name="suite" time="$RANDOM"><testcase name="adds" time="$RANDOM"/><testcase name="subtracts"$outcome</testsuite></testsuites>
EOF
exit $status
"#;

const BUILD_SH: &str = r#"mkdir -p out
printf 'app for %s\n' "$1" > "out/app-$1"
"#;

/// A git project with a `test` recipe (`test.sh`, a junit report) and a `build target` recipe
/// (`build.sh`, writing `out/app-<target>`), both committed.
fn project(test_sh: &str, build_sh: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let justfile = format!(
        r#"just_version := "{pin}"
targets := "x64 arm64"

set shell := ["bash", "-euo", "pipefail", "-c"]

[metadata('outputs', 'reports/junit.xml')]
test:
    bash test.sh

[metadata('outputs', 'out/app-{{target}}*')]
build target:
    bash build.sh {{{{ target }}}}
"#,
        pin = just_pin()
    );
    std::fs::write(root.join("justfile"), justfile).unwrap();
    std::fs::write(root.join("test.sh"), test_sh).unwrap();
    std::fs::write(root.join("build.sh"), build_sh).unwrap();
    std::fs::write(
        root.join(".gitignore"),
        "/.tools\n/out/\n/reports/\n/target/\n/cache/\n",
    )
    .unwrap();
    // The repository's pinned tools, so that none is installed again.
    #[cfg(unix)]
    {
        let tools = workspace_root().join(".tools");
        if tools.is_dir() {
            std::os::unix::fs::symlink(&tools, root.join(".tools")).unwrap();
        }
    }
    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "fixture"]);
    dir
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn verify_parity(project: &Path) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("xtask");
    command
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("SOURCE_DATE_EPOCH")
        .args(["verify-parity", "--project"])
        .arg(project)
        .args(["--against", "local", "--target", "x64"]);
    command
}

#[test]
fn reproducible_builds_are_identical() {
    let project = project(TEST_SH, BUILD_SH);
    let elsewhere = tempfile::tempdir().unwrap();
    let manifest = elsewhere.path().join("just-path.json");
    verify_parity(project.path())
        .arg("--write-manifest")
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "local and local-fresh are identical: 2 paths and 2 test results",
        ));
    let parity = project.path().join("target/parity");
    assert_eq!(
        std::fs::read_to_string(parity.join("local/out/app-x64")).unwrap(),
        "app for x64\n"
    );
    assert!(parity.join("local-fresh/reports/junit.xml").is_file());
    let written = Manifest::read(&manifest).unwrap();
    assert_eq!(written, Manifest::read(&parity.join("local.json")).unwrap());
    assert_eq!(written.provenance.side, "local");
    assert_eq!(written.provenance.recipes, ["test", "build x64"]);
    assert_eq!(written.provenance.git_dirty, Some(false));
    assert!(written.provenance.tools.contains_key("just"));
}

#[test]
fn an_absolute_path_in_an_artifact_is_caught() {
    let project = project(
        TEST_SH,
        "mkdir -p out\nprintf 'built in %s\\n' \"$PWD\" > \"out/app-$1\"\n",
    );
    let root = project.path().to_string_lossy().into_owned();
    verify_parity(project.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("differs").and(predicate::str::contains("out/app-x64: ")))
        .stdout(predicate::str::contains("; first difference at offset "))
        .stdout(predicate::str::contains(format!("-built in {root}\n")))
        .stdout(predicate::str::contains(
            "note: differing files come from `build x64`: rerun it alone with `just build x64`",
        ))
        .stderr(predicate::str::contains(
            "error: local and local-fresh differ: 1 path with different contents (of 2 paths)",
        ));
}

#[test]
fn leftovers_of_the_working_tree_are_caught() {
    let project = project(
        TEST_SH,
        "mkdir -p out\n{ echo app; cat cache/seed 2>/dev/null || true; } > \"out/app-$1\"\n",
    );
    // Ignored by git, so not in the fresh copy: only the working tree's build can read it.
    std::fs::create_dir_all(project.path().join("cache")).unwrap();
    std::fs::write(project.path().join("cache/seed"), "stale\n").unwrap();
    std::fs::write(project.path().join("cache/flaky"), "").unwrap();
    verify_parity(project.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "out/app-x64: 10 bytes in local, 4 in local-fresh; first difference at offset 4 (0x4)",
        ))
        .stdout(predicate::str::starts_with(
            "failed               recipes that failed: `test` in local, none in local-fresh\n",
        ))
        .stdout(predicate::str::contains(
            " reports/junit.xml: 1 test differ\n    suite > subtracts: failed in local, passed in local-fresh\n",
        ))
        .stdout(predicate::str::contains("     app\n    -stale\n"))
        .stderr(predicate::str::contains(
            "error: local and local-fresh differ: different recipes failed; 1 path with different contents, 1 path with different test results (of 2 paths)",
        ));
}

#[test]
fn the_same_failing_test_on_both_sides_is_parity() {
    let project = project(TEST_SH, BUILD_SH);
    std::fs::write(project.path().join("broken"), "").unwrap();
    git(project.path(), &["add", "broken"]);
    git(project.path(), &["commit", "-q", "-m", "break a test"]);
    verify_parity(project.path())
        .assert()
        .success()
        .stdout(predicate::str::diff(
            "local and local-fresh are identical: 2 paths and 2 test results; the same recipes failed on both: `test`\n",
        ));
    let manifest = Manifest::read(&project.path().join("target/parity/local-fresh.json")).unwrap();
    assert_eq!(manifest.provenance.failed, ["test"]);
}

#[test]
fn stale_outputs_of_an_earlier_build_are_not_collected() {
    let project = project(TEST_SH, BUILD_SH);
    std::fs::create_dir_all(project.path().join("out")).unwrap();
    std::fs::write(project.path().join("out/app-x64.old"), "from last week").unwrap();
    verify_parity(project.path()).assert().success();
    assert!(
        !project
            .path()
            .join("target/parity/local/out/app-x64.old")
            .exists()
    );
}

#[test]
fn a_declared_output_that_was_not_produced_is_an_error() {
    let project = project(TEST_SH, "echo 'built nothing'\n");
    verify_parity(project.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: cannot verify parity"))
        .stderr(predicate::str::contains(
            "recipe `build x64` declares the output `out/app-x64*`, but its run produced nothing that matches it",
        ));
}

#[test]
fn a_failing_recipe_is_an_error_not_a_difference() {
    let project = project(TEST_SH, "echo 'compiler exploded' >&2\nexit 3\n");
    verify_parity(project.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: cannot verify parity"))
        .stderr(predicate::str::contains(
            "recipe `build x64` failed with exit code 3",
        ));
}

#[test]
fn the_dagger_path_without_an_engine_is_an_error_not_a_difference() {
    let project = project(TEST_SH, BUILD_SH);
    for against in [&["--against", "dagger"][..], &[]] {
        cargo_bin_cmd!("xtask")
            .env_remove("RUST_BACKTRACE")
            .env_remove("DAGGER_SESSION_PORT")
            .env_remove("DAGGER_SESSION_TOKEN")
            .env_remove("_EXPERIMENTAL_DAGGER_CLI_BIN")
            .env("PATH", without_dagger_path())
            .args(["verify-parity", "--target", "x64", "--project"])
            .arg(project.path())
            .args(against)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "error: cannot verify parity\n  the Dagger side cannot run here, so neither side was built\n",
            ))
            .stderr(predicate::str::contains("no Dagger engine"))
            .stderr(predicate::str::contains("panicked").not());
    }
    // The engine is looked for first: neither side was built.
    assert!(!project.path().join("target/parity").exists());
}

/// `PATH` without any `dagger` CLI on it.
fn without_dagger_path() -> std::ffi::OsString {
    let paths = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|dir| !dir.join("dagger").exists())
        .collect::<Vec<_>>();
    std::env::join_paths(paths).unwrap()
}

/// A manifest of a tree with `files`, written to `dir/name.json`.
fn manifest_of(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let tree = dir.join(name);
    for (path, contents) in files {
        let path = tree.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    std::fs::create_dir_all(&tree).unwrap();
    let provenance = Provenance {
        side: name.to_owned(),
        runner: "local".into(),
        platform: "linux-x64".into(),
        ..Provenance::default()
    };
    let manifest = Manifest::of_tree(&tree, provenance, 2).unwrap();
    let path = dir.join(format!("{name}.json"));
    manifest.write(&path).unwrap();
    path
}

fn compare(left: &Path, right: &Path) -> assert_cmd::Command {
    let mut command = cargo_bin_cmd!("xtask");
    command
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .args(["verify-parity", "compare"])
        .args([left, right]);
    command
}

#[test]
fn compare_reads_manifests_and_exits_by_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let files = [("dist/app", "bin\0ary"), ("notes.txt", "a\nb\n")];
    let mac = manifest_of(dir.path(), "mac", &files);
    let linux = manifest_of(dir.path(), "linux", &files);
    compare(&mac, &linux)
        .assert()
        .success()
        .stdout("mac and linux are identical: 2 paths and 0 test results\n");

    let changed = manifest_of(
        dir.path(),
        "changed",
        &[("dist/app", "bin\0arx"), ("extra", "")],
    );
    // The trees are still here, at the roots the manifests recorded: offsets are shown.
    compare(&mac, &changed)
        .assert()
        .code(1)
        .stdout(
            "differs          dist/app: 7 bytes in mac, 7 in changed; first difference at offset 6 (0x6)\n\
             only in changed  extra (0 bytes)\n\
             only in mac      notes.txt (4 bytes)\n",
        )
        .stderr(predicate::str::contains(
            "error: mac and changed differ: 1 path with different contents, 1 path only in mac, 1 path only in changed (of 3 paths)",
        ));

    // Moved elsewhere (another machine's manifest): sizes only.
    std::fs::remove_dir_all(dir.path().join("changed")).unwrap();
    compare(&mac, &changed)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "dist/app: 7 bytes in mac, 7 in changed (the trees are not both on this machine, so only sizes are known)",
        ));
}

#[test]
fn compare_refuses_empty_and_unreadable_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let full = manifest_of(dir.path(), "full", &[("a", "a")]);
    let empty = manifest_of(dir.path(), "empty", &[]);
    compare(&full, &empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: cannot verify parity\n  empty has no files: nothing was built there to compare",
        ));
    compare(&full, &dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read manifest `"));
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "[1, 2]").unwrap();
    compare(&garbage, &full)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a parity manifest"));
}

/// The acceptance check: this repository's test suite and Linux binary come out the same from
/// the working tree and from a fresh copy of it. Runs the real bun build twice.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn this_repository_builds_the_same_in_a_fresh_copy() {
    cargo_bin_cmd!("xtask")
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .args(["verify-parity", "--project"])
        .arg(workspace_root())
        .args(["--against", "local", "--target", "linux-x64"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "local and local-fresh are identical: 3 paths and",
        ));
}
